//! Allocation-free reading of incoming queries for the server's hot path
//! (RFC 1035 §4.1, RFC 6891 §6.1.1 and §7).
//!
//! [`QueryView::parse`] checks what a responder must check — header, the
//! opcode, exactly one question with an uncompressed name (a message without
//! one only gets an error answer), every further record well formed, at most
//! one OPT and only in the additional section — and lowers the question name
//! into a fixed buffer for lookups. The original octets stay in
//! the packet, so the question can be echoed with its case preserved.
//!
//! Not implemented: EDNS options are skipped, not interpreted (no cookies).

use crate::name::{parse_wire_into, MAX_NAME_LEN};
use crate::types::{Class, Rtype};

/// Opcode of a standard query (RFC 1035 §4.1.1).
pub const OPCODE_QUERY: u8 = 0;
/// Opcode of NOTIFY (RFC 1996).
pub const OPCODE_NOTIFY: u8 = 4;
/// Opcode of UPDATE (RFC 2136).
pub const OPCODE_UPDATE: u8 = 5;

/// Why a query could not be answered normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryProblem {
    /// Not worth a response: shorter than a header, a response (QR set),
    /// several questions, a question that does not parse, or a malformed
    /// message without a question.
    Drop,
    /// Answer FORMERR (header echoed; question echoed when it parsed).
    FormErr,
    /// Answer NOTIMP: an opcode this server does not implement (question echoed when present).
    NotImp,
}

/// What the EDNS OPT record of a query asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EdnsView {
    /// EDNS version requested.
    pub version: u8,
    /// Advertised UDP payload size, raised to at least 512.
    pub udp_payload: u16,
    /// The DO bit.
    pub dnssec_ok: bool,
}

/// A parsed query, reused across packets to avoid allocation.
#[derive(Clone)]
pub struct QueryView {
    /// Message ID.
    pub id: u16,
    /// Opcode.
    pub opcode: u8,
    /// RD flag as received.
    pub rd: bool,
    /// CD flag as received.
    pub cd: bool,
    /// Lowercased question name in wire form.
    pub qname: [u8; MAX_NAME_LEN],
    /// Length of `qname`.
    pub qname_len: usize,
    /// Question type.
    pub qtype: Rtype,
    /// Question class.
    pub qclass: Class,
    /// Offset just past the question in the packet; 12 when no question parsed.
    pub question_end: usize,
    /// The OPT record's fields, if one was present.
    pub edns: Option<EdnsView>,
    /// Whether the message holds a TSIG record (anywhere: where it must be
    /// is checked when it is verified, [`crate::tsig::verify_request`]).
    pub tsig: bool,
}

impl Default for QueryView {
    fn default() -> Self {
        QueryView {
            id: 0,
            opcode: 0,
            rd: false,
            cd: false,
            qname: [0; MAX_NAME_LEN],
            qname_len: 0,
            qtype: Rtype(0),
            qclass: Class(0),
            question_end: 12,
            edns: None,
            tsig: false,
        }
    }
}

impl QueryView {
    /// The lowered question name.
    pub fn qname(&self) -> &[u8] {
        &self.qname[..self.qname_len]
    }

    /// Parses `msg` into `self`; on error the fields read so far stay valid for an error response.
    ///
    /// Like Knot: the whole message is checked first. A message that is
    /// malformed gets FORMERR when its question parsed (so it can be
    /// echoed) and no answer otherwise; a well-formed one with an opcode
    /// other than QUERY, NOTIFY and UPDATE gets NOTIMP, with or without a
    /// question; a QUERY, NOTIFY or UPDATE without a question (zone section,
    /// RFC 2136 §2.3) gets FORMERR; NOTIFY and UPDATE with one get NOTIMP.
    /// [`QueryView::edns`] is set only when the whole message parsed, so an
    /// OPT is echoed (or BADVERS answered) only then.
    pub fn parse(&mut self, msg: &[u8]) -> Result<(), QueryProblem> {
        self.question_end = 12;
        self.qname_len = 0;
        self.edns = None;
        self.tsig = false;
        if msg.len() < 12 {
            return Err(QueryProblem::Drop);
        }
        if msg[2] & 0x80 != 0 {
            return Err(QueryProblem::Drop);
        }
        self.id = u16::from_be_bytes([msg[0], msg[1]]);
        self.opcode = (msg[2] >> 3) & 0x0F;
        self.rd = msg[2] & 0x01 != 0;
        self.cd = msg[3] & 0x10 != 0;
        let qd = u16::from_be_bytes([msg[4], msg[5]]);
        let an = u16::from_be_bytes([msg[6], msg[7]]) as usize;
        let ns = u16::from_be_bytes([msg[8], msg[9]]) as usize;
        let ar = u16::from_be_bytes([msg[10], msg[11]]) as usize;
        // Several questions, or one that does not parse, are not worth an
        // answer (we could not echo the question), as with Knot.
        if qd > 1 {
            return Err(QueryProblem::Drop);
        }
        let mut pos = 12;
        if qd == 1 {
            pos = self.parse_question(msg)?;
        }
        if let Err(problem) = self.parse_records(msg, pos, an + ns + ar, an + ns) {
            self.edns = None;
            // Without a question there is nothing to echo: no answer.
            return Err(if qd == 0 { QueryProblem::Drop } else { problem });
        }
        match self.opcode {
            OPCODE_QUERY | OPCODE_NOTIFY | OPCODE_UPDATE if qd == 0 => Err(QueryProblem::FormErr),
            OPCODE_QUERY => Ok(()),
            _ => Err(QueryProblem::NotImp),
        }
    }

    /// Reads the question at offset 12 (an uncompressed name, type, class); returns the offset past it.
    fn parse_question(&mut self, msg: &[u8]) -> Result<usize, QueryProblem> {
        let mut pos = 12;
        loop {
            let l = *msg.get(pos).ok_or(QueryProblem::Drop)? as usize;
            if l == 0 {
                pos += 1;
                break;
            }
            if l > 63 {
                return Err(QueryProblem::Drop);
            }
            pos += 1 + l;
            if pos - 12 >= MAX_NAME_LEN {
                return Err(QueryProblem::Drop);
            }
        }
        let name = msg.get(12..pos).ok_or(QueryProblem::Drop)?;
        let tail = msg.get(pos..pos + 4).ok_or(QueryProblem::Drop)?;
        for (d, s) in self.qname.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        self.qname_len = name.len();
        self.qtype = Rtype(u16::from_be_bytes([tail[0], tail[1]]));
        self.qclass = Class(u16::from_be_bytes([tail[2], tail[3]]));
        pos += 4;
        self.question_end = pos;
        Ok(pos)
    }

    /// Checks the `count` records from `pos` to the end of `msg`: well
    /// formed, the last octet used, one OPT at most, only after the first
    /// `before_additional` records (in the additional section).
    fn parse_records(
        &mut self,
        msg: &[u8],
        mut pos: usize,
        count: usize,
        before_additional: usize,
    ) -> Result<(), QueryProblem> {
        let mut scratch = [0u8; MAX_NAME_LEN];
        for i in 0..count {
            let (owner_len, next) =
                parse_wire_into(msg, pos, &mut scratch).map_err(|_| QueryProblem::FormErr)?;
            let f = msg.get(next..next + 10).ok_or(QueryProblem::FormErr)?;
            let rtype = u16::from_be_bytes([f[0], f[1]]);
            self.tsig |= rtype == Rtype::TSIG.0;
            let rdlen = u16::from_be_bytes([f[8], f[9]]) as usize;
            let end = next + 10 + rdlen;
            if end > msg.len() {
                return Err(QueryProblem::FormErr);
            }
            if rtype == Rtype::OPT.0 {
                if i < before_additional || self.edns.is_some() || owner_len != 1 {
                    return Err(QueryProblem::FormErr);
                }
                // Options must tile the rdata exactly.
                let opts = &msg[next + 10..end];
                let mut o = 0;
                while o < opts.len() {
                    let h = opts.get(o..o + 4).ok_or(QueryProblem::FormErr)?;
                    o += 4 + u16::from_be_bytes([h[2], h[3]]) as usize;
                }
                if o != opts.len() {
                    return Err(QueryProblem::FormErr);
                }
                let payload = u16::from_be_bytes([f[2], f[3]]).max(512);
                self.edns = Some(EdnsView {
                    version: f[5],
                    udp_payload: payload,
                    dnssec_ok: f[6] & 0x80 != 0,
                });
            }
            pos = end;
        }
        if pos != msg.len() {
            return Err(QueryProblem::FormErr);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::build_query;
    use crate::name::Name;

    #[test]
    fn parses_and_lowers() {
        let q = build_query(
            7,
            &"WwW.Example.COM.".parse::<Name>().unwrap(),
            Rtype::MX,
            Some(1232),
        );
        let mut v = QueryView::default();
        v.parse(&q).unwrap();
        assert_eq!(v.id, 7);
        assert_eq!(
            v.qname(),
            "www.example.com.".parse::<Name>().unwrap().as_wire()
        );
        assert_eq!(v.qtype, Rtype::MX);
        assert_eq!(v.edns.unwrap().udp_payload, 1232);
        assert_eq!(v.question_end, q.len() - 11);
    }

    #[test]
    fn problems() {
        let mut v = QueryView::default();
        assert_eq!(v.parse(&[0; 5]), Err(QueryProblem::Drop));
        let base = build_query(
            7,
            &"a.example.".parse::<Name>().unwrap(),
            Rtype::A,
            Some(1232),
        );
        let mut r = base.clone();
        r[2] |= 0x80;
        assert_eq!(v.parse(&r), Err(QueryProblem::Drop));
        let mut r = base.clone();
        r[2] |= 5 << 3;
        assert_eq!(v.parse(&r), Err(QueryProblem::NotImp));
        let mut r = base.clone();
        r[11] = 2; // ARCOUNT beyond the message
        assert_eq!(v.parse(&r), Err(QueryProblem::FormErr));
        let mut r = base.clone();
        r.truncate(r.len() - 3);
        assert_eq!(v.parse(&r), Err(QueryProblem::FormErr));
        let mut r = base.clone();
        r.truncate(12 + 4); // question cut inside the name
        r[11] = 0;
        assert_eq!(v.parse(&r), Err(QueryProblem::Drop));
        let mut r = base.clone();
        r[12] = 0xC0; // compressed question
        assert_eq!(v.parse(&r), Err(QueryProblem::Drop));
        let mut r = base.clone();
        r.push(0); // trailing garbage
        assert_eq!(v.parse(&r), Err(QueryProblem::FormErr));
        let mut r = base.clone();
        r[5] = 0; // no question, the question's octets left over: nothing to echo
        assert_eq!(v.parse(&r), Err(QueryProblem::Drop));
        let mut r = base[..12].to_vec();
        r[5] = 0; // no question
        r[11] = 0;
        assert_eq!(v.parse(&r), Err(QueryProblem::FormErr));
        let mut r = base.clone();
        r[5] = 2;
        assert_eq!(v.parse(&r), Err(QueryProblem::Drop));
        let mut r = base.clone(); // two OPTs
        r[11] = 2;
        r.extend_from_slice(&[0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(v.parse(&r), Err(QueryProblem::FormErr));
        let mut r = base; // OPT in the answer section
        r[7] = 1;
        r[11] = 0;
        assert_eq!(v.parse(&r), Err(QueryProblem::FormErr));
    }

    /// Opcodes as Knot: NOTIMP for unknown ones with or without a question,
    /// FORMERR for QUERY/NOTIFY/UPDATE without one; a malformed message is
    /// FORMERR with a question, silence without; EDNS only for a whole message.
    #[test]
    fn opcodes_and_missing_questions() {
        let mut v = QueryView::default();
        let with_q = build_query(
            7,
            &"a.example.".parse::<Name>().unwrap(),
            Rtype::A,
            Some(1232),
        );
        let mut no_q = with_q[..12].to_vec();
        no_q[5] = 0;
        no_q[11] = 1;
        no_q.extend_from_slice(&with_q[with_q.len() - 11..]);
        for opcode in 0..16u8 {
            let set = |msg: &[u8]| {
                let mut m = msg.to_vec();
                m[2] = (m[2] & 0x87) | opcode << 3;
                m
            };
            let known = matches!(opcode, OPCODE_QUERY | OPCODE_NOTIFY | OPCODE_UPDATE);
            let r = v.parse(&set(&no_q));
            let want = if known {
                QueryProblem::FormErr
            } else {
                QueryProblem::NotImp
            };
            assert_eq!(r, Err(want), "opcode {opcode} without a question");
            assert!(v.edns.is_some(), "OPT of a whole message is kept");
            assert_eq!(v.question_end, 12);
            let r = v.parse(&set(&with_q));
            if opcode == OPCODE_QUERY {
                assert_eq!(r, Ok(()));
            } else {
                assert_eq!(r, Err(QueryProblem::NotImp), "opcode {opcode}");
                assert!(v.edns.is_some() && v.question_end > 12);
            }
            // Trailing octets: FORMERR with the question, silence without.
            let mut bad = set(&with_q);
            bad.push(0);
            assert_eq!(v.parse(&bad), Err(QueryProblem::FormErr), "opcode {opcode}");
            assert!(v.edns.is_none(), "no OPT echo for a malformed message");
            let mut bad = set(&no_q);
            bad.push(0);
            assert_eq!(v.parse(&bad), Err(QueryProblem::Drop), "opcode {opcode}");
        }
    }
}
