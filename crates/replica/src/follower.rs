//! The follower: local snapshot at start, then replication sessions with
//! reconnects, initial sync and resyncs.

use crate::error::{sql, ReplicaError};
use crate::expiry::ExpiryGate;
use crate::local::{self, BatchOp, TsigKeyRow, META_FULL_RESYNC};
use crate::pgoutput::{self, Lsn, Message};
use crate::pgsql::{self, Notifier};
use crate::rows::{Catalog, RowEvent};
use crate::state::{self, CopiedZone, Outcome, ZoneEntry, ZoneTable};
use crate::status::{now_ms, record_apply, Heartbeat, StatusHandle};
use pg_walstream::{
    CancellationToken, LogicalReplicationStream, ReplicationError, ReplicationSlotOptions,
    ReplicationStreamConfig, RetryConfig, StreamingMode,
};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_postgres::Client;
use zonecast_proto::{Class, Name, Record, Rtype};
use zonecast_store::{Store, ZoneKind};
use zonecast_zone::{Limits, SharedZones, Zone, Zones};

/// The publications an edge streams (created by the control plane).
pub const PUBLICATIONS: [&str; 2] = ["zonecast", "zonecast_journal"];

/// How an edge follows the primary.
#[derive(Clone, Debug)]
pub struct FollowerConfig {
    /// The PostgreSQL URL (`postgres://user@host/db`), as given to `--database`.
    pub database_url: String,
    /// The edge's `--name`; the slot is `zonecast_edge_<name>` (see [`slot_name`]).
    pub name: String,
    /// Where the local snapshot lives (`--data-dir`).
    pub data_dir: PathBuf,
    /// Readiness threshold: not ready while the lag is above it (ms).
    pub max_lag_ms: i64,
    /// First reconnect delay; doubles up to `backoff_max` (with jitter).
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// How often the `edges` row is written.
    pub status_interval: Duration,
    /// How often an idle stream confirms the server's position.
    pub idle_feedback: Duration,
    /// The addresses the edge answers DNS on (`--dns-listen`), reported in its `edges` row.
    pub dns_listen: Vec<String>,
    /// Size limits (`--max-zone-records`, `--max-rrset-records`, `--max-zones`):
    /// what would cross them is not applied, the zone stays as held (see [`crate::state`]).
    pub limits: Limits,
}

impl FollowerConfig {
    /// The defaults: lag threshold 5000 ms, backoff 100 ms to 10 s, status every second.
    pub fn new(
        database_url: impl Into<String>,
        name: impl Into<String>,
        data_dir: impl Into<PathBuf>,
    ) -> FollowerConfig {
        FollowerConfig {
            database_url: database_url.into(),
            name: name.into(),
            data_dir: data_dir.into(),
            max_lag_ms: 5000,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            status_interval: Duration::from_secs(1),
            idle_feedback: Duration::from_millis(500),
            dns_listen: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// The slot name for an edge name: `zonecast_edge_` + the name lowercased
/// with `-` mapped to `_`; only `[a-z0-9_]` allowed, 1 to 49 characters (a
/// slot name is at most 63).
pub fn slot_name(name: &str) -> Result<String, ReplicaError> {
    let bad = |reason: &str| ReplicaError::InvalidName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(bad("empty"));
    }
    if name.len() > 49 {
        return Err(bad("longer than 49 characters"));
    }
    let mapped: String = name
        .chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    if !mapped
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(bad("only letters, digits, '-' and '_' are allowed"));
    }
    Ok(format!("zonecast_edge_{mapped}"))
}

/// A running edge follower: serves from [`Follower::zones`] while it
/// follows the primary.
pub struct Follower {
    zones: SharedZones,
    status: StatusHandle,
    notifier: Notifier,
    store: Arc<Store>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Follower {
    /// Opens the local snapshot in `config.data_dir`, publishes its zones
    /// (they are served at once, PostgreSQL or not), and starts following
    /// the primary on tasks of the current tokio runtime, which must be a
    /// multi-thread runtime.
    ///
    /// Errors: an invalid name or URL, a local snapshot that can't be
    /// opened, or the wrong runtime. Nothing about PostgreSQL is an error
    /// here: it is retried in the background (see [`EdgeStatus::last_error`](crate::EdgeStatus::last_error)).
    pub fn start(config: FollowerConfig) -> Result<Follower, ReplicaError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| ReplicaError::Runtime)?;
        if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return Err(ReplicaError::Runtime);
        }
        let slot = slot_name(&config.name)?;
        let pg = pgsql::parse_config(&config.database_url)?;
        let local_err = |source| ReplicaError::Local {
            dir: config.data_dir.clone(),
            source,
        };
        let (store, loaded, discarded) =
            local::open_checked(&config.data_dir).map_err(local_err)?;
        let store = Arc::new(store);
        let zones = Zones::new();
        let status = StatusHandle::new(config.name.clone(), slot.clone(), config.max_lag_ms);
        {
            let corruptions = loaded.corrupt_zones + u64::from(discarded.is_some());
            status.lock().metrics.snapshot_corruptions += corruptions;
        }
        if let Some(why) = discarded {
            status.problem(None, why);
        }
        let gate = Arc::new(ExpiryGate::new(zones.clone()));
        let servable: Vec<Arc<Zone>> = loaded
            .zones
            .values()
            .filter_map(|z| z.version.clone())
            .filter(|v| local::servable(v))
            .collect();
        let expiries: Vec<(Name, Option<i64>)> = loaded
            .zones
            .values()
            .filter(|z| z.expires_at.is_some())
            .map(|z| (z.name.clone(), z.expires_at))
            .collect();
        gate.update(&expiries, &servable, &[], now_ms());
        let served = servable.len();
        let has_data = loaded.lsn != 0 || !loaded.zones.is_empty();
        {
            let mut g = status.lock();
            g.applied_lsn = loaded.lsn;
            g.has_data = has_data;
            g.serials = loaded
                .zones
                .values()
                .map(|z| (z.name.to_string(), z.serial))
                .collect();
            g.serials_version = 1;
            if let Some(hb) = loaded.heartbeat {
                g.heartbeat = Some(Heartbeat {
                    at_ms: hb.at_ms,
                    interval_ms: hb.interval_ms,
                    applied_ms: hb.applied_ms,
                    writer: String::new(),
                });
                g.hb_apply_delay = hb.applied_ms - hb.at_ms;
            }
        }
        for p in &loaded.problems {
            status.problem(None, p.clone());
        }
        tracing::info!(
            edge = %config.name,
            slot = %slot,
            zones = loaded.zones.len(),
            served,
            lsn = %Lsn(loaded.lsn),
            "local snapshot loaded"
        );
        let stop = CancellationToken::new();
        let (notifier, notify_rx) = Notifier::new(config.name.clone(), status.clone());
        let engine = Engine {
            repl_url: pgsql::replication_url(&config.database_url),
            pg: pg.clone(),
            slot,
            gate: gate.clone(),
            status: status.clone(),
            store: store.clone(),
            table: loaded.zones,
            sums: loaded.sums,
            halted: BTreeMap::new(),
            lsn: loaded.lsn,
            full_resync_due: loaded.full_resync,
            has_data,
            stop: stop.clone(),
            cfg: config.clone(),
        };
        let tasks = vec![
            tokio::spawn(engine.run()),
            tokio::spawn(expiry_task(gate, stop.clone())),
            tokio::spawn(pgsql::status_task(
                pg.clone(),
                status.clone(),
                config.dns_listen.clone(),
                config.status_interval,
                stop.clone(),
            )),
            tokio::spawn(pgsql::notify_task(
                pg,
                notify_rx,
                status.clone(),
                stop.clone(),
            )),
        ];
        Ok(Follower {
            zones,
            status,
            notifier,
            store,
            stop,
            tasks,
        })
    }

    /// The zones the DNS listeners answer from.
    pub fn zones(&self) -> SharedZones {
        self.zones.clone()
    }

    /// The live status (for `/v1/health` and `/metrics`).
    pub fn status(&self) -> StatusHandle {
        self.status.clone()
    }

    /// The NOTIFY relay.
    pub fn notifier(&self) -> Notifier {
        self.notifier.clone()
    }

    /// The local snapshot store (TSIG keys and zone settings for the listeners; read only).
    pub fn local_store(&self) -> Arc<Store> {
        self.store.clone()
    }

    /// Stops following: the replication session ends (its last position
    /// confirmed), the tasks finish. The zones stay published.
    pub async fn shutdown(self) {
        self.stop.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Marks the secondary zones whose expiry passes, once a second ([`crate::expiry`]).
async fn expiry_task(gate: Arc<ExpiryGate>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {
                gate.tick(now_ms());
            }
        }
    }
}

/// One replication transaction being collected.
struct TxBuf {
    /// The commit record's LSN (from Begin).
    final_lsn: u64,
    events: Vec<(u64, RowEvent)>,
    /// Zones whose rows could not be read: resync them after the commit.
    resync: BTreeSet<i64>,
    /// A row or message of unknown zone could not be read: resync everything.
    poisoned: bool,
}

enum Frame {
    Data(pg_walstream::RawXLogData),
    Idle,
    Stop,
}

struct Engine {
    cfg: FollowerConfig,
    repl_url: String,
    pg: tokio_postgres::Config,
    slot: String,
    /// Publishes into the served zones, marking expired secondary zones.
    gate: Arc<ExpiryGate>,
    status: StatusHandle,
    store: Arc<Store>,
    table: ZoneTable,
    /// Each zone's checksum as persisted (`replica.sum.<zone>`).
    sums: HashMap<Name, local::ZoneSum>,
    halted: BTreeMap<i64, String>,
    /// `replica.lsn`: end LSN of the last transaction persisted.
    lsn: u64,
    full_resync_due: bool,
    has_data: bool,
    stop: CancellationToken,
}

/// What the slot check found.
enum SlotState {
    Ok,
    Missing,
    Lost,
}

fn is_slot_lost(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    (m.contains("replication slot") && m.contains("does not exist"))
        || m.contains("can no longer get changes")
        || m.contains("has been invalidated")
        || m.contains("was invalidated")
}

fn repl_err(context: &str) -> impl FnOnce(ReplicationError) -> ReplicaError + '_ {
    move |source| ReplicaError::Replication {
        context: context.to_string(),
        source,
    }
}

impl Engine {
    async fn run(mut self) {
        let mut backoff = self.cfg.backoff_min;
        let mut sessions = 0u64;
        while !self.stop.is_cancelled() {
            if sessions > 0 {
                self.status.lock().metrics.reconnects += 1;
            }
            sessions += 1;
            let started = Instant::now();
            let r = self.session().await;
            {
                let mut g = self.status.lock();
                g.connected = false;
                if let Err(e) = &r {
                    g.last_error = Some(e.to_string());
                }
            }
            match r {
                Ok(()) => break,
                Err(ReplicaError::SlotLost { slot, reason }) => {
                    tracing::warn!(%slot, %reason, "replication slot lost; recreating it and resyncing everything");
                    self.status.problem(
                        None,
                        format!("replication slot {slot} lost ({reason}); full resync"),
                    );
                    self.full_resync_due = true;
                    backoff = self.cfg.backoff_min;
                }
                Err(e) => {
                    if matches!(e, ReplicaError::Persist(_)) {
                        self.full_resync_due = true;
                    }
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "replication session ended");
                    if started.elapsed() > Duration::from_secs(30) {
                        backoff = self.cfg.backoff_min;
                    }
                }
            }
            let jitter = rand::thread_rng().gen_range(0.5..1.0);
            let delay = backoff.mul_f64(jitter);
            tokio::select! {
                _ = self.stop.cancelled() => break,
                _ = tokio::time::sleep(delay) => {}
            }
            backoff = (backoff * 2).min(self.cfg.backoff_max);
        }
        tracing::info!(slot = %self.slot, "follower stopped");
    }

    async fn check_slot(&self, client: &Client) -> Result<SlotState, ReplicaError> {
        let row = client
            .query_opt(
                "SELECT coalesce(wal_status, ''), coalesce(plugin, '') FROM pg_replication_slots WHERE slot_name = $1",
                &[&self.slot],
            )
            .await
            .map_err(sql("reading pg_replication_slots"))?;
        Ok(match row {
            None => SlotState::Missing,
            Some(r) => {
                let wal_status: String = r.get(0);
                let plugin: String = r.get(1);
                if wal_status == "lost" {
                    SlotState::Lost
                } else if plugin != "pgoutput" {
                    return Err(ReplicaError::Setup(format!(
                        "replication slot {} exists with plugin '{plugin}', not pgoutput",
                        self.slot
                    )));
                } else {
                    SlotState::Ok
                }
            }
        })
    }

    async fn session(&mut self) -> Result<(), ReplicaError> {
        let client = pgsql::connect(&self.pg, "edge").await?;
        let pubs = client
            .query(
                "SELECT pubname FROM pg_publication WHERE pubname = ANY($1)",
                &[&PUBLICATIONS.to_vec()],
            )
            .await
            .map_err(sql("reading pg_publication"))?;
        for p in PUBLICATIONS {
            if !pubs.iter().any(|r| r.get::<_, &str>(0) == p) {
                return Err(ReplicaError::Setup(format!(
                    "publication {p} does not exist on the primary (the control plane creates it when it starts)"
                )));
            }
        }
        let mut full = self.full_resync_due || !self.has_data;
        match self.check_slot(&client).await? {
            SlotState::Ok => {}
            SlotState::Missing => {
                if self.has_data {
                    tracing::warn!(slot = %self.slot, "replication slot missing (dropped?); creating it and resyncing everything");
                    self.status.problem(
                        None,
                        format!("replication slot {} missing; full resync", self.slot),
                    );
                } else {
                    tracing::info!(slot = %self.slot, "creating the replication slot (first start)");
                }
                full = true;
            }
            SlotState::Lost => {
                tracing::warn!(slot = %self.slot, "replication slot invalidated (wal_status lost, WAL past max_slot_wal_keep_size); dropping it, creating it again and resyncing everything");
                self.status.problem(
                    None,
                    format!(
                        "replication slot {} invalidated (wal_status lost); full resync",
                        self.slot
                    ),
                );
                client
                    .execute("SELECT pg_drop_replication_slot($1)", &[&self.slot])
                    .await
                    .map_err(sql("dropping the invalidated slot"))?;
                full = true;
            }
        }
        let publications = PUBLICATIONS.join("\",\"");
        let retry = RetryConfig {
            max_attempts: 1,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(100),
            multiplier: 1.0,
            max_duration: Duration::from_secs(30),
            jitter: false,
        };
        let config = ReplicationStreamConfig::new(
            self.slot.clone(),
            publications,
            1,
            StreamingMode::Off,
            Duration::from_secs(1),
            Duration::from_secs(10),
            Duration::from_secs(3600),
            retry,
        )
        .with_binary(true)
        .with_slot_options(ReplicationSlotOptions {
            snapshot: Some("export".into()),
            ..Default::default()
        });
        let mut stream = LogicalReplicationStream::new(&self.repl_url, config)
            .await
            .map_err(repl_err("connecting"))?;
        stream
            .ensure_replication_slot()
            .await
            .map_err(repl_err("creating the slot"))?;
        let snapshot = stream.exported_snapshot_name().map(str::to_owned);
        if snapshot.is_some() && !full {
            tracing::warn!(slot = %self.slot, "replication slot vanished before streaming; resyncing everything");
            full = true;
        }
        if full {
            let lsn = self.slot_position(&client).await?;
            self.copy_and_apply(&client, snapshot.as_deref(), None, lsn)
                .await?;
            self.full_resync_due = false;
        }
        if !self.halted.is_empty() {
            let ids: BTreeSet<i64> = self.halted.keys().copied().collect();
            self.copy_and_apply(&client, None, Some(&ids), None).await?;
        }
        let start = (self.lsn != 0).then_some(self.lsn);
        if let Err(e) = stream.start(start).await {
            let msg = e.to_string();
            if is_slot_lost(&msg) {
                return Err(ReplicaError::SlotLost {
                    slot: self.slot.clone(),
                    reason: msg,
                });
            }
            return Err(ReplicaError::Replication {
                context: "starting replication".into(),
                source: e,
            });
        }
        {
            let mut g = self.status.lock();
            g.connected = true;
            g.last_error = None;
        }
        tracing::info!(slot = %self.slot, from = %Lsn(self.lsn), "streaming");
        let r = self.stream(&mut stream, &client).await;
        if let Err(ReplicaError::Replication { source, .. }) = &r {
            let msg = source.to_string();
            if is_slot_lost(&msg) {
                return Err(ReplicaError::SlotLost {
                    slot: self.slot.clone(),
                    reason: msg,
                });
            }
        }
        r
    }

    /// The slot's confirmed position (where streaming will start).
    async fn slot_position(&self, client: &Client) -> Result<Option<u64>, ReplicaError> {
        let row = client
            .query_opt(
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
                &[&self.slot],
            )
            .await
            .map_err(sql("reading the slot position"))?;
        Ok(row
            .and_then(|r| r.get::<_, Option<String>>(0))
            .and_then(|s| pgoutput::parse_lsn(&s)))
    }

    /// Waits for the next frame, or `idle_feedback` without one.
    async fn next_frame(
        &self,
        stream: &mut LogicalReplicationStream,
    ) -> Result<Frame, ReplicaError> {
        // The library checks its token only at safe points (between frames,
        // while waiting for the socket), so ending a wait cancels nothing half done.
        let token = self.stop.child_token();
        let t = token.clone();
        let tick = self.cfg.idle_feedback;
        let timer = async move {
            tokio::time::sleep(tick).await;
            t.cancel();
            std::future::pending::<()>().await
        };
        tokio::select! {
            r = stream.next_raw_event(&token) => match r {
                Ok(raw) => Ok(Frame::Data(raw)),
                Err(ReplicationError::Cancelled(_)) => {
                    Ok(if self.stop.is_cancelled() { Frame::Stop } else { Frame::Idle })
                }
                Err(e) => Err(ReplicaError::Replication { context: "streaming".into(), source: e }),
            },
            _ = timer => Ok(Frame::Idle),
        }
    }

    async fn confirm(
        &self,
        stream: &mut LogicalReplicationStream,
        lsn: u64,
    ) -> Result<(), ReplicaError> {
        stream.shared_lsn_feedback.update_flushed_lsn(lsn);
        stream.shared_lsn_feedback.update_applied_lsn(lsn);
        stream
            .send_feedback()
            .await
            .map_err(repl_err("sending feedback"))
    }

    async fn stream(
        &mut self,
        stream: &mut LogicalReplicationStream,
        client: &Client,
    ) -> Result<(), ReplicaError> {
        let mut catalog = Catalog::new();
        let mut tx: Option<TxBuf> = None;
        let mut confirmed = self.lsn;
        loop {
            let raw = match self.next_frame(stream).await? {
                Frame::Stop => {
                    let _ = stream.stop().await;
                    return Ok(());
                }
                Frame::Idle => {
                    // Between transactions everything received is applied: the
                    // server's position (keepalives included) can be confirmed,
                    // so a primary busy with other tables keeps no WAL for us.
                    let cur = stream.current_lsn();
                    if tx.is_none() && cur > confirmed {
                        self.confirm(stream, cur).await?;
                        confirmed = cur;
                    }
                    if client.is_closed() {
                        return Err(ReplicaError::Setup(
                            "the SQL connection to PostgreSQL closed; reconnecting".into(),
                        ));
                    }
                    continue;
                }
                Frame::Data(raw) => raw,
            };
            // Messages that are not the last of a write carry no LSN (0): use the transaction's.
            let at = match raw.wal_start.value() {
                0 => tx
                    .as_ref()
                    .map_or_else(|| stream.current_lsn(), |t| t.final_lsn),
                lsn => lsn,
            };
            let msg = match pgoutput::decode(&raw.data) {
                Ok(m) => m,
                Err(e) => {
                    let text = format!("LSN {}: undecodable message: {e}", Lsn(at));
                    tracing::error!("{text}");
                    self.status.problem(None, text);
                    match tx.as_mut() {
                        Some(t) => t.poisoned = true,
                        None => self.full_resync_due = true,
                    }
                    continue;
                }
            };
            match msg {
                Message::Begin(b) => {
                    if tx.is_some() {
                        self.status
                            .problem(None, format!("LSN {}: Begin inside a transaction", Lsn(at)));
                    }
                    tx = Some(TxBuf {
                        final_lsn: b.final_lsn,
                        events: Vec::new(),
                        resync: BTreeSet::new(),
                        poisoned: false,
                    });
                }
                Message::Relation(r) => {
                    for p in catalog.relation(&r) {
                        tracing::warn!(lsn = %Lsn(at), "{p}");
                        self.status.problem(None, format!("LSN {}: {p}", Lsn(at)));
                    }
                }
                Message::Insert(_)
                | Message::Update(_)
                | Message::Delete(_)
                | Message::Truncate(_) => {
                    let Some(t) = tx.as_mut() else {
                        self.status.problem(
                            None,
                            format!(
                                "LSN {}: {} outside a transaction; skipped",
                                Lsn(at),
                                msg.kind_name()
                            ),
                        );
                        continue;
                    };
                    match catalog.row(&msg) {
                        Ok(Some(ev)) => t.events.push((at, ev)),
                        Ok(None) => {}
                        Err(e) => {
                            let hint = catalog.zone_hint(&msg);
                            let text = format!("LSN {}: {} skipped: {e}", Lsn(at), msg.kind_name());
                            tracing::error!("{text}");
                            self.status.problem(None, text);
                            match hint {
                                crate::rows::Hint::Zone(id) => {
                                    t.resync.insert(id);
                                }
                                crate::rows::Hint::Everything => t.poisoned = true,
                                crate::rows::Hint::Nothing => {}
                            }
                        }
                    }
                }
                Message::Commit(c) => {
                    let t0 = Instant::now();
                    let Some(t) = tx.take() else {
                        self.status
                            .problem(None, format!("LSN {}: Commit without Begin", Lsn(at)));
                        continue;
                    };
                    if c.end_lsn <= self.lsn {
                        self.status.lock().metrics.transactions_skipped += 1;
                        continue;
                    }
                    self.commit(t, c.end_lsn, t0, stream, client).await?;
                    confirmed = confirmed.max(c.end_lsn);
                }
                Message::Origin(_) | Message::Type(_) | Message::LogicalMessage(_) => {}
            }
        }
    }

    async fn commit(
        &mut self,
        t: TxBuf,
        end_lsn: u64,
        t0: Instant,
        stream: &mut LogicalReplicationStream,
        client: &Client,
    ) -> Result<(), ReplicaError> {
        let now = now_ms();
        let out = state::apply_transaction_limited(
            &mut self.table,
            &self.halted,
            t.events,
            end_lsn,
            now,
            &self.cfg.limits,
        );
        // Serve the new versions first: the DNS answers change now.
        self.publish(&out);
        let publish_us = t0.elapsed().as_micros() as u64;
        // Then persist, then confirm.
        self.persist(&out.ops, &out.meta)?;
        self.lsn = end_lsn;
        self.confirm(stream, end_lsn).await?;
        let apply_us = t0.elapsed().as_micros() as u64;
        for id in &out.unhalted {
            self.halted.remove(id);
        }
        for (id, reason) in &out.halted {
            self.halted.insert(*id, reason.clone());
        }
        self.after(&out, end_lsn, now);
        {
            let mut g = self.status.lock();
            g.metrics.transactions_applied += 1;
            g.metrics.rows_skipped += out.rows_skipped;
            record_apply(&mut g.metrics, publish_us, apply_us);
        }
        let mut resync = out.resync.clone();
        resync.extend(t.resync);
        if out.resync_all || t.poisoned || self.full_resync_due {
            self.copy_and_apply(client, None, None, None).await?;
            self.full_resync_due = false;
        } else if !resync.is_empty() {
            self.copy_and_apply(client, None, Some(&resync), None)
                .await?;
        }
        Ok(())
    }

    fn publish(&self, out: &Outcome) {
        self.gate
            .update(&out.expiries, &out.publish, &out.withdraw, now_ms());
    }

    fn persist(&mut self, ops: &[BatchOp], meta: &[(String, String)]) -> Result<(), ReplicaError> {
        // The zones' checksums go in the same transaction.
        let (sums, sum_meta) = local::sums_after(&self.sums, ops);
        let mut all = meta.to_vec();
        all.extend(sum_meta);
        let r = tokio::task::block_in_place(|| local::persist(&self.store, ops, &all));
        if r.is_ok() {
            self.sums = sums;
        }
        r.map_err(|e| {
            tracing::error!(error = %e, "local snapshot write failed; not confirming, resyncing everything");
            self.status
                .problem(None, format!("local snapshot write failed: {e}"));
            // Memory may be ahead of the local store now: rewrite everything
            // (best effort: the store may be what fails).
            let _ = self.store.meta_set(META_FULL_RESYNC, "1");
            ReplicaError::Persist(e)
        })
    }

    /// Status updates after a transaction or copy was applied.
    fn after(&mut self, out: &Outcome, lsn: u64, now: i64) {
        for p in &out.problems {
            self.status.problem(p.zone.clone(), p.message.clone());
        }
        let halted: BTreeMap<String, String> = self
            .halted
            .iter()
            .map(|(id, r)| {
                let n = self
                    .table
                    .get(id)
                    .map_or_else(|| format!("id {id}"), |z| z.name.to_string());
                (n, r.clone())
            })
            .collect();
        let mut g = self.status.lock();
        g.applied_lsn = lsn.max(g.applied_lsn);
        if out.all_serials {
            g.serials = self
                .table
                .values()
                .map(|z| (z.name.to_string(), z.serial))
                .collect();
            g.serials_version += 1;
        } else if !out.serials.is_empty() {
            for (name, serial) in &out.serials {
                match serial {
                    Some(s) => g.serials.insert(name.to_string(), *s),
                    None => g.serials.remove(&name.to_string()),
                };
            }
            g.serials_version += 1;
        }
        g.halted = halted;
        if let Some((at_ms, interval_ms, writer)) = &out.heartbeat {
            g.hb_apply_delay = now - at_ms;
            g.heartbeat = Some(Heartbeat {
                at_ms: *at_ms,
                interval_ms: *interval_ms,
                applied_ms: now,
                writer: writer.clone(),
            });
        }
    }

    /// Copies zones from the primary (all, or the ids given) in one
    /// repeatable-read snapshot (the slot's exported one when given) and
    /// applies them: memory first, then the local store.
    async fn copy_and_apply(
        &mut self,
        client: &Client,
        snapshot: Option<&str>,
        ids: Option<&BTreeSet<i64>>,
        lsn: Option<u64>,
    ) -> Result<(), ReplicaError> {
        let t0 = Instant::now();
        let copy = copy(client, snapshot, ids, &self.cfg.limits, &self.table).await?;
        let full = ids.is_none();
        let empty = BTreeSet::new();
        let keep: BTreeSet<i64> = copy.bad.iter().map(|(id, _, _)| *id).collect();
        let mut out = state::apply_copy(
            &mut self.table,
            copy.zones,
            ids.unwrap_or(&empty),
            full,
            lsn,
            &keep,
        );
        if let Some(keys) = copy.tsig_keys {
            let local_keys = self.store.tsig_keys().map_err(ReplicaError::Persist)?;
            for k in local_keys {
                if !keys.iter().any(|n| n.name.eq_ignore_ascii_case(&k.name)) {
                    out.ops.push(BatchOp::DeleteTsigKey(k.name));
                }
            }
            out.ops.extend(keys.into_iter().map(BatchOp::PutTsigKey));
        }
        if full {
            out.meta.push((META_FULL_RESYNC.into(), "0".into()));
        }
        let now = now_ms();
        if let Some(hb) = copy.heartbeat {
            out.heartbeat = Some(hb);
        }
        self.publish(&out);
        self.persist(&out.ops, &out.meta)?;
        if let Some(lsn) = lsn {
            self.lsn = lsn;
        }
        match ids {
            Some(ids) => {
                for id in ids {
                    self.halted.remove(id);
                }
            }
            None => self.halted.clear(),
        }
        for (id, name, reason) in &copy.bad {
            let text = format!("zone {name} (id {id}) not copied: {reason}");
            tracing::error!("{text}");
            self.status.problem(Some(name.clone()), text);
            self.halted.insert(*id, reason.clone());
        }
        self.has_data = true;
        let lsn_now = self.lsn;
        self.after(&out, lsn_now, now);
        {
            let mut g = self.status.lock();
            g.has_data = true;
            if full {
                g.metrics.full_resyncs += 1;
            } else {
                g.metrics.zone_resyncs += ids.map_or(0, |i| i.len() as u64);
            }
        }
        tracing::info!(
            zones = self.table.len(),
            resynced = ids.map_or_else(|| "all".to_string(), |i| format!("{i:?}")),
            exported_snapshot = snapshot.is_some(),
            ms = t0.elapsed().as_millis() as u64,
            "copied from the primary"
        );
        Ok(())
    }
}

/// What one copy read.
struct Copy {
    zones: Vec<CopiedZone>,
    /// All TSIG keys (full copies only).
    tsig_keys: Option<Vec<TsigKeyRow>>,
    heartbeat: Option<(i64, i64, String)>,
    /// Zones that could not be copied: id, name, reason.
    bad: Vec<(i64, String, String)>,
}

/// Reads zones (all, or `ids`), their records and max journal seq, TSIG
/// keys and the heartbeat in one REPEATABLE READ READ ONLY transaction.
async fn copy(
    client: &Client,
    snapshot: Option<&str>,
    ids: Option<&BTreeSet<i64>>,
    limits: &Limits,
    held: &state::ZoneTable,
) -> Result<Copy, ReplicaError> {
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(sql("starting the copy"))?;
    let r = copy_in_tx(client, snapshot, ids, limits, held).await;
    let end = if r.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let e = client.batch_execute(end).await;
    let c = r?;
    e.map_err(sql("ending the copy"))?;
    Ok(c)
}

async fn copy_in_tx(
    client: &Client,
    snapshot: Option<&str>,
    ids: Option<&BTreeSet<i64>>,
    limits: &Limits,
    held: &state::ZoneTable,
) -> Result<Copy, ReplicaError> {
    if let Some(s) = snapshot {
        if !s.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(ReplicaError::Setup(format!(
                "unexpected snapshot name '{s}'"
            )));
        }
        client
            .batch_execute(&format!("SET TRANSACTION SNAPSHOT '{s}'"))
            .await
            .map_err(sql("importing the slot's snapshot"))?;
    }
    let id_list: Vec<i64> = ids.map(|i| i.iter().copied().collect()).unwrap_or_default();
    let all = ids.is_none();
    let zone_rows = client
        .query(
            "SELECT id, name, kind, serial, settings, created_at, expires_at FROM zones WHERE $1 OR id = ANY($2) ORDER BY id",
            &[&all, &id_list],
        )
        .await
        .map_err(sql("copying zones"))?;
    let seq_rows = client
        .query(
            "SELECT zone_id, max(seq) FROM journal WHERE $1 OR zone_id = ANY($2) GROUP BY zone_id",
            &[&all, &id_list],
        )
        .await
        .map_err(sql("copying journal positions"))?;
    let seqs: BTreeMap<i64, i64> = seq_rows
        .iter()
        .map(|r| (r.get::<_, i64>(0), r.get::<_, Option<i64>>(1).unwrap_or(0)))
        .collect();
    let record_rows = client
        .query(
            "SELECT zone_id, owner, rtype, class, ttl, rdata FROM records WHERE $1 OR zone_id = ANY($2) ORDER BY zone_id, id",
            &[&all, &id_list],
        )
        .await
        .map_err(sql("copying records"))?;
    let mut records: BTreeMap<i64, Vec<Record>> = BTreeMap::new();
    let mut bad_records: BTreeMap<i64, String> = BTreeMap::new();
    for r in &record_rows {
        let zone_id: i64 = r.get(0);
        let owner: &[u8] = r.get(1);
        let rtype: i32 = r.get(2);
        let class: i32 = r.get(3);
        let ttl: i64 = r.get(4);
        let rdata: &[u8] = r.get(5);
        let rec = (|| -> Result<Record, String> {
            Ok(Record {
                owner: Name::from_wire(owner).map_err(|e| format!("record owner: {e}"))?,
                rtype: Rtype(u16::try_from(rtype).map_err(|_| format!("record type {rtype}"))?),
                class: Class(u16::try_from(class).map_err(|_| format!("record class {class}"))?),
                ttl: u32::try_from(ttl).map_err(|_| format!("record TTL {ttl}"))?,
                rdata: rdata.into(),
            })
        })();
        match rec {
            Ok(rec) => records.entry(zone_id).or_default().push(rec),
            Err(e) => {
                bad_records.entry(zone_id).or_insert(e);
            }
        }
    }
    let mut out = Copy {
        zones: Vec::new(),
        tsig_keys: None,
        heartbeat: None,
        bad: Vec::new(),
    };
    // Zones held once the copy is applied: a full copy replaces them all,
    // a partial one adds those it copies that are not held yet.
    let mut zones_after = if all { 0 } else { held.len() };
    for z in &zone_rows {
        let id: i64 = z.get(0);
        let name_text: String = z.get(1);
        let kind_text: String = z.get(2);
        let serial: i64 = z.get(3);
        let settings: String = z.get(4);
        let created_at: i64 = z.get(5);
        let expires_at: Option<i64> = z.get(6);
        let recs = records.remove(&id).unwrap_or_default();
        let built = (|| -> Result<CopiedZone, String> {
            if let Some(e) = bad_records.get(&id) {
                return Err(e.clone());
            }
            let name = name_text
                .parse::<Name>()
                .map_err(|e| format!("zone name: {e}"))?
                .to_lowercase();
            let kind = kind_text.parse::<ZoneKind>().map_err(|e| e.to_string())?;
            let counted = all || !held.contains_key(&id);
            let n = zones_after + usize::from(counted);
            state::check_copy(limits, &name, &recs, n)?;
            zones_after = n;
            let version = if recs.is_empty() {
                None
            } else {
                Some(Arc::new(
                    Zone::build(&name, &recs).map_err(|e| e.to_string())?,
                ))
            };
            let serial = version.as_ref().map_or_else(
                || u32::try_from(serial).map_err(|_| format!("serial {serial}")),
                |v| Ok(v.serial()),
            )?;
            Ok(CopiedZone {
                entry: ZoneEntry {
                    id,
                    name,
                    kind,
                    settings,
                    created_at,
                    serial,
                    seq: seqs.get(&id).copied().unwrap_or(0),
                    version,
                    expires_at: state::expiry_of(kind, expires_at),
                },
                records: recs,
            })
        })();
        match built {
            Ok(c) => out.zones.push(c),
            Err(reason) => out.bad.push((id, name_text, reason)),
        }
    }
    if all {
        let keys = client
            .query(
                "SELECT name, algorithm, secret, created_at FROM tsig_keys ORDER BY name",
                &[],
            )
            .await
            .map_err(sql("copying TSIG keys"))?;
        out.tsig_keys = Some(
            keys.iter()
                .map(|r| TsigKeyRow {
                    name: r.get(0),
                    algorithm: r.get(1),
                    secret: r.get(2),
                    created_at: r.get(3),
                })
                .collect(),
        );
        let hb = client
            .query_opt(
                "SELECT at_ms, interval_ms, writer FROM heartbeat WHERE id = 1",
                &[],
            )
            .await
            .map_err(sql("copying the heartbeat"))?;
        out.heartbeat = hb.map(|r| (r.get::<_, i64>(0), i64::from(r.get::<_, i32>(1)), r.get(2)));
    }
    Ok(out)
}

/// Checks once what an edge needs from PostgreSQL, for one clear error
/// line at start: the URL, the connection, the publications, the
/// `REPLICATION` attribute and the table privileges (`SELECT` on `zones`,
/// `records`, `journal`, `tsig_keys`, `heartbeat`; `INSERT` and `UPDATE` on
/// `edges`).
///
/// [`ReplicaError::Sql`] when PostgreSQL can't be reached (an edge may still
/// start and serve its snapshot; the caller decides), [`ReplicaError::Setup`]
/// naming what is missing otherwise.
pub async fn preflight(database_url: &str) -> Result<(), ReplicaError> {
    let config = pgsql::parse_config(database_url)?;
    let client = pgsql::connect(&config, "preflight").await?;
    let pubs = client
        .query(
            "SELECT pubname FROM pg_publication WHERE pubname = ANY($1)",
            &[&PUBLICATIONS.to_vec()],
        )
        .await
        .map_err(sql("reading pg_publication"))?;
    for p in PUBLICATIONS {
        if !pubs.iter().any(|r| r.get::<_, &str>(0) == p) {
            return Err(ReplicaError::Setup(format!(
                "publication {p} does not exist on the primary (the control plane creates it when it starts)"
            )));
        }
    }
    let row = client
        .query_one(
            "SELECT current_user::text, rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .map_err(sql("reading the role"))?;
    let (user, replication): (String, bool) = (row.get(0), row.get(1));
    if !replication {
        return Err(ReplicaError::Setup(format!(
            "role {user} lacks the REPLICATION attribute (ALTER ROLE {user} REPLICATION)"
        )));
    }
    for (table, privilege) in [
        ("zones", "SELECT"),
        ("records", "SELECT"),
        ("journal", "SELECT"),
        ("tsig_keys", "SELECT"),
        ("heartbeat", "SELECT"),
        ("edges", "INSERT"),
        ("edges", "UPDATE"),
    ] {
        let ok: bool = client
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL AND has_table_privilege($1, $2)",
                &[&table, &privilege],
            )
            .await
            .map_err(sql("checking privileges"))?
            .get(0);
        if !ok {
            return Err(ReplicaError::Setup(format!(
                "role {user} lacks {privilege} on table {table} (or the table is missing)"
            )));
        }
    }
    Ok(())
}
