//! The UDP listener: answers from the address asked on a wildcard bind,
//! IPv6-only sockets, a failed worker restarted, counters.

use super::*;
use crate::{NotifySink, NotifyVerdict};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zonecast_proto::message::build_query;
use zonecast_proto::{Name, Rtype};
use zonecast_zone::{Zone, ZoneSet};

fn zones() -> SharedZones {
    let origin: Name = "example.com.".parse().unwrap();
    let text = "$TTL 300\n@ SOA ns1 host 7 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n";
    let data = zonecast_zonefile::load_str(text, &origin, "t").unwrap();
    let set = ZoneSet::new().with_zone(Arc::new(Zone::build(&origin, &data.records).unwrap()));
    zonecast_zone::Zones::from_set(set)
}

fn soa_query(id: u16) -> Vec<u8> {
    build_query(id, &"example.com.".parse().unwrap(), Rtype::SOA, None)
}

/// Sends a query from `from` to `to`; the answer and the address it came from.
fn ask(from: &str, to: SocketAddr, wire: &[u8]) -> Option<(Vec<u8>, SocketAddr)> {
    let c = UdpSocket::bind(from).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    c.send_to(wire, to).unwrap();
    let mut buf = [0u8; 4096];
    let (n, src) = c.recv_from(&mut buf).ok()?;
    Some((buf[..n].to_vec(), src))
}

#[test]
fn a_wildcard_bind_answers_from_the_address_asked() {
    let (bound, _) = spawn("0.0.0.0:0".parse().unwrap(), 2, zones()).unwrap();
    for dst in ["127.0.0.2", "127.0.0.1", "127.1.2.3"] {
        let to = SocketAddr::new(dst.parse().unwrap(), bound.port());
        let (answer, src) = ask("127.0.0.1:0", to, &soa_query(7)).expect("an answer");
        assert_eq!(
            src, to,
            "the answer to a query sent to {to} came from {src}"
        );
        assert_eq!(&answer[..2], &[0, 7]);
    }
}

#[test]
fn an_ipv6_wildcard_bind_answers_and_takes_ipv6_only() {
    let (bound, _) = spawn("[::]:0".parse().unwrap(), 1, zones()).unwrap();
    let to: SocketAddr = format!("[::1]:{}", bound.port()).parse().unwrap();
    let (_, src) = ask("[::1]:0", to, &soa_query(9)).expect("an answer over IPv6");
    assert_eq!(src, to);
    let (sock, pktinfo) = crate::sockopt::udp("[::]:0".parse().unwrap()).unwrap();
    assert!(pktinfo && crate::sockopt::only_v6(&sock));
    // The TCP listener's socket has the same option.
    let tcp = crate::sockopt::tcp("[::]:0".parse().unwrap()).unwrap();
    assert!(crate::sockopt::only_v6(&tcp));
}

#[test]
fn a_specific_bind_reports_no_pktinfo() {
    let (_, pktinfo) = crate::sockopt::udp("127.0.0.1:0".parse().unwrap()).unwrap();
    assert!(!pktinfo);
}

/// A NOTIFY sink that panics on its first call, as a bug in the pipeline would.
#[derive(Default)]
struct PanicOnce(AtomicBool);

impl NotifySink for PanicOnce {
    fn notify(
        &self,
        _: &Name,
        _: bool,
        _: SocketAddr,
        _: Option<&Name>,
        _: Option<u32>,
    ) -> NotifyVerdict {
        if !self.0.swap(true, Ordering::SeqCst) {
            panic!("injected fault in a UDP worker");
        }
        NotifyVerdict::Accepted
    }
}

#[test]
fn a_failed_worker_is_restarted() {
    let service = Service {
        notify: Some(Arc::new(PanicOnce::default())),
        ..Service::default()
    };
    let stats = service.udp.clone();
    // One worker: if it were not restarted, nothing would answer any more.
    let (bound, _) = spawn_with("127.0.0.1:0".parse().unwrap(), 1, zones(), service).unwrap();
    let mut notify = soa_query(11);
    notify[2] = (notify[2] & 0x87) | (4 << 3) | 0x04;
    assert!(
        ask("127.0.0.1:0", bound, &notify).is_none(),
        "the worker died on it"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let answer = loop {
        if let Some((a, _)) = ask("127.0.0.1:0", bound, &soa_query(12)) {
            break a;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no answer after the failure"
        );
    };
    assert_eq!(&answer[..2], &[0, 12]);
    assert_eq!(stats.restarts(), 1);
    // The next NOTIFY is handled normally.
    notify[1] = 13;
    let (a, _) = ask("127.0.0.1:0", bound, &notify).expect("a NOTIFY answer");
    assert_eq!(a[3] & 0x0f, 0, "NOERROR");
}

#[test]
fn junk_is_counted() {
    let service = Service::default();
    let stats = service.udp.clone();
    let (bound, _) = spawn_with("127.0.0.1:0".parse().unwrap(), 1, zones(), service).unwrap();
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    // Shorter than a header, a response (QR set), too large: no answer.
    c.send_to(&[1, 2, 3], bound).unwrap();
    let mut response = soa_query(1);
    response[2] |= 0x80;
    c.send_to(&response, bound).unwrap();
    c.send_to(&vec![0u8; RECV_SIZE + 100], bound).unwrap();
    // A query without a question: FORMERR.
    let mut bad = soa_query(2);
    bad.truncate(12);
    bad[5] = 0;
    c.send_to(&bad, bound).unwrap();
    let mut buf = [0u8; 512];
    let (n, _) = c.recv_from(&mut buf).expect("a FORMERR answer");
    assert_eq!(
        (&buf[..2], buf[3] & 0x0f),
        (&[0u8, 2][..], 1),
        "{:?}",
        &buf[..n]
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while stats.received() < 4 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        (
            stats.received(),
            stats.unanswered(),
            stats.oversize(),
            stats.formerr()
        ),
        (4, 3, 1, 1)
    );
}
