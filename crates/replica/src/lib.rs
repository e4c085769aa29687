//! The edge follower: a `zonecast edge` process follows the primary's
//! PostgreSQL by logical replication, applies each committed transaction
//! to its in-memory zones as one new version, persists it to a local
//! snapshot, and only then confirms the position.
//!
//! See the crate's README section in this file's docs below.

#![warn(missing_docs)]

mod batch_shim;
mod error;
mod follower;
pub mod local;
pub mod pgoutput;
mod pgsql;
pub mod rows;
pub mod state;
pub mod status;

pub use error::ReplicaError;
pub use follower::{slot_name, Follower, FollowerConfig, PUBLICATIONS};
pub use pgsql::{Notifier, DNS_NOTIFY_CHANNEL, NOTIFY_QUEUE};
pub use status::{EdgeStatus, Heartbeat, Metrics, Problem, StatusHandle};
