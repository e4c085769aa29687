//! Replays the fuzz seed corpora (`fuzz/corpus/<target>/`) through the fuzz
//! target bodies, so every normal test run checks them.

mod fuzz_bodies;

use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} missing: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let data = std::fs::read(e.path()).expect("corpus file readable");
        let r = std::panic::catch_unwind(|| body(&data));
        assert!(
            r.is_ok(),
            "fuzz target {target} panicked on {}",
            e.path().display()
        );
        n += 1;
    }
    assert!(n >= 10, "corpus {target} has only {n} inputs");
    println!("{target}: {n} inputs replayed");
}

#[test]
fn message_corpus() {
    replay("message", fuzz_bodies::message);
}

#[test]
fn query_corpus() {
    replay("query", fuzz_bodies::query);
}

#[test]
fn zonefile_corpus() {
    replay("zonefile", fuzz_bodies::zonefile);
}

#[test]
fn rdata_corpus() {
    replay("rdata", fuzz_bodies::rdata);
}

#[test]
fn tsig_corpus() {
    replay("tsig", fuzz_bodies::tsig);
}

#[test]
fn xfr_in_corpus() {
    replay("xfr_in", fuzz_bodies::xfr_in);
}

#[test]
fn message_roundtrip_corpus() {
    replay("message_roundtrip", fuzz_bodies::message_roundtrip);
}

#[test]
fn ixfr_apply_corpus() {
    replay("ixfr_apply", fuzz_bodies::ixfr_apply);
}

#[test]
fn api_body_corpus() {
    replay("api_body", fuzz_bodies::api_body);
}

/// The `pgoutput` target's body lives in `zonecast_replica::fuzzing` (the
/// crate's own test replays every cut of every seed); here the seeds whole.
#[test]
fn pgoutput_corpus() {
    replay("pgoutput", zonecast_replica::fuzzing::pgoutput);
}
