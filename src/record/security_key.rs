//! Security keys and passkeys (WebAuthn credentials): what the record keeps of each one,
//! and the ceremony in progress.
//!
//! The record keeps public material only: the credential's id, its public key as the
//! relying-party library encoded it, its signature counter and flags. The private key
//! never leaves the authenticator. The ceremony's challenge lives in the record too,
//! with its expiry, so a ceremony started on one app server finishes on any other, and
//! the conditional save that clears it lets one signed response be accepted at most
//! once.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How long a registration or an authentication may take, from the options sent to the
/// browser to its signed response: 5 minutes (the browser's own timeout is shorter).
pub const CEREMONY_LIFETIME: u64 = 300;

/// The longest credential id WebAuthn allows, in bytes (WebAuthn Level 3 §4).
pub const MAX_CREDENTIAL_ID: usize = 1023;

/// The longest public key the record keeps, in bytes of the relying party's encoding:
/// far more than any COSE key of an algorithm a browser offers (an RSA-4096 key as JSON
/// is under 2 KiB).
pub const MAX_PUBLIC_KEY: usize = 8 * 1024;

/// The longest ceremony state the record keeps, in bytes.
pub const MAX_CEREMONY_STATE: usize = 64 * 1024;

/// Bytes written as unpadded base32, as the record writes hashes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialId(Vec<u8>);

impl CredentialId {
    /// The id the authenticator gave the credential, as bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> CredentialId {
        CredentialId(bytes.into())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CredentialId({})", encode(&self.0))
    }
}

impl Serialize for CredentialId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for CredentialId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CredentialId, D::Error> {
        let text = String::deserialize(deserializer)?;
        decode(&text)
            .filter(|bytes| !bytes.is_empty() && bytes.len() <= MAX_CREDENTIAL_ID)
            .map(CredentialId)
            .ok_or_else(|| serde::de::Error::custom("a credential id is 1 to 1023 bytes of base32"))
    }
}

fn encode(bytes: &[u8]) -> String {
    base32::encode(base32::Alphabet::Rfc4648 { padding: false }, bytes)
}

fn decode(text: &str) -> Option<Vec<u8>> {
    base32::decode(base32::Alphabet::Rfc4648 { padding: false }, text)
}

/// The random handle the user is known by to their authenticators (WebAuthn's user
/// handle): 16 random bytes, made at the first registration, so a passkey stored on a
/// device says nothing about the user's id or e-mail address.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UserHandle(pub(crate) [u8; 16]);

impl UserHandle {
    /// The handle's bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for UserHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserHandle({})", encode(&self.0))
    }
}

impl Serialize for UserHandle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for UserHandle {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<UserHandle, D::Error> {
        let text = String::deserialize(deserializer)?;
        decode(&text)
            .and_then(|bytes| <[u8; 16]>::try_from(bytes.as_slice()).ok())
            .map(UserHandle)
            .ok_or_else(|| serde::de::Error::custom("a user handle is 16 bytes of base32"))
    }
}

/// A registered security key or passkey: one of the user's authenticators, named,
/// listed, renamed and removed like an authenticator app.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityKey {
    /// A random id, unique among all the user's authenticators (16 hex digits).
    pub(crate) id: Box<str>,
    /// What the user called it ("YubiKey", "This laptop").
    pub(crate) name: Box<str>,
    /// The id the authenticator gave the credential.
    pub(crate) credential_id: CredentialId,
    /// The credential's public key, in the relying-party library's encoding
    /// (`mfa-kit-webauthn`: the COSE key as JSON). Public: it can only check
    /// signatures.
    pub(crate) public_key: Box<str>,
    /// The signature counter of the last accepted assertion (0: the authenticator
    /// keeps none, as most passkeys).
    pub(crate) counter: u32,
    /// Whether the registration verified the user (PIN or biometric) on the
    /// authenticator.
    pub(crate) user_verified: bool,
    /// Whether the credential may be copied to the user's other devices (a synced
    /// passkey), as the authenticator last said.
    pub(crate) backup_eligible: bool,
    /// Whether the credential was copied (backed up), as the authenticator last said.
    pub(crate) backup_state: bool,
    /// Whether the credential is discoverable (a passkey stored on the authenticator,
    /// usable without naming it first).
    pub(crate) discoverable: bool,
    pub(crate) created_at: u64,
    pub(crate) last_used_at: Option<u64>,
}

impl fmt::Debug for SecurityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecurityKey")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("credential_id", &self.credential_id)
            .field("counter", &self.counter)
            .field("user_verified", &self.user_verified)
            .field("backup_eligible", &self.backup_eligible)
            .field("backup_state", &self.backup_state)
            .field("discoverable", &self.discoverable)
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .finish_non_exhaustive()
    }
}

impl SecurityKey {
    /// Its id, unique among the user's authenticators: what a screen passes back to
    /// rename or remove it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The name the user gave it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The id the authenticator gave the credential.
    pub fn credential_id(&self) -> &CredentialId {
        &self.credential_id
    }

    /// The credential's public key, in the relying-party library's encoding.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The signature counter of the last accepted assertion.
    pub fn counter(&self) -> u32 {
        self.counter
    }

    /// Whether the registration verified the user on the authenticator.
    pub fn user_verified(&self) -> bool {
        self.user_verified
    }

    /// Whether the credential may be synced to the user's other devices.
    pub fn backup_eligible(&self) -> bool {
        self.backup_eligible
    }

    /// Whether the credential was synced (backed up).
    pub fn backup_state(&self) -> bool {
        self.backup_state
    }

    /// Whether it is a discoverable credential (a passkey).
    pub fn discoverable(&self) -> bool {
        self.discoverable
    }

    /// When it was registered.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// When an assertion of it was last accepted.
    pub fn last_used_at(&self) -> Option<u64> {
        self.last_used_at
    }
}

/// What a WebAuthn ceremony in progress is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(
    clippy::exhaustive_enums,
    reason = "the two sides of a yes-or-no answer; a third would change every caller's logic on purpose"
)]
pub enum CeremonyKind {
    /// Registering a new key, to be given this name.
    Registration {
        /// The name the key will have.
        name: String,
    },
    /// Proving the second factor with a registered key (at sign-in or step-up).
    Authentication,
}

/// A WebAuthn ceremony that was started and not yet finished: its challenge (inside
/// the relying party's `state`), what it is for, and its lifetime. Finishing it, or
/// starting another, clears it, so a challenge is answered at most once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ceremony {
    #[serde(flatten)]
    pub(crate) kind: CeremonyKind,
    /// The relying party's state of the ceremony (`mfa-kit-webauthn`: webauthn-rs's
    /// registration or authentication state as JSON: the challenge and the
    /// user-verification policy; the keys are checked against the record's at the
    /// finish). Public: a challenge is not a secret, it
    /// is only good once and for this user.
    pub(crate) state: Box<str>,
    pub(crate) started_at: u64,
    pub(crate) expires_at: u64,
}

impl fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ceremony")
            .field("kind", &self.kind)
            .field("started_at", &self.started_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Ceremony {
    /// What it is for.
    pub fn kind(&self) -> &CeremonyKind {
        &self.kind
    }

    /// Whether it registers a key (`true`) or proves one (`false`).
    pub fn is_registration(&self) -> bool {
        matches!(self.kind, CeremonyKind::Registration { .. })
    }

    /// The relying party's state of the ceremony.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// When it was started.
    pub fn started_at(&self) -> u64 {
        self.started_at
    }

    /// When it lapses unless finished.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}
