//! TCP service (RFC 1035 §4.2.2, RFC 7766): two-octet length framing,
//! pipelined queries answered in order (§6.2.1.1), and limits that keep
//! clients that do not read their answers from holding the server hostage
//! (§6.2.3 idle timeouts, §10 per-source and total connection limits).
//! `docs/tcp.md` gives the design and the figures.
//!
//! - **Never blocked on a peer.** Each connection is a task that only uses
//!   non-blocking reads and writes. It reads queries while fewer than
//!   [`TcpLimits::max_pipelined`] answers (and under 64 KiB) wait for the
//!   socket, and writes what the socket takes; the kernel holds at most
//!   16 KiB of unsent answers per connection (`TCP_NOTSENT_LOWAT`; lifted
//!   during a zone transfer). So a peer that does not read soon stops being
//!   read. An answer the socket does not take within
//!   [`TcpLimits::write_timeout`] closes the connection. So does a query not
//!   arriving whole within [`TcpLimits::read_timeout`] of its first octet, or
//!   [`TcpLimits::idle_timeout`] with nothing pending. A connection builds
//!   four answers at most before letting the others run. The accept loop
//!   never waits for a connection.
//! - **Admission.** A source (an IPv4 address, an IPv6 /64) with
//!   [`TcpLimits::max_per_source`] connections open has its new ones closed
//!   as soon as they are accepted. At [`TcpLimits::max_connections`], a new
//!   connection is still accepted, and the connection *idle longest* is
//!   closed to make room for it: the one whose last progress (accepted, a
//!   query read whole, an answer taken by the socket) is oldest, taken from
//!   the source with the most connections open. Those whose peer does not
//!   take their answers go first. Connections accepted less than a second
//!   ago that have sent no query yet go last (on a busy server, a new
//!   client's task may take that long to run). Connections
//!   serving a zone transfer are never chosen: if every connection is in
//!   one, the new connection is closed. `max_connections` is lowered to fit
//!   the file descriptor limit (less 64 for the rest of the node); when
//!   `accept` still fails for want of descriptors, the connection idle
//!   longest is closed too.
//! - **Accounting.** Every limit hit is counted in [`TcpStats`]. It is also
//!   logged, at most one line per limit per second (idle timeouts at debug
//!   level, pipeline pauses at info, the rest as warnings). The line's `count`
//!   field is the number of hits since that limit's previous line.
//! - A frame shorter than a DNS header, or a query not worth answering,
//!   closes the connection; the server goes on. Zone transfers out are
//!   served by [`crate::xfr`] on the connection, after the answers to
//!   earlier queries.
//!
//! Limitations:
//! - Answers the kernel has taken count as written: a peer gets
//!   `max_pipelined` answers beyond the 16 KiB of unsent answers and what
//!   its own receive window takes.
//! - Answers go out in query order: a zone transfer delays the queries behind
//!   it (RFC 7766 §7 would allow reordering). Transfers write with their own
//!   timeout ([`crate::xfr::WRITE_TIMEOUT`]), not `write_timeout`.
//! - The limits apply per listener (each [`serve_limited`] call); one
//!   [`TcpStats`] may be shared by several listeners.
//! - Eviction keeps the server answering, but under a flood of new
//!   connections from many sources, a legitimate client idle between two
//!   queries can be evicted.
//! - The idle timeout is not signalled to clients (no EDNS TCP keepalive,
//!   RFC 7828). There is no TCP Fast Open, no limit on queries per
//!   connection, and no rate limit on new connections per source.

mod buffers;
mod conn;
mod limits;
mod registry;
mod stats;
#[cfg(test)]
mod tests;

pub use limits::{TcpLimits, IDLE_TIMEOUT, MAX_CONNECTIONS};
pub use stats::TcpStats;
pub(crate) use stats::Throttle;

use crate::Service;
use crate::{ServerError, SharedZones};
use registry::{Admission, Registry};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use zonecast_proto::query::QueryView;

/// The listen backlog [`bind`] asks for (the kernel caps it at `net.core.somaxconn`,
/// 4,096 on current Linux): a burst of connections beyond what one turn of the
/// accept loop takes waits in the kernel instead of having its SYNs dropped
/// (a dropped SYN costs the client a 1 s retransmission).
const LISTEN_BACKLOG: u32 = 4096;
/// Connections accepted in one turn of the accept loop.
const ACCEPTS_PER_TURN: usize = 1024;
/// File descriptors kept for everything but TCP connections when checking the limit.
const FD_RESERVE: u64 = 64;

/// Binds a TCP listener on `addr`.
///
/// The socket options are the UDP listener's ([`crate::sockopt`]): an IPv6
/// address takes IPv6 only.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    let listen = || -> std::io::Result<TcpListener> {
        let sock = crate::sockopt::tcp(addr)?;
        sock.bind(&addr.into())?;
        sock.listen(LISTEN_BACKLOG as i32)?;
        sock.set_nonblocking(true)?;
        TcpListener::from_std(sock.into())
    };
    listen().map_err(|source| ServerError::Listen { addr, source })
}

/// Accepts connections forever under the default [`TcpLimits`].
pub async fn serve(listener: TcpListener, zones: SharedZones) {
    serve_with(listener, zones, Service::default()).await
}

/// [`serve`] with the node's services (NOTIFY relay, transfers); default limits, counters nobody reads.
pub async fn serve_with(listener: TcpListener, zones: SharedZones, service: Service) {
    let stats = Arc::new(TcpStats::default());
    serve_limited(listener, zones, service, TcpLimits::default(), stats).await
}

/// Accepts connections forever under `limits`, counting in `stats`.
///
/// When the file descriptor limit (RLIMIT_NOFILE) is below
/// `max_connections` plus a reserve of 64, `max_connections` is lowered to
/// fit, with a warning: see [`raise_fd_limit`].
pub async fn serve_limited(
    listener: TcpListener,
    zones: SharedZones,
    service: Service,
    limits: TcpLimits,
    stats: Arc<TcpStats>,
) {
    let limits = fit_descriptors(limits.normalized());
    let shared = Arc::new(Shared {
        zones,
        service,
        registry: Registry::new(stats.clone()),
        limits,
        stats,
        logs: stats::Logs::new(),
    });
    // Unconstrained by tokio's task budget (128 operations a turn): the
    // queue of pending connections is emptied in one turn, so a new client
    // waits behind one turn of the busy connections, not one per 128
    // connections queued before it.
    tokio::task::unconstrained(async move {
        loop {
            for _ in 0..ACCEPTS_PER_TURN {
                match listener.accept().await {
                    Ok((stream, peer)) => admit(&shared, stream, peer),
                    Err(e) => accept_failed(&shared, &e).await,
                }
            }
            tokio::task::yield_now().await;
        }
    })
    .await
}

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now.
///
/// The usual soft limit, 1,024, is below what the default `max_connections`
/// needs with the other descriptors a node holds. Call it once at start,
/// before serving. It only raises, never lowers.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads only the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        lim.rlim_cur = lim.rlim_max;
    }
    Ok(rlim_u64(lim.rlim_cur))
}

/// The soft RLIMIT_NOFILE, if it can be read.
fn fd_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only the struct it is given.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0)
        .then_some(rlim_u64(lim.rlim_cur))
}

/// An `rlim_t` as u64 (it is u32 on some targets).
#[allow(clippy::unnecessary_cast)]
fn rlim_u64(v: libc::rlim_t) -> u64 {
    v as u64
}

/// `limits` with `max_connections` lowered to the descriptor limit less [`FD_RESERVE`].
fn fit_descriptors(mut limits: TcpLimits) -> TcpLimits {
    let Some(have) = fd_limit() else {
        return limits;
    };
    let fits = usize::try_from(have.saturating_sub(FD_RESERVE))
        .unwrap_or(usize::MAX)
        .max(1);
    if fits < limits.max_connections {
        tracing::warn!(
            fd_limit = have,
            configured = limits.max_connections,
            max_connections = fits,
            "TCP: max_connections lowered to fit the file descriptor limit, less {FD_RESERVE} \
             for the rest of the node (raise RLIMIT_NOFILE, e.g. with tcp::raise_fd_limit)"
        );
        limits.max_connections = fits;
    }
    limits
}

/// What the tasks of one listener share.
struct Shared {
    zones: SharedZones,
    service: Service,
    limits: TcpLimits,
    stats: Arc<TcpStats>,
    registry: Arc<Registry>,
    logs: stats::Logs,
}

/// Admits a new connection (starting its task), or closes it at once.
fn admit(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    shared.stats.accepted.fetch_add(1, Ordering::Relaxed);
    match shared.registry.admit(peer, &shared.limits) {
        Admission::Admitted { member, evicted } => {
            if let Some(v) = evicted {
                shared.evicted(&v, Some(peer));
            }
            tokio::spawn(conn::run(stream, peer, member, shared.clone()));
        }
        Admission::PerSource => {
            shared
                .stats
                .refused_per_source
                .fetch_add(1, Ordering::Relaxed);
            if let Some(n) = shared.logs.due(&shared.logs.per_source) {
                tracing::warn!(
                    %peer,
                    count = n,
                    limit = shared.limits.max_per_source,
                    "TCP: closed a new connection: its source has as many open as allowed (per-source limit)"
                );
            }
        }
        Admission::Full => {
            shared.stats.refused_full.fetch_add(1, Ordering::Relaxed);
            if let Some(n) = shared.logs.due(&shared.logs.full) {
                tracing::warn!(
                    %peer,
                    count = n,
                    limit = shared.limits.max_connections,
                    "TCP: closed a new connection: all connections are open and serving zone transfers"
                );
            }
        }
    }
}

/// A failed accept: logged and counted; without descriptors, the connection idle longest is closed.
async fn accept_failed(shared: &Shared, e: &std::io::Error) {
    shared.stats.accept_errors.fetch_add(1, Ordering::Relaxed);
    let no_fds = matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
    let evicted = if no_fds {
        shared.registry.evict_one()
    } else {
        None
    };
    if let Some(n) = shared.logs.due(&shared.logs.accept) {
        tracing::warn!(error = %e, count = n, "TCP: accept failed");
    }
    match evicted {
        Some(v) => {
            shared.evicted(&v, None);
            // Let the evicted connection's task close its socket first, or
            // the next accept fails again and evicts another.
            let freed = shared.registry.freed.notified();
            let _ = tokio::time::timeout(Duration::from_millis(10), freed).await;
        }
        None => tokio::time::sleep(Duration::from_millis(10)).await,
    }
}

impl Shared {
    /// Counts and logs an eviction, made for `new` (or for a file descriptor).
    fn evicted(&self, v: &registry::Victim, new: Option<SocketAddr>) {
        self.stats.evicted_for_room.fetch_add(1, Ordering::Relaxed);
        if let Some(n) = self.logs.due(&self.logs.evicted) {
            let idle_ms = v.idle.as_millis() as u64;
            let not_reading = v.stalled;
            match new {
                Some(new) => tracing::warn!(
                    peer = %v.peer,
                    idle_ms,
                    not_reading,
                    %new,
                    count = n,
                    limit = self.limits.max_connections,
                    "TCP: closed the connection idle longest to make room for a new one (connection limit)"
                ),
                None => tracing::warn!(
                    peer = %v.peer,
                    idle_ms,
                    not_reading,
                    count = n,
                    "TCP: closed the connection idle longest to free a file descriptor"
                ),
            }
        }
    }

    /// Counts and logs how a connection ended.
    fn ended(&self, end: conn::End, peer: SocketAddr) {
        let s = &self.stats;
        let l = &self.logs;
        match end {
            conn::End::Idle => {
                s.closed_idle.fetch_add(1, Ordering::Relaxed);
                if let Some(n) = l.due(&l.idle) {
                    tracing::debug!(%peer, count = n, "TCP: closed an idle connection (idle timeout)");
                }
            }
            conn::End::WriteTimeout => {
                s.closed_write_timeout.fetch_add(1, Ordering::Relaxed);
                if let Some(n) = l.due(&l.write_timeout) {
                    tracing::warn!(
                        %peer,
                        count = n,
                        timeout_ms = self.limits.write_timeout.as_millis() as u64,
                        "TCP: closed a connection whose peer took no answer in time (write timeout)"
                    );
                }
            }
            conn::End::ReadTimeout => {
                s.closed_read_timeout.fetch_add(1, Ordering::Relaxed);
                if let Some(n) = l.due(&l.read_timeout) {
                    tracing::warn!(
                        %peer,
                        count = n,
                        timeout_ms = self.limits.read_timeout.as_millis() as u64,
                        "TCP: closed a connection whose query did not arrive whole in time (read timeout)"
                    );
                }
            }
            conn::End::PeerClosed
            | conn::End::Evicted
            | conn::End::Malformed
            | conn::End::Failed => {}
        }
    }
}

/// The version of the zone whose apex is the query name, when this node serves it.
fn transfer_zone(zones: &SharedZones, q: &QueryView) -> Option<Arc<zonecast_zone::Zone>> {
    let snapshot = zones.load();
    let slot = snapshot.find(q.qname())?;
    let zone = slot.load();
    (zone.apex().as_wire().eq_ignore_ascii_case(q.qname())).then(|| Arc::clone(&zone))
}
