//! Stories of step-up: a payroll officer proves a second factor again before changing
//! bank details or how her account is protected, and an admin before resetting
//! someone or changing who must use MFA.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::Destination;
use mfa_kit::flow::oversight::SettingsChange;
use mfa_kit::flow::step_up::StepUp;
use mfa_kit::policy::SessionFacts;
use mfa_kit::policy::{OrgSettings, Preset, StandardPolicy};
use mfa_kit::{Method, Refusal, Role, SensitiveAction};

#[test]
fn changing_bank_details_asks_for_a_code_when_the_last_proof_is_stale_and_not_after_one() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    run(async {
        // Just after setting up her app, the enrollment's codes are a fresh proof.
        let fresh = firm.mfa.step_up(&ann, SensitiveAction::Host, &office()).await.unwrap();
        assert!(fresh.may_proceed(), "{fresh:?}");

        // Hours later her session is still open, but the proof is stale.
        firm.clock.advance(3 * 3600);
        let stale = firm.mfa.step_up(&ann, SensitiveAction::Host, &office()).await.unwrap();
        assert_eq!(stale, StepUp::Prove { methods: vec![Method::Totp], window: 300 });
        assert_eq!(stale.refusal(), Some(Refusal::FreshProofRequired));

        // She types a code; for five minutes the change may go ahead.
        assert!(firm.mfa.verify_code(&ann, &phone.code(), &office()).await.unwrap().is_ok());
        let proved = firm.mfa.step_up(&ann, SensitiveAction::Host, &office()).await.unwrap();
        assert!(matches!(proved, StepUp::Proceed { proof: Some(p) } if p.method == Method::Totp));
        firm.clock.advance(299);
        assert!(firm.mfa.step_up(&ann, SensitiveAction::Host, &office()).await.unwrap().may_proceed());
        firm.clock.advance(1);
        assert!(!firm.mfa.step_up(&ann, SensitiveAction::Host, &office()).await.unwrap().may_proceed());
    });
}

#[test]
fn a_user_without_a_second_factor_is_asked_to_set_one_up_before_a_sensitive_action() {
    let firm = firm();
    let tom = user("tom");
    run(async {
        let answer = firm.mfa.step_up(&tom, SensitiveAction::Host, &office()).await.unwrap();
        assert_eq!(answer, StepUp::EnrollFirst);
        // Setting up the first factor needs no proof: there is nothing to prove with.
        let first = firm.mfa.step_up(&tom, SensitiveAction::AddAuthenticator, &office()).await.unwrap();
        assert_eq!(first, StepUp::Proceed { proof: None });
    });
}

#[test]
fn replacing_the_authenticator_from_a_stale_session_is_refused_until_a_code_is_typed() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    firm.clock.advance(86_400);
    run(async {
        let account = "sarah@smith.example";
        let refused = firm.mfa.restart_enrollment(&sarah, account, &office()).await.unwrap();
        assert_eq!(refused.unwrap_err(), Refusal::FreshProofRequired);
        assert!(firm.mfa.record(&sarah).await.unwrap().pending_enrollment().is_none(), "nothing was started");

        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());
        assert!(firm.mfa.restart_enrollment(&sarah, account, &office()).await.unwrap().is_ok());
    });
}

#[test]
fn recovery_codes_a_remembered_device_and_a_new_backup_phone_each_need_a_fresh_proof() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let outbox = Outbox::default();
    firm.clock.advance(3600);
    run(async {
        let mobile = Destination::sms("+61 412 345 678").unwrap();
        assert_eq!(
            firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().unwrap_err(),
            Refusal::FreshProofRequired
        );
        assert_eq!(
            firm.mfa.remember_device(&sarah, "Laptop", 86_400, &office()).await.unwrap().unwrap_err(),
            Refusal::FreshProofRequired
        );
        let added = firm.mfa.add_destination(&sarah, mobile.clone(), Role::Backup, &outbox, &office()).await;
        assert_eq!(added.unwrap().unwrap_err(), Refusal::FreshProofRequired);
        assert_eq!(outbox.count(), 0, "no code is sent for a refused change");

        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());
        assert!(firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().is_ok());
        assert!(firm.mfa.remember_device(&sarah, "Laptop", 86_400, &office()).await.unwrap().is_ok());
        assert!(
            firm.mfa.add_destination(&sarah, mobile, Role::Backup, &outbox, &office()).await.unwrap().is_ok()
        );
        assert!(firm.mfa.confirm_destination(&sarah, &outbox.last_code(), &office()).await.unwrap().is_ok());

        // A day later, removing the confirmed backup phone needs a proof again.
        firm.clock.advance(86_400);
        let removed = firm.mfa.remove_destination(&sarah, Role::Backup, &office()).await.unwrap();
        assert_eq!(removed, Err(Refusal::FreshProofRequired));
        firm.prove(&sarah, &phone);
        assert_eq!(firm.mfa.remove_destination(&sarah, Role::Backup, &office()).await.unwrap(), Ok(true));
    });
}

#[test]
fn a_recovery_code_is_a_fresh_proof_for_replacing_a_lost_phone() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    run(async {
        let codes = firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().unwrap();
        firm.clock.advance(7 * 86_400);
        // The phone is gone: a recovery code signs her in and lets her set up a new one.
        let typed = codes[0].as_str();
        assert!(firm.mfa.redeem_recovery_code(&sarah, typed, &office()).await.unwrap().is_ok());
        let started = firm.mfa.restart_enrollment(&sarah, "sarah@smith.example", &office()).await.unwrap();
        assert!(started.is_ok(), "{started:?}");
    });
}

#[test]
fn an_admin_resets_someone_or_changes_settings_only_with_a_fresh_proof_of_their_own() {
    let firm = firm();
    let (sarah, partner) = (user("sarah"), user("partner"));
    firm.enroll(&sarah);
    let partner_phone = firm.enroll(&partner);
    firm.clock.advance(86_400);
    let current = OrgSettings::default();
    let save = |_: OrgSettings| std::future::ready(Ok::<(), std::convert::Infallible>(()));
    let anyone = permitted();
    run(async {
        let stale =
            firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &office()).await.unwrap();
        assert_eq!(stale, Err(Refusal::FreshProofRequired));
        let change = SettingsChange::new("smith-co", &partner, &current, current.clone());
        let stale = firm.mfa.change_org_settings(change, &anyone, &office(), save).await.unwrap();
        assert_eq!(stale, Err(Refusal::FreshProofRequired));
        // Both refusals are audited, and Sarah still has her authenticator.
        assert!(firm.mfa.record(&sarah).await.unwrap().totp().is_some());

        firm.prove(&partner, &partner_phone);
        assert!(
            firm.mfa
                .reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &office())
                .await
                .unwrap()
                .is_ok()
        );
        let change = SettingsChange::new("smith-co", &partner, &current, current.clone());
        assert!(firm.mfa.change_org_settings(change, &anyone, &office(), save).await.unwrap().is_ok());
    });
    let refused = firm.events(&partner);
    assert!(refused.iter().any(|e| matches!(e, mfa_kit::event::EventKind::OrgSettingsChangeRefused { .. })));
}

#[test]
fn an_admin_without_mfa_cannot_change_who_must_use_it() {
    let firm = firm();
    let admin = user("admin");
    let current = OrgSettings::default();
    let change = SettingsChange::new("smith-co", &admin, &current, current.clone());
    let save = |_: OrgSettings| std::future::ready(Ok::<(), std::convert::Infallible>(()));
    let outcome = run(firm.mfa.change_org_settings(change, &permitted(), &office(), save));
    assert_eq!(outcome.unwrap(), Err(Refusal::ActorWithoutMfa));
}

#[test]
fn the_window_is_the_organisations_and_the_presets_cap_it() {
    let policy = StandardPolicy::new();
    let wide = OrgSettings::builder().fresh_proof_window(3600).build().unwrap();
    let firm = firm_with_policy(policy.clone());
    let ann = user("ann");
    firm.enroll(&ann);
    let org = office().with_org(Arc::new(wide.clone()));
    firm.clock.advance(1800);
    run(async {
        assert!(firm.mfa.step_up(&ann, SensitiveAction::Host, &org).await.unwrap().may_proceed());
        assert!(!firm.mfa.step_up(&ann, SensitiveAction::Host, &office()).await.unwrap().may_proceed());
    });
    assert_eq!(Preset::AtoOperationalSecurity.tighten(&wide).fresh_proof_window(), 300);
    assert_eq!(Preset::NistAal2.tighten(&wide).fresh_proof_window(), 900);
    assert_eq!(Preset::NistAal2.tighten(&OrgSettings::default()).fresh_proof_window(), 300, "never loosened");
    let bad = OrgSettings::builder().fresh_proof_window(5).build();
    assert!(bad.unwrap_err().as_str().contains("fresh"));
}

#[test]
fn a_proof_dated_by_a_clock_that_ran_ahead_is_not_fresh() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    // The server's clock jumps a day ahead, a code is accepted, and the clock is put right.
    firm.clock.advance(86_400);
    let ahead_phone_code = phone.code();
    run(async {
        assert!(firm.mfa.verify_code(&ann, &ahead_phone_code, &office()).await.unwrap().is_ok());
    });
    use mfa_kit::clock::Clock;
    firm.clock.set(firm.clock.now().unwrap() - 86_400 + 60);
    let answer = run(firm.mfa.step_up(&ann, SensitiveAction::Host, &office())).unwrap();
    assert!(!answer.may_proceed(), "{answer:?}");
}

#[test]
fn a_code_typed_in_one_session_does_not_make_another_session_fresh_when_the_host_tracks_sessions() {
    use mfa_kit::clock::Clock;
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let signed_in_yesterday = firm.clock.now().unwrap();
    firm.clock.advance(86_400);
    run(async {
        // Her laptop proves a code now; a session on another browser, which got in
        // yesterday (or through a remembered device), does not become fresh.
        assert!(firm.mfa.verify_code(&ann, &phone.code(), &office()).await.unwrap().is_ok());
        let now = firm.clock.now().unwrap();
        let generation = firm.mfa.generation(&ann).await.unwrap();
        let session = |proved: u64| {
            office().with_session(
                SessionFacts::new(generation, signed_in_yesterday).active_at(now).proved_at(proved),
            )
        };
        let laptop = session(now);
        let other = session(signed_in_yesterday);
        assert!(firm.mfa.step_up(&ann, SensitiveAction::Host, &laptop).await.unwrap().may_proceed());
        let answer = firm.mfa.step_up(&ann, SensitiveAction::Host, &other).await.unwrap();
        assert!(matches!(answer, StepUp::Prove { .. }), "{answer:?}");
        // Without session tracking, the record's latest proof counts, from any session.
        assert!(firm.mfa.step_up(&ann, SensitiveAction::Host, &office()).await.unwrap().may_proceed());
        // A session cannot claim a proof the record never saw.
        let claimed = session(now + 60);
        firm.clock.advance(60);
        assert!(!firm.mfa.step_up(&ann, SensitiveAction::Host, &claimed).await.unwrap().may_proceed());
        // A session that never proved a factor (let in by a remembered device) is never
        // fresh, however recent the user's proof in another session.
        let never = office().with_session(SessionFacts::new(generation, now));
        let answer = firm.mfa.step_up(&ann, SensitiveAction::Host, &never).await.unwrap();
        assert!(matches!(answer, StepUp::Prove { .. }), "{answer:?}");
    });
}

#[test]
fn an_enrollment_opened_in_a_fresh_session_shows_its_key_again_only_while_the_proof_is_fresh() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    run(async {
        // She types a code and opens the screen for a new phone: the key is shown.
        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());
        let opened = firm.mfa.start_enrollment(&sarah, "sarah", &office()).await.unwrap().unwrap();

        // A reload within the window shows the same key.
        firm.clock.advance(60);
        let reloaded = firm.mfa.start_enrollment(&sarah, "sarah", &office()).await.unwrap().unwrap();
        assert_eq!(reloaded.uri, opened.uri);

        // Eight minutes later the enrollment is still open (ten minutes), but the proof
        // is stale: the key is not shown again, to her or to a stale session in her name.
        firm.clock.advance(420);
        let stale = firm.mfa.start_enrollment(&sarah, "sarah", &office()).await.unwrap();
        assert_eq!(stale.map(|start| start.uri), Err(Refusal::FreshProofRequired));

        // After a new code it is shown again.
        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());
        assert!(firm.mfa.start_enrollment(&sarah, "sarah", &office()).await.unwrap().is_ok());
    });
}
