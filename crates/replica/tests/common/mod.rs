//! Shared test helpers: a throwaway PostgreSQL with the cluster schema, a
//! stand-in for the control plane's writes, and waiting for an edge.

#![allow(dead_code)]

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio_postgres::{Client, NoTls};
use zonecast_proto::{Name, Record, Rtype};
use zonecast_replica::{Follower, FollowerConfig};
use zonecast_store::encode_records;
use zonecast_testpg::TestPg;
use zonecast_zone::SharedZones;

/// The plan's PostgreSQL schema (store migrations, version 1) and publications.
pub const SCHEMA: &str = "
CREATE TABLE schema_migrations (version int PRIMARY KEY, applied_at bigint NOT NULL);
CREATE TABLE zones (
  id bigserial PRIMARY KEY, name text NOT NULL UNIQUE,
  kind text NOT NULL CHECK (kind IN ('primary','secondary')),
  serial bigint NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),
  settings text NOT NULL DEFAULT '{}', created_at bigint NOT NULL, updated_at bigint NOT NULL);
ALTER TABLE zones REPLICA IDENTITY FULL;
CREATE TABLE records (
  id bigserial PRIMARY KEY, zone_id bigint NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
  owner bytea NOT NULL, owner_key bytea NOT NULL, rtype int NOT NULL, class int NOT NULL DEFAULT 1,
  ttl bigint NOT NULL, rdata bytea NOT NULL, UNIQUE (zone_id, owner_key, rtype, class, rdata));
CREATE TABLE journal (
  seq bigserial PRIMARY KEY, zone_id bigint NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('create','change')),
  serial_from bigint NOT NULL, serial_to bigint NOT NULL, committed_at bigint NOT NULL,
  removed bytea NOT NULL, added bytea NOT NULL);
CREATE INDEX journal_by_zone ON journal(zone_id, serial_from);
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE tsig_keys (name text PRIMARY KEY, algorithm text NOT NULL, secret bytea NOT NULL, created_at bigint NOT NULL);
CREATE TABLE api_keys (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, token_hash bytea NOT NULL UNIQUE,
  scopes text NOT NULL, zones text, created_at bigint NOT NULL, last_used_at bigint);
CREATE TABLE heartbeat (id smallint PRIMARY KEY CHECK (id = 1), at_ms bigint NOT NULL, interval_ms int NOT NULL, writer text NOT NULL);
CREATE TABLE edges (name text PRIMARY KEY, applied_lsn text NOT NULL, lag_ms bigint,
  serials text NOT NULL DEFAULT '{}', problems text NOT NULL DEFAULT '[]',
  ready boolean NOT NULL DEFAULT false, seen_at bigint NOT NULL, started_at bigint NOT NULL);
CREATE PUBLICATION zonecast FOR TABLE zones, heartbeat, tsig_keys;
CREATE PUBLICATION zonecast_journal FOR TABLE journal WITH (publish = 'insert');
";

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

/// A cluster with the schema in database `zonecast`.
pub fn cluster() -> (TestPg, String) {
    let pg = TestPg::start();
    let url = pg.create_database("zonecast");
    pg.psql_in("zonecast", SCHEMA);
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

/// The control plane's writes, as the plan describes them, over SQL.
pub struct Primary {
    pub client: Client,
}

impl Primary {
    pub async fn connect(url: &str) -> Primary {
        let (client, conn) = tokio_postgres::connect(url, NoTls).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Primary { client }
    }

    pub async fn create_zone(
        &mut self,
        zone: &str,
        kind: &str,
        settings: &str,
        recs: &[Record],
    ) -> i64 {
        let n = name(zone).to_lowercase();
        let serial = recs
            .iter()
            .find(|r| r.rtype == Rtype::SOA)
            .map(|r| {
                let rd = &r.rdata;
                let l1 = zonecast_proto::name::check_wire(rd).unwrap();
                let l2 = zonecast_proto::name::check_wire(&rd[l1..]).unwrap();
                u32::from_be_bytes(rd[l1 + l2..l1 + l2 + 4].try_into().unwrap())
            })
            .unwrap_or(0);
        let now = now_ms();
        let tx = self.client.transaction().await.unwrap();
        let id: i64 = tx
            .query_one(
                "INSERT INTO zones (name, kind, serial, settings, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                &[&n.to_string(), &kind, &(serial as i64), &settings, &now],
            )
            .await
            .unwrap()
            .get(0);
        for r in recs {
            insert_record(&tx, id, r).await;
        }
        tx.execute(
            "INSERT INTO journal (zone_id, kind, serial_from, serial_to, committed_at, removed, added) VALUES ($1, 'create', $2, $2, $3, '', $4)",
            &[&id, &(serial as i64), &now, &encode_records(recs)],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// One change: removed/added records (SOA included by the caller), serial check as commit_change does.
    pub async fn change(
        &mut self,
        zone: &str,
        from: u32,
        to: u32,
        removed: &[Record],
        added: &[Record],
    ) {
        let n = name(zone).to_lowercase().to_string();
        let tx = self.client.transaction().await.unwrap();
        let row = tx
            .query_one(
                "SELECT id, serial FROM zones WHERE name = $1 FOR UPDATE",
                &[&n],
            )
            .await
            .unwrap();
        let id: i64 = row.get(0);
        let serial: i64 = row.get(1);
        assert_eq!(serial, from as i64, "serial mismatch in the test writer");
        for r in removed {
            let key = owner_key(&r.owner);
            let deleted = tx
                .execute(
                    "DELETE FROM records WHERE zone_id = $1 AND owner_key = $2 AND rtype = $3 AND class = $4 AND rdata = $5",
                    &[&id, &key, &(r.rtype.0 as i32), &(r.class.0 as i32), &r.rdata.to_vec()],
                )
                .await
                .unwrap();
            assert_eq!(deleted, 1, "record to remove not found: {r:?}");
        }
        for r in added {
            insert_record(&tx, id, r).await;
        }
        let now = now_ms();
        tx.execute(
            "UPDATE zones SET serial = $2, updated_at = $3 WHERE id = $1",
            &[&id, &(to as i64), &now],
        )
        .await
        .unwrap();
        tx.execute(
            "INSERT INTO journal (zone_id, kind, serial_from, serial_to, committed_at, removed, added) VALUES ($1, 'change', $2, $3, $4, $5, $6)",
            &[&id, &(from as i64), &(to as i64), &now, &encode_records(removed), &encode_records(added)],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
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
        let n = name(zone).to_lowercase().to_string();
        self.client
            .execute("DELETE FROM zones WHERE name = $1", &[&n])
            .await
            .unwrap();
    }

    pub async fn set_settings(&mut self, zone: &str, settings: &str) {
        let n = name(zone).to_lowercase().to_string();
        self.client
            .execute(
                "UPDATE zones SET settings = $2, updated_at = $3 WHERE name = $1",
                &[&n, &settings, &now_ms()],
            )
            .await
            .unwrap();
    }

    pub async fn heartbeat(&mut self) {
        self.client
            .execute(
                "INSERT INTO heartbeat (id, at_ms, interval_ms, writer) VALUES (1, $1, 1000, 'test') ON CONFLICT (id) DO UPDATE SET at_ms = EXCLUDED.at_ms, interval_ms = EXCLUDED.interval_ms, writer = EXCLUDED.writer",
                &[&now_ms()],
            )
            .await
            .unwrap();
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

fn owner_key(n: &Name) -> Vec<u8> {
    n.to_lowercase().as_wire().to_vec()
}

async fn insert_record(tx: &tokio_postgres::Transaction<'_>, id: i64, r: &Record) {
    tx.execute(
        "INSERT INTO records (zone_id, owner, owner_key, rtype, class, ttl, rdata) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &id,
            &r.owner.as_wire().to_vec(),
            &owner_key(&r.owner),
            &(r.rtype.0 as i32),
            &(r.class.0 as i32),
            &(r.ttl as i64),
            &r.rdata.to_vec(),
        ],
    )
    .await
    .unwrap();
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
