//! Turns lexer entries into records: directives, owner/TTL/class/type, rdata, includes.

use crate::lexer::{EntryStart, Lexer};
use crate::{origin_from_file_name, Location, ZoneFileData, ZoneFileError};
use std::path::{Path, PathBuf};
use zonecast_proto::rdata::{parse_presentation, Token};
use zonecast_proto::{Class, Name, Record, Rtype};

/// Deepest `$INCLUDE` nesting accepted.
const MAX_INCLUDE_DEPTH: usize = 16;

/// State shared by a file and everything it includes.
struct Reader {
    /// The zone origin once known.
    zone_origin: Option<Name>,
    /// Origin to fall back on when the file sets none (from the top file's name).
    name_origin: Option<Name>,
    /// Label of the top file, for errors about the whole zone.
    top_label: String,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    /// Canonical paths of the files being read, outermost first.
    stack: Vec<PathBuf>,
    /// False for text not read from a file: `$INCLUDE` is refused.
    allow_include: bool,
    records: Vec<Record>,
    locations: Vec<Location>,
}

/// Per-file state that `$INCLUDE` saves and restores (RFC 1035 §5.1).
#[derive(Clone)]
struct FileState {
    origin: Option<Name>,
    last_owner: Option<Name>,
}

pub(crate) fn read_text(
    text: &str,
    origin: Option<&Name>,
    label: &str,
) -> Result<ZoneFileData, ZoneFileError> {
    let mut r = Reader {
        zone_origin: origin.cloned(),
        name_origin: None,
        top_label: label.to_string(),
        default_ttl: None,
        last_ttl: None,
        stack: Vec::new(),
        allow_include: false,
        records: Vec::new(),
        locations: Vec::new(),
    };
    let state = FileState {
        origin: origin.cloned(),
        last_owner: None,
    };
    r.read(text, label, None, state)?;
    r.finish()
}

pub(crate) fn read_file(path: &Path, origin: Option<&Name>) -> Result<ZoneFileData, ZoneFileError> {
    let label = path.display().to_string();
    let text = read_to_string(path, &label, None)?;
    let mut r = Reader {
        zone_origin: origin.cloned(),
        name_origin: origin_from_file_name(path),
        top_label: label.clone(),
        default_ttl: None,
        last_ttl: None,
        stack: vec![path.canonicalize().unwrap_or_else(|_| path.to_path_buf())],
        allow_include: true,
        records: Vec::new(),
        locations: Vec::new(),
    };
    let state = FileState {
        origin: origin.cloned(),
        last_owner: None,
    };
    r.read(&text, &label, path.parent(), state)?;
    r.finish()
}

fn read_to_string(
    path: &Path,
    label: &str,
    from: Option<&Location>,
) -> Result<String, ZoneFileError> {
    let bytes = std::fs::read(path).map_err(|source| ZoneFileError::Io {
        file: label.to_string(),
        location: from.cloned(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let line = e
            .as_bytes()
            .get(..e.utf8_error().valid_up_to())
            .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count()) as u32
            + 1;
        ZoneFileError::Syntax {
            location: Location {
                file: label.to_string(),
                line,
            },
            reason: "the file is not valid UTF-8".to_string(),
        }
    })
}

fn syntax(file: &str, line: u32, reason: impl Into<String>) -> ZoneFileError {
    ZoneFileError::Syntax {
        location: Location {
            file: file.to_string(),
            line,
        },
        reason: reason.into(),
    }
}

/// A TTL: a number of seconds or BIND units (`1h30m`, `2d`, `1w`), at most 2^32−1.
pub(crate) fn parse_ttl(text: &str) -> Option<u32> {
    zonecast_proto::rdata::parse_duration(text)
}

impl Reader {
    fn finish(self) -> Result<ZoneFileData, ZoneFileError> {
        let origin = match self.zone_origin.or(self.name_origin) {
            Some(o) => o,
            None => {
                return Err(ZoneFileError::NoOrigin {
                    file: self.top_label,
                })
            }
        };
        Ok(ZoneFileData {
            origin,
            records: self.records,
            locations: self.locations,
        })
    }

    /// The origin for a record of `file` at `line`, fixing the zone origin on first use.
    fn origin_for_record(&mut self, state: &mut FileState) -> Result<Name, ZoneFileError> {
        if let Some(o) = &state.origin {
            return Ok(o.clone());
        }
        if self.zone_origin.is_none() {
            self.zone_origin = self.name_origin.clone();
        }
        match &self.zone_origin {
            Some(o) => {
                state.origin = Some(o.clone());
                Ok(o.clone())
            }
            None => Err(ZoneFileError::NoOrigin {
                file: self.top_label.clone(),
            }),
        }
    }

    fn read(
        &mut self,
        text: &str,
        file: &str,
        dir: Option<&Path>,
        mut state: FileState,
    ) -> Result<(), ZoneFileError> {
        let mut lx = Lexer::new(text);
        let mut toks: Vec<Token<'_>> = Vec::new();
        loop {
            let start = match lx.next_entry(&mut toks) {
                Ok(Some(s)) => s,
                Ok(None) => return Ok(()),
                Err(e) => return Err(syntax(file, e.line, e.reason)),
            };
            let Some(first) = toks.first().copied() else {
                continue;
            };
            if !first.quoted && first.text.starts_with('$') {
                self.directive(&toks, start.line, file, dir, &mut state)?;
            } else {
                self.record(&toks, start, file, &mut state)?;
            }
        }
    }

    fn directive(
        &mut self,
        toks: &[Token<'_>],
        line: u32,
        file: &str,
        dir: Option<&Path>,
        state: &mut FileState,
    ) -> Result<(), ZoneFileError> {
        let name = toks.first().map_or("", |t| t.text);
        let args = toks.get(1..).unwrap_or(&[]);
        let err = |reason: String| syntax(file, line, reason);
        match name.to_ascii_uppercase().as_str() {
            "$ORIGIN" => {
                let [arg] = args else {
                    return Err(err("$ORIGIN takes exactly one domain name".to_string()));
                };
                let o = Name::from_presentation(arg.text, state.origin.as_ref())
                    .map_err(|e| err(format!("$ORIGIN: {e}")))?;
                if self.zone_origin.is_none() && self.records.is_empty() {
                    self.zone_origin = Some(o.clone());
                }
                state.origin = Some(o);
            }
            "$TTL" => {
                let [arg] = args else {
                    return Err(err("$TTL takes exactly one TTL".to_string()));
                };
                let ttl = parse_ttl(arg.text).ok_or_else(|| {
                    err(format!(
                        "$TTL: '{}' is not a TTL (seconds or units like 1h30m)",
                        arg.text
                    ))
                })?;
                self.default_ttl = Some(ttl);
            }
            "$INCLUDE" => {
                if !self.allow_include {
                    return Err(err(
                        "$INCLUDE is only allowed in zone files read from disk".to_string()
                    ));
                }
                let (path_tok, origin_tok) = match args {
                    [p] => (p, None),
                    [p, o] => (p, Some(o)),
                    _ => {
                        return Err(err(
                            "$INCLUDE takes a file name and an optional origin".to_string()
                        ))
                    }
                };
                let raw = PathBuf::from(path_tok.text);
                let path = match dir {
                    Some(d) if raw.is_relative() => d.join(&raw),
                    _ => raw,
                };
                let inc_origin = match origin_tok {
                    Some(o) => Some(
                        Name::from_presentation(o.text, state.origin.as_ref())
                            .map_err(|e| err(format!("$INCLUDE origin: {e}")))?,
                    ),
                    None => state.origin.clone(),
                };
                let label = path.display().to_string();
                if self.stack.len() > MAX_INCLUDE_DEPTH {
                    return Err(err(format!(
                        "$INCLUDE {label}: includes nested more than {MAX_INCLUDE_DEPTH} deep"
                    )));
                }
                let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
                if self.stack.contains(&canonical) {
                    return Err(err(format!(
                        "$INCLUDE {label}: include loop (the file is already being read)"
                    )));
                }
                let here = Location {
                    file: file.to_string(),
                    line,
                };
                let text = read_to_string(&path, &label, Some(&here))?;
                self.stack.push(canonical);
                let inner = FileState {
                    origin: inc_origin,
                    last_owner: state.last_owner.clone(),
                };
                let result = self.read(&text, &label, path.parent(), inner);
                self.stack.pop();
                result?;
            }
            "$GENERATE" => return Err(err("$GENERATE is not supported".to_string())),
            _ => return Err(err(format!("unknown directive '{name}'"))),
        }
        Ok(())
    }

    fn record(
        &mut self,
        toks: &[Token<'_>],
        start: EntryStart,
        file: &str,
        state: &mut FileState,
    ) -> Result<(), ZoneFileError> {
        let line = start.line;
        let err = |reason: String| syntax(file, line, reason);
        let origin = self.origin_for_record(state)?;
        let mut rest = toks;
        let owner = if start.blank_owner {
            state.last_owner.clone().ok_or_else(|| {
                err(
                    "the line starts with whitespace but there is no previous owner name"
                        .to_string(),
                )
            })?
        } else {
            let (first, tail) = rest
                .split_first()
                .ok_or_else(|| err("empty entry".to_string()))?;
            rest = tail;
            Name::from_presentation(first.text, Some(&origin))
                .map_err(|e| err(format!("owner name: {e}")))?
        };
        let mut ttl: Option<u32> = None;
        let mut class: Option<Class> = None;
        while let Some((t, tail)) = rest.split_first() {
            if t.quoted {
                break;
            }
            if class.is_none() && !t.text.starts_with(|c: char| c.is_ascii_digit()) {
                if let Ok(c) = Class::from_text(t.text) {
                    if c != Class::IN {
                        return Err(err(format!("class {c} is not supported; only IN")));
                    }
                    class = Some(c);
                    rest = tail;
                    continue;
                }
            }
            if ttl.is_none() && t.text.starts_with(|c: char| c.is_ascii_digit()) {
                ttl = Some(parse_ttl(t.text).ok_or_else(|| {
                    err(format!(
                        "'{}' is not a TTL (seconds up to 4294967295 or units like 1h30m)",
                        t.text
                    ))
                })?);
                rest = tail;
                continue;
            }
            break;
        }
        let (type_tok, rdata) = rest
            .split_first()
            .ok_or_else(|| err("the record has no type".to_string()))?;
        // Rtype::from_text slices bytes: keep non-ASCII text (never a type) away from it.
        if !type_tok.text.is_ascii() {
            return Err(err(format!("unknown record type '{}'", type_tok.text)));
        }
        let rtype = Rtype::from_text(type_tok.text).map_err(|e| err(e.to_string()))?;
        let rdata = parse_presentation(rtype, rdata, &origin).map_err(|e| err(e.to_string()))?;
        let ttl = match ttl.or(self.default_ttl).or(self.last_ttl) {
            Some(t) => t,
            None => return Err(err(
                "the record has no TTL, and there is no $TTL or previous record to take one from"
                    .to_string(),
            )),
        };
        self.last_ttl = Some(ttl);
        state.last_owner = Some(owner.clone());
        self.records.push(Record {
            owner,
            rtype,
            class: Class::IN,
            ttl,
            rdata: rdata.into(),
        });
        self.locations.push(Location {
            file: file.to_string(),
            line,
        });
        Ok(())
    }
}
