//! Wiring: a node's store as the source of zone transfers out.

use std::sync::Arc;
use tracing::warn;
use zonecast_proto::tsig::Key;
use zonecast_proto::Name;
use zonecast_server::xfr::{Acl, Delta, TransferSource, Transfers, DEFAULT_MAX_TRANSFERS};
use zonecast_store::Store;

/// ACLs and journal read from a store (a control plane's, or an edge's local snapshot).
struct StoreSource<S: AsRef<Store> + Send + Sync>(S);

/// The zone's stored transfer ACL; `None` when it has none or it cannot be read (logged).
pub fn transfer_acl(store: &Store, zone: &Name) -> Option<Acl> {
    match zonecast_control::transfer_acl_entries(store, zone) {
        Ok(Some(entries)) => match Acl::parse(&entries) {
            Ok(acl) => Some(acl),
            Err(e) => {
                warn!(%zone, "stored allow_transfer unreadable, transfers refused: {e}");
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            warn!(%zone, "reading allow_transfer: {e}");
            None
        }
    }
}

impl<S: AsRef<Store> + Send + Sync> TransferSource for StoreSource<S> {
    fn acl(&self, zone: &Name) -> Option<Acl> {
        transfer_acl(self.0.as_ref(), zone)
    }

    fn key(&self, name: &Name) -> Option<Key> {
        let text = name.to_string();
        stored_key(self.0.as_ref(), text.strip_suffix('.').unwrap_or(&text))
    }

    fn deltas(&self, zone: &Name, from: u32, to: u32) -> Option<Vec<Delta>> {
        match zonecast_control::journal_deltas(self.0.as_ref(), zone, from, to) {
            Ok(changes) => changes.map(|cs| {
                cs.into_iter()
                    .map(|c| Delta {
                        removed: c.removed,
                        added: c.added,
                    })
                    .collect()
            }),
            Err(e) => {
                warn!(%zone, from, to, "reading the journal for IXFR: {e}");
                None
            }
        }
    }
}

/// A control plane's store, shared with its write path.
pub struct ControlStore(pub Arc<zonecast_control::Control>);

impl AsRef<Store> for ControlStore {
    fn as_ref(&self) -> &Store {
        self.0.store()
    }
}

/// Zone transfer and journal settings, shared by `serve` and `edge`.
#[derive(clap::Args, Clone, Debug)]
pub struct TransferArgs {
    /// Most zone transfers out (AXFR/IXFR over TCP) at once; more are answered REFUSED.
    #[arg(long, default_value_t = DEFAULT_MAX_TRANSFERS)]
    pub max_transfers: usize,
    /// Journal entries kept per zone (IXFR history); older ones are deleted every minute.
    #[arg(long, default_value_t = 1000)]
    pub journal_keep: u32,
    /// Age in seconds beyond which journal entries are deleted (the newest of each zone stays).
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    pub journal_max_age: u64,
    /// Milliseconds given to transfers out in progress at shutdown (new ones are REFUSED meanwhile).
    #[arg(long, default_value_t = 10_000)]
    pub xfr_drain_ms: u64,
}

/// At shutdown: lets the transfers out in progress finish, for at most `--xfr-drain-ms`.
pub async fn drain(transfers: Option<&Transfers>, args: &TransferArgs) {
    let Some(t) = transfers else { return };
    let n = t.in_flight();
    if n == 0 {
        return;
    }
    tracing::info!(in_flight = n, "shutting down: draining transfers out");
    let left = t
        .drain(std::time::Duration::from_millis(args.xfr_drain_ms))
        .await;
    if left > 0 {
        tracing::warn!(
            left,
            "transfers out still running after the drain time: cut off"
        );
    }
}

/// The transfer service over `store`.
pub fn transfers<S: AsRef<Store> + Send + Sync + 'static>(
    store: S,
    args: &TransferArgs,
) -> Transfers {
    Transfers::new(Arc::new(StoreSource(store)), args.max_transfers.max(1))
}

/// Trims the store's journal every minute while `runs()` (the leader, in cluster mode).
pub fn trim_journal_every_minute<S: AsRef<Store> + Send + Sync + 'static>(
    store: S,
    args: &TransferArgs,
    runs: Arc<dyn Fn() -> bool + Send + Sync>,
) {
    let (keep, max_age_ms) = (
        args.journal_keep,
        i64::try_from(args.journal_max_age.saturating_mul(1000)).unwrap_or(i64::MAX),
    );
    let spawned = std::thread::Builder::new()
        .name("journal-trim".into())
        .spawn(move || loop {
            if runs() {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                match store
                    .as_ref()
                    .trim_journal(keep, now.saturating_sub(max_age_ms))
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(
                        removed = n,
                        keep,
                        max_age_s = max_age_ms / 1000,
                        "journal trimmed"
                    ),
                    Err(e) => warn!("trimming the journal: {e}"),
                }
            }
            std::thread::sleep(std::time::Duration::from_secs(60));
        });
    if let Err(e) = spawned {
        warn!("journal trimming not started: {e}");
    }
}

/// The stored TSIG key of that name (any case), ready to sign and verify.
pub fn stored_key(store: &Store, name: &str) -> Option<Key> {
    match store.tsig_key(name) {
        Ok(Some(row)) => match Key::new(&row.name, &row.algorithm, row.secret) {
            Ok(k) => Some(k),
            Err(e) => {
                warn!(key = %row.name, "stored TSIG key unusable: {e}");
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            warn!(key = name, "reading TSIG key: {e}");
            None
        }
    }
}

/// How long a looked-up TSIG key (or its absence) is used before the store is read again.
const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);
/// How long an unknown key name is remembered.
const KEY_MISS_TTL: std::time::Duration = std::time::Duration::from_millis(200);
/// Most key names remembered; junk names in queries must not grow memory.
const KEY_CACHE_MAX: usize = 1024;

/// TSIG keys for the listeners, read from a store at most every
/// [`KEY_CACHE_TTL`] per name (a deleted key stops working within that time).
pub struct KeyCache<S: AsRef<Store> + Send + Sync> {
    store: S,
    cache: zonecast_server::cache::TtlCache<String, Option<Key>>,
}

impl<S: AsRef<Store> + Send + Sync> KeyCache<S> {
    pub fn new(store: S) -> KeyCache<S> {
        KeyCache {
            store,
            cache: zonecast_server::cache::TtlCache::new(KEY_CACHE_TTL, KEY_CACHE_MAX),
        }
    }
}

impl<S: AsRef<Store> + Send + Sync> zonecast_server::KeyFinder for KeyCache<S> {
    fn key(&self, name: &Name) -> Option<Key> {
        let text = name.to_lowercase().to_string();
        let stored = text.strip_suffix('.').unwrap_or(&text).to_string();
        // An unknown name is remembered briefly only: a key created a moment
        // ago (a primary's first signed NOTIFY) is found within 200 ms.
        self.cache.get_or_load_for(
            &stored,
            || stored_key(self.store.as_ref(), &stored),
            |k| {
                if k.is_some() {
                    KEY_CACHE_TTL
                } else {
                    KEY_MISS_TTL
                }
            },
        )
    }
}

/// The transfer counters as (name, help, value), for `/metrics` on serve and edge.
pub fn xfr_counters(x: &zonecast_server::xfr::XfrStats) -> Vec<(&'static str, &'static str, u64)> {
    use std::sync::atomic::Ordering::Relaxed;
    vec![
        (
            "zonecast_xfr_axfr_out_total",
            "AXFR answers sent (AXFR-style IXFR included).",
            x.axfr.load(Relaxed),
        ),
        (
            "zonecast_xfr_ixfr_out_total",
            "Incremental IXFR answers sent (single-SOA answers included).",
            x.ixfr.load(Relaxed),
        ),
        (
            "zonecast_xfr_refused_total",
            "Transfers refused by ACL or TSIG.",
            x.refused.load(Relaxed),
        ),
        (
            "zonecast_xfr_limited_total",
            "Transfers refused at the concurrent-transfer limit.",
            x.limited.load(Relaxed),
        ),
        (
            "zonecast_xfr_failed_total",
            "Transfers cut off (peer gone or too slow).",
            x.failed.load(Relaxed),
        ),
        (
            "zonecast_xfr_records_out_total",
            "Records sent by transfers.",
            x.records.load(Relaxed),
        ),
    ]
}
