//! The destination address of a datagram and the source of its answer
//! (`IP_PKTINFO`, RFC 3542 §6 `IPV6_PKTINFO`), in ancillary data.
//!
//! A wildcard UDP socket gets each datagram's destination in a control
//! message; the answer carries it back as `ipi_spec_dst` / `ipi6_addr`, so
//! the kernel sends from the address the client asked, not from whatever
//! the routing table prefers (a client would drop such an answer).

use std::net::{Ipv4Addr, Ipv6Addr};

/// Room for one control message of either family (`CMSG_SPACE` of
/// `in6_pktinfo` is 40 octets on 64-bit Linux); `u64`s for alignment.
pub(crate) const CONTROL_WORDS: usize = 8;
/// [`CONTROL_WORDS`] in octets.
pub(crate) const CONTROL_LEN: usize = CONTROL_WORDS * 8;

/// Where a datagram was sent to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dest {
    /// IPv4, the address the datagram was sent to.
    V4(Ipv4Addr),
    /// IPv6, the address and the interface it came in on.
    V6(Ipv6Addr, u32),
}

/// The destination in the control messages of a received `hdr`.
///
/// # Safety
/// `hdr.msg_control` points at `hdr.msg_controllen` valid octets (as the
/// kernel left them after `recvmmsg`).
pub(crate) unsafe fn destination(hdr: &libc::msghdr) -> Option<Dest> {
    let mut c = libc::CMSG_FIRSTHDR(hdr);
    while !c.is_null() {
        let data = libc::CMSG_DATA(c);
        match ((*c).cmsg_level, (*c).cmsg_type) {
            (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                let info = std::ptr::read_unaligned(data.cast::<libc::in_pktinfo>());
                return Some(Dest::V4(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr))));
            }
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                let info = std::ptr::read_unaligned(data.cast::<libc::in6_pktinfo>());
                return Some(Dest::V6(
                    Ipv6Addr::from(info.ipi6_addr.s6_addr),
                    info.ipi6_ifindex,
                ));
            }
            _ => {}
        }
        c = libc::CMSG_NXTHDR(hdr, c);
    }
    None
}

/// Writes the control message that makes an answer leave from `dest` into
/// `buf` and points `hdr` at it.
///
/// # Safety
/// `buf` stays alive and unmoved until `hdr` has been sent.
pub(crate) unsafe fn set_source(
    hdr: &mut libc::msghdr,
    buf: &mut [u64; CONTROL_WORDS],
    dest: Dest,
) {
    *buf = [0; CONTROL_WORDS];
    hdr.msg_control = buf.as_mut_ptr().cast();
    let (level, kind, len) = match dest {
        Dest::V4(_) => (
            libc::IPPROTO_IP,
            libc::IP_PKTINFO,
            std::mem::size_of::<libc::in_pktinfo>(),
        ),
        Dest::V6(..) => (
            libc::IPPROTO_IPV6,
            libc::IPV6_PKTINFO,
            std::mem::size_of::<libc::in6_pktinfo>(),
        ),
    };
    hdr.msg_controllen = libc::CMSG_SPACE(len as u32) as usize;
    let c = libc::CMSG_FIRSTHDR(hdr);
    (*c).cmsg_level = level;
    (*c).cmsg_type = kind;
    (*c).cmsg_len = libc::CMSG_LEN(len as u32) as usize;
    let data = libc::CMSG_DATA(c);
    match dest {
        Dest::V4(a) => {
            let info = libc::in_pktinfo {
                // 0: the routing table picks the interface; the source is ipi_spec_dst.
                ipi_ifindex: 0,
                ipi_spec_dst: libc::in_addr {
                    s_addr: u32::from(a).to_be(),
                },
                ipi_addr: libc::in_addr { s_addr: 0 },
            };
            std::ptr::write_unaligned(data.cast(), info);
        }
        Dest::V6(a, ifindex) => {
            let info = libc::in6_pktinfo {
                ipi6_addr: libc::in6_addr {
                    s6_addr: a.octets(),
                },
                // The interface it came in on: needed for link-local addresses.
                ipi6_ifindex: ifindex,
            };
            std::ptr::write_unaligned(data.cast(), info);
        }
    }
}
