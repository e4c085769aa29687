//! The store's error type.

use std::path::PathBuf;
use zonecast_proto::{Name, Rtype};

/// Everything the store can refuse or fail at, with the zone, serials or record concerned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database itself failed (I/O, corruption, locking).
    #[error("database error while {context}: {source}")]
    Database {
        /// What the store was doing, naming the zone where there is one.
        context: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The data directory could not be created.
    #[error("cannot create the data directory {}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The database was written by a newer zonecast than this one.
    #[error("database schema version {database} is newer than the newest this build knows ({code}); upgrade zonecast")]
    SchemaTooNew {
        /// Version recorded in the database.
        database: u32,
        /// Newest version this code can migrate to.
        code: u32,
    },
    /// The zone is not in the store.
    #[error("zone {zone} not found")]
    NotFound {
        /// The zone asked for.
        zone: Name,
    },
    /// A zone of that name is already in the store.
    #[error("zone {zone} already exists")]
    AlreadyExists {
        /// The zone.
        zone: Name,
    },
    /// The change was prepared against another serial than the stored one.
    #[error("zone {zone}: change starts from serial {expected}, but the stored serial is {found}")]
    SerialMismatch {
        /// The zone.
        zone: Name,
        /// The change's `serial_from`.
        expected: u32,
        /// The serial in the store.
        found: u32,
    },
    /// A record the change removes is not in the zone (TTL is not compared).
    #[error("zone {zone}: record to remove not found: {owner} {rtype} {rdata}")]
    MissingRecord {
        /// The zone.
        zone: Name,
        /// Owner of the record.
        owner: Name,
        /// Type of the record.
        rtype: Rtype,
        /// Rdata in presentation form.
        rdata: String,
    },
    /// A record being added is already in the zone (TTL is not compared).
    #[error("zone {zone}: record already present: {owner} {rtype} {rdata}")]
    DuplicateRecord {
        /// The zone.
        zone: Name,
        /// Owner of the record.
        owner: Name,
        /// Type of the record.
        rtype: Rtype,
        /// Rdata in presentation form.
        rdata: String,
    },
    /// A record can't be stored as given.
    #[error("zone {zone}: invalid record {owner} {rtype}: {reason}")]
    InvalidRecord {
        /// The zone.
        zone: Name,
        /// Owner of the record.
        owner: Name,
        /// Type of the record.
        rtype: Rtype,
        /// What is wrong.
        reason: String,
    },
    /// The journal can't lead from the asked serial to the current one.
    #[error("zone {zone}: the journal has no chain of changes from serial {from} to the current serial {current}")]
    JournalGap {
        /// The zone.
        zone: Name,
        /// The serial asked for.
        from: u32,
        /// The zone's current serial.
        current: u32,
    },
    /// A journal blob is not a valid sequence of wire-format records.
    #[error("malformed record blob at offset {offset}: {reason}")]
    BadBlob {
        /// Octet offset where decoding failed.
        offset: usize,
        /// What was wrong there.
        reason: String,
    },
    /// A stored value is not what this code wrote (a damaged or foreign database).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A TSIG key or API key of that name is already stored.
    #[error("a key named '{name}' already exists")]
    KeyExists {
        /// The key's name.
        name: String,
    },
    /// An API key with the same token hash is already stored (under another name).
    #[error("API key '{name}': another key already has this token")]
    DuplicateToken {
        /// The name of the key being created.
        name: String,
    },
    /// The TSIG key can't be deleted while zones refer to it in their settings.
    #[error("TSIG key '{name}' is in use by zone(s) {}", zones.join(", "))]
    KeyInUse {
        /// The key's name.
        name: String,
        /// The zones whose settings name the key (lowercase, absolute), sorted.
        zones: Vec<String>,
    },
    /// Zone settings that are not a JSON object.
    #[error("zone {zone}: invalid settings: {reason}")]
    InvalidSettings {
        /// The zone.
        zone: Name,
        /// What is wrong.
        reason: String,
    },
    /// A zone kind other than `primary` or `secondary`.
    #[error("unknown zone kind '{0}' (expected 'primary' or 'secondary')")]
    UnknownKind(String),
}

/// Maps a SQLite error to [`StoreError::Database`] with a lazily built context.
pub(crate) fn db<F: FnOnce() -> String>(context: F) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Database {
        context: context(),
        source,
    }
}
