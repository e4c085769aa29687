//! The PostgreSQL schema, its versioned migrations, and the publications.
//!
//! The tables mirror the SQLite schema ([`crate::schema`]): the same
//! columns and meaning, `bytea` for blobs, `bigint` for serials, TTLs and
//! times. All objects live in the schema the connection uses first
//! (normally `public`) of the database the URL names.
//!
//! Version 1 (everything SQLite has in versions 1 and 2, plus the cluster tables):
//! - `zones` (with `REPLICA IDENTITY FULL`, so a replicated delete carries
//!   the name), `records`, `journal` (`seq` from a sequence: never reused,
//!   and per zone in commit order, since writers of a zone hold its row
//!   lock), `meta`, `tsig_keys` and `api_keys` (names unique ignoring case
//!   through an index on `lower(name)`, stored as given);
//! - `heartbeat`: one row (`id = 1`), written by the leading control plane
//!   every `interval_ms`; edges measure their lag from it;
//! - `edges`: one status row per edge (`applied_lsn`, `lag_ms`, `serials`
//!   JSON object, `problems` JSON array, `ready`, `seen_at`, `started_at`).
//!
//! Version 2: `edges.dns`, the JSON array of `ADDR:PORT` the edge answers
//! DNS on (`'[]'` for rows of edges that do not report it).
//!
//! Version 3: `zones.expires_at`, the unix ms at which a secondary zone
//! expires unless its primary is reached before (NULL for primary zones and
//! before the first successful check). The leading control plane writes it
//! after every check; edges and the other control planes answer SERVFAIL
//! for the zone once it has passed (docs/secondary.md, "Expiry in a cluster").
//!
//! Publications, created (or completed) at open when missing:
//! - [`PUBLICATION`] (`zonecast`) `FOR TABLE zones, heartbeat, tsig_keys`
//!   (every operation);
//! - [`JOURNAL_PUBLICATION`] (`zonecast_journal`) `FOR TABLE journal WITH
//!   (publish = 'insert')`: a change reaches edges as the journal row that
//!   holds it; journal deletes (zone deletion cascades) are not published.
//!
//! Migrations and the publication step run in one transaction holding the
//! transaction-level advisory lock [`MIGRATION_LOCK_KEY`], and re-read the
//! version under it, so control planes opening a new database at the same
//! time apply each migration once. A database already current needs no
//! lock and no DDL. Migrations are only ever appended.

use crate::error::{pg, StoreError};
use postgres::GenericClient;

/// The advisory lock (transaction level) taken while migrating: "zcmigrat".
pub const MIGRATION_LOCK_KEY: i64 = 0x7a63_6d69_6772_6174;

/// The publication of `zones`, `heartbeat` and `tsig_keys`.
pub const PUBLICATION: &str = "zonecast";
/// The tables of [`PUBLICATION`].
pub const PUBLISHED_TABLES: &[&str] = &["zones", "heartbeat", "tsig_keys"];
/// The publication of journal inserts.
pub const JOURNAL_PUBLICATION: &str = "zonecast_journal";

/// The migrations in order; migration `i` brings the schema to version `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: the whole schema.
    "
    CREATE TABLE zones (
        id          bigserial PRIMARY KEY,
        name        text   NOT NULL UNIQUE,
        kind        text   NOT NULL CHECK (kind IN ('primary', 'secondary')),
        serial      bigint NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),
        settings    text   NOT NULL DEFAULT '{}',
        created_at  bigint NOT NULL,
        updated_at  bigint NOT NULL
    );
    ALTER TABLE zones REPLICA IDENTITY FULL;
    CREATE TABLE records (
        id          bigserial PRIMARY KEY,
        zone_id     bigint NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        owner       bytea  NOT NULL,
        owner_key   bytea  NOT NULL,
        rtype       int    NOT NULL,
        class       int    NOT NULL DEFAULT 1,
        ttl         bigint NOT NULL,
        rdata       bytea  NOT NULL,
        UNIQUE (zone_id, owner_key, rtype, class, rdata)
    );
    CREATE INDEX records_by_zone ON records(zone_id, id);
    CREATE TABLE journal (
        seq          bigserial PRIMARY KEY,
        zone_id      bigint NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        kind         text   NOT NULL CHECK (kind IN ('create', 'change')),
        serial_from  bigint NOT NULL,
        serial_to    bigint NOT NULL,
        committed_at bigint NOT NULL,
        removed      bytea  NOT NULL,
        added        bytea  NOT NULL
    );
    CREATE INDEX journal_by_zone ON journal(zone_id, serial_from);
    CREATE TABLE meta (
        key   text PRIMARY KEY,
        value text NOT NULL
    );
    CREATE TABLE tsig_keys (
        name        text   PRIMARY KEY,
        algorithm   text   NOT NULL,
        secret      bytea  NOT NULL,
        created_at  bigint NOT NULL
    );
    CREATE UNIQUE INDEX tsig_keys_name_nocase ON tsig_keys (lower(name));
    CREATE TABLE api_keys (
        id           bigserial PRIMARY KEY,
        name         text   NOT NULL UNIQUE,
        token_hash   bytea  NOT NULL UNIQUE,
        scopes       text   NOT NULL,
        zones        text,
        created_at   bigint NOT NULL,
        last_used_at bigint
    );
    CREATE UNIQUE INDEX api_keys_name_nocase ON api_keys (lower(name));
    CREATE TABLE heartbeat (
        id          smallint PRIMARY KEY CHECK (id = 1),
        at_ms       bigint NOT NULL,
        interval_ms int    NOT NULL,
        writer      text   NOT NULL
    );
    CREATE TABLE edges (
        name        text    PRIMARY KEY,
        applied_lsn text    NOT NULL,
        lag_ms      bigint,
        serials     text    NOT NULL DEFAULT '{}',
        problems    text    NOT NULL DEFAULT '[]',
        ready       boolean NOT NULL DEFAULT false,
        seen_at     bigint  NOT NULL,
        started_at  bigint  NOT NULL
    );
    ",
    // 2: the DNS addresses an edge listens on (JSON array of `ADDR:PORT`).
    "ALTER TABLE edges ADD COLUMN dns text NOT NULL DEFAULT '[]';",
    // 3: when a secondary zone expires (unix ms), for the nodes that follow.
    "ALTER TABLE zones ADD COLUMN expires_at bigint;",
];

/// The schema version this code migrates to.
pub fn code_version() -> u32 {
    u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX)
}

/// The version recorded in the database (0 for an empty one).
pub(crate) fn database_version(client: &mut impl GenericClient) -> Result<u32, StoreError> {
    let ctx = || "reading the schema version".to_string();
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .and_then(|r| r.try_get(0))
        .map_err(pg(ctx))?;
    if !exists {
        return Ok(0);
    }
    let v: i32 = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(pg(ctx))?;
    Ok(u32::try_from(v).unwrap_or(0))
}

/// Whether both publications exist with all their tables and options.
fn publications_complete(client: &mut impl GenericClient) -> Result<bool, StoreError> {
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_publication_tables t JOIN pg_publication p ON p.pubname = t.pubname
             WHERE t.schemaname = current_schema()
               AND ((t.pubname = $1 AND t.tablename = ANY($2) AND p.pubinsert AND p.pubupdate AND p.pubdelete)
                 OR (t.pubname = $3 AND t.tablename = 'journal' AND p.pubinsert
                     AND NOT p.pubupdate AND NOT p.pubdelete AND NOT p.pubtruncate))",
            &[&PUBLICATION, &PUBLISHED_TABLES, &JOURNAL_PUBLICATION],
        )
        .and_then(|r| r.try_get(0))
        .map_err(pg(|| "checking the publications".into()))?;
    Ok(n == i64::try_from(PUBLISHED_TABLES.len() + 1).unwrap_or(i64::MAX))
}

/// Creates or completes the publications (inside the migration transaction).
fn ensure_publications(client: &mut impl GenericClient) -> Result<(), StoreError> {
    let ctx = || "creating the publications".to_string();
    let mut has = |name: &str| -> Result<bool, StoreError> {
        client
            .query_opt("SELECT 1 FROM pg_publication WHERE pubname = $1", &[&name])
            .map(|r| r.is_some())
            .map_err(pg(ctx))
    };
    let has_main = has(PUBLICATION)?;
    let has_journal = has(JOURNAL_PUBLICATION)?;
    if !has_main {
        client
            .batch_execute(&format!(
                "CREATE PUBLICATION {PUBLICATION} FOR TABLE {}",
                PUBLISHED_TABLES.join(", ")
            ))
            .map_err(pg(ctx))?;
        tracing::info!(publication = PUBLICATION, "created publication");
    } else {
        for table in PUBLISHED_TABLES {
            let present = client
                .query_opt(
                    "SELECT 1 FROM pg_publication_tables
                     WHERE pubname = $1 AND schemaname = current_schema() AND tablename = $2",
                    &[&PUBLICATION, table],
                )
                .map_err(pg(ctx))?
                .is_some();
            if !present {
                client
                    .batch_execute(&format!(
                        "ALTER PUBLICATION {PUBLICATION} ADD TABLE {table}"
                    ))
                    .map_err(pg(ctx))?;
            }
        }
        client
            .batch_execute(&format!(
                "ALTER PUBLICATION {PUBLICATION} SET (publish = 'insert, update, delete, truncate')"
            ))
            .map_err(pg(ctx))?;
    }
    if !has_journal {
        client
            .batch_execute(&format!(
                "CREATE PUBLICATION {JOURNAL_PUBLICATION} FOR TABLE journal WITH (publish = 'insert')"
            ))
            .map_err(pg(ctx))?;
        tracing::info!(publication = JOURNAL_PUBLICATION, "created publication");
    } else {
        let present = client
            .query_opt(
                "SELECT 1 FROM pg_publication_tables
                 WHERE pubname = $1 AND schemaname = current_schema() AND tablename = 'journal'",
                &[&JOURNAL_PUBLICATION],
            )
            .map_err(pg(ctx))?
            .is_some();
        if !present {
            client
                .batch_execute(&format!(
                    "ALTER PUBLICATION {JOURNAL_PUBLICATION} ADD TABLE journal"
                ))
                .map_err(pg(ctx))?;
        }
        client
            .batch_execute(&format!(
                "ALTER PUBLICATION {JOURNAL_PUBLICATION} SET (publish = 'insert')"
            ))
            .map_err(pg(ctx))?;
    }
    Ok(())
}

/// Brings the database to [`code_version`] and makes sure the publications
/// exist; returns the version. Refuses a database newer than the code.
pub(crate) fn migrate(client: &mut postgres::Client, now_ms: i64) -> Result<u32, StoreError> {
    let code = code_version();
    let found = database_version(client)?;
    if found > code {
        return Err(StoreError::SchemaTooNew {
            database: found,
            code,
        });
    }
    if found == code && publications_complete(client)? {
        return Ok(found);
    }
    let ctx = || "migrating the schema".to_string();
    let mut tx = client.transaction().map_err(pg(ctx))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
        .map_err(pg(ctx))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    int    PRIMARY KEY,
             applied_at bigint NOT NULL
         )",
    )
    .map_err(pg(ctx))?;
    // Re-read under the lock: another control plane may have migrated meanwhile.
    let current = database_version(&mut tx)?;
    if current > code {
        return Err(StoreError::SchemaTooNew {
            database: current,
            code,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        if u32::try_from(version).unwrap_or(u32::MAX) <= current {
            continue;
        }
        let ctx = move || format!("applying PostgreSQL schema migration {version}");
        tx.batch_execute(sql).map_err(pg(ctx))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[&version, &now_ms],
        )
        .map_err(pg(ctx))?;
        tracing::info!(version, "applied PostgreSQL store schema migration");
    }
    ensure_publications(&mut tx)?;
    tx.commit().map_err(pg(ctx))?;
    database_version(client)
}
