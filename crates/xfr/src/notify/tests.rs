use super::*;
use std::sync::atomic::AtomicUsize;

fn zone() -> Name {
    "Example.COM.".parse().unwrap()
}

fn quick(tries: usize) -> NotifyConfig {
    NotifyConfig {
        timeouts: vec![Duration::from_millis(60); tries],
    }
}

/// A UDP peer that answers the `n`-th NOTIFY it gets (1-based) with
/// `rcode`, the ones before not at all; with `bad_id`, the first answer has a wrong ID.
async fn peer(answer_from: usize, rcode: u8, bad_id: bool) -> (SocketAddr, Arc<AtomicUsize>) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                return;
            };
            let k = count.fetch_add(1, Ordering::SeqCst) + 1;
            let m = Message::parse(&buf[..n]).unwrap();
            assert_eq!(m.header.opcode, OPCODE_NOTIFY);
            assert!(m.header.aa, "NOTIFY carries AA (RFC 1996 §3.7)");
            assert_eq!(m.questions[0].qtype, Rtype::SOA);
            if k < answer_from {
                continue;
            }
            let mut reply = buf[..n].to_vec();
            reply[2] |= 0x80; // QR
            reply[3] = (reply[3] & 0xf0) | rcode;
            if bad_id && k == answer_from {
                reply[0] ^= 0xff;
                let _ = sock.send_to(&reply, from).await;
                reply[0] ^= 0xff;
            }
            let _ = sock.send_to(&reply, from).await;
        }
    });
    (addr, seen)
}

async fn settled(n: &NotifyOut, target: SocketAddr) -> TargetStatus {
    for _ in 0..200 {
        if let Some(z) = n.status(&zone()) {
            let t = z.targets[&target].clone();
            if t.state != TargetState::Pending {
                return t;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("NOTIFY to {target} never settled");
}

#[tokio::test]
async fn acknowledged_at_the_first_try() {
    let (addr, seen) = peer(1, 0, false).await;
    let n = NotifyOut::new_here(quick(3));
    n.notify(&zone(), 7, &[addr], None);
    let t = settled(&n, addr).await;
    assert_eq!((t.state, t.attempts), (TargetState::Acknowledged, 1));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert_eq!(n.status(&zone()).unwrap().serial, 7);
    assert_eq!(n.stats().acknowledged.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn retried_until_answered_and_wrong_ids_ignored() {
    let (addr, seen) = peer(3, 0, true).await;
    let n = NotifyOut::new_here(quick(5));
    n.notify(&zone(), 8, &[addr], None);
    let t = settled(&n, addr).await;
    assert_eq!((t.state, t.attempts), (TargetState::Acknowledged, 3));
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert_eq!(n.stats().sent.load(Ordering::Relaxed), 3);
}

#[tokio::test]
async fn a_refusal_is_final() {
    let (addr, seen) = peer(1, 5, false).await;
    let n = NotifyOut::new_here(quick(5));
    n.notify(&zone(), 9, &[addr], None);
    let t = settled(&n, addr).await;
    assert_eq!(t.state, TargetState::Error("answered rcode REFUSED".into()));
    assert_eq!(seen.load(Ordering::SeqCst), 1, "not retried");
    assert_eq!(n.stats().failed.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn silence_fails_after_every_try() {
    let (addr, seen) = peer(usize::MAX, 0, false).await;
    let n = NotifyOut::new_here(quick(3));
    n.notify(&zone(), 10, &[addr], None);
    let t = settled(&n, addr).await;
    assert_eq!(
        t.state,
        TargetState::Error("no answer after 3 tries".into())
    );
    assert_eq!((t.attempts, seen.load(Ordering::SeqCst)), (3, 3));
}

#[tokio::test]
async fn a_newer_serial_replaces_a_delivery_in_progress() {
    let (silent, _) = peer(usize::MAX, 0, false).await;
    let (good, _) = peer(1, 0, false).await;
    let n = NotifyOut::new_here(quick(20));
    n.notify(&zone(), 11, &[silent, good], None);
    tokio::time::sleep(Duration::from_millis(30)).await;
    n.notify(&zone(), 12, &[good], None);
    let t = settled(&n, good).await;
    assert_eq!(t.state, TargetState::Acknowledged);
    let z = n.status(&zone()).unwrap();
    assert_eq!(z.serial, 12);
    assert_eq!(z.targets.len(), 1, "the status is of the last NOTIFY only");
    // Nothing without targets.
    n.notify(&zone(), 13, &[], None);
    assert_eq!(n.status(&zone()).unwrap().serial, 12);
}

impl NotifyOut {
    fn new_here(config: NotifyConfig) -> NotifyOut {
        NotifyOut::new(config, tokio::runtime::Handle::current())
    }
}

/// A signed NOTIFY: the peer verifies our signature and signs its answer;
/// an unsigned answer to a signed NOTIFY does not count.
#[tokio::test]
async fn signed_notify_needs_a_signed_answer() {
    use zonecast_proto::tsig::{verify_request, ResponseSigner};
    let key = Key::new("notify-key", "hmac-sha256", b"0123456789abcdef".to_vec()).unwrap();
    for sign_answer in [true, false] {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = sock.local_addr().unwrap();
        let k = key.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let (n, from) = sock.recv_from(&mut buf).await.unwrap();
            let v = verify_request(
                &buf[..n],
                |name| (*name == k.name).then(|| k.clone()),
                unix_now(),
            )
            .expect("our NOTIFY verifies")
            .expect("and is signed");
            let mut reply = buf[..n].to_vec();
            // The answer: the request's header and question only, QR set.
            let m = Message::parse(&reply).unwrap();
            let mut plain = build_query(m.header.id, &m.questions[0].qname, Rtype::SOA, None);
            plain[2] = (OPCODE_NOTIFY << 3) | 0x84;
            reply.clear();
            reply.extend_from_slice(&plain);
            if sign_answer {
                ResponseSigner::new(&v)
                    .sign(&mut reply, unix_now())
                    .unwrap();
            }
            sock.send_to(&reply, from).await.unwrap();
        });
        let k = key.clone();
        let n = NotifyOut::new_here(quick(1)).with_keys(Arc::new(move |name: &str| {
            (name == "notify-key").then(|| k.clone())
        }));
        n.notify(&zone(), 21, &[addr], Some("notify-key"));
        let t = settled(&n, addr).await;
        if sign_answer {
            assert_eq!(t.state, TargetState::Acknowledged);
        } else {
            assert!(
                matches!(&t.state, TargetState::Error(e) if e.contains("not signed")),
                "{t:?}"
            );
        }
    }
    // An unknown key fails the delivery without sending.
    let (addr, seen) = peer(1, 0, false).await;
    let n = NotifyOut::new_here(quick(1));
    n.notify(&zone(), 22, &[addr], Some("missing"));
    let t = settled(&n, addr).await;
    assert_eq!(
        t.state,
        TargetState::Error("TSIG key 'missing' not found".into())
    );
    assert_eq!(seen.load(Ordering::SeqCst), 0);
}
