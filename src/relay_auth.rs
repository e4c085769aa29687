//! Secondary-zone controls relayed between control planes, signed so that
//! an edge cannot forge them.
//!
//! In cluster mode a control plane that does not lead hands `refresh` and
//! `retransfer` (the API's manual controls) to the leader over the
//! `zonecast_dns_notify` PostgreSQL channel, the channel edges relay NOTIFY
//! on. Any role that can connect may `pg_notify` on any channel, edges
//! included, so the leader would retransfer any secondary zone for anyone
//! (docs/security.md §3). Control planes therefore sign these two actions
//! with HMAC-SHA256 under a key kept in the store's `meta` table, which
//! edges cannot read (no grant), and the leader acts only on a signature
//! that verifies and is at most [`MAX_AGE_SECS`] old. NOTIFY relayed by
//! edges stays unsigned: it only asks for an SOA check, as a NOTIFY from
//! the primary would.
//!
//! Every role may LISTEN on the channel, so an edge sees the signed
//! payloads; the leader takes each MAC once ([`first_use`]), so a replay
//! within [`MAX_AGE_SECS`] is refused too.
//!
//! Limitations: the MACs seen are kept in memory; a leader that takes over
//! (or restarts) within [`MAX_AGE_SECS`] of a signed action could take a
//! replay of it once.

use hmac::{KeyInit, Mac};
use zonecast_store::Store;

/// Where the key lives in `meta`.
const META_KEY: &str = "relay_key";

/// Oldest signature the leader takes, seconds (either way, for clock skew).
pub const MAX_AGE_SECS: i64 = 60;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The signing key: read from `meta`, created there when missing.
///
/// Two control planes starting at once may both create one; the second
/// write wins and both read it back, so they agree from then on.
fn key(store: &Store, create: bool) -> Result<Option<Vec<u8>>, String> {
    let read = || -> Result<Option<Vec<u8>>, String> {
        let text = store.meta_get(META_KEY).map_err(|e| e.to_string())?;
        Ok(text.and_then(|t| from_hex(&t)))
    };
    if let Some(k) = read()? {
        return Ok(Some(k));
    }
    if !create {
        return Ok(None);
    }
    let fresh: [u8; 32] = rand::random();
    store
        .meta_set(META_KEY, &to_hex(&fresh))
        .map_err(|e| e.to_string())?;
    read()
}

/// The MAC of one action, as lowercase hex.
fn mac(key: &[u8], zone: &str, action: &str, from: &str, at: i64) -> Option<String> {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).ok()?;
    m.update(format!("{zone}\n{action}\n{from}\n{at}").as_bytes());
    Some(to_hex(&m.finalize().into_bytes()))
}

/// Adds `at` and `mac` to a control plane's relayed action.
pub fn sign(
    store: &Store,
    payload: &mut serde_json::Map<String, serde_json::Value>,
    now: i64,
) -> Result<(), String> {
    let field = |k: &str| {
        payload
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let (zone, action, from) = (field("zone"), field("action"), field("from"));
    let key = key(store, true)?.ok_or("no relay key in the store")?;
    let mac = mac(&key, &zone, &action, &from, now).ok_or("HMAC refused the key")?;
    payload.insert("at".into(), now.into());
    payload.insert("mac".into(), mac.into());
    Ok(())
}

/// Whether the leader may act on a relayed `refresh` or `retransfer`: the
/// signature verifies under the store's key and is fresh. `Err` says why not.
pub fn verify(store: &Store, payload: &serde_json::Value, now: i64) -> Result<(), String> {
    let field = |k: &str| payload[k].as_str().unwrap_or("");
    let at = payload["at"]
        .as_i64()
        .ok_or("not signed by a control plane (no time)")?;
    let given = payload["mac"]
        .as_str()
        .ok_or("not signed by a control plane (no MAC)")?;
    if (now - at).abs() > MAX_AGE_SECS {
        return Err(format!(
            "signed {}s from now; at most {MAX_AGE_SECS}s are taken",
            now - at
        ));
    }
    let key = key(store, false)?.ok_or("no relay key in the store")?;
    let want = mac(&key, field("zone"), field("action"), field("from"), at)
        .ok_or("HMAC refused the key")?;
    // Both are hex of one length; compare without an early exit.
    let same = want.len() == given.len()
        && want
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |d, (a, b)| d | (a ^ b))
            == 0;
    if !same {
        return Err("the MAC does not verify".into());
    }
    if !first_use(given, now) {
        return Err("replayed (this signed action was taken already)".into());
    }
    Ok(())
}

/// MACs taken in the last [`MAX_AGE_SECS`] and when.
static SEEN: std::sync::Mutex<Vec<(i64, String)>> = std::sync::Mutex::new(Vec::new());

/// Records `mac` as taken at `now`; false when it was taken before (a
/// replay). Entries older than twice the window are dropped.
fn first_use(mac: &str, now: i64) -> bool {
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    seen.retain(|(at, _)| (now - at).abs() <= 2 * MAX_AGE_SECS);
    if seen.iter().any(|(_, m)| m == mac) {
        return false;
    }
    seen.push((now, mac.to_string()));
    true
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() < 32 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(zone: &str, action: &str) -> serde_json::Map<String, serde_json::Value> {
        let v = serde_json::json!({"zone": zone, "action": action, "from": "api"});
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_signed_action_verifies_and_a_forged_or_stale_one_does_not() {
        let store = Store::open_in_memory().unwrap();
        let now = 1_800_000_000;
        let mut p = action("sec.example.", "retransfer");
        sign(&store, &mut p, now).unwrap();
        let signed = serde_json::Value::Object(p.clone());
        assert_eq!(verify(&store, &signed, now + 5), Ok(()));
        // Taken once: the same payload again (an edge LISTENing) is a replay.
        let e = verify(&store, &signed, now + 6).unwrap_err();
        assert!(e.contains("replayed"), "{e}");
        // Unsigned, as an edge with pg_notify would send it.
        let forged = serde_json::Value::Object(action("sec.example.", "retransfer"));
        assert!(verify(&store, &forged, now)
            .unwrap_err()
            .contains("not signed"));
        // Another zone under the same MAC.
        let mut other = p.clone();
        other.insert("zone".into(), "other.example.".into());
        let e = verify(&store, &serde_json::Value::Object(other), now).unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
        // Too old, and from too far ahead.
        assert!(verify(&store, &signed, now + MAX_AGE_SECS + 1).is_err());
        assert!(verify(&store, &signed, now - MAX_AGE_SECS - 1).is_err());
        // A second control plane on the same store uses the same key.
        let mut q = action("sec.example.", "refresh");
        sign(&store, &mut q, now).unwrap();
        assert_eq!(verify(&store, &serde_json::Value::Object(q), now), Ok(()));
    }

    #[test]
    fn without_a_key_in_the_store_nothing_verifies() {
        let store = Store::open_in_memory().unwrap();
        let p = serde_json::json!({"zone": "z.", "action": "refresh", "from": "api",
            "at": 1, "mac": "00".repeat(32)});
        let e = verify(&store, &p, 1).unwrap_err();
        assert!(e.contains("no relay key"), "{e}");
    }

    #[test]
    fn hex_round_trips_and_rejects_junk() {
        let k: [u8; 32] = rand::random();
        assert_eq!(from_hex(&to_hex(&k)).as_deref(), Some(&k[..]));
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(&"g".repeat(64)), None);
        assert_eq!(from_hex("é0"), None);
    }
}
