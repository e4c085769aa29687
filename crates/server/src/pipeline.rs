//! From query octets to response octets: checks, zone selection, answer, EDNS.
//!
//! RFC 1035 §4.1.1 (rcodes), RFC 6891 §6.1.1/§7 (OPT echo, BADVERS, payload),
//! RFC 2181 §9 and RFC 7766 §8 (UDP truncation, TCP sizes), RFC 8906 (always
//! answer what can be answered). Malformed queries get FORMERR when their
//! question can be echoed, no answer otherwise (as Knot does).

use crate::MAX_UDP_PAYLOAD;
use zonecast_proto::query::{QueryProblem, QueryView};
use zonecast_proto::writer::Writer;
use zonecast_proto::{Class, Rtype};
use zonecast_zone::ZoneSet;

/// Response codes.
const FORMERR: u8 = 1;
const NOTIMP: u8 = 4;
const REFUSED: u8 = 5;
const NOTAUTH: u8 = 9;
/// Size of an OPT record without options.
const OPT_LEN: usize = 11;

/// The transport a query came over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP: responses are limited to 512 octets or the EDNS payload size.
    Udp,
    /// TCP: up to 65535 octets.
    Tcp,
}

/// Builds the response to `query` in `out`; returns its length, or `None` to send nothing.
///
/// `q` is scratch space reused across calls; `out` should hold 65535 octets for TCP.
pub fn respond(
    zones: &ZoneSet,
    query: &[u8],
    out: &mut [u8],
    transport: Transport,
    q: &mut QueryView,
) -> Option<usize> {
    let parsed = q.parse(query);
    let mut limit = match (transport, &q.edns) {
        (Transport::Tcp, _) => u16::MAX as usize,
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(e)) => e.udp_payload.min(MAX_UDP_PAYLOAD) as usize,
    };
    if q.edns.is_some() {
        limit -= OPT_LEN;
    }
    let mut w = Writer::new(out, limit, q, query);
    match parsed {
        Err(QueryProblem::Drop) => return None,
        Err(QueryProblem::FormErr) => {
            w.set_rcode(FORMERR);
            return Some(w.finish());
        }
        Err(QueryProblem::NotImp) => {
            w.set_rcode(NOTIMP);
            return Some(w.finish());
        }
        Ok(()) => {}
    }
    let edns = q.edns;
    if let Some(e) = edns {
        if e.version > 0 {
            // BADVERS = 16: upper bits 1 in the OPT, lower bits 0 in the header.
            w.put_opt(MAX_UDP_PAYLOAD, 1).ok()?;
            return Some(w.finish());
        }
    }
    if q.qclass != Class::IN && q.qclass != Class::ANY {
        w.set_rcode(REFUSED);
    } else if q.qtype == Rtype::AXFR && transport == Transport::Udp {
        w.set_rcode(NOTIMP);
    } else {
        match zones.find(q.qname()) {
            None => w.set_rcode(REFUSED),
            Some(_)
                if transport == Transport::Tcp
                    && (q.qtype == Rtype::AXFR || q.qtype == Rtype::IXFR) =>
            {
                w.set_rcode(NOTAUTH);
            }
            Some(zone) => {
                zone.answer(q.qname(), q.qtype, &mut w);
            }
        }
    }
    if edns.is_some() {
        w.put_opt(MAX_UDP_PAYLOAD, 0).ok()?;
    }
    Some(w.finish())
}
