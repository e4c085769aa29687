//! The API's HTTP/1.1 server: connection limits, timeouts and a graceful drain.
//!
//! [`serve_router`] runs its own accept loop over hyper (RFC 9112) instead of
//! `axum::serve`, for the limits a server on a hostile network needs:
//!
//! - **Header timeout** ([`HttpLimits::header_timeout`]): a request's line
//!   and headers must arrive within it, counted from the first read, and a
//!   keep-alive connection waiting for its next request is closed after it
//!   too (hyper's `header_read_timeout`). A client trickling headers a byte
//!   at a time ("slowloris") holds a connection for this long, no more.
//! - **Body timeout** ([`HttpLimits::body_timeout`]): enforced where bodies
//!   are read (after authentication), answered **408** `body_timeout`.
//! - **Connections** ([`HttpLimits::max_connections`]): when the limit is
//!   reached, the oldest connection with no request in progress (an idle
//!   keep-alive, or one still sending its headers) is closed to make room;
//!   when every connection has a request in progress, the new one is
//!   closed. A flood of slow connections so cannot lock out a real client
//!   for longer than it takes to connect.
//! - **Drain**: when the shutdown future completes, the listener stops
//!   accepting, connections finish the request in progress (keep-alive off)
//!   and close; those still open after [`HttpLimits::drain`] are dropped.
//!
//! Every limit hit is counted ([`HttpStats`], `zonecast_api_*` in
//! `/metrics`) and logged at most once every 10 s.
//!
//! Limitations: HTTP/1.1 only (no HTTP/2, no TLS: put a proxy in front).

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tower_service::Service;

/// The HTTP limits of one API listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time for a request's line and headers to arrive (and for an idle keep-alive connection).
    pub header_timeout: Duration,
    /// Time for a request body to arrive once the handler reads it.
    pub body_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// Time given to requests in progress when shutting down.
    pub drain: Duration,
    /// Largest request body, except zone files.
    pub max_body: usize,
    /// Largest zone file body (zone creation and `PUT .../zonefile`).
    pub max_zonefile: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            max_connections: 4096,
            drain: Duration::from_secs(10),
            max_body: crate::BODY_LIMIT,
            max_zonefile: crate::ZONEFILE_LIMIT,
        }
    }
}

/// What the HTTP server counts: connections and the limits hit.
#[derive(Debug, Default)]
pub struct HttpStats {
    open: AtomicUsize,
    accepted: AtomicU64,
    evicted: AtomicU64,
    refused: AtomicU64,
    header_timeouts: AtomicU64,
    body_timeouts: AtomicU64,
    rate_limited: AtomicU64,
    last_log: AtomicU64,
}

/// One limit hit, for [`HttpStats::hit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitHit {
    /// An idle connection was closed to make room for a new one.
    Evicted,
    /// A new connection was closed: every open one had a request in progress.
    Refused,
    /// The request line and headers did not arrive in time.
    HeaderTimeout,
    /// The body did not arrive in time.
    BodyTimeout,
    /// A key went over its request rate.
    RateLimited,
}

impl HttpStats {
    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// How many times `limit` was hit.
    pub fn hits(&self, limit: LimitHit) -> u64 {
        self.counter(limit).load(Ordering::Relaxed)
    }

    fn counter(&self, limit: LimitHit) -> &AtomicU64 {
        match limit {
            LimitHit::Evicted => &self.evicted,
            LimitHit::Refused => &self.refused,
            LimitHit::HeaderTimeout => &self.header_timeouts,
            LimitHit::BodyTimeout => &self.body_timeouts,
            LimitHit::RateLimited => &self.rate_limited,
        }
    }

    /// Counts a limit hit and logs the totals, at most once every 10 s.
    pub fn hit(&self, limit: LimitHit) {
        self.counter(limit).fetch_add(1, Ordering::Relaxed);
        let now = crate::auth::now() as u64;
        let last = self.last_log.load(Ordering::Relaxed);
        if now >= last + 10
            && self
                .last_log
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                open = self.open(),
                evicted = self.hits(LimitHit::Evicted),
                refused = self.hits(LimitHit::Refused),
                header_timeouts = self.hits(LimitHit::HeaderTimeout),
                body_timeouts = self.hits(LimitHit::BodyTimeout),
                rate_limited = self.hits(LimitHit::RateLimited),
                "API limits hit (totals since start; logged at most every 10 s)"
            );
        }
    }

    /// The `zonecast_api_*` connection and limit samples, Prometheus text format.
    pub fn metrics(&self, out: &mut String) {
        let _ = write!(
            out,
            "# HELP zonecast_api_connections Open API connections.\n\
             # TYPE zonecast_api_connections gauge\nzonecast_api_connections {}\n\
             # HELP zonecast_api_connections_accepted_total API connections accepted.\n\
             # TYPE zonecast_api_connections_accepted_total counter\nzonecast_api_connections_accepted_total {}\n\
             # HELP zonecast_api_limit_hits_total API limits hit, by limit.\n\
             # TYPE zonecast_api_limit_hits_total counter\n",
            self.open(),
            self.accepted.load(Ordering::Relaxed),
        );
        for (label, limit) in [
            ("connections_evicted", LimitHit::Evicted),
            ("connections_refused", LimitHit::Refused),
            ("header_timeout", LimitHit::HeaderTimeout),
            ("body_timeout", LimitHit::BodyTimeout),
            ("rate_per_key", LimitHit::RateLimited),
        ] {
            let _ = writeln!(
                out,
                "zonecast_api_limit_hits_total{{limit=\"{label}\"}} {}",
                self.hits(limit)
            );
        }
    }
}

/// One open connection, as the accept loop sees it.
#[derive(Default)]
struct Slot {
    /// Requests in progress, their response bodies included.
    busy: AtomicUsize,
    /// Told to close (the connection is being evicted).
    evict: Notify,
}

/// The open connections, oldest first (ids only grow).
#[derive(Default)]
struct Registry {
    next: u64,
    slots: BTreeMap<u64, Arc<Slot>>,
}

impl Registry {
    /// Makes room for one more connection under `max`: `false` when none is idle.
    fn make_room(&mut self, max: usize, stats: &HttpStats) -> bool {
        if self.slots.len() < max {
            return true;
        }
        let idle = self
            .slots
            .iter()
            .find(|(_, s)| s.busy.load(Ordering::Acquire) == 0)
            .map(|(&id, _)| id);
        let Some(slot) = idle.and_then(|id| self.slots.remove(&id)) else {
            stats.hit(LimitHit::Refused);
            return false;
        };
        slot.evict.notify_one();
        stats.hit(LimitHit::Evicted);
        true
    }

    fn add(&mut self) -> (u64, Arc<Slot>) {
        let id = self.next;
        self.next += 1;
        let slot = Arc::new(Slot::default());
        self.slots.insert(id, slot.clone());
        (id, slot)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Binds an API listener on `addr` with a listen backlog of 4,096.
///
/// tokio's `TcpListener::bind` asks for 1,024: a wave of reconnecting
/// clients (2,000 slow ones closed by the header timeout at once) then
/// overflows it, and a real client's SYN is dropped and retried a second
/// later.
pub async fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let sock = if addr.is_ipv6() {
        tokio::net::TcpSocket::new_v6()?
    } else {
        tokio::net::TcpSocket::new_v4()?
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(4096)
}

/// Serves `router` on `listener` with `limits` until `shutdown` completes,
/// then drains (see the module docs).
pub async fn serve_router<F>(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    stats: Arc<HttpStats>,
    shutdown: F,
) where
    F: Future<Output = ()> + Send,
{
    let registry = Arc::new(Mutex::new(Registry::default()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((s, _)) => s,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, do not spin.
                        tracing::warn!("API accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let slot = {
                    let mut r = lock(&registry);
                    if !r.make_room(limits.max_connections.max(1), &stats) {
                        continue;
                    }
                    r.add()
                };
                stats.accepted.fetch_add(1, Ordering::Relaxed);
                let conn = Conn {
                    router: router.clone(),
                    limits: limits.clone(),
                    stats: stats.clone(),
                    registry: registry.clone(),
                    stop: stop_rx.clone(),
                };
                conns.spawn(conn.run(stream, slot));
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(limits.drain, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = conns.len(),
            "API connections still open after the drain time: closed"
        );
        conns.abort_all();
    }
}

/// What one connection's task needs.
struct Conn {
    router: Router,
    limits: HttpLimits,
    stats: Arc<HttpStats>,
    registry: Arc<Mutex<Registry>>,
    stop: watch::Receiver<bool>,
}

impl Conn {
    async fn run(mut self, stream: tokio::net::TcpStream, (id, slot): (u64, Arc<Slot>)) {
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        let peer = stream.peer_addr().ok();
        let service = {
            let (router, slot) = (self.router.clone(), slot.clone());
            hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let guard = Busy::new(slot.clone());
                let mut router = router.clone();
                let mut req = req.map(Body::new);
                if let Some(p) = peer {
                    // Handlers see the client (axum's ConnectInfo extractor).
                    req.extensions_mut().insert(axum::extract::ConnectInfo(p));
                }
                async move {
                    let resp = match router.call(req).await {
                        Ok(r) => r,
                        Err(never) => match never {},
                    };
                    Ok::<_, Infallible>(resp.map(|b| {
                        Body::new(Guarded {
                            inner: b,
                            _busy: guard,
                        })
                    }))
                }
            })
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout);
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(conn);
        let result = tokio::select! {
            r = conn.as_mut() => Some(r),
            _ = slot.evict.notified() => {
                if slot.busy.load(Ordering::Acquire) > 0 {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(self.limits.drain, conn.as_mut()).await;
                }
                None
            }
            _ = stopped(&mut self.stop) => {
                conn.as_mut().graceful_shutdown();
                // serve_router bounds the whole drain.
                Some(conn.as_mut().await)
            }
        };
        if let Some(Err(e)) = result {
            if e.is_timeout() {
                self.stats.hit(LimitHit::HeaderTimeout);
            } else {
                tracing::debug!("API connection ended: {e}");
            }
        }
        lock(&self.registry).slots.remove(&id);
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Completes when the accept loop says stop (or is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here.
    let _ = stop.wait_for(|&s| s).await.is_ok();
}

/// Marks a connection busy from a request's arrival until its response body is dropped.
struct Busy(Arc<Slot>);

impl Busy {
    fn new(slot: Arc<Slot>) -> Busy {
        slot.busy.fetch_add(1, Ordering::AcqRel);
        Busy(slot)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its connection marked busy until sent.
struct Guarded {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Waits `timeout` for `fut`, counting a [`LimitHit::BodyTimeout`] when it runs out.
pub(crate) async fn body_deadline<T>(
    stats: &HttpStats,
    timeout: Duration,
    fut: impl Future<Output = T>,
) -> Option<T> {
    let read = tokio::time::timeout(timeout, fut).await.ok();
    if read.is_none() {
        stats.hit(LimitHit::BodyTimeout);
    }
    read
}

#[cfg(test)]
mod tests;
