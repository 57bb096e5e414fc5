//! A ready sealer: XChaCha20-Poly1305 under keys the host holds, with a key ring.

use std::collections::BTreeMap;
use std::fmt;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use super::{SealError, SealedSecret, SecretSealer};
use crate::otp::Secret;
use crate::vocabulary::UserId;

const NONCE_LEN: usize = 24;
const CONTEXT: &[u8] = b"mfa-kit sealed secret v1";

/// Seals secrets with XChaCha20-Poly1305 (random 192-bit nonces, so no counter to
/// keep) under 256-bit keys the host loads from its secret manager.
///
/// The key id and the user id are bound in as associated data: a sealed secret copied
/// to another user, or relabelled with another key id, does not open. One key seals;
/// retired keys only open, so a rotation is: add the new key as current, keep the old
/// one retired, run [`crate::service::MfaService::reseal`] over every user, then drop
/// the old key.
///
/// ```
/// use mfa_kit::otp::Secret;
/// use mfa_kit::UserId;
/// use mfa_kit::seal::{AeadSealer, SecretSealer};
///
/// let sealer = AeadSealer::new("2026-11", [7u8; 32]); // from your secret manager
/// let alice = UserId::new("alice");
/// let secret = Secret::generate()?;
/// let sealed = sealer.seal(&alice, &secret)?;
/// assert_eq!(sealed.key_id(), "2026-11");
/// assert_eq!(sealer.open(&alice, &sealed)?, secret);
/// assert!(sealer.open(&UserId::new("mallory"), &sealed).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AeadSealer {
    current: String,
    keys: BTreeMap<String, Zeroizing<[u8; 32]>>,
}

impl AeadSealer {
    /// A sealer that seals with `key` under the id `key_id`.
    pub fn new(key_id: impl Into<String>, key: [u8; 32]) -> AeadSealer {
        let current = key_id.into();
        let keys = BTreeMap::from([(current.clone(), Zeroizing::new(key))]);
        AeadSealer { current, keys }
    }

    /// The same sealer, also able to open secrets sealed with a retired key.
    #[must_use]
    pub fn with_retired_key(mut self, key_id: impl Into<String>, key: [u8; 32]) -> AeadSealer {
        let key_id = key_id.into();
        if key_id != self.current {
            self.keys.insert(key_id, Zeroizing::new(key));
        }
        self
    }

    /// The id of the key that seals.
    pub fn current_key_id(&self) -> &str {
        &self.current
    }

    fn cipher(&self, key_id: &str) -> Result<XChaCha20Poly1305, SealError> {
        let key = self.keys.get(key_id).ok_or_else(|| SealError::UnknownKey { key_id: key_id.into() })?;
        XChaCha20Poly1305::new_from_slice(key.as_ref())
            .map_err(|_| SealError::Unavailable("the sealing key is not 32 bytes".into()))
    }
}

/// The associated data: what the ciphertext is, under which key, for whom.
fn associated_data(key_id: &str, user: &UserId) -> Vec<u8> {
    let mut aad = Vec::with_capacity(CONTEXT.len() + key_id.len() + user.as_str().len() + 16);
    for part in [CONTEXT, key_id.as_bytes(), user.as_str().as_bytes()] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part);
    }
    aad
}

impl AeadSealer {
    /// Seals `secret` for `user`, at once (no I/O).
    ///
    /// # Errors
    /// [`SealError`] as the trait describes.
    pub fn seal(&self, user: &UserId, secret: &Secret) -> Result<SealedSecret, SealError> {
        let cipher = self.cipher(&self.current)?;
        let mut nonce = [0u8; NONCE_LEN];
        crate::otp::random::fill(&mut nonce).map_err(|e| SealError::Unavailable(e.to_string()))?;
        let aad = associated_data(&self.current, user);
        let sealed = cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: secret.expose_bytes(), aad: &aad })
            .map_err(|_| SealError::Unavailable("encryption failed".into()))?;
        let mut ciphertext = Vec::with_capacity(NONCE_LEN + sealed.len());
        ciphertext.extend_from_slice(&nonce);
        ciphertext.extend_from_slice(&sealed);
        Ok(SealedSecret::new(self.current.as_str(), ciphertext))
    }

    /// Opens a secret sealed for `user`, at once (no I/O).
    ///
    /// # Errors
    /// [`SealError`] as the trait describes.
    pub fn open(&self, user: &UserId, sealed: &SealedSecret) -> Result<Secret, SealError> {
        let cipher = self.cipher(sealed.key_id())?;
        let (nonce, body) = sealed.ciphertext().split_at_checked(NONCE_LEN).ok_or(SealError::Tampered)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Tampered)?;
        let aad = associated_data(sealed.key_id(), user);
        let plain = Zeroizing::new(
            cipher
                .decrypt(&XNonce::from(nonce), Payload { msg: body, aad: &aad })
                .map_err(|_| SealError::Tampered)?,
        );
        Secret::from_bytes(&plain).map_err(|_| SealError::Tampered)
    }
}

impl SecretSealer for AeadSealer {
    async fn seal(&self, user: &UserId, secret: &Secret) -> Result<SealedSecret, SealError> {
        AeadSealer::seal(self, user, secret)
    }

    async fn open(&self, user: &UserId, sealed: &SealedSecret) -> Result<Secret, SealError> {
        AeadSealer::open(self, user, sealed)
    }
}

impl fmt::Debug for AeadSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AeadSealer")
            .field("current", &self.current)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserId {
        UserId::new("alice")
    }

    #[test]
    fn the_current_key_seals_and_a_retired_one_only_opens() {
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        let old = AeadSealer::new("2025-12", [1; 32]);
        let sealed_before = old.seal(&alice(), &secret).unwrap();
        let rotated = AeadSealer::new("2026-12", [2; 32]).with_retired_key("2025-12", [1; 32]);
        assert_eq!(rotated.current_key_id(), "2026-12");
        assert_eq!(rotated.seal(&alice(), &secret).unwrap().key_id(), "2026-12");
        assert!(rotated.open(&alice(), &sealed_before).is_ok());
        // A retired key given under the current key's id does not replace it.
        let same = AeadSealer::new("2026-12", [2; 32]).with_retired_key("2026-12", [9; 32]);
        assert_eq!(same.current_key_id(), "2026-12");
        assert!(same.open(&alice(), &rotated.seal(&alice(), &secret).unwrap()).is_ok());
    }

    #[test]
    fn seals_with_fresh_nonces_and_opens_only_for_the_same_user_and_key() {
        let sealer = AeadSealer::new("k1", [1; 32]);
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        let a = sealer.seal(&alice(), &secret).unwrap();
        let b = sealer.seal(&alice(), &secret).unwrap();
        assert_ne!(a.ciphertext(), b.ciphertext(), "a fresh nonce every time");
        assert_eq!(a.ciphertext().len(), NONCE_LEN + 20 + 16);
        assert!(!a.ciphertext().windows(20).any(|w| w == b"12345678901234567890"));
        assert_eq!(sealer.open(&alice(), &a), Ok(secret.clone()));
        assert_eq!(sealer.open(&UserId::new("bob"), &a), Err(SealError::Tampered));

        let mut bytes = a.ciphertext().to_vec();
        bytes[30] ^= 1;
        let flipped = SealedSecret::new(a.key_id(), bytes);
        assert_eq!(sealer.open(&alice(), &flipped), Err(SealError::Tampered));
        let truncated = SealedSecret::new(a.key_id(), &a.ciphertext()[..10]);
        assert_eq!(sealer.open(&alice(), &truncated), Err(SealError::Tampered));
        let relabelled = SealedSecret::new("k0", a.ciphertext());
        assert!(matches!(sealer.open(&alice(), &relabelled), Err(SealError::UnknownKey { .. })));
    }

    #[test]
    fn a_rotated_sealer_opens_old_secrets_and_seals_with_the_new_key() {
        let secret = Secret::from_bytes(&[9; 20]).unwrap();
        let old = AeadSealer::new("2025", [1; 32]).seal(&alice(), &secret).unwrap();
        let rotated = AeadSealer::new("2026", [2; 32]).with_retired_key("2025", [1; 32]);
        assert_eq!(rotated.open(&alice(), &old), Ok(secret.clone()));
        assert_eq!(rotated.seal(&alice(), &secret).unwrap().key_id(), "2026");
        // The wrong key under the right id does not open.
        let wrong = AeadSealer::new("2025", [3; 32]);
        assert_eq!(wrong.open(&alice(), &old), Err(SealError::Tampered));
        // A key id relabelled onto another key's ciphertext does not open either.
        let both = AeadSealer::new("2026", [1; 32]).with_retired_key("2025", [1; 32]);
        let relabelled = SealedSecret { key_id: "2026".into(), ..old };
        assert_eq!(both.open(&alice(), &relabelled), Err(SealError::Tampered));
    }

    #[test]
    fn debug_shows_key_ids_only() {
        let sealer = AeadSealer::new("k1", [0xAB; 32]).with_retired_key("k0", [0xCD; 32]);
        let shown = format!("{sealer:?}");
        assert_eq!(shown, r#"AeadSealer { current: "k1", key_ids: ["k0", "k1"] }"#);
    }
}
