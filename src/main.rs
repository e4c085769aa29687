//! The `zonecast` binary: command-line parsing and wiring of the crates.

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use tracing::{error, info};
use zonecast_control::{Control, LoadOutcome};
use zonecast_store::Store;

mod api_limits;
mod cluster;
mod edge;
mod limits;
mod listen;
mod notify;
mod relay_auth;
mod secondary;
mod xfr;

/// The command line; the client options (`--api`, `--token`, `--json`) are
/// added to the client commands only, by [`zonecast_cli::with_client_args`].
#[derive(Parser)]
#[command(name = "zonecast", version, about = "Authoritative DNS platform")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a full node: embedded store, DNS over UDP and TCP, the management API.
    ///
    /// With --database postgres://..., a control plane of a cluster: the
    /// zones live in PostgreSQL, and edges follow them (docs/cluster.md).
    Serve(ServeArgs),
    /// Run an edge: a read-only nameserver following a cluster's PostgreSQL by logical replication.
    Edge(EdgeArgs),
    #[command(flatten)]
    Client(zonecast_cli::ClientCommand),
}

#[derive(Parser)]
struct ServeArgs {
    /// Directory of the embedded store.
    #[arg(long, default_value = "./zonecast-data")]
    data_dir: PathBuf,
    /// Keep the zones in PostgreSQL instead (postgres://USER[:PASSWORD]@HOST[:PORT]/DB): cluster mode.
    #[arg(long, env = "ZONECAST_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// Address to answer DNS on, UDP and TCP (repeatable).
    #[arg(long = "dns-listen", default_value = "127.0.0.1:5300")]
    dns_listen: Vec<SocketAddr>,
    /// Zone file to load at start, or reload if it changed (repeatable).
    #[arg(long = "zone-file")]
    zone_file: Vec<PathBuf>,
    /// UDP worker threads per listen address (default: one per CPU).
    #[arg(long)]
    udp_workers: Option<usize>,
    /// Address of the management HTTP API.
    #[arg(long, default_value = "127.0.0.1:8053")]
    api_listen: SocketAddr,
    /// Bootstrap admin token for the API (otherwise generated on first start and printed once).
    #[arg(long, env = "ZONECAST_API_TOKEN", hide_env_values = true)]
    api_token: Option<String>,
    #[command(flatten)]
    transfers: xfr::TransferArgs,
    #[command(flatten)]
    tcp: listen::TcpArgs,
    #[command(flatten)]
    secondary: secondary::SecondaryArgs,
    #[command(flatten)]
    rrl: listen::RrlArgs,
    #[command(flatten)]
    api_limits: api_limits::ApiLimitArgs,
    #[command(flatten)]
    api_rate: api_limits::ApiRateArgs,
    #[command(flatten)]
    limits: limits::LimitsArgs,
}

#[derive(Parser)]
struct EdgeArgs {
    /// The cluster's PostgreSQL (postgres://USER[:PASSWORD]@HOST[:PORT]/DB); see docs/cluster.md for the role it needs.
    #[arg(long, env = "ZONECAST_DATABASE", hide_env_values = true)]
    database: String,
    /// This edge's name: its replication slot is zonecast_edge_NAME (letters, digits, '_' and '-').
    #[arg(long)]
    name: String,
    /// Directory of the edge's local snapshot (served at once on start, PostgreSQL or not).
    #[arg(long, default_value = "./zonecast-edge-data")]
    data_dir: PathBuf,
    /// Address to answer DNS on, UDP and TCP (repeatable).
    #[arg(long = "dns-listen", default_value = "127.0.0.1:5300")]
    dns_listen: Vec<SocketAddr>,
    /// Address of the edge's HTTP API (health, metrics; no token: keep it internal).
    #[arg(long, default_value = "127.0.0.1:8054")]
    api_listen: SocketAddr,
    /// UDP worker threads per listen address (default: one per CPU).
    #[arg(long)]
    udp_workers: Option<usize>,
    /// Replication lag above which GET /v1/health answers 503 (not ready), milliseconds.
    #[arg(long, default_value_t = 5000)]
    max_lag_ms: u64,
    #[command(flatten)]
    transfers: xfr::TransferArgs,
    #[command(flatten)]
    tcp: listen::TcpArgs,
    #[command(flatten)]
    rrl: listen::RrlArgs,
    #[command(flatten)]
    api_limits: api_limits::ApiLimitArgs,
    #[command(flatten)]
    limits: limits::LimitsArgs,
}

fn main() {
    if let Err(e) = run() {
        // One line, causes included: what a newcomer and a log reader need.
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(log_colours())
        .init();
    let mut cmd = zonecast_cli::with_client_args(Cli::command());
    let matches = cmd.get_matches_mut();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut cmd).exit());
    match cli.command {
        Command::Serve(args) => {
            if let Some(flag) = zonecast_cli::client_flags_typed(&matches).first() {
                cmd.error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!("--{flag} is an option of the client commands; serve does not take it"),
                )
                .exit();
            }
            serve(args)
        }
        Command::Edge(args) => edge(args),
        Command::Client(client) => {
            let c = zonecast_cli::client_args_from(&matches)
                .unwrap_or_else(|e| e.format(&mut cmd).exit());
            std::process::exit(zonecast_cli::run(
                client,
                &c.api,
                c.token.as_deref(),
                c.json,
            ))
        }
    }
}

/// Colours in the logs only when stderr is a terminal and `NO_COLOR` is
/// unset or empty (<https://no-color.org/>): a log file, journald or a pipe
/// gets plain text.
fn log_colours() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    std::io::stderr().is_terminal() && !no_color
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let store = match &args.database {
        Some(url) => Store::open_url(url).context("opening the PostgreSQL store")?,
        None => Store::open(&args.data_dir)
            .with_context(|| format!("opening the store in {}", args.data_dir.display()))?,
    };
    let control =
        Control::open_with_limits(store, args.limits.limits()).context("loading stored zones")?;
    for file in &args.zone_file {
        match control.load_zone_file(file) {
            Ok((origin, LoadOutcome::Created { serial })) => {
                info!(zone = %origin, serial, file = %file.display(), "zone created")
            }
            Ok((origin, LoadOutcome::Unchanged { serial })) => {
                info!(zone = %origin, serial, file = %file.display(), "zone unchanged")
            }
            Ok((origin, LoadOutcome::Updated { from, to })) => {
                info!(zone = %origin, from, to, file = %file.display(), "zone updated")
            }
            // A bad file must not take down zones that are already stored: keep serving them.
            Err(e) => {
                error!(file = %file.display(), "zone file rejected, stored zone (if any) kept: {e}")
            }
        }
    }
    if let Some(token) = zonecast_api::ensure_admin_token(&control, args.api_token.as_deref())
        .map_err(|e| anyhow::anyhow!("setting up the admin API token: {e}"))?
    {
        // Only its hash is in the store; the token itself is printed once
        // and kept in the data dir, readable by its owner only.
        let kept = keep_admin_token(&args.data_dir, &token)?;
        println!(
            "admin API token (printed once; kept in {}): {token}",
            kept.display()
        );
    }
    let zones = control.zones();
    info!(zones = zones.load().len(), "zones loaded");
    release_startup_memory();
    let control = std::sync::Arc::new(control);
    let mut api_state = zonecast_api::ApiState::new(control.clone())
        .with_limits(args.api_limits.limits(), args.api_rate.rate());
    let secondaries_slot = std::sync::Arc::new(std::sync::OnceLock::new());
    let _duties = if control.store().is_cluster() {
        let node = format!("{}:{}", hostname(), std::process::id());
        let duties = cluster::Duties::start(control.clone(), node, secondaries_slot.clone())?;
        api_state = api_state.with_cluster(zonecast_api::ClusterInfo {
            is_leader: duties.is_leader_fn(),
            notifies_relayed: duties.notifies_relayed.clone(),
        });
        Some(duties)
    } else {
        None
    };
    let workers = udp_workers(args.udp_workers);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let transfers = xfr::transfers(xfr::ControlStore(control.clone()), &args.transfers);
    let keys_from = control.clone();
    let notify_out = zonecast_xfr::notify::NotifyOut::new(
        zonecast_xfr::notify::NotifyConfig::default(),
        runtime.handle().clone(),
    )
    .with_keys(std::sync::Arc::new(move |name: &str| {
        xfr::stored_key(keys_from.store(), name)
    }));
    // In cluster mode only the leader sends NOTIFY (the others follow the same changes).
    let sends: std::sync::Arc<dyn Fn() -> bool + Send + Sync> = match &_duties {
        Some(d) => d.is_leader_fn(),
        None => std::sync::Arc::new(|| true),
    };
    let keys_from = control.clone();
    let secondaries = zonecast_xfr::secondary::Secondaries::start(
        control.clone(),
        runtime.handle().clone(),
        args.secondary.config(control.limits()),
        std::sync::Arc::new(move |name: &str| xfr::stored_key(keys_from.store(), name)),
        sends.clone(),
    );
    let _ = secondaries_slot.set(secondaries.clone());
    control.set_observer(std::sync::Arc::new(notify::Notifier::new(
        notify_out.clone(),
        sends.clone(),
    )));
    let tcp_stats = std::sync::Arc::new(zonecast_server::TcpStats::default());
    let rrl = args.rrl.limiter();
    let udp_stats = std::sync::Arc::new(zonecast_server::udp::UdpStats::default());
    api_state = api_state.with_extras(std::sync::Arc::new(notify::Extras {
        notify: notify_out,
        xfr: transfers.stats(),
        tcp: tcp_stats.clone(),
        rrl: rrl.clone(),
        udp: udp_stats.clone(),
        control: control.clone(),
        secondaries: secondaries.clone(),
    }));
    xfr::trim_journal_every_minute(
        xfr::ControlStore(control.clone()),
        &args.transfers,
        sends.clone(),
    );
    let service = zonecast_server::Service {
        notify: Some(std::sync::Arc::new(notify::ControlNotify {
            control: control.clone(),
            secondaries,
        })),
        transfers: Some(transfers),
        keys: Some(std::sync::Arc::new(xfr::KeyCache::new(xfr::ControlStore(
            control.clone(),
        )))),
        rrl,
        udp: udp_stats,
    };
    runtime.block_on(async {
        listen::start(
            &args.dns_listen,
            workers,
            &zones,
            &service,
            &args.tcp,
            tcp_stats,
        )
        .await?;
        let api = zonecast_api::bind(args.api_listen)
            .await
            .with_context(|| format!("API cannot listen on {}", args.api_listen))?;
        info!(addr = %api.local_addr()?, "API listening");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let api = tokio::spawn(zonecast_api::serve_with_shutdown(api, api_state, async {
            let _ = stopped.await;
        }));
        shutdown_signal().await;
        info!("shutting down: draining API requests in progress");
        let _ = stop.send(());
        let (_, ()) = tokio::join!(api, xfr::drain(service.transfers.as_ref(), &args.transfers));
        anyhow::Ok(())
    })?;
    drop(control);
    Ok(())
}

fn edge(args: EdgeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(edge::run(edge::EdgeOptions {
        database: args.database,
        name: args.name,
        data_dir: args.data_dir,
        dns_listen: args.dns_listen,
        api_listen: args.api_listen,
        udp_workers: udp_workers(args.udp_workers),
        max_lag_ms: args.max_lag_ms,
        transfers: args.transfers,
        tcp: args.tcp,
        rrl: args.rrl,
        api_limits: args.api_limits.limits(),
        limits: args.limits.limits(),
    }))
}

fn udp_workers(given: Option<usize>) -> usize {
    given.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// This machine's name, for the heartbeat's writer column.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// Hands the heap freed after loading (zone file parsing, validation, store
/// inserts) back to the OS, so RSS reflects what serving needs.
/// File of the data dir that keeps a generated admin token (design.md).
const ADMIN_TOKEN_FILE: &str = "admin-token";

/// Writes a generated admin token to `DIR/admin-token`, mode 0600 (the
/// directory 0700 when it is created), and returns the file's path.
fn keep_admin_token(dir: &std::path::Path, token: &str) -> anyhow::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(ADMIN_TOKEN_FILE);
    let _ = std::fs::remove_file(&path); // a stale one, perhaps with a wider mode
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(format!("{token}\n").as_bytes()))
        .with_context(|| format!("keeping the admin token in {}", path.display()))?;
    Ok(path)
}

fn release_startup_memory() {
    // SAFETY: malloc_trim only returns free pages of glibc's heaps to the OS.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}

pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            error!("cannot watch SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
