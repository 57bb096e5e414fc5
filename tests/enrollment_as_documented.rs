//! A host developer's review of the documented promises of enrollment (R5-R7, R26,
//! R27, R29), recovery codes (R16), remembered devices (R19) and deactivation (R20).
//! Each test quotes the sentence it checks (file:line at the time of writing).

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::Refusal;
use mfa_kit::Revocation;
use mfa_kit::event::{EventKind, SecurityNotice};
use mfa_kit::flow::enrollment::Confirmed;

fn account(who: &mfa_kit::UserId) -> String {
    format!("{who}@smith.example")
}

/// Enrolls `who` on `shop`, freezes the account by disowning the notice of that very
/// app (so no factor is left).
fn frozen_without_factor(shop: &Shop, store: &Arc<mfa_kit::store::MemoryStore>, who: &mfa_kit::UserId) {
    shop.enroll(who);
    let inbox = Arc::new(Inbox::default());
    let notices = delivered(shop, store, &inbox, SecurityNotice::FactorAdded);
    let notice = notices.last().expect("a notice of the new app");
    let disowned = run(shop.mfa.disown(who, &link(shop, notice), &office())).unwrap();
    assert!(disowned.is_ok(), "{disowned:?}");
    let record = run(shop.mfa.record(who)).unwrap();
    assert!(record.authenticators().is_empty(), "the disowned app is revoked");
}

/// src/flow/disown.rs:10-13: redeeming the link "freezes the account's MFA changes:
/// every change of how the account is protected (a factor added, replaced or removed,
/// new recovery codes, a remembered device, turning MFA off) and every host action
/// behind step-up is refused with [`Refusal::AccountFrozen`] until an admin resets the
/// user's MFA".
#[test]
fn a_frozen_account_without_a_factor_hears_it_is_frozen_for_recovery_codes_and_devices() {
    let (shop, store) = shop();
    let sarah = user("sarah");
    frozen_without_factor(&shop, &store, &sarah);
    let codes = run(shop.mfa.generate_recovery_codes(&sarah, &office())).unwrap();
    let device = run(shop.mfa.remember_device(&sarah, "laptop", 86_400, &office())).unwrap();
    assert_eq!(
        (codes.err(), device.err()),
        (Some(Refusal::AccountFrozen), Some(Refusal::AccountFrozen)),
        "a frozen account is refused as frozen"
    );
}

/// The same freeze, for the enrollment calls: starting, adding and importing an app.
#[test]
fn a_frozen_account_cannot_enroll_add_or_import_an_app() {
    let (shop, store) = shop();
    let sarah = user("sarah");
    frozen_without_factor(&shop, &store, &sarah);
    let started = run(shop.mfa.start_enrollment(&sarah, &account(&sarah), &office())).unwrap();
    assert_eq!(started.err(), Some(Refusal::AccountFrozen));
    let restarted = run(shop.mfa.restart_enrollment(&sarah, &account(&sarah), &office())).unwrap();
    assert_eq!(restarted.err(), Some(Refusal::AccountFrozen));
    let added = run(shop.mfa.add_authenticator(&sarah, "Backup", &account(&sarah), &office())).unwrap();
    assert_eq!(added.err(), Some(Refusal::AccountFrozen));
    let imported =
        run(shop.mfa.import_authenticator(&sarah, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", &office())).unwrap();
    assert_eq!(imported.err(), Some(Refusal::AccountFrozen));
}

/// src/service/enrollment.rs:49-51: "the enrollment in progress for `account_name`
/// if there is one still open (a page reload shows the same QR code and key, and
/// writes nothing)".
#[test]
fn a_reload_shows_the_same_key_and_writes_nothing() {
    let firm = firm();
    let sarah = user("sarah");
    let first = run(firm.mfa.start_enrollment(&sarah, &account(&sarah), &office())).unwrap().unwrap();
    let events = firm.mfa.store().events_for(&sarah).len();
    let generation = run(firm.mfa.record(&sarah)).unwrap().generation();
    firm.clock.advance(120);
    let again = run(firm.mfa.start_enrollment(&sarah, &account(&sarah), &office())).unwrap().unwrap();
    assert_eq!(*again.uri, *first.uri);
    assert_eq!(*again.secret_grouped, *first.secret_grouped);
    assert_eq!(again.expires_at, first.expires_at);
    assert_eq!(firm.mfa.store().events_for(&sarah).len(), events);
    assert_eq!(run(firm.mfa.record(&sarah)).unwrap().generation(), generation);
}

/// src/service/enrollment.rs:51-53: "Once confirmed, the new authenticator app
/// replaces the user's other apps (a new phone; security keys stay); the old ones stay
/// active until then." And src/flow/enrollment.rs:420-422: in place of them
/// "(revoking remembered devices, as a new phone should)".
#[test]
fn a_new_phone_replaces_every_app_only_once_confirmed_and_revokes_devices() {
    let firm = firm();
    let sarah = user("sarah");
    let old = firm.enroll(&sarah);
    let remembered = run(firm.mfa.remember_device(&sarah, "laptop", 86_400, &office())).unwrap().unwrap();
    // A second app beside the first.
    let added =
        run(firm.mfa.add_authenticator(&sarah, "Desk", &account(&sarah), &office())).unwrap().unwrap();
    let desk = Phone::scan(&added.uri, &firm.clock);
    let first = desk.code();
    firm.clock.advance(30);
    let confirmed = run(firm.mfa.confirm_enrollment(&sarah, &[&first, &desk.code()], &office())).unwrap();
    assert!(matches!(confirmed, Ok(Confirmed { replaced: false, .. })), "{confirmed:?}");
    assert_eq!(run(firm.mfa.devices(&sarah)).unwrap().len(), 1, "adding keeps devices");
    // A new phone: both old apps keep working while it is pending.
    firm.prove(&sarah, &old);
    let start = run(firm.mfa.start_enrollment(&sarah, &account(&sarah), &office())).unwrap().unwrap();
    let new = Phone::scan(&start.uri, &firm.clock);
    firm.prove(&sarah, &desk);
    let first = new.code();
    firm.clock.advance(30);
    let confirmed = run(firm.mfa.confirm_enrollment(&sarah, &[&first, &new.code()], &office())).unwrap();
    assert!(matches!(confirmed, Ok(Confirmed { replaced: true, .. })), "{confirmed:?}");
    let record = run(firm.mfa.record(&sarah)).unwrap();
    assert_eq!(record.authenticators().len(), 1, "the new phone replaces both apps");
    assert!(run(firm.mfa.devices(&sarah)).unwrap().is_empty());
    assert!(firm.events(&sarah).iter().any(|k| matches!(
        k,
        EventKind::DevicesRevoked { reason: Revocation::NewAuthenticator, device_ids }
            if *device_ids == vec![remembered.info.id.clone()]
    )));
    firm.clock.advance(30);
    let refused = run(firm.mfa.verify_code(&sarah, &old.code(), &office())).unwrap();
    assert!(refused.is_err(), "the old phone no longer works");
}

/// src/flow/authenticator.rs:287-288: deactivating "Clears every authenticator and
/// security key, any enrollment, recovery codes, SMS and e-mail destinations and
/// remembered devices, and ends the user's other sessions."
#[test]
fn turning_off_clears_pending_enrollment_recovery_codes_and_devices() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    run(firm.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
    let device = run(firm.mfa.remember_device(&sarah, "laptop", 86_400, &office())).unwrap().unwrap();
    run(firm.mfa.add_authenticator(&sarah, "Desk", &account(&sarah), &office())).unwrap().unwrap();
    let generation = run(firm.mfa.record(&sarah)).unwrap().generation();
    firm.clock.advance(30);
    run(firm.mfa.deactivate(&sarah, &phone.code(), true, &office())).unwrap().unwrap();
    let record = run(firm.mfa.record(&sarah)).unwrap();
    assert!(record.authenticators().is_empty());
    assert!(record.pending_enrollment().is_none());
    assert!(record.recovery_codes().is_none());
    assert!(record.devices().is_empty());
    assert!(record.generation() > generation);
    let events = firm.events(&sarah);
    assert!(events.iter().any(|k| matches!(
        k,
        EventKind::DevicesRevoked { reason: Revocation::Deactivated, device_ids } if *device_ids == vec![device.info.id.clone()]
    )));
    assert_eq!(events.last(), Some(&EventKind::Deactivated));
}

/// src/flow/authenticator.rs:267-268 / README "turn off MFA -> deactivate(code,
/// confirmed)": without the confirmation nothing changes, whatever the code.
#[test]
fn turning_off_without_confirmation_changes_nothing() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    firm.clock.advance(30);
    let before = run(firm.mfa.record(&sarah)).unwrap().generation();
    let refused = run(firm.mfa.deactivate(&sarah, &phone.code(), false, &office())).unwrap();
    assert_eq!(refused.err(), Some(Refusal::ConfirmationRequired));
    let record = run(firm.mfa.record(&sarah)).unwrap();
    assert_eq!(record.authenticators().len(), 1);
    assert_eq!(record.generation(), before);
    // The code was not spent: it still signs in.
    assert!(run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
}

/// src/flow/recovery.rs:3-8: "A set (10 by default) of codes of 15 characters ...
/// shown in three groups of five ... A code is accepted with or without separators
/// and in any letter case, once; a second try says "already used". Regenerating
/// replaces the whole set."
#[test]
fn recovery_codes_format_single_use_and_replacement() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let codes = run(firm.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
    assert_eq!(codes.len(), 10);
    for code in &codes {
        let groups: Vec<&str> = code.as_str().split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), vec![5, 5, 5]);
    }
    assert!(firm.events(&sarah).contains(&EventKind::RecoveryCodesGenerated { count: 10 }));
    let typed = codes[0].as_str().replace('-', " ").to_lowercase();
    assert!(run(firm.mfa.redeem_recovery_code(&sarah, &typed, &office())).unwrap().is_ok());
    let again = run(firm.mfa.redeem_recovery_code(&sarah, codes[0].as_str(), &office())).unwrap();
    let said = again.expect_err("a code works once").to_string().to_lowercase();
    assert!(said.contains("already used"), "{said}");
    // A new set: the old unused codes stop working.
    firm.clock.advance(30);
    let fresh = run(firm.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
    assert!(run(firm.mfa.redeem_recovery_code(&sarah, codes[1].as_str(), &office())).unwrap().is_err());
    assert!(run(firm.mfa.redeem_recovery_code(&sarah, fresh[0].as_str(), &office())).unwrap().is_ok());
}

/// src/service/recovery.rs:12-13: "The user needs MFA first."
#[test]
fn recovery_codes_and_devices_need_mfa_first() {
    let firm = firm();
    let sarah = user("sarah");
    let codes = run(firm.mfa.generate_recovery_codes(&sarah, &office())).unwrap();
    assert_eq!(codes.err(), Some(Refusal::NotEnrolled));
    let device = run(firm.mfa.remember_device(&sarah, "laptop", 86_400, &office())).unwrap();
    assert_eq!(device.err(), Some(Refusal::NotEnrolled));
}

/// src/service/device.rs:127-131 and src/flow/device.rs:152-154: a password change
/// revokes every device, moves the generation, "Returns how many devices there were";
/// audited as `password_changed`, and the devices as `devices_revoked` with reason
/// `password_changed`.
#[test]
fn a_password_change_revokes_every_device_and_says_how_many() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let a = run(firm.mfa.remember_device(&sarah, "laptop", 86_400, &office())).unwrap().unwrap();
    let b = run(firm.mfa.remember_device(&sarah, "phone", 86_400, &office())).unwrap().unwrap();
    let generation = run(firm.mfa.record(&sarah)).unwrap().generation();
    let count = run(firm.mfa.password_changed(&sarah, &office().request)).unwrap();
    assert_eq!(count, 2);
    assert!(run(firm.mfa.record(&sarah)).unwrap().generation() > generation);
    let events = firm.events(&sarah);
    let tail = &events[events.len() - 2..];
    assert_eq!(tail[0], EventKind::PasswordChanged);
    assert!(matches!(
        &tail[1],
        EventKind::DevicesRevoked { reason: Revocation::PasswordChanged, device_ids }
            if *device_ids == vec![a.info.id.clone(), b.info.id.clone()]
    ));
    let decision = run(firm.mfa.sign_in_decision(&sarah, &office().with_device_token(a.token))).unwrap();
    assert!(matches!(decision, Ok(mfa_kit::policy::Decision::Challenge { .. })), "{decision:?}");
    // With no device left, a password change still ends the other sessions.
    let generation = run(firm.mfa.record(&sarah)).unwrap().generation();
    assert_eq!(run(firm.mfa.password_changed(&sarah, &office().request)).unwrap(), 0);
    assert!(run(firm.mfa.record(&sarah)).unwrap().generation() > generation);
}

/// src/service/device.rs:93-125: revoking one device says whether it existed;
/// revoking all says how many; each audited as `devices_revoked`.
#[test]
fn revoking_devices_one_and_all() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let a = run(firm.mfa.remember_device(&sarah, "laptop", 86_400, &office())).unwrap().unwrap();
    run(firm.mfa.remember_device(&sarah, "phone", 86_400, &office())).unwrap().unwrap();
    let request = office().request;
    let events = firm.events(&sarah).len();
    assert!(!run(firm.mfa.revoke_device(&sarah, "nope", &sarah, &request)).unwrap());
    assert_eq!(firm.events(&sarah).len(), events, "nothing revoked, nothing audited");
    assert!(run(firm.mfa.revoke_device(&sarah, &a.info.id, &sarah, &request)).unwrap());
    assert!(matches!(
        firm.events(&sarah).last(),
        Some(EventKind::DevicesRevoked { reason: Revocation::Requested, device_ids }) if *device_ids == vec![a.info.id.clone()]
    ));
    assert_eq!(run(firm.mfa.devices(&sarah)).unwrap().len(), 1);
    let admin = user("partner");
    assert_eq!(run(firm.mfa.revoke_all_devices(&sarah, &admin, Revocation::Requested, &request)).unwrap(), 1);
    let last = firm.mfa.store().events_for(&sarah).pop().expect("the revocation's event");
    assert_eq!(
        (last.user.clone(), last.actor.clone()),
        (sarah.clone(), admin.clone()),
        "the admin is the actor"
    );
    assert_eq!(run(firm.mfa.revoke_all_devices(&sarah, &admin, Revocation::Requested, &request)).unwrap(), 0);
    assert!(run(firm.mfa.devices(&sarah)).unwrap().is_empty());
}

/// src/flow/enrollment.rs:215-219: an import is "Refused when the user already has an
/// authenticator (a replacement is set up with codes)"; src/service/enrollment.rs:243-244:
/// "The user's next code sets the replay floor. Audited as `AuthenticatorImported`."
#[test]
fn import_is_audited_sets_the_floor_with_the_next_code_and_is_refused_twice() {
    let firm = firm();
    let sarah = user("sarah");
    let key = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    run(firm.mfa.import_authenticator(&sarah, key, &office())).unwrap().unwrap();
    assert_eq!(firm.events(&sarah).last(), Some(&EventKind::AuthenticatorImported));
    let phone = Phone::scan(&format!("otpauth://totp/x?secret={key}"), &firm.clock);
    let code = phone.code();
    assert!(run(firm.mfa.verify_code(&sarah, &code, &office())).unwrap().is_ok());
    assert!(matches!(
        run(firm.mfa.verify_code(&sarah, &code, &office())).unwrap(),
        Err(Refusal::CodeReused { .. })
    ));
    let again = run(firm.mfa.import_authenticator(&sarah, key, &office())).unwrap();
    assert_eq!(again.err(), Some(Refusal::AlreadyEnrolled));
}

/// src/flow/recovery.rs:45: "At or below this many unused codes the user is warned
/// (an audit event)" and the last one used emits `recovery_codes_exhausted`.
#[test]
fn low_and_exhausted_warnings_carry_the_count() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let codes = run(firm.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
    for (used, code) in codes.iter().enumerate() {
        firm.clock.advance(1);
        run(firm.mfa.redeem_recovery_code(&sarah, code.as_str(), &office())).unwrap().unwrap();
        let remaining = codes.len() - used - 1;
        let last = firm.events(&sarah).last().cloned();
        match remaining {
            0 => assert_eq!(last, Some(EventKind::RecoveryCodesExhausted)),
            1 | 2 => assert_eq!(last, Some(EventKind::RecoveryCodesLow { remaining })),
            _ => assert!(!matches!(
                last,
                Some(EventKind::RecoveryCodesLow { .. } | EventKind::RecoveryCodesExhausted)
            )),
        }
    }
}

/// src/service/enrollment.rs:137-139: restart is "Refused during a lockout".
/// And a reload during a lockout shows no key either (src/flow/enrollment.rs:327-328).
#[test]
fn a_locked_out_user_cannot_restart_or_reload_the_enrollment() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let _ = run(firm.mfa.start_enrollment(&sarah, &account(&sarah), &office())).unwrap().unwrap();
    for _ in 0..20 {
        let outcome = run(firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office())).unwrap();
        if matches!(outcome, Err(Refusal::LockedOut { .. })) {
            break;
        }
    }
    let reload = run(firm.mfa.start_enrollment(&sarah, &account(&sarah), &office())).unwrap();
    assert!(matches!(reload, Err(Refusal::LockedOut { .. })), "{reload:?}");
    let restart = run(firm.mfa.restart_enrollment(&sarah, &account(&sarah), &office())).unwrap();
    assert!(matches!(restart, Err(Refusal::LockedOut { .. })), "{restart:?}");
}

/// src/flow/enrollment.rs:364-365: "wrong confirmations are counted against the
/// enrollment, which is discarded after the lockout rule's number of them": against
/// the enrollment, not the user's sign-in lockout.
#[test]
fn wrong_confirmations_count_against_the_enrollment_not_the_sign_in() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let start = run(firm.mfa.start_enrollment(&sarah, &account(&sarah), &office())).unwrap().unwrap();
    let new = Phone::scan(&start.uri, &firm.clock);
    let wrong = new.wrong_code();
    let other = format!("{:06}", (wrong.parse::<u32>().unwrap() + 500_000) % 1_000_000);
    let mut refusals = Vec::new();
    for _ in 0..5 {
        refusals.push(run(firm.mfa.confirm_enrollment(&sarah, &[&wrong, &other], &office())).unwrap().err());
    }
    assert_eq!(refusals.last(), Some(&Some(Refusal::EnrollmentDiscarded)), "{refusals:?}");
    assert!(run(firm.mfa.record(&sarah)).unwrap().pending_enrollment().is_none());
    // However the confirmations went, the old phone still signs in with no lockout.
    let record = run(firm.mfa.record(&sarah)).unwrap();
    assert_eq!(record.authenticators().len(), 1);
    firm.clock.advance(30);
    let outcome = run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");
}

/// src/service/device.rs:78-81: `devices` lists "The user's remembered devices that
/// are still valid: not expired".
#[test]
fn an_expired_device_is_no_longer_listed_nor_lets_in() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let device = run(firm.mfa.remember_device(&sarah, "laptop", 3_600, &office())).unwrap().unwrap();
    assert_eq!(device.info.expires_at, device.info.created_at + 3_600);
    assert!(firm.events(&sarah).iter().any(|k| matches!(
        k,
        EventKind::DeviceRemembered { device_id, label, expires_at }
            if *device_id == device.info.id && label == "laptop" && *expires_at == device.info.expires_at
    )));
    let decision =
        run(firm.mfa.sign_in_decision(&sarah, &office().with_device_token(device.token.clone()))).unwrap();
    assert!(matches!(decision, Ok(mfa_kit::policy::Decision::Allow { .. })), "{decision:?}");
    firm.clock.advance(3_600);
    assert!(run(firm.mfa.devices(&sarah)).unwrap().is_empty());
    let decision = run(firm.mfa.sign_in_decision(&sarah, &office().with_device_token(device.token))).unwrap();
    assert!(matches!(decision, Ok(mfa_kit::policy::Decision::Challenge { .. })), "{decision:?}");
}

/// src/flow/disown.rs:10-13 (a factor replaced or added is refused on a frozen
/// account) against src/flow/enrollment.rs:365-367 (confirming needs what starting
/// needed): an enrollment opened before the freeze cannot be confirmed after it.
#[test]
fn an_enrollment_opened_before_a_freeze_cannot_be_confirmed_after_it() {
    let (shop, store) = shop();
    let sarah = user("sarah");
    shop.enroll(&sarah);
    run(shop.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
    let start =
        run(shop.mfa.add_authenticator(&sarah, "Desk", &account(&sarah), &office())).unwrap().unwrap();
    let desk = Phone::scan(&start.uri, &shop.clock);
    let inbox = Arc::new(Inbox::default());
    let notice = delivered(&shop, &store, &inbox, SecurityNotice::RecoveryCodesRegenerated)
        .pop()
        .expect("a notice of the new codes");
    run(shop.mfa.disown(&sarah, &link(&shop, &notice), &office())).unwrap().unwrap();
    let first = desk.code();
    shop.clock.advance(30);
    let confirmed = run(shop.mfa.confirm_enrollment(&sarah, &[&first, &desk.code()], &office())).unwrap();
    // Refused: as frozen, or because redeeming the link discarded the enrollment.
    assert!(matches!(confirmed, Err(Refusal::AccountFrozen | Refusal::NoPendingEnrollment)), "{confirmed:?}");
    assert_eq!(run(shop.mfa.record(&sarah)).unwrap().authenticators().len(), 1);
}

/// docs/requirements.md:76-77 (R19): "a policy caps its life (ATO asks for less than 24
/// hours for tax data)"; src/service/device.rs:59-60: "Its life is `lifetime` seconds,
/// capped by the policy."
#[test]
fn the_ato_preset_caps_a_remembered_device_below_a_day() {
    let firm = firm_with_policy(mfa_kit::policy::StandardPolicy::ato_tax_data());
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let device = run(firm.mfa.remember_device(&sarah, "laptop", 30 * 86_400, &office())).unwrap().unwrap();
    let life = device.info.expires_at - device.info.created_at;
    assert!(life < 86_400, "{life}");
    assert_eq!(life, mfa_kit::policy::Preset::REMEMBER_CAP);
    assert!(firm.events(&sarah).iter().any(|k| matches!(
        k,
        EventKind::DeviceRemembered { expires_at, .. } if *expires_at == device.info.expires_at
    )));
}

/// src/service/enrollment.rs:240-244: an import needs no codes, "The secret must be
/// at least 128 bits"; the user then has MFA, and (README "Sessions that follow the
/// account": "an authenticator ... added") the account's generation moves.
#[test]
fn an_imported_app_counts_as_mfa_and_ends_other_sessions() {
    let firm = firm();
    let sarah = user("sarah");
    let generation = run(firm.mfa.record(&sarah)).unwrap().generation();
    run(firm.mfa.import_authenticator(&sarah, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", &office()))
        .unwrap()
        .unwrap();
    assert!(run(firm.mfa.status(&sarah, &office())).unwrap().has_mfa());
    assert!(run(firm.mfa.record(&sarah)).unwrap().generation() > generation);
    let short = run(firm.mfa.import_authenticator(&user("tom"), "GEZDGNBVGY3TQ", &office())).unwrap();
    assert_eq!(short.err(), Some(Refusal::InvalidKey));
}

/// An organisation whose SSO provider does MFA, and a sign-in through it.
fn sso_only() -> mfa_kit::policy::SignInContext {
    let settings = mfa_kit::policy::OrgSettings::builder().sso_without_mfa(vec!["*".into()]).build().unwrap();
    office().with_org(Arc::new(settings)).with_sso(true)
}

/// src/policy/settings.rs:229-232: `sso_without_mfa`: "The user types ... whose users,
/// signing in through single sign-on, can neither be asked for nor set up MFA here:
/// their SSO provider does it (seed 003)."
#[test]
fn an_sso_user_whose_provider_does_mfa_cannot_start_add_or_import_an_app() {
    let firm = firm();
    let sarah = user("sarah");
    let sso = sso_only();
    let forbidden = Some(Refusal::Forbidden(mfa_kit::Reason::SingleSignOn));
    let started = run(firm.mfa.start_enrollment(&sarah, &account(&sarah), &sso)).unwrap();
    assert_eq!(started.err(), forbidden);
    let added = run(firm.mfa.add_authenticator(&sarah, "Desk", &account(&sarah), &sso)).unwrap();
    assert_eq!(added.err(), forbidden);
    let imported =
        run(firm.mfa.import_authenticator(&sarah, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", &sso)).unwrap();
    assert_eq!(imported.err(), forbidden);
    assert!(run(firm.mfa.record(&sarah)).unwrap().pending_enrollment().is_none());
}

/// The same sentence (src/policy/settings.rs:229-232), for an enrollment the user
/// opened earlier in a password sign-in: through SSO, the enrollment screen
/// (`start_enrollment`, src/service/enrollment.rs:49-51, "the enrollment in progress
/// ... a page reload shows the same QR code and key") must not show the key of a set-up
/// the user cannot do here (the confirmation is refused).
#[test]
fn an_sso_user_whose_provider_does_mfa_is_not_shown_the_key_of_an_earlier_enrollment() {
    let firm = firm();
    let sarah = user("sarah");
    let opened = run(firm.mfa.start_enrollment(&sarah, &account(&sarah), &office())).unwrap().unwrap();
    let sso = sso_only();
    let phone = Phone::scan(&opened.uri, &firm.clock);
    let first = phone.code();
    firm.clock.advance(30);
    let confirmed = run(firm.mfa.confirm_enrollment(&sarah, &[&first, &phone.code()], &sso)).unwrap();
    let reload = run(firm.mfa.start_enrollment(&sarah, &account(&sarah), &sso)).unwrap();
    let forbidden = Some(Refusal::Forbidden(mfa_kit::Reason::SingleSignOn));
    assert_eq!(confirmed.err(), forbidden, "the set-up cannot be finished through SSO");
    assert_eq!(
        reload.as_ref().err(),
        forbidden.as_ref(),
        "the reload through SSO shows the QR code and key: {reload:?}"
    );
}
