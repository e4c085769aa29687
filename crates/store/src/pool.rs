//! Read connections: a small pool of query-only connections on the database file.
//!
//! In WAL mode a reader sees the last commit made before its statement (or
//! read transaction) started and is never blocked by a writer, so reads don't
//! wait behind a long import on the writer connection. Connections are opened
//! lazily, up to [`MAX_READERS`]; a caller finding them all busy waits for one
//! to come back.
//!
//! An in-memory store has no file a second connection could open (a private
//! memory database is per connection, and a shared-cache one uses table locks
//! that fail readers with `SQLITE_LOCKED` during a write instead of giving them
//! a snapshot), so its reads go through the writer connection, as all of them
//! did before the pool existed.

use crate::error::{db, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The most read connections a store keeps open.
pub(crate) const MAX_READERS: usize = 4;

/// Statements kept prepared per connection.
pub(crate) const STATEMENT_CACHE: usize = 32;

/// The read connections of an on-disk store.
pub(crate) struct ReaderPool {
    path: PathBuf,
    busy_timeout: Duration,
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    /// Connections not in use.
    idle: Vec<Connection>,
    /// Connections open (idle or in use) or being opened.
    open: usize,
}

/// A connection to read through: pooled, or the writer's for an in-memory store.
pub(crate) enum ReadConn<'a> {
    /// A pooled query-only connection, handed back when dropped.
    Pooled {
        /// Always `Some` until dropped.
        conn: Option<Connection>,
        /// Where it goes back to.
        pool: &'a ReaderPool,
    },
    /// The writer connection, held locked.
    Writer(MutexGuard<'a, Connection>),
}

impl ReaderPool {
    /// A pool of readers on the database file at `path` (already created and in WAL mode).
    pub(crate) fn new(path: PathBuf, busy_timeout: Duration) -> ReaderPool {
        ReaderPool {
            path,
            busy_timeout,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, PoolState> {
        // The state is consistent between statements: a panic can't leave it half-updated.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle connection, a new one while fewer than [`MAX_READERS`] are open, or the next one handed back.
    pub(crate) fn get(&self) -> Result<ReadConn<'_>, StoreError> {
        let mut state = self.state();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(self.wrap(conn));
            }
            if state.open < MAX_READERS {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(conn) => Ok(self.wrap(conn)),
                    Err(e) => {
                        self.state().open -= 1;
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

    fn wrap(&self, conn: Connection) -> ReadConn<'_> {
        ReadConn::Pooled {
            conn: Some(conn),
            pool: self,
        }
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let ctx = || format!("opening a read connection to {}", self.path.display());
        // No CREATE: the writer made the file; a reader never creates one.
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db(ctx))?;
        conn.busy_timeout(self.busy_timeout).map_err(db(ctx))?;
        conn.pragma_update(None, "query_only", "ON")
            .map_err(db(ctx))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    fn put_back(&self, conn: Connection) {
        let mut state = self.state();
        if conn.is_autocommit() {
            state.idle.push(conn);
        } else {
            // Left inside a transaction (it would pin an old snapshot): close it instead.
            state.open -= 1;
            drop(state);
            drop(conn);
        }
        self.returned.notify_one();
    }

    /// How many read connections are open, for tests.
    #[cfg(test)]
    pub(crate) fn open_count(&self) -> usize {
        self.state().open
    }
}

impl Deref for ReadConn<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            ReadConn::Pooled { conn: Some(c), .. } => c,
            ReadConn::Pooled { conn: None, .. } => unreachable!("read connection used after drop"),
            ReadConn::Writer(guard) => guard,
        }
    }
}

impl DerefMut for ReadConn<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        match self {
            ReadConn::Pooled { conn: Some(c), .. } => c,
            ReadConn::Pooled { conn: None, .. } => unreachable!("read connection used after drop"),
            ReadConn::Writer(guard) => guard,
        }
    }
}

impl Drop for ReadConn<'_> {
    fn drop(&mut self) {
        if let ReadConn::Pooled { conn, pool } = self {
            if let Some(conn) = conn.take() {
                pool.put_back(conn);
            }
        }
    }
}
