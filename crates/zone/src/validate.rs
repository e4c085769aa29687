//! Zone content rules checked before a record set becomes a zone, and RRset normalisation.
//!
//! Rules: exactly one SOA, at the apex (RFC 1035 §5.2); NS records at the
//! apex (RFC 1034 §4.2.1); a CNAME owner has no other data except RRSIG and
//! NSEC, and at most one CNAME (RFC 1034 §3.6.2, RFC 2181 §10.1, RFC 4035
//! §2.5); every owner at or below the origin; no owner below a DNAME owner
//! (RFC 6672 §2.4); class IN only; no meta or query types (RFC 6895 §3.1);
//! TTLs at most 2^31−1 (RFC 2181 §8). Identical duplicate records are not
//! errors (RFC 2181 §5): [`normalize`] drops them and unifies RRset TTLs
//! (RFC 2181 §5.2) to the last record's, as Knot's zone loader does.
//!
//! Not checked: glue and other data below delegations (allowed, served as
//! glue or occluded), whether NS targets or MX exchanges resolve, DNSSEC
//! consistency, wildcard-owner special cases of RFC 4592 §4.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use zonecast_proto::name::MAX_NAME_LEN;
use zonecast_proto::{Class, Name, Record, Rtype};

/// Most problems [`validate_zone`] reports; the rest are dropped.
pub const MAX_PROBLEMS: usize = 100;

/// Largest TTL allowed in a zone (RFC 2181 §8).
pub const MAX_TTL: u32 = 0x7FFF_FFFF;

/// Which rule a [`Problem`] breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// No SOA record at the apex.
    NoSoa,
    /// More than one distinct SOA record at the apex.
    MultipleSoa,
    /// An SOA record below the apex.
    SoaNotAtApex,
    /// No NS record at the apex.
    NoApexNs,
    /// A CNAME owner that also has other data.
    CnameAndOtherData,
    /// More than one distinct CNAME at one owner.
    MultipleCnames,
    /// An owner outside the zone.
    OutOfZone,
    /// An owner below a DNAME owner.
    BelowDname,
    /// A class other than IN.
    WrongClass,
    /// A meta or query type (OPT, TSIG, AXFR, ANY, ...).
    MetaType,
    /// A TTL above 2^31−1.
    TtlOutOfRange,
}

impl Rule {
    /// A short stable identifier, e.g. `cname-and-other-data`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::NoSoa => "no-soa",
            Rule::MultipleSoa => "multiple-soa",
            Rule::SoaNotAtApex => "soa-not-at-apex",
            Rule::NoApexNs => "no-apex-ns",
            Rule::CnameAndOtherData => "cname-and-other-data",
            Rule::MultipleCnames => "multiple-cnames",
            Rule::OutOfZone => "out-of-zone",
            Rule::BelowDname => "below-dname",
            Rule::WrongClass => "wrong-class",
            Rule::MetaType => "meta-type",
            Rule::TtlOutOfRange => "ttl-out-of-range",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule; `index` points into the checked records when one record is to blame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Index of the offending record, or `None` for zone-wide problems (no SOA, no apex NS).
    pub index: Option<usize>,
    /// The rule broken.
    pub rule: Rule,
    /// What is wrong, naming the owner and type.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A multiply-rotate hasher (the FxHash scheme) with a per-call random seed.
///
/// `Name` hashes byte by byte; SipHash makes that several times slower on
/// million-record zones. The seed keeps collisions from being precomputed.
#[derive(Clone, Copy)]
struct FastState(u64);

impl FastState {
    fn new() -> Self {
        let mut h = RandomState::new().build_hasher();
        h.write_u8(0);
        FastState(h.finish())
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(self.0)
    }
}

struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            if let Some(dst) = w.get_mut(..chunk.len()) {
                dst.copy_from_slice(chunk);
            }
            self.add(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

#[derive(Default)]
struct OwnerInfo {
    cname: Option<usize>,
    other: Option<usize>,
}

/// Checks the zone rules; on failure returns every problem (at most [`MAX_PROBLEMS`]) sorted by index.
///
/// Zone-wide problems (index `None`) sort first.
pub fn validate_zone(origin: &Name, records: &[Record]) -> Result<(), Vec<Problem>> {
    let mut problems: Vec<Problem> = Vec::new();
    let mut owners: HashMap<&Name, OwnerInfo, FastState> =
        HashMap::with_capacity_and_hasher(records.len(), FastState::new());
    let mut dnames: HashSet<Vec<u8>> = HashSet::new();
    let mut apex_soa: Option<usize> = None;
    let mut apex_ns = false;
    let mut push = |index: usize, rule: Rule, message: String| {
        problems.push(Problem {
            index: Some(index),
            rule,
            message,
        });
    };
    for (i, r) in records.iter().enumerate() {
        if r.class != Class::IN {
            push(
                i,
                Rule::WrongClass,
                format!(
                    "{} {}: class {} is not served; only IN",
                    r.owner, r.rtype, r.class
                ),
            );
        }
        if r.rtype.is_meta() {
            push(
                i,
                Rule::MetaType,
                format!(
                    "{} {}: meta type can't be stored in a zone",
                    r.owner, r.rtype
                ),
            );
        }
        if r.ttl > MAX_TTL {
            push(
                i,
                Rule::TtlOutOfRange,
                format!(
                    "{} {}: TTL {} is above 2147483647 (RFC 2181 §8)",
                    r.owner, r.rtype, r.ttl
                ),
            );
        }
        if !r.owner.is_subdomain_of(origin) {
            push(
                i,
                Rule::OutOfZone,
                format!(
                    "{} {}: owner is outside the zone {origin}",
                    r.owner, r.rtype
                ),
            );
            continue;
        }
        let at_apex = r.owner == *origin;
        match r.rtype {
            Rtype::SOA if !at_apex => push(
                i,
                Rule::SoaNotAtApex,
                format!(
                    "{} SOA: an SOA record must be at the apex {origin}",
                    r.owner
                ),
            ),
            Rtype::SOA => match apex_soa {
                None => apex_soa = Some(i),
                Some(first) if records.get(first).is_some_and(|f| f.rdata != r.rdata) => push(
                    i,
                    Rule::MultipleSoa,
                    format!("{} SOA: the zone has more than one SOA record", r.owner),
                ),
                Some(_) => {}
            },
            Rtype::NS if at_apex => apex_ns = true,
            Rtype::DNAME => {
                dnames.insert(r.owner.to_lowercase().as_wire().to_vec());
            }
            _ => {}
        }
        let info = owners.entry(&r.owner).or_default();
        match r.rtype {
            Rtype::CNAME => match info.cname {
                None => info.cname = Some(i),
                Some(c) if records.get(c).is_some_and(|f| f.rdata != r.rdata) => push(
                    i,
                    Rule::MultipleCnames,
                    format!("{} CNAME: an owner can have only one CNAME record", r.owner),
                ),
                Some(_) => {}
            },
            Rtype::RRSIG | Rtype::NSEC => {}
            _ => {
                if info.other.is_none() {
                    info.other = Some(i);
                }
            }
        }
    }
    for (owner, info) in &owners {
        if let (Some(c), Some(o)) = (info.cname, info.other) {
            let other = records.get(o).map(|r| r.rtype).unwrap_or(Rtype(0));
            push(
                c.max(o),
                Rule::CnameAndOtherData,
                format!("{owner} has a CNAME and other data ({other}); a CNAME owner can't have other records"),
            );
        }
    }
    if !dnames.is_empty() {
        let apex_len = origin.wire_len();
        for (i, r) in records.iter().enumerate() {
            if !r.owner.is_subdomain_of(origin) {
                continue;
            }
            if let Some(d) = dname_above(r.owner.as_wire(), apex_len, &dnames) {
                let dname = Name::from_wire(&d)
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                push(
                    i,
                    Rule::BelowDname,
                    format!(
                        "{} {}: owner is below the DNAME at {dname} (RFC 6672 §2.4)",
                        r.owner, r.rtype
                    ),
                );
            }
        }
    }
    if apex_soa.is_none() {
        problems.push(Problem {
            index: None,
            rule: Rule::NoSoa,
            message: format!("the zone {origin} has no SOA record at its apex"),
        });
    }
    if !apex_ns {
        problems.push(Problem {
            index: None,
            rule: Rule::NoApexNs,
            message: format!("the zone {origin} has no NS records at its apex"),
        });
    }
    if problems.is_empty() {
        return Ok(());
    }
    problems.sort_by_key(|p| p.index);
    problems.truncate(MAX_PROBLEMS);
    Err(problems)
}

/// The lowercased wire form of a DNAME owner strictly above `owner` and at or below the apex.
fn dname_above(owner: &[u8], apex_len: usize, dnames: &HashSet<Vec<u8>>) -> Option<Vec<u8>> {
    let mut buf = [0u8; MAX_NAME_LEN];
    let lower = buf.get_mut(..owner.len())?;
    lower.copy_from_slice(owner);
    lower.make_ascii_lowercase();
    // Walk the proper suffixes on label boundaries, stopping at the apex.
    let mut pos = 0usize;
    loop {
        let label = *lower.get(pos)? as usize;
        if label == 0 {
            return None;
        }
        pos += 1 + label;
        let suffix = lower.get(pos..)?;
        if suffix.len() < apex_len {
            return None;
        }
        if dnames.contains(suffix) {
            return Some(suffix.to_vec());
        }
    }
}

#[derive(Clone, Copy)]
struct RrsetInfo {
    first: usize,
    ttl: u32,
    ttl_differs: bool,
    duplicates: usize,
    size: usize,
}

/// Drops exact duplicate records (RFC 2181 §5) and gives every RRset its last record's TTL (§5.2).
///
/// Last, not first or lowest: Knot's zone loader sets an RRset's TTL to each
/// record's in turn ("TTL mismatch ... TTL set to"), and Knot is the answer
/// reference (docs/decisions/0003).
///
/// The order of the remaining records is kept. Returns one warning per
/// RRset that had duplicates or differing TTLs, naming owner and type.
pub fn normalize(records: Vec<Record>) -> (Vec<Record>, Vec<String>) {
    let mut keep = vec![true; records.len()];
    let mut warnings: Vec<(usize, String)> = Vec::new();
    // RRset of each record, as an index into `sets`.
    let mut set_of: Vec<usize> = Vec::with_capacity(records.len());
    let mut sets: Vec<RrsetInfo> = Vec::new();
    {
        let mut ids: HashMap<(&Name, Rtype, Class), usize, FastState> =
            HashMap::with_capacity_and_hasher(records.len(), FastState::new());
        for (i, r) in records.iter().enumerate() {
            let id = *ids.entry((&r.owner, r.rtype, r.class)).or_insert_with(|| {
                sets.push(RrsetInfo {
                    first: i,
                    ttl: r.ttl,
                    ttl_differs: false,
                    duplicates: 0,
                    size: 0,
                });
                sets.len() - 1
            });
            set_of.push(id);
            if let Some(set) = sets.get_mut(id) {
                set.size += 1;
                if r.ttl != set.ttl {
                    set.ttl_differs = true;
                    set.ttl = r.ttl;
                }
            }
        }
        // Duplicates can only hide in RRsets of two or more records: hash only those.
        let mut seen: HashSet<(usize, &[u8]), FastState> = HashSet::with_hasher(FastState::new());
        for (i, (r, &id)) in records.iter().zip(&set_of).enumerate() {
            let Some(set) = sets.get_mut(id) else {
                continue;
            };
            if set.size > 1 && !seen.insert((id, &r.rdata)) {
                set.duplicates += 1;
                if let Some(k) = keep.get_mut(i) {
                    *k = false;
                }
            }
        }
    }
    for set in &sets {
        let Some(r) = records.get(set.first) else {
            continue;
        };
        if set.duplicates > 0 {
            warnings.push((
                set.first,
                format!(
                    "{} {}: {} duplicate record(s) dropped (RFC 2181 §5)",
                    r.owner, r.rtype, set.duplicates
                ),
            ));
        }
        if set.ttl_differs {
            warnings.push((
                set.first,
                format!(
                    "{} {}: TTLs differ inside the RRset; all set to {} (RFC 2181 §5.2)",
                    r.owner, r.rtype, set.ttl
                ),
            ));
        }
    }
    let out = records
        .into_iter()
        .zip(keep.into_iter().zip(set_of))
        .filter_map(|(mut r, (k, id))| {
            if let Some(set) = sets.get(id) {
                r.ttl = set.ttl;
            }
            k.then_some(r)
        })
        .collect();
    (out, warnings.into_iter().map(|(_, w)| w).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zonecast_proto::rdata::{parse_presentation, Token};

    fn origin() -> Name {
        "example.com.".parse().unwrap()
    }

    fn rec(owner: &str, ttl: u32, rtype: Rtype, rdata: &str) -> Record {
        let o = origin();
        let tokens: Vec<Token<'_>> = rdata
            .split_whitespace()
            .map(|t| Token {
                text: t,
                quoted: false,
            })
            .collect();
        Record {
            owner: Name::from_presentation(owner, Some(&o)).unwrap(),
            rtype,
            class: Class::IN,
            ttl,
            rdata: parse_presentation(rtype, &tokens, &o).unwrap().into(),
        }
    }

    fn base() -> Vec<Record> {
        vec![
            rec("@", 3600, Rtype::SOA, "ns1 host 1 2 3 4 5"),
            rec("@", 3600, Rtype::NS, "ns1"),
            rec("ns1", 3600, Rtype::A, "192.0.2.1"),
        ]
    }

    fn rules(records: &[Record]) -> Vec<(Option<usize>, Rule)> {
        match validate_zone(&origin(), records) {
            Ok(()) => vec![],
            Err(p) => p.iter().map(|p| (p.index, p.rule)).collect(),
        }
    }

    #[test]
    fn a_good_zone_passes() {
        let mut z = base();
        z.push(rec("www", 300, Rtype::CNAME, "ns1"));
        z.push(rec(
            "www",
            300,
            Rtype::RRSIG,
            "CNAME 8 3 300 20240101000000 20230101000000 1 example.com. AQID",
        ));
        z.push(rec("www", 300, Rtype::CNAME, "ns1")); // identical duplicate
        z.push(rec("sub", 300, Rtype::NS, "ns.sub"));
        z.push(rec("ns.sub", 300, Rtype::A, "192.0.2.9")); // glue
        z.push(rec("dn", 300, Rtype::DNAME, "example.net."));
        z.push(rec("@", 3600, Rtype::SOA, "ns1 host 1 2 3 4 5")); // identical SOA duplicate
        assert_eq!(validate_zone(&origin(), &z), Ok(()));
    }

    #[test]
    fn soa_rules() {
        assert_eq!(rules(&base()[1..]), [(None, Rule::NoSoa)]);
        let mut z = base();
        z.push(rec("@", 3600, Rtype::SOA, "ns1 host 2 2 3 4 5"));
        assert_eq!(rules(&z), [(Some(3), Rule::MultipleSoa)]);
        let mut z = base();
        z.push(rec("sub", 3600, Rtype::SOA, "ns1 host 2 2 3 4 5"));
        assert_eq!(rules(&z), [(Some(3), Rule::SoaNotAtApex)]);
    }

    #[test]
    fn apex_ns() {
        let z = [base()[0].clone(), base()[2].clone()];
        assert_eq!(rules(&z), [(None, Rule::NoApexNs)]);
        let mut z = vec![base()[0].clone()];
        z.push(rec("sub", 3600, Rtype::NS, "ns1"));
        assert_eq!(rules(&z), [(None, Rule::NoApexNs)]);
    }

    #[test]
    fn cname_rules() {
        let mut z = base();
        z.push(rec("www", 300, Rtype::A, "192.0.2.2"));
        z.push(rec("WWW", 300, Rtype::CNAME, "ns1"));
        let p = validate_zone(&origin(), &z).unwrap_err();
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].index, p[0].rule), (Some(4), Rule::CnameAndOtherData));
        assert!(
            p[0].message
                .contains("www.example.com. has a CNAME and other data (A)"),
            "{}",
            p[0].message
        );
        let mut z = base();
        z.push(rec("www", 300, Rtype::CNAME, "ns1"));
        z.push(rec("www", 300, Rtype::CNAME, "other"));
        z.push(rec("www", 300, Rtype::NSEC, "next A"));
        assert_eq!(rules(&z), [(Some(4), Rule::MultipleCnames)]);
        // CNAME at the apex clashes with SOA/NS
        let mut z = base();
        z.push(rec("@", 300, Rtype::CNAME, "ns1"));
        assert_eq!(rules(&z), [(Some(3), Rule::CnameAndOtherData)]);
    }

    #[test]
    fn out_of_zone_dname_class_meta_ttl() {
        let mut z = base();
        z.push(rec("www.example.net.", 300, Rtype::A, "192.0.2.2"));
        z.push(rec("dn", 300, Rtype::DNAME, "example.net."));
        z.push(rec("a.b.dn", 300, Rtype::A, "192.0.2.3"));
        z.push(rec("dn2", 300, Rtype::A, "192.0.2.3"));
        let mut ch = rec("ch", 300, Rtype::A, "192.0.2.4");
        ch.class = Class::CH;
        z.push(ch);
        z.push(Record {
            owner: "opt.example.com.".parse().unwrap(),
            rtype: Rtype::OPT,
            class: Class::IN,
            ttl: 0,
            rdata: Box::new([]),
        });
        z.push(rec("big", 0x8000_0000, Rtype::A, "192.0.2.5"));
        z.push(rec("max", MAX_TTL, Rtype::A, "192.0.2.5"));
        assert_eq!(
            rules(&z),
            [
                (Some(3), Rule::OutOfZone),
                (Some(5), Rule::BelowDname),
                (Some(7), Rule::WrongClass),
                (Some(8), Rule::MetaType),
                (Some(9), Rule::TtlOutOfRange),
            ]
        );
        // a DNAME at the apex makes every other name an error
        let mut z = base();
        z.push(rec("@", 300, Rtype::DNAME, "example.net."));
        assert_eq!(rules(&z), [(Some(2), Rule::BelowDname)]);
    }

    #[test]
    fn problems_are_capped_and_sorted() {
        let mut z = base();
        for i in 0..300 {
            z.push(rec(
                &format!("h{i}.example.net."),
                300,
                Rtype::A,
                "192.0.2.1",
            ));
        }
        z.remove(0);
        let p = validate_zone(&origin(), &z).unwrap_err();
        assert_eq!(p.len(), MAX_PROBLEMS);
        assert_eq!(p[0].rule, Rule::NoSoa);
        assert!(p.windows(2).all(|w| w[0].index <= w[1].index));
    }

    #[test]
    fn normalize_drops_duplicates_and_unifies_ttls() {
        let z = vec![
            rec("www", 300, Rtype::A, "192.0.2.1"),
            rec("mail", 60, Rtype::A, "192.0.2.9"),
            rec("WWW", 600, Rtype::A, "192.0.2.2"),
            rec("www", 300, Rtype::A, "192.0.2.1"),
            rec("www", 300, Rtype::AAAA, "::1"),
            rec("www", 900, Rtype::A, "192.0.2.3"),
        ];
        let (out, warnings) = normalize(z);
        assert_eq!(out.len(), 5);
        assert!(
            out.iter()
                .filter(|r| r.rtype == Rtype::A
                    && r.owner.to_string().eq_ignore_ascii_case("www.example.com."))
                .all(|r| r.ttl == 900),
            "the last record's TTL"
        );
        assert_eq!(out[1].ttl, 60);
        assert_eq!(out[2].rdata[..], [192, 0, 2, 2]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings
            .iter()
            .any(|w| w.contains("www.example.com. A: 1 duplicate")));
        assert!(warnings
            .iter()
            .any(|w| w.contains("www.example.com. A: TTLs differ") && w.contains("900")));
        let (same, none) = normalize(base());
        assert_eq!(same.len(), 3);
        assert!(none.is_empty());
    }

    #[test]
    fn large_zone_is_fast() {
        let n = if cfg!(debug_assertions) {
            100_000
        } else {
            1_000_000
        };
        let mut z = base();
        let o = origin();
        for i in 0..n {
            z.push(Record {
                owner: o.prepend_label(format!("h{i}").as_bytes()).unwrap(),
                rtype: Rtype::A,
                class: Class::IN,
                ttl: 300,
                rdata: Box::new((i as u32).to_be_bytes()),
            });
        }
        z.push(rec("dn", 300, Rtype::DNAME, "example.net."));
        let t = std::time::Instant::now();
        assert_eq!(validate_zone(&o, &z), Ok(()));
        let (out, w) = normalize(z);
        assert_eq!(out.len(), n + 4);
        assert!(w.is_empty());
        assert!(t.elapsed().as_secs() < 10, "took {:?}", t.elapsed());
    }
}
