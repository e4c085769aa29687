//! Tests of the read connections and the record lookups: scans, ids, filters.

use super::*;
use crate::pool::MAX_READERS;
use std::sync::mpsc;
use std::time::Duration;
use tempfile::TempDir;
use zonecast_proto::name::lowercase_wire;

/// An in-memory store and an on-disk one (with its directory), both holding example.com. at serial 1.
fn both() -> Vec<(Store, Option<TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let stores = vec![
        (Store::open_in_memory().unwrap(), None),
        (Store::open(dir.path()).unwrap(), Some(dir)),
    ];
    for (store, _) in &stores {
        store
            .create_zone(&name("example.com."), ZoneKind::Primary, &example(1))
            .unwrap();
    }
    stores
}

fn key_of(owner: &Name) -> Vec<u8> {
    let mut key = owner.as_wire().to_vec();
    lowercase_wire(&mut key);
    key
}

#[test]
fn read_completes_while_a_write_transaction_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    store.meta_set("k", "before").unwrap();
    // Warm one reader so the timing below doesn't include opening it.
    assert!(store.zone(&z).unwrap().is_some());

    let (started, wait_started) = mpsc::channel();
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            let mut conn = store.raw();
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            tx.execute("UPDATE meta SET value = 'after' WHERE key = 'k'", [])
                .unwrap();
            tx.execute("DELETE FROM records", []).unwrap();
            started.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(500));
            tx.commit().unwrap();
        })
    };
    wait_started.recv().unwrap();
    let start = Instant::now();
    let zone = store.zone(&z).unwrap();
    let records = store.zone_records(&z).unwrap();
    let meta = store.meta_get("k").unwrap();
    let scanned = store
        .scan_records::<StoreError>(&z, |_, _, _, _| Ok(()))
        .unwrap();
    let keys = store.api_key_by_hash(&[7; 32]).unwrap();
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(200),
        "reads took {took:?} while a write transaction was open"
    );
    // The uncommitted write is not seen.
    assert_eq!(zone.map(|z| z.serial), Some(1));
    assert_eq!(records, example(1));
    assert_eq!(scanned, example(1).len() as u64);
    assert_eq!(meta.as_deref(), Some("before"));
    assert_eq!(keys, None);
    assert!(
        !writer.is_finished(),
        "the write transaction must still be open"
    );

    writer.join().unwrap();
    // Once committed, it is.
    assert_eq!(store.meta_get("k").unwrap().as_deref(), Some("after"));
    assert_eq!(store.zone_records(&z).unwrap(), vec![]);
}

#[test]
fn readers_see_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
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

#[test]
fn readers_are_pooled_and_query_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    let pool = store.reader_pool().expect("an on-disk store has readers");
    assert_eq!(pool.open_count(), 0, "readers are opened when first needed");

    let threads = 3 * MAX_READERS;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let store = store.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let z = name("example.com.");
                for _ in 0..20 {
                    let n = store
                        .scan_records::<StoreError>(&z, |_, _, _, _| {
                            std::thread::yield_now();
                            Ok(())
                        })
                        .unwrap();
                    assert_eq!(n, 6);
                    assert_eq!(store.zones().unwrap().len(), 1);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let pool = store.reader_pool().unwrap();
    let open = pool.open_count();
    assert!((1..=MAX_READERS).contains(&open), "{open} readers open");

    let conn = store.reader().unwrap();
    let query_only: i64 = conn
        .query_row("PRAGMA query_only", [], |r| r.get(0))
        .unwrap();
    assert_eq!(query_only, 1);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(conn
        .execute("INSERT INTO meta (key, value) VALUES ('x', 'y')", [])
        .is_err());
    drop(conn);
    assert_eq!(store.meta_get("x").unwrap(), None);

    // A reader handed back inside a transaction is closed, not reused.
    let before = store.reader_pool().unwrap().open_count();
    let conn = store.reader().unwrap();
    conn.execute_batch("BEGIN").unwrap();
    drop(conn);
    assert_eq!(store.reader_pool().unwrap().open_count(), before - 1);
    assert!(store.zone(&z).unwrap().is_some());

    assert!(Store::open_in_memory().unwrap().reader_pool().is_none());
}

#[derive(Debug)]
enum ScanError {
    Store(StoreError),
    Stop,
}

impl From<StoreError> for ScanError {
    fn from(e: StoreError) -> ScanError {
        ScanError::Store(e)
    }
}

#[test]
fn scan_records_visits_every_record_in_storage_order() {
    for (store, _dir) in both() {
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

#[test]
fn scan_records_refuses_out_of_range_columns() {
    let store = Store::open_in_memory().unwrap();
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    store
        .raw()
        .execute("UPDATE records SET rtype = 70000 WHERE rtype = 1", [])
        .unwrap();
    let err = store
        .scan_records::<StoreError>(&z, |_, _, _, _| Ok(()))
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    store
        .raw()
        .execute(
            "UPDATE records SET rtype = 1, owner_key = 'text' WHERE rtype = 70000",
            [],
        )
        .unwrap();
    let err = store
        .scan_records::<StoreError>(&z, |_, _, _, _| Ok(()))
        .unwrap_err();
    assert!(matches!(err, StoreError::Database { .. }), "{err:?}");
}

#[test]
fn record_by_id_only_in_its_zone() {
    for (store, _dir) in both() {
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

#[test]
fn records_matching_filters_by_owner_and_type() {
    for (store, _dir) in both() {
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

/// The query plan of [`crate::sqlite::matching_sql`], one line per step.
fn matching_plan(store: &Store, owner: bool, rtype: bool) -> String {
    let sql = format!(
        "EXPLAIN QUERY PLAN {}",
        crate::sqlite::matching_sql(owner, rtype)
    );
    let params = [1, 2, 3]
        .into_iter()
        .take(1 + usize::from(owner) + usize::from(rtype));
    let conn = store.raw();
    let plan: Vec<String> = conn
        .prepare(&sql)
        .unwrap()
        .query_map(rusqlite::params_from_iter(params), |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    plan.join("; ")
}

#[test]
fn records_matching_by_owner_uses_the_unique_index() {
    let store = Store::open_in_memory().unwrap();
    let plan = matching_plan(&store, true, false);
    assert!(
        plan.contains("USING INDEX sqlite_autoindex_records_1 (zone_id=? AND owner_key=?)"),
        "{plan}"
    );
    let plan = matching_plan(&store, true, true);
    assert!(
        plan.contains(
            "USING INDEX sqlite_autoindex_records_1 (zone_id=? AND owner_key=? AND rtype=?)"
        ),
        "{plan}"
    );
    // Without an owner, the zone's rows come in id order from records_by_zone, unsorted.
    for rtype in [false, true] {
        let plan = matching_plan(&store, false, rtype);
        assert!(
            plan.contains("USING INDEX records_by_zone (zone_id=?)")
                && !plan.contains("TEMP B-TREE"),
            "{plan}"
        );
    }
}

#[test]
fn record_id_ignores_ttl_and_owner_case() {
    for (store, _dir) in both() {
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

/// Regression (issue 6, write latency): checkpoints run on their own
/// thread, so commits never checkpoint (automatic checkpoints are off on the
/// writer) and the WAL still does not grow with the number of commits.
#[test]
fn the_wal_is_checkpointed_off_the_commit_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let auto: i64 = store
        .raw()
        .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
        .unwrap();
    assert_eq!(auto, 0, "the writer must not checkpoint inside commits");
    let z = name("example.com.");
    store.meta_set("k", "0").unwrap();
    let wal = dir.path().join(format!("{DB_FILE}-wal"));
    let mut largest = 0;
    for round in 0..10 {
        for i in 0..200 {
            store
                .meta_set("k", &format!("{round}-{i}-{}", "x".repeat(3000)))
                .unwrap();
        }
        std::thread::sleep(crate::checkpoint::INTERVAL * 2);
        largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    assert!(store.zone(&z).unwrap().is_none());
    // 2,000 commits of a page or more each would make a WAL of 8 MiB and more.
    assert!(largest < 4 << 20, "WAL grew to {largest} octets");
}
