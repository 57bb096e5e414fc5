//! Setting up an authenticator app: start, confirm with codes, expire, restart.
//!
//! A pure state transition on the record, like [`crate::proof`]. A started enrollment
//! holds a new sealed secret beside (never in place of) the active credential; only a
//! confirmation with codes from the app makes it the credential, replacing the old one.
//! That is what makes the lost-phone case safe (DESIGN.md R7).

use serde::{Deserialize, Serialize};

use crate::audit::{EnrollmentRejection, EventKind};
use crate::error::TimeError;
use crate::policy::LockoutRule;
use crate::proof::DriftRules;
use crate::record::{FailureState, PendingEnrollment, TotpCredential, UserRecord};
use crate::seal::SealedSecret;
use crate::{Code, Totp, TotpParams, Window};

/// How many codes confirm an enrollment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirmation {
    /// Two consecutive codes (the default): proves the app's clock and the secret were
    /// both taken over correctly, as the ATO-connected products ask.
    #[default]
    TwoCodes,
    /// One code.
    OneCode,
}

/// The outcome of confirming an enrollment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnrollmentOutcome {
    /// The authenticator is active.
    Confirmed {
        /// Whether it replaced an older authenticator.
        replaced: bool,
    },
    /// The codes were refused; the enrollment stays open unless the reason is
    /// [`EnrollmentRejection::TooManyAttempts`].
    Rejected {
        /// Why.
        reason: EnrollmentRejection,
        /// Wrong confirmations left before the enrollment is discarded.
        attempts_left: u32,
    },
    /// The enrollment expired and was discarded: start again.
    Expired,
}

/// Opens (or restarts) an enrollment with a freshly sealed secret.
pub(crate) fn begin(
    record: &mut UserRecord,
    secret: SealedSecret,
    params: TotpParams,
    now: u64,
    lifetime: u64,
) {
    let expires_at = now.saturating_add(lifetime);
    record.pending_enrollment =
        Some(PendingEnrollment { secret, params, started_at: now, expires_at, failed_attempts: 0 });
}

/// Discards a pending enrollment whose time is up; true if it did.
pub(crate) fn expire(record: &mut UserRecord, now: u64, events: &mut Vec<EventKind>) -> bool {
    if record.pending_enrollment.as_ref().is_some_and(|pending| now >= pending.expires_at) {
        record.pending_enrollment = None;
        events.push(EventKind::EnrollmentExpired);
        return true;
    }
    false
}

/// Confirms the pending enrollment with the codes typed from the app. `totp` is the
/// pending secret, opened. The caller has checked that an enrollment is pending, not
/// expired, and that the user is not locked out.
#[allow(clippy::too_many_arguments)] // A pure transition: everything it depends on is an argument.
pub(crate) fn confirm(
    record: &mut UserRecord,
    totp: &Totp,
    codes: &[&str],
    mode: Confirmation,
    now: u64,
    rules: &DriftRules,
    lockout: LockoutRule,
    events: &mut Vec<EventKind>,
) -> Result<EnrollmentOutcome, TimeError> {
    let matched = match_codes(totp, codes, mode, now, rules.base)?;
    let Some(pending) = record.pending_enrollment.take() else {
        return Ok(EnrollmentOutcome::Expired);
    };
    match matched {
        Ok((step, drift)) => {
            let replaced = record.totp.is_some();
            record.totp = Some(TotpCredential {
                secret: pending.secret,
                params: pending.params,
                created_at: now,
                last_used_at: None,
                last_accepted_step: Some(step),
                drift: rules.learn(0, drift),
            });
            record.failures = FailureState::default();
            events.push(EventKind::EnrollmentConfirmed { replaced });
            Ok(EnrollmentOutcome::Confirmed { replaced })
        }
        Err(reason) => {
            let failed_attempts = pending.failed_attempts.saturating_add(1);
            let limit = lockout.max_failures.max(1);
            if failed_attempts >= limit {
                events.push(EventKind::EnrollmentRejected { reason: EnrollmentRejection::TooManyAttempts });
                return Ok(EnrollmentOutcome::Rejected {
                    reason: EnrollmentRejection::TooManyAttempts,
                    attempts_left: 0,
                });
            }
            record.pending_enrollment = Some(PendingEnrollment { failed_attempts, ..pending });
            events.push(EventKind::EnrollmentRejected { reason });
            Ok(EnrollmentOutcome::Rejected { reason, attempts_left: limit - failed_attempts })
        }
    }
}

/// Finds the step the codes prove: the last code's step and drift.
fn match_codes(
    totp: &Totp,
    codes: &[&str],
    mode: Confirmation,
    now: u64,
    base: Window,
) -> Result<Result<(u64, i64), EnrollmentRejection>, TimeError> {
    let parse = |input: &str| totp.parse_code(input).map_err(|_| EnrollmentRejection::Malformed);
    let (first, second) = match (mode, codes) {
        (_, [only]) if mode == Confirmation::OneCode => match parse(only) {
            Ok(code) => (code, None),
            Err(reason) => return Ok(Err(reason)),
        },
        (Confirmation::TwoCodes, [_]) => return Ok(Err(EnrollmentRejection::TwoCodesRequired)),
        (_, [first, second]) => match (parse(first), parse(second)) {
            (Ok(first), Ok(second)) => (first, Some(second)),
            (Err(reason), _) | (_, Err(reason)) => return Ok(Err(reason)),
        },
        _ => return Ok(Err(EnrollmentRejection::Malformed)),
    };
    let Some(second) = second else {
        return Ok(totp
            .verify(&first, now, base, None)?
            .accepted()
            .map(|found| (found.step, found.drift))
            .ok_or(EnrollmentRejection::WrongCode));
    };
    if first == second {
        return Ok(Err(EnrollmentRejection::SameCodeTwice));
    }
    consecutive(totp, &first, &second, now, base)
}

/// Two codes of consecutive steps, the second inside the base window.
fn consecutive(
    totp: &Totp,
    first: &Code,
    second: &Code,
    now: u64,
    base: Window,
) -> Result<Result<(u64, i64), EnrollmentRejection>, TimeError> {
    // The first code was typed a step before the second, so look one step further back.
    let wider = Window::new(base.behind.saturating_add(1), base.ahead);
    let second_alone = totp.verify(second, now, base, None)?.accepted();
    let Some(found_first) = totp.verify(first, now, wider, None)?.accepted() else {
        return Ok(Err(EnrollmentRejection::WrongCode));
    };
    Ok(match second_alone {
        Some(found) if Some(found.step) == found_first.step.checked_add(1) => Ok((found.step, found.drift)),
        Some(_) => Err(EnrollmentRejection::NotConsecutive),
        None if totp.verify(second, now, wider, None)?.is_accepted() => {
            Err(EnrollmentRejection::NotConsecutive)
        }
        None => Err(EnrollmentRejection::WrongCode),
    })
}
