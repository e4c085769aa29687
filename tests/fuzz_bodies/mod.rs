//! Bodies of the fuzz targets, shared by `fuzz/fuzz_targets/*` and the
//! corpus replay in `tests/fuzz_corpus.rs`. Each must never panic on any
//! input; where the input is accepted, it checks an invariant.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::query::QueryView;
use zonecast_proto::rdata::{format_presentation, parse_presentation, validate_wire, Token};
use zonecast_proto::tsig::{self, Key, ResponseSigner};
use zonecast_proto::{Name, Rtype};
use zonecast_server::pipeline::{respond, Transport};
use zonecast_zone::{Zone, ZoneSet};

/// A zone with every kind of node the lookup distinguishes.
pub const FUZZ_ZONE: &str = r#"$ORIGIN example.com.
$TTL 300
@ SOA ns1 host 1 3600 900 604800 60
@ NS ns1
@ NS ns2.example.net.
@ MX 10 mail
@ TXT "v=spf1 -all"
ns1 A 192.0.2.1
ns1 AAAA 2001:db8::1
mail A 192.0.2.2
www A 192.0.2.3
cn CNAME www
loop CNAME loop2
loop2 CNAME loop
*.wild A 192.0.2.9
*.wc CNAME www
sub NS ns.sub
ns.sub A 192.0.2.53
dn DNAME example.net.
deep.dn2 DNAME a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.example.com.
a.b.c A 192.0.2.4
big TXT "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big TXT "1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big TXT "2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big TXT "3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big TXT "4123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big TXT "5123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
"#;

fn zones() -> &'static ZoneSet {
    static ZONES: OnceLock<ZoneSet> = OnceLock::new();
    ZONES.get_or_init(|| {
        let origin: Name = "example.com.".parse().expect("constant name");
        let data = zonecast_zonefile::load_str(FUZZ_ZONE, &origin, "fuzz-zone")
            .expect("constant zone loads");
        let zone = Zone::build(&origin, &data.records).expect("constant zone builds");
        ZoneSet::new().with_zone(std::sync::Arc::new(zone))
    })
}

/// Any octets as a DNS message: parse must not panic.
pub fn message(data: &[u8]) {
    let _ = Message::parse(data);
}

/// Any octets as a query to the server: no panic, and every response parses,
/// echoes the ID, and fits the transport's limit.
pub fn query(data: &[u8]) {
    let mut q = QueryView::default();
    let mut out = vec![0u8; 65535];
    for transport in [Transport::Udp, Transport::Tcp] {
        if let Some(n) = respond(zones(), data, &mut out, transport, &mut q) {
            let limit = if transport == Transport::Udp {
                1232
            } else {
                65535
            };
            assert!(n <= limit, "response of {n} octets over {transport:?}");
            let m = match Message::parse(&out[..n]) {
                Ok(m) => m,
                Err(e) => panic!("our response does not parse: {e}: {:02x?}", &out[..n]),
            };
            assert!(m.header.qr);
            assert_eq!(&out[..2], &data[..2]);
        }
    }
}

/// Any text as a zone file: no panic; an accepted zone exports and re-imports to the same records.
pub fn zonefile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let origin: Name = "example.com.".parse().expect("constant name");
    let Ok(zone) = zonecast_zonefile::load_str(text, &origin, "fuzz") else {
        return;
    };
    let out = zonecast_zonefile::write_zone(&zone.origin, &zone.records);
    let again = match zonecast_zonefile::load_str(&out, &origin, "export") {
        Ok(z) => z,
        Err(e) => panic!("exported zone does not re-import: {e}\n{out}"),
    };
    let mut a: Vec<String> = zone.records.iter().map(key).collect();
    let mut b: Vec<String> = again.records.iter().map(key).collect();
    a.sort();
    a.dedup();
    b.sort();
    b.dedup();
    assert_eq!(a, b, "round trip changed the zone:\n{out}");
}

fn key(r: &zonecast_proto::Record) -> String {
    format!(
        "{} {} {} {:02x?}",
        r.owner.to_string().to_lowercase(),
        r.ttl,
        r.rtype,
        r.rdata
    )
}

/// Two octets of type then wire rdata: no panic; valid rdata formats and parses back to the same octets.
pub fn rdata(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let rtype = Rtype(u16::from_be_bytes([data[0], data[1]]));
    if rtype.is_meta() {
        return;
    }
    let rdata = &data[2..];
    let text = format_presentation(rtype, rdata);
    if validate_wire(rtype, rdata).is_err() {
        return;
    }
    let tokens = tokenize(&text);
    let origin = Name::root();
    match parse_presentation(rtype, &tokens, &origin) {
        Ok(back) => assert_eq!(back, rdata, "{rtype} {text}"),
        Err(e) => panic!("{rtype} rdata formatted as '{text}' does not parse back: {e}"),
    }
}

/// Splits presentation text into tokens the way a zone file tokenizer would (quotes, escapes).
fn tokenize(text: &str) -> Vec<Token<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' {
            i += 1;
            continue;
        }
        if b[i] == b'"' {
            let start = i + 1;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            out.push(Token {
                text: &text[start..i.min(b.len())],
                quoted: true,
            });
            i += 1;
        } else {
            let start = i;
            while i < b.len() && b[i] != b' ' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            out.push(Token {
                text: &text[start..i.min(b.len())],
                quoted: false,
            });
        }
    }
    out
}

/// The clock of the `tsig` target; its seeds (`fuzz/make_seeds.py`) are signed at this time.
pub const FUZZ_TSIG_NOW: u64 = 1_700_000_000;
/// The ID of the AXFR query whose answers the `tsig` target verifies.
pub const FUZZ_TSIG_ID: u16 = 0x7a7a;

/// The key of the `tsig` target: `fuzz-key`, HMAC-SHA256, secret "zonecast fuzz key".
fn fuzz_tsig_key() -> Key {
    Key::new("fuzz-key", "hmac-sha256", b"zonecast fuzz key".to_vec()).expect("constant key")
}

/// Any octets as a TSIG-signed request, and as a TCP stream (2-octet
/// length prefixes) of signed answers to a fixed AXFR query: no panic; an
/// accepted request can be answered signed, a refused one with its error
/// TSIG RR.
pub fn tsig(data: &[u8]) {
    let key = fuzz_tsig_key();
    let find = |n: &Name| (n == &key.name).then(|| key.clone());
    match tsig::verify_request(data, find, FUZZ_TSIG_NOW) {
        Ok(Some(verified)) => {
            let mut answer = data.to_vec();
            let fits = answer.len() + verified.response_tsig_len() <= 65535;
            let signed = ResponseSigner::new(&verified).sign(&mut answer, FUZZ_TSIG_NOW);
            assert_eq!(
                signed.is_ok(),
                fits,
                "signing {} octets: {signed:?}",
                data.len()
            );
        }
        Ok(None) => {}
        Err(failure) => {
            let mut answer = data.to_vec();
            let _ = tsig::append_error_tsig(&mut answer, &failure, FUZZ_TSIG_NOW);
        }
    }
    let qname: Name = "example.com.".parse().expect("constant name");
    let mut query = build_query(FUZZ_TSIG_ID, &qname, Rtype::AXFR, None);
    let request = tsig::sign_request(&mut query, &key, FUZZ_TSIG_NOW, tsig::DEFAULT_FUDGE)
        .expect("a small query can be signed");
    let mut verifier = request.verifier();
    let mut rest = data;
    while let [hi, lo, tail @ ..] = rest {
        let len = u16::from_be_bytes([*hi, *lo]) as usize;
        let (Some(msg), Some(next)) = (tail.get(..len), tail.get(len..)) else {
            break;
        };
        if verifier.verify(msg, FUZZ_TSIG_NOW).is_err() {
            break;
        }
        rest = next;
    }
    let _ = verifier.finish();
}

/// The transfer-in reader (`zonecast_xfr::response`): the first octet picks
/// AXFR or IXFR from serial 1, the rest is a TCP-framed stream of response
/// messages to query ID 0x4242 for example.com. Whatever comes, the reader
/// answers an error or a transfer, never a panic; a complete transfer
/// starts at our serial (IXFR) or holds its SOA once (AXFR).
pub fn xfr_in(data: &[u8]) {
    use zonecast_xfr::response::{Ask, Received, TransferReader};
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let ask = if mode & 1 == 0 {
        Ask::Axfr
    } else {
        Ask::Ixfr { serial: 1 }
    };
    let zone: Name = "example.com.".parse().unwrap_or_else(|_| Name::root());
    let mut reader = TransferReader::new(&zone, ask, 0x4242, 10_000);
    while let [a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*a, *b])).min(tail.len());
        let (msg, next) = tail.split_at(len);
        rest = next;
        match reader.feed(msg) {
            Ok(true) | Err(_) => break,
            Ok(false) => {}
        }
    }
    if let Ok(received) = reader.finish() {
        match received {
            Received::Incremental { deltas } => {
                assert_eq!(deltas.first().map(|d| d.from), Some(1));
                for pair in deltas.windows(2) {
                    assert_eq!(pair[0].to, pair[1].from, "changes chain");
                }
            }
            Received::Full { records } => {
                let soas = records.iter().filter(|r| r.rtype == Rtype::SOA).count();
                assert_eq!(soas, 1, "the SOA once");
            }
            Received::UpToDate { .. } => {}
        }
    }
}

/// Any octets as a DNS message; one that parses is built back to wire
/// twice and parsed again:
/// - uncompressed (header, questions, records as parsed, OPT last): the
///   re-parse is the same message, octet for octet once encoded again;
/// - through the server's compressing [`Writer`] (one question at most, as
///   a response to it), with the documented normalisation: QR set, RA, AD
///   and CD clear (the writer never sets them), owner names and the
///   compressible rdata names (RFC 3597 §4) equal case-insensitively (a
///   compressed name takes on the case of the name it points to), the OPT
///   reduced to payload size and extended rcode.
pub fn message_roundtrip(data: &[u8]) {
    let Ok(m) = Message::parse(data) else {
        return;
    };
    let wire = encode_uncompressed(&m);
    let again = match Message::parse(&wire) {
        Ok(a) => a,
        Err(e) => panic!("uncompressed encoding does not parse: {e}: {m:?}"),
    };
    assert_eq!(again, m, "uncompressed round trip changed the message");
    assert_eq!(encode_uncompressed(&again), wire, "names changed case");
    roundtrip_compressed(&m);
}

/// The message in wire form without compression; the OPT goes last.
fn encode_uncompressed(m: &Message) -> Vec<u8> {
    use zonecast_proto::message::write_records_uncompressed;
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&m.header.id.to_be_bytes());
    out.extend_from_slice(&m.header.flags());
    let ar = m.additional.len() + usize::from(m.edns.is_some());
    for n in [m.questions.len(), m.answer.len(), m.authority.len(), ar] {
        out.extend_from_slice(&(n as u16).to_be_bytes());
    }
    for q in &m.questions {
        out.extend_from_slice(q.qname.as_wire());
        out.extend_from_slice(&q.qtype.0.to_be_bytes());
        out.extend_from_slice(&q.qclass.0.to_be_bytes());
    }
    write_records_uncompressed(&m.answer, &mut out);
    write_records_uncompressed(&m.authority, &mut out);
    write_records_uncompressed(&m.additional, &mut out);
    if let Some(e) = &m.edns {
        let mut rdata = Vec::new();
        for (code, d) in &e.options {
            rdata.extend_from_slice(&code.to_be_bytes());
            rdata.extend_from_slice(&(d.len() as u16).to_be_bytes());
            rdata.extend_from_slice(d);
        }
        let ttl = u32::from(e.ext_rcode) << 24
            | u32::from(e.version) << 16
            | if e.dnssec_ok { 0x8000 } else { 0 };
        out.push(0);
        out.extend_from_slice(&Rtype::OPT.0.to_be_bytes());
        out.extend_from_slice(&e.udp_payload.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    out
}

/// Rdata with its compressible names lowered: what survives compression exactly.
fn compressed_form(r: &zonecast_proto::Record) -> Vec<u8> {
    let mut rdata = r.rdata.to_vec();
    let (slots, n) = zonecast_proto::rdata::compressible_names(r.rtype, &r.rdata);
    for s in &slots[..n] {
        if let Some(name) = rdata.get_mut(usize::from(s.start)..usize::from(s.end)) {
            zonecast_proto::name::lowercase_wire(name);
        }
    }
    rdata
}

/// Writes `m` as a response with [`Writer`] (module doc of `message_roundtrip`) and checks the re-parse.
fn roundtrip_compressed(m: &Message) {
    use zonecast_proto::writer::{Writer, ADDITIONAL, ANSWER, AUTHORITY};
    if m.questions.len() > 1 {
        return;
    }
    // The query this message answers: ID, opcode, RD and the question as sent.
    let mut query = Vec::with_capacity(12 + 259);
    query.extend_from_slice(&m.header.id.to_be_bytes());
    query.extend_from_slice(&[(m.header.opcode & 0x0F) << 3 | u8::from(m.header.rd), 0]);
    query.extend_from_slice(&[0, m.questions.len() as u8, 0, 0, 0, 0, 0, 0]);
    for q in &m.questions {
        query.extend_from_slice(q.qname.as_wire());
        query.extend_from_slice(&q.qtype.0.to_be_bytes());
        query.extend_from_slice(&q.qclass.0.to_be_bytes());
    }
    let mut view = QueryView::default();
    // Opcodes other than QUERY are refused, but the view is filled all the same.
    let _ = view.parse(&query);
    assert_eq!(view.question_end, query.len(), "the question was read");
    let mut buf = vec![0u8; 65535];
    let mut w = Writer::new(&mut buf, 65535, &view, &query);
    w.set_aa(m.header.aa);
    if m.header.tc {
        w.set_tc();
    }
    w.set_rcode(m.header.rcode);
    for (section, records) in [
        (ANSWER, &m.answer),
        (AUTHORITY, &m.authority),
        (ADDITIONAL, &m.additional),
    ] {
        let mut prev: Option<(&Name, Rtype)> = None;
        for r in records.iter() {
            if prev != Some((&r.owner, r.rtype)) {
                if section == ADDITIONAL {
                    w.begin_rrset_for(r.owner.as_wire());
                } else {
                    w.begin_rrset();
                }
                prev = Some((&r.owner, r.rtype));
            }
            let mut tct = [0u8; 8];
            tct[..2].copy_from_slice(&r.rtype.0.to_be_bytes());
            tct[2..4].copy_from_slice(&r.class.0.to_be_bytes());
            tct[4..].copy_from_slice(&r.ttl.to_be_bytes());
            let (slots, n) = zonecast_proto::rdata::compressible_names(r.rtype, &r.rdata);
            let written = w
                .put_owner(r.owner.as_wire())
                .and_then(|()| w.put_rr_body(&tct, &r.rdata, &slots[..n]));
            match written {
                Ok(()) => w.count_record(section),
                // Decompressed, the records may not fit 64 KiB again.
                Err(zonecast_proto::Error::NoSpace) => return,
                Err(e) => panic!("writer refused a parsed record {r:?}: {e}"),
            }
        }
    }
    if let Some(e) = &m.edns {
        if w.put_opt(e.udp_payload, e.ext_rcode).is_err() {
            return;
        }
    }
    let len = w.finish();
    let out = match Message::parse(&buf[..len]) {
        Ok(o) => o,
        Err(e) => panic!("written message does not parse: {e}: {:02x?}", &buf[..len]),
    };
    let h = m.header;
    let want = zonecast_proto::message::Header {
        qr: true,
        ra: false,
        ad: false,
        cd: false,
        ..h
    };
    assert_eq!(out.header, want, "header");
    assert_eq!(out.questions.len(), m.questions.len());
    for (a, b) in out.questions.iter().zip(&m.questions) {
        assert_eq!(
            a.qname.as_wire(),
            b.qname.as_wire(),
            "question copied as sent"
        );
        assert_eq!((a.qtype, a.qclass), (b.qtype, b.qclass));
    }
    for (got, sent) in [
        (&out.answer, &m.answer),
        (&out.authority, &m.authority),
        (&out.additional, &m.additional),
    ] {
        assert_eq!(got.len(), sent.len(), "record count");
        for (a, b) in got.iter().zip(sent.iter()) {
            assert_eq!(a.owner, b.owner, "owner");
            assert_eq!((a.rtype, a.class, a.ttl), (b.rtype, b.class, b.ttl));
            assert_eq!(compressed_form(a), compressed_form(b), "rdata of {b:?}");
        }
    }
    let edns = m.edns.as_ref().map(|e| zonecast_proto::message::Edns {
        version: 0,
        udp_payload: e.udp_payload,
        dnssec_ok: false,
        ext_rcode: e.ext_rcode,
        options: Vec::new(),
    });
    assert_eq!(out.edns, edns, "OPT");
}

/// The secondary zone the `ixfr_apply` target changes; its SOA is the
/// `soa_rr(1)` of `fuzz/make_depth_seeds.py`.
pub const IXFR_ZONE: &str = r#"$ORIGIN example.com.
$TTL 300
@ SOA ns1 host 1 3600 600 604800 300
@ NS ns1
@ NS ns2
@ MX 10 mail
@ TXT "v=spf1 -all"
ns1 A 192.0.2.1
ns2 A 192.0.2.2
mail A 192.0.2.3
www A 192.0.2.1
www AAAA 2001:db8::1
cn CNAME www
dn DNAME example.net.
sub NS ns.sub
ns.sub A 192.0.2.53
*.wild TXT "wild"
"#;

fn ixfr_zone() -> &'static zonecast_control::fuzzing::FuzzZone {
    static ZONE: OnceLock<zonecast_control::fuzzing::FuzzZone> = OnceLock::new();
    ZONE.get_or_init(|| {
        let origin: Name = "example.com.".parse().expect("constant name");
        let data = zonecast_zonefile::load_str(IXFR_ZONE, &origin, "ixfr-zone")
            .expect("constant zone loads");
        zonecast_control::fuzzing::FuzzZone::new(
            &origin,
            zonecast_store::ZoneKind::Secondary,
            data.records,
        )
        .expect("constant zone is valid")
    })
}

/// A record's identity as a zone holds it: owner and rdata names lowered, TTL left out.
/// Checks that `staged` holds `start` with its changes applied (each
/// removal held, each addition new) and is a valid zone; its records.
fn assert_applied(
    start: &Zone,
    staged: &zonecast_control::fuzzing::Staged,
    what: &str,
) -> Vec<zonecast_proto::Record> {
    let mut model: BTreeSet<_> = start.records().iter().map(zone_key).collect();
    for c in &staged.changes {
        for r in &c.removed {
            assert!(
                model.remove(&zone_key(r)),
                "removes a record the zone does not hold: {r:?}"
            );
        }
        for r in &c.added {
            assert!(
                model.insert(zone_key(r)),
                "adds a record the zone holds: {r:?}"
            );
        }
    }
    let records = staged.version.records();
    let got: BTreeSet<_> = records.iter().map(zone_key).collect();
    assert_eq!(got, model, "the version holds what the changes say");
    if let Err(problems) = zonecast_zone::validate::validate_zone(start.apex(), &records) {
        panic!("{what} leaves an invalid zone: {problems:?}");
    }
    records
}

fn zone_key(r: &zonecast_proto::Record) -> (Vec<u8>, u16, Vec<u8>) {
    let mut owner = r.owner.as_wire().to_vec();
    zonecast_proto::name::lowercase_wire(&mut owner);
    let mut rdata = r.rdata.to_vec();
    zonecast_proto::rdata::lowercase_canonical_names(r.rtype, &mut rdata);
    (owner, r.rtype.0, rdata)
}

/// A TCP-framed IXFR response (to ID 0x4242, example.com, from the zone's
/// serial 1) read by the transfer reader and, when it is an incremental
/// transfer, staged against [`IXFR_ZONE`] as a secondary applies it (every
/// check of `Control::apply_transfer`, no store). Nothing panics; a change
/// that is accepted removes only records the zone holds and adds only ones
/// it does not, reaches the last serial, and leaves a zone that passes the
/// whole-zone rules and builds again from its records.
pub fn ixfr_apply(data: &[u8]) {
    use zonecast_xfr::response::{Ask, Received, TransferReader};
    let zone = ixfr_zone();
    let Some(start) = zone.version() else {
        return;
    };
    let apex = start.apex().clone();
    let mut reader = TransferReader::new(
        &apex,
        Ask::Ixfr {
            serial: zone.serial(),
        },
        0x4242,
        10_000,
    );
    let mut rest = data;
    while let [a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*a, *b])).min(tail.len());
        let (msg, next) = tail.split_at(len);
        rest = next;
        match reader.feed(msg) {
            Ok(true) | Err(_) => break,
            Ok(false) => {}
        }
    }
    let Ok(Received::Incremental { deltas }) = reader.finish() else {
        return;
    };
    let changes: Vec<zonecast_store::Change> = deltas
        .into_iter()
        .map(|d| zonecast_store::Change {
            serial_from: d.from,
            serial_to: d.to,
            removed: d.removed,
            added: d.added,
        })
        .collect();
    let Ok(staged) = zone.stage_incremental(&changes) else {
        return;
    };
    assert_eq!(staged.changes.len(), changes.len());
    if let Some(last) = changes.last() {
        assert_eq!(staged.serial, last.serial_to, "the last serial is reached");
    }
    assert_eq!(staged.version.serial(), staged.serial);
    let records = assert_applied(start, &staged, "an applied IXFR");
    assert_eq!(records.len(), staged.version.record_count());
    if let Err(e) = Zone::build(&apex, &records) {
        panic!("an applied IXFR leaves records that do not build: {e}");
    }
}

/// The clock of the `api_body` target (serials advance by the zone's policy at this time).
pub const FUZZ_API_NOW: i64 = 1_700_000_000;

/// The primary zone the edits of the `api_body` target are staged against: [`IXFR_ZONE`].
fn api_zone() -> &'static zonecast_control::fuzzing::FuzzZone {
    static ZONE: OnceLock<zonecast_control::fuzzing::FuzzZone> = OnceLock::new();
    ZONE.get_or_init(|| {
        let origin: Name = "example.com.".parse().expect("constant name");
        let data = zonecast_zonefile::load_str(IXFR_ZONE, &origin, "api-zone")
            .expect("constant zone loads");
        zonecast_control::fuzzing::FuzzZone::new(
            &origin,
            zonecast_store::ZoneKind::Primary,
            data.records,
        )
        .expect("constant zone is valid")
    })
}

/// An rdata the API accepted: well-formed, and its presentation form (what
/// the API and zone file export show) parses back to the same octets.
fn check_api_rdata(rtype: Rtype, rdata: &[u8], origin: &Name) {
    if let Err(e) = validate_wire(rtype, rdata) {
        panic!("accepted {rtype} rdata {rdata:02x?} is not valid wire: {e}");
    }
    let text = format_presentation(rtype, rdata);
    match zonecast_zonefile::parse_rdata(rtype, &text, origin) {
        Ok(back) => assert_eq!(back, rdata, "{rtype} '{text}' parses to other octets"),
        Err(e) => panic!("accepted {rtype} rdata shown as '{text}' does not parse back: {e}"),
    }
}

/// An owner the API accepted: inside the zone, lowercase; a type that can be stored.
fn check_api_owner(owner: &Name, rtype: Rtype, apex: &Name) {
    assert!(owner.is_subdomain_of(apex), "{owner} outside {apex}");
    assert_eq!(
        owner.as_wire(),
        owner.to_lowercase().as_wire(),
        "owner lowercased"
    );
    assert!(!rtype.is_meta() && rtype != Rtype::OPT, "{rtype} accepted");
}

/// A request body of the API (first octet: which one,
/// `zonecast_api::fuzzing::BODIES`; then the JSON) decoded and validated as
/// its handler does, without server or store. Nothing panics; what is
/// accepted is consistent: owners inside the zone and lowercase, rdata
/// well-formed and shown in a form that parses back, TSIG keys usable by
/// the DNS side, settings that survive their JSON form; edits are then
/// planned against a primary zone as `Control::apply` does and, when they
/// apply, remove only records the zone holds, add only ones it does not,
/// and leave a zone that passes the whole-zone rules.
pub fn api_body(data: &[u8]) {
    use zonecast_api::fuzzing::{check_body, Checked};
    use zonecast_control::Edit;
    let zone = api_zone();
    let Some(start) = zone.version() else {
        return;
    };
    let apex = start.apex().clone();
    let Ok(checked) = check_body(&apex, data) else {
        return;
    };
    match checked {
        Checked::Edits(edits) => {
            for e in &edits {
                match e {
                    Edit::ReplaceRrset {
                        owner,
                        rtype,
                        ttl,
                        rdatas,
                    } => {
                        check_api_owner(owner, *rtype, &apex);
                        assert!(*ttl <= 0x7fff_ffff, "TTL {ttl}");
                        for rd in rdatas {
                            check_api_rdata(*rtype, rd, &apex);
                        }
                    }
                    Edit::DeleteRrset { owner, rtype } => check_api_owner(owner, *rtype, &apex),
                    Edit::AddRecord(r) | Edit::AddRecordKeepTtl(r) | Edit::DeleteRecord(r) => {
                        check_api_owner(&r.owner, r.rtype, &apex);
                        assert!(r.ttl <= 0x7fff_ffff, "TTL {}", r.ttl);
                        check_api_rdata(r.rtype, &r.rdata, &apex);
                    }
                }
            }
            let Ok(Some(staged)) = zone.stage_edits(edits, FUZZ_API_NOW) else {
                return;
            };
            assert_applied(start, &staged, "an accepted API change");
            assert_eq!(staged.version.serial(), staged.serial);
        }
        Checked::Zone {
            name,
            kind,
            records,
            settings,
        } => {
            let again = zonecast_control::ZoneSettings::from_json(&settings.to_json());
            assert_eq!(
                again.ok().as_ref(),
                Some(&settings),
                "settings JSON round trip"
            );
            if let Some(records) = records {
                let _ = zonecast_control::fuzzing::FuzzZone::new(&name, kind, records);
            }
        }
        Checked::Settings(settings) => {
            let again = zonecast_control::ZoneSettings::from_json(&settings.to_json());
            assert_eq!(
                again.ok().as_ref(),
                Some(&settings),
                "settings JSON round trip"
            );
        }
        Checked::TsigKey {
            name,
            algorithm,
            secret,
        } => {
            if let Err(e) = Key::new(&name, &algorithm, secret) {
                panic!("the API stores TSIG key '{name}' ({algorithm}) the DNS side refuses: {e}");
            }
        }
        Checked::ApiKey { zones, .. } => {
            for z in zones.iter().flatten() {
                assert!(
                    zonecast_api::parse_zone_name(z).is_ok(),
                    "stored zone name {z}"
                );
            }
        }
        Checked::Zonefile(records) => {
            let _ = zonecast_control::fuzzing::FuzzZone::new(
                &apex,
                zonecast_store::ZoneKind::Primary,
                records,
            );
        }
    }
}
