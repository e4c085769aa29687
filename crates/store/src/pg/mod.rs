//! The PostgreSQL backend (cluster mode).
//!
//! Same shape as the SQLite side: one writer connection behind a mutex (every
//! write one transaction on it) and a pool of up to [`MAX_READERS`] read-only
//! connections, opened when first needed. Statements are prepared once per
//! connection and cached. A connection found closed (the server restarted)
//! is dropped and made again on its next use; the statement that found it
//! closed fails with its error and is not retried.
//!
//! The synchronous `postgres` driver blocks the calling thread on a small
//! runtime of its own: call it from ordinary threads (or
//! `tokio::task::spawn_blocking`), never from an async task.

mod cluster;

use crate::backend::{Backend, ScanFn};
use crate::common::{
    check_create, check_records, check_settings, duplicate, first_duplicate, identity,
    journal_chain, missing, not_found, now_ms, owner_key, serial_mismatch, settings_use_key,
    Identity, RawEntry, RawZone,
};
use crate::error::{pg, StoreError};
use crate::keys::{to_json, RawApiKey};
use crate::wire::{diff, encode_records};
use crate::{
    pg_schema, ApiKeyRow, BatchOp, Change, EdgeRow, JournalEntry, LeaderLock, ListenEvent,
    TsigKeyRow, ZoneKind, ZoneRow, CHANGE_CHANNEL,
};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, Config, IsolationLevel, NoTls, Row, Statement};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::AtomicBool;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use zonecast_proto::{Class, Name, Record, Rtype};

/// The most read connections a store keeps open.
pub(crate) const MAX_READERS: usize = 4;

/// Connect timeout when the URL sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Records per INSERT/DELETE statement of a large change or zone.
const CHUNK: usize = 5000;

const ZONE_COLUMNS: &str = "id, name, kind, serial, settings, created_at, updated_at";
const JOURNAL_COLUMNS: &str = "seq, serial_from, serial_to, committed_at, removed, added";
const API_KEY_COLUMNS: &str = "name, token_hash, scopes, zones, created_at, last_used_at";
const INSERT_RECORDS: &str =
    "INSERT INTO records (zone_id, owner, owner_key, rtype, class, ttl, rdata)
     SELECT $1, u.o, u.k, u.t, u.c, u.l, u.d
     FROM unnest($2::bytea[], $3::bytea[], $4::int[], $5::int[], $6::bigint[], $7::bytea[])
          WITH ORDINALITY AS u(o, k, t, c, l, d, n)
     ORDER BY u.n
     ON CONFLICT DO NOTHING
     RETURNING id, owner_key, rtype, class, rdata";
const DELETE_RECORDS: &str = "DELETE FROM records r
     USING unnest($2::bytea[], $3::int[], $4::int[], $5::bytea[]) AS d(k, t, c, rd)
     WHERE r.zone_id = $1 AND r.owner_key = d.k AND r.rtype = d.t AND r.class = d.c AND r.rdata = d.rd
     RETURNING r.owner_key, r.rtype, r.class, r.rdata";
const INSERT_JOURNAL: &str =
    "INSERT INTO journal (zone_id, kind, serial_from, serial_to, committed_at, removed, added)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq";
const NOTIFY_CHANGE: &str = "SELECT pg_notify($1, $2)";
const META_UPSERT: &str = "INSERT INTO meta (key, value) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";

/// A connection with its prepared statements.
pub(crate) struct PgConn {
    client: Client,
    stmts: HashMap<String, Statement>,
}

/// A transaction (or a plain connection) with the statement cache of its connection.
struct Tx<'a, C: postgres::GenericClient> {
    client: &'a mut C,
    stmts: &'a mut HashMap<String, Statement>,
}

impl<C: postgres::GenericClient> Tx<'_, C> {
    fn prep(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.stmts.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let s = self.prep(sql)?;
        self.client.query(&s, params)
    }

    fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, postgres::Error> {
        let s = self.prep(sql)?;
        self.client.query_opt(&s, params)
    }

    fn query_one(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, postgres::Error> {
        let s = self.prep(sql)?;
        self.client.query_one(&s, params)
    }

    fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let s = self.prep(sql)?;
        self.client.execute(&s, params)
    }
}

/// The PostgreSQL backend.
pub(crate) struct PgStore {
    config: Config,
    /// Host, port and database (no password), for messages.
    target: String,
    writer: Mutex<Option<PgConn>>,
    readers: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    idle: Vec<PgConn>,
    /// Open (idle or in use) or being opened.
    open: usize,
}

/// Parses a `postgres://` or `postgresql://` URL into a driver config with our defaults.
pub(crate) fn parse_url(url: &str) -> Result<(Config, String), StoreError> {
    let lower = url.get(..13).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("postgres://") || lower.starts_with("postgresql://")) {
        let shown = url.split("://").next().unwrap_or("");
        return Err(StoreError::InvalidUrl {
            reason: if url.contains("://") {
                format!("scheme '{shown}://' is not postgres:// or postgresql://")
            } else {
                "expected postgres://[user[:password]@]host[:port]/database".into()
            },
        });
    }
    let mut config = Config::from_str(url).map_err(|e| StoreError::InvalidUrl {
        reason: crate::error::pg_text(&e),
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("zonecast");
    }
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                postgres::config::Host::Tcp(s) => s.clone(),
                postgres::config::Host::Unix(p) => p.display().to_string(),
            };
            let port = config
                .get_ports()
                .get(i)
                .or(config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "localhost:5432".to_string()
    } else {
        hosts.join(",")
    };
    let user = config.get_user().unwrap_or("(default user)");
    let dbname = config.get_dbname().unwrap_or(user);
    let target = format!("{hosts}/{dbname} as {user}");
    Ok((config, target))
}

/// Opens a connection; `read_only` ones refuse writes.
pub(crate) fn connect(
    config: &Config,
    target: &str,
    read_only: bool,
) -> Result<Client, StoreError> {
    let mut client = config
        .connect(NoTls)
        .map_err(|source| StoreError::Unreachable {
            target: target.to_string(),
            source,
        })?;
    if read_only {
        client
            .batch_execute("SET default_transaction_read_only = on")
            .map_err(pg(|| format!("configuring a read connection to {target}")))?;
    }
    Ok(client)
}

/// Runs `f`, which blocks on PostgreSQL, so that it may be called from a
/// tokio worker thread too (a NOTIFY or a TSIG key lookup over DNS/TCP).
///
/// The `postgres` client drives its connection on a runtime of its own and
/// panics when called inside another ("Cannot start a runtime from within
/// a runtime"). On a worker of a multi-thread runtime, `block_in_place`
/// hands the worker's other tasks to another thread and leaves the
/// runtime's context for the time of `f`; elsewhere `f` just runs.
fn off_runtime<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

impl PgStore {
    /// Connects, migrates and checks the publications.
    pub(crate) fn open(url: &str) -> Result<PgStore, StoreError> {
        let (config, target) = parse_url(url)?;
        let mut client = connect(&config, &target, false)?;
        pg_schema::migrate(&mut client, now_ms())?;
        tracing::debug!(target = %target, "PostgreSQL store open");
        Ok(PgStore {
            config,
            target,
            writer: Mutex::new(Some(PgConn {
                client,
                stmts: HashMap::new(),
            })),
            readers: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        })
    }

    fn writer_guard(&self) -> MutexGuard<'_, Option<PgConn>> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the writer connection, connecting again if it was lost.
    fn with_writer<T>(
        &self,
        f: impl FnOnce(&mut PgConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        off_runtime(|| self.with_writer_here(f))
    }

    fn with_writer_here<T>(
        &self,
        f: impl FnOnce(&mut PgConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self.writer_guard();
        if guard.as_ref().is_none_or(|c| c.client.is_closed()) {
            *guard = None;
            let client = connect(&self.config, &self.target, false)?;
            *guard = Some(PgConn {
                client,
                stmts: HashMap::new(),
            });
        }
        let Some(conn) = guard.as_mut() else {
            unreachable!("the writer connection was just set");
        };
        let out = f(conn);
        if conn.client.is_closed() {
            *guard = None;
        }
        out
    }

    /// Runs `f` in one transaction on the writer, committing when it succeeds.
    ///
    /// When the connection turns out to be lost at `BEGIN` (the server
    /// restarted since its last use), nothing was sent yet: the transaction
    /// runs once more on a new connection. A connection lost later fails the
    /// call (the outcome of a COMMIT cut off is unknown; it is not replayed).
    fn write<T>(
        &self,
        ctx: impl Fn() -> String,
        mut f: impl FnMut(&mut Tx<'_, postgres::Transaction<'_>>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        for attempt in 0.. {
            let out = self.with_writer(|conn| {
                let mut tx = match conn.client.transaction() {
                    Ok(tx) => tx,
                    Err(e) => return Ok(Err(e)),
                };
                let out = f(&mut Tx {
                    client: &mut tx,
                    stmts: &mut conn.stmts,
                })?;
                tx.commit().map_err(pg(&ctx))?;
                Ok(Ok(out))
            })?;
            match out {
                Ok(out) => return Ok(out),
                // `with_writer` dropped the connection if it was found closed.
                Err(e) if attempt == 0 && (e.is_closed() || self.writer_guard().is_none()) => {
                    tracing::info!(target = %self.target, "PostgreSQL writer connection was lost; connecting again");
                }
                Err(e) => return Err(pg(&ctx)(e)),
            }
        }
        unreachable!("the loop returns")
    }

    /// Runs `f` on a pooled read-only connection; once more on a new
    /// connection when it failed because the connection was lost.
    fn with_reader<T>(
        &self,
        f: impl FnMut(&mut PgConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        off_runtime(|| self.with_reader_here(f))
    }

    fn with_reader_here<T>(
        &self,
        mut f: impl FnMut(&mut PgConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.get_reader()?;
        let mut out = f(&mut conn);
        if out.is_err() && conn.client.is_closed() {
            self.put_reader(conn);
            conn = self.get_reader()?;
            out = f(&mut conn);
        }
        self.put_reader(conn);
        out
    }

    /// Runs `f` in a REPEATABLE READ READ ONLY transaction on a reader: one snapshot for several statements.
    fn read<T>(
        &self,
        ctx: impl Fn() -> String,
        mut f: impl FnMut(&mut Tx<'_, postgres::Transaction<'_>>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_reader(|conn| {
            let mut tx = conn
                .client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(pg(&ctx))?;
            let out = f(&mut Tx {
                client: &mut tx,
                stmts: &mut conn.stmts,
            })?;
            tx.commit().map_err(pg(&ctx))?;
            Ok(out)
        })
    }

    fn pool(&self) -> MutexGuard<'_, PoolState> {
        self.readers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get_reader(&self) -> Result<PgConn, StoreError> {
        let mut state = self.pool();
        loop {
            while let Some(conn) = state.idle.pop() {
                if !conn.client.is_closed() {
                    return Ok(conn);
                }
                state.open -= 1;
            }
            if state.open < MAX_READERS {
                state.open += 1;
                drop(state);
                return match connect(&self.config, &self.target, true) {
                    Ok(client) => Ok(PgConn {
                        client,
                        stmts: HashMap::new(),
                    }),
                    Err(e) => {
                        self.pool().open -= 1;
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            state = self
                .returned
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn put_reader(&self, conn: PgConn) {
        let mut state = self.pool();
        if conn.client.is_closed() {
            state.open -= 1;
        } else {
            state.idle.push(conn);
        }
        drop(state);
        self.returned.notify_one();
    }

    /// Records of a zone from `SELECT z.id, r.id, r.owner, r.rtype, r.class, r.ttl, r.rdata
    /// FROM zones z LEFT JOIN records r ...`: no row means no zone.
    fn joined_records(
        &self,
        zone: &Name,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<(i64, Record)>, StoreError> {
        let ctx = || format!("loading the records of zone {zone}");
        let rows = self.with_reader(|conn| {
            Tx {
                client: &mut conn.client,
                stmts: &mut conn.stmts,
            }
            .query(sql, params)
            .map_err(pg(ctx))
        })?;
        if rows.is_empty() {
            return Err(not_found(zone));
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: Option<i64> = row.try_get(1).map_err(pg(ctx))?;
            if id.is_some() {
                out.push(read_record(row, 1, zone)?);
            }
        }
        Ok(out)
    }
}

impl Drop for PgStore {
    /// Closes the connections on a thread of its own: the driver blocks on a
    /// runtime of its own while closing, which panics inside an async
    /// runtime, where the last reference to a store may well be dropped.
    fn drop(&mut self) {
        let writer = self
            .writer
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let readers = std::mem::take(
            &mut self
                .readers
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .idle,
        );
        let closing = std::thread::Builder::new()
            .name("store-close".into())
            .spawn(move || {
                drop(writer);
                drop(readers);
            });
        match closing {
            Ok(t) => {
                let _ = t.join();
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot start a thread to close the PostgreSQL connections")
            }
        }
    }
}

fn to_i32(v: u16) -> i32 {
    i32::from(v)
}

/// Reads a record from columns `at..at+6`: id, owner, rtype, class, ttl, rdata.
fn read_record(row: &Row, at: usize, zone: &Name) -> Result<(i64, Record), StoreError> {
    let ctx = || format!("reading the records of zone {zone}");
    let id: i64 = row.try_get(at).map_err(pg(ctx))?;
    let owner: &[u8] = row.try_get(at + 1).map_err(pg(ctx))?;
    let rtype: i32 = row.try_get(at + 2).map_err(pg(ctx))?;
    let class: i32 = row.try_get(at + 3).map_err(pg(ctx))?;
    let ttl: i64 = row.try_get(at + 4).map_err(pg(ctx))?;
    let rdata: &[u8] = row.try_get(at + 5).map_err(pg(ctx))?;
    let owner = Name::from_wire(owner)
        .map_err(|e| StoreError::Corrupt(format!("zone {zone}: stored owner name: {e}")))?;
    let (Ok(rtype), Ok(class), Ok(ttl)) = (
        u16::try_from(rtype),
        u16::try_from(class),
        u32::try_from(ttl),
    ) else {
        return Err(StoreError::Corrupt(format!(
            "zone {zone}: stored record with type {rtype}, class {class} and TTL {ttl}"
        )));
    };
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

fn raw_zone(row: &Row) -> Result<RawZone, postgres::Error> {
    Ok(RawZone {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        kind: row.try_get(2)?,
        serial: row.try_get(3)?,
        settings: row.try_get(4)?,
        created_at: row.try_get(5)?,
        updated_at: row.try_get(6)?,
    })
}

fn raw_entry(row: &Row) -> Result<RawEntry, postgres::Error> {
    Ok(RawEntry {
        seq: row.try_get(0)?,
        serial_from: row.try_get(1)?,
        serial_to: row.try_get(2)?,
        committed_at: row.try_get(3)?,
        removed: row.try_get(4)?,
        added: row.try_get(5)?,
    })
}

fn raw_api_key(row: &Row) -> Result<RawApiKey, postgres::Error> {
    Ok(RawApiKey {
        name: row.try_get(0)?,
        token_hash: row.try_get(1)?,
        scopes: row.try_get(2)?,
        zones: row.try_get(3)?,
        created_at: row.try_get(4)?,
        last_used_at: row.try_get(5)?,
    })
}

fn tsig_row(row: &Row) -> Result<TsigKeyRow, postgres::Error> {
    Ok(TsigKeyRow {
        name: row.try_get(0)?,
        algorithm: row.try_get(1)?,
        secret: row.try_get(2)?,
        created_at: row.try_get(3)?,
    })
}

fn find_zone<C: postgres::GenericClient>(
    t: &mut Tx<'_, C>,
    name: &Name,
    for_update: bool,
) -> Result<Option<ZoneRow>, StoreError> {
    let sql = if for_update {
        "SELECT id, name, kind, serial, settings, created_at, updated_at FROM zones WHERE name = $1 FOR UPDATE"
    } else {
        "SELECT id, name, kind, serial, settings, created_at, updated_at FROM zones WHERE name = $1"
    };
    let key = name.to_lowercase().to_string();
    let ctx = || format!("looking up zone {name}");
    let row = t.query_opt(sql, &[&key]).map_err(pg(ctx))?;
    match row {
        Some(r) => raw_zone(&r).map_err(pg(ctx))?.check().map(Some),
        None => Ok(None),
    }
}

fn notify_change<C: postgres::GenericClient>(
    t: &mut Tx<'_, C>,
    zone: &Name,
) -> Result<(), StoreError> {
    let name = zone.to_lowercase().to_string();
    t.query(NOTIFY_CHANGE, &[&CHANGE_CHANNEL, &name])
        .map(|_| ())
        .map_err(pg(|| format!("notifying the change of zone {zone}")))
}

#[allow(clippy::too_many_arguments)]
fn append_journal<C: postgres::GenericClient>(
    t: &mut Tx<'_, C>,
    zone_id: i64,
    kind: &str,
    serial_from: u32,
    serial_to: u32,
    now: i64,
    removed: &[Record],
    added: &[Record],
) -> Result<i64, postgres::Error> {
    let removed = encode_records(removed);
    let added = encode_records(added);
    t.query_one(
        INSERT_JOURNAL,
        &[
            &zone_id,
            &kind,
            &i64::from(serial_from),
            &i64::from(serial_to),
            &now,
            &removed,
            &added,
        ],
    )?
    .try_get(0)
}

/// Inserts records (in chunks) and returns, per record, its new id or `None`
/// when a record of the same identity was already there (or earlier in `records`).
fn insert_records<C: postgres::GenericClient>(
    t: &mut Tx<'_, C>,
    zone_id: i64,
    zone: &Name,
    records: &[Record],
) -> Result<Vec<Option<i64>>, StoreError> {
    let ctx = || format!("storing the records of zone {zone}");
    let mut out = Vec::with_capacity(records.len());
    for chunk in records.chunks(CHUNK) {
        let owners: Vec<&[u8]> = chunk.iter().map(|r| r.owner.as_wire()).collect();
        let keys: Vec<Vec<u8>> = chunk.iter().map(|r| owner_key(&r.owner)).collect();
        let types: Vec<i32> = chunk.iter().map(|r| to_i32(r.rtype.0)).collect();
        let classes: Vec<i32> = chunk.iter().map(|r| to_i32(r.class.0)).collect();
        let ttls: Vec<i64> = chunk.iter().map(|r| i64::from(r.ttl)).collect();
        let rdatas: Vec<&[u8]> = chunk.iter().map(|r| &r.rdata[..]).collect();
        let rows = t
            .query(
                INSERT_RECORDS,
                &[&zone_id, &owners, &keys, &types, &classes, &ttls, &rdatas],
            )
            .map_err(pg(ctx))?;
        let mut inserted: HashMap<Identity, i64> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get(0).map_err(pg(ctx))?;
            let k: Vec<u8> = row.try_get(1).map_err(pg(ctx))?;
            let rt: i32 = row.try_get(2).map_err(pg(ctx))?;
            let cl: i32 = row.try_get(3).map_err(pg(ctx))?;
            let rd: Vec<u8> = row.try_get(4).map_err(pg(ctx))?;
            let ident = (
                k,
                u16::try_from(rt).unwrap_or(u16::MAX),
                u16::try_from(cl).unwrap_or(u16::MAX),
                rd,
            );
            inserted.insert(ident, id);
        }
        for r in chunk {
            out.push(inserted.remove(&identity(r)));
        }
    }
    Ok(out)
}

/// Zones at least this large are loaded with `COPY ... BINARY` (no conflict
/// handling: used only for a zone emptied or new, its records checked for duplicates).
const COPY_THRESHOLD: usize = 1000;

/// Inserts the records of a new or emptied zone, `records` free of duplicates.
fn load_records<C: postgres::GenericClient>(
    t: &mut Tx<'_, C>,
    zone_id: i64,
    zone: &Name,
    records: &[Record],
) -> Result<(), StoreError> {
    if records.len() < COPY_THRESHOLD {
        let ids = insert_records(t, zone_id, zone, records)?;
        return match ids.iter().position(Option::is_none) {
            Some(i) => Err(duplicate(zone, &records[i])),
            None => Ok(()),
        };
    }
    use postgres::binary_copy::BinaryCopyInWriter;
    use postgres::types::Type;
    let ctx = || format!("loading the records of zone {zone}");
    let writer = t
        .client
        .copy_in(
            "COPY records (zone_id, owner, owner_key, rtype, class, ttl, rdata) FROM STDIN BINARY",
        )
        .map_err(pg(ctx))?;
    let mut writer = BinaryCopyInWriter::new(
        writer,
        &[
            Type::INT8,
            Type::BYTEA,
            Type::BYTEA,
            Type::INT4,
            Type::INT4,
            Type::INT8,
            Type::BYTEA,
        ],
    );
    let mut key = Vec::with_capacity(256);
    for r in records {
        key.clear();
        key.extend_from_slice(r.owner.as_wire());
        zonecast_proto::name::lowercase_wire(&mut key);
        writer
            .write(&[
                &zone_id,
                &r.owner.as_wire(),
                &&key[..],
                &to_i32(r.rtype.0),
                &to_i32(r.class.0),
                &i64::from(r.ttl),
                &&r.rdata[..],
            ])
            .map_err(pg(ctx))?;
    }
    writer.finish().map_err(pg(ctx))?;
    Ok(())
}

/// Deletes records (in chunks); the first one that was not there (or was
/// named twice) is returned as `Err(index)`.
fn delete_records<C: postgres::GenericClient>(
    t: &mut Tx<'_, C>,
    zone_id: i64,
    zone: &Name,
    records: &[Record],
) -> Result<Result<(), usize>, StoreError> {
    let ctx = || format!("removing records of zone {zone}");
    let mut base = 0;
    for chunk in records.chunks(CHUNK) {
        let keys: Vec<Vec<u8>> = chunk.iter().map(|r| owner_key(&r.owner)).collect();
        let types: Vec<i32> = chunk.iter().map(|r| to_i32(r.rtype.0)).collect();
        let classes: Vec<i32> = chunk.iter().map(|r| to_i32(r.class.0)).collect();
        let rdatas: Vec<&[u8]> = chunk.iter().map(|r| &r.rdata[..]).collect();
        let rows = t
            .query(
                DELETE_RECORDS,
                &[&zone_id, &keys, &types, &classes, &rdatas],
            )
            .map_err(pg(ctx))?;
        let mut deleted: HashMap<Identity, usize> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let k: Vec<u8> = row.try_get(0).map_err(pg(ctx))?;
            let rt: i32 = row.try_get(1).map_err(pg(ctx))?;
            let cl: i32 = row.try_get(2).map_err(pg(ctx))?;
            let rd: Vec<u8> = row.try_get(3).map_err(pg(ctx))?;
            let ident = (
                k,
                u16::try_from(rt).unwrap_or(u16::MAX),
                u16::try_from(cl).unwrap_or(u16::MAX),
                rd,
            );
            *deleted.entry(ident).or_default() += 1;
        }
        for (i, r) in chunk.iter().enumerate() {
            match deleted.get_mut(&identity(r)) {
                Some(n) if *n > 0 => *n -= 1,
                _ => return Ok(Err(base + i)),
            }
        }
        base += chunk.len();
    }
    Ok(Ok(()))
}

/// Inserts a zone (checked by [`check_create`]) with its records and creation entry.
#[allow(clippy::too_many_arguments)]
fn tx_create<C: postgres::GenericClient>(
    t: &mut Tx<'_, C>,
    name: &Name,
    kind: ZoneKind,
    settings_json: &str,
    serial: u32,
    created_at: i64,
    records: &[Record],
) -> Result<ZoneRow, StoreError> {
    let zone_name = name.to_lowercase();
    let ctx = || format!("creating zone {name}");
    let text = zone_name.to_string();
    let row = t
        .query_opt(
            "INSERT INTO zones (name, kind, serial, settings, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (name) DO NOTHING RETURNING id",
            &[
                &text,
                &kind.as_str(),
                &i64::from(serial),
                &settings_json,
                &created_at,
            ],
        )
        .map_err(pg(ctx))?;
    let Some(row) = row else {
        return Err(StoreError::AlreadyExists { zone: zone_name });
    };
    let zone_id: i64 = row.try_get(0).map_err(pg(ctx))?;
    if let Some(r) = first_duplicate(records) {
        return Err(duplicate(&zone_name, r));
    }
    load_records(t, zone_id, &zone_name, records)?;
    append_journal(
        t,
        zone_id,
        "create",
        serial,
        serial,
        created_at,
        &[],
        records,
    )
    .map_err(pg(ctx))?;
    notify_change(t, &zone_name)?;
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

/// Applies changes (records checked, chained) inside the transaction, the zone row locked once.
fn tx_changes<C: postgres::GenericClient>(
    t: &mut Tx<'_, C>,
    zone: &Name,
    changes: &[Change],
    now: i64,
) -> Result<Vec<(JournalEntry, Vec<i64>)>, StoreError> {
    let ctx = || format!("committing changes to zone {zone}");
    let row = find_zone(t, zone, true)?.ok_or_else(|| not_found(zone))?;
    let (Some(first), Some(last)) = (changes.first(), changes.last()) else {
        return Ok(Vec::new());
    };
    if row.serial != first.serial_from {
        return Err(serial_mismatch(&row, first));
    }
    let mut ids = Vec::with_capacity(changes.len());
    for change in changes {
        ids.push(tx_records(t, &row, change)?);
    }
    // One round trip for all: the serial, the journal entries and the
    // notification ("zone serial": a control plane already there reads nothing).
    let froms: Vec<i64> = changes.iter().map(|c| i64::from(c.serial_from)).collect();
    let tos: Vec<i64> = changes.iter().map(|c| i64::from(c.serial_to)).collect();
    let removed: Vec<Vec<u8>> = changes.iter().map(|c| encode_records(&c.removed)).collect();
    let added: Vec<Vec<u8>> = changes.iter().map(|c| encode_records(&c.added)).collect();
    let payload = format!("{} {}", row.name, last.serial_to);
    let rows = t
        .query(
            "WITH u AS (UPDATE zones SET serial = $2, updated_at = $3 WHERE id = $1),
                  n AS (SELECT pg_notify($4, $5))
             INSERT INTO journal (zone_id, kind, serial_from, serial_to, committed_at, removed, added)
             SELECT $1, 'change', j.f, j.t, $3, j.r, j.a
             FROM n, unnest($6::bigint[], $7::bigint[], $8::bytea[], $9::bytea[]) WITH ORDINALITY AS j(f, t, r, a, o)
             ORDER BY j.o
             RETURNING seq",
            &[
                &row.id,
                &i64::from(last.serial_to),
                &now,
                &CHANGE_CHANNEL,
                &payload,
                &froms,
                &tos,
                &removed,
                &added,
            ],
        )
        .map_err(pg(ctx))?;
    let mut seqs = rows
        .iter()
        .map(|r| r.try_get::<_, i64>(0))
        .collect::<Result<Vec<_>, _>>()
        .map_err(pg(ctx))?;
    // Inserted in list order, so the sequence numbers rise in list order.
    seqs.sort_unstable();
    if seqs.len() != changes.len() {
        return Err(StoreError::Corrupt(format!(
            "zone {}: {} journal entries written for {} changes",
            row.name,
            seqs.len(),
            changes.len()
        )));
    }
    Ok(changes
        .iter()
        .zip(seqs)
        .zip(ids)
        .map(|((change, seq), ids)| {
            (
                JournalEntry {
                    seq,
                    zone: row.name.clone(),
                    change: change.clone(),
                    committed_at: now,
                },
                ids,
            )
        })
        .collect())
}

/// Removes and adds one change's records; the new ids of `change.added`, in its order.
fn tx_records<C: postgres::GenericClient>(
    t: &mut Tx<'_, C>,
    row: &ZoneRow,
    change: &Change,
) -> Result<Vec<i64>, StoreError> {
    if !change.removed.is_empty() {
        if let Err(i) = delete_records(t, row.id, &row.name, &change.removed)? {
            return Err(missing(&row.name, &change.removed[i]));
        }
    }
    let mut ids = Vec::with_capacity(change.added.len());
    if !change.added.is_empty() {
        for (r, id) in change
            .added
            .iter()
            .zip(insert_records(t, row.id, &row.name, &change.added)?)
        {
            match id {
                Some(id) => ids.push(id),
                None => return Err(duplicate(&row.name, r)),
            }
        }
    }
    Ok(ids)
}

/// Deletes a zone (records and journal cascade); false when absent.
fn tx_delete<C: postgres::GenericClient>(
    t: &mut Tx<'_, C>,
    zone: &Name,
) -> Result<bool, StoreError> {
    let key = zone.to_lowercase().to_string();
    let n = t
        .execute("DELETE FROM zones WHERE name = $1", &[&key])
        .map_err(pg(|| format!("deleting zone {zone}")))?;
    if n == 0 {
        return Ok(false);
    }
    notify_change(t, zone)?;
    Ok(true)
}

fn tx_settings<C: postgres::GenericClient>(
    t: &mut Tx<'_, C>,
    zone: &Name,
    settings_json: &str,
    now: i64,
) -> Result<(), StoreError> {
    let key = zone.to_lowercase().to_string();
    let n = t
        .execute(
            "UPDATE zones SET settings = $1, updated_at = $2 WHERE name = $3",
            &[&settings_json, &now, &key],
        )
        .map_err(pg(|| format!("updating the settings of zone {zone}")))?;
    if n == 0 {
        return Err(not_found(zone));
    }
    notify_change(t, zone)
}

#[allow(clippy::too_many_arguments)]
fn tx_replace<C: postgres::GenericClient>(
    t: &mut Tx<'_, C>,
    zone: &Name,
    kind: ZoneKind,
    settings_json: &str,
    serial: u32,
    records: &[Record],
    now: i64,
) -> Result<(), StoreError> {
    let ctx = || format!("replacing zone {zone}");
    let Some(row) = find_zone(t, zone, true)? else {
        tx_create(t, zone, kind, settings_json, serial, now, records)?;
        return Ok(());
    };
    let old_rows = t
        .query(
            "SELECT id, owner, rtype, class, ttl, rdata FROM records WHERE zone_id = $1 ORDER BY id",
            &[&row.id],
        )
        .map_err(pg(ctx))?;
    let old = old_rows
        .iter()
        .map(|r| read_record(r, 0, &row.name).map(|(_, rec)| rec))
        .collect::<Result<Vec<_>, _>>()?;
    t.execute("DELETE FROM records WHERE zone_id = $1", &[&row.id])
        .map_err(pg(ctx))?;
    if let Some(r) = first_duplicate(records) {
        return Err(duplicate(&row.name, r));
    }
    load_records(t, row.id, &row.name, records)?;
    t.execute(
        "UPDATE zones SET kind = $1, settings = $2, serial = $3, updated_at = $4 WHERE id = $5",
        &[
            &kind.as_str(),
            &settings_json,
            &i64::from(serial),
            &now,
            &row.id,
        ],
    )
    .map_err(pg(ctx))?;
    let (removed, added) = diff(&old, records);
    if serial != row.serial {
        append_journal(
            t, row.id, "change", row.serial, serial, now, &removed, &added,
        )
        .map_err(pg(ctx))?;
    } else if !removed.is_empty() || !added.is_empty() {
        t.execute("DELETE FROM journal WHERE zone_id = $1", &[&row.id])
            .map_err(pg(ctx))?;
        append_journal(t, row.id, "create", serial, serial, now, &[], records).map_err(pg(ctx))?;
    }
    notify_change(t, &row.name)
}

fn apply_op<C: postgres::GenericClient>(
    t: &mut Tx<'_, C>,
    op: &BatchOp,
    now: i64,
) -> Result<(), StoreError> {
    match op {
        BatchOp::CreateZone {
            name,
            kind,
            settings,
            created_at,
            records,
        } => {
            let serial = check_create(name, settings, records)?;
            tx_create(t, name, *kind, settings, serial, *created_at, records).map(|_| ())
        }
        BatchOp::Change { zone, change } => {
            check_records(zone, &change.removed)?;
            check_records(zone, &change.added)?;
            tx_changes(t, zone, std::slice::from_ref(change), now).map(|_| ())
        }
        BatchOp::DeleteZone { zone } => tx_delete(t, zone).map(|_| ()),
        BatchOp::Settings { zone, settings } => {
            check_settings(zone, settings)?;
            tx_settings(t, zone, settings, now)
        }
        BatchOp::ReplaceZone {
            zone,
            kind,
            settings,
            serial,
            records,
        } => {
            check_create(zone, settings, records)?;
            tx_replace(t, zone, *kind, settings, *serial, records, now)
        }
        BatchOp::PutTsigKey(key) => {
            let ctx = || format!("storing TSIG key '{}'", key.name);
            t.execute(
                "DELETE FROM tsig_keys WHERE lower(name) = lower($1)",
                &[&key.name],
            )
            .map_err(pg(ctx))?;
            t.execute(
                "INSERT INTO tsig_keys (name, algorithm, secret, created_at) VALUES ($1, $2, $3, $4)",
                &[&key.name, &key.algorithm, &key.secret, &key.created_at],
            )
            .map_err(pg(ctx))?;
            Ok(())
        }
        BatchOp::DeleteTsigKey(name) => t
            .execute(
                "DELETE FROM tsig_keys WHERE lower(name) = lower($1)",
                &[name],
            )
            .map(|_| ())
            .map_err(pg(|| format!("deleting TSIG key '{name}'"))),
    }
}

impl Backend for PgStore {
    fn is_cluster(&self) -> bool {
        true
    }

    fn schema_version(&self) -> Result<u32, StoreError> {
        self.with_reader(|conn| pg_schema::database_version(&mut conn.client))
    }

    fn zones(&self) -> Result<Vec<ZoneRow>, StoreError> {
        let ctx = || "listing zones".to_string();
        let rows = self.with_reader(|conn| {
            Tx {
                client: &mut conn.client,
                stmts: &mut conn.stmts,
            }
            .query(
                &format!("SELECT {ZONE_COLUMNS} FROM zones ORDER BY name COLLATE \"C\""),
                &[],
            )
            .map_err(pg(ctx))
        })?;
        rows.iter()
            .map(|r| raw_zone(r).map_err(pg(ctx))?.check())
            .collect()
    }

    fn zone(&self, name: &Name) -> Result<Option<ZoneRow>, StoreError> {
        self.with_reader(|conn| {
            find_zone(
                &mut Tx {
                    client: &mut conn.client,
                    stmts: &mut conn.stmts,
                },
                name,
                false,
            )
        })
    }

    fn records_matching(
        &self,
        zone: &Name,
        owner: Option<&Name>,
        rtype: Option<Rtype>,
    ) -> Result<Vec<(i64, Record)>, StoreError> {
        let base = "SELECT z.id, r.id, r.owner, r.rtype, r.class, r.ttl, r.rdata
                    FROM zones z LEFT JOIN records r ON r.zone_id = z.id";
        let name = zone.to_lowercase().to_string();
        let key = owner.map(owner_key);
        let t = rtype.map(|t| to_i32(t.0));
        match (&key, &t) {
            (None, None) => self.joined_records(
                zone,
                &format!("{base} WHERE z.name = $1 ORDER BY r.id"),
                &[&name],
            ),
            (None, Some(t)) => self.joined_records(
                zone,
                &format!("{base} AND r.rtype = $2 WHERE z.name = $1 ORDER BY r.id"),
                &[&name, t],
            ),
            (Some(k), None) => self.joined_records(
                zone,
                &format!("{base} AND r.owner_key = $2 WHERE z.name = $1 ORDER BY r.id"),
                &[&name, k],
            ),
            (Some(k), Some(t)) => self.joined_records(
                zone,
                &format!(
                    "{base} AND r.owner_key = $2 AND r.rtype = $3 WHERE z.name = $1 ORDER BY r.id"
                ),
                &[&name, k, t],
            ),
        }
    }

    fn record_by_id(&self, zone: &Name, id: i64) -> Result<Option<Record>, StoreError> {
        let name = zone.to_lowercase().to_string();
        let found = self.joined_records(
            zone,
            "SELECT z.id, r.id, r.owner, r.rtype, r.class, r.ttl, r.rdata
             FROM zones z LEFT JOIN records r ON r.zone_id = z.id AND r.id = $2
             WHERE z.name = $1",
            &[&name, &id],
        )?;
        Ok(found.into_iter().next().map(|(_, r)| r))
    }

    fn record_id(&self, zone: &Name, record: &Record) -> Result<Option<i64>, StoreError> {
        let name = zone.to_lowercase().to_string();
        let key = owner_key(&record.owner);
        let rtype = to_i32(record.rtype.0);
        let class = to_i32(record.class.0);
        let rdata: &[u8] = &record.rdata;
        let ctx = || format!("looking up a record of zone {zone}");
        let rows = self.with_reader(|conn| {
            Tx {
                client: &mut conn.client,
                stmts: &mut conn.stmts,
            }
            .query(
                "SELECT z.id, r.id FROM zones z LEFT JOIN records r ON r.zone_id = z.id
                 AND r.owner_key = $2 AND r.rtype = $3 AND r.class = $4 AND r.rdata = $5
                 WHERE z.name = $1",
                &[&name, &key, &rtype, &class, &rdata],
            )
            .map_err(pg(ctx))
        })?;
        let Some(row) = rows.first() else {
            return Err(not_found(zone));
        };
        row.try_get(1).map_err(pg(ctx))
    }

    fn scan_records(&self, zone: &Name, f: &mut ScanFn<'_>) -> Result<u64, StoreError> {
        let ctx = || format!("scanning the records of zone {zone}");
        let name = zone.to_lowercase().to_string();
        // Retried on a new connection only when the connection was lost
        // before any record reached `f` (else `f` would see records twice).
        let delivered = std::cell::Cell::new(false);
        let mut scan = |conn: &mut PgConn| -> Result<u64, StoreError> {
            let stmt = Tx {
                client: &mut conn.client,
                stmts: &mut conn.stmts,
            }
            .prep(
                "SELECT z.id, r.owner_key, r.rtype, r.ttl, r.rdata
                 FROM zones z LEFT JOIN records r ON r.zone_id = z.id
                 WHERE z.name = $1 ORDER BY r.id",
            )
            .map_err(pg(ctx))?;
            let mut rows = conn
                .client
                .query_raw(&stmt, [&name as &(dyn ToSql + Sync)])
                .map_err(pg(ctx))?;
            let mut seen_zone = false;
            let mut n = 0u64;
            while let Some(r) = rows.next().map_err(pg(ctx))? {
                seen_zone = true;
                let owner: Option<&[u8]> = r.try_get(1).map_err(pg(ctx))?;
                let Some(owner) = owner else {
                    continue;
                };
                let rtype: i32 = r.try_get(2).map_err(pg(ctx))?;
                let ttl: i64 = r.try_get(3).map_err(pg(ctx))?;
                let rdata: &[u8] = r.try_get(4).map_err(pg(ctx))?;
                let (Ok(rtype), Ok(ttl)) = (u16::try_from(rtype), u32::try_from(ttl)) else {
                    return Err(StoreError::Corrupt(format!(
                        "zone {zone}: stored record with type {rtype} and TTL {ttl}"
                    )));
                };
                delivered.set(true);
                if !f(owner, Rtype(rtype), ttl, rdata) {
                    return Ok(n);
                }
                n += 1;
            }
            if !seen_zone {
                return Err(not_found(zone));
            }
            Ok(n)
        };
        let mut conn = self.get_reader()?;
        let mut out = scan(&mut conn);
        if out.is_err() && !delivered.get() && conn.client.is_closed() {
            self.put_reader(conn);
            conn = self.get_reader()?;
            out = scan(&mut conn);
        }
        self.put_reader(conn);
        out
    }

    fn set_zone_settings(&self, zone: &Name, settings_json: &str) -> Result<(), StoreError> {
        check_settings(zone, settings_json)?;
        self.write(
            || format!("updating the settings of zone {zone}"),
            |t| tx_settings(t, zone, settings_json, now_ms()),
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
            |t| tx_create(t, name, kind, settings_json, serial, now_ms(), records),
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
            |t| tx_changes(t, zone, changes, now_ms()),
        )
    }

    fn trim_journal(&self, keep: i64, cutoff_ms: i64) -> Result<u64, StoreError> {
        self.write(
            || "trimming the journal".to_string(),
            |t| {
                t.execute(crate::common::TRIM_JOURNAL_SQL, &[&keep, &cutoff_ms])
                    .map_err(pg(|| "trimming the journal".to_string()))
            },
        )
    }

    fn journal_since(&self, zone: &Name, serial: u32) -> Result<Vec<JournalEntry>, StoreError> {
        let ctx = || format!("reading the journal of zone {zone}");
        self.read(ctx, |t| {
            let row = find_zone(t, zone, false)?.ok_or_else(|| not_found(zone))?;
            if serial == row.serial {
                return Ok(Vec::new());
            }
            let start: Option<i64> = t
                .query_one(
                    "SELECT MAX(seq) FROM journal WHERE zone_id = $1 AND kind = 'change' AND serial_from = $2",
                    &[&row.id, &i64::from(serial)],
                )
                .and_then(|r| r.try_get(0))
                .map_err(pg(ctx))?;
            let Some(start) = start else {
                return Err(StoreError::JournalGap {
                    zone: row.name,
                    from: serial,
                    current: row.serial,
                });
            };
            let rows = t
                .query(
                    &format!("SELECT {JOURNAL_COLUMNS} FROM journal WHERE zone_id = $1 AND kind = 'change' AND seq >= $2 ORDER BY seq"),
                    &[&row.id, &start],
                )
                .map_err(pg(ctx))?;
            let raws = rows
                .iter()
                .map(raw_entry)
                .collect::<Result<Vec<_>, _>>()
                .map_err(pg(ctx))?;
            journal_chain(&row, serial, raws)
        })
    }

    fn journal(&self, zone: &Name) -> Result<Vec<JournalEntry>, StoreError> {
        let ctx = || format!("reading the journal of zone {zone}");
        self.read(ctx, |t| {
            let row = find_zone(t, zone, false)?.ok_or_else(|| not_found(zone))?;
            let rows = t
                .query(
                    &format!(
                        "SELECT {JOURNAL_COLUMNS} FROM journal WHERE zone_id = $1 ORDER BY seq"
                    ),
                    &[&row.id],
                )
                .map_err(pg(ctx))?;
            rows.iter()
                .map(|r| raw_entry(r).map_err(pg(ctx))?.decode(&row.name))
                .collect()
        })
    }

    fn delete_zone(&self, zone: &Name) -> Result<bool, StoreError> {
        let deleted = self.write(|| format!("deleting zone {zone}"), |t| tx_delete(t, zone))?;
        if deleted {
            tracing::debug!(zone = %zone.to_lowercase(), "zone deleted");
        }
        Ok(deleted)
    }

    fn set_zone_expiry(&self, zone: &Name, at_ms: Option<i64>) -> Result<(), StoreError> {
        let ctx = || format!("recording the expiry of zone {zone}");
        let key = zone.to_lowercase().to_string();
        let n = self.write(ctx, |t| {
            t.execute(
                "UPDATE zones SET expires_at = $1 WHERE name = $2 AND expires_at IS DISTINCT FROM $1",
                &[&at_ms, &key],
            )
            .map_err(pg(ctx))
        })?;
        if n == 0 && self.zone(zone)?.is_none() {
            return Err(not_found(zone));
        }
        Ok(())
    }

    fn zone_expiries(&self) -> Result<Vec<(Name, i64)>, StoreError> {
        let ctx = || "reading zone expiries".to_string();
        self.with_reader(|conn| {
            let rows = Tx {
                client: &mut conn.client,
                stmts: &mut conn.stmts,
            }
            .query(
                "SELECT name, expires_at FROM zones WHERE expires_at IS NOT NULL ORDER BY name",
                &[],
            )
            .map_err(pg(ctx))?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let name: String = r.try_get(0).map_err(pg(ctx))?;
                let at: i64 = r.try_get(1).map_err(pg(ctx))?;
                if let Ok(n) = name.parse::<Name>() {
                    out.push((n, at));
                }
            }
            Ok(out)
        })
    }

    fn meta_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let ctx = || format!("reading setting '{key}'");
        self.with_reader(|conn| {
            let row = Tx {
                client: &mut conn.client,
                stmts: &mut conn.stmts,
            }
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
            .map_err(pg(ctx))?;
            row.map(|r| r.try_get(0)).transpose().map_err(pg(ctx))
        })
    }

    fn meta_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let ctx = || format!("writing setting '{key}'");
        self.write(ctx, |t| {
            t.execute(META_UPSERT, &[&key, &value])
                .map(|_| ())
                .map_err(pg(ctx))
        })
    }

    fn create_tsig_key(&self, key: &TsigKeyRow) -> Result<(), StoreError> {
        let ctx = || format!("creating TSIG key '{}'", key.name);
        let n = self.write(ctx, |t| {
            t.execute(
                "INSERT INTO tsig_keys (name, algorithm, secret, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                &[&key.name, &key.algorithm, &key.secret, &key.created_at],
            )
            .map_err(pg(ctx))
        })?;
        if n == 0 {
            return Err(StoreError::KeyExists {
                name: key.name.clone(),
            });
        }
        Ok(())
    }

    fn tsig_keys(&self) -> Result<Vec<TsigKeyRow>, StoreError> {
        let ctx = || "listing TSIG keys".to_string();
        let rows = self.with_reader(|conn| {
            Tx {
                client: &mut conn.client,
                stmts: &mut conn.stmts,
            }
            .query(
                "SELECT name, algorithm, secret, created_at FROM tsig_keys
                 ORDER BY lower(name) COLLATE \"C\", name COLLATE \"C\"",
                &[],
            )
            .map_err(pg(ctx))
        })?;
        rows.iter()
            .map(tsig_row)
            .collect::<Result<_, _>>()
            .map_err(pg(ctx))
    }

    fn tsig_key(&self, name: &str) -> Result<Option<TsigKeyRow>, StoreError> {
        let ctx = || format!("reading TSIG key '{name}'");
        let row = self.with_reader(|conn| {
            Tx {
                client: &mut conn.client,
                stmts: &mut conn.stmts,
            }
            .query_opt(
                "SELECT name, algorithm, secret, created_at FROM tsig_keys WHERE lower(name) = lower($1)",
                &[&name],
            )
            .map_err(pg(ctx))
        })?;
        row.map(|r| tsig_row(&r)).transpose().map_err(pg(ctx))
    }

    fn delete_tsig_key(&self, name: &str) -> Result<bool, StoreError> {
        let ctx = || format!("deleting TSIG key '{name}'");
        let wanted = name.trim_end_matches('.').to_ascii_lowercase();
        self.write(ctx, |t| {
            // No zone may start referring to the key between the check and the delete.
            t.client
                .batch_execute("LOCK TABLE zones IN SHARE MODE")
                .map_err(pg(ctx))?;
            let rows = t
                .query(
                    "SELECT name, settings FROM zones ORDER BY name COLLATE \"C\"",
                    &[],
                )
                .map_err(pg(ctx))?;
            let mut zones = Vec::new();
            for r in &rows {
                let zone: String = r.try_get(0).map_err(pg(ctx))?;
                let settings: &str = r.try_get(1).map_err(pg(ctx))?;
                if settings_use_key(settings, &wanted) {
                    zones.push(zone);
                }
            }
            if !zones.is_empty() {
                return Err(StoreError::KeyInUse {
                    name: name.to_string(),
                    zones,
                });
            }
            let n = t
                .execute(
                    "DELETE FROM tsig_keys WHERE lower(name) = lower($1)",
                    &[&name],
                )
                .map_err(pg(ctx))?;
            Ok(n > 0)
        })
    }

    fn create_api_key(&self, key: &ApiKeyRow) -> Result<(), StoreError> {
        let ctx = || format!("creating API key '{}'", key.name);
        self.write(ctx, |t| {
            let taken = |t: &mut Tx<'_, postgres::Transaction<'_>>| -> Result<bool, StoreError> {
                t.query_opt(
                    "SELECT 1 FROM api_keys WHERE lower(name) = lower($1)",
                    &[&key.name],
                )
                .map(|r| r.is_some())
                .map_err(pg(ctx))
            };
            if taken(t)? {
                return Err(StoreError::KeyExists {
                    name: key.name.clone(),
                });
            }
            let hash_taken = t
                .query_opt(
                    "SELECT 1 FROM api_keys WHERE token_hash = $1",
                    &[&key.token_hash],
                )
                .map_err(pg(ctx))?
                .is_some();
            if hash_taken {
                return Err(StoreError::DuplicateToken {
                    name: key.name.clone(),
                });
            }
            let scopes = to_json(&key.scopes);
            let zones = key.zones.as_deref().map(to_json);
            let n = t
                .execute(
                    &format!(
                        "INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT DO NOTHING"
                    ),
                    &[
                        &key.name,
                        &key.token_hash,
                        &scopes,
                        &zones,
                        &key.created_at,
                        &key.last_used_at,
                    ],
                )
                .map_err(pg(ctx))?;
            if n == 0 {
                // Another control plane created one meanwhile.
                return Err(if taken(t)? {
                    StoreError::KeyExists {
                        name: key.name.clone(),
                    }
                } else {
                    StoreError::DuplicateToken {
                        name: key.name.clone(),
                    }
                });
            }
            Ok(())
        })
    }

    fn api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError> {
        let ctx = || "listing API keys".to_string();
        let rows = self.with_reader(|conn| {
            Tx {
                client: &mut conn.client,
                stmts: &mut conn.stmts,
            }
            .query(
                &format!(
                    "SELECT {API_KEY_COLUMNS} FROM api_keys
                     ORDER BY lower(name) COLLATE \"C\", name COLLATE \"C\""
                ),
                &[],
            )
            .map_err(pg(ctx))
        })?;
        rows.iter()
            .map(|r| raw_api_key(r).map_err(pg(ctx))?.decode())
            .collect()
    }

    fn api_key_by_hash(&self, token_hash: &[u8]) -> Result<Option<ApiKeyRow>, StoreError> {
        let ctx = || "looking up an API key by token hash".to_string();
        let row = self.with_reader(|conn| {
            Tx {
                client: &mut conn.client,
                stmts: &mut conn.stmts,
            }
            .query_opt(
                &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE token_hash = $1"),
                &[&token_hash],
            )
            .map_err(pg(ctx))
        })?;
        row.map(|r| raw_api_key(&r).map_err(pg(ctx))?.decode())
            .transpose()
    }

    fn delete_api_key(&self, name: &str) -> Result<bool, StoreError> {
        let ctx = || format!("deleting API key '{name}'");
        self.write(ctx, |t| {
            t.execute(
                "DELETE FROM api_keys WHERE lower(name) = lower($1)",
                &[&name],
            )
            .map(|n| n > 0)
            .map_err(pg(ctx))
        })
    }

    fn touch_api_key(&self, name: &str, at: i64) -> Result<(), StoreError> {
        let ctx = || format!("recording the use of API key '{name}'");
        self.write(ctx, |t| {
            t.execute(
                "UPDATE api_keys SET last_used_at = $2 WHERE lower(name) = lower($1)",
                &[&name, &at],
            )
            .map(|_| ())
            .map_err(pg(ctx))
        })
    }

    fn apply_batch(&self, ops: &[BatchOp], meta: &[(String, String)]) -> Result<(), StoreError> {
        let ctx = || format!("applying a batch of {} operation(s)", ops.len());
        self.write(ctx, |t| {
            let now = now_ms();
            for op in ops {
                apply_op(t, op, now)?;
            }
            for (k, v) in meta {
                t.execute(META_UPSERT, &[k, v]).map_err(pg(ctx))?;
            }
            Ok(())
        })
    }

    fn heartbeat(&self, writer: &str, interval_ms: u32) -> Result<i64, StoreError> {
        self.cluster_heartbeat(writer, interval_ms)
    }

    fn edges(&self) -> Result<Vec<EdgeRow>, StoreError> {
        self.cluster_edges()
    }

    fn upsert_edge(&self, edge: &EdgeRow) -> Result<(), StoreError> {
        self.cluster_upsert_edge(edge)
    }

    fn listen(
        &self,
        channels: &[&str],
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(ListenEvent<'_>),
    ) -> Result<(), StoreError> {
        cluster::listen(&self.config, &self.target, channels, stop, on_event)
    }

    fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        let ctx = || format!("notifying channel {channel}");
        self.write(ctx, |t| {
            t.query(NOTIFY_CHANGE, &[&channel, &payload])
                .map(|_| ())
                .map_err(pg(ctx))
        })
    }

    fn leader_lock(&self) -> Result<LeaderLock, StoreError> {
        cluster::leader_lock(self.config.clone(), self.target.clone())
    }

    #[cfg(test)]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    #[cfg(test)]
    fn test_exec(&self, sql: &str) {
        let r = self.with_writer(|conn| {
            conn.client
                .batch_execute(sql)
                .map_err(pg(|| sql.to_string()))
        });
        if let Err(e) = r {
            panic!("{sql}: {e:?}");
        }
    }

    #[cfg(test)]
    fn test_i64(&self, sql: &str) -> i64 {
        let r = self.with_writer(|conn| {
            conn.client
                .query_one(sql, &[])
                .and_then(|r| r.try_get(0))
                .map_err(pg(|| sql.to_string()))
        });
        match r {
            Ok(v) => v,
            Err(e) => panic!("{sql}: {e:?}"),
        }
    }

    #[cfg(test)]
    fn test_strings(&self, sql: &str) -> Vec<String> {
        let r = self.with_writer(|conn| {
            conn.client
                .query(sql, &[])
                .and_then(|rows| rows.iter().map(|r| r.try_get(0)).collect())
                .map_err(pg(|| sql.to_string()))
        });
        match r {
            Ok(v) => v,
            Err(e) => panic!("{sql}: {e:?}"),
        }
    }
}
