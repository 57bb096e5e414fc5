//! The lockout, the ways out of it (a lockout's end, an admin's reset), and turning
//! MFA off (R12, R15, R20, R21).

mod common;

use common::*;
use mfa_kit::event::EventKind;
use mfa_kit::policy::{Jurisdiction, OrgSettings, StandardPolicy};
use mfa_kit::{LockoutRule, Reason, Refusal, UserId};

fn firm_with_rule(rule: LockoutRule) -> Firm {
    firm_with_policy(
        StandardPolicy::new().with_defaults(OrgSettings::builder().lockout(rule).build().unwrap()),
    )
}

fn wrong(firm: &Firm, who: &UserId, phone: &Phone) -> Refusal {
    run(firm.mfa.verify_code(who, &phone.wrong_code(), &office())).unwrap().unwrap_err()
}

fn count(events: &[EventKind], pick: impl Fn(&EventKind) -> bool) -> usize {
    events.iter().filter(|kind| pick(kind)).count()
}

/// `Refusal::WrongCode { attempts_left }` counts to the next lockout, or to the hard
/// limit when that comes first. With 5 per lockout and a hard limit of 12 (a valid
/// organisation setting), after 11 failures the user is told one try is left: the next
/// wrong code disables the second factor until an admin's reset.
#[test]
fn tries_left_never_overstate_the_wrong_codes_left_before_the_hard_limit() {
    let firm = firm_with_rule(LockoutRule::new(5, 60).with_hard_limit(12));
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    for _round in 0..2 {
        let refusals: Vec<Refusal> = (0..5).map(|_| wrong(&firm, &sarah, &phone)).collect();
        assert!(matches!(refusals[4], Refusal::LockedOut { .. }), "{refusals:?}");
        firm.clock.advance(86_400);
    }
    // Failure 11 of 12.
    let eleventh = wrong(&firm, &sarah, &phone);
    let twelfth = wrong(&firm, &sarah, &phone);
    assert_eq!(twelfth, Refusal::Disabled, "the 12th wrong code reaches the hard limit");
    assert_eq!(
        eleventh,
        Refusal::WrongCode { attempts_left: 1 },
        "one wrong code was left before the factor was disabled"
    );
}

/// `LockoutRule::max_lock_seconds` is "the longest a lockout lasts, however often it
/// repeats": a rule whose first lockout (`lock_seconds`) is longer locks for the cap
/// (3,600 s, not 7,200 s).
#[test]
fn no_lockout_lasts_longer_than_the_rules_longest_lockout() {
    let rule = LockoutRule { max_failures: 5, lock_seconds: 7_200, max_lock_seconds: 3_600, hard_limit: 100 };
    let Ok(settings) = OrgSettings::builder().lockout(rule).build() else {
        return; // Refusing the contradictory rule would keep the promise too.
    };
    let firm = firm_with_policy(StandardPolicy::new().with_defaults(settings));
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let refusals: Vec<Refusal> = (0..5).map(|_| wrong(&firm, &sarah, &phone)).collect();
    let Refusal::LockedOut { until } = refusals[4] else { panic!("{refusals:?}") };
    let now = START + 60;
    assert!(until <= now + 3_600, "locked for {} s under a 3600 s cap", until - now);
}

/// `lockout_ended` is "a lockout ended (expired or cleared by a reset)", and a reset
/// during a lockout writes it. A lockout that expired while nobody tried again, then
/// cleared by an admin's reset, gets its `lockout_ended` too, once.
#[test]
fn every_lockout_started_is_ended_once_also_when_a_reset_follows_its_expiry() {
    let firm = firm();
    let (sarah, partner) = (user("sarah"), user("partner"));
    let phone = firm.enroll(&sarah);
    let partner_phone = firm.enroll(&partner);
    for _ in 0..5 {
        wrong(&firm, &sarah, &phone);
    }
    // The 15-minute lockout runs out; nobody tries again before the reset.
    firm.clock.advance(3_600);
    firm.prove(&partner, &partner_phone);
    run(firm.mfa.reset(reset_of(&partner, &sarah, "locked out yesterday"), &permitted(), &office()))
        .unwrap()
        .unwrap();
    let events = firm.events(&sarah);
    let started = count(&events, |k| matches!(k, EventKind::LockoutStarted { .. }));
    let ended = count(&events, |k| matches!(k, EventKind::LockoutEnded));
    assert_eq!((started, ended), (1, 1), "{events:?}");
}

/// A clock that walks back by less than the clock skew during a lockout neither
/// shortens nor lengthens it: the same `until`, refused, and nothing counted.
#[test]
fn a_clock_walking_back_within_the_skew_during_a_lockout_keeps_its_end() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let refusals: Vec<Refusal> = (0..5).map(|_| wrong(&firm, &sarah, &phone)).collect();
    let locked = refusals[4].clone();
    let Refusal::LockedOut { until } = locked else { panic!("{refusals:?}") };
    firm.clock.set(START + 60 - 290);
    assert_eq!(run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap(), Err(locked.clone()));
    assert_eq!(run(firm.mfa.sign_in_decision(&sarah, &office())).unwrap(), Err(locked.clone()));
    firm.clock.set(until - 1);
    assert_eq!(run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap(), Err(locked));
    let record = run(firm.mfa.record(&sarah)).unwrap();
    assert_eq!((record.failures().consecutive(), record.failures().locked_until()), (5, Some(until)));
    firm.clock.set(until);
    assert!(run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
    let events = firm.events(&sarah);
    assert_eq!(count(&events, |k| matches!(k, EventKind::LockoutStarted { .. })), 1);
    assert_eq!(count(&events, |k| matches!(k, EventKind::LockoutEnded)), 1);
}

/// Turning MFA off while locked out is refused as the lockout, unevaluated and not
/// counted, even with the right code and the confirmation; once the factor is disabled
/// by the hard limit it is refused as disabled; the reset is the way back.
#[test]
fn mfa_is_not_turned_off_during_a_lockout_or_once_the_factor_is_disabled() {
    let firm = firm_with_rule(LockoutRule::new(5, 60).with_hard_limit(10));
    let (sarah, partner) = (user("sarah"), user("partner"));
    let phone = firm.enroll(&sarah);
    let partner_phone = firm.enroll(&partner);
    let refusals: Vec<Refusal> = (0..5).map(|_| wrong(&firm, &sarah, &phone)).collect();
    let locked = refusals[4].clone();
    assert!(matches!(locked, Refusal::LockedOut { .. }));
    let refused = run(firm.mfa.deactivate(&sarah, &phone.code(), true, &office())).unwrap();
    assert_eq!(refused, Err(locked));
    assert_eq!(run(firm.mfa.record(&sarah)).unwrap().failures().consecutive(), 5);

    firm.clock.advance(120);
    let refusals: Vec<Refusal> = (0..5).map(|_| wrong(&firm, &sarah, &phone)).collect();
    assert_eq!(refusals[4], Refusal::Disabled);
    firm.clock.advance(30 * 86_400);
    let refused = run(firm.mfa.deactivate(&sarah, &phone.code(), true, &office())).unwrap();
    assert_eq!(refused, Err(Refusal::Disabled));
    let events = firm.events(&sarah);
    assert_eq!(count(&events, |k| matches!(k, EventKind::SecondFactorDisabled { .. })), 1);
    assert!(!events.contains(&EventKind::Deactivated));

    firm.prove(&partner, &partner_phone);
    run(firm.mfa.reset(reset_of(&partner, &sarah, "disabled by guessing"), &permitted(), &office()))
        .unwrap()
        .unwrap();
    let record = run(firm.mfa.record(&sarah)).unwrap();
    assert_eq!(record.failures().disabled_at(), None);
    assert_eq!(record.failures().consecutive(), 0);
}

/// Under the AU/NZ rule a user with an authenticator app cannot turn MFA off, even
/// with a current code and the confirmation; the refusal is audited and the code is
/// not spent or counted.
#[test]
fn an_app_user_in_new_zealand_with_accounting_cannot_turn_mfa_off() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let auckland = office().with_jurisdiction(Jurisdiction::country("NZ").with_accounting());
    let refused = run(firm.mfa.deactivate(&sarah, &phone.code(), true, &auckland)).unwrap();
    assert_eq!(refused, Err(Refusal::Forbidden(Reason::JurisdictionRule)));
    assert!(run(firm.mfa.status(&sarah, &office())).unwrap().has_mfa());
    assert!(
        firm.events(&sarah).contains(&EventKind::DeactivationRefused { reason: Reason::JurisdictionRule })
    );
    // The code was not spent: it still signs her in.
    assert!(run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
}

#[path = "support/flow_world.rs"]
mod flow_world;

/// `flow::authenticator::deactivate`: a user whose only factors are security keys turns
/// MFA off with "a security-key proof made within the step-up window", as an app user
/// needs a code from the app: a recovery code redeemed instead of the key is not that
/// proof.
#[test]
fn a_key_only_user_does_not_turn_mfa_off_with_a_recovery_code_instead_of_the_key() {
    use flow_world::{T0, World, key_only_user};
    use mfa_kit::flow::{self, recovery};
    use mfa_kit::keyed_hash::HashKey;
    use mfa_kit::otp::Totp;
    use mfa_kit::policy::SignInContext;

    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let key = HashKey::from_bytes(&[7; 32]).unwrap();
    let (mut record, codes) = key_only_user(&world, &key);

    // An hour later, the key's proof is stale; a recovery code is redeemed instead.
    let later = T0 + 3_600;
    let redeemed = recovery::redeem(&mut record, &key, codes[0].as_str(), &world.env(later));
    assert!(redeemed.outcome.is_ok(), "{:?}", redeemed.outcome);
    let off = flow::authenticator::deactivate::<Totp>(
        &mut record,
        &[],
        Some(&key),
        "",
        true,
        &world.env(later + 10),
    )
    .unwrap();
    assert!(off.outcome.is_err(), "MFA turned off with a recovery code, no security-key proof");
    assert!(!record.security_keys().is_empty());
}

/// `flow::authenticator::deactivate`: "A user with neither factor is refused as
/// `Refusal::NotEnrolled`", under the AU/NZ rule too, and nothing is audited for a user
/// who has no MFA to turn off.
#[test]
fn a_user_without_mfa_is_refused_as_not_enrolled_also_under_the_au_nz_rule() {
    let firm = firm();
    let tom = user("tom");
    let sydney = office().with_jurisdiction(Jurisdiction::country("AU").with_xero());
    let refused = run(firm.mfa.deactivate(&tom, "123456", true, &sydney)).unwrap();
    assert_eq!(refused, Err(Refusal::NotEnrolled));
}
