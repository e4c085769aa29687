//! One TCP connection: a task that reads queries while there is room for
//! their answers, writes what the socket takes, and never waits on the
//! socket without a deadline.

use super::buffers::{FrameBuf, Output, OUT_SOFT_CAP};
use super::registry::Member;
use super::Shared;
use crate::pipeline::{respond_with, Transport};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::time::Instant;
use zonecast_proto::query::QueryView;

/// Unsent octets the kernel may hold for a connection (`TCP_NOTSENT_LOWAT`):
/// beyond them the socket takes no more, so a peer that does not read holds
/// little kernel memory and meets the pipeline limit soon.
const NOTSENT_LOWAT: u32 = 16 * 1024;

/// Answers a connection builds before other connections get their turn:
/// a client with one query waits for one turn of each busy connection.
const ANSWERS_PER_TURN: usize = 4;

thread_local! {
    /// Where answers are built (65,535 octets and the length field), one per runtime thread.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; u16::MAX as usize + 2]);
}

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum End {
    /// The peer closed (after its answers were written).
    PeerClosed,
    /// Nothing pending for the idle timeout.
    Idle,
    /// The socket took no answer within the write timeout.
    WriteTimeout,
    /// A query did not arrive whole within the read timeout.
    ReadTimeout,
    /// Closed to make room for a new connection.
    Evicted,
    /// A frame shorter than a DNS header, or a query not worth an answer.
    Malformed,
    /// A zone transfer ended the connection, or the socket failed.
    Failed,
}

/// What a connection waited for.
enum Event {
    Evicted,
    Writable,
    Readable,
    Deadline(End),
    Failed,
}

/// Serves one admitted connection until it ends; counts and logs how it ended.
pub(super) async fn run(stream: TcpStream, peer: SocketAddr, member: Member, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    set_notsent_lowat(&stream, NOTSENT_LOWAT);
    let now = Instant::now();
    let mut c = Conn {
        stream,
        peer,
        member,
        shared: &shared,
        input: FrameBuf::new(),
        output: Output::default(),
        q: QueryView::default(),
        eof: false,
        paused: false,
        last_progress: now,
        partial_since: None,
        head_since: now,
    };
    let end = c.serve().await;
    drop(c);
    shared.ended(end, peer);
}

/// A connection's socket, buffers and clocks.
struct Conn<'s> {
    stream: TcpStream,
    peer: SocketAddr,
    member: Member,
    shared: &'s Shared,
    input: FrameBuf,
    output: Output,
    q: QueryView,
    /// The peer closed its side: answer what came, then close.
    eof: bool,
    /// Not reading because answers are waiting (counted once per pause).
    paused: bool,
    /// Accepted, a query read whole, or an answer taken by the socket.
    last_progress: Instant,
    /// When the first octets of a query not yet whole were read (while reading).
    partial_since: Option<Instant>,
    /// When the first answer waiting started to wait for the socket.
    head_since: Instant,
}

impl Conn<'_> {
    /// Answers, writes and waits in turn until the connection ends.
    async fn serve(&mut self) -> End {
        loop {
            if self.member.slot().is_evicted() {
                return End::Evicted;
            }
            if let Err(end) = self.answer_arrived().await {
                return end;
            }
            if let Err(end) = self.write_now() {
                return end;
            }
            if self.eof && self.output.is_empty() && !self.input.has_frame() {
                return End::PeerClosed;
            }
            if self.input.has_frame() && self.has_room() {
                // More queries are waiting: let other connections run first.
                tokio::task::yield_now().await;
                continue;
            }
            match self.wait().await {
                Event::Evicted => return End::Evicted,
                Event::Deadline(end) => return end,
                Event::Failed => return End::Failed,
                Event::Writable => {}
                Event::Readable => {
                    if let Err(end) = self.read_now() {
                        return end;
                    }
                }
            }
        }
    }

    /// Room for more answers: fewer than `max_pipelined` and 64 KiB waiting.
    fn has_room(&self) -> bool {
        self.output.answers() < self.shared.limits.max_pipelined
            && self.output.octets() < OUT_SOFT_CAP
    }

    /// The connection made progress: restarts the idle clock, here and in the table.
    fn progress(&mut self) {
        self.last_progress = Instant::now();
        self.member.slot().touch(self.member.now_ms());
    }

    /// Answers the queries that arrived whole, up to [`ANSWERS_PER_TURN`] of them and while there is room.
    async fn answer_arrived(&mut self) -> Result<(), End> {
        let mut answered = 0;
        while self.has_room() && answered < ANSWERS_PER_TURN {
            let frame = match self.input.next_frame() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(_) => return Err(End::Malformed),
            };
            self.member.slot().set_served();
            self.progress();
            if !self.transfer(frame.clone()).await? {
                self.answer(frame)?;
            }
            answered += 1;
        }
        let partial = !self.input.is_empty() && !self.input.has_frame();
        if !partial {
            self.partial_since = None;
        } else if self.partial_since.is_none() {
            self.partial_since = Some(Instant::now());
        }
        Ok(())
    }

    /// Serves the query as a zone transfer when it is one of a zone this node
    /// serves; `Ok(false)` when it is to be answered as any query.
    async fn transfer(&mut self, frame: Range<usize>) -> Result<bool, End> {
        let shared = self.shared;
        let Some(t) = &shared.service.transfers else {
            return Ok(false);
        };
        if self.q.parse(self.input.get(frame.clone())).is_err() || !crate::xfr::is_transfer(&self.q)
        {
            return Ok(false);
        }
        // Earlier answers go first; the transfer writes on its own.
        self.write_all().await?;
        let zone = super::transfer_zone(&shared.zones, &self.q);
        let mut out = vec![0u8; u16::MAX as usize + 2];
        self.member.slot().set_transfer(true);
        // A transfer streams: the system's send queue, not the query one.
        set_notsent_lowat(&self.stream, 0);
        let query = self.input.get(frame);
        let handled = crate::xfr::serve(
            t,
            &mut self.stream,
            query,
            &self.q,
            self.peer,
            zone,
            &mut out,
        )
        .await;
        set_notsent_lowat(&self.stream, NOTSENT_LOWAT);
        self.member.slot().set_transfer(false);
        match handled {
            crate::xfr::Handled::Done => {
                self.progress();
                Ok(true)
            }
            crate::xfr::Handled::Close => Err(End::Failed),
            crate::xfr::Handled::NotOurs => Ok(false),
        }
    }

    /// Builds the answer to one query and queues it.
    fn answer(&mut self, frame: Range<usize>) -> Result<(), End> {
        let query = self.input.get(frame);
        let snapshot = self.shared.zones.load();
        let peer = self.peer;
        let was_empty = self.output.is_empty();
        let built = SCRATCH.with(|s| {
            let mut s = s.try_borrow_mut().ok()?;
            let body = s.get_mut(2..)?;
            let n = respond_with(
                &snapshot,
                query,
                body,
                Transport::Tcp,
                &mut self.q,
                &self.shared.service,
                || Some(peer),
                &mut crate::rrl::Answered::default(),
            )?;
            let len = u16::try_from(n).ok()?;
            s[..2].copy_from_slice(&len.to_be_bytes());
            self.output.push(s.get(..n + 2)?);
            Some(())
        });
        if was_empty {
            self.head_since = Instant::now();
        }
        built.ok_or(End::Malformed)
    }

    /// Hands the socket what it takes now, without waiting.
    fn write_now(&mut self) -> Result<(), End> {
        while !self.output.is_empty() {
            match self.stream.try_write(self.output.pending()) {
                Ok(0) => return Err(End::Failed),
                Ok(n) => self.wrote(n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => return Err(End::Failed),
            }
        }
        Ok(())
    }

    /// The socket took `n` octets.
    fn wrote(&mut self, n: usize) {
        if self.output.advance(n) > 0 {
            self.progress();
            self.head_since = Instant::now();
        }
    }

    /// Writes every answer waiting, each within the write timeout (before a zone transfer).
    async fn write_all(&mut self) -> Result<(), End> {
        loop {
            self.write_now()?;
            if self.output.is_empty() {
                return Ok(());
            }
            let deadline = self.head_since + self.shared.limits.write_timeout;
            tokio::select! {
                biased;
                _ = self.member.slot().kill.notified() => return Err(End::Evicted),
                r = self.stream.writable() => r.map_err(|_| End::Failed)?,
                _ = tokio::time::sleep_until(deadline) => return Err(End::WriteTimeout),
            }
        }
    }

    /// Reads what the socket holds into the frame buffer.
    fn read_now(&mut self) -> Result<(), End> {
        match self.stream.try_read(self.input.spare()) {
            Ok(0) => {
                self.eof = true;
                Ok(())
            }
            Ok(n) => {
                self.input.filled(n);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Err(_) => Err(End::Failed),
        }
    }

    /// Waits for the socket, an eviction, or the nearest deadline.
    async fn wait(&mut self) -> Event {
        let want_write = !self.output.is_empty();
        let want_read = !self.eof && self.has_room();
        self.note_pause(want_read);
        self.member.slot().set_stalled(want_write);
        let (deadline, why) = self.deadline(want_read, want_write);
        let s = &self.stream;
        tokio::select! {
            biased;
            _ = self.member.slot().kill.notified() => Event::Evicted,
            r = s.writable(), if want_write => r.map_or(Event::Failed, |_| Event::Writable),
            r = s.readable(), if want_read => r.map_or(Event::Failed, |_| Event::Readable),
            _ = tokio::time::sleep_until(deadline) => Event::Deadline(why),
        }
    }

    /// Counts a pause of reading (once per pause); restarts the read clock after one.
    fn note_pause(&mut self, reading: bool) {
        if !reading && !self.eof && !self.paused {
            self.paused = true;
            self.shared
                .stats
                .pipeline_limit_hits
                .fetch_add(1, Ordering::Relaxed);
            if let Some(n) = self.shared.logs.due(&self.shared.logs.pipeline) {
                tracing::info!(
                    peer = %self.peer,
                    count = n,
                    limit = self.shared.limits.max_pipelined,
                    "TCP: stopped reading a connection whose peer does not read its answers (pipeline limit)"
                );
            }
        } else if reading && self.paused {
            self.paused = false;
            if self.partial_since.is_some() {
                self.partial_since = Some(Instant::now());
            }
        }
    }

    /// The nearest deadline and what it means: the write timeout while
    /// answers wait, the read timeout while a query arrives in part, the idle
    /// timeout when nothing is pending.
    fn deadline(&self, want_read: bool, want_write: bool) -> (Instant, End) {
        let l = &self.shared.limits;
        let idle = (self.last_progress + l.idle_timeout, End::Idle);
        let write = want_write.then(|| (self.head_since + l.write_timeout, End::WriteTimeout));
        let read = (self.partial_since)
            .filter(|_| want_read)
            .map(|since| (since + l.read_timeout, End::ReadTimeout));
        let idle_applies = !want_write && self.input.is_empty();
        [write, read, idle_applies.then_some(idle)]
            .into_iter()
            .flatten()
            .min_by_key(|(at, _)| *at)
            .unwrap_or(idle)
    }
}

/// Sets `TCP_NOTSENT_LOWAT` (0: the system's default, unlimited unless
/// configured); best effort, as the kernel may not know the option.
fn set_notsent_lowat(stream: &TcpStream, octets: u32) {
    use std::os::fd::AsRawFd;
    let value = octets as libc::c_int;
    // SAFETY: setsockopt reads `value` (an int, of the size given) during the call only.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NOTSENT_LOWAT,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}
