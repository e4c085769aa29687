//! The immutable in-memory form of one zone version, and how a new version
//! is made from an old one and a change.
//!
//! A [`Zone`] is a persistent hash trie ([`crate::trie`]) of [`Node`]s keyed
//! by lowercased owner. [`Zone::apply`] takes the records a change removes
//! and adds (the journal entry's difference, RFC 1995 §4) and returns a new
//! version that shares every node the change did not touch: its cost is the
//! size of the change times the trie depth, not the size of the zone.
//! [`ZoneBuilder`] streams records into a first version without an
//! intermediate list.
//!
//! Empty non-terminals are nodes without RRsets; every node counts its
//! children, so a name that loses its last record and has no children is
//! removed with the empty non-terminals above it, and "is there data below
//! this name" (RFC 6672 §2.4) is answered without a scan.
//!
//! Like Knot, a snapshot holds names in canonical form: owners, and the
//! names inside rdata that RFC 4034 §6.2 lowers, are lowercased. Answers
//! owned by the question name still carry the question's case, through a
//! compression pointer.

use crate::node::{
    canonical_rdata, header, lowercase_into, Node, NodeError, SetData, HAS_WILDCARD,
};
use crate::trie::Trie;
use zonecast_proto::name::is_subdomain_wire;
use zonecast_proto::{Class, Name, Record, Rtype};

/// Why records could not become (or change) a zone version.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ZoneError {
    /// The records have no SOA at the apex.
    #[error("zone {zone}: no SOA record at the apex")]
    NoSoa {
        /// The zone's apex.
        zone: String,
    },
    /// A record's owner is not at or below the apex.
    #[error("zone {zone}: record {owner} {rtype} is outside the zone")]
    OutOfZone {
        /// The zone's apex.
        zone: String,
        /// The offending owner.
        owner: String,
        /// Its type.
        rtype: String,
    },
    /// A change removes a record the version does not hold (the change was made against another version).
    #[error("zone {zone} serial {serial}: record {owner} {rtype} to remove is not in the zone")]
    MissingRecord {
        /// The zone's apex.
        zone: String,
        /// The serial of the version the change was applied to.
        serial: u32,
        /// The record's owner.
        owner: String,
        /// Its type.
        rtype: String,
    },
    /// An RRset over the limits of [`crate::node::MAX_RRSET_RECORDS`] records or
    /// [`crate::node::MAX_RRSET_OCTETS`] octets, or a node with more than 255 types.
    #[error("zone {zone}: {owner} {rtype}: more than {limit}")]
    TooLarge {
        /// The zone's apex.
        zone: String,
        /// The owner.
        owner: String,
        /// The type.
        rtype: String,
        /// The limit exceeded, in words.
        limit: String,
    },
}

/// An immutable zone version.
#[derive(Clone, Debug)]
pub struct Zone {
    apex: Name,
    apex_node: Node,
    serial: u32,
    /// Type, class and TTL of the SOA in negative answers: min(SOA TTL, MINIMUM) (RFC 2308 §3).
    negative_header: [u8; 8],
    nodes: Trie<Node>,
    record_count: usize,
    /// A secondary zone past its SOA expire: answered SERVFAIL (RFC 1034 §4.3.5).
    expired: bool,
}

impl Zone {
    /// Builds a first version from records that passed validation, in any order.
    ///
    /// Duplicate records are kept once; an RRset's TTL is its first record's.
    pub fn build(apex: &Name, records: &[Record]) -> Result<Zone, ZoneError> {
        let mut b = ZoneBuilder::new(apex);
        for r in records {
            b.add(r.owner.as_wire(), r.rtype, r.ttl, &r.rdata)?;
        }
        b.finish()
    }

    /// The version after a change: `removed` records go out (TTL not compared), then `added` go in.
    ///
    /// Records of types already present with another TTL give the whole
    /// RRset the added record's TTL. Removing a record this version does not
    /// hold is an error, so a change applied to the wrong version is caught.
    /// `self` is unchanged either way.
    pub fn apply(&self, removed: &[Record], added: &[Record]) -> Result<Zone, ZoneError> {
        let mut ed = Editor {
            apex: self.apex.clone(),
            nodes: self.nodes.clone(),
            records: self.record_count,
        };
        let mut order: Vec<(Box<[u8]>, bool, usize)> =
            Vec::with_capacity(removed.len() + added.len());
        let mut buf = [0u8; 255];
        for (is_add, list) in [(false, removed), (true, added)] {
            for (i, r) in list.iter().enumerate() {
                let key = lowercase_into(r.owner.as_wire(), &mut buf);
                ed.check_owner(key, r.rtype)?;
                order.push((key.into(), is_add, i));
            }
        }
        // Group by owner, removals before additions within each owner.
        order.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut at = 0;
        while at < order.len() {
            let key = order[at].0.clone();
            let mut sets = ed.nodes.get(&key).map(|n| n.sets()).unwrap_or_default();
            while at < order.len() && order[at].0 == key {
                let (_, is_add, i) = order[at];
                if is_add {
                    let r = &added[i];
                    add_rdata(
                        &mut sets,
                        r.rtype,
                        r.ttl,
                        canonical_rdata(r.rtype, &r.rdata),
                        true,
                    );
                } else {
                    let r = &removed[i];
                    if !remove_rdata(&mut sets, r.rtype, &canonical_rdata(r.rtype, &r.rdata)) {
                        return Err(ZoneError::MissingRecord {
                            zone: self.apex.to_string(),
                            serial: self.serial,
                            owner: r.owner.to_string(),
                            rtype: r.rtype.to_string(),
                        });
                    }
                }
                at += 1;
            }
            ed.set_node(&key, sets)?;
        }
        ed.finish()
    }

    /// This version marked expired (or not): the same data, every query
    /// answered SERVFAIL and transfers refused while expired.
    ///
    /// A secondary zone whose primaries could not be reached for the SOA
    /// expire interval is published so (RFC 1034 §4.3.5); the data is kept
    /// for the next refresh to compare with. Costs one clone of the root.
    pub fn with_expired(&self, expired: bool) -> Zone {
        Zone {
            expired,
            ..self.clone()
        }
    }

    /// Whether this version is marked expired ([`Zone::with_expired`]).
    pub fn is_expired(&self) -> bool {
        self.expired
    }

    /// The apex name (lowercase).
    pub fn apex(&self) -> &Name {
        &self.apex
    }

    /// The apex node.
    pub fn apex_node(&self) -> &Node {
        &self.apex_node
    }

    /// The SOA serial of this version.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// Number of distinct records.
    pub fn record_count(&self) -> usize {
        self.record_count
    }

    /// Every node, empty non-terminals included, in no particular order;
    /// walked one at a time (a zone transfer streams from it).
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter()
    }

    /// Number of nodes, empty non-terminals included.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The node for a lowercased wire name.
    #[inline]
    pub fn node(&self, key: &[u8]) -> Option<&Node> {
        self.nodes.get(key)
    }

    /// The node for a name in any case.
    pub fn node_named(&self, name: &Name) -> Option<&Node> {
        let mut buf = [0u8; 255];
        self.node(lowercase_into(name.as_wire(), &mut buf))
    }

    /// True when some name strictly below `name` holds data.
    pub fn has_data_below(&self, name: &Name) -> bool {
        self.node_named(name).is_some_and(|n| n.children() > 0)
    }

    /// The SOA type, class and TTL octets used in negative answers (RFC 2308 §3).
    pub fn negative_header(&self) -> &[u8; 8] {
        &self.negative_header
    }

    /// The nodes that hold data (no empty non-terminals), owners in canonical
    /// order (RFC 4034 §6.1). The trie has no order: this sorts, O(n log n).
    pub fn sorted_nodes(&self) -> Vec<&Node> {
        let mut nodes: Vec<&Node> = Vec::with_capacity(self.nodes.len());
        self.nodes.for_each(|n| {
            if !n.is_empty() {
                nodes.push(n)
            }
        });
        nodes.sort_by(|a, b| zonecast_proto::name::canonical_cmp(a.name(), b.name()));
        nodes
    }

    /// Every record, owners in canonical order (RFC 4034 §6.1), types ascending.
    pub fn records(&self) -> Vec<Record> {
        let mut out = Vec::with_capacity(self.record_count);
        for n in self.sorted_nodes() {
            let Ok(owner) = Name::from_wire(n.name()) else {
                continue;
            };
            for set in n.rrsets() {
                out.extend(set.rdatas().map(|rd| Record {
                    owner: owner.clone(),
                    rtype: set.rtype,
                    class: Class::IN,
                    ttl: set.ttl,
                    rdata: rd.into(),
                }));
            }
        }
        out
    }
}

/// Streams records into a first [`Zone`] version; see [`ZoneBuilder::add`].
pub struct ZoneBuilder {
    ed: Editor,
    owner: Vec<u8>,
    sets: Vec<SetData>,
}

impl ZoneBuilder {
    /// A builder for the zone at `apex`.
    pub fn new(apex: &Name) -> ZoneBuilder {
        ZoneBuilder {
            ed: Editor {
                apex: apex.to_lowercase(),
                nodes: Trie::new(),
                records: 0,
            },
            owner: Vec::new(),
            sets: Vec::new(),
        }
    }

    /// Adds one record (`owner` as wire octets, any case).
    ///
    /// Records of one owner should come together (as a zone file or a store
    /// scan gives them); an owner that comes back later is merged, at the
    /// cost of re-encoding its node.
    pub fn add(
        &mut self,
        owner: &[u8],
        rtype: Rtype,
        ttl: u32,
        rdata: &[u8],
    ) -> Result<(), ZoneError> {
        let mut buf = [0u8; 255];
        let key = lowercase_into(owner, &mut buf);
        if key != self.owner.as_slice() {
            self.flush()?;
            self.ed.check_owner(key, rtype)?;
            self.owner.clear();
            self.owner.extend_from_slice(key);
        }
        add_rdata(
            &mut self.sets,
            rtype,
            ttl,
            canonical_rdata(rtype, rdata),
            false,
        );
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ZoneError> {
        if self.sets.is_empty() {
            return Ok(());
        }
        let sets = std::mem::take(&mut self.sets);
        let owner = std::mem::take(&mut self.owner);
        let is_apex = owner == self.ed.apex.as_wire();
        // Most owners are new: insert straight away (one trie walk) and merge
        // only when the name was there already (an empty non-terminal, or
        // records of this owner seen earlier).
        let first_type = sets.first().map(|s| s.rtype);
        let node = Node::new(&owner, sets, is_apex, false, 0)
            .map_err(|e| self.ed.too_large(&owner, first_type, e))?;
        let added = node.rrsets().map(|s| s.len()).sum::<usize>();
        match self.ed.nodes.insert(node) {
            None => {
                self.ed.records += added;
                if !is_apex {
                    self.ed.attach(&owner);
                }
                Ok(())
            }
            Some(existing) => {
                // Put the old node back, then merge into it as any change would.
                let sets = self.ed.nodes.insert(existing.clone()).map(|n| n.sets());
                let mut merged = existing.sets();
                for s in sets.unwrap_or_default() {
                    for rd in s.rdatas {
                        add_rdata(&mut merged, s.rtype, s.ttl, rd, false);
                    }
                }
                self.ed.set_node(&owner, merged)
            }
        }
    }

    /// The finished version; fails without an apex SOA.
    pub fn finish(mut self) -> Result<Zone, ZoneError> {
        self.flush()?;
        self.ed.finish()
    }
}

/// Adds `rdata` to the set of `rtype` (created with `ttl` when absent); `retime` gives an existing set this TTL.
fn add_rdata(sets: &mut Vec<SetData>, rtype: Rtype, ttl: u32, rdata: Box<[u8]>, retime: bool) {
    match sets.iter_mut().find(|s| s.rtype == rtype) {
        Some(s) => {
            if retime {
                s.ttl = ttl;
            }
            s.rdatas.push(rdata);
        }
        None => sets.push(SetData {
            rtype,
            ttl,
            rdatas: vec![rdata],
        }),
    }
}

/// Removes `rdata` from the set of `rtype`; false when it is not there.
fn remove_rdata(sets: &mut [SetData], rtype: Rtype, rdata: &[u8]) -> bool {
    let Some(s) = sets.iter_mut().find(|s| s.rtype == rtype) else {
        return false;
    };
    let before = s.rdatas.len();
    s.rdatas.retain(|r| **r != *rdata);
    s.rdatas.len() < before
}

/// A zone's nodes being changed: keeps empty non-terminals, child counts and wildcard flags right.
struct Editor {
    apex: Name,
    nodes: Trie<Node>,
    records: usize,
}

impl Editor {
    fn zone_name(&self) -> String {
        self.apex.to_string()
    }

    fn check_owner(&self, key: &[u8], rtype: Rtype) -> Result<(), ZoneError> {
        if is_subdomain_wire(key, self.apex.as_wire()) {
            return Ok(());
        }
        Err(ZoneError::OutOfZone {
            zone: self.zone_name(),
            owner: show_name(key),
            rtype: rtype.to_string(),
        })
    }

    /// Makes `sets` the RRsets of `owner` (lowercased, in zone); empty sets delete the name's data.
    fn set_node(&mut self, owner: &[u8], sets: Vec<SetData>) -> Result<(), ZoneError> {
        let is_apex = owner == self.apex.as_wire();
        let old = self.nodes.get(owner).cloned();
        let old_records = old.as_ref().map_or(0, count);
        let (wildcard, children) = old.as_ref().map_or((false, 0), |n| {
            (n.flags() & HAS_WILDCARD != 0, n.children())
        });
        let first_type = sets.first().map(|s| s.rtype);
        let empty = sets.iter().all(|s| s.rdatas.is_empty());
        if empty && children == 0 && !is_apex {
            if old.is_some() {
                self.nodes.remove(owner);
                self.records -= old_records;
                self.detach(owner);
            }
            return Ok(());
        }
        let node = Node::new(owner, sets, is_apex, wildcard, children)
            .map_err(|e| self.too_large(owner, first_type, e))?;
        self.records = self.records - old_records + count(&node);
        self.nodes.insert(node);
        if old.is_none() && !is_apex {
            self.attach(owner);
        }
        Ok(())
    }

    fn too_large(&self, owner: &[u8], rtype: Option<Rtype>, e: NodeError) -> ZoneError {
        let limit = match e {
            NodeError::RrsetTooLarge => format!(
                "{} records or {} octets of rdata in one RRset",
                crate::node::MAX_RRSET_RECORDS,
                crate::node::MAX_RRSET_OCTETS
            ),
            NodeError::TooManyTypes => "255 types at one name".into(),
        };
        ZoneError::TooLarge {
            zone: self.zone_name(),
            owner: show_name(owner),
            rtype: rtype.map_or_else(String::new, |t| t.to_string()),
            limit,
        }
    }

    /// `child` was just inserted: its parent gains a child, created as an empty non-terminal if absent.
    fn attach(&mut self, child: &[u8]) {
        let parent = &child[1 + child[0] as usize..];
        let star = child.starts_with(&[1, b'*']);
        match self.nodes.get_mut(parent) {
            Some(p) => {
                // In place when no other version shares the node (always, while building).
                let wildcard = p.flags() & HAS_WILDCARD != 0 || star;
                p.set_children(p.children() + 1, wildcard);
            }
            None => {
                self.nodes.insert(Node::empty(parent, star, 1));
                if parent != self.apex.as_wire() {
                    self.attach(parent);
                }
            }
        }
    }

    /// `child` was just removed: its parent loses a child, and goes too if it is now an empty leaf.
    fn detach(&mut self, child: &[u8]) {
        let parent = &child[1 + child[0] as usize..];
        let star = child.starts_with(&[1, b'*']);
        let is_apex = parent == self.apex.as_wire();
        let Some(p) = self.nodes.get_mut(parent) else {
            return;
        };
        let children = p.children().saturating_sub(1);
        if children == 0 && p.is_empty() && !is_apex {
            self.nodes.remove(parent);
            self.detach(parent);
        } else {
            let wildcard = p.flags() & HAS_WILDCARD != 0 && !star;
            p.set_children(children, wildcard);
        }
    }

    fn finish(self) -> Result<Zone, ZoneError> {
        let no_soa = || ZoneError::NoSoa {
            zone: self.zone_name(),
        };
        let apex_node = self
            .nodes
            .get(self.apex.as_wire())
            .cloned()
            .ok_or_else(no_soa)?;
        let soa = apex_node.rrset(Rtype::SOA).ok_or_else(no_soa)?;
        let rdata = soa.rdatas().next().ok_or_else(no_soa)?;
        let serial = soa_field(rdata, 0);
        let minimum = soa_field(rdata, 4);
        let negative_header = header(Rtype::SOA, soa.ttl.min(minimum));
        Ok(Zone {
            apex: self.apex.clone(),
            apex_node,
            serial,
            negative_header,
            nodes: self.nodes,
            record_count: self.records,
            expired: false,
        })
    }
}

fn count(n: &Node) -> usize {
    n.rrsets().map(|s| s.len()).sum()
}

fn show_name(wire: &[u8]) -> String {
    Name::from_wire(wire).map_or_else(|_| format!("{wire:?}"), |n| n.to_string())
}

/// Reads a 32-bit SOA field after the two names: 0 serial, 1 refresh, 2 retry, 3 expire, 4 minimum (0 when malformed).
pub fn soa_field(rdata: &[u8], n: usize) -> u32 {
    zonecast_proto::rdata::soa_fields(rdata)
        .and_then(|f| f.get(n).copied())
        .unwrap_or(0)
}
