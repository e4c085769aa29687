//! UDP service: one thread per `SO_REUSEPORT` socket, batched receive and send.
//!
//! Each thread owns its buffers (allocated once), reads up to [`BATCH`]
//! datagrams with one `recvmmsg`, answers them from one snapshot of the
//! zones, and sends the answers with one `sendmmsg`. Nothing is allocated
//! or locked per query. Datagrams larger than [`RECV_SIZE`] are dropped.
//! With response rate limiting on ([`crate::rrl`]), each answer is checked
//! against its bucket before it is queued: dropped, truncated or sent.

use crate::pipeline::{respond_with, Transport};
use crate::rrl::{truncate, Action, Answered};
use crate::{ServerError, Service, SharedZones};
use socket2::{Domain, Protocol, Socket, Type};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::thread::JoinHandle;
use zonecast_proto::query::QueryView;

/// Datagrams handled per system call.
pub const BATCH: usize = 32;
/// Receive buffer per datagram; larger queries are dropped.
pub const RECV_SIZE: usize = 4096;
const SEND_SIZE: usize = 4096;

/// Binds `threads` UDP sockets on `addr` (port 0 picks one port for all) and starts a worker on each.
///
/// Returns the bound address and the worker threads (which run until the process exits).
pub fn spawn(
    addr: SocketAddr,
    threads: usize,
    zones: SharedZones,
) -> Result<(SocketAddr, Vec<JoinHandle<()>>), ServerError> {
    spawn_with(addr, threads, zones, Service::default())
}

/// [`spawn`] with the node's services (NOTIFY relay).
pub fn spawn_with(
    addr: SocketAddr,
    threads: usize,
    zones: SharedZones,
    service: Service,
) -> Result<(SocketAddr, Vec<JoinHandle<()>>), ServerError> {
    let mut bound = addr;
    let mut handles = Vec::new();
    for i in 0..threads.max(1) {
        let sock = bind(bound).map_err(|source| ServerError::Listen {
            addr: bound,
            source,
        })?;
        if i == 0 {
            if let Some(a) = sock.local_addr().ok().and_then(|a| a.as_socket()) {
                bound = a;
            }
        }
        let zones = zones.clone();
        let service = service.clone();
        let h = std::thread::Builder::new()
            .name(format!("udp-{i}"))
            .spawn(move || worker(sock, zones, service))
            .map_err(|source| ServerError::Listen {
                addr: bound,
                source,
            })?;
        handles.push(h);
    }
    Ok((bound, handles))
}

fn bind(addr: SocketAddr) -> std::io::Result<Socket> {
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    sock.set_reuse_port(true)?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    // Larger kernel buffers absorb bursts; failure to raise them is not fatal.
    let _ = sock.set_recv_buffer_size(4 << 20);
    let _ = sock.set_send_buffer_size(4 << 20);
    sock.bind(&addr.into())?;
    Ok(sock)
}

fn worker(sock: Socket, zones: SharedZones, service: Service) {
    let fd: RawFd = sock.as_raw_fd();
    let mut rbuf = vec![0u8; BATCH * RECV_SIZE];
    let mut sbuf = vec![0u8; BATCH * SEND_SIZE];
    // SAFETY: all-zero is a valid bit pattern for these plain C structs.
    let mut addrs: Vec<libc::sockaddr_storage> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut riov: Vec<libc::iovec> = (0..BATCH)
        .map(|i| libc::iovec {
            iov_base: rbuf[i * RECV_SIZE..].as_mut_ptr().cast(),
            iov_len: RECV_SIZE,
        })
        .collect();
    let mut siov: Vec<libc::iovec> = (0..BATCH)
        .map(|i| libc::iovec {
            iov_base: sbuf[i * SEND_SIZE..].as_mut_ptr().cast(),
            iov_len: 0,
        })
        .collect();
    // SAFETY: zeroed mmsghdr is valid; pointers are filled in below.
    let mut rhdr: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut shdr: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut q = QueryView::default();
    let mut answered = Answered::default();
    loop {
        for i in 0..BATCH {
            let h = &mut rhdr[i].msg_hdr;
            h.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut riov[i];
            h.msg_iovlen = 1;
            h.msg_flags = 0;
            rhdr[i].msg_len = 0;
        }
        // SAFETY: rhdr points at BATCH valid headers whose buffers live as long as this loop.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                rhdr.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n <= 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted
                && err.kind() != std::io::ErrorKind::WouldBlock
            {
                tracing::warn!(error = %err, "udp receive failed");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            continue;
        }
        let snapshot = zones.load();
        let rrl = service.rrl.as_deref();
        let now = rrl.map_or(0, |r| r.now());
        let (mut dropped, mut slipped) = (0u64, 0u64);
        let mut m = 0;
        for i in 0..n as usize {
            if rhdr[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                continue;
            }
            let len = rhdr[i].msg_len as usize;
            let query = &rbuf[i * RECV_SIZE..i * RECV_SIZE + len];
            let out = &mut sbuf[m * SEND_SIZE..(m + 1) * SEND_SIZE];
            let peer = &addrs[i];
            if let Some(mut olen) = respond_with(
                &snapshot,
                query,
                out,
                Transport::Udp,
                &mut q,
                &service,
                || socket_addr(peer),
                &mut answered,
            ) {
                if let Some(r) = rrl {
                    let ip = socket_addr(peer).map(|a| a.ip());
                    match ip.map(|ip| r.check(ip, q.qname(), q.qtype.0, &answered, now)) {
                        Some(Action::Send) | None => {}
                        Some(Action::Slip) => {
                            slipped += 1;
                            olen = truncate(out, olen, q.question_end);
                        }
                        Some(Action::Drop) => {
                            dropped += 1;
                            continue;
                        }
                    }
                }
                siov[m].iov_len = olen;
                let h = &mut shdr[m].msg_hdr;
                h.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
                h.msg_namelen = rhdr[i].msg_hdr.msg_namelen;
                h.msg_iov = &mut siov[m];
                h.msg_iovlen = 1;
                m += 1;
            }
        }
        drop(snapshot);
        if let Some(r) = rrl {
            r.count(dropped, slipped);
        }
        let mut sent = 0;
        while sent < m {
            // SAFETY: shdr[sent..m] are valid headers pointing into live buffers.
            let r = unsafe {
                libc::sendmmsg(fd, shdr[sent..].as_mut_ptr(), (m - sent) as libc::c_uint, 0)
            };
            if r <= 0 {
                let err = std::io::Error::last_os_error();
                if err.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                // A failed destination (e.g. unreachable) must not stall the batch: skip it.
                sent += 1;
                continue;
            }
            sent += r as usize;
        }
    }
}

/// The address in a `sockaddr_storage` filled in by the kernel.
fn socket_addr(sa: &libc::sockaddr_storage) -> Option<SocketAddr> {
    // SAFETY: a sockaddr_storage is large enough for any address; socket2
    // reads only as much as its family says.
    let addr = unsafe {
        socket2::SockAddr::new(
            *sa,
            std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        )
    };
    addr.as_socket()
}
