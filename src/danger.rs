//! Tools that are unsafe in production, named so that nobody picks them by accident.

use crate::otp::Secret;
use crate::seal::{SealError, SealedSecret, SecretSealer};
use crate::vocabulary::UserId;

/// A sealer that stores secrets **in the clear**, for tests and demos only.
///
/// It keeps the sealer contract otherwise: the user id is written beside the secret and
/// checked on opening, so a secret copied to another user's record still fails with
/// [`SealError::Tampered`]. Anyone who can read the store can read every secret: in
/// production, implement [`SecretSealer`] over your KMS or an AEAD cipher.
#[derive(Clone, Copy, Debug, Default)]
#[allow(clippy::exhaustive_structs, reason = "a marker or a one-field newtype: there is nothing to add")]
pub struct PlaintextSealer;

impl PlaintextSealer {
    /// The key id written beside every secret it "seals".
    pub const KEY_ID: &'static str = "plaintext-insecure";
}

impl PlaintextSealer {
    /// Seals `secret` for `user`, at once (no I/O).
    ///
    /// # Errors
    /// [`SealError`] as the trait describes.
    pub fn seal(&self, user: &UserId, secret: &Secret) -> Result<SealedSecret, SealError> {
        let user = user.as_str().as_bytes();
        let mut ciphertext = Vec::with_capacity(4 + user.len() + secret.len());
        ciphertext.extend_from_slice(&(user.len() as u32).to_be_bytes());
        ciphertext.extend_from_slice(user);
        ciphertext.extend_from_slice(secret.expose_bytes());
        Ok(SealedSecret::new(PlaintextSealer::KEY_ID, ciphertext))
    }

    /// Opens a secret sealed for `user`, at once (no I/O).
    ///
    /// # Errors
    /// [`SealError`] as the trait describes.
    pub fn open(&self, user: &UserId, sealed: &SealedSecret) -> Result<Secret, SealError> {
        if sealed.key_id() != PlaintextSealer::KEY_ID {
            return Err(SealError::UnknownKey { key_id: sealed.key_id().into() });
        }
        let bytes = sealed.ciphertext();
        let (len, rest) = bytes.split_at_checked(4).ok_or(SealError::Tampered)?;
        let len = u32::from_be_bytes(len.try_into().map_err(|_| SealError::Tampered)?) as usize;
        let (bound_user, secret) = rest.split_at_checked(len).ok_or(SealError::Tampered)?;
        if bound_user != user.as_str().as_bytes() {
            return Err(SealError::Tampered);
        }
        Secret::from_bytes(secret).map_err(|_| SealError::Tampered)
    }
}

impl SecretSealer for PlaintextSealer {
    async fn seal(&self, user: &UserId, secret: &Secret) -> Result<SealedSecret, SealError> {
        PlaintextSealer::seal(self, user, secret)
    }

    async fn open(&self, user: &UserId, sealed: &SealedSecret) -> Result<Secret, SealError> {
        PlaintextSealer::open(self, user, sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_for_the_same_user_only() {
        let alice = UserId::new("alice");
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        let sealed = PlaintextSealer.seal(&alice, &secret).unwrap();
        assert_eq!(PlaintextSealer.open(&alice, &sealed), Ok(secret));
        assert_eq!(PlaintextSealer.open(&UserId::new("mallory"), &sealed), Err(SealError::Tampered));
        let mut truncated = sealed.clone();
        truncated = SealedSecret::new(truncated.key_id(), &truncated.ciphertext()[..3]);
        assert_eq!(PlaintextSealer.open(&alice, &truncated), Err(SealError::Tampered));
        let other_key = SealedSecret::new("kms-1", sealed.ciphertext());
        assert!(matches!(PlaintextSealer.open(&alice, &other_key), Err(SealError::UnknownKey { .. })));
    }
}
