//! SOA serial arithmetic (RFC 1982) and the per-zone serial policies.

use serde::{Deserialize, Serialize};

/// How a zone's SOA serial advances on each change.
///
/// Every policy falls back to `current + 1` when its candidate is not newer
/// than the current serial (RFC 1982 §3.2), so serials never go backwards.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SerialPolicy {
    /// `YYYYMMDDnn` in UTC: today's `nn = 00`, else the next `nn`.
    #[default]
    Date,
    /// The current serial plus one.
    Increment,
    /// Unix time in seconds (truncated to 32 bits).
    Unixtime,
}

impl SerialPolicy {
    /// The serial following `current` at unix time `now` (seconds).
    pub fn next(self, current: u32, now: i64) -> u32 {
        match self {
            SerialPolicy::Increment => current.wrapping_add(1),
            SerialPolicy::Unixtime => next_serial(current, now as u32),
            // Once today's nn=00 is not newer, +1 walks nn up and then past 99 into tomorrow's range.
            SerialPolicy::Date => next_serial(current, date_serial(now)),
        }
    }
}

/// `YYYYMMDD00` for the UTC day of unix time `now` (seconds); saturates outside 32 bits.
pub fn date_serial(now: i64) -> u32 {
    let (y, m, d) = civil_from_days(now.div_euclid(86_400));
    let v = (y * 10_000 + i64::from(m) * 100 + i64::from(d)) * 100;
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub use zonecast_proto::types::serial_gt;

/// The serial to store after `current`: `candidate` when it is newer, else `current + 1` (wrapping).
pub fn next_serial(current: u32, candidate: u32) -> u32 {
    if serial_gt(candidate, current) {
        candidate
    } else {
        current.wrapping_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_arithmetic() {
        assert!(serial_gt(2, 1));
        assert!(!serial_gt(1, 2));
        assert!(serial_gt(0, u32::MAX));
        assert!(!serial_gt(5, 5));
        assert_eq!(next_serial(10, 20), 20);
        assert_eq!(next_serial(10, 5), 11);
        assert_eq!(next_serial(10, 10), 11);
        assert_eq!(next_serial(u32::MAX, 3), 3);
        assert_eq!(next_serial(u32::MAX, u32::MAX), 0);
    }

    // 2026-11-23T22:00:00Z
    const NOW: i64 = 1_795_471_200;

    #[test]
    fn dates() {
        assert_eq!(date_serial(0), 1970010100);
        assert_eq!(date_serial(NOW), 2026112300);
        assert_eq!(date_serial(951_782_400), 2000022900);
        assert_eq!(date_serial(-86_400), 1969123100);
    }

    #[test]
    fn policies() {
        use SerialPolicy::*;
        assert_eq!(Increment.next(7, NOW), 8);
        assert_eq!(Unixtime.next(7, NOW), NOW as u32);
        assert_eq!(Unixtime.next(NOW as u32, NOW), NOW as u32 + 1);
        assert_eq!(Date.next(5, NOW), 2026112300);
        assert_eq!(Date.next(2026112300, NOW), 2026112301);
        assert_eq!(Date.next(2026112398, NOW), 2026112399);
        // nn=99 used up, or a serial ahead of today: +1.
        assert_eq!(Date.next(2026112399, NOW), 2026112400);
        assert_eq!(Date.next(2030010100, NOW), 2030010101);
        assert_eq!(Date.next(2026112207, NOW), 2026112300);
    }
}
