//! Where compressible names sit inside wire rdata (RFC 3597 §4).
//!
//! Only the RFC 1035 types (NS, MD, MF, CNAME, SOA, MB, MG, MR, PTR, MINFO,
//! MX) may have their rdata names compressed; all later types (SRV, DNAME,
//! NAPTR, ...) are written uncompressed.

use crate::name::check_wire;
use crate::types::Rtype;

/// A name inside rdata: octets `start..end` of the rdata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameSlot {
    /// First octet of the name inside the rdata.
    pub start: u16,
    /// One past the last octet (the root label).
    pub end: u16,
}

/// The compressible names of well-formed uncompressed rdata, in order (at most two).
///
/// Returns an empty list for types whose names must not be compressed and
/// for rdata that does not parse (it is then copied verbatim).
pub fn compressible_names(rtype: Rtype, rdata: &[u8]) -> ([NameSlot; 2], usize) {
    match canonical_names(rtype, rdata) {
        Some(slots) if has_compressible_names(rtype) => slots,
        _ => ([NO_SLOT; 2], 0),
    }
}

/// True for the RFC 1035 types whose rdata names may be compressed (RFC 3597 §4).
pub fn has_compressible_names(rtype: Rtype) -> bool {
    matches!(
        rtype,
        Rtype::NS
            | Rtype::MD
            | Rtype::MF
            | Rtype::CNAME
            | Rtype::MB
            | Rtype::MG
            | Rtype::MR
            | Rtype::PTR
            | Rtype::MX
            | Rtype::SOA
            | Rtype::MINFO
    )
}

const NO_SLOT: NameSlot = NameSlot { start: 0, end: 0 };

/// Where the domain names that RFC 4034 §6.2 lowers in canonical form sit in uncompressed rdata (at most two).
///
/// Covers NS, MD, MF, CNAME, SOA, MB, MG, MR, PTR, MINFO, MX, RP, AFSDB,
/// KX, SRV, NAPTR and DNAME (HINFO is in the RFC's list by mistake, RFC 6840
/// §5.1); the RFC 1035 types among them are the compressible ones. Returns
/// `None` for other types or rdata that does not parse.
pub fn canonical_names(rtype: Rtype, rdata: &[u8]) -> Option<([NameSlot; 2], usize)> {
    let name_at = |off: usize| -> Option<NameSlot> {
        let len = check_wire(rdata.get(off..)?).ok()?;
        Some(NameSlot {
            start: off as u16,
            end: (off + len) as u16,
        })
    };
    let one = |off: usize| name_at(off).map(|s| ([s, NO_SLOT], 1));
    let two = || {
        let a = name_at(0)?;
        let b = name_at(a.end as usize)?;
        Some(([a, b], 2))
    };
    match rtype {
        Rtype::NS
        | Rtype::MD
        | Rtype::MF
        | Rtype::CNAME
        | Rtype::MB
        | Rtype::MG
        | Rtype::MR
        | Rtype::PTR
        | Rtype::DNAME => one(0),
        Rtype::MX | Rtype::AFSDB | Rtype::KX => one(2),
        Rtype::SRV => one(6),
        Rtype::SOA | Rtype::MINFO | Rtype::RP => two(),
        Rtype::NAPTR => {
            // order, preference, then flags, services, regexp character-strings
            let mut pos = 4;
            for _ in 0..3 {
                pos += 1 + *rdata.get(pos)? as usize;
            }
            one(pos)
        }
        _ => None,
    }
}

/// Lowers the RFC 4034 §6.2 names inside `rdata` in place (no-op for other types).
pub fn lowercase_canonical_names(rtype: Rtype, rdata: &mut [u8]) {
    if let Some((slots, n)) = canonical_names(rtype, rdata) {
        for s in &slots[..n] {
            if let Some(name) = rdata.get_mut(s.start as usize..s.end as usize) {
                crate::name::lowercase_wire(name);
            }
        }
    }
}
