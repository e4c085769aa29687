//! The immutable in-memory form of one zone version.
//!
//! Records are grouped into RRsets per node; every RRset keeps its records
//! pre-encoded (type, class and TTL as eight ready octets; for types without
//! compressible names the whole RRset with a pointer to the question name as
//! owner), and the node indexes of the targets whose addresses go in the
//! additional section. Empty non-terminals are nodes without RRsets.
//!
//! Like Knot, a snapshot holds names in canonical form: owners, and the
//! names inside rdata that RFC 4034 §6.2 lowers, are lowercased at build
//! time (the store keeps the case as given). Answers owned by the question
//! name still carry the question's case, through a compression pointer.

use rustc_hash::FxHashMap;
use zonecast_proto::name::lowercase_wire;
use zonecast_proto::rdata::{compressible_names, lowercase_canonical_names, NameSlot};
use zonecast_proto::{Class, Name, Record, Rtype};

/// Why a record set could not become a zone snapshot.
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
}

/// No node (in additional-target lists and lookups).
pub const NO_NODE: u32 = u32::MAX;

/// Node flag: an NS RRset below the apex (a zone cut).
pub const DELEGATION: u8 = 1;
/// Node flag: holds a DNAME.
pub const HAS_DNAME: u8 = 2;
/// Node flag: holds a CNAME.
pub const HAS_CNAME: u8 = 4;

/// One RRset, ready to copy into responses.
///
/// The records are held once, pre-encoded as they go on the wire with the
/// question name as owner (`0xC00C`, type, class, TTL, rdlength, rdata);
/// rdata is read back out of that buffer when needed.
#[derive(Debug)]
pub struct RRset {
    /// Record type.
    pub rtype: Rtype,
    /// TTL shared by the set.
    pub ttl: u32,
    /// Type, class and TTL as they appear on the wire.
    pub header: [u8; 8],
    /// The records, each `0xC00C` + header + rdlength + rdata.
    wire: Box<[u8]>,
    /// Number of records.
    count: u16,
    /// Compressible names per record (slots, count); empty when no record has any,
    /// and then `wire` is copied whole when the owner is the question name.
    slots: Box<[([NameSlot; 2], u8)]>,
    /// Nodes whose A/AAAA belong in the additional section (NS, MX, SRV, SVCB/HTTPS targets in this zone).
    pub additional: Box<[u32]>,
}

/// Octets before the rdata of a pre-encoded record: owner pointer, header, rdlength.
const RECORD_PREFIX: usize = 12;

impl RRset {
    fn new(rtype: Rtype, ttl: u32, rdatas: &[Box<[u8]>]) -> RRset {
        let mut header = [0u8; 8];
        header[0..2].copy_from_slice(&rtype.0.to_be_bytes());
        header[2..4].copy_from_slice(&Class::IN.0.to_be_bytes());
        header[4..8].copy_from_slice(&ttl.to_be_bytes());
        let mut wire = Vec::with_capacity(rdatas.iter().map(|r| r.len() + RECORD_PREFIX).sum());
        for r in rdatas {
            wire.extend_from_slice(&[0xC0, 0x0C]);
            wire.extend_from_slice(&header);
            wire.extend_from_slice(&(r.len() as u16).to_be_bytes());
            wire.extend_from_slice(r);
        }
        let slots: Vec<([NameSlot; 2], u8)> = rdatas
            .iter()
            .map(|r| {
                let (s, n) = compressible_names(rtype, r);
                (s, n as u8)
            })
            .collect();
        let slots = if slots.iter().all(|(_, n)| *n == 0) {
            Box::default()
        } else {
            slots.into_boxed_slice()
        };
        RRset {
            rtype,
            ttl,
            header,
            wire: wire.into_boxed_slice(),
            count: rdatas.len() as u16,
            slots,
            additional: Box::new([]),
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True for an RRset without records (never stored).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Each record's uncompressed rdata, in canonical order.
    pub fn rdatas(&self) -> impl Iterator<Item = &[u8]> {
        let mut pos = 0;
        std::iter::from_fn(move || {
            let len = self.wire.get(pos + 10..pos + RECORD_PREFIX)?;
            let start = pos + RECORD_PREFIX;
            let end = start + u16::from_be_bytes([len[0], len[1]]) as usize;
            pos = end;
            self.wire.get(start..end)
        })
    }

    /// The pre-encoded records, when they can be copied whole (owner = question name, nothing to compress).
    pub fn packed(&self) -> Option<&[u8]> {
        self.slots.is_empty().then_some(&self.wire)
    }

    /// The compressible names of the `i`-th record.
    pub fn slots(&self, i: usize) -> &[NameSlot] {
        self.slots.get(i).map_or(&[], |(s, n)| &s[..*n as usize])
    }

    /// The target name inside rdata that additional-section processing follows.
    ///
    /// NS, MX, SRV targets; SVCB/HTTPS TargetName (RFC 9460 §4.1), where `.`
    /// in ServiceMode means the owner itself (§2.5) and in AliasMode nothing.
    fn additional_target<'a>(rtype: Rtype, rdata: &'a [u8], owner: &'a [u8]) -> Option<&'a [u8]> {
        let target = match rtype {
            Rtype::NS => rdata,
            Rtype::MX => rdata.get(2..)?,
            Rtype::SRV => rdata.get(6..)?,
            Rtype::SVCB | Rtype::HTTPS => {
                let priority = u16::from_be_bytes([*rdata.first()?, *rdata.get(1)?]);
                let t = rdata.get(2..)?;
                if t.first() == Some(&0) {
                    return (priority > 0).then_some(owner);
                }
                t
            }
            _ => return None,
        };
        let len = zonecast_proto::name::check_wire(target).ok()?;
        target.get(..len)
    }
}

/// One name in the zone, possibly an empty non-terminal.
#[derive(Debug)]
pub struct Node {
    /// Owner name, lowercased.
    pub name: Name,
    /// RRsets sorted by type code.
    pub rrsets: Box<[RRset]>,
    /// [`DELEGATION`], [`HAS_DNAME`], [`HAS_CNAME`] bits.
    pub flags: u8,
    /// The node of `*.<this name>`, or [`NO_NODE`].
    pub wildcard: u32,
}

impl Node {
    /// The RRset of a type, if present.
    pub fn rrset(&self, rtype: Rtype) -> Option<&RRset> {
        self.rrsets.iter().find(|r| r.rtype == rtype)
    }
}

/// An immutable zone version.
#[derive(Debug)]
pub struct Zone {
    pub(crate) apex: Name,
    pub(crate) apex_key: Box<[u8]>,
    pub(crate) serial: u32,
    pub(crate) nodes: Vec<Node>,
    pub(crate) index: FxHashMap<Box<[u8]>, u32>,
    /// The SOA as written in negative answers: TTL = min(SOA TTL, MINIMUM) (RFC 2308 §3).
    pub(crate) negative_soa: RRset,
    pub(crate) record_count: usize,
}

impl Zone {
    /// Builds a snapshot from records that passed validation.
    ///
    /// Duplicate records are kept once; the RRset TTL is the first record's.
    pub fn build(apex: &Name, records: &[Record]) -> Result<Zone, ZoneError> {
        let apex_key: Box<[u8]> = apex.to_lowercase().as_wire().into();
        let zone_name = apex.to_string();
        // Group by owner, then by type, keeping first-seen order of owners.
        type Sets = Vec<Vec<(Rtype, u32, Vec<Box<[u8]>>)>>;
        fn ensure(
            key: Box<[u8]>,
            name: &Name,
            index: &mut FxHashMap<Box<[u8]>, u32>,
            names: &mut Vec<Name>,
            sets: &mut Sets,
        ) -> u32 {
            if let Some(&i) = index.get(&key) {
                return i;
            }
            let i = names.len() as u32;
            names.push(name.clone());
            sets.push(Vec::new());
            index.insert(key, i);
            i
        }
        let mut index: FxHashMap<Box<[u8]>, u32> = FxHashMap::default();
        let mut names: Vec<Name> = Vec::new();
        let mut sets: Sets = Vec::new();
        let mut soa: Option<(u32, Box<[u8]>)> = None;
        let mut count = 0usize;
        for r in records {
            if !r.owner.is_subdomain_of(apex) {
                return Err(ZoneError::OutOfZone {
                    zone: zone_name,
                    owner: r.owner.to_string(),
                    rtype: r.rtype.to_string(),
                });
            }
            let mut key: Vec<u8> = r.owner.as_wire().to_vec();
            lowercase_wire(&mut key);
            // Make sure every ancestor up to the apex exists (empty non-terminals).
            let mut off = 0;
            while key.len() - off > apex_key.len() {
                let l = key[off] as usize;
                off += 1 + l;
                let anc: Box<[u8]> = key[off..].into();
                if index.contains_key(&anc) {
                    break;
                }
                let anc_name = Name::from_wire(&key[off..]).unwrap_or_else(|_| apex.clone());
                ensure(anc, &anc_name, &mut index, &mut names, &mut sets);
            }
            let owner = Name::from_wire(&key).unwrap_or_else(|_| r.owner.clone());
            let i = ensure(key.into(), &owner, &mut index, &mut names, &mut sets) as usize;
            let mut rdata = r.rdata.clone();
            lowercase_canonical_names(r.rtype, &mut rdata);
            if r.rtype == Rtype::SOA && r.owner == *apex && soa.is_none() {
                soa = Some((r.ttl, rdata.clone()));
            }
            let list = &mut sets[i];
            match list.iter_mut().find(|(t, _, _)| *t == r.rtype) {
                Some((_, _, rdatas)) => rdatas.push(rdata),
                None => list.push((r.rtype, r.ttl, vec![rdata])),
            }
        }
        let (soa_ttl, soa_rdata) = soa.ok_or(ZoneError::NoSoa { zone: zone_name })?;
        let serial = soa_field(&soa_rdata, 0);
        let minimum = soa_field(&soa_rdata, 4);
        let negative_soa = RRset::new(Rtype::SOA, soa_ttl.min(minimum), &[soa_rdata]);

        let mut nodes: Vec<Node> = names
            .into_iter()
            .zip(sets)
            .map(|(name, mut list)| {
                list.sort_by_key(|(t, _, _)| *t);
                // Canonical rdata order (RFC 4034 §6.3), duplicates dropped (RFC 2181 §5).
                for (_, _, rdatas) in list.iter_mut() {
                    rdatas.sort_unstable();
                    rdatas.dedup();
                    count += rdatas.len();
                }
                let mut flags = 0;
                let is_apex = name == *apex;
                for (t, _, _) in &list {
                    match *t {
                        Rtype::NS if !is_apex => flags |= DELEGATION,
                        Rtype::DNAME => flags |= HAS_DNAME,
                        Rtype::CNAME => flags |= HAS_CNAME,
                        _ => {}
                    }
                }
                let rrsets = list
                    .into_iter()
                    .map(|(t, ttl, rdatas)| RRset::new(t, ttl, &rdatas))
                    .collect();
                Node {
                    name,
                    rrsets,
                    flags,
                    wildcard: NO_NODE,
                }
            })
            .collect();
        // Wildcard children and additional-section targets.
        let mut star_key = Vec::with_capacity(256);
        for node in nodes.iter_mut() {
            star_key.clear();
            star_key.extend_from_slice(&[1, b'*']);
            star_key.extend_from_slice(node.name.as_wire());
            if let Some(&w) = index.get(star_key.as_slice()) {
                node.wildcard = w;
            }
            let owner = node.name.as_wire();
            for set in node.rrsets.iter_mut() {
                let mut t = Vec::new();
                for rdata in set.rdatas() {
                    let Some(target) = RRset::additional_target(set.rtype, rdata, owner) else {
                        continue;
                    };
                    let mut k = target.to_vec();
                    lowercase_wire(&mut k);
                    if let Some(&n) = index.get(k.as_slice()) {
                        if !t.contains(&n) {
                            t.push(n);
                        }
                    }
                }
                set.additional = t.into_boxed_slice();
            }
        }
        Ok(Zone {
            apex: apex.clone(),
            apex_key,
            serial,
            nodes,
            index,
            negative_soa,
            record_count: count,
        })
    }

    /// The apex name.
    pub fn apex(&self) -> &Name {
        &self.apex
    }

    /// The SOA serial of this version.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// Number of distinct records.
    pub fn record_count(&self) -> usize {
        self.record_count
    }

    /// Number of nodes, empty non-terminals included.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The node for a lowercased wire name.
    pub fn node(&self, key: &[u8]) -> Option<&Node> {
        self.index.get(key).map(|&i| &self.nodes[i as usize])
    }
}

/// Reads a 32-bit SOA field after the two names: 0 serial, 1 refresh, 2 retry, 3 expire, 4 minimum (0 when malformed).
fn soa_field(rdata: &[u8], n: usize) -> u32 {
    let mut pos = 0;
    for _ in 0..2 {
        match zonecast_proto::name::check_wire(rdata.get(pos..).unwrap_or(&[])) {
            Ok(len) => pos += len,
            Err(_) => return 0,
        }
    }
    let at = pos + n * 4;
    rdata
        .get(at..at + 4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}
