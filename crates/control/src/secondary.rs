//! Secondary zones: what a transfer from the primary does to the zone.
//!
//! A transfer is applied as one change like any other (RFC 1034 §4.3.5,
//! RFC 5936, RFC 1995): one store transaction with its journal entries,
//! then one new version published. The primary's serial is kept as it is;
//! no serial policy applies.
//!
//! - A full transfer (AXFR, or IXFR answered AXFR-style) must form a valid
//!   zone (the rules of the module docs); the journal entry is the
//!   difference from what was served.
//! - An incremental transfer is checked change by change against the
//!   version the changes before it leave: each must start at the serial
//!   reached so far, remove only records that exist, add only records that
//!   do not, keep the zone rules on the names it touches, and replace the
//!   SOA. Every change becomes its own journal entry, so IXFR out serves
//!   the same sequence; all of them commit in one transaction.
//!
//! A transfer that fails any check leaves the zone exactly as it was.
//!
//! An expired secondary keeps its data but is published answering SERVFAIL
//! ([`Control::set_expired`]); a transfer that applies ends the expiry.

use crate::state::{canonical_record, Edit, ZoneState};
use crate::{check_zone, lock, normalized, refuse, zone_err, Applied, Control};
use crate::{soa_serial, zone_not_found, ControlError};
use std::sync::Arc;
use zonecast_proto::{Name, Record, Rtype};
use zonecast_store::{Change, ZoneKind};
use zonecast_zone::validate::MAX_TTL;

/// What a secondary zone received from its primary.
#[derive(Clone, Debug)]
pub enum Transferred {
    /// The whole zone, its SOA included.
    Full(Vec<Record>),
    /// Changes in order, each with the old SOA among `removed` and the new
    /// among `added` (as an IXFR carries them).
    Incremental(Vec<Change>),
}

impl Control {
    /// Applies a transfer to a secondary zone as one change (module docs);
    /// `serial_from == serial_to` when it changed nothing.
    ///
    /// Refused for a primary zone. The zone is no longer expired afterwards.
    pub fn apply_transfer(
        &self,
        zone: &Name,
        transfer: Transferred,
    ) -> Result<Applied, ControlError> {
        match transfer {
            Transferred::Full(records) => {
                let records = normalized(zone, records.into_iter().map(canonical_record).collect());
                check_zone(zone, &records)?;
                self.check_content(zone, &records, "transfer")?;
                self.retrying(zone, || self.apply_full_once(zone, &records))
            }
            Transferred::Incremental(changes) => {
                self.retrying(zone, || self.apply_incremental_once(zone, &changes))
            }
        }
    }

    /// Marks a secondary zone expired (served SERVFAIL) or not; its data stays.
    pub fn set_expired(&self, zone: &Name, expired: bool) -> Result<(), ControlError> {
        let h = self.handle(zone)?;
        let mut z = lock(&h);
        secondary_only(&z)?;
        if z.expired != expired {
            z.expired = expired;
            self.publish(&z);
            tracing::warn!(zone = %z.apex, expired, "secondary zone {}", if expired { "expired: answering SERVFAIL" } else { "no longer expired" });
        }
        Ok(())
    }

    /// The zone's SOA record as served now; `None` before the first transfer.
    pub fn soa(&self, zone: &Name) -> Result<Option<Record>, ControlError> {
        let h = self.handle(zone)?;
        let z = lock(&h);
        if z.deleted {
            return Err(zone_not_found(zone));
        }
        Ok(z.soa())
    }

    fn apply_full_once(&self, zone: &Name, records: &[Record]) -> Result<Applied, ControlError> {
        let h = self.handle(zone)?;
        let mut z = lock(&h);
        secondary_only(&z)?;
        let from = z.serial;
        let was_expired = std::mem::replace(&mut z.expired, false);
        let changed = match self.replace_locked(&mut z, records, |_, primary| primary) {
            Ok(c) => c,
            Err(e) => {
                z.expired = was_expired;
                return Err(e);
            }
        };
        if was_expired {
            tracing::info!(zone = %z.apex, "secondary zone no longer expired");
            if changed.is_none() {
                self.publish(&z);
            }
        }
        Ok(match changed {
            None => crate::no_change(&z),
            Some((to, seq, added_ids)) => Applied {
                zone: z.apex.clone(),
                serial_from: from,
                serial_to: to,
                seq,
                added_ids,
            },
        })
    }

    fn apply_incremental_once(
        &self,
        zone: &Name,
        changes: &[Change],
    ) -> Result<Applied, ControlError> {
        let h = self.handle(zone)?;
        let mut z = lock(&h);
        secondary_only(&z)?;
        if z.version.is_none() {
            return Err(ControlError::Conflict {
                message: format!("zone {zone} has no data to apply an incremental transfer to"),
            });
        }
        let (mut work, staged) = stage_incremental(&z, changes, &self.limits)?;
        if staged.is_empty() {
            return Ok(crate::no_change(&z));
        }
        let out = self
            .store
            .commit_changes(&z.apex, &staged)
            .map_err(|e| crate::commit_err(&z.apex, e))?;
        let from = z.serial;
        if let Some((entry, _)) = out.last() {
            work.updated_at = entry.committed_at;
        }
        work.expired = false;
        *z = work;
        self.publish(&z);
        Ok(Applied {
            zone: z.apex.clone(),
            serial_from: from,
            serial_to: z.serial,
            seq: out.last().map_or(0, |(e, _)| e.seq),
            added_ids: out.into_iter().flat_map(|(_, ids)| ids).collect(),
        })
    }
}

fn secondary_only(z: &ZoneState) -> Result<(), ControlError> {
    if z.deleted {
        return Err(zone_not_found(&z.apex));
    }
    if z.kind != ZoneKind::Secondary {
        return Err(ControlError::Conflict {
            message: format!(
                "zone {} is a primary zone; transfers apply to secondary zones only",
                z.apex
            ),
        });
    }
    Ok(())
}

/// Checks the changes of an incremental transfer in order, each against
/// the version the ones before it leave (module docs): the state they lead
/// to and the changes as they are journaled. Nothing is committed.
pub(crate) fn stage_incremental(
    z: &ZoneState,
    changes: &[Change],
    limits: &crate::Limits,
) -> Result<(ZoneState, Vec<Change>), ControlError> {
    let mut work = z.clone();
    let mut staged: Vec<Change> = Vec::with_capacity(changes.len());
    for (i, c) in changes.iter().enumerate() {
        let (change, next) = stage_delta(&work, c, limits).map_err(|e| in_change(i, c, e))?;
        work.serial = change.serial_to;
        work.version = Some(Arc::new(next));
        staged.push(change);
    }
    Ok((work, staged))
}

/// Names the change of an incremental transfer an error belongs to.
fn in_change(i: usize, c: &Change, e: ControlError) -> ControlError {
    if let ControlError::TooLarge { message, .. } = e {
        return ControlError::TooLarge {
            field: format!("ixfr[{i}]"),
            message: format!("change {} → {}: {message}", c.serial_from, c.serial_to),
        };
    }
    ControlError::Invalid {
        index: None,
        field: format!("ixfr[{i}]"),
        message: format!("change {} → {}: {e}", c.serial_from, c.serial_to),
    }
}

/// One IXFR change checked against `z`: the change as journaled and the version it leads to.
fn stage_delta(
    z: &ZoneState,
    c: &Change,
    limits: &crate::Limits,
) -> Result<(Change, zonecast_zone::Zone), ControlError> {
    let invalid = |message: String| ControlError::Invalid {
        index: None,
        field: "records".into(),
        message,
    };
    if c.serial_from != z.serial {
        return Err(invalid(format!(
            "starts at serial {}, the zone is at {}",
            c.serial_from, z.serial
        )));
    }
    let is_soa = |r: &Record| r.rtype == Rtype::SOA;
    let removed: Vec<Record> = c.removed.iter().cloned().map(canonical_record).collect();
    let added: Vec<Record> = c.added.iter().cloned().map(canonical_record).collect();
    let (old_soa, removed): (Vec<Record>, Vec<Record>) = removed.into_iter().partition(is_soa);
    let (new_soa, added): (Vec<Record>, Vec<Record>) = added.into_iter().partition(is_soa);
    let current = z.soa();
    match (old_soa.as_slice(), new_soa.as_slice(), &current) {
        ([old], [new], Some(cur)) if old.same_data(cur) && new.owner == z.apex => {
            if soa_serial(&z.apex, std::slice::from_ref(new)) != Some(c.serial_to) {
                return Err(invalid(
                    "the new SOA does not carry the change's serial".into(),
                ));
            }
            // The SOA does not go through the plan's checks: the rule a
            // full transfer applies to every record (found by fuzzing).
            if new.ttl > MAX_TTL {
                return Err(invalid(format!(
                    "the new SOA's TTL {} is above 2147483647 (RFC 2181 §8)",
                    new.ttl
                )));
            }
        }
        ([old], [_], Some(_)) => {
            return Err(invalid(format!(
                "removes an SOA that is not the zone's ({})",
                old.owner
            )));
        }
        _ => {
            return Err(invalid(
                "a change must remove the old SOA and add the new one".into(),
            ))
        }
    }
    let edits: Vec<Edit> = removed
        .into_iter()
        .map(Edit::DeleteRecord)
        .chain(added.into_iter().map(Edit::AddRecord))
        .collect();
    let plan = z.plan(&edits, limits, "transfer")?;
    let after = (z.record_count() + plan.added.len()).saturating_sub(plan.removed.len());
    limits
        .zone_growth(&z.apex, z.record_count(), after)
        .map_err(|e| refuse(e, "records", "transfer"))?;
    let mut removed = plan.removed;
    removed.extend(old_soa);
    let mut added = plan.added;
    added.extend(new_soa);
    let next = match &z.version {
        Some(v) => v.apply(&removed, &added),
        None => return Err(invalid("the zone has no data".into())),
    }
    .map_err(zone_err)?;
    Ok((
        Change {
            serial_from: c.serial_from,
            serial_to: c.serial_to,
            removed,
            added,
        },
        next,
    ))
}
