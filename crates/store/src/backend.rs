//! The interface both storage backends implement; [`crate::Store`] wraps one.

use crate::{
    ApiKeyRow, BatchOp, Change, EdgeRow, JournalEntry, LeaderLock, ListenEvent, StoreError,
    TsigKeyRow, ZoneKind, ZoneRow,
};
use std::sync::atomic::AtomicBool;
use zonecast_proto::{Name, Record, Rtype};

/// The callback of [`Backend::scan_records`]: owner key, type, TTL, rdata; `false` stops the scan.
pub(crate) type ScanFn<'a> = dyn FnMut(&[u8], Rtype, u32, &[u8]) -> bool + 'a;

/// A storage backend. Object safe; each method has the semantics of the
/// [`crate::Store`] method of the same name (validation shared in `common`).
pub(crate) trait Backend: Send + Sync {
    fn is_cluster(&self) -> bool;
    /// See [`crate::Store::quick_check`]; nothing to check by default (PostgreSQL checks its own pages).
    fn quick_check(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
    fn schema_version(&self) -> Result<u32, StoreError>;
    fn zones(&self) -> Result<Vec<ZoneRow>, StoreError>;
    fn zone(&self, name: &Name) -> Result<Option<ZoneRow>, StoreError>;
    fn records_matching(
        &self,
        zone: &Name,
        owner: Option<&Name>,
        rtype: Option<Rtype>,
    ) -> Result<Vec<(i64, Record)>, StoreError>;
    fn record_by_id(&self, zone: &Name, id: i64) -> Result<Option<Record>, StoreError>;
    fn record_id(&self, zone: &Name, record: &Record) -> Result<Option<i64>, StoreError>;
    fn scan_records(&self, zone: &Name, f: &mut ScanFn<'_>) -> Result<u64, StoreError>;
    fn set_zone_settings(&self, zone: &Name, settings_json: &str) -> Result<(), StoreError>;
    fn create_zone(
        &self,
        name: &Name,
        kind: ZoneKind,
        settings_json: &str,
        records: &[Record],
    ) -> Result<ZoneRow, StoreError>;
    /// Commits `changes` (checked by the caller, each `serial_from` the
    /// previous `serial_to`) in one transaction; per change its entry and new ids.
    fn commit_changes(
        &self,
        zone: &Name,
        changes: &[Change],
    ) -> Result<Vec<(JournalEntry, Vec<i64>)>, StoreError>;
    fn journal_since(&self, zone: &Name, serial: u32) -> Result<Vec<JournalEntry>, StoreError>;
    fn journal(&self, zone: &Name) -> Result<Vec<JournalEntry>, StoreError>;
    /// See [`crate::Store::trim_journal`] (`keep` at least 1); rows removed.
    fn trim_journal(&self, keep: i64, cutoff_ms: i64) -> Result<u64, StoreError>;
    fn delete_zone(&self, zone: &Name) -> Result<bool, StoreError>;
    /// See [`crate::Store::set_zone_expiry`]; nothing follows a single-node store.
    fn set_zone_expiry(&self, _zone: &Name, _at_ms: Option<i64>) -> Result<(), StoreError> {
        Ok(())
    }
    /// See [`crate::Store::zone_expiries`]; none in a single-node store.
    fn zone_expiries(&self) -> Result<Vec<(Name, i64)>, StoreError> {
        Ok(Vec::new())
    }
    fn meta_get(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn meta_set(&self, key: &str, value: &str) -> Result<(), StoreError>;

    fn create_tsig_key(&self, key: &TsigKeyRow) -> Result<(), StoreError>;
    fn tsig_keys(&self) -> Result<Vec<TsigKeyRow>, StoreError>;
    fn tsig_key(&self, name: &str) -> Result<Option<TsigKeyRow>, StoreError>;
    fn delete_tsig_key(&self, name: &str) -> Result<bool, StoreError>;
    fn create_api_key(&self, key: &ApiKeyRow) -> Result<(), StoreError>;
    fn api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError>;
    fn api_key_by_hash(&self, token_hash: &[u8]) -> Result<Option<ApiKeyRow>, StoreError>;
    fn delete_api_key(&self, name: &str) -> Result<bool, StoreError>;
    fn touch_api_key(&self, name: &str, at: i64) -> Result<(), StoreError>;

    fn apply_batch(&self, ops: &[BatchOp], meta: &[(String, String)]) -> Result<(), StoreError>;

    fn heartbeat(&self, writer: &str, interval_ms: u32) -> Result<i64, StoreError>;
    fn edges(&self) -> Result<Vec<EdgeRow>, StoreError>;
    fn upsert_edge(&self, edge: &EdgeRow) -> Result<(), StoreError>;
    fn listen(
        &self,
        channels: &[&str],
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(ListenEvent<'_>),
    ) -> Result<(), StoreError>;
    fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError>;
    fn leader_lock(&self) -> Result<LeaderLock, StoreError>;

    /// For tests: the backend as `Any`, to reach backend-specific internals.
    #[cfg(test)]
    fn as_any(&self) -> &dyn std::any::Any;
    /// For tests: runs SQL statements on the writer connection.
    #[cfg(test)]
    fn test_exec(&self, sql: &str);
    /// For tests: the single integer a query returns.
    #[cfg(test)]
    fn test_i64(&self, sql: &str) -> i64;
    /// For tests: the first (text) column of every row a query returns.
    #[cfg(test)]
    fn test_strings(&self, sql: &str) -> Vec<String>;
}
