//! Proving the second factor against a user's record: a pure state transition.
//!
//! `(record, input, now) -> (changed record, outcome, events)`, with no I/O: the
//! service loads the record, runs one of these, saves the record conditionally and only
//! then emits the events. Here live the replay floor, drift learning and resync (RFC
//! 6238 §5.2 and §6), and failure counting with lockout.

use crate::audit::{EventKind, Method, RejectionReason};
use crate::error::{CodeError, TimeError};
use crate::policy::LockoutRule;
use crate::record::{FailureState, LastProof, TotpCredential, UserRecord};
use crate::{Totp, Verification, Window};

/// How far the verify window reaches, and how it follows a drifting clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriftRules {
    /// The window around the server's current step, always checked.
    pub base: Window,
    /// How far single accepted codes may move the window's centre, in steps.
    pub max_learned: u8,
    /// How far a resynchronisation with two consecutive codes looks, in steps.
    pub resync_range: u8,
}

impl DriftRules {
    /// One step either way, learning up to 2 steps, resync within 10 (5 minutes).
    pub const DEFAULT: DriftRules = DriftRules { base: Window::ONE, max_learned: 2, resync_range: 10 };

    /// The window around the current step for a credential with a learned `drift`:
    /// the base window, and the base window around the drifted step.
    fn window_for(&self, drift: i64) -> Window {
        let behind = i64::from(self.base.behind).max(i64::from(self.base.behind) - drift);
        let ahead = i64::from(self.base.ahead).max(i64::from(self.base.ahead) + drift);
        Window::new(clamp_u8(behind), clamp_u8(ahead))
    }

    /// The drift to remember after a code matched at `matched`: it follows the code,
    /// but never further out than `max_learned` or the drift it had.
    pub(crate) fn learn(&self, old: i64, matched: i64) -> i64 {
        let bound = i64::from(self.max_learned).max(old.abs());
        matched.clamp(-bound, bound)
    }
}

impl Default for DriftRules {
    fn default() -> Self {
        DriftRules::DEFAULT
    }
}

fn clamp_u8(value: i64) -> u8 {
    u8::try_from(value.clamp(0, 255)).unwrap_or(u8::MAX)
}

/// The outcome of presenting a second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeOutcome {
    /// Proven: let the user in.
    Accepted {
        /// The factor used.
        method: Method,
        /// The code's clock drift in time steps (TOTP).
        drift: Option<i64>,
    },
    /// Refused; the user may try again.
    Rejected {
        /// Why.
        reason: RejectionReason,
        /// Wrong codes left before a lockout.
        attempts_left: u32,
    },
    /// The input was not a code at all; it does not count as a failure.
    Malformed(CodeError),
    /// Refused: the user is locked out until then. The code was not evaluated.
    LockedOut {
        /// When the user may try again.
        until: u64,
    },
    /// Refused by the policy before the code was evaluated (for example the address is
    /// not on the organisation's allowlist).
    Refused(crate::policy::Reason),
}

impl CodeOutcome {
    /// Whether the factor was proven.
    pub fn is_accepted(&self) -> bool {
        matches!(self, CodeOutcome::Accepted { .. })
    }
}

/// Ends a lockout whose time has passed.
pub(crate) fn lift_expired_lock(failures: &mut FailureState, now: u64, events: &mut Vec<EventKind>) {
    if failures.locked_until.is_some_and(|until| now >= until) {
        failures.locked_until = None;
        failures.consecutive = 0;
        events.push(EventKind::LockoutEnded);
    }
}

/// Counts one failure; returns the outcome (a rejection, or the lockout it started).
pub(crate) fn count_failure(
    failures: &mut FailureState,
    method: Method,
    reason: RejectionReason,
    now: u64,
    rule: LockoutRule,
    events: &mut Vec<EventKind>,
) -> CodeOutcome {
    failures.consecutive = failures.consecutive.saturating_add(1);
    events.push(EventKind::CodeRejected { method, reason, consecutive_failures: failures.consecutive });
    let limit = rule.max_failures.max(1);
    if failures.consecutive >= limit {
        let until = now.saturating_add(rule.lock_seconds);
        failures.locked_until = Some(until);
        events.push(EventKind::LockoutStarted { until });
        CodeOutcome::LockedOut { until }
    } else {
        CodeOutcome::Rejected { reason, attempts_left: limit - failures.consecutive }
    }
}

/// Refuses input that is not a code at all: audited, but not counted as a failure.
pub(crate) fn malformed(
    failures: &FailureState,
    method: Method,
    error: CodeError,
    events: &mut Vec<EventKind>,
) -> CodeOutcome {
    events.push(EventKind::CodeRejected {
        method,
        reason: RejectionReason::Malformed,
        consecutive_failures: failures.consecutive,
    });
    CodeOutcome::Malformed(error)
}

/// Records a successful proof: the failure count starts again, and the status list
/// shows when and how the user last proved their second factor.
pub(crate) fn succeed(
    failures: &mut FailureState,
    last_proof: &mut Option<LastProof>,
    method: Method,
    now: u64,
    drift: Option<i64>,
    events: &mut Vec<EventKind>,
) -> CodeOutcome {
    failures.consecutive = 0;
    *last_proof = Some(LastProof { at: now, method });
    events.push(EventKind::CodeAccepted { method, drift });
    CodeOutcome::Accepted { method, drift }
}

/// The parts of the record a TOTP proof changes.
struct TotpProof<'a> {
    credential: &'a mut TotpCredential,
    failures: &'a mut FailureState,
    last_proof: &'a mut Option<LastProof>,
}

impl TotpProof<'_> {
    /// Accepts the code of `step`: the new replay floor, and a success.
    fn accept(self, step: u64, now: u64, drift: i64, events: &mut Vec<EventKind>) -> CodeOutcome {
        self.credential.last_accepted_step = Some(step);
        self.credential.last_used_at = Some(now);
        succeed(self.failures, self.last_proof, Method::Totp, now, Some(drift), events)
    }
}

/// What every TOTP proof starts with: the lock check, then the credential. `Err` is
/// the outcome when there is nothing to verify against.
fn begin_totp_proof<'a>(
    record: &'a mut UserRecord,
    now: u64,
    lockout: LockoutRule,
    events: &mut Vec<EventKind>,
) -> Result<TotpProof<'a>, CodeOutcome> {
    let UserRecord { totp, failures, last_proof, .. } = record;
    if let Some(refused) = refuse_if_locked(failures, Method::Totp, now, events) {
        return Err(refused);
    }
    match totp.as_mut() {
        Some(credential) => Ok(TotpProof { credential, failures, last_proof }),
        None => Err(count_failure(failures, Method::Totp, RejectionReason::Wrong, now, lockout, events)),
    }
}

/// Checks the lock before any code is evaluated: lifts an expired one, refuses during one.
pub(crate) fn refuse_if_locked(
    failures: &mut FailureState,
    method: Method,
    now: u64,
    events: &mut Vec<EventKind>,
) -> Option<CodeOutcome> {
    lift_expired_lock(failures, now, events);
    let until = failures.locked_until?;
    events.push(EventKind::CodeRejected {
        method,
        reason: RejectionReason::LockedOut,
        consecutive_failures: failures.consecutive,
    });
    Some(CodeOutcome::LockedOut { until })
}

/// Verifies a typed TOTP code against the record's credential and updates the record:
/// the replay floor and drift on success, the failure count and lockout otherwise.
///
/// `totp` is the record's credential with its secret opened.
pub(crate) fn prove_totp(
    record: &mut UserRecord,
    totp: &Totp,
    input: &str,
    now: u64,
    rules: &DriftRules,
    lockout: LockoutRule,
    events: &mut Vec<EventKind>,
) -> Result<CodeOutcome, TimeError> {
    let proof = match begin_totp_proof(record, now, lockout, events) {
        Ok(started) => started,
        Err(outcome) => return Ok(outcome),
    };
    let code = match totp.parse_code(input) {
        Ok(code) => code,
        Err(error) => return Ok(malformed(proof.failures, Method::Totp, error, events)),
    };
    let window = rules.window_for(proof.credential.drift);
    Ok(match totp.verify(&code, now, window, proof.credential.last_accepted_step)? {
        Verification::Accepted(found) => {
            proof.credential.drift = rules.learn(proof.credential.drift, found.drift);
            proof.accept(found.step, now, found.drift, events)
        }
        Verification::Replayed(_) => {
            count_failure(proof.failures, Method::Totp, RejectionReason::Replayed, now, lockout, events)
        }
        Verification::Wrong => {
            count_failure(proof.failures, Method::Totp, RejectionReason::Wrong, now, lockout, events)
        }
    })
}

/// Re-learns the drift of a clock that has moved past the learned bound, from two
/// consecutive codes anywhere within `rules.resync_range` steps of now. Succeeds as a
/// sign-in proof; failures count toward the lockout.
pub(crate) fn resynchronise(
    record: &mut UserRecord,
    totp: &Totp,
    [first, second]: [&str; 2],
    now: u64,
    rules: &DriftRules,
    lockout: LockoutRule,
    events: &mut Vec<EventKind>,
) -> Result<CodeOutcome, TimeError> {
    let proof = match begin_totp_proof(record, now, lockout, events) {
        Ok(started) => started,
        Err(outcome) => return Ok(outcome),
    };
    let (first, second) = match (totp.parse_code(first), totp.parse_code(second)) {
        (Ok(first), Ok(second)) => (first, second),
        (Err(error), _) | (_, Err(error)) => {
            return Ok(malformed(proof.failures, Method::Totp, error, events));
        }
    };
    let now_step = totp.step_at(now)?;
    let floor = proof.credential.last_accepted_step;
    let range = Window::symmetric(rules.resync_range);
    let matched = totp
        .verify_around_step(&first, now_step, range, floor)
        .accepted()
        .and_then(|found| found.step.checked_add(1))
        .filter(|next| totp.verify_around_step(&second, *next, Window::EXACT, floor).is_accepted());
    Ok(match matched {
        Some(step) => {
            let drift = i64::try_from(i128::from(step) - i128::from(now_step)).unwrap_or(0);
            proof.credential.drift = drift;
            events.push(EventKind::Resynchronised { drift });
            proof.accept(step, now, drift, events)
        }
        None => count_failure(proof.failures, Method::Totp, RejectionReason::Wrong, now, lockout, events),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_follows_the_drift_and_keeps_the_base() {
        let rules = DriftRules::DEFAULT;
        assert_eq!(rules.window_for(0), Window::new(1, 1));
        assert_eq!(rules.window_for(2), Window::new(1, 3));
        assert_eq!(rules.window_for(-2), Window::new(3, 1));
        assert_eq!(rules.window_for(-1000), Window::new(255, 1));
    }

    #[test]
    fn learned_drift_is_bounded() {
        let rules = DriftRules::DEFAULT;
        assert_eq!(rules.learn(0, 1), 1);
        assert_eq!(rules.learn(2, 3), 2);
        assert_eq!(rules.learn(-2, -3), -2);
        // A resynchronised drift of 6 may be kept or shrink, never grow.
        assert_eq!(rules.learn(6, 7), 6);
        assert_eq!(rules.learn(6, 5), 5);
    }

    #[test]
    fn failures_lock_at_the_limit() {
        let mut failures = FailureState::default();
        let rule = LockoutRule { max_failures: 2, lock_seconds: 60 };
        let mut events = Vec::new();
        let first =
            count_failure(&mut failures, Method::Totp, RejectionReason::Wrong, 100, rule, &mut events);
        assert_eq!(first, CodeOutcome::Rejected { reason: RejectionReason::Wrong, attempts_left: 1 });
        let second =
            count_failure(&mut failures, Method::Totp, RejectionReason::Wrong, 100, rule, &mut events);
        assert_eq!(second, CodeOutcome::LockedOut { until: 160 });
        assert!(failures.is_locked(159) && !failures.is_locked(160));
        assert_eq!(events.last(), Some(&EventKind::LockoutStarted { until: 160 }));
        let mut later = Vec::new();
        assert!(refuse_if_locked(&mut failures, Method::Totp, 159, &mut later).is_some());
        assert!(refuse_if_locked(&mut failures, Method::Totp, 160, &mut later).is_none());
        assert_eq!(failures, FailureState::default());
        assert!(later.contains(&EventKind::LockoutEnded));
    }
}
