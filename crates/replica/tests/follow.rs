//! The follower against a real PostgreSQL (throwaway cluster per test).

mod common;

use common::*;
use zonecast_store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_then_streamed_change() {
    init_tracing();
    let (_pg, url) = cluster();
    let mut p = Primary::connect(&url).await;
    p.heartbeat().await;
    p.create_zone(
        "example.com.",
        "primary",
        "{}",
        &records("example.com.", &zone_text("example.com.", 1, "192.0.2.1")),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let f = start(&url, "edge-1", dir.path());
    let zones = f.zones();
    wait_for("initial sync", T, || {
        served_serial(&zones, "example.com.") == Some(1)
    })
    .await;
    assert_eq!(
        served_a(&zones, "example.com.", "www.example.com.").unwrap(),
        vec!["192.0.2.1"]
    );
    wait_for("connected", T, || f.status().snapshot().connected).await;

    p.change_www("example.com.", 1, "192.0.2.1", "192.0.2.2")
        .await;
    wait_for("streamed change", T, || {
        served_a(&zones, "example.com.", "www.example.com.") == Some(vec!["192.0.2.2".into()])
    })
    .await;
    assert_eq!(served_serial(&zones, "example.com."), Some(2));
    // Published first, then persisted and counted.
    wait_for("status", T, || {
        f.status().snapshot().serials.get("example.com.") == Some(&2)
    })
    .await;
    let st = f.status().snapshot();
    assert!(st.metrics.transactions_applied >= 1, "{st:?}");
    assert!(st.ready, "{st:?}");
    assert!(st.lag_ms.is_some());

    // The slot's confirmed position reaches the applied one.
    let applied = st.applied_lsn.clone();
    wait_for_async("slot confirmed", T, || {
        let c = &p.client;
        let applied = applied.clone();
        async move {
            let r = c
                .query_one(
                    "SELECT confirmed_flush_lsn >= $1::text::pg_lsn FROM pg_replication_slots WHERE slot_name = 'zonecast_edge_edge_1'",
                    &[&applied],
                )
                .await
                .unwrap();
            r.get::<_, bool>(0)
        }
    })
    .await;
    // The edges row is written.
    wait_for_async("edges row", T, || {
        let c = &p.client;
        async move {
            c.query_opt("SELECT serials FROM edges WHERE name = 'edge-1'", &[])
                .await
                .unwrap()
                .is_some_and(|r| r.get::<_, String>(0).contains("\"example.com.\":2"))
        }
    })
    .await;
    f.shutdown().await;

    // The local snapshot holds the change.
    let local = Store::open(dir.path()).unwrap();
    let recs = local.zone_records(&name("example.com.")).unwrap();
    assert!(recs.iter().any(|r| r.rtype == zonecast_proto::Rtype::A
        && r.owner == name("www.example.com.")
        && *r.rdata == [192, 0, 2, 2]));
    assert_eq!(
        local.zone(&name("example.com.")).unwrap().unwrap().serial,
        2
    );
    assert!(local.meta_get("replica.lsn").unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_create_delete_and_settings_propagate() {
    init_tracing();
    let (_pg, url) = cluster();
    let mut p = Primary::connect(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let f = start(&url, "e2", dir.path());
    let zones = f.zones();
    wait_for("connected", T, || f.status().snapshot().connected).await;
    assert!(
        f.status().snapshot().has_data,
        "initial sync of an empty primary"
    );

    p.create_zone(
        "a.test.",
        "primary",
        "{}",
        &records("a.test.", &zone_text("a.test.", 10, "192.0.2.10")),
    )
    .await;
    p.create_zone(
        "b.test.",
        "secondary",
        r#"{"primaries":["192.0.2.99:53"]}"#,
        &[],
    )
    .await;
    p.put_tsig_key("transfer-key").await;
    wait_for("a.test created", T, || {
        served_serial(&zones, "a.test.") == Some(10)
    })
    .await;
    // A secondary without records is known but not served.
    wait_for("b.test known", T, || {
        f.status().snapshot().serials.contains_key("b.test.")
    })
    .await;
    assert!(served_serial(&zones, "b.test.").is_none());

    p.set_settings("a.test.", r#"{"notify":["192.0.2.7:53"]}"#)
        .await;
    p.change_www("a.test.", 10, "192.0.2.10", "192.0.2.11")
        .await;
    wait_for("a.test changed", T, || {
        served_serial(&zones, "a.test.") == Some(11)
    })
    .await;

    p.delete_zone("a.test.").await;
    wait_for("a.test withdrawn", T, || {
        served_serial(&zones, "a.test.").is_none()
    })
    .await;
    // Same name again, new id and content.
    p.create_zone(
        "a.test.",
        "primary",
        "{}",
        &records("a.test.", &zone_text("a.test.", 3, "192.0.2.33")),
    )
    .await;
    wait_for("a.test recreated", T, || {
        served_serial(&zones, "a.test.") == Some(3)
    })
    .await;
    assert_eq!(
        served_a(&zones, "a.test.", "www.a.test.").unwrap(),
        vec!["192.0.2.33"]
    );
    // Let the local store catch up with the last transaction.
    wait_for("status", T, || {
        f.status().snapshot().serials.get("a.test.") == Some(&3)
    })
    .await;
    f.shutdown().await;

    let local = Store::open(dir.path()).unwrap();
    let a = local.zone(&name("a.test.")).unwrap().unwrap();
    assert_eq!(a.serial, 3);
    assert_eq!(a.settings, "{}");
    let keys = local.tsig_keys().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].name, "transfer-key");
    assert_eq!(keys[0].secret, vec![7; 32]);
    let b = local.zone(&name("b.test.")).unwrap().unwrap();
    assert_eq!(b.kind, zonecast_store::ZoneKind::Secondary);
    assert!(b.settings.contains("192.0.2.99"));

    // Settings of a zone held: restart and change them.
    let f = start(&url, "e2", dir.path());
    wait_for("connected", T, || f.status().snapshot().connected).await;
    p.set_settings("b.test.", r#"{"primaries":["192.0.2.100:53"]}"#)
        .await;
    let applied = f.status().snapshot().metrics.transactions_applied;
    wait_for("settings applied", T, || {
        f.status().snapshot().metrics.transactions_applied > applied
    })
    .await;
    f.shutdown().await;
    let local = Store::open(dir.path()).unwrap();
    assert!(local
        .zone(&name("b.test."))
        .unwrap()
        .unwrap()
        .settings
        .contains("192.0.2.100"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_from_local_snapshot_while_postgres_is_stopped() {
    init_tracing();
    let (pg, url) = cluster();
    let mut p = Primary::connect(&url).await;
    p.create_zone(
        "snap.test.",
        "primary",
        "{}",
        &records("snap.test.", &zone_text("snap.test.", 5, "192.0.2.5")),
    )
    .await;
    p.heartbeat().await;
    let dir = tempfile::tempdir().unwrap();
    let f = start(&url, "snap", dir.path());
    let zones = f.zones();
    wait_for("synced", T, || {
        served_serial(&zones, "snap.test.") == Some(5)
    })
    .await;
    p.change_www("snap.test.", 5, "192.0.2.5", "192.0.2.6")
        .await;
    wait_for("changed", T, || {
        served_serial(&zones, "snap.test.") == Some(6)
    })
    .await;
    f.shutdown().await;
    drop(p);

    pg.stop();
    let f = start(&url, "snap", dir.path());
    let zones = f.zones();
    // Served at once from the local snapshot, before any connection.
    assert_eq!(served_serial(&zones, "snap.test."), Some(6));
    assert_eq!(
        served_a(&zones, "snap.test.", "www.snap.test.").unwrap(),
        vec!["192.0.2.6"]
    );
    let st = f.status().snapshot();
    assert!(st.has_data && !st.connected, "{st:?}");
    // The persisted heartbeat is old: not ready.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(f.status().snapshot().last_error.is_some());

    pg.start_again();
    let mut p = Primary::connect(&url).await;
    wait_for("reconnected", T, || f.status().snapshot().connected).await;
    p.change_www("snap.test.", 6, "192.0.2.6", "192.0.2.7")
        .await;
    wait_for("caught up", T, || {
        served_serial(&zones, "snap.test.") == Some(7)
    })
    .await;
    p.heartbeat().await;
    wait_for("ready", T, || f.status().is_ready()).await;
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_reconnects_and_catches_up() {
    init_tracing();
    let (pg, url) = cluster();
    let mut p = Primary::connect(&url).await;
    p.create_zone(
        "r.test.",
        "primary",
        "{}",
        &records("r.test.", &zone_text("r.test.", 1, "192.0.2.1")),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let f = start(&url, "r", dir.path());
    let zones = f.zones();
    wait_for("synced", T, || served_serial(&zones, "r.test.") == Some(1)).await;
    wait_for("connected", T, || f.status().snapshot().connected).await;
    drop(p);

    pg.stop();
    wait_for("disconnected", T, || !f.status().snapshot().connected).await;
    // Still serving.
    assert_eq!(
        served_a(&zones, "r.test.", "www.r.test.").unwrap(),
        vec!["192.0.2.1"]
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    pg.start_again();
    let mut p = Primary::connect(&url).await;
    for i in 1..=20u32 {
        p.change_www(
            "r.test.",
            i,
            &format!("192.0.2.{i}"),
            &format!("192.0.2.{}", i + 1),
        )
        .await;
    }
    wait_for("caught up", T, || {
        served_serial(&zones, "r.test.") == Some(21)
    })
    .await;
    assert_eq!(
        served_a(&zones, "r.test.", "www.r.test.").unwrap(),
        vec!["192.0.2.21"]
    );
    let st = f.status().snapshot();
    assert!(st.metrics.reconnects >= 1, "{st:?}");
    assert_eq!(st.metrics.full_resyncs, 1, "only the initial sync: {st:?}");
    println!(
        "apply after reconnect: {} transactions, publish last/max {}/{} us, persist last/max {}/{} us",
        st.metrics.transactions_applied,
        st.metrics.publish_us_last,
        st.metrics.publish_us_max,
        st.metrics.apply_us_last,
        st.metrics.apply_us_max
    );
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_slot_is_recreated_with_a_full_resync() {
    init_tracing();
    let (pg, url) = cluster();
    let mut p = Primary::connect(&url).await;
    p.create_zone(
        "keep.test.",
        "primary",
        "{}",
        &records("keep.test.", &zone_text("keep.test.", 1, "192.0.2.1")),
    )
    .await;
    p.create_zone(
        "gone.test.",
        "primary",
        "{}",
        &records("gone.test.", &zone_text("gone.test.", 1, "192.0.2.1")),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let f = start(&url, "d", dir.path());
    let zones = f.zones();
    wait_for("synced", T, || {
        served_serial(&zones, "gone.test.") == Some(1)
    })
    .await;
    f.shutdown().await;

    // While the edge is away: changes, a deletion, and the slot dropped (its changes lost).
    p.change_www("keep.test.", 1, "192.0.2.1", "192.0.2.2")
        .await;
    p.delete_zone("gone.test.").await;
    p.create_zone(
        "new.test.",
        "primary",
        "{}",
        &records("new.test.", &zone_text("new.test.", 9, "192.0.2.9")),
    )
    .await;
    pg.psql_in(
        "zonecast",
        "SELECT pg_drop_replication_slot('zonecast_edge_d')",
    );

    let f = start(&url, "d", dir.path());
    let zones = f.zones();
    // The old snapshot is served at once...
    assert_eq!(served_serial(&zones, "gone.test."), Some(1));
    // ...then replaced by a fresh copy.
    wait_for("resynced", T, || {
        served_serial(&zones, "keep.test.") == Some(2)
            && served_serial(&zones, "gone.test.").is_none()
            && served_serial(&zones, "new.test.") == Some(9)
    })
    .await;
    let st = f.status().snapshot();
    assert!(
        st.problems.iter().any(|p| p.message.contains("missing")),
        "{st:?}"
    );
    // Streaming resumes on the new slot.
    p.change_www("new.test.", 9, "192.0.2.9", "192.0.2.10")
        .await;
    wait_for("streamed", T, || {
        served_serial(&zones, "new.test.") == Some(10)
    })
    .await;

    // Dropped while streaming: the session ends, the slot is recreated, the zones resynced.
    pg.psql_in(
        "zonecast",
        "DO $$ BEGIN FOR i IN 1..200 LOOP \
           PERFORM pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'zonecast_edge_d' AND active_pid IS NOT NULL; \
           BEGIN PERFORM pg_drop_replication_slot('zonecast_edge_d'); EXIT; EXCEPTION WHEN OTHERS THEN PERFORM pg_sleep(0.01); END; \
         END LOOP; END $$",
    );
    wait_for("full resync after the drop", T, || {
        f.status().snapshot().metrics.full_resyncs >= 2
    })
    .await;
    p.change_www("keep.test.", 2, "192.0.2.2", "192.0.2.3")
        .await;
    wait_for("streamed on the new slot", T, || {
        served_serial(&zones, "keep.test.") == Some(3)
    })
    .await;
    f.shutdown().await;
    let local = Store::open(dir.path()).unwrap();
    assert!(local.zone(&name("gone.test.")).unwrap().is_none());
    assert_eq!(local.zone(&name("keep.test.")).unwrap().unwrap().serial, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_rows_halt_only_their_zone() {
    init_tracing();
    let (_pg, url) = cluster();
    let mut p = Primary::connect(&url).await;
    let bad_id = p
        .create_zone(
            "bad.test.",
            "primary",
            "{}",
            &records("bad.test.", &zone_text("bad.test.", 1, "192.0.2.1")),
        )
        .await;
    p.create_zone(
        "good.test.",
        "primary",
        "{}",
        &records("good.test.", &zone_text("good.test.", 1, "192.0.2.1")),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let f = start(&url, "m", dir.path());
    let zones = f.zones();
    wait_for("synced", T, || {
        served_serial(&zones, "good.test.") == Some(1)
    })
    .await;
    wait_for("connected", T, || f.status().snapshot().connected).await;

    // A journal row whose blob does not decode, and one whose serial does not follow,
    // in the same transaction as a good change of another zone.
    let tx = p.client.transaction().await.unwrap();
    tx.execute(
        "INSERT INTO journal (zone_id, kind, serial_from, serial_to, committed_at, removed, added) VALUES ($1, 'change', 1, 2, 0, '\\x0a6e6f'::bytea, '')",
        &[&bad_id],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    p.change_www("good.test.", 1, "192.0.2.1", "192.0.2.2")
        .await;
    wait_for("good zone updated", T, || {
        served_serial(&zones, "good.test.") == Some(2)
    })
    .await;
    wait_for("problem reported", T, || {
        f.status()
            .snapshot()
            .problems
            .iter()
            .any(|p| p.message.contains("bad.test.") && p.message.contains("halted"))
    })
    .await;
    // The halted zone was resynced from the primary (its records did not change) and keeps serving.
    wait_for("resynced", T, || {
        f.status().snapshot().metrics.zone_resyncs >= 1
    })
    .await;
    assert_eq!(served_serial(&zones, "bad.test."), Some(1));
    assert!(f.status().snapshot().halted.is_empty());

    // A serial that does not follow.
    p.client
        .execute(
            "INSERT INTO journal (zone_id, kind, serial_from, serial_to, committed_at, removed, added) VALUES ($1, 'change', 77, 78, 0, '', '')",
            &[&bad_id],
        )
        .await
        .unwrap();
    wait_for("serial problem", T, || {
        f.status()
            .snapshot()
            .problems
            .iter()
            .any(|p| p.message.contains("serial 77"))
    })
    .await;
    // It still follows the zone afterwards.
    p.change_www("bad.test.", 1, "192.0.2.1", "192.0.2.9").await;
    wait_for("bad zone follows again", T, || {
        served_serial(&zones, "bad.test.") == Some(2)
    })
    .await;
    assert_eq!(
        served_a(&zones, "bad.test.", "www.bad.test.").unwrap(),
        vec!["192.0.2.9"]
    );

    // A row of an unknown table in the publication: a problem, nothing else.
    p.client
        .batch_execute("CREATE TABLE extra (id int PRIMARY KEY, x text); ALTER PUBLICATION zonecast ADD TABLE extra; INSERT INTO extra VALUES (1, 'x')")
        .await
        .unwrap();
    p.change_www("good.test.", 2, "192.0.2.2", "192.0.2.3")
        .await;
    wait_for("after the unknown table", T, || {
        served_serial(&zones, "good.test.") == Some(3)
    })
    .await;
    assert!(f
        .status()
        .snapshot()
        .problems
        .iter()
        .any(|p| p.message.contains("extra")));
    assert!(f.status().snapshot().connected);
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_relay_reaches_the_control_plane() {
    init_tracing();
    let (_pg, url) = cluster();
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let (ntx, mut nrx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut conn = std::pin::pin!(conn);
        loop {
            match std::future::poll_fn(|cx| conn.as_mut().poll_message(cx)).await {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                    let _ = ntx.send((n.channel().to_string(), n.payload().to_string()));
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
    });
    client
        .batch_execute("LISTEN zonecast_dns_notify")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = start(&url, "n", dir.path());
    assert!(f.notifier().relay_notify("sec.test.", "192.0.2.1:53", None));
    let (channel, payload) = tokio::time::timeout(T, nrx.recv()).await.unwrap().unwrap();
    assert_eq!(channel, "zonecast_dns_notify");
    let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(v["zone"], "sec.test.");
    assert_eq!(v["from"], "192.0.2.1:53");
    assert_eq!(v["edge"], "n");
    wait_for("counted", T, || {
        f.status().snapshot().metrics.notifies_relayed == 1
    })
    .await;
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_names_what_is_missing() {
    init_tracing();
    let (pg, url) = cluster();
    zonecast_replica::preflight(&url).await.unwrap();
    pg.psql_in("zonecast", "CREATE ROLE plain LOGIN; CREATE ROLE repl LOGIN REPLICATION; GRANT SELECT ON zones, journal, tsig_keys, heartbeat TO repl");
    let as_user = |u: &str| url.replace("postgres://postgres@", &format!("postgres://{u}@"));
    let e = zonecast_replica::preflight(&as_user("plain"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("REPLICATION"), "{e}");
    let e = zonecast_replica::preflight(&as_user("repl"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("SELECT on table records"), "{e}");
    pg.psql_in("zonecast", "DROP PUBLICATION zonecast_journal");
    let e = zonecast_replica::preflight(&url)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("publication zonecast_journal"), "{e}");
    assert!(matches!(
        zonecast_replica::preflight("postgres://x@127.0.0.1:1/db").await,
        Err(zonecast_replica::ReplicaError::Sql { .. })
    ));
    assert!(matches!(
        zonecast_replica::preflight("nonsense://").await,
        Err(zonecast_replica::ReplicaError::InvalidUrl(_))
    ));
    assert!(zonecast_replica::slot_name("Edge-1").unwrap() == "zonecast_edge_edge_1");
    assert!(zonecast_replica::slot_name("bad name").is_err());
    assert!(zonecast_replica::slot_name("").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidated_slot_is_dropped_and_recreated() {
    init_tracing();
    let (pg, url) = cluster();
    let mut p = Primary::connect(&url).await;
    p.create_zone(
        "inv.test.",
        "primary",
        "{}",
        &records("inv.test.", &zone_text("inv.test.", 1, "192.0.2.1")),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let f = start(&url, "inv", dir.path());
    let zones = f.zones();
    wait_for("synced", T, || {
        served_serial(&zones, "inv.test.") == Some(1)
    })
    .await;
    f.shutdown().await;
    // The edge is away while the primary writes more WAL than the slot may keep.
    p.change_www("inv.test.", 1, "192.0.2.1", "192.0.2.2").await;
    pg.psql_in(
        "zonecast",
        "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'",
    );
    pg.psql_in("zonecast", "SELECT pg_reload_conf()");
    for _ in 0..4 {
        pg.psql_in(
            "zonecast",
            "CREATE TABLE IF NOT EXISTS junk (x text); INSERT INTO junk SELECT repeat('x', 1000) FROM generate_series(1, 20000)",
        );
        pg.psql_in("zonecast", "SELECT pg_switch_wal()");
        pg.psql_in("zonecast", "CHECKPOINT");
    }
    let status = pg.psql_in(
        "zonecast",
        "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'zonecast_edge_inv'",
    );
    assert_eq!(status, "lost", "the slot was not invalidated");
    pg.psql_in("zonecast", "ALTER SYSTEM RESET max_slot_wal_keep_size");
    pg.psql_in("zonecast", "SELECT pg_reload_conf()");

    let f = start(&url, "inv", dir.path());
    let zones = f.zones();
    wait_for("resynced", T, || {
        served_serial(&zones, "inv.test.") == Some(2)
    })
    .await;
    wait_for("problem", T, || {
        f.status()
            .snapshot()
            .problems
            .iter()
            .any(|p| p.message.contains("invalidated"))
    })
    .await;
    p.change_www("inv.test.", 2, "192.0.2.2", "192.0.2.3").await;
    wait_for("streamed on the new slot", T, || {
        served_serial(&zones, "inv.test.") == Some(3)
    })
    .await;
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edges_row_reports_the_dns_addresses_and_survives_an_older_schema() {
    init_tracing();
    let (_pg, url) = cluster();
    let p = Primary::connect(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&url, "edge-dns", dir.path());
    config.dns_listen = vec!["127.0.0.2:5300".into(), "[::1]:5300".into()];
    let f = zonecast_replica::Follower::start(config).unwrap();
    wait_for_async("edges row with dns", T, || {
        let c = &p.client;
        async move {
            c.query_opt("SELECT dns FROM edges WHERE name = 'edge-dns'", &[])
                .await
                .unwrap()
                .is_some_and(|r| r.get::<_, String>(0) == r#"["127.0.0.2:5300","[::1]:5300"]"#)
        }
    })
    .await;
    // A database whose control planes are older (no dns column): the row is
    // still written, without the addresses.
    p.client
        .batch_execute("ALTER TABLE edges DROP COLUMN dns")
        .await
        .unwrap();
    let seen_at = "SELECT seen_at FROM edges WHERE name = 'edge-dns'";
    let before: i64 = p.client.query_one(seen_at, &[]).await.unwrap().get(0);
    wait_for_async("edges row written without dns", T, || {
        let c = &p.client;
        async move { c.query_one(seen_at, &[]).await.unwrap().get::<_, i64>(0) > before }
    })
    .await;
    f.shutdown().await;
}
