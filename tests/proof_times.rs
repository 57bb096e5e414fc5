//! The times the record keeps of each method's last proof, as step-up judges a
//! session's own proof by them (R25, R31): a server whose clock lags does not move one
//! back.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::clock::Clock;
use mfa_kit::flow::step_up::StepUp;
use mfa_kit::policy::{OrgSettings, SessionFacts, SignInContext};
use mfa_kit::{Method, Role, SensitiveAction};

/// An organisation that refuses codes by SMS as a factor.
fn no_sms() -> SignInContext {
    let settings = OrgSettings::builder().allow_sms_codes(false).build().unwrap();
    office().with_org(Arc::new(settings))
}

/// Two app servers whose clocks differ by less than the clock skew the crate tolerates
/// (5 minutes). Session A (laptop) proves by SMS on server 1 at T; session B (phone)
/// proves with the app on server 1 at T+30; session C (a third browser) is sent a code
/// by SMS through server 1 at T+90 and types it through server 2, whose clock reads 100
/// seconds behind (T-10). The record's SMS time stays at T (it would otherwise move back
/// before session A's proof, session A's own method, SMS, would drop out of "the methods
/// proved since" its proof, and session B's app proof would be credited to it).
///
/// R31 (docs/requirements.md): "step-up judges the session's own proof, never one made
/// in another browser"; src/flow/step_up.rs `check`: "only a proof with a method the
/// organisation allows counts", "another session's method is not credited to this
/// one"; with a session "only that session's own proof".
#[test]
fn a_sessions_own_sms_proof_is_not_credited_as_another_browsers_app_proof_when_a_clock_lags() {
    let firm = firm();
    let ann = user("ann");
    let app = firm.enroll(&ann);
    let outbox = Outbox::default();
    run(async {
        firm.mfa.add_destination(&ann, phone(), Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office()).await.unwrap().unwrap();
    });
    firm.clock.advance(3600);
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    // Session A, server 1: a code by SMS at T.
    let t = firm.clock.now().unwrap();
    run(async {
        firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        let proven = firm.mfa.verify_sign_in_code(&ann, &outbox.last_code(), &office()).await.unwrap();
        assert!(matches!(proven, Ok(ref p) if p.method == Method::Sms), "{proven:?}");
    });
    assert_eq!(run(firm.mfa.record(&ann)).unwrap().last_proved(Method::Sms), Some(t));
    let session_a = SessionFacts::new(generation, t).proved_at(t);
    // Session B, server 1: the app at T+30.
    firm.prove(&ann, &app);
    // Session C, a third browser: a code by SMS sent through server 1 at T+90, typed
    // through server 2, whose clock reads 100 seconds behind (T-10).
    firm.clock.set(t + 90);
    run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap().unwrap();
    firm.clock.set(t - 10);
    run(async {
        let proven = firm.mfa.verify_sign_in_code(&ann, &outbox.last_code(), &office()).await.unwrap();
        assert!(matches!(proven, Ok(ref p) if p.method == Method::Sms), "{proven:?}");
    });
    let record = run(firm.mfa.record(&ann)).unwrap();
    assert_eq!(
        record.last_proved(Method::Sms),
        Some(t),
        "a lagging clock does not move the record's SMS time back"
    );
    // Session A asks on server 1, a minute after its proof, in an organisation that
    // does not allow SMS: its own proof was by SMS and must not count.
    firm.clock.set(t + 60);
    let answer =
        run(firm.mfa.step_up(&ann, SensitiveAction::Host, &no_sms().with_session(session_a))).unwrap();
    assert!(
        matches!(answer, StepUp::Prove { .. }),
        "session A only proved by SMS; another browser's app proof was credited to it: {answer:?}"
    );
}
