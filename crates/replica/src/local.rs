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
//!   snapshot can't be trusted, cleared by the resync).

use crate::state::{ZoneEntry, ZoneTable};
use std::collections::BTreeMap;
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

/// The meta value of one zone's position.
pub fn zone_meta_value(name: &Name, seq: i64) -> String {
    serde_json::json!({"name": name.to_string(), "seq": seq}).to_string()
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
}

/// Streams one zone's records from the store into a version; `None` when it has none.
pub fn load_version(store: &Store, apex: &Name) -> Result<Option<Zone>, String> {
    let mut b = ZoneBuilder::new(apex);
    let n = store
        .scan_records(apex, |owner, rtype, ttl, rdata| {
            b.add(owner, rtype, ttl, rdata)
                .map_err(|e| LoadErr(e.to_string()))
        })
        .map_err(|e: LoadErr| e.0)?;
    if n == 0 {
        return Ok(None);
    }
    b.finish().map(Some).map_err(|e| e.to_string())
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
        let seq = store
            .meta_get(&meta_zone(id))?
            .and_then(|v| serde_json::from_str::<serde_json::Value>(&v).ok())
            .and_then(|v| v.get("seq").and_then(|s| s.as_i64()))
            .unwrap_or(0);
        let version = match load_version(store, &row.name) {
            Ok(v) => v.map(Arc::new),
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
            },
        );
    }
    Ok(out)
}

/// Applies `ops` and `meta` to the local store in one transaction.
pub fn persist(
    store: &Store,
    ops: &[BatchOp],
    meta: &[(String, String)],
) -> Result<(), StoreError> {
    store.apply_batch(ops, meta)
}
