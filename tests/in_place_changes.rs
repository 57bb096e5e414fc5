//! Changes made where the in-memory store keeps the record (`Store::change_in_place`):
//! the same outcomes, records, versions, events and audit sink as loading and saving
//! (codes, replays, decisions, organisations, an admin's reset, a replaced app, clock
//! readings, threads racing), and, whatever goes wrong in the middle of a change (a
//! clock before the authenticator's epoch, a host's policy that panics or calls the
//! store back), the record as it was and a store that goes on serving.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use mfa_kit::LockoutRule;
use mfa_kit::clock::{Clock, ClockError, ManualClock};
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::otp::TotpParams;
use mfa_kit::policy::{Decision, Policy, SignInContext, StandardPolicy, UserFacts};
use mfa_kit::store::{InPlace, MemoryStore, Store, Version};
use mfa_kit::{Reason, Refusal, RequestContext, UserId};

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
    use mfa_kit::flow::{Env, Rules};

    let t0 = START + 600;
    let store = Arc::new(MemoryStore::new());
    let shop = firm_with(store.clone(), |builder| builder);
    let sarah = user("sarah");
    // Sarah's app counts time steps from an epoch of its own (a token a host drives
    // `flow` for: a Key URI cannot carry it, so the service does not enroll such apps).
    let params = TotpParams::DEFAULT.with_t0(t0);
    let secret = mfa_kit::otp::Secret::generate().unwrap();
    let phone = mfa_kit::otp::Totp::new(&secret, params);
    let code = |at: u64| phone.generate(at).unwrap().to_string();
    let (policy, context, rules) = (StandardPolicy::new(), office(), Rules::default());
    let env = |now| Env { now, policy: &policy, context: &context, rules: &rules };
    let mut record = mfa_kit::record::UserRecord::new(sarah.clone());
    let sealed = mfa_kit::danger::PlaintextSealer.seal(&sarah, &secret).unwrap();
    assert!(
        mfa_kit::flow::enrollment::start(&mut record, sealed, params, "sarah", &env(t0 + 30)).outcome.is_ok()
    );
    let confirmed = mfa_kit::flow::enrollment::confirm(
        &mut record,
        &phone,
        &[&code(t0 + 30), &code(t0 + 60)],
        &env(t0 + 60),
    );
    assert!(confirmed.unwrap().outcome.is_ok());
    let saved = run(store.save(record, None, Vec::new())).unwrap();
    assert!(matches!(saved, mfa_kit::store::SaveOutcome::Saved(_)), "{saved:?}");
    shop.clock.set(t0 + 60);
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

/// The standard policy, with a hook the host's code runs first in `decide` and
/// `lockout`, given the method's name: a policy that panics, or reads the store, when
/// a test says.
struct Hooked {
    standard: StandardPolicy,
    hook: Box<dyn Fn(&str) + Send + Sync>,
}

impl Hooked {
    fn new(hook: impl Fn(&str) + Send + Sync + 'static) -> Hooked {
        Hooked { standard: StandardPolicy::new(), hook: Box::new(hook) }
    }

    /// Panics in `method` while `armed`.
    fn panicking_in(method: &'static str, armed: &Arc<AtomicBool>) -> Hooked {
        let armed = armed.clone();
        Hooked::new(move |called| {
            assert!(!(called == method && armed.load(Ordering::SeqCst)), "the host's policy failed");
        })
    }
}

impl Policy for Hooked {
    fn decide(&self, context: &SignInContext, user: &UserFacts, now: u64) -> Result<Decision, Refusal> {
        (self.hook)("decide");
        self.standard.decide(context, user, now)
    }
    fn lockout(&self, context: &SignInContext) -> LockoutRule {
        (self.hook)("lockout");
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
    let policy = Hooked::panicking_in("lockout", &armed);
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

/// Replaces random material (ids, sealed secrets, hashes) in a JSON value.
fn scrub(value: &mut serde_json::Value) {
    const RANDOM: [&str; 10] = [
        "id",
        "secret",
        "sealed_secret",
        "ciphertext",
        "codes",
        "hash",
        "hashes",
        "salt",
        "user_handle",
        "nonce",
    ];
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if RANDOM.contains(&key.as_str()) {
                    *v = serde_json::Value::String("X".into());
                } else {
                    scrub(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub),
        _ => {}
    }
}

/// The record (scrubbed) and version of `who`, and every stored event about them.
fn snapshot(store: &MemoryStore, who: &UserId) -> (Option<Version>, String, Vec<String>) {
    let loaded = run(store.load(who)).unwrap();
    let (version, record) = match loaded {
        Some(v) => {
            let mut value = serde_json::to_value(&v.record).unwrap();
            scrub(&mut value);
            (Some(v.version), value.to_string())
        }
        None => (None, String::new()),
    };
    let events = store.events_for(who).iter().map(|e| serde_json::to_string(e).unwrap()).collect();
    (version, record, events)
}

/// What the audit sink got about `who`, as JSON.
fn sunk<S: Store>(firm: &Firm<S>, who: &UserId) -> Vec<String> {
    firm.audit.events().iter().filter(|e| &e.user == who).map(|e| serde_json::to_string(e).unwrap()).collect()
}

/// Two firms, one changing in place (`direct`), one loading and saving (`through`).
struct Twins {
    direct: Arc<MemoryStore>,
    through: Arc<MemoryStore>,
    in_place: Firm<Arc<MemoryStore>>,
    saved: Firm<LoadAndSave>,
}

fn twins() -> Twins {
    let direct = Arc::new(MemoryStore::new());
    let through = Arc::new(MemoryStore::new());
    let in_place = firm_with(direct.clone(), |b| b);
    let saved = firm_with(LoadAndSave(through.clone()), |b| b);
    Twins { direct, through, in_place, saved }
}

impl Twins {
    fn same(&self, who: &UserId, what: &str) {
        let (a, b) = (snapshot(&self.direct, who), snapshot(&self.through, who));
        assert_eq!(a.0, b.0, "version after {what}");
        assert_eq!(a.1, b.1, "record after {what}");
        assert_eq!(a.2, b.2, "stored events after {what}");
        assert_eq!(sunk(&self.in_place, who), a.2, "in place: sink == stored after {what}");
        assert_eq!(sunk(&self.saved, who), b.2, "load/save: sink == stored after {what}");
    }
    fn set(&self, at: u64) {
        self.in_place.clock.set(at);
        self.saved.clock.set(at);
    }
    fn now(&self) -> u64 {
        self.in_place.clock.now().unwrap()
    }
}

/// The same story on the in-memory store (changed in place) and through a store that
/// loads and saves: the same outcomes, the same records and the same events, step by
/// step: an enrollment, wrong codes to a lockout, a code while locked, the lockout's
/// end, a right code, its replay, the sign-in decision, and a code with the clock
/// wound back.
#[test]
fn a_change_in_place_and_a_load_and_save_tell_the_same_story() {
    let t = twins();
    let sarah = user("sarah");
    let phones = (t.in_place.enroll(&sarah), t.saved.enroll(&sarah));
    // The two phones have different keys: each firm gets its own phone's codes.
    let verify = |wrong: bool| {
        let codes = if wrong {
            (phones.0.wrong_code(), phones.1.wrong_code())
        } else {
            (phones.0.code(), phones.1.code())
        };
        let a = run(t.in_place.mfa.verify_code(&sarah, &codes.0, &office())).unwrap();
        let b = run(t.saved.mfa.verify_code(&sarah, &codes.1, &office())).unwrap();
        assert_eq!(a.map(|p| (p.method, p.at)), b.map(|p| (p.method, p.at)));
    };
    t.same(&sarah, "enrolling");
    let now = t.now();
    for step in 0..6 {
        t.set(now + step);
        verify(true);
        t.same(&sarah, "a wrong code");
    }
    verify(false);
    t.same(&sarah, "a right code while locked");
    t.set(now + 86_400);
    verify(false);
    t.same(&sarah, "a right code after the lockout");
    verify(false);
    t.same(&sarah, "the same code again");
    let decisions = (
        run(t.in_place.mfa.sign_in_decision(&sarah, &office())).unwrap(),
        run(t.saved.mfa.sign_in_decision(&sarah, &office())).unwrap(),
    );
    assert_eq!(decisions.0, decisions.1);
    t.same(&sarah, "the sign-in decision");
    t.set(now - 3_600);
    verify(false);
    t.same(&sarah, "a code with the clock an hour behind");
}

// A change made in an organisation files the record under it and its events
// under the request's organisation, identically on both paths (also unchanged steps,
// and a step in a second organisation).
#[test]
fn a_change_made_in_an_organisation_is_filed_as_a_load_and_save_files_it() {
    let t = twins();
    let sarah = user("sarah");
    let phones = (t.in_place.enroll(&sarah), t.saved.enroll(&sarah));
    t.same(&sarah, "enrolling outside an organisation");
    // Warm the secret cache (first verify goes through load and save on both).
    let ok = (
        run(t.in_place.mfa.verify_code(&sarah, &phones.0.code(), &office())).unwrap(),
        run(t.saved.mfa.verify_code(&sarah, &phones.1.code(), &office())).unwrap(),
    );
    assert_eq!(ok.0.is_ok(), ok.1.is_ok());
    t.same(&sarah, "a first code");
    let now = t.now();
    let acme = office().in_org("acme");
    let beta = office().in_org("beta");
    for (i, ctx) in [&acme, &acme, &beta].into_iter().enumerate() {
        t.set(now + 30 * (i as u64 + 1));
        let a = run(t.in_place.mfa.verify_code(&sarah, &phones.0.code(), ctx)).unwrap();
        let b = run(t.saved.mfa.verify_code(&sarah, &phones.1.code(), ctx)).unwrap();
        assert_eq!(a.map(|p| p.at), b.map(|p| p.at));
        t.same(&sarah, &format!("a code in {:?}", ctx.request.org));
        // The replay: refused, in the organisation.
        let a = run(t.in_place.mfa.verify_code(&sarah, &phones.0.code(), ctx)).unwrap();
        let b = run(t.saved.mfa.verify_code(&sarah, &phones.1.code(), ctx)).unwrap();
        assert_eq!(a.is_err(), b.is_err());
        t.same(&sarah, "a replay");
        // The sign-in decision (no change) in the organisation.
        let a = run(t.in_place.mfa.sign_in_decision(&sarah, ctx)).unwrap();
        let b = run(t.saved.mfa.sign_in_decision(&sarah, ctx)).unwrap();
        assert_eq!(a, b);
        t.same(&sarah, "a sign-in decision");
    }
    let org = |s: &MemoryStore| run(s.load(&sarah)).unwrap().unwrap().record.org().map(|o| o.to_string());
    assert_eq!(org(&t.direct).as_deref(), Some("beta"));
}

// An admin's reset (actor != user), in the firm's organisation, after the
// target's secrets were cached: same record, version, events (actor = admin) and sink
// on both paths; the old phone's code is refused afterwards on both.
#[test]
fn an_admins_reset_matches_a_load_and_save() {
    let t = twins();
    let (sarah, partner) = (user("sarah"), user("partner"));
    let sp = (t.in_place.enroll(&sarah), t.saved.enroll(&sarah));
    let pp = (t.in_place.enroll(&partner), t.saved.enroll(&partner));
    t.set(t.now() + 30);
    assert!(run(t.in_place.mfa.verify_code(&sarah, &sp.0.code(), &office())).unwrap().is_ok());
    assert!(run(t.saved.mfa.verify_code(&sarah, &sp.1.code(), &office())).unwrap().is_ok());
    assert!(run(t.in_place.mfa.verify_code(&partner, &pp.0.code(), &office())).unwrap().is_ok());
    assert!(run(t.saved.mfa.verify_code(&partner, &pp.1.code(), &office())).unwrap().is_ok());
    let generate = (
        run(t.in_place.mfa.generate_recovery_codes(&sarah, &office())).unwrap(),
        run(t.saved.mfa.generate_recovery_codes(&sarah, &office())).unwrap(),
    );
    assert!(generate.0.is_ok() && generate.1.is_ok());
    t.same(&sarah, "codes and recovery codes");
    t.set(t.now() + 30);
    let a =
        run(t.in_place.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &office())).unwrap();
    let b =
        run(t.saved.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &office())).unwrap();
    assert_eq!(a, b);
    t.same(&sarah, "the reset");
    t.same(&partner, "the reset (the admin's own trail)");
    assert!(snapshot(&t.direct, &sarah).2.iter().any(|e| e.contains("\"actor\":\"partner\"")));
    t.set(t.now() + 30);
    let a = run(t.in_place.mfa.verify_code(&sarah, &sp.0.code(), &office())).unwrap();
    let b = run(t.saved.mfa.verify_code(&sarah, &sp.1.code(), &office())).unwrap();
    assert!(a.is_err(), "{a:?}");
    assert_eq!(a, b);
    t.same(&sarah, "the old phone after the reset");
    // A refused reset (not permitted): only the refusal, on both.
    let refuse = mfa_kit::service::permissions::from_sync_fn(|_| false);
    let a = run(t.in_place.mfa.reset(reset_of(&partner, &sarah, "again"), &refuse, &office()));
    let b = run(t.saved.mfa.reset(reset_of(&partner, &sarah, "again"), &refuse, &office()));
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    t.same(&sarah, "a refused reset");
}

// The secret cache holds the old authenticator when it is replaced: the
// in-place path must decline (stale cache), so the old phone is refused and the new one
// accepted, as on the load-and-save path.
#[test]
fn a_replaced_app_is_not_verified_from_a_stale_cache() {
    let t = twins();
    let sarah = user("sarah");
    let old = (t.in_place.enroll(&sarah), t.saved.enroll(&sarah));
    t.set(t.now() + 30);
    assert!(run(t.in_place.mfa.verify_code(&sarah, &old.0.code(), &office())).unwrap().is_ok());
    assert!(run(t.saved.mfa.verify_code(&sarah, &old.1.code(), &office())).unwrap().is_ok());
    // Replace the authenticator (fresh proof just given).
    let s0 = run(t.in_place.mfa.start_enrollment(&sarah, "sarah2", &office())).unwrap().unwrap();
    let s1 = run(t.saved.mfa.start_enrollment(&sarah, "sarah2", &office())).unwrap().unwrap();
    let new = (Phone::scan(&s0.uri, &t.in_place.clock), Phone::scan(&s1.uri, &t.saved.clock));
    let first = (new.0.code(), new.1.code());
    t.set(t.now() + 30);
    let second = (new.0.code(), new.1.code());
    let a = run(t.in_place.mfa.confirm_enrollment(&sarah, &[&first.0, &second.0], &office())).unwrap();
    let b = run(t.saved.mfa.confirm_enrollment(&sarah, &[&first.1, &second.1], &office())).unwrap();
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    t.same(&sarah, "the replacement");
    t.set(t.now() + 30);
    let a = run(t.in_place.mfa.verify_code(&sarah, &old.0.code(), &office())).unwrap();
    let b = run(t.saved.mfa.verify_code(&sarah, &old.1.code(), &office())).unwrap();
    assert!(a.is_err(), "the old phone is refused: {a:?}");
    assert_eq!(a, b);
    t.same(&sarah, "the old phone");
    let a = run(t.in_place.mfa.verify_code(&sarah, &new.0.code(), &office())).unwrap();
    let b = run(t.saved.mfa.verify_code(&sarah, &new.1.code(), &office())).unwrap();
    assert!(a.is_ok(), "the new phone is accepted: {a:?}");
    assert_eq!(a.map(|p| p.at), b.map(|p| p.at));
    t.same(&sarah, "the new phone");
}

/// A clock that counts its reads.
#[derive(Clone)]
struct Counting(ManualClock, Arc<AtomicUsize>);

impl Clock for Counting {
    fn now(&self) -> Result<u64, ClockError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.now()
    }
}

// A change in place reads the clock as often as a load and save (once per
// call here), and its events carry that reading.
#[test]
fn the_clock_is_read_as_often_as_by_a_load_and_save() {
    let direct = Arc::new(MemoryStore::new());
    let through = Arc::new(MemoryStore::new());
    let (ca, cb) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clock = ManualClock::new(START);
    let a = firm_with(direct.clone(), |b| b.clock(Counting(clock.clone(), ca.clone())));
    let b = firm_with(LoadAndSave(through.clone()), |b| b.clock(Counting(clock.clone(), cb.clone())));
    let sarah = user("sarah");
    // The firms' own ManualClocks are not used; drive the shared one.
    let sa = run(a.mfa.start_enrollment(&sarah, "s", &office())).unwrap().unwrap();
    let sb = run(b.mfa.start_enrollment(&sarah, "s", &office())).unwrap().unwrap();
    let (pa, pb) = (Phone::scan(&sa.uri, &clock), Phone::scan(&sb.uri, &clock));
    let f = (pa.code(), pb.code());
    clock.advance(30);
    let s = (pa.code(), pb.code());
    assert!(run(a.mfa.confirm_enrollment(&sarah, &[&f.0, &s.0], &office())).unwrap().is_ok());
    assert!(run(b.mfa.confirm_enrollment(&sarah, &[&f.1, &s.1], &office())).unwrap().is_ok());
    for step in 1..=4u64 {
        clock.advance(30);
        let before = (ca.load(Ordering::SeqCst), cb.load(Ordering::SeqCst));
        let x = run(a.mfa.verify_code(&sarah, &pa.code(), &office())).unwrap();
        let y = run(b.mfa.verify_code(&sarah, &pb.code(), &office())).unwrap();
        assert_eq!(x.map(|p| p.at), y.map(|p| p.at));
        let reads = (ca.load(Ordering::SeqCst) - before.0, cb.load(Ordering::SeqCst) - before.1);
        assert_eq!(reads.0, reads.1, "clock reads of verify {step}");
        let last = direct.events_for(&sarah).last().unwrap().at;
        assert_eq!(last, clock.now().unwrap(), "the event is at the clock's reading");
    }
    assert_eq!(snapshot(&direct, &sarah).0, snapshot(&through, &sarah).0);
}

// Threads verifying the same code (all on the in-place path: cache warm) accept
// it once; threads redeeming the same recovery code redeem it once; stored and sunk
// events agree.
#[test]
fn a_code_and_a_recovery_code_are_accepted_once_under_threads() {
    for round in 0..40 {
        let (shop, store) = shop();
        let sarah = user("sarah");
        let phone = shop.enroll(&sarah);
        assert!(run(shop.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
        shop.clock.advance(30);
        let code = phone.code();
        let outcomes = race(16, |_| run(shop.mfa.verify_code(&sarah, &code, &office())).unwrap());
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "round {round}: {outcomes:?}");
        let codes = run(shop.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
        let one = codes[0].as_str().to_string();
        let outcomes = race(16, |_| run(shop.mfa.redeem_recovery_code(&sarah, &one, &office())).unwrap());
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "round {round}: {outcomes:?}");
        let stored: Vec<String> =
            store.events_for(&sarah).iter().map(|e| serde_json::to_string(e).unwrap()).collect();
        let mut s = stored.clone();
        let mut k = sunk(&shop, &sarah);
        s.sort();
        k.sort();
        assert_eq!(s, k, "round {round}: the sink has exactly the stored events");
        let accepted = |method: &str| {
            stored.iter().filter(|e| e.contains("\"code_accepted\"") && e.contains(method)).count()
        };
        assert_eq!(accepted("\"totp\""), 2, "round {round}: the warm-up code and one racer's");
        assert_eq!(accepted("\"recovery_code\""), 1, "round {round}: one recovery code");
    }
}

// On the `update` path (sign-in decision), a policy that panics after the clock
// rule voided a lockout in the draft leaves the record, version and trail as they were,
// the sink gets nothing, and the store keeps serving.
#[test]
fn a_policy_panicking_in_the_sign_in_decision_leaves_record_and_sink() {
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let policy = Hooked::panicking_in("decide", &armed);
    let store = Arc::new(MemoryStore::new());
    let shop = firm_with(store.clone(), |b| b.policy(policy));
    let sarah = user("sarah");
    let phone = shop.enroll(&sarah);
    for _ in 0..5 {
        let _ = run(shop.mfa.verify_code(&sarah, &phone.wrong_code(), &office())).unwrap();
    }
    let before = snapshot(&store, &sarah);
    let sink_before = sunk(&shop, &sarah);
    let locked_at = shop.clock.now().unwrap();
    shop.clock.set(locked_at - 3_600);
    armed.store(true, Ordering::SeqCst);
    let attempt = std::panic::AssertUnwindSafe(|| run(shop.mfa.sign_in_decision(&sarah, &office())));
    assert!(std::panic::catch_unwind(attempt).is_err());
    armed.store(false, Ordering::SeqCst);
    assert_eq!(snapshot(&store, &sarah), before, "record, version and trail as they were");
    assert_eq!(sunk(&shop, &sarah), sink_before, "nothing sunk");
    shop.clock.set(locked_at + 86_400);
    assert!(run(shop.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
}

// `MemoryStore::change_in_place` keeps events about another user as `save` and
// `append_events` do: in that user's trail (`events_for`), "right after, with a later
// id", whichever of the 16 shards that user's falls in.
#[test]
fn change_in_place_keeps_an_event_about_another_user_in_their_trail() {
    let store = MemoryStore::new();
    let sarah = user("sarah");
    let _ = run(store.save(mfa_kit::record::UserRecord::new(sarah.clone()), None, Vec::new())).unwrap();
    let mut missing = Vec::new();
    for n in 0..64 {
        let other = user(&format!("other{n}"));
        let event =
            AuditEvent::new(&other, &sarah, START, &RequestContext::default(), EventKind::LockoutEnded);
        store.change_in_place(&sarah, |_| ((), InPlace::keep(false, vec![event])));
        if store.events_for(&other).is_empty() {
            missing.push(other.to_string());
        }
    }
    assert!(missing.is_empty(), "events kept in place but not in their user's trail: {missing:?}");
}

/// A host's risk rule that reads the store's trail of the user while deciding (as it
/// may on a store that loads and saves: no lock is held while the policy runs); the
/// count of its reads.
fn reading_the_trail(store: &Arc<MemoryStore>) -> (Hooked, Arc<AtomicU64>) {
    let (store, reads) = (store.clone(), Arc::new(AtomicU64::new(0)));
    let counted = reads.clone();
    let policy = Hooked::new(move |called| {
        if called == "decide" {
            let _ = store.events_for(&UserId::new("sarah")).len();
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    (policy, reads)
}

/// `Policy` ("they must not call the service or the store back") and
/// `MemoryStore::change_in_place` ("the call panics instead, saying so"): a host's risk
/// rule that reads the store's trail while deciding, on the in-place path, is told so
/// at once (not left waiting for ever on the lock the change holds), the record is as
/// it was, and the store serves the next call.
#[test]
fn a_policy_reading_the_store_during_a_change_in_place_is_told_so_not_left_waiting() {
    let store = Arc::new(MemoryStore::new());
    let (policy, _) = reading_the_trail(&store);
    let shop = Arc::new(firm_with(store.clone(), |b| b.policy(policy)));
    let sarah = user("sarah");
    let _phone = shop.enroll(&sarah); // the record exists: the next decision runs in place
    let before = snapshot(&store, &sarah);
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = shop.clone();
    std::thread::spawn(move || {
        let attempt = std::panic::AssertUnwindSafe(|| {
            run(worker.mfa.sign_in_decision(&UserId::new("sarah"), &office()))
        });
        let message = match std::panic::catch_unwind(attempt) {
            Ok(decided) => format!("no panic: {decided:?}"),
            Err(panic) => panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default(),
        };
        let _ = tx.send(message);
    });
    let answer =
        rx.recv_timeout(Duration::from_secs(10)).expect("an answer within 10 s, not a wait for ever");
    assert!(answer.contains("called back while it changes a record in place"), "{answer}");
    assert_eq!(snapshot(&store, &sarah), before, "the record as it was");
    assert!(run(store.load(&sarah)).unwrap().is_some(), "the store serves the next call");
}

// The same policy over a load-and-save store decides without waiting.
#[test]
fn a_policy_reading_the_store_decides_on_a_load_and_save_store() {
    let store = Arc::new(MemoryStore::new());
    let (policy, reads) = reading_the_trail(&store);
    let shop = Arc::new(firm_with(LoadAndSave(store.clone()), |b| b.policy(policy)));
    let sarah = user("sarah");
    let _phone = shop.enroll(&sarah);
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = shop.clone();
    std::thread::spawn(move || {
        let decided = run(worker.mfa.sign_in_decision(&UserId::new("sarah"), &office())).map(|d| d.is_ok());
        let _ = tx.send(decided);
    });
    let answer = rx.recv_timeout(Duration::from_secs(10));
    assert!(matches!(answer, Ok(Ok(true))), "sign-in decision did not finish within 10 s: {answer:?}");
    assert!(reads.load(Ordering::SeqCst) >= 1);
}
