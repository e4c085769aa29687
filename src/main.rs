//! The `zonecast` binary: command-line parsing and wiring of the crates.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use tracing::{error, info};
use zonecast_control::{Control, LoadOutcome};
use zonecast_store::Store;

#[derive(Parser)]
#[command(name = "zonecast", version, about = "Authoritative DNS platform")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a full node: embedded store, DNS over UDP and TCP.
    Serve(ServeArgs),
}

#[derive(Parser)]
struct ServeArgs {
    /// Directory of the embedded store.
    #[arg(long, default_value = "./zonecast-data")]
    data_dir: PathBuf,
    /// Address to answer DNS on, UDP and TCP (repeatable).
    #[arg(long = "dns-listen", default_value = "127.0.0.1:5300")]
    dns_listen: Vec<SocketAddr>,
    /// Zone file to load at start, or reload if it changed (repeatable).
    #[arg(long = "zone-file")]
    zone_file: Vec<PathBuf>,
    /// UDP worker threads per listen address (default: one per CPU).
    #[arg(long)]
    udp_workers: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let store = Store::open(&args.data_dir)
        .with_context(|| format!("opening the store in {}", args.data_dir.display()))?;
    let control = Control::open(store).context("loading stored zones")?;
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
    let zones = control.zones();
    info!(zones = zones.load().len(), "zones loaded");
    release_startup_memory();
    let workers = args
        .udp_workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        for addr in &args.dns_listen {
            let (bound, _threads) = zonecast_server::udp::spawn(*addr, workers, zones.clone())?;
            let listener = zonecast_server::tcp::bind(bound).await?;
            tokio::spawn(zonecast_server::tcp::serve(listener, zones.clone()));
            info!(%bound, udp_workers = workers, "DNS listening on UDP and TCP");
        }
        shutdown_signal().await;
        info!("shutting down");
        anyhow::Ok(())
    })?;
    drop(control);
    Ok(())
}

/// Hands the heap freed after loading (zone file parsing, validation, store
/// inserts) back to the OS, so RSS reflects what serving needs.
fn release_startup_memory() {
    // SAFETY: malloc_trim only returns free pages of glibc's heaps to the OS.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}

async fn shutdown_signal() {
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
