//! The limits one by one, with small values, against [`serve_limited`] on
//! 127.0.0.1 (sources 127.0.0.2 and on are bound before connecting).
//!
//! The 2,000-connection attack on the binary with the default limits is
//! `tests/tcp_limits.rs` at the workspace root.

use super::*;
use std::sync::atomic::AtomicU64;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::{Name, Rtype};
use zonecast_zone::{Zone, ZoneSet, Zones};

const ZONE: &str =
    "$TTL 300\n@ SOA ns1 host 1 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.80\n";

fn zones() -> SharedZones {
    let origin: Name = "example.com.".parse().unwrap();
    let data = zonecast_zonefile::load_str(ZONE, &origin, "test").unwrap();
    Zones::from_set(
        ZoneSet::new().with_zone(Arc::new(Zone::build(&origin, &data.records).unwrap())),
    )
}

/// Starts `serve_limited` on a free port of 127.0.0.1.
async fn start(limits: TcpLimits) -> (SocketAddr, Arc<TcpStats>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stats = Arc::new(TcpStats::default());
    tokio::spawn(serve_limited(
        listener,
        zones(),
        Service::default(),
        limits,
        stats.clone(),
    ));
    (addr, stats)
}

fn framed_query(id: u16) -> Vec<u8> {
    let wire = build_query(id, &"www.example.com.".parse().unwrap(), Rtype::A, None);
    let mut v = (wire.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(&wire);
    v
}

/// A connection from `source` (127.0.0.x), with a small receive buffer when `small_rcvbuf`.
async fn connect(source: &str, server: SocketAddr, small_rcvbuf: bool) -> TcpStream {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    if small_rcvbuf {
        sock.set_recv_buffer_size(4096).unwrap();
    }
    sock.bind(format!("{source}:0").parse().unwrap()).unwrap();
    sock.connect(server).await.unwrap()
}

/// Reads one framed answer (2 s at most) and returns its ID.
async fn read_answer(s: &mut TcpStream) -> std::io::Result<u16> {
    let read = async {
        let len = s.read_u16().await? as usize;
        let mut msg = vec![0u8; len];
        s.read_exact(&mut msg).await?;
        let m = Message::parse(&msg)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        assert_eq!(m.answer.len(), 1, "www.example.com. A");
        Ok(m.header.id)
    };
    tokio::time::timeout(Duration::from_secs(2), read)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 2 s"))?
}

/// One query and its answer on `s`.
async fn ask(s: &mut TcpStream, id: u16) -> std::io::Result<u16> {
    s.write_all(&framed_query(id)).await?;
    read_answer(s).await
}

/// Whether the server closes `s` within `within` (reading and dropping what it sent).
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let drain = async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, drain).await.is_ok()
}

/// Waits until `counter` reaches `value` (false after `within`).
async fn reaches(counter: &AtomicU64, value: u64, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while counter.load(Ordering::Relaxed) < value {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

/// Writes `queries` framed queries on a task of its own (the peer may never read).
fn pipeline(mut w: tokio::net::tcp::OwnedWriteHalf, queries: u16) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for id in 0..queries {
            if w.write_all(&framed_query(id)).await.is_err() {
                return;
            }
        }
        // Keep the write side open: a half-close would end the connection once answered.
        std::future::pending::<()>().await;
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_serve_with_answer_with_the_defaults() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, zones()));
    let mut s = connect("127.0.0.1", addr, false).await;
    assert_eq!(ask(&mut s, 7).await.unwrap(), 7);
    assert_eq!(ask(&mut s, 8).await.unwrap(), 8);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with(listener, zones(), Service::default()));
    let mut s = connect("127.0.0.1", addr, false).await;
    assert_eq!(ask(&mut s, 9).await.unwrap(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_source_limit_closes_new_connections_from_that_source_at_once() {
    let (addr, stats) = start(TcpLimits {
        max_per_source: 3,
        ..TcpLimits::default()
    })
    .await;
    let mut held = Vec::new();
    for id in 0..3 {
        let mut s = connect("127.0.0.1", addr, false).await;
        assert_eq!(ask(&mut s, id).await.unwrap(), id);
        held.push(s);
    }
    let mut fourth = connect("127.0.0.1", addr, false).await;
    let started = Instant::now();
    assert!(closed_within(&mut fourth, Duration::from_secs(1)).await);
    assert!(ask(&mut fourth, 4).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(stats.refused_per_source.load(Ordering::Relaxed), 1);
    // Another source is not held back, nor are the three.
    let mut other = connect("127.0.0.2", addr, false).await;
    assert_eq!(ask(&mut other, 5).await.unwrap(), 5);
    assert_eq!(ask(&mut held[0], 6).await.unwrap(), 6);
    // One of the three closes: its source may connect again.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(2);
    while stats.open.load(Ordering::Relaxed) > 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut again = connect("127.0.0.1", addr, false).await;
    assert_eq!(ask(&mut again, 7).await.unwrap(), 7);
    assert_eq!(stats.refused_per_source.load(Ordering::Relaxed), 1);
    assert_eq!(stats.evicted_for_room.load(Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_total_the_connection_idle_longest_is_evicted_not_the_oldest() {
    let (addr, stats) = start(TcpLimits {
        max_connections: 3,
        ..TcpLimits::default()
    })
    .await;
    let gap = Duration::from_millis(30);
    let mut a = connect("127.0.0.2", addr, false).await;
    ask(&mut a, 1).await.unwrap();
    tokio::time::sleep(gap).await;
    let mut b = connect("127.0.0.3", addr, false).await;
    ask(&mut b, 2).await.unwrap();
    tokio::time::sleep(gap).await;
    let mut c = connect("127.0.0.4", addr, false).await;
    ask(&mut c, 3).await.unwrap();
    tokio::time::sleep(gap).await;
    // a is the oldest connection, but it asks again: b is now idle longest.
    ask(&mut a, 4).await.unwrap();
    tokio::time::sleep(gap).await;
    let mut d = connect("127.0.0.5", addr, false).await;
    assert_eq!(
        ask(&mut d, 5).await.unwrap(),
        5,
        "the new connection is served"
    );
    assert!(
        closed_within(&mut b, Duration::from_secs(1)).await,
        "b is evicted"
    );
    assert_eq!(stats.evicted_for_room.load(Ordering::Relaxed), 1);
    tokio::time::sleep(gap).await;
    assert_eq!(ask(&mut a, 6).await.unwrap(), 6);
    tokio::time::sleep(gap).await;
    assert_eq!(ask(&mut c, 7).await.unwrap(), 7);
    tokio::time::sleep(gap).await;
    // Now d made progress longest ago.
    let mut e = connect("127.0.0.6", addr, false).await;
    assert_eq!(ask(&mut e, 8).await.unwrap(), 8);
    assert!(
        closed_within(&mut d, Duration::from_secs(1)).await,
        "d is evicted"
    );
    assert_eq!(ask(&mut a, 9).await.unwrap(), 9);
    assert_eq!(ask(&mut c, 10).await.unwrap(), 10);
    assert_eq!(stats.evicted_for_room.load(Ordering::Relaxed), 2);
    assert_eq!(stats.open.load(Ordering::Relaxed), 3);
    assert_eq!(stats.accepted.load(Ordering::Relaxed), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_does_not_read_is_closed_after_the_write_timeout() {
    let timeout = Duration::from_millis(400);
    let (addr, stats) = start(TcpLimits {
        write_timeout: timeout,
        max_pipelined: 4,
        ..TcpLimits::default()
    })
    .await;
    let s = connect("127.0.0.2", addr, true).await;
    let (_r, w) = s.into_split();
    let started = Instant::now();
    let writer = pipeline(w, 20_000);
    assert!(
        reaches(&stats.closed_write_timeout, 1, Duration::from_secs(10)).await,
        "not closed; stats {stats:?}"
    );
    let took = started.elapsed();
    assert!(took >= timeout, "closed after {took:?}, before the timeout");
    assert!(stats.pipeline_limit_hits.load(Ordering::Relaxed) >= 1);
    assert!(reaches_zero(&stats.open, Duration::from_secs(1)).await);
    writer.abort();
    // The listener goes on.
    let mut fresh = connect("127.0.0.1", addr, false).await;
    assert_eq!(ask(&mut fresh, 1).await.unwrap(), 1);
}

async fn reaches_zero(gauge: &AtomicU64, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while gauge.load(Ordering::Relaxed) > 0 {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_gets_every_answer_in_order() {
    let (addr, stats) = start(TcpLimits {
        write_timeout: Duration::from_secs(3),
        max_pipelined: 2,
        ..TcpLimits::default()
    })
    .await;
    let s = connect("127.0.0.2", addr, true).await;
    let (mut r, w) = s.into_split();
    let n = 5000u16;
    let writer = pipeline(w, n);
    // Not reading for a while: the server stops reading, and resumes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(stats.pipeline_limit_hits.load(Ordering::Relaxed) >= 1);
    for id in 0..n {
        let len = r.read_u16().await.unwrap() as usize;
        let mut msg = vec![0u8; len];
        r.read_exact(&mut msg).await.unwrap();
        assert_eq!(Message::parse(&msg).unwrap().header.id, id);
        if id % 1000 == 999 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    writer.abort();
    assert_eq!(stats.closed_write_timeout.load(Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_trickling_in_is_closed_after_the_read_timeout() {
    let timeout = Duration::from_millis(300);
    let (addr, stats) = start(TcpLimits {
        read_timeout: timeout,
        ..TcpLimits::default()
    })
    .await;
    let mut s = connect("127.0.0.2", addr, false).await;
    let frame = framed_query(1);
    let started = Instant::now();
    // One octet every 100 ms: the query would take 3 s or more to arrive.
    let mut closed_at = None;
    for octet in &frame {
        if s.write_all(&[*octet]).await.is_err() {
            break;
        }
        if closed_within(&mut s, Duration::from_millis(100)).await {
            closed_at = Some(started.elapsed());
            break;
        }
    }
    let took = closed_at.expect("the connection stayed open for the whole query");
    assert!(
        took >= timeout && took < Duration::from_secs(2),
        "closed after {took:?}"
    );
    assert_eq!(stats.closed_read_timeout.load(Ordering::Relaxed), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_after_the_idle_timeout_and_busy_ones_not() {
    let timeout = Duration::from_millis(300);
    let (addr, stats) = start(TcpLimits {
        idle_timeout: timeout,
        ..TcpLimits::default()
    })
    .await;
    let mut busy = connect("127.0.0.2", addr, false).await;
    let mut idle = connect("127.0.0.3", addr, false).await;
    ask(&mut idle, 1).await.unwrap();
    let started = Instant::now();
    for id in 0..8 {
        ask(&mut busy, id).await.unwrap();
        tokio::time::sleep(timeout / 2).await;
    }
    assert!(closed_within(&mut idle, Duration::from_millis(100)).await);
    assert!(started.elapsed() > 2 * timeout);
    assert_eq!(
        stats.closed_idle.load(Ordering::Relaxed),
        1,
        "only the idle one"
    );
    assert_eq!(ask(&mut busy, 99).await.unwrap(), 99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_clients_are_answered_while_hostages_hold_every_slot() {
    let (addr, stats) = start(TcpLimits {
        max_connections: 20,
        write_timeout: Duration::from_secs(2),
        ..TcpLimits::default()
    })
    .await;
    // 60 hostages from three sources, each pipelining and never reading.
    let mut hostages = Vec::new();
    for i in 0..60 {
        let s = connect(&format!("127.0.0.{}", 2 + i % 3), addr, true).await;
        let (r, w) = s.into_split();
        hostages.push((r, pipeline(w, 20_000)));
    }
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(3) {
        let t = Instant::now();
        let mut s = connect("127.0.0.1", addr, false).await;
        assert_eq!(ask(&mut s, 42).await.unwrap(), 42);
        worst = worst.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        worst < Duration::from_secs(1),
        "a fresh client waited {worst:?}"
    );
    assert!(stats.evicted_for_room.load(Ordering::Relaxed) >= 40);
    for (_, w) in hostages {
        w.abort();
    }
}
