//! DNS listeners and the query pipeline.
//!
//! UDP is served by dedicated threads, one `SO_REUSEPORT` socket each,
//! reading and writing in batches (`recvmmsg`/`sendmmsg`) with buffers
//! allocated once per thread; TCP (RFC 7766) runs on tokio. Both call
//! [`pipeline::respond`], which reads the current [`ZoneSet`] snapshot
//! without locking.
//!
//! NOTIFY (RFC 1996) goes to the node's [`NotifySink`] when it has one (an
//! edge relays it to the control plane); without one it is answered NOTIMP.
//!
//! Zone transfers out (AXFR, IXFR over TCP, module [`xfr`]) are served when
//! the node gives its listeners a [`xfr::Transfers`]; otherwise they are
//! answered NOTAUTH (NOTIMP for AXFR over UDP).
//!
//! UDP answers can be rate limited ([`rrl`], off by default).
//!
//! Not implemented: UPDATE (NOTIMP), DNS cookies.

#![warn(missing_docs)]

pub mod cache;
pub mod net;
pub mod notify_log;
pub mod pipeline;
pub mod rrl;
mod signed;
mod sockopt;
pub mod tcp;
pub mod udp;
pub mod xfr;

pub use tcp::{TcpLimits, TcpStats};
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

/// How a NOTIFY is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyVerdict {
    /// NOERROR with AA (RFC 1996 §4.7): the NOTIFY was taken.
    Accepted,
    /// REFUSED: not from an allowed peer, or for a zone that takes no NOTIFY.
    Refused,
    /// NOTAUTH: for a zone this node does not serve.
    NotAuth,
}

/// Takes the NOTIFY messages a listener receives.
///
/// Called on the listener's thread (a UDP worker): it must not block;
/// queue the work elsewhere.
pub trait NotifySink: Send + Sync {
    /// A NOTIFY for `zone` (lowercase) from `peer`; `served` says whether
    /// this node serves the zone; `key` names the TSIG key the NOTIFY was
    /// signed and verified with (`None`: unsigned); `serial` is the serial
    /// of the zone's SOA in the answer section, when the primary put one
    /// there (RFC 1996 §3.7: a hint, trusted no further than the sender).
    fn notify(
        &self,
        zone: &zonecast_proto::Name,
        served: bool,
        peer: std::net::SocketAddr,
        key: Option<&zonecast_proto::Name>,
        serial: Option<u32>,
    ) -> NotifyVerdict;
}

/// Optional services of the listeners; the default has none.
#[derive(Clone, Default)]
pub struct Service {
    /// Where NOTIFY messages go; `None` answers them NOTIMP.
    pub notify: Option<std::sync::Arc<dyn NotifySink>>,
    /// Zone transfers out over TCP; `None` answers them NOTAUTH.
    pub transfers: Option<xfr::Transfers>,
    /// TSIG keys for signed queries (RFC 8945); `None`: every key is unknown (BADKEY).
    pub keys: Option<std::sync::Arc<dyn KeyFinder>>,
    /// Response rate limiting of UDP answers; `None`: off.
    pub rrl: Option<std::sync::Arc<rrl::Rrl>>,
    /// What the UDP workers count (shared by every worker given this service).
    pub udp: std::sync::Arc<udp::UdpStats>,
}

/// Finds TSIG keys for the listeners.
///
/// Called on a listener's thread for each signed message: answer from
/// memory (a cache), reading a store only now and then.
pub trait KeyFinder: Send + Sync {
    /// The key named as in the message's TSIG record (any case); `None` when unknown.
    fn key(&self, name: &zonecast_proto::Name) -> Option<zonecast_proto::tsig::Key>;
}

/// Largest EDNS UDP payload zonecast sends (the DNS Flag Day 2020 value, as Knot and NSD).
pub const MAX_UDP_PAYLOAD: u16 = 1232;
