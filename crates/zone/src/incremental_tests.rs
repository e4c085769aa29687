//! Property test: random sequences of changes applied with [`Zone::apply`]
//! give the same zone as a version built from scratch from the same records
//! (full record lists, node counts, and byte-identical answers to a set of
//! queries over every name of the universe and names below them).

use crate::Zone;
use std::collections::BTreeMap;
use zonecast_proto::query::QueryView;
use zonecast_proto::writer::Writer;
use zonecast_proto::{Class, Name, Record, Rtype};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const APEX: &str = "p.example.";

fn universe() -> Vec<Name> {
    let labels = ["a", "b", "*", "c"];
    let apex: Name = APEX.parse().unwrap();
    let mut out = vec![apex.clone()];
    for l1 in labels {
        let n1 = apex.prepend_label(l1.as_bytes()).unwrap();
        out.push(n1.clone());
        for l2 in labels {
            let n2 = n1.prepend_label(l2.as_bytes()).unwrap();
            out.push(n2.clone());
            for l3 in ["x", "*"] {
                out.push(n2.prepend_label(l3.as_bytes()).unwrap());
            }
        }
    }
    out
}

/// A random record at a random name of the universe (never the apex SOA).
fn random_record(rng: &mut Rng, names: &[Name]) -> Record {
    let owner = names[rng.below(names.len())].clone();
    let (rtype, rdata): (Rtype, Vec<u8>) = match rng.below(7) {
        0 | 1 => (Rtype::A, vec![192, 0, 2, rng.below(4) as u8]),
        2 => (Rtype::TXT, vec![1, b'a' + rng.below(3) as u8]),
        3 => (Rtype::NS, names[rng.below(names.len())].as_wire().to_vec()),
        4 => (
            Rtype::CNAME,
            names[rng.below(names.len())].as_wire().to_vec(),
        ),
        5 => (
            Rtype::DNAME,
            names[rng.below(names.len())].as_wire().to_vec(),
        ),
        _ => {
            let mut mx = vec![0, 10];
            mx.extend_from_slice(names[rng.below(names.len())].as_wire());
            (Rtype::MX, mx)
        }
    };
    Record {
        owner,
        rtype,
        class: Class::IN,
        ttl: 300 + rng.below(2) as u32,
        rdata: rdata.into(),
    }
}

type Key = (Name, u16, Box<[u8]>);

fn base() -> BTreeMap<Key, Record> {
    let apex: Name = APEX.parse().unwrap();
    let mut soa = b"\x02ns\x01p\x07example\x00\x01h\x01p\x07example\x00".to_vec();
    for v in [1u32, 3600, 900, 604800, 60] {
        soa.extend_from_slice(&v.to_be_bytes());
    }
    let r = Record {
        owner: apex,
        rtype: Rtype::SOA,
        class: Class::IN,
        ttl: 3600,
        rdata: soa.into(),
    };
    let mut m = BTreeMap::new();
    m.insert(key(&r), r);
    m
}

fn key(r: &Record) -> Key {
    (r.owner.to_lowercase(), r.rtype.0, r.rdata.clone())
}

/// Every record with one TTL per RRset (the last written wins), as `apply` keeps them.
fn unify_ttls(model: &mut BTreeMap<Key, Record>, owner: &Name, rtype: Rtype, ttl: u32) {
    for (k, r) in model.iter_mut() {
        if k.0 == *owner && k.1 == rtype.0 {
            r.ttl = ttl;
        }
    }
}

fn answers(z: &Zone, names: &[Name]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65535];
    for n in names {
        let below = n.prepend_label(b"q").unwrap_or_else(|_| n.clone());
        for name in [n, &below] {
            for t in [
                Rtype::A,
                Rtype::NS,
                Rtype::CNAME,
                Rtype::DS,
                Rtype::MX,
                Rtype::ANY,
            ] {
                let q = zonecast_proto::message::build_query(7, name, t, None);
                let mut v = QueryView::default();
                v.parse(&q).unwrap();
                let mut w = Writer::new(&mut buf, 65535, &v, &q);
                z.answer(v.qname(), t, &mut w);
                let len = w.finish();
                out.push(buf[..len].to_vec());
            }
        }
    }
    out
}

#[test]
fn incremental_versions_equal_versions_built_from_scratch() {
    let names = universe();
    for seed in 1..=12u64 {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ seed.wrapping_mul(0x9e37_79b9));
        let mut model = base();
        let apex: Name = APEX.parse().unwrap();
        let all: Vec<Record> = model.values().cloned().collect();
        let mut zone = Zone::build(&apex, &all).unwrap();
        let mut history = vec![zone.clone()];
        for step in 0..60 {
            let mut removed = Vec::new();
            let mut added: Vec<Record> = Vec::new();
            let removable: Vec<Key> = model
                .keys()
                .filter(|k| k.1 != Rtype::SOA.0)
                .cloned()
                .collect();
            for _ in 0..rng.below(4) {
                if removable.is_empty() {
                    break;
                }
                let k = &removable[rng.below(removable.len())];
                if let Some(r) = model.remove(k) {
                    removed.push(r);
                }
            }
            for _ in 0..1 + rng.below(5) {
                let r = random_record(&mut rng, &names);
                if model.contains_key(&key(&r)) || added.iter().any(|a| key(a) == key(&r)) {
                    continue;
                }
                added.push(r);
            }
            for r in &added {
                model.insert(key(r), r.clone());
            }
            // The last record added to an RRset gives it its TTL.
            for r in &added {
                unify_ttls(&mut model, &r.owner.to_lowercase(), r.rtype, r.ttl);
            }
            zone = zone.apply(&removed, &added).unwrap();
            let all: Vec<Record> = model.values().cloned().collect();
            let scratch = Zone::build(&apex, &all).unwrap();
            let show = |rs: Vec<Record>| -> Vec<String> {
                rs.iter()
                    .map(|r| format!("{} {} {} {:?}", r.owner, r.rtype, r.ttl, r.rdata))
                    .collect()
            };
            assert_eq!(
                show(zone.records()),
                show(scratch.records()),
                "seed {seed} step {step}"
            );
            assert_eq!(
                zone.node_count(),
                scratch.node_count(),
                "seed {seed} step {step}: nodes"
            );
            assert_eq!(zone.record_count(), scratch.record_count());
            if step % 10 == 9 {
                assert_eq!(
                    answers(&zone, &names),
                    answers(&scratch, &names),
                    "seed {seed} step {step}"
                );
            }
            history.push(zone.clone());
        }
        // Older versions still answer as they did: they were never changed in place.
        let first = &history[0];
        assert_eq!(first.record_count(), 1);
        assert_eq!(first.node_count(), 1);
    }
}

#[test]
fn removing_an_absent_record_is_refused_and_changes_nothing() {
    let apex: Name = APEX.parse().unwrap();
    let all: Vec<Record> = base().values().cloned().collect();
    let zone = Zone::build(&apex, &all).unwrap();
    let mut rng = Rng(99);
    let r = random_record(&mut rng, &universe());
    assert!(matches!(
        zone.apply(&[r], &[]),
        Err(crate::ZoneError::MissingRecord { .. })
    ));
    assert_eq!(zone.record_count(), 1);
}
