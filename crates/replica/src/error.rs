//! The follower's error type.

use std::path::PathBuf;

/// What can stop the follower from starting, or end one replication session.
///
/// Errors inside a session are logged, counted and followed by a reconnect;
/// only [`Follower::start`](crate::Follower::start) returns them to the caller.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The edge name can't make a slot name.
    #[error("invalid edge name '{name}': {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The `--database` URL does not parse.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// The local snapshot store failed.
    #[error("local snapshot in {}: {source}", dir.display())]
    Local {
        /// The data directory.
        dir: PathBuf,
        /// The store's error.
        #[source]
        source: zonecast_store::StoreError,
    },
    /// Writing to the local snapshot failed (the transaction is not confirmed).
    #[error("persisting to the local snapshot: {0}")]
    Persist(#[source] zonecast_store::StoreError),
    /// A normal SQL connection or query failed.
    #[error("PostgreSQL {context}: {source}")]
    Sql {
        /// What the follower was doing.
        context: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The replication connection failed.
    #[error("replication {context}: {source}")]
    Replication {
        /// What the follower was doing.
        context: String,
        /// The replication library's error.
        #[source]
        source: pg_walstream::ReplicationError,
    },
    /// The slot is gone or unusable; a full resync follows.
    #[error("replication slot {slot} unusable: {reason}")]
    SlotLost {
        /// The slot's name.
        slot: String,
        /// Why.
        reason: String,
    },
    /// The primary's data is not what this edge can follow (missing publication, schema).
    #[error("{0}")]
    Setup(String),
    /// The follower needs a multi-thread tokio runtime.
    #[error("the edge follower needs a multi-thread tokio runtime")]
    Runtime,
}

/// Maps a tokio-postgres error with a context.
pub(crate) fn sql(
    context: impl Into<String>,
) -> impl FnOnce(tokio_postgres::Error) -> ReplicaError {
    let context = context.into();
    move |source| ReplicaError::Sql { context, source }
}
