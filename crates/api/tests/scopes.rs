//! A key limited by scope and zone can do what it may and nothing else.

mod common;

use common::{TestServer, ZONE};
use serde_json::json;

#[test]
fn records_write_key_limited_to_one_zone() {
    let s = TestServer::with_zone();
    let other = ZONE.replace("example.com.", "other.org.");
    assert_eq!(
        s.post(
            "/v1/zones",
            &json!({"name": "other.org", "zonefile": other})
        )
        .status,
        201
    );
    let r = s.post(
        "/v1/api-keys",
        &json!({"name": "deploy", "scopes": ["records:write"], "zones": ["example.com"]}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["zones"], json!(["example.com."]));
    let t = r.json()["token"].as_str().unwrap().to_string();
    let rr = json!({"ttl": 300, "records": ["192.0.2.77"]});

    // Allowed: records of example.com.
    let r = s.req_as(&t, "PUT", "/v1/zones/example.com/rrsets/app/A", Some(&rr));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        s.req_as(&t, "GET", "/v1/zones/example.com/rrsets/app/A", None)
            .status,
        200
    );
    let r = s.req_as(
        &t,
        "POST",
        "/v1/zones/example.com/records",
        Some(&json!({"name": "app2", "type": "A", "content": "192.0.2.78"})),
    );
    assert_eq!(r.status, 201, "{}", r.body);

    let ex = s.serial_and_journal("example.com.");
    let ot = s.serial_and_journal("other.org.");
    let tsig = s.get("/v1/tsig-keys").body;
    let settings = s.get("/v1/zones/example.com").json()["settings"].clone();

    let forbidden: Vec<(&str, &str, Option<serde_json::Value>)> = vec![
        ("PUT", "/v1/zones/other.org/rrsets/app/A", Some(rr.clone())),
        ("GET", "/v1/zones/other.org/rrsets", None),
        ("DELETE", "/v1/zones/other.org/rrsets/www/A", None),
        (
            "PATCH",
            "/v1/zones/other.org/rrsets",
            Some(json!([{"name": "x", "type": "A", "ttl": 1, "records": ["192.0.2.1"]}])),
        ),
        (
            "POST",
            "/v1/zones/other.org/records",
            Some(json!({"name": "x", "type": "A", "content": "192.0.2.1"})),
        ),
        (
            "PUT",
            "/v1/zones/other.org/zonefile",
            Some(json!({"zonefile": ZONE.replace("example.com.", "other.org.")})),
        ),
        (
            "PATCH",
            "/v1/zones/example.com",
            Some(json!({"serial_policy": "increment"})),
        ),
        ("DELETE", "/v1/zones/example.com", None),
        ("DELETE", "/v1/zones/other.org", None),
        ("POST", "/v1/zones", Some(json!({"name": "new.example"}))),
        ("POST", "/v1/zones", Some(json!({"name": "example.com"}))),
        ("GET", "/v1/zones/example.com", None),
        ("GET", "/v1/tsig-keys", None),
        ("POST", "/v1/tsig-keys", Some(json!({"name": "mine"}))),
        ("DELETE", "/v1/tsig-keys/any", None),
        ("GET", "/v1/api-keys", None),
        (
            "POST",
            "/v1/api-keys",
            Some(json!({"name": "escalate", "scopes": ["admin"]})),
        ),
        ("DELETE", "/v1/api-keys/admin", None),
    ];
    for (m, p, b) in &forbidden {
        let r = s.req_as(&t, m, p, b.as_ref());
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "forbidden"),
            "{m} {p}: {}",
            r.body
        );
    }
    assert_eq!(s.serial_and_journal("example.com."), ex);
    assert_eq!(s.serial_and_journal("other.org."), ot);
    assert_eq!(s.get("/v1/tsig-keys").body, tsig);
    assert_eq!(s.get("/v1/zones/example.com").json()["settings"], settings);
    assert_eq!(
        s.get("/v1/zones").json()["zones"].as_array().unwrap().len(),
        2
    );
    let names: Vec<_> = s
        .get("/v1/api-keys")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn zone_limited_reader_sees_only_its_zones() {
    let s = TestServer::with_zone();
    let other = ZONE.replace("example.com.", "other.org.");
    s.post(
        "/v1/zones",
        &json!({"name": "other.org", "zonefile": other}),
    );
    let r = s.post(
        "/v1/api-keys",
        &json!({"name": "ro", "scopes": ["zones:read"], "zones": ["other.org."]}),
    );
    let t = r.json()["token"].as_str().unwrap().to_string();
    let list = s.req_as(&t, "GET", "/v1/zones", None).json();
    assert_eq!(list["zones"].as_array().unwrap().len(), 1);
    assert_eq!(list["zones"][0]["name"], "other.org.");
    assert_eq!(
        s.req_as(&t, "GET", "/v1/zones/example.com", None).status,
        403
    );
    assert_eq!(
        s.req_as(&t, "GET", "/v1/zones/other.org/status", None)
            .status,
        200
    );
    // zones:read does not give records.
    assert_eq!(
        s.req_as(&t, "GET", "/v1/zones/other.org/rrsets", None)
            .status,
        403
    );
    assert_eq!(s.req_as(&t, "GET", "/metrics", None).status, 200);
}
