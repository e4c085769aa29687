//! What the edge holds per zone, and how one replicated transaction (or a
//! copy from a snapshot) turns into new zone versions, local store steps
//! and meta keys. Pure: no I/O, so it is tested without PostgreSQL.
//!
//! Rules per transaction (rows in commit order, applied at Commit):
//! - zones INSERT: a new zone (its content comes with the journal `create`
//!   row of the same transaction); a row for a zone already held is the
//!   overlap between the initial copy and the stream, and is ignored;
//! - zones UPDATE: settings and kind; zones DELETE: the zone goes (matched
//!   by id, so a delete of an older zone of the same name does not touch
//!   a newer one);
//! - journal INSERT with `seq` ≤ the zone's applied seq: already applied
//!   (copy or earlier run), skipped; `create`: the zone's content;
//!   `change`: [`Zone::apply`] of the removed and added records, only when
//!   `serial_from` is the serial held;
//! - anything wrong with one zone's rows (a blob that does not decode, a
//!   serial that does not follow, records the version does not hold) halts
//!   that zone: its rows in this transaction are dropped, the version held
//!   stays, a problem is reported and the zone is resynced from the
//!   primary. The other zones of the transaction go on.
//! - size limits ([`Limits`], the edge's `--max-*` flags): a new zone past
//!   `max_zones`, a `create` past the zone or RRset limit, or a `change`
//!   that grows the zone or an RRset past its limit halts the zone the
//!   same way (the version held stays served), logged and counted by
//!   [`zonecast_zone::limits::refused`]; the resync's copy is checked
//!   again ([`check_copy`]), so the zone stays as held until it fits.

use crate::local::{meta_zone, zone_meta_value, zones_index_value, BatchOp, TsigKeyRow};
use crate::local::{HeartbeatMeta, META_HEARTBEAT, META_LSN, META_ZONES};
use crate::pgoutput::{format_lsn, Lsn};
use crate::rows::{JournalRowPg, RowEvent, Table, ZoneRowPg};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use zonecast_proto::{Name, Record};
use zonecast_store::{decode_records, Change, ZoneKind};
use zonecast_zone::limits::Limits;
use zonecast_zone::Zone;

/// One zone as the edge holds it.
#[derive(Clone, Debug)]
pub struct ZoneEntry {
    /// `zones.id` on the primary.
    pub id: i64,
    /// The apex (lowercase).
    pub name: Name,
    /// Primary or secondary.
    pub kind: ZoneKind,
    /// Settings JSON.
    pub settings: String,
    /// Creation time on the primary, unix ms.
    pub created_at: i64,
    /// The serial held (the version's, or the zones row's while there is no version).
    pub serial: u32,
    /// The last journal seq applied.
    pub seq: i64,
    /// The version held; `None` while the zone has no records.
    pub version: Option<Arc<Zone>>,
    /// When a secondary zone expires, unix ms, as the leading control plane
    /// recorded it (`zones.expires_at`); `None` for primary zones.
    pub expires_at: Option<i64>,
}

/// The zones held, by id on the primary.
pub type ZoneTable = BTreeMap<i64, ZoneEntry>;

/// A problem met while applying, for the status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxProblem {
    /// The zone concerned, when known.
    pub zone: Option<String>,
    /// What happened.
    pub message: String,
}

/// What applying one transaction (or a copy) asks of the follower.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Versions to publish (all zones of the transaction, together).
    pub publish: Vec<Arc<Zone>>,
    /// Zones to stop serving.
    pub withdraw: Vec<Name>,
    /// Steps for the local store, in order.
    pub ops: Vec<BatchOp>,
    /// Meta keys to write with them.
    pub meta: Vec<(String, String)>,
    /// Zones (ids on the primary) to resync.
    pub resync: BTreeSet<i64>,
    /// Every zone must be resynced (a truncate, a row of unknown zone).
    pub resync_all: bool,
    /// Zones halted by this transaction, with the reason.
    pub halted: BTreeMap<i64, String>,
    /// Zones halted earlier that this transaction deleted (no resync needed).
    pub unhalted: BTreeSet<i64>,
    /// Problems to report.
    pub problems: Vec<TxProblem>,
    /// The heartbeat row applied, if the transaction wrote one: (at_ms, interval_ms, writer).
    pub heartbeat: Option<(i64, i64, String)>,
    /// Journal rows skipped as already applied.
    pub rows_skipped: u64,
    /// Whether any zone, key or heartbeat changed.
    pub changed: bool,
    /// Serials that changed: (zone, serial held), `None` for a zone that went.
    pub serials: Vec<(Name, Option<u32>)>,
    /// The serials of all zones must be recomputed (a full copy).
    pub all_serials: bool,
    /// Zones whose expiry changed (or that came with one): (zone, expiry).
    pub expiries: Vec<(Name, Option<i64>)>,
}

struct Work {
    id: i64,
    before: Option<ZoneEntry>,
    entry: Option<ZoneEntry>,
    ops: Vec<BatchOp>,
    created_op: Option<usize>,
    halted: Option<String>,
    seq_changed: bool,
}

fn parse_name(s: &str) -> Result<Name, String> {
    s.parse::<Name>()
        .map(|n| n.to_lowercase())
        .map_err(|e| format!("zone name '{s}': {e}"))
}

fn to_serial(v: i64, what: &str) -> Result<u32, String> {
    u32::try_from(v).map_err(|_| format!("{what} {v} out of range"))
}

/// Applies one transaction's rows to `zones`, under the default [`Limits`].
///
/// `halted` holds zones halted earlier and not resynced yet: their rows
/// are skipped. `lsn` is the commit's end LSN, written as `replica.lsn`.
pub fn apply_transaction(
    zones: &mut ZoneTable,
    halted: &BTreeMap<i64, String>,
    events: Vec<(u64, RowEvent)>,
    lsn: u64,
    now_ms: i64,
) -> Outcome {
    apply_transaction_limited(zones, halted, events, lsn, now_ms, &Limits::default())
}

/// [`apply_transaction`] under these size limits (module docs).
pub fn apply_transaction_limited(
    zones: &mut ZoneTable,
    halted: &BTreeMap<i64, String>,
    events: Vec<(u64, RowEvent)>,
    lsn: u64,
    now_ms: i64,
    limits: &Limits,
) -> Outcome {
    let mut out = Outcome::default();
    let mut works: Vec<Work> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    let mut stale: BTreeSet<i64> = BTreeSet::new();
    let mut key_ops: Vec<BatchOp> = Vec::new();

    fn work<'w>(
        works: &'w mut Vec<Work>,
        index: &mut HashMap<i64, usize>,
        zones: &ZoneTable,
        halted: &BTreeMap<i64, String>,
        id: i64,
    ) -> &'w mut Work {
        let i = *index.entry(id).or_insert_with(|| {
            let before = zones.get(&id).cloned();
            works.push(Work {
                id,
                entry: before.clone(),
                before,
                ops: Vec::new(),
                created_op: None,
                halted: halted.get(&id).cloned(),
                seq_changed: false,
            });
            works.len() - 1
        });
        &mut works[i]
    }

    fn halt(w: &mut Work, out: &mut Outcome, at: u64, reason: String) {
        let zone = w
            .entry
            .as_ref()
            .or(w.before.as_ref())
            .map(|e| e.name.to_string());
        tracing::error!(zone = zone.as_deref().unwrap_or("?"), zone_id = w.id, lsn = %Lsn(at), %reason, "zone halted; it will be resynced");
        out.problems.push(TxProblem {
            zone: zone.clone(),
            message: format!(
                "LSN {}: zone {} (id {}) halted: {reason}",
                Lsn(at),
                zone.as_deref().unwrap_or("?"),
                w.id
            ),
        });
        out.halted.insert(w.id, reason.clone());
        w.halted = Some(reason);
        w.ops.clear();
        w.entry = w.before.clone();
        w.created_op = None;
        w.seq_changed = false;
    }

    for (at, ev) in events {
        match ev {
            RowEvent::ZoneInsert(row) => {
                if stale.contains(&row.id) {
                    continue;
                }
                let (name, kind) = match zone_identity(&row) {
                    Ok(v) => v,
                    Err(e) => {
                        let w = work(&mut works, &mut index, zones, halted, row.id);
                        halt(w, &mut out, at, e);
                        continue;
                    }
                };
                // Another zone of that name held: the older of the two is stale.
                let other = works
                    .iter()
                    .filter_map(|w| w.entry.as_ref())
                    .chain(zones.values())
                    .find(|e| e.name == name && e.id != row.id)
                    .map(|e| e.id);
                if let Some(other) = other {
                    let other_live = index.get(&other).is_none_or(|&i| works[i].entry.is_some());
                    if other_live {
                        if other > row.id {
                            // Overlap of copy and stream: a zone since replaced by a newer one of that name.
                            stale.insert(row.id);
                            continue;
                        }
                        tracing::warn!(zone = %name, old_id = other, new_id = row.id, "zone replaced without a delete; dropping the old one");
                        let ow = work(&mut works, &mut index, zones, halted, other);
                        if let Some(e) = ow.entry.take() {
                            ow.ops.push(BatchOp::DeleteZone { zone: e.name });
                        }
                    }
                }
                // Zones held once this transaction's creations and deletions so far are counted.
                let held = (zones.len()
                    + works
                        .iter()
                        .filter(|w| w.before.is_none() && w.entry.is_some())
                        .count())
                .saturating_sub(
                    works
                        .iter()
                        .filter(|w| w.before.is_some() && w.entry.is_none())
                        .count(),
                );
                let w = work(&mut works, &mut index, zones, halted, row.id);
                if w.halted.is_some() || w.entry.is_some() {
                    continue;
                }
                if let Err(e) = limits.zones(&name, held + 1) {
                    zonecast_zone::limits::refused(&e, "replication");
                    halt(w, &mut out, at, e.to_string());
                    continue;
                }
                let serial = match to_serial(row.serial, "serial") {
                    Ok(s) => s,
                    Err(e) => {
                        halt(w, &mut out, at, e);
                        continue;
                    }
                };
                let settings = row.settings.clone().unwrap_or_else(|| "{}".into());
                w.created_op = Some(w.ops.len());
                w.ops.push(BatchOp::CreateZone {
                    name: name.clone(),
                    kind,
                    settings: settings.clone(),
                    created_at: row.created_at,
                    records: Vec::new(),
                });
                w.entry = Some(ZoneEntry {
                    id: row.id,
                    name,
                    kind,
                    settings,
                    created_at: row.created_at,
                    serial,
                    seq: 0,
                    version: None,
                    expires_at: expiry_of(kind, row.expires_at),
                });
                w.seq_changed = true;
            }
            RowEvent::ZoneUpdate(row) => {
                if stale.contains(&row.id) {
                    continue;
                }
                let w = work(&mut works, &mut index, zones, halted, row.id);
                if w.halted.is_some() {
                    continue;
                }
                let Some(entry) = w.entry.as_mut() else {
                    // A zone not held: deleted later (copy overlap) or never seen; see the journal rule.
                    tracing::debug!(zone_id = row.id, "update of a zone not held; ignored");
                    continue;
                };
                let (name, kind) = match zone_identity(&row) {
                    Ok(v) => v,
                    Err(e) => {
                        halt(w, &mut out, at, e);
                        continue;
                    }
                };
                if name != entry.name {
                    let reason = format!("renamed from {} to {name}", entry.name);
                    halt(w, &mut out, at, reason);
                    continue;
                }
                entry.expires_at = expiry_of(kind, row.expires_at);
                let mut kind_changed = false;
                if kind != entry.kind {
                    entry.kind = kind;
                    kind_changed = true;
                }
                let mut settings_changed = false;
                if let Some(s) = &row.settings {
                    if *s != entry.settings {
                        entry.settings = s.clone();
                        settings_changed = true;
                    }
                }
                if !kind_changed && !settings_changed {
                    continue;
                }
                let (name, kind, settings) =
                    (entry.name.clone(), entry.kind, entry.settings.clone());
                let (serial, records) = (
                    entry.serial,
                    entry
                        .version
                        .as_ref()
                        .map(|v| v.records())
                        .unwrap_or_default(),
                );
                if let Some(BatchOp::CreateZone {
                    kind: k,
                    settings: s,
                    ..
                }) = w.created_op.and_then(|i| w.ops.get_mut(i))
                {
                    *k = kind;
                    *s = settings;
                } else if kind_changed {
                    w.ops.push(BatchOp::ReplaceZone {
                        zone: name,
                        kind,
                        settings,
                        serial,
                        records,
                    });
                } else {
                    w.ops.push(BatchOp::Settings {
                        zone: name,
                        settings,
                    });
                }
            }
            RowEvent::ZoneDelete { id, .. } => {
                if stale.contains(&id) {
                    continue;
                }
                let w = work(&mut works, &mut index, zones, halted, id);
                if let Some(e) = w.entry.take() {
                    w.ops.push(BatchOp::DeleteZone { zone: e.name });
                    w.created_op = None;
                }
                // A halted zone that is deleted needs no resync any more.
                if w.halted.take().is_some() {
                    out.halted.remove(&id);
                    out.unhalted.insert(id);
                }
            }
            RowEvent::Journal(j) => {
                if stale.contains(&j.zone_id) {
                    out.rows_skipped += 1;
                    continue;
                }
                let w = work(&mut works, &mut index, zones, halted, j.zone_id);
                if w.halted.is_some() {
                    out.rows_skipped += 1;
                    continue;
                }
                if w.entry.is_none() {
                    if w.before.is_none() && w.ops.is_empty() {
                        // A zone never seen: the copy missed it or it was deleted
                        // since; a resync by id settles which.
                        tracing::warn!(zone_id = j.zone_id, seq = j.seq, lsn = %Lsn(at), "journal row of a zone not held; resyncing it");
                        out.resync.insert(j.zone_id);
                    }
                    out.rows_skipped += 1;
                    continue;
                }
                if let Err(reason) = apply_journal(w, &j, limits) {
                    if reason.is_empty() {
                        out.rows_skipped += 1;
                    } else {
                        halt(w, &mut out, at, reason);
                    }
                }
            }
            RowEvent::Heartbeat {
                at_ms,
                interval_ms,
                writer,
            } => out.heartbeat = Some((at_ms, interval_ms, writer)),
            RowEvent::TsigPut {
                name,
                algorithm,
                secret,
                created_at,
            } => key_ops.push(BatchOp::PutTsigKey(TsigKeyRow {
                name,
                algorithm,
                secret,
                created_at,
            })),
            RowEvent::TsigDelete { name } => key_ops.push(BatchOp::DeleteTsigKey(name)),
            RowEvent::Truncate(tables) => {
                if tables
                    .iter()
                    .any(|t| matches!(t, Table::Zones | Table::TsigKeys))
                {
                    out.problems.push(TxProblem {
                        zone: None,
                        message: format!(
                            "LSN {}: TRUNCATE of {}; resyncing everything",
                            Lsn(at),
                            tables
                                .iter()
                                .map(|t| t.name())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                    out.resync_all = true;
                }
            }
        }
    }

    let mut membership = false;
    for w in works {
        if w.halted.is_some() {
            out.resync.insert(w.id);
            continue;
        }
        if !w.ops.is_empty() {
            out.changed = true;
        }
        out.ops.extend(w.ops);
        match (&w.before, w.entry) {
            (_, Some(e)) => {
                let version_changed = match (&w.before, &e.version) {
                    (None, _) => true,
                    (Some(b), v) => match (&b.version, v) {
                        (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
                        (None, None) => false,
                        _ => true,
                    },
                };
                if version_changed {
                    match &e.version {
                        Some(v) if crate::local::servable(v) => out.publish.push(v.clone()),
                        _ => out.withdraw.push(e.name.clone()),
                    }
                }
                let expiry_changed = w.before.as_ref().map(|b| b.expires_at) != Some(e.expires_at);
                if expiry_changed {
                    out.expiries.push((e.name.clone(), e.expires_at));
                }
                if w.seq_changed || expiry_changed {
                    out.meta.push((
                        meta_zone(e.id),
                        zone_meta_value(&e.name, e.seq, e.expires_at),
                    ));
                }
                if w.before.as_ref().map(|b| b.serial) != Some(e.serial) {
                    out.serials.push((e.name.clone(), Some(e.serial)));
                }
                if w.before.is_none() {
                    membership = true;
                }
                zones.insert(e.id, e);
            }
            (Some(b), None) => {
                out.serials.push((b.name.clone(), None));
                out.expiries.push((b.name.clone(), None));
                out.withdraw.push(b.name.clone());
                zones.remove(&w.id);
                membership = true;
            }
            (None, None) => {}
        }
    }
    if !key_ops.is_empty() {
        out.changed = true;
    }
    out.ops.extend(key_ops);
    let published: BTreeSet<&Name> = out.publish.iter().map(|z| z.apex()).collect();
    out.withdraw.retain(|n| !published.contains(n));
    out.meta.push((META_LSN.into(), format_lsn(lsn)));
    if membership {
        out.meta.push((META_ZONES.into(), zones_index_value(zones)));
    }
    if let Some((at_ms, interval_ms, _)) = &out.heartbeat {
        out.changed = true;
        let hb = HeartbeatMeta {
            at_ms: *at_ms,
            interval_ms: *interval_ms,
            applied_ms: now_ms,
        };
        if let Ok(v) = serde_json::to_string(&hb) {
            out.meta.push((META_HEARTBEAT.into(), v));
        }
    }
    out
}

/// The expiry a zone of `kind` keeps from `expires_at` (a zones row, the
/// copy, the local snapshot): only a secondary zone has one, so a stale
/// value left on a zone that became primary never expires it.
pub(crate) fn expiry_of(kind: ZoneKind, expires_at: Option<i64>) -> Option<i64> {
    expires_at.filter(|_| kind == ZoneKind::Secondary)
}

fn zone_identity(row: &ZoneRowPg) -> Result<(Name, ZoneKind), String> {
    let name = parse_name(&row.name)?;
    let kind = row
        .kind
        .parse::<ZoneKind>()
        .map_err(|e| format!("zone {name}: {e}"))?;
    Ok((name, kind))
}

/// Applies one journal row to the work; `Err("")` means "already applied, skip".
fn apply_journal(w: &mut Work, j: &JournalRowPg, limits: &Limits) -> Result<(), String> {
    let Some(entry) = w.entry.as_mut() else {
        return Err(String::new());
    };
    if j.seq <= entry.seq {
        return Err(String::new());
    }
    let removed = decode_records(&j.removed)
        .map_err(|e| format!("journal seq {}: removed records: {e}", j.seq))?;
    let added = decode_records(&j.added)
        .map_err(|e| format!("journal seq {}: added records: {e}", j.seq))?;
    let serial_from = to_serial(j.serial_from, "serial_from")?;
    let serial_to = to_serial(j.serial_to, "serial_to")?;
    match j.kind.as_str() {
        "create" => {
            if let Err((e, _)) = limits.check_records(&entry.name, &added) {
                zonecast_zone::limits::refused(&e, "replication");
                return Err(format!("journal seq {}: {e}", j.seq));
            }
            let version = if added.is_empty() {
                None
            } else {
                Some(Arc::new(
                    Zone::build(&entry.name, &added)
                        .map_err(|e| format!("journal seq {}: {e}", j.seq))?,
                ))
            };
            match w.created_op.and_then(|i| w.ops.get_mut(i)) {
                Some(BatchOp::CreateZone { records, .. }) if records.is_empty() => {
                    *records = added;
                }
                _ => w.ops.push(BatchOp::ReplaceZone {
                    zone: entry.name.clone(),
                    kind: entry.kind,
                    settings: entry.settings.clone(),
                    serial: serial_to,
                    records: added,
                }),
            }
            entry.version = version;
        }
        "change" => {
            if serial_from != entry.serial {
                return Err(format!(
                    "journal seq {}: change from serial {serial_from} to {serial_to}, but the edge holds serial {}",
                    j.seq, entry.serial
                ));
            }
            let next = match &entry.version {
                Some(v) => v.apply(&removed, &added),
                None if removed.is_empty() => Zone::build(&entry.name, &added),
                None => {
                    return Err(format!(
                        "journal seq {}: change removes records from a zone without records",
                        j.seq
                    ))
                }
            }
            .map_err(|e| format!("journal seq {}: {e}", j.seq))?;
            if let Err(e) = limits.check_change(entry.version.as_deref(), &next, &added) {
                zonecast_zone::limits::refused(&e, "replication");
                return Err(format!("journal seq {}: {e}", j.seq));
            }
            w.ops.push(BatchOp::Change {
                zone: entry.name.clone(),
                change: Change {
                    serial_from,
                    serial_to,
                    removed,
                    added,
                },
            });
            entry.version = Some(Arc::new(next));
        }
        other => return Err(format!("journal seq {}: unknown kind '{other}'", j.seq)),
    }
    entry.serial = serial_to;
    entry.seq = j.seq;
    w.seq_changed = true;
    Ok(())
}

/// Whether a zone copied from the primary fits the size limits, with
/// `zones` the number of zones the edge holds once it is taken.
///
/// A refusal is logged and counted; the caller keeps the zone as held.
pub fn check_copy(
    limits: &Limits,
    name: &Name,
    records: &[Record],
    zones: usize,
) -> Result<(), String> {
    let r = limits
        .zones(name, zones)
        .and_then(|()| limits.check_records(name, records).map_err(|(e, _)| e));
    r.map_err(|e| {
        zonecast_zone::limits::refused(&e, "replication");
        e.to_string()
    })
}

/// A zone as copied from the primary (initial sync or resync).
#[derive(Clone, Debug)]
pub struct CopiedZone {
    /// The zone's row.
    pub entry: ZoneEntry,
    /// Its records (owners as stored, case kept).
    pub records: Vec<Record>,
}

/// Replaces held zones by copies.
///
/// With `full`, the copy is the whole primary: zones held but not copied
/// go. Otherwise only the ids in `ids` are concerned: a copied zone replaces
/// the one held, an id in `ids` that is not copied (deleted on the primary)
/// goes. Zones in `keep` (on the primary but not copied because their
/// rows did not read) stay as held. `lsn`, when given, is written as
/// `replica.lsn`.
pub fn apply_copy(
    zones: &mut ZoneTable,
    copied: Vec<CopiedZone>,
    ids: &BTreeSet<i64>,
    full: bool,
    lsn: Option<u64>,
    keep: &BTreeSet<i64>,
) -> Outcome {
    let mut out = Outcome {
        changed: true,
        all_serials: true,
        ..Outcome::default()
    };
    let copied_ids: BTreeSet<i64> = copied.iter().map(|c| c.entry.id).collect();
    let copied_names: BTreeSet<Name> = copied.iter().map(|c| c.entry.name.clone()).collect();
    // Zones that go: not on the primary any more, or whose name now belongs to another id.
    let gone: Vec<i64> = zones
        .iter()
        .filter(|(id, e)| {
            if keep.contains(id) {
                return false;
            }
            let concerned = full || ids.contains(id);
            (concerned && !copied_ids.contains(id))
                || (!copied_ids.contains(id) && copied_names.contains(&e.name))
        })
        .map(|(id, _)| *id)
        .collect();
    for id in gone {
        if let Some(e) = zones.remove(&id) {
            if !copied_names.contains(&e.name) {
                out.expiries.push((e.name.clone(), None));
                out.ops.push(BatchOp::DeleteZone {
                    zone: e.name.clone(),
                });
                out.withdraw.push(e.name);
            }
        }
    }
    for c in copied {
        let e = c.entry;
        match &e.version {
            Some(v) if crate::local::servable(v) => out.publish.push(v.clone()),
            _ => out.withdraw.push(e.name.clone()),
        }
        out.ops.push(BatchOp::ReplaceZone {
            zone: e.name.clone(),
            kind: e.kind,
            settings: e.settings.clone(),
            serial: e.serial,
            records: c.records,
        });
        out.meta.push((
            meta_zone(e.id),
            zone_meta_value(&e.name, e.seq, e.expires_at),
        ));
        out.expiries.push((e.name.clone(), e.expires_at));
        zones.insert(e.id, e);
    }
    if let Some(lsn) = lsn {
        out.meta.push((META_LSN.into(), format_lsn(lsn)));
    }
    out.meta.push((META_ZONES.into(), zones_index_value(zones)));
    out
}

#[cfg(test)]
mod tests;
