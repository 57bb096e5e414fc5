//! Second, behaviour-level guards for four rules that each had one test: a remembered
//! device's token is bound to its user, the step-up window ends exactly at its edge,
//! step-up judges the asking session's own proof, and new recovery codes need a fresh
//! proof. Each story differs from the first test of its rule, so a change that breaks
//! the rule in another way is still caught.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::flow::step_up::StepUp;
use mfa_kit::policy::{Decision, OrgSettings, SessionFacts};
use mfa_kit::record::{DeviceToken, UserRecord};
use mfa_kit::store::{SaveOutcome, Store};
use mfa_kit::{Refusal, SensitiveAction};

/// Someone with write access to the records copies the remembered device from their
/// own record into Sarah's and presents their own cookie at Sarah's sign-in: the
/// device's hash is keyed to its user, so in Sarah's record it matches nothing.
#[test]
fn a_remembered_device_copied_into_another_users_record_does_not_let_its_cookie_in() {
    let firm = firm();
    let (mallory, sarah) = (user("mallory"), user("sarah"));
    let mallory_phone = firm.enroll(&mallory);
    firm.enroll(&sarah);
    run(async {
        assert!(firm.mfa.verify_code(&mallory, &mallory_phone.code(), &office()).await.unwrap().is_ok());
        let remembered =
            firm.mfa.remember_device(&mallory, "Laptop", 86_400, &office()).await.unwrap().unwrap();
        let cookie = office().with_device_token(DeviceToken::from_cookie(remembered.token.as_str()));
        let mallorys_own = firm.mfa.sign_in_decision(&mallory, &cookie).await.unwrap();
        assert!(matches!(mallorys_own, Ok(Decision::Allow { .. })), "{mallorys_own:?}");

        // The copy: Mallory's device entries written into Sarah's stored record.
        let store = firm.mfa.store();
        let theirs = serde_json::to_value(store.load(&mallory).await.unwrap().unwrap().record).unwrap();
        let stored = store.load(&sarah).await.unwrap().unwrap();
        let mut hers = serde_json::to_value(&stored.record).unwrap();
        hers["devices"] = theirs["devices"].clone();
        let tampered: UserRecord = serde_json::from_value(hers).unwrap();
        assert_eq!(tampered.devices().len(), 1, "the copied device is in Sarah's record");
        let saved = store.save(tampered, Some(stored.version), vec![]).await.unwrap();
        assert!(matches!(saved, SaveOutcome::Saved(_)));

        let at_sarahs = firm.mfa.sign_in_decision(&sarah, &cookie).await.unwrap();
        assert!(matches!(at_sarahs, Ok(Decision::Challenge { .. })), "{at_sarahs:?}");
    });
}

/// The window is the organisation's (here 10 minutes) and is judged on the session's
/// own proof: fresh 599 seconds after it, stale from the 600th on (as the first test
/// finds for the default 5 minutes through the record's proof).
#[test]
fn a_sessions_proof_is_fresh_to_the_last_second_of_the_organisations_window_and_not_after() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let settings = Arc::new(OrgSettings::builder().fresh_proof_window(600).build().unwrap());
    run(async {
        assert!(firm.mfa.verify_code(&ann, &phone.code(), &office()).await.unwrap().is_ok());
        let proved_at = firm.mfa.record(&ann).await.unwrap().last_proof().unwrap().at;
        let generation = firm.mfa.generation(&ann).await.unwrap();
        let session = SessionFacts::new(generation, proved_at - 60).proved_at(proved_at);
        let context = || office().with_org(settings.clone()).with_session(session);

        firm.clock.set(proved_at + 599);
        let edge = firm.mfa.step_up(&ann, SensitiveAction::Host, &context()).await.unwrap();
        assert!(edge.may_proceed(), "at the window's last second: {edge:?}");
        firm.clock.set(proved_at + 600);
        let past = firm.mfa.step_up(&ann, SensitiveAction::Host, &context()).await.unwrap();
        assert!(matches!(past, StepUp::Prove { window: 600, .. }), "at the window's end: {past:?}");
    });
}

/// Two browsers of one user: the one that typed the code may go ahead, the other,
/// signed in earlier and never asked for a code since, may not, though the record's
/// latest proof is seconds old.
#[test]
fn of_two_sessions_only_the_one_that_proved_may_change_bank_details() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    run(async {
        let generation = firm.mfa.generation(&ann).await.unwrap();
        let now = firm.mfa.record(&ann).await.unwrap().last_proof().unwrap().at;
        firm.clock.advance(3600);
        let old_tab = SessionFacts::new(generation, now).proved_at(now);
        assert!(firm.mfa.verify_code(&ann, &phone.code(), &office()).await.unwrap().is_ok());
        let proved_at = firm.mfa.record(&ann).await.unwrap().last_proof().unwrap().at;
        let new_tab = SessionFacts::new(generation, proved_at - 30).proved_at(proved_at);

        let in_new = firm.mfa.step_up(&ann, SensitiveAction::Host, &office().with_session(new_tab)).await;
        assert!(in_new.unwrap().may_proceed());
        let in_old = firm.mfa.step_up(&ann, SensitiveAction::Host, &office().with_session(old_tab)).await;
        assert_eq!(in_old.unwrap().refusal(), Some(Refusal::FreshProofRequired));
        // A session claiming a proof later than any the record knows is not believed.
        let forged = new_tab.proved_at(proved_at + 10);
        let in_forged = firm.mfa.step_up(&ann, SensitiveAction::Host, &office().with_session(forged)).await;
        assert!(!in_forged.unwrap().may_proceed());
    });
}

/// A stale session cannot make a new set of recovery codes: refused, the old set
/// kept, nothing audited as generated; after a code it can.
#[test]
fn new_recovery_codes_from_a_stale_session_are_refused_and_the_old_set_kept() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    run(async {
        let first = firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap();
        assert!(first.is_ok(), "right after the enrollment's proof: {first:?}");
        let kept = firm.mfa.record(&sarah).await.unwrap().recovery_codes().cloned();
        let generated = |firm: &Firm| {
            firm.events(&sarah)
                .iter()
                .filter(|kind| matches!(kind, mfa_kit::event::EventKind::RecoveryCodesGenerated { .. }))
                .count()
        };
        assert_eq!(generated(&firm), 1);

        firm.clock.advance(301);
        let stale = firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap();
        assert_eq!(stale.unwrap_err(), Refusal::FreshProofRequired);
        assert_eq!(
            firm.mfa.record(&sarah).await.unwrap().recovery_codes().cloned(),
            kept,
            "the old set is kept"
        );
        assert_eq!(generated(&firm), 1, "nothing was generated");

        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());
        assert!(firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().is_ok());
        assert_eq!(generated(&firm), 2);
    });
}
