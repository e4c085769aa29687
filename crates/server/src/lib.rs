//! DNS listeners and the query pipeline.
//!
//! UDP is served by dedicated threads, one `SO_REUSEPORT` socket each,
//! reading and writing in batches (`recvmmsg`/`sendmmsg`) with buffers
//! allocated once per thread; TCP (RFC 7766) runs on tokio. Both call
//! [`pipeline::respond`], which reads the current [`ZoneSet`] snapshot
//! without locking.
//!
//! Not implemented yet: zone transfers out (AXFR/IXFR are answered NOTAUTH
//! over TCP, NOTIMP for AXFR over UDP), NOTIFY and UPDATE (NOTIMP),
//! response rate limiting, DNS cookies.

#![warn(missing_docs)]

pub mod pipeline;
pub mod tcp;
pub mod udp;

pub use zonecast_zone::SharedZones;

/// Errors of the listeners.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A socket could not be set up.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Largest EDNS UDP payload zonecast sends (the DNS Flag Day 2020 value, as Knot and NSD).
pub const MAX_UDP_PAYLOAD: u16 = 1232;
