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
    let st = f.status().snapshot();
    assert!(st.metrics.transactions_applied >= 1, "{st:?}");
    assert_eq!(st.serials.get("example.com."), Some(&2));
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
        && &*r.rdata == [192, 0, 2, 2]));
    assert_eq!(
        local.zone(&name("example.com.")).unwrap().unwrap().serial,
        2
    );
    assert!(local.meta_get("replica.lsn").unwrap().is_some());
}
