//! The write path of a zonecast node: every change to a zone is validated as
//! a whole, given a new SOA serial, committed to the store as one transaction
//! with its journal entry, and then published as a new in-memory snapshot
//! before the call returns.
//!
//! Each zone's current version is the same immutable [`Zone`] the listeners
//! answer from (streamed from the store at open, then replaced by
//! [`Zone::apply`] on each change), so validating a change only looks at
//! what it touches and the records are held once: owners inside the zone, class IN, no meta types, TTL ≤ 2^31−1
//! (RFC 2181 §8), CNAME exclusivity (RFC 1034 §3.6.2, RFC 2181 §10.1), no
//! data below a DNAME and one DNAME per owner (RFC 6672 §2.4), the apex
//! keeps its SOA and at least one NS (RFC 1035 §5.2, RFC 1034 §4.2.1), and
//! rdata well-formed for its type. Writers to one zone are serialised by a
//! per-zone mutex, so no update is lost.
//!
//! Serials follow RFC 1982 arithmetic and never go backwards: API changes
//! advance them by the zone's [`SerialPolicy`]; a zone file whose serial is
//! newer than the stored one keeps it, otherwise the serial advances (see
//! docs/decisions/0004-zone-file-serials.md).
//!
//! A zone without apex NS (a primary created without records) is stored but
//! not published to the DNS [`ZoneSet`] until it has NS records; so is a
//! secondary zone before its first transfer.
//!
//! A change costs what it changes: the plan reads the touched RRsets, the
//! store writes the difference, and [`Zone::apply`] copies only the touched
//! nodes. Replacing a whole zone file diffs the whole zone, once. Record ids
//! live in the store only; reading a record by id is a store lookup.
//!
//! Size limits ([`Limits`], given to [`Control::open_with_limits`]; refused
//! as [`ControlError::TooLarge`], logged and counted by
//! [`zonecast_zone::limits::refused`]): records per zone and per RRset on
//! every way in (API edits, zone files and zone file text, transfers in),
//! zones per node at creation. Whole contents must fit; a change may not
//! grow a zone or an RRset past its limit (one already over a lowered
//! limit may shrink). Besides, an RRset never holds more than
//! [`zonecast_zone::node::MAX_RRSET_OCTETS`] octets of rdata (one message).
//!
//! Several control planes may share one store (cluster mode): a write
//! planned on a version another one has changed is refused by the store,
//! caught up from the journal and planned again, and [`Control::sync_zone`]
//! follows the others' changes (module `sync`, decision 0011).
//!
//! Not implemented: whether a named TSIG key exists is not checked.

#![warn(missing_docs)]

mod combine;
pub mod fuzzing;
mod secondary;
mod serial;
mod settings;
mod state;
mod sync;
mod transfer;

pub use secondary::Transferred;
pub use serial::{date_serial, next_serial, serial_gt, SerialPolicy};
pub use settings::{parse_server, ZoneSettings};
pub use state::Edit;
pub use transfer::{journal_deltas, transfer_acl_entries};
pub use zonecast_zone::limits::{self, Limit, Limits};

use state::{canonical_edit, canonical_record, ZoneState};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, MutexGuard, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};
use zonecast_proto::{Class, Name, Record, Rtype};
use zonecast_store::{Change, Store, StoreError, ZoneKind, ZoneRow};
use zonecast_zone::limits::Exceeded;
use zonecast_zone::{SharedZones, Zone, ZoneBuilder, ZoneError, Zones};
use zonecast_zonefile::ZoneFileError;

/// Errors of the write path, with the zone, record or field they concern.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A zone file did not parse or validate.
    #[error(transparent)]
    ZoneFile(#[from] ZoneFileError),
    /// The records could not become a zone snapshot.
    #[error(transparent)]
    Zone(#[from] ZoneError),
    /// The zone or record does not exist (HTTP 404).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `zone example.com.`.
        what: String,
    },
    /// A conditional write named another serial than the zone's current one (HTTP 412); nothing was applied.
    #[error("zone {zone} is at serial {current}, not {expected}; re-read it and retry")]
    SerialMismatch {
        /// The zone.
        zone: Name,
        /// Its current serial.
        current: u32,
        /// The serial the request required.
        expected: u32,
    },
    /// The request contradicts the current state (HTTP 409): exists already, key in use, ...
    #[error("{message}")]
    Conflict {
        /// What conflicts.
        message: String,
    },
    /// The zone changed in the store under this node (another control plane
    /// on the same database wrote it) more often than the write was retried;
    /// nothing was applied (HTTP 409).
    #[error("zone {zone} changed concurrently on another control plane; retry")]
    Stale {
        /// The zone.
        zone: Name,
    },
    /// A size limit was exceeded (records per zone or RRset, zones per node); nothing was applied (HTTP 422).
    #[error("{field}: {message}")]
    TooLarge {
        /// The field at fault (`edits[0].records`).
        field: String,
        /// Which limit, with its value.
        message: String,
    },
    /// A bug of this node, not of the request (HTTP 500); nothing was applied.
    #[error("internal error: {0}")]
    Internal(String),
    /// The request is malformed or breaks a zone rule (HTTP 422); nothing was applied.
    #[error("{}{field}: {message}", index.map(|i| format!("edits[{i}].")).unwrap_or_default())]
    Invalid {
        /// Which edit of the list is at fault, when the request was a list of edits.
        index: Option<usize>,
        /// The field at fault, relative to the edit when `index` is set (`records[1]`, `ttl`, `name`).
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// What loading a zone did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadOutcome {
    /// The zone was new and is now stored with this serial.
    Created {
        /// The serial stored.
        serial: u32,
    },
    /// The content equals what is stored; nothing was written.
    Unchanged {
        /// The current serial.
        serial: u32,
    },
    /// The zone changed from one serial to another.
    Updated {
        /// Serial before.
        from: u32,
        /// Serial after.
        to: u32,
    },
}

/// A zone as the API shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneInfo {
    /// The apex (lowercase).
    pub name: Name,
    /// Primary or secondary.
    pub kind: ZoneKind,
    /// The current SOA serial (0 for a secondary never transferred).
    pub serial: u32,
    /// The zone's settings.
    pub settings: ZoneSettings,
    /// Number of records, SOA included.
    pub record_count: usize,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Time of the last change (records or settings), unix seconds.
    pub updated_at: i64,
}

/// What a committed change did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The zone.
    pub zone: Name,
    /// Serial before.
    pub serial_from: u32,
    /// Serial after; equal to `serial_from` when nothing changed.
    pub serial_to: u32,
    /// The journal position of the change; 0 when nothing changed.
    pub seq: i64,
    /// Store ids of the records added, the new SOA's among them (look them up with [`Control::record`]).
    pub added_ids: Vec<i64>,
}

type ZoneHandle = Arc<combine::ZoneCell>;

/// One RRset as read through the API: owner (lowercase), type, TTL, canonical rdatas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrsetView {
    /// Owner, lowercased.
    pub owner: Name,
    /// Type.
    pub rtype: Rtype,
    /// TTL of the set.
    pub ttl: u32,
    /// Uncompressed rdatas in canonical order.
    pub rdatas: Vec<Box<[u8]>>,
}

/// The store plus the published snapshots; the one place zones are written.
pub struct Control {
    store: Store,
    zones: SharedZones,
    /// Zone handles by apex; the write lock also serialises creation and deletion.
    state: RwLock<HashMap<Name, ZoneHandle>>,
    /// Told about every version published (NOTIFY out).
    observer: std::sync::OnceLock<Arc<dyn ZoneObserver>>,
    /// Size limits of every write.
    limits: Limits,
}

/// Told about each zone version this node starts serving.
///
/// Called under the zone's lock, on whatever thread published the version
/// (an API worker, the LISTEN thread of a control plane following another):
/// it must not block. It may be told the same serial twice (a settings
/// change publishes the zone again).
pub trait ZoneObserver: Send + Sync {
    /// `zone` is now served at `version`, with these settings.
    fn published(&self, version: &Arc<Zone>, settings: &ZoneSettings);
}

fn lock(z: &ZoneHandle) -> MutexGuard<'_, ZoneState> {
    z.lock()
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn zone_not_found(name: &Name) -> ControlError {
    ControlError::NotFound {
        what: format!("zone {}", name.to_lowercase()),
    }
}

/// A commit's store error: a serial mismatch means another control plane
/// changed the zone, which `retrying` catches up with and plans again.
fn commit_err(zone: &Name, e: StoreError) -> ControlError {
    match e {
        StoreError::SerialMismatch { .. } => ControlError::Stale { zone: zone.clone() },
        other => store_err(other),
    }
}

/// Maps store refusals to 404/409 errors; failures stay [`ControlError::Store`].
fn store_err(e: StoreError) -> ControlError {
    match e {
        StoreError::NotFound { zone } => zone_not_found(&zone),
        StoreError::AlreadyExists { .. }
        | StoreError::SerialMismatch { .. }
        | StoreError::DuplicateRecord { .. }
        | StoreError::KeyExists { .. }
        | StoreError::KeyInUse { .. } => ControlError::Conflict {
            message: e.to_string(),
        },
        StoreError::MissingRecord { .. } => ControlError::NotFound {
            what: e.to_string(),
        },
        other => ControlError::Store(other),
    }
}

impl Control {
    /// Loads every stored zone into memory and returns the write path over `store`.
    ///
    /// A stored zone that no longer builds (it cannot happen through this
    /// API) is logged and not served rather than stopping the node.
    pub fn open(store: Store) -> Result<Control, ControlError> {
        Control::open_with_limits(store, Limits::default())
    }

    /// [`Control::open`] with these size limits (clamped, see [`Limits::clamped`]).
    ///
    /// Zones already stored are loaded whatever their size: a limit lowered
    /// since they were written keeps them served (and they may shrink).
    pub fn open_with_limits(store: Store, limits: Limits) -> Result<Control, ControlError> {
        let control = Control {
            store,
            zones: Zones::new(),
            state: RwLock::new(HashMap::new()),
            observer: std::sync::OnceLock::new(),
            limits: limits.clamped(),
        };
        let mut map = HashMap::new();
        for row in control.store.zones()? {
            let z = control.state_from_row(row);
            control.publish(&z);
            map.insert(z.apex.clone(), combine::ZoneCell::new(z));
        }
        *control.state.write().unwrap_or_else(|p| p.into_inner()) = map;
        Ok(control)
    }

    /// A stored zone's state, its version streamed from the store.
    ///
    /// A stored zone that no longer builds (it cannot happen through this
    /// API) is logged and not served rather than failing.
    fn state_from_row(&self, row: ZoneRow) -> ZoneState {
        let settings = ZoneSettings::from_json(&row.settings).unwrap_or_else(|e| {
            tracing::error!(zone = %row.name, error = %e, "stored zone settings unreadable; using defaults");
            ZoneSettings::default()
        });
        let version = match self.load_version(&row.name) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(zone = %row.name, error = %e, "stored zone not loaded");
                None
            }
        };
        ZoneState {
            store_id: row.id,
            apex: row.name,
            kind: row.kind,
            settings,
            serial: row.serial,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version,
            deleted: false,
            expired: false,
        }
    }

    /// Streams a zone's records from the store into a version; `None` when it has none.
    fn load_version(&self, apex: &Name) -> Result<Option<Arc<Zone>>, ControlError> {
        let mut b = ZoneBuilder::new(apex);
        let n = self.store.scan_records(apex, |owner, rtype, ttl, rdata| {
            b.add(owner, rtype, ttl, rdata).map_err(ControlError::from)
        })?;
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(Arc::new(b.finish()?)))
    }

    /// The snapshots the listeners answer from.
    pub fn zones(&self) -> SharedZones {
        self.zones.clone()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The size limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The zone's handle; a zone this node does not hold is looked up in the
    /// store first (another control plane may just have created it).
    fn handle(&self, name: &Name) -> Result<ZoneHandle, ControlError> {
        let held = |c: &Control| {
            c.state
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(name)
                .cloned()
        };
        if let Some(h) = held(self) {
            return Ok(h);
        }
        self.sync_zone(name)?;
        held(self).ok_or_else(|| zone_not_found(name))
    }

    /// Publishes the zone's current version, or withdraws it while it has no SOA or apex NS.
    fn publish(&self, z: &ZoneState) {
        match &z.version {
            Some(v) if z.has_apex_ns() => {
                if z.expired {
                    self.zones.publish(Arc::new(v.with_expired(true)));
                    return;
                }
                self.zones.publish(v.clone());
                if let Some(o) = self.observer.get() {
                    o.published(v, &z.settings);
                }
            }
            _ => self.zones.withdraw(&z.apex),
        }
    }

    /// Sets the observer told about every version published from now on (once; later calls are ignored).
    pub fn set_observer(&self, observer: Arc<dyn ZoneObserver>) {
        let _ = self.observer.set(observer);
    }

    fn info(z: &ZoneState) -> ZoneInfo {
        ZoneInfo {
            name: z.apex.clone(),
            kind: z.kind,
            serial: z.serial,
            settings: z.settings.clone(),
            record_count: z.record_count(),
            created_at: z.created_at.div_euclid(1000),
            updated_at: z.updated_at.div_euclid(1000),
        }
    }

    /// Creates a zone; conflict when it exists.
    ///
    /// With `records`, they must form a valid zone (SOA and apex NS included)
    /// and their SOA serial is kept. Without, a primary gets a default SOA
    /// (`ns1.<zone> hostmaster.<zone> <serial by policy> 3600 900 1209600 300`)
    /// and no NS, so it is not served until NS records are added; a
    /// secondary starts empty (serial 0) until its first transfer. A
    /// secondary needs at least one primary.
    pub fn create_zone(
        &self,
        name: &Name,
        kind: ZoneKind,
        settings: ZoneSettings,
        records: Option<Vec<Record>>,
    ) -> Result<ZoneInfo, ControlError> {
        self.create_zone_at(name, kind, settings, records, now_secs())
    }

    pub(crate) fn create_zone_at(
        &self,
        name: &Name,
        kind: ZoneKind,
        settings: ZoneSettings,
        records: Option<Vec<Record>>,
        now: i64,
    ) -> Result<ZoneInfo, ControlError> {
        settings.validate()?;
        if kind == ZoneKind::Secondary && settings.primaries.is_empty() {
            return Err(ControlError::Invalid {
                index: None,
                field: "primaries".into(),
                message: "a secondary zone needs at least one primary".into(),
            });
        }
        let apex = name.to_lowercase();
        let records = match records {
            Some(records) => {
                let records =
                    normalized(&apex, records.into_iter().map(canonical_record).collect());
                check_zone(&apex, &records)?;
                self.check_content(&apex, &records, "api")?;
                records
            }
            None if kind == ZoneKind::Primary => {
                let serial = settings.serial_policy.next(0, now);
                let text = format!("ns1 hostmaster {serial} 3600 900 1209600 300");
                let rdata = zonecast_zonefile::parse_rdata(Rtype::SOA, &text, &apex)?;
                vec![Record {
                    owner: apex.clone(),
                    rtype: Rtype::SOA,
                    class: Class::IN,
                    ttl: 3600,
                    rdata: rdata.into(),
                }]
            }
            None => Vec::new(),
        };
        self.store_new_zone(apex, kind, settings, records, "api")
    }

    /// Stores and publishes a new zone whose records are already normalised
    /// and validated; refused past `--max-zones` (counted as coming by `way`).
    fn store_new_zone(
        &self,
        apex: Name,
        kind: ZoneKind,
        settings: ZoneSettings,
        records: Vec<Record>,
        way: &str,
    ) -> Result<ZoneInfo, ControlError> {
        let mut map = self.state.write().unwrap_or_else(|p| p.into_inner());
        if map.contains_key(&apex) {
            return Err(ControlError::Conflict {
                message: format!("zone {apex} already exists"),
            });
        }
        self.limits
            .zones(&apex, map.len() + 1)
            .map_err(|e| refuse(e, "name", way))?;
        // Records, settings and the creation journal entry: one transaction.
        let row = self
            .store
            .create_zone_with_settings(&apex, kind, &settings.to_json(), &records)
            .map_err(store_err)?;
        let version = if records.is_empty() {
            None
        } else {
            Some(Arc::new(Zone::build(&apex, &records)?))
        };
        let z = ZoneState {
            store_id: row.id,
            apex: row.name.clone(),
            kind,
            settings,
            serial: row.serial,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version,
            deleted: false,
            expired: false,
        };
        self.publish(&z);
        let info = Control::info(&z);
        map.insert(row.name, combine::ZoneCell::new(z));
        tracing::info!(zone = %apex, %kind, serial = info.serial, "zone created");
        Ok(info)
    }

    /// Deletes a zone with its records and journal, and stops serving it.
    ///
    /// With `if_serial`, refused ([`ControlError::SerialMismatch`]) unless the
    /// zone is at that serial, checked under the zone's write lock.
    pub fn delete_zone(&self, name: &Name, if_serial: Option<u32>) -> Result<(), ControlError> {
        let mut map = self.state.write().unwrap_or_else(|p| p.into_inner());
        let h = map.get(name).cloned().ok_or_else(|| zone_not_found(name))?;
        let mut z = lock(&h);
        check_if_serial(&z, if_serial)?;
        if !self.store.delete_zone(&z.apex).map_err(store_err)? {
            tracing::warn!(zone = %z.apex, "zone was already gone from the store");
        }
        z.deleted = true;
        self.zones.withdraw(&z.apex);
        map.remove(name);
        tracing::info!(zone = %z.apex, "zone deleted");
        Ok(())
    }

    /// Replaces a zone's settings (not its records or serial).
    pub fn update_settings(
        &self,
        name: &Name,
        settings: ZoneSettings,
    ) -> Result<ZoneInfo, ControlError> {
        settings.validate()?;
        let h = self.handle(name)?;
        let mut z = lock(&h);
        if z.deleted {
            return Err(zone_not_found(name));
        }
        if z.kind == ZoneKind::Secondary && settings.primaries.is_empty() {
            return Err(ControlError::Invalid {
                index: None,
                field: "primaries".into(),
                message: "a secondary zone needs at least one primary".into(),
            });
        }
        self.store
            .set_zone_settings(&z.apex, &settings.to_json())
            .map_err(store_err)?;
        z.settings = settings;
        z.updated_at = now_ms();
        Ok(Control::info(&z))
    }

    /// One zone's information.
    pub fn zone_info(&self, name: &Name) -> Result<ZoneInfo, ControlError> {
        let h = self.handle(name)?;
        let z = lock(&h);
        if z.deleted {
            return Err(zone_not_found(name));
        }
        Ok(Control::info(&z))
    }

    /// Every zone's information, sorted by name (as text).
    pub fn list_zones(&self) -> Result<Vec<ZoneInfo>, ControlError> {
        let handles: Vec<ZoneHandle> = self
            .state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        let mut out: Vec<ZoneInfo> = handles
            .iter()
            .map(|h| lock(h))
            .filter(|z| !z.deleted)
            .map(|z| Control::info(&z))
            .collect();
        out.sort_by_cached_key(|i| i.name.to_string());
        Ok(out)
    }

    /// A zone's records with their ids, ascending id, optionally of one owner and/or type (a store read).
    pub fn records(
        &self,
        zone: &Name,
        owner: Option<&Name>,
        rtype: Option<Rtype>,
    ) -> Result<Vec<(i64, Record)>, ControlError> {
        self.check_exists(zone)?;
        Ok(self.store.records_matching(zone, owner, rtype)?)
    }

    /// One record by id (a store read).
    pub fn record(&self, zone: &Name, id: i64) -> Result<Record, ControlError> {
        self.check_exists(zone)?;
        self.store
            .record_by_id(zone, id)?
            .ok_or_else(|| ControlError::NotFound {
                what: format!("record {id} in zone {}", zone.to_lowercase()),
            })
    }

    /// The store id of a record (owner case-insensitive, rdata names canonical).
    pub fn record_id(&self, zone: &Name, record: &Record) -> Result<Option<i64>, ControlError> {
        Ok(self
            .store
            .record_id(zone, &canonical_record(record.clone()))?)
    }

    /// The RRsets of a zone from its current version: all of them (canonical
    /// order), those of one owner, or one RRset. A lookup when `owner` is given.
    pub fn rrsets(
        &self,
        zone: &Name,
        owner: Option<&Name>,
        rtype: Option<Rtype>,
    ) -> Result<Vec<RrsetView>, ControlError> {
        let version = self.version(zone)?;
        let Some(v) = version else {
            return Ok(Vec::new());
        };
        let view = |name: &Name, n: &zonecast_zone::Node| -> Vec<RrsetView> {
            n.rrsets()
                .filter(|s| rtype.is_none_or(|t| s.rtype == t))
                .map(|s| RrsetView {
                    owner: name.clone(),
                    rtype: s.rtype,
                    ttl: s.ttl,
                    rdatas: s.rdatas().map(Box::from).collect(),
                })
                .collect()
        };
        match owner {
            Some(o) => Ok(v
                .node_named(o)
                .map(|n| view(&o.to_lowercase(), n))
                .unwrap_or_default()),
            None => {
                let mut out = Vec::new();
                for n in v.sorted_nodes() {
                    if let Ok(name) = Name::from_wire(n.name()) {
                        out.extend(view(&name, n));
                    }
                }
                Ok(out)
            }
        }
    }

    /// The zone's current version (shared with the listeners), `None` before a secondary's first transfer.
    pub fn version(&self, zone: &Name) -> Result<Option<Arc<Zone>>, ControlError> {
        let h = self.handle(zone)?;
        let z = lock(&h);
        if z.deleted {
            return Err(zone_not_found(zone));
        }
        Ok(z.version.clone())
    }

    fn check_exists(&self, zone: &Name) -> Result<(), ControlError> {
        self.version(zone).map(|_| ())
    }

    /// Applies `edits` to a primary zone as one change: all or nothing.
    ///
    /// Validated as a whole (see the module docs; the SOA can't be edited
    /// here, only through the zone file), then one store transaction
    /// (records, SOA serial by the zone's policy, journal entry), then the
    /// new snapshot is published before returning. `if_serial` other than
    /// the current serial is a conflict. Edits that change nothing bump
    /// nothing: the result has `serial_from == serial_to`.
    pub fn apply(
        &self,
        zone: &Name,
        edits: Vec<Edit>,
        if_serial: Option<u32>,
    ) -> Result<Applied, ControlError> {
        self.apply_at(zone, edits, if_serial, now_secs())
    }

    pub(crate) fn apply_at(
        &self,
        zone: &Name,
        edits: Vec<Edit>,
        if_serial: Option<u32>,
        now: i64,
    ) -> Result<Applied, ControlError> {
        let edits: Vec<Edit> = edits.into_iter().map(canonical_edit).collect();
        self.retrying(zone, || self.apply_queued(zone, &edits, if_serial, now))
    }

    /// Plans `edits` against `z` and builds the version they lead to;
    /// `None` when they change nothing. Nothing is committed or published.
    pub(crate) fn stage(
        &self,
        z: &ZoneState,
        edits: &[Edit],
        if_serial: Option<u32>,
        now: i64,
    ) -> Result<Option<combine::Staged>, ControlError> {
        stage_edits(z, edits, if_serial, now, &self.limits)
    }
}

/// [`Control::stage`] without the node: plans `edits` against `z` and builds
/// the version they lead to; `None` when they change nothing.
pub(crate) fn stage_edits(
    z: &ZoneState,
    edits: &[Edit],
    if_serial: Option<u32>,
    now: i64,
    limits: &Limits,
) -> Result<Option<combine::Staged>, ControlError> {
    if z.deleted {
        return Err(zone_not_found(&z.apex));
    }
    if z.kind == ZoneKind::Secondary {
        return Err(ControlError::Conflict {
            message: format!(
                "zone {} is a secondary zone; it changes only by transfers from its primaries",
                z.apex
            ),
        });
    }
    check_if_serial(z, if_serial)?;
    let plan = z.plan(edits, limits, "api")?;
    let from = z.serial;
    if plan.removed.is_empty() && plan.added.is_empty() {
        return Ok(None);
    }
    let after = (z.record_count() + plan.added.len()).saturating_sub(plan.removed.len());
    limits
        .zone_growth(&z.apex, z.record_count(), after)
        .map_err(|e| refuse(e, "records", "api"))?;
    let old_soa = z.soa().ok_or_else(|| ControlError::Conflict {
        message: format!("zone {} has no SOA record", z.apex),
    })?;
    let to = z.settings.serial_policy.next(from, now);
    let new_soa = with_serial(&z.apex, vec![old_soa.clone()], to);
    let mut removed = plan.removed;
    removed.push(old_soa);
    let mut added = plan.added;
    added.extend(new_soa);
    // The new version first: a change that cannot be applied is refused before the store sees it.
    let next = match &z.version {
        Some(v) => v.apply(&removed, &added),
        None => Zone::build(&z.apex, &added),
    }
    .map_err(zone_err)?;
    Ok(Some(combine::Staged {
        change: Change {
            serial_from: from,
            serial_to: to,
            removed,
            added,
        },
        next: Arc::new(next),
    }))
}

impl Control {
    /// Commits one change (SOA records included) and brings memory and the snapshot up to date.
    fn commit(
        &self,
        z: &mut ZoneState,
        from: u32,
        to: u32,
        removed: Vec<Record>,
        added: Vec<Record>,
    ) -> Result<(i64, Vec<i64>), ControlError> {
        // The new version first: a change that cannot be applied is refused before the store sees it.
        let next = match &z.version {
            Some(v) => v.apply(&removed, &added),
            None => Zone::build(&z.apex, &added),
        }
        .map_err(zone_err)?;
        let change = Change {
            serial_from: from,
            serial_to: to,
            removed,
            added,
        };
        let (entry, ids) = self
            .store
            .commit_change_with_ids(&z.apex, &change)
            .map_err(|e| commit_err(&z.apex, e))?;
        z.version = Some(Arc::new(next));
        z.serial = to;
        z.updated_at = entry.committed_at;
        self.publish(z);
        tracing::debug!(zone = %z.apex, from, to, seq = entry.seq, "change applied");
        Ok((entry.seq, ids))
    }

    /// Replaces the whole content of a primary zone by zone file text, atomically.
    ///
    /// The text is read with `$ORIGIN` defaulting to the zone and checked
    /// against the zone rules. Its SOA serial is kept when newer than the
    /// current one; otherwise the serial advances by the zone's policy.
    ///
    /// With `if_serial`, refused ([`ControlError::SerialMismatch`]) unless the
    /// zone is at that serial, checked under the zone's write lock.
    pub fn replace_zone_text(
        &self,
        zone: &Name,
        zonefile: &str,
        if_serial: Option<u32>,
    ) -> Result<Applied, ControlError> {
        self.replace_zone_text_at(zone, zonefile, if_serial, now_secs())
    }

    pub(crate) fn replace_zone_text_at(
        &self,
        zone: &Name,
        zonefile: &str,
        if_serial: Option<u32>,
        now: i64,
    ) -> Result<Applied, ControlError> {
        self.handle(zone)?;
        let data = zonecast_zonefile::load_str(zonefile, &zone.to_lowercase(), "zonefile")?;
        let records = self.zone_file_records(data, "zonefile", "api")?;
        self.retrying(zone, || {
            self.replace_text_once(zone, &records, if_serial, now)
        })
    }

    fn replace_text_once(
        &self,
        zone: &Name,
        records: &[Record],
        if_serial: Option<u32>,
        now: i64,
    ) -> Result<Applied, ControlError> {
        let h = self.handle(zone)?;
        let mut z = lock(&h);
        if z.deleted {
            return Err(zone_not_found(zone));
        }
        check_if_serial(&z, if_serial)?;
        if z.kind == ZoneKind::Secondary {
            return Err(ControlError::Conflict {
                message: format!(
                    "zone {} is a secondary zone; it changes only by transfers from its primaries",
                    z.apex
                ),
            });
        }
        let policy = z.settings.serial_policy;
        let from = z.serial;
        match self.replace_locked(&mut z, records, |cur, file| {
            if serial_gt(file, cur) {
                file
            } else {
                policy.next(cur, now)
            }
        })? {
            None => Ok(no_change(&z)),
            Some((to, seq, added_ids)) => Ok(Applied {
                zone: z.apex.clone(),
                serial_from: from,
                serial_to: to,
                seq,
                added_ids,
            }),
        }
    }

    /// The zone's content as a zone file.
    pub fn export_zone(&self, zone: &Name) -> Result<String, ControlError> {
        let h = self.handle(zone)?;
        let z = lock(&h);
        if z.deleted {
            return Err(zone_not_found(zone));
        }
        Ok(zonecast_zonefile::write_zone(&z.apex, &z.records()))
    }

    /// Loads a zone file (origin from `$ORIGIN` or the file name) and stores it if it differs.
    ///
    /// A file whose octets are those of the last load (SHA-256 kept in the
    /// store's meta table, per path) while the zone is still at the serial
    /// that load left is not parsed again: restarting with an unchanged big
    /// zone file costs a read and a hash, not a parse and a diff. A file
    /// with `$INCLUDE` is always parsed (its includes may have changed).
    pub fn load_zone_file(&self, path: &Path) -> Result<(Name, LoadOutcome), ControlError> {
        let fingerprint = file_fingerprint(path);
        let key = format!(
            "zonefile:{}",
            path.canonicalize()
                .unwrap_or_else(|_| path.to_path_buf())
                .display()
        );
        if let (Some(fp), Some(seen)) = (&fingerprint, self.store.meta_get(&key)?) {
            if let Some((zone, serial)) = unchanged_since(&seen, fp) {
                if self.zone_info(&zone).is_ok_and(|z| z.serial == serial) {
                    return Ok((zone, LoadOutcome::Unchanged { serial }));
                }
            }
        }
        // `load_file` validates, naming file and line; the records are not checked again.
        let data = zonecast_zonefile::load_file(path, None)?;
        let origin = data.origin.clone();
        let records = self.zone_file_records(data, "zonefile", "zone file")?;
        let outcome = self.replace_checked(&origin, records, "zone file")?;
        if let Some(fp) = fingerprint {
            let serial = match outcome {
                LoadOutcome::Created { serial } | LoadOutcome::Unchanged { serial } => serial,
                LoadOutcome::Updated { to, .. } => to,
            };
            self.store
                .meta_set(&key, &format!("{fp} {} {serial}", origin))?;
        }
        Ok((origin, outcome))
    }

    /// A zone file's records, normalised, within the size limits: a limit
    /// crossed is refused naming the file and line of the first record
    /// over it (`field` names the file in the API).
    pub fn zone_file_records(
        &self,
        data: zonecast_zonefile::ZoneFileData,
        field: &str,
        way: &str,
    ) -> Result<Vec<Record>, ControlError> {
        let records = normalized(
            &data.origin,
            data.records.iter().cloned().map(canonical_record).collect(),
        );
        let Err((e, _)) = self.limits.check_records(&data.origin, &records) else {
            return Ok(records);
        };
        let at = first_over(&self.limits, &e, &data.records);
        let mut err = refuse(e, field, way);
        if let (ControlError::TooLarge { message, .. }, Some(loc)) =
            (&mut err, at.and_then(|i| data.locations.get(i)))
        {
            *message = format!("{loc}: {message}");
        }
        Err(err)
    }

    /// Whole content within the size limits (`way` for the log and the count).
    fn check_content(
        &self,
        zone: &Name,
        records: &[Record],
        way: &str,
    ) -> Result<(), ControlError> {
        self.limits
            .check_records(zone, records)
            .map_err(|(e, _)| refuse(e, "records", way))
    }

    /// Makes `records` the whole content of the zone at `origin`, creating a primary zone if absent.
    ///
    /// The records must form a valid zone. A newer SOA serial among them is
    /// kept; otherwise the stored serial is incremented. Also the path for
    /// transferred content of secondary zones.
    pub fn replace_zone(
        &self,
        origin: &Name,
        records: Vec<Record>,
    ) -> Result<LoadOutcome, ControlError> {
        let records = normalized(origin, records.into_iter().map(canonical_record).collect());
        check_zone(origin, &records)?;
        self.check_content(origin, &records, "zone file")?;
        self.replace_checked(origin, records, "zone file")
    }

    /// [`Control::replace_zone`] for records already normalised, validated and within the limits.
    fn replace_checked(
        &self,
        origin: &Name,
        records: Vec<Record>,
        way: &str,
    ) -> Result<LoadOutcome, ControlError> {
        let mut records = Some(records);
        self.retrying(origin, || self.replace_once(origin, &mut records, way))
    }

    /// One attempt; `records` is taken only when the zone is created.
    fn replace_once(
        &self,
        origin: &Name,
        records: &mut Option<Vec<Record>>,
        way: &str,
    ) -> Result<LoadOutcome, ControlError> {
        let h = match self.handle(origin) {
            Ok(h) => h,
            Err(ControlError::NotFound { .. }) => {
                let apex = origin.to_lowercase();
                let settings = ZoneSettings::default();
                let records = records.take().unwrap_or_default();
                let info = self.store_new_zone(apex, ZoneKind::Primary, settings, records, way)?;
                return Ok(LoadOutcome::Created {
                    serial: info.serial,
                });
            }
            Err(e) => return Err(e),
        };
        let mut z = lock(&h);
        if z.deleted {
            return Err(zone_not_found(origin));
        }
        let from = z.serial;
        let apex = z.apex.clone();
        let records = records.as_deref().unwrap_or_default();
        match self.replace_locked(&mut z, records, |cur, file| {
            let to = next_serial(cur, file);
            if to != file {
                tracing::info!(zone = %apex, file_serial = file, new_serial = to, "zone content changed without a newer serial; serial incremented");
            }
            to
        })? {
            None => Ok(LoadOutcome::Unchanged { serial: from }),
            Some((to, _, _)) => Ok(LoadOutcome::Updated { from, to }),
        }
    }

    /// Replaces the zone's records (already validated) under its lock; `None` when nothing differs.
    ///
    /// `serial(current, file_serial)` gives the new serial.
    fn replace_locked(
        &self,
        z: &mut ZoneState,
        records: &[Record],
        serial: impl FnOnce(u32, u32) -> u32,
    ) -> Result<Option<(u32, i64, Vec<i64>)>, ControlError> {
        let old = z.records();
        let (removed, added) = zonecast_store::diff(&old, records);
        if removed.is_empty() && added.is_empty() {
            return Ok(None);
        }
        let from = z.serial;
        let file_serial = soa_serial(&z.apex, records).unwrap_or(0);
        let to = serial(from, file_serial);
        let (removed, added) = if to == file_serial {
            (removed, added)
        } else {
            zonecast_store::diff(&old, &with_serial(&z.apex, records.to_vec(), to))
        };
        let (seq, ids) = self.commit(z, from, to, removed, added)?;
        Ok(Some((to, seq, ids)))
    }
}

/// SHA-256 of a zone file's octets (hex), or `None` when it cannot be read or uses `$INCLUDE`.
fn file_fingerprint(path: &Path) -> Option<String> {
    use sha2::Digest;
    let bytes = std::fs::read(path).ok()?;
    let include = b"$include";
    if bytes
        .windows(include.len())
        .any(|w| w.eq_ignore_ascii_case(include))
    {
        return None;
    }
    let digest = sha2::Sha256::digest(&bytes);
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// The zone and serial of a recorded load (`"<sha256> <zone> <serial>"`) when its hash is `fp`.
fn unchanged_since(seen: &str, fp: &str) -> Option<(Name, u32)> {
    let mut parts = seen.split(' ');
    if parts.next()? != fp {
        return None;
    }
    let zone = Name::from_presentation(parts.next()?, None).ok()?;
    let serial = parts.next()?.parse().ok()?;
    Some((zone, serial))
}

/// A size limit crossed: logged and counted (coming by `way`), then the error for the caller.
pub(crate) fn refuse(e: Exceeded, field: impl Into<String>, way: &str) -> ControlError {
    zonecast_zone::limits::refused(&e, way);
    ControlError::TooLarge {
        field: field.into(),
        message: e.to_string(),
    }
}

/// The index in `raw` (a zone file's records, duplicates included) of the
/// first record over the limit `e` reports, duplicates not counted.
fn first_over(limits: &Limits, e: &Exceeded, raw: &[Record]) -> Option<usize> {
    let mut seen = std::collections::HashSet::new();
    let mut n = 0usize;
    for (i, r) in raw.iter().enumerate() {
        let counts = match e.limit {
            Limit::ZoneRecords => true,
            Limit::RrsetRecords => e
                .rrset
                .as_ref()
                .is_some_and(|(o, t)| *t == r.rtype && *o == r.owner),
            Limit::Zones | Limit::TransferBytes => return None,
        };
        if !counts {
            continue;
        }
        let c = canonical_record(r.clone());
        if !seen.insert((c.owner, c.rtype, c.rdata)) {
            continue;
        }
        n += 1;
        let max = match e.limit {
            Limit::ZoneRecords => limits.max_zone_records,
            _ => limits.max_rrset_records,
        };
        if n > max {
            return Some(i);
        }
    }
    None
}

/// Zone errors as the write path reports them: a size limit is [`ControlError::TooLarge`].
pub(crate) fn zone_err(e: ZoneError) -> ControlError {
    match e {
        ZoneError::TooLarge {
            owner,
            rtype,
            limit,
            ..
        } => ControlError::TooLarge {
            field: "records".into(),
            message: format!("{owner} {rtype}: more than {limit}"),
        },
        other => ControlError::Zone(other),
    }
}

fn check_if_serial(z: &ZoneState, if_serial: Option<u32>) -> Result<(), ControlError> {
    match if_serial {
        Some(s) if s != z.serial => Err(ControlError::SerialMismatch {
            zone: z.apex.clone(),
            current: z.serial,
            expected: s,
        }),
        _ => Ok(()),
    }
}

fn no_change(z: &ZoneState) -> Applied {
    Applied {
        zone: z.apex.clone(),
        serial_from: z.serial,
        serial_to: z.serial,
        seq: 0,
        added_ids: Vec::new(),
    }
}

/// Duplicates dropped and TTLs unified per RRset (warnings logged).
fn normalized(zone: &Name, records: Vec<Record>) -> Vec<Record> {
    let (records, warnings) = zonecast_zone::validate::normalize(records);
    for w in warnings {
        tracing::warn!(%zone, "{w}");
    }
    records
}

/// The zone rules over a whole record set; the first problem as an [`ControlError::Invalid`] naming `records[i]`.
fn check_zone(origin: &Name, records: &[Record]) -> Result<(), ControlError> {
    match zonecast_zone::validate::validate_zone(origin, records) {
        Ok(()) => Ok(()),
        Err(problems) => {
            let first = problems.into_iter().next();
            Err(ControlError::Invalid {
                index: None,
                field: first
                    .as_ref()
                    .and_then(|p| p.index)
                    .map_or_else(|| "records".to_string(), |i| format!("records[{i}]")),
                message: first.map(|p| p.message).unwrap_or_default(),
            })
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The serial of the apex SOA among `records`.
pub fn soa_serial(origin: &Name, records: &[Record]) -> Option<u32> {
    let soa = records
        .iter()
        .find(|r| r.rtype == Rtype::SOA && r.owner == *origin)?;
    let at = soa_serial_offset(&soa.rdata)?;
    match soa.rdata.get(at..at + 4)? {
        [a, b, c, d] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

fn soa_serial_offset(rdata: &[u8]) -> Option<usize> {
    let mname = zonecast_proto::name::check_wire(rdata).ok()?;
    let rname = zonecast_proto::name::check_wire(rdata.get(mname..)?).ok()?;
    Some(mname + rname)
}

/// Rewrites the apex SOA's serial.
fn with_serial(origin: &Name, mut records: Vec<Record>, serial: u32) -> Vec<Record> {
    for r in records.iter_mut() {
        if r.rtype == Rtype::SOA && r.owner == *origin {
            if let Some(at) = soa_serial_offset(&r.rdata) {
                let mut rdata = r.rdata.to_vec();
                if let Some(b) = rdata.get_mut(at..at + 4) {
                    b.copy_from_slice(&serial.to_be_bytes());
                }
                r.rdata = rdata.into();
            }
        }
    }
    records
}

#[cfg(test)]
mod tests;
