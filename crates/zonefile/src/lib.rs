//! RFC 1035 §5 master ("zone") files: reading with line-numbered errors, and writing.
//!
//! Reading implements RFC 1035 §5.1 entries (`[owner] [ttl] [class] type
//! rdata`, TTL and class in either order, a blank owner meaning the previous
//! one, `@`, relative and absolute names, parentheses, comments, quoted
//! strings and escapes), the `$ORIGIN` and `$INCLUDE` directives (§5.1) and
//! `$TTL` (RFC 2308 §4). TTLs take BIND units (`1h30m`, `1d`, `2w`). A
//! record without a TTL gets the last `$TTL`, else the previous record's TTL,
//! else it is an error. Rdata goes through [`zonecast_proto::rdata`], so
//! every type it knows (and RFC 3597 `\# len hex` for any type) is accepted.
//! [`load_file`] and [`load_str`] also apply the zone rules of
//! [`zonecast_zone::validate`].
//!
//! Not implemented: `$GENERATE` and other BIND extensions (an error names
//! them), classes other than IN (an error), files that are not UTF-8 (an
//! error), and `$INCLUDE` in text that was not read from a file (refused, so
//! uploaded zone text can't read server files).

#![warn(missing_docs)]

mod lexer;
mod reader;
mod writer;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;
use zonecast_proto::rdata::{parse_presentation, Token};
use zonecast_proto::{Name, Record, Rtype};
use zonecast_zone::validate::{validate_zone, Problem, Rule};

pub use writer::write_zone;

/// Where a record or an error comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file (as named when opened) or the label given to [`parse_str`].
    pub file: String,
    /// 1-based line number of the entry's first token.
    pub line: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The records of one zone file in file order, each with its location.
#[derive(Clone, Debug)]
pub struct ZoneFileData {
    /// The zone's origin (apex).
    pub origin: Name,
    /// Records in the order they appear (includes expanded in place).
    pub records: Vec<Record>,
    /// `locations[i]` is where `records[i]` was written.
    pub locations: Vec<Location>,
}

/// A zone rule broken by a loaded zone, located in the file where possible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneProblem {
    /// File of the offending record, or of the zone for zone-wide problems.
    pub file: String,
    /// Line of the offending record; `None` for zone-wide problems (no SOA, no apex NS).
    pub line: Option<u32>,
    /// The rule broken.
    pub rule: Rule,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ZoneProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Everything that can go wrong reading a zone file.
#[derive(Debug, thiserror::Error)]
pub enum ZoneFileError {
    /// A file could not be read; `location` is the `$INCLUDE` that named it, if any.
    #[error("{}cannot read {file}: {source}", location.as_ref().map(|l| format!("{l}: ")).unwrap_or_default())]
    Io {
        /// The file that could not be read.
        file: String,
        /// The `$INCLUDE` entry that named the file.
        location: Option<Location>,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A syntax or rdata error on one entry.
    #[error("{location}: {reason}")]
    Syntax {
        /// Where the entry starts (or where the tokenizer stopped).
        location: Location,
        /// What is wrong, naming the field where one applies.
        reason: String,
    },
    /// The origin is neither given, nor set by `$ORIGIN` before the first record, nor a file name.
    #[error("{file}: cannot tell the zone's origin: give one, put $ORIGIN before the first record, or name the file after the zone (example.com.zone)")]
    NoOrigin {
        /// The zone file.
        file: String,
    },
    /// The zone breaks zone rules; one problem per line of the message.
    #[error("{}", join_problems(problems))]
    Invalid {
        /// The problems, in file order, zone-wide ones first.
        problems: Vec<ZoneProblem>,
    },
    /// Standalone rdata text (see [`parse_rdata`]) is wrong.
    #[error("{reason}")]
    Rdata {
        /// What is wrong, naming the field.
        reason: String,
    },
}

fn join_problems(problems: &[ZoneProblem]) -> String {
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

/// The zone a file is named after: `example.com.zone`, `example.com.db` or `example.com` → `example.com.`.
///
/// Returns `None` when the name (without extension) is not plausibly a
/// domain name: empty, with empty labels, or with characters other than
/// letters, digits, `-` and `_`.
pub fn origin_from_file_name(path: &Path) -> Option<Name> {
    let file = path.file_name()?.to_str()?;
    let lower = file.to_ascii_lowercase();
    let stem = if lower.ends_with(".zone") {
        file.get(..file.len() - 5)?
    } else if lower.ends_with(".db") {
        file.get(..file.len() - 3)?
    } else {
        file
    };
    let stem = stem.strip_suffix('.').unwrap_or(stem);
    if stem.is_empty()
        || stem.split('.').any(str::is_empty)
        || !stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return None;
    }
    Name::from_presentation(&format!("{stem}."), None).ok()
}

/// Reads zone text (syntax and rdata only, no zone rules); `$INCLUDE` is refused.
///
/// `file_label` names the text in locations and errors.
pub fn parse_str(
    text: &str,
    origin: &Name,
    file_label: &str,
) -> Result<ZoneFileData, ZoneFileError> {
    reader::read_text(text, Some(origin), file_label)
}

/// Reads a zone file and the files it includes (syntax and rdata only, no zone rules).
///
/// The origin is `origin` when given, else the first `$ORIGIN` when it comes
/// before any record, else the file name ([`origin_from_file_name`]).
/// `$INCLUDE` paths are relative to the including file's directory and may
/// nest 16 deep.
pub fn parse_file(path: &Path, origin: Option<&Name>) -> Result<ZoneFileData, ZoneFileError> {
    reader::read_file(path, origin)
}

/// [`parse_file`], then the zone rules; a broken rule is an error at the offending record's line.
pub fn load_file(path: &Path, origin: Option<&Name>) -> Result<ZoneFileData, ZoneFileError> {
    let data = parse_file(path, origin)?;
    check(data, &path.display().to_string())
}

/// [`parse_str`], then the zone rules; a broken rule is an error at the offending record's line.
pub fn load_str(
    text: &str,
    origin: &Name,
    file_label: &str,
) -> Result<ZoneFileData, ZoneFileError> {
    let data = parse_str(text, origin, file_label)?;
    check(data, file_label)
}

fn check(data: ZoneFileData, file_label: &str) -> Result<ZoneFileData, ZoneFileError> {
    match validate_zone(&data.origin, &data.records) {
        Ok(()) => Ok(data),
        Err(problems) => Err(ZoneFileError::Invalid {
            problems: problems
                .into_iter()
                .map(|p| locate(p, &data.locations, file_label))
                .collect(),
        }),
    }
}

fn locate(p: Problem, locations: &[Location], file_label: &str) -> ZoneProblem {
    let loc = p.index.and_then(|i| locations.get(i));
    ZoneProblem {
        file: loc.map_or_else(|| file_label.to_string(), |l| l.file.clone()),
        line: loc.map(|l| l.line),
        rule: p.rule,
        message: p.message,
    }
}

/// Parses one record's rdata written as in a zone file (`10 mail`, `"v=spf1 -all"`).
///
/// Relative names are completed with `origin`. Parentheses, quotes, escapes
/// and comments work as in a zone file.
pub fn parse_rdata(rtype: Rtype, text: &str, origin: &Name) -> Result<Vec<u8>, ZoneFileError> {
    let mut lx = lexer::Lexer::new(text);
    let mut all: Vec<Token<'_>> = Vec::new();
    let mut toks = Vec::new();
    loop {
        match lx.next_entry(&mut toks) {
            Ok(Some(_)) => all.append(&mut toks),
            Ok(None) => break,
            Err(e) => return Err(ZoneFileError::Rdata { reason: e.reason }),
        }
    }
    parse_presentation(rtype, &all, origin).map_err(|e| ZoneFileError::Rdata {
        reason: e.to_string(),
    })
}
