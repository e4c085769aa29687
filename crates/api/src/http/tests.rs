//! The accept loop's limits: header timeout, eviction of idle connections,
//! refusal when every connection is busy, the drain at shutdown.

use super::*;
use axum::routing::get;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

struct Server {
    addr: SocketAddr,
    stats: Arc<HttpStats>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: std::sync::mpsc::Receiver<()>,
}

impl Server {
    /// Serves `/` (at once) and `/slow` (after 600 ms) with `limits`.
    fn start(limits: HttpLimits) -> Server {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let stats = Arc::<HttpStats>::default();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done) = std::sync::mpsc::channel();
        let s = stats.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let router = Router::new().route("/", get(|| async { "ok" })).route(
                    "/slow",
                    get(|| async {
                        tokio::time::sleep(Duration::from_millis(600)).await;
                        "slow"
                    }),
                );
                let l = TcpListener::from_std(std_listener).unwrap();
                serve_router(l, router, limits, s, async {
                    let _ = stopped.await;
                })
                .await;
            });
            let _ = done_tx.send(());
        });
        Server {
            addr,
            stats,
            stop: Some(stop),
            done,
        }
    }

    fn connect(&self) -> TcpStream {
        let c = TcpStream::connect(self.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c
    }

    /// Sends a request for `path` on `c` without reading the answer.
    fn send(c: &mut TcpStream, path: &str) {
        c.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
    }

    /// A whole request on a new connection: the response text.
    fn get(&self, path: &str) -> String {
        let mut c = self.connect();
        Server::send(&mut c, path);
        read_all(&mut c)
    }

    fn wait_open(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.stats.open() != n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(self.stats.open(), n, "open connections");
    }
}

fn read_all(c: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// True when the peer closed `c` (EOF or reset), within the read timeout.
fn closed(c: &mut TcpStream) -> bool {
    let mut b = [0u8; 64];
    matches!(c.read(&mut b), Ok(0) | Err(_)) && c.read(&mut b).map_or(true, |n| n == 0)
}

#[test]
fn headers_that_do_not_arrive_in_time_close_the_connection() {
    let s = Server::start(HttpLimits {
        header_timeout: Duration::from_millis(300),
        ..HttpLimits::default()
    });
    let mut slow = s.connect();
    slow.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
    let start = Instant::now();
    assert!(closed(&mut slow));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(s.stats.hits(LimitHit::HeaderTimeout), 1);
    // A complete request is not affected.
    assert!(s.get("/").starts_with("HTTP/1.1 200"));
}

#[test]
fn when_full_the_oldest_idle_connection_makes_room() {
    let s = Server::start(HttpLimits {
        max_connections: 2,
        ..HttpLimits::default()
    });
    let mut oldest = s.connect();
    oldest.write_all(b"GET / HT").unwrap();
    s.wait_open(1);
    let mut second = s.connect();
    second.write_all(b"GET / HT").unwrap();
    s.wait_open(2);
    // A third client is served; the oldest half-sent connection is closed for it.
    assert!(s.get("/").starts_with("HTTP/1.1 200"));
    assert!(closed(&mut oldest));
    assert_eq!(s.stats.hits(LimitHit::Evicted), 1);
    // The second one is still open and can finish its request.
    second
        .write_all(b"TP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert!(read_all(&mut second).starts_with("HTTP/1.1 200"));
}

#[test]
fn when_every_connection_is_busy_a_new_one_is_closed() {
    let s = Server::start(HttpLimits {
        max_connections: 2,
        ..HttpLimits::default()
    });
    let mut busy: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut c = s.connect();
            Server::send(&mut c, "/slow");
            c
        })
        .collect();
    s.wait_open(2);
    std::thread::sleep(Duration::from_millis(100));
    let mut extra = s.connect();
    Server::send(&mut extra, "/");
    let answer = read_all(&mut extra);
    assert!(answer.is_empty(), "{answer}");
    assert_eq!(s.stats.hits(LimitHit::Refused), 1);
    // The busy ones finish their requests.
    for c in &mut busy {
        assert!(read_all(c).contains("slow"));
    }
}

#[test]
fn shutdown_drains_requests_in_progress() {
    let mut s = Server::start(HttpLimits::default());
    let mut c = s.connect();
    Server::send(&mut c, "/slow");
    s.wait_open(1);
    std::thread::sleep(Duration::from_millis(100));
    let _ = s.stop.take().unwrap().send(());
    // The request in progress is answered...
    assert!(read_all(&mut c).contains("slow"));
    // ...and then the server is gone.
    s.done.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(TcpStream::connect(s.addr).is_err());
}

#[test]
fn the_drain_is_bounded() {
    let mut s = Server::start(HttpLimits {
        drain: Duration::from_millis(100),
        ..HttpLimits::default()
    });
    let mut c = s.connect();
    Server::send(&mut c, "/slow");
    s.wait_open(1);
    let start = Instant::now();
    let _ = s.stop.take().unwrap().send(());
    s.done.recv_timeout(Duration::from_secs(5)).unwrap();
    // Stopped after the drain time, before the 600 ms request could finish.
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    assert!(!read_all(&mut c).contains("slow"));
}

#[test]
fn metrics_name_every_limit() {
    let stats = HttpStats::default();
    stats.hit(LimitHit::RateLimited);
    let mut out = String::new();
    stats.metrics(&mut out);
    for l in [
        "connections_evicted",
        "connections_refused",
        "header_timeout",
        "body_timeout",
    ] {
        assert!(
            out.contains(&format!("zonecast_api_limit_hits_total{{limit=\"{l}\"}} 0")),
            "{out}"
        );
    }
    assert!(out.contains("zonecast_api_limit_hits_total{limit=\"rate_per_key\"} 1"));
    assert!(out.contains("zonecast_api_connections 0"));
}
