//! The expiry of secondary zones on an edge (RFC 1034 §4.3.5).
//!
//! The leading control plane runs the refresh machine and records, after
//! every check, when each secondary zone expires (`zones.expires_at`,
//! replicated like the rest of the row). An edge serves such a zone
//! answering SERVFAIL (and refusing transfers out) once that time has
//! passed on its own clock, and normally again once a later expiry
//! arrives. The edge keeps the deadline in its local snapshot, so it
//! expires the zone on time with no control plane or PostgreSQL running.
//!
//! [`ExpiryGate`] is the one way the follower publishes zones: a version
//! published while its zone is past its expiry goes out marked expired
//! ([`Zone::with_expired`]); the version held for applying changes is the
//! unmarked one. [`ExpiryGate::tick`], once a second, marks the zones whose
//! expiry has just passed.
//!
//! Limitations: the deadline is compared with the edge's wall clock, so an
//! edge clock ahead of the leader's expires the zone that much early (and
//! one behind, late); a tick reads every deadline (a few microseconds per
//! thousand secondary zones).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use zonecast_proto::Name;
use zonecast_zone::{SharedZones, Zone};

/// Publishes zones, marked expired while past their expiry (module docs).
pub struct ExpiryGate {
    zones: SharedZones,
    state: Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    /// Unix ms after which each secondary zone is expired.
    deadlines: HashMap<Name, i64>,
    /// The zones published marked expired now.
    expired: HashSet<Name>,
}

impl std::fmt::Debug for ExpiryGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("ExpiryGate")
            .field("deadlines", &st.deadlines.len())
            .field("expired", &st.expired.len())
            .finish()
    }
}

impl ExpiryGate {
    /// A gate publishing into `zones`, with no deadlines yet.
    pub fn new(zones: SharedZones) -> ExpiryGate {
        ExpiryGate {
            zones,
            state: Mutex::new(GateState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies one transaction's (or copy's) outcome: the new expiries
    /// first, then the versions published and the zones withdrawn; a zone
    /// whose expiry changed without a new version is published again with
    /// the right mark.
    pub fn update(
        &self,
        expiries: &[(Name, Option<i64>)],
        publish: &[Arc<Zone>],
        withdraw: &[Name],
        now_ms: i64,
    ) {
        let mut st = self.lock();
        for (name, at) in expiries {
            match at {
                Some(at) => st.deadlines.insert(name.clone(), *at),
                None => st.deadlines.remove(name),
            };
        }
        for v in publish {
            self.put(&mut st, v.clone(), now_ms);
        }
        for name in withdraw {
            st.expired.remove(name);
            self.zones.withdraw(name);
        }
        let published: HashSet<&Name> = publish.iter().map(|v| v.apex()).collect();
        for (name, _) in expiries {
            if !published.contains(name) {
                self.remark(&mut st, name, now_ms);
            }
        }
    }

    /// Marks the zones whose expiry passed since the last tick (and unmarks
    /// any whose expiry moved past now); how many changed.
    pub fn tick(&self, now_ms: i64) -> usize {
        let mut st = self.lock();
        let due: Vec<Name> = st
            .deadlines
            .iter()
            .filter(|(name, &at)| (now_ms >= at) != st.expired.contains(*name))
            .map(|(name, _)| name.clone())
            .collect();
        due.iter()
            .filter(|name| self.remark(&mut st, name, now_ms))
            .count()
    }

    /// The zones published marked expired now.
    #[cfg(test)]
    fn expired(&self) -> Vec<Name> {
        let mut v: Vec<Name> = self.lock().expired.iter().cloned().collect();
        v.sort();
        v
    }

    /// Publishes `v` marked as its zone's expiry says.
    fn put(&self, st: &mut GateState, v: Arc<Zone>, now_ms: i64) {
        let name = v.apex().clone();
        let expired = st.deadlines.get(&name).is_some_and(|&at| now_ms >= at);
        let was = st.expired.contains(&name);
        let v = if v.is_expired() != expired {
            Arc::new(v.with_expired(expired))
        } else {
            v
        };
        self.zones.publish(v);
        if expired != was {
            log_transition(&name, expired, st.deadlines.get(&name).copied());
            if expired {
                st.expired.insert(name);
            } else {
                st.expired.remove(&name);
            }
        }
    }

    /// Publishes the served version of `name` again with the mark it
    /// should have; false when the zone is not served.
    fn remark(&self, st: &mut GateState, name: &Name, now_ms: i64) -> bool {
        let served = self.zones.load().get(name);
        match served {
            Some(v) => {
                self.put(st, v, now_ms);
                true
            }
            None => {
                st.expired.remove(name);
                false
            }
        }
    }
}

fn log_transition(zone: &Name, expired: bool, at: Option<i64>) {
    if expired {
        tracing::error!(%zone, expires_at_ms = at, "secondary zone expired (its primaries not reached within the SOA expire interval, as the leading control plane recorded): answering SERVFAIL");
    } else {
        tracing::warn!(%zone, expires_at_ms = at, "secondary zone no longer expired");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zonecast_proto::{Class, Record, Rtype};
    use zonecast_zone::Zones;

    fn zone(apex: &str) -> Arc<Zone> {
        let n = |s: &str| s.parse::<Name>().unwrap();
        let mut soa = Vec::new();
        soa.extend_from_slice(n(&format!("ns1.{apex}")).as_wire());
        soa.extend_from_slice(n(&format!("host.{apex}")).as_wire());
        for v in [1u32, 60, 60, 600, 60] {
            soa.extend_from_slice(&v.to_be_bytes());
        }
        let rr = |rtype, rdata: Vec<u8>| Record {
            owner: n(apex),
            rtype,
            class: Class::IN,
            ttl: 60,
            rdata: rdata.into(),
        };
        let recs = [
            rr(Rtype::SOA, soa),
            rr(Rtype::NS, n(&format!("ns1.{apex}")).as_wire().to_vec()),
        ];
        Arc::new(Zone::build(&n(apex), &recs).unwrap())
    }

    fn served_expired(zones: &SharedZones, apex: &str) -> Option<bool> {
        zones
            .load()
            .get(&apex.parse().unwrap())
            .map(|z| z.is_expired())
    }

    #[test]
    fn a_zone_is_served_expired_past_its_deadline_and_recovers_with_a_later_one() {
        let zones = Zones::new();
        let gate = ExpiryGate::new(zones.clone());
        let (a, p) = ("sec.example.", "prim.example.");
        let name: Name = a.parse().unwrap();
        gate.update(
            &[(name.clone(), Some(1_000))],
            &[zone(a), zone(p)],
            &[],
            500,
        );
        assert_eq!(served_expired(&zones, a), Some(false));
        assert_eq!(gate.tick(999), 0);
        assert_eq!(gate.tick(1_000), 1);
        assert_eq!(served_expired(&zones, a), Some(true));
        assert_eq!(
            served_expired(&zones, p),
            Some(false),
            "no deadline, never expired"
        );
        assert_eq!(gate.expired(), vec![name.clone()]);
        // A new version while expired stays expired, its data served as it is.
        gate.update(&[], &[zone(a)], &[], 1_500);
        let served = zones.load().get(&name).unwrap();
        assert!(served.is_expired());
        assert!(served
            .node_named(&name)
            .unwrap()
            .rrset(Rtype::SOA)
            .is_some());
        // A later deadline (a successful check on the leader) ends the expiry.
        gate.update(&[(name.clone(), Some(10_000))], &[], &[], 1_600);
        assert_eq!(served_expired(&zones, a), Some(false));
        assert!(gate.expired().is_empty());
        // Clearing the deadline (the zone made primary) never expires it.
        gate.update(&[(name.clone(), None)], &[], &[], 20_000);
        assert_eq!(gate.tick(20_000), 0);
        assert_eq!(served_expired(&zones, a), Some(false));
    }

    #[test]
    fn a_zone_copied_past_its_deadline_is_published_expired_at_once() {
        let zones = Zones::new();
        let gate = ExpiryGate::new(zones.clone());
        let a = "sec.example.";
        gate.update(&[(a.parse().unwrap(), Some(1_000))], &[zone(a)], &[], 2_000);
        assert_eq!(served_expired(&zones, a), Some(true));
        gate.update(&[], &[], &[a.parse().unwrap()], 2_000);
        assert_eq!(served_expired(&zones, a), None);
        assert!(gate.expired().is_empty());
        assert_eq!(
            gate.tick(3_000),
            0,
            "the deadline stays; nothing is served to mark"
        );
        assert_eq!(served_expired(&zones, a), None);
    }
}
