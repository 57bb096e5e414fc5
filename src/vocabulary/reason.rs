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
    /// The user type's level is "mandatory" (R9), or the type must prove with a
    /// phishing-resistant factor (R33), which needs MFA to prove with.
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
    /// An admin reset the user's MFA: the user sets it up again before going on (R21).
    ResetByAdmin,
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
    /// The second factor is disabled after too many failures; the code was not evaluated.
    Disabled,
    /// A security key's response was signed for another site: the origin or relying
    /// party id in it is not this service's (a look-alike page relayed it).
    WrongOrigin,
    /// A security key's response answers another challenge (another ceremony, another
    /// user's, or an old one).
    WrongChallenge,
    /// A security key's response is signed by a credential not registered to the user.
    UnknownCredential,
    /// A security key's signature does not verify with the registered public key.
    BadSignature,
    /// The security key did not verify the user (PIN or biometric) where that is
    /// required.
    UserNotVerified,
    /// The security key's signature counter went backwards: the key may be cloned.
    CounterRegressed,
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
    /// The relying party did not accept a security key's registration (another site's,
    /// another request's, or a signature or attestation that does not verify).
    KeyRejected,
}

/// What an admin reset leaves the user with (R21, seeds 001 and 004).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResetMode {
    /// The user must set MFA up again at the next sign-in, whatever the level (seed
    /// 004: both methods again). Events stored before resets had modes read as this.
    #[default]
    RequireEnrollment,
    /// MFA is turned off: the user signs in without it and may set it up again
    /// themselves (seed 001). Refused where the policy forbids turning MFA off for
    /// the user.
    TurnOff,
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
    /// Security keys and passkeys, and any WebAuthn ceremony in progress.
    SecurityKeys,
    /// The freeze a "this wasn't me" link put on the account's MFA changes.
    Freeze,
}

/// A time window of the record voided because a clock reading proved it was written by
/// a clock that ran ahead: its start was more than
/// the clock skew (5 minutes) after the reading (see the record's rule
/// for time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Voided {
    /// A remembered device (it was deleted).
    RememberedDevice,
    /// The SMS or e-mail code (it stops working).
    Code,
    /// The time of a method's last proof (it no longer makes a step-up fresh).
    Proof,
    /// The enrollment in progress.
    PendingEnrollment,
    /// A lockout.
    Lockout,
    /// A send counted towards the resend limits.
    Send,
    /// An enrollment start counted towards the restart limit.
    EnrollmentStart,
    /// A security key's registration or sign-in ceremony in progress (its answer is
    /// refused).
    KeyCeremony,
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
    /// An authenticator app was set up in place of the user's own (a lost phone).
    NewAuthenticator,
    /// The user followed a security notice's "this wasn't me" link.
    Disowned,
    /// A newer device took its place: a user keeps at most
    /// [`MAX_DEVICES`](crate::record::MAX_DEVICES) remembered devices, and the oldest
    /// goes.
    Superseded,
}

/// How many wrong codes in a row lock a user out, for how long, and when the second
/// factor is disabled altogether.
///
/// Failures count from the last success, not from the end of a lockout: after each
/// `max_failures` wrong codes the user is locked out, each lockout twice as long as the
/// one before (up to `max_lock_seconds`), and after `hard_limit` failures without a
/// success the second factor is disabled until an admin resets it (NIST SP 800-63B
/// rev 4 §3.2.2 allows at most 100). So a password holder guessing codes gets a few
/// dozen tries a day, not hundreds.
///
/// A stored rule without `max_lock_seconds` (written before lockouts grew), or with 0
/// (which earlier versions accepted), reads with `max_lock_seconds` equal to
/// `lock_seconds`: every lockout lasts `lock_seconds`, as it did then.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredLockoutRule")]
#[allow(
    clippy::exhaustive_structs,
    reason = "hosts build it with `..Default::default()` or its constructors, which keep working as fields are added"
)]
pub struct LockoutRule {
    /// Wrong codes that start a lockout (at least 1).
    pub max_failures: u32,
    /// How long the first lockout lasts, in seconds.
    pub lock_seconds: u64,
    /// The longest a lockout lasts, however often it repeats, in seconds (the first one
    /// too, where `lock_seconds` is longer; at least 1 second).
    pub max_lock_seconds: u64,
    /// Wrong codes without a success after which the second factor is disabled until
    /// an admin resets it.
    #[serde(default = "default_hard_limit")]
    pub hard_limit: u32,
}

/// A [`LockoutRule`] as stored, of any version.
#[derive(Deserialize)]
struct StoredLockoutRule {
    max_failures: u32,
    lock_seconds: u64,
    #[serde(default)]
    max_lock_seconds: Option<u64>,
    #[serde(default = "default_hard_limit")]
    hard_limit: u32,
}

impl From<StoredLockoutRule> for LockoutRule {
    fn from(stored: StoredLockoutRule) -> LockoutRule {
        // Missing (before lockouts grew) or 0 (accepted before it was refused): no
        // growth, as then.
        let max_lock_seconds = match stored.max_lock_seconds {
            None | Some(0) => stored.lock_seconds.max(1),
            Some(longest) => longest,
        };
        LockoutRule {
            max_failures: stored.max_failures,
            lock_seconds: stored.lock_seconds,
            max_lock_seconds,
            hard_limit: stored.hard_limit,
        }
    }
}

fn default_hard_limit() -> u32 {
    LockoutRule::DEFAULT.hard_limit
}

impl LockoutRule {
    /// 5 failures, 15 minutes doubling up to a day, disabled after 100: the ATO's
    /// Operational Security Framework asks for a lockout after 5 failed attempts, and
    /// NIST SP 800-63B allows at most 100 consecutive failures.
    pub const DEFAULT: LockoutRule =
        LockoutRule { max_failures: 5, lock_seconds: 900, max_lock_seconds: 86_400, hard_limit: 100 };

    /// The same rule with `max_failures` wrong codes per lockout and `lock_seconds` for
    /// the first one (the longest lockout is then the default's day, or `lock_seconds`
    /// if that is longer).
    pub const fn new(max_failures: u32, lock_seconds: u64) -> LockoutRule {
        let longest = LockoutRule::DEFAULT.max_lock_seconds;
        let max_lock_seconds = if lock_seconds > longest { lock_seconds } else { longest };
        LockoutRule { max_failures, lock_seconds, max_lock_seconds, ..LockoutRule::DEFAULT }
    }

    /// The same rule with another hard limit.
    #[must_use]
    pub const fn with_hard_limit(mut self, hard_limit: u32) -> LockoutRule {
        self.hard_limit = hard_limit;
        self
    }

    /// How long the lockout after `earlier` lockouts (since the last success) lasts.
    pub(crate) fn lock_duration(&self, earlier: u32) -> u64 {
        let factor = 1u64.checked_shl(earlier).unwrap_or(u64::MAX);
        self.lock_seconds.saturating_mul(factor).min(self.max_lock_seconds).max(1)
    }
}

impl Default for LockoutRule {
    fn default() -> Self {
        LockoutRule::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockouts_double_up_to_the_cap() {
        let rule = LockoutRule::DEFAULT;
        let durations: Vec<u64> = (0..10).map(|n| rule.lock_duration(n)).collect();
        assert_eq!(durations, [900, 1800, 3600, 7200, 14_400, 28_800, 57_600, 86_400, 86_400, 86_400]);
        assert_eq!(rule.lock_duration(u32::MAX), 86_400);
        let long = LockoutRule { max_lock_seconds: u64::MAX, ..LockoutRule::new(5, u64::MAX / 2) };
        assert_eq!(long.lock_duration(3), u64::MAX);
    }
}

super::stable_ids!("reason", Reason {
    Enrolled => "enrolled",
    NotRequired => "not_required",
    SingleSignOn => "single_sign_on",
    LockedOut => "locked_out",
    AddressNotAllowed => "address_not_allowed",
    LevelSuggested => "level_suggested",
    LevelMandatory => "level_mandatory",
    OrgEnforced => "org_enforced",
    JurisdictionRule => "jurisdiction_rule",
    CompliancePreset => "compliance_preset",
    DeactivationDisabled => "deactivation_disabled",
    RememberedDevice => "remembered_device",
    ResetByAdmin => "reset_by_admin",
});

super::stable_ids!("rejection reason", RejectionReason {
    Wrong => "wrong",
    Replayed => "replayed",
    Malformed => "malformed",
    AlreadyUsed => "already_used",
    Expired => "expired",
    NoCodePending => "no_code_pending",
    LockedOut => "locked_out",
    PolicyRefused => "policy_refused",
    Disabled => "disabled",
    WrongOrigin => "wrong_origin",
    WrongChallenge => "wrong_challenge",
    UnknownCredential => "unknown_credential",
    BadSignature => "bad_signature",
    UserNotVerified => "user_not_verified",
    CounterRegressed => "counter_regressed",
});

super::stable_ids!("enrollment rejection", EnrollmentRejection {
    WrongCode => "wrong_code",
    SameCodeTwice => "same_code_twice",
    NotConsecutive => "not_consecutive",
    Malformed => "malformed",
    TwoCodesRequired => "two_codes_required",
    TooManyAttempts => "too_many_attempts",
    KeyRejected => "key_rejected",
});

super::stable_ids!("cleared item", Cleared {
    Authenticator => "authenticator",
    PendingEnrollment => "pending_enrollment",
    Lockout => "lockout",
    RecoveryCodes => "recovery_codes",
    BackupDestinations => "backup_destinations",
    RememberedDevices => "remembered_devices",
    SecurityKeys => "security_keys",
    Freeze => "freeze",
});

super::stable_ids!("voided item", Voided {
    RememberedDevice => "remembered_device",
    Code => "code",
    Proof => "proof",
    PendingEnrollment => "pending_enrollment",
    Lockout => "lockout",
    Send => "send",
    EnrollmentStart => "enrollment_start",
    KeyCeremony => "key_ceremony",
});

super::stable_ids!("revocation", Revocation {
    Requested => "requested",
    PasswordChanged => "password_changed",
    Reset => "reset",
    Deactivated => "deactivated",
    NewAuthenticator => "new_authenticator",
    Disowned => "disowned",
    Superseded => "superseded",
});

super::stable_ids!("reset mode", ResetMode {
    RequireEnrollment => "require_enrollment",
    TurnOff => "turn_off",
});
