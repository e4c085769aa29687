//! Wiring: NOTIFY out after each new version of a zone, and the node's
//! extra status and metrics for the API.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use zonecast_control::{parse_server, ZoneObserver, ZoneSettings};
use zonecast_proto::Name;
use zonecast_server::xfr::XfrStats;
use zonecast_xfr::notify::{NotifyOut, TargetState};
use zonecast_zone::Zone;

/// Sends NOTIFY for every new serial of a zone that has `notify` targets,
/// when `sends()` (in cluster mode: while this control plane leads).
pub struct Notifier {
    out: NotifyOut,
    sends: Arc<dyn Fn() -> bool + Send + Sync>,
    last: Mutex<HashMap<Name, u32>>,
}

impl Notifier {
    pub fn new(out: NotifyOut, sends: Arc<dyn Fn() -> bool + Send + Sync>) -> Notifier {
        Notifier {
            out,
            sends,
            last: Mutex::new(HashMap::new()),
        }
    }
}

impl ZoneObserver for Notifier {
    fn published(&self, version: &Arc<Zone>, settings: &ZoneSettings) {
        let zone = version.apex();
        let serial = version.serial();
        {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if last.insert(zone.clone(), serial) == Some(serial) {
                return; // republished (settings), not a new serial
            }
        }
        if settings.notify.is_empty() || !(self.sends)() {
            return;
        }
        let targets: Vec<SocketAddr> = settings
            .notify
            .iter()
            .filter_map(|t| parse_server(t))
            .collect();
        self.out
            .notify(zone, serial, &targets, settings.tsig_key.as_deref());
    }
}

/// The API's view of NOTIFY out and transfers.
pub struct Extras {
    pub notify: NotifyOut,
    pub xfr: Arc<XfrStats>,
}

impl zonecast_api::Extras for Extras {
    fn zone_status(&self, zone: &Name) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        if let Some(n) = self.notify.status(zone) {
            let targets: Vec<serde_json::Value> = n
                .targets
                .iter()
                .map(|(addr, t)| {
                    let (state, error) = match &t.state {
                        TargetState::Pending => ("pending", None),
                        TargetState::Acknowledged => ("acknowledged", None),
                        TargetState::Error(e) => ("error", Some(e.clone())),
                    };
                    serde_json::json!({"target": addr.to_string(), "state": state,
                        "error": error, "attempts": t.attempts, "at": t.at_ms.div_euclid(1000)})
                })
                .collect();
            m.insert(
                "notify".into(),
                serde_json::json!({"serial": n.serial, "at": n.at_ms.div_euclid(1000), "targets": targets}),
            );
        }
        m
    }

    fn metrics(&self, out: &mut String) {
        let n = self.notify.stats();
        let counters = [
            (
                "zonecast_notify_sent_total",
                "NOTIFY messages sent (each try).",
                n.sent.load(Ordering::Relaxed),
            ),
            (
                "zonecast_notify_acknowledged_total",
                "NOTIFY deliveries acknowledged.",
                n.acknowledged.load(Ordering::Relaxed),
            ),
            (
                "zonecast_notify_failed_total",
                "NOTIFY deliveries that failed.",
                n.failed.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, v) in counters
            .into_iter()
            .chain(crate::xfr::xfr_counters(&self.xfr))
        {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
            ));
        }
    }
}
