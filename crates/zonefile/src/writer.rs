//! Zone file output: `$ORIGIN`, the apex SOA, then every record in canonical order.

use std::fmt::Write as _;
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
            .then_with(|| a.owner.cmp(&b.owner))
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
