//! Every refused request names the problem and leaves the zone, its serial and its journal unchanged.

mod common;

use common::{TestServer, ADMIN};
use serde_json::Value;

/// Sends a raw body and checks status, code and field, and that example.com did not change.
fn refused(
    s: &TestServer,
    method: &str,
    path: &str,
    body: &[u8],
    status: u16,
    field: Option<&str>,
) -> Value {
    let before = s.serial_and_journal("example.com.");
    let zone_before = s.get("/v1/zones/example.com/zonefile").body;
    let r = s.raw(
        method,
        path,
        Some(ADMIN),
        &[],
        Some(("application/json", body)),
    );
    assert_eq!(
        r.status,
        status,
        "{method} {path} {}: {}",
        String::from_utf8_lossy(body),
        r.body
    );
    let j = r.json();
    assert!(
        j["error"]["code"].is_string() && j["error"]["message"].is_string(),
        "{}",
        r.body
    );
    if let Some(f) = field {
        assert_eq!(j["error"]["field"], f, "{}", r.body);
    }
    assert_eq!(
        s.serial_and_journal("example.com."),
        before,
        "changed by {}",
        r.body
    );
    assert_eq!(s.get("/v1/zones/example.com/zonefile").body, zone_before);
    j
}

const RR: &str = "/v1/zones/example.com/rrsets/www/A";

#[test]
fn malformed_requests_are_400() {
    let s = TestServer::with_zone();
    refused(&s, "PUT", RR, b"{\"ttl\": 300, ", 400, None);
    refused(&s, "PUT", RR, b"", 400, None);
    refused(&s, "PUT", RR, b"[1,2]", 400, None);
    refused(
        &s,
        "PUT",
        RR,
        br#"{"ttl": 300, "records": ["192.0.2.1"], "extra": 1}"#,
        400,
        Some("extra"),
    );
    refused(
        &s,
        "PUT",
        RR,
        br#"{"ttl": "300", "records": ["192.0.2.1"]}"#,
        400,
        Some("ttl"),
    );
    refused(
        &s,
        "PUT",
        RR,
        br#"{"ttl": -1, "records": ["192.0.2.1"]}"#,
        400,
        Some("ttl"),
    );
    refused(
        &s,
        "PUT",
        RR,
        br#"{"ttl": 300, "records": [1]}"#,
        400,
        Some("records[0]"),
    );
    refused(
        &s,
        "PUT",
        RR,
        br#"{"ttl": 300, "records": ["192.0.2.1"]} trailing"#,
        400,
        None,
    );
    // Bad names and types.
    refused(
        &s,
        "PUT",
        "/v1/zones/example.com/rrsets/a..b/A",
        br#"{"ttl": 300, "records": ["192.0.2.1"]}"#,
        400,
        Some("name"),
    );
    let long = "a".repeat(64);
    refused(
        &s,
        "PUT",
        &format!("/v1/zones/example.com/rrsets/{long}/A"),
        br#"{"ttl": 300, "records": ["192.0.2.1"]}"#,
        400,
        Some("name"),
    );
    refused(
        &s,
        "PUT",
        "/v1/zones/example.com/rrsets/www/NOPE",
        br#"{"ttl": 300, "records": ["192.0.2.1"]}"#,
        400,
        Some("type"),
    );
    refused(
        &s,
        "POST",
        "/v1/zones",
        br#"{"name": "bad..name"}"#,
        400,
        Some("name"),
    );
    refused(
        &s,
        "POST",
        "/v1/zones",
        br#"{"name": "ok.org", "kind": "primary", "color": "red"}"#,
        400,
        Some("color"),
    );
    refused(
        &s,
        "PATCH",
        "/v1/zones/example.com",
        br#"{"kind": "secondary"}"#,
        400,
        Some("kind"),
    );
    assert_eq!(s.get("/v1/zones?limit=abc").status, 400);
    assert_eq!(s.get("/v1/zones/ok.org").status, 404);
}

#[test]
fn oversized_bodies_are_413() {
    let s = TestServer::with_zone();
    let big = format!(r#"{{"ttl": 300, "records": ["{}"]}}"#, "1".repeat(2 << 20));
    let j = refused(&s, "PUT", RR, big.as_bytes(), 413, None);
    assert_eq!(j["error"]["code"], "body_too_large");
}

#[test]
fn validation_rules_are_422_and_change_nothing() {
    let s = TestServer::with_zone();
    // rdata syntax per type
    refused(
        &s,
        "PUT",
        RR,
        br#"{"ttl": 300, "records": ["192.0.2.1", "not-an-ip"]}"#,
        422,
        Some("records[1]"),
    );
    refused(
        &s,
        "PUT",
        "/v1/zones/example.com/rrsets/mail/MX",
        br#"{"ttl": 300, "records": ["mx1"]}"#,
        422,
        Some("records[0]"),
    );
    // TTL range
    refused(
        &s,
        "PUT",
        RR,
        br#"{"ttl": 2147483648, "records": ["192.0.2.1"]}"#,
        422,
        Some("ttl"),
    );
    refused(
        &s,
        "PUT",
        RR,
        br#"{"records": ["192.0.2.1"]}"#,
        422,
        Some("ttl"),
    );
    // names inside the zone
    refused(
        &s,
        "PUT",
        "/v1/zones/example.com/rrsets/www.example.net./A",
        br#"{"ttl": 300, "records": ["192.0.2.1"]}"#,
        422,
        Some("name"),
    );
    // CNAME exclusivity
    refused(
        &s,
        "PUT",
        "/v1/zones/example.com/rrsets/www/CNAME",
        br#"{"ttl": 300, "records": ["elsewhere.example.net."]}"#,
        422,
        None,
    );
    // the apex keeps its NS
    refused(
        &s,
        "DELETE",
        "/v1/zones/example.com/rrsets/@/NS",
        b"",
        422,
        None,
    );
    refused(
        &s,
        "PUT",
        "/v1/zones/example.com/rrsets/@/NS",
        br#"{"ttl": 300, "records": []}"#,
        422,
        None,
    );
    // no SOA edits outside the zone file
    refused(
        &s,
        "PUT",
        "/v1/zones/example.com/rrsets/@/SOA",
        br#"{"ttl": 300, "records": ["ns1 hostmaster 99 3600 900 1209600 300"]}"#,
        422,
        None,
    );
    // meta types
    refused(
        &s,
        "PUT",
        "/v1/zones/example.com/rrsets/www/ANY",
        br#"{"ttl": 300, "records": ["192.0.2.1"]}"#,
        422,
        Some("type"),
    );
    // A PATCH with one bad change applies none of them.
    refused(
        &s,
        "PATCH",
        "/v1/zones/example.com/rrsets",
        br#"[{"name": "ok", "type": "A", "ttl": 300, "records": ["192.0.2.1"]},
            {"name": "bad", "type": "A", "ttl": 300, "records": ["300.1.1.1"]}]"#,
        422,
        Some("changes[1].records[0]"),
    );
    refused(
        &s,
        "PATCH",
        "/v1/zones/example.com/rrsets",
        br#"[{"name": "ok", "type": "A", "ttl": 300, "records": ["192.0.2.1"]},
            {"name": "ok", "type": "CNAME", "ttl": 300, "records": ["www"]}]"#,
        422,
        None,
    );
    refused(
        &s,
        "PATCH",
        "/v1/zones/example.com/rrsets",
        b"[]",
        422,
        Some("changes"),
    );
    // records
    refused(
        &s,
        "POST",
        "/v1/zones/example.com/records",
        br#"{"name": "www", "type": "A", "content": "nope"}"#,
        422,
        Some("content"),
    );
    refused(
        &s,
        "POST",
        "/v1/zones/example.com/records",
        br#"{"name": "www", "type": "CNAME", "content": "x.example.net."}"#,
        422,
        None,
    );
    // zone files
    refused(
        &s,
        "PUT",
        "/v1/zones/example.com/zonefile",
        br#"{"zonefile": "$ORIGIN example.com.\n@ 300 SOA ns1 h 1 2 3 4 5\n"}"#,
        422,
        Some("zonefile"),
    );
    refused(
        &s,
        "PUT",
        "/v1/zones/example.com/zonefile",
        br#"{"zonefile": "garbage here"}"#,
        422,
        Some("zonefile"),
    );
    // settings
    refused(
        &s,
        "PATCH",
        "/v1/zones/example.com",
        br#"{"notify": ["not-an-address"]}"#,
        422,
        Some("notify[0]"),
    );
    refused(
        &s,
        "PATCH",
        "/v1/zones/example.com",
        br#"{"tsig_key": "missing"}"#,
        422,
        Some("tsig_key"),
    );
    refused(
        &s,
        "PATCH",
        "/v1/zones/example.com",
        br#"{"allow_transfer": ["10.0.0.0/33"]}"#,
        422,
        Some("allow_transfer[0]"),
    );
    refused(
        &s,
        "PATCH",
        "/v1/zones/example.com",
        br#"{"serial_policy": "weekly"}"#,
        400,
        Some("serial_policy"),
    );
    // zones
    refused(
        &s,
        "POST",
        "/v1/zones",
        br#"{"name": "example.com"}"#,
        409,
        None,
    );
    refused(
        &s,
        "POST",
        "/v1/zones",
        br#"{"name": "sec.org", "kind": "secondary"}"#,
        422,
        Some("primaries"),
    );
    refused(
        &s,
        "POST",
        "/v1/zones",
        br#"{"name": "x.org", "kind": "tertiary"}"#,
        422,
        Some("kind"),
    );
    refused(
        &s,
        "POST",
        "/v1/zones",
        br#"{"name": "x.org", "zonefile": "@ 300 A 1.2.3.4"}"#,
        422,
        Some("zonefile"),
    );
    assert_eq!(
        s.get("/v1/zones").json()["zones"].as_array().unwrap().len(),
        1
    );
    // The server is still fine.
    assert_eq!(s.raw("GET", "/v1/health", None, &[], None).status, 200);
}

#[test]
fn no_client_input_gets_a_5xx() {
    let s = TestServer::with_zone();
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"\xff\xfe\x00garbage".to_vec(),
        nested.into_bytes(),
        br#"{"ttl": 1e99, "records": ["1.2.3.4"]}"#.to_vec(),
        br#"{"name": "\u0000", "type": "A", "content": "1.2.3.4"}"#.to_vec(),
        br#"{"name": "x", "type": "TYPE65535", "content": "\\# 0"}"#.to_vec(),
        br#"{"name": "x", "type": "A", "content": "\\# 4 00"}"#.to_vec(),
        r#"{"name": "exämple", "scopes": ["admin"], "zones": ["\u00e9.com", ""]}"#
            .as_bytes()
            .to_vec(),
        br#"[{"name": "@", "type": "SOA", "records": []}]"#.to_vec(),
        br#"{"changes": [{"name": "*", "type": "DNAME", "ttl": 1, "records": ["x."]}]}"#.to_vec(),
        br#"{"zonefile": "$INCLUDE /etc/passwd\n"}"#.to_vec(),
        br#"{"name": "k", "secret": "", "algorithm": "HMAC-SHA256."}"#.to_vec(),
    ];
    let paths = [
        "/v1/zones",
        "/v1/zones/example.com",
        "/v1/zones/%FF%FE",
        "/v1/zones/example.com/zonefile",
        "/v1/zones/example.com/rrsets",
        "/v1/zones/example.com/rrsets/%00/A",
        "/v1/zones/example.com/rrsets/www/TYPE0",
        "/v1/zones/example.com/rrsets/www/A?x=%ZZ",
        "/v1/zones/example.com/records",
        "/v1/zones/example.com/records/99999999999999999999",
        "/v1/zones/example.com/records/-1",
        "/v1/tsig-keys",
        "/v1/tsig-keys/..",
        "/v1/api-keys",
        "/v1/api-keys/admin%2F",
        "/v1/zones?limit=0&after=..&name=%00",
    ];
    for path in paths {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            for body in &bodies {
                if method == "DELETE"
                    && (path.starts_with("/v1/api-keys/admin") || path == "/v1/zones/example.com")
                {
                    continue;
                }
                let r = s.raw(
                    method,
                    path,
                    Some(ADMIN),
                    &[],
                    Some(("application/json", body)),
                );
                assert!(r.status < 500, "{method} {path}: {} {}", r.status, r.body);
            }
        }
    }
    assert_eq!(s.raw("GET", "/v1/health", None, &[], None).status, 200);
    // Some bodies are valid somewhere (a TYPE65535 record); no zone was created or lost.
    assert_eq!(
        s.get("/v1/zones").json()["zones"].as_array().unwrap().len(),
        1
    );
}
