//! SQLite-only tests: pragmas, the 1 → 2 migration, the read pool, query plans, WAL checkpoints.

use super::*;
use crate::pool::MAX_READERS;
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn pragmas_of_an_on_disk_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested").join("data");
    let store = Store::open(&data).unwrap();
    assert!(data.join("zonecast.db").is_file());
    let conn = store.sqlite().unwrap().raw();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 1, "NORMAL");
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    assert_eq!(schema::code_version(), schema::MIGRATIONS.len() as u32);
}

/// Security review (docs/security.md §2): the database holds TSIG secrets
/// and key hashes, so a new one is created private whatever the umask.
#[test]
fn a_new_data_dir_and_database_are_private_to_the_owner() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = Store::open(&data).unwrap();
    store
        .create_zone(&"example.com.".parse().unwrap(), ZoneKind::Primary, &[])
        .unwrap();
    assert_eq!(mode(&data), 0o700);
    for file in ["zonecast.db", "zonecast.db-wal", "zonecast.db-shm"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    drop(store);
    // An existing database keeps the mode its operator gave it.
    std::fs::set_permissions(
        data.join("zonecast.db"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let store = Store::open(&data).unwrap();
    assert_eq!(store.zones().unwrap().len(), 1);
    assert_eq!(mode(&data.join("zonecast.db")), 0o640);
}

#[test]
fn migrates_v1_database_to_v2() {
    let dir = tempfile::tempdir().unwrap();
    let z = name("example.com.");
    {
        // A database as a build knowing only migration 1 left it.
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 0);",
        )
        .unwrap();
        conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
        conn.execute(
            "INSERT INTO zones (name, kind, serial, settings, created_at, updated_at)
             VALUES ('example.com.', 'primary', 42, '{\"tsig_key\":\"k\"}', 1, 2)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO records (zone_id, owner, owner_key, rtype, class, ttl, rdata)
             VALUES (1, ?1, ?1, 1, 1, 300, x'c0000201')",
            [name("example.com.").as_wire()],
        )
        .unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), 2);
    let row = store.zone(&z).unwrap().unwrap();
    assert_eq!((row.serial, row.updated_at), (42, 2));
    assert_eq!(
        store.zone_records(&z).unwrap(),
        vec![rec("example.com.", Rtype::A, 300, &[192, 0, 2, 1])]
    );
    store.create_tsig_key(&tsig("k")).unwrap();
    let err = store.delete_tsig_key("k").unwrap_err();
    assert!(matches!(err, StoreError::KeyInUse { .. }), "{err:?}");
    store.create_api_key(&api("ci", 1)).unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), 2);
    assert_eq!(store.api_keys().unwrap(), vec![api("ci", 1)]);
    let applied: Vec<i64> = store
        .sqlite()
        .unwrap()
        .raw()
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(applied, [1, 2]);
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
            let mut conn = store.sqlite().unwrap().raw();
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
fn readers_are_pooled_and_query_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    let pool = store
        .sqlite()
        .unwrap()
        .reader_pool()
        .expect("an on-disk store has readers");
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
    let pool = store.sqlite().unwrap().reader_pool().unwrap();
    let open = pool.open_count();
    assert!((1..=MAX_READERS).contains(&open), "{open} readers open");

    let conn = store.sqlite().unwrap().reader().unwrap();
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
    let before = store.sqlite().unwrap().reader_pool().unwrap().open_count();
    let conn = store.sqlite().unwrap().reader().unwrap();
    conn.execute_batch("BEGIN").unwrap();
    drop(conn);
    assert_eq!(
        store.sqlite().unwrap().reader_pool().unwrap().open_count(),
        before - 1
    );
    assert!(store.zone(&z).unwrap().is_some());

    assert!(Store::open_in_memory()
        .unwrap()
        .sqlite()
        .unwrap()
        .reader_pool()
        .is_none());
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

/// Regression (issue 6, write latency): checkpoints run on their own
/// thread, so commits never checkpoint (automatic checkpoints are off on the
/// writer) and the WAL still does not grow with the number of commits.
#[test]
fn the_wal_is_checkpointed_off_the_commit_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let auto: i64 = store
        .sqlite()
        .unwrap()
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

/// The query plan of [`crate::sqlite::matching_sql`], one line per step.
fn matching_plan(store: &Store, owner: bool, rtype: bool) -> String {
    let sql = format!(
        "EXPLAIN QUERY PLAN {}",
        crate::sqlite::matching_sql(owner, rtype)
    );
    let params = [1, 2, 3]
        .into_iter()
        .take(1 + usize::from(owner) + usize::from(rtype));
    let conn = store.sqlite().unwrap().raw();
    let plan: Vec<String> = conn
        .prepare(&sql)
        .unwrap()
        .query_map(rusqlite::params_from_iter(params), |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    plan.join("; ")
}
