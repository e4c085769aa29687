//! Rdata codecs: presentation form ⇄ canonical wire form, per record type.
//!
//! Types with a dedicated codec: A, AAAA, NS, CNAME, SOA, MX, TXT, SRV, PTR,
//! CAA (RFC 8659), TLSA (RFC 6698), SSHFP (RFC 4255), SVCB/HTTPS (RFC 9460),
//! DNAME (RFC 6672), DS (RFC 4034), NAPTR (RFC 3403), HINFO, LOC (RFC 1876),
//! SPF (RFC 7208). Every other type uses RFC 3597 generic form
//! (`\# <len> <hex>`), which is also accepted for known types and then
//! checked against the type's wire format.
//!
//! Compression (RFC 3597 §4): only the RFC 1035 types' embedded names are
//! compressed on output and decompressed on input; see [`names`].

pub mod names;
mod text;

pub use text::parse_duration;
mod wire;

pub use names::{
    canonical_names, compressible_names, has_compressible_names, lowercase_canonical_names,
    NameSlot,
};

use crate::error::Result;
use crate::name::Name;
use crate::types::Rtype;

/// Serial, refresh, retry, expire and minimum of SOA rdata (uncompressed
/// wire form: MNAME, RNAME, five 32-bit fields); `None` when it is shorter
/// or its names are malformed.
pub fn soa_fields(rdata: &[u8]) -> Option<[u32; 5]> {
    let m = crate::name::check_wire(rdata).ok()?;
    let r = crate::name::check_wire(rdata.get(m..)?).ok()?;
    let f = rdata.get(m + r..m + r + 20)?;
    let mut out = [0u32; 5];
    for (v, b) in out.iter_mut().zip(f.chunks_exact(4)) {
        *v = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    }
    Some(out)
}

/// The serial of SOA rdata ([`soa_fields`]).
pub fn soa_serial(rdata: &[u8]) -> Option<u32> {
    soa_fields(rdata).map(|f| f[0])
}

/// One presentation-format token as cut by a zone file tokenizer.
///
/// `text` is raw: escapes (`\X`, `\DDD`) are *not* yet decoded, quotes are
/// removed, and `quoted` tells whether the token was in double quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    /// Raw text of the token, without surrounding quotes.
    pub text: &'a str,
    /// True when the token was written in double quotes.
    pub quoted: bool,
}

/// Parses presentation-format rdata tokens into canonical uncompressed wire rdata.
///
/// Relative names in the rdata are completed with `origin`. The error text
/// names the field that was wrong (e.g. "MX preference: not a number").
pub fn parse_presentation(rtype: Rtype, tokens: &[Token<'_>], origin: &Name) -> Result<Vec<u8>> {
    text::parse(rtype, tokens, origin)
}

/// Formats wire rdata in presentation form (absolute names), as a zone file would show it.
///
/// Malformed rdata for a known type falls back to RFC 3597 generic form, so
/// formatting never fails.
pub fn format_presentation(rtype: Rtype, rdata: &[u8]) -> String {
    text::format(rtype, rdata)
}

/// Checks that `rdata` is well-formed wire rdata for `rtype` (uncompressed).
pub fn validate_wire(rtype: Rtype, rdata: &[u8]) -> Result<()> {
    wire::validate(rtype, rdata)
}

/// Reads rdata of `rdlen` octets at `pos` in a message, decompressing embedded
/// names where the type allows compression, and returns canonical wire rdata.
pub fn from_message(rtype: Rtype, msg: &[u8], pos: usize, rdlen: usize) -> Result<Vec<u8>> {
    wire::from_message(rtype, msg, pos, rdlen)
}
