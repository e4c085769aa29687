//! `zonecast edge`: a read-only nameserver that follows the store by
//! logical replication (crates/replica), with its listeners, NOTIFY relay
//! and small HTTP API.

use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tracing::{info, warn};
use zonecast_api::{EdgeProbe, EdgeReport, Metric};
use zonecast_proto::Name;
use zonecast_replica::{Follower, FollowerConfig, Notifier, StatusHandle};
use zonecast_server::{NotifySink, NotifyVerdict, Service};
use zonecast_store::Store;

/// What `zonecast edge` was given.
pub struct EdgeOptions {
    pub database: String,
    pub name: String,
    pub data_dir: PathBuf,
    pub dns_listen: Vec<SocketAddr>,
    pub api_listen: SocketAddr,
    pub udp_workers: usize,
    pub max_lag_ms: u64,
    pub transfers: crate::xfr::TransferArgs,
    pub tcp: crate::listen::TcpArgs,
    pub rrl: crate::listen::RrlArgs,
    pub api_limits: zonecast_api::HttpLimits,
    pub limits: zonecast_control::Limits,
}

/// Runs an edge until SIGINT/SIGTERM.
pub async fn run(o: EdgeOptions) -> anyhow::Result<()> {
    // With nothing to serve yet, a database that can't be used is fatal:
    // say why, once. With a local snapshot, serve it and keep retrying.
    if let Err(e) = zonecast_replica::preflight(&o.database).await {
        let why = format!("{} (database {})", error_chain(&e), redacted(&o.database));
        if !has_local_data(&o.data_dir) {
            anyhow::bail!("edge {}: {why}", o.name);
        }
        warn!(edge = %o.name, "serving the local snapshot; PostgreSQL not usable yet: {why}");
    }
    let mut config = FollowerConfig::new(&o.database, &o.name, &o.data_dir);
    config.max_lag_ms = i64::try_from(o.max_lag_ms).unwrap_or(i64::MAX);
    config.dns_listen = o.dns_listen.iter().map(|a| a.to_string()).collect();
    config.limits = o.limits;
    let follower = Follower::start(config).context("starting the edge")?;
    let status = follower.status();
    let zones = follower.zones();
    // The edge's own journal (IXFR out from its snapshot): trimmed like the primary's.
    crate::xfr::trim_journal_every_minute(follower.local_store(), &o.transfers, Arc::new(|| true));
    let transfers = crate::xfr::transfers(follower.local_store(), &o.transfers);
    let xfr_stats = transfers.stats();
    let service = Service {
        notify: Some(Arc::new(Relay {
            notifier: follower.notifier(),
            store: follower.local_store(),
        })),
        transfers: Some(transfers),
        keys: Some(Arc::new(crate::xfr::KeyCache::new(follower.local_store()))),
        rrl: o.rrl.limiter(),
        udp: Arc::default(),
    };
    let tcp_stats = Arc::new(zonecast_server::TcpStats::default());
    crate::listen::start(
        &o.dns_listen,
        o.udp_workers,
        &zones,
        &service,
        &o.tcp,
        tcp_stats.clone(),
    )
    .await?;
    let api = zonecast_api::bind(o.api_listen)
        .await
        .with_context(|| format!("edge API cannot listen on {}", o.api_listen))?;
    info!(addr = %api.local_addr()?, "edge API listening (health, metrics)");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let api = tokio::spawn(zonecast_api::serve_edge(
        api,
        Arc::new(Probe {
            status,
            xfr: xfr_stats,
            tcp: tcp_stats,
            rrl: service.rrl.clone(),
            udp: service.udp.clone(),
            store: follower.local_store(),
        }),
        zones,
        o.api_limits,
        async {
            let _ = stopped.await;
        },
    ));
    crate::shutdown_signal().await;
    info!("shutting down");
    let _ = stop.send(());
    let (_, ()) = tokio::join!(
        api,
        crate::xfr::drain(service.transfers.as_ref(), &o.transfers)
    );
    follower.shutdown().await;
    Ok(())
}

/// Whether the local snapshot in `dir` holds any zone (opening it creates an empty one otherwise).
fn has_local_data(dir: &std::path::Path) -> bool {
    dir.join(zonecast_store::DB_FILE).exists()
        && Store::open(dir).is_ok_and(|s| s.zones().is_ok_and(|z| !z.is_empty()))
}

/// An error with its causes, on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// A database URL without its password.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            let user = user.split(':').next().unwrap_or_default();
            format!("{}{user}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// The edge's report for its HTTP API, from the follower's status.
struct Probe {
    status: StatusHandle,
    xfr: Arc<zonecast_server::xfr::XfrStats>,
    tcp: Arc<zonecast_server::TcpStats>,
    rrl: Option<Arc<zonecast_server::rrl::Rrl>>,
    udp: Arc<zonecast_server::udp::UdpStats>,
    /// The local snapshot, for the zones' transfer ACLs.
    store: Arc<Store>,
}

impl EdgeProbe for Probe {
    fn may_export(&self, zone: &Name, peer: std::net::IpAddr) -> bool {
        crate::xfr::transfer_acl(&self.store, zone).is_some_and(|acl| acl.check(peer, None).is_ok())
    }

    fn report(&self) -> EdgeReport {
        let s = self.status.snapshot();
        let reason = if s.ready {
            None
        } else if !s.has_data {
            Some("no data yet (initial copy not done)".to_string())
        } else {
            Some(match s.lag_ms {
                Some(l) => format!("lag {l} ms is over {} ms", s.max_lag_ms),
                None => "no heartbeat applied yet".to_string(),
            })
        };
        let m = &s.metrics;
        let counter = |name, help, value: u64| Metric {
            name,
            help,
            kind: "counter",
            value: value as f64,
        };
        let mut metrics = vec![
            counter(
                "zonecast_edge_transactions_applied_total",
                "Replicated transactions applied.",
                m.transactions_applied,
            ),
            counter(
                "zonecast_edge_transactions_skipped_total",
                "Replicated transactions skipped as already applied.",
                m.transactions_skipped,
            ),
            counter(
                "zonecast_edge_rows_skipped_total",
                "Replicated rows skipped (unknown or malformed).",
                m.rows_skipped,
            ),
            counter(
                "zonecast_edge_reconnects_total",
                "Reconnections to PostgreSQL.",
                m.reconnects,
            ),
            counter(
                "zonecast_edge_zone_resyncs_total",
                "Zones copied again after a problem.",
                m.zone_resyncs,
            ),
            counter(
                "zonecast_edge_full_resyncs_total",
                "Full copies (first start, slot lost).",
                m.full_resyncs,
            ),
            counter(
                "zonecast_edge_snapshot_corruptions_total",
                "Corruptions of the local snapshot found at start (file discarded, or a zone failing its checksum); each was copied again from PostgreSQL.",
                m.snapshot_corruptions,
            ),
            counter(
                "zonecast_edge_problems_total",
                "Problems met in the stream.",
                m.problems_total,
            ),
            counter(
                "zonecast_edge_notifies_relayed_total",
                "DNS NOTIFY messages relayed to the control planes.",
                m.notifies_relayed,
            ),
            counter(
                "zonecast_edge_notifies_dropped_total",
                "DNS NOTIFY messages dropped (relay queue full).",
                m.notifies_dropped,
            ),
        ];
        for (name, help, value) in crate::xfr::xfr_counters(&self.xfr) {
            metrics.push(counter(name, help, value));
        }
        let rrl = zonecast_server::rrl::samples(self.rrl.as_deref());
        let udp = self.udp.samples();
        for (name, help, kind, value) in self.tcp.samples().into_iter().chain(rrl).chain(udp) {
            metrics.push(Metric {
                name,
                help,
                kind,
                value: value as f64,
            });
        }
        metrics.push(Metric {
            name: "zonecast_edge_apply_us_max",
            help: "Longest apply of one transaction (decode, new versions, publish, persist), microseconds.",
            kind: "gauge",
            value: m.apply_us_max as f64,
        });
        EdgeReport {
            name: s.name,
            ready: s.ready,
            reason,
            connected: s.connected,
            lag_ms: s.lag_ms.and_then(|l| u64::try_from(l).ok()),
            max_lag_ms: u64::try_from(s.max_lag_ms).unwrap_or(0),
            applied_lsn: s.applied_lsn,
            problems: s.problems.iter().map(|p| p.message.clone()).collect(),
            metrics,
            metrics_text: zonecast_server::notify_log::NOTIFY_IN.metrics_text(),
        }
    }
}

/// Relays NOTIFY for secondary zones from their primaries to the control planes.
///
/// RFC 1996 §3.10: only the zone's primaries (by address; TSIG comes with
/// the secondary role) may NOTIFY. A primary zone takes none (REFUSED), as
/// an unknown zone gets NOTAUTH. The lookup reads the local snapshot's zone
/// row: NOTIFY is rare, and a flood of them costs one indexed read each
/// (and, refused, one log line per reason every 10 s, `notify_log`).
struct Relay {
    notifier: Notifier,
    store: Arc<Store>,
}

impl NotifySink for Relay {
    fn notify(
        &self,
        zone: &Name,
        served: bool,
        peer: SocketAddr,
        key: Option<&Name>,
        serial: Option<u32>,
    ) -> NotifyVerdict {
        let verdict = crate::notify::notify_in_verdict(&self.store, zone, served, peer, key);
        if verdict == NotifyVerdict::Accepted {
            self.notifier
                .relay_notify(&zone.to_string(), &peer.to_string(), serial);
            crate::notify::count_accepted();
            info!(%zone, %peer, "NOTIFY relayed to the control planes");
        }
        verdict
    }
}
