//! Reading a zone transfer response, sans I/O (RFC 5936 §2.2, RFC 1995 §4).
//!
//! [`TransferReader`] is fed the response messages in order and tells when
//! the transfer is complete. It accepts:
//!
//! - an AXFR: the SOA, the zone's other records, the same SOA again;
//! - an IXFR answered incrementally: the new SOA, then per change the old
//!   SOA and the records removed, the new SOA and the records added, and the
//!   new SOA once more at the end; the changes must chain from our serial to
//!   the new one;
//! - an IXFR answered AXFR-style (the whole zone, RFC 1995 §4);
//! - an IXFR answered with the SOA alone when the primary is not newer.
//!
//! Every message must answer our query (ID, QR, opcode QUERY, NOERROR, the
//! zone in the question when there is one); every record must be class IN,
//! owned inside the zone and not a meta type; an SOA may appear only where
//! the formats put one. At most `max_records` records are taken (the
//! closing SOA aside: a zone of `max_records` records fits). Anything else
//! ends the transfer with a [`ReadError`] that says what was wrong.
//!
//! Limitations: BIND's one-record-per-message IXFR whose only first record
//! is an SOA older than ours reads as "up to date", as in BIND.

use zonecast_proto::message::Message;
use zonecast_proto::{Class, Name, Record, Rtype};

/// What was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// AXFR: the whole zone.
    Axfr,
    /// IXFR from our serial.
    Ixfr {
        /// The serial we hold.
        serial: u32,
    },
}

/// One change of an incremental transfer; the SOAs are included (old SOA
/// first among `removed`, new SOA first among `added`).
#[derive(Clone, Debug, PartialEq)]
pub struct Delta {
    /// Serial before.
    pub from: u32,
    /// Serial after.
    pub to: u32,
    /// Records removed, the old SOA among them.
    pub removed: Vec<Record>,
    /// Records added, the new SOA among them.
    pub added: Vec<Record>,
}

impl Delta {
    /// A change that starts at `old_soa` (serial `from`); its end comes with the next SOA.
    fn starting(from: u32, old_soa: Record) -> Delta {
        Delta {
            from,
            to: from,
            removed: vec![old_soa],
            added: Vec::new(),
        }
    }
}

/// A complete transfer.
#[derive(Clone, Debug, PartialEq)]
pub enum Received {
    /// The primary has nothing newer than `serial` (its SOA alone).
    UpToDate {
        /// The primary's serial.
        serial: u32,
    },
    /// The whole zone (AXFR, or IXFR answered AXFR-style), its SOA once.
    Full {
        /// The zone's records.
        records: Vec<Record>,
    },
    /// Changes from our serial to the primary's, oldest first.
    Incremental {
        /// The changes.
        deltas: Vec<Delta>,
    },
}

impl Received {
    /// The serial the transfer leads to (`UpToDate`: the primary's).
    pub fn serial(&self) -> Option<u32> {
        match self {
            Received::UpToDate { serial } => Some(*serial),
            Received::Full { records } => records
                .iter()
                .find(|r| r.rtype == Rtype::SOA)
                .and_then(|r| soa_serial(&r.rdata)),
            Received::Incremental { deltas } => deltas.last().map(|d| d.to),
        }
    }

    /// Records carried (SOAs included).
    pub fn record_count(&self) -> usize {
        match self {
            Received::UpToDate { .. } => 1,
            Received::Full { records } => records.len(),
            Received::Incremental { deltas } => {
                deltas.iter().map(|d| d.removed.len() + d.added.len()).sum()
            }
        }
    }
}

/// Why a transfer response was not taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// A message that does not parse.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A message that does not answer our query.
    #[error("{0}")]
    NotOurs(String),
    /// The primary answered with an error rcode.
    #[error("the primary answered {}", rcode_name(*.0))]
    Rcode(u16),
    /// A record the zone cannot hold.
    #[error("{0}")]
    BadRecord(String),
    /// The records are not in transfer order.
    #[error("{0}")]
    Sequence(String),
    /// More records than allowed.
    #[error("the transfer holds more than {0} records (--xfr-max-records, by default --max-zone-records)")]
    TooLarge(usize),
    /// The stream ended before the final SOA.
    #[error("the transfer ended before its final SOA ({0} records read)")]
    Incomplete(usize),
}

pub use zonecast_proto::message::rcode_name;

enum State {
    /// Nothing read yet.
    Start,
    /// The first SOA read; what follows tells the format.
    First,
    /// AXFR-style: records until the first SOA again.
    Axfr(Vec<Record>),
    /// An incremental change: removals (before its second SOA) or additions.
    Delta {
        done: Vec<Delta>,
        cur: Delta,
        adding: bool,
    },
    /// Complete.
    Done(Received),
    /// Failed; every later call fails.
    Failed,
}

/// Reads the messages of one transfer response (see the module docs).
pub struct TransferReader {
    zone: Name,
    ask: Ask,
    id: u16,
    max_records: usize,
    records: usize,
    messages: usize,
    first: Option<Record>,
    state: State,
}

impl TransferReader {
    /// A reader for the answer to query `id` asking `ask` of `zone`.
    pub fn new(zone: &Name, ask: Ask, id: u16, max_records: usize) -> TransferReader {
        TransferReader {
            zone: zone.to_lowercase(),
            ask,
            id,
            max_records,
            records: 0,
            messages: 0,
            first: None,
            state: State::Start,
        }
    }

    /// Records read so far.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Messages read so far.
    pub fn messages(&self) -> usize {
        self.messages
    }

    /// Feeds the next message; `Ok(true)` when the transfer is complete.
    pub fn feed(&mut self, wire: &[u8]) -> Result<bool, ReadError> {
        let result = self.feed_inner(wire);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn feed_inner(&mut self, wire: &[u8]) -> Result<bool, ReadError> {
        if matches!(self.state, State::Failed) {
            return Err(ReadError::Sequence("the transfer already failed".into()));
        }
        if matches!(self.state, State::Done(_)) {
            return Err(ReadError::Sequence("a message after the final SOA".into()));
        }
        let msg = Message::parse(wire).map_err(|e| ReadError::Malformed(e.to_string()))?;
        self.check_header(&msg)?;
        self.messages += 1;
        let first_message = self.messages == 1;
        let answers = msg.answer.len();
        for r in msg.answer {
            self.take(r)?;
        }
        // The SOA alone, not newer than ours: up to date (RFC 1995 §4).
        if let (State::First, Ask::Ixfr { serial }, true, 1) =
            (&self.state, self.ask, first_message, answers)
        {
            let theirs = self.first.as_ref().and_then(|r| soa_serial(&r.rdata));
            if let Some(theirs) = theirs.filter(|t| !zonecast_control::serial_gt(*t, serial)) {
                self.state = State::Done(Received::UpToDate { serial: theirs });
            }
        }
        Ok(matches!(self.state, State::Done(_)))
    }

    /// The transfer once complete; `Incomplete` otherwise.
    pub fn finish(self) -> Result<Received, ReadError> {
        match self.state {
            State::Done(r) => Ok(r),
            _ => Err(ReadError::Incomplete(self.records)),
        }
    }

    fn check_header(&self, m: &Message) -> Result<(), ReadError> {
        let h = &m.header;
        if h.id != self.id || !h.qr || h.opcode != 0 {
            return Err(ReadError::NotOurs(format!(
                "a message that does not answer the transfer query (id {}, qr {}, opcode {})",
                h.id, h.qr, h.opcode
            )));
        }
        if m.rcode() != 0 {
            return Err(ReadError::Rcode(m.rcode()));
        }
        let qtype = match self.ask {
            Ask::Axfr => Rtype::AXFR,
            Ask::Ixfr { .. } => Rtype::IXFR,
        };
        match m.questions.as_slice() {
            [] if self.messages > 0 => Ok(()),
            [q] if q.qname.to_lowercase() == self.zone && q.qtype == qtype => Ok(()),
            [q] => Err(ReadError::NotOurs(format!(
                "the answer is for {} {}, not {} {qtype}",
                q.qname, q.qtype, self.zone
            ))),
            _ => Err(ReadError::NotOurs(format!(
                "{} questions in a transfer answer",
                m.questions.len()
            ))),
        }
    }

    fn check_record(&self, r: &Record) -> Result<(), ReadError> {
        if r.class != Class::IN {
            return Err(ReadError::BadRecord(format!(
                "{} {}: class {} (only IN is transferred)",
                r.owner, r.rtype, r.class
            )));
        }
        if !r.owner.is_subdomain_of(&self.zone) {
            return Err(ReadError::BadRecord(format!(
                "{} {}: outside the zone {}",
                r.owner, r.rtype, self.zone
            )));
        }
        if r.rtype.is_meta() {
            return Err(ReadError::BadRecord(format!(
                "{} {}: a meta type in a transfer",
                r.owner, r.rtype
            )));
        }
        Ok(())
    }

    fn is_apex_soa(&self, r: &Record) -> bool {
        r.rtype == Rtype::SOA && r.owner.to_lowercase() == self.zone
    }

    /// One answer record.
    fn take(&mut self, r: Record) -> Result<(), ReadError> {
        self.check_record(&r)?;
        self.records += 1;
        let soa = self.is_apex_soa(&r);
        if r.rtype == Rtype::SOA && !soa {
            return Err(ReadError::BadRecord(format!(
                "{} SOA: an SOA below the apex",
                r.owner
            )));
        }
        let serial = if soa {
            Some(
                soa_serial(&r.rdata)
                    .ok_or_else(|| ReadError::BadRecord("an SOA without a serial".into()))?,
            )
        } else {
            None
        };
        let state = std::mem::replace(&mut self.state, State::Failed);
        self.state = self.next(state, r, serial)?;
        // The closing SOA repeats the first: a zone of `max_records` records is taken.
        if self.records > self.max_records && !matches!(self.state, State::Done(_)) {
            return Err(ReadError::TooLarge(self.max_records));
        }
        Ok(())
    }

    fn next(&mut self, state: State, r: Record, serial: Option<u32>) -> Result<State, ReadError> {
        let first_serial = self.first.as_ref().and_then(|f| soa_serial(&f.rdata));
        match (state, serial) {
            (State::Start, Some(_)) => {
                self.first = Some(r);
                Ok(State::First)
            }
            (State::Start, None) => Err(ReadError::Sequence(format!(
                "the transfer starts with {} {}, not the zone's SOA",
                r.owner, r.rtype
            ))),
            (State::First, Some(s)) => match self.ask {
                Ask::Ixfr { serial: ours } => {
                    if s != ours {
                        return Err(ReadError::Sequence(format!(
                            "the IXFR starts from serial {s}, ours is {ours}"
                        )));
                    }
                    Ok(State::Delta {
                        done: Vec::new(),
                        cur: Delta::starting(s, r),
                        adding: false,
                    })
                }
                // An AXFR of a zone holding nothing but its SOA.
                Ask::Axfr => self.end_axfr(Vec::new(), r, s),
            },
            (State::First, None) => Ok(State::Axfr(vec![r])),
            (State::Axfr(records), Some(s)) => self.end_axfr(records, r, s),
            (State::Axfr(mut records), None) => {
                records.push(r);
                Ok(State::Axfr(records))
            }
            (
                State::Delta {
                    done,
                    mut cur,
                    adding: false,
                },
                Some(s),
            ) => {
                cur.to = s;
                cur.added.push(r);
                Ok(State::Delta {
                    done,
                    cur,
                    adding: true,
                })
            }
            (
                State::Delta {
                    mut done,
                    cur,
                    adding: true,
                },
                Some(s),
            ) => {
                let last_to = cur.to;
                done.push(cur);
                if Some(s) == first_serial && last_to == s {
                    return Ok(State::Done(Received::Incremental { deltas: done }));
                }
                if s != last_to {
                    return Err(ReadError::Sequence(format!(
                        "an IXFR change starts from serial {s}, but the previous one ended at {last_to}"
                    )));
                }
                Ok(State::Delta {
                    done,
                    cur: Delta::starting(s, r),
                    adding: false,
                })
            }
            (
                State::Delta {
                    done,
                    mut cur,
                    adding,
                },
                None,
            ) => {
                if adding {
                    cur.added.push(r);
                } else {
                    cur.removed.push(r);
                }
                Ok(State::Delta { done, cur, adding })
            }
            (State::Done(_), _) => Err(ReadError::Sequence(format!(
                "{} {} after the final SOA",
                r.owner, r.rtype
            ))),
            (State::Failed, _) => Err(ReadError::Sequence("the transfer already failed".into())),
        }
    }

    /// An SOA during an AXFR: it must be the first one again, and ends the transfer.
    fn end_axfr(&self, mut records: Vec<Record>, r: Record, s: u32) -> Result<State, ReadError> {
        let Some(first) = &self.first else {
            return Err(ReadError::Sequence("no first SOA".into()));
        };
        if first.rdata != r.rdata {
            let f = soa_serial(&first.rdata).unwrap_or(0);
            return Err(ReadError::Sequence(format!(
                "the transfer's last SOA (serial {s}) differs from its first (serial {f})"
            )));
        }
        records.insert(0, first.clone());
        Ok(State::Done(Received::Full { records }))
    }
}

pub use zonecast_proto::rdata::{soa_fields, soa_serial};

#[cfg(test)]
mod tests;
