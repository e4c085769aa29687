//! One name of a zone and its RRsets, held in one compact allocation.
//!
//! A [`Node`] keeps its owner (lowercased wire) and every RRset in a single
//! shared octet buffer (one allocation, reached by one pointer from the
//! trie): an 8-octet header (child count, flags, RRset count, name length),
//! the name, then a 16-octet descriptor per RRset (type, class
//! and TTL as the eight octets they take on the wire, the record count, the
//! length of the records), then the records of each RRset pre-encoded as
//! they go into a response with the question name as owner (`0xC00C`, the
//! eight header octets, rdlength, rdata). Rdata is read back out of that
//! buffer; nothing is held twice.
//!
//! Names inside rdata that RFC 4034 §6.2 lowers are lowercased here, like
//! owners, and records of an RRset are kept in canonical order (RFC 4034
//! §6.3) without duplicates (RFC 2181 §5).

use crate::trie::Keyed;
use std::sync::Arc;
use zonecast_proto::name::lowercase_wire;
use zonecast_proto::rdata::{
    compressible_names, has_compressible_names, lowercase_canonical_names, NameSlot,
};
use zonecast_proto::{Class, Rtype};

/// Node flag: an NS RRset below the apex (a zone cut).
pub const DELEGATION: u8 = 1;
/// Node flag: holds a DNAME.
pub const HAS_DNAME: u8 = 2;
/// Node flag: holds a CNAME.
pub const HAS_CNAME: u8 = 4;
/// Node flag: has a child `*` (a wildcard, RFC 4592 §2.1.1).
pub const HAS_WILDCARD: u8 = 8;

/// Largest number of records in one RRset.
///
/// The records of an RRset must fit in one 64 KiB TCP message (RFC 1035
/// §4.2.2), so no RRset can meaningfully hold more: this is the format's
/// bound, checked whenever a node is encoded. The (lower, configurable)
/// policy limit is [`crate::limits::Limits::max_rrset_records`].
pub const MAX_RRSET_RECORDS: usize = 4096;
/// Largest total rdata of one RRset, in octets (leaves room for header and question in 64 KiB).
pub const MAX_RRSET_OCTETS: usize = 60_000;

/// Octets before the rdata of a pre-encoded record: owner pointer, header, rdlength.
const RECORD_PREFIX: usize = 12;
/// Octets of one RRset descriptor.
const DESC: usize = 16;

/// An RRset being assembled or edited: type, TTL and rdatas (canonical, sorted once built).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetData {
    /// Record type.
    pub rtype: Rtype,
    /// TTL of the set.
    pub ttl: u32,
    /// Uncompressed rdatas.
    pub rdatas: Vec<Box<[u8]>>,
}

/// One name in the zone, possibly an empty non-terminal; clones share the octets.
#[derive(Clone)]
pub struct Node {
    bytes: Arc<[u8]>,
}

/// Octets of the node header: children (4), flags, RRset count, name length, unused.
const HEAD: usize = 8;

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name())
            .field("sets", &self.nsets())
            .field("flags", &self.flags())
            .field("children", &self.children())
            .finish()
    }
}

impl Keyed for Node {
    fn key(&self) -> &[u8] {
        self.name()
    }
}

fn head(children: u32, flags: u8, nsets: u8, name_len: u8) -> [u8; HEAD] {
    let c = children.to_be_bytes();
    [c[0], c[1], c[2], c[3], flags, nsets, name_len, 0]
}

/// Why a node could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeError {
    /// An RRset has more than [`MAX_RRSET_RECORDS`] records or [`MAX_RRSET_OCTETS`] of rdata.
    RrsetTooLarge,
    /// A node has more than 255 RRsets.
    TooManyTypes,
}

impl Node {
    /// Encodes a node: `name` lowercased wire, `sets` with rdatas already canonical.
    ///
    /// Sorts the sets by type and each set's rdatas canonically, dropping duplicates.
    pub fn new(
        name: &[u8],
        mut sets: Vec<SetData>,
        is_apex: bool,
        has_wildcard: bool,
        children: u32,
    ) -> Result<Node, NodeError> {
        sets.retain(|s| !s.rdatas.is_empty());
        sets.sort_by_key(|s| s.rtype);
        if sets.len() > u8::MAX as usize {
            return Err(NodeError::TooManyTypes);
        }
        let mut flags = if has_wildcard { HAS_WILDCARD } else { 0 };
        let mut size = name.len() + DESC * sets.len();
        for s in sets.iter_mut() {
            s.rdatas.sort_unstable();
            s.rdatas.dedup();
            let octets: usize = s.rdatas.iter().map(|r| r.len()).sum();
            if s.rdatas.len() > MAX_RRSET_RECORDS || octets > MAX_RRSET_OCTETS {
                return Err(NodeError::RrsetTooLarge);
            }
            size += octets + RECORD_PREFIX * s.rdatas.len();
            flags |= match s.rtype {
                Rtype::NS if !is_apex => DELEGATION,
                Rtype::DNAME => HAS_DNAME,
                Rtype::CNAME => HAS_CNAME,
                _ => 0,
            };
        }
        let mut data = Vec::with_capacity(HEAD + size);
        data.extend_from_slice(&head(children, flags, sets.len() as u8, name.len() as u8));
        data.extend_from_slice(name);
        for s in &sets {
            let wire_len: usize = s.rdatas.iter().map(|r| r.len() + RECORD_PREFIX).sum();
            data.extend_from_slice(&header(s.rtype, s.ttl));
            data.extend_from_slice(&(s.rdatas.len() as u16).to_be_bytes());
            data.extend_from_slice(&[0, 0]);
            data.extend_from_slice(&(wire_len as u32).to_be_bytes());
        }
        for s in &sets {
            let h = header(s.rtype, s.ttl);
            for r in &s.rdatas {
                data.extend_from_slice(&[0xC0, 0x0C]);
                data.extend_from_slice(&h);
                data.extend_from_slice(&(r.len() as u16).to_be_bytes());
                data.extend_from_slice(r);
            }
        }
        Ok(Node { bytes: data.into() })
    }

    /// An empty non-terminal.
    pub fn empty(name: &[u8], has_wildcard: bool, children: u32) -> Node {
        let flags = if has_wildcard { HAS_WILDCARD } else { 0 };
        let mut data = Vec::with_capacity(HEAD + name.len());
        data.extend_from_slice(&head(children, flags, 0, name.len() as u8));
        data.extend_from_slice(name);
        Node { bytes: data.into() }
    }

    #[inline]
    fn name_len(&self) -> usize {
        self.bytes[6] as usize
    }

    #[inline]
    fn nsets(&self) -> usize {
        self.bytes[5] as usize
    }

    /// The owner, lowercased wire octets.
    #[inline]
    pub fn name(&self) -> &[u8] {
        &self.bytes[HEAD..HEAD + self.name_len()]
    }

    /// [`DELEGATION`], [`HAS_DNAME`], [`HAS_CNAME`], [`HAS_WILDCARD`] bits.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.bytes[4]
    }

    /// Number of child nodes.
    pub fn children(&self) -> u32 {
        u32::from_be_bytes([self.bytes[0], self.bytes[1], self.bytes[2], self.bytes[3]])
    }

    /// True for an empty non-terminal (or a node about to be removed).
    pub fn is_empty(&self) -> bool {
        self.nsets() == 0
    }

    /// Sets the child count and the wildcard flag (in place when no other version shares the node).
    pub fn set_children(&mut self, children: u32, has_wildcard: bool) {
        if Arc::get_mut(&mut self.bytes).is_none() {
            self.bytes = self.bytes.to_vec().into();
        }
        let flags = (self.flags() & !HAS_WILDCARD) | if has_wildcard { HAS_WILDCARD } else { 0 };
        if let Some(b) = Arc::get_mut(&mut self.bytes) {
            b[..4].copy_from_slice(&children.to_be_bytes());
            b[4] = flags;
        }
    }

    /// The RRsets, by ascending type.
    pub fn rrsets(&self) -> impl Iterator<Item = RRset<'_>> {
        let table = HEAD + self.name_len();
        let mut wire = table + DESC * self.nsets();
        let data = &self.bytes[..];
        (0..self.nsets()).map(move |i| {
            let d = &data[table + i * DESC..table + (i + 1) * DESC];
            let len = u32::from_be_bytes([d[12], d[13], d[14], d[15]]) as usize;
            let set = RRset::from_descriptor(d, &data[wire..wire + len]);
            wire += len;
            set
        })
    }

    /// The RRset of a type, if present.
    #[inline]
    pub fn rrset(&self, rtype: Rtype) -> Option<RRset<'_>> {
        self.rrsets().find(|r| r.rtype == rtype)
    }

    /// The lowest-typed RRset (the answer to ANY, RFC 8482 §4.2).
    pub fn first_rrset(&self) -> Option<RRset<'_>> {
        self.rrsets().next()
    }

    /// The RRsets decoded for editing.
    pub fn sets(&self) -> Vec<SetData> {
        self.rrsets()
            .map(|s| SetData {
                rtype: s.rtype,
                ttl: s.ttl,
                rdatas: s.rdatas().map(Box::from).collect(),
            })
            .collect()
    }
}

/// Type, class IN and TTL as they appear on the wire.
pub fn header(rtype: Rtype, ttl: u32) -> [u8; 8] {
    let mut h = [0u8; 8];
    h[0..2].copy_from_slice(&rtype.0.to_be_bytes());
    h[2..4].copy_from_slice(&Class::IN.0.to_be_bytes());
    h[4..8].copy_from_slice(&ttl.to_be_bytes());
    h
}

/// Copies `rdata` with its RFC 4034 §6.2 names lowercased.
pub fn canonical_rdata(rtype: Rtype, rdata: &[u8]) -> Box<[u8]> {
    let mut r: Box<[u8]> = rdata.into();
    lowercase_canonical_names(rtype, &mut r);
    r
}

/// Copies a wire name lowercased into `buf`, returning the slice.
pub fn lowercase_into<'b>(name: &[u8], buf: &'b mut [u8; 255]) -> &'b [u8] {
    let n = name.len().min(255);
    buf[..n].copy_from_slice(&name[..n]);
    lowercase_wire(&mut buf[..n]);
    &buf[..n]
}

/// One RRset of a node, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct RRset<'a> {
    /// Record type.
    pub rtype: Rtype,
    /// TTL shared by the set.
    pub ttl: u32,
    /// Type, class and TTL as they appear on the wire.
    pub header: [u8; 8],
    count: u16,
    /// The records, each `0xC00C` + header + rdlength + rdata.
    wire: &'a [u8],
}

impl<'a> RRset<'a> {
    fn from_descriptor(d: &[u8], wire: &'a [u8]) -> RRset<'a> {
        let mut header = [0u8; 8];
        header.copy_from_slice(&d[..8]);
        RRset {
            rtype: Rtype(u16::from_be_bytes([d[0], d[1]])),
            ttl: u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
            header,
            count: u16::from_be_bytes([d[8], d[9]]),
            wire,
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
    pub fn rdatas(&self) -> impl Iterator<Item = &'a [u8]> {
        let wire = self.wire;
        let mut pos = 0;
        std::iter::from_fn(move || {
            let len = wire.get(pos + 10..pos + RECORD_PREFIX)?;
            let start = pos + RECORD_PREFIX;
            let end = start + u16::from_be_bytes([len[0], len[1]]) as usize;
            pos = end;
            wire.get(start..end)
        })
    }

    /// The pre-encoded records, when they can be copied whole (owner = question name, nothing to compress).
    #[inline]
    pub fn packed(&self) -> Option<&'a [u8]> {
        (!has_compressible_names(self.rtype)).then_some(self.wire)
    }

    /// The compressible names of one of this set's rdatas.
    pub fn slots(&self, rdata: &[u8]) -> ([NameSlot; 2], usize) {
        compressible_names(self.rtype, rdata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rtype: Rtype, ttl: u32, rdatas: &[&[u8]]) -> SetData {
        SetData {
            rtype,
            ttl,
            rdatas: rdatas.iter().map(|r| Box::from(*r)).collect(),
        }
    }

    #[test]
    fn encodes_and_reads_back() {
        let name = b"\x03www\x07example\x00";
        let n = Node::new(
            name,
            vec![
                set(Rtype::TXT, 60, &[b"\x02hi"]),
                set(
                    Rtype::A,
                    300,
                    &[&[192, 0, 2, 2], &[192, 0, 2, 1], &[192, 0, 2, 1]],
                ),
            ],
            false,
            true,
            3,
        )
        .unwrap();
        assert_eq!(n.name(), name);
        assert_eq!(n.children(), 3);
        assert_eq!(n.flags() & HAS_WILDCARD, HAS_WILDCARD);
        let types: Vec<Rtype> = n.rrsets().map(|s| s.rtype).collect();
        assert_eq!(types, vec![Rtype::A, Rtype::TXT]);
        let a = n.rrset(Rtype::A).unwrap();
        assert_eq!(a.ttl, 300);
        assert_eq!(a.len(), 2);
        let rd: Vec<&[u8]> = a.rdatas().collect();
        assert_eq!(rd, vec![&[192, 0, 2, 1][..], &[192, 0, 2, 2][..]]);
        assert_eq!(a.packed().unwrap().len(), 32);
        assert_eq!(n.sets()[1], set(Rtype::TXT, 60, &[b"\x02hi"]));
        assert!(n.rrset(Rtype::MX).is_none());
    }

    #[test]
    fn flags_follow_types_and_limits_hold() {
        let ns = set(Rtype::NS, 60, &[b"\x02ns\x00"]);
        let below = Node::new(b"\x01a\x00", vec![ns.clone()], false, false, 0).unwrap();
        assert_eq!(below.flags(), DELEGATION);
        let apex = Node::new(b"\x00", vec![ns], true, false, 0).unwrap();
        assert_eq!(apex.flags(), 0);
        let many: Vec<Box<[u8]>> = (0..=MAX_RRSET_RECORDS as u32)
            .map(|i| Box::from(&i.to_be_bytes()[..]))
            .collect();
        let big = SetData {
            rtype: Rtype::A,
            ttl: 1,
            rdatas: many,
        };
        assert_eq!(
            Node::new(b"\x00", vec![big], true, false, 0).unwrap_err(),
            NodeError::RrsetTooLarge
        );
    }
}
