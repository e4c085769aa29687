//! `zonecast serve` as a process: the store survives restarts, loading the
//! same zone file again is a no-op, a changed file is one change with a new
//! serial, a rejected file leaves the stored zone served and names file and
//! line, and SIGTERM/SIGINT stop the server cleanly (exit status 0).

pub mod common;

use common::{free_port, query_tcp, query_udp, TempDir};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::{Name, Rtype};

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n\
@ SOA ns1 hostmaster 10 3600 900 604800 60\n\
@ NS ns1\n\
ns1 A 192.0.2.1\n\
www A 192.0.2.80\n";

struct Server {
    child: Child,
    addr: SocketAddr,
    log: std::path::PathBuf,
}

impl Server {
    /// Starts `zonecast serve` on a free DNS port and the API on port 0 (the
    /// test does not use it; the default 8053 may be taken on the machine).
    ///
    /// When the process exits before it answers (the DNS port was taken
    /// between the check and the bind), it is started again on another port,
    /// up to three times; every attempt appends to the same log.
    fn start(dir: &Path, zone_file: &Path, run: u32) -> Server {
        let log = dir.join(format!("run{run}.log"));
        for _attempt in 0..3 {
            let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
            let out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_zonecast"))
                .arg("serve")
                .arg("--data-dir")
                .arg(dir.join("data"))
                .arg("--dns-listen")
                .arg(addr.to_string())
                .arg("--api-listen")
                .arg("127.0.0.1:0")
                .arg("--zone-file")
                .arg(zone_file)
                .env("RUST_LOG", "info")
                .env("NO_COLOR", "1")
                .stdout(Stdio::null())
                .stderr(out)
                .spawn()
                .unwrap();
            let mut s = Server {
                child,
                addr,
                log: log.clone(),
            };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if s.soa_serial().is_some() {
                    return s;
                }
                if s.child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if s.child.try_wait().unwrap().is_none() {
                let _ = s.child.kill();
                let _ = s.child.wait();
                panic!("zonecast did not answer SOA within 20 s:\n{}", s.log_text());
            }
        }
        panic!(
            "zonecast exited before answering, 3 times:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    fn ask(&self, name: &str, qtype: Rtype) -> Option<Message> {
        let q = build_query(1, &name.parse::<Name>().unwrap(), qtype, Some(1232));
        let r = common::query_udp_once(self.addr, &q, Duration::from_millis(300))?;
        Message::parse(&r).ok()
    }

    fn soa_serial(&self) -> Option<u32> {
        let m = self.ask("example.com.", Rtype::SOA)?;
        let rdata = &m.answer.first()?.rdata;
        let b = rdata.get(rdata.len() - 20..rdata.len() - 16)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal`, waits for the exit, and returns the log.
    fn stop_with(mut self, signal: &str) -> String {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(
                    st.success(),
                    "exit after SIG{signal}: {st:?}\n{}",
                    self.log_text()
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "still running 5 s after SIG{signal}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.log_text()
    }
}

fn www(s: &Server) -> Vec<u8> {
    s.ask("www.example.com.", Rtype::A).unwrap().answer[0]
        .rdata
        .to_vec()
}

#[test]
fn restarts_reloads_rejects_and_stops_cleanly() {
    let dir = TempDir::new("serve");
    let file = dir.path().join("example.com.zone");
    std::fs::write(&file, ZONE).unwrap();

    let s = Server::start(dir.path(), &file, 1);
    assert_eq!(s.soa_serial(), Some(10));
    assert_eq!(www(&s), [192, 0, 2, 80]);
    // TCP answers too.
    let q = build_query(2, &"www.example.com.".parse().unwrap(), Rtype::A, None);
    assert_eq!(
        Message::parse(&query_tcp(s.addr, &q)).unwrap().answer.len(),
        1
    );
    let log = s.stop_with("TERM");
    assert!(log.contains("zone created"), "{log}");

    // Same file: nothing changes.
    let s = Server::start(dir.path(), &file, 2);
    assert_eq!(s.soa_serial(), Some(10));
    let log = s.stop_with("INT");
    assert!(log.contains("zone unchanged"), "{log}");

    // Changed data, serial forgotten: the serial is bumped.
    std::fs::write(&file, ZONE.replace("192.0.2.80", "192.0.2.81")).unwrap();
    let s = Server::start(dir.path(), &file, 3);
    assert_eq!(s.soa_serial(), Some(11));
    assert_eq!(www(&s), [192, 0, 2, 81]);
    let log = s.stop_with("TERM");
    assert!(log.contains("zone updated"), "{log}");

    // A broken file (CNAME beside other data on line 7): rejected with file and line, zone kept.
    std::fs::write(
        &file,
        format!(
            "{}www CNAME ns1\n",
            ZONE.replace("192.0.2.80", "192.0.2.99")
        ),
    )
    .unwrap();
    let s = Server::start(dir.path(), &file, 4);
    assert_eq!(s.soa_serial(), Some(11));
    assert_eq!(www(&s), [192, 0, 2, 81]);
    let log = s.stop_with("TERM");
    assert!(
        log.contains("example.com.zone:7"),
        "error names file and line:\n{log}"
    );
    assert!(log.contains("CNAME"), "{log}");

    // A syntax error names its line too, and the zone is still served.
    std::fs::write(&file, ZONE.replace("ns1 A 192.0.2.1", "ns1 A 192.0.2.300")).unwrap();
    let s = Server::start(dir.path(), &file, 5);
    assert_eq!(www(&s), [192, 0, 2, 81]);
    let q = build_query(3, &"ns1.example.com.".parse().unwrap(), Rtype::A, None);
    assert!(query_udp(s.addr, &q).is_some());
    let log = s.stop_with("TERM");
    assert!(log.contains("example.com.zone:5"), "{log}");
}

/// The default addresses of `serve --dns-listen` and `--api-listen`, read from its short help.
fn default_ports() -> Vec<u16> {
    ["--dns-listen", "--api-listen"]
        .iter()
        .map(|f| {
            let d = common::serve_default(f);
            d.parse::<SocketAddr>()
                .unwrap_or_else(|e| panic!("default of {f} '{d}': {e}"))
                .port()
        })
        .collect()
}

/// Local ports of the sockets process `pid` holds, from /proc (TCP and UDP, IPv4).
fn ports_of(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().to_string();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["tcp", "udp"] {
        let text = std::fs::read_to_string(format!("/proc/net/{table}")).unwrap();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 && inodes.iter().any(|i| i == f[9]) {
                if let Some(port) = f[1].split(':').nth(1) {
                    ports.push(u16::from_str_radix(port, 16).unwrap());
                }
            }
        }
    }
    ports
}

/// Regression (issue 6): the suite failed whenever something else held the
/// default ports, because a test server bound the default API port. Test
/// servers listen on the ports they are given and on no default port.
#[test]
fn test_servers_never_listen_on_the_default_ports() {
    let defaults = default_ports();
    let dir = TempDir::new("serve-ports");
    let file = dir.path().join("example.com.zone");
    std::fs::write(&file, ZONE).unwrap();
    let s = Server::start(dir.path(), &file, 1);
    assert_eq!(s.soa_serial(), Some(10));
    let ports = ports_of(s.child.id());
    assert!(
        ports.contains(&s.addr.port()),
        "{ports:?} lacks the DNS port {}",
        s.addr
    );
    for d in &defaults {
        assert!(
            !ports.contains(d),
            "the server listens on default port {d}: {ports:?}"
        );
    }
    let log = s.stop_with("TERM");
    assert!(log.contains("zone created"), "{log}");
}

/// design.md: without `--api-token`, a token is generated on first start,
/// kept in the data dir and printed once. The file is readable by its
/// owner only, the token in it works on the API, and a restart on the same
/// store neither prints nor replaces it.
#[test]
fn a_generated_admin_token_is_printed_once_and_kept_in_the_data_dir() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("admin-token");
    let data = dir.path().join("data");
    let zone_file = dir.path().join("example.com.zone");
    std::fs::write(&zone_file, ZONE).unwrap();
    let args = [
        "--data-dir".to_string(),
        data.display().to_string(),
        "--zone-file".to_string(),
        zone_file.display().to_string(),
    ];
    let z = common::Zonecast::start_with_args(&args);
    z.wait_log(
        &["admin API token (printed once; kept in "],
        common::LOG_WAIT,
    );
    let log = z.log_text();
    let printed = log
        .lines()
        .find_map(|l| {
            l.split_once("admin-token): ")
                .map(|(_, t)| t.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no token line in the log:\n{log}"));
    let file = data.join("admin-token");
    let kept = std::fs::read_to_string(&file).unwrap();
    assert_eq!(kept, format!("{printed}\n"));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let api = z.api_addr().expect("the harness chose an API address");
    let (code, body) = common::curl_api(api, &printed, dir.path(), "GET", "/v1/zones", "");
    assert_eq!(code, 200, "{body}");
    let (code, _) = common::curl_api(api, "zc_wrong", dir.path(), "GET", "/v1/zones", "");
    assert_eq!(code, 401);
    drop(z);

    let z = common::Zonecast::start_with_args(&args);
    let (code, body) = common::curl_api(
        z.api_addr().unwrap(),
        &printed,
        dir.path(),
        "GET",
        "/v1/zones",
        "",
    );
    assert_eq!(code, 200, "{body}");
    assert!(
        !z.log_text().contains("admin API token"),
        "printed again:\n{}",
        z.log_text()
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), kept);
}
