//! TCP service (RFC 1035 §4.2.2, RFC 7766): two-octet length framing,
//! several queries per connection answered in order, idle timeout.
//!
//! A frame shorter than a DNS header, a connection that closes mid-frame,
//! or a query not worth answering closes the connection; the server goes on.
//! Connections beyond [`MAX_CONNECTIONS`] wait for a free slot.

use crate::pipeline::{respond_with, Transport};
use crate::Service;
use crate::{ServerError, SharedZones};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use zonecast_proto::query::QueryView;

/// Idle time after which a connection is closed (Knot's default `tcp-idle-timeout`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most connections served at once.
pub const MAX_CONNECTIONS: usize = 1024;

/// Binds a TCP listener on `addr`.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    let sock = if addr.is_ipv6() {
        tokio::net::TcpSocket::new_v6()
    } else {
        tokio::net::TcpSocket::new_v4()
    }
    .map_err(|source| ServerError::Listen { addr, source })?;
    sock.set_reuseaddr(true)
        .map_err(|source| ServerError::Listen { addr, source })?;
    sock.bind(addr)
        .map_err(|source| ServerError::Listen { addr, source })?;
    sock.listen(1024)
        .map_err(|source| ServerError::Listen { addr, source })
}

/// Accepts connections forever, one task each.
pub async fn serve(listener: TcpListener, zones: SharedZones) {
    serve_with(listener, zones, Service::default()).await
}

/// [`serve`] with the node's services (NOTIFY relay).
pub async fn serve_with(listener: TcpListener, zones: SharedZones, service: Service) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, peer)) => {
                let zones = zones.clone();
                let service = service.clone();
                tokio::spawn(async move {
                    connection(stream, peer, zones, service).await;
                    drop(permit);
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "tcp accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn connection(mut stream: TcpStream, peer: SocketAddr, zones: SharedZones, service: Service) {
    let _ = stream.set_nodelay(true);
    let mut q = QueryView::default();
    let mut inbuf = vec![0u8; u16::MAX as usize];
    let mut out = vec![0u8; u16::MAX as usize + 2];
    loop {
        let len = match tokio::time::timeout(IDLE_TIMEOUT, stream.read_u16()).await {
            Ok(Ok(l)) => l as usize,
            _ => return,
        };
        if len < 12 {
            return;
        }
        match tokio::time::timeout(IDLE_TIMEOUT, stream.read_exact(&mut inbuf[..len])).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        if let Some(t) = &service.transfers {
            if q.parse(&inbuf[..len]).is_ok() && crate::xfr::is_transfer(&q) {
                let zone = transfer_zone(&zones, &q);
                match crate::xfr::serve(t, &mut stream, &inbuf[..len], &q, peer, zone, &mut out)
                    .await
                {
                    crate::xfr::Handled::Done => continue,
                    crate::xfr::Handled::Close => return,
                    crate::xfr::Handled::NotOurs => {}
                }
            }
        }
        let answer = {
            let snapshot = zones.load();
            respond_with(
                &snapshot,
                &inbuf[..len],
                &mut out[2..],
                Transport::Tcp,
                &mut q,
                &service,
                || Some(peer),
            )
        };
        let Some(n) = answer else { return };
        out[..2].copy_from_slice(&(n as u16).to_be_bytes());
        if stream.write_all(&out[..n + 2]).await.is_err() {
            return;
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
