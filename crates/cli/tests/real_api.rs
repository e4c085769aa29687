//! The CLI against the real API server (`zonecast_api::serve`) over a temp store.

use std::sync::Arc;

use serde_json::Value;
use zonecast_api::{ensure_admin_token, serve, ApiState};
use zonecast_cli::{execute, Cli, CliError, Output};
use zonecast_control::Control;
use zonecast_store::Store;

const ADMIN: &str = "zc_cli-test-admin-token";

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.10\n";

struct Server {
    base: String,
    _dir: tempfile::TempDir,
}

fn start() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let control =
        Arc::new(Control::open(Store::open(dir.path()).expect("store")).expect("control"));
    ensure_admin_token(&control, Some(ADMIN)).expect("admin token");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let state = ApiState::new(control);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).expect("listener");
            serve(l, state).await;
        });
    });
    Server {
        base: format!("http://{addr}"),
        _dir: dir,
    }
}

impl Server {
    fn run_as(&self, token: &str, args: &[&str]) -> Result<Output, CliError> {
        let mut v = vec!["zonecast"];
        v.extend_from_slice(args);
        let cli = match <Cli as clap::Parser>::try_parse_from(v) {
            Ok(c) => c,
            Err(e) => panic!("parse {args:?}: {e}"),
        };
        execute(cli.command, &self.base, Some(token), cli.args.json)
    }
    fn ok(&self, args: &[&str]) -> String {
        match self.run_as(ADMIN, args) {
            Ok(o) => o.stdout,
            Err(e) => panic!("{args:?} failed: {e}"),
        }
    }
    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let out = self.ok(&a);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    }
    fn fail(&self, args: &[&str]) -> CliError {
        match self.run_as(ADMIN, args) {
            Ok(o) => panic!("{args:?} unexpectedly succeeded: {}", o.stdout),
            Err(e) => e,
        }
    }
}

/// A table with runs of blanks collapsed, so assertions do not depend on column widths.
fn words(table: &str) -> String {
    table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn walkthrough_against_real_api() {
    let s = start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("example.com.zone");
    std::fs::write(&file, ZONE).expect("write");
    let file = file.to_string_lossy().into_owned();

    let created = s.json(&[
        "zone",
        "create",
        "example.com",
        "--file",
        &file,
        "--serial-policy",
        "increment",
    ]);
    assert_eq!(created["name"], "example.com.");
    assert_eq!(created["serial"], 1);

    let list = s.ok(&["zone", "list"]);
    assert!(list.starts_with("NAME"), "{list}");
    assert!(words(&list).contains("example.com. primary 1"), "{list}");
    let show = s.ok(&["zone", "show", "example.com"]);
    assert!(
        show.lines()
            .any(|l| l.starts_with("settings.serial_policy ") && l.ends_with(" increment")),
        "{show}"
    );

    let status = s.json(&["zone", "status", "example.com"]);
    assert_eq!(status["serial"], 1);
    assert_eq!(status["served_serial"], 1);
    let status = s.ok(&["zone", "status", "example.com"]);
    assert!(words(&status).contains("last change 20"), "{status}");

    // RRset replace without --ttl keeps the existing TTL (300).
    let out = s.ok(&[
        "rrset",
        "set",
        "example.com",
        "www",
        "A",
        "192.0.2.1",
        "192.0.2.2",
    ]);
    assert_eq!(out, "example.com.: serial 1 -> 2\n");
    let sets = s.json(&["rrset", "get", "example.com", "www", "A"]);
    assert_eq!(sets[0]["ttl"], 300);
    assert_eq!(
        sets[0]["records"],
        serde_json::json!(["192.0.2.1", "192.0.2.2"])
    );
    let table = s.ok(&["rrset", "get", "example.com", "www"]);
    assert!(
        words(&table).contains("www.example.com. 300 A 192.0.2.2"),
        "{table}"
    );

    // Records with ids.
    let rec = s.json(&[
        "record",
        "add",
        "example.com",
        "mail",
        "MX",
        "10",
        "mx.example.net.",
        "--ttl",
        "600",
    ]);
    let id = rec["id"].as_i64().expect("id");
    let listed = s.ok(&["record", "list", "example.com", "--type", "MX"]);
    assert!(
        words(&listed).contains(&format!("{id} mail.example.com. 600 MX 10 mx.example.net.")),
        "{listed}"
    );
    assert_eq!(
        s.ok(&["record", "list", "example.com", "--name", "nothing"])
            .lines()
            .count(),
        1
    );
    let out = s.ok(&["record", "delete", "example.com", &id.to_string()]);
    assert_eq!(
        out,
        format!("deleted record {id} in example.com (serial 3 -> 4)\n")
    );

    // If-Match with a stale serial is refused.
    let e = s.fail(&[
        "rrset",
        "delete",
        "example.com",
        "www",
        "A",
        "--if-serial",
        "1",
    ]);
    assert_eq!(e.exit_code(), 1, "{e}");
    s.ok(&[
        "rrset",
        "delete",
        "example.com",
        "www",
        "A",
        "--if-serial",
        "4",
    ]);

    // Invalid rdata: API error naming the field, exit code 1, nothing applied.
    let e = s.fail(&[
        "rrset",
        "set",
        "example.com",
        "www",
        "A",
        "not-an-ip",
        "--ttl",
        "60",
    ]);
    assert_eq!(e.exit_code(), 1);
    assert!(e.to_string().contains("records"), "{e}");
    assert_eq!(s.json(&["zone", "show", "example.com"])["serial"], 5);

    // Several RRset changes in one transaction; a bad one refuses them all.
    let changes = dir.path().join("changes.json");
    std::fs::write(
        &changes,
        r#"[{"name": "a", "type": "A", "ttl": 60, "records": ["192.0.2.5"]},
            {"name": "b", "type": "AAAA", "ttl": 60, "records": ["2001:db8::5"]}]"#,
    )
    .expect("write");
    let changes = changes.to_string_lossy().into_owned();
    assert_eq!(
        s.ok(&["rrset", "apply", "example.com", &changes]),
        "example.com.: serial 5 -> 6\n"
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"changes": [{"name": "c", "type": "A", "ttl": 60, "records": ["192.0.2.6"]},
                        {"name": "d", "type": "A", "ttl": 60, "records": ["nope"]}]}"#,
    )
    .expect("write");
    let e = s.fail(&["rrset", "apply", "example.com", &bad.to_string_lossy()]);
    assert!(e.to_string().contains("changes[1]"), "{e}");
    assert_eq!(
        s.json(&["rrset", "get", "example.com", "c"]),
        serde_json::json!([])
    );
    std::fs::write(&bad, "not json").expect("write");
    assert_eq!(
        s.fail(&["rrset", "apply", "example.com", &bad.to_string_lossy()])
            .exit_code(),
        2
    );

    // Settings: PATCH, and a usage error when nothing is asked.
    let z = s.json(&["zone", "update", "example.com", "--notify", "192.0.2.7:53"]);
    assert_eq!(z["settings"]["notify"], serde_json::json!(["192.0.2.7:53"]));
    assert_eq!(z["settings"]["serial_policy"], "increment");
    let z = s.json(&["zone", "update", "example.com", "--no-notify"]);
    assert_eq!(z["settings"]["notify"], serde_json::json!([]));
    assert_eq!(s.fail(&["zone", "update", "example.com"]).exit_code(), 2);
    let e = s.fail(&["zone", "update", "example.com", "--tsig-key", "missing"]);
    assert!(e.to_string().contains("tsig_key"), "{e}");
    assert_eq!(s.json(&["zone", "show", "example.com"])["serial"], 6);

    // Record update by id: new content, new id, serial bump.
    let ns1 = s.json(&["record", "list", "example.com", "--name", "ns1"]);
    let ns1_id = ns1[0]["id"].as_i64().expect("id").to_string();
    let upd = s.json(&[
        "record",
        "update",
        "example.com",
        &ns1_id,
        "ns1",
        "A",
        "192.0.2.53",
    ]);
    assert_eq!(upd["content"], "192.0.2.53");
    assert_eq!(upd["ttl"], 300);
    assert_eq!(s.json(&["zone", "show", "example.com"])["serial"], 7);

    // Export, then import it back (no change), then a changed file.
    let exported = s.ok(&["zone", "export", "example.com"]);
    assert!(exported.contains("ns1"), "{exported}");
    std::fs::write(&file, &exported).expect("write");
    assert_eq!(
        s.ok(&["zone", "import", "example.com", &file]),
        "example.com.: no change (serial 7)\n"
    );
    std::fs::write(
        &file,
        format!("{exported}extra.example.com. 60 IN TXT \"hi there\"\n"),
    )
    .expect("write");
    assert_eq!(
        s.ok(&["zone", "import", "example.com", &file]),
        "example.com.: serial 7 -> 8\n"
    );

    // TSIG keys.
    let key = s.json(&["tsig", "create", "transfer-key"]);
    assert_eq!(key["algorithm"], "hmac-sha256");
    assert!(key["secret"].as_str().is_some_and(|x| !x.is_empty()));
    let keys = s.ok(&["tsig", "list"]);
    assert!(words(&keys).contains("transfer-key hmac-sha256"), "{keys}");
    assert!(!keys.contains(key["secret"].as_str().unwrap_or("?")));
    let human = s.ok(&["tsig", "create", "other", "--algorithm", "hmac-sha512"]);
    assert!(
        human.starts_with("key \"other\" {\n\talgorithm hmac-sha512;"),
        "{human}"
    );
    assert_eq!(
        s.ok(&["tsig", "delete", "other"]),
        "deleted TSIG key other\n"
    );
    assert_eq!(s.fail(&["tsig", "delete", "other"]).exit_code(), 1);

    // API keys: a zone-limited records:write key can edit that zone only.
    let token = s.ok(&[
        "apikey",
        "create",
        "ci",
        "--scope",
        "records:write",
        "--zone",
        "example.com",
    ]);
    let token = token.trim().to_string();
    assert!(token.starts_with("zc_"), "{token}");
    let keys = s.ok(&["apikey", "list"]);
    assert!(keys.contains("ci"), "{keys}");
    assert!(s
        .run_as(
            &token,
            &[
                "rrset",
                "set",
                "example.com",
                "ci",
                "TXT",
                "\"ok\"",
                "--ttl",
                "60"
            ]
        )
        .is_ok());
    let e = match s.run_as(&token, &["tsig", "list"]) {
        Ok(o) => panic!("scope not enforced: {}", o.stdout),
        Err(e) => e,
    };
    assert_eq!(e.exit_code(), 1);
    assert_eq!(s.ok(&["apikey", "delete", "ci"]), "deleted API key ci\n");

    // Bad token, and deleting the zone.
    assert_eq!(
        s.run_as("zc_wrong", &["zone", "list"])
            .map(|_| ())
            .unwrap_err()
            .exit_code(),
        1
    );
    assert_eq!(
        s.ok(&["zone", "delete", "example.com"]),
        "deleted zone example.com\n"
    );
    assert_eq!(s.fail(&["zone", "show", "example.com"]).exit_code(), 1);
}

#[test]
fn record_add_and_update_report_the_serial_change() {
    let s = start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("example.com.zone");
    std::fs::write(&file, ZONE).expect("write");
    s.json(&[
        "zone",
        "create",
        "example.com",
        "--file",
        &file.to_string_lossy(),
        "--serial-policy",
        "increment",
    ]);
    let out = s.ok(&["record", "add", "example.com", "new", "A", "192.0.2.7"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        words(lines[1]).ends_with(" new.example.com. 3600 A 192.0.2.7"),
        "{out}"
    );
    assert_eq!(lines[2], "example.com.: serial 1 -> 2", "{out}");
    let id = lines[1].split_whitespace().next().expect("id").to_string();

    // With --if-serial, and with a key that may only write records of this zone.
    let token = s.ok(&[
        "apikey",
        "create",
        "writer",
        "--scope",
        "records:write",
        "--zone",
        "example.com",
    ]);
    let out = match s.run_as(
        token.trim(),
        &[
            "record",
            "update",
            "example.com",
            &id,
            "new",
            "A",
            "192.0.2.8",
            "--if-serial",
            "2",
        ],
    ) {
        Ok(o) => o.stdout,
        Err(e) => panic!("record update: {e}"),
    };
    assert!(out.ends_with("\nexample.com.: serial 2 -> 3\n"), "{out}");
    let out = match s.run_as(
        token.trim(),
        &["record", "add", "example.com", "@", "MX", "10", "mail"],
    ) {
        Ok(o) => o.stdout,
        Err(e) => panic!("record add: {e}"),
    };
    assert!(out.ends_with("\nexample.com.: serial 3 -> 4\n"), "{out}");
    // The rrset set line for comparison.
    assert_eq!(
        s.ok(&["rrset", "set", "example.com", "new", "A", "192.0.2.9"]),
        "example.com.: serial 4 -> 5\n"
    );
}
