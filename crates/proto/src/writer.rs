//! Response construction into a caller-owned buffer, with name compression
//! (RFC 1035 §4.1.4) and size limits for UDP truncation (RFC 2181 §9).
//!
//! Nothing here allocates. Compression targets are remembered as offsets of
//! names already written (the question first), up to [`MAX_TARGETS`]; names
//! are compared by walking the message itself, octet for octet: like Knot,
//! a name is only compressed against the same spelling, so the case of data
//! never changes to the case of the question.

use crate::error::{Error, Result};
use crate::query::QueryView;
use crate::rdata::NameSlot;

/// How many name offsets a message remembers for compression.
pub const MAX_TARGETS: usize = 48;

/// Section indexes for [`Writer::count`].
pub const ANSWER: usize = 0;
/// Authority section index.
pub const AUTHORITY: usize = 1;
/// Additional section index.
pub const ADDITIONAL: usize = 2;

/// A saved writer state to roll back to.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    len: usize,
    counts: [u16; 3],
    targets: usize,
}

/// Writes one response message.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
    limit: usize,
    counts: [u16; 3],
    targets: [u16; MAX_TARGETS],
    ntargets: usize,
}

impl<'a> Writer<'a> {
    /// Starts a response to `q` whose raw packet is `query`; `limit` caps the size (before any OPT).
    ///
    /// Copies the ID, opcode and RD, and the question with its original
    /// case. If no question was parsed, the response has none. CD is left
    /// clear, as an authoritative server SHOULD (RFC 4035 §3.1.6; Knot and
    /// NSD do too); AD, Z and RA are never set.
    pub fn new(buf: &'a mut [u8], limit: usize, q: &QueryView, query: &[u8]) -> Writer<'a> {
        let limit = limit.min(buf.len());
        let qlen = q.question_end.saturating_sub(12);
        let mut w = Writer {
            buf,
            len: 12,
            limit,
            counts: [0; 3],
            targets: [0; MAX_TARGETS],
            ntargets: 0,
        };
        w.buf[0..2].copy_from_slice(&q.id.to_be_bytes());
        w.buf[2] = 0x80 | (q.opcode & 0x0F) << 3 | q.rd as u8;
        w.buf[3] = 0;
        w.buf[4..12].copy_from_slice(&[0, (qlen > 0) as u8, 0, 0, 0, 0, 0, 0]);
        if qlen > 0 && 12 + qlen <= w.buf.len() {
            w.buf[12..12 + qlen].copy_from_slice(&query[12..12 + qlen]);
            w.len = 12 + qlen;
            // Every label of the question name is a compression target.
            let mut off = 12;
            while off < w.len && w.buf[off] != 0 && w.ntargets < MAX_TARGETS {
                w.targets[w.ntargets] = off as u16;
                w.ntargets += 1;
                off += 1 + w.buf[off] as usize;
            }
        } else {
            w.buf[5] = 0;
        }
        w
    }

    /// Sets the AA flag.
    pub fn set_aa(&mut self, on: bool) {
        if on {
            self.buf[2] |= 0x04;
        } else {
            self.buf[2] &= !0x04;
        }
    }

    /// Sets the TC flag.
    pub fn set_tc(&mut self) {
        self.buf[2] |= 0x02;
    }

    /// True when TC is set.
    pub fn is_tc(&self) -> bool {
        self.buf[2] & 0x02 != 0
    }

    /// Sets the low 4 bits of the response code.
    pub fn set_rcode(&mut self, rcode: u8) {
        self.buf[3] = (self.buf[3] & 0xF0) | (rcode & 0x0F);
    }

    /// The current response code bits.
    pub fn rcode(&self) -> u8 {
        self.buf[3] & 0x0F
    }

    /// Octets written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when only the header has been written.
    pub fn is_empty(&self) -> bool {
        self.len <= 12
    }

    /// Records in a section so far.
    pub fn count(&self, section: usize) -> u16 {
        self.counts[section]
    }

    /// Lowers the size limit (never raises it past the buffer).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(self.buf.len());
    }

    /// The current size limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Saves the state, to undo a partly written RRset.
    pub fn mark(&self) -> Mark {
        Mark {
            len: self.len,
            counts: self.counts,
            targets: self.ntargets,
        }
    }

    /// Returns to a saved state.
    pub fn rollback(&mut self, m: Mark) {
        self.len = m.len;
        self.counts = m.counts;
        self.ntargets = m.targets;
    }

    fn put(&mut self, data: &[u8]) -> Result<()> {
        let end = self.len + data.len();
        if end > self.limit {
            return Err(Error::NoSpace);
        }
        self.buf[self.len..end].copy_from_slice(data);
        self.len = end;
        Ok(())
    }

    /// Writes an uncompressed wire name, compressing against earlier names.
    pub fn put_name(&mut self, name: &[u8]) -> Result<()> {
        let mut i = 0;
        while i < name.len() {
            let l = name[i] as usize;
            if l == 0 {
                return self.put(&[0]);
            }
            let suffix = &name[i..];
            if let Some(off) = self.find_target(suffix) {
                return self.put(&(0xC000 | off).to_be_bytes());
            }
            let here = self.len;
            let end = i + 1 + l;
            let label = name.get(i..end).ok_or(Error::Malformed("name"))?;
            self.put(label)?;
            if here < 0x4000 && self.ntargets < MAX_TARGETS {
                self.targets[self.ntargets] = here as u16;
                self.ntargets += 1;
            }
            i = end;
        }
        Err(Error::Malformed("name without root label"))
    }

    /// Writes a pointer to the question name (offset 12) as an owner.
    pub fn put_qname_pointer(&mut self) -> Result<()> {
        self.put(&[0xC0, 0x0C])
    }

    fn find_target(&self, suffix: &[u8]) -> Option<u16> {
        self.targets[..self.ntargets]
            .iter()
            .copied()
            .find(|&off| equal_at(&self.buf[..self.len], off as usize, suffix))
    }

    /// Writes the fixed part after an owner: type, class, TTL (8 octets given pre-encoded), then rdata.
    ///
    /// `slots` are the compressible names inside `rdata`.
    pub fn put_rr_body(
        &mut self,
        type_class_ttl: &[u8; 8],
        rdata: &[u8],
        slots: &[NameSlot],
    ) -> Result<()> {
        self.put(type_class_ttl)?;
        if slots.is_empty() {
            self.put(&(rdata.len() as u16).to_be_bytes())?;
            return self.put(rdata);
        }
        let len_at = self.len;
        self.put(&[0, 0])?;
        let start = self.len;
        let mut pos = 0usize;
        for s in slots {
            let (a, b) = (s.start as usize, s.end as usize);
            self.put(rdata.get(pos..a).ok_or(Error::Malformed("rdata slot"))?)?;
            self.put_name(rdata.get(a..b).ok_or(Error::Malformed("rdata slot"))?)?;
            pos = b;
        }
        self.put(rdata.get(pos..).ok_or(Error::Malformed("rdata slot"))?)?;
        let rdlen = (self.len - start) as u16;
        self.buf[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        Ok(())
    }

    /// Copies pre-encoded records (owners already pointers) in one go and counts them.
    pub fn put_raw_records(&mut self, section: usize, wire: &[u8], count: u16) -> Result<()> {
        self.put(wire)?;
        self.counts[section] += count;
        Ok(())
    }

    /// Counts one record written piecewise into `section`.
    pub fn count_record(&mut self, section: usize) {
        self.counts[section] += 1;
    }

    /// Appends an OPT record (RFC 6891 §6.1.2) with our payload size; ignores the limit.
    ///
    /// `ext_rcode` carries the upper 8 bits of an extended rcode (1 for BADVERS).
    pub fn put_opt(&mut self, payload: u16, ext_rcode: u8) -> Result<()> {
        let saved = self.limit;
        self.limit = self.buf.len();
        let p = payload.to_be_bytes();
        let r = self.put(&[0, 0, 41, p[0], p[1], ext_rcode, 0, 0, 0, 0, 0]);
        self.limit = saved;
        r?;
        self.counts[ADDITIONAL] += 1;
        Ok(())
    }

    /// Writes the section counts into the header and returns the message length.
    pub fn finish(self) -> usize {
        let c = self.counts;
        self.buf[6..8].copy_from_slice(&c[0].to_be_bytes());
        self.buf[8..10].copy_from_slice(&c[1].to_be_bytes());
        self.buf[10..12].copy_from_slice(&c[2].to_be_bytes());
        self.len
    }
}

/// Compares the (possibly compressed) name at `off` in `msg` with an uncompressed `name`, case included.
fn equal_at(msg: &[u8], mut off: usize, name: &[u8]) -> bool {
    let mut i = 0;
    let mut hops = 0;
    loop {
        let Some(&b) = msg.get(off) else { return false };
        if b & 0xC0 == 0xC0 {
            let Some(&b2) = msg.get(off + 1) else {
                return false;
            };
            off = (((b & 0x3F) as usize) << 8) | b2 as usize;
            hops += 1;
            if hops > 64 {
                return false;
            }
            continue;
        }
        let l = b as usize;
        if name.get(i) != Some(&b) {
            return false;
        }
        if l == 0 {
            return true;
        }
        let (Some(a), Some(c)) = (msg.get(off + 1..off + 1 + l), name.get(i + 1..i + 1 + l)) else {
            return false;
        };
        if a != c {
            return false;
        }
        off += 1 + l;
        i += 1 + l;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{build_query, Message};
    use crate::name::Name;
    use crate::rdata::compressible_names;
    use crate::types::Rtype;

    #[test]
    fn compresses_and_parses_back() {
        let qn: Name = "WWW.example.com.".parse().unwrap();
        let q = build_query(9, &qn, Rtype::MX, None);
        let mut v = QueryView::default();
        v.parse(&q).unwrap();
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf, 512, &v, &q);
        w.set_aa(true);
        // www.example.com. MX 10 mail.example.com.
        let target: Name = "mail.example.com.".parse().unwrap();
        let mut rdata = vec![0, 10];
        rdata.extend_from_slice(target.as_wire());
        let (slots, n) = compressible_names(Rtype::MX, &rdata);
        w.put_qname_pointer().unwrap();
        let mut tct = [0u8; 8];
        tct[..2].copy_from_slice(&15u16.to_be_bytes());
        tct[2..4].copy_from_slice(&1u16.to_be_bytes());
        tct[4..8].copy_from_slice(&300u32.to_be_bytes());
        w.put_rr_body(&tct, &rdata, &slots[..n]).unwrap();
        w.count_record(ANSWER);
        // mail.example.com. A in additional: owner compressed to the rdata name
        w.put_name(target.as_wire()).unwrap();
        tct[..2].copy_from_slice(&1u16.to_be_bytes());
        w.put_rr_body(&tct, &[192, 0, 2, 1], &[]).unwrap();
        w.count_record(ADDITIONAL);
        let len = w.finish();
        // header 12 + question 21 + MX (2+10+2+5+2) + A (2+10+4): both names compressed
        assert_eq!(len, 12 + 21 + 21 + 16);
        let m = Message::parse(&buf[..len]).unwrap();
        assert!(m.header.qr && m.header.aa);
        assert_eq!(m.questions[0].qname.to_string(), "WWW.example.com.");
        assert_eq!(m.answer[0].owner, qn);
        assert_eq!(&m.answer[0].rdata[..], &rdata[..]);
        assert_eq!(m.additional[0].owner, target);
    }

    #[test]
    fn limit_and_rollback() {
        let q = build_query(1, &"a.example.".parse::<Name>().unwrap(), Rtype::TXT, None);
        let mut v = QueryView::default();
        v.parse(&q).unwrap();
        let mut buf = [0u8; 4096];
        let mut w = Writer::new(&mut buf, 100, &v, &q);
        let m = w.mark();
        w.put_qname_pointer().unwrap();
        assert!(w
            .put_rr_body(&[0, 16, 0, 1, 0, 0, 0, 1], &[200; 201], &[])
            .is_err());
        w.rollback(m);
        assert_eq!(w.len(), q.len());
    }
}
