//! The edge's local snapshot: the SQLite store in its data directory (the
//! same schema as `zonecast serve`), plus the replication position in meta
//! keys.
//!
//! Meta keys:
//! - `replica.lsn`: end LSN (`X/X`) of the last transaction applied and persisted;
//! - `replica.zone.<pg id>`: `{"name": "example.com.", "seq": 17}`, the last
//!   journal seq applied to the zone whose id on the primary is `<pg id>`;
//! - `replica.zones`: `{"<pg id>": "example.com.", ...}`, which local zone is
//!   which primary zone (rewritten when zones come or go);
//! - `replica.heartbeat`: `{"at_ms": .., "interval_ms": .., "applied_ms": ..}`,
//!   the last heartbeat applied, so lag is known at once after a restart;
//! - `replica.full_resync`: `1` while a full resync is owed (set when the
//!   snapshot can't be trusted, cleared by the resync);
//! - `replica.sum.<zone>`: `COUNT:SUM`, a checksum of the zone's records
//!   ([`ZoneSum`]), written in the same transaction as every change of the
//!   zone and verified when the snapshot is loaded; `-` when unknown.
//!
//! Corruption (fault injection, docs/robustness.md): at start the file is
//! checked with `PRAGMA quick_check` ([`Store::quick_check`]); a file that
//! does not open, fails the check or does not read is moved aside
//! ([`discard`]) and the edge copies everything again from PostgreSQL. A
//! zone whose records do not match their checksum (a flipped octet inside a
//! record, which `quick_check` does not see) is not served from the
//! snapshot and is copied again.

use crate::state::{ZoneEntry, ZoneTable};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zonecast_proto::{Name, Rtype};
use zonecast_store::{Store, StoreError};
use zonecast_zone::{Zone, ZoneBuilder};

pub use zonecast_store::{BatchOp, TsigKeyRow};

/// Meta key of the replication position.
pub const META_LSN: &str = "replica.lsn";
/// Meta key of the id → name index.
pub const META_ZONES: &str = "replica.zones";
/// Meta key of the last heartbeat.
pub const META_HEARTBEAT: &str = "replica.heartbeat";
/// Meta key set while a full resync is owed.
pub const META_FULL_RESYNC: &str = "replica.full_resync";

/// Meta key of one zone's position.
pub fn meta_zone(id: i64) -> String {
    format!("replica.zone.{id}")
}

/// Meta key of one zone's checksum.
pub fn meta_sum(name: &Name) -> String {
    format!("replica.sum.{}", name.to_lowercase())
}

/// An order-independent checksum of a zone's records: how many, and the
/// wrapping sum of a 64-bit hash of each (owner lowercased, type, rdata;
/// not the TTL, which a change's removed records need not match). A change
/// updates it with what it removed and added, so keeping it costs what the
/// change costs; loading the snapshot recomputes it from the records read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZoneSum {
    /// Records.
    pub count: u64,
    /// Sum of their hashes.
    pub sum: u64,
}

impl ZoneSum {
    /// Over `records`.
    pub fn of(records: &[zonecast_proto::Record]) -> ZoneSum {
        let mut s = ZoneSum::default();
        for r in records {
            s.add_record(r);
        }
        s
    }

    /// One record more (owner key: the lowercased wire form).
    pub fn add(&mut self, owner_key: &[u8], rtype: Rtype, rdata: &[u8]) {
        self.count = self.count.wrapping_add(1);
        self.sum = self.sum.wrapping_add(record_hash(owner_key, rtype, rdata));
    }

    /// One record less.
    pub fn remove(&mut self, owner_key: &[u8], rtype: Rtype, rdata: &[u8]) {
        self.count = self.count.wrapping_sub(1);
        self.sum = self.sum.wrapping_sub(record_hash(owner_key, rtype, rdata));
    }

    fn add_record(&mut self, r: &zonecast_proto::Record) {
        self.add(r.owner.to_lowercase().as_wire(), r.rtype, &r.rdata);
    }

    fn remove_record(&mut self, r: &zonecast_proto::Record) {
        self.remove(r.owner.to_lowercase().as_wire(), r.rtype, &r.rdata);
    }

    /// The meta value.
    pub fn to_meta(self) -> String {
        format!("{}:{:016x}", self.count, self.sum)
    }

    /// Reads a meta value; `None` for `-` or anything else that is not one.
    pub fn parse(text: &str) -> Option<ZoneSum> {
        let (count, sum) = text.split_once(':')?;
        Some(ZoneSum {
            count: count.parse().ok()?,
            sum: u64::from_str_radix(sum, 16).ok()?,
        })
    }
}

/// FNV-1a over the length-prefixed fields, then a 64-bit finaliser
/// (splitmix64) so that sums of similar records spread over all bits.
fn record_hash(owner_key: &[u8], rtype: Rtype, rdata: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    feed(&(owner_key.len() as u32).to_be_bytes());
    feed(owner_key);
    feed(&rtype.0.to_be_bytes());
    feed(&(rdata.len() as u32).to_be_bytes());
    feed(rdata);
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The checksums after `ops` (on a copy: `sums` changes only once they are
/// persisted), and the meta entries that store them with the ops.
pub fn sums_after(
    sums: &HashMap<Name, ZoneSum>,
    ops: &[BatchOp],
) -> (HashMap<Name, ZoneSum>, Vec<(String, String)>) {
    let mut out = sums.clone();
    let mut touched: Vec<Name> = Vec::new();
    for op in ops {
        match op {
            BatchOp::CreateZone { name, records, .. } => {
                out.insert(name.to_lowercase(), ZoneSum::of(records));
                touched.push(name.to_lowercase());
            }
            BatchOp::ReplaceZone { zone, records, .. } => {
                out.insert(zone.to_lowercase(), ZoneSum::of(records));
                touched.push(zone.to_lowercase());
            }
            BatchOp::Change { zone, change } => {
                let key = zone.to_lowercase();
                if let Some(s) = out.get_mut(&key) {
                    for r in &change.removed {
                        s.remove_record(r);
                    }
                    for r in &change.added {
                        s.add_record(r);
                    }
                }
                touched.push(key);
            }
            BatchOp::DeleteZone { zone } => {
                out.remove(&zone.to_lowercase());
                touched.push(zone.to_lowercase());
            }
            BatchOp::Settings { .. } | BatchOp::PutTsigKey(_) | BatchOp::DeleteTsigKey(_) => {}
        }
    }
    touched.sort_by_cached_key(|n| n.to_string());
    touched.dedup();
    let meta = touched
        .into_iter()
        .map(|n| {
            let value = out.get(&n).map_or_else(|| "-".to_string(), |s| s.to_meta());
            (meta_sum(&n), value)
        })
        .collect();
    (out, meta)
}

/// The meta value of one zone's position.
///
/// With the zone's expiry, so an edge restarted while no control plane
/// runs still stops serving an expired secondary zone on time.
pub fn zone_meta_value(name: &Name, seq: i64, expires_at: Option<i64>) -> String {
    serde_json::json!({"name": name.to_string(), "seq": seq, "expires_at": expires_at}).to_string()
}

/// The meta value of the id → name index.
pub fn zones_index_value(zones: &ZoneTable) -> String {
    let m: BTreeMap<String, String> = zones
        .iter()
        .map(|(id, z)| (id.to_string(), z.name.to_string()))
        .collect();
    serde_json::to_string(&m).unwrap_or_else(|_| "{}".into())
}

/// The last heartbeat, as persisted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HeartbeatMeta {
    /// The writer's clock when it wrote the row, unix ms.
    pub at_ms: i64,
    /// The writer's interval, ms.
    pub interval_ms: i64,
    /// This edge's clock when it applied the row, unix ms.
    pub applied_ms: i64,
}

/// What was found in the local snapshot at start.
#[derive(Default)]
pub struct Loaded {
    /// The zones, by id on the primary.
    pub zones: ZoneTable,
    /// `replica.lsn`, 0 when absent.
    pub lsn: u64,
    /// The last heartbeat applied.
    pub heartbeat: Option<HeartbeatMeta>,
    /// A full resync is owed (flag set, or zones without a primary id).
    pub full_resync: bool,
    /// Problems found while loading (zones that did not load).
    pub problems: Vec<String>,
    /// The checksum of each zone loaded (verified, or computed when none was stored).
    pub sums: HashMap<Name, ZoneSum>,
    /// Zones whose records did not match their checksum (not served; copied again).
    pub corrupt_zones: u64,
}

/// Streams one zone's records from the store into a version; `None` when it has none.
pub fn load_version(store: &Store, apex: &Name) -> Result<Option<Zone>, String> {
    load_version_summed(store, apex).map(|(z, _)| z)
}

/// [`load_version`], with the checksum of the records read.
fn load_version_summed(store: &Store, apex: &Name) -> Result<(Option<Zone>, ZoneSum), String> {
    let mut b = ZoneBuilder::new(apex);
    let mut sum = ZoneSum::default();
    let n = store
        .scan_records(apex, |owner, rtype, ttl, rdata| {
            sum.add(owner, rtype, rdata);
            b.add(owner, rtype, ttl, rdata)
                .map_err(|e| LoadErr(e.to_string()))
        })
        .map_err(|e: LoadErr| e.0)?;
    if n == 0 {
        return Ok((None, sum));
    }
    b.finish()
        .map(|z| (Some(z), sum))
        .map_err(|e| e.to_string())
}

struct LoadErr(String);

impl From<StoreError> for LoadErr {
    fn from(e: StoreError) -> Self {
        LoadErr(e.to_string())
    }
}

/// Whether a version can be served: it has an SOA (it built) and NS records at the apex.
pub fn servable(z: &Zone) -> bool {
    z.node_named(z.apex())
        .is_some_and(|n| n.rrset(Rtype::NS).is_some())
}

/// Reads the local snapshot: every zone (built into a version), the
/// position and the last heartbeat.
///
/// A zone that does not build is logged, reported in [`Loaded::problems`]
/// and owes a full resync; the others load.
pub fn load(store: &Store) -> Result<Loaded, StoreError> {
    let mut out = Loaded {
        lsn: store
            .meta_get(META_LSN)?
            .and_then(|v| crate::pgoutput::parse_lsn(&v))
            .unwrap_or(0),
        heartbeat: store
            .meta_get(META_HEARTBEAT)?
            .and_then(|v| serde_json::from_str(&v).ok()),
        full_resync: store.meta_get(META_FULL_RESYNC)?.as_deref() == Some("1"),
        ..Loaded::default()
    };
    let index: BTreeMap<String, String> = store
        .meta_get(META_ZONES)?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default();
    let mut by_name: BTreeMap<String, i64> = BTreeMap::new();
    for (id, name) in index {
        if let Ok(id) = id.parse::<i64>() {
            by_name.insert(name, id);
        }
    }
    for row in store.zones()? {
        let Some(&id) = by_name.get(&row.name.to_string()) else {
            out.problems.push(format!(
                "local zone {} has no primary id; a full resync is due",
                row.name
            ));
            out.full_resync = true;
            continue;
        };
        let position = store
            .meta_get(&meta_zone(id))?
            .and_then(|v| serde_json::from_str::<serde_json::Value>(&v).ok());
        let field = |k: &str| {
            position
                .as_ref()
                .and_then(|v| v.get(k))
                .and_then(|s| s.as_i64())
        };
        let (seq, expires_at) = (field("seq").unwrap_or(0), field("expires_at"));
        let stored_sum = store.meta_get(&meta_sum(&row.name))?;
        let version = match load_version_summed(store, &row.name) {
            Ok((v, sum)) => match stored_sum.as_deref().and_then(ZoneSum::parse) {
                Some(want) if want != sum => {
                    let text = format!(
                        "local zone {} is corrupt: its records do not match their checksum \
                         ({} records, sum {:016x}; stored {} records, sum {:016x}); \
                         not served from the snapshot, copied again from PostgreSQL",
                        row.name, sum.count, sum.sum, want.count, want.sum
                    );
                    tracing::error!(zone = %row.name, "{text}");
                    out.problems.push(text);
                    out.full_resync = true;
                    out.corrupt_zones += 1;
                    None
                }
                _ => {
                    out.sums.insert(row.name.to_lowercase(), sum);
                    v.map(Arc::new)
                }
            },
            Err(e) => {
                tracing::error!(zone = %row.name, error = %e, "local zone did not load");
                out.problems
                    .push(format!("local zone {} did not load: {e}", row.name));
                out.full_resync = true;
                None
            }
        };
        out.zones.insert(
            id,
            ZoneEntry {
                id,
                name: row.name.clone(),
                kind: row.kind,
                settings: row.settings.clone(),
                created_at: row.created_at,
                serial: version.as_ref().map_or(row.serial, |v| v.serial()),
                seq,
                version,
                expires_at: crate::state::expiry_of(row.kind, expires_at),
            },
        );
    }
    Ok(out)
}

/// Opens the local snapshot in `dir` and loads it, checking it first.
///
/// A snapshot that does not open, fails `PRAGMA quick_check` or does not
/// read is corrupt: it is moved aside ([`discard`]) and an empty one takes
/// its place, so everything is copied again from PostgreSQL. The third
/// value says why it was discarded. Other errors (the directory can't be
/// created, a schema of a newer zonecast) are returned as they are.
pub fn open_checked(dir: &Path) -> Result<(Store, Loaded, Option<String>), StoreError> {
    let existed = dir.join(zonecast_store::DB_FILE).exists();
    let why = match Store::open(dir) {
        Ok(store) => match store.quick_check() {
            Ok(problems) if problems.is_empty() => match load(&store) {
                Ok(loaded) => return Ok((store, loaded, None)),
                Err(e) if is_corruption(&e) => format!("it does not read: {e}"),
                Err(e) => return Err(e),
            },
            Ok(problems) => {
                let shown: Vec<&str> = problems.iter().take(3).map(String::as_str).collect();
                format!(
                    "PRAGMA quick_check found {} problem(s): {}",
                    problems.len(),
                    shown.join("; ")
                )
            }
            Err(e) if is_corruption(&e) => format!("PRAGMA quick_check failed: {e}"),
            Err(e) => return Err(e),
        },
        Err(e) if existed && is_corruption(&e) => format!("it does not open: {e}"),
        Err(e) => return Err(e),
    };
    let moved = discard(dir);
    let text = format!(
        "local snapshot {} is corrupt ({why}); moved to {}; serving nothing from it and copying everything again from PostgreSQL",
        dir.join(zonecast_store::DB_FILE).display(),
        moved.display()
    );
    tracing::error!("{text}");
    let store = Store::open(dir)?;
    let mut loaded = load(&store)?;
    loaded.full_resync = true;
    Ok((store, loaded, Some(text)))
}

fn is_corruption(e: &StoreError) -> bool {
    e.is_corruption()
}

/// Moves the snapshot files of `dir` (the database, its WAL and shared
/// memory) to `<file>.corrupt` (replacing an earlier one), for a post-mortem;
/// returns where the database went.
pub fn discard(dir: &Path) -> PathBuf {
    let db = dir.join(zonecast_store::DB_FILE);
    let target = dir.join(format!("{}.corrupt", zonecast_store::DB_FILE));
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", db.display()));
        if from.exists() {
            let to = PathBuf::from(format!("{}{suffix}", target.display()));
            if let Err(e) = std::fs::rename(&from, &to) {
                tracing::warn!(file = %from.display(), "cannot move the corrupt file aside ({e}); removing it");
                let _ = std::fs::remove_file(&from);
            }
        } else {
            let _ = std::fs::remove_file(PathBuf::from(format!("{}{suffix}", target.display())));
        }
    }
    target
}

/// Applies `ops` and `meta` to the local store in one transaction.
pub fn persist(
    store: &Store,
    ops: &[BatchOp],
    meta: &[(String, String)],
) -> Result<(), StoreError> {
    store.apply_batch(ops, meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zonecast_store::ZoneKind;

    /// A secondary zone's expiry survives a restart of the edge (it is in
    /// the zone's meta value); a primary zone's meta never gives one.
    #[test]
    fn the_expiry_of_a_secondary_zone_is_loaded_from_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            for (id, zone, kind) in [
                (4, "sec.test.", ZoneKind::Secondary),
                (5, "prim.test.", ZoneKind::Primary),
            ] {
                let n: Name = zone.parse().unwrap();
                store.create_zone(&n, kind, &[]).unwrap();
                store
                    .meta_set(
                        &meta_zone(id),
                        &zone_meta_value(&n, 12, Some(1_796_000_000_000)),
                    )
                    .unwrap();
            }
            store
                .meta_set(META_ZONES, r#"{"4":"sec.test.","5":"prim.test."}"#)
                .unwrap();
        }
        let (_store, loaded, discarded) = open_checked(dir.path()).unwrap();
        assert_eq!(discarded, None);
        assert_eq!(loaded.zones[&4].expires_at, Some(1_796_000_000_000));
        assert_eq!(loaded.zones[&4].seq, 12);
        assert_eq!(loaded.zones[&5].expires_at, None);
    }
}
