//! UDP service: one thread per `SO_REUSEPORT` socket, batched receive and send.
//!
//! Each thread owns its buffers (allocated once), reads up to [`BATCH`]
//! datagrams with one `recvmmsg`, answers them from one snapshot of the
//! zones, and sends the answers with one `sendmmsg`. Nothing is allocated
//! or locked per query. Datagrams larger than [`RECV_SIZE`] are dropped.
//! With response rate limiting on ([`crate::rrl`]), each answer is checked
//! against its bucket before it is queued: dropped, truncated or sent.
//!
//! On a wildcard address (`0.0.0.0`, `::`) each answer leaves from the
//! address its query was sent to ([`pktinfo`], RFC 3542 §6; RFC 1123
//! §6.1.3.5 asks for it on multihomed hosts). IPv6 sockets take IPv6 only,
//! as the TCP listener's do ([`crate::sockopt`]).
//!
//! A worker that fails (a panic in the pipeline) is restarted on the same
//! socket after 100 ms, logged and counted ([`UdpStats::restarts`]); the
//! other workers go on meanwhile.

mod pktinfo;
mod stats;
#[cfg(test)]
mod tests;

pub use stats::UdpStats;

use crate::pipeline::{respond_with, Transport};
use crate::rrl::{truncate, Action, Answered};
use crate::{ServerError, Service, SharedZones};
use pktinfo::{CONTROL_LEN, CONTROL_WORDS};
use socket2::Socket;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::panic::AssertUnwindSafe;
use std::thread::JoinHandle;
use zonecast_proto::query::QueryView;

/// Datagrams handled per system call.
pub const BATCH: usize = 32;
/// Receive buffer per datagram; larger queries are dropped.
pub const RECV_SIZE: usize = 4096;
const SEND_SIZE: usize = 4096;
/// Pause before a failed worker starts again (so a fault on every packet cannot spin).
const RESTART_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

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

/// [`spawn`] with the node's services (NOTIFY relay, RRL, counters in `service.udp`).
pub fn spawn_with(
    addr: SocketAddr,
    threads: usize,
    zones: SharedZones,
    service: Service,
) -> Result<(SocketAddr, Vec<JoinHandle<()>>), ServerError> {
    let mut bound = addr;
    let mut handles = Vec::new();
    for i in 0..threads.max(1) {
        let (sock, pktinfo) = crate::sockopt::udp(bound).map_err(|source| ServerError::Listen {
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
            .spawn(move || supervise(&sock, pktinfo, &zones, &service))
            .map_err(|source| ServerError::Listen {
                addr: bound,
                source,
            })?;
        handles.push(h);
    }
    Ok((bound, handles))
}

/// Runs a worker on `sock`, again after each failure.
fn supervise(sock: &Socket, pktinfo: bool, zones: &SharedZones, service: &Service) {
    loop {
        let failure = std::panic::catch_unwind(AssertUnwindSafe(|| {
            Worker::new(sock.as_raw_fd(), pktinfo).run(zones, service)
        }));
        let Err(panic) = failure else {
            continue;
        };
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown failure".into());
        service.udp.restarted();
        tracing::error!(
            failure = %what,
            restarts = service.udp.restarts(),
            "UDP worker failed; restarting it"
        );
        std::thread::sleep(RESTART_PAUSE);
    }
}

/// One worker's buffers and system call headers, allocated once.
struct Worker {
    fd: RawFd,
    pktinfo: bool,
    rbuf: Vec<u8>,
    sbuf: Vec<u8>,
    addrs: Vec<libc::sockaddr_storage>,
    riov: Vec<libc::iovec>,
    siov: Vec<libc::iovec>,
    rctl: Vec<[u64; CONTROL_WORDS]>,
    sctl: Vec<[u64; CONTROL_WORDS]>,
    rhdr: Vec<libc::mmsghdr>,
    shdr: Vec<libc::mmsghdr>,
}

// SAFETY (for the whole impl): the raw pointers in the headers point into
// this worker's own vectors, which are never resized after `new`.
impl Worker {
    fn new(fd: RawFd, pktinfo: bool) -> Worker {
        let mut rbuf = vec![0u8; BATCH * RECV_SIZE];
        let mut sbuf = vec![0u8; BATCH * SEND_SIZE];
        let riov = (0..BATCH)
            .map(|i| libc::iovec {
                iov_base: rbuf[i * RECV_SIZE..].as_mut_ptr().cast(),
                iov_len: RECV_SIZE,
            })
            .collect();
        let siov = (0..BATCH)
            .map(|i| libc::iovec {
                iov_base: sbuf[i * SEND_SIZE..].as_mut_ptr().cast(),
                iov_len: 0,
            })
            .collect();
        Worker {
            fd,
            pktinfo,
            rbuf,
            sbuf,
            // SAFETY: all-zero is a valid bit pattern for these plain C structs.
            addrs: vec![unsafe { std::mem::zeroed() }; BATCH],
            riov,
            siov,
            rctl: vec![[0; CONTROL_WORDS]; BATCH],
            sctl: vec![[0; CONTROL_WORDS]; BATCH],
            // SAFETY: as above; pointers are filled in before each call.
            rhdr: vec![unsafe { std::mem::zeroed() }; BATCH],
            shdr: vec![unsafe { std::mem::zeroed() }; BATCH],
        }
    }

    fn run(&mut self, zones: &SharedZones, service: &Service) {
        let mut q = QueryView::default();
        let mut answered = Answered::default();
        loop {
            let n = self.receive();
            if n == 0 {
                continue;
            }
            let m = self.answer(n, zones, service, &mut q, &mut answered);
            self.send(m);
        }
    }

    /// Waits for datagrams: how many arrived (0 after an error).
    fn receive(&mut self) -> usize {
        for i in 0..BATCH {
            let h = &mut self.rhdr[i].msg_hdr;
            h.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut self.riov[i];
            h.msg_iovlen = 1;
            h.msg_flags = 0;
            if self.pktinfo {
                h.msg_control = self.rctl[i].as_mut_ptr().cast();
                h.msg_controllen = CONTROL_LEN;
            }
            self.rhdr[i].msg_len = 0;
        }
        // SAFETY: rhdr points at BATCH valid headers whose buffers live as long as self.
        let n = unsafe {
            libc::recvmmsg(
                self.fd,
                self.rhdr.as_mut_ptr(),
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
            return 0;
        }
        n as usize
    }

    /// Answers the `n` datagrams received into send slots: how many to send.
    fn answer(
        &mut self,
        n: usize,
        zones: &SharedZones,
        service: &Service,
        q: &mut QueryView,
        answered: &mut Answered,
    ) -> usize {
        let snapshot = zones.load();
        let rrl = service.rrl.as_deref();
        let now = rrl.map_or(0, |r| r.now());
        let (mut dropped, mut slipped) = (0u64, 0u64);
        let mut batch = stats::Batch {
            received: n as u64,
            ..Default::default()
        };
        let mut m = 0;
        for i in 0..n {
            if self.rhdr[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                batch.oversize += 1;
                batch.unanswered += 1;
                continue;
            }
            let len = self.rhdr[i].msg_len as usize;
            let query = &self.rbuf[i * RECV_SIZE..i * RECV_SIZE + len];
            let out = &mut self.sbuf[m * SEND_SIZE..(m + 1) * SEND_SIZE];
            let peer = &self.addrs[i];
            let Some(mut olen) = respond_with(
                &snapshot,
                query,
                out,
                Transport::Udp,
                q,
                service,
                || socket_addr(peer),
                answered,
            ) else {
                batch.unanswered += 1;
                continue;
            };
            if olen >= 4 && out[3] & 0x0f == 1 {
                batch.formerr += 1;
            }
            if let Some(r) = rrl {
                let ip = socket_addr(peer).map(|a| a.ip());
                match ip.map(|ip| r.check(ip, q.qname(), q.qtype.0, answered, now)) {
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
            self.queue(i, m, olen);
            m += 1;
        }
        drop(snapshot);
        if let Some(r) = rrl {
            r.count(dropped, slipped);
        }
        service.udp.add(batch);
        m
    }

    /// Points send slot `m` at the answer (`olen` octets) to datagram `i`.
    fn queue(&mut self, i: usize, m: usize, olen: usize) {
        self.siov[m].iov_len = olen;
        let dest = if self.pktinfo {
            // SAFETY: the kernel filled rhdr[i]'s control buffer (rctl[i]) in recvmmsg.
            unsafe { pktinfo::destination(&self.rhdr[i].msg_hdr) }
        } else {
            None
        };
        let h = &mut self.shdr[m].msg_hdr;
        h.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
        h.msg_namelen = self.rhdr[i].msg_hdr.msg_namelen;
        h.msg_iov = &mut self.siov[m];
        h.msg_iovlen = 1;
        match dest {
            // SAFETY: sctl[m] lives in self until the batch is sent.
            Some(d) => unsafe { pktinfo::set_source(h, &mut self.sctl[m], d) },
            None => {
                h.msg_control = std::ptr::null_mut();
                h.msg_controllen = 0;
            }
        }
    }

    /// Sends the first `m` slots, skipping a destination that fails.
    fn send(&mut self, m: usize) {
        let mut sent = 0;
        while sent < m {
            // SAFETY: shdr[sent..m] are valid headers pointing into live buffers.
            let r = unsafe {
                libc::sendmmsg(
                    self.fd,
                    self.shdr[sent..].as_mut_ptr(),
                    (m - sent) as libc::c_uint,
                    0,
                )
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
