//! The service: policy, store, clock, sealer and audit tied together, one call a screen.
//!
//! Each call loads the user's record, runs a pure transition on it
//! ([`crate::proof`], [`crate::enrollment`]), saves it only if nobody changed it
//! meanwhile (retrying a bounded number of times on a conflict), and only then emits the
//! audit events. So a code is accepted once however many app servers see it, and every
//! wrong code counts exactly once towards the lockout.
//!
//! Everything fails closed: an error from the store, clock or sealer is returned as
//! [`Error`], never as a decision that lets the user in, and leaves the stored record
//! as it was.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::audit::{AuditEvent, AuditOutcome, AuditSink, DiscardAudit, EventKind, Method, RequestContext};
use crate::clock::{Clock, SystemClock};
use crate::enrollment::{self, Confirmation, EnrollmentOutcome};
use crate::error::Error;
use crate::policy::{OrgSettings, Policy, SignInContext, StandardPolicy, UserFacts};
use crate::proof::{self, CodeOutcome, DriftRules};
use crate::record::{TotpCredential, UserId, UserRecord};
use crate::seal::SecretSealer;
use crate::store::{SaveOutcome, Store};
use crate::{KeyUri, Secret, Totp, TotpParams};

/// Settings of the service that are not policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceConfig {
    /// The name authenticator apps show beside the account (no colon).
    pub issuer: String,
    /// Parameters of new authenticators: SHA-1, 6 digits, 30 s unless you know every
    /// user's app supports more.
    pub totp_params: TotpParams,
    /// The length of new secrets in bytes (20: 160 bits, RFC 4226 §4).
    pub secret_len: usize,
    /// The verify window and how it follows a drifting clock.
    pub drift: DriftRules,
    /// Two codes (default) or one to confirm an enrollment.
    pub confirmation: Confirmation,
    /// How many times a change is retried when the record changed meanwhile.
    pub max_attempts: u32,
}

impl ServiceConfig {
    /// The defaults, with the issuer name apps will show.
    pub fn new(issuer: impl Into<String>) -> ServiceConfig {
        ServiceConfig {
            issuer: issuer.into(),
            totp_params: TotpParams::DEFAULT,
            secret_len: Secret::DEFAULT_LEN,
            drift: DriftRules::DEFAULT,
            confirmation: Confirmation::TwoCodes,
            max_attempts: 64,
        }
    }
}

/// What the enrollment screen shows.
#[derive(Debug)]
pub struct EnrollmentStart {
    /// The otpauth:// URI for the QR code. Holds the secret: show it to this user only.
    pub uri: Zeroizing<String>,
    /// The secret in groups of four, for typing by hand.
    pub secret_grouped: Zeroizing<String>,
    /// When the enrollment expires unless confirmed.
    pub expires_at: u64,
}

/// The outcome of a deactivation request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeactivationOutcome {
    /// MFA is off for the user.
    Deactivated,
    /// A rule forbids deactivation (for example a jurisdiction rule).
    Forbidden(crate::policy::Reason),
    /// The code did not prove the factor; nothing was deactivated.
    NotProven(CodeOutcome),
}

/// What an admin reset cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Cleared {
    /// The authenticator app credential.
    Authenticator,
    /// An enrollment in progress.
    PendingEnrollment,
    /// A lockout or failure count.
    Lockout,
}

/// One row of the admin's MFA status list (R23). Holds no secret.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserStatus {
    /// The user.
    pub user: UserId,
    /// The second factors set up, strongest first; empty means no MFA.
    pub methods: Vec<Method>,
    /// When the authenticator was set up.
    pub enrolled_since: Option<u64>,
    /// When a second factor was last used.
    pub last_used: Option<u64>,
    /// When the current lockout ends, if locked now.
    pub locked_until: Option<u64>,
    /// Whether an enrollment is in progress.
    pub enrollment_pending: bool,
}

impl UserStatus {
    /// The tick or red cross of the admin list: whether the user has MFA.
    pub fn has_mfa(&self) -> bool {
        !self.methods.is_empty()
    }
}

/// The host's answer to "may this user change who must use MFA?" (R22: in seed 003 only
/// support levels 2 and 3 may). Any `Fn(&UserId, &str) -> bool` over (actor, org) is one.
pub trait PermissionCheck {
    /// Whether `actor` may change the MFA settings of organisation `org`.
    fn may_change_mfa_settings(&self, actor: &UserId, org: &str) -> bool;
}

impl<F: Fn(&UserId, &str) -> bool> PermissionCheck for F {
    fn may_change_mfa_settings(&self, actor: &UserId, org: &str) -> bool {
        self(actor, org)
    }
}

/// Builds an [`MfaService`]; see [`MfaService::builder`].
pub struct MfaServiceBuilder<S> {
    store: S,
    sealer: Arc<dyn SecretSealer>,
    clock: Arc<dyn Clock>,
    audit: Arc<dyn AuditSink>,
    policy: Arc<dyn Policy>,
    config: ServiceConfig,
}

impl<S: Store> MfaServiceBuilder<S> {
    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Where audit events go (default: discarded; set one in production).
    #[must_use]
    pub fn audit(mut self, audit: impl AuditSink + 'static) -> Self {
        self.audit = Arc::new(audit);
        self
    }

    /// The policy (default: [`StandardPolicy::new`]).
    #[must_use]
    pub fn policy(mut self, policy: impl Policy + 'static) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    /// The settings (default: [`ServiceConfig::new`] with the issuer given to the builder).
    #[must_use]
    pub fn config(mut self, config: ServiceConfig) -> Self {
        self.config = config;
        self
    }

    /// The service.
    pub fn build(self) -> MfaService<S> {
        MfaService {
            store: self.store,
            sealer: self.sealer,
            clock: self.clock,
            audit: self.audit,
            policy: self.policy,
            config: self.config,
        }
    }
}

/// Multi-factor authentication for a host application, one call per screen.
///
/// ```
/// use mfa_kit::audit::RequestContext;
/// use mfa_kit::clock::ManualClock;
/// use mfa_kit::danger::PlaintextSealer;
/// use mfa_kit::policy::{Decision, SignInContext};
/// use mfa_kit::record::UserId;
/// use mfa_kit::service::MfaService;
/// use mfa_kit::store::MemoryStore;
/// use mfa_kit::{KeyUri, Totp};
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
/// let start = mfa.start_enrollment(&alice, "alice@example.com", &here).await?;
/// let app = KeyUri::parse(&start.uri)?; // what the phone scanned
/// let phone = Totp::new(app.secret(), app.totp_params().unwrap());
/// let first = phone.generate(1_700_000_000)?.to_string();
/// clock.advance(30);
/// let second = phone.generate(1_700_000_030)?.to_string();
/// assert!(matches!(
///     mfa.confirm_enrollment(&alice, &[&first, &second], &here).await?,
///     mfa_kit::enrollment::EnrollmentOutcome::Confirmed { .. }
/// ));
///
/// // Sign-in, after the password: ask for a code and check it.
/// clock.advance(30);
/// assert!(matches!(mfa.sign_in_decision(&alice, &here).await?, Decision::Challenge { .. }));
/// let code = phone.generate(1_700_000_060)?.to_string();
/// assert!(mfa.verify_code(&alice, &code, &here).await?.is_accepted());
/// // The same code again is a replay.
/// assert!(!mfa.verify_code(&alice, &code, &here).await?.is_accepted());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct MfaService<S> {
    store: S,
    sealer: Arc<dyn SecretSealer>,
    clock: Arc<dyn Clock>,
    audit: Arc<dyn AuditSink>,
    policy: Arc<dyn Policy>,
    config: ServiceConfig,
}

impl<S> std::fmt::Debug for MfaService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaService").field("config", &self.config).finish_non_exhaustive()
    }
}

impl<S> std::fmt::Debug for MfaServiceBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaServiceBuilder").field("config", &self.config).finish_non_exhaustive()
    }
}

/// What a transition produced: its outcome and the events to emit once it is saved.
struct Transition<T> {
    outcome: T,
    events: Vec<EventKind>,
}

impl<S: Store> MfaService<S> {
    /// Starts building a service over the host's store and sealer, with the issuer name
    /// authenticator apps will show.
    pub fn builder(
        issuer: impl Into<String>,
        store: S,
        sealer: impl SecretSealer + 'static,
    ) -> MfaServiceBuilder<S> {
        MfaServiceBuilder {
            store,
            sealer: Arc::new(sealer),
            clock: Arc::new(SystemClock),
            audit: Arc::new(DiscardAudit),
            policy: Arc::new(StandardPolicy::new()),
            config: ServiceConfig::new(issuer),
        }
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

    /// After the password step: what to do next.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::Clock`]; never a decision that lets the user in.
    pub async fn sign_in_decision(
        &self,
        user: &UserId,
        context: &SignInContext,
    ) -> Result<crate::policy::Decision, Error> {
        let now = self.clock.now()?;
        let (_, record) = self.load(user).await?;
        Ok(self.policy.decide(context, &facts(&record, now), now))
    }

    /// Checks a code from the user's authenticator app: accepted at most once (on any
    /// app server), wrong codes and replays counted towards the lockout.
    ///
    /// # Errors
    /// [`Error::NotEnrolled`] if the user has no authenticator; infrastructure errors
    /// as described on [`Error`].
    pub async fn verify_code(
        &self,
        user: &UserId,
        input: &str,
        context: &SignInContext,
    ) -> Result<CodeOutcome, Error> {
        let lockout = self.policy.lockout(context);
        let rules = self.config.drift;
        self.update(user, user, &context.request, |record, now| {
            if let Some(refused) = self.screen(record, context, now) {
                return Ok(refused);
            }
            let totp = self.open_credential(user, record.totp.as_ref())?;
            let mut events = Vec::new();
            let outcome = proof::prove_totp(record, &totp, input, now, &rules, lockout, &mut events)?;
            Ok(Transition { outcome, events })
        })
        .await
    }

    /// Refuses a proof the policy would not even ask for (address not allowed), so a
    /// host that skipped [`MfaService::sign_in_decision`] is still protected.
    fn screen(
        &self,
        record: &UserRecord,
        context: &SignInContext,
        now: u64,
    ) -> Option<Transition<CodeOutcome>> {
        match self.policy.decide(context, &facts(record, now), now) {
            crate::policy::Decision::Refuse { reason, .. } if reason != crate::policy::Reason::LockedOut => {
                let events = vec![EventKind::CodeRejected {
                    method: Method::Totp,
                    reason: crate::audit::RejectionReason::PolicyRefused,
                    consecutive_failures: record.failures.consecutive,
                }];
                Some(Transition { outcome: CodeOutcome::Refused(reason), events })
            }
            _ => None,
        }
    }

    /// Re-learns the drift of a user's phone clock from two consecutive codes, when it
    /// has drifted beyond the learned window. Counts as a sign-in proof.
    ///
    /// # Errors
    /// As [`MfaService::verify_code`].
    pub async fn resynchronise(
        &self,
        user: &UserId,
        first: &str,
        second: &str,
        context: &SignInContext,
    ) -> Result<CodeOutcome, Error> {
        let lockout = self.policy.lockout(context);
        let rules = self.config.drift;
        self.update(user, user, &context.request, |record, now| {
            let totp = self.open_credential(user, record.totp.as_ref())?;
            let mut events = Vec::new();
            let outcome =
                proof::resynchronise(record, &totp, [first, second], now, &rules, lockout, &mut events)?;
            Ok(Transition { outcome, events })
        })
        .await
    }

    /// Starts (or restarts) setting up an authenticator app: a new secret, sealed into a
    /// pending enrollment that expires. An active authenticator stays active until the
    /// new one is confirmed.
    ///
    /// # Errors
    /// [`Error::LockedOut`] during a lockout, [`Error::Uri`] for an account name with a
    /// colon, [`Error::Secret`] if the random source fails, and infrastructure errors.
    pub async fn start_enrollment(
        &self,
        user: &UserId,
        account_name: &str,
        context: &SignInContext,
    ) -> Result<EnrollmentStart, Error> {
        let lifetime = self.policy.enrollment_lifetime(context);
        let params = self.config.totp_params;
        self.update(user, user, &context.request, |record, now| {
            let mut events = Vec::new();
            proof::lift_expired_lock(&mut record.failures, now, &mut events);
            if let Some(until) = record.failures.locked_until {
                return Err(Error::LockedOut { until });
            }
            let secret = Secret::generate_len(self.config.secret_len)?;
            let uri = KeyUri::totp(&self.config.issuer, account_name, secret.clone(), params)?.to_uri();
            let sealed = self.sealer.seal(user, &secret)?;
            enrollment::begin(record, sealed, params, now, lifetime);
            let expires_at = now.saturating_add(lifetime);
            events.push(EventKind::EnrollmentStarted { expires_at });
            let outcome = EnrollmentStart { uri, secret_grouped: secret.to_base32_grouped(), expires_at };
            Ok(Transition { outcome, events })
        })
        .await
    }

    /// Confirms the pending enrollment with codes from the app: two consecutive codes,
    /// or one if so configured. Only then does the new authenticator replace an old one.
    ///
    /// # Errors
    /// [`Error::NoPendingEnrollment`], [`Error::LockedOut`], and infrastructure errors.
    pub async fn confirm_enrollment(
        &self,
        user: &UserId,
        codes: &[&str],
        context: &SignInContext,
    ) -> Result<EnrollmentOutcome, Error> {
        let lockout = self.policy.lockout(context);
        let rules = self.config.drift;
        let mode = self.config.confirmation;
        self.update(user, user, &context.request, |record, now| {
            let mut events = Vec::new();
            if record.pending_enrollment.is_none() {
                return Err(Error::NoPendingEnrollment);
            }
            if enrollment::expire(record, now, &mut events) {
                return Ok(Transition { outcome: EnrollmentOutcome::Expired, events });
            }
            proof::lift_expired_lock(&mut record.failures, now, &mut events);
            if let Some(until) = record.failures.locked_until {
                return Err(Error::LockedOut { until });
            }
            let pending = record.pending_enrollment.as_ref().ok_or(Error::NoPendingEnrollment)?;
            let totp = Totp::new(&self.sealer.open(user, &pending.secret)?, pending.params);
            let outcome = enrollment::confirm(record, &totp, codes, mode, now, &rules, lockout, &mut events)?;
            Ok(Transition { outcome, events })
        })
        .await
    }

    /// The user turns MFA off: needs a current code and `confirmed` (the "yes, turn it
    /// off" of the screen), and is refused where a rule forbids it.
    ///
    /// # Errors
    /// [`Error::ConfirmationRequired`] without the confirmation, [`Error::NotEnrolled`],
    /// and infrastructure errors.
    pub async fn deactivate(
        &self,
        user: &UserId,
        code: &str,
        confirmed: bool,
        context: &SignInContext,
    ) -> Result<DeactivationOutcome, Error> {
        if !confirmed {
            return Err(Error::ConfirmationRequired);
        }
        let lockout = self.policy.lockout(context);
        let rules = self.config.drift;
        self.update(user, user, &context.request, |record, now| {
            let mut events = Vec::new();
            if let Err(reason) = self.policy.may_deactivate(context, &facts(record, now)) {
                events.push(EventKind::DeactivationRefused { reason });
                return Ok(Transition { outcome: DeactivationOutcome::Forbidden(reason), events });
            }
            let totp = self.open_credential(user, record.totp.as_ref())?;
            let proof = proof::prove_totp(record, &totp, code, now, &rules, lockout, &mut events)?;
            if !proof.is_accepted() {
                return Ok(Transition { outcome: DeactivationOutcome::NotProven(proof), events });
            }
            record.totp = None;
            record.pending_enrollment = None;
            events.push(EventKind::Deactivated);
            Ok(Transition { outcome: DeactivationOutcome::Deactivated, events })
        })
        .await
    }

    /// An admin or principal user resets a user's MFA (the user lost the phone): the
    /// user must enroll again. The host calls this only for actors allowed to; the
    /// service also refuses actors without MFA of their own and self-resets, and audits
    /// the actor and the reason.
    ///
    /// # Errors
    /// [`Error::ReasonRequired`], [`Error::SelfReset`], [`Error::ActorWithoutMfa`], and
    /// infrastructure errors.
    pub async fn reset(
        &self,
        target: &UserId,
        actor: &UserId,
        reason: &str,
        request: &RequestContext,
    ) -> Result<Vec<Cleared>, Error> {
        let refusal = if reason.trim().is_empty() {
            Some(Error::ReasonRequired)
        } else if target == actor {
            Some(Error::SelfReset)
        } else if !self.load(actor).await?.1.has_mfa() {
            Some(Error::ActorWithoutMfa)
        } else {
            None
        };
        if let Some(error) = refusal {
            let now = self.clock.now()?;
            let kind = EventKind::ResetRefused { reason: error.to_string() };
            self.emit(target, actor, now, request, vec![kind]);
            return Err(error);
        }
        self.update(target, actor, request, |record, now| {
            let mut cleared = Vec::new();
            let mut events = Vec::new();
            if record.totp.take().is_some() {
                cleared.push(Cleared::Authenticator);
            }
            if record.pending_enrollment.take().is_some() {
                cleared.push(Cleared::PendingEnrollment);
            }
            if record.failures != Default::default() {
                if record.failures.is_locked(now) {
                    events.push(EventKind::LockoutEnded);
                }
                record.failures = Default::default();
                cleared.push(Cleared::Lockout);
            }
            events.push(EventKind::ResetByAdmin {
                reason: reason.trim().to_string(),
                cleared: cleared.clone(),
            });
            Ok(Transition { outcome: cleared, events })
        })
        .await
    }

    /// Changes an organisation's MFA settings (levels, enforcement, grace deadline,
    /// allowlist, limits): a privileged action. The host's permission check must allow
    /// the actor, the new settings must be valid, and the change is audited with the
    /// old and new settings. Returns the settings for the host to save.
    ///
    /// # Errors
    /// [`Error::NotPermitted`] (audited as refused), [`Error::InvalidSettings`],
    /// [`Error::Clock`].
    pub fn change_org_settings(
        &self,
        org: &str,
        actor: &UserId,
        current: &OrgSettings,
        new: OrgSettings,
        permissions: &impl PermissionCheck,
        request: &RequestContext,
    ) -> Result<OrgSettings, Error> {
        let now = self.clock.now()?;
        let refusal = if !permissions.may_change_mfa_settings(actor, org) {
            Some(Error::NotPermitted)
        } else {
            new.validate().err().map(Error::InvalidSettings)
        };
        if let Some(error) = refusal {
            let kind =
                EventKind::OrgSettingsChangeRefused { org: org.to_string(), reason: error.to_string() };
            self.emit(actor, actor, now, request, vec![kind]);
            return Err(error);
        }
        let kind = EventKind::OrgSettingsChanged {
            org: org.to_string(),
            old: Box::new(current.clone()),
            new: Box::new(new.clone()),
        };
        self.emit(actor, actor, now, request, vec![kind]);
        Ok(new)
    }

    /// The admin list's row for one user.
    ///
    /// # Errors
    /// Infrastructure errors.
    pub async fn status(&self, user: &UserId) -> Result<UserStatus, Error> {
        let now = self.clock.now()?;
        let (_, record) = self.load(user).await?;
        Ok(status_of(&record, now))
    }

    /// The admin list: one row per user, in the order given.
    ///
    /// # Errors
    /// Infrastructure errors; the first one stops the list.
    pub async fn status_list<'a>(
        &self,
        users: impl IntoIterator<Item = &'a UserId>,
    ) -> Result<Vec<UserStatus>, Error> {
        let mut rows = Vec::new();
        for user in users {
            rows.push(self.status(user).await?);
        }
        Ok(rows)
    }

    fn open_credential(&self, user: &UserId, credential: Option<&TotpCredential>) -> Result<Totp, Error> {
        let credential = credential.ok_or(Error::NotEnrolled)?;
        Ok(Totp::new(&self.sealer.open(user, &credential.secret)?, credential.params))
    }

    async fn load(&self, user: &UserId) -> Result<(Option<crate::store::Version>, UserRecord), Error> {
        let loaded = self.store.load(user).await.map_err(|e| Error::Store(Box::new(e)))?;
        let Some(loaded) = loaded else { return Ok((None, UserRecord::new(user.clone()))) };
        if loaded.record.format != UserRecord::FORMAT {
            return Err(Error::UnsupportedRecordFormat {
                found: loaded.record.format,
                supported: UserRecord::FORMAT,
            });
        }
        if &loaded.record.user != user {
            return Err(Error::WrongUserRecord);
        }
        Ok((Some(loaded.version), loaded.record))
    }

    /// Load, change, save-if-unchanged, retry on conflict; emit the events once saved.
    async fn update<T>(
        &self,
        user: &UserId,
        actor: &UserId,
        request: &RequestContext,
        mut change: impl FnMut(&mut UserRecord, u64) -> Result<Transition<T>, Error> + Send,
    ) -> Result<T, Error> {
        for _ in 0..self.config.max_attempts.max(1) {
            let now = self.clock.now()?;
            let (version, before) = self.load(user).await?;
            let mut record = before.clone();
            let Transition { outcome, events } = change(&mut record, now)?;
            if record != before {
                let saved = self.store.save(&record, version).await.map_err(|e| Error::Store(Box::new(e)))?;
                if saved == SaveOutcome::Conflict {
                    continue;
                }
            }
            self.emit(user, actor, now, request, events);
            return Ok(outcome);
        }
        Err(Error::Contention { attempts: self.config.max_attempts.max(1) })
    }

    fn emit(&self, user: &UserId, actor: &UserId, at: u64, request: &RequestContext, events: Vec<EventKind>) {
        for kind in events {
            self.audit.record(AuditEvent {
                user: user.clone(),
                actor: actor.clone(),
                at,
                outcome: kind.outcome(),
                kind,
                context: request.clone(),
            });
        }
    }
}

fn facts(record: &UserRecord, now: u64) -> UserFacts {
    let mut facts = UserFacts::default();
    if record.totp.is_some() {
        facts.methods.push(Method::Totp);
    }
    facts.locked_until = record.failures.locked_until.filter(|until| now < *until);
    facts
}

fn status_of(record: &UserRecord, now: u64) -> UserStatus {
    let facts = facts(record, now);
    UserStatus {
        user: record.user.clone(),
        methods: facts.methods,
        enrolled_since: record.totp.as_ref().map(|c| c.created_at),
        last_used: record.totp.as_ref().and_then(|c| c.last_used_at),
        locked_until: facts.locked_until,
        enrollment_pending: record.pending_enrollment.as_ref().is_some_and(|p| now < p.expires_at),
    }
}

impl EventKind {
    /// Whether the event records a success or a failure.
    pub fn outcome(&self) -> AuditOutcome {
        match self {
            EventKind::EnrollmentStarted { .. }
            | EventKind::EnrollmentConfirmed { .. }
            | EventKind::CodeAccepted { .. }
            | EventKind::Resynchronised { .. }
            | EventKind::LockoutEnded
            | EventKind::Deactivated
            | EventKind::ResetByAdmin { .. }
            | EventKind::OrgSettingsChanged { .. } => AuditOutcome::Success,
            EventKind::EnrollmentRejected { .. }
            | EventKind::EnrollmentExpired
            | EventKind::CodeRejected { .. }
            | EventKind::LockoutStarted { .. }
            | EventKind::DeactivationRefused { .. }
            | EventKind::ResetRefused { .. }
            | EventKind::OrgSettingsChangeRefused { .. } => AuditOutcome::Failure,
        }
    }
}
