//! Fuzz target `api_body`: see `tests/fuzz_bodies/mod.rs` for what it checks.
#![no_main]

#[path = "../../tests/fuzz_bodies/mod.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::api_body(data));
