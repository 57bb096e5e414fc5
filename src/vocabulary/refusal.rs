//! Refusals: the one shape in which every call says "no" to a user.
//!
//! A refusal is an answer, not a failure: the request was understood and a rule said
//! no (a wrong code, a lockout, an address off the allowlist, a missing confirmation).
//! Every call of the transitions and of the service returns [`Outcome<T>`], and the
//! service wraps it in its own `Result` for failures of the infrastructure (store,
//! clock, sealer, sender), which the host logs rather than shows.
//!
//! The `Display` text of each refusal is written for the end user and can be shown as
//! it is; it never holds a secret or a code.

use thiserror::Error;

use super::{Reason, Role, SessionEnd};

/// What a call gives when it was not refused: `Ok` with its result, or the [`Refusal`].
pub type Outcome<T> = Result<T, Refusal>;

/// Why a request was refused, in words an end user can be shown.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The code matches none the user's authenticator or sender could have produced now.
    #[error("That code is not right. Check it and try again ({}).", tries_left(*.attempts_left))]
    WrongCode {
        /// Wrong codes left before a lockout (or before an enrollment is discarded).
        attempts_left: u32,
    },
    /// The code was already used; each code works once.
    #[error("That code was already used: each code works once. Enter a new one ({}).", tries_left(*.attempts_left))]
    CodeReused {
        /// Wrong codes left before a lockout.
        attempts_left: u32,
    },
    /// The input is not a code at all (letters, the wrong number of characters).
    #[error("That is not a code. Enter the code exactly as shown.")]
    Malformed,
    /// The code sent by SMS or e-mail has expired.
    #[error("That code has expired. Ask for a new one.")]
    CodeExpired,
    /// No code sent by SMS or e-mail is waiting to be entered.
    #[error("No code is waiting to be entered. Ask for a new one.")]
    NoCodePending,
    /// Too many wrong codes: the user must wait.
    #[error("Too many wrong codes. Try again after {}.", super::utc::utc_minute(super::utc::minute_after(*.until)))]
    LockedOut {
        /// When the lockout ends, in seconds since the Unix epoch.
        until: u64,
    },
    /// Too many wrong codes without a success: the second factor is disabled until an
    /// admin resets it.
    #[error(
        "Too many wrong codes: two-step verification is blocked for this account. Ask your administrator to reset it."
    )]
    Disabled,
    /// The organisation does not allow this method (for example codes by e-mail).
    #[error("Your organisation does not allow this way of signing in. Choose another.")]
    MethodNotAllowed,
    /// The action needs a second factor proved within the last few minutes.
    #[error("For your security, confirm it is you: enter a code again, then retry.")]
    FreshProofRequired,
    /// The request comes from an address the organisation does not allow.
    #[error("Sign-in is not allowed from this network. Contact your administrator.")]
    AddressNotAllowed,
    /// The user has not set up the second factor this needs.
    #[error(
        "Two-step verification is not set up for this account. Set up two-step verification first, or ask your administrator."
    )]
    NotEnrolled,
    /// A key to import cannot be used: not an otpauth:// TOTP link or base32 text, or
    /// shorter than 128 bits.
    #[error(
        "That key cannot be used: give the otpauth:// link or the key in letters A-Z and digits 2-7, at least 26 characters long."
    )]
    InvalidKey,
    /// The user already has an authenticator; importing would replace it without a code.
    #[error("An authenticator is already set up. Set up the new one with codes from the app instead.")]
    AlreadyEnrolled,
    /// The user has as many authenticators as allowed
    /// ([`crate::record::MAX_AUTHENTICATORS`]).
    #[error("You have as many authenticator apps as allowed. Remove one before adding another.")]
    TooManyAuthenticators,
    /// A name for an authenticator that is empty, too long or has control characters.
    #[error("Give the authenticator a name of 1 to 64 characters, such as \"Work phone\".")]
    InvalidName,
    /// There is no enrollment to confirm.
    #[error("There is no authenticator set-up in progress. Start again.")]
    NoPendingEnrollment,
    /// The enrollment took too long and was discarded.
    #[error("The authenticator set-up has expired. Start again.")]
    EnrollmentExpired,
    /// The same code was entered twice where two consecutive codes are needed.
    #[error("Enter two different codes: wait for the app to show the next one.")]
    SameCodeTwice,
    /// Both codes are right but not consecutive.
    #[error("The two codes must follow each other. Enter the code shown now and the next one.")]
    NotConsecutive,
    /// Two codes are needed to confirm the enrollment; one was given.
    #[error("Enter two consecutive codes from the app.")]
    TwoCodesRequired,
    /// Too many wrong confirmations: the enrollment was discarded.
    #[error("Too many wrong codes: the set-up was cancelled. Start again.")]
    EnrollmentDiscarded,
    /// Turning MFA off needs an explicit confirmation.
    #[error("Confirm that you want to turn off two-step verification.")]
    ConfirmationRequired,
    /// A rule forbids what was asked (turning MFA off).
    #[error("{}", forbidden_text(*.0))]
    Forbidden(Reason),
    /// Removing the user's last second factor (their only authenticator app, or the
    /// primary phone number or e-mail address of a user without one) would turn MFA
    /// off without the confirmation that takes: the user turns two-step verification
    /// off instead, with a current code and the confirmation (R20).
    #[error(
        "This is your last way to confirm it is you. To stop using two-step verification, turn it off instead."
    )]
    LastFactor,
    /// A backup destination must differ from the primary one.
    #[error("The backup phone number or address must differ from the primary one.")]
    SameAsPrimary,
    /// The user has no confirmed destination of this role.
    #[error("{}", no_destination_text(*.0))]
    NoDestination(Role),
    /// Codes were sent too often: wait before asking again.
    #[error(
        "A code was sent recently. Wait a moment before asking for another: ask again after {}.",
        super::utc::utc_minute(super::utc::minute_after(*.retry_at))
    )]
    RateLimited {
        /// When a new code may be sent, in seconds since the Unix epoch.
        retry_at: u64,
    },
    /// The organisation does not allow remembering devices.
    #[error("This device cannot be remembered: your organisation does not allow it.")]
    RememberDisabled,
    /// A reset needs a reason, for the audit log.
    #[error("Give a reason for the reset.")]
    ReasonRequired,
    /// Nobody resets their own MFA through the admin path.
    #[error("You cannot reset your own two-step verification. Ask another administrator.")]
    SelfReset,
    /// An admin must have MFA set up before resetting someone else's or changing who
    /// must use it.
    #[error("Set up two-step verification for your own account first.")]
    ActorWithoutMfa,
    /// The host's permission check said no: the user may not do this admin action
    /// (reset another user's MFA, change who must use MFA).
    #[error("You do not have permission to do this. Ask an administrator who has.")]
    NotPermitted,
    /// The new organisation settings are out of range: what a host's settings form
    /// answers when they do not build (`From<SettingsError>`).
    #[error("The settings were not changed: {0}.")]
    InvalidSettings(String),
    /// The session this request came from has ended (the account's protection changed
    /// since it began, or it is too old): nothing was done; sign in again.
    #[error("{}", .0.sentence())]
    SessionEnded(SessionEnd),
    /// The security key's signed response was not accepted: not from a key registered
    /// to this account, not for this site, not for this request, or its signature or
    /// counter is wrong.
    #[error("Your security key's response was not accepted. Try again with a key registered to this account ({}).", tries_left(*.attempts_left))]
    KeyRejected {
        /// Failed proofs left before a lockout.
        attempts_left: u32,
    },
    /// The browser's answer from the security key could not be read (not a WebAuthn
    /// response at all): not counted as a failure, as input that is not a code is not.
    #[error("Your browser's answer from the security key could not be read. Try the key again.")]
    KeyResponseMalformed,
    /// The security key's registration was not accepted (made for another site or
    /// request, or a signature that does not verify), so no key was added; nothing is
    /// counted.
    #[error("Your security key's answer was not accepted, so the key was not added. Try again.")]
    KeyNotRegistered,
    /// No security-key request is waiting for an answer (none was started, it was
    /// answered already, or a request of the other kind replaced it: a registration's
    /// answer after a sign-in began). An answer to a sign-in request that a second one
    /// replaced (another tab) answers the wrong challenge: [`Refusal::KeyRejected`],
    /// counted as a replayed code is.
    #[error("No security-key request is waiting. Start again.")]
    NoCeremonyPending,
    /// The security-key request took too long to answer.
    #[error("The security-key request has expired. Start again.")]
    CeremonyExpired,
    /// The security key is registered to this account already.
    #[error("That security key is already registered to your account.")]
    KeyAlreadyRegistered,
    /// The account must prove itself with a security key or passkey: an app, SMS or
    /// e-mail code is not enough under the organisation's rules.
    #[error(
        "Your organisation requires a security key or passkey for your account: use it instead of a code."
    )]
    PhishingResistantRequired,
    /// The account's MFA changes are frozen: the user reported a change they did not
    /// make ("this wasn't me"); an admin's reset lifts it.
    #[error(
        "Changes to your two-step verification are frozen because you reported a change you did not make. Ask your administrator to reset it."
    )]
    AccountFrozen,
    /// The "this wasn't me" link is not one this service made for this account.
    #[error("That link is not valid. Use the link in the message exactly as it is.")]
    DisownLinkInvalid,
    /// The "this wasn't me" link was used already.
    #[error(
        "That link was already used: your account's changes are frozen until your administrator resets them."
    )]
    DisownLinkUsed,
    /// The "this wasn't me" link is too old.
    #[error("That link has expired. Contact your administrator.")]
    DisownLinkExpired,
}

impl Refusal {
    /// A stable identifier of the kind of refusal, for logs and audit events
    /// (`wrong_code`, `fresh_proof_required`, `locked_out`, ...): never the sentence,
    /// which may change, and never a code or a secret.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::WrongCode { .. } => "wrong_code",
            Refusal::CodeReused { .. } => "code_reused",
            Refusal::Malformed => "malformed",
            Refusal::CodeExpired => "code_expired",
            Refusal::NoCodePending => "no_code_pending",
            Refusal::LockedOut { .. } => "locked_out",
            Refusal::Disabled => "disabled",
            Refusal::MethodNotAllowed => "method_not_allowed",
            Refusal::FreshProofRequired => "fresh_proof_required",
            Refusal::AddressNotAllowed => "address_not_allowed",
            Refusal::NotEnrolled => "not_enrolled",
            Refusal::InvalidKey => "invalid_key",
            Refusal::AlreadyEnrolled => "already_enrolled",
            Refusal::TooManyAuthenticators => "too_many_authenticators",
            Refusal::InvalidName => "invalid_name",
            Refusal::NoPendingEnrollment => "no_pending_enrollment",
            Refusal::EnrollmentExpired => "enrollment_expired",
            Refusal::SameCodeTwice => "same_code_twice",
            Refusal::NotConsecutive => "not_consecutive",
            Refusal::TwoCodesRequired => "two_codes_required",
            Refusal::EnrollmentDiscarded => "enrollment_discarded",
            Refusal::ConfirmationRequired => "confirmation_required",
            Refusal::Forbidden(_) => "forbidden",
            Refusal::LastFactor => "last_factor",
            Refusal::SameAsPrimary => "same_as_primary",
            Refusal::NoDestination(_) => "no_destination",
            Refusal::RateLimited { .. } => "rate_limited",
            Refusal::RememberDisabled => "remember_disabled",
            Refusal::ReasonRequired => "reason_required",
            Refusal::SelfReset => "self_reset",
            Refusal::ActorWithoutMfa => "actor_without_mfa",
            Refusal::NotPermitted => "not_permitted",
            Refusal::InvalidSettings(_) => "invalid_settings",
            Refusal::SessionEnded(_) => "session_ended",
            Refusal::KeyRejected { .. } => "key_rejected",
            Refusal::KeyResponseMalformed => "key_response_malformed",
            Refusal::KeyNotRegistered => "key_not_registered",
            Refusal::NoCeremonyPending => "no_ceremony_pending",
            Refusal::CeremonyExpired => "ceremony_expired",
            Refusal::KeyAlreadyRegistered => "key_already_registered",
            Refusal::PhishingResistantRequired => "phishing_resistant_required",
            Refusal::AccountFrozen => "account_frozen",
            Refusal::DisownLinkInvalid => "disown_link_invalid",
            Refusal::DisownLinkUsed => "disown_link_used",
            Refusal::DisownLinkExpired => "disown_link_expired",
        }
    }

    /// Whether a wrong or reused code left the user fewer tries (the host may say how
    /// many are left).
    pub fn attempts_left(&self) -> Option<u32> {
        match self {
            Refusal::WrongCode { attempts_left }
            | Refusal::CodeReused { attempts_left }
            | Refusal::KeyRejected { attempts_left } => Some(*attempts_left),
            _ => None,
        }
    }
}

fn tries_left(count: u32) -> String {
    match count {
        1 => "1 try left".into(),
        n => format!("{n} tries left"),
    }
}

fn forbidden_text(reason: Reason) -> &'static str {
    match reason {
        Reason::JurisdictionRule => {
            "Two-step verification cannot be turned off for systems connected to tax data in Australia and New Zealand."
        }
        Reason::CompliancePreset => {
            "Two-step verification cannot be turned off under your compliance settings."
        }
        Reason::LevelMandatory | Reason::OrgEnforced => {
            "Two-step verification is mandatory in your organisation and cannot be turned off."
        }
        Reason::SingleSignOn => {
            "You sign in through your organisation's single sign-on, which handles two-step verification: it cannot be set up here."
        }
        _ => "Your organisation does not allow turning off two-step verification.",
    }
}

fn no_destination_text(role: Role) -> &'static str {
    match role {
        Role::Primary => {
            "No phone number or e-mail address is set up for codes. Add one, or use another way."
        }
        Role::Backup => "No backup phone number or e-mail address is set up. Add one, or use another way.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_reads_as_a_sentence_for_the_user() {
        let all = [
            Refusal::WrongCode { attempts_left: 3 },
            Refusal::CodeReused { attempts_left: 3 },
            Refusal::Malformed,
            Refusal::CodeExpired,
            Refusal::NoCodePending,
            Refusal::LockedOut { until: 1 },
            Refusal::AddressNotAllowed,
            Refusal::Disabled,
            Refusal::MethodNotAllowed,
            Refusal::FreshProofRequired,
            Refusal::NotEnrolled,
            Refusal::InvalidKey,
            Refusal::AlreadyEnrolled,
            Refusal::TooManyAuthenticators,
            Refusal::InvalidName,
            Refusal::NoPendingEnrollment,
            Refusal::EnrollmentExpired,
            Refusal::SameCodeTwice,
            Refusal::NotConsecutive,
            Refusal::TwoCodesRequired,
            Refusal::EnrollmentDiscarded,
            Refusal::ConfirmationRequired,
            Refusal::Forbidden(Reason::JurisdictionRule),
            Refusal::Forbidden(Reason::DeactivationDisabled),
            Refusal::Forbidden(Reason::SingleSignOn),
            Refusal::LastFactor,
            Refusal::SameAsPrimary,
            Refusal::NoDestination(Role::Primary),
            Refusal::NoDestination(Role::Backup),
            Refusal::RateLimited { retry_at: 1 },
            Refusal::RememberDisabled,
            Refusal::ReasonRequired,
            Refusal::SelfReset,
            Refusal::ActorWithoutMfa,
            Refusal::NotPermitted,
            Refusal::InvalidSettings("a lockout must last at least 1 second".into()),
            Refusal::SessionEnded(SessionEnd::AccountChanged),
            Refusal::SessionEnded(SessionEnd::LifetimeReached),
            Refusal::SessionEnded(SessionEnd::Inactive),
            Refusal::SessionEnded(SessionEnd::ClockBehind),
            Refusal::SessionEnded(SessionEnd::SignedOut),
        ];
        let codes: std::collections::BTreeSet<&str> = all.iter().map(Refusal::code).collect();
        assert!(codes.len() >= 34, "each kind of refusal has its own code");
        for refusal in all {
            let code = refusal.code();
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code}");
            let text = refusal.to_string();
            assert!(text.chars().next().is_some_and(char::is_uppercase), "{text}");
            assert!(text.ends_with('.'), "{text}");
            assert!(!text.contains('{'), "{text}");
        }
        assert!(Refusal::WrongCode { attempts_left: 4 }.to_string().contains("(4 tries left)"));
        assert!(Refusal::CodeReused { attempts_left: 1 }.to_string().contains("(1 try left)"));
    }
}
