//! Wiring of the secondary role: its flags, its part of the zone status
//! and of `/metrics`.

use std::sync::atomic::Ordering;
use std::time::Duration;
use zonecast_xfr::client::ClientConfig;
use zonecast_xfr::secondary::{Secondaries, SecondaryConfig, SecondaryStatus};

/// Secondary-zone settings of `serve`.
#[derive(clap::Args, Clone, Debug)]
pub struct SecondaryArgs {
    /// Shortest refresh and retry interval of secondary zones, seconds (SOA values below are raised).
    #[arg(long, default_value_t = 2)]
    pub refresh_min: u64,
    /// Longest refresh and retry interval of secondary zones, seconds (SOA values above are lowered).
    #[arg(long, default_value_t = 86_400)]
    pub refresh_max: u64,
    /// Shortest expire interval of secondary zones, seconds.
    #[arg(long, default_value_t = 10)]
    pub expire_min: u64,
    /// Most records a transfer in may carry (default: --max-zone-records); a bigger zone is refused and the old copy kept.
    #[arg(long)]
    pub xfr_max_records: Option<usize>,
    /// Most octets a transfer in may carry (default 2 GiB); a bigger one is cut off and the old copy kept.
    #[arg(long, default_value_t = zonecast_xfr::client::DEFAULT_MAX_BYTES, value_parser = clap::value_parser!(u64).range(1..))]
    pub xfr_max_bytes: u64,
    /// Seconds a transfer in may wait for a connection or for each message.
    #[arg(long, default_value_t = 10)]
    pub xfr_idle_timeout: u64,
}

impl SecondaryArgs {
    /// The refresh machine's configuration, under the node's size limits.
    pub fn config(&self, limits: zonecast_control::Limits) -> SecondaryConfig {
        SecondaryConfig {
            refresh_min: Duration::from_secs(self.refresh_min.max(1)),
            refresh_max: Duration::from_secs(self.refresh_max.max(1)),
            expire_min: Duration::from_secs(self.expire_min.max(1)),
            client: ClientConfig {
                max_records: self
                    .xfr_max_records
                    .unwrap_or(limits.max_zone_records)
                    .max(1),
                max_bytes: self.xfr_max_bytes,
                idle_timeout: Duration::from_secs(self.xfr_idle_timeout.max(1)),
                ..ClientConfig::default()
            },
            ..SecondaryConfig::default()
        }
    }
}

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// The `secondary` object of a zone's status.
pub fn status_json(st: &SecondaryStatus, now_ms: i64) -> serde_json::Value {
    let left = |at: Option<i64>| at.map(|t| (t - now_ms).max(0).div_euclid(1000));
    serde_json::json!({
        "primary_serial": st.primary_serial,
        "primary": st.primary,
        "last_refresh": st.last_refresh_ms.map(|at| serde_json::json!({
            "at": secs(at),
            "outcome": st.last_refresh_outcome,
        })),
        "last_success": st.last_success_ms.map(secs),
        "last_transfer": st.last_transfer.as_ref().map(|t| serde_json::json!({
            "type": t.kind,
            "at": secs(t.at_ms),
            "primary": t.primary,
            "serial_from": t.serial_from,
            "serial_to": t.serial_to,
            "records": t.records,
            "messages": t.messages,
            "bytes": t.bytes,
            "duration_ms": t.duration_ms,
        })),
        "next_refresh": secs(st.next_refresh_ms),
        "next_refresh_in": left(Some(st.next_refresh_ms)),
        "expires_at": st.expires_at_ms.map(secs),
        "expires_in": if st.expired { Some(0) } else { left(st.expires_at_ms) },
        "expired": st.expired,
        "failures": st.failures,
        "last_error": st.last_error.as_ref().map(|m| serde_json::json!({
            "message": m,
            "at": st.last_error_ms.map(secs),
        })),
    })
}

/// One gauge's value for a zone's status at a time (unix ms).
type Gauge = fn(&SecondaryStatus, i64) -> Option<i64>;

/// Prometheus lines: counters of the machine, gauges per secondary zone.
pub fn metrics(s: &Secondaries, now_ms: i64, out: &mut String) {
    let st = s.stats();
    for (name, help, v) in [
        (
            "zonecast_secondary_checks_total",
            "SOA checks of secondary zones.",
            &st.checks,
        ),
        (
            "zonecast_secondary_check_failures_total",
            "Checks that failed on every primary.",
            &st.failed,
        ),
        (
            "zonecast_secondary_ixfr_total",
            "Incremental transfers in applied.",
            &st.ixfr,
        ),
        (
            "zonecast_secondary_axfr_total",
            "Full transfers in applied.",
            &st.axfr,
        ),
        (
            "zonecast_secondary_ixfr_fallbacks_total",
            "IXFRs in that fell back to AXFR.",
            &st.ixfr_fallbacks,
        ),
        (
            "zonecast_secondary_notifies_total",
            "NOTIFY messages that woke a secondary zone.",
            &st.notifies,
        ),
        (
            "zonecast_secondary_notifies_current_total",
            "NOTIFY messages announcing a serial the secondary zone already had (no check).",
            &st.notifies_current,
        ),
    ] {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
            v.load(Ordering::Relaxed)
        ));
    }
    let zones = s.statuses();
    let gauges: [(&str, &str, Gauge); 6] = [
        (
            "zonecast_secondary_expires_in_seconds",
            "Seconds left before the zone expires (0 when expired).",
            |z, now| {
                z.expires_at_ms.map(|e| {
                    if z.expired {
                        0
                    } else {
                        (e - now).max(0) / 1000
                    }
                })
            },
        ),
        (
            "zonecast_secondary_expired",
            "1 while the zone is expired (answering SERVFAIL).",
            |z, _| Some(i64::from(z.expired)),
        ),
        (
            "zonecast_secondary_primary_serial",
            "The primary's serial when last seen.",
            |z, _| z.primary_serial.map(i64::from),
        ),
        (
            "zonecast_secondary_last_success_timestamp_seconds",
            "Unix time of the last successful check.",
            |z, _| z.last_success_ms.map(|t| t / 1000),
        ),
        (
            "zonecast_secondary_next_refresh_timestamp_seconds",
            "Unix time of the next check.",
            |z, _| Some(z.next_refresh_ms / 1000),
        ),
        (
            "zonecast_secondary_consecutive_failures",
            "Checks in a row that failed on every primary.",
            |z, _| Some(i64::from(z.failures)),
        ),
    ];
    for (name, help, f) in gauges {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for (zone, z) in &zones {
            if let Some(v) = f(z, now_ms) {
                out.push_str(&format!("{name}{{zone=\"{zone}\"}} {v}\n"));
            }
        }
    }
}
