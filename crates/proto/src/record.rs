//! A resource record with its rdata in canonical uncompressed wire form.

use crate::name::Name;
use crate::types::{Class, Rtype};

/// One resource record (RFC 1035 §3.2.1).
///
/// `rdata` is always uncompressed wire form, so two records are the same
/// record exactly when owner (case-insensitively), type, class and rdata
/// octets agree; the TTL is not part of identity (RFC 2181 §5.2).
#[derive(Clone, Debug)]
pub struct Record {
    /// Owner name.
    pub owner: Name,
    /// Record type.
    pub rtype: Rtype,
    /// Record class (zonecast serves IN only).
    pub class: Class,
    /// Time to live in seconds.
    pub ttl: u32,
    /// Uncompressed wire rdata.
    pub rdata: Box<[u8]>,
}

impl Record {
    /// True when both are the same record (TTL ignored); rdata names compare case-insensitively
    /// only where RFC 4034 §6.2 lowers them, so this compares rdata octets exactly.
    pub fn same_data(&self, other: &Record) -> bool {
        self.owner == other.owner
            && self.rtype == other.rtype
            && self.class == other.class
            && self.rdata == other.rdata
    }
}

impl PartialEq for Record {
    /// Same record and same TTL.
    fn eq(&self, other: &Self) -> bool {
        self.same_data(other) && self.ttl == other.ttl
    }
}
