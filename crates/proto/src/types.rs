//! Record types and classes (RFC 1035 §3.2.2–§3.2.4, IANA registry), with mnemonics.
//!
//! Unknown values print and parse as `TYPEnnn` / `CLASSnnn` (RFC 3597 §5).

use crate::error::{syntax, Result};
use std::fmt;

/// A record type code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rtype(pub u16);

macro_rules! rtypes {
    ($($name:ident = $val:expr, $text:expr;)*) => {
        impl Rtype {
            $(#[doc = concat!("The ", $text, " type.")] pub const $name: Rtype = Rtype($val);)*
        }
        const RTYPE_TABLE: &[(u16, &str)] = &[$(($val, $text),)*];
    };
}

rtypes! {
    A = 1, "A";
    NS = 2, "NS";
    MD = 3, "MD";
    MF = 4, "MF";
    CNAME = 5, "CNAME";
    SOA = 6, "SOA";
    MB = 7, "MB";
    MG = 8, "MG";
    MR = 9, "MR";
    NULL = 10, "NULL";
    WKS = 11, "WKS";
    PTR = 12, "PTR";
    HINFO = 13, "HINFO";
    MINFO = 14, "MINFO";
    MX = 15, "MX";
    TXT = 16, "TXT";
    RP = 17, "RP";
    AFSDB = 18, "AFSDB";
    AAAA = 28, "AAAA";
    LOC = 29, "LOC";
    SRV = 33, "SRV";
    NAPTR = 35, "NAPTR";
    KX = 36, "KX";
    CERT = 37, "CERT";
    DNAME = 39, "DNAME";
    OPT = 41, "OPT";
    DS = 43, "DS";
    SSHFP = 44, "SSHFP";
    RRSIG = 46, "RRSIG";
    NSEC = 47, "NSEC";
    DNSKEY = 48, "DNSKEY";
    NSEC3 = 50, "NSEC3";
    NSEC3PARAM = 51, "NSEC3PARAM";
    TLSA = 52, "TLSA";
    SMIMEA = 53, "SMIMEA";
    CDS = 59, "CDS";
    CDNSKEY = 60, "CDNSKEY";
    OPENPGPKEY = 61, "OPENPGPKEY";
    CSYNC = 62, "CSYNC";
    ZONEMD = 63, "ZONEMD";
    SVCB = 64, "SVCB";
    HTTPS = 65, "HTTPS";
    SPF = 99, "SPF";
    EUI48 = 108, "EUI48";
    EUI64 = 109, "EUI64";
    TKEY = 249, "TKEY";
    TSIG = 250, "TSIG";
    IXFR = 251, "IXFR";
    AXFR = 252, "AXFR";
    MAILB = 253, "MAILB";
    MAILA = 254, "MAILA";
    ANY = 255, "ANY";
    URI = 256, "URI";
    CAA = 257, "CAA";
}

impl Rtype {
    /// The mnemonic, or `None` for a type without one.
    pub fn mnemonic(self) -> Option<&'static str> {
        RTYPE_TABLE
            .iter()
            .find(|(v, _)| *v == self.0)
            .map(|(_, t)| *t)
    }

    /// Parses a mnemonic (case-insensitive) or `TYPEnnn`.
    pub fn from_text(text: &str) -> Result<Rtype> {
        if let Some((v, _)) = RTYPE_TABLE
            .iter()
            .find(|(_, t)| t.eq_ignore_ascii_case(text))
        {
            return Ok(Rtype(*v));
        }
        if let (Some(prefix), Some(number)) = (text.get(..4), text.get(4..)) {
            if prefix.eq_ignore_ascii_case("TYPE") {
                if let Ok(v) = number.parse::<u16>() {
                    return Ok(Rtype(v));
                }
            }
        }
        Err(syntax(format!("unknown record type '{text}'")))
    }

    /// True for meta and query-only types (RFC 6895 §3.1: 128–255 and OPT) that can't be stored in a zone.
    pub fn is_meta(self) -> bool {
        (128..=255).contains(&self.0) || self == Rtype::OPT
    }
}

impl fmt::Display for Rtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mnemonic() {
            Some(m) => f.write_str(m),
            None => write!(f, "TYPE{}", self.0),
        }
    }
}

impl fmt::Debug for Rtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A record class code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Class(pub u16);

impl Class {
    /// The Internet class.
    pub const IN: Class = Class(1);
    /// Chaos.
    pub const CH: Class = Class(3);
    /// Hesiod.
    pub const HS: Class = Class(4);
    /// NONE (RFC 2136).
    pub const NONE: Class = Class(254);
    /// ANY (query class).
    pub const ANY: Class = Class(255);

    /// Parses `IN`, `CH`, `HS`, `NONE`, `ANY` or `CLASSnnn` (case-insensitive).
    pub fn from_text(text: &str) -> Result<Class> {
        let c = match text.to_ascii_uppercase().as_str() {
            "IN" => Class::IN,
            "CH" | "CHAOS" => Class::CH,
            "HS" => Class::HS,
            "NONE" => Class::NONE,
            "ANY" => Class::ANY,
            up if up.len() > 5 && up.starts_with("CLASS") => Class(
                up[5..]
                    .parse()
                    .map_err(|_| syntax(format!("bad class '{text}'")))?,
            ),
            _ => return Err(syntax(format!("unknown class '{text}'"))),
        };
        Ok(c)
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Class::IN => f.write_str("IN"),
            Class::CH => f.write_str("CH"),
            Class::HS => f.write_str("HS"),
            Class::NONE => f.write_str("NONE"),
            Class::ANY => f.write_str("ANY"),
            Class(v) => write!(f, "CLASS{v}"),
        }
    }
}

impl fmt::Debug for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// RFC 1982 §3.2: true when SOA serial `a` is newer than `b`.
///
/// Serials half the space apart compare as neither newer nor older (both
/// directions are false), as the RFC leaves that case undefined.
pub fn serial_gt(a: u32, b: u32) -> bool {
    a != b && (a.wrapping_sub(b) as i32) > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn mnemonics() {
        assert_eq!(Rtype::from_text("aaaa").unwrap(), Rtype::AAAA);
        assert_eq!(Rtype::from_text("TYPE65400").unwrap(), Rtype(65400));
        assert_eq!(Rtype(65400).to_string(), "TYPE65400");
        assert_eq!(Rtype::HTTPS.to_string(), "HTTPS");
        assert!(Rtype::from_text("BOGUS").is_err());
        assert!(Rtype::from_text("SOAԭ").is_err());
        assert!(Rtype::from_text("TYPԭ").is_err());
        assert!(Rtype::from_text("TYPE").is_err());
        assert_eq!(Class::from_text("class1").unwrap(), Class::IN);
    }
}
