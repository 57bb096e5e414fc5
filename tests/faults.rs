//! Fail closed: a store, clock or sealer that fails lets nobody in and loses nothing.
//!
//! A store that fails (or reports a conflict) at each of its calls in turn is put under
//! every operation; each time, no outcome lets the user in, the error names the store,
//! and the stored record is exactly what it was.

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use mfa_kit::clock::{Clock, ClockError};
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::otp::Secret;
use mfa_kit::record::UserRecord;
use mfa_kit::seal::{SealError, SealedSecret, SecretSealer};
use mfa_kit::service::Error;
use mfa_kit::store::{MemoryStore, SaveOutcome, Store, Version, Versioned};
use mfa_kit::{Refusal, RequestContext, Role, UserId};

#[derive(Debug, thiserror::Error)]
#[error("injected database outage")]
struct Outage;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// Call number n fails with an error.
    ErrorAt(usize),
    /// Save number n and every later save report a conflict.
    ConflictFrom(usize),
    /// Save number n reports one conflict; later saves work.
    OneConflictAt(usize),
}

/// The memory store with one fault armed; calls are counted from arming.
#[derive(Default)]
struct FaultyStore {
    inner: MemoryStore,
    fault: Mutex<Option<Fault>>,
    calls: AtomicUsize,
    saves: AtomicUsize,
}

impl FaultyStore {
    fn arm(&self, fault: Fault) {
        self.calls.store(0, Ordering::SeqCst);
        self.saves.store(0, Ordering::SeqCst);
        *self.fault.lock().unwrap() = Some(fault);
    }

    fn disarm(&self) -> usize {
        *self.fault.lock().unwrap() = None;
        self.calls.load(Ordering::SeqCst)
    }

    fn error_now(&self) -> bool {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        *self.fault.lock().unwrap() == Some(Fault::ErrorAt(call))
    }
}

impl Store for FaultyStore {
    type Error = Outage;

    async fn load(&self, user: &UserId) -> Result<Option<Versioned>, Outage> {
        if self.error_now() {
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
        if self.error_now() {
            return Err(Outage);
        }
        let save = self.saves.fetch_add(1, Ordering::SeqCst);
        match *self.fault.lock().unwrap() {
            Some(Fault::ConflictFrom(n)) if save >= n => return Ok(SaveOutcome::Conflict),
            Some(Fault::OneConflictAt(n)) if save == n => return Ok(SaveOutcome::Conflict),
            _ => {}
        }
        Ok(self.inner.save(record, expected, events).await.unwrap_or_else(|never| match never {}))
    }

    async fn append_events(&self, events: Vec<AuditEvent>) -> Result<(), Outage> {
        if self.error_now() {
            return Err(Outage);
        }
        self.inner.append_events(events).await.unwrap_or_else(|never| match never {});
        Ok(())
    }
}

/// Sarah (with a phone, recovery codes, a confirmed backup e-mail and a remembered
/// laptop) and an admin,
/// on a store that can be made to fail.
struct Setup {
    firm: Firm<FaultyStore>,
    phone: Phone,
    sarah: UserId,
    admin: UserId,
    recovery: Vec<mfa_kit::flow::recovery::RecoveryCode>,
    outbox: Outbox,
}

fn setup() -> Setup {
    let firm = firm_with(FaultyStore::default(), |builder| builder);
    let (sarah, admin) = (user("sarah"), user("admin"));
    let phone = firm.enroll(&sarah);
    firm.enroll(&admin);
    let outbox = Outbox::default();
    let recovery = run(async {
        let email = mfa_kit::Destination::email("sarah@smith.example").unwrap();
        firm.mfa.add_destination(&sarah, email, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&sarah, &outbox.last_code(), &office()).await.unwrap().unwrap();
        firm.mfa.remember_device(&sarah, "Laptop", 3600, &office()).await.unwrap().unwrap();
        firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().unwrap()
    });
    firm.clock.advance(60);
    Setup { firm, phone, sarah, admin, recovery, outbox }
}

type Operation = fn(&Setup) -> Result<bool, Error>;

/// `true` for an operation that changes MFA when it is done; such an operation is never
/// refused in this setup (a refusal was an `Err` before refusals became outcomes).
fn done<T: std::fmt::Debug>(name: &str, outcome: mfa_kit::Outcome<T>) -> bool {
    match outcome {
        Ok(_) => true,
        Err(refusal) => panic!("{name}: unexpectedly refused: {refusal:?}"),
    }
}

/// Each operation returns whether its outcome would let the user in (or change MFA).
fn operations() -> Vec<(&'static str, Operation)> {
    vec![
        ("verify a valid code", |s| {
            Ok(run(s.firm.mfa.verify_code(&s.sarah, &s.phone.code(), &office()))?.is_ok())
        }),
        ("verify a wrong code", |s| {
            Ok(run(s.firm.mfa.verify_code(&s.sarah, &s.phone.wrong_code(), &office()))?.is_ok())
        }),
        ("resynchronise", |s| {
            let next = s.phone.totp.generate(s.firm.clock.now().unwrap() + 30).unwrap().to_string();
            Ok(run(s.firm.mfa.resynchronise(&s.sarah, &s.phone.code(), &next, &office()))?.is_ok())
        }),
        ("deactivate", |s| {
            Ok(run(s.firm.mfa.deactivate(&s.sarah, &s.phone.code(), true, &office()))? == Ok(()))
        }),
        ("start an enrollment", |s| {
            run(s.firm.mfa.start_enrollment(&s.sarah, "sarah", &office()))
                .map(|started| done("start an enrollment", started))
        }),
        ("reset by an admin", |s| {
            run(s.firm.mfa.reset(
                reset_of(&s.admin, &s.sarah, "lost phone"),
                &permitted(),
                &mfa_kit::policy::SignInContext::default(),
            ))
            .map(|cleared| done("reset by an admin", cleared))
        }),
        ("sign-in decision", |s| {
            Ok(matches!(
                run(s.firm.mfa.sign_in_decision(&s.sarah, &office()))?,
                Ok(mfa_kit::policy::Decision::Allow { .. })
            ))
        }),
        ("redeem a recovery code", |s| {
            Ok(run(s.firm.mfa.redeem_recovery_code(&s.sarah, s.recovery[0].as_str(), &office()))?.is_ok())
        }),
        ("send a sign-in code", |s| {
            run(s.firm.mfa.send_sign_in_code(&s.sarah, Role::Backup, &s.outbox, &office()))
                .map(|sent| sent.is_ok())
        }),
        ("remember a device", |s| {
            run(s.firm.mfa.remember_device(&s.sarah, "Laptop", 3600, &office()))
                .map(|remembered| done("remember a device", remembered))
        }),
        ("password changed", |s| {
            run(s.firm.mfa.password_changed(&s.sarah, &RequestContext::default())).map(|_| true)
        }),
    ]
}

fn stored(firm: &Firm<FaultyStore>, who: &UserId) -> Option<Versioned> {
    run(firm.mfa.store().inner.load(who)).unwrap_or_else(|never| match never {})
}

/// The audit trail the store keeps (the pushed log is a feed of it).
fn trail(firm: &Firm<FaultyStore>) -> Vec<AuditEvent> {
    firm.mfa.store().inner.events()
}

/// The kinds of the trail's events from `from` on.
fn kinds_since(trail: &[AuditEvent], from: usize) -> Vec<EventKind> {
    trail[from..].iter().map(|e| e.kind.clone()).collect()
}

/// The serialised names of event kinds (`code_accepted`, ...).
fn names(kinds: &[EventKind]) -> Vec<String> {
    kinds.iter().map(|k| serde_json::to_value(k).unwrap()["kind"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_store_failing_at_any_call_lets_nobody_in_names_the_store_and_changes_nothing() {
    for (name, operation) in operations() {
        // Count the store calls the operation makes when nothing fails.
        let s = setup();
        s.firm.mfa.store().arm(Fault::ErrorAt(usize::MAX));
        operation(&s).unwrap();
        let calls = s.firm.mfa.store().disarm();
        assert!(calls >= 1, "{name}");

        for failing in 0..calls {
            let s = setup();
            let before = stored(&s.firm, &s.sarah);
            let events_before = s.firm.audit.events().len();
            let trail_before = trail(&s.firm).len();
            let sent_before = s.outbox.count();
            s.firm.mfa.store().arm(Fault::ErrorAt(failing));
            let result = operation(&s);
            s.firm.mfa.store().disarm();
            match result {
                Err(error @ Error::Store(_)) => {
                    let message = error.to_string();
                    assert!(
                        message.contains("store") && message.contains("nobody was let in"),
                        "{name}: {message}"
                    );
                    assert!(message.contains("injected database outage"), "{name}: {message}");
                }
                other => panic!("{name}, call {failing} failing: expected a store error, got {other:?}"),
            }
            if after_the_reservation(&s) {
                // The send was reserved and made, but the store failed as the send was
                // confirmed: the one change left behind is a reservation that never
                // works and lapses.
                assert_eq!(name, "send a sign-in code");
                assert_reservation_is_dead_and_lapses(&s, before.as_ref().unwrap(), trail_before, name);
                continue;
            }
            assert_eq!(stored(&s.firm, &s.sarah), before, "{name}, call {failing}: the record changed");
            assert_eq!(s.firm.audit.events().len(), events_before, "{name}: an unsaved change was audited");
            assert_eq!(trail(&s.firm).len(), trail_before, "{name}, call {failing}: an event was stored");
            // A code is reserved in the store before it is sent: a failing store sends none.
            assert_eq!(s.outbox.count(), sent_before, "{name}, call {failing}: a code was sent");
        }
    }
}

#[test]
fn a_store_that_always_conflicts_gives_up_without_letting_anyone_in() {
    for (name, operation) in operations() {
        let s = setup();
        let before = stored(&s.firm, &s.sarah);
        let events_before = s.firm.audit.events().len();
        let trail_before = trail(&s.firm).len();
        let sent_before = s.outbox.count();
        s.firm.mfa.store().arm(Fault::ConflictFrom(0));
        let result = operation(&s);
        s.firm.mfa.store().disarm();
        match result {
            Err(Error::Contention { attempts: 64 }) => {}
            // The decision only reads, so it never conflicts; it still asks for a code.
            Ok(false) if name == "sign-in decision" => {}
            other => panic!("{name}: expected contention, got {other:?}"),
        }
        assert_eq!(stored(&s.firm, &s.sarah), before, "{name}");
        assert_eq!(s.firm.audit.events().len(), events_before, "{name}: an unsaved change was audited");
        assert_eq!(trail(&s.firm).len(), trail_before, "{name}: an event of an unsaved change was stored");
        // Nothing was ever reserved, so nothing was sent.
        assert_eq!(s.outbox.count(), sent_before, "{name}: retries never send");
    }
}

#[test]
fn a_conflict_at_any_save_is_retried_and_the_change_happens_exactly_once() {
    for (name, operation) in operations() {
        // What the operation does when nothing goes wrong.
        let s = setup();
        let events_before = s.firm.audit.events().len();
        let trail_before = trail(&s.firm).len();
        let clean = operation(&s).unwrap();
        let clean_events = s.firm.audit.events().len() - events_before;
        let clean_trail = kinds_since(&trail(&s.firm), trail_before);
        assert_eq!(clean_trail.len(), clean_events, "{name}: every stored event is pushed");
        let clean_record = stored(&s.firm, &s.sarah).map(|v| v.record);

        for conflicting in 0..3 {
            let s = setup();
            let events_before = s.firm.audit.events().len();
            let trail_before = trail(&s.firm).len();
            let sent_before = s.outbox.count();
            s.firm.mfa.store().arm(Fault::OneConflictAt(conflicting));
            let result = operation(&s);
            s.firm.mfa.store().disarm();
            assert_eq!(result.unwrap(), clean, "{name}, save {conflicting} conflicting");
            assert_eq!(s.firm.audit.events().len() - events_before, clean_events, "{name}: audited once");
            let stored_kinds = kinds_since(&trail(&s.firm), trail_before);
            assert_eq!(names(&stored_kinds), names(&clean_trail), "{name}, save {conflicting}: stored once");
            assert!(s.outbox.count() <= sent_before + 1, "{name}: a code is sent at most once");
            let record = stored(&s.firm, &s.sarah).map(|v| v.record);
            // Fresh secrets differ between runs; everything the operation counts is equal.
            let shape = |r: &Option<mfa_kit::record::UserRecord>| {
                r.as_ref()
                    .map(|r| (r.methods(), r.failures().consecutive(), r.pending_enrollment().is_some()))
            };
            assert_eq!(shape(&record), shape(&clean_record), "{name}, save {conflicting}");
        }
    }
}

#[test]
fn one_conflict_on_a_wrong_code_counts_the_failure_exactly_once() {
    let Setup { firm, phone, sarah, .. } = setup();
    firm.mfa.store().arm(Fault::OneConflictAt(0));
    let wrong = run(firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office())).unwrap();
    firm.mfa.store().disarm();
    assert_eq!(wrong, Err(Refusal::WrongCode { attempts_left: 4 }));
    let record = stored(&firm, &sarah).unwrap().record;
    assert_eq!(record.failures().consecutive(), 1);
    let rejected = firm.events(&sarah).iter().filter(|k| matches!(k, EventKind::CodeRejected { .. })).count();
    assert_eq!(rejected, 1);
    let stored_rejections = firm
        .mfa
        .store()
        .inner
        .events_for(&sarah)
        .iter()
        .filter(|e| matches!(e.kind, EventKind::CodeRejected { .. }))
        .count();
    assert_eq!(stored_rejections, 1);
}

struct BrokenClock;

impl Clock for BrokenClock {
    fn now(&self) -> Result<u64, ClockError> {
        Err(ClockError("NTP daemon unreachable".into()))
    }
}

#[test]
fn a_failing_clock_lets_nobody_in() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let broken = firm_with(MemoryStore::new(), |builder| builder.clock(BrokenClock));
    // Same store contents: move sarah's record over.
    let record = run(firm.mfa.record(&sarah)).unwrap();
    let _ = run(broken.mfa.store().save(record.clone(), None, vec![])).unwrap();
    let result = run(broken.mfa.verify_code(&sarah, &phone.code(), &office()));
    assert!(matches!(&result, Err(Error::Clock(_))), "{result:?}");
    assert!(result.unwrap_err().to_string().contains("NTP daemon unreachable"));
    assert!(run(broken.mfa.sign_in_decision(&sarah, &office())).is_err());
    assert_eq!(run(broken.mfa.record(&sarah)).unwrap(), record);
}

/// A sealer whose key service is down.
struct KmsDown;

impl SecretSealer for KmsDown {
    async fn seal(&self, _: &UserId, _: &Secret) -> Result<SealedSecret, SealError> {
        Err(SealError::Unavailable("KMS timeout".into()))
    }
    async fn open(&self, _: &UserId, _: &SealedSecret) -> Result<Secret, SealError> {
        Err(SealError::Unavailable("KMS timeout".into()))
    }
}

#[test]
fn a_failing_sealer_lets_nobody_in_and_keeps_the_credential() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let record = run(firm.mfa.record(&sarah)).unwrap();
    let store = MemoryStore::new();
    let _ = run(store.save(record.clone(), None, vec![])).unwrap();
    let down =
        mfa_kit::service::MfaService::builder("Smith", store, KmsDown).clock(firm.clock.clone()).build();
    let result = run(down.verify_code(&sarah, &phone.code(), &office()));
    assert!(matches!(result, Err(Error::Sealer(SealError::Unavailable(_)))), "{result:?}");
    assert!(matches!(run(down.start_enrollment(&sarah, "sarah", &office())), Err(Error::Sealer(_))));
    assert_eq!(run(down.record(&sarah)).unwrap(), record);

    // A sealed secret copied into another user's record does not open.
    let mut stolen = record.clone();
    let json = serde_json::to_string(&stolen).unwrap().replace("\"sarah\"", "\"mallory\"");
    stolen = serde_json::from_str(&json).unwrap();
    let other = MemoryStore::new();
    let _ = run(other.save(stolen.clone(), None, vec![])).unwrap();
    let service = mfa_kit::service::MfaService::builder("Smith", other, PlaintextSealer)
        .clock(firm.clock.clone())
        .build();
    let result = run(service.verify_code(&user("mallory"), &phone.code(), &office()));
    assert!(matches!(result, Err(Error::Sealer(SealError::Tampered))), "{result:?}");
}

/// Whether Sarah's record holds a reservation whose send was never confirmed.
fn after_the_reservation(s: &Setup) -> bool {
    let record = stored(&s.firm, &s.sarah).unwrap().record;
    record.destination_state().challenge().is_some_and(|c| c.awaiting_send().is_some())
}

/// A reservation left unconfirmed: its code (if the sender got it) does not work, the
/// trail says only that it was reserved, and once `SEND_DEADLINE` has passed the next
/// change of the record lets it lapse: the send no longer counts, a destination it
/// added is removed, and the trail says so.
fn assert_reservation_is_dead_and_lapses(s: &Setup, before: &Versioned, trail_before: usize, name: &str) {
    let reserved = kinds_since(&trail(&s.firm), trail_before);
    assert_eq!(names(&reserved), ["backup_code_reserved"], "{name}: the trail says reserved, not sent");
    if s.outbox.count() > 0 {
        let code = s.outbox.last_code();
        let refused = run(s.firm.mfa.verify_sign_in_code(&s.sarah, &code, &office())).unwrap();
        assert_eq!(refused, Err(Refusal::NoCodePending), "{name}: an unconfirmed code does not work");
    }
    let trail_reserved = trail(&s.firm).len();
    s.firm.clock.advance(mfa_kit::flow::destination::SEND_DEADLINE);
    let refused = run(s.firm.mfa.verify_sign_in_code(&s.sarah, "000000", &office())).unwrap();
    assert_eq!(refused, Err(Refusal::NoCodePending));
    let record = stored(&s.firm, &s.sarah).unwrap().record;
    let oob = record.destination_state();
    assert!(oob.challenge().is_none(), "{name}: lapsed");
    assert_eq!(
        oob.sent_at(),
        before.record.destination_state().sent_at(),
        "{name}: the send no longer counts"
    );
    assert_eq!(
        oob.destinations(),
        before.record.destination_state().destinations(),
        "{name}: no destination left"
    );
    let lapsed = names(&kinds_since(&trail(&s.firm), trail_reserved));
    assert_eq!(lapsed[0], "backup_code_lapsed", "{name}: {lapsed:?}");
}

#[test]
fn a_code_whose_send_confirmation_is_not_saved_never_works_and_lapses_uncounted() {
    let s = setup();
    let before = stored(&s.firm, &s.sarah).unwrap();
    let trail_before = trail(&s.firm).len();
    // Calls: load, save (the reservation), load, save (its confirmation).
    s.firm.mfa.store().arm(Fault::ErrorAt(3));
    let result = run(s.firm.mfa.send_sign_in_code(&s.sarah, Role::Backup, &s.outbox, &office()));
    s.firm.mfa.store().disarm();
    assert!(matches!(result, Err(Error::Store(_))), "{result:?}");
    assert!(after_the_reservation(&s));
    assert_reservation_is_dead_and_lapses(&s, &before, trail_before, "send, confirmation lost");
    // The user asks again and the new code works.
    run(s.firm.mfa.send_sign_in_code(&s.sarah, Role::Backup, &s.outbox, &office())).unwrap().unwrap();
    let accepted = run(s.firm.mfa.verify_sign_in_code(&s.sarah, &s.outbox.last_code(), &office())).unwrap();
    assert!(accepted.is_ok(), "{accepted:?}");
}

#[test]
fn the_trail_says_a_code_was_reserved_then_sent_or_not_sent() {
    let s = setup();
    let from = trail(&s.firm).len();
    run(s.firm.mfa.send_sign_in_code(&s.sarah, Role::Backup, &s.outbox, &office())).unwrap().unwrap();
    assert_eq!(names(&kinds_since(&trail(&s.firm), from)), ["backup_code_reserved", "backup_code_sent"]);
    let record = stored(&s.firm, &s.sarah).unwrap().record;
    assert_eq!(record.destination_state().challenge().unwrap().awaiting_send(), None, "confirmed");

    s.firm.clock.advance(60);
    s.outbox.down.store(true, Ordering::SeqCst);
    let from = trail(&s.firm).len();
    let result = run(s.firm.mfa.send_sign_in_code(&s.sarah, Role::Backup, &s.outbox, &office()));
    assert!(matches!(result, Err(Error::Sender(_))), "{result:?}");
    assert_eq!(names(&kinds_since(&trail(&s.firm), from)), ["backup_code_reserved", "backup_code_not_sent"]);
}

/// Sends that fail at the sender, each with the store failing at one call of the
/// send-release path (load, save the reservation, load, save the release) or not at all.
#[test]
fn a_store_failing_at_each_step_of_a_failed_send_and_its_release_leaves_nothing_live() {
    type Send = fn(&Setup) -> Result<mfa_kit::Outcome<mfa_kit::flow::destination::Sent>, Error>;
    let sends: [(&str, Send); 2] = [
        ("send a sign-in code", |s| {
            run(s.firm.mfa.send_sign_in_code(&s.sarah, Role::Backup, &s.outbox, &office()))
        }),
        ("add a destination", |s| {
            let sms = mfa_kit::Destination::sms("+61412345678").unwrap();
            run(s.firm.mfa.add_destination(&s.sarah, sms, Role::Primary, &s.outbox, &office()))
        }),
    ];
    for (name, send) in sends {
        for failing in 0..5 {
            let s = setup();
            s.firm.clock.advance(300); // a fresh proof is needed to add a destination
            s.firm.prove(&s.sarah, &s.phone);
            let before = stored(&s.firm, &s.sarah).unwrap();
            let trail_before = trail(&s.firm).len();
            s.outbox.down.store(true, Ordering::SeqCst);
            s.firm.mfa.store().arm(Fault::ErrorAt(failing));
            let result = send(&s);
            let calls = s.firm.mfa.store().disarm();
            s.outbox.down.store(false, Ordering::SeqCst);
            match (failing, &result) {
                (0..4, Err(Error::Store(_))) => {}
                (4, Err(Error::Sender(_))) => {
                    assert_eq!(calls, 4, "{name}: load, reserve, load, release");
                }
                _ => panic!("{name}, call {failing} failing: {result:?}"),
            }
            let after = stored(&s.firm, &s.sarah).unwrap();
            match failing {
                // The reservation was never saved: nothing changed, nothing was sent.
                0 | 1 => {
                    assert_eq!(after, before, "{name}, call {failing}");
                    assert_eq!(trail(&s.firm).len(), trail_before, "{name}, call {failing}");
                }
                // Saved, and not taken back: dead, and it lapses.
                2 | 3 => {
                    assert!(after_the_reservation(&s), "{name}, call {failing}");
                    let kinds = names(&kinds_since(&trail(&s.firm), trail_before));
                    assert!(kinds.contains(&"backup_code_reserved".to_string()), "{name}: {kinds:?}");
                    assert!(!kinds.contains(&"backup_code_sent".to_string()), "{name}: {kinds:?}");
                    let trail_reserved = trail(&s.firm).len();
                    s.firm.clock.advance(mfa_kit::flow::destination::SEND_DEADLINE);
                    let refused = run(s.firm.mfa.verify_sign_in_code(&s.sarah, "000000", &office())).unwrap();
                    assert_eq!(refused, Err(Refusal::NoCodePending));
                    let record = stored(&s.firm, &s.sarah).unwrap().record;
                    let (oob, was) = (record.destination_state(), before.record.destination_state());
                    assert!(oob.challenge().is_none(), "{name}, call {failing}: lapsed");
                    assert_eq!(oob.sent_at(), was.sent_at(), "{name}, call {failing}: not counted");
                    assert_eq!(oob.destinations(), was.destinations(), "{name}, call {failing}");
                    let lapsed = names(&kinds_since(&trail(&s.firm), trail_reserved));
                    assert_eq!(lapsed[0], "backup_code_lapsed", "{name}: {lapsed:?}");
                }
                // Taken back at once.
                _ => {
                    let (oob, was) = (after.record.destination_state(), before.record.destination_state());
                    assert!(oob.challenge().is_none(), "{name}");
                    assert_eq!(oob.sent_at(), was.sent_at(), "{name}");
                    assert_eq!(oob.destinations(), was.destinations(), "{name}");
                    let kinds = names(&kinds_since(&trail(&s.firm), trail_before));
                    assert!(kinds.contains(&"backup_code_not_sent".to_string()), "{name}: {kinds:?}");
                }
            }
            assert_eq!(s.outbox.count(), 1, "{name}: only setup's code was ever sent");
        }
    }
}
