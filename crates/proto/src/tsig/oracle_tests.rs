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
