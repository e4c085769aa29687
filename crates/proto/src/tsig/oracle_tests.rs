//! Known-answer tests against an independent TSIG implementation, hickory-proto
//! (which does HMAC-SHA256, -SHA384 and -SHA512 with ring).

use super::tests::{finder, key, query, response, NOW};
use super::*;
use hickory_proto::op::{Message as HMessage, Query};
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{Name as HName, RecordType, TSigResponseContext, TSigner};
use hickory_proto::serialize::binary::BinEncodable;

const ORACLE_ALGORITHMS: [(Algorithm, TsigAlgorithm); 3] = [
    (Algorithm::HmacSha256, TsigAlgorithm::HmacSha256),
    (Algorithm::HmacSha384, TsigAlgorithm::HmacSha384),
    (Algorithm::HmacSha512, TsigAlgorithm::HmacSha512),
];

fn oracle_signer(k: &Key, alg: TsigAlgorithm) -> TSigner {
    let name = HName::from_ascii(k.name.to_string()).unwrap();
    TSigner::new(k.secret.clone(), alg, name, DEFAULT_FUDGE).unwrap()
}

/// An AXFR query for example.com. signed by the oracle at `NOW`.
fn oracle_request(signer: &TSigner) -> (Vec<u8>, hickory_proto::rr::TSigVerifier) {
    let mut m = HMessage::query();
    m.metadata.id = 0x2b2b;
    m.add_query(Query::query(
        HName::from_ascii("example.com.").unwrap(),
        RecordType::AXFR,
    ));
    let verifier = m.finalize(signer, NOW).unwrap().unwrap();
    (m.to_vec().unwrap(), verifier)
}

#[test]
fn oracle_signed_request_verifies_with_ours() {
    for (ours, theirs) in ORACLE_ALGORITHMS {
        let k = key(ours);
        let (q, _) = oracle_request(&oracle_signer(&k, theirs));
        let v = verify_request(&q, finder(&k), NOW + 1)
            .unwrap()
            .expect("signed");
        assert_eq!(v.request_mac().len(), ours.mac_len());
        // And the oracle's MAC binds: a flipped octet fails ours.
        let mut bad = q.clone();
        bad[13] ^= 0x20;
        assert_eq!(
            verify_request(&bad, finder(&k), NOW).unwrap_err().kind(),
            FailureKind::BadSig,
            "{ours}"
        );
    }
}

#[test]
fn our_signed_request_verifies_with_the_oracle() {
    for (ours, theirs) in ORACLE_ALGORITHMS {
        let k = key(ours);
        let mut q = query();
        let req = sign_request(&mut q, &k, NOW, DEFAULT_FUDGE).unwrap();
        let (mac, time, window) = oracle_signer(&k, theirs.clone())
            .verify_message_byte(&q, None, true)
            .unwrap_or_else(|e| panic!("{ours}: oracle refuses our request: {e}"));
        assert_eq!(mac, req.mac());
        assert_eq!(time, NOW);
        assert!(window.contains(&(NOW + 299)) && !window.contains(&(NOW + 301)));
        // The oracle notices tampering, so the check above means something.
        let mut bad = q.clone();
        bad[13] ^= 0x20;
        assert!(oracle_signer(&k, theirs)
            .verify_message_byte(&bad, None, true)
            .is_err());
    }
}

#[test]
fn our_signed_response_sequence_verifies_with_the_oracle() {
    for (ours, theirs) in ORACLE_ALGORITHMS {
        let k = key(ours);
        let (q, mut oracle) = oracle_request(&oracle_signer(&k, theirs));
        let v = verify_request(&q, finder(&k), NOW).unwrap().unwrap();
        let mut signer = ResponseSigner::new(&v);
        // The oracle chains signed messages only (no unsigned ones between).
        for n in 1..=3 {
            let mut m = response(n);
            signer.sign(&mut m, NOW + u64::from(n)).unwrap();
            oracle
                .verify(&m)
                .unwrap_or_else(|e| panic!("{ours}: oracle refuses message {n}: {e}"));
        }
    }
}

#[test]
fn oracle_signed_response_verifies_with_ours() {
    for (ours, theirs) in ORACLE_ALGORITHMS {
        let k = key(ours);
        let mut q = query();
        let req = sign_request(&mut q, &k, NOW, DEFAULT_FUDGE).unwrap();
        let mut r = response(1);
        let context = TSigResponseContext::new(
            0x2b2b,
            NOW + 2,
            oracle_signer(&k, theirs),
            req.mac().to_vec(),
            None,
        );
        let tsig = context.sign(&r).unwrap().to_bytes().unwrap();
        r.extend_from_slice(&tsig);
        r[11] += 1;
        let mut ver = req.verifier();
        assert_eq!(
            ver.verify(&r, NOW + 3),
            Ok(ResponseStatus::Signed),
            "{ours}"
        );
        ver.finish().unwrap();
        // Against another request MAC it does not verify.
        let mut other = query();
        other[1] ^= 1;
        let other = sign_request(&mut other, &k, NOW, DEFAULT_FUDGE).unwrap();
        assert_eq!(other.verifier().verify(&r, NOW), Err(TsigError::BadSig));
    }
}

/// Octets from hex (test vectors).
fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Written by `fuzz/make_seeds.py` (Python's `hmac`, its own TSIG encoding):
/// an AXFR query for example.com., ID 0x7a7a, key `fuzz-key`, HMAC-SHA256,
/// secret "zonecast fuzz key", signed at 1700000000 with fudge 300.
const PY_REQUEST: &str = "7a7a00000001000000000001076578616d706c6503636f6d0000fc00010866757a7a2d6b\
65790000fa00ff00000000003d0b686d61632d7368613235360000006553f100012c00209d74d5447153db9418e14e7eab\
47fdda33298c9ce07418aaed24bc4e3a00758e7a7a00000000";

/// The same script's three-message answer to it, TCP-framed: signed, unsigned, signed one second later.
const PY_SEQUENCE: &str =
    "007e7a7a84000001000100000001076578616d706c6503636f6d0000fc0001c00c000100\
010000012c0004c00002010866757a7a2d6b65790000fa00ff00000000003d0b686d61632d736861323536000000655\
3f100012c00208c4d1470b196b61ece58c16ce52f3bae7796ba5a3bd6a0f283a39276da3da8f77a7a00000000002d7a\
7a84000001000100000000076578616d706c6503636f6d0000fc0001c00c000100010000012c0004c0000202007e7a7a\
84000001000100000001076578616d706c6503636f6d0000fc0001c00c000100010000012c0004c00002030866757a7a\
2d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006553f101012c002086881bc06e9827a82781d\
b4acc7aae29ef51d5c8e00986ad1a23252a7bca76fd7a7a00000000";

#[test]
fn python_vectors_with_an_unsigned_message() {
    let k = Key::new("fuzz-key", "hmac-sha256", b"zonecast fuzz key".to_vec()).unwrap();
    let request = unhex(PY_REQUEST);
    let v = verify_request(&request, finder(&k), 1_700_000_000)
        .unwrap()
        .unwrap();
    // Ours signs the same query to the same octets.
    let mut q = crate::message::build_query(
        0x7a7a,
        &"example.com.".parse().unwrap(),
        crate::types::Rtype::AXFR,
        None,
    );
    let req = sign_request(&mut q, &k, 1_700_000_000, DEFAULT_FUDGE).unwrap();
    assert_eq!(q, request);
    assert_eq!(req.mac(), v.request_mac());
    let stream = unhex(PY_SEQUENCE);
    let mut ver = req.verifier();
    let mut rest = &stream[..];
    let mut statuses = Vec::new();
    while let [hi, lo, tail @ ..] = rest {
        let (msg, next) = tail.split_at(usize::from(u16::from_be_bytes([*hi, *lo])));
        statuses.push(ver.verify(msg, 1_700_000_001).unwrap());
        rest = next;
    }
    use ResponseStatus::{Signed, Unsigned};
    assert_eq!(statuses, [Signed, Unsigned, Signed]);
    ver.finish().unwrap();
    // Ours signs the same answer to the same octets.
    let mut signer = ResponseSigner::new(&v);
    let mut m1 = stream[2..2 + 0x7e - k.tsig_len()].to_vec();
    m1[11] = 0;
    signer.sign(&mut m1, 1_700_000_000).unwrap();
    assert_eq!(m1, stream[2..2 + 0x7e]);
}
