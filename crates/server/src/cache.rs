//! A small bounded cache with an age limit, for what the listeners must
//! read from a store without doing so per packet (TSIG keys, transfer ACLs).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Values (absence included) remembered for at most `ttl`, at most `max` keys.
///
/// When full, it is emptied whole: keys come from untrusted packets, and a
/// flood of junk names must not grow memory or cost more than a refill.
pub struct TtlCache<K, V> {
    ttl: Duration,
    max: usize,
    map: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K: Hash + Eq + Clone, V: Clone> TtlCache<K, V> {
    /// An empty cache.
    pub fn new(ttl: Duration, max: usize) -> TtlCache<K, V> {
        TtlCache {
            ttl,
            max: max.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The value for `key`: remembered if younger than the TTL, else from `load` (then remembered).
    pub fn get_or_load(&self, key: &K, load: impl FnOnce() -> V) -> V {
        let ttl = self.ttl;
        self.get_or_load_for(key, load, |_| ttl)
    }

    /// [`TtlCache::get_or_load`] with the time a loaded value is remembered
    /// chosen per value (e.g. absence shorter than presence).
    pub fn get_or_load_for(
        &self,
        key: &K,
        load: impl FnOnce() -> V,
        ttl_of: impl FnOnce(&V) -> Duration,
    ) -> V {
        let now = Instant::now();
        if let Some((v, until)) = self.lock().get(key) {
            if now < *until {
                return v.clone();
            }
        }
        let v = load();
        let until = now + ttl_of(&v).min(self.ttl);
        let mut map = self.lock();
        if map.len() >= self.max {
            map.clear();
        }
        map.insert(key.clone(), (v.clone(), until));
        v
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (V, Instant)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn values_are_reused_until_they_age_and_the_cache_stays_bounded() {
        let c: TtlCache<u32, Option<u32>> = TtlCache::new(Duration::from_millis(50), 3);
        let loads = Cell::new(0);
        let load = |v| {
            loads.set(loads.get() + 1);
            v
        };
        assert_eq!(c.get_or_load(&1, || load(Some(10))), Some(10));
        assert_eq!(c.get_or_load(&1, || load(Some(11))), Some(10), "remembered");
        assert_eq!(c.get_or_load(&2, || load(None)), None);
        assert_eq!(
            c.get_or_load(&2, || load(Some(20))),
            None,
            "absence is remembered too"
        );
        assert_eq!(loads.get(), 2);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get_or_load(&1, || load(Some(12))), Some(12), "aged out");
        for k in 3..10 {
            c.get_or_load(&k, || load(None));
        }
        assert!(c.lock().len() <= 3);
    }

    #[test]
    fn a_value_may_be_remembered_shorter() {
        let c: TtlCache<u32, Option<u32>> = TtlCache::new(Duration::from_secs(60), 10);
        let short = |v: &Option<u32>| {
            if v.is_none() {
                Duration::from_millis(20)
            } else {
                Duration::from_secs(60)
            }
        };
        assert_eq!(c.get_or_load_for(&1, || None, short), None);
        assert_eq!(
            c.get_or_load_for(&1, || Some(1), short),
            None,
            "still remembered"
        );
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(
            c.get_or_load_for(&1, || Some(1), short),
            Some(1),
            "absence aged out"
        );
        assert_eq!(
            c.get_or_load_for(&1, || Some(2), short),
            Some(1),
            "presence kept"
        );
    }
}
