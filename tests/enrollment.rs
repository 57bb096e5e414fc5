//! Stories of setting up an authenticator app (requirements R5-R7).

mod common;

use common::*;
use mfa_kit::EnrollmentRejection;
use mfa_kit::Refusal;
use mfa_kit::event::EventKind;
use mfa_kit::flow::enrollment::{Confirmation, Confirmed};
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::service::ServiceConfig;

#[test]
fn a_bookkeeper_scans_the_qr_code_and_confirms_with_two_consecutive_codes() {
    let firm = firm();
    let sarah = user("sarah");
    run(async {
        assert_eq!(firm.mfa.config().issuer, "Smith & Co Accounting");
        let start =
            firm.mfa.start_enrollment(&sarah, "sarah@smith.example", &office()).await.unwrap().unwrap();
        // The screen shows a QR code of the URI and the secret in groups of four.
        assert!(
            start
                .uri
                .starts_with("otpauth://totp/Smith%20%26%20Co%20Accounting:sarah%40smith.example?secret=")
        );
        let uri = KeyUri::parse(&start.uri).unwrap();
        assert_eq!(*uri.secret().to_base32_grouped(), *start.secret_grouped);
        assert_eq!(start.secret_grouped.split(' ').count(), 8, "160 bits: 32 characters in 8 groups");
        assert_eq!(start.expires_at, START + 600);
        // Not active until confirmed.
        assert!(!firm.mfa.status(&sarah, &office()).await.unwrap().has_mfa());
        assert!(firm.mfa.status(&sarah, &office()).await.unwrap().enrollment_pending);

        let phone = Phone::scan(&start.uri, &firm.clock);
        let first = phone.code();
        firm.clock.advance(30);
        let second = phone.code();
        let outcome = firm.mfa.confirm_enrollment(&sarah, &[&first, &second], &office()).await.unwrap();
        assert!(matches!(outcome, Ok(Confirmed { replaced: false, .. })), "{outcome:?}");

        let record = firm.mfa.record(&sarah).await.unwrap();
        let credential = record.totp().expect("active");
        assert_eq!(credential.created_at(), START + 30);
        // The confirmation codes can never be used to sign in.
        assert_eq!(credential.last_accepted_step(), Some((START + 30) / 30));
        assert!(record.pending_enrollment().is_none());
        // The secret is sealed, not stored as the URI's base32.
        let stored = serde_json::to_string(&record).unwrap();
        assert!(!stored.contains(&*uri.secret().to_base32()));
        // Typed again at once, it is a replay of the step just accepted: refused, and
        // not counted as a guess.
        let again = firm.mfa.verify_code(&sarah, &second, &office()).await.unwrap();
        assert_eq!(again, Err(Refusal::CodeReused { attempts_left: 5 }));

        assert_eq!(
            firm.events(&sarah),
            vec![
                EventKind::EnrollmentStarted { expires_at: START + 600 },
                EventKind::EnrollmentConfirmed { replaced: false },
                EventKind::CodeRejected {
                    method: mfa_kit::Method::Totp,
                    reason: mfa_kit::RejectionReason::Replayed,
                    consecutive_failures: 0
                },
            ]
        );
        let event = firm.audit.events().into_iter().next().unwrap();
        assert_eq!((event.actor, event.context), (sarah.clone(), office().request));
    });
}

#[test]
fn the_same_code_twice_or_codes_that_are_not_consecutive_are_refused() {
    let firm = firm();
    let tom = user("tom");
    run(async {
        let start = firm.mfa.start_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        let phone = Phone::scan(&start.uri, &firm.clock);
        let first = phone.code();
        let same = firm.mfa.confirm_enrollment(&tom, &[&first, &first], &office()).await.unwrap();
        assert_eq!(same, Err(Refusal::SameCodeTwice));

        firm.clock.advance(60); // Two steps later: the codes are valid but skip a step.
        let third = phone.code();
        let skipped = firm.mfa.confirm_enrollment(&tom, &[&first, &third], &office()).await.unwrap();
        assert_eq!(skipped, Err(Refusal::NotConsecutive));

        let wrong =
            firm.mfa.confirm_enrollment(&tom, &[&phone.wrong_code(), &third], &office()).await.unwrap();
        assert_eq!(wrong, Err(Refusal::WrongCode { attempts_left: 2 }));
        let only_one = firm.mfa.confirm_enrollment(&tom, &[&third], &office()).await.unwrap();
        assert!(matches!(only_one, Err(Refusal::TwoCodesRequired)));
        assert!(!firm.mfa.status(&tom, &office()).await.unwrap().has_mfa());
    });
}

#[test]
fn too_many_wrong_confirmations_discard_the_enrollment() {
    let firm = firm();
    let ann = user("ann");
    run(async {
        let start = firm.mfa.start_enrollment(&ann, "ann", &office()).await.unwrap().unwrap();
        let phone = Phone::scan(&start.uri, &firm.clock);
        for left in (1..5).rev() {
            let outcome = firm
                .mfa
                .confirm_enrollment(&ann, &[&phone.wrong_code(), &phone.code()], &office())
                .await
                .unwrap();
            assert_eq!(outcome, Err(Refusal::WrongCode { attempts_left: left }));
        }
        let last =
            firm.mfa.confirm_enrollment(&ann, &[&phone.wrong_code(), "000000"], &office()).await.unwrap();
        assert_eq!(last, Err(Refusal::EnrollmentDiscarded));
        let after = firm.mfa.confirm_enrollment(&ann, &[&phone.code(), "000000"], &office()).await.unwrap();
        assert_eq!(after, Err(Refusal::NoPendingEnrollment));
        assert!(
            firm.events(&ann)
                .contains(&EventKind::EnrollmentRejected { reason: EnrollmentRejection::TooManyAttempts })
        );
    });
}

#[test]
fn a_pending_enrollment_expires_after_ten_minutes_and_can_be_restarted() {
    let firm = firm();
    let raj = user("raj");
    run(async {
        let start = firm.mfa.start_enrollment(&raj, "raj", &office()).await.unwrap().unwrap();
        let phone = Phone::scan(&start.uri, &firm.clock);
        firm.clock.advance(600);
        let first = phone.code();
        firm.clock.advance(30);
        let late = firm.mfa.confirm_enrollment(&raj, &[&first, &phone.code()], &office()).await.unwrap();
        assert_eq!(late, Err(Refusal::EnrollmentExpired));
        assert!(firm.mfa.record(&raj).await.unwrap().pending_enrollment().is_none());
        assert!(firm.events(&raj).contains(&EventKind::EnrollmentExpired));

        // Restarting gives a new secret; the old phone entry no longer works.
        let again = firm.mfa.start_enrollment(&raj, "raj", &office()).await.unwrap().unwrap();
        assert_ne!(*again.secret_grouped, *start.secret_grouped);
        let new_phone = Phone::scan(&again.uri, &firm.clock);
        let first = new_phone.code();
        firm.clock.advance(30);
        let outcome =
            firm.mfa.confirm_enrollment(&raj, &[&first, &new_phone.code()], &office()).await.unwrap();
        assert!(matches!(outcome, Ok(Confirmed { replaced: false, .. })), "{outcome:?}");
    });
}

#[test]
fn a_new_phone_replaces_the_old_one_only_once_confirmed() {
    let firm = firm();
    let li = user("li");
    let old_phone = firm.enroll(&li);
    run(async {
        let start = firm.mfa.start_enrollment(&li, "li", &office()).await.unwrap().unwrap();
        let new_phone = Phone::scan(&start.uri, &firm.clock);
        // Until the new phone is confirmed, the old one still signs in.
        assert!(firm.mfa.verify_code(&li, &old_phone.code(), &office()).await.unwrap().is_ok());
        assert!(firm.mfa.verify_code(&li, &new_phone.code(), &office()).await.unwrap().is_err());

        firm.clock.advance(30);
        let first = new_phone.code();
        firm.clock.advance(30);
        let outcome =
            firm.mfa.confirm_enrollment(&li, &[&first, &new_phone.code()], &office()).await.unwrap();
        assert!(matches!(outcome, Ok(Confirmed { replaced: true, .. })), "{outcome:?}");
        firm.clock.advance(30);
        assert!(firm.mfa.verify_code(&li, &old_phone.code(), &office()).await.unwrap().is_err());
        assert!(firm.mfa.verify_code(&li, &new_phone.code(), &office()).await.unwrap().is_ok());
        assert!(firm.events(&li).contains(&EventKind::EnrollmentConfirmed { replaced: true }));
    });
}

#[test]
fn one_code_confirmation_is_an_option() {
    let mut config = ServiceConfig::new("Smith");
    config.rules.confirmation = Confirmation::OneCode;
    let firm = firm_with_config(config);
    let kim = user("kim");
    run(async {
        let start = firm.mfa.start_enrollment(&kim, "kim", &office()).await.unwrap().unwrap();
        let phone = Phone::scan(&start.uri, &firm.clock);
        assert_eq!(firm.mfa.start_enrollment(&kim, "k:m", &office()).await.err().map(|e| e.to_string()),
            Some("the enrollment URI could not be built: the account contains a colon, which the Key URI format does not allow".into()));
        let outcome = firm.mfa.confirm_enrollment(&kim, &[&phone.code()], &office()).await.unwrap();
        assert!(matches!(outcome, Ok(Confirmed { replaced: false, .. })), "{outcome:?}");
    });
}

#[test]
fn confirming_with_nothing_pending_is_refused() {
    let firm = firm();
    let result = run(firm.mfa.confirm_enrollment(&user("nobody"), &["123456", "234567"], &office()));
    assert_eq!(result.unwrap(), Err(Refusal::NoPendingEnrollment));
}

#[test]
fn a_page_reload_shows_the_same_qr_code_and_key_and_writes_nothing() {
    let firm = firm();
    let sarah = user("sarah");
    run(async {
        let first =
            firm.mfa.start_enrollment(&sarah, "sarah@smith.example", &office()).await.unwrap().unwrap();
        let version_events = firm.mfa.store().events_for(&sarah).len();
        firm.clock.advance(120);
        let again =
            firm.mfa.start_enrollment(&sarah, "sarah@smith.example", &office()).await.unwrap().unwrap();
        assert_eq!(again.uri, first.uri);
        assert_eq!(again.secret_grouped, first.secret_grouped);
        assert_eq!(again.expires_at, first.expires_at);
        assert_eq!(
            firm.mfa.store().events_for(&sarah).len(),
            version_events,
            "a reload is not a new enrollment"
        );
        // The phone that scanned the first screen confirms.
        let phone = Phone::scan(&first.uri, &firm.clock);
        let code = phone.code();
        firm.clock.advance(30);
        let confirmed =
            firm.mfa.confirm_enrollment(&sarah, &[&code, &phone.code()], &office()).await.unwrap();
        assert!(matches!(confirmed, Ok(Confirmed { replaced: false, .. })), "{confirmed:?}");
    });
}

#[test]
fn a_deliberate_restart_makes_a_new_secret_and_restarts_are_limited_per_hour() {
    let firm = firm();
    let sarah = user("sarah");
    run(async {
        let first = firm.mfa.start_enrollment(&sarah, "sarah", &office()).await.unwrap().unwrap();
        let mut uris = vec![first.uri.to_string()];
        for _ in 1..mfa_kit::flow::enrollment::MAX_STARTS_PER_HOUR {
            firm.clock.advance(60);
            let restarted = firm.mfa.restart_enrollment(&sarah, "sarah", &office()).await.unwrap().unwrap();
            assert!(!uris.iter().any(|uri| uri == restarted.uri.as_str()), "a restart makes a new secret");
            uris.push(restarted.uri.to_string());
        }
        let refused = firm.mfa.restart_enrollment(&sarah, "sarah", &office()).await.unwrap();
        assert!(
            matches!(refused, Err(Refusal::RateLimited { retry_at }) if retry_at == START + 3600),
            "{refused:?}"
        );
        // An hour after the first start, one more is allowed.
        firm.clock.set(START + 3600);
        assert!(firm.mfa.restart_enrollment(&sarah, "sarah", &office()).await.unwrap().is_ok());
    });
}

#[test]
fn an_authenticator_from_another_system_is_imported_and_its_next_code_sets_the_replay_floor() {
    let firm = firm();
    let (sarah, tom) = (user("sarah"), user("tom"));
    // What a home-made module or another library stored: a 160-bit secret and its URI.
    let secret = mfa_kit::otp::Secret::generate().unwrap();
    let uri = KeyUri::totp("Old System", "sarah", secret.clone(), mfa_kit::otp::TotpParams::DEFAULT)
        .unwrap()
        .to_uri();
    run(async {
        assert_eq!(firm.mfa.import_authenticator(&sarah, &uri, &office()).await.unwrap(), Ok(()));
        assert!(firm.events(&sarah).contains(&EventKind::AuthenticatorImported));
        let record = firm.mfa.record(&sarah).await.unwrap();
        assert_eq!(record.totp().unwrap().last_accepted_step(), None);
        // The phone that held the old system's secret signs in, once.
        let phone = Phone::scan(&uri, &firm.clock);
        let code = phone.code();
        assert!(firm.mfa.verify_code(&sarah, &code, &office()).await.unwrap().is_ok());
        assert!(firm.mfa.verify_code(&sarah, &code, &office()).await.unwrap().is_err());
        // A second import would replace it without a code: refused.
        let again = firm.mfa.import_authenticator(&sarah, &uri, &office()).await.unwrap();
        assert_eq!(again, Err(Refusal::AlreadyEnrolled));

        // The base32 form alone works too; short, malformed and HOTP keys are refused.
        let base32 = mfa_kit::otp::Secret::generate().unwrap().to_base32_grouped();
        assert_eq!(firm.mfa.import_authenticator(&tom, &base32, &office()).await.unwrap(), Ok(()));
        let hotp = KeyUri::hotp("Old", "x", mfa_kit::otp::Secret::generate().unwrap(), 0).unwrap().to_uri();
        let short = mfa_kit::otp::Secret::from_bytes(&[7; 10]).unwrap().to_base32();
        for bad in [short.as_str(), "not base32!", hotp.as_str(), "otpauth://totp/x?secret=!!"] {
            let refused = firm.mfa.import_authenticator(&user("ann"), bad, &office()).await.unwrap();
            assert_eq!(refused, Err(Refusal::InvalidKey), "{bad}");
        }
        assert!(firm.mfa.record(&user("ann")).await.unwrap().totp().is_none());
    });
}

#[test]
fn restarts_stay_limited_after_too_many_wrong_confirmations_discard_the_enrollment() {
    let firm = firm();
    let sarah = user("sarah");
    run(async {
        let start = firm.mfa.start_enrollment(&sarah, "sarah", &office()).await.unwrap().unwrap();
        let phone = Phone::scan(&start.uri, &firm.clock);
        // Five wrong confirmations discard the enrollment, and its start with it.
        let mut discarded = false;
        for _ in 0..5 {
            let wrong = phone.wrong_code();
            let refused = firm.mfa.confirm_enrollment(&sarah, &[&wrong, &wrong], &office()).await.unwrap();
            discarded = refused == Err(Refusal::EnrollmentDiscarded);
        }
        assert!(discarded);
        assert!(firm.mfa.record(&sarah).await.unwrap().pending_enrollment().is_none());

        // Thirty restarts in the next 15 minutes: only four more start.
        let mut started = 1;
        for _ in 0..30 {
            firm.clock.advance(30);
            let outcome = firm.mfa.restart_enrollment(&sarah, "sarah", &office()).await.unwrap();
            match outcome {
                Ok(_) => started += 1,
                Err(Refusal::RateLimited { retry_at }) => assert_eq!(retry_at, START + 3600),
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(started, mfa_kit::flow::enrollment::MAX_STARTS_PER_HOUR);
    });
}

#[test]
fn restarts_stay_limited_after_the_enrollment_expires_or_is_confirmed() {
    let firm = firm();
    let sarah = user("sarah");
    run(async {
        // Started and let expire, four times: each expiry drops the pending enrollment.
        for _ in 0..4 {
            firm.mfa.restart_enrollment(&sarah, "sarah", &office()).await.unwrap().unwrap();
            firm.clock.advance(601);
            let refused =
                firm.mfa.confirm_enrollment(&sarah, &["123456", "234567"], &office()).await.unwrap();
            assert_eq!(refused.map(|_| ()), Err(Refusal::EnrollmentExpired));
        }
        // The fifth is confirmed; the user now has MFA and proves it for each restart.
        let start = firm.mfa.restart_enrollment(&sarah, "sarah", &office()).await.unwrap().unwrap();
        let phone = Phone::scan(&start.uri, &firm.clock);
        let first = phone.code();
        firm.clock.advance(30);
        let second = phone.code();
        firm.mfa.confirm_enrollment(&sarah, &[&first, &second], &office()).await.unwrap().unwrap();
        let refused = firm.mfa.restart_enrollment(&sarah, "sarah", &office()).await.unwrap();
        assert!(matches!(refused, Err(Refusal::RateLimited { .. })), "{refused:?}");
        // An hour after the first start, one more is allowed.
        firm.clock.set(START + 3600);
        firm.prove(&sarah, &phone);
        assert!(firm.mfa.restart_enrollment(&sarah, "sarah", &office()).await.unwrap().is_ok());
    });
}

#[test]
fn a_record_whose_pending_enrollment_holds_the_starts_still_counts_them() {
    use mfa_kit::flow::{self, Env, Rules};
    use mfa_kit::policy::{SignInContext, StandardPolicy};
    let (policy, context, rules) = (StandardPolicy::new(), SignInContext::default(), Rules::default());
    let secret = mfa_kit::otp::Secret::generate().unwrap();
    let sealed = || mfa_kit::danger::PlaintextSealer.seal(&user("sarah"), &secret).unwrap();
    let mut record = mfa_kit::record::UserRecord::new(user("sarah"));
    let env = Env::new(START, &policy, &context, &rules);
    flow::enrollment::start(&mut record, sealed(), mfa_kit::otp::TotpParams::DEFAULT, "sarah", &env)
        .outcome
        .unwrap();
    // As records written before the history moved to the record kept it.
    let mut json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["enrollment_starts"], serde_json::json!([START]));
    json.as_object_mut().unwrap().remove("enrollment_starts");
    let starts: Vec<u64> = (0..5).map(|i| START + i * 60).collect();
    json["pending_enrollment"]["starts"] = serde_json::json!(starts);
    let mut record: mfa_kit::record::UserRecord = serde_json::from_value(json).unwrap();
    assert_eq!(record.enrollment_starts(), starts.as_slice());
    assert!(record.pending_enrollment().is_some());

    let env = Env::new(START + 600, &policy, &context, &rules);
    let step =
        flow::enrollment::start(&mut record, sealed(), mfa_kit::otp::TotpParams::DEFAULT, "sarah", &env);
    assert_eq!(step.outcome, Err(Refusal::RateLimited { retry_at: START + 3600 }));
}
