//! Normal (non-replication) SQL connections: connecting, the `edges` status
//! row, and the NOTIFY relay.

use crate::error::{sql, ReplicaError};
use crate::status::{now_ms, StatusHandle};
use pg_walstream::CancellationToken;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::{Client, Config, NoTls};

/// The channel DNS NOTIFY messages are relayed on.
pub const DNS_NOTIFY_CHANNEL: &str = "zonecast_dns_notify";

/// How many relayed NOTIFY messages may wait for PostgreSQL.
pub const NOTIFY_QUEUE: usize = 1024;

/// Parses the `--database` URL for normal connections (with a connect timeout unless given).
pub fn parse_config(url: &str) -> Result<Config, ReplicaError> {
    let mut c: Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| ReplicaError::InvalidUrl(e.to_string()))?;
    if c.get_connect_timeout().is_none() {
        c.connect_timeout(Duration::from_secs(5));
    }
    if c.get_application_name().is_none() {
        c.application_name("zonecast-edge");
    }
    Ok(c)
}

/// The connection string for the replication connection: the URL plus `replication=database`.
pub fn replication_url(url: &str) -> String {
    if url.contains("replication=") {
        url.to_string()
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}replication=database")
    } else {
        format!("{url} replication=database")
    }
}

/// Opens a normal connection; its driver runs on a task of its own.
pub async fn connect(config: &Config, what: &str) -> Result<Client, ReplicaError> {
    let (client, conn) = config
        .connect(NoTls)
        .await
        .map_err(sql(format!("connecting ({what})")))?;
    let what = what.to_string();
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(connection = %what, error = %e, "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// The upsert of an edge's row; `$9` is the `dns` column (schema version 2).
const UPSERT_EDGE: &str = "INSERT INTO edges (name, applied_lsn, lag_ms, serials, problems, ready, seen_at, started_at, dns) \
     VALUES ($1, $2, $3, COALESCE($4, '{}'), $5, $6, $7, $8, $9) \
     ON CONFLICT (name) DO UPDATE SET applied_lsn = EXCLUDED.applied_lsn, \
     lag_ms = EXCLUDED.lag_ms, serials = COALESCE($4, edges.serials), \
     problems = EXCLUDED.problems, ready = EXCLUDED.ready, seen_at = EXCLUDED.seen_at, \
     started_at = EXCLUDED.started_at, dns = EXCLUDED.dns";

/// [`UPSERT_EDGE`] for a database still at schema version 1 (no `dns` column).
const UPSERT_EDGE_V1: &str =
    "INSERT INTO edges (name, applied_lsn, lag_ms, serials, problems, ready, seen_at, started_at) \
     VALUES ($1, $2, $3, COALESCE($4, '{}'), $5, $6, $7, $8) \
     ON CONFLICT (name) DO UPDATE SET applied_lsn = EXCLUDED.applied_lsn, \
     lag_ms = EXCLUDED.lag_ms, serials = COALESCE($4, edges.serials), \
     problems = EXCLUDED.problems, ready = EXCLUDED.ready, seen_at = EXCLUDED.seen_at, \
     started_at = EXCLUDED.started_at";

/// Upserts this edge's row in `edges` every `interval` until `stop`; failures are logged, never fatal.
///
/// `dns` (the `--dns-listen` addresses) goes to the `dns` column; on a
/// database whose control planes have not migrated to schema version 2 yet
/// the row is written without it (warned once per connection).
pub(crate) async fn status_task(
    config: Config,
    status: StatusHandle,
    dns: Vec<String>,
    interval: Duration,
    stop: CancellationToken,
) {
    let dns = serde_json::to_string(&dns).unwrap_or_else(|_| "[]".into());
    let mut client: Option<Client> = None;
    let mut written_serials: Option<u64> = None;
    let mut failing = false;
    let mut has_dns_column = true;
    loop {
        if client.as_ref().is_some_and(|c| c.is_closed()) {
            client = None;
        }
        if client.is_none() {
            match connect(&config, "edge status").await {
                Ok(c) => {
                    client = Some(c);
                    written_serials = None;
                    has_dns_column = true;
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "edge status: cannot connect; retrying every interval");
                    }
                    failing = true;
                }
            }
        }
        if let Some(c) = &client {
            let snap = status.snapshot();
            let version = status.lock().serials_version;
            let serials = if written_serials == Some(version) {
                None
            } else {
                Some(serde_json::to_string(&snap.serials).unwrap_or_else(|_| "{}".into()))
            };
            let problems: Vec<&str> = snap.problems.iter().map(|p| p.message.as_str()).collect();
            let problems = serde_json::to_string(&problems).unwrap_or_else(|_| "[]".into());
            let seen = now_ms();
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 9] = [
                &snap.name,
                &snap.applied_lsn,
                &snap.lag_ms,
                &serials,
                &problems,
                &snap.ready,
                &seen,
                &snap.started_at,
                &dns,
            ];
            let mut r = if has_dns_column {
                c.execute(UPSERT_EDGE, &params).await
            } else {
                c.execute(UPSERT_EDGE_V1, &params[..8]).await
            };
            if has_dns_column
                && r.as_ref().err().and_then(|e| e.code())
                    == Some(&tokio_postgres::error::SqlState::UNDEFINED_COLUMN)
            {
                tracing::warn!("edge status: the edges table has no dns column yet (a control plane of this version migrates it); writing the row without the DNS addresses");
                has_dns_column = false;
                r = c.execute(UPSERT_EDGE_V1, &params[..8]).await;
            }
            match r {
                Ok(_) => {
                    written_serials = Some(version);
                    if failing {
                        tracing::info!("edge status: written again");
                    }
                    failing = false;
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "edge status: upsert failed");
                    }
                    failing = true;
                    client = None;
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// Relays DNS NOTIFY messages received by this edge to the control plane
/// (`SELECT pg_notify('zonecast_dns_notify', payload)`); cheap to clone.
///
/// [`Notifier::relay_notify`] only queues. The queue holds
/// [`NOTIFY_QUEUE`] messages; a message that finds it full, or that can't
/// be sent because PostgreSQL is unreachable, is dropped and counted
/// ([`crate::Metrics::notifies_dropped`]): the primary's SOA timers still
/// bring the zone up to date.
#[derive(Clone, Debug)]
pub struct Notifier {
    tx: mpsc::Sender<String>,
    edge: String,
    status: StatusHandle,
}

impl Notifier {
    pub(crate) fn new(edge: String, status: StatusHandle) -> (Notifier, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(NOTIFY_QUEUE);
        (Notifier { tx, edge, status }, rx)
    }

    /// Queues a relay of a NOTIFY for `zone` received from `from` (`ip:port`),
    /// announcing `serial` when it carried the SOA; false when it was
    /// dropped because the queue is full.
    ///
    /// The payload is `{"zone":"example.com.","from":"ip:port","edge":"NAME"}`,
    /// with `"serial":N` when there is one.
    pub fn relay_notify(&self, zone: &str, from: &str, serial: Option<u32>) -> bool {
        let mut payload = serde_json::json!({"zone": zone, "from": from, "edge": self.edge});
        if let Some(s) = serial {
            payload["serial"] = s.into();
        }
        let payload = payload.to_string();
        match self.tx.try_send(payload) {
            Ok(()) => true,
            Err(_) => {
                self.status
                    .shared
                    .notifies_dropped
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(zone, from, "NOTIFY relay queue full; dropped");
                false
            }
        }
    }
}

/// Sends queued relays until `stop`.
pub(crate) async fn notify_task(
    config: Config,
    mut rx: mpsc::Receiver<String>,
    status: StatusHandle,
    stop: CancellationToken,
) {
    let mut client: Option<Client> = None;
    loop {
        let payload = tokio::select! {
            _ = stop.cancelled() => return,
            p = rx.recv() => match p { Some(p) => p, None => return },
        };
        if client.as_ref().is_some_and(|c| c.is_closed()) {
            client = None;
        }
        if client.is_none() {
            client = connect(&config, "NOTIFY relay").await.ok();
        }
        let sent = match &client {
            Some(c) => c
                .execute("SELECT pg_notify($1, $2)", &[&DNS_NOTIFY_CHANNEL, &payload])
                .await
                .map_err(|e| e.to_string()),
            None => Err("PostgreSQL unreachable".into()),
        };
        match sent {
            Ok(_) => {
                status
                    .shared
                    .notifies_relayed
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                client = None;
                status
                    .shared
                    .notifies_dropped
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, %payload, "NOTIFY relay failed; dropped");
            }
        }
    }
}
