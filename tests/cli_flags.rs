//! Which flags each subcommand of the binary takes: `serve` only its own
//! (its help lists no client option), the client commands `--api`, `--token`
//! and `--json` before or after the command group.

pub mod common;

use common::TempDir;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary with `args` and no client environment; kills it after 10 s.
fn zonecast(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zonecast"))
        .args(args)
        .env_remove("ZONECAST_API")
        .env_remove("ZONECAST_API_TOKEN")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "zonecast {args:?} still running after 10 s; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// The flags (`--word`) a help text lists.
fn flags(help: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(help)
        .split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[' || c == ']')
        .filter(|w| w.starts_with("--"))
        .map(str::to_string)
        .collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn serve_help_lists_only_the_flags_serve_takes() {
    let out = zonecast(&["serve", "--help"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = flags(&out.stdout);
    for absent in ["--api", "--token", "--json"] {
        assert!(
            !listed.iter().any(|f| f == absent),
            "serve --help lists {absent}:\n{}",
            text(&out.stdout)
        );
    }
    for present in [
        "--data-dir",
        "--zone-file",
        "--dns-listen",
        "--api-listen",
        "--api-token",
        "--udp-workers",
    ] {
        assert!(
            listed.iter().any(|f| f == present),
            "serve --help lacks {present}:\n{}",
            text(&out.stdout)
        );
    }
}

#[test]
fn client_commands_keep_their_flags() {
    for args in [
        &["--help"][..],
        &["zone", "--help"],
        &["zone", "list", "--help"],
        &["record", "add", "--help"],
        &["apikey", "create", "--help"],
    ] {
        let out = zonecast(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let listed = flags(&out.stdout);
        for want in ["--api", "--token", "--json"] {
            assert!(
                listed.iter().any(|f| f == want),
                "{args:?} lacks {want}:\n{}",
                text(&out.stdout)
            );
        }
    }
}

#[test]
fn client_flags_stand_before_or_after_the_command() {
    // A URL that is not http:// is refused before any connection (exit 2), and named.
    for args in [
        &["--api", "before", "zone", "list"][..],
        &["zone", "--api", "before", "list"],
        &["zone", "list", "--api", "before"],
        &[
            "--json",
            "--token",
            "t",
            "--api",
            "before",
            "record",
            "list",
            "example.com",
        ],
    ] {
        let out = zonecast(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("(got \"before\")"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    // Given both before and after the group, the one after it wins.
    let out = zonecast(&["--api", "before", "zone", "list", "--api", "after"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("(got \"after\")"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn serve_refuses_client_flags() {
    let dir = TempDir::new("cli-flags");
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    // Should serve start anyway, it must not take ports anybody else may use.
    let serve = [
        "--data-dir",
        data,
        "--dns-listen",
        "127.0.0.1:0",
        "--api-listen",
        "127.0.0.1:0",
    ];
    for flag in [&["--json"][..], &["--token", "t"], &["--api", "http://x"]] {
        let after: Vec<&str> = ["serve"]
            .iter()
            .chain(&serve)
            .chain(flag)
            .copied()
            .collect();
        let out = zonecast(&after);
        assert_eq!(out.status.code(), Some(2), "{after:?}");
        assert!(
            text(&out.stderr).contains(&format!("unexpected argument '{}'", flag[0])),
            "{after:?}: {}",
            text(&out.stderr)
        );
        let before: Vec<&str> = flag
            .iter()
            .chain(&["serve"])
            .chain(&serve)
            .copied()
            .collect();
        let out = zonecast(&before);
        assert_eq!(out.status.code(), Some(2), "{before:?}");
        assert!(
            text(&out.stderr).contains(&format!("{} is an option of the client commands", flag[0])),
            "{before:?}: {}",
            text(&out.stderr)
        );
    }
}
