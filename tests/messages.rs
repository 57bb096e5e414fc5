//! The message catalogues (feature `messages`): every refusal and every audit event
//! has a message in every catalogue, the catalogues hold the same ids, and the
//! messages carry their figures. (The unit tests in `src/messages.rs` list the
//! variants in a match the compiler keeps exhaustive, and check the English catalogue
//! against `Display` and `sentence()`.)
#![cfg(feature = "messages")]

use std::collections::BTreeSet;

use fluent_syntax::ast::Entry;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::messages::Language;
use mfa_kit::policy::{Level, OrgSettings};
use mfa_kit::{
    Cleared, Method, Purpose, Reason, Refusal, RequestContext, ResetMode, Revocation, Role, UserId, Voided,
};
use mfa_kit::{EnrollmentRejection, RejectionReason, SessionEnd};

const CATALOGUES: [(Language, &str); 2] = [
    (Language::English, include_str!("../src/messages/en.ftl")),
    (Language::French, include_str!("../src/messages/fr.ftl")),
];

/// One refusal of each kind, and of each wording a field selects.
fn every_refusal() -> Vec<Refusal> {
    let mut all = vec![
        Refusal::WrongCode { attempts_left: 3 },
        Refusal::CodeReused { attempts_left: 1 },
        Refusal::Malformed,
        Refusal::CodeExpired,
        Refusal::NoCodePending,
        Refusal::LockedOut { until: 1_751_362_200 },
        Refusal::Disabled,
        Refusal::MethodNotAllowed,
        Refusal::FreshProofRequired,
        Refusal::AddressNotAllowed,
        Refusal::NotEnrolled,
        Refusal::InvalidKey,
        Refusal::AlreadyEnrolled,
        Refusal::TooManyAuthenticators,
        Refusal::InvalidName,
        Refusal::NoPendingEnrollment,
        Refusal::EnrollmentExpired,
        Refusal::SameCodeTwice,
        Refusal::NotConsecutive,
        Refusal::TwoCodesRequired,
        Refusal::EnrollmentDiscarded,
        Refusal::ConfirmationRequired,
        Refusal::LastFactor,
        Refusal::SameAsPrimary,
        Refusal::RateLimited { retry_at: 1_751_362_200 },
        Refusal::RememberDisabled,
        Refusal::ReasonRequired,
        Refusal::SelfReset,
        Refusal::ActorWithoutMfa,
        Refusal::NotPermitted,
        Refusal::InvalidSettings("a lockout must last at least 1 second".into()),
        Refusal::KeyRejected { attempts_left: 0 },
        Refusal::KeyResponseMalformed,
        Refusal::KeyNotRegistered,
        Refusal::NoCeremonyPending,
        Refusal::CeremonyExpired,
        Refusal::KeyAlreadyRegistered,
        Refusal::PhishingResistantRequired,
        Refusal::AccountFrozen,
        Refusal::DisownLinkInvalid,
        Refusal::DisownLinkUsed,
        Refusal::DisownLinkExpired,
    ];
    all.extend(Reason::ALL.iter().map(|reason| Refusal::Forbidden(*reason)));
    all.extend(Role::ALL.iter().map(|role| Refusal::NoDestination(*role)));
    all.extend(
        [
            SessionEnd::AccountChanged,
            SessionEnd::LifetimeReached,
            SessionEnd::Inactive,
            SessionEnd::ClockBehind,
            SessionEnd::SignedOut,
        ]
        .map(Refusal::SessionEnded),
    );
    all
}

/// One event of each kind (as `tests/event_format.rs` builds them), and of each
/// wording a field selects.
fn every_kind() -> Vec<EventKind> {
    let old = OrgSettings::default();
    let new = old
        .to_builder()
        .level("practitioner", Level::Mandatory)
        .lockout(mfa_kit::LockoutRule { max_failures: 3, ..old.lockout() })
        .build()
        .unwrap();
    let mut all = vec![
        EventKind::EnrollmentStarted { expires_at: 1_700_000_600 },
        EventKind::EnrollmentConfirmed { replaced: true },
        EventKind::EnrollmentConfirmed { replaced: false },
        EventKind::AuthenticatorImported,
        EventKind::SecretsResealed { count: 2, key_id: "2026-12".into() },
        EventKind::SecretsResealed { count: 1, key_id: "2026-12".into() },
        EventKind::AuthenticatorRemoved {
            authenticator: "0123456789abcdef".into(),
            name: "Old phone".into(),
        },
        EventKind::SecurityKeyRegistered {
            authenticator: "5be0c3a1d2e4f607".into(),
            name: "YubiKey".into(),
            discoverable: true,
            user_verified: true,
        },
        EventKind::SecurityKeyRegistered {
            authenticator: "5be0c3a1d2e4f607".into(),
            name: "YubiKey".into(),
            discoverable: false,
            user_verified: true,
        },
        EventKind::SecurityKeyRemoved { authenticator: "5be0c3a1d2e4f607".into(), name: "YubiKey".into() },
        EventKind::NoticeDisowned { event_id: 4711, revoked: vec!["recovery_codes".into()] },
        EventKind::NoticeDisowned { event_id: 4711, revoked: vec![] },
        EventKind::DisownRefused { refusal: "disown_link_used".into() },
        EventKind::AuthenticatorRenamed { authenticator: "5be0c3a1d2e4f607".into(), name: "Blue key".into() },
        EventKind::SecurityKeyCounterRegressed {
            authenticator: "5be0c3a1d2e4f607".into(),
            stored: 17,
            presented: 3,
            accepted: false,
        },
        EventKind::CodeRejected {
            method: Method::SecurityKey,
            reason: RejectionReason::WrongOrigin,
            consecutive_failures: 1,
        },
        EventKind::EnrollmentRejected { reason: EnrollmentRejection::KeyRejected },
        EventKind::EnrollmentExpired,
        EventKind::EnrollmentRefused { refusal: "fresh_proof_required".into() },
        EventKind::CodeAccepted { method: Method::Totp, drift: Some(-1) },
        EventKind::CodeRejected {
            method: Method::Sms,
            reason: RejectionReason::Replayed,
            consecutive_failures: 2,
        },
        EventKind::Resynchronised { drift: 5 },
        EventKind::LockoutStarted { until: 1_700_000_900 },
        EventKind::LockoutEnded,
        EventKind::SecondFactorDisabled { failures: 100 },
        EventKind::Deactivated,
        EventKind::DeactivationRefused { reason: Reason::JurisdictionRule },
        EventKind::ResetByAdmin {
            reason: "lost phone".into(),
            cleared: vec![Cleared::Authenticator, Cleared::RememberedDevices],
            mode: ResetMode::TurnOff,
        },
        EventKind::RecoveryCodesGenerated { count: 10 },
        EventKind::RecoveryCodesLow { remaining: 2 },
        EventKind::RecoveryCodesExhausted,
        EventKind::RecoveryCodesReplacementDue { remaining: 9 },
        EventKind::BackupCodeSent {
            method: Method::Email,
            purpose: Purpose::SignIn,
            to: "s•••@x.example".into(),
        },
        EventKind::BackupCodeDiscarded { method: Method::Sms },
        EventKind::BackupCodeReserved {
            method: Method::Sms,
            purpose: Purpose::ConfirmDestination,
            to: "•••678".into(),
        },
        EventKind::BackupCodeNotSent { method: Method::Email },
        EventKind::BackupCodeLapsed { role: Role::Primary },
        EventKind::BackupDestinationAdded {
            method: Method::Sms, role: Role::Backup, to: "•••678".into()
        },
        EventKind::BackupDestinationConfirmed {
            method: Method::Sms,
            role: Role::Backup,
            to: "•••678".into(),
        },
        EventKind::BackupDestinationRemoved { role: Role::Backup },
        EventKind::BackupDestinationWithdrawn { role: Role::Backup },
        EventKind::DeviceRemembered {
            device_id: "d-1".into(),
            label: "Firefox on Windows".into(),
            expires_at: 1_702_592_000,
        },
        EventKind::DeviceAccepted { device_id: "d-1".into() },
        EventKind::DevicesRevoked { device_ids: vec!["d-1".into()], reason: Revocation::PasswordChanged },
        EventKind::OrgSettingsChanged {
            org: "smith-co".into(),
            old: Box::new(old.clone()),
            new: Box::new(new),
        },
        EventKind::OrgSettingsChanged {
            org: "smith-co".into(),
            old: Box::new(old.clone()),
            new: Box::new(old),
        },
        EventKind::OrgSettingsChangeRefused { org: "smith-co".into(), reason: "not permitted".into() },
        EventKind::PasswordChanged,
        EventKind::ResetRefused { reason: "the actor has no MFA".into() },
        EventKind::HostActionAllowed { action: "approve_pay_run".into() },
        EventKind::HostActionRefused { action: "approve_pay_run".into(), refusal: "session_ended".into() },
        EventKind::SignInRefused { reason: RejectionReason::PolicyRefused },
        EventKind::RefusalsSummarised { refused: 7, since: 1_700_000_000 },
        EventKind::FutureDatedVoided { reading: 1_700_000_000, voided: vec![Voided::Code, Voided::Lockout] },
        EventKind::AuditPruned { before: 1_700_000_000, deleted: 4_812 },
        EventKind::AuditPruned { before: 1_700_000_000, deleted: 1 },
    ];
    all.extend(Method::ALL.iter().map(|method| EventKind::CodeAccepted { method: *method, drift: None }));
    all
}

/// The ids of a catalogue's messages and terms, read with Fluent's own parser; a
/// syntax error fails the test.
fn ids(source: &str) -> BTreeSet<String> {
    let resource = fluent_syntax::parser::parse(source).unwrap_or_else(|(_, errors)| panic!("{errors:?}"));
    resource
        .body
        .iter()
        .filter_map(|entry| match entry {
            Entry::Message(message) => Some(message.id.name.to_string()),
            Entry::Term(term) => Some(format!("-{}", term.id.name)),
            Entry::Junk { content } => panic!("junk in a catalogue: {content}"),
            _ => None,
        })
        .collect()
}

/// Checks one message: formatted without a Fluent error, not empty, no placeholder
/// left, no isolation marks.
fn checked(text: Result<String, mfa_kit::messages::MessageError>) -> String {
    let text = text.unwrap_or_else(|error| panic!("{error}"));
    assert!(!text.trim().is_empty());
    assert!(!text.contains('{') && !text.contains('}') && !text.contains('$'), "a placeholder left: {text}");
    assert!(!text.contains(['\u{2068}', '\u{2069}']), "isolation marks in {text:?}");
    text
}

#[test]
fn every_catalogue_has_the_same_ids() {
    let english = ids(CATALOGUES[0].1);
    assert!(english.len() > 100, "{}", english.len());
    for (language, source) in CATALOGUES {
        let theirs = ids(source);
        let missing: Vec<_> = english.difference(&theirs).collect();
        let extra: Vec<_> = theirs.difference(&english).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{language}: missing {missing:?}, extra {extra:?}");
    }
}

#[test]
fn every_refusal_and_event_id_has_a_sample_here_and_a_message_there() {
    let catalogue = ids(CATALOGUES[0].1);
    let refusals: BTreeSet<String> = every_refusal().iter().map(Refusal::message_id).collect();
    let events: BTreeSet<String> = every_kind().iter().map(EventKind::message_id).collect();
    for id in refusals.iter().chain(&events) {
        assert!(catalogue.contains(id), "{id} is in no catalogue");
    }
    // A message the catalogue has but no sample above reaches is a variant this test
    // forgot (or a message nothing uses).
    let unreached: Vec<&String> = catalogue
        .iter()
        .filter(|id| {
            id.starts_with("refusal-") || (id.starts_with("event-") && !id.starts_with("event-line"))
        })
        .filter(|id| !refusals.contains(*id) && !events.contains(*id))
        .collect();
    assert!(unreached.is_empty(), "no sample reaches {unreached:?}");
}

#[test]
fn every_refusal_reads_in_every_language() {
    for refusal in every_refusal() {
        let english = checked(refusal.try_message(Language::English));
        for language in Language::ALL {
            let text = checked(refusal.try_message(*language));
            assert_eq!(refusal.message(*language), text, "message and try_message agree");
            assert!(text.ends_with('.'), "{text}");
            if *language != Language::English {
                assert_ne!(text, english, "{refusal:?} is not translated into {language}");
            }
        }
    }
}

#[test]
fn every_event_reads_in_every_language() {
    for kind in every_kind() {
        let english = checked(kind.try_message(Language::English));
        for language in Language::ALL {
            let text = checked(kind.try_message(*language));
            assert_eq!(kind.message(*language), text);
            if *language != Language::English {
                assert_ne!(text, english, "{kind:?} is not translated into {language}");
            }
        }
    }
}

#[test]
fn one_recovery_code_is_one_code_in_every_language() {
    let one = [EventKind::RecoveryCodesLow { remaining: 1 }, EventKind::RecoveryCodesGenerated { count: 1 }];
    assert_eq!(one[0].sentence(), "Only 1 recovery code is left.");
    assert_eq!(one[1].sentence(), "Generated 1 new recovery code.");
    for kind in &one {
        assert_eq!(kind.message(Language::English), kind.sentence());
    }
    assert_eq!(one[0].message(Language::French), "Il ne reste qu’un code de secours.");
    let two = EventKind::RecoveryCodesLow { remaining: 2 };
    assert_eq!(two.sentence(), "Only 2 recovery codes are left.");
    assert_eq!(two.message(Language::English), two.sentence());
}

#[test]
fn messages_carry_their_figures() {
    let wrong = Refusal::WrongCode { attempts_left: 4 };
    assert!(wrong.message(Language::English).contains("(4 tries left)"));
    assert!(wrong.message(Language::French).contains("(4 essais restants)"));
    assert!(
        Refusal::KeyRejected { attempts_left: 1 }.message(Language::French).contains("(1 essai restant)")
    );

    let locked = Refusal::LockedOut { until: 1_751_362_200 };
    assert!(locked.message(Language::English).contains("2025-07-01 09:30 UTC"));
    assert!(locked.message(Language::French).contains("1er juillet 2025 à 9\u{a0}h\u{a0}30 UTC"));

    let detail = Refusal::InvalidSettings("a lockout must last at least 1 second".into());
    assert!(detail.message(Language::French).ends_with("a lockout must last at least 1 second."));

    let lockout = EventKind::LockoutStarted { until: 1_751_362_200 };
    assert!(lockout.message(Language::French).ends_with("jusqu’au 1er juillet 2025 à 9\u{a0}h\u{a0}30 UTC."));

    let old = OrgSettings::default();
    let new = old.clone().with_level("practitioner", Level::Mandatory);
    let changed =
        EventKind::OrgSettingsChanged { org: "smith-co".into(), old: Box::new(old), new: Box::new(new) };
    for language in Language::ALL {
        let text = changed.message(*language);
        assert!(
            text.contains("smith-co") && text.contains("levels") && text.contains("practitioner: mandatory")
        );
    }
    assert!(changed.message(Language::French).contains("levels de none à practitioner: mandatory"));

    let sent =
        EventKind::BackupCodeSent {
            method: Method::Sms, purpose: Purpose::SignIn, to: "•••678".into()
        };
    assert_eq!(sent.message(Language::French), "Envoi d’un code par SMS à •••678.");
    let removed = EventKind::AuthenticatorRemoved { authenticator: "a1".into(), name: "Old phone".into() };
    assert_eq!(removed.message(Language::French), "Authentificateur «\u{a0}Old phone\u{a0}» supprimé.");
}

#[test]
fn an_audit_line_reads_in_every_language() {
    let context = RequestContext::from_address("203.0.113.7".parse().unwrap());
    let (sarah, partner) = (UserId::new("sarah"), UserId::new("partner"));
    let event = AuditEvent::new(&sarah, &partner, 1_751_361_300, &context, EventKind::Deactivated);
    assert_eq!(
        event.message(Language::English),
        "2025-07-01 09:15 UTC, sarah (by partner) from 203.0.113.7: Turned two-step verification off."
    );
    assert_eq!(event.message(Language::English), event.sentence());
    let own =
        AuditEvent::new(&sarah, &sarah, 1_751_361_300, &RequestContext::default(), EventKind::Deactivated);
    assert_eq!(
        own.message(Language::French),
        "1er juillet 2025 à 9\u{a0}h\u{a0}15 UTC, sarah\u{a0}: Validation en deux étapes désactivée."
    );
}

#[test]
fn languages_come_from_tags_and_unknown_ones_are_refused_clearly() {
    assert_eq!(Language::from_tag("fr-CA"), Ok(Language::French));
    assert_eq!(Language::from_tag("en-AU"), Ok(Language::English));
    let error = Language::from_tag("de-DE").unwrap_err();
    assert_eq!(error.kind, "language");
    assert!(error.to_string().contains("\"de-DE\" is not a known language"), "{error}");
    assert_eq!("fr".parse::<Language>(), Ok(Language::French));
    assert!("fr-CA".parse::<Language>().is_err(), "`FromStr` reads the stable ids only");
    assert_eq!(Language::first_supported(["es", "fr-BE", "en"]), Some(Language::French));
    let stored: Language = serde_json::from_str("\"fr\"").unwrap();
    assert_eq!(stored, Language::French);
}

#[test]
fn catalogues_are_shared_across_threads() {
    let threads: Vec<_> = (0..4u32)
        .map(|n| {
            std::thread::spawn(move || Refusal::WrongCode { attempts_left: n }.message(Language::French))
        })
        .collect();
    for (n, thread) in threads.into_iter().enumerate() {
        assert!(thread.join().unwrap().contains(&format!("({n} essai")));
    }
}
