//! Wiring: the DNS listeners of `serve` and `edge` (UDP workers, TCP with
//! its limits, docs/tcp.md) and their settings.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};
use zonecast_server::rrl::{Rrl, RrlConfig};
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

/// Response rate limiting of UDP answers (docs/robustness.md), shared by
/// `serve` and `edge`: off unless `--rrl-rate` is set.
#[derive(clap::Args, Clone, Debug)]
pub struct RrlArgs {
    /// Answers per second to one source prefix for one name and kind of
    /// answer; 0 (the default) turns response rate limiting off.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=65535))]
    pub rrl_rate: u32,
    /// Every Nth answer over the rate is sent truncated (TC=1) instead of
    /// dropped, so real clients retry over TCP; 0 drops them all.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=255))]
    pub rrl_slip: u32,
    /// IPv4 prefix length counted as one source.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u8).range(0..=32))]
    pub rrl_ipv4_prefix: u8,
    /// IPv6 prefix length counted as one source.
    #[arg(long, default_value_t = 56, value_parser = clap::value_parser!(u8).range(0..=128))]
    pub rrl_ipv6_prefix: u8,
    /// Buckets of the rate table (8 bytes each).
    #[arg(long, default_value_t = 1 << 20)]
    pub rrl_table_size: usize,
    /// A network (`ADDR` or `ADDR/PREFIX`) never rate limited; repeatable.
    #[arg(long = "rrl-exempt", value_name = "NETWORK", value_parser = parse_network)]
    pub rrl_exempt: Vec<zonecast_server::net::Network>,
}

fn parse_network(s: &str) -> Result<zonecast_server::net::Network, String> {
    zonecast_server::net::Network::parse(s)
        .ok_or_else(|| format!("'{s}' is not an address or ADDR/PREFIX network"))
}

impl RrlArgs {
    /// The limiter, `None` when off (clap has checked the ranges).
    pub fn limiter(&self) -> Option<Arc<Rrl>> {
        let config = RrlConfig {
            rate: self.rrl_rate,
            slip: self.rrl_slip,
            ipv4_prefix: self.rrl_ipv4_prefix,
            ipv6_prefix: self.rrl_ipv6_prefix,
            table_size: self.rrl_table_size,
            exempt: self.rrl_exempt.clone(),
        };
        let rrl = Rrl::new(config).map(Arc::new);
        if let Some(r) = &rrl {
            let c = r.config();
            info!(
                rate = c.rate,
                slip = c.slip,
                ipv4_prefix = c.ipv4_prefix,
                ipv6_prefix = c.ipv6_prefix,
                exempt = c.exempt.len(),
                "response rate limiting on"
            );
        }
        rrl
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
