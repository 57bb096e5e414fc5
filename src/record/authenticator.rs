//! The authenticator app's state: the confirmed credential and an enrollment in progress.

use serde::{Deserialize, Serialize};

use crate::TotpParams;
use crate::seal::SealedSecret;

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
    /// The account name the URI was built for, so the same QR code can be shown again.
    #[serde(default)]
    pub(crate) account: Option<String>,
    /// When enrollments were started within the last hour, for the restart limit.
    #[serde(default)]
    pub(crate) starts: Vec<u64>,
}

impl PendingEnrollment {
    /// The sealed secret of the authenticator being set up.
    pub fn sealed_secret(&self) -> &SealedSecret {
        &self.secret
    }

    /// Its TOTP parameters.
    pub fn params(&self) -> &TotpParams {
        &self.params
    }

    /// The account name the enrollment's URI was built for.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// When it was started.
    pub fn started_at(&self) -> u64 {
        self.started_at
    }

    /// When it expires unless confirmed.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}
