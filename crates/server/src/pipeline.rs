//! From query octets to response octets: checks, zone selection, answer, EDNS.
//!
//! RFC 1035 §4.1.1 (rcodes), RFC 6891 §6.1.1/§7 (OPT echo, BADVERS, payload),
//! RFC 2181 §9 and RFC 7766 §8 (UDP truncation, TCP sizes), RFC 8906 (always
//! answer what can be answered), RFC 4035 §3.1.4.1 (DS at a child apex from
//! the parent zone). As Knot does: malformed queries get FORMERR when their
//! question can be echoed, no answer otherwise; unknown opcodes NOTIMP, with
//! or without a question; type 0 and CHAOS transfers NOTIMP, other CHAOS
//! queries REFUSED; AXFR over UDP NOTIMP, other transfers NOTAUTH.

use crate::rrl::Answered;
use crate::{NotifyVerdict, Service, MAX_UDP_PAYLOAD};
use std::net::SocketAddr;
use zonecast_proto::query::{QueryProblem, QueryView, OPCODE_NOTIFY};
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
/// NOTIFY is answered NOTIMP; [`respond_with`] hands it to a [`Service`].
pub fn respond(
    zones: &ZoneSet,
    query: &[u8],
    out: &mut [u8],
    transport: Transport,
    q: &mut QueryView,
) -> Option<usize> {
    // One empty service for every call: a default one per call would
    // allocate (its UDP counters are behind an Arc).
    static NONE: std::sync::OnceLock<Service> = std::sync::OnceLock::new();
    respond_with(
        zones,
        query,
        out,
        transport,
        q,
        NONE.get_or_init(Service::default),
        || None,
        &mut Answered::default(),
    )
}

/// [`respond`] with the node's optional services; `peer` gives the source
/// address (asked for only when a service needs it, e.g. for a NOTIFY);
/// `answered` is told what kind of answer was built (for response rate
/// limiting, [`crate::rrl`]).
#[allow(clippy::too_many_arguments)]
pub fn respond_with(
    zones: &ZoneSet,
    query: &[u8],
    out: &mut [u8],
    transport: Transport,
    q: &mut QueryView,
    service: &Service,
    peer: impl FnOnce() -> Option<SocketAddr>,
    answered: &mut Answered,
) -> Option<usize> {
    *answered = Answered::default();
    let parsed = q.parse(query);
    if q.tsig && parsed != Err(QueryProblem::Drop) {
        return crate::signed::respond(
            zones, query, out, transport, q, service, peer, parsed, answered,
        );
    }
    answer(
        zones, query, out, transport, q, service, peer, parsed, 0, None, answered,
    )
}

/// The answer to a parsed query, `reserve` octets left free at the end (for a TSIG record).
#[allow(clippy::too_many_arguments)]
pub(crate) fn answer(
    zones: &ZoneSet,
    query: &[u8],
    out: &mut [u8],
    transport: Transport,
    q: &mut QueryView,
    service: &Service,
    peer: impl FnOnce() -> Option<SocketAddr>,
    mut parsed: Result<(), QueryProblem>,
    reserve: usize,
    key: Option<&zonecast_proto::Name>,
    answered: &mut Answered,
) -> Option<usize> {
    let mut peer = Some(peer);
    let mut peer_addr = || peer.take().and_then(|f| f());
    let notify = match &service.notify {
        Some(sink) if parsed == Err(QueryProblem::NotImp) && q.opcode == OPCODE_NOTIFY => {
            let verdict = notify_verdict(zones, q, query, sink.as_ref(), peer_addr(), key);
            parsed = Ok(());
            Some(verdict)
        }
        _ => None,
    };
    if parsed == Err(QueryProblem::Drop) {
        return None;
    }
    let mut limit = match (transport, &q.edns) {
        (Transport::Tcp, _) => u16::MAX as usize,
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(e)) => e.udp_payload.min(MAX_UDP_PAYLOAD) as usize,
    };
    if q.edns.is_some() {
        limit -= OPT_LEN;
    }
    limit = limit
        .saturating_sub(reserve)
        .max(12 + q.question_end.saturating_sub(12));
    let mut w = Writer::new(out, limit, q, query);
    // `q.edns` is set only when the whole message parsed: then BADVERS comes
    // before any other error (RFC 6891 §6.1.3), and the OPT is echoed with
    // FORMERR and NOTIMP too, as Knot does.
    let edns = q.edns;
    if let Some(e) = edns {
        if e.version > 0 {
            // BADVERS = 16: upper bits 1 in the OPT, lower bits 0 in the header.
            w.put_opt(MAX_UDP_PAYLOAD, 1).ok()?;
            return Some(w.finish());
        }
    }
    let error = match parsed {
        Err(QueryProblem::FormErr) => Some(FORMERR),
        Err(QueryProblem::NotImp) => Some(NOTIMP),
        Err(QueryProblem::Drop) | Ok(()) => None,
    };
    let transfer = q.qtype == Rtype::AXFR || q.qtype == Rtype::IXFR;
    if let Some(rcode) = error {
        w.set_rcode(rcode);
    } else if let Some(verdict) = notify {
        match verdict {
            NotifyVerdict::Accepted => w.set_aa(true),
            NotifyVerdict::Refused => w.set_rcode(REFUSED),
            NotifyVerdict::NotAuth => w.set_rcode(NOTAUTH),
        }
    } else if q.qclass == Class::CH {
        // As Knot: CHAOS takes plain queries only (we answer none of them,
        // e.g. no id.server), transfers and type 0 are NOTIMP.
        w.set_rcode(if transfer || q.qtype.0 == 0 {
            NOTIMP
        } else {
            REFUSED
        });
    } else if q.qclass != Class::IN && q.qclass != Class::ANY {
        w.set_rcode(REFUSED);
    } else if q.qtype.0 == 0 {
        // Type 0 is reserved (RFC 6895 §3.1): NOTIMP, as Knot.
        w.set_rcode(NOTIMP);
    } else if q.qtype == Rtype::AXFR && transport == Transport::Udp {
        w.set_rcode(NOTIMP);
    } else if transfer {
        // Over TCP the listener serves transfers of our zones itself
        // (crate::xfr); what comes here is IXFR over UDP, or a transfer of
        // a zone this node does not serve (NOTAUTH, as Knot).
        match (&service.transfers, q.qtype, transport) {
            (Some(t), Rtype::IXFR, Transport::Udp) => {
                crate::xfr::ixfr_over_udp(t, zones, q, peer_addr(), key, &mut w)
            }
            _ => w.set_rcode(NOTAUTH),
        }
    } else {
        // DS belongs to the parent side of a cut: a DS query for a zone's
        // apex is answered from the parent zone when it is served too (RFC
        // 4035 §3.1.4.1), like Knot; other queries from the closest zone.
        let slot = if q.qtype == Rtype::DS {
            zones.find_for_ds(q.qname())
        } else {
            zones.find(q.qname())
        };
        match slot {
            None => w.set_rcode(REFUSED),
            Some(slot) => {
                let zone = slot.load();
                answered.apex_len = zone.apex().wire_len();
                answered.outcome = Some(zone.answer(q.qname(), q.qtype, &mut w));
            }
        }
    }
    if edns.is_some() {
        w.put_opt(MAX_UDP_PAYLOAD, 0).ok()?;
    }
    Some(w.finish())
}

/// What a NOTIFY gets (RFC 1996 §3.7, §4.7): NOTAUTH for a zone this node
/// does not serve, otherwise what the sink decides.
fn notify_verdict(
    zones: &ZoneSet,
    q: &QueryView,
    query: &[u8],
    sink: &dyn crate::NotifySink,
    peer: Option<SocketAddr>,
    key: Option<&zonecast_proto::Name>,
) -> NotifyVerdict {
    let Some(peer) = peer else {
        return NotifyVerdict::Refused;
    };
    if q.qclass != Class::IN || q.qtype != Rtype::SOA {
        return NotifyVerdict::Refused;
    }
    let Ok(zone) = zonecast_proto::Name::from_wire(q.qname()) else {
        return NotifyVerdict::Refused;
    };
    let served = zones
        .find(q.qname())
        .is_some_and(|slot| *slot.load().apex() == zone);
    sink.notify(&zone, served, peer, key, notify_serial(query, &zone))
}

/// The serial of `zone`'s SOA in a NOTIFY's answer section (RFC 1996 §3.7),
/// if there is one and the message parses; NOTIFY is rare, so parsing the
/// whole message here costs nothing that matters.
fn notify_serial(query: &[u8], zone: &zonecast_proto::Name) -> Option<u32> {
    let m = zonecast_proto::message::Message::parse(query).ok()?;
    m.answer
        .iter()
        .find(|r| r.rtype == Rtype::SOA && r.owner == *zone)
        .and_then(|r| zonecast_proto::rdata::soa_serial(&r.rdata))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use zonecast_proto::message::{build_query, Message};
    use zonecast_proto::Name;
    use zonecast_zone::Zone;

    const ZONE: &str = "$TTL 300\n@ SOA ns1 host 1 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n\
        big TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n\
        big TXT \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"\n\
        big TXT \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"\n";

    fn zones() -> ZoneSet {
        let origin: Name = "example.com.".parse().unwrap();
        let data = zonecast_zonefile::load_str(ZONE, &origin, "test").unwrap();
        ZoneSet::new().with_zone(Arc::new(Zone::build(&origin, &data.records).unwrap()))
    }

    fn ask(zones: &ZoneSet, query: &[u8], transport: Transport) -> Option<Message> {
        let mut out = vec![0u8; 65535];
        let mut q = QueryView::default();
        let n = respond(zones, query, &mut out, transport, &mut q)?;
        Some(Message::parse(&out[..n]).unwrap())
    }

    fn query(name: &str, qtype: Rtype, edns: Option<u16>) -> Vec<u8> {
        build_query(0x2a, &name.parse().unwrap(), qtype, edns)
    }

    /// Records each NOTIFY and accepts those for served zones from 192.0.2.53.
    #[derive(Default)]
    struct Sink(std::sync::Mutex<Vec<(Name, bool, SocketAddr)>>);

    impl crate::NotifySink for Sink {
        fn notify(
            &self,
            zone: &Name,
            served: bool,
            peer: SocketAddr,
            _key: Option<&Name>,
            _serial: Option<u32>,
        ) -> NotifyVerdict {
            self.0.lock().unwrap().push((zone.clone(), served, peer));
            match (served, peer.ip().to_string().as_str()) {
                (false, _) => NotifyVerdict::NotAuth,
                (true, "192.0.2.53") => NotifyVerdict::Accepted,
                _ => NotifyVerdict::Refused,
            }
        }
    }

    /// The serial hint of a NOTIFY (RFC 1996 §3.7): the zone's SOA in the
    /// answer section, matched by name ignoring case; none otherwise.
    #[test]
    fn notify_serial_is_the_zone_soa_in_the_answer_section() {
        let zone: Name = "example.com.".parse().unwrap();
        let with_soa = |owner: &str, rtype: Rtype| {
            let mut m = query("example.com.", Rtype::SOA, None);
            m[2] = OPCODE_NOTIFY << 3 | 0x04;
            m[7] = 1;
            m.extend_from_slice(owner.parse::<Name>().unwrap().as_wire());
            m.extend_from_slice(&rtype.0.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 1, 44]);
            let mut rdata = Vec::new();
            rdata.extend_from_slice(&[2, b'n', b's', 0, 1, b'h', 0]);
            for v in [2026120301u32, 3600, 600, 604800, 60] {
                rdata.extend_from_slice(&v.to_be_bytes());
            }
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(&rdata);
            m
        };
        assert_eq!(
            notify_serial(&with_soa("Example.COM.", Rtype::SOA), &zone),
            Some(2026120301)
        );
        assert_eq!(
            notify_serial(&with_soa("other.com.", Rtype::SOA), &zone),
            None
        );
        assert_eq!(
            notify_serial(&with_soa("example.com.", Rtype::TXT), &zone),
            None
        );
        assert_eq!(
            notify_serial(&query("example.com.", Rtype::SOA, None), &zone),
            None
        );
        let mut cut = with_soa("example.com.", Rtype::SOA);
        cut.truncate(cut.len() - 3);
        assert_eq!(
            notify_serial(&cut, &zone),
            None,
            "a message that does not parse"
        );
    }

    #[test]
    fn notify_goes_to_the_sink_and_is_answered_with_its_verdict() {
        let z = zones();
        let sink = Arc::new(Sink::default());
        let service = Service {
            notify: Some(sink.clone()),
            ..Service::default()
        };
        let notify = |name: &str| {
            let mut m = query(name, Rtype::SOA, None);
            m[2] = (m[2] & 0x87) | OPCODE_NOTIFY << 3 | 0x04; // NOTIFY, AA
            m
        };
        let ask_from = |msg: &[u8], peer: &str| {
            let mut out = vec![0u8; 512];
            let mut q = QueryView::default();
            let peer: SocketAddr = peer.parse().unwrap();
            let mut answered = Answered::default();
            let n = respond_with(
                &z,
                msg,
                &mut out,
                Transport::Udp,
                &mut q,
                &service,
                || Some(peer),
                &mut answered,
            )
            .unwrap();
            Message::parse(&out[..n]).unwrap()
        };
        let m = ask_from(&notify("Example.COM."), "192.0.2.53:5353");
        assert_eq!(
            (m.rcode(), m.header.opcode, m.header.aa),
            (0, OPCODE_NOTIFY, true)
        );
        assert_eq!(m.questions[0].qname, "Example.COM.".parse().unwrap());
        assert_eq!(
            ask_from(&notify("example.com."), "198.51.100.1:53").rcode(),
            5
        );
        assert_eq!(
            ask_from(&notify("other.example."), "192.0.2.53:53").rcode(),
            9
        );
        let seen = sink.0.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0].0, "example.com.".parse().unwrap());
        assert!(seen[0].1 && !seen[2].1);
        assert_eq!(seen[1].2, "198.51.100.1:53".parse().unwrap());
        // Without a sink NOTIFY stays NOTIMP, and queries are unaffected by one.
        assert_eq!(
            ask(&z, &notify("example.com."), Transport::Udp)
                .unwrap()
                .rcode(),
            4
        );
        let m = ask_from(&query("ns1.example.com.", Rtype::A, None), "192.0.2.53:53");
        assert_eq!((m.rcode(), m.answer.len()), (0, 1));
        assert_eq!(sink.0.lock().unwrap().len(), 3);
    }

    #[test]
    fn opt_is_echoed_only_when_present() {
        let z = zones();
        let m = ask(
            &z,
            &query("ns1.example.com.", Rtype::A, Some(4096)),
            Transport::Udp,
        )
        .unwrap();
        assert_eq!(m.edns.unwrap().udp_payload, MAX_UDP_PAYLOAD);
        let m = ask(
            &z,
            &query("ns1.example.com.", Rtype::A, None),
            Transport::Udp,
        )
        .unwrap();
        assert!(m.edns.is_none());
        assert_eq!(m.answer.len(), 1);
    }

    #[test]
    fn badvers_for_edns_version_above_zero() {
        let mut q = query("example.com.", Rtype::SOA, Some(1232));
        let at = q.len() - 5; // OPT TTL octets: ext-rcode, version, flags
        q[at] = 1;
        let m = ask(&zones(), &q, Transport::Udp).unwrap();
        assert_eq!(m.rcode(), 16);
        assert_eq!(m.edns.unwrap().version, 0);
        assert!(m.answer.is_empty() && !m.header.aa);
    }

    #[test]
    fn truncation_depends_on_transport_and_payload() {
        let z = zones();
        let big = |edns, t| ask(&z, &query("big.example.com.", Rtype::TXT, edns), t).unwrap();
        let m = big(None, Transport::Udp);
        assert!(m.header.tc && m.answer.is_empty());
        let m = big(Some(512), Transport::Udp);
        assert!(m.header.tc && m.edns.is_some());
        let m = big(Some(1232), Transport::Udp);
        assert!(!m.header.tc);
        assert_eq!(m.answer.len(), 3);
        let m = big(None, Transport::Tcp);
        assert!(!m.header.tc);
        assert_eq!(m.answer.len(), 3);
    }

    #[test]
    fn refused_notimp_notauth() {
        let z = zones();
        let m = ask(
            &z,
            &query("www.example.org.", Rtype::A, None),
            Transport::Udp,
        )
        .unwrap();
        assert_eq!(m.rcode(), 5);
        assert!(!m.header.aa);
        let mut ch = query("example.com.", Rtype::SOA, None);
        let n = ch.len();
        ch[n - 1] = 3; // class CH
        assert_eq!(ask(&z, &ch, Transport::Udp).unwrap().rcode(), 5);
        let axfr = query("example.com.", Rtype::AXFR, None);
        assert_eq!(ask(&z, &axfr, Transport::Udp).unwrap().rcode(), 4);
        assert_eq!(ask(&z, &axfr, Transport::Tcp).unwrap().rcode(), 9);
        let mut notify = query("example.com.", Rtype::SOA, None);
        notify[2] = 4 << 3;
        let m = ask(&z, &notify, Transport::Udp).unwrap();
        assert_eq!(m.rcode(), 4);
        assert_eq!(m.header.opcode, 4);
    }

    /// A zone set with example.com and its child sub.example.com (delegated with DS).
    fn nested() -> ZoneSet {
        let parent: Name = "example.com.".parse().unwrap();
        let text = format!(
            "{ZONE}sub NS ns1.sub\nsub DS 1 13 2 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\nns1.sub A 192.0.2.9\n"
        );
        let data = zonecast_zonefile::load_str(&text, &parent, "parent").unwrap();
        let child: Name = "sub.example.com.".parse().unwrap();
        let child_text =
            "$TTL 300\n@ SOA ns1 host 1 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.9\n";
        let child_data = zonecast_zonefile::load_str(child_text, &child, "child").unwrap();
        ZoneSet::new()
            .with_zone(Arc::new(Zone::build(&parent, &data.records).unwrap()))
            .with_zone(Arc::new(Zone::build(&child, &child_data.records).unwrap()))
    }

    #[test]
    fn ds_at_a_child_apex_comes_from_the_parent() {
        let z = nested();
        let m = ask(
            &z,
            &query("Sub.Example.com.", Rtype::DS, None),
            Transport::Udp,
        )
        .unwrap();
        assert_eq!(m.rcode(), 0);
        assert!(m.header.aa);
        assert_eq!(m.answer.len(), 1);
        assert_eq!(m.answer[0].rtype, Rtype::DS);
        // Other types at the child apex come from the child.
        let m = ask(
            &z,
            &query("sub.example.com.", Rtype::SOA, None),
            Transport::Udp,
        )
        .unwrap();
        assert_eq!(m.answer[0].rtype, Rtype::SOA);
        assert_eq!(m.answer[0].owner.to_string(), "sub.example.com.");
        // Below the child apex, DS is the child's (NODATA).
        let m = ask(
            &z,
            &query("ns1.sub.example.com.", Rtype::DS, None),
            Transport::Udp,
        )
        .unwrap();
        assert!(m.answer.is_empty());
        assert_eq!(m.authority[0].owner.to_string(), "sub.example.com.");
        // Without the parent, the child answers its apex DS (NODATA).
        let mut lone = z.clone();
        lone = lone.without_zone(&"example.com.".parse().unwrap()).0;
        let m = ask(
            &lone,
            &query("sub.example.com.", Rtype::DS, None),
            Transport::Udp,
        )
        .unwrap();
        assert_eq!(m.rcode(), 0);
        assert!(m.answer.is_empty());
        assert_eq!(m.authority[0].rtype, Rtype::SOA);
    }

    /// As Knot: type 0 NOTIMP; CHAOS transfers NOTIMP, other CHAOS queries
    /// REFUSED; IXFR (UDP or TCP) and AXFR over TCP NOTAUTH, in zones or not.
    #[test]
    fn odd_types_and_classes() {
        let z = zones();
        let class = |mut q: Vec<u8>, c: u16| {
            let n = q.len();
            q[n - 2..].copy_from_slice(&c.to_be_bytes());
            q
        };
        let rc = |q: &[u8], t| ask(&z, q, t).unwrap().rcode();
        assert_eq!(
            rc(&query("example.com.", Rtype(0), None), Transport::Udp),
            4
        );
        assert_eq!(
            rc(&query("nowhere.org.", Rtype(0), None), Transport::Udp),
            4
        );
        assert_eq!(
            rc(
                &class(query("example.com.", Rtype::AXFR, None), 3),
                Transport::Tcp
            ),
            4
        );
        assert_eq!(
            rc(
                &class(query("example.com.", Rtype::A, None), 3),
                Transport::Udp
            ),
            5
        );
        assert_eq!(
            rc(
                &class(query("example.com.", Rtype::A, None), 4),
                Transport::Udp
            ),
            5
        );
        assert_eq!(
            rc(&query("example.com.", Rtype::IXFR, None), Transport::Udp),
            9
        );
        assert_eq!(
            rc(
                &query("www.example.com.", Rtype::AXFR, None),
                Transport::Tcp
            ),
            9
        );
        assert_eq!(
            rc(&query("nowhere.org.", Rtype::AXFR, None), Transport::Tcp),
            9
        );
        assert_eq!(
            rc(&query("nowhere.org.", Rtype::AXFR, None), Transport::Udp),
            4
        );
        let m = ask(
            &z,
            &class(query("example.com.", Rtype::SOA, None), 255),
            Transport::Udp,
        )
        .unwrap();
        assert_eq!(m.answer.len(), 1, "class ANY is answered like IN");
    }

    /// Without a question: NOTIMP for unknown opcodes, FORMERR otherwise, OPT echoed; BADVERS first.
    #[test]
    fn no_question() {
        let z = zones();
        let mut q = query("example.com.", Rtype::SOA, Some(1232));
        let opt = q[q.len() - 11..].to_vec();
        q.truncate(12);
        q[5] = 0;
        q.extend_from_slice(&opt);
        for (opcode, want) in [(0u8, 1u16), (3, 4), (4, 1), (5, 1), (15, 4)] {
            let mut p = q.clone();
            p[2] = opcode << 3;
            let m = ask(&z, &p, Transport::Udp).unwrap();
            assert_eq!(m.rcode(), want, "opcode {opcode}");
            assert_eq!(m.header.opcode, opcode);
            assert!(m.questions.is_empty() && m.edns.is_some());
        }
        let mut p = q.clone();
        p[2] = 3 << 3;
        let at = p.len() - 5;
        p[at] = 1; // EDNS version 1
        assert_eq!(ask(&z, &p, Transport::Udp).unwrap().rcode(), 16);
    }

    #[test]
    fn formerr_and_silence() {
        let z = zones();
        let mut trailing = query("example.com.", Rtype::SOA, None);
        trailing.push(0);
        let m = ask(&z, &trailing, Transport::Udp).unwrap();
        assert_eq!(m.rcode(), 1);
        assert_eq!(m.questions.len(), 1);
        assert!(ask(&z, &[0u8; 11], Transport::Udp).is_none());
        let mut response = query("example.com.", Rtype::SOA, None);
        response[2] |= 0x80;
        assert!(ask(&z, &response, Transport::Udp).is_none());
    }
}
