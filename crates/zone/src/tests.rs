//! Unit tests of snapshot building and answering, on a small zone written inline.

use crate::answer::Outcome;
use crate::{Zone, ZoneSet};
use std::sync::Arc;
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::query::QueryView;
use zonecast_proto::rdata::{parse_presentation, Token};
use zonecast_proto::writer::Writer;
use zonecast_proto::{Class, Name, Record, Rtype};

const ZONE: &str = "
@ 3600 SOA ns1 host 1 3600 900 1209600 300
@ 3600 NS ns1
@ 3600 NS ns2.other.example.
@ 3600 MX 10 mail
ns1 3600 A 192.0.2.1
ns1 3600 AAAA 2001:db8::1
mail 3600 A 192.0.2.2
www 3600 A 192.0.2.3
www 3600 TXT hello
cn 3600 CNAME www
cn2 3600 CNAME cn
loop1 3600 CNAME loop2
loop2 3600 CNAME loop1
cnx 3600 CNAME nothere
*.wild 3600 A 192.0.2.9
sub.wild 3600 TXT sub
deleg 3600 NS ns1.deleg
deleg 3600 DS 12345 8 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns1.deleg 3600 A 192.0.2.50
dn 3600 DNAME target
target 3600 A 192.0.2.60
a.target 3600 A 192.0.2.61
a.b.c 3600 A 192.0.2.70
";

fn origin() -> Name {
    "t.example.".parse().unwrap()
}

fn zone() -> Zone {
    zone_from(&origin(), ZONE)
}

/// A zone from `text`: one record per line, `owner ttl type rdata...`.
fn zone_from(origin: &Name, text: &str) -> Zone {
    let origin = origin.clone();
    let mut records = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let owner = Name::from_presentation(parts[0], Some(&origin)).unwrap();
        let ttl: u32 = parts[1].parse().unwrap();
        let rtype = Rtype::from_text(parts[2]).unwrap();
        let tokens: Vec<Token> = parts[3..]
            .iter()
            .map(|t| Token {
                text: t,
                quoted: false,
            })
            .collect();
        let rdata = parse_presentation(rtype, &tokens, &origin).unwrap();
        records.push(Record {
            owner,
            rtype,
            class: Class::IN,
            ttl,
            rdata: rdata.into(),
        });
    }
    Zone::build(&origin, &records).unwrap()
}

fn ask(z: &Zone, name: &str, qtype: Rtype, limit: usize) -> (Message, Outcome) {
    let q = build_query(1, &name.parse().unwrap(), qtype, None);
    let mut v = QueryView::default();
    v.parse(&q).unwrap();
    let mut buf = vec![0u8; 65535];
    let mut w = Writer::new(&mut buf, limit, &v, &q);
    let o = z.answer(v.qname(), qtype, &mut w);
    let n = w.finish();
    (Message::parse(&buf[..n]).unwrap(), o)
}

fn names(rs: &[Record]) -> Vec<String> {
    rs.iter()
        .map(|r| format!("{} {}", r.owner.to_string().to_lowercase(), r.rtype))
        .collect()
}

#[test]
fn positive_answer_with_case_preserved() {
    let (m, o) = ask(&zone(), "WwW.T.Example.", Rtype::A, 512);
    assert_eq!(o, Outcome::Answer);
    assert!(m.header.aa);
    assert_eq!(m.questions[0].qname.to_string(), "WwW.T.Example.");
    assert_eq!(names(&m.answer), ["www.t.example. A"]);
    assert!(m.authority.is_empty() && m.additional.is_empty());
}

#[test]
fn nodata_and_nxdomain_carry_negative_soa() {
    let z = zone();
    let (m, o) = ask(&z, "www.t.example.", Rtype::AAAA, 512);
    assert_eq!(o, Outcome::NoData);
    assert_eq!(m.header.rcode, 0);
    assert_eq!(names(&m.authority), ["t.example. SOA"]);
    assert_eq!(m.authority[0].ttl, 300, "min(SOA TTL, MINIMUM)");
    let (m, o) = ask(&z, "nope.t.example.", Rtype::A, 512);
    assert_eq!(o, Outcome::NxDomain);
    assert_eq!(m.header.rcode, 3);
    assert!(m.header.aa);
}

#[test]
fn empty_non_terminal_is_nodata() {
    let z = zone();
    for n in ["b.c.t.example.", "c.t.example."] {
        let (m, o) = ask(&z, n, Rtype::A, 512);
        assert_eq!(o, Outcome::NoData, "{n}");
        assert_eq!(m.header.rcode, 0);
    }
}

#[test]
fn cname_chain_and_loop_and_dangling() {
    let z = zone();
    let (m, _) = ask(&z, "cn2.t.example.", Rtype::A, 512);
    assert_eq!(
        names(&m.answer),
        [
            "cn2.t.example. CNAME",
            "cn.t.example. CNAME",
            "www.t.example. A"
        ]
    );
    let (m, _) = ask(&z, "loop1.t.example.", Rtype::A, 512);
    assert_eq!(
        names(&m.answer),
        ["loop1.t.example. CNAME", "loop2.t.example. CNAME"]
    );
    let (m, o) = ask(&z, "cnx.t.example.", Rtype::A, 512);
    assert_eq!(o, Outcome::NxDomain);
    assert_eq!(m.header.rcode, 3, "RFC 6604: rcode of the last name");
    assert_eq!(names(&m.answer), ["cnx.t.example. CNAME"]);
    let (m, _) = ask(&z, "cn.t.example.", Rtype::CNAME, 512);
    assert_eq!(names(&m.answer), ["cn.t.example. CNAME"]);
}

#[test]
fn wildcards() {
    let z = zone();
    let (m, _) = ask(&z, "a.b.wild.t.example.", Rtype::A, 512);
    assert_eq!(names(&m.answer), ["a.b.wild.t.example. A"]);
    let (m, o) = ask(&z, "x.wild.t.example.", Rtype::MX, 512);
    assert_eq!(o, Outcome::NoData);
    assert!(m.answer.is_empty());
    // No wildcard match at or below an existing name.
    let (_, o) = ask(&z, "sub.wild.t.example.", Rtype::A, 512);
    assert_eq!(o, Outcome::NoData);
    let (_, o) = ask(&z, "x.sub.wild.t.example.", Rtype::A, 512);
    assert_eq!(o, Outcome::NxDomain);
}

#[test]
fn referral_and_ds_at_cut() {
    let z = zone();
    let (m, o) = ask(&z, "www.deleg.t.example.", Rtype::A, 512);
    assert_eq!(o, Outcome::Referral);
    assert!(!m.header.aa);
    assert_eq!(names(&m.authority), ["deleg.t.example. NS"]);
    assert_eq!(names(&m.additional), ["ns1.deleg.t.example. A"]);
    let (m, o) = ask(&z, "deleg.t.example.", Rtype::DS, 512);
    assert_eq!(o, Outcome::Answer);
    assert!(m.header.aa);
    assert_eq!(names(&m.answer), ["deleg.t.example. DS"]);
    let (_, o) = ask(&z, "deleg.t.example.", Rtype::NS, 512);
    assert_eq!(o, Outcome::Referral);
}

#[test]
fn dname_synthesis() {
    let z = zone();
    let (m, _) = ask(&z, "a.dn.t.example.", Rtype::A, 512);
    assert_eq!(
        names(&m.answer),
        [
            "dn.t.example. DNAME",
            "a.dn.t.example. CNAME",
            "a.target.t.example. A"
        ]
    );
    assert_eq!(
        m.answer[1].rdata.as_ref(),
        "a.target.t.example.".parse::<Name>().unwrap().as_wire()
    );
    let (m, o) = ask(&z, "x.dn.t.example.", Rtype::A, 512);
    assert_eq!(o, Outcome::NxDomain);
    assert_eq!(m.answer.len(), 2);
    let (m, _) = ask(&z, "dn.t.example.", Rtype::DNAME, 512);
    assert_eq!(names(&m.answer), ["dn.t.example. DNAME"]);
}

#[test]
fn additional_and_any() {
    let z = zone();
    let (m, _) = ask(&z, "t.example.", Rtype::MX, 512);
    assert_eq!(names(&m.additional), ["mail.t.example. A"]);
    let (m, _) = ask(&z, "t.example.", Rtype::NS, 512);
    assert_eq!(
        names(&m.additional),
        ["ns1.t.example. A", "ns1.t.example. AAAA"]
    );
    let (m, _) = ask(&z, "t.example.", Rtype::ANY, 512);
    assert_eq!(
        names(&m.answer),
        ["t.example. NS", "t.example. NS"],
        "lowest type only"
    );
}

#[test]
fn truncation_empties_sections() {
    let z = zone();
    let (m, o) = ask(&z, "t.example.", Rtype::NS, 60);
    assert_eq!(o, Outcome::Truncated);
    assert!(m.header.tc);
    assert!(m.answer.is_empty() && m.authority.is_empty() && m.additional.is_empty());
}

#[test]
fn zoneset_longest_match() {
    let z = Arc::new(zone());
    let set = ZoneSet::new().with_zone(z);
    let q = |n: &str| {
        set.find(n.parse::<Name>().unwrap().to_lowercase().as_wire())
            .is_some()
    };
    assert!(q("a.b.t.example."));
    assert!(q("T.EXAMPLE."));
    assert!(!q("example."));
    assert!(!q("xt.example."));
    assert_eq!(set.without_zone(&origin()).0.len(), 0);
}

/// DS at a zone's apex comes from the parent zone when it is served too (RFC 4035 §3.1.4.1).
#[test]
fn zoneset_ds_zone_skips_the_apex() {
    let parent = Arc::new(zone());
    let child_origin: Name = "deleg.t.example.".parse().unwrap();
    let child = Arc::new(zone_from(
        &child_origin,
        "@ 3600 SOA ns1 host 1 3600 900 1209600 300
@ 3600 NS ns1
ns1 3600 A 192.0.2.50",
    ));
    let lone = ZoneSet::new().with_zone(child.clone());
    let both = lone.with_zone(parent);
    let apex_of = |set: &ZoneSet, n: &str, ds: bool| {
        let key = n.parse::<Name>().unwrap().to_lowercase();
        let z = if ds {
            set.find_for_ds(key.as_wire())
        } else {
            set.find(key.as_wire())
        };
        z.map(|z| z.load().apex().to_string())
    };
    assert_eq!(
        apex_of(&both, "Deleg.T.example.", true).as_deref(),
        Some("t.example.")
    );
    assert_eq!(
        apex_of(&both, "deleg.t.example.", false).as_deref(),
        Some("deleg.t.example.")
    );
    assert_eq!(
        apex_of(&both, "x.deleg.t.example.", true).as_deref(),
        Some("deleg.t.example.")
    );
    assert_eq!(
        apex_of(&both, "t.example.", true).as_deref(),
        Some("t.example.")
    );
    // Without the parent, the child answers.
    assert_eq!(
        apex_of(&lone, "deleg.t.example.", true).as_deref(),
        Some("deleg.t.example.")
    );
    assert_eq!(apex_of(&lone, "example.", true), None);
    assert_eq!(apex_of(&lone, ".", true), None);
    // The parent's DS answer for the cut.
    let (m, o) = ask(&zone(), "deleg.t.example.", Rtype::DS, 512);
    assert_eq!(o, Outcome::Answer);
    assert_eq!(names(&m.answer), ["deleg.t.example. DS"]);
}

/// A DNAME at the apex applies to every name below it (RFC 6672 §2.3); the apex answers normally.
#[test]
fn dname_at_the_apex() {
    let origin: Name = "d.example.".parse().unwrap();
    let z = zone_from(
        &origin,
        "@ 3600 SOA ns1.other. host.other. 1 3600 900 1209600 300
@ 3600 NS ns1.other.
@ 3600 DNAME t.example.
@ 3600 A 192.0.2.1",
    );
    let (m, o) = ask(&z, "www.d.example.", Rtype::A, 512);
    assert_eq!(o, Outcome::Answer);
    assert_eq!(m.rcode(), 0);
    assert_eq!(
        names(&m.answer),
        ["d.example. DNAME", "www.d.example. CNAME"]
    );
    assert_eq!(
        m.answer[1].rdata.as_ref(),
        "www.t.example.".parse::<Name>().unwrap().as_wire()
    );
    let (m, _) = ask(&z, "a.b.d.example.", Rtype::MX, 512);
    assert_eq!(names(&m.answer)[1], "a.b.d.example. CNAME");
    for (qtype, want) in [
        (Rtype::SOA, "d.example. SOA"),
        (Rtype::NS, "d.example. NS"),
        (Rtype::DNAME, "d.example. DNAME"),
        (Rtype::A, "d.example. A"),
    ] {
        let (m, o) = ask(&z, "d.example.", qtype, 512);
        assert_eq!(o, Outcome::Answer, "{qtype}");
        assert_eq!(names(&m.answer), [want]);
    }
    let (m, o) = ask(&z, "d.example.", Rtype::TXT, 512);
    assert_eq!(o, Outcome::NoData);
    assert_eq!(names(&m.authority), ["d.example. SOA"]);
}

const CHAINS: &str = "@ 3600 SOA ns1 host 1 3600 900 1209600 300
@ 3600 NS ns1
ns1 3600 A 192.0.2.1
www 3600 A 192.0.2.2
c1 3600 CNAME c2
c2 3600 CNAME c3
c3 3600 CNAME c4
c4 3600 CNAME c5
c5 3600 CNAME c6
c6 3600 CNAME www
n1 3600 CNAME n2
n2 3600 CNAME n3
n3 3600 CNAME n4
n4 3600 CNAME n5
n5 3600 CNAME www
*.wl 3600 CNAME x.y.wl
*.w2 3600 CNAME a.w3
*.w3 3600 CNAME b.w2
dl 3600 DNAME sub.dl.c.example.
r1 3600 CNAME r2
r2 3600 CNAME r1
mx 3600 MX 10 host.wild
*.wild 3600 A 192.0.2.9
svc 3600 HTTPS 1 target
target 3600 A 192.0.2.10
target 3600 HTTPS 1 . alpn=h2
deleg 3600 NS ns1.deleg
deleg 3600 NS ns.other.
ns1.deleg 3600 A 192.0.2.50
";

fn chains() -> Zone {
    zone_from(&"c.example.".parse().unwrap(), CHAINS)
}

/// As Knot 3.2: at most five links; the name after the fifth is still answered.
#[test]
fn chain_limit_is_five_links() {
    let z = chains();
    let (m, o) = ask(&z, "n1.c.example.", Rtype::A, 4096);
    assert_eq!(o, Outcome::Answer);
    assert_eq!(
        m.answer.len(),
        6,
        "five CNAMEs and the A: {:?}",
        names(&m.answer)
    );
    let (m, o) = ask(&z, "c1.c.example.", Rtype::A, 4096);
    assert_eq!(o, Outcome::Answer);
    assert_eq!(m.rcode(), 0);
    assert_eq!(
        names(&m.answer),
        [
            "c1.c.example. CNAME",
            "c2.c.example. CNAME",
            "c3.c.example. CNAME",
            "c4.c.example. CNAME",
            "c5.c.example. CNAME"
        ]
    );
    assert!(m.authority.is_empty());
}

/// Loops end as in Knot: a CNAME node is not followed twice; a wildcard's
/// CNAME is written for the new name, then the chain ends; a DNAME into
/// itself is written once, its synthesis runs into the limit.
#[test]
fn loops() {
    let z = chains();
    let (m, _) = ask(&z, "r1.c.example.", Rtype::A, 4096);
    assert_eq!(
        names(&m.answer),
        ["r1.c.example. CNAME", "r2.c.example. CNAME"]
    );
    let (m, _) = ask(&z, "q.wl.c.example.", Rtype::A, 4096);
    assert_eq!(
        names(&m.answer),
        ["q.wl.c.example. CNAME", "x.y.wl.c.example. CNAME"]
    );
    let (m, _) = ask(&z, "q.w2.c.example.", Rtype::A, 4096);
    assert_eq!(
        names(&m.answer),
        [
            "q.w2.c.example. CNAME",
            "a.w3.c.example. CNAME",
            "b.w2.c.example. CNAME"
        ]
    );
    let (m, o) = ask(&z, "x.dl.c.example.", Rtype::A, 4096);
    assert_eq!(o, Outcome::Answer);
    let n = names(&m.answer);
    assert_eq!(
        n.iter().filter(|r| r.ends_with("DNAME")).count(),
        1,
        "{n:?}"
    );
    assert_eq!(
        n.iter().filter(|r| r.ends_with("CNAME")).count(),
        5,
        "{n:?}"
    );
}

/// RRSIG and NSEC queries at a CNAME are answered by the node itself (NODATA here, unsigned).
#[test]
fn rrsig_and_nsec_do_not_follow_cnames() {
    let z = zone();
    for t in [Rtype::RRSIG, Rtype::NSEC] {
        let (m, o) = ask(&z, "cn.t.example.", t, 512);
        assert_eq!(o, Outcome::NoData, "{t}");
        assert!(m.answer.is_empty());
    }
    let (_, o) = ask(&z, "cn.t.example.", Rtype::DNSKEY, 512);
    assert_eq!(o, Outcome::NoData);
}

/// Additional section as Knot: targets a wildcard answers, and the target's
/// SVCB/HTTPS RRset of the same type.
#[test]
fn additional_wildcard_targets_and_svcb() {
    let z = chains();
    let (m, _) = ask(&z, "mx.c.example.", Rtype::MX, 512);
    assert_eq!(names(&m.additional), ["host.wild.c.example. A"]);
    let (m, _) = ask(&z, "svc.c.example.", Rtype::HTTPS, 512);
    assert_eq!(
        names(&m.additional),
        ["target.c.example. A", "target.c.example. HTTPS"]
    );
}

/// Truncation as Knot: what fitted before stays; TC for answer data and a
/// referral's NS and required glue; a negative answer's SOA and optional
/// additional records are left out without TC.
#[test]
fn truncation_keeps_what_fitted() {
    let z = chains();
    // The CNAMEs fit, the final A does not.
    let (full, _) = ask(&z, "n1.c.example.", Rtype::A, 4096);
    let n = full.answer.len();
    let (_, o) = ask(&z, "n1.c.example.", Rtype::A, 4096);
    assert_eq!(o, Outcome::Answer);
    let size = |limit| ask(&z, "n1.c.example.", Rtype::A, limit);
    let mut limit = 40;
    let (m, o) = loop {
        let (m, o) = size(limit);
        if !m.answer.is_empty() && m.header.tc {
            break (m, o);
        }
        limit += 1;
        assert!(limit < 512, "no partial answer found");
    };
    assert_eq!(o, Outcome::Truncated);
    assert!(m.answer.len() < n);
    assert!(m.answer.iter().all(|r| r.rtype == Rtype::CNAME));
    // NXDOMAIN whose SOA does not fit: no SOA, no TC.
    let (m, o) = ask(&z, "nothere.c.example.", Rtype::A, 60);
    assert_eq!(o, Outcome::NxDomain);
    assert_eq!(m.rcode(), 3);
    assert!(!m.header.tc && m.authority.is_empty());
    // Referral whose required glue does not fit: TC, NS kept.
    let (m, _) = ask(&z, "a.deleg.c.example.", Rtype::A, 4096);
    assert_eq!(names(&m.additional), ["ns1.deleg.c.example. A"]);
    let mut limit = 60;
    loop {
        let (m, o) = ask(&z, "a.deleg.c.example.", Rtype::A, limit);
        if !m.authority.is_empty() {
            assert!(m.header.tc && m.additional.is_empty());
            assert_eq!(o, Outcome::Truncated);
            break;
        }
        limit += 1;
    }
}
