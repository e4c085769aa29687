//! The write path's checks without a store, for the fuzz targets
//! (`fuzz/fuzz_targets/ixfr_apply.rs`, `api_body.rs`; their bodies are in
//! `tests/fuzz_bodies/mod.rs`, replayed by `tests/fuzz_corpus.rs`).
//!
//! A [`FuzzZone`] is a zone state as [`Control`](crate::Control) keeps it,
//! built once; staging an incremental transfer or an edit list against it
//! runs the same code as [`Control::apply_transfer`](crate::Control::apply_transfer)
//! and [`Control::apply`](crate::Control::apply) up to the store commit,
//! and leaves the zone as it was. Not an API for anything else.

use crate::state::{canonical_edit, canonical_record, Edit, ZoneState};
use crate::{check_zone, normalized, soa_serial, ControlError, ZoneSettings};
use std::sync::Arc;
use zonecast_proto::{Name, Record};
use zonecast_store::{Change, ZoneKind};
use zonecast_zone::Zone;

/// A zone's state in memory, to stage changes against.
#[derive(Clone, Debug)]
pub struct FuzzZone {
    state: ZoneState,
}

/// What staging left: the changes as they would be journaled and the version they lead to.
#[derive(Clone, Debug)]
pub struct Staged {
    /// The changes, SOAs included, in order.
    pub changes: Vec<Change>,
    /// The serial reached.
    pub serial: u32,
    /// The version reached.
    pub version: Arc<Zone>,
}

impl FuzzZone {
    /// A zone of `kind` holding `records` (checked as a zone file is), at its SOA's serial.
    pub fn new(
        apex: &Name,
        kind: ZoneKind,
        records: Vec<Record>,
    ) -> Result<FuzzZone, ControlError> {
        let records = normalized(apex, records.into_iter().map(canonical_record).collect());
        check_zone(apex, &records)?;
        let serial = soa_serial(apex, &records).unwrap_or(0);
        let version = Zone::build(apex, &records)?;
        Ok(FuzzZone {
            state: ZoneState {
                store_id: 1,
                apex: apex.clone(),
                kind,
                settings: ZoneSettings::default(),
                serial,
                created_at: 0,
                updated_at: 0,
                version: Some(Arc::new(version)),
                deleted: false,
                expired: false,
            },
        })
    }

    /// The current serial.
    pub fn serial(&self) -> u32 {
        self.state.serial
    }

    /// The current version.
    pub fn version(&self) -> Option<&Arc<Zone>> {
        self.state.version.as_ref()
    }

    /// Checks an incremental transfer's changes as `Control::apply_transfer`
    /// does for a secondary zone, without committing them.
    pub fn stage_incremental(&self, changes: &[Change]) -> Result<Staged, ControlError> {
        let (work, changes) =
            crate::secondary::stage_incremental(&self.state, changes, &crate::Limits::default())?;
        let version = work
            .version
            .ok_or_else(|| ControlError::Internal("staged zone has no version".into()))?;
        Ok(Staged {
            changes,
            serial: work.serial,
            version,
        })
    }

    /// Plans an edit list as `Control::apply` does for a primary zone (edits
    /// made canonical, serial advanced by the zone's policy at time `now`),
    /// without committing it; `None` when it changes nothing.
    pub fn stage_edits(&self, edits: Vec<Edit>, now: i64) -> Result<Option<Staged>, ControlError> {
        let edits: Vec<Edit> = edits.into_iter().map(canonical_edit).collect();
        let staged = crate::stage_edits(&self.state, &edits, None, now, &crate::Limits::default())?;
        Ok(staged.map(|s| Staged {
            serial: s.change.serial_to,
            changes: vec![s.change],
            version: s.next,
        }))
    }
}
