//! WAL checkpoints on a thread of their own, so that no commit waits for one.
//!
//! SQLite checkpoints the write-ahead log from inside a commit once it holds
//! 1,000 pages (about every hundred API changes), and in `synchronous=NORMAL`
//! a checkpoint syncs the database file: that commit, and the HTTP request
//! behind it, took several milliseconds longer. The writer connection has
//! automatic checkpoints off; this thread runs a `PASSIVE` checkpoint (it
//! never blocks writers or readers) every [`INTERVAL`] on its own connection.
//! The last connection to close checkpoints whatever is left.

use crate::error::{db, StoreError};
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Time between two checkpoints.
pub const INTERVAL: Duration = Duration::from_millis(200);

/// The checkpoint thread; stopped (and joined) on drop.
pub(crate) struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a connection on `path` and starts checkpointing it.
    pub(crate) fn start(path: PathBuf, busy: Duration) -> Result<Checkpointer, StoreError> {
        let ctx = || format!("opening {} for checkpoints", path.display());
        let conn = Connection::open(&path).map_err(db(ctx))?;
        conn.busy_timeout(busy).map_err(db(ctx))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || run(&conn, &flag))
            .map_err(|source| StoreError::Io { path, source })?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

fn run(conn: &Connection, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        std::thread::park_timeout(INTERVAL);
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
