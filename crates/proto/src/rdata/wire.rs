//! Wire-format rdata: structural checks and reading rdata out of a message.
//!
//! Implements the wire layouts of RFC 1035 §3.3–§3.4 (A, NS, MD, MF, CNAME,
//! SOA, MB, MG, MR, PTR, HINFO, MINFO, MX, TXT), RFC 1183 (RP, AFSDB),
//! RFC 3596 (AAAA), RFC 1876 (LOC), RFC 2782 (SRV), RFC 3403 (NAPTR),
//! RFC 2230 (KX), RFC 6672 (DNAME), RFC 4034 (DS, DNSKEY, RRSIG, NSEC),
//! RFC 5155 (NSEC3, NSEC3PARAM), RFC 4255 (SSHFP), RFC 6698 (TLSA),
//! RFC 8162 (SMIMEA), RFC 7344 (CDS, CDNSKEY), RFC 7929 (OPENPGPKEY),
//! RFC 7477 (CSYNC), RFC 8976 (ZONEMD), RFC 9460 (SVCB, HTTPS), RFC 7208
//! (SPF), RFC 7043 (EUI48, EUI64), RFC 7553 (URI) and RFC 8659 (CAA).
//! Decompression on input follows RFC 3597 §4: only the RFC 1035 types'
//! embedded names may be compressed.
//!
//! Not checked: semantic content (algorithm numbers, digest lengths, SvcParam
//! value contents beyond their RFC 9460 §7 layout). Types not listed are
//! opaque and always valid.

use crate::error::{Error, Result};
use crate::name::{check_wire, parse_wire_into, MAX_NAME_LEN};
use crate::types::Rtype;

/// Largest rdata length (RDLENGTH is 16 bits).
pub(super) const MAX_RDATA_LEN: usize = 65535;

/// SvcParamKey of `mandatory` (RFC 9460 §8).
pub(super) const SVC_MANDATORY: u16 = 0;
/// SvcParamKey of `alpn`.
pub(super) const SVC_ALPN: u16 = 1;
/// SvcParamKey of `no-default-alpn`.
pub(super) const SVC_NO_DEFAULT_ALPN: u16 = 2;
/// SvcParamKey of `port`.
pub(super) const SVC_PORT: u16 = 3;
/// SvcParamKey of `ipv4hint`.
pub(super) const SVC_IPV4HINT: u16 = 4;
/// SvcParamKey of `ech`.
pub(super) const SVC_ECH: u16 = 5;
/// SvcParamKey of `ipv6hint`.
pub(super) const SVC_IPV6HINT: u16 = 6;
/// SvcParamKey of `dohpath` (RFC 9461).
pub(super) const SVC_DOHPATH: u16 = 7;
/// The reserved "invalid key" (RFC 9460 §14.3.2).
pub(super) const SVC_INVALID_KEY: u16 = 65535;

/// A cursor over uncompressed wire rdata; every read is bounds-checked.
pub(super) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub(super) fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(Error::ShortInput(what))?;
        let out = self
            .data
            .get(self.pos..end)
            .ok_or(Error::ShortInput(what))?;
        self.pos = end;
        Ok(out)
    }

    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8> {
        let b = self.bytes(1, what)?;
        Ok(b.first().copied().unwrap_or(0))
    }

    pub(super) fn u16(&mut self, what: &'static str) -> Result<u16> {
        let b = self.bytes(2, what)?;
        let mut a = [0u8; 2];
        a.copy_from_slice(b);
        Ok(u16::from_be_bytes(a))
    }

    pub(super) fn u32(&mut self, what: &'static str) -> Result<u32> {
        let b = self.bytes(4, what)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_be_bytes(a))
    }

    /// An uncompressed name; returns its wire octets.
    pub(super) fn name(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let rest = self.data.get(self.pos..).ok_or(Error::ShortInput(what))?;
        let len = check_wire(rest)?;
        self.bytes(len, what)
    }

    /// A `<character-string>`: length octet then that many octets.
    pub(super) fn charstr(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let len = self.u8(what)? as usize;
        self.bytes(len, what)
    }

    /// Everything not yet read.
    pub(super) fn rest(&mut self) -> &'a [u8] {
        let out = self.data.get(self.pos..).unwrap_or(&[]);
        self.pos = self.data.len();
        out
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Fails when octets are left over.
    pub(super) fn end(&self, what: &'static str) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::Malformed(what))
        }
    }
}

/// Checks that `rdata` is well-formed uncompressed wire rdata for `rtype`.
pub(super) fn validate(rtype: Rtype, rdata: &[u8]) -> Result<()> {
    if rdata.len() > MAX_RDATA_LEN {
        return Err(Error::Malformed("rdata longer than 65535 octets"));
    }
    let mut r = Reader::new(rdata);
    match rtype {
        Rtype::A => {
            r.bytes(4, "A address")?;
            r.end("A rdata longer than 4 octets")
        }
        Rtype::AAAA => {
            r.bytes(16, "AAAA address")?;
            r.end("AAAA rdata longer than 16 octets")
        }
        Rtype::NS
        | Rtype::MD
        | Rtype::MF
        | Rtype::CNAME
        | Rtype::MB
        | Rtype::MG
        | Rtype::MR
        | Rtype::PTR
        | Rtype::DNAME => {
            r.name("target name")?;
            r.end("trailing octets after the target name")
        }
        Rtype::SOA => {
            r.name("SOA MNAME")?;
            r.name("SOA RNAME")?;
            r.bytes(20, "SOA timers")?;
            r.end("trailing octets after SOA MINIMUM")
        }
        Rtype::MINFO | Rtype::RP => {
            r.name("first name")?;
            r.name("second name")?;
            r.end("trailing octets after the second name")
        }
        Rtype::MX | Rtype::AFSDB | Rtype::KX => {
            r.u16("preference")?;
            r.name("exchange name")?;
            r.end("trailing octets after the exchange name")
        }
        Rtype::TXT | Rtype::SPF => {
            r.charstr("TXT character-string")?;
            while !r.is_empty() {
                r.charstr("TXT character-string")?;
            }
            Ok(())
        }
        Rtype::HINFO => {
            r.charstr("HINFO CPU")?;
            r.charstr("HINFO OS")?;
            r.end("trailing octets after HINFO OS")
        }
        Rtype::SRV => {
            r.bytes(6, "SRV priority, weight and port")?;
            r.name("SRV target")?;
            r.end("trailing octets after the SRV target")
        }
        Rtype::NAPTR => {
            r.bytes(4, "NAPTR order and preference")?;
            r.charstr("NAPTR flags")?;
            r.charstr("NAPTR services")?;
            r.charstr("NAPTR regexp")?;
            r.name("NAPTR replacement")?;
            r.end("trailing octets after the NAPTR replacement")
        }
        Rtype::CAA => {
            r.u8("CAA flags")?;
            let tag = r.charstr("CAA tag")?;
            if tag.is_empty() || !tag.iter().all(u8::is_ascii_alphanumeric) {
                return Err(Error::Malformed("CAA tag is empty or not alphanumeric"));
            }
            Ok(())
        }
        Rtype::TLSA | Rtype::SMIMEA => r
            .bytes(3, "TLSA usage, selector and matching type")
            .map(|_| ()),
        Rtype::SSHFP => r.bytes(2, "SSHFP algorithm and type").map(|_| ()),
        Rtype::DS | Rtype::CDS => r
            .bytes(4, "DS key tag, algorithm and digest type")
            .map(|_| ()),
        Rtype::DNSKEY | Rtype::CDNSKEY => r
            .bytes(4, "DNSKEY flags, protocol and algorithm")
            .map(|_| ()),
        Rtype::RRSIG => {
            r.bytes(18, "RRSIG fixed fields")?;
            r.name("RRSIG signer name")?;
            Ok(())
        }
        Rtype::NSEC => {
            r.name("NSEC next name")?;
            validate_type_bitmap(r.rest())
        }
        Rtype::NSEC3 => {
            r.bytes(4, "NSEC3 algorithm, flags and iterations")?;
            r.charstr("NSEC3 salt")?;
            let hash = r.charstr("NSEC3 next hashed owner")?;
            if hash.is_empty() {
                return Err(Error::Malformed("NSEC3 next hashed owner is empty"));
            }
            validate_type_bitmap(r.rest())
        }
        Rtype::NSEC3PARAM => {
            r.bytes(4, "NSEC3PARAM algorithm, flags and iterations")?;
            r.charstr("NSEC3PARAM salt")?;
            r.end("trailing octets after the NSEC3PARAM salt")
        }
        Rtype::CSYNC => {
            r.bytes(6, "CSYNC serial and flags")?;
            validate_type_bitmap(r.rest())
        }
        Rtype::ZONEMD => {
            r.bytes(6, "ZONEMD serial, scheme and algorithm")?;
            if r.is_empty() {
                return Err(Error::ShortInput("ZONEMD digest"));
            }
            Ok(())
        }
        Rtype::EUI48 => {
            r.bytes(6, "EUI48 address")?;
            r.end("EUI48 rdata longer than 6 octets")
        }
        Rtype::EUI64 => {
            r.bytes(8, "EUI64 address")?;
            r.end("EUI64 rdata longer than 8 octets")
        }
        Rtype::URI => r.bytes(4, "URI priority and weight").map(|_| ()),
        Rtype::LOC => validate_loc(rdata),
        Rtype::SVCB | Rtype::HTTPS => validate_svcb(rdata),
        _ => Ok(()),
    }
}

/// RFC 1876 §2: version 0, 16 octets, precisions with digits 0–9, coordinates in range.
fn validate_loc(rdata: &[u8]) -> Result<()> {
    let mut r = Reader::new(rdata);
    if r.u8("LOC version")? != 0 {
        return Err(Error::Malformed("LOC version is not 0"));
    }
    for what in [
        "LOC size",
        "LOC horizontal precision",
        "LOC vertical precision",
    ] {
        let v = r.u8(what)?;
        if v >> 4 > 9 || v & 0x0F > 9 {
            return Err(Error::Malformed("LOC precision digit above 9"));
        }
    }
    let lat = r.u32("LOC latitude")?;
    let lon = r.u32("LOC longitude")?;
    r.u32("LOC altitude")?;
    r.end("LOC rdata longer than 16 octets")?;
    if (lat as i64 - LOC_EQUATOR).abs() > LOC_MAX_LAT {
        return Err(Error::Malformed("LOC latitude beyond 90 degrees"));
    }
    if (lon as i64 - LOC_EQUATOR).abs() > LOC_MAX_LON {
        return Err(Error::Malformed("LOC longitude beyond 180 degrees"));
    }
    Ok(())
}

/// Wire value of latitude/longitude 0 (RFC 1876 §2).
pub(super) const LOC_EQUATOR: i64 = 1 << 31;
/// 90 degrees in thousandths of an arc second.
pub(super) const LOC_MAX_LAT: i64 = 90 * 3_600_000;
/// 180 degrees in thousandths of an arc second.
pub(super) const LOC_MAX_LON: i64 = 180 * 3_600_000;

/// RFC 4034 §4.1.2 type bitmap: ascending windows of 1–32 octets without trailing zero octets.
pub(super) fn validate_type_bitmap(data: &[u8]) -> Result<()> {
    let mut r = Reader::new(data);
    let mut last: Option<u8> = None;
    while !r.is_empty() {
        let window = r.u8("type bitmap window")?;
        if last.is_some_and(|l| window <= l) {
            return Err(Error::Malformed("type bitmap windows not ascending"));
        }
        last = Some(window);
        let len = r.u8("type bitmap length")? as usize;
        if !(1..=32).contains(&len) {
            return Err(Error::Malformed("type bitmap length not in 1..32"));
        }
        let bits = r.bytes(len, "type bitmap")?;
        if bits.last() == Some(&0) {
            return Err(Error::Malformed("type bitmap has trailing zero octets"));
        }
    }
    Ok(())
}

/// One SvcParam as found in wire rdata.
pub(super) struct SvcParam<'a> {
    pub(super) key: u16,
    pub(super) value: &'a [u8],
}

/// Splits SVCB/HTTPS rdata into priority, target and params, checking RFC 9460 §2.2 and §7.
pub(super) fn split_svcb(rdata: &[u8]) -> Result<(u16, &[u8], Vec<SvcParam<'_>>)> {
    let mut r = Reader::new(rdata);
    let priority = r.u16("SVCB priority")?;
    let target = r.name("SVCB target")?;
    let mut params: Vec<SvcParam<'_>> = Vec::new();
    while !r.is_empty() {
        let key = r.u16("SvcParamKey")?;
        let len = r.u16("SvcParam length")? as usize;
        let value = r.bytes(len, "SvcParamValue")?;
        if params.last().is_some_and(|p| key <= p.key) {
            return Err(Error::Malformed(
                "SvcParamKeys not in strictly ascending order",
            ));
        }
        if key == SVC_INVALID_KEY {
            return Err(Error::Malformed("SvcParamKey 65535 is reserved"));
        }
        params.push(SvcParam { key, value });
    }
    for p in &params {
        check_svc_value(p.key, p.value, &params)?;
    }
    Ok((priority, target, params))
}

fn validate_svcb(rdata: &[u8]) -> Result<()> {
    split_svcb(rdata).map(|_| ())
}

/// RFC 9460 §7 value layouts of the known keys; unknown keys are opaque.
fn check_svc_value(key: u16, v: &[u8], params: &[SvcParam<'_>]) -> Result<()> {
    match key {
        SVC_MANDATORY => {
            if v.is_empty() || !v.chunks_exact(2).remainder().is_empty() {
                return Err(Error::Malformed(
                    "SVCB mandatory is not a non-empty list of keys",
                ));
            }
            let mut prev: Option<u16> = None;
            for pair in v.chunks_exact(2) {
                let k = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
                if prev.is_some_and(|p| k <= p) {
                    return Err(Error::Malformed(
                        "SVCB mandatory keys not strictly ascending",
                    ));
                }
                prev = Some(k);
                if k == SVC_MANDATORY {
                    return Err(Error::Malformed("SVCB mandatory lists itself"));
                }
                if !params.iter().any(|p| p.key == k) {
                    return Err(Error::Malformed(
                        "SVCB mandatory lists a key that is absent",
                    ));
                }
            }
            Ok(())
        }
        SVC_ALPN => {
            if v.is_empty() {
                return Err(Error::Malformed("SVCB alpn is empty"));
            }
            let mut r = Reader::new(v);
            while !r.is_empty() {
                if r.charstr("SVCB alpn id")?.is_empty() {
                    return Err(Error::Malformed("SVCB alpn has an empty protocol id"));
                }
            }
            Ok(())
        }
        SVC_NO_DEFAULT_ALPN if !v.is_empty() => {
            Err(Error::Malformed("SVCB no-default-alpn has a value"))
        }
        SVC_PORT if v.len() != 2 => Err(Error::Malformed("SVCB port is not 2 octets")),
        SVC_IPV4HINT if v.is_empty() || !v.chunks_exact(4).remainder().is_empty() => Err(
            Error::Malformed("SVCB ipv4hint is not a non-empty list of addresses"),
        ),
        SVC_IPV6HINT if v.is_empty() || !v.chunks_exact(16).remainder().is_empty() => Err(
            Error::Malformed("SVCB ipv6hint is not a non-empty list of addresses"),
        ),
        _ => Ok(()),
    }
}

/// Reads rdata of `rdlen` octets at `pos` in `msg`, decompressing RFC 1035 types' names.
pub(super) fn from_message(rtype: Rtype, msg: &[u8], pos: usize, rdlen: usize) -> Result<Vec<u8>> {
    let end = pos.checked_add(rdlen).ok_or(Error::ShortInput("rdata"))?;
    // Nothing past the rdata may be read: names inside it can only point backwards.
    let msg = msg.get(..end).ok_or(Error::ShortInput("rdata"))?;
    let raw = msg.get(pos..).ok_or(Error::ShortInput("rdata"))?;
    let mut out = Vec::with_capacity(rdlen + 16);
    let mut at = pos;
    let name = |at: &mut usize, out: &mut Vec<u8>| -> Result<()> {
        let mut buf = [0u8; MAX_NAME_LEN];
        let (len, next) = parse_wire_into(msg, *at, &mut buf)?;
        out.extend_from_slice(buf.get(..len).ok_or(Error::NameTooLong)?);
        *at = next;
        Ok(())
    };
    match rtype {
        Rtype::NS
        | Rtype::MD
        | Rtype::MF
        | Rtype::CNAME
        | Rtype::MB
        | Rtype::MG
        | Rtype::MR
        | Rtype::PTR => {
            name(&mut at, &mut out)?;
        }
        Rtype::MINFO => {
            name(&mut at, &mut out)?;
            name(&mut at, &mut out)?;
        }
        Rtype::MX => {
            let pref = msg
                .get(at..at + 2)
                .ok_or(Error::ShortInput("MX preference"))?;
            out.extend_from_slice(pref);
            at += 2;
            name(&mut at, &mut out)?;
        }
        Rtype::SOA => {
            name(&mut at, &mut out)?;
            name(&mut at, &mut out)?;
            let timers = msg
                .get(at..at + 20)
                .ok_or(Error::ShortInput("SOA timers"))?;
            out.extend_from_slice(timers);
            at += 20;
        }
        _ => {
            validate(rtype, raw)?;
            return Ok(raw.to_vec());
        }
    }
    if at != end {
        return Err(Error::Malformed("rdata length does not match its contents"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire_name(s: &str) -> Vec<u8> {
        s.parse::<crate::Name>().unwrap().as_wire().to_vec()
    }

    #[test]
    fn fixed_length_types() {
        assert!(validate(Rtype::A, &[192, 0, 2, 1]).is_ok());
        assert!(validate(Rtype::A, &[192, 0, 2]).is_err());
        assert!(validate(Rtype::A, &[192, 0, 2, 1, 0]).is_err());
        assert!(validate(Rtype::AAAA, &[0; 16]).is_ok());
        assert!(validate(Rtype::AAAA, &[0; 15]).is_err());
        assert!(validate(Rtype::EUI48, &[0; 6]).is_ok());
        assert!(validate(Rtype::EUI64, &[0; 6]).is_err());
    }

    #[test]
    fn names_and_trailing_octets() {
        let n = wire_name("www.example.");
        assert!(validate(Rtype::CNAME, &n).is_ok());
        let mut long = n.clone();
        long.push(0);
        assert!(validate(Rtype::CNAME, &long).is_err());
        assert!(validate(Rtype::NS, &n[..n.len() - 1]).is_err());
        // a compression pointer is not allowed in canonical rdata
        assert!(validate(Rtype::NS, &[0xC0, 0x0C]).is_err());
        let mut mx = vec![0, 10];
        mx.extend_from_slice(&n);
        assert!(validate(Rtype::MX, &mx).is_ok());
        assert!(validate(Rtype::MX, &mx[..1]).is_err());
        let mut soa = n.clone();
        soa.extend_from_slice(&n);
        soa.extend_from_slice(&[0; 20]);
        assert!(validate(Rtype::SOA, &soa).is_ok());
        soa.push(1);
        assert!(validate(Rtype::SOA, &soa).is_err());
    }

    #[test]
    fn strings() {
        assert!(validate(Rtype::TXT, &[]).is_err());
        assert!(validate(Rtype::TXT, &[0]).is_ok());
        assert!(validate(Rtype::TXT, &[2, b'a', b'b', 0]).is_ok());
        assert!(validate(Rtype::TXT, &[3, b'a', b'b']).is_err());
        assert!(validate(Rtype::HINFO, &[1, b'a', 1, b'b']).is_ok());
        assert!(validate(Rtype::HINFO, &[1, b'a']).is_err());
        assert!(validate(Rtype::CAA, &[0, 5, b'i', b's', b's', b'u', b'e', b'x']).is_ok());
        assert!(validate(Rtype::CAA, &[0, 0]).is_err());
        assert!(validate(Rtype::CAA, &[0, 1, b'-']).is_err());
    }

    #[test]
    fn loc_ranges() {
        let mut loc = vec![0, 0x12, 0x16, 0x13];
        loc.extend_from_slice(&(1u32 << 31).to_be_bytes());
        loc.extend_from_slice(&(1u32 << 31).to_be_bytes());
        loc.extend_from_slice(&10_000_000u32.to_be_bytes());
        assert!(validate(Rtype::LOC, &loc).is_ok());
        let mut bad = loc.clone();
        bad[0] = 1;
        assert!(validate(Rtype::LOC, &bad).is_err());
        let mut bad = loc.clone();
        bad[1] = 0xA0;
        assert!(validate(Rtype::LOC, &bad).is_err());
        let mut bad = loc.clone();
        bad[4..8].copy_from_slice(&0u32.to_be_bytes());
        assert!(validate(Rtype::LOC, &bad).is_err());
    }

    #[test]
    fn svcb_layout() {
        let mut s = vec![0, 1, 0];
        assert!(validate(Rtype::SVCB, &s).is_ok());
        s.extend_from_slice(&[0, 3, 0, 2, 1, 187]); // port=443
        assert!(validate(Rtype::SVCB, &s).is_ok());
        let mut dup = s.clone();
        dup.extend_from_slice(&[0, 3, 0, 2, 1, 187]);
        assert!(validate(Rtype::SVCB, &dup).is_err());
        let mut badport = vec![0, 1, 0, 0, 3, 0, 1, 1];
        assert!(validate(Rtype::HTTPS, &badport).is_err());
        badport.truncate(3);
        badport.extend_from_slice(&[0, 0, 0, 2, 0, 3]); // mandatory=port but port absent
        assert!(validate(Rtype::HTTPS, &badport).is_err());
    }

    #[test]
    fn bitmaps() {
        assert!(validate_type_bitmap(&[]).is_ok());
        assert!(validate_type_bitmap(&[0, 1, 0x40]).is_ok());
        assert!(validate_type_bitmap(&[0, 2, 0x40, 0]).is_err());
        assert!(validate_type_bitmap(&[1, 1, 0x40, 0, 1, 0x40]).is_err());
        assert!(validate_type_bitmap(&[0, 33]).is_err());
    }

    #[test]
    fn message_decompression() {
        // header-like prefix, then "example.com" at 2, then MX rdata with a pointer to it
        let mut msg = vec![0xAA, 0xBB];
        msg.extend_from_slice(&wire_name("example.com."));
        let rd_start = msg.len();
        msg.extend_from_slice(&[0, 10, 4, b'm', b'a', b'i', b'l', 0xC0, 2]);
        let rdlen = msg.len() - rd_start;
        let out = from_message(Rtype::MX, &msg, rd_start, rdlen).unwrap();
        let mut want = vec![0, 10];
        want.extend_from_slice(&wire_name("mail.example.com."));
        assert_eq!(out, want);
        // rdlen one too long or too short
        msg.push(0);
        assert!(from_message(Rtype::MX, &msg, rd_start, rdlen + 1).is_err());
        assert!(from_message(Rtype::MX, &msg, rd_start, rdlen - 1).is_err());
        // beyond the message
        assert!(from_message(Rtype::MX, &msg, rd_start, 1000).is_err());
        assert!(from_message(Rtype::A, &msg, usize::MAX, 4).is_err());
    }

    #[test]
    fn message_no_decompression_for_newer_types() {
        let mut msg = wire_name("example.com.");
        let rd_start = msg.len();
        msg.extend_from_slice(&[0, 1, 0, 2, 0, 3, 0xC0, 0]);
        // SRV must not be compressed: a pointer is malformed
        assert!(from_message(Rtype::SRV, &msg, rd_start, 8).is_err());
        // opaque types are copied
        let out = from_message(Rtype(65400), &msg, rd_start, 8).unwrap();
        assert_eq!(out, &msg[rd_start..]);
        // SOA with both names compressed
        let mut soa = wire_name("example.com.");
        let start = soa.len();
        soa.extend_from_slice(&[2, b'n', b's', 0xC0, 0, 0xC0, 0]);
        soa.extend_from_slice(&[0; 20]);
        let out = from_message(Rtype::SOA, &soa, start, soa.len() - start).unwrap();
        assert_eq!(out.len(), 16 + 13 + 20);
        assert!(validate(Rtype::SOA, &out).is_ok());
    }
}
