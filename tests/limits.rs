//! Size limits of `zonecast serve` (docs/robustness.md, "Size limits"):
//! `--max-rrset-records`, `--max-zone-records` and `--max-zones` refuse
//! what crosses them on the API (422 `limit_exceeded` naming the field)
//! and in zone files loaded at start (the file and line named, the stored
//! zone kept served); each refusal is a warning in the log and counted in
//! `/metrics`. Nothing refused is half applied: DNS answers as before.
//! (Transfers in: `tests/xfr_in_broken.rs`; the write path's unit tests:
//! `crates/control/src/tests.rs`; edges: `crates/replica/src/state/tests.rs`.)

pub mod common;

use common::{curl_api, metric, query_udp, Zonecast, LOG_WAIT};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::{Name, Rtype};

const TOKEN: &str = "limits-test-token";

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n\
@ SOA ns1 hostmaster 10 3600 900 604800 60\n\
@ NS ns1\n\
ns1 A 192.0.2.1\n\
www A 192.0.2.80\n";

/// `--max-rrset-records 3 --max-zone-records 20 --max-zones 2`.
const SMALL: [&str; 6] = [
    "--max-rrset-records",
    "3",
    "--max-zone-records",
    "20",
    "--max-zones",
    "2",
];

fn start(zone_file: &Path, data_dir: &Path) -> Zonecast {
    let mut args: Vec<String> = vec![
        "--api-token".into(),
        TOKEN.into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--zone-file".into(),
        zone_file.display().to_string(),
    ];
    args.extend(SMALL.iter().map(|s| s.to_string()));
    Zonecast::start_with_args(&args)
}

fn api(z: &Zonecast, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let addr = z.api_addr().expect("the harness chose an API address");
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let (code, out) = curl_api(addr, TOKEN, z.dir(), method, path, &text);
    let v = serde_json::from_str(&out).unwrap_or(Value::String(out));
    (code, v)
}

fn metrics(z: &Zonecast) -> String {
    let addr = z.api_addr().unwrap();
    curl_api(addr, TOKEN, z.dir(), "GET", "/metrics", "").1
}

/// The value of `zonecast_limit_refusals_total{limit="<limit>"}`.
fn refusals(text: &str, limit: &str) -> u64 {
    metric(
        text,
        &format!("zonecast_limit_refusals_total{{limit=\"{limit}\"}}"),
    )
}

/// The A addresses of `name` as served over UDP (last octets).
fn a_of(z: &Zonecast, name: &str) -> (u16, Vec<u8>) {
    let name = Name::from_presentation(name, None).unwrap();
    let q = build_query(rand::random(), &name, Rtype::A, None);
    let wire = query_udp(z.addr(), &q).unwrap_or_else(|| panic!("no answer\n{}", z.log_text()));
    let m = Message::parse(&wire).unwrap();
    let mut last: Vec<u8> = m
        .answer
        .iter()
        .filter(|r| r.rtype == Rtype::A)
        .map(|r| r.rdata[3])
        .collect();
    last.sort();
    (m.rcode(), last)
}

fn assert_refused(r: &(u16, Value), field: &str, message: &str) {
    let (code, body) = r;
    assert_eq!(*code, 422, "{body}");
    assert_eq!(body["error"]["code"], "limit_exceeded", "{body}");
    assert_eq!(body["error"]["field"], field, "{body}");
    let m = body["error"]["message"].as_str().unwrap_or_default();
    assert!(m.contains(message), "message {m:?} lacks {message:?}");
}

#[test]
fn api_writes_over_the_limits_are_refused_and_counted() {
    let dir = common::TempDir::new("limits-api");
    let file = dir.path().join("example.com.zone");
    std::fs::write(&file, ZONE).unwrap();
    let z = start(&file, &dir.path().join("data"));
    let m0 = metrics(&z);
    let (rr0, zr0, zs0) = (
        refusals(&m0, "rrset_records"),
        refusals(&m0, "zone_records"),
        refusals(&m0, "zones"),
    );

    // An RRset of 4 records: refused, www keeps its one address.
    let four = json!({"ttl": 60, "records": ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]});
    let r = api(&z, "PUT", "/v1/zones/example.com/rrsets/www/A", &four);
    assert_refused(
        &r,
        "edits[0].records",
        "RRset www.example.com. A would hold 4 records; the limit is 3 (--max-rrset-records)",
    );
    assert_eq!(a_of(&z, "www.example.com."), (0, vec![80]));
    z.wait_log(
        &[
            "size limit reached",
            "zone=example.com.",
            "limit=rrset_records",
            "value=4",
            "max=3",
        ],
        LOG_WAIT,
    );
    // Three is the limit: taken. A fourth by the records endpoint is refused.
    let three = json!({"ttl": 60, "records": ["192.0.2.1", "192.0.2.2", "192.0.2.3"]});
    let (code, body) = api(&z, "PUT", "/v1/zones/example.com/rrsets/www/A", &three);
    assert_eq!(code, 200, "{body}");
    let r = api(
        &z,
        "POST",
        "/v1/zones/example.com/records",
        &json!({"name": "www", "type": "A", "content": "192.0.2.4"}),
    );
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(r.1["error"]["code"], "limit_exceeded");
    assert_eq!(a_of(&z, "www.example.com."), (0, vec![1, 2, 3]));

    // The zone holds 6 records; a PATCH of 15 new names makes 21: refused whole.
    let (_, before) = api(&z, "GET", "/v1/zones/example.com", &Value::Null);
    let changes: Vec<Value> = (0..15)
        .map(|i| json!({"name": format!("h{i}"), "type": "A", "ttl": 60, "records": ["192.0.2.9"]}))
        .collect();
    let r = api(&z, "PATCH", "/v1/zones/example.com/rrsets", &json!(changes));
    assert_refused(
        &r,
        "records",
        "zone example.com. would hold 21 records; the limit is 20 (--max-zone-records)",
    );
    let (_, after) = api(&z, "GET", "/v1/zones/example.com", &Value::Null);
    assert_eq!(after["serial"], before["serial"], "{after}");
    assert_eq!(
        a_of(&z, "h0.example.com.").0,
        3,
        "nothing of the PATCH applied"
    );
    // 14 names make 20: taken.
    let r = api(
        &z,
        "PATCH",
        "/v1/zones/example.com/rrsets",
        &json!(changes[..14]),
    );
    assert_eq!(r.0, 200, "{}", r.1);

    // A zone created from a zone file over the RRset limit: refused naming the line.
    let text = "$ORIGIN two.test.\n$TTL 300\n@ SOA ns1 hm 1 3600 900 604800 60\n@ NS ns1\n\
                ns1 A 192.0.2.1\nwww A 192.0.2.1\nwww A 192.0.2.2\nwww A 192.0.2.3\nwww A 192.0.2.4\n";
    let r = api(
        &z,
        "POST",
        "/v1/zones",
        &json!({"name": "two.test", "zonefile": text}),
    );
    assert_refused(
        &r,
        "zonefile",
        "zonefile:9: RRset www.two.test. A would hold 4 records",
    );
    assert_eq!(api(&z, "GET", "/v1/zones/two.test", &Value::Null).0, 404);

    // Zones: example.com and two.test make 2; a third is refused.
    let r = api(&z, "POST", "/v1/zones", &json!({"name": "two.test"}));
    assert_eq!(r.0, 201, "{}", r.1);
    let r = api(&z, "POST", "/v1/zones", &json!({"name": "three.test"}));
    assert_refused(
        &r,
        "name",
        "zone three.test. would be zone number 3 of this node; the limit is 2 zones per node (--max-zones)",
    );
    assert_eq!(api(&z, "GET", "/v1/zones/three.test", &Value::Null).0, 404);
    z.wait_log(
        &["size limit reached", "zone=three.test.", "limit=zones"],
        LOG_WAIT,
    );

    // Every refusal counted.
    let m = metrics(&z);
    assert!(
        m.contains("# TYPE zonecast_limit_refusals_total counter"),
        "{m}"
    );
    assert_eq!(refusals(&m, "rrset_records"), rr0 + 3, "{m}");
    assert_eq!(refusals(&m, "zone_records"), zr0 + 1, "{m}");
    assert_eq!(refusals(&m, "zones"), zs0 + 1, "{m}");
}

#[test]
fn zone_files_over_the_limits_at_start_keep_the_stored_zone() {
    let dir = common::TempDir::new("limits-file");
    let data = dir.path().join("data");
    let file = dir.path().join("example.com.zone");
    std::fs::write(&file, ZONE).unwrap();
    let z = start(&file, &data);
    assert_eq!(a_of(&z, "www.example.com."), (0, vec![80]));
    drop(z);

    // Line 9 holds the fourth www A.
    let big_rrset = format!("{ZONE}www A 192.0.2.81\nwww A 192.0.2.82\nwww A 192.0.2.83\n");
    std::fs::write(&file, &big_rrset).unwrap();
    let z = start(&file, &data);
    assert_eq!(
        a_of(&z, "www.example.com."),
        (0, vec![80]),
        "the stored zone is served"
    );
    let at = format!(
        "{}:9: RRset www.example.com. A would hold 4 records; the limit is 3 (--max-rrset-records)",
        file.display()
    );
    z.wait_log(&["zone file rejected", &at], LOG_WAIT);
    z.wait_log(&["size limit reached", "way=\"zone file\""], LOG_WAIT);
    assert_eq!(refusals(&metrics(&z), "rrset_records"), 1);
    drop(z);

    // 21 records: the 21st (line 23) is named.
    let mut many = ZONE.to_string();
    for i in 0..17 {
        many.push_str(&format!("h{i} A 192.0.2.9\n"));
    }
    std::fs::write(&file, &many).unwrap();
    let z = start(&file, &data);
    assert_eq!(a_of(&z, "www.example.com."), (0, vec![80]));
    assert_eq!(a_of(&z, "h0.example.com.").0, 3);
    let at = format!(
        "{}:23: zone example.com. would hold 21 records; the limit is 20 (--max-zone-records)",
        file.display()
    );
    z.wait_log(&["zone file rejected", &at], LOG_WAIT);
    assert_eq!(refusals(&metrics(&z), "zone_records"), 1);
}

#[test]
fn limit_flags_have_defaults_and_bounds() {
    assert_eq!(common::serve_default("--max-zone-records"), "10000000");
    assert_eq!(common::serve_default("--max-rrset-records"), "1000");
    assert_eq!(common::serve_default("--max-zones"), "1000000");
    for (cmd, flag, value) in [
        ("serve", "--max-rrset-records", "4097"),
        ("serve", "--max-rrset-records", "0"),
        ("serve", "--max-zone-records", "0"),
        ("serve", "--max-zones", "0"),
        ("edge", "--max-zones", "0"),
    ] {
        let mut c = Command::new(env!("CARGO_BIN_EXE_zonecast"));
        c.arg(cmd);
        if cmd == "edge" {
            c.args([
                "--database",
                "postgres://nobody@127.0.0.1:1/x",
                "--name",
                "e",
            ]);
        }
        let out = c.args([flag, value]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd} {flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{err}");
    }
    let help = Command::new(env!("CARGO_BIN_EXE_zonecast"))
        .args(["edge", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["--max-zone-records", "--max-rrset-records", "--max-zones"] {
        assert!(help.contains(flag), "edge --help lacks {flag}: {help}");
    }
}
