//! A decoder for the messages of PostgreSQL's `pgoutput` logical decoding
//! plugin, protocol version 1 (PostgreSQL documentation, "Logical
//! Replication Message Formats",
//! <https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html>).
//!
//! [`decode`] takes the payload of one `XLogData` message (what follows the
//! 25-octet `w` header of the streaming replication protocol) and returns a
//! [`Message`] borrowing from it. It never panics: every read is bounds
//! checked, and a malformed or truncated message is a [`DecodeError`] naming
//! the octet offset where decoding stopped and what was expected there.
//!
//! Decoded: Begin (`B`), Commit (`C`), Origin (`O`), Relation (`R`), Type
//! (`Y`), Insert (`I`), Update (`U`), Delete (`D`), Truncate (`T`) and
//! logical decoding Message (`M`), with [`TupleData`] columns null (`n`),
//! unchanged TOAST (`u`), text (`t`) and binary (`b`). The streaming
//! (protocol 2) and two-phase (protocol 3) messages are refused as
//! [`DecodeErrorKind::UnknownTag`]: this follower asks for protocol 1.

use std::fmt;

/// Where decoding stopped and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("pgoutput message malformed at offset {offset}: {kind}")]
pub struct DecodeError {
    /// Octet offset in the message where the problem was found.
    pub offset: usize,
    /// What was wrong there.
    pub kind: DecodeErrorKind,
}

/// The kinds of malformed pgoutput input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// The message is empty: not even a tag.
    #[error("empty message")]
    Empty,
    /// A message tag this decoder does not know (or a protocol-2/3 message).
    #[error("unknown message tag 0x{0:02x}")]
    UnknownTag(u8),
    /// The input ended inside a field.
    #[error("truncated: {0} expected")]
    Truncated(&'static str),
    /// A string without its terminating NUL before the end of the message.
    #[error("unterminated string ({0})")]
    Unterminated(&'static str),
    /// A string that is not UTF-8.
    #[error("string is not UTF-8 ({0})")]
    NotUtf8(&'static str),
    /// A tuple or column marker other than the allowed ones.
    #[error("unexpected {what} marker 0x{found:02x}")]
    BadMarker {
        /// Which marker (`tuple`, `column`).
        what: &'static str,
        /// The octet found.
        found: u8,
    },
    /// A negative length or count.
    #[error("negative {0}")]
    Negative(&'static str),
    /// Octets left over after a complete message.
    #[error("{0} trailing octets")]
    Trailing(usize),
}

/// One decoded pgoutput message, borrowing strings and values from the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A transaction starts.
    Begin(Begin),
    /// The transaction committed.
    Commit(Commit),
    /// The transaction came from another origin.
    Origin(Origin<'a>),
    /// Describes a table; sent before the first change to it on a connection.
    Relation(Relation<'a>),
    /// Describes a data type (sent for non built-in types).
    Type(TypeMsg<'a>),
    /// A row inserted.
    Insert(Insert<'a>),
    /// A row updated.
    Update(Update<'a>),
    /// A row deleted.
    Delete(Delete<'a>),
    /// Tables truncated.
    Truncate(Truncate),
    /// A logical decoding message (`pg_logical_emit_message`).
    LogicalMessage(LogicalMessage<'a>),
}

impl Message<'_> {
    /// The message's name, for logs and problems.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Message::Begin(_) => "Begin",
            Message::Commit(_) => "Commit",
            Message::Origin(_) => "Origin",
            Message::Relation(_) => "Relation",
            Message::Type(_) => "Type",
            Message::Insert(_) => "Insert",
            Message::Update(_) => "Update",
            Message::Delete(_) => "Delete",
            Message::Truncate(_) => "Truncate",
            Message::LogicalMessage(_) => "Message",
        }
    }
}

/// `B`: the start of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Begin {
    /// The LSN of the transaction's commit record.
    pub final_lsn: u64,
    /// Commit time, microseconds since 2000-01-01 UTC.
    pub commit_time: i64,
    /// Transaction id.
    pub xid: u32,
}

/// `C`: the commit of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commit {
    /// Flags (currently always 0).
    pub flags: u8,
    /// The LSN of the commit record.
    pub commit_lsn: u64,
    /// The LSN just past the commit record: the position to confirm.
    pub end_lsn: u64,
    /// Commit time, microseconds since 2000-01-01 UTC.
    pub commit_time: i64,
}

/// `O`: the transaction's replication origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin<'a> {
    /// The commit LSN on the origin server.
    pub lsn: u64,
    /// The origin's name.
    pub name: &'a str,
}

/// One column of a [`Relation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelationColumn<'a> {
    /// Flags: 1 when the column is part of the replica identity key.
    pub flags: u8,
    /// The column's name.
    pub name: &'a str,
    /// The OID of the column's type.
    pub type_oid: u32,
    /// The type modifier (`atttypmod`).
    pub type_modifier: i32,
}

/// `R`: a table's name and columns, keyed by OID in later row messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relation<'a> {
    /// The table's OID.
    pub oid: u32,
    /// The schema (empty for `pg_catalog`).
    pub namespace: &'a str,
    /// The table name.
    pub name: &'a str,
    /// Replica identity setting: `d` default, `n` nothing, `f` full, `i` index.
    pub replica_identity: u8,
    /// The columns, in tuple order.
    pub columns: Vec<RelationColumn<'a>>,
}

/// `Y`: a data type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeMsg<'a> {
    /// The type's OID.
    pub oid: u32,
    /// Its schema (empty for `pg_catalog`).
    pub namespace: &'a str,
    /// Its name.
    pub name: &'a str,
}

/// One column value of a [`TupleData`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column<'a> {
    /// `n`: NULL.
    Null,
    /// `u`: an unchanged TOASTed value, not sent.
    Unchanged,
    /// `t`: the value in text format.
    Text(&'a [u8]),
    /// `b`: the value in binary format.
    Binary(&'a [u8]),
}

/// A row's columns as sent (in the relation's column order).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TupleData<'a> {
    /// The columns.
    pub columns: Vec<Column<'a>>,
}

/// `I`: a row inserted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insert<'a> {
    /// The table's OID.
    pub relation: u32,
    /// The new row.
    pub new: TupleData<'a>,
}

/// Which old row an [`Update`] or [`Delete`] carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OldKind {
    /// `K`: the replica identity key columns only (the others are null).
    Key,
    /// `O`: the whole old row (`REPLICA IDENTITY FULL`).
    Full,
}

/// `U`: a row updated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update<'a> {
    /// The table's OID.
    pub relation: u32,
    /// The old key or row, when the identity changed or is `FULL`.
    pub old: Option<(OldKind, TupleData<'a>)>,
    /// The new row.
    pub new: TupleData<'a>,
}

/// `D`: a row deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delete<'a> {
    /// The table's OID.
    pub relation: u32,
    /// Which old row is carried.
    pub kind: OldKind,
    /// The old key or row.
    pub old: TupleData<'a>,
}

/// `T`: tables truncated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Truncate {
    /// Option bits: 1 `CASCADE`, 2 `RESTART IDENTITY`.
    pub options: u8,
    /// The OIDs of the tables.
    pub relations: Vec<u32>,
}

/// `M`: a logical decoding message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogicalMessage<'a> {
    /// Flags: 1 when the message is transactional.
    pub flags: u8,
    /// The message's LSN.
    pub lsn: u64,
    /// The prefix given to `pg_logical_emit_message`.
    pub prefix: &'a str,
    /// The content.
    pub content: &'a [u8],
}

/// A bounds-checked reader over one message.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            offset: self.pos,
            kind,
        }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.err(DecodeErrorKind::Truncated(what)))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| self.err(DecodeErrorKind::Truncated(what)))?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn i16(&mut self, what: &'static str) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    /// A length or count that must not be negative.
    fn count_i16(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let at = self.pos;
        let n = self.i16(what)?;
        usize::try_from(n).map_err(|_| DecodeError {
            offset: at,
            kind: DecodeErrorKind::Negative(what),
        })
    }

    fn count_i32(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let at = self.pos;
        let n = self.i32(what)?;
        usize::try_from(n).map_err(|_| DecodeError {
            offset: at,
            kind: DecodeErrorKind::Negative(what),
        })
    }

    /// A NUL-terminated UTF-8 string.
    fn string(&mut self, what: &'static str) -> Result<&'a str, DecodeError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| self.err(DecodeErrorKind::Unterminated(what)))?;
        let bytes = rest.get(..len).unwrap_or_default();
        let s = std::str::from_utf8(bytes).map_err(|_| self.err(DecodeErrorKind::NotUtf8(what)))?;
        self.pos += len + 1;
        Ok(s)
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn tuple(&mut self) -> Result<TupleData<'a>, DecodeError> {
        let n = self.count_i16("tuple column count")?;
        // Each column takes at least one octet: refuse absurd counts before allocating.
        if n > self.remaining() {
            return Err(self.err(DecodeErrorKind::Truncated("tuple columns")));
        }
        let mut columns = Vec::with_capacity(n);
        for _ in 0..n {
            let at = self.pos;
            let col = match self.u8("column marker")? {
                b'n' => Column::Null,
                b'u' => Column::Unchanged,
                b't' => {
                    let len = self.count_i32("column length")?;
                    Column::Text(self.take(len, "column value")?)
                }
                b'b' => {
                    let len = self.count_i32("column length")?;
                    Column::Binary(self.take(len, "column value")?)
                }
                found => {
                    return Err(DecodeError {
                        offset: at,
                        kind: DecodeErrorKind::BadMarker {
                            what: "column",
                            found,
                        },
                    })
                }
            };
            columns.push(col);
        }
        Ok(TupleData { columns })
    }

    /// A tuple preceded by its marker, which must be `expected`.
    fn marked_tuple(&mut self, expected: u8) -> Result<TupleData<'a>, DecodeError> {
        let at = self.pos;
        let m = self.u8("tuple marker")?;
        if m != expected {
            return Err(DecodeError {
                offset: at,
                kind: DecodeErrorKind::BadMarker {
                    what: "tuple",
                    found: m,
                },
            });
        }
        self.tuple()
    }
}

/// Decodes one pgoutput (protocol 1) message.
pub fn decode(buf: &[u8]) -> Result<Message<'_>, DecodeError> {
    let mut r = Reader { buf, pos: 0 };
    let tag = match buf.first() {
        Some(&t) => t,
        None => {
            return Err(DecodeError {
                offset: 0,
                kind: DecodeErrorKind::Empty,
            })
        }
    };
    r.pos = 1;
    let msg = match tag {
        b'B' => Message::Begin(Begin {
            final_lsn: r.u64("final LSN")?,
            commit_time: r.i64("commit timestamp")?,
            xid: r.u32("xid")?,
        }),
        b'C' => Message::Commit(Commit {
            flags: r.u8("flags")?,
            commit_lsn: r.u64("commit LSN")?,
            end_lsn: r.u64("end LSN")?,
            commit_time: r.i64("commit timestamp")?,
        }),
        b'O' => Message::Origin(Origin {
            lsn: r.u64("origin LSN")?,
            name: r.string("origin name")?,
        }),
        b'R' => {
            let oid = r.u32("relation OID")?;
            let namespace = r.string("namespace")?;
            let name = r.string("relation name")?;
            let replica_identity = r.u8("replica identity")?;
            let n = r.count_i16("column count")?;
            // A column takes at least 10 octets.
            if n > r.remaining() / 10 + 1 {
                return Err(r.err(DecodeErrorKind::Truncated("relation columns")));
            }
            let mut columns = Vec::with_capacity(n);
            for _ in 0..n {
                columns.push(RelationColumn {
                    flags: r.u8("column flags")?,
                    name: r.string("column name")?,
                    type_oid: r.u32("column type OID")?,
                    type_modifier: r.i32("column type modifier")?,
                });
            }
            Message::Relation(Relation {
                oid,
                namespace,
                name,
                replica_identity,
                columns,
            })
        }
        b'Y' => Message::Type(TypeMsg {
            oid: r.u32("type OID")?,
            namespace: r.string("type namespace")?,
            name: r.string("type name")?,
        }),
        b'I' => {
            let relation = r.u32("relation OID")?;
            let new = r.marked_tuple(b'N')?;
            Message::Insert(Insert { relation, new })
        }
        b'U' => {
            let relation = r.u32("relation OID")?;
            let at = r.pos;
            let old = match r.u8("tuple marker")? {
                b'K' => Some((OldKind::Key, r.tuple()?)),
                b'O' => Some((OldKind::Full, r.tuple()?)),
                b'N' => {
                    r.pos = at;
                    None
                }
                found => {
                    return Err(DecodeError {
                        offset: at,
                        kind: DecodeErrorKind::BadMarker {
                            what: "tuple",
                            found,
                        },
                    })
                }
            };
            let new = r.marked_tuple(b'N')?;
            Message::Update(Update { relation, old, new })
        }
        b'D' => {
            let relation = r.u32("relation OID")?;
            let at = r.pos;
            let kind = match r.u8("tuple marker")? {
                b'K' => OldKind::Key,
                b'O' => OldKind::Full,
                found => {
                    return Err(DecodeError {
                        offset: at,
                        kind: DecodeErrorKind::BadMarker {
                            what: "tuple",
                            found,
                        },
                    })
                }
            };
            let old = r.tuple()?;
            Message::Delete(Delete {
                relation,
                kind,
                old,
            })
        }
        b'T' => {
            let n = r.count_i32("relation count")?;
            let options = r.u8("truncate options")?;
            if n > r.remaining() / 4 {
                return Err(r.err(DecodeErrorKind::Truncated("truncated relation OIDs")));
            }
            let mut relations = Vec::with_capacity(n);
            for _ in 0..n {
                relations.push(r.u32("relation OID")?);
            }
            Message::Truncate(Truncate { options, relations })
        }
        b'M' => {
            let flags = r.u8("flags")?;
            let lsn = r.u64("message LSN")?;
            let prefix = r.string("message prefix")?;
            let len = r.count_i32("content length")?;
            let content = r.take(len, "message content")?;
            Message::LogicalMessage(LogicalMessage {
                flags,
                lsn,
                prefix,
                content,
            })
        }
        other => {
            return Err(DecodeError {
                offset: 0,
                kind: DecodeErrorKind::UnknownTag(other),
            })
        }
    };
    if r.remaining() != 0 {
        return Err(r.err(DecodeErrorKind::Trailing(r.remaining())));
    }
    Ok(msg)
}

/// Formats an LSN the way PostgreSQL does: `X/XXXXXXXX` (upper 32 bits, lower 32 bits, hex).
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)
}

/// Parses an LSN in PostgreSQL's `X/X` form.
pub fn parse_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.trim().split_once('/')?;
    let hi = u32::from_str_radix(hi, 16).ok()?;
    let lo = u32::from_str_radix(lo, 16).ok()?;
    Some((u64::from(hi) << 32) | u64::from(lo))
}

/// An LSN shown in PostgreSQL's form (for `Display` in logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Lsn(pub u64);

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xffff_ffff)
    }
}

/// Encoders for building messages in tests, the fuzz seed corpus and tools.
///
/// They write what [`decode`] reads, in the same formats PostgreSQL sends.
pub mod encode {
    use super::{Column, OldKind, TupleData};

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    fn tuple(out: &mut Vec<u8>, t: &TupleData<'_>) {
        out.extend_from_slice(&(t.columns.len() as i16).to_be_bytes());
        for c in &t.columns {
            match c {
                Column::Null => out.push(b'n'),
                Column::Unchanged => out.push(b'u'),
                Column::Text(v) | Column::Binary(v) => {
                    out.push(if matches!(c, Column::Text(_)) {
                        b't'
                    } else {
                        b'b'
                    });
                    out.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    out.extend_from_slice(v);
                }
            }
        }
    }

    /// `B`.
    pub fn begin(final_lsn: u64, commit_time: i64, xid: u32) -> Vec<u8> {
        let mut out = vec![b'B'];
        out.extend_from_slice(&final_lsn.to_be_bytes());
        out.extend_from_slice(&commit_time.to_be_bytes());
        out.extend_from_slice(&xid.to_be_bytes());
        out
    }

    /// `C`.
    pub fn commit(commit_lsn: u64, end_lsn: u64, commit_time: i64) -> Vec<u8> {
        let mut out = vec![b'C', 0];
        out.extend_from_slice(&commit_lsn.to_be_bytes());
        out.extend_from_slice(&end_lsn.to_be_bytes());
        out.extend_from_slice(&commit_time.to_be_bytes());
        out
    }

    /// `O`.
    pub fn origin(lsn: u64, name: &str) -> Vec<u8> {
        let mut out = vec![b'O'];
        out.extend_from_slice(&lsn.to_be_bytes());
        string(&mut out, name);
        out
    }

    /// `R`, columns as (flags, name, type OID, type modifier).
    pub fn relation(
        oid: u32,
        namespace: &str,
        name: &str,
        identity: u8,
        columns: &[(u8, &str, u32, i32)],
    ) -> Vec<u8> {
        let mut out = vec![b'R'];
        out.extend_from_slice(&oid.to_be_bytes());
        string(&mut out, namespace);
        string(&mut out, name);
        out.push(identity);
        out.extend_from_slice(&(columns.len() as i16).to_be_bytes());
        for (flags, name, ty, modifier) in columns {
            out.push(*flags);
            string(&mut out, name);
            out.extend_from_slice(&ty.to_be_bytes());
            out.extend_from_slice(&modifier.to_be_bytes());
        }
        out
    }

    /// `Y`.
    pub fn type_msg(oid: u32, namespace: &str, name: &str) -> Vec<u8> {
        let mut out = vec![b'Y'];
        out.extend_from_slice(&oid.to_be_bytes());
        string(&mut out, namespace);
        string(&mut out, name);
        out
    }

    /// `I`.
    pub fn insert(relation: u32, new: &TupleData<'_>) -> Vec<u8> {
        let mut out = vec![b'I'];
        out.extend_from_slice(&relation.to_be_bytes());
        out.push(b'N');
        tuple(&mut out, new);
        out
    }

    /// `U`.
    pub fn update(
        relation: u32,
        old: Option<(OldKind, &TupleData<'_>)>,
        new: &TupleData<'_>,
    ) -> Vec<u8> {
        let mut out = vec![b'U'];
        out.extend_from_slice(&relation.to_be_bytes());
        if let Some((kind, t)) = old {
            out.push(if kind == OldKind::Key { b'K' } else { b'O' });
            tuple(&mut out, t);
        }
        out.push(b'N');
        tuple(&mut out, new);
        out
    }

    /// `D`.
    pub fn delete(relation: u32, kind: OldKind, old: &TupleData<'_>) -> Vec<u8> {
        let mut out = vec![b'D'];
        out.extend_from_slice(&relation.to_be_bytes());
        out.push(if kind == OldKind::Key { b'K' } else { b'O' });
        tuple(&mut out, old);
        out
    }

    /// `T`.
    pub fn truncate(options: u8, relations: &[u32]) -> Vec<u8> {
        let mut out = vec![b'T'];
        out.extend_from_slice(&(relations.len() as i32).to_be_bytes());
        out.push(options);
        for r in relations {
            out.extend_from_slice(&r.to_be_bytes());
        }
        out
    }

    /// `M`.
    pub fn message(flags: u8, lsn: u64, prefix: &str, content: &[u8]) -> Vec<u8> {
        let mut out = vec![b'M', flags];
        out.extend_from_slice(&lsn.to_be_bytes());
        string(&mut out, prefix);
        out.extend_from_slice(&(content.len() as i32).to_be_bytes());
        out.extend_from_slice(content);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::encode as e;
    use super::*;

    fn samples() -> Vec<Vec<u8>> {
        let t = TupleData {
            columns: vec![
                Column::Text(b"42"),
                Column::Null,
                Column::Unchanged,
                Column::Binary(&[0, 0, 0, 0, 0, 0, 0, 7]),
                Column::Text(b""),
            ],
        };
        vec![
            e::begin(0x1_0000_0010, 123_456, 77),
            e::commit(0x10, 0x28, 99),
            e::origin(5, "node_a"),
            e::relation(
                16384,
                "public",
                "zones",
                b'f',
                &[(1, "id", 20, -1), (0, "name", 25, -1)],
            ),
            e::type_msg(99999, "public", "mytype"),
            e::insert(16384, &t),
            e::update(16384, None, &t),
            e::update(16384, Some((OldKind::Full, &t)), &t),
            e::update(16384, Some((OldKind::Key, &t)), &t),
            e::delete(16384, OldKind::Key, &t),
            e::delete(16384, OldKind::Full, &t),
            e::truncate(3, &[1, 2, 3]),
            e::message(1, 0x55, "zonecast", b"hello"),
        ]
    }

    #[test]
    fn round_trips() {
        let s = samples();
        match decode(&s[0]).unwrap() {
            Message::Begin(b) => {
                assert_eq!(b.final_lsn, 0x1_0000_0010);
                assert_eq!(b.commit_time, 123_456);
                assert_eq!(b.xid, 77);
            }
            m => panic!("{m:?}"),
        }
        match decode(&s[1]).unwrap() {
            Message::Commit(c) => {
                assert_eq!((c.commit_lsn, c.end_lsn, c.commit_time), (0x10, 0x28, 99))
            }
            m => panic!("{m:?}"),
        }
        assert_eq!(
            decode(&s[2]).unwrap(),
            Message::Origin(Origin {
                lsn: 5,
                name: "node_a"
            })
        );
        match decode(&s[3]).unwrap() {
            Message::Relation(r) => {
                assert_eq!(r.oid, 16384);
                assert_eq!(
                    (r.namespace, r.name, r.replica_identity),
                    ("public", "zones", b'f')
                );
                assert_eq!(r.columns.len(), 2);
                assert_eq!(r.columns[0].name, "id");
                assert_eq!(r.columns[0].flags, 1);
                assert_eq!(r.columns[1].type_oid, 25);
                assert_eq!(r.columns[1].type_modifier, -1);
            }
            m => panic!("{m:?}"),
        }
        assert!(matches!(decode(&s[4]).unwrap(), Message::Type(t) if t.name == "mytype"));
        match decode(&s[5]).unwrap() {
            Message::Insert(i) => {
                assert_eq!(i.relation, 16384);
                assert_eq!(i.new.columns[0], Column::Text(b"42"));
                assert_eq!(i.new.columns[1], Column::Null);
                assert_eq!(i.new.columns[2], Column::Unchanged);
                assert_eq!(i.new.columns[3], Column::Binary(&[0, 0, 0, 0, 0, 0, 0, 7]));
                assert_eq!(i.new.columns[4], Column::Text(b""));
            }
            m => panic!("{m:?}"),
        }
        assert!(matches!(decode(&s[6]).unwrap(), Message::Update(u) if u.old.is_none()));
        assert!(
            matches!(decode(&s[7]).unwrap(), Message::Update(u) if matches!(u.old, Some((OldKind::Full, _))))
        );
        assert!(
            matches!(decode(&s[8]).unwrap(), Message::Update(u) if matches!(u.old, Some((OldKind::Key, _))))
        );
        assert!(matches!(decode(&s[9]).unwrap(), Message::Delete(d) if d.kind == OldKind::Key));
        assert!(matches!(decode(&s[10]).unwrap(), Message::Delete(d) if d.kind == OldKind::Full));
        assert_eq!(
            decode(&s[11]).unwrap(),
            Message::Truncate(Truncate {
                options: 3,
                relations: vec![1, 2, 3]
            })
        );
        match decode(&s[12]).unwrap() {
            Message::LogicalMessage(m) => {
                assert_eq!(
                    (m.flags, m.lsn, m.prefix, m.content),
                    (1, 0x55, "zonecast", &b"hello"[..])
                )
            }
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn truncated_at_every_offset_is_an_error() {
        for s in samples() {
            for cut in 0..s.len() {
                let err = decode(&s[..cut]).expect_err("a cut message must not decode");
                assert!(err.offset <= cut, "offset {} past cut {cut}", err.offset);
                if cut == 0 {
                    assert_eq!(err.kind, DecodeErrorKind::Empty);
                }
            }
            // One octet more is trailing garbage.
            let mut long = s.clone();
            long.push(0);
            let err = decode(&long).unwrap_err();
            assert_eq!(err.kind, DecodeErrorKind::Trailing(1));
            assert_eq!(err.offset, s.len());
        }
    }

    #[test]
    fn precise_errors() {
        let err = decode(b"Z").unwrap_err();
        assert_eq!(
            (err.offset, err.kind),
            (0, DecodeErrorKind::UnknownTag(b'Z'))
        );
        // Insert with an 'X' tuple marker.
        let err = decode(&[b'I', 0, 0, 0, 1, b'X']).unwrap_err();
        assert_eq!(err.offset, 5);
        assert!(matches!(
            err.kind,
            DecodeErrorKind::BadMarker {
                what: "tuple",
                found: b'X'
            }
        ));
        // Bad column marker at offset 8.
        let err = decode(&[b'I', 0, 0, 0, 1, b'N', 0, 1, b'q']).unwrap_err();
        assert_eq!(err.offset, 8);
        // Negative column count.
        let err = decode(&[b'I', 0, 0, 0, 1, b'N', 0xff, 0xff]).unwrap_err();
        assert_eq!(err.offset, 6);
        assert_eq!(err.kind, DecodeErrorKind::Negative("tuple column count"));
        // Negative value length.
        let err =
            decode(&[b'I', 0, 0, 0, 1, b'N', 0, 1, b't', 0xff, 0xff, 0xff, 0xff]).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Negative("column length"));
        // Huge value length.
        let err =
            decode(&[b'I', 0, 0, 0, 1, b'N', 0, 1, b't', 0x7f, 0xff, 0xff, 0xff]).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Truncated("column value"));
        assert_eq!(err.offset, 13);
        // Unterminated and non-UTF-8 strings.
        let err = decode(&[b'O', 0, 0, 0, 0, 0, 0, 0, 0, b'a', b'b']).unwrap_err();
        assert_eq!(
            (err.offset, err.kind),
            (9, DecodeErrorKind::Unterminated("origin name"))
        );
        let err = decode(&[b'O', 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0]).unwrap_err();
        assert_eq!(
            (err.offset, err.kind),
            (9, DecodeErrorKind::NotUtf8("origin name"))
        );
        // Huge counts do not allocate.
        let err = decode(&[b'T', 0x7f, 0xff, 0xff, 0xff, 0]).unwrap_err();
        assert!(matches!(err.kind, DecodeErrorKind::Truncated(_)));
        let mut r = e::relation(1, "a", "b", b'd', &[]);
        let n = r.len();
        r[n - 2..].copy_from_slice(&0x7fffi16.to_be_bytes());
        assert!(decode(&r).is_err());
        // Protocol 2 stream start is refused.
        assert_eq!(
            decode(b"S\0\0\0\x01\x01").unwrap_err().kind,
            DecodeErrorKind::UnknownTag(b'S')
        );
        assert!(DecodeError {
            offset: 3,
            kind: DecodeErrorKind::Empty
        }
        .to_string()
        .contains("offset 3"));
    }

    #[test]
    fn byte_soup_never_panics() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let tags = b"BCORYIUDTMNKOntub";
        for i in 0..20_000u32 {
            let len = (x % 48) as usize;
            let mut buf: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if matches!(x % 3, 0) {
                        tags[(x >> 8) as usize % tags.len()]
                    } else {
                        (x >> 24) as u8
                    }
                })
                .collect();
            if let Some(f) = buf.first_mut() {
                *f = tags[i as usize % 10];
            }
            let _ = decode(&buf);
        }
    }

    #[test]
    fn lsn_text() {
        assert_eq!(format_lsn(0x1_0000_00AB), "1/AB");
        assert_eq!(parse_lsn("1/AB"), Some(0x1_0000_00AB));
        assert_eq!(parse_lsn("0/0"), Some(0));
        assert_eq!(parse_lsn("x"), None);
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
    }
}
