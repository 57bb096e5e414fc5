//! The service: one driver of the transitions in [`crate::flow`], tying policy, store,
//! clock, sealer and audit together, one call a screen.
//!
//! Each call reads the clock, loads the user's record, runs one transition, and saves
//! the record only if nobody changed it meanwhile, with the transition's audit events
//! in the same atomic step; on a conflict it starts again (a bounded number of times).
//! So a code is accepted once however many app servers see it, every wrong code counts
//! exactly once towards the lockout, and the audit trail holds exactly the changes that
//! were made.
//!
//! Every call answers in two layers: `Err(`[`Error`]`)` when the infrastructure failed
//! (store, clock, sealer, sender: log it, show a generic error, let nobody in), and
//! otherwise an [`Outcome`]: `Ok` with the result, or `Err(`[`Refusal`]`)` with a
//! sentence the user can be shown.

mod authenticator;
mod backup;
#[cfg(feature = "test-suite")]
pub mod conformance;
mod disown;
mod error;
mod evidence;
#[cfg(feature = "export")]
mod export;
mod host_action;
mod oversight;
pub mod permissions;
mod retention;
mod security_key;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

pub use authenticator::EnrollmentStart;
pub use error::Error;
pub use evidence::StatusPage;
#[cfg(feature = "export")]
pub use export::TrailExport;
pub use retention::PRUNE_BATCH;
pub use security_key::SecurityKeyOptions;

use crate::clock::{Clock, SystemClock};
use crate::event::{AuditEvent, AuditSink, Events};
use crate::flow::session::SessionVerdict;
use crate::flow::step_up::StepUp;
use crate::flow::{Env, Rules, Step};
use crate::keyed_hash::HashKey;
use crate::otp::{Secret, Totp, TotpParams};
use crate::policy::{Decision, Policy, SignInContext, StandardPolicy};
use crate::record::{TotpCredential, UserRecord};
use crate::seal::{SealedSecret, SecretSealer};
use crate::store::{CacheLine, SaveOutcome, Store, Version, Versioned};
use crate::vocabulary::{OrgId, Outcome, Refusal, RequestContext, SensitiveAction, UserId, UserIdHash};

/// Settings of the service that are not policy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// The name authenticator apps show beside the account (no colon).
    pub issuer: String,
    /// Parameters of new authenticators: SHA-1, 6 digits, 30 s unless you know every
    /// user's app supports more.
    pub totp_params: TotpParams,
    /// The length of new secrets in bytes (20: 160 bits, RFC 4226 §4).
    pub secret_len: usize,
    /// How many times a change is tried when the record changed meanwhile.
    pub max_attempts: u32,
    /// How many users' opened authenticator secrets the service keeps in memory
    /// between calls (default 10,000), so the sealer (a KMS round trip) and the HMAC
    /// key preparation run once per credential rather than once per code. An entry is
    /// used only while the record still holds the same sealed secret. 0 keeps none:
    /// every call opens the secret again.
    pub secret_cache: usize,
    /// The transitions' rules: drift window, confirmation, SMS and e-mail limits,
    /// recovery-code count.
    pub rules: Rules,
}

impl ServiceConfig {
    /// The defaults, with the issuer name apps will show.
    pub fn new(issuer: impl Into<String>) -> ServiceConfig {
        ServiceConfig {
            issuer: issuer.into(),
            totp_params: TotpParams::DEFAULT,
            secret_len: Secret::DEFAULT_LEN,
            max_attempts: 64,
            secret_cache: 10_000,
            rules: Rules::DEFAULT,
        }
    }

    /// The same settings with other transition rules.
    #[must_use]
    pub fn with_rules(mut self, rules: Rules) -> ServiceConfig {
        self.rules = rules;
        self
    }
}

/// Builds an [`MfaService`]; see [`MfaService::builder`]. It holds the service with
/// its defaults and replaces the parts it is given.
pub struct MfaServiceBuilder<S, K>(MfaService<S, K>);

impl<S: Store, K: SecretSealer> MfaServiceBuilder<S, K> {
    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.0.clock = Arc::new(clock);
        self
    }

    /// Where stored audit events are pushed too, as a feed (default: nowhere; the
    /// store keeps the trail either way, and without a sink the events go to the store
    /// without being copied).
    #[must_use]
    pub fn audit(mut self, audit: impl AuditSink + 'static) -> Self {
        self.0.audit = Some(Arc::new(audit));
        self
    }

    /// The policy (default: [`StandardPolicy::new`]).
    #[must_use]
    pub fn policy(mut self, policy: impl Policy + 'static) -> Self {
        self.0.policy = Arc::new(policy);
        self
    }

    /// The key for hashing recovery codes, out-of-band codes and device tokens; needed
    /// for those methods. Keep it outside the database and share it between servers.
    #[must_use]
    pub fn hash_key(mut self, key: HashKey) -> Self {
        self.0.hash_key = Some(key);
        self
    }

    /// The settings (default: [`ServiceConfig::new`] with the issuer given to the builder).
    #[must_use]
    pub fn config(mut self, config: ServiceConfig) -> Self {
        self.0.config = config;
        self
    }

    /// The WebAuthn relying party that registers and checks security keys and
    /// passkeys (`mfa_kit_webauthn::WebauthnParty`); without one, the security-key
    /// calls fail with [`Error::Misconfigured`].
    #[must_use]
    pub fn relying_party(mut self, party: impl crate::relying_party::RelyingParty + 'static) -> Self {
        self.0.relying_party = Some(Arc::new(party));
        self
    }

    /// The service.
    pub fn build(mut self) -> MfaService<S, K> {
        self.0.opened = SecretCache::new(self.0.config.secret_cache);
        self.0
    }
}

/// Multi-factor authentication for a host application, one call per screen.
///
/// ```
/// use mfa_kit::clock::ManualClock;
/// use mfa_kit::prelude::*;
/// use mfa_kit::danger::PlaintextSealer;
///
/// # pollster::block_on(async {
/// let clock = ManualClock::new(1_700_000_000);
/// let mfa = MfaService::builder("Acme Payroll", MemoryStore::new(), PlaintextSealer)
///     .clock(clock.clone())
///     .build();
/// let alice = UserId::new("alice");
/// let here = SignInContext::default();
///
/// // Enrollment: show the QR code, then take two consecutive codes from the app.
/// let start = mfa.start_enrollment(&alice, "alice@example.com", &here).await??;
/// let app = KeyUri::parse(&start.uri)?; // what the phone scanned
/// let phone = Totp::new(app.secret(), app.totp_params().unwrap());
/// let first = phone.generate(1_700_000_000)?.to_string();
/// clock.advance(30);
/// let second = phone.generate(1_700_000_030)?.to_string();
/// mfa.confirm_enrollment(&alice, &[&first, &second], &here).await??;
///
/// // Sign-in, after the password: ask for a code and check it.
/// clock.advance(30);
/// assert!(matches!(mfa.sign_in_decision(&alice, &here).await?, Ok(Decision::Challenge { .. })));
/// let code = phone.generate(1_700_000_060)?.to_string();
/// assert!(mfa.verify_code(&alice, &code, &here).await?.is_ok());
/// // The same code again is refused, with a sentence for the user.
/// let again = mfa.verify_code(&alice, &code, &here).await?;
/// assert!(matches!(again, Err(Refusal::CodeReused { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct MfaService<S, K> {
    store: S,
    sealer: K,
    opened: SecretCache,
    hash_key: Option<HashKey>,
    clock: Arc<dyn Clock>,
    /// Where stored events are pushed too, if anywhere.
    audit: Option<Arc<dyn AuditSink>>,
    policy: Arc<dyn Policy>,
    /// The WebAuthn relying party, if security keys are offered.
    relying_party: Option<Arc<dyn crate::relying_party::RelyingParty>>,
    config: ServiceConfig,
}

impl<S, K> std::fmt::Debug for MfaService<S, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaService").field("config", &self.config).finish_non_exhaustive()
    }
}

impl<S, K> std::fmt::Debug for MfaServiceBuilder<S, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MfaServiceBuilder").field(&self.0).finish()
    }
}

/// A record as loaded for one attempt, with the time of the attempt.
struct Attempt {
    now: u64,
    version: Option<Version>,
    record: UserRecord,
}

/// An authenticator's secret opened by the sealer, with the sealed form it was opened
/// from. The key material is shared (`Arc`), so a call borrows it without copying or
/// wiping it.
#[derive(Clone)]
struct OpenedSecret {
    sealed: SealedSecret,
    totp: Arc<Totp>,
}

impl std::borrow::Borrow<Totp> for OpenedSecret {
    fn borrow(&self) -> &Totp {
        &self.totp
    }
}

/// Opened authenticators by user, in the order of the record's authenticators.
type Opened = HashMap<UserId, Arc<[OpenedSecret]>, UserIdHash>;

/// Authenticator secrets opened by the sealer, kept between calls while the record
/// still holds the same sealed secrets; sharded so app-server threads working for
/// different users do not wait for each other.
struct SecretCache {
    shards: Vec<CacheLine<Mutex<Opened>>>,
    per_shard: usize,
}

impl SecretCache {
    const SHARDS: usize = 16;

    fn new(capacity: usize) -> SecretCache {
        let per_shard = capacity.div_ceil(SecretCache::SHARDS);
        SecretCache { shards: (0..SecretCache::SHARDS).map(|_| CacheLine::default()).collect(), per_shard }
    }

    fn shard(&self, user: &UserId) -> std::sync::MutexGuard<'_, Opened> {
        let index = user.shard(SecretCache::SHARDS);
        // A panic while holding the lock leaves at worst a stale entry, which is only
        // used while it matches the record's sealed secret.
        self.shards[index].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The opened secrets of `credentials`, if the cache holds every one of them.
    fn get(&self, user: &UserId, credentials: &[TotpCredential]) -> Option<Arc<[OpenedSecret]>> {
        let shard = self.shard(user);
        let opened = shard.get(user)?;
        let same = opened.len() == credentials.len()
            && opened.iter().zip(credentials).all(|(was, now)| was.sealed == *now.sealed_secret());
        same.then(|| Arc::clone(opened))
    }

    /// The opened secret of `sealed`, if the cache holds it among the user's.
    fn find(&self, user: &UserId, sealed: &SealedSecret) -> Option<Arc<Totp>> {
        let shard = self.shard(user);
        shard.get(user)?.iter().find(|was| was.sealed == *sealed).map(|was| Arc::clone(&was.totp))
    }

    fn forget(&self, user: &UserId) {
        self.shard(user).remove(user);
    }

    fn put(&self, user: &UserId, opened: &Arc<[OpenedSecret]>) {
        if self.per_shard == 0 {
            return;
        }
        let mut shard = self.shard(user);
        if shard.len() >= self.per_shard && !shard.contains_key(user) {
            let evicted = shard.keys().next().cloned();
            if let Some(evicted) = evicted {
                shard.remove(&evicted);
            }
        }
        shard.insert(user.clone(), Arc::clone(opened));
    }
}

/// Which of the record's sealed secrets a transition needs.
#[derive(Clone, Copy)]
enum Which {
    Credential,
    /// The authenticators if there are any, otherwise none (the transition has another
    /// proof for a user without one).
    CredentialsIfAny,
    Pending,
}

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// Starts building a service over the host's store and sealer, with the issuer name
    /// authenticator apps will show.
    pub fn builder(issuer: impl Into<String>, store: S, sealer: K) -> MfaServiceBuilder<S, K> {
        MfaServiceBuilder(MfaService {
            store,
            sealer,
            opened: SecretCache::new(0),
            hash_key: None,
            clock: Arc::new(SystemClock),
            audit: None,
            policy: Arc::new(StandardPolicy::new()),
            relying_party: None,
            config: ServiceConfig::new(issuer),
        })
    }

    /// The settings.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The store (for hosts and tests that inspect it).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The user's record as stored, or a new empty one.
    ///
    /// # Errors
    /// [`Error::Store`], [`Error::UnsupportedRecordFormat`], [`Error::WrongUserRecord`].
    pub async fn record(&self, user: &UserId) -> Result<UserRecord, Error> {
        Ok(self.load(user).await?.1)
    }

    /// After the password step: what to do next, or why the user may not sign in.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::Clock`]; never a decision that lets the user in.
    pub async fn sign_in_decision(
        &self,
        user: &UserId,
        context: &SignInContext,
    ) -> Result<Outcome<Decision>, Error> {
        let key = self.hash_key.as_ref();
        self.update(user, user, &context.request, |record, now| {
            Ok(crate::flow::sign_in::decide(record, key, &self.env(now, context)))
        })
        .await
    }

    /// Before a sensitive action (the host's own, such as changing bank details, or one
    /// of the crate's): whether the user proved a second factor recently enough, or
    /// what to ask for first. The crate's own sensitive calls check this themselves and
    /// refuse with [`Refusal::FreshProofRequired`]; after a [`StepUp::Prove`], prove
    /// with [`MfaService::verify_code`] (or another method) and ask again.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::Clock`]; never an answer that lets the action through.
    pub async fn step_up(
        &self,
        user: &UserId,
        action: SensitiveAction,
        context: &SignInContext,
    ) -> Result<StepUp, Error> {
        let now = self.now()?;
        let (_, record) = self.load(user).await?;
        let answer = crate::flow::step_up::check(&record, action, &self.env(now, context));
        self.settle(user, now, &record, context).await?;
        Ok(answer)
    }

    /// After a check that only read `record` at `now`: if the reading proved windows of
    /// it future-dated (or a reserved code lapsed), saves [`crate::flow::clock::settle`]
    /// so the reading is not forgotten and those windows never become valid.
    pub(super) async fn settle(
        &self,
        user: &UserId,
        now: u64,
        record: &UserRecord,
        context: &SignInContext,
    ) -> Result<(), Error> {
        if !crate::flow::clock::needs_settling(record, &self.env(now, context)) {
            return Ok(());
        }
        let _settled: Outcome<()> = self
            .update(user, user, &context.request, |record, now| {
                Ok(crate::flow::clock::settle(record, &self.env(now, context)))
            })
            .await?;
        Ok(())
    }

    /// Whether a host's session of `user` may go on, or why it has ended
    /// ([`crate::flow::session`]): the account's generation moved since the session
    /// began, or the session passed the policy's lifetime or inactivity limit for this
    /// context. `context` must carry the session ([`SignInContext::with_session`]); a
    /// context without one is judged as a session that ended with the account's change
    /// (fail closed). Changes nothing.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::Clock`]: the session must not go on.
    pub async fn check_session(
        &self,
        user: &UserId,
        context: &SignInContext,
    ) -> Result<SessionVerdict, Error> {
        let now = self.now()?;
        let Some(session) = context.session.as_ref() else {
            return Ok(SessionVerdict::Ended(crate::vocabulary::SessionEnd::AccountChanged));
        };
        let (_, record) = self.load(user).await?;
        let limits = self.policy.session_limits(context);
        Ok(crate::flow::session::judge(&record, session, limits, now))
    }

    /// The account's generation ([`UserRecord::generation`]): what a new session keeps
    /// when the password is checked (read it before the sign-in decision), and what the
    /// session that made a change takes afterwards ([`crate::flow::session::adopt`]).
    ///
    /// # Errors
    /// [`Error::Store`].
    pub async fn generation(&self, user: &UserId) -> Result<u64, Error> {
        Ok(self.load(user).await?.1.generation())
    }

    /// The clock's reading, refused past [`MAX_PLAUSIBLE_TIME`] so that a wild reading
    /// is never written into a record.
    fn now(&self) -> Result<u64, Error> {
        let now = self.clock.now()?;
        if now > MAX_PLAUSIBLE_TIME {
            return Err(Error::Clock(crate::clock::ClockError(format!(
                "the clock reads {now}, past the year 2100: refusing a time that would be kept"
            ))));
        }
        Ok(now)
    }

    fn env<'a>(&'a self, now: u64, context: &'a SignInContext) -> Env<'a> {
        Env::new(now, self.policy.as_ref(), context, &self.config.rules)
    }

    fn key(&self) -> Result<&HashKey, Error> {
        self.hash_key.as_ref().ok_or(Error::HashKeyMissing)
    }

    async fn load(&self, user: &UserId) -> Result<(Option<Version>, UserRecord), Error> {
        let loaded = self.store.load(user).await.map_err(store_error)?;
        checked(user, loaded)
    }

    /// How many times a change is tried before giving up: at least once.
    fn attempts(&self) -> u32 {
        self.config.max_attempts.max(1)
    }

    /// The time, then the record: one attempt's starting point.
    async fn begin(&self, user: &UserId) -> Result<Attempt, Error> {
        let now = self.now()?;
        let (version, record) = checked(user, self.store.load(user).await.map_err(store_error)?)?;
        Ok(Attempt { now, version, record })
    }

    /// Saves what a transition did: the changed record with its events in one
    /// conditional save, or just the events. `None` when the record changed meanwhile.
    ///
    /// The attempt is taken apart before anything is awaited, so the future holds the
    /// store's future and the outcome, not the record: an `async fn` taking the attempt
    /// would carry it (twice) in every enclosing future, copied at each await.
    fn commit<'a, T: 'a>(
        &'a self,
        mut attempt: Attempt,
        actor: &UserId,
        request: &RequestContext,
        step: Step<T>,
    ) -> impl Future<Output = Result<Option<Outcome<T>>, Error>> + 'a {
        // A change made within an organisation files the record under it; the events
        // go under the request's organisation, else the record's.
        if step.changed
            && let Some(org) = &request.org
            && attempt.record.org() != Some(org)
        {
            attempt.record.set_org(org.clone());
        }
        let org = request.org.as_ref().or(attempt.record.org());
        let events = audit_events(attempt.record.user(), actor, attempt.now, request, org, step.events);
        let feed = self.feed(&events);
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
    async fn update<T>(
        &self,
        user: &UserId,
        actor: &UserId,
        request: &RequestContext,
        mut change: impl FnMut(&mut UserRecord, u64) -> Result<Step<T>, Error> + Send,
    ) -> Result<Outcome<T>, Error> {
        for _ in 0..self.attempts() {
            let mut attempt = self.begin(user).await?;
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
    /// `missing` when the record has none.
    async fn update_with_secret<T>(
        &self,
        user: &UserId,
        context: &SignInContext,
        which: Which,
        missing: Refusal,
        mut change: impl FnMut(&mut UserRecord, &[OpenedSecret], u64) -> Result<Step<T>, Error> + Send,
    ) -> Result<Outcome<T>, Error> {
        let mut pending: Option<Arc<[OpenedSecret]>> = None;
        for _ in 0..self.attempts() {
            let mut attempt = self.begin(user).await?;
            let record = &attempt.record;
            let opened = match which {
                Which::Credential | Which::CredentialsIfAny if !record.authenticators().is_empty() => {
                    // A sign-in finds them in the cache: no future to make for that.
                    match self.opened.get(user, record.authenticators()) {
                        Some(cached) => Some(cached),
                        None => Some(self.open_authenticators(user, record.authenticators()).await?),
                    }
                }
                Which::Pending => match record.pending_enrollment() {
                    Some(p) => {
                        Some(self.open_pending(user, p.sealed_secret(), *p.params(), &mut pending).await?)
                    }
                    None => None,
                },
                Which::Credential => None,
                Which::CredentialsIfAny => Some(Arc::from(Vec::new())),
            };
            let Some(totps) = opened else {
                // Nothing to prove against; an address off the allowlist still hears
                // only that, and learns nothing of the user's set-up.
                return Ok(Err(self.policy.refuse_request(context, attempt.now).unwrap_or(missing)));
            };
            let step = change(&mut attempt.record, &totps, attempt.now)?;
            if let Some(outcome) = self.commit(attempt, user, &context.request, step).await? {
                return Ok(outcome);
            }
        }
        Err(Error::Contention { attempts: self.attempts() })
    }

    /// The user's authenticators, opened, when the cache does not hold them all: each
    /// from the cache if it holds that one, otherwise from the sealer; then cached.
    async fn open_authenticators(
        &self,
        user: &UserId,
        credentials: &[TotpCredential],
    ) -> Result<Arc<[OpenedSecret]>, Error> {
        let mut opened = Vec::with_capacity(credentials.len());
        for credential in credentials {
            let sealed = credential.sealed_secret();
            let totp = match self.opened.find(user, sealed) {
                Some(totp) => totp,
                None => Arc::new(Totp::new(&self.sealer.open(user, sealed).await?, *credential.params())),
            };
            opened.push(OpenedSecret { sealed: sealed.clone(), totp });
        }
        let opened: Arc<[OpenedSecret]> = opened.into();
        self.opened.put(user, &opened);
        Ok(opened)
    }

    /// A pending enrollment's secret, opened once per call (kept across its retries).
    async fn open_pending(
        &self,
        user: &UserId,
        sealed: &SealedSecret,
        params: TotpParams,
        kept: &mut Option<Arc<[OpenedSecret]>>,
    ) -> Result<Arc<[OpenedSecret]>, Error> {
        if let Some(opened) = kept.as_ref().filter(|opened| opened.iter().all(|was| was.sealed == *sealed)) {
            return Ok(Arc::clone(opened));
        }
        let totp = Arc::new(Totp::new(&self.sealer.open(user, sealed).await?, params));
        let opened: Arc<[OpenedSecret]> = Arc::new([OpenedSecret { sealed: sealed.clone(), totp }]);
        *kept = Some(Arc::clone(&opened));
        Ok(opened)
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
    fn feed(&self, events: &[AuditEvent]) -> Option<Vec<AuditEvent>> {
        self.audit.as_ref().map(|_| events.to_vec())
    }

    /// Hands stored events to the sink, for push delivery.
    fn publish(&self, feed: Option<Vec<AuditEvent>>) {
        if let (Some(audit), Some(events)) = (&self.audit, feed) {
            for event in events {
                audit.record(event);
            }
        }
    }
}

/// The record a store returned for `user`, checked: a record of a format this crate
/// does not know, or of another user, is refused; none is a new empty record.
fn checked(user: &UserId, loaded: Option<Versioned>) -> Result<(Option<Version>, UserRecord), Error> {
    let Some(Versioned { version, record }) = loaded else {
        return Ok((None, UserRecord::new(user.clone())));
    };
    if record.format() != UserRecord::FORMAT {
        return Err(Error::UnsupportedRecordFormat { found: record.format(), supported: UserRecord::FORMAT });
    }
    if record.user() != user {
        return Err(Error::WrongUserRecord);
    }
    Ok((Some(version), record))
}

/// The latest clock reading the service accepts: 2100-01-01T00:00:00Z.
pub const MAX_PLAUSIBLE_TIME: u64 = 4_102_444_800;

/// The audit events of `kinds`, about `user`, done by `actor` at `at`.
/// The audit events of `kinds`, filed under organisation `org` (which the request's
/// own organisation, if any, was resolved into).
fn audit_events(
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

fn store_error(error: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Store(Box::new(error))
}
