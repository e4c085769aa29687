//! The size-limit flags of `serve` and `edge` (docs/robustness.md, "Size limits").

use zonecast_control::Limits;

/// Records per zone, records per RRset, zones per node; shared by `serve` and `edge`.
#[derive(clap::Args, Clone, Debug)]
pub struct LimitsArgs {
    /// Most records in one zone, SOA included; a change, zone file, transfer
    /// or replicated copy over it is refused and the zone kept as it was.
    #[arg(long, default_value_t = Limits::DEFAULT_MAX_ZONE_RECORDS as u64,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub max_zone_records: u64,
    /// Most records in one RRset (at most 4096, what fits in one message).
    #[arg(long, default_value_t = Limits::DEFAULT_MAX_RRSET_RECORDS as u64,
        value_parser = clap::value_parser!(u64).range(1..=zonecast_control::limits::MAX_RRSET_RECORDS as u64))]
    pub max_rrset_records: u64,
    /// Most zones on this node; creating one more is refused.
    #[arg(long, default_value_t = Limits::DEFAULT_MAX_ZONES as u64,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub max_zones: u64,
}

impl LimitsArgs {
    /// The limits as the crates take them.
    pub fn limits(&self) -> Limits {
        let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        Limits {
            max_zone_records: size(self.max_zone_records),
            max_rrset_records: size(self.max_rrset_records),
            max_zones: size(self.max_zones),
        }
        .clamped()
    }
}
