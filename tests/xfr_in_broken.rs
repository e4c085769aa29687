//! Secondary zones against a misbehaving primary (issue 9).
//!
//! Each test runs `zonecast serve` with one secondary zone, `z.test.`,
//! whose primary is a [`fake::FakePrimary`] scripted by the test. The
//! secondary first takes a good copy (serial 1: SOA, NS, `ns`, `www`,
//! `txt`), then the primary misbehaves at a newer serial and a check is
//! asked (`POST .../refresh`). The check must fail with a status error that
//! names the problem, and the old copy must still be served exactly: `www`
//! keeps its serial-1 address, `bad.z.test.` (only in the bad transfers)
//! does not exist, the SOA stays at the old serial. The server must still
//! answer at the end of every test.
//!
//! The good and bad "serial 2" zones change `www` to 192.0.2.2 and add
//! `bad` (192.0.2.66), so a partial or wrong application shows in DNS.
//!
//! The NOTIFY tests check that a NOTIFY from the primary is answered
//! NOERROR+AA and wakes a check, that a burst coalesces into few checks,
//! and that an unsigned NOTIFY for a zone with a TSIG key is REFUSED.

pub mod common;

use common::{curl_api, query_udp, Zonecast};
use fake::{FakePrimary, Script, Step};
use serde_json::Value;
use std::net::UdpSocket;
use std::time::{Duration, Instant};
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::tsig::{sign_request, Key, DEFAULT_FUDGE};
use zonecast_proto::{Class, Name, Record, Rtype};

const TOKEN: &str = "xfr-in-broken-token";
/// The TSIG secret, raw and in base64 (for the API).
const SECRET: &[u8] = b"zonecast-fake-primary-secret-32b";
const SECRET_B64: &str = "em9uZWNhc3QtZmFrZS1wcmltYXJ5LXNlY3JldC0zMmI=";
/// How long a check may take to show in the status.
const WAIT: Duration = Duration::from_secs(10);

/// A scriptable primary: SOA over UDP (and TCP), AXFR and IXFR over TCP on
/// one port of 127.0.0.1, answering from a [`Script`] the test may change
/// at any time, signing with TSIG when the query is signed with its key,
/// and noting every query it sees.
pub mod fake {
    use std::io::{Read, Write};
    use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex, MutexGuard};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
    use zonecast_proto::message::{write_records_uncompressed, Message};
    use zonecast_proto::tsig::{verify_request, Key, ResponseSigner, Verified};
    use zonecast_proto::{Name, Record, Rtype};

    /// RCODE NOTAUTH: the answer to a query whose TSIG does not verify.
    const NOTAUTH: u8 = 9;

    /// One message of a scripted TCP answer, or what to do instead.
    #[derive(Clone, Debug)]
    pub enum Step {
        /// An answer (QR, AA, NOERROR, the query's question) with these records.
        Answer(Vec<Record>),
        /// Like `Answer`, but the question names this zone instead.
        AnswerFor(Name, Vec<Record>),
        /// Like `Answer`, signed (when the query was) with a corrupt MAC.
        BadMac(Vec<Record>),
        /// These octets framed as a message, the query's ID over the first
        /// two; never signed.
        Raw(Vec<u8>),
        /// An answer with this RCODE and no records.
        Rcode(u8),
        /// Close the connection here.
        Close,
        /// The first half of an answer with these records (length prefix
        /// included), then nothing: the rest of the message never comes.
        Partial(Vec<Record>),
        /// Send nothing for this long, keeping the connection open.
        Stall(Duration),
    }

    /// What the primary answers.
    #[derive(Clone, Debug)]
    pub struct Script {
        /// The answer to SOA queries.
        pub soa: Record,
        /// The messages answering AXFR.
        pub axfr: Vec<Step>,
        /// The messages answering IXFR.
        pub ixfr: Vec<Step>,
    }

    /// A query the primary saw.
    #[derive(Clone, Debug)]
    pub struct Seen {
        /// When.
        pub at: Instant,
        /// Its QTYPE.
        pub qtype: Rtype,
        /// Over TCP (else UDP).
        pub tcp: bool,
        /// Whether it carried a TSIG RR.
        pub signed: bool,
    }

    struct Shared {
        zone: Name,
        key: Option<Key>,
        script: Mutex<Script>,
        seen: Mutex<Vec<Seen>>,
        stop: AtomicBool,
    }

    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// An answer: QR, opcode QUERY, AA, `rcode`, one question, `answer` uncompressed.
    pub fn message(id: u16, qname: &Name, qtype: Rtype, rcode: u8, answer: &[Record]) -> Vec<u8> {
        let mut m = Vec::with_capacity(512);
        m.extend_from_slice(&id.to_be_bytes());
        m.push(0x84);
        m.push(rcode & 0x0f);
        m.extend_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&(answer.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend_from_slice(qname.as_wire());
        m.extend_from_slice(&qtype.0.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        write_records_uncompressed(answer, &mut m);
        m
    }

    /// A parsed query: ID, question, and its TSIG verdict (`Err` when it failed).
    struct Query {
        id: u16,
        qname: Name,
        qtype: Rtype,
        verified: Result<Option<Verified>, ()>,
    }

    impl Shared {
        /// Reads a query and notes it; `None` when it is not one.
        fn take(&self, wire: &[u8], tcp: bool) -> Option<Query> {
            let m = Message::parse(wire).ok()?;
            if m.header.qr {
                return None;
            }
            let q = m.questions.first()?;
            let signed = m.additional.iter().any(|r| r.rtype == Rtype::TSIG);
            let key = self.key.clone();
            let verified = verify_request(wire, |n| key.clone().filter(|k| k.name == *n), now())
                .map_err(|_| ());
            lock(&self.seen).push(Seen {
                at: Instant::now(),
                qtype: q.qtype,
                tcp,
                signed,
            });
            Some(Query {
                id: m.header.id,
                qname: q.qname.clone(),
                qtype: q.qtype,
                verified,
            })
        }

        /// The answer to a single-message query (SOA, or an error).
        fn single(&self, q: &Query) -> Vec<u8> {
            let verified = match &q.verified {
                Ok(v) => v,
                Err(()) => return message(q.id, &q.qname, q.qtype, NOTAUTH, &[]),
            };
            let mut msg = if q.qtype == Rtype::SOA && q.qname == self.zone {
                let soa = lock(&self.script).soa.clone();
                message(q.id, &q.qname, q.qtype, 0, &[soa])
            } else {
                message(q.id, &q.qname, q.qtype, 5, &[])
            };
            if let Some(v) = verified {
                let _ = ResponseSigner::new(v).sign(&mut msg, now());
            }
            msg
        }
    }

    /// The primary; stopped on Drop.
    pub struct FakePrimary {
        addr: SocketAddr,
        shared: Arc<Shared>,
        threads: Vec<JoinHandle<()>>,
    }

    impl FakePrimary {
        /// Starts serving `zone` on a free port of 127.0.0.1; `key` signs
        /// the answers to queries signed with it.
        pub fn start(zone: &Name, key: Option<Key>, script: Script) -> FakePrimary {
            let (udp, tcp) = (0..20)
                .find_map(|_| {
                    let port = crate::common::free_port();
                    let udp = UdpSocket::bind(("127.0.0.1", port)).ok()?;
                    let tcp = TcpListener::bind(("127.0.0.1", port)).ok()?;
                    Some((udp, tcp))
                })
                .expect("a free UDP+TCP port for the fake primary");
            let addr = udp.local_addr().expect("UDP address");
            let shared = Arc::new(Shared {
                zone: zone.clone(),
                key,
                script: Mutex::new(script),
                seen: Mutex::new(Vec::new()),
                stop: AtomicBool::new(false),
            });
            let (s1, s2) = (shared.clone(), shared.clone());
            let threads = vec![
                std::thread::spawn(move || serve_udp(udp, s1)),
                std::thread::spawn(move || serve_tcp(tcp, s2)),
            ];
            FakePrimary {
                addr,
                shared,
                threads,
            }
        }

        /// Where it listens (UDP and TCP).
        pub fn addr(&self) -> SocketAddr {
            self.addr
        }

        /// Replaces the script.
        pub fn set(&self, script: Script) {
            *lock(&self.shared.script) = script;
        }

        /// Every query seen so far, in order.
        pub fn seen(&self) -> Vec<Seen> {
            lock(&self.shared.seen).clone()
        }

        /// The QTYPEs of the queries seen since `t`, in order.
        pub fn qtypes_since(&self, t: Instant) -> Vec<Rtype> {
            self.seen()
                .into_iter()
                .filter(|s| s.at >= t)
                .map(|s| s.qtype)
                .collect()
        }

        /// SOA queries seen since `t`.
        pub fn soa_queries_since(&self, t: Instant) -> usize {
            self.qtypes_since(t)
                .into_iter()
                .filter(|q| *q == Rtype::SOA)
                .count()
        }
    }

    impl Drop for FakePrimary {
        fn drop(&mut self) {
            self.shared.stop.store(true, Ordering::SeqCst);
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
        }
    }

    fn serve_udp(sock: UdpSocket, shared: Arc<Shared>) {
        let _ = sock.set_read_timeout(Some(Duration::from_millis(50)));
        let mut buf = vec![0u8; 65535];
        while !shared.stop.load(Ordering::SeqCst) {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            if let Some(q) = shared.take(&buf[..n], false) {
                let _ = sock.send_to(&shared.single(&q), from);
            }
        }
    }

    fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
        let _ = listener.set_nonblocking(true);
        let mut conns = Vec::new();
        while !shared.stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((stream, _)) => {
                    let s = shared.clone();
                    conns.push(std::thread::spawn(move || serve_conn(stream, &s)));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        for c in conns {
            let _ = c.join();
        }
    }

    fn read_framed(s: &mut TcpStream) -> Option<Vec<u8>> {
        let mut len = [0u8; 2];
        s.read_exact(&mut len).ok()?;
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut buf).ok()?;
        Some(buf)
    }

    fn write_framed(s: &mut TcpStream, msg: &[u8]) -> std::io::Result<()> {
        let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(msg);
        s.write_all(&framed)
    }

    fn serve_conn(mut s: TcpStream, shared: &Shared) {
        let _ = s.set_nonblocking(false);
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = s.set_nodelay(true);
        let Some(q) = read_framed(&mut s).and_then(|w| shared.take(&w, true)) else {
            return;
        };
        let steps = {
            let script = lock(&shared.script);
            match q.qtype {
                Rtype::AXFR => script.axfr.clone(),
                Rtype::IXFR => script.ixfr.clone(),
                _ => Vec::new(),
            }
        };
        let verified = match (&q.verified, steps.is_empty()) {
            (Ok(v), false) => v.clone(),
            _ => {
                let _ = write_framed(&mut s, &shared.single(&q));
                return;
            }
        };
        let mut signer = verified.as_ref().map(ResponseSigner::new);
        for step in steps {
            let (mut msg, corrupt) = match step {
                Step::Close => {
                    let _ = s.shutdown(Shutdown::Both);
                    return;
                }
                Step::Stall(d) => {
                    std::thread::sleep(d);
                    continue;
                }
                Step::Partial(rs) => {
                    let msg = message(q.id, &q.qname, q.qtype, 0, &rs);
                    let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&msg);
                    let _ = s.write_all(&framed[..framed.len() / 2]);
                    continue;
                }
                Step::Raw(mut raw) => {
                    if let Some(head) = raw.get_mut(..2) {
                        head.copy_from_slice(&q.id.to_be_bytes());
                    }
                    let _ = write_framed(&mut s, &raw);
                    continue;
                }
                Step::Answer(rs) => (message(q.id, &q.qname, q.qtype, 0, &rs), false),
                Step::AnswerFor(other, rs) => (message(q.id, &other, q.qtype, 0, &rs), false),
                Step::BadMac(rs) => (message(q.id, &q.qname, q.qtype, 0, &rs), true),
                Step::Rcode(rc) => (message(q.id, &q.qname, q.qtype, rc, &[]), false),
            };
            if let Some(signer) = signer.as_mut() {
                signer.sign(&mut msg, now()).expect("signing an answer");
                if corrupt {
                    // The MAC's last octet: Original ID, Error and Other Len (0) follow it.
                    let at = msg.len() - 7;
                    msg[at] ^= 0xff;
                }
            }
            if write_framed(&mut s, &msg).is_err() {
                return;
            }
        }
        // Let the client read everything and close first.
        let _ = s.shutdown(Shutdown::Write);
        let mut sink = [0u8; 512];
        while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
    }
}

fn zone() -> Name {
    "z.test.".parse().unwrap()
}

/// A record from `owner TYPE rdata` (owner relative to `z.test.`, `@` the apex), TTL 300.
fn rr(line: &str) -> Record {
    let z = zone();
    let (owner, rest) = line.split_once(' ').unwrap();
    let (rtype, rdata) = rest.split_once(' ').unwrap();
    let owner = if owner == "@" {
        z.clone()
    } else {
        Name::from_presentation(owner, Some(&z)).unwrap()
    };
    let rtype = Rtype::from_text(rtype).unwrap();
    let rdata = zonecast_zonefile::parse_rdata(rtype, rdata, &z)
        .unwrap_or_else(|e| panic!("rdata of '{line}': {e}"));
    Record {
        owner,
        rtype,
        class: Class::IN,
        ttl: 300,
        rdata: rdata.into(),
    }
}

fn soa_timers(serial: u32, refresh: u32, retry: u32, expire: u32) -> Record {
    rr(&format!(
        "@ SOA ns hostmaster {serial} {refresh} {retry} {expire} 60"
    ))
}

/// An SOA whose refresh (1 h) and retry (10 min) keep the machine from checking on its own.
fn soa(serial: u32) -> Record {
    soa_timers(serial, 3600, 600, 86_400)
}

/// The zone at serial 1 (and at the setup serial): `www` 192.0.2.1, no `bad`.
fn old_body() -> Vec<Record> {
    [
        "@ NS ns",
        "ns A 192.0.2.53",
        "www A 192.0.2.1",
        "txt TXT \"the old copy\"",
    ]
    .map(rr)
    .to_vec()
}

/// The newer zone: `www` 192.0.2.2 and `bad` 192.0.2.66.
fn new_body() -> Vec<Record> {
    [
        "@ NS ns",
        "ns A 192.0.2.53",
        "www A 192.0.2.2",
        "bad A 192.0.2.66",
    ]
    .map(rr)
    .to_vec()
}

/// The AXFR of `soa` + `body`: the SOA, the body, the SOA again, `per` records a message.
fn axfr(soa: &Record, body: &[Record], per: usize) -> Vec<Step> {
    let mut all = vec![soa.clone()];
    all.extend_from_slice(body);
    all.push(soa.clone());
    all.chunks(per).map(|c| Step::Answer(c.to_vec())).collect()
}

const NOTIMP: u8 = 4;
const REFUSED: u8 = 5;

/// A primary that holds `soa` + `body` and answers IXFR with NOTIMP.
fn serving(soa: Record, body: &[Record]) -> Script {
    Script {
        axfr: axfr(&soa, body, 2),
        ixfr: vec![Step::Rcode(NOTIMP)],
        soa,
    }
}

/// The key named `k`, as the zone and the fake primary use it.
fn key() -> Key {
    Key::new("k", "hmac-sha256", SECRET.to_vec()).unwrap()
}

/// A zonecast with the secondary zone `z.test.` and its fake primary.
struct Secondary {
    // Declared first: zonecast stops before its primary.
    z: Zonecast,
    primary: FakePrimary,
    serial: u32,
}

impl Secondary {
    /// Starts the primary at `serial` (the old zone), zonecast with
    /// `args`, creates the zone (with the TSIG key `k` when `keyed`) and
    /// waits for the first transfer.
    fn start(args: &[&str], keyed: bool, serial: u32) -> Secondary {
        let primary =
            FakePrimary::start(&zone(), keyed.then(key), serving(soa(serial), &old_body()));
        let mut all = vec![
            "--api-token",
            TOKEN,
            "--refresh-min",
            "1",
            "--expire-min",
            "1",
        ];
        all.extend_from_slice(args);
        let all: Vec<String> = all.into_iter().map(String::from).collect();
        let s = Secondary {
            z: Zonecast::start_with_args(&all),
            primary,
            serial,
        };
        if keyed {
            let body =
                serde_json::json!({"name": "k", "algorithm": "hmac-sha256", "secret": SECRET_B64});
            let (code, text) = s.api("POST", "/v1/tsig-keys", &body.to_string());
            assert_eq!(code, 201, "{text}");
        }
        let mut body = serde_json::json!({
            "name": "z.test",
            "kind": "secondary",
            "primaries": [s.primary.addr().to_string()],
            "allow_transfer": ["127.0.0.1"],
        });
        if keyed {
            body["tsig_key"] = "k".into();
        }
        let (code, text) = s.api("POST", "/v1/zones", &body.to_string());
        assert_eq!(code, 201, "{text}");
        let st = s.wait("the first transfer", |st| {
            st["serial"] == serial
                && st["served_serial"] == serial
                && st["secondary"]["last_refresh"]["outcome"] == "transferred"
        });
        assert_eq!(st["secondary"]["last_transfer"]["type"], "AXFR", "{st}");
        if keyed {
            let seen = s.primary.seen();
            assert!(
                !seen.is_empty() && seen.iter().all(|q| q.signed),
                "every query to a primary with a key is signed: {seen:?}"
            );
        }
        s.assert_old_zone();
        s
    }

    fn api(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let api = self.z.api_addr().expect("the harness chose an API address");
        curl_api(api, TOKEN, self.z.dir(), method, path, body)
    }

    fn status(&self) -> Value {
        let (code, text) = self.api("GET", "/v1/zones/z.test/status", "");
        assert_eq!(code, 200, "{text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("status {text}: {e}"))
    }

    /// Polls the status until `ok`, up to [`WAIT`].
    fn wait(&self, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let st = self.status();
            if ok(&st) {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not seen in {WAIT:?}; status {st:#}\nlog:\n{}",
                self.z.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn post(&self, action: &str) {
        let (code, text) = self.api("POST", &format!("/v1/zones/z.test/{action}"), "");
        assert_eq!(code, 202, "{action}: {text}");
    }

    /// `POST .../refresh`, then waits for the check to fail; its error message.
    fn refresh_fails(&self) -> String {
        let before = self.status()["secondary"]["failures"].as_u64().unwrap_or(0);
        self.post("refresh");
        let st = self.wait("the check failing", |st| {
            st["secondary"]["failures"].as_u64() > Some(before)
                && st["secondary"]["last_refresh"]["outcome"] == "error"
        });
        let msg = st["secondary"]["last_error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no last_error message: {st:#}"))
            .to_string();
        assert!(
            msg.contains(&self.primary.addr().to_string()),
            "the error names the primary: {msg}"
        );
        msg
    }

    /// `action`, then waits until `serial` is stored and served after a transfer.
    fn transfers(&mut self, action: &str, serial: u32) -> Value {
        self.post(action);
        let st = self.wait("the transfer", |st| {
            st["serial"] == serial
                && st["served_serial"] == serial
                && st["secondary"]["last_refresh"]["outcome"] == "transferred"
        });
        self.serial = serial;
        st
    }

    /// One UDP query to zonecast.
    fn query(&self, name: &str, rtype: Rtype) -> Message {
        let name = match name {
            "@" => zone(),
            _ => Name::from_presentation(name, Some(&zone())).unwrap(),
        };
        let q = build_query(rand::random(), &name, rtype, None);
        let wire = query_udp(self.z.addr(), &q)
            .unwrap_or_else(|| panic!("no answer to {name} {rtype}\n{}", self.z.log_text()));
        Message::parse(&wire).unwrap()
    }

    fn a_of(&self, name: &str) -> (u16, Vec<[u8; 4]>) {
        let m = self.query(name, Rtype::A);
        let addrs = m
            .answer
            .iter()
            .filter(|r| r.rtype == Rtype::A)
            .map(|r| <[u8; 4]>::try_from(&r.rdata[..]).unwrap())
            .collect();
        (m.rcode(), addrs)
    }

    /// The served SOA serial (and that the server answers at all).
    fn served_serial(&self) -> u32 {
        let m = self.query("@", Rtype::SOA);
        assert_eq!(m.rcode(), 0, "{m:?}");
        assert!(m.header.aa, "{m:?}");
        let soa = m
            .answer
            .iter()
            .find(|r| r.rtype == Rtype::SOA)
            .unwrap_or_else(|| panic!("no SOA in {m:?}"));
        zonecast_xfr::response::soa_serial(&soa.rdata).unwrap()
    }

    /// The old copy is served exactly: status and DNS at its serial, `www`
    /// at its old address, `txt` present, `bad` absent.
    fn assert_old_zone(&self) {
        let st = self.status();
        assert_eq!(st["serial"], self.serial, "{st:#}");
        assert_eq!(st["served_serial"], self.serial, "{st:#}");
        assert_eq!(self.served_serial(), self.serial);
        assert_eq!(self.a_of("www"), (0, vec![[192, 0, 2, 1]]));
        let txt = self.query("txt", Rtype::TXT);
        assert_eq!((txt.rcode(), txt.answer.len()), (0, 1), "{txt:?}");
        assert_eq!(self.a_of("bad"), (3, vec![]), "bad.z.test. must not exist");
    }

    /// The newer copy (`new_body`) is served at `serial`.
    fn assert_new_zone(&self, serial: u32) {
        assert_eq!(self.served_serial(), serial);
        assert_eq!(self.a_of("www"), (0, vec![[192, 0, 2, 2]]));
        assert_eq!(self.a_of("bad"), (0, vec![[192, 0, 2, 66]]));
        assert_eq!(self.query("txt", Rtype::TXT).rcode(), 3);
    }

    /// The server still runs and answers for the zone.
    fn assert_alive(&self) {
        assert_eq!(self.served_serial(), self.serial, "{}", self.z.log_text());
    }

    /// Waits until the log has a line holding every one of `needles`.
    fn assert_log(&self, needles: &[&str]) {
        self.z.wait_log(needles, common::LOG_WAIT);
    }

    /// Sends a NOTIFY for the zone from 127.0.0.1, signed with `key` if
    /// given, and returns the answer.
    fn notify(&self, key: Option<&Key>) -> Message {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut q = notify_message(rand::random());
        if let Some(k) = key {
            sign_request(&mut q, k, unix_now(), DEFAULT_FUDGE).unwrap();
        }
        sock.send_to(&q, self.z.addr()).unwrap();
        let mut buf = [0u8; 1024];
        let n = sock.recv(&mut buf).expect("an answer to the NOTIFY");
        Message::parse(&buf[..n]).unwrap()
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A NOTIFY (opcode 4, AA) for `z.test. SOA`.
fn notify_message(id: u16) -> Vec<u8> {
    let mut q = build_query(id, &zone(), Rtype::SOA, None);
    q[2] = (4 << 3) | 0x04;
    q
}

/// Case 1: an IXFR whose changes do not chain (the second claims to start
/// at serial 5 where the first ended at 2) is not used: the machine falls
/// back to AXFR from the same primary. While that AXFR is refused the
/// check fails and the old copy stays; once it works, the zone is taken
/// by AXFR.
#[test]
fn ixfr_that_does_not_chain_falls_back_to_axfr() {
    let mut s = Secondary::start(&[], false, 1);
    let ixfr = vec![
        Step::Answer(vec![soa(2), soa(1), rr("www A 192.0.2.1"), soa(2)]),
        Step::Answer(vec![
            rr("www A 192.0.2.2"),
            soa(5),
            rr("txt TXT \"the old copy\""),
            soa(2),
            rr("bad A 192.0.2.66"),
            soa(2),
        ]),
    ];
    s.primary.set(Script {
        soa: soa(2),
        ixfr: ixfr.clone(),
        axfr: vec![Step::Rcode(REFUSED)],
    });
    let t = Instant::now();
    let msg = s.refresh_fails();
    assert!(msg.contains("the primary answered REFUSED"), "{msg}");
    // The status names both failures: why the IXFR was not used, then the AXFR's.
    assert!(
        msg.contains("IXFR not used (") && msg.contains("the previous one ended at 2"),
        "{msg}"
    );
    assert_eq!(
        s.primary.qtypes_since(t),
        [Rtype::SOA, Rtype::IXFR, Rtype::AXFR],
        "SOA, the IXFR, then the fallback AXFR"
    );
    s.assert_log(&[
        "IXFR not used, trying AXFR",
        "an IXFR change starts from serial 5, but the previous one ended at 2",
    ]);
    s.assert_old_zone();

    // The fallback AXFR works: the zone is taken from it.
    s.primary.set(Script {
        soa: soa(2),
        ixfr,
        axfr: axfr(&soa(2), &new_body(), 3),
    });
    let t = Instant::now();
    let st = s.transfers("refresh", 2);
    let last = &st["secondary"]["last_transfer"];
    assert_eq!(last["type"], "AXFR", "{st:#}");
    assert!(last["serial_from"] == 1 && last["serial_to"] == 2, "{st:#}");
    assert_eq!(last["records"], 5, "{st:#}");
    assert_eq!(
        s.primary.qtypes_since(t),
        [Rtype::SOA, Rtype::IXFR, Rtype::AXFR]
    );
    s.assert_new_zone(2);
    s.assert_alive();
}

/// Case 2: an IXFR deleting a record the zone does not hold reads well
/// but does not apply: the machine falls back to AXFR. An AXFR whose last
/// SOA is not its first fails the check, old copy kept; a good one is taken.
#[test]
fn ixfr_deleting_a_missing_record_falls_back_to_axfr() {
    let mut s = Secondary::start(&[], false, 1);
    let ixfr = vec![Step::Answer(vec![
        soa(2),
        soa(1),
        rr("gone A 192.0.2.77"),
        soa(2),
        rr("bad A 192.0.2.66"),
        soa(2),
    ])];
    let mut torn = vec![soa(2)];
    torn.extend(new_body());
    torn.push(soa(3));
    s.primary.set(Script {
        soa: soa(2),
        ixfr: ixfr.clone(),
        axfr: vec![Step::Answer(torn)],
    });
    let t = Instant::now();
    let msg = s.refresh_fails();
    assert!(
        msg.contains("the transfer's last SOA (serial 3) differs from its first (serial 2)"),
        "{msg}"
    );
    assert!(
        msg.contains("IXFR not used (") && msg.contains("the IXFR does not apply"),
        "{msg}"
    );
    assert_eq!(
        s.primary.qtypes_since(t),
        [Rtype::SOA, Rtype::IXFR, Rtype::AXFR]
    );
    s.assert_log(&[
        "IXFR not used, trying AXFR",
        "the IXFR does not apply",
        "gone.z.test.",
    ]);
    s.assert_old_zone();

    s.primary.set(Script {
        soa: soa(2),
        ixfr,
        axfr: axfr(&soa(2), &new_body(), 2),
    });
    let st = s.transfers("refresh", 2);
    assert_eq!(st["secondary"]["last_transfer"]["type"], "AXFR", "{st:#}");
    s.assert_new_zone(2);
    s.assert_alive();
}

/// Case 3: with a TSIG key, a multi-message AXFR whose second message has
/// a bad MAC is refused (the IXFR before it is answered NOTIMP, signed).
#[test]
fn tsig_failure_mid_axfr_keeps_the_old_zone() {
    let s = Secondary::start(&[], true, 1);
    let mut records = vec![soa(2)];
    records.extend(new_body());
    s.primary.set(Script {
        soa: soa(2),
        ixfr: vec![Step::Rcode(NOTIMP)],
        axfr: vec![
            Step::Answer(records[..2].to_vec()),
            Step::BadMac(records[2..].to_vec()),
            Step::Answer(vec![soa(2)]),
        ],
    });
    let t = Instant::now();
    let msg = s.refresh_fails();
    assert!(msg.contains("TSIG: TSIG MAC does not verify"), "{msg}");
    assert_eq!(
        s.primary.qtypes_since(t),
        [Rtype::SOA, Rtype::IXFR, Rtype::AXFR]
    );
    assert!(s.primary.seen().iter().all(|q| q.signed));
    s.assert_old_zone();
    s.assert_alive();
}

/// Case 4: the primary closes the connection after the first AXFR message.
#[test]
fn connection_dropped_mid_axfr_keeps_the_old_zone() {
    let s = Secondary::start(&[], false, 1);
    let mut first = vec![soa(2)];
    first.extend(new_body());
    s.primary.set(Script {
        soa: soa(2),
        ixfr: vec![Step::Rcode(NOTIMP)],
        axfr: vec![Step::Answer(first), Step::Close],
    });
    let msg = s.refresh_fails();
    assert!(
        msg.contains("the connection closed before the transfer ended"),
        "{msg}"
    );
    s.assert_old_zone();
    s.assert_alive();
}

/// A primary that stalls in the middle of an AXFR, between two messages
/// and inside one: the transfer times out per `--xfr-idle-timeout`, the
/// status names the stall, the old zone stays served, and the server
/// answers other queries meanwhile (fault injection, docs/robustness.md).
#[test]
fn primary_stalling_mid_axfr_times_out_and_keeps_the_old_zone() {
    let s = Secondary::start(&["--xfr-idle-timeout", "1"], false, 1);
    let body = new_body();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut first = vec![soa(2)];
    first.extend_from_slice(head);
    let mut rest = tail.to_vec();
    rest.push(soa(2));
    for (what, stall) in [
        (
            "between two messages",
            vec![
                Step::Answer(first.clone()),
                Step::Stall(Duration::from_secs(6)),
                Step::Answer(rest.clone()),
            ],
        ),
        (
            "inside a message",
            vec![
                Step::Answer(first.clone()),
                Step::Partial(rest.clone()),
                Step::Stall(Duration::from_secs(6)),
            ],
        ),
    ] {
        s.primary.set(Script {
            soa: soa(2),
            ixfr: vec![Step::Rcode(NOTIMP)],
            axfr: stall,
        });
        let started = Instant::now();
        let msg = s.refresh_fails();
        let took = started.elapsed();
        assert!(msg.contains("nothing read for 1s"), "{what}: {msg}");
        assert!(
            took < Duration::from_secs(5),
            "{what}: the stall was noticed after {took:?}, not after the 1 s idle timeout"
        );
        s.assert_old_zone();
        s.assert_alive();
    }
}

/// Case 5: garbage octets framed as the second message of an AXFR.
#[test]
fn malformed_message_keeps_the_old_zone() {
    let s = Secondary::start(&[], false, 1);
    let mut first = vec![soa(2)];
    first.extend(new_body());
    // A header claiming a question and five answers, then octets that are no name.
    let mut garbage = vec![0, 0, 0x84, 0, 0, 1, 0, 5, 0, 0, 0, 0];
    garbage.extend_from_slice(&[0xC5; 40]);
    s.primary.set(Script {
        soa: soa(2),
        ixfr: vec![Step::Rcode(NOTIMP)],
        axfr: vec![Step::Answer(first), Step::Raw(garbage)],
    });
    let msg = s.refresh_fails();
    assert!(msg.contains("malformed message"), "{msg}");
    s.assert_old_zone();
    s.assert_alive();
}

/// Case 6: the AXFR answer's question names another zone.
#[test]
fn answer_for_another_zone_keeps_the_old_zone() {
    let s = Secondary::start(&[], false, 1);
    let other: Name = "other.test.".parse().unwrap();
    let with_owner = |r: Record, owner: &str| Record {
        owner: owner.parse().unwrap(),
        ..r
    };
    let records = vec![
        with_owner(soa(2), "other.test."),
        with_owner(rr("bad A 192.0.2.66"), "bad.other.test."),
        with_owner(soa(2), "other.test."),
    ];
    s.primary.set(Script {
        soa: soa(2),
        ixfr: vec![Step::Rcode(NOTIMP)],
        axfr: vec![Step::AnswerFor(other, records)],
    });
    let msg = s.refresh_fails();
    assert!(
        msg.contains("the answer is for other.test. AXFR, not z.test. AXFR"),
        "{msg}"
    );
    s.assert_old_zone();
    s.assert_alive();
}

/// Case 7: an AXFR carrying a record owned outside the zone.
#[test]
fn records_outside_the_zone_keep_the_old_zone() {
    let s = Secondary::start(&[], false, 1);
    let mut body = new_body();
    body.push(rr("evil.other.test. A 192.0.2.99"));
    s.primary.set(Script {
        soa: soa(2),
        ixfr: vec![Step::Rcode(NOTIMP)],
        axfr: axfr(&soa(2), &body, 10),
    });
    let msg = s.refresh_fails();
    assert!(
        msg.contains("evil.other.test. A: outside the zone z.test."),
        "{msg}"
    );
    s.assert_old_zone();
    assert_eq!(s.query("evil.other.test.", Rtype::A).rcode(), 5);
    s.assert_alive();
}

/// Case 8: the primary's serial goes backwards (0 after our 5): the check
/// fails without transferring; `retransfer` then takes the primary's copy.
#[test]
fn serial_going_backwards_is_refused_until_retransfer() {
    let mut s = Secondary::start(&[], false, 5);
    s.primary.set(serving(soa(0), &new_body()));
    let t = Instant::now();
    let msg = s.refresh_fails();
    assert!(
        msg.contains("the primary's serial 0 is older than ours 5"),
        "{msg}"
    );
    assert_eq!(
        s.primary.qtypes_since(t),
        [Rtype::SOA],
        "no transfer is asked"
    );
    let st = s.status();
    assert_eq!(st["secondary"]["primary_serial"], 0, "{st:#}");
    s.assert_old_zone();

    let t = Instant::now();
    let st = s.transfers("retransfer", 0);
    let last = &st["secondary"]["last_transfer"];
    assert_eq!(last["type"], "AXFR", "{st:#}");
    assert!(last["serial_from"] == 5 && last["serial_to"] == 0, "{st:#}");
    assert_eq!(
        s.primary.qtypes_since(t),
        [Rtype::SOA, Rtype::AXFR],
        "retransfer asks AXFR, not IXFR"
    );
    s.assert_new_zone(0);
    s.assert_alive();
}

/// Case 9: a transferred SOA with an absurd refresh (0) or expire (2^31) is refused.
#[test]
fn absurd_timers_are_refused() {
    let s = Secondary::start(&[], false, 1);
    for (bad, needle) in [
        (soa_timers(2, 0, 600, 86_400), "absurd SOA refresh 0"),
        (
            soa_timers(2, 3600, 600, 0x8000_0000),
            "absurd SOA expire 2147483648",
        ),
    ] {
        s.primary.set(serving(bad, &new_body()));
        let msg = s.refresh_fails();
        assert!(msg.contains(needle), "{msg}");
        s.assert_old_zone();
    }
    s.assert_alive();
}

/// Case 10: a transfer with more records than `--xfr-max-records` is
/// refused and the old copy kept; a zone of exactly that size is taken.
///
/// Regression: the AXFR's closing SOA counted against the limit, so a zone
/// of exactly `--xfr-max-records` records (SOA included, as `record_count`
/// counts) was refused.
#[test]
fn transfer_larger_than_the_limit_is_refused() {
    const MAX: usize = 20;
    let mut s = Secondary::start(&["--xfr-max-records", "20"], false, 1);
    let big = |n: usize| -> Vec<Record> {
        let mut body = new_body();
        for i in 0..n {
            body.push(rr(&format!("h{i} A 198.51.100.{i}")));
        }
        body
    };
    // SOA + new_body (4) + 16 = 21 records: one too many.
    s.primary.set(serving(soa(2), &big(MAX - 4)));
    let msg = s.refresh_fails();
    assert!(
        msg.contains("the transfer holds more than 20 records"),
        "{msg}"
    );
    s.assert_old_zone();

    // SOA + new_body (4) + 15 = 20 records: the limit, taken.
    s.primary.set(serving(soa(2), &big(MAX - 5)));
    let st = s.transfers("refresh", 2);
    assert_eq!(st["record_count"], MAX, "{st:#}");
    s.assert_new_zone(2);
    s.assert_alive();
}

/// Case 10b: the node's size limits (`--max-rrset-records`,
/// `--max-zone-records`) hold for transfers in: an AXFR with an RRset
/// over the limit, or a zone over it, fails the check with a status error
/// naming the limit, the old copy stays served, and each refusal is logged
/// and counted in `/metrics`. `--xfr-max-records` defaults to
/// `--max-zone-records`.
#[test]
fn transfer_over_the_size_limits_is_refused() {
    let mut s = Secondary::start(
        &["--max-rrset-records", "3", "--max-zone-records", "20"],
        false,
        1,
    );
    let refusals = |s: &Secondary, limit: &str| -> u64 {
        let (code, text) = s.api("GET", "/metrics", "");
        assert_eq!(code, 200, "{text}");
        common::metric(
            &text,
            &format!("zonecast_limit_refusals_total{{limit=\"{limit}\"}}"),
        )
    };
    // www with four addresses: over 3.
    let mut body = new_body();
    body.extend(["www A 192.0.2.3", "www A 192.0.2.4", "www A 192.0.2.5"].map(rr));
    s.primary.set(serving(soa(2), &body));
    let msg = s.refresh_fails();
    assert!(
        msg.contains(
            "RRset www.z.test. A would hold 4 records; the limit is 3 (--max-rrset-records)"
        ),
        "{msg}"
    );
    s.assert_old_zone();
    s.assert_log(&[
        "size limit reached",
        "limit=rrset_records",
        "way=\"transfer\"",
    ]);
    assert_eq!(refusals(&s, "rrset_records"), 1);

    // 21 records: refused while reading the transfer.
    let mut body = new_body();
    for i in 0..16 {
        body.push(rr(&format!("h{i} A 198.51.100.{i}")));
    }
    s.primary.set(serving(soa(2), &body));
    let msg = s.refresh_fails();
    assert!(msg.contains("more than 20 records"), "{msg}");
    s.assert_old_zone();
    s.assert_log(&[
        "size limit reached",
        "limit=zone_records",
        "the AXFR of zone z.test.",
    ]);
    assert!(refusals(&s, "zone_records") >= 1);

    // Within both limits: taken.
    body.pop();
    s.primary.set(serving(soa(2), &body));
    s.transfers("refresh", 2);
    s.assert_new_zone(2);
    s.assert_alive();
}

/// Case 10c: a transfer larger in octets than `--xfr-max-bytes` is cut
/// off as it arrives, the old copy kept, the refusal logged and counted
/// (`limit="transfer_bytes"`); a smaller one is taken.
#[test]
fn transfer_over_the_byte_limit_is_cut_off() {
    let mut s = Secondary::start(&["--xfr-max-bytes", "1000"], false, 1);
    let mut body = new_body();
    let long = "x".repeat(200);
    for i in 0..10 {
        body.push(rr(&format!("t{i} TXT \"{long}\"")));
    }
    s.primary.set(serving(soa(2), &body));
    let msg = s.refresh_fails();
    assert!(
        msg.contains("; the limit is 1000 (--xfr-max-bytes)"),
        "{msg}"
    );
    s.assert_old_zone();
    s.assert_log(&[
        "size limit reached",
        "limit=transfer_bytes",
        "the AXFR of zone z.test.",
    ]);
    let (code, text) = s.api("GET", "/metrics", "");
    assert_eq!(code, 200, "{text}");
    let refused = common::metric(
        &text,
        "zonecast_limit_refusals_total{limit=\"transfer_bytes\"}",
    );
    assert_eq!(refused, 1, "{text}");

    s.primary.set(serving(soa(2), &new_body()));
    s.transfers("refresh", 2);
    s.assert_new_zone(2);
    s.assert_alive();
}

/// A NOTIFY from the primary's address is answered NOERROR+AA and wakes a check at once.
#[test]
fn notify_from_the_primary_triggers_a_check() {
    let s = Secondary::start(&[], false, 1);
    let t = Instant::now();
    let m = s.notify(None);
    assert!(m.header.qr && m.header.aa, "{m:?}");
    assert_eq!((m.header.opcode, m.rcode()), (4, 0), "{m:?}");
    let deadline = t + Duration::from_secs(1);
    while s.primary.soa_queries_since(t) == 0 {
        assert!(
            Instant::now() < deadline,
            "no SOA query within 1 s of the NOTIFY"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    s.assert_alive();
}

/// A burst of 20 NOTIFYs within 50 ms coalesces into few checks.
///
/// Regression: wakes coalesced only while a check ran, and a check that
/// finds the zone up to date takes well under a millisecond, so each
/// NOTIFY of this burst caused its own check (18 to 20 SOA queries) until
/// woken checks were spaced by `zonecast_xfr::secondary::WAKE_GAP`.
#[test]
fn notify_burst_coalesces_into_few_checks() {
    let s = Secondary::start(&[], false, 1);
    // NOTIFYs without an SOA: no serial spares a check, only coalescing does.
    let t = notify_burst(&s, notify_message);
    std::thread::sleep((t + Duration::from_secs(2)).saturating_duration_since(Instant::now()));
    let checks = s.primary.soa_queries_since(t);
    assert!(
        (1..=3).contains(&checks),
        "{checks} SOA queries after a burst of 20 NOTIFYs (wakes coalesce)"
    );
    s.assert_alive();
}

/// A NOTIFY carrying the zone's SOA at `serial` in its answer section
/// (RFC 1996 §3.7), as BIND, Knot and NSD send it.
fn notify_with_soa(id: u16, serial: u32) -> Vec<u8> {
    let mut m = notify_message(id);
    let soa = soa(serial);
    m[7] = 1; // ANCOUNT
    m.extend_from_slice(soa.owner.as_wire());
    m.extend_from_slice(&Rtype::SOA.0.to_be_bytes());
    m.extend_from_slice(&Class::IN.0.to_be_bytes());
    m.extend_from_slice(&soa.ttl.to_be_bytes());
    m.extend_from_slice(&(soa.rdata.len() as u16).to_be_bytes());
    m.extend_from_slice(&soa.rdata);
    m
}

/// Sends 20 NOTIFYs made by `message` (given each one's ID), one every
/// 2 ms (38 ms in all: far slower than a check that finds the zone up to
/// date, so only coalescing or serials keep the checks few), and waits for
/// every answer: NOERROR.
fn notify_burst(s: &Secondary, message: impl Fn(u16) -> Vec<u8>) -> Instant {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let t = Instant::now();
    for i in 0..20u16 {
        let at = t + Duration::from_millis(2 * u64::from(i));
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        sock.send_to(&message(2000 + i), s.z.addr()).unwrap();
    }
    assert!(
        t.elapsed() < Duration::from_millis(50),
        "the burst took {:?}",
        t.elapsed()
    );
    let mut buf = [0u8; 512];
    for _ in 0..20 {
        let n = sock.recv(&mut buf).expect("every NOTIFY is answered");
        let m = Message::parse(&buf[..n]).unwrap();
        assert_eq!((m.header.opcode, m.rcode()), (4, 0), "{m:?}");
    }
    t
}

/// A burst of NOTIFYs carrying the SOA costs one check (issue 9: "a burst
/// of NOTIFYs causes one refresh"): NOTIFYs for the serial the zone has
/// cost none, and those for a new serial that arrive while the check they
/// started runs are covered by it (RFC 1996 §3.7 and §4.7; BIND and Knot
/// skip a NOTIFY whose serial is not newer).
#[test]
fn notify_burst_with_serials_costs_one_check() {
    let s = Secondary::start(&[], false, 1);
    let t = notify_burst(&s, |id| notify_with_soa(id, 1));
    std::thread::sleep((t + Duration::from_millis(1500)).saturating_duration_since(Instant::now()));
    assert_eq!(
        s.primary.soa_queries_since(t),
        0,
        "NOTIFYs for the serial held cost no check"
    );
    s.primary.set(serving(soa(2), &new_body()));
    let t = notify_burst(&s, |id| notify_with_soa(id, 2));
    s.wait("serial 2 taken", |st| st["served_serial"] == 2);
    std::thread::sleep((t + Duration::from_millis(1500)).saturating_duration_since(Instant::now()));
    assert_eq!(
        s.primary.soa_queries_since(t),
        1,
        "one check for a burst of 20 NOTIFYs of one new serial\n{}",
        s.z.log_text()
    );
    let (code, metrics) = s.api("GET", "/metrics", "");
    assert_eq!(code, 200);
    let current = common::metric(&metrics, "zonecast_secondary_notifies_current_total");
    assert!(
        current >= 20,
        "{current} NOTIFYs counted as current\n{metrics}"
    );
    s.assert_new_zone(2);
}

/// With a TSIG key on the zone, an unsigned NOTIFY is REFUSED and wakes
/// nothing; one signed with the key is accepted and wakes a check.
#[test]
fn unsigned_notify_for_a_keyed_zone_is_refused() {
    let s = Secondary::start(&[], true, 1);
    let t = Instant::now();
    let m = s.notify(None);
    assert_eq!((m.header.opcode, m.rcode()), (4, 5), "REFUSED: {m:?}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        s.primary.soa_queries_since(t),
        0,
        "no check after a refused NOTIFY"
    );
    s.assert_log(&["NOTIFY refused: not signed with the zone's TSIG key"]);

    let t = Instant::now();
    let m = s.notify(Some(&key()));
    assert_eq!((m.header.opcode, m.rcode()), (4, 0), "signed: {m:?}");
    let deadline = t + Duration::from_secs(1);
    while s.primary.soa_queries_since(t) == 0 {
        assert!(
            Instant::now() < deadline,
            "no SOA query after the signed NOTIFY"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    s.assert_alive();
}
