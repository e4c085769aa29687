//! The malformed-message battery: every packet gets FORMERR or no answer
//! (never a crash), zonecast agrees with knotd on which, and the server keeps
//! answering afterwards. Plus TCP framing abuse: short, cut and oversized
//! frames close the connection and nothing else.

pub mod common;

use common::{query_tcp, query_udp, query_udp_once, Knot, TcpConn, Zonecast};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::{Name, Rtype};

fn zone() -> (Name, PathBuf) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/example.com.zone");
    ("example.com.".parse().unwrap(), path)
}

fn name(n: &str) -> Vec<u8> {
    n.parse::<Name>().unwrap().as_wire().to_vec()
}

fn header(id: u16, flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
    [id, flags, qd, an, ns, ar]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect()
}

const OPT: [u8; 11] = [0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0];

/// (label, packet): the battery. Every packet has ID 0x5151.
fn battery() -> Vec<(&'static str, Vec<u8>)> {
    let q = |rest: &[u8]| {
        let mut v = name("www.example.com.");
        v.extend_from_slice(&[0, 1, 0, 1]);
        v.extend_from_slice(rest);
        v
    };
    let cat = |a: Vec<u8>, b: Vec<u8>| [a, b].concat();
    let good = cat(header(0x5151, 0, 1, 0, 0, 1), q(&OPT));
    vec![
        ("empty", vec![]),
        ("one octet", vec![0x51]),
        ("header cut at 11", good[..11].to_vec()),
        ("header only", cat(header(0x5151, 0, 1, 0, 0, 0), vec![])),
        ("question cut in the name", good[..16].to_vec()),
        (
            "question cut in type/class",
            good[..good.len() - 11 - 2].to_vec(),
        ),
        (
            "compression loop in question",
            cat(header(0x5151, 0, 1, 0, 0, 0), vec![0xc0, 12, 0, 1, 0, 1]),
        ),
        (
            "pointer past the end",
            cat(header(0x5151, 0, 1, 0, 0, 0), vec![0xc0, 0xff, 0, 1, 0, 1]),
        ),
        (
            "label length past the end",
            cat(header(0x5151, 0, 1, 0, 0, 0), vec![0x3f, b'a', 0, 1, 0, 1]),
        ),
        (
            "label longer than 63",
            cat(
                header(0x5151, 0, 1, 0, 0, 0),
                [vec![64], vec![b'a'; 64], vec![0, 0, 1, 0, 1]].concat(),
            ),
        ),
        (
            "reserved label type",
            cat(
                header(0x5151, 0, 1, 0, 0, 0),
                vec![0x80, b'a', 0, 0, 1, 0, 1],
            ),
        ),
        (
            "ARCOUNT larger than the message",
            cat(header(0x5151, 0, 1, 0, 0, 3), q(&OPT)),
        ),
        (
            "ANCOUNT larger than the message",
            cat(header(0x5151, 0, 1, 4, 0, 0), q(&[])),
        ),
        (
            "OPT in the answer section",
            cat(header(0x5151, 0, 1, 1, 0, 0), q(&OPT)),
        ),
        (
            "OPT in the authority section",
            cat(header(0x5151, 0, 1, 0, 1, 0), q(&OPT)),
        ),
        (
            "two OPT records",
            cat(header(0x5151, 0, 1, 0, 0, 2), q(&[OPT, OPT].concat())),
        ),
        (
            "OPT rdata overruns",
            cat(
                header(0x5151, 0, 1, 0, 0, 1),
                q(&[0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 9, 0, 10, 0, 8, 1]),
            ),
        ),
        (
            "trailing garbage",
            cat(header(0x5151, 0, 1, 0, 0, 0), q(b"junk")),
        ),
        ("no question", header(0x5151, 0, 0, 0, 0, 0)),
        (
            "two questions",
            cat(header(0x5151, 0, 2, 0, 0, 0), [q(&[]), q(&[])].concat()),
        ),
        (
            "a response (QR set)",
            cat(header(0x5151, 0x8000, 1, 0, 0, 0), q(&[])),
        ),
        (
            "compression pointer in an additional owner past the end",
            cat(
                header(0x5151, 0, 1, 0, 0, 1),
                q(&[0xc0, 0xfe, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]),
            ),
        ),
    ]
}

/// Sends `pkt` and returns the rcode, or None when there is no answer (checked twice, 700 ms each).
fn outcome(addr: SocketAddr, pkt: &[u8]) -> Option<u16> {
    let r = query_udp_once(addr, pkt, Duration::from_millis(700))
        .or_else(|| query_udp_once(addr, pkt, Duration::from_millis(700)))?;
    assert!(r.len() >= 12, "answer shorter than a header: {r:02x?}");
    assert_eq!(&r[..2], &[0x51, 0x51], "answer with another ID");
    Some(u16::from(r[3] & 0x0f))
}

fn still_answers(addr: SocketAddr) {
    let q = build_query(7, &"www.example.com.".parse().unwrap(), Rtype::A, None);
    let r = query_udp(addr, &q).expect("server still answers after the battery");
    let m = Message::parse(&r).unwrap();
    assert_eq!(m.rcode(), 0);
    assert!(!m.answer.is_empty());
}

#[test]
fn malformed_udp_battery_matches_knot() {
    let z = zone();
    let knot = Knot::start(std::slice::from_ref(&z));
    let zc = Zonecast::start(std::slice::from_ref(&z.1));
    let mut failures = Vec::new();
    for (label, pkt) in battery() {
        let ours = outcome(zc.addr(), &pkt);
        let theirs = outcome(knot.addr(), &pkt);
        if let Some(rc) = ours {
            if rc != 1 {
                failures.push(format!(
                    "{label}: zonecast answered rcode {rc}, expected FORMERR or silence"
                ));
            }
        }
        if ours != theirs {
            failures.push(format!(
                "{label}: zonecast {ours:?}, knotd {theirs:?} (None = no answer)"
            ));
        }
    }
    still_answers(zc.addr());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn tcp_framing_abuse_closes_the_connection_only() {
    let z = zone();
    let zc = Zonecast::start(&[z.1]);
    let addr = zc.addr();
    let closed = |mut s: TcpStream| {
        s.set_read_timeout(Some(Duration::from_secs(12))).unwrap();
        let mut buf = [0u8; 64];
        matches!(s.read(&mut buf), Ok(0) | Err(_))
    };
    // A frame shorter than a header.
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(&[0, 3, 1, 2, 3]).unwrap();
    assert!(closed(s), "short frame: connection not closed");
    // A frame announced longer than what is sent, then the client half-closes.
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(&[0xff, 0xff, 1, 2, 3, 4]).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(closed(s), "cut frame: connection not closed");
    // A query whose question can't be parsed.
    let mut s = TcpStream::connect(addr).unwrap();
    let bad = [header(1, 0, 1, 0, 0, 0), vec![0xc0, 12, 0, 1, 0, 1]].concat();
    s.write_all(&[&(bad.len() as u16).to_be_bytes()[..], &bad].concat())
        .unwrap();
    assert!(closed(s), "unparseable question: connection not closed");
    // Several queries on one connection still work, and so does the server.
    let mut c = TcpConn::connect(addr).unwrap();
    for id in 0..5u16 {
        let q = build_query(id, &"www.example.com.".parse().unwrap(), Rtype::A, None);
        let r = c.exchange(&q).unwrap();
        assert_eq!(Message::parse(&r).unwrap().header.id, id);
    }
    let q = build_query(9, &"example.com.".parse().unwrap(), Rtype::SOA, None);
    assert_eq!(
        Message::parse(&query_tcp(addr, &q)).unwrap().answer.len(),
        1
    );
    still_answers(addr);
}
