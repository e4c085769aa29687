//! The README walkthrough through the real binary: `zonecast serve` with its
//! API, the `zonecast` CLI as the client, and DNS answering each change as
//! soon as the command returns; refused commands change nothing.

pub mod common;

use common::{query_udp, Zonecast};
use std::process::Command;
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::{Name, Rtype};

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

fn serial(zc: &Zonecast) -> u32 {
    let m = answer(zc, "example.com.", Rtype::SOA);
    let d = &m.answer[0].rdata;
    u32::from_be_bytes(d[d.len() - 20..d.len() - 16].try_into().unwrap())
}

#[test]
fn readme_walkthrough_through_the_binary() {
    // The harness puts DNS and the API on free ports, chosen anew if a start attempt fails.
    let zc = Zonecast::start_with_args(&["--api-token".into(), "walkthrough-token".into()]);
    let api = format!(
        "http://{}",
        zc.api_addr().expect("the harness chose the API port")
    );
    let zonefile = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/example.com.zone");
    let tok = "walkthrough-token";

    let (code, _, err) = cli(
        &api,
        tok,
        &["zone", "create", "example.com", "--file", zonefile],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(answer(&zc, "example.com.", Rtype::SOA).answer.len(), 1);

    let (code, _, err) = cli(
        &api,
        tok,
        &[
            "rrset",
            "set",
            "example.com",
            "www",
            "A",
            "192.0.2.80",
            "192.0.2.81",
            "--ttl",
            "600",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let m = answer(&zc, "www.example.com.", Rtype::A);
    assert_eq!(m.answer.len(), 2);
    assert!(m.answer.iter().all(|r| r.ttl == 600));

    let (code, _, err) = cli(
        &api,
        tok,
        &[
            "record",
            "add",
            "example.com",
            "cli",
            "A",
            "192.0.2.78",
            "--ttl",
            "300",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        answer(&zc, "cli.example.com.", Rtype::A).answer[0]
            .rdata
            .as_ref(),
        [192, 0, 2, 78]
    );

    // Refused: bad rdata (422), a wrong token (401). Exit 1, nothing changes.
    let before = serial(&zc);
    let (code, _, err) = cli(
        &api,
        tok,
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

    let (code, out, err) = cli(&api, tok, &["zone", "export", "example.com"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("192.0.2.78") && out.contains("$ORIGIN example.com."),
        "{out}"
    );

    // An unreachable API is exit 2.
    let (code, _, _) = cli("http://127.0.0.1:1", tok, &["zone", "list"]);
    assert_eq!(code, 2);
}
