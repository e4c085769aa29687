//! The query hot path allocates nothing: `respond` runs over every kind of
//! answer (positive, NODATA, NXDOMAIN, wildcard, CNAME chain, DNAME,
//! referral, truncation, FORMERR, REFUSED) under a counting allocator, for
//! every owner of every test zone and a name below each.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use zonecast_proto::message::build_query;
use zonecast_proto::query::QueryView;
use zonecast_proto::{Name, Rtype};
use zonecast_server::pipeline::{respond, Transport};
use zonecast_zone::{Zone, ZoneSet};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn respond_does_not_allocate() {
    // Every test zone; every owner, a name below it, and a miss, for many types.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zones");
    let mut zones = ZoneSet::new();
    let mut owners: Vec<Name> = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = zonecast_zonefile::load_file(&entry.unwrap().path(), None).unwrap();
        owners.extend(data.records.iter().map(|r| r.owner.clone()));
        owners.push(data.origin.prepend_label(b"no-such-name").unwrap());
        zones = zones.with_zone(Arc::new(Zone::build(&data.origin, &data.records).unwrap()));
    }
    owners.sort();
    owners.dedup();
    let mut queries: Vec<Vec<u8>> = Vec::new();
    for name in &owners {
        let below = name
            .prepend_label(b"Below")
            .unwrap_or_else(|_| name.clone());
        for n in [name, &below] {
            for t in [
                Rtype::A,
                Rtype::AAAA,
                Rtype::MX,
                Rtype::TXT,
                Rtype::NS,
                Rtype::ANY,
                Rtype::SVCB,
                Rtype::DS,
                Rtype::CNAME,
            ] {
                queries.push(build_query(1, n, t, None));
                queries.push(build_query(2, n, t, Some(1232)));
            }
        }
    }
    queries.push(build_query(
        4,
        &"www.not-served.example.".parse().unwrap(),
        Rtype::A,
        None,
    ));
    let mut bad = build_query(3, &"example.com.".parse().unwrap(), Rtype::SOA, None);
    bad.push(0);
    queries.push(bad);
    let mut out = vec![0u8; 65535];
    let mut q = QueryView::default();
    let mut answered = 0;
    // Warm up once (lazy statics, if any), then count.
    for query in &queries {
        respond(&zones, query, &mut out, Transport::Udp, &mut q);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..3 {
        for query in &queries {
            for t in [Transport::Udp, Transport::Tcp] {
                if respond(&zones, query, &mut out, t, &mut q).is_some() {
                    answered += 1;
                }
            }
        }
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert!(answered > 3000, "only {answered} answers");
    println!("{answered} answers, {} allocations", after - before);
    assert_eq!(
        after - before,
        0,
        "{} allocations for {answered} answers",
        after - before
    );
}
