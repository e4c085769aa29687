//! zonecast as secondary of real primaries (issue 9): knotd and named serve
//! a zone and allow transfers with TSIG; zonecast takes the initial AXFR,
//! follows changes made with the primaries' own tools (`knotc`,
//! `nsupdate`) by NOTIFY and IXFR within 1 s, works with a primary that
//! offers only AXFR, keeps serving while the primary is down until the SOA
//! expire, then answers SERVFAIL, and recovers when the primary returns.
//! What zonecast serves is compared with the primary by `kdig AXFR`.

pub mod common;

use common::peers::PeerKey;
use common::primaries::{Ixfr, Primary};
use common::{free_port, query_udp, require_tool, Zonecast};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::{Name, Rtype};

const TOKEN: &str = "secondary-token";
const SECRET: &str = "c2Vjb25kYXJ5LXNlY3JldC1zZWNvbmRhcnktc2VjcmV0";
const KEY: &str = "xfr-in-key";

fn key() -> PeerKey<'static> {
    PeerKey {
        name: KEY,
        secret: SECRET,
    }
}

/// A zone with timers short enough to watch expire: refresh 2, retry 1, expire 8.
fn zone_text(zone: &str) -> String {
    let mut z = format!(
        "$ORIGIN {zone}.\n$TTL 300\n@ SOA ns1 hostmaster 1 2 1 8 60\n@ NS ns1\n@ NS ns2.elsewhere.example.\n\
         @ MX 10 mail\n@ TXT \"v=spf1 -all\"\nns1 A 192.0.2.1\nmail A 192.0.2.25\nwww CNAME @\n\
         *.wild TXT \"w\"\nsub NS ns.sub\nns.sub A 192.0.2.53\n_sip._tcp SRV 0 5 5060 sip\nsip AAAA 2001:db8::5\n"
    );
    for i in 0..300 {
        z.push_str(&format!("h{i} A 10.0.{}.{}\n", i / 250, i % 250));
    }
    z
}

fn curl(z: &Zonecast, method: &str, path: &str, body: &str) -> (u16, String) {
    common::curl_api(z.api_addr().unwrap(), TOKEN, z.dir(), method, path, body)
}

/// The SOA answer at `addr`: (rcode, serial when answered).
fn soa_at(addr: SocketAddr, zone: &str) -> Option<(u16, Option<u32>)> {
    let q = build_query(
        9,
        &format!("{zone}.").parse::<Name>().unwrap(),
        Rtype::SOA,
        None,
    );
    let m = Message::parse(&query_udp(addr, &q)?).ok()?;
    let serial = m.answer.first().map(|soa| {
        let n = soa.rdata.len();
        u32::from_be_bytes([
            soa.rdata[n - 20],
            soa.rdata[n - 19],
            soa.rdata[n - 18],
            soa.rdata[n - 17],
        ])
    });
    Some((m.rcode(), serial))
}

/// Waits (up to `limit`) until `ok` holds for the SOA answer; how long it took.
fn wait_for(
    z: &Zonecast,
    zone: &str,
    limit: Duration,
    what: &str,
    ok: impl Fn(Option<(u16, Option<u32>)>) -> bool,
) -> Duration {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok(soa_at(z.addr(), zone)) {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!(
        "{what} not seen within {limit:?}; last answer {:?}; status {}; zonecast log:\n{}",
        soa_at(z.addr(), zone),
        status(z, zone),
        z.log_text()
    );
}

fn status(z: &Zonecast, zone: &str) -> serde_json::Value {
    let (code, t) = curl(z, "GET", &format!("/v1/zones/{zone}/status"), "");
    assert_eq!(code, 200, "{t}");
    serde_json::from_str(&t).unwrap()
}

/// The zone as `kdig AXFR` prints it (signed when `signed`), one sorted line per record, SOA once.
fn kdig_axfr(addr: SocketAddr, zone: &str, signed: bool) -> Vec<String> {
    let mut cmd = std::process::Command::new(require_tool("kdig"));
    cmd.arg(format!("@{}", addr.ip()))
        .arg("-p")
        .arg(addr.port().to_string())
        .args(["+nocomments", "+nostats", "+noheader", "AXFR"])
        .arg(format!("{zone}."));
    if signed {
        cmd.arg("-y").arg(format!("hmac-sha256:{KEY}:{SECRET}"));
    }
    let out = cmd.output().expect("running kdig");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(';'))
        .filter(|l| !l.contains("\tTSIG\t") && !l.contains(" TSIG "))
        .map(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        })
        .collect();
    lines.sort();
    lines.dedup();
    assert!(
        lines.len() > 10,
        "kdig AXFR from {addr} gave too little: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lines
}

fn answers_a(z: &Zonecast, name: &str, want: &str) -> bool {
    let q = build_query(11, &name.parse::<Name>().unwrap(), Rtype::A, None);
    let Some(m) = query_udp(z.addr(), &q).and_then(|a| Message::parse(&a).ok()) else {
        return false;
    };
    m.answer.iter().any(|r| {
        r.rtype == Rtype::A && r.rdata[..] == want.parse::<std::net::Ipv4Addr>().unwrap().octets()
    })
}

/// A change on the primary reaches zonecast by NOTIFY + IXFR (or AXFR when
/// `via` says so) within 1 s; returns how long it took.
fn change_reaches_zonecast(
    primary: &Primary,
    z: &Zonecast,
    zone: &str,
    n: u32,
    via: &str,
) -> Duration {
    let before = status(z, zone)["serial"].as_u64().unwrap();
    let addr = format!("192.0.2.{}", 100 + n);
    let changed = Instant::now();
    primary.set_a("changed", &addr);
    let name = format!("changed.{zone}.");
    while !answers_a(z, &name, &addr) {
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "{} change {n} not served within 1 s; status {}\nzonecast log:\n{}\nprimary log:\n{}",
            primary.kind,
            status(z, zone),
            z.log_text(),
            primary.log()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = changed.elapsed();
    let st = status(z, zone);
    let t = &st["secondary"]["last_transfer"];
    assert_eq!(t["type"], via, "{st}");
    assert_eq!(t["serial_from"].as_u64(), Some(before), "{st}");
    assert!(
        t["serial_to"].as_u64().unwrap() > before,
        "the primary's serial is kept: {st}"
    );
    assert_eq!(st["serial"], t["serial_to"], "{st}");
    took
}

#[test]
fn knotd_primary_with_tsig_axfr_ixfr_expiry_and_recovery() {
    let zone = "knot-primary.test";
    // The initial AXFR, signed.
    let (z, mut primary) = following("knotd", zone, true, Ixfr::Journal);
    let st = status(&z, zone);
    assert_eq!(st["secondary"]["last_transfer"]["type"], "AXFR", "{st}");
    assert_eq!(st["secondary"]["primary_serial"], 1, "{st}");
    assert_same_as_primary(&z, &primary, zone, true);

    // Changes with knotc: NOTIFY, then IXFR, served within 1 s.
    for n in 1..=3 {
        let took = change_reaches_zonecast(&primary, &z, zone, n, "IXFR");
        eprintln!("knotd change {n}: served by zonecast {took:?} after knotc zone-commit");
    }
    assert_same_as_primary(&z, &primary, zone, true);
    assert!(
        z.log_text()
            .contains("NOTIFY accepted from a primary of the zone"),
        "{}",
        z.log_text()
    );

    // The primary goes down: served until the SOA expire (8 s), then SERVFAIL.
    let serial = status(&z, zone)["serial"].as_u64().unwrap() as u32;
    primary.stop();
    let down = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        soa_at(z.addr(), zone),
        Some((0, Some(serial))),
        "served while the primary is down"
    );
    let st = status(&z, zone);
    assert_eq!(st["secondary"]["last_refresh"]["outcome"], "error", "{st}");
    assert!(st["secondary"]["last_error"]["message"].is_string(), "{st}");
    assert!(st["secondary"]["expires_in"].as_u64().unwrap() <= 8, "{st}");
    wait_for(
        &z,
        zone,
        Duration::from_secs(12),
        "SERVFAIL after expiry",
        |a| a.is_some_and(|(rcode, _)| rcode == 2),
    );
    assert!(
        down.elapsed() >= Duration::from_secs(5),
        "expired too early: {:?}",
        down.elapsed()
    );
    let st = status(&z, zone);
    assert_eq!(st["secondary"]["expired"], true, "{st}");
    let (code, metrics) = curl(&z, "GET", "/metrics", "");
    assert_eq!(code, 200);
    assert!(
        metrics.contains(&format!("zonecast_secondary_expired{{zone=\"{zone}.\"}} 1")),
        "{metrics}"
    );

    // The primary returns: served again at the next retry.
    primary.restart();
    wait_for(&z, zone, Duration::from_secs(5), "recovery", |a| {
        a == Some((0, Some(serial)))
    });
    let st = status(&z, zone);
    assert_eq!(st["secondary"]["expired"], false, "{st}");
    assert_same_as_primary(&z, &primary, zone, true);
}

#[test]
fn named_primary_with_tsig_follows_nsupdate_by_ixfr() {
    let zone = "named-primary.test";
    let (z, primary) = following("named", zone, true, Ixfr::Journal);
    assert_same_as_primary(&z, &primary, zone, true);
    for n in 1..=3 {
        let took = change_reaches_zonecast(&primary, &z, zone, n, "IXFR");
        eprintln!("named change {n}: served by zonecast {took:?} after nsupdate");
    }
    assert_same_as_primary(&z, &primary, zone, true);
}

#[test]
fn named_primary_offering_only_axfr_works() {
    let zone = "axfr-only.test";
    let (z, primary) = following("named", zone, false, Ixfr::AxfrOnly);
    for n in 1..=2 {
        change_reaches_zonecast(&primary, &z, zone, n, "AXFR");
    }
    assert_same_as_primary(&z, &primary, zone, false);
}

/// zonecast following `kind` serving `zone` (signed with the key when
/// `signed`), once zonecast serves the initial AXFR (serial 1).
fn following(kind: &'static str, zone: &str, signed: bool, ixfr: Ixfr) -> (Zonecast, Primary) {
    let z = secondary_placeholder();
    let key = signed.then(key);
    let primary = Primary::start(
        kind,
        free_port(),
        zone,
        &zone_text(zone),
        z.addr(),
        key,
        ixfr,
    );
    add_secondary(&z, zone, primary.addr, signed);
    wait_for(&z, zone, Duration::from_secs(10), "the initial AXFR", |a| {
        a == Some((0, Some(1)))
    });
    (z, primary)
}

/// What zonecast serves equals the primary's zone, both read by `kdig AXFR`.
fn assert_same_as_primary(z: &Zonecast, primary: &Primary, zone: &str, signed: bool) {
    assert_eq!(
        kdig_axfr(z.addr(), zone, false),
        kdig_axfr(primary.addr, zone, signed),
        "zonecast and {} serve different {zone}",
        primary.kind
    );
}

/// zonecast with the key and short timer bounds, no zone yet.
fn secondary_placeholder() -> Zonecast {
    let args: Vec<String> = [
        "--api-token",
        TOKEN,
        "--refresh-min",
        "1",
        "--expire-min",
        "1",
    ]
    .map(String::from)
    .to_vec();
    let z = Zonecast::start_with_args(&args);
    let k = serde_json::json!({"name": KEY, "algorithm": "hmac-sha256", "secret": SECRET});
    assert_eq!(curl(&z, "POST", "/v1/tsig-keys", &k.to_string()).0, 201);
    z
}

fn add_secondary(z: &Zonecast, zone: &str, primary: SocketAddr, with_key: bool) {
    let mut body = serde_json::json!({
        "name": zone, "kind": "secondary", "primaries": [primary.to_string()],
        "allow_transfer": ["127.0.0.1"],
    });
    if with_key {
        body["tsig_key"] = KEY.into();
    }
    let (code, t) = curl(z, "POST", "/v1/zones", &body.to_string());
    assert_eq!(code, 201, "{t}");
}

#[test]
fn a_restart_keeps_the_zone_and_its_timers() {
    let zone = "restart.test";
    let dir = common::TempDir::new("secondary-restart");
    let data = dir.path().join("data").display().to_string();
    let args: Vec<String> = [
        "--api-token",
        TOKEN,
        "--refresh-min",
        "1",
        "--data-dir",
        &data,
    ]
    .map(String::from)
    .to_vec();
    let z = Zonecast::start_with_args(&args);
    let k = serde_json::json!({"name": KEY, "algorithm": "hmac-sha256", "secret": SECRET});
    assert_eq!(curl(&z, "POST", "/v1/tsig-keys", &k.to_string()).0, 201);
    let primary = Primary::start(
        "knotd",
        free_port(),
        zone,
        &zone_text(zone),
        z.addr(),
        Some(key()),
        Ixfr::Journal,
    );
    add_secondary(&z, zone, primary.addr, true);
    wait_for(&z, zone, Duration::from_secs(10), "the initial AXFR", |a| {
        a == Some((0, Some(1)))
    });
    let before = status(&z, zone)["secondary"].clone();
    drop(z);
    let z = Zonecast::start_with_args(&args);
    // Served from the store at once, before any refresh.
    assert_eq!(soa_at(z.addr(), zone), Some((0, Some(1))));
    let after = status(&z, zone)["secondary"].clone();
    assert_eq!(after["last_transfer"], before["last_transfer"], "persisted");
    assert_eq!(
        after["expires_at"], before["expires_at"],
        "the expiry timer survives"
    );
}
