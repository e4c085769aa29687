//! Response construction into a caller-owned buffer, with name compression
//! (RFC 1035 §4.1.4) and size limits for UDP truncation (RFC 2181 §9).
//!
//! Nothing here allocates. Compression follows Knot DNS 3.2 (libknot
//! `rrset-wire.c`), so that responses have the same size and truncate at
//! the same point:
//! - Names are compressed against one *suffix*: at first the question name,
//!   then the last name written with at least one literal label. A name is
//!   aligned with the suffix on the right, and its longest common tail of
//!   labels becomes a pointer. Labels compare case-insensitively (the name
//!   written is lowercase, the message label is lowered), so a zone name may
//!   point into the question and take on its case (RFC 4343 §4.1 allows it).
//! - An owner name is a pointer to the first owner of its RRset, or to a
//!   name it was told about (the question; the rdata name an additional
//!   record answers for), or to the suffix if it is that very name;
//!   otherwise the suffix goes back to the question and the owner is
//!   compressed against it.
//! - Only the RFC 1035 rdata names ([`NameSlot`]s) are compressed; the
//!   position of the first name in each record's rdata (also SRV and
//!   SVCB/HTTPS targets, written uncompressed) is kept, so that an
//!   additional record's owner can point at it ([`Writer::begin_rrset_for`]).

use crate::error::{Error, Result};
use crate::query::QueryView;
use crate::rdata::NameSlot;

/// How many rdata name positions a message remembers for additional-record owners.
pub const MAX_HINTS: usize = 32;

/// Records of an RRset whose first rdata name is remembered (Knot keeps 15
/// per RRset: `KNOT_COMPR_HINT_COUNT` less the owner's).
const HINTED_RECORDS: usize = 15;

/// Section indexes for [`Writer::count`].
pub const ANSWER: usize = 0;
/// Authority section index.
pub const AUTHORITY: usize = 1;
/// Additional section index.
pub const ADDITIONAL: usize = 2;

/// Offsets a compression pointer can reach (RFC 1035 §4.1.4: 14 bits).
const PTR_MAX: usize = 0x3FFF;

/// A saved writer state to roll back to.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    len: usize,
    counts: [u16; 3],
    suffix: (u16, u8),
    owner_hint: u16,
    rr_index: usize,
    hints: usize,
}

/// Writes one response message.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
    limit: usize,
    counts: [u16; 3],
    /// The name later names are compressed against: offset (0 = none) and label count.
    suffix: (u16, u8),
    /// Label count of the question name, when there is a question.
    qname_labels: Option<u8>,
    /// Pointer target for the owners of the RRset being written (0 = none yet).
    owner_hint: u16,
    /// Records of the current RRset written so far.
    rr_index: usize,
    /// Offsets of the first name in the rdata of the records written so far.
    hints: [u16; MAX_HINTS],
    nhints: usize,
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
            suffix: (0, 0),
            qname_labels: None,
            owner_hint: 0,
            rr_index: 0,
            hints: [0; MAX_HINTS],
            nhints: 0,
        };
        w.buf[0..2].copy_from_slice(&q.id.to_be_bytes());
        w.buf[2] = 0x80 | (q.opcode & 0x0F) << 3 | q.rd as u8;
        w.buf[3] = 0;
        w.buf[4..12].copy_from_slice(&[0, (qlen > 0) as u8, 0, 0, 0, 0, 0, 0]);
        if qlen > 0 && 12 + qlen <= w.buf.len() {
            w.buf[12..12 + qlen].copy_from_slice(&query[12..12 + qlen]);
            w.len = 12 + qlen;
            let mut labels = 0u8;
            let mut off = 12;
            while off < w.len && w.buf[off] != 0 {
                labels = labels.saturating_add(1);
                off += 1 + w.buf[off] as usize;
            }
            w.qname_labels = Some(labels);
            w.suffix = (12, labels);
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
            suffix: self.suffix,
            owner_hint: self.owner_hint,
            rr_index: self.rr_index,
            hints: self.nhints,
        }
    }

    /// Returns to a saved state.
    pub fn rollback(&mut self, m: Mark) {
        self.len = m.len;
        self.counts = m.counts;
        self.suffix = m.suffix;
        self.owner_hint = m.owner_hint;
        self.rr_index = m.rr_index;
        self.nhints = m.hints;
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

    fn put_pointer(&mut self, off: u16) -> Result<()> {
        self.put(&(0xC000 | off).to_be_bytes())
    }

    /// Starts an RRset: its first owner is written by [`Writer::put_owner`] in full, later ones point to it.
    pub fn begin_rrset(&mut self) {
        self.owner_hint = 0;
        self.rr_index = 0;
    }

    /// Starts an RRset whose owner is `name`, pointing at an earlier rdata
    /// name equal to it when there is one: how additional records refer to
    /// the NS, MX, SRV or SVCB target they answer for (Knot's compression
    /// hints). Without one, like [`Writer::begin_rrset`].
    pub fn begin_rrset_for(&mut self, name: &[u8]) {
        self.begin_rrset();
        if name.first().is_some_and(|&l| l != 0) {
            let buf = &self.buf[..self.len];
            if let Some(&off) = self.hints[..self.nhints]
                .iter()
                .find(|&&off| name_equal_at(buf, off as usize, name))
            {
                self.owner_hint = off;
            }
        }
    }

    /// Writes a pointer to the question name (offset 12) as an owner; later owners of the RRset point there too.
    pub fn put_qname_pointer(&mut self) -> Result<()> {
        self.owner_hint = 12;
        self.put_pointer(12)
    }

    /// Writes an uncompressed wire name as an RR owner (Knot's `write_owner`).
    pub fn put_owner(&mut self, name: &[u8]) -> Result<()> {
        let root = name.first() == Some(&0);
        if !root && self.owner_hint != 0 {
            return self.put_pointer(self.owner_hint);
        }
        let (spos, _) = self.suffix;
        if !root && spos != 0 && name_equal_at(&self.buf[..self.len], spos as usize, name) {
            self.owner_hint = spos;
            return self.put_pointer(spos);
        }
        if let Some(labels) = self.qname_labels {
            self.suffix = (12, labels);
        }
        let at = self.len;
        self.put_name(name)?;
        self.owner_hint = self.hint_for(at);
        Ok(())
    }

    /// The pointer target for a name written at `at`: itself, or where it points if it is only a pointer (0 when out of pointer range).
    fn hint_for(&self, at: usize) -> u16 {
        let off = match self.buf.get(at..at + 2) {
            Some(&[a, b]) if a & 0xC0 == 0xC0 => (((a & 0x3F) as usize) << 8) | b as usize,
            _ => at,
        };
        if off < PTR_MAX {
            off as u16
        } else {
            0
        }
    }

    /// Remembers the rdata name written at `at`, in the current RRset's
    /// record `index`, for later additional-record owners (as Knot, only in
    /// the first [`HINTED_RECORDS`] records of an RRset).
    fn add_hint(&mut self, at: usize, index: usize) {
        let h = self.hint_for(at);
        if h != 0 && index < HINTED_RECORDS && self.nhints < MAX_HINTS {
            self.hints[self.nhints] = h;
            self.nhints += 1;
        }
    }

    /// Writes an uncompressed wire name, compressed against the current suffix (Knot's `compr_put_dname`).
    pub fn put_name(&mut self, name: &[u8]) -> Result<()> {
        let (spos, slabels) = self.suffix;
        if spos == 0 || name.first() == Some(&0) {
            return self.put(name);
        }
        let start = self.len;
        let name_labels = label_count(name).ok_or(Error::Malformed("name"))?;
        // Align the suffix with the name on the right.
        let mut suffix = spos as usize;
        let mut suffix_labels = slabels as usize;
        while suffix_labels > name_labels {
            suffix = next_label(&self.buf[..self.len], suffix).ok_or(Error::Malformed("suffix"))?;
            suffix_labels -= 1;
        }
        let mut i = 0;
        let mut left = name_labels;
        while left > suffix_labels {
            let end = i + 1 + name[i] as usize;
            self.put(name.get(i..end).ok_or(Error::Malformed("name"))?)?;
            i = end;
            left -= 1;
        }
        // Equal label counts: the longest common tail becomes a pointer.
        let mut match_begin = i;
        let mut compr_ptr = suffix;
        while name.get(i).is_some_and(|&l| l != 0) {
            let next_i = i + 1 + name[i] as usize;
            let next_suffix =
                next_label(&self.buf[..self.len], suffix).ok_or(Error::Malformed("suffix"))?;
            if !label_equal(&name[i..next_i], &self.buf[..self.len], suffix) {
                let chunk = name
                    .get(match_begin..next_i)
                    .ok_or(Error::Malformed("name"))?;
                self.put(chunk)?;
                match_begin = next_i;
                compr_ptr = next_suffix;
            }
            i = next_i;
            suffix = next_suffix;
        }
        if match_begin == i {
            self.put(&[0])?;
        } else {
            self.put_pointer(compr_ptr as u16)?;
        }
        // Knot's heuristic: similar names come together, so compress the
        // next names against this one when it has literal labels.
        let written = self.len - start;
        if written > 2 && start + written < PTR_MAX {
            self.suffix = (start as u16, name_labels.min(u8::MAX as usize) as u8);
        }
        Ok(())
    }

    /// Writes the fixed part after an owner: type, class, TTL (8 octets given pre-encoded), then rdata.
    ///
    /// `slots` are the compressible names inside `rdata`. The first name of
    /// the rdata is remembered for additional-record owners.
    pub fn put_rr_body(
        &mut self,
        type_class_ttl: &[u8; 8],
        rdata: &[u8],
        slots: &[NameSlot],
    ) -> Result<()> {
        self.put(type_class_ttl)?;
        let rtype = u16::from_be_bytes([type_class_ttl[0], type_class_ttl[1]]);
        let index = self.rr_index;
        self.rr_index += 1;
        if slots.is_empty() {
            self.put(&(rdata.len() as u16).to_be_bytes())?;
            let start = self.len;
            self.put(rdata)?;
            if let Some(off) = uncompressed_target(rtype, rdata) {
                self.add_hint(start + off, index);
            }
            return Ok(());
        }
        let len_at = self.len;
        self.put(&[0, 0])?;
        let start = self.len;
        let mut pos = 0usize;
        for (k, s) in slots.iter().enumerate() {
            let (a, b) = (s.start as usize, s.end as usize);
            self.put(rdata.get(pos..a).ok_or(Error::Malformed("rdata slot"))?)?;
            let at = self.len;
            self.put_name(rdata.get(a..b).ok_or(Error::Malformed("rdata slot"))?)?;
            if k == 0 {
                self.add_hint(at, index);
            }
            pos = b;
        }
        self.put(rdata.get(pos..).ok_or(Error::Malformed("rdata slot"))?)?;
        let rdlen = (self.len - start) as u16;
        self.buf[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        Ok(())
    }

    /// Copies pre-encoded records (owners already pointers to the question) in one go and counts them.
    pub fn put_raw_records(&mut self, section: usize, wire: &[u8], count: u16) -> Result<()> {
        let start = self.len;
        self.put(wire)?;
        self.counts[section] += count;
        self.owner_hint = 12;
        // Remember SRV and SVCB/HTTPS targets for additional-record owners.
        let mut pos = 0usize;
        let mut index = 0;
        while let Some(rec) = wire.get(pos..pos + 12) {
            let rtype = u16::from_be_bytes([rec[2], rec[3]]);
            let rdlen = u16::from_be_bytes([rec[10], rec[11]]) as usize;
            let rdata = wire.get(pos + 12..pos + 12 + rdlen).unwrap_or(&[]);
            if let Some(off) = uncompressed_target(rtype, rdata) {
                self.add_hint(start + pos + 12 + off, index);
            }
            pos += 12 + rdlen;
            index += 1;
        }
        self.rr_index = index;
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

/// Where the first name of uncompressed rdata sits for types whose target
/// additional processing follows but that are not compressed (SRV RFC 2782,
/// SVCB/HTTPS RFC 9460 §2.2); `None` for others or a root target.
fn uncompressed_target(rtype: u16, rdata: &[u8]) -> Option<usize> {
    let off = match rtype {
        33 => 6,
        64 | 65 => 2,
        _ => return None,
    };
    rdata.get(off).is_some_and(|&l| l != 0).then_some(off)
}

/// Number of labels of an uncompressed wire name (the root label not counted).
fn label_count(name: &[u8]) -> Option<usize> {
    let mut i = 0;
    let mut n = 0;
    loop {
        let l = *name.get(i)? as usize;
        if l == 0 {
            return Some(n);
        }
        if l > 63 {
            return None;
        }
        i += 1 + l;
        n += 1;
    }
}

/// The offset of the label at `off` in `msg`, following compression pointers.
fn seek_label(msg: &[u8], mut off: usize) -> Option<usize> {
    let mut hops = 0;
    while let Some(&b) = msg.get(off) {
        if b & 0xC0 != 0xC0 {
            return Some(off);
        }
        let b2 = *msg.get(off + 1)?;
        let target = (((b & 0x3F) as usize) << 8) | b2 as usize;
        hops += 1;
        if target >= off || hops > 128 {
            return None;
        }
        off = target;
    }
    None
}

/// The offset of the label after the one at `off` (which must not be the root label).
fn next_label(msg: &[u8], off: usize) -> Option<usize> {
    let off = seek_label(msg, off)?;
    let l = *msg.get(off)? as usize;
    if l == 0 {
        return None;
    }
    seek_label(msg, off + 1 + l)
}

/// True when the uncompressed `label` (length octet and text) equals the label at `off` in `msg`, which is lowered first.
fn label_equal(label: &[u8], msg: &[u8], off: usize) -> bool {
    let Some(off) = seek_label(msg, off) else {
        return false;
    };
    let Some(theirs) = msg.get(off..off + label.len()) else {
        return false;
    };
    theirs.first() == label.first()
        && label[1..]
            .iter()
            .zip(&theirs[1..])
            .all(|(a, b)| *a == b.to_ascii_lowercase())
}

/// True when the (possibly compressed) name at `off` in `msg` equals the uncompressed `name`, case-insensitively as Knot compares.
fn name_equal_at(msg: &[u8], off: usize, name: &[u8]) -> bool {
    let mut i = 0;
    let mut off = off;
    loop {
        let Some(label_at) = seek_label(msg, off) else {
            return false;
        };
        let Some(&l) = name.get(i) else { return false };
        let end = i + 1 + l as usize;
        let Some(label) = name.get(i..end) else {
            return false;
        };
        if !label_equal(label, msg, label_at) {
            return false;
        }
        if l == 0 {
            return true;
        }
        off = label_at + 1 + l as usize;
        i = end;
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

    fn header(rtype: Rtype) -> [u8; 8] {
        let mut h = [0u8; 8];
        h[..2].copy_from_slice(&rtype.0.to_be_bytes());
        h[2..4].copy_from_slice(&1u16.to_be_bytes());
        h[4..8].copy_from_slice(&300u32.to_be_bytes());
        h
    }

    fn wire(name: &str) -> Vec<u8> {
        name.parse::<Name>().unwrap().as_wire().to_vec()
    }

    /// As Knot: zone names (lowercase) point into a question in another case,
    /// and the suffix moves to the last name written with literal labels.
    #[test]
    fn compression_like_knot() {
        let qn: Name = "WWW.Example.COM.".parse().unwrap();
        let q = build_query(9, &qn, Rtype::NS, None);
        let mut v = QueryView::default();
        v.parse(&q).unwrap();
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf, 512, &v, &q);
        // Owner example.com.: a pointer into the question (offset 16).
        w.begin_rrset();
        let at = w.len();
        w.put_owner(&wire("example.com.")).unwrap();
        assert_eq!(w.len() - at, 2);
        assert_eq!(&w.buf[at..at + 2], &[0xC0, 16]);
        // ns1.other.net.: no common labels with the question: written out.
        let rdata = wire("ns1.other.net.");
        w.put_rr_body(
            &header(Rtype::NS),
            &rdata,
            &[NameSlot {
                start: 0,
                end: rdata.len() as u16,
            }],
        )
        .unwrap();
        w.count_record(ANSWER);
        // The second owner of the RRset points to the first.
        let at = w.len();
        w.put_owner(&wire("example.com.")).unwrap();
        assert_eq!(&w.buf[at..at + 2], &[0xC0, 16]);
        // ns2.other.net. is compressed against ns1.other.net. (the suffix now).
        let rdata = wire("ns2.other.net.");
        let at = w.len() + 10;
        w.put_rr_body(
            &header(Rtype::NS),
            &rdata,
            &[NameSlot {
                start: 0,
                end: rdata.len() as u16,
            }],
        )
        .unwrap();
        w.count_record(ANSWER);
        assert_eq!(w.len() - at, 4 + 2, "ns2 and a pointer");
        // An additional owner points at the rdata name it answers for.
        w.begin_rrset_for(&wire("ns2.other.net."));
        let at = w.len();
        w.put_owner(&wire("ns2.other.net.")).unwrap();
        assert_eq!(w.len() - at, 2);
        w.put_rr_body(&header(Rtype::A), &[192, 0, 2, 1], &[])
            .unwrap();
        w.count_record(ADDITIONAL);
        let len = w.finish();
        let m = Message::parse(&buf[..len]).unwrap();
        assert_eq!(m.answer[0].owner.to_string(), "Example.COM.");
        assert_eq!(&m.answer[1].rdata[..], &wire("ns2.other.net.")[..]);
        assert_eq!(m.additional[0].owner.to_string(), "ns2.other.net.");
    }

    /// An SRV target (written uncompressed) is a pointer target for additional owners.
    #[test]
    fn srv_target_is_a_hint() {
        let q = build_query(
            1,
            &"_s._tcp.example.".parse::<Name>().unwrap(),
            Rtype::SRV,
            None,
        );
        let mut v = QueryView::default();
        v.parse(&q).unwrap();
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf, 512, &v, &q);
        let mut rdata = vec![0, 0, 0, 0, 0, 53];
        rdata.extend_from_slice(&wire("host.example."));
        let mut rec = vec![0xC0, 0x0C];
        rec.extend_from_slice(&header(Rtype::SRV));
        rec.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        rec.extend_from_slice(&rdata);
        let target_at = w.len() + 12 + 6;
        w.put_raw_records(ANSWER, &rec, 1).unwrap();
        w.begin_rrset_for(&wire("host.example."));
        let at = w.len();
        w.put_owner(&wire("host.example.")).unwrap();
        assert_eq!(
            &w.buf[at..at + 2],
            &(0xC000 | target_at as u16).to_be_bytes()
        );
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
