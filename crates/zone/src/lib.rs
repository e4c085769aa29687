//! Zones in memory: immutable, versioned snapshots that a change turns into a
//! new version sharing everything it did not touch, answer lookup writing
//! straight into a response, and zone validation.
//!
//! A [`Zone`] never changes; [`Zone::apply`] makes the next version from a
//! change's removed and added records at a cost that follows the change,
//! not the zone ([`trie`], [`node`]). Each zone is published on its own
//! ([`Zones`]), so readers never block and never see half a change, and
//! replaced versions are freed away from the query threads ([`reclaim`]).
//!
//! Limitations: no ordered index (exports sort; NSEC chains would need
//! one); no DNSSEC in answers; an RRset holds at most
//! [`node::MAX_RRSET_RECORDS`] records and [`node::MAX_RRSET_OCTETS`] octets
//! (what fits in one message); the configurable size limits of a node
//! (records per zone and per RRset, zones) are [`limits::Limits`]. Lookup follows RFC 1034 §4.3.2 with RFC 2181,
//! RFC 4592 (wildcards), RFC 6672 (DNAME), RFC 2308 (negative answers) and
//! RFC 8482 (minimal ANY).

#![warn(missing_docs)]

pub mod answer;
pub mod limits;
pub mod node;
pub mod reclaim;
pub mod snapshot;
pub mod trie;
pub mod validate;
pub mod zoneset;

pub use answer::Outcome;
pub use limits::Limits;
pub use node::{Node, RRset};
pub use snapshot::{Zone, ZoneBuilder, ZoneError};
pub use zoneset::{SharedZones, ZoneSet, ZoneSlot, Zones};

#[cfg(test)]
mod incremental_tests;
#[cfg(test)]
mod tests;
