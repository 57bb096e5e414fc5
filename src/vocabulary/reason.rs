//! The rules' names: why a decision was taken, why a code was refused, what was
//! cleared or revoked, and the lockout rule.

use serde::{Deserialize, Serialize};

/// Which rule decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// The user has MFA: they prove it at every sign-in, whatever the level (R10).
    Enrolled,
    /// The user has no MFA and nothing asks for it (level "upon request").
    NotRequired,
    /// The user signed in through SSO; the identity provider handles MFA (R11).
    SingleSignOn,
    /// The user is locked out after too many wrong codes (R15).
    LockedOut,
    /// The client's address is not on the organisation's allowlist (R14).
    AddressNotAllowed,
    /// The user type's level is "suggested" (R9).
    LevelSuggested,
    /// The user type's level is "mandatory" (R9).
    LevelMandatory,
    /// The organisation's admin made MFA mandatory for everyone (R9).
    OrgEnforced,
    /// The Australian and New Zealand tax-data rule (R12).
    JurisdictionRule,
    /// A compliance preset (ATO, NIST) requires it.
    CompliancePreset,
    /// The organisation does not let users turn MFA off.
    DeactivationDisabled,
    /// The device was remembered after an earlier second factor (R19).
    RememberedDevice,
}

/// Why a code was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectionReason {
    /// The code matches no step in the window.
    Wrong,
    /// The code was used before (at or below the last accepted step).
    Replayed,
    /// The input was not a code (letters, wrong length).
    Malformed,
    /// The recovery code was used before.
    AlreadyUsed,
    /// The out-of-band code expired.
    Expired,
    /// No out-of-band code is waiting to be entered (none sent, spent or discarded).
    NoCodePending,
    /// The user is locked out; the code was not evaluated.
    LockedOut,
    /// The policy refuses this sign-in (for example the address is not allowed); the
    /// code was not evaluated.
    PolicyRefused,
}

/// Why a confirmation code was refused during enrollment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EnrollmentRejection {
    /// A code matches no step near now.
    WrongCode,
    /// The same code was typed twice: two consecutive codes are needed.
    SameCodeTwice,
    /// Both codes are valid but not from consecutive time steps.
    NotConsecutive,
    /// The input was not a code.
    Malformed,
    /// Two codes are required but one was given.
    TwoCodesRequired,
    /// Too many wrong confirmations: the enrollment was discarded.
    TooManyAttempts,
}

/// What an admin reset cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Cleared {
    /// The authenticator app credential.
    Authenticator,
    /// An enrollment in progress.
    PendingEnrollment,
    /// A lockout or failure count.
    Lockout,
    /// The recovery codes.
    RecoveryCodes,
    /// SMS and e-mail destinations and any code sent to them.
    BackupDestinations,
    /// Remembered devices.
    RememberedDevices,
}

/// Why devices were revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Revocation {
    /// The user or an admin revoked it.
    Requested,
    /// The user's password changed.
    PasswordChanged,
    /// MFA was reset by an admin.
    Reset,
    /// MFA was deactivated.
    Deactivated,
    /// A new authenticator was set up.
    NewAuthenticator,
}

/// How many wrong codes in a row lock a user out, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutRule {
    /// Consecutive failures that start a lockout (at least 1).
    pub max_failures: u32,
    /// How long a lockout lasts, in seconds.
    pub lock_seconds: u64,
}

impl LockoutRule {
    /// 5 failures, 15 minutes: the ATO's Operational Security Framework asks for a
    /// lockout after 5 failed attempts.
    pub const DEFAULT: LockoutRule = LockoutRule { max_failures: 5, lock_seconds: 900 };
}

impl Default for LockoutRule {
    fn default() -> Self {
        LockoutRule::DEFAULT
    }
}
