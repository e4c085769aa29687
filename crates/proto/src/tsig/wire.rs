//! The TSIG RR on the wire (RFC 8945 §4.2) and what the MAC covers (§4.3).
//!
//! Finding the TSIG RR walks the message's records without decoding their
//! rdata; the MAC input is fed piecewise, never copied out.

use super::algorithm::MacState;
use super::error::TsigError;
use crate::name::{check_wire, parse_wire_into, Name, MAX_NAME_LEN};
use crate::types::{Class, Rtype};

/// Times are 48-bit seconds since the epoch (RFC 8945 §4.2).
pub(crate) const TIME_MASK: u64 = 0xFFFF_FFFF_FFFF;

/// Largest DNS message (the TCP length prefix).
const MAX_MESSAGE: usize = 65535;

/// A TSIG RR found as the last record of a message.
pub(crate) struct TsigRr<'a> {
    /// The header with the Original ID put back and ARCOUNT less this RR (§4.3.1).
    pub header: [u8; 12],
    /// The message between the header and this RR.
    pub body: &'a [u8],
    /// Owner name: the key name, as received.
    pub key_name: Name,
    /// Algorithm name, as received.
    pub algorithm: Name,
    /// Time Signed.
    pub time_signed: u64,
    /// Fudge.
    pub fudge: u16,
    /// MAC, `MAC Size` octets.
    pub mac: &'a [u8],
    /// Original ID.
    pub original_id: u16,
    /// Error.
    pub error: u16,
    /// Other Data.
    pub other: &'a [u8],
}

impl TsigRr<'_> {
    /// The fields that enter the MAC as TSIG variables.
    pub(crate) fn fields(&self) -> Fields<'_> {
        Fields {
            key_name: self.key_name.as_wire(),
            algorithm: self.algorithm.as_wire(),
            time_signed: self.time_signed,
            fudge: self.fudge,
            mac: self.mac,
            original_id: self.original_id,
            error: self.error,
            other: self.other,
        }
    }

    /// Feeds the message as signed: adjusted header, then the records before the TSIG RR.
    pub(crate) fn feed_message(&self, mac: &mut MacState) {
        mac.update(&self.header);
        mac.update(self.body);
    }
}

/// The fields of a TSIG RR to write or to feed as TSIG variables.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a> {
    /// Key name, uncompressed wire form (lowered when fed).
    pub key_name: &'a [u8],
    /// Algorithm name, uncompressed wire form (lowered when fed).
    pub algorithm: &'a [u8],
    /// Time Signed (only the low 48 bits are written).
    pub time_signed: u64,
    /// Fudge.
    pub fudge: u16,
    /// MAC (empty while computing it).
    pub mac: &'a [u8],
    /// Original ID.
    pub original_id: u16,
    /// Error.
    pub error: u16,
    /// Other Data.
    pub other: &'a [u8],
}

/// Reads big-endian integers and slices off a buffer, failing instead of panicking.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let s = self.buf.get(self.pos..end).ok_or("TSIG rdata too short")?;
        self.pos = end;
        Ok(s)
    }

    fn u16(&mut self) -> Result<u16, &'static str> {
        let s = self.take(2)?;
        Ok(s.iter().fold(0, |v, &b| (v << 8) | b as u16))
    }

    fn u32(&mut self) -> Result<u32, &'static str> {
        let s = self.take(4)?;
        Ok(s.iter().fold(0, |v, &b| (v << 8) | b as u32))
    }

    fn u48(&mut self) -> Result<u64, &'static str> {
        let s = self.take(6)?;
        Ok(s.iter().fold(0, |v, &b| (v << 8) | b as u64))
    }
}

/// The big-endian u16 at `at`, if the message is long enough.
pub(crate) fn be16(msg: &[u8], at: usize) -> Option<u16> {
    let s = msg.get(at..at.checked_add(2)?)?;
    Some(s.iter().fold(0, |v, &b| (v << 8) | b as u16))
}

/// The 12-octet header, if the message has one.
fn header(msg: &[u8]) -> Option<[u8; 12]> {
    msg.get(..12)?.try_into().ok()
}

/// Finds and parses the TSIG RR; `Ok(None)` when the message has none.
///
/// Every record is walked (names and lengths only), so a TSIG RR anywhere
/// but last in the additional section, a second one, counts that overrun
/// the message, or trailing octets are all errors (FORMERR for a server).
pub(crate) fn locate(msg: &[u8]) -> Result<Option<TsigRr<'_>>, &'static str> {
    let head = header(msg).ok_or("message shorter than a header")?;
    let count = |i: usize| u16::from_be_bytes([head[i], head[i + 1]]) as usize;
    let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
    let mut buf = [0u8; MAX_NAME_LEN];
    let mut pos = 12;
    for _ in 0..qd {
        let (_, next) = parse_wire_into(msg, pos, &mut buf).map_err(|_| "bad question name")?;
        pos = next + 4;
    }
    if pos > msg.len() {
        return Err("question overruns the message");
    }
    let records = an + ns + ar;
    let mut tsig_at = None;
    for i in 0..records {
        let start = pos;
        let (_, next) = parse_wire_into(msg, pos, &mut buf).map_err(|_| "bad owner name")?;
        let rtype = be16(msg, next).ok_or("record header overruns the message")?;
        let rdlen = be16(msg, next + 8).ok_or("record header overruns the message")?;
        pos = next + 10 + rdlen as usize;
        if pos > msg.len() {
            return Err("record overruns the message");
        }
        if rtype == Rtype::TSIG.0 {
            if i + 1 != records || ar == 0 {
                return Err("TSIG is not the last record of the additional section");
            }
            tsig_at = Some(start);
        }
    }
    if pos != msg.len() {
        return Err("trailing octets after the last record");
    }
    match tsig_at {
        None => Ok(None),
        Some(start) => parse_rr(msg, head, start).map(Some),
    }
}

/// Parses the TSIG RR at `start`, which the walk found to end the message.
fn parse_rr(msg: &[u8], mut head: [u8; 12], start: usize) -> Result<TsigRr<'_>, &'static str> {
    let (key_name, next) = Name::parse_wire(msg, start).map_err(|_| "bad TSIG owner")?;
    let mut r = Reader {
        buf: msg,
        pos: next + 2,
    };
    let class = r.u16()?;
    let ttl = r.u32()?;
    let rdlen = r.u16()? as usize;
    let rdata = r.take(rdlen)?;
    if class != Class::ANY.0 {
        return Err("TSIG class is not ANY");
    }
    if ttl != 0 {
        return Err("TSIG TTL is not 0");
    }
    // The algorithm name is never compressed: check_wire refuses pointers.
    let alg_len = check_wire(rdata).map_err(|_| "bad TSIG algorithm name")?;
    let mut r = Reader {
        buf: rdata,
        pos: alg_len,
    };
    let algorithm = rdata
        .get(..alg_len)
        .and_then(|w| Name::from_wire(w).ok())
        .ok_or("bad TSIG algorithm name")?;
    let time_signed = r.u48()?;
    let fudge = r.u16()?;
    let mac_size = r.u16()? as usize;
    let mac = r.take(mac_size)?;
    let original_id = r.u16()?;
    let error = r.u16()?;
    let other_len = r.u16()? as usize;
    let other = r.take(other_len)?;
    if r.pos != rdata.len() {
        return Err("octets after the TSIG Other Data");
    }
    let ar = u16::from_be_bytes([head[10], head[11]]);
    head[0..2].copy_from_slice(&original_id.to_be_bytes());
    head[10..12].copy_from_slice(&ar.saturating_sub(1).to_be_bytes());
    Ok(TsigRr {
        header: head,
        body: msg.get(12..start).ok_or("TSIG inside the header")?,
        key_name,
        algorithm,
        time_signed,
        fudge,
        mac,
        original_id,
        error,
        other,
    })
}

/// Feeds wire octets with ASCII letters lowered (canonical form, RFC 4034 §6.2).
fn feed_lower(mac: &mut MacState, wire: &[u8]) {
    for chunk in wire.chunks(64) {
        let mut buf = [0u8; 64];
        let low = &mut buf[..chunk.len()];
        low.copy_from_slice(chunk);
        low.make_ascii_lowercase();
        mac.update(low);
    }
}

/// Feeds a prior MAC (request MAC or the previous message's): MAC Size, then the MAC (§4.3.1, §4.3.2).
pub(crate) fn feed_prior(mac: &mut MacState, prior: &[u8]) {
    mac.update(&(prior.len() as u16).to_be_bytes());
    mac.update(prior);
}

/// Feeds the TSIG variables (§4.3.3): names lowered, class ANY, TTL 0, then the rest.
pub(crate) fn feed_variables(mac: &mut MacState, f: &Fields<'_>) {
    feed_lower(mac, f.key_name);
    mac.update(&Class::ANY.0.to_be_bytes());
    mac.update(&0u32.to_be_bytes());
    feed_lower(mac, f.algorithm);
    mac.update(&time48(f.time_signed));
    mac.update(&f.fudge.to_be_bytes());
    mac.update(&f.error.to_be_bytes());
    mac.update(&(f.other.len() as u16).to_be_bytes());
    mac.update(f.other);
}

/// Feeds the TSIG timers (§4.3.1): Time Signed and Fudge, for messages after the first.
pub(crate) fn feed_timers(mac: &mut MacState, time_signed: u64, fudge: u16) {
    mac.update(&time48(time_signed));
    mac.update(&fudge.to_be_bytes());
}

/// The low 48 bits of a time, big-endian.
pub(crate) fn time48(t: u64) -> [u8; 6] {
    let b = (t & TIME_MASK).to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

/// Octets of a TSIG RR with an uncompressed owner of `name_len` octets.
pub(crate) fn rr_len(name_len: usize, alg_len: usize, mac_len: usize, other_len: usize) -> usize {
    name_len + 10 + rdata_len(alg_len, mac_len, other_len)
}

fn rdata_len(alg_len: usize, mac_len: usize, other_len: usize) -> usize {
    alg_len + 6 + 2 + 2 + mac_len + 2 + 2 + 2 + other_len
}

/// Checks that a TSIG RR with a `mac_len`-octet MAC fits after `msg`.
pub(crate) fn check_room(msg: &[u8], f: &Fields<'_>, mac_len: usize) -> Result<(), TsigError> {
    let ar = be16(msg, 10).ok_or(TsigError::ShortMessage)?;
    let len = rr_len(f.key_name.len(), f.algorithm.len(), mac_len, f.other.len());
    if ar == u16::MAX || msg.len() + len > MAX_MESSAGE {
        return Err(TsigError::NoSpace);
    }
    Ok(())
}

/// Appends a TSIG RR (owner uncompressed, class ANY, TTL 0) and increments ARCOUNT.
///
/// On error the message is unchanged.
pub(crate) fn append(msg: &mut Vec<u8>, f: &Fields<'_>) -> Result<(), TsigError> {
    check_room(msg, f, f.mac.len())?;
    let ar = be16(msg, 10).ok_or(TsigError::ShortMessage)?;
    let rdlen = rdata_len(f.algorithm.len(), f.mac.len(), f.other.len());
    msg.extend_from_slice(f.key_name);
    msg.extend_from_slice(&Rtype::TSIG.0.to_be_bytes());
    msg.extend_from_slice(&Class::ANY.0.to_be_bytes());
    msg.extend_from_slice(&0u32.to_be_bytes());
    msg.extend_from_slice(&(rdlen as u16).to_be_bytes());
    msg.extend_from_slice(f.algorithm);
    msg.extend_from_slice(&time48(f.time_signed));
    msg.extend_from_slice(&f.fudge.to_be_bytes());
    msg.extend_from_slice(&(f.mac.len() as u16).to_be_bytes());
    msg.extend_from_slice(f.mac);
    msg.extend_from_slice(&f.original_id.to_be_bytes());
    msg.extend_from_slice(&f.error.to_be_bytes());
    msg.extend_from_slice(&(f.other.len() as u16).to_be_bytes());
    msg.extend_from_slice(f.other);
    if let Some(count) = msg.get_mut(10..12) {
        count.copy_from_slice(&(ar + 1).to_be_bytes());
    }
    Ok(())
}
