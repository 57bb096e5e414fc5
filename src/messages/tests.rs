//! The messages module's unit tests: every variant, listed in matches the compiler
//! keeps exhaustive, reads in every catalogue; English says what `Display` and
//! `sentence()` say.

use super::*;
use crate::policy::{Level, OrgSettings};
use crate::vocabulary::{
    Cleared, EnrollmentRejection, Purpose, Reason, RejectionReason, RequestContext, ResetMode, Revocation,
    SessionEnd, UserId, Voided,
};

/// One refusal of each variant (several where the words depend on a field).
fn every_refusal() -> Vec<Refusal> {
    let mut all = vec![
        Refusal::WrongCode { attempts_left: 3 },
        Refusal::WrongCode { attempts_left: 1 },
        Refusal::WrongCode { attempts_left: 0 },
        Refusal::CodeReused { attempts_left: 4 },
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
        Refusal::KeyRejected { attempts_left: 2 },
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
    // Every variant, named without a wildcard: a refusal added later fails to
    // compile here until it is listed, and then the test below finds it missing.
    let listed = |refusal: &Refusal| match refusal {
        Refusal::WrongCode { .. }
        | Refusal::CodeReused { .. }
        | Refusal::Malformed
        | Refusal::CodeExpired
        | Refusal::NoCodePending
        | Refusal::LockedOut { .. }
        | Refusal::Disabled
        | Refusal::MethodNotAllowed
        | Refusal::FreshProofRequired
        | Refusal::AddressNotAllowed
        | Refusal::NotEnrolled
        | Refusal::InvalidKey
        | Refusal::AlreadyEnrolled
        | Refusal::TooManyAuthenticators
        | Refusal::InvalidName
        | Refusal::NoPendingEnrollment
        | Refusal::EnrollmentExpired
        | Refusal::SameCodeTwice
        | Refusal::NotConsecutive
        | Refusal::TwoCodesRequired
        | Refusal::EnrollmentDiscarded
        | Refusal::ConfirmationRequired
        | Refusal::Forbidden(_)
        | Refusal::LastFactor
        | Refusal::SameAsPrimary
        | Refusal::NoDestination(_)
        | Refusal::RateLimited { .. }
        | Refusal::RememberDisabled
        | Refusal::ReasonRequired
        | Refusal::SelfReset
        | Refusal::ActorWithoutMfa
        | Refusal::NotPermitted
        | Refusal::InvalidSettings(_)
        | Refusal::SessionEnded(_)
        | Refusal::KeyRejected { .. }
        | Refusal::KeyResponseMalformed
        | Refusal::KeyNotRegistered
        | Refusal::NoCeremonyPending
        | Refusal::CeremonyExpired
        | Refusal::KeyAlreadyRegistered
        | Refusal::PhishingResistantRequired
        | Refusal::AccountFrozen
        | Refusal::DisownLinkInvalid
        | Refusal::DisownLinkUsed
        | Refusal::DisownLinkExpired => refusal.code(),
    };
    let codes: std::collections::BTreeSet<&str> = all.iter().map(listed).collect();
    assert_eq!(codes.len(), 45, "one sample of each refusal: {codes:?}");
    all
}

/// One event of each variant (several where the words depend on a field).
fn every_event() -> Vec<EventKind> {
    let old = OrgSettings::default();
    let mut new = old.clone().with_level("practitioner", Level::Mandatory);
    new.lockout.max_failures = 3;
    let mut all = vec![
        EventKind::EnrollmentStarted { expires_at: 1_751_362_200 },
        EventKind::EnrollmentConfirmed { replaced: true },
        EventKind::EnrollmentConfirmed { replaced: false },
        EventKind::AuthenticatorImported,
        EventKind::SecretsResealed { count: 2, key_id: "2026-12".into() },
        EventKind::SecretsResealed { count: 1, key_id: "2026-12".into() },
        EventKind::AuthenticatorRemoved { authenticator: "0123".into(), name: "Old phone".into() },
        EventKind::SecurityKeyRegistered {
            authenticator: "5be0".into(),
            name: "YubiKey".into(),
            discoverable: true,
            user_verified: true,
        },
        EventKind::SecurityKeyRegistered {
            authenticator: "5be1".into(),
            name: "Blue key".into(),
            discoverable: false,
            user_verified: false,
        },
        EventKind::NoticeDisowned { event_id: 4711, revoked: vec![] },
        EventKind::NoticeDisowned { event_id: 4711, revoked: vec!["recovery_codes".into(), "5be0".into()] },
        EventKind::DisownRefused { refusal: "disown_link_used".into() },
        EventKind::SecurityKeyRemoved { authenticator: "5be0".into(), name: "YubiKey".into() },
        EventKind::AuthenticatorRenamed { authenticator: "5be0".into(), name: "Blue key".into() },
        EventKind::SecurityKeyCounterRegressed {
            authenticator: "5be0".into(),
            stored: 17,
            presented: 3,
            accepted: false,
        },
        EventKind::SecurityKeyCounterRegressed {
            authenticator: "5be0".into(),
            stored: 17,
            presented: 17,
            accepted: true,
        },
        EventKind::EnrollmentRejected { reason: EnrollmentRejection::NotConsecutive },
        EventKind::EnrollmentExpired,
        EventKind::EnrollmentRefused { refusal: "fresh_proof_required".into() },
        EventKind::CodeAccepted { method: Method::Totp, drift: Some(-1) },
        EventKind::CodeAccepted { method: Method::Totp, drift: Some(0) },
        EventKind::CodeRejected {
            method: Method::Sms,
            reason: RejectionReason::Replayed,
            consecutive_failures: 2,
        },
        EventKind::CodeRejected {
            method: Method::SecurityKey,
            reason: RejectionReason::WrongOrigin,
            consecutive_failures: 1,
        },
        EventKind::Resynchronised { drift: 5 },
        EventKind::LockoutStarted { until: 1_751_362_200 },
        EventKind::LockoutEnded,
        EventKind::SecondFactorDisabled { failures: 100 },
        EventKind::Deactivated,
        EventKind::DeactivationRefused { reason: Reason::JurisdictionRule },
        EventKind::ResetByAdmin {
            reason: "lost phone".into(),
            cleared: vec![Cleared::Authenticator, Cleared::RememberedDevices],
            mode: ResetMode::TurnOff,
        },
        EventKind::ResetByAdmin {
            reason: "lost phone".into(),
            cleared: vec![Cleared::Lockout],
            mode: ResetMode::RequireEnrollment,
        },
        EventKind::RecoveryCodesGenerated { count: 10 },
        EventKind::RecoveryCodesLow { remaining: 2 },
        EventKind::RecoveryCodesExhausted,
        EventKind::RecoveryCodesReplacementDue { remaining: 9 },
        EventKind::BackupCodeReserved {
            method: Method::Sms,
            purpose: Purpose::ConfirmDestination,
            to: "•••678".into(),
        },
        EventKind::BackupCodeSent {
            method: Method::Email,
            purpose: Purpose::SignIn,
            to: "s•••@x.example".into(),
        },
        EventKind::BackupCodeDiscarded { method: Method::Sms },
        EventKind::BackupDestinationAdded {
            method: Method::Sms, role: Role::Backup, to: "•••678".into()
        },
        EventKind::BackupDestinationConfirmed {
            method: Method::Email,
            role: Role::Primary,
            to: "s•••@x.example".into(),
        },
        EventKind::DeviceRemembered {
            device_id: "d1".into(),
            label: "Firefox".into(),
            expires_at: 1_751_362_200,
        },
        EventKind::DeviceAccepted { device_id: "d1".into() },
        EventKind::DevicesRevoked { device_ids: vec!["d1".into(), "d2".into()], reason: Revocation::Reset },
        EventKind::DevicesRevoked { device_ids: vec!["d1".into()], reason: Revocation::Requested },
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
        EventKind::RefusalsSummarised { refused: 12, since: 1_751_360_000 },
        EventKind::RefusalsSummarised { refused: 1, since: 1_751_360_000 },
        EventKind::FutureDatedVoided { reading: 1_751_360_000, voided: vec![Voided::Code, Voided::Lockout] },
        EventKind::AuditPruned { before: 1_751_360_000, deleted: 4_812 },
        EventKind::AuditPruned { before: 1_751_360_000, deleted: 1 },
    ];
    for method in Method::ALL {
        all.push(EventKind::CodeAccepted { method: *method, drift: None });
        all.push(EventKind::BackupCodeNotSent { method: *method });
    }
    for role in Role::ALL {
        all.push(EventKind::BackupCodeLapsed { role: *role });
        all.push(EventKind::BackupDestinationRemoved { role: *role });
        all.push(EventKind::BackupDestinationWithdrawn { role: *role });
    }
    // Every variant, named without a wildcard: an event added later fails to
    // compile here until it is listed.
    let listed = |kind: &EventKind| match kind {
        EventKind::EnrollmentStarted { .. }
        | EventKind::EnrollmentConfirmed { .. }
        | EventKind::AuthenticatorImported
        | EventKind::SecretsResealed { .. }
        | EventKind::AuthenticatorRemoved { .. }
        | EventKind::SecurityKeyRegistered { .. }
        | EventKind::NoticeDisowned { .. }
        | EventKind::DisownRefused { .. }
        | EventKind::SecurityKeyRemoved { .. }
        | EventKind::AuthenticatorRenamed { .. }
        | EventKind::SecurityKeyCounterRegressed { .. }
        | EventKind::EnrollmentRejected { .. }
        | EventKind::EnrollmentExpired
        | EventKind::EnrollmentRefused { .. }
        | EventKind::CodeAccepted { .. }
        | EventKind::CodeRejected { .. }
        | EventKind::Resynchronised { .. }
        | EventKind::LockoutStarted { .. }
        | EventKind::LockoutEnded
        | EventKind::SecondFactorDisabled { .. }
        | EventKind::Deactivated
        | EventKind::DeactivationRefused { .. }
        | EventKind::ResetByAdmin { .. }
        | EventKind::RecoveryCodesGenerated { .. }
        | EventKind::RecoveryCodesLow { .. }
        | EventKind::RecoveryCodesExhausted
        | EventKind::RecoveryCodesReplacementDue { .. }
        | EventKind::BackupCodeReserved { .. }
        | EventKind::BackupCodeSent { .. }
        | EventKind::BackupCodeDiscarded { .. }
        | EventKind::BackupCodeNotSent { .. }
        | EventKind::BackupCodeLapsed { .. }
        | EventKind::BackupDestinationAdded { .. }
        | EventKind::BackupDestinationConfirmed { .. }
        | EventKind::BackupDestinationRemoved { .. }
        | EventKind::BackupDestinationWithdrawn { .. }
        | EventKind::DeviceRemembered { .. }
        | EventKind::DeviceAccepted { .. }
        | EventKind::DevicesRevoked { .. }
        | EventKind::OrgSettingsChanged { .. }
        | EventKind::OrgSettingsChangeRefused { .. }
        | EventKind::PasswordChanged
        | EventKind::ResetRefused { .. }
        | EventKind::HostActionAllowed { .. }
        | EventKind::HostActionRefused { .. }
        | EventKind::SignInRefused { .. }
        | EventKind::RefusalsSummarised { .. }
        | EventKind::FutureDatedVoided { .. }
        | EventKind::AuditPruned { .. } => kind.name(),
    };
    let names: std::collections::BTreeSet<&str> = all.iter().map(listed).collect();
    assert_eq!(names.len(), 49, "one sample of each event: {names:?}");
    all
}

#[test]
fn both_catalogues_read_without_errors() {
    for language in Language::ALL {
        let (_, problems) = build(*language);
        assert!(problems.is_empty(), "{language}: {problems:?}");
    }
}

#[test]
fn english_messages_say_word_for_word_what_display_and_sentence_say() {
    for refusal in every_refusal() {
        assert_eq!(refusal.try_message(Language::English), Ok(refusal.to_string()), "{refusal:?}");
    }
    for kind in every_event() {
        assert_eq!(kind.try_message(Language::English), Ok(kind.sentence()), "{kind:?}");
    }
    let context = RequestContext::from_address("203.0.113.7".parse().unwrap());
    let (sarah, partner) = (UserId::new("sarah"), UserId::new("partner"));
    for (actor, context) in [
        (&sarah, &RequestContext::default()),
        (&partner, &RequestContext::default()),
        (&sarah, &context),
        (&partner, &context),
    ] {
        let event = AuditEvent::new(&sarah, actor, 1_751_361_300, context, EventKind::LockoutEnded);
        assert_eq!(event.try_message(Language::English), Ok(event.sentence()));
    }
}

#[test]
fn every_message_formats_in_french_with_french_typography() {
    for text in every_refusal()
        .iter()
        .map(|refusal| refusal.try_message(Language::French))
        .chain(every_event().iter().map(|kind| kind.try_message(Language::French)))
    {
        let text = text.unwrap();
        assert!(!text.contains(" :") && !text.contains(" ;"), "a plain space before : or ; in {text:?}");
        assert!(!text.contains('\'') && !text.contains('{'), "{text:?}");
        assert!(!text.contains('\u{2068}') && !text.contains('\u{2069}'), "isolation marks in {text:?}");
    }
    assert_eq!(
        Refusal::WrongCode { attempts_left: 1 }.message(Language::French),
        "Ce code n’est pas correct. Vérifiez-le et réessayez (1 essai restant)."
    );
    assert_eq!(
        Refusal::LockedOut { until: 1_751_362_200 }.message(Language::French),
        "Trop de codes erronés. Réessayez après le 1er juillet 2025 à 9\u{a0}h\u{a0}30 UTC."
    );
    let old = OrgSettings::default();
    let mut new = old.clone();
    new.lockout.max_failures = 3;
    new.enforce_for_all = true;
    let kind =
        EventKind::OrgSettingsChanged { org: "smith-co".into(), old: Box::new(old), new: Box::new(new) };
    assert_eq!(
        kind.message(Language::French),
        "Paramètres MFA de smith-co modifiés\u{a0}: enforce_for_all de false à true\u{202f}; \
         lockout.max_failures de 5 à 3."
    );
}

#[test]
fn an_audit_line_in_french_says_when_who_and_where() {
    let context = RequestContext::from_address("203.0.113.7".parse().unwrap());
    let event = AuditEvent::new(
        &UserId::new("sarah"),
        &UserId::new("partner"),
        1_751_361_300,
        &context,
        EventKind::LockoutStarted { until: 1_751_362_200 },
    );
    assert_eq!(
        event.message(Language::French),
        "1er juillet 2025 à 9\u{a0}h\u{a0}15 UTC, sarah (par partner) depuis 203.0.113.7\u{a0}: \
         Verrouillage après trop de codes erronés, jusqu’au 1er juillet 2025 à 9\u{a0}h\u{a0}30 UTC."
    );
}

#[test]
fn languages_parse_from_tags_and_read_back_by_id() {
    for (tag, language) in
        [("fr", Language::French), ("fr-CA", Language::French), ("FR_ch", Language::French)]
            .into_iter()
            .chain([("en", Language::English), ("en-GB", Language::English), (" en-US ", Language::English)])
    {
        assert_eq!(Language::from_tag(tag), Ok(language), "{tag}");
    }
    for bad in ["de", "pt-BR", "", "not a tag", "x"] {
        let error = Language::from_tag(bad).unwrap_err();
        assert!(error.to_string().contains("not a known language"), "{error}");
    }
    assert_eq!(Language::first_supported(["de-CH", "fr-CH", "en"]), Some(Language::French));
    assert_eq!(Language::first_supported(["de"]), None);
    for language in Language::ALL {
        assert_eq!(language.as_str().parse::<Language>(), Ok(*language));
        let json = serde_json::to_string(language).unwrap();
        assert_eq!(json, format!("\"{language}\""));
    }
    assert_eq!(Language::default(), Language::English);
}

#[test]
fn a_missing_message_falls_back_and_never_panics() {
    let args = FluentArgs::new();
    let error = format(Language::French, "no-such-message", &args).unwrap_err();
    assert_eq!(error.problems, ["no such message"]);
    assert!(error.to_string().contains("no-such-message"), "{error}");
    // A message whose argument is missing reports it rather than printing `{$until}`.
    let error = format(Language::French, "refusal-locked_out", &args).unwrap_err();
    assert!(!error.problems.is_empty());
    let text = with_fallback(Language::French, || "the-id".into(), |_| Err(error.clone()));
    assert_eq!(text, "the-id");
    assert!(!french_time(u64::MAX, true).is_empty(), "the far future does not panic");
}
