//! The words: the message catalogues, `Language` parsing and the OTP core's error
//! texts, against what their docs promise (each refusal says what to do next; the
//! French catalogue's own typography).
#![cfg(feature = "messages")]

use mfa_kit::event::EventKind;
use mfa_kit::messages::Language;
use mfa_kit::otp::{CodeError, SecretError};
use mfa_kit::{Refusal, Role};

const FRENCH: &str = include_str!("../src/messages/fr.ftl");

/// fr.ftl's header: "espace insécable (U+00A0) ... à l'intérieur des guillemets".
/// `event-host_action_allowed` and `event-host_action_refused` write `« { $action } »`
/// with them too.
#[test]
fn french_guillemets_hold_no_break_spaces() {
    let events = [
        EventKind::HostActionAllowed { action: "approve_pay_run".into() },
        EventKind::HostActionRefused { action: "approve_pay_run".into(), refusal: "session_ended".into() },
        // These two already follow the rule (for contrast).
        EventKind::AuthenticatorRemoved { authenticator: "a1".into(), name: "Old phone".into() },
        EventKind::DisownRefused { refusal: "disown_link_used".into() },
    ];
    let mut wrong = Vec::new();
    for kind in events {
        let text = kind.message(Language::French);
        let chars: Vec<char> = text.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            let ok = match c {
                '«' => chars.get(i + 1) == Some(&'\u{a0}'),
                '»' => i > 0 && chars[i - 1] == '\u{a0}',
                _ => true,
            };
            if !ok {
                wrong.push(format!("{}: {text:?}", kind.message_id()));
                break;
            }
        }
    }
    assert!(wrong.is_empty(), "guillemets without U+00A0 inside: {wrong:#?}");
}

/// In every French message line, `:` has U+00A0 before it and `;`,
/// `!`, `?` have U+202F, as the header says (the `otpauth://` scheme aside).
#[test]
fn french_catalogue_spaces_before_punctuation() {
    let mut wrong = Vec::new();
    for (n, line) in FRENCH.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            let before = if i > 0 { Some(chars[i - 1]) } else { None };
            let want = match c {
                ':' if chars.get(i + 1) == Some(&'/') => continue,
                ':' => '\u{a0}',
                ';' | '!' | '?' => '\u{202f}',
                _ => continue,
            };
            // `{ "\u202F; " }`: the separator writes U+202F as a Fluent escape.
            if before != Some(want) && !line[..line.char_indices().nth(i).unwrap().0].ends_with("\\u202F") {
                wrong.push(format!("line {}: {line}", n + 1));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// `Refusal::RateLimited` carries `retry_at` and `messages.rs` hands it to the
/// catalogues as `$retry_at` (the first whole minute after it, "try again after"),
/// and both catalogues say it: the user is told until when to wait.
#[test]
fn rate_limited_says_until_when_to_wait() {
    let refusal = Refusal::RateLimited { retry_at: 1_751_362_170 };
    let english = refusal.message(Language::English);
    assert!(english.contains("2025-07-01 09:30 UTC"), "no time in {english:?}");
    let french = refusal.message(Language::French);
    assert!(french.contains("1er juillet 2025 à 9\u{a0}h\u{a0}30 UTC"), "no time in {french:?}");
}

/// "Two-step verification is not set up for this account." says what to do next too
/// (set it up, or ask an administrator); both languages.
#[test]
fn not_enrolled_says_to_set_up_two_step_verification() {
    let english = Refusal::NotEnrolled.message(Language::English);
    assert!(
        ["Set up", "set it up", "Ask", "Contact"].iter().any(|w| english.contains(w)),
        "no next step in {english:?}"
    );
    let french = Refusal::NotEnrolled.message(Language::French);
    assert!(
        ["Configurez", "configurez-la", "Demandez", "Contactez"].iter().any(|w| french.contains(w)),
        "no next step in {french:?}"
    );
}

/// "No phone number or e-mail address is set up for codes." / "No backup phone
/// number ... is set up." say what to do too (add one, or use another way).
#[test]
fn no_destination_says_what_to_do_next() {
    let mut wrong = Vec::new();
    for role in Role::ALL {
        let refusal = Refusal::NoDestination(*role);
        let english = refusal.message(Language::English);
        if !["Add", "Set up", "Use", "Ask", "Contact", "Choose"].iter().any(|w| english.contains(w)) {
            wrong.push(english);
        }
        let french = refusal.message(Language::French);
        if !["Ajoutez", "Configurez", "Utilisez", "Demandez", "Contactez", "Choisissez"]
            .iter()
            .any(|w| french.contains(w))
        {
            wrong.push(french);
        }
    }
    assert!(wrong.is_empty(), "no next step in {wrong:#?}");
}

/// `from_accept_language` promises "the supported language of the highest quality
/// weight (q)". In HTTP (RFC 9110 §12.4.2, ABNF literals are case-insensitive) `Q=`
/// is the same weight as `q=`, so French at 0.1 does not beat English at 1.
#[test]
fn accept_language_weight_name_is_case_insensitive() {
    assert_eq!(Language::from_accept_language("fr;Q=0.1, en"), Language::English);
    assert_eq!(Language::from_accept_language("fr;Q=0, en-GB;q=0.5"), Language::English);
}

/// `src/otp/error.rs`: "Every error says what was wrong and what to do about it".
/// These two say what to do as well (as `SecretError::Empty`: "give at least 1 byte",
/// `TimeError`: "check the clock").
#[test]
fn otp_errors_say_what_to_do() {
    let texts = [CodeError::Empty.to_string(), SecretError::TooLong { max: 64 }.to_string()];
    // Whole words: "entered" is not "enter".
    let instructs = |t: &str| {
        t.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| ["enter", "give", "use", "must", "check", "shorten", "type"].contains(&w))
    };
    let wrong: Vec<&String> = texts.iter().filter(|t| !instructs(t)).collect();
    assert!(wrong.is_empty(), "no 'what to do' in {wrong:?}");
}
