//! The seeds' remaining rules, as their users meet them: a principal's backup that
//! must be a phone or an address (seed 004), and single sign-on users for whom MFA
//! cannot be activated (seed 003).

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::policy::{BackupRule, Decision, OrgSettings, SignInContext};
use mfa_kit::{Destination, Reason, Refusal, Role};

fn principal(settings: OrgSettings) -> SignInContext {
    office().with_org(Arc::new(settings)).as_principal()
}

#[test]
fn a_principal_must_add_a_backup_phone_or_address_before_going_on_where_the_organisation_requires_it() {
    let firm = firm();
    let boss = user("boss");
    let phone = firm.enroll(&boss);
    firm.prove(&boss, &phone);
    run(firm.mfa.generate_recovery_codes(&boss, &office())).unwrap().unwrap();
    let advisory = principal(OrgSettings::default());
    let blocking =
        principal(OrgSettings::builder().principal_backup(BackupRule::RequireDestination).build().unwrap());
    run(async {
        // Recovery codes are a backup where the rule only advises one...
        let decision = firm.mfa.sign_in_decision(&boss, &advisory).await.unwrap();
        assert!(matches!(
            decision,
            Ok(Decision::Challenge { needs_backup: false, backup_blocking: false, .. })
        ));
        // ...not where the organisation requires a phone or an address (seed 004).
        let decision = firm.mfa.sign_in_decision(&boss, &blocking).await.unwrap();
        assert!(
            matches!(decision, Ok(Decision::Challenge { needs_backup: true, backup_blocking: true, .. })),
            "{decision:?}"
        );
        // A staff member of the same organisation is not held up.
        let staff = office().with_org(Arc::new(
            OrgSettings::builder().principal_backup(BackupRule::RequireDestination).build().unwrap(),
        ));
        let decision = firm.mfa.sign_in_decision(&boss, &staff).await.unwrap();
        assert!(matches!(decision, Ok(Decision::Challenge { needs_backup: false, .. })), "{decision:?}");
        // Once a backup phone is confirmed, the principal goes on.
        firm.prove(&boss, &phone);
        let outbox = Outbox::default();
        let sms = Destination::sms("+61 412 345 678").unwrap();
        firm.mfa.add_destination(&boss, sms, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&boss, &outbox.last_code(), &office()).await.unwrap().unwrap();
        let decision = firm.mfa.sign_in_decision(&boss, &blocking).await.unwrap();
        assert!(matches!(
            decision,
            Ok(Decision::Challenge { needs_backup: false, backup_blocking: false, .. })
        ));
    });
}

#[test]
fn single_sign_on_users_of_a_listed_type_are_neither_asked_for_mfa_nor_able_to_set_it_up() {
    let firm = firm();
    let (sso, staff) = (user("sso-client"), user("staff"));
    let settings = Arc::new(
        OrgSettings::builder().enforce_for_all(true).sso_without_mfa(vec!["client".into()]).build().unwrap(),
    );
    let client_via_sso = office().with_org(settings.clone()).with_user_type("client").with_sso(true);
    let practitioner_via_sso =
        office().with_org(settings.clone()).with_user_type("practitioner").with_sso(true);
    run(async {
        let decision = firm.mfa.sign_in_decision(&sso, &client_via_sso).await.unwrap();
        assert_eq!(decision, Ok(Decision::Allow { reason: Reason::SingleSignOn }), "not asked");
        let forbidden = Some(Refusal::Forbidden(Reason::SingleSignOn));
        let started = firm.mfa.start_enrollment(&sso, "client", &client_via_sso).await.unwrap();
        assert_eq!(started.err(), forbidden, "cannot set up an app");
        let outbox = Outbox::default();
        let sms = Destination::sms("+61 412 345 678").unwrap();
        let added =
            firm.mfa.add_destination(&sso, sms, Role::Primary, &outbox, &client_via_sso).await.unwrap();
        assert_eq!(added.err(), forbidden, "nor a phone");
        assert_eq!(outbox.count(), 0);
        assert!(
            Refusal::Forbidden(Reason::SingleSignOn).to_string().contains("single sign-on"),
            "the user is told why"
        );
        // Another type signing in through SSO is not asked, but may set MFA up.
        let decision = firm.mfa.sign_in_decision(&staff, &practitioner_via_sso).await.unwrap();
        assert_eq!(decision, Ok(Decision::Allow { reason: Reason::SingleSignOn }));
        assert!(firm.mfa.start_enrollment(&staff, "staff", &practitioner_via_sso).await.unwrap().is_ok());
    });
    // "*" lists every type.
    let every = office()
        .with_org(Arc::new(OrgSettings::builder().sso_without_mfa(vec!["*".into()]).build().unwrap()))
        .with_user_type("practitioner")
        .with_sso(true);
    let started = run(firm.mfa.start_enrollment(&user("another"), "x", &every)).unwrap();
    assert_eq!(started.err(), Some(Refusal::Forbidden(Reason::SingleSignOn)));
}
