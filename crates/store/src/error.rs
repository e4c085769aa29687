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
    /// PostgreSQL failed (I/O, a lost connection, a constraint, a query error).
    #[error("PostgreSQL error while {context}: {}", pg_text(.source))]
    Postgres {
        /// What the store was doing, naming the zone where there is one.
        context: String,
        /// The driver's error (it carries the server's message and SQLSTATE).
        #[source]
        source: postgres::Error,
    },
    /// The `--database` URL is not one the store can use.
    #[error("invalid database URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// The PostgreSQL server could not be reached or refused the connection.
    #[error("cannot connect to PostgreSQL at {target}: {}", pg_text(.source))]
    Unreachable {
        /// Host, port and database, without the password.
        target: String,
        /// The driver's error.
        #[source]
        source: postgres::Error,
    },
    /// The database role lacks a privilege the store needs (SQLSTATE 42501).
    #[error("the PostgreSQL role lacks a privilege for {context}: {} (see the store docs for the grants a control plane and an edge need)", pg_text(.source))]
    MissingGrants {
        /// What the store was doing.
        context: String,
        /// The driver's error, with the server's message.
        #[source]
        source: postgres::Error,
    },
    /// A cluster feature was asked of the embedded SQLite store.
    #[error("{what} needs a cluster store (PostgreSQL); this store is SQLite")]
    NotCluster {
        /// The feature.
        what: &'static str,
    },
    /// A LISTEN channel name other than lowercase letters, digits and `_`.
    #[error(
        "invalid notification channel name '{0}' (lowercase letters, digits and '_', at most 63)"
    )]
    InvalidChannel(String),
    /// A background thread could not be started.
    #[error("cannot start the {what} thread: {source}")]
    Thread {
        /// The thread's job.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The data directory or the database file could not be created.
    #[error("cannot create {}: {source}", path.display())]
    Io {
        /// The directory or file.
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
    /// A list of changes committed together does not chain: a change's
    /// `serial_from` is not the previous one's `serial_to` (a caller's bug).
    #[error("zone {zone}: changes committed together do not chain: serial_from {serial_from} after serial_to {previous}")]
    Unchained {
        /// The zone.
        zone: Name,
        /// The offending change's `serial_from`.
        serial_from: u32,
        /// The previous change's `serial_to`.
        previous: u32,
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

/// A driver error as one line: the server's message, SQLSTATE, detail and
/// hint for a server error; the error and its cause otherwise.
pub(crate) fn pg_text(e: &postgres::Error) -> String {
    use std::error::Error as _;
    if let Some(db) = e.as_db_error() {
        let mut text = format!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        );
        if let Some(d) = db.detail() {
            text.push_str(&format!("; {d}"));
        }
        if let Some(h) = db.hint() {
            text.push_str(&format!("; hint: {h}"));
        }
        return text;
    }
    let mut text = e.to_string();
    if let Some(cause) = e.source() {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(&format!(": {cause}"));
        }
    }
    text
}

/// Maps a PostgreSQL error to [`StoreError::MissingGrants`] (SQLSTATE 42501)
/// or [`StoreError::Postgres`], with a lazily built context.
pub(crate) fn pg<F: FnOnce() -> String>(context: F) -> impl FnOnce(postgres::Error) -> StoreError {
    move |source| {
        if source.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) {
            StoreError::MissingGrants {
                context: context(),
                source,
            }
        } else {
            StoreError::Postgres {
                context: context(),
                source,
            }
        }
    }
}

/// Maps a SQLite error to [`StoreError::Database`] with a lazily built context.
pub(crate) fn db<F: FnOnce() -> String>(context: F) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Database {
        context: context(),
        source,
    }
}

impl StoreError {
    /// Whether the store could not write to its disk: SQLite's
    /// `SQLITE_FULL` (the disk is full) or a failed write, sync or resize
    /// of its files (`SQLITE_IOERR_WRITE` and kin: a file size limit, an I/O
    /// error). The transaction was rolled back; nothing of it is stored.
    pub fn is_write_failure(&self) -> bool {
        let StoreError::Database { source, .. } = self else {
            return false;
        };
        let rusqlite::Error::SqliteFailure(e, _) = source else {
            return false;
        };
        e.code == rusqlite::ErrorCode::DiskFull
            || matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_IOERR_WRITE
                    | rusqlite::ffi::SQLITE_IOERR_FSYNC
                    | rusqlite::ffi::SQLITE_IOERR_DIR_FSYNC
                    | rusqlite::ffi::SQLITE_IOERR_TRUNCATE
            )
    }

    /// Whether PostgreSQL could not be reached or its connection was lost
    /// during the call (the transaction did not commit, or, for a COMMIT cut
    /// off, its outcome is unknown; the store does not replay it).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unreachable { .. } => true,
            StoreError::Postgres { source, .. } => {
                source.is_closed()
                    || source.code().is_some_and(|c| {
                        let c = c.code();
                        // Class 08 (connection exception), 57P01..57P03 (admin shutdown, crash shutdown, cannot connect now).
                        c.starts_with("08") || c.starts_with("57P")
                    })
            }
            _ => false,
        }
    }

    /// Whether this says the SQLite database file is damaged (corrupt pages,
    /// not a database, a short read, a stored value of the wrong type), as
    /// opposed to, say, a directory that can't be created or a newer schema.
    pub fn is_corruption(&self) -> bool {
        match self {
            StoreError::Database { source, .. } => {
                matches!(
                    source.sqlite_error_code(),
                    Some(
                        rusqlite::ErrorCode::DatabaseCorrupt
                            | rusqlite::ErrorCode::NotADatabase
                            | rusqlite::ErrorCode::SystemIoFailure
                    )
                ) || matches!(
                    source,
                    rusqlite::Error::FromSqlConversionFailure(..)
                        | rusqlite::Error::InvalidColumnType(..)
                )
            }
            StoreError::Corrupt(_) => true,
            _ => false,
        }
    }
}
