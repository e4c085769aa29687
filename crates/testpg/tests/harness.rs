//! Tests of the harness itself: start, query, restart, kill, drop.

use std::time::{Duration, Instant};
use zonecast_testpg::TestPg;

#[test]
fn starts_fast_and_answers_queries() {
    let t = Instant::now();
    let pg = TestPg::start();
    let took = t.elapsed();
    assert!(took < Duration::from_secs(5), "startup took {took:?}");
    eprintln!("startup took {took:?}");
    assert!((15000..32768).contains(&pg.port()));
    assert_eq!(pg.psql("SELECT 1 + 1"), "2");
    assert_eq!(pg.psql("SHOW wal_level"), "logical");
    assert_eq!(pg.psql("SHOW max_replication_slots"), "20");
    assert_eq!(pg.psql("SHOW max_wal_senders"), "20");
    assert_eq!(pg.psql("SHOW max_slot_wal_keep_size"), "1GB");
    assert_eq!(pg.psql("SHOW fsync"), "off");
    assert_eq!(pg.psql("SHOW synchronous_commit"), "on");
    assert_eq!(pg.psql("SHOW listen_addresses"), "127.0.0.1");
    assert_eq!(pg.psql("SHOW server_encoding"), "UTF8");
    assert_eq!(
        pg.url(),
        format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port())
    );
}

#[test]
fn creates_databases() {
    let pg = TestPg::start();
    let url = pg.create_database("zc_one");
    assert_eq!(url, pg.url_for("zc_one"));
    assert_eq!(pg.psql_in("zc_one", "SELECT current_database()"), "zc_one");
    pg.psql_in("zc_one", "CREATE TABLE t (x int); INSERT INTO t VALUES (7)");
    assert_eq!(pg.psql_in("zc_one", "SELECT x FROM t"), "7");
    assert!(pg.try_psql_in("zc_one", "SELECT * FROM missing").is_err());
}

#[test]
fn restarts_on_the_same_port_keeping_data() {
    let pg = TestPg::start();
    let port = pg.port();
    pg.psql("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)");
    pg.stop();
    assert!(!pg.is_running());
    assert!(pg.try_psql_in("postgres", "SELECT 1").is_err());
    pg.start_again();
    assert_eq!(pg.port(), port);
    assert_eq!(pg.psql("SELECT x FROM kept"), "42");
    // Immediate shutdown: committed data survives crash recovery.
    pg.psql("INSERT INTO kept VALUES (43)");
    pg.kill();
    assert!(!pg.is_running());
    pg.start_again();
    assert_eq!(pg.psql("SELECT count(*) FROM kept"), "2");
}

#[test]
fn replication_connections_are_allowed() {
    let pg = TestPg::start();
    // A logical slot proves wal_level=logical works end to end.
    pg.psql("SELECT pg_create_logical_replication_slot('t_slot', 'pgoutput')");
    assert_eq!(
        pg.psql("SELECT slot_type FROM pg_replication_slots WHERE slot_name = 't_slot'"),
        "logical"
    );
    // A replication connection over TCP (psql's -d takes a connection string).
    let sys = pg.psql_in("dbname=postgres replication=database", "IDENTIFY_SYSTEM");
    assert!(sys.contains("|"), "IDENTIFY_SYSTEM answered {sys:?}");
}

#[test]
fn drop_stops_the_server_and_removes_the_directory() {
    let pg = TestPg::start();
    let dir = pg.data_dir();
    let port = pg.port();
    assert!(dir.exists());
    drop(pg);
    assert!(!dir.exists());
    // The port is free again.
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
}
