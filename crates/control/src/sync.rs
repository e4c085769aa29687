//! Catching up with changes other control planes made to the same store.
//!
//! Several control planes may share one PostgreSQL store (docs/cluster.md).
//! Each keeps its zones in memory, so a zone another one changed is stale
//! here until this node catches up. Two things bring it up to date:
//!
//! - A write planned on a stale version is refused by the store (the zone's
//!   serial is no longer the change's `serial_from`; the zone row lock
//!   serialises writers across control planes). [`Control::retrying`] then
//!   catches the zone up and plans the write again, so nothing is lost and
//!   the serial rises once per change.
//! - The store announces every change (`zonecast_change` notifications on
//!   PostgreSQL); the binary calls [`Control::sync_zone`] for each, and
//!   [`Control::sync_all`] after (re)connecting, so reads and DNS answers of
//!   this node follow within milliseconds.
//!
//! Catching up applies the journal entries since the zone's serial to its
//! version ([`Zone::apply`]), which costs what changed; when the journal
//! does not chain (the zone was replaced or re-created), the zone is
//! reloaded from the store.

use crate::state::ZoneState;
use crate::{lock, Control, ControlError};
use std::sync::Arc;
use zonecast_proto::Name;
use zonecast_store::ZoneRow;
use zonecast_zone::Zone;

/// How many times a write planned on a stale version is planned again.
const STALE_RETRIES: u32 = 50;
/// The longest pause before planning again.
const STALE_BACKOFF_MAX_MS: u64 = 20;

impl Control {
    /// Runs `op` (which locks the zone itself), catching the zone up and
    /// running it again when the store refuses it as planned on a stale version.
    pub(crate) fn retrying<T>(
        &self,
        zone: &Name,
        mut op: impl FnMut() -> Result<T, ControlError>,
    ) -> Result<T, ControlError> {
        let mut attempts = 0;
        loop {
            match op() {
                Err(ControlError::Stale { .. }) if attempts < STALE_RETRIES => {
                    attempts += 1;
                    tracing::debug!(%zone, attempts, "zone changed on another control plane; catching up");
                    // After the first conflict, a random pause: two control planes
                    // writing one zone back to back would otherwise keep colliding.
                    if attempts > 1 {
                        let cap = (1u64 << attempts.min(5)).min(STALE_BACKOFF_MAX_MS);
                        let ms = rand::random::<u64>() % (cap + 1);
                        std::thread::sleep(std::time::Duration::from_millis(ms));
                    }
                    self.sync_zone(zone)?;
                }
                other => return other,
            }
        }
    }

    /// [`Control::sync_zone`] for a notice that the zone reached `serial`:
    /// nothing is read when this node holds the zone at that serial or a
    /// newer one (its own commits come back as such notices).
    pub fn sync_zone_to(&self, zone: &Name, serial: Option<u32>) -> Result<(), ControlError> {
        if let Some(serial) = serial {
            let held = self
                .state
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(&zone.to_lowercase())
                .cloned();
            if let Some(cell) = held {
                let z = lock(&cell);
                if !z.deleted && !crate::serial_gt(serial, z.serial) {
                    return Ok(());
                }
            }
        }
        self.sync_zone(zone)
    }

    /// Brings one zone's memory state (and what this node serves) up to the store.
    ///
    /// A zone the store no longer has is withdrawn; one this node did not
    /// know is loaded; one at another serial catches up by the journal.
    pub fn sync_zone(&self, zone: &Name) -> Result<(), ControlError> {
        let apex = zone.to_lowercase();
        let row = self.store.zone(&apex)?;
        let mut map = self.state.write().unwrap_or_else(|p| p.into_inner());
        let known = map.get(&apex).cloned();
        match (row, known) {
            (None, None) => Ok(()),
            (None, Some(h)) => {
                let mut z = lock(&h);
                z.deleted = true;
                self.zones.withdraw(&apex);
                map.remove(&apex);
                tracing::info!(zone = %apex, "zone deleted on another control plane");
                Ok(())
            }
            (Some(row), None) => {
                let z = self.state_from_row(row);
                self.publish(&z);
                tracing::info!(zone = %apex, serial = z.serial, "zone created on another control plane");
                map.insert(apex, crate::combine::ZoneCell::new(z));
                Ok(())
            }
            (Some(row), Some(h)) => {
                drop(map);
                let mut z = lock(&h);
                if z.deleted {
                    return Ok(());
                }
                self.catch_up(&mut z, row)
            }
        }
    }

    /// Syncs every zone: those of the store and those this node holds.
    pub fn sync_all(&self) -> Result<(), ControlError> {
        let mut names: Vec<Name> = self.store.zones()?.into_iter().map(|r| r.name).collect();
        names.extend(
            self.state
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .keys()
                .cloned(),
        );
        names.sort();
        names.dedup();
        for name in names {
            self.sync_zone(&name)?;
        }
        Ok(())
    }

    /// Catches a held zone up with its stored row, under the zone's lock.
    fn catch_up(&self, z: &mut ZoneState, row: ZoneRow) -> Result<(), ControlError> {
        if row.id != z.store_id {
            *z = self.state_from_row(row);
            self.publish(z);
            tracing::info!(zone = %z.apex, serial = z.serial, "zone re-created on another control plane; reloaded");
            return Ok(());
        }
        if let Ok(settings) = crate::ZoneSettings::from_json(&row.settings) {
            z.settings = settings;
        }
        z.kind = row.kind;
        z.updated_at = z.updated_at.max(row.updated_at);
        // The row may have been read before a commit of this node that has
        // since updated `z`: only a newer stored serial means a change here
        // is missing (serials never go backwards; RFC 1982 comparison).
        if !crate::serial_gt(row.serial, z.serial) {
            return Ok(());
        }
        let from = z.serial;
        match self.journal_version(z) {
            Some((version, serial)) => {
                z.version = Some(Arc::new(version));
                z.serial = serial;
            }
            None => {
                tracing::info!(zone = %z.apex, from, to = row.serial, "journal does not lead to the stored serial; zone reloaded from the store");
                let fresh = self.state_from_row(row);
                z.version = fresh.version;
                z.serial = fresh.serial;
            }
        }
        self.publish(z);
        tracing::debug!(zone = %z.apex, from, to = z.serial, "caught up with the store");
        Ok(())
    }

    /// The zone's version with the journal entries since its serial applied,
    /// and the serial reached; `None` when the journal does not lead there.
    fn journal_version(&self, z: &ZoneState) -> Option<(Zone, u32)> {
        let entries = self.store.journal_since(&z.apex, z.serial).ok()?;
        let mut version: Option<Zone> = None;
        let mut serial = z.serial;
        for e in &entries {
            let base = version.as_ref().or(z.version.as_deref())?;
            version = Some(base.apply(&e.change.removed, &e.change.added).ok()?);
            serial = e.change.serial_to;
        }
        version.map(|v| (v, serial))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Edit, ZoneSettings};
    use zonecast_proto::Rtype;
    use zonecast_store::{Store, ZoneKind};

    /// Regression: a store row read before this node's own later commit
    /// (the LISTEN thread races the writer) made `catch_up` reload the whole
    /// zone from the store (0.5–1 s per write on a 100k-name zone). A row
    /// that is not newer than the held serial changes nothing now.
    #[test]
    fn a_row_older_than_the_held_version_reloads_nothing() {
        let c = Control::open(Store::open_in_memory().unwrap()).unwrap();
        let apex = Name::from_presentation("example.com.", None).unwrap();
        let text = "$TTL 300\n@ SOA ns1 host 1 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n";
        let records = zonecast_zonefile::load_str(text, &apex, "t")
            .unwrap()
            .records;
        c.create_zone(
            &apex,
            ZoneKind::Primary,
            ZoneSettings::default(),
            Some(records),
        )
        .unwrap();
        let stale = c.store.zone(&apex).unwrap().unwrap();
        let edit = Edit::ReplaceRrset {
            owner: Name::from_presentation("www.example.com.", None).unwrap(),
            rtype: Rtype::A,
            ttl: 60,
            rdatas: vec![vec![192, 0, 2, 7]],
        };
        c.apply(&apex, vec![edit], None).unwrap();
        let h = c.handle(&apex).unwrap();
        let mut z = lock(&h);
        let before = z.version.clone().unwrap();
        let serial = z.serial;
        c.catch_up(&mut z, stale).unwrap();
        assert_eq!(z.serial, serial);
        assert!(
            Arc::ptr_eq(&before, z.version.as_ref().unwrap()),
            "zone was reloaded"
        );
    }
}
