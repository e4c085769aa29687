//! The server side: verifying a signed request (RFC 8945 §5.2), signing
//! single and multi-message responses (§5.3, §5.3.1), and the TSIG RR of
//! error responses (§5.2.1–§5.2.4, §5.3.2).

use super::algorithm::{Algorithm, Key, MacState};
use super::error::{TsigError, BADKEY, BADSIG, BADTIME, BADTRUNC, RCODE_FORMERR, RCODE_NOTAUTH};
use super::wire::{self, be16, Fields, TsigRr, TIME_MASK};
use super::MAX_UNSIGNED;
use crate::name::Name;
use std::fmt;

/// A request whose TSIG verified: what signing the response needs.
#[derive(Clone, Debug)]
pub struct Verified {
    key: Key,
    request_mac: Vec<u8>,
    original_id: u16,
    time_signed: u64,
    fudge: u16,
}

impl Verified {
    /// The key the request was signed with.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// The request's MAC, as received; it enters the first response's MAC.
    pub fn request_mac(&self) -> &[u8] {
        &self.request_mac
    }

    /// The request's Original ID (normally its header ID).
    pub fn original_id(&self) -> u16 {
        self.original_id
    }

    /// The request's Time Signed (48 bits).
    pub fn time_signed(&self) -> u64 {
        self.time_signed
    }

    /// The request's Fudge; responses are signed with the same fudge.
    pub fn fudge(&self) -> u16 {
        self.fudge
    }

    /// Octets the TSIG RR of a (non-error) response adds: reserve them before filling a UDP answer.
    pub fn response_tsig_len(&self) -> usize {
        self.key.tsig_len()
    }
}

/// Which TSIG check a request failed (RFC 8945 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Malformed TSIG, misplaced or repeated TSIG RR, or a MAC size outside
    /// what §5.2.2.1 allows: RCODE FORMERR and no TSIG RR in the answer.
    FormErr,
    /// Unknown key name, or an algorithm that is not the key's (§5.2.1).
    BadKey,
    /// The MAC does not verify (§5.2.2).
    BadSig,
    /// Time Signed is outside the request's fudge around our clock (§5.2.3).
    BadTime,
    /// A permitted truncation that our policy refuses: we take full MACs only (§5.2.4).
    BadTrunc,
}

impl FailureKind {
    /// The header RCODE of the error response: FORMERR or NOTAUTH.
    pub fn rcode(self) -> u8 {
        match self {
            FailureKind::FormErr => RCODE_FORMERR,
            _ => RCODE_NOTAUTH,
        }
    }

    /// The TSIG Error field of the error response; `None` for FORMERR (no TSIG RR).
    pub fn tsig_error(self) -> Option<u16> {
        match self {
            FailureKind::FormErr => None,
            FailureKind::BadKey => Some(BADKEY),
            FailureKind::BadSig => Some(BADSIG),
            FailureKind::BadTime => Some(BADTIME),
            FailureKind::BadTrunc => Some(BADTRUNC),
        }
    }
}

/// What the error response's TSIG RR is built from.
#[derive(Clone, Debug)]
enum Reply {
    /// No TSIG RR (FORMERR).
    None,
    /// An unsigned TSIG RR echoing the request's key and algorithm names (BADKEY, BADSIG).
    Unsigned {
        key_name: Name,
        algorithm: Name,
        fudge: u16,
    },
    /// A TSIG RR signed with the request's key (BADTIME, BADTRUNC).
    Signed(Verified),
}

/// A request that failed TSIG verification, with what its error response needs.
///
/// Answer it with [`append_error_tsig`]. The reason is for logs only; it
/// never goes on the wire.
#[derive(Clone, Debug)]
pub struct TsigFailure {
    kind: FailureKind,
    reason: &'static str,
    reply: Reply,
}

impl TsigFailure {
    /// Which check failed.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// A short description of the failure, for logs.
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The key name the request named, when the TSIG RR parsed.
    pub fn key_name(&self) -> Option<&Name> {
        match &self.reply {
            Reply::None => None,
            Reply::Unsigned { key_name, .. } => Some(key_name),
            Reply::Signed(v) => Some(&v.key.name),
        }
    }

    fn formerr(reason: &'static str) -> TsigFailure {
        TsigFailure {
            kind: FailureKind::FormErr,
            reason,
            reply: Reply::None,
        }
    }

    fn unsigned(kind: FailureKind, reason: &'static str, rr: &TsigRr<'_>) -> TsigFailure {
        TsigFailure {
            kind,
            reason,
            reply: Reply::Unsigned {
                key_name: rr.key_name.clone(),
                algorithm: rr.algorithm.clone(),
                fudge: rr.fudge,
            },
        }
    }

    fn signed(kind: FailureKind, reason: &'static str, v: Verified) -> TsigFailure {
        TsigFailure {
            kind,
            reason,
            reply: Reply::Signed(v),
        }
    }
}

impl fmt::Display for TsigFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TSIG {:?}: {}", self.kind, self.reason)
    }
}

impl std::error::Error for TsigFailure {}

/// Verifies the TSIG RR of a request; `Ok(None)` when it carries none.
///
/// `find_key` is asked for the TSIG RR's owner name as received (compare
/// with `Name`'s case-insensitive `==`). `now` is our clock in seconds
/// since the epoch. The checks run in RFC 8945 §5.2's order: placement and
/// format (FORMERR), key and algorithm (BADKEY), MAC size (FORMERR),
/// MAC (BADSIG), time (BADTIME, after the MAC, §5.2.3), truncation
/// (BADTRUNC). A message too malformed to walk is FORMERR even when it
/// may have had no TSIG at all.
pub fn verify_request(
    msg: &[u8],
    find_key: impl Fn(&Name) -> Option<Key>,
    now: u64,
) -> Result<Option<Verified>, TsigFailure> {
    let rr = match wire::locate(msg) {
        Ok(Some(rr)) => rr,
        Ok(None) => return Ok(None),
        Err(why) => return Err(TsigFailure::formerr(why)),
    };
    let key = find_key(&rr.key_name)
        .ok_or_else(|| TsigFailure::unsigned(FailureKind::BadKey, "unknown key", &rr))?;
    if Algorithm::from_name(&rr.algorithm) != Some(key.algorithm) {
        let why = "algorithm is not the key's";
        return Err(TsigFailure::unsigned(FailureKind::BadKey, why, &rr));
    }
    check_mac_size(key.algorithm, rr.mac.len())?;
    if !request_mac_ok(&key, &rr) {
        return Err(TsigFailure::unsigned(
            FailureKind::BadSig,
            "MAC does not verify",
            &rr,
        ));
    }
    let verified = Verified {
        key,
        request_mac: rr.mac.to_vec(),
        original_id: rr.original_id,
        time_signed: rr.time_signed,
        fudge: rr.fudge,
    };
    if (now & TIME_MASK).abs_diff(rr.time_signed) > u64::from(rr.fudge) {
        let why = "time signed outside the fudge";
        return Err(TsigFailure::signed(FailureKind::BadTime, why, verified));
    }
    if rr.mac.len() < verified.key.algorithm.mac_len() {
        let why = "truncated MAC";
        return Err(TsigFailure::signed(FailureKind::BadTrunc, why, verified));
    }
    Ok(Some(verified))
}

/// RFC 8945 §5.2.2.1: longer than the hash, or shorter than max(10, half of it), is FORMERR.
fn check_mac_size(algorithm: Algorithm, size: usize) -> Result<(), TsigFailure> {
    if size > algorithm.mac_len() {
        return Err(TsigFailure::formerr("MAC longer than the algorithm's"));
    }
    if size < algorithm.min_mac_len() {
        return Err(TsigFailure::formerr("MAC shorter than RFC 8945 allows"));
    }
    Ok(())
}

/// The request's MAC (§4.3.3: message as signed, then the TSIG variables), compared in constant time.
fn request_mac_ok(key: &Key, rr: &TsigRr<'_>) -> bool {
    let Ok(mut mac) = MacState::new(key) else {
        return false;
    };
    rr.feed_message(&mut mac);
    wire::feed_variables(&mut mac, &rr.fields());
    mac.verify(rr.mac)
}

/// Signs the first (or only) message of a response: prior MAC, message, all variables.
///
/// `prior` is `None` for a request. Returns the MAC written.
pub(crate) fn sign_first(
    msg: &mut Vec<u8>,
    key: &Key,
    prior: Option<&[u8]>,
    fields: Fields<'_>,
) -> Result<Vec<u8>, TsigError> {
    wire::check_room(msg, &fields, key.algorithm.mac_len())?;
    let mut state = MacState::new(key)?;
    if let Some(prior) = prior {
        wire::feed_prior(&mut state, prior);
    }
    state.update(msg);
    wire::feed_variables(&mut state, &fields);
    let mac = state.finalize();
    wire::append(
        msg,
        &Fields {
            mac: &mac,
            ..fields
        },
    )?;
    Ok(mac)
}

/// The fields of a TSIG RR we sign with `key`, before the MAC is known; the Original ID is `msg`'s ID.
pub(crate) fn own_fields<'a>(key: &'a Key, msg: &[u8], time_signed: u64, fudge: u16) -> Fields<'a> {
    Fields {
        key_name: key.name.as_wire(),
        algorithm: key.algorithm.wire_name(),
        time_signed: time_signed & TIME_MASK,
        fudge,
        mac: &[],
        original_id: be16(msg, 0).unwrap_or(0),
        error: 0,
        other: &[],
    }
}

/// Signs the messages of a response to a verified request (RFC 8945 §5.3, §5.3.1).
///
/// Sign the first message, then sign or [`skip`](ResponseSigner::skip)
/// each later one, in the order they are sent; the last must be signed,
/// and at most 99 in a row may be skipped. A skipped message still
/// enters the next signed message's MAC, so it must be passed as sent.
#[derive(Clone)]
pub struct ResponseSigner {
    key: Key,
    request_mac: Vec<u8>,
    fudge: u16,
    /// After the first signature: the next MAC's state, fed with the prior MAC and skipped messages.
    running: Option<MacState>,
    unsigned: usize,
}

impl ResponseSigner {
    /// Starts signing the response to `verified`.
    pub fn new(verified: &Verified) -> ResponseSigner {
        ResponseSigner {
            key: verified.key.clone(),
            request_mac: verified.request_mac.clone(),
            fudge: verified.fudge,
            running: None,
            unsigned: 0,
        }
    }

    /// Appends a TSIG RR to a finished message and increments ARCOUNT.
    ///
    /// The first message's MAC covers the request MAC, the message and all
    /// TSIG variables; a later one's covers the prior MAC, the messages
    /// skipped since, this message and the timers only. Time Signed is
    /// `now`; the Original ID is the message's ID. On error the message
    /// and the signer are unchanged.
    pub fn sign(&mut self, msg: &mut Vec<u8>, now: u64) -> Result<(), TsigError> {
        let fields = own_fields(&self.key, msg, now, self.fudge);
        let mac = match &self.running {
            None => sign_first(msg, &self.key, Some(&self.request_mac), fields)?,
            Some(running) => {
                wire::check_room(msg, &fields, self.key.algorithm.mac_len())?;
                let mut state = running.clone();
                state.update(msg);
                wire::feed_timers(&mut state, fields.time_signed, fields.fudge);
                let mac = state.finalize();
                wire::append(
                    msg,
                    &Fields {
                        mac: &mac,
                        ..fields
                    },
                )?;
                mac
            }
        };
        let mut next = MacState::new(&self.key)?;
        wire::feed_prior(&mut next, &mac);
        self.running = Some(next);
        self.unsigned = 0;
        Ok(())
    }

    /// Passes a message that goes out unsigned; it enters the next signed message's MAC.
    ///
    /// Fails before the first message is signed and on a 100th unsigned
    /// message in a row: sign that one instead.
    pub fn skip(&mut self, msg: &[u8]) -> Result<(), TsigError> {
        let Some(state) = self.running.as_mut() else {
            return Err(TsigError::NotStarted);
        };
        if self.unsigned >= MAX_UNSIGNED {
            return Err(TsigError::TooManyUnsigned);
        }
        state.update(msg);
        self.unsigned += 1;
        Ok(())
    }

    /// True when the next message must be signed: it is the first, or 99 were skipped.
    pub fn must_sign_next(&self) -> bool {
        self.running.is_none() || self.unsigned >= MAX_UNSIGNED
    }
}

/// Finishes the error response to a failed request (RFC 8945 §5.2).
///
/// Sets the header RCODE (FORMERR or NOTAUTH) of `response`, an already
/// built answer to the request, and appends its TSIG RR: none for
/// FORMERR; unsigned (MAC Size 0) with the Error set for BADKEY and
/// BADSIG; signed with the request's key over the request MAC, the
/// response and the variables for BADTIME (Time Signed is the request's,
/// Other Data our clock `now`, §5.2.3) and BADTRUNC. The request itself is
/// not needed: the failure carries what is. On `NoSpace` the RCODE is
/// already set but no TSIG RR was added.
pub fn append_error_tsig(
    response: &mut Vec<u8>,
    failure: &TsigFailure,
    now: u64,
) -> Result<(), TsigError> {
    if response.len() < 12 {
        return Err(TsigError::ShortMessage);
    }
    if let Some(flags) = response.get_mut(3) {
        *flags = (*flags & 0xF0) | failure.kind.rcode();
    }
    let error = failure.kind.tsig_error().unwrap_or(0);
    let id = be16(response, 0).unwrap_or(0);
    match &failure.reply {
        Reply::None => Ok(()),
        Reply::Unsigned {
            key_name,
            algorithm,
            fudge,
        } => {
            let fields = Fields {
                key_name: key_name.as_wire(),
                algorithm: algorithm.as_wire(),
                time_signed: now & TIME_MASK,
                fudge: *fudge,
                mac: &[],
                original_id: id,
                error,
                other: &[],
            };
            wire::append(response, &fields)
        }
        Reply::Signed(v) => sign_error(response, v, failure.kind, now),
    }
}

/// Signs a BADTIME or BADTRUNC answer like a first response message, with the Error set.
fn sign_error(
    response: &mut Vec<u8>,
    v: &Verified,
    kind: FailureKind,
    now: u64,
) -> Result<(), TsigError> {
    let server_time = wire::time48(now);
    let mut fields = own_fields(&v.key, response, now, v.fudge);
    fields.error = kind.tsig_error().unwrap_or(0);
    if kind == FailureKind::BadTime {
        // The client's time, so that the client can verify the answer (§5.2.3).
        fields.time_signed = v.time_signed;
        fields.other = &server_time;
    }
    sign_first(response, &v.key, Some(&v.request_mac), fields).map(|_| ())
}
