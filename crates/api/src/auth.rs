//! Bearer tokens, API keys and scopes.

use crate::error::ApiError;
use crate::ApiState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};
use zonecast_proto::Name;
use zonecast_store::ApiKeyRow;

/// Every scope a key can hold; `*:write` implies `*:read`, `admin` implies all.
pub const SCOPES: [&str; 6] = [
    "zones:read",
    "zones:write",
    "records:read",
    "records:write",
    "tsig:write",
    "admin",
];

/// A new random token: `zc_` and 32 random bytes in unpadded base64url.
pub fn generate_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    format!(
        "zc_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    )
}

/// The stored form of a token: its SHA-256.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The key a request authenticated with.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The key's name.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// The zones it is limited to (`None`: all zones).
    pub zones: Option<Vec<Name>>,
}

impl Principal {
    /// True when the key holds `scope` directly or through `admin` or the matching `:write`.
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| {
            s == scope
                || s == "admin"
                || (scope.ends_with(":read")
                    && s.strip_suffix(":write") == scope.strip_suffix(":read"))
        })
    }

    /// 403 unless the key holds `scope`.
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "API key '{}' lacks the scope '{scope}'",
                self.name
            )))
        }
    }

    /// True when the key may see `zone`.
    pub fn allows_zone(&self, zone: &Name) -> bool {
        self.zones
            .as_ref()
            .is_none_or(|zs| zs.iter().any(|z| z == zone))
    }

    /// 403 unless the key holds `scope` and may act on `zone`.
    pub fn require_zone(&self, scope: &str, zone: &Name) -> Result<(), ApiError> {
        self.require(scope)?;
        if self.allows_zone(zone) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "API key '{}' is not allowed on zone {zone}",
                self.name
            )))
        }
    }

    /// 403 unless the key is unrestricted by zone (keys and node-wide resources).
    pub fn require_global(&self, scope: &str) -> Result<(), ApiError> {
        self.require(scope)?;
        if self.zones.is_some() {
            return Err(ApiError::forbidden(format!(
                "API key '{}' is limited to some zones and cannot manage node-wide resources",
                self.name
            )));
        }
        Ok(())
    }

    fn from_row(row: ApiKeyRow) -> Principal {
        let zones = row.zones.map(|zs| {
            zs.iter()
                .filter_map(|z| crate::parse_zone_name(z).ok())
                .collect()
        });
        Principal {
            name: row.name,
            scopes: row.scopes,
            zones,
        }
    }
}

impl FromRequestParts<ApiState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be 'Bearer TOKEN'")
            })?;
        let hash = hash_token(token);
        let row = state
            .blocking(move |c| Ok(c.store().api_key_by_hash(&hash)?))
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown API token"))?;
        state.spend_rate(&row.name)?;
        state.touch(&row.name).await;
        Ok(Principal::from_row(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(scopes: &[&str], zones: Option<&[&str]>) -> Principal {
        Principal {
            name: "t".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            zones: zones.map(|zs| {
                zs.iter()
                    .map(|z| crate::parse_zone_name(z).unwrap())
                    .collect()
            }),
        }
    }

    #[test]
    fn scope_implications() {
        let k = p(&["records:write"], None);
        assert!(k.has("records:write"));
        assert!(k.has("records:read"));
        assert!(!k.has("zones:read"));
        assert!(!k.has("admin"));
        let a = p(&["admin"], None);
        assert!(a.has("tsig:write") && a.has("zones:read"));
        let r = p(&["zones:read"], None);
        assert!(!r.has("zones:write"));
    }

    #[test]
    fn zone_limits() {
        let k = p(&["records:write"], Some(&["example.com"]));
        let ex = crate::parse_zone_name("Example.COM.").unwrap();
        let other = crate::parse_zone_name("other.org").unwrap();
        assert!(k.require_zone("records:write", &ex).is_ok());
        assert_eq!(
            k.require_zone("records:write", &other).unwrap_err().status,
            403
        );
        assert_eq!(k.require_global("records:write").unwrap_err().status, 403);
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = generate_token();
        let b = generate_token();
        assert!(a.starts_with("zc_") && a.len() == 3 + 43);
        assert_ne!(a, b);
        assert_eq!(hash_token(&a).len(), 32);
        assert_eq!(hash_token(&a), hash_token(&a));
    }
}
