//! Real primaries for secondary-role tests: knotd and named serving one
//! zone from a zone file, allowing transfers to 127.0.0.1 (with a TSIG key
//! when given), sending NOTIFY to one secondary, and changed by their own
//! tools (`knotc zone-begin/zone-set/zone-commit`, `nsupdate`).

use super::peers::PeerKey;
use super::{require_tool, TempDir};
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// A primary daemon of one zone on 127.0.0.1:`port`.
pub struct Primary {
    /// `knotd` or `named`.
    pub kind: &'static str,
    child: Option<Child>,
    /// Where it answers.
    pub addr: SocketAddr,
    zone: String,
    dir: TempDir,
    args: Vec<String>,
    key: Option<(String, String)>,
}

/// How the primary answers IXFR.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Ixfr {
    /// From its journal.
    Journal,
    /// Never: an IXFR gets the whole zone (BIND's `provide-ixfr no`).
    AxfrOnly,
}

impl Primary {
    /// Starts `kind` serving `zone` (no trailing dot) from `text`, notifying `secondary`.
    pub fn start(
        kind: &'static str,
        port: u16,
        zone: &str,
        text: &str,
        secondary: SocketAddr,
        key: Option<PeerKey<'_>>,
        ixfr: Ixfr,
    ) -> Primary {
        let dir = TempDir::new(&format!("primary-{kind}"));
        let d = dir.path().display().to_string();
        std::fs::write(dir.path().join(format!("{zone}.zone")), text).unwrap();
        std::fs::create_dir_all(dir.path().join("db")).unwrap();
        let (s_ip, s_port) = (secondary.ip(), secondary.port());
        let (conf_name, conf, args) = match kind {
            "knotd" => {
                assert!(ixfr == Ixfr::Journal, "knotd primaries here keep a journal");
                let (key_block, key_ref) = match &key {
                    Some(k) => (
                        format!(
                            "key:\n  - id: {}\n    algorithm: hmac-sha256\n    secret: {}\n",
                            k.name, k.secret
                        ),
                        format!("    key: {}\n", k.name),
                    ),
                    None => (String::new(), String::new()),
                };
                let conf = format!(
                    "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n    pidfile: {d}/knot.pid\n\
                     log:\n  - target: stderr\n    any: info\n\
                     database:\n    storage: {d}/db\n\
                     {key_block}\
                     remote:\n  - id: secondary\n    address: {s_ip}@{s_port}\n{key_ref}\
                     acl:\n  - id: xfr\n    address: 127.0.0.1\n{key_ref}    action: transfer\n\
                     template:\n  - id: default\n    storage: {d}\n    zonefile-sync: -1\n    journal-content: changes\n\
                     zone:\n  - domain: {zone}.\n    file: {zone}.zone\n    notify: secondary\n    acl: [xfr]\n"
                );
                (
                    "knot.conf",
                    conf,
                    vec!["-c".to_string(), format!("{d}/knot.conf")],
                )
            }
            "named" => {
                let (key_block, key_ref, allow) = match &key {
                    Some(k) => (
                        format!(
                            "key \"{}\" {{ algorithm hmac-sha256; secret \"{}\"; }};\n",
                            k.name, k.secret
                        ),
                        format!(" key \"{}\"", k.name),
                        format!("key \"{}\";", k.name),
                    ),
                    None => (String::new(), String::new(), "127.0.0.1;".to_string()),
                };
                let provide = if ixfr == Ixfr::AxfrOnly {
                    "provide-ixfr no;"
                } else {
                    ""
                };
                let conf = format!(
                    "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; session-keyfile \"{d}/session.key\";\n\
                     managed-keys-directory \"{d}\"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};\n\
                     recursion no; dnssec-validation no; notify explicit; notify-delay 0; {provide} }};\n\
                     controls {{ }};\n{key_block}\
                     zone \"{zone}\" {{ type primary; file \"{d}/{zone}.zone\";\n\
                     also-notify {{ {s_ip} port {s_port}{key_ref}; }}; allow-transfer {{ {allow} }};\n\
                     allow-update {{ {allow} }}; }};\n"
                );
                (
                    "named.conf",
                    conf,
                    vec![
                        "-g".to_string(),
                        "-c".to_string(),
                        format!("{d}/named.conf"),
                    ],
                )
            }
            other => panic!("no primary mode for {other}"),
        };
        std::fs::write(dir.path().join(conf_name), conf).unwrap();
        let mut p = Primary {
            kind,
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            zone: zone.to_string(),
            dir,
            args,
            key: key.map(|k| (k.name.to_string(), k.secret.to_string())),
        };
        p.restart();
        p
    }

    /// The daemon's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Stops the daemon (SIGKILL), keeping its files.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it (again) with the same configuration and files; waits until it answers SOA.
    pub fn restart(&mut self) {
        self.stop();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("log"))
            .unwrap();
        let child = Command::new(require_tool(self.kind))
            .args(&self.args)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.kind));
        self.child = Some(child);
        let q = zonecast_proto::message::build_query(
            3,
            &format!("{}.", self.zone).parse().unwrap(),
            zonecast_proto::Rtype::SOA,
            None,
        );
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(15) {
            if super::query_udp_once(self.addr, &q, std::time::Duration::from_millis(200))
                .is_some_and(|a| a.get(3).is_some_and(|b| b & 0x0f == 0))
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("{} primary did not answer SOA:\n{}", self.kind, self.log());
    }

    /// Sets `name` (relative) to one A record `addr` on the primary with its
    /// own tool; the primary bumps the serial and sends NOTIFY.
    pub fn set_a(&self, name: &str, addr: &str) {
        let zone = &self.zone;
        match self.kind {
            "knotd" => {
                let sock = self.dir.path().join("knot.sock");
                let knotc = |args: &[&str]| {
                    let out = Command::new(require_tool("knotc"))
                        .arg("-s")
                        .arg(&sock)
                        .args(args)
                        .output()
                        .expect("running knotc");
                    let text = String::from_utf8_lossy(&out.stdout).to_string()
                        + &String::from_utf8_lossy(&out.stderr);
                    assert!(
                        out.status.success() && !text.contains("error"),
                        "knotc {args:?}: {text}\n{}",
                        self.log()
                    );
                };
                let owner = format!("{name}.{zone}.");
                knotc(&["zone-begin", &format!("{zone}.")]);
                // zone-unset fails when the name has no A; that is fine here.
                let _ = Command::new(require_tool("knotc"))
                    .arg("-s")
                    .arg(&sock)
                    .args(["zone-unset", &format!("{zone}."), &owner, "A"])
                    .output();
                knotc(&["zone-set", &format!("{zone}."), &owner, "300", "A", addr]);
                knotc(&["zone-commit", &format!("{zone}.")]);
            }
            _ => {
                let mut cmd = Command::new(require_tool("nsupdate"));
                if let Some((k, s)) = &self.key {
                    cmd.arg("-y").arg(format!("hmac-sha256:{k}:{s}"));
                }
                let mut child = cmd
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("running nsupdate");
                let script = format!(
                    "server 127.0.0.1 {}\nzone {zone}.\nupdate delete {name}.{zone}. A\nupdate add {name}.{zone}. 300 A {addr}\nsend\n",
                    self.addr.port()
                );
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(script.as_bytes())
                    .unwrap();
                let out = child.wait_with_output().unwrap();
                assert!(
                    out.status.success(),
                    "nsupdate: {}{}\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                    self.log()
                );
            }
        }
    }
}

impl Drop for Primary {
    fn drop(&mut self) {
        self.stop();
    }
}
