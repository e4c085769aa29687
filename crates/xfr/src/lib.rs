//! Talking to other nameservers.
//!
//! - [`notify`]: NOTIFY out (RFC 1996), sent after each change of a zone to
//!   its `notify` targets, retried until acknowledged, with the outcome kept
//!   per target for the zone's status.
//! - [`client`]: the SOA query and AXFR/IXFR in (RFC 5936, RFC 1995), TSIG
//!   signed and verified (RFC 8945).
//! - [`response`]: reading a transfer response, sans I/O, with every check
//!   on what a primary sends.
//! - [`secondary`]: the refresh machine of secondary zones (RFC 1034
//!   §4.3.5): SOA refresh, retry and expire, NOTIFY in, IXFR with AXFR
//!   fallback, persisted timers.
//!
//! Limitations: NOTIFY out over UDP only; an expired zone answers SERVFAIL
//! on the control plane running the machine only (see [`secondary`]).

#![warn(missing_docs)]

pub mod client;
pub mod notify;
pub mod response;
pub mod secondary;
