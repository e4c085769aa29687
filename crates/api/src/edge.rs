//! The small HTTP API of an edge: health for load balancers and anycast
//! health checkers, Prometheus metrics, and the serial served per zone.
//!
//! An edge holds no API keys (they are not replicated), so these routes take
//! no token: listen on a loopback or management address only.
//!
//! - `GET /v1/health`: **200** with `"ready": true` while the edge has data
//!   and its replication lag is under its threshold, **503** with
//!   `"ready": false` and the reason otherwise, so a health checker (ExaBGP,
//!   BIRD, a load balancer) can withdraw the edge (docs/cluster.md).
//! - `GET /metrics`: Prometheus text.
//! - `GET /v1/zones/{zone}/status`: the serial this edge serves.
//! - `GET /v1/zones/{zone}/zonefile`: the zone as this edge serves it, in
//!   the control plane's export format, so the two can be compared. Only
//!   to a loopback client, or to one whose address the zone's
//!   `allow_transfer` admits without a key ([`EdgeProbe::may_export`]):
//!   the zone's contents go to no one who could not AXFR them (**403**
//!   otherwise).

use crate::{parse_zone_name, serve_router, HttpLimits, HttpStats};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::fmt::Write;
use std::sync::Arc;
use zonecast_zone::SharedZones;

/// One Prometheus sample an edge exposes.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// Metric name, `zonecast_` prefixed.
    pub name: &'static str,
    /// The HELP text.
    pub help: &'static str,
    /// `counter` or `gauge`.
    pub kind: &'static str,
    /// The value.
    pub value: f64,
}

/// What an edge reports about itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EdgeReport {
    /// The edge's `--name`.
    pub name: String,
    /// Whether it should take traffic: it has data and its lag is under the threshold.
    pub ready: bool,
    /// Why it is not ready, when it is not.
    pub reason: Option<String>,
    /// Whether the replication connection is up.
    pub connected: bool,
    /// Replication lag in milliseconds (from the last heartbeat applied); `None` before the first.
    pub lag_ms: Option<u64>,
    /// The lag above which the edge is not ready.
    pub max_lag_ms: u64,
    /// The last position applied and confirmed, as PostgreSQL writes LSNs (`0/16B3748`).
    pub applied_lsn: String,
    /// Problems seen in the stream (rows skipped, zones halted), most recent last.
    pub problems: Vec<String>,
    /// Counters and gauges for `/metrics`.
    pub metrics: Vec<Metric>,
    /// Prometheus text appended to `/metrics` as it is (labelled counters).
    pub metrics_text: String,
}

/// The source of an edge's report (the replication follower).
pub trait EdgeProbe: Send + Sync + 'static {
    /// The current report.
    fn report(&self) -> EdgeReport;
    /// Whether `peer` may read `zone`'s contents: its transfer ACL admits
    /// the address without a key. May block (reads the local snapshot).
    fn may_export(&self, zone: &zonecast_proto::Name, peer: std::net::IpAddr) -> bool;
}

#[derive(Clone)]
struct EdgeState {
    probe: Arc<dyn EdgeProbe>,
    zones: SharedZones,
    http: Arc<HttpStats>,
}

/// The edge's routes; `/metrics` includes what `http` counted.
pub fn edge_router(probe: Arc<dyn EdgeProbe>, zones: SharedZones, http: Arc<HttpStats>) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/metrics", get(metrics))
        .route("/v1/zones/{zone}/status", get(zone_status))
        .route("/v1/zones/{zone}/zonefile", get(zone_file))
        .fallback(|| async {
            crate::ApiError::not_found("no such route on an edge (it serves /v1/health, /metrics and /v1/zones/{zone}/status|zonefile)")
        })
        .with_state(EdgeState { probe, zones, http })
}

/// Serves the edge's routes on `listener` with `limits` (the body limits
/// do not apply: the edge takes no bodies) until `shutdown` completes.
pub async fn serve_edge<F>(
    listener: tokio::net::TcpListener,
    probe: Arc<dyn EdgeProbe>,
    zones: SharedZones,
    limits: HttpLimits,
    shutdown: F,
) where
    F: std::future::Future<Output = ()> + Send,
{
    let stats = Arc::<HttpStats>::default();
    let router = edge_router(probe, zones, stats.clone());
    serve_router(listener, router, limits, stats, shutdown).await
}

async fn health(State(s): State<EdgeState>) -> Response {
    let r = s.probe.report();
    let body = serde_json::json!({
        "status": if r.ready { "ok" } else { "not ready" },
        "ready": r.ready,
        "reason": r.reason,
        "edge": r.name,
        "connected": r.connected,
        "lag_ms": r.lag_ms,
        "max_lag_ms": r.max_lag_ms,
        "applied_lsn": r.applied_lsn,
        "zones_served": s.zones.load().len(),
        "problems": r.problems,
    });
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn metrics(State(s): State<EdgeState>) -> Response {
    let r = s.probe.report();
    let snapshot = s.zones.load();
    let records: usize = snapshot.zones().iter().map(|z| z.record_count()).sum();
    let mut out = String::new();
    let mut sample = |name: &str, help: &str, kind: &str, value: f64| {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        );
    };
    sample(
        "zonecast_zones_served",
        "Zones the DNS listeners answer for.",
        "gauge",
        snapshot.len() as f64,
    );
    sample(
        "zonecast_records",
        "Records in served zones.",
        "gauge",
        records as f64,
    );
    sample(
        "zonecast_edge_ready",
        "1 while the edge should take traffic.",
        "gauge",
        f64::from(u8::from(r.ready)),
    );
    sample(
        "zonecast_edge_connected",
        "1 while the replication connection is up.",
        "gauge",
        f64::from(u8::from(r.connected)),
    );
    if let Some(lag) = r.lag_ms {
        sample(
            "zonecast_edge_lag_ms",
            "Replication lag from the last heartbeat applied, milliseconds.",
            "gauge",
            lag as f64,
        );
    }
    for m in &r.metrics {
        sample(m.name, m.help, m.kind, m.value);
    }
    s.http.metrics(&mut out);
    // Size-limit refusals (process-wide counter, docs/robustness.md).
    out.push_str(&zonecast_zone::limits::metrics_text());
    out.push_str(&r.metrics_text);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

async fn zone_status(State(s): State<EdgeState>, Path(zone): Path<String>) -> Response {
    let zone = match parse_zone_name(&zone) {
        Ok(z) => z,
        Err(e) => return e.into_response(),
    };
    let r = s.probe.report();
    match s.zones.load().get(&zone) {
        Some(z) => Json(serde_json::json!({
            "zone": zone.to_string(),
            "edge": r.name,
            "served_serial": z.serial(),
            "record_count": z.record_count(),
            "applied_lsn": r.applied_lsn,
        }))
        .into_response(),
        None => crate::ApiError::not_found(format!("zone {zone} is not served by this edge"))
            .into_response(),
    }
}

async fn zone_file(
    State(s): State<EdgeState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Path(zone): Path<String>,
) -> Response {
    let zone = match parse_zone_name(&zone) {
        Ok(z) => z,
        Err(e) => return e.into_response(),
    };
    // An IPv4-mapped client (`::ffff:a.b.c.d`) is checked as its IPv4 address.
    let ip = peer.ip().to_canonical();
    if !ip.is_loopback() {
        let (probe, name) = (s.probe.clone(), zone.clone());
        let allowed = tokio::task::spawn_blocking(move || probe.may_export(&name, ip))
            .await
            .unwrap_or(false);
        if !allowed {
            tracing::info!(%zone, %peer, "edge zone file refused: allow_transfer does not admit the client");
            return crate::ApiError::forbidden(format!(
                "the zone file of {zone} is given to loopback clients and to addresses its allow_transfer admits without a key"
            ))
            .into_response();
        }
    }
    match s.zones.load().get(&zone) {
        Some(z) => (
            [(header::CONTENT_TYPE, "text/dns; charset=utf-8")],
            zonecast_zonefile::write_zone(z.apex(), &z.records()),
        )
            .into_response(),
        None => crate::ApiError::not_found(format!("zone {zone} is not served by this edge"))
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use std::net::SocketAddr;
    use tower_service::Service;

    /// A probe whose zone ACL admits exactly `admits`.
    struct Fake {
        admits: Option<std::net::IpAddr>,
    }

    impl EdgeProbe for Fake {
        fn report(&self) -> EdgeReport {
            EdgeReport::default()
        }
        fn may_export(&self, _: &zonecast_proto::Name, peer: std::net::IpAddr) -> bool {
            self.admits == Some(peer)
        }
    }

    fn zones() -> SharedZones {
        let origin: zonecast_proto::Name = "example.com.".parse().unwrap();
        let text = "$TTL 300\n@ SOA ns1 host 7 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n";
        let data = zonecast_zonefile::load_str(text, &origin, "t").unwrap();
        let zone = zonecast_zone::Zone::build(&origin, &data.records).unwrap();
        zonecast_zone::Zones::from_set(zonecast_zone::ZoneSet::new().with_zone(Arc::new(zone)))
    }

    /// The status of `GET .../zonefile` from `from` with a probe admitting `admits`.
    async fn status(from: &str, admits: Option<&str>) -> u16 {
        let probe = Arc::new(Fake {
            admits: admits.map(|a| a.parse().unwrap()),
        });
        let mut router = edge_router(probe, zones(), Arc::default());
        let mut req = Request::get("/v1/zones/example.com/zonefile")
            .body(Body::empty())
            .unwrap();
        let peer: SocketAddr = from.parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(peer));
        let resp = router.call(req).await.unwrap();
        resp.status().as_u16()
    }

    #[tokio::test]
    async fn the_zone_file_goes_to_loopback_and_to_admitted_addresses_only() {
        assert_eq!(status("127.0.0.1:5000", None).await, 200);
        assert_eq!(status("[::1]:5000", None).await, 200);
        assert_eq!(status("192.0.2.9:5000", None).await, 403);
        assert_eq!(status("192.0.2.9:5000", Some("192.0.2.8")).await, 403);
        assert_eq!(status("192.0.2.9:5000", Some("192.0.2.9")).await, 200);
        // An IPv4-mapped client is checked as its IPv4 address.
        assert_eq!(
            status("[::ffff:192.0.2.9]:5000", Some("192.0.2.9")).await,
            200
        );
    }
}
