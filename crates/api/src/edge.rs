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
//!   the control plane's export format, so the two can be compared.

use crate::parse_zone_name;
use axum::extract::{Path, State};
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
}

/// The source of an edge's report (the replication follower).
pub trait EdgeProbe: Send + Sync + 'static {
    /// The current report.
    fn report(&self) -> EdgeReport;
}

#[derive(Clone)]
struct EdgeState {
    probe: Arc<dyn EdgeProbe>,
    zones: SharedZones,
}

/// The edge's routes.
pub fn edge_router(probe: Arc<dyn EdgeProbe>, zones: SharedZones) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/metrics", get(metrics))
        .route("/v1/zones/{zone}/status", get(zone_status))
        .route("/v1/zones/{zone}/zonefile", get(zone_file))
        .fallback(|| async {
            crate::ApiError::not_found("no such route on an edge (it serves /v1/health, /metrics and /v1/zones/{zone}/status|zonefile)")
        })
        .with_state(EdgeState { probe, zones })
}

/// Serves the edge's routes on `listener` until the process ends.
pub async fn serve_edge(
    listener: tokio::net::TcpListener,
    probe: Arc<dyn EdgeProbe>,
    zones: SharedZones,
) {
    if let Err(e) = axum::serve(listener, edge_router(probe, zones)).await {
        tracing::error!("edge API server stopped: {e}");
    }
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
    // Size-limit refusals (process-wide counter, docs/robustness.md).
    out.push_str(&zonecast_zone::limits::metrics_text());
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

async fn zone_file(State(s): State<EdgeState>, Path(zone): Path<String>) -> Response {
    let zone = match parse_zone_name(&zone) {
        Ok(z) => z,
        Err(e) => return e.into_response(),
    };
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
