use super::*;
use zonecast_proto::message::write_records_uncompressed;

fn zone() -> Name {
    "example.com.".parse().unwrap()
}

fn rec(text: &str) -> Record {
    let mut parts = text.splitn(3, ' ');
    let (owner, rtype, rdata) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let origin = zone();
    let owner = if owner == "@" {
        origin.clone()
    } else {
        Name::from_presentation(owner, Some(&origin)).unwrap()
    };
    let rtype = Rtype::from_text(rtype).unwrap();
    let rdata = zonecast_zonefile::parse_rdata(rtype, rdata, &origin).unwrap();
    Record {
        owner,
        rtype,
        class: Class::IN,
        ttl: 300,
        rdata: rdata.into(),
    }
}

fn soa(serial: u32) -> Record {
    rec(&format!("@ SOA ns1 host {serial} 3600 600 604800 300"))
}

/// A response message: ID 7, QR, the question, these answers.
fn msg(qtype: Rtype, question: bool, answers: &[Record]) -> Vec<u8> {
    let mut m = vec![
        0,
        7,
        0x84,
        0,
        0,
        question as u8,
        0,
        answers.len() as u8,
        0,
        0,
        0,
        0,
    ];
    if question {
        m.extend_from_slice(zone().as_wire());
        m.extend_from_slice(&qtype.0.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
    }
    write_records_uncompressed(answers, &mut m);
    m
}

fn read(ask: Ask, messages: &[Vec<u8>]) -> Result<Received, ReadError> {
    let mut r = TransferReader::new(&zone(), ask, 7, 1000);
    for (i, m) in messages.iter().enumerate() {
        let done = r.feed(m)?;
        if done && i + 1 < messages.len() {
            return Err(ReadError::Sequence("done early".into()));
        }
    }
    r.finish()
}

#[test]
fn an_axfr_over_several_messages_is_read_whole() {
    let a = rec("www A 192.0.2.1");
    let b = rec("mail A 192.0.2.2");
    let got = read(
        Ask::Axfr,
        &[
            msg(Rtype::AXFR, true, &[soa(5), a.clone()]),
            msg(Rtype::AXFR, false, &[b.clone(), soa(5)]),
        ],
    )
    .unwrap();
    assert_eq!(
        got,
        Received::Full {
            records: vec![soa(5), a, b]
        }
    );
    assert_eq!(got.serial(), Some(5));
}

#[test]
fn an_incremental_ixfr_gives_each_change_in_order() {
    let a = rec("www A 192.0.2.1");
    let b = rec("www A 192.0.2.2");
    let c = rec("new A 192.0.2.3");
    let got = read(
        Ask::Ixfr { serial: 1 },
        &[msg(
            Rtype::IXFR,
            true,
            &[
                soa(3),
                soa(1),
                a.clone(),
                soa(2),
                b.clone(),
                soa(2),
                soa(3),
                c.clone(),
                soa(3),
            ],
        )],
    )
    .unwrap();
    let Received::Incremental { deltas } = got else {
        panic!("{got:?}")
    };
    assert_eq!(deltas.len(), 2);
    assert_eq!((deltas[0].from, deltas[0].to), (1, 2));
    assert_eq!(deltas[0].removed, vec![soa(1), a]);
    assert_eq!(deltas[0].added, vec![soa(2), b]);
    assert_eq!((deltas[1].from, deltas[1].to), (2, 3));
    assert_eq!(deltas[1].removed, vec![soa(2)]);
    assert_eq!(deltas[1].added, vec![soa(3), c]);
}

#[test]
fn ixfr_answered_axfr_style_and_the_single_soa() {
    let a = rec("www A 192.0.2.1");
    let got = read(
        Ask::Ixfr { serial: 1 },
        &[msg(Rtype::IXFR, true, &[soa(4), a.clone(), soa(4)])],
    )
    .unwrap();
    assert_eq!(
        got,
        Received::Full {
            records: vec![soa(4), a]
        }
    );
    let got = read(
        Ask::Ixfr { serial: 4 },
        &[msg(Rtype::IXFR, true, &[soa(4)])],
    )
    .unwrap();
    assert_eq!(got, Received::UpToDate { serial: 4 });
    // A newer lone SOA is not "up to date": the transfer goes on (one record per message).
    let mut r = TransferReader::new(&zone(), Ask::Ixfr { serial: 1 }, 7, 100);
    assert!(!r.feed(&msg(Rtype::IXFR, true, &[soa(4)])).unwrap());
    assert!(matches!(r.finish(), Err(ReadError::Incomplete(1))));
}

#[test]
fn broken_sequences_are_refused_with_the_reason() {
    let a = rec("www A 192.0.2.1");
    // The first change does not start at our serial.
    let e = read(
        Ask::Ixfr { serial: 1 },
        &[msg(Rtype::IXFR, true, &[soa(3), soa(2), soa(3), soa(3)])],
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("starts from serial 2, ours is 1"),
        "{e}"
    );
    // The changes do not chain.
    let e = read(
        Ask::Ixfr { serial: 1 },
        &[msg(
            Rtype::IXFR,
            true,
            &[soa(5), soa(1), soa(2), soa(3), soa(5), soa(5)],
        )],
    )
    .unwrap_err();
    assert!(e.to_string().contains("previous one ended at 2"), "{e}");
    // An AXFR whose last SOA differs from its first.
    let e = read(
        Ask::Axfr,
        &[msg(Rtype::AXFR, true, &[soa(5), a.clone(), soa(6)])],
    )
    .unwrap_err();
    assert!(matches!(e, ReadError::Sequence(_)), "{e}");
    // Not starting with the SOA.
    let e = read(Ask::Axfr, &[msg(Rtype::AXFR, true, &[a.clone(), soa(6)])]).unwrap_err();
    assert!(e.to_string().contains("not the zone's SOA"), "{e}");
    // Records after the end.
    let mut r = TransferReader::new(&zone(), Ask::Axfr, 7, 100);
    assert!(r.feed(&msg(Rtype::AXFR, true, &[soa(5), soa(5)])).unwrap());
    assert!(r.feed(&msg(Rtype::AXFR, false, &[a])).is_err());
}

#[test]
fn foreign_records_wrong_zones_rcodes_and_limits_are_refused() {
    let outside = Record {
        owner: "www.example.net.".parse().unwrap(),
        ..rec("www A 192.0.2.1")
    };
    let e = read(
        Ask::Axfr,
        &[msg(Rtype::AXFR, true, &[soa(5), outside, soa(5)])],
    )
    .unwrap_err();
    assert!(e.to_string().contains("outside the zone"), "{e}");
    let chaos = Record {
        class: zonecast_proto::Class::CH,
        ..rec("www A 192.0.2.1")
    };
    let e = read(
        Ask::Axfr,
        &[msg(Rtype::AXFR, true, &[soa(5), chaos, soa(5)])],
    )
    .unwrap_err();
    assert!(e.to_string().contains("only IN"), "{e}");
    // The question names another zone.
    let mut m = msg(Rtype::AXFR, true, &[soa(5), soa(5)]);
    let other: Name = "example.org.".parse().unwrap();
    m.splice(12..12 + zone().wire_len(), other.as_wire().iter().copied());
    let e = read(Ask::Axfr, &[m]).unwrap_err();
    assert!(
        e.to_string().contains("the answer is for example.org."),
        "{e}"
    );
    // An error rcode.
    let mut m = msg(Rtype::AXFR, true, &[]);
    m[3] = 5;
    assert_eq!(read(Ask::Axfr, &[m]).unwrap_err(), ReadError::Rcode(5));
    // Another ID.
    let mut m = msg(Rtype::AXFR, true, &[soa(5), soa(5)]);
    m[1] = 8;
    assert!(matches!(
        read(Ask::Axfr, &[m]).unwrap_err(),
        ReadError::NotOurs(_)
    ));
    // Garbage.
    assert!(matches!(
        read(Ask::Axfr, &[vec![1, 2, 3]]).unwrap_err(),
        ReadError::Malformed(_)
    ));
    // The size limit.
    let mut r = TransferReader::new(&zone(), Ask::Axfr, 7, 2);
    let e = r
        .feed(&msg(
            Rtype::AXFR,
            true,
            &[soa(5), rec("a A 192.0.2.1"), rec("b A 192.0.2.2")],
        ))
        .unwrap_err();
    assert_eq!(e, ReadError::TooLarge(2));
    // A zone of exactly the limit is taken: its closing SOA is not counted.
    let mut r = TransferReader::new(&zone(), Ask::Axfr, 7, 2);
    assert!(r
        .feed(&msg(
            Rtype::AXFR,
            true,
            &[soa(5), rec("a A 192.0.2.1"), soa(5)]
        ))
        .unwrap());
    assert_eq!(r.finish().unwrap().record_count(), 2);
    // The stream ends early.
    let mut r = TransferReader::new(&zone(), Ask::Axfr, 7, 100);
    assert!(!r
        .feed(&msg(Rtype::AXFR, true, &[soa(5), rec("a A 192.0.2.1")]))
        .unwrap());
    assert_eq!(r.finish().unwrap_err(), ReadError::Incomplete(2));
}

#[test]
fn any_octets_are_an_error_or_progress_never_a_panic() {
    let good = msg(Rtype::AXFR, true, &[soa(5), rec("www A 192.0.2.1"), soa(5)]);
    for cut in 0..good.len() {
        let mut r = TransferReader::new(&zone(), Ask::Axfr, 7, 100);
        let _ = r.feed(&good[..cut]);
    }
    for i in 0..good.len() {
        let mut m = good.clone();
        m[i] ^= 0xff;
        let mut r = TransferReader::new(&zone(), Ask::Ixfr { serial: 3 }, 7, 100);
        let _ = r.feed(&m);
    }
}
