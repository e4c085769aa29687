//! The logs on stderr carry ANSI colours only on a terminal, and never with
//! `NO_COLOR` set: a pipe, a log file or journald gets plain text.

pub mod common;

use common::{require_tool, TempDir};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

/// `zonecast serve` arguments that log a few lines at start, then fail at
/// once: the API address is held by `busy`.
fn failing_serve(dir: &TempDir, busy: &TcpListener) -> Vec<String> {
    vec![
        "serve".into(),
        "--data-dir".into(),
        dir.path().join("data").display().to_string(),
        "--dns-listen".into(),
        "127.0.0.1:0".into(),
        "--api-listen".into(),
        busy.local_addr().unwrap().to_string(),
    ]
}

fn run(mut cmd: Command) -> Output {
    cmd.env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn has_ansi(b: &[u8]) -> bool {
    b.windows(2).any(|w| w == b"\x1b[")
}

#[test]
fn plain_logs_when_stderr_is_not_a_terminal() {
    let dir = TempDir::new("logs-pipe");
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zonecast"));
    cmd.args(failing_serve(&dir, &busy)).env_remove("NO_COLOR");
    let out = run(cmd);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("INFO") && err.contains("zones loaded"),
        "{err}"
    );
    assert!(!has_ansi(&out.stderr), "ANSI codes in piped logs:\n{err:?}");
}

/// The same server under a pseudo-terminal (`script`): colours, unless `NO_COLOR` is set.
#[test]
fn colours_on_a_terminal_unless_no_color() {
    let script = require_tool("script");
    let dir = TempDir::new("logs-tty");
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let line: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_zonecast").to_string())
        .chain(failing_serve(&dir, &busy))
        .map(|a| format!("'{a}'"))
        .collect();
    for (no_color, coloured) in [(None, true), (Some(""), true), (Some("1"), false)] {
        let mut cmd = Command::new(&script);
        cmd.args(["-q", "-e", "-c", &line.join(" "), "/dev/null"]);
        match no_color {
            Some(v) => cmd.env("NO_COLOR", v),
            None => cmd.env_remove("NO_COLOR"),
        };
        let out = run(cmd);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("zones loaded"),
            "NO_COLOR={no_color:?}: {text:?}"
        );
        assert_eq!(
            has_ansi(&out.stdout),
            coloured,
            "NO_COLOR={no_color:?}: {text:?}"
        );
    }
}
