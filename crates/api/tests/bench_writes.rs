//! Benchmark, not a timed test: API write throughput (single-RRset changes per second, embedded store).
//!
//! `cargo test -p zonecast-api --release --test bench_writes -- --ignored --nocapture`

mod common;

use common::{TestServer, ADMIN};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

#[test]
#[ignore = "benchmark; run by hand"]
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
        let n = clients * per_client;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{clients} client(s): {n} changes in {secs:.2}s = {:.0} changes/s",
            n as f64 / secs
        );
    }
}
