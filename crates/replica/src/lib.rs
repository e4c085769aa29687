//! The edge follower: what a `zonecast edge` process runs to follow the
//! cluster's PostgreSQL by logical replication and serve the same zones.
//!
//! # What it implements
//! - The consumer side of PostgreSQL's streaming replication protocol for
//!   logical decoding (PostgreSQL documentation, "Streaming Replication
//!   Protocol", <https://www.postgresql.org/docs/15/protocol-replication.html>),
//!   through `pg_walstream` 0.9: `CREATE_REPLICATION_SLOT ... LOGICAL
//!   pgoutput EXPORT_SNAPSHOT`, `START_REPLICATION SLOT ... LOGICAL` with
//!   `proto_version '1'`, `publication_names '"zonecast","zonecast_journal"'`
//!   and `binary 'true'`, keepalives and standby status updates.
//! - A decoder of the pgoutput messages ([`pgoutput`]; PostgreSQL
//!   documentation, "Logical Replication Message Formats",
//!   <https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html>)
//!   that never panics and reports the octet offset of what is wrong, and
//!   typed rows of the published tables by column name ([`rows`]).
//! - The apply rules ([`state`]), the local snapshot ([`local`]), the
//!   status with lag and readiness ([`status`]), and the NOTIFY relay
//!   ([`Notifier`]).
//!
//! # Running an edge
//! ```no_run
//! # async fn run() -> Result<(), zonecast_replica::ReplicaError> {
//! use zonecast_replica::{Follower, FollowerConfig};
//! let mut config = FollowerConfig::new("postgres://edge@db/zonecast", "edge-1", "./zonecast-data");
//! config.max_lag_ms = 5000;
//! // Inside a multi-thread tokio runtime. Loads the local snapshot and
//! // publishes it at once, then follows PostgreSQL in the background.
//! let follower = Follower::start(config)?;
//! let zones = follower.zones();       // SharedZones for the DNS listeners
//! let status = follower.status();     // status.snapshot(), status.is_ready()
//! let notifier = follower.notifier(); // notifier.relay_notify("example.com.", "192.0.2.1:53", Some(2026120101))
//! // ... serve ...
//! follower.shutdown().await;
//! # drop((zones, status, notifier)); Ok(()) }
//! ```
//!
//! # How it follows
//! 1. At start the local SQLite snapshot in the data directory (the schema
//!    of `zonecast serve`) is loaded and every zone with an SOA and apex NS
//!    is published: the edge answers at once, PostgreSQL or not.
//! 2. A session connects (normal connection for SQL, replication
//!    connection for the stream). The publications must exist. The slot
//!    `zonecast_edge_<name>` is checked: missing (first start, or dropped)
//!    or invalidated (`wal_status = 'lost'`, then dropped) means a full
//!    resync: the slot is created with an exported snapshot and everything
//!    is copied in that snapshot (`REPEATABLE READ READ ONLY`), replacing
//!    each zone's contents atomically per zone and withdrawing zones that
//!    vanished.
//! 3. Streaming starts from `replica.lsn`. Each transaction's rows are
//!    collected and applied at Commit: each touched zone's next version is
//!    built ([`zonecast_zone::Zone::apply`]), published, persisted to the
//!    local store in one SQLite transaction with `replica.lsn` and the
//!    zones' journal seqs, and only then the LSN is confirmed.
//! 4. Transactions whose commit LSN is ≤ `replica.lsn`, and journal rows
//!    whose seq is ≤ the zone's applied seq, are skipped (already applied).
//! 5. A zone whose change does not apply (its `serial_from` is not the
//!    serial held, a blob that does not decode, records the version lacks)
//!    is halted and resynced from PostgreSQL; the other zones go on.
//! 6. PostgreSQL down or restarting: the edge keeps serving and reconnects
//!    with exponential backoff (100 ms to 10 s, jitter), resuming from the
//!    slot. `START_REPLICATION` failing because the slot does not exist or
//!    can no longer get changes leads to step 2's full resync.
//!
//! # Consistency
//! The copy is the slot's exported snapshot, so stream and copy meet
//! exactly; where a copy is taken without one (per-zone resyncs), the seq
//! rule makes it exact per zone, because writers of one zone are serialised
//! by its row lock and take their journal seq under it (seq order is
//! commit order per zone). Publish happens before persist and persist
//! before confirm, so whatever is confirmed is on disk, and whatever is
//! served but not yet on disk is sent again after a crash.
//! `docs/decisions/0010-edge-replication.md` has the full argument.
//!
//! # Limitations
//! - A transaction touching several zones is published zone after zone in
//!   one loop, not in one atomic swap (the control plane writes one zone
//!   per transaction).
//! - Between a copy's snapshot and the stream's catch-up, zone settings,
//!   TSIG keys and the heartbeat may briefly show older states that existed
//!   on the primary (their rows are replayed; zone contents are not).
//! - The normal SQL connections use no TLS; the URL's `sslmode` applies to
//!   the replication connection only.
//! - Failover to another cluster is handled only through the slot: on the
//!   new primary the slot must be missing (or invalidated) to trigger a
//!   resync; a slot of the same name created there by hand is trusted.
//! - The copy reads `records`, which is not published: the edge's role
//!   needs `SELECT` on it.
//! - Lag is measured with the control plane's clock against the edge's:
//!   skew between them adds to or hides lag.
//! - Problems are kept in memory (the last 32) and in the `edges` row; a
//!   restart forgets them.
//! - Needs a multi-thread tokio runtime (local store writes use
//!   `block_in_place`; the replication library runs inline on it).

#![warn(missing_docs)]

mod error;
pub mod expiry;
mod follower;
pub mod fuzzing;
pub mod local;
pub mod pgoutput;
mod pgsql;
pub mod rows;
pub mod state;
pub mod status;

pub use error::ReplicaError;
pub use follower::{preflight, slot_name, Follower, FollowerConfig, PUBLICATIONS};
pub use pgsql::{Notifier, DNS_NOTIFY_CHANNEL, NOTIFY_QUEUE};
pub use status::{EdgeStatus, Heartbeat, Metrics, Problem, StatusHandle};
