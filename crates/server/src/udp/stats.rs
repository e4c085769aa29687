//! What the UDP workers count: datagrams, the ones left unanswered and
//! why, FORMERR answers, worker restarts.
//!
//! Each worker adds its counts once per batch (at most [`super::BATCH`]
//! datagrams), so the shared counters cost a few atomic additions per
//! system call, not per query.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of the UDP listeners of one node.
#[derive(Debug, Default)]
pub struct UdpStats {
    received: AtomicU64,
    unanswered: AtomicU64,
    oversize: AtomicU64,
    formerr: AtomicU64,
    restarts: AtomicU64,
}

/// One batch's counts, kept on the worker's stack.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Batch {
    pub received: u64,
    pub unanswered: u64,
    pub oversize: u64,
    pub formerr: u64,
}

impl UdpStats {
    pub(crate) fn add(&self, b: Batch) {
        let add = |c: &AtomicU64, n: u64| {
            if n > 0 {
                c.fetch_add(n, Ordering::Relaxed);
            }
        };
        add(&self.received, b.received);
        add(&self.unanswered, b.unanswered);
        add(&self.oversize, b.oversize);
        add(&self.formerr, b.formerr);
    }

    pub(crate) fn restarted(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// Datagrams received.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Datagrams not answered: not a query (QR set, shorter than a header)
    /// or larger than the receive buffer. Rate-limited drops are counted by
    /// RRL instead.
    pub fn unanswered(&self) -> u64 {
        self.unanswered.load(Ordering::Relaxed)
    }

    /// Of [`UdpStats::unanswered`], the datagrams over the receive buffer.
    pub fn oversize(&self) -> u64 {
        self.oversize.load(Ordering::Relaxed)
    }

    /// Answers with rcode FORMERR.
    pub fn formerr(&self) -> u64 {
        self.formerr.load(Ordering::Relaxed)
    }

    /// Workers restarted after a failure.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// The `zonecast_udp_*` samples: name, help, kind, value (as [`crate::TcpStats::samples`]).
    pub fn samples(&self) -> Vec<(&'static str, &'static str, &'static str, u64)> {
        vec![
            (
                "zonecast_udp_received_total",
                "UDP datagrams received.",
                "counter",
                self.received(),
            ),
            (
                "zonecast_udp_unanswered_total",
                "UDP datagrams left unanswered: not a query, or over the receive buffer.",
                "counter",
                self.unanswered(),
            ),
            (
                "zonecast_udp_oversize_total",
                "UDP datagrams over the receive buffer (also in unanswered).",
                "counter",
                self.oversize(),
            ),
            (
                "zonecast_udp_formerr_total",
                "UDP answers with rcode FORMERR.",
                "counter",
                self.formerr(),
            ),
            (
                "zonecast_udp_worker_restarts_total",
                "UDP workers restarted after a failure.",
                "counter",
                self.restarts(),
            ),
        ]
    }
}
