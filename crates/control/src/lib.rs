//! The write path of a zonecast node: every change to a zone is validated as
//! a whole, given a new SOA serial, committed to the store as one transaction
//! with its journal entry, and then published as a new in-memory snapshot.
//!
//! Serials follow RFC 1982 arithmetic and never go backwards: a zone file
//! whose serial is newer than the stored one keeps it; otherwise the stored
//! serial is incremented (see docs/decisions/0004-zone-file-serials.md).
//!
//! Not implemented yet: per-zone serial policies (`date`, `unixtime`) and
//! partial changes (RRset edits) — they come with the REST API.

#![warn(missing_docs)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use zonecast_proto::{Name, Record, Rtype};
use zonecast_store::{Change, Store, StoreError, ZoneKind};
use zonecast_zone::{SharedZones, Zone, ZoneError, ZoneSet};
use zonecast_zonefile::ZoneFileError;

/// Errors of the write path, with the zone they concern.
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

/// The store plus the published snapshots; the one place zones are written.
pub struct Control {
    store: Store,
    zones: SharedZones,
    write_lock: Mutex<()>,
}

impl Control {
    /// Loads every stored zone into memory and returns the write path over `store`.
    ///
    /// A stored zone that no longer builds (it cannot happen through this
    /// API) is logged and left out rather than stopping the node.
    pub fn open(store: Store) -> Result<Control, ControlError> {
        let mut set = ZoneSet::new();
        for row in store.zones()? {
            let records = store.zone_records(&row.name)?;
            match Zone::build(&row.name, &records) {
                Ok(z) => set = set.with_zone(Arc::new(z)),
                Err(e) => tracing::error!(zone = %row.name, error = %e, "stored zone not loaded"),
            }
        }
        Ok(Control {
            store,
            zones: Arc::new(arc_swap::ArcSwap::from_pointee(set)),
            write_lock: Mutex::new(()),
        })
    }

    /// The snapshots the listeners answer from.
    pub fn zones(&self) -> SharedZones {
        self.zones.clone()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Loads a zone file (origin from `$ORIGIN` or the file name) and stores it if it differs.
    pub fn load_zone_file(&self, path: &Path) -> Result<(Name, LoadOutcome), ControlError> {
        let data = zonecast_zonefile::load_file(path, None)?;
        let outcome = self.replace_zone(&data.origin, data.records)?;
        Ok((data.origin, outcome))
    }

    /// Makes `records` (already validated) the whole content of the zone at `origin`.
    pub fn replace_zone(
        &self,
        origin: &Name,
        records: Vec<Record>,
    ) -> Result<LoadOutcome, ControlError> {
        let (records, warnings) = zonecast_zone::validate::normalize(records);
        for w in warnings {
            tracing::warn!(zone = %origin, "{w}");
        }
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let Some(row) = self.store.zone(origin)? else {
            let zone = Zone::build(origin, &records)?;
            let row = self
                .store
                .create_zone(origin, ZoneKind::Primary, &records)?;
            self.publish(zone);
            return Ok(LoadOutcome::Created { serial: row.serial });
        };
        let old = self.store.zone_records(origin)?;
        let (removed, added) = zonecast_store::diff(&old, &records);
        if removed.is_empty() && added.is_empty() {
            return Ok(LoadOutcome::Unchanged { serial: row.serial });
        }
        let file_serial = soa_serial(origin, &records).unwrap_or(0);
        let new_serial = next_serial(row.serial, file_serial);
        let records = if new_serial == file_serial {
            records
        } else {
            tracing::info!(zone = %origin, file_serial, new_serial, "zone content changed without a newer serial; serial incremented");
            with_serial(origin, records, new_serial)
        };
        let (removed, added) = zonecast_store::diff(&old, &records);
        let zone = Zone::build(origin, &records)?;
        let change = Change {
            serial_from: row.serial,
            serial_to: new_serial,
            removed,
            added,
        };
        self.store.commit_change(origin, &change)?;
        self.publish(zone);
        Ok(LoadOutcome::Updated {
            from: row.serial,
            to: new_serial,
        })
    }

    fn publish(&self, zone: Zone) {
        let current = self.zones.load();
        self.zones
            .store(Arc::new(current.with_zone(Arc::new(zone))));
    }
}

/// RFC 1982 §3.2: true when `a` is newer than `b`.
pub fn serial_gt(a: u32, b: u32) -> bool {
    a != b && (a.wrapping_sub(b) as i32) > 0
}

/// The serial to store after `current`: `candidate` when it is newer, else `current + 1` (wrapping).
pub fn next_serial(current: u32, candidate: u32) -> u32 {
    if serial_gt(candidate, current) {
        candidate
    } else {
        current.wrapping_add(1)
    }
}

/// The serial of the apex SOA among `records`.
pub fn soa_serial(origin: &Name, records: &[Record]) -> Option<u32> {
    let soa = records
        .iter()
        .find(|r| r.rtype == Rtype::SOA && r.owner == *origin)?;
    let at = soa_serial_offset(&soa.rdata)?;
    let b = soa.rdata.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
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
mod tests {
    use super::*;

    #[test]
    fn serial_arithmetic() {
        assert!(serial_gt(2, 1));
        assert!(!serial_gt(1, 2));
        assert!(serial_gt(0, u32::MAX));
        assert!(!serial_gt(5, 5));
        assert_eq!(next_serial(10, 20), 20);
        assert_eq!(next_serial(10, 5), 11);
        assert_eq!(next_serial(10, 10), 11);
        assert_eq!(next_serial(u32::MAX, 3), 3);
        assert_eq!(next_serial(u32::MAX, u32::MAX), 0);
    }

    fn write(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 5 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n";

    #[test]
    fn reload_same_is_noop_changed_is_change() {
        let dir = tempfile::tempdir().unwrap();
        let control = Control::open(Store::open(dir.path()).unwrap()).unwrap();
        let f = write(dir.path(), "example.com.zone", ZONE);
        let (origin, o) = control.load_zone_file(&f).unwrap();
        assert_eq!(o, LoadOutcome::Created { serial: 5 });
        assert_eq!(
            control.load_zone_file(&f).unwrap().1,
            LoadOutcome::Unchanged { serial: 5 }
        );
        // Changed content, same serial: the serial is bumped and journaled.
        write(
            dir.path(),
            "example.com.zone",
            &ZONE.replace("192.0.2.2", "192.0.2.3"),
        );
        assert_eq!(
            control.load_zone_file(&f).unwrap().1,
            LoadOutcome::Updated { from: 5, to: 6 }
        );
        let journal = control.store().journal(&origin).unwrap();
        let last = journal.last().unwrap();
        assert_eq!((last.change.serial_from, last.change.serial_to), (5, 6));
        assert_eq!(last.change.removed.len(), 2, "old SOA and old A");
        assert_eq!(last.change.added.len(), 2, "new SOA and new A");
        assert_eq!(control.zones().load().get(&origin).unwrap().serial(), 6);
        // A newer serial in the file is kept.
        write(
            dir.path(),
            "example.com.zone",
            &ZONE.replace(" 5 3600", " 100 3600"),
        );
        assert_eq!(
            control.load_zone_file(&f).unwrap().1,
            LoadOutcome::Updated { from: 6, to: 100 }
        );
        // Reopening serves the stored zone.
        drop(control);
        let control = Control::open(Store::open(dir.path()).unwrap()).unwrap();
        assert_eq!(control.zones().load().get(&origin).unwrap().serial(), 100);
    }

    #[test]
    fn rejected_file_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let control = Control::open(Store::open(dir.path()).unwrap()).unwrap();
        let f = write(dir.path(), "example.com.zone", ZONE);
        let (origin, _) = control.load_zone_file(&f).unwrap();
        write(
            dir.path(),
            "example.com.zone",
            &format!("{ZONE}www CNAME elsewhere.example.\n"),
        );
        let err = control.load_zone_file(&f).unwrap_err().to_string();
        assert!(err.contains("example.com.zone:7"), "{err}");
        assert_eq!(control.store().zone(&origin).unwrap().unwrap().serial, 5);
        assert_eq!(control.store().journal(&origin).unwrap().len(), 1);
        assert_eq!(control.zones().load().get(&origin).unwrap().serial(), 5);
    }
}
