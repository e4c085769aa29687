//! The shared battery: every test here runs against each backend (see the
//! `battery!` list in the parent module).

use super::*;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

pub(super) fn migrates_from_empty(t: &Target) {
    let store = t.open();
    assert_eq!(store.schema_version().unwrap(), t.code_version());
    assert_eq!(store.is_cluster(), t.is_pg());
    let mut tables = t.tables(&store);
    tables.sort();
    let mut want = vec![
        "api_keys",
        "journal",
        "meta",
        "records",
        "schema_migrations",
        "tsig_keys",
        "zones",
    ];
    if t.is_pg() {
        want.extend(["edges", "heartbeat"]);
        want.sort();
    }
    assert_eq!(tables, want);
    let applied = store.test_i64("SELECT COUNT(*) FROM schema_migrations");
    assert_eq!(applied, i64::from(t.code_version()));
}

pub(super) fn create_and_load_round_trip(t: &Target) {
    let store = t.open();
    let z = name("Example.COM.");
    let row = store
        .create_zone(&z, ZoneKind::Primary, &example(2024010101))
        .unwrap();
    assert_eq!(
        row.name.to_string(),
        "example.com.",
        "zone names are stored lowercase"
    );
    assert_eq!(
        (row.kind, row.serial, row.settings.as_str()),
        (ZoneKind::Primary, 2024010101, "{}")
    );
    assert!(row.created_at > 1_600_000_000_000 && row.created_at == row.updated_at);

    let loaded = store.zone_records(&name("example.com.")).unwrap();
    assert_eq!(loaded, example(2024010101));
    assert_eq!(
        owners(&loaded)[3],
        "Www.Example.COM.",
        "owner case preserved"
    );
    for (got, want) in loaded.iter().zip(example(2024010101)) {
        assert_eq!(got.rdata, want.rdata, "rdata exact");
        assert_eq!((got.ttl, got.class), (want.ttl, want.class));
    }

    assert_eq!(
        store.zone(&name("EXAMPLE.com.")).unwrap(),
        Some(row.clone())
    );
    assert_eq!(store.zones().unwrap(), vec![row.clone()]);
    let journal = store.journal(&z).unwrap();
    assert_eq!(journal.len(), 1);
    let created = &journal[0];
    assert_eq!(
        (created.change.serial_from, created.change.serial_to),
        (2024010101, 2024010101)
    );
    assert!(created.change.removed.is_empty());
    assert_eq!(created.change.added, example(2024010101));

    assert!(matches!(
        store.create_zone(&name("example.COM."), ZoneKind::Primary, &[]),
        Err(StoreError::AlreadyExists { .. })
    ));
    // A zone without an SOA gets serial 0; zones list in name order.
    let other = store
        .create_zone(
            &name("a.example."),
            ZoneKind::Primary,
            &[a("a.example.", 9)],
        )
        .unwrap();
    assert_eq!(other.serial, 0);
    let names: Vec<String> = store
        .zones()
        .unwrap()
        .iter()
        .map(|r| r.name.to_string())
        .collect();
    assert_eq!(names, ["a.example.", "example.com."]);
    assert!(matches!(
        store.zone_records(&name("nope.example.")),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.zone(&name("nope.example.")).unwrap(), None);
}

pub(super) fn create_refusals_store_nothing(t: &Target) {
    let store = t.open();
    let z = name("example.com.");
    let mut dup = example(1);
    dup.push(rec("WWW.example.com.", Rtype::A, 1, &[192, 0, 2, 2]));
    let err = store.create_zone(&z, ZoneKind::Primary, &dup).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::DuplicateRecord {
                rtype: Rtype::A,
                ..
            }
        ),
        "{err:?}"
    );
    let shown = zonecast_proto::rdata::format_presentation(Rtype::A, &[192, 0, 2, 2]);
    assert!(err.to_string().contains(&shown), "{err}");

    let mut bad_soa = example(1);
    bad_soa[0].rdata = b"\x03ns1\x00".to_vec().into();
    let err = store
        .create_zone(&z, ZoneKind::Primary, &bad_soa)
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidRecord {
                rtype: Rtype::SOA,
                ..
            }
        ),
        "{err:?}"
    );

    let mut huge = example(1);
    huge.push(rec("big.example.com.", Rtype(65401), 1, &vec![0u8; 70_000]));
    assert!(matches!(
        store.create_zone(&z, ZoneKind::Primary, &huge),
        Err(StoreError::InvalidRecord { .. })
    ));

    assert!(store.zones().unwrap().is_empty());
    assert_eq!(journal_rows(&store), 0);
    let records: i64 = store.test_i64("SELECT COUNT(*) FROM records");
    assert_eq!(records, 0);
}

pub(super) fn commit_change_applies_everything(t: &Target) {
    let store = t.open();
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    // Removal matches owner case-insensitively and ignores the TTL.
    let mut old_www = a("www.example.com.", 2);
    old_www.ttl = 1;
    let new = vec![a("www.example.com.", 3), a("WWW.example.com.", 4)];
    let change = bump(1, 2, vec![old_www], new.clone());
    let entry = store.commit_change(&name("EXAMPLE.com."), &change).unwrap();
    assert_eq!(entry.change, change);
    assert_eq!(entry.zone.to_string(), "example.com.");

    let row = store.zone(&z).unwrap().unwrap();
    assert_eq!(row.serial, 2);
    assert!(row.updated_at >= row.created_at);
    let records = store.zone_records(&z).unwrap();
    let mut want = example(1);
    want.retain(|r| r.rtype != Rtype::SOA && !(r.rtype == Rtype::A && r.rdata[3] == 2));
    want.push(soa("example.com.", 2));
    want.extend(new);
    assert_eq!(records.len(), want.len());
    for w in &want {
        assert!(records.iter().any(|r| r == w), "missing {w:?}");
    }
    assert!(owners(&records).contains(&"WWW.example.com.".to_string()));

    let journal = store.journal(&z).unwrap();
    assert_eq!(journal.len(), 2);
    assert_eq!(journal[1], entry);
    assert!(journal[1].seq > journal[0].seq);
    assert_eq!(
        journal[1].change.removed[1].ttl, 1,
        "the journal keeps the records as given"
    );
}

pub(super) fn refused_changes_leave_everything_unchanged(t: &Target) {
    let store = t.open();
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(10))
        .unwrap();
    let before = state(&store);

    // Serial mismatch.
    let err = store
        .commit_change(&z, &bump(9, 11, vec![], vec![a("new.example.com.", 1)]))
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::SerialMismatch { expected: 9, found: 10, zone } if *zone == z),
        "{err:?}"
    );
    assert!(err.to_string().contains("example.com."), "{err}");
    assert_eq!(state(&store), before);

    // A removed record that is absent, after one that exists: nothing applied.
    let err = store
        .commit_change(
            &z,
            &bump(
                10,
                11,
                vec![a("ns1.example.com.", 1), a("gone.example.com.", 7)],
                vec![],
            ),
        )
        .unwrap_err();
    match &err {
        StoreError::MissingRecord {
            zone,
            owner,
            rtype,
            rdata,
        } => {
            assert_eq!(
                (zone, owner.to_string().as_str(), *rtype),
                (&z, "gone.example.com.", Rtype::A)
            );
            assert_eq!(
                rdata,
                &zonecast_proto::rdata::format_presentation(Rtype::A, &[192, 0, 2, 7])
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(state(&store), before);

    // The same removal twice is a missing record the second time.
    let err = store
        .commit_change(
            &z,
            &bump(
                10,
                11,
                vec![a("ns1.example.com.", 1), a("ns1.example.com.", 1)],
                vec![],
            ),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingRecord { .. }), "{err:?}");
    assert_eq!(state(&store), before);

    // An added record already present (other TTL, other case): nothing applied.
    let mut present = a("WWW.EXAMPLE.COM.", 2);
    present.ttl = 5;
    let err = store
        .commit_change(
            &z,
            &bump(10, 11, vec![], vec![a("fresh.example.com.", 8), present]),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::DuplicateRecord {
                rtype: Rtype::A,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(state(&store), before);

    // Unknown zone.
    assert!(matches!(
        store.commit_change(&name("other.example."), &bump(10, 11, vec![], vec![])),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(state(&store), before);

    // Removing and re-adding the same record in one change is fine.
    let ns1 = a("ns1.example.com.", 1);
    store
        .commit_change(&z, &bump(10, 11, vec![ns1.clone()], vec![ns1]))
        .unwrap();
    assert_eq!(store.zone(&z).unwrap().unwrap().serial, 11);
}

pub(super) fn commit_changes_groups_chained_changes(t: &Target) {
    let store = t.open();
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    // The second change removes what the first added, the third re-adds it
    // with another TTL: they must apply in order, inside one transaction.
    let mut slow = a("g.example.com.", 9);
    slow.ttl = 60;
    let changes = vec![
        bump(1, 2, vec![], vec![a("g.example.com.", 9)]),
        bump(
            2,
            3,
            vec![a("g.example.com.", 9)],
            vec![a("h.example.com.", 8)],
        ),
        bump(3, 4, vec![], vec![slow.clone()]),
    ];
    let out = store.commit_changes(&z, &changes).unwrap();
    assert_eq!(out.len(), 3);
    for ((entry, ids), change) in out.iter().zip(&changes) {
        assert_eq!(&entry.change, change);
        assert_eq!(ids.len(), change.added.len());
    }
    assert!(out[0].0.seq < out[1].0.seq && out[1].0.seq < out[2].0.seq);
    assert_eq!(store.zone(&z).unwrap().unwrap().serial, 4);
    let records = store.zone_records(&z).unwrap();
    assert!(records.contains(&slow) && records.contains(&a("h.example.com.", 8)));
    assert!(records.contains(&soa("example.com.", 4)));
    assert_eq!(
        store.record_by_id(&z, out[2].1[1]).unwrap(),
        Some(slow),
        "ids are those of the records as stored"
    );
    let since: Vec<JournalEntry> = store.journal_since(&z, 1).unwrap();
    assert_eq!(
        since,
        out.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>()
    );
    assert_eq!(store.commit_changes(&z, &[]).unwrap(), vec![]);
}

pub(super) fn trim_journal_keeps_the_newest_per_zone(t: &Target) {
    let store = t.open();
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    let other = name("other.example.");
    store
        .create_zone(&other, ZoneKind::Primary, &[soa("other.example.", 1)])
        .unwrap();
    for s in 1..=5u32 {
        store
            .commit_change(
                &z,
                &bump(s, s + 1, vec![], vec![a(&format!("n{s}.example.com."), 1)]),
            )
            .unwrap();
    }
    assert_eq!(store.journal(&z).unwrap().len(), 6, "creation + 5 changes");
    // Keep the newest 3 of each zone: the creation and two changes go.
    assert_eq!(store.trim_journal(3, 0).unwrap(), 3);
    let left: Vec<u32> = store
        .journal(&z)
        .unwrap()
        .iter()
        .map(|e| e.change.serial_from)
        .collect();
    assert_eq!(left, vec![3, 4, 5]);
    assert_eq!(
        store.journal(&other).unwrap().len(),
        1,
        "the other zone's only entry stays"
    );
    assert!(matches!(
        store.journal_since(&z, 1),
        Err(StoreError::JournalGap { .. })
    ));
    assert_eq!(store.journal_since(&z, 3).unwrap().len(), 3);
    // By age: everything older than now goes, except each zone's newest.
    let future = i64::MAX / 2;
    assert_eq!(store.trim_journal(1000, future).unwrap(), 2);
    assert_eq!(store.journal(&z).unwrap().len(), 1);
    assert_eq!(store.journal_since(&z, 5).unwrap().len(), 1);
    assert_eq!(store.trim_journal(1000, future).unwrap(), 0);
    // The records are untouched.
    assert_eq!(store.zone(&z).unwrap().unwrap().serial, 6);
}

pub(super) fn refused_group_commit_applies_none(t: &Target) {
    let store = t.open();
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(10))
        .unwrap();
    let before = state(&store);
    // The last change of three removes an absent record: none is applied.
    let err = store
        .commit_changes(
            &z,
            &[
                bump(10, 11, vec![], vec![a("x.example.com.", 1)]),
                bump(11, 12, vec![], vec![a("y.example.com.", 2)]),
                bump(12, 13, vec![a("gone.example.com.", 3)], vec![]),
            ],
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingRecord { .. }), "{err:?}");
    assert_eq!(state(&store), before);
    // The first change planned on another serial: a mismatch, nothing applied.
    let err = store
        .commit_changes(
            &z,
            &[bump(9, 10, vec![], vec![]), bump(10, 11, vec![], vec![])],
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SerialMismatch {
                expected: 9,
                found: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(state(&store), before);
    // Changes that do not chain are refused before the store sees them.
    let err = store
        .commit_changes(
            &z,
            &[bump(10, 11, vec![], vec![]), bump(12, 13, vec![], vec![])],
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Unchained {
                serial_from: 12,
                previous: 11,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(state(&store), before);
}

pub(super) fn journal_since_builds_chains(t: &Target) {
    let store = t.open();
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    for (from, last) in [(1u32, 10u8), (2, 11), (3, 12)] {
        store
            .commit_change(
                &z,
                &bump(from, from + 1, vec![], vec![a("c.example.com.", last)]),
            )
            .unwrap();
    }
    let serials = |v: Vec<JournalEntry>| -> Vec<(u32, u32)> {
        v.iter()
            .map(|e| (e.change.serial_from, e.change.serial_to))
            .collect()
    };
    assert_eq!(
        serials(store.journal_since(&z, 1).unwrap()),
        [(1, 2), (2, 3), (3, 4)]
    );
    assert_eq!(serials(store.journal_since(&z, 3).unwrap()), [(3, 4)]);
    assert!(store.journal_since(&z, 4).unwrap().is_empty());
    let since2 = store.journal_since(&z, 2).unwrap();
    assert_eq!(since2[0].change.added[1], a("c.example.com.", 11));
    assert_eq!(since2[0].change.removed, vec![soa("example.com.", 2)]);

    let err = store.journal_since(&z, 77).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::JournalGap {
                from: 77,
                current: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        store.journal_since(&name("nope."), 1),
        Err(StoreError::NotFound { .. })
    ));

    // A hole in the middle of the chain.
    store.test_exec("DELETE FROM journal WHERE serial_from = 2 AND kind = 'change'");
    assert!(matches!(
        store.journal_since(&z, 1),
        Err(StoreError::JournalGap {
            from: 1,
            current: 4,
            ..
        })
    ));
    assert!(matches!(
        store.journal_since(&z, 2),
        Err(StoreError::JournalGap { .. })
    ));
    assert_eq!(serials(store.journal_since(&z, 3).unwrap()), [(3, 4)]);
}

pub(super) fn journal_since_takes_the_latest_start(t: &Target) {
    let store = t.open();
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    // The serial goes 1 -> 2 -> 1 -> 3.
    store
        .commit_change(&z, &bump(1, 2, vec![], vec![]))
        .unwrap();
    store
        .commit_change(&z, &bump(2, 1, vec![], vec![]))
        .unwrap();
    store
        .commit_change(&z, &bump(1, 3, vec![], vec![]))
        .unwrap();
    let chain = store.journal_since(&z, 1).unwrap();
    assert_eq!(chain.len(), 1);
    assert_eq!(
        (chain[0].change.serial_from, chain[0].change.serial_to),
        (1, 3)
    );
    assert_eq!(store.journal_since(&z, 2).unwrap().len(), 2);
    assert_eq!(store.journal(&z).unwrap().len(), 4);
}

pub(super) fn corrupt_journal_blob_is_an_error(t: &Target) {
    let store = t.open();
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    store.test_exec(&format!(
        "UPDATE journal SET added = {}",
        t.blob("03777777")
    ));
    let err = store.journal(&z).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert!(err.to_string().contains("example.com."), "{err}");
}

pub(super) fn delete_removes_zone_records_and_journal(t: &Target) {
    let store = t.open();
    let z = name("example.com.");
    let keep = name("keep.example.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    store
        .create_zone(&keep, ZoneKind::Primary, &[a("keep.example.", 1)])
        .unwrap();
    store
        .commit_change(&z, &bump(1, 2, vec![], vec![]))
        .unwrap();
    assert_eq!(journal_rows(&store), 3);

    assert!(store.delete_zone(&name("EXAMPLE.com.")).unwrap());
    assert_eq!(store.zone(&z).unwrap(), None);
    assert!(matches!(
        store.zone_records(&z),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.journal(&z),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(journal_rows(&store), 1);
    let records: i64 = store.test_i64("SELECT COUNT(*) FROM records");
    assert_eq!(records, 1);
    assert!(!store.delete_zone(&z).unwrap());
    assert_eq!(
        store.zone_records(&keep).unwrap(),
        vec![a("keep.example.", 1)]
    );

    // Re-created, it starts afresh; journal positions are not reused.
    let last_seq = store.journal(&keep).unwrap()[0].seq;
    store
        .create_zone(&z, ZoneKind::Primary, &example(5))
        .unwrap();
    let journal = store.journal(&z).unwrap();
    assert_eq!(journal.len(), 1);
    assert!(journal[0].seq > last_seq + 1);
    assert_eq!(store.zone(&z).unwrap().unwrap().serial, 5);
}

pub(super) fn meta_settings(t: &Target) {
    let store = t.open();
    assert_eq!(store.meta_get("k").unwrap(), None);
    store.meta_set("k", "one").unwrap();
    store.meta_set("k", "two").unwrap();
    store.meta_set("other", "").unwrap();
    assert_eq!(store.meta_get("k").unwrap().as_deref(), Some("two"));
    assert_eq!(store.meta_get("other").unwrap().as_deref(), Some(""));
}

pub(super) fn concurrent_commits_one_wins(t: &Target) {
    let store = Arc::new(t.open());
    store
        .create_zone(&name("example.com."), ZoneKind::Primary, &example(1))
        .unwrap();
    assert_eq!(race(std::slice::from_ref(&store), 8), 1);
    assert_eq!(store.journal(&name("example.com.")).unwrap().len(), 2);
    let race_records = store
        .zone_records(&name("example.com."))
        .unwrap()
        .iter()
        .filter(|r| r.owner == name("race.example.com."))
        .count();
    assert_eq!(race_records, 1);
}

pub(super) fn reopening_keeps_data(t: &Target) {
    let z = name("example.com.");
    {
        let store = t.open();
        store
            .create_zone(&z, ZoneKind::Secondary, &example(7))
            .unwrap();
        store.meta_set("api_token_hash", "abc").unwrap();
    }
    let store = t.open();
    assert_eq!(store.schema_version().unwrap(), t.code_version());
    let row = store.zone(&z).unwrap().unwrap();
    assert_eq!((row.kind, row.serial), (ZoneKind::Secondary, 7));
    assert_eq!(store.zone_records(&z).unwrap(), example(7));
    assert_eq!(store.journal(&z).unwrap().len(), 1);
    assert_eq!(
        store.meta_get("api_token_hash").unwrap().as_deref(),
        Some("abc")
    );
}

pub(super) fn future_schema_is_refused(t: &Target) {
    {
        let store = t.open();
        store.test_exec("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)");
    }
    let err = t.try_open().expect_err("a newer schema must be refused");
    let code = t.code_version();
    assert!(
        matches!(err, StoreError::SchemaTooNew { database: 99, code: c } if c == code),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("99") && text.contains(&format!("({code})")),
        "{text}"
    );
}

pub(super) fn concurrent_commits_across_connections_one_wins(t: &Target) {
    let first = Arc::new(t.open());
    first
        .create_zone(&name("example.com."), ZoneKind::Primary, &example(1))
        .unwrap();
    let stores: Vec<Arc<Store>> = (0..3)
        .map(|_| Arc::new(t.open()))
        .chain(std::iter::once(first.clone()))
        .collect();
    assert_eq!(race(&stores, 8), 1);
    let serial = first.zone(&name("example.com.")).unwrap().unwrap().serial;
    assert!((2..10).contains(&serial));
    assert_eq!(
        first.journal_since(&name("example.com."), 1).unwrap().len(),
        1
    );
}

pub(super) fn commit_latency(t: &Target) {
    let store = t.open();
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    let n = 300u32;
    let start = Instant::now();
    for i in 1..=n {
        // One RRset replaced: two A records out, two in, plus the SOA.
        let old = if i == 1 {
            vec![]
        } else {
            vec![
                a("rr.example.com.", (i - 1) as u8),
                a("rr.example.com.", i.wrapping_add(99) as u8),
            ]
        };
        let new = vec![
            a("rr.example.com.", i as u8),
            a("rr.example.com.", i.wrapping_add(100) as u8),
        ];
        store.commit_change(&z, &bump(i, i + 1, old, new)).unwrap();
    }
    let per = start.elapsed() / n;
    println!("commit_change of one RRset ({t:?}): {per:?} per change");
    assert_eq!(store.zone(&z).unwrap().unwrap().serial, n + 1);
    assert_eq!(store.journal_since(&z, 1).unwrap().len(), n as usize);
}

pub(super) fn bulk_create_and_load(t: &Target) {
    // The target is 200,000 records well under 2 s each in a release build;
    // debug builds run a tenth of it to keep the suite quick.
    let count: u32 = if cfg!(debug_assertions) {
        20_000
    } else {
        200_000
    };
    let store = t.open();
    let z = name("big.example.");
    let mut records = vec![soa("big.example.", 1), ns("big.example.")];
    records.extend((0..count).map(|i| {
        rec(
            &format!("Host{i}.big.example."),
            Rtype::A,
            300,
            &[10, (i >> 16) as u8, (i >> 8) as u8, i as u8],
        )
    }));
    let start = Instant::now();
    store.create_zone(&z, ZoneKind::Primary, &records).unwrap();
    let create = start.elapsed();
    let start = Instant::now();
    let loaded = store.zone_records(&z).unwrap();
    let load = start.elapsed();
    println!(
        "{} records ({t:?}): create_zone {create:?}, zone_records {load:?}",
        records.len()
    );
    assert_eq!(loaded.len(), records.len());
    assert_eq!(loaded, records);
    assert_eq!(loaded[2].owner.to_string(), "Host0.big.example.");
}

pub(super) fn record_ids_follow_commits(t: &Target) {
    let store = with_example(t);
    let z = name("example.com.");
    let before = store.zone_records_with_ids(&z).unwrap();
    assert_eq!(
        before.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
        example(1)
    );
    let ids: Vec<i64> = before.iter().map(|(id, _)| *id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    let change = bump(
        1,
        2,
        vec![a("Www.Example.COM.", 2)],
        vec![a("new.example.com.", 9), a("www.example.com.", 3)],
    );
    let (entry, added) = store.commit_change_with_ids(&z, &change).unwrap();
    assert_eq!(entry.change, change);
    assert_eq!(added.len(), change.added.len());
    assert!(
        added.iter().all(|id| !ids.contains(id)),
        "ids are never reused"
    );

    let after = store.zone_records_with_ids(&z).unwrap();
    for (id, record) in added.iter().zip(&change.added) {
        let found = after.iter().find(|(i, _)| i == id).map(|(_, r)| r);
        assert_eq!(found, Some(record), "id {id}");
    }
    // Records untouched by the change keep their ids.
    let ns_id = before
        .iter()
        .find(|(_, r)| r.rtype == Rtype::NS)
        .map(|(id, _)| *id);
    assert_eq!(
        after
            .iter()
            .find(|(_, r)| r.rtype == Rtype::NS)
            .map(|(id, _)| *id),
        ns_id
    );
    assert_eq!(
        after.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
        store.zone_records(&z).unwrap()
    );
    assert!(!after
        .iter()
        .any(|(_, r)| r.owner == name("www.example.com.") && r.rdata[..] == [192, 0, 2, 2]));
}

pub(super) fn refused_commit_with_ids_changes_nothing(t: &Target) {
    let store = with_example(t);
    let z = name("example.com.");
    let before = store.zone_records_with_ids(&z).unwrap();
    let (_, _, journal) = state(&store);
    let change = bump(1, 2, vec![], vec![a("ns1.example.com.", 1)]);
    let err = store.commit_change_with_ids(&z, &change).unwrap_err();
    assert!(matches!(err, StoreError::DuplicateRecord { .. }), "{err:?}");
    assert_eq!(store.zone_records_with_ids(&z).unwrap(), before);
    assert_eq!(store.journal(&z).unwrap(), journal);
    let err = store
        .zone_records_with_ids(&name("other.example."))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub(super) fn settings_update(t: &Target) {
    let store = with_example(t);
    let z = name("Example.COM.");
    let row = store.zone(&z).unwrap().unwrap();
    assert_eq!(row.settings, "{}");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let json = r#"{"serial_policy":"increment","notify":["192.0.2.2:53"]}"#;
    store.set_zone_settings(&z, json).unwrap();
    let after = store.zone(&z).unwrap().unwrap();
    assert_eq!(after.settings, json);
    assert!(after.updated_at > row.updated_at);
    assert_eq!(
        (after.serial, after.created_at),
        (row.serial, row.created_at)
    );
    assert_eq!(
        store.journal(&z).unwrap().len(),
        1,
        "settings are not journaled"
    );

    for bad in ["[1,2]", "not json", "\"text\"", ""] {
        let err = store.set_zone_settings(&z, bad).unwrap_err();
        assert!(
            matches!(&err, StoreError::InvalidSettings { zone, .. } if *zone == name("example.com.")),
            "{bad}: {err:?}"
        );
    }
    assert_eq!(store.zone(&z).unwrap().unwrap().settings, json);
    let err = store
        .set_zone_settings(&name("missing.example."), "{}")
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { zone } if *zone == name("missing.example.")),
        "{err:?}"
    );
}

pub(super) fn tsig_keys_round_trip_and_unique_names(t: &Target) {
    let store = t.open();
    assert!(store.tsig_keys().unwrap().is_empty());
    assert_eq!(store.tsig_key("transfer-key").unwrap(), None);
    store.create_tsig_key(&tsig("transfer-key")).unwrap();
    store.create_tsig_key(&tsig("a-key")).unwrap();
    assert_eq!(
        store.tsig_key("transfer-key").unwrap(),
        Some(tsig("transfer-key"))
    );
    assert_eq!(
        store.tsig_key("Transfer-KEY").unwrap(),
        Some(tsig("transfer-key"))
    );
    assert_eq!(
        store.tsig_keys().unwrap(),
        vec![tsig("a-key"), tsig("transfer-key")]
    );

    let mut other = tsig("TRANSFER-key");
    other.secret = vec![9; 32];
    let err = store.create_tsig_key(&other).unwrap_err();
    assert!(
        matches!(&err, StoreError::KeyExists { name } if name == "TRANSFER-key"),
        "{err:?}"
    );
    assert_eq!(
        store.tsig_key("transfer-key").unwrap().unwrap().secret,
        tsig("x").secret
    );

    assert!(store.delete_tsig_key("a-key").unwrap());
    assert!(!store.delete_tsig_key("a-key").unwrap());
    assert_eq!(store.tsig_keys().unwrap(), vec![tsig("transfer-key")]);
}

pub(super) fn tsig_key_in_use_is_not_deleted(t: &Target) {
    let store = t.open();
    for zone in ["b.example.", "a.example.", "c.example.", "d.example."] {
        store
            .create_zone(&name(zone), ZoneKind::Secondary, &[])
            .unwrap();
    }
    store.create_tsig_key(&tsig("transfer-key")).unwrap();
    store.create_tsig_key(&tsig("other")).unwrap();
    store
        .set_zone_settings(
            &name("b.example."),
            r#"{"primaries":["192.0.2.1:53"],"tsig_key":"transfer-key"}"#,
        )
        .unwrap();
    store
        .set_zone_settings(
            &name("a.example."),
            r#"{"allow_transfer":["192.0.2.0/24","key:Transfer-Key."]}"#,
        )
        .unwrap();
    // Mentions that are not the key: another key, a prefix, a non-string.
    store
        .set_zone_settings(
            &name("c.example."),
            r#"{"tsig_key":"other","allow_transfer":["key:transfer-key2",7,{"x":1}],"notify":["key:transfer-key"]}"#,
        )
        .unwrap();
    store
        .set_zone_settings(&name("d.example."), r#"{"allow_transfer":"key:other"}"#)
        .unwrap();

    let err = store.delete_tsig_key("transfer-key").unwrap_err();
    match &err {
        StoreError::KeyInUse { name, zones } => {
            assert_eq!(name, "transfer-key");
            assert_eq!(zones, &["a.example.", "b.example."]);
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("transfer-key") && text.contains("a.example.") && text.contains("b.example."),
        "{text}"
    );
    assert!(store.tsig_key("transfer-key").unwrap().is_some());

    let err = store.delete_tsig_key("other").unwrap_err();
    assert!(
        matches!(&err, StoreError::KeyInUse { zones, .. } if zones == &["c.example."]),
        "{err:?}"
    );

    // Once no zone refers to it any more, the key goes.
    store.set_zone_settings(&name("a.example."), "{}").unwrap();
    assert!(store.delete_zone(&name("b.example.")).unwrap());
    assert!(store.delete_tsig_key("transfer-key").unwrap());
    assert_eq!(store.tsig_key("transfer-key").unwrap(), None);
}

pub(super) fn api_keys_round_trip_and_uniqueness(t: &Target) {
    let store = t.open();
    let admin = ApiKeyRow {
        name: "admin".into(),
        token_hash: vec![7; 32],
        scopes: vec!["admin".into()],
        zones: None,
        created_at: 5,
        last_used_at: None,
    };
    store.create_api_key(&admin).unwrap();
    store.create_api_key(&api("ci", 1)).unwrap();
    assert_eq!(store.api_keys().unwrap(), vec![admin.clone(), api("ci", 1)]);
    assert_eq!(store.api_key_by_hash(&[1; 32]).unwrap(), Some(api("ci", 1)));
    assert_eq!(
        store.api_key_by_hash(&[7; 32]).unwrap(),
        Some(admin.clone())
    );
    assert_eq!(store.api_key_by_hash(&[2; 32]).unwrap(), None);

    let err = store.create_api_key(&api("CI", 3)).unwrap_err();
    assert!(
        matches!(&err, StoreError::KeyExists { name } if name == "CI"),
        "{err:?}"
    );
    let err = store.create_api_key(&api("deploy", 1)).unwrap_err();
    assert!(
        matches!(&err, StoreError::DuplicateToken { name } if name == "deploy"),
        "{err:?}"
    );
    assert_eq!(store.api_keys().unwrap().len(), 2);

    store.touch_api_key("ci", 1_700_000_100).unwrap();
    assert_eq!(
        store
            .api_key_by_hash(&[1; 32])
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(1_700_000_100)
    );
    store.touch_api_key("nobody", 1).unwrap();

    assert!(store.delete_api_key("ci").unwrap());
    assert!(!store.delete_api_key("ci").unwrap());
    assert_eq!(store.api_key_by_hash(&[1; 32]).unwrap(), None);
    // The name and token are free again.
    store.create_api_key(&api("ci", 1)).unwrap();
    assert_eq!(store.api_keys().unwrap().len(), 2);
}

pub(super) fn corrupt_api_key_json_is_an_error(t: &Target) {
    let store = t.open();
    store.create_api_key(&api("ci", 1)).unwrap();
    store.test_exec("UPDATE api_keys SET scopes = '[1, 2]'");
    let err = store.api_keys().unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(text) if text.contains("'ci'") && text.contains("scopes")),
        "{err:?}"
    );
    assert!(store.api_key_by_hash(&[1; 32]).is_err());
}

pub(super) fn zone_created_with_settings_in_one_transaction(t: &Target) {
    let store = t.open();
    let zone: Name = "example.org.".parse().unwrap();
    let soa = Record {
        owner: zone.clone(),
        rtype: Rtype::SOA,
        class: Class::IN,
        ttl: 300,
        rdata: [
            &b"\x03ns1\x07example\x03org\x00\x04host\x07example\x03org\x00"[..],
            &[
                0, 0, 0, 7, 0, 0, 14, 16, 0, 0, 3, 132, 0, 9, 58, 128, 0, 0, 0, 60,
            ][..],
        ]
        .concat()
        .into(),
    };
    // Settings that are not a JSON object: nothing is stored at all.
    let e = store
        .create_zone_with_settings(&zone, ZoneKind::Primary, "[1]", std::slice::from_ref(&soa))
        .unwrap_err();
    assert!(matches!(e, StoreError::InvalidSettings { .. }), "{e}");
    assert!(store.zone(&zone).unwrap().is_none());
    assert!(store.zones().unwrap().is_empty());
    // Valid settings are there as soon as the zone is.
    let row = store
        .create_zone_with_settings(
            &zone,
            ZoneKind::Primary,
            r#"{"serial_policy":"increment"}"#,
            &[soa],
        )
        .unwrap();
    assert_eq!(row.serial, 7);
    assert_eq!(row.settings, r#"{"serial_policy":"increment"}"#);
    assert_eq!(store.zone(&zone).unwrap().unwrap().settings, row.settings);
    assert_eq!(store.journal(&zone).unwrap().len(), 1);
}

pub(super) fn readers_see_every_commit(t: &Target) {
    let store = t.open();
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    for i in 1..=20u32 {
        assert_eq!(store.zone(&z).unwrap().unwrap().serial, i);
        let added = a("n.example.com.", i as u8);
        assert_eq!(store.record_id(&z, &added).unwrap(), None);
        let (_, ids) = store
            .commit_change_with_ids(&z, &bump(i, i + 1, vec![], vec![added.clone()]))
            .unwrap();
        // ids[0] is the new SOA's.
        assert_eq!(store.record_id(&z, &added).unwrap(), Some(ids[1]));
        assert_eq!(store.record_by_id(&z, ids[1]).unwrap(), Some(added));
        assert_eq!(store.journal_since(&z, i).unwrap().len(), 1);
    }
    assert_eq!(store.zone(&z).unwrap().unwrap().serial, 21);
}

pub(super) fn scan_records_visits_every_record_in_storage_order(t: &Target) {
    {
        let store = with_example(t);
        let z = name("example.com.");
        store
            .commit_change(
                &z,
                &bump(
                    1,
                    2,
                    vec![a("ns1.example.com.", 1)],
                    vec![a("Late.EXAMPLE.com.", 9)],
                ),
            )
            .unwrap();
        let mut seen = Vec::new();
        let n = store
            .scan_records::<StoreError>(&z, |owner, rtype, ttl, rdata| {
                seen.push((owner.to_vec(), rtype, ttl, rdata.to_vec()));
                Ok(())
            })
            .unwrap();
        let expected: Vec<_> = store
            .zone_records_with_ids(&z)
            .unwrap()
            .into_iter()
            .map(|(_, r)| (key_of(&r.owner), r.rtype, r.ttl, r.rdata.to_vec()))
            .collect();
        assert_eq!(n, expected.len() as u64);
        assert_eq!(seen, expected);
        // The SOA added by the change and the new A record come last, owners lowercased.
        let last = seen.last().unwrap();
        assert_eq!(last.0, name("late.example.com.").as_wire());
        assert_eq!(
            (last.1, last.2, &last.3[..]),
            (Rtype::A, 300, &[192, 0, 2, 9][..])
        );
        assert_eq!(seen[seen.len() - 2].1, Rtype::SOA);
        assert!(seen
            .iter()
            .all(|(o, _, _, _)| o.iter().all(|b| !b.is_ascii_uppercase())));

        // Other zones' records are not visited; an empty zone visits nothing.
        store
            .create_zone(
                &name("other.example."),
                ZoneKind::Primary,
                &[a("other.example.", 1)],
            )
            .unwrap();
        store
            .create_zone(&name("empty.example."), ZoneKind::Primary, &[])
            .unwrap();
        let mut calls = 0;
        let n = store
            .scan_records::<StoreError>(&name("EMPTY.example."), |_, _, _, _| {
                calls += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!((n, calls), (0, 0));
        assert_eq!(
            store
                .scan_records::<StoreError>(&z, |_, _, _, _| Ok(()))
                .unwrap(),
            expected.len() as u64
        );

        // An error from `f` stops the scan and comes back as is.
        let mut calls = 0;
        let err = store
            .scan_records(&z, |_, _, _, _| {
                calls += 1;
                if calls == 2 {
                    Err(ScanError::Stop)
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
        assert!(matches!(err, ScanError::Stop), "{err:?}");
        assert_eq!(calls, 2);

        let err = store
            .scan_records(&name("absent.example."), |_, _, _, _| Ok(()))
            .unwrap_err();
        assert!(
            matches!(err, ScanError::Store(StoreError::NotFound { .. })),
            "{err:?}"
        );
    }
}

pub(super) fn scan_records_refuses_out_of_range_columns(t: &Target) {
    let store = t.open();
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    store.test_exec("UPDATE records SET rtype = 70000 WHERE rtype = 1");
    let err = store
        .scan_records::<StoreError>(&z, |_, _, _, _| Ok(()))
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    store.test_exec("UPDATE records SET rtype = 1, ttl = -1 WHERE rtype = 70000");
    let err = store
        .scan_records::<StoreError>(&z, |_, _, _, _| Ok(()))
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    if !t.is_pg() {
        // A column of the wrong type (SQLite columns take anything).
        store.test_exec("UPDATE records SET ttl = 1, owner_key = 'text' WHERE ttl = -1");
        let err = store
            .scan_records::<StoreError>(&z, |_, _, _, _| Ok(()))
            .unwrap_err();
        assert!(matches!(err, StoreError::Database { .. }), "{err:?}");
    }
}

pub(super) fn record_by_id_only_in_its_zone(t: &Target) {
    {
        let store = with_example(t);
        let z = name("example.com.");
        let other = name("other.example.");
        store
            .create_zone(&other, ZoneKind::Primary, &[a("other.example.", 1)])
            .unwrap();
        let records = store.zone_records_with_ids(&z).unwrap();
        for (id, record) in &records {
            assert_eq!(store.record_by_id(&z, *id).unwrap().as_ref(), Some(record));
            assert_eq!(
                store
                    .record_by_id(&name("EXAMPLE.COM."), *id)
                    .unwrap()
                    .as_ref(),
                Some(record)
            );
            assert_eq!(store.record_by_id(&other, *id).unwrap(), None);
        }
        // The owner keeps its stored case.
        let www = records
            .iter()
            .find(|(_, r)| r.owner == name("www.example.com."))
            .unwrap();
        assert_eq!(
            store
                .record_by_id(&z, www.0)
                .unwrap()
                .unwrap()
                .owner
                .to_string(),
            "Www.Example.COM."
        );
        let (other_id, _) = store.zone_records_with_ids(&other).unwrap()[0].clone();
        assert_eq!(store.record_by_id(&z, other_id).unwrap(), None);
        assert_eq!(store.record_by_id(&z, -1).unwrap(), None);
        assert_eq!(store.record_by_id(&z, i64::MAX).unwrap(), None);

        // A removed record's id is gone.
        store
            .commit_change(&z, &bump(1, 2, vec![a("www.example.com.", 2)], vec![]))
            .unwrap();
        assert_eq!(store.record_by_id(&z, www.0).unwrap(), None);
        assert!(matches!(
            store.record_by_id(&name("absent.example."), www.0),
            Err(StoreError::NotFound { .. })
        ));
    }
}

pub(super) fn records_matching_filters_by_owner_and_type(t: &Target) {
    {
        let store = with_example(t);
        let z = name("example.com.");
        store
            .create_zone(
                &name("other.example."),
                ZoneKind::Primary,
                &[a("other.example.", 1)],
            )
            .unwrap();
        store
            .commit_change(&z, &bump(1, 2, vec![], vec![a("WWW.example.com.", 7)]))
            .unwrap();
        let all = store.zone_records_with_ids(&z).unwrap();
        let pick = |f: &dyn Fn(&Record) -> bool| -> Vec<(i64, Record)> {
            all.iter().filter(|(_, r)| f(r)).cloned().collect()
        };

        assert_eq!(store.records_matching(&z, None, None).unwrap(), all);
        let apex = store
            .records_matching(&z, Some(&name("Example.Com.")), None)
            .unwrap();
        assert_eq!(apex, pick(&|r| r.owner == z));
        assert_eq!(
            apex.iter().map(|(_, r)| r.rtype).collect::<Vec<_>>(),
            // Ascending id: the SOA of serial 2 was added last.
            [Rtype::NS, Rtype::TXT, Rtype::SOA]
        );
        let www = store
            .records_matching(&z, Some(&name("www.EXAMPLE.com.")), Some(Rtype::A))
            .unwrap();
        assert_eq!(
            www,
            pick(&|r| r.owner == name("www.example.com.") && r.rtype == Rtype::A)
        );
        assert_eq!(www.len(), 2);
        assert_eq!(
            www.iter()
                .map(|(_, r)| r.owner.to_string())
                .collect::<Vec<_>>(),
            ["Www.Example.COM.", "WWW.example.com."],
            "owners in their stored case"
        );
        assert!(www[0].0 < www[1].0);
        let a_records = store.records_matching(&z, None, Some(Rtype::A)).unwrap();
        assert_eq!(a_records, pick(&|r| r.rtype == Rtype::A));
        assert_eq!(a_records.len(), 3);
        assert_eq!(
            store
                .records_matching(&z, None, Some(Rtype(65400)))
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            store
                .records_matching(&z, Some(&name("www.example.com.")), Some(Rtype::MX))
                .unwrap(),
            vec![]
        );
        assert_eq!(
            store
                .records_matching(&z, Some(&name("other.example.")), None)
                .unwrap(),
            vec![],
            "another zone's owner"
        );
        assert!(matches!(
            store.records_matching(&name("absent.example."), None, None),
            Err(StoreError::NotFound { .. })
        ));
    }
}

pub(super) fn record_id_ignores_ttl_and_owner_case(t: &Target) {
    {
        let store = with_example(t);
        let z = name("example.com.");
        let all = store.zone_records_with_ids(&z).unwrap();
        for (id, record) in &all {
            assert_eq!(store.record_id(&z, record).unwrap(), Some(*id));
        }
        let www_id = all
            .iter()
            .find(|(_, r)| r.owner == name("www.example.com."))
            .map(|(id, _)| *id);
        let mut probe = a("WWW.EXAMPLE.COM.", 2);
        probe.ttl = 1;
        assert_eq!(store.record_id(&z, &probe).unwrap(), www_id);
        assert_eq!(
            store.record_id(&z, &a("www.example.com.", 3)).unwrap(),
            None
        );
        let mut other_class = a("www.example.com.", 2);
        other_class.class = Class(3);
        assert_eq!(store.record_id(&z, &other_class).unwrap(), None);
        assert_eq!(
            store
                .record_id(
                    &z,
                    &rec("www.example.com.", Rtype::AAAA, 300, &[192, 0, 2, 2])
                )
                .unwrap(),
            None
        );
        assert!(matches!(
            store.record_id(&name("absent.example."), &probe),
            Err(StoreError::NotFound { .. })
        ));
    }
}

pub(super) fn apply_batch_applies_every_operation(t: &Target) {
    let store = t.open();
    let z = name("example.com.");
    let other = name("Other.Example.");
    store.create_tsig_key(&tsig("old-key")).unwrap();
    let ops = vec![
        BatchOp::CreateZone {
            name: z.clone(),
            kind: ZoneKind::Secondary,
            settings: r#"{"primaries":["192.0.2.1:53"]}"#.into(),
            created_at: 42,
            records: example(1),
        },
        BatchOp::Change {
            zone: z.clone(),
            change: bump(
                1,
                2,
                vec![a("www.example.com.", 2)],
                vec![a("new.example.com.", 5)],
            ),
        },
        BatchOp::Settings {
            zone: z.clone(),
            settings: r#"{"tsig_key":"k"}"#.into(),
        },
        BatchOp::CreateZone {
            name: other.clone(),
            kind: ZoneKind::Primary,
            settings: "{}".into(),
            created_at: 43,
            records: vec![a("other.example.", 1)],
        },
        BatchOp::PutTsigKey(tsig("k")),
        BatchOp::PutTsigKey(TsigKeyRow {
            secret: vec![9; 8],
            ..tsig("K")
        }),
        BatchOp::DeleteTsigKey("OLD-key".into()),
        BatchOp::DeleteTsigKey("never-there".into()),
        BatchOp::DeleteZone {
            zone: other.clone(),
        },
        BatchOp::DeleteZone {
            zone: name("absent.example."),
        },
    ];
    let meta = vec![
        ("replica.lsn".to_string(), "0/16B3748".to_string()),
        (
            "replica.zone.1".to_string(),
            r#"{"name":"example.com.","seq":2}"#.to_string(),
        ),
    ];
    store.apply_batch(&ops, &meta).unwrap();

    let row = store.zone(&z).unwrap().unwrap();
    assert_eq!(
        (row.kind, row.serial, row.created_at, row.settings.as_str()),
        (ZoneKind::Secondary, 2, 42, r#"{"tsig_key":"k"}"#)
    );
    let records = store.zone_records(&z).unwrap();
    assert!(records.contains(&a("new.example.com.", 5)));
    assert!(!records.contains(&a("Www.Example.COM.", 2)));
    assert!(records.contains(&soa("example.com.", 2)));
    let journal = store.journal(&z).unwrap();
    assert_eq!(journal.len(), 2, "creation and change journaled");
    assert_eq!(journal[0].change.added, example(1));
    assert_eq!(store.journal_since(&z, 1).unwrap().len(), 1);
    assert_eq!(store.zone(&other).unwrap(), None);
    let keys = store.tsig_keys().unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(
        (keys[0].name.as_str(), &keys[0].secret[..]),
        ("K", &[9u8; 8][..])
    );
    assert_eq!(
        store.meta_get("replica.lsn").unwrap().as_deref(),
        Some("0/16B3748")
    );
    assert!(store.meta_get("replica.zone.1").unwrap().is_some());

    // Meta alone, replacing the value; an empty batch is fine.
    store
        .apply_batch(&[], &[("replica.lsn".into(), "0/2000000".into())])
        .unwrap();
    assert_eq!(
        store.meta_get("replica.lsn").unwrap().as_deref(),
        Some("0/2000000")
    );
    store.apply_batch(&[], &[]).unwrap();
}

pub(super) fn apply_batch_is_atomic(t: &Target) {
    let store = with_example(t);
    let z = name("example.com.");
    let before = state(&store);
    let fresh = name("fresh.example.");
    let failing: Vec<(BatchOp, &str)> = vec![
        (
            BatchOp::Change {
                zone: z.clone(),
                change: bump(7, 8, vec![], vec![]),
            },
            "serial",
        ),
        (
            BatchOp::Change {
                zone: z.clone(),
                change: bump(2, 3, vec![a("gone.example.com.", 1)], vec![]),
            },
            "missing",
        ),
        (
            BatchOp::Settings {
                zone: z.clone(),
                settings: "[1]".into(),
            },
            "settings",
        ),
        (
            BatchOp::CreateZone {
                name: z.clone(),
                kind: ZoneKind::Primary,
                settings: "{}".into(),
                created_at: 1,
                records: vec![],
            },
            "exists",
        ),
        (
            BatchOp::Settings {
                zone: name("absent.example."),
                settings: "{}".into(),
            },
            "absent",
        ),
    ];
    for (last, what) in failing {
        let ops = vec![
            BatchOp::Change {
                zone: z.clone(),
                change: bump(
                    1,
                    2,
                    vec![a("ns1.example.com.", 1)],
                    vec![a("n.example.com.", 3)],
                ),
            },
            BatchOp::CreateZone {
                name: fresh.clone(),
                kind: ZoneKind::Primary,
                settings: "{}".into(),
                created_at: 5,
                records: vec![a("fresh.example.", 1)],
            },
            BatchOp::PutTsigKey(tsig("batch-key")),
            BatchOp::ReplaceZone {
                zone: name("replaced.example."),
                kind: ZoneKind::Secondary,
                settings: "{}".into(),
                serial: 9,
                records: vec![a("replaced.example.", 1)],
            },
            last,
        ];
        let err = store
            .apply_batch(&ops, &[("replica.lsn".into(), "0/1".into())])
            .unwrap_err();
        let expected = match what {
            "serial" => matches!(err, StoreError::SerialMismatch { expected: 7, .. }),
            "missing" => matches!(err, StoreError::MissingRecord { .. }),
            "settings" => matches!(err, StoreError::InvalidSettings { .. }),
            "exists" => matches!(err, StoreError::AlreadyExists { .. }),
            _ => matches!(err, StoreError::NotFound { .. }),
        };
        assert!(expected, "{what}: {err:?}");
        assert_eq!(state(&store), before, "{what}");
        assert_eq!(store.zone(&fresh).unwrap(), None, "{what}");
        assert_eq!(
            store.zone(&name("replaced.example.")).unwrap(),
            None,
            "{what}"
        );
        assert_eq!(store.tsig_key("batch-key").unwrap(), None, "{what}");
        assert_eq!(store.meta_get("replica.lsn").unwrap(), None, "{what}");
        assert_eq!(store.zones().unwrap().len(), 1, "{what}");
    }
}

pub(super) fn apply_batch_replace_zone_journal(t: &Target) {
    let store = with_example(t);
    let z = name("example.com.");
    store
        .commit_change(&z, &bump(1, 2, vec![], vec![a("c.example.com.", 1)]))
        .unwrap();
    // A new serial: one change entry holding the difference.
    let mut content = example(5);
    content.retain(|r| r.rtype != Rtype::TXT);
    content.push(a("d.example.com.", 4));
    let replace = |serial: u32, records: Vec<Record>, kind: ZoneKind| BatchOp::ReplaceZone {
        zone: z.clone(),
        kind,
        settings: r#"{"x":1}"#.into(),
        serial,
        records,
    };
    store
        .apply_batch(&[replace(5, content.clone(), ZoneKind::Secondary)], &[])
        .unwrap();
    let row = store.zone(&z).unwrap().unwrap();
    assert_eq!(
        (row.serial, row.kind, row.settings.as_str()),
        (5, ZoneKind::Secondary, r#"{"x":1}"#)
    );
    let mut stored = store.zone_records(&z).unwrap();
    let mut want = content.clone();
    let key = |r: &Record| (key_of(&r.owner), r.rtype.0, r.rdata.to_vec());
    stored.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(stored, want);
    let chain = store.journal_since(&z, 2).unwrap();
    assert_eq!(chain.len(), 1);
    let (removed, added) = diff(&store_records_at(&example(1), 2), &content);
    assert_eq!(chain[0].change.serial_to, 5);
    assert_eq!(chain[0].change.removed.len(), removed.len());
    assert_eq!(chain[0].change.added.len(), added.len());
    assert_eq!(
        store.journal_since(&z, 1).unwrap().len(),
        2,
        "the history still leads here"
    );

    // The same serial and the same content: nothing journaled.
    store
        .apply_batch(&[replace(5, content.clone(), ZoneKind::Secondary)], &[])
        .unwrap();
    assert_eq!(store.journal(&z).unwrap().len(), 3);

    // The same serial, other content: the journal restarts.
    let mut other = content.clone();
    other.push(a("e.example.com.", 6));
    store
        .apply_batch(&[replace(5, other.clone(), ZoneKind::Primary)], &[])
        .unwrap();
    let journal = store.journal(&z).unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].change.added, other);
    assert!(matches!(
        store.journal_since(&z, 2),
        Err(StoreError::JournalGap { .. })
    ));
    assert_eq!(store.zone(&z).unwrap().unwrap().kind, ZoneKind::Primary);

    // Duplicate records in a replacement are refused, nothing applied.
    let dup = vec![a("x.example.com.", 1), a("X.example.com.", 1)];
    let err = store
        .apply_batch(&[replace(6, dup, ZoneKind::Primary)], &[])
        .unwrap_err();
    assert!(matches!(err, StoreError::DuplicateRecord { .. }), "{err:?}");
    assert_eq!(store.zone(&z).unwrap().unwrap().serial, 5);
}

/// example(1)'s records after a change to `serial` that added c.example.com.
fn store_records_at(base: &[Record], serial: u32) -> Vec<Record> {
    let mut v: Vec<Record> = base
        .iter()
        .filter(|r| r.rtype != Rtype::SOA)
        .cloned()
        .collect();
    v.push(soa("example.com.", serial));
    v.push(a("c.example.com.", 1));
    v
}

pub(super) fn cluster_extras(t: &Target) {
    let store = t.open();
    let stop = AtomicBool::new(true);
    if !t.is_pg() {
        assert!(!store.is_cluster());
        assert!(matches!(
            store.heartbeat("cp1", 1000),
            Err(StoreError::NotCluster { .. })
        ));
        assert_eq!(store.edges().unwrap(), vec![]);
        let edge = EdgeRow {
            name: "e".into(),
            applied_lsn: "0/0".into(),
            lag_ms: None,
            serials: BTreeMap::new(),
            problems: vec![],
            ready: false,
            seen_at: 0,
            started_at: 0,
            dns: vec![],
        };
        let err = store.upsert_edge(&edge).unwrap_err();
        assert!(matches!(err, StoreError::NotCluster { .. }), "{err:?}");
        assert!(err.to_string().contains("SQLite"), "{err}");
        assert!(matches!(
            store.listen(&[CHANGE_CHANNEL], &stop, |_, _| {}),
            Err(StoreError::NotCluster { .. })
        ));
        assert!(matches!(
            store.notify(DNS_NOTIFY_CHANNEL, "{}"),
            Err(StoreError::NotCluster { .. })
        ));
        let lock = store.leader_lock().unwrap();
        assert!(lock.is_leader(), "SQLite: always the leader");
        return;
    }
    assert!(store.is_cluster());
    let at = store.heartbeat("cp-1", 1000).unwrap();
    assert!(at > 1_600_000_000_000);
    assert_eq!(
        store.test_i64("SELECT at_ms FROM heartbeat WHERE id = 1"),
        at
    );
    let at2 = store.heartbeat("cp-2", 500).unwrap();
    assert!(at2 >= at);
    assert_eq!(store.test_i64("SELECT COUNT(*) FROM heartbeat"), 1);
    assert_eq!(store.test_strings("SELECT writer FROM heartbeat"), ["cp-2"]);
    assert_eq!(
        store.test_i64("SELECT interval_ms::bigint FROM heartbeat"),
        500
    );

    assert_eq!(store.edges().unwrap(), vec![]);
    let mut edge = EdgeRow {
        name: "edge-b".into(),
        applied_lsn: "0/16B3748".into(),
        lag_ms: Some(3),
        serials: BTreeMap::from([("example.com.".to_string(), 7u32)]),
        problems: vec!["zone x.: halted".into()],
        ready: true,
        seen_at: 10,
        started_at: 5,
        dns: vec!["192.0.2.53:53".into(), "[2001:db8::53]:53".into()],
    };
    store.upsert_edge(&edge).unwrap();
    let first = EdgeRow {
        name: "edge-a".into(),
        applied_lsn: "0/0".into(),
        lag_ms: None,
        serials: BTreeMap::new(),
        problems: vec![],
        ready: false,
        seen_at: 1,
        started_at: 1,
        dns: vec![],
    };
    store.upsert_edge(&first).unwrap();
    edge.lag_ms = Some(9);
    edge.seen_at = 11;
    edge.dns = vec!["0.0.0.0:5300".into()];
    store.upsert_edge(&edge).unwrap();
    assert_eq!(store.edges().unwrap(), vec![first, edge]);
    assert_eq!(
        store.test_strings("SELECT dns FROM edges WHERE name = 'edge-b'"),
        [r#"["0.0.0.0:5300"]"#]
    );
    store
        .notify(DNS_NOTIFY_CHANNEL, r#"{"zone":"example.com."}"#)
        .unwrap();
    let lock = store.leader_lock().unwrap();
    assert!(
        lock.wait_leader(Duration::from_secs(5)),
        "the only contender leads"
    );
}

pub(super) fn invalid_channel_names_are_refused(t: &Target) {
    let store = t.open();
    let stop = AtomicBool::new(true);
    for bad in ["", "Upper", "semi;colon", "quote\"", &"x".repeat(64)] {
        let err = store.listen(&[bad], &stop, |_, _| {}).unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidChannel(_)),
            "{bad}: {err:?}"
        );
        assert!(matches!(
            store.notify(bad, ""),
            Err(StoreError::InvalidChannel(_))
        ));
    }
}
