//! The record as a transition sees it: every write goes through [`Draft::edit`], which
//! marks the record changed, so a transition always knows whether it must be saved.
//! Here too live the steps every proof shares: the policy screen, the lock check,
//! counting a failure and recording a success.

use super::{Env, Proven, Step};
use crate::event::{EventKind, Events};
use crate::record::{Stamp, UserRecord};
use crate::vocabulary::{LockoutRule, Method, Outcome, Refusal, RejectionReason};

/// A record being changed by one transition, with the events it produced.
pub(crate) struct Draft<'r> {
    record: &'r mut UserRecord,
    changed: bool,
    /// The transition changed how the account is protected: the generation moves (once)
    /// when the draft is finished.
    protection_changed: bool,
    events: Events,
}

impl<'r> Draft<'r> {
    pub(crate) fn new(record: &'r mut UserRecord) -> Draft<'r> {
        Draft { record, changed: false, protection_changed: false, events: Events::new() }
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

    /// Audits a refused attempt that changed no count, within the record's bound on
    /// such events ([`crate::record::RefusalTally`]): audited one by one up to the
    /// interval's share, counted in the record after that, and summarised in one event
    /// when a new interval begins.
    pub(crate) fn emit_refused(&mut self, kind: EventKind, now: u64) {
        use crate::record::{CLOCK_SKEW, RefusalTally};
        let tally = self.get().refusals;
        let in_interval = tally.logged > 0
            && tally.since <= now.saturating_add(CLOCK_SKEW)
            && now < tally.since.saturating_add(RefusalTally::INTERVAL);
        if in_interval && tally.logged >= RefusalTally::LOGGED_PER_INTERVAL {
            let refusals = &mut self.edit().refusals;
            refusals.unlogged = refusals.unlogged.saturating_add(1);
            return;
        }
        if !in_interval {
            self.flush_refusals();
            self.edit().refusals = RefusalTally { since: now, logged: 0, unlogged: 0 };
        }
        let refusals = &mut self.edit().refusals;
        refusals.logged = refusals.logged.saturating_add(1);
        self.emit(kind);
    }

    /// Once the interval of the refused attempts counted but not audited has passed,
    /// they are audited (as one summary) with the transition's own audited events,
    /// rather than held back until the next success.
    pub(crate) fn summarise_refusals_after_interval(&mut self, now: u64) {
        use crate::record::{CLOCK_SKEW, RefusalTally};
        let tally = self.get().refusals;
        if self.events.is_empty() || tally.unlogged == 0 {
            return;
        }
        let over = now >= tally.since.saturating_add(RefusalTally::INTERVAL)
            || tally.since > now.saturating_add(CLOCK_SKEW);
        if over {
            self.flush_refusals();
        }
    }

    /// Audits the refused attempts counted but not yet audited, as one event.
    fn flush_refusals(&mut self) {
        let tally = self.get().refusals;
        if tally.unlogged > 0 {
            self.edit().refusals.unlogged = 0;
            self.emit(EventKind::RefusalsSummarised { refused: tally.unlogged, since: tally.since });
        }
    }

    /// Marks a change of how the account is protected (a factor added, replaced or
    /// removed, a reset, MFA turned off): the record's generation moves once when the
    /// draft is finished, which ends the user's other sessions.
    pub(crate) fn protection_changed(&mut self) {
        self.changed = true;
        self.protection_changed = true;
    }

    pub(crate) fn finish<T>(self, outcome: Outcome<T>) -> Step<T> {
        if self.protection_changed {
            self.record.generation = self.record.generation.saturating_add(1);
        }
        if self.changed {
            // Parts emptied by the change (the last key removed, a freeze lifted) are
            // not kept behind their pointer.
            self.record.rare.tidy();
        }
        Step { outcome, events: self.events, changed: self.changed }
    }

    /// Refuses any proof or change asked for by a session that has ended because the
    /// account's protection changed since it began (see [`super::session`]).
    pub(crate) fn refuse_ended_session(&self, env: &Env<'_>) -> Option<Refusal> {
        super::session::stale(self.get(), env.context).map(Refusal::SessionEnded)
    }

    /// Refuses a proof from a session that has ended, or one the policy would not even
    /// ask for (an address off the allowlist), so a host that skipped the sign-in
    /// decision is still protected. A
    /// lockout is left to [`Draft::refuse_if_locked`], which also lifts an expired one.
    pub(crate) fn screen(&mut self, env: &Env<'_>, method: Method) -> Option<Refusal> {
        if let Some(ended) = self.refuse_ended_session(env) {
            return Some(ended);
        }
        // Where the organisation requires a phishing-resistant factor of this user and
        // the user has one, a code is not enough (a recovery code stays the way back
        // from a lost key).
        if !method.is_phishing_resistant()
            && method != Method::RecoveryCode
            && super::security_key::phishing_resistant_required(self.get(), env)
        {
            let consecutive_failures = self.get().failures.consecutive;
            let kind = EventKind::CodeRejected {
                method,
                reason: RejectionReason::PolicyRefused,
                consecutive_failures,
            };
            self.emit_refused(kind, env.now);
            return Some(Refusal::PhishingResistantRequired);
        }
        let refusal = env.policy.refuse_request(env.context, env.now)?;
        let consecutive_failures = self.get().failures.consecutive;
        let kind =
            EventKind::CodeRejected { method, reason: RejectionReason::PolicyRefused, consecutive_failures };
        self.emit_refused(kind, env.now);
        Some(refusal)
    }

    /// Refuses setting up or changing a factor from an address the organisation does
    /// not allow (the allowlist covers set-up, not only proofs), or for a user who may
    /// not set up MFA here at all (single sign-on users whose provider does MFA).
    pub(crate) fn refuse_address(&self, env: &Env<'_>) -> Option<Refusal> {
        Draft::refuse_setting_up(env)
    }

    /// [`Draft::refuse_address`], for a transition that only reads the record.
    pub(crate) fn refuse_setting_up(env: &Env<'_>) -> Option<Refusal> {
        env.policy
            .refuse_request(env.context, env.now)
            .or_else(|| env.policy.mfa_unavailable(env.context).map(Refusal::Forbidden))
    }

    /// Refuses removing a factor, or turning MFA off, from an address the organisation
    /// does not allow (the allowlist covers every change of a factor, not only proofs
    /// and set-up).
    pub(crate) fn refuse_off_allowlist(env: &Env<'_>) -> Option<Refusal> {
        env.policy.refuse_request(env.context, env.now)
    }

    /// Refuses (and audits) turning MFA off, or removing the user's last factor, where
    /// the policy forbids it (the AU/NZ tax-data rule, the ATO preset).
    pub(crate) fn refuse_deactivation(&mut self, env: &Env<'_>) -> Option<Refusal> {
        let facts = super::facts(self.get(), env);
        let reason = env.policy.may_deactivate(env.context, &facts).err()?;
        self.emit(EventKind::DeactivationRefused { reason });
        Some(Refusal::Forbidden(reason))
    }

    /// Ends a lockout whose time has passed (the failure count stays: only a success
    /// clears it).
    pub(crate) fn lift_expired_lock(&mut self, now: u64) {
        let failures = self.get().failures;
        if failures.locked_until.get().is_some() && !failures.is_locked(now) {
            let failures = &mut self.edit().failures;
            failures.locked_until = Stamp::NONE;
            failures.locked_at = Stamp::NONE;
            self.emit(EventKind::LockoutEnded);
        }
    }

    /// The refusal of any request while the second factor is disabled or locked (after
    /// lifting an expired lockout).
    pub(crate) fn locked(&mut self, now: u64) -> Option<Refusal> {
        self.lift_expired_lock(now);
        self.get().failures.refusal_at(now)
    }

    /// Checks the lock before a code is evaluated: refuses, and audits the attempt,
    /// while disabled or locked.
    pub(crate) fn refuse_if_locked(&mut self, method: Method, now: u64) -> Option<Refusal> {
        let refusal = self.locked(now)?;
        let reason =
            if refusal == Refusal::Disabled { RejectionReason::Disabled } else { RejectionReason::LockedOut };
        let consecutive_failures = self.get().failures.consecutive;
        self.emit_refused(EventKind::CodeRejected { method, reason, consecutive_failures }, now);
        Some(refusal)
    }

    /// Wrong codes left before the next lockout, or before the hard limit disables the
    /// second factor if that comes first.
    pub(crate) fn attempts_left(&self, rule: LockoutRule) -> u32 {
        let failures = &self.get().failures;
        let limit = rule.max_failures.max(1);
        let in_round = failures.consecutive.saturating_sub(failures.lockouts.saturating_mul(limit));
        let before_hard_limit = rule.hard_limit.max(limit).saturating_sub(failures.consecutive);
        limit.saturating_sub(in_round).min(before_hard_limit)
    }

    /// Counts one failed proof: the refusal, the lockout it started (each one twice as
    /// long as the one before), or the disabling of the second factor at the hard limit.
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
        self.emit(EventKind::CodeRejected { method, reason, consecutive_failures });
        if consecutive_failures >= rule.hard_limit.max(rule.max_failures).max(1) {
            let failures = &mut self.edit().failures;
            failures.disabled_at = Stamp::at(now);
            failures.locked_at = Stamp::NONE;
            failures.locked_until = Stamp::NONE;
            self.emit(EventKind::SecondFactorDisabled { failures: consecutive_failures });
            return Refusal::Disabled;
        }
        let attempts_left = self.attempts_left(rule);
        if attempts_left == 0 {
            let failures = &mut self.edit().failures;
            let length = rule.lock_duration(failures.lockouts).min(crate::record::MAX_LOCK_SECONDS);
            let until = now.saturating_add(length);
            failures.locked_at = Stamp::at(now);
            failures.locked_until = Stamp::at(until);
            failures.lockouts = failures.lockouts.saturating_add(1);
            self.emit(EventKind::LockoutStarted { until });
            return Refusal::LockedOut { until };
        }
        match reason {
            RejectionReason::Replayed | RejectionReason::AlreadyUsed => Refusal::CodeReused { attempts_left },
            _ => Refusal::WrongCode { attempts_left },
        }
    }

    /// Refuses a replay of the code that was just accepted (a double click, two tabs, a
    /// retrying proxy): audited, not counted as a guess.
    pub(crate) fn repeated(&mut self, method: Method, rule: LockoutRule, now: u64) -> Refusal {
        let consecutive_failures = self.get().failures.consecutive;
        let kind =
            EventKind::CodeRejected { method, reason: RejectionReason::Replayed, consecutive_failures };
        self.emit_refused(kind, now);
        Refusal::CodeReused { attempts_left: self.attempts_left(rule) }
    }

    /// Refuses input that is not a code at all (letters, the wrong length), the same
    /// way for every method: not counted as a failure, since it cannot match and so
    /// tells a guesser nothing, and audited within the bound on refused attempts
    /// ([`Draft::emit_refused`]).
    pub(crate) fn malformed(&mut self, method: Method, now: u64) -> Refusal {
        let consecutive_failures = self.get().failures.consecutive;
        let kind =
            EventKind::CodeRejected { method, reason: RejectionReason::Malformed, consecutive_failures };
        self.emit_refused(kind, now);
        Refusal::Malformed
    }

    /// Records a successful proof: the failure count starts again, and the status list
    /// shows when and how the user last proved a second factor.
    pub(crate) fn succeed(&mut self, method: Method, now: u64, drift: Option<i64>) -> Proven {
        self.flush_refusals();
        let record = self.edit();
        record.failures = crate::record::FailureState::default();
        record.note_proof(method, now);
        self.emit(EventKind::CodeAccepted { method, drift });
        Proven { method, drift, at: now, phishing_resistant: method.is_phishing_resistant() }
    }

    /// The lockout rule of this request.
    pub(crate) fn lockout(env: &Env<'_>) -> LockoutRule {
        env.policy.lockout(env.context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::UserId;

    #[test]
    fn failures_lock_at_the_limit_and_the_lock_lifts_when_it_ends() {
        let mut record = UserRecord::new(UserId::new("a"));
        let rule = LockoutRule::new(2, 60);
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
        // The next wrong codes lock again, for twice as long: the count did not restart.
        assert_eq!(
            draft.count_failure(Method::Totp, RejectionReason::Wrong, 160, rule),
            Refusal::WrongCode { attempts_left: 1 }
        );
        assert_eq!(
            draft.count_failure(Method::Totp, RejectionReason::Wrong, 160, rule),
            Refusal::LockedOut { until: 280 }
        );
        let step = draft.finish::<()>(Ok(()));
        assert!(step.events.contains(&EventKind::LockoutEnded));
        assert_eq!((record.failures.consecutive, record.failures.lockouts), (4, 2));
        assert!(record.failures.is_locked(279) && !record.failures.is_locked(280));
    }

    #[test]
    fn the_hard_limit_disables_the_second_factor_until_a_reset() {
        let mut record = UserRecord::new(UserId::new("a"));
        let rule = LockoutRule::new(5, 60).with_hard_limit(12);
        let mut draft = Draft::new(&mut record);
        let mut now = 1_000;
        let mut refusals = Vec::new();
        for _ in 0..12 {
            if let Some(refused) = draft.refuse_if_locked(Method::Totp, now) {
                refusals.push(refused);
                now += 100_000;
                continue;
            }
            refusals.push(draft.count_failure(Method::Totp, RejectionReason::Wrong, now, rule));
        }
        // Bounded: a hard limit that never disables fails here rather than looping.
        for _ in 0..100 {
            if draft.refuse_if_locked(Method::Totp, now).is_some() {
                break;
            }
            refusals.push(draft.count_failure(Method::Totp, RejectionReason::Wrong, now, rule));
            now += 100_000;
        }
        assert_eq!(refusals.last(), Some(&Refusal::Disabled));
        assert_eq!(draft.refuse_if_locked(Method::Totp, u64::MAX - 1), Some(Refusal::Disabled));
        let step = draft.finish::<()>(Ok(()));
        assert!(step.events.contains(&EventKind::SecondFactorDisabled { failures: 12 }));
        assert_eq!(record.failures.disabled_at.get().map(|_| record.failures.consecutive), Some(12));
    }

    #[test]
    fn reading_does_not_mark_the_record_changed() {
        let mut record = UserRecord::new(UserId::new("a"));
        let draft = Draft::new(&mut record);
        let step = draft.finish::<()>(Ok(()));
        assert!(!step.changed && step.events.is_empty());
        let mut draft = Draft::new(&mut record);
        assert!(draft.refuse_if_locked(Method::Totp, 100).is_none());
        let step = draft.finish::<()>(Ok(()));
        assert!(!step.changed && step.events.is_empty());
    }

    #[test]
    fn refused_attempts_are_audited_one_by_one_up_to_the_bound_then_summarised_with_their_count() {
        use crate::record::RefusalTally;
        let mut record = UserRecord::new(UserId::new("a"));
        let (t, per) = (1_000_000, RefusalTally::LOGGED_PER_INTERVAL);
        let mut audited = 0;
        for _ in 0..1000 {
            let mut draft = Draft::new(&mut record);
            assert_eq!(draft.malformed(Method::Totp, t), Refusal::Malformed);
            let step = draft.finish::<()>(Err(Refusal::Malformed));
            assert!(step.changed, "the tally is kept in the record");
            audited += step.events.len();
        }
        assert_eq!(audited, per as usize);
        assert_eq!(record.refusals.unlogged(), 1000 - per);
        // The next refusal after the interval brings the summary with the exact count.
        let mut draft = Draft::new(&mut record);
        draft.malformed(Method::Totp, t + RefusalTally::INTERVAL);
        let step = draft.finish::<()>(Err(Refusal::Malformed));
        assert_eq!(step.events[0], EventKind::RefusalsSummarised { refused: 1000 - per, since: t });
        assert_eq!(step.events.len(), 2);
        // A success brings it too.
        for _ in 0..per + 5 {
            let mut draft = Draft::new(&mut record);
            draft.malformed(Method::Totp, t + RefusalTally::INTERVAL + 1);
            let _ = draft.finish::<()>(Err(Refusal::Malformed));
        }
        let mut draft = Draft::new(&mut record);
        draft.succeed(Method::Totp, t + RefusalTally::INTERVAL + 2, Some(0));
        let step = draft.finish::<()>(Ok(()));
        assert_eq!(
            step.events[0],
            EventKind::RefusalsSummarised { refused: 6, since: t + RefusalTally::INTERVAL }
        );
        assert_eq!(record.refusals.unlogged(), 0);
    }
}
