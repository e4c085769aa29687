use super::*;

#[test]
fn absurd_timers_are_refused_and_sane_ones_taken() {
    check_timers(&[1, 3600, 600, 604_800, 300]).unwrap();
    for bad in [
        [1, 0, 600, 604_800, 300],
        [1, 3600, 0, 604_800, 300],
        [1, 3600, 600, 0, 300],
        [1, 0x8000_0000, 600, 604_800, 300],
    ] {
        let e = check_timers(&bad).unwrap_err();
        assert!(e.contains("absurd SOA"), "{e}");
    }
}

#[test]
fn timers_are_clamped_to_the_operator_bounds() {
    let (min, max) = (Duration::from_secs(2), Duration::from_secs(100));
    assert_eq!(clamp(1, min, max), min);
    assert_eq!(clamp(50, min, max), Duration::from_secs(50));
    assert_eq!(clamp(86_400, min, max), max);
    // A maximum below the minimum gives the minimum.
    assert_eq!(clamp(50, min, Duration::from_secs(1)), min);
}

#[test]
fn status_round_trips_through_its_persisted_form() {
    let st = SecondaryStatus {
        primary_serial: Some(7),
        next_refresh_ms: 123,
        expires_at_ms: Some(456),
        last_error: Some("x".into()),
        last_transfer: Some(TransferInfo {
            kind: "IXFR".into(),
            serial_to: 7,
            ..Default::default()
        }),
        ..Default::default()
    };
    let text = serde_json::to_string(&st).unwrap();
    assert_eq!(serde_json::from_str::<SecondaryStatus>(&text).unwrap(), st);
    // Older persisted forms with fewer fields still load.
    let old: SecondaryStatus = serde_json::from_str("{\"next_refresh_ms\": 5}").unwrap();
    assert_eq!(old.next_refresh_ms, 5);
}
