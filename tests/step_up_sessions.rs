//! Step-up and session lifetime (R25, R31, R33): which proof a session's step-up
//! judges, and that a signed-out session stays ended.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::clock::Clock;
use mfa_kit::flow::session::SessionVerdict;
use mfa_kit::flow::step_up::StepUp;
use mfa_kit::policy::{OrgSettings, Preset, SessionFacts, SessionLimits, SignInContext};
use mfa_kit::{Destination, Method, Refusal, Role, SensitiveAction, SessionEnd};

/// An organisation that refuses e-mailed codes as a factor (the NIST preset).
fn no_email() -> SignInContext {
    let settings = Preset::NistAal2.tighten(&OrgSettings::default());
    assert!(!settings.allow_email_codes());
    office().with_org(Arc::new(settings))
}

/// Session A proved with an e-mailed code. Later, another browser proved with an
/// e-mailed code too (so the record's e-mail proof time moved on), and a third proved
/// with the app. Returns the firm, Ann, session A and when it proved.
fn three_browsers() -> (Firm, mfa_kit::UserId, SessionFacts, u64) {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let outbox = Outbox::default();
    run(async {
        let email = Destination::email("ann@smith.example").unwrap();
        firm.mfa.add_destination(&ann, email, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office()).await.unwrap().unwrap();
    });
    firm.clock.advance(3600);
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    // Session A: an e-mailed code.
    let proved_a = run(async {
        firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        let proven = firm.mfa.verify_sign_in_code(&ann, &outbox.last_code(), &office()).await.unwrap();
        assert!(matches!(proven, Ok(ref p) if p.method == Method::Email), "{proven:?}");
        firm.mfa.record(&ann).await.unwrap().last_proved(Method::Email).unwrap()
    });
    let session_a = SessionFacts::new(generation, proved_a).proved_at(proved_a);
    // Session C, another browser: an e-mailed code a minute later.
    firm.clock.advance(60);
    run(async {
        firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        let proven = firm.mfa.verify_sign_in_code(&ann, &outbox.last_code(), &office()).await.unwrap();
        assert!(proven.is_ok(), "{proven:?}");
    });
    // Session B, a third browser: the app, half a minute later.
    firm.prove(&ann, &phone);
    firm.clock.advance(30);
    let record = run(firm.mfa.record(&ann)).unwrap();
    assert!(record.last_proved(Method::Email).unwrap() > proved_a);
    assert_eq!(record.last_proof().unwrap().method, Method::Totp);
    assert!(firm.clock.now().unwrap() - proved_a < 300, "session A's proof is within the window");
    (firm, ann, session_a, proved_a)
}

/// After [`three_browsers`] the organisation refuses e-mailed codes (NIST preset).
/// Session A's own proof is an e-mailed code and must not count (flow::step_up: with a
/// session, "only that session's own proof"; "Only a proof with a method the
/// organisation allows counts"): another session's later app proof must not stand in
/// for it.
#[test]
fn a_sessions_own_emailed_proof_does_not_count_through_another_sessions_later_app_proof() {
    let (firm, ann, session_a, _) = three_browsers();
    run(async {
        let nist = no_email().with_session(session_a);
        let answer = firm.mfa.step_up(&ann, SensitiveAction::Host, &nist).await.unwrap();
        assert!(matches!(answer, StepUp::Prove { .. }), "session A only proved by e-mail: {answer:?}");
        let generate = firm.mfa.generate_recovery_codes(&ann, &nist).await.unwrap();
        assert_eq!(generate.err(), Some(Refusal::FreshProofRequired));
    });
}

/// After [`three_browsers`], where e-mailed codes count: the record keeps the latest
/// proof of each method, and another browser proved by e-mail after session A did, so
/// session A's method is one of those proved since (e-mail, the app): step-up credits
/// session A with the weaker, e-mail, never with another session's app.
#[test]
fn step_up_names_the_sessions_own_method_not_another_sessions() {
    let (firm, ann, session_a, proved_a) = three_browsers();
    let answer =
        run(firm.mfa.step_up(&ann, SensitiveAction::Host, &office().with_session(session_a))).unwrap();
    match answer {
        StepUp::Proceed { proof: Some(proof) } => {
            assert_eq!(proof.at, proved_a);
            assert_eq!(proof.method, Method::Email, "session A proved with e-mail, not the app");
        }
        other => panic!("{other:?}"),
    }
}

/// The same mix-up without any overwritten proof: session A proves with an e-mailed
/// code and, in the same second, session B with the app. The record cannot tell which
/// session made which proof, so step-up takes the weaker of the two, and only where
/// both count: where e-mailed codes do not, session A is not let through.
#[test]
fn an_emailed_proof_in_the_same_second_as_another_sessions_app_proof_does_not_count_as_the_app() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let outbox = Outbox::default();
    run(async {
        let email = Destination::email("ann@smith.example").unwrap();
        firm.mfa.add_destination(&ann, email, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office()).await.unwrap().unwrap();
    });
    firm.clock.advance(3600);
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    let now = firm.clock.now().unwrap();
    run(async {
        firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        let by_email = firm.mfa.verify_sign_in_code(&ann, &outbox.last_code(), &office()).await.unwrap();
        assert!(matches!(by_email, Ok(ref p) if p.method == Method::Email), "{by_email:?}");
        let by_app = firm.mfa.verify_code(&ann, &phone.code(), &office()).await.unwrap();
        assert!(by_app.is_ok(), "{by_app:?}");
    });
    let record = run(firm.mfa.record(&ann)).unwrap();
    assert_eq!((record.last_proved(Method::Email), record.last_proved(Method::Totp)), (Some(now), Some(now)));
    let session_a = SessionFacts::new(generation, now).proved_at(now);
    firm.clock.advance(30);
    let answer =
        run(firm.mfa.step_up(&ann, SensitiveAction::Host, &no_email().with_session(session_a))).unwrap();
    assert!(matches!(answer, StepUp::Prove { .. }), "session A only proved by e-mail: {answer:?}");
}

/// Ann signs out on her laptop; later one reading of the server's clock runs 31 days
/// ahead while her phone's session signs out. Once the clock is right again, a copy
/// of the laptop's session (saved again by a request still running) must still be
/// refused as signed out: flow::session promises the sign-out is remembered "until it
/// could not have lasted anyway", and the record's rule for time that one wrong
/// reading is not written into the record and kept.
#[test]
fn a_signed_out_session_stays_ended_after_one_reading_far_ahead_signs_out_another() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let start = firm.clock.now().unwrap();
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    let laptop = office().with_session(SessionFacts::new(generation, start).proved_at(start).tagged(0x1a));
    let mobile = office().with_session(SessionFacts::new(generation, start).proved_at(start).tagged(0x2b));
    assert!(run(firm.mfa.sign_out(&ann, &laptop)).unwrap());
    assert_eq!(
        run(firm.mfa.check_session(&ann, &laptop)).unwrap(),
        SessionVerdict::Ended(SessionEnd::SignedOut)
    );

    // One reading 31 days ahead (an NTP step, a resumed VM) while the phone signs out.
    firm.clock.set(start + 31 * 86_400);
    assert!(run(firm.mfa.sign_out(&ann, &mobile)).unwrap());
    // The clock is put right: two minutes after the laptop signed out.
    firm.clock.set(start + 120);
    let late_copy = laptop.clone().with_session(laptop.session.unwrap().active_at(start + 60));
    assert_eq!(
        run(firm.mfa.check_session(&ann, &late_copy)).unwrap(),
        SessionVerdict::Ended(SessionEnd::SignedOut),
        "the laptop's session was signed out two minutes ago"
    );
    let answer = run(firm.mfa.step_up(&ann, SensitiveAction::Host, &late_copy)).unwrap();
    assert_eq!(answer, StepUp::SignInAgain(SessionEnd::SignedOut));
}

/// An organisation's own NIST preset caps its lax session limits at
/// NIST SP 800-63B-4 §2.2.3's 24 hours and 1 hour of inactivity in `check_session`,
/// at the exact boundaries.
#[test]
fn an_organisations_own_nist_preset_ends_sessions_at_24_hours_and_1_hour_idle() {
    let firm = firm();
    let ann = user("ann");
    firm.enroll(&ann);
    let lax = OrgSettings::builder()
        .session_lifetime(30 * 86_400)
        .session_idle_timeout(30 * 86_400)
        .presets(vec![Preset::NistAal2])
        .build()
        .unwrap();
    let limits = mfa_kit::policy::Policy::session_limits(
        &mfa_kit::policy::StandardPolicy::new(),
        &office().with_org(Arc::new(lax.clone())),
    );
    assert_eq!(limits, SessionLimits::new(24 * 3600, 3600));
    let start = firm.clock.now().unwrap();
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    let session = SessionFacts::new(generation, start);
    let verdict = |at: u64, active: u64| {
        firm.clock.set(at);
        let context = office().with_org(Arc::new(lax.clone())).with_session(session.active_at(active));
        run(firm.mfa.check_session(&ann, &context)).unwrap()
    };
    assert!(verdict(start + 3599, start).may_continue());
    assert_eq!(verdict(start + 3600, start), SessionVerdict::Ended(SessionEnd::Inactive));
    assert!(verdict(start + 86_399, start + 86_000).may_continue());
    assert_eq!(verdict(start + 86_400, start + 86_000), SessionVerdict::Ended(SessionEnd::LifetimeReached));
}

/// A session's own proof dated ahead by a clock that ran ahead counts
/// only within the clock skew (5 minutes, as `UserRecord::proved_within` documents for
/// the record's proof): 300 seconds ahead it is fresh, 301 seconds ahead it is not;
/// and a session's proof is stale from the window's end on.
#[test]
fn a_sessions_proof_dated_ahead_counts_only_within_the_clock_skew() {
    for (ahead, fresh) in [(300u64, true), (301, false)] {
        let firm = firm();
        let ann = user("ann");
        let phone = firm.enroll(&ann);
        let real = firm.clock.now().unwrap() + 30;
        firm.clock.set(real + ahead);
        run(async {
            let proven = firm.mfa.verify_code(&ann, &phone.code(), &office()).await.unwrap();
            assert!(proven.is_ok(), "{proven:?}");
        });
        let proved_at = run(firm.mfa.record(&ann)).unwrap().last_proved(Method::Totp).unwrap();
        assert_eq!(proved_at, real + ahead);
        firm.clock.set(real);
        let generation = run(firm.mfa.generation(&ann)).unwrap();
        let session = office().with_session(SessionFacts::new(generation, real).proved_at(proved_at));
        let answer = run(firm.mfa.step_up(&ann, SensitiveAction::Host, &session)).unwrap();
        assert_eq!(answer.may_proceed(), fresh, "{ahead} s ahead: {answer:?}");
        if fresh {
            firm.clock.set(proved_at + 299);
            assert!(run(firm.mfa.step_up(&ann, SensitiveAction::Host, &session)).unwrap().may_proceed());
            firm.clock.set(proved_at + 300);
            let stale = run(firm.mfa.step_up(&ann, SensitiveAction::Host, &session)).unwrap();
            assert!(matches!(stale, StepUp::Prove { window: 300, .. }), "{stale:?}");
        }
    }
}
