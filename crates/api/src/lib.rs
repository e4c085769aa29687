//! The management HTTP API of a zonecast node (design.md "HTTP API"; `docs/api.md`).
//!
//! JSON over HTTP/1.1 with bearer tokens (RFC 6750 §2.1) on everything but
//! `GET /v1/health` and `GET /openapi.json`. Every write goes through
//! [`zonecast_control::Control`], so it is validated as a whole and committed
//! as one store transaction (journal entry in the shape of RFC 1995 §4,
//! serials by RFC 1982) before the response is sent; the DNS listeners
//! answer from the new snapshot from then on. `If-Match: "<serial>"`
//! (RFC 9110 §13.1.1, the zone serial as entity tag) makes a zone write
//! conditional: another current serial answers **412** `serial_mismatch` and
//! changes nothing. Tokens are `zc_` + 32 random bytes (base64url) and only
//! their SHA-256 is stored. TSIG keys take the HMAC algorithms of RFC 8945 §6
//! (SHA-1, SHA-224, SHA-256, SHA-384, SHA-512). Bodies are limited to 1 MiB,
//! zone files to 64 MiB (413), by default. Blocking store and write-path
//! calls run on tokio's blocking pool.
//!
//! The server ([`serve`], module `http`) limits header and body read times,
//! open connections (evicting idle ones first) and, per key, the request
//! rate ([`KeyRate`], 429 with `Retry-After`), and drains requests in
//! progress on shutdown; [`HttpLimits`] has the defaults.
//!
//! In cluster mode `GET /v1/edges` lists the status rows edges write to the
//! database (docs/cluster.md), the zone status shows the serial each edge
//! serves, and `GET /v1/health` says whether this control plane leads.
//! [`edge_router`] is the small API of an edge.
//!
//! For secondary zones, the binary's [`Extras`] add the refresh state to
//! the zone status (docs/secondary.md), and `POST /v1/zones/{zone}/refresh`
//! and `.../retransfer` hand manual controls to it.
//!
//! Not implemented: TLS and HTTP/2 (put a proxy in front). `If-Match` is
//! checked by the write path under the zone's write lock, for every write.

#![warn(missing_docs)]

mod auth;
mod edge;
mod error;
pub mod fuzzing;
mod http;
mod keys;
mod meta;
mod ratelimit;
mod rrsets;
mod zones;

pub use auth::{generate_token, hash_token, Principal, SCOPES};
pub use edge::{edge_router, serve_edge, EdgeProbe, EdgeReport, Metric};
pub use error::ApiError;
pub use http::{bind, serve_router, HttpLimits, HttpStats, LimitHit};
pub use ratelimit::KeyRate;

use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use zonecast_control::Control;
use zonecast_proto::Name;
use zonecast_store::ApiKeyRow;

/// Largest request body accepted, except for zone file uploads.
pub const BODY_LIMIT: usize = 1 << 20;
/// Largest zone file accepted by `PUT /v1/zones/{zone}/zonefile` and zone creation with a zone file.
pub const ZONEFILE_LIMIT: usize = 64 << 20;

/// What a control plane in cluster mode tells the API.
#[derive(Clone)]
pub struct ClusterInfo {
    /// Whether this control plane leads now.
    pub is_leader: Arc<dyn Fn() -> bool + Send + Sync>,
    /// NOTIFY messages relayed by edges and received here.
    pub notifies_relayed: Arc<AtomicU64>,
}

/// What the binary adds to the API from services outside it (NOTIFY out, transfers, listeners).
pub trait Extras: Send + Sync {
    /// Extra fields of `GET /v1/zones/{zone}/status` (e.g. `notify`).
    fn zone_status(
        &self,
        zone: &zonecast_proto::Name,
    ) -> serde_json::Map<String, serde_json::Value>;
    /// Extra `/metrics` lines, Prometheus text format with HELP and TYPE.
    fn metrics(&self, out: &mut String);
    /// A manual control of a secondary zone (`POST .../refresh`, `.../retransfer`);
    /// `Err` says why it was not taken. The zone exists and is secondary.
    fn secondary_action(
        &self,
        _zone: &zonecast_proto::Name,
        _action: SecondaryAction,
    ) -> Result<(), String> {
        Err("this node does not refresh secondary zones".into())
    }
    /// A zone was created, changed or deleted through this API.
    fn zone_changed(&self, _zone: &zonecast_proto::Name) {}
}

/// The manual controls of a secondary zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondaryAction {
    /// Ask the primaries for the SOA now, and transfer when newer.
    Refresh,
    /// Take a full AXFR now, whatever the serials.
    Retransfer,
}

/// What the handlers share: the write path, request metrics, key-use bookkeeping.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

struct Inner {
    control: Arc<Control>,
    cluster: Option<ClusterInfo>,
    extras: Option<Arc<dyn Extras>>,
    requests: Mutex<BTreeMap<(String, &'static str, u16), u64>>,
    changes: AtomicU64,
    touched: Mutex<HashMap<String, i64>>,
    limits: HttpLimits,
    rate: KeyRate,
    http: Arc<HttpStats>,
}

impl ApiState {
    /// The state over a node's write path.
    pub fn new(control: Arc<Control>) -> ApiState {
        ApiState {
            inner: Arc::new(Inner {
                control,
                cluster: None,
                extras: None,
                requests: Mutex::new(BTreeMap::new()),
                changes: AtomicU64::new(0),
                touched: Mutex::new(HashMap::new()),
                limits: HttpLimits::default(),
                rate: KeyRate::off(),
                http: Arc::default(),
            }),
        }
    }

    /// The state of a control plane in cluster mode: it reports leadership
    /// and the NOTIFY messages edges relayed.
    ///
    /// Call before the state is cloned (it is shared from then on).
    pub fn with_cluster(mut self, cluster: ClusterInfo) -> ApiState {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.cluster = Some(cluster);
        }
        self
    }

    /// Adds the binary's [`Extras`] (call before cloning the state).
    pub fn with_extras(mut self, extras: Arc<dyn Extras>) -> ApiState {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.extras = Some(extras);
        }
        self
    }

    /// Sets the HTTP limits and the request rate per key (call before cloning the state).
    pub fn with_limits(mut self, limits: HttpLimits, rate: KeyRate) -> ApiState {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.limits = limits;
            inner.rate = rate;
        }
        self
    }

    /// The HTTP limits in force.
    pub fn limits(&self) -> &HttpLimits {
        &self.inner.limits
    }

    /// What the HTTP server counted.
    pub fn http_stats(&self) -> &Arc<HttpStats> {
        &self.inner.http
    }

    /// Spends one request of `key`'s rate: 429 `rate_limited` when it is used up.
    pub(crate) fn spend_rate(&self, key: &str) -> Result<(), ApiError> {
        self.inner
            .rate
            .spend(key, std::time::Instant::now())
            .map_err(|wait| {
                self.inner.http.hit(LimitHit::RateLimited);
                ApiError::too_many_requests(key, wait)
            })
    }

    /// The binary's extras, if any.
    pub(crate) fn extras(&self) -> Option<&Arc<dyn Extras>> {
        self.inner.extras.as_ref()
    }

    /// Cluster-mode information, `None` on an embedded node.
    pub(crate) fn cluster(&self) -> Option<&ClusterInfo> {
        self.inner.cluster.as_ref()
    }

    /// The write path.
    pub fn control(&self) -> &Arc<Control> {
        &self.inner.control
    }

    /// Runs `f` (store or write-path calls) on the blocking pool.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Control) -> Result<T, ApiError> + Send + 'static,
    {
        let control = self.inner.control.clone();
        tokio::task::spawn_blocking(move || f(&control))
            .await
            .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
    }

    /// Records a key's use, at most once a minute per key (a write per request would cost throughput).
    pub(crate) async fn touch(&self, name: &str) {
        let now = auth::now();
        {
            let mut t = self.inner.touched.lock().unwrap_or_else(|p| p.into_inner());
            if t.get(name).is_some_and(|&last| now - last < 60) {
                return;
            }
            t.insert(name.to_string(), now);
        }
        let name = name.to_string();
        let r = self
            .blocking(move |c| Ok(c.store().touch_api_key(&name, now)?))
            .await;
        if let Err(e) = r {
            tracing::warn!("cannot record API key use: {e}");
        }
    }

    /// Counts one committed change for `/metrics`.
    pub(crate) fn count_change(&self) {
        self.inner.changes.fetch_add(1, Ordering::Relaxed);
    }

    /// Tells the extras a zone was created, changed or deleted (`name` as the API shows it).
    pub(crate) fn zone_changed(&self, name: &str) {
        if let (Some(x), Ok(n)) = (self.extras(), name.parse::<zonecast_proto::Name>()) {
            x.zone_changed(&n);
        }
    }
}

/// The API's routes, with body limits, metrics and JSON errors for unknown routes.
pub fn router(state: ApiState) -> Router {
    let zonefile = Router::new()
        .route(
            "/v1/zones/{zone}/zonefile",
            get(zones::get_zonefile).put(zones::put_zonefile),
        )
        .route("/v1/zones", get(zones::list_zones).post(zones::create_zone))
        .layer(DefaultBodyLimit::max(state.limits().max_zonefile));
    Router::new()
        .route("/v1/health", get(meta::health))
        .route("/openapi.json", get(meta::openapi))
        .route("/metrics", get(meta::metrics))
        .route("/v1/edges", get(zones::edges))
        .route(
            "/v1/zones/{zone}",
            get(zones::get_zone)
                .patch(zones::patch_zone)
                .delete(zones::delete_zone),
        )
        .route("/v1/zones/{zone}/status", get(zones::zone_status))
        .route("/v1/zones/{zone}/refresh", post(zones::refresh_zone))
        .route("/v1/zones/{zone}/retransfer", post(zones::retransfer_zone))
        .route(
            "/v1/zones/{zone}/rrsets",
            get(rrsets::list_rrsets).patch(rrsets::patch_rrsets),
        )
        .route(
            "/v1/zones/{zone}/rrsets/{name}/{rtype}",
            get(rrsets::get_rrset)
                .put(rrsets::put_rrset)
                .delete(rrsets::delete_rrset),
        )
        .route(
            "/v1/zones/{zone}/records",
            get(rrsets::list_records).post(rrsets::create_record),
        )
        .route(
            "/v1/zones/{zone}/records/{id}",
            get(rrsets::get_record)
                .put(rrsets::put_record)
                .delete(rrsets::delete_record),
        )
        .route(
            "/v1/tsig-keys",
            get(keys::list_tsig).post(keys::create_tsig),
        )
        .route("/v1/tsig-keys/{name}", delete(keys::delete_tsig))
        .route(
            "/v1/api-keys",
            get(keys::list_api_keys).post(keys::create_api_key),
        )
        .route("/v1/api-keys/{name}", delete(keys::delete_api_key))
        .layer(DefaultBodyLimit::max(state.limits().max_body))
        .merge(zonefile)
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// Serves the API on `listener` with the state's [`HttpLimits`] until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, state: ApiState) {
    serve_with_shutdown(listener, state, std::future::pending()).await
}

/// Serves the API on `listener` until `shutdown` completes, then drains the
/// requests in progress for at most [`HttpLimits::drain`].
pub async fn serve_with_shutdown<F>(listener: tokio::net::TcpListener, state: ApiState, shutdown: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let (limits, stats) = (state.limits().clone(), state.http_stats().clone());
    serve_router(listener, router(state), limits, stats, shutdown).await
}

/// Makes sure the bootstrap `admin` key exists: with `given`, its hash replaces the stored one;
/// without, a token is generated if there is no `admin` key yet.
///
/// Returns the newly generated token (to be shown once), or `None`.
pub fn ensure_admin_token(
    control: &Control,
    given: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let store = control.store();
    let existing = store.api_keys()?.into_iter().find(|k| k.name == "admin");
    let (token, generated) = match given {
        Some(t) if t.trim().is_empty() => {
            return Err(ApiError::bad_request("the admin token must not be empty"))
        }
        Some(t) => (t.trim().to_string(), false),
        None if existing.is_some() => return Ok(None),
        None => (generate_token(), true),
    };
    let hash = hash_token(&token);
    if let Some(other) = store.api_key_by_hash(&hash)? {
        if other.name != "admin" {
            return Err(ApiError::conflict(format!(
                "the admin token is already the token of the API key '{}'",
                other.name
            )));
        }
    }
    if let Some(k) = &existing {
        if k.token_hash == hash && k.scopes.iter().any(|s| s == "admin") && k.zones.is_none() {
            return Ok(None);
        }
        store.delete_api_key("admin")?;
    }
    store.create_api_key(&ApiKeyRow {
        name: "admin".to_string(),
        token_hash: hash,
        scopes: vec!["admin".to_string()],
        zones: None,
        created_at: auth::now(),
        last_used_at: None,
    })?;
    Ok(generated.then_some(token))
}

/// Parses a zone name from a path or body: absolute whether or not it ends with a dot; lowercased.
pub fn parse_zone_name(text: &str) -> Result<Name, ApiError> {
    let t = text.trim();
    let abs = if t.ends_with('.') {
        t.to_string()
    } else {
        format!("{t}.")
    };
    if t.is_empty() || t == "@" {
        return Err(ApiError::bad_request("empty zone name").field("zone"));
    }
    Name::from_presentation(&abs, None)
        .map(|n| n.to_lowercase())
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_name",
                format!("invalid zone name '{text}': {e}"),
            )
            .field("zone")
        })
}

/// A JSON body with the API's error shape for malformed JSON, unknown fields, wrong types and size.
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<ApiState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &ApiState) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

pub(crate) async fn body_bytes(
    req: Request,
    state: &ApiState,
) -> Result<axum::body::Bytes, ApiError> {
    let limits = state.limits();
    let read = axum::body::Bytes::from_request(req, state);
    let Some(read) = http::body_deadline(state.http_stats(), limits.body_timeout, read).await
    else {
        return Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!(
                "the request body did not arrive within {} ms",
                limits.body_timeout.as_millis()
            ),
        ));
    };
    read.map_err(|r| {
        let status = r.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            "bad_request"
        };
        ApiError::new(status, code, r.body_text())
    })
}

pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the request needs a JSON body",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = unknown_field(&inner.to_string()).unwrap_or(path);
        let err = ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("invalid JSON body: {inner}"),
        );
        if field == "." || field.is_empty() {
            err
        } else {
            err.field(field)
        }
    })?;
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("invalid JSON body: {e}"),
        )
    })?;
    Ok(value)
}

fn unknown_field(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// Path parameters with the API's error shape.
pub(crate) struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParams(p.0))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// Query parameters with the API's error shape.
pub(crate) struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|p| QueryParams(p.0))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// `If-Match: "<serial>"` (quotes optional; `*` means no condition).
pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<u32>, ApiError> {
    let Some(v) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| ApiError::bad_request("If-Match is not text").field("If-Match"))?
        .trim();
    if s == "*" {
        return Ok(None);
    }
    let s = s.strip_prefix("W/").unwrap_or(s).trim_matches('"');
    s.parse::<u32>().map(Some).map_err(|_| {
        ApiError::bad_request(format!(
            "If-Match must be a zone serial in quotes, got '{s}'"
        ))
        .field("If-Match")
    })
}

async fn fallback() -> ApiError {
    ApiError::not_found("no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this endpoint",
    )
}

/// The `method` label of the request metrics: one of a fixed set, so that
/// invented methods (any token is a valid HTTP method, and they are counted
/// before authentication) cannot grow the label set.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts each request by route template (`unmatched` for paths no route
/// matches, never the raw path), [`method_label`] and status.
async fn track(state: axum::extract::State<ApiState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = method_label(req.method());
    let resp = next.run(req).await.into_response();
    let status = resp.status().as_u16();
    let mut m = state
        .inner
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    *m.entry((route, method, status)).or_insert(0) += 1;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        ttl: u32,
        records: Vec<String>,
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<Body>(br#"{"ttl": 1, "records": [], "x": 2}"#).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "invalid_json"));
        assert_eq!(e.field.as_deref(), Some("x"));
        let e = parse_json::<Body>(br#"{"ttl": "1", "records": []}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("ttl"));
        let e = parse_json::<Body>(br#"{"ttl": 1, "records": [3]}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("records[0]"));
        let e = parse_json::<Body>(br#"{"ttl": 1}"#).unwrap_err();
        assert!(e.message.contains("records"), "{}", e.message);
        assert_eq!(parse_json::<Body>(b"  ").unwrap_err().code, "invalid_json");
        assert!(parse_json::<Body>(br#"{"ttl": 1, "records": []} {}"#).is_err());
        assert_eq!(
            parse_json::<Body>(br#"{"ttl": 7, "records": ["a"]}"#)
                .unwrap()
                .ttl,
            7
        );
    }

    #[test]
    fn if_match_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(if_match(&h).unwrap(), None);
        h.insert("if-match", "\"42\"".parse().unwrap());
        assert_eq!(if_match(&h).unwrap(), Some(42));
        h.insert("if-match", "W/\"43\"".parse().unwrap());
        assert_eq!(if_match(&h).unwrap(), Some(43));
        h.insert("if-match", "44".parse().unwrap());
        assert_eq!(if_match(&h).unwrap(), Some(44));
        h.insert("if-match", "*".parse().unwrap());
        assert_eq!(if_match(&h).unwrap(), None);
        h.insert("if-match", "\"x\"".parse().unwrap());
        assert_eq!(if_match(&h).unwrap_err().status.as_u16(), 400);
    }

    #[test]
    fn zone_names() {
        let a = parse_zone_name("Example.COM").unwrap();
        assert_eq!(a.to_string(), "example.com.");
        assert_eq!(parse_zone_name("example.com.").unwrap(), a);
        assert_eq!(parse_zone_name("").unwrap_err().code, "bad_request");
        assert_eq!(parse_zone_name("a..b").unwrap_err().code, "bad_name");
        assert_eq!(
            parse_zone_name(&"a".repeat(64)).unwrap_err().code,
            "bad_name"
        );
    }

    #[test]
    fn errors_render_the_contract_shape() {
        let r = ApiError::invalid("records[1]", "bad").into_response();
        assert_eq!(r.status().as_u16(), 422);
        let r = ApiError::unauthorized("no").into_response();
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
    }
}
