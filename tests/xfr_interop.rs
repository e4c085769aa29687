//! zonecast as primary of real secondaries (issue 8): knotd, named and nsd
//! each take the zone by AXFR signed with TSIG, then follow a change from
//! a signed NOTIFY and a signed IXFR, driven by their own configuration.

pub mod common;

use common::{free_port, query_udp, require_tool, TempDir, Zonecast};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::{Name, Rtype};

const TOKEN: &str = "interop-token";
const SECRET: &str = "aW50ZXJvcC1zZWNyZXQtaW50ZXJvcC1zZWNyZXQtMQ==";
const KEY: &str = "interop-key";

fn curl(
    api: SocketAddr,
    dir: &std::path::Path,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let file = dir.join("body.json");
    std::fs::write(&file, body).unwrap();
    let out = Command::new(require_tool("curl"))
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method])
        .args([
            "-H",
            &format!("Authorization: Bearer {TOKEN}"),
            "-H",
            "Content-Type: application/json",
        ])
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(format!("http://{api}{path}"))
        .output()
        .expect("running curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn zone_text() -> String {
    let mut z = String::from(
        "$ORIGIN interop.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\n@ MX 10 mail\n\
         ns1 A 192.0.2.1\nmail A 192.0.2.25\nwww CNAME @\n*.wild TXT \"w\"\nsub NS ns.sub\nns.sub A 192.0.2.53\n",
    );
    for i in 0..500 {
        z.push_str(&format!("h{i} A 10.0.{}.{}\n", i / 250, i % 250));
    }
    z
}

fn serial_at(addr: SocketAddr) -> Option<u32> {
    let q = build_query(
        5,
        &"interop.test.".parse::<Name>().unwrap(),
        Rtype::SOA,
        None,
    );
    let m = Message::parse(&query_udp(addr, &q)?).ok()?;
    let soa = m.answer.first().filter(|_| m.rcode() == 0 && m.header.aa)?;
    let n = soa.rdata.len();
    Some(u32::from_be_bytes([
        soa.rdata[n - 20],
        soa.rdata[n - 19],
        soa.rdata[n - 18],
        soa.rdata[n - 17],
    ]))
}

fn wait_serial(addr: SocketAddr, want: impl Fn(u32) -> bool, peer: &Peer) -> Duration {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if serial_at(addr).is_some_and(&want) {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "{} never served the expected serial; its log:\n{}",
        peer.kind,
        peer.log()
    );
}

struct Peer {
    kind: &'static str,
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
}

impl Peer {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    fn start(kind: &'static str, port: u16, primary: SocketAddr) -> Peer {
        let dir = TempDir::new(kind);
        let d = dir.path().display().to_string();
        let (p_ip, p_port) = (primary.ip(), primary.port());
        let (tool, args, conf_name, conf) = match kind {
            "knotd" => (
                "knotd",
                vec!["-c".to_string(), format!("{d}/knot.conf")],
                "knot.conf",
                format!(
                    "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n    pidfile: {d}/knot.pid\n\
                     log:\n  - target: stderr\n    any: info\n\
                     database:\n    storage: {d}/db\n\
                     key:\n  - id: {KEY}\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
                     remote:\n  - id: primary\n    address: {p_ip}@{p_port}\n    key: {KEY}\n\
                     acl:\n  - id: notify\n    address: 127.0.0.1\n    key: {KEY}\n    action: notify\n\
                     template:\n  - id: default\n    storage: {d}\n    zonefile-sync: -1\n    zonefile-load: none\n\
                     zone:\n  - domain: interop.test.\n    master: primary\n    acl: notify\n"
                ),
            ),
            "named" => (
                "named",
                vec!["-g".to_string(), "-c".to_string(), format!("{d}/named.conf")],
                "named.conf",
                format!(
                    "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; session-keyfile \"{d}/session.key\";\n\
                     managed-keys-directory \"{d}\"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};\n\
                     recursion no; notify no; dnssec-validation no; }};\n\
                     controls {{ }};\n\
                     key \"{KEY}\" {{ algorithm hmac-sha256; secret \"{SECRET}\"; }};\n\
                     zone \"interop.test\" {{ type secondary; file \"{d}/interop.test.db\";\n\
                     primaries {{ {p_ip} port {p_port} key \"{KEY}\"; }}; allow-notify {{ key \"{KEY}\"; }}; }};\n"
                ),
            ),
            _ => (
                "nsd",
                vec!["-d".to_string(), "-c".to_string(), format!("{d}/nsd.conf")],
                "nsd.conf",
                format!(
                    "server:\n    ip-address: 127.0.0.1\n    port: {port}\n    zonesdir: \"{d}\"\n    pidfile: \"{d}/nsd.pid\"\n    \
                     database: \"\"\n    username: \"\"\n    chroot: \"\"\n    xfrdfile: \"{d}/xfrd.state\"\n    xfrdir: \"{d}\"\n    \
                     zonelistfile: \"{d}/zone.list\"\n    server-count: 1\n    verbosity: 2\n\
                     remote-control:\n    control-enable: no\n\
                     key:\n    name: \"{KEY}\"\n    algorithm: hmac-sha256\n    secret: \"{SECRET}\"\n\
                     zone:\n    name: \"interop.test\"\n    zonefile: \"interop.test.zone\"\n    \
                     request-xfr: {p_ip}@{p_port} {KEY}\n    allow-notify: 127.0.0.1 {KEY}\n"
                ),
            ),
        };
        std::fs::create_dir_all(dir.path().join("db")).unwrap();
        std::fs::write(dir.path().join(conf_name), conf).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new(require_tool(tool))
            .args(&args)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {tool}: {e}"));
        Peer {
            kind,
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One peer as a TSIG secondary: AXFR at start, NOTIFY + IXFR after a change.
fn secondary_follows(kind: &'static str) {
    let z = Zonecast::start_with_args(&["--api-token".to_string(), TOKEN.to_string()]);
    let api = z.api_addr().unwrap();
    let dir = z.dir().to_path_buf();
    let key = serde_json::json!({"name": KEY, "algorithm": "hmac-sha256", "secret": SECRET});
    let (code, t) = curl(api, &dir, "POST", "/v1/tsig-keys", &key.to_string());
    assert_eq!(code, 201, "{t}");
    let port = free_port();
    let body = serde_json::json!({
        "name": "interop.test.", "zonefile": zone_text(), "serial_policy": "increment",
        "allow_transfer": ["127.0.0.1", format!("key:{KEY}")],
        "notify": [format!("127.0.0.1:{port}")], "tsig_key": KEY,
    });
    let (code, t) = curl(api, &dir, "POST", "/v1/zones", &body.to_string());
    assert_eq!(code, 201, "{t}");
    let peer = Peer::start(kind, port, z.addr());
    wait_serial(peer.addr, |s| s == 1, &peer);
    let change = r#"{"ttl": 300, "records": ["192.0.2.200"]}"#;
    let (code, t) = curl(
        api,
        &dir,
        "PUT",
        "/v1/zones/interop.test./rrsets/new.interop.test./A",
        change,
    );
    assert_eq!(code, 200, "{t}");
    let took = wait_serial(peer.addr, |s| s == 2, &peer);
    eprintln!(
        "{kind}: serial 2 served {took:?} after the API's answer (signed NOTIFY, signed IXFR)"
    );
    let q = build_query(
        6,
        &"new.interop.test.".parse::<Name>().unwrap(),
        Rtype::A,
        None,
    );
    let m = Message::parse(&query_udp(peer.addr, &q).unwrap()).unwrap();
    assert_eq!(m.answer.len(), 1, "{kind} serves the change");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = z.log_text();
        let ixfr = log.lines().any(|l| {
            l.contains("transfer out")
                && l.contains("incremental")
                && l.contains(&format!("key=\"{KEY}.\""))
        });
        let axfr = log
            .lines()
            .any(|l| l.contains("transfer out") && l.contains("style=\"AXFR") && l.contains(KEY));
        if ixfr && axfr {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no signed AXFR then incremental IXFR in zonecast's log:\n{log}\n{kind} log:\n{}",
            peer.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, status) = curl(api, &dir, "GET", "/v1/zones/interop.test./status", "");
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(v["notify"]["serial"], 2, "{status}");
    assert_eq!(
        v["notify"]["targets"][0]["state"], "acknowledged",
        "{status}"
    );
}

#[test]
fn knotd_is_a_tsig_secondary() {
    secondary_follows("knotd");
}

#[test]
fn named_is_a_tsig_secondary() {
    secondary_follows("named");
}

#[test]
fn nsd_is_a_tsig_secondary() {
    secondary_follows("nsd");
}
