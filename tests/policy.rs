//! The standard policy, specified as a table (requirements R9-R15, R18, R19, R20, R22).
//!
//! Every combination of the seven facts below is decided by the first row of `SPEC`
//! that matches it; `_` matches anything. The test enumerates all 3 x 2^6 = 192
//! combinations, checks each against its row, and checks that every row is needed.

mod common;

use std::net::IpAddr;
use std::sync::Arc;

use common::*;
use mfa_kit::LockoutRule;
use mfa_kit::event::{AuditOutcome, EventKind};
use mfa_kit::flow::oversight::SettingsChange;
use mfa_kit::policy::{
    Decision, Jurisdiction, Level, OrgSettings, Policy, Preset, SignInContext, StandardPolicy, UserFacts,
};
use mfa_kit::{Method, Reason, Refusal, RequestContext};

/// A fact that a row requires, or `_` (any).
#[derive(Clone, Copy, Debug)]
enum Is<T> {
    Any,
    Exactly(T),
}
use Is::{Any as _x, Exactly as is};

impl<T: PartialEq> Is<T> {
    fn matches(&self, value: &T) -> bool {
        match self {
            Is::Any => true,
            Is::Exactly(wanted) => wanted == value,
        }
    }
}

/// What the policy should answer. A suggestion from a mandatory level or the AU/NZ rule
/// carries the grace deadline while it is ahead; `Refuse(LockedOut)` carries the
/// lock's end.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Allow(Reason),
    Challenge,
    Suggest(Reason),
    Require(Reason),
    Refuse(Reason),
}
use Expect::*;
use Level::{Mandatory, Suggested, UponRequest};
use Reason::*;

const Y: bool = true;
const N: bool = false;

/// level, enrolled, SSO, AU/NZ rule, before grace deadline, address allowed, locked.
type Row = (Is<Level>, Is<bool>, Is<bool>, Is<bool>, Is<bool>, Is<bool>, Is<bool>, Expect);

#[rustfmt::skip]
const SPEC: &[Row] = &[
    // level           enrolled  sso     au/nz   grace   address locked  => decision
    (_x,               _x,       _x,     _x,     _x,     is(N),  _x,     Refuse(AddressNotAllowed)),
    (_x,               _x,       is(Y),  _x,     _x,     _x,     _x,     Allow(SingleSignOn)),
    (_x,               _x,       _x,     _x,     _x,     _x,     is(Y),  Refuse(LockedOut)),
    (_x,               is(Y),    _x,     _x,     _x,     _x,     _x,     Challenge),
    (is(Mandatory),    _x,       _x,     _x,     is(Y),  _x,     _x,     Suggest(LevelMandatory)),
    (is(Mandatory),    _x,       _x,     _x,     is(N),  _x,     _x,     Require(LevelMandatory)),
    (_x,               _x,       _x,     is(Y),  is(Y),  _x,     _x,     Suggest(JurisdictionRule)),
    (_x,               _x,       _x,     is(Y),  is(N),  _x,     _x,     Require(JurisdictionRule)),
    (is(Suggested),    _x,       _x,     _x,     _x,     _x,     _x,     Suggest(LevelSuggested)),
    (is(UponRequest),  _x,       _x,     _x,     _x,     _x,     _x,     Allow(NotRequired)),
];

const NOW: u64 = 1_750_000_000;
const DEADLINE: u64 = 1_767_139_200; // 31 December 2025

fn office_address() -> IpAddr {
    "203.0.113.7".parse().unwrap()
}

#[test]
fn the_standard_policy_follows_its_specification_table() {
    let policy = StandardPolicy::new();
    let mut used = vec![0usize; SPEC.len()];
    let mut combinations = 0;
    for level in [UponRequest, Suggested, Mandatory] {
        for enrolled in [N, Y] {
            for sso in [N, Y] {
                for au_nz in [N, Y] {
                    for before_grace in [N, Y] {
                        for allowed in [N, Y] {
                            for locked in [N, Y] {
                                combinations += 1;
                                let facts = (level, enrolled, sso, au_nz, before_grace, allowed, locked);
                                let row = SPEC
                                    .iter()
                                    .position(|r| {
                                        r.0.matches(&level)
                                            && r.1.matches(&enrolled)
                                            && r.2.matches(&sso)
                                            && r.3.matches(&au_nz)
                                            && r.4.matches(&before_grace)
                                            && r.5.matches(&allowed)
                                            && r.6.matches(&locked)
                                    })
                                    .unwrap_or_else(|| panic!("no row for {facts:?}"));
                                used[row] += 1;

                                let settings = OrgSettings::builder()
                                    .grace_until(Some(DEADLINE))
                                    .allowed_networks(vec!["203.0.113.0/24".parse().unwrap()])
                                    .build()
                                    .unwrap()
                                    .with_level("practitioner", level);
                                let address: IpAddr =
                                    if allowed { office_address() } else { "198.51.100.23".parse().unwrap() };
                                let jurisdiction = if au_nz {
                                    Jurisdiction::country("AU").with_xero()
                                } else {
                                    Jurisdiction::country("GB").with_xero()
                                };
                                let context = SignInContext::new(RequestContext::from_address(address))
                                    .with_user_type("practitioner")
                                    .with_sso(sso)
                                    .with_org(Arc::new(settings))
                                    .with_jurisdiction(jurisdiction);
                                let now = if before_grace { NOW } else { DEADLINE + 1 };
                                let lock_end = now + 600;
                                let user = UserFacts::new(
                                    if enrolled { vec![Method::Totp] } else { vec![] },
                                    locked.then_some(lock_end),
                                );
                                let expected = match SPEC[row].7 {
                                    Allow(reason) => Ok(Decision::Allow { reason }),
                                    Challenge => Ok(Decision::Challenge {
                                        methods: vec![Method::Totp],
                                        reason: Enrolled,
                                        needs_backup: false,
                                        backup_blocking: false,
                                        restricted: vec![],
                                        offer_security_key: false,
                                        security_key_blocking: false,
                                    }),
                                    Suggest(reason) => Ok(Decision::SuggestEnrollment {
                                        reason,
                                        deadline: (before_grace && reason != LevelSuggested)
                                            .then_some(DEADLINE),
                                    }),
                                    Require(reason) => Ok(Decision::RequireEnrollment { reason }),
                                    Refuse(LockedOut) => Err(Refusal::LockedOut { until: lock_end }),
                                    Refuse(AddressNotAllowed) => Err(Refusal::AddressNotAllowed),
                                    Refuse(other) => unreachable!("no row refuses for {other:?}"),
                                };
                                assert_eq!(
                                    policy.decide(&context, &user, now),
                                    expected,
                                    "{facts:?}, row {row}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(combinations, 192);
    for (row, count) in used.iter().enumerate() {
        assert!(*count > 0, "row {row} of SPEC decides nothing: {:?}", SPEC[row]);
    }
}

#[test]
fn the_jurisdiction_rule_prompts_at_every_sign_in_without_a_deadline_and_forbids_deactivation() {
    let policy = StandardPolicy::new();
    let context = SignInContext::default().with_jurisdiction(Jurisdiction::country("NZ").with_accounting());
    for day in 0..3 {
        let decision = policy.decide(&context, &UserFacts::default(), NOW + day * 86_400);
        assert_eq!(decision, Ok(Decision::SuggestEnrollment { reason: JurisdictionRule, deadline: None }));
    }
    let enrolled = UserFacts::new(vec![Method::Totp], None);
    assert_eq!(policy.may_deactivate(&context, &enrolled), Err(JurisdictionRule));
    assert_eq!(policy.may_deactivate(&SignInContext::default(), &enrolled), Ok(()));
}

#[test]
fn the_org_wide_switch_makes_mfa_mandatory_for_every_user_type() {
    let settings = Arc::new(OrgSettings::builder().enforce_for_all(true).build().unwrap());
    let policy = StandardPolicy::new();
    for user_type in ["practitioner", "client_admin", "client_employee"] {
        let context = SignInContext::default().with_user_type(user_type).with_org(settings.clone());
        assert_eq!(
            policy.decide(&context, &UserFacts::default(), NOW),
            Ok(Decision::RequireEnrollment { reason: OrgEnforced })
        );
        assert_eq!(
            policy.may_deactivate(&context, &UserFacts::new(vec![Method::Totp], None)),
            Err(OrgEnforced)
        );
    }
}

#[test]
fn an_unknown_address_is_refused_when_an_allowlist_is_set() {
    let settings = Arc::new(
        OrgSettings::builder().allowed_networks(vec!["2001:db8::/32".parse().unwrap()]).build().unwrap(),
    );
    let unknown = SignInContext::default().with_org(settings.clone());
    let decision = StandardPolicy::new().decide(&unknown, &UserFacts::default(), NOW);
    assert_eq!(decision, Err(Refusal::AddressNotAllowed));
    let v6 =
        SignInContext::new(RequestContext::from_address("2001:db8::7".parse().unwrap())).with_org(settings);
    assert_eq!(StandardPolicy::new().decide(&v6, &UserFacts::default(), NOW).unwrap().reason(), NotRequired);
}

/// Settings from lax to strict, to check presets against.
fn org_variants() -> Vec<OrgSettings> {
    let lax = OrgSettings::builder()
        .lockout(LockoutRule::new(100, 60))
        .remember_device_max(400 * 86_400)
        .allow_self_deactivation(true)
        .backup_required_for_principals(false)
        .build()
        .unwrap();
    let strict = OrgSettings::builder()
        .lockout(LockoutRule::new(3, 3_600))
        .remember_device_max(3_600)
        .allow_self_deactivation(false)
        .enforce_for_all(true)
        .backup_required_for_principals(true)
        .build()
        .unwrap();
    let remember_off = OrgSettings::builder().remember_device_max(0).build().unwrap();
    vec![lax, OrgSettings::default(), strict, remember_off, OrgSettings::default().with_level("x", Mandatory)]
}

#[test]
fn a_preset_never_loosens_what_an_org_configured() {
    for preset in [Preset::AtoOperationalSecurity, Preset::NistAal2] {
        for org in org_variants() {
            let tight = preset.tighten(&org);
            assert!(tight.lockout().max_failures <= org.lockout().max_failures, "{preset:?} {org:?}");
            assert!(tight.lockout().lock_seconds >= org.lockout().lock_seconds);
            assert!(tight.remember_device_max() <= org.remember_device_max());
            assert!(tight.enforce_for_all() >= org.enforce_for_all());
            assert!(tight.allow_self_deactivation() <= org.allow_self_deactivation());
            assert!(tight.backup_required_for_principals() >= org.backup_required_for_principals());
            assert!(tight.enrollment_lifetime() <= org.enrollment_lifetime());
            assert_eq!(tight.allowed_networks(), org.allowed_networks());
            for user_type in [None, Some("x"), Some("y")] {
                assert!(tight.level_for(user_type) >= org.level_for(user_type));
            }
            // And applying it again changes nothing.
            assert_eq!(preset.tighten(&tight), tight);
        }
    }
}

#[test]
fn the_ato_preset_enforces_mfa_caps_devices_below_a_day_locks_after_five_and_forbids_deactivation() {
    let policy = StandardPolicy::ato_tax_data();
    let lax = Arc::new(org_variants().remove(0));
    let context = SignInContext::default().with_user_type("client_employee").with_org(lax);
    assert_eq!(
        policy.decide(&context, &UserFacts::default(), NOW),
        Ok(Decision::RequireEnrollment { reason: CompliancePreset })
    );
    assert_eq!(policy.lockout(&context).max_failures, 5);
    assert!(policy.remember_device_max(&context) < 24 * 3600);
    assert_eq!(
        policy.may_deactivate(&context, &UserFacts::new(vec![Method::Totp], None)),
        Err(CompliancePreset)
    );
    // Single sign-on users are still not asked by us.
    assert_eq!(
        policy.decide(&context.clone().with_sso(true), &UserFacts::default(), NOW).unwrap().reason(),
        SingleSignOn
    );
    // A stricter org keeps its stricter settings.
    let strict = Arc::new(org_variants().remove(2));
    let context = SignInContext::default().with_org(strict);
    assert_eq!(policy.lockout(&context).max_failures, 3);
    assert_eq!(policy.remember_device_max(&context), 3_600);
}

#[test]
fn the_nist_preset_caps_consecutive_failures_at_one_hundred() {
    let policy = StandardPolicy::nist_aal2();
    // More than 100 does not build; the hard limit is capped too.
    assert!(OrgSettings::builder().lockout(LockoutRule::new(1_000, 60)).build().is_err());
    let lax = OrgSettings::builder()
        .lockout(LockoutRule::new(100, 60).with_hard_limit(OrgSettings::MAX_HARD_LIMIT))
        .build()
        .unwrap();
    let context = SignInContext::default().with_org(Arc::new(lax));
    assert_eq!(policy.lockout(&context).max_failures, 100);
    assert_eq!(policy.lockout(&context).hard_limit, 100);
    assert_eq!(policy.remember_device_max(&context), 12 * 3600);
    assert_eq!(policy.decide(&context, &UserFacts::default(), NOW).unwrap().reason(), NotRequired);
}

#[test]
fn principals_need_a_backup_method_and_others_may_choose() {
    let policy = StandardPolicy::new();
    assert!(policy.backup_required(&SignInContext::default().as_principal()));
    assert!(!policy.backup_required(&SignInContext::default()));
    let relaxed = Arc::new(OrgSettings::builder().backup_required_for_principals(false).build().unwrap());
    assert!(!policy.backup_required(&SignInContext::default().as_principal().with_org(relaxed)));
}

#[test]
fn lowering_a_level_to_upon_request_still_challenges_users_who_set_up_mfa() {
    let firm = firm();
    let (sarah, tom) = (user("sarah"), user("tom"));
    firm.enroll(&sarah);
    let mandatory = Arc::new(OrgSettings::default().with_level("practitioner", Mandatory));
    let lowered = Arc::new(OrgSettings::default().with_level("practitioner", UponRequest));
    run(async {
        let before = office().with_user_type("practitioner").with_org(mandatory);
        assert_eq!(firm.mfa.sign_in_decision(&tom, &before).await.unwrap().unwrap().reason(), LevelMandatory);
        let after = office().with_user_type("practitioner").with_org(lowered);
        assert_eq!(
            firm.mfa.sign_in_decision(&sarah, &after).await.unwrap(),
            Ok(Decision::Challenge {
                methods: vec![Method::Totp],
                reason: Enrolled,
                needs_backup: false,
                backup_blocking: false,
                restricted: vec![],
                offer_security_key: false,
                security_key_blocking: false,
            })
        );
        assert_eq!(
            firm.mfa.sign_in_decision(&tom, &after).await.unwrap(),
            Ok(Decision::Allow { reason: NotRequired })
        );
    });
}

#[test]
fn changing_who_must_use_mfa_is_privileged_and_audited() {
    let firm = firm();
    let (support, clerk) = (user("support-level-2"), user("clerk"));
    let only_support = mfa_kit::service::permissions::from_sync_fn(|request| {
        request.actor.as_str().starts_with("support-level-")
    });
    let current = OrgSettings::default();
    let new = current.clone().with_level("practitioner", Mandatory);
    let request = office();
    // The support user has MFA and has just proved it (the enrollment's codes).
    firm.enroll(&support);

    // The host's settings table.
    let table = std::sync::Mutex::new(Vec::new());
    let save = |settings: OrgSettings| {
        table.lock().unwrap().push(settings);
        std::future::ready(Ok::<(), std::convert::Infallible>(()))
    };

    let change = SettingsChange::new("firm-42", &clerk, &current, new.clone());
    let refused = run(firm.mfa.change_org_settings(change, &only_support, &request, save)).unwrap();
    assert_eq!(refused, Err(Refusal::NotPermitted));
    assert!(table.lock().unwrap().is_empty(), "a refused change is not saved");
    let last = firm.audit.events().pop().unwrap();
    assert_eq!((last.actor.as_str(), last.outcome), ("clerk", AuditOutcome::Failure));
    assert!(matches!(last.kind, EventKind::OrgSettingsChangeRefused { ref org, .. } if org == "firm-42"));

    let change = SettingsChange::new("firm-42", &support, &current, new.clone());
    let saved = run(firm.mfa.change_org_settings(change, &only_support, &request, save)).unwrap();
    assert_eq!(saved, Ok(new.clone()));
    assert_eq!(*table.lock().unwrap(), vec![new.clone()]);
    let last = firm.audit.events().pop().unwrap();
    assert_eq!(last.outcome, AuditOutcome::Success);
    assert_eq!(
        last.kind,
        EventKind::OrgSettingsChanged {
            org: "firm-42".into(),
            old: Box::new(current.clone()),
            new: Box::new(new)
        }
    );
    assert_eq!(firm.mfa.store().events().last(), Some(&last), "the store keeps the trail");

    // Settings out of range do not build, so they never reach the service.
    let invalid = current.to_builder().lockout(LockoutRule::new(0, 60)).build().unwrap_err();
    assert!(matches!(Refusal::from(invalid), Refusal::InvalidSettings(ref why) if why.contains("failures")));
    assert_eq!(table.lock().unwrap().len(), 1);
}

#[test]
fn a_settings_change_whose_save_fails_is_not_audited_as_made() {
    let firm = firm();
    let support = user("support-level-2");
    firm.enroll(&support);
    let audited = (firm.audit.events().len(), firm.mfa.store().events().len());
    let current = OrgSettings::default();
    let new = current.clone().with_level("practitioner", Mandatory);
    let failing =
        |_: OrgSettings| std::future::ready(Err::<(), _>(std::io::Error::other("settings table is down")));
    let change = SettingsChange::new("firm-42", &support, &current, new);
    let result = run(firm.mfa.change_org_settings(change, &permitted(), &office(), failing));
    assert!(matches!(result, Err(mfa_kit::service::Error::Store(_))));
    assert_eq!((firm.audit.events().len(), firm.mfa.store().events().len()), audited);
}

#[test]
fn the_service_applies_the_orgs_lockout_rule() {
    let firm = firm_with_policy(StandardPolicy::nist_aal2());
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let three = Arc::new(OrgSettings::builder().lockout(LockoutRule::new(3, 60)).build().unwrap());
    let context = office().with_org(three);
    run(async {
        for _ in 0..2 {
            assert!(firm.mfa.verify_code(&sarah, &phone.wrong_code(), &context).await.unwrap().is_err());
        }
        let third = firm.mfa.verify_code(&sarah, &phone.wrong_code(), &context).await.unwrap();
        assert!(matches!(third, Err(Refusal::LockedOut { until }) if until == START + 60 + 60));
    });
}

#[test]
fn a_code_from_an_address_off_the_allowlist_is_refused_unevaluated() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let settings = Arc::new(
        OrgSettings::builder().allowed_networks(vec!["192.0.2.0/24".parse().unwrap()]).build().unwrap(),
    );
    run(async {
        let outside = office().with_org(settings.clone());
        let outcome = firm.mfa.verify_code(&sarah, &phone.code(), &outside).await.unwrap();
        assert_eq!(outcome, Err(Refusal::AddressNotAllowed));
        let codes = firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().unwrap();
        let outcome = firm.mfa.redeem_recovery_code(&sarah, codes[0].as_str(), &outside).await.unwrap();
        assert_eq!(outcome, Err(Refusal::AddressNotAllowed));
        let record = firm.mfa.record(&sarah).await.unwrap();
        assert_eq!((record.failures().consecutive(), record.recovery_codes().unwrap().remaining()), (0, 10));
        let refused: Vec<Method> = firm
            .events(&sarah)
            .into_iter()
            .filter_map(|k| match k {
                EventKind::CodeRejected {
                    method, reason: mfa_kit::RejectionReason::PolicyRefused, ..
                } => Some(method),
                _ => None,
            })
            .collect();
        assert_eq!(refused, vec![Method::Totp, Method::RecoveryCode]);
        let inside =
            SignInContext::new(RequestContext::from_address("192.0.2.9".parse().unwrap())).with_org(settings);
        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &inside).await.unwrap().is_ok());
    });
}

#[test]
fn resynchronising_or_deactivating_from_an_address_off_the_allowlist_is_refused_unevaluated() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let settings = Arc::new(
        OrgSettings::builder().allowed_networks(vec!["192.0.2.0/24".parse().unwrap()]).build().unwrap(),
    );
    let next = phone.totp.generate(START + 90).unwrap().to_string();
    let outcome =
        run(firm.mfa.resynchronise(&sarah, &phone.code(), &next, &office().with_org(settings))).unwrap();
    assert_eq!(outcome, Err(Refusal::AddressNotAllowed));
    let record = run(firm.mfa.record(&sarah)).unwrap();
    assert_eq!(record.totp().unwrap().last_accepted_step(), Some((START + 30) / 30), "nothing was accepted");

    // Turning MFA off from there is refused the same way.
    let outside = office().with_org(Arc::new(
        OrgSettings::builder().allowed_networks(vec!["192.0.2.0/24".parse().unwrap()]).build().unwrap(),
    ));
    let outcome = run(firm.mfa.deactivate(&sarah, &phone.code(), true, &outside)).unwrap();
    assert_eq!(outcome, Err(Refusal::AddressNotAllowed));
    assert!(run(firm.mfa.status(&sarah, &office())).unwrap().has_mfa());
}

/// A policy shared as `Arc<P>` (as `MfaServiceBuilder::policy` takes it, or a host
/// keeping one for several services) answers every question exactly as `P` does: a
/// method left to the trait's default would silently loosen a rule (an ATO firm's
/// 12-month audit retention, for one).
#[test]
fn a_shared_policy_answers_every_question_as_the_policy_itself() {
    use mfa_kit::policy::{Policy, UserFacts};
    let policy = StandardPolicy::ato_tax_data();
    let shared = Arc::new(StandardPolicy::ato_tax_data());
    let facts = UserFacts::new(vec![Method::Totp], None);
    let contexts = [
        SignInContext::default(),
        SignInContext::default().with_user_type("practitioner").as_principal(),
        SignInContext::default().with_sso(true),
    ];
    for context in &contexts {
        assert_eq!(
            shared.decide(context, &facts, 1_700_000_000),
            policy.decide(context, &facts, 1_700_000_000)
        );
        assert_eq!(
            shared.refuse_request(context, 1_700_000_000),
            policy.refuse_request(context, 1_700_000_000)
        );
        assert_eq!(shared.lockout(context), policy.lockout(context));
        assert_eq!(shared.enrollment_lifetime(context), policy.enrollment_lifetime(context));
        assert_eq!(shared.may_deactivate(context, &facts), policy.may_deactivate(context, &facts));
        assert_eq!(shared.remember_device_max(context), policy.remember_device_max(context));
        assert_eq!(shared.backup_required(context), policy.backup_required(context));
        for method in Method::ALL {
            assert_eq!(shared.method_allowed(context, *method), policy.method_allowed(context, *method));
        }
        assert_eq!(shared.phishing_resistant_required(context), policy.phishing_resistant_required(context));
        assert_eq!(shared.max_totp_period(context), policy.max_totp_period(context));
        assert_eq!(shared.fresh_proof_window(context), policy.fresh_proof_window(context));
        assert_eq!(shared.audit_retention(context), policy.audit_retention(context));
        assert_eq!(shared.session_limits(context), policy.session_limits(context));
        assert_eq!(shared.mfa_unavailable(context), policy.mfa_unavailable(context));
        assert_eq!(
            shared.recovery_code_ends_other_sessions(context),
            policy.recovery_code_ends_other_sessions(context)
        );
        assert_eq!(
            shared.replace_recovery_codes_after_use(context),
            policy.replace_recovery_codes_after_use(context)
        );
        assert_eq!(shared.presets_in_force(context), policy.presets_in_force(context));
        assert_eq!(shared.settings_in_force(context), policy.settings_in_force(context));
    }
    assert_eq!(shared.audit_retention(&contexts[0]), mfa_kit::policy::Preset::TWELVE_MONTHS);
}
