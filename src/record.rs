//! The per-user record: all of one user's MFA state, in one serde value.
//!
//! The host stores the record as it likes (a JSON column, a document, a blob) together
//! with a version number, through the [`Store`](crate::store::Store) trait. Its
//! serialised form is versioned by [`UserRecord::FORMAT`]; a test pins it, so any change
//! to it is deliberate and noted in the changelog.
//!
//! Secrets inside are sealed ([`SealedSecret`]); recovery codes, out-of-band codes and
//! device tokens are there only as keyed hashes. Nothing else in it is secret, but the
//! record is still the user's security state and deserves the care of a password hash.
//!
//! # Serialised form (format 1)
//!
//! As JSON (any serde format works); times are seconds since the Unix epoch, sealed
//! secrets and hashes are unpadded base32, and sections a user does not use are `null`
//! or empty:
//!
//! ```json
//! {
//!   "format": 1,
//!   "user": "sarah",
//!   "totp": {
//!     "secret": { "key_id": "2026-11", "ciphertext": "…" },
//!     "params": { "algorithm": "SHA1", "digits": 6, "period": 30, "t0": 0 },
//!     "created_at": 1700000030, "last_used_at": 1700000060,
//!     "last_accepted_step": 56666668, "drift": -1
//!   },
//!   "pending_enrollment": null,
//!   "failures": { "consecutive": 0, "locked_until": null },
//!   "recovery": { "generated_at": 1700000090, "entries": [{ "hash": "…", "used_at": null }] },
//!   "oob": {
//!     "destinations": [{ "destination": { "kind": "sms", "address": "+61412345678" },
//!                        "role": "backup", "added_at": 1700000100, "confirmed_at": 1700000160 }],
//!     "challenge": null, "sent_at": []
//!   },
//!   "devices": [{ "id": "0123456789abcdef", "label": "Firefox on Windows", "hash": "…",
//!                 "created_at": 1700000300, "expires_at": 1700043500 }],
//!   "last_proof": { "at": 1700000095, "method": "recovery_code" }
//! }
//! ```
//!
//! `tests/record_format.rs` pins this form; a change to it bumps [`UserRecord::FORMAT`].
//! Fields added later read as empty from older records.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::TotpParams;
use crate::audit::Method;
use crate::device::RememberedDevice;
use crate::oob::OobState;
use crate::recovery::RecoveryCodes;
use crate::seal::SealedSecret;

/// The host's identifier of a user (any string: a UUID, a database id, an e-mail).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// Wraps the host's identifier.
    pub fn new(id: impl Into<String>) -> UserId {
        UserId(id.into())
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for UserId {
    fn from(id: &str) -> UserId {
        UserId::new(id)
    }
}

/// A confirmed authenticator-app credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpCredential {
    pub(crate) secret: SealedSecret,
    pub(crate) params: TotpParams,
    pub(crate) created_at: u64,
    pub(crate) last_used_at: Option<u64>,
    /// The replay floor: no step at or below it is accepted again (RFC 6238 §5.2).
    pub(crate) last_accepted_step: Option<u64>,
    /// The learned clock drift of the user's device, in steps (RFC 6238 §6).
    pub(crate) drift: i64,
}

impl TotpCredential {
    /// The sealed secret, with the id of the key that sealed it (for key rotation).
    pub fn sealed_secret(&self) -> &SealedSecret {
        &self.secret
    }

    /// The TOTP parameters.
    pub fn params(&self) -> &TotpParams {
        &self.params
    }

    /// When the credential was confirmed.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// When a code of it was last accepted.
    pub fn last_used_at(&self) -> Option<u64> {
        self.last_used_at
    }

    /// The last accepted time step; codes of it and earlier steps are refused.
    pub fn last_accepted_step(&self) -> Option<u64> {
        self.last_accepted_step
    }

    /// The learned drift of the user's clock, in time steps.
    pub fn drift(&self) -> i64 {
        self.drift
    }
}

/// An enrollment that was started and not yet confirmed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEnrollment {
    pub(crate) secret: SealedSecret,
    pub(crate) params: TotpParams,
    pub(crate) started_at: u64,
    pub(crate) expires_at: u64,
    pub(crate) failed_attempts: u32,
}

impl PendingEnrollment {
    /// When it was started.
    pub fn started_at(&self) -> u64 {
        self.started_at
    }

    /// When it expires unless confirmed.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

/// Consecutive failed proofs and the lockout they caused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureState {
    pub(crate) consecutive: u32,
    pub(crate) locked_until: Option<u64>,
}

impl FailureState {
    /// Failed proofs since the last success.
    pub fn consecutive(&self) -> u32 {
        self.consecutive
    }

    /// The end of the current or last lockout.
    pub fn locked_until(&self) -> Option<u64> {
        self.locked_until
    }

    /// Whether the user is locked out at `now`.
    pub fn is_locked(&self, now: u64) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }
}

/// The last successful second-factor proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastProof {
    /// When.
    pub at: u64,
    /// With which method.
    pub method: Method,
}

/// All of one user's MFA state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub(crate) format: u32,
    pub(crate) user: UserId,
    pub(crate) totp: Option<TotpCredential>,
    pub(crate) pending_enrollment: Option<PendingEnrollment>,
    pub(crate) failures: FailureState,
    #[serde(default)]
    pub(crate) recovery: Option<RecoveryCodes>,
    #[serde(default)]
    pub(crate) oob: OobState,
    #[serde(default)]
    pub(crate) devices: Vec<RememberedDevice>,
    #[serde(default)]
    pub(crate) last_proof: Option<LastProof>,
}

impl UserRecord {
    /// The version of the serialised form this crate writes and reads.
    pub const FORMAT: u32 = 1;

    /// The record of a user with no MFA state yet.
    pub fn new(user: UserId) -> UserRecord {
        UserRecord {
            format: UserRecord::FORMAT,
            user,
            totp: None,
            pending_enrollment: None,
            failures: FailureState::default(),
            recovery: None,
            oob: OobState::default(),
            devices: Vec::new(),
            last_proof: None,
        }
    }

    /// The serialised form's version.
    pub fn format(&self) -> u32 {
        self.format
    }

    /// Whose record it is.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The confirmed authenticator, if any.
    pub fn totp(&self) -> Option<&TotpCredential> {
        self.totp.as_ref()
    }

    /// The enrollment in progress, if any.
    pub fn pending_enrollment(&self) -> Option<&PendingEnrollment> {
        self.pending_enrollment.as_ref()
    }

    /// Failures and lockout.
    pub fn failures(&self) -> &FailureState {
        &self.failures
    }

    /// The recovery codes, if generated.
    pub fn recovery_codes(&self) -> Option<&RecoveryCodes> {
        self.recovery.as_ref()
    }

    /// SMS and e-mail destinations and the pending code.
    pub fn out_of_band(&self) -> &OobState {
        &self.oob
    }

    /// The last successful second-factor proof, by any method.
    pub fn last_proof(&self) -> Option<LastProof> {
        self.last_proof
    }

    /// Remembered devices (expired ones included until the next change prunes them).
    pub fn devices(&self) -> &[RememberedDevice] {
        &self.devices
    }

    /// The second factors the user can prove with now, strongest first: the
    /// authenticator app, confirmed SMS and e-mail destinations, unused recovery codes.
    pub fn methods(&self) -> Vec<Method> {
        let mut methods = Vec::new();
        if self.totp.is_some() {
            methods.push(Method::Totp);
        }
        for method in self.oob.methods() {
            if !methods.contains(&method) {
                methods.push(method);
            }
        }
        if self.recovery.as_ref().is_some_and(|r| r.remaining() > 0) {
            methods.push(Method::RecoveryCode);
        }
        methods
    }

    /// Whether the user has a primary second factor: an authenticator app or a
    /// confirmed primary SMS or e-mail destination.
    pub fn has_mfa(&self) -> bool {
        self.totp.is_some() || self.oob.confirmed(crate::oob::Role::Primary).is_some()
    }

    /// Whether the user has a backup method: a confirmed backup destination or unused
    /// recovery codes.
    pub fn has_backup(&self) -> bool {
        self.oob.confirmed(crate::oob::Role::Backup).is_some()
            || self.recovery.as_ref().is_some_and(|r| r.remaining() > 0)
    }
}
