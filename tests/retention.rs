//! Keeping the audit trail as long as an organisation's rules say: the retention job
//! prunes each organisation's old events, and never the 12 months the ATO asks an
//! Australian tax-data firm to keep.

mod common;

use common::*;
use mfa_kit::UserId;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::policy::{Jurisdiction, Preset, SignInContext, StandardPolicy};
use mfa_kit::service::Error;
use mfa_kit::store::{AuditQuery, ReadAudit};

const DAY: u64 = 86_400;

fn au_firm() -> SignInContext {
    office().in_org("smith-co").with_jurisdiction(Jurisdiction::country("AU").with_xero())
}

fn us_firm() -> SignInContext {
    office().in_org("acme-us").with_jurisdiction(Jurisdiction::country("US"))
}

/// The retention job's own account, which the pruning's events name as the actor.
fn job() -> UserId {
    user("retention-job")
}

fn trail(firm: &Firm, org: &str) -> Vec<AuditEvent> {
    let page = run(firm.mfa.store().read_audit(&AuditQuery::org(org, 0, u64::MAX >> 2, 1000))).unwrap();
    page.events.into_iter().map(|stored| stored.event).collect()
}

/// When the organisation's events happened, but the pruning's own.
fn kept(firm: &Firm, org: &str) -> Vec<u64> {
    let events = trail(firm, org);
    events.iter().filter(|e| !matches!(e.kind, EventKind::AuditPruned { .. })).map(|e| e.at).collect()
}

/// The pruning's own events: by whom, before when, how many.
fn prunings(firm: &Firm, org: &str) -> Vec<(String, u64, u64)> {
    let events = trail(firm, org);
    let pruned = |e: &AuditEvent| match e.kind {
        EventKind::AuditPruned { before, deleted } => Some((e.actor.as_str().to_string(), before, deleted)),
        _ => None,
    };
    events.iter().filter_map(pruned).collect()
}

#[test]
fn the_retention_job_keeps_twelve_months_for_the_ato_firm_and_prunes_what_is_older() {
    let firm = firm_with_policy(StandardPolicy::new().with_ato_for_tax_data());
    let (sarah, tom) = (user("smith-co/sarah"), user("acme-us/tom"));
    // A year and a half of enrollments started, one a month, in each firm.
    for _ in 0..18 {
        run(firm.mfa.start_enrollment(&sarah, "sarah", &au_firm())).unwrap().unwrap();
        run(firm.mfa.start_enrollment(&tom, "tom", &us_firm())).unwrap().unwrap();
        firm.clock.advance(30 * DAY);
    }
    let now = START + 18 * 30 * DAY;
    assert_eq!(kept(&firm, "smith-co").len(), 18);

    // Pruning the Australian firm's last 30 days is refused, and nothing goes.
    let refused = run(firm.mfa.prune_audit(now - 30 * DAY, &job(), &au_firm()));
    let Err(Error::RetentionRequired { retention, earliest, before }) = refused else {
        panic!("expected the retention to be required, got {refused:?}")
    };
    assert_eq!(
        (retention, earliest, before),
        (Preset::TWELVE_MONTHS, now - Preset::TWELVE_MONTHS, now - 30 * DAY)
    );
    assert!(refused.unwrap_err().to_string().contains("366 days"));
    assert_eq!(kept(&firm, "smith-co").len(), 18, "a refused prune deletes nothing");
    assert!(prunings(&firm, "smith-co").is_empty(), "and writes no event");
    // One second too recent is refused too.
    let edge = now - Preset::TWELVE_MONTHS;
    assert!(matches!(
        run(firm.mfa.prune_audit(edge + 1, &job(), &au_firm())),
        Err(Error::RetentionRequired { .. })
    ));

    // Up to twelve months ago: only the older events of that firm go.
    let deleted = run(firm.mfa.prune_audit(edge, &job(), &au_firm())).unwrap();
    let left = kept(&firm, "smith-co");
    assert_eq!(deleted as usize, 18 - left.len());
    assert!(left.iter().all(|at| *at >= edge), "only events older than twelve months were pruned");
    assert!(left.len() >= 12, "twelve months of monthly events are kept");
    assert_eq!(kept(&firm, "acme-us").len(), 18, "the other firm's trail is untouched");
    assert_eq!(
        prunings(&firm, "smith-co"),
        [("retention-job".to_string(), edge, deleted)],
        "the pruning is itself audited, under the firm, by the job"
    );
    assert!(prunings(&firm, "acme-us").is_empty());

    // The firm under no preset keeps what its own job decides: its last 30 days only.
    let deleted = run(firm.mfa.prune_audit(now - 30 * DAY, &job(), &us_firm())).unwrap();
    assert_eq!(deleted, 17);
    assert_eq!(kept(&firm, "acme-us"), [now - 30 * DAY], "only the latest month is left");
    assert_eq!(kept(&firm, "smith-co"), left, "and the Australian firm's trail is as it was");
    assert_eq!(prunings(&firm, "acme-us"), [("retention-job".to_string(), now - 30 * DAY, 17)]);
}

#[test]
fn an_organisation_that_names_the_ato_preset_itself_is_held_to_its_retention() {
    use mfa_kit::policy::OrgSettings;
    use std::sync::Arc;

    let firm = firm_with_policy(StandardPolicy::new());
    let settings = OrgSettings::builder().presets(vec![Preset::AtoOperationalSecurity]).build().unwrap();
    let context = office().in_org("own-choice").with_org(Arc::new(settings));
    firm.clock.advance(400 * DAY);
    let refused = run(firm.mfa.prune_audit(START + 200 * DAY, &job(), &context));
    assert!(matches!(refused, Err(Error::RetentionRequired { .. })), "{refused:?}");
    assert_eq!(run(firm.mfa.prune_audit(START + 30 * DAY, &job(), &context)).unwrap(), 0);
    assert!(prunings(&firm, "own-choice").is_empty(), "a pruning that deleted nothing writes nothing");
}

#[test]
fn a_policy_shared_behind_an_arc_keeps_the_twelve_months() {
    let firm = firm_with_policy(std::sync::Arc::new(StandardPolicy::new().with_ato_for_tax_data()));
    let sarah = UserId::new("smith-co/sarah");
    run(firm.mfa.start_enrollment(&sarah, "sarah", &au_firm())).unwrap().unwrap();
    firm.clock.advance(30 * DAY);
    let pruned = run(firm.mfa.prune_audit(START + 30 * DAY, &job(), &au_firm()));
    assert!(matches!(pruned, Err(Error::RetentionRequired { .. })), "got {pruned:?}");
    assert_eq!(kept(&firm, "smith-co").len(), 1, "the enrollment's event is still there");
}
