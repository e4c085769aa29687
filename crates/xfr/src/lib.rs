//! Talking to other nameservers.
//!
//! - [`notify`]: NOTIFY out (RFC 1996), sent after each change of a zone to
//!   its `notify` targets, retried until acknowledged, with the outcome kept
//!   per target for the zone's status.
//!
//! Not implemented yet: the secondary role (SOA refresh machine, AXFR/IXFR
//! in, RFC 1034 §4.3.5, RFC 1995, RFC 5936), TSIG-signed NOTIFY.

#![warn(missing_docs)]

pub mod notify;
