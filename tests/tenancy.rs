//! One service for many organisations: an Australian firm whose books are linked to Xero
//! falls under the ATO's rules, a firm elsewhere does not, and a third firm names the
//! NIST preset itself, all on one `MfaService` with the standard policy and no policy
//! of the host's own.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::policy::{
    Decision, Jurisdiction, OrgSettings, Policy, Preset, SignInContext, StandardPolicy, UserFacts,
};
use mfa_kit::{Method, Reason, Refusal};

fn au_firm() -> SignInContext {
    office().with_jurisdiction(Jurisdiction::country("AU").with_xero())
}

fn us_firm() -> SignInContext {
    office().with_jurisdiction(Jurisdiction::country("US")).with_org(Arc::new(OrgSettings::default()))
}

fn nist_firm() -> SignInContext {
    let settings = OrgSettings::builder().presets(vec![Preset::NistAal2]).build().unwrap();
    office().with_jurisdiction(Jurisdiction::country("US")).with_org(Arc::new(settings))
}

#[test]
fn each_organisation_gets_its_own_rules_from_one_standard_policy() {
    let policy = StandardPolicy::new().with_ato_for_tax_data();
    let nobody = UserFacts::default();

    // The Australian tax-data firm: MFA for everyone, a lockout after 5, no way out.
    let au = au_firm();
    assert_eq!(policy.presets_for(&au), [Preset::AtoOperationalSecurity]);
    assert_eq!(policy.decide(&au, &nobody, START).map(|d| d.reason()), Ok(Reason::CompliancePreset));
    assert_eq!(policy.lockout(&au).max_failures, 5);
    assert!(policy.effective(&au).remember_device_max() <= Preset::REMEMBER_CAP);

    // The firm elsewhere: upon request, the default lockout, devices for 30 days.
    let us = us_firm();
    assert!(policy.presets_for(&us).is_empty());
    assert_eq!(policy.decide(&us, &nobody, START), Ok(Decision::Allow { reason: Reason::NotRequired }));
    assert_eq!(policy.lockout(&us).max_failures, OrgSettings::default().lockout().max_failures);
    assert_eq!(policy.effective(&us).remember_device_max(), OrgSettings::DEFAULT_REMEMBER_DEVICE_MAX);

    // The firm that named the NIST preset: no e-mailed codes, a key offered.
    let nist = nist_firm();
    assert_eq!(policy.presets_for(&nist), [Preset::NistAal2]);
    assert!(!policy.method_allowed(&nist, Method::Email));
    assert!(policy.method_allowed(&us, Method::Email));
    assert!(policy.effective(&nist).offer_phishing_resistant());
    assert!(policy.replace_recovery_codes_after_use(&nist) && !policy.replace_recovery_codes_after_use(&us));
}

#[test]
fn on_one_service_the_australian_firm_cannot_turn_mfa_off_and_the_other_can() {
    let firm = firm_with_policy(StandardPolicy::new().with_ato_for_tax_data());
    let (sarah, tom) = (user("au/sarah"), user("us/tom"));
    let sarah_phone = firm.enroll(&sarah);
    let tom_phone = firm.enroll(&tom);
    firm.clock.advance(30);
    let refused = run(firm.mfa.deactivate(&sarah, &sarah_phone.code(), true, &au_firm())).unwrap();
    // The tax-data rule (R12) and the preset both forbid it; the rule is named first.
    assert_eq!(refused, Err(Refusal::Forbidden(Reason::JurisdictionRule)));
    let turned_off = run(firm.mfa.deactivate(&tom, &tom_phone.code(), true, &us_firm())).unwrap();
    assert_eq!(turned_off, Ok(()));
}

#[test]
fn the_status_list_says_who_is_required_but_not_set_up_and_the_dashboard_counts_each_state() {
    use mfa_kit::flow::oversight::{Compliance, ComplianceCounts};
    use mfa_kit::policy::Level;

    let firm = firm_with_policy(StandardPolicy::new());
    let deadline = START + 10 * 86_400;
    let settings = Arc::new(
        (OrgSettings::default()
            .with_level("practitioner", Level::Mandatory)
            .with_level("bookkeeper", Level::Suggested))
        .to_builder()
        .grace_until(Some(deadline))
        .build()
        .unwrap(),
    );
    let as_type = |kind: &str| office().with_user_type(kind).with_org(settings.clone());
    let (sarah, tom, ann, kim, joe, lee) =
        (user("sarah"), user("tom"), user("ann"), user("kim"), user("joe"), user("lee"));
    firm.enroll(&sarah);
    let lee_phone = firm.enroll(&lee);
    for _ in 0..5 {
        let _ = run(firm.mfa.verify_code(&lee, &lee_phone.wrong_code(), &as_type("clerk"))).unwrap();
    }
    let population = [
        (&sarah, as_type("practitioner")),
        (&tom, as_type("practitioner")),
        (&ann, as_type("bookkeeper")),
        (&kim, as_type("clerk")),
        (&joe, as_type("practitioner").with_sso(true)),
        (&lee, as_type("clerk")),
    ];
    let rows: Vec<_> =
        population.iter().map(|(who, context)| run(firm.mfa.status(who, context)).unwrap()).collect();
    let states: Vec<_> = rows.iter().map(|row| row.compliance.unwrap()).collect();
    assert_eq!(states[0], Compliance::SetUp);
    assert_eq!(states[1], Compliance::Required { deadline: Some(deadline) });
    assert_eq!(states[2], Compliance::Suggested);
    assert_eq!(states[3], Compliance::NotRequired);
    assert_eq!(states[4], Compliance::Exempt);
    assert!(matches!(states[5], Compliance::Locked { .. }));
    let counts = ComplianceCounts::of(&rows);
    assert_eq!(
        (counts.set_up, counts.required_with_deadline, counts.suggested, counts.not_required, counts.exempt),
        (1, 1, 1, 1, 1)
    );
    assert_eq!((counts.locked, counts.required, counts.disabled), (1, 0, 0));

    // After the grace deadline, the practitioner without MFA is blocked.
    firm.clock.set(deadline + 1);
    let tom_now = run(firm.mfa.status(&tom, &as_type("practitioner"))).unwrap();
    assert_eq!(tom_now.compliance, Some(Compliance::Required { deadline: None }));
}
