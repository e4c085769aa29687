use super::*;
use crate::rows::{JournalRowPg, RowEvent, ZoneRowPg};
use zonecast_proto::{Class, Rtype};
use zonecast_store::encode_records;

fn name(s: &str) -> Name {
    s.parse().unwrap()
}

fn soa(zone: &str, serial: u32) -> Record {
    let mut rdata = Vec::new();
    rdata.extend_from_slice(name(&format!("ns1.{zone}")).as_wire());
    rdata.extend_from_slice(name(&format!("hostmaster.{zone}")).as_wire());
    for v in [serial, 3600, 900, 1_209_600, 300] {
        rdata.extend_from_slice(&v.to_be_bytes());
    }
    Record {
        owner: name(zone),
        rtype: Rtype::SOA,
        class: Class::IN,
        ttl: 300,
        rdata: rdata.into(),
    }
}

fn ns(zone: &str) -> Record {
    Record {
        owner: name(zone),
        rtype: Rtype::NS,
        class: Class::IN,
        ttl: 300,
        rdata: name(&format!("ns1.{zone}")).as_wire().into(),
    }
}

fn a(owner: &str, last: u8) -> Record {
    Record {
        owner: name(owner),
        rtype: Rtype::A,
        class: Class::IN,
        ttl: 300,
        rdata: vec![192, 0, 2, last].into(),
    }
}

fn zone_row(id: i64, zone: &str, serial: i64) -> ZoneRowPg {
    ZoneRowPg {
        id,
        name: zone.into(),
        kind: "primary".into(),
        serial,
        settings: Some("{}".into()),
        created_at: 1,
        updated_at: 1,
        expires_at: None,
    }
}

/// Applies one transaction deleting zone `id` (named `zone`) at row position `at`.
fn delete(zones: &mut ZoneTable, at: u64, id: i64, zone: &str, lsn: u64) -> Outcome {
    let name = Some(zone.into());
    apply_transaction(
        zones,
        &NONE,
        vec![(at, RowEvent::ZoneDelete { id, name })],
        lsn,
        0,
    )
}

fn journal(
    seq: i64,
    zone_id: i64,
    kind: &str,
    from: u32,
    to: u32,
    removed: &[Record],
    added: &[Record],
) -> RowEvent {
    RowEvent::Journal(JournalRowPg {
        seq,
        zone_id,
        kind: kind.into(),
        serial_from: from.into(),
        serial_to: to.into(),
        committed_at: 1,
        removed: encode_records(removed),
        added: encode_records(added),
    })
}

fn create(id: i64, seq: i64, zone: &str, serial: u32, last: u8) -> Vec<(u64, RowEvent)> {
    let recs = vec![soa(zone, serial), ns(zone), a(&format!("www.{zone}"), last)];
    vec![
        (1, RowEvent::ZoneInsert(zone_row(id, zone, serial.into()))),
        (2, journal(seq, id, "create", serial, serial, &[], &recs)),
    ]
}

fn change(seq: i64, id: i64, zone: &str, from: u32, old: u8, new: u8) -> (u64, RowEvent) {
    let www = format!("www.{zone}");
    (
        3,
        journal(
            seq,
            id,
            "change",
            from,
            from + 1,
            &[soa(zone, from), a(&www, old)],
            &[soa(zone, from + 1), a(&www, new)],
        ),
    )
}

fn www(zones: &ZoneTable, id: i64) -> Vec<u8> {
    let z = zones[&id].version.as_ref().unwrap();
    let n = z.node_named(&name(&format!("www.{}", z.apex()))).unwrap();
    n.rrset(Rtype::A).unwrap().rdatas().map(|d| d[3]).collect()
}

const NONE: BTreeMap<i64, String> = BTreeMap::new();

#[test]
fn create_then_change_in_one_transaction() {
    let mut zones = ZoneTable::new();
    let mut ev = create(1, 1, "a.test.", 1, 1);
    ev.push(change(2, 1, "a.test.", 1, 1, 2));
    let out = apply_transaction(&mut zones, &NONE, ev, 100, 0);
    assert_eq!(out.publish.len(), 1);
    assert_eq!(out.publish[0].serial(), 2);
    assert!(matches!(&out.ops[0], BatchOp::CreateZone { records, .. } if records.len() == 3));
    assert!(matches!(&out.ops[1], BatchOp::Change { .. }));
    assert_eq!(www(&zones, 1), vec![2]);
    assert_eq!(zones[&1].seq, 2);
    assert!(out
        .meta
        .iter()
        .any(|(k, v)| k == "replica.lsn" && v == "0/64"));
    assert!(out
        .meta
        .iter()
        .any(|(k, v)| k == "replica.zones" && v.contains("a.test.")));
    assert!(out
        .meta
        .iter()
        .any(|(k, v)| k == "replica.zone.1" && v.contains("\"seq\":2")));
}

#[test]
fn rows_already_in_the_copy_are_skipped() {
    let mut zones = ZoneTable::new();
    apply_transaction(&mut zones, &NONE, create(1, 5, "a.test.", 1, 1), 100, 0);
    // The stream replays the creation and an older change: skipped.
    let mut ev = create(1, 5, "a.test.", 1, 1);
    ev.push(change(4, 1, "a.test.", 7, 7, 8));
    let out = apply_transaction(&mut zones, &NONE, ev, 200, 0);
    assert_eq!(out.rows_skipped, 2);
    assert!(out.publish.is_empty() && out.ops.is_empty() && out.halted.is_empty());
    // The next one applies.
    let out = apply_transaction(
        &mut zones,
        &NONE,
        vec![change(6, 1, "a.test.", 1, 1, 3)],
        300,
        0,
    );
    assert_eq!(out.publish.len(), 1);
    assert_eq!(www(&zones, 1), vec![3]);
}

#[test]
fn a_bad_zone_halts_alone() {
    let mut zones = ZoneTable::new();
    let mut ev = create(1, 1, "a.test.", 1, 1);
    ev.extend(create(2, 2, "b.test.", 1, 1));
    apply_transaction(&mut zones, &NONE, ev, 100, 0);
    let before = zones[&1].version.clone().unwrap();
    // a.test: a change from a serial it does not hold, then a good one (dropped too);
    // b.test: a good change and a change with a bad blob in the next transaction.
    let ev = vec![
        change(3, 1, "a.test.", 5, 1, 2),
        change(4, 2, "b.test.", 1, 1, 2),
        change(5, 1, "a.test.", 1, 1, 2),
    ];
    let out = apply_transaction(&mut zones, &NONE, ev, 200, 0);
    assert_eq!(out.halted.len(), 1);
    assert!(
        out.halted[&1].contains("holds serial 1"),
        "{:?}",
        out.halted
    );
    assert!(out.resync.contains(&1));
    assert_eq!(out.publish.len(), 1);
    assert_eq!(out.publish[0].apex(), &name("b.test."));
    assert_eq!(out.ops.len(), 1, "only b.test's change is persisted");
    assert!(Arc::ptr_eq(zones[&1].version.as_ref().unwrap(), &before));
    assert_eq!(out.problems.len(), 1);
    // While halted, its rows are skipped.
    let halted = out.halted.clone();
    let out = apply_transaction(
        &mut zones,
        &halted,
        vec![change(6, 1, "a.test.", 1, 1, 2)],
        300,
        0,
    );
    assert_eq!(out.rows_skipped, 1);
    // A blob that does not decode.
    let bad = RowEvent::Journal(JournalRowPg {
        seq: 7,
        zone_id: 2,
        kind: "change".into(),
        serial_from: 2,
        serial_to: 3,
        committed_at: 0,
        removed: vec![0x0a, b'n'],
        added: vec![],
    });
    let out = apply_transaction(&mut zones, &NONE, vec![(9, bad)], 400, 0);
    assert!(
        out.halted[&2].contains("removed records"),
        "{:?}",
        out.halted
    );
    assert!(
        out.problems[0].message.contains("LSN 0/9"),
        "{:?}",
        out.problems
    );
}

#[test]
fn delete_and_recreate_with_the_same_name() {
    let mut zones = ZoneTable::new();
    apply_transaction(&mut zones, &NONE, create(1, 1, "a.test.", 1, 1), 100, 0);
    let mut ev = vec![(
        5,
        RowEvent::ZoneDelete {
            id: 1,
            name: Some("a.test.".into()),
        },
    )];
    ev.extend(create(2, 2, "a.test.", 7, 7));
    let out = apply_transaction(&mut zones, &NONE, ev, 200, 0);
    assert!(
        out.withdraw.is_empty(),
        "no gap: the new version replaces the old"
    );
    assert_eq!(out.publish.len(), 1);
    assert!(matches!(&out.ops[0], BatchOp::DeleteZone { .. }));
    assert!(matches!(&out.ops[1], BatchOp::CreateZone { .. }));
    assert!(!zones.contains_key(&1));
    assert_eq!(zones[&2].serial, 7);
    // A delete of the old id replayed later does not touch the new zone.
    let out = delete(&mut zones, 6, 1, "a.test.", 300);
    assert!(out.ops.is_empty() && out.withdraw.is_empty());
    // The stream replaying the old zone's creation (copy overlap) is ignored.
    let out = apply_transaction(&mut zones, &NONE, create(1, 1, "a.test.", 1, 1), 400, 0);
    assert!(out.ops.is_empty() && out.publish.is_empty());
    assert_eq!(zones[&2].serial, 7);
}

#[test]
fn settings_kind_keys_heartbeat_and_truncate() {
    let mut zones = ZoneTable::new();
    apply_transaction(&mut zones, &NONE, create(1, 1, "a.test.", 1, 1), 100, 0);
    let mut row = zone_row(1, "a.test.", 1);
    row.settings = Some(r#"{"notify":[]}"#.into());
    let out = apply_transaction(
        &mut zones,
        &NONE,
        vec![(1, RowEvent::ZoneUpdate(row.clone()))],
        200,
        0,
    );
    assert!(
        matches!(&out.ops[..], [BatchOp::Settings { settings, .. }] if settings.contains("notify"))
    );
    // Unchanged TOAST: settings kept.
    row.settings = None;
    row.kind = "secondary".into();
    let out = apply_transaction(
        &mut zones,
        &NONE,
        vec![(1, RowEvent::ZoneUpdate(row))],
        300,
        0,
    );
    assert!(
        matches!(&out.ops[..], [BatchOp::ReplaceZone { kind: ZoneKind::Secondary, settings, records, .. }] if settings.contains("notify") && records.len() == 3)
    );
    let out = apply_transaction(
        &mut zones,
        &NONE,
        vec![
            (
                1,
                RowEvent::TsigPut {
                    name: "k".into(),
                    algorithm: "hmac-sha256".into(),
                    secret: vec![1],
                    created_at: 1,
                },
            ),
            (2, RowEvent::TsigDelete { name: "old".into() }),
            (
                3,
                RowEvent::Heartbeat {
                    at_ms: 1000,
                    interval_ms: 1000,
                    writer: "cp".into(),
                },
            ),
        ],
        400,
        1005,
    );
    assert_eq!(out.ops.len(), 2);
    assert_eq!(out.heartbeat, Some((1000, 1000, "cp".into())));
    assert!(out
        .meta
        .iter()
        .any(|(k, v)| k == "replica.heartbeat" && v.contains("1005")));
    let out = apply_transaction(
        &mut zones,
        &NONE,
        vec![(1, RowEvent::Truncate(vec![Table::Zones]))],
        500,
        0,
    );
    assert!(out.resync_all);
    // A journal row of a zone never seen asks for a resync of that zone.
    let out = apply_transaction(
        &mut zones,
        &NONE,
        vec![change(9, 42, "x.test.", 1, 1, 2)],
        600,
        0,
    );
    assert!(out.resync.contains(&42));
    assert!(out.problems.is_empty());
}

#[test]
fn copies_replace_and_remove() {
    let mut zones = ZoneTable::new();
    let mut ev = create(1, 1, "a.test.", 1, 1);
    ev.extend(create(2, 2, "b.test.", 1, 1));
    apply_transaction(&mut zones, &NONE, ev, 100, 0);
    let recs = vec![soa("a.test.", 9), ns("a.test."), a("www.a.test.", 9)];
    let copied = CopiedZone {
        entry: ZoneEntry {
            id: 1,
            name: name("a.test."),
            kind: ZoneKind::Primary,
            settings: "{}".into(),
            created_at: 1,
            serial: 9,
            seq: 30,
            version: Some(Arc::new(Zone::build(&name("a.test."), &recs).unwrap())),
            expires_at: None,
        },
        records: recs,
    };
    // Resync of zone 1 only: b.test stays.
    let ids: BTreeSet<i64> = [1].into();
    let out = apply_copy(
        &mut zones,
        vec![copied.clone()],
        &ids,
        false,
        None,
        &BTreeSet::new(),
    );
    assert_eq!(out.publish.len(), 1);
    assert_eq!(zones[&1].seq, 30);
    assert!(zones.contains_key(&2));
    // Full copy without b.test: it goes.
    let out = apply_copy(
        &mut zones,
        vec![copied],
        &BTreeSet::new(),
        true,
        Some(0x500),
        &BTreeSet::new(),
    );
    assert_eq!(out.withdraw, vec![name("b.test.")]);
    assert!(!zones.contains_key(&2));
    assert!(out
        .ops
        .iter()
        .any(|o| matches!(o, BatchOp::DeleteZone { zone } if *zone == name("b.test."))));
    assert!(out
        .meta
        .iter()
        .any(|(k, v)| k == "replica.lsn" && v == "0/500"));
    // A zone that failed to copy stays as held.
    let keep: BTreeSet<i64> = [1].into();
    let out = apply_copy(&mut zones, vec![], &ids, false, None, &keep);
    assert!(out.withdraw.is_empty() && zones.contains_key(&1));
    // An id resynced that is gone on the primary goes.
    let out = apply_copy(&mut zones, vec![], &ids, false, None, &BTreeSet::new());
    assert_eq!(out.withdraw, vec![name("a.test.")]);
    assert!(zones.is_empty());
}

fn small_limits() -> Limits {
    Limits {
        max_zone_records: 6,
        max_rrset_records: 3,
        max_zones: 2,
    }
}

fn refusals_of(l: zonecast_zone::limits::Limit) -> u64 {
    zonecast_zone::limits::refusals()
        .iter()
        .find(|(x, _)| *x == l)
        .unwrap()
        .1
}

/// A change adding `new` www A records to `zone` at serial `from`.
fn add_www(seq: i64, id: i64, zone: &str, from: u32, new: &[u8]) -> (u64, RowEvent) {
    let www = format!("www.{zone}");
    let added: Vec<Record> = std::iter::once(soa(zone, from + 1))
        .chain(new.iter().map(|l| a(&www, *l)))
        .collect();
    (
        3,
        journal(
            seq,
            id,
            "change",
            from,
            from + 1,
            &[soa(zone, from)],
            &added,
        ),
    )
}

#[test]
fn changes_over_a_size_limit_halt_the_zone_and_keep_its_version() {
    use zonecast_zone::limits::Limit;
    let l = small_limits();
    let mut zones = ZoneTable::new();
    apply_transaction_limited(&mut zones, &NONE, create(1, 1, "a.test.", 1, 1), 100, 0, &l);
    let before = zones[&1].version.clone().unwrap();
    // www A grows from 1 to 4 records: over 3.
    let counted = refusals_of(Limit::RrsetRecords);
    let out = apply_transaction_limited(
        &mut zones,
        &NONE,
        vec![add_www(2, 1, "a.test.", 1, &[2, 3, 4])],
        200,
        0,
        &l,
    );
    assert!(
        out.halted[&1].contains("RRset www.a.test. A would hold 4 records; the limit is 3"),
        "{:?}",
        out.halted
    );
    assert!(out.resync.contains(&1));
    assert!(out.publish.is_empty() && out.ops.is_empty());
    assert!(Arc::ptr_eq(zones[&1].version.as_ref().unwrap(), &before));
    assert_eq!(zones[&1].serial, 1);
    assert!(refusals_of(Limit::RrsetRecords) > counted);
    // Within the limit it applies; then the zone's own limit (6 records).
    let out = apply_transaction_limited(
        &mut zones,
        &NONE,
        vec![add_www(2, 1, "a.test.", 1, &[2, 3])],
        200,
        0,
        &l,
    );
    assert_eq!(out.publish.len(), 1);
    let more = (
        3,
        journal(
            3,
            1,
            "change",
            2,
            3,
            &[soa("a.test.", 2)],
            &[soa("a.test.", 3), a("m.a.test.", 1), a("n.a.test.", 1)],
        ),
    );
    let out = apply_transaction_limited(&mut zones, &NONE, vec![more], 300, 0, &l);
    assert!(
        out.halted[&1].contains("zone a.test. would hold 7 records"),
        "{:?}",
        out.halted
    );
    assert_eq!(zones[&1].serial, 2);
    // A create over a limit halts the new zone: nothing of it is held.
    let mut ev = vec![(1, RowEvent::ZoneInsert(zone_row(2, "b.test.", 1)))];
    let recs: Vec<Record> = vec![
        soa("b.test.", 1),
        ns("b.test."),
        a("www.b.test.", 1),
        a("www.b.test.", 2),
        a("www.b.test.", 3),
        a("www.b.test.", 4),
    ];
    ev.push((2, journal(4, 2, "create", 1, 1, &[], &recs)));
    let out = apply_transaction_limited(&mut zones, &NONE, ev, 400, 0, &l);
    assert!(
        out.halted[&2].contains("would hold 4 records"),
        "{:?}",
        out.halted
    );
    assert!(!zones.contains_key(&2));
    assert!(out.ops.is_empty());
}

#[test]
fn zones_past_the_limit_are_not_taken() {
    use zonecast_zone::limits::Limit;
    let l = small_limits();
    let mut zones = ZoneTable::new();
    let mut ev = create(1, 1, "a.test.", 1, 1);
    ev.extend(create(2, 2, "b.test.", 1, 1));
    let counted = refusals_of(Limit::Zones);
    ev.extend(create(3, 3, "c.test.", 1, 1));
    let out = apply_transaction_limited(&mut zones, &NONE, ev, 100, 0, &l);
    assert_eq!(zones.len(), 2);
    assert!(
        out.halted[&3].contains("the limit is 2 zones per node"),
        "{:?}",
        out.halted
    );
    assert!(refusals_of(Limit::Zones) > counted);
    assert_eq!(out.publish.len(), 2);
    // A deletion in the same transaction makes room.
    let mut ev = vec![(1, RowEvent::ZoneDelete { id: 1, name: None })];
    ev.extend(create(4, 4, "d.test.", 1, 1));
    let out = apply_transaction_limited(&mut zones, &NONE, ev, 200, 0, &l);
    assert!(out.halted.is_empty(), "{:?}", out.halted);
    assert!(zones.contains_key(&4) && !zones.contains_key(&1));
    // The copy of a resync is checked the same way.
    let recs = vec![soa("c.test.", 1), ns("c.test.")];
    let e = check_copy(&l, &name("c.test."), &recs, 3).unwrap_err();
    assert!(e.contains("--max-zones"), "{e}");
    assert!(check_copy(&l, &name("c.test."), &recs, 2).is_ok());
    let big: Vec<Record> = (1..=4).map(|i| a("www.c.test.", i)).chain(recs).collect();
    assert!(check_copy(&l, &name("c.test."), &big, 1)
        .unwrap_err()
        .contains("--max-rrset-records"));
}

/// A secondary zone's expiry (`zones.expires_at`) is taken from its row,
/// reported in `expiries` only when it changes, kept in the zone's meta
/// value (so the local snapshot has it), ignored for a primary zone, and
/// cleared when the zone goes.
#[test]
fn secondary_expiry_follows_the_zone_row() {
    let update = |zones: &mut ZoneTable, row: ZoneRowPg, lsn| {
        apply_transaction(zones, &NONE, vec![(1, RowEvent::ZoneUpdate(row))], lsn, 0)
    };
    let mut zones = ZoneTable::new();
    apply_transaction(&mut zones, &NONE, create(1, 1, "a.test.", 1, 1), 100, 0);
    let mut row = zone_row(1, "a.test.", 1);
    row.expires_at = Some(5_000);
    // A primary zone has no expiry, whatever its row says.
    let out = update(&mut zones, row.clone(), 150);
    assert!(out.expiries.is_empty(), "{:?}", out.expiries);
    assert_eq!(zones[&1].expires_at, None);
    row.kind = "secondary".into();
    let out = update(&mut zones, row.clone(), 200);
    assert_eq!(out.expiries, vec![(name("a.test."), Some(5_000))]);
    assert_eq!(zones[&1].expires_at, Some(5_000));
    let meta = out.meta.iter().find(|(k, _)| k == &meta_zone(1)).unwrap();
    assert!(meta.1.contains("\"expires_at\":5000"), "{meta:?}");
    // The same expiry again: nothing to report or write.
    let out = update(&mut zones, row.clone(), 300);
    assert!(out.expiries.is_empty() && out.ops.is_empty());
    assert!(!out.meta.iter().any(|(k, _)| k == &meta_zone(1)));
    row.expires_at = Some(9_000);
    let out = update(&mut zones, row, 400);
    assert_eq!(out.expiries, vec![(name("a.test."), Some(9_000))]);
    assert!(
        out.ops.is_empty(),
        "an expiry is not a change of the zone: {:?}",
        out.ops
    );
    let out = delete(&mut zones, 1, 1, "a.test.", 500);
    assert_eq!(out.expiries, vec![(name("a.test."), None)]);
}
