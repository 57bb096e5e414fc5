//! Code length, time step and drift window: validated once, then trusted.

use serde::{Deserialize, Serialize};

use super::algorithm::Algorithm;
use crate::otp::ParamError;

/// The number of digits in a code: 6, 7 or 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Digits(u8);

impl Digits {
    /// Six digits, the default every authenticator app supports.
    pub const SIX: Digits = Digits(6);
    /// Seven digits.
    pub const SEVEN: Digits = Digits(7);
    /// Eight digits, as in the RFC 6238 test vectors.
    pub const EIGHT: Digits = Digits(8);

    /// Checks that `digits` is 6, 7 or 8.
    ///
    /// # Errors
    /// [`ParamError::DigitsOutOfRange`] for any other number.
    pub const fn new(digits: u64) -> Result<Digits, ParamError> {
        match digits {
            6..=8 => Ok(Digits(digits as u8)),
            _ => Err(ParamError::DigitsOutOfRange { digits }),
        }
    }

    /// The number of digits.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// `10^digits`, the modulus of RFC 4226 §5.3.
    pub(crate) const fn modulus(self) -> u32 {
        10u32.pow(self.0 as u32)
    }
}

impl Default for Digits {
    fn default() -> Self {
        Digits::SIX
    }
}

impl TryFrom<u8> for Digits {
    type Error = ParamError;
    fn try_from(digits: u8) -> Result<Self, Self::Error> {
        Digits::new(u64::from(digits))
    }
}

impl From<Digits> for u8 {
    fn from(digits: Digits) -> u8 {
        digits.0
    }
}

/// The parameters of a TOTP credential (RFC 6238 §4): hash, code length, time step
/// and epoch.
///
/// Start from [`TotpParams::DEFAULT`] (SHA-1, 6 digits, 30 s, T0 = 0: what every
/// authenticator app expects) and change what you need; each setter validates.
///
/// ```
/// use mfa_kit::otp::{Algorithm, TotpParams};
///
/// let params = TotpParams::DEFAULT.with_algorithm(Algorithm::Sha256).with_digits(8)?;
/// assert_eq!(params.digits().get(), 8);
/// assert_eq!(params.period(), 30);
/// # Ok::<(), mfa_kit::otp::ParamError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawTotpParams", into = "RawTotpParams")]
pub struct TotpParams {
    algorithm: Algorithm,
    digits: Digits,
    period: u64,
    t0: u64,
}

impl TotpParams {
    /// SHA-1, 6 digits, a 30-second step, T0 = 0.
    pub const DEFAULT: TotpParams =
        TotpParams { algorithm: Algorithm::Sha1, digits: Digits::SIX, period: 30, t0: 0 };

    /// The same parameters with another hash function.
    #[must_use]
    pub const fn with_algorithm(mut self, algorithm: Algorithm) -> TotpParams {
        self.algorithm = algorithm;
        self
    }

    /// The same parameters with another code length.
    ///
    /// # Errors
    /// [`ParamError::DigitsOutOfRange`] unless `digits` is 6, 7 or 8.
    pub const fn with_digits(mut self, digits: u64) -> Result<TotpParams, ParamError> {
        match Digits::new(digits) {
            Ok(digits) => {
                self.digits = digits;
                Ok(self)
            }
            Err(error) => Err(error),
        }
    }

    /// The same parameters with another time step, in seconds.
    ///
    /// # Errors
    /// [`ParamError::PeriodZero`] for a period of 0.
    pub const fn with_period(mut self, seconds: u64) -> Result<TotpParams, ParamError> {
        if seconds == 0 {
            return Err(ParamError::PeriodZero);
        }
        self.period = seconds;
        Ok(self)
    }

    /// The same parameters with another epoch T0, in seconds since the Unix epoch.
    #[must_use]
    pub const fn with_t0(mut self, t0: u64) -> TotpParams {
        self.t0 = t0;
        self
    }

    /// The hash function.
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The code length.
    pub const fn digits(&self) -> Digits {
        self.digits
    }

    /// The time step in seconds (at least 1).
    pub const fn period(&self) -> u64 {
        self.period
    }

    /// The epoch T0 in seconds since the Unix epoch.
    pub const fn t0(&self) -> u64 {
        self.t0
    }
}

impl Default for TotpParams {
    fn default() -> Self {
        TotpParams::DEFAULT
    }
}

/// The serialised form of [`TotpParams`], validated on the way in.
#[derive(Serialize, Deserialize)]
struct RawTotpParams {
    algorithm: Algorithm,
    digits: Digits,
    period: u64,
    #[serde(default)]
    t0: u64,
}

impl TryFrom<RawTotpParams> for TotpParams {
    type Error = ParamError;
    fn try_from(raw: RawTotpParams) -> Result<Self, Self::Error> {
        Ok(TotpParams::DEFAULT
            .with_algorithm(raw.algorithm)
            .with_digits(u64::from(raw.digits.get()))?
            .with_period(raw.period)?
            .with_t0(raw.t0))
    }
}

impl From<TotpParams> for RawTotpParams {
    fn from(p: TotpParams) -> Self {
        RawTotpParams { algorithm: p.algorithm, digits: p.digits, period: p.period, t0: p.t0 }
    }
}

/// How many time steps before and after the current one a code may come from.
///
/// A window of one step behind and one ahead lets in a user whose phone clock is up to
/// a step off, or who typed as the code changed; RFC 6238 §5.2 recommends at most one
/// step of network delay. Each side is at most 255 steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a plain value the crate and hosts build and read whole; a new field is a deliberate breaking change"
)]
pub struct Window {
    /// Steps before the current one that are still accepted.
    pub behind: u8,
    /// Steps after the current one that are already accepted.
    pub ahead: u8,
}

impl Window {
    /// Only the current step.
    pub const EXACT: Window = Window { behind: 0, ahead: 0 };
    /// One step either way: the usual choice.
    pub const ONE: Window = Window { behind: 1, ahead: 1 };

    /// A window of `behind` steps before and `ahead` steps after the current one.
    pub const fn new(behind: u8, ahead: u8) -> Window {
        Window { behind, ahead }
    }

    /// The same number of steps either way.
    pub const fn symmetric(steps: u8) -> Window {
        Window { behind: steps, ahead: steps }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_outside_six_to_eight_are_refused() {
        for n in [0, 1, 5, 9, 10, u64::MAX] {
            assert_eq!(Digits::new(n), Err(ParamError::DigitsOutOfRange { digits: n }));
        }
        for n in 6..=8 {
            assert_eq!(Digits::new(n).map(Digits::get), Ok(n as u8));
        }
    }

    #[test]
    fn period_zero_is_refused() {
        assert_eq!(TotpParams::DEFAULT.with_period(0), Err(ParamError::PeriodZero));
        assert_eq!(TotpParams::DEFAULT.with_period(1).map(|p| p.period()), Ok(1));
    }

    #[test]
    fn defaults_are_what_authenticator_apps_expect() {
        let p = TotpParams::default();
        assert_eq!((p.algorithm(), p.digits().get(), p.period(), p.t0()), (Algorithm::Sha1, 6, 30, 0));
    }

    #[test]
    fn deserialising_validates() {
        let bad = r#"{"algorithm":"SHA1","digits":9,"period":30}"#;
        assert!(serde_json::from_str::<TotpParams>(bad).is_err());
        let zero = r#"{"algorithm":"SHA1","digits":6,"period":0}"#;
        assert!(serde_json::from_str::<TotpParams>(zero).is_err());
        let good = r#"{"algorithm":"SHA256","digits":8,"period":60}"#;
        let parsed: TotpParams = serde_json::from_str(good).unwrap();
        assert_eq!(parsed.algorithm(), Algorithm::Sha256);
    }
}
