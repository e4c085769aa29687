//! Writes the seed corpus of the `pgoutput` fuzz target into
//! `fuzz/corpus/pgoutput/` (run from the repository root:
//! `cargo run -p zonecast-replica --example make_pgoutput_seeds`).

use std::path::Path;
use zonecast_replica::fuzzing::join;
use zonecast_replica::pgoutput::{encode as e, Column as C, OldKind, TupleData};
use zonecast_store::encode_records;

const INT8: u32 = 20;
const INT2: u32 = 21;
const INT4: u32 = 23;
const TEXT: u32 = 25;
const BYTEA: u32 = 17;

fn rec(text: &str) -> Vec<zonecast_proto::Record> {
    zonecast_zonefile::parse_str(text, &"a.test.".parse().unwrap(), "seed")
        .unwrap()
        .records
}

fn main() {
    let dir = Path::new("fuzz/corpus/pgoutput");
    std::fs::create_dir_all(dir).unwrap();
    let zones_rel = e::relation(
        16400,
        "public",
        "zones",
        b'f',
        &[
            (1, "id", INT8, -1),
            (0, "name", TEXT, -1),
            (0, "kind", TEXT, -1),
            (0, "serial", INT8, -1),
            (0, "settings", TEXT, -1),
            (0, "created_at", INT8, -1),
            (0, "updated_at", INT8, -1),
        ],
    );
    let journal_rel = e::relation(
        16410,
        "public",
        "journal",
        b'd',
        &[
            (1, "seq", INT8, -1),
            (0, "zone_id", INT8, -1),
            (0, "kind", TEXT, -1),
            (0, "serial_from", INT8, -1),
            (0, "serial_to", INT8, -1),
            (0, "committed_at", INT8, -1),
            (0, "removed", BYTEA, -1),
            (0, "added", BYTEA, -1),
        ],
    );
    let hb_rel = e::relation(
        16420,
        "public",
        "heartbeat",
        b'd',
        &[
            (1, "id", INT2, -1),
            (0, "at_ms", INT8, -1),
            (0, "interval_ms", INT4, -1),
            (0, "writer", TEXT, -1),
        ],
    );
    let tsig_rel = e::relation(
        16430,
        "public",
        "tsig_keys",
        b'd',
        &[
            (1, "name", TEXT, -1),
            (0, "algorithm", TEXT, -1),
            (0, "secret", BYTEA, -1),
            (0, "created_at", INT8, -1),
        ],
    );
    let zone_a = rec("$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.1\n");
    let removed = rec("@ 300 SOA ns1 hostmaster 1 3600 900 1209600 300\nwww 300 A 192.0.2.1\n");
    let added = rec("@ 300 SOA ns1 hostmaster 2 3600 900 1209600 300\nwww 300 A 192.0.2.2\n");
    let (zr, ar) = (encode_records(&removed), encode_records(&added));
    let za = encode_records(&zone_a);
    let id = 1i64.to_be_bytes();
    let zone_tuple = TupleData {
        columns: vec![
            C::Binary(&id),
            C::Text(b"a.test."),
            C::Text(b"primary"),
            C::Text(b"1"),
            C::Text(b"{}"),
            C::Text(b"1700000000000"),
            C::Text(b"1700000000000"),
        ],
    };
    let create = TupleData {
        columns: vec![
            C::Text(b"1"),
            C::Text(b"1"),
            C::Text(b"create"),
            C::Text(b"1"),
            C::Text(b"1"),
            C::Text(b"0"),
            C::Binary(b""),
            C::Binary(&za),
        ],
    };
    let change = TupleData {
        columns: vec![
            C::Text(b"2"),
            C::Text(b"1"),
            C::Text(b"change"),
            C::Text(b"1"),
            C::Text(b"2"),
            C::Text(b"0"),
            C::Binary(&zr),
            C::Binary(&ar),
        ],
    };
    let bad_blob = TupleData {
        columns: vec![
            C::Text(b"3"),
            C::Text(b"1"),
            C::Text(b"change"),
            C::Text(b"2"),
            C::Text(b"3"),
            C::Text(b"0"),
            C::Text(b"\\x0a6e"),
            C::Null,
        ],
    };
    let hb = TupleData {
        columns: vec![
            C::Text(b"1"),
            C::Text(b"1700000000000"),
            C::Text(b"1000"),
            C::Text(b"cp"),
        ],
    };
    let key = TupleData {
        columns: vec![
            C::Text(b"k"),
            C::Text(b"hmac-sha256"),
            C::Binary(&[1, 2, 3]),
            C::Text(b"5"),
        ],
    };
    let key_only = TupleData {
        columns: vec![C::Text(b"k"), C::Null, C::Null, C::Null],
    };
    let begin = e::begin(0x100, 0, 700);
    let commit = e::commit(0x100, 0x128, 0);
    let seqs: Vec<Vec<Vec<u8>>> = vec![
        vec![
            zones_rel.clone(),
            journal_rel.clone(),
            begin.clone(),
            e::insert(16400, &zone_tuple),
            e::insert(16410, &create),
            commit.clone(),
            begin.clone(),
            e::update(16400, None, &zone_tuple),
            e::insert(16410, &change),
            commit.clone(),
        ],
        vec![
            zones_rel.clone(),
            journal_rel.clone(),
            begin.clone(),
            e::insert(16400, &zone_tuple),
            e::insert(16410, &create),
            e::insert(16410, &bad_blob),
            commit.clone(),
            begin.clone(),
            e::delete(16400, OldKind::Full, &zone_tuple),
            commit.clone(),
        ],
        vec![
            hb_rel.clone(),
            tsig_rel.clone(),
            begin.clone(),
            e::insert(16420, &hb),
            e::insert(16430, &key),
            e::delete(16430, OldKind::Key, &key_only),
            commit.clone(),
        ],
        vec![
            zones_rel.clone(),
            begin.clone(),
            e::truncate(1, &[16400]),
            commit.clone(),
        ],
        vec![begin.clone(), e::insert(999, &hb), commit.clone()],
        vec![
            e::origin(5, "node"),
            e::type_msg(9999, "public", "t"),
            e::message(1, 7, "p", b"x"),
        ],
    ];
    let mut n = 0;
    let mut write = |data: Vec<u8>| {
        let h = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        });
        std::fs::write(dir.join(format!("{h:016x}")), data).unwrap();
        n += 1;
    };
    for s in &seqs {
        write(join(s));
    }
    // Each message alone, and cut short.
    for m in seqs.iter().flatten() {
        write(join(std::slice::from_ref(m)));
        if m.len() > 3 {
            write(join(&[m[..m.len() / 2].to_vec()]));
        }
    }
    println!("{n} seeds written to {}", dir.display());
}
