//! Unit tests of the rdata presentation codecs: round trips, wire vectors, errors.

use super::{format, parse};
use crate::rdata::wire::validate;
use crate::rdata::Token;
use crate::{Name, Rtype};

fn origin() -> Name {
    "example.com.".parse().unwrap()
}

/// Cuts presentation text like a zone file tokenizer: spaces separate, quotes group, escapes skip.
fn tokenize(text: &str) -> Vec<Token<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' {
            i += 1;
            continue;
        }
        let quoted = b[i] == b'"';
        let start = if quoted { i + 1 } else { i };
        i = start;
        let mut in_q = false;
        while i < b.len() {
            let c = b[i];
            if quoted && c == b'"' {
                break;
            }
            if !quoted && c == b'"' {
                in_q = !in_q;
            }
            if !quoted && !in_q && c == b' ' {
                break;
            }
            i += if c == b'\\' { 2 } else { 1 };
        }
        let end = i.min(b.len());
        out.push(Token {
            text: &text[start..end],
            quoted,
        });
        if quoted {
            i += 1;
        }
    }
    out
}

fn p(rtype: Rtype, text: &str) -> crate::Result<Vec<u8>> {
    parse(rtype, &tokenize(text), &origin())
}

/// Parses, formats, checks the text, and parses the text back to the same wire.
fn rt(rtype: Rtype, input: &str, want: &str) -> Vec<u8> {
    let wire = p(rtype, input).unwrap_or_else(|e| panic!("{rtype} '{input}': {e}"));
    validate(rtype, &wire).unwrap();
    let text = format(rtype, &wire);
    assert_eq!(text, want, "{rtype} '{input}'");
    let again =
        p(rtype, &text).unwrap_or_else(|e| panic!("{rtype} '{text}' does not parse back: {e}"));
    assert_eq!(again, wire, "{rtype} '{text}'");
    wire
}

fn err(rtype: Rtype, input: &str) -> String {
    match p(rtype, input) {
        Ok(w) => panic!("{rtype} '{input}' was accepted as {w:02x?}"),
        Err(e) => e.to_string(),
    }
}

fn name(s: &str) -> Vec<u8> {
    s.parse::<Name>().unwrap().as_wire().to_vec()
}

#[test]
fn addresses() {
    assert_eq!(rt(Rtype::A, "192.0.2.1", "192.0.2.1"), [192, 0, 2, 1]);
    let w = rt(Rtype::AAAA, "2001:DB8:0:0::1", "2001:db8::1");
    assert_eq!(w[..4], [0x20, 0x01, 0x0d, 0xb8]);
    rt(Rtype::AAAA, "::ffff:192.0.2.1", "::ffff:192.0.2.1");
    assert!(err(Rtype::A, "192.0.2").contains("A address: '192.0.2' is not an IPv4 address"));
    assert!(err(Rtype::A, "").contains("A address: missing"));
    assert!(err(Rtype::A, "192.0.2.1 192.0.2.2").contains("unexpected '192.0.2.2'"));
    assert!(err(Rtype::AAAA, "192.0.2.1").contains("AAAA address"));
}

#[test]
fn single_names() {
    assert_eq!(
        rt(Rtype::NS, "ns1", "ns1.example.com."),
        name("ns1.example.com.")
    );
    rt(Rtype::CNAME, "@", "example.com.");
    rt(Rtype::PTR, "Www.Example.NET.", "Www.Example.NET.");
    rt(Rtype::DNAME, "target.example.", "target.example.");
    rt(Rtype::MB, "a\\.b", "a\\.b.example.com.");
    rt(Rtype::CNAME, ".", ".");
    assert!(err(Rtype::CNAME, "a..b").contains("CNAME target"));
    assert!(err(Rtype::NS, "").contains("NS nameserver: missing"));
}

#[test]
fn soa_with_units() {
    let w = rt(
        Rtype::SOA,
        "ns1 hostmaster 2024010101 1h30m 15M 2w 1d",
        "ns1.example.com. hostmaster.example.com. 2024010101 5400 900 1209600 86400",
    );
    assert_eq!(w.len(), 17 + 24 + 20);
    assert_eq!(w[w.len() - 4..], 86400u32.to_be_bytes());
    rt(Rtype::SOA, "a. b. 1 2 3 4 5", "a. b. 1 2 3 4 5");
    assert!(err(Rtype::SOA, "a. b. 1h 2 3 4 5").contains("SOA serial: '1h' is not a 32-bit number"));
    assert!(err(Rtype::SOA, "a. b. 1 2 3 4").contains("SOA minimum: missing"));
    assert!(err(Rtype::SOA, "a. b. 1 2 3 4 9999999999").contains("SOA minimum"));
    assert!(err(Rtype::SOA, "a. b. 1 2 3x 4 5").contains("SOA retry"));
    assert!(err(Rtype::SOA, "a. b. 1 2 h 4 5").contains("SOA retry"));
}

#[test]
fn durations() {
    use super::parse_duration;
    assert_eq!(parse_duration("300"), Some(300));
    assert_eq!(parse_duration("1h30m"), Some(5400));
    assert_eq!(parse_duration("1H30M"), Some(5400));
    assert_eq!(parse_duration("1d2h"), Some(93600));
    assert_eq!(parse_duration("2w"), Some(1_209_600));
    assert_eq!(parse_duration("1h30"), Some(3630));
    assert_eq!(parse_duration("10s"), Some(10));
    assert_eq!(parse_duration(""), None);
    assert_eq!(parse_duration("h"), None);
    assert_eq!(parse_duration("1x"), None);
    assert_eq!(parse_duration("-1"), None);
    assert_eq!(parse_duration("4294967295"), Some(u32::MAX));
    assert_eq!(parse_duration("4294967296"), None);
    assert_eq!(parse_duration("99999w"), None);
}

#[test]
fn mx_and_friends() {
    let w = rt(Rtype::MX, "10 mail", "10 mail.example.com.");
    assert_eq!(w[..2], [0, 10]);
    rt(Rtype::KX, "5 kx.example.", "5 kx.example.");
    rt(Rtype::AFSDB, "1 afs", "1 afs.example.com.");
    rt(Rtype::MINFO, "r e", "r.example.com. e.example.com.");
    rt(Rtype::RP, "admin.example. .", "admin.example. .");
    assert_eq!(
        err(Rtype::MX, "70000 mail"),
        "MX preference: '70000' is not a 16-bit number"
    );
    assert!(err(Rtype::MX, "10").contains("MX exchange: missing"));
    assert!(err(Rtype::MX, "-1 mail").contains("MX preference"));
}

#[test]
fn txt_strings() {
    let w = rt(Rtype::TXT, "\"v=spf1 mx -all\"", "\"v=spf1 mx -all\"");
    assert_eq!(w[0] as usize, w.len() - 1);
    let w = rt(Rtype::TXT, "a \"b c\" \"\"", "\"a\" \"b c\" \"\"");
    assert_eq!(w, [1, b'a', 3, b'b', b' ', b'c', 0]);
    let w = rt(
        Rtype::TXT,
        r#""a\"b" "semi;colon" "\065BC" "\255\000" back\\slash"#,
        r#""a\"b" "semi;colon" "ABC" "\255\000" "back\\slash""#,
    );
    assert_eq!(w[..4], [3, b'a', b'"', b'b']);
    rt(Rtype::SPF, "\"v=spf1 -all\"", "\"v=spf1 -all\"");
    let max = "x".repeat(255);
    rt(Rtype::TXT, &format!("\"{max}\""), &format!("\"{max}\""));
    assert!(
        err(Rtype::TXT, &format!("\"{max}y\"")).contains("TXT string: 256 octets, more than 255")
    );
    assert!(err(Rtype::TXT, &format!("{max}y")).contains("more than 255"));
    assert!(err(Rtype::TXT, "").contains("TXT string: missing"));
    assert!(err(Rtype::TXT, "\"bad\\9\"").contains("bad escape"));
    assert!(err(Rtype::TXT, "\"\\256\"").contains("bad escape"));
    // non-ASCII UTF-8 comes out as decimal escapes and parses back
    rt(Rtype::TXT, "\"é\"", "\"\\195\\169\"");
}

#[test]
fn hinfo_naptr_srv() {
    rt(
        Rtype::HINFO,
        "\"PC-Intel\" \"NetBSD 9.3\"",
        "\"PC-Intel\" \"NetBSD 9.3\"",
    );
    rt(Rtype::HINFO, "PC Unix", "\"PC\" \"Unix\"");
    assert!(err(Rtype::HINFO, "PC").contains("HINFO OS: missing"));
    let w = rt(
        Rtype::NAPTR,
        "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp",
        "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com.",
    );
    assert_eq!(w[..6], [0, 100, 0, 10, 1, b'S']);
    rt(
        Rtype::NAPTR,
        r#"102 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" ."#,
        r#"102 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" ."#,
    );
    assert!(err(Rtype::NAPTR, "1 2 a b c").contains("NAPTR replacement: missing"));
    let w = rt(Rtype::SRV, "10 60 5060 sip", "10 60 5060 sip.example.com.");
    assert_eq!(w[..6], [0, 10, 0, 60, 0x13, 0xC4]);
    rt(Rtype::SRV, "0 0 0 .", "0 0 0 .");
    assert!(err(Rtype::SRV, "1 2 65536 x").contains("SRV port: '65536' is not a 16-bit number"));
}

#[test]
fn caa() {
    let w = rt(
        Rtype::CAA,
        "0 issue \"letsencrypt.org\"",
        "0 issue \"letsencrypt.org\"",
    );
    assert_eq!(w[..7], [0, 5, b'i', b's', b's', b'u', b'e']);
    rt(
        Rtype::CAA,
        "128 iodef \"mailto:security@example.com\"",
        "128 iodef \"mailto:security@example.com\"",
    );
    rt(Rtype::CAA, "0 issue \";\"", "0 issue \";\"");
    rt(
        Rtype::CAA,
        "0 issuewild letsencrypt.org",
        "0 issuewild \"letsencrypt.org\"",
    );
    rt(Rtype::CAA, "0 issue \"\"", "0 issue \"\"");
    // the value is not a character-string: it may exceed 255 octets
    let long = "v".repeat(300);
    rt(
        Rtype::CAA,
        &format!("0 tbs \"{long}\""),
        &format!("0 tbs \"{long}\""),
    );
    assert!(err(Rtype::CAA, "0 is-sue \"x\"").contains("CAA tag"));
    assert!(err(Rtype::CAA, "256 issue \"x\"").contains("CAA flags"));
    assert!(err(Rtype::CAA, "0 issue").contains("CAA value: missing"));
    assert!(err(Rtype::CAA, "0 issue \"a\" \"b\"").contains("unexpected"));
}

#[test]
fn hex_types() {
    let w = rt(
        Rtype::TLSA,
        "3 1 1 0123456789abcdef 0123456789ABCDEF",
        "3 1 1 0123456789ABCDEF0123456789ABCDEF",
    );
    assert_eq!(w[..4], [3, 1, 1, 0x01]);
    rt(Rtype::SMIMEA, "3 0 0 00ff", "3 0 0 00FF");
    rt(Rtype::SSHFP, "4 2 abcdef", "4 2 ABCDEF");
    let w = rt(
        Rtype::DS,
        "12345 8 2 49FD46E6C4B45C55D4AC 49FD46E6C4B45C55D4AC",
        "12345 8 2 49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC",
    );
    assert_eq!(w[..4], [0x30, 0x39, 8, 2]);
    rt(Rtype::DS, "1 RSASHA256 1 00", "1 8 1 00");
    rt(Rtype::CDS, "0 0 0 00", "0 0 0 00");
    rt(Rtype::ZONEMD, "2024010101 1 1 AABB", "2024010101 1 1 AABB");
    assert!(err(Rtype::TLSA, "3 1 1 0g").contains("TLSA certificate data: '0g' is not hexadecimal"));
    assert!(err(Rtype::TLSA, "3 1 1 abc").contains("odd number"));
    assert!(err(Rtype::TLSA, "3 1 1").contains("TLSA certificate data: missing"));
    assert!(err(Rtype::SSHFP, "x 2 ab").contains("SSHFP algorithm"));
    assert!(err(Rtype::DS, "70000 8 2 00").contains("DS key tag"));
    assert!(err(Rtype::DS, "1 BOGUS 2 00").contains("DS algorithm"));
    // empty data can't be written in the type's own form: generic form keeps it
    assert_eq!(format(Rtype::TLSA, &[3, 1, 1]), "\\# 3 030101");
    assert_eq!(p(Rtype::TLSA, "\\# 3 030101").unwrap(), [3, 1, 1]);
}

#[test]
fn base64_types() {
    let w = rt(
        Rtype::DNSKEY,
        "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0d xCjjnopKl+GqJxpVXckHAeF+KkxLbxIL fDLUT0rAK9iUzy1L53eKGQ==",
        "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
    );
    assert_eq!(w[..4], [1, 1, 3, 13]);
    rt(Rtype::CDNSKEY, "0 3 0 AA==", "0 3 0 AA==");
    rt(Rtype::OPENPGPKEY, "AQID", "AQID");
    assert!(err(Rtype::DNSKEY, "257 3 13 !!!").contains("DNSKEY public key: not base64"));
    assert!(err(Rtype::OPENPGPKEY, "").contains("OPENPGPKEY public key: missing"));
}

#[test]
fn dnssec_records() {
    let w = rt(
        Rtype::RRSIG,
        "A 13 2 3600 20240201000000 20240101000000 12345 example.com. AQID",
        "A 13 2 3600 20240201000000 20240101000000 12345 example.com. AQID",
    );
    assert_eq!(w[..2], [0, 1]);
    assert_eq!(w[8..12], 1_706_745_600u32.to_be_bytes());
    rt(
        Rtype::RRSIG,
        "TYPE65400 8 0 1h 1706745600 0 1 . AQID",
        "TYPE65400 8 0 3600 20240201000000 19700101000000 1 . AQID",
    );
    assert!(err(
        Rtype::RRSIG,
        "A 13 2 3600 20240230000000 20240101000000 1 . AQID"
    )
    .contains("RRSIG expiration"));
    let w = rt(
        Rtype::NSEC,
        "host.example.com. A MX RRSIG NSEC TYPE1234",
        "host.example.com. A MX RRSIG NSEC TYPE1234",
    );
    let n = name("host.example.com.").len();
    assert_eq!(w[n..n + 2], [0, 6]);
    assert_eq!(w[n + 2..n + 8], [0x40, 0x01, 0, 0, 0, 0x03]);
    assert_eq!(
        w[n + 8..],
        [
            4, 27, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0x20
        ]
    );
    rt(Rtype::NSEC, "next.example.", "next.example.");
    rt(
        Rtype::NSEC3,
        "1 1 12 aabbccdd 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG",
        "1 1 12 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG",
    );
    rt(
        Rtype::NSEC3,
        "1 0 0 - 2t7b4g4vsa5smi47k61mv5bv1a22bojr",
        "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR",
    );
    rt(Rtype::NSEC3PARAM, "1 0 0 -", "1 0 0 -");
    rt(Rtype::NSEC3PARAM, "1 0 10 ABCD", "1 0 10 ABCD");
    assert!(
        err(Rtype::NSEC3, "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJW").contains("next hashed owner")
    );
    rt(Rtype::CSYNC, "66 3 A NS AAAA", "66 3 A NS AAAA");
    assert!(err(Rtype::NSEC, "x. BOGUS").contains("NSEC type list"));
}

#[test]
fn base32hex_codec() {
    use super::{decode_base32hex, encode_base32hex};
    for len in 0..12 {
        let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        let enc = encode_base32hex(&data);
        assert_eq!(decode_base32hex(&enc).unwrap(), data, "{enc}");
    }
    assert_eq!(encode_base32hex(b"f"), "CO");
    assert_eq!(encode_base32hex(b"foobar"), "CPNMUOJ1E8");
    assert!(decode_base32hex("C").is_none());
    assert!(decode_base32hex("CP").is_none());
}

#[test]
fn misc_types() {
    rt(Rtype::EUI48, "00-00-5e-00-53-2A", "00-00-5e-00-53-2a");
    rt(
        Rtype::EUI64,
        "00-00-5e-ef-10-00-00-2a",
        "00-00-5e-ef-10-00-00-2a",
    );
    assert!(err(Rtype::EUI48, "00-00-5e-00-53").contains("EUI48 address"));
    assert!(err(Rtype::EUI48, "00-00-5e-00-53-+f").contains("EUI48 address"));
    rt(
        Rtype::URI,
        "10 1 \"ftp://ftp1.example.com/public\"",
        "10 1 \"ftp://ftp1.example.com/public\"",
    );
}

#[test]
fn loc() {
    let w = rt(
        Rtype::LOC,
        "52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m",
        "52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m",
    );
    assert_eq!(w[..4], [0, 0x12, 0x16, 0x13]);
    assert_eq!(w[4..8], ((1u32 << 31) + 188_543_000).to_be_bytes());
    assert_eq!(w[12..16], (10_000_000u32 - 200).to_be_bytes());
    // defaults and optional minutes/seconds, RFC 1876 example
    rt(
        Rtype::LOC,
        "42 21 54 N 71 06 18 W -24m 30m",
        "42 21 54.000 N 71 6 18.000 W -24.00m 30m 10000m 10m",
    );
    rt(
        Rtype::LOC,
        "52 N 4 E 15",
        "52 0 0.000 N 4 0 0.000 E 15.00m 1m 10000m 10m",
    );
    // sizes are truncated to one significant digit (as BIND and Knot do)
    rt(
        Rtype::LOC,
        "52 N 4 E 15m 15m 0.5m 0m",
        "52 0 0.000 N 4 0 0.000 E 15.00m 10m 0.50m 0.00m",
    );
    rt(
        Rtype::LOC,
        "90 S 180 W -100000m 90000000m 0.01 1",
        "90 0 0.000 S 180 0 0.000 W -100000.00m 90000000m 0.01m 1m",
    );
    rt(
        Rtype::LOC,
        "0 0 0.001 S 0 0 59.999 E 42849672.95m",
        "0 0 0.001 S 0 0 59.999 E 42849672.95m 1m 10000m 10m",
    );
    rt(
        Rtype::LOC,
        "1 2 3.5 n 4 5 6.25 w -0.5m",
        "1 2 3.500 N 4 5 6.250 W -0.50m 1m 10000m 10m",
    );
    assert!(err(Rtype::LOC, "91 N 4 E 0").contains("LOC latitude degrees"));
    assert!(err(Rtype::LOC, "90 1 N 4 E 0").contains("LOC latitude degrees: more than 90"));
    assert!(err(Rtype::LOC, "52 60 N 4 E 0").contains("LOC latitude minutes"));
    assert!(err(Rtype::LOC, "52 1 60 N 4 E 0").contains("LOC latitude seconds"));
    assert!(err(Rtype::LOC, "52 1 1 X 4 E 0").contains("LOC latitude hemisphere"));
    assert!(err(Rtype::LOC, "52 N 181 E 0").contains("LOC longitude degrees"));
    assert!(err(Rtype::LOC, "52 N 4 N 0").contains("LOC longitude"));
    assert!(err(Rtype::LOC, "52 N 4 E").contains("LOC altitude: missing"));
    assert!(err(Rtype::LOC, "52 N 4 E 42849673m").contains("LOC altitude"));
    assert!(err(Rtype::LOC, "52 N 4 E 0 90000001m").contains("LOC size"));
    assert!(err(Rtype::LOC, "52 N 4 E 0 1 1 1 1").contains("unexpected"));
    // a non-canonical precision (0e5) is printed in generic form so it round-trips
    let mut odd = w.clone();
    odd[1] = 0x05;
    let text = format(Rtype::LOC, &odd);
    assert!(text.starts_with("\\# 16 "), "{text}");
    assert_eq!(p(Rtype::LOC, &text).unwrap(), odd);
}

#[test]
fn svcb() {
    let w = rt(Rtype::SVCB, "0 foo.example.com.", "0 foo.example.com.");
    assert_eq!(w[..2], [0, 0]);
    let w = rt(
        Rtype::HTTPS,
        "1 . alpn=\"h2,h3\" ipv4hint=192.0.2.1",
        "1 . alpn=h2,h3 ipv4hint=192.0.2.1",
    );
    assert_eq!(
        w,
        [0, 1, 0, 0, 1, 0, 6, 2, b'h', b'2', 2, b'h', b'3', 0, 4, 0, 4, 192, 0, 2, 1]
    );
    // keys sorted on parse; mandatory sorted; names for known keys
    rt(
        Rtype::SVCB,
        "16 foo.example.org. key65333=ex1 key667=hello mandatory=alpn,ipv4hint alpn=h2 ipv4hint=192.0.2.1",
        "16 foo.example.org. mandatory=alpn,ipv4hint alpn=h2 ipv4hint=192.0.2.1 key667=hello key65333=ex1",
    );
    rt(
        Rtype::SVCB,
        "1 svc port=8443 no-default-alpn alpn=h2 ech=AEn+DQBF ipv6hint=2001:db8::1,::ffff:192.0.2.1 dohpath=/q{?dns}",
        "1 svc.example.com. alpn=h2 no-default-alpn port=8443 ech=AEn+DQBF ipv6hint=2001:db8::1,::ffff:192.0.2.1 dohpath=/q{?dns}",
    );
    // RFC 9460 appendix D.2 figure 6: escaped value of an unknown key
    let w = rt(
        Rtype::SVCB,
        "1 foo.example.com. key667=\"hello\\210qoo\"",
        "1 foo.example.com. key667=hello\\210qoo",
    );
    assert_eq!(
        w[w.len() - 9..],
        [b'h', b'e', b'l', b'l', b'o', 210, b'q', b'o', b'o']
    );
    // appendix D.2 figure 9: commas inside alpn ids
    let w = rt(
        Rtype::SVCB,
        "16 foo.example.org. alpn=\"f\\\\\\\\oo\\\\,bar,h2\"",
        "16 foo.example.org. alpn=f\\\\\\\\oo\\\\,bar,h2",
    );
    let n = name("foo.example.org.").len();
    assert_eq!(
        w[2 + n..],
        [0, 1, 0, 12, 8, b'f', b'\\', b'o', b'o', b',', b'b', b'a', b'r', 2, b'h', b'2']
    );
    // value with a space and a quote comes out escaped, as one token
    rt(
        Rtype::SVCB,
        "1 . key9=\"a b\\\"c\"",
        "1 . key9=a\\032b\\\"c",
    );
    rt(Rtype::SVCB, "1 . key9", "1 . key9");
    rt(Rtype::SVCB, "1 . key9= \"x y\"", "1 . key9=x\\032y");
    rt(Rtype::SVCB, "1 . key3=53", "1 . port=53");
    assert!(err(Rtype::SVCB, "1 . alpn=h2 alpn=h3").contains("appears twice"));
    assert!(err(Rtype::SVCB, "1 . mandatory=port").contains("lists 'port' which is not present"));
    assert!(err(Rtype::SVCB, "1 . mandatory=mandatory").contains("must not list"));
    assert!(err(Rtype::SVCB, "1 . mandatory=port,port port=1").contains("twice"));
    assert!(err(Rtype::SVCB, "1 . port=70000").contains("SVCB port: '70000'"));
    assert!(err(Rtype::SVCB, "1 . port").contains("SVCB port: needs a value"));
    assert!(err(Rtype::SVCB, "1 . alpn=h2,,h3").contains("SVCB alpn"));
    assert!(err(Rtype::SVCB, "1 . no-default-alpn=x").contains("takes no value"));
    assert!(err(Rtype::SVCB, "1 . ipv4hint=::1").contains("SVCB ipv4hint"));
    assert!(err(Rtype::SVCB, "1 . ipv6hint=1.2.3.4").contains("SVCB ipv6hint"));
    assert!(err(Rtype::SVCB, "1 . bogus=1").contains("SVCB SvcParamKey: 'bogus'"));
    assert!(err(Rtype::SVCB, "1 . key65535").contains("reserved"));
    assert!(err(Rtype::SVCB, "1 . ech=!!").contains("not base64"));
    assert!(err(Rtype::HTTPS, "70000 .").contains("HTTPS priority"));
    assert!(err(Rtype::HTTPS, "1").contains("HTTPS target: missing"));
}

#[test]
fn generic_form() {
    rt(Rtype(65400), "\\# 4 0A000001", "\\# 4 0A000001");
    rt(Rtype(65400), "\\# 0", "\\# 0");
    rt(Rtype(65400), "\\# 3 0a 0000", "\\# 3 0A0000");
    // known types accept it and are checked, then print in their own form
    assert_eq!(p(Rtype::A, "\\# 4 C0000201").unwrap(), [192, 0, 2, 1]);
    assert_eq!(format(Rtype::A, &[192, 0, 2, 1]), "192.0.2.1");
    assert!(err(Rtype::A, "\\# 3 C00002").contains("A rdata"));
    assert!(err(Rtype::MX, "\\# 2 000A").contains("MX rdata"));
    assert_eq!(p(Rtype::MX, "\\# 3 000A00").unwrap(), [0, 10, 0]);
    assert!(err(Rtype(65400), "\\# 4 0A00").contains("length 4 but 2 octets"));
    assert!(err(Rtype(65400), "\\#").contains("missing length"));
    assert!(err(Rtype(65400), "\\# x").contains("not a number"));
    assert!(err(Rtype(65400), "\\# 70000").contains("not a number"));
    assert!(err(Rtype(65400), "0A000001").contains("only the RFC 3597 generic form"));
    assert!(err(Rtype::NULL, "x").contains("NULL: only"));
    // malformed known-type rdata prints generically
    assert_eq!(format(Rtype::A, &[1, 2, 3]), "\\# 3 010203");
    assert_eq!(format(Rtype::MX, &[]), "\\# 0");
    // a quoted \# is text, not the generic marker
    let toks = [Token {
        text: "\\#",
        quoted: true,
    }];
    assert_eq!(parse(Rtype::TXT, &toks, &origin()).unwrap(), [1, b'#']);
}

/// A tiny deterministic generator for the randomised tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn random_name(rng: &mut Rng) -> Vec<u8> {
    let mut w = Vec::new();
    for _ in 0..rng.below(4) {
        let len = 1 + rng.below(10) as usize;
        w.push(len as u8);
        w.extend(rng.bytes(len));
    }
    w.push(0);
    w
}

fn random_charstr(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(12) as usize;
    let mut w = vec![len as u8];
    w.extend(rng.bytes(len));
    w
}

/// Random but mostly well-formed rdata for each type with a codec.
fn random_rdata(rng: &mut Rng, rtype: Rtype) -> Vec<u8> {
    let mut w = Vec::new();
    match rtype {
        Rtype::A => w = rng.bytes(4),
        Rtype::AAAA => w = rng.bytes(16),
        Rtype::NS | Rtype::CNAME | Rtype::DNAME | Rtype::PTR => w = random_name(rng),
        Rtype::SOA => {
            w = random_name(rng);
            w.extend(random_name(rng));
            w.extend(rng.bytes(20));
        }
        Rtype::MX | Rtype::AFSDB | Rtype::KX => {
            w = rng.bytes(2);
            w.extend(random_name(rng));
        }
        Rtype::TXT | Rtype::SPF => {
            for _ in 0..1 + rng.below(3) {
                w.extend(random_charstr(rng));
            }
        }
        Rtype::HINFO => {
            w = random_charstr(rng);
            w.extend(random_charstr(rng));
        }
        Rtype::SRV => {
            w = rng.bytes(6);
            w.extend(random_name(rng));
        }
        Rtype::NAPTR => {
            w = rng.bytes(4);
            for _ in 0..3 {
                w.extend(random_charstr(rng));
            }
            w.extend(random_name(rng));
        }
        Rtype::CAA => {
            w.push(rng.next() as u8);
            let tag = b"issuewild";
            let n = 1 + rng.below(9) as usize;
            w.push(n as u8);
            w.extend(&tag[..n]);
            let n = rng.below(20) as usize;
            w.extend(rng.bytes(n));
        }
        Rtype::TLSA
        | Rtype::SSHFP
        | Rtype::DS
        | Rtype::DNSKEY
        | Rtype::OPENPGPKEY
        | Rtype::ZONEMD => {
            let n = rng.below(12) as usize;
            w = rng.bytes(n);
        }
        Rtype::NSEC => {
            w = random_name(rng);
            if rng.below(2) == 0 {
                w.extend([0, 1, 0x40 | rng.next() as u8 & 0x3F | 1]);
            }
        }
        Rtype::RRSIG => {
            w = rng.bytes(18);
            w.extend(random_name(rng));
            let n = rng.below(8) as usize;
            w.extend(rng.bytes(n));
        }
        Rtype::LOC => {
            w.push(0);
            for _ in 0..3 {
                w.push(((rng.below(10) as u8) << 4) | rng.below(10) as u8);
            }
            let lat = (1u64 << 31) + rng.below(2 * 324_000_001) - 324_000_000;
            let lon = (1u64 << 31) + rng.below(2 * 648_000_001) - 648_000_000;
            w.extend((lat as u32).to_be_bytes());
            w.extend((lon as u32).to_be_bytes());
            w.extend((rng.next() as u32).to_be_bytes());
        }
        Rtype::SVCB | Rtype::HTTPS => {
            w = rng.bytes(2);
            w.extend(random_name(rng));
            let mut key = 0u16;
            for _ in 0..rng.below(5) {
                key += 1 + rng.below(4) as u16;
                let value: Vec<u8> = match key {
                    1 => {
                        let mut v = vec![2, b'h', b'2', 3];
                        v.extend(rng.bytes(3));
                        v
                    }
                    2 => vec![],
                    3 => rng.bytes(2),
                    4 => rng.bytes(8),
                    6 => rng.bytes(16),
                    _ => {
                        let n = rng.below(10) as usize;
                        rng.bytes(n)
                    }
                };
                w.extend(key.to_be_bytes());
                w.extend((value.len() as u16).to_be_bytes());
                w.extend(value);
            }
        }
        _ => {
            let n = rng.below(10) as usize;
            w = rng.bytes(n);
        }
    }
    w
}

#[test]
fn random_wire_round_trips() {
    let types = [
        Rtype::A,
        Rtype::AAAA,
        Rtype::NS,
        Rtype::CNAME,
        Rtype::DNAME,
        Rtype::PTR,
        Rtype::SOA,
        Rtype::MX,
        Rtype::AFSDB,
        Rtype::KX,
        Rtype::TXT,
        Rtype::SPF,
        Rtype::HINFO,
        Rtype::SRV,
        Rtype::NAPTR,
        Rtype::CAA,
        Rtype::TLSA,
        Rtype::SSHFP,
        Rtype::DS,
        Rtype::DNSKEY,
        Rtype::OPENPGPKEY,
        Rtype::ZONEMD,
        Rtype::NSEC,
        Rtype::RRSIG,
        Rtype::LOC,
        Rtype::SVCB,
        Rtype::HTTPS,
        Rtype::NSEC3,
        Rtype::NSEC3PARAM,
        Rtype::CSYNC,
        Rtype::EUI48,
        Rtype::URI,
        Rtype(65400),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut typed = 0;
    for i in 0..40_000 {
        let rtype = types[i % types.len()];
        let mut data = random_rdata(&mut rng, rtype);
        // sometimes damage it: truncate or flip a byte
        match rng.below(8) {
            0 if !data.is_empty() => {
                let n = rng.below(data.len() as u64) as usize;
                data.truncate(n);
            }
            1 if !data.is_empty() => {
                let n = rng.below(data.len() as u64) as usize;
                data[n] ^= 1 << rng.below(8);
            }
            _ => {}
        }
        let text = format(rtype, &data);
        if validate(rtype, &data).is_err() {
            assert!(
                text.starts_with("\\# "),
                "{rtype} invalid rdata printed as '{text}'"
            );
            continue;
        }
        if !text.starts_with("\\# ") {
            typed += 1;
        }
        let back =
            p(rtype, &text).unwrap_or_else(|e| panic!("{rtype} '{text}' ({data:02x?}): {e}"));
        assert_eq!(back, data, "{rtype} '{text}'");
    }
    assert!(typed > 15_000, "only {typed} typed round trips");
    // unstructured octets: whatever validates must print and parse back exactly
    for i in 0..60_000 {
        let rtype = types[i % types.len()];
        let n = rng.below(40) as usize;
        let data = rng.bytes(n);
        let text = format(rtype, &data);
        if validate(rtype, &data).is_ok() {
            let back =
                p(rtype, &text).unwrap_or_else(|e| panic!("{rtype} '{text}' ({data:02x?}): {e}"));
            assert_eq!(back, data, "{rtype} '{text}'");
        }
    }
}
