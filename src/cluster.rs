//! A control plane's duties in cluster mode: compete for leadership, write
//! the heartbeat while leading, follow the other control planes' changes
//! and the secondary zones' expiry the leader records, and take the NOTIFY
//! messages edges relay.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tracing::{debug, info, warn};
use zonecast_control::Control;
use zonecast_store::{ChangeNotice, LeaderLock, ListenEvent, CHANGE_CHANNEL, DNS_NOTIFY_CHANNEL};
use zonecast_xfr::secondary::Secondaries;

/// How often the leader writes the heartbeat row edges measure their lag by.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// The running duties; they stop when this is dropped.
pub struct Duties {
    leader: Arc<LeaderLock>,
    stop: Arc<AtomicBool>,
    /// NOTIFY messages relayed by edges.
    pub notifies_relayed: Arc<AtomicU64>,
}

impl Duties {
    /// Starts competing for leadership, the heartbeat and the listener.
    pub fn start(
        control: Arc<Control>,
        node: String,
        secondaries: Arc<OnceLock<Secondaries>>,
    ) -> anyhow::Result<Duties> {
        let leader = Arc::new(control.store().leader_lock()?);
        let stop = Arc::new(AtomicBool::new(false));
        let notifies_relayed = Arc::new(AtomicU64::new(0));
        spawn("heartbeat", {
            let (control, leader, stop) = (control.clone(), leader.clone(), stop.clone());
            move || heartbeat(&control, &leader, &stop, &node)
        })?;
        spawn("expiry", {
            let (control, leader, stop) = (control.clone(), leader.clone(), stop.clone());
            move || follow_expiries(&control, &leader, &stop)
        })?;
        spawn("listen", {
            let (control, stop, relayed) = (control, stop.clone(), notifies_relayed.clone());
            move || listen(&control, &stop, &relayed, &secondaries)
        })?;
        Ok(Duties {
            leader,
            stop,
            notifies_relayed,
        })
    }

    /// Whether this control plane leads now.
    pub fn is_leader_fn(&self) -> Arc<dyn Fn() -> bool + Send + Sync> {
        let leader = self.leader.clone();
        Arc::new(move || leader.is_leader())
    }
}

impl Drop for Duties {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("starting the {name} thread: {e}"))
}

/// Writes the heartbeat every [`HEARTBEAT_INTERVAL`] while leading.
fn heartbeat(control: &Control, leader: &LeaderLock, stop: &AtomicBool, node: &str) {
    let mut was_leader = false;
    let interval_ms = HEARTBEAT_INTERVAL.as_millis() as u32;
    while !stop.load(Ordering::SeqCst) {
        let leading = leader.is_leader();
        if leading != was_leader {
            info!(
                node,
                leader = leading,
                "leadership {}",
                if leading { "taken" } else { "lost" }
            );
            was_leader = leading;
        }
        if leading {
            if let Err(e) = control.store().heartbeat(node, interval_ms) {
                warn!("heartbeat not written: {e}");
            }
        }
        std::thread::sleep(HEARTBEAT_INTERVAL);
    }
}

/// How often a control plane that does not lead reads the secondary zones' expiries.
pub const EXPIRY_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// While another control plane leads, serves each secondary zone SERVFAIL
/// once the expiry the leader recorded (`zones.expires_at`) has passed, and
/// normally again once the leader records a later one.
///
/// The leader's refresh machine decides for itself (and takes over this
/// node's flags when it starts leading, `Secondaries`). Reading every
/// expiry costs one query per [`EXPIRY_POLL_INTERVAL`]; the deadline is
/// compared with this node's clock, so a clock ahead of the leader's
/// expires the zone that much early.
fn follow_expiries(control: &Control, leader: &LeaderLock, stop: &AtomicBool) {
    let mut expired_here: std::collections::HashSet<zonecast_proto::Name> = Default::default();
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(EXPIRY_POLL_INTERVAL);
        if leader.is_leader() {
            expired_here.clear();
            continue;
        }
        let deadlines = match control.store().zone_expiries() {
            Ok(d) => d,
            Err(e) => {
                debug!("zone expiries not read: {e}");
                continue;
            }
        };
        let now = crate::notify::now_ms();
        let mut still = std::collections::HashSet::new();
        for (zone, at) in deadlines {
            let expired = now >= at;
            match control.set_expired(&zone, expired) {
                Ok(()) if expired => {
                    still.insert(zone);
                }
                Ok(()) => {}
                Err(e) => debug!(%zone, "expiry not followed: {e}"),
            }
        }
        // A zone whose deadline went away (cleared, or the zone deleted) is not expired.
        for zone in expired_here.difference(&still) {
            let _ = control.set_expired(zone, false);
        }
        expired_here = still;
    }
}

/// A NOTIFY relayed by an edge, or a manual control relayed by another
/// control plane: acted on by the leader's refresh machine.
///
/// `refresh` and `retransfer` are taken only when signed by a control plane
/// (`relay_auth`): any role may `pg_notify`, edges included.
fn relayed_action(store: &zonecast_store::Store, payload: &str, secondaries: Option<&Secondaries>) {
    let v: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
    let (zone, from) = (
        v["zone"].as_str().unwrap_or("?"),
        v["from"].as_str().unwrap_or("?"),
    );
    let action = v["action"].as_str().unwrap_or("notify");
    let edge = v["edge"].as_str().unwrap_or("-");
    let Some(s) = secondaries.filter(|s| s.is_active()) else {
        debug!(
            zone,
            from, edge, action, "relayed secondary action left to the leader"
        );
        return;
    };
    let Ok(name) = zone.parse::<zonecast_proto::Name>() else {
        debug!(payload, "relayed action for an unreadable zone");
        return;
    };
    if action != "notify" {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if let Err(why) = crate::relay_auth::verify(store, &v, now) {
            warn!(
                zone,
                from, action, "relayed secondary zone action refused: {why}"
            );
            return;
        }
    }
    if action == "notify" {
        info!(
            zone,
            from, edge, "NOTIFY relayed by an edge: checking the zone"
        );
    } else {
        info!(
            zone,
            from, edge, action, "secondary zone action relayed by another control plane"
        );
    }
    let taken = match action {
        "retransfer" => s.retransfer(&name).is_ok(),
        "refresh" => s.refresh(&name).is_ok(),
        // The serial is a hint: at most it spares a check of a serial the zone has.
        _ => s.notify(
            &name,
            v["serial"].as_u64().and_then(|n| u32::try_from(n).ok()),
        ),
    };
    if !taken {
        debug!(zone, "relayed action for a zone that is not secondary here");
    }
}

/// Follows changes made by other control planes and relayed NOTIFY messages.
fn listen(
    control: &Control,
    stop: &AtomicBool,
    relayed: &AtomicU64,
    secondaries: &OnceLock<Secondaries>,
) {
    let channels = [CHANGE_CHANNEL, DNS_NOTIFY_CHANNEL];
    let result = control
        .store()
        .listen_with(&channels, stop, |event| match event {
            // Notifications may have been missed while not listening: compare every zone.
            ListenEvent::Listening => {
                if let Err(e) = control.sync_all() {
                    warn!("catching up with the store: {e}");
                }
            }
            ListenEvent::Notification { channel, payload } if channel == CHANGE_CHANNEL => {
                match ChangeNotice::parse(payload) {
                    Ok(n) => {
                        if let Err(e) = control.sync_zone_to(&n.zone, n.serial) {
                            warn!(zone = %n.zone, "catching up with the store: {e}");
                        }
                    }
                    Err(e) => debug!(payload, "unreadable change notification: {e}"),
                }
            }
            ListenEvent::Notification { payload, .. } => {
                relayed.fetch_add(1, Ordering::Relaxed);
                relayed_action(control.store(), payload, secondaries.get());
            }
        });
    if let Err(e) = result {
        warn!("not following the store's notifications: {e}");
    }
}
