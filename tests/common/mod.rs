//! Shared harness of the integration tests: temporary directories, free
//! ports, peer servers (knotd, nsd), the zonecast binary, and DNS queries over
//! UDP and TCP (RFC 7766 §8 two-octet length framing).
//!
//! Include it with `pub mod common;` (the `pub` keeps helpers a given test
//! file doesn't use from tripping the dead-code lint).
//!
//! Missing tools make tests fail with the package to install, never skip:
//! `scripts/test.sh` installs them. Servers are killed and reaped on Drop
//! (SIGTERM, then SIGKILL after 5 s) and their temporary directory removed.
//!
//! Secondaries for transfer tests (knotd, named, nsd) are in [`peers`].
//!
//! Not implemented: IPv6 listeners, DNS over TLS/HTTPS.

pub mod peers;
pub mod primaries;

use rand::Rng;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::name::lowercase_wire;
use zonecast_proto::rdata::compressible_names;
use zonecast_proto::{Name, Record, Rtype};

/// How long a server may take to answer SOA for all its zones after start.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Timeout of one UDP attempt (there is one retry).
pub const UDP_TIMEOUT: Duration = Duration::from_secs(2);
/// Timeout of a TCP exchange (connect, write, read).
pub const TCP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long [`Daemon::wait_log`] callers usually wait for a log line.
pub const LOG_WAIT: Duration = Duration::from_secs(5);

/// The value of the sample `key` (name and labels, as printed) in a
/// Prometheus text; panics when it is absent.
pub fn metric(text: &str, key: &str) -> u64 {
    let prefix = format!("{key} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key} in:\n{text}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{key}: {e}"))
}

/// The Debian package that ships each tool the tests use.
const TOOL_PACKAGES: &[(&str, &str)] = &[
    ("knotd", "knot"),
    ("knotc", "knot"),
    ("kdig", "knot-dnsutils"),
    ("nsd", "nsd"),
    ("nsd-control", "nsd"),
    ("named", "bind9"),
    ("dig", "bind9-dnsutils"),
    ("dnsperf", "dnsperf"),
    ("psql", "postgresql"),
    ("python3", "python3"),
    ("script", "bsdutils"),
];

/// Finds `name` in `PATH`, `/usr/sbin` or `/usr/bin`; panics naming the package to install if it is missing.
pub fn require_tool(name: &str) -> PathBuf {
    if let Some(found) = find_tool(name) {
        return found;
    }
    let package = TOOL_PACKAGES
        .iter()
        .find(|(tool, _)| *tool == name)
        .map_or("(unknown package)", |(_, p)| p);
    panic!("{name} not found: run scripts/test.sh, which installs the '{package}' package");
}

/// Looks a tool up like [`require_tool`] without failing.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .chain([
            PathBuf::from("/usr/sbin"),
            PathBuf::from("/usr/bin"),
            PathBuf::from("/sbin"),
        ])
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A random port in 10000..32000 that is free for both UDP and TCP on 127.0.0.1 right now.
///
/// Another process may still take it before the server binds; the server
/// starters retry with a new port when the server exits early.
pub fn free_port() -> u16 {
    let mut rng = rand::thread_rng();
    for _ in 0..1000 {
        let port = rng.gen_range(10000..32000);
        let udp = UdpSocket::bind(("127.0.0.1", port));
        let tcp = TcpListener::bind(("127.0.0.1", port));
        if udp.is_ok() && tcp.is_ok() {
            return port;
        }
    }
    panic!("no free UDP+TCP port in 10000..32000 on 127.0.0.1 after 1000 tries");
}

/// A directory under the system temp dir, removed with its contents on Drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a fresh, uniquely named directory whose name starts with `prefix`.
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = format!(
            "zonecast-{prefix}-{}-{}-{:08x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        TempDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The directory of the test zones (`tests/zones`).
pub fn zones_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("zones")
}

/// Every `*.zone` file of `tests/zones` with its origin, sorted by file name.
pub fn test_zones() -> Vec<(Name, PathBuf)> {
    let dir = zones_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "zone"))
        .collect();
    files.sort();
    files.into_iter().map(|p| (zone_origin(&p), p)).collect()
}

/// The origin of a zone file: its first `$ORIGIN`, else the file name without `.zone`.
pub fn zone_origin(path: &Path) -> Name {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let from_directive = text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some(d), Some(origin)) if d.eq_ignore_ascii_case("$ORIGIN") => {
                Some(origin.to_string())
            }
            _ => None,
        }
    });
    let text_name = match from_directive {
        Some(origin) => origin,
        None => {
            let file = path
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default();
            format!("{}.", file.strip_suffix(".zone").unwrap_or(file))
        }
    };
    Name::from_presentation(&text_name, Some(&Name::root()))
        .unwrap_or_else(|e| panic!("origin '{text_name}' of {}: {e}", path.display()))
}

/// A server process under test: killed and reaped on Drop, with its log and temp dir.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    label: String,
    dir: TempDir,
}

impl Daemon {
    /// The DNS address (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The temporary directory holding config, state and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's stdout and stderr so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log)
            .unwrap_or_else(|e| format!("(no log at {}: {e})", self.log.display()))
    }

    /// Waits up to `within` for a log line holding every one of `needles`;
    /// panics with the log otherwise.
    pub fn wait_log(&self, needles: &[&str], within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log_text();
            if log.lines().any(|l| needles.iter().all(|n| l.contains(n))) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needles:?} in {within:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What this server is ("knotd", "nsd", "zonecast").
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Stops the server now (SIGTERM, SIGKILL after 5 s) and reaps it; Drop does the same.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Why one start attempt failed.
enum StartError {
    /// The process exited before it was ready (often: port taken); worth a retry on a new port.
    Exited(String),
}

/// Starts `build(dir, port)` until its server answers SOA for every origin in `ready` (or anything, if empty).
///
/// Retries up to three times on a new port when the process exits early; panics
/// with the log when it is not ready within [`READY_TIMEOUT`].
fn start_daemon(
    label: &str,
    ready: &[Name],
    build: &mut dyn FnMut(&Path, u16) -> Command,
) -> Daemon {
    let mut failures = Vec::new();
    for _attempt in 0..3 {
        let dir = TempDir::new(label);
        let port = free_port();
        let log = dir.path().join(format!("{label}.log"));
        let mut cmd = build(dir.path(), port);
        let out = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("creating {}: {e}", log.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("duplicating log handle: {e}"));
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {label} ({cmd:?}): {e}"));
        let mut daemon = Daemon {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
            label: label.to_string(),
            dir,
        };
        match wait_ready(&mut daemon, ready) {
            Ok(()) => return daemon,
            Err(StartError::Exited(why)) => failures.push(why),
        }
    }
    panic!(
        "{label} did not start in 3 attempts:\n{}",
        failures.join("\n----\n")
    );
}

fn wait_ready(daemon: &mut Daemon, ready: &[Name]) -> Result<(), StartError> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut pending: Vec<Name> = ready.to_vec();
    let mut last = String::from("no answer yet");
    loop {
        if let Ok(Some(status)) = daemon.child.try_wait() {
            return Err(StartError::Exited(format!(
                "{} exited with {status} before it was ready; log:\n{}",
                daemon.label,
                daemon.log_text()
            )));
        }
        if pending.is_empty() {
            // No zones given: any well-formed answer to `. SOA` means the server is up.
            let q = build_query(rand::random(), &Name::root(), Rtype::SOA, None);
            if query_udp_once(daemon.addr, &q, Duration::from_millis(200)).is_some() {
                return Ok(());
            }
        }
        let mut still = Vec::new();
        for origin in pending {
            let q = build_query(rand::random(), &origin, Rtype::SOA, None);
            match query_udp_once(daemon.addr, &q, Duration::from_millis(200))
                .map(|w| Message::parse(&w))
            {
                Some(Ok(m))
                    if m.rcode() == 0
                        && m.header.aa
                        && m.answer.iter().any(|r| r.rtype == Rtype::SOA) => {}
                Some(Ok(m)) => {
                    last = format!(
                        "{origin} SOA: rcode {} aa {} answers {}",
                        m.rcode(),
                        m.header.aa,
                        m.answer.len()
                    );
                    still.push(origin);
                }
                Some(Err(e)) => {
                    last = format!("{origin} SOA: unparsable answer: {e}");
                    still.push(origin);
                }
                None => still.push(origin),
            }
        }
        pending = still;
        if pending.is_empty() && !ready.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            let log = daemon.log_text();
            daemon.stop();
            panic!(
                "{} on {} not ready after {:?} (waiting for {:?}; last: {last}); log:\n{log}",
                daemon.label, daemon.addr, READY_TIMEOUT, pending
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A knotd serving the given zones from their files on a free port of 127.0.0.1.
///
/// Configuration: Knot's defaults for answering; zone files loaded whole,
/// no journal, no zone file write-back, semantic checks off (our zones hold
/// deliberate oddities such as CNAME loops), one UDP/TCP worker.
#[derive(Debug)]
pub struct Knot(Daemon);

impl Knot {
    /// Starts knotd and waits until every zone answers SOA.
    pub fn start(zones: &[(Name, PathBuf)]) -> Knot {
        let knotd = require_tool("knotd");
        let origins: Vec<Name> = zones.iter().map(|(o, _)| o.clone()).collect();
        let mut build = |dir: &Path, port: u16| {
            let mut conf = String::new();
            let d = dir.display();
            let _ = write!(
                conf,
                "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n    pidfile: {d}/knot.pid\n    \
                 udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\
                 log:\n  - target: stderr\n    any: info\n\
                 database:\n    storage: {d}/db\n\
                 control:\n    listen: {d}/knot.sock\n\
                 template:\n  - id: default\n    storage: {d}/zones\n    zonefile-sync: -1\n    \
                 zonefile-load: whole\n    journal-content: none\n    semantic-checks: off\n\
                 zone:\n"
            );
            for (origin, file) in zones {
                let _ = write!(
                    conf,
                    "  - domain: \"{origin}\"\n    file: \"{}\"\n",
                    absolute(file).display()
                );
            }
            for sub in ["db", "zones"] {
                let p = dir.join(sub);
                std::fs::create_dir_all(&p)
                    .unwrap_or_else(|e| panic!("creating {}: {e}", p.display()));
            }
            let conf_path = dir.join("knot.conf");
            std::fs::write(&conf_path, conf)
                .unwrap_or_else(|e| panic!("writing {}: {e}", conf_path.display()));
            let mut cmd = Command::new(&knotd);
            cmd.arg("-c").arg(conf_path);
            cmd
        };
        Knot(start_daemon("knotd", &origins, &mut build))
    }
}

impl Deref for Knot {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.0
    }
}

/// An nsd serving the given zones on a free port of 127.0.0.1, in the foreground (`nsd -d`).
///
/// Configuration: one server process, no database, no chroot, no user switch,
/// no remote control, `minimal-responses: yes` (closest to Knot; see
/// `tests/differential.rs`), and no response rate limiting (Debian builds
/// NSD with RRL on: 200 answers/s per source /24, then dropped or truncated
/// answers, and every test query comes from 127.0.0.1).
#[derive(Debug)]
pub struct Nsd(Daemon);

impl Nsd {
    /// Starts nsd and waits until every zone answers SOA.
    pub fn start(zones: &[(Name, PathBuf)]) -> Nsd {
        let nsd = require_tool("nsd");
        let origins: Vec<Name> = zones.iter().map(|(o, _)| o.clone()).collect();
        let mut build = |dir: &Path, port: u16| {
            let d = dir.display();
            let mut conf = format!(
                "server:\n    ip-address: 127.0.0.1\n    port: {port}\n    zonesdir: \"{d}\"\n    \
                 pidfile: \"{d}/nsd.pid\"\n    database: \"\"\n    username: \"\"\n    chroot: \"\"\n    \
                 xfrdfile: \"{d}/xfrd.state\"\n    xfrdir: \"{d}\"\n    zonelistfile: \"{d}/zone.list\"\n    \
                 server-count: 1\n    verbosity: 1\n    minimal-responses: yes\n    \
                 rrl-ratelimit: 0\n    rrl-whitelist-ratelimit: 0\n\
                 remote-control:\n    control-enable: no\n"
            );
            for (origin, file) in zones {
                let _ = write!(
                    conf,
                    "zone:\n    name: \"{origin}\"\n    zonefile: \"{}\"\n",
                    absolute(file).display()
                );
            }
            let conf_path = dir.join("nsd.conf");
            std::fs::write(&conf_path, conf)
                .unwrap_or_else(|e| panic!("writing {}: {e}", conf_path.display()));
            let mut cmd = Command::new(&nsd);
            cmd.arg("-d").arg("-c").arg(conf_path);
            cmd
        };
        Nsd(start_daemon("nsd", &origins, &mut build))
    }
}

impl Deref for Nsd {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.0
    }
}

/// The zonecast binary of this build, run as `zonecast serve` with a fresh data dir on a free port.
#[derive(Debug)]
pub struct Zonecast {
    daemon: Daemon,
    api: Option<SocketAddr>,
}

impl Zonecast {
    /// Serves `zone_files` (origins from `$ORIGIN` or the file name); ready when each answers SOA.
    pub fn start(zone_files: &[PathBuf]) -> Zonecast {
        let mut args = Vec::new();
        for f in zone_files {
            args.push("--zone-file".to_string());
            args.push(absolute(f).display().to_string());
        }
        Zonecast::start_with_args(&args)
    }

    /// Runs `zonecast serve --data-dir TMP --dns-listen 127.0.0.1:PORT ARGS...`
    /// (`--data-dir` from `args` instead when they name one, so a test can restart on the same store).
    ///
    /// Ready when every `--zone-file` in `args` answers SOA, or, without zone
    /// files, when anything answers. When the binary has `--api-listen` and
    /// `args` don't set it, the API goes to a free port too, chosen anew on
    /// each start attempt ([`Zonecast::api_addr`] tells which): the default
    /// 8053 would collide between tests running in parallel and with anything
    /// else on the machine.
    pub fn start_with_args(args: &[String]) -> Zonecast {
        Zonecast::start_configured(args, &mut |_| {})
    }

    /// [`Zonecast::start_with_args`], with `configure` applied to the
    /// command before each start attempt (environment, `pre_exec`, ...).
    pub fn start_configured(args: &[String], configure: &mut dyn FnMut(&mut Command)) -> Zonecast {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_zonecast"));
        let origins: Vec<Name> = args
            .windows(2)
            .filter(|w| w[0] == "--zone-file")
            .map(|w| zone_origin(Path::new(&w[1])))
            .collect();
        let set_api =
            serve_has_option("--api-listen") && !args.iter().any(|a| a.starts_with("--api-listen"));
        let mut api = None;
        let mut build = |dir: &Path, port: u16| {
            let mut cmd = Command::new(&bin);
            cmd.arg("serve");
            if !args.iter().any(|a| a == "--data-dir") {
                cmd.arg("--data-dir").arg(dir.join("data"));
            }
            cmd.arg("--dns-listen").arg(format!("127.0.0.1:{port}"));
            if set_api {
                let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
                cmd.arg("--api-listen").arg(addr.to_string());
                api = Some(addr);
            }
            cmd.args(args);
            if std::env::var_os("RUST_LOG").is_none() {
                cmd.env("RUST_LOG", "info");
            }
            configure(&mut cmd);
            cmd
        };
        let daemon = start_daemon("zonecast", &origins, &mut build);
        Zonecast { daemon, api }
    }

    /// The API address this harness chose (`None` when `args` set `--api-listen`).
    pub fn api_addr(&self) -> Option<SocketAddr> {
        self.api
    }
}

impl Deref for Zonecast {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.daemon
    }
}

/// True when `zonecast serve --help` lists `option` (checked once per test binary).
fn serve_has_option(option: &str) -> bool {
    static HELP: OnceLock<String> = OnceLock::new();
    let help = HELP.get_or_init(|| {
        Command::new(env!("CARGO_BIN_EXE_zonecast"))
            .args(["serve", "--help"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    });
    help.split(|c: char| c.is_whitespace() || c == ',' || c == '=')
        .any(|word| word == option)
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path))
    }
}

/// The ID of a wire message (0 when too short).
fn wire_id(wire: &[u8]) -> u16 {
    match wire {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

/// Sends `wire` over UDP and returns the response with the same ID (2 s timeout, one retry).
pub fn query_udp(addr: SocketAddr, wire: &[u8]) -> Option<Vec<u8>> {
    query_udp_once(addr, wire, UDP_TIMEOUT).or_else(|| query_udp_once(addr, wire, UDP_TIMEOUT))
}

/// One UDP exchange from a fresh socket; datagrams with another ID or from another address are ignored.
pub fn query_udp_once(addr: SocketAddr, wire: &[u8], timeout: Duration) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind(("127.0.0.1", 0)).ok()?;
    sock.send_to(wire, addr).ok()?;
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65535];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                let got = buf.get(..n)?;
                if from == addr && n >= 12 && wire_id(got) == wire_id(wire) {
                    return Some(got.to_vec());
                }
            }
            Err(_) => return None,
        }
    }
}

/// One query over a new TCP connection with two-octet length framing; panics on any failure.
pub fn query_tcp(addr: SocketAddr, wire: &[u8]) -> Vec<u8> {
    TcpConn::connect(addr)
        .and_then(|mut c| c.exchange(wire))
        .unwrap_or_else(|e| panic!("TCP query to {addr}: {e}"))
}

/// A reusable TCP connection for many queries in sequence (RFC 7766 §6.2.1).
#[derive(Debug)]
pub struct TcpConn {
    addr: SocketAddr,
    stream: TcpStream,
}

impl TcpConn {
    /// Connects with [`TCP_TIMEOUT`] on connect, read and write.
    pub fn connect(addr: SocketAddr) -> std::io::Result<TcpConn> {
        let stream = TcpStream::connect_timeout(&addr, TCP_TIMEOUT)?;
        stream.set_read_timeout(Some(TCP_TIMEOUT))?;
        stream.set_write_timeout(Some(TCP_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(TcpConn { addr, stream })
    }

    /// Sends one framed query and reads one framed response.
    pub fn exchange(&mut self, wire: &[u8]) -> std::io::Result<Vec<u8>> {
        let len = u16::try_from(wire.len()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "query longer than 65535")
        })?;
        let mut framed = Vec::with_capacity(wire.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(wire);
        self.stream.write_all(&framed)?;
        let mut len_buf = [0u8; 2];
        self.stream.read_exact(&mut len_buf)?;
        let mut resp = vec![0u8; u16::from_be_bytes(len_buf) as usize];
        self.stream.read_exact(&mut resp)?;
        Ok(resp)
    }

    /// Like [`TcpConn::exchange`], reconnecting once if the server closed the connection meanwhile.
    pub fn exchange_retry(&mut self, wire: &[u8]) -> std::io::Result<Vec<u8>> {
        match self.exchange(wire) {
            Ok(r) => Ok(r),
            Err(_) => {
                *self = TcpConn::connect(self.addr)?;
                self.exchange(wire)
            }
        }
    }
}

/// Lowercase hex of `data`.
pub fn hex(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Records as sorted `owner-lowercased ttl class type rdata-hex` lines, for order-insensitive comparison.
///
/// Names inside rdata that may be compressed (the RFC 1035 types, RFC 3597
/// §4) are lowercased too: a compression pointer can take its suffix from
/// any earlier name, e.g. the question in the client's case, so their case
/// is not an answer's property (RFC 4343 §4.1; Knot and NSD both differ from
/// the zone file here). Other rdata is compared octet for octet.
pub fn canonical_section(records: &[Record]) -> Vec<String> {
    let mut lines: Vec<String> = records
        .iter()
        .map(|r| {
            let mut rdata = r.rdata.to_vec();
            let (slots, count) = compressible_names(r.rtype, &rdata);
            for slot in slots.iter().take(count) {
                if let Some(name) = rdata.get_mut(slot.start as usize..slot.end as usize) {
                    lowercase_wire(name);
                }
            }
            format!(
                "{} {} {} {} {}",
                r.owner.to_lowercase(),
                r.ttl,
                r.class,
                r.rtype,
                hex(&rdata)
            )
        })
        .collect();
    lines.sort();
    lines
}

/// One line of a zone file as seen by [`scan_zone_file`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedRecord {
    /// Absolute owner, case as in the file.
    pub owner: Name,
    /// Record type.
    pub rtype: Rtype,
}

/// Owners and types of a zone file, by a simple scan of the owner column.
///
/// Handles `$ORIGIN`, `$TTL`, blank owners (previous owner), comments and
/// optional TTL/class columns; it is meant for the test zones, which keep each
/// record on one line (no parentheses).
pub fn scan_zone_file(path: &Path) -> Vec<ScannedRecord> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut origin = zone_origin(path);
    let mut last_owner: Option<Name> = None;
    let mut out = Vec::new();
    for (lineno, raw) in text.lines().enumerate() {
        let line = strip_comment(raw);
        if line.trim().is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let owner = if line.starts_with(char::is_whitespace) {
            last_owner.clone()
        } else {
            let first = words.next().unwrap_or_default();
            if first.eq_ignore_ascii_case("$ORIGIN") {
                let o = words.next().unwrap_or_default();
                origin = Name::from_presentation(o, Some(&origin))
                    .unwrap_or_else(|e| panic!("{}:{}: $ORIGIN: {e}", path.display(), lineno + 1));
                continue;
            }
            if first.starts_with('$') {
                continue;
            }
            Some(
                Name::from_presentation(first, Some(&origin))
                    .unwrap_or_else(|e| panic!("{}:{}: owner: {e}", path.display(), lineno + 1)),
            )
        };
        let Some(owner) = owner else {
            panic!("{}:{}: record without an owner", path.display(), lineno + 1);
        };
        let rtype = words
            .find(|w| {
                !w.bytes().all(|b| b.is_ascii_digit())
                    && !["IN", "CH", "HS"].iter().any(|c| w.eq_ignore_ascii_case(c))
            })
            .and_then(|w| Rtype::from_text(w).ok())
            .unwrap_or_else(|| panic!("{}:{}: no record type", path.display(), lineno + 1));
        last_owner = Some(owner.clone());
        out.push(ScannedRecord { owner, rtype });
    }
    out
}

/// The line without a `;` comment (semicolons inside double quotes are kept).
pub fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => return line.get(..i).unwrap_or(line),
            _ => {}
        }
    }
    line
}

/// Distinct owner names of `records` (case-insensitive), in canonical order.
pub fn owners(records: &[ScannedRecord]) -> BTreeSet<Name> {
    records.iter().map(|r| r.owner.clone()).collect()
}

/// The default of `zonecast serve`'s option `flag`, read from `serve -h`.
///
/// clap puts an option's help on its line, or on the next one when the
/// lines would be too long: both layouts are read.
pub fn serve_default(flag: &str) -> String {
    let help = Command::new(env!("CARGO_BIN_EXE_zonecast"))
        .args(["serve", "-h"])
        .output()
        .unwrap_or_else(|e| panic!("running zonecast serve -h: {e}"));
    let text = String::from_utf8_lossy(&help.stdout).to_string();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with(flag))
        .unwrap_or_else(|| panic!("{flag} not in: {text}"));
    lines[at..lines.len().min(at + 2)]
        .iter()
        .find_map(|l| l.split("[default: ").nth(1))
        .map(|d| d.trim_end().trim_end_matches(']').to_string())
        .unwrap_or_else(|| panic!("no default for {flag} in: {text}"))
}

/// An API request with `curl` (a JSON body from a file in `dir`, bearer
/// `token`): the status and the body.
pub fn curl_api(
    api: SocketAddr,
    token: &str,
    dir: &Path,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = dir.join(format!("curl-body-{}-{n}.json", std::process::id()));
    std::fs::write(&file, body).unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
    let out = Command::new(require_tool("curl"))
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["-H", "Content-Type: application/json"])
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(format!("http://{api}{path}"))
        .output()
        .unwrap_or_else(|e| panic!("running curl: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}
