//! API writes from 1 and 8 concurrent clients on the embedded store: every
//! single-RRset change is accepted (the group commit path, many writers on
//! one zone). The changes per second are printed, not asserted (a figure, not
//! a timed test): `cargo test -p zonecast-api --release --test bench_writes -- --nocapture`.

mod common;

use common::{TestServer, ADMIN};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

#[test]
fn single_rrset_changes_per_second() {
    let s = Arc::new(TestServer::with_zone());
    for clients in [1usize, 8, 1] {
        let per_client = 500;
        let t = Instant::now();
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for i in 0..per_client {
                        let r = s.req_as(
                            ADMIN,
                            "PUT",
                            &format!("/v1/zones/example.com/rrsets/b{clients}-{c}-{}/A", i % 50),
                            Some(&json!({"ttl": 60, "records": [format!("10.{c}.{}.{}", i / 250, i % 250)]})),
                        );
                        assert_eq!(r.status, 200, "{}", r.body);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        // Every change landed: the last of each client's 50 names holds its last address.
        for c in 0..clients {
            let i = per_client - 1;
            let r = s.req_as(
                ADMIN,
                "GET",
                &format!("/v1/zones/example.com/rrsets/b{clients}-{c}-{}/A", i % 50),
                None,
            );
            assert_eq!(r.status, 200, "{}", r.body);
            assert!(
                r.body.contains(&format!("10.{c}.{}.{}", i / 250, i % 250)),
                "{}",
                r.body
            );
        }
        let n = clients * per_client;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{clients} client(s): {n} changes in {secs:.2}s = {:.0} changes/s",
            n as f64 / secs
        );
    }
}
