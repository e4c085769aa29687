//! Fuzz target `pgoutput`: see `zonecast_replica::fuzzing` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zonecast_replica::fuzzing::pgoutput(data));
