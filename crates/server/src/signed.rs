//! Queries signed with TSIG (RFC 8945 §5): verified, and answered signed.
//!
//! The cold path of the pipeline: a message with a TSIG record is verified
//! with the node's [`crate::KeyFinder`]. A failure is answered as §5.2 says
//! (FORMERR, or NOTAUTH with the TSIG error: BADKEY and BADSIG unsigned,
//! BADTIME and BADTRUNC signed); a verified query gets its normal answer,
//! built with room for the TSIG record, then signed (§5.3). NOTIFY, SOA
//! queries of secondaries and any other query work the same way.

use crate::pipeline::{answer, Transport};
use crate::Service;
use std::net::SocketAddr;
use zonecast_proto::query::{QueryProblem, QueryView};
use zonecast_proto::tsig::{append_error_tsig, verify_request, ResponseSigner};
use zonecast_proto::writer::Writer;
use zonecast_zone::ZoneSet;

/// The answer to a query holding a TSIG record; its length in `out`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn respond(
    zones: &ZoneSet,
    query: &[u8],
    out: &mut [u8],
    transport: Transport,
    q: &mut QueryView,
    service: &Service,
    peer: impl FnOnce() -> Option<SocketAddr>,
    parsed: Result<(), QueryProblem>,
    answered: &mut crate::rrl::Answered,
) -> Option<usize> {
    let now = unix_now();
    let keys = service.keys.clone();
    let verified = verify_request(query, |n| keys.as_ref().and_then(|k| k.key(n)), now);
    match verified {
        Err(failure) => {
            tracing::debug!(reason = failure.reason(), key = ?failure.key_name().map(|k| k.to_string()), "signed query refused");
            let limit = out.len().min(u16::MAX as usize);
            let n = Writer::new(out, limit, q, query).finish();
            let mut msg = out.get(..n)?.to_vec();
            append_error_tsig(&mut msg, &failure, now).ok()?;
            copy_back(out, &msg, transport, q)
        }
        Ok(None) => answer(
            zones, query, out, transport, q, service, peer, parsed, 0, None, answered,
        ),
        Ok(Some(v)) => {
            let room = v.response_tsig_len();
            let key = v.key().name.clone();
            let n = answer(
                zones,
                query,
                out,
                transport,
                q,
                service,
                peer,
                parsed,
                room,
                Some(&key),
                answered,
            )?;
            let mut msg = out.get(..n)?.to_vec();
            ResponseSigner::new(&v).sign(&mut msg, now).ok()?;
            copy_back(out, &msg, transport, q)
        }
    }
}

/// Copies the finished message into `out` when it fits the transport's limit.
fn copy_back(out: &mut [u8], msg: &[u8], transport: Transport, q: &QueryView) -> Option<usize> {
    let limit = match (transport, &q.edns) {
        (Transport::Tcp, _) => u16::MAX as usize,
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(e)) => usize::from(e.udp_payload.min(crate::MAX_UDP_PAYLOAD)),
    };
    if msg.len() > limit {
        return None;
    }
    out.get_mut(..msg.len())?.copy_from_slice(msg);
    Some(msg.len())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use crate::pipeline::{respond_with, Transport};
    use crate::{KeyFinder, Service};
    use std::sync::Arc;
    use zonecast_proto::message::{build_query, Message};
    use zonecast_proto::query::QueryView;
    use zonecast_proto::tsig::{sign_request, Key, TsigError, BADKEY, BADSIG, BADTIME};
    use zonecast_proto::{Name, Rtype};
    use zonecast_zone::{Zone, ZoneSet};

    struct Keys(Key);

    impl KeyFinder for Keys {
        fn key(&self, name: &Name) -> Option<Key> {
            (*name == self.0.name).then(|| self.0.clone())
        }
    }

    fn key(secret: &[u8]) -> Key {
        Key::new("q-key", "hmac-sha256", secret.to_vec()).unwrap()
    }

    fn setup() -> (ZoneSet, Service) {
        let origin: Name = "example.com.".parse().unwrap();
        let text = "$TTL 300\n@ SOA ns1 host 7 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n";
        let data = zonecast_zonefile::load_str(text, &origin, "t").unwrap();
        let zones =
            ZoneSet::new().with_zone(Arc::new(Zone::build(&origin, &data.records).unwrap()));
        let service = Service {
            keys: Some(Arc::new(Keys(key(b"right-secret")))),
            ..Service::default()
        };
        (zones, service)
    }

    fn ask(zones: &ZoneSet, service: &Service, query: &[u8], transport: Transport) -> Vec<u8> {
        let mut out = vec![0u8; 65535];
        let mut q = QueryView::default();
        let mut answered = crate::rrl::Answered::default();
        let n = respond_with(
            zones,
            query,
            &mut out,
            transport,
            &mut q,
            service,
            || None,
            &mut answered,
        )
        .unwrap();
        out.truncate(n);
        out
    }

    fn now() -> u64 {
        super::unix_now()
    }

    #[test]
    fn a_signed_query_gets_a_signed_answer_over_udp_and_tcp() {
        let (zones, service) = setup();
        for (transport, edns) in [
            (Transport::Udp, None),
            (Transport::Udp, Some(1232)),
            (Transport::Tcp, None),
        ] {
            let mut qry = build_query(1, &"example.com.".parse().unwrap(), Rtype::SOA, edns);
            let signed = sign_request(&mut qry, &key(b"right-secret"), now(), 300).unwrap();
            let answer = ask(&zones, &service, &qry, transport);
            let m = Message::parse(&answer).unwrap();
            assert_eq!((m.rcode(), m.answer.len()), (0, 1), "{transport:?}");
            let mut v = signed.verifier();
            v.verify(&answer, now()).expect("signed with the key");
            v.finish().unwrap();
        }
    }

    #[test]
    fn failures_are_answered_as_rfc_8945_says() {
        let (zones, service) = setup();
        let q = || build_query(2, &"example.com.".parse().unwrap(), Rtype::SOA, None);
        // Wrong secret: NOTAUTH, BADSIG, unsigned.
        let mut wrong = q();
        let signed = sign_request(&mut wrong, &key(b"wrong-secret"), now(), 300).unwrap();
        let answer = ask(&zones, &service, &wrong, Transport::Udp);
        assert_eq!(Message::parse(&answer).unwrap().rcode(), 9);
        assert!(matches!(
            signed.verifier().verify(&answer, now()),
            Err(TsigError::Peer {
                error: BADSIG,
                signed: false,
                ..
            })
        ));
        // Unknown key: BADKEY.
        let mut unknown = q();
        let other = Key::new("other-key", "hmac-sha256", b"x".to_vec()).unwrap();
        let signed = sign_request(&mut unknown, &other, now(), 300).unwrap();
        let answer = ask(&zones, &service, &unknown, Transport::Udp);
        assert!(matches!(
            signed.verifier().verify(&answer, now()),
            Err(TsigError::Peer { error: BADKEY, .. })
        ));
        // Out of the time window: BADTIME, signed, with our time.
        let mut late = q();
        let signed = sign_request(&mut late, &key(b"right-secret"), now() - 1000, 300).unwrap();
        let answer = ask(&zones, &service, &late, Transport::Udp);
        match signed.verifier().verify(&answer, now()) {
            Err(TsigError::Peer {
                error: BADTIME,
                signed: true,
                server_time,
            }) => {
                assert!(server_time.is_some_and(|t| t.abs_diff(now()) < 5));
            }
            other => panic!("{other:?}"),
        }
        // A TSIG that is not the last record: FORMERR.
        let mut misplaced = q();
        sign_request(&mut misplaced, &key(b"right-secret"), now(), 300).unwrap();
        let extra = build_query(0, &"x.".parse().unwrap(), Rtype::A, Some(1232));
        misplaced.extend_from_slice(&extra[extra.len() - 11..]); // an OPT after the TSIG
        misplaced[11] += 1;
        let answer = ask(&zones, &service, &misplaced, Transport::Udp);
        assert_eq!(Message::parse(&answer).unwrap().rcode(), 1, "FORMERR");
        // No keyring at all: every key is unknown.
        let bare = Service::default();
        let mut qry = q();
        let signed = sign_request(&mut qry, &key(b"right-secret"), now(), 300).unwrap();
        let answer = ask(&zones, &bare, &qry, Transport::Udp);
        assert!(matches!(
            signed.verifier().verify(&answer, now()),
            Err(TsigError::Peer { error: BADKEY, .. })
        ));
    }
}
