//! The commit loop every change goes through: load the record at the clock's time,
//! run a transition, save the record with its events only if nobody changed it
//! meanwhile, and try again (a bounded number of times) if somebody did.

use std::future::Future;
use std::sync::Arc;

use super::secret_cache::OpenedSecret;
use super::{Error, MfaService, checked, record_error, store_error};
use crate::event::{AuditEvent, Events};
use crate::flow::Step;
use crate::policy::SignInContext;
use crate::record::UserRecord;
use crate::seal::SecretSealer;
use crate::store::{InPlace, SaveOutcome, Store, Version};
use crate::vocabulary::{OrgId, Outcome, Refusal, RequestContext, UserId};

/// A record as loaded for one attempt, with the time of the attempt.
pub(super) struct Attempt {
    pub(super) now: u64,
    pub(super) version: Option<Version>,
    pub(super) record: UserRecord,
}

/// Which of the record's sealed secrets a transition needs.
#[derive(Clone, Copy)]
pub(super) enum Which {
    /// The authenticators if there are any, otherwise none: the transition judges a
    /// user without one (a refusal, or another proof), as it would for a host that
    /// drives it directly.
    CredentialsIfAny,
    /// The enrollment in progress; without one, the transition cannot run (it needs
    /// the pending secret) and `missing` is the answer.
    Pending,
}

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// How many times a change is tried before giving up: at least once.
    pub(super) fn attempts(&self) -> u32 {
        self.config.max_attempts.max(1)
    }

    /// The time, then the record: one attempt's starting point.
    pub(super) async fn begin(&self, user: &UserId) -> Result<Attempt, Error> {
        let now = self.now()?;
        self.begin_at(user, now).await
    }

    /// The record, for an attempt at time `now`.
    async fn begin_at(&self, user: &UserId, now: u64) -> Result<Attempt, Error> {
        let (version, record) = checked(user, self.store.load(user).await.map_err(store_error)?)?;
        Ok(Attempt { now, version, record })
    }

    /// Attempt number `attempt` (from 0) of a change: the first at `first`, the time
    /// read before trying in place; each later one at the clock's time.
    async fn begin_attempt(&self, user: &UserId, attempt: u32, first: u64) -> Result<Attempt, Error> {
        match attempt {
            0 => self.begin_at(user, first).await,
            _ => self.begin(user).await,
        }
    }

    /// One attempt where the store keeps the record ([`Store::change_in_place`]), for a
    /// store that can: `ready` says from the record as stored whether the change can run
    /// there (it has what it needs: an opened secret from the cache), then `change`
    /// runs on the record itself, and the store keeps the record and its events under
    /// the one lock. A change that fails, or panics, leaves the record as it was: it
    /// runs on the record, and a copy taken before is put back. `None` when it was not
    /// done there (a store that cannot, no record yet, a record another version must
    /// read, or `ready` declined): the caller loads and saves instead, at the same `now`.
    fn in_place<P, T>(
        &self,
        user: &UserId,
        actor: &UserId,
        request: &RequestContext,
        now: u64,
        ready: impl FnOnce(&UserRecord) -> Option<P>,
        change: impl FnOnce(&mut UserRecord, P) -> Result<Step<T>, Error>,
    ) -> Option<Result<Outcome<T>, Error>> {
        let done = self.store.change_in_place(user, |record| {
            let usable = record_error(user, record).is_none();
            let Some(needs) = usable.then(|| ready(record)).flatten() else {
                return (None, InPlace::default());
            };
            let before = record.clone();
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| change(record, needs)));
            let step = match ran {
                Ok(Ok(step)) => step,
                Ok(Err(error)) => {
                    *record = before;
                    return (Some(Err(error)), InPlace::default());
                }
                Err(panic) => {
                    *record = before;
                    std::panic::resume_unwind(panic)
                }
            };
            let (events, feed) = self.audited(record, actor, now, request, step.changed, step.events);
            (Some(Ok((step.outcome, feed))), InPlace::keep(step.changed, events))
        })??;
        Some(done.map(|(outcome, feed)| {
            self.publish(feed);
            outcome
        }))
    }

    /// What a transition's step leaves to store besides the record, for either way of
    /// storing it: a change made within an organisation files the record under it, and
    /// the step's events go under the request's organisation, else the record's; with
    /// the events, the audit sink's copy of them.
    fn audited(
        &self,
        record: &mut UserRecord,
        actor: &UserId,
        now: u64,
        request: &RequestContext,
        changed: bool,
        kinds: Events,
    ) -> (Vec<AuditEvent>, Option<Vec<AuditEvent>>) {
        if changed
            && let Some(org) = &request.org
            && record.org() != Some(org)
        {
            record.set_org(org.clone());
        }
        let org = request.org.as_ref().or(record.org());
        let events = audit_events(record.user(), actor, now, request, org, kinds);
        let feed = self.feed(&events);
        (events, feed)
    }

    /// Saves what a transition did: the changed record with its events in one
    /// conditional save, or just the events. `None` when the record changed meanwhile.
    ///
    /// The attempt is taken apart before anything is awaited, so the future holds the
    /// store's future and the outcome, not the record: an `async fn` taking the attempt
    /// would carry it (twice) in every enclosing future, copied at each await.
    pub(super) fn commit<'a, T: 'a>(
        &'a self,
        mut attempt: Attempt,
        actor: &UserId,
        request: &RequestContext,
        step: Step<T>,
    ) -> impl Future<Output = Result<Option<Outcome<T>>, Error>> + 'a {
        let (events, feed) =
            self.audited(&mut attempt.record, actor, attempt.now, request, step.changed, step.events);
        let (save, append) = if step.changed {
            // The record and events go to the store: nothing here needs them afterwards.
            (Some(self.store.save(attempt.record, attempt.version, events)), None)
        } else {
            (None, (!events.is_empty()).then(|| self.store.append_events(events)))
        };
        let outcome = step.outcome;
        async move {
            if let Some(save) = save
                && save.await.map_err(store_error)? == SaveOutcome::Conflict
            {
                return Ok(None);
            }
            if let Some(append) = append {
                append.await.map_err(store_error)?;
            }
            self.publish(feed);
            Ok(Some(outcome))
        }
    }

    /// Load, change, save-if-unchanged (with the events), retry on conflict.
    pub(super) async fn update<T>(
        &self,
        user: &UserId,
        actor: &UserId,
        request: &RequestContext,
        mut change: impl FnMut(&mut UserRecord, u64) -> Result<Step<T>, Error> + Send,
    ) -> Result<Outcome<T>, Error> {
        let first = self.now()?;
        if let Some(done) =
            self.in_place(user, actor, request, first, |_| Some(()), |record, ()| change(record, first))
        {
            return done;
        }
        for attempt in 0..self.attempts() {
            let mut attempt = self.begin_attempt(user, attempt, first).await?;
            let step = change(&mut attempt.record, attempt.now)?;
            if let Some(outcome) = self.commit(attempt, actor, request, step).await? {
                return Ok(outcome);
            }
        }
        Err(Error::Contention { attempts: self.attempts() })
    }

    /// As [`MfaService::update`], for a transition that needs the record's
    /// authenticators (or its pending enrollment) opened: the sealer is asked once per
    /// secret, and again only if a retry finds another sealed secret. Refused with
    /// `missing` when there is no pending enrollment to open.
    pub(super) async fn update_with_secret<T>(
        &self,
        user: &UserId,
        context: &SignInContext,
        which: Which,
        missing: Refusal,
        mut change: impl FnMut(&mut UserRecord, &[OpenedSecret], u64) -> Result<Step<T>, Error> + Send,
    ) -> Result<Outcome<T>, Error> {
        let first = self.now()?;
        if let Which::CredentialsIfAny = which {
            // Where the cache holds the opened secrets (or there are none to open).
            let cached = |record: &UserRecord| match record.authenticators() {
                [] => Some(Arc::from(Vec::new())),
                held => self.opened.get(user, held),
            };
            let run = |record: &mut UserRecord, totps: Arc<[OpenedSecret]>| change(record, &totps, first);
            if let Some(done) = self.in_place(user, user, &context.request, first, cached, run) {
                return done;
            }
        }
        // What this call opened, kept across its retries: no sealer call while a change
        // is retried (but for a secret a retry finds that an earlier attempt did not).
        let (mut pending, mut credentials): (Option<Arc<[OpenedSecret]>>, _) = (None, None);
        for attempt in 0..self.attempts() {
            let mut attempt = self.begin_attempt(user, attempt, first).await?;
            let record = &attempt.record;
            let opened = match which {
                Which::CredentialsIfAny if !record.authenticators().is_empty() => {
                    // A sign-in finds them in the cache: no future to make for that.
                    match self.opened.get(user, record.authenticators()) {
                        Some(cached) => Some(cached),
                        None => Some(
                            self.open_authenticators(user, record.authenticators(), &mut credentials).await?,
                        ),
                    }
                }
                Which::Pending => match record.pending_enrollment() {
                    Some(p) => {
                        Some(self.open_pending(user, p.sealed_secret(), *p.params(), &mut pending).await?)
                    }
                    None => None,
                },
                Which::CredentialsIfAny => Some(Arc::from(Vec::new())),
            };
            let Some(totps) = opened else {
                let env = self.env(attempt.now, context);
                return Ok(Err(crate::flow::refuse_without_secret(missing, &env)));
            };
            let step = change(&mut attempt.record, &totps, attempt.now)?;
            if let Some(outcome) = self.commit(attempt, user, &context.request, step).await? {
                return Ok(outcome);
            }
        }
        Err(Error::Contention { attempts: self.attempts() })
    }

    /// Stores events that describe no record change, then pushes them to the sink.
    pub(super) async fn store_events(
        &self,
        user: &UserId,
        actor: &UserId,
        at: u64,
        request: &RequestContext,
        org: Option<&OrgId>,
        events: Events,
    ) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        let events = audit_events(user, actor, at, request, org, events);
        let feed = self.feed(&events);
        self.store.append_events(events).await.map_err(store_error)?;
        self.publish(feed);
        Ok(())
    }

    /// A copy of events for the sink, made only if there is one.
    pub(super) fn feed(&self, events: &[AuditEvent]) -> Option<Vec<AuditEvent>> {
        self.audit.as_ref().map(|_| events.to_vec())
    }

    /// Hands stored events to the sink, for push delivery.
    pub(super) fn publish(&self, feed: Option<Vec<AuditEvent>>) {
        if let (Some(audit), Some(events)) = (&self.audit, feed) {
            for event in events {
                audit.record(event);
            }
        }
    }
}

/// The audit events of `kinds`, about `user`, done by `actor` at `at`, filed under
/// organisation `org` (which the request's own organisation, if any, was resolved into).
pub(super) fn audit_events(
    user: &UserId,
    actor: &UserId,
    at: u64,
    request: &RequestContext,
    org: Option<&OrgId>,
    kinds: Events,
) -> Vec<AuditEvent> {
    let filed;
    let request = if request.org.as_ref() == org {
        request
    } else {
        filed = RequestContext { org: org.cloned(), ..request.clone() };
        &filed
    };
    kinds.into_iter().map(|kind| AuditEvent::new(user, actor, at, request, kind)).collect()
}
