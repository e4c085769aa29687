//! Round trips, every failure of RFC 8945 §5.2 and §5.3, and a mutation loop.

use super::*;
use crate::message::{build_query, Message};
use crate::name::Name;
use crate::types::{Class, Rtype};

pub(super) const NOW: u64 = 1_700_000_000;
const SECRET: &[u8] = b"a shared secret, long enough for every hash";

pub(super) fn key(alg: Algorithm) -> Key {
    Key::new("transfer-key", alg.short_name(), SECRET.to_vec()).unwrap()
}

pub(super) fn finder(k: &Key) -> impl Fn(&Name) -> Option<Key> + '_ {
    move |n: &Name| (n == &k.name).then(|| k.clone())
}

pub(super) fn query() -> Vec<u8> {
    build_query(0x2b2b, &"example.com.".parse().unwrap(), Rtype::AXFR, None)
}

fn signed_query(k: &Key) -> (Vec<u8>, SignedRequest) {
    let mut q = query();
    let req = sign_request(&mut q, k, NOW, DEFAULT_FUDGE).unwrap();
    (q, req)
}

/// A response to [`query`] with one A record whose last octet is `n`.
pub(super) fn response(n: u8) -> Vec<u8> {
    let mut m = vec![0x2b, 0x2b, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0];
    m.extend_from_slice(b"\x07example\x03com\x00\x00\xfc\x00\x01");
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, n]);
    m
}

/// Offset of the TSIG RR: the message as it was before signing.
fn tsig_start(signed: &[u8], k: &Key) -> usize {
    signed.len() - k.tsig_len()
}

/// Offset of the MAC Size field in a message signed with `k` (Other Len 0).
fn mac_size_at(signed: &[u8], k: &Key) -> usize {
    tsig_start(signed, k) + k.name.wire_len() + 10 + k.algorithm.wire_name().len() + 8
}

fn failure(msg: &[u8], k: &Key, now: u64) -> TsigFailure {
    verify_request(msg, finder(k), now).unwrap_err()
}

/// The TSIG Error and MAC Size of a message's TSIG RR, via the full parser.
fn tsig_of(msg: &[u8]) -> (u16, usize) {
    let m = Message::parse(msg).unwrap();
    let rr = m.additional.last().unwrap();
    assert_eq!(rr.rtype, Rtype::TSIG);
    assert_eq!(rr.class, Class::ANY);
    assert_eq!(rr.ttl, 0);
    let d = &rr.rdata;
    let alg = crate::name::check_wire(d).unwrap();
    let mac_size = u16::from_be_bytes([d[alg + 8], d[alg + 9]]) as usize;
    let e = alg + 10 + mac_size + 2;
    (u16::from_be_bytes([d[e], d[e + 1]]), mac_size)
}

/// An error response to [`query`] carrying `f`'s TSIG RR.
fn error_response(f: &TsigFailure, now: u64) -> Vec<u8> {
    let mut r = response(0);
    r[7] = 0; // no answer
    r.truncate(r.len() - 16);
    append_error_tsig(&mut r, f, now).unwrap();
    r
}

#[test]
fn round_trip_every_algorithm() {
    for alg in Algorithm::ALL {
        let k = key(alg);
        let (q, req) = signed_query(&k);
        assert_eq!(q.len(), query().len() + k.tsig_len());
        assert_eq!(req.mac().len(), alg.mac_len());
        let v = verify_request(&q, finder(&k), NOW + 10).unwrap().unwrap();
        assert_eq!(v.request_mac(), req.mac());
        assert_eq!((v.original_id(), v.fudge()), (0x2b2b, 300));
        assert_eq!(v.time_signed(), NOW);
        let mut signer = ResponseSigner::new(&v);
        assert!(signer.must_sign_next());
        let mut m1 = response(1);
        signer.sign(&mut m1, NOW + 11).unwrap();
        let m2 = response(2);
        signer.skip(&m2).unwrap();
        let mut m3 = response(3);
        signer.sign(&mut m3, NOW + 12).unwrap();
        assert_eq!(m1.len(), response(1).len() + v.response_tsig_len());
        assert_eq!(tsig_of(&m1), (0, alg.mac_len()));
        let mut ver = req.verifier();
        assert_eq!(
            ver.verify(&m1, NOW + 13),
            Ok(ResponseStatus::Signed),
            "{alg}"
        );
        assert_eq!(ver.verify(&m2, NOW + 13), Ok(ResponseStatus::Unsigned));
        assert_eq!(
            ver.verify(&m3, NOW + 13),
            Ok(ResponseStatus::Signed),
            "{alg}"
        );
        ver.finish().unwrap();
    }
}

#[test]
fn sequence_mac_depends_on_skipped_messages() {
    let k = key(Algorithm::HmacSha256);
    let (q, req) = signed_query(&k);
    let v = verify_request(&q, finder(&k), NOW).unwrap().unwrap();
    let mut signer = ResponseSigner::new(&v);
    let mut m1 = response(1);
    signer.sign(&mut m1, NOW).unwrap();
    signer.skip(&response(2)).unwrap();
    let mut m3 = response(3);
    signer.sign(&mut m3, NOW).unwrap();
    let mut ver = req.verifier();
    ver.verify(&m1, NOW).unwrap();
    ver.verify(&response(9), NOW).unwrap(); // not what was skipped
    assert_eq!(ver.verify(&m3, NOW), Err(TsigError::BadSig));
    assert_eq!(ver.verify(&m3, NOW), Err(TsigError::AlreadyFailed));
    // Without the unsigned message the chain breaks too.
    let mut ver = req.verifier();
    ver.verify(&m1, NOW).unwrap();
    assert_eq!(ver.verify(&m3, NOW), Err(TsigError::BadSig));
}

#[test]
fn single_signed_response_and_no_tsig() {
    let k = key(Algorithm::HmacSha1);
    assert!(verify_request(&query(), finder(&k), NOW).unwrap().is_none());
    let (q, req) = signed_query(&k);
    let v = verify_request(&q, finder(&k), NOW).unwrap().unwrap();
    let mut r = response(1);
    ResponseSigner::new(&v).sign(&mut r, NOW).unwrap();
    let mut ver = req.verifier();
    assert_eq!(ver.verify(&r, NOW), Ok(ResponseStatus::Signed));
    ver.finish().unwrap();
    assert_eq!(req.verifier().finish(), Err(TsigError::NoResponse));
}

#[test]
fn header_id_is_restored_from_original_id() {
    let k = key(Algorithm::HmacSha256);
    let (mut q, _) = signed_query(&k);
    q[0] ^= 0xff; // a forwarder may rewrite the ID (RFC 8945 §4.3.1)
    let v = verify_request(&q, finder(&k), NOW).unwrap().unwrap();
    assert_eq!(v.original_id(), 0x2b2b);
}

#[test]
fn names_enter_the_mac_lowercased() {
    let mut upper = key(Algorithm::HmacMd5);
    upper.name = "TRANSFER-Key.".parse().unwrap();
    let (mut q, _) = signed_query(&upper);
    assert!(q.windows(13).any(|w| w == b"\x0cTRANSFER-Key"));
    // Upper-case the algorithm name on the wire as well (BIND writes HMAC-MD5.SIG-ALG.REG.INT).
    let at = tsig_start(&q, &upper) + upper.name.wire_len() + 10;
    q[at..at + 26].make_ascii_uppercase();
    assert!(verify_request(&q, finder(&key(Algorithm::HmacMd5)), NOW)
        .unwrap()
        .is_some());
}

#[test]
fn tsig_not_last_is_formerr() {
    let k = key(Algorithm::HmacSha256);
    let (mut q, _) = signed_query(&k);
    // An A record after the TSIG RR.
    q.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 192, 0, 2, 1]);
    q[11] += 1;
    assert_eq!(failure(&q, &k, NOW).kind(), FailureKind::FormErr);
    assert!(error_response(&failure(&q, &k, NOW), NOW).len() == response(0).len() - 16);
    // The TSIG RR in the answer section.
    let (mut q, _) = signed_query(&k);
    q[7] = 1;
    q[11] = 0;
    assert_eq!(failure(&q, &k, NOW).kind(), FailureKind::FormErr);
}

#[test]
fn two_tsigs_are_formerr() {
    let k = key(Algorithm::HmacSha256);
    let (mut q, _) = signed_query(&k);
    sign_request(&mut q, &k, NOW, 300).unwrap();
    let f = failure(&q, &k, NOW);
    assert_eq!(f.kind(), FailureKind::FormErr);
    assert_eq!(f.kind().rcode(), RCODE_FORMERR);
    assert_eq!(f.kind().tsig_error(), None);
    assert!(f.key_name().is_none());
    let r = error_response(&f, NOW);
    let m = Message::parse(&r).unwrap();
    assert_eq!(m.rcode(), 1);
    assert!(m.additional.is_empty());
}

#[test]
fn malformed_tsig_rr_is_formerr() {
    let k = key(Algorithm::HmacSha256);
    let (q, _) = signed_query(&k);
    let class_at = tsig_start(&q, &k) + k.name.wire_len() + 2;
    let mut bad_class = q.clone();
    bad_class[class_at + 1] = 1; // IN
    assert_eq!(
        failure(&bad_class, &k, NOW).reason(),
        "TSIG class is not ANY"
    );
    let mut bad_ttl = q.clone();
    bad_ttl[class_at + 5] = 1;
    assert_eq!(failure(&bad_ttl, &k, NOW).reason(), "TSIG TTL is not 0");
    let mut trailing = q.clone();
    trailing.push(0);
    assert_eq!(failure(&trailing, &k, NOW).kind(), FailureKind::FormErr);
    let mut short = q.clone();
    short.pop();
    assert_eq!(failure(&short, &k, NOW).kind(), FailureKind::FormErr);
    // Other Len pointing past the rdata.
    let mut other = q.clone();
    let n = other.len();
    other[n - 1] = 1;
    assert_eq!(failure(&other, &k, NOW).kind(), FailureKind::FormErr);
}

#[test]
fn unknown_key_is_badkey_and_answered_unsigned() {
    let k = key(Algorithm::HmacSha256);
    let (q, req) = signed_query(&k);
    let f = verify_request(&q, |_| None, NOW).unwrap_err();
    assert_eq!(f.kind(), FailureKind::BadKey);
    assert_eq!(f.key_name(), Some(&k.name));
    let r = error_response(&f, NOW + 5);
    assert_eq!(tsig_of(&r), (BADKEY, 0));
    assert_eq!(Message::parse(&r).unwrap().rcode(), RCODE_NOTAUTH as u16);
    let err = req.verifier().verify(&r, NOW).unwrap_err();
    assert_eq!(
        err,
        TsigError::Peer {
            error: BADKEY,
            signed: false,
            server_time: None
        }
    );
    // Another name than the key's is unknown too.
    let other = Key::new("other-key", "hmac-sha256", SECRET.to_vec()).unwrap();
    let (q, _) = signed_query(&other);
    assert_eq!(failure(&q, &k, NOW).kind(), FailureKind::BadKey);
}

#[test]
fn wrong_algorithm_is_badkey() {
    let k = key(Algorithm::HmacSha256);
    let (q, _) = signed_query(&k);
    let server_key = key(Algorithm::HmacSha512);
    let f = failure(&q, &server_key, NOW);
    assert_eq!(f.kind(), FailureKind::BadKey);
    assert_eq!(tsig_of(&error_response(&f, NOW)), (BADKEY, 0));
}

#[test]
fn flipped_mac_bit_is_badsig_and_answered_unsigned() {
    let k = key(Algorithm::HmacSha384);
    let (mut q, req) = signed_query(&k);
    let mac_at = mac_size_at(&q, &k) + 2;
    q[mac_at + 7] ^= 0x10;
    let f = failure(&q, &k, NOW);
    assert_eq!(f.kind(), FailureKind::BadSig);
    let r = error_response(&f, NOW);
    assert_eq!(tsig_of(&r), (BADSIG, 0));
    assert_eq!(
        req.verifier().verify(&r, NOW),
        Err(TsigError::Peer {
            error: BADSIG,
            signed: false,
            server_time: None
        })
    );
}

#[test]
fn altered_body_is_badsig() {
    let k = key(Algorithm::HmacSha224);
    let (mut q, _) = signed_query(&k);
    q[13] = b'f'; // example -> fxample
    assert_eq!(failure(&q, &k, NOW).kind(), FailureKind::BadSig);
    let (mut q, _) = signed_query(&k);
    q[2] |= 0x01; // RD
    assert_eq!(failure(&q, &k, NOW).kind(), FailureKind::BadSig);
    let (mut q, _) = signed_query(&k);
    let n = q.len();
    q[n - 5] ^= 1; // Original ID
    assert_eq!(failure(&q, &k, NOW).kind(), FailureKind::BadSig);
}

#[test]
fn time_outside_fudge_is_badtime_with_signed_server_time() {
    let k = key(Algorithm::HmacSha256);
    let (q, req) = signed_query(&k);
    assert!(verify_request(&q, finder(&k), NOW + 300).is_ok());
    assert!(verify_request(&q, finder(&k), NOW - 300).is_ok());
    let server_now = NOW + 301;
    let f = failure(&q, &k, server_now);
    assert_eq!(f.kind(), FailureKind::BadTime);
    assert_eq!(failure(&q, &k, NOW - 301).kind(), FailureKind::BadTime);
    let r = error_response(&f, server_now);
    assert_eq!(tsig_of(&r), (BADTIME, k.algorithm.mac_len()));
    assert_eq!(&r[r.len() - 6..], &wire::time48(server_now));
    assert_eq!(r.len(), response(0).len() - 16 + k.tsig_len() + 6);
    // Signed with the client's own time: our verifier checks it and reports the server's clock.
    assert_eq!(
        req.verifier().verify(&r, NOW),
        Err(TsigError::Peer {
            error: BADTIME,
            signed: true,
            server_time: Some(server_now)
        })
    );
    let mut forged = r.clone();
    let n = forged.len();
    forged[n - 1] ^= 1;
    assert_eq!(req.verifier().verify(&forged, NOW), Err(TsigError::BadSig));
}

#[test]
fn badtime_is_checked_after_the_mac() {
    let k = key(Algorithm::HmacSha256);
    let (mut q, _) = signed_query(&k);
    q[13] = b'f';
    assert_eq!(failure(&q, &k, NOW + 10_000).kind(), FailureKind::BadSig);
}

/// Re-signs `q` (unsigned) with its MAC cut or padded to `len` octets.
fn with_mac_len(k: &Key, len: usize, corrupt: bool) -> Vec<u8> {
    let (mut q, _) = signed_query(k);
    let at = mac_size_at(&q, k);
    let full = k.algorithm.mac_len();
    let mut mac = q[at + 2..at + 2 + full].to_vec();
    mac.resize(len, 0xaa);
    if corrupt {
        mac[0] ^= 1;
    }
    let tail = q[at + 2 + full..].to_vec();
    q.truncate(at);
    q.extend_from_slice(&(len as u16).to_be_bytes());
    q.extend_from_slice(&mac);
    q.extend_from_slice(&tail);
    let rdlen_at = query().len() + k.name.wire_len() + 8;
    let rdlen = (q.len() - rdlen_at - 2) as u16;
    q[rdlen_at..rdlen_at + 2].copy_from_slice(&rdlen.to_be_bytes());
    q
}

#[test]
fn truncated_macs() {
    let k = key(Algorithm::HmacSha256);
    // Sanity: the surgery with the full length changes nothing.
    assert_eq!(with_mac_len(&k, 32, false), signed_query(&k).0);
    // Permitted truncation, refused by policy, answered signed.
    let (_, req) = signed_query(&k);
    let f = failure(&with_mac_len(&k, 16, false), &k, NOW);
    assert_eq!(f.kind(), FailureKind::BadTrunc);
    let r = error_response(&f, NOW);
    assert_eq!(tsig_of(&r), (BADTRUNC, 32));
    // The request MAC of the answer is the truncated one, so our verifier (full MAC) sees BADSIG.
    assert_eq!(req.verifier().verify(&r, NOW), Err(TsigError::BadSig));
    assert_eq!(
        failure(&with_mac_len(&k, 31, false), &k, NOW).kind(),
        FailureKind::BadTrunc
    );
    // A wrong truncated MAC is BADSIG, as the MAC is checked before the policy.
    assert_eq!(
        failure(&with_mac_len(&k, 20, true), &k, NOW).kind(),
        FailureKind::BadSig
    );
    // Below max(10, half the hash), above the hash, or empty: FORMERR.
    for len in [15, 10, 1, 0, 33] {
        let f = failure(&with_mac_len(&k, len, false), &k, NOW);
        assert_eq!(f.kind(), FailureKind::FormErr, "MAC of {len}");
    }
    let md5 = key(Algorithm::HmacMd5);
    assert_eq!(
        failure(&with_mac_len(&md5, 10, false), &md5, NOW).kind(),
        FailureKind::BadTrunc
    );
    assert_eq!(
        failure(&with_mac_len(&md5, 9, false), &md5, NOW).kind(),
        FailureKind::FormErr
    );
}

#[test]
fn badtrunc_answer_verifies_against_the_truncated_request_mac() {
    let k = key(Algorithm::HmacSha512);
    let q = with_mac_len(&k, 40, false);
    let f = failure(&q, &k, NOW);
    assert_eq!(f.kind(), FailureKind::BadTrunc);
    let r = error_response(&f, NOW);
    let at = mac_size_at(&signed_query(&k).0, &k) + 2;
    let request = SignedRequest::for_test(k.clone(), q[at..at + 40].to_vec());
    assert_eq!(
        request.verifier().verify(&r, NOW),
        Err(TsigError::Peer {
            error: BADTRUNC,
            signed: true,
            server_time: None
        })
    );
}

fn signer_and_verifier(k: &Key) -> (ResponseSigner, ResponseVerifier) {
    let (q, req) = signed_query(k);
    let v = verify_request(&q, finder(k), NOW).unwrap().unwrap();
    (ResponseSigner::new(&v), req.verifier())
}

#[test]
fn at_most_99_unsigned_in_a_row() {
    let k = key(Algorithm::HmacSha256);
    let (mut signer, mut ver) = signer_and_verifier(&k);
    assert_eq!(signer.skip(&response(0)), Err(TsigError::NotStarted));
    let mut first = response(0);
    signer.sign(&mut first, NOW).unwrap();
    ver.verify(&first, NOW).unwrap();
    for i in 0..MAX_UNSIGNED {
        assert!(!signer.must_sign_next());
        signer.skip(&response(i as u8)).unwrap();
        assert_eq!(
            ver.verify(&response(i as u8), NOW),
            Ok(ResponseStatus::Unsigned)
        );
    }
    assert!(signer.must_sign_next());
    assert_eq!(signer.skip(&response(0)), Err(TsigError::TooManyUnsigned));
    let mut last = response(200);
    signer.sign(&mut last, NOW).unwrap();
    assert_eq!(ver.clone().verify(&last, NOW), Ok(ResponseStatus::Signed));
    // The 100th unsigned message fails the client.
    assert_eq!(
        ver.verify(&response(200), NOW),
        Err(TsigError::TooManyUnsigned)
    );
    assert_eq!(ver.finish(), Err(TsigError::AlreadyFailed));
}

#[test]
fn first_and_last_must_be_signed() {
    let k = key(Algorithm::HmacSha256);
    let (mut signer, mut ver) = signer_and_verifier(&k);
    assert_eq!(
        ver.clone().verify(&response(1), NOW),
        Err(TsigError::FirstUnsigned)
    );
    let mut m1 = response(1);
    signer.sign(&mut m1, NOW).unwrap();
    ver.verify(&m1, NOW).unwrap();
    ver.finish().unwrap();
    ver.verify(&response(2), NOW).unwrap();
    assert_eq!(ver.finish(), Err(TsigError::LastUnsigned));
}

#[test]
fn response_checks_on_the_client() {
    let k = key(Algorithm::HmacSha256);
    // Signed too late for our clock.
    let (mut signer, ver) = signer_and_verifier(&k);
    let mut m = response(1);
    signer.sign(&mut m, NOW + 1000).unwrap();
    assert_eq!(
        ver.clone().verify(&m, NOW),
        Err(TsigError::BadTime {
            signed: NOW + 1000,
            now: NOW,
            fudge: 300
        })
    );
    assert_eq!(
        ver.clone().verify(&m, NOW + 990),
        Ok(ResponseStatus::Signed)
    );
    // Signed with another key.
    let other = Key::new("other", "hmac-sha256", SECRET.to_vec()).unwrap();
    let (mut other_signer, _) = signer_and_verifier(&other);
    let mut m = response(1);
    other_signer.sign(&mut m, NOW).unwrap();
    assert!(matches!(
        ver.clone().verify(&m, NOW),
        Err(TsigError::WrongKey { .. })
    ));
    // An altered response.
    let (mut signer, ver) = signer_and_verifier(&k);
    let mut m = response(1);
    signer.sign(&mut m, NOW).unwrap();
    let mut altered = m.clone();
    altered[m.len() - k.tsig_len() - 1] ^= 1;
    assert_eq!(ver.clone().verify(&altered, NOW), Err(TsigError::BadSig));
    assert_eq!(ver.clone().verify(&m, NOW), Ok(ResponseStatus::Signed));
    // Malformed.
    assert!(matches!(
        ver.clone().verify(&[0; 5], NOW),
        Err(TsigError::Malformed(_))
    ));
}

#[test]
fn no_space_leaves_the_message_alone() {
    let k = key(Algorithm::HmacSha256);
    let (mut signer, _) = signer_and_verifier(&k);
    let mut big = response(1);
    big[7] = 2; // a second record, a NULL of 65400 octets
    big.extend_from_slice(&[0xc0, 12, 0, 10, 0, 1, 0, 0, 0, 0]);
    big.extend_from_slice(&65400u16.to_be_bytes());
    big.resize(big.len() + 65400, 0);
    let before = big.clone();
    assert_eq!(signer.sign(&mut big, NOW), Err(TsigError::NoSpace));
    assert_eq!(big, before);
    assert!(signer.must_sign_next());
    let mut short = vec![0u8; 11];
    assert_eq!(
        sign_request(&mut short, &k, NOW, 300).unwrap_err(),
        TsigError::ShortMessage
    );
}

#[test]
fn times_are_48_bit() {
    let k = key(Algorithm::HmacSha256);
    let mut q = query();
    let t = (1u64 << 48) + 5;
    let req = sign_request(&mut q, &k, t, 300).unwrap();
    assert_eq!(req.time_signed(), 5);
    let v = verify_request(&q, finder(&k), 5).unwrap().unwrap();
    assert_eq!(v.time_signed(), 5);
}

/// A small deterministic generator (xorshift64*), so the loop below is reproducible.
pub(super) struct Rng(pub u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// One to four random edits: flip, set, insert, delete, truncate, or poke a count.
    fn mutate(&mut self, msg: &[u8]) -> Vec<u8> {
        let mut m = msg.to_vec();
        for _ in 0..1 + self.below(4) {
            let at = self.below(m.len());
            let byte = self.next() as u8;
            match self.below(6) {
                0 if !m.is_empty() => m[at] ^= 1 << (byte % 8),
                1 if !m.is_empty() => m[at] = byte,
                2 => m.insert(at, byte),
                3 if !m.is_empty() => {
                    m.remove(at);
                }
                4 => m.truncate(at),
                _ if m.len() >= 12 => m[4 + 2 * self.below(4) + 1] = byte % 4,
                _ => {}
            }
        }
        m
    }
}

#[test]
fn mutations_never_panic() {
    let k = key(Algorithm::HmacSha256);
    let (q, req) = signed_query(&k);
    let v = verify_request(&q, finder(&k), NOW).unwrap().unwrap();
    let mut signer = ResponseSigner::new(&v);
    let mut m1 = response(1);
    signer.sign(&mut m1, NOW).unwrap();
    let mut bad_time = None;
    if let Err(f) = verify_request(&q, finder(&k), NOW + 999) {
        bad_time = Some(error_response(&f, NOW + 999));
    }
    let seeds = [q.clone(), m1.clone(), bad_time.unwrap(), query()];
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..6000 {
        let seed = &seeds[i % seeds.len()];
        let m = if i % 10 == 9 {
            (0..rng.below(80)).map(|_| rng.next() as u8).collect()
        } else {
            rng.mutate(seed)
        };
        match verify_request(&m, finder(&k), NOW) {
            Ok(_) => accepted += 1,
            Err(f) => {
                refused += 1;
                let mut r = m.clone();
                let _ = append_error_tsig(&mut r, &f, NOW);
            }
        }
        let mut ver = req.verifier();
        let _ = ver.verify(&m, NOW);
        let _ = ver.verify(&m1, NOW);
        let _ = ver.finish();
        let mut s = signer.clone();
        let mut r = m.clone();
        let _ = s.sign(&mut r, NOW);
        let _ = s.skip(&m);
    }
    assert!(accepted > 100 && refused > 1000, "{accepted} {refused}");
}
