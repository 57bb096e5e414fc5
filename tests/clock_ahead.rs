//! A window written while the server's clock ran ahead never becomes valid: once a
//! reading shows it starts in the future (the clock put right), it is voided and stays
//! void when real time reaches it (the record's rule for time, issue 21).

mod common;

use common::*;
use mfa_kit::event::EventKind;
use mfa_kit::flow::step_up::StepUp;
use mfa_kit::policy::{Decision, StandardPolicy};
use mfa_kit::{Destination, Refusal, Role, SensitiveAction, Voided};

const DAY: u64 = 86_400;

#[test]
fn a_device_remembered_while_the_clock_ran_a_week_ahead_is_refused_then_and_a_week_later() {
    // The ATO preset caps a remembered device at 12 hours.
    let firm = firm_with_policy(StandardPolicy::ato_tax_data());
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let now = START + 60;
    run(async {
        firm.clock.set(now + 7 * DAY);
        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());
        let remembered = firm.mfa.remember_device(&sarah, "Laptop", 3600, &office()).await.unwrap().unwrap();
        let with_device = office().with_device_token(remembered.token.clone());

        // The clock is put right: the device is refused, and the reading voids it.
        firm.clock.set(now + 60);
        let decision = firm.mfa.sign_in_decision(&sarah, &with_device).await.unwrap();
        assert!(matches!(decision, Ok(Decision::Challenge { .. })), "{decision:?}");
        assert!(firm.mfa.record(&sarah).await.unwrap().devices().is_empty(), "deleted");
        assert!(firm.events(&sarah).iter().any(|k| matches!(
            k,
            EventKind::FutureDatedVoided { voided, .. } if voided.contains(&Voided::RememberedDevice)
        )));

        // A week later, when real time passes the time it was remembered at: still refused.
        firm.clock.set(now + 7 * DAY + 60);
        let decision = firm.mfa.sign_in_decision(&sarah, &with_device).await.unwrap();
        assert!(matches!(decision, Ok(Decision::Challenge { .. })), "{decision:?}");
    });
}

#[test]
fn an_sms_code_sent_while_the_clock_ran_two_days_ahead_is_refused_two_days_later() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let outbox = Outbox::default();
    let now = START + 60;
    run(async {
        let sms = Destination::sms("+61412345678").unwrap();
        firm.mfa.add_destination(&sarah, sms, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&sarah, &outbox.last_code(), &office()).await.unwrap().unwrap();

        firm.clock.set(now + 2 * DAY);
        firm.mfa.send_sign_in_code(&sarah, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        let code = outbox.last_code();

        // At the right time the code is refused, and the reading voids it.
        firm.clock.set(now + 120);
        let refused = firm.mfa.verify_sign_in_code(&sarah, &code, &office()).await.unwrap();
        assert_eq!(refused, Err(Refusal::NoCodePending));
        let record = firm.mfa.record(&sarah).await.unwrap();
        assert!(record.destination_state().challenge().is_none());
        assert!(
            record.destination_state().sent_at().iter().all(|at| *at <= now + 120),
            "the send is not counted"
        );

        // Two days later it is still refused.
        firm.clock.set(now + 2 * DAY + 30);
        let refused = firm.mfa.verify_sign_in_code(&sarah, &code, &office()).await.unwrap();
        assert_eq!(refused, Err(Refusal::NoCodePending));
    });
}

#[test]
fn a_proof_made_while_the_clock_ran_a_day_ahead_does_not_make_step_up_proceed_a_day_later() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let now = START + 60;
    run(async {
        firm.clock.set(now + DAY);
        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());

        // The clock is put right: no fresh proof, and the reading voids the proof time.
        firm.clock.set(now + 600);
        let answer = firm.mfa.step_up(&sarah, SensitiveAction::Host, &office()).await.unwrap();
        assert!(matches!(answer, StepUp::Prove { .. }), "{answer:?}");
        let record = firm.mfa.record(&sarah).await.unwrap();
        assert!(record.last_proof().is_none_or(|proof| proof.at <= now + 600), "{:?}", record.last_proof());

        // A day later, with no new proof: step-up still asks for one, and a sensitive
        // call is refused.
        firm.clock.set(now + DAY + 10);
        let answer = firm.mfa.step_up(&sarah, SensitiveAction::Host, &office()).await.unwrap();
        assert!(matches!(answer, StepUp::Prove { .. }), "{answer:?}");
        let refused = firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap();
        assert_eq!(refused.map(|_| ()), Err(Refusal::FreshProofRequired));
    });
}

#[test]
fn an_enrollment_started_while_the_clock_ran_ahead_cannot_be_confirmed_when_real_time_reaches_it() {
    let firm = firm();
    let tom = user("tom");
    let now = START;
    run(async {
        firm.clock.set(now + 2 * 3600);
        let start = firm.mfa.start_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        let phone = Phone::scan(&start.uri, &firm.clock);

        // A reading at the right time voids the enrollment (a check that only reads).
        firm.clock.set(now + 60);
        firm.mfa.sign_in_decision(&tom, &office()).await.unwrap().unwrap();
        assert!(firm.mfa.record(&tom).await.unwrap().pending_enrollment().is_none());

        // When real time reaches the time it was started at, its codes confirm nothing.
        firm.clock.set(now + 2 * 3600 + 30);
        let first = phone.code();
        firm.clock.advance(30);
        let second = phone.code();
        let refused = firm.mfa.confirm_enrollment(&tom, &[&first, &second], &office()).await.unwrap();
        assert_eq!(refused.map(|_| ()), Err(Refusal::NoPendingEnrollment));
    });
}

#[test]
fn a_lockout_started_while_the_clock_ran_ahead_does_not_lock_the_user_when_real_time_reaches_it() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let now = START + 60;
    run(async {
        firm.clock.set(now + DAY);
        for _ in 0..5 {
            firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office()).await.unwrap().unwrap_err();
        }
        assert!(firm.mfa.record(&sarah).await.unwrap().failures().is_locked(now + DAY));

        firm.clock.set(now + 60);
        firm.mfa.sign_in_decision(&sarah, &office()).await.unwrap().unwrap();
        let record = firm.mfa.record(&sarah).await.unwrap();
        assert_eq!(record.failures().locked_until(), None, "voided");
        assert_eq!(record.failures().consecutive(), 5, "the failures still count");

        firm.clock.set(now + DAY + 60);
        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());
    });
}
