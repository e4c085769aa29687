//! `zonecast check` end to end against running `zonecast serve` processes:
//! given servers, servers found through the API (NS addresses with `--port`,
//! a secondary zone's primary), and `zone refresh` bringing a secondary back
//! in line.

pub mod common;

use common::{free_port, TempDir, Zonecast};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const TOKEN: &str = "zc_check_test_token";
const ZONE: &str = "check.test.";

fn zone_text(origin: &str, serial: u32) -> String {
    format!(
        "$ORIGIN {origin}\n$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 86400 60\n\
         @ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.1\n"
    )
}

/// Writes `ORIGIN.zone` (without the trailing dot) into `dir`.
fn zone_file(dir: &Path, origin: &str, serial: u32) -> PathBuf {
    let path = dir.join(format!("{}.zone", origin.trim_end_matches('.')));
    std::fs::write(&path, zone_text(origin, serial)).expect("writing the zone file");
    path
}

fn serve(files: &[&Path]) -> Zonecast {
    let mut args = vec!["--api-token".to_string(), TOKEN.to_string()];
    for f in files {
        args.push("--zone-file".into());
        args.push(f.display().to_string());
    }
    Zonecast::start_with_args(&args)
}

fn api_url(z: &Zonecast) -> String {
    format!(
        "http://{}",
        z.api_addr().expect("the harness chose an API address")
    )
}

fn curl(z: &Zonecast, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let api = z.api_addr().expect("API address");
    let (code, text) = common::curl_api(api, TOKEN, z.dir(), method, path, body);
    let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (code, v)
}

/// Runs `zonecast ARGS`: exit code, stdout, stderr.
fn zonecast(args: &[String]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zonecast"))
        .args(args)
        .env_remove("ZONECAST_API")
        .env_remove("ZONECAST_API_TOKEN")
        .output()
        .expect("running zonecast");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check_args(zone: &str, servers: &[SocketAddr], extra: &[&str]) -> Vec<String> {
    let mut args = vec!["check".to_string(), zone.to_string()];
    for s in servers {
        args.push("--server".into());
        args.push(s.to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The line of the check table for `server`.
fn row<'a>(table: &'a str, server: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(&format!("{server} ")))
        .unwrap_or_else(|| panic!("no row for {server} in:\n{table}"))
}

/// Sets `www A` on `z` and returns the zone's new serial.
fn change(z: &Zonecast, zone: &str, ip: &str) -> u64 {
    let body = serde_json::json!({"ttl": 300, "records": [ip]}).to_string();
    let (code, v) = curl(z, "PUT", &format!("/v1/zones/{zone}/rrsets/www/A"), &body);
    assert_eq!(code, 200, "{v}");
    v["serial_to"]
        .as_u64()
        .unwrap_or_else(|| panic!("no serial_to in {v}"))
}

#[test]
fn check_compares_the_serials_of_given_servers() {
    let dir = TempDir::new("check-given");
    let file = zone_file(dir.path(), ZONE, 10);
    let (a, b) = (serve(&[&file]), serve(&[&file]));
    let servers = [a.addr(), b.addr()];

    // Same zone file: same serial, exit 0.
    let (code, out, err) = zonecast(&check_args(ZONE, &servers, &[]));
    assert_eq!(code, 0, "{out}{err}");
    for s in &servers {
        let r = row(&out, &s.to_string());
        assert!(
            r.contains(" given ") && r.contains(" 10 ") && r.ends_with(" ok"),
            "{r}"
        );
    }
    assert!(
        out.contains("check.test.: consistent, serial 10 on 2 servers"),
        "{out}"
    );

    // A change on B only: the serials differ, exit 1.
    let serial_b = change(&b, ZONE, "192.0.2.2");
    assert_ne!(serial_b, 10);
    let (code, out, err) = zonecast(&check_args(ZONE, &servers, &[]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        row(&out, &b.addr().to_string()).contains(&format!(" {serial_b} ")),
        "{out}"
    );
    assert!(out.contains("serials differ"), "{out}");
    let (code, out, err) = zonecast(&check_args(ZONE, &servers, &["--json"]));
    assert_eq!(code, 1, "{out}{err}");
    let v = json(&out);
    assert_eq!(v["zone"], ZONE);
    assert_eq!(v["consistent"], false);
    assert_eq!(v["serial"], serde_json::Value::Null);
    let servers_json = v["servers"].as_array().expect("servers");
    assert_eq!(servers_json.len(), 2, "{v}");
    assert_eq!(servers_json[0]["server"], a.addr().to_string());
    assert_eq!(servers_json[0]["serial"], 10);
    assert_eq!(servers_json[1]["serial"], serial_b);
    assert!(
        servers_json
            .iter()
            .all(|s| s["error"].is_null() && s["ms"].is_number()),
        "{v}"
    );

    // A server with nothing listening: exit 2, named on stderr.
    let silent = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (code, out, err) = zonecast(&check_args(
        ZONE,
        &[a.addr(), silent],
        &["--timeout", "500"],
    ));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        row(&out, &silent.to_string()).contains("no answer"),
        "{out}"
    );
    assert!(row(&out, &a.addr().to_string()).ends_with(" ok"), "{out}");
    assert!(
        err.contains(&format!("error: {silent} (given): no answer (")),
        "{err}"
    );
    // A zone the server does not have: REFUSED, exit 2.
    let (code, out, err) = zonecast(&check_args("other.test", &[a.addr()], &[]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("rcode REFUSED"), "{out}");
}

#[test]
fn check_finds_the_nameservers_through_the_api() {
    let dir = TempDir::new("check-api");
    let file = zone_file(dir.path(), ZONE, 20);
    let z = serve(&[&file]);
    let port = z.addr().port().to_string();
    let api = api_url(&z);
    let base = ["--api", &api, "--token", TOKEN, "--port", &port];

    // ns1.check.test. has A 127.0.0.1 in the zone: asked there on --port.
    let (code, out, err) = zonecast(&check_args(ZONE, &[], &base));
    assert_eq!(code, 0, "{out}{err}");
    let r = row(&out, &z.addr().to_string());
    assert!(
        r.contains(" ns ") && r.contains("ns1.check.test.") && r.contains(" 20 "),
        "{r}"
    );
    let (code, out, _) = zonecast(&check_args(ZONE, &[], &[&base[..], &["--json"]].concat()));
    assert_eq!(code, 0, "{out}");
    let v = json(&out);
    assert_eq!(
        (v["consistent"].clone(), v["serial"].clone()),
        (true.into(), 20.into())
    );
    assert_eq!(v["servers"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["servers"][0]["source"], "ns");

    // A second NS whose address has no server: found, and it fails the check.
    let body = serde_json::json!({"changes": [
        {"name": "@", "type": "NS", "ttl": 300, "records": ["ns1", "ns2"]},
        {"name": "ns2", "type": "A", "ttl": 300, "records": ["127.0.0.2"]}
    ]})
    .to_string();
    let (code, v) = curl(&z, "PATCH", &format!("/v1/zones/{ZONE}/rrsets"), &body);
    assert_eq!(code, 200, "{v}");
    let (code, out, err) = zonecast(&check_args(
        ZONE,
        &[],
        &[&base[..], &["--timeout", "500"]].concat(),
    ));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        row(&out, &format!("127.0.0.2:{port}")).contains("ns2.check.test."),
        "{out}"
    );
    assert!(row(&out, &z.addr().to_string()).ends_with(" ok"), "{out}");
    assert!(
        err.contains(&format!("error: 127.0.0.2:{port} (ns): no answer")),
        "{err}"
    );

    // The API refusing (wrong token) or not knowing the zone: exit 2 with the reason.
    let (code, _, err) = zonecast(&check_args(ZONE, &[], &["--api", &api, "--token", "wrong"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("HTTP 401"), "{err}");
    let (code, _, err) = zonecast(&check_args("nope.test", &[], &base));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("HTTP 404"), "{err}");
}

/// Runs `check` until it exits with `want` (up to 15 s); the last output.
fn check_until(args: &[String], want: i32) -> (i32, String, String) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = zonecast(args);
        if got.0 == want || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn check_compares_a_secondary_with_its_primary_and_refresh_brings_it_back() {
    let dir = TempDir::new("check-secondary");
    let origin = "sec.test.";
    let file = zone_file(dir.path(), origin, 30);
    let primary = serve(&[&file]);
    let secondary = serve(&[]);
    let (code, v) = curl(
        &primary,
        "PATCH",
        &format!("/v1/zones/{origin}"),
        &serde_json::json!({"allow_transfer": ["127.0.0.1"]}).to_string(),
    );
    assert_eq!(code, 200, "{v}");
    let body = serde_json::json!({"name": origin, "kind": "secondary",
        "primaries": [primary.addr().to_string()]})
    .to_string();
    let (code, v) = curl(&secondary, "POST", "/v1/zones", &body);
    assert_eq!(code, 201, "{v}");

    // Through the secondary's API: its NS (ns1 → 127.0.0.1, on the
    // secondary's port) and its primary. Both at 30 once transferred.
    let (code, out, err) = check_until(&check_args(origin, &[secondary.addr()], &[]), 0);
    assert_eq!(
        code,
        0,
        "the secondary never served the zone: {out}{err}\n{}",
        secondary.log_text()
    );
    let port = secondary.addr().port().to_string();
    let api = api_url(&secondary);
    let args = check_args(
        origin,
        &[],
        &["--api", &api, "--token", TOKEN, "--port", &port],
    );
    let (code, out, err) = zonecast(&args);
    assert_eq!(code, 0, "{out}{err}\n{}", secondary.log_text());
    let ns = row(&out, &secondary.addr().to_string());
    assert!(ns.contains(" ns ") && ns.contains(" 30 "), "{out}");
    let p = row(&out, &primary.addr().to_string());
    assert!(p.contains(" primary ") && p.contains(" 30 "), "{out}");

    // The primary changes; no NOTIFY is configured and the SOA refresh is an
    // hour away, so the secondary stays behind: exit 1.
    let serial = change(&primary, origin, "192.0.2.3");
    let (code, out, err) = zonecast(&args);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        row(&out, &primary.addr().to_string()).contains(&format!(" {serial} ")),
        "{out}"
    );
    assert!(
        row(&out, &secondary.addr().to_string()).contains(" 30 "),
        "{out}"
    );

    // `zone refresh` makes it check now: consistent again.
    let (code, out, err) = zonecast(&[
        "zone".into(),
        "refresh".into(),
        origin.into(),
        "--api".into(),
        api.clone(),
        "--token".into(),
        TOKEN.into(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("refresh (SOA check) of sec.test. queued"),
        "{out}"
    );
    let (code, out, err) = check_until(&args, 0);
    assert_eq!(code, 0, "{out}{err}\n{}", secondary.log_text());
    assert!(
        out.contains(&format!("consistent, serial {serial} on 2 servers")),
        "{out}"
    );

    // Its status shows the secondary fields readably.
    let (code, out, err) = zonecast(&[
        "zone".into(),
        "status".into(),
        origin.into(),
        "--api".into(),
        api.clone(),
        "--token".into(),
        TOKEN.into(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    for want in [
        format!("serial (ours)  {serial}"),
        format!("  primary serial  {serial} (from {})", primary.addr()),
        "  last transfer   ".to_string(),
        "  next refresh    in ".to_string(),
        "  expired         no".to_string(),
    ] {
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }

    // A primary zone has nothing to refresh: the API's 409, exit 1.
    let (code, _, err) = zonecast(&[
        "zone".into(),
        "retransfer".into(),
        origin.into(),
        "--api".into(),
        api_url(&primary),
        "--token".into(),
        TOKEN.into(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("HTTP 409"), "{err}");
}
