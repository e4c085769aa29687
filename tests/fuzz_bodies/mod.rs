//! Bodies of the fuzz targets, shared by `fuzz/fuzz_targets/*` and the
//! corpus replay in `tests/fuzz_corpus.rs`. Each must never panic on any
//! input; where the input is accepted, it checks an invariant.

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
