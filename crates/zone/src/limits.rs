//! Size limits of a node: records per zone, records per RRset, zones.
//!
//! One [`Limits`] value, set from the command line (`--max-zone-records`,
//! `--max-rrset-records`, `--max-zones`) and handed to every way records
//! come in: the API and zone files (the write path), transfers in
//! (secondary zones) and replication (edges). What a limit refuses is
//! refused whole: nothing of the change is applied and the data served
//! before stays served.
//!
//! A limit stops growth past it. Data already held over a limit that was
//! lowered since stays served and may shrink: a change is refused only
//! when it leaves a zone or an RRset over its limit *and* bigger than it
//! was. Whole contents (a zone file, a full transfer, a zone copied to an
//! edge) must fit.
//!
//! Every refusal is logged ([`refused`]: a warning with zone, limit,
//! value and maximum) and counted process-wide ([`refusals`]), which
//! `/metrics` shows as `zonecast_limit_refusals_total{limit="..."}`
//! ([`metrics_text`]).
//!
//! A transfer in is also bounded in octets (`--xfr-max-bytes`,
//! [`Limit::TransferBytes`], checked by the transfer client as messages
//! arrive), so a primary cannot make a secondary buffer without bound.
//!
//! Besides these, an RRset can never hold more than [`MAX_RRSET_RECORDS`]
//! records or [`MAX_RRSET_OCTETS`] octets of rdata (it must fit in one
//! 64 KiB message): that is the format's bound, not a policy, and
//! `--max-rrset-records` cannot go above it.
//!
//! Defaults and why: docs/decisions/0016-size-limits.md.

pub use crate::node::{MAX_RRSET_OCTETS, MAX_RRSET_RECORDS};
use crate::snapshot::Zone;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use zonecast_proto::{Name, Record, Rtype};

/// The size limits of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most records in one zone, SOA included (`--max-zone-records`).
    pub max_zone_records: usize,
    /// Most records in one RRset (`--max-rrset-records`), at most [`MAX_RRSET_RECORDS`].
    pub max_rrset_records: usize,
    /// Most zones on one node (`--max-zones`).
    pub max_zones: usize,
}

impl Limits {
    /// Default of [`Limits::max_zone_records`]: 10 million (the 1M-name benchmark zone has 1.3M).
    pub const DEFAULT_MAX_ZONE_RECORDS: usize = 10_000_000;
    /// Default of [`Limits::max_rrset_records`]: 1,000 (BIND's 100 broke real zones).
    pub const DEFAULT_MAX_RRSET_RECORDS: usize = 1_000;
    /// Default of [`Limits::max_zones`]: 1 million.
    pub const DEFAULT_MAX_ZONES: usize = 1_000_000;

    /// The limits with every value at least 1 and the RRset limit at most [`MAX_RRSET_RECORDS`].
    pub fn clamped(self) -> Limits {
        Limits {
            max_zone_records: self.max_zone_records.max(1),
            max_rrset_records: self.max_rrset_records.clamp(1, MAX_RRSET_RECORDS),
            max_zones: self.max_zones.max(1),
        }
    }

    /// A zone of `records` records (SOA included) as whole content.
    pub fn zone_records(&self, zone: &Name, records: usize) -> Result<(), Exceeded> {
        if records <= self.max_zone_records {
            return Ok(());
        }
        Err(Exceeded {
            limit: Limit::ZoneRecords,
            zone: zone.to_lowercase().to_string(),
            what: format!("zone {}", zone.to_lowercase()),
            rrset: None,
            value: records,
            max: self.max_zone_records,
        })
    }

    /// A zone growing from `before` to `after` records: refused only when it grows past the limit.
    pub fn zone_growth(&self, zone: &Name, before: usize, after: usize) -> Result<(), Exceeded> {
        if after <= before {
            return Ok(());
        }
        self.zone_records(zone, after)
    }

    /// An RRset of `records` records as whole content.
    pub fn rrset_records(
        &self,
        zone: &Name,
        owner: &Name,
        rtype: Rtype,
        records: usize,
    ) -> Result<(), Exceeded> {
        if records <= self.max_rrset_records {
            return Ok(());
        }
        Err(Exceeded {
            limit: Limit::RrsetRecords,
            zone: zone.to_lowercase().to_string(),
            what: format!("RRset {} {rtype}", owner.to_lowercase()),
            rrset: Some((owner.to_lowercase(), rtype)),
            value: records,
            max: self.max_rrset_records,
        })
    }

    /// An RRset growing from `before` to `after` records: refused only when it grows past the limit.
    pub fn rrset_growth(
        &self,
        zone: &Name,
        owner: &Name,
        rtype: Rtype,
        before: usize,
        after: usize,
    ) -> Result<(), Exceeded> {
        if after <= before {
            return Ok(());
        }
        self.rrset_records(zone, owner, rtype, after)
    }

    /// A node about to hold `zones` zones (the new one included).
    pub fn zones(&self, zone: &Name, zones: usize) -> Result<(), Exceeded> {
        if zones <= self.max_zones {
            return Ok(());
        }
        Err(Exceeded {
            limit: Limit::Zones,
            zone: zone.to_lowercase().to_string(),
            what: format!(
                "zone {} would be zone number {zones} of this node",
                zone.to_lowercase()
            ),
            rrset: None,
            value: zones,
            max: self.max_zones,
        })
    }

    /// Whole content (a zone file, a full transfer, a copy): zone size and
    /// every RRset. Records are counted as given: duplicates must be gone.
    ///
    /// The error comes with the index in `records` of the first record over
    /// the limit (for a zone file, the line to name).
    pub fn check_records(&self, zone: &Name, records: &[Record]) -> Result<(), (Exceeded, usize)> {
        self.zone_records(zone, records.len())
            .map_err(|e| (e, self.max_zone_records))?;
        if records.len() <= self.max_rrset_records {
            return Ok(());
        }
        let mut sets: HashMap<(&Name, Rtype), usize> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            let n = sets.entry((&r.owner, r.rtype)).or_insert(0);
            *n += 1;
            if *n > self.max_rrset_records {
                // Count the whole set for the message.
                let total = records
                    .iter()
                    .filter(|x| x.rtype == r.rtype && x.owner == r.owner)
                    .count();
                let e = self
                    .rrset_records(zone, &r.owner, r.rtype, total)
                    .expect_err("over the limit");
                return Err((e, i));
            }
        }
        Ok(())
    }

    /// A change that made `after` from `before` (`None`: the zone had no
    /// records) by adding `added`: refused when the zone, or an RRset it
    /// added to, grew past its limit.
    pub fn check_change(
        &self,
        before: Option<&Zone>,
        after: &Zone,
        added: &[Record],
    ) -> Result<(), Exceeded> {
        let zone = after.apex();
        self.zone_growth(
            zone,
            before.map_or(0, Zone::record_count),
            after.record_count(),
        )?;
        let count = |z: Option<&Zone>, owner: &Name, rtype: Rtype| {
            z.and_then(|z| z.node_named(owner))
                .and_then(|n| n.rrset(rtype))
                .map_or(0, |s| s.len())
        };
        let mut seen: Vec<(&Name, Rtype)> = Vec::new();
        for r in added {
            if seen.iter().any(|(o, t)| *t == r.rtype && **o == r.owner) {
                continue;
            }
            seen.push((&r.owner, r.rtype));
            let now = count(Some(after), &r.owner, r.rtype);
            if now > self.max_rrset_records {
                let was = count(before, &r.owner, r.rtype);
                self.rrset_growth(zone, &r.owner, r.rtype, was, now)?;
            }
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_zone_records: Limits::DEFAULT_MAX_ZONE_RECORDS,
            max_rrset_records: Limits::DEFAULT_MAX_RRSET_RECORDS,
            max_zones: Limits::DEFAULT_MAX_ZONES,
        }
    }
}

/// Which limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Records per zone.
    ZoneRecords,
    /// Records per RRset.
    RrsetRecords,
    /// Zones per node.
    Zones,
    /// Octets of one transfer in (`--xfr-max-bytes`, secondary zones).
    TransferBytes,
}

impl Limit {
    /// Every limit, in the order of [`refusals`].
    pub const ALL: [Limit; 4] = [
        Limit::ZoneRecords,
        Limit::RrsetRecords,
        Limit::Zones,
        Limit::TransferBytes,
    ];

    /// The `limit` label of the metric and the log: `zone_records`,
    /// `rrset_records`, `zones`, `transfer_bytes`.
    pub fn label(self) -> &'static str {
        match self {
            Limit::ZoneRecords => "zone_records",
            Limit::RrsetRecords => "rrset_records",
            Limit::Zones => "zones",
            Limit::TransferBytes => "transfer_bytes",
        }
    }

    /// The command-line flag that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            Limit::ZoneRecords => "--max-zone-records",
            Limit::RrsetRecords => "--max-rrset-records",
            Limit::Zones => "--max-zones",
            Limit::TransferBytes => "--xfr-max-bytes",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Limit::ZoneRecords | Limit::RrsetRecords => "records",
            Limit::Zones => "zones",
            Limit::TransferBytes => "octets",
        }
    }

    fn index(self) -> usize {
        match self {
            Limit::ZoneRecords => 0,
            Limit::RrsetRecords => 1,
            Limit::Zones => 2,
            Limit::TransferBytes => 3,
        }
    }
}

/// A limit that a change would cross.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exceeded {
    /// Which limit.
    pub limit: Limit,
    /// The zone concerned (lowercase, absolute).
    pub zone: String,
    /// What is too large, e.g. `RRset www.example.com. A`.
    pub what: String,
    /// The RRset, for the RRset limit: owner (lowercase) and type.
    pub rrset: Option<(Name, Rtype)>,
    /// How large it would be.
    pub value: usize,
    /// The limit.
    pub max: usize,
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.limit {
            Limit::Zones => write!(
                f,
                "{}; the limit is {} zones per node ({})",
                self.what,
                self.max,
                self.limit.flag()
            ),
            _ => write!(
                f,
                "{} would hold {} {}; the limit is {} ({})",
                self.what,
                self.value,
                self.limit.unit(),
                self.max,
                self.limit.flag()
            ),
        }
    }
}

impl std::error::Error for Exceeded {}

static REFUSALS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

/// Logs and counts a refusal; `way` says how the records came
/// (`api`, `zone file`, `transfer`, `replication`).
///
/// The log line is a warning: `size limit reached; refused: <what>` with
/// fields `zone`, `limit` (the metric's label), `value`, `max` and `way`.
pub fn refused(e: &Exceeded, way: &str) {
    REFUSALS[e.limit.index()].fetch_add(1, Ordering::Relaxed);
    tracing::warn!(
        zone = %e.zone,
        limit = %e.limit.label(),
        value = e.value,
        max = e.max,
        way,
        "size limit reached; refused: {e}"
    );
}

/// Refusals counted so far in this process, per limit (order of [`Limit::ALL`]).
pub fn refusals() -> [(Limit, u64); 4] {
    Limit::ALL.map(|l| (l, REFUSALS[l.index()].load(Ordering::Relaxed)))
}

/// The Prometheus text of the refusal counter, `zonecast_limit_refusals_total{limit="..."}`.
pub fn metrics_text() -> String {
    let mut out = String::from(
        "# HELP zonecast_limit_refusals_total Changes, transfers, copies and zones refused by a size limit.\n\
         # TYPE zonecast_limit_refusals_total counter\n",
    );
    for (l, n) in refusals() {
        out.push_str(&format!(
            "zonecast_limit_refusals_total{{limit=\"{}\"}} {n}\n",
            l.label()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zonecast_proto::Class;

    fn name(s: &str) -> Name {
        s.parse().unwrap()
    }

    fn a(owner: &str, last: u8) -> Record {
        Record {
            owner: name(owner),
            rtype: Rtype::A,
            class: Class::IN,
            ttl: 300,
            rdata: vec![192, 0, 2, last].into(),
        }
    }

    fn small() -> Limits {
        Limits {
            max_zone_records: 10,
            max_rrset_records: 3,
            max_zones: 2,
        }
    }

    fn soa_ns(apex: &str) -> Vec<Record> {
        let soa = Record {
            owner: name(apex),
            rtype: Rtype::SOA,
            class: Class::IN,
            ttl: 300,
            rdata: [
                &b"\x02ns\x00\x02hm\x00"[..],
                &1u32.to_be_bytes(),
                &[0; 16][..],
            ]
            .concat()
            .into(),
        };
        let ns = Record {
            owner: name(apex),
            rtype: Rtype::NS,
            class: Class::IN,
            ttl: 300,
            rdata: b"\x02ns\x00".to_vec().into(),
        };
        vec![soa, ns]
    }

    #[test]
    fn defaults_hold_the_benchmarks_and_clamp() {
        let d = Limits::default();
        assert!(d.zone_records(&name("big."), 1_300_000).is_ok());
        assert!(d.zones(&name("z."), 10_000).is_ok());
        assert!(d.max_rrset_records <= MAX_RRSET_RECORDS);
        let c = Limits {
            max_zone_records: 0,
            max_rrset_records: 1_000_000,
            max_zones: 0,
        }
        .clamped();
        assert_eq!(
            (c.max_zone_records, c.max_rrset_records, c.max_zones),
            (1, MAX_RRSET_RECORDS, 1)
        );
    }

    #[test]
    fn zone_and_rrset_limits_on_whole_content() {
        let l = small();
        let z = name("example.");
        let mut recs = soa_ns("example.");
        recs.extend((1..=3).map(|i| a("www.example.", i)));
        assert!(l.check_records(&z, &recs).is_ok());
        recs.push(a("www.example.", 4));
        let (e, at) = l.check_records(&z, &recs).unwrap_err();
        assert_eq!(e.limit, Limit::RrsetRecords);
        assert_eq!((e.value, e.max, at), (4, 3, 5));
        assert_eq!(
            e.to_string(),
            "RRset www.example. A would hold 4 records; the limit is 3 (--max-rrset-records)"
        );
        let mut many = soa_ns("example.");
        many.extend((0..9).map(|i| a(&format!("h{i}.example."), 1)));
        let (e, at) = l.check_records(&z, &many).unwrap_err();
        assert_eq!(
            (e.limit, e.value, e.max, at),
            (Limit::ZoneRecords, 11, 10, 10)
        );
        assert!(e.to_string().contains("--max-zone-records"), "{e}");
    }

    #[test]
    fn growth_past_a_limit_is_refused_shrinking_is_not() {
        let l = small();
        let z = name("example.");
        assert!(l.zone_growth(&z, 12, 11).is_ok());
        assert!(l.zone_growth(&z, 12, 12).is_ok());
        assert_eq!(
            l.zone_growth(&z, 10, 11).unwrap_err().limit,
            Limit::ZoneRecords
        );
        let w = name("www.example.");
        assert!(l.rrset_growth(&z, &w, Rtype::A, 5, 4).is_ok());
        assert!(l.rrset_growth(&z, &w, Rtype::A, 2, 4).is_err());
        assert!(l.zones(&z, 2).is_ok());
        let e = l.zones(&z, 3).unwrap_err();
        assert_eq!(e.limit, Limit::Zones);
        assert!(e.to_string().contains("2 zones per node"), "{e}");
    }

    #[test]
    fn changes_are_judged_on_the_versions() {
        let l = small();
        let mut recs = soa_ns("example.");
        recs.extend((1..=3).map(|i| a("www.example.", i)));
        let v1 = Zone::build(&name("example."), &recs).unwrap();
        let add = vec![a("www.example.", 4)];
        let v2 = v1.apply(&[], &add).unwrap();
        let e = l.check_change(Some(&v1), &v2, &add).unwrap_err();
        assert_eq!((e.limit, e.value), (Limit::RrsetRecords, 4));
        // Other RRsets may change while one is over a lowered limit.
        let other = vec![a("mail.example.", 1)];
        let v3 = v2.apply(&[], &other).unwrap();
        assert!(l.check_change(Some(&v2), &v3, &other).is_ok());
        // The zone's own limit.
        let more: Vec<Record> = (0..6).map(|i| a(&format!("h{i}.example."), 1)).collect();
        let v4 = v3.apply(&[], &more).unwrap();
        assert_eq!(
            l.check_change(Some(&v3), &v4, &more).unwrap_err().limit,
            Limit::ZoneRecords
        );
        // A first version within both limits.
        assert!(l.check_change(None, &v1, &recs).is_ok());
    }

    #[test]
    fn refusals_are_counted_and_shown() {
        let before = refusals()[2].1;
        let e = small().zones(&name("x."), 3).unwrap_err();
        refused(&e, "api");
        assert!(refusals()[2].1 > before);
        let text = metrics_text();
        assert!(text.contains("# TYPE zonecast_limit_refusals_total counter"));
        for l in Limit::ALL {
            assert!(
                text.contains(&format!(
                    "zonecast_limit_refusals_total{{limit=\"{}\"}}",
                    l.label()
                )),
                "{text}"
            );
        }
    }
}
