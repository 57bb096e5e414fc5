//! Failure and race paths of sending a code: taking back a failed send (`CodeSender`:
//! "An `Err` makes the service take the send back: the code does not become valid and
//! the send is not counted") when another send or a redemption came in between; lost
//! replies and a clock failing during a send; sign-outs at once.

mod common;

use common::*;
use mfa_kit::event::AuditEvent;
use mfa_kit::flow::destination::CodeMessage;
use mfa_kit::notify::CodeSender;
use mfa_kit::record::UserRecord;
use mfa_kit::service::Error;
use mfa_kit::store::{MemoryStore, SaveOutcome, Store, Version, Versioned};
use mfa_kit::{Destination, Role, UserId};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What happens on another app server while the slow provider is busy.
#[derive(Clone, Copy)]
enum Meanwhile {
    /// Another send, a minute later, whose provider fails at once.
    NewerSendFails,
    /// Another send, a minute later, which goes; its code is then used to sign in.
    NewerSendRedeemed,
}

/// A provider that hangs while `meanwhile` happens, then reports failure.
struct SlowWhileMeanwhile<'a> {
    firm: &'a Firm,
    who: mfa_kit::UserId,
    meanwhile: Meanwhile,
    inner: Outbox,
}

impl CodeSender for SlowWhileMeanwhile<'_> {
    type Error = GatewayDown;

    async fn send(&self, _: &Destination, _: &CodeMessage) -> Result<(), GatewayDown> {
        self.firm.clock.advance(60);
        match self.meanwhile {
            Meanwhile::NewerSendFails => {
                self.inner.down.store(true, std::sync::atomic::Ordering::SeqCst);
                let other =
                    self.firm.mfa.send_sign_in_code(&self.who, Role::Backup, &self.inner, &office()).await;
                assert!(matches!(other, Err(Error::Sender(_))), "{other:?}");
            }
            Meanwhile::NewerSendRedeemed => {
                let other =
                    self.firm.mfa.send_sign_in_code(&self.who, Role::Backup, &self.inner, &office()).await;
                assert!(matches!(other, Ok(Ok(_))), "{other:?}");
                let ok =
                    self.firm.mfa.verify_sign_in_code(&self.who, &self.inner.last_code(), &office()).await;
                assert!(matches!(ok, Ok(Ok(_))), "{ok:?}");
            }
        }
        Err(GatewayDown)
    }
}

fn counted_after_overtaken_failure(meanwhile: Meanwhile) -> Vec<u64> {
    let firm = firm();
    let ann = user("ann");
    let _confirmation = with_backup_phone(&firm, &ann);
    let sender = SlowWhileMeanwhile { firm: &firm, who: ann.clone(), meanwhile, inner: Outbox::default() };
    run(async {
        let failed = firm.mfa.send_sign_in_code(&ann, Role::Backup, &sender, &office()).await;
        assert!(matches!(failed, Err(Error::Sender(_))), "{failed:?}");
        firm.mfa.record(&ann).await.unwrap().destination_state().sent_at().to_vec()
    })
}

/// Two sends at once, both providers failing, the newer failing first: neither send
/// happened, so only the destination's confirmation code counts (the older one's
/// release finds no code at all, and still takes its time back).
#[test]
fn two_failed_sends_at_once_the_newer_failing_first_are_both_uncounted() {
    let counted = counted_after_overtaken_failure(Meanwhile::NewerSendFails);
    assert_eq!(counted.len(), 1, "a failed send is still counted: {counted:?}");
}

/// A failed send overtaken by a newer code that was sent and already used to sign in
/// before the slow provider reported failure: the failed send is not counted (two
/// sends count: the confirmation and the newer code).
#[test]
fn a_failed_send_overtaken_by_a_newer_code_already_used_is_not_counted() {
    let counted = counted_after_overtaken_failure(Meanwhile::NewerSendRedeemed);
    assert_eq!(counted.len(), 2, "the failed send is still counted: {counted:?}");
}

/// `add_destination`: "[`Error::Sender`] (the code was taken back)"; `release`: "a
/// destination the reservation added is removed". When a sign-in code for another
/// destination replaced the confirmation code while its provider was busy, the failed
/// addition's destination is removed all the same (and the trail says it was
/// withdrawn): no unconfirmed destination is left that no code could confirm.
#[test]
fn a_failed_addition_overtaken_by_another_send_leaves_no_destination_behind() {
    let firm = firm();
    let ann = user("ann");
    let _confirmation = with_backup_phone(&firm, &ann);
    let sender = SlowThenDown { firm: &firm, who: ann.clone(), inner: Outbox::default() };
    let email = Destination::email("ann@smith.example").unwrap();
    run(async {
        let failed = firm.mfa.add_destination(&ann, email, Role::Primary, &sender, &office()).await;
        assert!(matches!(failed, Err(Error::Sender(_))), "{failed:?}");
        // The other browser's code still works.
        let ok = firm.mfa.verify_sign_in_code(&ann, &sender.inner.last_code(), &office()).await.unwrap();
        assert!(ok.is_ok(), "{ok:?}");
        // Long after: nothing lapses it either.
        firm.clock.advance(3600);
        let _ = firm.mfa.sign_in_decision(&ann, &office()).await.unwrap();
        let record = firm.mfa.record(&ann).await.unwrap();
        let registered: Vec<_> =
            record.destination_state().destinations().iter().map(|d| (d.role(), d.confirmed_at())).collect();
        assert_eq!(registered.len(), 1, "the address whose send failed is still registered: {registered:?}");
    });
}

#[derive(Debug, thiserror::Error)]
#[error("injected lost reply")]
struct LostReply;

/// The memory store whose save number `lose_at` (counted from arming) commits, then
/// reports an error: the reply was lost.
struct LossyStore {
    inner: MemoryStore,
    lose_at: AtomicUsize,
    saves: AtomicUsize,
}

impl LossyStore {
    fn new() -> LossyStore {
        LossyStore {
            inner: MemoryStore::new(),
            lose_at: AtomicUsize::new(usize::MAX),
            saves: AtomicUsize::new(0),
        }
    }

    fn arm(&self, save: usize) {
        self.saves.store(0, Ordering::SeqCst);
        self.lose_at.store(save, Ordering::SeqCst);
    }

    fn disarm(&self) {
        self.lose_at.store(usize::MAX, Ordering::SeqCst);
    }
}

impl Store for LossyStore {
    type Error = LostReply;

    async fn load(&self, user: &UserId) -> Result<Option<Versioned>, LostReply> {
        Ok(self.inner.load(user).await.unwrap_or_else(|never| match never {}))
    }

    async fn save(
        &self,
        record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> Result<SaveOutcome, LostReply> {
        let save = self.saves.fetch_add(1, Ordering::SeqCst);
        let outcome = self.inner.save(record, expected, events).await.unwrap_or_else(|never| match never {});
        if save == self.lose_at.load(Ordering::SeqCst) {
            return Err(LostReply);
        }
        Ok(outcome)
    }

    async fn append_events(&self, events: Vec<AuditEvent>) -> Result<(), LostReply> {
        self.inner.append_events(events).await.unwrap_or_else(|never| match never {});
        Ok(())
    }
}

/// `Error::Store`: "If the reply lost was that of the save confirming the send, the
/// confirmation may have been stored: the message went, and its code works". The reply
/// of the save that confirms the send is lost (the second save of the call): the call
/// returns `Error::Store`, and the code the user received works.
#[test]
fn a_sign_in_code_whose_send_confirmation_reply_is_lost_works_as_sent() {
    let firm = firm_with(LossyStore::new(), |builder| builder);
    let ann = user("ann");
    let _confirmation = with_backup_phone(&firm, &ann);
    let outbox = Outbox::default();
    run(async {
        firm.mfa.store().arm(1);
        let result = firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await;
        firm.mfa.store().disarm();
        assert!(matches!(result, Err(Error::Store(_))), "{result:?}");
        assert_eq!(outbox.count(), 1, "the message went");
        let outcome = firm.mfa.verify_sign_in_code(&ann, &outbox.last_code(), &office()).await.unwrap();
        assert!(outcome.is_ok(), "the confirmation was stored; the code works: {outcome:?}");
    });
}

/// As above, for a destination's confirmation code (`add_destination`): the
/// confirmation was stored, and the code confirms the destination.
#[test]
fn a_confirmation_code_whose_send_confirmation_reply_is_lost_works_as_sent() {
    let firm = firm_with(LossyStore::new(), |builder| builder);
    let ann = user("ann");
    firm.enroll(&ann);
    let outbox = Outbox::default();
    run(async {
        firm.mfa.store().arm(1);
        let result = firm.mfa.add_destination(&ann, phone(), Role::Backup, &outbox, &office()).await;
        firm.mfa.store().disarm();
        assert!(matches!(result, Err(Error::Store(_))), "{result:?}");
        assert_eq!(outbox.count(), 1, "the message went");
        let outcome = firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office()).await.unwrap();
        assert!(outcome.is_ok(), "the confirmation was stored; the code confirms: {outcome:?}");
    });
}

// ---- Races on the rules of sign-outs and lockouts ----

use mfa_kit::SessionEnd;
use mfa_kit::event::EventKind;
use mfa_kit::flow::session::{REMEMBERED_SIGN_OUTS, SessionVerdict};
use mfa_kit::policy::SessionFacts;

/// Eight sessions signed out at once when the record already remembers nearly
/// `REMEMBERED_SIGN_OUTS` older ones: each call says `true`, and each of the eight is
/// refused as signed out afterwards (room is made among the older ones).
#[test]
fn sign_outs_at_once_beyond_the_cap_are_each_remembered() {
    let firm = firm();
    let ann = user("ann");
    firm.enroll(&ann);
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    let old_start = START - 20 * 86_400;
    for tag in 1..REMEMBERED_SIGN_OUTS as u64 {
        let context = office().with_session(SessionFacts::new(generation, old_start).tagged(tag));
        assert!(run(firm.mfa.sign_out(&ann, &context)).unwrap());
    }
    let now = mfa_kit::clock::Clock::now(&firm.clock).unwrap();
    let session = |i: usize| SessionFacts::new(generation, now).tagged(1_000 + i as u64);
    let outcomes = race(8, |i| run(firm.mfa.sign_out(&ann, &office().with_session(session(i)))).unwrap());
    assert!(outcomes.iter().all(|remembered| *remembered), "{outcomes:?}");
    for i in 0..8 {
        let verdict = run(firm.mfa.check_session(&ann, &office().with_session(session(i)))).unwrap();
        assert_eq!(verdict, SessionVerdict::Ended(SessionEnd::SignedOut), "session {i}");
    }
}

/// An admin's reset racing the wrong code that locks the user out: whichever
/// comes first, every lockout started is ended once, and the user is left with no
/// factor and not locked.
#[test]
fn a_reset_racing_the_wrong_code_that_locks_out_ends_each_lockout_once() {
    for round in 0..10 {
        let firm = firm();
        let (sarah, partner) = (user("sarah"), user("partner"));
        let phone = firm.enroll(&sarah);
        let partner_phone = firm.enroll(&partner);
        firm.prove(&partner, &partner_phone);
        for _ in 0..4 {
            let refused = run(firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office())).unwrap();
            assert!(refused.is_err());
        }
        let wrong = phone.wrong_code();
        race(2, |i| {
            if i == 0 {
                let reset =
                    run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &office()));
                assert!(matches!(reset, Ok(Ok(_))), "round {round}: {reset:?}");
            } else {
                let outcome = run(firm.mfa.verify_code(&sarah, &wrong, &office())).unwrap();
                assert!(outcome.is_err(), "round {round}: {outcome:?}");
            }
        });
        let events = firm.events(&sarah);
        let started = events.iter().filter(|k| matches!(k, EventKind::LockoutStarted { .. })).count();
        let ended = events.iter().filter(|k| matches!(k, EventKind::LockoutEnded)).count();
        assert_eq!(started, ended, "round {round}: {events:?}");
        let record = run(firm.mfa.record(&sarah)).unwrap();
        assert!(record.authenticators().is_empty(), "round {round}");
        let now = mfa_kit::clock::Clock::now(&firm.clock).unwrap();
        assert!(!record.failures().is_locked(now), "round {round}");
    }
}

// ---- A clock that fails while the provider sends ----

use mfa_kit::clock::{Clock, ClockError, ManualClock};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// The test's manual clock, failing once `broken` is set.
#[derive(Clone)]
struct FlakyClock {
    inner: ManualClock,
    broken: Arc<AtomicBool>,
}

impl Clock for FlakyClock {
    fn now(&self) -> Result<u64, ClockError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(ClockError("NTP daemon unreachable".into()));
        }
        self.inner.now()
    }
}

/// A provider during whose call the server's clock fails; it then answers `fails`.
struct ClockBreaksDuringSend {
    broken: Arc<AtomicBool>,
    fails: bool,
    inner: Outbox,
}

impl CodeSender for ClockBreaksDuringSend {
    type Error = GatewayDown;

    async fn send(&self, to: &Destination, message: &CodeMessage) -> Result<(), GatewayDown> {
        self.broken.store(true, Ordering::SeqCst);
        if self.fails {
            return Err(GatewayDown);
        }
        self.inner.send(to, message).await
    }
}

/// A clock failing while the provider sends (`fails`: the provider then fails too):
/// the call's error, the record before and after.
fn clock_fails_during_send(
    fails: bool,
) -> (Result<mfa_kit::Outcome<mfa_kit::flow::destination::Sent>, Error>, UserRecord, UserRecord) {
    let broken = Arc::new(AtomicBool::new(false));
    let manual = ManualClock::new(START);
    let flaky = FlakyClock { inner: manual.clone(), broken: broken.clone() };
    let firm = Firm { clock: manual, ..firm_with(MemoryStore::new(), |builder| builder.clock(flaky)) };
    let ann = user("ann");
    let _confirmation = with_backup_phone(&firm, &ann);
    let before = run(firm.mfa.record(&ann)).unwrap();
    let sender = ClockBreaksDuringSend { broken: broken.clone(), fails, inner: Outbox::default() };
    let result = run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &sender, &office()));
    broken.store(false, Ordering::SeqCst);
    let after = run(firm.mfa.record(&ann)).unwrap();
    (result, before, after)
}

/// `Error::Clock`: "nothing was changed, but for a code's reservation saved before the
/// clock failed while it was sent: that code never works". Whether the provider then
/// sent the message or failed, the call is `Error::Clock` and the code does not work.
#[test]
fn a_clock_failing_during_a_send_leaves_a_code_that_never_works() {
    for fails in [false, true] {
        let (result, before, after) = clock_fails_during_send(fails);
        assert!(matches!(result, Err(Error::Clock(_))), "{result:?}");
        let pending = after.destination_state().challenge();
        assert!(
            pending.is_some_and(|c| c.awaiting_send().is_some()),
            "the reservation stays unconfirmed: {pending:?}"
        );
        assert_ne!(after, before, "the reservation was saved before the clock failed");
    }
}

/// `MfaService::sign_out`: "[`Error::Store`]: the sign-out was not remembered (or, the
/// store's reply lost, it may have been); delete the host's session all the same". A
/// host that signs out again after the lost reply gets the session remembered once.
#[test]
fn a_sign_out_whose_reply_is_lost_is_remembered_when_signed_out_again() {
    let firm = firm_with(LossyStore::new(), |builder| builder);
    let ann = user("ann");
    firm.enroll(&ann);
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    let now = mfa_kit::clock::Clock::now(&firm.clock).unwrap();
    let context = office().with_session(SessionFacts::new(generation, now).tagged(7));
    firm.mfa.store().arm(0);
    let result = run(firm.mfa.sign_out(&ann, &context));
    firm.mfa.store().disarm();
    assert!(matches!(result, Err(Error::Store(_))), "{result:?}");
    let again = run(firm.mfa.sign_out(&ann, &context));
    assert!(again.is_ok(), "{again:?}");
    let verdict = run(firm.mfa.check_session(&ann, &context)).unwrap();
    assert_eq!(verdict, SessionVerdict::Ended(SessionEnd::SignedOut));
}
