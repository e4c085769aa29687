//! The API server's limits over real HTTP: body timeout, body sizes, the
//! request rate per key (docs/robustness.md "API limits").

mod common;

use common::{parse_response, TestServer, ADMIN};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use zonecast_api::{HttpLimits, KeyRate};

/// The `zonecast_api_limit_hits_total` sample for `limit`.
fn hits(s: &TestServer, limit: &str) -> u64 {
    let m = s.get("/metrics").body;
    let prefix = format!("zonecast_api_limit_hits_total{{limit=\"{limit}\"}} ");
    m.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{m}"))
        .parse()
        .unwrap()
}

#[test]
fn a_body_that_does_not_arrive_in_time_is_408() {
    let limits = HttpLimits {
        body_timeout: Duration::from_millis(300),
        ..HttpLimits::default()
    };
    let s = TestServer::start_with(limits, KeyRate::off());
    let mut c = TcpStream::connect(s.addr).unwrap();
    let head = format!(
        "POST /v1/zones HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\":"
    );
    c.write_all(head.as_bytes()).unwrap();
    let start = Instant::now();
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    let r = parse_response(&buf);
    assert_eq!(
        (r.status, r.code().as_str()),
        (408, "body_timeout"),
        "{}",
        r.body
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(hits(&s, "body_timeout"), 1);
    // Nothing was created, and the server goes on serving.
    assert_eq!(s.get("/v1/zones").json()["zones"], json!([]));
}

#[test]
fn body_sizes_are_configurable() {
    let limits = HttpLimits {
        max_body: 200,
        max_zonefile: 400,
        ..HttpLimits::default()
    };
    let s = TestServer::start_with(limits, KeyRate::off());
    let long = "x".repeat(300);
    // Over max_body on an RRset write: 413 before any parsing.
    let r = s.raw(
        "PUT",
        "/v1/zones/example.com/rrsets/www/TXT",
        Some(ADMIN),
        &[],
        Some((
            "application/json",
            json!({"records": [long]}).to_string().as_bytes(),
        )),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (413, "body_too_large"),
        "{}",
        r.body
    );
    // Zone creation takes up to max_zonefile.
    let zone = "$ORIGIN example.com.\n@ 300 IN SOA ns hm 1 7200 3600 1209600 300\n@ 300 IN NS ns\nns 300 IN A 192.0.2.1\n";
    let r = s.post(
        "/v1/zones",
        &json!({"name": "example.com", "zonefile": zone}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let big = format!("{zone}{}", "; padding\n".repeat(40));
    let r = s.post(
        "/v1/zones",
        &json!({"name": "example.org", "zonefile": big}),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (413, "body_too_large"),
        "{}",
        r.body
    );
}

#[test]
fn a_key_over_its_rate_gets_429_with_retry_after() {
    let s = TestServer::start_with(HttpLimits::default(), KeyRate::new(1, 3));
    let statuses: Vec<u16> = (0..4).map(|_| s.get("/v1/zones").status).collect();
    assert_eq!(statuses, [200, 200, 200, 429]);
    let r = s.get("/v1/zones");
    assert_eq!(
        (r.status, r.code().as_str()),
        (429, "rate_limited"),
        "{}",
        r.body
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.body.contains("'admin'"), "{}", r.body);
    // No token: 401, not counted against anyone's rate.
    assert_eq!(s.raw("GET", "/v1/zones", None, &[], None).status, 401);
    // A second later one request is back.
    std::thread::sleep(Duration::from_millis(1100));
    let r = s.get("/metrics");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("zonecast_api_limit_hits_total{limit=\"rate_per_key\"} 2"),
        "{}",
        r.body
    );
    assert_eq!(s.get("/v1/zones").status, 429, "the metrics read spent it");
}
