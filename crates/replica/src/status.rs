//! What an edge reports about itself: position, lag, readiness, problems,
//! the serial it serves per zone, and counters for `/metrics`.
//!
//! Lag (the plan's rule): when a heartbeat row is applied, `hb_apply_delay`
//! = the edge's clock at apply − the row's `at_ms`; at any time
//! `lag_ms = max(hb_apply_delay, now − at_ms − interval_ms)`, so the lag
//! grows once the next heartbeat is overdue (PostgreSQL down, replication
//! stuck). It assumes the control plane's and the edge's clocks agree
//! (NTP); a skew adds to or hides lag.

use crate::pgoutput::Lsn;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many problems are kept (the most recent).
pub const MAX_PROBLEMS: usize = 32;

/// Upper bounds (µs) of the apply-time histogram buckets; the last bucket is unbounded.
pub const APPLY_BUCKETS_US: [u64; 10] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 250_000,
];

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// One problem the edge met.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// When, unix ms.
    pub at_ms: i64,
    /// The zone concerned, when there is one.
    pub zone: Option<String>,
    /// What happened (with the LSN where it applies).
    pub message: String,
}

/// The last heartbeat applied.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Heartbeat {
    /// The writer's clock when it wrote the row, unix ms.
    pub at_ms: i64,
    /// The writer's interval, ms.
    pub interval_ms: i64,
    /// This edge's clock when it applied the row, unix ms.
    pub applied_ms: i64,
    /// Who wrote it (empty when loaded from the local snapshot).
    pub writer: String,
}

/// Counters for `/metrics`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Metrics {
    /// Transactions applied from the stream.
    pub transactions_applied: u64,
    /// Transactions skipped as already applied (commit LSN ≤ `replica.lsn`).
    pub transactions_skipped: u64,
    /// Journal rows skipped as already applied (seq ≤ the zone's seq).
    pub rows_skipped: u64,
    /// Replication sessions started after the first one.
    pub reconnects: u64,
    /// Single-zone resyncs done.
    pub zone_resyncs: u64,
    /// Full resyncs done (initial sync included).
    pub full_resyncs: u64,
    /// Corruptions of the local snapshot found at start: a file discarded
    /// (it did not open, failed `PRAGMA quick_check` or did not read) counts
    /// one, and so does each zone whose records did not match their checksum.
    pub snapshot_corruptions: u64,
    /// Problems recorded since start.
    pub problems_total: u64,
    /// NOTIFY messages relayed to the control plane.
    pub notifies_relayed: u64,
    /// NOTIFY messages dropped (queue full or PostgreSQL down).
    pub notifies_dropped: u64,
    /// Last commit-to-published time, µs.
    pub publish_us_last: u64,
    /// Largest commit-to-published time, µs.
    pub publish_us_max: u64,
    /// Last commit-to-persisted time (publish plus local store), µs.
    pub apply_us_last: u64,
    /// Largest commit-to-persisted time, µs.
    pub apply_us_max: u64,
    /// Sum of commit-to-persisted times, µs (with `transactions_applied`, the mean).
    pub apply_us_sum: u64,
    /// Histogram of commit-to-persisted times: counts per bucket of [`APPLY_BUCKETS_US`], then the overflow.
    pub apply_us_buckets: [u64; 11],
}

/// A snapshot of the edge's state, for `/v1/health`, `/metrics` and the `edges` table.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EdgeStatus {
    /// The edge's `--name`.
    pub name: String,
    /// The replication slot's name.
    pub slot: String,
    /// End LSN of the last transaction applied and persisted (`X/X`).
    pub applied_lsn: String,
    /// Replication lag, ms; `None` while no heartbeat was ever applied.
    pub lag_ms: Option<i64>,
    /// Streaming from PostgreSQL right now.
    pub connected: bool,
    /// Has data (initial sync done or a snapshot loaded).
    pub has_data: bool,
    /// Ready to take traffic: has data and `lag_ms <= max_lag_ms` (lag
    /// unknown counts as ready only while connected).
    pub ready: bool,
    /// The readiness threshold, ms.
    pub max_lag_ms: i64,
    /// The most recent problems, oldest first (at most [`MAX_PROBLEMS`]).
    pub problems: Vec<Problem>,
    /// Zones halted and waiting for a resync, with the reason.
    pub halted: BTreeMap<String, String>,
    /// The serial held per zone (lowercase absolute names).
    pub serials: BTreeMap<String, u32>,
    /// The last heartbeat applied.
    pub last_heartbeat: Option<Heartbeat>,
    /// When this process started, unix ms.
    pub started_at: i64,
    /// The last error of the replication session, if it is not connected.
    pub last_error: Option<String>,
    /// Counters.
    pub metrics: Metrics,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub applied_lsn: u64,
    pub connected: bool,
    pub has_data: bool,
    pub problems: VecDeque<Problem>,
    pub halted: BTreeMap<String, String>,
    pub serials: BTreeMap<String, u32>,
    /// Bumped whenever `serials` changes (so the edges row rewrites them only then).
    pub serials_version: u64,
    pub heartbeat: Option<Heartbeat>,
    pub hb_apply_delay: i64,
    pub last_error: Option<String>,
    pub metrics: Metrics,
}

/// The shared, live status; cheap to clone (an `Arc`).
#[derive(Clone, Debug)]
pub struct StatusHandle {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub name: String,
    pub slot: String,
    pub max_lag_ms: i64,
    pub started_at: i64,
    pub inner: Mutex<Inner>,
    pub notifies_relayed: AtomicU64,
    pub notifies_dropped: AtomicU64,
}

impl StatusHandle {
    pub(crate) fn new(name: String, slot: String, max_lag_ms: i64) -> StatusHandle {
        StatusHandle {
            shared: Arc::new(Shared {
                name,
                slot,
                max_lag_ms,
                started_at: now_ms(),
                inner: Mutex::new(Inner {
                    applied_lsn: 0,
                    connected: false,
                    has_data: false,
                    problems: VecDeque::new(),
                    halted: BTreeMap::new(),
                    serials: BTreeMap::new(),
                    serials_version: 0,
                    heartbeat: None,
                    hb_apply_delay: 0,
                    last_error: None,
                    metrics: Metrics::default(),
                }),
                notifies_relayed: AtomicU64::new(0),
                notifies_dropped: AtomicU64::new(0),
            }),
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The lag now, ms (the rule in the module docs); `None` without a heartbeat.
    pub fn lag_ms(&self) -> Option<i64> {
        let g = self.lock();
        lag_at(&g, now_ms())
    }

    /// Whether the edge is ready to take traffic (see [`EdgeStatus::ready`]).
    pub fn is_ready(&self) -> bool {
        let g = self.lock();
        ready_at(&g, now_ms(), self.shared.max_lag_ms)
    }

    /// A snapshot of everything.
    pub fn snapshot(&self) -> EdgeStatus {
        let now = now_ms();
        let g = self.lock();
        let mut metrics = g.metrics.clone();
        metrics.notifies_relayed = self.shared.notifies_relayed.load(Ordering::Relaxed);
        metrics.notifies_dropped = self.shared.notifies_dropped.load(Ordering::Relaxed);
        EdgeStatus {
            name: self.shared.name.clone(),
            slot: self.shared.slot.clone(),
            applied_lsn: Lsn(g.applied_lsn).to_string(),
            lag_ms: lag_at(&g, now),
            connected: g.connected,
            has_data: g.has_data,
            ready: ready_at(&g, now, self.shared.max_lag_ms),
            max_lag_ms: self.shared.max_lag_ms,
            problems: g.problems.iter().cloned().collect(),
            halted: g.halted.clone(),
            serials: g.serials.clone(),
            last_heartbeat: g.heartbeat.clone(),
            started_at: self.shared.started_at,
            last_error: g.last_error.clone(),
            metrics,
        }
    }

    /// Records a problem (also logged by the caller).
    pub(crate) fn problem(&self, zone: Option<String>, message: String) {
        let mut g = self.lock();
        g.metrics.problems_total += 1;
        if g.problems.len() >= MAX_PROBLEMS {
            g.problems.pop_front();
        }
        g.problems.push_back(Problem {
            at_ms: now_ms(),
            zone,
            message,
        });
    }
}

fn lag_at(g: &Inner, now: i64) -> Option<i64> {
    let hb = g.heartbeat.as_ref()?;
    let overdue = now - hb.at_ms - hb.interval_ms;
    Some(g.hb_apply_delay.max(overdue).max(0))
}

fn ready_at(g: &Inner, now: i64, max_lag_ms: i64) -> bool {
    if !g.has_data {
        return false;
    }
    match lag_at(g, now) {
        Some(lag) => lag <= max_lag_ms,
        None => g.connected,
    }
}

/// Adds one apply time to the histogram.
pub(crate) fn record_apply(m: &mut Metrics, publish_us: u64, apply_us: u64) {
    m.publish_us_last = publish_us;
    m.publish_us_max = m.publish_us_max.max(publish_us);
    m.apply_us_last = apply_us;
    m.apply_us_max = m.apply_us_max.max(apply_us);
    m.apply_us_sum = m.apply_us_sum.saturating_add(apply_us);
    let i = APPLY_BUCKETS_US
        .iter()
        .position(|&b| apply_us <= b)
        .unwrap_or(APPLY_BUCKETS_US.len());
    m.apply_us_buckets[i] += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_and_readiness() {
        let s = StatusHandle::new("e1".into(), "zonecast_edge_e1".into(), 5000);
        assert!(!s.is_ready(), "no data");
        s.lock().has_data = true;
        assert!(!s.is_ready(), "no heartbeat, not connected");
        s.lock().connected = true;
        assert!(s.is_ready(), "no heartbeat yet, connected");
        let now = now_ms();
        {
            let mut g = s.lock();
            g.heartbeat = Some(Heartbeat {
                at_ms: now - 100,
                interval_ms: 1000,
                applied_ms: now - 98,
                writer: "cp".into(),
            });
            g.hb_apply_delay = 2;
        }
        assert_eq!(s.lag_ms(), Some(2));
        assert!(s.is_ready());
        s.lock().heartbeat.as_mut().unwrap().at_ms = now - 10_000;
        let lag = s.lag_ms().unwrap();
        assert!((8_999..9_100).contains(&lag), "{lag}");
        assert!(!s.is_ready(), "overdue heartbeat");
        for i in 0..40 {
            s.problem(None, format!("p{i}"));
        }
        let snap = s.snapshot();
        assert_eq!(snap.problems.len(), MAX_PROBLEMS);
        assert_eq!(snap.problems.last().unwrap().message, "p39");
        assert_eq!(snap.metrics.problems_total, 40);
    }

    #[test]
    fn histogram() {
        let mut m = Metrics::default();
        record_apply(&mut m, 10, 40);
        record_apply(&mut m, 10, 1_000);
        record_apply(&mut m, 10, 10_000_000);
        assert_eq!(m.apply_us_buckets[0], 1);
        assert_eq!(m.apply_us_buckets[4], 1);
        assert_eq!(m.apply_us_buckets[10], 1);
        assert_eq!(m.apply_us_max, 10_000_000);
        assert_eq!(m.apply_us_last, 10_000_000);
    }
}
