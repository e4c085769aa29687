//! [`Store`]: the type callers use, over either backend.

use crate::backend::Backend;
use crate::common::check_records;
use crate::pg::PgStore;
use crate::sqlite::SqliteStore;
use crate::{
    ApiKeyRow, BatchOp, Change, EdgeRow, JournalEntry, LeaderLock, ListenEvent, StoreError,
    TsigKeyRow, ZoneKind, ZoneRow,
};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use zonecast_proto::{Name, Record, Rtype};

/// The store: zones, records, the journal, keys and settings; `Send + Sync`.
///
/// Backends (see the crate docs): the embedded SQLite database of a data
/// directory ([`Store::open`], [`Store::open_in_memory`]) or a PostgreSQL
/// database ([`Store::open_url`], cluster mode). Both have one writer
/// connection behind a mutex, every write one transaction on it, and a small
/// pool of read connections, and both behave the same: the same checks, the
/// same errors, the same journal.
///
/// The PostgreSQL backend uses the synchronous `postgres` driver, which runs
/// a small runtime of its own per connection: call the store from ordinary
/// threads (or `tokio::task::spawn_blocking`), never from inside an async
/// task, where the driver panics.
pub struct Store {
    backend: Box<dyn Backend>,
}

impl Store {
    /// Opens (creating if needed) the SQLite store in `dir`, migrating its schema.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Box::new(SqliteStore::open(dir)?),
        })
    }

    /// Opens a fresh SQLite store that lives in memory only (for tests and tools).
    ///
    /// It has a single connection: reads go through the writer connection and
    /// wait while a write is in progress.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Ok(Store {
            backend: Box::new(SqliteStore::open_in_memory()?),
        })
    }

    /// Opens the PostgreSQL store at `url` (`postgres://` or `postgresql://`).
    ///
    /// Connects (5 s timeout unless the URL sets `connect_timeout`), applies
    /// the pending migrations in one transaction under an advisory lock (two
    /// control planes opening a new database at once don't collide), and
    /// creates the publications edges stream from if they are missing. A
    /// database already at the current version with its publications needs
    /// no DDL, so a role with read grants only (an edge) can open it too.
    ///
    /// Refused with [`StoreError::InvalidUrl`] for a URL of another scheme or
    /// one that does not parse, [`StoreError::Unreachable`] when the server
    /// can't be reached or refuses the login, [`StoreError::MissingGrants`]
    /// when the role may not create what is missing, and
    /// [`StoreError::SchemaTooNew`] for a database of a newer zonecast.
    pub fn open_url(url: &str) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Box::new(PgStore::open(url)?),
        })
    }

    /// Whether this is a cluster store (PostgreSQL).
    pub fn is_cluster(&self) -> bool {
        self.backend.is_cluster()
    }

    /// SQLite's `PRAGMA quick_check` over the whole database file: the
    /// problems it found (b-tree structure, page and record format,
    /// `NOT NULL`/`CHECK` constraints), empty when the file is sound. It does
    /// not see a flipped octet inside a record's payload; callers that must
    /// notice those keep checksums of their own (the edge's snapshot does).
    /// Always empty for PostgreSQL.
    pub fn quick_check(&self) -> Result<Vec<String>, StoreError> {
        self.backend.quick_check()
    }

    /// The schema version of the open database (each backend counts its own migrations).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        self.backend.schema_version()
    }

    /// All zones, ordered by name (octet order).
    pub fn zones(&self) -> Result<Vec<ZoneRow>, StoreError> {
        self.backend.zones()
    }

    /// The zone named `name` (any case), if stored.
    pub fn zone(&self, name: &Name) -> Result<Option<ZoneRow>, StoreError> {
        self.backend.zone(name)
    }

    /// All records of a zone in the order they were stored, owners in the case given.
    pub fn zone_records(&self, name: &Name) -> Result<Vec<Record>, StoreError> {
        Ok(self
            .zone_records_with_ids(name)?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// All records of a zone with their stable ids, in the order they were stored (ascending id).
    ///
    /// An id is never reused: a record removed and added again gets a new one.
    pub fn zone_records_with_ids(&self, name: &Name) -> Result<Vec<(i64, Record)>, StoreError> {
        self.records_matching(name, None, None)
    }

    /// Records of a zone with their ids, ascending id, optionally only those of
    /// one owner (case-insensitive) and/or one type; uses the (zone_id,
    /// owner_key, rtype, ...) unique index when an owner is given.
    ///
    /// Owners are in the case they were stored in. [`StoreError::NotFound`] for an absent zone.
    pub fn records_matching(
        &self,
        zone: &Name,
        owner: Option<&Name>,
        rtype: Option<Rtype>,
    ) -> Result<Vec<(i64, Record)>, StoreError> {
        self.backend.records_matching(zone, owner, rtype)
    }

    /// One record by its id, if it exists and belongs to `zone`.
    ///
    /// The owner is in the case it was stored in. [`StoreError::NotFound`] for an absent zone.
    pub fn record_by_id(&self, zone: &Name, id: i64) -> Result<Option<Record>, StoreError> {
        self.backend.record_by_id(zone, id)
    }

    /// The id of the record with this owner (case-insensitive), type, class and rdata, if stored.
    ///
    /// The TTL is not compared. [`StoreError::NotFound`] for an absent zone.
    pub fn record_id(&self, zone: &Name, record: &Record) -> Result<Option<i64>, StoreError> {
        self.backend.record_id(zone, record)
    }

    /// Streams every record of a zone, in storage (id) order, without building a list.
    /// `f` gets the owner as the lowercased wire name (`owner_key` column), type, TTL and rdata.
    /// Returns the number of records visited. An error from `f` stops the scan and is returned.
    ///
    /// The scan sees the zone as of one commit (one read transaction on
    /// SQLite, one statement on PostgreSQL). [`StoreError::NotFound`]
    /// (converted to `E`) for an absent zone. `f` must not call back into
    /// this store: an in-memory store reads through its writer connection,
    /// which the scan holds.
    pub fn scan_records<E: From<StoreError>>(
        &self,
        zone: &Name,
        mut f: impl FnMut(&[u8], Rtype, u32, &[u8]) -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut stopped: Option<E> = None;
        let result =
            self.backend
                .scan_records(zone, &mut |owner, rtype, ttl, rdata| match f(
                    owner, rtype, ttl, rdata,
                ) {
                    Ok(()) => true,
                    Err(e) => {
                        stopped = Some(e);
                        false
                    }
                });
        match (stopped, result) {
            (Some(e), _) => Err(e),
            (None, Ok(n)) => Ok(n),
            (None, Err(e)) => Err(e.into()),
        }
    }

    /// Replaces a zone's settings JSON and bumps its `updated_at`; the serial is not touched.
    ///
    /// Refused with [`StoreError::InvalidSettings`] unless `settings_json` is
    /// a JSON object, then [`StoreError::NotFound`] for an absent zone. The
    /// text is stored as given.
    pub fn set_zone_settings(&self, zone: &Name, settings_json: &str) -> Result<(), StoreError> {
        self.backend.set_zone_settings(zone, settings_json)
    }

    /// Stores a new zone with `records` in one transaction and journals its creation.
    ///
    /// The serial is the one of the apex SOA among `records` (0 without one).
    /// Refused with nothing stored: an existing zone ([`StoreError::AlreadyExists`]),
    /// the same record twice ([`StoreError::DuplicateRecord`]), malformed apex SOA
    /// rdata or rdata too long for the wire ([`StoreError::InvalidRecord`]).
    pub fn create_zone(
        &self,
        name: &Name,
        kind: ZoneKind,
        records: &[Record],
    ) -> Result<ZoneRow, StoreError> {
        self.create_zone_with_settings(name, kind, "{}", records)
    }

    /// [`Store::create_zone`] with the zone's settings JSON written in the same transaction.
    ///
    /// Refused with [`StoreError::InvalidSettings`] when `settings_json` is not a JSON object.
    pub fn create_zone_with_settings(
        &self,
        name: &Name,
        kind: ZoneKind,
        settings_json: &str,
        records: &[Record],
    ) -> Result<ZoneRow, StoreError> {
        self.backend.create_zone(name, kind, settings_json, records)
    }

    /// Applies one change in one transaction: removes `change.removed`, adds
    /// `change.added`, sets the serial to `change.serial_to` and journals it.
    ///
    /// The zone's row is locked for the transaction (on PostgreSQL `SELECT
    /// ... FOR UPDATE`), so writers of one zone, in this process or another
    /// control plane, are serialized, and one that prepared its change
    /// against an older serial gets [`StoreError::SerialMismatch`].
    ///
    /// Refused with nothing applied: [`StoreError::NotFound`] for an absent
    /// zone, [`StoreError::SerialMismatch`] when `change.serial_from` is not the
    /// stored serial, [`StoreError::MissingRecord`] when a removed record is
    /// absent (TTL not compared), [`StoreError::DuplicateRecord`]
    /// when an added record is present after the removals, [`StoreError::InvalidRecord`]
    /// for rdata too long for the wire.
    pub fn commit_change(&self, zone: &Name, change: &Change) -> Result<JournalEntry, StoreError> {
        self.commit_change_with_ids(zone, change)
            .map(|(entry, _)| entry)
    }

    /// [`Store::commit_change`], also returning the new record ids of `change.added`, in its order.
    ///
    /// The ids are those [`Store::zone_records_with_ids`] reports for these records.
    pub fn commit_change_with_ids(
        &self,
        zone: &Name,
        change: &Change,
    ) -> Result<(JournalEntry, Vec<i64>), StoreError> {
        let mut out = self.commit_changes(zone, std::slice::from_ref(change))?;
        out.pop().ok_or_else(|| {
            StoreError::Corrupt(format!(
                "committing a change to zone {zone} returned no journal entry"
            ))
        })
    }

    /// Commits several changes to one zone, in order, as one transaction
    /// (group commit): all of them or none.
    ///
    /// Each change keeps its own serials and journal entry, exactly as if
    /// committed one by one with [`Store::commit_change_with_ids`]; each
    /// `serial_from` must be the previous change's `serial_to` (the first
    /// the stored serial, else [`StoreError::SerialMismatch`]). The refusals
    /// are those of [`Store::commit_change`], for any change of the list.
    /// Returns per change its journal entry and the ids of its added records.
    /// Committing many small changes together costs one transaction
    /// (one WAL flush, one row lock) instead of one each.
    pub fn commit_changes(
        &self,
        zone: &Name,
        changes: &[Change],
    ) -> Result<Vec<(JournalEntry, Vec<i64>)>, StoreError> {
        for c in changes {
            check_records(zone, &c.removed)?;
            check_records(zone, &c.added)?;
        }
        for pair in changes.windows(2) {
            if pair[1].serial_from != pair[0].serial_to {
                return Err(StoreError::Unchained {
                    zone: zone.to_lowercase(),
                    serial_from: pair[1].serial_from,
                    previous: pair[0].serial_to,
                });
            }
        }
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let out = self.backend.commit_changes(zone, changes)?;
        for ((entry, _), c) in out.iter().zip(changes) {
            tracing::debug!(
                zone = %entry.zone,
                from = c.serial_from,
                to = c.serial_to,
                removed = c.removed.len(),
                added = c.added.len(),
                seq = entry.seq,
                "change committed"
            );
        }
        Ok(out)
    }

    /// The changes leading from `serial` to the zone's current serial, oldest first.
    ///
    /// Empty when `serial` is current. When several entries start from
    /// `serial` (the serial came back after wrapping), the latest one starts
    /// the chain, which gives the shortest one. [`StoreError::JournalGap`] when
    /// no entry starts at `serial` or the entries don't lead to the current serial.
    pub fn journal_since(&self, zone: &Name, serial: u32) -> Result<Vec<JournalEntry>, StoreError> {
        self.backend.journal_since(zone, serial)
    }

    /// Trims every zone's journal: entries beyond the newest `keep`, and
    /// entries committed before `cutoff_ms` (unix milliseconds), go; the
    /// newest entry of each zone always stays. Returns how many went.
    ///
    /// IXFR from a serial whose entries are gone falls back to a full
    /// zone (RFC 1995 §4), and a control plane that far behind reloads the
    /// zone; nothing else reads old entries. In cluster mode the deletions
    /// are not replicated (the journal publication carries inserts only):
    /// each edge trims its own local journal.
    pub fn trim_journal(&self, keep: u32, cutoff_ms: i64) -> Result<u64, StoreError> {
        let n = self
            .backend
            .trim_journal(i64::from(keep.max(1)), cutoff_ms)?;
        if n > 0 {
            tracing::debug!(removed = n, keep, cutoff_ms, "journal trimmed");
        }
        Ok(n)
    }

    /// Every journal entry of the zone, its creation included, oldest first.
    pub fn journal(&self, zone: &Name) -> Result<Vec<JournalEntry>, StoreError> {
        self.backend.journal(zone)
    }

    /// Deletes a zone with its records and journal; false when there was no such zone.
    pub fn delete_zone(&self, zone: &Name) -> Result<bool, StoreError> {
        self.backend.delete_zone(zone)
    }

    /// Records when a secondary zone expires (unix ms; `None`: no deadline)
    /// for the nodes that follow this store.
    ///
    /// Only a cluster store keeps it (`zones.expires_at`, replicated to the
    /// edges); on the embedded store it is a no-op, the one node holding
    /// the deadline itself. It is not a change: no serial, no journal, no
    /// `updated_at`. [`StoreError::NotFound`] for an absent zone.
    pub fn set_zone_expiry(&self, zone: &Name, at_ms: Option<i64>) -> Result<(), StoreError> {
        self.backend.set_zone_expiry(zone, at_ms)
    }

    /// Every zone with a recorded expiry ([`Store::set_zone_expiry`]), by name.
    pub fn zone_expiries(&self) -> Result<Vec<(Name, i64)>, StoreError> {
        self.backend.zone_expiries()
    }

    /// A node-wide setting.
    pub fn meta_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.backend.meta_get(key)
    }

    /// Sets a node-wide setting, replacing any previous value.
    pub fn meta_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.backend.meta_set(key, value)
    }

    /// Stores a new TSIG key; [`StoreError::KeyExists`] when the name is taken (ignoring case).
    pub fn create_tsig_key(&self, key: &TsigKeyRow) -> Result<(), StoreError> {
        self.backend.create_tsig_key(key)
    }

    /// All TSIG keys, ordered by name (ignoring case), secrets included.
    pub fn tsig_keys(&self) -> Result<Vec<TsigKeyRow>, StoreError> {
        self.backend.tsig_keys()
    }

    /// The TSIG key named `name` (ignoring case), if stored.
    pub fn tsig_key(&self, name: &str) -> Result<Option<TsigKeyRow>, StoreError> {
        self.backend.tsig_key(name)
    }

    /// Deletes a TSIG key; false when there was none.
    ///
    /// Refused with [`StoreError::KeyInUse`], naming the zones, while a zone's
    /// settings have `"tsig_key": name` or `"key:name"` in `"allow_transfer"`
    /// (names compared ignoring ASCII case and a trailing dot).
    pub fn delete_tsig_key(&self, name: &str) -> Result<bool, StoreError> {
        self.backend.delete_tsig_key(name)
    }

    /// Stores a new API key.
    ///
    /// Refused with [`StoreError::KeyExists`] when the name is taken (ignoring
    /// case), then [`StoreError::DuplicateToken`] when another key has the same hash.
    pub fn create_api_key(&self, key: &ApiKeyRow) -> Result<(), StoreError> {
        self.backend.create_api_key(key)
    }

    /// All API keys, ordered by name (ignoring case).
    pub fn api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError> {
        self.backend.api_keys()
    }

    /// The API key whose token hashes to `token_hash`, if any.
    pub fn api_key_by_hash(&self, token_hash: &[u8]) -> Result<Option<ApiKeyRow>, StoreError> {
        self.backend.api_key_by_hash(token_hash)
    }

    /// Deletes an API key (name ignoring case); false when there was none.
    pub fn delete_api_key(&self, name: &str) -> Result<bool, StoreError> {
        self.backend.delete_api_key(name)
    }

    /// Records a use of the API key at `at`; a key deleted meanwhile is silently ignored.
    pub fn touch_api_key(&self, name: &str, at: i64) -> Result<(), StoreError> {
        self.backend.touch_api_key(name, at)
    }

    /// Applies `ops` in order and upserts the `meta` pairs, all in ONE
    /// transaction: either everything is applied or, on the first refusal
    /// or failure, nothing (that error is returned).
    ///
    /// This is how an edge writes what it applied to its local snapshot
    /// together with its position (`replica.lsn` and such in `meta`). Zone
    /// creations, changes and replacements are journaled as the normal paths
    /// journal them, so an edge has an IXFR history too. See [`BatchOp`].
    pub fn apply_batch(
        &self,
        ops: &[BatchOp],
        meta: &[(String, String)],
    ) -> Result<(), StoreError> {
        self.backend.apply_batch(ops, meta)
    }

    /// Writes the heartbeat row (`id = 1`): now as `at_ms`, `interval_ms`
    /// and the writer's name; returns `at_ms`. The leader calls this every
    /// `interval_ms`; edges measure their lag from the replicated row.
    ///
    /// [`StoreError::NotCluster`] on SQLite.
    pub fn heartbeat(&self, writer: &str, interval_ms: u32) -> Result<i64, StoreError> {
        self.backend.heartbeat(writer, interval_ms)
    }

    /// Every edge's last reported status, ordered by name; empty on SQLite (no edges).
    pub fn edges(&self) -> Result<Vec<EdgeRow>, StoreError> {
        self.backend.edges()
    }

    /// Inserts or replaces an edge's status row (by name); edges call this
    /// about once a second. [`StoreError::NotCluster`] on SQLite.
    pub fn upsert_edge(&self, edge: &EdgeRow) -> Result<(), StoreError> {
        self.backend.upsert_edge(edge)
    }

    /// Sends a notification (`pg_notify(channel, payload)`, delivered when
    /// the statement commits), e.g. an edge relaying a DNS NOTIFY on
    /// [`crate::DNS_NOTIFY_CHANNEL`]. [`StoreError::NotCluster`] on SQLite.
    pub fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        crate::common::check_channel(channel)?;
        self.backend.notify(channel, payload)
    }

    /// Blocks, LISTENing on `channels` on a connection of its own, and calls
    /// `callback(channel, payload)` for each notification, until `stop` is
    /// set (checked at least every 250 ms).
    ///
    /// A lost connection is logged and made again with backoff (100 ms
    /// doubling to 10 s, with jitter); notifications sent meanwhile are lost
    /// (see [`Store::listen_with`] to learn when to resynchronize). Returns
    /// `Ok(())` once stopped; [`StoreError::InvalidChannel`] for a bad
    /// channel name, [`StoreError::NotCluster`] on SQLite.
    pub fn listen(
        &self,
        channels: &[&str],
        stop: &AtomicBool,
        mut callback: impl FnMut(&str, &str),
    ) -> Result<(), StoreError> {
        self.listen_with(channels, stop, |event| {
            if let ListenEvent::Notification { channel, payload } = event {
                callback(channel, payload);
            }
        })
    }

    /// [`Store::listen`], also telling the callback each time LISTEN is in
    /// place ([`ListenEvent::Listening`]: at first and after every reconnection).
    pub fn listen_with(
        &self,
        channels: &[&str],
        stop: &AtomicBool,
        mut on_event: impl FnMut(ListenEvent<'_>),
    ) -> Result<(), StoreError> {
        for c in channels {
            crate::common::check_channel(c)?;
        }
        self.backend.listen(channels, stop, &mut on_event)
    }

    /// Starts competing for leadership among the control planes of this
    /// database; see [`LeaderLock`]. On SQLite the lock is always held.
    pub fn leader_lock(&self) -> Result<LeaderLock, StoreError> {
        self.backend.leader_lock()
    }

    /// The SQLite backend, for its tests.
    #[cfg(test)]
    pub(crate) fn sqlite(&self) -> Option<&SqliteStore> {
        self.backend.as_any().downcast_ref()
    }

    /// For tests: runs SQL on the writer connection (panics on failure).
    #[cfg(test)]
    pub(crate) fn test_exec(&self, sql: &str) {
        self.backend.test_exec(sql)
    }

    /// For tests: the integer a query returns (panics on failure).
    #[cfg(test)]
    pub(crate) fn test_i64(&self, sql: &str) -> i64 {
        self.backend.test_i64(sql)
    }

    /// For tests: the first (text) column of every row of a query (panics on failure).
    #[cfg(test)]
    pub(crate) fn test_strings(&self, sql: &str) -> Vec<String> {
        self.backend.test_strings(sql)
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("cluster", &self.is_cluster())
            .finish()
    }
}
