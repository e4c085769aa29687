//! The embedded SQLite store.

use crate::checkpoint::Checkpointer;
use crate::error::{db, StoreError};
use crate::pool::{ReadConn, ReaderPool, STATEMENT_CACHE};
use crate::wire::{decode_records, encode_records, soa_serial, MAX_RDATA_LEN};
use crate::{schema, Change, JournalEntry, ZoneKind, ZoneRow};
use rusqlite::{
    params, CachedStatement, Connection, OptionalExtension, Transaction, TransactionBehavior,
};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use zonecast_proto::name::lowercase_wire;
use zonecast_proto::rdata::format_presentation;
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

/// The store: one writer connection behind a mutex and a pool of read connections; `Send + Sync`.
///
/// Every write is one immediate transaction on the writer connection; several
/// processes may open the same directory and their writes are serialized by
/// SQLite. Reads use query-only connections of their own (up to four, opened
/// when first needed) and see the data committed when they start (a WAL
/// snapshot per statement, or per read transaction for the reads made of
/// several statements), so they don't wait for a write in progress. An
/// in-memory store reads through its writer connection, so there a read waits
/// for a write in progress.
pub struct Store {
    conn: Mutex<Connection>,
    /// `None` for an in-memory store.
    readers: Option<ReaderPool>,
    /// WAL checkpoints off the commit path; `None` for an in-memory store.
    checkpointer: Option<Checkpointer>,
}

/// A zone row as read, before its text columns are checked.
struct RawZone {
    id: i64,
    name: String,
    kind: String,
    serial: u32,
    settings: String,
    created_at: i64,
    updated_at: i64,
}

/// A journal row as read, blobs not yet decoded.
struct RawEntry {
    seq: i64,
    serial_from: u32,
    serial_to: u32,
    committed_at: i64,
    removed: Vec<u8>,
    added: Vec<u8>,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, migrating its schema.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        let conn = Connection::open(&path).map_err(db(|| format!("opening {}", path.display())))?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            .map_err(db(|| format!("enabling WAL on {}", path.display())))?;
        // Checkpoints run on their own thread (see `checkpoint`), not inside commits.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(db(|| format!("configuring {}", path.display())))?;
        let checkpointer = Checkpointer::start(path.clone(), BUSY_TIMEOUT)?;
        let mut store = Store::setup(conn, Some(ReaderPool::new(path, BUSY_TIMEOUT)))?;
        store.checkpointer = Some(checkpointer);
        Ok(store)
    }

    /// Opens a fresh store that lives in memory only (for tests and tools).
    ///
    /// It has a single connection: reads go through the writer connection and
    /// wait while a write is in progress (see the [`Store`] docs).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn =
            Connection::open_in_memory().map_err(db(|| "opening an in-memory database".into()))?;
        Store::setup(conn, None)
    }

    fn setup(mut conn: Connection, readers: Option<ReaderPool>) -> Result<Store, StoreError> {
        let ctx = || "configuring the connection".to_string();
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db(ctx))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db(ctx))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(db(ctx))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        schema::migrate(&mut conn, now_ms())?;
        Ok(Store {
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

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        schema::database_version(&*self.reader()?)
    }

    /// All zones, ordered by name.
    pub fn zones(&self) -> Result<Vec<ZoneRow>, StoreError> {
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

    /// The zone named `name`, if stored.
    pub fn zone(&self, name: &Name) -> Result<Option<ZoneRow>, StoreError> {
        find_zone(&*self.reader()?, name)
    }

    /// All records of a zone in the order they were stored, owners in the case given.
    pub fn zone_records(&self, name: &Name) -> Result<Vec<Record>, StoreError> {
        Ok(self
            .zone_records_with_ids(name)?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// All records of a zone with their stable ids, in the order they were stored (ascending id).
    ///
    /// An id is never reused: a record removed and added again gets a new one.
    pub fn zone_records_with_ids(&self, name: &Name) -> Result<Vec<(i64, Record)>, StoreError> {
        self.records_matching(name, None, None)
    }

    /// Records of a zone with their ids, ascending id, optionally only those of
    /// one owner (case-insensitive) and/or one type; uses the (zone_id,
    /// owner_key, rtype, ...) unique index when an owner is given.
    ///
    /// Owners are in the case they were stored in. [`StoreError::NotFound`] for an absent zone.
    pub fn records_matching(
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

    /// One record by its id, if it exists and belongs to `zone`.
    ///
    /// The owner is in the case it was stored in. [`StoreError::NotFound`] for an absent zone.
    pub fn record_by_id(&self, zone: &Name, id: i64) -> Result<Option<Record>, StoreError> {
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

    /// The id of the record with this owner (case-insensitive), type, class and rdata, if stored.
    ///
    /// The TTL is not compared. [`StoreError::NotFound`] for an absent zone.
    pub fn record_id(&self, zone: &Name, record: &Record) -> Result<Option<i64>, StoreError> {
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

    /// Streams every record of a zone, in storage (rowid) order, without building a list.
    /// `f` gets the owner as the lowercased wire name (`owner_key` column), type, TTL and rdata.
    /// Returns the number of records visited. An error from `f` stops the scan and is returned.
    ///
    /// The scan is one read transaction, so it sees the zone as of one commit.
    /// [`StoreError::NotFound`] (converted to `E`) for an absent zone. `f`
    /// must not call back into this store: an in-memory store reads through
    /// its writer connection, which the scan holds.
    pub fn scan_records<E: From<StoreError>>(
        &self,
        zone: &Name,
        mut f: impl FnMut(&[u8], Rtype, u32, &[u8]) -> Result<(), E>,
    ) -> Result<u64, E> {
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
                ))
                .into());
            };
            f(owner, Rtype(rtype), ttl, rdata)?;
            n += 1;
        }
        Ok(n)
    }

    /// Replaces a zone's settings JSON and bumps its `updated_at`; the serial is not touched.
    ///
    /// Refused with [`StoreError::NotFound`] for an absent zone and
    /// [`StoreError::InvalidSettings`] unless `settings_json` is a JSON object.
    /// The text is stored as given.
    pub fn set_zone_settings(&self, zone: &Name, settings_json: &str) -> Result<(), StoreError> {
        let ctx = || format!("updating the settings of zone {zone}");
        let conn = self.lock();
        let kind: Option<String> = conn
            .prepare_cached("SELECT CASE WHEN json_valid(?1) THEN json_type(?1) END")
            .and_then(|mut s| s.query_row([settings_json], |r| r.get(0)))
            .map_err(db(ctx))?;
        match kind.as_deref() {
            Some("object") => {}
            Some(other) => {
                return Err(StoreError::InvalidSettings {
                    zone: zone.to_lowercase(),
                    reason: format!("expected a JSON object, got {other}"),
                })
            }
            None => {
                return Err(StoreError::InvalidSettings {
                    zone: zone.to_lowercase(),
                    reason: "not valid JSON".into(),
                })
            }
        }
        let n = conn
            .prepare_cached("UPDATE zones SET settings = ?1, updated_at = ?2 WHERE name = ?3")
            .and_then(|mut s| {
                s.execute(params![
                    settings_json,
                    now_ms(),
                    zone.to_lowercase().to_string()
                ])
            })
            .map_err(db(ctx))?;
        if n == 0 {
            return Err(not_found(zone));
        }
        Ok(())
    }

    /// Stores a new zone with `records` in one transaction and journals its creation.
    ///
    /// The serial is the one of the apex SOA among `records` (0 without one).
    /// Refused with nothing stored: an existing zone ([`StoreError::AlreadyExists`]),
    /// the same record twice ([`StoreError::DuplicateRecord`]), malformed apex SOA
    /// rdata or rdata too long for the wire ([`StoreError::InvalidRecord`]).
    pub fn create_zone(
        &self,
        name: &Name,
        kind: ZoneKind,
        records: &[Record],
    ) -> Result<ZoneRow, StoreError> {
        self.create_zone_with_settings(name, kind, "{}", records)
    }

    /// [`Store::create_zone`] with the zone's settings JSON written in the same transaction.
    ///
    /// Refused with [`StoreError::InvalidSettings`] when `settings_json` is not a JSON object.
    pub fn create_zone_with_settings(
        &self,
        name: &Name,
        kind: ZoneKind,
        settings_json: &str,
        records: &[Record],
    ) -> Result<ZoneRow, StoreError> {
        let zone_name = name.to_lowercase();
        if !matches!(
            serde_json::from_str::<serde_json::Value>(settings_json),
            Ok(serde_json::Value::Object(_))
        ) {
            return Err(StoreError::InvalidSettings {
                zone: zone_name,
                reason: "settings must be a JSON object".into(),
            });
        }
        check_records(name, records)?;
        let serial = match records
            .iter()
            .find(|r| r.rtype == Rtype::SOA && r.owner == *name)
        {
            Some(soa) => soa_serial(&soa.rdata).ok_or_else(|| StoreError::InvalidRecord {
                zone: zone_name.clone(),
                owner: soa.owner.clone(),
                rtype: Rtype::SOA,
                reason: "malformed SOA rdata".into(),
            })?,
            None => 0,
        };
        let now = now_ms();
        let ctx = || format!("creating zone {name}");
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(ctx))?;
        if find_zone(&tx, name)?.is_some() {
            return Err(StoreError::AlreadyExists { zone: zone_name });
        }
        tx.prepare_cached(
            "INSERT INTO zones (name, kind, serial, settings, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )
        .and_then(|mut s| {
            s.execute(params![zone_name.to_string(), kind.as_str(), serial, settings_json, now])
        })
        .map_err(db(ctx))?;
        let zone_id = tx.last_insert_rowid();
        {
            let mut insert = tx.prepare_cached(INSERT_RECORD).map_err(db(ctx))?;
            let mut key = Vec::with_capacity(256);
            for r in records {
                if insert_record(&mut insert, zone_id, r, &mut key).map_err(db(ctx))? == 0 {
                    return Err(duplicate(&zone_name, r));
                }
            }
        }
        append_journal(&tx, zone_id, "create", serial, serial, now, &[], records)
            .map_err(db(ctx))?;
        tx.commit().map_err(db(ctx))?;
        tracing::debug!(zone = %zone_name, serial, records = records.len(), "zone created");
        Ok(ZoneRow {
            id: zone_id,
            name: zone_name,
            kind,
            serial,
            settings: settings_json.into(),
            created_at: now,
            updated_at: now,
        })
    }

    /// Applies `change` to `zone` as one transaction and journals it; nothing is applied when refused.
    ///
    /// Refusals: [`StoreError::NotFound`], [`StoreError::SerialMismatch`] when the
    /// stored serial is not `change.serial_from`, [`StoreError::MissingRecord`]
    /// when a removed record is absent (TTL not compared), [`StoreError::DuplicateRecord`]
    /// when an added record is present after the removals, [`StoreError::InvalidRecord`]
    /// for rdata too long for the wire.
    pub fn commit_change(&self, zone: &Name, change: &Change) -> Result<JournalEntry, StoreError> {
        self.commit_change_with_ids(zone, change)
            .map(|(entry, _)| entry)
    }

    /// [`Store::commit_change`], also returning the new record ids of `change.added`, in its order.
    ///
    /// The ids are those [`Store::zone_records_with_ids`] reports for these records.
    pub fn commit_change_with_ids(
        &self,
        zone: &Name,
        change: &Change,
    ) -> Result<(JournalEntry, Vec<i64>), StoreError> {
        check_records(zone, &change.removed)?;
        check_records(zone, &change.added)?;
        let now = now_ms();
        let ctx = || format!("committing a change to zone {zone}");
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(ctx))?;
        let row = find_zone(&tx, zone)?.ok_or_else(|| not_found(zone))?;
        if row.serial != change.serial_from {
            return Err(StoreError::SerialMismatch {
                zone: row.name,
                expected: change.serial_from,
                found: row.serial,
            });
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
                    return Err(StoreError::MissingRecord {
                        zone: row.name,
                        owner: r.owner.clone(),
                        rtype: r.rtype,
                        rdata: format_presentation(r.rtype, &r.rdata),
                    });
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
            &tx,
            row.id,
            "change",
            change.serial_from,
            change.serial_to,
            now,
            &change.removed,
            &change.added,
        )
        .map_err(db(ctx))?;
        tx.commit().map_err(db(ctx))?;
        tracing::debug!(
            zone = %row.name,
            from = change.serial_from,
            to = change.serial_to,
            removed = change.removed.len(),
            added = change.added.len(),
            seq,
            "change committed"
        );
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

    /// The changes leading from `serial` to the zone's current serial, oldest first.
    ///
    /// Empty when `serial` is current. When several entries start from
    /// `serial` (the serial came back after wrapping), the latest one starts
    /// the chain, which gives the shortest one. [`StoreError::JournalGap`] when
    /// no entry starts at `serial` or the entries don't lead to the current serial.
    pub fn journal_since(&self, zone: &Name, serial: u32) -> Result<Vec<JournalEntry>, StoreError> {
        let mut conn = self.reader()?;
        let ctx = || format!("reading the journal of zone {zone}");
        let tx = conn.transaction().map_err(db(ctx))?;
        let row = find_zone(&tx, zone)?.ok_or_else(|| not_found(zone))?;
        if serial == row.serial {
            return Ok(Vec::new());
        }
        let gap = || StoreError::JournalGap {
            zone: row.name.clone(),
            from: serial,
            current: row.serial,
        };
        let start: Option<i64> = tx
            .prepare_cached(
                "SELECT MAX(seq) FROM journal WHERE zone_id = ?1 AND kind = 'change' AND serial_from = ?2",
            )
            .and_then(|mut s| s.query_row(params![row.id, serial], |r| r.get(0)))
            .map_err(db(ctx))?;
        let start = start.ok_or_else(gap)?;
        let raws = read_journal(
            &tx,
            &format!("SELECT {JOURNAL_COLUMNS} FROM journal WHERE zone_id = ?1 AND kind = 'change' AND seq >= ?2 ORDER BY seq"),
            params![row.id, start],
        )
        .map_err(db(ctx))?;
        let mut at = serial;
        for raw in &raws {
            if raw.serial_from != at {
                return Err(gap());
            }
            at = raw.serial_to;
        }
        if at != row.serial {
            return Err(gap());
        }
        raws.into_iter().map(|raw| raw.decode(&row.name)).collect()
    }

    /// Every journal entry of the zone, its creation included, oldest first.
    pub fn journal(&self, zone: &Name) -> Result<Vec<JournalEntry>, StoreError> {
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

    /// Deletes a zone with its records and journal; false when there was no such zone.
    pub fn delete_zone(&self, zone: &Name) -> Result<bool, StoreError> {
        let mut conn = self.lock();
        let ctx = || format!("deleting zone {zone}");
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(ctx))?;
        let Some(row) = find_zone(&tx, zone)? else {
            return Ok(false);
        };
        for sql in [
            "DELETE FROM records WHERE zone_id = ?1",
            "DELETE FROM journal WHERE zone_id = ?1",
            "DELETE FROM zones WHERE id = ?1",
        ] {
            tx.execute(sql, [row.id]).map_err(db(ctx))?;
        }
        tx.commit().map_err(db(ctx))?;
        tracing::debug!(zone = %row.name, "zone deleted");
        Ok(true)
    }

    /// A node-wide setting.
    pub fn meta_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.reader()?
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .map_err(db(|| format!("reading setting '{key}'")))
    }

    /// Sets a node-wide setting, replacing any previous value.
    pub fn meta_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.lock()
            .prepare_cached("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .and_then(|mut s| s.execute([key, value]))
            .map(|_| ())
            .map_err(db(|| format!("writing setting '{key}'")))
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The lowercased wire form of `name`, as in the `owner_key` column.
fn owner_key(name: &Name) -> Vec<u8> {
    let mut key = name.as_wire().to_vec();
    lowercase_wire(&mut key);
    key
}

/// The query of [`Store::records_matching`]: `?1` is the zone id, then come
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

fn not_found(zone: &Name) -> StoreError {
    StoreError::NotFound {
        zone: zone.to_lowercase(),
    }
}

fn duplicate(zone: &Name, r: &Record) -> StoreError {
    StoreError::DuplicateRecord {
        zone: zone.clone(),
        owner: r.owner.clone(),
        rtype: r.rtype,
        rdata: format_presentation(r.rtype, &r.rdata),
    }
}

/// Refuses records the journal's wire format can't hold.
fn check_records(zone: &Name, records: &[Record]) -> Result<(), StoreError> {
    match records.iter().find(|r| r.rdata.len() > MAX_RDATA_LEN) {
        Some(r) => Err(StoreError::InvalidRecord {
            zone: zone.to_lowercase(),
            owner: r.owner.clone(),
            rtype: r.rtype,
            reason: format!("rdata of {} octets is longer than 65535", r.rdata.len()),
        }),
        None => Ok(()),
    }
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

impl RawZone {
    fn check(self) -> Result<ZoneRow, StoreError> {
        let name = self
            .name
            .parse::<Name>()
            .map_err(|e| StoreError::Corrupt(format!("stored zone name '{}': {e}", self.name)))?;
        let kind = self
            .kind
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("zone {name}: {e}")))?;
        Ok(ZoneRow {
            id: self.id,
            name,
            kind,
            serial: self.serial,
            settings: self.settings,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
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

impl RawEntry {
    fn decode(self, zone: &Name) -> Result<JournalEntry, StoreError> {
        let blob = |buf: &[u8], which: &str| {
            decode_records(buf).map_err(|e| {
                StoreError::Corrupt(format!(
                    "zone {zone}: journal entry {} ({which}): {e}",
                    self.seq
                ))
            })
        };
        let removed = blob(&self.removed, "removed")?;
        let added = blob(&self.added, "added")?;
        Ok(JournalEntry {
            seq: self.seq,
            zone: zone.clone(),
            change: Change {
                serial_from: self.serial_from,
                serial_to: self.serial_to,
                removed,
                added,
            },
            committed_at: self.committed_at,
        })
    }
}
