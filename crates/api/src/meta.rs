//! Health, metrics and the OpenAPI document.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::{keys, rrsets, zones, ApiState};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The OpenAPI description of the whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "zonecast API", description = "Management API of the zonecast authoritative DNS server"),
    paths(
        health, metrics,
        zones::list_zones, zones::create_zone, zones::get_zone, zones::patch_zone, zones::delete_zone,
        zones::get_zonefile, zones::put_zonefile, zones::zone_status, zones::refresh_zone, zones::retransfer_zone, zones::edges,
        rrsets::list_rrsets, rrsets::get_rrset, rrsets::put_rrset, rrsets::delete_rrset, rrsets::patch_rrsets,
        rrsets::list_records, rrsets::create_record, rrsets::get_record, rrsets::put_record, rrsets::delete_record,
        keys::create_tsig, keys::list_tsig, keys::delete_tsig,
        keys::create_api_key, keys::list_api_keys, keys::delete_api_key,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The error body every 4xx and 5xx carries.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// The error.
    error: ErrorDetail,
}

/// What went wrong.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable code: `invalid_json`, `bad_name`, `bad_type`, `invalid`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `serial_mismatch`, `body_too_large`, ...
    code: String,
    /// Explanation.
    message: String,
    /// The request field at fault.
    field: Option<String>,
}

/// The node serves (no token needed).
#[utoipa::path(get, path = "/v1/health", tag = "meta", responses((status = 200, body = Object)))]
pub async fn health(State(state): State<ApiState>) -> Json<serde_json::Value> {
    let zones = state.control().zones().load().len();
    let mut body = serde_json::json!({"status": "ok", "zones_served": zones});
    if let Some(c) = state.cluster() {
        body["leader"] = (c.is_leader)().into();
    }
    Json(body)
}

/// The OpenAPI document (no token needed).
pub async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

/// Prometheus metrics: requests by route and status, zones, records, changes.
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, content_type = "text/plain", body = String)), security(("bearer" = [])))]
pub async fn metrics(
    State(state): State<ApiState>,
    _who: Principal,
) -> Result<impl IntoResponse, ApiError> {
    let stored = state.blocking(|c| Ok(c.store().zones()?.len())).await?;
    let snapshot = state.control().zones().load();
    let served = snapshot.len();
    let records: usize = snapshot.zones().iter().map(|z| z.record_count()).sum();
    let mut out = String::new();
    out.push_str("# HELP zonecast_api_requests_total API requests by route, method and status.\n");
    out.push_str("# TYPE zonecast_api_requests_total counter\n");
    {
        let reqs = state
            .inner
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for ((route, method, status), n) in reqs.iter() {
            let _ = writeln!(
                out,
                "zonecast_api_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
    }
    let _ = write!(
        out,
        "# HELP zonecast_zones Zones in the store.\n# TYPE zonecast_zones gauge\nzonecast_zones {stored}\n\
         # HELP zonecast_zones_served Zones the DNS listeners answer for.\n# TYPE zonecast_zones_served gauge\nzonecast_zones_served {served}\n\
         # HELP zonecast_records Records in served zones.\n# TYPE zonecast_records gauge\nzonecast_records {records}\n\
         # HELP zonecast_api_changes_total Zone changes committed through the API.\n# TYPE zonecast_api_changes_total counter\nzonecast_api_changes_total {}\n",
        state.inner.changes.load(Ordering::Relaxed)
    );
    state.http_stats().metrics(&mut out);
    out.push_str(&zonecast_zone::limits::metrics_text());
    if let Some(x) = state.extras() {
        x.metrics(&mut out);
    }
    if let Some(c) = state.cluster() {
        let _ = write!(
            out,
            "# HELP zonecast_leader 1 while this control plane leads (runs the background duties).
# TYPE zonecast_leader gauge
zonecast_leader {}
             # HELP zonecast_notifies_relayed_total DNS NOTIFY messages edges relayed to the control planes.
# TYPE zonecast_notifies_relayed_total counter
zonecast_notifies_relayed_total {}
",
            u8::from((c.is_leader)()),
            c.notifies_relayed.load(Ordering::Relaxed)
        );
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    ))
}
