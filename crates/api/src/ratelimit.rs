//! A request rate per API key: one token bucket per key.
//!
//! Each authenticated request spends a token of its key's bucket, which
//! holds at most `burst` tokens and refills at `rate` per second; a request
//! finding it empty gets **429** `rate_limited` with `Retry-After` (RFC 6585
//! §4, RFC 9110 §10.2.3) in whole seconds. Buckets exist only for keys that
//! authenticated (so their number is bounded by the keys stored). Requests
//! without a valid token are not counted here: they cost one hash lookup
//! and are bounded by the connection limits.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The per-key rate; `rate == 0` turns it off.
#[derive(Debug)]
pub struct KeyRate {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl KeyRate {
    /// `rate` requests per second per key, bursts of up to `burst` (at least 1).
    pub fn new(rate: u32, burst: u32) -> KeyRate {
        KeyRate {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// No limit.
    pub fn off() -> KeyRate {
        KeyRate::new(0, 1)
    }

    /// Spends one token of `key` at `now`; `Err` holds how long until one is back.
    pub fn spend(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if self.rate == 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - b.tokens) / self.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let r = KeyRate::new(10, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(r.spend("a", t0), Ok(()));
        }
        let wait = r.spend("a", t0).unwrap_err();
        assert!(
            wait > Duration::from_millis(90) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        // Another key has its own bucket.
        assert_eq!(r.spend("b", t0), Ok(()));
        // 100 ms later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(r.spend("a", t1), Ok(()));
        assert!(r.spend("a", t1).is_err());
        // Long idle refills to the burst, not beyond.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(r.spend("a", t2), Ok(()));
        }
        assert!(r.spend("a", t2).is_err());
    }

    #[test]
    fn off_never_limits() {
        let r = KeyRate::off();
        let t = Instant::now();
        for _ in 0..10_000 {
            assert_eq!(r.spend("a", t), Ok(()));
        }
    }
}
