//! Error types of the one-time-password core.
//!
//! Every error says what was wrong and what to do about it, and none of them ever
//! carries a secret or a code: they are safe to log and to show.

use thiserror::Error;

/// A TOTP or HOTP parameter is out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParamError {
    /// The algorithm name is not `SHA1`, `SHA256` or `SHA512`.
    #[error("unknown algorithm: use SHA1, SHA256 or SHA512")]
    UnknownAlgorithm,
    /// Codes have 6, 7 or 8 digits (RFC 4226 §5.3 asks for at least 6).
    #[error("{digits} digits is out of range: codes have 6, 7 or 8 digits")]
    DigitsOutOfRange {
        /// The number of digits asked for.
        digits: u64,
    },
    /// A TOTP time step must last at least one second.
    #[error("a period of 0 seconds is invalid: the time step must be at least 1 second")]
    PeriodZero,
}

/// A secret could not be made or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret holds no bytes.
    #[error("the secret is empty: give at least 1 byte (20 bytes are recommended)")]
    Empty,
    /// The text is not base32 (RFC 4648: letters A-Z and digits 2-7).
    #[error("the secret is not valid base32: use only the letters A-Z and the digits 2-7")]
    InvalidBase32,
    /// The secret is longer than this crate accepts.
    #[error("the secret is longer than {max} bytes")]
    TooLong {
        /// The longest secret accepted, in bytes.
        max: usize,
    },
    /// The operating system's random source failed; no secret was made.
    #[error("the operating system's random number generator failed: no secret was generated")]
    RandomSource,
}

/// A code typed by a user could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CodeError {
    /// Nothing but white space was entered.
    #[error("no code was entered")]
    Empty,
    /// The input holds a character other than an ASCII digit or a space.
    #[error("the code may hold only the digits 0-9 and spaces (character {position} is neither)")]
    InvalidCharacter {
        /// The 1-based position of the first offending character.
        position: usize,
    },
    /// The code has the wrong number of digits.
    #[error("the code has {found} digits but {expected} are expected")]
    WrongLength {
        /// The number of digits the credential produces.
        expected: u8,
        /// The number of digits entered.
        found: usize,
    },
}

/// The time given cannot be turned into a TOTP time step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TimeError {
    /// The time is before the TOTP epoch T0, so no time step exists for it.
    #[error("the time {time} is before the TOTP epoch T0 = {t0}: check the clock")]
    BeforeEpoch {
        /// The time given, in seconds since the Unix epoch.
        time: u64,
        /// The TOTP epoch of the credential.
        t0: u64,
    },
}

/// What went wrong in a call to the service ([`crate::service::MfaService`]).
///
/// Infrastructure failures (store, clock, sealer, random source) always mean nobody was
/// let in and nothing was changed. None of the variants holds a secret or a code.
#[cfg(feature = "std")]
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The host's store failed; nobody was let in and nothing was changed.
    #[error("the MFA store failed, so nobody was let in and nothing was changed: {0}")]
    Store(#[source] Box<dyn core::error::Error + Send + Sync>),
    /// The record kept changing under concurrent updates.
    #[error("the user's MFA record kept changing during {attempts} attempts; nothing was changed, try again")]
    Contention {
        /// How many times the change was tried.
        attempts: u32,
    },
    /// The clock failed; nobody was let in and nothing was changed.
    #[error("the clock failed, so nobody was let in and nothing was changed: {0}")]
    Clock(#[from] crate::clock::ClockError),
    /// The secret sealer failed; nobody was let in and nothing was changed.
    #[error("the secret sealer failed, so nobody was let in and nothing was changed: {0}")]
    Sealer(#[from] crate::seal::SealError),
    /// No secret could be generated.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The time cannot be turned into a time step.
    #[error(transparent)]
    Time(#[from] TimeError),
    /// An enrollment URI could not be built (for example a colon in the issuer).
    #[error("the enrollment URI could not be built: {0}")]
    Uri(#[from] crate::uri::UriError),
    /// The stored record was written by a newer or unknown version of this crate.
    #[error(
        "the stored MFA record has format {found}, but this version of mfa-kit reads format {supported}: upgrade mfa-kit"
    )]
    UnsupportedRecordFormat {
        /// The format found.
        found: u32,
        /// The format this version reads.
        supported: u32,
    },
    /// The store returned a record that belongs to another user.
    #[error("the store returned another user's record: check the store's keying")]
    WrongUserRecord,
    /// The user has no authenticator to verify a code against.
    #[error("the user has not set up an authenticator app")]
    NotEnrolled,
    /// There is no enrollment to confirm (never started, expired and discarded, or
    /// already confirmed).
    #[error("there is no enrollment in progress: start one first")]
    NoPendingEnrollment,
    /// The user is locked out; try again later.
    #[error("the user is locked out after too many wrong codes until {until}")]
    LockedOut {
        /// When the lockout ends.
        until: u64,
    },
    /// A deactivation was asked for without the explicit confirmation.
    #[error("deactivating MFA needs an explicit confirmation")]
    ConfirmationRequired,
    /// A reset was asked for without a reason.
    #[error("a reset needs a reason, for the audit log")]
    ReasonRequired,
    /// An admin tried to reset their own MFA through the admin path.
    #[error("nobody can reset their own MFA through the admin path")]
    SelfReset,
    /// The actor may not change the organisation's MFA settings.
    #[error("this user may not change the organisation's MFA settings")]
    NotPermitted,
    /// The new settings are out of range.
    #[error("the MFA settings were not changed: {0}")]
    InvalidSettings(String),
    /// No hashing key was given to the service, so recovery codes, out-of-band codes and
    /// remembered devices cannot be used.
    #[error("no hash key is configured: give one with MfaServiceBuilder::hash_key")]
    HashKeyMissing,
    /// The host's SMS or e-mail sender failed; no code became valid.
    #[error("the code could not be sent, so nothing was changed: {0}")]
    Sender(#[source] Box<dyn core::error::Error + Send + Sync>),
    /// A backup destination must differ from the primary one.
    #[error("the backup destination must differ from the primary one")]
    SameAsPrimary,
    /// The user has no destination of that role (or it is not confirmed yet).
    #[error("the user has no {0} destination for codes")]
    NoDestination(&'static str),
    /// The policy does not allow remembering devices here.
    #[error("remembering devices is turned off by the policy")]
    RememberDisabled,
    /// The admin or principal resetting a user has no MFA themselves.
    #[error("the admin must have MFA set up before resetting another user's MFA")]
    ActorWithoutMfa,
}
