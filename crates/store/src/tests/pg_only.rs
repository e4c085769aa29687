//! PostgreSQL-only tests: several control planes on one database, migrations
//! racing, publications, the leader lock, LISTEN, reconnection, URL and
//! grant errors.

use super::*;
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::Duration;

/// A store on a fresh database of the shared cluster, and the target to open more.
fn pg_target() -> Target {
    Target::pg()
}

#[test]
fn two_control_planes_serialize_writes_to_one_zone() {
    let t = pg_target();
    let stores = [Arc::new(t.open()), Arc::new(t.open())];
    let z = name("example.com.");
    stores[0]
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    let threads = 4;
    let per_thread = 25;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let store = stores[i % 2].clone();
            let barrier = barrier.clone();
            let z = z.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut mismatches = 0;
                let mut serials = Vec::new();
                for n in 0..per_thread {
                    let added = a(&format!("t{i}n{n}.example.com."), (n % 250) as u8);
                    loop {
                        let serial = store.zone(&z).unwrap().unwrap().serial;
                        let change = bump(serial, serial + 1, vec![], vec![added.clone()]);
                        match store.commit_change(&z, &change) {
                            Ok(entry) => {
                                serials.push(entry.change.serial_to);
                                break;
                            }
                            Err(StoreError::SerialMismatch { .. }) => mismatches += 1,
                            Err(e) => panic!("thread {i}: {e}"),
                        }
                    }
                }
                (serials, mismatches)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut mismatches = 0;
    for h in handles {
        let (serials, m) = h.join().unwrap();
        all.extend(serials);
        mismatches += m;
    }
    let total = (threads * per_thread) as u32;
    // Every serial from 2 to total + 1 was won exactly once.
    let unique: HashSet<u32> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a serial was committed twice");
    assert_eq!(unique, (2..=total + 1).collect::<HashSet<u32>>());
    println!("{total} commits from 2 control planes, {mismatches} serial mismatches retried");
    for store in &stores {
        assert_eq!(store.zone(&z).unwrap().unwrap().serial, total + 1);
        let chain = store.journal_since(&z, 1).unwrap();
        assert_eq!(
            chain.len(),
            total as usize,
            "the serial rose once per change"
        );
        let records = store.zone_records(&z).unwrap();
        for i in 0..threads {
            for n in 0..per_thread {
                let owner = name(&format!("t{i}n{n}.example.com."));
                assert!(
                    records.iter().any(|r| r.owner == owner),
                    "lost update: {owner}"
                );
            }
        }
    }
}

/// Regression (found by the cluster test of signed relays): a NOTIFY over
/// DNS/TCP reaching a cluster control plane read the store on a tokio
/// worker, and the sync `postgres` client panicked there ("Cannot start a
/// runtime from within a runtime"), taking the API down with it. Reads
/// and writes now work from a worker of a multi-thread runtime.
#[test]
fn reads_and_writes_work_from_a_tokio_worker() {
    let store = Arc::new(pg_target().open());
    let z = name("example.com.");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = store.clone();
    let found = runtime.block_on(async move {
        tokio::spawn(async move {
            s.create_zone(&z, ZoneKind::Primary, &example(1)).unwrap();
            s.zone(&z).unwrap().map(|row| row.serial)
        })
        .await
        .unwrap()
    });
    assert_eq!(found, Some(1));
}

#[test]
fn migrations_are_applied_once_when_opens_race() {
    let url = fresh_database();
    let threads = 4;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let url = url.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                Store::open_url(&url).map(|s| s.schema_version())
            })
        })
        .collect();
    for h in handles {
        let v = h.join().unwrap().unwrap().unwrap();
        assert_eq!(v, pg_schema::code_version());
    }
    let store = Store::open_url(&url).unwrap();
    assert_eq!(
        store.test_i64("SELECT COUNT(*) FROM schema_migrations"),
        i64::from(pg_schema::code_version())
    );
    assert_eq!(
        store.test_i64("SELECT COUNT(*) FROM pg_publication WHERE pubname LIKE 'zonecast%'"),
        2
    );
}

#[test]
fn publications_exist_after_open_and_are_repaired() {
    let t = pg_target();
    let store = t.open();
    let published = |store: &Store| {
        let mut v = store.test_strings(
            "SELECT pubname || ':' || tablename FROM pg_publication_tables ORDER BY 1",
        );
        v.sort();
        v
    };
    let want = [
        "zonecast:heartbeat",
        "zonecast:tsig_keys",
        "zonecast:zones",
        "zonecast_journal:journal",
    ];
    assert_eq!(published(&store), want);
    assert_eq!(
        store.test_strings(
            "SELECT (pubinsert, pubupdate, pubdelete)::text FROM pg_publication WHERE pubname = 'zonecast_journal'"
        ),
        ["(t,f,f)"],
        "journal: inserts only"
    );
    assert_eq!(
        store.test_i64(
            "SELECT COUNT(*) FROM pg_class WHERE relname = 'zones' AND relreplident = 'f'"
        ),
        1,
        "zones has REPLICA IDENTITY FULL"
    );
    // Opening again changes nothing; a damaged publication is completed, a missing one made again.
    drop(t.open());
    assert_eq!(published(&store), want);
    store.test_exec(
        "ALTER PUBLICATION zonecast DROP TABLE tsig_keys; DROP PUBLICATION zonecast_journal",
    );
    assert_eq!(published(&store).len(), 2);
    drop(t.open());
    assert_eq!(published(&store), want);
}

#[test]
fn leader_lock_is_exclusive_and_handed_over() {
    let t = pg_target();
    let (s1, s2) = (t.open(), t.open());
    let l1 = s1.leader_lock().unwrap();
    assert!(l1.wait_leader(Duration::from_secs(5)));
    let l2 = s2.leader_lock().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(l1.is_leader());
    assert!(!l2.is_leader(), "two leaders at once");
    // A third contender on the same store is refused too.
    let l3 = s1.leader_lock().unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    assert!(!l3.is_leader());
    drop(l3);
    drop(l1);
    assert!(
        l2.wait_leader(Duration::from_secs(5)),
        "leadership is handed over once the holder goes"
    );
    let holders = s2.test_i64(&format!(
        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
         AND ((classid::bigint << 32) | objid::bigint) = {}",
        LEADER_LOCK_KEY
    ));
    assert_eq!(holders, 1);
}

/// LISTEN events as a listener thread sends them: `None` for Listening.
type Events = mpsc::Receiver<Option<(String, String)>>;

/// Collects LISTEN events on a thread until `stop` is set.
fn listener(
    store: Arc<Store>,
    channels: &'static [&'static str],
    stop: Arc<AtomicBool>,
) -> (Events, std::thread::JoinHandle<Result<(), StoreError>>) {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        store.listen_with(channels, &stop, |event| {
            let _ = tx.send(match event {
                ListenEvent::Listening => None,
                ListenEvent::Notification { channel, payload } => {
                    Some((channel.to_string(), payload.to_string()))
                }
            });
        })
    });
    (rx, handle)
}

fn next_event(rx: &Events) -> Option<(String, String)> {
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(e) => e,
        Err(e) => panic!("no LISTEN event: {e}"),
    }
}

#[test]
fn listen_receives_zone_changes_and_relayed_notifies() {
    let t = pg_target();
    let writer = t.open();
    let stop = Arc::new(AtomicBool::new(false));
    let (rx, handle) = listener(
        Arc::new(t.open()),
        &[CHANGE_CHANNEL, DNS_NOTIFY_CHANNEL],
        stop.clone(),
    );
    assert_eq!(next_event(&rx), None, "Listening first");
    let z = name("Example.COM.");
    let change = |ch: &str| Some((ch.to_string(), "example.com.".to_string()));
    writer
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    assert_eq!(next_event(&rx), change(CHANGE_CHANNEL));
    writer
        .commit_change(&z, &bump(1, 2, vec![], vec![a("n.example.com.", 1)]))
        .unwrap();
    // A commit's notice carries the serial it reached (a ChangeNotice).
    assert_eq!(
        next_event(&rx),
        Some((CHANGE_CHANNEL.to_string(), "example.com. 2".to_string()))
    );
    // A refused change notifies nothing (its transaction rolled back).
    assert!(writer
        .commit_change(&z, &bump(1, 2, vec![], vec![]))
        .is_err());
    writer.set_zone_settings(&z, r#"{"a":1}"#).unwrap();
    assert_eq!(next_event(&rx), change(CHANGE_CHANNEL));
    let payload = r#"{"zone":"example.com.","from":"192.0.2.1:53","edge":"e1"}"#;
    writer.notify(DNS_NOTIFY_CHANNEL, payload).unwrap();
    assert_eq!(
        next_event(&rx),
        Some((DNS_NOTIFY_CHANNEL.to_string(), payload.to_string()))
    );
    writer.delete_zone(&z).unwrap();
    assert_eq!(next_event(&rx), change(CHANGE_CHANNEL));
    stop.store(true, Ordering::SeqCst);
    handle.join().unwrap().unwrap();
}

#[test]
fn store_and_listen_survive_a_server_restart() {
    let pg = TestPg::start();
    let url = pg.create_database("zc_restart");
    let store = Arc::new(Store::open_url(&url).unwrap());
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (rx, handle) = listener(
        Arc::new(Store::open_url(&url).unwrap()),
        &[CHANGE_CHANNEL],
        stop.clone(),
    );
    assert_eq!(next_event(&rx), None);
    let lock = store.leader_lock().unwrap();
    assert!(lock.wait_leader(Duration::from_secs(5)));

    // Warm the read connections, then restart the server under them.
    let other = Store::open_url(&url).unwrap();
    assert_eq!(store.zone_records(&z).unwrap(), example(1));
    pg.stop();
    std::thread::sleep(Duration::from_millis(300));
    assert!(other.zone(&z).is_err(), "the server is down");
    assert!(matches!(
        other.zone(&z),
        Err(StoreError::Unreachable { .. })
    ));
    pg.start_again();

    // The readers and the writer connect again on their next use.
    let scanned = store
        .scan_records::<StoreError>(&z, |_, _, _, _| Ok(()))
        .unwrap();
    assert_eq!(scanned, example(1).len() as u64);
    assert_eq!(store.zone_records(&z).unwrap(), example(1));
    store
        .commit_change(&z, &bump(1, 2, vec![], vec![a("after.example.com.", 1)]))
        .unwrap();
    assert_eq!(store.zone(&z).unwrap().unwrap().serial, 2);
    assert_eq!(other.zone(&z).unwrap().unwrap().serial, 2);
    // The listener connected again (Listening once more) and hears new changes.
    assert_eq!(next_event(&rx), None, "listening again");
    store
        .commit_change(&z, &bump(2, 3, vec![], vec![]))
        .unwrap();
    assert_eq!(
        next_event(&rx),
        Some((CHANGE_CHANNEL.to_string(), "example.com. 3".to_string()))
    );
    // The leader lost its session with the restart and takes the lock again.
    assert!(lock.wait_leader(Duration::from_secs(10)));
    stop.store(true, Ordering::SeqCst);
    handle.join().unwrap().unwrap();
}

#[test]
fn wrong_urls_and_unreachable_servers_are_clear_errors() {
    for url in [
        "mysql://u@127.0.0.1/db",
        "127.0.0.1:5432/db",
        "sqlite:///tmp/x.db",
        "postgres://u@127.0.0.1:notaport/db",
    ] {
        let err = Store::open_url(url).unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidUrl { .. }),
            "{url}: {err:?}"
        );
        assert!(err.to_string().starts_with("invalid database URL"), "{err}");
        eprintln!("{url}: {err}");
    }
    // Nobody listens on this port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = Store::open_url(&format!(
        "postgresql://zc:s3cret-pw@127.0.0.1:{port}/zonecast"
    ))
    .unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{port}/zonecast")),
        "{text}"
    );
    assert!(
        !text.contains("s3cret"),
        "the password is not shown: {text}"
    );
    eprintln!("{text}");
    // A missing database.
    let err = Store::open_url(&shared_pg().url_for("no_such_db")).unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    eprintln!("{err}");
}

#[test]
fn missing_grants_are_named_and_an_edge_role_can_open() {
    let pg = shared_pg();
    let url = fresh_database();
    let db = url.rsplit('/').next().unwrap().to_string();
    pg.psql(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zc_weak') THEN CREATE ROLE zc_weak LOGIN; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zc_edge') THEN CREATE ROLE zc_edge LOGIN REPLICATION; END IF;
         END $$",
    );
    let as_role = |role: &str| format!("postgres://{role}@127.0.0.1:{}/{db}", pg.port());
    // A role that may not create tables can't set up a new database.
    let err = Store::open_url(&as_role("zc_weak")).unwrap_err();
    assert!(matches!(err, StoreError::MissingGrants { .. }), "{err:?}");
    assert!(err.to_string().contains("privilege"), "{err}");
    eprintln!("{err}");

    // Once a control plane made the schema, an edge role with read grants opens it.
    let control = Store::open_url(&url).unwrap();
    control
        .create_zone(&name("example.com."), ZoneKind::Primary, &example(1))
        .unwrap();
    pg.psql_in(
        &db,
        "GRANT SELECT ON zones, records, journal, heartbeat, tsig_keys, schema_migrations TO zc_edge;
         GRANT INSERT, UPDATE, SELECT ON edges TO zc_edge",
    );
    let edge = Store::open_url(&as_role("zc_edge")).unwrap();
    assert_eq!(edge.zones().unwrap().len(), 1);
    assert_eq!(
        edge.zone_records(&name("example.com.")).unwrap(),
        example(1)
    );
    edge.upsert_edge(&EdgeRow {
        name: "e1".into(),
        applied_lsn: "0/1".into(),
        lag_ms: Some(1),
        serials: Default::default(),
        problems: vec![],
        ready: true,
        seen_at: 1,
        started_at: 1,
        dns: vec!["127.0.0.1:5300".into()],
    })
    .unwrap();
    assert_eq!(control.edges().unwrap().len(), 1);
    let err = edge
        .create_zone(&name("other.example."), ZoneKind::Primary, &[])
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingGrants { .. }), "{err:?}");
}

#[test]
fn reads_do_not_wait_for_an_open_write_transaction() {
    let t = pg_target();
    let store = t.open();
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Primary, &example(1))
        .unwrap();
    store.meta_set("k", "before").unwrap();
    let Target::Pg(url) = &t else { unreachable!() };
    let mut other = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
    let mut tx = other.transaction().unwrap();
    tx.batch_execute("UPDATE meta SET value = 'after' WHERE key = 'k'; DELETE FROM records")
        .unwrap();
    let start = Instant::now();
    assert_eq!(store.zone(&z).unwrap().map(|z| z.serial), Some(1));
    assert_eq!(store.zone_records(&z).unwrap(), example(1));
    assert_eq!(store.meta_get("k").unwrap().as_deref(), Some("before"));
    assert_eq!(
        store
            .scan_records::<StoreError>(&z, |_, _, _, _| Ok(()))
            .unwrap(),
        example(1).len() as u64
    );
    let took = start.elapsed();
    assert!(took < Duration::from_millis(500), "reads took {took:?}");
    tx.commit().unwrap();
    assert_eq!(store.meta_get("k").unwrap().as_deref(), Some("after"));
    assert_eq!(store.zone_records(&z).unwrap(), vec![]);
}

/// The API calls the store through `spawn_blocking`: the driver's own
/// runtime works there (it must not be called from an async task itself).
/// The last reference to the store is dropped inside the async block: the
/// connections are closed on a thread of their own (dropping a driver
/// client inside a runtime would panic).
#[test]
fn works_from_spawn_blocking_inside_a_runtime() {
    let t = pg_target();
    let store = Arc::new(t.open());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let zones = runtime.block_on(async move {
        let s = store.clone();
        tokio::task::spawn_blocking(move || {
            s.create_zone(&name("example.com."), ZoneKind::Primary, &example(1))?;
            s.zones()
        })
        .await
        .unwrap()
    });
    assert_eq!(zones.unwrap().len(), 1);
}

#[test]
fn migration_2_gives_existing_edge_rows_an_empty_dns_list() {
    let pg = shared_pg();
    let url = fresh_database();
    let db = url.rsplit('/').next().unwrap().to_string();
    // A database as version 1 left it, with an edge row written then.
    pg.psql_in(
        &db,
        &format!(
            "CREATE TABLE schema_migrations (version int PRIMARY KEY, applied_at bigint NOT NULL);
             {}
             INSERT INTO schema_migrations VALUES (1, 0);
             INSERT INTO edges (name, applied_lsn, seen_at, started_at) VALUES ('old', '0/1', 1, 1);",
            pg_schema::MIGRATIONS[0]
        ),
    );
    let store = Store::open_url(&url).unwrap();
    assert_eq!(store.schema_version().unwrap(), pg_schema::code_version());
    let edges = store.edges().unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0].name, "old");
    assert_eq!(edges[0].dns, Vec::<String>::new());
}

/// `zones.expires_at` (migration 3): set, read back, cleared; not a change
/// (serial and `updated_at` kept); an absent zone is NotFound. The embedded
/// store keeps none (a single node holds the deadline itself).
#[test]
fn zone_expiry_is_recorded_for_followers_and_is_not_a_change() {
    let store = pg_target().open();
    let z = name("example.com.");
    store
        .create_zone(&z, ZoneKind::Secondary, &example(7))
        .unwrap();
    let before = store.zone(&z).unwrap().unwrap();
    assert_eq!(store.zone_expiries().unwrap(), vec![]);
    store.set_zone_expiry(&z, Some(1_796_000_000_123)).unwrap();
    store.set_zone_expiry(&z, Some(1_796_000_000_123)).unwrap();
    assert_eq!(
        store.zone_expiries().unwrap(),
        vec![(z.clone(), 1_796_000_000_123)]
    );
    let after = store.zone(&z).unwrap().unwrap();
    assert_eq!(
        (after.serial, after.updated_at),
        (before.serial, before.updated_at)
    );
    store.set_zone_expiry(&z, None).unwrap();
    assert_eq!(store.zone_expiries().unwrap(), vec![]);
    let missing = name("missing.example.");
    assert!(matches!(
        store.set_zone_expiry(&missing, Some(1)),
        Err(StoreError::NotFound { .. })
    ));
}
