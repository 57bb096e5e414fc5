//! A small firm on the in-memory store, with a clock the tests control and a phone
//! that scanned the enrollment QR code.
#![allow(dead_code)] // Each test file uses a different part of the harness.

use std::sync::{Arc, Mutex};

use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::{EventKind, MemoryAuditLog, SecurityNotice};
use mfa_kit::flow::oversight::ResetRequest;
use mfa_kit::otp::Totp;
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::policy::{Policy, SignInContext};
use mfa_kit::relay::{Notice, NoticeRelay, Notifier};
use mfa_kit::seal::SecretSealer;
use mfa_kit::service::permissions::{self, Permissions};
use mfa_kit::service::{MfaService, MfaServiceBuilder, ServiceConfig};
use mfa_kit::store::{MemoryStore, Store};
use mfa_kit::{RequestContext, Role, UserId};

/// 2023-11-14 22:13:20 UTC, a step boundary (divisible by 30).
pub const START: u64 = 1_700_000_010 - 10;

pub struct Firm<S: Store = MemoryStore> {
    pub mfa: MfaService<S, PlaintextSealer>,
    pub clock: ManualClock,
    pub audit: Arc<MemoryAuditLog>,
}

pub fn firm() -> Firm {
    firm_with(MemoryStore::new(), |builder| builder)
}

pub fn firm_with<S: Store>(
    store: S,
    configure: impl FnOnce(MfaServiceBuilder<S, PlaintextSealer>) -> MfaServiceBuilder<S, PlaintextSealer>,
) -> Firm<S> {
    let clock = ManualClock::new(START);
    let audit = Arc::new(MemoryAuditLog::new());
    let builder = MfaService::builder("Smith & Co Accounting", store, PlaintextSealer)
        .clock(clock.clone())
        .audit(audit.clone())
        .hash_key(mfa_kit::keyed_hash::HashKey::generate().unwrap());
    Firm { mfa: configure(builder).build(), clock, audit }
}

pub fn firm_with_policy(policy: impl Policy + 'static) -> Firm {
    firm_with(MemoryStore::new(), |builder| builder.policy(policy))
}

pub fn firm_with_config(config: ServiceConfig) -> Firm {
    firm_with(MemoryStore::new(), |builder| builder.config(config))
}

pub fn office() -> SignInContext {
    SignInContext::new(
        RequestContext::from_address("203.0.113.7".parse().unwrap()).with_device("Firefox on Windows"),
    )
}

pub fn user(name: &str) -> UserId {
    UserId::new(name)
}

/// The firm's organisation, as the host names it.
pub const FIRM: &str = "smith-co";

/// The host's permission check in stories about other rules: every admin action is
/// permitted, so what is tested is the service's own rules.
pub fn permitted() -> impl Permissions {
    permissions::from_sync_fn(|_| true)
}

/// `actor`'s reset of `target`'s MFA in the firm, because of `reason`.
pub fn reset_of<'a>(actor: &'a UserId, target: &'a UserId, reason: &'a str) -> ResetRequest<'a> {
    ResetRequest::new(FIRM, actor, target, reason)
}

/// The authenticator app on a user's phone.
pub struct Phone {
    pub totp: Totp,
    pub clock: ManualClock,
    /// Seconds the phone's clock is ahead of the server's (negative: behind).
    pub skew: i64,
}

impl Phone {
    pub fn scan(uri: &str, clock: &ManualClock) -> Phone {
        let key = KeyUri::parse(uri).expect("the service builds valid URIs");
        Phone {
            totp: Totp::new(key.secret(), key.totp_params().expect("a TOTP URI")),
            clock: clock.clone(),
            skew: 0,
        }
    }

    /// The code the app shows now.
    pub fn code(&self) -> String {
        use mfa_kit::clock::Clock;
        let now = self.clock.now().unwrap().checked_add_signed(self.skew).unwrap();
        self.totp.generate(now).unwrap().to_string()
    }

    /// A code that is certainly wrong now (not the code of any nearby step).
    pub fn wrong_code(&self) -> String {
        let near: Vec<String> = (-20i64..=20)
            .map(|offset| {
                use mfa_kit::clock::Clock;
                let t = self.clock.now().unwrap().checked_add_signed(offset * 30).unwrap();
                self.totp.generate(t).unwrap().to_string()
            })
            .collect();
        (0..1_000_000u32).map(|n| format!("{n:06}")).find(|c| !near.contains(c)).unwrap()
    }
}

/// Enrolls `who` on a service over any store and sealer (the `Firm`'s is on
/// `PlaintextSealer`) with two consecutive codes, and returns their phone.
pub fn enroll_on<S: Store, K: SecretSealer>(
    mfa: &MfaService<S, K>,
    clock: &ManualClock,
    who: &UserId,
) -> Phone {
    pollster::block_on(async {
        let start =
            mfa.start_enrollment(who, &format!("{who}@smith.example"), &office()).await.unwrap().unwrap();
        let phone = Phone::scan(&start.uri, clock);
        let first = phone.code();
        clock.advance(30);
        let second = phone.code();
        let outcome = mfa.confirm_enrollment(who, &[&first, &second], &office()).await.unwrap();
        assert!(outcome.is_ok(), "{outcome:?}");
        // The next sign-in is a step later, as in life.
        clock.advance(30);
        phone
    })
}

impl<S: Store> Firm<S> {
    /// Enrolls a user with two consecutive codes and returns their phone.
    pub fn enroll(&self, who: &UserId) -> Phone {
        enroll_on(&self.mfa, &self.clock, who)
    }

    /// Signs `who` in with a code from `phone` a step later: a fresh proof.
    pub fn prove(&self, who: &UserId, phone: &Phone) {
        self.clock.advance(30);
        let outcome = pollster::block_on(self.mfa.verify_code(who, &phone.code(), &office())).unwrap();
        assert!(outcome.is_ok(), "{outcome:?}");
    }

    pub fn events(&self, who: &UserId) -> Vec<EventKind> {
        self.audit.kinds_for(who)
    }
}

/// Sets `who` up with an authenticator app (`who@example.com`) by requests made in
/// `context` (its organisation); returns the phone, a step after the confirmation.
pub fn enroll_in(firm: &Firm, who: &UserId, context: &SignInContext) -> Phone {
    let start = run(firm.mfa.start_enrollment(who, &format!("{who}@example.com"), context)).unwrap().unwrap();
    let phone = Phone::scan(&start.uri, &firm.clock);
    let first = phone.code();
    firm.clock.advance(30);
    let second = phone.code();
    run(firm.mfa.confirm_enrollment(who, &[&first, &second], context)).unwrap().unwrap();
    firm.clock.advance(30);
    phone
}

/// Runs a future to completion on this thread.
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    pollster::block_on(future)
}

/// An SMS and e-mail provider that keeps what it sends, and can be made to fail.
#[derive(Default)]
pub struct Outbox {
    pub sent: std::sync::Mutex<Vec<(mfa_kit::Destination, String)>>,
    pub down: std::sync::atomic::AtomicBool,
}

#[derive(Debug, thiserror::Error)]
#[error("SMS gateway returned 503")]
pub struct GatewayDown;

impl mfa_kit::notify::CodeSender for Outbox {
    type Error = GatewayDown;

    async fn send(
        &self,
        to: &mfa_kit::Destination,
        message: &mfa_kit::flow::destination::CodeMessage,
    ) -> Result<(), GatewayDown> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(GatewayDown);
        }
        self.sent.lock().unwrap().push((to.clone(), message.code().to_string()));
        Ok(())
    }
}

impl Outbox {
    /// The last code sent.
    pub fn last_code(&self) -> String {
        self.sent.lock().unwrap().last().expect("a code was sent").1.clone()
    }

    pub fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

/// The backup phone number the stories register (an Australian mobile).
pub fn phone() -> mfa_kit::Destination {
    mfa_kit::Destination::sms("+61 412 345 678").unwrap()
}

/// Enrolls `who` with an app and confirms [`phone`] as their backup (the confirmation
/// code is the first send of the hour); returns a minute after the confirmation, with
/// the outbox that took the confirmation code.
pub fn with_backup_phone<S: Store>(firm: &Firm<S>, who: &UserId) -> Outbox {
    firm.enroll(who);
    let outbox = Outbox::default();
    run(async {
        firm.mfa.add_destination(who, phone(), Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(who, &outbox.last_code(), &office()).await.unwrap().unwrap();
    });
    firm.clock.advance(60);
    outbox
}

/// A provider that is slow: while it hangs, a minute passes and the same user asks for
/// another sign-in code to the backup phone (another tab, another app server), which is
/// sent through `inner`; then the slow provider reports failure.
pub struct SlowThenDown<'a> {
    pub firm: &'a Firm,
    pub who: UserId,
    pub inner: Outbox,
}

impl mfa_kit::notify::CodeSender for SlowThenDown<'_> {
    type Error = GatewayDown;

    async fn send(
        &self,
        _: &mfa_kit::Destination,
        _: &mfa_kit::flow::destination::CodeMessage,
    ) -> Result<(), GatewayDown> {
        self.firm.clock.advance(60);
        let other = self.firm.mfa.send_sign_in_code(&self.who, Role::Backup, &self.inner, &office()).await;
        assert!(matches!(other, Ok(Ok(_))), "{other:?}");
        Err(GatewayDown)
    }
}

/// Runs `attempt` on `n` threads released together (as requests reaching several app
/// servers at once) and returns their outcomes.
pub fn race<T: Send>(n: usize, attempt: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = std::sync::Barrier::new(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, attempt) = (&barrier, &attempt);
                scope.spawn(move || {
                    barrier.wait();
                    attempt(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("no thread panics")).collect()
    })
}

/// A user's mailbox for security notices: keeps every notice a relay hands it.
#[derive(Default)]
pub struct Inbox(pub Mutex<Vec<Notice>>);

impl Notifier for Inbox {
    type Error = std::convert::Infallible;

    async fn notify(&self, notice: &Notice) -> Result<(), Self::Error> {
        self.0.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

/// The firm over a store the test keeps a handle on (for a notice relay over it).
pub type Shop = Firm<Arc<MemoryStore>>;

/// A firm on a fresh in-memory store, and that store.
pub fn shop() -> (Shop, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    (firm_with(store.clone(), |builder| builder), store)
}

/// Runs the relay once into `inbox`; the notices delivered so far, of `kind`.
pub fn delivered(
    shop: &Shop,
    store: &Arc<MemoryStore>,
    inbox: &Arc<Inbox>,
    kind: SecurityNotice,
) -> Vec<Notice> {
    let relay = NoticeRelay::new("email", store.clone(), inbox.clone(), shop.clock.clone());
    run(relay.run_once()).unwrap();
    inbox.0.lock().unwrap().iter().filter(|n| n.kind == kind).cloned().collect()
}

/// The "this wasn't me" token the deployment's relay would put in the notice's link.
pub fn link(shop: &Shop, notice: &Notice) -> String {
    shop.mfa.disown_token(&notice.user, notice.id, notice.at, &notice.event).unwrap().as_str().to_string()
}

#[path = "../support/csv.rs"]
mod csv;
#[allow(unused_imports)] // Only the export's tests read CSV.
pub use csv::parse_csv;
