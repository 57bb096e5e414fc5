//! Destinations and the one-time codes sent to them (R17, R18, R30), as the rustdoc
//! describes them: rate limits, failed and late sends, lockouts, numbers.

mod common;

use common::*;
use mfa_kit::flow::destination::{CodeMessage, SEND_DEADLINE};
use mfa_kit::notify::CodeSender;
use mfa_kit::policy::{OrgSettings, StandardPolicy};
use mfa_kit::service::Error;
use mfa_kit::{Destination, DestinationError, LockoutRule, Refusal, Role};

/// `Refusal::RateLimited::retry_at` is documented as "When a new code may be sent".
/// With the fifth send of the hour just made, the refusal names the end of the
/// one-a-minute interval; asking again then is refused once more, until an hour after
/// the first send.
#[test]
fn rate_limited_retry_at_is_when_a_new_code_may_be_sent() {
    let firm = firm();
    let ann = user("ann");
    let outbox = with_backup_phone(&firm, &ann);
    run(async {
        // Sends two to five of the hour (the confirmation code was the first).
        for i in 0..4 {
            if i > 0 {
                firm.clock.advance(60);
            }
            let sent = firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap();
            assert!(sent.is_ok(), "{sent:?}");
        }
        // Ten seconds after the fifth send of the hour.
        firm.clock.advance(10);
        let refused = firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap();
        let Err(Refusal::RateLimited { retry_at }) = refused else { panic!("{refused:?}") };
        // Ask again at the time the refusal named.
        let now = mfa_kit::clock::Clock::now(&firm.clock).unwrap();
        firm.clock.advance(retry_at.saturating_sub(now));
        let again = firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap();
        assert!(
            again.is_ok(),
            "the refusal said a code may be sent at {retry_at}, but at that time: {again:?}"
        );
    });
}

/// `CodeSender`'s contract: "An `Err` makes the service take the send back: the code
/// does not become valid and the send is not counted." When a newer code was reserved
/// while the failing send was under way, the failed send does not count towards the
/// hourly limit either.
#[test]
fn a_failed_send_overtaken_by_a_newer_code_is_not_counted() {
    let firm = firm();
    let ann = user("ann");
    let _confirmation = with_backup_phone(&firm, &ann);
    let sender = SlowThenDown { firm: &firm, who: ann.clone(), inner: Outbox::default() };
    run(async {
        let failed = firm.mfa.send_sign_in_code(&ann, Role::Backup, &sender, &office()).await;
        assert!(matches!(failed, Err(Error::Sender(_))), "{failed:?}");
        assert_eq!(sender.inner.count(), 1, "the newer code went");
        // The newer code works.
        let ok = firm.mfa.verify_sign_in_code(&ann, &sender.inner.last_code(), &office()).await.unwrap();
        assert!(ok.is_ok(), "{ok:?}");
        // Sends that count: the confirmation code and the newer code; not the failed one.
        let record = firm.mfa.record(&ann).await.unwrap();
        assert_eq!(
            record.destination_state().sent_at().len(),
            2,
            "the failed send is still counted: {:?}",
            record.destination_state().sent_at()
        );
    });
}

/// A provider that answers only after `SEND_DEADLINE` has passed.
struct Late<'a> {
    firm: &'a Firm,
    inner: Outbox,
}

impl CodeSender for Late<'_> {
    type Error = GatewayDown;

    async fn send(&self, to: &Destination, message: &CodeMessage) -> Result<(), GatewayDown> {
        self.firm.clock.advance(SEND_DEADLINE + 1);
        self.inner.send(to, message).await
    }
}

/// `flow::destination`: a reservation lapses at the next transition with a clock
/// reading after `SEND_DEADLINE`; the sender's own late answer is not one. A
/// confirmation that arrives after the deadline with nothing in between makes the code
/// work: the message did go.
#[test]
fn a_send_confirmed_late_with_nothing_in_between_makes_the_code_work() {
    let firm = firm();
    let ann = user("ann");
    let _confirmation = with_backup_phone(&firm, &ann);
    let sender = Late { firm: &firm, inner: Outbox::default() };
    run(async {
        let sent = firm.mfa.send_sign_in_code(&ann, Role::Backup, &sender, &office()).await.unwrap();
        assert!(sent.is_ok(), "{sent:?}");
        let outcome = firm.mfa.verify_sign_in_code(&ann, &sender.inner.last_code(), &office()).await.unwrap();
        assert!(outcome.is_ok(), "the message went, and nothing lapsed the reservation: {outcome:?}");
    });
}

/// As [`Late`], but while the provider hangs another request of the user reaches the
/// service (a wrong code typed in another tab), which lets the reservation lapse.
struct LateWithTraffic<'a> {
    firm: &'a Firm,
    who: mfa_kit::UserId,
    inner: Outbox,
}

impl CodeSender for LateWithTraffic<'_> {
    type Error = GatewayDown;

    async fn send(&self, to: &Destination, message: &CodeMessage) -> Result<(), GatewayDown> {
        self.firm.clock.advance(SEND_DEADLINE + 1);
        let other = self.firm.mfa.verify_sign_in_code(&self.who, "000000", &office()).await;
        assert_eq!(other.unwrap().map(|_| ()), Err(Refusal::NoCodePending));
        self.inner.send(to, message).await
    }
}

/// The contrast to the test above: with a request in between, the reservation lapsed
/// and the late provider's answer does not bring it back.
#[test]
fn a_send_confirmed_after_the_deadline_and_after_other_traffic_stays_lapsed() {
    let firm = firm();
    let ann = user("ann");
    let _confirmation = with_backup_phone(&firm, &ann);
    let sender = LateWithTraffic { firm: &firm, who: ann.clone(), inner: Outbox::default() };
    run(async {
        let sent = firm.mfa.send_sign_in_code(&ann, Role::Backup, &sender, &office()).await.unwrap();
        assert!(sent.is_ok(), "{sent:?}");
        let outcome = firm.mfa.verify_sign_in_code(&ann, &sender.inner.last_code(), &office()).await.unwrap();
        assert_eq!(outcome.map(|_| ()), Err(Refusal::NoCodePending));
        assert!(
            firm.events(&ann).contains(&mfa_kit::event::EventKind::BackupCodeLapsed { role: Role::Backup })
        );
    });
}

/// `LockoutRule`: "after each `max_failures` wrong codes the user is locked out".
/// Confirming a destination is a proof: the counts of wrong codes and of lockouts start
/// again together, so the next lockout comes after `max_failures` wrong codes, not
/// twice as many.
#[test]
fn confirming_a_destination_after_a_lockout_gives_no_extra_wrong_codes() {
    let firm = firm_with_policy(
        StandardPolicy::new()
            .with_defaults(OrgSettings::builder().lockout(LockoutRule::new(5, 60)).build().unwrap()),
    );
    let ann = user("ann");
    let app = firm.enroll(&ann);
    firm.prove(&ann, &app);
    let wrong = app.wrong_code();
    run(async {
        for i in 1..=5 {
            let outcome = firm.mfa.verify_code(&ann, &wrong, &office()).await.unwrap();
            if i < 5 {
                assert!(matches!(outcome, Err(Refusal::WrongCode { .. })), "{outcome:?}");
            } else {
                assert!(matches!(outcome, Err(Refusal::LockedOut { .. })), "{outcome:?}");
            }
        }
        firm.clock.advance(61);
        // Within the step-up window of the proof above, a backup phone is added.
        let outbox = Outbox::default();
        firm.mfa.add_destination(&ann, phone(), Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office()).await.unwrap().unwrap();
        let mut refusals = Vec::new();
        for _ in 0..5 {
            refusals.push(firm.mfa.verify_code(&ann, &wrong, &office()).await.unwrap().unwrap_err());
        }
        assert!(
            matches!(refusals.last(), Some(Refusal::LockedOut { .. })),
            "five wrong codes after the confirmation did not lock: {refusals:?}"
        );
    });
}

/// `Destination::sms`: "A number without `+` and its country code is refused".
/// `+0412 345 678` (a national number with a `+` put in front) has no country code (none
/// begins with 0).
#[test]
fn a_plus_before_a_national_number_is_not_a_country_code() {
    let parsed = Destination::sms("+0412 345 678");
    assert!(
        matches!(parsed, Err(DestinationError::NeedsCountryCode | DestinationError::InvalidPhone)),
        "{parsed:?}"
    );
}

/// A sign-in code sent to the backup phone stops working once that phone
/// is removed, and once it is replaced by a new one (even though the new one's
/// confirmation code could not be sent).
#[test]
fn a_code_of_a_removed_or_replaced_destination_is_refused() {
    let firm = firm();
    let ann = user("ann");
    let outbox = with_backup_phone(&firm, &ann);
    run(async {
        firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        let code = outbox.last_code();
        assert_eq!(firm.mfa.remove_destination(&ann, Role::Backup, &office()).await.unwrap(), Ok(true));
        let refused = firm.mfa.verify_sign_in_code(&ann, &code, &office()).await.unwrap();
        assert_eq!(refused.map(|_| ()), Err(Refusal::NoCodePending));

        // Again with a backup phone, then replaced.
        firm.clock.advance(60);
        firm.mfa.add_destination(&ann, phone(), Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office()).await.unwrap().unwrap();
        firm.clock.advance(60);
        firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        let code = outbox.last_code();
        firm.clock.advance(60);
        outbox.down.store(true, std::sync::atomic::Ordering::SeqCst);
        let other = Destination::sms("+61 498 765 432").unwrap();
        let failed = firm.mfa.add_destination(&ann, other, Role::Backup, &outbox, &office()).await;
        assert!(matches!(failed, Err(Error::Sender(_))), "{failed:?}");
        let refused = firm.mfa.verify_sign_in_code(&ann, &code, &office()).await.unwrap();
        assert_eq!(refused.map(|_| ()), Err(Refusal::NoCodePending));
        assert_eq!(firm.mfa.record(&ann).await.unwrap().failures().consecutive(), 0);
    });
}

/// Codes sent to an e-mail address while the organisation allowed them
/// (a confirmation code and a sign-in code) are refused once it works under the NIST
/// preset, at every step, and the refusal costs no attempt.
#[test]
fn codes_sent_by_email_before_the_nist_preset_are_refused_under_it() {
    use mfa_kit::policy::Preset;
    let nist = office().with_org(std::sync::Arc::new(Preset::NistAal2.tighten(&OrgSettings::default())));
    let firm = firm();
    let ann = user("ann");
    firm.enroll(&ann);
    let outbox = Outbox::default();
    let email = Destination::email("ann@smith.example").unwrap();
    run(async {
        let refused =
            firm.mfa.add_destination(&ann, email.clone(), Role::Backup, &outbox, &nist).await.unwrap();
        assert_eq!(refused.map(|_| ()), Err(Refusal::MethodNotAllowed));
        firm.mfa.add_destination(&ann, email, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        let refused = firm.mfa.confirm_destination(&ann, &outbox.last_code(), &nist).await.unwrap();
        assert_eq!(refused.map(|_| ()), Err(Refusal::MethodNotAllowed));
        firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office()).await.unwrap().unwrap();
        firm.clock.advance(60);
        let refused = firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &nist).await.unwrap();
        assert_eq!(refused.map(|_| ()), Err(Refusal::MethodNotAllowed));
        firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        let refused = firm.mfa.verify_sign_in_code(&ann, &outbox.last_code(), &nist).await.unwrap();
        assert_eq!(refused.map(|_| ()), Err(Refusal::MethodNotAllowed));
        assert_eq!(firm.mfa.record(&ann).await.unwrap().failures().consecutive(), 0);
        assert_eq!(
            firm.mfa.record(&ann).await.unwrap().destination_state().challenge().map(|c| c.attempts()),
            Some(0)
        );
    });
}
