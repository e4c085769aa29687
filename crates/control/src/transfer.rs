//! What zone transfers out read from a store: a zone's `allow_transfer`
//! entries and the journal's changes between two serials (RFC 1995 IXFR).
//!
//! Both work on any [`Store`]: a control plane's, or an edge's local
//! snapshot (which holds the same zones, settings and journal).

use crate::{ControlError, ZoneSettings};
use zonecast_proto::Name;
use zonecast_store::{Change, Store, StoreError};

/// The zone's `allow_transfer` entries; `None` when the store has no such zone.
///
/// Unreadable settings are an error (the transfer is then refused).
pub fn transfer_acl_entries(
    store: &Store,
    zone: &Name,
) -> Result<Option<Vec<String>>, ControlError> {
    let Some(row) = store.zone(zone)? else {
        return Ok(None);
    };
    let settings = ZoneSettings::from_json(&row.settings).map_err(|e| ControlError::Invalid {
        index: None,
        field: "settings".into(),
        message: format!("zone {}: stored settings unreadable: {e}", row.name),
    })?;
    Ok(Some(settings.allow_transfer))
}

/// The journaled changes from serial `from` to serial `to`, oldest first.
///
/// `None` when the journal does not reach back to `from` (trimmed, or the
/// zone was replaced since) or does not pass through `to`; the store may
/// already be past `to` (a newer version not yet served), and what follows
/// `to` is left out.
pub fn journal_deltas(
    store: &Store,
    zone: &Name,
    from: u32,
    to: u32,
) -> Result<Option<Vec<Change>>, ControlError> {
    let entries = match store.journal_since(zone, from) {
        Ok(e) => e,
        Err(StoreError::JournalGap { .. }) | Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    let mut serial = from;
    for e in entries {
        if serial == to {
            break;
        }
        if e.change.serial_from != serial {
            return Ok(None);
        }
        serial = e.change.serial_to;
        out.push(e.change);
    }
    Ok((serial == to && !out.is_empty()).then_some(out))
}
