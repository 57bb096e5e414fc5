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
use crate::device::{self, DeviceInfo, DeviceToken, Revocation};
use crate::enrollment::{self, Confirmation, EnrollmentOutcome};
use crate::error::Error;
use crate::keyed_hash::HashKey;
use crate::oob::{self, CodeSender, Destination, OobLimits, Purpose, Role, SendOutcome};
use crate::policy::{OrgSettings, Policy, SignInContext, StandardPolicy, UserFacts};
use crate::proof::{self, CodeOutcome, DriftRules};
use crate::record::{TotpCredential, UserId, UserRecord};
use crate::recovery::{self, RecoveryCode};
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
    /// Limits on SMS and e-mail codes.
    pub oob: OobLimits,
    /// How many recovery codes a set holds.
    pub recovery_codes: usize,
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
            oob: OobLimits::DEFAULT,
            recovery_codes: recovery::DEFAULT_COUNT,
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
    /// The recovery codes.
    RecoveryCodes,
    /// SMS and e-mail destinations and any code sent to them.
    BackupDestinations,
    /// Remembered devices.
    RememberedDevices,
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
    /// When the authenticator app was last used.
    pub last_used: Option<u64>,
    /// Unused recovery codes, if a set was generated.
    pub recovery_codes_left: Option<usize>,
    /// Remembered devices still valid.
    pub remembered_devices: usize,
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
    hash_key: Option<HashKey>,
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

    /// The key for hashing recovery codes, out-of-band codes and device tokens; needed
    /// for those methods. Keep it outside the database and share it between servers.
    #[must_use]
    pub fn hash_key(mut self, key: HashKey) -> Self {
        self.hash_key = Some(key);
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
            hash_key: self.hash_key,
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
    hash_key: Option<HashKey>,
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
            hash_key: None,
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
        let decision = self.policy.decide(context, &facts(&record, now), now);
        let (crate::policy::Decision::Challenge { .. }, Some(token)) = (&decision, &context.device_token)
        else {
            return Ok(decision);
        };
        let cap = self.policy.remember_device_max(context);
        let found = device::find(&record.devices, self.key()?, user, token, now, cap);
        Ok(match found {
            Some(remembered) => {
                let kind = EventKind::DeviceAccepted { device_id: remembered.id.clone() };
                self.emit(user, user, now, &context.request, vec![kind]);
                crate::policy::Decision::Allow { reason: crate::policy::Reason::RememberedDevice }
            }
            None => decision,
        })
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
            if matches!(outcome, EnrollmentOutcome::Confirmed { .. }) {
                revoke_all(record, Revocation::NewAuthenticator, &mut events);
            }
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
            record.recovery = None;
            record.oob = Default::default();
            revoke_all(record, Revocation::Deactivated, &mut events);
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
            if record.recovery.take().is_some() {
                cleared.push(Cleared::RecoveryCodes);
            }
            if !record.oob.is_empty() {
                record.oob = Default::default();
                cleared.push(Cleared::BackupDestinations);
            }
            if revoke_all(record, Revocation::Reset, &mut events) > 0 {
                cleared.push(Cleared::RememberedDevices);
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

    /// Re-seals the user's secrets with the sealer's current key, for key rotation: run
    /// it over every user after adding a new key, then retire the old key once no
    /// record names it. Returns whether anything was re-sealed.
    ///
    /// # Errors
    /// [`Error::Sealer`] if a secret does not open (it stays as it was), and
    /// infrastructure errors.
    pub async fn reseal(&self, user: &UserId) -> Result<bool, Error> {
        self.update(user, user, &RequestContext::default(), |record, _| {
            let mut changed = false;
            let sealed = record.totp.as_mut().map(|c| &mut c.secret).into_iter();
            let pending = record.pending_enrollment.as_mut().map(|p| &mut p.secret).into_iter();
            for secret in sealed.chain(pending) {
                let fresh = self.sealer.seal(user, &self.sealer.open(user, secret)?)?;
                changed |= fresh.key_id != secret.key_id;
                *secret = fresh;
            }
            Ok(Transition { outcome: changed, events: Vec::new() })
        })
        .await
    }

    /// A new set of recovery codes, replacing any older set; show them once. The user
    /// needs MFA first.
    ///
    /// # Errors
    /// [`Error::NotEnrolled`], [`Error::HashKeyMissing`], [`Error::Secret`] if the random
    /// source fails, and infrastructure errors.
    pub async fn generate_recovery_codes(
        &self,
        user: &UserId,
        context: &SignInContext,
    ) -> Result<Vec<RecoveryCode>, Error> {
        let key = self.key()?;
        let count = self.config.recovery_codes;
        self.update(user, user, &context.request, |record, now| {
            if !record.has_mfa() {
                return Err(Error::NotEnrolled);
            }
            let (shown, stored) = recovery::generate(key, user, count, now)?;
            record.recovery = Some(stored);
            let events = vec![EventKind::RecoveryCodesGenerated { count: shown.len() }];
            Ok(Transition { outcome: shown, events })
        })
        .await
    }

    /// Signs in with a recovery code instead of the app: each code works once.
    ///
    /// # Errors
    /// [`Error::HashKeyMissing`] and infrastructure errors.
    pub async fn redeem_recovery_code(
        &self,
        user: &UserId,
        input: &str,
        context: &SignInContext,
    ) -> Result<CodeOutcome, Error> {
        let key = self.key()?;
        let lockout = self.policy.lockout(context);
        self.update(user, user, &context.request, |record, now| {
            if let Some(refused) = self.screen(record, context, now) {
                return Ok(refused);
            }
            let mut events = Vec::new();
            let outcome = recovery::redeem(record, key, input, now, lockout, &mut events);
            Ok(Transition { outcome, events })
        })
        .await
    }

    /// Adds an SMS or e-mail destination and sends it a confirmation code; it becomes a
    /// method once [`MfaService::confirm_destination`] accepts the code. A backup must
    /// differ from the primary destination.
    ///
    /// # Errors
    /// [`Error::SameAsPrimary`], [`Error::Sender`] (nothing changed), [`Error::LockedOut`],
    /// [`Error::HashKeyMissing`], and infrastructure errors.
    pub async fn add_destination(
        &self,
        user: &UserId,
        destination: Destination,
        role: Role,
        sender: &impl CodeSender,
        context: &SignInContext,
    ) -> Result<SendOutcome, Error> {
        let added = EventKind::BackupDestinationAdded {
            method: destination.method(),
            role,
            to: destination.masked(),
        };
        self.send_code(user, role, Purpose::ConfirmDestination, Some((destination, added)), sender, context)
            .await
    }

    /// Confirms a new destination with the code sent to it.
    ///
    /// # Errors
    /// [`Error::HashKeyMissing`] and infrastructure errors.
    pub async fn confirm_destination(
        &self,
        user: &UserId,
        code: &str,
        context: &SignInContext,
    ) -> Result<CodeOutcome, Error> {
        self.redeem_oob(user, code, Purpose::ConfirmDestination, context).await
    }

    /// Sends a sign-in code to the user's confirmed destination of `role`; any code
    /// sent before stops working.
    ///
    /// # Errors
    /// [`Error::NoDestination`], [`Error::Sender`] (nothing changed), [`Error::LockedOut`],
    /// [`Error::HashKeyMissing`], and infrastructure errors.
    pub async fn send_sign_in_code(
        &self,
        user: &UserId,
        role: Role,
        sender: &impl CodeSender,
        context: &SignInContext,
    ) -> Result<SendOutcome, Error> {
        self.send_code(user, role, Purpose::SignIn, None, sender, context).await
    }

    /// Checks a sign-in code sent by SMS or e-mail: valid 10 minutes, 5 tries, once.
    ///
    /// # Errors
    /// [`Error::HashKeyMissing`] and infrastructure errors.
    pub async fn verify_sign_in_code(
        &self,
        user: &UserId,
        code: &str,
        context: &SignInContext,
    ) -> Result<CodeOutcome, Error> {
        self.redeem_oob(user, code, Purpose::SignIn, context).await
    }

    /// Removes the destination of `role` (and any code sent to it); true if there was one.
    ///
    /// # Errors
    /// Infrastructure errors.
    pub async fn remove_destination(
        &self,
        user: &UserId,
        role: Role,
        context: &SignInContext,
    ) -> Result<bool, Error> {
        self.update(user, user, &context.request, |record, _| {
            let before = record.oob.destinations.len();
            record.oob.destinations.retain(|d| d.role != role);
            let removed = record.oob.destinations.len() != before;
            if record.oob.challenge.as_ref().is_some_and(|c| c.role == role) {
                record.oob.challenge = None;
            }
            let events = if removed { vec![EventKind::BackupDestinationRemoved { role }] } else { vec![] };
            Ok(Transition { outcome: removed, events })
        })
        .await
    }

    /// Remembers this device after a successful second factor: returns the token for
    /// the cookie. Its life is `lifetime` seconds, capped by the policy.
    ///
    /// # Errors
    /// [`Error::RememberDisabled`] when the policy's cap is 0, [`Error::NotEnrolled`],
    /// [`Error::HashKeyMissing`], and infrastructure errors.
    pub async fn remember_device(
        &self,
        user: &UserId,
        label: &str,
        lifetime: u64,
        context: &SignInContext,
    ) -> Result<(DeviceToken, DeviceInfo), Error> {
        let key = self.key()?;
        let cap = self.policy.remember_device_max(context);
        if cap == 0 {
            return Err(Error::RememberDisabled);
        }
        self.update(user, user, &context.request, |record, now| {
            if !record.has_mfa() {
                return Err(Error::NotEnrolled);
            }
            let (token, remembered) = device::issue(key, user, label, now, lifetime.min(cap))?;
            let info = DeviceInfo::from(&remembered);
            record.devices.retain(|d| now < d.expires_at);
            record.devices.push(remembered);
            let excess = record.devices.len().saturating_sub(device::MAX_DEVICES);
            record.devices.drain(..excess);
            let event = EventKind::DeviceRemembered {
                device_id: info.id.clone(),
                label: info.label.clone(),
                expires_at: info.expires_at,
            };
            Ok(Transition { outcome: (token, info), events: vec![event] })
        })
        .await
    }

    /// The user's remembered devices that are still valid.
    ///
    /// # Errors
    /// Infrastructure errors.
    pub async fn devices(&self, user: &UserId) -> Result<Vec<DeviceInfo>, Error> {
        let now = self.clock.now()?;
        let (_, record) = self.load(user).await?;
        Ok(record.devices.iter().filter(|d| now < d.expires_at).map(DeviceInfo::from).collect())
    }

    /// Revokes one remembered device (by the user or an admin); true if it existed.
    ///
    /// # Errors
    /// Infrastructure errors.
    pub async fn revoke_device(
        &self,
        user: &UserId,
        device_id: &str,
        actor: &UserId,
        request: &RequestContext,
    ) -> Result<bool, Error> {
        self.update(user, actor, request, |record, _| {
            let before = record.devices.len();
            record.devices.retain(|d| d.id != device_id);
            let revoked = record.devices.len() != before;
            let events = if revoked {
                vec![EventKind::DevicesRevoked {
                    device_ids: vec![device_id.to_string()],
                    reason: Revocation::Requested,
                }]
            } else {
                vec![]
            };
            Ok(Transition { outcome: revoked, events })
        })
        .await
    }

    /// Revokes every remembered device of the user; returns how many.
    ///
    /// # Errors
    /// Infrastructure errors.
    pub async fn revoke_all_devices(
        &self,
        user: &UserId,
        actor: &UserId,
        reason: Revocation,
        request: &RequestContext,
    ) -> Result<usize, Error> {
        self.update(user, actor, request, |record, _| {
            let mut events = Vec::new();
            let count = revoke_all(record, reason, &mut events);
            Ok(Transition { outcome: count, events })
        })
        .await
    }

    /// The host tells the service the user's password changed: every remembered device
    /// is revoked. Returns how many.
    ///
    /// # Errors
    /// Infrastructure errors.
    pub async fn password_changed(&self, user: &UserId, request: &RequestContext) -> Result<usize, Error> {
        self.revoke_all_devices(user, user, Revocation::PasswordChanged, request).await
    }

    fn key(&self) -> Result<&HashKey, Error> {
        self.hash_key.as_ref().ok_or(Error::HashKeyMissing)
    }

    async fn redeem_oob(
        &self,
        user: &UserId,
        code: &str,
        purpose: Purpose,
        context: &SignInContext,
    ) -> Result<CodeOutcome, Error> {
        let key = self.key()?;
        let lockout = self.policy.lockout(context);
        let limits = self.config.oob;
        self.update(user, user, &context.request, |record, now| {
            if purpose == Purpose::SignIn
                && let Some(refused) = self.screen(record, context, now)
            {
                return Ok(refused);
            }
            let mut events = Vec::new();
            let outcome = oob::redeem(record, key, code, purpose, now, &limits, lockout, &mut events);
            Ok(Transition { outcome, events })
        })
        .await
    }

    /// Issues a code, sends it once, then saves it (re-applied on a conflict, never
    /// sent twice). A failing sender changes nothing.
    async fn send_code(
        &self,
        user: &UserId,
        role: Role,
        purpose: Purpose,
        adding: Option<(Destination, EventKind)>,
        sender: &impl CodeSender,
        context: &SignInContext,
    ) -> Result<SendOutcome, Error> {
        let key = self.key()?;
        let limits = self.config.oob;
        let mut sent: Option<oob::Prepared> = None;
        for _ in 0..self.config.max_attempts.max(1) {
            let now = self.clock.now()?;
            let (version, before) = self.load(user).await?;
            let mut record = before.clone();
            let mut events = Vec::new();
            proof::lift_expired_lock(&mut record.failures, now, &mut events);
            if let Some(until) = record.failures.locked_until {
                return Err(Error::LockedOut { until });
            }
            if let Some((destination, added)) = &adding {
                let primary = record
                    .oob
                    .destinations
                    .iter()
                    .find(|d| d.role == Role::Primary && d.confirmed_at.is_some());
                if role == Role::Backup && primary.is_some_and(|p| &p.destination == destination) {
                    return Err(Error::SameAsPrimary);
                }
                record.oob.destinations.retain(|d| d.role != role || d.confirmed_at.is_some());
                record.oob.destinations.push(oob::RegisteredDestination {
                    destination: destination.clone(),
                    role,
                    added_at: now,
                    confirmed_at: None,
                });
                events.push(added.clone());
            }
            let prepared = match sent.take() {
                Some(prepared) => prepared,
                None => {
                    if let Some(retry_at) = oob::rate_limit(&mut record.oob, now, &limits) {
                        return Ok(SendOutcome::RateLimited { retry_at });
                    }
                    let wanted_confirmed = purpose == Purpose::SignIn;
                    let destination = record
                        .oob
                        .destinations
                        .iter()
                        .find(|d| d.role == role && d.confirmed_at.is_some() == wanted_confirmed)
                        .map(|d| d.destination.clone())
                        .ok_or(Error::NoDestination(match role {
                            Role::Primary => "primary",
                            Role::Backup => "backup",
                        }))?;
                    let prepared = oob::prepare(key, user, &destination, role, purpose, now, &limits)?;
                    sender
                        .send(&prepared.destination, &prepared.message)
                        .await
                        .map_err(|e| Error::Sender(Box::new(e)))?;
                    prepared
                }
            };
            oob::record_sent(&mut record.oob, prepared.challenge.clone(), now);
            events.push(EventKind::BackupCodeSent {
                method: prepared.destination.method(),
                purpose,
                to: prepared.destination.masked(),
            });
            let outcome = SendOutcome::Sent {
                to: prepared.destination.masked(),
                expires_at: prepared.challenge.expires_at,
            };
            if self.store.save(&record, version).await.map_err(|e| Error::Store(Box::new(e)))?
                == SaveOutcome::Conflict
            {
                sent = Some(prepared);
                continue;
            }
            self.emit(user, user, now, &context.request, events);
            return Ok(outcome);
        }
        Err(Error::Contention { attempts: self.config.max_attempts.max(1) })
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
    let mut facts =
        UserFacts::new(record.methods(), record.failures.locked_until.filter(|until| now < *until));
    facts.has_backup = record.has_backup();
    facts
}

/// Revokes every remembered device, with an event if there were any; returns how many.
fn revoke_all(record: &mut UserRecord, reason: Revocation, events: &mut Vec<EventKind>) -> usize {
    let device_ids: Vec<String> = record.devices.drain(..).map(|d| d.id).collect();
    let count = device_ids.len();
    if count > 0 {
        events.push(EventKind::DevicesRevoked { device_ids, reason });
    }
    count
}

fn status_of(record: &UserRecord, now: u64) -> UserStatus {
    let facts = facts(record, now);
    UserStatus {
        user: record.user.clone(),
        methods: facts.methods,
        enrolled_since: record.totp.as_ref().map(|c| c.created_at),
        last_used: record.totp.as_ref().and_then(|c| c.last_used_at),
        recovery_codes_left: record.recovery.as_ref().map(|r| r.remaining()),
        remembered_devices: record.devices.iter().filter(|d| now < d.expires_at).count(),
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
            | EventKind::OrgSettingsChanged { .. }
            | EventKind::RecoveryCodesGenerated { .. }
            | EventKind::RecoveryCodesLow { .. }
            | EventKind::RecoveryCodesExhausted
            | EventKind::BackupCodeSent { .. }
            | EventKind::BackupDestinationAdded { .. }
            | EventKind::BackupDestinationConfirmed { .. }
            | EventKind::BackupDestinationRemoved { .. }
            | EventKind::DeviceRemembered { .. }
            | EventKind::DeviceAccepted { .. }
            | EventKind::DevicesRevoked { .. } => AuditOutcome::Success,
            EventKind::EnrollmentRejected { .. }
            | EventKind::EnrollmentExpired
            | EventKind::CodeRejected { .. }
            | EventKind::LockoutStarted { .. }
            | EventKind::DeactivationRefused { .. }
            | EventKind::ResetRefused { .. }
            | EventKind::OrgSettingsChangeRefused { .. }
            | EventKind::BackupCodeDiscarded { .. } => AuditOutcome::Failure,
        }
    }
}
