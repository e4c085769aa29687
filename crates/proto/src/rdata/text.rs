//! Presentation format of rdata: tokens → canonical wire, and wire → text.
//!
//! Implements RFC 1035 §5.1 (character-strings, `\X`/`\DDD` escapes, names
//! relative to the origin), RFC 3597 §5 generic form `\# <len> <hex>` for every
//! type, and the presentation formats of the types listed in [`super`]:
//! RFC 1035 (A, NS, MD, MF, CNAME, SOA, MB, MG, MR, PTR, HINFO, MINFO, MX,
//! TXT), RFC 1183 (RP, AFSDB), RFC 3596 (AAAA), RFC 1876 appendix A (LOC),
//! RFC 2782 (SRV), RFC 3403 (NAPTR), RFC 2230 (KX), RFC 6672 (DNAME),
//! RFC 4034 §2.2, §3.2, §4.2, §5.3 (DNSKEY, RRSIG, NSEC, DS), RFC 5155 §3.3,
//! §4.3 (NSEC3, NSEC3PARAM), RFC 4255 (SSHFP), RFC 6698 §2.2 (TLSA), RFC 8162
//! (SMIMEA), RFC 7344 (CDS, CDNSKEY), RFC 7929 (OPENPGPKEY), RFC 7477 (CSYNC),
//! RFC 8976 (ZONEMD), RFC 7043 (EUI48, EUI64), RFC 7553 (URI), RFC 8659 §4.1.1
//! (CAA), RFC 7208 (SPF) and RFC 9460 §2.1 and appendix A (SVCB, HTTPS, with
//! the keys of §7 and `dohpath` from RFC 9461).
//!
//! SOA timers and RRSIG original TTLs accept BIND-style units (`1h30m`, `2w`).
//! LOC sizes that are not one significant digit are truncated to one, as
//! BIND and Knot do. Formatting follows Knot/BIND: upper-case hex, quoted
//! character-strings, LOC as `d m s.sss H d m s.sss H alt.cc m siz hp vp`.
//! SvcParam values are printed unquoted with escapes so the output never
//! contains a space inside a token.
//!
//! Not implemented: algorithm mnemonics on output (numbers are printed),
//! WKS, CERT, APL, IPSECKEY, HIP and other types without a codec here (they
//! use generic form only).

use super::wire::{self, Reader};
use super::Token;
use crate::error::{syntax, Error, Result};
use crate::name::{parse_escape, Name};
use crate::types::Rtype;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Parses presentation tokens into canonical wire rdata, then checks the wire form.
pub(super) fn parse(rtype: Rtype, tokens: &[Token<'_>], origin: &Name) -> Result<Vec<u8>> {
    let out = match tokens.split_first() {
        Some((first, rest)) if !first.quoted && first.text == "\\#" => parse_generic(rtype, rest)?,
        _ => {
            let mut f = Fields {
                rtype,
                tokens,
                pos: 0,
                origin,
            };
            let mut out = Vec::with_capacity(32);
            parse_typed(&mut f, &mut out)?;
            f.finish()?;
            out
        }
    };
    if out.len() > wire::MAX_RDATA_LEN {
        return Err(syntax(format!(
            "{rtype} rdata: {} octets, more than 65535",
            out.len()
        )));
    }
    wire::validate(rtype, &out).map_err(|e| syntax(format!("{rtype} rdata: {e}")))?;
    Ok(out)
}

/// Formats wire rdata; anything the type's codec can't show exactly comes out in generic form.
pub(super) fn format(rtype: Rtype, rdata: &[u8]) -> String {
    if wire::validate(rtype, rdata).is_ok() {
        if let Some(s) = format_typed(rtype, rdata) {
            return s;
        }
    }
    format_generic(rdata)
}

fn format_generic(rdata: &[u8]) -> String {
    let mut s = format!("\\# {}", rdata.len());
    if !rdata.is_empty() {
        s.push(' ');
        push_hex(&mut s, rdata);
    }
    s
}

fn parse_generic(rtype: Rtype, tokens: &[Token<'_>]) -> Result<Vec<u8>> {
    let (len_tok, hex) = tokens
        .split_first()
        .ok_or_else(|| syntax(format!("{rtype} generic rdata: missing length after \\#")))?;
    let len = parse_uint(len_tok.text, 65535).ok_or_else(|| {
        syntax(format!(
            "{rtype} generic rdata: length '{}' is not a number up to 65535",
            len_tok.text
        ))
    })? as usize;
    let data = decode_hex(hex).map_err(|m| syntax(format!("{rtype} generic rdata: {m}")))?;
    if data.len() != len {
        return Err(syntax(format!(
            "{rtype} generic rdata: length {len} but {} octets of data",
            data.len()
        )));
    }
    Ok(data)
}

/// A cursor over the rdata tokens of one record, producing errors that name the field.
struct Fields<'t, 'a> {
    rtype: Rtype,
    tokens: &'t [Token<'a>],
    pos: usize,
    origin: &'t Name,
}

impl<'t, 'a> Fields<'t, 'a> {
    fn err(&self, field: &str, msg: impl std::fmt::Display) -> Error {
        syntax(format!("{} {field}: {msg}", self.rtype))
    }

    fn peek(&self) -> Option<Token<'a>> {
        self.tokens.get(self.pos).copied()
    }

    fn take(&mut self) -> Option<Token<'a>> {
        let t = self.peek()?;
        self.pos += 1;
        Some(t)
    }

    fn next(&mut self, field: &str) -> Result<Token<'a>> {
        self.take().ok_or_else(|| self.err(field, "missing"))
    }

    /// All tokens not yet taken.
    fn rest(&mut self) -> &'t [Token<'a>] {
        let tokens: &'t [Token<'a>] = self.tokens;
        let out = tokens.get(self.pos..).unwrap_or(&[]);
        self.pos = self.tokens.len();
        out
    }

    fn finish(&self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(syntax(format!(
                "{}: unexpected '{}' after the last field",
                self.rtype, t.text
            ))),
        }
    }

    fn uint(&mut self, field: &str, max: u64, what: &str) -> Result<u64> {
        let t = self.next(field)?;
        parse_uint(t.text, max)
            .ok_or_else(|| self.err(field, format!("'{}' is not {what}", t.text)))
    }

    fn u8(&mut self, field: &str) -> Result<u8> {
        Ok(self.uint(field, u8::MAX.into(), "an 8-bit number")? as u8)
    }

    fn u16(&mut self, field: &str) -> Result<u16> {
        Ok(self.uint(field, u16::MAX.into(), "a 16-bit number")? as u16)
    }

    fn u32(&mut self, field: &str) -> Result<u32> {
        Ok(self.uint(field, u32::MAX.into(), "a 32-bit number")? as u32)
    }

    fn duration(&mut self, field: &str) -> Result<u32> {
        let t = self.next(field)?;
        parse_duration(t.text).ok_or_else(|| {
            self.err(
                field,
                format!(
                    "'{}' is not a 32-bit number of seconds or a duration like 1h30m",
                    t.text
                ),
            )
        })
    }

    fn algorithm(&mut self, field: &str) -> Result<u8> {
        let t = self.next(field)?;
        if let Some(v) = parse_uint(t.text, u8::MAX.into()) {
            return Ok(v as u8);
        }
        DNSSEC_ALGORITHMS
            .iter()
            .find(|(_, m)| m.eq_ignore_ascii_case(t.text))
            .map(|(v, _)| *v)
            .ok_or_else(|| {
                self.err(
                    field,
                    format!("'{}' is not an algorithm number or mnemonic", t.text),
                )
            })
    }

    fn name(&mut self, field: &str) -> Result<Name> {
        let t = self.next(field)?;
        Name::from_presentation(t.text, Some(self.origin)).map_err(|e| self.err(field, e))
    }

    fn name_into(&mut self, field: &str, out: &mut Vec<u8>) -> Result<()> {
        let n = self.name(field)?;
        out.extend_from_slice(n.as_wire());
        Ok(())
    }

    /// Decoded text of one token (any length).
    fn text(&mut self, field: &str) -> Result<Vec<u8>> {
        let t = self.next(field)?;
        decode_text(t.text).ok_or_else(|| self.err(field, format!("bad escape in '{}'", t.text)))
    }

    /// One `<character-string>`, written with its length octet.
    fn charstr_into(&mut self, field: &str, out: &mut Vec<u8>) -> Result<()> {
        let s = self.text(field)?;
        self.push_charstr(field, &s, out)
    }

    fn push_charstr(&self, field: &str, s: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if s.len() > 255 {
            return Err(self.err(field, format!("{} octets, more than 255", s.len())));
        }
        out.push(s.len() as u8);
        out.extend_from_slice(s);
        Ok(())
    }

    /// Hex from all remaining tokens (at least one).
    fn hex_rest(&mut self, field: &str) -> Result<Vec<u8>> {
        if self.peek().is_none() {
            return Err(self.err(field, "missing"));
        }
        let rest = self.rest();
        decode_hex(rest).map_err(|m| syntax(format!("{} {field}: {m}", self.rtype)))
    }

    /// Base64 from all remaining tokens (at least one).
    fn base64_rest(&mut self, field: &str) -> Result<Vec<u8>> {
        if self.peek().is_none() {
            return Err(self.err(field, "missing"));
        }
        let joined: String = self.rest().iter().map(|t| t.text).collect();
        BASE64
            .decode(joined.as_bytes())
            .map_err(|e| self.err(field, format!("not base64: {e}")))
    }

    /// RFC 4034 §4.1.2 type bitmap from all remaining tokens (possibly none).
    fn bitmap_rest(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let mut types: Vec<u16> = Vec::new();
        while let Some(t) = self.take() {
            let rt = rtype_from_text(t.text).map_err(|e| self.err("type list", e))?;
            types.push(rt.0);
        }
        push_bitmap(&mut types, out);
        Ok(())
    }
}

fn parse_typed(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<()> {
    let rtype = f.rtype;
    match rtype {
        Rtype::A => {
            let t = f.next("address")?;
            let a: Ipv4Addr = t
                .text
                .parse()
                .map_err(|_| f.err("address", format!("'{}' is not an IPv4 address", t.text)))?;
            out.extend_from_slice(&a.octets());
        }
        Rtype::AAAA => {
            let t = f.next("address")?;
            let a: Ipv6Addr = t
                .text
                .parse()
                .map_err(|_| f.err("address", format!("'{}' is not an IPv6 address", t.text)))?;
            out.extend_from_slice(&a.octets());
        }
        Rtype::NS => f.name_into("nameserver", out)?,
        Rtype::MD | Rtype::MF | Rtype::CNAME | Rtype::MB | Rtype::MG | Rtype::MR | Rtype::PTR | Rtype::DNAME => {
            f.name_into("target", out)?
        }
        Rtype::SOA => {
            f.name_into("MNAME", out)?;
            f.name_into("RNAME", out)?;
            out.extend_from_slice(&f.u32("serial")?.to_be_bytes());
            for field in ["refresh", "retry", "expire", "minimum"] {
                out.extend_from_slice(&f.duration(field)?.to_be_bytes());
            }
        }
        Rtype::MINFO => {
            f.name_into("RMAILBX", out)?;
            f.name_into("EMAILBX", out)?;
        }
        Rtype::RP => {
            f.name_into("mailbox", out)?;
            f.name_into("TXT name", out)?;
        }
        Rtype::MX | Rtype::KX => {
            out.extend_from_slice(&f.u16("preference")?.to_be_bytes());
            f.name_into("exchange", out)?;
        }
        Rtype::AFSDB => {
            out.extend_from_slice(&f.u16("subtype")?.to_be_bytes());
            f.name_into("hostname", out)?;
        }
        Rtype::TXT | Rtype::SPF => {
            f.charstr_into("string", out)?;
            while f.peek().is_some() {
                f.charstr_into("string", out)?;
            }
        }
        Rtype::HINFO => {
            f.charstr_into("CPU", out)?;
            f.charstr_into("OS", out)?;
        }
        Rtype::SRV => {
            for field in ["priority", "weight", "port"] {
                out.extend_from_slice(&f.u16(field)?.to_be_bytes());
            }
            f.name_into("target", out)?;
        }
        Rtype::NAPTR => {
            out.extend_from_slice(&f.u16("order")?.to_be_bytes());
            out.extend_from_slice(&f.u16("preference")?.to_be_bytes());
            f.charstr_into("flags", out)?;
            f.charstr_into("services", out)?;
            f.charstr_into("regexp", out)?;
            f.name_into("replacement", out)?;
        }
        Rtype::CAA => {
            out.push(f.u8("flags")?);
            let tag = f.next("tag")?;
            if tag.text.is_empty() || tag.text.len() > 255 || !tag.text.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(f.err("tag", format!("'{}' is not 1 to 255 letters and digits", tag.text)));
            }
            out.push(tag.text.len() as u8);
            out.extend_from_slice(tag.text.as_bytes());
            let value = f.text("value")?;
            out.extend_from_slice(&value);
        }
        Rtype::TLSA | Rtype::SMIMEA => {
            out.push(f.u8("usage")?);
            out.push(f.u8("selector")?);
            out.push(f.u8("matching type")?);
            out.extend_from_slice(&f.hex_rest("certificate data")?);
        }
        Rtype::SSHFP => {
            out.push(f.u8("algorithm")?);
            out.push(f.u8("fingerprint type")?);
            out.extend_from_slice(&f.hex_rest("fingerprint")?);
        }
        Rtype::DS | Rtype::CDS => {
            out.extend_from_slice(&f.u16("key tag")?.to_be_bytes());
            out.push(f.algorithm("algorithm")?);
            out.push(f.u8("digest type")?);
            out.extend_from_slice(&f.hex_rest("digest")?);
        }
        Rtype::DNSKEY | Rtype::CDNSKEY => {
            out.extend_from_slice(&f.u16("flags")?.to_be_bytes());
            out.push(f.u8("protocol")?);
            out.push(f.algorithm("algorithm")?);
            out.extend_from_slice(&f.base64_rest("public key")?);
        }
        Rtype::RRSIG => {
            let t = f.next("type covered")?;
            let covered = rtype_from_text(t.text).map_err(|e| f.err("type covered", e))?;
            out.extend_from_slice(&covered.0.to_be_bytes());
            out.push(f.algorithm("algorithm")?);
            out.push(f.u8("labels")?);
            out.extend_from_slice(&f.duration("original TTL")?.to_be_bytes());
            for field in ["expiration", "inception"] {
                let t = f.next(field)?;
                let v = parse_sig_time(t.text).ok_or_else(|| {
                    f.err(field, format!("'{}' is not YYYYMMDDHHmmSS or a 32-bit number", t.text))
                })?;
                out.extend_from_slice(&v.to_be_bytes());
            }
            out.extend_from_slice(&f.u16("key tag")?.to_be_bytes());
            f.name_into("signer", out)?;
            out.extend_from_slice(&f.base64_rest("signature")?);
        }
        Rtype::NSEC => {
            f.name_into("next name", out)?;
            f.bitmap_rest(out)?;
        }
        Rtype::NSEC3 | Rtype::NSEC3PARAM => {
            out.push(f.u8("hash algorithm")?);
            out.push(f.u8("flags")?);
            out.extend_from_slice(&f.u16("iterations")?.to_be_bytes());
            let t = f.next("salt")?;
            let salt = if t.text == "-" {
                Vec::new()
            } else {
                decode_hex(std::slice::from_ref(&t)).map_err(|m| f.err("salt", m))?
            };
            f.push_charstr("salt", &salt, out)?;
            if rtype == Rtype::NSEC3 {
                let t = f.next("next hashed owner")?;
                let hash = decode_base32hex(t.text)
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| f.err("next hashed owner", format!("'{}' is not base32hex", t.text)))?;
                f.push_charstr("next hashed owner", &hash, out)?;
                f.bitmap_rest(out)?;
            }
        }
        Rtype::CSYNC => {
            out.extend_from_slice(&f.u32("serial")?.to_be_bytes());
            out.extend_from_slice(&f.u16("flags")?.to_be_bytes());
            f.bitmap_rest(out)?;
        }
        Rtype::ZONEMD => {
            out.extend_from_slice(&f.u32("serial")?.to_be_bytes());
            out.push(f.u8("scheme")?);
            out.push(f.u8("hash algorithm")?);
            out.extend_from_slice(&f.hex_rest("digest")?);
        }
        Rtype::EUI48 | Rtype::EUI64 => {
            let n = if rtype == Rtype::EUI48 { 6 } else { 8 };
            let t = f.next("address")?;
            let parts: Vec<&str> = t.text.split('-').collect();
            let bytes: Option<Vec<u8>> = parts
                .iter()
                .map(|p| {
                    if p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()) {
                        u8::from_str_radix(p, 16).ok()
                    } else {
                        None
                    }
                })
                .collect();
            match bytes {
                Some(b) if b.len() == n => out.extend_from_slice(&b),
                _ => {
                    return Err(f.err(
                        "address",
                        format!("'{}' is not {n} hex pairs separated by '-'", t.text),
                    ))
                }
            }
        }
        Rtype::URI => {
            out.extend_from_slice(&f.u16("priority")?.to_be_bytes());
            out.extend_from_slice(&f.u16("weight")?.to_be_bytes());
            out.extend_from_slice(&f.text("target")?);
        }
        Rtype::OPENPGPKEY => out.extend_from_slice(&f.base64_rest("public key")?),
        Rtype::LOC => parse_loc(f, out)?,
        Rtype::SVCB | Rtype::HTTPS => parse_svcb(f, out)?,
        _ => {
            return Err(syntax(format!(
                "{rtype}: only the RFC 3597 generic form '\\# <length> <hex>' is supported for this type"
            )))
        }
    }
    Ok(())
}

fn format_typed(rtype: Rtype, rdata: &[u8]) -> Option<String> {
    let mut r = Reader::new(rdata);
    let mut s = String::with_capacity(rdata.len() * 2 + 8);
    match rtype {
        Rtype::A => {
            let b = r.bytes(4, "").ok()?;
            let a = Ipv4Addr::new(*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?);
            let _ = write!(s, "{a}");
        }
        Rtype::AAAA => {
            let mut a = [0u8; 16];
            a.copy_from_slice(r.bytes(16, "").ok()?);
            let _ = write!(s, "{}", Ipv6Addr::from(a));
        }
        Rtype::NS
        | Rtype::MD
        | Rtype::MF
        | Rtype::CNAME
        | Rtype::MB
        | Rtype::MG
        | Rtype::MR
        | Rtype::PTR
        | Rtype::DNAME => push_name(&mut s, r.name("").ok()?)?,
        Rtype::SOA => {
            push_name(&mut s, r.name("").ok()?)?;
            s.push(' ');
            push_name(&mut s, r.name("").ok()?)?;
            for _ in 0..5 {
                let _ = write!(s, " {}", r.u32("").ok()?);
            }
        }
        Rtype::MINFO | Rtype::RP => {
            push_name(&mut s, r.name("").ok()?)?;
            s.push(' ');
            push_name(&mut s, r.name("").ok()?)?;
        }
        Rtype::MX | Rtype::KX | Rtype::AFSDB => {
            let _ = write!(s, "{} ", r.u16("").ok()?);
            push_name(&mut s, r.name("").ok()?)?;
        }
        Rtype::TXT | Rtype::SPF => {
            let mut first = true;
            while !r.is_empty() {
                if !first {
                    s.push(' ');
                }
                first = false;
                push_quoted(&mut s, r.charstr("").ok()?);
            }
        }
        Rtype::HINFO => {
            push_quoted(&mut s, r.charstr("").ok()?);
            s.push(' ');
            push_quoted(&mut s, r.charstr("").ok()?);
        }
        Rtype::SRV => {
            let _ = write!(
                s,
                "{} {} {} ",
                r.u16("").ok()?,
                r.u16("").ok()?,
                r.u16("").ok()?
            );
            push_name(&mut s, r.name("").ok()?)?;
        }
        Rtype::NAPTR => {
            let _ = write!(s, "{} {}", r.u16("").ok()?, r.u16("").ok()?);
            for _ in 0..3 {
                s.push(' ');
                push_quoted(&mut s, r.charstr("").ok()?);
            }
            s.push(' ');
            push_name(&mut s, r.name("").ok()?)?;
        }
        Rtype::CAA => {
            let _ = write!(s, "{} ", r.u8("").ok()?);
            let tag = r.charstr("").ok()?;
            s.push_str(std::str::from_utf8(tag).ok()?);
            s.push(' ');
            push_quoted(&mut s, r.rest());
        }
        Rtype::TLSA | Rtype::SMIMEA => {
            let _ = write!(
                s,
                "{} {} {} ",
                r.u8("").ok()?,
                r.u8("").ok()?,
                r.u8("").ok()?
            );
            push_hex_nonempty(&mut s, r.rest())?;
        }
        Rtype::SSHFP => {
            let _ = write!(s, "{} {} ", r.u8("").ok()?, r.u8("").ok()?);
            push_hex_nonempty(&mut s, r.rest())?;
        }
        Rtype::DS | Rtype::CDS => {
            let _ = write!(
                s,
                "{} {} {} ",
                r.u16("").ok()?,
                r.u8("").ok()?,
                r.u8("").ok()?
            );
            push_hex_nonempty(&mut s, r.rest())?;
        }
        Rtype::DNSKEY | Rtype::CDNSKEY => {
            let _ = write!(
                s,
                "{} {} {} ",
                r.u16("").ok()?,
                r.u8("").ok()?,
                r.u8("").ok()?
            );
            push_base64_nonempty(&mut s, r.rest())?;
        }
        Rtype::RRSIG => {
            let covered = Rtype(r.u16("").ok()?);
            let _ = write!(
                s,
                "{covered} {} {} {} ",
                r.u8("").ok()?,
                r.u8("").ok()?,
                r.u32("").ok()?
            );
            push_sig_time(&mut s, r.u32("").ok()?);
            s.push(' ');
            push_sig_time(&mut s, r.u32("").ok()?);
            let _ = write!(s, " {} ", r.u16("").ok()?);
            push_name(&mut s, r.name("").ok()?)?;
            s.push(' ');
            push_base64_nonempty(&mut s, r.rest())?;
        }
        Rtype::NSEC => {
            push_name(&mut s, r.name("").ok()?)?;
            push_bitmap_text(&mut s, r.rest())?;
        }
        Rtype::NSEC3 | Rtype::NSEC3PARAM => {
            let _ = write!(
                s,
                "{} {} {} ",
                r.u8("").ok()?,
                r.u8("").ok()?,
                r.u16("").ok()?
            );
            let salt = r.charstr("").ok()?;
            if salt.is_empty() {
                s.push('-');
            } else {
                push_hex(&mut s, salt);
            }
            if rtype == Rtype::NSEC3 {
                s.push(' ');
                s.push_str(&encode_base32hex(r.charstr("").ok()?));
                push_bitmap_text(&mut s, r.rest())?;
            }
        }
        Rtype::CSYNC => {
            let _ = write!(s, "{} {}", r.u32("").ok()?, r.u16("").ok()?);
            push_bitmap_text(&mut s, r.rest())?;
        }
        Rtype::ZONEMD => {
            let _ = write!(
                s,
                "{} {} {} ",
                r.u32("").ok()?,
                r.u8("").ok()?,
                r.u8("").ok()?
            );
            push_hex_nonempty(&mut s, r.rest())?;
        }
        Rtype::EUI48 | Rtype::EUI64 => {
            let parts: Vec<String> = r.rest().iter().map(|b| format!("{b:02x}")).collect();
            s.push_str(&parts.join("-"));
        }
        Rtype::URI => {
            let _ = write!(s, "{} {} ", r.u16("").ok()?, r.u16("").ok()?);
            push_quoted(&mut s, r.rest());
        }
        Rtype::OPENPGPKEY => push_base64_nonempty(&mut s, r.rest())?,
        Rtype::LOC => format_loc(&mut s, rdata)?,
        Rtype::SVCB | Rtype::HTTPS => format_svcb(&mut s, rdata)?,
        _ => return None,
    }
    if !r.is_empty() && !matches!(rtype, Rtype::LOC | Rtype::SVCB | Rtype::HTTPS) {
        return None;
    }
    Some(s)
}

// ---------------------------------------------------------------------------
// Small parsers and printers shared by several types.

/// DNSSEC algorithm mnemonics (IANA "DNS Security Algorithm Numbers").
const DNSSEC_ALGORITHMS: &[(u8, &str)] = &[
    (1, "RSAMD5"),
    (3, "DSA"),
    (5, "RSASHA1"),
    (6, "DSA-NSEC3-SHA1"),
    (7, "RSASHA1-NSEC3-SHA1"),
    (8, "RSASHA256"),
    (10, "RSASHA512"),
    (12, "ECC-GOST"),
    (13, "ECDSAP256SHA256"),
    (14, "ECDSAP384SHA384"),
    (15, "ED25519"),
    (16, "ED448"),
    (252, "INDIRECT"),
    (253, "PRIVATEDNS"),
    (254, "PRIVATEOID"),
];

/// [`Rtype::from_text`] for ASCII text only (it slices bytes, which would split a UTF-8 character).
fn rtype_from_text(text: &str) -> Result<Rtype> {
    if !text.is_ascii() {
        return Err(syntax(format!("unknown record type '{text}'")));
    }
    Rtype::from_text(text)
}

/// A decimal number of at most `max`; digits only.
fn parse_uint(text: &str, max: u64) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().filter(|v| *v <= max)
}

/// A number of seconds, plain or with BIND units (`1w2d3h4m5s`, case-insensitive), at most 2^32−1.
pub fn parse_duration(text: &str) -> Option<u32> {
    if let Some(v) = parse_uint(text, u32::MAX.into()) {
        return Some(v as u32);
    }
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for b in text.bytes() {
        if b.is_ascii_digit() {
            let n = num
                .unwrap_or(0)
                .checked_mul(10)?
                .checked_add(u64::from(b - b'0'))?;
            num = Some(n);
            continue;
        }
        let mult: u64 = match b.to_ascii_lowercase() {
            b's' => 1,
            b'm' => 60,
            b'h' => 3600,
            b'd' => 86_400,
            b'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(num.take()?.checked_mul(mult)?)?;
    }
    if let Some(n) = num {
        total = total.checked_add(n)?;
    }
    u32::try_from(total).ok()
}

/// Decodes `\X` and `\DDD` escapes.
fn decode_text(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'\\' {
            let (v, used) = parse_escape(b.get(i + 1..)?)?;
            out.push(v);
            i += 1 + used;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Some(out)
}

fn decode_hex(tokens: &[Token<'_>]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut high: Option<u8> = None;
    for t in tokens {
        for c in t.text.bytes() {
            let v = (c as char)
                .to_digit(16)
                .ok_or_else(|| format!("'{}' is not hexadecimal", t.text))?
                as u8;
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
    }
    if high.is_some() {
        return Err("odd number of hex digits".to_string());
    }
    Ok(out)
}

fn push_hex(s: &mut String, data: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for b in data {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
}

fn push_hex_nonempty(s: &mut String, data: &[u8]) -> Option<()> {
    if data.is_empty() {
        return None;
    }
    push_hex(s, data);
    Some(())
}

fn push_base64_nonempty(s: &mut String, data: &[u8]) -> Option<()> {
    if data.is_empty() {
        return None;
    }
    s.push_str(&BASE64.encode(data));
    Some(())
}

fn push_name(s: &mut String, wire: &[u8]) -> Option<()> {
    let n = Name::from_wire(wire).ok()?;
    let _ = write!(s, "{n}");
    Some(())
}

/// A character-string in double quotes, escaping `"`, `\` and non-printable octets.
fn push_quoted(s: &mut String, data: &[u8]) {
    s.push('"');
    for &c in data {
        match c {
            b'"' | b'\\' => {
                s.push('\\');
                s.push(c as char);
            }
            0x20..=0x7E => s.push(c as char),
            _ => {
                let _ = write!(s, "\\{c:03}");
            }
        }
    }
    s.push('"');
}

/// Text safe as (part of) an unquoted token: no spaces, quotes, `;` or parentheses.
fn push_unquoted(s: &mut String, data: &[u8]) {
    for &c in data {
        match c {
            b'"' | b'\\' | b';' | b'(' | b')' => {
                s.push('\\');
                s.push(c as char);
            }
            0x21..=0x7E => s.push(c as char),
            _ => {
                let _ = write!(s, "\\{c:03}");
            }
        }
    }
}

/// Sets the bits of `types` (sorted and deduplicated here) as RFC 4034 §4.1.2 windows.
fn push_bitmap(types: &mut Vec<u16>, out: &mut Vec<u8>) {
    types.sort_unstable();
    types.dedup();
    let mut i = 0;
    while let Some(&first) = types.get(i) {
        let window = (first >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut len = 0usize;
        while let Some(&t) = types.get(i) {
            if (t >> 8) as u8 != window {
                break;
            }
            let low = (t & 0xFF) as usize;
            if let Some(b) = bits.get_mut(low / 8) {
                *b |= 0x80 >> (low % 8);
            }
            len = low / 8 + 1;
            i += 1;
        }
        out.push(window);
        out.push(len as u8);
        out.extend_from_slice(bits.get(..len).unwrap_or(&[]));
    }
}

fn push_bitmap_text(s: &mut String, data: &[u8]) -> Option<()> {
    let mut r = Reader::new(data);
    while !r.is_empty() {
        let window = r.u8("").ok()?;
        let len = r.u8("").ok()? as usize;
        for (i, b) in r.bytes(len, "").ok()?.iter().enumerate() {
            for bit in 0..8 {
                if b & (0x80 >> bit) != 0 {
                    let t = Rtype((u16::from(window) << 8) | (i * 8 + bit) as u16);
                    let _ = write!(s, " {t}");
                }
            }
        }
    }
    Some(())
}

const BASE32HEX: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNOPQRSTUV";

fn encode_base32hex(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() * 8 / 5 + 1);
    let mut buf: u32 = 0;
    let mut bits = 0;
    for &b in data {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            s.push(BASE32HEX[((buf >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        s.push(BASE32HEX[((buf << (5 - bits)) & 31) as usize] as char);
    }
    s
}

fn decode_base32hex(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buf: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c.to_ascii_uppercase() {
            d @ b'0'..=b'9' => d - b'0',
            l @ b'A'..=b'V' => l - b'A' + 10,
            _ => return None,
        };
        buf = ((buf << 5) | u32::from(v)) & 0xFFFF;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    // Only zero padding bits, and no character that contributes nothing.
    if bits >= 5 || buf & ((1 << bits) - 1) != 0 {
        return None;
    }
    Some(out)
}

// RRSIG times (RFC 4034 §3.2): YYYYMMDDHHmmSS in UTC, or a plain number of seconds.

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn parse_sig_time(text: &str) -> Option<u32> {
    if text.len() != 14 {
        return parse_uint(text, u32::MAX.into()).map(|v| v as u32);
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        parse_uint(text.get(r)?, u64::MAX).map(|v| v as i64)
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(8..10)?, num(10..12)?, num(12..14)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    if civil_from_days(days) != (y, mo, d) {
        return None;
    }
    u32::try_from(days * 86_400 + h * 3600 + mi * 60 + s).ok()
}

fn push_sig_time(s: &mut String, t: u32) {
    let t = i64::from(t);
    let (y, m, d) = civil_from_days(t / 86_400);
    let sec = t % 86_400;
    let _ = write!(
        s,
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        sec / 3600,
        sec / 60 % 60,
        sec % 60
    );
}

// ---------------------------------------------------------------------------
// LOC (RFC 1876 §2 and appendix A).

const LOC_ALT_OFFSET: i64 = 10_000_000; // 100000.00 m below the WGS 84 spheroid, in cm
const LOC_MAX_SIZE_CM: u64 = 9_000_000_000; // 9e9 cm: the largest m·10^e with digits ≤ 9

/// `int[.frac]` with at most `places` fraction digits, scaled by 10^places.
fn parse_fixed(text: &str, places: u32) -> Option<u64> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    if int.is_empty() || frac.len() > places as usize || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int = parse_uint(int, u64::MAX / 1000)?;
    let mut f: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..places as usize {
        f *= 10;
    }
    int.checked_mul(10u64.pow(places))?.checked_add(f)
}

fn strip_meters(text: &str) -> &str {
    text.strip_suffix(['m', 'M']).unwrap_or(text)
}

fn is_hemisphere(text: &str, pos: char, neg: char) -> Option<bool> {
    let mut c = text.chars();
    let h = c.next()?.to_ascii_uppercase();
    if c.next().is_some() {
        return None;
    }
    if h == pos {
        Some(true)
    } else if h == neg {
        Some(false)
    } else {
        None
    }
}

/// `d [m [s]] H`, returned in RFC 1876 wire form.
fn parse_coord(
    f: &mut Fields<'_, '_>,
    what: &str,
    pos: char,
    neg: char,
    max_deg: u64,
) -> Result<u32> {
    let deg_field = format!("{what} degrees");
    let deg = f.uint(
        &deg_field,
        max_deg,
        &format!("a number of degrees up to {max_deg}"),
    )?;
    let hemi_field = format!("{what} hemisphere ({pos} or {neg})");
    let mut msec = deg * 3_600_000;
    let mut t = f.next(&hemi_field)?;
    let mut north = is_hemisphere(t.text, pos, neg);
    if north.is_none() {
        let min = parse_uint(t.text, 59).ok_or_else(|| {
            f.err(
                &format!("{what} minutes"),
                format!("'{}' is not a number up to 59", t.text),
            )
        })?;
        msec += min * 60_000;
        t = f.next(&hemi_field)?;
        north = is_hemisphere(t.text, pos, neg);
        if north.is_none() {
            let sec = parse_fixed(t.text, 3)
                .filter(|v| *v < 60_000)
                .ok_or_else(|| {
                    f.err(
                        &format!("{what} seconds"),
                        format!(
                            "'{}' is not a number below 60 with up to 3 decimals",
                            t.text
                        ),
                    )
                })?;
            msec += sec;
            t = f.next(&hemi_field)?;
            north = is_hemisphere(t.text, pos, neg);
        }
    }
    let north =
        north.ok_or_else(|| f.err(&hemi_field, format!("'{}' is not {pos} or {neg}", t.text)))?;
    if msec > max_deg * 3_600_000 {
        return Err(f.err(&deg_field, format!("more than {max_deg} degrees")));
    }
    let v = if north {
        wire::LOC_EQUATOR + msec as i64
    } else {
        wire::LOC_EQUATOR - msec as i64
    };
    u32::try_from(v).map_err(|_| f.err(&deg_field, "out of range"))
}

/// Centimetres as RFC 1876 mantissa/exponent, truncated to one significant digit.
fn encode_precision(mut cm: u64) -> u8 {
    let mut e = 0u8;
    while cm >= 10 {
        cm /= 10;
        e += 1;
    }
    ((cm as u8) << 4) | e
}

fn parse_loc(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<()> {
    let lat = parse_coord(f, "latitude", 'N', 'S', 90)?;
    let lon = parse_coord(f, "longitude", 'E', 'W', 180)?;
    let t = f.next("altitude")?;
    let alt_text = strip_meters(t.text);
    let (neg, digits) = match alt_text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, alt_text),
    };
    let cm = parse_fixed(digits, 2)
        .map(|v| if neg { -(v as i64) } else { v as i64 })
        .map(|v| v + LOC_ALT_OFFSET)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| {
            f.err(
                "altitude",
                format!(
                    "'{}' is not metres between -100000.00 and 42849672.95",
                    t.text
                ),
            )
        })?;
    let mut prec = [0x12u8, 0x16, 0x13]; // 1m 10000m 10m
    for (i, field) in ["size", "horizontal precision", "vertical precision"]
        .iter()
        .enumerate()
    {
        let Some(t) = f.take() else { break };
        let v = parse_fixed(strip_meters(t.text), 2)
            .filter(|v| *v <= LOC_MAX_SIZE_CM)
            .ok_or_else(|| {
                f.err(
                    field,
                    format!("'{}' is not metres between 0 and 90000000.00", t.text),
                )
            })?;
        if let Some(p) = prec.get_mut(i) {
            *p = encode_precision(v);
        }
    }
    out.push(0);
    out.extend_from_slice(&prec);
    out.extend_from_slice(&lat.to_be_bytes());
    out.extend_from_slice(&lon.to_be_bytes());
    out.extend_from_slice(&cm.to_be_bytes());
    Ok(())
}

fn push_coord(s: &mut String, v: u32, pos: char, neg: char) {
    let d = i64::from(v) - wire::LOC_EQUATOR;
    let h = if d < 0 { neg } else { pos };
    let a = d.unsigned_abs();
    let _ = write!(
        s,
        "{} {} {}.{:03} {h}",
        a / 3_600_000,
        a / 60_000 % 60,
        a / 1000 % 60,
        a % 1000
    );
}

/// BIND's size printing: whole metres when the exponent is ≥ 2, else `0.cc`.
fn push_precision(s: &mut String, p: u8) -> Option<()> {
    let (m, e) = (u64::from(p >> 4), u32::from(p & 15));
    if m > 9 || e > 9 || (m == 0 && e != 0) {
        return None; // not what parsing would produce: keep it exact in generic form
    }
    if e >= 2 {
        let _ = write!(s, "{}m", m * 10u64.pow(e - 2));
    } else {
        let _ = write!(s, "0.{:02}m", m * 10u64.pow(e));
    }
    Some(())
}

fn format_loc(s: &mut String, rdata: &[u8]) -> Option<()> {
    let mut r = Reader::new(rdata);
    r.u8("").ok()?;
    let prec = [r.u8("").ok()?, r.u8("").ok()?, r.u8("").ok()?];
    let lat = r.u32("").ok()?;
    let lon = r.u32("").ok()?;
    let alt = i64::from(r.u32("").ok()?) - LOC_ALT_OFFSET;
    push_coord(s, lat, 'N', 'S');
    s.push(' ');
    push_coord(s, lon, 'E', 'W');
    let a = alt.unsigned_abs();
    let _ = write!(
        s,
        " {}{}.{:02}m",
        if alt < 0 { "-" } else { "" },
        a / 100,
        a % 100
    );
    for p in prec {
        s.push(' ');
        push_precision(s, p)?;
    }
    Some(())
}

// ---------------------------------------------------------------------------
// SVCB / HTTPS (RFC 9460 §2.1, §7, appendix A).

const SVC_KEY_NAMES: &[(u16, &str)] = &[
    (wire::SVC_MANDATORY, "mandatory"),
    (wire::SVC_ALPN, "alpn"),
    (wire::SVC_NO_DEFAULT_ALPN, "no-default-alpn"),
    (wire::SVC_PORT, "port"),
    (wire::SVC_IPV4HINT, "ipv4hint"),
    (wire::SVC_ECH, "ech"),
    (wire::SVC_IPV6HINT, "ipv6hint"),
    (wire::SVC_DOHPATH, "dohpath"),
];

fn svc_key_from_text(text: &str) -> Option<u16> {
    if let Some((k, _)) = SVC_KEY_NAMES
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(text))
    {
        return Some(*k);
    }
    let digits = text.strip_prefix("key")?;
    if digits.is_empty() || digits.len() > 5 {
        return None;
    }
    parse_uint(digits, u16::MAX.into()).map(|v| v as u16)
}

fn push_svc_key(s: &mut String, key: u16) {
    match SVC_KEY_NAMES.iter().find(|(k, _)| *k == key) {
        Some((_, n)) => s.push_str(n),
        None => {
            let _ = write!(s, "key{key}");
        }
    }
}

/// Splits a decoded value on unescaped commas; `\X` inside an item stands for X (RFC 9460 A.1).
fn split_value_list(v: &[u8]) -> Vec<Vec<u8>> {
    let mut items = vec![Vec::new()];
    let mut i = 0;
    while let Some(&c) = v.get(i) {
        match c {
            b'\\' => {
                if let (Some(item), Some(&n)) = (items.last_mut(), v.get(i + 1)) {
                    item.push(n);
                }
                i += 2;
                continue;
            }
            b',' => items.push(Vec::new()),
            _ => {
                if let Some(item) = items.last_mut() {
                    item.push(c);
                }
            }
        }
        i += 1;
    }
    items
}

/// A quoted-or-not SvcParamValue as raw text, without the quotes.
fn strip_quotes(raw: &str) -> &str {
    if raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"') {
        raw.get(1..raw.len() - 1).unwrap_or(raw)
    } else {
        raw
    }
}

fn svc_value_to_wire(f: &Fields<'_, '_>, key: u16, value: Option<Vec<u8>>) -> Result<Vec<u8>> {
    let field = {
        let mut k = String::new();
        push_svc_key(&mut k, key);
        k
    };
    let required = |v: Option<Vec<u8>>| -> Result<Vec<u8>> {
        match v {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(f.err(&field, "needs a value")),
        }
    };
    let text_of = |v: &[u8]| -> String { String::from_utf8_lossy(v).into_owned() };
    let mut out = Vec::new();
    match key {
        wire::SVC_MANDATORY => {
            let mut keys = Vec::new();
            for item in split_value_list(&required(value)?) {
                let k = svc_key_from_text(&text_of(&item)).ok_or_else(|| {
                    f.err(&field, format!("'{}' is not a SvcParamKey", text_of(&item)))
                })?;
                if k == wire::SVC_MANDATORY {
                    return Err(f.err(&field, "must not list 'mandatory'"));
                }
                keys.push(k);
            }
            keys.sort_unstable();
            if keys.windows(2).any(|w| w.first() == w.get(1)) {
                return Err(f.err(&field, "lists a key twice"));
            }
            for k in keys {
                out.extend_from_slice(&k.to_be_bytes());
            }
        }
        wire::SVC_ALPN => {
            for item in split_value_list(&required(value)?) {
                if item.is_empty() || item.len() > 255 {
                    return Err(f.err(&field, "protocol ids must be 1 to 255 octets"));
                }
                out.push(item.len() as u8);
                out.extend_from_slice(&item);
            }
        }
        wire::SVC_NO_DEFAULT_ALPN => {
            if value.is_some_and(|v| !v.is_empty()) {
                return Err(f.err(&field, "takes no value"));
            }
        }
        wire::SVC_PORT => {
            let v = required(value)?;
            let port = parse_uint(&text_of(&v), u16::MAX.into()).ok_or_else(|| {
                f.err(&field, format!("'{}' is not a 16-bit number", text_of(&v)))
            })?;
            out.extend_from_slice(&(port as u16).to_be_bytes());
        }
        wire::SVC_IPV4HINT => {
            for item in split_value_list(&required(value)?) {
                let a: Ipv4Addr = text_of(&item).parse().map_err(|_| {
                    f.err(
                        &field,
                        format!("'{}' is not an IPv4 address", text_of(&item)),
                    )
                })?;
                out.extend_from_slice(&a.octets());
            }
        }
        wire::SVC_IPV6HINT => {
            for item in split_value_list(&required(value)?) {
                let a: Ipv6Addr = text_of(&item).parse().map_err(|_| {
                    f.err(
                        &field,
                        format!("'{}' is not an IPv6 address", text_of(&item)),
                    )
                })?;
                out.extend_from_slice(&a.octets());
            }
        }
        wire::SVC_ECH => {
            let v = value.unwrap_or_default();
            out = BASE64
                .decode(&v)
                .map_err(|e| f.err(&field, format!("not base64: {e}")))?;
        }
        _ => out = value.unwrap_or_default(),
    }
    if out.len() > usize::from(u16::MAX) {
        return Err(f.err(&field, "value longer than 65535 octets"));
    }
    Ok(out)
}

fn parse_svcb(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<()> {
    out.extend_from_slice(&f.u16("priority")?.to_be_bytes());
    f.name_into("target", out)?;
    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    while let Some(t) = f.take() {
        let (key_text, mut raw) = match t.text.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (t.text, None),
        };
        let key = svc_key_from_text(key_text).ok_or_else(|| {
            f.err(
                "SvcParamKey",
                format!("'{key_text}' is not a known key or keyNNNNN"),
            )
        })?;
        if key == wire::SVC_INVALID_KEY {
            return Err(f.err("SvcParamKey", "key65535 is reserved"));
        }
        // `key= "value"`: the tokenizer may have cut the quoted value off.
        if raw == Some("") {
            if let Some(next) = f.peek().filter(|n| n.quoted) {
                f.take();
                raw = Some(next.text);
            }
        }
        let value = match raw {
            None => None,
            Some(r) => Some(
                decode_text(strip_quotes(r))
                    .ok_or_else(|| f.err(key_text, format!("bad escape in '{r}'")))?,
            ),
        };
        if params.iter().any(|(k, _)| *k == key) {
            return Err(f.err("SvcParamKey", format!("'{key_text}' appears twice")));
        }
        let v = svc_value_to_wire(f, key, value)?;
        params.push((key, v));
    }
    params.sort_by_key(|(k, _)| *k);
    if let Some((_, m)) = params.iter().find(|(k, _)| *k == wire::SVC_MANDATORY) {
        for pair in m.chunks_exact(2) {
            let k = u16::from_be_bytes([pair[0], pair[1]]);
            if !params.iter().any(|(pk, _)| *pk == k) {
                let mut name = String::new();
                push_svc_key(&mut name, k);
                return Err(f.err("mandatory", format!("lists '{name}' which is not present")));
            }
        }
    }
    for (k, v) in params {
        out.extend_from_slice(&k.to_be_bytes());
        out.extend_from_slice(&(v.len() as u16).to_be_bytes());
        out.extend_from_slice(&v);
    }
    Ok(())
}

fn format_svcb(s: &mut String, rdata: &[u8]) -> Option<()> {
    let (priority, target, params) = wire::split_svcb(rdata).ok()?;
    let _ = write!(s, "{priority} ");
    push_name(s, target)?;
    for p in params {
        s.push(' ');
        push_svc_key(s, p.key);
        if p.value.is_empty() {
            continue;
        }
        s.push('=');
        match p.key {
            wire::SVC_MANDATORY => {
                let mut first = true;
                for pair in p.value.chunks_exact(2) {
                    if !first {
                        s.push(',');
                    }
                    first = false;
                    push_svc_key(s, u16::from_be_bytes([pair[0], pair[1]]));
                }
            }
            wire::SVC_ALPN => {
                let mut r = Reader::new(p.value);
                let mut first = true;
                while !r.is_empty() {
                    if !first {
                        s.push(',');
                    }
                    first = false;
                    // list-level escaping first, then char-string escaping (RFC 9460 A.1)
                    let mut item = Vec::new();
                    for &c in r.charstr("").ok()? {
                        if c == b',' || c == b'\\' {
                            item.push(b'\\');
                        }
                        item.push(c);
                    }
                    push_unquoted(s, &item);
                }
            }
            wire::SVC_PORT => {
                let _ = write!(
                    s,
                    "{}",
                    u16::from_be_bytes([*p.value.first()?, *p.value.get(1)?])
                );
            }
            wire::SVC_IPV4HINT => {
                let list: Vec<String> = p
                    .value
                    .chunks_exact(4)
                    .map(|a| Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string())
                    .collect();
                s.push_str(&list.join(","));
            }
            wire::SVC_IPV6HINT => {
                let list: Vec<String> = p
                    .value
                    .chunks_exact(16)
                    .map(|a| {
                        let mut o = [0u8; 16];
                        o.copy_from_slice(a);
                        Ipv6Addr::from(o).to_string()
                    })
                    .collect();
                s.push_str(&list.join(","));
            }
            wire::SVC_ECH => s.push_str(&BASE64.encode(p.value)),
            _ => push_unquoted(s, p.value),
        }
    }
    Some(())
}

#[cfg(test)]
mod tests;
