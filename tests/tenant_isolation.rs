//! Organisations are kept apart on one service: an admin
//! of one organisation (or a request made within it) neither acts on, reads nor learns
//! about another organisation's users and settings, and one organisation's rules are
//! never applied to another's users.
//!
//! Two firms on one `MemoryStore`: Acme Payroll, an Australian firm whose books are
//! linked to Xero (so MFA may never be turned off, R12), and Globex, elsewhere, with
//! the defaults. Ann administers Acme; Bob works at Globex.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::flow::oversight::ResetRequest;
use mfa_kit::policy::{Jurisdiction, OrgSettings, SignInContext};
use mfa_kit::service::Error;
use mfa_kit::service::permissions::{self, AdminAction};
use mfa_kit::store::{AuditQuery, MAX_PAGE, ReadAudit, RecordQuery};
use mfa_kit::{OrgId, ResetMode, UserId};

const ACME: &str = "acme";
const GLOBEX: &str = "globex";

fn acme() -> SignInContext {
    office()
        .in_org(ACME)
        .with_jurisdiction(Jurisdiction::country("AU").with_xero())
        .with_org(Arc::new(OrgSettings::default()))
}

fn globex() -> SignInContext {
    office()
        .in_org(GLOBEX)
        .with_jurisdiction(Jurisdiction::country("US"))
        .with_org(Arc::new(OrgSettings::default()))
}

/// A fresh proof of `who`'s second factor, by a request made in `context`.
fn prove_in(firm: &Firm, who: &UserId, phone: &Phone, context: &SignInContext) {
    firm.clock.advance(30);
    run(firm.mfa.verify_code(who, &phone.code(), context)).unwrap().unwrap();
}

fn listed(firm: &Firm, org: &str) -> Vec<String> {
    let context = office().in_org(org);
    let page = run(firm.mfa.status_page(&RecordQuery::org(org, MAX_PAGE), &context)).unwrap();
    page.rows.iter().map(|row| row.user.as_str().to_owned()).collect()
}

fn trail_users(firm: &Firm, org: &str) -> Vec<(String, String)> {
    let page = run(firm.mfa.store().read_audit(&AuditQuery::org(org, 0, u64::MAX >> 2, MAX_PAGE))).unwrap();
    page.events
        .iter()
        .map(|stored| (stored.event.user.as_str().to_owned(), stored.event.kind.name().to_owned()))
        .collect()
}

/// The host's roles, as the permissions module's own example writes them: Ann
/// administers Acme, and may reset only Acme's members.
fn acme_roles() -> impl permissions::Permissions {
    permissions::from_sync_fn(|request| {
        let admin = request.org == ACME && request.actor.as_str() == "acme/ann";
        match request.action {
            AdminAction::Reset { target, .. } => admin && target.as_str().starts_with("acme/"),
            AdminAction::ChangeOrgSettings => admin,
            _ => false,
        }
    })
}

/// The host refuses Acme's admin a reset of Globex's Bob (`Ok(false)`): "refused with
/// NotPermitted, nothing is changed". Bob's record is left as it is even when it holds
/// refused attempts counted but not yet audited from a past interval (a refused reset
/// must not flush them, which would change the record and file it under the reset's
/// organisation): he stays on Globex's status list, off Acme's, and the summary of his
/// refused attempts at Globex is not filed in Acme's trail.
#[test]
fn a_refused_reset_by_another_organisations_admin_does_not_move_the_target_into_that_organisation() {
    let firm = firm();
    let (ann, bob) = (user("acme/ann"), user("globex/bob"));
    let ann_phone = enroll_in(&firm, &ann, &acme());
    enroll_in(&firm, &bob, &globex());
    // Bob types something that is not a code, eleven times in a quarter of an hour:
    // ten are audited one by one, the eleventh is counted in his record.
    for _ in 0..11 {
        let refused = run(firm.mfa.verify_code(&bob, "not-a-code", &globex())).unwrap();
        assert!(refused.is_err());
    }
    assert_eq!(run(firm.mfa.record(&bob)).unwrap().org(), Some(&OrgId::new(GLOBEX)));
    assert_eq!(listed(&firm, GLOBEX), ["globex/bob"]);
    firm.clock.advance(901);

    // Ann, in Acme, asks to reset Bob's MFA; the host's roles say no.
    prove_in(&firm, &ann, &ann_phone, &acme());
    let request = ResetRequest::new(ACME, &ann, &bob, "he called the help desk");
    let refused = run(firm.mfa.reset(request, &acme_roles(), &acme())).unwrap();
    assert_eq!(refused, Err(mfa_kit::Refusal::NotPermitted));

    let bob_now = run(firm.mfa.record(&bob)).unwrap();
    assert!(bob_now.has_mfa(), "the refused reset cleared nothing");
    let mut leaks = Vec::new();
    let acme_list = listed(&firm, ACME);
    if acme_list != ["acme/ann"] {
        leaks.push(format!("Globex's Bob is on Acme's status list: {acme_list:?}"));
    }
    let globex_list = listed(&firm, GLOBEX);
    if globex_list != ["globex/bob"] {
        leaks.push(format!("Bob left Globex's status list: {globex_list:?}"));
    }
    if bob_now.org() != Some(&OrgId::new(GLOBEX)) {
        leaks.push(format!("Bob's record was refiled under {:?}", bob_now.org()));
    }
    let acme_trail = trail_users(&firm, ACME);
    if acme_trail.iter().any(|(who, kind)| who == "globex/bob" && kind == "refusals_summarised") {
        leaks
            .push(format!("Bob's refused attempts at Globex are summarised in Acme's trail: {acme_trail:?}"));
    }
    assert!(leaks.is_empty(), "{leaks:#?}");
}

/// A reset is filed under `ResetRequest::org` and judged under the rules of the
/// `context` it is asked in, so the two must be the same organisation
/// (`Error::OrgMismatch` otherwise, as for the status list, counts and evidence). A support admin who may act in both firms, on a page of
/// Globex (a context made in Globex, with Globex's jurisdiction and settings), turns
/// off the MFA of Acme's user: Globex's rules are applied to Acme's user, and the
/// Australian tax-data rule (R12: MFA cannot be deactivated) that Acme's own context
/// enforces is bypassed.
#[test]
fn a_reset_in_one_organisation_is_not_judged_under_anothers_rules() {
    let firm = firm();
    let (support, tom) = (user("support/sam"), user("acme/tom"));
    let support_phone = enroll_in(&firm, &support, &globex());
    enroll_in(&firm, &tom, &acme());
    let both_firms = permitted();

    // Asked in Acme's own context, turning Tom's MFA off is refused by the rule.
    prove_in(&firm, &support, &support_phone, &acme());
    let in_acme = ResetRequest::new(ACME, &support, &tom, "lost phone").with_mode(ResetMode::TurnOff);
    let refused = run(firm.mfa.reset(in_acme, &both_firms, &acme())).unwrap();
    assert!(refused.is_err(), "control: Acme's rules forbid it: {refused:?}");
    assert!(run(firm.mfa.record(&tom)).unwrap().has_mfa());

    // The same reset in Acme, asked from a request made in Globex.
    prove_in(&firm, &support, &support_phone, &globex());
    let from_globex = ResetRequest::new(ACME, &support, &tom, "lost phone").with_mode(ResetMode::TurnOff);
    let outcome = run(firm.mfa.reset(from_globex, &both_firms, &globex()));
    assert!(matches!(outcome, Err(Error::OrgMismatch { .. })), "{outcome:?}");
    assert!(
        run(firm.mfa.record(&tom)).unwrap().has_mfa(),
        "Acme's Tom lost MFA under Globex's rules (R12 forbids it in Acme): {outcome:?}"
    );
}

/// As for a reset: `change_stored_org_settings` files the change under `org` and
/// judges the actor's fresh proof under the context's organisation's settings, so the
/// context must be made in `org`. Acme asks a fresh proof of
/// at most 60 seconds before a settings change; a request made in Globex (5 minutes)
/// changes Acme's stored settings with a proof two minutes old.
#[test]
fn a_settings_change_of_one_organisation_is_not_judged_under_anothers_window() {
    let firm = firm();
    let support = user("support/sam");
    let phone = enroll_in(&firm, &support, &globex());
    let both_firms = permitted();
    let tight = OrgSettings::builder().fresh_proof_window(60).build().unwrap();
    prove_in(&firm, &support, &phone, &acme());
    let stored =
        run(firm.mfa.change_stored_org_settings(ACME, &support, &both_firms, &acme(), |_| tight.clone()));
    assert_eq!(stored.unwrap(), Ok(tight.clone()));
    let acme_now = || {
        office()
            .in_org(ACME)
            .with_jurisdiction(Jurisdiction::country("AU").with_xero())
            .with_org(Arc::new(run(firm.mfa.org_settings(ACME)).unwrap()))
    };

    prove_in(&firm, &support, &phone, &globex());
    firm.clock.advance(120);
    let looser = OrgSettings::builder().fresh_proof_window(3600).build().unwrap();
    // Control: in Acme's own context the two-minute-old proof is too old.
    let refused = run(firm
        .mfa
        .change_stored_org_settings(ACME, &support, &both_firms, &acme_now(), |_| looser.clone()))
    .unwrap();
    assert!(refused.is_err(), "control: {refused:?}");
    // From a request made in Globex.
    let outcome =
        run(firm.mfa.change_stored_org_settings(ACME, &support, &both_firms, &globex(), |_| looser.clone()));
    assert!(matches!(outcome, Err(Error::OrgMismatch { .. })), "{outcome:?}");
    assert_eq!(
        run(firm.mfa.org_settings(ACME)).unwrap(),
        tight,
        "Acme's settings were changed under Globex's step-up window: {outcome:?}"
    );
}

/// Organisation ids that are prefixes of one another ("smith",
/// "smith-co") or hold odd characters ("", "%", "a_b", "Smith-Co", a trailing space, a
/// line break) are kept apart by the status list, the counts, the trail, its export,
/// the settings and the pruning.
#[test]
fn organisations_whose_ids_are_prefixes_or_odd_are_kept_apart() {
    let firm = firm();
    let orgs = ["smith", "smith-co", "smith-co ", "Smith-Co", "", "%", "a_b", "a\nb", "smith\u{0}"];
    let mut phones = Vec::new();
    for (i, org) in orgs.iter().enumerate() {
        let context = office().in_org(*org);
        let who = user(&format!("user-{i}"));
        phones.push(enroll_in(&firm, &who, &context));
    }
    for (i, org) in orgs.iter().enumerate() {
        let context = office().in_org(*org);
        assert_eq!(listed(&firm, org), [format!("user-{i}")], "{org:?}'s list");
        let counts = run(firm.mfa.compliance_counts(*org, &context)).unwrap();
        assert_eq!(counts.set_up, 1, "{org:?}'s counts: {counts:?}");
        let trail = trail_users(&firm, org);
        assert!(
            !trail.is_empty() && trail.iter().all(|(who, _)| *who == format!("user-{i}")),
            "{org:?}: {trail:?}"
        );
        run(firm.mfa.evidence_report(*org, &context)).unwrap();
    }
    // Settings stored for "smith" are not "smith-co"'s.
    let admin = user("user-0");
    prove_in(&firm, &admin, &phones[0], &office().in_org("smith"));
    let strict = OrgSettings::builder().fresh_proof_window(60).build().unwrap();
    let saved = run(firm.mfa.change_stored_org_settings(
        "smith",
        &admin,
        &permitted(),
        &office().in_org("smith"),
        |_| strict.clone(),
    ));
    assert_eq!(saved.unwrap(), Ok(strict.clone()));
    for org in &orgs[1..] {
        assert_eq!(run(firm.mfa.org_settings(org)).unwrap(), OrgSettings::default(), "{org:?}");
    }
    // Pruning "smith" deletes none of "smith-co"'s events.
    let before: Vec<usize> = orgs.iter().map(|org| trail_users(&firm, org).len()).collect();
    firm.clock.advance(400 * 86_400);
    let deleted = run(firm.mfa.prune_audit(START + 86_400, &admin, &office().in_org("smith"))).unwrap();
    assert_eq!(deleted as usize, before[0]);
    for (i, org) in orgs.iter().enumerate().skip(1) {
        assert_eq!(trail_users(&firm, org).len(), before[i], "{org:?}'s trail after pruning smith's");
    }
}

/// A request made in no organisation (a background job) neither
/// unfiles a user's record from its organisation nor files its events elsewhere; a
/// user who moves to another organisation is listed under it after their first change
/// made there, and their earlier events stay in the first organisation's trail.
#[test]
fn a_request_in_no_organisation_keeps_the_record_where_it_is_and_a_move_is_followed() {
    let firm = firm();
    let bob = user("bob");
    let phone = enroll_in(&firm, &bob, &globex());
    let before = trail_users(&firm, GLOBEX).len();
    // A request in no organisation changes Bob's record (a proof).
    firm.clock.advance(30);
    run(firm.mfa.verify_code(&bob, &phone.code(), &office())).unwrap().unwrap();
    assert_eq!(run(firm.mfa.record(&bob)).unwrap().org(), Some(&OrgId::new(GLOBEX)));
    assert!(trail_users(&firm, GLOBEX).len() > before, "the event is filed under the record's organisation");
    // Bob moves to Acme and signs in there.
    prove_in(&firm, &bob, &phone, &acme());
    assert_eq!(listed(&firm, ACME), ["bob"]);
    assert!(listed(&firm, GLOBEX).is_empty());
    assert!(trail_users(&firm, GLOBEX).iter().all(|(who, _)| who == "bob"));
    assert!(!trail_users(&firm, ACME).is_empty());
}
