//! Counters of a TCP listener, and the rate limit on its log lines.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Counters of TCP listeners, for `/metrics`; all counters but `open` only grow.
///
/// One `TcpStats` may be shared by several listeners (their counts add up),
/// while each listener applies its [`TcpLimits`](super::TcpLimits) alone.
#[derive(Debug, Default)]
pub struct TcpStats {
    /// Connections open now (a gauge).
    pub open: AtomicU64,
    /// Connections accepted, including those closed at once by a limit.
    pub accepted: AtomicU64,
    /// Connections closed after the idle timeout.
    pub closed_idle: AtomicU64,
    /// Connections closed because the socket took no answer within the write timeout.
    pub closed_write_timeout: AtomicU64,
    /// Connections closed because a query did not arrive whole within the read timeout.
    pub closed_read_timeout: AtomicU64,
    /// Connections closed to make room for a new one (total limit reached, or
    /// no file descriptor left for accepting).
    pub evicted_for_room: AtomicU64,
    /// New connections closed at once: their source had `max_per_source` open.
    pub refused_per_source: AtomicU64,
    /// New connections closed at once: the total was reached and every open
    /// connection was serving a zone transfer, so none could be evicted.
    pub refused_full: AtomicU64,
    /// Times a connection stopped being read because `max_pipelined` answers
    /// (or 64 KiB) were waiting for a peer that did not read them.
    pub pipeline_limit_hits: AtomicU64,
    /// Failed `accept` calls (e.g. no file descriptor left).
    pub accept_errors: AtomicU64,
}

impl TcpStats {
    /// The counters as Prometheus samples: (name, help, kind, value).
    ///
    /// The names are those `docs/tcp.md` suggests for `/metrics`; `kind` is
    /// "gauge" for `open` and "counter" for the rest.
    pub fn samples(&self) -> Vec<(&'static str, &'static str, &'static str, u64)> {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            (
                "zonecast_tcp_connections_open",
                "TCP connections open.",
                "gauge",
                get(&self.open),
            ),
            (
                "zonecast_tcp_connections_accepted_total",
                "TCP connections accepted (including those closed at once by a limit).",
                "counter",
                get(&self.accepted),
            ),
            (
                "zonecast_tcp_closed_idle_total",
                "TCP connections closed after the idle timeout.",
                "counter",
                get(&self.closed_idle),
            ),
            (
                "zonecast_tcp_closed_write_timeout_total",
                "TCP connections closed because the peer took no answer within the write timeout.",
                "counter",
                get(&self.closed_write_timeout),
            ),
            (
                "zonecast_tcp_closed_read_timeout_total",
                "TCP connections closed because a query did not arrive whole within the read timeout.",
                "counter",
                get(&self.closed_read_timeout),
            ),
            (
                "zonecast_tcp_evicted_total",
                "TCP connections closed to make room for a new one.",
                "counter",
                get(&self.evicted_for_room),
            ),
            (
                "zonecast_tcp_refused_per_source_total",
                "New TCP connections closed at once: per-source limit.",
                "counter",
                get(&self.refused_per_source),
            ),
            (
                "zonecast_tcp_refused_full_total",
                "New TCP connections closed at once: total limit with nothing to evict.",
                "counter",
                get(&self.refused_full),
            ),
            (
                "zonecast_tcp_pipeline_limit_hits_total",
                "Times a TCP connection stopped being read because its peer did not read answers.",
                "counter",
                get(&self.pipeline_limit_hits),
            ),
            (
                "zonecast_tcp_accept_errors_total",
                "Failed TCP accept calls.",
                "counter",
                get(&self.accept_errors),
            ),
        ]
    }
}

/// Lets one log line through per second; counts the events in between.
#[derive(Debug)]
pub(crate) struct Throttle {
    /// Milliseconds since `epoch` of the last line, plus one (0: no line yet).
    last: AtomicU64,
    /// Events since the last line.
    pending: AtomicU64,
}

impl Throttle {
    pub(crate) const fn new() -> Throttle {
        Throttle {
            last: AtomicU64::new(0),
            pending: AtomicU64::new(0),
        }
    }

    /// Counts one event; `Some(n)` when a line is due, `n` the events since the previous line.
    pub(crate) fn hit(&self, epoch: Instant) -> Option<u64> {
        let now = epoch.elapsed().as_millis() as u64 + 1;
        let last = self.last.load(Ordering::Relaxed);
        if last != 0 && now < last + 1000 {
            self.pending.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        match self
            .last
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => Some(self.pending.swap(0, Ordering::Relaxed) + 1),
            Err(_) => {
                self.pending.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

/// One [`Throttle`] per kind of limit.
#[derive(Debug)]
pub(super) struct Logs {
    pub(super) epoch: Instant,
    pub(super) idle: Throttle,
    pub(super) write_timeout: Throttle,
    pub(super) read_timeout: Throttle,
    pub(super) evicted: Throttle,
    pub(super) per_source: Throttle,
    pub(super) full: Throttle,
    pub(super) pipeline: Throttle,
    pub(super) accept: Throttle,
}

impl Logs {
    pub(super) fn new() -> Logs {
        Logs {
            epoch: Instant::now(),
            idle: Throttle::new(),
            write_timeout: Throttle::new(),
            read_timeout: Throttle::new(),
            evicted: Throttle::new(),
            per_source: Throttle::new(),
            full: Throttle::new(),
            pipeline: Throttle::new(),
            accept: Throttle::new(),
        }
    }

    /// Counts an event of `throttle`; `Some(n)` when its line is due.
    pub(super) fn due(&self, throttle: &Throttle) -> Option<u64> {
        throttle.hit(self.epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn one_line_per_second_with_the_count_since_the_last() {
        let t = Throttle::new();
        let epoch = Instant::now();
        assert_eq!(t.hit(epoch), Some(1));
        assert_eq!(t.hit(epoch), None);
        assert_eq!(t.hit(epoch), None);
        let earlier = epoch - Duration::from_millis(1500);
        // A second and a half later (seen from an earlier epoch): due, with the two held back.
        assert_eq!(t.hit(earlier), Some(3));
        assert_eq!(t.hit(earlier), None);
    }
}
