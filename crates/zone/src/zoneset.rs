//! The set of zones a server answers for, found by longest matching apex.

use crate::snapshot::Zone;
use rustc_hash::FxHashMap;
use std::sync::Arc;
use zonecast_proto::Name;

/// The zones every listener answers from, swapped whole on each change (readers never lock).
pub type SharedZones = Arc<arc_swap::ArcSwap<ZoneSet>>;

/// All served zones, keyed by lowercased apex; immutable, replaced whole on change.
#[derive(Debug, Default, Clone)]
pub struct ZoneSet {
    zones: FxHashMap<Box<[u8]>, Arc<Zone>>,
    max_labels: usize,
}

impl ZoneSet {
    /// An empty set.
    pub fn new() -> ZoneSet {
        ZoneSet::default()
    }

    /// A copy of this set with `zone` added or replacing the same apex.
    pub fn with_zone(&self, zone: Arc<Zone>) -> ZoneSet {
        let mut next = self.clone();
        next.max_labels = next.max_labels.max(zone.apex().label_count());
        next.zones.insert(zone.apex_key.clone(), zone);
        next
    }

    /// A copy of this set without the zone at `apex`.
    pub fn without_zone(&self, apex: &Name) -> ZoneSet {
        let mut next = self.clone();
        next.zones.remove(apex.to_lowercase().as_wire());
        next.max_labels = next
            .zones
            .values()
            .map(|z| z.apex().label_count())
            .max()
            .unwrap_or(0);
        next
    }

    /// The zone at exactly this apex.
    pub fn get(&self, apex: &Name) -> Option<&Arc<Zone>> {
        self.zones.get(apex.to_lowercase().as_wire())
    }

    /// All zones, in no particular order.
    pub fn zones(&self) -> impl Iterator<Item = &Arc<Zone>> {
        self.zones.values()
    }

    /// Number of zones.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// True when no zone is loaded.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The zone with the longest apex that `qname` (lowercased wire) is at or below.
    pub fn find(&self, qname: &[u8]) -> Option<&Zone> {
        // Label start offsets, to try suffixes from the longest allowed.
        let mut starts = [0u8; 128];
        let mut n = 0;
        let mut pos = 0usize;
        while pos < qname.len() && qname[pos] != 0 && n < 128 {
            starts[n] = pos as u8;
            n += 1;
            pos += 1 + qname[pos] as usize;
        }
        let first = n.saturating_sub(self.max_labels);
        for &s in &starts[first..n] {
            if let Some(z) = self.zones.get(&qname[s as usize..]) {
                return Some(&**z);
            }
        }
        // The root zone, if served.
        self.zones.get(&[0u8][..]).map(|z| &**z)
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
    pub fn find_for_ds(&self, qname: &[u8]) -> Option<&Zone> {
        // The longest zone containing the parent name contains `qname` and
        // has an apex other than `qname`.
        let parent = match qname.first() {
            Some(&len) if len != 0 => qname.get(1 + len as usize..),
            _ => None,
        };
        parent
            .and_then(|p| self.find(p))
            .or_else(|| self.find(qname))
    }
}
