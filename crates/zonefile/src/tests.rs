//! Reader, writer and loader tests on small zones inline and under `tests/data/`.

use super::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use zonecast_proto::rdata::format_presentation;
use zonecast_proto::Class;

fn name(s: &str) -> Name {
    s.parse().unwrap()
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// A fresh empty directory under the system temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "zonecast-zonefile-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `owner ttl TYPE rdata` lines, lowercased owners, sorted: a zone's record set for comparisons.
fn set(records: &[Record]) -> Vec<String> {
    let mut v: Vec<String> = records
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {}",
                r.owner.to_string().to_lowercase(),
                r.ttl,
                r.class,
                r.rtype,
                format_presentation(r.rtype, &r.rdata)
            )
        })
        .collect();
    v.sort();
    v
}

fn find<'a>(d: &'a ZoneFileData, owner: &str, rtype: Rtype) -> Vec<(&'a Record, &'a Location)> {
    let owner = name(owner);
    d.records
        .iter()
        .zip(&d.locations)
        .filter(|(r, _)| r.owner == owner && r.rtype == rtype)
        .collect()
}

fn text(r: &Record) -> String {
    format_presentation(r.rtype, &r.rdata)
}

const SMALL: &str = "$TTL 300
@ SOA ns1 host 1 3600 900 604800 60
@ NS ns1
ns1 A 192.0.2.1
";

fn small_with(extra: &str) -> String {
    format!("{SMALL}{extra}")
}

fn syntax_err(text: &str) -> String {
    match parse_str(text, &name("example.com."), "t.zone") {
        Ok(d) => panic!("accepted: {:?}", set(&d.records)),
        Err(e) => e.to_string(),
    }
}

fn load_err(text: &str) -> (Vec<ZoneProblem>, String) {
    match load_str(text, &name("example.com."), "t.zone") {
        Ok(d) => panic!("accepted: {:?}", set(&d.records)),
        Err(ZoneFileError::Invalid { problems }) => {
            let msg = ZoneFileError::Invalid {
                problems: problems.clone(),
            }
            .to_string();
            (problems, msg)
        }
        Err(e) => panic!("not a validation error: {e}"),
    }
}

#[test]
fn every_syntax_feature() {
    let path = data_dir().join("syntax.example.zone");
    let d = load_file(&path, None).unwrap();
    assert_eq!(d.origin, name("syntax.example."));
    assert_eq!(d.records.len(), d.locations.len());
    let soa = find(&d, "syntax.example.", Rtype::SOA);
    assert_eq!(
        text(soa[0].0),
        "ns1.syntax.example. hostmaster.syntax.example. 2024010101 5400 900 1209600 300"
    );
    assert_eq!(soa[0].0.ttl, 3600);
    assert_eq!(soa[0].1.line, 4);
    assert!(soa[0].1.file.ends_with("syntax.example.zone"));
    let ns = find(&d, "syntax.example.", Rtype::NS);
    assert_eq!(ns.len(), 2);
    assert_eq!(ns[0].1.line, 10);
    assert_eq!(text(ns[1].0), "ns2.example.net.");
    let aaaa = find(&d, "ns1.syntax.example.", Rtype::AAAA);
    assert_eq!((aaaa[0].1.line, aaaa[0].0.ttl), (13, 3600));
    assert_eq!(find(&d, "www.syntax.example.", Rtype::A)[0].0.ttl, 600);
    assert_eq!(find(&d, "www.syntax.example.", Rtype::AAAA)[0].0.ttl, 600);
    assert_eq!(find(&d, "mail.syntax.example.", Rtype::A)[0].0.ttl, 93600);
    let mixed = find(&d, "mixedcase.syntax.example.", Rtype::A);
    assert_eq!(mixed[0].0.owner.to_string(), "MixedCase.syntax.example.");
    assert_eq!(find(&d, "abs.syntax.example.", Rtype::A).len(), 1);
    let txt = find(&d, "txt.syntax.example.", Rtype::TXT);
    assert_eq!(
        text(txt[0].0),
        r#""quoted ; not a comment" "unquoted" "esc\"aped" "ABC" "in" "parens""#
    );
    assert_eq!(txt[0].1.line, 19);
    assert_eq!(
        text(find(&d, "caa.syntax.example.", Rtype::CAA)[0].0),
        "0 issue \"letsencrypt.org\""
    );
    assert_eq!(
        text(find(&d, "svc.syntax.example.", Rtype::HTTPS)[0].0),
        "1 . alpn=h2,h3 ipv4hint=192.0.2.1"
    );
    assert_eq!(find(&d, "a\\.b.syntax.example.", Rtype::A).len(), 1);
    assert_eq!(
        text(find(&d, "unknown.syntax.example.", Rtype(65400))[0].0),
        "\\# 4 0A000001"
    );
    assert_eq!(
        text(find(&d, "known.syntax.example.", Rtype::A)[0].0),
        "192.0.2.7"
    );
    assert_eq!(
        find(&d, "deep.sub.syntax.example.", Rtype::A)[0].0.ttl,
        3600
    );
    let mx = find(&d, "sub.syntax.example.", Rtype::MX);
    assert_eq!((mx[0].0.ttl, mx[0].1.line), (120, 29));
    assert!(d.records.iter().all(|r| r.class == Class::IN));
}

#[test]
fn ttl_defaults() {
    let o = name("example.com.");
    // no $TTL: the previous record's TTL carries over
    let d = parse_str(
        "@ 100 SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 200 A 192.0.2.1\nns2 A 192.0.2.2\n",
        &o,
        "t",
    )
    .unwrap();
    let ttls: Vec<u32> = d.records.iter().map(|r| r.ttl).collect();
    assert_eq!(ttls, [100, 100, 200, 200]);
    // $TTL wins over the previous record's explicit TTL
    let d = parse_str(
        "$TTL 60\na 100 A 192.0.2.1\nb A 192.0.2.2\n$TTL 1m30s\nc A 192.0.2.3\n",
        &o,
        "t",
    )
    .unwrap();
    let ttls: Vec<u32> = d.records.iter().map(|r| r.ttl).collect();
    assert_eq!(ttls, [100, 60, 90]);
    // nothing to take a TTL from
    let e = syntax_err("\n; comment\n@ SOA ns1 host 1 2 3 4 5\n");
    assert!(e.starts_with("t.zone:3: ") && e.contains("no TTL"), "{e}");
    assert!(syntax_err("$TTL x\n").starts_with("t.zone:1: $TTL: 'x' is not a TTL"));
    assert!(syntax_err("$TTL 1 2\n").contains("$TTL takes exactly one"));
    assert!(syntax_err("a 99999999999 A 192.0.2.1\n").contains("'99999999999' is not a TTL"));
    assert!(syntax_err("a 1x A 192.0.2.1\n").contains("'1x' is not a TTL"));
}

#[test]
fn ttl_parser() {
    use crate::reader::parse_ttl;
    assert_eq!(parse_ttl("0"), Some(0));
    assert_eq!(parse_ttl("1h"), Some(3600));
    assert_eq!(parse_ttl("1d2h"), Some(93600));
    assert_eq!(parse_ttl("1W"), Some(604_800));
    assert_eq!(parse_ttl("1h30"), Some(3630));
    assert_eq!(parse_ttl("4294967295"), Some(u32::MAX));
    assert_eq!(parse_ttl("4294967296"), None);
    assert_eq!(parse_ttl("h1"), None);
    assert_eq!(parse_ttl("1hh"), None);
    assert_eq!(parse_ttl(""), None);
}

#[test]
fn syntax_errors_name_file_line_and_field() {
    let e = syntax_err(&small_with("\nmx MX 70000 mail\n"));
    assert_eq!(e, "t.zone:6: MX preference: '70000' is not a 16-bit number");
    assert!(syntax_err(&small_with("a CH A 192.0.2.1\n"))
        .contains("t.zone:5: class CH is not supported"));
    assert!(
        syntax_err(&small_with("a IN BOGUS 1\n")).contains("t.zone:5: unknown record type 'BOGUS'")
    );
    assert!(syntax_err(&small_with("a 300 IN\n")).contains("t.zone:5: the record has no type"));
    assert!(syntax_err(&small_with("a A\n")).contains("t.zone:5: A address: missing"));
    assert!(syntax_err(&small_with("a TXT \"open\n")).contains("t.zone:5: quoted string"));
    assert!(syntax_err(&small_with("a SOA ( ns host\n1 2 3 4 5\n"))
        .contains("t.zone:5: '(' is never closed"));
    assert!(syntax_err(&small_with("a A 192.0.2.1 )\n")).contains("t.zone:5: ')' without"));
    assert!(syntax_err(&small_with("$GENERATE 1-10 h$ A 192.0.2.$\n"))
        .contains("t.zone:5: $GENERATE is not supported"));
    assert!(syntax_err(&small_with("$FOO bar\n")).contains("unknown directive '$FOO'"));
    assert!(syntax_err(&small_with("$INCLUDE /etc/passwd\n")).contains("$INCLUDE is only allowed"));
    assert!(syntax_err(&small_with("a..b A 192.0.2.1\n")).contains("t.zone:5: owner name"));
    assert!(syntax_err(&small_with("$ORIGIN a..b.\n")).contains("$ORIGIN"));
    assert!(syntax_err("  A 192.0.2.1\n").contains("t.zone:1: the line starts with whitespace"));
    assert!(
        syntax_err(&small_with(&format!("big TXT \"{}\"\n", "x".repeat(256))))
            .contains("TXT string: 256 octets")
    );
}

#[test]
fn origin_directive_and_relative_names() {
    let o = name("example.com.");
    let d = parse_str(
        "$TTL 1\n$ORIGIN sub\na A 192.0.2.1\n$ORIGIN other.example.\nb CNAME c\n@ MX 1 @\n",
        &o,
        "t",
    )
    .unwrap();
    let s = set(&d.records);
    assert_eq!(
        s,
        [
            "a.sub.example.com. 1 IN A 192.0.2.1",
            "b.other.example. 1 IN CNAME c.other.example.",
            "other.example. 1 IN MX 1 other.example.",
        ]
    );
    // given origin wins over $ORIGIN for the zone's own origin
    assert_eq!(d.origin, o);
}

#[test]
fn origin_from_file_names() {
    let o = |s: &str| origin_from_file_name(Path::new(s)).map(|n| n.to_string());
    assert_eq!(o("/x/example.com.zone").as_deref(), Some("example.com."));
    assert_eq!(o("example.com").as_deref(), Some("example.com."));
    assert_eq!(o("dir/example.com.db").as_deref(), Some("example.com."));
    assert_eq!(
        o("2.0.192.in-addr.arpa.zone").as_deref(),
        Some("2.0.192.in-addr.arpa.")
    );
    assert_eq!(o("Example.COM.ZONE").as_deref(), Some("Example.COM."));
    assert_eq!(o(".zone"), None);
    assert_eq!(o("a..b.zone"), None);
    assert_eq!(o("my zone.txt"), None);
}

#[test]
fn origin_resolution_for_files() {
    let dir = temp_dir("origin");
    // $ORIGIN before any record sets it, whatever the file is called
    let p = dir.join("whatever.txt");
    std::fs::write(&p, format!("$ORIGIN example.net.\n{SMALL}")).unwrap();
    assert_eq!(load_file(&p, None).unwrap().origin, name("example.net."));
    // given origin wins
    assert_eq!(
        parse_file(&p, Some(&name("example.com."))).unwrap().origin,
        name("example.com.")
    );
    // file name
    let p = dir.join("example.org.zone");
    std::fs::write(&p, SMALL).unwrap();
    let d = load_file(&p, None).unwrap();
    assert_eq!(d.origin, name("example.org."));
    assert_eq!(d.records[2].owner, name("ns1.example.org."));
    // nothing to go by
    let p = dir.join("zone file");
    std::fs::write(&p, SMALL).unwrap();
    let e = parse_file(&p, None).unwrap_err();
    assert!(matches!(e, ZoneFileError::NoOrigin { .. }), "{e}");
    assert!(e.to_string().contains("cannot tell the zone's origin"));
    // a missing file names the file
    let e = parse_file(&dir.join("missing.zone"), None).unwrap_err();
    assert!(e.to_string().contains("missing.zone"), "{e}");
    // not UTF-8
    let p = dir.join("bin.example.zone");
    std::fs::write(&p, b"$TTL 1\n\na TXT \"\xff\"\n").unwrap();
    assert!(parse_file(&p, None)
        .unwrap_err()
        .to_string()
        .ends_with(":3: the file is not valid UTF-8"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn includes_relative_nested_and_with_origin() {
    let path = data_dir().join("incl/example.org.zone");
    let d = load_file(&path, None).unwrap();
    assert_eq!(d.origin, name("example.org."));
    let s = set(&d.records);
    for want in [
        "www.example.org. 300 IN A 192.0.2.1",
        "more.example.org. 600 IN A 192.0.2.2",
        "sub.example.org. 300 IN A 192.0.2.3",
        "x.sub.example.org. 300 IN A 192.0.2.4",
        "after.example.org. 300 IN A 192.0.2.9",
    ] {
        assert!(s.iter().any(|l| l == want), "{want} missing from {s:?}");
    }
    let more = find(&d, "more.example.org.", Rtype::A);
    assert!(
        more[0].1.file.ends_with("hosts/more.inc"),
        "{}",
        more[0].1.file
    );
    assert_eq!(more[0].1.line, 2);
    let after = find(&d, "after.example.org.", Rtype::A);
    assert_eq!(after[0].1.line, 8);
}

#[test]
fn include_loop_and_depth() {
    let e = parse_file(&data_dir().join("loop/loop.example.zone"), None).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("a.inc:2: $INCLUDE") && msg.contains("include loop"),
        "{msg}"
    );
    // a chain of 17 nested includes is too deep; 16 is fine
    let dir = temp_dir("depth");
    let chain = |n: usize| {
        for i in 0..n {
            std::fs::write(
                dir.join(format!("f{i}.inc")),
                format!("h{i} A 192.0.2.1\n$INCLUDE f{}.inc\n", i + 1),
            )
            .unwrap();
        }
        std::fs::write(dir.join(format!("f{n}.inc")), "last A 192.0.2.2\n").unwrap();
        std::fs::write(
            dir.join("example.com.zone"),
            format!("{SMALL}$INCLUDE f0.inc\n"),
        )
        .unwrap();
        parse_file(&dir.join("example.com.zone"), None)
    };
    assert_eq!(chain(15).unwrap().records.len(), 3 + 15 + 1);
    let e = chain(16).unwrap_err().to_string();
    assert!(e.contains("nested more than 16 deep"), "{e}");
    // a missing include names the including line and the file
    std::fs::write(
        dir.join("m.example.zone"),
        format!("{SMALL}$INCLUDE nothere.inc\n"),
    )
    .unwrap();
    let e = parse_file(&dir.join("m.example.zone"), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("m.example.zone:5: cannot read") && e.contains("nothere.inc"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn validation_rules_with_lines() {
    let (p, msg) = load_err("$TTL 1\n@ NS ns1\nns1 A 192.0.2.1\n");
    assert_eq!((p[0].line, p[0].rule), (None, Rule::NoSoa));
    assert!(
        msg.starts_with("t.zone: the zone example.com. has no SOA"),
        "{msg}"
    );
    let (p, _) = load_err(&small_with("@ SOA ns1 host 2 3600 900 604800 60\n"));
    assert_eq!((p[0].line, p[0].rule), (Some(5), Rule::MultipleSoa));
    let (p, _) = load_err(&small_with("sub SOA ns1 host 2 3600 900 604800 60\n"));
    assert_eq!((p[0].line, p[0].rule), (Some(5), Rule::SoaNotAtApex));
    let (p, _) = load_err("$TTL 1\n@ SOA ns1 host 1 2 3 4 5\n");
    assert_eq!((p[0].line, p[0].rule), (None, Rule::NoApexNs));
    let (p, msg) = load_err(&small_with("www A 192.0.2.1\nwww CNAME ns1\n"));
    assert_eq!((p[0].line, p[0].rule), (Some(6), Rule::CnameAndOtherData));
    assert!(
        msg.starts_with("t.zone:6: www.example.com. has a CNAME and other data (A)"),
        "{msg}"
    );
    let (p, _) = load_err(&small_with("www CNAME ns1\nwww CNAME ns2\n"));
    assert_eq!((p[0].line, p[0].rule), (Some(6), Rule::MultipleCnames));
    let (p, _) = load_err(&small_with("www.example.net. A 192.0.2.1\n"));
    assert_eq!((p[0].line, p[0].rule), (Some(5), Rule::OutOfZone));
    let (p, _) = load_err(&small_with("dn DNAME example.net.\nx.dn A 192.0.2.1\n"));
    assert_eq!((p[0].line, p[0].rule), (Some(6), Rule::BelowDname));
    let (p, _) = load_err(&small_with("opt OPT \\# 0\n"));
    assert_eq!((p[0].line, p[0].rule), (Some(5), Rule::MetaType));
    let (p, _) = load_err(&small_with("big 2147483648 A 192.0.2.1\n"));
    assert_eq!((p[0].line, p[0].rule), (Some(5), Rule::TtlOutOfRange));
    // several problems: all reported, in file order
    let (p, msg) = load_err(&small_with(
        "a.example.net. A 192.0.2.1\nbig 4000000000 A 192.0.2.1\n",
    ));
    assert_eq!(p.len(), 2);
    assert_eq!(msg.lines().count(), 2);
    // glue below a delegation and identical duplicates are fine
    load_str(
        &small_with(
            "sub NS ns.sub\nns.sub A 192.0.2.7\nns1 A 192.0.2.1\nwww CNAME ns1\nwww CNAME ns1\n",
        ),
        &name("example.com."),
        "t.zone",
    )
    .unwrap();
}

#[test]
fn validation_problems_in_included_files_name_that_file() {
    let dir = temp_dir("incval");
    std::fs::write(dir.join("bad.inc"), "\nwww A 192.0.2.1\nwww CNAME ns1\n").unwrap();
    std::fs::write(
        dir.join("example.com.zone"),
        format!("{SMALL}$INCLUDE bad.inc\n"),
    )
    .unwrap();
    let e = load_file(&dir.join("example.com.zone"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.inc:3: www.example.com. has a CNAME"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn round_trip(d: &ZoneFileData) {
    let out = write_zone(&d.origin, &d.records);
    let again =
        load_str(&out, &d.origin, "export").unwrap_or_else(|e| panic!("re-import: {e}\n{out}"));
    assert_eq!(set(&d.records), set(&again.records), "\n{out}");
    // export is stable
    assert_eq!(write_zone(&again.origin, &again.records), out);
}

#[test]
fn round_trips() {
    round_trip(&load_file(&data_dir().join("syntax.example.zone"), None).unwrap());
    round_trip(&load_file(&data_dir().join("incl/example.org.zone"), None).unwrap());
    let zones = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/zones");
    if let Ok(entries) = std::fs::read_dir(&zones) {
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "zone") {
                let d = load_file(&e.path(), None).unwrap_or_else(|err| panic!("{err}"));
                round_trip(&d);
            }
        }
    }
}

#[test]
fn writer_layout() {
    let o = name("example.com.");
    let d = load_str(
        &small_with(
            "zzz A 192.0.2.9\n*.w TXT \"a b\"\nb.example.net.x CNAME ns1\nA.b A 192.0.2.3\n",
        ),
        &o,
        "t",
    )
    .unwrap();
    let out = write_zone(&o, &d.records);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "$ORIGIN example.com.");
    assert_eq!(
        lines[1],
        "@\t300\tIN\tSOA\tns1.example.com. host.example.com. 1 3600 900 604800 60"
    );
    assert_eq!(lines[2], "@\t300\tIN\tNS\tns1.example.com.");
    let owners: Vec<&str> = lines[3..]
        .iter()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(owners, ["A.b", "ns1", "*.w", "b.example.net.x", "zzz"]);
    assert!(lines.contains(&"*.w\t300\tIN\tTXT\t\"a b\""));
}

#[test]
fn writer_escapes_owners_and_out_of_zone_names() {
    let o = name("example.com.");
    let mut recs = load_str(SMALL, &o, "t").unwrap().records;
    for (owner, rtype) in [
        ("$x", Rtype::A),
        ("@x", Rtype::A),
        ("a\\032b", Rtype::A),
        ("\\(", Rtype::A),
        ("123", Rtype::A),
    ] {
        recs.push(Record {
            owner: Name::from_presentation(owner, Some(&o)).unwrap(),
            rtype,
            class: Class::IN,
            ttl: 5,
            rdata: vec![192, 0, 2, 1].into(),
        });
    }
    let out = write_zone(&o, &recs);
    let again = parse_str(&out, &o, "export").unwrap();
    assert_eq!(set(&recs), set(&again.records), "{out}");
    // a record outside the origin is written absolute (and reads back the same)
    recs.push(Record {
        owner: name("elsewhere.example."),
        rtype: Rtype::A,
        class: Class::IN,
        ttl: 5,
        rdata: vec![192, 0, 2, 1].into(),
    });
    let out = write_zone(&o, &recs);
    assert!(out.contains("\nelsewhere.example.\t5\tIN\tA\t192.0.2.1\n"));
    assert_eq!(
        set(&recs),
        set(&parse_str(&out, &o, "export").unwrap().records)
    );
}

#[test]
fn rdata_helper() {
    let o = name("example.com.");
    assert_eq!(parse_rdata(Rtype::MX, "10 mail", &o).unwrap()[..2], [0, 10]);
    assert_eq!(
        parse_rdata(Rtype::TXT, "\"a b\" ; note", &o).unwrap(),
        [3, b'a', b' ', b'b']
    );
    assert_eq!(
        parse_rdata(Rtype::SOA, "ns host ( 1 2\n 3 4 5 )", &o)
            .unwrap()
            .len(),
        16 + 18 + 20
    );
    let e = parse_rdata(Rtype::MX, "70000 mail", &o).unwrap_err();
    assert_eq!(
        e.to_string(),
        "MX preference: '70000' is not a 16-bit number"
    );
    assert!(parse_rdata(Rtype::TXT, "\"open", &o).is_err());
}

/// A zone shaped like `bench/genzone.py` output (the records it writes), generated here.
fn generated_zone(n: usize) -> String {
    let mut z = String::from("$ORIGIN example.com.\n$TTL 3600\n");
    z.push_str(
        "@ IN SOA ns1.example.com. hostmaster.example.com. 2026112301 3600 900 1209600 300\n",
    );
    for i in 1..=3 {
        z.push_str(&format!(
            "@ IN NS ns{i}.example.com.\nns{i} IN A 192.0.2.{i}\nns{i} IN AAAA 2001:db8::{i}\n"
        ));
    }
    z.push_str("@ IN MX 10 mail\nmail IN A 192.0.2.20\n@ IN TXT \"v=spf1 mx -all\"\n@ IN CAA 0 issue \"letsencrypt.org\"\n");
    z.push_str(
        "@ IN HTTPS 1 . alpn=\"h2,h3\"\n*.wild IN A 192.0.2.99\n_sip._tcp IN SRV 10 60 5060 sip\n",
    );
    z.push_str("_443._tcp.www IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
    for i in 0..n {
        match i % 10 {
            0..=5 => z.push_str(&format!(
                "h{i} IN A 10.{}.{}.{}\n",
                (i >> 16) & 255,
                (i >> 8) & 255,
                i & 255
            )),
            6 => z.push_str(&format!(
                "h{i} IN AAAA 2001:db8:1:{:x}::{:x}\n",
                (i >> 16) & 0xffff,
                i & 0xffff
            )),
            7 => z.push_str(&format!("h{i} IN TXT \"token={i:016x}\"\n")),
            8 => z.push_str(&format!("h{i} IN CNAME h{}\n", i / 2)),
            _ => z.push_str(&format!(
                "h{i} IN NS ns1.h{i}\nns1.h{i} IN A 198.51.100.{}\n",
                i % 250 + 1
            )),
        }
    }
    z
}

#[test]
fn large_generated_zone_loads_and_round_trips() {
    let o = name("example.com.");
    let text = generated_zone(20_000);
    let d = load_str(&text, &o, "gen").unwrap();
    assert!(d.records.len() > 20_000);
    round_trip(&d);
}

#[test]
fn genzone_script_output_loads() {
    // `shared/` sits beside the repository (see the README); a missing script is a failure.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/genzone.py");
    assert!(
        script.exists(),
        "{} not found: the shared/ directory must sit beside the repository",
        script.display()
    );
    let dir = temp_dir("genzone");
    let status = std::process::Command::new("python3")
        .arg(&script)
        .args(["example.com", "5000"])
        .arg(&dir)
        .status();
    assert!(
        matches!(status, Ok(ref s) if s.success()),
        "python3 genzone.py failed: {status:?}"
    );
    let d = load_file(&dir.join("example.com.zone"), None).unwrap();
    assert_eq!(d.origin, name("example.com."));
    assert!(d.records.len() > 5000);
    round_trip(&d);
    let _ = std::fs::remove_dir_all(&dir);
}
