//! Real secondaries for transfer tests: knotd, named and nsd configured to
//! pull one zone from a primary, optionally with a TSIG key, to accept its
//! NOTIFY, and to allow AXFR from 127.0.0.1 (so a test can read what they
//! serve).

use super::{require_tool, TempDir};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::{Name, Record, Rtype};

/// A TSIG key as the peers' configuration needs it.
pub struct PeerKey<'a> {
    /// Key name.
    pub name: &'a str,
    /// Base64 secret (HMAC-SHA256).
    pub secret: &'a str,
}

/// A secondary daemon of `zone`, on 127.0.0.1:`port`.
pub struct Peer {
    /// `knotd`, `named` or `nsd`.
    pub kind: &'static str,
    child: Child,
    /// Where it answers.
    pub addr: SocketAddr,
    dir: TempDir,
    args: Vec<String>,
}

impl Peer {
    /// The daemon's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Starts `kind` as a secondary of `primary` for `zone` (no trailing dot).
    pub fn start(
        kind: &'static str,
        port: u16,
        primary: SocketAddr,
        zone: &str,
        key: Option<PeerKey<'_>>,
    ) -> Peer {
        let dir = TempDir::new(kind);
        let d = dir.path().display().to_string();
        let (p_ip, p_port) = (primary.ip(), primary.port());
        let (tool, args, conf_name, conf) = match kind {
            "knotd" => {
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
                (
                    "knotd",
                    vec!["-c".to_string(), format!("{d}/knot.conf")],
                    "knot.conf",
                    format!(
                        "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n    pidfile: {d}/knot.pid\n\
                         log:\n  - target: stderr\n    any: info\n\
                         database:\n    storage: {d}/db\n\
                         {key_block}\
                         remote:\n  - id: primary\n    address: {p_ip}@{p_port}\n{key_ref}\
                         acl:\n  - id: notify\n    address: {p_ip}\n{key_ref}    action: notify\n  \
                         - id: out\n    address: 127.0.0.1\n    action: transfer\n\
                         template:\n  - id: default\n    storage: {d}\n    zonefile-sync: -1\n    zonefile-load: none\n    journal-content: all\n\
                         zone:\n  - domain: {zone}.\n    master: primary\n    acl: [notify, out]\n"
                    ),
                )
            }
            "named" => {
                let (key_block, key_ref, notify_from) = match &key {
                    Some(k) => (
                        format!(
                            "key \"{}\" {{ algorithm hmac-sha256; secret \"{}\"; }};\n",
                            k.name, k.secret
                        ),
                        format!(" key \"{}\"", k.name),
                        format!("key \"{}\";", k.name),
                    ),
                    None => (String::new(), String::new(), format!("{p_ip};")),
                };
                (
                    "named",
                    vec!["-g".to_string(), "-c".to_string(), format!("{d}/named.conf")],
                    "named.conf",
                    format!(
                        "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; session-keyfile \"{d}/session.key\";\n\
                         managed-keys-directory \"{d}\"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};\n\
                         recursion no; notify no; dnssec-validation no; }};\n\
                         controls {{ }};\n{key_block}\
                         zone \"{zone}\" {{ type secondary; file \"{d}/{zone}.db\";\n\
                         primaries {{ {p_ip} port {p_port}{key_ref}; }}; allow-notify {{ {notify_from} }};\n\
                         allow-transfer {{ 127.0.0.1; }}; }};\n"
                    ),
                )
            }
            _ => {
                let (key_block, key_ref) = match &key {
                    Some(k) => (
                        format!("key:\n    name: \"{}\"\n    algorithm: hmac-sha256\n    secret: \"{}\"\n", k.name, k.secret),
                        k.name.to_string(),
                    ),
                    None => (String::new(), "NOKEY".to_string()),
                };
                (
                    "nsd",
                    vec!["-d".to_string(), "-c".to_string(), format!("{d}/nsd.conf")],
                    "nsd.conf",
                    format!(
                        "server:\n    ip-address: 127.0.0.1\n    port: {port}\n    zonesdir: \"{d}\"\n    pidfile: \"{d}/nsd.pid\"\n    \
                         database: \"\"\n    username: \"\"\n    chroot: \"\"\n    xfrdfile: \"{d}/xfrd.state\"\n    xfrdir: \"{d}\"\n    \
                         zonelistfile: \"{d}/zone.list\"\n    server-count: 1\n    verbosity: 2\n    zonefiles-write: 1\n\
                         remote-control:\n    control-enable: no\n{key_block}\
                         zone:\n    name: \"{zone}\"\n    zonefile: \"{zone}.zone\"\n    \
                         request-xfr: {p_ip}@{p_port} {key_ref}\n    allow-notify: {p_ip} {key_ref}\n    provide-xfr: 127.0.0.1 NOKEY\n"
                    ),
                )
            }
        };
        std::fs::create_dir_all(dir.path().join("db")).unwrap();
        std::fs::write(dir.path().join(conf_name), conf).unwrap();
        let child = spawn(tool, &args, &dir);
        Peer {
            kind,
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
            args,
        }
    }

    /// Stops the daemon (SIGKILL), keeping its directory.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again with the same configuration and state.
    pub fn restart(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(self.dir.path().join(if self.kind == "nsd" {
            "nsd.pid"
        } else {
            "x"
        }));
        self.child = spawn(self.kind, &self.args, &self.dir);
    }

    /// Asks knotd to check its primary now (`knotc zone-refresh`).
    pub fn refresh(&self, zone: &str) {
        assert_eq!(self.kind, "knotd", "refresh is for knotd");
        let st = Command::new(require_tool("knotc"))
            .arg("-s")
            .arg(self.dir.path().join("knot.sock"))
            .args(["zone-refresh", &format!("{zone}.")])
            .stdout(Stdio::null())
            .status()
            .expect("running knotc");
        assert!(st.success(), "knotc zone-refresh failed");
    }

    /// The zone as the peer serves it: an AXFR from it, SOA once.
    pub fn axfr(&self, zone: &str) -> Vec<Record> {
        axfr_records(self.addr, zone)
    }
}

fn spawn(tool: &str, args: &[String], dir: &TempDir) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("log"))
        .unwrap();
    Command::new(require_tool(tool))
        .args(args)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {tool}: {e}"))
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends a transfer query (AXFR or IXFR) over TCP and reads messages until
/// the answer is complete: an error rcode, an IXFR answered by the single
/// current SOA, or else the SOA the answer began with as its last record.
pub fn transfer(addr: SocketAddr, query: &[u8]) -> Vec<Message> {
    let ixfr = Message::parse(query)
        .is_ok_and(|m| m.questions.first().is_some_and(|q| q.qtype == Rtype::IXFR));
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    s.write_all(&framed).unwrap();
    let mut out: Vec<Message> = Vec::new();
    loop {
        let mut len = [0u8; 2];
        if s.read_exact(&mut len).is_err() {
            return out;
        }
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut buf).unwrap();
        let m = Message::parse(&buf).expect("a well-formed transfer message");
        let single_soa =
            ixfr && out.is_empty() && m.answer.len() == 1 && m.answer[0].rtype == Rtype::SOA;
        let error = m.rcode() != 0;
        out.push(m);
        let mut records = out.iter().flat_map(|m| m.answer.iter());
        let first = records.next();
        let closed = first.is_some_and(|f| f.rtype == Rtype::SOA && records.last() == Some(f));
        if error || single_soa || closed {
            return out;
        }
    }
}

/// An unsigned AXFR of `zone` from `addr`: every record once (the closing SOA dropped).
pub fn axfr_records(addr: SocketAddr, zone: &str) -> Vec<Record> {
    let q = build_query(
        77,
        &format!("{zone}.").parse::<Name>().unwrap(),
        Rtype::AXFR,
        None,
    );
    let mut out = answer_records(addr, &q);
    out.pop();
    out
}

/// The answer records of a transfer, every message NOERROR (else a panic).
pub fn answer_records(addr: SocketAddr, query: &[u8]) -> Vec<Record> {
    transfer(addr, query)
        .into_iter()
        .flat_map(|m| {
            assert_eq!(
                m.rcode(),
                0,
                "transfer from {addr} answered rcode {}",
                m.rcode()
            );
            m.answer
        })
        .collect()
}

/// Records as comparable text: owner lowercased, TTL, type, rdata.
pub fn canonical(records: &[Record]) -> Vec<String> {
    let mut v: Vec<String> = records
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}",
                r.owner.to_lowercase(),
                r.ttl,
                r.rtype,
                zonecast_proto::rdata::format_presentation(r.rtype, &r.rdata)
            )
        })
        .collect();
    v.sort();
    v
}
