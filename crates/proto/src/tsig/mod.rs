//! TSIG, secret key transaction authentication (RFC 8945), sans-IO.
//!
//! - Keys and algorithms (§6): [`Key`], [`Algorithm`]; HMAC-MD5, -SHA1,
//!   -SHA224, -SHA256 (the default), -SHA384 and -SHA512.
//! - The TSIG RR (§4.2) is found only as the last record of the additional
//!   section, and at most once (§5.1, §5.2); names in the MAC are
//!   lowercased (§4.3.3), the Original ID is put back and ARCOUNT lowered
//!   before the message enters it (§4.3.1).
//! - Server (§5.2, §5.3): [`verify_request`] gives a [`Verified`] or a
//!   [`TsigFailure`]; [`ResponseSigner`] signs one response message or a
//!   sequence (AXFR/IXFR over TCP, §5.3.1), optionally leaving up to 99
//!   in a row unsigned; [`append_error_tsig`] finishes an error response.
//! - Client (§5.1, §5.4): [`sign_request`] gives a [`SignedRequest`], whose
//!   [`ResponseVerifier`] checks the response messages in order.
//!
//! MACs are computed by the RustCrypto `hmac` crate and compared in
//! constant time; everything on the wire is this module's. Times are
//! 48-bit seconds since the epoch passed in by the caller (`now`), so
//! nothing here reads a clock.
//!
//! Decisions where the RFC leaves room:
//! - Truncated MACs (§5.2.2.1) are never sent, and a received one that the
//!   RFC permits is answered BADTRUNC (local policy, §5.2.4), after the
//!   MAC and time checks as §5.2 orders them; on the client side any MAC
//!   that is not full-length is an error.
//! - Responses use the request's fudge; the BADKEY/BADSIG answer's Time
//!   Signed is the server's clock.
//! - A TSIG RR whose class is not ANY or TTL not 0 is FORMERR.
//!
//! Not implemented:
//! - The BADTIME replay cache (§5.2.3 SHOULD remember the latest Time
//!   Signed per key), and the client's check that Time Signed does not go
//!   backwards within a sequence.
//! - Forwarding servers (§5.5), TKEY and GSS-TSIG, the truncated
//!   algorithms (`hmac-sha256-128`, ...), signing truncated MACs.
//! - Key storage, rotation or lookup policy: the caller's `find_key` decides.

mod algorithm;
mod client;
mod error;
mod server;
mod wire;

#[cfg(test)]
mod oracle_tests;
#[cfg(test)]
mod tests;

pub use algorithm::{Algorithm, Key};
pub use client::{sign_request, ResponseStatus, ResponseVerifier, SignedRequest};
pub use error::{
    error_name, TsigError, BADKEY, BADSIG, BADTIME, BADTRUNC, RCODE_FORMERR, RCODE_NOTAUTH,
};
pub use server::{
    append_error_tsig, verify_request, FailureKind, ResponseSigner, TsigFailure, Verified,
};

/// Fudge (permitted clock difference, seconds) to sign with unless configured: 300, as RFC 8945 recommends.
pub const DEFAULT_FUDGE: u16 = 300;

/// Most messages of a sequence that may go unsigned in a row (RFC 8945 §5.3.1: every 100th is signed).
pub const MAX_UNSIGNED: usize = 99;
