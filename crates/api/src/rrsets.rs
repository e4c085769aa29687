//! RRsets and records (one rdata each, with ids).

use crate::auth::Principal;
use crate::error::{edit_error, ApiError};
use crate::zones::AppliedOut;
use crate::{if_match, parse_zone_name, ApiState, JsonBody, PathParams, QueryParams};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use zonecast_control::{Applied, Control, Edit, RrsetView};
use zonecast_proto::rdata::format_presentation;
use zonecast_proto::{Class, Name, Record, Rtype};

/// Largest TTL accepted (RFC 2181 §8).
pub const MAX_TTL: u32 = 0x7fff_ffff;
/// TTL of a record created without one when its RRset does not exist yet.
pub const DEFAULT_TTL: u32 = 3600;

/// One RRset.
#[derive(Serialize, ToSchema)]
pub struct RrsetOut {
    /// Owner, absolute with a trailing dot.
    pub name: String,
    /// Type mnemonic (`TYPEnnn` for unknown types).
    #[serde(rename = "type")]
    pub rtype: String,
    /// TTL.
    pub ttl: u32,
    /// Rdatas in presentation form.
    pub records: Vec<String>,
}

/// One record with its id.
#[derive(Serialize, ToSchema)]
pub struct RecordOut {
    /// Stable id (kept until the record is deleted or its content changes).
    pub id: i64,
    /// Owner, absolute with a trailing dot.
    pub name: String,
    /// Type mnemonic.
    #[serde(rename = "type")]
    pub rtype: String,
    /// Rdata in presentation form.
    pub content: String,
    /// TTL.
    pub ttl: u32,
    /// In answers to a write: the zone's serial before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_from: Option<u32>,
    /// In answers to a write: the zone's serial after it (equal when nothing changed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_to: Option<u32>,
}

fn record_out(id: i64, r: &Record) -> RecordOut {
    RecordOut {
        id,
        name: r.owner.to_string(),
        rtype: r.rtype.to_string(),
        content: format_presentation(r.rtype, &r.rdata),
        ttl: r.ttl,
        serial_from: None,
        serial_to: None,
    }
}

/// A record as a write answers it: with the serial change.
fn written(mut out: RecordOut, applied: &Applied) -> RecordOut {
    out.serial_from = Some(applied.serial_from);
    out.serial_to = Some(applied.serial_to);
    out
}

/// Filters of RRset and record lists.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// Owner name (relative to the zone, absolute with a trailing dot, or `@`).
    name: Option<String>,
    /// Type mnemonic.
    #[serde(rename = "type")]
    rtype: Option<String>,
}

/// `PUT /v1/zones/{zone}/rrsets/{name}/{type}` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RrsetBody {
    /// TTL of the RRset (required unless `records` is empty).
    ttl: Option<u32>,
    /// Rdatas in presentation form; empty deletes the RRset.
    records: Vec<String>,
}

/// One element of `PATCH /v1/zones/{zone}/rrsets`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RrsetChange {
    /// Owner name.
    name: String,
    /// Type mnemonic.
    #[serde(rename = "type")]
    rtype: String,
    /// TTL (required unless `records` is empty or absent).
    ttl: Option<u32>,
    /// The new rdatas; absent or empty deletes the RRset.
    records: Option<Vec<String>>,
}

/// `PATCH /v1/zones/{zone}/rrsets` body: a list of changes, or `{"changes": [...]}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RrsetPatch {
    /// The changes, applied as one transaction.
    changes: Vec<RrsetChange>,
}

/// `POST /v1/zones/{zone}/records` and `PUT .../records/{id}` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    /// Owner name.
    name: String,
    /// Type mnemonic.
    #[serde(rename = "type")]
    rtype: String,
    /// Rdata in presentation form.
    content: String,
    /// TTL; default: the RRset's, else 3600. The RRset takes this TTL.
    ttl: Option<u32>,
}

/// Parses an owner name relative to `zone`; it must lie inside the zone.
pub(crate) fn parse_owner(text: &str, zone: &Name, field: &str) -> Result<Name, ApiError> {
    let name = Name::from_presentation(text.trim(), Some(zone)).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_name",
            format!("invalid name '{text}': {e}"),
        )
        .field(field)
    })?;
    if !name.is_subdomain_of(zone) {
        return Err(ApiError::invalid(
            field,
            format!("{name} is not inside the zone {zone}"),
        ));
    }
    Ok(name.to_lowercase())
}

pub(crate) fn parse_type(text: &str, field: &str) -> Result<Rtype, ApiError> {
    let t = Rtype::from_text(text.trim()).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_type",
            format!("unknown record type '{text}': {e}"),
        )
        .field(field)
    })?;
    if t.is_meta() || t == Rtype::OPT {
        return Err(ApiError::invalid(
            field,
            format!("{t} is not a type that can be stored"),
        ));
    }
    Ok(t)
}

fn parse_ttl(ttl: Option<u32>, field: &str) -> Result<u32, ApiError> {
    match ttl {
        None => Err(ApiError::invalid(field, "ttl is required")),
        Some(t) if t > MAX_TTL => Err(ApiError::invalid(
            field,
            format!("ttl {t} is above the maximum {MAX_TTL}"),
        )),
        Some(t) => Ok(t),
    }
}

fn parse_rdatas(
    rtype: Rtype,
    texts: &[String],
    zone: &Name,
    field: &str,
) -> Result<Vec<Vec<u8>>, ApiError> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            zonecast_zonefile::parse_rdata(rtype, t, zone).map_err(|e| {
                ApiError::invalid(format!("{field}[{i}]"), format!("{rtype} rdata '{t}': {e}"))
            })
        })
        .collect()
}

/// Applies `edits`; with `cond`, a different current serial is 412 and nothing is applied.
fn apply(
    c: &Control,
    zone: &Name,
    edits: Vec<Edit>,
    cond: Option<u32>,
    list: &str,
) -> Result<Applied, ApiError> {
    c.apply(zone, edits, cond).map_err(|e| edit_error(e, list))
}

fn rrset_out(v: &RrsetView) -> RrsetOut {
    RrsetOut {
        name: v.owner.to_string(),
        rtype: v.rtype.to_string(),
        ttl: v.ttl,
        records: v
            .rdatas
            .iter()
            .map(|rd| format_presentation(v.rtype, rd))
            .collect(),
    }
}

fn parse_filter(f: &Filter, zone: &Name) -> Result<(Option<Name>, Option<Rtype>), ApiError> {
    let name = f
        .name
        .as_deref()
        .map(|n| parse_owner(n, zone, "name"))
        .transpose()?;
    let rtype = f
        .rtype
        .as_deref()
        .map(|t| parse_type(t, "type"))
        .transpose()?;
    Ok((name, rtype))
}

/// List RRsets, optionally filtered by name and type.
#[utoipa::path(get, path = "/v1/zones/{zone}/rrsets", tag = "rrsets", params(("zone" = String, Path), Filter),
    responses((status = 200, body = Vec<RrsetOut>)), security(("bearer" = [])))]
pub async fn list_rrsets(
    State(state): State<ApiState>,
    who: Principal,
    PathParams(zone): PathParams<String>,
    QueryParams(f): QueryParams<Filter>,
) -> Result<Json<Vec<RrsetOut>>, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("records:read", &zone)?;
    let (name, rtype) = parse_filter(&f, &zone)?;
    state
        .blocking(move |c| {
            let sets = c.rrsets(&zone, name.as_ref(), rtype)?;
            Ok(Json(sets.iter().map(rrset_out).collect()))
        })
        .await
}

/// Read one RRset.
#[utoipa::path(get, path = "/v1/zones/{zone}/rrsets/{name}/{type}", tag = "rrsets",
    params(("zone" = String, Path), ("name" = String, Path), ("type" = String, Path)),
    responses((status = 200, body = RrsetOut), (status = 404)), security(("bearer" = [])))]
pub async fn get_rrset(
    State(state): State<ApiState>,
    who: Principal,
    PathParams((zone, name, rtype)): PathParams<(String, String, String)>,
) -> Result<Json<RrsetOut>, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("records:read", &zone)?;
    let owner = parse_owner(&name, &zone, "name")?;
    let rtype = parse_type(&rtype, "type")?;
    state
        .blocking(move |c| {
            c.rrsets(&zone, Some(&owner), Some(rtype))?
                .first()
                .map(|v| Json(rrset_out(v)))
                .ok_or_else(|| ApiError::not_found(format!("no {rtype} RRset at {owner}")))
        })
        .await
}

/// Replace one RRset (an empty `records` deletes it).
#[utoipa::path(put, path = "/v1/zones/{zone}/rrsets/{name}/{type}", tag = "rrsets", request_body = RrsetBody,
    params(("zone" = String, Path), ("name" = String, Path), ("type" = String, Path)),
    responses((status = 200, body = AppliedOut), (status = 412), (status = 422)), security(("bearer" = [])))]
pub async fn put_rrset(
    State(state): State<ApiState>,
    who: Principal,
    PathParams((zone, name, rtype)): PathParams<(String, String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RrsetBody>,
) -> Result<Json<AppliedOut>, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("records:write", &zone)?;
    let cond = if_match(&headers)?;
    let edit = rrset_edit(&zone, &name, &rtype, &body)?;
    write(&state, zone, vec![edit], cond, "edits").await
}

/// The edit of `PUT .../rrsets/{name}/{type}` with this body, validated.
pub(crate) fn rrset_edit(
    zone: &Name,
    name: &str,
    rtype: &str,
    body: &RrsetBody,
) -> Result<Edit, ApiError> {
    let owner = parse_owner(name, zone, "name")?;
    let rtype = parse_type(rtype, "type")?;
    let ttl = if body.records.is_empty() {
        body.ttl.unwrap_or(0).min(MAX_TTL)
    } else {
        parse_ttl(body.ttl, "ttl")?
    };
    let rdatas = parse_rdatas(rtype, &body.records, zone, "records")?;
    Ok(Edit::ReplaceRrset {
        owner,
        rtype,
        ttl,
        rdatas,
    })
}

async fn write(
    state: &ApiState,
    zone: Name,
    edits: Vec<Edit>,
    cond: Option<u32>,
    list: &'static str,
) -> Result<Json<AppliedOut>, ApiError> {
    let applied = state
        .blocking(move |c| apply(c, &zone, edits, cond, list))
        .await?;
    if applied.serial_from != applied.serial_to {
        state.count_change();
    }
    Ok(Json(applied.into()))
}

/// Delete one RRset.
#[utoipa::path(delete, path = "/v1/zones/{zone}/rrsets/{name}/{type}", tag = "rrsets",
    params(("zone" = String, Path), ("name" = String, Path), ("type" = String, Path)),
    responses((status = 200, body = AppliedOut), (status = 404)), security(("bearer" = [])))]
pub async fn delete_rrset(
    State(state): State<ApiState>,
    who: Principal,
    PathParams((zone, name, rtype)): PathParams<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Json<AppliedOut>, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("records:write", &zone)?;
    let cond = if_match(&headers)?;
    let owner = parse_owner(&name, &zone, "name")?;
    let rtype = parse_type(&rtype, "type")?;
    let applied = state
        .blocking(move |c| {
            // DeleteRrset is "not found" under the zone's lock when there is nothing to delete.
            apply(
                c,
                &zone,
                vec![Edit::DeleteRrset { owner, rtype }],
                cond,
                "edits",
            )
        })
        .await?;
    state.count_change();
    Ok(Json(applied.into()))
}

/// Apply a list of RRset changes as one transaction (one serial bump).
#[utoipa::path(patch, path = "/v1/zones/{zone}/rrsets", tag = "rrsets", request_body = RrsetPatch,
    params(("zone" = String, Path)),
    responses((status = 200, body = AppliedOut), (status = 412), (status = 422)), security(("bearer" = [])))]
pub async fn patch_rrsets(
    State(state): State<ApiState>,
    who: Principal,
    PathParams(zone): PathParams<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<Json<AppliedOut>, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("records:write", &zone)?;
    let cond = if_match(&headers)?;
    let edits = patch_edits(&zone, &body)?;
    write(&state, zone, edits, cond, "changes").await
}

/// The edits of a `PATCH .../rrsets` body (a list of changes or `{"changes": [...]}`), validated.
pub(crate) fn patch_edits(zone: &Name, body: &serde_json::Value) -> Result<Vec<Edit>, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let changes: Vec<RrsetChange> = if body.is_array() {
        crate::parse_json(&bytes)?
    } else {
        crate::parse_json::<RrsetPatch>(&bytes)?.changes
    };
    if changes.is_empty() {
        return Err(ApiError::invalid("changes", "the list of changes is empty"));
    }
    let mut edits = Vec::with_capacity(changes.len());
    for (i, ch) in changes.iter().enumerate() {
        let p = format!("changes[{i}]");
        let owner = parse_owner(&ch.name, zone, &format!("{p}.name"))?;
        let rtype = parse_type(&ch.rtype, &format!("{p}.type"))?;
        let texts = ch.records.as_deref().unwrap_or_default();
        let edit = if texts.is_empty() {
            Edit::DeleteRrset { owner, rtype }
        } else {
            Edit::ReplaceRrset {
                owner,
                rtype,
                ttl: parse_ttl(ch.ttl, &format!("{p}.ttl"))?,
                rdatas: parse_rdatas(rtype, texts, zone, &format!("{p}.records"))?,
            }
        };
        edits.push(edit);
    }
    Ok(edits)
}

/// List records with their ids.
#[utoipa::path(get, path = "/v1/zones/{zone}/records", tag = "records", params(("zone" = String, Path), Filter),
    responses((status = 200, body = Vec<RecordOut>)), security(("bearer" = [])))]
pub async fn list_records(
    State(state): State<ApiState>,
    who: Principal,
    PathParams(zone): PathParams<String>,
    QueryParams(f): QueryParams<Filter>,
) -> Result<Json<Vec<RecordOut>>, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("records:read", &zone)?;
    let (name, rtype) = parse_filter(&f, &zone)?;
    state
        .blocking(move |c| {
            let recs = c.records(&zone, name.as_ref(), rtype)?;
            Ok(Json(
                recs.iter().map(|(id, r)| record_out(*id, r)).collect(),
            ))
        })
        .await
}

/// The record of a `POST .../records` or `PUT .../records/{id}` body, validated, and the TTL it gave.
pub(crate) fn parse_record(
    body: &RecordBody,
    zone: &Name,
) -> Result<(Record, Option<u32>), ApiError> {
    let owner = parse_owner(&body.name, zone, "name")?;
    let rtype = parse_type(&body.rtype, "type")?;
    if let Some(t) = body.ttl {
        parse_ttl(Some(t), "ttl")?;
    }
    let rdata = zonecast_zonefile::parse_rdata(rtype, &body.content, zone).map_err(|e| {
        ApiError::invalid("content", format!("{rtype} rdata '{}': {e}", body.content))
    })?;
    Ok((
        Record {
            owner,
            rtype,
            class: Class::IN,
            ttl: body.ttl.unwrap_or(DEFAULT_TTL),
            rdata: rdata.into(),
        },
        body.ttl,
    ))
}

fn find_id(c: &Control, zone: &Name, rec: &Record) -> Result<RecordOut, ApiError> {
    let id = c
        .record_id(zone, rec)?
        .ok_or_else(|| ApiError::internal("the record written is not in the zone"))?;
    Ok(record_out(id, &c.record(zone, id)?))
}

/// Add one record (the RRset takes its TTL).
#[utoipa::path(post, path = "/v1/zones/{zone}/records", tag = "records", request_body = RecordBody,
    params(("zone" = String, Path)),
    responses((status = 201, body = RecordOut), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn create_record(
    State(state): State<ApiState>,
    who: Principal,
    PathParams(zone): PathParams<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RecordBody>,
) -> Result<(StatusCode, Json<RecordOut>), ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("records:write", &zone)?;
    let cond = if_match(&headers)?;
    let (rec, ttl) = parse_record(&body, &zone)?;
    let out = state
        .blocking(move |c| {
            // Without a TTL the record takes its RRset's, read under the zone's lock.
            let edit = match ttl {
                Some(_) => Edit::AddRecord(rec.clone()),
                None => Edit::AddRecordKeepTtl(rec.clone()),
            };
            let applied = apply(c, &zone, vec![edit], cond, "edits")?;
            for id in applied.added_ids.iter().rev() {
                if let Ok(r) = c.record(&zone, *id) {
                    if r.same_data(&rec) {
                        return Ok(written(record_out(*id, &r), &applied));
                    }
                }
            }
            Ok(written(find_id(c, &zone, &rec)?, &applied))
        })
        .await?;
    state.count_change();
    Ok((StatusCode::CREATED, Json(out)))
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .map_err(|_| ApiError::bad_request(format!("record id '{id}' is not a number")).field("id"))
}

/// Read one record.
#[utoipa::path(get, path = "/v1/zones/{zone}/records/{id}", tag = "records",
    params(("zone" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = RecordOut), (status = 404)), security(("bearer" = [])))]
pub async fn get_record(
    State(state): State<ApiState>,
    who: Principal,
    PathParams((zone, id)): PathParams<(String, String)>,
) -> Result<Json<RecordOut>, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("records:read", &zone)?;
    let id = parse_id(&id)?;
    state
        .blocking(move |c| Ok(Json(record_out(id, &c.record(&zone, id)?))))
        .await
}

/// Replace one record (its id changes when its content does).
#[utoipa::path(put, path = "/v1/zones/{zone}/records/{id}", tag = "records", request_body = RecordBody,
    params(("zone" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = RecordOut), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn put_record(
    State(state): State<ApiState>,
    who: Principal,
    PathParams((zone, id)): PathParams<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RecordBody>,
) -> Result<Json<RecordOut>, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("records:write", &zone)?;
    let id = parse_id(&id)?;
    let cond = if_match(&headers)?;
    let (mut rec, ttl) = parse_record(&body, &zone)?;
    let out = state
        .blocking(move |c| {
            let old = c.record(&zone, id)?;
            if old.rtype == Rtype::SOA || rec.rtype == Rtype::SOA {
                return Err(ApiError::invalid(
                    "type",
                    "the SOA is changed through the zone file",
                ));
            }
            // Delete the old record and add the new one in one change, both
            // checked under the zone's lock: records added to the RRset
            // meanwhile are kept, and an old record deleted meanwhile is 404.
            let same_set = old.owner == rec.owner && old.rtype == rec.rtype;
            if ttl.is_none() && same_set {
                rec.ttl = old.ttl;
            }
            let add = match ttl {
                Some(_) => Edit::AddRecord(rec.clone()),
                None => Edit::AddRecordKeepTtl(rec.clone()),
            };
            let edits = if old.same_data(&rec) {
                vec![Edit::DeleteRecord(old), Edit::AddRecord(rec.clone())]
            } else {
                vec![Edit::DeleteRecord(old), add]
            };
            let applied = apply(c, &zone, edits, cond, "edits").map_err(|e| {
                if e.status == StatusCode::CONFLICT {
                    ApiError::conflict("a record with this content already exists")
                } else {
                    e
                }
            })?;
            Ok(written(find_id(c, &zone, &rec)?, &applied))
        })
        .await?;
    state.count_change();
    Ok(Json(out))
}

/// Delete one record.
#[utoipa::path(delete, path = "/v1/zones/{zone}/records/{id}", tag = "records",
    params(("zone" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = AppliedOut), (status = 404)), security(("bearer" = [])))]
pub async fn delete_record(
    State(state): State<ApiState>,
    who: Principal,
    PathParams((zone, id)): PathParams<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<AppliedOut>, ApiError> {
    let zone = parse_zone_name(&zone)?;
    who.require_zone("records:write", &zone)?;
    let id = parse_id(&id)?;
    let cond = if_match(&headers)?;
    let applied = state
        .blocking(move |c| {
            let rec = c.record(&zone, id)?;
            apply(c, &zone, vec![Edit::DeleteRecord(rec)], cond, "edits")
        })
        .await?;
    state.count_change();
    Ok(Json(applied.into()))
}
