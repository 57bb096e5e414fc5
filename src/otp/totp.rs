//! TOTP, the time-based one-time password of RFC 6238, and its verification.

use core::fmt;

use super::code::Code;
use super::hotp::Hotp;
use super::params::{TotpParams, Window};
use super::secret::Secret;
use crate::otp::TimeError;
use crate::otp::ct;

/// A code that matched a time step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a plain value the crate and hosts build and read whole; a new field is a deliberate breaking change"
)]
pub struct StepMatch {
    /// The time step the code belongs to. Record it as the last accepted step.
    pub step: u64,
    /// How many steps the step is from the current one: `-1` for the previous code,
    /// `1` for the next, `0` for the current.
    pub drift: i64,
}

/// The outcome of checking a TOTP code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use = "a verification that is not looked at lets nobody in, or everybody"]
#[allow(
    clippy::exhaustive_enums,
    reason = "the three answers a verification can give (accepted, replayed, wrong); a fourth would change every caller's logic on purpose"
)]
pub enum Verification {
    /// The code is valid for a step after the replay floor. Store `step` as the new
    /// last accepted step before letting the user in.
    Accepted(StepMatch),
    /// The code is valid only for a step at or below the last accepted one: it was
    /// used before (RFC 6238 §5.2). Refuse it.
    Replayed(StepMatch),
    /// The code matches no step in the window.
    Wrong,
}

impl Verification {
    /// Whether the code was accepted.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Verification::Accepted(_))
    }

    /// The accepted match, if any.
    pub fn accepted(&self) -> Option<StepMatch> {
        match self {
            Verification::Accepted(found) => Some(*found),
            _ => None,
        }
    }
}

/// A TOTP generator and verifier with the key prepared once (RFC 6238).
///
/// ```
/// use mfa_kit::otp::{Secret, Totp, TotpParams, Verification, Window};
///
/// let secret = Secret::from_bytes(b"12345678901234567890")?;
/// let totp = Totp::new(&secret, TotpParams::DEFAULT);
/// let now = 1_700_000_000;
/// let typed = totp.parse_code(&totp.generate(now - 30)?.to_string())?;
///
/// let Verification::Accepted(found) = totp.verify(&typed, now, Window::ONE, None)? else {
///     panic!("a code one step old is inside a window of one");
/// };
/// assert_eq!(found.drift, -1);
/// // Once found.step is stored as the last accepted step, the code is a replay.
/// let again = totp.verify(&typed, now, Window::ONE, Some(found.step))?;
/// assert_eq!(again, Verification::Replayed(found));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Totp {
    hotp: Hotp,
    params: TotpParams,
}

impl Totp {
    /// Prepares the HMAC key of `secret`, once, for the given parameters.
    pub fn new(secret: &Secret, params: TotpParams) -> Totp {
        Totp { hotp: Hotp::new(secret, params.algorithm(), params.digits()), params }
    }

    /// The parameters.
    pub fn params(&self) -> &TotpParams {
        &self.params
    }

    /// The time step of `unix_time`: `(unix_time - T0) / period`.
    ///
    /// # Errors
    /// [`TimeError::BeforeEpoch`] for a time before T0.
    pub fn step_at(&self, unix_time: u64) -> Result<u64, TimeError> {
        let since_epoch = unix_time
            .checked_sub(self.params.t0())
            .ok_or(TimeError::BeforeEpoch { time: unix_time, t0: self.params.t0() })?;
        Ok(since_epoch / self.params.period())
    }

    /// The code at `unix_time` (seconds since the Unix epoch).
    ///
    /// # Errors
    /// [`TimeError::BeforeEpoch`] for a time before T0.
    pub fn generate(&self, unix_time: u64) -> Result<Code, TimeError> {
        Ok(self.generate_at_step(self.step_at(unix_time)?))
    }

    /// The code of time step `step`.
    pub fn generate_at_step(&self, step: u64) -> Code {
        self.hotp.generate(step)
    }

    /// Reads a code typed by a user with this credential's number of digits.
    ///
    /// # Errors
    /// As [`Code::parse`].
    pub fn parse_code(&self, input: &str) -> Result<Code, crate::otp::CodeError> {
        Code::parse(input, self.params.digits())
    }

    /// Checks `code` against every step of `window` around `unix_time`.
    ///
    /// `last_accepted` is the replay floor: a step at or below it is never accepted,
    /// and a code that matches only such steps is reported as
    /// [`Verification::Replayed`]. Steps below the floor are skipped, not taken as
    /// the match, so a fresh code that happens to equal an old step's code is still
    /// accepted at its own step. Where several fresh steps match (a 1-in-10^digits
    /// coincidence), the one nearest the current step wins, the earlier on a tie.
    ///
    /// Every step of the window is computed and compared in constant time without an
    /// early exit, nothing is allocated, and the window is cut at step 0 and at
    /// `u64::MAX` instead of wrapping.
    ///
    /// # Errors
    /// [`TimeError::BeforeEpoch`] for a time before T0.
    pub fn verify(
        &self,
        code: &Code,
        unix_time: u64,
        window: Window,
        last_accepted: Option<u64>,
    ) -> Result<Verification, TimeError> {
        let now = self.step_at(unix_time)?;
        Ok(self.verify_around_step(code, now, window, last_accepted))
    }

    /// As [`Totp::verify`], with the current time step given directly.
    pub fn verify_around_step(
        &self,
        code: &Code,
        now: u64,
        window: Window,
        last_accepted: Option<u64>,
    ) -> Verification {
        let mut fresh = Found::default();
        let mut replayed = Found::default();
        // Nearest first: 0, -1, +1, -2, +2, ... so the first match kept is the nearest.
        let reach = window.behind.max(window.ahead);
        for distance in 0..=reach {
            let distance = u64::from(distance);
            let earlier = (distance <= u64::from(window.behind)).then(|| now.checked_sub(distance)).flatten();
            let later = (distance > 0 && distance <= u64::from(window.ahead))
                .then(|| now.checked_add(distance))
                .flatten();
            for step in [earlier, later].into_iter().flatten() {
                let matches = self.hotp.matches(code, step);
                let is_fresh = last_accepted.is_none_or(|floor| step > floor);
                if is_fresh {
                    fresh.offer(matches, step);
                } else {
                    replayed.offer(matches, step);
                }
            }
        }
        let drift_of = |step: u64| {
            // Both are within 255 of each other, so the difference fits.
            if step >= now { (step - now) as i64 } else { -((now - step) as i64) }
        };
        if let Some(step) = fresh.step() {
            Verification::Accepted(StepMatch { step, drift: drift_of(step) })
        } else if let Some(step) = replayed.step() {
            Verification::Replayed(StepMatch { step, drift: drift_of(step) })
        } else {
            Verification::Wrong
        }
    }
}

/// The first matching step offered, kept without a data-dependent branch.
#[derive(Default)]
struct Found {
    step: u64,
    any: u64,
}

impl Found {
    #[inline]
    fn offer(&mut self, matches: u64, step: u64) {
        let take = matches & !self.any;
        self.step = ct::select_u64(take, step, self.step);
        self.any |= take;
    }

    fn step(&self) -> Option<u64> {
        (self.any != 0).then_some(self.step)
    }
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp").field("params", &self.params).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::{Algorithm, Digits};
    use proptest::prelude::*;

    fn default_totp() -> Totp {
        Totp::new(&Secret::from_bytes(b"12345678901234567890").unwrap(), TotpParams::DEFAULT)
    }

    /// RFC 6238 appendix B: every row, each algorithm with its own seed length.
    #[test]
    fn rfc6238_appendix_b() {
        let seed20 = b"12345678901234567890";
        let seed32 = b"12345678901234567890123456789012";
        let seed64 = b"1234567890123456789012345678901234567890123456789012345678901234";
        let rows: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        let make = |seed: &[u8], algorithm| {
            let params = TotpParams::DEFAULT.with_algorithm(algorithm).with_digits(8).unwrap();
            Totp::new(&Secret::from_bytes(seed).unwrap(), params)
        };
        let sha1 = make(seed20, Algorithm::Sha1);
        let sha256 = make(seed32, Algorithm::Sha256);
        let sha512 = make(seed64, Algorithm::Sha512);
        for (time, expected1, expected256, expected512) in rows {
            assert_eq!(sha1.generate(time).unwrap().to_string(), expected1, "SHA1 at {time}");
            assert_eq!(sha256.generate(time).unwrap().to_string(), expected256, "SHA256 at {time}");
            assert_eq!(sha512.generate(time).unwrap().to_string(), expected512, "SHA512 at {time}");
            for (totp, expected) in [(&sha1, expected1), (&sha256, expected256), (&sha512, expected512)] {
                let code = totp.parse_code(expected).unwrap();
                let verdict = totp.verify(&code, time, Window::EXACT, None).unwrap();
                assert!(verdict.is_accepted(), "{expected} at {time}");
            }
        }
    }

    #[test]
    fn time_before_t0_is_an_error_not_a_wrap() {
        let params = TotpParams::DEFAULT.with_t0(1_000);
        let totp = Totp::new(&Secret::from_bytes(&[1; 20]).unwrap(), params);
        assert_eq!(totp.step_at(999), Err(TimeError::BeforeEpoch { time: 999, t0: 1_000 }));
        assert_eq!(totp.step_at(1_000), Ok(0));
        let code = totp.generate_at_step(0);
        assert!(totp.verify(&code, 0, Window::ONE, None).is_err());
    }

    #[test]
    fn window_is_cut_at_step_zero_and_at_the_top() {
        let totp = default_totp();
        let code = totp.generate_at_step(0);
        let verdict = totp.verify(&code, 0, Window::symmetric(255), None).unwrap();
        assert_eq!(verdict, Verification::Accepted(StepMatch { step: 0, drift: 0 }));
        let top = totp.generate_at_step(u64::MAX);
        let verdict = totp.verify_around_step(&top, u64::MAX - 1, Window::symmetric(255), None);
        assert_eq!(verdict, Verification::Accepted(StepMatch { step: u64::MAX, drift: 1 }));
        let verdict = totp.verify_around_step(&top, u64::MAX, Window::ONE, Some(u64::MAX));
        assert_eq!(verdict, Verification::Replayed(StepMatch { step: u64::MAX, drift: 0 }));
        assert_eq!(totp.step_at(u64::MAX), Ok(u64::MAX / 30));
    }

    #[test]
    fn behind_and_ahead_are_separate() {
        let totp = default_totp();
        let now = 50_000;
        let window = Window::new(2, 0);
        assert!(totp.verify_around_step(&totp.generate_at_step(now - 2), now, window, None).is_accepted());
        assert_eq!(
            totp.verify_around_step(&totp.generate_at_step(now + 1), now, window, None),
            Verification::Wrong
        );
    }

    /// Finds a secret whose codes at two steps collide, to test the floor skipping.
    fn colliding(distance: u64) -> (Totp, u64, u64) {
        for seed in 0u32.. {
            let totp = Totp::new(&Secret::from_bytes(&seed.to_be_bytes()).unwrap(), TotpParams::DEFAULT);
            let now = 1_000;
            for older in now - distance..now {
                if totp.generate_at_step(older).value() == totp.generate_at_step(now).value() {
                    return (totp, older, now);
                }
            }
        }
        unreachable!("some seed collides")
    }

    #[test]
    fn a_fresh_code_equal_to_an_older_used_code_is_accepted_at_its_own_step() {
        let (totp, older, now) = colliding(10);
        let code = totp.generate_at_step(now);
        let window = Window::new(10, 0);
        // Without a floor the nearest step (the current one) is the match.
        assert_eq!(totp.verify_around_step(&code, now, window, None).accepted().map(|m| m.step), Some(now));
        // With the older step used, the current one is still fresh and accepted.
        let verdict = totp.verify_around_step(&code, now, window, Some(older));
        assert_eq!(verdict, Verification::Accepted(StepMatch { step: now, drift: 0 }));
        // With both used, it is a replay.
        assert!(matches!(totp.verify_around_step(&code, now, window, Some(now)), Verification::Replayed(_)));
    }

    fn any_params() -> impl Strategy<Value = TotpParams> {
        (
            prop_oneof![Just(Algorithm::Sha1), Just(Algorithm::Sha256), Just(Algorithm::Sha512)],
            6u64..=8,
            1u64..=300,
        )
            .prop_map(|(a, d, p)| {
                TotpParams::DEFAULT.with_algorithm(a).with_digits(d).unwrap().with_period(p).unwrap()
            })
    }

    proptest! {
        #[test]
        fn a_code_verifies_at_every_drift_inside_the_window_and_none_outside(
            key in proptest::collection::vec(any::<u8>(), 1..64),
            params in any_params(),
            now in 300u64..u64::MAX / 2,
            behind in 0u8..4,
            ahead in 0u8..4,
            drift in -6i64..=6,
        ) {
            let totp = Totp::new(&Secret::from_bytes(&key).unwrap(), params);
            let step = now.checked_add_signed(drift).unwrap();
            let code = totp.generate_at_step(step);
            let window = Window::new(behind, ahead);
            let inside = -i64::from(behind) <= drift && drift <= i64::from(ahead);
            let verdict = totp.verify_around_step(&code, now, window, None);
            if inside {
                // A coincidence nearer to now could win; the match is never farther.
                let found = verdict.accepted();
                prop_assert!(found.is_some());
                prop_assert!(found.unwrap().drift.abs() <= drift.abs());
                prop_assert_eq!(totp.generate_at_step(found.unwrap().step).value(), code.value());
            } else if let Some(found) = verdict.accepted() {
                // Only a coincidence with a step inside the window may be accepted.
                prop_assert_ne!(found.step, step);
                prop_assert_eq!(totp.generate_at_step(found.step).value(), code.value());
            }
        }

        #[test]
        fn nothing_at_or_below_the_floor_is_ever_accepted(
            key in proptest::collection::vec(any::<u8>(), 1..40),
            now in 0u64..1_000_000,
            floor_offset in -5i64..=5,
            code_offset in -3i64..=3,
        ) {
            let totp = Totp::new(&Secret::from_bytes(&key).unwrap(), TotpParams::DEFAULT);
            let floor = now.saturating_add_signed(floor_offset);
            let code = totp.generate_at_step(now.saturating_add_signed(code_offset));
            let verdict = totp.verify_around_step(&code, now, Window::symmetric(3), Some(floor));
            if let Some(found) = verdict.accepted() {
                prop_assert!(found.step > floor);
            }
            if let Verification::Replayed(found) = verdict {
                prop_assert!(found.step <= floor);
            }
        }
    }

    #[test]
    fn digits_of_the_code_must_match_the_credential() {
        let totp = default_totp();
        assert_eq!(
            totp.parse_code("1234567").unwrap_err(),
            crate::otp::CodeError::WrongLength { expected: 6, found: 7 }
        );
        let eight = Code::parse("12345678", Digits::EIGHT).unwrap();
        assert_eq!(totp.verify_around_step(&eight, 10, Window::ONE, None), Verification::Wrong);
    }
}
