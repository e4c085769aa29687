//! Zone file output: `$ORIGIN`, the apex SOA, then every record in canonical order.

use std::cmp::Ordering;
use std::fmt::Write as _;
use zonecast_proto::name::MAX_NAME_LEN;
use zonecast_proto::rdata::format_presentation;
use zonecast_proto::{Name, Record, Rtype};

/// Writes records as a zone file that reads back to the same records.
///
/// `$ORIGIN` first, then the SOA at the apex, then the rest sorted by owner
/// in DNSSEC canonical order (RFC 4034 §6.1), type and rdata. Owners are
/// relative to the origin where they are below it; every line has an
/// explicit TTL and class, so no `$TTL` is needed. Rdata names are absolute.
pub fn write_zone(origin: &Name, records: &[Record]) -> String {
    let mut order: Vec<&Record> = records.iter().collect();
    order.sort_by(|a, b| {
        let a_soa = a.rtype == Rtype::SOA && a.owner == *origin;
        let b_soa = b.rtype == Rtype::SOA && b.owner == *origin;
        b_soa
            .cmp(&a_soa)
            .then_with(|| canonical_cmp(a.owner.as_wire(), b.owner.as_wire()))
            .then_with(|| a.rtype.cmp(&b.rtype))
            .then_with(|| a.rdata.cmp(&b.rdata))
    });
    let mut out = String::with_capacity(64 + records.len() * 48);
    let _ = writeln!(out, "$ORIGIN {origin}");
    for r in order {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            r.owner.to_relative_string(origin),
            r.ttl,
            r.class,
            r.rtype,
            format_presentation(r.rtype, &r.rdata)
        );
    }
    out
}

/// Label start offsets of an uncompressed wire name (at most 127 labels fit in 255 octets).
fn label_offsets(wire: &[u8], out: &mut [u8; MAX_NAME_LEN / 2 + 1]) -> usize {
    let mut n = 0;
    let mut pos = 0usize;
    while let Some(&len) = wire.get(pos) {
        if len == 0 || n >= out.len() {
            break;
        }
        if let Some(slot) = out.get_mut(n) {
            *slot = pos as u8;
        }
        n += 1;
        pos += 1 + len as usize;
    }
    n
}

/// RFC 4034 §6.1 order on wire names without allocating: labels compared from the right,
/// case-insensitively, a name sorting before the names below it.
pub(crate) fn canonical_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let mut oa = [0u8; MAX_NAME_LEN / 2 + 1];
    let mut ob = [0u8; MAX_NAME_LEN / 2 + 1];
    let na = label_offsets(a, &mut oa);
    let nb = label_offsets(b, &mut ob);
    for i in 1..=na.min(nb) {
        let (sa, sb) = (
            oa.get(na - i).copied().unwrap_or(0),
            ob.get(nb - i).copied().unwrap_or(0),
        );
        let la = label_slice(a, sa);
        let lb = label_slice(b, sb);
        let ord = la
            .iter()
            .map(u8::to_ascii_lowercase)
            .cmp(lb.iter().map(u8::to_ascii_lowercase));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    na.cmp(&nb)
}

fn label_slice(wire: &[u8], off: u8) -> &[u8] {
    let off = off as usize;
    let len = wire.get(off).copied().unwrap_or(0) as usize;
    wire.get(off + 1..off + 1 + len).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_order_matches_name_ord() {
        let names: Vec<Name> = [
            "example.",
            "a.example.",
            "yljkjljk.a.example.",
            "Z.a.example.",
            "zABC.a.EXAMPLE.",
            "z.example.",
            "\\001.z.example.",
            "*.z.example.",
            "\\200.z.example.",
            "b.",
            ".",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        for a in &names {
            for b in &names {
                assert_eq!(
                    canonical_cmp(a.as_wire(), b.as_wire()),
                    a.cmp(b),
                    "{a} vs {b}"
                );
            }
        }
    }
}
