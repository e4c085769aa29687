//! TSIG keys and API keys (schema version 2): the row types and the SQLite side.

use crate::common::settings_use_key;
use crate::error::{db, StoreError};
use crate::sqlite::SqliteStore;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

/// A stored TSIG key (RFC 8945).
///
/// Its `Debug` shows the secret's length, not the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigKeyRow {
    /// The key's name as given (the API lowercases it), e.g. `transfer-key`; unique ignoring ASCII case.
    pub name: String,
    /// The algorithm's name, e.g. `hmac-sha256`; not checked here.
    pub algorithm: String,
    /// The raw shared secret, stored in clear because signing needs it.
    pub secret: Vec<u8>,
    /// Creation time as given by the caller.
    pub created_at: i64,
}

impl std::fmt::Debug for TsigKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsigKeyRow")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &format_args!("<{} octets>", self.secret.len()))
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A stored API key; the token itself is never stored, only its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRow {
    /// The key's name; unique ignoring ASCII case.
    pub name: String,
    /// SHA-256 of the token; unique.
    pub token_hash: Vec<u8>,
    /// The scopes granted, e.g. `records:write`; not checked here.
    pub scopes: Vec<String>,
    /// The zones the key is limited to; `None` for all zones.
    pub zones: Option<Vec<String>>,
    /// Creation time as given by the caller.
    pub created_at: i64,
    /// Last use as recorded by [`crate::Store::touch_api_key`].
    pub last_used_at: Option<i64>,
}

const API_KEY_COLUMNS: &str = "name, token_hash, scopes, zones, created_at, last_used_at";

/// An API key row as read, JSON columns not yet decoded.
pub(crate) struct RawApiKey {
    pub(crate) name: String,
    pub(crate) token_hash: Vec<u8>,
    pub(crate) scopes: String,
    pub(crate) zones: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) last_used_at: Option<i64>,
}

fn raw_api_key(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawApiKey> {
    Ok(RawApiKey {
        name: row.get(0)?,
        token_hash: row.get(1)?,
        scopes: row.get(2)?,
        zones: row.get(3)?,
        created_at: row.get(4)?,
        last_used_at: row.get(5)?,
    })
}

impl RawApiKey {
    pub(crate) fn decode(self) -> Result<ApiKeyRow, StoreError> {
        let corrupt = |column: &str, e: serde_json::Error| {
            StoreError::Corrupt(format!("API key '{}': {column}: {e}", self.name))
        };
        let scopes: Vec<String> =
            serde_json::from_str(&self.scopes).map_err(|e| corrupt("scopes", e))?;
        let zones: Option<Vec<String>> = match &self.zones {
            Some(text) => Some(serde_json::from_str(text).map_err(|e| corrupt("zones", e))?),
            None => None,
        };
        Ok(ApiKeyRow {
            name: self.name,
            token_hash: self.token_hash,
            scopes,
            zones,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        })
    }
}

pub(crate) fn to_json(list: &[String]) -> String {
    // Serializing strings cannot fail; fall back to an empty list all the same.
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

fn tsig_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TsigKeyRow> {
    Ok(TsigKeyRow {
        name: row.get(0)?,
        algorithm: row.get(1)?,
        secret: row.get(2)?,
        created_at: row.get(3)?,
    })
}

impl SqliteStore {
    /// Stores a new TSIG key; [`StoreError::KeyExists`] when the name is taken (ignoring case).
    pub(crate) fn sqlite_create_tsig_key(&self, key: &TsigKeyRow) -> Result<(), StoreError> {
        let ctx = || format!("creating TSIG key '{}'", key.name);
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(ctx))?;
        let n = tx
            .prepare_cached(
                "INSERT INTO tsig_keys (name, algorithm, secret, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
            )
            .and_then(|mut s| {
                s.execute(params![key.name, key.algorithm, key.secret, key.created_at])
            })
            .map_err(db(ctx))?;
        if n == 0 {
            return Err(StoreError::KeyExists {
                name: key.name.clone(),
            });
        }
        tx.commit().map_err(db(ctx))?;
        Ok(())
    }

    /// All TSIG keys, ordered by name (ignoring case), secrets included.
    pub(crate) fn sqlite_tsig_keys(&self) -> Result<Vec<TsigKeyRow>, StoreError> {
        let ctx = || "listing TSIG keys".to_string();
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT name, algorithm, secret, created_at FROM tsig_keys ORDER BY name",
            )
            .map_err(db(ctx))?;
        let rows = stmt
            .query_map([], tsig_row)
            .map_err(db(ctx))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db(ctx));
        rows
    }

    /// The TSIG key named `name` (ignoring case), if stored.
    pub(crate) fn sqlite_tsig_key(&self, name: &str) -> Result<Option<TsigKeyRow>, StoreError> {
        self.reader()?
            .prepare_cached(
                "SELECT name, algorithm, secret, created_at FROM tsig_keys WHERE name = ?1",
            )
            .and_then(|mut s| s.query_row([name], tsig_row).optional())
            .map_err(db(|| format!("reading TSIG key '{name}'")))
    }

    /// Deletes a TSIG key; false when there was none.
    ///
    /// Refused with [`StoreError::KeyInUse`], naming the zones, while a zone's
    /// settings have `"tsig_key": name` or `"key:name"` in `"allow_transfer"`
    /// (names compared ignoring ASCII case and a trailing dot).
    pub(crate) fn sqlite_delete_tsig_key(&self, name: &str) -> Result<bool, StoreError> {
        let ctx = || format!("deleting TSIG key '{name}'");
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(ctx))?;
        let wanted = name.trim_end_matches('.').to_ascii_lowercase();
        let zones = {
            let mut stmt = tx
                .prepare_cached("SELECT name, settings FROM zones ORDER BY name")
                .map_err(db(ctx))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(db(ctx))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db(ctx))?;
            rows.into_iter()
                .filter(|(_, settings)| settings_use_key(settings, &wanted))
                .map(|(zone, _)| zone)
                .collect::<Vec<_>>()
        };
        if !zones.is_empty() {
            return Err(StoreError::KeyInUse {
                name: name.to_string(),
                zones,
            });
        }
        let n = tx
            .execute("DELETE FROM tsig_keys WHERE name = ?1", [name])
            .map_err(db(ctx))?;
        tx.commit().map_err(db(ctx))?;
        Ok(n > 0)
    }

    /// Stores a new API key.
    ///
    /// Refused with [`StoreError::KeyExists`] when the name is taken (ignoring
    /// case), then [`StoreError::DuplicateToken`] when another key has the same hash.
    pub(crate) fn sqlite_create_api_key(&self, key: &ApiKeyRow) -> Result<(), StoreError> {
        let ctx = || format!("creating API key '{}'", key.name);
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(ctx))?;
        let name_taken: Option<i64> = tx
            .prepare_cached("SELECT 1 FROM api_keys WHERE name = ?1")
            .and_then(|mut s| s.query_row([&key.name], |r| r.get(0)).optional())
            .map_err(db(ctx))?;
        if name_taken.is_some() {
            return Err(StoreError::KeyExists {
                name: key.name.clone(),
            });
        }
        let hash_taken: Option<i64> = tx
            .prepare_cached("SELECT 1 FROM api_keys WHERE token_hash = ?1")
            .and_then(|mut s| s.query_row([&key.token_hash], |r| r.get(0)).optional())
            .map_err(db(ctx))?;
        if hash_taken.is_some() {
            return Err(StoreError::DuplicateToken {
                name: key.name.clone(),
            });
        }
        tx.prepare_cached(&format!(
            "INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        ))
        .and_then(|mut s| {
            s.execute(params![
                key.name,
                key.token_hash,
                to_json(&key.scopes),
                key.zones.as_deref().map(to_json),
                key.created_at,
                key.last_used_at
            ])
        })
        .map_err(db(ctx))?;
        tx.commit().map_err(db(ctx))?;
        Ok(())
    }

    /// All API keys, ordered by name (ignoring case).
    pub(crate) fn sqlite_api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError> {
        let ctx = || "listing API keys".to_string();
        let raws = {
            let conn = self.reader()?;
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY name"
                ))
                .map_err(db(ctx))?;
            let rows = stmt
                .query_map([], raw_api_key)
                .map_err(db(ctx))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db(ctx))?;
            rows
        };
        raws.into_iter().map(RawApiKey::decode).collect()
    }

    /// The API key whose token hashes to `token_hash`, if any.
    pub(crate) fn sqlite_api_key_by_hash(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<ApiKeyRow>, StoreError> {
        let raw = self
            .reader()?
            .prepare_cached(&format!(
                "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE token_hash = ?1"
            ))
            .and_then(|mut s| s.query_row([token_hash], raw_api_key).optional())
            .map_err(db(|| "looking up an API key by token hash".into()))?;
        raw.map(RawApiKey::decode).transpose()
    }

    /// Deletes an API key (name ignoring case); false when there was none.
    pub(crate) fn sqlite_delete_api_key(&self, name: &str) -> Result<bool, StoreError> {
        self.lock()
            .prepare_cached("DELETE FROM api_keys WHERE name = ?1")
            .and_then(|mut s| s.execute([name]))
            .map(|n| n > 0)
            .map_err(db(|| format!("deleting API key '{name}'")))
    }

    /// Records a use of the API key at `at`; a key deleted meanwhile is silently ignored.
    pub(crate) fn sqlite_touch_api_key(&self, name: &str, at: i64) -> Result<(), StoreError> {
        self.lock()
            .prepare_cached("UPDATE api_keys SET last_used_at = ?2 WHERE name = ?1")
            .and_then(|mut s| s.execute(params![name, at]))
            .map(|_| ())
            .map_err(db(|| format!("recording the use of API key '{name}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::TsigKeyRow;

    /// Security review (docs/security.md §2): a key row in a log or a
    /// panic message must not carry its secret.
    #[test]
    fn a_tsig_key_row_debug_hides_the_secret() {
        let row = TsigKeyRow {
            name: "k".into(),
            algorithm: "hmac-sha256".into(),
            secret: b"very-secret-octets".to_vec(),
            created_at: 0,
        };
        let shown = format!("{row:?}");
        assert!(shown.contains("<18 octets>"), "{shown}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(!shown.contains("118, 101, 114"), "{shown}");
    }
}
