//! NOTIFY out (RFC 1996).
//!
//! [`NotifyOut::notify`] announces a zone's new serial to a list of targets.
//! Each target gets its own delivery: a NOTIFY (opcode 4, AA, the zone's SOA
//! question, RFC 1996 §3.3–§3.7) over UDP from a fresh ephemeral socket,
//! sent again when no answer comes within the next timeout of
//! [`NotifyConfig::timeouts`] (1, 2, 4, 8, 16 s by default: five tries over
//! about 31 s, RFC 1996 §3.6 asks for retransmission "at intervals").
//! An answer counts when it comes from the target, has the query's ID, QR
//! set, opcode NOTIFY and the same question; NOERROR acknowledges, any
//! other rcode (REFUSED, NOTAUTH, ...) is final and recorded as an error.
//! A newer serial for a zone replaces a delivery still in progress to the
//! same target.
//!
//! The outcome of the last NOTIFY of each zone is kept per target
//! ([`NotifyOut::status`]) and counted ([`NotifyStats`]).
//!
//! With a key name, each NOTIFY is signed with that TSIG key (RFC 8945,
//! looked up by [`NotifyOut::with_keys`]'s function when sent) and only an
//! answer signed with it counts; an unknown key is an error of the delivery.
//!
//! Limitations: UDP only (no TCP fallback).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;
use tokio::task::AbortHandle;
use zonecast_proto::message::{build_query, rcode_name, Message};
use zonecast_proto::query::OPCODE_NOTIFY;
use zonecast_proto::tsig::{sign_request, Key, DEFAULT_FUDGE};
use zonecast_proto::{Name, Rtype};

/// How NOTIFY is retried.
#[derive(Clone, Debug)]
pub struct NotifyConfig {
    /// How long to wait for an answer to each try; one try per entry.
    pub timeouts: Vec<Duration>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            timeouts: [1, 2, 4, 8, 16].map(Duration::from_secs).to_vec(),
        }
    }
}

/// Where one target stands for the zone's last NOTIFY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetState {
    /// Being sent; no answer yet.
    Pending,
    /// Answered NOERROR.
    Acknowledged,
    /// Refused with an rcode, or no answer after every try.
    Error(String),
}

/// One target's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetStatus {
    /// Where it stands.
    pub state: TargetState,
    /// Tries sent so far.
    pub attempts: u32,
    /// When the state last changed, unix milliseconds.
    pub at_ms: i64,
}

/// The last NOTIFY of a zone and how each target took it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneNotify {
    /// The serial announced.
    pub serial: u32,
    /// When it was first sent, unix milliseconds.
    pub at_ms: i64,
    /// Per target (`ADDR:PORT`).
    pub targets: BTreeMap<SocketAddr, TargetStatus>,
}

/// Counters of NOTIFY out, for `/metrics`.
#[derive(Debug, Default)]
pub struct NotifyStats {
    /// NOTIFY messages sent (each try counts).
    pub sent: AtomicU64,
    /// Deliveries acknowledged.
    pub acknowledged: AtomicU64,
    /// Deliveries that ended in an error.
    pub failed: AtomicU64,
}

type Status = Arc<Mutex<HashMap<Name, ZoneNotify>>>;

/// The NOTIFY-out service; [`NotifyOut::notify`] may be called from any thread.
#[derive(Clone)]
pub struct NotifyOut {
    runtime: tokio::runtime::Handle,
    config: Arc<NotifyConfig>,
    status: Status,
    running: Arc<Mutex<HashMap<(Name, SocketAddr), AbortHandle>>>,
    stats: Arc<NotifyStats>,
    keys: Keys,
}

/// Finds a TSIG key by its stored name; may block (run off the runtime).
pub type Keys = Arc<dyn Fn(&str) -> Option<Key> + Send + Sync>;

impl NotifyOut {
    /// A service with `config`, its deliveries run on `runtime`.
    pub fn new(config: NotifyConfig, runtime: tokio::runtime::Handle) -> NotifyOut {
        NotifyOut {
            runtime,
            config: Arc::new(config),
            status: Arc::default(),
            running: Arc::default(),
            stats: Arc::default(),
            keys: Arc::new(|_| None),
        }
    }

    /// Where keys named by [`NotifyOut::notify`] are found.
    pub fn with_keys(mut self, keys: Keys) -> NotifyOut {
        self.keys = keys;
        self
    }

    /// Announces `serial` of `zone` to every target, replacing deliveries of an older serial.
    ///
    /// Returns at once; the deliveries run on the service's runtime.
    /// Nothing is sent without targets (the status is left as it was).
    /// With `key`, every NOTIFY is signed with the TSIG key of that name.
    pub fn notify(&self, zone: &Name, serial: u32, targets: &[SocketAddr], key: Option<&str>) {
        if targets.is_empty() {
            return;
        }
        let zone = zone.to_lowercase();
        let now = now_ms();
        {
            let mut st = lock(&self.status);
            let entry = ZoneNotify {
                serial,
                at_ms: now,
                targets: targets
                    .iter()
                    .map(|t| {
                        let s = TargetStatus {
                            state: TargetState::Pending,
                            attempts: 0,
                            at_ms: now,
                        };
                        (*t, s)
                    })
                    .collect(),
            };
            st.insert(zone.clone(), entry);
        }
        let mut running = lock(&self.running);
        for &target in targets {
            if let Some(old) = running.remove(&(zone.clone(), target)) {
                old.abort();
            }
            let job = Delivery {
                zone: zone.clone(),
                serial,
                target,
                config: self.config.clone(),
                status: self.status.clone(),
                stats: self.stats.clone(),
                key: key.map(|k| (k.to_string(), self.keys.clone())),
            };
            let handle = self.runtime.spawn(job.run());
            running.insert((zone.clone(), target), handle.abort_handle());
        }
        running.retain(|_, h| !h.is_finished());
    }

    /// The zone's last NOTIFY and each target's outcome; `None` when none was sent.
    pub fn status(&self, zone: &Name) -> Option<ZoneNotify> {
        lock(&self.status).get(&zone.to_lowercase()).cloned()
    }

    /// The runtime deliveries run on.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    /// The counters.
    pub fn stats(&self) -> Arc<NotifyStats> {
        self.stats.clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// One NOTIFY to one target, with its retries.
struct Delivery {
    zone: Name,
    serial: u32,
    target: SocketAddr,
    config: Arc<NotifyConfig>,
    status: Status,
    stats: Arc<NotifyStats>,
    key: Option<(String, Keys)>,
}

impl Delivery {
    async fn run(self) {
        let outcome = self.tries().await;
        match &outcome {
            TargetState::Acknowledged => {
                self.stats.acknowledged.fetch_add(1, Ordering::Relaxed);
                tracing::info!(zone = %self.zone, serial = self.serial, target = %self.target, "NOTIFY acknowledged");
            }
            TargetState::Error(why) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(zone = %self.zone, serial = self.serial, target = %self.target, "NOTIFY failed: {why}");
            }
            TargetState::Pending => {}
        }
        self.record(outcome, None);
    }

    /// Sends until an answer or the last timeout; the final state.
    async fn tries(&self) -> TargetState {
        let bind: SocketAddr = if self.target.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let sock = match UdpSocket::bind(bind).await {
            Ok(s) => s,
            Err(e) => return TargetState::Error(format!("no socket: {e}")),
        };
        if let Err(e) = sock.connect(self.target).await {
            return TargetState::Error(format!("cannot reach {}: {e}", self.target));
        }
        let id: u16 = rand::random();
        let mut msg = notify_message(id, &self.zone);
        let signed = match &self.key {
            None => None,
            Some((name, keys)) => {
                let (name, keys) = (name.clone(), keys.clone());
                let found = tokio::task::spawn_blocking(move || keys(&name))
                    .await
                    .ok()
                    .flatten();
                let Some(key) = found else {
                    return TargetState::Error(format!(
                        "TSIG key '{}' not found",
                        self.key.as_ref().map_or("", |k| k.0.as_str())
                    ));
                };
                match sign_request(&mut msg, &key, unix_now(), DEFAULT_FUDGE) {
                    Ok(s) => Some(s),
                    Err(e) => return TargetState::Error(format!("signing: {e}")),
                }
            }
        };
        for (i, wait) in self.config.timeouts.iter().enumerate() {
            let attempt = u32::try_from(i + 1).unwrap_or(u32::MAX);
            self.record(TargetState::Pending, Some(attempt));
            self.stats.sent.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = sock.send(&msg).await {
                tracing::debug!(zone = %self.zone, target = %self.target, "NOTIFY send: {e}");
            }
            let deadline = tokio::time::Instant::now() + *wait;
            loop {
                let mut buf = [0u8; 4096];
                let got = tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await;
                let Ok(Ok(n)) = got else { break };
                let Some(rcode) = answer_rcode(&buf[..n], id, &self.zone) else {
                    continue;
                };
                if let Some(req) = &signed {
                    if let Err(e) = req.verifier().verify(&buf[..n], unix_now()) {
                        return TargetState::Error(format!("answer not signed with the key: {e}"));
                    }
                }
                return match rcode {
                    0 => TargetState::Acknowledged,
                    r => TargetState::Error(format!("answered rcode {}", rcode_name(r))),
                };
            }
        }
        TargetState::Error(format!(
            "no answer after {} tries",
            self.config.timeouts.len()
        ))
    }

    fn record(&self, state: TargetState, attempts: Option<u32>) {
        let mut st = lock(&self.status);
        let Some(z) = st.get_mut(&self.zone) else {
            return;
        };
        if z.serial != self.serial {
            return; // a newer NOTIFY replaced this one
        }
        if let Some(t) = z.targets.get_mut(&self.target) {
            t.state = state;
            t.at_ms = now_ms();
            if let Some(a) = attempts {
                t.attempts = a;
            }
        }
    }
}

/// A NOTIFY for `zone`: opcode 4, AA, question `zone IN SOA` (RFC 1996 §3.3–§3.5).
pub fn notify_message(id: u16, zone: &Name) -> Vec<u8> {
    let mut m = build_query(id, zone, Rtype::SOA, None);
    if let Some(flags) = m.get_mut(2) {
        *flags = (OPCODE_NOTIFY << 3) | 0x04;
    }
    m
}

/// The rcode of `wire` when it answers our NOTIFY `id` for `zone`; `None` for anything else.
fn answer_rcode(wire: &[u8], id: u16, zone: &Name) -> Option<u16> {
    let m = Message::parse(wire).ok()?;
    let h = &m.header;
    let q = m.questions.first()?;
    let matches = h.id == id
        && h.qr
        && h.opcode == OPCODE_NOTIFY
        && q.qtype == Rtype::SOA
        && q.qname.to_lowercase() == *zone;
    matches.then(|| m.rcode())
}

#[cfg(test)]
mod tests;
