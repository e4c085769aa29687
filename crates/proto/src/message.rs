//! DNS messages (RFC 1035 §4.1) and EDNS0 (RFC 6891 §6): a full parser for
//! tools, tests and transfers, and query construction.
//!
//! The server's hot path does not use [`Message`]: it reads queries with
//! [`crate::query::QueryView`] and writes answers with [`crate::writer::Writer`].
//!
//! Not implemented: EDNS option semantics (options are kept as opaque pairs).

use crate::error::{Error, Result};
use crate::name::Name;
use crate::rdata;
use crate::record::Record;
use crate::types::{Class, Rtype};

/// Header flags and codes of a message (RFC 1035 §4.1.1, RFC 4035 §3.2 for AD/CD).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Message ID.
    pub id: u16,
    /// Response flag.
    pub qr: bool,
    /// Opcode (4 bits).
    pub opcode: u8,
    /// Authoritative answer.
    pub aa: bool,
    /// Truncated.
    pub tc: bool,
    /// Recursion desired.
    pub rd: bool,
    /// Recursion available.
    pub ra: bool,
    /// Authentic data.
    pub ad: bool,
    /// Checking disabled.
    pub cd: bool,
    /// Low 4 bits of the response code.
    pub rcode: u8,
}

impl Header {
    /// Decodes the 12-octet header's ID and flags (counts are read separately).
    pub fn from_wire(h: &[u8]) -> Result<Header> {
        if h.len() < 12 {
            return Err(Error::ShortInput("header"));
        }
        let f1 = h[2];
        let f2 = h[3];
        Ok(Header {
            id: u16::from_be_bytes([h[0], h[1]]),
            qr: f1 & 0x80 != 0,
            opcode: (f1 >> 3) & 0x0F,
            aa: f1 & 0x04 != 0,
            tc: f1 & 0x02 != 0,
            rd: f1 & 0x01 != 0,
            ra: f2 & 0x80 != 0,
            ad: f2 & 0x20 != 0,
            cd: f2 & 0x10 != 0,
            rcode: f2 & 0x0F,
        })
    }

    /// The two flag octets of this header.
    pub fn flags(&self) -> [u8; 2] {
        let f1 = (self.qr as u8) << 7
            | (self.opcode & 0x0F) << 3
            | (self.aa as u8) << 2
            | (self.tc as u8) << 1
            | self.rd as u8;
        let f2 = (self.ra as u8) << 7
            | (self.ad as u8) << 5
            | (self.cd as u8) << 4
            | (self.rcode & 0x0F);
        [f1, f2]
    }
}

/// One entry of the question section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// Queried name, case as sent.
    pub qname: Name,
    /// Queried type.
    pub qtype: Rtype,
    /// Queried class.
    pub qclass: Class,
}

/// The EDNS0 OPT pseudo-record's fields (RFC 6891 §6.1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edns {
    /// EDNS version.
    pub version: u8,
    /// Requestor's UDP payload size (the OPT CLASS field).
    pub udp_payload: u16,
    /// The DO bit (RFC 3225).
    pub dnssec_ok: bool,
    /// Upper 8 bits of the extended rcode.
    pub ext_rcode: u8,
    /// Options as (code, data) pairs, in message order.
    pub options: Vec<(u16, Vec<u8>)>,
}

/// A fully parsed message with owned records.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Header flags.
    pub header: Header,
    /// Question section.
    pub questions: Vec<Question>,
    /// Answer section.
    pub answer: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section, without the OPT record.
    pub additional: Vec<Record>,
    /// The OPT record, if present.
    pub edns: Option<Edns>,
}

impl Message {
    /// Parses a whole message, decompressing names in rdata where allowed.
    ///
    /// Rejects: counts larger than the message, trailing garbage, more than
    /// one OPT, an OPT outside the additional section or with a non-root owner.
    pub fn parse(wire: &[u8]) -> Result<Message> {
        let header = Header::from_wire(wire)?;
        let count = |i: usize| u16::from_be_bytes([wire[i], wire[i + 1]]) as usize;
        let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
        let mut pos = 12;
        let mut questions = Vec::with_capacity(qd.min(4));
        for _ in 0..qd {
            let (qname, next) = Name::parse_wire(wire, pos)?;
            let f = wire
                .get(next..next + 4)
                .ok_or(Error::ShortInput("question"))?;
            questions.push(Question {
                qname,
                qtype: Rtype(u16::from_be_bytes([f[0], f[1]])),
                qclass: Class(u16::from_be_bytes([f[2], f[3]])),
            });
            pos = next + 4;
        }
        let mut edns = None;
        let mut sections: [Vec<Record>; 3] = Default::default();
        for (si, n) in [an, ns, ar].into_iter().enumerate() {
            for _ in 0..n {
                let (rec, next) = parse_record(wire, pos)?;
                pos = next;
                if rec.rtype == Rtype::OPT {
                    if si != 2 {
                        return Err(Error::Malformed("OPT outside the additional section"));
                    }
                    if edns.is_some() {
                        return Err(Error::Malformed("more than one OPT record"));
                    }
                    if !rec.owner.is_root() {
                        return Err(Error::Malformed("OPT owner is not the root"));
                    }
                    edns = Some(parse_opt(&rec)?);
                    continue;
                }
                sections[si].push(rec);
            }
        }
        if pos != wire.len() {
            return Err(Error::Malformed("trailing octets after the last record"));
        }
        let [answer, authority, additional] = sections;
        Ok(Message {
            header,
            questions,
            answer,
            authority,
            additional,
            edns,
        })
    }

    /// The full 12-bit response code (header bits plus the EDNS extension).
    pub fn rcode(&self) -> u16 {
        let ext = self.edns.as_ref().map_or(0, |e| e.ext_rcode as u16);
        (ext << 4) | self.header.rcode as u16
    }
}

/// Parses one resource record at `pos`; returns it and the position after it.
pub fn parse_record(wire: &[u8], pos: usize) -> Result<(Record, usize)> {
    let (owner, next) = Name::parse_wire(wire, pos)?;
    let f = wire
        .get(next..next + 10)
        .ok_or(Error::ShortInput("record header"))?;
    let rtype = Rtype(u16::from_be_bytes([f[0], f[1]]));
    let class = Class(u16::from_be_bytes([f[2], f[3]]));
    let ttl = u32::from_be_bytes([f[4], f[5], f[6], f[7]]);
    let rdlen = u16::from_be_bytes([f[8], f[9]]) as usize;
    let start = next + 10;
    if start + rdlen > wire.len() {
        return Err(Error::ShortInput("rdata"));
    }
    let rdata = if rtype == Rtype::OPT {
        wire[start..start + rdlen].to_vec()
    } else {
        rdata::from_message(rtype, wire, start, rdlen)?
    };
    Ok((
        Record {
            owner,
            rtype,
            class,
            ttl,
            rdata: rdata.into(),
        },
        start + rdlen,
    ))
}

fn parse_opt(rec: &Record) -> Result<Edns> {
    let mut options = Vec::new();
    let d = &rec.rdata;
    let mut i = 0;
    while i < d.len() {
        let h = d.get(i..i + 4).ok_or(Error::ShortInput("EDNS option"))?;
        let code = u16::from_be_bytes([h[0], h[1]]);
        let len = u16::from_be_bytes([h[2], h[3]]) as usize;
        let data = d
            .get(i + 4..i + 4 + len)
            .ok_or(Error::ShortInput("EDNS option data"))?;
        options.push((code, data.to_vec()));
        i += 4 + len;
    }
    Ok(Edns {
        version: (rec.ttl >> 16) as u8,
        udp_payload: rec.class.0,
        dnssec_ok: rec.ttl & 0x8000 != 0,
        ext_rcode: (rec.ttl >> 24) as u8,
        options,
    })
}

/// Builds a query with one question, RD clear, and an OPT record when `edns_payload` is given.
pub fn build_query(id: u16, qname: &Name, qtype: Rtype, edns_payload: Option<u16>) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + qname.wire_len() + 4 + 11);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, edns_payload.is_some() as u8]);
    out.extend_from_slice(qname.as_wire());
    out.extend_from_slice(&qtype.0.to_be_bytes());
    out.extend_from_slice(&Class::IN.0.to_be_bytes());
    if let Some(size) = edns_payload {
        out.push(0);
        out.extend_from_slice(&Rtype::OPT.0.to_be_bytes());
        out.extend_from_slice(&size.to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    }
    out
}

/// Serialises records without compression (owner, type, class, TTL, rdlength, rdata), appending to `out`.
pub fn write_records_uncompressed(records: &[Record], out: &mut Vec<u8>) {
    for r in records {
        out.extend_from_slice(r.owner.as_wire());
        out.extend_from_slice(&r.rtype.0.to_be_bytes());
        out.extend_from_slice(&r.class.0.to_be_bytes());
        out.extend_from_slice(&r.ttl.to_be_bytes());
        out.extend_from_slice(&(r.rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&r.rdata);
    }
}

/// The mnemonic of a response code (RFC 6895 §2.3), `RCODEnn` when unknown.
pub fn rcode_name(rcode: u16) -> String {
    let known = match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        n => return format!("RCODE{n}"),
    };
    known.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trip() {
        let q = build_query(
            0x1234,
            &"www.Example.com.".parse().unwrap(),
            Rtype::AAAA,
            Some(1232),
        );
        let m = Message::parse(&q).unwrap();
        assert_eq!(m.header.id, 0x1234);
        assert!(!m.header.qr);
        assert_eq!(m.questions[0].qname.to_string(), "www.Example.com.");
        assert_eq!(m.questions[0].qtype, Rtype::AAAA);
        assert_eq!(m.edns.as_ref().unwrap().udp_payload, 1232);
        assert_eq!(m.rcode(), 0);
    }

    #[test]
    fn rejects_two_opts_and_trailing() {
        let mut q = build_query(1, &Name::root(), Rtype::A, Some(512));
        q[11] = 2;
        q.extend_from_slice(&[0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert!(Message::parse(&q).is_err());
        let mut q = build_query(1, &Name::root(), Rtype::A, None);
        q.push(0);
        assert!(Message::parse(&q).is_err());
    }

    #[test]
    fn rejects_counts_beyond_message() {
        let mut q = build_query(1, &Name::root(), Rtype::A, None);
        q[7] = 3; // ANCOUNT 3 with no records
        assert!(Message::parse(&q).is_err());
    }
}
