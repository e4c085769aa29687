//! The client side: signing a request (RFC 8945 §5.1) and verifying one
//! response message or a sequence of them (§5.3.1, §5.4).

use super::algorithm::{Algorithm, Key, MacState};
use super::error::{TsigError, BADTIME};
use super::server::{own_fields, sign_first};
use super::wire::{self, TsigRr, TIME_MASK};
use super::MAX_UNSIGNED;

/// A request we signed: the key and MAC its response is checked against.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    key: Key,
    mac: Vec<u8>,
    time_signed: u64,
}

impl SignedRequest {
    /// The request's MAC.
    pub fn mac(&self) -> &[u8] {
        &self.mac
    }

    /// The key it was signed with.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Its Time Signed (48 bits).
    pub fn time_signed(&self) -> u64 {
        self.time_signed
    }

    /// A request as if signed with `key` and MAC `mac` (for truncated-MAC tests).
    #[cfg(test)]
    pub(crate) fn for_test(key: Key, mac: Vec<u8>) -> SignedRequest {
        SignedRequest {
            key,
            mac,
            time_signed: 0,
        }
    }

    /// A verifier for the response (same as [`ResponseVerifier::new`]).
    pub fn verifier(&self) -> ResponseVerifier {
        ResponseVerifier::new(self)
    }
}

/// Appends a TSIG RR to a finished query (or NOTIFY, UPDATE) and increments ARCOUNT.
///
/// The MAC covers the message as it is and all TSIG variables (§4.3.3),
/// with Time Signed `now` and the given fudge (the usual is
/// [`super::DEFAULT_FUDGE`]); the Original ID is the message's ID. On error
/// the message is unchanged.
pub fn sign_request(
    msg: &mut Vec<u8>,
    key: &Key,
    now: u64,
    fudge: u16,
) -> Result<SignedRequest, TsigError> {
    let fields = own_fields(key, msg, now, fudge);
    let time_signed = fields.time_signed;
    let mac = sign_first(msg, key, None, fields)?;
    Ok(SignedRequest {
        key: key.clone(),
        mac,
        time_signed,
    })
}

/// What [`ResponseVerifier::verify`] found in one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseStatus {
    /// Signed and verified, together with the unsigned messages before it.
    Signed,
    /// Unsigned: not yet authenticated; a later signed message covers it.
    Unsigned,
}

/// Verifies the messages of a response to a [`SignedRequest`], in order.
///
/// The first message must be signed; after that up to 99 in a row may
/// come unsigned, and [`finish`](ResponseVerifier::finish) checks that the
/// last one was signed. After any error every later call fails.
#[derive(Clone)]
pub struct ResponseVerifier {
    key: Key,
    request_mac: Vec<u8>,
    /// After the first signed message: the next MAC's state (prior MAC and unsigned messages fed).
    running: Option<MacState>,
    unsigned: usize,
    failed: bool,
}

impl ResponseVerifier {
    /// Starts verifying the response to `request`.
    pub fn new(request: &SignedRequest) -> ResponseVerifier {
        ResponseVerifier {
            key: request.key.clone(),
            request_mac: request.mac.clone(),
            running: None,
            unsigned: 0,
            failed: false,
        }
    }

    /// Checks the next response message; `now` is our clock.
    ///
    /// A signed message must use the request's key and algorithm, carry a
    /// full-length MAC that verifies, and a Time Signed within its fudge
    /// of `now` (BADTIME is checked on responses too). A TSIG Error set by
    /// the peer is [`TsigError::Peer`], after checking its MAC when it has
    /// one. Every error ends the verification.
    pub fn verify(&mut self, msg: &[u8], now: u64) -> Result<ResponseStatus, TsigError> {
        if self.failed {
            return Err(TsigError::AlreadyFailed);
        }
        let result = match wire::locate(msg) {
            Err(why) => Err(TsigError::Malformed(why)),
            Ok(None) => self.absorb_unsigned(msg),
            Ok(Some(rr)) => self.check_signed(&rr, now),
        };
        self.failed = result.is_err();
        result
    }

    /// Checks that the response ended well: at least one message, the last one signed, no error.
    pub fn finish(&self) -> Result<(), TsigError> {
        if self.failed {
            Err(TsigError::AlreadyFailed)
        } else if self.running.is_none() {
            Err(TsigError::NoResponse)
        } else if self.unsigned > 0 {
            Err(TsigError::LastUnsigned)
        } else {
            Ok(())
        }
    }

    fn absorb_unsigned(&mut self, msg: &[u8]) -> Result<ResponseStatus, TsigError> {
        let Some(state) = self.running.as_mut() else {
            return Err(TsigError::FirstUnsigned);
        };
        if self.unsigned >= MAX_UNSIGNED {
            return Err(TsigError::TooManyUnsigned);
        }
        state.update(msg);
        self.unsigned += 1;
        Ok(ResponseStatus::Unsigned)
    }

    fn check_signed(&mut self, rr: &TsigRr<'_>, now: u64) -> Result<ResponseStatus, TsigError> {
        if rr.key_name != self.key.name
            || Algorithm::from_name(&rr.algorithm) != Some(self.key.algorithm)
        {
            return Err(TsigError::WrongKey {
                name: rr.key_name.clone(),
            });
        }
        if rr.error != 0 && rr.mac.is_empty() {
            return Err(peer_error(rr, false));
        }
        if rr.mac.len() != self.key.algorithm.mac_len() {
            return Err(TsigError::Truncated { size: rr.mac.len() });
        }
        if !self.mac_ok(rr)? {
            return Err(TsigError::BadSig);
        }
        if rr.error != 0 {
            return Err(peer_error(rr, true));
        }
        if (now & TIME_MASK).abs_diff(rr.time_signed) > u64::from(rr.fudge) {
            return Err(TsigError::BadTime {
                signed: rr.time_signed,
                now,
                fudge: rr.fudge,
            });
        }
        let mut next = MacState::new(&self.key)?;
        wire::feed_prior(&mut next, rr.mac);
        self.running = Some(next);
        self.unsigned = 0;
        Ok(ResponseStatus::Signed)
    }

    /// The first message's MAC covers the request MAC and all variables, later ones the timers only.
    fn mac_ok(&self, rr: &TsigRr<'_>) -> Result<bool, TsigError> {
        let mut state = match &self.running {
            Some(running) => running.clone(),
            None => {
                let mut s = MacState::new(&self.key)?;
                wire::feed_prior(&mut s, &self.request_mac);
                s
            }
        };
        rr.feed_message(&mut state);
        if self.running.is_some() {
            wire::feed_timers(&mut state, rr.time_signed, rr.fudge);
        } else {
            wire::feed_variables(&mut state, &rr.fields());
        }
        Ok(state.verify(rr.mac))
    }
}

/// The error for a response whose TSIG Error field is set.
fn peer_error(rr: &TsigRr<'_>, signed: bool) -> TsigError {
    let server_time = if signed && rr.error == BADTIME && rr.other.len() == 6 {
        Some(rr.other.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)))
    } else {
        None
    };
    TsigError::Peer {
        error: rr.error,
        signed,
        server_time,
    }
}
