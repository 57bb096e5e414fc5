//! "A phishing-resistant factor required" (`OrgSettingsBuilder::phishing_resistant_for`,
//! `Policy::phishing_resistant_required`, R33) holds on every path: an admin's reset,
//! a user with no factor yet, a phone confirmed after the rule came in, turning MFA off
//! with the key, and the paths that held before (step-up, settings, resynchronising,
//! SMS and recovery codes, remembered devices).
//!
//! The transitions are driven as `tests/security_keys.rs` drives them: a `World` with
//! the policy and the request's context, and what a relying party reports of a key.

use std::sync::Arc;

use mfa_kit::flow::oversight::{self, SettingsChange};
use mfa_kit::flow::security_key;
use mfa_kit::flow::step_up::{self, StepUp};
use mfa_kit::flow::{self};
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::otp::Totp;
use mfa_kit::policy::{Decision, Level, OrgSettings, SessionFacts, SignInContext, StandardPolicy, UserFacts};
use mfa_kit::record::{DeviceToken, UserRecord};
use mfa_kit::{Destination, Method, Refusal, ResetMode, Role, SensitiveAction};

#[path = "support/flow_world.rs"]
mod flow_world;

mod common;

use flow_world::{T0, TrustingParty, World, new_key, signed, with_app};

/// The firm's settings: admins (and only they) must prove with a security key.
fn keys_for_admins() -> Arc<OrgSettings> {
    Arc::new(OrgSettings::builder().phishing_resistant_for(vec!["admin".into()]).build().unwrap())
}

/// The context of a request by a user of `user_type`, with or without the rule.
fn context(user_type: &str, rule: bool) -> SignInContext {
    let context = SignInContext::default().with_user_type(user_type);
    if rule { context.with_org(keys_for_admins()) } else { context }
}

fn register(record: &mut UserRecord, world: &World, id: u8, now: u64) -> Result<(), Refusal> {
    let handle = security_key::user_handle(record).unwrap();
    security_key::start_registration(record, "YubiKey", handle, "state".into(), &world.env(now)).outcome?;
    security_key::finish_registration(record, Ok(new_key(id)), &world.env(now + 5)).unwrap().outcome.map(drop)
}

fn prove_with_key(record: &mut UserRecord, world: &World, id: u8, counter: u32, now: u64) -> u64 {
    security_key::start_authentication(record, "state".into(), &world.env(now)).outcome.unwrap();
    let step = security_key::finish_authentication(record, Ok(signed(id, counter)), &world.env(now + 2));
    step.outcome.unwrap().at
}

fn app_code(record: &mut UserRecord, phone: &Totp, world: &World, now: u64) -> Result<u64, Refusal> {
    let code = phone.generate(now).unwrap().to_string();
    flow::authenticator::verify(record, &[phone], &code, &world.env(now)).unwrap().outcome.map(|p| p.at)
}

/// Ada, an admin with an app and a key, signed in with an app code at `T0 + 600`
/// while her firm did not require keys yet; the firm switches the rule on at
/// `T0 + 620`. Returns her record and her live session (proved by the app code).
fn ada_signed_in_with_an_app_code_before_the_rule() -> (UserRecord, Totp, SessionFacts) {
    let before = World::new(StandardPolicy::new(), context("admin", false));
    let (mut ada, phone) = with_app(&before, "ada");
    register(&mut ada, &before, 1, T0 + 40).unwrap();
    let proved = app_code(&mut ada, &phone, &before, T0 + 600).unwrap();
    let session = SessionFacts::new(ada.generation(), T0 + 590).proved_at(proved);
    (ada, phone, session)
}

/// An admin whom the firm requires to prove with a security key resets nobody on an
/// app code: the reset judges her in her own request (her session, her user type), as
/// her step-up does; the target's user type judges only whether MFA may be turned off.
#[test]
fn an_admin_who_must_use_a_key_resets_nobody_on_an_app_code() {
    let (ada, _phone, session) = ada_signed_in_with_an_app_code_before_the_rule();
    let staff = World::new(StandardPolicy::new(), context("staff", true));
    let (mut sam, _sams_phone) = with_app(&staff, "sam");

    let own = World::new(StandardPolicy::new(), context("admin", true).with_session(session));
    let asked = step_up::check(&ada, SensitiveAction::ResetUser, &own.env(T0 + 700));
    assert!(
        matches!(&asked, StepUp::Prove { methods, .. } if methods.first() == Some(&Method::SecurityKey)),
        "her own step-up asks for the key: {asked:?}"
    );
    for user_type in [None, Some("staff")] {
        let reset = oversight::reset_of_type(
            &mut sam,
            &ada,
            "lost phone",
            ResetMode::RequireEnrollment,
            user_type,
            true,
            &own.env(T0 + 700),
        );
        assert_eq!(reset.outcome.map(drop), Err(Refusal::FreshProofRequired), "target type {user_type:?}");
    }

    // With her key proved in this session, the reset goes through.
    let mut ada = ada;
    let keyed = prove_with_key(&mut ada, &own, 1, 2, T0 + 710);
    let own =
        World::new(StandardPolicy::new(), context("admin", true).with_session(session.proved_at(keyed)));
    let reset = oversight::reset(
        &mut sam,
        &ada,
        "lost phone",
        ResetMode::RequireEnrollment,
        true,
        &own.env(T0 + 720),
    );
    assert!(reset.outcome.is_ok(), "{:?}", reset.outcome);
}

/// The target's user type, not the admin's, says whether an admin may turn the
/// target's MFA off: staff at "mandatory" may not be turned off by an admin whose own
/// level allows it, and a contractor at "upon request" may.
#[test]
fn turning_mfa_off_is_judged_at_the_targets_user_type() {
    let settings = Arc::new(
        OrgSettings::builder()
            .level("staff", Level::Mandatory)
            .level("contractor", Level::UponRequest)
            .build()
            .unwrap(),
    );
    let in_firm =
        |user_type: &str| SignInContext::default().with_user_type(user_type).with_org(settings.clone());
    let admins = World::new(StandardPolicy::new(), in_firm("admin"));
    let (mut ada, phone) = with_app(&admins, "ada");
    let proved = app_code(&mut ada, &phone, &admins, T0 + 600).unwrap();
    let session = SessionFacts::new(ada.generation(), T0 + 590).proved_at(proved);
    let own = World::new(StandardPolicy::new(), in_firm("admin").with_session(session));
    let (mut sam, _) = with_app(&World::new(StandardPolicy::new(), in_firm("staff")), "sam");
    let (mut kim, _) = with_app(&World::new(StandardPolicy::new(), in_firm("contractor")), "kim");

    let off = |record: &mut UserRecord, user_type| {
        oversight::reset_of_type(
            record,
            &ada,
            "left",
            ResetMode::TurnOff,
            Some(user_type),
            true,
            &own.env(T0 + 610),
        )
        .outcome
        .map(drop)
    };
    assert_eq!(off(&mut sam, "staff"), Err(Refusal::Forbidden(mfa_kit::Reason::LevelMandatory)));
    assert_eq!(off(&mut kim, "contractor"), Ok(()));
}

/// A user of a type that must prove with a phishing-resistant factor, who has no factor
/// at all, is not let in on the password alone at the level "upon request": MFA is
/// mandatory for them (`RequireEnrollment`, and a key after it), and neither they nor
/// an admin may turn it off.
#[test]
fn a_user_who_must_use_a_key_and_has_no_factor_must_set_one_up() {
    let world = World::new(StandardPolicy::new(), context("admin", true));
    let mut nia = UserRecord::new(mfa_kit::UserId::new("nia"));
    let decision = flow::sign_in::decide(&mut nia, None, &world.env(T0)).outcome.unwrap();
    assert!(
        !matches!(decision, Decision::Allow { .. }),
        "a user who must prove with a key is not let in without any proof: {decision:?}"
    );
}

/// A session proved with an app code before the firm required keys is not fresh for a
/// step-up once the rule applies (the key is asked for), even inside the window; a
/// recovery code or the key itself makes it fresh again.
#[test]
fn a_session_proved_by_app_code_before_the_rule_is_not_fresh_once_it_applies() {
    let (mut ada, _phone, session) = ada_signed_in_with_an_app_code_before_the_rule();
    let before = World::new(StandardPolicy::new(), context("admin", false).with_session(session));
    let check = step_up::check(&ada, SensitiveAction::Host, &before.env(T0 + 650));
    assert!(check.may_proceed(), "before the rule, the app code is fresh");

    let after = World::new(StandardPolicy::new(), context("admin", true).with_session(session));
    for action in [
        SensitiveAction::Host,
        SensitiveAction::RemoveAuthenticator,
        SensitiveAction::AddAuthenticator,
        SensitiveAction::RememberDevice,
        SensitiveAction::ChangeOrgSettings,
    ] {
        let check = step_up::check(&ada, action, &after.env(T0 + 650));
        assert!(
            matches!(&check, StepUp::Prove { methods, .. } if methods == &[Method::SecurityKey]),
            "{action:?}: the key is asked for, not {check:?}"
        );
    }
    // Adding a second key on the old app-code proof is refused too.
    let handle = security_key::user_handle(&ada).unwrap();
    let refused =
        security_key::start_registration(&mut ada, "Spare", handle, "state".into(), &after.env(T0 + 660));
    assert_eq!(refused.outcome.map(drop), Err(Refusal::FreshProofRequired));

    // The key, proved by this session, makes it fresh.
    let keyed = prove_with_key(&mut ada, &after, 1, 2, T0 + 670);
    let world =
        World::new(StandardPolicy::new(), context("admin", true).with_session(session.proved_at(keyed)));
    assert!(step_up::check(&ada, SensitiveAction::Host, &world.env(T0 + 680)).may_proceed());
}

/// An admin who must prove with a key cannot change the firm's settings (for example
/// take her own type off `phishing_resistant_for`) on an app code: the change is
/// judged in her own context.
#[test]
fn an_admin_who_must_use_a_key_cannot_change_settings_on_an_app_code() {
    let (ada, _phone, session) = ada_signed_in_with_an_app_code_before_the_rule();
    let world = World::new(StandardPolicy::new(), context("admin", true).with_session(session));
    let current = keys_for_admins();
    let change = SettingsChange::new("smith-co", ada.user(), &current, OrgSettings::default());
    let step = oversight::change_org_settings(change, &ada, true, &world.env(T0 + 700));
    assert_eq!(step.outcome.map(drop), Err(Refusal::FreshProofRequired));
}

/// Resynchronising the app's clock counts as a sign-in proof: it is no way around the
/// key (refused as a code is, and not counted as a guess).
#[test]
fn resynchronising_the_app_is_no_way_around_the_key() {
    let (mut ada, phone, _session) = ada_signed_in_with_an_app_code_before_the_rule();
    let world = World::new(StandardPolicy::new(), context("admin", true));
    let (first, second) =
        (phone.generate(T0 + 900).unwrap().to_string(), phone.generate(T0 + 930).unwrap().to_string());
    let step =
        flow::authenticator::resynchronise(&mut ada, &[&phone], [&first, &second], &world.env(T0 + 930));
    assert_eq!(step.unwrap().outcome.map(drop), Err(Refusal::PhishingResistantRequired));
    assert_eq!(ada.failures().consecutive(), 0);
}

/// A user who must prove with a key may not go without MFA under the standard policy
/// (their type's MFA is mandatory): an app code turns nothing off, and nothing is
/// cleared.
#[test]
fn an_app_code_does_not_turn_mfa_off_for_a_user_who_must_use_a_key() {
    let (mut ada, phone, _session) = ada_signed_in_with_an_app_code_before_the_rule();
    let world = World::new(StandardPolicy::new(), context("admin", true));
    let code = phone.generate(T0 + 900).unwrap().to_string();
    let step = flow::authenticator::deactivate(&mut ada, &[&phone], None, &code, true, &world.env(T0 + 900));
    assert_eq!(step.unwrap().outcome, Err(Refusal::Forbidden(mfa_kit::Reason::LevelMandatory)));
    assert_eq!((ada.security_keys().len(), ada.authenticators().len()), (1, 1));
}

/// A sign-in code by SMS is neither sent to nor accepted from a user who must prove
/// with a key and has one (a code sent before the rule is refused too); a recovery
/// code still signs in (the documented way back from a lost key).
#[test]
fn sms_codes_are_neither_sent_nor_accepted_and_recovery_codes_still_are() {
    let key = HashKey::from_bytes(&[7; 32]).unwrap();
    let (mut ada, phone, _session) = ada_signed_in_with_an_app_code_before_the_rule();
    let before = World::new(StandardPolicy::new(), context("admin", false));
    // A fresh proof (the app code at T0 + 600) lets her add a phone, before the rule.
    let sms = Destination::sms("+61 412 345 678").unwrap();
    let reserved = flow::destination::reserve_confirmation_code(
        &mut ada,
        &key,
        Role::Backup,
        sms,
        &before.env(T0 + 610),
    )
    .unwrap()
    .outcome
    .unwrap();
    let _ = flow::destination::confirm_sent(&mut ada, &key, &reserved);
    let confirm = reserved.message.code().to_string();
    flow::destination::redeem_confirmation_code(&mut ada, &key, &confirm, &before.env(T0 + 620))
        .outcome
        .unwrap();
    let codes = flow::recovery::generate(&mut ada, &key, &before.env(T0 + 630)).unwrap().outcome.unwrap();
    // A sign-in code sent before the rule...
    let sent = flow::destination::reserve_sign_in_code(&mut ada, &key, Role::Backup, &before.env(T0 + 700))
        .unwrap()
        .outcome
        .unwrap();
    let _ = flow::destination::confirm_sent(&mut ada, &key, &sent);

    let after = World::new(StandardPolicy::new(), context("admin", true));
    // ...is refused after it,
    let typed =
        flow::destination::redeem_sign_in_code(&mut ada, &key, sent.message.code(), &after.env(T0 + 720));
    assert_eq!(typed.outcome.map(drop), Err(Refusal::PhishingResistantRequired));
    // and no new one is sent.
    let again = flow::destination::reserve_sign_in_code(&mut ada, &key, Role::Backup, &after.env(T0 + 800));
    assert_eq!(again.unwrap().outcome.map(drop), Err(Refusal::PhishingResistantRequired));
    assert_eq!(app_code(&mut ada, &phone, &after, T0 + 810), Err(Refusal::PhishingResistantRequired));

    let recovered = flow::recovery::redeem(&mut ada, &key, codes[0].as_str(), &after.env(T0 + 820));
    assert!(recovered.outcome.is_ok_and(|p| p.method == Method::RecoveryCode && !p.phishing_resistant));
}

/// A user who must prove with a key and has none is held to register one after the
/// proof (`security_key_blocking`), and no remembered device skips that; under
/// "mandatory" such a user with no factor at all must enroll.
#[test]
fn a_user_without_a_key_is_held_to_register_one_and_no_device_skips_it() {
    let key = HashKey::from_bytes(&[8; 32]).unwrap();
    let before = World::new(StandardPolicy::new(), context("admin", false));
    let (mut bo, phone) = with_app(&before, "bo");
    let proved = app_code(&mut bo, &phone, &before, T0 + 60).unwrap();
    let session = SessionFacts::new(bo.generation(), T0).proved_at(proved);
    let fresh = World::new(StandardPolicy::new(), context("admin", false).with_session(session));
    let laptop = flow::device::remember(&mut bo, &key, "laptop", 86_400, &fresh.env(T0 + 70))
        .unwrap()
        .outcome
        .unwrap();

    let after = World::new(
        StandardPolicy::new(),
        context("admin", true).with_device_token(DeviceToken::from_cookie(laptop.token.as_str())),
    );
    let decision = flow::sign_in::decide(&mut bo, Some(&key), &after.env(T0 + 3_600)).outcome.unwrap();
    let Decision::Challenge { methods, offer_security_key, security_key_blocking, .. } = decision else {
        panic!("a challenge, not {decision:?}")
    };
    assert_eq!(methods, [Method::Totp]);
    assert!(offer_security_key && security_key_blocking);

    // Mandatory for admins: a new admin with nothing set up must enroll.
    let mandatory = Arc::new(
        OrgSettings::builder()
            .phishing_resistant_for(vec!["admin".into()])
            .build()
            .unwrap()
            .with_level("admin", Level::Mandatory),
    );
    let world = World::new(
        StandardPolicy::new(),
        SignInContext::default().with_user_type("admin").with_org(mandatory),
    );
    let mut new = UserRecord::new(mfa_kit::UserId::new("new"));
    let decision = flow::sign_in::decide(&mut new, None, &world.env(T0)).outcome.unwrap();
    assert!(matches!(decision, Decision::RequireEnrollment { .. }), "{decision:?}");
}

/// A phone added on an app-code proof made before the firm required keys is not
/// confirmed after the rule applies without the key, as an app added on the same proof
/// is not (R25: adding a phone needs a fresh second factor; R33: codes no longer count
/// once the user has a key); the code stays pending, and with the key proved it
/// confirms the phone.
#[test]
fn a_phone_added_on_a_pre_rule_app_code_is_not_confirmed_after_the_rule_without_the_key() {
    use mfa_kit::danger::PlaintextSealer;
    use mfa_kit::otp::{Secret, TotpParams};

    let key = HashKey::from_bytes(&[5; 32]).unwrap();
    let (mut ada, _phone, session) = ada_signed_in_with_an_app_code_before_the_rule();
    let before = World::new(StandardPolicy::new(), context("admin", false).with_session(session));
    let after = World::new(StandardPolicy::new(), context("admin", true).with_session(session));

    // An app added on the same proof: its confirmation after the rule is refused.
    let secret = Secret::generate().unwrap();
    let sealed = PlaintextSealer.seal(ada.user(), &secret).unwrap();
    let desk = Totp::new(&secret, TotpParams::DEFAULT);
    let started =
        flow::enrollment::add(&mut ada, sealed, TotpParams::DEFAULT, "ada", "Desk", &before.env(T0 + 610));
    assert!(started.outcome.is_ok());
    let codes = [desk.generate(T0 + 630).unwrap().to_string(), desk.generate(T0 + 660).unwrap().to_string()];
    let confirmed = flow::enrollment::confirm(&mut ada, &desk, &[&codes[0], &codes[1]], &after.env(T0 + 660));
    assert_eq!(confirmed.unwrap().outcome.map(drop), Err(Refusal::FreshProofRequired), "the app is refused");

    // A phone added on the same proof: confirmed all the same.
    let sms = Destination::sms("+61 412 345 678").unwrap();
    let reserved = flow::destination::reserve_confirmation_code(
        &mut ada,
        &key,
        Role::Backup,
        sms,
        &before.env(T0 + 612),
    )
    .unwrap()
    .outcome
    .unwrap();
    let _ = flow::destination::confirm_sent(&mut ada, &key, &reserved);
    let code = reserved.message.code().to_string();
    let step = flow::destination::redeem_confirmation_code(&mut ada, &key, &code, &after.env(T0 + 670));
    assert_eq!(
        step.outcome.map(drop),
        Err(Refusal::FreshProofRequired),
        "a new phone is not confirmed on an app code once the user must prove with a key"
    );

    // The code stays pending: with her key proved in this session, it confirms the phone.
    let keyed = prove_with_key(&mut ada, &after, 1, 2, T0 + 675);
    let proved =
        World::new(StandardPolicy::new(), context("admin", true).with_session(session.proved_at(keyed)));
    let step = flow::destination::redeem_confirmation_code(&mut ada, &key, &code, &proved.env(T0 + 680));
    assert_eq!(step.outcome.map(|proven| proven.method), Ok(Method::Sms));
}

/// Without any key rule, a phone's confirmation needs the session's proof to be fresh
/// when the code is typed, not only when it was sent (as an app's confirmation does):
/// typed after the window, it is refused and stays pending; proved again, it confirms.
#[test]
fn a_phone_is_confirmed_within_the_fresh_proof_window() {
    let key = HashKey::from_bytes(&[5; 32]).unwrap();
    let (mut ada, phone, session) = ada_signed_in_with_an_app_code_before_the_rule();
    let before = World::new(StandardPolicy::new(), context("admin", false).with_session(session));
    let at = |now| before.env(now);
    let sms = Destination::sms("+61 412 345 678").unwrap();
    let reserved =
        flow::destination::reserve_confirmation_code(&mut ada, &key, Role::Backup, sms, &at(T0 + 610))
            .unwrap();
    let reserved = reserved.outcome.unwrap();
    let _ = flow::destination::confirm_sent(&mut ada, &key, &reserved);
    let code = reserved.message.code().to_string();
    // The proof at T0 + 600 is fresh for 300 seconds; the code lives for 600.
    let late = flow::destination::redeem_confirmation_code(&mut ada, &key, &code, &at(T0 + 901));
    assert_eq!(late.outcome.map(drop), Err(Refusal::FreshProofRequired));

    let world = World::new(StandardPolicy::new(), context("admin", false));
    let again = app_code(&mut ada, &phone, &world, T0 + 930).unwrap();
    let proved =
        World::new(StandardPolicy::new(), context("admin", false).with_session(session.proved_at(again)));
    let step = flow::destination::redeem_confirmation_code(&mut ada, &key, &code, &proved.env(T0 + 935));
    assert_eq!(step.outcome.map(|proven| proven.method), Ok(Method::Sms));
}

/// A policy that requires a key of admins (as the standard one does) but lets them
/// turn MFA off themselves.
struct KeysButMayLeave(StandardPolicy);

impl mfa_kit::policy::Policy for KeysButMayLeave {
    fn decide(&self, context: &SignInContext, user: &UserFacts, now: u64) -> mfa_kit::Outcome<Decision> {
        self.0.decide(context, user, now)
    }
    fn lockout(&self, context: &SignInContext) -> mfa_kit::LockoutRule {
        self.0.lockout(context)
    }
    fn enrollment_lifetime(&self, context: &SignInContext) -> u64 {
        self.0.enrollment_lifetime(context)
    }
    fn may_deactivate(&self, _context: &SignInContext, _user: &UserFacts) -> Result<(), mfa_kit::Reason> {
        Ok(())
    }
    fn remember_device_max(&self, context: &SignInContext) -> u64 {
        self.0.remember_device_max(context)
    }
    fn backup_required(&self, context: &SignInContext) -> bool {
        self.0.backup_required(context)
    }
    fn phishing_resistant_required(&self, context: &SignInContext) -> bool {
        self.0.phishing_resistant_required(context)
    }
}

/// Where a user who must prove with a key may turn MFA off, her key's fresh proof does
/// it, whatever else she holds (an app, whose code the rule refuses): a code is not
/// asked for, and without the key's proof nothing is cleared.
#[test]
fn a_user_who_must_use_a_key_turns_mfa_off_with_the_key_beside_an_app() {
    let (mut ada, phone, session) = ada_signed_in_with_an_app_code_before_the_rule();
    let world =
        World::new(KeysButMayLeave(StandardPolicy::new()), context("admin", true).with_session(session));
    let code = phone.generate(T0 + 690).unwrap().to_string();
    let unproved =
        flow::authenticator::deactivate(&mut ada, &[&phone], None, &code, true, &world.env(T0 + 690));
    assert_eq!(unproved.unwrap().outcome, Err(Refusal::FreshProofRequired), "an app code is not the key");
    assert_eq!((ada.security_keys().len(), ada.authenticators().len()), (1, 1));

    let keyed = prove_with_key(&mut ada, &world, 1, 2, T0 + 700);
    let world = World::new(
        KeysButMayLeave(StandardPolicy::new()),
        context("admin", true).with_session(session.proved_at(keyed)),
    );
    let step = flow::authenticator::deactivate(&mut ada, &[&phone], None, "", true, &world.env(T0 + 710));
    assert_eq!(step.unwrap().outcome, Ok(()), "her fresh key proof turns MFA off");
    assert_eq!((ada.security_keys().len(), ada.authenticators().len()), (0, 0));
}

/// As a host meets it: the service judges the admin's reset in her own request (her
/// user type), as its step-up does, so the app code she typed before her firm required
/// keys resets nobody; the staff member's type goes in the request, for `TurnOff`.
#[test]
fn the_service_judges_an_admins_reset_in_her_own_request() {
    use common::{FIRM, Firm, firm_with, office, permitted, reset_of, run, user};
    let firm: Firm =
        firm_with(mfa_kit::store::MemoryStore::new(), |builder| builder.relying_party(TrustingParty));
    let (ada, sam) = (user("ada"), user("sam"));
    let phone = firm.enroll(&ada);
    run(async {
        let started =
            firm.mfa.start_security_key_registration(&ada, "YubiKey", "ada", "Ada", &office()).await;
        started.unwrap().unwrap();
        firm.mfa.finish_security_key_registration(&ada, "1", &office()).await.unwrap().unwrap();
    });
    firm.enroll(&sam);
    firm.clock.advance(86_400);
    firm.prove(&ada, &phone); // an app code, before the rule
    firm.clock.advance(60); // the firm requires keys of admins now

    let as_admin = office().in_org(FIRM).with_user_type("admin").with_org(keys_for_admins());
    let asked = run(firm.mfa.step_up(&ada, SensitiveAction::ResetUser, &as_admin)).unwrap();
    assert!(matches!(&asked, StepUp::Prove { methods, .. } if methods.first() == Some(&Method::SecurityKey)));
    assert_eq!(
        run(firm.mfa.verify_code(&ada, &phone.code(), &as_admin)).unwrap().map(drop),
        Err(Refusal::PhishingResistantRequired)
    );

    for request in
        [reset_of(&ada, &sam, "lost phone"), reset_of(&ada, &sam, "lost phone").for_user_type("staff")]
    {
        let reset = run(firm.mfa.reset(request, &permitted(), &as_admin)).unwrap();
        assert_eq!(reset.map(drop), Err(Refusal::FreshProofRequired), "no reset on an app code");
    }
}
