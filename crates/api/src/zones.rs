//! Zones: list, create, read, settings, delete, zone file, status.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::{if_match, parse_zone_name, ApiState, JsonBody, PathParams, QueryParams};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Deserializer, Serialize};
use std::net::{IpAddr, SocketAddr};
use utoipa::{IntoParams, ToSchema};
use zonecast_control::{Applied, Control, SerialPolicy, ZoneInfo, ZoneSettings};
use zonecast_proto::Name;
use zonecast_store::ZoneKind;

/// A zone as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct ZoneOut {
    /// The apex, absolute with a trailing dot.
    pub name: String,
    /// `primary` or `secondary`.
    pub kind: String,
    /// Current SOA serial.
    pub serial: u32,
    /// Number of records (one rdata each), the SOA included.
    pub record_count: usize,
    /// Serial policy, primaries, TSIG key, NOTIFY targets, transfer ACL.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Time of the last change, unix seconds.
    pub updated_at: i64,
    /// Whether the DNS listeners answer for it (a zone without apex NS is stored but not served).
    pub served: bool,
}

pub(crate) fn zone_out(c: &Control, info: ZoneInfo) -> ZoneOut {
    let served = c.zones().load().get(&info.name).is_some();
    ZoneOut {
        name: info.name.to_string(),
        kind: info.kind.as_str().to_string(),
        serial: info.serial,
        record_count: info.record_count,
        settings: serde_json::to_value(&info.settings).unwrap_or_default(),
        created_at: info.created_at,
        updated_at: info.updated_at,
        served,
    }
}

/// The result of a zone write.
#[derive(Serialize, ToSchema)]
pub struct AppliedOut {
    /// The zone.
    pub zone: String,
    /// Serial before.
    pub serial_from: u32,
    /// Serial after (equal to `serial_from` when nothing changed).
    pub serial_to: u32,
    /// Whether anything changed.
    pub changed: bool,
    /// Journal position of the change.
    pub seq: i64,
}

impl From<Applied> for AppliedOut {
    fn from(a: Applied) -> AppliedOut {
        AppliedOut {
            zone: a.zone.to_string(),
            serial_from: a.serial_from,
            serial_to: a.serial_to,
            changed: a.serial_from != a.serial_to,
            seq: a.seq,
        }
    }
}

/// A page of zones.
#[derive(Serialize, ToSchema)]
pub struct ZoneList {
    /// The zones, in canonical name order.
    pub zones: Vec<ZoneOut>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Zone list parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size, 1 to 1000 (default 100).
    limit: Option<usize>,
    /// Only zones after this name (the `next` of the previous page).
    after: Option<String>,
    /// Only zones whose name contains this text (case-insensitive).
    name: Option<String>,
}

/// `POST /v1/zones` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateZone {
    /// The apex (`example.com` or `example.com.`).
    name: String,
    /// `primary` (default) or `secondary`.
    kind: Option<String>,
    /// Initial contents of a primary zone; without it a default SOA is made.
    zonefile: Option<String>,
    /// `date` (default), `increment` or `unixtime`.
    #[schema(value_type = Option<String>)]
    serial_policy: Option<SerialPolicy>,
    /// Primaries of a secondary zone, `IP` or `IP:port`.
    primaries: Option<Vec<String>>,
    /// TSIG key for transfers.
    tsig_key: Option<String>,
    /// NOTIFY targets, `IP` or `IP:port`.
    notify: Option<Vec<String>>,
    /// Also NOTIFY the addresses of the zone's NS names (except the SOA MNAME).
    notify_ns: Option<bool>,
    /// Who may transfer the zone: `IP`, `IP/prefix` or `key:NAME`.
    allow_transfer: Option<Vec<String>>,
}

fn double_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `PATCH /v1/zones/{zone}` body: the settings to change; absent ones are kept.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchZone {
    /// `date`, `increment` or `unixtime`.
    #[schema(value_type = Option<String>)]
    serial_policy: Option<SerialPolicy>,
    /// Primaries of a secondary zone.
    primaries: Option<Vec<String>>,
    /// TSIG key for transfers; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    tsig_key: Option<Option<String>>,
    /// NOTIFY targets.
    notify: Option<Vec<String>>,
    /// Also NOTIFY the addresses of the zone's NS names.
    notify_ns: Option<bool>,
    /// Transfer ACL.
    allow_transfer: Option<Vec<String>>,
}

fn check_addr(field: &str, list: &[String]) -> Result<(), ApiError> {
    for (i, a) in list.iter().enumerate() {
        if a.parse::<SocketAddr>().is_err() && a.parse::<IpAddr>().is_err() {
            return Err(ApiError::invalid(
                format!("{field}[{i}]"),
                format!("'{a}' is not an IP address or IP:port"),
            ));
        }
    }
    Ok(())
}

/// Whether a TSIG key of this name (as stored, [`key_name`]) exists.
pub(crate) type KeyExists<'a> = &'a dyn Fn(&str) -> Result<bool, ApiError>;

fn check_key(keys: KeyExists<'_>, field: &str, name: &str) -> Result<(), ApiError> {
    if !keys(&key_name(name))? {
        return Err(ApiError::invalid(
            field,
            format!("no TSIG key named '{name}'"),
        ));
    }
    Ok(())
}

/// A TSIG key name as stored: lowercase, without the trailing dot.
pub(crate) fn key_name(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Checks settings against the node (addresses parse, keys exist).
fn check_settings(c: &Control, kind: ZoneKind, s: &ZoneSettings) -> Result<(), ApiError> {
    let keys = |name: &str| -> Result<bool, ApiError> { Ok(c.store().tsig_key(name)?.is_some()) };
    check_settings_with(&keys, kind, s)
}

/// Checks settings (addresses parse, the keys `keys` knows exist).
pub(crate) fn check_settings_with(
    keys: KeyExists<'_>,
    kind: ZoneKind,
    s: &ZoneSettings,
) -> Result<(), ApiError> {
    check_addr("primaries", &s.primaries)?;
    check_addr("notify", &s.notify)?;
    if kind == ZoneKind::Secondary && s.primaries.is_empty() {
        return Err(ApiError::invalid(
            "primaries",
            "a secondary zone needs at least one primary",
        ));
    }
    if kind == ZoneKind::Primary && !s.primaries.is_empty() {
        return Err(ApiError::invalid(
            "primaries",
            "primaries are only for secondary zones",
        ));
    }
    if let Some(k) = &s.tsig_key {
        check_key(keys, "tsig_key", k)?;
    }
    for (i, a) in s.allow_transfer.iter().enumerate() {
        let field = format!("allow_transfer[{i}]");
        if let Some(k) = a.strip_prefix("key:") {
            check_key(keys, &field, k)?;
            continue;
        }
        let ok = match a.split_once('/') {
            Some((ip, len)) => match (ip.parse::<IpAddr>(), len.parse::<u8>()) {
                (Ok(IpAddr::V4(_)), Ok(l)) => l <= 32,
                (Ok(IpAddr::V6(_)), Ok(l)) => l <= 128,
                _ => false,
            },
            None => a.parse::<IpAddr>().is_ok(),
        };
        if !ok {
            return Err(ApiError::invalid(
                field,
                format!("'{a}' is not an IP address, a prefix (IP/len) or key:NAME"),
            ));
        }
    }
    Ok(())
}

/// Key names as stored (in `tsig_key` and `key:` entries of `allow_transfer`).
pub(crate) fn normalize_settings(mut s: ZoneSettings) -> ZoneSettings {
    s.tsig_key = s.tsig_key.map(|k| key_name(&k));
    s.allow_transfer = s
        .allow_transfer
        .into_iter()
        .map(|a| match a.strip_prefix("key:") {
            Some(k) => format!("key:{}", key_name(k)),
            None => a,
        })
        .collect();
    s
}

/// List zones, paged.
#[utoipa::path(get, path = "/v1/zones", params(ListParams), tag = "zones",
    responses((status = 200, body = ZoneList)), security(("bearer" = [])))]
pub async fn list_zones(
    State(state): State<ApiState>,
    who: Principal,
    QueryParams(p): QueryParams<ListParams>,
) -> Result<Json<ZoneList>, ApiError> {
    who.require("zones:read")?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "limit must be between 1 and 1000",
        ));
    }
    let after = p.after.as_deref().map(parse_zone_name).transpose()?;
    let filter = p.name.map(|n| n.trim_end_matches('.').to_ascii_lowercase());
    state
        .blocking(move |c| {
            let mut all: Vec<ZoneInfo> = c
                .list_zones()?
                .into_iter()
                .filter(|z| who.allows_zone(&z.name))
                .filter(|z| after.as_ref().is_none_or(|a| z.name > *a))
                .filter(|z| {
                    filter.as_ref().is_none_or(|f| {
                        z.name.to_string().to_ascii_lowercase().contains(f.as_str())
                    })
                })
                .collect();
            all.sort_by(|a, b| a.name.cmp(&b.name));
            let more = all.len() > limit;
            all.truncate(limit);
            let next = if more {
                all.last().map(|z| z.name.to_string())
            } else {
                None
            };
            let zones = all.into_iter().map(|z| zone_out(c, z)).collect();
            Ok(Json(ZoneList { zones, next }))
        })
        .await
}

/// Create a zone.
#[utoipa::path(post, path = "/v1/zones", request_body = CreateZone, tag = "zones",
    responses((status = 201, body = ZoneOut), (status = 409, description = "zone exists"),
              (status = 422, description = "invalid")), security(("bearer" = [])))]
pub async fn create_zone(
    State(state): State<ApiState>,
    who: Principal,
    JsonBody(body): JsonBody<CreateZone>,
) -> Result<Response, ApiError> {
    let name = parse_zone_name(&body.name).map_err(|e| e.field("name"))?;
    who.require_zone("zones:write", &name)?;
    let NewZone {
        name,
        kind,
        settings,
        zonefile,
    } = new_zone(body)?;
    let out = state
        .blocking(move |c| {
            check_settings(c, kind, &settings)?;
            let records = match zonefile {
                Some(text) => {
                    let data = zonecast_zonefile::load_str(&text, &name, "zonefile")
                        .map_err(|e| ApiError::invalid("zonefile", e.to_string()))?;
                    // Size limits checked here, so a refusal names the zone file's line.
                    Some(c.zone_file_records(data, "zonefile", "api")?)
                }
                None => None,
            };
            let info = c.create_zone(&name, kind, settings, records)?;
            Ok(zone_out(c, info))
        })
        .await?;
    state.count_change();
    state.zone_changed(&out.name);
    let loc = format!("/v1/zones/{}", out.name);
    let mut resp = (StatusCode::CREATED, Json(out)).into_response();
    if let Ok(v) = HeaderValue::from_str(&loc) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// A `POST /v1/zones` body, validated as far as it can be without the store.
pub(crate) struct NewZone {
    /// The apex.
    pub name: Name,
    /// Primary or secondary.
    pub kind: ZoneKind,
    /// Settings, key names normalised (not yet checked: [`check_settings_with`]).
    pub settings: ZoneSettings,
    /// The zone file text, for a primary.
    pub zonefile: Option<String>,
}

/// Validates a `POST /v1/zones` body (all but what needs the store).
pub(crate) fn new_zone(body: CreateZone) -> Result<NewZone, ApiError> {
    let name = parse_zone_name(&body.name).map_err(|e| e.field("name"))?;
    let kind = match body.kind.as_deref() {
        None => ZoneKind::Primary,
        Some(k) => k
            .parse::<ZoneKind>()
            .map_err(|e| ApiError::invalid("kind", e.to_string()))?,
    };
    let settings = normalize_settings(ZoneSettings {
        serial_policy: body.serial_policy.unwrap_or_default(),
        primaries: body.primaries.unwrap_or_default(),
        tsig_key: body.tsig_key,
        notify: body.notify.unwrap_or_default(),
        notify_ns: body.notify_ns.unwrap_or(false),
        allow_transfer: body.allow_transfer.unwrap_or_default(),
    });
    if kind == ZoneKind::Secondary && body.zonefile.is_some() {
        return Err(ApiError::invalid(
            "zonefile",
            "a secondary zone gets its contents from its primaries",
        ));
    }
    let zonefile = body.zonefile;
    Ok(NewZone {
        name,
        kind,
        settings,
        zonefile,
    })
}

fn with_etag(serial: u32, resp: impl IntoResponse) -> Response {
    let mut resp = resp.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{serial}\"")) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// Read a zone (`ETag` is the serial in quotes).
#[utoipa::path(get, path = "/v1/zones/{zone}", tag = "zones",
    params(("zone" = String, Path, description = "zone name")),
    responses((status = 200, body = ZoneOut), (status = 404)), security(("bearer" = [])))]
pub async fn get_zone(
    State(state): State<ApiState>,
    who: Principal,
    PathParams(zone): PathParams<String>,
) -> Result<Response, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("zones:read", &zone)?;
    let out = state
        .blocking(move |c| Ok(zone_out(c, c.zone_info(&zone)?)))
        .await?;
    Ok(with_etag(out.serial, Json(out)))
}

/// Change a zone's settings.
#[utoipa::path(patch, path = "/v1/zones/{zone}", request_body = PatchZone, tag = "zones",
    params(("zone" = String, Path, description = "zone name")),
    responses((status = 200, body = ZoneOut), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn patch_zone(
    State(state): State<ApiState>,
    who: Principal,
    PathParams(zone): PathParams<String>,
    JsonBody(body): JsonBody<PatchZone>,
) -> Result<Json<ZoneOut>, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("zones:write", &zone)?;
    let out = state
        .blocking(move |c| {
            let info = c.zone_info(&zone)?;
            let s = patched_settings(info.settings, body);
            check_settings(c, info.kind, &s)?;
            let info = c.update_settings(&zone, s)?;
            Ok(zone_out(c, info))
        })
        .await?;
    state.zone_changed(&out.name);
    Ok(Json(out))
}

/// The settings `s` changed by a `PATCH /v1/zones/{zone}` body, key names normalised.
pub(crate) fn patched_settings(mut s: ZoneSettings, body: PatchZone) -> ZoneSettings {
    if let Some(p) = body.serial_policy {
        s.serial_policy = p;
    }
    if let Some(p) = body.primaries {
        s.primaries = p;
    }
    if let Some(k) = body.tsig_key {
        s.tsig_key = k;
    }
    if let Some(n) = body.notify {
        s.notify = n;
    }
    if let Some(n) = body.notify_ns {
        s.notify_ns = n;
    }
    if let Some(a) = body.allow_transfer {
        s.allow_transfer = a;
    }
    normalize_settings(s)
}

/// Delete a zone with its records and journal.
#[utoipa::path(delete, path = "/v1/zones/{zone}", tag = "zones",
    params(("zone" = String, Path, description = "zone name")),
    responses((status = 204), (status = 404)), security(("bearer" = [])))]
pub async fn delete_zone(
    State(state): State<ApiState>,
    who: Principal,
    PathParams(zone): PathParams<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("zones:write", &zone)?;
    let cond = if_match(&headers)?;
    let z = zone.clone();
    state
        .blocking(move |c| Ok(c.delete_zone(&z, cond)?))
        .await?;
    state.count_change();
    state.zone_changed(&zone.to_string());
    Ok(StatusCode::NO_CONTENT)
}

/// The 412 answer of a conditional write whose zone is at another serial.
pub(crate) fn serial_mismatch(serial: u32, want: u32) -> ApiError {
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "serial_mismatch",
        format!("the zone's serial is {serial}, not {want} as If-Match requires"),
    )
    .field("If-Match")
}

/// Export the zone file.
#[utoipa::path(get, path = "/v1/zones/{zone}/zonefile", tag = "zones",
    params(("zone" = String, Path, description = "zone name")),
    responses((status = 200, content_type = "text/plain", body = String)), security(("bearer" = [])))]
pub async fn get_zonefile(
    State(state): State<ApiState>,
    who: Principal,
    PathParams(zone): PathParams<String>,
) -> Result<Response, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("records:read", &zone)?;
    let (text, serial) = state
        .blocking(move |c| Ok((c.export_zone(&zone)?, c.zone_info(&zone)?.serial)))
        .await?;
    Ok(with_etag(
        serial,
        ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
/// `PUT /v1/zones/{zone}/zonefile` JSON body (a `text/plain` body is the zone file itself).
pub struct ZonefileBody {
    /// The whole zone file.
    pub(crate) zonefile: String,
}

/// Replace the whole zone from a zone file, atomically.
#[utoipa::path(put, path = "/v1/zones/{zone}/zonefile", tag = "zones",
    params(("zone" = String, Path, description = "zone name")),
    request_body(content = ZonefileBody, description = "JSON, or the zone file as text/plain"),
    responses((status = 200, body = AppliedOut), (status = 412), (status = 422)), security(("bearer" = [])))]
pub async fn put_zonefile(
    State(state): State<ApiState>,
    who: Principal,
    PathParams(zone): PathParams<String>,
    req: Request,
) -> Result<Json<AppliedOut>, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("records:write", &zone)?;
    let cond = if_match(req.headers())?;
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let bytes = crate::body_bytes(req, &state).await?;
    let text = if is_json {
        crate::parse_json::<ZonefileBody>(&bytes)?.zonefile
    } else {
        String::from_utf8(bytes.to_vec())
            .map_err(|_| ApiError::bad_request("the zone file is not UTF-8").field("zonefile"))?
    };
    let applied = state
        .blocking(move |c| Ok(c.replace_zone_text(&zone, &text, cond)?))
        .await?;
    if applied.serial_from != applied.serial_to {
        state.count_change();
    }
    Ok(Json(applied.into()))
}

/// Zone status.
#[derive(Serialize, ToSchema)]
pub struct StatusOut {
    /// The zone.
    pub zone: String,
    /// `primary` or `secondary`.
    pub kind: String,
    /// Stored serial.
    pub serial: u32,
    /// Serial the DNS listeners of this node answer with (absent when not served).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_serial: Option<u32>,
    /// Number of records.
    pub record_count: usize,
    /// Time of the last change, unix seconds.
    pub last_change: i64,
    /// Edges and their serials (none on a node without edges).
    pub edges: Vec<serde_json::Value>,
    /// Fields of the node's other services: `notify` (the last NOTIFY out
    /// and each target's outcome) when one was sent.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Zone status: serial, record count, last change.
#[utoipa::path(get, path = "/v1/zones/{zone}/status", tag = "zones",
    params(("zone" = String, Path, description = "zone name")),
    responses((status = 200, body = StatusOut)), security(("bearer" = [])))]
pub async fn zone_status(
    State(state): State<ApiState>,
    who: Principal,
    PathParams(zone): PathParams<String>,
) -> Result<Json<StatusOut>, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("zones:read", &zone)?;
    let extra = state
        .extras()
        .map(|x| x.zone_status(&zone))
        .unwrap_or_default();
    state
        .blocking(move |c| {
            let info = c.zone_info(&zone)?;
            let served_serial = c.zones().load().get(&zone).map(|z| z.serial());
            let key = info.name.to_string();
            let edges = c
                .store()
                .edges()
                .unwrap_or_default()
                .into_iter()
                .map(|e| {
                    serde_json::json!({
                        "name": e.name,
                        "served_serial": e.serials.get(&key),
                        "ready": e.ready,
                        "last_seen": e.seen_at.div_euclid(1000),
                    })
                })
                .collect();
            Ok(Json(StatusOut {
                zone: info.name.to_string(),
                kind: info.kind.as_str().to_string(),
                serial: info.serial,
                served_serial,
                record_count: info.record_count,
                last_change: info.updated_at,
                edges,
                extra,
            }))
        })
        .await
}

/// What a manual control of a secondary zone answers.
#[derive(Serialize, ToSchema)]
pub struct ActionOut {
    /// The zone.
    pub zone: String,
    /// `refresh` or `retransfer`.
    pub action: String,
    /// Always true: the check runs in the background; follow it in the zone status.
    pub queued: bool,
}

/// Check a secondary zone's primaries now (SOA query, transfer when newer).
#[utoipa::path(post, path = "/v1/zones/{zone}/refresh", tag = "zones",
    params(("zone" = String, Path, description = "zone name")),
    responses((status = 202, body = ActionOut), (status = 404), (status = 409, description = "not a secondary zone")),
    security(("bearer" = [])))]
pub async fn refresh_zone(
    State(state): State<ApiState>,
    who: Principal,
    PathParams(zone): PathParams<String>,
) -> Result<Response, ApiError> {
    secondary_action(state, who, zone, crate::SecondaryAction::Refresh).await
}

/// Take a full AXFR of a secondary zone now, whatever the serials.
#[utoipa::path(post, path = "/v1/zones/{zone}/retransfer", tag = "zones",
    params(("zone" = String, Path, description = "zone name")),
    responses((status = 202, body = ActionOut), (status = 404), (status = 409, description = "not a secondary zone")),
    security(("bearer" = [])))]
pub async fn retransfer_zone(
    State(state): State<ApiState>,
    who: Principal,
    PathParams(zone): PathParams<String>,
) -> Result<Response, ApiError> {
    secondary_action(state, who, zone, crate::SecondaryAction::Retransfer).await
}

async fn secondary_action(
    state: ApiState,
    who: Principal,
    zone: String,
    action: crate::SecondaryAction,
) -> Result<Response, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("zones:write", &zone)?;
    let z = zone.clone();
    let info = state.blocking(move |c| Ok(c.zone_info(&z)?)).await?;
    if info.kind != ZoneKind::Secondary {
        return Err(ApiError::conflict(format!(
            "zone {} is a primary zone; refresh and retransfer apply to secondary zones",
            info.name
        )));
    }
    let extras = state
        .extras()
        .cloned()
        .ok_or_else(|| ApiError::conflict("this node does not refresh secondary zones"))?;
    let name = info.name.clone();
    tokio::task::spawn_blocking(move || extras.secondary_action(&name, action))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(ApiError::conflict)?;
    let out = ActionOut {
        zone: info.name.to_string(),
        action: match action {
            crate::SecondaryAction::Refresh => "refresh",
            crate::SecondaryAction::Retransfer => "retransfer",
        }
        .into(),
        queued: true,
    };
    Ok((StatusCode::ACCEPTED, Json(out)).into_response())
}

/// Edges following the store, with what each last reported (empty on an embedded node).
///
/// `lag_ms` and `serials` are as the edge wrote them at `last_seen` (unix
/// seconds); `last_seen_ms_ago` tells how old that report is, so an edge
/// that stopped reporting stands out. `dns` lists the `ADDR:PORT` the edge
/// answers DNS on (its `--dns-listen`; empty for an edge that did not report it).
#[utoipa::path(get, path = "/v1/edges", tag = "zones",
    responses((status = 200, body = Vec<Object>)), security(("bearer" = [])))]
pub async fn edges(
    State(state): State<ApiState>,
    who: Principal,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    who.require("zones:read")?;
    state
        .blocking(|c| {
            let rows = match c.store().edges() {
                Ok(rows) => rows,
                Err(zonecast_store::StoreError::NotCluster { .. }) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            let now = crate::auth::now() * 1000;
            Ok(Json(
                rows.into_iter()
                    .map(|e| {
                        serde_json::json!({
                            "name": e.name,
                            "applied_lsn": e.applied_lsn,
                            "lag_ms": e.lag_ms,
                            "ready": e.ready,
                            "serials": e.serials,
                            "problems": e.problems,
                            "last_seen": e.seen_at.div_euclid(1000),
                            "last_seen_ms_ago": (now - e.seen_at).max(0),
                            "started_at": e.started_at.div_euclid(1000),
                            "dns": e.dns,
                        })
                    })
                    .collect(),
            ))
        })
        .await
}
