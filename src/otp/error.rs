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
    /// The key is shorter than this crate accepts.
    #[error("the key is {found} bytes long but must be at least {min} bytes")]
    TooShort {
        /// The shortest key accepted, in bytes.
        min: usize,
        /// The length given, in bytes.
        found: usize,
    },
    /// The secret is longer than this crate accepts.
    #[error(
        "the secret is longer than {max} bytes: give the key your authenticator or the other system shows, of at most {max} bytes"
    )]
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
    #[error("no code was entered: type the code your app or message shows")]
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
