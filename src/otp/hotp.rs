//! HOTP, the counter-based one-time password of RFC 4226.

use core::fmt;

use super::algorithm::Algorithm;
use super::code::Code;
use super::keyed::KeyedHmac;
use super::params::Digits;
use super::secret::Secret;
use crate::otp::ct;

/// An HOTP generator and verifier with the key prepared once (RFC 4226).
///
/// ```
/// use mfa_kit::otp::{Algorithm, Digits, Hotp, Secret};
///
/// let secret = Secret::from_bytes(b"12345678901234567890")?;
/// let hotp = Hotp::new(&secret, Algorithm::Sha1, Digits::SIX);
/// assert_eq!(hotp.generate(0).to_string(), "755224"); // RFC 4226 appendix D
/// let typed = hotp.parse_code("287 082")?;
/// assert_eq!(hotp.verify(&typed, 0, 5), Some(1)); // found one step ahead
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Hotp {
    key: KeyedHmac,
    algorithm: Algorithm,
    digits: Digits,
    /// `10^digits`, computed once.
    modulus: u32,
}

impl Hotp {
    /// Prepares the HMAC key of `secret` for `algorithm`, once.
    pub fn new(secret: &Secret, algorithm: Algorithm, digits: Digits) -> Hotp {
        Hotp {
            key: KeyedHmac::new(algorithm, secret.expose_bytes()),
            algorithm,
            digits,
            modulus: digits.modulus(),
        }
    }

    /// The code for `counter`.
    pub fn generate(&self, counter: u64) -> Code {
        Code::new(self.value(counter), self.digits)
    }

    /// Reads a code typed by a user with this credential's number of digits.
    ///
    /// # Errors
    /// As [`Code::parse`].
    pub fn parse_code(&self, input: &str) -> Result<Code, crate::otp::CodeError> {
        Code::parse(input, self.digits)
    }

    /// Looks for `code` at `counter` and up to `look_ahead` counters after it (RFC 4226
    /// §7.4), and returns the counter it matched. Store `matched + 1` as the next
    /// counter so the code cannot be used again.
    ///
    /// Every candidate is computed and compared in constant time, with no early exit;
    /// the window stops at `u64::MAX` instead of wrapping. A code with another number
    /// of digits never matches.
    pub fn verify(&self, code: &Code, counter: u64, look_ahead: u8) -> Option<u64> {
        let mut matched = 0u64;
        let mut found = 0u64;
        for offset in 0..=u64::from(look_ahead) {
            let Some(candidate) = counter.checked_add(offset) else { break };
            let take = self.matches(code, candidate) & !found;
            matched = ct::select_u64(take, candidate, matched);
            found |= take;
        }
        (found != 0).then_some(matched)
    }

    /// The hash function.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The code length.
    pub fn digits(&self) -> Digits {
        self.digits
    }

    /// All ones when `code` is the code of `counter`, computed in constant time.
    #[inline]
    pub(crate) fn matches(&self, code: &Code, counter: u64) -> u64 {
        let digits_match = ct::eq_mask_u32(u32::from(code.digits().get()), u32::from(self.digits.get()));
        ct::eq_mask_u32(self.value(counter), code.value()) & digits_match
    }

    fn value(&self, counter: u64) -> u32 {
        self.key.truncated(counter) % self.modulus
    }
}

impl fmt::Debug for Hotp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hotp")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits.get())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc4226() -> Hotp {
        Hotp::new(&Secret::from_bytes(b"12345678901234567890").unwrap(), Algorithm::Sha1, Digits::SIX)
    }

    /// RFC 4226 appendix D: the truncated values and the 6-digit codes for counters 0-9.
    #[test]
    fn rfc4226_appendix_d() {
        let truncated: [u32; 10] = [
            1_284_755_224,
            1_094_287_082,
            137_359_152,
            1_726_969_429,
            1_640_338_314,
            868_254_676,
            1_918_287_922,
            82_162_583,
            673_399_871,
            645_520_489,
        ];
        let codes = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
            "520489",
        ];
        let hotp = rfc4226();
        for (counter, (value, code)) in truncated.iter().zip(codes).enumerate() {
            assert_eq!(hotp.key.truncated(counter as u64), *value, "counter {counter}");
            assert_eq!(hotp.generate(counter as u64).to_string(), code, "counter {counter}");
        }
    }

    #[test]
    fn look_ahead_returns_the_matched_counter() {
        let hotp = rfc4226();
        let code = hotp.parse_code("969429").unwrap();
        assert_eq!(hotp.verify(&code, 0, 2), None);
        assert_eq!(hotp.verify(&code, 0, 3), Some(3));
        assert_eq!(hotp.verify(&code, 3, 0), Some(3));
        assert_eq!(hotp.verify(&code, 4, 10), None);
    }

    #[test]
    fn look_ahead_stops_at_the_end_of_the_counter_space() {
        let hotp = rfc4226();
        let code = hotp.generate(u64::MAX);
        assert_eq!(hotp.verify(&code, u64::MAX - 1, 255), Some(u64::MAX));
        assert_eq!(hotp.verify(&hotp.generate(0), u64::MAX, 255), None);
    }

    #[test]
    fn a_code_of_other_length_never_matches() {
        let hotp = rfc4226();
        let eight =
            Hotp::new(&Secret::from_bytes(b"12345678901234567890").unwrap(), Algorithm::Sha1, Digits::EIGHT);
        assert_eq!(hotp.verify(&eight.generate(0), 0, 0), None);
    }
}
