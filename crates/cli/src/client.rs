//! Blocking HTTP transport to the management API.
//!
//! Sends JSON (or zone-file text) with `Authorization: Bearer TOKEN` and turns
//! the API's error shape `{"error": {"code", "message", "field"}}` into
//! [`CliError::Api`]. Plain `http://` only: TLS is not compiled in.

use std::io::Read;
use std::time::Duration;

use serde_json::Value;

use crate::error::CliError;

/// Largest response body read, so a misbehaving server cannot exhaust memory.
const MAX_BODY: u64 = 256 * 1024 * 1024;

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// No body.
    None,
    /// A JSON document (`Content-Type: application/json`).
    Json(Value),
    /// Zone-file text (`Content-Type: text/plain`).
    Text(String),
}

/// A successful (2xx) answer from the API.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// No content (204, or an empty body).
    Empty,
    /// A JSON body.
    Json(Value),
    /// Any other body, as text.
    Text(String),
}

/// Connection to one API endpoint with an optional bearer token.
pub struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Client {
    /// A client for the API at `base` (e.g. `http://127.0.0.1:8053`).
    ///
    /// Fails with a usage error when `base` is not an `http://` URL.
    pub fn new(base: &str, token: Option<&str>) -> Result<Client, CliError> {
        let base = base.trim().trim_end_matches('/').to_string();
        if !base.starts_with("http://") {
            return Err(CliError::Usage(format!(
                "--api must be an http:// URL (got {base:?}); https is not supported by this client"
            )));
        }
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(300))
            .timeout_write(Duration::from_secs(300))
            .build();
        Ok(Client {
            base,
            token: token.filter(|t| !t.is_empty()).map(str::to_string),
            agent,
        })
    }

    /// Sends `method path?query` with `body` and returns the 2xx reply.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Body,
    ) -> Result<Reply, CliError> {
        self.send_if(method, path, query, body, None)
    }

    /// Like [`Client::send`], with `If-Match: "SERIAL"` when `if_serial` is given.
    pub fn send_if(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Body,
        if_serial: Option<u32>,
    ) -> Result<Reply, CliError> {
        let url = format!("{}{}", self.base, path);
        let mut req = self
            .agent
            .request(method, &url)
            .set("Accept", "application/json");
        if let Some(serial) = if_serial {
            req = req.set("If-Match", &format!("\"{serial}\""));
        }
        for (k, v) in query {
            req = req.query(k, v);
        }
        if let Some(token) = &self.token {
            req = req.set("Authorization", &format!("Bearer {token}"));
        }
        let result = match body {
            Body::None => req.call(),
            Body::Json(v) => {
                let text = v.to_string();
                req.set("Content-Type", "application/json")
                    .send_string(&text)
            }
            Body::Text(t) => req
                .set("Content-Type", "text/plain; charset=utf-8")
                .send_string(&t),
        };
        match result {
            Ok(resp) => {
                let status = resp.status();
                let (ctype, text) = read_body(resp)?;
                Ok(classify(status, &ctype, text))
            }
            Err(ureq::Error::Status(status, resp)) => {
                let (_, text) = read_body(resp)?;
                Err(api_error(status, &text))
            }
            Err(ureq::Error::Transport(t)) => Err(CliError::Connection {
                url: self.base.clone(),
                message: t.to_string(),
            }),
        }
    }
}

fn read_body(resp: ureq::Response) -> Result<(String, String), CliError> {
    let ctype = resp.content_type().to_string();
    let mut buf = Vec::new();
    resp.into_reader()
        .take(MAX_BODY)
        .read_to_end(&mut buf)
        .map_err(|e| CliError::Connection {
            url: String::new(),
            message: format!("reading the response: {e}"),
        })?;
    Ok((ctype, String::from_utf8_lossy(&buf).into_owned()))
}

fn classify(status: u16, ctype: &str, text: String) -> Reply {
    if status == 204 || text.trim().is_empty() {
        return Reply::Empty;
    }
    if ctype.contains("json") {
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            return Reply::Json(v);
        }
    }
    Reply::Text(text)
}

/// Builds [`CliError::Api`] from an error status and its body.
pub(crate) fn api_error(status: u16, text: &str) -> CliError {
    let parsed = serde_json::from_str::<Value>(text).ok();
    let err = parsed.as_ref().and_then(|v| v.get("error"));
    let field_str = |k: &str| {
        err.and_then(|e| e.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match err {
        Some(_) => CliError::Api {
            status,
            code: field_str("code").unwrap_or_else(|| "error".to_string()),
            message: field_str("message").unwrap_or_default(),
            field: field_str("field").filter(|f| !f.is_empty()),
        },
        None => {
            let mut body: String = text.trim().chars().take(500).collect();
            if body.is_empty() {
                body = "(no body)".to_string();
            }
            CliError::Api {
                status,
                code: format!("http_{status}"),
                message: body,
                field: None,
            }
        }
    }
}

/// Percent-encodes one URL path segment (everything but RFC 3986 unreserved).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_path_segments() {
        assert_eq!(encode_segment("www.example.com."), "www.example.com.");
        assert_eq!(encode_segment("@"), "%40");
        assert_eq!(encode_segment("*.a/b"), "%2A.a%2Fb");
    }

    #[test]
    fn parses_api_error_shape() {
        let e = api_error(
            422,
            r#"{"error":{"code":"invalid_rdata","message":"bad IPv4","field":"records[1]"}}"#,
        );
        match e {
            CliError::Api {
                status,
                code,
                message,
                field,
            } => {
                assert_eq!(status, 422);
                assert_eq!(code, "invalid_rdata");
                assert_eq!(message, "bad IPv4");
                assert_eq!(field.as_deref(), Some("records[1]"));
            }
            other => panic!("unexpected {other:?}"),
        }
        match api_error(502, "bad gateway") {
            CliError::Api { code, message, .. } => {
                assert_eq!(code, "http_502");
                assert_eq!(message, "bad gateway");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rejects_non_http_base() {
        assert!(matches!(
            Client::new("https://x", None),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            Client::new("127.0.0.1:8053", None),
            Err(CliError::Usage(_))
        ));
        assert!(Client::new("http://127.0.0.1:8053/", Some("t")).is_ok());
    }

    #[test]
    fn classifies_replies() {
        assert_eq!(classify(204, "", String::new()), Reply::Empty);
        assert_eq!(
            classify(200, "application/json", "[1]".into()),
            Reply::Json(serde_json::json!([1]))
        );
        assert_eq!(
            classify(200, "text/dns", "x".into()),
            Reply::Text("x".into())
        );
    }
}
