//! Wiring: NOTIFY out after each new version of a zone, and the node's
//! extra status and metrics for the API.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use zonecast_control::{parse_server, ZoneObserver, ZoneSettings};
use zonecast_proto::{Name, Rtype};
use zonecast_server::notify_log::{NotifyOutcome, NOTIFY_IN};
use zonecast_server::xfr::XfrStats;
use zonecast_server::NotifyVerdict;
use zonecast_store::{Store, ZoneKind};
use zonecast_xfr::notify::{NotifyOut, TargetState};
use zonecast_xfr::secondary::{Secondaries, SecondaryStatus};
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
        if (settings.notify.is_empty() && !settings.notify_ns) || !(self.sends)() {
            return;
        }
        let mut targets: Vec<SocketAddr> = settings
            .notify
            .iter()
            .filter_map(|t| parse_server(t))
            .collect();
        let key = settings.tsig_key.clone();
        if !settings.notify_ns {
            self.out.notify(zone, serial, &targets, key.as_deref());
            return;
        }
        let (in_zone, elsewhere) = ns_targets(version);
        targets.extend(in_zone);
        let (out, zone) = (self.out.clone(), zone.clone());
        // Names outside the zone need the resolver: off this (locked) thread.
        self.out.runtime().spawn(async move {
            for name in elsewhere {
                match tokio::net::lookup_host((name.as_str(), 53)).await {
                    Ok(addrs) => targets.extend(addrs),
                    Err(e) => {
                        tracing::warn!(%zone, ns = %name, "NOTIFY: cannot resolve NS name: {e}")
                    }
                }
            }
            targets.sort();
            targets.dedup();
            out.notify(&zone, serial, &targets, key.as_deref());
        });
    }
}

/// The zone's NS names other than the SOA MNAME: the addresses of those in
/// the zone (their A/AAAA records, port 53), and the names of the others.
fn ns_targets(version: &Zone) -> (Vec<SocketAddr>, Vec<String>) {
    let apex = version.apex_node();
    let mname = apex
        .rrset(Rtype::SOA)
        .and_then(|s| s.rdatas().next())
        .and_then(|rd| Name::parse_wire(rd, 0).ok())
        .map(|(n, _)| n.to_lowercase());
    let Some(ns) = apex.rrset(Rtype::NS) else {
        return (Vec::new(), Vec::new());
    };
    let (mut addrs, mut names) = (Vec::new(), Vec::new());
    for rd in ns.rdatas() {
        let Ok((name, _)) = Name::parse_wire(rd, 0) else {
            continue;
        };
        let name = name.to_lowercase();
        if Some(&name) == mname.as_ref() {
            continue;
        }
        if !name.is_subdomain_of(version.apex()) {
            names.push(name.to_string());
            continue;
        }
        let Some(node) = version.node_named(&name) else {
            continue;
        };
        for rtype in [Rtype::A, Rtype::AAAA] {
            for rd in node.rrset(rtype).into_iter().flat_map(|s| s.rdatas()) {
                let ip: Option<std::net::IpAddr> = match rd.len() {
                    4 => <[u8; 4]>::try_from(rd).ok().map(Into::into),
                    16 => <[u8; 16]>::try_from(rd).ok().map(Into::into),
                    _ => None,
                };
                addrs.extend(ip.map(|ip| SocketAddr::new(ip, 53)));
            }
        }
    }
    (addrs, names)
}

/// How a NOTIFY reaching this node is answered (RFC 1996 §3.10, §4.7):
/// NOTAUTH for a zone it neither serves nor holds; REFUSED, logged, for a
/// zone served but not yet readable in the store (an edge publishes a new
/// zone a few milliseconds before its local snapshot has the row), a primary
/// zone, a peer that is not one of the secondary zone's primaries, or,
/// when the zone has a TSIG key, a NOTIFY not signed with that key;
/// accepted from a primary (the caller acts on it).
pub fn notify_in_verdict(
    store: &Store,
    zone: &Name,
    served: bool,
    peer: SocketAddr,
    key: Option<&Name>,
) -> NotifyVerdict {
    let row = match store.zone(zone) {
        Ok(Some(row)) => row,
        Ok(None) if served => {
            return refuse(
                NotifyOutcome::NotStored,
                zone,
                peer,
                "the zone's row is not stored yet",
            );
        }
        Ok(None) => return NotifyVerdict::NotAuth,
        Err(e) => {
            return refuse(
                NotifyOutcome::StoreError,
                zone,
                peer,
                &format!("store unreadable: {e}"),
            );
        }
    };
    if row.kind != ZoneKind::Secondary {
        return refuse(
            NotifyOutcome::NotSecondary,
            zone,
            peer,
            "not a secondary zone",
        );
    }
    let settings = ZoneSettings::from_json(&row.settings).unwrap_or_default();
    let from_primary = settings
        .primaries
        .iter()
        .filter_map(|p| parse_server(p))
        .any(|p| p.ip() == peer.ip());
    if !from_primary {
        return refuse(
            NotifyOutcome::NotPrimary,
            zone,
            peer,
            "not from one of the zone's primaries",
        );
    }
    if let Some(wanted) = &settings.tsig_key {
        let signed_with = key.map(|k| k.to_string().trim_end_matches('.').to_ascii_lowercase());
        if signed_with.as_deref()
            != Some(wanted.trim_end_matches('.').to_ascii_lowercase().as_str())
        {
            let signed_with = key.map_or("no key".to_string(), |k| format!("key {k}"));
            let why = format!("not signed with the zone's TSIG key {wanted} ({signed_with})");
            return refuse(NotifyOutcome::NotSigned, zone, peer, &why);
        }
    }
    NotifyVerdict::Accepted
}

/// Counts a refused NOTIFY and logs it, at most one line per reason every
/// 10 s (`notify_log`): spoofed UDP must not flood the log.
fn refuse(outcome: NotifyOutcome, zone: &Name, peer: SocketAddr, why: &str) -> NotifyVerdict {
    if let Some(unlogged) = NOTIFY_IN.record(outcome) {
        if outcome == NotifyOutcome::StoreError {
            tracing::warn!(%zone, %peer, unlogged, "NOTIFY refused: {why}");
        } else {
            tracing::info!(%zone, %peer, unlogged, "NOTIFY refused: {why}");
        }
    }
    NotifyVerdict::Refused
}

/// Counts an accepted NOTIFY. Its log line is always written (the
/// propagation benchmarks and operators follow each one): it came from a
/// primary's address, and what it triggers is coalesced (`WAKE_GAP`).
pub fn count_accepted() {
    NOTIFY_IN.count(NotifyOutcome::Accepted);
}

/// NOTIFY reaching a control plane: answered by [`notify_in_verdict`];
/// an accepted one wakes the zone's refresh (or is relayed to the leader
/// in cluster mode when this control plane does not lead).
pub struct ControlNotify {
    pub control: Arc<zonecast_control::Control>,
    pub secondaries: Secondaries,
}

impl zonecast_server::NotifySink for ControlNotify {
    fn notify(
        &self,
        zone: &Name,
        served: bool,
        peer: SocketAddr,
        key: Option<&Name>,
        serial: Option<u32>,
    ) -> NotifyVerdict {
        let verdict = notify_in_verdict(self.control.store(), zone, served, peer, key);
        if verdict == NotifyVerdict::Accepted {
            count_accepted();
            tracing::info!(%zone, %peer, serial, "NOTIFY accepted from a primary of the zone");
            if self.secondaries.is_active() {
                self.secondaries.notify(zone, serial);
            } else {
                relay_action(&self.control, zone, "notify", &peer.to_string(), serial);
            }
        }
        verdict
    }
}

/// Hands a secondary-zone action to the leading control plane (cluster
/// mode) on the channel edges relay NOTIFY on. Runs off the caller's thread.
pub fn relay_action(
    control: &Arc<zonecast_control::Control>,
    zone: &Name,
    action: &str,
    from: &str,
    serial: Option<u32>,
) {
    let mut payload = serde_json::Map::new();
    payload.insert("zone".into(), zone.to_string().into());
    payload.insert("action".into(), action.into());
    payload.insert("from".into(), from.into());
    if let Some(s) = serial {
        payload.insert("serial".into(), s.into());
    }
    let control = control.clone();
    std::thread::spawn(move || {
        let store = control.store();
        // Manual controls are signed (edges could pg_notify them); NOTIFY is not.
        if payload["action"] != "notify" {
            if let Err(e) = crate::relay_auth::sign(store, &mut payload, now_ms().div_euclid(1000))
            {
                tracing::warn!("secondary action not relayed to the leader: cannot sign it: {e}");
                return;
            }
        }
        let text = serde_json::Value::Object(payload).to_string();
        if let Err(e) = store.notify(zonecast_store::DNS_NOTIFY_CHANNEL, &text) {
            tracing::warn!("secondary action not relayed to the leader: {e}");
        }
    });
}

/// The API's manual controls of secondary zones.
pub fn secondary_action(
    control: &Arc<zonecast_control::Control>,
    secondaries: &Secondaries,
    zone: &Name,
    action: zonecast_api::SecondaryAction,
) -> Result<(), String> {
    use zonecast_api::SecondaryAction;
    let name = match action {
        SecondaryAction::Refresh => "refresh",
        SecondaryAction::Retransfer => "retransfer",
    };
    if !secondaries.is_active() {
        relay_action(control, zone, name, "api", None);
        return Ok(());
    }
    let r = match action {
        SecondaryAction::Refresh => secondaries.refresh(zone),
        SecondaryAction::Retransfer => secondaries.retransfer(zone),
    };
    r.map_err(|e| e.to_string())
}

/// The API's view of NOTIFY out, transfers and secondary zones.
pub struct Extras {
    pub notify: NotifyOut,
    pub xfr: Arc<XfrStats>,
    pub tcp: Arc<zonecast_server::TcpStats>,
    pub rrl: Option<Arc<zonecast_server::rrl::Rrl>>,
    pub udp: Arc<zonecast_server::udp::UdpStats>,
    pub control: Arc<zonecast_control::Control>,
    pub secondaries: Secondaries,
}

/// The wall clock, unix ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A secondary zone's status on a control plane that does not run the
/// machine (cluster mode, not leading): the persisted one, as the leader saved it.
fn persisted_status(control: &zonecast_control::Control, zone: &Name) -> Option<SecondaryStatus> {
    let text = control
        .store()
        .meta_get(&format!("secondary:{}", zone.to_lowercase()))
        .ok()??;
    serde_json::from_str(&text).ok()
}

impl zonecast_api::Extras for Extras {
    fn secondary_action(
        &self,
        zone: &Name,
        action: zonecast_api::SecondaryAction,
    ) -> Result<(), String> {
        secondary_action(&self.control, &self.secondaries, zone, action)
    }

    fn zone_changed(&self, _zone: &Name) {
        self.secondaries.zones_changed();
    }

    fn zone_status(&self, zone: &Name) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        let secondary = if self.secondaries.is_active() {
            self.secondaries.status(zone)
        } else {
            persisted_status(&self.control, zone)
        };
        if let Some(st) = secondary {
            m.insert(
                "secondary".into(),
                crate::secondary::status_json(&st, now_ms()),
            );
        }
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
        crate::secondary::metrics(&self.secondaries, now_ms(), out);
        out.push_str(&NOTIFY_IN.metrics_text());
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
        let rrl = zonecast_server::rrl::samples(self.rrl.as_deref());
        let udp = self.udp.samples();
        for (name, help, kind, v) in self.tcp.samples().into_iter().chain(rrl).chain(udp) {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ns_targets_skip_the_mname_and_split_in_zone_from_outside() {
        let apex: Name = "example.com.".parse().unwrap();
        let text = "$TTL 300\n@ SOA ns1 host 1 3600 900 604800 60\n@ NS ns1\n@ NS ns2\n@ NS ns.other.example.\n\
                    ns1 A 192.0.2.1\nns2 A 192.0.2.2\nns2 AAAA 2001:db8::2\n";
        let data = zonecast_zonefile::load_str(text, &apex, "t").unwrap();
        let zone = Zone::build(&apex, &data.records).unwrap();
        let (addrs, names) = ns_targets(&zone);
        let mut addrs: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
        addrs.sort();
        assert_eq!(
            addrs,
            vec!["192.0.2.2:53", "[2001:db8::2]:53"],
            "ns1 is the MNAME"
        );
        assert_eq!(names, vec!["ns.other.example.".to_string()]);
    }

    /// Regression (CI, stop 14): an edge serves a new zone a few ms before
    /// its local snapshot has the row; a NOTIFY then got NOTAUTH.
    #[test]
    fn notify_verdicts_by_zone_kind_peer_and_key() {
        use zonecast_store::ZoneKind;
        let store = Store::open_in_memory().unwrap();
        let sec: Name = "sec.example.".parse().unwrap();
        let signed: Name = "signed.example.".parse().unwrap();
        let prim: Name = "example.com.".parse().unwrap();
        let settings = r#"{"primaries": ["192.0.2.53"]}"#;
        store
            .create_zone_with_settings(&sec, ZoneKind::Secondary, settings, &[])
            .unwrap();
        let keyed = r#"{"primaries": ["192.0.2.53:5353"], "tsig_key": "k1."}"#;
        store
            .create_zone_with_settings(&signed, ZoneKind::Secondary, keyed, &[])
            .unwrap();
        store.create_zone(&prim, ZoneKind::Primary, &[]).unwrap();
        let primary: SocketAddr = "192.0.2.53:40000".parse().unwrap();
        let other: SocketAddr = "192.0.2.54:40000".parse().unwrap();
        let k1: Name = "K1.".parse().unwrap();
        let k2: Name = "k2.".parse().unwrap();
        let v = |zone: &Name, served, peer, key| notify_in_verdict(&store, zone, served, peer, key);
        assert_eq!(v(&sec, false, primary, None), NotifyVerdict::Accepted);
        let not_primary = || {
            let counts = NOTIFY_IN.counts();
            counts
                .iter()
                .find(|(o, _)| *o == NotifyOutcome::NotPrimary)
                .map_or(0, |c| c.1)
        };
        let before = not_primary();
        assert_eq!(v(&sec, true, other, None), NotifyVerdict::Refused);
        assert!(not_primary() > before, "a refusal is counted by its reason");
        assert_eq!(v(&prim, true, primary, None), NotifyVerdict::Refused);
        assert_eq!(
            v(&signed, true, primary, Some(&k1)),
            NotifyVerdict::Accepted,
            "key names compare case-blind"
        );
        assert_eq!(v(&signed, true, primary, None), NotifyVerdict::Refused);
        assert_eq!(v(&signed, true, primary, Some(&k2)), NotifyVerdict::Refused);
        let new: Name = "new.example.".parse().unwrap();
        assert_eq!(v(&new, false, primary, None), NotifyVerdict::NotAuth);
        assert_eq!(
            v(&new, true, primary, None),
            NotifyVerdict::Refused,
            "served, row not stored yet"
        );
    }
}
