//! The journal's record blobs, record-set differences and SOA serial access.
//!
//! A blob is records back to back in RFC 1035 §4.1.3 wire format, owner
//! uncompressed: `owner, type (u16), class (u16), ttl (u32), rdlength (u16),
//! rdata` — what an IXFR response (RFC 1995 §4) carries, minus compression.

use crate::error::StoreError;
use std::collections::HashSet;
use zonecast_proto::name::check_wire;
use zonecast_proto::{Class, Name, Record, Rtype};

/// Largest rdata length the wire format can express.
pub(crate) const MAX_RDATA_LEN: usize = u16::MAX as usize;

/// Encodes records in the journal blob format.
///
/// Rdata longer than 65,535 octets can't be expressed and is cut to that
/// length; the store refuses such records before it encodes them.
pub fn encode_records(records: &[Record]) -> Vec<u8> {
    let size: usize = records
        .iter()
        .map(|r| r.owner.wire_len() + 10 + r.rdata.len().min(MAX_RDATA_LEN))
        .sum();
    let mut out = Vec::with_capacity(size);
    for r in records {
        let rdata = r.rdata.get(..MAX_RDATA_LEN).unwrap_or(&r.rdata);
        out.extend_from_slice(r.owner.as_wire());
        out.extend_from_slice(&r.rtype.0.to_be_bytes());
        out.extend_from_slice(&r.class.0.to_be_bytes());
        out.extend_from_slice(&r.ttl.to_be_bytes());
        out.extend_from_slice(&u16::try_from(rdata.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(rdata);
    }
    out
}

/// Decodes a journal blob; truncated or malformed input is an error, never a panic.
///
/// Rdata is taken as is: its structure is not checked against the type.
pub fn decode_records(buf: &[u8]) -> Result<Vec<Record>, StoreError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < buf.len() {
        let rest = buf.get(pos..).unwrap_or_default();
        let name_len = check_wire(rest).map_err(|e| bad(pos, format!("owner name: {e}")))?;
        let owner = rest
            .get(..name_len)
            .ok_or_else(|| bad(pos, "owner name truncated".into()))
            .and_then(|w| Name::from_wire(w).map_err(|e| bad(pos, format!("owner name: {e}"))))?;
        pos += name_len;
        let fixed = buf
            .get(pos..pos + 10)
            .ok_or_else(|| bad(pos, "record header truncated".into()))?;
        let (rtype, class, ttl, rdlen) = match fixed {
            [t0, t1, c0, c1, l0, l1, l2, l3, r0, r1] => (
                u16::from_be_bytes([*t0, *t1]),
                u16::from_be_bytes([*c0, *c1]),
                u32::from_be_bytes([*l0, *l1, *l2, *l3]),
                usize::from(u16::from_be_bytes([*r0, *r1])),
            ),
            _ => return Err(bad(pos, "record header truncated".into())),
        };
        pos += 10;
        let rdata = buf
            .get(pos..pos + rdlen)
            .ok_or_else(|| bad(pos, format!("rdata of {rdlen} octets truncated")))?;
        pos += rdlen;
        out.push(Record {
            owner,
            rtype: Rtype(rtype),
            class: Class(class),
            ttl,
            rdata: rdata.into(),
        });
    }
    Ok(out)
}

fn bad(offset: usize, reason: String) -> StoreError {
    StoreError::BadBlob { offset, reason }
}

/// Identity of a record for [`diff`]: owner (case-insensitive), type, class, TTL, rdata.
type DiffKey<'a> = (&'a Name, Rtype, Class, u32, &'a [u8]);

fn diff_key(r: &Record) -> DiffKey<'_> {
    (&r.owner, r.rtype, r.class, r.ttl, &r.rdata)
}

/// The records to remove from `old` and to add to reach `new`.
///
/// Identity includes the TTL, so a TTL change is a removal plus an addition
/// (as IXFR expresses it). Owner case is not compared. Both inputs are taken
/// as sets: duplicates appear once. Removed records come in the order of
/// `old`, added ones in the order of `new`.
pub fn diff(old: &[Record], new: &[Record]) -> (Vec<Record>, Vec<Record>) {
    let old_set: HashSet<DiffKey<'_>> = old.iter().map(diff_key).collect();
    let new_set: HashSet<DiffKey<'_>> = new.iter().map(diff_key).collect();
    let mut seen: HashSet<DiffKey<'_>> = HashSet::new();
    let removed = old
        .iter()
        .filter(|r| !new_set.contains(&diff_key(r)) && seen.insert(diff_key(r)))
        .cloned()
        .collect();
    seen.clear();
    let added = new
        .iter()
        .filter(|r| !old_set.contains(&diff_key(r)) && seen.insert(diff_key(r)))
        .cloned()
        .collect();
    (removed, added)
}

/// The serial in SOA rdata (RFC 1035 §3.3.13), or `None` when the rdata is malformed.
pub(crate) fn soa_serial(rdata: &[u8]) -> Option<u32> {
    let mname = check_wire(rdata).ok()?;
    let rname = check_wire(rdata.get(mname..)?).ok()?;
    match rdata.get(mname + rname..mname + rname + 4)? {
        [a, b, c, d] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(owner: &str, rtype: Rtype, ttl: u32, rdata: &[u8]) -> Record {
        Record {
            owner: owner.parse().unwrap(),
            rtype,
            class: Class::IN,
            ttl,
            rdata: rdata.into(),
        }
    }

    fn sample() -> Vec<Record> {
        vec![
            rec("Www.Example.", Rtype::A, 300, &[192, 0, 2, 1]),
            rec("example.", Rtype::TXT, 0xdead_beef, b"\x05hello"),
            rec("x.example.", Rtype(65400), 1, &[]),
            rec(".", Rtype::NS, 7, &[0]),
        ]
    }

    #[test]
    fn blob_round_trip() {
        let records = sample();
        let blob = encode_records(&records);
        // Www.Example. is 13 octets + 10 header + 4 rdata.
        assert_eq!(&blob[..13], b"\x03Www\x07Example\x00");
        assert_eq!(&blob[13..23], &[0, 1, 0, 1, 0, 0, 1, 44, 0, 4]);
        let back = decode_records(&blob).unwrap();
        assert_eq!(back, records);
        assert_eq!(back[0].owner.to_string(), "Www.Example.", "case preserved");
        assert_eq!(back[2].class, Class::IN);
        assert!(decode_records(&[]).unwrap().is_empty());
        assert!(encode_records(&[]).is_empty());
    }

    #[test]
    fn truncated_blobs_are_errors() {
        let blob = encode_records(&sample());
        for cut in 1..blob.len() {
            let r = decode_records(&blob[..cut]);
            // Cuts exactly at a record boundary are valid shorter blobs.
            let boundaries = [27usize, 27 + 9 + 10 + 6, 27 + 9 + 10 + 6 + 11 + 10];
            if boundaries.contains(&cut) {
                assert!(r.is_ok(), "cut at {cut}");
            } else {
                assert!(
                    matches!(r, Err(StoreError::BadBlob { .. })),
                    "cut at {cut}: {r:?}"
                );
            }
        }
    }

    #[test]
    fn garbage_blobs_are_errors() {
        // Label length 0x80 is not a valid uncompressed label.
        assert!(decode_records(&[0x80, 1, 2, 3]).is_err());
        // Compression pointer in an owner.
        assert!(decode_records(&[0xC0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]).is_err());
        // Label running past the end.
        assert!(decode_records(&[10, b'a']).is_err());
        // Rdlength larger than what follows.
        let err = decode_records(&[0, 0, 1, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 1]).unwrap_err();
        assert!(err.to_string().contains("offset 11"), "{err}");
        // A pseudo-random byte soup never panics.
        let mut x: u32 = 12345;
        for _ in 0..2000 {
            let len = (x % 64) as usize;
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            let _ = decode_records(&buf);
            x = x.wrapping_add(7);
        }
    }

    #[test]
    fn diff_sets() {
        let a1 = rec("a.example.", Rtype::A, 300, &[192, 0, 2, 1]);
        let a2 = rec("a.example.", Rtype::A, 300, &[192, 0, 2, 2]);
        let a1_ttl = rec("a.example.", Rtype::A, 60, &[192, 0, 2, 1]);
        let a1_upper = rec("A.EXAMPLE.", Rtype::A, 300, &[192, 0, 2, 1]);
        let mx = rec("example.", Rtype::MX, 300, b"\x00\x0a\x00");

        let (removed, added) = diff(&[a1.clone(), mx.clone()], &[a1_upper.clone(), mx.clone()]);
        assert!(
            removed.is_empty() && added.is_empty(),
            "owner case is not a change"
        );

        let (removed, added) = diff(&[a1.clone(), a2.clone()], &[a2.clone(), mx.clone()]);
        assert_eq!(removed, vec![a1.clone()]);
        assert_eq!(added, vec![mx.clone()]);

        let (removed, added) = diff(std::slice::from_ref(&a1), std::slice::from_ref(&a1_ttl));
        assert_eq!(removed, vec![a1.clone()]);
        assert_eq!(added, vec![a1_ttl.clone()]);
        assert_eq!(added[0].ttl, 60);

        // Duplicates collapse; order follows the inputs.
        let (removed, added) = diff(
            &[mx.clone(), a1.clone(), mx.clone()],
            &[a2.clone(), a1_ttl.clone(), a2.clone()],
        );
        assert_eq!(removed, vec![mx.clone(), a1.clone()]);
        assert_eq!(added, vec![a2.clone(), a1_ttl.clone()]);

        let (removed, added) = diff(&[], std::slice::from_ref(&a1));
        assert!(removed.is_empty());
        assert_eq!(added, vec![a1]);
    }

    #[test]
    fn soa_serial_read() {
        let mut rdata = b"\x03ns1\x07example\x00\x04host\x07example\x00".to_vec();
        rdata.extend_from_slice(&2024010101u32.to_be_bytes());
        rdata.extend_from_slice(&[0; 16]);
        assert_eq!(soa_serial(&rdata), Some(2024010101));
        assert_eq!(soa_serial(&rdata[..rdata.len() - 18]), None);
        assert_eq!(soa_serial(b"\x03ns1"), None);
    }
}
