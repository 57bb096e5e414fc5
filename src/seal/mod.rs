//! Sealing TOTP secrets at rest.
//!
//! The per-user record never holds a TOTP secret in the clear: the service seals every
//! secret through a [`SecretSealer`] the host implements over its KMS or an AEAD cipher.
//! Each sealed secret carries the id of the key that sealed it, so keys can be rotated
//! (open with the old key, seal with the new one), and the sealer must bind the user id
//! in as associated data, so a sealed secret copied into another user's record does not
//! open.
//!
//! With the `aead-sealer` feature, `AeadSealer` seals with XChaCha20-Poly1305 under
//! keys the host loads from its secret manager. [`crate::danger::PlaintextSealer`]
//! exists for tests and demos only.

#[cfg(feature = "aead-sealer")]
mod aead;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[cfg(feature = "aead-sealer")]
pub use aead::AeadSealer;

use crate::otp::Secret;
use crate::vocabulary::UserId;

/// A sealed secret as stored in the record: the key id and the opaque ciphertext.
///
/// Both parts are shared, not copied, when a record is cloned (a store's cache, a
/// retried change), so cloning a record costs no allocation for them.
#[derive(Clone, Eq, Serialize, Deserialize)]
#[serde(from = "StoredSealedSecret", into = "StoredSealedSecret")]
pub struct SealedSecret {
    key_id: Arc<str>,
    ciphertext: Arc<[u8]>,
}

impl PartialEq for SealedSecret {
    fn eq(&self, other: &SealedSecret) -> bool {
        // Copies of one record share both parts: equal without reading them.
        let same_key = Arc::ptr_eq(&self.key_id, &other.key_id) || self.key_id == other.key_id;
        same_key && (Arc::ptr_eq(&self.ciphertext, &other.ciphertext) || self.ciphertext == other.ciphertext)
    }
}

impl SealedSecret {
    /// The output of a sealer: the id of the key that sealed it, and the ciphertext.
    pub fn new(key_id: impl Into<Arc<str>>, ciphertext: impl Into<Arc<[u8]>>) -> SealedSecret {
        SealedSecret { key_id: key_id.into(), ciphertext: ciphertext.into() }
    }

    /// Which of the host's keys sealed it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The sealer's output, stored as unpadded base32 in the serialised record.
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }
}

/// The serialised form: `{ "key_id": "…", "ciphertext": "<base32>" }`.
#[derive(Serialize, Deserialize)]
struct StoredSealedSecret {
    key_id: String,
    #[serde(with = "base32_bytes")]
    ciphertext: Vec<u8>,
}

impl From<StoredSealedSecret> for SealedSecret {
    fn from(stored: StoredSealedSecret) -> SealedSecret {
        SealedSecret::new(stored.key_id, stored.ciphertext)
    }
}

impl From<SealedSecret> for StoredSealedSecret {
    fn from(sealed: SealedSecret) -> StoredSealedSecret {
        StoredSealedSecret { key_id: sealed.key_id.to_string(), ciphertext: sealed.ciphertext.to_vec() }
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key_id", &self.key_id)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

/// Why a secret could not be sealed or opened. Never holds key material.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SealError {
    /// The key id is not known to the sealer (retired, or never existed).
    #[error("the sealing key {key_id:?} is not available")]
    UnknownKey {
        /// The key id found beside the sealed secret.
        key_id: String,
    },
    /// The ciphertext does not open with this user id as associated data: it was
    /// altered, or copied from another user's record.
    #[error("the sealed secret does not open for this user: it was altered or belongs to another user")]
    Tampered,
    /// The host's key service failed.
    #[error("the sealing service failed: {0}")]
    Unavailable(String),
}

/// Seals and opens TOTP secrets; implemented by the host over its KMS or AEAD cipher.
///
/// Both calls may be network calls (a KMS), so they are async. The service opens a
/// credential's secret once per call, before its retry loop, and seals a new secret
/// before the record is changed: no sealer call is made while a change is retried.
///
/// # Contract
/// - `open(user, seal(user, s))` gives back `s`.
/// - `open(other_user, seal(user, s))` fails with [`SealError::Tampered`]: bind the
///   user id as associated data (an AEAD's AD, or the KMS's encryption context).
/// - `seal` writes the id of the key it used into [`SealedSecret::key_id`], and `open`
///   uses the key named there, so records sealed before a rotation still open.
/// - Errors make the service fail closed: nobody is let in, nothing is changed.
///
/// ```
/// use mfa_kit::seal::{SealError, SealedSecret, SecretSealer};
/// use mfa_kit::UserId;
/// use mfa_kit::otp::Secret;
///
/// /// A sealer over the host's KMS client (here, a stand-in that cannot reach it).
/// struct Kms;
///
/// impl SecretSealer for Kms {
///     async fn seal(&self, _user: &UserId, _secret: &Secret) -> Result<SealedSecret, SealError> {
///         Err(SealError::Unavailable("the KMS did not answer".into()))
///     }
///
///     async fn open(&self, _user: &UserId, _sealed: &SealedSecret) -> Result<Secret, SealError> {
///         Err(SealError::Unavailable("the KMS did not answer".into()))
///     }
/// }
/// ```
pub trait SecretSealer: Send + Sync {
    /// Seals `secret` for `user`.
    ///
    /// # Errors
    /// [`SealError`] when the key service is unavailable.
    fn seal(
        &self,
        user: &UserId,
        secret: &Secret,
    ) -> impl Future<Output = Result<SealedSecret, SealError>> + Send;

    /// Opens a secret sealed for `user`.
    ///
    /// # Errors
    /// [`SealError::Tampered`] for another user's or an altered ciphertext,
    /// [`SealError::UnknownKey`] for a retired key, [`SealError::Unavailable`] when
    /// the key service fails.
    fn open(
        &self,
        user: &UserId,
        sealed: &SealedSecret,
    ) -> impl Future<Output = Result<Secret, SealError>> + Send;
}

impl<T: SecretSealer + ?Sized> SecretSealer for std::sync::Arc<T> {
    fn seal(
        &self,
        user: &UserId,
        secret: &Secret,
    ) -> impl Future<Output = Result<SealedSecret, SealError>> + Send {
        (**self).seal(user, secret)
    }

    fn open(
        &self,
        user: &UserId,
        sealed: &SealedSecret,
    ) -> impl Future<Output = Result<Secret, SealError>> + Send {
        (**self).open(user, sealed)
    }
}

mod base32_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base32::encode(base32::Alphabet::Rfc4648 { padding: false }, bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &text)
            .ok_or_else(|| D::Error::custom("sealed secret is not base32"))
    }
}
