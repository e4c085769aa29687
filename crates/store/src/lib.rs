//! The zone store: the single source of truth for zones, their records and
//! the journal of changes, behind one type, [`Store`], over two backends:
//!
//! - **SQLite** (embedded, the default): `DIR/zonecast.db`, WAL mode,
//!   `synchronous=NORMAL`, foreign keys on, WAL checkpoints on a thread of
//!   their own rather than inside commits ([`Store::open`],
//!   [`Store::open_in_memory`]). Schema and migrations: [`schema`].
//! - **PostgreSQL** (cluster mode): the database a `postgres://` URL names
//!   ([`Store::open_url`]), through the synchronous `postgres` driver. The
//!   schema mirrors SQLite's (blobs as `bytea`), plus the cluster tables
//!   (`heartbeat`, `edges`) and the publications edges replicate from:
//!   [`pg_schema`]. The driver must be called from threads, never from
//!   inside an async task (see [`Store`]).
//!
//! Both backends pass one shared test battery and behave the same: the same
//! checks in the same order (shared code), the same errors, the same journal.
//!
//! A change is one transaction: the records removed and added, the new
//! serial, and a journal entry holding the difference in the shape of an
//! IXFR difference sequence (RFC 1995 §4: the removed records include the old
//! SOA, the added ones the new SOA). [`Store::journal_since`] rebuilds the
//! chain of differences an IXFR response (RFC 1995 §4) or a follower needs.
//! Record identity is owner (case-insensitive, RFC 4343), type, class and
//! rdata octets; the TTL is not part of it (RFC 2181 §5.2). On PostgreSQL
//! the zone's row is locked (`FOR UPDATE`) for the change, so writers of one
//! zone on several control planes are serialized and a stale one gets
//! [`StoreError::SerialMismatch`]; each change, creation, settings update and
//! deletion also sends `pg_notify('zonecast_change', zone)` ([`CHANGE_CHANNEL`]).
//!
//! Connections: writes go through one writer connection behind a mutex, each
//! as one transaction (immediate on SQLite). Reads use a small pool of
//! read-only connections (up to four, opened when first needed), so a read
//! sees the last commit made before it started and never waits for a write
//! in progress, such as a large import. [`Store::open_in_memory`] has a
//! single connection (a private in-memory database can't be opened twice),
//! so there reads go through the writer connection and do wait. A
//! PostgreSQL connection found closed (server restarted) is made again on
//! its next use.
//!
//! Records can be read as a whole zone ([`Store::zone_records_with_ids`]),
//! streamed without building a list ([`Store::scan_records`], the start-up
//! path), filtered by owner and type ([`Store::records_matching`]), or found
//! by id ([`Store::record_by_id`]) and by identity ([`Store::record_id`]).
//!
//! Zone settings are an opaque JSON object to the store, except that
//! [`Store::delete_tsig_key`] reads its `tsig_key` and `allow_transfer`
//! fields to refuse deleting a key in use. TSIG keys and API keys live in
//! their own tables; API tokens are kept only as hashes computed by the caller.
//!
//! Cluster extras ([`Store::heartbeat`], [`Store::edges`],
//! [`Store::upsert_edge`], [`Store::listen`], [`Store::notify`],
//! [`Store::leader_lock`]) work on PostgreSQL; on SQLite they answer
//! [`StoreError::NotCluster`], or the trivially right answer (no edges; the
//! leader lock always held). [`Store::apply_batch`] writes many operations in
//! one transaction: an edge's local snapshot (SQLite) uses it.
//!
//! PostgreSQL grants. A control plane's role needs to own the tables it
//! creates (or create them: `CREATE` on the schema) and the publications
//! (creating a publication `FOR TABLE` needs ownership of the tables). An
//! edge's role needs `LOGIN REPLICATION`, `SELECT` on the published tables
//! (`zones`, `records`, `journal`, `heartbeat`, `tsig_keys`), and `INSERT,
//! UPDATE` on `edges`; it never runs DDL,
//! so the database must have been opened by a control plane first.
//!
//! Limitations:
//! - no journal pruning (the journal grows until the zone is deleted);
//! - a change's SOA is not checked against its `serial_to`, nor are records
//!   checked to lie inside the zone (the callers validate zones), nor key
//!   algorithms, scopes or settings fields (the API does);
//! - PostgreSQL: no TLS (the driver is used with `NoTls`; use a local socket
//!   or a trusted network); a statement cut off by a lost connection is
//!   reported as an error and not retried (a commit whose outcome is unknown
//!   is not replayed); notifications sent while a LISTEN connection is down
//!   are lost (resynchronize on [`ListenEvent::Listening`]);
//! - PostgreSQL ordering of names uses `COLLATE "C"` (octet order, as SQLite).

#![warn(missing_docs)]

mod backend;
mod checkpoint;
mod cluster;
mod common;
mod error;
mod keys;
mod pg;
pub mod pg_schema;
mod pool;
pub mod schema;
mod sqlite;
mod store;
mod wire;

#[cfg(test)]
mod tests;

pub use cluster::{
    BatchOp, ChangeNotice, EdgeRow, LeaderLock, ListenEvent, CHANGE_CHANNEL, DNS_NOTIFY_CHANNEL,
    LEADER_LOCK_KEY,
};
pub use error::StoreError;
pub use keys::{ApiKeyRow, TsigKeyRow};
pub use sqlite::DB_FILE;
pub use store::Store;
pub use wire::{decode_records, diff, encode_records};

use std::fmt;
use std::str::FromStr;
use zonecast_proto::{Name, Record};

/// Whether a zone is edited here or copied from an external primary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ZoneKind {
    /// Edited on this platform.
    Primary,
    /// Transferred from an external primary.
    Secondary,
}

impl ZoneKind {
    /// The stored and displayed form: `primary` or `secondary`.
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneKind::Primary => "primary",
            ZoneKind::Secondary => "secondary",
        }
    }
}

impl fmt::Display for ZoneKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ZoneKind {
    type Err = StoreError;
    /// Parses `primary` or `secondary` (case-insensitive).
    fn from_str(s: &str) -> Result<ZoneKind, StoreError> {
        if s.eq_ignore_ascii_case("primary") {
            Ok(ZoneKind::Primary)
        } else if s.eq_ignore_ascii_case("secondary") {
            Ok(ZoneKind::Secondary)
        } else {
            Err(StoreError::UnknownKind(s.to_string()))
        }
    }
}

/// A zone as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneRow {
    /// Stable row id.
    pub id: i64,
    /// The zone's apex, lowercased.
    pub name: Name,
    /// Primary or secondary.
    pub kind: ZoneKind,
    /// The current SOA serial.
    pub serial: u32,
    /// Per-zone settings as a JSON object (`{}` until the API sets some).
    pub settings: String,
    /// Creation time, unix milliseconds.
    pub created_at: i64,
    /// Time of the last change, unix milliseconds.
    pub updated_at: i64,
}

/// One change to a zone: the records removed and added, and the serial before and after.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The serial the change applies to; must be the stored serial.
    pub serial_from: u32,
    /// The serial after the change.
    pub serial_to: u32,
    /// Records taken out, the old SOA included (TTL not compared when matching).
    pub removed: Vec<Record>,
    /// Records put in, the new SOA included.
    pub added: Vec<Record>,
}

/// One journal entry: a committed change or a zone's creation.
///
/// A creation entry has `serial_from == serial_to`, nothing removed and the
/// whole initial content added; [`Store::journal_since`] never returns one.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalEntry {
    /// Position in the node-wide journal; increases with every entry and is never reused.
    pub seq: i64,
    /// The zone (lowercased).
    pub zone: Name,
    /// What changed.
    pub change: Change,
    /// Commit time, unix milliseconds.
    pub committed_at: i64,
}
