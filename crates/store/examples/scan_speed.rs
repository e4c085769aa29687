//! Measures `Store::scan_records` on a large zone in a temporary directory.
//!
//! `cargo run --release -p zonecast-store --example scan_speed [RECORDS]`
//! (default 1,300,000 records: mostly A, every 4th AAAA, every 10th TXT).

use std::time::{Duration, Instant};
use zonecast_proto::{Class, Name, Record, Rtype};
use zonecast_store::{Store, StoreError, ZoneKind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: u32 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1_300_000,
    };
    let dir = tempfile::tempdir()?;
    let zone: Name = "big.example.".parse()?;
    let records = zone_records(&zone, count)?;

    let start = Instant::now();
    Store::open(dir.path())?.create_zone(&zone, ZoneKind::Primary, &records)?;
    println!(
        "create_zone: {} records in {:?}",
        records.len(),
        start.elapsed()
    );
    drop(records);

    // A fresh store, as at start-up: its first scan opens the read connection.
    let store = Store::open(dir.path())?;
    let mut best = Duration::MAX;
    for run in 1..=3 {
        let mut octets = 0usize;
        let start = Instant::now();
        let n = store.scan_records::<StoreError>(&zone, |owner, _rtype, ttl, rdata| {
            octets += owner.len() + rdata.len() + ttl as usize % 2;
            Ok(())
        })?;
        let took = start.elapsed();
        best = best.min(took);
        println!(
            "scan_records run {run}: {n} records ({octets} octets) in {took:?}: {:.0} records/s",
            n as f64 / took.as_secs_f64()
        );
    }
    let start = Instant::now();
    let loaded = store.zone_records(&zone)?;
    let took = start.elapsed();
    println!(
        "zone_records (for comparison): {} records in {took:?}: {:.0} records/s",
        loaded.len(),
        loaded.len() as f64 / took.as_secs_f64()
    );
    println!(
        "best scan: {:.0} records/s",
        loaded.len() as f64 / best.as_secs_f64()
    );
    Ok(())
}

fn zone_records(zone: &Name, count: u32) -> Result<Vec<Record>, Box<dyn std::error::Error>> {
    let mut soa = Vec::new();
    soa.extend_from_slice(format!("ns1.{zone}").parse::<Name>()?.as_wire());
    soa.extend_from_slice(format!("hostmaster.{zone}").parse::<Name>()?.as_wire());
    for v in [1u32, 3600, 900, 604800, 60] {
        soa.extend_from_slice(&v.to_be_bytes());
    }
    let record = |owner: Name, rtype: Rtype, rdata: Vec<u8>| Record {
        owner,
        rtype,
        class: Class::IN,
        ttl: 300,
        rdata: rdata.into(),
    };
    let mut out = vec![
        record(zone.clone(), Rtype::SOA, soa),
        record(
            zone.clone(),
            Rtype::NS,
            format!("ns1.{zone}").parse::<Name>()?.as_wire().to_vec(),
        ),
    ];
    for i in 0..count.saturating_sub(2) {
        let owner: Name = format!("Host{i}.{zone}").parse()?;
        let b = i.to_be_bytes();
        let (rtype, rdata) = if i % 10 == 0 {
            let text = format!("v=spf1 ip4:10.{}.{}.{} -all", b[1], b[2], b[3]);
            let mut rdata = vec![u8::try_from(text.len())?];
            rdata.extend_from_slice(text.as_bytes());
            (Rtype::TXT, rdata)
        } else if i % 4 == 0 {
            let mut rdata = vec![0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0];
            rdata.extend_from_slice(&b);
            (Rtype::AAAA, rdata)
        } else {
            (Rtype::A, vec![10, b[1], b[2], b[3]])
        };
        out.push(record(owner, rtype, rdata));
    }
    Ok(out)
}
