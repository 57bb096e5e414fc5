//! Changes made where the in-memory store keeps the record (`Store::change_in_place`):
//! the same outcomes, records and events as loading and saving, and, whatever goes
//! wrong in the middle of a change (a clock before the authenticator's epoch, a host's
//! policy that panics), the record as it was and a store that goes on serving.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use mfa_kit::LockoutRule;
use mfa_kit::event::EventKind;
use mfa_kit::otp::TotpParams;
use mfa_kit::policy::{Decision, Policy, SignInContext, StandardPolicy, UserFacts};
use mfa_kit::service::ServiceConfig;
use mfa_kit::store::{InPlace, MemoryStore, Store, Version};
use mfa_kit::{Reason, Refusal, UserId};

/// The record of `who` and its version, as the store keeps them.
fn stored(store: &MemoryStore, who: &UserId) -> (Version, String) {
    let loaded = run(store.load(who)).unwrap().unwrap();
    (loaded.version, serde_json::to_string(&loaded.record).unwrap())
}

/// `Store::change_in_place` on `MemoryStore`: "`None` ... where the store has no record
/// of `user`"; the record as the change left it, "a version it never had before" if it
/// changed and the same version if not; the events appended in order, read back with
/// the user's others.
#[test]
fn the_memory_store_keeps_a_change_made_in_place_as_a_save_would() {
    let (shop, store) = shop();
    let sarah = user("sarah");
    assert_eq!(store.change_in_place(&sarah, |_| ((), InPlace::default())), None, "no record yet");
    shop.enroll(&sarah);
    let (version, before) = stored(&store, &sarah);
    let events_before = store.events_for(&sarah).len();
    let event = |kind| mfa_kit::event::AuditEvent::new(&sarah, &sarah, START, &office().request, kind);

    // Unchanged, with an event: same version, same record, the event appended.
    let read = store.change_in_place(&sarah, |record| {
        (record.methods().len(), InPlace::keep(false, vec![event(EventKind::EnrollmentExpired)]))
    });
    assert_eq!(read, Some(1));
    assert_eq!(stored(&store, &sarah), (version, before.clone()));

    // Changed, with two events: a new version, the change kept, the events in order.
    store.change_in_place(&sarah, |record| {
        record.set_org(mfa_kit::OrgId::new("acme"));
        ((), InPlace::keep(true, vec![event(EventKind::LockoutEnded), event(EventKind::EnrollmentExpired)]))
    });
    let (changed, after) = stored(&store, &sarah);
    assert_ne!(changed, version);
    assert_ne!(after, before);
    assert_eq!(run(store.load(&sarah)).unwrap().unwrap().record.org().map(|o| o.as_str()), Some("acme"));
    let kinds: Vec<_> = store.events_for(&sarah).into_iter().skip(events_before).map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::EnrollmentExpired, EventKind::LockoutEnded, EventKind::EnrollmentExpired]);

    // A save from the version loaded before the change conflicts: the change counted.
    let loaded = run(store.load(&sarah)).unwrap().unwrap();
    let stale = run(store.save(loaded.record, Some(version), Vec::new())).unwrap();
    assert_eq!(stale, mfa_kit::store::SaveOutcome::Conflict);
}

/// A verification whose clock reads before the authenticator's TOTP epoch fails (the
/// time has no time step): "a change that fails ... leaves the record as it was", with
/// no event, though the record was changed in place up to the failure (the clock rule
/// voided a lockout first). The next verification, at a right time after the lockout,
/// is accepted.
#[test]
fn a_verification_that_fails_midway_leaves_the_record_as_it_was() {
    let t0 = START + 600;
    let mut config = ServiceConfig::new("Smith & Co Accounting");
    config.totp_params = TotpParams::DEFAULT.with_t0(t0);
    let store = Arc::new(MemoryStore::new());
    let shop = firm_with(store.clone(), |builder| builder.config(config));
    let sarah = user("sarah");
    // Sarah's app counts time steps from the same epoch (a key of the deployment's own).
    shop.clock.set(t0 + 60);
    let start = run(shop.mfa.start_enrollment(&sarah, "sarah", &office())).unwrap().unwrap();
    let key = mfa_kit::otp::uri::KeyUri::parse(&start.uri).unwrap();
    let phone = mfa_kit::otp::Totp::new(key.secret(), TotpParams::DEFAULT.with_t0(t0));
    let code = |at: u64| phone.generate(at).unwrap().to_string();
    let confirmed = run(shop.mfa.confirm_enrollment(&sarah, &[&code(t0 + 30), &code(t0 + 60)], &office()));
    assert!(confirmed.unwrap().is_ok());
    // Wrong codes lock her out; then the clock reads before the epoch, and before the
    // lockout began: the clock rule voids the lockout (a change) before the code is read.
    for _ in 0..5 {
        let _ = run(shop.mfa.verify_code(&sarah, "000000", &office())).unwrap();
    }
    assert!(run(shop.mfa.status(&sarah, &office())).unwrap().locked_until.is_some());
    let before = stored(&store, &sarah);
    let events = store.events_for(&sarah).len();

    shop.clock.set(t0 - 300);
    let failed = run(shop.mfa.verify_code(&sarah, "123456", &office()));
    assert!(failed.is_err(), "no time step before the epoch: {failed:?}");
    assert_eq!(stored(&store, &sarah), before, "the record as it was");
    assert_eq!(store.events_for(&sarah).len(), events, "nothing audited");

    let later = t0 + 2 * 86_400;
    shop.clock.set(later);
    assert!(run(shop.mfa.verify_code(&sarah, &code(later), &office())).unwrap().is_ok());
}

/// The standard policy, which panics when asked for the lockout rule while `armed`.
struct Panicky {
    standard: StandardPolicy,
    armed: Arc<AtomicBool>,
}

impl Policy for Panicky {
    fn decide(&self, context: &SignInContext, user: &UserFacts, now: u64) -> Result<Decision, Refusal> {
        self.standard.decide(context, user, now)
    }
    fn lockout(&self, context: &SignInContext) -> LockoutRule {
        assert!(!self.armed.load(Ordering::SeqCst), "the host's policy failed");
        self.standard.lockout(context)
    }
    fn enrollment_lifetime(&self, context: &SignInContext) -> u64 {
        self.standard.enrollment_lifetime(context)
    }
    fn may_deactivate(&self, context: &SignInContext, user: &UserFacts) -> Result<(), Reason> {
        self.standard.may_deactivate(context, user)
    }
    fn remember_device_max(&self, context: &SignInContext) -> u64 {
        self.standard.remember_device_max(context)
    }
    fn backup_required(&self, context: &SignInContext) -> bool {
        self.standard.backup_required(context)
    }
}

/// A host's policy that panics in the middle of a change (asked for the lockout rule
/// after the clock rule voided a lockout): the panic reaches the host, the record stays
/// as it was (the lockout kept, nothing audited), and the store serves the next call
/// (its lock is not left unusable): the right code is accepted.
#[test]
fn a_policy_that_panics_midway_leaves_the_record_as_it_was_and_the_store_serving() {
    let armed = Arc::new(AtomicBool::new(false));
    let policy = Panicky { standard: StandardPolicy::new(), armed: armed.clone() };
    let store = Arc::new(MemoryStore::new());
    let shop = firm_with(store.clone(), |builder| builder.policy(policy));
    let sarah = user("sarah");
    let phone = shop.enroll(&sarah);
    // Wrong codes lock her out; then the clock reads an hour early: the clock rule
    // voids the lockout (a change) before the policy is asked for the lockout rule.
    for _ in 0..5 {
        let _ = run(shop.mfa.verify_code(&sarah, &phone.wrong_code(), &office())).unwrap();
    }
    assert!(run(shop.mfa.status(&sarah, &office())).unwrap().locked_until.is_some());
    let before = stored(&store, &sarah);
    let events = store.events_for(&sarah).len();
    let locked_at = mfa_kit::clock::Clock::now(&shop.clock).unwrap();
    shop.clock.set(locked_at - 3_600);

    armed.store(true, Ordering::SeqCst);
    let wrong = phone.wrong_code();
    let attempt = std::panic::AssertUnwindSafe(|| run(shop.mfa.verify_code(&sarah, &wrong, &office())));
    let panicked = std::panic::catch_unwind(attempt);
    assert!(panicked.is_err(), "the policy's panic reaches the host");
    armed.store(false, Ordering::SeqCst);
    assert_eq!(stored(&store, &sarah), before, "the lockout kept, as it was");
    assert_eq!(store.events_for(&sarah).len(), events, "nothing audited");

    // Once the clock is right again and the lockout over, the right code is accepted.
    shop.clock.set(locked_at + 86_400);
    assert!(run(shop.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
}

/// A store that loads and saves through the in-memory one and cannot change in place,
/// as a database store: the other path, for comparison.
struct LoadAndSave(Arc<MemoryStore>);

impl Store for LoadAndSave {
    type Error = std::convert::Infallible;

    async fn load(&self, user: &UserId) -> Result<Option<mfa_kit::store::Versioned>, Self::Error> {
        self.0.load(user).await
    }

    async fn save(
        &self,
        record: mfa_kit::record::UserRecord,
        expected: Option<Version>,
        events: Vec<mfa_kit::event::AuditEvent>,
    ) -> Result<mfa_kit::store::SaveOutcome, Self::Error> {
        self.0.save(record, expected, events).await
    }

    async fn append_events(&self, events: Vec<mfa_kit::event::AuditEvent>) -> Result<(), Self::Error> {
        self.0.append_events(events).await
    }
}

/// The same story on the in-memory store (changed in place) and through a store that
/// loads and saves: the same outcomes, the same records and the same events, step by
/// step: an enrollment, wrong codes to a lockout, a code while locked, the lockout's
/// end, a right code, its replay, the sign-in decision, and a code with the clock
/// wound back.
#[test]
fn a_change_in_place_and_a_load_and_save_tell_the_same_story() {
    let direct = Arc::new(MemoryStore::new());
    let through = Arc::new(MemoryStore::new());
    let in_place = firm_with(direct.clone(), |builder| builder);
    let saved = firm_with(LoadAndSave(through.clone()), |builder| builder);
    let sarah = user("sarah");
    let phones = (in_place.enroll(&sarah), saved.enroll(&sarah));
    // The record and the events as JSON, with the app's random id and key written out.
    let masked = |store: &MemoryStore| {
        let (_, record) = stored(store, &sarah);
        let value: serde_json::Value = serde_json::from_str(&record).unwrap();
        let app = &value["authenticators"][0];
        let (id, key) = (app["id"].as_str().unwrap(), app["secret"]["ciphertext"].as_str().unwrap());
        let events: Vec<String> =
            store.events_for(&sarah).iter().map(|e| serde_json::to_string(&e.kind).unwrap()).collect();
        let mask = |text: &str| text.replace(id, "ID").replace(key, "KEY");
        (mask(&record), mask(&events.join("\n")))
    };
    let same = |what: &str| {
        let (a, b) = (masked(&direct), masked(&through));
        assert_eq!(a.0, b.0, "the record after {what}");
        assert_eq!(a.1, b.1, "the events after {what}");
    };
    // The two phones have different keys: each firm gets its own phone's codes.
    let verify = |wrong: bool| {
        let codes = if wrong {
            (phones.0.wrong_code(), phones.1.wrong_code())
        } else {
            (phones.0.code(), phones.1.code())
        };
        let a = run(in_place.mfa.verify_code(&sarah, &codes.0, &office())).unwrap();
        let b = run(saved.mfa.verify_code(&sarah, &codes.1, &office())).unwrap();
        assert_eq!(a.map(|p| (p.method, p.at)), b.map(|p| (p.method, p.at)));
    };
    let both_clocks = |at: u64| {
        in_place.clock.set(at);
        saved.clock.set(at);
    };
    same("enrolling");
    let now = mfa_kit::clock::Clock::now(&in_place.clock).unwrap();
    for step in 0..6 {
        both_clocks(now + step);
        verify(true);
        same("a wrong code");
    }
    verify(false);
    same("a right code while locked");
    both_clocks(now + 86_400);
    verify(false);
    same("a right code after the lockout");
    verify(false);
    same("the same code again");
    let decisions = (
        run(in_place.mfa.sign_in_decision(&sarah, &office())).unwrap(),
        run(saved.mfa.sign_in_decision(&sarah, &office())).unwrap(),
    );
    assert_eq!(decisions.0, decisions.1);
    same("the sign-in decision");
    both_clocks(now - 3_600);
    verify(false);
    same("a code with the clock an hour behind");
}
