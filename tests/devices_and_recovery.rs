//! Remembered devices and recovery codes (R16, R19, R28): what the rustdoc and the
//! README promise of them, checked through the service.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::event::{EventKind, SecurityNotice};
use mfa_kit::flow::device::Remembered;
use mfa_kit::policy::{Decision, OrgSettings, SessionFacts, StandardPolicy};
use mfa_kit::relay::NoticeRelay;
use mfa_kit::store::MemoryStore;
use mfa_kit::{Method, Reason, Refusal, Revocation};

const DAY: u64 = 86_400;

/// Two deployments over one store: each has its own hash key (`firm_with` draws one).
/// `keyed_hash`: "Every hash binds what it is for and whose it is"; a device token
/// hashed under one deployment's key is nothing under another's.
#[test]
fn a_device_token_is_refused_by_a_deployment_with_another_hash_key() {
    let store = Arc::new(MemoryStore::new());
    let first = firm_with(store.clone(), |builder| builder);
    let second = firm_with(store.clone(), |builder| builder);
    let sarah = user("sarah");
    first.enroll(&sarah);
    second.clock.set(START + 60);
    let Remembered { token, .. } =
        run(first.mfa.remember_device(&sarah, "Laptop", 30 * DAY, &office())).unwrap().unwrap();
    let with_cookie = office().with_device_token(token);
    assert_eq!(
        run(first.mfa.sign_in_decision(&sarah, &with_cookie)).unwrap(),
        Ok(Decision::Allow { reason: Reason::RememberedDevice })
    );
    let other = run(second.mfa.sign_in_decision(&sarah, &with_cookie)).unwrap();
    assert!(matches!(other, Ok(Decision::Challenge { .. })), "{other:?}");
}

/// `MfaService::devices`: "The user's remembered devices that are still valid";
/// `UserStatus::remembered_devices`: "Remembered devices still valid" (the row made
/// "under the organisation's rules in `context`"). The record's rule for time: a
/// window holds only "while the window is no longer than the rules allow now; a
/// tightened rule (a shorter device cap ...) applies at once", and `flow::device`:
/// a token stops skipping the second factor once it "outlives the policy's current
/// cap". A 30-day device under a 1-hour cap no longer skips anything, and neither the
/// user's device list nor the admin's row reports it as still valid.
#[test]
fn a_device_outlived_by_a_tightened_cap_is_not_listed_or_counted_as_still_valid() {
    let store = Arc::new(MemoryStore::new());
    let lax = firm_with(store.clone(), |builder| builder);
    let sarah = user("sarah");
    lax.enroll(&sarah);
    let Remembered { token, info, .. } =
        run(lax.mfa.remember_device(&sarah, "Laptop", 30 * DAY, &office())).unwrap().unwrap();
    assert_eq!(info.expires_at - info.created_at, 30 * DAY);
    lax.clock.advance(60);

    // The organisation tightens its cap to an hour: in its context the device no
    // longer skips the second factor...
    let tight_settings = OrgSettings::builder().remember_device_max(3600).build().unwrap();
    let context = office().with_org(Arc::new(tight_settings.clone()));
    let decision = run(lax.mfa.sign_in_decision(&sarah, &context.clone().with_device_token(token.clone())));
    assert!(matches!(decision.unwrap(), Ok(Decision::Challenge { .. })));
    // ...but the admin's row under the same rules counts it as still valid.
    let status = run(lax.mfa.status(&sarah, &context)).unwrap();

    // The same, for a deployment whose own default cap is an hour (its `devices` has
    // no context: the defaults are the rules in force).
    let tight = firm_with(store.clone(), |builder| {
        builder.policy(StandardPolicy::new().with_defaults(tight_settings.clone()))
    });
    tight.clock.set(mfa_kit::clock::Clock::now(&lax.clock).unwrap());
    let listed = run(tight.mfa.devices(&sarah)).unwrap();

    assert_eq!(
        (status.remembered_devices, listed.len()),
        (0, 0),
        "a device that no longer skips the second factor is reported as still valid \
         (admin's row count, user's device list)"
    );
}

/// `flow::disown`: redeeming a notice's link "revokes what the notice was about ...
/// the device remembered then; revokes every remembered device"; and remembering a
/// device is then refused (`Refusal::AccountFrozen`). Through the service, with the
/// cookies the browsers keep.
#[test]
fn the_link_of_a_device_notice_revokes_that_device_and_every_other_and_freezes_remembering() {
    let store = Arc::new(MemoryStore::new());
    let shop = firm_with(store.clone(), |builder| builder);
    let sarah = user("sarah");
    let phone = shop.enroll(&sarah);
    let mine = run(shop.mfa.remember_device(&sarah, "Sarah's laptop", 30 * DAY, &office())).unwrap().unwrap();
    shop.clock.advance(60);
    let theirs = run(shop.mfa.remember_device(&sarah, "Unknown", 30 * DAY, &office())).unwrap().unwrap();

    let inbox = Arc::new(Inbox::default());
    let relay = NoticeRelay::new("email", store.clone(), inbox.clone(), shop.clock.clone());
    run(relay.run_once()).unwrap();
    let notice = inbox
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|n| {
            n.kind == SecurityNotice::DeviceRemembered
                && matches!(&n.event, EventKind::DeviceRemembered { device_id, .. } if *device_id == theirs.info.id)
        })
        .cloned()
        .expect("a notice of the new device");
    let link = shop.mfa.disown_token(&notice.user, notice.id, notice.at, &notice.event).unwrap();
    let disowned = run(shop.mfa.disown(&sarah, link.as_str(), &office())).unwrap().unwrap();
    assert_eq!(disowned.revoked, vec![theirs.info.id.clone()]);

    for token in [mine.token, theirs.token] {
        let decision = run(shop.mfa.sign_in_decision(&sarah, &office().with_device_token(token))).unwrap();
        assert!(matches!(decision, Ok(Decision::Challenge { .. })), "{decision:?}");
    }
    assert!(run(shop.mfa.devices(&sarah)).unwrap().is_empty());
    assert!(shop.events(&sarah).iter().any(|k| matches!(
        k,
        EventKind::DevicesRevoked { reason: Revocation::Disowned, device_ids } if device_ids.len() == 2
    )));
    // A fresh proof does not unfreeze remembering a device.
    shop.prove(&sarah, &phone);
    let again = run(shop.mfa.remember_device(&sarah, "Unknown", 30 * DAY, &office())).unwrap();
    assert!(matches!(again, Err(Refusal::AccountFrozen)), "{:?}", again.map(|r| r.info));
}

/// README: a session let in by a remembered device "(which proved nothing) never is"
/// fresh; new recovery codes and remembering a device need a second factor proved
/// within the window.
#[test]
fn a_session_let_in_by_a_remembered_device_can_neither_remember_another_nor_make_new_codes() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let Remembered { token, .. } =
        run(firm.mfa.remember_device(&sarah, "Laptop", 30 * DAY, &office())).unwrap().unwrap();
    let before = run(firm.mfa.record(&sarah)).unwrap().recovery_codes().cloned();
    // Well within the 5-minute window of the proof made at enrollment.
    firm.clock.advance(10);
    let now = START + 70;
    let generation = run(firm.mfa.generation(&sarah)).unwrap();
    let by_device = office().with_device_token(token).with_session(SessionFacts::new(generation, now));
    assert_eq!(
        run(firm.mfa.sign_in_decision(&sarah, &by_device)).unwrap(),
        Ok(Decision::Allow { reason: Reason::RememberedDevice })
    );
    let remembered = run(firm.mfa.remember_device(&sarah, "Another", 30 * DAY, &by_device)).unwrap();
    assert!(matches!(remembered, Err(Refusal::FreshProofRequired)), "{:?}", remembered.map(|r| r.info));
    let codes = run(firm.mfa.generate_recovery_codes(&sarah, &by_device)).unwrap();
    assert!(matches!(codes, Err(Refusal::FreshProofRequired)), "{:?}", codes.map(|c| c.len()));
    assert_eq!(run(firm.mfa.record(&sarah)).unwrap().recovery_codes().cloned(), before);
    assert_eq!(run(firm.mfa.devices(&sarah)).unwrap().len(), 1);
}

/// Each code works once: two different codes redeemed at once on two servers both
/// work, each once; the set counts both; a code of another user's set is wrong.
#[test]
fn two_different_codes_redeemed_at_once_both_work_once_and_another_users_code_does_not() {
    let firm = firm();
    let (sarah, tom) = (user("sarah"), user("tom"));
    firm.enroll(&sarah);
    firm.enroll(&tom);
    let codes = run(firm.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
    let toms = run(firm.mfa.generate_recovery_codes(&tom, &office())).unwrap().unwrap();
    let outcomes =
        race(2, |i| run(firm.mfa.redeem_recovery_code(&sarah, codes[i].as_str(), &office())).unwrap());
    assert!(outcomes.iter().all(|o| matches!(o, Ok(p) if p.method == Method::RecoveryCode)), "{outcomes:?}");
    assert_eq!(run(firm.mfa.record(&sarah)).unwrap().recovery_codes().unwrap().remaining(), codes.len() - 2);
    for code in &codes[..2] {
        let again = run(firm.mfa.redeem_recovery_code(&sarah, code.as_str(), &office())).unwrap();
        assert!(matches!(again, Err(Refusal::CodeReused { .. })), "{again:?}");
    }
    let foreign = run(firm.mfa.redeem_recovery_code(&sarah, toms[0].as_str(), &office())).unwrap();
    assert!(matches!(foreign, Err(Refusal::WrongCode { .. })), "{foreign:?}");
    // Tom's code is still his, unused.
    assert!(run(firm.mfa.redeem_recovery_code(&tom, toms[0].as_str(), &office())).unwrap().is_ok());
}

/// README: sessions end at "a sign-in with a recovery code where the policy says so
/// (`recovery_code_ends_sessions`, on under the presets)": the ATO preset too (the
/// existing test checks the NIST preset), and the ATO preset does not ask for a new
/// set after use (only the NIST preset does).
#[test]
fn under_the_ato_preset_a_recovery_code_ends_the_other_sessions_without_a_replacement_prompt() {
    let firm = firm_with_policy(StandardPolicy::ato_tax_data());
    let ann = user("ann");
    firm.enroll(&ann);
    let codes = run(firm.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    let before = run(firm.mfa.generation(&ann)).unwrap();
    firm.clock.advance(60);
    assert!(run(firm.mfa.redeem_recovery_code(&ann, codes[0].as_str(), &office())).unwrap().is_ok());
    assert_eq!(run(firm.mfa.generation(&ann)).unwrap(), before + 1);
    assert!(!run(firm.mfa.record(&ann)).unwrap().recovery_codes().unwrap().replacement_due());
    assert!(!firm.events(&ann).iter().any(|k| matches!(k, EventKind::RecoveryCodesReplacementDue { .. })));
}

/// `flow::device::issue` cleans a label: control characters dropped, at most 100
/// characters kept; the list, the event and the notice show the cleaned label.
#[test]
fn a_device_label_is_kept_without_control_characters_and_at_most_100_characters() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let long = format!("Firefox\r\n on\u{7} Windows {}", "é".repeat(200));
    let Remembered { info, .. } =
        run(firm.mfa.remember_device(&sarah, &long, DAY, &office())).unwrap().unwrap();
    assert!(info.label.starts_with("Firefox on Windows é"));
    assert_eq!(info.label.chars().count(), 100);
    assert!(!info.label.chars().any(char::is_control));
    assert_eq!(run(firm.mfa.devices(&sarah)).unwrap()[0].label, info.label);
    assert!(
        firm.events(&sarah)
            .iter()
            .any(|k| matches!(k, EventKind::DeviceRemembered { label, .. } if *label == info.label))
    );
}

/// R28: the user is told of "recovery codes regenerated or running low ... and a
/// sign-in with a recovery code": through the relay, each redemption of a three-code
/// set is a notice, and the last three (2 left, 1 left, none left: `LOW_WATERMARK`)
/// each a running-low notice too; once none is left, the sign-in no longer offers
/// recovery codes.
#[test]
fn every_recovery_sign_in_and_every_low_or_exhausted_set_reaches_the_user_and_an_empty_set_is_not_offered() {
    let store = Arc::new(MemoryStore::new());
    let config = mfa_kit::service::ServiceConfig::new("Smith & Co Accounting")
        .with_rules(mfa_kit::flow::Rules::DEFAULT.with_recovery_codes(3));
    let shop = firm_with(store.clone(), |builder| builder.config(config));
    let sarah = user("sarah");
    shop.enroll(&sarah);
    let codes = run(shop.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
    for code in &codes {
        shop.clock.advance(60);
        assert!(run(shop.mfa.redeem_recovery_code(&sarah, code.as_str(), &office())).unwrap().is_ok());
    }
    let inbox = Arc::new(Inbox::default());
    let relay = NoticeRelay::new("email", store.clone(), inbox.clone(), shop.clock.clone());
    run(relay.run_once()).unwrap();
    let count = |kind: SecurityNotice| inbox.0.lock().unwrap().iter().filter(|n| n.kind == kind).count();
    assert_eq!(count(SecurityNotice::RecoveryCodesRegenerated), 1);
    assert_eq!(count(SecurityNotice::SignedInWithRecoveryCode), 3);
    assert_eq!(count(SecurityNotice::RecoveryCodesRunningLow), 3);
    let events = shop.events(&sarah);
    assert!(events.contains(&EventKind::RecoveryCodesLow { remaining: 2 }));
    assert!(events.contains(&EventKind::RecoveryCodesLow { remaining: 1 }));
    assert!(events.contains(&EventKind::RecoveryCodesExhausted));
    let decision = run(shop.mfa.sign_in_decision(&sarah, &office())).unwrap();
    assert!(
        matches!(&decision, Ok(Decision::Challenge { methods, .. }) if !methods.contains(&Method::RecoveryCode)),
        "{decision:?}"
    );
}

/// A recovery code is a sign-in proof with the documented effects under the NIST
/// preset: the account's generation moves once (other sessions end at their next
/// request), the redeeming session adopts it (`flow::session::adopt`) and, with the
/// code as its fresh proof, makes the new set the replacement prompt asks for; the new
/// set voids the old one and is not due.
#[test]
fn under_the_nist_preset_the_redeeming_session_adopts_the_change_and_replaces_the_set() {
    use mfa_kit::flow::session::SessionVerdict;
    use mfa_kit::flow::session::adopt;
    let firm = firm_with_policy(StandardPolicy::nist_aal2());
    let ann = user("ann");
    firm.enroll(&ann);
    let old = run(firm.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    firm.clock.advance(600);
    let now = START + 660;
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    let other = office().with_session(SessionFacts::new(generation, now - 60).proved_at(now - 60));
    let signing_in = office().with_session(SessionFacts::new(generation, now));
    let proven = run(firm.mfa.redeem_recovery_code(&ann, old[0].as_str(), &signing_in)).unwrap().unwrap();
    let current = run(firm.mfa.generation(&ann)).unwrap();
    assert_eq!(current, generation + 1);
    assert!(matches!(run(firm.mfa.check_session(&ann, &other)).unwrap(), SessionVerdict::Ended(_)));
    let adopted = adopt(generation, current).expect("the session's own change");
    let mine = office().with_session(SessionFacts::new(adopted, now).proved_at(proven.at));
    assert_eq!(run(firm.mfa.check_session(&ann, &mine)).unwrap(), SessionVerdict::Continue);
    assert!(run(firm.mfa.record(&ann)).unwrap().recovery_codes().unwrap().replacement_due());
    let new = run(firm.mfa.generate_recovery_codes(&ann, &mine)).unwrap().unwrap();
    assert!(!run(firm.mfa.record(&ann)).unwrap().recovery_codes().unwrap().replacement_due());
    let stale = run(firm.mfa.redeem_recovery_code(&ann, old[1].as_str(), &office())).unwrap();
    assert!(matches!(stale, Err(Refusal::WrongCode { .. })), "{stale:?}");
    assert!(run(firm.mfa.redeem_recovery_code(&ann, new[1].as_str(), &office())).unwrap().is_ok());
}
