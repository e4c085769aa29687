//! The API server's limit flags (docs/robustness.md "API limits"), shared by
//! `serve` and `edge`.

use std::time::Duration;
use zonecast_api::{HttpLimits, KeyRate};

/// Header and body read times, connections, body sizes and drain time of the API listener.
#[derive(clap::Args, Clone, Debug)]
pub struct ApiLimitArgs {
    /// Milliseconds for a request's line and headers to arrive (also how
    /// long an idle keep-alive connection stays open).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub api_header_timeout_ms: u64,
    /// Milliseconds for a request body to arrive once read (408 after).
    #[arg(long, default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub api_body_timeout_ms: u64,
    /// API connections open at once; when full, the oldest idle one is
    /// closed to make room.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub api_max_connections: u64,
    /// Largest request body in bytes, zone files aside (413 over it).
    #[arg(long, default_value_t = zonecast_api::BODY_LIMIT as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub api_max_body_bytes: u64,
    /// Largest zone file body in bytes (zone creation, `PUT .../zonefile`).
    #[arg(long, default_value_t = zonecast_api::ZONEFILE_LIMIT as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub api_max_zonefile_bytes: u64,
    /// Milliseconds given to API requests in progress at shutdown.
    #[arg(long, default_value_t = 10_000)]
    pub api_drain_ms: u64,
}

impl ApiLimitArgs {
    /// The limits as the API server takes them.
    pub fn limits(&self) -> HttpLimits {
        HttpLimits {
            header_timeout: Duration::from_millis(self.api_header_timeout_ms),
            body_timeout: Duration::from_millis(self.api_body_timeout_ms),
            max_connections: usize::try_from(self.api_max_connections).unwrap_or(usize::MAX),
            drain: Duration::from_millis(self.api_drain_ms),
            max_body: usize::try_from(self.api_max_body_bytes).unwrap_or(usize::MAX),
            max_zonefile: usize::try_from(self.api_max_zonefile_bytes).unwrap_or(usize::MAX),
        }
    }
}

/// The request rate per API key (control planes only: edges take no keys).
#[derive(clap::Args, Clone, Debug)]
pub struct ApiRateArgs {
    /// Requests per second per API key (429 with Retry-After over it); 0,
    /// the default, is no limit.
    #[arg(long, default_value_t = 0)]
    pub api_rate_per_key: u32,
    /// Requests a key may send at once above its rate.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub api_rate_burst: u32,
}

impl ApiRateArgs {
    /// The per-key rate.
    pub fn rate(&self) -> KeyRate {
        KeyRate::new(self.api_rate_per_key, self.api_rate_burst)
    }
}
