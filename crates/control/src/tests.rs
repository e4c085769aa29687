use super::*;
fn write(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 5 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n";

#[test]
fn reload_same_is_noop_changed_is_change() {
    let dir = tempfile::tempdir().unwrap();
    let control = Control::open(Store::open(dir.path()).unwrap()).unwrap();
    let f = write(dir.path(), "example.com.zone", ZONE);
    let (origin, o) = control.load_zone_file(&f).unwrap();
    assert_eq!(o, LoadOutcome::Created { serial: 5 });
    assert_eq!(
        control.load_zone_file(&f).unwrap().1,
        LoadOutcome::Unchanged { serial: 5 }
    );
    // Changed content, same serial: the serial is bumped and journaled.
    write(
        dir.path(),
        "example.com.zone",
        &ZONE.replace("192.0.2.2", "192.0.2.3"),
    );
    assert_eq!(
        control.load_zone_file(&f).unwrap().1,
        LoadOutcome::Updated { from: 5, to: 6 }
    );
    let journal = control.store().journal(&origin).unwrap();
    let last = journal.last().unwrap();
    assert_eq!((last.change.serial_from, last.change.serial_to), (5, 6));
    assert_eq!(last.change.removed.len(), 2, "old SOA and old A");
    assert_eq!(last.change.added.len(), 2, "new SOA and new A");
    assert_eq!(control.zones().load().get(&origin).unwrap().serial(), 6);
    // A newer serial in the file is kept.
    write(
        dir.path(),
        "example.com.zone",
        &ZONE.replace(" 5 3600", " 100 3600"),
    );
    assert_eq!(
        control.load_zone_file(&f).unwrap().1,
        LoadOutcome::Updated { from: 6, to: 100 }
    );
    // Reopening serves the stored zone.
    drop(control);
    let control = Control::open(Store::open(dir.path()).unwrap()).unwrap();
    assert_eq!(control.zones().load().get(&origin).unwrap().serial(), 100);
}

/// An unchanged file is skipped by its fingerprint only while the zone is
/// still at the serial of that load; after an API change it is applied again.
#[test]
fn unchanged_file_is_reapplied_after_api_changes() {
    let dir = tempfile::tempdir().unwrap();
    let control = Control::open(Store::open(dir.path()).unwrap()).unwrap();
    let f = write(dir.path(), "example.com.zone", ZONE);
    let (origin, _) = control.load_zone_file(&f).unwrap();
    let meta = control
        .store()
        .meta_get(&format!("zonefile:{}", f.canonicalize().unwrap().display()));
    assert!(meta.unwrap().unwrap().ends_with(" example.com. 5"));
    let edit = Edit::ReplaceRrset {
        owner: Name::from_presentation("api.example.com.", None).unwrap(),
        rtype: Rtype::A,
        ttl: 60,
        rdatas: vec![vec![192, 0, 2, 9]],
    };
    let applied = control.apply(&origin, vec![edit], None).unwrap();
    assert_ne!(applied.serial_to, 5);
    // Same file again: the zone is made equal to it (the API record goes), the serial advances.
    let (_, o) = control.load_zone_file(&f).unwrap();
    assert!(matches!(o, LoadOutcome::Updated { .. }), "{o:?}");
    let z = control.zones().load().get(&origin).unwrap();
    assert!(z
        .node_named(&Name::from_presentation("api.example.com.", None).unwrap())
        .is_none());
    // And now it is the recorded load: skipped.
    let serial = z.serial();
    assert_eq!(
        control.load_zone_file(&f).unwrap().1,
        LoadOutcome::Unchanged { serial }
    );
    // A file with $INCLUDE is always parsed (no fingerprint), and still a no-op when unchanged.
    write(dir.path(), "inc.zone", "www2 A 192.0.2.7\n");
    let g = write(
        dir.path(),
        "example.org.zone",
        &format!(
            "{}$INCLUDE inc.zone\n",
            ZONE.replace("example.com.", "example.org.")
        ),
    );
    let (org, o) = control.load_zone_file(&g).unwrap();
    assert!(matches!(o, LoadOutcome::Created { .. }));
    assert!(control
        .store()
        .meta_get(&format!("zonefile:{}", g.canonicalize().unwrap().display()))
        .unwrap()
        .is_none());
    write(dir.path(), "inc.zone", "www2 A 192.0.2.8\n");
    assert!(matches!(
        control.load_zone_file(&g).unwrap().1,
        LoadOutcome::Updated { .. }
    ));
    let z = control.zones().load().get(&org).unwrap();
    let www2 = z
        .node_named(&Name::from_presentation("www2.example.org.", None).unwrap())
        .unwrap();
    assert_eq!(
        www2.rrset(Rtype::A).unwrap().rdatas().next(),
        Some(&[192, 0, 2, 8][..])
    );
}

#[test]
fn rejected_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let control = Control::open(Store::open(dir.path()).unwrap()).unwrap();
    let f = write(dir.path(), "example.com.zone", ZONE);
    let (origin, _) = control.load_zone_file(&f).unwrap();
    write(
        dir.path(),
        "example.com.zone",
        &format!("{ZONE}www CNAME elsewhere.example.\n"),
    );
    let err = control.load_zone_file(&f).unwrap_err().to_string();
    assert!(err.contains("example.com.zone:7"), "{err}");
    assert_eq!(control.store().zone(&origin).unwrap().unwrap().serial, 5);
    assert_eq!(control.store().journal(&origin).unwrap().len(), 1);
    assert_eq!(control.zones().load().get(&origin).unwrap().serial(), 5);
}

// ---- REST write path ----

use std::collections::BTreeSet;
use zonecast_store::JournalEntry;

// 2026-11-23T22:00:00Z
const NOW: i64 = 1_795_471_200;
const DAY: i64 = 86_400;

fn apex() -> Name {
    Name::from_presentation("example.com.", None).unwrap()
}

fn n(s: &str) -> Name {
    Name::from_presentation(s, Some(&apex())).unwrap()
}

fn rd(rtype: Rtype, text: &str) -> Vec<u8> {
    zonecast_zonefile::parse_rdata(rtype, text, &apex()).unwrap()
}

fn rec(owner: &str, rtype: Rtype, ttl: u32, text: &str) -> Record {
    Record {
        owner: n(owner),
        rtype,
        class: Class::IN,
        ttl,
        rdata: rd(rtype, text).into(),
    }
}

fn policy(p: SerialPolicy) -> ZoneSettings {
    ZoneSettings {
        serial_policy: p,
        ..Default::default()
    }
}

/// A control over an in-memory store with ZONE loaded (serial 5) and the given policy.
fn setup(p: SerialPolicy) -> Control {
    let control = Control::open(Store::open_in_memory().unwrap()).unwrap();
    let data = zonecast_zonefile::load_str(ZONE, &apex(), "t").unwrap();
    control
        .create_zone_at(
            &apex(),
            ZoneKind::Primary,
            policy(p),
            Some(data.records),
            NOW,
        )
        .unwrap();
    control
}

/// Store records, serial, journal length, and the served version (its serial, records and identity).
type Seen = (
    Vec<(i64, Record)>,
    u32,
    usize,
    Option<(u32, Vec<Record>, usize)>,
);

fn observe(c: &Control) -> Seen {
    (
        c.records(&apex(), None, None).unwrap(),
        c.zone_info(&apex()).unwrap().serial,
        c.store().journal(&apex()).unwrap().len(),
        c.zones()
            .load()
            .get(&apex())
            .map(|z| (z.serial(), z.records(), Arc::as_ptr(&z) as usize)),
    )
}

fn replace(owner: &str, rtype: Rtype, ttl: u32, texts: &[&str]) -> Edit {
    Edit::ReplaceRrset {
        owner: n(owner),
        rtype,
        ttl,
        rdatas: texts.iter().map(|t| rd(rtype, t)).collect(),
    }
}

fn set_of(c: &Control) -> BTreeSet<String> {
    c.records(&apex(), None, None)
        .unwrap()
        .iter()
        .map(|(_, r)| show(r))
        .collect()
}

fn show(r: &Record) -> String {
    format!(
        "{} {} {} {}",
        r.owner.to_lowercase(),
        r.ttl,
        r.rtype,
        zonecast_proto::rdata::format_presentation(r.rtype, &r.rdata)
    )
}

fn has(c: &Control, owner: &str, rtype: Rtype, text: &str) -> bool {
    let want = rec(owner, rtype, 0, text);
    c.records(&apex(), None, None)
        .unwrap()
        .iter()
        .any(|(_, r)| r.same_data(&want))
}

#[test]
fn every_edit_kind() {
    let c = setup(SerialPolicy::Increment);
    // ReplaceRrset creates.
    let a = c
        .apply_at(
            &apex(),
            vec![replace("web", Rtype::A, 600, &["192.0.2.10", "192.0.2.11"])],
            Some(5),
            NOW,
        )
        .unwrap();
    assert_eq!((a.serial_from, a.serial_to), (5, 6));
    assert_eq!(a.added_ids.len(), 3, "two A and the new SOA");
    assert_eq!(
        c.record(&apex(), a.added_ids[0]).unwrap(),
        rec("web", Rtype::A, 600, "192.0.2.10")
    );
    assert!(a.seq > 0);
    // ReplaceRrset replaces (TTL and content).
    c.apply_at(
        &apex(),
        vec![replace("web", Rtype::A, 60, &["192.0.2.11", "192.0.2.12"])],
        None,
        NOW,
    )
    .unwrap();
    let s = set_of(&c);
    assert!(s.contains("web.example.com. 60 A 192.0.2.11"), "{s:?}");
    assert!(s.contains("web.example.com. 60 A 192.0.2.12"));
    assert!(!has(&c, "web", Rtype::A, "192.0.2.10"));
    // AddRecord, with a new TTL for the whole RRset.
    c.apply_at(
        &apex(),
        vec![Edit::AddRecord(rec("web", Rtype::A, 120, "192.0.2.13"))],
        None,
        NOW,
    )
    .unwrap();
    let s = set_of(&c);
    for ip in ["11", "12", "13"] {
        assert!(
            s.contains(&format!("web.example.com. 120 A 192.0.2.{ip}")),
            "{s:?}"
        );
    }
    // AddRecord of an existing record: conflict.
    let e = c
        .apply_at(
            &apex(),
            vec![Edit::AddRecord(rec("web", Rtype::A, 1, "192.0.2.13"))],
            None,
            NOW,
        )
        .unwrap_err();
    assert!(matches!(e, ControlError::Conflict { .. }), "{e}");
    // DeleteRecord.
    c.apply_at(
        &apex(),
        vec![Edit::DeleteRecord(rec("web", Rtype::A, 0, "192.0.2.11"))],
        None,
        NOW,
    )
    .unwrap();
    assert!(!has(&c, "web", Rtype::A, "192.0.2.11"));
    // DeleteRecord of an absent record: not found.
    let e = c
        .apply_at(
            &apex(),
            vec![Edit::DeleteRecord(rec("web", Rtype::A, 0, "192.0.2.99"))],
            None,
            NOW,
        )
        .unwrap_err();
    assert!(matches!(e, ControlError::NotFound { .. }), "{e}");
    // DeleteRrset.
    let a = c
        .apply_at(
            &apex(),
            vec![Edit::DeleteRrset {
                owner: n("web"),
                rtype: Rtype::A,
            }],
            None,
            NOW,
        )
        .unwrap();
    assert!(!set_of(&c).iter().any(|s| s.starts_with("web.")));
    assert_eq!(a.serial_to, 10, "one bump per change: 6,7,8,9,10");
    // DeleteRrset of an absent RRset: not found; an empty ReplaceRrset is the idempotent form.
    let e = c
        .apply_at(
            &apex(),
            vec![Edit::DeleteRrset {
                owner: n("web"),
                rtype: Rtype::A,
            }],
            None,
            NOW,
        )
        .unwrap_err();
    assert!(matches!(e, ControlError::NotFound { .. }), "{e}");
    let a = c
        .apply_at(&apex(), vec![replace("web", Rtype::A, 60, &[])], None, NOW)
        .unwrap();
    assert_eq!((a.serial_from, a.serial_to, a.seq), (10, 10, 0));
    // Several edits: one change, one bump, one journal entry.
    let before = c.store().journal(&apex()).unwrap().len();
    let a = c
        .apply_at(
            &apex(),
            vec![
                replace("a", Rtype::A, 300, &["192.0.2.1"]),
                replace("b", Rtype::TXT, 300, &["\"hello\""]),
                Edit::DeleteRecord(rec("www", Rtype::A, 0, "192.0.2.2")),
            ],
            None,
            NOW,
        )
        .unwrap();
    assert_eq!((a.serial_from, a.serial_to), (10, 11));
    assert_eq!(c.store().journal(&apex()).unwrap().len(), before + 1);
    let last = c.store().journal(&apex()).unwrap().pop().unwrap();
    assert_eq!(last.change.removed.len(), 2, "www A and old SOA");
    assert_eq!(last.change.added.len(), 3, "a A, b TXT, new SOA");
    // Visible in the DNS snapshot on return.
    let zs = c.zones().load();
    let z = zs.get(&apex()).unwrap();
    assert_eq!(z.serial(), 11);
    assert_eq!(z.record_count(), c.zone_info(&apex()).unwrap().record_count);
    let key = n("a").to_lowercase();
    assert!(z
        .node(key.as_wire())
        .is_some_and(|n| n.rrset(Rtype::A).is_some()));
    assert!(z.node(n("www").to_lowercase().as_wire()).is_none());
}

fn assert_refused(c: &Control, edits: Vec<Edit>, check: impl Fn(&ControlError) -> bool) {
    let before = observe(c);
    let e = c.apply_at(&apex(), edits, None, NOW).unwrap_err();
    assert!(check(&e), "unexpected error: {e:?}");
    assert_eq!(observe(c), before, "refused change left traces: {e}");
}

fn invalid_at(
    index: usize,
    field: &'static str,
    text: &'static str,
) -> impl Fn(&ControlError) -> bool {
    move |e| match e {
        ControlError::Invalid {
            index: Some(i),
            field: f,
            message,
        } => *i == index && f == field && message.contains(text),
        _ => false,
    }
}

#[test]
fn refused_changes_leave_everything_unchanged() {
    let c = setup(SerialPolicy::Increment);
    c.apply_at(
        &apex(),
        vec![
            replace("d", Rtype::DNAME, 300, &["target.example.net."]),
            replace("x.sub", Rtype::A, 300, &["192.0.2.7"]),
        ],
        None,
        NOW,
    )
    .unwrap();
    let ok = replace("fine", Rtype::A, 300, &["192.0.2.1"]);
    // Out of zone.
    assert_refused(
        &c,
        vec![
            ok.clone(),
            Edit::ReplaceRrset {
                owner: Name::from_presentation("www.example.org.", None).unwrap(),
                rtype: Rtype::A,
                ttl: 300,
                rdatas: vec![rd(Rtype::A, "192.0.2.1")],
            },
        ],
        invalid_at(1, "name", "outside the zone"),
    );
    // CNAME and other data, both ways.
    assert_refused(
        &c,
        vec![
            ok.clone(),
            replace("www", Rtype::CNAME, 300, &["elsewhere.example."]),
        ],
        invalid_at(1, "type", "CNAME and other data"),
    );
    assert_refused(
        &c,
        vec![
            replace("c", Rtype::CNAME, 300, &["x.example."]),
            replace("c", Rtype::TXT, 300, &["\"t\""]),
        ],
        invalid_at(1, "type", "CNAME"),
    );
    assert_refused(
        &c,
        vec![replace(
            "c",
            Rtype::CNAME,
            300,
            &["x.example.", "y.example."],
        )],
        invalid_at(0, "records", "only one CNAME"),
    );
    // CNAME at the apex (it has SOA and NS).
    assert_refused(
        &c,
        vec![replace("@", Rtype::CNAME, 300, &["x.example."])],
        invalid_at(0, "type", "CNAME"),
    );
    // Data below a DNAME; a DNAME above data; two DNAMEs.
    assert_refused(
        &c,
        vec![replace("x.d", Rtype::A, 300, &["192.0.2.1"])],
        invalid_at(0, "name", "below the DNAME"),
    );
    assert_refused(
        &c,
        vec![
            ok.clone(),
            replace("sub", Rtype::DNAME, 300, &["t.example."]),
        ],
        invalid_at(1, "type", "data below it"),
    );
    assert_refused(
        &c,
        vec![replace(
            "d",
            Rtype::DNAME,
            300,
            &["a.example.", "b.example."],
        )],
        invalid_at(0, "records", "only one DNAME"),
    );
    // The last apex NS, by each kind of edit.
    assert_refused(
        &c,
        vec![Edit::DeleteRrset {
            owner: apex(),
            rtype: Rtype::NS,
        }],
        invalid_at(0, "records", "at least one NS"),
    );
    assert_refused(
        &c,
        vec![Edit::DeleteRecord(rec("@", Rtype::NS, 0, "ns1"))],
        invalid_at(0, "records", "at least one NS"),
    );
    assert_refused(
        &c,
        vec![replace("@", Rtype::NS, 300, &[])],
        invalid_at(0, "records", "at least one NS"),
    );
    // SOA edits.
    assert_refused(
        &c,
        vec![replace("@", Rtype::SOA, 300, &["a b 1 2 3 4 5"])],
        invalid_at(0, "type", "SOA"),
    );
    assert_refused(
        &c,
        vec![Edit::DeleteRrset {
            owner: apex(),
            rtype: Rtype::SOA,
        }],
        invalid_at(0, "type", "SOA"),
    );
    // TTL range, class, meta types, rdata.
    assert_refused(
        &c,
        vec![replace("t", Rtype::A, 0x8000_0000, &["192.0.2.1"])],
        invalid_at(0, "ttl", "2147483647"),
    );
    let mut ch = rec("t", Rtype::A, 300, "192.0.2.1");
    ch.class = Class(3);
    assert_refused(
        &c,
        vec![Edit::AddRecord(ch)],
        invalid_at(0, "class", "only IN"),
    );
    assert_refused(
        &c,
        vec![Edit::ReplaceRrset {
            owner: n("t"),
            rtype: Rtype(255),
            ttl: 1,
            rdatas: vec![],
        }],
        invalid_at(0, "type", "meta type"),
    );
    assert_refused(
        &c,
        vec![
            ok.clone(),
            Edit::ReplaceRrset {
                owner: n("t"),
                rtype: Rtype::A,
                ttl: 1,
                rdatas: vec![rd(Rtype::A, "192.0.2.1"), vec![1, 2, 3]],
            },
        ],
        invalid_at(1, "records[1]", "invalid A rdata"),
    );
    let mut bad = rec("t", Rtype::MX, 300, "10 mail");
    bad.rdata = vec![0, 10, 99].into();
    assert_refused(
        &c,
        vec![Edit::AddRecord(bad)],
        invalid_at(0, "content", "invalid MX rdata"),
    );
    // Conflicts and not-found in the middle of a list: nothing applied.
    assert_refused(
        &c,
        vec![
            ok.clone(),
            Edit::AddRecord(rec("www", Rtype::A, 300, "192.0.2.2")),
        ],
        |e| matches!(e, ControlError::Conflict { .. }),
    );
    assert_refused(
        &c,
        vec![
            ok.clone(),
            Edit::DeleteRecord(rec("nope", Rtype::A, 300, "192.0.2.2")),
        ],
        |e| matches!(e, ControlError::NotFound { .. }),
    );
    // If-Match serial mismatch.
    let before = observe(&c);
    let e = c
        .apply_at(&apex(), vec![ok.clone()], Some(5), NOW)
        .unwrap_err();
    assert!(
        matches!(
            e,
            ControlError::SerialMismatch {
                current: 6,
                expected: 5,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(observe(&c), before);
    // The same condition on a zone file replace and on a delete.
    let e = c
        .replace_zone_text(&apex(), &c.export_zone(&apex()).unwrap(), Some(5))
        .unwrap_err();
    assert!(matches!(e, ControlError::SerialMismatch { .. }), "{e}");
    let e = c.delete_zone(&apex(), Some(5)).unwrap_err();
    assert!(matches!(e, ControlError::SerialMismatch { .. }), "{e}");
    assert_eq!(observe(&c), before);
    // The error text names edit and field.
    let e = c
        .apply_at(
            &apex(),
            vec![
                ok.clone(),
                replace("t", Rtype::A, 0x8000_0000, &["192.0.2.1"]),
            ],
            None,
            NOW,
        )
        .unwrap_err();
    assert!(
        e.to_string().starts_with("edits[1].ttl: TTL 2147483648"),
        "{e}"
    );
    // Unknown zone.
    let other = Name::from_presentation("nope.example.", None).unwrap();
    assert!(matches!(
        c.apply(&other, vec![], None),
        Err(ControlError::NotFound { .. })
    ));
    // Removing data below a DNAME together with the DNAME's creation is fine.
    c.apply_at(
        &apex(),
        vec![
            replace("x.sub", Rtype::A, 300, &[]),
            replace("sub", Rtype::DNAME, 300, &["t.example."]),
        ],
        None,
        NOW,
    )
    .unwrap();
}

#[test]
fn serial_policies() {
    // Date: the default SOA of an empty zone, then nn, then the next day.
    let c = Control::open(Store::open_in_memory().unwrap()).unwrap();
    let info = c
        .create_zone_at(
            &apex(),
            ZoneKind::Primary,
            ZoneSettings::default(),
            None,
            NOW,
        )
        .unwrap();
    assert_eq!(info.serial, 2026112300);
    let ns = replace("@", Rtype::NS, 3600, &["ns1"]);
    let a = c.apply_at(&apex(), vec![ns], None, NOW).unwrap();
    assert_eq!(a.serial_to, 2026112301);
    let a = c
        .apply_at(
            &apex(),
            vec![replace("a", Rtype::A, 1, &["192.0.2.1"])],
            None,
            NOW + DAY,
        )
        .unwrap();
    assert_eq!(a.serial_to, 2026112400);
    // Back in time: never backwards.
    let a = c
        .apply_at(
            &apex(),
            vec![replace("a", Rtype::A, 2, &["192.0.2.1"])],
            None,
            NOW,
        )
        .unwrap();
    assert_eq!(a.serial_to, 2026112401);
    assert_eq!(
        soa_serial(
            &apex(),
            &c.records(&apex(), None, None)
                .unwrap()
                .into_iter()
                .map(|(_, r)| r)
                .collect::<Vec<_>>()
        ),
        Some(2026112401)
    );

    // Unixtime.
    let c = setup(SerialPolicy::Unixtime);
    let a = c
        .apply_at(
            &apex(),
            vec![replace("a", Rtype::A, 1, &["192.0.2.1"])],
            None,
            NOW,
        )
        .unwrap();
    assert_eq!((a.serial_from, a.serial_to), (5, NOW as u32));
    let a = c
        .apply_at(
            &apex(),
            vec![replace("a", Rtype::A, 2, &["192.0.2.1"])],
            None,
            NOW,
        )
        .unwrap();
    assert_eq!(a.serial_to, NOW as u32 + 1);

    // Increment; a zone file with a newer serial keeps it, an older one is bumped by policy.
    let c = setup(SerialPolicy::Increment);
    let a = c
        .apply_at(
            &apex(),
            vec![replace("a", Rtype::A, 1, &["192.0.2.1"])],
            None,
            NOW,
        )
        .unwrap();
    assert_eq!(a.serial_to, 6);
    let a = c
        .replace_zone_text_at(&apex(), &ZONE.replace(" 5 3600", " 100 3600"), None, NOW)
        .unwrap();
    assert_eq!((a.serial_from, a.serial_to), (6, 100));
    let a = c
        .replace_zone_text_at(&apex(), &ZONE.replace("192.0.2.2", "192.0.2.3"), None, NOW)
        .unwrap();
    assert_eq!((a.serial_from, a.serial_to), (100, 101));
    assert_eq!(c.zones().load().get(&apex()).unwrap().serial(), 101);
}

#[test]
fn zone_lifecycle_and_settings() {
    let c = Control::open(Store::open_in_memory().unwrap()).unwrap();
    let settings = ZoneSettings {
        serial_policy: SerialPolicy::Increment,
        notify: vec!["192.0.2.53".into()],
        allow_transfer: vec!["192.0.2.0/24".into(), "key:xfr".into()],
        ..Default::default()
    };
    let info = c
        .create_zone(
            &n("Example.COM."),
            ZoneKind::Primary,
            settings.clone(),
            None,
        )
        .unwrap();
    assert_eq!(info.name.to_string(), "example.com.");
    assert_eq!((info.serial, info.record_count), (1, 1));
    assert_eq!(info.settings, settings);
    // Stored but not served without apex NS.
    assert!(c.zones().load().get(&apex()).is_none());
    assert!(matches!(
        c.create_zone(&apex(), ZoneKind::Primary, ZoneSettings::default(), None),
        Err(ControlError::Conflict { .. })
    ));
    let a = c
        .apply(
            &apex(),
            vec![replace("@", Rtype::NS, 3600, &["ns1.example.net."])],
            None,
        )
        .unwrap();
    assert_eq!(c.zones().load().get(&apex()).unwrap().serial(), a.serial_to);
    // Export reads back to the same records.
    let text = c.export_zone(&apex()).unwrap();
    let back = zonecast_zonefile::load_str(&text, &apex(), "export").unwrap();
    let again: BTreeSet<String> = back.records.iter().map(show).collect();
    assert_eq!(again, set_of(&c));
    // Settings.
    let bad = ZoneSettings {
        notify: vec!["not-an-address".into()],
        ..Default::default()
    };
    assert!(matches!(
        c.update_settings(&apex(), bad),
        Err(ControlError::Invalid { .. })
    ));
    let s2 = policy(SerialPolicy::Date);
    assert_eq!(c.update_settings(&apex(), s2.clone()).unwrap().settings, s2);
    // A secondary needs primaries, starts empty and is not served; API edits are refused.
    let sec = n("sec.example.org.");
    assert!(matches!(
        c.create_zone(&sec, ZoneKind::Secondary, ZoneSettings::default(), None),
        Err(ControlError::Invalid { .. })
    ));
    let ps = ZoneSettings {
        primaries: vec!["192.0.2.1:53".into()],
        ..Default::default()
    };
    let info = c.create_zone(&sec, ZoneKind::Secondary, ps, None).unwrap();
    assert_eq!((info.serial, info.record_count), (0, 0));
    assert!(matches!(
        c.apply(&sec, vec![], None),
        Err(ControlError::Conflict { .. })
    ));
    let names: Vec<String> = c
        .list_zones()
        .unwrap()
        .iter()
        .map(|z| z.name.to_string())
        .collect();
    assert_eq!(names, ["example.com.", "sec.example.org."]);
    // Reopening keeps settings, records and ids.
    let records = c.records(&apex(), None, None).unwrap();
    // Delete.
    c.delete_zone(&sec, None).unwrap();
    assert!(matches!(
        c.zone_info(&sec),
        Err(ControlError::NotFound { .. })
    ));
    assert!(matches!(
        c.delete_zone(&sec, None),
        Err(ControlError::NotFound { .. })
    ));
    assert_eq!(c.list_zones().unwrap().len(), 1);
    c.delete_zone(&apex(), None).unwrap();
    assert!(c.zones().load().get(&apex()).is_none());
    assert!(c.store().zone(&apex()).unwrap().is_none());
    assert!(!records.is_empty());
}

#[test]
fn reopen_keeps_state() {
    let dir = tempfile::tempdir().unwrap();
    let c = Control::open(Store::open(dir.path()).unwrap()).unwrap();
    let data = zonecast_zonefile::load_str(ZONE, &apex(), "t").unwrap();
    c.create_zone(
        &apex(),
        ZoneKind::Primary,
        policy(SerialPolicy::Increment),
        Some(data.records),
    )
    .unwrap();
    c.apply(
        &apex(),
        vec![replace("a", Rtype::A, 1, &["192.0.2.1"])],
        None,
    )
    .unwrap();
    let records = c.records(&apex(), None, None).unwrap();
    let info = c.zone_info(&apex()).unwrap();
    drop(c);
    let c = Control::open(Store::open(dir.path()).unwrap()).unwrap();
    assert_eq!(c.records(&apex(), None, None).unwrap(), records);
    let again = c.zone_info(&apex()).unwrap();
    assert_eq!(
        (again.serial, &again.settings),
        (info.serial, &info.settings)
    );
    assert_eq!(c.zones().load().get(&apex()).unwrap().serial(), 6);
}

#[test]
fn replace_zone_text_errors_change_nothing() {
    let c = setup(SerialPolicy::Increment);
    let before = observe(&c);
    let e = c
        .replace_zone_text(
            &apex(),
            &format!("{ZONE}www CNAME elsewhere.example.\n"),
            None,
        )
        .unwrap_err();
    assert!(matches!(e, ControlError::ZoneFile(_)), "{e}");
    assert!(e.to_string().contains("zonefile:7"), "{e}");
    assert_eq!(observe(&c), before);
    let a = c.replace_zone_text(&apex(), ZONE, None).unwrap();
    assert_eq!(
        (a.serial_from, a.serial_to),
        (5, 5),
        "same content: no change"
    );
}

/// Applies a journal (creation included) to an empty set.
fn replay(journal: &[JournalEntry]) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for e in journal {
        for r in &e.change.removed {
            let key = show(r);
            assert!(set.remove(&key), "journal removes absent {key}");
        }
        for r in &e.change.added {
            assert!(set.insert(show(r)), "journal adds present record");
        }
    }
    set
}

#[test]
fn concurrent_writers_lose_nothing() {
    const THREADS: usize = 8;
    const CHANGES: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let c = Arc::new(Control::open(Store::open(dir.path()).unwrap()).unwrap());
    let data = zonecast_zonefile::load_str(ZONE, &apex(), "t").unwrap();
    c.create_zone(
        &apex(),
        ZoneKind::Primary,
        policy(SerialPolicy::Increment),
        Some(data.records),
    )
    .unwrap();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..CHANGES {
                    // Shared RRsets (a lost update would drop a string) and a per-thread one.
                    // (Shared sets are kept small: `Zone::build` is quadratic in RRset size.)
                    let edits = vec![
                        Edit::AddRecord(rec(
                            &format!("s{}", i % 40),
                            Rtype::TXT,
                            300,
                            &format!("\"t{t}-{i}\""),
                        )),
                        replace(
                            &format!("t{t}"),
                            Rtype::A,
                            300,
                            &[&format!("10.0.{t}.{}", i % 250)],
                        ),
                    ];
                    let a = c.apply(&apex(), edits, None).unwrap();
                    assert_eq!(a.serial_to, a.serial_from + 1);
                    // Visible to DNS readers on return.
                    assert!(c.zones().load().get(&apex()).unwrap().serial() >= a.serial_to);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // The sequential result.
    let mut expected: BTreeSet<String> = set_of(&setup(SerialPolicy::Increment))
        .into_iter()
        .filter(|s| !s.contains(" SOA "))
        .collect();
    for t in 0..THREADS {
        for i in 0..CHANGES {
            expected.insert(format!("s{}.example.com. 300 TXT \"t{t}-{i}\"", i % 40));
        }
        expected.insert(format!(
            "t{t}.example.com. 300 A 10.0.{t}.{}",
            (CHANGES - 1) % 250
        ));
    }
    let total = (THREADS * CHANGES) as u32;
    let info = c.zone_info(&apex()).unwrap();
    assert_eq!(info.serial, 5 + total, "one bump per change");
    let got: BTreeSet<String> = set_of(&c)
        .into_iter()
        .filter(|s| !s.contains(" SOA "))
        .collect();
    assert_eq!(got, expected);
    let journal = c.store().journal(&apex()).unwrap();
    assert_eq!(journal.len(), 1 + THREADS * CHANGES);
    for w in journal.windows(2) {
        assert_eq!(w[1].change.serial_from, w[0].change.serial_to);
    }
    assert_eq!(replay(&journal), set_of(&c));
    assert_eq!(c.zones().load().get(&apex()).unwrap().serial(), 5 + total);
}

#[test]
fn single_rrset_change_rate() {
    let dir = tempfile::tempdir().unwrap();
    let c = Control::open(Store::open(dir.path()).unwrap()).unwrap();
    let data = zonecast_zonefile::load_str(ZONE, &apex(), "t").unwrap();
    c.create_zone(
        &apex(),
        ZoneKind::Primary,
        policy(SerialPolicy::Increment),
        Some(data.records),
    )
    .unwrap();
    let n_changes = 300;
    let start = std::time::Instant::now();
    for i in 0..n_changes {
        c.apply(
            &apex(),
            vec![replace(
                "www",
                Rtype::A,
                300,
                &[&format!("192.0.2.{}", i % 250)],
            )],
            None,
        )
        .unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "single-RRset changes on a small zone: {:.0}/s ({n_changes} in {secs:.3}s)",
        f64::from(n_changes) / secs
    );
    assert_eq!(c.zone_info(&apex()).unwrap().serial, 5 + n_changes);
}

/// Two control planes on one store (here two `Control`s on one SQLite
/// directory; the PostgreSQL cluster test does the same across processes):
/// writes planned on a stale version are caught up and planned again, so
/// nothing is lost and the serial rises once per change; `sync_zone` brings
/// the other node's reads and DNS answers up to date.
#[test]
fn two_control_planes_on_one_store_lose_nothing() {
    const CHANGES: usize = 150;
    let dir = tempfile::tempdir().unwrap();
    let a = Arc::new(Control::open(Store::open(dir.path()).unwrap()).unwrap());
    let data = zonecast_zonefile::load_str(ZONE, &apex(), "t").unwrap();
    a.create_zone(
        &apex(),
        ZoneKind::Primary,
        policy(SerialPolicy::Increment),
        Some(data.records),
    )
    .unwrap();
    // The second node learns of the zone when first asked for it.
    let b = Arc::new(Control::open(Store::open(dir.path()).unwrap()).unwrap());
    assert_eq!(b.zone_info(&apex()).unwrap().serial, 5);
    let writers: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .enumerate()
        .map(|(t, c)| {
            std::thread::spawn(move || {
                for i in 0..CHANGES {
                    let edits = vec![
                        Edit::AddRecord(rec("shared", Rtype::TXT, 300, &format!("\"n{t}-{i}\""))),
                        replace(
                            &format!("own{t}"),
                            Rtype::A,
                            300,
                            &[&format!("10.0.{t}.{}", i % 250)],
                        ),
                    ];
                    let applied = c.apply(&apex(), edits, None).unwrap();
                    assert_eq!(applied.serial_to, applied.serial_from + 1);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let total = 2 * CHANGES as u32;
    let journal = a.store().journal(&apex()).unwrap();
    assert_eq!(
        journal.len(),
        1 + 2 * CHANGES,
        "one journal entry per change"
    );
    for w in journal.windows(2) {
        assert_eq!(w[1].change.serial_from, w[0].change.serial_to);
        assert_eq!(w[1].change.serial_to, w[1].change.serial_from + 1);
    }
    for c in [&a, &b] {
        c.sync_zone(&apex()).unwrap();
        assert_eq!(c.zone_info(&apex()).unwrap().serial, 5 + total);
        assert_eq!(c.zones().load().get(&apex()).unwrap().serial(), 5 + total);
        let txt = c
            .rrsets(&apex(), Some(&n("shared")), Some(Rtype::TXT))
            .unwrap();
        assert_eq!(txt[0].rdatas.len(), 2 * CHANGES, "no lost update");
        let served: BTreeSet<String> = c
            .zones()
            .load()
            .get(&apex())
            .unwrap()
            .records()
            .iter()
            .map(show)
            .collect();
        assert_eq!(served, replay(&journal));
    }
    // Deletion and re-creation on one node reach the other by sync.
    a.delete_zone(&apex(), None).unwrap();
    b.sync_zone(&apex()).unwrap();
    assert!(b.zone_info(&apex()).is_err());
    assert!(b.zones().load().get(&apex()).is_none());
    let data = zonecast_zonefile::load_str(ZONE, &apex(), "t").unwrap();
    a.create_zone(
        &apex(),
        ZoneKind::Primary,
        ZoneSettings::default(),
        Some(data.records),
    )
    .unwrap();
    b.sync_all().unwrap();
    assert_eq!(b.zones().load().get(&apex()).unwrap().serial(), 5);
}

/// Group commit (module `combine`): a batch of three lists where the middle
/// one names a stale `if_serial` commits the other two in one transaction,
/// each with its own serial and journal entry, and refuses the middle one alone.
#[test]
fn a_batch_commits_each_list_with_its_own_serial() {
    let c = setup(SerialPolicy::Increment);
    let before = c.zone_info(&apex()).unwrap().serial;
    let cell = c.handle(&apex()).unwrap();
    let slots = [
        combine::Slot::new(
            vec![replace("b1", Rtype::A, 60, &["192.0.2.11"])],
            Some(before),
            0,
        ),
        combine::Slot::new(
            vec![replace("b2", Rtype::A, 60, &["192.0.2.12"])],
            Some(before),
            0,
        ),
        combine::Slot::new(vec![replace("b1", Rtype::A, 60, &["192.0.2.13"])], None, 0),
    ];
    c.handle_batch(&mut cell.lock(), &slots);
    let answers: Vec<_> = slots.iter().map(|s| s.take().unwrap()).collect();
    let first = answers[0].as_ref().unwrap();
    assert_eq!((first.serial_from, first.serial_to), (before, before + 1));
    assert!(
        matches!(&answers[1], Err(ControlError::SerialMismatch { current, expected, .. }) if *current == before + 1 && *expected == before),
        "{:?}",
        answers[1]
    );
    let third = answers[2].as_ref().unwrap();
    assert_eq!(
        (third.serial_from, third.serial_to),
        (before + 1, before + 2)
    );
    assert!(third.seq > first.seq);
    let journal = c.store().journal(&apex()).unwrap();
    let tail: Vec<(u32, u32)> = journal
        .iter()
        .rev()
        .take(2)
        .map(|e| (e.change.serial_from, e.change.serial_to))
        .collect();
    assert_eq!(tail, vec![(before + 1, before + 2), (before, before + 1)]);
    let z = c.zones().load().get(&apex()).unwrap();
    assert_eq!(z.serial(), before + 2, "published on return");
    assert_eq!(
        c.rrsets(&apex(), Some(&n("b1")), Some(Rtype::A)).unwrap()[0].rdatas,
        vec![rd(Rtype::A, "192.0.2.13").into_boxed_slice()]
    );
    assert!(c
        .rrsets(&apex(), Some(&n("b2")), Some(Rtype::A))
        .unwrap()
        .is_empty());
}

/// A batch planned on a version the store has moved past (another control
/// plane wrote the zone) applies nothing and answers every list `Stale`, so
/// each caller catches up and queues again.
#[test]
fn a_batch_on_a_stale_version_applies_nothing() {
    let c = setup(SerialPolicy::Increment);
    let serial = c.zone_info(&apex()).unwrap().serial;
    let soa = c.rrsets(&apex(), Some(&apex()), Some(Rtype::SOA)).unwrap();
    let old_soa = Record {
        owner: apex(),
        rtype: Rtype::SOA,
        class: Class::IN,
        ttl: soa[0].ttl,
        rdata: soa[0].rdatas[0].clone(),
    };
    let new_soa = with_serial(&apex(), vec![old_soa.clone()], serial + 1);
    c.store()
        .commit_change(
            &apex(),
            &Change {
                serial_from: serial,
                serial_to: serial + 1,
                removed: vec![old_soa],
                added: new_soa,
            },
        )
        .unwrap();
    let cell = c.handle(&apex()).unwrap();
    let slots = [
        combine::Slot::new(vec![replace("s1", Rtype::A, 60, &["192.0.2.1"])], None, 0),
        combine::Slot::new(vec![replace("s2", Rtype::A, 60, &["192.0.2.2"])], None, 0),
    ];
    c.handle_batch(&mut cell.lock(), &slots);
    for s in &slots {
        assert!(matches!(s.take(), Some(Err(ControlError::Stale { .. }))));
    }
    assert_eq!(c.store().zone(&apex()).unwrap().unwrap().serial, serial + 1);
    assert_eq!(
        c.store().journal(&apex()).unwrap().len(),
        2,
        "creation + the other writer's change"
    );
    // Through `apply`, the same write catches up and lands on top.
    let a = c
        .apply(
            &apex(),
            vec![replace("s1", Rtype::A, 60, &["192.0.2.1"])],
            None,
        )
        .unwrap();
    assert_eq!((a.serial_from, a.serial_to), (serial + 1, serial + 2));
}

/// A secondary zone (no data) on an in-memory store.
fn secondary() -> Control {
    let control = Control::open(Store::open_in_memory().unwrap()).unwrap();
    let settings = ZoneSettings {
        primaries: vec!["192.0.2.53".into()],
        ..Default::default()
    };
    control
        .create_zone(&apex(), ZoneKind::Secondary, settings, None)
        .unwrap();
    control
}

fn soa_rec(serial: u32) -> Record {
    rec(
        "@",
        Rtype::SOA,
        300,
        &format!("ns1 host {serial} 3600 900 604800 60"),
    )
}

fn full(serial: u32, extra: &[Record]) -> Transferred {
    let mut r = vec![
        soa_rec(serial),
        rec("@", Rtype::NS, 300, "ns1"),
        rec("ns1", Rtype::A, 300, "192.0.2.1"),
    ];
    r.extend_from_slice(extra);
    Transferred::Full(r)
}

fn delta(from: u32, to: u32, removed: &[Record], added: &[Record]) -> Change {
    let mut r = vec![soa_rec(from)];
    r.extend_from_slice(removed);
    let mut a = vec![soa_rec(to)];
    a.extend_from_slice(added);
    Change {
        serial_from: from,
        serial_to: to,
        removed: r,
        added: a,
    }
}

#[test]
fn transfers_apply_as_changes_keeping_the_primarys_serial() {
    let c = secondary();
    assert!(
        c.zones().load().get(&apex()).is_none(),
        "not served before data"
    );
    let www = rec("www", Rtype::A, 300, "192.0.2.2");
    // The first AXFR: created, served, journaled with the primary's serial.
    let a = c
        .apply_transfer(&apex(), full(2_000_000_000, std::slice::from_ref(&www)))
        .unwrap();
    assert_eq!((a.serial_from, a.serial_to), (0, 2_000_000_000));
    assert_eq!(
        c.zones().load().get(&apex()).unwrap().serial(),
        2_000_000_000
    );
    // An IXFR of two changes: two journal entries, one new version, serials as sent.
    let mail = rec("mail", Rtype::A, 300, "192.0.2.25");
    let ixfr = Transferred::Incremental(vec![
        delta(
            2_000_000_000,
            2_000_000_005,
            std::slice::from_ref(&www),
            std::slice::from_ref(&mail),
        ),
        delta(2_000_000_005, 7, &[], std::slice::from_ref(&www)),
    ]);
    let a = c.apply_transfer(&apex(), ixfr).unwrap();
    assert_eq!(
        (a.serial_from, a.serial_to),
        (2_000_000_000, 7),
        "wraps as RFC 1982 allows"
    );
    assert!(has(&c, "mail", Rtype::A, "192.0.2.25") && has(&c, "www", Rtype::A, "192.0.2.2"));
    let journal = c.store().journal(&apex()).unwrap();
    let serials: Vec<(u32, u32)> = journal
        .iter()
        .map(|e| (e.change.serial_from, e.change.serial_to))
        .collect();
    assert_eq!(
        serials[serials.len() - 2..],
        [(2_000_000_000, 2_000_000_005), (2_000_000_005, 7)]
    );
    // The journal replays to the zone: IXFR out serves the same sequence.
    assert_eq!(replay(&journal), set_of(&c));
    // A later AXFR is journaled as the difference.
    let a = c
        .apply_transfer(&apex(), full(8, std::slice::from_ref(&mail)))
        .unwrap();
    assert_eq!((a.serial_from, a.serial_to), (7, 8));
    assert!(!has(&c, "www", Rtype::A, "192.0.2.2"));
    assert_eq!(replay(&c.store().journal(&apex()).unwrap()), set_of(&c));
    // The same AXFR again changes nothing.
    let a = c.apply_transfer(&apex(), full(8, &[mail])).unwrap();
    assert_eq!(a.serial_from, a.serial_to);
}

#[test]
fn a_broken_transfer_leaves_the_zone_exactly_as_it_was() {
    let c = secondary();
    let www = rec("www", Rtype::A, 300, "192.0.2.2");
    c.apply_transfer(&apex(), full(1, std::slice::from_ref(&www)))
        .unwrap();
    let before = observe(&c);
    let ghost = rec("ghost", Rtype::A, 300, "192.0.2.9");
    let new = rec("new", Rtype::A, 300, "192.0.2.10");
    let cases: Vec<(&str, Transferred)> = vec![
        (
            "deletes a record that does not exist",
            Transferred::Incremental(vec![delta(1, 2, &[ghost], &[])]),
        ),
        (
            "starts at another serial",
            Transferred::Incremental(vec![delta(3, 4, &[], std::slice::from_ref(&new))]),
        ),
        (
            "a good change, then a bad one: nothing of either",
            Transferred::Incremental(vec![
                delta(1, 2, &[], std::slice::from_ref(&new)),
                delta(2, 3, &[rec("nope", Rtype::A, 300, "192.0.2.1")], &[]),
            ]),
        ),
        (
            "adds a record that exists",
            Transferred::Incremental(vec![delta(1, 2, &[], std::slice::from_ref(&www))]),
        ),
        (
            "CNAME beside other data",
            Transferred::Incremental(vec![delta(
                1,
                2,
                &[],
                &[rec("www", Rtype::CNAME, 300, "ns1")],
            )]),
        ),
        (
            "no SOA swap",
            Transferred::Incremental(vec![Change {
                serial_from: 1,
                serial_to: 2,
                removed: vec![],
                added: vec![new.clone()],
            }]),
        ),
        (
            "outside the zone",
            full(
                2,
                &[Record {
                    owner: "x.example.net.".parse().unwrap(),
                    ..new.clone()
                }],
            ),
        ),
        ("no NS", Transferred::Full(vec![soa_rec(2), new.clone()])),
        (
            // Found by the ixfr_apply fuzz target: the new SOA skipped the TTL rule.
            "a new SOA with a TTL above 2^31-1",
            Transferred::Incremental(vec![{
                let mut d = delta(1, 2, &[], &[]);
                d.added[0].ttl = 0x8000_0000;
                d
            }]),
        ),
    ];
    for (what, t) in cases {
        let e = c.apply_transfer(&apex(), t);
        assert!(e.is_err(), "{what}: applied {e:?}");
        assert_eq!(observe(&c), before, "{what}: the zone changed");
    }
}

#[test]
fn expiry_serves_servfail_and_a_transfer_ends_it() {
    let c = secondary();
    c.apply_transfer(&apex(), full(1, &[])).unwrap();
    c.set_expired(&apex(), true).unwrap();
    let z = c.zones().load().get(&apex()).unwrap();
    assert!(z.is_expired());
    assert_eq!(z.serial(), 1, "the data is kept");
    // Nothing changed upstream: the same AXFR ends the expiry.
    c.apply_transfer(&apex(), full(1, &[])).unwrap();
    assert!(!c.zones().load().get(&apex()).unwrap().is_expired());
    c.set_expired(&apex(), true).unwrap();
    c.apply_transfer(
        &apex(),
        Transferred::Incremental(vec![delta(
            1,
            2,
            &[],
            &[rec("n", Rtype::A, 300, "192.0.2.3")],
        )]),
    )
    .unwrap();
    assert!(!c.zones().load().get(&apex()).unwrap().is_expired());
    c.set_expired(&apex(), true).unwrap();
    c.set_expired(&apex(), false).unwrap();
    assert!(!c.zones().load().get(&apex()).unwrap().is_expired());
    // A primary zone takes no transfer and cannot expire.
    let p = setup(SerialPolicy::Increment);
    assert!(matches!(
        p.apply_transfer(&apex(), full(9, &[])),
        Err(ControlError::Conflict { .. })
    ));
    assert!(matches!(
        p.set_expired(&apex(), true),
        Err(ControlError::Conflict { .. })
    ));
}

/// Small limits: 3 records per RRset, 8 per zone, 2 zones.
fn small_limits() -> Limits {
    Limits {
        max_zone_records: 8,
        max_rrset_records: 3,
        max_zones: 2,
    }
}

/// `setup` with small limits: ZONE holds 4 records.
fn limited() -> Control {
    let control =
        Control::open_with_limits(Store::open_in_memory().unwrap(), small_limits()).unwrap();
    let data = zonecast_zonefile::load_str(ZONE, &apex(), "t").unwrap();
    control
        .create_zone_at(
            &apex(),
            ZoneKind::Primary,
            policy(SerialPolicy::Increment),
            Some(data.records),
            NOW,
        )
        .unwrap();
    control
}

fn too_large(e: &ControlError) -> (&str, &str) {
    match e {
        ControlError::TooLarge { field, message } => (field, message),
        other => panic!("not a limit refusal: {other:?}"),
    }
}

fn refusals_of(l: Limit) -> u64 {
    zonecast_zone::limits::refusals()
        .iter()
        .find(|(x, _)| *x == l)
        .unwrap()
        .1
}

#[test]
fn api_edits_over_the_rrset_and_zone_limits_change_nothing() {
    let c = limited();
    let before = observe(&c);
    let counted = refusals_of(Limit::RrsetRecords);
    let e = c
        .apply(
            &apex(),
            vec![replace(
                "www",
                Rtype::A,
                60,
                &["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"],
            )],
            None,
        )
        .unwrap_err();
    let (field, message) = too_large(&e);
    assert_eq!(field, "edits[0].records");
    assert!(
        message.contains(
            "www.example.com. A would hold 4 records; the limit is 3 (--max-rrset-records)"
        ),
        "{message}"
    );
    assert!(refusals_of(Limit::RrsetRecords) > counted);
    assert_eq!(observe(&c), before);
    // Exactly the limit passes; one more record by AddRecord does not.
    c.apply(
        &apex(),
        vec![replace(
            "www",
            Rtype::A,
            60,
            &["192.0.2.1", "192.0.2.2", "192.0.2.3"],
        )],
        None,
    )
    .unwrap();
    let before = observe(&c);
    let e = c
        .apply(
            &apex(),
            vec![Edit::AddRecord(rec("www", Rtype::A, 60, "192.0.2.9"))],
            None,
        )
        .unwrap_err();
    assert_eq!(too_large(&e).0, "edits[0]");
    assert_eq!(observe(&c), before);
    // The zone: 6 records now, 8 allowed; three new names make 9.
    let counted = refusals_of(Limit::ZoneRecords);
    let e = c
        .apply(
            &apex(),
            vec![
                replace("a", Rtype::A, 60, &["192.0.2.1"]),
                replace("b", Rtype::A, 60, &["192.0.2.1"]),
                replace("c", Rtype::A, 60, &["192.0.2.1"]),
            ],
            None,
        )
        .unwrap_err();
    let (field, message) = too_large(&e);
    assert_eq!(field, "records");
    assert!(
        message.contains(
            "zone example.com. would hold 9 records; the limit is 8 (--max-zone-records)"
        ),
        "{message}"
    );
    assert!(refusals_of(Limit::ZoneRecords) > counted);
    assert_eq!(observe(&c), before);
    // A change that keeps the zone's size passes.
    c.apply(
        &apex(),
        vec![
            replace("www", Rtype::A, 60, &["192.0.2.1", "192.0.2.2"]),
            replace("a", Rtype::A, 60, &["192.0.2.1"]),
        ],
        None,
    )
    .unwrap();
}

const BIG_RRSET: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 5 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.1\nwww A 192.0.2.2\nwww A 192.0.2.2\nwww A 192.0.2.3\nmail A 192.0.2.9\nwww A 192.0.2.4\n";

#[test]
fn zone_files_over_a_limit_are_refused_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let c = Control::open_with_limits(Store::open(dir.path()).unwrap(), small_limits()).unwrap();
    let f = write(dir.path(), "example.com.zone", ZONE);
    c.load_zone_file(&f).unwrap();
    let before = observe(&c);
    // The fourth distinct www A (the duplicate on line 8 does not count) is on line 11.
    write(dir.path(), "example.com.zone", BIG_RRSET);
    let e = c.load_zone_file(&f).unwrap_err();
    let (field, message) = too_large(&e);
    assert_eq!(field, "zonefile");
    let at = format!(
        "{}:11: RRset www.example.com. A would hold 4 records",
        f.display()
    );
    assert!(message.starts_with(&at), "{message}");
    assert_eq!(observe(&c), before);
    // The same text through the API (PUT zonefile) names the line in "zonefile".
    let e = c.replace_zone_text(&apex(), BIG_RRSET, None).unwrap_err();
    let (field, message) = too_large(&e);
    assert_eq!(field, "zonefile");
    assert!(message.starts_with("zonefile:11: "), "{message}");
    assert_eq!(observe(&c), before);
    // Too many records: the ninth is on line 12.
    let many = format!(
        "{ZONE}a A 192.0.2.1\nb A 192.0.2.1\nc A 192.0.2.1\nd A 192.0.2.1\ne A 192.0.2.1\n"
    );
    write(dir.path(), "example.com.zone", &many);
    let e = c.load_zone_file(&f).unwrap_err();
    let message = too_large(&e).1;
    assert!(
        message.starts_with(&format!(
            "{}:11: zone example.com. would hold 9 records; the limit is 8",
            f.display()
        )),
        "{message}"
    );
    assert_eq!(observe(&c), before);
    // A new zone from a file over the limit is not created.
    let g = write(
        dir.path(),
        "other.test.zone",
        &BIG_RRSET.replace("example.com.", "other.test."),
    );
    assert!(matches!(
        c.load_zone_file(&g),
        Err(ControlError::TooLarge { .. })
    ));
    assert!(c.zone_info(&n("other.test.")).is_err());
}

#[test]
fn zones_past_the_limit_are_not_created() {
    let c = limited();
    let counted = refusals_of(Limit::Zones);
    c.create_zone(
        &n("two.test."),
        ZoneKind::Primary,
        ZoneSettings::default(),
        None,
    )
    .unwrap();
    let e = c
        .create_zone(
            &n("three.test."),
            ZoneKind::Primary,
            ZoneSettings::default(),
            None,
        )
        .unwrap_err();
    let (field, message) = too_large(&e);
    assert_eq!(field, "name");
    assert!(
        message.contains("the limit is 2 zones per node (--max-zones)"),
        "{message}"
    );
    assert!(refusals_of(Limit::Zones) > counted);
    assert!(c.zone_info(&n("three.test.")).is_err());
    assert_eq!(c.list_zones().unwrap().len(), 2);
    // A zone file for a new zone is refused the same way; after a delete there is room.
    let records = zonecast_zonefile::load_str(
        &ZONE.replace("example.com.", "four.test."),
        &n("four.test."),
        "t",
    )
    .unwrap()
    .records;
    assert!(matches!(
        c.replace_zone(&n("four.test."), records.clone()),
        Err(ControlError::TooLarge { .. })
    ));
    c.delete_zone(&n("two.test."), None).unwrap();
    c.replace_zone(&n("four.test."), records).unwrap();
}

#[test]
fn api_create_with_records_over_a_limit_is_refused() {
    let c = Control::open_with_limits(Store::open_in_memory().unwrap(), small_limits()).unwrap();
    let data = zonecast_zonefile::load_str(BIG_RRSET, &apex(), "t").unwrap();
    let e = c
        .create_zone(
            &apex(),
            ZoneKind::Primary,
            ZoneSettings::default(),
            Some(data.records),
        )
        .unwrap_err();
    assert_eq!(too_large(&e).0, "records");
    assert!(c.zone_info(&apex()).is_err());
    // Through zone_file_records (what the API's create does first), the line is named.
    let data = zonecast_zonefile::load_str(BIG_RRSET, &apex(), "zonefile").unwrap();
    let e = c.zone_file_records(data, "zonefile", "api").unwrap_err();
    assert!(too_large(&e).1.starts_with("zonefile:11: "), "{e}");
}

#[test]
fn a_lowered_limit_keeps_data_and_lets_it_shrink_not_grow() {
    let dir = tempfile::tempdir().unwrap();
    let c = Control::open(Store::open(dir.path()).unwrap()).unwrap();
    let data = zonecast_zonefile::load_str(ZONE, &apex(), "t").unwrap();
    c.create_zone(
        &apex(),
        ZoneKind::Primary,
        ZoneSettings::default(),
        Some(data.records),
    )
    .unwrap();
    let five = [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.3",
        "192.0.2.4",
        "192.0.2.5",
    ];
    c.apply(&apex(), vec![replace("www", Rtype::A, 60, &five)], None)
        .unwrap();
    drop(c);
    let lowered = Limits {
        max_zone_records: 100,
        ..small_limits()
    };
    let c = Control::open_with_limits(Store::open(dir.path()).unwrap(), lowered).unwrap();
    let served = c.zones().load().get(&apex()).unwrap();
    assert_eq!(
        served
            .node_named(&n("www"))
            .unwrap()
            .rrset(Rtype::A)
            .unwrap()
            .len(),
        5
    );
    // Growing the over-limit RRset is refused; other names and shrinking are not.
    assert!(matches!(
        c.apply(
            &apex(),
            vec![Edit::AddRecord(rec("www", Rtype::A, 60, "192.0.2.6"))],
            None
        ),
        Err(ControlError::TooLarge { .. })
    ));
    c.apply(
        &apex(),
        vec![replace("mail", Rtype::A, 60, &["192.0.2.7"])],
        None,
    )
    .unwrap();
    c.apply(
        &apex(),
        vec![replace("www", Rtype::A, 60, &five[..4])],
        None,
    )
    .unwrap();
}

#[test]
fn transfers_over_a_limit_leave_the_zone_as_it_was() {
    let c = Control::open_with_limits(Store::open_in_memory().unwrap(), small_limits()).unwrap();
    let settings = ZoneSettings {
        primaries: vec!["192.0.2.53".into()],
        ..Default::default()
    };
    c.create_zone(&apex(), ZoneKind::Secondary, settings, None)
        .unwrap();
    let www = |last: u8| rec("www", Rtype::A, 300, &format!("192.0.2.{last}"));
    c.apply_transfer(&apex(), full(1, &[www(1), www(2), www(3)]))
        .unwrap();
    let before = observe(&c);
    let counted = refusals_of(Limit::RrsetRecords);
    // AXFR with a fourth www A.
    let e = c
        .apply_transfer(&apex(), full(2, &[www(1), www(2), www(3), www(4)]))
        .unwrap_err();
    assert!(
        too_large(&e)
            .1
            .contains("RRset www.example.com. A would hold 4 records"),
        "{e}"
    );
    assert!(refusals_of(Limit::RrsetRecords) > counted);
    assert_eq!(observe(&c), before);
    // AXFR over the zone limit (9 records).
    let names: Vec<Record> = ["a", "b", "c"]
        .iter()
        .map(|o| rec(o, Rtype::A, 300, "192.0.2.1"))
        .collect();
    let mut big = vec![www(1), www(2), www(3)];
    big.extend(names.clone());
    let e = c.apply_transfer(&apex(), full(2, &big)).unwrap_err();
    assert!(
        too_large(&e)
            .1
            .contains("would hold 9 records; the limit is 8"),
        "{e}"
    );
    assert_eq!(observe(&c), before);
    // IXFR growing the RRset, and one growing the zone.
    let e = c
        .apply_transfer(
            &apex(),
            Transferred::Incremental(vec![delta(1, 2, &[], &[www(4)])]),
        )
        .unwrap_err();
    let (field, message) = too_large(&e);
    assert_eq!(field, "ixfr[0]");
    assert!(
        message.contains("change 1 → 2: RRset www.example.com. A would hold 4"),
        "{message}"
    );
    let e = c
        .apply_transfer(
            &apex(),
            Transferred::Incremental(vec![delta(1, 2, &[], &names)]),
        )
        .unwrap_err();
    assert!(too_large(&e).1.contains("would hold 9 records"), "{e}");
    assert_eq!(observe(&c), before);
    // Within the limits it applies.
    c.apply_transfer(
        &apex(),
        Transferred::Incremental(vec![delta(1, 2, &[www(3)], &[names[0].clone()])]),
    )
    .unwrap();
}
