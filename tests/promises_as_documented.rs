//! A new host developer's review of the documentation: each test checks one concrete
//! promise of README.md, docs/requirements.md or the rustdoc of the public service API,
//! quoting the sentence (file:line at the time of writing) it checks.

mod common;

use common::*;
use mfa_kit::event::{AuditOutcome, EventKind};
use mfa_kit::flow::session::SessionVerdict;
use mfa_kit::flow::step_up::StepUp;
use mfa_kit::policy::{OrgSettings, SessionFacts, SignInContext};
use mfa_kit::service::Error;
use mfa_kit::store::MemoryStore;
use mfa_kit::{Method, Refusal, Role, SensitiveAction, SessionEnd};

fn kinds(firm: &Firm, who: &mfa_kit::UserId) -> Vec<&'static str> {
    firm.mfa.store().events_for(who).iter().map(|e| kind_name(&e.kind)).collect()
}

/// Whether `text` holds `code` as a number of its own (not inside a longer number, such
/// as a timestamp).
fn holds(text: &str, code: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(code).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i].is_ascii_digit()).unwrap_or(false);
        let after = bytes.get(at + code.len()).map(|b| b.is_ascii_digit()).unwrap_or(false);
        !before && !after
    })
}

fn kind_name(kind: &EventKind) -> &'static str {
    // The stored name of the kind, from its serialised form.
    let json = serde_json::to_value(kind).unwrap();
    let name = json["kind"].as_str().unwrap().to_string();
    Box::leak(name.into_boxed_str())
}

// ---------------------------------------------------------------------------------
// Organisation settings
// ---------------------------------------------------------------------------------

// src/policy/settings.rs:159-160: "Fields missing from stored settings, as in settings
// written before they existed, take their defaults."
// src/policy/settings.rs:222-224: the inactivity limit's default is "2 hours (or the
// session lifetime, if that is shorter)".
// src/policy/settings.rs:321: deserialising goes "Through the same check as
// [`OrgSettingsBuilder::build`]", and build accepts a lifetime of one hour alone
// (tests/preset_edges.rs pins that for the builder).
#[test]
fn stored_settings_with_a_one_hour_session_lifetime_and_no_idle_timeout_read_back() {
    let built = OrgSettings::builder().session_lifetime(3600).build().unwrap();
    let read = serde_json::from_str::<OrgSettings>(r#"{"session_lifetime":3600}"#);
    match read {
        Ok(read) => assert_eq!(read.session_idle_timeout(), built.session_idle_timeout()),
        Err(error) => panic!("stored settings the builder accepts fail to read: {error}"),
    }
}

// src/policy/settings.rs:216-217: "How recently a second factor must have been proved
// before a sensitive action (step-up), in seconds: 30 to 3600, default 300."
#[test]
fn fresh_proof_window_bounds_are_30_and_3600_default_300() {
    assert_eq!(OrgSettings::default().fresh_proof_window(), 300);
    assert!(OrgSettings::builder().fresh_proof_window(30).build().is_ok());
    assert!(OrgSettings::builder().fresh_proof_window(3600).build().is_ok());
    assert!(OrgSettings::builder().fresh_proof_window(29).build().is_err());
    assert!(OrgSettings::builder().fresh_proof_window(3601).build().is_err());
}

// ---------------------------------------------------------------------------------
// Recovery codes
// ---------------------------------------------------------------------------------

// README.md:154: "MfaService::generate_recovery_codes  codes to show once (15 symbols,
// 74.3 bits)"; src/flow/mod.rs:179 "10 recovery codes"; src/flow/recovery.rs:84-85
// "`7KQMR-Z4DX9-AB3CD`: fifteen symbols in groups of five".
#[test]
fn a_new_set_is_ten_codes_of_fifteen_symbols_in_groups_of_five() {
    let firm = firm();
    let ann = user("ann");
    let _phone = firm.enroll(&ann);
    let codes = run(firm.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    assert_eq!(codes.len(), 10);
    for code in &codes {
        let groups: Vec<&str> = code.as_str().split('-').collect();
        assert_eq!(groups.len(), 3, "{}", code.as_str());
        assert!(groups.iter().all(|g| g.len() == 5), "{}", code.as_str());
        assert!(
            code.as_str()
                .chars()
                .filter(|c| *c != '-')
                .all(|c| "23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(c))
        );
        assert_eq!(format!("{code:?}"), "RecoveryCode(..)");
    }
    let distinct: std::collections::BTreeSet<&str> = codes.iter().map(|c| c.as_str()).collect();
    assert_eq!(distinct.len(), 10);
}

// src/service/recovery.rs:12-13: "A new set of recovery codes, replacing any older set;
// show them once. The user needs MFA first."
#[test]
fn recovery_codes_are_refused_to_a_user_without_mfa_and_to_an_unknown_user() {
    let firm = firm();
    let nobody = user("nobody");
    let outcome = run(firm.mfa.generate_recovery_codes(&nobody, &office())).unwrap();
    assert!(outcome.is_err(), "{:?}", outcome.map(|c| c.len()));
    assert!(run(firm.mfa.record(&nobody)).unwrap().recovery_codes().is_none());
}

// src/service/recovery.rs:12: "replacing any older set"; src/service/recovery.rs:32:
// "each code works once".
#[test]
fn a_new_set_replaces_the_old_one_and_each_code_works_once() {
    let firm = firm();
    let ann = user("ann");
    let _phone = firm.enroll(&ann);
    let old = run(firm.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    let new = run(firm.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    let refused = run(firm.mfa.redeem_recovery_code(&ann, old[0].as_str(), &office())).unwrap();
    assert!(refused.is_err(), "an old set's code still works");
    let proven = run(firm.mfa.redeem_recovery_code(&ann, new[0].as_str(), &office())).unwrap().unwrap();
    assert_eq!(proven.method, Method::RecoveryCode);
    let again = run(firm.mfa.redeem_recovery_code(&ann, new[0].as_str(), &office())).unwrap();
    assert!(again.is_err(), "a recovery code worked twice");
}

// ---------------------------------------------------------------------------------
// Unknown users, users without MFA
// ---------------------------------------------------------------------------------

// src/service/authenticator.rs:17-18: "a user without an authenticator gets
// [`Refusal::NotEnrolled`]".
#[test]
fn verify_code_for_an_unknown_user_is_not_enrolled() {
    let firm = firm();
    let outcome = run(firm.mfa.verify_code(&user("ghost"), "123456", &office())).unwrap();
    assert_eq!(outcome.err(), Some(Refusal::NotEnrolled));
}

// src/service/mod.rs:122: "The user's record as stored, or a new empty one."
#[test]
fn record_of_an_unknown_user_is_empty_and_not_stored() {
    let firm = firm();
    let ghost = user("ghost");
    let record = run(firm.mfa.record(&ghost)).unwrap();
    assert_eq!(record.user(), &ghost);
    assert!(record.authenticators().is_empty());
    assert!(firm.mfa.store().users().is_empty());
}

// src/service/sign_in.rs:29-31: "a context without one is judged as a session that
// ended with the account's change (fail closed). Changes nothing."
#[test]
fn check_session_without_a_session_is_ended_and_writes_nothing() {
    let firm = firm();
    let ann = user("ann");
    let _phone = firm.enroll(&ann);
    let before = firm.mfa.store().events_for(&ann).len();
    let verdict = run(firm.mfa.check_session(&ann, &office())).unwrap();
    assert_eq!(verdict, SessionVerdict::Ended(SessionEnd::AccountChanged));
    assert_eq!(firm.mfa.store().events_for(&ann).len(), before);
}

// src/service/sign_in.rs:50-52: "`true` if the session was remembered now; a context
// without a session, or a session without a tag, changes nothing."
#[test]
fn sign_out_twice_remembers_once() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    let now = START + 120;
    let session = SessionFacts::new(generation, now).tagged(7).active_at(now);
    let context = office().with_session(session);
    assert!(run(firm.mfa.sign_out(&ann, &context)).unwrap());
    assert!(!run(firm.mfa.sign_out(&ann, &context)).unwrap(), "a second sign-out remembered again");
    let untagged = office().with_session(SessionFacts::new(generation, now));
    let events = firm.mfa.store().events().len();
    assert!(!run(firm.mfa.sign_out(&ann, &untagged)).unwrap());
    assert!(!run(firm.mfa.sign_out(&ann, &office())).unwrap());
    assert_eq!(firm.mfa.store().events().len(), events);
}

// src/service/disown.rs:44-45: "a name with no record gets the same answer as a wrong
// token, and nothing is written for it."
#[test]
fn disown_for_an_unknown_user_is_an_invalid_link_and_writes_nothing() {
    let firm = firm();
    let outcome = run(firm.mfa.disown(&user("ghost"), "not-a-token", &office())).unwrap();
    assert_eq!(outcome.err(), Some(Refusal::DisownLinkInvalid));
    assert!(firm.mfa.store().events().is_empty());
    assert!(firm.mfa.store().users().is_empty());
}

// ---------------------------------------------------------------------------------
// Step-up
// ---------------------------------------------------------------------------------

// src/service/step_up.rs:62-68: "the answer is audited under the action's name:
// `host_action_allowed` when it may go ahead ..., and nothing when it asks for a proof
// first ([`StepUp::Prove`]) or the user has no second factor ([`StepUp::EnrollFirst`])."
#[test]
fn host_action_is_audited_once_when_allowed_and_not_when_a_proof_is_asked() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let context = office().in_org(FIRM);
    let before = firm.mfa.store().events_for(&ann).len();
    let answer = run(firm.mfa.step_up_host_action(&ann, "change_bank_details", &context)).unwrap();
    assert!(matches!(answer, StepUp::Proceed { .. }), "{answer:?}");
    let events = firm.mfa.store().events_for(&ann);
    assert_eq!(events.len(), before + 1);
    let allowed = events.last().unwrap();
    assert_eq!(kind_name(&allowed.kind), "host_action_allowed");
    assert_eq!(allowed.outcome, AuditOutcome::Success);
    assert_eq!(allowed.actor, ann);
    assert_eq!(allowed.org().map(|o| o.as_str()), Some(FIRM));

    firm.clock.advance(301);
    let answer = run(firm.mfa.step_up_host_action(&ann, "change_bank_details", &context)).unwrap();
    assert!(matches!(answer, StepUp::Prove { .. }), "{answer:?}");
    assert_eq!(firm.mfa.store().events_for(&ann).len(), before + 1);

    let bob = user("bob");
    let answer = run(firm.mfa.step_up_host_action(&bob, "change_bank_details", &context)).unwrap();
    assert_eq!(answer, StepUp::EnrollFirst);
    assert!(firm.mfa.store().events_for(&bob).is_empty());
}

// src/service/step_up.rs:88-90: "[`Error::InvalidHostAction`] for a name that is not 1
// to 64 printable characters without surrounding spaces ...; nothing is read or
// audited".
#[test]
fn host_action_names_at_the_boundaries() {
    let firm = firm();
    let ann = user("ann");
    let ok = "a".repeat(64);
    assert!(run(firm.mfa.step_up_host_action(&ann, &ok, &office())).is_ok());
    for bad in ["", " pay", "pay ", &"a".repeat(65), "pay\nrun"] {
        let error = run(firm.mfa.step_up_host_action(&ann, bad, &office())).unwrap_err();
        assert!(matches!(error, Error::InvalidHostAction), "{bad:?}: {error:?}");
    }
    assert!(firm.mfa.store().events().is_empty());
}

// README.md:183-184: "need a second factor proved within the last 5 minutes (the
// organisation's `fresh_proof_window`...)"; src/flow/step_up.rs:48 "How long the proof
// counts as fresh, in seconds." The window is half-open: fresh for 300 seconds, from
// the proof's second to 299 seconds after it (the docs do not say which end).
#[test]
fn a_proof_is_fresh_for_exactly_300_seconds() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    firm.clock.advance(299);
    let at_edge = run(firm.mfa.step_up(&ann, SensitiveAction::Host, &office())).unwrap();
    assert!(at_edge.may_proceed(), "{at_edge:?}");
    firm.clock.advance(1);
    let past = run(firm.mfa.step_up(&ann, SensitiveAction::Host, &office())).unwrap();
    assert_eq!(past, StepUp::Prove { methods: vec![Method::Totp], window: 300 });
}

// ---------------------------------------------------------------------------------
// Codes by SMS or e-mail
// ---------------------------------------------------------------------------------

// src/service/destination.rs:59: "Checks a sign-in code sent by SMS or e-mail: valid 10
// minutes, 5 tries, once."; src/flow/destination.rs:135 `Sent::expires_at`: "When the
// code expires." So valid through 599 seconds after the send, expired at `expires_at`.
#[test]
fn a_sent_code_is_valid_for_exactly_ten_minutes() {
    let firm = firm();
    let ann = user("ann");
    let outbox = with_backup_phone(&firm, &ann);
    let sent = run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap().unwrap();
    use mfa_kit::clock::Clock;
    let now = firm.clock.now().unwrap();
    assert_eq!(sent.expires_at, now + 600);
    firm.clock.advance(599);
    let at_edge = run(firm.mfa.verify_sign_in_code(&ann, &outbox.last_code(), &office())).unwrap();
    assert!(at_edge.is_ok(), "{at_edge:?}");
}

#[test]
fn a_sent_code_is_expired_at_its_expiry() {
    let firm = firm();
    let ann = user("ann");
    let outbox = with_backup_phone(&firm, &ann);
    run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap().unwrap();
    firm.clock.advance(600);
    let late = run(firm.mfa.verify_sign_in_code(&ann, &outbox.last_code(), &office())).unwrap();
    assert!(late.is_err(), "{late:?}");
}

#[test]
fn a_sent_code_takes_five_tries_then_is_gone_and_works_once() {
    let firm = firm();
    let ann = user("ann");
    let outbox = with_backup_phone(&firm, &ann);
    run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap().unwrap();
    let code = outbox.last_code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        let refused = run(firm.mfa.verify_sign_in_code(&ann, wrong, &office())).unwrap();
        assert!(refused.is_err());
    }
    // The fifth try is still a try: the right code on it works.
    let fifth = run(firm.mfa.verify_sign_in_code(&ann, &code, &office())).unwrap();
    assert!(fifth.is_ok(), "{fifth:?}");
    let again = run(firm.mfa.verify_sign_in_code(&ann, &code, &office())).unwrap();
    assert!(again.is_err(), "a sent code worked twice");

    firm.clock.advance(120);
    run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap().unwrap();
    let code = outbox.last_code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert!(run(firm.mfa.verify_sign_in_code(&ann, wrong, &office())).unwrap().is_err());
    }
    let sixth = run(firm.mfa.verify_sign_in_code(&ann, &code, &office())).unwrap();
    assert!(sixth.is_err(), "the right code worked after 5 wrong tries");
}

// src/service/destination.rs:45-46: "Sends a sign-in code ...; any code sent before
// stops working."
#[test]
fn a_new_sign_in_code_voids_the_one_before() {
    let firm = firm();
    let ann = user("ann");
    let outbox = with_backup_phone(&firm, &ann);
    run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap().unwrap();
    let first = outbox.last_code();
    firm.clock.advance(60);
    run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap().unwrap();
    let second = outbox.last_code();
    if first != second {
        let old = run(firm.mfa.verify_sign_in_code(&ann, &first, &office())).unwrap();
        assert!(old.is_err(), "the earlier code still works");
    }
    assert!(run(firm.mfa.verify_sign_in_code(&ann, &second, &office())).unwrap().is_ok());
}

// src/flow/destination.rs:55: "10 minutes, 5 tries, one send a minute and 5 an hour"
#[test]
fn sends_are_limited_to_one_a_minute_and_five_an_hour() {
    let firm = firm();
    let ann = user("ann");
    let outbox = with_backup_phone(&firm, &ann);
    // The confirmation code was the first send of the hour.
    for n in 2..=5 {
        let sent = run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap();
        assert!(sent.is_ok(), "send {n}: {sent:?}");
        let too_soon = run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap();
        assert!(matches!(too_soon, Err(Refusal::RateLimited { .. })), "{too_soon:?}");
        firm.clock.advance(60);
    }
    let sixth = run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap();
    assert!(matches!(sixth, Err(Refusal::RateLimited { .. })), "{sixth:?}");
}

// ---------------------------------------------------------------------------------
// Enrollment
// ---------------------------------------------------------------------------------

// README.md:139: "MfaService::restart_enrollment  EnrollmentStart (a new secret, at most
// 5 an hour)"; src/flow/enrollment.rs:62 MAX_STARTS_PER_HOUR = 5.
#[test]
fn five_enrollment_starts_an_hour_and_a_sixth_refused() {
    let firm = firm();
    let ann = user("ann");
    let first = run(firm.mfa.start_enrollment(&ann, "ann@smith.example", &office())).unwrap().unwrap();
    let mut uris = vec![first.uri.to_string()];
    for n in 2..=5 {
        let next = run(firm.mfa.restart_enrollment(&ann, "ann@smith.example", &office())).unwrap();
        let next = next.unwrap_or_else(|r| panic!("start {n} refused: {r:?}"));
        uris.push(next.uri.to_string());
    }
    let sixth = run(firm.mfa.restart_enrollment(&ann, "ann@smith.example", &office())).unwrap();
    assert!(matches!(sixth, Err(Refusal::RateLimited { .. })), "{:?}", sixth.map(|_| ()));
    let distinct: std::collections::BTreeSet<_> = uris.iter().collect();
    assert_eq!(distinct.len(), 5, "each start is a new secret");
    firm.clock.advance(3600);
    assert!(run(firm.mfa.restart_enrollment(&ann, "ann@smith.example", &office())).unwrap().is_ok());
}

// src/service/enrollment.rs:50-51: "(a page reload shows the same QR code and key, and
// writes nothing)"
#[test]
fn a_reload_of_the_enrollment_screen_writes_nothing() {
    let firm = firm();
    let ann = user("ann");
    let first = run(firm.mfa.start_enrollment(&ann, "ann@smith.example", &office())).unwrap().unwrap();
    let events = firm.mfa.store().events_for(&ann).len();
    firm.clock.advance(10);
    let again = run(firm.mfa.start_enrollment(&ann, "ann@smith.example", &office())).unwrap().unwrap();
    assert_eq!(*first.uri, *again.uri);
    assert_eq!(*first.secret_grouped, *again.secret_grouped);
    assert_eq!(first.expires_at, again.expires_at);
    assert_eq!(firm.mfa.store().events_for(&ann).len(), events);
    assert!(!format!("{again:?}").contains(first.secret_grouped.as_str()));
}

// src/service/enrollment.rs:196-198: "without an enrollment in progress the outcome is
// [`Refusal::NoPendingEnrollment`]."
#[test]
fn confirming_without_an_enrollment_is_no_pending_enrollment() {
    let firm = firm();
    let outcome = run(firm.mfa.confirm_enrollment(&user("ghost"), &["123456", "654321"], &office())).unwrap();
    assert_eq!(outcome.err(), Some(Refusal::NoPendingEnrollment));
}

// ---------------------------------------------------------------------------------
// Turning MFA off, reset
// ---------------------------------------------------------------------------------

// src/service/authenticator.rs:97-99: deactivation "Needs `confirmed` ... and a current
// code"; after it the user has no authenticator, so a code is NotEnrolled
// (src/service/authenticator.rs:17-18), and a second deactivation too.
#[test]
fn after_turning_mfa_off_codes_and_a_second_turn_off_are_not_enrolled() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.clock.advance(30);
    let unconfirmed = run(firm.mfa.deactivate(&ann, &phone.code(), false, &office())).unwrap();
    assert_eq!(unconfirmed.err(), Some(Refusal::ConfirmationRequired));
    firm.clock.advance(30);
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    run(firm.mfa.deactivate(&ann, &phone.code(), true, &office())).unwrap().unwrap();
    assert!(run(firm.mfa.generation(&ann)).unwrap() > generation, "MFA turned off moves the generation");
    firm.clock.advance(30);
    let code = run(firm.mfa.verify_code(&ann, &phone.code(), &office())).unwrap();
    assert_eq!(code.err(), Some(Refusal::NotEnrolled));
    let twice = run(firm.mfa.deactivate(&ann, &phone.code(), true, &office())).unwrap();
    assert_eq!(twice.err(), Some(Refusal::NotEnrolled));
    let deactivated = kinds(&firm, &ann).iter().filter(|k| **k == "deactivated").count();
    assert_eq!(deactivated, 1);
}

// src/service/oversight.rs:62-63: "A reset the host does not permit leaves the
// target's record as it is; only the refusal is audited, under `reset.org`."
#[test]
fn a_reset_not_permitted_leaves_the_target_alone_and_audits_one_refusal() {
    let firm = firm();
    let (partner, sarah) = (user("partner"), user("sarah"));
    let partner_phone = firm.enroll(&partner);
    let _sarah_phone = firm.enroll(&sarah);
    firm.prove(&partner, &partner_phone);
    let before = run(firm.mfa.record(&sarah)).unwrap();
    let all_before = firm.mfa.store().events().len();
    let nobody = mfa_kit::service::permissions::from_sync_fn(|_| false);
    let refused = run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &nobody, &office())).unwrap();
    assert_eq!(refused.err(), Some(Refusal::NotPermitted));
    let after = run(firm.mfa.record(&sarah)).unwrap();
    assert_eq!(before, after);
    assert_eq!(firm.mfa.store().events().len(), all_before + 1);
    let new: Vec<_> =
        firm.mfa.store().events().into_iter().filter(|e| kind_name(&e.kind) == "reset_refused").collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(kind_name(&new[0].kind), "reset_refused");
    assert_eq!(new[0].outcome, AuditOutcome::Failure);
    assert_eq!(new[0].actor, partner);
    assert_eq!(new[0].org().map(|o| o.as_str()), Some(FIRM));
}

// src/service/oversight.rs:24-26: "with [`ResetMode::RequireEnrollment`] ... the user must
// enroll again"; README.md:155-156 "what was cleared"; docs/requirements.md R21 "the user
// must enroll again, both methods".
#[test]
fn after_a_reset_the_old_app_recovery_codes_and_devices_no_longer_work() {
    let firm = firm();
    let (partner, sarah) = (user("partner"), user("sarah"));
    let partner_phone = firm.enroll(&partner);
    let sarah_phone = firm.enroll(&sarah);
    let codes = run(firm.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
    firm.prove(&partner, &partner_phone);
    let cleared = run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &office()))
        .unwrap()
        .unwrap();
    assert!(!cleared.is_empty());
    firm.clock.advance(30);
    let code = run(firm.mfa.verify_code(&sarah, &sarah_phone.code(), &office())).unwrap();
    assert_eq!(code.err(), Some(Refusal::NotEnrolled));
    let recovery = run(firm.mfa.redeem_recovery_code(&sarah, codes[1].as_str(), &office())).unwrap();
    assert!(recovery.is_err(), "a recovery code works after the reset");
    let resets =
        firm.mfa.store().events_for(&sarah).iter().filter(|e| kind_name(&e.kind) == "reset_by_admin").count();
    assert_eq!(resets, 1);
    let event = firm
        .mfa
        .store()
        .events_for(&sarah)
        .into_iter()
        .find(|e| kind_name(&e.kind) == "reset_by_admin")
        .unwrap();
    assert_eq!(event.actor, partner);
    assert_eq!(event.org().map(|o| o.as_str()), Some(FIRM));
}

// ---------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------

// src/service/device.rs:13-14: "Its life is `lifetime` seconds, capped by the policy.";
// src/policy/settings.rs:343 "Thirty days" the default cap.
#[test]
fn a_remembered_device_is_capped_at_thirty_days_by_default() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    use mfa_kit::clock::Clock;
    let now = firm.clock.now().unwrap();
    let remembered = run(firm.mfa.remember_device(&ann, "laptop", 365 * 86_400, &office())).unwrap().unwrap();
    assert_eq!(remembered.info.expires_at, now + 30 * 86_400);
    assert!(!format!("{remembered:?}").contains(remembered.token.as_str()));
}

// src/service/device.rs:57-58: "Revokes one remembered device ...; `true` if it existed."
#[test]
fn revoking_a_device_twice_is_true_then_false() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let remembered = run(firm.mfa.remember_device(&ann, "laptop", 86_400, &office())).unwrap().unwrap();
    let request = office().request;
    assert!(run(firm.mfa.revoke_device(&ann, &remembered.info.id, &ann, &request)).unwrap());
    assert!(!run(firm.mfa.revoke_device(&ann, &remembered.info.id, &ann, &request)).unwrap());
    assert!(run(firm.mfa.devices(&ann)).unwrap().is_empty());
}

// src/service/device.rs:84-89: password_changed: "every remembered device is revoked and
// the account's generation moves ... Returns how many devices were revoked."
#[test]
fn password_changed_revokes_devices_counts_them_and_moves_the_generation() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    run(firm.mfa.remember_device(&ann, "laptop", 86_400, &office())).unwrap().unwrap();
    firm.prove(&ann, &phone);
    run(firm.mfa.remember_device(&ann, "desktop", 86_400, &office())).unwrap().unwrap();
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    let request = office().request;
    assert_eq!(run(firm.mfa.password_changed(&ann, &request)).unwrap(), 2);
    let after = run(firm.mfa.generation(&ann)).unwrap();
    assert!(after > generation);
    assert_eq!(run(firm.mfa.password_changed(&ann, &request)).unwrap(), 0);
    assert!(run(firm.mfa.generation(&ann)).unwrap() > after, "each password change moves it");
}

// ---------------------------------------------------------------------------------
// Errors never hold a code or a secret
// ---------------------------------------------------------------------------------

// src/service/error.rs:19: "None of the variants holds a secret or a code, so they are
// safe to log."; src/event.rs:9: "Events never hold a secret, a code or a hash."
#[test]
fn refusals_and_events_of_wrong_and_reused_codes_hold_no_code() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let code = phone.code();
    run(firm.mfa.verify_code(&ann, &code, &office())).unwrap().unwrap();
    let reused = run(firm.mfa.verify_code(&ann, &code, &office())).unwrap().unwrap_err();
    let wrong_code = phone.wrong_code();
    let wrong = run(firm.mfa.verify_code(&ann, &wrong_code, &office())).unwrap().unwrap_err();
    for refusal in [&reused, &wrong] {
        for text in [refusal.to_string(), format!("{refusal:?}")] {
            assert!(!holds(&text, &code) && !holds(&text, &wrong_code), "{text}");
        }
    }
    for event in firm.mfa.store().events_for(&ann) {
        let json = serde_json::to_string(&event).unwrap();
        assert!(!holds(&json, &code) && !holds(&json, &wrong_code), "{json}");
    }
}

#[test]
fn an_imported_key_refused_is_not_repeated_in_the_refusal() {
    let firm = firm();
    let ann = user("ann");
    let short = "JBSWY3DPEHPK3PXP"; // 80 bits: too short
    let refused = run(firm.mfa.import_authenticator(&ann, short, &office())).unwrap().unwrap_err();
    assert_eq!(refused, Refusal::InvalidKey);
    for text in [refused.to_string(), format!("{refused:?}")] {
        assert!(!text.contains(short), "{text}");
    }
    let uri = "otpauth://totp/X:ann?secret=JBSWY3DPEHPK3PXP&issuer=X";
    let refused = run(firm.mfa.import_authenticator(&ann, uri, &office())).unwrap().unwrap_err();
    assert!(!format!("{refused} {refused:?}").contains("JBSWY3DP"));
}

#[test]
fn a_failing_sender_error_holds_no_code() {
    let firm = firm();
    let ann = user("ann");
    let outbox = with_backup_phone(&firm, &ann);
    let confirmation = outbox.last_code();
    outbox.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let error = run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap_err();
    assert!(matches!(error, Error::Sender(_)), "{error:?}");
    let text = format!("{error} {error:?}");
    assert!(!text.contains(&confirmation), "{text}");
    assert!(!text.contains("412 345 678") && !text.contains("412345678"), "{text}");
}

#[test]
fn an_account_name_with_a_colon_is_invalid_account_name() {
    let firm = firm();
    let error = run(firm.mfa.start_enrollment(&user("ann"), "ann:evil", &office())).unwrap_err();
    assert!(matches!(error, Error::InvalidAccountName(_)), "{error:?}");
}

// ---------------------------------------------------------------------------------
// MemoryStore
// ---------------------------------------------------------------------------------

// src/store/memory.rs:247: "Every user with a record, sorted."; :300 "The audit events
// about `user`, oldest first."
#[test]
fn memory_store_lists_users_sorted_and_events_oldest_first() {
    let firm = firm();
    for name in ["zoe", "ann", "mia"] {
        firm.enroll(&user(name));
    }
    let users: Vec<String> = firm.mfa.store().users().iter().map(|u| u.to_string()).collect();
    assert_eq!(users, ["ann", "mia", "zoe"]);
    let events = firm.mfa.store().events_for(&user("ann"));
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
    assert_eq!(kind_name(&events[0].kind), "enrollment_started");
}

// ---------------------------------------------------------------------------------
// Sessions follow the account: every listed change moves the generation by one
// ---------------------------------------------------------------------------------

fn generation<S: mfa_kit::store::Store>(firm: &Firm<S>, who: &mfa_kit::UserId) -> u64 {
    run(firm.mfa.generation(who)).unwrap()
}

// README.md:213-218: "The record's generation (`UserRecord::generation`) moves on every
// change of how the account is protected: an admin reset; an authenticator, a
// confirmed destination or a set of recovery codes added, replaced or removed; MFA
// turned off; `MfaService::password_changed`; ..." and README.md:219-221 "after its own
// successful change it reads the generation again and keeps it if it moved by one
// step"; src/flow/session.rs:103-104 "since a change moves it once".
#[test]
fn each_change_of_protection_moves_the_generation_by_exactly_one() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);

    // Recovery codes added, then replaced.
    firm.prove(&ann, &phone);
    let g = generation(&firm, &ann);
    run(firm.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    assert_eq!(generation(&firm, &ann), g + 1, "recovery codes added");
    let g = g + 1;
    run(firm.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    assert_eq!(generation(&firm, &ann), g + 1, "recovery codes replaced");

    // A destination confirmed, then removed.
    let outbox = Outbox::default();
    firm.prove(&ann, &phone);
    run(firm.mfa.add_destination(&ann, phone_number(), Role::Backup, &outbox, &office())).unwrap().unwrap();
    let g = generation(&firm, &ann);
    run(firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office())).unwrap().unwrap();
    assert_eq!(generation(&firm, &ann), g + 1, "a destination confirmed");
    firm.prove(&ann, &phone);
    let g = generation(&firm, &ann);
    assert!(run(firm.mfa.remove_destination(&ann, Role::Backup, &office())).unwrap().unwrap());
    assert_eq!(generation(&firm, &ann), g + 1, "a destination removed");
    assert!(!run(firm.mfa.remove_destination(&ann, Role::Backup, &office())).unwrap().unwrap());
    assert_eq!(generation(&firm, &ann), g + 1, "removing nothing changes nothing");

    // A second authenticator added, then removed.
    firm.prove(&ann, &phone);
    let start =
        run(firm.mfa.add_authenticator(&ann, "desk", "ann@smith.example", &office())).unwrap().unwrap();
    let desk = Phone::scan(&start.uri, &firm.clock);
    let first = desk.code();
    firm.clock.advance(30);
    let second = desk.code();
    let g = generation(&firm, &ann);
    run(firm.mfa.confirm_enrollment(&ann, &[&first, &second], &office())).unwrap().unwrap();
    assert_eq!(generation(&firm, &ann), g + 1, "an authenticator added");
    let list = run(firm.mfa.authenticators(&ann)).unwrap();
    assert_eq!(list.len(), 2);
    firm.prove(&ann, &phone);
    let g = generation(&firm, &ann);
    let desk_id = list.iter().find(|a| a.name == "desk").unwrap().id.clone();
    assert!(run(firm.mfa.remove_authenticator(&ann, &desk_id, &office())).unwrap().unwrap());
    assert_eq!(generation(&firm, &ann), g + 1, "an authenticator removed");

    // The password changed, and MFA turned off.
    let g = generation(&firm, &ann);
    run(firm.mfa.password_changed(&ann, &office().request)).unwrap();
    assert_eq!(generation(&firm, &ann), g + 1, "password changed");
    firm.clock.advance(30);
    let g = generation(&firm, &ann);
    run(firm.mfa.deactivate(&ann, &phone.code(), true, &office())).unwrap().unwrap();
    assert_eq!(generation(&firm, &ann), g + 1, "MFA turned off");
}

#[test]
fn an_admin_reset_and_a_new_phone_move_the_generation_by_exactly_one() {
    let firm = firm();
    let (partner, sarah) = (user("partner"), user("sarah"));
    let partner_phone = firm.enroll(&partner);
    let sarah_phone = firm.enroll(&sarah);
    run(firm.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();

    // A new phone replaces the old app.
    firm.prove(&sarah, &sarah_phone);
    let start = run(firm.mfa.start_enrollment(&sarah, "sarah@smith.example", &office())).unwrap().unwrap();
    let new_phone = Phone::scan(&start.uri, &firm.clock);
    let first = new_phone.code();
    firm.clock.advance(30);
    let second = new_phone.code();
    let g = generation(&firm, &sarah);
    run(firm.mfa.confirm_enrollment(&sarah, &[&first, &second], &office())).unwrap().unwrap();
    assert_eq!(generation(&firm, &sarah), g + 1, "an authenticator replaced");

    firm.prove(&partner, &partner_phone);
    let g = generation(&firm, &sarah);
    run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &office())).unwrap().unwrap();
    assert_eq!(generation(&firm, &sarah), g + 1, "an admin reset clearing app, codes and more");
}

fn phone_number() -> mfa_kit::Destination {
    common::phone()
}

// README.md:221-223: "Every proof and change from an ended session is refused inside the
// transitions too (`Refusal::SessionEnded`), so a request racing the change still
// changes nothing."
#[test]
fn a_code_from_a_session_ended_by_a_password_change_is_refused() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    use mfa_kit::clock::Clock;
    let now = firm.clock.now().unwrap();
    let old = office().with_session(SessionFacts::new(generation(&firm, &ann), now).active_at(now));
    run(firm.mfa.password_changed(&ann, &office().request)).unwrap();
    firm.clock.advance(30);
    let refused = run(firm.mfa.verify_code(&ann, &phone.code(), &old)).unwrap();
    assert!(matches!(refused, Err(Refusal::SessionEnded(_))), "{refused:?}");
    let verdict = run(firm.mfa.check_session(&ann, &old)).unwrap();
    assert_eq!(verdict, SessionVerdict::Ended(SessionEnd::AccountChanged));
}

// src/service/step_up.rs:64-65: "`host_action_refused` when the session has ended"
#[test]
fn a_host_action_from_an_ended_session_is_refused_and_audited_once() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    use mfa_kit::clock::Clock;
    let now = firm.clock.now().unwrap();
    let old = office()
        .in_org(FIRM)
        .with_session(SessionFacts::new(generation(&firm, &ann), now).active_at(now).proved_at(now));
    run(firm.mfa.password_changed(&ann, &office().request)).unwrap();
    let before = firm.mfa.store().events_for(&ann).len();
    let answer = run(firm.mfa.step_up_host_action(&ann, "approve_pay_run", &old)).unwrap();
    assert!(matches!(answer, StepUp::SignInAgain(_)), "{answer:?}");
    let events = firm.mfa.store().events_for(&ann);
    assert_eq!(events.len(), before + 1, "{events:?}");
    let refused = events.last().unwrap();
    assert_eq!(kind_name(&refused.kind), "host_action_refused");
    assert_eq!(refused.outcome, AuditOutcome::Failure);
    assert_eq!(refused.org().map(|o| o.as_str()), Some(FIRM));
}

// ---------------------------------------------------------------------------------
// What the README's table says a call returns
// ---------------------------------------------------------------------------------

// README.md:150: "MfaService::send_sign_in_code(sender)  Sent (to •••678, expiry)";
// src/flow/destination.rs:133 `Sent::to` "The destination, masked, for the screen ("we
// sent a code to •••678")". Low severity (the text a host shows): the number's every
// character but the last three becomes a bullet, so +61 412 345 678 is "•••••••••678",
// and `Destination::masked`'s own doc (src/vocabulary/destination.rs:243) shows a third
// form, "•••••••678".
#[test]
fn a_sent_code_names_the_destination_masked_as_the_readme_shows() {
    let firm = firm();
    let ann = user("ann");
    let outbox = with_backup_phone(&firm, &ann);
    let sent = run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap().unwrap();
    assert_eq!(sent.to, "•••678");
}

// README.md:145: "MfaService::rename_authenticator(id, name)  bool (apps and keys alike)";
// src/service/security_key.rs:141-143 "`Ok(false)` if the user has none with that id.
// Audited as `authenticator_renamed`."
#[test]
fn renaming_an_app_is_true_and_an_unknown_id_false() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let id = run(firm.mfa.authenticators(&ann)).unwrap()[0].id.clone();
    assert!(run(firm.mfa.rename_authenticator(&ann, &id, "work phone", &office())).unwrap().unwrap());
    assert_eq!(run(firm.mfa.authenticators(&ann)).unwrap()[0].name, "work phone");
    let before = firm.mfa.store().events_for(&ann).len();
    assert!(!run(firm.mfa.rename_authenticator(&ann, "no-such-id", "x", &office())).unwrap().unwrap());
    assert_eq!(firm.mfa.store().events_for(&ann).len(), before);
    assert_eq!(kinds(&firm, &ann).iter().filter(|k| **k == "authenticator_renamed").count(), 1);
}

// src/service/authenticator.rs:72-74: "Removes one of the user's authenticators by its
// id ...; `Ok(false)` if the user has none with that id."
#[test]
fn removing_an_unknown_authenticator_is_false_and_writes_nothing() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let before = firm.mfa.store().events_for(&ann).len();
    let removed = run(firm.mfa.remove_authenticator(&ann, "no-such-id", &office())).unwrap();
    assert_eq!(removed, Ok(false));
    assert_eq!(firm.mfa.store().events_for(&ann).len(), before);
}

// src/service/enrollment.rs:217-218: "The secret must be at least 128 bits."
// (src/flow/enrollment.rs:195 MIN_IMPORTED_SECRET_BYTES = 16) "Audited as
// `AuthenticatorImported`." "The user's next code sets the replay floor."
#[test]
fn an_imported_key_of_exactly_128_bits_is_taken_and_120_bits_refused() {
    use mfa_kit::otp::{Secret, Totp, TotpParams};
    let firm = firm();
    let ann = user("ann");
    let short = Secret::from_bytes(&[7u8; 15]).unwrap();
    let refused = run(firm.mfa.import_authenticator(&ann, &short.to_base32(), &office())).unwrap();
    assert_eq!(refused, Err(Refusal::InvalidKey));
    let secret = Secret::from_bytes(&[7u8; 16]).unwrap();
    run(firm.mfa.import_authenticator(&ann, &secret.to_base32(), &office())).unwrap().unwrap();
    assert_eq!(kinds(&firm, &ann).iter().filter(|k| **k == "authenticator_imported").count(), 1);
    let totp = Totp::new(&secret, TotpParams::DEFAULT);
    use mfa_kit::clock::Clock;
    let code = totp.generate(firm.clock.now().unwrap()).unwrap().to_string();
    assert!(run(firm.mfa.verify_code(&ann, &code, &office())).unwrap().is_ok());
    assert!(matches!(
        run(firm.mfa.verify_code(&ann, &code, &office())).unwrap(),
        Err(Refusal::CodeReused { .. })
    ));
}

// src/service/enrollment.rs:249-251: reseal "Returns whether anything was re-sealed."
#[test]
fn resealing_a_user_without_secrets_is_false_and_writes_nothing() {
    let firm = firm();
    let ghost = user("ghost");
    assert!(!run(firm.mfa.reseal(&ghost)).unwrap());
    assert!(firm.mfa.store().events().is_empty());
    assert!(firm.mfa.store().users().is_empty());
}

// README.md:158: "admin user list -> MfaService::status_list(users, context)  who has
// MFA ..., since when, last used, locked"
#[test]
fn status_list_rows_say_who_has_mfa_since_when_last_used_and_locked() {
    let firm = firm();
    let (ann, bob) = (user("ann"), user("bob"));
    use mfa_kit::clock::Clock;
    let enrolled_at = firm.clock.now().unwrap();
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let used_at = firm.clock.now().unwrap();
    let rows = run(firm.mfa.status_list([&ann, &bob], &office()));
    assert_eq!(rows.len(), 2);
    let ann_row = rows[0].1.as_ref().unwrap();
    assert!(ann_row.mfa);
    assert!(ann_row.enrolled_since.is_some_and(|t| t >= enrolled_at && t <= used_at));
    assert_eq!(ann_row.last_used, Some(used_at));
    assert_eq!(ann_row.locked_until, None);
    let bob_row = rows[1].1.as_ref().unwrap();
    assert!(!bob_row.mfa);
    assert_eq!(bob_row.enrolled_since, None);
}

// ---------------------------------------------------------------------------------
// The audit trail: filed under the organisation, pushed to the sink once
// ---------------------------------------------------------------------------------

/// A busy day for a firm: enrollment, sign-ins, a wrong and a replayed code, a backup
/// phone and a sent code, recovery codes, a remembered device, a host action, a
/// password change and an admin's reset, all made in the firm's organisation.
fn busy_day(firm: &Firm) -> (mfa_kit::UserId, mfa_kit::UserId) {
    let (partner, sarah) = (user("partner"), user("sarah"));
    let context = office().in_org(FIRM);
    let partner_phone = enroll_in(firm, &partner, &context);
    let sarah_phone = enroll_in(firm, &sarah, &context);
    run(async {
        let code = sarah_phone.code();
        firm.mfa.verify_code(&sarah, &code, &context).await.unwrap().unwrap();
        let _ = firm.mfa.verify_code(&sarah, &code, &context).await.unwrap();
        let _ = firm.mfa.verify_code(&sarah, &sarah_phone.wrong_code(), &context).await.unwrap();
        let outbox = Outbox::default();
        firm.mfa
            .add_destination(&sarah, common::phone(), Role::Backup, &outbox, &context)
            .await
            .unwrap()
            .unwrap();
        firm.mfa.confirm_destination(&sarah, &outbox.last_code(), &context).await.unwrap().unwrap();
        firm.clock.advance(60);
        firm.mfa.send_sign_in_code(&sarah, Role::Backup, &outbox, &context).await.unwrap().unwrap();
        firm.mfa.verify_sign_in_code(&sarah, &outbox.last_code(), &context).await.unwrap().unwrap();
        firm.mfa.generate_recovery_codes(&sarah, &context).await.unwrap().unwrap();
        firm.mfa.remember_device(&sarah, "laptop", 86_400, &context).await.unwrap().unwrap();
        firm.mfa.step_up_host_action(&sarah, "change_bank_details", &context).await.unwrap();
        firm.mfa.password_changed(&sarah, &context.request).await.unwrap();
        firm.clock.advance(30);
        firm.mfa.verify_code(&partner, &partner_phone.code(), &context).await.unwrap().unwrap();
        firm.mfa
            .reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &context)
            .await
            .unwrap()
            .unwrap();
    });
    (partner, sarah)
}

// README.md:277-279: "give each request its organisation (`SignInContext::in_org`...) and
// every audit event it causes is filed under it"; src/event.rs:11: "An [`AuditSink`] may
// also receive each event once it is stored"; src/service/builder.rs:69-71 "Where stored
// audit events are pushed too, as a feed".
#[test]
fn every_event_of_a_busy_day_is_filed_under_the_firm_and_pushed_once() {
    let firm = firm();
    let (partner, sarah) = busy_day(&firm);
    let stored = firm.mfa.store().events();
    let pushed = firm.audit.events();
    assert!(stored.len() > 20, "{}", stored.len());
    assert_eq!(stored.len(), pushed.len(), "the sink and the store disagree");
    let json = |e: &mfa_kit::event::AuditEvent| serde_json::to_string(e).unwrap();
    let mut a: Vec<String> = stored.iter().map(json).collect();
    let mut b: Vec<String> = pushed.iter().map(json).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    for event in &stored {
        assert_eq!(event.org().map(|o| o.as_str()), Some(FIRM), "{}", json(event));
    }
    let resets: Vec<_> = stored.iter().filter(|e| kind_name(&e.kind) == "reset_by_admin").collect();
    assert_eq!(resets.len(), 1);
    assert_eq!((&resets[0].user, &resets[0].actor), (&sarah, &partner));
}

// README.md:277-279 (continued) "... and the records it changes are listed under it";
// src/event.rs:591-593 "The organisation the event is filed under: its request's
// ([`RequestContext::org`]), or for a request made in none, that of the user's record."
#[test]
fn a_later_request_without_an_organisation_is_filed_under_the_records() {
    let firm = firm();
    let ann = user("ann");
    let phone = enroll_in(&firm, &ann, &office().in_org(FIRM));
    run(firm.mfa.verify_code(&ann, &phone.code(), &office())).unwrap().unwrap();
    let last = firm.mfa.store().events_for(&ann).pop().unwrap();
    assert_eq!(kind_name(&last.kind), "code_accepted");
    assert_eq!(last.org().map(|o| o.as_str()), Some(FIRM));
    assert_eq!(last.outcome, AuditOutcome::Success);
}

// ---------------------------------------------------------------------------------
// Lockout
// ---------------------------------------------------------------------------------

// docs/requirements.md R15 "ATO's Operational Security Framework asks for a lockout after
// 5 failed attempts"; src/vocabulary/reason.rs:256-258 "5 failures, 15 minutes doubling
// up to a day".
#[test]
fn the_fifth_wrong_code_locks_for_fifteen_minutes_and_the_lockout_is_audited_once() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let wrong = phone.wrong_code();
    for n in 1..=4 {
        let refused = run(firm.mfa.verify_code(&ann, &wrong, &office())).unwrap();
        assert!(matches!(refused, Err(Refusal::WrongCode { .. })), "try {n}: {refused:?}");
    }
    let fifth = run(firm.mfa.verify_code(&ann, &wrong, &office())).unwrap();
    assert!(
        matches!(fifth, Err(Refusal::LockedOut { .. } | Refusal::WrongCode { attempts_left: 0 })),
        "{fifth:?}"
    );
    use mfa_kit::clock::Clock;
    let locked_at = firm.clock.now().unwrap();
    let right = run(firm.mfa.verify_code(&ann, &phone.code(), &office())).unwrap();
    assert!(matches!(right, Err(Refusal::LockedOut { .. })), "{right:?}");
    let decision = run(firm.mfa.sign_in_decision(&ann, &office())).unwrap();
    assert!(matches!(decision, Err(Refusal::LockedOut { .. })), "{decision:?}");
    let started: Vec<_> = firm
        .mfa
        .store()
        .events_for(&ann)
        .into_iter()
        .filter(|e| kind_name(&e.kind) == "lockout_started")
        .collect();
    assert_eq!(started.len(), 1);
    let status = run(firm.mfa.status(&ann, &office())).unwrap();
    assert_eq!(status.locked_until, Some(locked_at + 900));
    firm.clock.advance(900);
    let after = run(firm.mfa.verify_code(&ann, &phone.code(), &office())).unwrap();
    assert!(after.is_ok(), "{after:?}");
}

// ---------------------------------------------------------------------------------
// Remembered devices under caps
// ---------------------------------------------------------------------------------

// src/policy/settings.rs:196-197 "0 turns remembered devices off";
// src/policy/settings.rs:540 `Preset::REMEMBER_CAP` "12 hours".
#[test]
fn remembered_devices_off_and_capped_at_twelve_hours_under_the_ato_preset() {
    use mfa_kit::policy::Preset;
    use std::sync::Arc;
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let off = office().with_org(Arc::new(OrgSettings::builder().remember_device_max(0).build().unwrap()));
    let refused = run(firm.mfa.remember_device(&ann, "laptop", 3600, &off)).unwrap();
    assert_eq!(refused.err(), Some(Refusal::RememberDisabled));
    let ato = office().with_org(Arc::new(
        OrgSettings::builder().presets(vec![Preset::AtoOperationalSecurity]).build().unwrap(),
    ));
    use mfa_kit::clock::Clock;
    let now = firm.clock.now().unwrap();
    let remembered = run(firm.mfa.remember_device(&ann, "laptop", 30 * 86_400, &ato)).unwrap().unwrap();
    assert_eq!(remembered.info.expires_at, now + 12 * 3600);
}

// src/service/device.rs:34-37: "The user's remembered devices that are still valid: not
// expired, and within the deployment's cap on remembered devices (a cap tightened since
// applies at once ...)".
#[test]
fn a_deployment_cap_tightened_since_applies_at_once_to_the_device_list() {
    use mfa_kit::policy::StandardPolicy;
    use std::sync::Arc;
    let store = Arc::new(MemoryStore::new());
    let lax = firm_with(store.clone(), |b| b);
    let ann = user("ann");
    let phone = lax.enroll(&ann);
    lax.prove(&ann, &phone);
    run(lax.mfa.remember_device(&ann, "laptop", 30 * 86_400, &office())).unwrap().unwrap();
    lax.clock.advance(13 * 3600);
    let strict = firm_with(store.clone(), |b| b.policy(StandardPolicy::ato_tax_data()));
    {
        use mfa_kit::clock::Clock;
        strict.clock.set(lax.clock.now().unwrap());
    }
    assert_eq!(run(lax.mfa.devices(&ann)).unwrap().len(), 1);
    assert!(run(strict.mfa.devices(&ann)).unwrap().is_empty());
}

// ---------------------------------------------------------------------------------
// Retention
// ---------------------------------------------------------------------------------

// src/service/retention.rs:36-38: "if the store refuses it ... (a run again deletes
// nothing more and writes no event)"; src/service/retention.rs:32-34 "A pruning that
// deleted anything is itself audited ...: `audit_pruned` with `before` and the count".
#[test]
fn pruning_twice_deletes_and_audits_once() {
    let firm = firm();
    let ann = user("ann");
    let context = office().in_org(FIRM);
    let _phone = enroll_in(&firm, &ann, &context);
    firm.clock.advance(10 * 86_400);
    use mfa_kit::clock::Clock;
    let before = firm.clock.now().unwrap() - 86_400;
    let kept = firm.mfa.store().events().len();
    let admin = user("retention-job");
    let deleted = run(firm.mfa.prune_audit(before, &admin, &context)).unwrap();
    assert_eq!(deleted as usize, kept);
    let again = run(firm.mfa.prune_audit(before, &admin, &context)).unwrap();
    assert_eq!(again, 0);
    let events = firm.mfa.store().events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(kind_name(&events[0].kind), "audit_pruned");
    assert_eq!(events[0].actor, admin);
    assert_eq!(events[0].org().map(|o| o.as_str()), Some(FIRM));
}

// README.md:281-282: "`MfaService::prune_audit` prunes one organisation's trail and
// refuses to touch the 12 months the ATO preset keeps."; src/service/error.rs
// RetentionRequired: "Nothing was deleted."
#[test]
fn pruning_inside_the_ato_twelve_months_is_refused_and_deletes_nothing() {
    use mfa_kit::policy::Preset;
    use std::sync::Arc;
    let firm = firm();
    let ann = user("ann");
    let settings = OrgSettings::builder().presets(vec![Preset::AtoOperationalSecurity]).build().unwrap();
    let context = office().in_org(FIRM).with_org(Arc::new(settings));
    let _phone = enroll_in(&firm, &ann, &context);
    firm.clock.advance(300 * 86_400);
    use mfa_kit::clock::Clock;
    let now = firm.clock.now().unwrap();
    let kept = firm.mfa.store().events().len();
    let error = run(firm.mfa.prune_audit(now - 299 * 86_400, &user("job"), &context)).unwrap_err();
    assert!(matches!(error, Error::RetentionRequired { .. }), "{error:?}");
    assert!(error.to_string().contains("366 days"), "{error}");
    assert_eq!(firm.mfa.store().events().len(), kept);
}

// ---------------------------------------------------------------------------------
// Recovery codes running low
// ---------------------------------------------------------------------------------

// src/flow/recovery.rs:45-46: "At or below this many unused codes [2] the user is warned
// (an audit event)."
#[test]
fn the_low_warning_comes_when_two_codes_are_left_not_before() {
    let firm = firm();
    let ann = user("ann");
    let _phone = firm.enroll(&ann);
    let codes = run(firm.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    for (used, code) in codes.iter().enumerate().take(8) {
        firm.clock.advance(1);
        run(firm.mfa.redeem_recovery_code(&ann, code.as_str(), &office())).unwrap().unwrap();
        let low = kinds(&firm, &ann).iter().filter(|k| **k == "recovery_codes_low").count();
        let left = 10 - (used + 1);
        assert_eq!(low > 0, left <= 2, "{left} left, {low} warnings");
    }
}

// ---------------------------------------------------------------------------------
// Fresh proof before every change of how the account is protected
// ---------------------------------------------------------------------------------

// README.md:181-186: "A signed-in session is not enough to change how an account is
// protected. Replacing, adding or removing an authenticator, adding or removing a phone
// or address, new recovery codes, remembering a device, and an admin's reset or settings
// change each need a second factor proved within the last 5 minutes ...; without one
// the call is refused with `Refusal::FreshProofRequired`."
// Here: every such call of the user's own, an hour after the last proof.
#[test]
fn every_change_of_protection_needs_a_fresh_proof() {
    let firm = firm();
    let ann = user("ann");
    let _outbox = with_backup_phone(&firm, &ann);
    firm.clock.advance(3600);
    let g = generation(&firm, &ann);
    let context = office();
    let outbox = Outbox::default();
    let id = run(firm.mfa.authenticators(&ann)).unwrap()[0].id.clone();
    let email = mfa_kit::Destination::email("ann@smith.example").unwrap();
    let answers: Vec<(&str, Option<Refusal>)> = run(async {
        vec![
            ("start_enrollment", firm.mfa.start_enrollment(&ann, "ann@x", &context).await.unwrap().err()),
            ("restart_enrollment", firm.mfa.restart_enrollment(&ann, "ann@x", &context).await.unwrap().err()),
            (
                "add_authenticator",
                firm.mfa.add_authenticator(&ann, "desk", "ann@x", &context).await.unwrap().err(),
            ),
            ("remove_authenticator", firm.mfa.remove_authenticator(&ann, &id, &context).await.unwrap().err()),
            (
                "add_destination",
                firm.mfa.add_destination(&ann, email, Role::Primary, &outbox, &context).await.unwrap().err(),
            ),
            (
                "remove_destination",
                firm.mfa.remove_destination(&ann, Role::Backup, &context).await.unwrap().err(),
            ),
            (
                "generate_recovery_codes",
                firm.mfa.generate_recovery_codes(&ann, &context).await.unwrap().err(),
            ),
            (
                "remember_device",
                firm.mfa.remember_device(&ann, "laptop", 3600, &context).await.unwrap().err(),
            ),
        ]
    });
    for (call, refusal) in answers {
        // The app is her only counted factor (a backup phone is not one), so its
        // removal may be refused as the last factor first.
        if call == "remove_authenticator" && refusal == Some(Refusal::LastFactor) {
            continue;
        }
        assert_eq!(refusal, Some(Refusal::FreshProofRequired), "{call}");
    }
    assert_eq!(outbox.count(), 0);
    assert_eq!(generation(&firm, &ann), g);
}

// The same README sentence (README.md:181-184: "adding ... an authenticator ... need[s] a
// second factor proved within the last 5 minutes"), for the README table's "migration
// from elsewhere -> MfaService::import_authenticator(key)" (README.md:140): a stale
// session cannot slip a key of its own into an enrolled account (the import is refused
// outright for a user who has MFA, as `AlreadyEnrolled`, which the import's rustdoc at
// src/service/enrollment.rs:213-223 does not mention).
#[test]
fn a_stale_session_cannot_import_a_key_into_an_enrolled_account() {
    use mfa_kit::otp::Secret;
    let firm = firm();
    let ann = user("ann");
    let _phone = firm.enroll(&ann);
    firm.clock.advance(3600);
    let g = generation(&firm, &ann);
    let attacker_key = Secret::from_bytes(&[9u8; 20]).unwrap();
    let outcome = run(firm.mfa.import_authenticator(&ann, &attacker_key.to_base32(), &office())).unwrap();
    assert!(
        matches!(outcome, Err(Refusal::FreshProofRequired | Refusal::AlreadyEnrolled)),
        "a stale session imported a key: {outcome:?}"
    );
    assert_eq!(run(firm.mfa.authenticators(&ann)).unwrap().len(), 1);
    assert_eq!(generation(&firm, &ann), g);
}

// ---------------------------------------------------------------------------------
// Organisation settings kept in the store
// ---------------------------------------------------------------------------------

// src/service/oversight.rs:188-191: "An organisation whose settings were never changed
// through [`MfaService::change_stored_org_settings`] has `OrgSettings::default()`";
// src/service/oversight.rs:208-212: "a refusal changes nothing and is audited. The
// `org_settings_changed` event holds the settings it replaced as stored, and is stored
// if and only if the change is".
#[test]
fn stored_settings_changes_are_audited_once_with_the_old_settings() {
    use mfa_kit::policy::Level;
    let firm = firm();
    let partner = user("partner");
    let context = office().in_org(FIRM);
    let phone = enroll_in(&firm, &partner, &context);
    assert_eq!(run(firm.mfa.org_settings(FIRM)).unwrap(), OrgSettings::default());

    // Refused by the host: nothing saved, one refusal audited.
    let nobody = mfa_kit::service::permissions::from_sync_fn(|_| false);
    let refused = run(firm.mfa.change_stored_org_settings(FIRM, &partner, &nobody, &context, |s| {
        s.clone().with_level("practitioner", Level::Mandatory)
    }))
    .unwrap();
    assert_eq!(refused.err(), Some(Refusal::NotPermitted));
    assert_eq!(run(firm.mfa.org_settings(FIRM)).unwrap(), OrgSettings::default());

    // Permitted, with a fresh proof: saved, one change audited with the old settings.
    run(firm.mfa.verify_code(&partner, &phone.code(), &context)).unwrap().unwrap();
    let mut calls = 0;
    let saved = run(firm.mfa.change_stored_org_settings(FIRM, &partner, &permitted(), &context, |s| {
        calls += 1;
        s.clone().with_level("practitioner", Level::Mandatory)
    }))
    .unwrap()
    .unwrap();
    assert_eq!(calls, 1);
    assert_eq!(saved.level_for(Some("practitioner")), Level::Mandatory);
    assert_eq!(run(firm.mfa.org_settings(FIRM)).unwrap(), saved);

    let events = firm.mfa.store().events_for(&partner);
    let refusals: Vec<_> = events.iter().filter(|e| e.kind.name() == "org_settings_change_refused").collect();
    let changes: Vec<_> = events.iter().filter(|e| e.kind.name() == "org_settings_changed").collect();
    assert_eq!((refusals.len(), changes.len()), (1, 1));
    assert_eq!(refusals[0].outcome, AuditOutcome::Failure);
    assert_eq!(refusals[0].org().map(|o| o.as_str()), Some(FIRM));
    let EventKind::OrgSettingsChanged { org, old, new } = &changes[0].kind else { unreachable!() };
    assert_eq!(org, FIRM);
    assert_eq!(**old, OrgSettings::default());
    assert_eq!(**new, saved);
    assert_eq!(changes[0].actor, partner);
}

// src/service/oversight.rs:105-106 (change_org_settings): "a refused change calls no
// `save`"; "only once it returned `Ok` is the change audited".
#[test]
fn a_host_kept_settings_change_without_a_fresh_proof_calls_no_save() {
    use mfa_kit::flow::oversight::SettingsChange;
    let firm = firm();
    let partner = user("partner");
    let context = office().in_org(FIRM);
    let _phone = enroll_in(&firm, &partner, &context);
    firm.clock.advance(3600);
    let current = OrgSettings::default();
    let change = SettingsChange::new(
        FIRM,
        &partner,
        &current,
        current.clone().with_level("x", mfa_kit::policy::Level::Mandatory),
    );
    let saved = std::cell::Cell::new(false);
    let outcome = run(firm.mfa.change_org_settings(change, &permitted(), &context, |_| {
        saved.set(true);
        async { Ok::<(), std::io::Error>(()) }
    }))
    .unwrap();
    assert_eq!(outcome.err(), Some(Refusal::FreshProofRequired));
    assert!(!saved.get());
    assert!(!kinds(&firm, &partner).contains(&"org_settings_changed"));
}

// src/service/error.rs OrgMismatch / src/service/oversight.rs:62-63: "a `context` made in
// another organisation is [`Error::OrgMismatch`] (nothing is asked, changed or audited)"
#[test]
fn a_reset_in_another_organisations_context_asks_nothing_and_writes_nothing() {
    let firm = firm();
    let (partner, sarah) = (user("partner"), user("sarah"));
    let phone = firm.enroll(&partner);
    firm.enroll(&sarah);
    firm.prove(&partner, &phone);
    let events = firm.mfa.store().events().len();
    let asked = std::sync::atomic::AtomicBool::new(false);
    let check = mfa_kit::service::permissions::from_sync_fn(|_| {
        asked.store(true, std::sync::atomic::Ordering::SeqCst);
        true
    });
    let error = run(firm.mfa.reset(reset_of(&partner, &sarah, "lost"), &check, &office().in_org("other-co")))
        .unwrap_err();
    assert!(matches!(error, Error::OrgMismatch { .. }), "{error:?}");
    assert!(!asked.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(firm.mfa.store().events().len(), events);
}

// ---------------------------------------------------------------------------------
// Refused enrollment starts
// ---------------------------------------------------------------------------------

// src/event.rs:41: "`enrollment_refused` | `refusal` (the refusal's stable code:
// `fresh_proof_required`, `locked_out`, `address_not_allowed`, `rate_limited`, ...)";
// src/service/enrollment.rs:50-54 "A user who has MFA needs a fresh proof."
#[test]
fn a_refused_enrollment_start_is_audited_once() {
    let firm = firm();
    let ann = user("ann");
    let _phone = firm.enroll(&ann);
    firm.clock.advance(3600);
    for call in ["start", "restart"] {
        let before = kinds(&firm, &ann).iter().filter(|k| **k == "enrollment_refused").count();
        let outcome = match call {
            "start" => run(firm.mfa.start_enrollment(&ann, "ann@x", &office())).unwrap(),
            _ => run(firm.mfa.restart_enrollment(&ann, "ann@x", &office())).unwrap(),
        };
        assert_eq!(outcome.err(), Some(Refusal::FreshProofRequired), "{call}");
        let after = kinds(&firm, &ann).iter().filter(|k| **k == "enrollment_refused").count();
        assert_eq!(after, before + 1, "{call}");
    }
}

// ---------------------------------------------------------------------------------
// Every stored event's outcome follows from its kind
// ---------------------------------------------------------------------------------

// src/event.rs:598-599: "The event of `kind` ...; the outcome follows from the kind."
// docs/requirements.md R24: "with who, when, outcome and device or address".
#[test]
fn each_stored_event_has_its_kinds_outcome_and_the_requests_address() {
    let firm = firm();
    busy_day(&firm);
    for event in firm.mfa.store().events() {
        assert_eq!(event.outcome, event.kind.outcome(), "{:?}", event.kind);
        assert_eq!(event.context.address, office().request.address, "{:?}", event.kind);
    }
}

// ---------------------------------------------------------------------------------
// Security keys without a relying party
// ---------------------------------------------------------------------------------

// src/service/builder.rs:109-110: "without one, the security-key calls fail with
// [`Error::Misconfigured`]".
#[test]
fn security_key_calls_without_a_relying_party_are_misconfigured() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let before = firm.mfa.store().events().len();
    let start = run(firm.mfa.start_security_key_registration(&ann, "YubiKey", "ann", "Ann", &office()));
    assert!(matches!(start, Err(Error::Misconfigured(_))), "{:?}", start.map(|_| ()));
    let sign_in = run(firm.mfa.start_security_key(&ann, &office()));
    assert!(matches!(sign_in, Err(Error::Misconfigured(_))), "{:?}", sign_in.map(|_| ()));
    let verify = run(firm.mfa.verify_security_key(&ann, "{}", &office()));
    assert!(matches!(verify, Err(Error::Misconfigured(_))), "{:?}", verify.map(|_| ()));
    let finish = run(firm.mfa.finish_security_key_registration(&ann, "{}", &office()));
    assert!(matches!(finish, Err(Error::Misconfigured(_))), "{:?}", finish.map(|_| ()));
    assert_eq!(firm.mfa.store().events().len(), before);
}

// ---------------------------------------------------------------------------------
// Trail export
// ---------------------------------------------------------------------------------

// src/service/export.rs:12: "from `from` (inclusive) to `until` (exclusive)";
// src/service/export.rs:79-80: "the first piece starting with the format's header (so a
// CSV export of an empty period is its header alone)".
#[test]
fn an_export_takes_from_inclusive_and_until_exclusive() {
    use mfa_kit::flow::evidence::ExportFormat;
    let firm = firm();
    let ann = user("ann");
    let context = office().in_org(FIRM);
    let _phone = enroll_in(&firm, &ann, &context);
    let events = firm.mfa.store().events();
    let first = events.first().unwrap().at;
    let last = events.last().unwrap().at;
    assert!(first < last);
    let export = |from: u64, until: u64| {
        let mut export = firm.mfa.export_trail(FIRM, from, until, ExportFormat::JsonLines);
        let mut text = String::new();
        while let Some(chunk) = run(export.next_chunk()).unwrap() {
            text.push_str(&chunk);
        }
        text.lines().filter(|l| l.contains("\"kind\"")).count()
    };
    let all = events.len();
    assert_eq!(export(first, last + 1), all);
    let at_last = events.iter().filter(|e| e.at == last).count();
    assert_eq!(export(first, last), all - at_last);
    let at_first = events.iter().filter(|e| e.at == first).count();
    assert_eq!(export(first + 1, last + 1), all - at_first);
    let mut empty = firm.mfa.export_trail(FIRM, 0, 1, ExportFormat::Csv);
    let mut text = String::new();
    while let Some(chunk) = run(empty.next_chunk()).unwrap() {
        text.push_str(&chunk);
    }
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("id,at,user,actor,outcome,kind,"));
}

// ---------------------------------------------------------------------------------
// "This wasn't me"
// ---------------------------------------------------------------------------------

// src/service/disown.rs:30-36: "freezes the account's MFA changes until an admin's reset,
// revokes what the notice was about where it can be told, revokes remembered devices and
// ends every session; audited as `notice_disowned`. A token that ... was used ...
// changes nothing and is refused as such."; src/flow/disown.rs:19-20 "the recovery codes
// generated then (an attacker holds them)".
#[test]
fn disowning_new_recovery_codes_revokes_them_freezes_and_works_once() {
    use mfa_kit::event::SecurityNotice;
    use std::sync::Arc;
    let (shop, store) = shop();
    let ann = user("ann");
    let phone = shop.enroll(&ann);
    shop.prove(&ann, &phone);
    run(shop.mfa.remember_device(&ann, "laptop", 86_400, &office())).unwrap().unwrap();
    shop.prove(&ann, &phone);
    let codes = run(shop.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    let inbox = Arc::new(Inbox::default());
    let notices = delivered(&shop, &store, &inbox, SecurityNotice::RecoveryCodesRegenerated);
    assert_eq!(notices.len(), 1);
    let token = link(&shop, &notices[0]);
    let g = generation(&shop, &ann);
    shop.clock.advance(60);
    let disowned = run(shop.mfa.disown(&ann, &token, &office())).unwrap().unwrap();
    assert_eq!(disowned.event_id, notices[0].id);
    assert_eq!(generation(&shop, &ann), g + 1, "a change moves the generation once");
    assert!(run(shop.mfa.devices(&ann)).unwrap().is_empty());
    let disowned_events =
        shop.mfa.store().events_for(&ann).iter().filter(|e| e.kind.name() == "notice_disowned").count();
    assert_eq!(disowned_events, 1);

    let again = run(shop.mfa.disown(&ann, &token, &office())).unwrap();
    assert_eq!(again.err(), Some(Refusal::DisownLinkUsed));
    assert_eq!(generation(&shop, &ann), g + 1);

    let code = run(shop.mfa.redeem_recovery_code(&ann, codes[0].as_str(), &office())).unwrap();
    assert!(code.is_err(), "a disowned set's code still signs in");
    shop.prove(&ann, &phone);
    let frozen = run(shop.mfa.generate_recovery_codes(&ann, &office())).unwrap();
    assert_eq!(frozen.err(), Some(Refusal::AccountFrozen));
    let answer = run(shop.mfa.step_up_host_action(&ann, "change_bank_details", &office())).unwrap();
    assert_eq!(answer, StepUp::Frozen);
}

// src/flow/disown.rs:14-16: "where none remains (the notice was about the only one),
// signing in is refused with [`Refusal::AccountFrozen`] too"; src/service/oversight.rs
// reset clears the freeze (event.rs:50 `cleared`: ... `freeze`).
#[test]
fn disowning_the_only_app_refuses_sign_in_until_an_admin_resets() {
    use mfa_kit::event::SecurityNotice;
    use std::sync::Arc;
    let (shop, store) = shop();
    let (ann, partner) = (user("ann"), user("partner"));
    let partner_phone = shop.enroll(&partner);
    let _attackers_phone = shop.enroll(&ann);
    let inbox = Arc::new(Inbox::default());
    let notices: Vec<_> = delivered(&shop, &store, &inbox, SecurityNotice::FactorAdded)
        .into_iter()
        .filter(|n| n.user == ann)
        .collect();
    assert_eq!(notices.len(), 1);
    run(shop.mfa.disown(&ann, &link(&shop, &notices[0]), &office())).unwrap().unwrap();
    assert!(run(shop.mfa.authenticators(&ann)).unwrap().is_empty(), "the app set up then is revoked");
    let decision = run(shop.mfa.sign_in_decision(&ann, &office())).unwrap();
    assert_eq!(decision.err(), Some(Refusal::AccountFrozen));
    shop.prove(&partner, &partner_phone);
    run(shop.mfa.reset(reset_of(&partner, &ann, "disowned"), &permitted(), &office())).unwrap().unwrap();
    let decision = run(shop.mfa.sign_in_decision(&ann, &office())).unwrap();
    assert!(decision.is_ok(), "{decision:?}");
}

// src/flow/disown.rs:183 / src/service/disown.rs:34-35 "older than
// [`disown::LINK_LIFETIME`]" (7 days) "changes nothing and is refused as such".
#[test]
fn a_disown_link_works_until_seven_days_after_the_event() {
    use mfa_kit::event::SecurityNotice;
    use std::sync::Arc;
    for (age, works) in [(7 * 86_400 - 1, true), (7 * 86_400, false)] {
        let (shop, store) = shop();
        let ann = user("ann");
        let phone = shop.enroll(&ann);
        shop.prove(&ann, &phone);
        run(shop.mfa.remember_device(&ann, "laptop", 86_400, &office())).unwrap().unwrap();
        let inbox = Arc::new(Inbox::default());
        let notice = delivered(&shop, &store, &inbox, SecurityNotice::DeviceRemembered).remove(0);
        use mfa_kit::clock::Clock;
        shop.clock.set(notice.at + age);
        let g = generation(&shop, &ann);
        let outcome = run(shop.mfa.disown(&ann, &link(&shop, &notice), &office())).unwrap();
        assert_eq!(outcome.is_ok(), works, "{age}: {outcome:?}");
        if !works {
            assert_eq!(outcome.err(), Some(Refusal::DisownLinkExpired));
            assert_eq!(generation(&shop, &ann), g);
        }
        let _ = shop.clock.now();
    }
}

// ---------------------------------------------------------------------------------
// What the record keeps: hashes only
// ---------------------------------------------------------------------------------

// docs/requirements.md R16 "a set of single-use codes shown once, stored only as
// hashes"; README.md:289-290 "recovery codes, out-of-band codes and device tokens are
// hashed".
#[test]
fn the_stored_record_holds_no_recovery_code_sent_code_or_device_token() {
    let firm = firm();
    let ann = user("ann");
    let outbox = with_backup_phone(&firm, &ann);
    run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap().unwrap();
    let sent = outbox.last_code();
    run(firm.mfa.verify_sign_in_code(&ann, &sent, &office())).unwrap().unwrap();
    let codes = run(firm.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    let device = run(firm.mfa.remember_device(&ann, "laptop", 3600, &office())).unwrap().unwrap();
    firm.clock.advance(60);
    run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap().unwrap();
    let pending = outbox.last_code();
    let record = serde_json::to_string(&run(firm.mfa.record(&ann)).unwrap()).unwrap();
    for code in &codes {
        assert!(!record.contains(code.as_str()) && !record.contains(&code.as_str().replace('-', "")));
    }
    assert!(!record.contains(device.token.as_str()));
    assert!(!holds(&record, &pending), "the pending sent code is in the record");
    for event in firm.mfa.store().events_for(&ann) {
        let json = serde_json::to_string(&event).unwrap();
        assert!(!holds(&json, &pending) && !holds(&json, &sent), "{json}");
        assert!(!json.contains(device.token.as_str()));
    }
}

// ---------------------------------------------------------------------------------
// Reset modes, backup rules
// ---------------------------------------------------------------------------------

// src/service/oversight.rs:26-28: "with [`ResetMode::TurnOff`] MFA is off and the user
// signs in without it, which is refused where the policy forbids turning MFA off for the
// user"; src/policy/settings.rs:461 ATO preset: "no self-deactivation" and MFA mandatory.
#[test]
fn turn_off_reset_is_refused_under_the_ato_preset_and_changes_nothing() {
    use mfa_kit::policy::Preset;
    use std::sync::Arc;
    let firm = firm();
    let (partner, sarah) = (user("partner"), user("sarah"));
    let settings = OrgSettings::builder().presets(vec![Preset::AtoOperationalSecurity]).build().unwrap();
    let context = office().in_org(FIRM).with_org(Arc::new(settings));
    let partner_phone = enroll_in(&firm, &partner, &context);
    let _sarah_phone = enroll_in(&firm, &sarah, &context);
    run(firm.mfa.verify_code(&partner, &partner_phone.code(), &context)).unwrap().unwrap();
    let before = run(firm.mfa.record(&sarah)).unwrap();
    let mut request = reset_of(&partner, &sarah, "leaving");
    request.mode = mfa_kit::ResetMode::TurnOff;
    let refused = run(firm.mfa.reset(request, &permitted(), &context)).unwrap();
    assert!(matches!(refused, Err(Refusal::Forbidden(_))), "{refused:?}");
    assert_eq!(run(firm.mfa.record(&sarah)).unwrap(), before);
}

// docs/requirements.md R18: "a backup phone number must differ from the primary one";
// src/service/destination.rs:17-18 "A backup must differ from the primary destination."
#[test]
fn a_backup_phone_equal_to_the_primary_is_refused_without_a_send() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let outbox = Outbox::default();
    firm.prove(&ann, &phone);
    run(firm.mfa.add_destination(&ann, common::phone(), Role::Primary, &outbox, &office())).unwrap().unwrap();
    run(firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office())).unwrap().unwrap();
    firm.clock.advance(60);
    firm.prove(&ann, &phone);
    let same = mfa_kit::Destination::sms("+61412345678").unwrap();
    let refused = run(firm.mfa.add_destination(&ann, same, Role::Backup, &outbox, &office())).unwrap();
    assert_eq!(refused.err(), Some(Refusal::SameAsPrimary));
    assert_eq!(outbox.count(), 1);
}

// src/service/device.rs:68-69: "Revokes every remembered device of the user; returns how
// many."
#[test]
fn revoking_all_devices_twice_counts_then_is_zero() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    run(firm.mfa.remember_device(&ann, "a", 3600, &office())).unwrap().unwrap();
    firm.prove(&ann, &phone);
    run(firm.mfa.remember_device(&ann, "b", 3600, &office())).unwrap().unwrap();
    let request = office().request;
    let reason = mfa_kit::Revocation::Requested;
    assert_eq!(run(firm.mfa.revoke_all_devices(&ann, &ann, reason, &request)).unwrap(), 2);
    assert_eq!(run(firm.mfa.revoke_all_devices(&ann, &ann, reason, &request)).unwrap(), 0);
    let revoked = kinds(&firm, &ann).iter().filter(|k| **k == "devices_revoked").count();
    assert_eq!(revoked, 1);
}

// ---------------------------------------------------------------------------------
// Counts and caps: authenticators, devices, enrollment lifetime
// ---------------------------------------------------------------------------------

// src/service/enrollment.rs:63-67: add_authenticator "Needs a fresh proof from a user who
// has MFA; refused for an invalid name and beyond [`crate::record::MAX_AUTHENTICATORS`]"
// (5, src/record/authenticator.rs:15).
#[test]
fn five_authenticators_and_a_sixth_refused() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let empty = run(firm.mfa.add_authenticator(&ann, "", "ann@x", &office())).unwrap();
    assert_eq!(empty.err().map(|r| r.code()), Some("invalid_name"));
    for n in 2..=5 {
        firm.prove(&ann, &phone);
        let name = format!("app {n}");
        let start = run(firm.mfa.add_authenticator(&ann, &name, "ann@x", &office())).unwrap();
        let start = start.unwrap_or_else(|r| panic!("app {n}: {r:?}"));
        let app = Phone::scan(&start.uri, &firm.clock);
        let first = app.code();
        firm.clock.advance(30);
        let second = app.code();
        run(firm.mfa.confirm_enrollment(&ann, &[&first, &second], &office())).unwrap().unwrap();
    }
    assert_eq!(run(firm.mfa.authenticators(&ann)).unwrap().len(), 5);
    firm.clock.advance(3600);
    firm.prove(&ann, &phone);
    let sixth = run(firm.mfa.add_authenticator(&ann, "app 6", "ann@x", &office())).unwrap();
    assert_eq!(sixth.err(), Some(Refusal::TooManyAuthenticators));
}

// src/record/device.rs:10-11: "The most devices remembered per user; the oldest is dropped
// beyond it." (20); src/flow/device.rs:41-43 "then the oldest is revoked (audited as
// `devices_revoked`, reason `superseded`)".
#[test]
fn a_twenty_first_device_drops_the_oldest_audited_once() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let mut ids = Vec::new();
    for n in 0..21 {
        firm.clock.advance(1);
        let device = run(firm.mfa.remember_device(&ann, &format!("device {n}"), 86_400, &office())).unwrap();
        ids.push(device.unwrap_or_else(|r| panic!("device {n}: {r:?}")).info.id);
    }
    let listed: Vec<String> = run(firm.mfa.devices(&ann)).unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(listed.len(), 20);
    assert!(!listed.contains(&ids[0]));
    assert!(listed.contains(&ids[20]));
    let revoked: Vec<_> = firm
        .mfa
        .store()
        .events_for(&ann)
        .into_iter()
        .filter(|e| e.kind.name() == "devices_revoked")
        .collect();
    assert_eq!(revoked.len(), 1);
    let json = serde_json::to_string(&revoked[0].kind).unwrap();
    assert!(json.contains("superseded"), "{json}");
}

// src/service/enrollment.rs:25-26 `EnrollmentStart::expires_at` "When the enrollment
// expires unless confirmed"; src/policy/mod.rs:32 DEFAULT_ENROLLMENT_LIFETIME = 600;
// docs/requirements.md R7 "A pending enrollment expires and can be restarted".
#[test]
fn an_enrollment_expires_at_its_expiry_and_a_reload_then_starts_anew() {
    let firm = firm();
    let ann = user("ann");
    use mfa_kit::clock::Clock;
    let now = firm.clock.now().unwrap();
    let start = run(firm.mfa.start_enrollment(&ann, "ann@x", &office())).unwrap().unwrap();
    assert_eq!(start.expires_at, now + 600);
    let app = Phone::scan(&start.uri, &firm.clock);
    firm.clock.set(start.expires_at - 30);
    let first = app.code();
    firm.clock.set(start.expires_at);
    let second = app.code();
    let late = run(firm.mfa.confirm_enrollment(&ann, &[&first, &second], &office())).unwrap();
    assert_eq!(late.err(), Some(Refusal::EnrollmentExpired));
    let again = run(firm.mfa.start_enrollment(&ann, "ann@x", &office())).unwrap().unwrap();
    assert_ne!(*again.uri, *start.uri);
}

// src/service/enrollment.rs:52-53: "Once confirmed, the new authenticator app replaces the
// user's other apps ...; the old ones stay active until then."; "twice in a row": a
// confirmed enrollment is no longer pending (src/service/enrollment.rs:196-198).
#[test]
fn the_old_phone_works_until_the_new_one_is_confirmed_then_not() {
    let firm = firm();
    let ann = user("ann");
    let old = firm.enroll(&ann);
    firm.prove(&ann, &old);
    let start = run(firm.mfa.start_enrollment(&ann, "ann@x", &office())).unwrap().unwrap();
    let new = Phone::scan(&start.uri, &firm.clock);
    firm.clock.advance(30);
    assert!(run(firm.mfa.verify_code(&ann, &old.code(), &office())).unwrap().is_ok());
    let first = new.code();
    firm.clock.advance(30);
    let second = new.code();
    let confirmed = run(firm.mfa.confirm_enrollment(&ann, &[&first, &second], &office())).unwrap().unwrap();
    assert!(confirmed.replaced);
    use mfa_kit::clock::Clock;
    assert_eq!(confirmed.at, firm.clock.now().unwrap());
    let twice = run(firm.mfa.confirm_enrollment(&ann, &[&first, &second], &office())).unwrap();
    assert_eq!(twice.err(), Some(Refusal::NoPendingEnrollment));
    firm.clock.advance(30);
    let refused = run(firm.mfa.verify_code(&ann, &old.code(), &office())).unwrap();
    assert!(refused.is_err(), "the replaced phone still works");
    assert_eq!(run(firm.mfa.authenticators(&ann)).unwrap().len(), 1);
    let confirmed_events = kinds(&firm, &ann).iter().filter(|k| **k == "enrollment_confirmed").count();
    assert_eq!(confirmed_events, 2);
}

// README.md:131: "verify_code  Proven (method, drift, at: the session's proof time)".
#[test]
fn a_proof_says_its_method_drift_and_time() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    use mfa_kit::clock::Clock;
    let now = firm.clock.now().unwrap();
    let proven = run(firm.mfa.verify_code(&ann, &phone.code(), &office())).unwrap().unwrap();
    assert_eq!((proven.method, proven.drift, proven.at), (Method::Totp, Some(0), now));
    assert!(!proven.phishing_resistant);
}

// ---------------------------------------------------------------------------------
// An e-mail-only user under the NIST preset, an SMS-only user turning MFA off
// ---------------------------------------------------------------------------------

/// `who` set up with a confirmed primary e-mail address only (no app), in `context`.
fn email_only(firm: &Firm, who: &mfa_kit::UserId, context: &SignInContext) -> Outbox {
    let outbox = Outbox::default();
    let address = mfa_kit::Destination::email(&format!("{who}@smith.example")).unwrap();
    run(firm.mfa.add_destination(who, address, Role::Primary, &outbox, context)).unwrap().unwrap();
    run(firm.mfa.confirm_destination(who, &outbox.last_code(), context)).unwrap().unwrap();
    outbox
}

fn nist_context() -> SignInContext {
    use mfa_kit::policy::Preset;
    use std::sync::Arc;
    let settings = OrgSettings::builder().presets(vec![Preset::NistAal2]).build().unwrap();
    office().in_org(FIRM).with_org(Arc::new(settings))
}

// src/policy/settings.rs:479-480 (NIST preset): "no codes by e-mail as a factor (§3.1.3):
// not offered, not counted by step-up, and a user whose only factor is an e-mail address
// has no MFA"; src/service/recovery.rs:13 "The user needs MFA first."
#[test]
fn under_nist_an_email_only_user_has_no_mfa_and_gets_no_recovery_codes() {
    let firm = firm();
    let ann = user("ann");
    let _outbox = email_only(&firm, &ann, &office().in_org(FIRM));
    assert!(run(firm.mfa.status(&ann, &office().in_org(FIRM))).unwrap().mfa);
    let nist = nist_context();
    assert!(!run(firm.mfa.status(&ann, &nist)).unwrap().mfa);
    let step = run(firm.mfa.step_up(&ann, SensitiveAction::Host, &nist)).unwrap();
    assert_eq!(step, StepUp::EnrollFirst);
    let codes = run(firm.mfa.generate_recovery_codes(&ann, &nist)).unwrap();
    assert!(codes.is_err(), "recovery codes for a user without MFA under NIST");
    let outbox = Outbox::default();
    let sent = run(firm.mfa.send_sign_in_code(&ann, Role::Primary, &outbox, &nist)).unwrap();
    assert_eq!(sent.err(), Some(Refusal::MethodNotAllowed));
    assert_eq!(outbox.count(), 0);
}

// src/service/authenticator.rs:97-104: "The current code comes from an authenticator app,
// or, for a user without one whose factor is a phone number or e-mail address, is the
// sign-in code sent to it first ..., checked as [`MfaService::verify_sign_in_code`]
// checks it" -- so a sent code used once to sign in does not turn MFA off afterwards.
#[test]
fn a_sent_code_used_to_sign_in_cannot_then_turn_mfa_off() {
    let firm = firm();
    let ann = user("ann");
    let context = office();
    let _confirm = email_only(&firm, &ann, &context);
    firm.clock.advance(60);
    let outbox = Outbox::default();
    run(firm.mfa.send_sign_in_code(&ann, Role::Primary, &outbox, &context)).unwrap().unwrap();
    let code = outbox.last_code();
    run(firm.mfa.verify_sign_in_code(&ann, &code, &context)).unwrap().unwrap();
    let off = run(firm.mfa.deactivate(&ann, &code, true, &context)).unwrap();
    assert!(off.is_err(), "a used code turned MFA off");
    assert!(run(firm.mfa.status(&ann, &context)).unwrap().mfa);

    firm.clock.advance(60);
    run(firm.mfa.send_sign_in_code(&ann, Role::Primary, &outbox, &context)).unwrap().unwrap();
    let fresh = outbox.last_code();
    run(firm.mfa.deactivate(&ann, &fresh, true, &context)).unwrap().unwrap();
    assert!(!run(firm.mfa.status(&ann, &context)).unwrap().mfa);
    let signed = run(firm.mfa.verify_sign_in_code(&ann, &fresh, &context)).unwrap();
    assert!(signed.is_err(), "the code that turned MFA off then signed in");
}

// docs/requirements.md R20: "removing the last factor is refused";
// src/service/destination.rs:71-73 "Removing the last factor follows the rules of
// deactivation".
#[test]
fn removing_the_only_destination_is_refused_as_the_last_factor() {
    let firm = firm();
    let ann = user("ann");
    let outbox = email_only(&firm, &ann, &office());
    let _ = outbox;
    let removed = run(firm.mfa.remove_destination(&ann, Role::Primary, &office())).unwrap();
    assert_eq!(removed.err(), Some(Refusal::LastFactor));
    assert!(run(firm.mfa.status(&ann, &office())).unwrap().mfa);
}

// README.md:81-82: "**Careful with secrets**: secrets from the OS random source, never in
// `Debug`"; src/service/enrollment.rs:17-18 "`Debug` leaves the secret out."
#[test]
fn no_debug_output_of_the_service_or_the_record_shows_the_secret() {
    let firm = firm();
    let ann = user("ann");
    let start = run(firm.mfa.start_enrollment(&ann, "ann@x", &office())).unwrap().unwrap();
    let secret = mfa_kit::otp::uri::KeyUri::parse(&start.uri).unwrap().secret().to_base32().to_string();
    let pending = run(firm.mfa.record(&ann)).unwrap();
    let phone = Phone::scan(&start.uri, &firm.clock);
    let first = phone.code();
    firm.clock.advance(30);
    let second = phone.code();
    run(firm.mfa.confirm_enrollment(&ann, &[&first, &second], &office())).unwrap().unwrap();
    let record = run(firm.mfa.record(&ann)).unwrap();
    let key = mfa_kit::otp::uri::KeyUri::parse(&start.uri).unwrap();
    let raw = format!("{:?}", key.secret());
    for text in [
        format!("{record:?}"),
        format!("{pending:?}"),
        format!("{:?}", firm.mfa),
        format!("{start:?}"),
        format!("{key:?}"),
        format!("{:?}", run(firm.mfa.authenticators(&ann)).unwrap()),
        format!("{:?}", run(firm.mfa.status(&ann, &office())).unwrap()),
    ] {
        assert!(!text.contains(&secret), "{text}");
        assert!(!text.contains(&secret.to_lowercase()), "{text}");
        let _ = &raw;
    }
}

// ---------------------------------------------------------------------------------
// MemoryStore's bounded trail
// ---------------------------------------------------------------------------------

/// Appends `n` events about `who` to `store`, one save at a time; after each, the most
/// of `who`'s events the store kept so far.
fn fill(store: &MemoryStore, who: &mfa_kit::UserId, n: usize) -> usize {
    use mfa_kit::store::Store;
    let mut most = 0;
    for i in 0..n {
        let event = mfa_kit::event::AuditEvent::new(
            who,
            who,
            START + i as u64,
            &mfa_kit::RequestContext::default(),
            EventKind::PasswordChanged,
        );
        run(store.append_events(vec![event])).unwrap();
        most = most.max(store.events_for(who).len());
    }
    most
}

// `MemoryStore::with_audit_capacity`: "the newest `capacity / 16` of each shard or
// more, since a shard keeps whole chunks of 256 events (its share rounded up to whole
// chunks, at least one, and the chunk being filled: a small capacity keeps up to 512
// per shard)". With a capacity of 1,600 (100 a shard), one user's shard holds at least
// 100 and at most 512.
#[test]
fn memory_store_keeps_its_share_per_shard_in_whole_chunks() {
    let store = MemoryStore::with_audit_capacity(16 * 100);
    let ann = user("ann");
    let most = fill(&store, &ann, 1_000);
    assert!(store.events_for(&ann).len() >= 100, "fewer than the share kept");
    assert!(most <= 256 + 256, "one shard held {most} events for a share of 100 (documented: up to 512)");
    assert_eq!(store.dropped_events() as usize + store.events_for(&ann).len(), 1_000);
}

// The same sentence, where the share is a whole number of chunks (256 a shard): kept
// between the share and the share plus 256, and what was dropped is counted
// (src/store/memory.rs:242 "How many audit events were dropped to keep the trail within
// its capacity.").
#[test]
fn memory_store_with_a_share_of_whole_chunks_keeps_its_share_and_counts_the_rest() {
    let store = MemoryStore::with_audit_capacity(16 * 256);
    let ann = user("ann");
    let most = fill(&store, &ann, 2_000);
    let kept = store.events_for(&ann).len();
    assert!(kept >= 256 && most <= 512, "kept {kept}, at most {most}");
    assert_eq!(store.dropped_events() as usize + kept, 2_000);
    let everything = MemoryStore::with_audit_capacity(usize::MAX);
    fill(&everything, &ann, 2_000);
    assert_eq!(everything.events_for(&ann).len(), 2_000);
    assert_eq!(everything.dropped_events(), 0);
}

// `MfaService::verify_code`: "wrong codes and codes older than the last accepted one
// counted towards the lockout; the last accepted code again (a double submit) is
// refused as reused without counting".
#[test]
fn the_code_just_accepted_again_is_refused_without_counting() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let code = phone.code();
    run(firm.mfa.verify_code(&ann, &code, &office())).unwrap().unwrap();
    for _ in 0..6 {
        let answer = run(firm.mfa.verify_code(&ann, &code, &office())).unwrap();
        assert_eq!(answer, Err(Refusal::CodeReused { attempts_left: 5 }), "a double submit is not a guess");
    }
}

// The same sentence, for a code older than the last one accepted: it counts.
#[test]
fn an_older_replayed_code_counts_towards_the_lockout() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let old = phone.code();
    run(firm.mfa.verify_code(&ann, &old, &office())).unwrap().unwrap();
    firm.clock.advance(30);
    run(firm.mfa.verify_code(&ann, &phone.code(), &office())).unwrap().unwrap();
    let replayed = run(firm.mfa.verify_code(&ann, &old, &office())).unwrap();
    assert_eq!(replayed, Err(Refusal::CodeReused { attempts_left: 4 }));
    assert!(replayed.unwrap_err().to_string().starts_with("That code was already used"));
}

// README.md:213-218: the generation moves on "a sign-in with a recovery code where the
// policy says so (`recovery_code_ends_sessions`, on under the presets)", and not on a
// sign-in (src/service/sign_in.rs:70-71: the generation is "what a new session keeps when
// the password is checked (read it before the sign-in decision)").
#[test]
fn sign_ins_keep_the_generation_and_a_recovery_code_moves_it_only_under_the_rule() {
    use mfa_kit::policy::Preset;
    use std::sync::Arc;
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let codes = run(firm.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    let g = generation(&firm, &ann);
    run(firm.mfa.sign_in_decision(&ann, &office())).unwrap().unwrap();
    firm.clock.advance(30);
    run(firm.mfa.verify_code(&ann, &phone.code(), &office())).unwrap().unwrap();
    run(firm.mfa.redeem_recovery_code(&ann, codes[0].as_str(), &office())).unwrap().unwrap();
    assert_eq!(generation(&firm, &ann), g, "a sign-in moved the generation");
    let settings = OrgSettings::builder().presets(vec![Preset::NistAal2]).build().unwrap();
    let nist = office().with_org(Arc::new(settings));
    run(firm.mfa.redeem_recovery_code(&ann, codes[1].as_str(), &nist)).unwrap().unwrap();
    assert_eq!(generation(&firm, &ann), g + 1);
}

// src/service/device.rs:33-34: "The user's remembered devices that are still valid: not
// expired"; a device remembered for an hour is listed for that hour and not at its end.
#[test]
fn an_expired_device_is_not_listed() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let device = run(firm.mfa.remember_device(&ann, "laptop", 3600, &office())).unwrap().unwrap();
    use mfa_kit::clock::Clock;
    firm.clock.set(device.info.expires_at - 1);
    assert_eq!(run(firm.mfa.devices(&ann)).unwrap().len(), 1);
    firm.clock.set(device.info.expires_at);
    assert!(run(firm.mfa.devices(&ann)).unwrap().is_empty());
    let _ = firm.clock.now();
}

// ---------------------------------------------------------------------------------
// The admin's pages and counts
// ---------------------------------------------------------------------------------

// src/service/evidence.rs:23-27: "One row per listed record, in ascending order of user
// id ... Where the next page starts ...; `None` after the last page."
#[test]
fn status_pages_are_in_user_order_and_end_with_no_cursor() {
    use mfa_kit::store::RecordQuery;
    let firm = firm();
    let context = office().in_org(FIRM);
    for name in ["carl", "ann", "bob", "dora"] {
        enroll_in(&firm, &user(name), &context);
    }
    let mut query = RecordQuery::org(FIRM, 2);
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = run(firm.mfa.status_page(&query, &context)).unwrap();
        pages += 1;
        seen.extend(page.rows.iter().map(|r| r.user.to_string()));
        let Some(next) = page.next else { break };
        query = query.after(Some(next));
        assert!(pages < 10);
    }
    assert_eq!(seen, ["ann", "bob", "carl", "dora"]);
    assert_eq!(pages, 2, "an empty page after the last full one");
    let counts = run(firm.mfa.compliance_counts(FIRM, &context)).unwrap();
    let json = serde_json::to_value(counts).unwrap();
    let total: u64 = json.as_object().unwrap().values().filter_map(|v| v.as_u64()).sum();
    assert!(total >= 4, "{json}");
}

// README.md:138: "(MfaService::step_up(action) asks the same without auditing)"
#[test]
fn step_up_audits_nothing_whatever_it_answers() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    use mfa_kit::clock::Clock;
    let now = firm.clock.now().unwrap();
    let session =
        office().with_session(SessionFacts::new(generation(&firm, &ann), now).active_at(now).proved_at(now));
    let before = firm.mfa.store().events().len();
    let proceed = run(firm.mfa.step_up(&ann, SensitiveAction::Host, &session)).unwrap();
    assert!(proceed.may_proceed());
    firm.clock.advance(600);
    let prove = run(firm.mfa.step_up(&ann, SensitiveAction::Host, &office())).unwrap();
    assert!(matches!(prove, StepUp::Prove { .. }));
    run(firm.mfa.password_changed(&ann, &office().request)).unwrap();
    let after_change = firm.mfa.store().events().len();
    let ended = run(firm.mfa.step_up(&ann, SensitiveAction::Host, &session)).unwrap();
    assert!(matches!(ended, StepUp::SignInAgain(_)), "{ended:?}");
    assert_eq!(firm.mfa.store().events().len(), after_change);
    assert_eq!(after_change, before + 1, "only the password change was audited");
}

// src/record/recovery.rs:46-49: "Whether the user should be prompted to replace this set:
// a code of it was redeemed under a policy that asks for a new set after any use (the NIST
// preset ...). It stays due until a new set is generated"; README.md:148-149.
#[test]
fn a_replacement_is_due_after_a_use_under_nist_only_until_a_new_set() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let codes = run(firm.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    run(firm.mfa.redeem_recovery_code(&ann, codes[0].as_str(), &office())).unwrap().unwrap();
    let due = |firm: &Firm| run(firm.mfa.record(&ann)).unwrap().recovery_codes().unwrap().replacement_due();
    assert!(!due(&firm), "due without the NIST preset");
    let nist = nist_context();
    run(firm.mfa.redeem_recovery_code(&ann, codes[1].as_str(), &nist)).unwrap().unwrap();
    assert!(due(&firm));
    firm.clock.advance(30);
    run(firm.mfa.verify_code(&ann, &phone.code(), &nist)).unwrap().unwrap();
    assert!(due(&firm), "no longer due before a new set");
    run(firm.mfa.generate_recovery_codes(&ann, &nist)).unwrap().unwrap();
    assert!(!due(&firm));
}

// src/event/sentence.rs:31-33 "as one English sentence for an admin's log, on one line
// (text a user or an admin typed has its line breaks written as escapes)"; README.md:159
// "one sentence per event ("Changed the MFA settings of ...: ...")".
#[test]
fn each_event_reads_as_one_line_even_with_a_typed_line_break() {
    let firm = firm();
    let (partner, sarah) = (user("partner"), user("sarah"));
    let phone = firm.enroll(&partner);
    firm.enroll(&sarah);
    firm.prove(&partner, &phone);
    let reason = "lost phone\n2026-12-07 10:00 UTC, mallory: Turned MFA off";
    run(firm.mfa.reset(reset_of(&partner, &sarah, reason), &permitted(), &office())).unwrap().unwrap();
    for event in firm.mfa.store().events() {
        let line = event.sentence();
        assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
    }
    let context = office().in_org(FIRM);
    firm.prove(&partner, &phone);
    run(firm.mfa.change_stored_org_settings(FIRM, &partner, &permitted(), &context, |s| {
        s.clone().with_level("practitioner", mfa_kit::policy::Level::Mandatory)
    }))
    .unwrap()
    .unwrap();
    let changed = firm.mfa.store().events_for(&partner).pop().unwrap();
    assert!(
        changed.kind.sentence().starts_with("Changed the MFA settings of"),
        "{}",
        changed.kind.sentence()
    );
}

// src/service/error.rs: "[`Error::HashKeyMissing`] No hashing key was given to the
// service, so recovery codes, out-of-band codes and remembered devices cannot be used."
#[test]
fn without_a_hash_key_codes_devices_and_links_fail_with_hash_key_missing() {
    use mfa_kit::clock::ManualClock;
    use mfa_kit::danger::PlaintextSealer;
    use mfa_kit::service::MfaService;
    let clock = ManualClock::new(START);
    let mfa = MfaService::builder("Smith", MemoryStore::new(), PlaintextSealer).clock(clock.clone()).build();
    let ann = user("ann");
    let start = run(mfa.start_enrollment(&ann, "ann@x", &office())).unwrap().unwrap();
    let phone = Phone::scan(&start.uri, &clock);
    let first = phone.code();
    clock.advance(30);
    let second = phone.code();
    run(mfa.confirm_enrollment(&ann, &[&first, &second], &office())).unwrap().unwrap();
    let outbox = Outbox::default();
    let missing = |e: Error| assert!(matches!(e, Error::HashKeyMissing), "{e:?}");
    missing(run(mfa.generate_recovery_codes(&ann, &office())).unwrap_err());
    missing(run(mfa.redeem_recovery_code(&ann, "AAAAA-AAAAA-AAAAA", &office())).unwrap_err());
    missing(run(mfa.remember_device(&ann, "laptop", 3600, &office())).unwrap_err());
    missing(run(mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap_err());
    missing(run(mfa.verify_sign_in_code(&ann, "123456", &office())).unwrap_err());
    missing(run(mfa.disown(&ann, "token", &office())).unwrap_err());
    assert_eq!(outbox.count(), 0);
    assert_eq!(
        Error::HashKeyMissing.to_string(),
        "no hash key is configured: give one with MfaServiceBuilder::hash_key"
    );
}

// src/service/error.rs (Error::Sender): "The host's SMS or e-mail sender failed; the code
// was taken back and the send not counted (audited as `backup_code_not_sent`)."
#[test]
fn a_failed_send_is_not_counted_and_audited_once() {
    let firm = firm();
    let ann = user("ann");
    let outbox = with_backup_phone(&firm, &ann);
    outbox.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let error = run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap_err();
    assert!(matches!(error, Error::Sender(_)));
    let not_sent = kinds(&firm, &ann).iter().filter(|k| **k == "backup_code_not_sent").count();
    assert_eq!(not_sent, 1);
    outbox.down.store(false, std::sync::atomic::Ordering::SeqCst);
    // Not counted: the one-a-minute limit does not hold this send back.
    let sent = run(firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office())).unwrap();
    assert!(sent.is_ok(), "{sent:?}");
}

// Same sentence for a new destination whose confirmation code could not be sent:
// src/event.rs:65 `backup_destination_withdrawn` "(a destination never confirmed, taken
// back: its code could not be sent ...)".
#[test]
fn a_new_destination_whose_code_could_not_be_sent_is_withdrawn() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let outbox = Outbox::default();
    outbox.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let error =
        run(firm.mfa.add_destination(&ann, common::phone(), Role::Backup, &outbox, &office())).unwrap_err();
    assert!(matches!(error, Error::Sender(_)));
    let record = run(firm.mfa.record(&ann)).unwrap();
    let json = serde_json::to_string(&record).unwrap();
    assert!(!json.contains("412345678") && !json.contains("412 345 678"), "{json}");
    assert_eq!(kinds(&firm, &ann).iter().filter(|k| **k == "backup_destination_withdrawn").count(), 1);
}

// ---------------------------------------------------------------------------------
// The secret cache and a failing sealer
// ---------------------------------------------------------------------------------

/// A sealer over [`PlaintextSealer`] that counts how often it opens, and can fail.
#[derive(Clone, Default)]
struct Counting {
    opened: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl mfa_kit::seal::SecretSealer for Counting {
    async fn seal(
        &self,
        user: &mfa_kit::UserId,
        secret: &mfa_kit::otp::Secret,
    ) -> Result<mfa_kit::seal::SealedSecret, mfa_kit::seal::SealError> {
        mfa_kit::danger::PlaintextSealer.seal(user, secret)
    }

    async fn open(
        &self,
        user: &mfa_kit::UserId,
        sealed: &mfa_kit::seal::SealedSecret,
    ) -> Result<mfa_kit::otp::Secret, mfa_kit::seal::SealError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(mfa_kit::seal::SealError::Unavailable("KMS timed out".into()));
        }
        self.opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        mfa_kit::danger::PlaintextSealer.open(user, sealed)
    }
}

fn counting_service(
    cache: usize,
) -> (mfa_kit::service::MfaService<MemoryStore, Counting>, mfa_kit::clock::ManualClock, Counting) {
    use mfa_kit::service::{MfaService, ServiceConfig};
    let clock = mfa_kit::clock::ManualClock::new(START);
    let sealer = Counting::default();
    let mut config = ServiceConfig::new("Smith");
    config.secret_cache = cache;
    let mfa = MfaService::builder("Smith", MemoryStore::new(), sealer.clone())
        .clock(clock.clone())
        .config(config)
        .build();
    (mfa, clock, sealer)
}

// src/service/builder.rs:31-36: "How many users' opened authenticator secrets the service
// keeps in memory between calls (default 10,000), so the sealer ... run[s] once per
// credential rather than once per code. ... 0 keeps none: every call opens the secret
// again."
#[test]
fn the_secret_cache_opens_once_and_a_cache_of_zero_every_time() {
    use std::sync::atomic::Ordering::SeqCst;
    for (cache, opens) in [(10_000, 1), (0, 3)] {
        let (mfa, clock, sealer) = counting_service(cache);
        let ann = user("ann");
        let phone = enroll_on(&mfa, &clock, &ann);
        let base = sealer.opened.load(SeqCst);
        for _ in 0..3 {
            run(mfa.verify_code(&ann, &phone.code(), &office())).unwrap().unwrap();
            clock.advance(30);
        }
        assert_eq!(sealer.opened.load(SeqCst) - base, opens, "cache {cache}");
    }
}

// src/service/error.rs Error::Sealer: "The secret sealer failed; nobody was let in and
// nothing was changed." (cache 0, so the sealer is asked).
#[test]
fn a_failing_sealer_lets_nobody_in_and_writes_nothing() {
    let (mfa, clock, sealer) = counting_service(0);
    let ann = user("ann");
    let phone = enroll_on(&mfa, &clock, &ann);
    let record = run(mfa.record(&ann)).unwrap();
    let events = mfa.store().events().len();
    sealer.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let error = run(mfa.verify_code(&ann, &phone.code(), &office())).unwrap_err();
    assert!(matches!(error, Error::Sealer(_)), "{error:?}");
    assert!(error.to_string().contains("nobody was let in"));
    assert_eq!(run(mfa.record(&ann)).unwrap(), record);
    assert_eq!(mfa.store().events().len(), events);
    sealer.down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(run(mfa.verify_code(&ann, &phone.code(), &office())).unwrap().is_ok());
}

// src/policy/settings.rs:481 (NIST preset): "TOTP periods of at most 2 minutes for new
// authenticators"; src/service/error.rs Error::Misconfigured "(a TOTP period longer than
// the policy allows for new authenticators)".
#[test]
fn a_three_minute_period_under_nist_is_misconfigured_and_writes_nothing() {
    use mfa_kit::otp::TotpParams;
    use mfa_kit::service::ServiceConfig;
    let mut config = ServiceConfig::new("Smith");
    config.totp_params = TotpParams::DEFAULT.with_period(180).unwrap();
    let firm = firm_with_config(config);
    let error = run(firm.mfa.start_enrollment(&user("ann"), "ann@x", &nist_context())).unwrap_err();
    assert!(matches!(error, Error::Misconfigured(_)), "{error:?}");
    assert!(firm.mfa.store().events().is_empty());
    assert!(firm.mfa.store().users().is_empty());
}

// src/service/mod.rs:186-187: "The latest clock reading the service accepts:
// 2100-01-01T00:00:00Z."; src/service/mod.rs:130-131 "refused past [`MAX_PLAUSIBLE_TIME`]
// so that a wild reading is never written into a record"; Error::Clock "nobody was let in
// and nothing was changed".
#[test]
fn the_clock_is_accepted_up_to_2100_and_refused_a_second_later() {
    use mfa_kit::service::MAX_PLAUSIBLE_TIME;
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.clock.set(MAX_PLAUSIBLE_TIME);
    assert!(run(firm.mfa.verify_code(&ann, &phone.code(), &office())).unwrap().is_ok());
    let record = run(firm.mfa.record(&ann)).unwrap();
    let events = firm.mfa.store().events().len();
    firm.clock.set(MAX_PLAUSIBLE_TIME + 30);
    let error = run(firm.mfa.verify_code(&ann, &phone.code(), &office())).unwrap_err();
    assert!(matches!(error, Error::Clock(_)), "{error:?}");
    let decision = run(firm.mfa.sign_in_decision(&ann, &office()));
    assert!(matches!(decision, Err(Error::Clock(_))));
    assert_eq!(run(firm.mfa.record(&ann)).unwrap(), record);
    assert_eq!(firm.mfa.store().events().len(), events);
}

// src/policy/settings.rs:189: "Addresses allowed to sign in; empty allows any (seed
// 000)."; README.md table (R14) "`Refusal::AddressNotAllowed`". A request whose address
// the host did not give is not from an allowed address.
#[test]
fn the_allowlist_refuses_other_addresses_and_requests_without_one() {
    use std::sync::Arc;
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let settings =
        OrgSettings::builder().allowed_networks(vec!["198.51.100.0/24".parse().unwrap()]).build().unwrap();
    let settings = Arc::new(settings);
    let inside = SignInContext::new(mfa_kit::RequestContext::from_address("198.51.100.9".parse().unwrap()))
        .with_org(settings.clone());
    let outside = office().with_org(settings.clone());
    let nowhere = SignInContext::default().with_org(settings);
    assert!(run(firm.mfa.sign_in_decision(&ann, &inside)).unwrap().is_ok());
    for context in [&outside, &nowhere] {
        let decision = run(firm.mfa.sign_in_decision(&ann, context)).unwrap();
        assert_eq!(decision.err(), Some(Refusal::AddressNotAllowed));
        firm.clock.advance(30);
        let code = run(firm.mfa.verify_code(&ann, &phone.code(), context)).unwrap();
        assert_eq!(code.err(), Some(Refusal::AddressNotAllowed));
    }
}
