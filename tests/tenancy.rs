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
    let settings = OrgSettings { presets: vec![Preset::NistAal2], ..OrgSettings::default() };
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
    assert!(policy.effective(&au).remember_device_max <= Preset::REMEMBER_CAP);

    // The firm elsewhere: upon request, the default lockout, devices for 30 days.
    let us = us_firm();
    assert!(policy.presets_for(&us).is_empty());
    assert_eq!(policy.decide(&us, &nobody, START), Ok(Decision::Allow { reason: Reason::NotRequired }));
    assert_eq!(policy.lockout(&us).max_failures, OrgSettings::default().lockout.max_failures);
    assert_eq!(policy.effective(&us).remember_device_max, OrgSettings::DEFAULT_REMEMBER_DEVICE_MAX);

    // The firm that named the NIST preset: no e-mailed codes, a key offered.
    let nist = nist_firm();
    assert_eq!(policy.presets_for(&nist), [Preset::NistAal2]);
    assert!(!policy.method_allowed(&nist, Method::Email));
    assert!(policy.method_allowed(&us, Method::Email));
    assert!(policy.effective(&nist).offer_phishing_resistant);
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
