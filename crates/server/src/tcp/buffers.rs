//! A connection's buffers: framed queries in, framed answers out.

use std::collections::VecDeque;
use std::ops::Range;

/// Room a read gets at least.
const READ_CHUNK: usize = 4096;
/// Capacity kept after a large message passed.
const KEEP: usize = 16 * 1024;
/// Octets of answers waiting above which a connection stops reading.
pub(super) const OUT_SOFT_CAP: usize = 64 * 1024;

/// A frame whose length field says less than a DNS header.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct ShortFrame;

/// Octets read and not yet taken as frames (RFC 1035 §4.2.2 framing).
#[derive(Debug)]
pub(super) struct FrameBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl FrameBuf {
    pub(super) fn new() -> FrameBuf {
        FrameBuf {
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
        }
    }

    /// Nothing buffered.
    pub(super) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The length field of the next frame, when it has arrived.
    fn next_len(&self) -> Option<usize> {
        match self.buf.get(self.start..self.end)? {
            [a, b, ..] => Some(u16::from_be_bytes([*a, *b]) as usize),
            _ => None,
        }
    }

    /// A frame has arrived whole (or a short one, which [`FrameBuf::next_frame`] reports).
    pub(super) fn has_frame(&self) -> bool {
        self.next_len()
            .is_some_and(|len| len < 12 || self.end - self.start >= 2 + len)
    }

    /// Takes the next whole frame: the range of its message in [`FrameBuf::get`].
    pub(super) fn next_frame(&mut self) -> Result<Option<Range<usize>>, ShortFrame> {
        let Some(len) = self.next_len() else {
            return Ok(None);
        };
        if len < 12 {
            return Err(ShortFrame);
        }
        if self.end - self.start < 2 + len {
            return Ok(None);
        }
        let body = self.start + 2..self.start + 2 + len;
        self.start = body.end;
        Ok(Some(body))
    }

    /// The octets of a range [`FrameBuf::next_frame`] gave, until the next read.
    pub(super) fn get(&self, r: Range<usize>) -> &[u8] {
        self.buf.get(r).unwrap_or_default()
    }

    /// Room to read into: the rest of the current frame at least, [`READ_CHUNK`] at least.
    pub(super) fn spare(&mut self) -> &mut [u8] {
        if self.is_empty() {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > KEEP {
                self.buf.truncate(KEEP);
                self.buf.shrink_to(KEEP);
            }
        }
        let need = self
            .next_len()
            .map_or(READ_CHUNK, |len| (2 + len).max(READ_CHUNK));
        if self.buf.len() - self.start < need || self.buf.len() - self.end < READ_CHUNK / 4 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        let end = self.end;
        self.buf.get_mut(end..).unwrap_or_default()
    }

    /// `n` octets were read into [`FrameBuf::spare`].
    pub(super) fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }
}

/// Framed answers waiting for the socket, in order.
#[derive(Debug, Default)]
pub(super) struct Output {
    bytes: Vec<u8>,
    written: usize,
    /// Where each answer not yet written whole ends in `bytes`.
    ends: VecDeque<usize>,
}

impl Output {
    /// No answer waiting.
    pub(super) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Answers waiting (the first possibly in part written).
    pub(super) fn answers(&self) -> usize {
        self.ends.len()
    }

    /// Octets waiting.
    pub(super) fn octets(&self) -> usize {
        self.bytes.len() - self.written
    }

    /// Queues one framed answer.
    pub(super) fn push(&mut self, framed: &[u8]) {
        self.bytes.extend_from_slice(framed);
        self.ends.push_back(self.bytes.len());
    }

    /// What the socket should take next.
    pub(super) fn pending(&self) -> &[u8] {
        self.bytes.get(self.written..).unwrap_or_default()
    }

    /// The socket took `n` octets; returns how many answers it finished.
    pub(super) fn advance(&mut self, n: usize) -> usize {
        self.written = (self.written + n).min(self.bytes.len());
        let mut done = 0;
        while self.ends.front().is_some_and(|&e| e <= self.written) {
            self.ends.pop_front();
            done += 1;
        }
        if self.ends.is_empty() {
            self.bytes.clear();
            self.written = 0;
            if self.bytes.capacity() > 2 * OUT_SOFT_CAP {
                self.bytes.shrink_to(OUT_SOFT_CAP);
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize, fill: u8) -> Vec<u8> {
        let mut v = (len as u16).to_be_bytes().to_vec();
        v.resize(2 + len, fill);
        v
    }

    /// Feeds `data` to `b` in pieces of `step`, collecting the frames.
    fn feed(b: &mut FrameBuf, data: &[u8], step: usize) -> Result<Vec<Vec<u8>>, ShortFrame> {
        let mut out = Vec::new();
        for piece in data.chunks(step) {
            let mut left = piece;
            while !left.is_empty() {
                let room = b.spare();
                let n = room.len().min(left.len());
                room[..n].copy_from_slice(&left[..n]);
                b.filled(n);
                left = &left[n..];
                while let Some(r) = b.next_frame()? {
                    out.push(b.get(r).to_vec());
                }
            }
        }
        Ok(out)
    }

    #[test]
    fn frames_come_whole_whatever_the_reads() {
        let mut data = Vec::new();
        let sizes = [12, 40, 65535, 12, 300, 5000];
        for (i, &s) in sizes.iter().enumerate() {
            data.extend(frame(s, i as u8));
        }
        for step in [1, 7, 4096, 70000] {
            let mut b = FrameBuf::new();
            let got = feed(&mut b, &data, step).unwrap();
            let lens: Vec<usize> = got.iter().map(Vec::len).collect();
            assert_eq!(lens, sizes, "step {step}");
            for (i, f) in got.iter().enumerate() {
                assert!(f.iter().all(|&o| o == i as u8), "step {step}, frame {i}");
            }
            assert!(b.is_empty());
            // The big frame's room is given back.
            b.spare();
            assert!(b.buf.len() <= KEEP, "step {step}: {} kept", b.buf.len());
        }
    }

    #[test]
    fn a_short_frame_is_an_error_and_a_partial_one_waits() {
        let mut b = FrameBuf::new();
        assert!(feed(&mut b, &frame(11, 0), 100).is_err());
        let mut b = FrameBuf::new();
        let f = frame(30, 1);
        assert_eq!(feed(&mut b, &f[..20], 100).unwrap().len(), 0);
        assert!(!b.is_empty() && !b.has_frame());
        assert_eq!(feed(&mut b, &f[20..], 100).unwrap().len(), 1);
    }

    #[test]
    fn answers_finish_in_order_as_the_socket_takes_them() {
        let mut o = Output::default();
        o.push(&[1; 10]);
        o.push(&[2; 5]);
        assert_eq!((o.answers(), o.octets()), (2, 15));
        assert_eq!(o.advance(9), 0);
        assert_eq!(o.pending(), &[1, 2, 2, 2, 2, 2]);
        assert_eq!(o.advance(3), 1);
        assert_eq!(o.advance(3), 1);
        assert!(o.is_empty() && o.pending().is_empty());
    }
}
