//! The error type of the wire-format crate.

use std::fmt;

/// Everything that can go wrong while parsing or building DNS data.
///
/// Errors carry a short static reason plus, where it helps, the offending
/// text or offset; they never carry the whole input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A wire-format structure ended before its declared length.
    ShortInput(&'static str),
    /// A wire-format structure is malformed (bad label, pointer loop, ...).
    Malformed(&'static str),
    /// A presentation-format token could not be parsed.
    Syntax(String),
    /// A name is longer than 255 octets or a label longer than 63.
    NameTooLong,
    /// A built message or field would exceed its size limit.
    NoSpace,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ShortInput(what) => write!(f, "truncated input: {what}"),
            Error::Malformed(what) => write!(f, "malformed data: {what}"),
            Error::Syntax(what) => write!(f, "{what}"),
            Error::NameTooLong => f.write_str("name or label too long"),
            Error::NoSpace => f.write_str("no space left in message"),
        }
    }
}

impl std::error::Error for Error {}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for a presentation-format syntax error.
pub(crate) fn syntax(msg: impl Into<String>) -> Error {
    Error::Syntax(msg.into())
}
