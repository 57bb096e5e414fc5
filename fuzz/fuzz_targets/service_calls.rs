//! The stateful target over the service: random sequences of `MfaService` calls for one
//! user ("alice") and an admin, driven the way a host drives them, with a `ManualClock`
//! the fuzzer moves forwards and backwards, a store that can be made to fail (an error
//! on a load, a save or an append, a save whose reply is lost after it committed, one
//! conflict or conflicts without end) and an SMS sender that records what it is handed
//! and can be made to fail. After every call it checks:
//!
//! - a store that errors lets nobody in: the call answers `Err(Error::Store)`;
//! - a call that fails (`Err`) without a successful write leaves both stored records
//!   and the audit trail exactly as they were;
//! - nothing is admitted on a refusal, nor on a failure whose write did not commit: no
//!   `CodeAccepted`, `DeviceAccepted`, `EnrollmentConfirmed`, `BackupDestinationConfirmed`,
//!   `Resynchronised` or `AuthenticatorImported` event, no new proof, no authenticator
//!   added or replay floor moved, no recovery code spent, no destination confirmed, no
//!   device added;
//! - a TOTP step is accepted at most once per authenticator (the pairs of authenticator
//!   id and step seen accepted, from the floors of the stored records), and the code
//!   accepted is the code of that step;
//! - no proof is accepted during a lockout, while the factor is disabled, or (except the
//!   confirmation of a new destination) from an address off the allowlist;
//! - recovery codes, SMS and e-mail codes and device tokens are accepted only when they
//!   are live ones the user was given (once, unexpired, for their purpose);
//! - sensitive changes (recovery codes, a remembered device, a destination, a new
//!   enrollment, removing a factor, an admin's reset or settings change) happen only
//!   when `flow::step_up::check` on the record before the call would proceed;
//! - a send whose sender failed is taken back; a settings change is saved before it is
//!   audited, and a refused one is audited; the sign-in decision and step-up change
//!   nothing; what a remembered device, a reset, a deactivation and a password change
//!   promise holds;
//! - the audit trail only grows, every committed save carries events, and every change
//!   of a stored record's version comes with an event about its user;
//! - both stored records load through the service and read back equal from JSON.
//!
//! Every future over these ports is ready at its first poll, so calls run without a
//! runtime. Secrets, codes and tokens come from the operating system's random source,
//! so a run is not exactly repeatable; the checks never depend on their values.
#![no_main]

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mfa_kit::LockoutRule;
use mfa_kit::clock::{Clock, ManualClock};
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::flow::enrollment::Confirmation;
use mfa_kit::flow::destination::CodeMessage;
use mfa_kit::flow::oversight::{ResetRequest, SettingsChange};
use mfa_kit::flow::step_up::{self, StepUp};
use mfa_kit::flow::{Env, Rules};
use mfa_kit::notify::CodeSender;
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::otp::{Code, Digits, Totp};
use mfa_kit::policy::{Decision, OrgSettings, Policy, SessionFacts, SignInContext, StandardPolicy};
use mfa_kit::record::{DeviceInfo, DeviceToken, UserRecord};
use mfa_kit::service::{Error, MfaService, ServiceConfig, permissions};
use mfa_kit::store::{MemoryStore, SaveOutcome, Store, Version, Versioned};
use mfa_kit::{Destination, Method, Outcome, Purpose, Reason, RequestContext, Role, SensitiveAction, UserId};
use mfa_kit_fuzz::{Pick, T0, assert_round_trip, hash_key};

use mfa_kit_fuzz::CLOCK_SKEW;

// ---------------------------------------------------------------------------------------
// The ports: a store that fails on demand, a sender that records what it sends.

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs a future that is ready at its first poll, as every future over the memory
/// store, the plaintext sealer and this sender is.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("harness: a future over in-memory ports was not ready at once"),
    }
}

#[derive(Debug)]
struct Outage;

impl fmt::Display for Outage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("injected outage")
    }
}

impl std::error::Error for Outage {}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Arbitrary)]
enum FaultKind {
    LoadError,
    SaveError,
    AppendError,
    /// The save commits, then its reply is lost: an error.
    LostReply,
    /// One save reports a conflict: the service loads again and retries.
    Conflict,
    /// Every save reports a conflict: the service gives up.
    AlwaysConflict,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Load,
    Save,
    Append,
}

impl FaultKind {
    fn access(self) -> Access {
        match self {
            FaultKind::LoadError => Access::Load,
            FaultKind::AppendError => Access::Append,
            _ => Access::Save,
        }
    }
}

/// A fault for the next call: at the store access of its kind after `skip` of them.
#[derive(Clone, Copy, Debug, Arbitrary)]
struct Fault {
    kind: FaultKind,
    skip: u8,
}

/// What the store did during one call.
#[derive(Debug, Default)]
struct Log {
    /// The store returned an error.
    failed: bool,
    /// A save committed, then reported an error.
    lost_reply: bool,
    /// The number of events of each committed save.
    saves: Vec<usize>,
    /// Appends that succeeded.
    appends: usize,
}

impl Log {
    fn wrote(&self) -> bool {
        !self.saves.is_empty() || self.appends > 0
    }
}

/// The memory store, with one fault armed for the length of a call.
#[derive(Default)]
struct FaultyStore {
    inner: MemoryStore,
    armed: Mutex<Option<Fault>>,
    log: Mutex<Log>,
}

impl FaultyStore {
    fn arm(&self, fault: Option<Fault>) {
        *lock(&self.armed) = fault.map(|f| Fault { skip: f.skip % 3, ..f });
        *lock(&self.log) = Log::default();
    }

    fn disarm(&self) -> Log {
        *lock(&self.armed) = None;
        std::mem::take(&mut *lock(&self.log))
    }

    /// The fault that fires at this access, if one does.
    fn fire(&self, access: Access) -> Option<FaultKind> {
        let mut armed = lock(&self.armed);
        let fault = armed.as_mut().filter(|f| f.kind.access() == access)?;
        if fault.skip > 0 {
            fault.skip -= 1;
            return None;
        }
        let kind = fault.kind;
        if kind != FaultKind::AlwaysConflict {
            *armed = None;
        }
        Some(kind)
    }

    /// The record as stored, read past the faults.
    fn stored(&self, user: &UserId) -> Stored {
        let loaded = ready(self.inner.load(user)).unwrap_or_else(|never| match never {});
        match loaded {
            Some(Versioned { version, record }) => Stored { version: Some(version), record },
            None => Stored { version: None, record: UserRecord::new(user.clone()) },
        }
    }
}

impl Store for FaultyStore {
    type Error = Outage;

    async fn load(&self, user: &UserId) -> Result<Option<Versioned>, Outage> {
        if self.fire(Access::Load).is_some() {
            lock(&self.log).failed = true;
            return Err(Outage);
        }
        Ok(self.inner.load(user).await.unwrap_or_else(|never| match never {}))
    }

    async fn save(
        &self,
        record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> Result<SaveOutcome, Outage> {
        let fault = self.fire(Access::Save);
        match fault {
            Some(FaultKind::SaveError) => {
                lock(&self.log).failed = true;
                return Err(Outage);
            }
            Some(FaultKind::Conflict | FaultKind::AlwaysConflict) => return Ok(SaveOutcome::Conflict),
            _ => {}
        }
        let count = events.len();
        let saved = self.inner.save(record, expected, events).await.unwrap_or_else(|never| match never {});
        let mut log = lock(&self.log);
        let committed = matches!(saved, SaveOutcome::Saved(_));
        if committed {
            log.saves.push(count);
        }
        if fault == Some(FaultKind::LostReply) {
            log.failed = true;
            log.lost_reply |= committed;
            return Err(Outage);
        }
        Ok(saved)
    }

    async fn append_events(&self, events: Vec<AuditEvent>) -> Result<(), Outage> {
        if self.fire(Access::Append).is_some() {
            lock(&self.log).failed = true;
            return Err(Outage);
        }
        self.inner.append_events(events).await.unwrap_or_else(|never| match never {});
        lock(&self.log).appends += 1;
        Ok(())
    }
}

/// A message the sender was handed, and whether it went out.
struct Message {
    code: String,
    purpose: Purpose,
    expires_at: u64,
    delivered: bool,
}

/// An SMS and e-mail provider that keeps every message and can be made to fail once.
#[derive(Default)]
struct Outbox {
    messages: Mutex<Vec<Message>>,
    fail_next: AtomicBool,
}

impl CodeSender for Outbox {
    type Error = Outage;

    async fn send(&self, _to: &Destination, message: &CodeMessage) -> Result<(), Outage> {
        let delivered = !self.fail_next.swap(false, Ordering::SeqCst);
        lock(&self.messages).push(Message {
            code: message.code().to_string(),
            purpose: message.purpose(),
            expires_at: message.expires_at(),
            delivered,
        });
        if delivered { Ok(()) } else { Err(Outage) }
    }
}

// ---------------------------------------------------------------------------------------
// The input.

/// An organisation's settings, always valid; `broken` first checks that an invalid
/// choice does not build.
#[derive(Debug, Arbitrary)]
struct Settings {
    max_failures: u8,
    lock_seconds: u16,
    hard_limit: u8,
    fresh_window: u16,
    remember: u8,
    no_self_deactivation: bool,
    no_sms: bool,
    no_email: bool,
    enforce: bool,
    network: u8,
    broken: bool,
}

impl Settings {
    fn build(&self) -> OrgSettings {
        let max_failures = u32::from(self.max_failures % 6) + 1;
        let lockout = LockoutRule::new(max_failures, u64::from(self.lock_seconds % 1200) + 1)
            .with_hard_limit(max_failures * (u32::from(self.hard_limit % 4) + 1));
        let network = |text: &str| text.parse().expect("a valid network");
        let allowed_networks = match self.network % 3 {
            0 => Vec::new(),
            1 => vec![network("203.0.113.0/24")], // the address of every request
            _ => vec![network("198.51.100.0/24")],
        };
        let builder = OrgSettings::builder()
            .lockout(lockout)
            .enforce_for_all(self.enforce)
            .allowed_networks(allowed_networks)
            .remember_device_max(
                [0, 3600, 86_400, OrgSettings::DEFAULT_REMEMBER_DEVICE_MAX][usize::from(self.remember % 4)],
            )
            .allow_self_deactivation(!self.no_self_deactivation)
            .allow_sms_codes(!self.no_sms)
            .allow_email_codes(!self.no_email);
        if self.broken {
            assert!(builder.clone().fresh_proof_window(5).build().is_err(), "settings: invalid ones built");
        }
        builder.fresh_proof_window(30 + u64::from(self.fresh_window % 3571)).build().expect("valid settings")
    }
}

#[derive(Debug, Arbitrary)]
struct Setup {
    start: u32,
    one_code: bool,
    /// Alice starts with an authenticator confirmed at the start.
    enrolled: bool,
    /// The admin has an authenticator confirmed at the start (a fresh proof).
    admin_mfa: bool,
    org: Option<Settings>,
}

/// A code to type: from one of the user's authenticators (by index) or from the
/// enrollment QR code last shown, at a step near now; or any text.
#[derive(Debug, Arbitrary)]
enum Typed {
    Phone { phone: u8, offset: i8 },
    Shown(i8),
    Text(String),
}

#[derive(Debug, Arbitrary)]
enum Op {
    // The clock.
    Forward(u16),
    Back(u16),
    Jump(u32),
    JumpBack(u32),
    // What the next call meets.
    Arm(Fault),
    SenderFails,
    /// The host tracks this session's proof (at now plus the offset), or stops.
    Session(Option<i16>),
    UseOrg(bool),
    Cookie(Option<Pick>),
    // Alice's calls.
    Verify(Typed),
    Resync(Typed, Typed),
    StartEnrollment(u8),
    AddAuthenticator(u8, u8),
    Confirm(Vec<Typed>),
    RemoveAuthenticator(Pick),
    Deactivate(Typed, bool),
    GenerateRecovery,
    RedeemRecovery(Pick),
    AddDestination(u8, bool),
    ConfirmDestination(Pick),
    SendCode(bool),
    VerifySignInCode(Pick),
    RemoveDestination(bool),
    Remember(u32),
    Revoke(Pick, bool),
    PasswordChanged,
    Decide,
    StepUp(u8),
    // The admin's.
    AdminProve(i8),
    Reset {
        reason: bool,
        by_self: bool,
        permitted: bool,
    },
    ChangeSettings {
        settings: Settings,
        permitted: bool,
        save_fails: bool,
    },
}

#[derive(Debug, Arbitrary)]
struct Input {
    setup: Setup,
    ops: Vec<Op>,
}

// ---------------------------------------------------------------------------------------
// The harness.

const ORG: &str = "smith-co";
const ISSUER: &str = "Fuzz & Co";
const ACCOUNTS: [&str; 3] = ["alice@example.com", "alice", "a:b"];
const NAMES: [&str; 3] = ["Backup phone", "  ", "Desktop app"];
const ACTIONS: [SensitiveAction; 10] = [
    SensitiveAction::ReplaceAuthenticator,
    SensitiveAction::AddAuthenticator,
    SensitiveAction::RemoveAuthenticator,
    SensitiveAction::AddDestination,
    SensitiveAction::RemoveDestination,
    SensitiveAction::RegenerateRecoveryCodes,
    SensitiveAction::RememberDevice,
    SensitiveAction::ResetUser,
    SensitiveAction::ChangeOrgSettings,
    SensitiveAction::Host,
];

fn alice() -> UserId {
    mfa_kit_fuzz::user()
}

fn admin() -> UserId {
    UserId::new("admin")
}

fn role(backup: bool) -> Role {
    if backup { Role::Backup } else { Role::Primary }
}

fn destination(which: u8) -> Destination {
    match which % 3 {
        0 => Destination::sms("+61 412 345 678"),
        1 => Destination::sms("+61412345678"), // the same phone, written otherwise
        _ => Destination::email("Alice@Example.com"),
    }
    .expect("valid destinations")
}

/// A record as stored, with its version (`None`: never saved).
#[derive(Clone, Debug, PartialEq)]
struct Stored {
    version: Option<Version>,
    record: UserRecord,
}

struct Snapshot {
    alice: Stored,
    admin: Stored,
    /// The events about alice and about the admin, each in the order they were stored
    /// (the store's whole trail reads in order of time, which a clock moved back
    /// reorders).
    trails: [Vec<AuditEvent>; 2],
}

impl Snapshot {
    /// How many events the trail holds.
    fn trail_len(&self) -> usize {
        self.trails.iter().map(Vec::len).sum()
    }

    fn of(&self, who: &UserId) -> &UserRecord {
        if *who == alice() { &self.alice.record } else { &self.admin.record }
    }
}

/// One call: its answer, the store before and after, and what the store did.
struct Called<T> {
    result: Result<T, Error>,
    before: Snapshot,
    after: Snapshot,
    log: Log,
    now: u64,
    context: SignInContext,
}

impl<T> Called<T> {
    /// The events the call stored.
    fn delta(&self) -> Vec<AuditEvent> {
        let new = self.after.trails.iter().zip(&self.before.trails);
        new.flat_map(|(after, before)| after[before.len().min(after.len())..].iter().cloned()).collect()
    }

    fn stored_event(&self, who: &UserId, wanted: impl Fn(&EventKind) -> bool) -> bool {
        self.delta().iter().any(|e| e.user == *who && wanted(&e.kind))
    }
}

impl<T> Called<Outcome<T>> {
    fn done(&self) -> Option<&T> {
        self.result.as_ref().ok().and_then(|outcome| outcome.as_ref().ok())
    }
}

/// Whether an answer is a refusal shown to the user.
trait Answer: fmt::Debug {
    fn refused(&self) -> bool {
        false
    }
}

impl<T: fmt::Debug> Answer for Outcome<T> {
    fn refused(&self) -> bool {
        self.is_err()
    }
}

impl Answer for bool {}
impl Answer for usize {}
impl Answer for StepUp {}

/// Events that let someone in or make a factor work.
fn admits(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::CodeAccepted { .. }
            | EventKind::DeviceAccepted { .. }
            | EventKind::EnrollmentConfirmed { .. }
            | EventKind::BackupDestinationConfirmed { .. }
            | EventKind::Resynchronised { .. }
            | EventKind::AuthenticatorImported
    )
}

/// The checks on a record that a refused or failed call changed: nothing admitted.
fn nothing_admitted(what: &str, before: &UserRecord, after: &UserRecord) {
    let who = before.user();
    for method in [Method::Totp, Method::Sms, Method::Email, Method::RecoveryCode] {
        // A proof the reading showed future-dated may be voided; none may be added.
        let (was, now) = (before.last_proved(method), after.last_proved(method));
        assert!(now == was || now.is_none(), "{what}: refused or failed, yet {who} proved {method:?}");
    }
    let floors = |r: &UserRecord| -> Vec<(String, Option<u64>)> {
        r.authenticators().iter().map(|a| (a.id().to_string(), a.last_accepted_step())).collect()
    };
    let (old, new) = (floors(before), floors(after));
    assert!(
        new.iter().all(|a| old.contains(a)),
        "{what}: refused or failed, yet {who}'s authenticators changed: {old:?} -> {new:?}"
    );
    assert_eq!(
        after.recovery_codes().map(|r| r.remaining()),
        before.recovery_codes().map(|r| r.remaining()),
        "{what}: refused or failed, yet a recovery code of {who} was spent"
    );
    let confirmed = |r: &UserRecord| -> Vec<(Role, Option<u64>)> {
        let destinations = r.destination_state().destinations();
        destinations
            .iter()
            .filter(|d| d.confirmed_at().is_some())
            .map(|d| (d.role(), d.confirmed_at()))
            .collect()
    };
    let (old, new) = (confirmed(before), confirmed(after));
    assert!(
        new.iter().all(|d| old.contains(d)),
        "{what}: refused or failed, yet a destination was confirmed"
    );
    let ids =
        |r: &UserRecord| -> Vec<String> { r.devices().iter().map(|d| DeviceInfo::from(d).id).collect() };
    let old = ids(before);
    assert!(
        ids(after).iter().all(|id| old.contains(id)),
        "{what}: refused or failed, yet a device was remembered"
    );
}

/// An authenticator's secret, opened as the phone that scanned it holds it.
fn phones(record: &UserRecord) -> Vec<Totp> {
    record
        .authenticators()
        .iter()
        .map(|a| {
            let secret =
                PlaintextSealer.open(record.user(), a.sealed_secret()).expect("our own secrets open");
            Totp::new(&secret, *a.params())
        })
        .collect()
}

fn code_at(totp: &Totp, now: u64, offset: i8) -> String {
    let step = totp.step_at(now).expect("t0 is 0").saturating_add_signed(i64::from(offset % 13));
    totp.generate_at_step(step).to_string()
}

/// Whether `text` is the code of `totp` at `step`.
fn is_code(totp: &Totp, text: &str, step: u64) -> bool {
    totp.parse_code(text).is_ok_and(|code| code == totp.generate_at_step(step))
}

struct IssuedCode {
    code: String,
    live: bool,
    used: bool,
}

struct IssuedDevice {
    token: DeviceToken,
    id: String,
    expires_at: u64,
    alive: bool,
}

struct Harness {
    mfa: MfaService<FaultyStore, PlaintextSealer>,
    clock: ManualClock,
    outbox: Outbox,
    policy: StandardPolicy,
    rules: Rules,
    // The host's side of the next request.
    settings: Arc<OrgSettings>,
    use_org: bool,
    session: Option<u64>,
    cookie: Option<DeviceToken>,
    fault: Option<Fault>,
    // What the user was given.
    shown: Option<Totp>,
    recovery: Vec<IssuedCode>,
    /// The index in the outbox of the one code that may work.
    live_code: Option<usize>,
    devices: Vec<IssuedDevice>,
    /// (user, authenticator id, step) of every TOTP step seen accepted.
    accepted: HashSet<(String, String, u64)>,
}

impl Harness {
    fn new(setup: &Setup) -> Harness {
        let start = T0 + u64::from(setup.start % (365 * 86_400));
        let clock = ManualClock::new(start);
        let rules = if setup.one_code {
            Rules::DEFAULT.with_confirmation(Confirmation::OneCode)
        } else {
            Rules::DEFAULT
        };
        let store = FaultyStore::default();
        // Records set up before the calls under test, written straight into the store.
        for (who, present) in [(alice(), setup.enrolled), (admin(), setup.admin_mfa)] {
            if present {
                let record = mfa_kit_fuzz::admin(who, start, true);
                let saved =
                    ready(store.inner.save(record, None, Vec::new())).unwrap_or_else(|never| match never {});
                assert!(matches!(saved, SaveOutcome::Saved(_)));
            }
        }
        let mfa = MfaService::builder(ISSUER, store, PlaintextSealer)
            .clock(clock.clone())
            .hash_key(hash_key())
            .config(ServiceConfig::new(ISSUER).with_rules(rules))
            .build();
        Harness {
            mfa,
            clock,
            outbox: Outbox::default(),
            policy: StandardPolicy::new(),
            rules,
            settings: Arc::new(setup.org.as_ref().map(Settings::build).unwrap_or_default()),
            use_org: setup.org.is_some(),
            session: None,
            cookie: None,
            fault: None,
            shown: None,
            recovery: Vec::new(),
            live_code: None,
            devices: Vec::new(),
            accepted: HashSet::new(),
        }
    }

    fn store(&self) -> &FaultyStore {
        self.mfa.store()
    }

    fn now(&self) -> u64 {
        self.clock.now().expect("a manual clock")
    }

    fn context(&self) -> SignInContext {
        let request =
            RequestContext::from_address("203.0.113.7".parse().expect("an address")).with_device("fuzz");
        let mut context = SignInContext::new(request);
        if self.use_org {
            context = context.with_org(Arc::clone(&self.settings));
        }
        if let Some(at) = self.session {
            // A host that tracks Alice's session and takes every change's new
            // generation, as the session that made it does.
            let generation = self.store().stored(&alice()).record.generation();
            context = context.with_session(SessionFacts::new(generation, at).proved_at(at));
        }
        if let Some(token) = &self.cookie {
            context = context.with_device_token(token.clone());
        }
        context
    }

    fn snapshot(&self) -> Snapshot {
        let store = self.store();
        let trails = [store.inner.events_for(&alice()), store.inner.events_for(&admin())];
        let snapshot = Snapshot { alice: store.stored(&alice()), admin: store.stored(&admin()), trails };
        assert_eq!(snapshot.trail_len(), store.inner.events().len(), "an event about someone else");
        snapshot
    }

    /// The text typed for `typed` by `who` now.
    fn typed(&self, who: &UserId, typed: &Typed) -> String {
        let now = self.now();
        match typed {
            Typed::Phone { phone, offset } => {
                let phones = phones(&self.store().stored(who).record);
                match phones.get(usize::from(*phone) % phones.len().max(1)) {
                    Some(totp) => code_at(totp, now, *offset),
                    None => format!("{:06}", offset.unsigned_abs()),
                }
            }
            Typed::Shown(offset) => match &self.shown {
                Some(totp) => code_at(totp, now, *offset),
                None => format!("{:06}", offset.unsigned_abs()),
            },
            Typed::Text(text) => text.clone(),
        }
    }

    /// Whether `action` by `who` could proceed just before the call, by the step-up rule.
    fn fresh<T>(&self, called: &Called<T>, who: &UserId, action: SensitiveAction) -> bool {
        let env = Env::new(called.now, &self.policy, &called.context, &self.rules);
        step_up::check(called.before.of(who), action, &env).may_proceed()
    }

    /// A proof was accepted for `who`: neither locked out nor disabled before, and (for
    /// every proof but a destination's confirmation) not from an address off the allowlist.
    fn check_admitted<T>(&self, what: &str, called: &Called<T>, who: &UserId, screened: bool) {
        let record = called.before.of(who);
        let refusal = record.failures().refusal_at(called.now);
        assert!(refusal.is_none(), "{what}: accepted while {refusal:?}");
        if screened {
            let refusal = self.policy.refuse_request(&called.context, called.now);
            assert!(refusal.is_none(), "{what}: accepted from an address off the allowlist");
        }
    }

    /// Runs one call with the fault armed, and checks what every call must keep.
    fn call<T: Answer>(
        &mut self,
        what: &str,
        run: impl FnOnce(&Harness, &SignInContext) -> Result<T, Error>,
    ) -> Called<T> {
        let context = self.context();
        let now = self.now();
        let before = self.snapshot();
        let fault = self.fault.take();
        self.store().arm(fault);
        let result = run(self, &context);
        let log = self.store().disarm();
        let after = self.snapshot();
        let called = Called { result, before, after, log, now, context };
        self.check_every_call(what, &called);
        self.observe(what, &called);
        called
    }

    fn check_every_call<T: Answer>(&self, what: &str, called: &Called<T>) {
        let Called { result, before, after, log, .. } = called;
        if log.failed {
            assert!(
                matches!(result, Err(Error::Store(_))),
                "{what}: the store failed, yet the call answered {result:?}"
            );
        }
        // Every save carries an event, but for refused attempts past the bound on their
        // audit rows: those only move the record's tally, which a later event reports.
        let only_tally = [(&before.alice, &after.alice), (&before.admin, &after.admin)]
            .iter()
            .all(|(old, new)| without_tally(&old.record) == without_tally(&new.record));
        assert!(
            log.saves.iter().all(|&events| events > 0) || only_tally,
            "{what}: a record was saved without an event"
        );
        let kept = before.trail_len();
        for (after, before) in after.trails.iter().zip(&before.trails) {
            assert!(
                after.len() >= before.len() && after[..before.len()] == before[..],
                "{what}: the audit trail lost or changed an event"
            );
        }
        for (who, old, new) in
            [(alice(), &before.alice, &after.alice), (admin(), &before.admin, &after.admin)]
        {
            if new.version != old.version {
                assert!(
                    called.delta().iter().any(|e| e.user == who)
                        || without_tally(&old.record) == without_tally(&new.record),
                    "{what}: {who}'s record changed version without an event about {who}"
                );
            }
            let loaded = ready(self.mfa.record(&who))
                .unwrap_or_else(|error| panic!("{what}: {who}'s stored record does not load: {error}"));
            assert!(
                loaded == new.record,
                "{what}: the service reads {who}'s record differently from the store"
            );
            assert_round_trip(&loaded);
        }
        let failed = result.is_err();
        if failed && !log.wrote() {
            assert!(
                after.alice == before.alice && after.admin == before.admin && after.trail_len() == kept,
                "{what}: failed ({result:?}) without a write, yet the store changed"
            );
        }
        let refused = result.as_ref().is_ok_and(Answer::refused);
        if refused || (failed && !log.lost_reply) {
            if let Some(event) = called.delta().iter().find(|e| admits(&e.kind)) {
                panic!("{what}: answered {result:?}, yet {:?} was stored", event.kind);
            }
            nothing_admitted(what, &before.alice.record, &after.alice.record);
            nothing_admitted(what, &before.admin.record, &after.admin.record);
        }
    }

    /// Learns from the store what the call did: the TOTP steps it accepted (each one
    /// new), and which codes and devices the user was given stopped working.
    fn observe<T>(&mut self, what: &str, called: &Called<T>) {
        for who in [alice(), admin()] {
            let before = called.before.of(&who);
            for credential in called.after.of(&who).authenticators() {
                let Some(step) = credential.last_accepted_step() else { continue };
                let old = before.authenticator(credential.id()).and_then(|(_, c)| c.last_accepted_step());
                if old != Some(step) {
                    let id = credential.id().to_string();
                    assert!(
                        self.accepted.insert((who.to_string(), id.clone(), step)),
                        "{what}: step {step} of {who}'s authenticator {id} was accepted twice"
                    );
                }
            }
        }
        for event in called.delta().iter().filter(|e| e.user == alice()) {
            match &event.kind {
                EventKind::RecoveryCodesGenerated { .. }
                | EventKind::Deactivated
                | EventKind::ResetByAdmin { .. } => {
                    self.recovery.iter_mut().for_each(|code| code.live = false);
                }
                EventKind::DevicesRevoked { device_ids, .. } => {
                    self.devices
                        .iter_mut()
                        .filter(|d| device_ids.contains(&d.id))
                        .for_each(|d| d.alive = false);
                }
                EventKind::BackupCodeSent { .. }
                | EventKind::BackupCodeDiscarded { .. }
                | EventKind::BackupDestinationConfirmed { .. }
                | EventKind::CodeAccepted { method: Method::Sms | Method::Email, .. } => {
                    self.live_code = None
                }
                _ => {}
            }
        }
        let record = &called.after.alice.record;
        if record.destination_state().challenge().is_none() {
            self.live_code = None;
        }
        for device in &mut self.devices {
            if !record.devices().iter().any(|d| DeviceInfo::from(d).id == device.id) {
                device.alive = false;
            }
        }
    }

    /// A session the host tracks proved a second factor now.
    fn session_proved<T>(&mut self, called: &Called<T>) {
        if self.session.is_some() {
            self.session = Some(called.now);
        }
    }

    /// A code from an authenticator app was accepted for `who`: exactly one floor moved,
    /// to the step whose code was typed (`second`: the second of two consecutive codes).
    fn check_totp(
        &self,
        what: &str,
        called: &Called<Outcome<mfa_kit::flow::Proven>>,
        who: &UserId,
        typed: &[&str],
    ) {
        let Some(proven) = called.done() else { return };
        assert_eq!(proven.method, Method::Totp, "{what}");
        self.check_admitted(what, called, who, true);
        let (before, after) = (called.before.of(who), called.after.of(who));
        let moved: Vec<(Totp, u64)> = after
            .authenticators()
            .iter()
            .zip(phones(after))
            .filter_map(|(credential, totp)| {
                let old = before.authenticator(credential.id())?.1.last_accepted_step();
                let new = credential.last_accepted_step()?;
                (old != Some(new)).then_some((totp, new))
            })
            .collect();
        assert_eq!(moved.len(), 1, "{what}: accepted, yet {} floors moved", moved.len());
        let (totp, step) = &moved[0];
        let last = typed.len() - 1;
        for (i, text) in typed.iter().enumerate() {
            let at = step.checked_sub((last - i) as u64).expect("consecutive steps");
            assert!(
                is_code(totp, text, at),
                "{what}: {text:?} is not the code of step {at}, yet it was accepted"
            );
        }
    }

    fn run(&mut self, op: Op) {
        let (me, boss) = (alice(), admin());
        match op {
            Op::Forward(seconds) => self.clock.advance(u64::from(seconds)),
            Op::Back(seconds) => self.clock.set(self.now().saturating_sub(u64::from(seconds))),
            Op::Jump(seconds) => self.clock.advance(u64::from(seconds)),
            Op::JumpBack(seconds) => self.clock.set(self.now().saturating_sub(u64::from(seconds))),
            Op::Arm(fault) => self.fault = Some(fault),
            Op::SenderFails => self.outbox.fail_next.store(true, Ordering::SeqCst),
            Op::Session(offset) => {
                self.session = offset.map(|o| self.now().saturating_add_signed(i64::from(o)))
            }
            Op::UseOrg(on) => self.use_org = on,
            Op::Cookie(pick) => {
                self.cookie = match pick {
                    None => None,
                    Some(Pick::Given(i)) if !self.devices.is_empty() => {
                        Some(self.devices[usize::from(i) % self.devices.len()].token.clone())
                    }
                    Some(Pick::Given(_)) => Some(DeviceToken::from_cookie("")),
                    Some(Pick::Text(text)) => Some(DeviceToken::from_cookie(&text)),
                }
            }

            Op::Verify(typed) => {
                let text = self.typed(&me, &typed);
                let called = self.call("verify", |h, ctx| ready(h.mfa.verify_code(&me, &text, ctx)));
                self.check_totp("verify", &called, &me, &[&text]);
                if called.done().is_some() {
                    self.session_proved(&called);
                }
            }
            Op::AdminProve(offset) => {
                let text = self.typed(&boss, &Typed::Phone { phone: 0, offset });
                let called = self.call("admin verify", |h, ctx| ready(h.mfa.verify_code(&boss, &text, ctx)));
                self.check_totp("admin verify", &called, &boss, &[&text]);
            }
            Op::Resync(first, second) => {
                let (first, second) = (self.typed(&me, &first), self.typed(&me, &second));
                let called =
                    self.call("resync", |h, ctx| ready(h.mfa.resynchronise(&me, &first, &second, ctx)));
                self.check_totp("resync", &called, &me, &[&first, &second]);
                if called.done().is_some() {
                    self.session_proved(&called);
                }
            }
            Op::StartEnrollment(account) => self.show_enrollment(None, ACCOUNTS[usize::from(account) % 3]),
            Op::AddAuthenticator(name, account) => {
                self.show_enrollment(Some(NAMES[usize::from(name) % 3]), ACCOUNTS[usize::from(account) % 3])
            }
            Op::Confirm(codes) => {
                let texts: Vec<String> = codes.iter().take(3).map(|typed| self.typed(&me, typed)).collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                let called = self.call("confirm", |h, ctx| ready(h.mfa.confirm_enrollment(&me, &refs, ctx)));
                if called.done().is_some() {
                    self.check_admitted("confirm", &called, &me, true);
                    let (before, after) = (&called.before.alice.record, &called.after.alice.record);
                    let pending =
                        before.pending_enrollment().expect("confirmed, so an enrollment was pending");
                    assert!(after.pending_enrollment().is_none(), "confirm: the enrollment is still pending");
                    let new: Vec<_> = after
                        .authenticators()
                        .iter()
                        .filter(|a| before.authenticator(a.id()).is_none())
                        .collect();
                    assert_eq!(new.len(), 1, "confirm: not exactly one new authenticator");
                    assert_eq!(
                        new[0].sealed_secret(),
                        pending.sealed_secret(),
                        "confirm: another secret was installed"
                    );
                    let step = new[0].last_accepted_step().expect("a confirmed authenticator has a floor");
                    let secret =
                        PlaintextSealer.open(&me, new[0].sealed_secret()).expect("our own secrets open");
                    let totp = Totp::new(&secret, *new[0].params());
                    assert!(
                        refs.iter().any(|text| is_code(&totp, text, step)),
                        "confirm: none of {refs:?} is the code of step {step}"
                    );
                    self.session_proved(&called);
                }
            }
            Op::RemoveAuthenticator(pick) => {
                let id = match pick {
                    Pick::Given(i) => {
                        let record = self.store().stored(&me).record;
                        let ids: Vec<String> =
                            record.authenticators().iter().map(|a| a.id().to_string()).collect();
                        ids.get(usize::from(i) % ids.len().max(1)).cloned().unwrap_or_default()
                    }
                    Pick::Text(text) => text,
                };
                let called = self
                    .call("remove authenticator", |h, ctx| ready(h.mfa.remove_authenticator(&me, &id, ctx)));
                if let Some(&removed) = called.done() {
                    let (before, after) = (&called.before.alice.record, &called.after.alice.record);
                    assert_eq!(
                        removed,
                        before.authenticator(&id).is_some(),
                        "remove authenticator: wrong answer"
                    );
                    assert!(after.authenticator(&id).is_none(), "remove authenticator: still there");
                    if removed {
                        assert!(
                            self.fresh(&called, &me, SensitiveAction::RemoveAuthenticator),
                            "remove authenticator: removed without a fresh proof"
                        );
                    }
                }
            }
            Op::Deactivate(typed, confirmed) => {
                let text = self.typed(&me, &typed);
                let live = self.live_code;
                let called =
                    self.call("deactivate", |h, ctx| ready(h.mfa.deactivate(&me, &text, confirmed, ctx)));
                if called.done().is_some() {
                    assert!(confirmed, "deactivate: without the confirmation");
                    self.check_admitted("deactivate", &called, &me, true);
                    let (before, after) = (&called.before.alice.record, &called.after.alice.record);
                    let now = called.now;
                    let proved =
                        before.authenticators().iter().zip(phones(before)).any(|(credential, totp)| {
                            let now_step = totp.step_at(now).expect("t0 is 0");
                            (now_step.saturating_sub(16)..=now_step.saturating_add(16))
                                .filter(|step| {
                                    credential.last_accepted_step().is_none_or(|floor| *step > floor)
                                })
                                .any(|step| is_code(&totp, &text, step))
                        });
                    // A user without an authenticator proves it with the sign-in code sent.
                    let sent = before.authenticators().is_empty()
                        && live.is_some_and(|index| {
                            let messages = lock(&self.outbox.messages);
                            let message = &messages[index];
                            message.purpose == Purpose::SignIn
                                && called.now < message.expires_at
                                && Code::parse(&text, Digits::SIX)
                                    .is_ok_and(|code| code.to_string() == message.code)
                        });
                    assert!(
                        proved || sent,
                        "deactivate: {text:?} is no current unused code, yet MFA was turned off"
                    );
                    assert!(
                        after.authenticators().is_empty()
                            && after.pending_enrollment().is_none()
                            && after.recovery_codes().is_none()
                            && after.destination_state().destinations().is_empty()
                            && after.devices().is_empty(),
                        "deactivate: something was left"
                    );
                }
            }
            Op::GenerateRecovery => {
                let called = self
                    .call("generate recovery codes", |h, ctx| ready(h.mfa.generate_recovery_codes(&me, ctx)));
                if let Some(codes) = called.done() {
                    assert!(
                        self.fresh(&called, &me, SensitiveAction::RegenerateRecoveryCodes),
                        "generate recovery codes: without a fresh proof"
                    );
                    let remaining = called.after.alice.record.recovery_codes().map(|r| r.remaining());
                    assert_eq!(
                        remaining,
                        Some(codes.len()),
                        "generate recovery codes: the record holds another set"
                    );
                    self.recovery.extend(codes.iter().map(|code| IssuedCode {
                        code: code.as_str().to_string(),
                        live: true,
                        used: false,
                    }));
                }
            }
            Op::RedeemRecovery(pick) => {
                let text = match pick {
                    Pick::Given(i) if !self.recovery.is_empty() => {
                        self.recovery[usize::from(i) % self.recovery.len()].code.clone()
                    }
                    Pick::Given(_) => String::new(),
                    Pick::Text(text) => text,
                };
                let live: Vec<usize> = (0..self.recovery.len())
                    .filter(|&i| self.recovery[i].live && !self.recovery[i].used)
                    .collect();
                let called = self.call("redeem recovery code", |h, ctx| {
                    ready(h.mfa.redeem_recovery_code(&me, &text, ctx))
                });
                if let Some(proven) = called.done() {
                    assert_eq!(proven.method, Method::RecoveryCode);
                    self.check_admitted("redeem recovery code", &called, &me, true);
                    let typed = mfa_kit::flow::recovery::test_suite::normalize(&text)
                        .expect("accepted, so well formed");
                    let index =
                        live.iter().copied().find(|&i| self.recovery[i].code.replace('-', "") == *typed);
                    let index = index
                        .unwrap_or_else(|| panic!("{text:?} is no live unused recovery code, yet accepted"));
                    self.recovery[index].used = true;
                    let count = |r: &UserRecord| r.recovery_codes().map_or(0, |codes| codes.remaining());
                    assert_eq!(
                        count(&called.after.alice.record) + 1,
                        count(&called.before.alice.record),
                        "redeem recovery code: not exactly one code spent"
                    );
                    self.session_proved(&called);
                }
            }
            Op::AddDestination(which, backup) => {
                let sent_before = lock(&self.outbox.messages).len();
                let called = self.call("add destination", |h, ctx| {
                    ready(h.mfa.add_destination(&me, destination(which), role(backup), &h.outbox, ctx))
                });
                if called.done().is_some() {
                    assert!(
                        self.fresh(&called, &me, SensitiveAction::AddDestination),
                        "add destination: without a fresh proof"
                    );
                    let added = called.after.alice.record.destination_state().destinations().iter().any(|d| {
                        d.role() == role(backup)
                            && d.confirmed_at().is_none()
                            && *d.destination() == destination(which)
                    });
                    assert!(added, "add destination: no unconfirmed destination of that role");
                }
                self.after_send(&called, sent_before, Purpose::ConfirmDestination);
            }
            Op::SendCode(backup) => {
                let sent_before = lock(&self.outbox.messages).len();
                let called = self.call("send sign-in code", |h, ctx| {
                    ready(h.mfa.send_sign_in_code(&me, role(backup), &h.outbox, ctx))
                });
                if called.done().is_some() {
                    self.check_admitted("send sign-in code", &called, &me, true);
                }
                self.after_send(&called, sent_before, Purpose::SignIn);
            }
            Op::ConfirmDestination(pick) => {
                let (text, live) = (self.sent_code(pick), self.live_code);
                let called = self
                    .call("confirm destination", |h, ctx| ready(h.mfa.confirm_destination(&me, &text, ctx)));
                self.check_sent_code(
                    "confirm destination",
                    &called,
                    &text,
                    Purpose::ConfirmDestination,
                    live,
                );
            }
            Op::VerifySignInCode(pick) => {
                let (text, live) = (self.sent_code(pick), self.live_code);
                let called = self
                    .call("verify sign-in code", |h, ctx| ready(h.mfa.verify_sign_in_code(&me, &text, ctx)));
                self.check_sent_code("verify sign-in code", &called, &text, Purpose::SignIn, live);
            }
            Op::RemoveDestination(backup) => {
                let called = self.call("remove destination", |h, ctx| {
                    ready(h.mfa.remove_destination(&me, role(backup), ctx))
                });
                if let Some(&removed) = called.done() {
                    let before = called.before.alice.record.destination_state();
                    let after = called.after.alice.record.destination_state();
                    assert!(
                        !after.destinations().iter().any(|d| d.role() == role(backup)),
                        "remove destination: still there"
                    );
                    assert_eq!(removed, before.destinations().iter().any(|d| d.role() == role(backup)));
                    if before.confirmed(role(backup)).is_some() {
                        assert!(
                            self.fresh(&called, &me, SensitiveAction::RemoveDestination),
                            "remove destination: a confirmed one removed without a fresh proof"
                        );
                    }
                }
            }
            Op::Remember(lifetime) => {
                let lifetime = u64::from(lifetime);
                let called = self.call("remember device", |h, ctx| {
                    ready(h.mfa.remember_device(&me, "fuzz", lifetime, ctx))
                });
                if let Some(remembered) = called.done() {
                    assert!(
                        self.fresh(&called, &me, SensitiveAction::RememberDevice),
                        "remember device: without a fresh proof"
                    );
                    let cap = self.policy.remember_device_max(&called.context);
                    let info = &remembered.info;
                    assert!(cap > 0, "remember device: remembered with remembering turned off");
                    assert_eq!(info.created_at, called.now);
                    assert_eq!(
                        info.expires_at,
                        called.now.saturating_add(lifetime.min(cap)),
                        "remember device: life"
                    );
                    self.devices.push(IssuedDevice {
                        token: remembered.token.clone(),
                        id: info.id.clone(),
                        expires_at: info.expires_at,
                        alive: true,
                    });
                }
            }
            Op::Revoke(pick, by_admin) => {
                let id = match pick {
                    Pick::Given(i) if !self.devices.is_empty() => {
                        self.devices[usize::from(i) % self.devices.len()].id.clone()
                    }
                    Pick::Given(_) => String::new(),
                    Pick::Text(text) => text,
                };
                let actor = if by_admin { boss.clone() } else { me.clone() };
                let called = self.call("revoke device", |h, _| {
                    ready(h.mfa.revoke_device(&me, &id, &actor, &RequestContext::default()))
                });
                if let Ok(revoked) = &called.result {
                    let revoked = *revoked;
                    let has = |r: &UserRecord| r.devices().iter().any(|d| DeviceInfo::from(d).id == id);
                    assert_eq!(revoked, has(&called.before.alice.record), "revoke device: wrong answer");
                    assert!(!has(&called.after.alice.record), "revoke device: still remembered");
                }
            }
            Op::PasswordChanged => {
                let called = self.call("password changed", |h, _| {
                    ready(h.mfa.password_changed(&me, &RequestContext::default()))
                });
                if called.result.is_ok() {
                    assert!(
                        called.after.alice.record.devices().is_empty(),
                        "password changed: a device is left"
                    );
                }
            }
            Op::Decide => {
                let called = self.call("sign-in decision", |h, ctx| ready(h.mfa.sign_in_decision(&me, ctx)));
                let accepted = called.delta().iter().find_map(|e| match &e.kind {
                    EventKind::DeviceAccepted { device_id } => Some(device_id.clone()),
                    _ => None,
                });
                if let Some(decision) = called.done() {
                    self.check_admitted("sign-in decision", &called, &me, true);
                    // Only the record's rule for time may change it: windows the reading
                    // showed future-dated voided, unconfirmed sends lapsed.
                    let settled = called.delta().iter().any(|e| {
                        matches!(
                            e.kind,
                            EventKind::FutureDatedVoided { .. }
                                | EventKind::BackupCodeLapsed { .. }
                                | EventKind::BackupDestinationRemoved { .. }
                                | EventKind::BackupDestinationWithdrawn { .. }
                        )
                    });
                    assert!(
                        called.after.alice == called.before.alice || settled,
                        "sign-in decision: the record changed"
                    );
                    let by_device = *decision == Decision::Allow { reason: Reason::RememberedDevice };
                    assert_eq!(
                        by_device,
                        accepted.is_some(),
                        "sign-in decision: {decision:?}, device {accepted:?}"
                    );
                    if by_device {
                        let token = called.context.device_token.as_ref().expect("a device needs a cookie");
                        let device = self.devices.iter().find(|d| d.token == *token);
                        let device = device.expect("sign-in decision: a token never issued was accepted");
                        assert!(device.alive, "sign-in decision: a revoked device was accepted");
                        assert!(
                            called.now < device.expires_at,
                            "sign-in decision: an expired device was accepted"
                        );
                        assert_eq!(accepted.as_ref(), Some(&device.id));
                    }
                } else {
                    assert!(accepted.is_none(), "sign-in decision: a device was accepted for no decision");
                }
            }
            Op::StepUp(action) => {
                let action = ACTIONS[usize::from(action) % ACTIONS.len()];
                let called = self.call("step-up", |h, ctx| ready(h.mfa.step_up(&me, action, ctx)));
                if let Ok(answer) = &called.result {
                    // Only the record's rule for time may change anything: windows the
                    // reading showed future-dated voided, unconfirmed sends lapsed (with
                    // the unconfirmed destination a lapsed send had added).
                    let settled_only = called.delta().iter().all(|e| {
                        matches!(
                            e.kind,
                            EventKind::FutureDatedVoided { .. }
                                | EventKind::BackupCodeLapsed { .. }
                                | EventKind::BackupDestinationRemoved { .. }
                                | EventKind::BackupDestinationWithdrawn { .. }
                        )
                    });
                    let unchanged = called.after.alice == called.before.alice
                        && called.after.trail_len() == called.before.trail_len();
                    assert!(unchanged || settled_only, "step-up: something changed");
                    let window = self.policy.fresh_proof_window(&called.context);
                    match answer {
                        StepUp::Proceed { proof: Some(proof) } => assert!(
                            proof.at <= called.now.saturating_add(CLOCK_SKEW)
                                && called.now < proof.at.saturating_add(window),
                            "step-up: a proof at {} is not fresh at {} (window {window})",
                            proof.at,
                            called.now
                        ),
                        StepUp::Proceed { proof: None } => assert!(
                            action.adds_a_factor() && !called.before.alice.record.has_mfa(),
                            "step-up: {action:?} proceeds without a proof"
                        ),
                        _ => {}
                    }
                }
            }

            Op::Reset { reason, by_self, permitted } => {
                let actor = if by_self { me.clone() } else { boss.clone() };
                let reason = if reason { "lost phone" } else { " " };
                let called = self.call("reset", |h, ctx| {
                    let reset = ResetRequest::new(ORG, &actor, &me, reason);
                    let permissions = permissions::from_sync_fn(|_| permitted);
                    ready(h.mfa.reset(reset, &permissions, ctx))
                });
                match &called.result {
                    Ok(Ok(_)) => {
                        assert!(permitted, "reset: done without permission");
                        assert!(!by_self, "reset: a self-reset");
                        assert!(
                            self.fresh(&called, &actor, SensitiveAction::ResetUser),
                            "reset: without a fresh proof of the actor"
                        );
                        let after = &called.after.alice.record;
                        assert!(
                            after.authenticators().is_empty()
                                && after.recovery_codes().is_none()
                                && after.devices().is_empty()
                                && after.destination_state().destinations().is_empty()
                                && after.must_enroll(),
                            "reset: something was left"
                        );
                    }
                    Ok(Err(refusal)) => assert!(
                        called.stored_event(&me, |k| matches!(k, EventKind::ResetRefused { .. })),
                        "reset: refused ({refusal:?}) without an audit event"
                    ),
                    Err(_) => {}
                }
            }
            Op::ChangeSettings { settings, permitted, save_fails } => {
                let new = settings.build();
                let current = Arc::clone(&self.settings);
                let saved: Mutex<Option<OrgSettings>> = Mutex::new(None);
                let called = self.call("change settings", |h, ctx| {
                    let change = SettingsChange::new(ORG, &boss, &current, new.clone());
                    let permissions = permissions::from_sync_fn(|_| permitted);
                    ready(h.mfa.change_org_settings(change, &permissions, ctx, |settings| {
                        *lock(&saved) = Some(settings);
                        std::future::ready(if save_fails { Err(Outage) } else { Ok(()) })
                    }))
                });
                let saved = lock(&saved).take();
                let changed =
                    called.stored_event(&boss, |k| matches!(k, EventKind::OrgSettingsChanged { .. }));
                match &called.result {
                    Ok(Ok(settings)) => {
                        assert!(
                            permitted && !save_fails,
                            "change settings: done without permission or a save"
                        );
                        assert!(
                            *settings == new && saved.as_ref() == Some(&new),
                            "change settings: not what was asked"
                        );
                        assert!(
                            self.fresh(&called, &boss, SensitiveAction::ChangeOrgSettings),
                            "change settings: without a fresh proof of the actor"
                        );
                        assert!(changed, "change settings: not audited");
                        self.settings = Arc::new(settings.clone());
                    }
                    Ok(Err(refusal)) => {
                        assert!(saved.is_none(), "change settings: refused ({refusal:?}), yet saved");
                        assert!(
                            called.stored_event(&boss, |k| matches!(
                                k,
                                EventKind::OrgSettingsChangeRefused { .. }
                            )),
                            "change settings: refused ({refusal:?}) without an audit event"
                        );
                    }
                    Err(_) => assert!(!changed, "change settings: failed, yet audited as made"),
                }
                if save_fails && saved.is_some() {
                    assert!(
                        matches!(called.result, Err(Error::Store(_))),
                        "change settings: a failed save answered"
                    );
                }
            }
        }
    }

    fn show_enrollment(&mut self, adding: Option<&str>, account: &str) {
        let me = alice();
        let what = if adding.is_some() { "add authenticator" } else { "start enrollment" };
        let called = self.call(what, |h, ctx| match adding {
            None => ready(h.mfa.start_enrollment(&me, account, ctx)),
            Some(name) => ready(h.mfa.add_authenticator(&me, name, account, ctx)),
        });
        let Some(start) = called.done() else { return };
        let uri = KeyUri::parse(&start.uri).unwrap_or_else(|error| panic!("{what}: a bad URI: {error}"));
        let pending = called.after.alice.record.pending_enrollment();
        let pending = pending.unwrap_or_else(|| panic!("{what}: shown, yet nothing is pending"));
        let secret = PlaintextSealer.open(&me, pending.sealed_secret()).expect("our own secrets open");
        assert!(*uri.secret() == secret, "{what}: the QR code shown is not the enrollment pending");
        assert_eq!(start.expires_at, pending.expires_at(), "{what}: another expiry shown");
        // A key is shown, whether of a new enrollment or one still open, only with a
        // fresh proof (from a user who has MFA).
        let action = if adding.is_some() {
            SensitiveAction::AddAuthenticator
        } else {
            SensitiveAction::ReplaceAuthenticator
        };
        assert!(self.fresh(&called, &me, action), "{what}: a key shown without a fresh proof");
        self.shown = Some(Totp::new(uri.secret(), uri.totp_params().expect("a TOTP URI")));
    }

    /// The text typed for a code sent by SMS or e-mail.
    fn sent_code(&self, pick: Pick) -> String {
        let messages = lock(&self.outbox.messages);
        match pick {
            Pick::Given(i) if !messages.is_empty() => messages[usize::from(i) % messages.len()].code.clone(),
            Pick::Given(_) => String::new(),
            Pick::Text(text) => text,
        }
    }

    /// After a send: the code that may now work, and a failed send taken back.
    fn after_send(
        &mut self,
        called: &Called<Outcome<mfa_kit::flow::destination::Sent>>,
        sent_before: usize,
        purpose: Purpose,
    ) {
        let messages = lock(&self.outbox.messages);
        let handed = messages.len() - sent_before;
        assert!(handed <= 1, "a send handed {handed} messages to the sender");
        match &called.result {
            Ok(Ok(_)) => {
                let message = messages.last().filter(|_| handed == 1).expect("sent, so handed to the sender");
                assert!(
                    message.delivered && message.purpose == purpose,
                    "a send reported done, yet not delivered"
                );
                self.live_code = Some(messages.len() - 1);
            }
            Ok(Err(_)) => assert_eq!(handed, 0, "a refused send was handed to the sender"),
            Err(Error::Sender(_)) => {
                assert!(handed == 1 && !messages[sent_before].delivered);
                let (before, after) = (&called.before.alice.record, &called.after.alice.record);
                let (old, new) = (before.destination_state(), after.destination_state());
                assert!(new.challenge().is_none(), "the sender failed, yet a code is pending");
                assert!(
                    new.sent_at().len() <= old.sent_at().len(),
                    "the sender failed, yet the send was counted"
                );
                let confirmed = |o: &mfa_kit::record::DestinationState| {
                    o.destinations().iter().filter(|d| d.confirmed_at().is_some()).count()
                };
                assert_eq!(confirmed(new), confirmed(old));
                assert!(
                    new.destinations().iter().all(|d| old.destinations().contains(d)),
                    "the sender failed, yet the destination was added"
                );
            }
            Err(_) => {
                // The store failed (or its reply was lost) somewhere around the send. A
                // code works only once its send is confirmed in the record: a delivered
                // code whose confirmation was saved (the reply lost) is live; a
                // reservation left unconfirmed never works and lapses.
                let confirmed = called
                    .after
                    .alice
                    .record
                    .destination_state()
                    .challenge()
                    .is_some_and(|challenge| challenge.awaiting_send().is_none());
                if handed == 1 && messages[sent_before].delivered && confirmed {
                    self.live_code = Some(sent_before);
                }
            }
        }
    }

    /// A code sent by SMS or e-mail was accepted: the one that was live before the
    /// call (`live`, an index in the outbox), for its purpose, unexpired.
    fn check_sent_code(
        &mut self,
        what: &str,
        called: &Called<Outcome<mfa_kit::flow::Proven>>,
        text: &str,
        purpose: Purpose,
        live: Option<usize>,
    ) {
        let Some(proven) = called.done() else { return };
        assert!(matches!(proven.method, Method::Sms | Method::Email), "{what}: proved {:?}", proven.method);
        self.check_admitted(what, called, &alice(), purpose == Purpose::SignIn);
        let messages = lock(&self.outbox.messages);
        let index = live.unwrap_or_else(|| panic!("{what}: {text:?} accepted, yet no code was live"));
        let message = &messages[index];
        assert!(
            Code::parse(text, Digits::SIX).is_ok_and(|code| code.to_string() == message.code),
            "{what}: {text:?} is not the live code, yet it was accepted"
        );
        assert_eq!(message.purpose, purpose, "{what}: a code for another purpose was accepted");
        assert!(called.now < message.expires_at, "{what}: an expired code was accepted");
        let issued = message.expires_at.saturating_sub(self.rules.send_limits.lifetime);
        assert!(
            issued <= called.now.saturating_add(CLOCK_SKEW),
            "{what}: a code from the future was accepted"
        );
        drop(messages);
        if purpose == Purpose::SignIn {
            self.session_proved(called);
        }
    }
}

fuzz_target!(|input: Input| {
    let mut harness = Harness::new(&input.setup);
    for op in input.ops.into_iter().take(48) {
        harness.run(op);
    }
});

/// The record as JSON without its tally of refused attempts.
fn without_tally(record: &UserRecord) -> serde_json::Value {
    let mut value = serde_json::to_value(record).expect("a record serialises");
    if let Some(fields) = value.as_object_mut() {
        fields.remove("refusals");
    }
    value
}
