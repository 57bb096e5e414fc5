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

mod admin;
mod authenticator;
mod backup;

use std::sync::Arc;

use crate::audit::{AuditEvent, AuditSink, DiscardAudit, EventKind, Method, RequestContext};
use crate::clock::{Clock, SystemClock};
use crate::device::{self, Revocation};
use crate::enrollment::Confirmation;
use crate::error::Error;
use crate::keyed_hash::HashKey;
use crate::oob::OobLimits;
use crate::policy::{Policy, SignInContext, StandardPolicy, UserFacts};
use crate::proof::{CodeOutcome, DriftRules};
use crate::record::{TotpCredential, UserId, UserRecord};
use crate::recovery;
use crate::seal::SecretSealer;
use crate::store::{SaveOutcome, Store};
use crate::{Secret, Totp, TotpParams};

pub use admin::{Cleared, PermissionCheck, UserStatus};
pub use authenticator::{DeactivationOutcome, EnrollmentStart};

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

/// Builds an [`MfaService`]; see [`MfaService::builder`]. It holds the service with
/// its defaults and replaces the parts it is given.
pub struct MfaServiceBuilder<S>(MfaService<S>);

impl<S: Store> MfaServiceBuilder<S> {
    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.0.clock = Arc::new(clock);
        self
    }

    /// Where audit events go (default: discarded; set one in production).
    #[must_use]
    pub fn audit(mut self, audit: impl AuditSink + 'static) -> Self {
        self.0.audit = Arc::new(audit);
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

    /// The service.
    pub fn build(self) -> MfaService<S> {
        self.0
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
        f.debug_tuple("MfaServiceBuilder").field(&self.0).finish()
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
        MfaServiceBuilder(MfaService {
            store,
            sealer: Arc::new(sealer),
            hash_key: None,
            clock: Arc::new(SystemClock),
            audit: Arc::new(DiscardAudit),
            policy: Arc::new(StandardPolicy::new()),
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
                self.emit(user, user, now, &context.request, vec![kind]).await?;
                crate::policy::Decision::Allow { reason: crate::policy::Reason::RememberedDevice }
            }
            None => decision,
        })
    }

    /// Refuses a proof the policy would not even ask for (address not allowed), so a
    /// host that skipped [`MfaService::sign_in_decision`] is still protected.
    fn screen(
        &self,
        record: &UserRecord,
        context: &SignInContext,
        now: u64,
        method: Method,
    ) -> Option<Transition<CodeOutcome>> {
        match self.policy.decide(context, &facts(record, now), now) {
            crate::policy::Decision::Refuse { reason, .. } if reason != crate::policy::Reason::LockedOut => {
                let events = vec![EventKind::CodeRejected {
                    method,
                    reason: crate::audit::RejectionReason::PolicyRefused,
                    consecutive_failures: record.failures.consecutive,
                }];
                Some(Transition { outcome: CodeOutcome::Refused(reason), events })
            }
            _ => None,
        }
    }

    fn key(&self) -> Result<&HashKey, Error> {
        self.hash_key.as_ref().ok_or(Error::HashKeyMissing)
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

    /// A conditional save, the store's error wrapped as [`Error::Store`].
    async fn save(
        &self,
        record: &UserRecord,
        expected: Option<crate::store::Version>,
        events: &[AuditEvent],
    ) -> Result<SaveOutcome, Error> {
        self.store.save(record, expected, events).await.map_err(|e| Error::Store(Box::new(e)))
    }

    /// How many times a change is tried before giving up: at least once.
    fn attempts(&self) -> u32 {
        self.config.max_attempts.max(1)
    }

    /// Load, change, save-if-unchanged, retry on conflict; emit the events once saved.
    async fn update<T>(
        &self,
        user: &UserId,
        actor: &UserId,
        request: &RequestContext,
        mut change: impl FnMut(&mut UserRecord, u64) -> Result<Transition<T>, Error> + Send,
    ) -> Result<T, Error> {
        for _ in 0..self.attempts() {
            let now = self.clock.now()?;
            let (version, before) = self.load(user).await?;
            let mut record = before.clone();
            let Transition { outcome, events } = change(&mut record, now)?;
            let events = audit_events(user, actor, now, request, events);
            if record == before {
                self.append(&events).await?;
            } else if self.save(&record, version, &events).await? == SaveOutcome::Conflict {
                continue;
            }
            self.publish(events);
            return Ok(outcome);
        }
        Err(Error::Contention { attempts: self.attempts() })
    }

    /// Stores events that describe no record change, then hands them to the sink.
    async fn emit(
        &self,
        user: &UserId,
        actor: &UserId,
        at: u64,
        request: &RequestContext,
        events: Vec<EventKind>,
    ) -> Result<(), Error> {
        let events = audit_events(user, actor, at, request, events);
        self.append(&events).await?;
        self.publish(events);
        Ok(())
    }

    async fn append(&self, events: &[AuditEvent]) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        self.store.append_events(events).await.map_err(|e| Error::Store(Box::new(e)))
    }

    /// Hands stored events to the sink, for push delivery.
    fn publish(&self, events: Vec<AuditEvent>) {
        for event in events {
            self.audit.record(event);
        }
    }
}

fn audit_events(
    user: &UserId,
    actor: &UserId,
    at: u64,
    request: &RequestContext,
    events: Vec<EventKind>,
) -> Vec<AuditEvent> {
    events
        .into_iter()
        .map(|kind| AuditEvent {
            user: user.clone(),
            actor: actor.clone(),
            at,
            outcome: kind.outcome(),
            kind,
            context: request.clone(),
        })
        .collect()
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
