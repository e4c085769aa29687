//! Domain names in wire form (RFC 1035 §3.1, §4.1.4) and presentation form (§5.1).
//!
//! A [`Name`] always holds an absolute name as uncompressed wire octets,
//! ending with the root label. Case is preserved as given; equality, hashing
//! and ordering are case-insensitive (RFC 4343), and ordering is the DNSSEC
//! canonical order (RFC 4034 §6.1).
//!
//! Not implemented: IDNA conversion (names are octets, as on the wire).

use crate::error::{syntax, Error, Result};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Largest wire length of a name, including the root label (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Largest length of one label.
pub const MAX_LABEL_LEN: usize = 63;

/// An absolute domain name in uncompressed wire form.
///
/// The octets are shared (`Arc`): cloning a name, as records, indexes and
/// maps do all the time, costs a reference count, not an allocation.
#[derive(Clone)]
pub struct Name {
    wire: Arc<[u8]>,
}

impl Name {
    /// The root name `.`.
    pub fn root() -> Name {
        Name {
            wire: Arc::new([0]),
        }
    }

    /// Builds a name from uncompressed wire octets, checking label structure.
    pub fn from_wire(wire: &[u8]) -> Result<Name> {
        let len = check_wire(wire)?;
        if len != wire.len() {
            return Err(Error::Malformed("trailing octets after name"));
        }
        Ok(Name { wire: wire.into() })
    }

    /// Wraps wire octets known to be a valid uncompressed name (crate constants), unchecked.
    pub(crate) fn from_trusted_wire(wire: &'static [u8]) -> Name {
        Name { wire: wire.into() }
    }

    /// Parses a possibly compressed name at `pos` in `msg`.
    ///
    /// Returns the name and the position just after it in the message (after
    /// the first pointer, if any). Pointers must point backwards, which also
    /// rules out loops.
    pub fn parse_wire(msg: &[u8], pos: usize) -> Result<(Name, usize)> {
        let mut buf = [0u8; MAX_NAME_LEN];
        let (len, next) = parse_wire_into(msg, pos, &mut buf)?;
        Ok((
            Name {
                wire: buf[..len].into(),
            },
            next,
        ))
    }

    /// Parses a name in presentation form; relative names are completed with `origin`.
    ///
    /// `@` stands for the origin. A name without a trailing dot is relative;
    /// without an origin that is an error. Escapes `\X` and `\DDD` are honoured.
    pub fn from_presentation(text: &str, origin: Option<&Name>) -> Result<Name> {
        if text == "@" {
            return origin
                .cloned()
                .ok_or_else(|| syntax("'@' used without an origin"));
        }
        if text.is_empty() {
            return Err(syntax("empty name"));
        }
        if text == "." {
            return Ok(Name::root());
        }
        let bytes = text.as_bytes();
        let mut wire: Vec<u8> = Vec::with_capacity(bytes.len() + 2);
        let mut label_start = 0usize;
        wire.push(0);
        let mut i = 0;
        let mut absolute = false;
        while i < bytes.len() {
            let c = bytes[i];
            match c {
                b'.' => {
                    let len = wire.len() - label_start - 1;
                    if len == 0 {
                        return Err(syntax(format!("empty label in name '{text}'")));
                    }
                    if len > MAX_LABEL_LEN {
                        return Err(syntax(format!("label longer than 63 octets in '{text}'")));
                    }
                    wire[label_start] = len as u8;
                    if i + 1 == bytes.len() {
                        absolute = true;
                    } else {
                        label_start = wire.len();
                        wire.push(0);
                    }
                    i += 1;
                    continue;
                }
                b'\\' => {
                    let (octet, used) = parse_escape(&bytes[i + 1..])
                        .ok_or_else(|| syntax(format!("bad escape in name '{text}'")))?;
                    wire.push(octet);
                    i += 1 + used;
                    continue;
                }
                _ => wire.push(c),
            }
            i += 1;
        }
        if !absolute {
            let len = wire.len() - label_start - 1;
            if len > MAX_LABEL_LEN {
                return Err(syntax(format!("label longer than 63 octets in '{text}'")));
            }
            wire[label_start] = len as u8;
            let origin = origin
                .ok_or_else(|| syntax(format!("relative name '{text}' without an origin")))?;
            wire.extend_from_slice(origin.as_wire());
        } else {
            wire.push(0);
        }
        if wire.len() > MAX_NAME_LEN {
            return Err(syntax(format!("name '{text}' longer than 255 octets")));
        }
        Ok(Name { wire: wire.into() })
    }

    /// The uncompressed wire octets, root label included.
    pub fn as_wire(&self) -> &[u8] {
        &self.wire
    }

    /// Wire length including the root label.
    pub fn wire_len(&self) -> usize {
        self.wire.len()
    }

    /// True for the root name.
    pub fn is_root(&self) -> bool {
        self.wire.len() == 1
    }

    /// Number of labels, not counting the root label.
    pub fn label_count(&self) -> usize {
        labels(&self.wire).count()
    }

    /// The labels from the leftmost, without the root.
    pub fn labels(&self) -> impl Iterator<Item = &[u8]> {
        labels(&self.wire)
    }

    /// The same name with ASCII letters lowered.
    pub fn to_lowercase(&self) -> Name {
        let mut wire = self.wire.to_vec();
        lowercase_wire(&mut wire);
        Name { wire: wire.into() }
    }

    /// The parent name (one label removed); `None` for the root.
    pub fn parent(&self) -> Option<Name> {
        if self.is_root() {
            return None;
        }
        let skip = 1 + self.wire[0] as usize;
        Some(Name {
            wire: self.wire[skip..].into(),
        })
    }

    /// True when `self` equals `other` or lies below it (case-insensitive).
    pub fn is_subdomain_of(&self, other: &Name) -> bool {
        is_subdomain_wire(&self.wire, &other.wire)
    }

    /// True when the leftmost label is `*` (an RFC 4592 wildcard owner).
    pub fn is_wildcard(&self) -> bool {
        self.wire.len() >= 2 && self.wire[0] == 1 && self.wire[1] == b'*'
    }

    /// Prepends one label (given raw, unescaped).
    pub fn prepend_label(&self, label: &[u8]) -> Result<Name> {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(Error::NameTooLong);
        }
        if self.wire.len() + label.len() + 1 > MAX_NAME_LEN {
            return Err(Error::NameTooLong);
        }
        let mut wire = Vec::with_capacity(self.wire.len() + label.len() + 1);
        wire.push(label.len() as u8);
        wire.extend_from_slice(label);
        wire.extend_from_slice(&self.wire);
        Ok(Name { wire: wire.into() })
    }

    /// Replaces the suffix `old` (which `self` must be below) by `new` (RFC 6672 DNAME substitution).
    pub fn replace_suffix(&self, old: &Name, new: &Name) -> Result<Name> {
        if !self.is_subdomain_of(old) {
            return Err(Error::Malformed("name is not below the suffix"));
        }
        let keep = self.wire.len() - old.wire.len();
        let len = keep + new.wire.len();
        if len > MAX_NAME_LEN {
            return Err(Error::NameTooLong);
        }
        let mut wire = Vec::with_capacity(len);
        wire.extend_from_slice(&self.wire[..keep]);
        wire.extend_from_slice(&new.wire);
        Ok(Name { wire: wire.into() })
    }

    /// Presentation form relative to `origin` when below it (`@` for the origin itself).
    pub fn to_relative_string(&self, origin: &Name) -> String {
        if self == origin {
            return "@".to_string();
        }
        if self.is_subdomain_of(origin) && !origin.is_root() {
            let keep = self.wire.len() - origin.wire.len();
            let mut out = String::new();
            write_labels(&self.wire[..keep], &mut out);
            out.pop(); // trailing dot of the last relative label
            return out;
        }
        self.to_string()
    }
}

/// Parses a possibly compressed name into `out` without allocating.
///
/// Returns the wire length written and the message position after the name.
/// Rejects forward or self pointers, reserved label types, and names longer
/// than 255 octets.
pub fn parse_wire_into(
    msg: &[u8],
    mut pos: usize,
    out: &mut [u8; MAX_NAME_LEN],
) -> Result<(usize, usize)> {
    let mut len = 0usize;
    let mut next: Option<usize> = None;
    let mut limit = pos; // pointers must go strictly before this position
    loop {
        let b = *msg.get(pos).ok_or(Error::ShortInput("name"))?;
        match b & 0xC0 {
            0x00 => {
                let l = b as usize;
                if l == 0 {
                    if len + 1 > MAX_NAME_LEN {
                        return Err(Error::NameTooLong);
                    }
                    out[len] = 0;
                    len += 1;
                    return Ok((len, next.unwrap_or(pos + 1)));
                }
                let end = pos + 1 + l;
                if end > msg.len() {
                    return Err(Error::ShortInput("label"));
                }
                if len + 1 + l + 1 > MAX_NAME_LEN {
                    return Err(Error::NameTooLong);
                }
                out[len..len + 1 + l].copy_from_slice(&msg[pos..end]);
                len += 1 + l;
                pos = end;
            }
            0xC0 => {
                let b2 = *msg
                    .get(pos + 1)
                    .ok_or(Error::ShortInput("compression pointer"))?;
                let target = (((b & 0x3F) as usize) << 8) | b2 as usize;
                if target >= limit {
                    return Err(Error::Malformed("compression pointer not backwards"));
                }
                if next.is_none() {
                    next = Some(pos + 2);
                }
                limit = target;
                pos = target;
            }
            _ => return Err(Error::Malformed("reserved label type")),
        }
    }
}

/// Checks uncompressed wire octets and returns the name's length.
pub fn check_wire(wire: &[u8]) -> Result<usize> {
    let mut pos = 0;
    loop {
        let l = *wire.get(pos).ok_or(Error::ShortInput("name"))? as usize;
        if l == 0 {
            return Ok(pos + 1);
        }
        if l > MAX_LABEL_LEN {
            return Err(Error::Malformed("label type in uncompressed name"));
        }
        pos += 1 + l;
        if pos >= MAX_NAME_LEN {
            return Err(Error::NameTooLong);
        }
    }
}

/// Lowers ASCII letters in wire octets in place (label lengths are < 64, never letters).
pub fn lowercase_wire(wire: &mut [u8]) {
    for b in wire.iter_mut() {
        b.make_ascii_lowercase();
    }
}

/// Case-insensitive "is `name` equal to or below `apex`" on uncompressed wire octets.
pub fn is_subdomain_wire(name: &[u8], apex: &[u8]) -> bool {
    if apex.len() > name.len() {
        return false;
    }
    let off = name.len() - apex.len();
    // The suffix must start on a label boundary.
    let mut pos = 0;
    while pos < off {
        pos += 1 + name[pos] as usize;
    }
    pos == off && name[off..].eq_ignore_ascii_case(apex)
}

fn labels(wire: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let l = *wire.get(pos)? as usize;
        if l == 0 {
            return None;
        }
        let label = wire.get(pos + 1..pos + 1 + l)?;
        pos += 1 + l;
        Some(label)
    })
}

/// Parses `\X` or `\DDD` (the input starts after the backslash); returns the octet and bytes used.
pub(crate) fn parse_escape(rest: &[u8]) -> Option<(u8, usize)> {
    let first = *rest.first()?;
    if first.is_ascii_digit() {
        if rest.len() < 3 || !rest[1].is_ascii_digit() || !rest[2].is_ascii_digit() {
            return None;
        }
        let v =
            (first - b'0') as u32 * 100 + (rest[1] - b'0') as u32 * 10 + (rest[2] - b'0') as u32;
        if v > 255 {
            return None;
        }
        Some((v as u8, 3))
    } else {
        Some((first, 1))
    }
}

fn write_labels(wire: &[u8], out: &mut String) {
    use std::fmt::Write;
    for label in labels(wire) {
        for &c in label {
            match c {
                b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                    out.push('\\');
                    out.push(c as char);
                }
                0x21..=0x7E => out.push(c as char),
                _ => {
                    let _ = write!(out, "\\{c:03}");
                }
            }
        }
        out.push('.');
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        let mut s = String::with_capacity(self.wire.len() + 4);
        write_labels(&self.wire, &mut s);
        f.write_str(&s)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.wire.eq_ignore_ascii_case(&other.wire)
    }
}
impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.wire.iter() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl Ord for Name {
    /// DNSSEC canonical order (RFC 4034 §6.1): compare labels from the right, case-insensitively.
    ///
    /// Allocation-free: label offsets go into stack arrays (a name has at most 127 labels).
    fn cmp(&self, other: &Self) -> Ordering {
        canonical_cmp(&self.wire, &other.wire)
    }
}

/// RFC 4034 §6.1 order on uncompressed wire names, without allocating.
pub fn canonical_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let mut oa = [0u8; MAX_NAME_LEN / 2 + 1];
    let mut ob = [0u8; MAX_NAME_LEN / 2 + 1];
    let na = label_offsets(a, &mut oa);
    let nb = label_offsets(b, &mut ob);
    for i in 1..=na.min(nb) {
        let la = label_at(a, oa[na - i]);
        let lb = label_at(b, ob[nb - i]);
        let ord = la
            .iter()
            .map(u8::to_ascii_lowercase)
            .cmp(lb.iter().map(u8::to_ascii_lowercase));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    na.cmp(&nb)
}

/// Label start offsets of an uncompressed wire name; returns how many.
fn label_offsets(wire: &[u8], out: &mut [u8; MAX_NAME_LEN / 2 + 1]) -> usize {
    let mut n = 0;
    let mut pos = 0usize;
    while let Some(&len) = wire.get(pos) {
        if len == 0 || n >= out.len() {
            break;
        }
        out[n] = pos as u8;
        n += 1;
        pos += 1 + len as usize;
    }
    n
}

fn label_at(wire: &[u8], off: u8) -> &[u8] {
    let off = off as usize;
    let len = wire.get(off).copied().unwrap_or(0) as usize;
    wire.get(off + 1..off + 1 + len).unwrap_or(&[])
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::str::FromStr for Name {
    type Err = Error;
    /// Parses an absolute name; a missing trailing dot is accepted (relative to the root).
    fn from_str(s: &str) -> Result<Name> {
        Name::from_presentation(s, Some(&Name::root()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presentation_round_trip() {
        let n: Name = "Www.Example.COM.".parse().unwrap();
        assert_eq!(n.to_string(), "Www.Example.COM.");
        assert_eq!(n, "www.example.com".parse().unwrap());
        assert_eq!(n.label_count(), 3);
        let e: Name = r"a\.b\032c.example.".parse().unwrap();
        assert_eq!(e.label_count(), 2);
        assert_eq!(e.to_string(), r"a\.b\032c.example.");
    }

    #[test]
    fn relative_and_origin() {
        let o: Name = "example.com.".parse().unwrap();
        let n = Name::from_presentation("www", Some(&o)).unwrap();
        assert_eq!(n.to_string(), "www.example.com.");
        assert_eq!(n.to_relative_string(&o), "www");
        assert_eq!(o.to_relative_string(&o), "@");
        assert!(Name::from_presentation("www", None).is_err());
        assert!(Name::from_presentation("a..b.", None).is_err());
    }

    #[test]
    fn length_limits() {
        let long = "a".repeat(64);
        assert!(Name::from_presentation(&format!("{long}."), None).is_err());
        let l63 = "a".repeat(63);
        let too_long = format!("{l63}.{l63}.{l63}.{l63}.");
        assert!(Name::from_presentation(&too_long, None).is_err());
    }

    #[test]
    fn compression_pointers() {
        // "example.com" at 0, then pointer to it at 13
        let mut msg = vec![7];
        msg.extend_from_slice(b"example");
        msg.push(3);
        msg.extend_from_slice(b"com");
        msg.push(0);
        msg.extend_from_slice(&[3, b'w', b'w', b'w', 0xC0, 0]);
        let (n, next) = Name::parse_wire(&msg, 13).unwrap();
        assert_eq!(n.to_string(), "www.example.com.");
        assert_eq!(next, msg.len());
        // self-pointer loops are rejected
        assert!(Name::parse_wire(&[0xC0, 0], 0).is_err());
        // forward pointers are rejected
        assert!(Name::parse_wire(&[0xC0, 2, 0], 0).is_err());
    }

    #[test]
    fn canonical_order() {
        // The example of RFC 4034 §6.1, in its order, plus the root and another TLD.
        let sorted = [
            ".",
            "b.",
            "example.",
            "a.example.",
            "yljkjljk.a.example.",
            "Z.a.example.",
            "zABC.a.EXAMPLE.",
            "z.example.",
            "\\001.z.example.",
            "*.z.example.",
            "\\200.z.example.",
        ];
        let names: Vec<Name> = sorted.iter().map(|s| s.parse().unwrap()).collect();
        for (i, a) in names.iter().enumerate() {
            for (j, b) in names.iter().enumerate() {
                assert_eq!(a.cmp(b), i.cmp(&j), "{a} vs {b}");
            }
        }
        let mut shuffled = names.clone();
        shuffled.reverse();
        shuffled.sort();
        assert_eq!(shuffled, names);
    }

    #[test]
    fn subdomain() {
        let a: Name = "a.b.example.".parse().unwrap();
        let b: Name = "B.example.".parse().unwrap();
        let c: Name = "ab.example.".parse().unwrap();
        assert!(a.is_subdomain_of(&b));
        assert!(!c.is_subdomain_of(&b));
        assert!(a.is_subdomain_of(&Name::root()));
    }
}
