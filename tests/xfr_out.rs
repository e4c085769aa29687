//! Zone transfers out (issue 8): AXFR and IXFR served by `zonecast serve`
//! over TCP, checked with our own client and with a real Knot secondary.

pub mod common;

use common::{free_port, query_udp, require_tool, Zonecast, LOG_WAIT};
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::{Name, Record, Rtype};

const TOKEN: &str = "xfr-test-token";

fn zone_text(names: usize) -> String {
    let mut z = String::from(
        "$ORIGIN xfr.test.\n$TTL 300\n@ SOA ns1 hostmaster 10 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n\
         www A 192.0.2.2\nmail MX 10 mx.elsewhere.example.\n*.wild TXT \"wild\"\nsub NS ns.sub\nns.sub A 192.0.2.3\n",
    );
    for i in 0..names {
        z.push_str(&format!(
            "h{i} A 10.{}.{}.{}\nh{i} TXT \"a text record that makes messages fill up {i}\"\n",
            i >> 16 & 255,
            i >> 8 & 255,
            i & 255
        ));
    }
    z
}

fn start() -> Zonecast {
    Zonecast::start_with_args(&["--api-token".to_string(), TOKEN.to_string()])
}

fn curl(z: &Zonecast, method: &str, path: &str, body: &str) -> (u16, String) {
    let api = z.api_addr().expect("the harness chose an API address");
    common::curl_api(api, TOKEN, z.dir(), method, path, body)
}

fn create(z: &Zonecast, names: usize, allow: &[&str]) {
    let body = serde_json::json!({"name": "xfr.test.", "zonefile": zone_text(names), "allow_transfer": allow});
    let (code, text) = curl(z, "POST", "/v1/zones", &body.to_string());
    assert_eq!(code, 201, "{text}");
}

use common::peers::transfer;

fn is_single_soa(m: &Message) -> bool {
    m.answer.len() == 1 && m.answer[0].rtype == Rtype::SOA
}

fn soa_serial(r: &Record) -> u32 {
    let n = r.rdata.len();
    u32::from_be_bytes([
        r.rdata[n - 20],
        r.rdata[n - 19],
        r.rdata[n - 18],
        r.rdata[n - 17],
    ])
}

fn axfr_query() -> Vec<u8> {
    build_query(7, &"xfr.test.".parse::<Name>().unwrap(), Rtype::AXFR, None)
}

fn ixfr_query(serial: u32) -> Vec<u8> {
    // Authority section: the client's SOA (RFC 1995 §3).
    let mut q = build_query(8, &"xfr.test.".parse::<Name>().unwrap(), Rtype::IXFR, None);
    q[9] = 1; // NSCOUNT
    q.extend_from_slice(&[0xc0, 0x0c, 0, 6, 0, 1, 0, 0, 0, 0]);
    let mut rdata = vec![0u8, 0u8];
    rdata.extend_from_slice(&serial.to_be_bytes());
    rdata.extend_from_slice(&[0u8; 16]);
    q.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    q.extend_from_slice(&rdata);
    q
}

#[test]
fn axfr_streams_one_version_soa_first_and_last() {
    let z = start();
    create(&z, 3000, &["127.0.0.1"]);
    let msgs = transfer(z.addr(), &axfr_query());
    assert!(
        msgs.len() > 1,
        "a 6,000-record zone takes several 64 KiB messages"
    );
    let answers: Vec<&Record> = msgs.iter().flat_map(|m| m.answer.iter()).collect();
    assert_eq!(answers.first().unwrap().rtype, Rtype::SOA);
    assert_eq!(answers.last().unwrap().rtype, Rtype::SOA);
    assert_eq!(answers.iter().filter(|r| r.rtype == Rtype::SOA).count(), 2);
    // Every record once (8 + 2 per name), and the SOA again at the end.
    assert_eq!(answers.len(), 8 + 2 * 3000 + 1);
    for m in &msgs {
        assert!(m.header.aa, "AA on every message");
        assert_eq!(m.header.id, 7);
    }
    z.wait_log(&["transfer out", "AXFR", "records=6009"], LOG_WAIT);
}

#[test]
fn refusals_and_ixfr() {
    let z = start();
    // No allow_transfer: REFUSED, with a log line saying why.
    create(&z, 10, &[]);
    let r = transfer(z.addr(), &axfr_query());
    assert_eq!(r[0].rcode(), 5, "REFUSED");
    let udp = Message::parse(&query_udp(z.addr(), &ixfr_query(1)).unwrap()).unwrap();
    assert_eq!(udp.rcode(), 5, "IXFR over UDP refused too");
    z.wait_log(&["transfer refused", "allow_transfer is empty"], LOG_WAIT);
    // A zone not served: NOTAUTH.
    let q = build_query(
        9,
        &"other.test.".parse::<Name>().unwrap(),
        Rtype::AXFR,
        None,
    );
    assert_eq!(transfer(z.addr(), &q)[0].rcode(), 9, "NOTAUTH");
    // An ACL for another network refuses; ours allows.
    let (code, t) = curl(
        &z,
        "PATCH",
        "/v1/zones/xfr.test.",
        r#"{"allow_transfer": ["192.0.2.0/24"]}"#,
    );
    assert_eq!(code, 200, "{t}");
    assert_eq!(transfer(z.addr(), &axfr_query())[0].rcode(), 5);
    let (code, t) = curl(
        &z,
        "PATCH",
        "/v1/zones/xfr.test.",
        r#"{"allow_transfer": ["127.0.0.0/8"]}"#,
    );
    assert_eq!(code, 200, "{t}");
    let serial0 = soa_serial(&transfer(z.addr(), &axfr_query())[0].answer[0]);
    // IXFR over UDP (RFC 1995 §2): the current SOA alone, also for a client behind.
    std::thread::sleep(Duration::from_millis(2100)); // the UDP path caches the ACL for 2 s
    let udp = Message::parse(&query_udp(z.addr(), &ixfr_query(serial0.wrapping_sub(5))).unwrap())
        .unwrap();
    assert_eq!((udp.rcode(), udp.answer.len()), (0, 1), "{udp:?}");
    assert!(udp.header.aa && soa_serial(&udp.answer[0]) == serial0);
    // Current serial: the single SOA.
    let r = transfer(z.addr(), &ixfr_query(serial0));
    assert!(is_single_soa(&r[0]), "{:?}", r[0].answer);
    // Two changes: an incremental answer with two difference sequences.
    for ip in ["192.0.2.77", "192.0.2.78"] {
        let (code, t) = curl(
            &z,
            "PUT",
            "/v1/zones/xfr.test./rrsets/www.xfr.test./A",
            &format!(r#"{{"ttl": 300, "records": ["{ip}"]}}"#),
        );
        assert_eq!(code, 200, "{t}");
    }
    let r = transfer(z.addr(), &ixfr_query(serial0));
    let answers: Vec<&Record> = r.iter().flat_map(|m| m.answer.iter()).collect();
    let soas: Vec<u32> = answers
        .iter()
        .filter(|r| r.rtype == Rtype::SOA)
        .map(|r| soa_serial(r))
        .collect();
    let (s2, mid) = (soas[0], soas[2]);
    assert_eq!(soas, vec![s2, serial0, mid, mid, s2, s2], "{answers:?}");
    assert!(
        mid != serial0 && mid != s2,
        "two changes, two sequences: {soas:?}"
    );
    assert_eq!(
        answers.len(),
        6 + 4,
        "each change removes one A and adds one"
    );
    // A serial the journal does not know: AXFR-style.
    let r = transfer(z.addr(), &ixfr_query(serial0.wrapping_sub(1000)));
    let n: usize = r.iter().map(|m| m.answer.len()).sum();
    assert_eq!(n, 8 + 2 * 10 + 1, "the whole zone");
    z.wait_log(&["transfer out", "incremental"], LOG_WAIT);
    z.wait_log(&["transfer out", "AXFR-style"], LOG_WAIT);
}

/// A knotd secondary of zonecast: takes the zone by AXFR, then a change by IXFR.
#[test]
fn knot_secondary_takes_axfr_then_ixfr() {
    let z = start();
    create(&z, 200, &["127.0.0.1"]);
    let knot = common::peers::Peer::start("knotd", free_port(), z.addr(), "xfr.test", None);
    let serial0 = wait_serial(knot.addr, |_| true);
    let (code, t) = curl(
        &z,
        "PUT",
        "/v1/zones/xfr.test./rrsets/new.xfr.test./A",
        r#"{"ttl": 300, "records": ["192.0.2.99"]}"#,
    );
    assert_eq!(code, 200, "{t}");
    knot.refresh("xfr.test");
    wait_serial(knot.addr, |s| s != serial0);
    let q = build_query(3, &"new.xfr.test.".parse::<Name>().unwrap(), Rtype::A, None);
    let m = Message::parse(&query_udp(knot.addr, &q).unwrap()).unwrap();
    assert_eq!(m.answer.len(), 1, "knot serves the change: {m:?}");
    // zonecast's log shows the first transfer was an AXFR and the second incremental.
    z.wait_log(&["transfer out", "kind=\"AXFR\""], LOG_WAIT);
    z.wait_log(&["transfer out", "kind=\"IXFR\"", "incremental"], LOG_WAIT);
    // NOTIFY out: with knotd in the zone's notify list, a change reaches it
    // without a refresh, and the zone status shows the acknowledgement.
    let (code, t) = curl(
        &z,
        "PATCH",
        "/v1/zones/xfr.test.",
        &format!(
            r#"{{"allow_transfer": ["127.0.0.1"], "notify": ["{}"]}}"#,
            knot.addr
        ),
    );
    assert_eq!(code, 200, "{t}");
    let serial1 = wait_serial(knot.addr, |_| true);
    let (code, t) = curl(
        &z,
        "PUT",
        "/v1/zones/xfr.test./rrsets/notified.xfr.test./A",
        r#"{"ttl": 300, "records": ["192.0.2.100"]}"#,
    );
    assert_eq!(code, 200, "{t}");
    let applied: serde_json::Value = serde_json::from_str(&t).unwrap();
    let serial2 = applied["serial_to"].as_u64().unwrap() as u32;
    assert_ne!(serial1, serial2);
    let started = Instant::now();
    wait_serial(knot.addr, |s| s == serial2);
    eprintln!(
        "knotd served serial {serial2} {:?} after the API's answer (NOTIFY + IXFR)",
        started.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, status) = curl(&z, "GET", "/v1/zones/xfr.test./status", "");
        let v: serde_json::Value = serde_json::from_str(&status).unwrap();
        let n = &v["notify"];
        if n["serial"] == serial2 && n["targets"][0]["state"] == "acknowledged" {
            assert_eq!(n["targets"][0]["target"], knot.addr.to_string());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no acknowledged NOTIFY in the status: {status}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, metrics) = curl(&z, "GET", "/metrics", "");
    assert!(
        metrics.contains("zonecast_notify_acknowledged_total 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("zonecast_xfr_ixfr_out_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );
}

fn wait_serial(addr: SocketAddr, ok: impl Fn(u32) -> bool) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    let q = build_query(5, &"xfr.test.".parse::<Name>().unwrap(), Rtype::SOA, None);
    while Instant::now() < deadline {
        if let Some(m) = query_udp(addr, &q).and_then(|w| Message::parse(&w).ok()) {
            if m.rcode() == 0 && m.header.aa {
                if let Some(s) = m.answer.first().map(soa_serial) {
                    if ok(s) {
                        return s;
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the secondary at {addr} never served the expected serial");
}

const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=";

fn kdig(args: &[String]) -> (bool, String) {
    let out = Command::new(require_tool("kdig"))
        .args(args)
        .output()
        .expect("running kdig");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// TSIG on transfers: a zone whose ACL names a key is refused unsigned,
/// transferred to kdig signing with the key (kdig checks every signed
/// message), and refused NOTAUTH (BADSIG) with a wrong secret.
#[test]
fn tsig_signed_transfers() {
    let z = start();
    let key = serde_json::json!({"name": "xfr-key", "algorithm": "hmac-sha256", "secret": SECRET});
    let (code, t) = curl(&z, "POST", "/v1/tsig-keys", &key.to_string());
    assert_eq!(code, 201, "{t}");
    create(&z, 3000, &["key:xfr-key"]);
    assert_eq!(
        transfer(z.addr(), &axfr_query())[0].rcode(),
        5,
        "unsigned: REFUSED"
    );
    z.wait_log(&["transfer refused", "requires a TSIG key"], LOG_WAIT);
    let at = [
        format!("@{}", z.addr().ip()),
        "-p".into(),
        z.addr().port().to_string(),
    ];
    let mut ok = at.to_vec();
    ok.push(format!("-yhmac-sha256:xfr-key:{SECRET}"));
    ok.extend(["AXFR".to_string(), "xfr.test.".to_string()]);
    let (success, text) = kdig(&ok);
    assert!(success, "{text}");
    let records = text
        .lines()
        .filter(|l| l.starts_with("h1234.xfr.test."))
        .count();
    assert_eq!(records, 2, "{text}");
    assert!(!text.contains("failed"), "{text}");
    z.wait_log(&["transfer out", "key=\"xfr-key.\""], LOG_WAIT);
    let mut bad = at.to_vec();
    bad.push("-yhmac-sha256:xfr-key:d3Jvbmctc2VjcmV0".into());
    bad.extend(["AXFR".to_string(), "xfr.test.".to_string()]);
    let (_, text) = kdig(&bad);
    assert!(
        text.contains("NOTAUTH") || text.contains("BADSIG"),
        "{text}"
    );
    z.wait_log(&["transfer refused", "BadSig"], LOG_WAIT);
}

/// A signed AXFR query for xfr.test. with `key`, signed at `time`.
fn signed_axfr(key: &zonecast_proto::tsig::Key, time: u64) -> Vec<u8> {
    let mut q = axfr_query();
    zonecast_proto::tsig::sign_request(&mut q, key, time, 300).unwrap();
    q
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The TSIG error field of the answer's TSIG record (0 when none).
fn tsig_error(m: &Message) -> Option<u16> {
    let r = m.additional.iter().find(|r| r.rtype == Rtype::TSIG)?;
    // Algorithm name, time (6), fudge (2), MAC size + MAC, original id (2), error (2).
    let (_, mut pos) = Name::parse_wire(&r.rdata, 0).ok()?;
    pos += 8;
    let mac = u16::from_be_bytes([r.rdata[pos], r.rdata[pos + 1]]) as usize;
    pos += 2 + mac + 2;
    Some(u16::from_be_bytes([r.rdata[pos], r.rdata[pos + 1]]))
}

type Case = (&'static str, Vec<u8>, u8, Option<u16>, &'static str);

/// Every TSIG failure of a transfer request, answered and logged as RFC
/// 8945 §5.2 says, and `dig -y` succeeding with the right key.
#[test]
fn tsig_failures_are_refused_precisely() {
    use zonecast_proto::tsig::{Key, BADKEY, BADSIG, BADTIME, BADTRUNC};
    let z = start();
    let key = serde_json::json!({"name": "xfr-key", "algorithm": "hmac-sha256", "secret": SECRET});
    let (code, t) = curl(&z, "POST", "/v1/tsig-keys", &key.to_string());
    assert_eq!(code, 201, "{t}");
    create(&z, 10, &["key:xfr-key"]);
    let secret = base64_decode(SECRET);
    let good = Key::new("xfr-key", "hmac-sha256", secret.clone()).unwrap();
    // (what, query, rcode, TSIG error field, what the log line says)
    let cases: Vec<Case> = vec![
        (
            "wrong key name",
            signed_axfr(
                &Key::new("other-key", "hmac-sha256", secret.clone()).unwrap(),
                now(),
            ),
            9,
            Some(BADKEY),
            "BadKey",
        ),
        (
            "wrong secret",
            signed_axfr(
                &Key::new("xfr-key", "hmac-sha256", b"wrong".to_vec()).unwrap(),
                now(),
            ),
            9,
            Some(BADSIG),
            "BadSig",
        ),
        (
            "wrong algorithm",
            signed_axfr(
                &Key::new("xfr-key", "hmac-sha512", secret.clone()).unwrap(),
                now(),
            ),
            9,
            Some(BADKEY),
            "BadKey",
        ),
        (
            "expired time",
            signed_axfr(&good, now() - 3600),
            9,
            Some(BADTIME),
            "BadTime",
        ),
        (
            "truncated MAC",
            truncate_mac(signed_axfr(&good, now()), 16),
            9,
            Some(BADTRUNC),
            "BadTrunc",
        ),
        (
            "MAC cut below the minimum",
            truncate_mac(signed_axfr(&good, now()), 8),
            1,
            None,
            "FormErr",
        ),
        (
            "TSIG not the last record",
            misplaced_tsig(signed_axfr(&good, now())),
            1,
            None,
            "FormErr",
        ),
        (
            "unsigned to a key-only zone",
            axfr_query(),
            5,
            None,
            "requires a TSIG key",
        ),
    ];
    for (what, query, rcode, error, logged) in cases {
        let r = transfer(z.addr(), &query);
        assert_eq!(r.len(), 1, "{what}: one answer");
        assert_eq!(r[0].rcode(), u16::from(rcode), "{what}");
        assert!(r[0].answer.is_empty(), "{what}: nothing transferred");
        assert_eq!(tsig_error(&r[0]), error, "{what}: TSIG error field");
        z.wait_log(&["transfer refused", logged], LOG_WAIT);
    }
    // The right key: dig and kdig transfer the zone.
    let at = format!("@{}", z.addr().ip());
    let port = z.addr().port().to_string();
    let dig = Command::new(require_tool("dig"))
        .args([
            &at,
            "-p",
            &port,
            "-y",
            &format!("hmac-sha256:xfr-key:{SECRET}"),
            "AXFR",
            "xfr.test.",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&dig.stdout);
    assert!(
        text.contains("h9.xfr.test.") && !text.contains("failed"),
        "{text}"
    );
    assert!(text.contains("XFR size: 29 records"), "{text}");
    let (ok, text) = kdig(&[
        at,
        "-p".into(),
        port,
        format!("-yhmac-sha256:xfr-key:{SECRET}"),
        "AXFR".into(),
        "xfr.test.".into(),
    ]);
    assert!(ok && text.contains("h9.xfr.test."), "{text}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    let table = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').map(table).collect();
    bytes
        .chunks(4)
        .flat_map(|c| {
            let v = c.iter().fold(0u32, |acc, &x| acc << 6 | u32::from(x)) << (6 * (4 - c.len()));
            let out = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
            out[..c.len() - 1].to_vec()
        })
        .collect()
}

/// The TSIG record (the last) of a signed query with its MAC cut to `keep` octets.
fn truncate_mac(mut q: Vec<u8>, keep: usize) -> Vec<u8> {
    let m = Message::parse(&q).unwrap();
    let tsig = m.additional.last().unwrap().clone();
    let tsig_len = {
        let mut w = Vec::new();
        zonecast_proto::message::write_records_uncompressed(std::slice::from_ref(&tsig), &mut w);
        w.len()
    };
    q.truncate(q.len() - tsig_len);
    let mut rd = tsig.rdata.to_vec();
    let (_, pos) = Name::parse_wire(&rd, 0).unwrap();
    let at = pos + 8;
    let mac = u16::from_be_bytes([rd[at], rd[at + 1]]) as usize;
    rd.drain(at + 2 + keep..at + 2 + mac);
    rd[at..at + 2].copy_from_slice(&(keep as u16).to_be_bytes());
    let cut = Record {
        rdata: rd.into(),
        ..tsig
    };
    zonecast_proto::message::write_records_uncompressed(std::slice::from_ref(&cut), &mut q);
    q
}

/// A signed query with an extra record after its TSIG.
fn misplaced_tsig(mut q: Vec<u8>) -> Vec<u8> {
    let extra = Record {
        owner: "x.xfr.test.".parse().unwrap(),
        rtype: Rtype::A,
        class: zonecast_proto::Class::IN,
        ttl: 0,
        rdata: vec![192, 0, 2, 1].into(),
    };
    zonecast_proto::message::write_records_uncompressed(&[extra], &mut q);
    q[11] += 1;
    q
}

/// Bad transfer requests get precise answers and change nothing.
#[test]
fn bad_transfer_requests() {
    let z = start();
    create(&z, 10, &["127.0.0.1"]);
    let serial = soa_serial(&transfer(z.addr(), &axfr_query())[0].answer[0]);
    // IXFR whose authority SOA is garbage (rdata too short), or of another zone.
    let mut garbage = build_query(3, &"xfr.test.".parse::<Name>().unwrap(), Rtype::IXFR, None);
    garbage[9] = 1;
    garbage.extend_from_slice(&[0xc0, 0x0c, 0, 6, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
    assert_eq!(transfer(z.addr(), &garbage)[0].rcode(), 1, "FORMERR");
    let mut other = build_query(4, &"xfr.test.".parse::<Name>().unwrap(), Rtype::IXFR, None);
    other[9] = 1;
    other.extend_from_slice(&[1, b'x', 0, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0]);
    other.extend_from_slice(&[0u8; 20]);
    assert_eq!(
        transfer(z.addr(), &other)[0].rcode(),
        1,
        "an SOA of another zone: FORMERR"
    );
    // IXFR with no SOA at all.
    let bare = build_query(5, &"xfr.test.".parse::<Name>().unwrap(), Rtype::IXFR, None);
    assert_eq!(transfer(z.addr(), &bare)[0].rcode(), 1, "FORMERR");
    // A transfer of a name inside the zone, not its apex: NOTAUTH.
    let inside = build_query(
        6,
        &"www.xfr.test.".parse::<Name>().unwrap(),
        Rtype::AXFR,
        None,
    );
    assert_eq!(transfer(z.addr(), &inside)[0].rcode(), 9, "NOTAUTH");
    // NOTIFY for a primary zone: REFUSED and logged; for a zone not served: NOTAUTH.
    let mut notify = build_query(7, &"xfr.test.".parse::<Name>().unwrap(), Rtype::SOA, None);
    notify[2] = (4 << 3) | 0x04;
    let m = Message::parse(&query_udp(z.addr(), &notify).unwrap()).unwrap();
    assert_eq!(m.rcode(), 5, "REFUSED");
    z.wait_log(&["NOTIFY refused", "not a secondary zone"], LOG_WAIT);
    let mut elsewhere = build_query(8, &"other.test.".parse::<Name>().unwrap(), Rtype::SOA, None);
    elsewhere[2] = (4 << 3) | 0x04;
    let m = Message::parse(&query_udp(z.addr(), &elsewhere).unwrap()).unwrap();
    assert_eq!(m.rcode(), 9, "NOTAUTH");
    // Nothing changed, and the server still transfers.
    let again = transfer(z.addr(), &axfr_query());
    assert_eq!(soa_serial(&again[0].answer[0]), serial);
    assert_eq!(
        again.iter().map(|m| m.answer.len()).sum::<usize>(),
        8 + 20 + 1
    );
}

/// Transfers while changes commit every 10 ms: each copy is exactly the
/// content of its serial (change k sets m.xfr.test. A to 10.255.k/256.k%256 and adds n{k}).
#[test]
fn transfers_during_changes_are_consistent_versions() {
    let z = start();
    let base_names = 2000;
    create(&z, base_names, &["127.0.0.1"]);
    let serial0 = soa_serial(&transfer(z.addr(), &axfr_query())[0].answer[0]);
    let api = z.api_addr().unwrap();
    let dir = z.dir().to_path_buf();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut serials = vec![serial0];
            let mut k = 1u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && k < 400 {
                let edits = serde_json::json!([
                    {"name": "m", "type": "A", "ttl": 300, "records": [format!("10.255.{}.{}", k / 256, k % 256)]},
                    {"name": format!("n{k}"), "type": "A", "ttl": 300, "records": ["192.0.2.9"]},
                ]);
                let (code, text) = curl_at(
                    api,
                    &dir,
                    "PATCH",
                    "/v1/zones/xfr.test./rrsets",
                    &edits.to_string(),
                );
                assert_eq!(code, 200, "{text}");
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                serials.push(v["serial_to"].as_u64().unwrap() as u32);
                k += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            serials
        })
    };
    // Transfers every 100 ms for 3 s, while the changes commit.
    let mut copies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        copies.push(transfer(z.addr(), &axfr_query()));
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let serials = writer.join().unwrap();
    let mut distinct = std::collections::BTreeSet::new();
    for msgs in copies {
        let recs: Vec<&Record> = msgs.iter().flat_map(|m| m.answer.iter()).collect();
        let serial = soa_serial(recs[0]);
        assert_eq!(
            soa_serial(recs[recs.len() - 1]),
            serial,
            "the closing SOA is the opening one"
        );
        let k = serials
            .iter()
            .position(|&s| s == serial)
            .expect("a serial the API answered") as u32;
        distinct.insert(k);
        let marker: Vec<String> = recs
            .iter()
            .filter(|r| r.rtype == Rtype::A && r.owner.to_string() == "m.xfr.test.")
            .map(|r| zonecast_proto::rdata::format_presentation(r.rtype, &r.rdata))
            .collect();
        let added = recs
            .iter()
            .filter(|r| {
                let o = r.owner.to_string();
                o.starts_with('n') && o.as_bytes().get(1).is_some_and(u8::is_ascii_digit)
            })
            .count() as u32;
        if k == 0 {
            assert!(marker.is_empty() && added == 0);
        } else {
            assert_eq!(
                marker,
                vec![format!("10.255.{}.{}", k / 256, k % 256)],
                "serial {serial}"
            );
            assert_eq!(added, k, "serial {serial}: n1..n{k} and nothing else");
        }
        assert_eq!(
            recs.len() as u32,
            8 + 2 * base_names as u32 + 1 + added + u32::from(k > 0)
        );
    }
    assert!(
        distinct.len() >= 3,
        "transfers saw several versions: {distinct:?}"
    );
}

fn curl_at(
    api: SocketAddr,
    dir: &std::path::Path,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    common::curl_api(api, TOKEN, dir, method, path, body)
}

/// A TCP connection to `addr` with a 4 KiB receive buffer (set before
/// connecting, so the window stays small and a transfer stays in flight
/// while this side does not read).
fn small_window_connect(addr: SocketAddr) -> std::net::TcpStream {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(v4) = addr else {
        panic!("an IPv4 test address")
    };
    // SAFETY: plain socket calls on a descriptor this function owns until
    // it is handed to TcpStream; the sockaddr_in is fully initialised.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let size: libc::c_int = 4096;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let r = libc::connect(
            fd,
            (&sa as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(r, 0, "connect: {}", std::io::Error::last_os_error());
        std::net::TcpStream::from_raw_fd(fd)
    }
}

/// Issue 10: at SIGTERM a transfer out in progress is finished (the
/// listeners keep running for it), a new one is REFUSED meanwhile, and then
/// the process exits.
#[test]
fn shutdown_drains_a_transfer_in_progress() {
    use std::io::{Read, Write};
    let z = start();
    // About 12 MB: more than the kernel's socket buffers can take while the
    // client does not read (2.4 MB once fitted whole, in 4.6 ms).
    const NAMES: usize = 100_000;
    create(&z, NAMES, &["127.0.0.1"]);
    let mut s = small_window_connect(z.addr());
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let q = axfr_query();
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    s.write_all(&framed).unwrap();
    let mut first = [0u8; 2];
    s.read_exact(&mut first).unwrap();
    // SAFETY: kill with a pid this test started.
    assert_eq!(unsafe { libc::kill(z.pid() as i32, libc::SIGTERM) }, 0);
    z.wait_log(&["draining transfers out", "in_flight=1"], LOG_WAIT);
    // A new transfer meanwhile is refused.
    let refused = transfer(z.addr(), &axfr_query());
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].rcode(), 5, "REFUSED during the drain");
    // The transfer in progress is finished: every record, SOA first and last.
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    let mut wire = first.to_vec();
    wire.extend_from_slice(&rest);
    let mut records = Vec::new();
    let mut at = 0;
    while at + 2 <= wire.len() {
        let n = u16::from_be_bytes([wire[at], wire[at + 1]]) as usize;
        let m = Message::parse(&wire[at + 2..at + 2 + n]).expect("a whole message");
        records.extend(m.answer.into_iter().map(|r| r.rtype));
        at += 2 + n;
    }
    assert_eq!(at, wire.len(), "no partial message");
    assert_eq!(records.len(), 8 + 2 * NAMES + 1);
    assert_eq!(
        (records[0], *records.last().unwrap()),
        (Rtype::SOA, Rtype::SOA)
    );
    // Then the server exits on its own (a zombie until the harness reaps it).
    let deadline = Instant::now() + Duration::from_secs(10);
    let running = || {
        std::fs::read_to_string(format!("/proc/{}/stat", z.pid()))
            .is_ok_and(|st| st.rsplit(") ").next().is_some_and(|f| !f.starts_with('Z')))
    };
    while running() {
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM:\n{}",
            z.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
