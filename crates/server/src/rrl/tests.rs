use super::*;
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::Name;

fn rrl(rate: u32, slip: u32) -> Rrl {
    Rrl::new(RrlConfig {
        rate,
        slip,
        ..RrlConfig::default()
    })
    .unwrap()
}

fn wire(name: &str) -> Vec<u8> {
    name.parse::<Name>().unwrap().as_wire().to_vec()
}

const ANSWER: Answered = Answered {
    outcome: Some(Outcome::Answer),
    apex_len: 13,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The actions of `n` answers at second `now`.
fn run(r: &Rrl, peer: &str, qname: &str, a: &Answered, n: usize, now: u32) -> Vec<Action> {
    let q = wire(qname);
    (0..n).map(|_| r.check(ip(peer), &q, 1, a, now)).collect()
}

#[test]
fn off_at_rate_zero() {
    assert!(Rrl::new(RrlConfig::default()).is_none());
}

#[test]
fn rate_answers_a_second_then_every_second_one_slips() {
    let r = rrl(5, 2);
    let acts = run(&r, "192.0.2.1", "www.example.com.", &ANSWER, 11, 0);
    assert_eq!(&acts[..5], &[Action::Send; 5]);
    use Action::{Drop, Slip};
    assert_eq!(&acts[5..], &[Slip, Drop, Slip, Drop, Slip, Drop]);
    // The next second refills the bucket: `rate` more, not more.
    let acts = run(&r, "192.0.2.1", "www.example.com.", &ANSWER, 6, 1);
    assert_eq!(acts.iter().filter(|a| **a == Action::Send).count(), 5);
    // After a long pause the bucket is full again, never fuller.
    let acts = run(&r, "192.0.2.1", "www.example.com.", &ANSWER, 6, 100);
    assert_eq!(acts.iter().filter(|a| **a == Action::Send).count(), 5);
}

#[test]
fn slip_zero_drops_all_and_slip_one_truncates_all() {
    let r = rrl(1, 0);
    assert_eq!(
        run(&r, "192.0.2.1", "a.example.com.", &ANSWER, 4, 0)[1..],
        [Action::Drop; 3]
    );
    let r = rrl(1, 1);
    assert_eq!(
        run(&r, "192.0.2.1", "a.example.com.", &ANSWER, 4, 0)[1..],
        [Action::Slip; 3]
    );
}

#[test]
fn one_prefix_is_one_source_and_others_are_apart() {
    let r = rrl(2, 0);
    let sent = |peer: &str| run(&r, peer, "www.example.com.", &ANSWER, 1, 0)[0] == Action::Send;
    assert!(
        sent("192.0.2.1") && sent("192.0.2.200"),
        "two of 192.0.2.0/24"
    );
    assert!(!sent("192.0.2.77"), "the /24 has spent its rate");
    assert!(!sent("::ffff:192.0.2.9"), "IPv4-mapped is the same source");
    assert!(sent("192.0.3.1"), "another /24");
    assert!(sent("2001:db8:0:100::1") && sent("2001:db8:0:1ff::2"));
    assert!(!sent("2001:db8:0:180::3"), "the /56 has spent its rate");
    assert!(sent("2001:db8:0:200::1"), "another /56");
}

#[test]
fn nxdomain_shares_a_bucket_per_zone_answers_have_one_per_name() {
    let r = rrl(3, 0);
    let nx = Answered {
        outcome: Some(Outcome::NxDomain),
        apex_len: 13, // example.com.
    };
    let sends =
        |qname: &str, a: &Answered| run(&r, "198.51.100.1", qname, a, 1, 0)[0] == Action::Send;
    let random: Vec<bool> = (0..6)
        .map(|i| sends(&format!("x{i}.example.com."), &nx))
        .collect();
    assert_eq!(
        random,
        [true, true, true, false, false, false],
        "water torture"
    );
    // Positive answers for many names are not limited by each other.
    assert!((0..6).all(|i| sends(&format!("h{i}.example.com."), &ANSWER)));
    // NODATA of one name and type is its own bucket.
    let nodata = Answered {
        outcome: Some(Outcome::NoData),
        apex_len: 13,
    };
    assert!(sends("h0.example.com.", &nodata));
    // Errors share one bucket per prefix whatever the name.
    let err = Answered::default();
    let errs: Vec<bool> = (0..4)
        .map(|i| sends(&format!("e{i}.other."), &err))
        .collect();
    assert_eq!(errs, [true, true, true, false]);
}

#[test]
fn exempt_networks_are_never_limited() {
    let r = Rrl::new(RrlConfig {
        rate: 1,
        slip: 0,
        exempt: vec![Network::parse("192.0.2.0/28").unwrap()],
        ..RrlConfig::default()
    })
    .unwrap();
    assert!(run(&r, "192.0.2.5", "www.example.com.", &ANSWER, 50, 0)
        .iter()
        .all(|a| *a == Action::Send));
    let outside = run(&r, "192.0.2.20", "www.example.com.", &ANSWER, 3, 0);
    assert_eq!(outside, [Action::Send, Action::Drop, Action::Drop]);
}

#[test]
fn two_threads_share_each_bucket_exactly() {
    let r = std::sync::Arc::new(rrl(1000, 0));
    let q = wire("www.example.com.");
    let sent: usize = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let r = r.clone();
                let q = q.clone();
                s.spawn(move || {
                    (0..5000)
                        .filter(|_| r.check(ip("192.0.2.1"), &q, 1, &ANSWER, 7) == Action::Send)
                        .count()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(sent, 1000);
}

#[test]
fn counts_reach_the_samples() {
    let r = rrl(1, 2);
    r.count(3, 2);
    r.count(0, 0);
    let s = samples(Some(&r));
    assert_eq!((s[0].0, s[0].3), ("zonecast_rrl_dropped_total", 3));
    assert_eq!((s[1].0, s[1].3), ("zonecast_rrl_slipped_total", 2));
}

#[test]
fn truncate_keeps_header_and_question_and_sets_tc() {
    let q = build_query(
        0x1234,
        &"www.example.com.".parse().unwrap(),
        zonecast_proto::Rtype::A,
        Some(1232),
    );
    // A stand-in answer: the query with QR, an answer count and junk after the question.
    let mut out = q.clone();
    out[2] |= 0x80;
    out[7] = 1;
    out.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    let question_end = 12 + wire("www.example.com.").len() + 4;
    let n = truncate(&mut out, q.len() + 16, question_end);
    let m = Message::parse(&out[..n]).unwrap();
    assert!(m.header.tc && m.header.qr);
    assert_eq!(m.header.id, 0x1234);
    assert_eq!(m.questions.len(), 1);
    assert!(m.answer.is_empty() && m.authority.is_empty() && m.additional.is_empty());
    // A message without a question keeps its header only.
    let mut bare = vec![0u8; 12];
    bare[2] = 0x80;
    assert_eq!(truncate(&mut bare, 12, 40), 12);
}
