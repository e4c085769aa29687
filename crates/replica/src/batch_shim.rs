//! TEMPORARY stand-in for `zonecast_store::BatchOp` / `Store::apply_batch`
//! until the store branch lands: the same shape, applied step by step (not
//! atomically). Removed at the merge.

use zonecast_proto::{Name, Record, Rtype};
use zonecast_store::{Change, Store, StoreError, TsigKeyRow, ZoneKind};

/// See `zonecast_store::BatchOp`.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchOp {
    /// Creates a zone.
    CreateZone {
        /// Apex.
        name: Name,
        /// Kind.
        kind: ZoneKind,
        /// Settings.
        settings: String,
        /// Creation time.
        created_at: i64,
        /// Records.
        records: Vec<Record>,
    },
    /// A change.
    Change {
        /// Zone.
        zone: Name,
        /// Change.
        change: Change,
    },
    /// Deletes a zone.
    DeleteZone {
        /// Zone.
        zone: Name,
    },
    /// Settings.
    Settings {
        /// Zone.
        zone: Name,
        /// Settings.
        settings: String,
    },
    /// Whole content.
    ReplaceZone {
        /// Zone.
        zone: Name,
        /// Kind.
        kind: ZoneKind,
        /// Settings.
        settings: String,
        /// Serial.
        serial: u32,
        /// Records.
        records: Vec<Record>,
    },
    /// Put a key.
    PutTsigKey(TsigKeyRow),
    /// Delete a key.
    DeleteTsigKey(String),
}

/// `Store::apply_batch` stand-in.
pub trait ApplyBatch {
    /// Applies the ops (not atomically) and the meta pairs.
    fn apply_batch(&self, ops: &[BatchOp], meta: &[(String, String)]) -> Result<(), StoreError>;
}

impl ApplyBatch for Store {
    fn apply_batch(&self, ops: &[BatchOp], meta: &[(String, String)]) -> Result<(), StoreError> {
        for op in ops {
            match op {
                BatchOp::CreateZone {
                    name,
                    kind,
                    settings,
                    records,
                    ..
                } => {
                    self.create_zone_with_settings(name, *kind, settings, records)?;
                }
                BatchOp::Change { zone, change } => {
                    self.commit_change(zone, change)?;
                }
                BatchOp::DeleteZone { zone } => {
                    self.delete_zone(zone)?;
                }
                BatchOp::Settings { zone, settings } => self.set_zone_settings(zone, settings)?,
                BatchOp::ReplaceZone {
                    zone,
                    kind,
                    settings,
                    records,
                    ..
                } => {
                    self.delete_zone(zone)?;
                    let _ = records.iter().any(|r| r.rtype == Rtype::SOA);
                    self.create_zone_with_settings(zone, *kind, settings, records)?;
                }
                BatchOp::PutTsigKey(k) => {
                    self.delete_tsig_key(&k.name).ok();
                    self.create_tsig_key(k)?;
                }
                BatchOp::DeleteTsigKey(name) => {
                    self.delete_tsig_key(name).ok();
                }
            }
        }
        for (k, v) in meta {
            self.meta_set(k, v)?;
        }
        Ok(())
    }
}
