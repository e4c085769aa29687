//! The SQLite schema and its versioned migrations.
//!
//! `schema_migrations(version, applied_at)` records each applied migration;
//! [`MIGRATIONS`] lists them in order and each runs in its own immediate
//! transaction, so two processes opening the same new database don't both
//! apply one. Migrations are only ever appended: a released one never changes.
//!
//! Version 1:
//! - `zones`: one row per zone; `name` is the lowercase absolute presentation
//!   form; `settings` is a JSON object for per-zone options (primaries, NOTIFY
//!   targets, transfer ACLs) that the API fills in later.
//! - `records`: one row per record with a stable `id` (never reused, for the
//!   API's record ids). `owner` keeps the case as given, `owner_key` is the
//!   lowercased wire name used for identity and lookups.
//! - `journal`: one row per change (`kind` = `change`) or zone creation
//!   (`kind` = `create`); `seq` never goes backwards and is never reused, so
//!   followers can use it as their position. Blobs are in the format of
//!   [`crate::encode_records`].
//! - `meta`: node-wide key/value settings.
//!
//! Version 2:
//! - `tsig_keys`: TSIG keys (RFC 8945) by `name` (unique, case-insensitive),
//!   with the algorithm's name and the raw secret; secrets are stored in
//!   clear because signing needs them.
//! - `api_keys`: API keys by `name` (unique, case-insensitive); only the
//!   SHA-256 `token_hash` of the token is kept (unique); `scopes` is a JSON
//!   array of strings, `zones` a JSON array of zone names or NULL for all zones.
//!
//! Planned for later migrations (not created yet): secondary-zone refresh state.

use crate::error::{db, StoreError};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// The migrations in order; migration `i` brings the schema to version `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: zones, records, journal, meta.
    "
    CREATE TABLE zones (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        name        TEXT    NOT NULL UNIQUE,
        kind        TEXT    NOT NULL CHECK (kind IN ('primary', 'secondary')),
        serial      INTEGER NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),
        settings    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE TABLE records (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        zone_id     INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        owner       BLOB    NOT NULL,
        owner_key   BLOB    NOT NULL,
        rtype       INTEGER NOT NULL,
        class       INTEGER NOT NULL DEFAULT 1,
        ttl         INTEGER NOT NULL,
        rdata       BLOB    NOT NULL,
        UNIQUE (zone_id, owner_key, rtype, class, rdata)
    );
    CREATE INDEX records_by_zone ON records(zone_id);
    CREATE TABLE journal (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        zone_id      INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        kind         TEXT    NOT NULL CHECK (kind IN ('create', 'change')),
        serial_from  INTEGER NOT NULL,
        serial_to    INTEGER NOT NULL,
        committed_at INTEGER NOT NULL,
        removed      BLOB    NOT NULL,
        added        BLOB    NOT NULL
    );
    CREATE INDEX journal_by_zone ON journal(zone_id, serial_from);
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    ",
    // 2: TSIG keys and API keys.
    "
    CREATE TABLE tsig_keys (
        name        TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
        algorithm   TEXT    NOT NULL,
        secret      BLOB    NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE api_keys (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        name         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
        token_hash   BLOB    NOT NULL UNIQUE,
        scopes       TEXT    NOT NULL CHECK (json_valid(scopes) AND json_type(scopes) = 'array'),
        zones        TEXT    CHECK (zones IS NULL OR (json_valid(zones) AND json_type(zones) = 'array')),
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER
    );
    ",
];

/// The schema version this code migrates to.
pub fn code_version() -> u32 {
    u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX)
}

/// The version recorded in the database (0 for an empty one).
pub fn database_version(conn: &Connection) -> Result<u32, StoreError> {
    let exists: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(db(|| "reading the schema version".into()))?;
    if exists.is_none() {
        return Ok(0);
    }
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )
    .map_err(db(|| "reading the schema version".into()))
}

/// Applies the pending migrations, each in its own transaction; refuses a database newer than the code.
pub fn migrate(conn: &mut Connection, now_ms: i64) -> Result<u32, StoreError> {
    let code = code_version();
    let found = database_version(conn)?;
    if found > code {
        return Err(StoreError::SchemaTooNew {
            database: found,
            code,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = u32::try_from(index + 1).unwrap_or(u32::MAX);
        if version <= found {
            continue;
        }
        let ctx = move || format!("applying schema migration {version}");
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(ctx))?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    INTEGER PRIMARY KEY,
                 applied_at INTEGER NOT NULL
             )",
        )
        .map_err(db(ctx))?;
        // Re-read inside the transaction: another process may have migrated meanwhile.
        let current = database_version(&tx)?;
        if current > code {
            return Err(StoreError::SchemaTooNew {
                database: current,
                code,
            });
        }
        if current >= version {
            continue;
        }
        tx.execute_batch(sql).map_err(db(ctx))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            rusqlite::params![version, now_ms],
        )
        .map_err(db(ctx))?;
        tx.commit().map_err(db(ctx))?;
        tracing::info!(version, "applied store schema migration");
    }
    database_version(conn)
}
