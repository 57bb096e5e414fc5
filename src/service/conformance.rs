//! A conformance check of the service over a store (feature `test-suite`): what a
//! multi-tenant host relies on end to end, run on any store that lists records and
//! reads the trail (the store-level checks are in [`crate::store::conformance`]).
//!
//! A check panics when the store or the service breaks what it promises, as a failing
//! test does, so the crate's no-panic lints are lifted in this module only.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::sync::Arc;

use crate::event::EventKind;
use crate::policy::OrgSettings;
use crate::store::conformance::{fresh, fresh_number, ok};
use crate::store::{AuditQuery, ListRecords, OrgSettingsStore, ReadAudit, RecordQuery};
use crate::vocabulary::{OrgId, RequestContext, UserId};

/// Two organisations on one service over the store: an Australian tax-data firm under
/// the ATO preset and a firm elsewhere. Each organisation's rules apply to its users;
/// each one's status list (records listed by organisation, with compliance) and trail
/// hold only its own; a settings change is filed under its organisation.
///
/// # Panics
/// When the store or the service behaves otherwise.
pub async fn two_organisations_on_one_service<S>(store: Arc<S>)
where
    S: ListRecords + ReadAudit + OrgSettingsStore + 'static,
{
    use crate::clock::ManualClock;
    use crate::flow::oversight::Compliance;
    use crate::policy::{Jurisdiction, SignInContext, StandardPolicy};
    use crate::service::{MfaService, permissions};

    let tag = fresh("tenancy");
    let (acme, globex) = (format!("{tag}/acme"), format!("{tag}/globex"));
    let clock = ManualClock::new(1_900_000_000 + (fresh_number() % 1_000_000) * 1_000);
    let mfa = MfaService::builder("Conformance", store.clone(), crate::danger::PlaintextSealer)
        .policy(StandardPolicy::new().with_ato_for_tax_data())
        .clock(clock.clone())
        .build();
    let request = RequestContext::from_address(std::net::IpAddr::from([203, 0, 113, 9]));
    let in_acme = SignInContext::new(request.clone())
        .in_org(acme.as_str())
        .with_jurisdiction(Jurisdiction::country("AU").with_xero());
    let in_globex =
        SignInContext::new(request).in_org(globex.as_str()).with_jurisdiction(Jurisdiction::country("US"));
    let person = |org: &str, name: &str| UserId::new(format!("{org}/{name}"));
    let (sarah, tom, ann, bob) =
        (person(&acme, "sarah"), person(&acme, "tom"), person(&globex, "ann"), person(&globex, "bob"));

    // Sarah and Ann set up an app; Tom and Bob only start to.
    for (who, context) in [(&sarah, &in_acme), (&ann, &in_globex)] {
        set_up_an_app(&mfa, &clock, who, context).await;
    }
    for (who, context) in [(&tom, &in_acme), (&bob, &in_globex)] {
        assert!(ok(mfa.start_enrollment(who, "conformance", context).await).is_ok());
    }

    // Each organisation's rules: the ATO preset requires MFA of Tom; Bob's firm does not.
    let tom_status = ok(mfa.status(&tom, &in_acme).await);
    assert_eq!(
        tom_status.compliance,
        Some(Compliance::Required { deadline: None }),
        "the ATO preset for acme"
    );
    let bob_status = ok(mfa.status(&bob, &in_globex).await);
    assert_eq!(bob_status.compliance, Some(Compliance::NotRequired), "no preset for globex");

    // A settings change by Sarah, fresh from her proof, is filed under acme.
    let anyone = permissions::from_sync_fn(|_| true);
    let changed = ok(mfa
        .change_stored_org_settings(&acme, &sarah, &anyone, &in_acme, |current| OrgSettings {
            grace_until: Some(2_000_000_000),
            ..current.clone()
        })
        .await);
    assert!(changed.is_ok(), "the settings change: {changed:?}");

    // Each status list and trail holds its own organisation only.
    one_organisation_on_the_service(&*store, &acme, [&sarah, &tom], [&ann, &bob], true).await;
    one_organisation_on_the_service(&*store, &globex, [&ann, &bob], [&sarah, &tom], false).await;
}

/// Sets up an authenticator app for `who` with two consecutive codes.
async fn set_up_an_app<S: crate::store::Store>(
    mfa: &crate::service::MfaService<Arc<S>, crate::danger::PlaintextSealer>,
    clock: &crate::clock::ManualClock,
    who: &UserId,
    context: &crate::policy::SignInContext,
) {
    let start = ok(ok(mfa.start_enrollment(who, "conformance", context).await));
    let key = ok(crate::otp::uri::KeyUri::parse(&start.uri));
    let Some(params) = key.totp_params() else { panic!("the service builds TOTP URIs") };
    let app = crate::otp::Totp::new(key.secret(), params);
    let now = ok(crate::clock::Clock::now(clock));
    let (first, second) = (ok(app.generate(now)).to_string(), ok(app.generate(now + 30)).to_string());
    clock.advance(30);
    let confirmed = ok(mfa.confirm_enrollment(who, &[&first, &second], context).await);
    assert!(confirmed.is_ok(), "confirming {who}'s enrollment: {confirmed:?}");
}

/// One organisation's part of [`two_organisations_on_one_service`]: its status list
/// holds its `members` (one without MFA), its trail only its own events, none of the
/// `strangers`, and the settings change if `changed`.
async fn one_organisation_on_the_service<S: ListRecords + ReadAudit>(
    store: &S,
    org: &str,
    members: [&UserId; 2],
    strangers: [&UserId; 2],
    changed: bool,
) {
    let listed = ok(store.list_records(&RecordQuery::org(org, 100)).await);
    let mut users: Vec<&UserId> = listed.records.iter().map(|v| v.record.user()).collect();
    users.sort();
    let mut expected = members.to_vec();
    expected.sort();
    assert_eq!(users, expected, "{org}'s status list");
    let without = ok(store.list_records(&RecordQuery::org(org, 100).without_mfa()).await);
    assert_eq!(without.records.len(), 1, "{org}'s users without MFA");
    let trail = ok(store.read_audit(&AuditQuery::org(org, 0, u64::MAX >> 2, 1000)).await);
    assert!(!trail.events.is_empty(), "{org}'s trail is empty");
    for stored in &trail.events {
        assert_eq!(stored.event.org().map(OrgId::as_str), Some(org), "an event filed elsewhere");
        assert!(!strangers.contains(&&stored.event.user), "another organisation's user in {org}'s trail");
    }
    let settings_changes = trail
        .events
        .iter()
        .filter(|stored| matches!(stored.event.kind, EventKind::OrgSettingsChanged { .. }))
        .count();
    assert_eq!(
        settings_changes,
        usize::from(changed),
        "the settings change is filed under its organisation only"
    );
}
