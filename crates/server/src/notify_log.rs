//! NOTIFY in, counted by outcome and logged without letting a flood of
//! packets flood the log.
//!
//! NOTIFY arrives over UDP, so its source address can be spoofed; any
//! number of packets can reach the node's [`NotifySink`](crate::NotifySink).
//! Each is counted here (`/metrics`: `zonecast_notify_in_total{outcome="..."}`).
//! For a refused one ([`NotifyLog::record`]) a log line is written for the
//! first NOTIFY of a reason and then at most once per reason every
//! [`LOG_GAP_MS`], saying how many were not logged in between. Accepted
//! ones are only counted here ([`NotifyLog::count`]); the caller logs each.
//!
//! Not implemented: per-zone or per-peer counters (the log line names the
//! zone and peer of the NOTIFY it is written for).

use std::sync::atomic::{AtomicU64, Ordering};

/// How a NOTIFY that reached a node was answered, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyOutcome {
    /// Taken from one of the zone's primaries (NOERROR + AA).
    Accepted,
    /// REFUSED: the zone is served but its row is not stored yet.
    NotStored,
    /// REFUSED: the store could not be read.
    StoreError,
    /// REFUSED: the zone is not a secondary zone.
    NotSecondary,
    /// REFUSED: the peer is not one of the zone's primaries.
    NotPrimary,
    /// REFUSED: the zone has a TSIG key and the NOTIFY was not signed with it.
    NotSigned,
}

impl NotifyOutcome {
    /// Every outcome, in the order of the counters.
    pub const ALL: [NotifyOutcome; 6] = [
        NotifyOutcome::Accepted,
        NotifyOutcome::NotStored,
        NotifyOutcome::StoreError,
        NotifyOutcome::NotSecondary,
        NotifyOutcome::NotPrimary,
        NotifyOutcome::NotSigned,
    ];

    /// The metric's `outcome` label.
    pub fn label(self) -> &'static str {
        match self {
            NotifyOutcome::Accepted => "accepted",
            NotifyOutcome::NotStored => "not_stored",
            NotifyOutcome::StoreError => "store_error",
            NotifyOutcome::NotSecondary => "not_secondary",
            NotifyOutcome::NotPrimary => "not_primary",
            NotifyOutcome::NotSigned => "not_signed",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Least time between two log lines of one outcome, milliseconds.
pub const LOG_GAP_MS: u64 = 10_000;

/// Counters and log gate of NOTIFY in, one slot per [`NotifyOutcome`].
pub struct NotifyLog {
    count: [AtomicU64; 6],
    /// The count when the last line was written.
    logged: [AtomicU64; 6],
    /// When the last line was written (ms since the epoch, 0: never).
    last_ms: [AtomicU64; 6],
}

/// The process's NOTIFY-in counters (every listener of a node shares them).
pub static NOTIFY_IN: NotifyLog = NotifyLog::new();

impl Default for NotifyLog {
    fn default() -> Self {
        NotifyLog::new()
    }
}

impl NotifyLog {
    /// Counters at zero.
    pub const fn new() -> NotifyLog {
        NotifyLog {
            count: [const { AtomicU64::new(0) }; 6],
            logged: [const { AtomicU64::new(0) }; 6],
            last_ms: [const { AtomicU64::new(0) }; 6],
        }
    }

    /// Counts one NOTIFY; `Some(n)` when a line should be logged for it,
    /// `n` being how many of this outcome went unlogged since the last line.
    pub fn record(&self, outcome: NotifyOutcome) -> Option<u64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_millis() as u64);
        self.record_at(outcome, now)
    }

    /// [`record`](Self::record) at `now_ms` (tests set the clock).
    pub fn record_at(&self, outcome: NotifyOutcome, now_ms: u64) -> Option<u64> {
        let i = outcome.index();
        let n = self.count[i].fetch_add(1, Ordering::Relaxed) + 1;
        let last = self.last_ms[i].load(Ordering::Relaxed);
        // A clock that went back logs again rather than going quiet.
        if last != 0 && now_ms >= last && now_ms - last < LOG_GAP_MS {
            return None;
        }
        let stamp = now_ms.max(1);
        if self.last_ms[i]
            .compare_exchange(last, stamp, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return None; // another thread writes this line
        }
        let before = self.logged[i].swap(n, Ordering::Relaxed);
        Some(n.saturating_sub(before).saturating_sub(1))
    }

    /// Counts one NOTIFY without the log gate.
    pub fn count(&self, outcome: NotifyOutcome) {
        self.count[outcome.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// NOTIFY counted so far, per outcome (order of [`NotifyOutcome::ALL`]).
    pub fn counts(&self) -> [(NotifyOutcome, u64); 6] {
        NotifyOutcome::ALL.map(|o| (o, self.count[o.index()].load(Ordering::Relaxed)))
    }

    /// The Prometheus text of the counter, `zonecast_notify_in_total{outcome="..."}`.
    pub fn metrics_text(&self) -> String {
        let mut out = String::from(
            "# HELP zonecast_notify_in_total DNS NOTIFY messages received for a zone, by how they were answered.\n\
             # TYPE zonecast_notify_in_total counter\n",
        );
        for (o, n) in self.counts() {
            out.push_str(&format!(
                "zonecast_notify_in_total{{outcome=\"{}\"}} {n}\n",
                o.label()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_notify_is_logged_then_one_line_per_gap_with_the_count_unlogged() {
        let log = NotifyLog::new();
        let t = 1_000_000;
        assert_eq!(log.record_at(NotifyOutcome::NotPrimary, t), Some(0));
        for k in 1..=999 {
            assert_eq!(log.record_at(NotifyOutcome::NotPrimary, t + k), None);
        }
        // Another outcome has its own gate.
        assert_eq!(log.record_at(NotifyOutcome::Accepted, t + 5), Some(0));
        assert_eq!(
            log.record_at(NotifyOutcome::NotPrimary, t + LOG_GAP_MS - 1),
            None
        );
        assert_eq!(
            log.record_at(NotifyOutcome::NotPrimary, t + LOG_GAP_MS),
            Some(1000),
            "999 within the gap plus the one just before it"
        );
        assert_eq!(
            log.record_at(NotifyOutcome::NotPrimary, t + LOG_GAP_MS + 1),
            None
        );
        let counts = log.counts();
        assert_eq!(counts[NotifyOutcome::NotPrimary.index()].1, 1003);
        assert_eq!(counts[NotifyOutcome::Accepted.index()].1, 1);
        let text = log.metrics_text();
        assert!(text.contains("zonecast_notify_in_total{outcome=\"not_primary\"} 1003\n"));
        assert!(text.contains("zonecast_notify_in_total{outcome=\"not_signed\"} 0\n"));
    }

    #[test]
    fn a_clock_that_goes_back_does_not_silence_the_log() {
        let log = NotifyLog::new();
        assert_eq!(log.record_at(NotifyOutcome::NotSigned, 50_000), Some(0));
        assert_eq!(log.record_at(NotifyOutcome::NotSigned, 20_000), Some(0));
        assert_eq!(log.record_at(NotifyOutcome::NotSigned, 20_001), None);
    }
}
