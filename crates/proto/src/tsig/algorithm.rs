//! TSIG MAC algorithms (RFC 8945 §6), shared keys, and the running HMAC
//! state (RFC 2104) the signers and verifiers feed.

use super::error::TsigError;
use crate::name::Name;
use hmac::{Hmac, KeyInit, Mac};
use std::fmt;

/// A TSIG MAC algorithm (RFC 8945 §6); the default is HMAC-SHA256.
///
/// Only the full-length HMACs: the truncated `hmac-sha256-128` and
/// friends are not offered, and truncated MACs are refused (local policy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `hmac-md5.sig-alg.reg.int.` (RFC 8945 §6: MUST implement, but deprecated).
    HmacMd5,
    /// `hmac-sha1.` (RFC 4635).
    HmacSha1,
    /// `hmac-sha224.` (RFC 4635).
    HmacSha224,
    /// `hmac-sha256.` (RFC 4635), the default.
    #[default]
    HmacSha256,
    /// `hmac-sha384.` (RFC 4635).
    HmacSha384,
    /// `hmac-sha512.` (RFC 4635).
    HmacSha512,
}

impl Algorithm {
    /// Every supported algorithm, weakest first.
    pub const ALL: [Algorithm; 6] = [
        Algorithm::HmacMd5,
        Algorithm::HmacSha1,
        Algorithm::HmacSha224,
        Algorithm::HmacSha256,
        Algorithm::HmacSha384,
        Algorithm::HmacSha512,
    ];

    /// Short API name and canonical (lowercase) uncompressed wire name.
    fn entry(self) -> (&'static str, &'static [u8]) {
        match self {
            Algorithm::HmacMd5 => ("hmac-md5", b"\x08hmac-md5\x07sig-alg\x03reg\x03int\x00"),
            Algorithm::HmacSha1 => ("hmac-sha1", b"\x09hmac-sha1\x00"),
            Algorithm::HmacSha224 => ("hmac-sha224", b"\x0bhmac-sha224\x00"),
            Algorithm::HmacSha256 => ("hmac-sha256", b"\x0bhmac-sha256\x00"),
            Algorithm::HmacSha384 => ("hmac-sha384", b"\x0bhmac-sha384\x00"),
            Algorithm::HmacSha512 => ("hmac-sha512", b"\x0bhmac-sha512\x00"),
        }
    }

    /// The algorithm named by a wire algorithm name, compared case-insensitively.
    pub fn from_name(name: &Name) -> Option<Algorithm> {
        Self::from_wire_name(name.as_wire())
    }

    /// The algorithm named by uncompressed wire octets, compared case-insensitively.
    pub fn from_wire_name(wire: &[u8]) -> Option<Algorithm> {
        Self::ALL
            .into_iter()
            .find(|a| a.entry().1.eq_ignore_ascii_case(wire))
    }

    /// The wire algorithm name, e.g. `hmac-sha256.` (lowercase, as written in TSIG RRs).
    pub fn to_name(self) -> Name {
        Name::from_trusted_wire(self.entry().1)
    }

    /// The canonical (lowercase) uncompressed wire octets of the algorithm name.
    pub fn wire_name(self) -> &'static [u8] {
        self.entry().1
    }

    /// The API's short name, e.g. `hmac-sha256` (also for MD5: `hmac-md5`).
    pub fn short_name(self) -> &'static str {
        self.entry().0
    }

    /// Parses a short name (`hmac-sha256`, ...), case-insensitively.
    ///
    /// The wire name in presentation form (`hmac-sha256.`,
    /// `hmac-md5.sig-alg.reg.int`) is accepted too, as key files write it.
    pub fn from_short_name(text: &str) -> Option<Algorithm> {
        if let Some(a) = Self::ALL
            .into_iter()
            .find(|a| a.entry().0.eq_ignore_ascii_case(text))
        {
            return Some(a);
        }
        let name: Name = text.parse().ok()?;
        Self::from_name(&name)
    }

    /// Length in octets of the full (untruncated) MAC.
    pub fn mac_len(self) -> usize {
        match self {
            Algorithm::HmacMd5 => 16,
            Algorithm::HmacSha1 => 20,
            Algorithm::HmacSha224 => 28,
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha384 => 48,
            Algorithm::HmacSha512 => 64,
        }
    }

    /// Shortest MAC RFC 8945 §5.2.2.1 allows at all: max(10, half the hash length).
    ///
    /// A shorter, non-empty MAC is FORMERR; one from here up to the full
    /// length is a truncation, which this implementation refuses (BADTRUNC).
    pub fn min_mac_len(self) -> usize {
        (self.mac_len() / 2).max(10)
    }
}

impl fmt::Display for Algorithm {
    /// Writes the short name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = TsigError;
    /// Same as [`Algorithm::from_short_name`].
    fn from_str(s: &str) -> Result<Algorithm, TsigError> {
        Algorithm::from_short_name(s).ok_or_else(|| TsigError::UnknownAlgorithm(s.to_string()))
    }
}

/// A TSIG shared key (RFC 8945 §3): name, algorithm and raw secret.
///
/// The name is what the TSIG RR's owner carries; it is compared
/// case-insensitively and enters MACs lowercased, so its case does not
/// matter. `Debug` does not print the secret.
#[derive(Clone)]
pub struct Key {
    /// Key name, absolute (lowercase when built by [`Key::new`]).
    pub name: Name,
    /// MAC algorithm the key is used with.
    pub algorithm: Algorithm,
    /// The raw shared secret (not base64).
    pub secret: Vec<u8>,
}

impl Key {
    /// Builds a key from a stored row: name like `transfer-key`, short algorithm name, raw secret.
    ///
    /// The name is made absolute (a missing trailing dot is added) and
    /// lowercase. An empty secret is refused: HMAC would accept it, but
    /// such a key authenticates nothing.
    pub fn new(name: &str, algorithm: &str, secret: Vec<u8>) -> Result<Key, TsigError> {
        let name: Name = name.parse().map_err(TsigError::KeyName)?;
        if name.is_root() {
            return Err(TsigError::KeyName(crate::Error::Malformed(
                "a key cannot be named '.'",
            )));
        }
        let algorithm = algorithm.parse()?;
        if secret.is_empty() {
            return Err(TsigError::EmptySecret);
        }
        Ok(Key {
            name: name.to_lowercase(),
            algorithm,
            secret,
        })
    }

    /// Octets a TSIG RR signed with this key adds to a message (Other Len 0).
    ///
    /// Add 6 for a BADTIME error response, whose Other Data is the server time.
    pub fn tsig_len(&self) -> usize {
        super::wire::rr_len(
            self.name.wire_len(),
            self.algorithm.wire_name().len(),
            self.algorithm.mac_len(),
            0,
        )
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &format_args!("<{} octets>", self.secret.len()))
            .finish()
    }
}

/// A running HMAC over the data fed so far, for one key.
#[derive(Clone)]
pub(crate) enum MacState {
    Md5(Hmac<md5::Md5>),
    Sha1(Hmac<sha1::Sha1>),
    Sha224(Hmac<sha2::Sha224>),
    Sha256(Hmac<sha2::Sha256>),
    Sha384(Hmac<sha2::Sha384>),
    Sha512(Hmac<sha2::Sha512>),
}

/// Applies one expression to whichever HMAC a [`MacState`] holds.
macro_rules! each_mac {
    ($state:expr, $m:ident => $body:expr) => {
        match $state {
            MacState::Md5($m) => $body,
            MacState::Sha1($m) => $body,
            MacState::Sha224($m) => $body,
            MacState::Sha256($m) => $body,
            MacState::Sha384($m) => $body,
            MacState::Sha512($m) => $body,
        }
    };
}

impl MacState {
    /// A fresh HMAC keyed with `key`'s secret.
    ///
    /// HMAC takes keys of any length, so the error cannot happen; it is
    /// reported rather than unwrapped.
    pub(crate) fn new(key: &Key) -> Result<MacState, TsigError> {
        let s = key.secret.as_slice();
        let bad = |_| TsigError::Secret;
        Ok(match key.algorithm {
            Algorithm::HmacMd5 => MacState::Md5(Hmac::new_from_slice(s).map_err(bad)?),
            Algorithm::HmacSha1 => MacState::Sha1(Hmac::new_from_slice(s).map_err(bad)?),
            Algorithm::HmacSha224 => MacState::Sha224(Hmac::new_from_slice(s).map_err(bad)?),
            Algorithm::HmacSha256 => MacState::Sha256(Hmac::new_from_slice(s).map_err(bad)?),
            Algorithm::HmacSha384 => MacState::Sha384(Hmac::new_from_slice(s).map_err(bad)?),
            Algorithm::HmacSha512 => MacState::Sha512(Hmac::new_from_slice(s).map_err(bad)?),
        })
    }

    /// Feeds more octets.
    pub(crate) fn update(&mut self, data: &[u8]) {
        each_mac!(self, m => m.update(data))
    }

    /// The full MAC over everything fed.
    pub(crate) fn finalize(self) -> Vec<u8> {
        each_mac!(self, m => m.finalize().into_bytes().to_vec())
    }

    /// True when `tag` equals the leading octets of the MAC, compared in constant time.
    ///
    /// An empty tag or one longer than the MAC never matches.
    pub(crate) fn verify(self, tag: &[u8]) -> bool {
        each_mac!(self, m => m.verify_truncated_left(tag).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(&a.to_name()), Some(a));
            assert_eq!(Algorithm::from_short_name(a.short_name()), Some(a));
            assert_eq!(a.to_string().parse::<Algorithm>().unwrap(), a);
            assert_eq!(a.to_name().wire_len(), a.wire_name().len());
            assert!(a.min_mac_len() <= a.mac_len());
        }
        let upper: Name = "HMAC-MD5.SIG-ALG.REG.INT.".parse().unwrap();
        assert_eq!(Algorithm::from_name(&upper), Some(Algorithm::HmacMd5));
        assert_eq!(
            Algorithm::from_short_name("HMAC-SHA512"),
            Some(Algorithm::HmacSha512)
        );
        assert_eq!(
            Algorithm::from_short_name("hmac-sha384."),
            Some(Algorithm::HmacSha384)
        );
        assert_eq!(Algorithm::from_short_name("hmac-sha256-128"), None);
        assert_eq!(Algorithm::default(), Algorithm::HmacSha256);
        assert_eq!(Algorithm::HmacSha256.to_name().to_string(), "hmac-sha256.");
        assert_eq!(Algorithm::HmacSha256.min_mac_len(), 16);
        assert_eq!(Algorithm::HmacMd5.min_mac_len(), 10);
    }

    #[test]
    fn mac_lengths_match_the_hash() {
        for a in Algorithm::ALL {
            let key = Key::new("k", a.short_name(), vec![1, 2, 3]).unwrap();
            assert_eq!(MacState::new(&key).unwrap().finalize().len(), a.mac_len());
        }
    }

    #[test]
    fn known_hmac_sha256() {
        // RFC 4231 test case 2.
        let key = Key {
            name: Name::root(),
            algorithm: Algorithm::HmacSha256,
            secret: b"Jefe".to_vec(),
        };
        let mut m = MacState::new(&key).unwrap();
        m.update(b"what do ya want ");
        m.update(b"for nothing?");
        let hex: String = m.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn key_rows() {
        let k = Key::new("Transfer-Key", "hmac-sha256", b"topsecret".to_vec()).unwrap();
        assert_eq!(k.name.as_wire(), b"\x0ctransfer-key\x00");
        assert_eq!(k.algorithm, Algorithm::HmacSha256);
        let debug = format!("{k:?}");
        assert!(
            debug.contains("<9 octets>") && !debug.contains("116"),
            "{debug}"
        );
        assert!(matches!(
            Key::new("k", "hmac-sha3", b"s".to_vec()),
            Err(TsigError::UnknownAlgorithm(_))
        ));
        assert!(matches!(
            Key::new("k", "hmac-sha1", Vec::new()),
            Err(TsigError::EmptySecret)
        ));
        assert!(matches!(
            Key::new("a..b", "hmac-sha1", b"s".to_vec()),
            Err(TsigError::KeyName(_))
        ));
        assert!(matches!(
            Key::new(".", "hmac-sha1", b"s".to_vec()),
            Err(TsigError::KeyName(_))
        ));
    }
}
