//! The admin's oversight (R21 to R25): resets, permissions, the status list,
//! the compliance counts and the organisation settings, against their rustdoc, the
//! README and `docs/requirements.md`.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::flow::oversight::Compliance;
use mfa_kit::policy::{OrgSettings, SignInContext, StandardPolicy};
use mfa_kit::{LockoutRule, Refusal, RequestContext};

/// A request from inside the firm's office network (10.0.0.0/8).
fn inside() -> SignInContext {
    SignInContext::new(RequestContext::from_address("10.1.2.3".parse().unwrap()))
}

/// The firm's rules kept as the policy's defaults (`StandardPolicy::with_defaults`, for
/// contexts that carry no settings of their own): MFA mandatory for everyone, sign-ins
/// only from the office network.
fn office_only_mandatory() -> StandardPolicy {
    let defaults = OrgSettings::builder()
        .enforce_for_all(true)
        .allowed_networks(vec!["10.0.0.0/8".parse().unwrap()])
        .build()
        .unwrap();
    StandardPolicy::new().with_defaults(defaults)
}

/// `Compliance::of`: "Where `record`'s user stands under the policy and context of
/// `env` (the user's type, organisation and jurisdiction; the request's address is not
/// judged)"; its code says "The list is not a sign-in: an allowlist says nothing about
/// the user". The allowlist is lifted only from the context's own settings: one kept as
/// the policy's defaults still refuses the admin's request (no address, as in the
/// `status_page` example's `SignInContext::default().in_org(..)`, or one outside the
/// list), and the refusal is then read as "not required". Tom, who has no MFA where
/// MFA is mandatory for everyone, is reported as not required, on his row and in the
/// dashboard's counts.
#[test]
fn the_status_list_does_not_judge_the_admins_address_under_an_allowlist_kept_as_policy_defaults() {
    let firm = firm_with_policy(office_only_mandatory());
    let tom = user("acme/tom");
    run(async {
        // Tom started to set MFA up from the office, and never finished.
        firm.mfa.start_enrollment(&tom, "tom@acme.example", &inside().in_org("acme")).await.unwrap().unwrap();

        let from_inside = firm.mfa.status(&tom, &inside()).await.unwrap();
        assert_eq!(from_inside.compliance, Some(Compliance::Required { deadline: None }));

        let without_address = firm.mfa.status(&tom, &SignInContext::default()).await.unwrap();
        let from_outside = firm.mfa.status(&tom, &office()).await.unwrap();
        let counts =
            firm.mfa.compliance_counts("acme", &SignInContext::default().in_org("acme")).await.unwrap();
        assert_eq!(
            (without_address.compliance, from_outside.compliance, counts.required, counts.not_required),
            (from_inside.compliance, from_inside.compliance, 1, 0),
            "Tom's standing depends on the admin's address: rows {:?} (no address) and {:?} \
             (outside the allowlist), counts {counts:?}; MFA is mandatory for everyone and Tom has none",
            without_address.compliance,
            from_outside.compliance,
        );
    });
}

/// `MfaService::status_list` is the README's "admin user list" (one row per user,
/// "under the organisation's rules in `context`"), and `Compliance::Exempt` says "The
/// user signs in through single sign-on, whose provider does MFA". `status_page`
/// promises "an admin who signed in through single sign-on does not make every user
/// exempt" and judges each user without the context's sign-in route; `status_list`
/// judges every listed user by the admin's own route, so Tom, who must set MFA up
/// (MFA mandatory for everyone) and does not sign in through SSO, is listed as exempt,
/// and so is Ann, who has MFA.
#[test]
fn a_status_list_read_by_an_admin_signed_in_through_sso_does_not_make_every_user_exempt() {
    let firm = firm();
    let (ann, tom) = (user("ann"), user("tom"));
    firm.enroll(&ann);
    let mandatory =
        office().with_org(Arc::new(OrgSettings::builder().enforce_for_all(true).build().unwrap()));
    run(async {
        firm.mfa.start_enrollment(&tom, "tom@smith.example", &office()).await.unwrap().unwrap();
        let admin_via_sso = mandatory.clone().with_sso(true);
        let listed: Vec<Option<Compliance>> = firm
            .mfa
            .status_list([&ann, &tom], &admin_via_sso)
            .await
            .into_iter()
            .map(|(_, row)| row.unwrap().compliance)
            .collect();
        assert_eq!(
            listed,
            [Some(Compliance::SetUp), Some(Compliance::Required { deadline: None })],
            "the admin's single sign-on made Ann and Tom exempt"
        );
    });
}

/// `LockoutRule::max_lock_seconds`: "at least 1 second". A longest lockout of 0 seconds
/// does not build; stored by an earlier version, which accepted it, it reads as no
/// growth (every lockout lasts `lock_seconds`, as then), so the settings and the
/// audit events that hold them still read, and what the evidence report shows auditors
/// is what runs.
#[test]
fn a_longest_lockout_of_zero_seconds_does_not_build_and_reads_as_no_growth() {
    let rule = LockoutRule { max_failures: 5, lock_seconds: 900, max_lock_seconds: 0, hard_limit: 100 };
    assert!(OrgSettings::builder().lockout(rule).build().is_err());
    let stored = r#"{"lockout":{"max_failures":5,"lock_seconds":900,"max_lock_seconds":0,"hard_limit":100}}"#;
    let read = serde_json::from_str::<OrgSettings>(stored).expect("an earlier version's settings read");
    assert_eq!(read.lockout(), LockoutRule { max_lock_seconds: 900, ..rule });
}

// --- Resets and counts ----------------------------------------------------------------

/// R21, "the principal must have MFA enabled first": an actor whose only second
/// factor is a recovery-code set (a backup, not MFA) cannot reset anyone.
#[test]
fn an_actor_with_only_recovery_codes_has_no_mfa_of_their_own_and_cannot_reset() {
    let firm = firm();
    let (sarah, partner) = (user("sarah"), user("partner"));
    firm.enroll(&sarah);
    let phone = firm.enroll(&partner);
    firm.prove(&partner, &phone);
    run(async {
        firm.mfa.generate_recovery_codes(&partner, &office()).await.unwrap().unwrap();
        firm.clock.advance(30);
        let off = firm.mfa.deactivate(&partner, &phone.code(), true, &office()).await.unwrap();
        assert_eq!(off, Ok(()));
        let record = firm.mfa.record(&partner).await.unwrap();
        assert!(!record.has_mfa());
        let refused =
            firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &office()).await.unwrap();
        assert_eq!(refused, Err(Refusal::ActorWithoutMfa));
        assert!(firm.mfa.record(&sarah).await.unwrap().has_mfa(), "Sarah keeps her MFA");
    });
}

/// The dashboard's counts over an organisation add up to the users listed, and
/// its "with MFA" equals the ticks of the status page (set up, locked, required).
#[test]
fn compliance_counts_add_up_to_the_rows_listed() {
    use mfa_kit::store::RecordQuery;
    let firm = firm();
    let acme = office()
        .in_org("acme")
        .with_org(Arc::new(OrgSettings::builder().enforce_for_all(true).build().unwrap()));
    let (ann, bob, tom) = (user("acme/ann"), user("acme/bob"), user("acme/tom"));
    enroll_in(&firm, &ann, &acme);
    let bob_phone = enroll_in(&firm, &bob, &acme);
    run(async {
        firm.mfa.start_enrollment(&tom, "tom@acme.example", &acme).await.unwrap().unwrap();
        for _ in 0..5 {
            let _ = firm.mfa.verify_code(&bob, &bob_phone.wrong_code(), &acme).await.unwrap();
        }
        let page = firm.mfa.status_page(&RecordQuery::org("acme", 50), &acme).await.unwrap();
        let counts = firm.mfa.compliance_counts("acme", &acme).await.unwrap();
        let report = firm.mfa.evidence_report("acme", &acme).await.unwrap();
        assert_eq!(page.rows.len(), 3);
        assert_eq!((counts.set_up, counts.locked, counts.required), (1, 1, 1), "{counts:?}");
        assert_eq!(report.users.total, page.rows.len());
        assert_eq!(report.users.with_mfa, page.rows.iter().filter(|row| row.mfa).count());
    });
}
