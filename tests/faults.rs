//! Fault injection against a running `zonecast serve` (docs/robustness.md,
//! "Fault injection"):
//!
//! - the disk filling up while a change commits (`RLIMIT_FSIZE` lowered on
//!   the running process, so SQLite's writes fail with `EFBIG` as on a full
//!   disk): the change is refused, nothing is half-applied, the store is
//!   intact after a restart, and the same write succeeds once there is room;
//! - a secondary that stops reading in the middle of an AXFR: the transfer's
//!   write timeout frees the connection and the transfer slot, and every
//!   other query is answered meanwhile;
//! - TSIG requests signed by a client whose clock is an hour ahead or
//!   behind: BADTIME, signed, with the server's time in Other Data
//!   (RFC 8945 §5.2.3).

pub mod common;

use common::{curl_api, query_udp, TcpConn, Zonecast};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::tsig::{sign_request, Key, ResponseVerifier, TsigError, BADTIME};
use zonecast_proto::{Name, Rtype};

const TOKEN: &str = "faults-test-token";

fn api(z: &Zonecast, method: &str, path: &str, body: &str) -> (u16, String) {
    let addr = z.api_addr().expect("the harness chose an API address");
    curl_api(addr, TOKEN, z.dir(), method, path, body)
}

fn name(s: &str) -> Name {
    s.parse().unwrap()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A zone file for `origin` with `names` extra names (an A and a TXT each)
/// and `www` at `www_addr`.
fn zone_text(origin: &str, serial: u32, www_addr: &str, names: usize) -> String {
    let mut z = format!(
        "$ORIGIN {origin}\n$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 86400 60\n@ NS ns1\n\
         ns1 A 192.0.2.1\nwww A {www_addr}\n"
    );
    for i in 0..names {
        z.push_str(&format!(
            "h{i} A 10.{}.{}.{}\nh{i} TXT \"a text record that makes the zone large {i}\"\n",
            i >> 16 & 255,
            i >> 8 & 255,
            i & 255
        ));
    }
    z
}

/// `www.<zone>` A over UDP: (rcode, addresses).
fn www(addr: SocketAddr, zone: &str) -> (u16, Vec<String>) {
    let q = build_query(
        rand::random(),
        &name(&format!("www.{zone}")),
        Rtype::A,
        None,
    );
    let m = Message::parse(&query_udp(addr, &q).expect("an answer over UDP")).unwrap();
    let addrs = m
        .answer
        .iter()
        .filter(|r| r.rtype == Rtype::A)
        .map(|r| {
            format!(
                "{}.{}.{}.{}",
                r.rdata[0], r.rdata[1], r.rdata[2], r.rdata[3]
            )
        })
        .collect();
    (m.rcode(), addrs)
}

/// The SOA serial served for `zone` over UDP.
fn served_serial(addr: SocketAddr, zone: &str) -> Option<u32> {
    let q = build_query(rand::random(), &name(zone), Rtype::SOA, None);
    let m = Message::parse(&query_udp(addr, &q)?).ok()?;
    let soa = m.answer.iter().find(|r| r.rtype == Rtype::SOA)?;
    let n = soa.rdata.len();
    Some(u32::from_be_bytes(
        soa.rdata[n - 20..n - 16].try_into().unwrap(),
    ))
}

/// Sets the (soft) file size limit of process `pid`; the hard limit stays
/// unlimited, so it can be raised again without `CAP_SYS_RESOURCE`.
fn set_fsize_limit(pid: u32, bytes: u64) {
    let lim = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: prlimit reads `lim` and writes nothing (old limit not asked for).
    let rc = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &lim,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(
        rc,
        0,
        "prlimit(RLIMIT_FSIZE) on {pid}: {}",
        std::io::Error::last_os_error()
    );
}

/// The size of the largest file in `dir` and below.
fn largest_file(dir: &Path) -> u64 {
    let mut max = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = e.metadata().unwrap();
        max = max.max(if meta.is_dir() {
            largest_file(&e.path())
        } else {
            meta.len()
        });
    }
    max
}

/// The disk fills while a large change commits: it is refused with 507
/// `storage_write_failed` saying why, the zone keeps serving its previous data, the store is
/// intact (no half-applied change, the journal chains up to the zone's
/// serial) after a restart, and the same write succeeds once there is room.
///
/// The fault: `RLIMIT_FSIZE` of the running server is lowered (`prlimit`)
/// to a little above its largest file, with `SIGXFSZ` ignored (set in
/// `pre_exec`; an ignored signal stays ignored across exec), so SQLite's
/// writes past it fail with `EFBIG`, as writes to a full disk fail with
/// `ENOSPC`; raising the limit again is "space freed".
#[test]
fn disk_full_while_committing_refuses_the_change_and_corrupts_nothing() {
    let data = common::TempDir::new("faults-disk");
    let data_dir = data.path().join("store");
    let args: Vec<String> = [
        "--api-token",
        TOKEN,
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    let ignore_sigxfsz = |cmd: &mut std::process::Command| {
        // SAFETY: signal() is async-signal-safe; nothing else runs in the child before exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
    };
    let z = Zonecast::start_configured(&args, &mut |c| ignore_sigxfsz(c));
    let small = serde_json::json!({"name": "disk.test.", "zonefile": zone_text("disk.test.", 10, "192.0.2.10", 20)});
    let (code, text) = api(&z, "POST", "/v1/zones", &small.to_string());
    assert_eq!(code, 201, "{text}");
    assert_eq!(served_serial(z.addr(), "disk.test."), Some(10));

    // The disk is (nearly) full: room for small writes only.
    let limit = largest_file(z.dir()).max(largest_file(&data_dir)) + 256 * 1024;
    set_fsize_limit(z.pid(), limit);
    let big_zonefile = zone_text("disk.test.", 11, "192.0.2.11", 30_000);
    let big = serde_json::json!({"zonefile": big_zonefile}).to_string();
    let (code, text) = api(&z, "PUT", "/v1/zones/disk.test./zonefile", &big);
    assert_eq!(
        code, 507,
        "a change that does not fit is refused with 507: {text}"
    );
    assert!(
        text.contains("storage_write_failed") && text.contains("nothing was applied"),
        "the error says why: {text}"
    );
    // Nothing of it is served or stored.
    assert_eq!(served_serial(z.addr(), "disk.test."), Some(10));
    assert_eq!(www(z.addr(), "disk.test."), (0, vec!["192.0.2.10".into()]));
    let (code, text) = api(&z, "GET", "/v1/zones/disk.test./rrsets?name=h25000", "");
    assert_eq!(code, 200, "{text}");
    assert!(!text.contains("10.0.97.168"), "h25000 not stored: {text}");
    // A zone created while the disk is full is refused too, and not half there.
    let other = serde_json::json!({"name": "other.test.", "zonefile": zone_text("other.test.", 1, "192.0.2.1", 30_000)});
    let (code, text) = api(&z, "POST", "/v1/zones", &other.to_string());
    assert_eq!(code, 507, "{text}");
    let (code, _) = api(&z, "GET", "/v1/zones/other.test.", "");
    assert_eq!(code, 404, "a refused creation leaves no zone");

    // Restart on the same store, the disk still full: everything as before the refused writes.
    drop(z);
    let check = zonecast_store::Store::open(&data_dir).expect("the store opens");
    assert_eq!(
        check.quick_check().unwrap(),
        Vec::<String>::new(),
        "PRAGMA quick_check"
    );
    let zones: Vec<String> = check
        .zones()
        .unwrap()
        .iter()
        .map(|r| r.name.to_string())
        .collect();
    assert_eq!(zones, vec!["disk.test.".to_string()]);
    let journal = check.journal(&name("disk.test.")).unwrap();
    assert_eq!(
        journal.last().map(|e| e.change.serial_to),
        Some(10),
        "{journal:?}"
    );
    drop(check);
    let z = Zonecast::start_configured(&args, &mut |c| ignore_sigxfsz(c));
    assert_eq!(served_serial(z.addr(), "disk.test."), Some(10));
    assert_eq!(www(z.addr(), "disk.test."), (0, vec!["192.0.2.10".into()]));

    // Space freed: the same write succeeds, in the running process.
    set_fsize_limit(z.pid(), limit);
    let (code, _) = api(&z, "PUT", "/v1/zones/disk.test./zonefile", &big);
    assert_eq!(code, 507, "still full after the restart");
    set_fsize_limit(z.pid(), libc::RLIM_INFINITY);
    let (code, text) = api(&z, "PUT", "/v1/zones/disk.test./zonefile", &big);
    assert_eq!(code, 200, "{text}");
    assert_eq!(served_serial(z.addr(), "disk.test."), Some(11));
    assert_eq!(www(z.addr(), "disk.test."), (0, vec!["192.0.2.11".into()]));
    let (code, text) = api(&z, "POST", "/v1/zones", &other.to_string());
    assert_eq!(code, 201, "{text}");

    // And the result survives a restart, with a journal that chains.
    drop(z);
    let check = zonecast_store::Store::open(&data_dir).expect("the store opens");
    assert_eq!(check.quick_check().unwrap(), Vec::<String>::new());
    let journal = check.journal(&name("disk.test.")).unwrap();
    for w in journal.windows(2) {
        assert_eq!(
            w[0].change.serial_to, w[1].change.serial_from,
            "{journal:?}"
        );
    }
    assert_eq!(journal.last().map(|e| e.change.serial_to), Some(11));
    drop(check);
    let z = Zonecast::start_with_args(&args);
    assert_eq!(served_serial(z.addr(), "disk.test."), Some(11));
    assert_eq!(served_serial(z.addr(), "other.test."), Some(1));
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn axfr_query(zone: &str) -> Vec<u8> {
    build_query(7, &name(zone), Rtype::AXFR, None)
}

/// A secondary that sends AXFR and then stops reading: the server's
/// transfer write timeout (10 s per message) ends the transfer and frees
/// its connection and its transfer slot (`--max-transfers 1`, so a second
/// transfer is refused while it is held and served once it is freed);
/// UDP and TCP queries are answered throughout.
#[test]
fn secondary_that_stops_reading_mid_axfr_is_cut_off_by_the_write_timeout() {
    let z = Zonecast::start_with_args(
        &["--api-token", TOKEN, "--max-transfers", "1"].map(String::from),
    );
    // About 10 MB of AXFR: more than the kernel's send buffer (tcp_wmem at
    // most 4 MiB here) and the stalled peer's receive buffer can hold.
    let mut zonefile = zone_text("stall.test.", 1, "192.0.2.1", 0);
    let long = "x".repeat(200);
    for i in 0..40_000 {
        zonefile.push_str(&format!(
            "h{i} A 10.{}.{}.{}\nh{i} TXT \"{long} {i}\"\n",
            i >> 16 & 255,
            i >> 8 & 255,
            i & 255
        ));
    }
    let body = serde_json::json!({"name": "stall.test.", "zonefile": zonefile, "allow_transfer": ["127.0.0.1"]});
    let (code, text) = api(&z, "POST", "/v1/zones", &body.to_string());
    assert_eq!(code, 201, "{text}");

    // The stalled secondary: a small receive buffer, the query, then nothing read.
    let mut stalled = TcpStream::connect(z.addr()).unwrap();
    let small: libc::c_int = 4096;
    // SAFETY: setsockopt reads `small` (an int) for SO_RCVBUF on an open socket.
    let rc = unsafe {
        libc::setsockopt(
            stalled.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&small as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    let q = axfr_query("stall.test.");
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    stalled.write_all(&framed).unwrap();
    let stalled_at = Instant::now();

    // Meanwhile: queries answered at once, over UDP and TCP; the one transfer slot is taken.
    std::thread::sleep(Duration::from_millis(500));
    let mut refused = false;
    while stalled_at.elapsed() < Duration::from_secs(7) {
        let t = Instant::now();
        assert_eq!(www(z.addr(), "stall.test."), (0, vec!["192.0.2.1".into()]));
        let q = build_query(rand::random(), &name("www.stall.test."), Rtype::A, None);
        let m = Message::parse(&TcpConn::connect(z.addr()).unwrap().exchange(&q).unwrap()).unwrap();
        assert_eq!((m.rcode(), m.answer.len()), (0, 1));
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "answered in {:?}",
            t.elapsed()
        );
        let other = common::peers::transfer(z.addr(), &axfr_query("stall.test."));
        refused |= other.len() == 1 && other[0].rcode() == 5;
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        refused,
        "while the stalled transfer holds the only slot, another is REFUSED; log:\n{}",
        tail(&z.log_text(), 30)
    );

    // The write timeout cuts it off, and the slot is free again.
    z.wait_log(
        &["transfer out failed", "peer took no data for 10 s"],
        Duration::from_secs(20),
    );
    let cut = stalled_at.elapsed();
    assert!(cut >= Duration::from_secs(10), "cut off after {cut:?}");
    let full = common::peers::transfer(z.addr(), &axfr_query("stall.test."));
    let records: usize = full.iter().map(|m| m.answer.len()).sum();
    assert_eq!(
        records,
        4 + 2 * 40_000 + 1,
        "a full transfer once the slot is free"
    );
    // The server closed its side of the stalled connection (what it had
    // queued would still drain, slowly, through the 4 KiB window): no TCP
    // connection is open on the server while ours still is, and the cut-off
    // transfer and the refused one are counted.
    let metric = |text: &str, name: &str| -> Option<u64> {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let text = loop {
        let (code, text) = api(&z, "GET", "/metrics", "");
        assert_eq!(code, 200, "{text}");
        if metric(&text, "zonecast_tcp_connections_open") == Some(0) || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        metric(&text, "zonecast_tcp_connections_open"),
        Some(0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "zonecast_xfr_failed_total"),
        Some(1),
        "{text}"
    );
    assert!(
        metric(&text, "zonecast_xfr_limited_total") >= Some(1),
        "{text}"
    );
    drop(stalled);
}

/// A TSIG-signed AXFR from a client whose clock is an hour ahead, then one
/// an hour behind: NOTAUTH with TSIG error BADTIME, the answer signed with
/// the key (it verifies against the request's MAC), Time Signed the
/// request's, and Other Data the server's clock (RFC 8945 §5.2.3), so the
/// client can tell how far off it is.
#[test]
fn tsig_badtime_for_a_client_clock_an_hour_off_is_signed_with_the_server_time() {
    const SECRET_B64: &str = "em9uZWNhc3QtZmFrZS1wcmltYXJ5LXNlY3JldC0zMmI=";
    const SECRET: &[u8] = b"zonecast-fake-primary-secret-32b";
    let z = Zonecast::start_with_args(&["--api-token", TOKEN].map(String::from));
    let key =
        serde_json::json!({"name": "clock-key", "algorithm": "hmac-sha256", "secret": SECRET_B64});
    let (code, text) = api(&z, "POST", "/v1/tsig-keys", &key.to_string());
    assert_eq!(code, 201, "{text}");
    let body = serde_json::json!({"name": "clock.test.", "zonefile": zone_text("clock.test.", 1, "192.0.2.1", 5), "allow_transfer": ["key:clock-key"]});
    let (code, text) = api(&z, "POST", "/v1/zones", &body.to_string());
    assert_eq!(code, 201, "{text}");
    let k = Key::new("clock-key", "hmac-sha256", SECRET.to_vec()).unwrap();
    for offset in [3600i64, -3600] {
        let client_now = unix_now().checked_add_signed(offset).unwrap();
        let mut q = axfr_query("clock.test.");
        let signed = sign_request(&mut q, &k, client_now, 300).unwrap();
        let wire = TcpConn::connect(z.addr()).unwrap().exchange(&q).unwrap();
        let m = Message::parse(&wire).unwrap();
        assert_eq!(m.rcode(), 9, "clock {offset:+} s: NOTAUTH");
        assert!(
            m.answer.is_empty(),
            "clock {offset:+} s: nothing transferred"
        );
        match ResponseVerifier::new(&signed).verify(&wire, client_now) {
            Err(TsigError::Peer {
                error,
                signed: true,
                server_time: Some(server),
            }) => {
                assert_eq!(error, BADTIME, "clock {offset:+} s");
                let now = unix_now();
                assert!(
                    server.abs_diff(now) <= 2,
                    "clock {offset:+} s: Other Data holds the server's time {server}, now is {now}"
                );
            }
            other => {
                panic!("clock {offset:+} s: a signed BADTIME with the server time, got {other:?}")
            }
        }
        // Time Signed is the request's (§5.2.3), so the client's MAC check does not itself fail on time.
        let tsig = m
            .additional
            .iter()
            .find(|r| r.rtype == Rtype::TSIG)
            .unwrap();
        let (_, pos) = Name::parse_wire(&tsig.rdata, 0).unwrap();
        let time = tsig.rdata[pos..pos + 6]
            .iter()
            .fold(0u64, |v, &b| v << 8 | u64::from(b));
        assert_eq!(time, client_now, "clock {offset:+} s: Time Signed");
    }
    // A client within the fudge transfers.
    let mut q = axfr_query("clock.test.");
    sign_request(&mut q, &k, unix_now() + 200, 300).unwrap();
    let msgs = common::peers::transfer(z.addr(), &q);
    assert_eq!(msgs[0].rcode(), 0, "{:?}", msgs[0]);
}
