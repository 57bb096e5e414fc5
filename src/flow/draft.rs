//! The record as a transition sees it: every write goes through [`Draft::edit`], which
//! marks the record changed, so a transition always knows whether it must be saved.
//! Here too live the steps every proof shares: the policy screen, the lock check,
//! counting a failure and recording a success.

use super::{Env, Proven, Step};
use crate::event::EventKind;
use crate::record::UserRecord;
use crate::vocabulary::{LockoutRule, Method, Outcome, Refusal, RejectionReason};

/// A record being changed by one transition, with the events it produced.
pub(crate) struct Draft<'r> {
    record: &'r mut UserRecord,
    changed: bool,
    events: Vec<EventKind>,
}

impl<'r> Draft<'r> {
    pub(crate) fn new(record: &'r mut UserRecord) -> Draft<'r> {
        Draft { record, changed: false, events: Vec::new() }
    }

    /// The record, to read.
    pub(crate) fn get(&self) -> &UserRecord {
        self.record
    }

    /// The record, to change: marks it changed.
    pub(crate) fn edit(&mut self) -> &mut UserRecord {
        self.changed = true;
        self.record
    }

    /// Adds an event to audit.
    pub(crate) fn emit(&mut self, kind: EventKind) {
        self.events.push(kind);
    }

    pub(crate) fn finish<T>(self, outcome: Outcome<T>) -> Step<T> {
        Step { outcome, events: self.events, changed: self.changed }
    }

    /// Refuses a proof the policy would not even ask for (an address off the
    /// allowlist), so a host that skipped the sign-in decision is still protected. A
    /// lockout is left to [`Draft::refuse_if_locked`], which also lifts an expired one.
    pub(crate) fn screen(&mut self, env: &Env<'_>, method: Method) -> Option<Refusal> {
        let facts = crate::policy::UserFacts::of(self.get(), env.now);
        match env.policy.decide(env.context, &facts, env.now) {
            Err(refusal) if !matches!(refusal, Refusal::LockedOut { .. }) => {
                let consecutive_failures = self.get().failures.consecutive;
                self.emit(EventKind::CodeRejected {
                    method,
                    reason: RejectionReason::PolicyRefused,
                    consecutive_failures,
                });
                Some(refusal)
            }
            _ => None,
        }
    }

    /// Ends a lockout whose time has passed.
    pub(crate) fn lift_expired_lock(&mut self, now: u64) {
        if self.get().failures.locked_until.is_some_and(|until| now >= until) {
            let failures = &mut self.edit().failures;
            failures.locked_until = None;
            failures.consecutive = 0;
            self.emit(EventKind::LockoutEnded);
        }
    }

    /// The refusal of any request during a lockout (after lifting an expired one).
    pub(crate) fn locked(&mut self, now: u64) -> Option<Refusal> {
        self.lift_expired_lock(now);
        self.get().failures.locked_until.map(|until| Refusal::LockedOut { until })
    }

    /// Checks the lock before a code is evaluated: refuses, and audits the attempt,
    /// during a lockout.
    pub(crate) fn refuse_if_locked(&mut self, method: Method, now: u64) -> Option<Refusal> {
        let refusal = self.locked(now)?;
        let consecutive_failures = self.get().failures.consecutive;
        self.emit(EventKind::CodeRejected {
            method,
            reason: RejectionReason::LockedOut,
            consecutive_failures,
        });
        Some(refusal)
    }

    /// Counts one failed proof: the refusal, or the lockout it started.
    pub(crate) fn count_failure(
        &mut self,
        method: Method,
        reason: RejectionReason,
        now: u64,
        rule: LockoutRule,
    ) -> Refusal {
        let failures = &mut self.edit().failures;
        failures.consecutive = failures.consecutive.saturating_add(1);
        let consecutive_failures = failures.consecutive;
        let limit = rule.max_failures.max(1);
        self.emit(EventKind::CodeRejected { method, reason, consecutive_failures });
        if consecutive_failures >= limit {
            let until = now.saturating_add(rule.lock_seconds);
            self.edit().failures.locked_until = Some(until);
            self.emit(EventKind::LockoutStarted { until });
            return Refusal::LockedOut { until };
        }
        let attempts_left = limit - consecutive_failures;
        match reason {
            RejectionReason::Replayed | RejectionReason::AlreadyUsed => Refusal::CodeReused { attempts_left },
            _ => Refusal::WrongCode { attempts_left },
        }
    }

    /// Refuses input that is not a code at all: audited, not counted as a failure.
    pub(crate) fn malformed(&mut self, method: Method) -> Refusal {
        let consecutive_failures = self.get().failures.consecutive;
        self.emit(EventKind::CodeRejected {
            method,
            reason: RejectionReason::Malformed,
            consecutive_failures,
        });
        Refusal::Malformed
    }

    /// Records a successful proof: the failure count starts again, and the status list
    /// shows when and how the user last proved a second factor.
    pub(crate) fn succeed(&mut self, method: Method, now: u64, drift: Option<i64>) -> Proven {
        let record = self.edit();
        record.failures.consecutive = 0;
        record.last_proof = Some(crate::record::LastProof { at: now, method });
        self.emit(EventKind::CodeAccepted { method, drift });
        Proven { method, drift }
    }

    /// The lockout rule of this request.
    pub(crate) fn lockout(env: &Env<'_>) -> LockoutRule {
        env.policy.lockout(env.context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::FailureState;
    use crate::vocabulary::UserId;

    #[test]
    fn failures_lock_at_the_limit_and_the_lock_lifts_when_it_ends() {
        let mut record = UserRecord::new(UserId::new("a"));
        let rule = LockoutRule { max_failures: 2, lock_seconds: 60 };
        let mut draft = Draft::new(&mut record);
        let first = draft.count_failure(Method::Totp, RejectionReason::Wrong, 100, rule);
        assert_eq!(first, Refusal::WrongCode { attempts_left: 1 });
        let second = draft.count_failure(Method::Totp, RejectionReason::Wrong, 100, rule);
        assert_eq!(second, Refusal::LockedOut { until: 160 });
        let step = draft.finish::<()>(Err(second));
        assert!(step.changed);
        assert_eq!(step.events.last(), Some(&EventKind::LockoutStarted { until: 160 }));
        assert!(record.failures.is_locked(159) && !record.failures.is_locked(160));

        let mut draft = Draft::new(&mut record);
        assert!(draft.refuse_if_locked(Method::Totp, 159).is_some());
        assert!(draft.refuse_if_locked(Method::Totp, 160).is_none());
        let step = draft.finish::<()>(Ok(()));
        assert!(step.events.contains(&EventKind::LockoutEnded));
        assert_eq!(record.failures, FailureState::default());
    }

    #[test]
    fn reading_does_not_mark_the_record_changed() {
        let mut record = UserRecord::new(UserId::new("a"));
        let mut draft = Draft::new(&mut record);
        assert!(draft.refuse_if_locked(Method::Totp, 100).is_none());
        assert_eq!(draft.malformed(Method::Totp), Refusal::Malformed);
        let step = draft.finish::<()>(Err(Refusal::Malformed));
        assert!(!step.changed);
        assert_eq!(step.events.len(), 1);
    }
}
