//! Store tests: one battery of shared tests run against every backend
//! (SQLite in memory, SQLite on disk, PostgreSQL), plus backend-specific ones.
//!
//! The PostgreSQL tests share one throwaway cluster per test binary
//! ([`zonecast_testpg::TestPg`], started on first use) and get a fresh
//! database each, so they stay fast; they fail, never skip, when PostgreSQL
//! can't be started.

use crate::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Instant;
use zonecast_proto::{Class, Name, Record, Rtype};
use zonecast_testpg::TestPg;

mod battery;
mod pg_only;
mod sqlite_only;

/// Where a battery test runs: each `open` gives a new `Store` on the same database.
pub(crate) enum Target {
    /// A fresh in-memory SQLite store per `open` (so only for tests that open once).
    Memory,
    /// A SQLite store in a temporary directory.
    File(tempfile::TempDir),
    /// A fresh database on the shared test cluster.
    Pg(String),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Target::Memory => "SQLite in memory",
            Target::File(_) => "SQLite file",
            Target::Pg(_) => "PostgreSQL",
        })
    }
}

/// The PostgreSQL cluster this test binary shares (started on first use).
pub(crate) fn shared_pg() -> &'static TestPg {
    static PG: OnceLock<TestPg> = OnceLock::new();
    PG.get_or_init(TestPg::start)
}

/// A fresh database on the shared cluster; its URL.
pub(crate) fn fresh_database() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    shared_pg().create_database(&format!("zc_test_{n}"))
}

impl Target {
    pub(crate) fn memory() -> Target {
        Target::Memory
    }

    pub(crate) fn file() -> Target {
        Target::File(tempfile::tempdir().unwrap())
    }

    pub(crate) fn pg() -> Target {
        Target::Pg(fresh_database())
    }

    pub(crate) fn try_open(&self) -> Result<Store, StoreError> {
        match self {
            Target::Memory => Store::open_in_memory(),
            Target::File(dir) => Store::open(dir.path()),
            Target::Pg(url) => Store::open_url(url),
        }
    }

    pub(crate) fn open(&self) -> Store {
        match self.try_open() {
            Ok(s) => s,
            Err(e) => panic!("opening the {self:?} store: {e}"),
        }
    }

    pub(crate) fn is_pg(&self) -> bool {
        matches!(self, Target::Pg(_))
    }

    pub(crate) fn code_version(&self) -> u32 {
        if self.is_pg() {
            pg_schema::code_version()
        } else {
            schema::code_version()
        }
    }

    /// The tables of the store's schema.
    pub(crate) fn tables(&self, store: &Store) -> Vec<String> {
        if self.is_pg() {
            store.test_strings(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            )
        } else {
            store.test_strings(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
        }
    }

    /// A blob literal in the backend's SQL.
    pub(crate) fn blob(&self, hex: &str) -> String {
        if self.is_pg() {
            format!("'\\x{hex}'::bytea")
        } else {
            format!("x'{hex}'")
        }
    }
}

/// `every`: tests run against every backend; `shared`: tests that open the
/// same database more than once (not for the in-memory store).
macro_rules! battery {
    (every: [$($every:ident),* $(,)?], shared: [$($shared:ident),* $(,)?] $(,)?) => {
        mod sqlite_memory {
            $( #[test] fn $every() { super::battery::$every(&super::Target::memory()); } )*
        }
        mod sqlite_file {
            $( #[test] fn $every() { super::battery::$every(&super::Target::file()); } )*
            $( #[test] fn $shared() { super::battery::$shared(&super::Target::file()); } )*
        }
        mod postgres {
            $( #[test] fn $every() { super::battery::$every(&super::Target::pg()); } )*
            $( #[test] fn $shared() { super::battery::$shared(&super::Target::pg()); } )*
        }
    };
}

battery! {
    every: [
        migrates_from_empty,
        create_and_load_round_trip,
        create_refusals_store_nothing,
        commit_change_applies_everything,
        refused_changes_leave_everything_unchanged,
        commit_changes_groups_chained_changes,
        trim_journal_keeps_the_newest_per_zone,
        refused_group_commit_applies_none,
        journal_since_builds_chains,
        journal_since_takes_the_latest_start,
        corrupt_journal_blob_is_an_error,
        delete_removes_zone_records_and_journal,
        meta_settings,
        concurrent_commits_one_wins,
        record_ids_follow_commits,
        refused_commit_with_ids_changes_nothing,
        settings_update,
        tsig_keys_round_trip_and_unique_names,
        tsig_key_in_use_is_not_deleted,
        api_keys_round_trip_and_uniqueness,
        corrupt_api_key_json_is_an_error,
        zone_created_with_settings_in_one_transaction,
        readers_see_every_commit,
        scan_records_visits_every_record_in_storage_order,
        scan_records_refuses_out_of_range_columns,
        record_by_id_only_in_its_zone,
        records_matching_filters_by_owner_and_type,
        record_id_ignores_ttl_and_owner_case,
        apply_batch_applies_every_operation,
        apply_batch_is_atomic,
        apply_batch_replace_zone_journal,
        cluster_extras,
        invalid_channel_names_are_refused,
    ],
    shared: [
        reopening_keeps_data,
        future_schema_is_refused,
        concurrent_commits_across_connections_one_wins,
        commit_latency,
        bulk_create_and_load,
    ],
}

fn name(s: &str) -> Name {
    s.parse().unwrap()
}

fn rec(owner: &str, rtype: Rtype, ttl: u32, rdata: &[u8]) -> Record {
    Record {
        owner: name(owner),
        rtype,
        class: Class::IN,
        ttl,
        rdata: rdata.into(),
    }
}

fn a(owner: &str, last: u8) -> Record {
    rec(owner, Rtype::A, 300, &[192, 0, 2, last])
}

fn soa(apex: &str, serial: u32) -> Record {
    let mut rdata = Vec::new();
    rdata.extend_from_slice(name(&format!("ns1.{apex}")).as_wire());
    rdata.extend_from_slice(name(&format!("hostmaster.{apex}")).as_wire());
    for v in [serial, 3600, 900, 604800, 60] {
        rdata.extend_from_slice(&v.to_be_bytes());
    }
    rec(apex, Rtype::SOA, 3600, &rdata)
}

fn ns(apex: &str) -> Record {
    rec(
        apex,
        Rtype::NS,
        3600,
        name(&format!("ns1.{apex}")).as_wire(),
    )
}

fn example(serial: u32) -> Vec<Record> {
    vec![
        soa("example.com.", serial),
        ns("example.com."),
        a("ns1.example.com.", 1),
        a("Www.Example.COM.", 2),
        rec("example.com.", Rtype::TXT, 60, b"\x05hello\x00"),
        rec("x.example.com.", Rtype(65400), 5, &[0xde, 0xad, 0, 0xff]),
    ]
}

/// A change that bumps the SOA from `from` to `to` and replaces `old` by `new`.
fn bump(from: u32, to: u32, old: Vec<Record>, new: Vec<Record>) -> Change {
    let mut removed = vec![soa("example.com.", from)];
    removed.extend(old);
    let mut added = vec![soa("example.com.", to)];
    added.extend(new);
    Change {
        serial_from: from,
        serial_to: to,
        removed,
        added,
    }
}

fn owners(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| r.owner.to_string()).collect()
}

fn journal_rows(store: &Store) -> i64 {
    store.test_i64("SELECT COUNT(*) FROM journal")
}

/// Records, serial and journal of example.com., to compare before and after a refusal.
fn state(store: &Store) -> (Vec<Record>, u32, Vec<JournalEntry>) {
    let z = name("example.com.");
    (
        store.zone_records(&z).unwrap(),
        store.zone(&z).unwrap().unwrap().serial,
        store.journal(&z).unwrap(),
    )
}

/// Runs `threads` commits from serial 1 at once through `stores` (round robin); returns the winners.
fn race(stores: &[Arc<Store>], threads: usize) -> usize {
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let change = bump(
                    1,
                    2 + i as u32,
                    vec![],
                    vec![a("race.example.com.", i as u8)],
                );
                barrier.wait();
                store.commit_change(&name("example.com."), &change)
            })
        })
        .collect();
    let mut wins = 0;
    for h in handles {
        match h.join().unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::SerialMismatch { expected: 1, .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    wins
}

/// example.com. at serial 1 in a store of `t`.
fn with_example(t: &Target) -> Store {
    let store = t.open();
    store
        .create_zone(&name("example.com."), ZoneKind::Primary, &example(1))
        .unwrap();
    store
}

fn tsig(name: &str) -> TsigKeyRow {
    TsigKeyRow {
        name: name.into(),
        algorithm: "hmac-sha256".into(),
        secret: vec![1, 2, 3, 0, 255],
        created_at: 1_700_000_000,
    }
}

fn api(name: &str, hash: u8) -> ApiKeyRow {
    ApiKeyRow {
        name: name.into(),
        token_hash: vec![hash; 32],
        scopes: vec!["records:write".into(), "zones:read".into()],
        zones: Some(vec!["example.com.".into()]),
        created_at: 1_700_000_001,
        last_used_at: None,
    }
}

fn key_of(owner: &Name) -> Vec<u8> {
    let mut key = owner.as_wire().to_vec();
    zonecast_proto::name::lowercase_wire(&mut key);
    key
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
fn store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Store>();
    check::<LeaderLock>();
}

#[test]
fn zone_kind_text() {
    assert_eq!(ZoneKind::Primary.to_string(), "primary");
    assert_eq!(ZoneKind::Secondary.to_string(), "secondary");
    assert_eq!(
        "Secondary".parse::<ZoneKind>().unwrap(),
        ZoneKind::Secondary
    );
    assert_eq!("primary".parse::<ZoneKind>().unwrap(), ZoneKind::Primary);
    assert!(
        matches!("tertiary".parse::<ZoneKind>(), Err(StoreError::UnknownKind(t)) if t == "tertiary")
    );
}
