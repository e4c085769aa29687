//! Error codes (RFC 8945 §3, §5.2) and the error types of the TSIG module.

use crate::name::Name;
use std::fmt;

/// TSIG error BADSIG: the MAC did not verify (RFC 8945 §5.2.2).
pub const BADSIG: u16 = 16;
/// TSIG error BADKEY: unknown key or algorithm (RFC 8945 §5.2.1).
pub const BADKEY: u16 = 17;
/// TSIG error BADTIME: Time Signed outside the fudge window (RFC 8945 §5.2.3).
pub const BADTIME: u16 = 18;
/// TSIG error BADTRUNC: a truncated MAC the local policy refuses (RFC 8945 §5.2.4).
pub const BADTRUNC: u16 = 22;

/// Header RCODE FORMERR.
pub const RCODE_FORMERR: u8 = 1;
/// Header RCODE NOTAUTH, carried by every TSIG error response but FORMERR (RFC 8945 §5.2).
pub const RCODE_NOTAUTH: u8 = 9;

/// What went wrong on the signing side or while checking responses.
///
/// Server-side request failures are [`super::TsigFailure`] instead: they
/// carry what the error response needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TsigError {
    /// An algorithm name that is not one of [`super::Algorithm`]'s.
    UnknownAlgorithm(String),
    /// A key name that is not a valid domain name (or is the root).
    KeyName(crate::Error),
    /// A key with an empty secret.
    EmptySecret,
    /// The HMAC implementation refused the secret (does not happen for HMAC).
    Secret,
    /// The message to sign is shorter than a DNS header.
    ShortMessage,
    /// The TSIG RR would push the message past 65535 octets or ARCOUNT past 65535.
    NoSpace,
    /// The response is malformed around its TSIG RR (the reason says how).
    Malformed(&'static str),
    /// The first response message carries no TSIG RR (RFC 8945 §5.3.1: it must).
    FirstUnsigned,
    /// A 100th unsigned message in a row (RFC 8945 §5.3.1 allows 99).
    TooManyUnsigned,
    /// The last message of a response was not signed (RFC 8945 §5.3.1).
    LastUnsigned,
    /// `finish` before any response message.
    NoResponse,
    /// `skip` before the first message was signed: the first one must be.
    NotStarted,
    /// The response is signed with another key name or algorithm than the request.
    WrongKey {
        /// Key name of the response's TSIG RR.
        name: Name,
    },
    /// The response MAC is not of the full length (truncation is refused).
    Truncated {
        /// MAC Size of the response's TSIG RR.
        size: usize,
    },
    /// The response MAC does not verify.
    BadSig,
    /// The response's Time Signed is outside its fudge around our clock.
    BadTime {
        /// Time Signed of the response.
        signed: u64,
        /// Our clock when checking.
        now: u64,
        /// The response's Fudge.
        fudge: u16,
    },
    /// The peer answered with a TSIG error (BADKEY, BADSIG, BADTIME, ...).
    ///
    /// `signed` tells whether the error response's own MAC verified
    /// (BADTIME and BADTRUNC answers are signed; BADKEY and BADSIG ones
    /// cannot be). An unsigned one may be forged: treat it as a failure
    /// to authenticate, never as information about the key.
    Peer {
        /// The TSIG Error field.
        error: u16,
        /// True when the error response carried a MAC that verified.
        signed: bool,
        /// For a signed BADTIME: the peer's clock, from Other Data.
        server_time: Option<u64>,
    },
    /// The verifier already failed on an earlier message of this response.
    AlreadyFailed,
}

impl fmt::Display for TsigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TsigError::UnknownAlgorithm(a) => write!(f, "unknown TSIG algorithm '{a}'"),
            TsigError::KeyName(e) => write!(f, "bad TSIG key name: {e}"),
            TsigError::EmptySecret => f.write_str("TSIG key secret is empty"),
            TsigError::Secret => f.write_str("TSIG key secret refused by the MAC"),
            TsigError::ShortMessage => f.write_str("message shorter than a DNS header"),
            TsigError::NoSpace => f.write_str("no room for the TSIG record"),
            TsigError::Malformed(why) => write!(f, "malformed TSIG response: {why}"),
            TsigError::FirstUnsigned => f.write_str("first response message is not signed"),
            TsigError::TooManyUnsigned => f.write_str("more than 99 unsigned messages in a row"),
            TsigError::LastUnsigned => f.write_str("last response message is not signed"),
            TsigError::NoResponse => f.write_str("no response message was verified"),
            TsigError::NotStarted => f.write_str("the first message must be signed"),
            TsigError::WrongKey { name } => write!(f, "response signed with another key ({name})"),
            TsigError::Truncated { size } => write!(f, "truncated TSIG MAC of {size} octets"),
            TsigError::BadSig => f.write_str("TSIG MAC does not verify"),
            TsigError::BadTime { signed, now, fudge } => write!(
                f,
                "TSIG time {signed} is more than {fudge} s away from our time {now}"
            ),
            TsigError::Peer {
                error,
                signed,
                server_time,
            } => {
                write!(f, "peer answered TSIG error {}", error_name(*error))?;
                if !signed {
                    f.write_str(" (unsigned)")?;
                }
                if let Some(t) = server_time {
                    write!(f, ", its time {t}")?;
                }
                Ok(())
            }
            TsigError::AlreadyFailed => f.write_str("TSIG verification already failed"),
        }
    }
}

impl std::error::Error for TsigError {}

/// The mnemonic of a TSIG error code, or its number.
pub fn error_name(code: u16) -> String {
    match code {
        BADSIG => "BADSIG".into(),
        BADKEY => "BADKEY".into(),
        BADTIME => "BADTIME".into(),
        BADTRUNC => "BADTRUNC".into(),
        other => other.to_string(),
    }
}
