//! Replays the `pgoutput` fuzz seed corpus (`fuzz/corpus/pgoutput/`)
//! through the fuzz target's body, and every cut of every seed.

use std::path::Path;

#[test]
fn pgoutput_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/pgoutput");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} missing: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.path());
    let mut n = 0;
    for e in entries {
        let data = std::fs::read(e.path()).expect("corpus file readable");
        for cut in 0..=data.len() {
            let r = std::panic::catch_unwind(|| zonecast_replica::fuzzing::pgoutput(&data[..cut]));
            assert!(
                r.is_ok(),
                "pgoutput panicked on {} cut at {cut}",
                e.path().display()
            );
        }
        n += 1;
    }
    assert!(n >= 10, "corpus pgoutput has only {n} inputs");
    println!("pgoutput: {n} inputs replayed");
}
