//! Packing transfer records into messages of up to 64 KiB (RFC 5936 §2.2).
//!
//! Each message echoes the query's ID and question, has AA set, and holds as
//! many records as fit in [`Packer::limit`] octets, owner names compressed
//! as in answers (rdata names too, for records read from a zone version).

use std::iter::Peekable;
use zonecast_proto::query::QueryView;
use zonecast_proto::rdata::{compressible_names, NameSlot};
use zonecast_proto::writer::Writer;
use zonecast_proto::{Record, Rtype};

/// One record to send, borrowed from a zone version or a journal entry.
#[derive(Clone, Copy)]
pub(crate) struct Rr<'a> {
    pub owner: &'a [u8],
    pub rtype: Rtype,
    /// Type, class and TTL as on the wire.
    pub header: [u8; 8],
    pub rdata: &'a [u8],
}

impl<'a> Rr<'a> {
    /// A stored record (class IN, as every record zonecast holds).
    pub fn of(r: &'a Record) -> Rr<'a> {
        Rr {
            owner: r.owner.as_wire(),
            rtype: r.rtype,
            header: zonecast_zone::node::header(r.rtype, r.ttl),
            rdata: &r.rdata,
        }
    }
}

/// A record too large for any message (cannot happen with rdata the store accepted).
#[derive(Debug)]
pub(crate) struct TooLarge;

/// Builds the messages of one transfer response.
pub(crate) struct Packer<'q> {
    pub q: &'q QueryView,
    pub query: &'q [u8],
    /// Octets a message may take (room for a TSIG record left off).
    pub limit: usize,
}

impl Packer<'_> {
    /// Fills `out` with the next message from `rrs`; its length and record
    /// count, or `None` when `rrs` is exhausted.
    pub fn fill<'a, I: Iterator<Item = Rr<'a>>>(
        &self,
        out: &mut [u8],
        rrs: &mut Peekable<I>,
    ) -> Result<Option<(usize, u64)>, TooLarge> {
        if rrs.peek().is_none() {
            return Ok(None);
        }
        let mut w = Writer::new(out, self.limit, self.q, self.query);
        w.set_aa(true);
        let mut written = 0u64;
        let mut last: Option<(&[u8], Rtype)> = None;
        while let Some(rr) = rrs.peek().copied() {
            if last != Some((rr.owner, rr.rtype)) {
                w.begin_rrset();
            }
            let m = w.mark();
            let (slots, n) = compressible_names(rr.rtype, rr.rdata);
            let slots: &[NameSlot] = slots.get(..n).unwrap_or(&[]);
            match w
                .put_owner(rr.owner)
                .and_then(|_| w.put_rr_body(&rr.header, rr.rdata, slots))
            {
                Ok(()) => {
                    w.count_record(0);
                    written += 1;
                    last = Some((rr.owner, rr.rtype));
                    rrs.next();
                }
                Err(_) if written > 0 => {
                    w.rollback(m);
                    break;
                }
                Err(_) => return Err(TooLarge),
            }
        }
        Ok(Some((w.finish(), written)))
    }
}
