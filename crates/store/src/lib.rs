//! The zone store: the single source of truth for zones, their records and
//! the journal of changes, embedded in SQLite (`DIR/zonecast.db`, WAL mode,
//! `synchronous=NORMAL`, foreign keys on, WAL checkpoints on a thread of
//! their own rather than inside commits).
//!
//! A change is one transaction: the records removed and added, the new
//! serial, and a journal entry holding the difference in the shape of an
//! IXFR difference sequence (RFC 1995 §4: the removed records include the old
//! SOA, the added ones the new SOA). [`Store::journal_since`] rebuilds the
//! chain of differences an IXFR response (RFC 1995 §4) or a follower needs.
//! Record identity is owner (case-insensitive, RFC 4343), type, class and
//! rdata octets; the TTL is not part of it (RFC 2181 §5.2). The schema and its
//! migrations are described in [`schema`].
//!
//! Connections: writes go through one writer connection behind a mutex, each
//! as one immediate transaction. Reads use a small pool of query-only
//! connections on the same file (up to four, opened when first needed), so a
//! read sees the last commit made before it started and never waits for a
//! write in progress, such as a large import. [`Store::open_in_memory`] has a
//! single connection (a private in-memory database can't be opened twice),
//! so there reads go through the writer connection and do wait.
//!
//! Records can be read as a whole zone ([`Store::zone_records_with_ids`]),
//! streamed without building a list ([`Store::scan_records`], the start-up
//! path), filtered by owner and type ([`Store::records_matching`]), or found
//! by id ([`Store::record_by_id`]) and by identity ([`Store::record_id`]).
//!
//! Zone settings are an opaque JSON object to the store, except that
//! [`Store::delete_tsig_key`] reads its `tsig_key` and `allow_transfer`
//! fields to refuse deleting a key in use. TSIG keys and API keys live in
//! their own tables (schema version 2); API tokens are kept only as hashes
//! computed by the caller.
//!
//! Not implemented: the PostgreSQL backend, journal pruning (the journal
//! grows until the zone is deleted), checking that a change's SOA matches its
//! `serial_to` or that records lie inside the zone (the callers validate
//! zones), and checking key algorithms, scopes or settings fields (the API
//! does).

#![warn(missing_docs)]

mod checkpoint;
mod error;
mod keys;
mod pool;
pub mod schema;
mod sqlite;
mod wire;

#[cfg(test)]
mod tests;

pub use error::StoreError;
pub use keys::{ApiKeyRow, TsigKeyRow};
pub use sqlite::{Store, DB_FILE};
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
