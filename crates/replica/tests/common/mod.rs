//! Shared test helpers: a throwaway PostgreSQL with the cluster schema, a
//! stand-in for the control plane's writes, and waiting for an edge.

#![allow(dead_code)]

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::{Client, NoTls};
use zonecast_proto::{Name, Record, Rtype};
use zonecast_replica::{Follower, FollowerConfig};
use zonecast_store::{Change, Store, ZoneKind};
use zonecast_testpg::TestPg;
use zonecast_zone::SharedZones;

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "zonecast_replica=info,pg_walstream=off".into()),
        )
        .with_test_writer()
        .try_init();
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A cluster with database `zonecast`, its schema and publications made by the real store.
pub fn cluster() -> (TestPg, String) {
    let pg = TestPg::start();
    let url = pg.create_database("zonecast");
    let u = url.clone();
    // The PostgreSQL store is synchronous (its own runtime): open it off the test's runtime.
    std::thread::spawn(move || drop(Store::open_url(&u).expect("store opens and migrates")))
        .join()
        .unwrap();
    (pg, url)
}

pub fn name(s: &str) -> Name {
    s.parse().unwrap()
}

/// Records of a zone from zone file text.
pub fn records(zone: &str, text: &str) -> Vec<Record> {
    zonecast_zonefile::parse_str(text, &name(zone), "test")
        .unwrap()
        .records
}

pub fn zone_text(zone: &str, serial: u32, www: &str) -> String {
    format!(
        "$TTL 300\n@ SOA ns1.{zone} hostmaster.{zone} {serial} 3600 900 1209600 300\n@ NS ns1.{zone}\nns1 A 192.0.2.53\nwww A {www}\n"
    )
}

pub fn soa(zone: &str, serial: u32) -> Record {
    records(
        zone,
        &format!("@ 300 SOA ns1.{zone} hostmaster.{zone} {serial} 3600 900 1209600 300\n"),
    )
    .remove(0)
}

pub fn a(zone: &str, owner: &str, addr: &str) -> Record {
    records(zone, &format!("{owner} 300 A {addr}\n")).remove(0)
}

/// The control plane's writes through the real PostgreSQL store, plus a raw
/// SQL client for what the store would refuse.
pub struct Primary {
    pub client: Client,
    store: Option<Arc<Store>>,
}

impl Drop for Primary {
    fn drop(&mut self) {
        // The synchronous store blocks on its own runtime when it closes: not on the test's.
        if let Some(s) = self.store.take() {
            let _ = std::thread::spawn(move || drop(s)).join();
        }
    }
}

impl Primary {
    pub async fn connect(url: &str) -> Primary {
        let (client, conn) = tokio_postgres::connect(url, NoTls).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let u = url.to_string();
        let store = tokio::task::spawn_blocking(move || Store::open_url(&u).unwrap())
            .await
            .unwrap();
        Primary {
            client,
            store: Some(Arc::new(store)),
        }
    }

    async fn with_store<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> R + Send + 'static,
    ) -> R {
        let store = self.store.clone().expect("store open");
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .unwrap()
    }

    pub async fn create_zone(
        &mut self,
        zone: &str,
        kind: &str,
        settings: &str,
        recs: &[Record],
    ) -> i64 {
        let (n, kind, settings, recs) = (
            name(zone),
            kind.parse::<ZoneKind>().unwrap(),
            settings.to_string(),
            recs.to_vec(),
        );
        self.with_store(move |s| {
            s.create_zone_with_settings(&n, kind, &settings, &recs)
                .unwrap()
                .id
        })
        .await
    }

    /// One change through `commit_change` (removed/added records, SOA included by the caller).
    pub async fn change(
        &mut self,
        zone: &str,
        from: u32,
        to: u32,
        removed: &[Record],
        added: &[Record],
    ) {
        let n = name(zone);
        let change = Change {
            serial_from: from,
            serial_to: to,
            removed: removed.to_vec(),
            added: added.to_vec(),
        };
        self.with_store(move |s| s.commit_change(&n, &change).unwrap())
            .await;
    }

    /// Changes www's A from `old` to `new`, serial `from` → `from + 1`.
    pub async fn change_www(&mut self, zone: &str, from: u32, old: &str, new: &str) {
        self.change(
            zone,
            from,
            from + 1,
            &[soa(zone, from), a(zone, "www", old)],
            &[soa(zone, from + 1), a(zone, "www", new)],
        )
        .await;
    }

    pub async fn delete_zone(&mut self, zone: &str) {
        let n = name(zone);
        assert!(self.with_store(move |s| s.delete_zone(&n).unwrap()).await);
    }

    pub async fn set_settings(&mut self, zone: &str, settings: &str) {
        let (n, settings) = (name(zone), settings.to_string());
        self.with_store(move |s| s.set_zone_settings(&n, &settings).unwrap())
            .await;
    }

    pub async fn heartbeat(&mut self) {
        self.with_store(|s| s.heartbeat("test", 1000).unwrap())
            .await;
    }

    pub async fn put_tsig_key(&mut self, key: &str) {
        let k = zonecast_store::TsigKeyRow {
            name: key.into(),
            algorithm: "hmac-sha256".into(),
            secret: vec![7; 32],
            created_at: 1,
        };
        self.with_store(move |s| s.create_tsig_key(&k).unwrap())
            .await;
    }

    pub async fn zone_id(&self, zone: &str) -> i64 {
        let n = name(zone).to_lowercase().to_string();
        self.client
            .query_one("SELECT id FROM zones WHERE name = $1", &[&n])
            .await
            .unwrap()
            .get(0)
    }
}

pub fn config(url: &str, edge: &str, dir: &Path) -> FollowerConfig {
    let mut c = FollowerConfig::new(url, edge, dir);
    c.status_interval = Duration::from_millis(200);
    c
}

pub fn start(url: &str, edge: &str, dir: &Path) -> Follower {
    Follower::start(config(url, edge, dir)).unwrap()
}

/// The A addresses of `owner` in the served zone `zone`, or `None` when the zone is not served.
pub fn served_a(zones: &SharedZones, zone: &str, owner: &str) -> Option<Vec<String>> {
    let set = zones.load();
    let z = set.get(&name(zone))?;
    let n = name(owner).to_lowercase();
    Some(
        z.node_named(&n)
            .and_then(|node| node.rrset(Rtype::A))
            .map(|rs| {
                rs.rdatas()
                    .map(|d| format!("{}.{}.{}.{}", d[0], d[1], d[2], d[3]))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

pub fn served_serial(zones: &SharedZones, zone: &str) -> Option<u32> {
    zones.load().get(&name(zone)).map(|z| z.serial())
}

/// Polls `cond` every 10 ms until it holds; panics with `what` after `timeout`.
pub async fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        if t0.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls an async condition.
pub async fn wait_for_async<F, Fut>(what: &str, timeout: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let t0 = Instant::now();
    while !cond().await {
        if t0.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub const T: Duration = Duration::from_secs(20);
