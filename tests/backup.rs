//! Stories of backup methods: recovery codes, codes by SMS or e-mail, remembered
//! devices, and what a reset clears (requirements R16-R19, R21).

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::DestinationError;
use mfa_kit::RejectionReason;
use mfa_kit::event::EventKind;
use mfa_kit::flow::Proven;
use mfa_kit::flow::destination::Sent;
use mfa_kit::flow::device::Remembered;
use mfa_kit::policy::Jurisdiction;
use mfa_kit::policy::{Decision, OrgSettings, StandardPolicy};
use mfa_kit::record::DeviceToken;
use mfa_kit::service::Error;
use mfa_kit::{Cleared, Destination, Method, Purpose, Reason, Refusal, Revocation, Role};

#[test]
fn a_bookkeeper_who_lost_her_phone_signs_in_with_a_recovery_code_once() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    run(async {
        let codes = firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().unwrap();
        assert_eq!(codes.len(), 10);
        assert_eq!(firm.mfa.status(&sarah, &office()).await.unwrap().recovery_codes_left, Some(10));
        let decision = firm.mfa.sign_in_decision(&sarah, &office()).await.unwrap();
        assert!(
            matches!(decision, Ok(Decision::Challenge { ref methods, .. }) if methods == &[Method::Totp, Method::RecoveryCode])
        );

        // Read over the phone, typed in lower case without the hyphens.
        let typed = codes[0].as_str().replace('-', " ").to_lowercase();
        let outcome = firm.mfa.redeem_recovery_code(&sarah, &typed, &office()).await.unwrap();
        assert!(
            matches!(outcome, Ok(Proven { method: Method::RecoveryCode, drift: None, .. })),
            "{outcome:?}"
        );
        let status = firm.mfa.status(&sarah, &office()).await.unwrap();
        assert_eq!(status.recovery_codes_left, Some(9));
        // The admin list shows the last proof, whatever the method.
        assert_eq!((status.last_used, status.last_method), (Some(START + 60), Some(Method::RecoveryCode)));

        let again = firm.mfa.redeem_recovery_code(&sarah, codes[0].as_str(), &office()).await.unwrap();
        assert_eq!(again, Err(Refusal::CodeReused { attempts_left: 4 }));
        let made_up = firm.mfa.redeem_recovery_code(&sarah, "2345-6789-ABCD", &office()).await.unwrap();
        assert_eq!(made_up, Err(Refusal::WrongCode { attempts_left: 3 }));
    });
}

#[test]
fn malformed_recovery_code_input_is_refused_and_not_counted() {
    // Deliberate change: input that is not 15 (or, for older sets, 12) alphabet symbols
    // is `Malformed` and no longer counts towards the lockout (it was counted as a
    // wrong code).
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    run(async {
        firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().unwrap();
        for typed in ["2345-6789-ABC", "2345-6789-ABCD-E", "0000-0000-0000", "hello"] {
            let outcome = firm.mfa.redeem_recovery_code(&sarah, typed, &office()).await.unwrap();
            assert_eq!(outcome, Err(Refusal::Malformed), "{typed}");
        }
        assert_eq!(firm.mfa.record(&sarah).await.unwrap().failures().consecutive(), 0);
        assert!(firm.events(&sarah).contains(&EventKind::CodeRejected {
            method: Method::RecoveryCode,
            reason: RejectionReason::Malformed,
            consecutive_failures: 0
        }));
        // The first real failure still has every try left but one.
        let made_up = firm.mfa.redeem_recovery_code(&sarah, "2345-6789-ABCD", &office()).await.unwrap();
        assert_eq!(made_up, Err(Refusal::WrongCode { attempts_left: 4 }));
    });
}

#[test]
fn under_the_nist_preset_the_user_is_prompted_to_replace_the_set_after_using_a_code() {
    let firm = firm_with_policy(StandardPolicy::nist_aal2());
    let sarah = user("sarah");
    firm.enroll(&sarah);
    run(async {
        let codes = firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().unwrap();
        // 15 symbols in three groups of five: 74.3 bits (NIST SP 800-63B-4 §4.2).
        assert_eq!(codes[0].as_str().split('-').map(str::len).collect::<Vec<_>>(), [5, 5, 5]);
        let due = |record: &mfa_kit::record::UserRecord| {
            record.recovery_codes().is_some_and(mfa_kit::record::RecoveryCodes::replacement_due)
        };
        assert!(!due(&firm.mfa.record(&sarah).await.unwrap()));
        firm.clock.advance(60);
        let proven = firm.mfa.redeem_recovery_code(&sarah, codes[0].as_str(), &office()).await.unwrap();
        assert!(proven.is_ok(), "{proven:?}");
        // The host learns it from the trail at once and from the record on any later page.
        assert!(firm.events(&sarah).contains(&EventKind::RecoveryCodesReplacementDue { remaining: 9 }));
        let record = firm.mfa.record(&sarah).await.unwrap();
        assert!(due(&record) && record.recovery_codes().unwrap().used() == 1);
        // The recovery code is a fresh proof: the new set can be made at once, and is not due.
        firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().unwrap();
        assert!(!due(&firm.mfa.record(&sarah).await.unwrap()));
    });
}

#[test]
fn under_the_standard_rules_a_used_recovery_code_prompts_no_replacement() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    run(async {
        let codes = firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().unwrap();
        firm.mfa.redeem_recovery_code(&sarah, codes[0].as_str(), &office()).await.unwrap().unwrap();
        let record = firm.mfa.record(&sarah).await.unwrap();
        assert!(!record.recovery_codes().unwrap().replacement_due());
        assert!(
            !firm.events(&sarah).iter().any(|e| matches!(e, EventKind::RecoveryCodesReplacementDue { .. }))
        );
    });
}

#[test]
fn the_host_is_told_when_few_recovery_codes_remain_and_when_none_do() {
    let firm = firm();
    let tom = user("tom");
    firm.enroll(&tom);
    run(async {
        let codes = firm.mfa.generate_recovery_codes(&tom, &office()).await.unwrap().unwrap();
        for code in &codes {
            assert!(firm.mfa.redeem_recovery_code(&tom, code.as_str(), &office()).await.unwrap().is_ok());
        }
        let events = firm.events(&tom);
        assert!(events.contains(&EventKind::RecoveryCodesLow { remaining: 2 }));
        assert!(events.contains(&EventKind::RecoveryCodesLow { remaining: 1 }));
        assert!(!events.contains(&EventKind::RecoveryCodesLow { remaining: 3 }));
        assert_eq!(events.last(), Some(&EventKind::RecoveryCodesExhausted));
        assert_eq!(firm.mfa.status(&tom, &office()).await.unwrap().recovery_codes_left, Some(0));

        // Regenerating replaces the whole set.
        let old = firm.mfa.generate_recovery_codes(&tom, &office()).await.unwrap().unwrap();
        let new = firm.mfa.generate_recovery_codes(&tom, &office()).await.unwrap().unwrap();
        let stale = firm.mfa.redeem_recovery_code(&tom, old[5].as_str(), &office()).await.unwrap();
        assert!(matches!(stale, Err(Refusal::WrongCode { .. })), "{stale:?}");
        assert!(firm.mfa.redeem_recovery_code(&tom, new[5].as_str(), &office()).await.unwrap().is_ok());
    });
}

#[test]
fn recovery_codes_need_mfa_first() {
    let firm = firm();
    let result = run(firm.mfa.generate_recovery_codes(&user("newbie"), &office()));
    assert!(matches!(result, Ok(Err(Refusal::NotEnrolled))), "{result:?}");
}

/// Adds and confirms a backup destination, returning the outbox.
fn with_backup(firm: &Firm, who: &mfa_kit::UserId, destination: Destination) -> Outbox {
    let outbox = Outbox::default();
    run(async {
        let sent =
            firm.mfa.add_destination(who, destination, Role::Backup, &outbox, &office()).await.unwrap();
        assert!(matches!(sent, Ok(Sent { .. })), "{sent:?}");
        let confirmed = firm.mfa.confirm_destination(who, &outbox.last_code(), &office()).await.unwrap();
        assert!(confirmed.is_ok(), "{confirmed:?}");
    });
    firm.clock.advance(60);
    outbox
}

#[test]
fn a_payroll_officer_signs_in_with_a_code_sent_by_email() {
    let firm = firm();
    let ann = user("ann");
    firm.enroll(&ann);
    let outbox = with_backup(&firm, &ann, Destination::email("Ann@Smith.Example").unwrap());
    run(async {
        let decision = firm.mfa.sign_in_decision(&ann, &office()).await.unwrap();
        assert!(
            matches!(decision, Ok(Decision::Challenge { ref methods, .. }) if methods == &[Method::Totp, Method::Email])
        );
        let sent = firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap();
        let sent = sent.map(|Sent { to, expires_at, .. }| (to, expires_at));
        assert_eq!(sent, Ok(("a•••@s•••.example".to_string(), START + 120 + 600)));
        assert_eq!(outbox.sent.lock().unwrap().last().unwrap().0.address(), "ann@smith.example");
        let code = outbox.last_code();
        let outcome = firm.mfa.verify_sign_in_code(&ann, &code, &office()).await.unwrap();
        assert!(matches!(outcome, Ok(Proven { method: Method::Email, drift: None, .. })), "{outcome:?}");
        // Once only.
        let again = firm.mfa.verify_sign_in_code(&ann, &code, &office()).await.unwrap();
        assert_eq!(again, Err(Refusal::NoCodePending));
        let kinds = firm.events(&ann);
        assert!(kinds.contains(&EventKind::BackupCodeSent {
            method: Method::Email,
            purpose: Purpose::SignIn,
            to: "a•••@s•••.example".into()
        }));
    });
}

#[test]
fn an_out_of_band_code_fails_after_ten_minutes() {
    let firm = firm();
    let ann = user("ann");
    firm.enroll(&ann);
    let outbox = with_backup(&firm, &ann, Destination::sms("+61 412 345 678").unwrap());
    run(async {
        firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        firm.clock.advance(600);
        let late = firm.mfa.verify_sign_in_code(&ann, &outbox.last_code(), &office()).await.unwrap();
        assert_eq!(late, Err(Refusal::CodeExpired));
    });
}

#[test]
fn an_out_of_band_code_fails_after_five_wrong_tries_and_only_the_latest_code_works() {
    let firm =
        firm_with_policy(StandardPolicy::new().with_defaults(
            OrgSettings::builder().lockout(mfa_kit::LockoutRule::new(10, 900)).build().unwrap(),
        ));
    let ann = user("ann");
    firm.enroll(&ann);
    let outbox = with_backup(&firm, &ann, Destination::sms("+61 412 345 678").unwrap());
    run(async {
        firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        let first = outbox.last_code();
        firm.clock.advance(60);
        firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        let second = outbox.last_code();
        if first != second {
            let stale = firm.mfa.verify_sign_in_code(&ann, &first, &office()).await.unwrap();
            assert!(matches!(stale, Err(Refusal::WrongCode { .. })), "{stale:?}");
        }
        let wrong = if second == "000000" { "111111" } else { "000000" };
        let tries_left = if first != second { 4 } else { 5 };
        for _ in 0..tries_left {
            let outcome = firm.mfa.verify_sign_in_code(&ann, wrong, &office()).await.unwrap();
            assert!(matches!(outcome, Err(Refusal::WrongCode { .. })), "{outcome:?}");
        }
        // Five wrong tries discarded the code: even the right one fails now.
        let right = firm.mfa.verify_sign_in_code(&ann, &second, &office()).await.unwrap();
        assert_eq!(right, Err(Refusal::NoCodePending));
        assert!(firm.events(&ann).contains(&EventKind::BackupCodeDiscarded { method: Method::Sms }));
    });
}

/// The record's out-of-band section as stored (its code and send times have no accessor).
fn oob_json(record: &mfa_kit::record::UserRecord) -> serde_json::Value {
    serde_json::to_value(record).unwrap()["oob"].clone()
}

#[test]
fn resends_are_limited_and_a_failing_sender_issues_no_code() {
    let firm = firm();
    let ann = user("ann");
    firm.enroll(&ann);
    let outbox = with_backup(&firm, &ann, Destination::sms("+61 412 345 678").unwrap());
    run(async {
        firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        let now = START + 120;
        let too_soon = firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap();
        assert_eq!(too_soon, Err(Refusal::RateLimited { retry_at: now + 60 }));

        let before = firm.mfa.record(&ann).await.unwrap();
        let sent_before = outbox.count();
        firm.clock.advance(60);
        outbox.down.store(true, std::sync::atomic::Ordering::SeqCst);
        let failed = firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await;
        assert!(matches!(failed, Err(Error::Sender(_))), "{failed:?}");
        let message = failed.unwrap_err().to_string();
        assert!(
            message.contains("could not be sent") && message.contains("SMS gateway returned 503"),
            "{message}"
        );
        // Deliberate change: the send was reserved in the record, then released. The
        // released reservation took the place of the code sent before, so no code is
        // valid now; the send is not counted; everything else is as it was.
        let after = firm.mfa.record(&ann).await.unwrap();
        let mut expected = oob_json(&before);
        assert!(!expected["challenge"].is_null(), "a code was pending before");
        expected["challenge"] = serde_json::Value::Null;
        assert_eq!(oob_json(&after), expected, "no valid code, and the send not counted");
        let mut unchanged = serde_json::to_value(&after).unwrap();
        unchanged["oob"] = oob_json(&before);
        assert_eq!(unchanged, serde_json::to_value(&before).unwrap(), "nothing else changed");
        assert_eq!(outbox.count(), sent_before);
        let masked = Destination::sms("+61 412 345 678").unwrap().masked();
        let kinds = firm.events(&ann);
        assert_eq!(
            kinds[kinds.len() - 2..],
            [
                EventKind::BackupCodeReserved { method: Method::Sms, purpose: Purpose::SignIn, to: masked },
                EventKind::BackupCodeNotSent { method: Method::Sms },
            ]
        );
        // The code sent before no longer works, and trying it costs nothing.
        outbox.down.store(false, std::sync::atomic::Ordering::SeqCst);
        let earlier = outbox.last_code();
        let stale = firm.mfa.verify_sign_in_code(&ann, &earlier, &office()).await.unwrap();
        assert_eq!(stale, Err(Refusal::NoCodePending));
        assert_eq!(firm.mfa.record(&ann).await.unwrap().failures().consecutive(), 0);

        // Five sends an hour at most (the confirmation code counted as one, the failed
        // send not at all).
        for _ in 0..3 {
            firm.clock.advance(60);
            let sent = firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap();
            assert!(matches!(sent, Ok(Sent { .. })), "{sent:?}");
        }
        // The latest code works.
        let latest = outbox.last_code();
        assert!(firm.mfa.verify_sign_in_code(&ann, &latest, &office()).await.unwrap().is_ok());
        firm.clock.advance(60);
        let sixth = firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap();
        assert!(matches!(sixth, Err(Refusal::RateLimited { .. })), "{sixth:?}");
    });
}

#[test]
fn a_confirmation_code_that_cannot_be_sent_adds_no_destination() {
    let firm = firm();
    let ann = user("ann");
    firm.enroll(&ann);
    let outbox = Outbox::default();
    let email = Destination::email("ann@smith.example").unwrap();
    run(async {
        let before = firm.mfa.record(&ann).await.unwrap();
        outbox.down.store(true, std::sync::atomic::Ordering::SeqCst);
        let failed = firm.mfa.add_destination(&ann, email.clone(), Role::Backup, &outbox, &office()).await;
        assert!(matches!(failed, Err(Error::Sender(_))), "{failed:?}");
        // The reservation was taken back: no destination, no code, no counted send.
        let after = firm.mfa.record(&ann).await.unwrap();
        assert!(after.destination_state().destinations().is_empty());
        assert_eq!(oob_json(&after), oob_json(&before));
        assert_eq!(outbox.count(), 0);
        let kinds = firm.events(&ann);
        assert_eq!(
            kinds[kinds.len() - 4..],
            [
                EventKind::BackupDestinationAdded {
                    method: Method::Email,
                    role: Role::Backup,
                    to: email.masked()
                },
                EventKind::BackupCodeReserved {
                    method: Method::Email,
                    purpose: Purpose::ConfirmDestination,
                    to: email.masked()
                },
                EventKind::BackupCodeNotSent { method: Method::Email },
                EventKind::BackupDestinationWithdrawn { role: Role::Backup },
            ]
        );
        // With the gateway back, the same destination can be added at once.
        outbox.down.store(false, std::sync::atomic::Ordering::SeqCst);
        let sent = firm.mfa.add_destination(&ann, email, Role::Backup, &outbox, &office()).await.unwrap();
        assert!(matches!(sent, Ok(Sent { .. })), "{sent:?}");
        assert!(firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office()).await.unwrap().is_ok());
        assert!(firm.mfa.record(&ann).await.unwrap().has_backup());
    });
}

#[test]
fn a_destination_counts_only_once_confirmed_and_a_backup_phone_must_differ_from_the_primary() {
    let firm = firm();
    let ben = user("ben");
    let outbox = Outbox::default();
    run(async {
        // Ben signs in with SMS as his primary method.
        firm.mfa
            .add_destination(
                &ben,
                Destination::sms("+61 412 345 678").unwrap(),
                Role::Primary,
                &outbox,
                &office(),
            )
            .await
            .unwrap()
            .unwrap();
        assert!(!firm.mfa.status(&ben, &office()).await.unwrap().has_mfa(), "not a method until confirmed");
        let wrong = if outbox.last_code() == "000000" { "111111" } else { "000000" };
        let refused = firm.mfa.confirm_destination(&ben, wrong, &office()).await.unwrap();
        assert!(matches!(refused, Err(Refusal::WrongCode { .. })), "{refused:?}");
        assert!(firm.mfa.confirm_destination(&ben, &outbox.last_code(), &office()).await.unwrap().is_ok());
        assert_eq!(firm.mfa.status(&ben, &office()).await.unwrap().methods, vec![Method::Sms]);

        firm.clock.advance(60);
        let same = Destination::sms("+61 (412) 345-678").unwrap();
        let refused = firm.mfa.add_destination(&ben, same, Role::Backup, &outbox, &office()).await;
        assert!(matches!(refused, Ok(Err(Refusal::SameAsPrimary))), "{refused:?}");
        let other = Destination::sms("+61 498 765 432").unwrap();
        let added = firm.mfa.add_destination(&ben, other, Role::Backup, &outbox, &office()).await;
        assert!(matches!(added, Ok(Ok(Sent { .. }))), "{added:?}");
        // A sign-in code is never accepted as a confirmation code, or the other way round.
        let confirmation = outbox.last_code();
        let crossed = firm.mfa.verify_sign_in_code(&ben, &confirmation, &office()).await.unwrap();
        assert_eq!(crossed, Err(Refusal::NoCodePending));
        assert!(firm.mfa.confirm_destination(&ben, &confirmation, &office()).await.unwrap().is_ok());
        assert_eq!(firm.mfa.status(&ben, &office()).await.unwrap().methods, vec![Method::Sms]);
        assert!(firm.mfa.record(&ben).await.unwrap().has_backup());
    });
}

/// A phone number as a host that deserialises destinations itself, or a record written
/// before national numbers were refused, may still hold it.
fn national(address: &str) -> Destination {
    serde_json::from_value(serde_json::json!({"kind": "sms", "address": address})).unwrap()
}

#[test]
fn a_backup_phone_in_national_form_cannot_sidestep_the_differs_from_primary_rule() {
    let firm = firm();
    let ben = user("ben");
    let outbox = Outbox::default();
    // The organisation has no country in the context.
    assert_eq!(office().jurisdiction.country_code(), None);
    run(async {
        let primary = Destination::sms("+61 412 345 678").unwrap();
        firm.mfa.add_destination(&ben, primary, Role::Primary, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&ben, &outbox.last_code(), &office()).await.unwrap().unwrap();
        firm.clock.advance(60);
        // The national form cannot be made without a country...
        assert_eq!(Destination::sms("0412 345 678"), Err(DestinationError::NeedsCountryCode));
        assert_eq!(Destination::sms_in("0412 345 678", "XX"), Err(DestinationError::NeedsCountryCode));
        // ...and one that arrives anyway counts as the primary it could be.
        let refused = firm
            .mfa
            .add_destination(&ben, national("0412345678"), Role::Backup, &outbox, &office())
            .await
            .unwrap();
        assert_eq!(refused, Err(Refusal::SameAsPrimary));
        let other = firm
            .mfa
            .add_destination(&ben, national("0498765432"), Role::Backup, &outbox, &office())
            .await
            .unwrap();
        assert!(matches!(other, Ok(Sent { .. })));
    });
}

#[test]
fn a_backup_phone_in_national_form_is_read_in_the_organisations_country() {
    let firm = firm();
    let ben = user("ben");
    let outbox = Outbox::default();
    let sydney = office().with_jurisdiction(Jurisdiction::country("AU"));
    run(async {
        let primary = Destination::sms("+61 412 345 678").unwrap();
        firm.mfa.add_destination(&ben, primary, Role::Primary, &outbox, &sydney).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&ben, &outbox.last_code(), &sydney).await.unwrap().unwrap();
        firm.clock.advance(60);
        let typed = Destination::sms_in("0412 345 678", "AU").unwrap();
        let refused = firm.mfa.add_destination(&ben, typed, Role::Backup, &outbox, &sydney).await.unwrap();
        assert_eq!(refused, Err(Refusal::SameAsPrimary));
        // A national number that arrives anyway is stored in international form.
        firm.mfa
            .add_destination(&ben, national("0498765432"), Role::Backup, &outbox, &sydney)
            .await
            .unwrap()
            .unwrap();
        let sent_to = outbox.sent.lock().unwrap().last().unwrap().0.clone();
        assert_eq!(sent_to.address(), "+61498765432");
    });
}

#[test]
fn a_national_primary_phone_of_an_old_record_still_blocks_the_same_phone_as_backup() {
    let firm = firm();
    let ben = user("ben");
    let outbox = Outbox::default();
    run(async {
        firm.mfa
            .add_destination(&ben, national("0412345678"), Role::Primary, &outbox, &office())
            .await
            .unwrap()
            .unwrap();
        firm.mfa.confirm_destination(&ben, &outbox.last_code(), &office()).await.unwrap().unwrap();
        assert!(firm.mfa.record(&ben).await.unwrap().has_mfa());
        firm.clock.advance(60);
        let international = Destination::sms("+61 412 345 678").unwrap();
        let refused =
            firm.mfa.add_destination(&ben, international, Role::Backup, &outbox, &office()).await.unwrap();
        assert_eq!(refused, Err(Refusal::SameAsPrimary));
        let other = Destination::sms("+61 498 765 432").unwrap();
        assert!(
            firm.mfa.add_destination(&ben, other, Role::Backup, &outbox, &office()).await.unwrap().is_ok()
        );
    });
}

#[test]
fn principals_are_asked_to_set_up_a_backup_method_and_others_are_not() {
    let firm = firm();
    let (partner, clerk) = (user("partner"), user("clerk"));
    firm.enroll(&partner);
    firm.enroll(&clerk);
    run(async {
        let as_principal = office().as_principal();
        let decision = firm.mfa.sign_in_decision(&partner, &as_principal).await.unwrap();
        assert!(matches!(decision, Ok(Decision::Challenge { needs_backup: true, .. })), "{decision:?}");
        let decision = firm.mfa.sign_in_decision(&clerk, &office()).await.unwrap();
        assert!(matches!(decision, Ok(Decision::Challenge { needs_backup: false, .. })), "{decision:?}");
        firm.mfa.generate_recovery_codes(&partner, &as_principal).await.unwrap().unwrap();
        let decision = firm.mfa.sign_in_decision(&partner, &as_principal).await.unwrap();
        assert!(matches!(decision, Ok(Decision::Challenge { needs_backup: false, .. })), "{decision:?}");
    });
}

#[test]
fn a_remembered_device_skips_the_code_until_it_expires_or_is_revoked() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    run(async {
        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());
        let Remembered { token, info, .. } = firm
            .mfa
            .remember_device(&sarah, "Firefox on Windows", 30 * 86_400, &office())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(info.expires_at, START + 60 + 30 * 86_400);
        let cookie = token.as_str().to_string();
        let with_cookie = office().with_device_token(DeviceToken::from_cookie(&cookie));
        assert_eq!(
            firm.mfa.sign_in_decision(&sarah, &with_cookie).await.unwrap(),
            Ok(Decision::Allow { reason: Reason::RememberedDevice })
        );
        assert!(firm.events(&sarah).contains(&EventKind::DeviceAccepted { device_id: info.id.clone() }));
        // A forged cookie, or another user's, does nothing.
        let forged = office().with_device_token(DeviceToken::from_cookie("AAAA"));
        assert!(matches!(
            firm.mfa.sign_in_decision(&sarah, &forged).await.unwrap(),
            Ok(Decision::Challenge { .. })
        ));
        let tom = user("tom");
        firm.enroll(&tom);
        assert!(matches!(
            firm.mfa.sign_in_decision(&tom, &with_cookie).await.unwrap(),
            Ok(Decision::Challenge { .. })
        ));

        // Thirty days later it has expired.
        firm.clock.advance(30 * 86_400);
        assert!(matches!(
            firm.mfa.sign_in_decision(&sarah, &with_cookie).await.unwrap(),
            Ok(Decision::Challenge { .. })
        ));

        // A new one, after signing in with a code, revoked by the user from the device list.
        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());
        let Remembered { token, info, .. } =
            firm.mfa.remember_device(&sarah, "Laptop", 86_400, &office()).await.unwrap().unwrap();
        assert_eq!(firm.mfa.devices(&sarah).await.unwrap(), vec![info.clone()]);
        assert!(firm.mfa.revoke_device(&sarah, &info.id, &sarah, &office().request).await.unwrap());
        let revoked = office().with_device_token(token);
        assert!(matches!(
            firm.mfa.sign_in_decision(&sarah, &revoked).await.unwrap(),
            Ok(Decision::Challenge { .. })
        ));
    });
}

#[test]
fn a_password_change_or_a_new_authenticator_revokes_every_device() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    run(async {
        for label in ["Laptop", "Phone"] {
            firm.mfa.remember_device(&sarah, label, 86_400, &office()).await.unwrap().unwrap();
        }
        assert_eq!(firm.mfa.password_changed(&sarah, &office().request).await.unwrap(), 2);
        assert!(firm.mfa.devices(&sarah).await.unwrap().is_empty());
        assert!(matches!(
            firm.events(&sarah).last(),
            Some(EventKind::DevicesRevoked { reason: Revocation::PasswordChanged, device_ids }) if device_ids.len() == 2
        ));
    });
    run(firm.mfa.remember_device(&sarah, "Laptop", 86_400, &office())).unwrap().unwrap();
    firm.enroll(&sarah);
    assert!(run(firm.mfa.devices(&sarah)).unwrap().is_empty());
    assert!(
        firm.events(&sarah)
            .iter()
            .any(|k| matches!(k, EventKind::DevicesRevoked { reason: Revocation::NewAuthenticator, .. }))
    );
}

#[test]
fn the_ato_preset_caps_remembered_devices_below_a_day() {
    let firm = firm_with_policy(StandardPolicy::ato_tax_data());
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let lax = Arc::new(OrgSettings::builder().remember_device_max(30 * 86_400).build().unwrap());
    let context = office().with_org(lax);
    let Remembered { token, info, .. } =
        run(firm.mfa.remember_device(&sarah, "Laptop", 30 * 86_400, &context)).unwrap().unwrap();
    assert!(info.expires_at - info.created_at < 86_400);
    firm.clock.advance(13 * 3600);
    let decision = run(firm.mfa.sign_in_decision(&sarah, &context.clone().with_device_token(token))).unwrap();
    assert!(matches!(decision, Ok(Decision::Challenge { .. })), "{decision:?}");
    let off = Arc::new(OrgSettings::builder().remember_device_max(0).build().unwrap());
    let result = run(firm.mfa.remember_device(&sarah, "Laptop", 3600, &office().with_org(off)));
    assert!(matches!(result, Ok(Err(Refusal::RememberDisabled))), "{result:?}");
}

#[test]
fn a_reset_clears_the_authenticator_recovery_codes_destinations_and_devices() {
    let firm = firm();
    let (sarah, partner) = (user("sarah"), user("partner"));
    let phone = firm.enroll(&sarah);
    firm.enroll(&partner);
    let _outbox = with_backup(&firm, &sarah, Destination::email("sarah@smith.example").unwrap());
    run(async {
        let codes = firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().unwrap();
        let Remembered { token, .. } =
            firm.mfa.remember_device(&sarah, "Laptop", 86_400, &office()).await.unwrap().unwrap();
        let _ = firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office()).await.unwrap();

        let cleared = firm
            .mfa
            .reset(reset_of(&partner, &sarah, "lost phone and laptop"), &permitted(), &office())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            cleared,
            vec![
                Cleared::Authenticator,
                Cleared::Lockout,
                Cleared::RecoveryCodes,
                Cleared::BackupDestinations,
                Cleared::RememberedDevices
            ]
        );
        let record = firm.mfa.record(&sarah).await.unwrap();
        assert!(record.methods().is_empty() && record.devices().is_empty() && !record.has_backup());
        assert!(record.destination_state().destinations().is_empty());
        let redeemed = firm.mfa.redeem_recovery_code(&sarah, codes[0].as_str(), &office()).await.unwrap();
        assert!(matches!(redeemed, Err(Refusal::WrongCode { .. })), "{redeemed:?}");
        // The old device no longer skips anything, and the user must set MFA up again
        // before going on, whatever the level.
        let with_cookie = office().with_device_token(token);
        assert_eq!(
            firm.mfa.sign_in_decision(&sarah, &with_cookie).await.unwrap(),
            Ok(Decision::RequireEnrollment { reason: Reason::ResetByAdmin })
        );
        let reset =
            firm.events(&sarah).into_iter().find(|k| matches!(k, EventKind::ResetByAdmin { .. })).unwrap();
        assert!(matches!(reset, EventKind::ResetByAdmin { cleared: ref c, .. } if c.len() == 5));
    });
}

#[test]
fn deactivation_removes_backup_methods_and_devices_too() {
    let firm = firm();
    let tom = user("tom");
    let phone = firm.enroll(&tom);
    run(async {
        firm.mfa.generate_recovery_codes(&tom, &office()).await.unwrap().unwrap();
        firm.mfa.remember_device(&tom, "Laptop", 86_400, &office()).await.unwrap().unwrap();
        assert_eq!(firm.mfa.deactivate(&tom, &phone.code(), true, &office()).await.unwrap(), Ok(()));
        let record = firm.mfa.record(&tom).await.unwrap();
        assert!(
            record.methods().is_empty() && record.devices().is_empty() && record.recovery_codes().is_none()
        );
    });
}

#[test]
fn without_a_hash_key_backup_methods_fail_closed() {
    let store = mfa_kit::store::MemoryStore::new();
    let mfa = mfa_kit::service::MfaService::builder("Smith", store, mfa_kit::danger::PlaintextSealer).build();
    let result = run(mfa.redeem_recovery_code(&user("sarah"), "2345-6789-ABCD", &office()));
    assert!(matches!(result, Err(Error::HashKeyMissing)), "{result:?}");
    assert!(result.unwrap_err().to_string().contains("hash_key"));
}

#[test]
fn no_code_is_sent_to_a_sign_in_from_an_address_off_the_allowlist() {
    let firm = firm();
    let ann = user("ann");
    firm.enroll(&ann);
    let outbox = with_backup(&firm, &ann, Destination::sms("+61 412 345 678").unwrap());
    let sent_before = outbox.count();
    let settings = Arc::new(
        OrgSettings::builder().allowed_networks(vec!["192.0.2.0/24".parse().unwrap()]).build().unwrap(),
    );
    let outside = office().with_org(settings);
    let outcome = run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &outside)).unwrap();
    assert_eq!(outcome, Err(Refusal::AddressNotAllowed));
    assert_eq!(outbox.count(), sent_before);
    assert!(matches!(
        firm.events(&ann).last(),
        Some(EventKind::CodeRejected { method: Method::Sms, reason: RejectionReason::PolicyRefused, .. })
    ));
}

#[test]
fn an_admin_revokes_every_remembered_device_of_a_user_who_lost_her_laptop() {
    let firm = firm();
    let (sarah, admin) = (user("sarah"), user("admin"));
    firm.enroll(&sarah);
    run(async {
        let mut tokens = Vec::new();
        for label in ["Laptop", "Phone"] {
            let Remembered { token, .. } =
                firm.mfa.remember_device(&sarah, label, 86_400, &office()).await.unwrap().unwrap();
            tokens.push(token);
        }
        let request = office().request;
        let revoked = firm.mfa.revoke_all_devices(&sarah, &admin, Revocation::Requested, &request);
        assert_eq!(revoked.await.unwrap(), 2);
        assert!(firm.mfa.devices(&sarah).await.unwrap().is_empty());
        // Neither cookie skips the second factor any more.
        for token in tokens {
            assert!(matches!(
                firm.mfa.sign_in_decision(&sarah, &office().with_device_token(token)).await.unwrap(),
                Ok(Decision::Challenge { .. })
            ));
        }
        // One event, naming both devices, done by the admin.
        let revocations: Vec<_> = firm
            .mfa
            .store()
            .events_for(&sarah)
            .into_iter()
            .filter(|e| matches!(e.kind, EventKind::DevicesRevoked { .. }))
            .collect();
        assert_eq!(revocations.len(), 1);
        assert_eq!(revocations[0].actor, admin);
        assert!(matches!(
            &revocations[0].kind,
            EventKind::DevicesRevoked { reason: Revocation::Requested, device_ids } if device_ids.len() == 2
        ));
        // Nothing left to revoke: nothing written.
        let again = firm.mfa.revoke_all_devices(&sarah, &admin, Revocation::Requested, &request);
        assert_eq!(again.await.unwrap(), 0);
        let revocations =
            firm.events(&sarah).into_iter().filter(|k| matches!(k, EventKind::DevicesRevoked { .. }));
        assert_eq!(revocations.count(), 1);
    });
}

#[test]
fn a_host_chooses_how_many_recovery_codes_a_set_holds() {
    use mfa_kit::flow::Rules;
    let firm = firm_with_config(
        mfa_kit::service::ServiceConfig::new("Smith & Co Accounting")
            .with_rules(Rules::DEFAULT.with_recovery_codes(12)),
    );
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let codes = run(firm.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
    assert_eq!(codes.len(), 12);
    let distinct: std::collections::BTreeSet<String> = codes.iter().map(|c| c.as_str().to_string()).collect();
    assert_eq!(distinct.len(), 12);
    // Every one of them works, once.
    let first = codes[0].as_str().to_string();
    assert!(run(firm.mfa.redeem_recovery_code(&sarah, &first, &office())).unwrap().is_ok());
    assert!(run(firm.mfa.redeem_recovery_code(&sarah, &first, &office())).unwrap().is_err());
    let last = codes[11].as_str().to_string();
    assert!(run(firm.mfa.redeem_recovery_code(&sarah, &last, &office())).unwrap().is_ok());
}
