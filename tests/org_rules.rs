//! An organisation's rules, applied the same everywhere: what "has MFA" means, the
//! allowlist, the NIST preset, the methods allowed, and settings checked as read from
//! the host's database (requirement R20).

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::LockoutRule;
use mfa_kit::otp::TotpParams;
use mfa_kit::policy::{Decision, OrgSettings, StandardPolicy};
use mfa_kit::service::{Error, ServiceConfig};
use mfa_kit::{Destination, Method, Reason, Refusal, Role};

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
        assert_eq!(
            (after.destination_state(), after.devices()),
            (before.destination_state(), before.devices())
        );
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
