//! TSIG keys and API keys.

use crate::auth::{generate_token, hash_token, now, Principal, SCOPES};
use crate::error::ApiError;
use crate::zones::key_name;
use crate::{parse_zone_name, ApiState, JsonBody, PathParams};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zonecast_proto::Name;
use zonecast_store::{ApiKeyRow, StoreError, TsigKeyRow};

/// TSIG algorithms accepted (RFC 8945 §6), with the secret size generated for each (the digest size).
///
/// HMAC-MD5 (RFC 8945 §6: "deprecated") is never a default: only a key
/// created with `"algorithm": "hmac-md5"` uses it, for old peers.
pub const TSIG_ALGORITHMS: [(&str, usize); 6] = [
    ("hmac-sha256", 32),
    ("hmac-sha1", 20),
    ("hmac-sha224", 28),
    ("hmac-sha384", 48),
    ("hmac-sha512", 64),
    ("hmac-md5", 16),
];

/// `POST /v1/tsig-keys` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTsig {
    /// Key name (a domain name, e.g. `transfer-key`).
    name: String,
    /// `hmac-sha256` (default), `hmac-sha1`, `hmac-sha224`, `hmac-sha384`, `hmac-sha512`.
    algorithm: Option<String>,
    /// The secret in base64; generated when absent.
    secret: Option<String>,
}

/// A TSIG key; `secret` only in the create response.
#[derive(Serialize, ToSchema)]
pub struct TsigOut {
    /// Key name.
    pub name: String,
    /// Algorithm.
    pub algorithm: String,
    /// Secret in base64 (create response only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Creation time, unix seconds.
    pub created_at: i64,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The key a `POST /v1/tsig-keys` body creates, validated (a secret generated when absent).
pub(crate) fn tsig_row(body: &CreateTsig) -> Result<TsigKeyRow, ApiError> {
    let name = key_name(&body.name);
    // The DNS side must take the name as the API stores it (`@` is the
    // root there). Regression: fuzz target api_body, `{"name": "@"}`.
    let usable = zonecast_proto::tsig::Key::new(&name, "hmac-sha256", vec![0]).is_ok();
    if name.is_empty() || !usable || Name::from_presentation(&format!("{name}."), None).is_err() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_name",
            format!("'{}' is not a valid key name (a domain name)", body.name),
        )
        .field("name"));
    }
    let algorithm = body
        .algorithm
        .as_deref()
        .unwrap_or("hmac-sha256")
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let Some(&(_, size)) = TSIG_ALGORITHMS.iter().find(|(a, _)| *a == algorithm) else {
        return Err(ApiError::invalid(
            "algorithm",
            format!(
                "unknown algorithm '{algorithm}'; use one of hmac-sha256, hmac-sha1, hmac-sha224, hmac-sha384, hmac-sha512"
            ),
        ));
    };
    let secret = match body.secret.as_deref() {
        Some(s) => {
            let bytes = b64().decode(s.trim()).map_err(|e| {
                ApiError::invalid("secret", format!("the secret is not base64: {e}"))
            })?;
            if bytes.is_empty() {
                return Err(ApiError::invalid("secret", "the secret is empty"));
            }
            bytes
        }
        None => {
            let mut b = vec![0u8; size];
            rand::thread_rng().fill_bytes(&mut b);
            b
        }
    };
    Ok(TsigKeyRow {
        name,
        algorithm,
        secret,
        created_at: now(),
    })
}

/// Create a TSIG key.
#[utoipa::path(post, path = "/v1/tsig-keys", tag = "keys", request_body = CreateTsig,
    responses((status = 201, body = TsigOut), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn create_tsig(
    State(state): State<ApiState>,
    who: Principal,
    JsonBody(body): JsonBody<CreateTsig>,
) -> Result<(StatusCode, Json<TsigOut>), ApiError> {
    who.require_global("tsig:write")?;
    let row = tsig_row(&body)?;
    let (name, algorithm, secret) = (row.name.clone(), row.algorithm.clone(), row.secret.clone());
    let created_at = row.created_at;
    state
        .blocking(move |c| {
            c.store().create_tsig_key(&row).map_err(|e| match e {
                StoreError::KeyExists { .. } => {
                    ApiError::conflict(format!("a TSIG key named '{}' exists", row.name))
                        .field("name")
                }
                e => e.into(),
            })
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TsigOut {
            name,
            algorithm,
            secret: Some(b64().encode(secret)),
            created_at,
        }),
    ))
}

/// List TSIG keys (without secrets).
#[utoipa::path(get, path = "/v1/tsig-keys", tag = "keys",
    responses((status = 200, body = Vec<TsigOut>)), security(("bearer" = [])))]
pub async fn list_tsig(
    State(state): State<ApiState>,
    who: Principal,
) -> Result<Json<Vec<TsigOut>>, ApiError> {
    who.require_global("tsig:write")?;
    let keys = state.blocking(|c| Ok(c.store().tsig_keys()?)).await?;
    Ok(Json(
        keys.into_iter()
            .map(|k| TsigOut {
                name: k.name,
                algorithm: k.algorithm,
                secret: None,
                created_at: k.created_at,
            })
            .collect(),
    ))
}

/// Delete a TSIG key (409 naming the zones that use it).
#[utoipa::path(delete, path = "/v1/tsig-keys/{name}", tag = "keys", params(("name" = String, Path)),
    responses((status = 204), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn delete_tsig(
    State(state): State<ApiState>,
    who: Principal,
    PathParams(name): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    who.require_global("tsig:write")?;
    let name = key_name(&name);
    state
        .blocking(move |c| match c.store().delete_tsig_key(&name) {
            Ok(true) => Ok(StatusCode::NO_CONTENT),
            Ok(false) => Err(ApiError::not_found(format!("no TSIG key named '{name}'"))),
            Err(StoreError::KeyInUse { zones, .. }) => Err(ApiError::conflict(format!(
                "the TSIG key '{name}' is used by the zones {}",
                zones.join(", ")
            ))),
            Err(e) => Err(e.into()),
        })
        .await
}

/// `POST /v1/api-keys` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// Key name.
    name: String,
    /// Scopes: `zones:read`, `zones:write`, `records:read`, `records:write`, `tsig:write`, `admin`.
    scopes: Vec<String>,
    /// Zones the key is limited to (absent: all).
    zones: Option<Vec<String>>,
}

/// An API key; `token` only in the create response.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyOut {
    /// Key name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Zones it is limited to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zones: Option<Vec<String>>,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Last use, unix seconds (recorded at most once a minute).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
    /// The bearer token, shown only in the create response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// The name and zone list of a `POST /v1/api-keys` body, validated (scopes too).
pub(crate) fn api_key_fields(
    body: &CreateApiKey,
) -> Result<(String, Option<Vec<String>>), ApiError> {
    let name = body.name.trim().to_string();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
    {
        return Err(ApiError::invalid(
            "name",
            "a key name is 1 to 64 letters, digits, '-', '_' or '.'",
        ));
    }
    if body.scopes.is_empty() {
        return Err(ApiError::invalid("scopes", "give at least one scope"));
    }
    for (i, s) in body.scopes.iter().enumerate() {
        if !SCOPES.contains(&s.as_str()) {
            return Err(ApiError::invalid(
                format!("scopes[{i}]"),
                format!("unknown scope '{s}'; known: {}", SCOPES.join(", ")),
            ));
        }
    }
    let zones = match &body.zones {
        None => None,
        Some(zs) => Some(
            zs.iter()
                .enumerate()
                .map(|(i, z)| {
                    parse_zone_name(z)
                        .map(|n| n.to_string())
                        .map_err(|e| e.field(format!("zones[{i}]")))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok((name, zones))
}

/// Create an API key; the response carries its token once.
#[utoipa::path(post, path = "/v1/api-keys", tag = "keys", request_body = CreateApiKey,
    responses((status = 201, body = ApiKeyOut), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn create_api_key(
    State(state): State<ApiState>,
    who: Principal,
    JsonBody(body): JsonBody<CreateApiKey>,
) -> Result<(StatusCode, Json<ApiKeyOut>), ApiError> {
    who.require_global("admin")?;
    let (name, zones) = api_key_fields(&body)?;
    let token = generate_token();
    let row = ApiKeyRow {
        name: name.clone(),
        token_hash: hash_token(&token),
        scopes: body.scopes.clone(),
        zones: zones.clone(),
        created_at: now(),
        last_used_at: None,
    };
    let created_at = row.created_at;
    state
        .blocking(move |c| {
            c.store().create_api_key(&row).map_err(|e| match e {
                StoreError::KeyExists { .. } => {
                    ApiError::conflict(format!("an API key named '{}' exists", row.name))
                        .field("name")
                }
                e => e.into(),
            })
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyOut {
            name,
            scopes: body.scopes,
            zones,
            created_at,
            last_used_at: None,
            token: Some(token),
        }),
    ))
}

/// List API keys (never their tokens).
#[utoipa::path(get, path = "/v1/api-keys", tag = "keys",
    responses((status = 200, body = Vec<ApiKeyOut>)), security(("bearer" = [])))]
pub async fn list_api_keys(
    State(state): State<ApiState>,
    who: Principal,
) -> Result<Json<Vec<ApiKeyOut>>, ApiError> {
    who.require_global("admin")?;
    let keys = state.blocking(|c| Ok(c.store().api_keys()?)).await?;
    Ok(Json(
        keys.into_iter()
            .map(|k| ApiKeyOut {
                name: k.name,
                scopes: k.scopes,
                zones: k.zones,
                created_at: k.created_at,
                last_used_at: k.last_used_at,
                token: None,
            })
            .collect(),
    ))
}

/// Delete an API key.
#[utoipa::path(delete, path = "/v1/api-keys/{name}", tag = "keys", params(("name" = String, Path)),
    responses((status = 204), (status = 404)), security(("bearer" = [])))]
pub async fn delete_api_key(
    State(state): State<ApiState>,
    who: Principal,
    PathParams(name): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    who.require_global("admin")?;
    state
        .blocking(move |c| {
            if c.store().delete_api_key(&name)? {
                Ok(StatusCode::NO_CONTENT)
            } else {
                Err(ApiError::not_found(format!("no API key named '{name}'")))
            }
        })
        .await
}
