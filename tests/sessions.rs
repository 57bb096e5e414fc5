//! Sessions bound to the account, for a host that keeps its own sessions (no
//! mfa-kit-axum): the generation each change of protection moves, sessions from before
//! such a change refused, the session that made it adopting it, and the policy's
//! lifetime and inactivity limits.

mod common;

use common::*;
use mfa_kit::clock::Clock;
use mfa_kit::flow::session::{SessionVerdict, adopt};
use mfa_kit::flow::step_up::StepUp;
use mfa_kit::policy::{OrgSettings, Preset, SessionFacts, SessionLimits, SignInContext, StandardPolicy};
use mfa_kit::{Destination, Refusal, Role, SensitiveAction, SessionEnd, UserId};

/// What a host keeps when a session proved a code just now.
fn session_now(firm: &Firm, who: &UserId) -> SignInContext {
    let now = firm.clock.now().unwrap();
    let generation = run(firm.mfa.generation(who)).unwrap();
    office().with_session(SessionFacts::new(generation, now).proved_at(now))
}

fn generation(firm: &Firm, who: &UserId) -> u64 {
    run(firm.mfa.generation(who)).unwrap()
}

#[test]
fn every_change_of_how_the_account_is_protected_moves_the_generation_once() {
    let firm = firm();
    let (ann, admin) = (user("ann"), user("admin"));
    assert_eq!(generation(&firm, &ann), 0, "a new account");
    let phone = firm.enroll(&ann);
    assert_eq!(generation(&firm, &ann), 1, "the first authenticator");
    let admin_phone = firm.enroll(&admin);
    run(async {
        // A sign-in changes nothing about the protection.
        firm.prove(&ann, &phone);
        assert_eq!(generation(&firm, &ann), 1);
        assert!(firm.mfa.generate_recovery_codes(&ann, &office()).await.unwrap().is_ok());
        assert_eq!(generation(&firm, &ann), 2, "new recovery codes");
        let outbox = Outbox::default();
        let sms = Destination::sms("+61412345678").unwrap();
        assert!(firm.mfa.add_destination(&ann, sms, Role::Backup, &outbox, &office()).await.unwrap().is_ok());
        assert_eq!(generation(&firm, &ann), 2, "a destination not yet confirmed protects nothing");
        assert!(firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office()).await.unwrap().is_ok());
        assert_eq!(generation(&firm, &ann), 3, "a confirmed backup phone");
        assert!(firm.mfa.remove_destination(&ann, Role::Backup, &office()).await.unwrap().is_ok());
        assert_eq!(generation(&firm, &ann), 4, "the backup phone removed");
        assert_eq!(firm.mfa.password_changed(&ann, &office().request).await.unwrap(), 0);
        assert_eq!(generation(&firm, &ann), 5, "the password changed");
        firm.prove(&admin, &admin_phone);
        assert!(
            firm.mfa
                .reset(reset_of(&admin, &ann, "lost phone"), &permitted(), &office())
                .await
                .unwrap()
                .is_ok()
        );
        assert_eq!(generation(&firm, &ann), 6, "an admin reset");
    });
    let phone = firm.enroll(&ann);
    assert_eq!(generation(&firm, &ann), 7, "enrolled again");
    firm.prove(&ann, &phone);
    run(async {
        let email = Destination::email("ann@smith.example").unwrap();
        let outbox = Outbox::default();
        assert!(
            firm.mfa.add_destination(&ann, email, Role::Primary, &outbox, &office()).await.unwrap().is_ok()
        );
        assert!(firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office()).await.unwrap().is_ok());
    });
    assert_eq!(generation(&firm, &ann), 8, "a confirmed e-mail address for codes");
    let id = run(firm.mfa.authenticators(&ann)).unwrap()[0].id.clone();
    let removed = run(firm.mfa.remove_authenticator(&ann, &id, &office())).unwrap();
    assert_eq!(removed, Ok(true));
    assert_eq!(generation(&firm, &ann), 9, "the authenticator removed");
    let outbox = Outbox::default();
    firm.clock.advance(60);
    assert!(run(firm.mfa.send_sign_in_code(&ann, Role::Primary, &outbox, &office())).unwrap().is_ok());
    assert_eq!(run(firm.mfa.deactivate(&ann, &outbox.last_code(), true, &office())).unwrap(), Ok(()));
    assert_eq!(generation(&firm, &ann), 10, "MFA turned off");
}

#[test]
fn a_session_from_before_an_admin_reset_can_prove_and_change_nothing() {
    let firm = firm();
    let (ann, admin) = (user("ann"), user("admin"));
    let phone = firm.enroll(&ann);
    let admin_phone = firm.enroll(&admin);
    firm.prove(&ann, &phone);
    let stolen = session_now(&firm, &ann);
    firm.prove(&admin, &admin_phone);
    run(async {
        assert!(
            firm.mfa
                .reset(reset_of(&admin, &ann, "stolen cookie"), &permitted(), &office())
                .await
                .unwrap()
                .is_ok()
        );
        let ended = Refusal::SessionEnded(SessionEnd::AccountChanged);
        // The session cannot set up a new authenticator, with no password and no code.
        let started = firm.mfa.start_enrollment(&ann, "ann", &stolen).await.unwrap();
        assert_eq!(started.err(), Some(ended.clone()));
        let answer = firm.mfa.step_up(&ann, SensitiveAction::Host, &stolen).await.unwrap();
        assert_eq!(answer, StepUp::SignInAgain(SessionEnd::AccountChanged));
        let verdict = firm.mfa.check_session(&ann, &stolen).await.unwrap();
        assert_eq!(verdict, SessionVerdict::Ended(SessionEnd::AccountChanged));
        // A new sign-in (password, then set-up) works as before.
        let fresh = session_now(&firm, &ann);
        assert!(firm.mfa.start_enrollment(&ann, "ann", &fresh).await.unwrap().is_ok());
    });
}

#[test]
fn the_session_that_made_a_change_adopts_the_new_generation_and_the_others_end() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let mine = session_now(&firm, &ann);
    let other = session_now(&firm, &ann);
    run(async {
        assert!(firm.mfa.generate_recovery_codes(&ann, &mine).await.unwrap().is_ok());
        let mine_generation = mine.session.unwrap().generation;
        let adopted = adopt(mine_generation, firm.mfa.generation(&ann).await.unwrap());
        assert_eq!(adopted, Some(mine_generation + 1));
        let mine = mine.clone().with_session(mine.session.unwrap().with_generation(adopted.unwrap()));
        assert!(firm.mfa.check_session(&ann, &mine).await.unwrap().may_continue());
        let verdict = firm.mfa.check_session(&ann, &other).await.unwrap();
        assert_eq!(verdict, SessionVerdict::Ended(SessionEnd::AccountChanged));
        // Two changes in between: the session cannot tell the other one from its own.
        assert_eq!(adopt(mine_generation, mine_generation + 2), None);
    });
}

#[test]
fn a_context_without_a_session_judges_the_latest_proof_of_any_session() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    run(async {
        // The fallback for hosts without sessions: any proof of the user counts...
        assert!(firm.mfa.step_up(&ann, SensitiveAction::Host, &office()).await.unwrap().may_proceed());
        // ...and a host with sessions names the session, whose own proof counts alone.
        let now = firm.clock.now().unwrap();
        let unproved = office().with_session(SessionFacts::new(generation(&firm, &ann), now));
        let answer = firm.mfa.step_up(&ann, SensitiveAction::Host, &unproved).await.unwrap();
        assert!(matches!(answer, StepUp::Prove { .. }), "{answer:?}");
        // A context without a session is never a session that may go on.
        let verdict = firm.mfa.check_session(&ann, &office()).await.unwrap();
        assert!(!verdict.may_continue());
    });
}

#[test]
fn sessions_end_at_the_organisations_lifetime_and_inactivity_limits_capped_by_the_presets() {
    let firm = firm();
    let ann = user("ann");
    firm.enroll(&ann);
    let settings =
        OrgSettings::builder().session_lifetime(8 * 3600).session_idle_timeout(1800).build().unwrap();
    let start = firm.clock.now().unwrap();
    let session = SessionFacts::new(generation(&firm, &ann), start);
    let context = office().with_org(std::sync::Arc::new(settings)).with_session(session);
    let verdict_at = |at: u64, active: u64| {
        firm.clock.set(at);
        let context = context.clone().with_session(session.active_at(active));
        run(firm.mfa.check_session(&ann, &context)).unwrap()
    };
    assert!(verdict_at(start + 1799, start).may_continue());
    assert_eq!(verdict_at(start + 1800, start), SessionVerdict::Ended(SessionEnd::Inactive));
    assert!(verdict_at(start + 8 * 3600 - 1, start + 8 * 3600 - 60).may_continue());
    assert_eq!(
        verdict_at(start + 8 * 3600, start + 8 * 3600 - 60),
        SessionVerdict::Ended(SessionEnd::LifetimeReached)
    );
    assert_eq!(verdict_at(start - 301, start), SessionVerdict::Ended(SessionEnd::ClockBehind));

    // The presets cap what an organisation sets: NIST SP 800-63B-4 §2.2.3 at AAL2 asks
    // for reauthentication every 24 hours and after 1 hour of inactivity.
    let lax =
        OrgSettings::builder().session_lifetime(30 * 86_400).session_idle_timeout(86_400).build().unwrap();
    let nist = StandardPolicy::nist_aal2().with_defaults(lax.clone());
    let limits = mfa_kit::policy::Policy::session_limits(&nist, &SignInContext::default());
    assert_eq!(limits, SessionLimits::new(24 * 3600, 3600));
    let ato = Preset::AtoOperationalSecurity.tighten(&lax);
    assert_eq!((ato.session_lifetime(), ato.session_idle_timeout()), (12 * 3600, 3600));
    assert!(ato.recovery_code_ends_sessions());
    let bad = OrgSettings::builder().session_idle_timeout(10).build();
    assert!(bad.unwrap_err().as_str().contains("inactivity"));
}

#[test]
fn a_recovery_code_ends_the_other_sessions_where_the_policy_says_so() {
    for (ends, policy) in
        [(false, StandardPolicy::new()), (true, StandardPolicy::new().with_preset(Preset::NistAal2))]
    {
        let firm = firm_with_policy(policy);
        let ann = user("ann");
        let phone = firm.enroll(&ann);
        firm.prove(&ann, &phone);
        let codes = run(firm.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
        let before = generation(&firm, &ann);
        firm.clock.advance(60);
        let redeemed = run(firm.mfa.redeem_recovery_code(&ann, codes[0].as_str(), &office())).unwrap();
        assert!(redeemed.is_ok(), "{redeemed:?}");
        assert_eq!(generation(&firm, &ann), before + u64::from(ends), "preset: {ends}");
    }
}

#[test]
fn a_signed_out_session_saved_again_by_a_late_request_can_do_nothing() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    // Two sessions of Ann's, each with the random tag the host drew for it.
    let laptop = session_now(&firm, &ann);
    let laptop = laptop.clone().with_session(laptop.session.unwrap().tagged(0x5eed_0001));
    let phone_session = session_now(&firm, &ann);
    let phone_session =
        phone_session.clone().with_session(phone_session.session.unwrap().tagged(0x5eed_0002));
    // Ann signs out on the laptop: the account remembers it, once.
    assert!(run(firm.mfa.sign_out(&ann, &laptop)).unwrap());
    assert!(!run(firm.mfa.sign_out(&ann, &laptop)).unwrap(), "remembered already");
    // A copy of the laptop's session, saved again by a request still running, ends at
    // its next request and proves nothing; the phone's session goes on.
    assert_eq!(
        run(firm.mfa.check_session(&ann, &laptop)).unwrap(),
        SessionVerdict::Ended(SessionEnd::SignedOut)
    );
    assert_eq!(
        run(firm.mfa.verify_code(&ann, &phone.code(), &laptop)).unwrap(),
        Err(Refusal::SessionEnded(SessionEnd::SignedOut))
    );
    assert_eq!(run(firm.mfa.check_session(&ann, &phone_session)).unwrap(), SessionVerdict::Continue);
    // Signing out is no change of how the account is protected: nothing audited, no
    // generation moved.
    assert_eq!(generation(&firm, &ann), phone_session.session.unwrap().generation);
    // A session without a tag (a host that keeps none) cannot be remembered.
    assert!(!run(firm.mfa.sign_out(&ann, &session_now(&firm, &ann))).unwrap());
    assert!(!run(firm.mfa.sign_out(&ann, &office())).unwrap(), "no session at all");
}
