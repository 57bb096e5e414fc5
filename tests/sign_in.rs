//! Stories of signing in, replays, lockout, drift, deactivation, admin reset and the
//! admin status list (requirements R2, R3, R8, R15, R20, R21, R23, R24).

mod common;

use common::*;
use mfa_kit::RejectionReason;
use mfa_kit::event::{AuditOutcome, EventKind};
use mfa_kit::flow::Proven;
use mfa_kit::policy::Decision;
use mfa_kit::{Cleared, Method, Reason, Refusal};

#[test]
fn after_the_password_an_enrolled_user_is_asked_for_a_code_and_others_are_let_in() {
    let firm = firm();
    let (sarah, tom) = (user("sarah"), user("tom"));
    firm.enroll(&sarah);
    run(async {
        assert_eq!(
            firm.mfa.sign_in_decision(&sarah, &office()).await.unwrap(),
            Ok(Decision::Challenge {
                methods: vec![Method::Totp],
                reason: Reason::Enrolled,
                needs_backup: false,
                backup_blocking: false,
                restricted: vec![],
                offer_security_key: false,
                security_key_blocking: false,
            })
        );
        assert_eq!(
            firm.mfa.sign_in_decision(&tom, &office()).await.unwrap(),
            Ok(Decision::Allow { reason: Reason::NotRequired })
        );
        // Single sign-on users are never asked by us (R11).
        let sso = office().with_sso(true);
        assert_eq!(
            firm.mfa.sign_in_decision(&sarah, &sso).await.unwrap().unwrap().reason(),
            Reason::SingleSignOn
        );
    });
}

#[test]
fn a_code_is_accepted_once_and_a_replay_is_told_apart_from_a_wrong_code() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    run(async {
        let code = phone.code();
        let accepted = firm.mfa.verify_code(&sarah, &code, &office()).await.unwrap();
        assert!(matches!(accepted, Ok(Proven { method: Method::Totp, drift: Some(0), .. })), "{accepted:?}");
        let status = firm.mfa.status(&sarah, &office()).await.unwrap();
        assert_eq!(status.last_used, Some(START + 60));

        // The same code again at once (a double click) is a replay, not a guess.
        let double_submit = firm.mfa.verify_code(&sarah, &code, &office()).await.unwrap();
        assert_eq!(double_submit, Err(Refusal::CodeReused { attempts_left: 5 }));
        // Once a later code was accepted, the old one replayed is a guess and counts.
        firm.clock.advance(30);
        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());
        let replay = firm.mfa.verify_code(&sarah, &code, &office()).await.unwrap();
        assert_eq!(replay, Err(Refusal::CodeReused { attempts_left: 4 }));
        let wrong = firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office()).await.unwrap();
        assert_eq!(wrong, Err(Refusal::WrongCode { attempts_left: 3 }));
        // A typo with a letter is not a guess: it does not count.
        let typo = firm.mfa.verify_code(&sarah, "12e456", &office()).await.unwrap();
        assert_eq!(typo, Err(Refusal::Malformed));

        // A correct code resets the count.
        firm.clock.advance(30);
        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());
        assert_eq!(firm.mfa.record(&sarah).await.unwrap().failures().consecutive(), 0);

        let kinds = firm.events(&sarah);
        assert!(kinds.contains(&EventKind::CodeRejected {
            method: Method::Totp,
            reason: RejectionReason::Wrong,
            consecutive_failures: 2
        }));
        assert!(kinds.contains(&EventKind::CodeRejected {
            method: Method::Totp,
            reason: RejectionReason::Malformed,
            consecutive_failures: 2
        }));
    });
}

#[test]
fn five_wrong_codes_lock_the_user_out_for_fifteen_minutes_even_with_the_right_code() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    run(async {
        for left in (1..5).rev() {
            let outcome = firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office()).await.unwrap();
            assert_eq!(outcome, Err(Refusal::WrongCode { attempts_left: left }));
        }
        let locked_at = START + 60;
        let fifth = firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office()).await.unwrap();
        assert_eq!(fifth, Err(Refusal::LockedOut { until: locked_at + 900 }));

        // The right code is refused while locked, without being evaluated.
        let right = firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap();
        assert_eq!(right, Err(Refusal::LockedOut { until: locked_at + 900 }));
        assert_eq!(
            firm.mfa.sign_in_decision(&sarah, &office()).await.unwrap(),
            Err(Refusal::LockedOut { until: locked_at + 900 })
        );
        assert_eq!(firm.mfa.status(&sarah, &office()).await.unwrap().locked_until, Some(locked_at + 900));

        // After fifteen minutes the lock ends and the right code works.
        firm.clock.advance(900);
        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());
        let kinds = firm.events(&sarah);
        let started =
            kinds.iter().position(|k| k == &EventKind::LockoutStarted { until: locked_at + 900 }).unwrap();
        let ended = kinds.iter().position(|k| k == &EventKind::LockoutEnded).unwrap();
        assert!(started < ended);
        assert!(kinds.contains(&EventKind::CodeRejected {
            method: Method::Totp,
            reason: RejectionReason::LockedOut,
            consecutive_failures: 5
        }));
    });
}

#[test]
fn a_phone_whose_clock_drifts_is_followed_and_a_far_drift_is_resynchronised() {
    let firm = firm();
    let sarah = user("sarah");
    let mut phone = firm.enroll(&sarah);
    run(async {
        // One step slow: accepted with drift -1, and remembered. (The clocks move on
        // between sign-ins, so the slow phone's codes are newer than the last accepted.)
        firm.clock.advance(30);
        phone.skew = -30;
        let outcome = firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap();
        assert!(matches!(outcome, Ok(Proven { method: Method::Totp, drift: Some(-1), .. })), "{outcome:?}");
        assert_eq!(firm.mfa.record(&sarah).await.unwrap().totp().unwrap().drift(), -1);

        // Two steps slow: the window now centres on -1, so -2 is reached.
        firm.clock.advance(60);
        phone.skew = -60;
        let outcome = firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap();
        assert!(matches!(outcome, Ok(Proven { method: Method::Totp, drift: Some(-2), .. })), "{outcome:?}");

        // Five steps slow is beyond what single codes may teach (2): refused...
        firm.clock.advance(300);
        phone.skew = -150;
        let refused = firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap();
        assert!(matches!(refused, Err(Refusal::WrongCode { .. })));
        // ...until two consecutive codes resynchronise it.
        let first = phone.code();
        firm.clock.advance(30);
        let second = phone.code();
        let outcome = firm.mfa.resynchronise(&sarah, &first, &second, &office()).await.unwrap();
        assert!(matches!(outcome, Ok(Proven { method: Method::Totp, drift: Some(-5), .. })), "{outcome:?}");
        firm.clock.advance(30);
        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());
        assert!(firm.events(&sarah).contains(&EventKind::Resynchronised { drift: -5 }));
    });
}

#[test]
fn a_user_deactivates_only_with_a_current_code_and_an_explicit_confirmation() {
    let firm = firm();
    let tom = user("tom");
    let phone = firm.enroll(&tom);
    run(async {
        let unconfirmed = firm.mfa.deactivate(&tom, &phone.code(), false, &office()).await.unwrap();
        assert_eq!(unconfirmed, Err(Refusal::ConfirmationRequired));
        let wrong = firm.mfa.deactivate(&tom, &phone.wrong_code(), true, &office()).await.unwrap();
        assert!(matches!(wrong, Err(Refusal::WrongCode { .. })));
        assert!(firm.mfa.status(&tom, &office()).await.unwrap().has_mfa());

        let done = firm.mfa.deactivate(&tom, &phone.code(), true, &office()).await.unwrap();
        assert_eq!(done, Ok(()));
        assert!(!firm.mfa.status(&tom, &office()).await.unwrap().has_mfa());
        assert_eq!(firm.events(&tom).last(), Some(&EventKind::Deactivated));
        assert_eq!(
            firm.mfa.verify_code(&tom, &phone.code(), &office()).await.unwrap(),
            Err(Refusal::NotEnrolled)
        );
    });
}

#[test]
fn an_admin_resets_a_locked_out_user_who_then_enrolls_again() {
    let firm = firm();
    let (sarah, partner) = (user("sarah"), user("partner"));
    let phone = firm.enroll(&sarah);
    firm.enroll(&partner);
    run(async {
        for _ in 0..5 {
            let _refused = firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office()).await.unwrap();
        }
        let request = office();
        let cleared = firm
            .mfa
            .reset(reset_of(&partner, &sarah, "lost phone, identity checked by call"), &permitted(), &request)
            .await
            .unwrap();
        assert_eq!(cleared, Ok(vec![Cleared::Authenticator, Cleared::Lockout]));
        let status = firm.mfa.status(&sarah, &office()).await.unwrap();
        assert!(!status.has_mfa() && status.locked_until.is_none());

        let reset_event = firm.audit.events().into_iter().rev().find(|e| e.user == sarah).unwrap();
        assert_eq!(reset_event.actor, partner);
        assert_eq!(reset_event.outcome, AuditOutcome::Success);
        assert_eq!(
            reset_event.kind,
            EventKind::ResetByAdmin {
                reason: "lost phone, identity checked by call".into(),
                cleared: vec![Cleared::Authenticator, Cleared::Lockout],
                mode: mfa_kit::ResetMode::RequireEnrollment,
            }
        );
        // She enrolls again and signs in with the new phone.
        let new_phone = firm.enroll(&sarah);
        assert!(firm.mfa.verify_code(&sarah, &new_phone.code(), &office()).await.unwrap().is_ok());
    });
}

#[test]
fn resets_are_refused_without_a_reason_for_oneself_or_by_an_admin_without_mfa() {
    let firm = firm();
    let (sarah, partner, newbie) = (user("sarah"), user("partner"), user("newbie"));
    firm.enroll(&sarah);
    firm.enroll(&partner);
    let request = office();
    run(async {
        assert_eq!(
            firm.mfa.reset(reset_of(&partner, &sarah, "  "), &permitted(), &request).await.unwrap(),
            Err(Refusal::ReasonRequired)
        );
        assert_eq!(
            firm.mfa.reset(reset_of(&partner, &partner, "mine"), &permitted(), &request).await.unwrap(),
            Err(Refusal::SelfReset)
        );
        assert_eq!(
            firm.mfa.reset(reset_of(&newbie, &sarah, "help"), &permitted(), &request).await.unwrap(),
            Err(Refusal::ActorWithoutMfa)
        );
        assert!(firm.mfa.status(&sarah, &office()).await.unwrap().has_mfa());
        let refusals =
            firm.audit.events().into_iter().filter(|e| matches!(e.kind, EventKind::ResetRefused { .. }));
        assert_eq!(refusals.map(|e| e.outcome).collect::<Vec<_>>(), vec![AuditOutcome::Failure; 3]);
    });
}

#[test]
fn the_admin_status_list_shows_who_has_mfa_since_when_and_last_use() {
    let firm = firm();
    let (sarah, tom, ann) = (user("sarah"), user("tom"), user("ann"));
    let phone = firm.enroll(&sarah);
    run(async {
        firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().unwrap();
        firm.mfa.start_enrollment(&ann, "ann", &office()).await.unwrap().unwrap();
        let rows: Vec<_> = firm
            .mfa
            .status_list([&sarah, &tom, &ann], &office())
            .await
            .into_iter()
            .map(|(_, row)| row.unwrap())
            .collect();
        assert_eq!(rows[0].last_method, Some(Method::Totp));
        let summary: Vec<_> = rows
            .iter()
            .map(|r| (r.user.as_str(), r.has_mfa(), r.enrolled_since, r.last_used, r.enrollment_pending))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("sarah", true, Some(START + 30), Some(START + 60), false),
                ("tom", false, None, None, false),
                ("ann", false, None, None, true),
            ]
        );
        // No secret in the row.
        let json = serde_json::to_string(&rows).unwrap();
        assert!(!json.contains("secret") && !json.contains("ciphertext"));
    });
}
