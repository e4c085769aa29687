//! The table of a listener's open connections: admission, per-source counts,
//! and the choice of the connection to evict.
//!
//! Each connection has a [`Slot`] that its task updates without locking
//! (an atomic store when it makes progress); the table's mutex is taken
//! only on accept and close, and an eviction scans the slots (1,024 by
//! default: microseconds).

use super::limits::{SourceKey, TcpLimits};
use super::stats::TcpStats;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long a new connection that has sent no query yet is evicted only
/// after every other one: the time its task may take to be run at all on a
/// busy server, after which it is idle like any other.
const NEW_GRACE_MS: u64 = 1000;

/// One open connection as the table sees it.
#[derive(Debug)]
pub(super) struct Slot {
    id: u64,
    peer: SocketAddr,
    source: SourceKey,
    /// Connections open from its source (shared by them; changed under the table's lock).
    from_source: Arc<AtomicUsize>,
    /// Milliseconds since the registry's epoch when it was accepted.
    accepted: u64,
    /// A query was read whole.
    served: AtomicBool,
    /// Milliseconds since the registry's epoch when the connection last made
    /// progress (accepted, a query read whole, an answer taken by the socket).
    last_progress: AtomicU64,
    /// Serving a zone transfer: never evicted.
    in_transfer: AtomicBool,
    /// Waiting for the socket to take answers: the peer does not read them.
    stalled: AtomicBool,
    /// Chosen for eviction (set under the table's lock).
    evicted: AtomicBool,
    /// Woken when the connection is evicted.
    pub(super) kill: Notify,
}

impl Slot {
    /// The connection made progress at `now_ms`.
    pub(super) fn touch(&self, now_ms: u64) {
        self.last_progress.store(now_ms, Ordering::Relaxed);
    }

    /// Chosen for eviction (its task may not have been woken yet).
    pub(super) fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::Relaxed)
    }

    /// A query was read whole.
    pub(super) fn set_served(&self) {
        self.served.store(true, Ordering::Relaxed);
    }

    /// Marks the connection as waiting for its peer to read answers (or no longer).
    pub(super) fn set_stalled(&self, on: bool) {
        self.stalled.store(on, Ordering::Relaxed);
    }

    /// Marks the connection as serving a zone transfer (or no longer).
    pub(super) fn set_transfer(&self, on: bool) {
        self.in_transfer.store(on, Ordering::Relaxed);
    }
}

/// The connection chosen to make room.
#[derive(Debug)]
pub(super) struct Victim {
    /// Its peer.
    pub(super) peer: SocketAddr,
    /// How long since it last made progress.
    pub(super) idle: Duration,
    /// It was waiting for its peer to read answers.
    pub(super) stalled: bool,
}

/// What becomes of a new connection.
#[derive(Debug)]
pub(super) enum Admission {
    /// Admitted (after evicting `evicted`, when the total was reached).
    Admitted {
        member: Member,
        evicted: Option<Victim>,
    },
    /// Its source has `max_per_source` connections open.
    PerSource,
    /// The total is reached and no connection can be evicted.
    Full,
}

/// The open connections of one listener.
#[derive(Debug)]
pub(super) struct Registry {
    epoch: Instant,
    table: Mutex<Table>,
    stats: Arc<TcpStats>,
    /// Woken when a connection leaves the table.
    pub(super) freed: Notify,
}

#[derive(Debug, Default)]
struct Table {
    slots: HashMap<u64, Arc<Slot>>,
    per_source: HashMap<SourceKey, Arc<AtomicUsize>>,
    /// Slots chosen for eviction whose task has not ended yet.
    evicting: usize,
    next_id: u64,
}

impl Table {
    /// Open connections not chosen for eviction.
    fn live(&self) -> usize {
        self.slots.len().saturating_sub(self.evicting)
    }

    /// The connection to evict, marked evicted. It comes from the first
    /// group that has any of (1) those whose peer does not read their
    /// answers, (2) the others but (3) those accepted under [`NEW_GRACE_MS`]
    /// ago that have sent no query yet; in the group, from the source with
    /// the most connections open, the one idle longest. Never one serving a
    /// transfer.
    fn evict_one(&mut self, now_ms: u64) -> Option<Arc<Slot>> {
        let group = |s: &Slot| {
            if s.stalled.load(Ordering::Relaxed) {
                0
            } else if !s.served.load(Ordering::Relaxed)
                && now_ms.saturating_sub(s.accepted) < NEW_GRACE_MS
            {
                2
            } else {
                1
            }
        };
        let victim = self
            .slots
            .values()
            .filter(|s| {
                !s.evicted.load(Ordering::Relaxed) && !s.in_transfer.load(Ordering::Relaxed)
            })
            .min_by_key(|s| {
                (
                    group(s),
                    std::cmp::Reverse(s.from_source.load(Ordering::Relaxed)),
                    s.last_progress.load(Ordering::Relaxed),
                    s.id,
                )
            })?
            .clone();
        victim.evicted.store(true, Ordering::Relaxed);
        self.evicting += 1;
        Some(victim)
    }
}

impl Registry {
    pub(super) fn new(stats: Arc<TcpStats>) -> Arc<Registry> {
        Arc::new(Registry {
            epoch: Instant::now(),
            table: Mutex::new(Table::default()),
            stats,
            freed: Notify::new(),
        })
    }

    /// Milliseconds since the registry started: the clock of [`Slot::touch`].
    pub(super) fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic while holding the lock leaves consistent counts (no
        // update spans two statements that can panic), so go on.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a connection from `peer` under `limits`, or says why not.
    pub(super) fn admit(self: &Arc<Registry>, peer: SocketAddr, limits: &TcpLimits) -> Admission {
        let source = SourceKey::of(peer.ip(), limits.ipv6_prefix_len);
        let now_ms = self.now_ms();
        let mut t = self.lock();
        let open_from_source = t
            .per_source
            .get(&source)
            .map_or(0, |n| n.load(Ordering::Relaxed));
        if open_from_source >= limits.max_per_source {
            return Admission::PerSource;
        }
        let victim = if t.live() >= limits.max_connections {
            match t.evict_one(now_ms) {
                Some(v) => Some(v),
                None => return Admission::Full,
            }
        } else {
            None
        };
        t.next_id += 1;
        let from_source = t.per_source.entry(source).or_default().clone();
        from_source.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            id: t.next_id,
            peer,
            source,
            from_source,
            accepted: now_ms,
            served: AtomicBool::new(false),
            last_progress: AtomicU64::new(now_ms),
            in_transfer: AtomicBool::new(false),
            stalled: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            kill: Notify::new(),
        });
        t.slots.insert(slot.id, slot.clone());
        drop(t);
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        let evicted = victim.map(|v| {
            v.kill.notify_one();
            self.victim(&v, now_ms)
        });
        Admission::Admitted {
            member: Member {
                registry: self.clone(),
                slot,
            },
            evicted,
        }
    }

    /// Evicts the connection idle longest, if any may be (to free a file descriptor).
    pub(super) fn evict_one(&self) -> Option<Victim> {
        let v = self.lock().evict_one(self.now_ms())?;
        v.kill.notify_one();
        Some(self.victim(&v, self.now_ms()))
    }

    fn victim(&self, v: &Slot, now_ms: u64) -> Victim {
        let idle_ms = now_ms.saturating_sub(v.last_progress.load(Ordering::Relaxed));
        Victim {
            peer: v.peer,
            idle: Duration::from_millis(idle_ms),
            stalled: v.stalled.load(Ordering::Relaxed),
        }
    }

    fn remove(&self, slot: &Slot) {
        let mut t = self.lock();
        if t.slots.remove(&slot.id).is_none() {
            return;
        }
        if slot.evicted.load(Ordering::Relaxed) {
            t.evicting = t.evicting.saturating_sub(1);
        }
        let left = slot.from_source.fetch_sub(1, Ordering::Relaxed);
        if left <= 1 {
            t.per_source.remove(&slot.source);
        }
        drop(t);
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
        self.freed.notify_one();
    }
}

/// An admitted connection's place in the table; leaves the table on drop.
#[derive(Debug)]
pub(super) struct Member {
    registry: Arc<Registry>,
    slot: Arc<Slot>,
}

impl Member {
    /// The connection's slot.
    pub(super) fn slot(&self) -> &Slot {
        &self.slot
    }

    /// The registry's clock, for [`Slot::touch`].
    pub(super) fn now_ms(&self) -> u64 {
        self.registry.now_ms()
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.registry.remove(&self.slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_source: usize) -> TcpLimits {
        TcpLimits {
            max_connections: total,
            max_per_source: per_source,
            ..TcpLimits::default()
        }
    }

    fn peer(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn admitted(a: Admission) -> (Member, Option<Victim>) {
        match a {
            Admission::Admitted { member, evicted } => (member, evicted),
            other => panic!("not admitted: {other:?}"),
        }
    }

    #[test]
    fn the_connection_idle_longest_is_evicted_and_transfers_never() {
        let stats = Arc::new(TcpStats::default());
        let r = Registry::new(stats.clone());
        let l = limits(3, 10);
        let (a, _) = admitted(r.admit(peer("192.0.2.1:1"), &l));
        let (b, _) = admitted(r.admit(peer("192.0.2.2:1"), &l));
        let (c, _) = admitted(r.admit(peer("192.0.2.3:1"), &l));
        a.slot().touch(30_000);
        b.slot().touch(10_000);
        c.slot().touch(20_000);
        b.slot().set_transfer(true);
        let (d, v) = admitted(r.admit(peer("192.0.2.4:1"), &l));
        d.slot().touch(40_000);
        // b made progress longest ago but is in a transfer: c goes.
        assert_eq!(v.map(|v| v.peer), Some(peer("192.0.2.3:1")));
        assert_eq!(stats.open.load(Ordering::Relaxed), 4);
        drop(c);
        assert_eq!(stats.open.load(Ordering::Relaxed), 3);
        // The evicted one is gone: the next one evicts a (b is still in its transfer).
        let (_e, v) = admitted(r.admit(peer("192.0.2.5:1"), &l));
        assert_eq!(v.map(|v| v.peer), Some(peer("192.0.2.1:1")));
        drop(a);
        // Only b (transfer), d and e are left: e made progress longest ago (at admission).
        let (f, v) = admitted(r.admit(peer("192.0.2.6:1"), &l));
        assert_eq!(v.map(|v| v.peer), Some(peer("192.0.2.5:1")));
        // A peer that does not read goes before one idle longer.
        f.slot().touch(50_000);
        f.slot().set_stalled(true);
        let (_g, v) = admitted(r.admit(peer("192.0.2.7:1"), &l));
        assert!(v.as_ref().is_some_and(|v| v.stalled));
        assert_eq!(v.map(|v| v.peer), Some(peer("192.0.2.6:1")));
    }

    #[test]
    fn the_source_with_most_connections_loses_one_first() {
        let r = Registry::new(Arc::new(TcpStats::default()));
        let l = limits(4, 10);
        let (lone, _) = admitted(r.admit(peer("192.0.2.1:1"), &l));
        let many: Vec<Member> = (0..3)
            .map(|i| admitted(r.admit(peer(&format!("192.0.2.9:{i}")), &l)).0)
            .collect();
        lone.slot().touch(10_000);
        for (i, m) in many.iter().enumerate() {
            m.slot().touch(20_000 + i as u64);
        }
        // The lone connection is idle longest, but its source has one open.
        let (_new, v) = admitted(r.admit(peer("192.0.2.5:1"), &l));
        assert_eq!(v.map(|v| v.peer), Some(peer("192.0.2.9:0")));
    }

    #[test]
    fn a_new_connection_that_sent_no_query_yet_goes_last() {
        let r = Registry::new(Arc::new(TcpStats::default()));
        let l = limits(2, 10);
        let (_a, _) = admitted(r.admit(peer("192.0.2.1:1"), &l));
        let (b, _) = admitted(r.admit(peer("192.0.2.2:1"), &l));
        b.slot().set_served();
        b.slot().touch(60_000);
        // a made progress longest ago (when accepted), but it is new.
        let (_c, v) = admitted(r.admit(peer("192.0.2.3:1"), &l));
        assert_eq!(v.map(|v| v.peer), Some(peer("192.0.2.2:1")));
    }

    #[test]
    fn nothing_to_evict_refuses_and_per_source_counts_free_up() {
        let r = Registry::new(Arc::new(TcpStats::default()));
        let l = limits(1, 2);
        let (a, _) = admitted(r.admit(peer("[2001:db8::1]:1"), &l));
        a.slot().set_transfer(true);
        assert!(matches!(r.admit(peer("192.0.2.9:1"), &l), Admission::Full));
        drop(a);
        let l = limits(10, 2);
        let (_x, _) = admitted(r.admit(peer("[2001:db8::1]:1"), &l));
        let (y, _) = admitted(r.admit(peer("[2001:db8::2]:2"), &l));
        // Same /64: the third is refused, another /64 is not.
        assert!(matches!(
            r.admit(peer("[2001:db8::3]:3"), &l),
            Admission::PerSource
        ));
        let (_z, _) = admitted(r.admit(peer("[2001:db8:0:1::3]:3"), &l));
        drop(y);
        let (_w, _) = admitted(r.admit(peer("[2001:db8::3]:3"), &l));
    }
}
