//! A host developer's review of the organisation and admin promises (R21-R23) as the
//! documentation states them: resets, settings changes, the status list, the
//! permission check and where each event is filed. Each test quotes the sentence it
//! checks.

mod common;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use mfa_kit::event::{AuditEvent, AuditOutcome, EventKind};
use mfa_kit::flow::oversight::SettingsChange;
use mfa_kit::policy::{Level, OrgSettings};
use mfa_kit::record::UserRecord;
use mfa_kit::service::Error;
use mfa_kit::service::permissions::{self, AdminAction, PermissionRequest};
use mfa_kit::store::{
    MemoryStore, OrgSettingsStore, RecordQuery, SaveOutcome, Store, Version, Versioned, VersionedSettings,
};
use mfa_kit::{Reason, Refusal, ResetMode, UserId};

#[derive(Debug, thiserror::Error)]
#[error("connection to the database was lost")]
struct ConnectionLost;

/// The in-memory store, whose reads of one user's record fail, and whose settings
/// saves always meet another admin's change (a conflict).
#[derive(Default)]
struct Flaky {
    inner: MemoryStore,
    unreadable: Mutex<Option<UserId>>,
    settings_saves: AtomicU32,
}

impl Store for Flaky {
    type Error = ConnectionLost;

    async fn load(&self, user: &UserId) -> Result<Option<Versioned>, ConnectionLost> {
        if self.unreadable.lock().unwrap().as_ref() == Some(user) {
            return Err(ConnectionLost);
        }
        Ok(self.inner.load(user).await.unwrap())
    }

    async fn save(
        &self,
        record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> Result<SaveOutcome, ConnectionLost> {
        Ok(self.inner.save(record, expected, events).await.unwrap())
    }

    async fn append_events(&self, events: Vec<AuditEvent>) -> Result<(), ConnectionLost> {
        self.inner.append_events(events).await.unwrap();
        Ok(())
    }
}

impl OrgSettingsStore for Flaky {
    async fn load_org_settings(&self, org: &str) -> Result<Option<VersionedSettings>, ConnectionLost> {
        Ok(self.inner.load_org_settings(org).await.unwrap())
    }

    async fn save_org_settings(
        &self,
        _org: &str,
        _settings: OrgSettings,
        _expected: Option<Version>,
        _events: Vec<AuditEvent>,
    ) -> Result<SaveOutcome, ConnectionLost> {
        self.settings_saves.fetch_add(1, Ordering::SeqCst);
        Ok(SaveOutcome::Conflict)
    }
}

/// A settings change the admin asks for: practitioners must use MFA.
fn mandatory(current: &OrgSettings) -> OrgSettings {
    current.clone().with_level("practitioner", Level::Mandatory)
}

/// The events filed under organisation `org`.
fn filed_under(events: &[AuditEvent], org: &str) -> Vec<EventKind> {
    events.iter().filter(|e| e.org().map(|o| o.as_str()) == Some(org)).map(|e| e.kind.clone()).collect()
}

// ---------------------------------------------------------------------------------
// Reset (R21)
// ---------------------------------------------------------------------------------

// src/service/oversight.rs:39-41: "Where levels differ by user type, give the target's
// with [`ResetRequest::for_user_type`]: `TurnOff` is checked against it (without it,
// against the context's)." and src/flow/oversight.rs:214-216 "the request context stays
// the admin's own". Existing tests use `for_user_type` only for the admin's proof.
#[test]
fn turn_off_by_reset_is_judged_at_the_targets_user_type_not_the_admins() {
    let firm = firm();
    let (partner, sarah, tom) = (user("partner"), user("sarah"), user("tom"));
    let partner_phone = firm.enroll(&partner);
    firm.enroll(&sarah);
    firm.enroll(&tom);
    // Partners must use MFA; bookkeepers decide for themselves; practitioners must too.
    let settings = OrgSettings::default()
        .with_level("partner", Level::Mandatory)
        .with_level("practitioner", Level::Mandatory);
    let as_partner = office().with_org(Arc::new(settings)).with_user_type("partner");
    firm.prove(&partner, &partner_phone);
    run(async {
        // Without the target's type, the admin's (mandatory) decides: refused.
        let judged_as_admin = reset_of(&partner, &sarah, "lost phone").with_mode(ResetMode::TurnOff);
        let refused = firm.mfa.reset(judged_as_admin, &permitted(), &as_partner).await.unwrap();
        assert_eq!(refused, Err(Refusal::Forbidden(Reason::LevelMandatory)));
        // Sarah is a bookkeeper, whose level allows going without MFA.
        let as_bookkeeper = judged_as_admin.for_user_type("bookkeeper");
        let done = firm.mfa.reset(as_bookkeeper, &permitted(), &as_partner).await.unwrap();
        assert!(done.is_ok(), "{done:?}");
        assert!(!firm.mfa.status(&sarah, &office()).await.unwrap().has_mfa());
        // Tom is a practitioner: refused, whatever the admin's own level.
        let as_practitioner = reset_of(&partner, &tom, "lost phone")
            .with_mode(ResetMode::TurnOff)
            .for_user_type("practitioner");
        let open = office()
            .with_org(Arc::new(OrgSettings::default().with_level("practitioner", Level::Mandatory)))
            .with_user_type("partner");
        let refused = firm.mfa.reset(as_practitioner, &permitted(), &open).await.unwrap();
        assert_eq!(refused, Err(Refusal::Forbidden(Reason::LevelMandatory)));
        assert!(firm.mfa.status(&tom, &office()).await.unwrap().has_mfa(), "nothing cleared");
    });
}

// src/service/oversight.rs:64-65: "A reset the host does not permit leaves the target's
// record as it is; only the refusal is audited, under `reset.org`." For a target who
// has no record yet (a typo in the admin's form), no record may appear: it would be
// listed and counted as one of the organisation's users.
#[test]
fn a_reset_the_host_refuses_creates_no_record_for_a_user_who_had_none() {
    let firm = firm();
    let partner = user("partner");
    let phone = firm.enroll(&partner);
    firm.prove(&partner, &phone);
    let ghost = user("nobody-by-that-name");
    let nobody = permissions::from_sync_fn(|_| false);
    let refused = run(firm.mfa.reset(reset_of(&partner, &ghost, "lost phone"), &nobody, &office())).unwrap();
    assert_eq!(refused, Err(Refusal::NotPermitted));
    assert!(run(firm.mfa.store().load(&ghost)).unwrap().is_none(), "no record was made");
    let events = firm.mfa.store().events();
    let refusals: Vec<_> = events.iter().filter(|e| e.user == ghost).collect();
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].org().map(|o| o.as_str()), Some(FIRM), "filed under reset.org");
    let listed = run(firm.mfa.status_page(&RecordQuery::org(FIRM, 50), &office())).unwrap();
    assert!(listed.rows.iter().all(|row| row.user != ghost));
}

// src/service/oversight.rs:29-33: "The service also refuses a reset without a reason,
// self-resets and actors without MFA of their own [...] and audits the actor, the
// reason and the mode." with src/flow/oversight.rs:36-38 "The `reset_by_admin` event
// records the mode and the reason, trimmed", and src/service/oversight.rs:64 (refusals
// "under `reset.org`") for a request made in no organisation (a support console).
#[test]
fn a_reset_from_a_context_in_no_organisation_is_audited_under_the_resets_organisation() {
    let firm = firm();
    let (partner, sarah) = (user("partner"), user("sarah"));
    let phone = firm.enroll(&partner);
    firm.enroll(&sarah);
    firm.prove(&partner, &phone);
    run(async {
        let blank = firm.mfa.reset(reset_of(&partner, &sarah, "   "), &permitted(), &office()).await.unwrap();
        assert_eq!(blank, Err(Refusal::ReasonRequired));
        let own =
            firm.mfa.reset(reset_of(&partner, &partner, "test"), &permitted(), &office()).await.unwrap();
        assert_eq!(own, Err(Refusal::SelfReset));
        let done = firm
            .mfa
            .reset(reset_of(&partner, &sarah, "  lost phone \n"), &permitted(), &office())
            .await
            .unwrap();
        assert!(done.is_ok(), "{done:?}");
    });
    let events = firm.mfa.store().events();
    let about_sarah: Vec<&AuditEvent> = events.iter().filter(|e| e.user == sarah).collect();
    let refused = about_sarah.iter().find(|e| matches!(e.kind, EventKind::ResetRefused { .. })).unwrap();
    assert_eq!((refused.org().map(|o| o.as_str()), refused.outcome), (Some(FIRM), AuditOutcome::Failure));
    let reset = about_sarah.iter().find(|e| matches!(e.kind, EventKind::ResetByAdmin { .. })).unwrap();
    assert_eq!(reset.actor, partner);
    assert_eq!(reset.org().map(|o| o.as_str()), Some(FIRM));
    match &reset.kind {
        EventKind::ResetByAdmin { reason, mode, .. } => {
            assert_eq!((reason.as_str(), *mode), ("lost phone", ResetMode::RequireEnrollment));
        }
        other => panic!("{other:?}"),
    }
    // The reset files the record under the organisation it was made in.
    let listed = run(firm.mfa.status_page(&RecordQuery::org(FIRM, 50), &office())).unwrap();
    assert!(listed.rows.iter().any(|row| row.user == sarah));
}

// README.md:185-189: "an admin's reset or settings change each need a second factor
// proved within the last 5 minutes [...] without one the call is refused with
// `Refusal::FreshProofRequired`."
#[test]
fn a_reset_needs_the_admins_proof_within_exactly_five_minutes() {
    let firm = firm();
    let (partner, sarah, tom) = (user("partner"), user("sarah"), user("tom"));
    let phone = firm.enroll(&partner);
    firm.enroll(&sarah);
    firm.enroll(&tom);
    firm.prove(&partner, &phone);
    firm.clock.advance(299);
    let at_edge = run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &office()));
    assert!(at_edge.unwrap().is_ok());
    firm.clock.advance(1);
    let past = run(firm.mfa.reset(reset_of(&partner, &tom, "lost phone"), &permitted(), &office()));
    assert_eq!(past.unwrap().map(drop), Err(Refusal::FreshProofRequired));
    assert!(run(firm.mfa.status(&tom, &office())).unwrap().has_mfa());
}

// ---------------------------------------------------------------------------------
// Settings changes (R22)
// ---------------------------------------------------------------------------------

// src/service/oversight.rs:120-127: "A refusal is audited too." and "a refused change
// calls no `save`"; src/service/permissions.rs:11-13 "`Ok(false)`: refused with
// [`Refusal::NotPermitted`], nothing is changed, and the refusal is audited
// (`reset_refused`, `org_settings_change_refused`)". The event is filed under
// `change.org` (src/service/oversight.rs:112 "[`AdminAction::ChangeOrgSettings`] in
// `change.org`").
#[test]
fn a_host_kept_settings_change_the_host_refuses_calls_no_save_and_is_audited_under_its_org() {
    let firm = firm();
    let clerk = user("clerk");
    let phone = firm.enroll(&clerk);
    firm.prove(&clerk, &phone);
    let asked = Mutex::new(Vec::new());
    let check = permissions::from_sync_fn(|request: &PermissionRequest<'_>| {
        asked.lock().unwrap().push((request.actor.clone(), request.org.to_string(), request.action.as_str()));
        false
    });
    let current = OrgSettings::default();
    let change = SettingsChange::new(FIRM, &clerk, &current, mandatory(&current));
    let saves = AtomicU32::new(0);
    let outcome = run(firm.mfa.change_org_settings(change, &check, &office(), |_| {
        saves.fetch_add(1, Ordering::SeqCst);
        async { Ok::<(), ConnectionLost>(()) }
    }))
    .unwrap();
    assert_eq!(outcome, Err(Refusal::NotPermitted));
    assert_eq!(saves.load(Ordering::SeqCst), 0);
    assert_eq!(*asked.lock().unwrap(), [(clerk.clone(), FIRM.to_string(), "change_org_settings")]);
    let events = firm.mfa.store().events();
    let filed = filed_under(&events, FIRM);
    assert!(
        matches!(filed.last(), Some(EventKind::OrgSettingsChangeRefused { org, .. }) if org == FIRM),
        "{filed:?}"
    );
    assert!(!events.iter().any(|e| matches!(e.kind, EventKind::OrgSettingsChanged { .. })));
}

// src/service/oversight.rs:131-133: "if `save` fails, nothing is audited as changed and
// the call returns [`Error::Store`]".
#[test]
fn a_host_save_that_fails_is_a_store_error_and_nothing_is_audited_as_changed() {
    let firm = firm();
    let partner = user("partner");
    let phone = firm.enroll(&partner);
    firm.prove(&partner, &phone);
    let current = OrgSettings::default();
    let change = SettingsChange::new(FIRM, &partner, &current, mandatory(&current));
    let trail = firm.mfa.store().events().len();
    let failed = run(firm.mfa.change_org_settings(change, &permitted(), &office(), |_| async {
        Err::<(), ConnectionLost>(ConnectionLost)
    }));
    assert!(matches!(failed, Err(Error::Store(_))), "{failed:?}");
    let events = firm.mfa.store().events();
    assert_eq!(events.len(), trail, "nothing audited: {:?}", &events[trail..]);
}

// src/service/oversight.rs:215-217: "the host's permission check must allow `actor`
// (asked once, before the first try [...])", and :230-231 "[`Error::Contention`] when
// other changes kept winning for `max_attempts` tries"; the event "is stored if and
// only if the change is" (:221-222).
#[test]
fn a_stored_settings_change_that_keeps_losing_is_contention_asked_once_and_audits_nothing() {
    let firm = firm_with(Flaky::default(), |builder| builder);
    let partner = user("partner");
    let phone = firm.enroll(&partner);
    firm.prove(&partner, &phone);
    let asks = AtomicU32::new(0);
    let check = permissions::from_sync_fn(|_| {
        asks.fetch_add(1, Ordering::SeqCst);
        true
    });
    let tries = AtomicU32::new(0);
    let outcome = run(firm.mfa.change_stored_org_settings(FIRM, &partner, &check, &office(), |current| {
        tries.fetch_add(1, Ordering::SeqCst);
        mandatory(current)
    }));
    let attempts = match outcome {
        Err(Error::Contention { attempts }) => attempts,
        other => panic!("{other:?}"),
    };
    assert!(attempts >= 1);
    assert_eq!(asks.load(Ordering::SeqCst), 1, "asked once");
    assert_eq!(tries.load(Ordering::SeqCst), attempts);
    assert_eq!(firm.mfa.store().settings_saves.load(Ordering::SeqCst), attempts);
    let events = run(firm.mfa.store().inner.load_org_settings(FIRM)).unwrap();
    assert!(events.is_none());
    assert!(
        !firm.audit.events().iter().any(|e| matches!(
            e.kind,
            EventKind::OrgSettingsChanged { .. } | EventKind::OrgSettingsChangeRefused { .. }
        )),
        "nothing audited"
    );
}

// src/service/oversight.rs:229-231 (change_stored_org_settings) and :145-148
// (change_org_settings): "[`Error::OrgMismatch`] when `context` is made in another
// organisation than `org` (nothing is asked, saved or audited)". Existing tests check
// this for `reset` only.
#[test]
fn a_settings_change_in_another_organisations_context_asks_saves_and_audits_nothing() {
    let firm = firm();
    let partner = user("partner");
    let elsewhere = office().in_org("other-co");
    let phone = enroll_in(&firm, &partner, &elsewhere);
    firm.clock.advance(30);
    let proved = run(firm.mfa.verify_code(&partner, &phone.code(), &elsewhere)).unwrap();
    assert!(proved.is_ok());
    let asks = AtomicU32::new(0);
    let check = permissions::from_sync_fn(|_| {
        asks.fetch_add(1, Ordering::SeqCst);
        true
    });
    let trail = firm.mfa.store().events().len();
    let stored = run(firm.mfa.change_stored_org_settings(FIRM, &partner, &check, &elsewhere, mandatory));
    assert!(
        matches!(&stored, Err(Error::OrgMismatch { asked: Some(asked), context })
            if asked.as_str() == FIRM && context.as_str() == "other-co"),
        "{stored:?}"
    );
    let current = OrgSettings::default();
    let change = SettingsChange::new(FIRM, &partner, &current, mandatory(&current));
    let saves = AtomicU32::new(0);
    let kept = run(firm.mfa.change_org_settings(change, &check, &elsewhere, |_| {
        saves.fetch_add(1, Ordering::SeqCst);
        async { Ok::<(), ConnectionLost>(()) }
    }));
    assert!(matches!(kept, Err(Error::OrgMismatch { .. })), "{kept:?}");
    assert_eq!((asks.load(Ordering::SeqCst), saves.load(Ordering::SeqCst)), (0, 0));
    assert_eq!(firm.mfa.store().events().len(), trail);
    assert_eq!(run(firm.mfa.org_settings(FIRM)).unwrap(), OrgSettings::default());
}

// src/service/permissions.rs:83-89: "The action's stable id: `reset`,
// `change_org_settings`." and :110-116 `PermissionRequest::target`: "The user the action
// is done to, for a reset."
#[test]
fn admin_actions_have_their_stable_ids_and_a_target_only_for_a_reset() {
    let (ann, sam) = (user("ann"), user("sam"));
    let reset = AdminAction::Reset { target: &sam, mode: ResetMode::TurnOff };
    let request = PermissionRequest::new(&ann, FIRM, reset);
    assert_eq!((reset.as_str(), request.target()), ("reset", Some(&sam)));
    let change = PermissionRequest::new(&ann, FIRM, AdminAction::ChangeOrgSettings);
    assert_eq!((AdminAction::ChangeOrgSettings.as_str(), change.target()), ("change_org_settings", None));
}

// ---------------------------------------------------------------------------------
// The status list (R23)
// ---------------------------------------------------------------------------------

// src/service/oversight.rs:192-195: "A record that cannot be read (a store error, a
// record of an unknown format) gives an error in its own row; the other rows are still
// listed."
#[test]
fn a_status_list_row_that_cannot_be_read_is_an_error_and_the_others_are_listed() {
    let firm = firm_with(Flaky::default(), |builder| builder);
    let (ann, bob, cat) = (user("ann"), user("bob"), user("cat"));
    firm.enroll(&ann);
    firm.enroll(&bob);
    *firm.mfa.store().unreadable.lock().unwrap() = Some(bob.clone());
    let rows = run(firm.mfa.status_list([&cat, &bob, &ann], &office()));
    let users: Vec<&str> = rows.iter().map(|(user, _)| user.as_str()).collect();
    assert_eq!(users, ["cat", "bob", "ann"], "in the order given");
    assert!(matches!(&rows[1].1, Err(Error::Store(_))), "{:?}", rows[1].1);
    assert!(!rows[0].1.as_ref().unwrap().has_mfa());
    assert!(rows[2].1.as_ref().unwrap().has_mfa());
}

// src/service/evidence.rs:165-168: "Users who never had a record are not in the store,
// so not counted" and the counts are "over every record filed under it".
#[test]
fn compliance_counts_count_each_record_of_the_organisation_once_and_no_other() {
    let firm = firm();
    let here = office().in_org(FIRM);
    let (ann, bob) = (user("ann"), user("bob"));
    enroll_in(&firm, &ann, &here);
    // Bob only started an enrollment: a record, without MFA.
    run(firm.mfa.start_enrollment(&bob, "bob@example.com", &here)).unwrap().unwrap();
    // Someone else's staff.
    enroll_in(&firm, &user("zed"), &office().in_org("other-co"));
    let counts = run(firm.mfa.compliance_counts(FIRM, &here)).unwrap();
    assert_eq!((counts.set_up, counts.not_required), (1, 1), "{counts:?}");
    let states = [
        counts.set_up,
        counts.required,
        counts.required_with_deadline,
        counts.suggested,
        counts.not_required,
        counts.exempt,
        counts.locked,
        counts.disabled,
    ];
    assert_eq!(states.iter().sum::<usize>(), 2);
}

// src/flow/oversight.rs:16-20: "[`ResetMode::RequireEnrollment`]: the user must enroll
// again at the next sign-in, whatever the level [...] [`ResetMode::TurnOff`]: MFA is off
// and the user signs in without it"; the admin's list says so (src/flow/oversight.rs
// `Compliance::Required`: "MFA is required and not set up: blocked at the next
// sign-in").
#[test]
fn the_status_list_shows_who_must_enroll_again_after_a_reset_and_who_was_turned_off() {
    use mfa_kit::flow::oversight::Compliance;
    let firm = firm();
    let here = office().in_org(FIRM);
    let (partner, sarah, tom) = (user("partner"), user("sarah"), user("tom"));
    let phone = enroll_in(&firm, &partner, &here);
    enroll_in(&firm, &sarah, &here);
    enroll_in(&firm, &tom, &here);
    firm.clock.advance(30);
    assert!(run(firm.mfa.verify_code(&partner, &phone.code(), &here)).unwrap().is_ok());
    let again = run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &here)).unwrap();
    assert!(again.is_ok(), "{again:?}");
    let off = reset_of(&partner, &tom, "lost phone").with_mode(ResetMode::TurnOff);
    assert!(run(firm.mfa.reset(off, &permitted(), &here)).unwrap().is_ok());
    let page = run(firm.mfa.status_page(&RecordQuery::org(FIRM, 10), &here)).unwrap();
    let states: Vec<(&str, bool, Option<Compliance>)> =
        page.rows.iter().map(|row| (row.user.as_str(), row.mfa, row.compliance)).collect();
    assert_eq!(
        states,
        [
            ("partner", true, Some(Compliance::SetUp)),
            ("sarah", false, Some(Compliance::Required { deadline: None })),
            ("tom", false, Some(Compliance::NotRequired)),
        ]
    );
    let red = run(firm.mfa.status_page(&RecordQuery::org(FIRM, 10).without_mfa(), &here)).unwrap();
    let red: Vec<&str> = red.rows.iter().map(|row| row.user.as_str()).collect();
    assert_eq!(red, ["sarah", "tom"]);
    let counts = run(firm.mfa.compliance_counts(FIRM, &here)).unwrap();
    assert_eq!((counts.set_up, counts.required, counts.not_required), (1, 1, 1));
}

// src/flow/oversight.rs:317: `UserStatus::methods`: "The second factors set up,
// strongest first, backups included." The order is stated in src/record/mod.rs:681-683
// ("strongest first: the security key, the authenticator app, confirmed SMS and e-mail
// destinations, unused recovery codes") and src/flow/step_up.rs:128-130 ("a security
// key, an authenticator app, a code by SMS, by e-mail, a recovery code"). A user who
// confirmed an e-mail address first and a phone later is listed SMS first.
#[test]
fn status_list_methods_are_strongest_first_whatever_order_the_destinations_were_added() {
    use mfa_kit::{Destination, Method, Role};
    let firm = firm();
    let sarah = user("sarah");
    let outbox = Outbox::default();
    run(async {
        let email = Destination::email("sarah@smith.example").unwrap();
        firm.mfa.add_destination(&sarah, email, Role::Primary, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&sarah, &outbox.last_code(), &office()).await.unwrap().unwrap();
        firm.clock.advance(60);
        firm.mfa.add_destination(&sarah, phone(), Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&sarah, &outbox.last_code(), &office()).await.unwrap().unwrap();
    });
    let row = run(firm.mfa.status(&sarah, &office())).unwrap();
    assert!(row.has_mfa(), "{row:?}");
    // Actual today: [Email, Sms], the order the destinations were added in.
    assert_eq!(row.methods, [Method::Sms, Method::Email], "strongest first");
}

// src/flow/oversight.rs:318-321 `UserStatus::enrolled_since`: "Since when the user has
// MFA: when the oldest factor the organisation counts was set up (an authenticator app
// or security key, or the primary phone number or e-mail address confirmed)."
#[test]
fn enrolled_since_counts_only_the_factors_the_organisation_counts() {
    use mfa_kit::policy::Preset;
    use mfa_kit::{Destination, Role};
    let firm = firm();
    let sarah = user("sarah");
    let outbox = Outbox::default();
    let email_at = START;
    run(async {
        let email = Destination::email("sarah@smith.example").unwrap();
        firm.mfa.add_destination(&sarah, email, Role::Primary, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&sarah, &outbox.last_code(), &office()).await.unwrap().unwrap();
    });
    firm.clock.advance(120);
    // She adds an app, within the step-up window of the confirmation.
    let start = run(firm.mfa.start_enrollment(&sarah, "sarah@smith.example", &office())).unwrap().unwrap();
    let app = Phone::scan(&start.uri, &firm.clock);
    let first = app.code();
    firm.clock.advance(30);
    let app_at = firm_now(&firm);
    run(firm.mfa.confirm_enrollment(&sarah, &[&first, &app.code()], &office())).unwrap().unwrap();
    let everywhere = run(firm.mfa.status(&sarah, &office())).unwrap();
    assert_eq!(everywhere.enrolled_since, Some(email_at));
    let nist = mfa_kit::policy::OrgSettings::builder().presets(vec![Preset::NistAal2]).build().unwrap();
    let under_nist = office().with_org(Arc::new(nist));
    let row = run(firm.mfa.status(&sarah, &under_nist)).unwrap();
    assert_eq!(row.enrolled_since, Some(app_at), "the e-mail address does not count under NIST");
}

fn firm_now(firm: &Firm) -> u64 {
    use mfa_kit::clock::Clock;
    firm.clock.now().unwrap()
}

// src/store/listing.rs:48-49 `RecordQuery::limit`: "Rows per page, from 1 to
// [`MAX_PAGE`] (0 reads as 1, more as [`MAX_PAGE`])." with src/service/evidence.rs:25-28
// `StatusPage::next`: "Where the next page starts [...] `None` after the last page."
#[test]
fn a_status_page_of_limit_zero_lists_one_row_and_pages_on() {
    let firm = firm();
    let here = office().in_org(FIRM);
    for name in ["ann", "bob", "cat"] {
        enroll_in(&firm, &user(name), &here);
    }
    let mut query = RecordQuery::org(FIRM, 0);
    let mut seen = Vec::new();
    loop {
        let page = run(firm.mfa.status_page(&query, &here)).unwrap();
        assert_eq!(page.rows.len(), 1, "{page:?}");
        seen.push(page.rows[0].user.as_str().to_string());
        let Some(next) = page.next else { break };
        query = query.after(Some(next));
    }
    assert_eq!(seen, ["ann", "bob", "cat"]);
}
