//! Hostile inputs at the public API: what a host or a user hands in.
//!
//! Each test feeds one input through the public API and checks a promise: an audit
//! event "as one line of an admin's log" stays one line whatever the admin typed or
//! the user id holds, and a host's number gets an error rather than a panic.

mod common;

use common::*;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::flow::Rules;
use mfa_kit::service::ServiceConfig;

/// A reason an admin types into the reset form, with a line break and a forged entry
/// about another user after it.
const FORGING_REASON: &str = "lost phone\n2023-11-14 22:20 UTC, alice: Turned two-step verification off.";

fn reset_event(firm: &Firm) -> AuditEvent {
    firm.audit
        .events()
        .into_iter()
        .find(|event| matches!(event.kind, EventKind::ResetByAdmin { .. }))
        .expect("the reset was audited")
}

fn reset_with_reason(reason: &str) -> Firm {
    let firm = firm();
    let (partner, sarah) = (user("partner"), user("sarah"));
    let partner_phone = firm.enroll(&partner);
    firm.enroll(&sarah);
    firm.prove(&partner, &partner_phone);
    let outcome = run(firm.mfa.reset(reset_of(&partner, &sarah, reason), &permitted(), &office())).unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");
    firm
}

/// `AuditEvent::sentence` promises "the event as one line of an admin's log"; the
/// admin's reset reason goes into it verbatim, so a line break in the reason writes a
/// second, forged line (the mail crate's notice replaces control characters in the
/// same reason; the core's sentence does not).
#[test]
fn a_reset_reason_with_a_line_break_stays_on_the_events_one_line() {
    let firm = reset_with_reason(FORGING_REASON);
    let line = reset_event(&firm).sentence();
    assert!(!line.contains(['\n', '\r']), "the audit line was split in two: {line:?}");
}

/// The same reason in a carriage return alone, as a log viewer on a terminal shows it:
/// the text after `\r` overwrites the start of the line.
#[test]
fn a_reset_reason_with_a_carriage_return_stays_on_the_events_one_line() {
    let firm =
        reset_with_reason("lost phone\r2023-11-14 22:20 UTC, alice: Turned two-step verification off.");
    let line = reset_event(&firm).kind.sentence();
    assert!(!line.contains(['\n', '\r']), "the audit line holds a carriage return: {line:?}");
}

/// The translated line (`AuditEvent::message`, "the event as one line of an admin's
/// log in `language`") takes the same reason verbatim.
#[cfg(feature = "messages")]
#[test]
fn a_reset_reason_with_a_line_break_stays_on_the_translated_events_one_line() {
    use mfa_kit::messages::Language;
    let firm = reset_with_reason(FORGING_REASON);
    let event = reset_event(&firm);
    for language in [Language::English, Language::French] {
        let line = event.message(language);
        assert!(!line.contains(['\n', '\r']), "{language:?}: the audit line was split in two: {line:?}");
    }
}

/// A user id is "any string" (the host's ids "may be chosen by its users"); the
/// one-line sentence writes it verbatim, so an id with a line break forges a line
/// about another user.
#[test]
fn a_user_id_with_a_line_break_stays_on_the_events_one_line() {
    let firm = firm();
    let mallory = user("mallory\n2023-11-14 22:20 UTC, alice");
    let started = run(firm.mfa.start_enrollment(&mallory, "mallory@smith.example", &office())).unwrap();
    assert!(started.is_ok(), "{started:?}");
    let event = firm.audit.events().into_iter().find(|event| event.user == mallory).expect("audited");
    let line = event.sentence();
    assert!(!line.contains(['\n', '\r']), "the audit line was split in two: {line:?}");
}

/// `Rules::with_recovery_codes` takes a count from 1 to `recovery::MAX_COUNT`, a count
/// outside as the nearest: `usize::MAX` (set directly on the rules, too) makes a set of
/// `MAX_COUNT` codes, not a capacity overflow.
#[test]
fn a_huge_recovery_code_count_makes_the_largest_set() {
    use mfa_kit::flow::recovery::MAX_COUNT;
    assert_eq!(Rules::DEFAULT.with_recovery_codes(usize::MAX).recovery_codes, MAX_COUNT);
    assert_eq!(Rules::DEFAULT.with_recovery_codes(0).recovery_codes, 1);
    let mut rules = Rules::DEFAULT;
    rules.recovery_codes = usize::MAX;
    let firm = firm_with_config(ServiceConfig::new("Smith & Co Accounting").with_rules(rules));
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    firm.prove(&sarah, &phone);
    let codes =
        run(firm.mfa.generate_recovery_codes(&sarah, &office())).expect("no error").expect("generated");
    assert_eq!(codes.len(), MAX_COUNT);
}

/// The organisation settings builder takes user-type names (`level`, `sso_without_mfa`,
/// `phishing_resistant_for`) of any text; a settings change is audited as one sentence
/// listing them, so a line break in a name splits the admin's one-line log entry.
#[test]
fn a_user_type_with_a_line_break_stays_on_the_settings_changes_one_line() {
    use mfa_kit::policy::{Level, OrgSettings};
    let old = OrgSettings::default();
    let new = OrgSettings::builder()
        .level("staff\n2023-11-14 22:20 UTC, alice: Turned two-step verification off.", Level::Mandatory)
        .build()
        .expect("the builder checks no user-type name");
    let kind = EventKind::OrgSettingsChanged { org: FIRM.into(), old: Box::new(old), new: Box::new(new) };
    let line = kind.sentence();
    assert!(!line.contains(['\n', '\r']), "the audit line was split in two: {line:?}");
}
