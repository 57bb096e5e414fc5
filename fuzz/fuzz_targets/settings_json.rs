//! `OrgSettings` from JSON, as an admin's screen or the host's database hands them:
//! never panics; settings that read are valid (reading checks them), write back and
//! read back equal; presets and the policy run on them without panicking, and presets
//! only tighten.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use mfa_kit::flow::oversight::{SettingsChange, change_org_settings};
use mfa_kit::policy::{Jurisdiction, OrgSettings, Policy, Preset, SignInContext, StandardPolicy, UserFacts};
use mfa_kit::{Method, RequestContext, UserId};

fuzz_target!(|data: &[u8]| {
    let Ok(settings) = serde_json::from_slice::<OrgSettings>(data) else { return };
    let text = serde_json::to_string(&settings).expect("settings always serialise");
    let back: OrgSettings = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(back, settings, "{text}");

    let actor = UserId::new("admin");
    let deployment = mfa_kit_fuzz::Deployment::standard();
    let actor_record = mfa_kit_fuzz::admin(actor.clone(), mfa_kit_fuzz::T0, true);
    let current = OrgSettings::default();
    let change = SettingsChange::new("org", &actor, &current, settings.clone());
    let step = change_org_settings(change, &actor_record, true, &deployment.env(mfa_kit_fuzz::T0));
    assert!(step.outcome.is_ok(), "settings that read were refused");
    assert!(!step.changed && step.events.len() == 1);

    for preset in [Preset::AtoOperationalSecurity, Preset::NistAal2] {
        let tight = preset.tighten(&settings);
        assert!(tight.lockout().max_failures <= settings.lockout().max_failures);
        assert!(tight.remember_device_max() <= settings.remember_device_max());
        assert!(tight.enforce_for_all() >= settings.enforce_for_all());
        assert!(tight.allow_self_deactivation() <= settings.allow_self_deactivation());
        assert!(tight.fresh_proof_window() <= settings.fresh_proof_window());
    }

    let org = Arc::new(settings.clone());
    for policy in [StandardPolicy::new(), StandardPolicy::ato_tax_data(), StandardPolicy::nist_aal2()] {
        for user_type in [None, settings.levels().keys().next().cloned()] {
            let mut context = SignInContext::new(RequestContext::from_address([203, 0, 113, 7].into()))
                .with_org(org.clone())
                .with_jurisdiction(Jurisdiction::country("AU").with_xero());
            if let Some(user_type) = user_type {
                context = context.with_user_type(user_type);
            }
            for facts in [UserFacts::default(), UserFacts::new(vec![Method::Totp], None)] {
                for now in [0, 1_700_000_000, u64::MAX] {
                    let _ = policy.decide(&context, &facts, now);
                }
                let _ = policy.may_deactivate(&context, &facts);
            }
            let _ = (policy.lockout(&context), policy.enrollment_lifetime(&context));
            let _ = (policy.remember_device_max(&context), policy.backup_required(&context));
        }
    }
});
