//! Response rate limiting end to end (crates/server/src/rrl.rs): a burst of
//! UDP queries from one /24 gets `rate` answers a second, every other one
//! over the rate truncated (slip 2) and the rest dropped; other prefixes,
//! exempt networks and TCP are not limited; `/metrics` counts it all.
//!
//! The readiness probe of the harness asks from 127.0.0.1, so the bursts
//! come from other /24s of 127/8 (all local on Linux).

pub mod common;

use common::{query_tcp, TempDir, Zonecast};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::{Name, Rtype};

const TOKEN: &str = "rrl-token";
const ZONE: &str =
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 3600 900 604800 60\n@ NS ns1\n\
    ns1 A 192.0.2.1\nwww A 192.0.2.10\n";

fn start(extra: &[&str]) -> (Zonecast, TempDir) {
    let dir = TempDir::new("rrl");
    let file = dir.path().join("example.com.zone");
    std::fs::write(&file, ZONE).unwrap();
    let mut args: Vec<String> = vec![
        "--zone-file".into(),
        file.display().to_string(),
        "--api-token".into(),
        TOKEN.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    (Zonecast::start_with_args(&args), dir)
}

/// What a burst got back.
#[derive(Debug, Default, PartialEq)]
struct Tally {
    full: usize,
    truncated: usize,
    missing: usize,
}

/// Sends `n` queries for `name` from `from` as fast as it can, then
/// collects the answers for 500 ms.
fn burst(server: SocketAddr, from: &str, name: &str, n: usize) -> Tally {
    let sock = UdpSocket::bind((from, 0)).unwrap();
    let qname: Name = name.parse().unwrap();
    for i in 0..n {
        let q = build_query(i as u16, &qname, Rtype::A, None);
        sock.send_to(&q, server).unwrap();
    }
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut t = Tally::default();
    let mut buf = [0u8; 2048];
    let end = Instant::now() + Duration::from_millis(500);
    let mut got = 0;
    while got < n && Instant::now() < end {
        let Ok(len) = sock.recv(&mut buf) else {
            continue;
        };
        let m = Message::parse(&buf[..len]).expect("answers parse");
        got += 1;
        if m.header.tc {
            assert!(m.answer.is_empty() && m.authority.is_empty(), "{m:?}");
            assert_eq!(m.questions.len(), 1, "a slip keeps the question");
            t.truncated += 1;
        } else {
            assert_eq!(m.answer.len(), 1, "{m:?}");
            t.full += 1;
        }
    }
    t.missing = n - got;
    t
}

fn metric(z: &Zonecast, name: &str) -> u64 {
    let (code, text) =
        common::curl_api(z.api_addr().unwrap(), TOKEN, z.dir(), "GET", "/metrics", "");
    assert_eq!(code, 200, "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
}

#[test]
fn answers_over_the_rate_are_truncated_or_dropped_per_prefix() {
    let (z, _dir) = start(&["--rrl-rate", "10", "--rrl-slip", "2"]);
    let t = burst(z.addr(), "127.0.9.1", "www.example.com.", 60);
    // The burst may straddle a second: 10 or 20 full answers.
    assert!((10..=20).contains(&t.full), "{t:?}");
    let over = 60 - t.full;
    assert!(
        t.truncated.abs_diff(over / 2) <= 1,
        "every other one over the rate slips: {t:?}"
    );
    assert_eq!(t.full + t.truncated + t.missing, 60);
    // The same /24 from another address is limited too; another /24 is not.
    let same = burst(z.addr(), "127.0.9.200", "www.example.com.", 5);
    assert!(same.full < 5, "{same:?}");
    let other = burst(z.addr(), "127.0.10.1", "www.example.com.", 5);
    assert_eq!(other.full, 5, "{other:?}");
    // TCP is never limited.
    let q = build_query(7, &"www.example.com.".parse().unwrap(), Rtype::A, None);
    for _ in 0..20 {
        let m = Message::parse(&query_tcp(z.addr(), &q)).unwrap();
        assert_eq!((m.header.tc, m.answer.len()), (false, 1));
    }
    assert!(metric(&z, "zonecast_rrl_dropped_total") >= t.missing as u64);
    assert!(metric(&z, "zonecast_rrl_slipped_total") >= t.truncated as u64);
    assert!(
        z.log_text().contains("response rate limiting"),
        "a log line when hit"
    );
}

#[test]
fn nxdomain_floods_share_one_bucket_per_zone() {
    let (z, _dir) = start(&["--rrl-rate", "5", "--rrl-slip", "0"]);
    let sock = UdpSocket::bind(("127.0.12.1", 0)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    for i in 0..40u16 {
        let name: Name = format!("r{i}.example.com.").parse().unwrap();
        sock.send_to(&build_query(i, &name, Rtype::A, None), z.addr())
            .unwrap();
    }
    let mut buf = [0u8; 2048];
    let mut answered = 0;
    while let Ok(len) = sock.recv(&mut buf) {
        let m = Message::parse(&buf[..len]).unwrap();
        assert_eq!(m.rcode(), 3);
        answered += 1;
    }
    assert!(
        (5..=10).contains(&answered),
        "random names: {answered} NXDOMAIN answers"
    );
}

#[test]
fn exempt_networks_and_rrl_off_answer_everything() {
    let (z, _dir) = start(&["--rrl-rate", "5", "--rrl-exempt", "127.0.13.0/24"]);
    let t = burst(z.addr(), "127.0.13.7", "www.example.com.", 40);
    assert_eq!(t.full, 40, "{t:?}");
    assert_eq!(metric(&z, "zonecast_rrl_dropped_total"), 0);
    let (off, _dir) = start(&[]);
    let t = burst(off.addr(), "127.0.14.7", "www.example.com.", 40);
    assert_eq!(t.full, 40, "RRL is off by default: {t:?}");
    assert_eq!(
        metric(&off, "zonecast_rrl_dropped_total"),
        0,
        "the series exists when off"
    );
}

/// `zonecast serve ARGS` fails at once; its stderr.
fn refused(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zonecast"))
        .arg("serve")
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} accepted");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_rrl_flags_are_refused_with_the_flag_named() {
    let err = refused(&["--rrl-rate", "70000"]);
    assert!(err.contains("--rrl-rate"), "{err}");
    let err = refused(&["--rrl-exempt", "10.0.0.0/99"]);
    assert!(err.contains("10.0.0.0/99"), "{err}");
}
