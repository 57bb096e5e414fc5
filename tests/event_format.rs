//! The serialised form of every audit event, pinned: a host's audit table outlives
//! versions of this crate, so any change to it is deliberate and noted in the
//! changelog. The table in the `event` module's docs lists the same kinds.

use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::policy::OrgSettings;
use mfa_kit::{
    Cleared, Method, Purpose, Reason, RequestContext, ResetMode, Revocation, Role, UserId, Voided,
};
use mfa_kit::{EnrollmentRejection, RejectionReason};

fn every_kind() -> Vec<EventKind> {
    let settings = OrgSettings::default();
    vec![
        EventKind::EnrollmentStarted { expires_at: 1_700_000_600 },
        EventKind::EnrollmentConfirmed { replaced: true },
        EventKind::AuthenticatorImported,
        EventKind::SecretsResealed { count: 2, key_id: "2026-12".into() },
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
        EventKind::SecurityKeyRemoved { authenticator: "5be0c3a1d2e4f607".into(), name: "YubiKey".into() },
        EventKind::NoticeDisowned { event_id: 4711, revoked: vec!["recovery_codes".into()] },
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
        EventKind::EnrollmentRejected { reason: EnrollmentRejection::NotConsecutive },
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
            role: Role::Primary,
            to: "•••678".into(),
        },
        EventKind::BackupDestinationRemoved { role: Role::Backup },
        EventKind::BackupDestinationWithdrawn { role: Role::Backup },
        EventKind::DeviceRemembered {
            device_id: "0a69".into(),
            label: "laptop".into(),
            expires_at: 1_700_043_200,
        },
        EventKind::DeviceAccepted { device_id: "0a69".into() },
        EventKind::DevicesRevoked { device_ids: vec!["0a69".into()], reason: Revocation::PasswordChanged },
        EventKind::OrgSettingsChanged {
            org: "smith-co".into(),
            old: Box::new(settings.clone()),
            new: Box::new(settings.with_level("practitioner", mfa_kit::policy::Level::Mandatory)),
        },
        EventKind::OrgSettingsChangeRefused { org: "smith-co".into(), reason: "not permitted".into() },
        EventKind::ResetRefused { reason: "no reason given".into() },
        EventKind::HostActionAllowed { action: "change_bank_details".into() },
        EventKind::HostActionRefused { action: "approve_pay_run".into(), refusal: "account_frozen".into() },
        EventKind::PasswordChanged,
        EventKind::SignInRefused { reason: RejectionReason::LockedOut },
        EventKind::RefusalsSummarised { refused: 990, since: 1_700_000_300 },
        EventKind::FutureDatedVoided {
            reading: 1_700_000_000,
            voided: vec![Voided::RememberedDevice, Voided::Proof, Voided::Send],
        },
        EventKind::AuditPruned { before: 1_668_464_000, deleted: 4_812 },
    ]
}

const PINNED: &[&str] = &[
    r#"{"kind":"enrollment_started","expires_at":1700000600}"#,
    r#"{"kind":"enrollment_confirmed","replaced":true}"#,
    r#"{"kind":"authenticator_imported"}"#,
    r#"{"kind":"secrets_resealed","count":2,"key_id":"2026-12"}"#,
    r#"{"kind":"authenticator_removed","authenticator":"0123456789abcdef","name":"Old phone"}"#,
    r#"{"kind":"security_key_registered","authenticator":"5be0c3a1d2e4f607","name":"YubiKey","discoverable":true,"user_verified":true}"#,
    r#"{"kind":"security_key_removed","authenticator":"5be0c3a1d2e4f607","name":"YubiKey"}"#,
    r#"{"kind":"notice_disowned","event_id":4711,"revoked":["recovery_codes"]}"#,
    r#"{"kind":"disown_refused","refusal":"disown_link_used"}"#,
    r#"{"kind":"authenticator_renamed","authenticator":"5be0c3a1d2e4f607","name":"Blue key"}"#,
    r#"{"kind":"security_key_counter_regressed","authenticator":"5be0c3a1d2e4f607","stored":17,"presented":3,"accepted":false}"#,
    r#"{"kind":"code_rejected","method":"security_key","reason":"wrong_origin","consecutive_failures":1}"#,
    r#"{"kind":"enrollment_rejected","reason":"key_rejected"}"#,
    r#"{"kind":"enrollment_rejected","reason":"not_consecutive"}"#,
    r#"{"kind":"enrollment_expired"}"#,
    r#"{"kind":"enrollment_refused","refusal":"fresh_proof_required"}"#,
    r#"{"kind":"code_accepted","method":"totp","drift":-1}"#,
    r#"{"kind":"code_rejected","method":"sms","reason":"replayed","consecutive_failures":2}"#,
    r#"{"kind":"resynchronised","drift":5}"#,
    r#"{"kind":"lockout_started","until":1700000900}"#,
    r#"{"kind":"lockout_ended"}"#,
    r#"{"kind":"second_factor_disabled","failures":100}"#,
    r#"{"kind":"deactivated"}"#,
    r#"{"kind":"deactivation_refused","reason":"jurisdiction_rule"}"#,
    r#"{"kind":"reset_by_admin","reason":"lost phone","cleared":["authenticator","remembered_devices"],"mode":"turn_off"}"#,
    r#"{"kind":"recovery_codes_generated","count":10}"#,
    r#"{"kind":"recovery_codes_low","remaining":2}"#,
    r#"{"kind":"recovery_codes_exhausted"}"#,
    r#"{"kind":"recovery_codes_replacement_due","remaining":9}"#,
    r#"{"kind":"backup_code_sent","method":"email","purpose":"sign_in","to":"s•••@x.example"}"#,
    r#"{"kind":"backup_code_discarded","method":"sms"}"#,
    r#"{"kind":"backup_code_reserved","method":"sms","purpose":"confirm_destination","to":"•••678"}"#,
    r#"{"kind":"backup_code_not_sent","method":"email"}"#,
    r#"{"kind":"backup_code_lapsed","role":"primary"}"#,
    r#"{"kind":"backup_destination_added","method":"sms","role":"backup","to":"•••678"}"#,
    r#"{"kind":"backup_destination_confirmed","method":"sms","role":"primary","to":"•••678"}"#,
    r#"{"kind":"backup_destination_removed","role":"backup"}"#,
    r#"{"kind":"backup_destination_withdrawn","role":"backup"}"#,
    r#"{"kind":"device_remembered","device_id":"0a69","label":"laptop","expires_at":1700043200}"#,
    r#"{"kind":"device_accepted","device_id":"0a69"}"#,
    r#"{"kind":"devices_revoked","device_ids":["0a69"],"reason":"password_changed"}"#,
    r#"{"kind":"org_settings_changed","org":"smith-co","old":{"levels":{},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900,"max_lock_seconds":86400,"hard_limit":100},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"principal_backup":"advisory","allow_self_deactivation":true,"allow_email_codes":true,"allow_sms_codes":true,"max_totp_period":null,"fresh_proof_window":300,"session_lifetime":86400,"session_idle_timeout":7200,"sso_without_mfa":[],"recovery_code_ends_sessions":false,"allow_security_keys":true,"phishing_resistant_for":[],"offer_phishing_resistant":false,"presets":[]},"new":{"levels":{"practitioner":"mandatory"},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900,"max_lock_seconds":86400,"hard_limit":100},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"principal_backup":"advisory","allow_self_deactivation":true,"allow_email_codes":true,"allow_sms_codes":true,"max_totp_period":null,"fresh_proof_window":300,"session_lifetime":86400,"session_idle_timeout":7200,"sso_without_mfa":[],"recovery_code_ends_sessions":false,"allow_security_keys":true,"phishing_resistant_for":[],"offer_phishing_resistant":false,"presets":[]}}"#,
    r#"{"kind":"org_settings_change_refused","org":"smith-co","reason":"not permitted"}"#,
    r#"{"kind":"reset_refused","reason":"no reason given"}"#,
    r#"{"kind":"host_action_allowed","action":"change_bank_details"}"#,
    r#"{"kind":"host_action_refused","action":"approve_pay_run","refusal":"account_frozen"}"#,
    r#"{"kind":"password_changed"}"#,
    r#"{"kind":"sign_in_refused","reason":"locked_out"}"#,
    r#"{"kind":"refusals_summarised","refused":990,"since":1700000300}"#,
    r#"{"kind":"future_dated_voided","reading":1700000000,"voided":["remembered_device","proof","send"]}"#,
    r#"{"kind":"audit_pruned","before":1668464000,"deleted":4812}"#,
];

/// A settings change as stored before sessions had limits: it still reads, with the
/// defaults for the settings it does not name.
const ORG_SETTINGS_CHANGED_BEFORE_SESSION_LIMITS: &str = r#"{"kind":"org_settings_changed","org":"smith-co","old":{"levels":{},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900,"max_lock_seconds":86400,"hard_limit":100},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"allow_self_deactivation":true,"allow_email_codes":true,"allow_sms_codes":true,"max_totp_period":null,"fresh_proof_window":300},"new":{"levels":{"practitioner":"mandatory"},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900,"max_lock_seconds":86400,"hard_limit":100},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"allow_self_deactivation":true,"allow_email_codes":true,"allow_sms_codes":true,"max_totp_period":null,"fresh_proof_window":300}}"#;

/// A reset stored before resets had modes: it reads as one that required enrollment
/// again, which every reset did then.
const RESET_BY_ADMIN_BEFORE_MODES: &str =
    r#"{"kind":"reset_by_admin","reason":"lost phone","cleared":["authenticator","remembered_devices"]}"#;

#[test]
fn a_reset_stored_before_reset_modes_reads_as_requiring_enrollment_again() {
    let kind: EventKind = serde_json::from_str(RESET_BY_ADMIN_BEFORE_MODES).unwrap();
    assert_eq!(
        kind,
        EventKind::ResetByAdmin {
            reason: "lost phone".into(),
            cleared: vec![Cleared::Authenticator, Cleared::RememberedDevices],
            mode: ResetMode::RequireEnrollment,
        }
    );
}

#[test]
fn a_settings_change_stored_before_session_limits_still_reads() {
    let kind: EventKind = serde_json::from_str(ORG_SETTINGS_CHANGED_BEFORE_SESSION_LIMITS).unwrap();
    let EventKind::OrgSettingsChanged { new, .. } = kind else { panic!("{kind:?}") };
    assert_eq!(new.session_lifetime(), OrgSettings::default().session_lifetime());
    assert!(!new.recovery_code_ends_sessions());
}

#[test]
fn every_event_kind_serialises_as_pinned_and_reads_back() {
    let kinds = every_kind();
    assert_eq!(kinds.len(), PINNED.len());
    for (kind, pinned) in kinds.iter().zip(PINNED) {
        let json = serde_json::to_string(kind).unwrap();
        assert_eq!(&json, pinned);
        assert_eq!(&serde_json::from_str::<EventKind>(pinned).unwrap(), kind);
    }
}

#[test]
fn a_whole_event_serialises_with_who_when_outcome_and_where() {
    let context =
        RequestContext::from_address("203.0.113.7".parse().unwrap()).with_device("Firefox on Windows");
    let kind = EventKind::CodeRejected {
        method: Method::Totp,
        reason: RejectionReason::Wrong,
        consecutive_failures: 1,
    };
    let event = AuditEvent::new(&UserId::new("sarah"), &UserId::new("sarah"), 1_700_000_060, &context, kind);
    assert_eq!(
        serde_json::to_string(&event).unwrap(),
        r#"{"user":"sarah","actor":"sarah","at":1700000060,"outcome":"failure","kind":{"kind":"code_rejected","method":"totp","reason":"wrong","consecutive_failures":1},"context":{"address":"203.0.113.7","device":"Firefox on Windows"}}"#
    );
}

#[test]
fn the_documented_table_names_exactly_the_pinned_kinds() {
    let docs = include_str!("../src/event.rs");
    let documented: std::collections::BTreeSet<&str> = docs
        .lines()
        .filter_map(|line| line.strip_prefix("//! | `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|name| *name != "kind") // the header row
        .collect();
    let pinned: std::collections::BTreeSet<String> = PINNED
        .iter()
        .map(|json| {
            serde_json::from_str::<serde_json::Value>(json).unwrap()["kind"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(documented.into_iter().map(String::from).collect::<std::collections::BTreeSet<_>>(), pinned);
}

#[test]
fn what_a_user_is_told_at_once_is_classified_and_routine_events_are_not() {
    use mfa_kit::event::SecurityNotice::*;
    let told: Vec<_> = every_kind().iter().filter_map(EventKind::security_notice).collect();
    assert_eq!(
        told,
        [
            FactorAdded,
            FactorAdded,
            FactorRemoved,
            FactorAdded,
            FactorRemoved,
            LockedOut,
            LockedOut,
            FactorRemoved,
            ResetByAdmin,
            RecoveryCodesRegenerated,
            RecoveryCodesRunningLow,
            RecoveryCodesRunningLow,
            FactorAdded,
            FactorRemoved,
            DeviceRemembered,
        ]
    );
    let recovery = EventKind::CodeAccepted { method: Method::RecoveryCode, drift: None };
    assert_eq!(recovery.security_notice(), Some(SignedInWithRecoveryCode));
    assert_eq!(EventKind::CodeAccepted { method: Method::Totp, drift: Some(0) }.security_notice(), None);
}

#[test]
fn every_event_kind_reads_as_one_sentence_for_an_admin() {
    for kind in every_kind() {
        let sentence = kind.sentence();
        assert!(
            sentence.chars().next().is_some_and(|c| c.is_uppercase() || c.is_ascii_digit()),
            "{sentence}"
        );
        assert!(sentence.ends_with('.') && !sentence.contains('{'), "{sentence}");
    }
}

#[test]
fn every_event_kind_names_itself_by_its_serialised_kind() {
    let mut names = std::collections::BTreeSet::new();
    for kind in every_kind() {
        let json = serde_json::to_value(&kind).unwrap();
        assert_eq!(json["kind"].as_str(), Some(kind.name()), "{kind:?}");
        names.insert(kind.name());
    }
    assert!(names.len() >= 40, "every kind has its own name");
}
