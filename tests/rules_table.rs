//! The sign-in decision's rules table (`src/policy/standard.rs`, rows 1 to 10) and the
//! service's sign-in decision: precedence pairs and edges.

mod common;

use std::net::IpAddr;
use std::sync::Arc;

use common::*;
use mfa_kit::event::SecurityNotice;
use mfa_kit::policy::{
    Decision, Jurisdiction, Level, OrgSettings, Policy, SignInContext, StandardPolicy, UserFacts,
};
use mfa_kit::{Method, Reason, Refusal, RequestContext};

const NOW: u64 = 1_750_000_000;

fn with(settings: OrgSettings) -> SignInContext {
    SignInContext::default().with_org(Arc::new(settings))
}

fn from(address: &str) -> SignInContext {
    let address: IpAddr = address.parse().unwrap();
    SignInContext::new(RequestContext::from_address(address))
}

/// `flow::disown`: where a "this wasn't me" link leaves no factor, signing in is
/// refused with `AccountFrozen`, the password alone letting nobody in: also where MFA
/// is the user's own choice (the default level, "upon request"), where the policy
/// alone would let the user in.
#[test]
fn a_frozen_account_left_without_a_factor_is_refused_where_mfa_is_upon_request() {
    let (shop, store) = shop();
    let inbox = Arc::new(Inbox::default());
    let kim = user("kim");
    let phone = shop.enroll(&kim);
    shop.prove(&kim, &phone);
    let notices = delivered(&shop, &store, &inbox, SecurityNotice::FactorAdded);
    let notice = notices.first().expect("the enrollment was notified");
    let disowned = run(shop.mfa.disown(&kim, &link(&shop, notice), &office())).unwrap().unwrap();
    assert_eq!(disowned.revoked.len(), 1, "the only app was revoked");
    assert!(run(shop.mfa.record(&kim)).unwrap().frozen().is_some());
    assert!(!run(shop.mfa.status(&kim, &office())).unwrap().has_mfa());
    let decision = run(shop.mfa.sign_in_decision(&kim, &office())).unwrap();
    assert_eq!(decision, Err(Refusal::AccountFrozen), "the password alone lets nobody in");
}

// rows 1, 2, 3, 3a and 4 in the table's order, each pair where both conditions
// hold (`src/policy/standard.rs` lines 16-20): the allowlist before a disabled factor,
// SSO before a disabled factor and an admin's reset, a disabled factor or a lockout
// before an admin's reset, an admin's reset before the user's remaining MFA.
#[test]
fn rows_one_to_four_decide_in_the_tables_order() {
    let policy = StandardPolicy::new();
    let mandatory = OrgSettings::default().with_level("practitioner", Level::Mandatory);
    let context = with(mandatory.clone()).with_user_type("practitioner");
    let mut facts = UserFacts::new(vec![Method::Totp], Some(NOW + 600));
    facts.disabled = true;
    facts.must_enroll = true;

    // Row 1 before row 3: a disabled, locked user off the allowlist.
    let listed =
        OrgSettings::builder().allowed_networks(vec!["203.0.113.0/24".parse().unwrap()]).build().unwrap();
    let off_list = from("198.51.100.1").with_org(Arc::new(listed));
    assert_eq!(policy.decide(&off_list, &facts, NOW), Err(Refusal::AddressNotAllowed));
    // Row 2 before rows 3 and 3a.
    let sso = context.clone().with_sso(true);
    assert_eq!(policy.decide(&sso, &facts, NOW), Ok(Decision::Allow { reason: Reason::SingleSignOn }));
    // Row 3 (disabled) before row 3a and row 4.
    assert_eq!(policy.decide(&context, &facts, NOW), Err(Refusal::Disabled));
    // Row 3 (locked out) before row 3a.
    facts.disabled = false;
    assert_eq!(policy.decide(&context, &facts, NOW), Err(Refusal::LockedOut { until: NOW + 600 }));
    // A lock ending exactly now no longer holds: row 3a decides.
    assert_eq!(
        policy.decide(&context, &facts, NOW + 600),
        Ok(Decision::RequireEnrollment { reason: Reason::ResetByAdmin })
    );
    // Row 3a before row 4 (the user still lists an app) and before rows 5-10, whatever
    // the level, for a type not listed and for no type.
    facts.locked_until = None;
    for context in [
        context.clone(),
        with(mandatory.clone()).with_user_type("client"),
        with(mandatory.clone()),
        with(mandatory.clone().with_level("client", Level::Suggested)).with_user_type("client"),
    ] {
        assert_eq!(
            policy.decide(&context, &facts, NOW),
            Ok(Decision::RequireEnrollment { reason: Reason::ResetByAdmin }),
            "{context:?}"
        );
    }
}

// row 5 before row 7 where the mandatory level comes from the ATO preset that
// `with_ato_for_tax_data` applies: "mandatory beats the jurisdiction rule" (line 28),
// with the grace deadline carried while ahead and the requirement exactly at it.
#[test]
fn the_ato_preset_for_tax_data_beats_the_jurisdiction_rule_within_the_grace_period() {
    let policy = StandardPolicy::new().with_ato_for_tax_data();
    let deadline = NOW + 86_400;
    let grace = OrgSettings::builder().grace_until(Some(deadline)).build().unwrap();
    let au = with(grace).with_jurisdiction(Jurisdiction::country("NZ").with_accounting());
    let nobody = UserFacts::default();
    assert_eq!(
        policy.decide(&au, &nobody, NOW),
        Ok(Decision::SuggestEnrollment { reason: Reason::CompliancePreset, deadline: Some(deadline) })
    );
    assert_eq!(
        policy.decide(&au, &nobody, deadline),
        Ok(Decision::RequireEnrollment { reason: Reason::CompliancePreset })
    );
}

// R33 with `"*"` (`src/policy/settings.rs` lines 238-244: "`"*"` for every
// type"): a user with no type and a key is offered the key and recovery codes alone,
// the key first, also where the level was lowered to "upon request" (R10); one without
// a key is challenged with a code and must register a key after it.
#[test]
fn a_phishing_resistant_requirement_for_every_type_covers_a_user_without_a_type() {
    let policy = StandardPolicy::new();
    let settings = OrgSettings::builder()
        .phishing_resistant_for(vec!["*".into()])
        .default_level(Level::UponRequest)
        .build()
        .unwrap();
    let context = with(settings);
    let with_key =
        UserFacts::new(vec![Method::Totp, Method::Sms, Method::SecurityKey, Method::RecoveryCode], None);
    match policy.decide(&context, &with_key, NOW) {
        Ok(Decision::Challenge {
            methods,
            reason,
            security_key_blocking,
            offer_security_key,
            restricted,
            ..
        }) => {
            assert_eq!(methods, vec![Method::SecurityKey, Method::RecoveryCode]);
            assert_eq!(reason, Reason::Enrolled);
            assert!(!security_key_blocking && !offer_security_key);
            assert!(restricted.is_empty(), "SMS is not offered, so no risk notice");
        }
        other => panic!("{other:?}"),
    }
    let without_key = UserFacts::new(vec![Method::Totp], None);
    match policy.decide(&context, &without_key, NOW) {
        Ok(Decision::Challenge { methods, security_key_blocking, offer_security_key, .. }) => {
            assert_eq!(methods, vec![Method::Totp]);
            assert!(security_key_blocking && offer_security_key);
        }
        other => panic!("{other:?}"),
    }
    assert!(policy.phishing_resistant_required(&context));
}
