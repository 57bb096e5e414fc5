//! The sign-in decision (R8-R14, R18, R19, R30, R33) as its docs say:
//! `Decision::Challenge` in `src/policy/mod.rs`, `StandardPolicy` in
//! `src/policy/standard.rs`, `OrgSettings` and `Preset` in `src/policy/settings.rs`,
//! `flow::sign_in::decide`.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::policy::{BackupRule, Decision, OrgSettings, Policy, SignInContext, StandardPolicy, UserFacts};
use mfa_kit::store::Store;
use mfa_kit::{Method, Reason, Refusal};

fn in_org(settings: OrgSettings) -> SignInContext {
    office().with_org(Arc::new(settings))
}

/// `ann` enrolled with an app, proved a code and had her laptop remembered for a day,
/// under the default settings; returns the firm, her phone and the cookie's token.
fn remembered() -> (Firm, mfa_kit::UserId, Phone, mfa_kit::record::DeviceToken) {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let remembered = run(firm.mfa.remember_device(&ann, "Laptop", 86_400, &office())).unwrap().unwrap();
    (firm, ann, phone, remembered.token)
}

// What a remembered device and hand-made facts may not change.

/// `Decision::Challenge::security_key_blocking` (src/policy/mod.rs): "Registering a
/// security key is required before going on, not only offered"; `phishing_resistant_for`
/// (src/policy/settings.rs): "until they have one the sign-in decision sends them to
/// register one". A remembered device does not turn that challenge into a plain allow.
#[test]
fn a_remembered_device_does_not_skip_a_required_security_key_registration() {
    let (firm, ann, _phone, token) = remembered();
    let keys_required =
        in_org(OrgSettings::builder().phishing_resistant_for(vec!["*".into()]).build().unwrap());
    let without = run(firm.mfa.sign_in_decision(&ann, &keys_required)).unwrap();
    assert!(matches!(without, Ok(Decision::Challenge { security_key_blocking: true, .. })), "{without:?}");
    let with_cookie = run(firm.mfa.sign_in_decision(&ann, &keys_required.with_device_token(token))).unwrap();
    assert_ne!(
        with_cookie,
        Ok(Decision::Allow { reason: Reason::RememberedDevice }),
        "the organisation requires a security key before going on, yet the remembered device lets the user in \
         with no word of it (without the cookie: {without:?})"
    );
}

/// `Decision::Challenge::backup_blocking` (src/policy/mod.rs): "The backup is required
/// before going on, not only suggested" (seed 004: "This step is required for principal
/// users"). A remembered device does not turn that challenge into a plain allow.
#[test]
fn a_remembered_device_does_not_skip_a_principals_required_backup_destination() {
    let (firm, ann, _phone, token) = remembered();
    let principal =
        in_org(OrgSettings::builder().principal_backup(BackupRule::RequireDestination).build().unwrap())
            .as_principal();
    let without = run(firm.mfa.sign_in_decision(&ann, &principal)).unwrap();
    assert!(
        matches!(without, Ok(Decision::Challenge { needs_backup: true, backup_blocking: true, .. })),
        "{without:?}"
    );
    let with_cookie = run(firm.mfa.sign_in_decision(&ann, &principal.with_device_token(token))).unwrap();
    assert_ne!(
        with_cookie,
        Ok(Decision::Allow { reason: Reason::RememberedDevice }),
        "the principal must add a backup phone or address before going on, yet the remembered device lets \
         her in with no word of it (without the cookie: {without:?})"
    );
}

/// R33 (docs/requirements.md): "under the NIST AAL2 preset the decision lists a user's
/// key first"; `Preset::NistAal2` (src/policy/settings.rs) says the same, whatever
/// order the facts it is given have.
#[test]
fn under_the_nist_preset_the_decision_lists_the_key_first() {
    let facts =
        UserFacts::new(vec![Method::Totp, Method::Sms, Method::SecurityKey, Method::RecoveryCode], None);
    let decision = StandardPolicy::nist_aal2().decide(&office(), &facts, START);
    let Ok(Decision::Challenge { methods, .. }) = decision else { panic!("a challenge: {decision:?}") };
    assert_eq!(methods.first(), Some(&Method::SecurityKey), "the key is not listed first: {methods:?}");
}

/// `Preset::NistAal2` (src/policy/settings.rs): "no codes by e-mail as a factor: not
/// offered, not counted by step-up, and a user whose only factor is an e-mail address
/// has no MFA"; docs/requirements.md §3.1.3: "e-mailed codes are no factor (decision,
/// ...)". Given such a user's facts, the policy does not challenge with no method.
#[test]
fn under_the_nist_preset_a_user_whose_only_factor_is_email_is_not_challenged() {
    let policy = StandardPolicy::nist_aal2();
    let email_only = UserFacts::new(vec![Method::Email], None);
    let decision = policy.decide(&office(), &email_only, START);
    let no_mfa = policy.decide(&office(), &UserFacts::default(), START);
    assert_eq!(
        decision, no_mfa,
        "an e-mail-only user is decided as enrolled, a challenge that offers nothing"
    );
}

// What a decision writes, and what a remembered device never skips.

/// The decision changes nothing in the record and audits nothing when it neither
/// refuses nor accepts a remembered device (`flow::sign_in::decide`).
#[test]
fn a_plain_decision_writes_neither_the_record_nor_the_audit() {
    let firm = firm();
    let ann = user("ann");
    firm.enroll(&ann);
    let store = firm.mfa.store();
    let (events, version) = (store.events_for(&ann).len(), run(store.load(&ann)).unwrap().unwrap().version);
    let decision = run(firm.mfa.sign_in_decision(&ann, &office())).unwrap();
    assert!(matches!(decision, Ok(Decision::Challenge { .. })), "{decision:?}");
    assert_eq!(store.events_for(&ann).len(), events);
    assert_eq!(run(store.load(&ann)).unwrap().unwrap().version, version);
    let bob = user("bob");
    assert_eq!(
        run(firm.mfa.sign_in_decision(&bob, &office())).unwrap(),
        Ok(Decision::Allow { reason: Reason::NotRequired })
    );
    assert!(run(store.load(&bob)).unwrap().is_none() && store.events_for(&bob).is_empty());
}

/// A remembered device lets in neither a locked-out user nor one whose
/// organisation turned remembered devices off (cap 0).
#[test]
fn a_remembered_device_skips_neither_a_lockout_nor_the_organisations_cap() {
    let (firm, ann, phone, token) = remembered();
    let no_devices = in_org(OrgSettings::builder().remember_device_max(0).build().unwrap());
    let decision =
        run(firm.mfa.sign_in_decision(&ann, &no_devices.with_device_token(token.clone()))).unwrap();
    assert!(matches!(decision, Ok(Decision::Challenge { .. })), "{decision:?}");
    for _ in 0..5 {
        let _ = run(firm.mfa.verify_code(&ann, &phone.wrong_code(), &office())).unwrap();
    }
    let decision = run(firm.mfa.sign_in_decision(&ann, &office().with_device_token(token))).unwrap();
    assert!(matches!(decision, Err(Refusal::LockedOut { .. })), "{decision:?}");
}
