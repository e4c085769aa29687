//! Every endpoint's success path, over real HTTP.

mod common;

use common::{TestServer, ADMIN, ZONE};
use serde_json::json;

#[test]
fn health_openapi_metrics_and_auth() {
    let s = TestServer::start();
    let r = s.raw("GET", "/v1/health", None, &[], None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
    let r = s.raw("GET", "/openapi.json", None, &[], None);
    assert_eq!(r.status, 200);
    let doc = r.json();
    for p in [
        "/v1/zones",
        "/v1/zones/{zone}",
        "/v1/zones/{zone}/zonefile",
        "/v1/zones/{zone}/rrsets",
        "/v1/zones/{zone}/rrsets/{name}/{type}",
        "/v1/zones/{zone}/records/{id}",
        "/v1/tsig-keys",
        "/v1/api-keys/{name}",
        "/v1/zones/{zone}/status",
    ] {
        assert!(doc["paths"][p].is_object(), "openapi lacks {p}");
    }
    // No token, a malformed header, an unknown token: 401 with the error shape.
    let r = s.raw("GET", "/v1/zones", None, &[], None);
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    let r = s.raw(
        "GET",
        "/v1/zones",
        None,
        &[("Authorization", "Basic abc")],
        None,
    );
    assert_eq!(r.status, 401);
    let r = s.raw("GET", "/v1/zones", Some("zc_nope"), &[], None);
    assert_eq!(r.status, 401);
    let r = s.raw("GET", "/metrics", None, &[], None);
    assert_eq!(r.status, 401);
    // Unknown route and wrong method answer JSON errors too.
    assert_eq!(s.get("/v1/nothing").code(), "not_found");
    assert_eq!(s.req("POST", "/v1/health", None).status, 405);

    s.post(
        "/v1/zones",
        &json!({"name": "example.com", "zonefile": ZONE}),
    );
    let r = s.get("/metrics");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    assert!(
        r.body.contains(
            "zonecast_api_requests_total{route=\"/v1/zones\",method=\"GET\",status=\"401\"} 3"
        ),
        "{}",
        r.body
    );
    assert!(r.body.contains("zonecast_zones 1"), "{}", r.body);
    assert!(r.body.contains("zonecast_records 6"), "{}", r.body);
    assert!(
        r.body.contains("zonecast_api_changes_total 1"),
        "{}",
        r.body
    );
}

/// The `zonecast_api_requests_total` lines of a metrics body.
fn request_series(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|l| l.starts_with("zonecast_api_requests_total{"))
        .collect()
}

#[test]
fn invented_methods_and_paths_do_not_grow_the_metrics() {
    let s = TestServer::start();
    // Unauthenticated clients: 50 invented methods on a route, 50 on paths no route matches,
    // 50 distinct unmatched paths.
    for i in 0..50 {
        s.raw(&format!("INVENTED{i}"), "/v1/zones", None, &[], None);
        s.raw(&format!("X{i}"), &format!("/nothing/{i}"), None, &[], None);
        s.raw(
            "GET",
            &format!("/v1/zones/z{i}/nothing/{i}"),
            None,
            &[],
            None,
        );
    }
    // Every standard method keeps its own label.
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] {
        s.raw(m, "/v1/health", None, &[], None);
    }
    let r = s.get("/metrics");
    assert_eq!(r.status, 200);
    let series = request_series(&r.body);
    assert!(series.len() <= 12, "{} series:\n{}", series.len(), r.body);
    assert!(!r.body.contains("INVENTED"), "{}", r.body);
    assert!(!r.body.contains("/nothing/"), "{}", r.body);
    for want in [
        "zonecast_api_requests_total{route=\"/v1/zones\",method=\"other\",status=\"405\"} 50",
        "zonecast_api_requests_total{route=\"unmatched\",method=\"other\",status=\"404\"} 50",
        "zonecast_api_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 50",
        "zonecast_api_requests_total{route=\"/v1/health\",method=\"GET\",status=\"200\"} 1",
        "zonecast_api_requests_total{route=\"/v1/health\",method=\"OPTIONS\",status=\"405\"} 1",
    ] {
        assert!(r.body.contains(want), "missing {want} in\n{}", r.body);
    }
    for m in ["POST", "PUT", "PATCH", "DELETE", "HEAD"] {
        assert!(
            r.body
                .contains(&format!("route=\"/v1/health\",method=\"{m}\"")),
            "no {m} series in\n{}",
            r.body
        );
    }
}

#[test]
fn zones_lifecycle() {
    let s = TestServer::start();
    let r = s.post(
        "/v1/zones",
        &json!({"name": "example.com.", "zonefile": ZONE}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let z = r.json();
    assert_eq!(z["name"], "example.com.");
    assert_eq!(z["kind"], "primary");
    assert_eq!(z["serial"], 1);
    assert_eq!(z["record_count"], 6);
    assert_eq!(z["served"], true);
    assert_eq!(r.header("location"), Some("/v1/zones/example.com."));

    // Without a zone file: default SOA, no NS, stored but not served until NS arrive.
    let r = s.post(
        "/v1/zones",
        &json!({"name": "empty.org", "serial_policy": "increment"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["served"], false);
    assert_eq!(r.json()["settings"]["serial_policy"], "increment");
    let r = s.put(
        "/v1/zones/empty.org/rrsets/@/NS",
        &json!({"ttl": 3600, "records": ["ns1.example.com."]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s.get("/v1/zones/empty.org").json()["served"], true);

    // A secondary with its settings.
    s.post("/v1/tsig-keys", &json!({"name": "xfr"}));
    let r = s.post(
        "/v1/zones",
        &json!({"name": "sec.net", "kind": "secondary", "primaries": ["192.0.2.53", "192.0.2.54:5353"],
                "tsig_key": "xfr", "notify": ["192.0.2.2:53"], "allow_transfer": ["192.0.2.0/24", "key:xfr"]}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["kind"], "secondary");
    assert_eq!(r.json()["settings"]["tsig_key"], "xfr");

    // List, paging, filter.
    let all = s.get("/v1/zones").json();
    let names: Vec<_> = all["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["example.com.", "sec.net.", "empty.org."]);
    assert!(all.get("next").is_none());
    let p1 = s.get("/v1/zones?limit=2").json();
    assert_eq!(p1["zones"].as_array().unwrap().len(), 2);
    let next = p1["next"].as_str().unwrap().to_string();
    assert_eq!(next, "sec.net.");
    let p2 = s.get(&format!("/v1/zones?limit=2&after={next}")).json();
    assert_eq!(p2["zones"][0]["name"], "empty.org.");
    assert!(p2.get("next").is_none());
    let f = s.get("/v1/zones?name=EMPTY").json();
    assert_eq!(f["zones"].as_array().unwrap().len(), 1);

    // Read with ETag, status.
    let r = s.get("/v1/zones/example.com");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("etag"), Some("\"1\""));
    let st = s.get("/v1/zones/example.com/status").json();
    assert_eq!(st["serial"], 1);
    assert_eq!(st["served_serial"], 1);
    assert_eq!(st["record_count"], 6);
    assert!(st["last_change"].as_i64().unwrap() > 0);
    assert_eq!(s.get("/v1/edges").json(), json!([]));

    // PATCH settings keeps what is not named.
    let r = s.patch(
        "/v1/zones/example.com",
        &json!({"serial_policy": "unixtime", "notify": ["192.0.2.9"]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["settings"]["serial_policy"], "unixtime");
    let r = s.patch(
        "/v1/zones/example.com",
        &json!({"allow_transfer": ["10.0.0.0/8"]}),
    );
    assert_eq!(r.json()["settings"]["notify"], json!(["192.0.2.9"]));
    let r = s.patch("/v1/zones/sec.net", &json!({"tsig_key": null}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["settings"]["tsig_key"].is_null());

    // Delete.
    assert_eq!(s.delete("/v1/zones/empty.org").status, 204);
    assert_eq!(s.get("/v1/zones/empty.org").status, 404);
    assert_eq!(s.delete("/v1/zones/empty.org").status, 404);
    assert_eq!(
        s.get("/v1/zones").json()["zones"].as_array().unwrap().len(),
        2
    );
}

#[test]
fn zonefile_export_and_replace() {
    let s = TestServer::with_zone();
    let r = s.get("/v1/zones/example.com/zonefile");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    assert!(r.body.contains("192.0.2.10"), "{}", r.body);
    // text/plain replace
    let text = ZONE.replace("192.0.2.10", "192.0.2.11");
    let r = s.raw(
        "PUT",
        "/v1/zones/example.com/zonefile",
        Some(ADMIN),
        &[],
        Some(("text/plain", text.as_bytes())),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.json();
    assert_eq!(a["serial_from"], 1);
    assert_eq!(a["changed"], true);
    let serial = a["serial_to"].as_u64().unwrap();
    assert!(serial > 1);
    assert!(s
        .get("/v1/zones/example.com/zonefile")
        .body
        .contains("192.0.2.11"));
    // JSON replace
    let text = ZONE.replace("192.0.2.10", "192.0.2.12");
    let r = s.put("/v1/zones/example.com/zonefile", &json!({"zonefile": text}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["serial_to"].as_u64().unwrap() > serial);
    let r = s.get("/v1/zones/example.com/rrsets?name=www&type=A").json();
    assert_eq!(r[0]["records"], json!(["192.0.2.12"]));
    // Zone files may be larger than the 1 MiB limit of other bodies.
    let padding = format!("; {}\n", "x".repeat(1000)).repeat(1500);
    let text = format!("{}{padding}", ZONE.replace("192.0.2.10", "192.0.2.13"));
    assert!(text.len() > 1 << 20);
    let r = s.raw(
        "PUT",
        "/v1/zones/example.com/zonefile",
        Some(ADMIN),
        &[],
        Some(("text/plain", text.as_bytes())),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.get("/v1/zones/example.com/rrsets?name=www&type=A").json();
    assert_eq!(r[0]["records"], json!(["192.0.2.13"]));
}

#[test]
fn rrsets() {
    let s = TestServer::with_zone();
    let r = s.put(
        "/v1/zones/example.com/rrsets/api/A",
        &json!({"ttl": 60, "records": ["192.0.2.20", "192.0.2.21"]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.json();
    assert_eq!(a["changed"], true);
    let s1 = a["serial_to"].as_u64().unwrap();
    // Absolute owner names work too, types are case-insensitive.
    let r = s.put(
        "/v1/zones/example.com/rrsets/mail.example.com./mx",
        &json!({"ttl": 300, "records": ["10 mx1", "20 mx2.example.net."]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let one = s.get("/v1/zones/example.com/rrsets/api/A").json();
    assert_eq!(
        one,
        json!({"name": "api.example.com.", "type": "A", "ttl": 60, "records": ["192.0.2.20", "192.0.2.21"]})
    );
    let mx = s.get("/v1/zones/example.com/rrsets?type=MX").json();
    assert_eq!(
        mx[0]["records"],
        json!(["10 mx1.example.com.", "20 mx2.example.net."])
    );
    let at = s.get("/v1/zones/example.com/rrsets?name=@").json();
    let types: Vec<_> = at
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["NS", "SOA"]);
    let all = s.get("/v1/zones/example.com/rrsets").json();
    assert_eq!(all.as_array().unwrap().len(), 7);

    // PATCH: several changes, one serial bump, one journal entry.
    let (serial, journal) = s.serial_and_journal("example.com.");
    assert_eq!(serial as u64, s1 + 1);
    let r = s.patch(
        "/v1/zones/example.com/rrsets",
        &json!([
            {"name": "a", "type": "A", "ttl": 300, "records": ["192.0.2.30"]},
            {"name": "b", "type": "TXT", "ttl": 300, "records": ["\"hello world\""]},
            {"name": "api", "type": "A"}
        ]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (serial2, journal2) = s.serial_and_journal("example.com.");
    assert_eq!(serial2, serial + 1);
    assert_eq!(journal2, journal + 1);
    assert_eq!(s.get("/v1/zones/example.com/rrsets/api/A").status, 404);
    assert_eq!(
        s.get("/v1/zones/example.com/rrsets/b/TXT").json()["records"],
        json!(["\"hello world\""])
    );
    // The {"changes": [...]} form is accepted too.
    let r = s.patch(
        "/v1/zones/example.com/rrsets",
        &json!({"changes": [{"name": "c", "type": "A", "ttl": 300, "records": ["192.0.2.31"]}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);

    // DELETE
    let r = s.delete("/v1/zones/example.com/rrsets/a/A");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s.delete("/v1/zones/example.com/rrsets/a/A").status, 404);
    // Putting the same content again changes nothing.
    let r = s.put(
        "/v1/zones/example.com/rrsets/c/A",
        &json!({"ttl": 300, "records": ["192.0.2.31"]}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["changed"], false);
}

#[test]
fn if_match_on_serial() {
    let s = TestServer::with_zone();
    let r = s.raw(
        "PUT",
        "/v1/zones/example.com/rrsets/x/A",
        Some(ADMIN),
        &[("If-Match", "\"1\"")],
        Some((
            "application/json",
            br#"{"ttl": 60, "records": ["192.0.2.1"]}"#,
        )),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let before = s.serial_and_journal("example.com.");
    let r = s.raw(
        "PUT",
        "/v1/zones/example.com/rrsets/y/A",
        Some(ADMIN),
        &[("If-Match", "\"1\"")],
        Some((
            "application/json",
            br#"{"ttl": 60, "records": ["192.0.2.1"]}"#,
        )),
    );
    assert_eq!((r.status, r.code().as_str()), (412, "serial_mismatch"));
    assert_eq!(s.serial_and_journal("example.com."), before);
    let r = s.raw(
        "PUT",
        "/v1/zones/example.com/zonefile",
        Some(ADMIN),
        &[("If-Match", "\"1\"")],
        Some(("text/plain", ZONE.as_bytes())),
    );
    assert_eq!(r.status, 412);
    let r = s.raw(
        "DELETE",
        "/v1/zones/example.com/rrsets/x/A",
        Some(ADMIN),
        &[("If-Match", "bogus")],
        None,
    );
    assert_eq!(r.status, 400);
    assert_eq!(s.serial_and_journal("example.com."), before);
}

#[test]
fn records_with_ids() {
    let s = TestServer::with_zone();
    let r = s.post(
        "/v1/zones/example.com/records",
        &json!({"name": "www", "type": "A", "content": "192.0.2.99", "ttl": 300}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let rec = r.json();
    let id = rec["id"].as_i64().unwrap();
    assert_eq!(rec["name"], "www.example.com.");
    assert_eq!(rec["content"], "192.0.2.99");
    let r = s.get(&format!("/v1/zones/example.com/records/{id}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["content"], "192.0.2.99");
    let list = s.get("/v1/zones/example.com/records?name=www").json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    // TTL defaults to the RRset's.
    let r = s.post(
        "/v1/zones/example.com/records",
        &json!({"name": "www", "type": "A", "content": "192.0.2.98"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["ttl"], 300);
    // Duplicate: 409.
    let r = s.post(
        "/v1/zones/example.com/records",
        &json!({"name": "www", "type": "A", "content": "192.0.2.99"}),
    );
    assert_eq!(r.status, 409);
    // Update: content and TTL.
    let r = s.put(
        &format!("/v1/zones/example.com/records/{id}"),
        &json!({"name": "www", "type": "A", "content": "192.0.2.97", "ttl": 120}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let new_id = r.json()["id"].as_i64().unwrap();
    assert_eq!(r.json()["ttl"], 120);
    let www = s.get("/v1/zones/example.com/rrsets/www/A").json();
    assert_eq!(www["ttl"], 120);
    assert_eq!(www["records"].as_array().unwrap().len(), 3);
    // Moving a record to another owner.
    let r = s.put(
        &format!("/v1/zones/example.com/records/{new_id}"),
        &json!({"name": "web", "type": "A", "content": "192.0.2.97", "ttl": 120}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let moved = r.json()["id"].as_i64().unwrap();
    assert_eq!(
        s.get("/v1/zones/example.com/rrsets/www/A").json()["records"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Delete.
    assert_eq!(
        s.delete(&format!("/v1/zones/example.com/records/{moved}"))
            .status,
        200
    );
    assert_eq!(
        s.get(&format!("/v1/zones/example.com/records/{moved}"))
            .status,
        404
    );
    assert_eq!(
        s.delete(&format!("/v1/zones/example.com/records/{moved}"))
            .status,
        404
    );
    assert_eq!(s.get("/v1/zones/example.com/records/abc").status, 400);
}

#[test]
fn tsig_keys() {
    let s = TestServer::start();
    let r = s.post("/v1/tsig-keys", &json!({"name": "transfer-key"}));
    assert_eq!(r.status, 201, "{}", r.body);
    let k = r.json();
    assert_eq!(k["algorithm"], "hmac-sha256");
    let secret = k["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 44, "32 bytes in base64");
    let r = s.post(
        "/v1/tsig-keys",
        &json!({"name": "other", "algorithm": "hmac-sha512", "secret": "c2VjcmV0c2VjcmV0"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["secret"], "c2VjcmV0c2VjcmV0");
    for alg in ["hmac-sha1", "hmac-sha224", "hmac-sha384"] {
        let r = s.post(
            "/v1/tsig-keys",
            &json!({"name": format!("k-{alg}"), "algorithm": alg}),
        );
        assert_eq!(r.status, 201, "{alg}: {}", r.body);
    }
    let list = s.get("/v1/tsig-keys");
    assert_eq!(list.status, 200);
    assert!(!list.body.contains("secret"), "{}", list.body);
    assert_eq!(list.json().as_array().unwrap().len(), 5);
    // Duplicate, bad algorithm, bad secret.
    assert_eq!(
        s.post("/v1/tsig-keys", &json!({"name": "other"})).status,
        409
    );
    let r = s.post(
        "/v1/tsig-keys",
        &json!({"name": "x", "algorithm": "hmac-md4"}),
    );
    assert_eq!((r.status, r.field().as_str()), (422, "algorithm"));
    // HMAC-MD5 only when asked for by name (old peers), never by default.
    let md5 = s.post(
        "/v1/tsig-keys",
        &json!({"name": "old-peer", "algorithm": "hmac-md5"}),
    );
    assert_eq!(md5.status, 201, "{}", md5.body);
    assert_eq!(md5.json()["algorithm"], "hmac-md5");
    assert_eq!(s.delete("/v1/tsig-keys/old-peer").status, 204);
    let r = s.post(
        "/v1/tsig-keys",
        &json!({"name": "x", "secret": "not base64!"}),
    );
    assert_eq!((r.status, r.field().as_str()), (422, "secret"));
    // Names the DNS side would not take (regression: fuzz target api_body).
    for bad in ["@", ".", "a..b", ""] {
        let r = s.post("/v1/tsig-keys", &json!({"name": bad}));
        assert_eq!(
            (r.status, r.field().as_str()),
            (400, "name"),
            "{bad:?}: {}",
            r.body
        );
    }
    // In use by a zone: refused, naming the zone.
    s.post(
        "/v1/zones",
        &json!({"name": "example.com", "zonefile": ZONE, "allow_transfer": ["key:transfer-key"]}),
    );
    let r = s.delete("/v1/tsig-keys/transfer-key");
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("example.com"),
        "{}",
        r.body
    );
    s.patch("/v1/zones/example.com", &json!({"allow_transfer": []}));
    assert_eq!(s.delete("/v1/tsig-keys/transfer-key").status, 204);
    assert_eq!(s.delete("/v1/tsig-keys/transfer-key").status, 404);
}

#[test]
fn api_keys() {
    let s = TestServer::with_zone();
    let r = s.post(
        "/v1/api-keys",
        &json!({"name": "ci", "scopes": ["zones:read", "records:read"]}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.json()["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("zc_"));
    let list = s.get("/v1/api-keys");
    assert!(!list.body.contains(&token));
    assert!(!list.body.contains("token"), "{}", list.body);
    let names: Vec<_> = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"admin".to_string()) && names.contains(&"ci".to_string()));
    // The new key reads but cannot write.
    assert_eq!(
        s.req_as(&token, "GET", "/v1/zones/example.com", None)
            .status,
        200
    );
    assert_eq!(
        s.req_as(&token, "GET", "/v1/zones/example.com/rrsets", None)
            .status,
        200
    );
    let r = s.req_as(&token, "DELETE", "/v1/zones/example.com", None);
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    // Validation
    assert_eq!(
        s.post("/v1/api-keys", &json!({"name": "ci", "scopes": ["admin"]}))
            .status,
        409
    );
    let r = s.post("/v1/api-keys", &json!({"name": "x", "scopes": ["root"]}));
    assert_eq!((r.status, r.field().as_str()), (422, "scopes[0]"));
    // Deleted keys stop working.
    assert_eq!(s.delete("/v1/api-keys/ci").status, 204);
    assert_eq!(s.req_as(&token, "GET", "/v1/zones", None).status, 401);
    assert_eq!(s.delete("/v1/api-keys/ci").status, 404);
}

#[test]
fn bootstrap_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let control =
        zonecast_control::Control::open(zonecast_store::Store::open(dir.path()).unwrap()).unwrap();
    let t = zonecast_api::ensure_admin_token(&control, None)
        .unwrap()
        .unwrap();
    assert!(t.starts_with("zc_"));
    // Second start: kept, nothing new to print.
    assert_eq!(
        zonecast_api::ensure_admin_token(&control, None).unwrap(),
        None
    );
    let keys = control.store().api_keys().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].token_hash, zonecast_api::hash_token(&t));
    // A given token replaces the stored hash.
    assert_eq!(
        zonecast_api::ensure_admin_token(&control, Some("zc_given")).unwrap(),
        None
    );
    let keys = control.store().api_keys().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].token_hash, zonecast_api::hash_token("zc_given"));
    assert_eq!(keys[0].scopes, ["admin"]);
    // The admin token cannot be another key's token.
    control
        .store()
        .create_api_key(&zonecast_store::ApiKeyRow {
            name: "ci".into(),
            token_hash: zonecast_api::hash_token("zc_ci"),
            scopes: vec!["zones:read".into()],
            zones: None,
            created_at: 0,
            last_used_at: None,
        })
        .unwrap();
    assert_eq!(
        zonecast_api::ensure_admin_token(&control, Some("zc_ci"))
            .unwrap_err()
            .status,
        409
    );
    assert_eq!(control.store().api_keys().unwrap().len(), 2, "admin kept");
}

#[test]
fn graceful_shutdown_stops_serving() {
    let dir = tempfile::tempdir().unwrap();
    let control = std::sync::Arc::new(
        zonecast_control::Control::open(zonecast_store::Store::open(dir.path()).unwrap()).unwrap(),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let task = rt.spawn(zonecast_api::serve_with_shutdown(
        listener,
        zonecast_api::ApiState::new(control),
        async move {
            let _ = rx.await;
        },
    ));
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read, Write};
    c.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    tx.send(()).unwrap();
    rt.block_on(task).unwrap();
    assert!(std::net::TcpStream::connect(addr).is_err());
}
