//! What both backends share: checks made before touching the database, row
//! decoding, and the errors they build, so that both refuse the same input
//! with the same error.

use crate::wire::{decode_records, soa_serial, MAX_RDATA_LEN};
use crate::{Change, JournalEntry, StoreError, ZoneKind, ZoneRow};
use std::time::{SystemTime, UNIX_EPOCH};
use zonecast_proto::name::lowercase_wire;
use zonecast_proto::rdata::format_presentation;
use zonecast_proto::{Name, Record, Rtype};

/// Now, in unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The lowercased wire form of `name`, as in the `owner_key` column.
pub(crate) fn owner_key(name: &Name) -> Vec<u8> {
    let mut key = name.as_wire().to_vec();
    lowercase_wire(&mut key);
    key
}

/// A record's identity: owner key, type, class, rdata (the TTL is not part of it).
pub(crate) type Identity = (Vec<u8>, u16, u16, Vec<u8>);

/// The identity of `r`.
pub(crate) fn identity(r: &Record) -> Identity {
    (owner_key(&r.owner), r.rtype.0, r.class.0, r.rdata.to_vec())
}

pub(crate) fn not_found(zone: &Name) -> StoreError {
    StoreError::NotFound {
        zone: zone.to_lowercase(),
    }
}

pub(crate) fn duplicate(zone: &Name, r: &Record) -> StoreError {
    StoreError::DuplicateRecord {
        zone: zone.clone(),
        owner: r.owner.clone(),
        rtype: r.rtype,
        rdata: format_presentation(r.rtype, &r.rdata),
    }
}

pub(crate) fn missing(zone: &Name, r: &Record) -> StoreError {
    StoreError::MissingRecord {
        zone: zone.clone(),
        owner: r.owner.clone(),
        rtype: r.rtype,
        rdata: format_presentation(r.rtype, &r.rdata),
    }
}

pub(crate) fn serial_mismatch(row: &ZoneRow, change: &Change) -> StoreError {
    StoreError::SerialMismatch {
        zone: row.name.clone(),
        expected: change.serial_from,
        found: row.serial,
    }
}

/// Refuses records the journal's wire format can't hold.
pub(crate) fn check_records(zone: &Name, records: &[Record]) -> Result<(), StoreError> {
    match records.iter().find(|r| r.rdata.len() > MAX_RDATA_LEN) {
        Some(r) => Err(StoreError::InvalidRecord {
            zone: zone.to_lowercase(),
            owner: r.owner.clone(),
            rtype: r.rtype,
            reason: format!("rdata of {} octets is longer than 65535", r.rdata.len()),
        }),
        None => Ok(()),
    }
}

/// The first record of `records` whose identity an earlier one already has.
pub(crate) fn first_duplicate(records: &[Record]) -> Option<&Record> {
    let mut seen = std::collections::HashSet::with_capacity(records.len());
    records.iter().find(|r| !seen.insert(identity(r)))
}

/// The checks of a zone creation: settings a JSON object, records storable;
/// returns the serial (the apex SOA's, 0 without one).
pub(crate) fn check_create(
    name: &Name,
    settings_json: &str,
    records: &[Record],
) -> Result<u32, StoreError> {
    let zone_name = name.to_lowercase();
    if !matches!(
        serde_json::from_str::<serde_json::Value>(settings_json),
        Ok(serde_json::Value::Object(_))
    ) {
        return Err(StoreError::InvalidSettings {
            zone: zone_name,
            reason: "settings must be a JSON object".into(),
        });
    }
    check_records(name, records)?;
    match records
        .iter()
        .find(|r| r.rtype == Rtype::SOA && r.owner == *name)
    {
        Some(soa) => soa_serial(&soa.rdata).ok_or_else(|| StoreError::InvalidRecord {
            zone: zone_name,
            owner: soa.owner.clone(),
            rtype: Rtype::SOA,
            reason: "malformed SOA rdata".into(),
        }),
        None => Ok(0),
    }
}

/// The check of a settings update: a JSON object, else [`StoreError::InvalidSettings`].
pub(crate) fn check_settings(zone: &Name, settings_json: &str) -> Result<(), StoreError> {
    let reason = match serde_json::from_str::<serde_json::Value>(settings_json) {
        Ok(serde_json::Value::Object(_)) => return Ok(()),
        Ok(other) => format!("expected a JSON object, got {}", json_type(&other)),
        Err(_) => "not valid JSON".to_string(),
    };
    Err(StoreError::InvalidSettings {
        zone: zone.to_lowercase(),
        reason,
    })
}

/// The name SQLite's `json_type` gives a value.
fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(true) => "true",
        serde_json::Value::Bool(false) => "false",
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        serde_json::Value::Number(_) => "real",
        serde_json::Value::String(_) => "text",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Whether zone settings refer to TSIG key `wanted` (lowercase, no trailing dot):
/// `"tsig_key": name` or `"key:name"` in `"allow_transfer"`, ignoring ASCII case and a trailing dot.
pub(crate) fn settings_use_key(settings_json: &str, wanted: &str) -> bool {
    let Ok(serde_json::Value::Object(map)) =
        serde_json::from_str::<serde_json::Value>(settings_json)
    else {
        return false;
    };
    let norm = |s: &str| s.to_ascii_lowercase().trim_end_matches('.').to_string();
    if let Some(serde_json::Value::String(k)) = map.get("tsig_key") {
        if norm(k) == wanted {
            return true;
        }
    }
    if let Some(serde_json::Value::Array(list)) = map.get("allow_transfer") {
        let target = format!("key:{wanted}");
        return list
            .iter()
            .any(|e| matches!(e, serde_json::Value::String(s) if norm(s) == target));
    }
    false
}

/// A zone row as read, before its text columns are checked.
pub(crate) struct RawZone {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) serial: i64,
    pub(crate) settings: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

impl RawZone {
    pub(crate) fn check(self) -> Result<ZoneRow, StoreError> {
        let name = self
            .name
            .parse::<Name>()
            .map_err(|e| StoreError::Corrupt(format!("stored zone name '{}': {e}", self.name)))?;
        let kind: ZoneKind = self
            .kind
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("zone {name}: {e}")))?;
        let serial = u32::try_from(self.serial)
            .map_err(|_| StoreError::Corrupt(format!("zone {name}: serial {}", self.serial)))?;
        Ok(ZoneRow {
            id: self.id,
            name,
            kind,
            serial,
            settings: self.settings,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A journal row as read, blobs not yet decoded.
pub(crate) struct RawEntry {
    pub(crate) seq: i64,
    pub(crate) serial_from: i64,
    pub(crate) serial_to: i64,
    pub(crate) committed_at: i64,
    pub(crate) removed: Vec<u8>,
    pub(crate) added: Vec<u8>,
}

impl RawEntry {
    pub(crate) fn decode(self, zone: &Name) -> Result<JournalEntry, StoreError> {
        let blob = |buf: &[u8], which: &str| {
            decode_records(buf).map_err(|e| {
                StoreError::Corrupt(format!(
                    "zone {zone}: journal entry {} ({which}): {e}",
                    self.seq
                ))
            })
        };
        let serial = |v: i64| {
            u32::try_from(v).map_err(|_| {
                StoreError::Corrupt(format!(
                    "zone {zone}: journal entry {}: serial {v}",
                    self.seq
                ))
            })
        };
        let removed = blob(&self.removed, "removed")?;
        let added = blob(&self.added, "added")?;
        Ok(JournalEntry {
            seq: self.seq,
            zone: zone.clone(),
            change: Change {
                serial_from: serial(self.serial_from)?,
                serial_to: serial(self.serial_to)?,
                removed,
                added,
            },
            committed_at: self.committed_at,
        })
    }
}

/// Checks a journal chain read from `serial` (entries from the latest one
/// starting at `serial`, in seq order) and decodes it.
pub(crate) fn journal_chain(
    row: &ZoneRow,
    serial: u32,
    raws: Vec<RawEntry>,
) -> Result<Vec<JournalEntry>, StoreError> {
    let gap = || StoreError::JournalGap {
        zone: row.name.clone(),
        from: serial,
        current: row.serial,
    };
    let mut at = i64::from(serial);
    for raw in &raws {
        if raw.serial_from != at {
            return Err(gap());
        }
        at = raw.serial_to;
    }
    if at != i64::from(row.serial) {
        return Err(gap());
    }
    raws.into_iter().map(|raw| raw.decode(&row.name)).collect()
}

/// Validates a LISTEN channel name: lowercase letters, digits and `_`, at most 63 octets.
pub(crate) fn check_channel(channel: &str) -> Result<(), StoreError> {
    let ok = !channel.is_empty()
        && channel.len() <= 63
        && channel
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidChannel(channel.to_string()))
    }
}

/// Deletes journal rows beyond the newest `$1` per zone or committed
/// before `$2`, never the newest of a zone (SQLite and PostgreSQL alike).
pub(crate) const TRIM_JOURNAL_SQL: &str = "DELETE FROM journal WHERE seq IN (
    SELECT seq FROM (
        SELECT seq, committed_at,
               ROW_NUMBER() OVER (PARTITION BY zone_id ORDER BY seq DESC) AS rn
        FROM journal) t
    WHERE rn > 1 AND (rn > $1 OR committed_at < $2))";
