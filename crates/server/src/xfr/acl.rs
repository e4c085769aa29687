//! Transfer ACLs: who may take a zone by AXFR or IXFR.
//!
//! A zone's `allow_transfer` list holds addresses (`192.0.2.1`, `2001:db8::1`),
//! networks (`192.0.2.0/24`, `2001:db8::/32`) and TSIG keys (`key:NAME`).
//! A transfer is allowed when the list is not empty and:
//! - the peer's address is in one of the listed networks, if any are listed;
//! - the request is signed (and verified) with one of the listed keys, if any
//!   are listed.
//!
//! So listing both an address and a key requires both, as the contract says;
//! an empty list refuses everyone (the default). An IPv4-mapped IPv6 peer
//! (`::ffff:192.0.2.1`) matches IPv4 entries.

use crate::net::Network;
use std::net::IpAddr;
use zonecast_proto::Name;

/// A zone's transfer ACL, parsed from its `allow_transfer` entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acl {
    networks: Vec<Network>,
    keys: Vec<Name>,
}

/// Why an ACL refused a transfer (for the log line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denied {
    /// The zone's `allow_transfer` is empty: nobody may transfer it.
    Empty,
    /// The peer's address is in none of the listed networks.
    Address,
    /// The ACL lists keys and the request was not signed.
    Unsigned,
    /// The request was signed with a key the ACL does not list.
    Key(Name),
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denied::Empty => write!(f, "allow_transfer is empty"),
            Denied::Address => write!(f, "address not in allow_transfer"),
            Denied::Unsigned => write!(
                f,
                "allow_transfer requires a TSIG key and the request is unsigned"
            ),
            Denied::Key(k) => write!(f, "key {k} is not in allow_transfer"),
        }
    }
}

impl Acl {
    /// Parses `allow_transfer` entries; the error names the entry at fault.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Acl, String> {
        let mut acl = Acl::default();
        for (i, e) in entries.iter().enumerate() {
            let e = e.as_ref();
            if let Some(k) = e.strip_prefix("key:") {
                let name = Name::from_presentation(k, Some(&Name::root()))
                    .map_err(|err| format!("allow_transfer[{i}]: key name '{k}': {err}"))?;
                acl.keys.push(name.to_lowercase());
            } else {
                let n = Network::parse(e).ok_or_else(|| {
                    format!("allow_transfer[{i}]: '{e}' is not an address, ADDR/PREFIX network or key:NAME")
                })?;
                acl.networks.push(n);
            }
        }
        Ok(acl)
    }

    /// Whether `peer`, having signed with `key` (verified), may transfer.
    pub fn check(&self, peer: IpAddr, key: Option<&Name>) -> Result<(), Denied> {
        if self.networks.is_empty() && self.keys.is_empty() {
            return Err(Denied::Empty);
        }
        if !self.networks.is_empty() && !self.networks.iter().any(|n| n.contains(peer)) {
            return Err(Denied::Address);
        }
        if !self.keys.is_empty() {
            match key {
                None => return Err(Denied::Unsigned),
                Some(k) if !self.keys.contains(&k.to_lowercase()) => {
                    return Err(Denied::Key(k.clone()))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Whether the ACL names any TSIG key.
    pub fn wants_key(&self) -> bool {
        !self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn key(s: &str) -> Name {
        Name::from_presentation(s, None).unwrap()
    }

    #[test]
    fn empty_refuses_everyone() {
        let acl = Acl::parse::<&str>(&[]).unwrap();
        assert_eq!(acl.check(ip("127.0.0.1"), None), Err(Denied::Empty));
        assert_eq!(
            acl.check(ip("127.0.0.1"), Some(&key("k."))),
            Err(Denied::Empty)
        );
    }

    #[test]
    fn networks_and_addresses() {
        let acl = Acl::parse(&["192.0.2.0/24", "2001:db8::/33", "198.51.100.7"]).unwrap();
        assert!(acl.check(ip("192.0.2.200"), None).is_ok());
        assert!(acl.check(ip("::ffff:192.0.2.9"), None).is_ok(), "v4-mapped");
        assert_eq!(acl.check(ip("192.0.3.1"), None), Err(Denied::Address));
        assert!(acl.check(ip("2001:db8:7fff::1"), None).is_ok());
        assert_eq!(
            acl.check(ip("2001:db8:8000::1"), None),
            Err(Denied::Address),
            "bit 33"
        );
        assert!(acl.check(ip("198.51.100.7"), None).is_ok());
        assert_eq!(acl.check(ip("198.51.100.8"), None), Err(Denied::Address));
        let any = Acl::parse(&["0.0.0.0/0"]).unwrap();
        assert!(any.check(ip("203.0.113.1"), None).is_ok());
        assert_eq!(any.check(ip("2001:db8::1"), None), Err(Denied::Address));
    }

    #[test]
    fn keys_alone_and_with_addresses() {
        let acl = Acl::parse(&["key:Transfer-Key"]).unwrap();
        assert!(acl
            .check(ip("203.0.113.1"), Some(&key("transfer-key.")))
            .is_ok());
        assert_eq!(acl.check(ip("203.0.113.1"), None), Err(Denied::Unsigned));
        assert_eq!(
            acl.check(ip("203.0.113.1"), Some(&key("other."))),
            Err(Denied::Key(key("other.")))
        );
        let both = Acl::parse(&["192.0.2.1", "key:k1"]).unwrap();
        assert!(both.check(ip("192.0.2.1"), Some(&key("k1."))).is_ok());
        assert_eq!(both.check(ip("192.0.2.1"), None), Err(Denied::Unsigned));
        assert_eq!(
            both.check(ip("192.0.2.2"), Some(&key("k1."))),
            Err(Denied::Address)
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let e = Acl::parse(&["192.0.2.0/24", "192.0.2.0/33"]).unwrap_err();
        assert!(e.starts_with("allow_transfer[1]"), "{e}");
        assert!(Acl::parse(&["nonsense"]).is_err());
        assert!(Acl::parse(&["::/129"]).is_err());
    }
}
