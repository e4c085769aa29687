//! Socket options shared by the UDP and TCP listeners.
//!
//! Both set `IPV6_V6ONLY` on IPv6 sockets (RFC 3493 §5.3), as Knot and NSD
//! do: `[::]:53` takes IPv6 only, and IPv4 is listened on separately
//! (`0.0.0.0:53`), so one address never means two protocols on UDP and only
//! one on TCP. Wildcard UDP sockets also ask for the destination address of
//! each datagram (`IP_PKTINFO`, `IPV6_RECVPKTINFO`, RFC 3542 §6.1), so the
//! answer leaves from the address the query came to ([`crate::udp`]).
//!
//! Limitations: Linux only (the rest of the listeners are too).

use socket2::{Domain, Protocol, Socket, Type};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

/// A UDP socket bound to `addr` for one worker (`SO_REUSEPORT`, large
/// buffers); the flag says whether it reports destination addresses (a
/// wildcard bind).
pub(crate) fn udp(addr: SocketAddr) -> std::io::Result<(Socket, bool)> {
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    sock.set_reuse_port(true)?;
    common(&sock, addr)?;
    // Larger kernel buffers absorb bursts; failure to raise them is not fatal.
    let _ = sock.set_recv_buffer_size(4 << 20);
    let _ = sock.set_send_buffer_size(4 << 20);
    let pktinfo = addr.ip().is_unspecified();
    if pktinfo {
        let (level, name) = if addr.is_ipv6() {
            (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO)
        } else {
            (libc::IPPROTO_IP, libc::IP_PKTINFO)
        };
        set_int(&sock, level, name, 1)?;
    }
    sock.bind(&addr.into())?;
    Ok((sock, pktinfo))
}

/// A TCP socket for a listener on `addr` (`SO_REUSEADDR`), not yet bound.
pub(crate) fn tcp(addr: SocketAddr) -> std::io::Result<Socket> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    common(&sock, addr)?;
    Ok(sock)
}

/// What UDP and TCP sockets have alike.
fn common(sock: &Socket, addr: SocketAddr) -> std::io::Result<()> {
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    Ok(())
}

fn set_int(
    sock: &Socket,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> std::io::Result<()> {
    // SAFETY: a valid descriptor and a pointer to a c_int of the size given.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Whether the IPv6 socket `sock` takes IPv6 only (for tests).
#[cfg(test)]
pub(crate) fn only_v6(sock: &impl AsRawFd) -> bool {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: a valid descriptor and a c_int-sized out buffer.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    r == 0 && v == 1
}
