//! Argument parsing tests and end-to-end tests against a fake HTTP server.

use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;

fn parse(args: &[&str]) -> Cli {
    let mut v = vec!["zonecast"];
    v.extend_from_slice(args);
    match Cli::try_parse_from(v) {
        Ok(c) => c,
        Err(e) => panic!("parse failed: {e}"),
    }
}

fn parse_err(args: &[&str]) -> clap::Error {
    let mut v = vec!["zonecast"];
    v.extend_from_slice(args);
    match Cli::try_parse_from(v) {
        Ok(c) => panic!("parse unexpectedly succeeded: {c:?}"),
        Err(e) => e,
    }
}

#[test]
fn parses_rrset_set_with_ttl_and_global_flags_anywhere() {
    let cli = parse(&[
        "rrset",
        "set",
        "example.com",
        "www",
        "A",
        "192.0.2.1",
        "192.0.2.2",
        "--ttl",
        "300",
        "--json",
        "--api",
        "http://127.0.0.1:1",
        "--token",
        "zc_x",
    ]);
    assert!(cli.args.json);
    assert_eq!(cli.args.api, "http://127.0.0.1:1");
    assert_eq!(cli.args.token.as_deref(), Some("zc_x"));
    assert_eq!(
        cli.command,
        ClientCommand::Rrset(RrsetCommand::Set {
            zone: "example.com".into(),
            name: "www".into(),
            rtype: "A".into(),
            records: vec!["192.0.2.1".into(), "192.0.2.2".into()],
            ttl: Some(300),
            if_serial: None,
        })
    );
}

#[test]
fn parses_defaults_and_other_commands() {
    // The environment may set ZONECAST_API; only check the default when it does not.
    let cli = parse(&[
        "zone",
        "create",
        "example.com",
        "--file",
        "example.com.zone",
    ]);
    if std::env::var_os("ZONECAST_API").is_none() {
        assert_eq!(cli.args.api, DEFAULT_API);
    }
    assert!(!cli.args.json);
    match cli.command {
        ClientCommand::Zone(ZoneCommand::Create {
            zone, kind, file, ..
        }) => {
            assert_eq!(zone, "example.com");
            assert_eq!(kind, Kind::Primary);
            assert_eq!(file, Some(PathBuf::from("example.com.zone")));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        parse(&["record", "add", "example.com", "@", "MX", "10", "mail"]).command,
        ClientCommand::Record(RecordCommand::Add {
            zone: "example.com".into(),
            name: "@".into(),
            rtype: "MX".into(),
            content: vec!["10".into(), "mail".into()],
            ttl: None,
            if_serial: None,
        })
    );
    assert_eq!(
        parse(&[
            "record",
            "delete",
            "example.com",
            "7",
            "--if-serial",
            "2024010101"
        ])
        .command,
        ClientCommand::Record(RecordCommand::Delete {
            zone: "example.com".into(),
            id: 7,
            if_serial: Some(2024010101),
        })
    );
    assert_eq!(
        parse(&[
            "record",
            "list",
            "example.com",
            "--name",
            "www",
            "--type",
            "A"
        ])
        .command,
        ClientCommand::Record(RecordCommand::List {
            zone: "example.com".into(),
            name: Some("www".into()),
            rtype: Some("A".into()),
        })
    );
    assert_eq!(
        parse(&[
            "apikey",
            "create",
            "ci",
            "--scope",
            "records:write",
            "--zone",
            "example.com"
        ])
        .command,
        ClientCommand::Apikey(ApikeyCommand::Create {
            name: "ci".into(),
            scopes: vec!["records:write".into()],
            zones: vec!["example.com".into()],
        })
    );
    assert_eq!(
        parse(&[
            "tsig",
            "create",
            "transfer-key",
            "--algorithm",
            "hmac-sha512"
        ])
        .command,
        ClientCommand::Tsig(TsigCommand::Create {
            name: "transfer-key".into(),
            algorithm: Some("hmac-sha512".into()),
            secret: None,
        })
    );
}

/// A binary's top level as `zonecast` builds it: a `serve` beside the client groups.
fn binary_command() -> clap::Command {
    with_client_args(ClientCommand::augment_subcommands(
        clap::Command::new("zonecast").subcommand(
            clap::Command::new("serve").arg(clap::Arg::new("data-dir").long("data-dir")),
        ),
    ))
}

#[test]
fn client_args_go_to_client_groups_only() {
    let cmd = binary_command();
    let serve = cmd.find_subcommand("serve").expect("serve");
    assert!(serve.get_arguments().all(|a| a.get_id() != "api"));
    let mut serve = serve.clone();
    let help = serve.render_help().to_string();
    assert!(
        !help.contains("--json") && !help.contains("--token"),
        "{help}"
    );
    for args in [
        &["zonecast", "serve", "--json"][..],
        &["zonecast", "serve", "--api", "http://x"],
    ] {
        assert!(
            binary_command().try_get_matches_from(args).is_err(),
            "{args:?}"
        );
    }
    let m = binary_command()
        .try_get_matches_from(["zonecast", "--json", "serve"])
        .expect("parse");
    assert_eq!(client_flags_typed(&m), ["json"]);

    let m = binary_command()
        .try_get_matches_from([
            "zonecast",
            "--json",
            "--api",
            "http://before",
            "zone",
            "list",
            "--token",
            "t",
        ])
        .expect("parse");
    let a = client_args_from(&m).expect("args");
    assert_eq!(
        (a.api.as_str(), a.token.as_deref(), a.json),
        ("http://before", Some("t"), true)
    );
    let m = binary_command()
        .try_get_matches_from([
            "zonecast",
            "--api",
            "http://before",
            "rrset",
            "--api",
            "http://after",
            "get",
            "example.com",
        ])
        .expect("parse");
    assert_eq!(client_args_from(&m).expect("args").api, "http://after");
    assert!(client_flags_typed(&m).contains(&"api"));
}

#[test]
fn rejects_bad_usage() {
    // rrset set without records, record delete with a non-numeric id, apikey without scope.
    parse_err(&["rrset", "set", "example.com", "www", "A"]);
    parse_err(&["record", "delete", "example.com", "abc"]);
    parse_err(&["apikey", "create", "ci"]);
    parse_err(&["zone", "create", "x", "--kind", "tertiary"]);
    parse_err(&[
        "rrset",
        "set",
        "example.com",
        "www",
        "A",
        "1.2.3.4",
        "--ttl",
        "-1",
    ]);
}

#[test]
fn absolute_names_for_filtering() {
    assert_eq!(absolute("@", "Example.com"), "example.com.");
    assert_eq!(absolute("WWW", "example.com."), "www.example.com.");
    assert_eq!(
        absolute("mail.example.com.", "example.com"),
        "mail.example.com."
    );
}

/// One request as the fake server saw it.
#[derive(Debug)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        match serde_json::from_str(&self.body) {
            Ok(v) => v,
            Err(e) => panic!("body is not JSON ({e}): {:?}", self.body),
        }
    }
}

/// Starts a server answering each of `replies` (status, content type, body) in turn,
/// one per connection; returns its base URL and a receiver of the requests seen.
fn fake(replies: Vec<(u16, &'static str, String)>) -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for (status, ctype, body) in replies {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            reader.read_line(&mut line).expect("request line");
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_string();
            let target = parts.next().unwrap_or_default().to_string();
            let mut headers = Vec::new();
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).expect("header");
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    let (k, v) = (k.trim().to_string(), v.trim().to_string());
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.parse().expect("content-length");
                    }
                    headers.push((k, v));
                }
            }
            let mut buf = vec![0u8; len];
            reader.read_exact(&mut buf).expect("body");
            let _ = tx.send(Seen {
                method,
                target,
                headers,
                body: String::from_utf8_lossy(&buf).into_owned(),
            });
            let mut stream = stream;
            let resp = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(resp.as_bytes());
        }
    });
    (format!("http://{addr}"), rx)
}

fn ok_json(body: Value) -> (u16, &'static str, String) {
    (200, "application/json", body.to_string())
}

fn run_args(base: &str, args: &[&str]) -> i32 {
    let cli = parse(args);
    run(cli.command, base, Some("zc_secret"), cli.args.json)
}

fn exec(base: &str, args: &[&str]) -> Result<Output, CliError> {
    let cli = parse(args);
    execute(cli.command, base, Some("zc_secret"), cli.args.json)
}

#[test]
fn rrset_set_sends_put_with_body_and_bearer() {
    let (base, rx) = fake(vec![ok_json(json!({"serial_from": 1, "serial_to": 2}))]);
    let code = run_args(
        &base,
        &[
            "rrset",
            "set",
            "example.com",
            "www",
            "A",
            "192.0.2.1",
            "192.0.2.2",
            "--ttl",
            "300",
        ],
    );
    assert_eq!(code, 0);
    let seen = rx.recv().expect("request");
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.target, "/v1/zones/example.com/rrsets/www/A");
    assert_eq!(seen.header("authorization"), Some("Bearer zc_secret"));
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(
        seen.json(),
        json!({"ttl": 300, "records": ["192.0.2.1", "192.0.2.2"]})
    );
}

#[test]
fn rrset_set_without_ttl_keeps_existing_ttl_or_uses_default() {
    let applied = json!({"zone": "example.com.", "serial_from": 1, "serial_to": 2});
    let (base, rx) = fake(vec![
        ok_json(
            json!({"name": "www.example.com.", "type": "A", "ttl": 120, "records": ["192.0.2.1"]}),
        ),
        ok_json(applied.clone()),
        (
            404,
            "application/json",
            json!({"error": {"code": "not_found", "message": "no A RRset"}}).to_string(),
        ),
        ok_json(applied),
    ]);
    let out = exec(
        &base,
        &[
            "rrset",
            "set",
            "example.com",
            "www",
            "A",
            "192.0.2.9",
            "--if-serial",
            "1",
        ],
    )
    .expect("set");
    assert_eq!(out.stdout, "example.com.: serial 1 -> 2\n");
    let get = rx.recv().expect("req");
    assert_eq!(
        (get.method.as_str(), get.target.as_str()),
        ("GET", "/v1/zones/example.com/rrsets/www/A")
    );
    let put = rx.recv().expect("req");
    assert_eq!(put.method, "PUT");
    assert_eq!(put.header("if-match"), Some("\"1\""));
    assert_eq!(put.json(), json!({"ttl": 120, "records": ["192.0.2.9"]}));

    exec(
        &base,
        &["rrset", "set", "example.com", "new", "a", "192.0.2.9"],
    )
    .expect("set");
    assert_eq!(rx.recv().expect("req").method, "GET");
    let put = rx.recv().expect("req");
    assert_eq!(put.target, "/v1/zones/example.com/rrsets/new/A");
    assert_eq!(put.header("if-match"), None);
    assert_eq!(
        put.json(),
        json!({"ttl": DEFAULT_TTL, "records": ["192.0.2.9"]})
    );
}

#[test]
fn api_error_exits_1_and_names_field() {
    let err = json!({"error": {"code": "invalid_rdata", "message": "not an IPv4 address", "field": "records[0]"}});
    let (base, rx) = fake(vec![
        (422, "application/json", err.to_string()),
        (422, "application/json", err.to_string()),
    ]);
    let args = [
        "rrset",
        "set",
        "example.com",
        "www",
        "A",
        "nope",
        "--ttl",
        "60",
    ];
    let code = run_args(&base, &args);
    assert_eq!(code, 1);
    let seen = rx.recv().expect("request");
    assert_eq!(seen.json(), json!({"ttl": 60, "records": ["nope"]}));
    match exec(&base, &args) {
        Err(e @ CliError::Api { .. }) => {
            assert_eq!(
                e.to_string(),
                "invalid_rdata (HTTP 422) [field records[0]]: not an IPv4 address"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn connection_refused_exits_2() {
    // Bind then drop to get a port nobody listens on.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let cli = parse(&["zone", "list"]);
    assert_eq!(run(cli.command.clone(), &base, None, false), 2);
    assert!(matches!(
        execute(cli.command, &base, None, false),
        Err(CliError::Connection { .. })
    ));
    let cli = parse(&["zone", "list"]);
    assert_eq!(run(cli.command, "localhost:8053", None, false), 2);
}

#[test]
fn zone_create_reads_file_and_posts_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("example.com.zone");
    let text =
        "$ORIGIN example.com.\n@ 3600 IN SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n";
    std::fs::write(&path, text).expect("write");
    let (base, rx) = fake(vec![(
        201,
        "application/json",
        json!({"name": "example.com.", "kind": "primary", "serial": 1}).to_string(),
    )]);
    let p = path.to_string_lossy().into_owned();
    let out = exec(
        &base,
        &[
            "zone",
            "create",
            "example.com",
            "--file",
            &p,
            "--notify",
            "192.0.2.9:53",
        ],
    )
    .expect("create");
    assert!(out.stdout.contains("serial  1"), "{}", out.stdout);
    let seen = rx.recv().expect("request");
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("POST", "/v1/zones")
    );
    assert_eq!(
        seen.json(),
        json!({"name": "example.com", "kind": "primary", "zonefile": text, "notify": ["192.0.2.9:53"]})
    );
    // A missing file is a usage error (exit 2) and sends nothing.
    let cli = parse(&["zone", "create", "x.test", "--file", "/nonexistent/zone"]);
    assert_eq!(run(cli.command, &base, None, false), 2);
}

#[test]
fn zone_import_puts_text_and_export_prints_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("z");
    std::fs::write(&path, "@ NS ns1\n").expect("write");
    let exported = "example.com. 3600 IN SOA a. b. 2 1 1 1 1\n";
    let (base, rx) = fake(vec![
        ok_json(json!({"zone": "example.com.", "serial_from": 1, "serial_to": 2})),
        (200, "text/plain; charset=utf-8", exported.to_string()),
        (200, "text/dns", exported.to_string()),
    ]);
    let p = path.to_string_lossy().into_owned();
    let out = exec(
        &base,
        &["zone", "import", "example.com", &p, "--if-serial", "1"],
    )
    .expect("import");
    assert_eq!(out.stdout, "example.com.: serial 1 -> 2\n");
    let seen = rx.recv().expect("request");
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.target, "/v1/zones/example.com/zonefile");
    assert_eq!(seen.body, "@ NS ns1\n");
    assert_eq!(
        seen.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(seen.header("if-match"), Some("\"1\""));

    let out = exec(&base, &["zone", "export", "example.com"]).expect("export");
    assert_eq!(out.stdout, exported);
    assert_eq!(rx.recv().expect("request").method, "GET");
    let out = exec(&base, &["--json", "zone", "export", "example.com"]).expect("export");
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["zonefile"], exported);
}

#[test]
fn zone_list_table_and_json() {
    let a = json!({"name": "a.test.", "kind": "primary", "serial": 7, "record_count": 3});
    let b = json!({"name": "example.com.", "kind": "secondary", "serial": 9, "record_count": 4});
    let (base, rx) = fake(vec![
        ok_json(json!({"zones": [a], "next": "a.test."})),
        ok_json(json!({"zones": [b]})),
        ok_json(json!({"zones": [a]})),
    ]);
    // Two pages are fetched and printed as one table.
    let out = exec(&base, &["zone", "list", "--name", "e"]).expect("list");
    assert_eq!(
        out.stdout,
        "NAME          KIND       SERIAL  RECORDS  UPDATED\n\
         a.test.       primary    7       3        -\n\
         example.com.  secondary  9       4        -\n"
    );
    assert_eq!(
        rx.recv().expect("req").target,
        "/v1/zones?limit=1000&name=e"
    );
    assert_eq!(
        rx.recv().expect("req").target,
        "/v1/zones?limit=1000&name=e&after=a.test."
    );
    let out = exec(&base, &["zone", "list", "--json"]).expect("list");
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).expect("json"),
        json!({"zones": [a]})
    );
}

#[test]
fn record_add_list_delete() {
    let rec = json!({"id": 42, "name": "www.example.com.", "type": "A", "content": "192.0.2.3", "ttl": 300});
    let list = json!([rec, {"id": 43, "name": "mail.example.com.", "type": "A", "content": "192.0.2.4", "ttl": 300}]);
    let (base, rx) = fake(vec![
        soa(1),
        (201, "application/json", rec.to_string()),
        soa(2),
        ok_json(list),
        (204, "application/json", String::new()),
    ]);
    let out = exec(
        &base,
        &[
            "record",
            "add",
            "example.com",
            "www",
            "a",
            "192.0.2.3",
            "--ttl",
            "300",
        ],
    )
    .expect("add");
    assert!(out.stdout.contains("42"), "{}", out.stdout);
    assert_eq!(rx.recv().expect("req").target, SOA_PATH);
    let seen = rx.recv().expect("req");
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("POST", "/v1/zones/example.com/records")
    );
    assert_eq!(rx.recv().expect("req").target, SOA_PATH);
    assert_eq!(
        seen.json(),
        json!({"name": "www", "type": "A", "content": "192.0.2.3", "ttl": 300})
    );

    // The server ignores the filter here; the client filters anyway.
    let out = exec(&base, &["record", "list", "example.com", "--name", "www"]).expect("list");
    assert_eq!(
        out.stdout,
        "ID  NAME              TTL  TYPE  CONTENT\n42  www.example.com.  300  A     192.0.2.3\n"
    );
    assert_eq!(
        rx.recv().expect("req").target,
        "/v1/zones/example.com/records?name=www"
    );

    let out = exec(&base, &["record", "delete", "example.com", "42"]).expect("delete");
    assert_eq!(out.stdout, "deleted record 42 in example.com\n");
    let seen = rx.recv().expect("req");
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("DELETE", "/v1/zones/example.com/records/42")
    );
}

#[test]
fn rrset_get_and_delete_paths() {
    let (base, rx) = fake(vec![
        ok_json(
            json!([{"name": "example.com.", "type": "NS", "ttl": 3600, "records": ["ns1.example.com."]}]),
        ),
        ok_json(json!({"zone": "example.com.", "serial_from": 5, "serial_to": 6, "changed": true})),
    ]);
    let out = exec(&base, &["rrset", "get", "example.com", "@", "NS"]).expect("get");
    assert!(
        out.stdout
            .contains("example.com.  3600  NS    ns1.example.com."),
        "{}",
        out.stdout
    );
    assert_eq!(
        rx.recv().expect("req").target,
        "/v1/zones/example.com/rrsets?name=%40&type=NS"
    );
    let out = exec(&base, &["rrset", "delete", "example.com", "*.dyn", "txt"]).expect("delete");
    assert_eq!(
        out.stdout,
        "deleted *.dyn TXT in example.com (serial 5 -> 6)\n"
    );
    let seen = rx.recv().expect("req");
    assert_eq!(seen.method, "DELETE");
    assert_eq!(seen.target, "/v1/zones/example.com/rrsets/%2A.dyn/TXT");
}

#[test]
fn tsig_and_apikey_commands() {
    let (base, rx) = fake(vec![
        (
            201,
            "application/json",
            json!({"name": "transfer-key", "algorithm": "hmac-sha256", "secret": "c2VjcmV0"}).to_string(),
        ),
        ok_json(json!([{"name": "transfer-key", "algorithm": "hmac-sha256", "created_at": 0}])),
        (
            409,
            "application/json",
            json!({"error": {"code": "conflict", "message": "key transfer-key is used by zones example.com."}}).to_string(),
        ),
        (201, "application/json", json!({"name": "ci", "token": "zc_abc", "scopes": ["records:write"]}).to_string()),
        ok_json(json!([{"name": "ci", "scopes": ["records:write"], "zones": ["example.com."], "created_at": 0}])),
        (204, "application/json", String::new()),
    ]);
    let out = exec(
        &base,
        &["tsig", "create", "transfer-key", "--secret", "c2VjcmV0"],
    )
    .expect("create");
    assert_eq!(
        out.stdout,
        "key \"transfer-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\n"
    );
    assert!(out.stderr.contains("only this once"));
    let seen = rx.recv().expect("req");
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("POST", "/v1/tsig-keys")
    );
    assert_eq!(
        seen.json(),
        json!({"name": "transfer-key", "secret": "c2VjcmV0"})
    );

    let out = exec(&base, &["tsig", "list"]).expect("list");
    assert_eq!(
        out.stdout,
        "NAME          ALGORITHM    CREATED\ntransfer-key  hmac-sha256  1970-01-01T00:00:00Z\n"
    );
    rx.recv().expect("req");

    let cli = parse(&["tsig", "delete", "transfer-key"]);
    assert_eq!(run(cli.command, &base, Some("t"), false), 1);
    let seen = rx.recv().expect("req");
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("DELETE", "/v1/tsig-keys/transfer-key")
    );

    let out = exec(
        &base,
        &[
            "apikey",
            "create",
            "ci",
            "--scope",
            "records:write",
            "--zone",
            "example.com",
        ],
    )
    .expect("apikey");
    assert_eq!(out.stdout, "zc_abc\n");
    let seen = rx.recv().expect("req");
    assert_eq!(
        seen.json(),
        json!({"name": "ci", "scopes": ["records:write"], "zones": ["example.com"]})
    );
    let out = exec(&base, &["apikey", "list"]).expect("list");
    assert!(
        out.stdout.contains("ci    records:write  example.com."),
        "{}",
        out.stdout
    );
    assert_eq!(rx.recv().expect("req").target, "/v1/api-keys");
    let out = exec(&base, &["apikey", "delete", "ci", "--json"]).expect("delete");
    assert_eq!(out.stdout, "");
    assert_eq!(rx.recv().expect("req").target, "/v1/api-keys/ci");
}

#[test]
fn no_token_sends_no_authorization_header() {
    let (base, rx) = fake(vec![(
        401,
        "application/json",
        json!({"error": {"code": "unauthorized", "message": "missing bearer token"}}).to_string(),
    )]);
    let cli = parse(&["zone", "list"]);
    assert_eq!(run(cli.command, &base, None, false), 1);
    assert_eq!(rx.recv().expect("req").header("authorization"), None);
}

#[test]
fn zone_update_sends_only_what_changes() {
    let zone = json!({"name": "example.com.", "serial": 3, "settings": {"notify": []}});
    let (base, rx) = fake(vec![ok_json(zone.clone()), ok_json(zone)]);
    exec(
        &base,
        &[
            "zone",
            "update",
            "example.com",
            "--serial-policy",
            "unixtime",
            "--no-tsig-key",
            "--no-notify",
        ],
    )
    .expect("update");
    let seen = rx.recv().expect("req");
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("PATCH", "/v1/zones/example.com")
    );
    assert_eq!(
        seen.json(),
        json!({"serial_policy": "unixtime", "tsig_key": null, "notify": []})
    );
    exec(
        &base,
        &[
            "zone",
            "update",
            "example.com",
            "--allow-transfer",
            "key:k",
            "--allow-transfer",
            "10.0.0.0/8",
        ],
    )
    .expect("update");
    assert_eq!(
        rx.recv().expect("req").json(),
        json!({"allow_transfer": ["key:k", "10.0.0.0/8"]})
    );
    // Nothing to change is a usage error; conflicting flags are refused by the parser.
    assert!(matches!(
        exec(&base, &["zone", "update", "example.com"]),
        Err(CliError::Usage(_))
    ));
    parse_err(&[
        "zone",
        "update",
        "example.com",
        "--tsig-key",
        "k",
        "--no-tsig-key",
    ]);
}

/// Where the CLI reads example.com's SOA for the serial.
const SOA_PATH: &str = "/v1/zones/example.com/rrsets/%40/SOA";

/// The API's answer to `GET .../rrsets/@/SOA` with `serial`.
fn soa(serial: u32) -> (u16, &'static str, String) {
    ok_json(json!({"name": "example.com.", "type": "SOA", "ttl": 300,
        "records": [format!("ns1.example.com. hostmaster.example.com. {serial} 3600 900 1209600 300")]}))
}

#[test]
fn record_add_reports_the_serial_change_like_rrset_set() {
    let rec = json!({"id": 42, "name": "www.example.com.", "type": "A", "content": "192.0.2.3", "ttl": 300});
    let table =
        "ID  NAME              TTL  TYPE  CONTENT\n42  www.example.com.  300  A     192.0.2.3\n";
    let add = ["record", "add", "example.com", "www", "A", "192.0.2.3"];

    // SOA before, the write, SOA after.
    let (base, rx) = fake(vec![
        soa(2024010101),
        (201, "application/json", rec.to_string()),
        soa(2024010102),
    ]);
    let out = exec(&base, &add).expect("add");
    assert_eq!(
        out.stdout,
        format!("{table}example.com.: serial 2024010101 -> 2024010102\n")
    );
    let seen: Vec<(String, String)> = rx.iter().map(|s| (s.method, s.target)).collect();
    let want = [
        ("GET", SOA_PATH),
        ("POST", "/v1/zones/example.com/records"),
        ("GET", SOA_PATH),
    ];
    assert_eq!(seen, want.map(|(m, t)| (m.to_string(), t.to_string())));

    // With --if-serial the write had to match it: no read before.
    let (base, rx) = fake(vec![(201, "application/json", rec.to_string()), soa(8)]);
    let mut args = add.to_vec();
    args.extend(["--if-serial", "7"]);
    let out = exec(&base, &args).expect("add");
    assert_eq!(out.stdout, format!("{table}example.com.: serial 7 -> 8\n"));
    assert_eq!(rx.iter().count(), 2);

    // An answer that carries the serials is used as is.
    let mut applied = rec.clone();
    applied["serial_from"] = json!(3);
    applied["serial_to"] = json!(4);
    let (base, rx) = fake(vec![soa(3), (201, "application/json", applied.to_string())]);
    let out = exec(&base, &add).expect("add");
    assert_eq!(out.stdout, format!("{table}example.com.: serial 3 -> 4\n"));
    assert_eq!(rx.iter().count(), 2);

    // An unreadable SOA (no scope, gone): the table alone, still success.
    let denied = (
        403,
        "application/json",
        json!({"error": {"code": "forbidden", "message": "no"}}).to_string(),
    );
    let (base, _rx) = fake(vec![denied, (201, "application/json", rec.to_string())]);
    assert_eq!(exec(&base, &add).expect("add").stdout, table);

    // --json: the API's answer only, and no extra request.
    let (base, rx) = fake(vec![(201, "application/json", rec.to_string())]);
    let mut args = vec!["--json"];
    args.extend(add);
    let out = exec(&base, &args).expect("add");
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).expect("json"),
        rec
    );
    assert_eq!(rx.iter().count(), 1);
}

#[test]
fn record_update_puts_record_body() {
    let rec = json!({"id": 9, "name": "www.example.com.", "type": "TXT", "content": "\"a b\"", "ttl": 60});
    let (base, rx) = fake(vec![ok_json(rec), soa(8)]);
    let out = exec(
        &base,
        &[
            "record",
            "update",
            "example.com",
            "5",
            "www",
            "txt",
            "\"a",
            "b\"",
            "--ttl",
            "60",
            "--if-serial",
            "7",
        ],
    )
    .expect("update");
    assert!(out.stdout.contains("\"a b\""), "{}", out.stdout);
    assert!(
        out.stdout.ends_with("\nexample.com.: serial 7 -> 8\n"),
        "{}",
        out.stdout
    );
    let seen = rx.recv().expect("req");
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("PUT", "/v1/zones/example.com/records/5")
    );
    assert_eq!(seen.header("if-match"), Some("\"7\""));
    assert_eq!(
        seen.json(),
        json!({"name": "www", "type": "TXT", "content": "\"a b\"", "ttl": 60})
    );
}

#[test]
fn rrset_apply_wraps_a_list_and_rejects_non_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.json");
    std::fs::write(&path, r#"[{"name": "www", "type": "A", "records": []}]"#).expect("write");
    let p = path.to_string_lossy().into_owned();
    let (base, rx) = fake(vec![ok_json(
        json!({"zone": "example.com.", "serial_from": 4, "serial_to": 5}),
    )]);
    let out = exec(
        &base,
        &["rrset", "apply", "example.com", &p, "--if-serial", "4"],
    )
    .expect("apply");
    assert_eq!(out.stdout, "example.com.: serial 4 -> 5\n");
    let seen = rx.recv().expect("req");
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("PATCH", "/v1/zones/example.com/rrsets")
    );
    assert_eq!(seen.header("if-match"), Some("\"4\""));
    assert_eq!(
        seen.json(),
        json!({"changes": [{"name": "www", "type": "A", "records": []}]})
    );
    std::fs::write(&path, "{oops").expect("write");
    let err = exec(&base, &["rrset", "apply", "example.com", &p]).map(|_| ());
    assert!(matches!(err, Err(CliError::Usage(_))), "{err:?}");
}

#[test]
fn zone_refresh_and_retransfer_post_and_say_what_was_queued() {
    let (base, rx) = fake(vec![
        (
            202,
            "application/json",
            json!({"zone": "example.net.", "action": "refresh", "queued": true}).to_string(),
        ),
        (
            202,
            "application/json",
            json!({"zone": "example.net.", "action": "retransfer", "queued": true}).to_string(),
        ),
        (
            202,
            "application/json",
            json!({"zone": "example.net.", "action": "retransfer", "queued": true}).to_string(),
        ),
    ]);
    let out = exec(&base, &["zone", "refresh", "example.net"]).expect("refresh");
    assert_eq!(
        out.stdout,
        "refresh (SOA check) of example.net. queued; follow it with `zonecast zone status example.net.`\n"
    );
    let seen = rx.recv().expect("request");
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("POST", "/v1/zones/example.net/refresh")
    );
    let out = exec(&base, &["zone", "retransfer", "example.net"]).expect("retransfer");
    assert!(
        out.stdout
            .starts_with("full transfer (AXFR) of example.net. queued"),
        "{}",
        out.stdout
    );
    let seen = rx.recv().expect("request");
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("POST", "/v1/zones/example.net/retransfer")
    );
    let out = exec(&base, &["zone", "retransfer", "example.net", "--json"]).expect("json");
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).expect("json"),
        json!({"zone": "example.net.", "action": "retransfer", "queued": true})
    );
}

#[test]
fn zone_refresh_of_a_primary_zone_exits_1_with_the_reason() {
    let err = json!({"error": {"code": "conflict", "message": "zone example.com. is a primary zone; refresh and retransfer apply to secondary zones"}});
    let (base, _rx) = fake(vec![
        (409, "application/json", err.to_string()),
        (409, "application/json", err.to_string()),
    ]);
    assert_eq!(run_args(&base, &["zone", "refresh", "example.com"]), 1);
    match exec(&base, &["zone", "retransfer", "example.com"]) {
        Err(e @ CliError::Api { status: 409, .. }) => {
            assert!(e.to_string().contains("is a primary zone"), "{e}")
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// A secondary zone's status as `GET /v1/zones/{zone}/status` gives it (times at 1_700_000_000).
fn secondary_status_json() -> Value {
    json!({
        "zone": "example.net.", "kind": "secondary", "serial": 2024010105u32,
        "served_serial": 2024010105u32, "record_count": 42, "last_change": 1_700_000_000,
        "edges": [{"name": "fra1", "served_serial": 2024010105u32, "ready": true, "last_seen": 1_700_000_000}],
        "secondary": {
            "primary_serial": 2024010106u32, "primary": "192.0.2.1:53",
            "last_refresh": {"at": 1_700_000_000, "outcome": "transferred"},
            "last_success": 1_700_000_000,
            "last_transfer": {"type": "IXFR", "at": 1_700_000_000, "primary": "192.0.2.1:53",
                "serial_from": 2024010101u32, "serial_to": 2024010105u32, "records": 12,
                "messages": 2, "bytes": 1234, "duration_ms": 35},
            "next_refresh": 1_700_003_540, "next_refresh_in": 3540,
            "expires_at": 1_700_604_800, "expires_in": 604_800, "expired": false,
            "failures": 1,
            "last_error": {"message": "192.0.2.2:53: timeout", "at": 1_700_000_000}
        },
        "notify": {"serial": 2024010105u32, "at": 1_700_000_000, "targets": []}
    })
}

#[test]
fn zone_status_prints_the_secondary_fields_readably() {
    let (base, _rx) = fake(vec![ok_json(secondary_status_json())]);
    let out = exec(&base, &["zone", "status", "example.net"]).expect("status");
    let t = out.stdout;
    for want in [
        "serial (ours)  2024010105\n",
        "served serial  2024010105\n",
        "records        42\n",
        "secondary:\n",
        "  primary serial  2024010106 (from 192.0.2.1:53)\n",
        "  last refresh    2023-11-14T22:13:20Z, transferred\n",
        "  last success    2023-11-14T22:13:20Z\n",
        "  last transfer   IXFR 2024010101 -> 2024010105 from 192.0.2.1:53: 12 records, 2 messages, 1234 bytes, 35 ms, at 2023-11-14T22:13:20Z\n",
        "  next refresh    in 59m 0s (2023-11-14T23:12:20Z)\n",
        "  expires         in 7d 0h (2023-11-21T22:13:20Z)\n",
        "  expired         no\n",
        "  failures        1\n",
        "  last error      192.0.2.2:53: timeout (at 2023-11-14T22:13:20Z)\n",
        "edges:\n",
        "  fra1  2024010105  true   2023-11-14T22:13:20Z\n",
        "notify.serial",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    assert!(!t.contains("secondary.primary_serial"), "{t}");

    // Expired, never transferred.
    let mut v = secondary_status_json();
    v["secondary"]["expired"] = json!(true);
    v["secondary"]["expires_in"] = json!(0);
    v["secondary"]["last_transfer"] = Value::Null;
    v["secondary"]["last_error"] = Value::Null;
    let t = format::zone_status(&v);
    assert!(
        t.contains("  expires         EXPIRED since 2023-11-21T22:13:20Z\n"),
        "{t}"
    );
    assert!(t.contains("  expired         yes\n"), "{t}");
    assert!(t.contains("  last transfer   none yet\n"), "{t}");
    assert!(t.contains("  last error      -\n"), "{t}");

    // A primary zone: no secondary block, the plain serial.
    let t = format::zone_status(&json!({"zone": "example.com.", "kind": "primary",
        "serial": 7, "record_count": 3, "last_change": 0, "edges": []}));
    assert_eq!(
        t,
        "zone           example.com.\nkind           primary\nserial         7\nserved serial  -\n\
         records        3\nlast change    1970-01-01T00:00:00Z\n"
    );
}

#[test]
fn durations_are_short_and_readable() {
    assert_eq!(format::duration_text(0), "0s");
    assert_eq!(format::duration_text(59), "59s");
    assert_eq!(format::duration_text(3540), "59m 0s");
    assert_eq!(format::duration_text(3661), "1h 1m");
    assert_eq!(format::duration_text(90_000), "1d 1h");
    assert_eq!(format::duration_text(-5), "0s");
}

#[test]
fn edges_table_lists_dns_addresses() {
    let t = format::edges_table(&json!([{"name": "fra1", "ready": true, "lag_ms": 2,
        "applied_lsn": "0/1", "serials": {}, "problems": [], "last_seen": 0,
        "dns": ["192.0.2.53:53", "[2001:db8::53]:53"]}]));
    assert!(
        t.lines()
            .next()
            .is_some_and(|h| h.ends_with("PROBLEMS  DNS")),
        "{t}"
    );
    assert!(
        t.contains("0         192.0.2.53:53, [2001:db8::53]:53\n"),
        "{t}"
    );
}

#[test]
fn parses_check() {
    let cli = parse(&[
        "check",
        "example.com",
        "--server",
        "127.0.0.1",
        "--server",
        "ns.example.net:5300",
        "--timeout",
        "500",
        "--port",
        "5353",
        "--json",
    ]);
    assert!(cli.args.json);
    assert_eq!(
        cli.command,
        ClientCommand::Check(check::CheckArgs {
            zone: "example.com".into(),
            servers: vec!["127.0.0.1".into(), "ns.example.net:5300".into()],
            timeout: 500,
            port: Some(5353),
        })
    );
    match parse(&["check", "example.com"]).command {
        ClientCommand::Check(a) => {
            assert_eq!(
                (a.timeout, a.port, a.servers.len()),
                (check::DEFAULT_TIMEOUT_MS, None, 0)
            )
        }
        other => panic!("unexpected {other:?}"),
    }
    parse_err(&["check"]);
    parse_err(&["check", "example.com", "--timeout", "soon"]);
    // The client options reach `check` in the binary's layout too.
    let m = binary_command()
        .try_get_matches_from([
            "zonecast",
            "check",
            "example.com",
            "--json",
            "--api",
            "http://x",
        ])
        .expect("parse");
    let a = client_args_from(&m).expect("args");
    assert_eq!((a.api.as_str(), a.json), ("http://x", true));
}

#[test]
fn check_reads_server_arguments() {
    use check::{parse_server, Host};
    let addr = |s: &str| Host::Addr(s.parse().expect("addr"));
    assert_eq!(parse_server("192.0.2.1", 53), addr("192.0.2.1:53"));
    assert_eq!(parse_server("192.0.2.1:5300", 53), addr("192.0.2.1:5300"));
    assert_eq!(parse_server("2001:db8::1", 53), addr("[2001:db8::1]:53"));
    assert_eq!(
        parse_server("[2001:db8::1]", 5353),
        addr("[2001:db8::1]:5353")
    );
    assert_eq!(
        parse_server("[2001:db8::1]:54", 53),
        addr("[2001:db8::1]:54")
    );
    assert_eq!(
        parse_server("ns1.example.net.", 53),
        Host::Name("ns1.example.net".into(), 53)
    );
    assert_eq!(
        parse_server("localhost:5300", 53),
        Host::Name("localhost".into(), 5300)
    );
    for bad in [
        "host:port",
        "a b",
        "",
        "[nope]",
        "2001:db8::1:99999x",
        "x:70000",
    ] {
        assert!(
            matches!(parse_server(bad, 53), Host::Invalid(_)),
            "{bad:?} → {:?}",
            parse_server(bad, 53)
        );
    }
    let (asked, note) = check::edge_address("e1", "0.0.0.0:5300".parse().expect("addr"));
    assert_eq!(asked, "127.0.0.1:5300".parse().expect("addr"));
    assert!(note.is_some_and(|n| n.contains("edge e1 listens on 0.0.0.0:5300")));
    let (asked, _) = check::edge_address("e1", "[::]:53".parse().expect("addr"));
    assert_eq!(asked, "[::1]:53".parse().expect("addr"));
    let (asked, note) = check::edge_address("e1", "192.0.2.9:53".parse().expect("addr"));
    assert_eq!((asked, note), ("192.0.2.9:53".parse().expect("addr"), None));
}

#[test]
fn check_discovers_ns_addresses_primaries_and_edges_through_the_api() {
    let (base, rx) = fake(vec![
        ok_json(
            json!({"name": "example.net.", "kind": "secondary", "serial": 5,
            "settings": {"primaries": ["192.0.2.1:53", "192.0.2.2", "primary.example.org"]}}),
        ),
        ok_json(json!({"name": "example.net.", "type": "NS", "ttl": 300,
            "records": ["ns1.example.net.", "ns2.example.net.", "ns.elsewhere.test."]})),
        ok_json(json!([
            {"name": "ns1.example.net.", "type": "A", "ttl": 300, "records": ["127.0.0.1"]},
            {"name": "ns1.example.net.", "type": "AAAA", "ttl": 300, "records": ["::1"]},
            {"name": "ns1.example.net.", "type": "TXT", "ttl": 300, "records": ["\"1.2.3.4\""]}
        ])),
        ok_json(json!([])),
        ok_json(json!([
            {"name": "e1", "dns": ["0.0.0.0:5300", "192.0.2.9:53"]},
            {"name": "old"}
        ])),
    ]);
    let client = Client::new(&base, Some("zc_secret")).expect("client");
    let zone = check::parse_zone("Example.NET").expect("zone");
    let d = check::discover(&client, &zone, 5353).expect("discover");
    let targets: Vec<String> = (0..5).map(|_| rx.recv().expect("request").target).collect();
    assert_eq!(
        targets,
        [
            "/v1/zones/example.net.",
            "/v1/zones/example.net./rrsets/%40/NS",
            "/v1/zones/example.net./rrsets?name=ns1.example.net.",
            "/v1/zones/example.net./rrsets?name=ns2.example.net.",
            "/v1/edges",
        ]
    );
    use check::{Candidate, Host, Source};
    let c = |source, name: Option<&str>, host| Candidate {
        source,
        name: name.map(str::to_string),
        host,
    };
    let addr = |s: &str| Host::Addr(s.parse().expect("addr"));
    assert_eq!(
        d.candidates,
        vec![
            c(Source::Ns, Some("ns1.example.net."), addr("127.0.0.1:5353")),
            c(Source::Ns, Some("ns1.example.net."), addr("[::1]:5353")),
            // In the zone but without an address there: left to the resolver.
            c(
                Source::Ns,
                Some("ns2.example.net."),
                Host::Name("ns2.example.net".into(), 5353)
            ),
            c(
                Source::Ns,
                Some("ns.elsewhere.test."),
                Host::Name("ns.elsewhere.test".into(), 5353)
            ),
            c(Source::Primary, None, addr("192.0.2.1:53")),
            c(Source::Primary, None, addr("192.0.2.2:53")),
            c(
                Source::Primary,
                None,
                Host::Name("primary.example.org".into(), 53)
            ),
            c(Source::Edge, Some("e1"), addr("127.0.0.1:5300")),
            c(Source::Edge, Some("e1"), addr("192.0.2.9:53")),
        ]
    );
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("edge e1 listens on 0.0.0.0:5300; asking 127.0.0.1:5300")),
        "{:?}",
        d.notes
    );
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("edge old reports no DNS address")),
        "{:?}",
        d.notes
    );
}

#[test]
fn check_discovery_copes_with_no_ns_and_unlisted_edges_but_not_an_unknown_zone() {
    let forbidden = json!({"error": {"code": "forbidden", "message": "no"}}).to_string();
    let missing = json!({"error": {"code": "not_found", "message": "no such RRset"}}).to_string();
    let (base, _rx) = fake(vec![
        ok_json(
            json!({"name": "example.com.", "kind": "primary", "serial": 1,
            "settings": {"primaries": ["192.0.2.1:53"]}}),
        ),
        (404, "application/json", missing),
        (403, "application/json", forbidden),
        (
            404,
            "application/json",
            json!({"error": {"code": "not_found", "message": "zone example.org. not found"}})
                .to_string(),
        ),
    ]);
    let client = Client::new(&base, None).expect("client");
    let zone = check::parse_zone("example.com.").expect("zone");
    let d = check::discover(&client, &zone, 53).expect("discover");
    // A primary zone's `primaries` setting is not asked.
    assert_eq!(d.candidates, vec![]);
    assert!(
        d.notes.iter().any(|n| n.contains("no apex NS")),
        "{:?}",
        d.notes
    );
    assert!(
        d.notes.iter().any(|n| n.contains("cannot list the edges")),
        "{:?}",
        d.notes
    );
    let zone = check::parse_zone("example.org").expect("zone");
    assert!(matches!(
        check::discover(&client, &zone, 53),
        Err(CliError::Api { status: 404, .. })
    ));
}

/// How a fake nameserver answers an SOA query.
#[derive(Clone, Copy)]
struct Answer {
    serial: u32,
    aa: bool,
    rcode: u8,
    /// Over UDP: truncated, no records (the serial comes over TCP).
    truncate: bool,
}

impl Answer {
    fn ok(serial: u32) -> Answer {
        Answer {
            serial,
            aa: true,
            rcode: 0,
            truncate: false,
        }
    }
}

/// An answer to `query` (one question, as `build_query` writes it).
fn dns_answer(query: &[u8], a: Answer, over_tcp: bool) -> Vec<u8> {
    // Header, then the question as asked (ends 4 octets after the qname's root label).
    let mut end = 12;
    while query[end] != 0 {
        end += usize::from(query[end]) + 1;
    }
    end += 5;
    let truncated = a.truncate && !over_tcp;
    let with_soa = !truncated && a.rcode == 0;
    let mut out = query[..2].to_vec();
    out.push(0x80 | if a.aa { 0x04 } else { 0 } | if truncated { 0x02 } else { 0 });
    out.push(a.rcode);
    out.extend_from_slice(&[0, 1, 0, u8::from(with_soa), 0, 0, 0, 0]);
    out.extend_from_slice(&query[12..end]);
    if with_soa {
        let mut rdata = Vec::new();
        rdata.extend_from_slice(b"\x03ns1\xc0\x0c\x0ahostmaster\xc0\x0c");
        for v in [a.serial, 3600, 900, 1_209_600, 300] {
            rdata.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(&[0xc0, 0x0c, 0, 6, 0, 1, 0, 0, 0x0e, 0x10]);
        out.extend_from_slice(&u16::try_from(rdata.len()).expect("len").to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    out
}

/// A port in 10000..32000 free for UDP and TCP on 127.0.0.1, with both bound.
fn low_port_sockets() -> (std::net::UdpSocket, TcpListener) {
    use std::hash::{BuildHasher, Hasher};
    for _ in 0..1000 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let port = 10000 + (h.finish() % 22000) as u16;
        if let (Ok(u), Ok(t)) = (
            std::net::UdpSocket::bind(("127.0.0.1", port)),
            TcpListener::bind(("127.0.0.1", port)),
        ) {
            return (u, t);
        }
    }
    panic!("no free port in 10000..32000");
}

/// A fake nameserver on 127.0.0.1 answering every SOA query with `a` (UDP and TCP).
fn fake_ns(a: Answer) -> String {
    let (udp, tcp) = low_port_sockets();
    let addr = udp.local_addr().expect("addr");
    thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(&dns_answer(&buf[..n], a, false), from);
        }
    });
    thread::spawn(move || {
        for s in tcp.incoming() {
            let Ok(mut s) = s else { return };
            let mut len = [0u8; 2];
            if s.read_exact(&mut len).is_err() {
                continue;
            }
            let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if s.read_exact(&mut q).is_err() {
                continue;
            }
            let r = dns_answer(&q, a, true);
            let mut framed = u16::try_from(r.len()).expect("len").to_be_bytes().to_vec();
            framed.extend_from_slice(&r);
            let _ = s.write_all(&framed);
        }
    });
    addr.to_string()
}

/// A 127.0.0.1 address below 32768 that nothing listens on (bound, then released).
fn silent_addr() -> String {
    let (udp, _tcp) = low_port_sockets();
    udp.local_addr().expect("addr").to_string()
}

fn check_servers(servers: &[String]) -> check::Report {
    let args = check::CheckArgs {
        zone: "example.com".into(),
        servers: servers.to_vec(),
        timeout: 1000,
        port: None,
    };
    // The API is not asked when servers are given.
    check::check(&args, "http://127.0.0.1:1", None).expect("check")
}

#[test]
fn check_is_consistent_when_every_server_has_the_same_serial() {
    let (a, b) = (fake_ns(Answer::ok(7)), fake_ns(Answer::ok(7)));
    let r = check_servers(&[a.clone(), b.clone()]);
    assert_eq!(r.exit_code(), check::EXIT_CONSISTENT, "{r:?}");
    assert_eq!(r.consistent_serial(), Some(7));
    assert!(r.results.iter().all(|x| x.ms.is_some_and(|m| m >= 0.0)));
    let out = r.output(false);
    assert!(out.stdout.starts_with("SERVER"), "{}", out.stdout);
    for s in [&a, &b] {
        assert!(
            out.stdout.lines().any(|l| l.starts_with(s.as_str())
                && l.contains("given")
                && l.contains(" 7 ")
                && l.ends_with("ok")),
            "{}",
            out.stdout
        );
    }
    assert!(
        out.stdout
            .contains("example.com.: consistent, serial 7 on 2 servers"),
        "{}",
        out.stdout
    );
    assert_eq!(out.stderr, "");
    let j = r.to_json();
    assert_eq!(j["consistent"], true);
    assert_eq!(j["serial"], 7);
    assert_eq!(j["zone"], "example.com.");
    assert_eq!(j["servers"][0]["server"], a.as_str());
    assert_eq!(j["servers"][0]["source"], "given");
    assert_eq!(j["servers"][0]["error"], Value::Null);
    assert!(j["servers"][1]["ms"].is_number());
}

#[test]
fn check_exits_1_when_serials_differ() {
    let r = check_servers(&[fake_ns(Answer::ok(7)), fake_ns(Answer::ok(8))]);
    assert_eq!(r.exit_code(), check::EXIT_DIFFERENT, "{r:?}");
    assert_eq!(r.consistent_serial(), None);
    let j = r.to_json();
    assert_eq!(
        (j["consistent"].clone(), j["serial"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(j["servers"][0]["serial"], 7);
    assert_eq!(j["servers"][1]["serial"], 8);
    assert!(
        r.summary()
            .contains("serials differ: 7 on 1 server, 8 on 1 server"),
        "{}",
        r.summary()
    );
}

#[test]
fn check_exits_2_for_silent_refusing_or_non_authoritative_servers() {
    let ok = fake_ns(Answer::ok(7));
    let silent = silent_addr();
    let refused = fake_ns(Answer {
        rcode: 5,
        ..Answer::ok(7)
    });
    let lame = fake_ns(Answer {
        aa: false,
        ..Answer::ok(7)
    });
    let r = check_servers(&[ok, silent.clone(), refused.clone(), lame.clone()]);
    assert_eq!(r.exit_code(), check::EXIT_FAILED, "{r:?}");
    let status = |s: &str| {
        r.results
            .iter()
            .find(|x| x.target.server() == s)
            .map(|x| x.status.clone())
            .expect("server in the report")
    };
    assert!(
        matches!(status(&silent), check::Status::NoAnswer(_)),
        "{:?}",
        status(&silent)
    );
    assert_eq!(status(&refused), check::Status::Rcode(5));
    assert_eq!(status(&lame), check::Status::NotAuthoritative);
    let out = r.output(false);
    assert!(
        out.stderr
            .contains(&format!("error: {silent} (given): no answer (")),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("rcode REFUSED"), "{}", out.stdout);
    assert!(out.stdout.contains("not authoritative"), "{}", out.stdout);
    assert!(
        out.stdout.contains("3 of 4 servers failed"),
        "{}",
        out.stdout
    );
    let j = r.to_json();
    assert_eq!(j["consistent"], false);
    assert_eq!(j["servers"][1]["status"], "no_answer");
    assert!(j["servers"][1]["error"].is_string());
}

#[test]
fn check_retries_over_tcp_when_truncated() {
    let tc = fake_ns(Answer {
        truncate: true,
        ..Answer::ok(42)
    });
    let r = check_servers(&[tc]);
    assert_eq!(r.exit_code(), check::EXIT_CONSISTENT, "{r:?}");
    assert_eq!(r.consistent_serial(), Some(42));
}

#[test]
fn check_merges_duplicates_and_reports_unusable_servers() {
    let a = fake_ns(Answer::ok(3));
    let r = check_servers(&[a.clone(), a.clone(), "no such host!".into()]);
    assert_eq!(r.results.len(), 2, "{r:?}");
    assert_eq!(r.results[0].target.server(), a);
    assert_eq!(r.exit_code(), check::EXIT_FAILED);
    assert!(
        matches!(&r.results[1].status, check::Status::NoAnswer(why) if why.contains("no address or host name")),
        "{:?}",
        r.results[1]
    );
    // No server at all is a failure too, with a clear message.
    let empty = check::Report {
        zone: "example.com.".into(),
        results: vec![],
        notes: vec![],
    };
    assert_eq!(empty.exit_code(), check::EXIT_FAILED);
    assert!(empty.output(false).stderr.contains("no nameserver to ask"));
}
