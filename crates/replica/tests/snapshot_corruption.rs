//! Fault injection: the edge's local snapshot damaged while the edge is
//! stopped (docs/robustness.md, "Fault injection").
//!
//! - A flipped octet inside a record (which SQLite's own checks do not
//!   see) is caught by the zone's checksum: that zone is not served from
//!   the snapshot, the others are, and it is copied again once PostgreSQL
//!   is back.
//! - A truncated file, and a page in the middle overwritten with garbage,
//!   are caught when the snapshot is opened (`PRAGMA quick_check`, or the
//!   file not opening): the file is moved aside and everything is copied
//!   again.
//!
//! Each is counted in `metrics.snapshot_corruptions` and reported as a
//! problem; an intact snapshot (after creations and changes) loads with no
//! false alarm.

mod common;

use common::*;
use std::path::Path;
use zonecast_proto::Rtype;
use zonecast_zone::SharedZones;

/// Octets in one TXT record of `c.test.`, found in the file and flipped.
const CANARY: &str = "fault-canary-7f3a9c1e5b";

/// `c.test.`: the canary TXT, plus enough records for a file of many pages.
fn big_zone(serial: u32) -> String {
    let mut z = zone_text("c.test.", serial, "192.0.2.1");
    z.push_str(&format!("canary TXT \"{CANARY}\"\n"));
    for i in 0..2000 {
        z.push_str(&format!("h{i} TXT \"filler record number {i}\"\n"));
    }
    z
}

fn served_txt(zones: &SharedZones, zone: &str, owner: &str) -> Option<Vec<Vec<u8>>> {
    let set = zones.load();
    let z = set.get(&name(zone))?;
    let n = name(owner).to_lowercase();
    Some(
        z.node_named(&n)
            .and_then(|node| node.rrset(Rtype::TXT))
            .map(|rs| rs.rdatas().map(<[u8]>::to_vec).collect())
            .unwrap_or_default(),
    )
}

fn canary_ok(zones: &SharedZones) -> bool {
    served_txt(zones, "c.test.", "canary.c.test.")
        .is_some_and(|t| t.len() == 1 && t[0].windows(CANARY.len()).any(|w| w == CANARY.as_bytes()))
}

/// An edge synced with `c.test.` (created, then changed twice, so the
/// checksums went through the incremental path) and `ok.test.`, stopped.
async fn synced_snapshot(url: &str, edge: &str, dir: &Path) {
    let mut p = Primary::connect(url).await;
    p.heartbeat().await;
    p.create_zone(
        "c.test.",
        "primary",
        "{}",
        &records("c.test.", &big_zone(1)),
    )
    .await;
    p.create_zone(
        "ok.test.",
        "primary",
        "{}",
        &records("ok.test.", &zone_text("ok.test.", 7, "192.0.2.7")),
    )
    .await;
    let f = start(url, edge, dir);
    let zones = f.zones();
    wait_for("initial sync", T, || {
        served_serial(&zones, "c.test.") == Some(1) && served_serial(&zones, "ok.test.") == Some(7)
    })
    .await;
    p.change_www("c.test.", 1, "192.0.2.1", "192.0.2.2").await;
    p.change_www("c.test.", 2, "192.0.2.2", "192.0.2.3").await;
    wait_for("changes", T, || {
        f.status().snapshot().serials.get("c.test.") == Some(&3)
    })
    .await;
    f.shutdown().await;
}

/// Flips the first octet of every copy of the canary in the snapshot files
/// (the record, its index entry, the journal); how many copies.
fn flip_canary(dir: &Path) -> usize {
    let mut flipped = 0;
    for file in ["zonecast.db", "zonecast.db-wal"] {
        let path = dir.join(file);
        let Ok(mut bytes) = std::fs::read(&path) else {
            continue;
        };
        let mut i = 0;
        while let Some(at) = bytes[i..]
            .windows(CANARY.len())
            .position(|w| w == CANARY.as_bytes())
        {
            bytes[i + at] ^= 0x20;
            flipped += 1;
            i += at + CANARY.len();
        }
        std::fs::write(&path, bytes).unwrap();
    }
    flipped
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_octet_in_a_record_fails_the_zone_checksum_and_the_zone_is_copied_again() {
    init_tracing();
    let (pg, url) = cluster();
    let dir = tempfile::tempdir().unwrap();
    synced_snapshot(&url, "sum", dir.path()).await;

    // Intact: loads with no false alarm (PostgreSQL down, served at once).
    pg.stop();
    let f = start(&url, "sum", dir.path());
    let zones = f.zones();
    let st = f.status().snapshot();
    assert_eq!(st.metrics.snapshot_corruptions, 0, "{st:?}");
    assert_eq!(served_serial(&zones, "c.test."), Some(3));
    assert!(canary_ok(&zones));
    f.shutdown().await;

    assert!(
        flip_canary(dir.path()) >= 1,
        "the canary is in the snapshot file"
    );
    let f = start(&url, "sum", dir.path());
    let zones = f.zones();
    let st = f.status().snapshot();
    assert_eq!(st.metrics.snapshot_corruptions, 1, "{st:?}");
    assert!(
        st.problems
            .iter()
            .any(|p| p.message.contains("c.test.") && p.message.contains("checksum")),
        "{st:?}"
    );
    // The damaged zone is not served; the other one is, from the snapshot.
    assert_eq!(served_serial(&zones, "c.test."), None);
    assert_eq!(served_serial(&zones, "ok.test."), Some(7));
    assert_eq!(
        served_a(&zones, "ok.test.", "www.ok.test.").unwrap(),
        vec!["192.0.2.7"]
    );

    // PostgreSQL back: copied again, whole and right.
    pg.start_again();
    wait_for("the damaged zone copied again", T, || {
        served_serial(&zones, "c.test.") == Some(3) && canary_ok(&zones)
    })
    .await;
    assert_eq!(
        served_a(&zones, "c.test.", "www.c.test.").unwrap(),
        vec!["192.0.2.3"]
    );
    f.shutdown().await;

    // The repaired snapshot loads clean.
    pg.stop();
    let f = start(&url, "sum", dir.path());
    let zones = f.zones();
    assert_eq!(f.status().snapshot().metrics.snapshot_corruptions, 0);
    assert_eq!(served_serial(&zones, "c.test."), Some(3));
    assert!(canary_ok(&zones));
    f.shutdown().await;
}

/// Damage that SQLite sees: the file cut in half, or a page in the middle
/// overwritten. The file is moved aside and everything copied again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_or_overwritten_snapshot_is_discarded_and_resynced() {
    init_tracing();
    let (_pg, url) = cluster();
    let dir = tempfile::tempdir().unwrap();
    synced_snapshot(&url, "file", dir.path()).await;
    let db = dir.path().join("zonecast.db");
    type Damage = fn(&mut Vec<u8>);
    let damages: [(&str, Damage); 2] = [
        ("truncated to half", |b| b.truncate(b.len() / 2)),
        ("a middle page overwritten", |b| {
            let pages = b.len() / 4096;
            let at = pages / 2 * 4096;
            b[at..at + 4096].fill(0x55);
        }),
    ];
    for (what, damage) in damages {
        assert!(
            !dir.path().join("zonecast.db-wal").exists()
                || std::fs::metadata(dir.path().join("zonecast.db-wal"))
                    .unwrap()
                    .len()
                    == 0,
            "{what}: the WAL was checkpointed at shutdown"
        );
        let mut bytes = std::fs::read(&db).unwrap();
        assert!(bytes.len() > 20 * 4096, "{what}: {} octets", bytes.len());
        damage(&mut bytes);
        std::fs::write(&db, bytes).unwrap();

        let f = start(&url, "file", dir.path());
        let zones = f.zones();
        let st = f.status().snapshot();
        assert_eq!(st.metrics.snapshot_corruptions, 1, "{what}: {st:?}");
        assert!(
            st.problems
                .iter()
                .any(|p| p.message.contains("local snapshot") && p.message.contains("corrupt")),
            "{what}: {st:?}"
        );
        assert!(
            dir.path().join("zonecast.db.corrupt").exists(),
            "{what}: the damaged file is kept aside"
        );
        wait_for(&format!("{what}: everything copied again"), T, || {
            served_serial(&zones, "c.test.") == Some(3)
                && served_serial(&zones, "ok.test.") == Some(7)
                && canary_ok(&zones)
                && f.status().snapshot().metrics.full_resyncs >= 1
        })
        .await;
        f.shutdown().await;
    }
}
