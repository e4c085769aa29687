//! The zones a server answers for: each zone published on its own, found
//! by the longest matching apex.
//!
//! A [`ZoneSet`] is a persistent hash trie of [`ZoneSlot`]s; each slot holds
//! the current version of one zone behind its own `ArcSwap`. A change to a
//! zone swaps only that slot ([`Zones::publish`]); adding or removing a zone
//! copies one path of the trie of slots, not the set of all zones. Readers
//! never lock: a query loads the set, then the slot's zone.
//!
//! Versions and sets that are replaced are handed to [`crate::reclaim`],
//! which drops them on its own thread once no reader holds them, so a UDP
//! worker never frees a zone.

use crate::reclaim;
use crate::snapshot::Zone;
use crate::trie::{Keyed, Trie};
use arc_swap::{ArcSwap, Guard};
use std::sync::{Arc, Mutex};
use zonecast_proto::Name;

/// The zones every listener answers from (readers never lock).
pub type SharedZones = Arc<Zones>;

/// One served zone: the current version, swapped on each change.
pub struct ZoneSlot {
    key: Box<[u8]>,
    zone: ArcSwap<Zone>,
}

impl Keyed for ZoneSlot {
    fn key(&self) -> &[u8] {
        &self.key
    }
}

impl std::fmt::Debug for ZoneSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneSlot")
            .field("apex", &self.zone.load().apex().to_string())
            .finish()
    }
}

impl ZoneSlot {
    fn new(zone: Arc<Zone>) -> ZoneSlot {
        ZoneSlot {
            key: zone.apex().as_wire().into(),
            zone: ArcSwap::new(zone),
        }
    }

    /// The current version of the zone (lock-free, no allocation).
    #[inline]
    pub fn load(&self) -> Guard<Arc<Zone>> {
        self.zone.load()
    }
}

/// Highest label count of an apex that [`ZoneSet::find`] considers.
const MAX_LABELS: usize = 128;

/// All served zones, keyed by lowercased apex; immutable, replaced when a zone is added or removed.
#[derive(Clone)]
pub struct ZoneSet {
    slots: Trie<Arc<ZoneSlot>>,
    /// How many apexes have each label count, to try only suffixes that can match.
    per_labels: Arc<[u32; MAX_LABELS]>,
    max_labels: usize,
}

impl Default for ZoneSet {
    fn default() -> Self {
        ZoneSet::new()
    }
}

impl std::fmt::Debug for ZoneSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneSet")
            .field("zones", &self.len())
            .finish()
    }
}

impl ZoneSet {
    /// An empty set.
    pub fn new() -> ZoneSet {
        ZoneSet {
            slots: Trie::new(),
            per_labels: Arc::new([0; MAX_LABELS]),
            max_labels: 0,
        }
    }

    /// A copy of this set with `zone` in a new slot, replacing any zone at the same apex.
    pub fn with_zone(&self, zone: Arc<Zone>) -> ZoneSet {
        self.with_slot(Arc::new(ZoneSlot::new(zone))).0
    }

    fn with_slot(&self, slot: Arc<ZoneSlot>) -> (ZoneSet, Option<Arc<ZoneSlot>>) {
        let mut next = self.clone();
        let labels = slot.load().apex().label_count().min(MAX_LABELS - 1);
        let old = next.slots.insert(slot);
        if old.is_none() {
            Arc::make_mut(&mut next.per_labels)[labels] += 1;
            next.max_labels = next.max_labels.max(labels);
        }
        (next, old)
    }

    /// A copy of this set without the zone at `apex`, and the slot taken out.
    pub fn without_zone(&self, apex: &Name) -> (ZoneSet, Option<Arc<ZoneSlot>>) {
        let mut next = self.clone();
        let old = next.slots.remove(apex.to_lowercase().as_wire());
        if old.is_some() {
            let labels = apex.label_count().min(MAX_LABELS - 1);
            let counts = Arc::make_mut(&mut next.per_labels);
            counts[labels] = counts[labels].saturating_sub(1);
            next.max_labels = counts.iter().rposition(|&n| n > 0).unwrap_or(0);
        }
        (next, old)
    }

    /// The current version of the zone at exactly this apex.
    pub fn get(&self, apex: &Name) -> Option<Arc<Zone>> {
        self.slot(apex.to_lowercase().as_wire())
            .map(|s| s.zone.load_full())
    }

    fn slot(&self, key: &[u8]) -> Option<&Arc<ZoneSlot>> {
        self.slots.get(key)
    }

    /// Every zone's current version, in no particular order.
    pub fn zones(&self) -> Vec<Arc<Zone>> {
        let mut out = Vec::with_capacity(self.len());
        self.slots.for_each(|s| out.push(s.zone.load_full()));
        out
    }

    /// Number of zones.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when no zone is loaded.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The zone with the longest apex that `qname` (lowercased wire) is at or below.
    #[inline]
    pub fn find(&self, qname: &[u8]) -> Option<&ZoneSlot> {
        self.find_from(qname)
    }

    /// The zone a DS query for `qname` (lowercased wire) is answered from:
    /// like [`ZoneSet::find`], but skipping a zone whose apex is exactly
    /// `qname` when a zone above it is served.
    ///
    /// DS records are the parent side's data (RFC 4035 §2.4): a DS query for
    /// the apex of a child zone is answered from its parent zone when that
    /// is served too (§3.1.4.1). With no parent zone served, the child zone
    /// itself answers (NODATA, or the DS RRset at its apex, as Knot does).
    /// Knot finds the zone for DS queries the same way: the longest zone at
    /// or above the name without its first label, else the zone of the name.
    pub fn find_for_ds(&self, qname: &[u8]) -> Option<&ZoneSlot> {
        let parent = match qname.first() {
            Some(&len) if len != 0 => qname.get(1 + len as usize..),
            _ => None,
        };
        parent
            .and_then(|p| self.find(p))
            .or_else(|| self.find(qname))
    }

    fn find_from(&self, qname: &[u8]) -> Option<&ZoneSlot> {
        // Label start offsets, to try suffixes from the longest allowed.
        let mut starts = [0u8; MAX_LABELS];
        let mut n = 0;
        let mut pos = 0usize;
        while pos < qname.len() && qname[pos] != 0 && n < MAX_LABELS {
            starts[n] = pos as u8;
            n += 1;
            pos += 1 + qname[pos] as usize;
        }
        let first = n.saturating_sub(self.max_labels);
        for (k, &s) in starts[first..n].iter().enumerate() {
            if self.per_labels[n - first - k] == 0 {
                continue;
            }
            if let Some(z) = self.slots.get(&qname[s as usize..]) {
                return Some(z);
            }
        }
        // The root zone, if served.
        self.slots.get(&[0u8][..]).map(|z| &**z)
    }
}

/// The published [`ZoneSet`] and the one way to change it.
pub struct Zones {
    set: ArcSwap<ZoneSet>,
    /// Serialises adding and removing zones (changes to one zone are serialised by its writer).
    membership: Mutex<()>,
}

impl Default for Zones {
    fn default() -> Self {
        Zones {
            set: ArcSwap::from_pointee(ZoneSet::new()),
            membership: Mutex::new(()),
        }
    }
}

impl std::fmt::Debug for Zones {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zones")
            .field("zones", &self.load().len())
            .finish()
    }
}

impl Zones {
    /// No zones yet.
    pub fn new() -> SharedZones {
        Arc::new(Zones::default())
    }

    /// Published zones holding `set` (for tests and tools).
    pub fn from_set(set: ZoneSet) -> SharedZones {
        Arc::new(Zones {
            set: ArcSwap::from_pointee(set),
            membership: Mutex::new(()),
        })
    }

    /// The current set (lock-free, no allocation).
    #[inline]
    pub fn load(&self) -> Guard<Arc<ZoneSet>> {
        self.set.load()
    }

    /// Makes `zone` the served version of its apex, adding the zone when it is not served yet.
    ///
    /// Callers serialise changes to one zone; changes to different zones may run at once.
    pub fn publish(&self, zone: Arc<Zone>) {
        let key = zone.apex().as_wire();
        if let Some(slot) = self.set.load().slot(key) {
            reclaim::retire(slot.zone.swap(zone));
            return;
        }
        let _g = self.membership.lock().unwrap_or_else(|p| p.into_inner());
        let cur = self.set.load_full();
        if let Some(slot) = cur.slot(key) {
            reclaim::retire(slot.zone.swap(zone));
            return;
        }
        let (next, _) = cur.with_slot(Arc::new(ZoneSlot::new(zone)));
        reclaim::retire(self.set.swap(Arc::new(next)));
    }

    /// Stops serving the zone at `apex` (no-op when it is not served).
    pub fn withdraw(&self, apex: &Name) {
        let _g = self.membership.lock().unwrap_or_else(|p| p.into_inner());
        let cur = self.set.load_full();
        let (next, old) = cur.without_zone(apex);
        if let Some(old) = old {
            reclaim::retire(self.set.swap(Arc::new(next)));
            reclaim::retire(old);
        }
    }
}
