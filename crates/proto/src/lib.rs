//! DNS wire format for zonecast: names, record types, rdata codecs, messages and EDNS.
//!
//! Sans-IO: nothing here touches sockets or files. Implements
//! RFC 1035 §3–§4 (names, RRs, messages, compression), RFC 3597 (unknown types),
//! RFC 6891 (EDNS0 OPT), RFC 8945 (TSIG, in [`tsig`]) and the rdata formats
//! listed in [`rdata`].
//!
//! Not implemented: DNSSEC signing/validation, EDNS options other than what
//! is echoed (cookies, client subnet).

#![warn(missing_docs)]

pub mod error;
pub mod message;
pub mod name;
pub mod query;
pub mod rdata;
pub mod record;
pub mod tsig;
pub mod types;
pub mod writer;

pub use error::{Error, Result};
pub use name::Name;
pub use record::Record;
pub use types::{Class, Rtype};
