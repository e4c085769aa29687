//! zonecast as primary of real secondaries (issue 8): knotd, named and nsd
//! each take the zone by AXFR signed with TSIG, then follow a change from
//! a signed NOTIFY and a signed IXFR, driven by their own configuration.

pub mod common;

use common::peers::{canonical, Peer, PeerKey};
use common::{free_port, query_udp, Zonecast};
use std::net::SocketAddr;
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
    common::curl_api(api, TOKEN, dir, method, path, body)
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
    let mut peer = Peer::start(
        kind,
        port,
        z.addr(),
        "interop.test",
        Some(PeerKey {
            name: KEY,
            secret: SECRET,
        }),
    );
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
    assert_equal_to_export(api, &dir, &peer);
    // Many changes while the peer is stopped: it catches up when it starts
    // again (by IXFR from its stored serial, or AXFR when it kept nothing).
    peer.stop();
    for i in 0..30 {
        let body = format!(r#"{{"ttl": 60, "records": ["192.0.2.{i}"]}}"#);
        let path = format!("/v1/zones/interop.test./rrsets/c{i}.interop.test./A");
        let (code, t) = curl(api, &dir, "PUT", &path, &body);
        assert_eq!(code, 200, "{t}");
    }
    peer.restart();
    wait_serial(peer.addr, |s| s >= 2, &peer);
    // Its NOTIFYs went unanswered while it was down; BIND refreshes only at
    // the SOA refresh interval after a restart, Knot and NSD at once. One
    // more change notifies it: it catches up from its serial by IXFR.
    let (code, t) = curl(
        api,
        &dir,
        "PUT",
        "/v1/zones/interop.test./rrsets/after.interop.test./A",
        change,
    );
    assert_eq!(code, 200, "{t}");
    let took = wait_serial(peer.addr, |s| s == 33, &peer);
    eprintln!("{kind}: caught up with 31 changes {took:?} after the last one");
    assert_equal_to_export(api, &dir, &peer);
}

/// The peer serves exactly zonecast's export of the zone.
fn assert_equal_to_export(api: SocketAddr, dir: &std::path::Path, peer: &Peer) {
    let (code, text) = curl(api, dir, "GET", "/v1/zones/interop.test./zonefile", "");
    assert_eq!(code, 200, "{text}");
    let origin: Name = "interop.test.".parse().unwrap();
    let ours = zonecast_zonefile::load_str(&text, &origin, "export")
        .unwrap()
        .records;
    let theirs = peer.axfr("interop.test");
    assert_eq!(
        canonical(&theirs),
        canonical(&ours),
        "{} serves the zone zonecast exports",
        peer.kind
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
