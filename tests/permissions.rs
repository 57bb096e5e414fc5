//! Stories of who may do an admin's actions (R21, R22; issue 24): the host keeps its
//! roles in its own database, and the service asks it, asynchronously, before a reset
//! or a settings change; a lookup that fails changes nothing. And the host's own
//! sensitive actions, confirmed with a fresh second factor, are audited under the
//! host's names for them.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use common::*;
use mfa_kit::event::{AuditOutcome, EventKind};
use mfa_kit::flow::oversight::SettingsChange;
use mfa_kit::flow::step_up::StepUp;
use mfa_kit::policy::{Level, OrgSettings};
use mfa_kit::service::permissions::{self, AdminAction, PermissionRequest, Permissions};
use mfa_kit::service::{Error, MfaService};
use mfa_kit::store::MemoryStore;
use mfa_kit::{Cleared, Refusal, ResetMode, SessionEnd, UserId};

/// What the host's permission check was asked: actor, target, organisation, action,
/// mode.
type Asked = (String, Option<String>, String, &'static str, Option<ResetMode>);

/// The firm's roles table, as the host's database answers it: a partner administers
/// `smith-co`, and may reset users of it. The lookup waits once before it answers (a
/// round trip to the database), and fails while the database is down.
#[derive(Default)]
struct Roles {
    down: AtomicBool,
    asked: Mutex<Vec<Asked>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the roles table could not be read")]
struct RolesDown;

/// A future that is pending once before it is ready, as a database query is.
struct RoundTrip(bool);

impl Future for RoundTrip {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Permissions for Roles {
    type Error = RolesDown;

    async fn permits(&self, request: &PermissionRequest<'_>) -> Result<bool, RolesDown> {
        let (action, mode) = match request.action {
            AdminAction::Reset { mode, .. } => ("reset", Some(mode)),
            _ => ("change_org_settings", None),
        };
        let target = request.target().map(|target| target.as_str().to_string());
        let asked = (request.actor.as_str().to_string(), target, request.org.to_string(), action, mode);
        self.asked.lock().unwrap().push(asked);
        RoundTrip(false).await;
        if self.down.load(Ordering::SeqCst) {
            return Err(RolesDown);
        }
        Ok(request.org == FIRM && request.actor.as_str() == "partner")
    }
}

/// The firm with Sarah (enrolled), the partner and a clerk (both enrolled, both with a
/// fresh proof: only the roles table tells them apart).
fn firm_with_staff() -> (Firm, UserId, UserId, UserId) {
    let firm = firm();
    let (sarah, partner, clerk) = (user("sarah"), user("partner"), user("clerk"));
    firm.enroll(&sarah);
    let partner_phone = firm.enroll(&partner);
    let clerk_phone = firm.enroll(&clerk);
    firm.prove(&partner, &partner_phone);
    firm.prove(&clerk, &clerk_phone);
    (firm, sarah, partner, clerk)
}

fn kinds_about(firm: &Firm, who: &UserId) -> Vec<EventKind> {
    firm.audit.events().into_iter().filter(|e| e.user == *who).map(|e| e.kind).collect()
}

fn resets_of(firm: &Firm, who: &UserId) -> usize {
    kinds_about(firm, who).iter().filter(|k| matches!(k, EventKind::ResetByAdmin { .. })).count()
}

#[test]
fn a_clerk_without_the_permission_cannot_reset_sarahs_mfa_and_the_attempt_is_audited() {
    let (firm, sarah, _partner, clerk) = firm_with_staff();
    let roles = Roles::default();
    let before = run(firm.mfa.record(&sarah)).unwrap();
    let refused =
        run(firm.mfa.reset(reset_of(&clerk, &sarah, "she asked me to"), &roles, &office())).unwrap();
    assert_eq!(refused, Err(Refusal::NotPermitted));
    assert_eq!(run(firm.mfa.record(&sarah)).unwrap(), before, "her MFA is as it was");
    let attempt = firm.audit.events().into_iter().rev().find(|e| e.user == sarah).unwrap();
    assert!(matches!(&attempt.kind, EventKind::ResetRefused { .. }), "{:?}", attempt.kind);
    assert_eq!((attempt.actor, attempt.outcome), (clerk, AuditOutcome::Failure));
    assert_eq!(resets_of(&firm, &sarah), 0);
}

#[test]
fn the_host_is_asked_who_resets_whom_in_which_organisation_with_which_mode() {
    let (firm, sarah, partner, _clerk) = firm_with_staff();
    let roles = Roles::default();
    let reset = reset_of(&partner, &sarah, "lost phone").with_mode(ResetMode::TurnOff);
    let cleared = run(firm.mfa.reset(reset, &roles, &office())).unwrap();
    assert_eq!(cleared, Ok(vec![Cleared::Authenticator]));
    let asked = roles.asked.lock().unwrap().clone();
    let expected = ("partner".into(), Some("sarah".into()), FIRM.into(), "reset", Some(ResetMode::TurnOff));
    assert_eq!(asked, [expected], "asked once, about exactly this reset");
    assert_eq!(resets_of(&firm, &sarah), 1);
    assert!(!run(firm.mfa.status(&sarah, &office())).unwrap().has_mfa());
}

#[test]
fn a_partner_of_another_organisation_is_refused_by_the_hosts_answer() {
    let (firm, sarah, partner, _clerk) = firm_with_staff();
    let roles = Roles::default();
    let elsewhere = mfa_kit::flow::oversight::ResetRequest::new("jones-ltd", &partner, &sarah, "lost phone");
    let refused = run(firm.mfa.reset(elsewhere, &roles, &office())).unwrap();
    assert_eq!(refused, Err(Refusal::NotPermitted));
    assert!(run(firm.mfa.status(&sarah, &office())).unwrap().has_mfa());
}

#[test]
fn when_the_roles_table_cannot_be_read_a_reset_fails_closed_and_nothing_is_audited_as_done() {
    let (firm, sarah, partner, _clerk) = firm_with_staff();
    let roles = Roles::default();
    roles.down.store(true, Ordering::SeqCst);
    let trail = firm.audit.events().len();
    let before = run(firm.mfa.record(&sarah)).unwrap();
    let failed = run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &roles, &office()));
    let Err(Error::Permissions(why)) = failed else { panic!("{failed:?}") };
    assert_eq!(why.to_string(), "the roles table could not be read");
    assert_eq!(run(firm.mfa.record(&sarah)).unwrap(), before, "nothing was changed");
    assert_eq!(firm.audit.events().len(), trail, "nothing was audited, as done or as refused");
    // Once the table answers again, the partner's reset goes through.
    roles.down.store(false, Ordering::SeqCst);
    let cleared = run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &roles, &office())).unwrap();
    assert!(cleared.is_ok(), "{cleared:?}");
    assert_eq!(resets_of(&firm, &sarah), 1);
}

#[test]
fn a_closure_can_answer_asynchronously_or_at_once() {
    let (firm, sarah, partner, clerk) = firm_with_staff();
    let asked = Mutex::new(Vec::new());
    let looked_up = permissions::from_fn(|request| {
        asked.lock().unwrap().push(request.actor.clone());
        let actor = request.actor.clone();
        async move {
            RoundTrip(false).await;
            Ok::<bool, RolesDown>(actor.as_str() == "partner")
        }
    });
    let refused = run(firm.mfa.reset(reset_of(&clerk, &sarah, "lost phone"), &looked_up, &office())).unwrap();
    assert_eq!(refused, Err(Refusal::NotPermitted));
    assert_eq!(*asked.lock().unwrap(), [clerk]);
    let at_once = permissions::from_sync_fn(|request| request.actor.as_str() == "partner");
    let cleared = run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &at_once, &office())).unwrap();
    assert!(cleared.is_ok(), "{cleared:?}");
}

#[test]
fn who_may_change_the_settings_is_asked_of_the_host_and_a_failed_lookup_saves_nothing() {
    let (firm, _sarah, partner, clerk) = firm_with_staff();
    let roles = Roles::default();
    let mandatory = |settings: &OrgSettings| settings.clone().with_level("practitioner", Level::Mandatory);

    // The clerk is refused, and the refusal is audited; nothing is stored.
    let refused =
        run(firm.mfa.change_stored_org_settings(FIRM, &clerk, &roles, &office(), mandatory)).unwrap();
    assert_eq!(refused, Err(Refusal::NotPermitted));
    assert_eq!(run(firm.mfa.org_settings(FIRM)).unwrap(), OrgSettings::default());
    let last = firm.audit.events().pop().unwrap();
    assert!(matches!(&last.kind, EventKind::OrgSettingsChangeRefused { org, .. } if org == FIRM));
    assert_eq!(last.actor, clerk);

    // The roles table is down: an error, nothing stored, nothing audited.
    roles.down.store(true, Ordering::SeqCst);
    let trail = firm.audit.events().len();
    let failed = run(firm.mfa.change_stored_org_settings(FIRM, &partner, &roles, &office(), mandatory));
    assert!(matches!(failed, Err(Error::Permissions(_))), "{failed:?}");
    assert_eq!(run(firm.mfa.org_settings(FIRM)).unwrap(), OrgSettings::default());
    assert_eq!(firm.audit.events().len(), trail);

    // The settings in the host's own table: the save is never called.
    let current = OrgSettings::default();
    let change = SettingsChange::new(FIRM, &partner, &current, mandatory(&current));
    let saved = Mutex::new(0);
    let save = |_: OrgSettings| {
        *saved.lock().unwrap() += 1;
        std::future::ready(Ok::<(), std::convert::Infallible>(()))
    };
    let failed = run(firm.mfa.change_org_settings(change.clone(), &roles, &office(), save));
    assert!(matches!(failed, Err(Error::Permissions(_))), "{failed:?}");
    assert_eq!((*saved.lock().unwrap(), firm.audit.events().len()), (0, trail));

    // The table is back: the partner's change is made, asked about as a settings change.
    roles.down.store(false, Ordering::SeqCst);
    assert!(run(firm.mfa.change_org_settings(change, &roles, &office(), save)).unwrap().is_ok());
    assert_eq!(*saved.lock().unwrap(), 1);
    let made =
        run(firm.mfa.change_stored_org_settings(FIRM, &partner, &roles, &office(), mandatory)).unwrap();
    assert_eq!(made.unwrap().levels().get("practitioner"), Some(&Level::Mandatory));
    let asked = roles.asked.lock().unwrap().clone();
    assert!(asked.iter().all(|(_, target, org, action, mode)| target.is_none()
        && org == FIRM
        && *action == "change_org_settings"
        && mode.is_none()));
    assert_eq!(asked.len(), 5, "asked once a call");
}

fn allowed(firm: &Firm, who: &UserId) -> Vec<String> {
    let kinds = kinds_about(firm, who).into_iter();
    kinds
        .filter_map(|k| if let EventKind::HostActionAllowed { action } = k { Some(action) } else { None })
        .collect()
}

#[test]
fn ann_changes_the_bank_details_after_a_fresh_code_and_the_trail_names_the_action() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let answer = run(firm.mfa.step_up_host_action(&ann, "change_bank_details", &office())).unwrap();
    assert!(answer.may_proceed(), "{answer:?}");
    let event = firm.audit.events().pop().unwrap();
    assert_eq!(event.kind, EventKind::HostActionAllowed { action: "change_bank_details".into() });
    assert_eq!((event.actor, event.outcome), (ann.clone(), AuditOutcome::Success));
    assert_eq!(event.kind.sentence(), "Allowed \"change_bank_details\" after a recent second-factor proof.");
    assert_eq!(event.kind.security_notice(), None, "routine: no notice to the user");
}

#[test]
fn a_host_action_without_a_fresh_proof_asks_for_one_and_is_audited_only_once_allowed() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    firm.clock.advance(3_600);
    let trail = firm.audit.events().len();
    let answer = run(firm.mfa.step_up_host_action(&ann, "approve pay run", &office())).unwrap();
    assert!(matches!(answer, StepUp::Prove { .. }), "{answer:?}");
    assert_eq!(firm.audit.events().len(), trail, "asking for a proof is not audited");
    firm.prove(&ann, &phone);
    let answer = run(firm.mfa.step_up_host_action(&ann, "approve pay run", &office())).unwrap();
    assert!(answer.may_proceed(), "{answer:?}");
    assert_eq!(allowed(&firm, &ann), ["approve pay run"]);
}

#[test]
fn a_user_without_mfa_is_told_to_set_it_up_and_nothing_is_audited() {
    let firm = firm();
    let tom = user("tom");
    let answer = run(firm.mfa.step_up_host_action(&tom, "change_bank_details", &office())).unwrap();
    assert_eq!(answer, StepUp::EnrollFirst);
    assert!(firm.audit.events().is_empty());
}

#[test]
fn a_host_action_from_a_session_that_ended_is_refused_and_audited_under_its_name() {
    let (firm, sarah, partner, _clerk) = firm_with_staff();
    let now = mfa_kit::clock::Clock::now(&firm.clock).unwrap();
    let generation = run(firm.mfa.generation(&sarah)).unwrap();
    let old_session =
        office().with_session(mfa_kit::policy::SessionFacts::new(generation, now).proved_at(now));
    run(firm.mfa.reset(reset_of(&partner, &sarah, "stolen cookie"), &permitted(), &office()))
        .unwrap()
        .unwrap();
    let answer = run(firm.mfa.step_up_host_action(&sarah, "change_bank_details", &old_session)).unwrap();
    assert_eq!(answer, StepUp::SignInAgain(SessionEnd::AccountChanged));
    let event = firm.audit.events().pop().unwrap();
    let refused = EventKind::HostActionRefused {
        action: "change_bank_details".into(),
        refusal: "session_ended".into(),
    };
    assert_eq!((event.kind, event.outcome), (refused, AuditOutcome::Failure));
    assert!(allowed(&firm, &sarah).is_empty());
}

#[test]
fn a_host_action_needs_a_name_fit_for_the_trail() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let trail = firm.audit.events().len();
    for name in ["", " ", "two\nlines", "\u{202E}sliated knab", &"x".repeat(65), " padded"] {
        let answer = run(firm.mfa.step_up_host_action(&ann, name, &office()));
        assert!(matches!(answer, Err(Error::InvalidHostAction)), "{name:?}: {answer:?}");
    }
    assert_eq!(firm.audit.events().len(), trail, "nothing audited for a bad name");
    let plain = run(firm.mfa.step_up_host_action(&ann, &"x".repeat(64), &office())).unwrap();
    assert!(plain.may_proceed());
}

/// The service's calls stay `Send` with an async permission check, so a web server can
/// run them on any thread.
#[test]
fn a_reset_with_an_async_permission_check_can_run_on_any_thread() {
    fn send<T: Send>(_: &T) {}
    let mfa = MfaService::builder("Smith & Co", MemoryStore::new(), mfa_kit::danger::PlaintextSealer).build();
    let (partner, sarah) = (user("partner"), user("sarah"));
    let roles = Roles::default();
    let context = office();
    let reset = mfa.reset(reset_of(&partner, &sarah, "lost phone"), &roles, &context);
    send(&reset);
    drop(reset);
}
