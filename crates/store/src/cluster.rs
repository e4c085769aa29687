//! Cluster mode types: edge status rows, the leader lock, LISTEN events, and
//! the batches an edge writes to its local snapshot.

use crate::{Change, TsigKeyRow, ZoneKind};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use zonecast_proto::{Name, Record};

/// The PostgreSQL advisory lock key the leader holds: "zonecast" in ASCII.
pub const LEADER_LOCK_KEY: i64 = 0x7a6f_6e65_6361_7374;

/// The channel commits, zone creations, settings updates and deletions are
/// announced on (`pg_notify`); the payload is a [`ChangeNotice`].
pub const CHANGE_CHANNEL: &str = "zonecast_change";

/// What a [`CHANGE_CHANNEL`] notification says: a zone changed, and for a
/// commit of journaled changes the serial the zone reached.
///
/// Payload: the zone's lowercase name, then for commits a space and the
/// serial (`example.com. 2026120105`). Zone creation, settings, replacement
/// and deletion carry the name only: the receiver must read the zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeNotice {
    /// The zone.
    pub zone: Name,
    /// The serial a commit reached; `None` when the notice says only "changed".
    pub serial: Option<u32>,
}

impl ChangeNotice {
    /// Reads a payload; an error says what is wrong with it.
    pub fn parse(payload: &str) -> Result<ChangeNotice, String> {
        let (zone, serial) = match payload.split_once(' ') {
            Some((z, s)) => (
                z,
                Some(s.parse::<u32>().map_err(|e| format!("serial '{s}': {e}"))?),
            ),
            None => (payload, None),
        };
        let zone =
            Name::from_presentation(zone, None).map_err(|e| format!("zone '{zone}': {e}"))?;
        Ok(ChangeNotice { zone, serial })
    }
}

/// The channel edges relay DNS NOTIFY messages on, payload
/// `{"zone":"example.com.","from":"ip:port","edge":"NAME"}`.
pub const DNS_NOTIFY_CHANNEL: &str = "zonecast_dns_notify";

/// The status an edge reports in the `edges` table, about once a second.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeRow {
    /// The edge's `--name`.
    pub name: String,
    /// The last LSN applied and persisted, as PostgreSQL prints it (`0/16B3748`).
    pub applied_lsn: String,
    /// Replication lag in milliseconds; `None` while unknown (no heartbeat applied yet).
    pub lag_ms: Option<i64>,
    /// The serial served per zone (lowercase absolute names).
    pub serials: BTreeMap<String, u32>,
    /// Problems the edge has met (skipped rows, halted zones), most recent last.
    pub problems: Vec<String>,
    /// Whether the edge reports itself ready (has data, lag under its threshold).
    pub ready: bool,
    /// When the edge last wrote this row, unix milliseconds.
    pub seen_at: i64,
    /// When the edge process started, unix milliseconds.
    pub started_at: i64,
    /// The addresses the edge answers DNS on (`--dns-listen`, `ADDR:PORT`), as given.
    pub dns: Vec<String>,
}

/// One step of [`crate::Store::apply_batch`]; all steps of a batch commit or none.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchOp {
    /// Creates a zone with its records, as [`crate::Store::create_zone_with_settings`]
    /// does, with the given creation time; journals the creation.
    CreateZone {
        /// The zone's apex.
        name: Name,
        /// Primary or secondary.
        kind: ZoneKind,
        /// Settings JSON object.
        settings: String,
        /// Creation time, unix milliseconds (also the `updated_at`).
        created_at: i64,
        /// The whole initial content.
        records: Vec<Record>,
    },
    /// A change with the same checks as [`crate::Store::commit_change`]; journaled.
    Change {
        /// The zone.
        zone: Name,
        /// The change.
        change: Change,
    },
    /// Deletes a zone with its records and journal; an absent zone is not an error.
    DeleteZone {
        /// The zone.
        zone: Name,
    },
    /// Replaces a zone's settings, as [`crate::Store::set_zone_settings`] does.
    Settings {
        /// The zone.
        zone: Name,
        /// Settings JSON object.
        settings: String,
    },
    /// Replaces a zone's whole content (a resync), creating the zone if missing.
    ///
    /// Journaled as a creation for a new zone; for an existing one as a change
    /// from its old serial holding the difference ([`crate::diff`]), or, when
    /// the serial stays the same but the content differs, by restarting the
    /// zone's journal with a creation entry (older serials then have no IXFR).
    ReplaceZone {
        /// The zone.
        zone: Name,
        /// Primary or secondary.
        kind: ZoneKind,
        /// Settings JSON object.
        settings: String,
        /// The serial after the replacement.
        serial: u32,
        /// The whole new content.
        records: Vec<Record>,
    },
    /// Inserts or replaces a TSIG key (name compared ignoring ASCII case).
    PutTsigKey(TsigKeyRow),
    /// Deletes a TSIG key if present, without the in-use check of
    /// [`crate::Store::delete_tsig_key`] (an edge follows what the primary did).
    DeleteTsigKey(String),
}

/// What [`crate::Store::listen_with`] hands its callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenEvent<'a> {
    /// LISTEN is in place, at first and again after each reconnection.
    /// Notifications sent while not connected are lost: a caller that keeps
    /// state from them should resynchronize here.
    Listening,
    /// A notification.
    Notification {
        /// The channel.
        channel: &'a str,
        /// The payload (empty when none was given).
        payload: &'a str,
    },
}

/// Leadership among the control planes of one database; see [`crate::Store::leader_lock`].
///
/// On PostgreSQL a background thread holds a session of its own and tries
/// `pg_try_advisory_lock(`[`LEADER_LOCK_KEY`]`)` every second until it gets
/// the lock, then checks the session every second; losing the connection
/// loses leadership (the server releases the lock when the session ends).
/// Dropping the `LeaderLock` ends the session and so hands leadership over.
/// On SQLite the store has a single control plane, which always leads.
pub struct LeaderLock {
    pub(crate) leader: Arc<AtomicBool>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) thread: Option<JoinHandle<()>>,
}

impl LeaderLock {
    /// A lock that is always held (SQLite).
    pub(crate) fn always() -> LeaderLock {
        LeaderLock {
            leader: Arc::new(AtomicBool::new(true)),
            stop: Arc::new(AtomicBool::new(true)),
            thread: None,
        }
    }

    /// Whether this process leads now (it may stop leading at any moment).
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::SeqCst)
    }

    /// Waits up to `timeout` to become leader; whether it is.
    pub fn wait_leader(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.is_leader() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for LeaderLock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
        self.leader.store(false, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for LeaderLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderLock")
            .field("is_leader", &self.is_leader())
            .finish()
    }
}

#[cfg(test)]
mod notice_tests {
    use super::ChangeNotice;

    #[test]
    fn change_notices_parse_with_and_without_a_serial() {
        let n = ChangeNotice::parse("example.com. 2026120105").unwrap();
        assert_eq!(
            (n.zone.to_string().as_str(), n.serial),
            ("example.com.", Some(2026120105))
        );
        let n = ChangeNotice::parse("example.com.").unwrap();
        assert_eq!(n.serial, None);
        assert!(ChangeNotice::parse("example.com. x")
            .unwrap_err()
            .contains("serial 'x'"));
        assert!(ChangeNotice::parse("example.com. 4294967296").is_err());
        assert!(
            ChangeNotice::parse("a..b 1").is_err(),
            "an empty label is no name"
        );
    }
}
