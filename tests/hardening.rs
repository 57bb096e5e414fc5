//! Tried as an attacker and as an operator would: failure limits, factor removal,
//! trusted settings and clocks (requirements R12, R14, R15, R18, R20, R21).

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::LockoutRule;
use mfa_kit::event::EventKind;
use mfa_kit::flow::oob::Sent;
use mfa_kit::otp::TotpParams;
use mfa_kit::policy::{Decision, Jurisdiction, OrgSettings, StandardPolicy};
use mfa_kit::service::{Error, ServiceConfig};
use mfa_kit::{Destination, Method, Reason, Refusal, Role};

fn wrong_codes(firm: &Firm, who: &mfa_kit::UserId, phone: &Phone, count: usize) -> Vec<Refusal> {
    (0..count)
        .map(|_| run(firm.mfa.verify_code(who, &phone.wrong_code(), &office())).unwrap().unwrap_err())
        .collect()
}

#[test]
fn a_lockouts_end_gives_no_fresh_allowance_and_each_lockout_lasts_twice_as_long() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let first = wrong_codes(&firm, &sarah, &phone, 5);
    let start = START + 60;
    assert_eq!(first[4], Refusal::LockedOut { until: start + 900 });
    firm.clock.set(start + 900);
    // Five more guesses are allowed, then the lock is twice as long.
    let second = wrong_codes(&firm, &sarah, &phone, 5);
    assert_eq!(second[..4], [4, 3, 2, 1].map(|attempts_left| Refusal::WrongCode { attempts_left }));
    assert_eq!(second[4], Refusal::LockedOut { until: start + 900 + 1800 });
    let record = run(firm.mfa.record(&sarah)).unwrap();
    assert_eq!((record.failures().consecutive(), record.failures().lockouts()), (10, 2));
    // A success clears the history.
    firm.clock.set(start + 2700);
    assert!(run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
    let record = run(firm.mfa.record(&sarah)).unwrap();
    assert_eq!((record.failures().consecutive(), record.failures().lockouts()), (0, 0));
}

#[test]
fn the_hard_limit_disables_the_second_factor_until_an_admin_resets_it() {
    let rule = LockoutRule::new(5, 60).with_hard_limit(15);
    let firm = firm_with_policy(
        StandardPolicy::new().with_defaults(OrgSettings::builder().lockout(rule).build().unwrap()),
    );
    let (sarah, partner) = (user("sarah"), user("partner"));
    let phone = firm.enroll(&sarah);
    let partner_phone = firm.enroll(&partner);
    let mut refusals = Vec::new();
    while refusals.last() != Some(&Refusal::Disabled) {
        refusals.extend(wrong_codes(&firm, &sarah, &phone, 5));
        firm.clock.advance(86_400);
        assert!(refusals.len() <= 15, "{refusals:?}");
    }
    assert_eq!(refusals.len(), 15);
    // Even the right code, days later, is refused; so is the sign-in itself.
    firm.clock.advance(30 * 86_400);
    let right = run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap();
    assert_eq!(right, Err(Refusal::Disabled));
    assert_eq!(run(firm.mfa.sign_in_decision(&sarah, &office())).unwrap(), Err(Refusal::Disabled));
    assert!(firm.events(&sarah).contains(&EventKind::SecondFactorDisabled { failures: 15 }));
    // An admin reset, with a fresh proof of the admin's own, lets her set MFA up again.
    firm.prove(&partner, &partner_phone);
    run(firm.mfa.reset(reset_of(&partner, &sarah, "locked out by guessing"), &permitted(), &office()))
        .unwrap()
        .unwrap();
    assert_eq!(
        run(firm.mfa.sign_in_decision(&sarah, &office())).unwrap(),
        Ok(Decision::RequireEnrollment { reason: Reason::ResetByAdmin })
    );
    let new_phone = firm.enroll(&sarah);
    assert!(run(firm.mfa.verify_code(&sarah, &new_phone.code(), &office())).unwrap().is_ok());
}

#[test]
fn input_that_is_not_a_code_never_counts_in_any_proof() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let outbox = Outbox::default();
    run(async {
        firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().unwrap();
        let email = Destination::email("sarah@smith.example").unwrap();
        firm.mfa.add_destination(&sarah, email, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        for junk in ["", "  ", "abcdef", "12e456", "1234567890123"] {
            assert_eq!(firm.mfa.verify_code(&sarah, junk, &office()).await.unwrap(), Err(Refusal::Malformed));
            assert_eq!(
                firm.mfa.redeem_recovery_code(&sarah, junk, &office()).await.unwrap(),
                Err(Refusal::Malformed)
            );
            assert_eq!(
                firm.mfa.confirm_destination(&sarah, junk, &office()).await.unwrap(),
                Err(Refusal::Malformed)
            );
        }
        assert_eq!(firm.mfa.record(&sarah).await.unwrap().failures().consecutive(), 0);

        // An enrollment's confirmation too: junk does not use up its attempts.
        let start = firm.mfa.start_enrollment(&sarah, "sarah", &office()).await.unwrap().unwrap();
        let new_phone = Phone::scan(&start.uri, &firm.clock);
        for _ in 0..10 {
            let junk = firm.mfa.confirm_enrollment(&sarah, &["abc", "def"], &office()).await.unwrap();
            assert_eq!(junk, Err(Refusal::Malformed));
        }
        let first = new_phone.code();
        firm.clock.advance(30);
        let confirmed = firm.mfa.confirm_enrollment(&sarah, &[&first, &new_phone.code()], &office()).await;
        assert!(confirmed.unwrap().is_ok());
        drop(phone);
    });
}

#[test]
fn a_double_submit_does_not_lock_out_the_user_who_was_just_let_in() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let code = phone.code();
    assert!(run(firm.mfa.verify_code(&sarah, &code, &office())).unwrap().is_ok());
    for _ in 0..20 {
        let again = run(firm.mfa.verify_code(&sarah, &code, &office())).unwrap();
        assert_eq!(again, Err(Refusal::CodeReused { attempts_left: 5 }));
    }
    assert_eq!(run(firm.mfa.record(&sarah)).unwrap().failures().consecutive(), 0);
    // Guesses are still counted exactly.
    assert_eq!(wrong_codes(&firm, &sarah, &phone, 1), [Refusal::WrongCode { attempts_left: 4 }]);
}

#[test]
fn a_user_whose_only_factor_is_sms_cannot_turn_it_off_under_the_au_nz_rule() {
    let firm = firm();
    let mia = user("mia");
    let sydney = office().with_jurisdiction(Jurisdiction::country("AU").with_xero());
    let outbox = Outbox::default();
    run(async {
        let phone = Destination::sms_in("0412 345 678", "AU").unwrap();
        firm.mfa.add_destination(&mia, phone, Role::Primary, &outbox, &sydney).await.unwrap().unwrap();
        assert!(firm.mfa.confirm_destination(&mia, &outbox.last_code(), &sydney).await.unwrap().is_ok());
        assert!(firm.mfa.status(&mia, &office()).await.unwrap().has_mfa());
        let removed = firm.mfa.remove_destination(&mia, Role::Primary, &sydney).await.unwrap();
        assert_eq!(removed, Err(Refusal::Forbidden(Reason::JurisdictionRule)), "the rule, not a dead end");
        firm.clock.advance(60);
        firm.mfa.send_sign_in_code(&mia, Role::Primary, &outbox, &sydney).await.unwrap().unwrap();
        let turned_off = firm.mfa.deactivate(&mia, &outbox.last_code(), true, &sydney).await.unwrap();
        assert_eq!(turned_off, Err(Refusal::Forbidden(Reason::JurisdictionRule)));
        assert!(firm.mfa.status(&mia, &office()).await.unwrap().has_mfa());
        assert!(
            firm.events(&mia).contains(&EventKind::DeactivationRefused { reason: Reason::JurisdictionRule })
        );
    });
}

#[test]
fn removing_the_primary_destination_beside_an_authenticator_needs_a_fresh_proof() {
    let firm = firm();
    let raj = user("raj");
    let outbox = Outbox::default();
    let app = firm.enroll(&raj);
    run(async {
        let email = Destination::email("raj@smith.example").unwrap();
        firm.mfa.add_destination(&raj, email, Role::Primary, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&raj, &outbox.last_code(), &office()).await.unwrap().unwrap();
        firm.clock.advance(3600);
        let stale = firm.mfa.remove_destination(&raj, Role::Primary, &office()).await.unwrap();
        assert_eq!(stale, Err(Refusal::FreshProofRequired));
    });
    firm.prove(&raj, &app);
    run(async {
        assert_eq!(firm.mfa.remove_destination(&raj, Role::Primary, &office()).await.unwrap(), Ok(true));
        assert!(firm.mfa.status(&raj, &office()).await.unwrap().has_mfa(), "the authenticator app is left");
    });
}

#[test]
fn has_mfa_means_the_same_in_the_policy_the_status_list_and_every_call() {
    let firm = firm();
    let ann = user("ann");
    let outbox = Outbox::default();
    let mandatory =
        office().with_org(Arc::new(OrgSettings::builder().enforce_for_all(true).build().unwrap()));
    run(async {
        // Only a backup e-mail: not MFA anywhere.
        let email = Destination::email("ann@smith.example").unwrap();
        firm.mfa.add_destination(&ann, email, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office()).await.unwrap().unwrap();
        let record = firm.mfa.record(&ann).await.unwrap();
        assert!(!record.has_mfa() && record.has_backup());
        assert!(!firm.mfa.status(&ann, &office()).await.unwrap().has_mfa());
        assert_eq!(
            firm.mfa.sign_in_decision(&ann, &mandatory).await.unwrap(),
            Ok(Decision::RequireEnrollment { reason: Reason::OrgEnforced })
        );
        assert_eq!(
            firm.mfa.generate_recovery_codes(&ann, &office()).await.unwrap(),
            Err(Refusal::NotEnrolled)
        );
        assert_eq!(
            firm.mfa.remember_device(&ann, "laptop", 3600, &office()).await.unwrap().map(|_| ()),
            Err(Refusal::NotEnrolled)
        );
    });
}

#[test]
fn a_backup_phone_must_differ_from_the_primary_in_either_order_and_either_format() {
    let sydney = office().with_jurisdiction(Jurisdiction::country("AU"));
    for (first, second) in [(Role::Primary, Role::Backup), (Role::Backup, Role::Primary)] {
        let firm = firm();
        let mia = user("mia");
        let outbox = Outbox::default();
        run(async {
            let national = Destination::sms_in("0412 345 678", "AU").unwrap();
            firm.mfa.add_destination(&mia, national, first, &outbox, &sydney).await.unwrap().unwrap();
            firm.mfa.confirm_destination(&mia, &outbox.last_code(), &sydney).await.unwrap().unwrap();
            firm.clock.advance(60);
            let international = Destination::sms("+61 412 345 678").unwrap();
            let refused =
                firm.mfa.add_destination(&mia, international, second, &outbox, &sydney).await.unwrap();
            assert_eq!(refused, Err(Refusal::SameAsPrimary), "{first:?} then {second:?}");
            let other = Destination::sms("+61 499 999 999").unwrap();
            let added = firm.mfa.add_destination(&mia, other, second, &outbox, &sydney).await.unwrap();
            assert!(matches!(added, Ok(Sent { .. })));
        });
    }
}

#[test]
fn after_an_admin_reset_the_user_must_enroll_again_whatever_the_level() {
    let firm = firm();
    let (sarah, partner) = (user("sarah"), user("partner"));
    firm.enroll(&sarah);
    firm.enroll(&partner);
    let upon_request = office().with_org(Arc::new(OrgSettings::default()));
    run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &office())).unwrap().unwrap();
    assert_eq!(
        run(firm.mfa.sign_in_decision(&sarah, &upon_request)).unwrap(),
        Ok(Decision::RequireEnrollment { reason: Reason::ResetByAdmin })
    );
    firm.enroll(&sarah);
    assert!(matches!(
        run(firm.mfa.sign_in_decision(&sarah, &upon_request)).unwrap(),
        Ok(Decision::Challenge { reason: Reason::Enrolled, .. })
    ));
}

#[test]
fn the_allowlist_also_covers_setting_up_factors() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let outside = office().with_org(Arc::new(
        OrgSettings::builder().allowed_networks(vec!["192.0.2.0/24".parse().unwrap()]).build().unwrap(),
    ));
    let outbox = Outbox::default();
    run(async {
        let before = firm.mfa.record(&sarah).await.unwrap();
        let start = firm.mfa.start_enrollment(&sarah, "sarah", &outside).await.unwrap();
        assert!(matches!(start, Err(Refusal::AddressNotAllowed)));
        let codes = firm.mfa.generate_recovery_codes(&sarah, &outside).await.unwrap();
        assert!(matches!(codes, Err(Refusal::AddressNotAllowed)));
        let email = Destination::email("sarah@smith.example").unwrap();
        let added = firm.mfa.add_destination(&sarah, email, Role::Backup, &outbox, &outside).await.unwrap();
        assert_eq!(added, Err(Refusal::AddressNotAllowed));
        let device = firm.mfa.remember_device(&sarah, "laptop", 3600, &outside).await.unwrap();
        assert!(matches!(device, Err(Refusal::AddressNotAllowed)));
        // Nothing was set up; the refused start is in the trail (and its tally).
        let after = firm.mfa.record(&sarah).await.unwrap();
        assert_eq!(
            (after.authenticators(), after.pending_enrollment(), after.recovery_codes()),
            (before.authenticators(), before.pending_enrollment(), before.recovery_codes())
        );
        assert_eq!((after.out_of_band(), after.devices()), (before.out_of_band(), before.devices()));
        assert_eq!(after.generation(), before.generation());
        assert_eq!(outbox.count(), 0);
    });
    let refused = mfa_kit::event::EventKind::EnrollmentRefused { refusal: "address_not_allowed".into() };
    assert!(firm.events(&sarah).contains(&refused));
}

#[test]
fn the_nist_preset_refuses_emailed_codes_long_periods_and_caps_failures_at_one_hundred() {
    let firm = firm_with_policy(StandardPolicy::nist_aal2());
    let ann = user("ann");
    firm.enroll(&ann);
    let outbox = Outbox::default();
    run(async {
        let email = Destination::email("ann@smith.example").unwrap();
        let added = firm.mfa.add_destination(&ann, email, Role::Backup, &outbox, &office()).await.unwrap();
        assert_eq!(added, Err(Refusal::MethodNotAllowed));
        let sms = Destination::sms("+61 412 345 678").unwrap();
        assert!(firm.mfa.add_destination(&ann, sms, Role::Backup, &outbox, &office()).await.unwrap().is_ok());
    });
    let lax =
        OrgSettings::builder().lockout(LockoutRule::new(100, 60).with_hard_limit(10_000)).build().unwrap();
    let rule =
        mfa_kit::policy::Policy::lockout(&StandardPolicy::nist_aal2(), &office().with_org(Arc::new(lax)));
    assert_eq!(rule.hard_limit, 100);

    let mut config = ServiceConfig::new("Smith");
    config.totp_params = TotpParams::DEFAULT.with_period(300).unwrap();
    let slow = firm_with(mfa_kit::store::MemoryStore::new(), |builder| {
        builder.config(config).policy(StandardPolicy::nist_aal2())
    });
    let refused = run(slow.mfa.start_enrollment(&user("tom"), "tom", &office()));
    assert!(
        matches!(refused, Err(Error::Misconfigured(ref why)) if why.contains("at most 120 s")),
        "{refused:?}"
    );
}

#[test]
fn a_sign_in_offers_only_the_methods_the_organisation_allows() {
    let firm = firm();
    let ann = user("ann");
    firm.enroll(&ann);
    let outbox = Outbox::default();
    let email = Destination::email("ann@smith.example").unwrap();
    run(firm.mfa.add_destination(&ann, email, Role::Backup, &outbox, &office())).unwrap().unwrap();
    run(firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office())).unwrap().unwrap();
    let no_email =
        office().with_org(Arc::new(OrgSettings::builder().allow_email_codes(false).build().unwrap()));
    let decision = run(firm.mfa.sign_in_decision(&ann, &no_email)).unwrap();
    assert!(matches!(decision, Ok(Decision::Challenge { ref methods, .. }) if methods == &[Method::Totp]));
    let sent = run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &no_email)).unwrap();
    assert_eq!(sent, Err(Refusal::MethodNotAllowed));
}

#[test]
fn organisation_settings_out_of_range_can_be_neither_built_nor_read_from_the_database() {
    let built = OrgSettings::builder().lockout(LockoutRule::new(0, 60)).build();
    assert!(built.unwrap_err().as_str().contains("failures"));
    // Stored settings go through the same check as they are read.
    let mut stored = serde_json::to_value(OrgSettings::default()).unwrap();
    stored["lockout"]["max_failures"] = 0.into();
    let read = serde_json::from_value::<OrgSettings>(stored);
    assert!(read.unwrap_err().to_string().contains("failures"));
}

#[test]
fn a_clock_reading_past_2100_is_a_clock_failure_and_nothing_is_written() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let before = run(firm.mfa.record(&sarah)).unwrap();
    let events = firm.mfa.store().events().len();
    let guess = phone.wrong_code();
    firm.clock.set(u64::MAX);
    for result in [
        run(firm.mfa.verify_code(&sarah, &guess, &office())).map(|_| ()),
        run(firm.mfa.sign_in_decision(&sarah, &office())).map(|_| ()),
        run(firm.mfa.start_enrollment(&sarah, "sarah", &office())).map(|_| ()),
    ] {
        assert!(matches!(result, Err(Error::Clock(_))), "{result:?}");
    }
    assert_eq!(run(firm.mfa.record(&sarah)).unwrap(), before);
    assert_eq!(firm.mfa.store().events().len(), events);
}

#[test]
fn a_short_hash_key_says_the_minimum_length() {
    let error = mfa_kit::keyed_hash::HashKey::from_bytes(&[1; 16]).unwrap_err();
    assert_eq!(error.to_string(), "the key is 16 bytes long but must be at least 32 bytes");
}

#[test]
fn the_status_list_reports_an_unreadable_record_in_its_own_row() {
    use mfa_kit::store::Store;
    let firm = firm();
    let (sarah, broken) = (user("sarah"), user("broken"));
    firm.enroll(&sarah);
    // A record of a format this version does not read.
    let mut future: serde_json::Value =
        serde_json::to_value(mfa_kit::record::UserRecord::new(broken.clone())).unwrap();
    future["format"] = 99.into();
    let record: mfa_kit::record::UserRecord = serde_json::from_value(future).unwrap();
    let _saved = run(firm.mfa.store().save(record.clone(), None, vec![])).unwrap();
    let rows = run(firm.mfa.status_list([&sarah, &broken], &office()));
    assert!(rows[0].1.as_ref().is_ok_and(|row| row.has_mfa()));
    assert!(matches!(rows[1].1, Err(Error::UnsupportedRecordFormat { found: 99, .. })));
}

#[test]
fn a_uri_that_parses_writes_back_within_the_parsers_own_limit() {
    use mfa_kit::otp::uri::{KeyUri, UriError};
    // Raw characters that the writer percent-encodes at three times their length.
    let account = "é".repeat(1_500);
    let text = format!("otpauth://totp/Smith:{account}?secret=JBSWY3DPEHPK3PXP");
    assert!(text.len() <= mfa_kit::otp::uri::MAX_URI_LEN);
    assert_eq!(KeyUri::parse(&text).err(), Some(UriError::TooLong { max: mfa_kit::otp::uri::MAX_URI_LEN }));
    // A shorter one still reads, and writes back within the limit.
    let short = format!("otpauth://totp/Smith:{}?secret=JBSWY3DPEHPK3PXP", "é".repeat(100));
    let parsed = KeyUri::parse(&short).unwrap();
    assert!(parsed.to_uri().len() <= mfa_kit::otp::uri::MAX_URI_LEN);
    assert_eq!(KeyUri::parse(&parsed.to_uri()).unwrap(), parsed);
}

#[cfg(feature = "qr")]
#[test]
fn the_qr_code_of_a_uri_too_long_for_one_is_its_documented_error() {
    use mfa_kit::otp::uri::{KeyUri, UriError};
    use mfa_kit::otp::{Secret, TotpParams};
    let long =
        KeyUri::totp("Smith", &"a".repeat(3_000), Secret::generate().unwrap(), TotpParams::DEFAULT).unwrap();
    assert_eq!(mfa_kit::otp::qr::svg(&long).err(), Some(UriError::TooLongForQr));
}
