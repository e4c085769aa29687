//! A change is answered by DNS right after the HTTP response; concurrent writers lose nothing.

mod common;

use common::{TestServer, ADMIN};
use serde_json::json;
use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::time::Duration;
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::{Name, Record, Rtype};

fn query(server: std::net::SocketAddr, name: &str, rtype: Rtype) -> Message {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let q = build_query(
        0x1234,
        &Name::from_presentation(name, None).unwrap(),
        rtype,
        Some(1232),
    );
    sock.send_to(&q, server).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    Message::parse(&buf[..n]).unwrap()
}

fn a_answers(m: &Message) -> Vec<[u8; 4]> {
    m.answer
        .iter()
        .filter(|r| r.rtype == Rtype::A)
        .filter_map(|r| <[u8; 4]>::try_from(&r.rdata[..]).ok())
        .collect()
}

#[test]
fn change_is_answered_by_dns_immediately() {
    let s = TestServer::with_zone();
    let (dns, _threads) =
        zonecast_server::udp::spawn("127.0.0.1:0".parse().unwrap(), 1, s.control.zones()).unwrap();
    let m = query(dns, "fresh.example.com.", Rtype::A);
    assert_eq!(m.rcode(), 3, "NXDOMAIN before the change");
    for i in 1..=20u8 {
        let r = s.put(
            "/v1/zones/example.com/rrsets/fresh/A",
            &json!({"ttl": 60, "records": [format!("192.0.2.{i}")]}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let serial = r.json()["serial_to"].as_u64().unwrap();
        let m = query(dns, "fresh.example.com.", Rtype::A);
        assert_eq!(m.rcode(), 0);
        assert_eq!(
            a_answers(&m),
            vec![[192, 0, 2, i]],
            "change {i} not answered"
        );
        let soa = query(dns, "example.com.", Rtype::SOA);
        let rdata = &soa.answer[0].rdata;
        let at = rdata.len() - 20;
        let got = u32::from_be_bytes([rdata[at], rdata[at + 1], rdata[at + 2], rdata[at + 3]]);
        assert_eq!(got as u64, serial);
    }
    // A record deleted through the API is gone for DNS too.
    assert_eq!(s.delete("/v1/zones/example.com/rrsets/fresh/A").status, 200);
    assert_eq!(query(dns, "fresh.example.com.", Rtype::A).rcode(), 3);
}

fn key(r: &Record) -> (Name, u16, Vec<u8>) {
    (r.owner.to_lowercase(), r.rtype.0, r.rdata.to_vec())
}

#[test]
fn eight_concurrent_clients_lose_nothing() {
    const CLIENTS: usize = 8;
    const CHANGES: usize = 200;
    let s = std::sync::Arc::new(TestServer::with_zone());
    let r = s.patch(
        "/v1/zones/example.com",
        &json!({"serial_policy": "increment"}),
    );
    assert_eq!(r.status, 200);
    let zone = Name::from_presentation("example.com.", None).unwrap();
    let (serial0, journal0) = s.serial_and_journal("example.com.");
    let start: BTreeSet<_> = s
        .control
        .store()
        .zone_records(&zone)
        .unwrap()
        .iter()
        .map(key)
        .collect();

    let handles: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..CHANGES {
                    // Each client adds records and replaces its own RRset, all in one zone.
                    let r = if i % 2 == 0 {
                        s.req_as(
                            ADMIN,
                            "POST",
                            "/v1/zones/example.com/records",
                            Some(&json!({"name": format!("r{i}"), "type": "TXT", "content": format!("\"c{c}-{i}\""), "ttl": 60})),
                        )
                    } else {
                        s.req_as(
                            ADMIN,
                            "PUT",
                            &format!("/v1/zones/example.com/rrsets/c{c}/A"),
                            Some(&json!({"ttl": 60, "records": [format!("10.0.{c}.{}", i % 250)]})),
                        )
                    };
                    assert!(r.status == 200 || r.status == 201, "client {c} change {i}: {}", r.body);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }

    // The final zone equals the sequential result.
    let mut expected = start.clone();
    for c in 0..CLIENTS {
        for i in (0..CHANGES).step_by(2) {
            let txt = format!("\"c{c}-{i}\"");
            let rd = zonecast_zonefile::parse_rdata(Rtype::TXT, &txt, &zone).unwrap();
            let owner = Name::from_presentation(&format!("r{i}.example.com."), None).unwrap();
            expected.insert((owner, Rtype::TXT.0, rd));
        }
        let last = CHANGES - 1;
        let rd =
            zonecast_zonefile::parse_rdata(Rtype::A, &format!("10.0.{c}.{}", last % 250), &zone)
                .unwrap();
        expected.insert((
            Name::from_presentation(&format!("c{c}.example.com."), None).unwrap(),
            Rtype::A.0,
            rd,
        ));
    }
    let final_records = s.control.store().zone_records(&zone).unwrap();
    let mut got: BTreeSet<_> = final_records.iter().map(key).collect();
    // SOAs differ by serial; compare them apart.
    let soa = |set: &mut BTreeSet<(Name, u16, Vec<u8>)>| {
        let v: Vec<_> = set
            .iter()
            .filter(|k| k.1 == Rtype::SOA.0)
            .cloned()
            .collect();
        for k in &v {
            set.remove(k);
        }
    };
    soa(&mut expected);
    soa(&mut got);
    assert_eq!(got, expected);

    // The serial advanced once per change, one journal entry each.
    let (serial1, journal1) = s.serial_and_journal("example.com.");
    assert_eq!(serial1, serial0 + (CLIENTS * CHANGES) as u32);
    assert_eq!(journal1, journal0 + CLIENTS * CHANGES);

    // The journal replays to the final zone.
    let journal = s.control.store().journal(&zone).unwrap();
    let mut replay: BTreeSet<_> = BTreeSet::new();
    let mut serial = None;
    for e in &journal {
        if let Some(s) = serial {
            assert_eq!(e.change.serial_from, s, "journal chain broken");
        }
        for r in &e.change.removed {
            assert!(
                replay.remove(&key(r)),
                "journal removes a record that is not there"
            );
        }
        for r in &e.change.added {
            replay.insert(key(r));
        }
        serial = Some(e.change.serial_to);
    }
    assert_eq!(serial, Some(serial1));
    let all_final: BTreeSet<_> = final_records.iter().map(key).collect();
    assert_eq!(replay, all_final);
}

/// Regression (issue 6): `PUT /records/{id}` read the RRset and wrote it back
/// outside the zone's lock, so a record added to the same RRset at the same
/// moment could be silently deleted.
#[test]
fn record_put_never_drops_a_record_added_meanwhile() {
    const ADDERS: usize = 3;
    const ADDS: usize = 40;
    let s = std::sync::Arc::new(TestServer::with_zone());
    let first = s.post(
        "/v1/zones/example.com/records",
        &json!({"name": "race", "type": "A", "content": "10.9.0.1", "ttl": 60}),
    );
    assert_eq!(first.status, 201, "{}", first.body);
    // A record write reports the serial change, as RRset writes do.
    let (from, to) = (
        first.json()["serial_from"].as_u64(),
        first.json()["serial_to"].as_u64(),
    );
    assert!(from.is_some() && to > from, "{}", first.body);
    let mut id = first.json()["id"].as_i64().unwrap();
    let adders: Vec<_> = (0..ADDERS)
        .map(|c| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..ADDS {
                    let r = s.req_as(
                        ADMIN,
                        "POST",
                        "/v1/zones/example.com/records",
                        Some(&json!({"name": "race", "type": "A", "content": format!("10.{c}.1.{i}")})),
                    );
                    assert_eq!(r.status, 201, "{}", r.body);
                }
            })
        })
        .collect();
    // Meanwhile, keep moving the first record to new content.
    for i in 0..ADDS {
        let r = s.put(
            &format!("/v1/zones/example.com/records/{id}"),
            &json!({"name": "race", "type": "A", "content": format!("10.9.2.{i}")}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        id = r.json()["id"].as_i64().unwrap();
    }
    for h in adders {
        h.join().unwrap();
    }
    let set = s.get("/v1/zones/example.com/rrsets/race/A").json();
    let got: BTreeSet<String> = set["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    for c in 0..ADDERS {
        for i in 0..ADDS {
            assert!(
                got.contains(&format!("10.{c}.1.{i}")),
                "10.{c}.1.{i} was lost"
            );
        }
    }
    assert!(got.contains(&format!("10.9.2.{}", ADDS - 1)));
    assert_eq!(got.len(), ADDERS * ADDS + 1, "{got:?}");
    assert_eq!(set["ttl"], 60, "added records took the RRset's TTL");
}

/// Regression (issue 6): an RRset over the limit is refused naming the limit, and nothing changes.
#[test]
fn oversized_rrsets_are_refused_with_the_limit() {
    let s = TestServer::with_zone();
    let (serial0, journal0) = s.serial_and_journal("example.com.");
    let limit = zonecast_zone::Limits::DEFAULT_MAX_RRSET_RECORDS;
    let many: Vec<String> = (0..=limit)
        .map(|i| format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255))
        .collect();
    let r = s.put(
        "/v1/zones/example.com/rrsets/big/A",
        &json!({"ttl": 60, "records": many}),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.code(), "limit_exceeded");
    assert_eq!(r.field(), "edits[0].records");
    assert!(r.body.contains(&limit.to_string()), "{}", r.body);
    let r = s.patch(
        "/v1/zones/example.com/rrsets",
        &json!([{"name": "ok", "type": "A", "ttl": 60, "records": ["192.0.2.1"]},
                {"name": "big", "type": "A", "ttl": 60, "records": many}]),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.field(), "changes[1].records");
    assert_eq!(s.get("/v1/zones/example.com/rrsets/ok/A").status, 404);
    assert_eq!(s.serial_and_journal("example.com."), (serial0, journal0));
    // Exactly the limit is fine, and duplicates in a body count once.
    let mut at_limit: Vec<String> = many[..limit].to_vec();
    at_limit.extend(many[..limit].iter().cloned());
    let r = s.put(
        "/v1/zones/example.com/rrsets/big/A",
        &json!({"ttl": 60, "records": at_limit}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let got = s.get("/v1/zones/example.com/rrsets/big/A").json();
    assert_eq!(got["records"].as_array().unwrap().len(), limit);
    // One more record through the records endpoint is refused too.
    let r = s.post(
        "/v1/zones/example.com/records",
        &json!({"name": "big", "type": "A", "content": "192.0.2.250"}),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.code(), "limit_exceeded");
}
