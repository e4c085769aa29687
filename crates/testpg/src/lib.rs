//! Throwaway PostgreSQL clusters for tests.
//!
//! [`TestPg::start`] runs `initdb` into a fresh directory under the system
//! temp dir and starts a server on a free port below 32768, configured for
//! logical replication:
//!
//! - `wal_level=logical`, `max_replication_slots=20`, `max_wal_senders=20`,
//!   `max_slot_wal_keep_size=1GB`;
//! - `listen_addresses='127.0.0.1'`, the Unix socket in the cluster's own
//!   directory, `fsync=off` (the data is thrown away), `synchronous_commit=on`;
//! - `pg_hba.conf`: trust for local connections and for TCP from
//!   127.0.0.0/8, normal and `replication` connections alike. The superuser
//!   is `postgres`, with no password.
//!
//! Binaries are found with `pg_config --bindir`, else the newest
//! `/usr/lib/postgresql/*/bin`, else `PATH` (the environment variable
//! `ZONECAST_PG_BINDIR` overrides all three). PostgreSQL refuses to run as
//! root, so when the tests run as root every PostgreSQL command runs as the
//! `postgres` OS user (`runuser`, else `su`) and the cluster directory is
//! owned by it.
//!
//! Missing binaries, a missing `postgres` user or a server that does not
//! start are reported by a panic naming what is missing: a test that needs
//! PostgreSQL fails, it never skips.
//!
//! Dropping a [`TestPg`] stops the server (immediate shutdown) and removes
//! its directory. A cluster kept in a `static` is never dropped, so each
//! cluster also has a watchdog process that does the same once the test
//! process has exited.
//!
//! Limitations: Unix only; one superuser, no passwords or TLS; the watchdog
//! polls once a second, so a cluster outlives a crashed test process by up to
//! a second.

#![warn(missing_docs)]

use rand::Rng;
use std::ffi::{CString, OsStr};
use std::fs;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The ports tried for a cluster (a random one, bind-tested first).
const PORT_RANGE: std::ops::Range<u16> = 15000..32000;
/// How many ports are tried before giving up.
const PORT_TRIES: usize = 20;

/// Settings appended to `postgresql.conf` (the port and socket directory are added per cluster).
const SETTINGS: &str = "
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_slot_wal_keep_size = 1GB
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = on
full_page_writes = off
max_connections = 200
log_min_messages = warning
log_line_prefix = '%m [%p] '
";

/// `pg_hba.conf`: trust everything local, normal and replication connections.
const HBA: &str = "\
local   all          all                 trust
local   replication  all                 trust
host    all          all   127.0.0.0/8   trust
host    replication  all   127.0.0.0/8   trust
";

/// A running (or stopped) throwaway PostgreSQL cluster; dropping it stops it and removes its files.
pub struct TestPg {
    /// The cluster's directory: `data/` (PGDATA), `log`, and the Unix socket.
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    /// Run PostgreSQL commands as the `postgres` OS user (the tests run as root).
    runner: Runner,
    watchdog: Option<std::process::Child>,
}

/// How PostgreSQL commands are run.
#[derive(Clone, Debug)]
enum Runner {
    /// As the current user.
    Direct,
    /// As `postgres`, through `runuser -u postgres --`.
    Runuser(PathBuf),
    /// As `postgres`, through `su postgres -s /bin/sh -c`.
    Su(PathBuf),
}

impl TestPg {
    /// Creates and starts a new cluster; panics with a clear message when PostgreSQL can't be run.
    pub fn start() -> TestPg {
        let bindir = find_bindir();
        for tool in ["initdb", "pg_ctl", "postgres", "psql"] {
            if !bindir.join(tool).is_file() {
                panic!(
                    "testpg: PostgreSQL binary `{tool}` missing in {} (install PostgreSQL server \
                     binaries, e.g. the Debian package postgresql-15)",
                    bindir.display()
                );
            }
        }
        let runner = find_runner();
        let dir = make_dir(&runner);
        let mut pg = TestPg {
            dir,
            bindir,
            port: 0,
            runner,
            watchdog: None,
        };
        pg.watchdog = Some(pg.spawn_watchdog());
        pg.initdb();
        let mut last_error = String::new();
        for _ in 0..PORT_TRIES {
            let port = free_port();
            pg.port = port;
            pg.write_port(port);
            match pg.pg_ctl_start() {
                Ok(()) => return pg,
                Err(e) => {
                    // Another process may have taken the port between the bind test and the start.
                    last_error = e;
                    if !last_error.contains("could not bind")
                        && !last_error.contains("could not create any TCP/IP sockets")
                        && !last_error.contains("Address already in use")
                    {
                        break;
                    }
                }
            }
        }
        panic!("testpg: PostgreSQL did not start: {last_error}");
    }

    /// The superuser URL of the `postgres` database: `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// The superuser URL of database `db`.
    pub fn url_for(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The TCP port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's data directory (PGDATA).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The server log so far (empty when unreadable).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Creates database `name` (letters, digits and `_` only) and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            panic!("testpg: database name {name:?} must be letters, digits and `_`");
        }
        self.psql(&format!("CREATE DATABASE \"{name}\""));
        self.url_for(name)
    }

    /// Runs `sql` with `psql -At` on the `postgres` database and returns its output, trimmed;
    /// panics when psql fails.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in("postgres", sql)
    }

    /// Runs `sql` with `psql -At` on database `db`; panics when psql fails.
    pub fn psql_in(&self, db: &str, sql: &str) -> String {
        match self.try_psql_in(db, sql) {
            Ok(out) => out,
            Err(e) => panic!("testpg: psql failed on {db}: {e}\nSQL: {sql}"),
        }
    }

    /// Runs `sql` with `psql -At` on database `db`; `Err` carries psql's error output.
    pub fn try_psql_in(&self, db: &str, sql: &str) -> Result<String, String> {
        let port = self.port.to_string();
        let psql = self.bindir.join("psql");
        let out = self.run(
            &psql,
            &[
                OsStr::new("-X"),
                OsStr::new("-At"),
                OsStr::new("-v"),
                OsStr::new("ON_ERROR_STOP=1"),
                OsStr::new("-h"),
                OsStr::new("127.0.0.1"),
                OsStr::new("-p"),
                OsStr::new(&port),
                OsStr::new("-U"),
                OsStr::new("postgres"),
                OsStr::new("-d"),
                OsStr::new(db),
                OsStr::new("-c"),
                OsStr::new(sql),
            ],
        );
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
        } else {
            Err(format!(
                "{} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim_end()
            ))
        }
    }

    /// Stops the server (`pg_ctl stop -m fast`); the files stay for [`TestPg::start_again`].
    pub fn stop(&self) {
        self.pg_ctl_stop("fast");
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: no checkpoint, crash recovery at the next start).
    pub fn kill(&self) {
        self.pg_ctl_stop("immediate");
    }

    /// Starts the stopped server again, on the same directory and port; panics when it doesn't start.
    pub fn start_again(&self) {
        if let Err(e) = self.pg_ctl_start() {
            panic!(
                "testpg: PostgreSQL did not start again on port {}: {e}",
                self.port
            );
        }
    }

    /// Whether the server is running (`pg_ctl status`).
    pub fn is_running(&self) -> bool {
        let data = self.data_dir();
        let out = self.run(
            &self.bindir.join("pg_ctl"),
            &[OsStr::new("status"), OsStr::new("-D"), data.as_os_str()],
        );
        out.status.success()
    }

    fn initdb(&self) {
        let data = self.data_dir();
        let out = self.run(
            &self.bindir.join("initdb"),
            &[
                OsStr::new("-D"),
                data.as_os_str(),
                OsStr::new("-U"),
                OsStr::new("postgres"),
                OsStr::new("--auth=trust"),
                OsStr::new("-E"),
                OsStr::new("UTF8"),
                OsStr::new("--locale=C"),
                OsStr::new("--no-sync"),
            ],
        );
        if !out.status.success() {
            panic!(
                "testpg: initdb into {} failed: {}",
                data.display(),
                describe(&out)
            );
        }
        let conf = data.join("postgresql.conf");
        let mut text = fs::read_to_string(&conf)
            .unwrap_or_else(|e| panic!("testpg: reading {}: {e}", conf.display()));
        text.push_str(SETTINGS);
        text.push_str(&format!(
            "unix_socket_directories = '{}'\n",
            self.dir.display()
        ));
        write_file(&conf, &text);
        write_file(&data.join("pg_hba.conf"), HBA);
    }

    /// Puts `port` into `postgresql.auto.conf` (read last, so it wins).
    fn write_port(&self, port: u16) {
        let auto = self.data_dir().join("postgresql.auto.conf");
        write_file(
            &auto,
            &format!("# written by zonecast-testpg\nport = {port}\n"),
        );
        self.chown(&auto);
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let data = self.data_dir();
        let log = self.dir.join("log");
        let started = Instant::now();
        let out = self.run(
            &self.bindir.join("pg_ctl"),
            &[
                OsStr::new("start"),
                OsStr::new("-w"),
                OsStr::new("-t"),
                OsStr::new("30"),
                OsStr::new("-D"),
                data.as_os_str(),
                OsStr::new("-l"),
                log.as_os_str(),
            ],
        );
        if out.status.success() {
            return Ok(());
        }
        let log_text = self.log();
        let tail: Vec<&str> = log_text.lines().rev().take(10).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(format!(
            "pg_ctl start (port {}, after {:?}): {}; server log: {}",
            self.port,
            started.elapsed(),
            describe(&out),
            tail.join(" | ")
        ))
    }

    fn pg_ctl_stop(&self, mode: &str) {
        let data = self.data_dir();
        let out = self.run(
            &self.bindir.join("pg_ctl"),
            &[
                OsStr::new("stop"),
                OsStr::new("-w"),
                OsStr::new("-m"),
                OsStr::new(mode),
                OsStr::new("-D"),
                data.as_os_str(),
            ],
        );
        if !out.status.success() {
            panic!("testpg: pg_ctl stop -m {mode} failed: {}", describe(&out));
        }
    }

    /// Runs a PostgreSQL binary as the right OS user, in the cluster directory.
    fn run(&self, program: &Path, args: &[&OsStr]) -> Output {
        let mut cmd = match &self.runner {
            Runner::Direct => Command::new(program),
            Runner::Runuser(runuser) => {
                let mut c = Command::new(runuser);
                c.args(["-u", "postgres", "--"]).arg(program);
                c
            }
            Runner::Su(su) => {
                let mut line = shell_quote(program.as_os_str());
                for a in args {
                    line.push(' ');
                    line.push_str(&shell_quote(a));
                }
                let mut c = Command::new(su);
                c.args(["postgres", "-s", "/bin/sh", "-c"]).arg(line);
                c.current_dir(&self.dir)
                    .env("LC_ALL", "C")
                    .stdin(Stdio::null());
                return c
                    .output()
                    .unwrap_or_else(|e| panic!("testpg: running {}: {e}", su.display()));
            }
        };
        cmd.args(args)
            .current_dir(&self.dir)
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .env_remove("PGHOST")
            .env_remove("PGPORT")
            .env_remove("PGUSER")
            .env_remove("PGDATABASE")
            .stdin(Stdio::null());
        cmd.output()
            .unwrap_or_else(|e| panic!("testpg: running {}: {e}", program.display()))
    }

    fn chown(&self, path: &Path) {
        if !matches!(self.runner, Runner::Direct) {
            chown_to_postgres(path);
        }
    }

    /// A shell that, once this process is gone (or the directory removed), stops the server and removes the directory.
    fn spawn_watchdog(&self) -> std::process::Child {
        let pg_ctl = self.bindir.join("pg_ctl");
        let data = self.data_dir();
        let stop = format!(
            "{} stop -m immediate -D {}",
            shell_quote(pg_ctl.as_os_str()),
            shell_quote(data.as_os_str())
        );
        let stop = match &self.runner {
            Runner::Direct => stop,
            Runner::Runuser(r) => format!("{} -u postgres -- {stop}", shell_quote(r.as_os_str())),
            Runner::Su(s) => format!(
                "{} postgres -s /bin/sh -c {}",
                shell_quote(s.as_os_str()),
                shell_quote(OsStr::new(&stop))
            ),
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null && [ -d {dir} ]; do sleep 1; done; \
             if [ -f {data}/postmaster.pid ]; then {stop} >/dev/null 2>&1; fi; rm -rf {dir}",
            pid = std::process::id(),
            dir = shell_quote(self.dir.as_os_str()),
            data = shell_quote(data.as_os_str()),
        );
        Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("testpg: starting the watchdog shell /bin/sh: {e}"))
    }
}

impl Drop for TestPg {
    fn drop(&mut self) {
        if self.data_dir().join("postmaster.pid").exists() {
            let data = self.data_dir();
            let _ = self.run(
                &self.bindir.join("pg_ctl"),
                &[
                    OsStr::new("stop"),
                    OsStr::new("-w"),
                    OsStr::new("-m"),
                    OsStr::new("immediate"),
                    OsStr::new("-D"),
                    data.as_os_str(),
                ],
            );
        }
        let _ = fs::remove_dir_all(&self.dir);
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

/// The PostgreSQL binaries' directory.
fn find_bindir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ZONECAST_PG_BINDIR") {
        return PathBuf::from(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if dir.join("initdb").is_file() {
                return dir;
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() {
                return dir;
            }
        }
    }
    panic!(
        "testpg: PostgreSQL server binaries not found: no `initdb` via `pg_config --bindir`, \
         in /usr/lib/postgresql/*/bin or on PATH (install the Debian package postgresql-15, \
         or set ZONECAST_PG_BINDIR)"
    );
}

/// How to run PostgreSQL commands: as `postgres` when this process is root.
fn find_runner() -> Runner {
    // SAFETY: geteuid has no preconditions and can't fail.
    if unsafe { libc::geteuid() } != 0 {
        return Runner::Direct;
    }
    if postgres_ids().is_none() {
        panic!(
            "testpg: running as root, but there is no `postgres` OS user to run PostgreSQL as \
             (PostgreSQL refuses to run as root; create the user, e.g. with the postgresql package)"
        );
    }
    for p in ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"] {
        if Path::new(p).is_file() {
            return Runner::Runuser(PathBuf::from(p));
        }
    }
    for p in ["/usr/bin/su", "/bin/su"] {
        if Path::new(p).is_file() {
            return Runner::Su(PathBuf::from(p));
        }
    }
    panic!("testpg: running as root, but neither `runuser` nor `su` was found to run PostgreSQL as `postgres`");
}

/// The uid and gid of the `postgres` OS user.
fn postgres_ids() -> Option<(libc::uid_t, libc::gid_t)> {
    let name = CString::new("postgres").ok()?;
    // SAFETY: `name` is a valid C string; getpwnam returns null or a pointer to a static entry,
    // read at once (the tests don't call getpwnam concurrently in a way that matters here: the
    // ids of one user don't change).
    unsafe {
        let pw = libc::getpwnam(name.as_ptr());
        if pw.is_null() {
            None
        } else {
            Some(((*pw).pw_uid, (*pw).pw_gid))
        }
    }
}

fn chown_to_postgres(path: &Path) {
    let Some((uid, gid)) = postgres_ids() else {
        panic!("testpg: no `postgres` OS user");
    };
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("testpg: chown postgres {}: {e}", path.display()));
}

/// A fresh directory for one cluster, owned by `postgres` when PostgreSQL runs as that user.
fn make_dir(runner: &Runner) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    for _ in 0..100 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let r: u32 = rand::thread_rng().gen();
        let dir = base.join(format!(
            "zonecast-testpg-{}-{n}-{r:08x}",
            std::process::id()
        ));
        match fs::create_dir(&dir) {
            Ok(()) => {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                    .unwrap_or_else(|e| panic!("testpg: chmod {}: {e}", dir.display()));
                if !matches!(runner, Runner::Direct) {
                    chown_to_postgres(&dir);
                }
                return dir;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("testpg: creating {}: {e}", dir.display()),
        }
    }
    panic!(
        "testpg: no fresh directory could be made in {}",
        base.display()
    );
}

/// A port in [`PORT_RANGE`] that could be bound on 127.0.0.1 just now.
fn free_port() -> u16 {
    let mut rng = rand::thread_rng();
    for _ in 0..1000 {
        let port = rng.gen_range(PORT_RANGE);
        if TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("testpg: no free TCP port in {PORT_RANGE:?} on 127.0.0.1");
}

fn write_file(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("testpg: writing {}: {e}", path.display()));
}

fn describe(out: &Output) -> String {
    format!(
        "{}; stdout: {}; stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim_end(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    )
}

fn shell_quote(s: &OsStr) -> String {
    format!("'{}'", s.to_string_lossy().replace('\'', "'\\''"))
}

/// Waits up to `timeout` for `cond` to hold, polling every 10 ms; whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
