//! Tests of the schema-2 additions: record ids, settings, TSIG keys, API keys, migration 1→2.

use super::*;

fn tsig(name: &str) -> TsigKeyRow {
    TsigKeyRow {
        name: name.into(),
        algorithm: "hmac-sha256".into(),
        secret: vec![1, 2, 3, 0, 255],
        created_at: 1_700_000_000,
    }
}

fn api(name: &str, hash: u8) -> ApiKeyRow {
    ApiKeyRow {
        name: name.into(),
        token_hash: vec![hash; 32],
        scopes: vec!["records:write".into(), "zones:read".into()],
        zones: Some(vec!["example.com.".into()]),
        created_at: 1_700_000_001,
        last_used_at: None,
    }
}

fn with_example() -> Store {
    let store = Store::open_in_memory().unwrap();
    store
        .create_zone(&name("example.com."), ZoneKind::Primary, &example(1))
        .unwrap();
    store
}

#[test]
fn record_ids_follow_commits() {
    let store = with_example();
    let z = name("example.com.");
    let before = store.zone_records_with_ids(&z).unwrap();
    assert_eq!(
        before.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
        example(1)
    );
    let ids: Vec<i64> = before.iter().map(|(id, _)| *id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    let change = bump(
        1,
        2,
        vec![a("Www.Example.COM.", 2)],
        vec![a("new.example.com.", 9), a("www.example.com.", 3)],
    );
    let (entry, added) = store.commit_change_with_ids(&z, &change).unwrap();
    assert_eq!(entry.change, change);
    assert_eq!(added.len(), change.added.len());
    assert!(
        added.iter().all(|id| !ids.contains(id)),
        "ids are never reused"
    );

    let after = store.zone_records_with_ids(&z).unwrap();
    for (id, record) in added.iter().zip(&change.added) {
        let found = after.iter().find(|(i, _)| i == id).map(|(_, r)| r);
        assert_eq!(found, Some(record), "id {id}");
    }
    // Records untouched by the change keep their ids.
    let ns_id = before
        .iter()
        .find(|(_, r)| r.rtype == Rtype::NS)
        .map(|(id, _)| *id);
    assert_eq!(
        after
            .iter()
            .find(|(_, r)| r.rtype == Rtype::NS)
            .map(|(id, _)| *id),
        ns_id
    );
    assert_eq!(
        after.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
        store.zone_records(&z).unwrap()
    );
    assert!(!after
        .iter()
        .any(|(_, r)| r.owner == name("www.example.com.") && r.rdata[..] == [192, 0, 2, 2]));
}

#[test]
fn refused_commit_with_ids_changes_nothing() {
    let store = with_example();
    let z = name("example.com.");
    let before = store.zone_records_with_ids(&z).unwrap();
    let (_, _, journal) = state(&store);
    let change = bump(1, 2, vec![], vec![a("ns1.example.com.", 1)]);
    let err = store.commit_change_with_ids(&z, &change).unwrap_err();
    assert!(matches!(err, StoreError::DuplicateRecord { .. }), "{err:?}");
    assert_eq!(store.zone_records_with_ids(&z).unwrap(), before);
    assert_eq!(store.journal(&z).unwrap(), journal);
    let err = store
        .zone_records_with_ids(&name("other.example."))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

#[test]
fn settings_update() {
    let store = with_example();
    let z = name("Example.COM.");
    let row = store.zone(&z).unwrap().unwrap();
    assert_eq!(row.settings, "{}");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let json = r#"{"serial_policy":"increment","notify":["192.0.2.2:53"]}"#;
    store.set_zone_settings(&z, json).unwrap();
    let after = store.zone(&z).unwrap().unwrap();
    assert_eq!(after.settings, json);
    assert!(after.updated_at > row.updated_at);
    assert_eq!(
        (after.serial, after.created_at),
        (row.serial, row.created_at)
    );
    assert_eq!(
        store.journal(&z).unwrap().len(),
        1,
        "settings are not journaled"
    );

    for bad in ["[1,2]", "not json", "\"text\"", ""] {
        let err = store.set_zone_settings(&z, bad).unwrap_err();
        assert!(
            matches!(&err, StoreError::InvalidSettings { zone, .. } if *zone == name("example.com.")),
            "{bad}: {err:?}"
        );
    }
    assert_eq!(store.zone(&z).unwrap().unwrap().settings, json);
    let err = store
        .set_zone_settings(&name("missing.example."), "{}")
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { zone } if *zone == name("missing.example.")),
        "{err:?}"
    );
}

#[test]
fn tsig_keys_round_trip_and_unique_names() {
    let store = Store::open_in_memory().unwrap();
    assert!(store.tsig_keys().unwrap().is_empty());
    assert_eq!(store.tsig_key("transfer-key").unwrap(), None);
    store.create_tsig_key(&tsig("transfer-key")).unwrap();
    store.create_tsig_key(&tsig("a-key")).unwrap();
    assert_eq!(
        store.tsig_key("transfer-key").unwrap(),
        Some(tsig("transfer-key"))
    );
    assert_eq!(
        store.tsig_key("Transfer-KEY").unwrap(),
        Some(tsig("transfer-key"))
    );
    assert_eq!(
        store.tsig_keys().unwrap(),
        vec![tsig("a-key"), tsig("transfer-key")]
    );

    let mut other = tsig("TRANSFER-key");
    other.secret = vec![9; 32];
    let err = store.create_tsig_key(&other).unwrap_err();
    assert!(
        matches!(&err, StoreError::KeyExists { name } if name == "TRANSFER-key"),
        "{err:?}"
    );
    assert_eq!(
        store.tsig_key("transfer-key").unwrap().unwrap().secret,
        tsig("x").secret
    );

    assert!(store.delete_tsig_key("a-key").unwrap());
    assert!(!store.delete_tsig_key("a-key").unwrap());
    assert_eq!(store.tsig_keys().unwrap(), vec![tsig("transfer-key")]);
}

#[test]
fn tsig_key_in_use_is_not_deleted() {
    let store = Store::open_in_memory().unwrap();
    for zone in ["b.example.", "a.example.", "c.example.", "d.example."] {
        store
            .create_zone(&name(zone), ZoneKind::Secondary, &[])
            .unwrap();
    }
    store.create_tsig_key(&tsig("transfer-key")).unwrap();
    store.create_tsig_key(&tsig("other")).unwrap();
    store
        .set_zone_settings(
            &name("b.example."),
            r#"{"primaries":["192.0.2.1:53"],"tsig_key":"transfer-key"}"#,
        )
        .unwrap();
    store
        .set_zone_settings(
            &name("a.example."),
            r#"{"allow_transfer":["192.0.2.0/24","key:Transfer-Key."]}"#,
        )
        .unwrap();
    // Mentions that are not the key: another key, a prefix, a non-string.
    store
        .set_zone_settings(
            &name("c.example."),
            r#"{"tsig_key":"other","allow_transfer":["key:transfer-key2",7,{"x":1}],"notify":["key:transfer-key"]}"#,
        )
        .unwrap();
    store
        .set_zone_settings(&name("d.example."), r#"{"allow_transfer":"key:other"}"#)
        .unwrap();

    let err = store.delete_tsig_key("transfer-key").unwrap_err();
    match &err {
        StoreError::KeyInUse { name, zones } => {
            assert_eq!(name, "transfer-key");
            assert_eq!(zones, &["a.example.", "b.example."]);
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("transfer-key") && text.contains("a.example.") && text.contains("b.example."),
        "{text}"
    );
    assert!(store.tsig_key("transfer-key").unwrap().is_some());

    let err = store.delete_tsig_key("other").unwrap_err();
    assert!(
        matches!(&err, StoreError::KeyInUse { zones, .. } if zones == &["c.example."]),
        "{err:?}"
    );

    // Once no zone refers to it any more, the key goes.
    store.set_zone_settings(&name("a.example."), "{}").unwrap();
    assert!(store.delete_zone(&name("b.example.")).unwrap());
    assert!(store.delete_tsig_key("transfer-key").unwrap());
    assert_eq!(store.tsig_key("transfer-key").unwrap(), None);
}

#[test]
fn api_keys_round_trip_and_uniqueness() {
    let store = Store::open_in_memory().unwrap();
    let admin = ApiKeyRow {
        name: "admin".into(),
        token_hash: vec![7; 32],
        scopes: vec!["admin".into()],
        zones: None,
        created_at: 5,
        last_used_at: None,
    };
    store.create_api_key(&admin).unwrap();
    store.create_api_key(&api("ci", 1)).unwrap();
    assert_eq!(store.api_keys().unwrap(), vec![admin.clone(), api("ci", 1)]);
    assert_eq!(store.api_key_by_hash(&[1; 32]).unwrap(), Some(api("ci", 1)));
    assert_eq!(
        store.api_key_by_hash(&[7; 32]).unwrap(),
        Some(admin.clone())
    );
    assert_eq!(store.api_key_by_hash(&[2; 32]).unwrap(), None);

    let err = store.create_api_key(&api("CI", 3)).unwrap_err();
    assert!(
        matches!(&err, StoreError::KeyExists { name } if name == "CI"),
        "{err:?}"
    );
    let err = store.create_api_key(&api("deploy", 1)).unwrap_err();
    assert!(
        matches!(&err, StoreError::DuplicateToken { name } if name == "deploy"),
        "{err:?}"
    );
    assert_eq!(store.api_keys().unwrap().len(), 2);

    store.touch_api_key("ci", 1_700_000_100).unwrap();
    assert_eq!(
        store
            .api_key_by_hash(&[1; 32])
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(1_700_000_100)
    );
    store.touch_api_key("nobody", 1).unwrap();

    assert!(store.delete_api_key("ci").unwrap());
    assert!(!store.delete_api_key("ci").unwrap());
    assert_eq!(store.api_key_by_hash(&[1; 32]).unwrap(), None);
    // The name and token are free again.
    store.create_api_key(&api("ci", 1)).unwrap();
    assert_eq!(store.api_keys().unwrap().len(), 2);
}

#[test]
fn corrupt_api_key_json_is_an_error() {
    let store = Store::open_in_memory().unwrap();
    store.create_api_key(&api("ci", 1)).unwrap();
    store
        .raw()
        .execute("UPDATE api_keys SET scopes = '[1, 2]'", [])
        .unwrap();
    let err = store.api_keys().unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(text) if text.contains("'ci'") && text.contains("scopes")),
        "{err:?}"
    );
    assert!(store.api_key_by_hash(&[1; 32]).is_err());
}

#[test]
fn migrates_v1_database_to_v2() {
    let dir = tempfile::tempdir().unwrap();
    let z = name("example.com.");
    {
        // A database as a build knowing only migration 1 left it.
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 0);",
        )
        .unwrap();
        conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
        conn.execute(
            "INSERT INTO zones (name, kind, serial, settings, created_at, updated_at)
             VALUES ('example.com.', 'primary', 42, '{\"tsig_key\":\"k\"}', 1, 2)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO records (zone_id, owner, owner_key, rtype, class, ttl, rdata)
             VALUES (1, ?1, ?1, 1, 1, 300, x'c0000201')",
            [name("example.com.").as_wire()],
        )
        .unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), 2);
    let row = store.zone(&z).unwrap().unwrap();
    assert_eq!((row.serial, row.updated_at), (42, 2));
    assert_eq!(
        store.zone_records(&z).unwrap(),
        vec![rec("example.com.", Rtype::A, 300, &[192, 0, 2, 1])]
    );
    store.create_tsig_key(&tsig("k")).unwrap();
    let err = store.delete_tsig_key("k").unwrap_err();
    assert!(matches!(err, StoreError::KeyInUse { .. }), "{err:?}");
    store.create_api_key(&api("ci", 1)).unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), 2);
    assert_eq!(store.api_keys().unwrap(), vec![api("ci", 1)]);
    let applied: Vec<i64> = store
        .raw()
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(applied, [1, 2]);
}

#[test]
fn zone_created_with_settings_in_one_transaction() {
    let store = Store::open_in_memory().unwrap();
    let zone: Name = "example.org.".parse().unwrap();
    let soa = Record {
        owner: zone.clone(),
        rtype: Rtype::SOA,
        class: Class::IN,
        ttl: 300,
        rdata: [
            &b"\x03ns1\x07example\x03org\x00\x04host\x07example\x03org\x00"[..],
            &[
                0, 0, 0, 7, 0, 0, 14, 16, 0, 0, 3, 132, 0, 9, 58, 128, 0, 0, 0, 60,
            ][..],
        ]
        .concat()
        .into(),
    };
    // Settings that are not a JSON object: nothing is stored at all.
    let e = store
        .create_zone_with_settings(&zone, ZoneKind::Primary, "[1]", std::slice::from_ref(&soa))
        .unwrap_err();
    assert!(matches!(e, StoreError::InvalidSettings { .. }), "{e}");
    assert!(store.zone(&zone).unwrap().is_none());
    assert!(store.zones().unwrap().is_empty());
    // Valid settings are there as soon as the zone is.
    let row = store
        .create_zone_with_settings(
            &zone,
            ZoneKind::Primary,
            r#"{"serial_policy":"increment"}"#,
            &[soa],
        )
        .unwrap();
    assert_eq!(row.serial, 7);
    assert_eq!(row.settings, r#"{"serial_policy":"increment"}"#);
    assert_eq!(store.zone(&zone).unwrap().unwrap().settings, row.settings);
    assert_eq!(store.journal(&zone).unwrap().len(), 1);
}
