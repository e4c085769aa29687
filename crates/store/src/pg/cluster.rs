//! Cluster duties on PostgreSQL: heartbeat, edge status rows, LISTEN, the leader lock.

use super::{connect, PgStore, Tx};
use crate::common::now_ms;
use crate::error::{pg, StoreError};
use crate::{EdgeRow, LeaderLock, ListenEvent, LEADER_LOCK_KEY};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Config};
use rand::Rng;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a blocked LISTEN loop looks at its stop flag.
const LISTEN_POLL: Duration = Duration::from_millis(250);
/// First and largest wait before connecting again.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// How often the leader lock is tried, and the leader's session checked.
const LEADER_PERIOD: Duration = Duration::from_secs(1);

const EDGE_COLUMNS: &str =
    "name, applied_lsn, lag_ms, serials, problems, ready, seen_at, started_at, dns";

impl PgStore {
    pub(super) fn cluster_heartbeat(
        &self,
        writer: &str,
        interval_ms: u32,
    ) -> Result<i64, StoreError> {
        let at = now_ms();
        let interval = i32::try_from(interval_ms).unwrap_or(i32::MAX);
        self.write(
            || "writing the heartbeat".into(),
            |t| {
                t.execute(
                    "INSERT INTO heartbeat (id, at_ms, interval_ms, writer) VALUES (1, $1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET at_ms = EXCLUDED.at_ms,
                     interval_ms = EXCLUDED.interval_ms, writer = EXCLUDED.writer",
                    &[&at, &interval, &writer],
                )
                .map_err(pg(|| "writing the heartbeat".into()))
            },
        )?;
        Ok(at)
    }

    pub(super) fn cluster_edges(&self) -> Result<Vec<EdgeRow>, StoreError> {
        let ctx = || "listing edges".to_string();
        let rows = self.with_reader(|conn| {
            Tx {
                client: &mut conn.client,
                stmts: &mut conn.stmts,
            }
            .query(
                &format!("SELECT {EDGE_COLUMNS} FROM edges ORDER BY name COLLATE \"C\""),
                &[],
            )
            .map_err(pg(ctx))
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let name: String = r.try_get(0).map_err(pg(ctx))?;
            let serials: String = r.try_get(3).map_err(pg(ctx))?;
            let problems: String = r.try_get(4).map_err(pg(ctx))?;
            let dns: String = r.try_get(8).map_err(pg(ctx))?;
            let corrupt = |column: &str, e: serde_json::Error| {
                StoreError::Corrupt(format!("edge '{name}': {column}: {e}"))
            };
            let serials: BTreeMap<String, u32> =
                serde_json::from_str(&serials).map_err(|e| corrupt("serials", e))?;
            let problems: Vec<String> =
                serde_json::from_str(&problems).map_err(|e| corrupt("problems", e))?;
            let dns: Vec<String> = serde_json::from_str(&dns).map_err(|e| corrupt("dns", e))?;
            out.push(EdgeRow {
                applied_lsn: r.try_get(1).map_err(pg(ctx))?,
                lag_ms: r.try_get(2).map_err(pg(ctx))?,
                serials,
                problems,
                ready: r.try_get(5).map_err(pg(ctx))?,
                seen_at: r.try_get(6).map_err(pg(ctx))?,
                started_at: r.try_get(7).map_err(pg(ctx))?,
                dns,
                name,
            });
        }
        Ok(out)
    }

    pub(super) fn cluster_upsert_edge(&self, edge: &EdgeRow) -> Result<(), StoreError> {
        let ctx = || format!("writing the status of edge '{}'", edge.name);
        // Serializing maps of strings and lists of strings cannot fail.
        let serials = serde_json::to_string(&edge.serials).unwrap_or_else(|_| "{}".into());
        let problems = serde_json::to_string(&edge.problems).unwrap_or_else(|_| "[]".into());
        let dns = serde_json::to_string(&edge.dns).unwrap_or_else(|_| "[]".into());
        self.write(ctx, |t| {
            t.execute(
                &format!(
                    "INSERT INTO edges ({EDGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (name) DO UPDATE SET applied_lsn = EXCLUDED.applied_lsn,
                         lag_ms = EXCLUDED.lag_ms, serials = EXCLUDED.serials,
                         problems = EXCLUDED.problems, ready = EXCLUDED.ready,
                         seen_at = EXCLUDED.seen_at, started_at = EXCLUDED.started_at,
                         dns = EXCLUDED.dns"
                ),
                &[
                    &edge.name,
                    &edge.applied_lsn,
                    &edge.lag_ms,
                    &serials,
                    &problems,
                    &edge.ready,
                    &edge.seen_at,
                    &edge.started_at,
                    &dns,
                ],
            )
            .map(|_| ())
            .map_err(pg(ctx))
        })
    }
}

/// Sleeps up to `d`, waking early when `stop` is set; whether it was set.
fn sleep_unless(stop: &AtomicBool, d: Duration) -> bool {
    let deadline = Instant::now() + d;
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::park_timeout((deadline - now).min(LISTEN_POLL));
    }
    true
}

/// The next backoff: doubled up to [`BACKOFF_MAX`], and the wait with up to 25 % jitter.
fn backoff(current: &mut Duration) -> Duration {
    let wait = *current;
    *current = (*current * 2).min(BACKOFF_MAX);
    let jitter = rand::thread_rng().gen_range(0..=wait.as_millis() / 4 + 1);
    wait + Duration::from_millis(u64::try_from(jitter).unwrap_or(0))
}

/// Connects and LISTENs on every channel (names checked by the caller).
fn listen_connect(config: &Config, target: &str, channels: &[&str]) -> Result<Client, StoreError> {
    let mut client = connect(config, target, false)?;
    let sql: String = channels
        .iter()
        .map(|c| format!("LISTEN \"{c}\";"))
        .collect();
    client
        .batch_execute(&sql)
        .map_err(pg(|| format!("listening on {}", channels.join(", "))))?;
    Ok(client)
}

/// The blocking LISTEN loop of [`crate::Store::listen_with`].
pub(super) fn listen(
    config: &Config,
    target: &str,
    channels: &[&str],
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(ListenEvent<'_>),
) -> Result<(), StoreError> {
    let mut delay = BACKOFF_MIN;
    while !stop.load(Ordering::SeqCst) {
        let mut client = match listen_connect(config, target, channels) {
            Ok(c) => c,
            Err(e) => {
                let wait = backoff(&mut delay);
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "LISTEN connection failed");
                sleep_unless(stop, wait);
                continue;
            }
        };
        delay = BACKOFF_MIN;
        tracing::debug!(channels = ?channels, "listening");
        on_event(ListenEvent::Listening);
        loop {
            if stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let next = client.notifications().timeout_iter(LISTEN_POLL).next();
            match next {
                Ok(Some(n)) => on_event(ListenEvent::Notification {
                    channel: n.channel(),
                    payload: n.payload(),
                }),
                Ok(None) => {
                    if client.is_closed() {
                        tracing::warn!("LISTEN connection closed; reconnecting");
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                    break;
                }
            }
        }
        let wait = backoff(&mut delay);
        sleep_unless(stop, wait);
    }
    Ok(())
}

/// Starts the leader lock thread.
pub(super) fn leader_lock(config: Config, target: String) -> Result<LeaderLock, StoreError> {
    let leader = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let (l, s) = (leader.clone(), stop.clone());
    let thread = std::thread::Builder::new()
        .name("store-leader-lock".into())
        .spawn(move || run_leader(&config, &target, &l, &s))
        .map_err(|source| StoreError::Thread {
            what: "leader lock",
            source,
        })?;
    Ok(LeaderLock {
        leader,
        stop,
        thread: Some(thread),
    })
}

fn run_leader(config: &Config, target: &str, leader: &AtomicBool, stop: &AtomicBool) {
    let mut client: Option<Client> = None;
    while !stop.load(Ordering::SeqCst) {
        if client.as_ref().is_none_or(Client::is_closed) {
            if leader.swap(false, Ordering::SeqCst) {
                tracing::warn!("leader lock session lost; no longer leader");
            }
            client = match connect(config, target, false) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::debug!(error = %e, "leader lock: cannot connect");
                    None
                }
            };
        }
        if let Some(c) = client.as_mut() {
            if leader.load(Ordering::SeqCst) {
                // Still our session? Losing it loses the lock.
                if let Err(e) = c.simple_query("SELECT 1") {
                    tracing::warn!(error = %e, "leader lock session lost; no longer leader");
                    leader.store(false, Ordering::SeqCst);
                    client = None;
                }
            } else {
                match c
                    .query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_LOCK_KEY])
                    .and_then(|r| r.try_get::<_, bool>(0))
                {
                    Ok(true) => {
                        tracing::info!("leader lock taken; this control plane leads");
                        leader.store(true, Ordering::SeqCst);
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "leader lock: try failed");
                        client = None;
                    }
                }
            }
        }
        sleep_unless(stop, LEADER_PERIOD);
    }
    leader.store(false, Ordering::SeqCst);
    // Dropping the session releases the lock.
    drop(client);
}
