//! The limits of a TCP listener and the source key the per-source limit counts by.

use std::net::IpAddr;
use std::time::Duration;

/// Default [`TcpLimits::idle_timeout`]: 10 s, Knot's `tcp-idle-timeout`.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`TcpLimits::max_connections`]: 1,024.
pub const MAX_CONNECTIONS: usize = 1024;

/// Limits of a TCP listener, each counted by [`TcpStats`](super::TcpStats) when hit.
///
/// The default is close to Knot's behaviour (see each field). Counts below 1
/// are taken as 1 and an IPv6 prefix over 128 as 128; a zero duration closes
/// at the first chance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpLimits {
    /// A connection with nothing pending (no query partly read, no answer
    /// waiting for the socket) is closed after this long. Default 10 s
    /// (Knot's `tcp-idle-timeout`).
    pub idle_timeout: Duration,
    /// An answer the socket does not take whole within this long closes the
    /// connection: the peer does not read. The clock restarts with each answer
    /// the socket takes. Default 5 s (Knot's `tcp-io-timeout` is 500 ms).
    pub write_timeout: Duration,
    /// A query must arrive whole within this long of its first octet, or the
    /// connection is closed (against clients trickling octets). Default 5 s.
    pub read_timeout: Duration,
    /// Most connections open at once on the listener. At the limit a new
    /// connection is still accepted, and the one idle longest is closed to
    /// make room. Lowered at start to the file descriptor limit less 64.
    /// Default 1,024 (Knot's default is half the descriptor limit).
    pub max_connections: usize,
    /// Most connections open at once from one source (an IPv4 address, an
    /// IPv6 prefix of [`TcpLimits::ipv6_prefix_len`] bits). More are closed
    /// as soon as they are accepted. Default 64 (Knot has no such limit).
    pub max_per_source: usize,
    /// The IPv6 prefix counted as one source. Default 64: one subnet, which
    /// a single host usually has whole, so a /128 limit would not hold it.
    /// IPv4-mapped IPv6 addresses count as IPv4.
    pub ipv6_prefix_len: u8,
    /// Most answers of one connection waiting for the socket; at the limit
    /// (or with 64 KiB of answers waiting) the connection's queries are not
    /// read until the peer takes answers, and the write timeout runs. Default 16.
    pub max_pipelined: usize,
}

impl Default for TcpLimits {
    fn default() -> TcpLimits {
        TcpLimits {
            idle_timeout: IDLE_TIMEOUT,
            write_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
            max_connections: MAX_CONNECTIONS,
            max_per_source: 64,
            ipv6_prefix_len: 64,
            max_pipelined: 16,
        }
    }
}

impl TcpLimits {
    /// The limits with counts of at least 1 and a prefix of at most 128 bits.
    pub(super) fn normalized(mut self) -> TcpLimits {
        self.max_connections = self.max_connections.max(1);
        self.max_per_source = self.max_per_source.max(1);
        self.max_pipelined = self.max_pipelined.max(1);
        self.ipv6_prefix_len = self.ipv6_prefix_len.min(128);
        self
    }
}

/// What the per-source limit counts connections by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum SourceKey {
    /// An IPv4 address (IPv4-mapped IPv6 addresses included).
    V4(u32),
    /// An IPv6 address with the bits past the prefix cleared.
    V6(u128),
}

impl SourceKey {
    /// The key of `ip`, IPv6 addresses cut to `v6_prefix` bits.
    pub(super) fn of(ip: IpAddr, v6_prefix: u8) -> SourceKey {
        match ip {
            IpAddr::V4(a) => SourceKey::V4(u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => SourceKey::V4(u32::from(v4)),
                None => {
                    let bits = u32::from(v6_prefix.min(128));
                    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                    SourceKey::V6(u128::from(a) & mask)
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ip: &str, prefix: u8) -> SourceKey {
        SourceKey::of(ip.parse().unwrap(), prefix)
    }

    #[test]
    fn ipv6_sources_are_cut_to_the_prefix_and_mapped_ipv4_is_ipv4() {
        assert_eq!(key("2001:db8:1:2::1", 64), key("2001:db8:1:2:ffff::9", 64));
        assert_ne!(key("2001:db8:1:2::1", 64), key("2001:db8:1:3::1", 64));
        assert_ne!(key("2001:db8::1", 128), key("2001:db8::2", 128));
        assert_eq!(key("2001:db8::1", 0), key("fe80::1", 0));
        assert_eq!(key("::ffff:192.0.2.1", 64), key("192.0.2.1", 64));
        assert_ne!(key("192.0.2.1", 64), key("192.0.2.2", 64));
    }

    #[test]
    fn normalized_limits_have_counts_of_one_at_least() {
        let l = TcpLimits {
            max_connections: 0,
            max_per_source: 0,
            max_pipelined: 0,
            ipv6_prefix_len: 200,
            ..TcpLimits::default()
        }
        .normalized();
        assert_eq!(
            (
                l.max_connections,
                l.max_per_source,
                l.max_pipelined,
                l.ipv6_prefix_len
            ),
            (1, 1, 1, 128)
        );
    }
}
