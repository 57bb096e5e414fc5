//! Failure limits, tried as an attacker would: lockouts that grow, the hard limit,
//! input that is not a code, and a double submit (requirements R12, R14).

mod common;

use common::*;
use mfa_kit::LockoutRule;
use mfa_kit::event::EventKind;
use mfa_kit::policy::{Decision, OrgSettings, StandardPolicy};
use mfa_kit::{Destination, Reason, Refusal, Role};

fn wrong_codes(firm: &Firm, who: &mfa_kit::UserId, phone: &Phone, count: usize) -> Vec<Refusal> {
    (0..count)
        .map(|_| run(firm.mfa.verify_code(who, &phone.wrong_code(), &office())).unwrap().unwrap_err())
        .collect()
}

#[test]
fn a_lockouts_end_gives_no_fresh_allowance_and_each_lockout_lasts_twice_as_long() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let first = wrong_codes(&firm, &sarah, &phone, 5);
    let start = START + 60;
    assert_eq!(first[4], Refusal::LockedOut { until: start + 900 });
    firm.clock.set(start + 900);
    // Five more guesses are allowed, then the lock is twice as long.
    let second = wrong_codes(&firm, &sarah, &phone, 5);
    assert_eq!(second[..4], [4, 3, 2, 1].map(|attempts_left| Refusal::WrongCode { attempts_left }));
    assert_eq!(second[4], Refusal::LockedOut { until: start + 900 + 1800 });
    let record = run(firm.mfa.record(&sarah)).unwrap();
    assert_eq!((record.failures().consecutive(), record.failures().lockouts()), (10, 2));
    // A success clears the history.
    firm.clock.set(start + 2700);
    assert!(run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
    let record = run(firm.mfa.record(&sarah)).unwrap();
    assert_eq!((record.failures().consecutive(), record.failures().lockouts()), (0, 0));
}

#[test]
fn the_hard_limit_disables_the_second_factor_until_an_admin_resets_it() {
    let rule = LockoutRule::new(5, 60).with_hard_limit(15);
    let firm = firm_with_policy(
        StandardPolicy::new().with_defaults(OrgSettings::builder().lockout(rule).build().unwrap()),
    );
    let (sarah, partner) = (user("sarah"), user("partner"));
    let phone = firm.enroll(&sarah);
    let partner_phone = firm.enroll(&partner);
    let mut refusals = Vec::new();
    while refusals.last() != Some(&Refusal::Disabled) {
        refusals.extend(wrong_codes(&firm, &sarah, &phone, 5));
        firm.clock.advance(86_400);
        assert!(refusals.len() <= 15, "{refusals:?}");
    }
    assert_eq!(refusals.len(), 15);
    // Even the right code, days later, is refused; so is the sign-in itself.
    firm.clock.advance(30 * 86_400);
    let right = run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap();
    assert_eq!(right, Err(Refusal::Disabled));
    assert_eq!(run(firm.mfa.sign_in_decision(&sarah, &office())).unwrap(), Err(Refusal::Disabled));
    assert!(firm.events(&sarah).contains(&EventKind::SecondFactorDisabled { failures: 15 }));
    // An admin reset, with a fresh proof of the admin's own, lets her set MFA up again.
    firm.prove(&partner, &partner_phone);
    run(firm.mfa.reset(reset_of(&partner, &sarah, "locked out by guessing"), &permitted(), &office()))
        .unwrap()
        .unwrap();
    assert_eq!(
        run(firm.mfa.sign_in_decision(&sarah, &office())).unwrap(),
        Ok(Decision::RequireEnrollment { reason: Reason::ResetByAdmin })
    );
    let new_phone = firm.enroll(&sarah);
    assert!(run(firm.mfa.verify_code(&sarah, &new_phone.code(), &office())).unwrap().is_ok());
}

#[test]
fn input_that_is_not_a_code_never_counts_in_any_proof() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let outbox = Outbox::default();
    run(async {
        firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().unwrap();
        let email = Destination::email("sarah@smith.example").unwrap();
        firm.mfa.add_destination(&sarah, email, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        for junk in ["", "  ", "abcdef", "12e456", "1234567890123"] {
            assert_eq!(firm.mfa.verify_code(&sarah, junk, &office()).await.unwrap(), Err(Refusal::Malformed));
            assert_eq!(
                firm.mfa.redeem_recovery_code(&sarah, junk, &office()).await.unwrap(),
                Err(Refusal::Malformed)
            );
            assert_eq!(
                firm.mfa.confirm_destination(&sarah, junk, &office()).await.unwrap(),
                Err(Refusal::Malformed)
            );
        }
        assert_eq!(firm.mfa.record(&sarah).await.unwrap().failures().consecutive(), 0);

        // An enrollment's confirmation too: junk does not use up its attempts.
        let start = firm.mfa.start_enrollment(&sarah, "sarah", &office()).await.unwrap().unwrap();
        let new_phone = Phone::scan(&start.uri, &firm.clock);
        for _ in 0..10 {
            let junk = firm.mfa.confirm_enrollment(&sarah, &["abc", "def"], &office()).await.unwrap();
            assert_eq!(junk, Err(Refusal::Malformed));
        }
        let first = new_phone.code();
        firm.clock.advance(30);
        let confirmed = firm.mfa.confirm_enrollment(&sarah, &[&first, &new_phone.code()], &office()).await;
        assert!(confirmed.unwrap().is_ok());
        drop(phone);
    });
}

#[test]
fn a_double_submit_does_not_lock_out_the_user_who_was_just_let_in() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let code = phone.code();
    assert!(run(firm.mfa.verify_code(&sarah, &code, &office())).unwrap().is_ok());
    for _ in 0..20 {
        let again = run(firm.mfa.verify_code(&sarah, &code, &office())).unwrap();
        assert_eq!(again, Err(Refusal::CodeReused { attempts_left: 5 }));
    }
    assert_eq!(run(firm.mfa.record(&sarah)).unwrap().failures().consecutive(), 0);
    // Guesses are still counted exactly.
    assert_eq!(wrong_codes(&firm, &sarah, &phone, 1), [Refusal::WrongCode { attempts_left: 4 }]);
}
