//! Networks as ACLs and exemption lists write them: `ADDR` or `ADDR/PREFIX`.
//!
//! An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) matches IPv4 networks,
//! as a dual-stack socket reports IPv4 peers that way.

use std::net::IpAddr;

/// One network: an address and a prefix length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `ADDR` (a host) or `ADDR/PREFIX`; `None` when it is neither.
    pub fn parse(s: &str) -> Option<Network> {
        let (addr, prefix) = match s.split_once('/') {
            None => {
                let addr: IpAddr = s.parse().ok()?;
                let full = if addr.is_ipv4() { 32 } else { 128 };
                (addr, full)
            }
            Some((a, p)) => (a.parse().ok()?, p.parse().ok()?),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Network { addr, prefix })
    }

    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, unmapped(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), self.prefix),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), self.prefix),
            _ => false,
        }
    }
}

/// `ip`, with an IPv4-mapped IPv6 address turned into the IPv4 address.
pub fn unmapped(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// Whether the first `bits` bits of `a` and `b` are equal.
fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    if a.get(..full) != b.get(..full) {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    match (a.get(full), b.get(full)) {
        (Some(x), Some(y)) => x & mask == y & mask,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_contain() {
        let n = Network::parse("192.0.2.0/23").unwrap();
        assert!(n.contains("192.0.3.255".parse().unwrap()));
        assert!(!n.contains("192.0.4.0".parse().unwrap()));
        assert!(
            n.contains("::ffff:192.0.2.7".parse().unwrap()),
            "IPv4-mapped"
        );
        let h = Network::parse("2001:db8::1").unwrap();
        assert!(h.contains("2001:db8::1".parse().unwrap()));
        assert!(!h.contains("2001:db8::2".parse().unwrap()));
        assert!(Network::parse("::/0")
            .unwrap()
            .contains("2001:db8::2".parse().unwrap()));
        for bad in ["192.0.2.0/33", "2001:db8::/129", "host", "192.0.2.0/x", ""] {
            assert_eq!(Network::parse(bad), None, "{bad}");
        }
    }
}
