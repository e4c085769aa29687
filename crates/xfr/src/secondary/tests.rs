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

/// A zone with a successful check at `t0`: refresh due in 60 s, expiry in 600 s.
fn checked_at(t0: i64) -> SecondaryStatus {
    SecondaryStatus {
        last_success_ms: Some(t0),
        next_refresh_ms: t0 + 60_000,
        expires_at_ms: Some(t0 + 600_000),
        ..Default::default()
    }
}

/// What the refresh machine does with a reading of the clocks: moves the
/// timers by a jump, then whether the zone is due to expire, and how long
/// until the next refresh (wall ms).
fn step(
    st: &mut SecondaryStatus,
    clock: &mut ClockWatch,
    wall: i64,
    mono: std::time::Instant,
) -> (bool, i64) {
    if let Some(skew) = clock.jump(wall, mono) {
        shift_timers(st, skew);
    }
    let expired = st.expires_at_ms.is_some_and(|e| wall >= e);
    (expired, st.next_refresh_ms - wall)
}

#[test]
fn a_wall_clock_jump_forward_past_expire_does_not_expire_the_zone() {
    let (t0, m0) = (1_800_000_000_000i64, std::time::Instant::now());
    let mut st = checked_at(t0);
    let mut clock = ClockWatch::new(t0, m0);
    // 10 s of real time later the wall clock says 30 days later.
    let wall = t0 + 10_000 + 30 * 86_400_000;
    let (expired, refresh_in) = step(&mut st, &mut clock, wall, m0 + Duration::from_secs(10));
    assert!(!expired, "expired by a clock jump: {st:?}");
    assert_eq!(refresh_in, 50_000, "the refresh stays 50 s away");
    assert_eq!(st.expires_at_ms.unwrap() - wall, 590_000);
    // Real time goes on: it expires 600 s after the last success, not before.
    let (expired, _) = step(
        &mut st,
        &mut clock,
        wall + 589_000,
        m0 + Duration::from_secs(599),
    );
    assert!(!expired);
    let (expired, _) = step(
        &mut st,
        &mut clock,
        wall + 590_000,
        m0 + Duration::from_secs(600),
    );
    assert!(expired);
}

#[test]
fn a_wall_clock_jump_backward_does_not_put_off_the_refresh_or_the_expiry() {
    let (t0, m0) = (1_800_000_000_000i64, std::time::Instant::now());
    let mut st = checked_at(t0);
    let mut clock = ClockWatch::new(t0, m0);
    // 10 s later the wall clock says a year earlier.
    let wall = t0 + 10_000 - 365 * 86_400_000;
    let (expired, refresh_in) = step(&mut st, &mut clock, wall, m0 + Duration::from_secs(10));
    assert!(!expired);
    assert_eq!(refresh_in, 50_000, "the refresh is not a year away: {st:?}");
    // Expiry 600 s after the last success in real time, whatever the wall clock says.
    let (expired, _) = step(
        &mut st,
        &mut clock,
        wall + 590_000,
        m0 + Duration::from_secs(600),
    );
    assert!(expired, "kept unexpired by a clock jump: {st:?}");
}

#[test]
fn clock_drift_within_the_tolerance_is_not_a_jump() {
    let (t0, m0) = (1_800_000_000_000i64, std::time::Instant::now());
    let mut clock = ClockWatch::new(t0, m0);
    assert_eq!(clock.jump(t0 + 60_500, m0 + Duration::from_secs(60)), None);
    assert_eq!(
        clock.jump(t0 + 119_000, m0 + Duration::from_secs(120)),
        None
    );
    // Each reading is measured from the one before: 66 s of wall clock in 60 s.
    assert_eq!(
        clock.jump(t0 + 185_000, m0 + Duration::from_secs(180)),
        Some(6_000)
    );
}

#[test]
fn timers_loaded_after_the_clock_went_back_are_bounded_by_their_intervals() {
    let t0 = 1_800_000_000_000i64;
    let max = Duration::from_secs(86_400);
    // Stored at t0; the process restarts with the clock a week behind.
    let mut st = checked_at(t0);
    let now = t0 - 7 * 86_400_000;
    bound_loaded_timers(&mut st, now, max);
    assert_eq!(st.next_refresh_ms, now, "refresh due now, not in a week");
    assert_eq!(
        st.expires_at_ms,
        Some(now + 600_000),
        "one expire interval, not a week more"
    );
    // A normal restart (clock ahead by the downtime) keeps the timers.
    let mut st = checked_at(t0);
    bound_loaded_timers(&mut st, t0 + 5_000, max);
    assert_eq!(st, checked_at(t0));
    // A restart past the expiry keeps it past (no fresh interval).
    let mut st = checked_at(t0);
    bound_loaded_timers(&mut st, t0 + 700_000, max);
    assert_eq!(st.expires_at_ms, Some(t0 + 600_000));
}

/// The wakes a burst of NOTIFYs leaves: the newest serial (RFC 1982) is
/// kept, one without a serial asks for a check whatever the serials, and
/// a zone whose last successful check reached the serial needs no check
/// (unless it is expired or its last check failed).
#[test]
fn wakes_keep_the_newest_serial_and_ask_for_a_check_only_when_it_is_new() {
    let mut w = Wakes::default();
    for s in [7, 9, 8] {
        w.add(Some(s));
    }
    assert_eq!(w.newest, Some(9));
    w.add(Some(1)); // older than 9 by RFC 1982
    assert_eq!(w.newest, Some(9));
    let mut wrap = Wakes::default();
    wrap.add(Some(u32::MAX));
    wrap.add(Some(3)); // newer than 2^32-1 by RFC 1982
    assert_eq!(wrap.newest, Some(3));
    let mut st = SecondaryStatus {
        checked_serial: Some(9),
        ..SecondaryStatus::default()
    };
    assert!(!w.want_check(&st), "serial 9 reached");
    assert!(has_serial(&st, 8) && has_serial(&st, 9) && !has_serial(&st, 10));
    st.failures = 1;
    assert!(w.want_check(&st), "the last check failed: check again");
    st.failures = 0;
    st.expired = true;
    assert!(w.want_check(&st), "expired: check again");
    st.expired = false;
    w.add(None);
    assert!(w.want_check(&st), "a wake without a serial always checks");
    assert!(!Wakes::default().want_check(&st), "no wake, no check");
    assert!(!has_serial(&SecondaryStatus::default(), 0), "never checked");
}
