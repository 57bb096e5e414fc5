//! Keyed hashes of recovery codes, out-of-band codes and device tokens.
//!
//! What the user holds (a recovery code, an SMS code, a device cookie) is stored only
//! as HMAC-SHA-256 under a key the host provides and keeps outside the database (its
//! KMS, a secret manager). A leaked table of hashes then cannot be brute-forced offline:
//! without the key, the 10^6 possible SMS codes cannot even be tried. Every hash binds
//! what it is for and whose it is, so no hash stands in for another.

use std::fmt;

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::otp::SecretError;
use crate::otp::ct;
use crate::vocabulary::UserId;

/// The host's key for hashing what users hold. All app servers must share it; losing
/// it invalidates every recovery code, pending SMS code and remembered device.
#[derive(Clone)]
pub struct HashKey {
    /// HMAC-SHA-256 keyed once, so a hash costs no key set-up; its inner and outer
    /// states are wiped on drop (sha2's `zeroize`), and the key itself is not kept.
    keyed: hmac::Hmac<sha2::Sha256>,
}

/// The keyed states wipe themselves.
impl ZeroizeOnDrop for HashKey {}

impl HashKey {
    /// The shortest key accepted: 256 bits.
    pub const MIN_LEN: usize = 32;

    /// A key from the host's key material (at least 32 bytes).
    ///
    /// # Errors
    /// [`SecretError::TooLong`] above 256 bytes; [`SecretError::TooShort`] below 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<HashKey, SecretError> {
        if bytes.len() < HashKey::MIN_LEN {
            return Err(SecretError::TooShort { min: HashKey::MIN_LEN, found: bytes.len() });
        }
        if bytes.len() > 256 {
            return Err(SecretError::TooLong { max: 256 });
        }
        Ok(HashKey::keyed(bytes))
    }

    /// A random key, for tests and single-process demos.
    ///
    /// # Errors
    /// [`SecretError::RandomSource`] if the operating system's random source fails.
    pub fn generate() -> Result<HashKey, SecretError> {
        let mut bytes = vec![0u8; HashKey::MIN_LEN];
        crate::otp::random::fill(&mut bytes)?;
        Ok(HashKey::keyed(&Zeroizing::new(bytes)))
    }

    fn keyed(key: &[u8]) -> HashKey {
        // HMAC accepts keys of any length, so this cannot fail.
        let keyed = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
            .unwrap_or_else(|_| <hmac::Hmac<sha2::Sha256> as KeyInit>::new(&Default::default()));
        HashKey { keyed }
    }

    /// HMAC-SHA-256 of `parts` for `purpose`, bound to no user (each part
    /// length-prefixed, as [`HashKey::hash`] does).
    pub(crate) fn tag(&self, purpose: &str, parts: &[&[u8]]) -> [u8; 32] {
        self.mac(core::iter::once(purpose.as_bytes()).chain(parts.iter().copied()))
    }

    /// HMAC-SHA-256 over the purpose, the user and the parts, each length-prefixed.
    pub(crate) fn hash(&self, purpose: &str, user: &UserId, parts: &[&[u8]]) -> Digest {
        Digest(
            self.mac([purpose.as_bytes(), user.as_str().as_bytes()].into_iter().chain(parts.iter().copied())),
        )
    }

    /// HMAC-SHA-256 over `parts`, each preceded by its length, so no two lists of
    /// parts give the same input.
    fn mac<'p>(&self, parts: impl Iterator<Item = &'p [u8]>) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashKey(..)")
    }
}

/// A keyed hash as stored in the record (base32 in the serialised form).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest as base32 in a buffer wiped when dropped, for a digest that is itself
    /// a credential (the MAC of a link).
    pub(crate) fn to_base32_wiped(self) -> zeroize::Zeroizing<String> {
        crate::otp::base32_wiped(&self.0)
    }

    /// Whether two digests are equal, in constant time.
    pub(crate) fn matches(&self, other: &Digest) -> bool {
        ct::bytes_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digest(..)")
    }
}

impl From<Digest> for String {
    fn from(digest: Digest) -> String {
        base32::encode(base32::Alphabet::Rfc4648 { padding: false }, &digest.0)
    }
}

impl TryFrom<String> for Digest {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &text)
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(Digest)
            .ok_or_else(|| "a stored hash is not 32 bytes of base32".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_bind_key_purpose_user_and_parts() {
        let key = HashKey::from_bytes(&[7; 32]).unwrap();
        let alice = UserId::new("alice");
        let base = key.hash("recovery", &alice, &[b"ABCD"]);
        assert!(base.matches(&key.hash("recovery", &alice, &[b"ABCD"])));
        assert!(!base.matches(&key.hash("oob", &alice, &[b"ABCD"])));
        assert!(!base.matches(&key.hash("recovery", &UserId::new("bob"), &[b"ABCD"])));
        assert!(!base.matches(&key.hash("recovery", &alice, &[b"ABCE"])));
        assert!(!base.matches(&key.hash("recovery", &alice, &[b"AB", b"CD"])));
        let other = HashKey::from_bytes(&[8; 32]).unwrap();
        assert!(!base.matches(&other.hash("recovery", &alice, &[b"ABCD"])));
    }

    #[test]
    fn the_key_prepared_once_gives_the_hmac_of_the_length_prefixed_parts() {
        // Hashes stored by earlier versions (the key set up for each hash) still match.
        let key = HashKey::from_bytes(&[7; 32]).unwrap();
        let mut fresh = hmac::Hmac::<sha2::Sha256>::new_from_slice(&[7; 32]).unwrap();
        for part in [&b"recovery"[..], b"alice", b"ABCD"] {
            fresh.update(&(part.len() as u64).to_be_bytes());
            fresh.update(part);
        }
        let expected: [u8; 32] = fresh.finalize().into_bytes().into();
        let hashed = key.hash("recovery", &UserId::new("alice"), &[b"ABCD"]);
        assert!(hashed.matches(&Digest(expected)));
        assert!(key.hash("recovery", &UserId::new("alice"), &[b"ABCD"]).matches(&hashed), "reusable");
    }

    #[test]
    fn short_keys_are_refused_and_nothing_is_printed() {
        assert!(HashKey::from_bytes(&[1; 16]).is_err());
        let key = HashKey::generate().unwrap();
        assert_eq!(format!("{key:?}"), "HashKey(..)");
        let digest = key.hash("x", &UserId::new("u"), &[]);
        assert_eq!(format!("{digest:?}"), "Digest(..)");
        let text = String::from(digest);
        assert_eq!(Digest::try_from(text).unwrap(), digest);
    }
}
