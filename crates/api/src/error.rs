//! The API's error type and its JSON shape.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use zonecast_control::ControlError;
use zonecast_store::StoreError;

/// A refused or failed request: the HTTP status, a stable code, a message and the field at fault.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The HTTP status sent.
    pub status: StatusCode,
    /// A stable machine-readable code (`invalid_json`, `not_found`, ...).
    pub code: &'static str,
    /// What was wrong, for people.
    pub message: String,
    /// The request field at fault (`records[1]`, `ttl`, `name`), when there is one.
    pub field: Option<String>,
    /// Seconds for the `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// An error with any status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// Names the field at fault.
    pub fn field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    /// 400 `bad_request`: the request itself is malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422 `invalid`: well-formed but refused by validation.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field(field)
    }

    /// 422 `limit_exceeded`: `field` is over a documented limit, which `message` names.
    pub fn limit(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "limit_exceeded", message).field(field)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 429 `rate_limited`: `key` spent its request rate; a token is back after `wait`.
    pub fn too_many_requests(key: &str, wait: std::time::Duration) -> ApiError {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("API key '{key}' is over its request rate; retry in {secs} s"),
        );
        e.retry_after = Some(secs);
        e
    }

    /// 500 `internal`: a server-side failure (never caused by client input).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, "{}", self.message);
        }
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
            },
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match &e {
            StoreError::NotFound { .. } => ApiError::not_found(e.to_string()),
            StoreError::AlreadyExists { .. }
            | StoreError::KeyExists { .. }
            | StoreError::DuplicateToken { .. }
            | StoreError::KeyInUse { .. }
            | StoreError::SerialMismatch { .. }
            | StoreError::DuplicateRecord { .. } => ApiError::conflict(e.to_string()),
            StoreError::MissingRecord { .. } => ApiError::not_found(e.to_string()),
            StoreError::InvalidRecord { .. } => ApiError::invalid("records", e.to_string()),
            StoreError::InvalidSettings { .. } => ApiError::invalid("settings", e.to_string()),
            StoreError::UnknownKind(_) => ApiError::invalid("kind", e.to_string()),
            _ if e.is_write_failure() => ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "storage_write_failed",
                format!(
                    "nothing was applied: the store could not write to its disk (full, over a file size limit, or failing): {e}"
                ),
            ),
            _ if e.is_unavailable() => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                format!("the database connection failed; the request was not applied, retry it: {e}"),
            ),
            _ => ApiError::internal(e.to_string()),
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> ApiError {
        match e {
            ControlError::NotFound { what } => ApiError::not_found(format!("{what} not found")),
            ControlError::Conflict { message } => ApiError::conflict(message),
            ControlError::Stale { .. } => ApiError::conflict(e.to_string()),
            ControlError::SerialMismatch {
                current, expected, ..
            } => crate::zones::serial_mismatch(current, expected),
            ControlError::Invalid { field, message, .. } => ApiError::invalid(field, message),
            ControlError::TooLarge { field, message } => ApiError::limit(field, message),
            ControlError::ZoneFile(z) => ApiError::invalid("zonefile", z.to_string()),
            ControlError::Zone(z) => ApiError::invalid("records", z.to_string()),
            ControlError::Store(s) => ApiError::from(s),
            ControlError::Internal(m) => ApiError::internal(m),
            #[allow(unreachable_patterns)]
            other => ApiError::internal(other.to_string()),
        }
    }
}

/// Maps a write-path error of a list of edits, naming the list element at fault as `{list}[i].field`.
pub(crate) fn edit_error(e: ControlError, list: &str) -> ApiError {
    match e {
        ControlError::Invalid {
            index: Some(i),
            field,
            message,
        } => ApiError::invalid(format!("{list}[{i}].{field}"), message),
        ControlError::TooLarge { field, message } => {
            ApiError::limit(field.replacen("edits", list, 1), message)
        }
        other => ApiError::from(other),
    }
}
