//! The embedded SQLite backend.

use crate::backend::{Backend, ScanFn};
use crate::checkpoint::Checkpointer;
use crate::common::{
    check_create, check_records, check_settings, duplicate, journal_chain, missing, not_found,
    now_ms, owner_key, serial_mismatch, RawEntry, RawZone,
};
use crate::error::{db, StoreError};
use crate::pool::{ReadConn, ReaderPool, STATEMENT_CACHE};
use crate::wire::{diff, encode_records};
use crate::{
    schema, ApiKeyRow, BatchOp, Change, EdgeRow, JournalEntry, LeaderLock, ListenEvent, TsigKeyRow,
    ZoneKind, ZoneRow,
};
use rusqlite::{
    params, CachedStatement, Connection, OptionalExtension, Transaction, TransactionBehavior,
};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use zonecast_proto::name::lowercase_wire;
use zonecast_proto::{Class, Name, Record, Rtype};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "zonecast.db";

/// How long a statement waits for another connection holding the database lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const ZONE_COLUMNS: &str = "id, name, kind, serial, settings, created_at, updated_at";
const INSERT_RECORD: &str =
    "INSERT INTO records (zone_id, owner, owner_key, rtype, class, ttl, rdata)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING";
const DELETE_RECORD: &str = "DELETE FROM records
     WHERE zone_id = ?1 AND owner_key = ?2 AND rtype = ?3 AND class = ?4 AND rdata = ?5";
const INSERT_JOURNAL: &str =
    "INSERT INTO journal (zone_id, kind, serial_from, serial_to, committed_at, removed, added)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const JOURNAL_COLUMNS: &str = "seq, serial_from, serial_to, committed_at, removed, added";
const RECORD_COLUMNS: &str = "id, owner, rtype, class, ttl, rdata";
const META_UPSERT: &str = "INSERT INTO meta (key, value) VALUES (?1, ?2)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

/// The SQLite backend: one writer connection behind a mutex and a pool of read connections.
///
/// Every write is one immediate transaction on the writer connection; several
/// processes may open the same directory and their writes are serialized by
/// SQLite. Reads use query-only connections of their own (up to four, opened
/// when first needed) and see the data committed when they start (a WAL
/// snapshot per statement, or per read transaction for the reads made of
/// several statements), so they don't wait for a write in progress. An
/// in-memory store reads through its writer connection, so there a read waits
/// for a write in progress.
pub(crate) struct SqliteStore {
    conn: Mutex<Connection>,
    /// `None` for an in-memory store.
    readers: Option<ReaderPool>,
    /// WAL checkpoints off the commit path; `None` for an in-memory store.
    checkpointer: Option<Checkpointer>,
}

/// Creates the data directory (mode 0700) and an empty database file
/// (mode 0600) when they are missing: the database holds TSIG secrets and
/// API key hashes. SQLite gives its `-wal` and `-shm` files the mode of the
/// database file. Existing ones keep their mode (the operator's choice);
/// a database that others may read is logged as a warning.
fn create_private(dir: &Path, path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))?;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mode = std::fs::metadata(path)
                .map_err(io(path))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{:o}", mode & 0o777),
                    "the database (TSIG secrets, API key hashes) is readable by other users; chmod 600 it and its -wal and -shm files"
                );
            }
            Ok(())
        }
        Err(e) => Err(io(path)(e)),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir`, migrating its schema.
    pub(crate) fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        let path = dir.join(DB_FILE);
        create_private(dir, &path)?;
        let conn = Connection::open(&path).map_err(db(|| format!("opening {}", path.display())))?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            .map_err(db(|| format!("enabling WAL on {}", path.display())))?;
        // Checkpoints run on their own thread (see `checkpoint`), not inside commits.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(db(|| format!("configuring {}", path.display())))?;
        let checkpointer = Checkpointer::start(path.clone(), BUSY_TIMEOUT)?;
        let mut store = SqliteStore::setup(conn, Some(ReaderPool::new(path, BUSY_TIMEOUT)))?;
        store.checkpointer = Some(checkpointer);
        Ok(store)
    }

    /// A fresh in-memory store with a single connection.
    pub(crate) fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let conn =
            Connection::open_in_memory().map_err(db(|| "opening an in-memory database".into()))?;
        SqliteStore::setup(conn, None)
    }

    fn setup(mut conn: Connection, readers: Option<ReaderPool>) -> Result<SqliteStore, StoreError> {
        let ctx = || "configuring the connection".to_string();
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db(ctx))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db(ctx))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(db(ctx))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        schema::migrate(&mut conn, now_ms())?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            readers,
            checkpointer: None,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock rolled its transaction back (Transaction's drop).
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection for reads: a pooled reader, or the writer for an in-memory store.
    pub(crate) fn reader(&self) -> Result<ReadConn<'_>, StoreError> {
        match &self.readers {
            Some(pool) => pool.get(),
            None => Ok(ReadConn::Writer(self.lock())),
        }
    }

    /// The read connections, `None` for an in-memory store; for tests.
    #[cfg(test)]
    pub(crate) fn reader_pool(&self) -> Option<&ReaderPool> {
        self.readers.as_ref()
    }

    /// The raw writer connection, for tests that damage or inspect the database.
    #[cfg(test)]
    pub(crate) fn raw(&self) -> MutexGuard<'_, Connection> {
        self.lock()
    }

    /// Runs `f` in one immediate transaction on the writer, committing when it succeeds.
    fn write<T>(
        &self,
        ctx: impl Fn() -> String,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(&ctx))?;
        let out = f(&tx)?;
        tx.commit().map_err(db(&ctx))?;
        Ok(out)
    }
}

impl Backend for SqliteStore {
    fn is_cluster(&self) -> bool {
        false
    }

    fn quick_check(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.reader()?;
        let ctx = || "checking the database file (PRAGMA quick_check)".to_string();
        let mut stmt = conn.prepare("PRAGMA quick_check").map_err(db(ctx))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(db(ctx))?;
        let mut problems = Vec::new();
        for row in rows {
            let line = row.map_err(db(ctx))?;
            if line != "ok" {
                problems.push(line);
            }
        }
        Ok(problems)
    }

    fn schema_version(&self) -> Result<u32, StoreError> {
        schema::database_version(&*self.reader()?)
    }

    fn zones(&self) -> Result<Vec<ZoneRow>, StoreError> {
        let conn = self.reader()?;
        let ctx = || "listing zones".to_string();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {ZONE_COLUMNS} FROM zones ORDER BY name"))
            .map_err(db(ctx))?;
        let raws = stmt
            .query_map([], raw_zone)
            .map_err(db(ctx))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db(ctx))?;
        raws.into_iter().map(RawZone::check).collect()
    }

    fn zone(&self, name: &Name) -> Result<Option<ZoneRow>, StoreError> {
        find_zone(&*self.reader()?, name)
    }

    fn records_matching(
        &self,
        zone: &Name,
        owner: Option<&Name>,
        rtype: Option<Rtype>,
    ) -> Result<Vec<(i64, Record)>, StoreError> {
        let mut conn = self.reader()?;
        let ctx = || format!("loading the records of zone {zone}");
        let tx = conn.transaction().map_err(db(ctx))?;
        let row = find_zone(&tx, zone)?.ok_or_else(|| not_found(zone))?;
        let key = owner.map(owner_key);
        let sql = matching_sql(key.is_some(), rtype.is_some());
        match (key, rtype) {
            (None, None) => collect_records(&tx, &sql, [row.id], zone),
            (None, Some(t)) => collect_records(&tx, &sql, params![row.id, t.0], zone),
            (Some(k), None) => collect_records(&tx, &sql, params![row.id, k], zone),
            (Some(k), Some(t)) => collect_records(&tx, &sql, params![row.id, k, t.0], zone),
        }
    }

    fn record_by_id(&self, zone: &Name, id: i64) -> Result<Option<Record>, StoreError> {
        let mut conn = self.reader()?;
        let ctx = || format!("reading record {id} of zone {zone}");
        let tx = conn.transaction().map_err(db(ctx))?;
        let row = find_zone(&tx, zone)?.ok_or_else(|| not_found(zone))?;
        let mut stmt = tx
            .prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE id = ?1 AND zone_id = ?2"
            ))
            .map_err(db(ctx))?;
        let mut rows = stmt.query(params![id, row.id]).map_err(db(ctx))?;
        match rows.next().map_err(db(ctx))? {
            Some(r) => Ok(Some(read_record(r, zone)?.1)),
            None => Ok(None),
        }
    }

    fn record_id(&self, zone: &Name, record: &Record) -> Result<Option<i64>, StoreError> {
        let mut conn = self.reader()?;
        let ctx = || format!("looking up a record of zone {zone}");
        let tx = conn.transaction().map_err(db(ctx))?;
        let row = find_zone(&tx, zone)?.ok_or_else(|| not_found(zone))?;
        tx.prepare_cached(
            "SELECT id FROM records
             WHERE zone_id = ?1 AND owner_key = ?2 AND rtype = ?3 AND class = ?4 AND rdata = ?5",
        )
        .and_then(|mut s| {
            s.query_row(
                params![
                    row.id,
                    owner_key(&record.owner),
                    record.rtype.0,
                    record.class.0,
                    &record.rdata[..]
                ],
                |r| r.get(0),
            )
            .optional()
        })
        .map_err(db(ctx))
    }

    fn scan_records(&self, zone: &Name, f: &mut ScanFn<'_>) -> Result<u64, StoreError> {
        let mut conn = self.reader()?;
        let ctx = || format!("scanning the records of zone {zone}");
        let tx = conn.transaction().map_err(db(ctx))?;
        let row = find_zone(&tx, zone)?.ok_or_else(|| not_found(zone))?;
        let mut stmt = tx
            .prepare_cached(
                "SELECT owner_key, rtype, ttl, rdata FROM records WHERE zone_id = ?1 ORDER BY id",
            )
            .map_err(db(ctx))?;
        let mut rows = stmt.query([row.id]).map_err(db(ctx))?;
        let mut n = 0u64;
        while let Some(r) = rows.next().map_err(db(ctx))? {
            let owner = r
                .get_ref(0)
                .and_then(|v| Ok(v.as_blob()?))
                .map_err(db(ctx))?;
            let rtype = r
                .get_ref(1)
                .and_then(|v| Ok(v.as_i64()?))
                .map_err(db(ctx))?;
            let ttl = r
                .get_ref(2)
                .and_then(|v| Ok(v.as_i64()?))
                .map_err(db(ctx))?;
            let rdata = r
                .get_ref(3)
                .and_then(|v| Ok(v.as_blob()?))
                .map_err(db(ctx))?;
            let (Ok(rtype), Ok(ttl)) = (u16::try_from(rtype), u32::try_from(ttl)) else {
                return Err(StoreError::Corrupt(format!(
                    "zone {zone}: stored record with type {rtype} and TTL {ttl}"
                )));
            };
            if !f(owner, Rtype(rtype), ttl, rdata) {
                break;
            }
            n += 1;
        }
        Ok(n)
    }

    fn set_zone_settings(&self, zone: &Name, settings_json: &str) -> Result<(), StoreError> {
        check_settings(zone, settings_json)?;
        self.write(
            || format!("updating the settings of zone {zone}"),
            |tx| tx_settings(tx, zone, settings_json, now_ms()),
        )
    }

    fn create_zone(
        &self,
        name: &Name,
        kind: ZoneKind,
        settings_json: &str,
        records: &[Record],
    ) -> Result<ZoneRow, StoreError> {
        let serial = check_create(name, settings_json, records)?;
        let row = self.write(
            || format!("creating zone {name}"),
            |tx| tx_create(tx, name, kind, settings_json, serial, now_ms(), records),
        )?;
        tracing::debug!(zone = %row.name, serial, records = records.len(), "zone created");
        Ok(row)
    }

    fn commit_changes(
        &self,
        zone: &Name,
        changes: &[Change],
    ) -> Result<Vec<(JournalEntry, Vec<i64>)>, StoreError> {
        self.write(
            || format!("committing changes to zone {zone}"),
            |tx| {
                let now = now_ms();
                changes
                    .iter()
                    .map(|c| tx_change(tx, zone, c, now))
                    .collect()
            },
        )
    }

    fn trim_journal(&self, keep: i64, cutoff_ms: i64) -> Result<u64, StoreError> {
        self.write(
            || "trimming the journal".to_string(),
            |tx| {
                let sql = crate::common::TRIM_JOURNAL_SQL
                    .replace("$1", "?1")
                    .replace("$2", "?2");
                tx.execute(&sql, params![keep, cutoff_ms])
                    .map(|n| n as u64)
                    .map_err(db(|| "trimming the journal".to_string()))
            },
        )
    }

    fn journal_since(&self, zone: &Name, serial: u32) -> Result<Vec<JournalEntry>, StoreError> {
        let mut conn = self.reader()?;
        let ctx = || format!("reading the journal of zone {zone}");
        let tx = conn.transaction().map_err(db(ctx))?;
        let row = find_zone(&tx, zone)?.ok_or_else(|| not_found(zone))?;
        if serial == row.serial {
            return Ok(Vec::new());
        }
        let start: Option<i64> = tx
            .prepare_cached(
                "SELECT MAX(seq) FROM journal WHERE zone_id = ?1 AND kind = 'change' AND serial_from = ?2",
            )
            .and_then(|mut s| s.query_row(params![row.id, serial], |r| r.get(0)))
            .map_err(db(ctx))?;
        let Some(start) = start else {
            return Err(StoreError::JournalGap {
                zone: row.name,
                from: serial,
                current: row.serial,
            });
        };
        let raws = read_journal(
            &tx,
            &format!("SELECT {JOURNAL_COLUMNS} FROM journal WHERE zone_id = ?1 AND kind = 'change' AND seq >= ?2 ORDER BY seq"),
            params![row.id, start],
        )
        .map_err(db(ctx))?;
        journal_chain(&row, serial, raws)
    }

    fn journal(&self, zone: &Name) -> Result<Vec<JournalEntry>, StoreError> {
        let mut conn = self.reader()?;
        let ctx = || format!("reading the journal of zone {zone}");
        let tx = conn.transaction().map_err(db(ctx))?;
        let row = find_zone(&tx, zone)?.ok_or_else(|| not_found(zone))?;
        let raws = read_journal(
            &tx,
            &format!("SELECT {JOURNAL_COLUMNS} FROM journal WHERE zone_id = ?1 ORDER BY seq"),
            params![row.id],
        )
        .map_err(db(ctx))?;
        raws.into_iter().map(|raw| raw.decode(&row.name)).collect()
    }

    fn delete_zone(&self, zone: &Name) -> Result<bool, StoreError> {
        let deleted = self.write(|| format!("deleting zone {zone}"), |tx| tx_delete(tx, zone))?;
        if deleted {
            tracing::debug!(zone = %zone.to_lowercase(), "zone deleted");
        }
        Ok(deleted)
    }

    fn meta_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.reader()?
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .map_err(db(|| format!("reading setting '{key}'")))
    }

    fn meta_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.lock()
            .prepare_cached(META_UPSERT)
            .and_then(|mut s| s.execute([key, value]))
            .map(|_| ())
            .map_err(db(|| format!("writing setting '{key}'")))
    }

    fn create_tsig_key(&self, key: &TsigKeyRow) -> Result<(), StoreError> {
        self.sqlite_create_tsig_key(key)
    }
    fn tsig_keys(&self) -> Result<Vec<TsigKeyRow>, StoreError> {
        self.sqlite_tsig_keys()
    }
    fn tsig_key(&self, name: &str) -> Result<Option<TsigKeyRow>, StoreError> {
        self.sqlite_tsig_key(name)
    }
    fn delete_tsig_key(&self, name: &str) -> Result<bool, StoreError> {
        self.sqlite_delete_tsig_key(name)
    }
    fn create_api_key(&self, key: &ApiKeyRow) -> Result<(), StoreError> {
        self.sqlite_create_api_key(key)
    }
    fn api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError> {
        self.sqlite_api_keys()
    }
    fn api_key_by_hash(&self, token_hash: &[u8]) -> Result<Option<ApiKeyRow>, StoreError> {
        self.sqlite_api_key_by_hash(token_hash)
    }
    fn delete_api_key(&self, name: &str) -> Result<bool, StoreError> {
        self.sqlite_delete_api_key(name)
    }
    fn touch_api_key(&self, name: &str, at: i64) -> Result<(), StoreError> {
        self.sqlite_touch_api_key(name, at)
    }

    fn apply_batch(&self, ops: &[BatchOp], meta: &[(String, String)]) -> Result<(), StoreError> {
        let ctx = || format!("applying a batch of {} operation(s)", ops.len());
        self.write(ctx, |tx| {
            let now = now_ms();
            for op in ops {
                apply_op(tx, op, now)?;
            }
            let mut upsert = tx.prepare_cached(META_UPSERT).map_err(db(ctx))?;
            for (k, v) in meta {
                upsert.execute([k, v]).map_err(db(ctx))?;
            }
            Ok(())
        })
    }

    fn heartbeat(&self, _writer: &str, _interval_ms: u32) -> Result<i64, StoreError> {
        Err(StoreError::NotCluster { what: "heartbeat" })
    }

    fn edges(&self) -> Result<Vec<EdgeRow>, StoreError> {
        Ok(Vec::new())
    }

    fn upsert_edge(&self, _edge: &EdgeRow) -> Result<(), StoreError> {
        Err(StoreError::NotCluster {
            what: "edge status",
        })
    }

    fn listen(
        &self,
        _channels: &[&str],
        _stop: &AtomicBool,
        _on_event: &mut dyn FnMut(ListenEvent<'_>),
    ) -> Result<(), StoreError> {
        Err(StoreError::NotCluster { what: "LISTEN" })
    }

    fn notify(&self, _channel: &str, _payload: &str) -> Result<(), StoreError> {
        Err(StoreError::NotCluster { what: "NOTIFY" })
    }

    fn leader_lock(&self) -> Result<LeaderLock, StoreError> {
        Ok(LeaderLock::always())
    }

    #[cfg(test)]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    #[cfg(test)]
    fn test_exec(&self, sql: &str) {
        if let Err(e) = self.lock().execute_batch(sql) {
            panic!("{sql}: {e}");
        }
    }

    #[cfg(test)]
    fn test_i64(&self, sql: &str) -> i64 {
        match self.lock().query_row(sql, [], |r| r.get(0)) {
            Ok(v) => v,
            Err(e) => panic!("{sql}: {e}"),
        }
    }

    #[cfg(test)]
    fn test_strings(&self, sql: &str) -> Vec<String> {
        let conn = self.lock();
        let rows = conn.prepare(sql).and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        });
        match rows {
            Ok(v) => v,
            Err(e) => panic!("{sql}: {e}"),
        }
    }
}

/// One batch step inside the batch's transaction.
fn apply_op(tx: &Transaction<'_>, op: &BatchOp, now: i64) -> Result<(), StoreError> {
    match op {
        BatchOp::CreateZone {
            name,
            kind,
            settings,
            created_at,
            records,
        } => {
            let serial = check_create(name, settings, records)?;
            tx_create(tx, name, *kind, settings, serial, *created_at, records).map(|_| ())
        }
        BatchOp::Change { zone, change } => {
            check_records(zone, &change.removed)?;
            check_records(zone, &change.added)?;
            tx_change(tx, zone, change, now).map(|_| ())
        }
        BatchOp::DeleteZone { zone } => tx_delete(tx, zone).map(|_| ()),
        BatchOp::Settings { zone, settings } => {
            check_settings(zone, settings)?;
            tx_settings(tx, zone, settings, now)
        }
        BatchOp::ReplaceZone {
            zone,
            kind,
            settings,
            serial,
            records,
        } => {
            check_create(zone, settings, records)?;
            tx_replace(tx, zone, *kind, settings, *serial, records, now)
        }
        BatchOp::PutTsigKey(key) => {
            let ctx = || format!("storing TSIG key '{}'", key.name);
            tx.execute("DELETE FROM tsig_keys WHERE name = ?1", [&key.name])
                .map_err(db(ctx))?;
            tx.execute(
                "INSERT INTO tsig_keys (name, algorithm, secret, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![key.name, key.algorithm, key.secret, key.created_at],
            )
            .map_err(db(ctx))?;
            Ok(())
        }
        BatchOp::DeleteTsigKey(name) => tx
            .execute("DELETE FROM tsig_keys WHERE name = ?1", [name])
            .map(|_| ())
            .map_err(db(|| format!("deleting TSIG key '{name}'"))),
    }
}

/// Inserts a zone (checked by [`check_create`]) with its records and creation entry.
fn tx_create(
    tx: &Transaction<'_>,
    name: &Name,
    kind: ZoneKind,
    settings_json: &str,
    serial: u32,
    created_at: i64,
    records: &[Record],
) -> Result<ZoneRow, StoreError> {
    let zone_name = name.to_lowercase();
    let ctx = || format!("creating zone {name}");
    if find_zone(tx, name)?.is_some() {
        return Err(StoreError::AlreadyExists { zone: zone_name });
    }
    tx.prepare_cached(
        "INSERT INTO zones (name, kind, serial, settings, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![zone_name.to_string(), kind.as_str(), serial, settings_json, created_at])
    })
    .map_err(db(ctx))?;
    let zone_id = tx.last_insert_rowid();
    insert_all(tx, zone_id, &zone_name, records)?;
    append_journal(
        tx,
        zone_id,
        "create",
        serial,
        serial,
        created_at,
        &[],
        records,
    )
    .map_err(db(ctx))?;
    Ok(ZoneRow {
        id: zone_id,
        name: zone_name,
        kind,
        serial,
        settings: settings_json.into(),
        created_at,
        updated_at: created_at,
    })
}

/// Inserts records into a zone; [`StoreError::DuplicateRecord`] for the first one already there.
fn insert_all(
    tx: &Transaction<'_>,
    zone_id: i64,
    zone_name: &Name,
    records: &[Record],
) -> Result<(), StoreError> {
    let ctx = || format!("storing the records of zone {zone_name}");
    let mut insert = tx.prepare_cached(INSERT_RECORD).map_err(db(ctx))?;
    let mut key = Vec::with_capacity(256);
    for r in records {
        if insert_record(&mut insert, zone_id, r, &mut key).map_err(db(ctx))? == 0 {
            return Err(duplicate(zone_name, r));
        }
    }
    Ok(())
}

/// Applies a change (records checked) inside `tx`.
fn tx_change(
    tx: &Transaction<'_>,
    zone: &Name,
    change: &Change,
    now: i64,
) -> Result<(JournalEntry, Vec<i64>), StoreError> {
    let ctx = || format!("committing a change to zone {zone}");
    let row = find_zone(tx, zone)?.ok_or_else(|| not_found(zone))?;
    if row.serial != change.serial_from {
        return Err(serial_mismatch(&row, change));
    }
    let mut key = Vec::with_capacity(256);
    {
        let mut delete = tx.prepare_cached(DELETE_RECORD).map_err(db(ctx))?;
        for r in &change.removed {
            key.clear();
            key.extend_from_slice(r.owner.as_wire());
            lowercase_wire(&mut key);
            let n = delete
                .execute(params![row.id, key, r.rtype.0, r.class.0, &r.rdata[..]])
                .map_err(db(ctx))?;
            if n == 0 {
                return Err(missing(&row.name, r));
            }
        }
    }
    let mut ids = Vec::with_capacity(change.added.len());
    {
        let mut insert = tx.prepare_cached(INSERT_RECORD).map_err(db(ctx))?;
        for r in &change.added {
            if insert_record(&mut insert, row.id, r, &mut key).map_err(db(ctx))? == 0 {
                return Err(duplicate(&row.name, r));
            }
            ids.push(tx.last_insert_rowid());
        }
    }
    tx.prepare_cached("UPDATE zones SET serial = ?1, updated_at = ?2 WHERE id = ?3")
        .and_then(|mut s| s.execute(params![change.serial_to, now, row.id]))
        .map_err(db(ctx))?;
    let seq = append_journal(
        tx,
        row.id,
        "change",
        change.serial_from,
        change.serial_to,
        now,
        &change.removed,
        &change.added,
    )
    .map_err(db(ctx))?;
    Ok((
        JournalEntry {
            seq,
            zone: row.name,
            change: change.clone(),
            committed_at: now,
        },
        ids,
    ))
}

/// Deletes a zone with its records and journal inside `tx`; false when absent.
fn tx_delete(tx: &Transaction<'_>, zone: &Name) -> Result<bool, StoreError> {
    let ctx = || format!("deleting zone {zone}");
    let Some(row) = find_zone(tx, zone)? else {
        return Ok(false);
    };
    for sql in [
        "DELETE FROM records WHERE zone_id = ?1",
        "DELETE FROM journal WHERE zone_id = ?1",
        "DELETE FROM zones WHERE id = ?1",
    ] {
        tx.execute(sql, [row.id]).map_err(db(ctx))?;
    }
    Ok(true)
}

/// Replaces a zone's settings (checked) inside `tx`.
fn tx_settings(
    tx: &Transaction<'_>,
    zone: &Name,
    settings_json: &str,
    now: i64,
) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached("UPDATE zones SET settings = ?1, updated_at = ?2 WHERE name = ?3")
        .and_then(|mut s| s.execute(params![settings_json, now, zone.to_lowercase().to_string()]))
        .map_err(db(|| format!("updating the settings of zone {zone}")))?;
    if n == 0 {
        return Err(not_found(zone));
    }
    Ok(())
}

/// Replaces a zone's whole content (see [`BatchOp::ReplaceZone`]) inside `tx`.
fn tx_replace(
    tx: &Transaction<'_>,
    zone: &Name,
    kind: ZoneKind,
    settings_json: &str,
    serial: u32,
    records: &[Record],
    now: i64,
) -> Result<(), StoreError> {
    let ctx = || format!("replacing zone {zone}");
    let Some(row) = find_zone(tx, zone)? else {
        tx_create(tx, zone, kind, settings_json, serial, now, records)?;
        return Ok(());
    };
    let old: Vec<Record> = collect_records(tx, &matching_sql(false, false), [row.id], &row.name)?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    tx.execute("DELETE FROM records WHERE zone_id = ?1", [row.id])
        .map_err(db(ctx))?;
    insert_all(tx, row.id, &row.name, records)?;
    tx.execute(
        "UPDATE zones SET kind = ?1, settings = ?2, serial = ?3, updated_at = ?4 WHERE id = ?5",
        params![kind.as_str(), settings_json, serial, now, row.id],
    )
    .map_err(db(ctx))?;
    let (removed, added) = diff(&old, records);
    if serial != row.serial {
        append_journal(
            tx, row.id, "change", row.serial, serial, now, &removed, &added,
        )
        .map_err(db(ctx))?;
    } else if !removed.is_empty() || !added.is_empty() {
        // Same serial, other content: the old history no longer leads here.
        tx.execute("DELETE FROM journal WHERE zone_id = ?1", [row.id])
            .map_err(db(ctx))?;
        append_journal(tx, row.id, "create", serial, serial, now, &[], records).map_err(db(ctx))?;
    }
    Ok(())
}

/// The query of `records_matching`: `?1` is the zone id, then come
/// the owner key and the type, those filtered on.
///
/// With an owner, `ORDER BY +id` keeps the planner from walking the whole zone
/// through `records_by_zone` (which yields id order without a sort) instead
/// of the few rows of the unique index; the `+` makes id order unavailable
/// from any index, so the index with the most equality constraints wins.
pub(crate) fn matching_sql(owner: bool, rtype: bool) -> String {
    let filter = match (owner, rtype) {
        (false, false) => " ORDER BY id",
        (false, true) => " AND rtype = ?2 ORDER BY id",
        (true, false) => " AND owner_key = ?2 ORDER BY +id",
        (true, true) => " AND owner_key = ?2 AND rtype = ?3 ORDER BY +id",
    };
    format!("SELECT {RECORD_COLUMNS} FROM records WHERE zone_id = ?1{filter}")
}

/// Reads the records a query of [`RECORD_COLUMNS`] returns.
fn collect_records(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    zone: &Name,
) -> Result<Vec<(i64, Record)>, StoreError> {
    let ctx = || format!("loading the records of zone {zone}");
    let mut stmt = conn.prepare_cached(sql).map_err(db(ctx))?;
    let mut rows = stmt.query(params).map_err(db(ctx))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db(ctx))? {
        out.push(read_record(row, zone)?);
    }
    Ok(out)
}

/// One row of [`RECORD_COLUMNS`].
fn read_record(row: &rusqlite::Row<'_>, zone: &Name) -> Result<(i64, Record), StoreError> {
    let ctx = || format!("reading the records of zone {zone}");
    let id: i64 = row.get(0).map_err(db(ctx))?;
    let owner_wire = row
        .get_ref(1)
        .and_then(|v| Ok(v.as_blob()?))
        .map_err(db(ctx))?;
    let owner = Name::from_wire(owner_wire)
        .map_err(|e| StoreError::Corrupt(format!("zone {zone}: stored owner name: {e}")))?;
    let rtype: u16 = row.get(2).map_err(db(ctx))?;
    let class: u16 = row.get(3).map_err(db(ctx))?;
    let ttl: u32 = row.get(4).map_err(db(ctx))?;
    let rdata = row
        .get_ref(5)
        .and_then(|v| Ok(v.as_blob()?))
        .map_err(db(ctx))?;
    Ok((
        id,
        Record {
            owner,
            rtype: Rtype(rtype),
            class: Class(class),
            ttl,
            rdata: rdata.into(),
        },
    ))
}

fn raw_zone(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawZone> {
    Ok(RawZone {
        id: row.get(0)?,
        name: row.get(1)?,
        kind: row.get(2)?,
        serial: row.get(3)?,
        settings: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
    })
}

fn find_zone(conn: &Connection, name: &Name) -> Result<Option<ZoneRow>, StoreError> {
    let key = name.to_lowercase().to_string();
    let raw = conn
        .prepare_cached(&format!("SELECT {ZONE_COLUMNS} FROM zones WHERE name = ?1"))
        .and_then(|mut s| s.query_row([&key], raw_zone).optional())
        .map_err(db(|| format!("looking up zone {name}")))?;
    raw.map(RawZone::check).transpose()
}

/// Inserts one record unless the same record (TTL aside) is there; returns the rows inserted.
fn insert_record(
    stmt: &mut CachedStatement<'_>,
    zone_id: i64,
    r: &Record,
    key: &mut Vec<u8>,
) -> rusqlite::Result<usize> {
    key.clear();
    key.extend_from_slice(r.owner.as_wire());
    lowercase_wire(key);
    stmt.execute(params![
        zone_id,
        r.owner.as_wire(),
        &key[..],
        r.rtype.0,
        r.class.0,
        r.ttl,
        &r.rdata[..]
    ])
}

#[allow(clippy::too_many_arguments)]
fn append_journal(
    tx: &Transaction<'_>,
    zone_id: i64,
    kind: &str,
    serial_from: u32,
    serial_to: u32,
    now: i64,
    removed: &[Record],
    added: &[Record],
) -> rusqlite::Result<i64> {
    tx.prepare_cached(INSERT_JOURNAL)?.execute(params![
        zone_id,
        kind,
        serial_from,
        serial_to,
        now,
        encode_records(removed),
        encode_records(added)
    ])?;
    Ok(tx.last_insert_rowid())
}

fn read_journal(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<RawEntry>> {
    let mut stmt = tx.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| {
        Ok(RawEntry {
            seq: r.get(0)?,
            serial_from: r.get(1)?,
            serial_to: r.get(2)?,
            committed_at: r.get(3)?,
            removed: r.get(4)?,
            added: r.get(5)?,
        })
    })?;
    rows.collect()
}
