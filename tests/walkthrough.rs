//! The README walkthrough ("Manage zones through the API and the CLI")
//! through the real binary: its commands are read from the README and run
//! one by one — `zonecast serve` with its API, `curl` as HTTP requests, the
//! `zonecast` CLI as the client, `dig` as DNS queries — with DNS answering
//! each change as soon as the command returns; refused commands change
//! nothing. The walkthrough runs beside the server that "Try it" leaves
//! running, so it must not use that server's ports.

pub mod common;

use common::{query_tcp, query_udp, Zonecast};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::{Name, Rtype};

const README: &str = include_str!("../README.md");
/// Where "Try it" leaves its server: `zonecast serve` without address flags,
/// so the defaults of `--dns-listen` and `--api-listen` (read from `serve -h`).
fn try_it_addresses() -> (String, String) {
    (
        common::serve_default("--dns-listen"),
        common::serve_default("--api-listen"),
    )
}
/// How the README calls the binary.
const BIN: &str = "target/release/zonecast";

/// The shell block of the walkthrough section: continuation lines joined,
/// comments and blank lines left out.
fn walkthrough_block() -> &'static str {
    let section = README
        .split("\n## Manage zones through the API and the CLI\n")
        .nth(1)
        .expect("README has the walkthrough section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("the walkthrough section has a sh block")
}

fn walkthrough_commands() -> Vec<String> {
    let mut cmds = Vec::new();
    let mut cur = String::new();
    for line in walkthrough_block().lines() {
        if let Some(part) = line.strip_suffix('\\') {
            cur.push_str(part);
            cur.push(' ');
            continue;
        }
        cur.push_str(line);
        let cmd = cur.split_whitespace().collect::<Vec<_>>().join(" ");
        cur.clear();
        if !cmd.is_empty() && !cmd.starts_with('#') {
            cmds.push(cmd);
        }
    }
    cmds
}

/// The value after `flag` in a command.
fn flag_value<'a>(cmd: &'a str, flag: &str) -> Option<&'a str> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    words.windows(2).find(|w| w[0] == flag).map(|w| w[1])
}

fn serve_command(cmds: &[String]) -> &str {
    cmds.iter()
        .find(|c| c.starts_with(&format!("{BIN} serve ")))
        .expect("the walkthrough starts a server")
}

#[test]
fn readme_walkthrough_does_not_reuse_the_try_it_ports() {
    let cmds = walkthrough_commands();
    let serve = serve_command(&cmds);
    let dns = flag_value(serve, "--dns-listen").expect("serve sets --dns-listen");
    let api = flag_value(serve, "--api-listen").expect("serve sets --api-listen");
    let (try_it_dns, try_it_api) = try_it_addresses();
    assert_ne!(dns, try_it_dns, "{serve}");
    assert_ne!(api, try_it_api, "{serve}");
    let dns_port = dns.rsplit(':').next().unwrap();

    // Every DNS query goes to this server, every URL is its API.
    let digs: Vec<&String> = cmds.iter().filter(|c| c.starts_with("dig ")).collect();
    assert!(!digs.is_empty());
    for d in digs {
        assert_eq!(flag_value(d, "-p"), Some(dns_port), "{d}");
        assert!(d.starts_with("dig @127.0.0.1 "), "{d}");
    }
    let block = walkthrough_block();
    for (at, _) in block.match_indices("http://") {
        let host = block[at + "http://".len()..]
            .split(|c: char| c == '/' || c.is_whitespace())
            .next()
            .unwrap();
        assert_eq!(host, api, "a URL of the walkthrough");
    }
    assert!(
        cmds.iter()
            .any(|c| c.starts_with("export ") && c.contains(&format!("ZONECAST_API=http://{api} "))),
        "the walkthrough points the CLI at http://{api}"
    );
    for c in cmds.iter().filter(|c| c.contains("curl ")) {
        assert!(c.contains("$ZONECAST_API/"), "{c}");
    }
}

/// One HTTP/1.1 request; returns the status and body.
fn http(api: SocketAddr, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(api).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: walkthrough\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {resp:?}"));
    let body = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_string())
}

/// The text between the first pair of single quotes after `marker`.
fn quoted_after<'a>(cmd: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &cmd[cmd.find(marker)? + marker.len()..];
    let rest = &rest[rest.find('\'')? + 1..];
    Some(&rest[..rest.find('\'')?])
}

/// Runs a `curl` line of the walkthrough as an HTTP request to `api`.
fn curl(api: SocketAddr, token: &str, cmd: &str) -> (u16, String) {
    let method = flag_value(cmd, "-X").unwrap_or("GET");
    let url = cmd
        .split_whitespace()
        .find(|w| w.starts_with("$ZONECAST_API/"))
        .unwrap_or_else(|| panic!("no $ZONECAST_API URL in {cmd}"));
    let path = url.trim_start_matches("$ZONECAST_API");
    let body = if cmd.contains("$(python3") {
        // The zone file, JSON-encoded by python3 into the body.
        assert!(
            cmd.contains("open(\"examples/example.com.zone\")")
                && cmd.contains(r#"\"name\": \"example.com\""#),
            "{cmd}"
        );
        let zonefile = include_str!("../examples/example.com.zone");
        format!(
            "{{\"name\": \"example.com\", \"zonefile\": {}}}",
            json_string(zonefile)
        )
    } else {
        quoted_after(cmd, " -d ").unwrap_or("").to_string()
    };
    http(api, method, path, token, &body)
}

/// `text` as a JSON string (what `json.dumps` makes of it).
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn cli(api: &str, token: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zonecast"))
        .args(args)
        .env("ZONECAST_API", api)
        .env("ZONECAST_API_TOKEN", token)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn answer(zc: &Zonecast, name: &str, qtype: Rtype) -> Message {
    let q = build_query(1, &name.parse::<Name>().unwrap(), qtype, Some(1232));
    Message::parse(&query_udp(zc.addr(), &q).expect("DNS answer")).unwrap()
}

/// Runs a `dig` line of the walkthrough against `zc`; returns the answer.
fn dig(zc: &Zonecast, cmd: &str) -> Message {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let port_at = words.iter().position(|w| *w == "-p").expect("dig -p");
    let name = format!("{}.", words[port_at + 2]);
    let qtype = Rtype::from_text(words[port_at + 3]).unwrap();
    let q = build_query(1, &name.parse::<Name>().unwrap(), qtype, Some(1232));
    let wire = if words.contains(&"+tcp") {
        query_tcp(zc.addr(), &q)
    } else {
        query_udp(zc.addr(), &q).expect("DNS answer")
    };
    Message::parse(&wire).unwrap()
}

fn a_records(m: &Message) -> Vec<Vec<u8>> {
    m.answer.iter().map(|r| r.rdata.to_vec()).collect()
}

fn serial(zc: &Zonecast) -> u32 {
    let m = answer(zc, "example.com.", Rtype::SOA);
    let d = &m.answer[0].rdata;
    u32::from_be_bytes(d[d.len() - 20..d.len() - 16].try_into().unwrap())
}

#[test]
fn readme_walkthrough_through_the_binary() {
    let cmds = walkthrough_commands();
    // The README's serve flags, but the harness's free ports and store: the
    // README's own ports may be taken on this machine.
    let serve = serve_command(&cmds);
    let mut serve_args = Vec::new();
    let mut words = serve
        .trim_end_matches('&')
        .split_whitespace()
        .skip(2)
        .peekable();
    while let Some(w) = words.next() {
        if ["--data-dir", "--dns-listen", "--api-listen"].contains(&w) {
            words.next();
        } else {
            serve_args.push(w.to_string());
        }
    }
    let zc = Zonecast::start_with_args(&serve_args);
    let api_addr = zc.api_addr().expect("the harness chose the API port");
    let api = format!("http://{api_addr}");
    let mut tok = String::new();
    let mut answers = Vec::new();

    for cmd in &cmds {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        match words[0] {
            _ if cmd.as_str() == serve => {}
            "export" => {
                for w in &words[1..] {
                    if let Some(t) = w.strip_prefix("ZONECAST_API_TOKEN=") {
                        tok = t.to_string();
                    }
                }
            }
            // Waiting for the API: the harness waited for DNS; the API is up too.
            "until" => {
                assert!(cmd.contains("$ZONECAST_API/v1/health"), "{cmd}");
                assert_eq!(http(api_addr, "GET", "/v1/health", "", "").0, 200);
            }
            "curl" => {
                let (status, body) = curl(api_addr, &tok, cmd);
                assert!((200..300).contains(&status), "{cmd}: {status} {body}");
            }
            "dig" => {
                let m = dig(&zc, cmd);
                assert_eq!(m.rcode(), 0, "{cmd}");
                assert!(!m.answer.is_empty(), "{cmd}: no answer");
                answers.push((words[4].to_string(), a_records(&m)));
            }
            BIN => {
                assert!(!cmd.contains(['\'', '"', '$']), "{cmd}: quoting");
                let (code, out, err) = cli(&api, &tok, &words[1..]);
                assert_eq!(code, 0, "{cmd}: {out}{err}");
                if words[1..3] == ["record", "add"] || words[1..3] == ["rrset", "set"] {
                    assert!(out.contains("example.com.: serial "), "{cmd}: {out}");
                }
            }
            "kill" => assert_eq!(cmd.as_str(), "kill %1 # stop this server"),
            _ => panic!("the test does not know how to run `{cmd}` of the README"),
        }
    }
    assert_eq!(tok, "secret-admin-token");
    assert_eq!(
        answers,
        [
            ("api.example.com".to_string(), vec![vec![192, 0, 2, 77]]),
            ("cli.example.com".to_string(), vec![vec![192, 0, 2, 78]]),
        ]
    );
    let m = answer(&zc, "www.example.com.", Rtype::A);
    assert_eq!(m.answer.len(), 2);
    assert!(m.answer.iter().all(|r| r.ttl == 600));

    // Refused: bad rdata (422), a wrong token (401). Exit 1, nothing changes.
    let before = serial(&zc);
    let (code, _, err) = cli(
        &api,
        &tok,
        &["record", "add", "example.com", "bad", "A", "192.0.2.300"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("192.0.2.300"), "{err}");
    let (code, _, _) = cli(
        &api,
        "wrong-token",
        &["record", "add", "example.com", "x", "A", "192.0.2.1"],
    );
    assert_eq!(code, 1);
    assert_eq!(serial(&zc), before);
    assert_eq!(answer(&zc, "bad.example.com.", Rtype::A).rcode(), 3);

    let (code, out, err) = cli(&api, &tok, &["zone", "export", "example.com"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("192.0.2.78") && out.contains("$ORIGIN example.com."),
        "{out}"
    );

    // An unreachable API is exit 2.
    let (code, _, _) = cli("http://127.0.0.1:1", &tok, &["zone", "list"]);
    assert_eq!(code, 2);
}
