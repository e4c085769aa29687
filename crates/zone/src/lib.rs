//! Zones in memory: immutable snapshots built once per change, answer lookup
//! writing straight into a response, and zone validation.
//!
//! A [`Zone`] is built from a validated record set and never changes; a new
//! version replaces it whole (see [`ZoneSet`]), so readers never block and
//! never see half a change. Lookup follows RFC 1034 §4.3.2 with RFC 2181,
//! RFC 4592 (wildcards), RFC 6672 (DNAME), RFC 2308 (negative answers) and
//! RFC 8482 (minimal ANY).

#![warn(missing_docs)]

pub mod answer;
pub mod snapshot;
pub mod validate;
pub mod zoneset;

pub use answer::Outcome;
pub use snapshot::{Zone, ZoneError};
pub use zoneset::{SharedZones, ZoneSet};

#[cfg(test)]
mod tests;
