//! Security keys and passkeys in the record's rules, as the user stories tell them: a
//! practitioner whose firm requires a phishing-resistant factor, a user under the NIST
//! preset who is offered one, a cloned key, a lost key, an admin's reset.
//!
//! The relying party's cryptography is `mfa-kit-webauthn`'s (its tests drive these
//! same rules with real signatures from a software authenticator); here the
//! transitions get what a relying party reports, so every rule is shown on its own.

use std::sync::Arc;

use mfa_kit::event::EventKind;
use mfa_kit::flow::security_key::{self, CeremonyError};
use mfa_kit::flow::step_up::{self, StepUp};
use mfa_kit::flow::{self};
use mfa_kit::otp::Totp;
use mfa_kit::policy::{Decision, OrgSettings, SignInContext, StandardPolicy};
use mfa_kit::record::{CEREMONY_LIFETIME, UserRecord};
use mfa_kit::{Cleared, Method, Refusal, ResetMode, SensitiveAction, UserId};

#[path = "support/flow_world.rs"]
mod flow_world;

use flow_world::{T0, World, new_key, signed, with_app};

fn register(record: &mut UserRecord, world: &World, id: u8, now: u64) -> Result<(), Refusal> {
    let handle = security_key::user_handle(record).unwrap();
    security_key::start_registration(record, "YubiKey", handle, "state".into(), &world.env(now)).outcome?;
    security_key::finish_registration(record, Ok(new_key(id)), &world.env(now + 5)).unwrap().outcome.map(drop)
}

fn prove_with_key(
    record: &mut UserRecord,
    world: &World,
    id: u8,
    counter: u32,
    now: u64,
) -> Result<(), Refusal> {
    security_key::start_authentication(record, "state".into(), &world.env(now)).outcome?;
    let step = security_key::finish_authentication(record, Ok(signed(id, counter)), &world.env(now + 2));
    step.outcome.map(|proven| assert!(proven.phishing_resistant && proven.method == Method::SecurityKey))
}

fn decision(record: &mut UserRecord, world: &World, now: u64) -> Decision {
    flow::sign_in::decide(record, None, &world.env(now)).outcome.unwrap()
}

#[test]
fn a_practitioner_whose_firm_requires_a_phishing_resistant_factor_registers_a_key_then_codes_no_longer_do() {
    let settings =
        OrgSettings::builder().phishing_resistant_for(vec!["practitioner".into()]).build().unwrap();
    let context =
        SignInContext::default().with_user_type("practitioner").with_org(Arc::new(settings.clone()));
    let world = World::new(StandardPolicy::new(), context);
    let (mut record, phone) = with_app(&world, "tom");

    // With only an app: asked for the code, then held to register a key.
    let Decision::Challenge { methods, offer_security_key, security_key_blocking, .. } =
        decision(&mut record, &world, T0 + 60)
    else {
        panic!("a challenge")
    };
    assert_eq!(methods, [Method::Totp]);
    assert!(offer_security_key && security_key_blocking);
    let code = phone.generate(T0 + 60).unwrap().to_string();
    let proof = flow::authenticator::verify(&mut record, &[&phone], &code, &world.env(T0 + 60)).unwrap();
    assert!(proof.outcome.is_ok_and(|p| !p.phishing_resistant));

    // The app code is fresh, so the key may be added.
    register(&mut record, &world, 1, T0 + 90).unwrap();
    assert_eq!(record.methods()[0], Method::SecurityKey);

    // From now on the key (or a recovery code) is what signs in, not the app.
    let Decision::Challenge { methods, security_key_blocking, .. } = decision(&mut record, &world, T0 + 600)
    else {
        panic!("a challenge")
    };
    assert_eq!(methods, [Method::SecurityKey]);
    assert!(!security_key_blocking);
    let code = phone.generate(T0 + 600).unwrap().to_string();
    let refused = flow::authenticator::verify(&mut record, &[&phone], &code, &world.env(T0 + 600)).unwrap();
    assert_eq!(refused.outcome, Err(Refusal::PhishingResistantRequired));
    assert_eq!(record.failures().consecutive(), 0, "a refused method is not a guess");
    prove_with_key(&mut record, &world, 1, 2, T0 + 610).unwrap();
    let check = step_up::check(&record, SensitiveAction::Host, &world.env(T0 + 620));
    assert!(matches!(check, StepUp::Proceed { proof: Some(p) } if p.method == Method::SecurityKey));

    // A colleague of another type still signs in with the app.
    let other = SignInContext::default().with_user_type("bookkeeper").with_org(Arc::new(settings));
    let world = World::new(StandardPolicy::new(), other);
    let code = phone.generate(T0 + 660).unwrap().to_string();
    assert!(
        flow::authenticator::verify(&mut record, &[&phone], &code, &world.env(T0 + 660))
            .unwrap()
            .outcome
            .is_ok()
    );
}

#[test]
fn under_the_nist_preset_a_user_without_a_key_is_offered_one_and_a_user_with_one_is_asked_for_it_first() {
    let world = World::new(StandardPolicy::nist_aal2(), SignInContext::default());
    let (mut record, _phone) = with_app(&world, "sarah");
    let Decision::Challenge { methods, offer_security_key, security_key_blocking, .. } =
        decision(&mut record, &world, T0 + 60)
    else {
        panic!("a challenge")
    };
    assert_eq!(methods, [Method::Totp]);
    assert!(offer_security_key && !security_key_blocking, "offered, not required");

    register(&mut record, &world, 7, T0 + 40).unwrap();
    let Decision::Challenge { methods, offer_security_key, .. } = decision(&mut record, &world, T0 + 300)
    else {
        panic!("a challenge")
    };
    assert_eq!(methods, [Method::SecurityKey, Method::Totp], "the key first");
    assert!(!offer_security_key);

    // Without the preset, nobody is offered one unprompted.
    let plain = World::new(StandardPolicy::new(), SignInContext::default());
    let (mut other, _) = with_app(&plain, "ann");
    let Decision::Challenge { offer_security_key, .. } = decision(&mut other, &plain, T0 + 60) else {
        panic!("a challenge")
    };
    assert!(!offer_security_key);
}

#[test]
fn an_organisation_that_turns_security_keys_off_neither_offers_nor_accepts_them() {
    let settings = OrgSettings::builder().allow_security_keys(false).build().unwrap();
    let world = World::new(StandardPolicy::new(), SignInContext::default().with_org(Arc::new(settings)));
    let open = World::new(StandardPolicy::new(), SignInContext::default());
    let (mut record, _phone) = with_app(&open, "kim");
    register(&mut record, &open, 3, T0 + 40).unwrap();
    let Decision::Challenge { methods, .. } = decision(&mut record, &world, T0 + 300) else {
        panic!("a challenge")
    };
    assert_eq!(methods, [Method::Totp]);
    let refused = security_key::start_authentication(&mut record, "state".into(), &world.env(T0 + 300));
    assert_eq!(refused.outcome, Err(Refusal::MethodNotAllowed));
}

#[test]
fn failed_assertions_count_towards_the_lockout_and_a_cloned_key_is_refused_and_audited() {
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let (mut record, _phone) = with_app(&world, "lee");
    register(&mut record, &world, 5, T0 + 40).unwrap();
    prove_with_key(&mut record, &world, 5, 10, T0 + 100).unwrap();

    // The clone answers with a counter the original already passed.
    security_key::start_authentication(&mut record, "state".into(), &world.env(T0 + 200)).outcome.unwrap();
    let cloned = security_key::finish_authentication(&mut record, Ok(signed(5, 9)), &world.env(T0 + 201));
    assert!(matches!(cloned.outcome, Err(Refusal::KeyRejected { attempts_left: 4 })));
    assert!(cloned.events.iter().any(|e| matches!(
        e,
        EventKind::SecurityKeyCounterRegressed { stored: 10, presented: 9, accepted: false, .. }
    )));
    assert_eq!(record.security_keys()[0].counter(), 10);

    // Four more signatures from another site: the fifth failure locks.
    let mut last = None;
    for i in 0..4 {
        let now = T0 + 210 + i * 10;
        security_key::start_authentication(&mut record, "state".into(), &world.env(now)).outcome.unwrap();
        let step = security_key::finish_authentication(
            &mut record,
            Err(CeremonyError::WrongOrigin),
            &world.env(now),
        );
        last = Some(step.outcome);
    }
    assert!(matches!(last, Some(Err(Refusal::LockedOut { .. }))));
    let locked = security_key::start_authentication(&mut record, "state".into(), &world.env(T0 + 260));
    assert!(matches!(locked.outcome, Err(Refusal::LockedOut { .. })));
}

#[test]
fn the_last_key_is_not_removed_but_a_spare_one_is_with_a_fresh_proof_and_the_user_may_turn_mfa_off_with_the_key()
 {
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let mut record = UserRecord::new(UserId::new("max"));
    // A first factor needs no earlier proof.
    register(&mut record, &world, 1, T0).unwrap();
    assert!(record.has_mfa());
    let only = record.security_keys()[0].id().to_string();
    let refused = flow::authenticator::remove(&mut record, &only, &world.env(T0 + 10));
    assert_eq!(refused.outcome, Err(Refusal::LastFactor));

    // The registration's signature was the proof for a spare key right after.
    register(&mut record, &world, 2, T0 + 20).unwrap();
    let stale = flow::authenticator::remove(&mut record, &only, &world.env(T0 + 2000));
    assert_eq!(stale.outcome, Err(Refusal::FreshProofRequired));
    prove_with_key(&mut record, &world, 2, 5, T0 + 2000).unwrap();
    let removed = flow::authenticator::remove(&mut record, &only, &world.env(T0 + 2010));
    assert_eq!(removed.outcome, Ok(true));
    assert!(removed.events.iter().any(|e| matches!(e, EventKind::SecurityKeyRemoved { .. })));
    assert_eq!(record.security_keys().len(), 1);

    let spare = record.security_keys()[0].id().to_string();
    let renamed = flow::authenticator::rename(&mut record, &spare, " Blue key ", &world.env(T0 + 2020));
    assert_eq!(renamed.outcome, Ok(true));
    assert_eq!(record.security_keys()[0].name(), "Blue key");

    // Turning MFA off: no code to type, the key's fresh proof and the confirmation.
    let no_totps: [&Totp; 0] = [];
    let off = flow::authenticator::deactivate(&mut record, &no_totps, None, "", true, &world.env(T0 + 2030))
        .unwrap();
    assert_eq!(off.outcome, Ok(()));
    assert!(record.security_keys().is_empty() && !record.has_mfa());
}

#[test]
fn an_admin_reset_clears_the_keys_and_a_ceremony_in_progress() {
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let (mut admin, admin_phone) = with_app(&world, "admin");
    let code = admin_phone.generate(T0 + 60).unwrap().to_string();
    assert!(
        flow::authenticator::verify(&mut admin, &[&admin_phone], &code, &world.env(T0 + 60))
            .unwrap()
            .outcome
            .is_ok()
    );
    let (mut record, _phone) = with_app(&world, "lost");
    register(&mut record, &world, 4, T0 + 40).unwrap();
    security_key::start_authentication(&mut record, "state".into(), &world.env(T0 + 60)).outcome.unwrap();
    let reset = flow::oversight::reset(
        &mut record,
        &admin,
        "lost keyring",
        ResetMode::RequireEnrollment,
        true,
        &world.env(T0 + 70),
    );
    let cleared = reset.outcome.unwrap();
    assert!(cleared.contains(&Cleared::SecurityKeys) && cleared.contains(&Cleared::Authenticator));
    assert!(record.security_keys().is_empty() && record.ceremony().is_none());
}

#[test]
fn a_ceremony_answers_once_lapses_and_is_replaced_by_the_next_start() {
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let (mut record, _phone) = with_app(&world, "joe");
    register(&mut record, &world, 9, T0 + 40).unwrap();

    security_key::start_authentication(&mut record, "first".into(), &world.env(T0 + 100)).outcome.unwrap();
    security_key::start_authentication(&mut record, "second".into(), &world.env(T0 + 101)).outcome.unwrap();
    assert_eq!(record.ceremony().unwrap().state(), "second", "a new start replaces the old challenge");

    let late = T0 + 101 + CEREMONY_LIFETIME;
    let lapsed = security_key::finish_authentication(&mut record, Ok(signed(9, 50)), &world.env(late));
    assert_eq!(lapsed.outcome, Err(Refusal::CeremonyExpired));
    assert_eq!(record.failures().consecutive(), 0);

    // A registration's answer does not finish an authentication, nor the reverse.
    prove_with_key(&mut record, &world, 9, 51, late + 1).unwrap();
    let handle = security_key::user_handle(&record).unwrap();
    security_key::start_registration(&mut record, "Spare", handle, "reg".into(), &world.env(late + 5))
        .outcome
        .unwrap();
    let crossed = security_key::finish_authentication(&mut record, Ok(signed(9, 52)), &world.env(late + 6));
    assert_eq!(crossed.outcome, Err(Refusal::NoCeremonyPending));
    assert_eq!(record.ceremony().unwrap().state(), "reg", "the registration is still open");
}

#[test]
fn a_slow_browser_dialog_does_not_run_out_the_proof_but_a_session_stale_at_the_start_cannot_finish() {
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let (mut record, phone) = with_app(&world, "eve");
    let code = phone.generate(T0 + 60).unwrap().to_string();
    assert!(
        flow::authenticator::verify(&mut record, &[&phone], &code, &world.env(T0 + 60))
            .unwrap()
            .outcome
            .is_ok()
    );
    // Started 250 s after the proof, answered 150 s later: 400 s after the proof.
    let handle = security_key::user_handle(&record).unwrap();
    security_key::start_registration(&mut record, "Slow", handle, "s".into(), &world.env(T0 + 310))
        .outcome
        .unwrap();
    let done = security_key::finish_registration(&mut record, Ok(new_key(8)), &world.env(T0 + 460)).unwrap();
    assert!(done.outcome.is_ok(), "{:?}", done.outcome);

    // A registration whose start was already past the window is refused at the start;
    // one finished with a rejected answer adds nothing and counts nothing.
    let late =
        security_key::start_registration(&mut record, "Late", handle, "s".into(), &world.env(T0 + 2000));
    assert_eq!(late.outcome, Err(Refusal::FreshProofRequired));
    prove_with_key(&mut record, &world, 8, 3, T0 + 2000).unwrap();
    security_key::start_registration(&mut record, "Spare", handle, "s".into(), &world.env(T0 + 2010))
        .outcome
        .unwrap();
    let rejected = security_key::finish_registration(
        &mut record,
        Err(CeremonyError::BadSignature),
        &world.env(T0 + 2011),
    )
    .unwrap();
    assert_eq!(rejected.outcome, Err(Refusal::KeyNotRegistered));
    assert_eq!((record.security_keys().len(), record.failures().consecutive()), (1, 0));
}

/// `OrgSettingsBuilder::phishing_resistant_for`: once a user the organisation requires
/// a phishing-resistant factor of has a key, "a remembered device no longer skips the
/// proof". Tom's laptop was remembered after an app code, before his firm required
/// keys; he registered a key since. The laptop's cookie lets him skip the code while
/// the firm does not require keys, and no longer once it does: the key is asked for
/// (the device is neither accepted nor audited as accepted). A colleague of a type the
/// rule does not cover keeps skipping with their remembered device.
#[test]
fn a_device_remembered_after_a_code_does_not_stand_in_for_a_key_the_firm_requires() {
    use mfa_kit::Reason;
    use mfa_kit::keyed_hash::HashKey;
    use mfa_kit::policy::SessionFacts;
    use mfa_kit::record::DeviceToken;

    let key = HashKey::from_bytes(&[9; 32]).unwrap();
    let before = World::new(StandardPolicy::new(), SignInContext::default().with_user_type("practitioner"));
    let (mut record, phone) = with_app(&before, "tom");
    let code = phone.generate(T0 + 60).unwrap().to_string();
    let proof = flow::authenticator::verify(&mut record, &[&phone], &code, &before.env(T0 + 60)).unwrap();
    let proven = proof.outcome.unwrap();
    let session = SessionFacts::new(record.generation(), T0 + 50).proved_at(proven.at);
    let fresh = World::new(StandardPolicy::new(), before.context.clone().with_session(session));
    let laptop = flow::device::remember(&mut record, &key, "laptop", 30 * 86_400, &fresh.env(T0 + 70))
        .unwrap()
        .outcome
        .unwrap();
    register(&mut record, &fresh, 1, T0 + 80).unwrap();

    let decide = |record: &mut UserRecord, required: bool, user_type: &str| {
        let mut settings = OrgSettings::builder();
        if required {
            settings = settings.phishing_resistant_for(vec!["practitioner".into()]);
        }
        let context = SignInContext::default()
            .with_user_type(user_type)
            .with_org(Arc::new(settings.build().unwrap()))
            .with_device_token(DeviceToken::from_cookie(laptop.token.as_str()));
        let world = World::new(StandardPolicy::new(), context);
        let step = flow::sign_in::decide(record, Some(&key), &world.env(T0 + 3_600));
        let accepted = step.events.iter().any(|e| matches!(e, EventKind::DeviceAccepted { .. }));
        (step.outcome.unwrap(), accepted)
    };

    // Before the requirement, the laptop skips the proof.
    let (decision, accepted) = decide(&mut record, false, "practitioner");
    assert_eq!(decision, Decision::Allow { reason: Reason::RememberedDevice });
    assert!(accepted);

    // Under it, the key is asked for, whatever the cookie.
    let (decision, accepted) = decide(&mut record, true, "practitioner");
    let Decision::Challenge { methods, .. } = decision else { panic!("a challenge, not {decision:?}") };
    assert_eq!(methods, [Method::SecurityKey]);
    assert!(!accepted, "the device is not audited as accepted");

    // A type the rule does not cover: the laptop skips as before.
    let (decision, accepted) = decide(&mut record, true, "bookkeeper");
    assert_eq!(decision, Decision::Allow { reason: Reason::RememberedDevice });
    assert!(accepted);
}
