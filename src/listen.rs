//! Wiring: the DNS listeners of `serve` and `edge` (UDP workers, TCP with
//! its limits, docs/tcp.md) and their settings.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};
use zonecast_server::{Service, SharedZones, TcpLimits, TcpStats};

/// TCP listener limits (RFC 7766 §6), shared by `serve` and `edge`; docs/tcp.md.
#[derive(clap::Args, Clone, Debug)]
pub struct TcpArgs {
    /// Close a TCP connection idle this long, milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub tcp_idle_timeout_ms: u64,
    /// Close a TCP connection whose peer does not take an answer within this long, milliseconds.
    #[arg(long, default_value_t = 5_000)]
    pub tcp_write_timeout_ms: u64,
    /// Close a TCP connection whose query does not arrive whole within this long, milliseconds.
    #[arg(long, default_value_t = 5_000)]
    pub tcp_read_timeout_ms: u64,
    /// Most TCP connections per listener; a new one then evicts the one idle longest.
    #[arg(long, default_value_t = 1024)]
    pub tcp_max_connections: usize,
    /// Most TCP connections from one source (IPv4 address, IPv6 prefix).
    #[arg(long, default_value_t = 64)]
    pub tcp_max_per_source: usize,
    /// IPv6 prefix length counted as one source.
    #[arg(long, default_value_t = 64)]
    pub tcp_ipv6_prefix_len: u8,
    /// Most answers of one TCP connection waiting for the peer to read them.
    #[arg(long, default_value_t = 16)]
    pub tcp_max_pipelined: usize,
}

impl TcpArgs {
    fn limits(&self) -> TcpLimits {
        TcpLimits {
            idle_timeout: Duration::from_millis(self.tcp_idle_timeout_ms),
            write_timeout: Duration::from_millis(self.tcp_write_timeout_ms),
            read_timeout: Duration::from_millis(self.tcp_read_timeout_ms),
            max_connections: self.tcp_max_connections.max(1),
            max_per_source: self.tcp_max_per_source.max(1),
            ipv6_prefix_len: self.tcp_ipv6_prefix_len.min(128),
            max_pipelined: self.tcp_max_pipelined.max(1),
        }
    }
}

/// Starts UDP workers and a TCP listener on every address, the TCP
/// listeners counting into `stats`.
pub async fn start(
    addrs: &[SocketAddr],
    workers: usize,
    zones: &SharedZones,
    service: &Service,
    tcp: &TcpArgs,
    stats: Arc<TcpStats>,
) -> anyhow::Result<()> {
    match zonecast_server::tcp::raise_fd_limit() {
        Ok(n) => info!(limit = n, "file descriptor limit"),
        Err(e) => warn!("cannot raise the file descriptor limit: {e}"),
    }
    let limits = tcp.limits();
    for addr in addrs {
        let (bound, _threads) =
            zonecast_server::udp::spawn_with(*addr, workers, zones.clone(), service.clone())?;
        let listener = zonecast_server::tcp::bind(bound).await?;
        tokio::spawn(zonecast_server::tcp::serve_limited(
            listener,
            zones.clone(),
            service.clone(),
            limits.clone(),
            stats.clone(),
        ));
        info!(%bound, udp_workers = workers, "DNS listening on UDP and TCP");
    }
    Ok(())
}
