//! Master file tokenizer (RFC 1035 §5.1): cuts text into entries of tokens.
//!
//! Whitespace separates tokens; `;` starts a comment; `(` … `)` join lines
//! (a newline inside parentheses is whitespace); `"…"` is one token with
//! escapes kept raw (a quote inside is written `\"`). A `"` inside an
//! unquoted token (as in `alpn="h2,h3"`) quotes up to the next `"` and stays
//! part of that token. A backslash always protects the next character.
//! An entry whose first line starts with a space or tab has a blank owner.

use zonecast_proto::rdata::Token;

/// A tokenizer error: the line it happened on and why.
#[derive(Debug)]
pub(crate) struct LexError {
    pub(crate) line: u32,
    pub(crate) reason: String,
}

/// The start of one entry returned by [`Lexer::next_entry`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryStart {
    /// Line of the entry's first token.
    pub(crate) line: u32,
    /// True when the entry's first line starts with whitespace (owner omitted).
    pub(crate) blank_owner: bool,
}

/// Cuts a whole master file into entries.
pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: u32,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        Lexer {
            src,
            pos: 0,
            line: 1,
        }
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.src.as_bytes().get(at).copied()
    }

    fn line_starts_blank(&self) -> bool {
        matches!(self.byte(self.pos), Some(b' ' | b'\t'))
    }

    /// Fills `tokens` with the next entry; `None` at the end of the text.
    pub(crate) fn next_entry(
        &mut self,
        tokens: &mut Vec<Token<'a>>,
    ) -> Result<Option<EntryStart>, LexError> {
        tokens.clear();
        let mut depth = 0u32;
        let mut paren_line = 0u32;
        let mut start: Option<EntryStart> = None;
        // Every entry ends with a newline (or the end), so a call starts at a line start.
        let mut blank = self.line_starts_blank();
        loop {
            let Some(c) = self.byte(self.pos) else {
                if depth > 0 {
                    return Err(LexError {
                        line: paren_line,
                        reason: "'(' is never closed".to_string(),
                    });
                }
                return Ok(start);
            };
            match c {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    if depth == 0 {
                        if start.is_some() {
                            return Ok(start);
                        }
                        blank = self.line_starts_blank();
                    }
                }
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b';' => {
                    while let Some(c) = self.byte(self.pos) {
                        if c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                b'(' => {
                    if depth == 0 {
                        paren_line = self.line;
                    }
                    depth += 1;
                    self.pos += 1;
                }
                b')' => {
                    if depth == 0 {
                        return Err(LexError {
                            line: self.line,
                            reason: "')' without a matching '('".to_string(),
                        });
                    }
                    depth -= 1;
                    self.pos += 1;
                }
                _ => {
                    let line = self.line;
                    let token = if c == b'"' {
                        self.quoted()?
                    } else {
                        self.unquoted()?
                    };
                    if start.is_none() {
                        start = Some(EntryStart {
                            line,
                            blank_owner: blank,
                        });
                    }
                    tokens.push(token);
                }
            }
        }
    }

    /// Skips a backslash and the character it protects (counting an escaped newline).
    fn skip_escape(&mut self) {
        self.pos += 1;
        if let Some(c) = self.byte(self.pos) {
            if c == b'\n' {
                self.line += 1;
            }
            // Step over a whole UTF-8 character so slices stay on char boundaries.
            self.pos += 1;
            while self.byte(self.pos).is_some_and(|b| b & 0xC0 == 0x80) {
                self.pos += 1;
            }
        }
    }

    /// Scans to the closing quote; `self.pos` is on the opening one. Returns the closing position.
    fn scan_quoted(&mut self) -> Result<usize, LexError> {
        let open_line = self.line;
        self.pos += 1;
        loop {
            match self.byte(self.pos) {
                None => {
                    return Err(LexError {
                        line: open_line,
                        reason: "quoted string is never closed".to_string(),
                    })
                }
                Some(b'\n') => {
                    return Err(LexError {
                        line: open_line,
                        reason: "quoted string not closed on its line".to_string(),
                    })
                }
                Some(b'\\') => self.skip_escape(),
                Some(b'"') => {
                    let end = self.pos;
                    self.pos += 1;
                    return Ok(end);
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn quoted(&mut self) -> Result<Token<'a>, LexError> {
        let start = self.pos + 1;
        let end = self.scan_quoted()?;
        Ok(Token {
            text: self.src.get(start..end).unwrap_or(""),
            quoted: true,
        })
    }

    fn unquoted(&mut self) -> Result<Token<'a>, LexError> {
        let start = self.pos;
        while let Some(c) = self.byte(self.pos) {
            match c {
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' => break,
                b'\\' => self.skip_escape(),
                b'"' => {
                    self.scan_quoted()?;
                }
                _ => self.pos += 1,
            }
        }
        let end = self.pos.min(self.src.len());
        Ok(Token {
            text: self.src.get(start..end).unwrap_or(""),
            quoted: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Line, blank owner, and (text, quoted) of each token, per entry.
    type Entries = Vec<(u32, bool, Vec<(String, bool)>)>;

    fn entries(src: &str) -> Entries {
        let mut lx = Lexer::new(src);
        let mut toks = Vec::new();
        let mut out = Vec::new();
        while let Some(e) = lx.next_entry(&mut toks).unwrap() {
            out.push((
                e.line,
                e.blank_owner,
                toks.iter()
                    .map(|t| (t.text.to_string(), t.quoted))
                    .collect(),
            ));
        }
        out
    }

    fn texts(v: &[(String, bool)]) -> Vec<&str> {
        v.iter().map(|(t, _)| t.as_str()).collect()
    }

    #[test]
    fn lines_comments_and_blank_owner() {
        let e =
            entries("a A 1.2.3.4 ; comment\n\n; only a comment\n  AAAA ::1\n\tTXT x\nb MX 10 c");
        assert_eq!(e.len(), 4);
        assert_eq!((e[0].0, e[0].1), (1, false));
        assert_eq!(texts(&e[0].2), ["a", "A", "1.2.3.4"]);
        assert_eq!((e[1].0, e[1].1), (4, true));
        assert_eq!((e[2].0, e[2].1), (5, true));
        assert_eq!((e[3].0, e[3].1), (6, false));
    }

    #[test]
    fn parentheses_span_lines() {
        let e = entries("@ SOA ns host (\n 1 ; serial\n 2 3\n 4 5 )\nnext A 1.1.1.1\n");
        assert_eq!(e.len(), 2);
        assert_eq!(
            texts(&e[0].2),
            ["@", "SOA", "ns", "host", "1", "2", "3", "4", "5"]
        );
        assert_eq!(e[1].0, 5);
        let e = entries("a TXT (x)(y)\n");
        assert_eq!(texts(&e[0].2), ["a", "TXT", "x", "y"]);
    }

    #[test]
    fn quotes_and_escapes() {
        let e = entries("a TXT \"x ; y\" \"q\\\"uote\" semi\\;colon \"\" end\n");
        let t = &e[0].2;
        assert_eq!(t[2], ("x ; y".to_string(), true));
        assert_eq!(t[3], ("q\\\"uote".to_string(), true));
        assert_eq!(t[4], ("semi\\;colon".to_string(), false));
        assert_eq!(t[5], (String::new(), true));
        assert_eq!(t[6], ("end".to_string(), false));
        let e = entries("h HTTPS 1 . alpn=\"h2,h3\" key9=\"a b;c\"\n");
        assert_eq!(texts(&e[0].2)[4..], ["alpn=\"h2,h3\"", "key9=\"a b;c\""]);
        let e = entries("a TXT \"é\" caf\\é\n");
        assert_eq!(texts(&e[0].2)[2..], ["é", "caf\\é"]);
    }

    #[test]
    fn errors_name_the_line() {
        let mut toks = Vec::new();
        let mut lx = Lexer::new("a A 1.2.3.4\nb TXT \"open\nc A 1.2.3.4\n");
        assert!(lx.next_entry(&mut toks).unwrap().is_some());
        let err = lx.next_entry(&mut toks).unwrap_err();
        assert_eq!(err.line, 2);
        let mut lx = Lexer::new("a A 1.2.3.4\n\nb SOA ( 1 2\n 3\n");
        lx.next_entry(&mut toks).unwrap();
        let err = lx.next_entry(&mut toks).unwrap_err();
        assert_eq!((err.line, err.reason.as_str()), (3, "'(' is never closed"));
        let mut lx = Lexer::new("a A 1 )\n");
        assert_eq!(lx.next_entry(&mut toks).unwrap_err().line, 1);
    }

    #[test]
    fn crlf_and_bom() {
        let e = entries("\u{feff}a A 1.2.3.4\r\n  A 5.6.7.8\r\n");
        assert_eq!(e.len(), 2);
        assert_eq!(texts(&e[0].2), ["a", "A", "1.2.3.4"]);
        assert!(e[1].1);
    }
}
