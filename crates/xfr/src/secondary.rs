//! The refresh machine of secondary zones (RFC 1034 §4.3.5, RFC 1996,
//! RFC 1995, RFC 5936).
//!
//! Each secondary zone has one task. It sleeps until the next refresh (or
//! until expiry, or until woken), then runs one *check*:
//!
//! 1. The SOA is asked of the zone's primaries in turn, starting with the
//!    one that answered last, signed with the zone's TSIG key when it has one.
//! 2. A serial equal to ours: up to date. Newer (RFC 1982): an IXFR from
//!    our SOA, or an AXFR when we hold no data. An IXFR that the primary
//!    refuses, that does not chain or does not apply cleanly falls back to
//!    an AXFR from the same primary. An older serial is an error (the
//!    primary went backwards): the next primary is tried, and `retransfer`
//!    takes the primary's copy whatever its serial.
//! 3. Success: the next check after the SOA refresh interval, minus up to
//!    10% jitter, and the expiry moves to now + SOA expire. Failure on every
//!    primary: the next check after the SOA retry interval.
//! 4. Past the expiry without a successful check, the zone is published
//!    answering SERVFAIL until a check succeeds.
//!
//! The timers are clamped to the operator's bounds ([`SecondaryConfig`]);
//! a transferred SOA whose refresh, retry or expire is 0 or above 2^31−1 is
//! refused as absurd. The zone's status (timers included) is persisted in
//! the store's meta table after every check, so a restart, or another
//! control plane taking over, resumes the same timers. The expiry is also
//! recorded on the zone ([`zonecast_store::Store::set_zone_expiry`]), for
//! the nodes that do not run this machine: edges and the control planes
//! that do not lead serve the zone SERVFAIL once that time has passed.
//!
//! [`Secondaries::notify`] (a NOTIFY accepted from a primary, RFC 1996 §4)
//! and [`Secondaries::refresh`] wake the task at once; wakes that arrive
//! while a check is running or waiting coalesce into one check, and a woken
//! check starts at least [`WAKE_GAP`] after the end of one that transferred
//! nothing. A NOTIFY that carries the zone's SOA (RFC 1996 §3.7, as BIND,
//! Knot and NSD send it) announces a serial: one the zone already has from
//! its last successful check wakes nothing, and the wakes that came during
//! a check are dropped when that check reached their serial ([`Wakes`]). So
//! a burst of NOTIFYs for one change costs one check; without serials, two
//! or three. Only while
//! `active()` (in cluster mode: while this control plane leads) do checks
//! run; the others' tasks wait.
//!
//! **Clock jumps.** The timers are unix times (they are persisted and
//! shown), but the waiting is monotonic, and each task watches the wall
//! clock against the monotonic one ([`ClockWatch`]): when the wall clock
//! jumps (by more than [`CLOCK_JUMP_TOLERANCE`], e.g. set by hand or by a
//! first NTP sync), the pending refresh and expiry move by the same amount
//! ([`shift_timers`]), so a jump forward does not expire a zone early and a
//! jump backward does not put its refresh or expiry off. A status loaded
//! after a restart whose timers lie further ahead than any interval could
//! put them (the clock went back while the process was down) is brought
//! back within one interval ([`bound_loaded_timers`]).
//!
//! Limitations: the nodes that follow the recorded expiry (edges, control
//! planes that do not lead) compare it with their own clock, so clock
//! skew between nodes moves their expiry by as much (docs/decisions/0018).

use crate::client::{self, ClientConfig, ClientError, Transfer};
use crate::notify::Keys;
use crate::response::{soa_fields, Delta, Received};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;
use zonecast_control::{parse_server, serial_gt, Control, ControlError, Transferred};
use zonecast_proto::tsig::Key;
use zonecast_proto::{Name, Record};
use zonecast_store::{Change, ZoneKind};

/// The shortest time from the end of a check that transferred nothing (up
/// to date, or failed) to a check woken by NOTIFY or `refresh`; the wakes
/// meanwhile are covered by that check. After a transfer, a wake checks at
/// once (a primary changing quickly is followed without delay).
pub const WAKE_GAP: Duration = Duration::from_millis(200);

/// A difference between the wall clock's and the monotonic clock's
/// progress larger than this is a clock jump (NTP slews by far less).
pub const CLOCK_JUMP_TOLERANCE: Duration = Duration::from_secs(2);

/// Notices jumps of the wall clock: it remembers one reading of both
/// clocks and compares how far each moved since.
#[derive(Clone, Copy, Debug)]
pub struct ClockWatch {
    wall_ms: i64,
    mono: std::time::Instant,
}

impl ClockWatch {
    /// Starts from this reading of both clocks.
    pub fn new(wall_ms: i64, mono: std::time::Instant) -> ClockWatch {
        ClockWatch { wall_ms, mono }
    }

    /// How far the wall clock jumped (ms, negative backwards) since the
    /// last reading, when it is more than [`CLOCK_JUMP_TOLERANCE`]; this
    /// reading becomes the next reference either way.
    pub fn jump(&mut self, wall_ms: i64, mono: std::time::Instant) -> Option<i64> {
        let elapsed = millis(mono.saturating_duration_since(self.mono));
        let skew = wall_ms - self.wall_ms.saturating_add(elapsed);
        *self = ClockWatch::new(wall_ms, mono);
        (skew.abs() > millis(CLOCK_JUMP_TOLERANCE)).then_some(skew)
    }
}

/// Moves the pending timers (next refresh, expiry) by a wall clock jump of
/// `skew_ms`, so they stay as far ahead in real time as they were.
pub fn shift_timers(st: &mut SecondaryStatus, skew_ms: i64) {
    st.next_refresh_ms = st.next_refresh_ms.saturating_add(skew_ms);
    if let Some(e) = st.expires_at_ms.as_mut() {
        *e = e.saturating_add(skew_ms);
    }
}

/// Bounds the timers of a status loaded from the store at `now_ms`: a
/// next refresh more than `refresh_max` ahead is due now, and an expiry
/// further ahead than the expire interval it was set with (expiry minus
/// the last success) is that interval from now. Only a wall clock that
/// went back while the status was stored puts them there.
pub fn bound_loaded_timers(st: &mut SecondaryStatus, now_ms: i64, refresh_max: Duration) {
    if st.next_refresh_ms - now_ms > millis(refresh_max) {
        st.next_refresh_ms = now_ms;
    }
    if let (Some(e), Some(ok)) = (st.expires_at_ms, st.last_success_ms) {
        let interval = e - ok;
        if e - now_ms > interval {
            st.expires_at_ms = Some(now_ms + interval);
        }
    }
}

/// Operator bounds and client settings of the refresh machine.
#[derive(Clone, Debug)]
pub struct SecondaryConfig {
    /// Shortest refresh and retry interval (SOA values below are raised).
    pub refresh_min: Duration,
    /// Longest refresh and retry interval (SOA values above are lowered).
    pub refresh_max: Duration,
    /// Shortest expire interval.
    pub expire_min: Duration,
    /// Wait before the first check of a zone that has no SOA yet, after a failure.
    pub retry_without_soa: Duration,
    /// Timeouts and the zone size limit of transfers.
    pub client: ClientConfig,
    /// How often the set of secondary zones is compared with the store.
    pub rescan: Duration,
    /// Most checks (SOA query and transfer) running at once over all zones;
    /// the others wait their turn (10,000 zones starting together do not
    /// send 10,000 queries at once).
    pub max_concurrent: usize,
}

impl Default for SecondaryConfig {
    fn default() -> Self {
        SecondaryConfig {
            refresh_min: Duration::from_secs(2),
            refresh_max: Duration::from_secs(86_400),
            expire_min: Duration::from_secs(10),
            retry_without_soa: Duration::from_secs(5),
            client: ClientConfig::default(),
            rescan: Duration::from_secs(1),
            max_concurrent: 32,
        }
    }
}

/// The last transfer that applied.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TransferInfo {
    /// `IXFR` or `AXFR`.
    pub kind: String,
    /// Unix milliseconds when it ended.
    pub at_ms: i64,
    /// The primary.
    pub primary: String,
    /// Our serial before.
    pub serial_from: u32,
    /// Our serial after.
    pub serial_to: u32,
    /// Records received (SOAs included).
    pub records: usize,
    /// Messages received.
    pub messages: usize,
    /// Octets received.
    pub bytes: usize,
    /// From the SOA query to the new version served, milliseconds.
    pub duration_ms: u64,
}

/// A secondary zone's state; persisted, shown in the zone status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecondaryStatus {
    /// The primary's serial when last seen.
    pub primary_serial: Option<u32>,
    /// Unix ms of the last check.
    pub last_refresh_ms: Option<i64>,
    /// `up-to-date`, `transferred` or `error`.
    pub last_refresh_outcome: Option<String>,
    /// Unix ms of the last successful check.
    pub last_success_ms: Option<i64>,
    /// The last transfer that applied.
    pub last_transfer: Option<TransferInfo>,
    /// Unix ms of the next check.
    pub next_refresh_ms: i64,
    /// Unix ms when the zone expires without a successful check; `None` before the first.
    pub expires_at_ms: Option<i64>,
    /// Whether the zone is expired (answering SERVFAIL).
    pub expired: bool,
    /// The last error, with the primary.
    pub last_error: Option<String>,
    /// Unix ms of the last error.
    pub last_error_ms: Option<i64>,
    /// The primary that answered last (tried first).
    pub primary: Option<String>,
    /// Checks that failed on every primary in a row.
    pub failures: u32,
    /// The zone's serial when the last check succeeded (up to date, or
    /// what it transferred); unlike `primary_serial`, not moved by a check
    /// still running.
    pub checked_serial: Option<u32>,
    /// The zone's creation time (unix seconds) this status belongs to: a
    /// zone deleted and created again does not inherit the old timers.
    pub zone_created_at: i64,
}

/// The wakes a zone's task has not acted on yet (cleared when a check starts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wakes {
    /// A wake that asks for a check whatever the serials: a NOTIFY without
    /// an SOA (or relayed by an edge), `refresh`, `retransfer`.
    pub unconditional: bool,
    /// The newest serial (RFC 1982) announced by a NOTIFY.
    pub newest: Option<u32>,
}

impl Wakes {
    /// Adds a wake announcing `serial` (`None`: unconditional).
    pub fn add(&mut self, serial: Option<u32>) {
        match (serial, self.newest) {
            (None, _) => self.unconditional = true,
            (Some(s), Some(n)) if !serial_gt(s, n) => {}
            (Some(s), _) => self.newest = Some(s),
        }
    }

    /// Whether these wakes still ask for a check of a zone whose status is `st`.
    pub fn want_check(&self, st: &SecondaryStatus) -> bool {
        self.unconditional || self.newest.is_some_and(|s| !has_serial(st, s))
    }
}

/// Whether a zone already has serial `s`: its last check succeeded, it is
/// not expired, and the serial it had then is `s` or newer.
pub fn has_serial(st: &SecondaryStatus, s: u32) -> bool {
    !st.expired && st.failures == 0 && st.checked_serial.is_some_and(|p| !serial_gt(s, p))
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct SecondaryStats {
    /// Checks run.
    pub checks: AtomicU64,
    /// Checks that failed on every primary.
    pub failed: AtomicU64,
    /// IXFRs applied.
    pub ixfr: AtomicU64,
    /// AXFRs applied.
    pub axfr: AtomicU64,
    /// IXFRs that fell back to AXFR.
    pub ixfr_fallbacks: AtomicU64,
    /// NOTIFY messages that woke a zone.
    pub notifies: AtomicU64,
    /// NOTIFY messages announcing a serial the zone already had (no check).
    pub notifies_current: AtomicU64,
}

struct Job {
    wake: Notify,
    wakes: Mutex<Wakes>,
    force_axfr: AtomicBool,
    status: Mutex<SecondaryStatus>,
    abort: Mutex<Option<tokio::task::AbortHandle>>,
}

struct Inner {
    control: Arc<Control>,
    runtime: tokio::runtime::Handle,
    config: SecondaryConfig,
    keys: Keys,
    active: Arc<dyn Fn() -> bool + Send + Sync>,
    jobs: Mutex<HashMap<Name, Arc<Job>>>,
    rescan: Notify,
    stats: SecondaryStats,
    slots: Arc<tokio::sync::Semaphore>,
}

/// The refresh machine of every secondary zone of a control plane.
#[derive(Clone)]
pub struct Secondaries {
    inner: Arc<Inner>,
}

/// Why a manual control was not taken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ControlRefused {
    /// The zone is not a secondary zone this node refreshes.
    #[error("zone {0} is not a secondary zone")]
    NotSecondary(String),
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn meta_key(zone: &Name) -> String {
    format!("secondary:{}", zone.to_lowercase())
}

impl Secondaries {
    /// Starts the machine on `runtime`: a task per secondary zone, found by
    /// comparing the zones with the store every `config.rescan`.
    pub fn start(
        control: Arc<Control>,
        runtime: tokio::runtime::Handle,
        config: SecondaryConfig,
        keys: Keys,
        active: Arc<dyn Fn() -> bool + Send + Sync>,
    ) -> Secondaries {
        let s = Secondaries {
            inner: Arc::new(Inner {
                control,
                runtime: runtime.clone(),
                keys,
                active,
                jobs: Mutex::new(HashMap::new()),
                rescan: Notify::new(),
                stats: SecondaryStats::default(),
                slots: Arc::new(tokio::sync::Semaphore::new(config.max_concurrent.max(1))),
                config,
            }),
        };
        let me = s.clone();
        runtime.spawn(async move { me.scan_forever().await });
        s
    }

    /// Whether checks run on this node now.
    pub fn is_active(&self) -> bool {
        (self.inner.active)()
    }

    /// Compares the secondary zones with the running tasks now (after a zone was created or deleted).
    pub fn zones_changed(&self) {
        self.inner.rescan.notify_one();
    }

    /// A NOTIFY accepted for `zone`, announcing `serial` when it carried the
    /// SOA: check it now, unless the zone already has that serial (module
    /// docs). False when it is not a secondary zone here.
    pub fn notify(&self, zone: &Name, serial: Option<u32>) -> bool {
        let Some(job) = self.job(zone) else {
            self.zones_changed();
            return false;
        };
        if serial.is_some_and(|s| has_serial(&lock(&job.status), s)) {
            self.inner
                .stats
                .notifies_current
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%zone, serial, "NOTIFY for a serial the zone has: no check");
            return true;
        }
        self.inner.stats.notifies.fetch_add(1, Ordering::Relaxed);
        job.wake(serial);
        true
    }

    /// Checks `zone` now (`POST .../refresh`).
    pub fn refresh(&self, zone: &Name) -> Result<(), ControlRefused> {
        self.job_or_scan(zone)?.wake(None);
        Ok(())
    }

    /// Takes a full AXFR of `zone` now, whatever the serials (`POST .../retransfer`).
    pub fn retransfer(&self, zone: &Name) -> Result<(), ControlRefused> {
        let job = self.job_or_scan(zone)?;
        job.force_axfr.store(true, Ordering::SeqCst);
        job.wake(None);
        Ok(())
    }

    /// The zone's refresh status; `None` for a zone that is not secondary here.
    pub fn status(&self, zone: &Name) -> Option<SecondaryStatus> {
        self.job(zone).map(|j| lock(&j.status).clone())
    }

    /// Every secondary zone's status (for `/metrics`).
    pub fn statuses(&self) -> Vec<(Name, SecondaryStatus)> {
        let jobs: Vec<(Name, Arc<Job>)> = lock(&self.inner.jobs)
            .iter()
            .map(|(n, j)| (n.clone(), j.clone()))
            .collect();
        let mut out: Vec<(Name, SecondaryStatus)> = jobs
            .into_iter()
            .map(|(n, j)| (n, lock(&j.status).clone()))
            .collect();
        out.sort_by_cached_key(|(n, _)| n.to_string());
        out
    }

    /// The counters.
    pub fn stats(&self) -> &SecondaryStats {
        &self.inner.stats
    }

    fn job(&self, zone: &Name) -> Option<Arc<Job>> {
        lock(&self.inner.jobs).get(&zone.to_lowercase()).cloned()
    }

    fn job_or_scan(&self, zone: &Name) -> Result<Arc<Job>, ControlRefused> {
        if let Some(j) = self.job(zone) {
            return Ok(j);
        }
        // Created a moment ago: start its task now.
        self.scan_once();
        self.job(zone)
            .ok_or_else(|| ControlRefused::NotSecondary(zone.to_lowercase().to_string()))
    }

    async fn scan_forever(self) {
        loop {
            let me = self.clone();
            let _ = tokio::task::spawn_blocking(move || me.scan_once()).await;
            let _ =
                tokio::time::timeout(self.inner.config.rescan, self.inner.rescan.notified()).await;
        }
    }

    /// Starts tasks for new secondary zones and stops those of zones gone.
    fn scan_once(&self) {
        let zones = match self.inner.control.list_zones() {
            Ok(z) => z,
            Err(e) => {
                tracing::warn!("secondary zones not listed: {e}");
                return;
            }
        };
        let wanted: Vec<Name> = zones
            .into_iter()
            .filter(|z| z.kind == ZoneKind::Secondary)
            .map(|z| z.name)
            .collect();
        let mut jobs = lock(&self.inner.jobs);
        jobs.retain(|name, job| {
            let keep = wanted.contains(name);
            if !keep {
                if let Some(a) = lock(&job.abort).take() {
                    a.abort();
                }
                tracing::info!(zone = %name, "secondary zone gone: refresh stopped");
            }
            keep
        });
        for name in wanted {
            if jobs.contains_key(&name) {
                continue;
            }
            let job = Arc::new(Job {
                wake: Notify::new(),
                wakes: Mutex::new(Wakes::default()),
                force_axfr: AtomicBool::new(false),
                status: Mutex::new(SecondaryStatus::default()),
                abort: Mutex::new(None),
            });
            let task = ZoneTask {
                inner: self.inner.clone(),
                zone: name.clone(),
                job: job.clone(),
            };
            let handle = self.inner.runtime.spawn(task.run());
            *lock(&job.abort) = Some(handle.abort_handle());
            jobs.insert(name, job);
        }
    }
}

impl Job {
    /// Records a wake announcing `serial` (`None`: unconditional) and wakes the task.
    fn wake(&self, serial: Option<u32>) {
        lock(&self.wakes).add(serial);
        self.wake.notify_one();
    }
}

/// One secondary zone's task.
struct ZoneTask {
    inner: Arc<Inner>,
    zone: Name,
    job: Arc<Job>,
}

/// What a check found on one primary.
enum Found {
    UpToDate(u32),
    Transferred(TransferInfo),
}

impl ZoneTask {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Control) -> T + Send + 'static,
    ) -> Option<T> {
        let control = self.inner.control.clone();
        tokio::task::spawn_blocking(move || f(&control)).await.ok()
    }

    async fn run(self) {
        let mut was_active = false;
        let mut last_check: Option<tokio::time::Instant> = None;
        let mut clock = ClockWatch::new(now_ms(), std::time::Instant::now());
        loop {
            if !(self.inner.active)() {
                was_active = false;
                let _ =
                    tokio::time::timeout(Duration::from_secs(1), self.job.wake.notified()).await;
                continue;
            }
            if !was_active {
                self.load_status().await;
                clock = ClockWatch::new(now_ms(), std::time::Instant::now());
                was_active = true;
            }
            if let Some(skew) = clock.jump(now_ms(), std::time::Instant::now()) {
                shift_timers(&mut lock(&self.job.status), skew);
                tracing::warn!(zone = %self.zone, jump_ms = skew, "the wall clock jumped; the refresh and expiry timers moved with it");
                self.save_status().await;
            }
            self.expire_if_due().await;
            let (due, expires) = {
                let st = lock(&self.job.status);
                (st.next_refresh_ms, st.expires_at_ms.filter(|_| !st.expired))
            };
            let now = now_ms();
            let until = expires.map_or(due, |e| e.min(due));
            if now < until {
                let wait = Duration::from_millis(u64::try_from(until - now).unwrap_or(0));
                // Re-evaluate at least every minute (leadership, clock changes).
                let wait = wait.min(Duration::from_secs(60));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => continue,
                    _ = self.job.wake.notified() => {}
                }
                if let Some(gap_end) = last_check.map(|t| t + WAKE_GAP) {
                    if tokio::time::Instant::now() < gap_end {
                        tokio::time::sleep_until(gap_end).await;
                        // A wake stored meanwhile came before the check below: it is covered.
                        let _ =
                            tokio::time::timeout(Duration::ZERO, self.job.wake.notified()).await;
                    }
                }
                if !(self.inner.active)() {
                    continue;
                }
                // Woken only by NOTIFYs for serials a check since reached: nothing to do.
                // (Under the wakes' lock, so a NOTIFY arriving meanwhile is not dropped.)
                {
                    let mut wakes = lock(&self.job.wakes);
                    if !wakes.want_check(&lock(&self.job.status)) {
                        *wakes = Wakes::default();
                        continue;
                    }
                }
            }
            // A jump noticed meanwhile moves the timers before this check sets them anew.
            if let Some(skew) = clock.jump(now_ms(), std::time::Instant::now()) {
                shift_timers(&mut lock(&self.job.status), skew);
                tracing::warn!(zone = %self.zone, jump_ms = skew, "the wall clock jumped; the refresh and expiry timers moved with it");
            }
            // After a transfer the next NOTIFY is likely a new change: no gap.
            let transferred = self.check().await;
            // The timers the check set are in the wall clock's present frame.
            clock = ClockWatch::new(now_ms(), std::time::Instant::now());
            last_check = (!transferred).then(tokio::time::Instant::now);
        }
    }

    /// Takes the persisted status (after a start or a change of leader),
    /// unless it belongs to an earlier zone of the same name.
    async fn load_status(&self) {
        let (key, zone) = (meta_key(&self.zone), self.zone.clone());
        let loaded = self
            .blocking(move |c| {
                let created = c.zone_info(&zone).map(|i| i.created_at).unwrap_or(0);
                let stored = c.store().meta_get(&key).ok().flatten();
                (created, stored)
            })
            .await;
        let Some((created, stored)) = loaded else {
            return;
        };
        let stored = stored
            .and_then(|text| serde_json::from_str::<SecondaryStatus>(&text).ok())
            .filter(|s| s.zone_created_at == created);
        let expired = {
            let mut st = lock(&self.job.status);
            match stored {
                Some(mut s) => {
                    bound_loaded_timers(&mut s, now_ms(), self.inner.config.refresh_max);
                    *st = s
                }
                None => {
                    *st = SecondaryStatus {
                        next_refresh_ms: now_ms(),
                        zone_created_at: created,
                        ..SecondaryStatus::default()
                    }
                }
            }
            st.expired
        };
        // While another node led, this one served the expiry it read from
        // the store; from now on the status decides.
        let zone = self.zone.clone();
        if let Some(Err(e)) = self.blocking(move |c| c.set_expired(&zone, expired)).await {
            tracing::debug!(zone = %self.zone, "expiry not taken over: {e}");
        }
    }

    /// Persists the status, and the expiry for the nodes that follow the
    /// store (edges and the other control planes serve SERVFAIL past it).
    async fn save_status(&self) {
        let (text, expires_at) = {
            let st = lock(&self.job.status);
            (
                serde_json::to_string(&*st).unwrap_or_default(),
                st.expires_at_ms,
            )
        };
        let (key, zone) = (meta_key(&self.zone), self.zone.clone());
        match self
            .blocking(move |c| {
                c.store().meta_set(&key, &text)?;
                c.store().set_zone_expiry(&zone, expires_at)
            })
            .await
        {
            Some(Ok(())) => {}
            Some(Err(e)) => tracing::warn!(zone = %self.zone, "secondary timers not saved: {e}"),
            None => {}
        }
    }

    async fn expire_if_due(&self) {
        let due = {
            let st = lock(&self.job.status);
            !st.expired && st.expires_at_ms.is_some_and(|e| now_ms() >= e)
        };
        if !due {
            return;
        }
        let zone = self.zone.clone();
        match self.blocking(move |c| c.set_expired(&zone, true)).await {
            Some(Ok(())) => {
                lock(&self.job.status).expired = true;
                tracing::error!(zone = %self.zone, "secondary zone expired: no successful refresh within the SOA expire interval; answering SERVFAIL");
                self.save_status().await;
            }
            Some(Err(e)) => tracing::warn!(zone = %self.zone, "expiry not applied: {e}"),
            None => {}
        }
    }

    /// One check of every primary in turn until one succeeds; whether it transferred.
    async fn check(&self) -> bool {
        let Ok(_slot) = self.inner.slots.clone().acquire_owned().await else {
            return false;
        };
        self.inner.stats.checks.fetch_add(1, Ordering::Relaxed);
        // This check covers every wake so far; those that come during it are kept.
        *lock(&self.job.wakes) = Wakes::default();
        let started = now_ms();
        let force = self.job.force_axfr.swap(false, Ordering::SeqCst);
        let result = self.check_primaries(force).await;
        let now = now_ms();
        let soa = {
            let zone = self.zone.clone();
            self.blocking(move |c| c.soa(&zone)).await
        };
        let timers = match soa {
            Some(Ok(Some(soa))) => soa_fields(&soa.rdata),
            _ => None,
        };
        let config = &self.inner.config;
        {
            let mut st = lock(&self.job.status);
            st.last_refresh_ms = Some(started);
            match &result {
                Ok((primary, found)) => {
                    st.failures = 0;
                    st.last_success_ms = Some(now);
                    st.primary = Some(primary.to_string());
                    let [_, refresh, _, expire, _] = timers.unwrap_or([0, 3600, 600, 604_800, 0]);
                    let refresh = clamp(refresh, config.refresh_min, config.refresh_max);
                    let jitter = refresh.mul_f64(rand::random::<f64>() * 0.1);
                    st.next_refresh_ms = now + millis(refresh - jitter);
                    let expire = Duration::from_secs(u64::from(expire)).max(config.expire_min);
                    st.expires_at_ms = Some(now + millis(expire));
                    match found {
                        Found::UpToDate(serial) => {
                            st.primary_serial = Some(*serial);
                            st.checked_serial = Some(*serial);
                            st.last_refresh_outcome = Some("up-to-date".into());
                        }
                        Found::Transferred(t) => {
                            st.primary_serial = Some(t.serial_to);
                            st.checked_serial = Some(t.serial_to);
                            st.last_refresh_outcome = Some("transferred".into());
                            st.last_transfer = Some(t.clone());
                        }
                    }
                }
                Err(e) => {
                    self.inner.stats.failed.fetch_add(1, Ordering::Relaxed);
                    st.failures = st.failures.saturating_add(1);
                    st.last_refresh_outcome = Some("error".into());
                    st.last_error = Some(e.clone());
                    st.last_error_ms = Some(now);
                    let retry = match timers {
                        Some([_, _, retry, _, _]) => {
                            clamp(retry, config.refresh_min, config.refresh_max)
                        }
                        None => config.retry_without_soa,
                    };
                    st.next_refresh_ms = now + millis(retry);
                    tracing::warn!(zone = %self.zone, next_in_ms = millis(retry), "refresh failed: {e}");
                }
            }
        }
        let unexpire = result.is_ok() && lock(&self.job.status).expired;
        if unexpire {
            let zone = self.zone.clone();
            if let Some(Ok(())) = self.blocking(move |c| c.set_expired(&zone, false)).await {
                lock(&self.job.status).expired = false;
            }
        }
        self.save_status().await;
        matches!(result, Ok((_, Found::Transferred(_))))
    }

    /// The check over the primaries, starting with the last that answered.
    async fn check_primaries(&self, force: bool) -> Result<(SocketAddr, Found), String> {
        let zone = self.zone.clone();
        let Some(Ok(info)) = self.blocking(move |c| c.zone_info(&zone)).await else {
            return Err("the zone is gone".into());
        };
        let mut primaries: Vec<SocketAddr> = info
            .settings
            .primaries
            .iter()
            .filter_map(|p| parse_server(p))
            .collect();
        if primaries.is_empty() {
            return Err("the zone has no usable primary".into());
        }
        let last = lock(&self.job.status).primary.clone();
        if let Some(i) = primaries.iter().position(|p| Some(p.to_string()) == last) {
            primaries.rotate_left(i);
        }
        let key = match &info.settings.tsig_key {
            None => None,
            Some(name) => {
                let (keys, n) = (self.inner.keys.clone(), name.clone());
                match tokio::task::spawn_blocking(move || keys(&n))
                    .await
                    .ok()
                    .flatten()
                {
                    Some(k) => Some(k),
                    None => return Err(format!("TSIG key '{name}' not found")),
                }
            }
        };
        let mut errors = Vec::new();
        for p in primaries {
            match self.check_one(p, key.as_ref(), force).await {
                Ok(found) => return Ok((p, found)),
                Err(e) => {
                    tracing::info!(zone = %self.zone, primary = %p, "refresh from this primary failed: {e}");
                    errors.push(e);
                }
            }
        }
        Err(errors.join("; "))
    }

    async fn check_one(
        &self,
        primary: SocketAddr,
        key: Option<&Key>,
        force: bool,
    ) -> Result<Found, String> {
        let started = std::time::Instant::now();
        let config = &self.inner.config.client;
        let zone = self.zone.clone();
        let ours = match self.blocking(move |c| c.soa(&zone)).await {
            Some(Ok(s)) => s,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("internal: task failed".into()),
        };
        let our_serial = ours
            .as_ref()
            .and_then(|s| crate::response::soa_serial(&s.rdata));
        let theirs = client::query_soa(primary, &self.zone, key, config)
            .await
            .map_err(|e| e.to_string())?;
        lock(&self.job.status).primary_serial = Some(theirs.serial);
        if let (Some(ours), false) = (our_serial, force) {
            if theirs.serial == ours {
                return Ok(Found::UpToDate(ours));
            }
            if serial_gt(ours, theirs.serial) {
                return Err(format!(
                    "{primary}: the primary's serial {} is older than ours {ours}; not transferred (retransfer takes it)",
                    theirs.serial
                ));
            }
        }
        let ixfr_from = if force { None } else { ours.as_ref() };
        let info = self
            .transfer(primary, key, ixfr_from, our_serial, force)
            .await?;
        Ok(Found::Transferred(TransferInfo {
            duration_ms: started.elapsed().as_millis() as u64,
            ..info
        }))
    }

    /// IXFR from `ours` when given, falling back to AXFR; AXFR otherwise.
    async fn transfer(
        &self,
        primary: SocketAddr,
        key: Option<&Key>,
        ours: Option<&Record>,
        our_serial: Option<u32>,
        force: bool,
    ) -> Result<TransferInfo, String> {
        let config = &self.inner.config.client;
        // Why the IXFR was not used, kept for the error when the AXFR fails too.
        let mut ixfr_failed = None;
        if let Some(soa) = ours {
            let why = match client::transfer(primary, &self.zone, Some(soa), key, config).await {
                Ok(t) => match self.apply(primary, "IXFR", t, our_serial, force).await {
                    Ok(info) => return Ok(info),
                    Err(Fallback::Axfr(why)) => why,
                    Err(Fallback::Fail(why)) => return Err(why),
                },
                Err(e) if falls_back(&e) => e.to_string(),
                Err(e) => return Err(e.to_string()),
            };
            self.fallback(primary, &why);
            ixfr_failed = Some(why);
        }
        let with_ixfr = |why: String| match &ixfr_failed {
            Some(i) => format!("IXFR not used ({i}), then AXFR: {why}"),
            None => why,
        };
        let t = client::transfer(primary, &self.zone, None, key, config)
            .await
            .map_err(|e| with_ixfr(e.to_string()))?;
        match self.apply(primary, "AXFR", t, our_serial, force).await {
            Ok(info) => Ok(info),
            Err(Fallback::Axfr(why) | Fallback::Fail(why)) => Err(with_ixfr(why)),
        }
    }

    fn fallback(&self, primary: SocketAddr, why: &str) {
        self.inner
            .stats
            .ixfr_fallbacks
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(zone = %self.zone, %primary, "IXFR not used, trying AXFR: {why}");
    }

    /// Applies a received transfer.
    async fn apply(
        &self,
        primary: SocketAddr,
        asked: &str,
        t: Transfer,
        our_serial: Option<u32>,
        force: bool,
    ) -> Result<TransferInfo, Fallback> {
        let records = t.received.record_count();
        let (kind, transferred) = match t.received {
            Received::UpToDate { serial } => {
                return Err(Fallback::Fail(format!(
                    "{primary}: {asked} answered with serial {serial} only, not newer than ours"
                )))
            }
            Received::Full { records } => ("AXFR", Transferred::Full(records)),
            Received::Incremental { deltas } => (
                "IXFR",
                Transferred::Incremental(deltas.into_iter().map(change_of).collect()),
            ),
        };
        let new_serial = match &transferred {
            Transferred::Full(records) => records
                .iter()
                .find(|r| r.rtype == zonecast_proto::Rtype::SOA)
                .and_then(|r| soa_fields(&r.rdata)),
            Transferred::Incremental(changes) => changes.last().and_then(|c| {
                c.added
                    .iter()
                    .find(|r| r.rtype == zonecast_proto::Rtype::SOA)
                    .and_then(|r| soa_fields(&r.rdata))
            }),
        };
        let Some(fields) = new_serial else {
            return Err(Fallback::Fail(format!("{primary}: no SOA in the transfer")));
        };
        check_timers(&fields).map_err(|e| Fallback::Fail(format!("{primary}: {e}")))?;
        if let (Some(ours), false, "AXFR") = (our_serial, force, kind) {
            if !serial_gt(fields[0], ours) && fields[0] != ours {
                return Err(Fallback::Fail(format!(
                    "{primary}: the AXFR carries serial {}, older than ours {ours}",
                    fields[0]
                )));
            }
        }
        let zone = self.zone.clone();
        let applied = self
            .blocking(move |c| c.apply_transfer(&zone, transferred))
            .await
            .unwrap_or_else(|| Err(ControlError::Internal("task failed".into())));
        match applied {
            Ok(a) => {
                let counter = if kind == "IXFR" {
                    &self.inner.stats.ixfr
                } else {
                    &self.inner.stats.axfr
                };
                counter.fetch_add(1, Ordering::Relaxed);
                tracing::info!(zone = %self.zone, %primary, kind, from = a.serial_from, to = a.serial_to,
                    records, messages = t.messages, bytes = t.bytes, ms = t.elapsed.as_millis() as u64,
                    "transfer applied");
                Ok(TransferInfo {
                    kind: kind.into(),
                    at_ms: now_ms(),
                    primary: primary.to_string(),
                    serial_from: a.serial_from,
                    serial_to: fields[0],
                    records,
                    messages: t.messages,
                    bytes: t.bytes,
                    duration_ms: 0,
                })
            }
            Err(e) if kind == "IXFR" => Err(Fallback::Axfr(format!(
                "{primary}: the IXFR does not apply: {e}"
            ))),
            Err(e) => Err(Fallback::Fail(format!(
                "{primary}: the {kind} was not applied: {e}"
            ))),
        }
    }
}

/// Why a transfer did not apply: try AXFR, or give up on this primary.
enum Fallback {
    Axfr(String),
    Fail(String),
}

/// Whether an IXFR error is one an AXFR may get past: the primary refused
/// IXFR, or its answer was out of sequence or did not chain.
fn falls_back(e: &ClientError) -> bool {
    e.ixfr_refused()
        || matches!(
            e,
            ClientError::Read {
                error: crate::response::ReadError::Sequence(_),
                ..
            }
        )
}

fn change_of(d: Delta) -> Change {
    Change {
        serial_from: d.from,
        serial_to: d.to,
        removed: d.removed,
        added: d.added,
    }
}

/// Refuses SOA timers no zone can mean: refresh, retry or expire 0 or above 2^31−1.
pub fn check_timers(fields: &[u32; 5]) -> Result<(), String> {
    let [_, refresh, retry, expire, _] = *fields;
    for (name, v) in [("refresh", refresh), ("retry", retry), ("expire", expire)] {
        if v == 0 || v > 0x7FFF_FFFF {
            return Err(format!(
                "absurd SOA {name} {v} (refresh {refresh}, retry {retry}, expire {expire}); not applied"
            ));
        }
    }
    Ok(())
}

fn clamp(secs: u32, min: Duration, max: Duration) -> Duration {
    Duration::from_secs(u64::from(secs)).clamp(min, max.max(min))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
