//! Refusals and audit events in the user's language (cargo feature `messages`).
//!
//! Every [`Refusal`] and every [`EventKind`] has a message with a stable id in each
//! catalogue: `refusal-` and the refusal's [`Refusal::code`] (`refusal-wrong_code`),
//! `event-` and the event's serialised kind (`event-lockout_started`). The catalogues
//! are [Fluent](https://projectfluent.org/) files beside this module, built into the
//! crate: English (`en`, the words of `Refusal`'s `Display` and
//! [`EventKind::sentence`], which stay as they are) and French (`fr`).
//!
//! The host chooses the [`Language`] per call: from the user's profile, the browser's
//! `Accept-Language` ([`Language::first_supported`]) or the organisation. For a
//! language per organisation, the host keeps the language's id (`"en"`, `"fr"`: its
//! serialised form and [`Language::as_str`]) in its own organisation table beside the
//! [`OrgSettings`](crate::policy::OrgSettings) it stores, and passes it to each call;
//! the settings themselves hold no language.
//!
//! ```
//! use mfa_kit::Refusal;
//! use mfa_kit::messages::Language;
//!
//! let refusal = Refusal::WrongCode { attempts_left: 2 };
//! assert_eq!(refusal.message(Language::French), "Ce code n’est pas correct. Vérifiez-le et réessayez (2 essais restants).");
//! assert_eq!(refusal.message(Language::English), refusal.to_string());
//!
//! let language: Language = Language::from_tag("fr-CA")?;
//! assert_eq!(language, Language::French);
//! # Ok::<(), mfa_kit::vocabulary::UnknownId>(())
//! ```
//!
//! Messages are plain text (no Unicode isolation marks) and never hold a secret or a
//! code: their arguments are the figures an event or refusal carries (tries left, a
//! time, a masked destination, a name the user gave). Formatting never panics:
//! [`Refusal::message`] falls back to English, then to the id; [`Refusal::try_message`]
//! says what went wrong instead, for tests.

use std::str::FromStr;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use unic_langid::LanguageIdentifier;

use crate::event::{AuditEvent, EventKind};
use crate::vocabulary::utc::{civil, utc_minute};
use crate::vocabulary::{Method, Refusal, Role, UnknownId};

/// A language the catalogues are written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Language {
    /// English (`en`).
    #[default]
    #[serde(rename = "en")]
    English,
    /// French (`fr`), addressing the user as *vous*.
    #[serde(rename = "fr")]
    French,
}

crate::vocabulary::stable_ids!("language", Language {
    English => "en",
    French => "fr",
});

impl Language {
    /// The language of a BCP 47 tag (`fr`, `fr-CA`, `en-GB`, `EN_us`): its primary
    /// language subtag decides, so every French or English variant gets its
    /// catalogue.
    ///
    /// # Errors
    /// [`UnknownId`] for a tag that is not well formed or names a language with no
    /// catalogue (`de`, `pt-BR`).
    ///
    /// ```
    /// use mfa_kit::messages::Language;
    /// assert_eq!(Language::from_tag("en-GB").unwrap(), Language::English);
    /// assert!(Language::from_tag("de-CH").is_err());
    /// ```
    pub fn from_tag(tag: &str) -> Result<Language, UnknownId> {
        let unknown = || UnknownId {
            text: tag.chars().take(64).collect(),
            kind: "language",
            expected: "en fr (or a tag such as fr-CA)",
        };
        let parsed = LanguageIdentifier::from_str(tag.trim()).map_err(|_| unknown())?;
        Language::from_str(parsed.language.as_str()).map_err(|_| unknown())
    }

    /// The first language of `tags` (in the order given) that has a catalogue, or
    /// `None`: for a list such as an `Accept-Language` header's, split and ordered by
    /// the host (`["de-CH", "fr-CH", "en"]` gives French).
    pub fn first_supported<'a>(tags: impl IntoIterator<Item = &'a str>) -> Option<Language> {
        tags.into_iter().find_map(|tag| Language::from_tag(tag).ok())
    }

    fn source(self) -> &'static str {
        match self {
            Language::English => include_str!("messages/en.ftl"),
            Language::French => include_str!("messages/fr.ftl"),
        }
    }

    /// `secs` (seconds since the Unix epoch) as a time in this language's words.
    fn time(self, secs: u64) -> String {
        match self {
            Language::English => utc_minute(secs),
            Language::French => french_minute(secs),
        }
    }
}

/// `secs` as `1er juillet 2025 à 9 h 30 UTC`, with no-break spaces inside the hour.
fn french_minute(secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let (year, month, day, hour, minute, _) = civil(secs);
    let month = usize::try_from(month.saturating_sub(1)).ok().and_then(|m| MONTHS.get(m)).unwrap_or(&"");
    let day = if day == 1 { "1er".to_string() } else { day.to_string() };
    format!("{day} {month} {year} à {hour}\u{a0}h\u{a0}{minute:02} UTC")
}

/// A message that could not be formatted as its catalogue writes it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("message {id} of the {language} catalogue: {}", problems.join("; "))]
#[non_exhaustive]
pub struct MessageError {
    /// The catalogue.
    pub language: Language,
    /// The message's id.
    pub id: String,
    /// What Fluent reported (a missing message, a missing argument, ...).
    pub problems: Vec<String>,
}

type Bundle = FluentBundle<FluentResource>;

/// The catalogue of `language`, parsed once. A catalogue with a syntax error keeps the
/// messages that parsed (a test pins that there are none).
fn catalogue(language: Language) -> &'static Bundle {
    static ENGLISH: OnceLock<Bundle> = OnceLock::new();
    static FRENCH: OnceLock<Bundle> = OnceLock::new();
    let cell = match language {
        Language::English => &ENGLISH,
        Language::French => &FRENCH,
    };
    cell.get_or_init(|| build(language).0)
}

/// The catalogue of `language` and what went wrong reading it.
fn build(language: Language) -> (Bundle, Vec<String>) {
    let mut problems = Vec::new();
    let resource =
        FluentResource::try_new(language.source().to_owned()).unwrap_or_else(|(partial, errors)| {
            problems.extend(errors.iter().map(ToString::to_string));
            partial
        });
    let locale = LanguageIdentifier::from_str(language.as_str()).unwrap_or_default();
    let mut bundle = Bundle::new_concurrent(vec![locale]);
    bundle.set_use_isolating(false);
    if let Err(errors) = bundle.add_resource(resource) {
        problems.extend(errors.iter().map(ToString::to_string));
    }
    (bundle, problems)
}

/// The message `id` of `language` with `args`.
fn format(language: Language, id: &str, args: &FluentArgs<'_>) -> Result<String, MessageError> {
    let failed = |problems: Vec<String>| MessageError { language, id: id.to_owned(), problems };
    let bundle = catalogue(language);
    let pattern = bundle
        .get_message(id)
        .and_then(|message| message.value())
        .ok_or_else(|| failed(vec!["no such message".into()]))?;
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(args), &mut errors);
    if errors.is_empty() {
        Ok(text.into_owned())
    } else {
        Err(failed(errors.iter().map(ToString::to_string).collect()))
    }
}

/// `render` in `language`, or else in English, or else the id: never fails.
fn with_fallback(
    language: Language,
    id: impl FnOnce() -> String,
    render: impl Fn(Language) -> Result<String, MessageError>,
) -> String {
    render(language).or_else(|_| render(Language::English)).unwrap_or_else(|_| id())
}

impl Refusal {
    /// The id of this refusal's message in every catalogue: `refusal-` and its
    /// [`code`](Refusal::code).
    pub fn message_id(&self) -> String {
        format!("refusal-{}", self.code())
    }

    /// What the user is told, in `language`. Falls back to English, then to the
    /// message id, if the catalogue cannot give it (it always can: a test checks).
    pub fn message(&self, language: Language) -> String {
        with_fallback(language, || self.message_id(), |language| self.try_message(language))
    }

    /// What the user is told, in `language`.
    ///
    /// # Errors
    /// [`MessageError`] if the catalogue lacks the message or an argument it uses.
    pub fn try_message(&self, language: Language) -> Result<String, MessageError> {
        format(language, &self.message_id(), &self.message_args(language))
    }

    fn message_args(&self, language: Language) -> FluentArgs<'static> {
        let mut args = FluentArgs::new();
        // Every variant, named: a refusal added later fails to compile here until listed.
        match self {
            Refusal::WrongCode { attempts_left }
            | Refusal::CodeReused { attempts_left }
            | Refusal::KeyRejected { attempts_left } => args.set("attempts_left", *attempts_left),
            Refusal::LockedOut { until } => args.set("until", language.time(*until)),
            Refusal::RateLimited { retry_at } => args.set("retry_at", language.time(*retry_at)),
            Refusal::Forbidden(reason) => args.set("reason", reason.as_str()),
            Refusal::NoDestination(role) => args.set("role", role.as_str()),
            Refusal::InvalidSettings(detail) => args.set("detail", detail.clone()),
            Refusal::SessionEnded(end) => args.set("end", end.as_str()),
            Refusal::Malformed
            | Refusal::CodeExpired
            | Refusal::NoCodePending
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
            | Refusal::LastFactor
            | Refusal::SameAsPrimary
            | Refusal::RememberDisabled
            | Refusal::ReasonRequired
            | Refusal::SelfReset
            | Refusal::ActorWithoutMfa
            | Refusal::NotPermitted
            | Refusal::KeyResponseMalformed
            | Refusal::KeyNotRegistered
            | Refusal::NoCeremonyPending
            | Refusal::CeremonyExpired
            | Refusal::KeyAlreadyRegistered
            | Refusal::PhishingResistantRequired
            | Refusal::AccountFrozen
            | Refusal::DisownLinkInvalid
            | Refusal::DisownLinkUsed
            | Refusal::DisownLinkExpired => {}
        }
        args
    }
}

/// The event's serialised kind, as its message id ends.
fn event_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::EnrollmentStarted { .. } => "enrollment_started",
        EventKind::EnrollmentConfirmed { .. } => "enrollment_confirmed",
        EventKind::AuthenticatorImported => "authenticator_imported",
        EventKind::AuthenticatorRemoved { .. } => "authenticator_removed",
        EventKind::SecurityKeyRegistered { .. } => "security_key_registered",
        EventKind::NoticeDisowned { .. } => "notice_disowned",
        EventKind::DisownRefused { .. } => "disown_refused",
        EventKind::SecurityKeyRemoved { .. } => "security_key_removed",
        EventKind::AuthenticatorRenamed { .. } => "authenticator_renamed",
        EventKind::SecurityKeyCounterRegressed { .. } => "security_key_counter_regressed",
        EventKind::EnrollmentRejected { .. } => "enrollment_rejected",
        EventKind::EnrollmentExpired => "enrollment_expired",
        EventKind::EnrollmentRefused { .. } => "enrollment_refused",
        EventKind::CodeAccepted { .. } => "code_accepted",
        EventKind::CodeRejected { .. } => "code_rejected",
        EventKind::Resynchronised { .. } => "resynchronised",
        EventKind::LockoutStarted { .. } => "lockout_started",
        EventKind::LockoutEnded => "lockout_ended",
        EventKind::SecondFactorDisabled { .. } => "second_factor_disabled",
        EventKind::Deactivated => "deactivated",
        EventKind::DeactivationRefused { .. } => "deactivation_refused",
        EventKind::ResetByAdmin { .. } => "reset_by_admin",
        EventKind::RecoveryCodesGenerated { .. } => "recovery_codes_generated",
        EventKind::RecoveryCodesLow { .. } => "recovery_codes_low",
        EventKind::RecoveryCodesExhausted => "recovery_codes_exhausted",
        EventKind::RecoveryCodesReplacementDue { .. } => "recovery_codes_replacement_due",
        EventKind::BackupCodeReserved { .. } => "backup_code_reserved",
        EventKind::BackupCodeSent { .. } => "backup_code_sent",
        EventKind::BackupCodeDiscarded { .. } => "backup_code_discarded",
        EventKind::BackupCodeNotSent { .. } => "backup_code_not_sent",
        EventKind::BackupCodeLapsed { .. } => "backup_code_lapsed",
        EventKind::BackupDestinationAdded { .. } => "backup_destination_added",
        EventKind::BackupDestinationConfirmed { .. } => "backup_destination_confirmed",
        EventKind::BackupDestinationRemoved { .. } => "backup_destination_removed",
        EventKind::DeviceRemembered { .. } => "device_remembered",
        EventKind::DeviceAccepted { .. } => "device_accepted",
        EventKind::DevicesRevoked { .. } => "devices_revoked",
        EventKind::OrgSettingsChanged { .. } => "org_settings_changed",
        EventKind::OrgSettingsChangeRefused { .. } => "org_settings_change_refused",
        EventKind::PasswordChanged => "password_changed",
        EventKind::ResetRefused { .. } => "reset_refused",
        EventKind::SignInRefused { .. } => "sign_in_refused",
        EventKind::RefusalsSummarised { .. } => "refusals_summarised",
        EventKind::FutureDatedVoided { .. } => "future_dated_voided",
    }
}

/// A method as the words of `language` (`method-totp`): `method`, and `method_start`
/// with a capital.
fn set_method(
    args: &mut FluentArgs<'static>,
    language: Language,
    method: Method,
) -> Result<(), MessageError> {
    let words = format(language, &format!("method-{method}"), &FluentArgs::new())?;
    let mut chars = words.chars();
    let start: String =
        chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default();
    args.set("method", words);
    args.set("method_start", start);
    Ok(())
}

/// A destination's role as the words of `language` (`role-backup`).
fn set_role(args: &mut FluentArgs<'static>, language: Language, role: Role) -> Result<(), MessageError> {
    args.set("role", format(language, &format!("role-{role}"), &FluentArgs::new())?);
    Ok(())
}

fn yes_no(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

fn joined<T: AsRef<str>>(items: impl IntoIterator<Item = T>) -> String {
    items.into_iter().map(|item| item.as_ref().to_owned()).collect::<Vec<_>>().join(", ")
}

impl EventKind {
    /// The id of this event's message in every catalogue: `event-` and the event's
    /// serialised kind (`event-lockout_started`).
    pub fn message_id(&self) -> String {
        format!("event-{}", event_name(self))
    }

    /// What happened, as one sentence in `language` for an admin's log. Falls back to
    /// English, then to the message id (a test checks it never has to). Never holds a
    /// secret or a code (the event holds none).
    pub fn message(&self, language: Language) -> String {
        with_fallback(language, || self.message_id(), |language| self.try_message(language))
    }

    /// What happened, as one sentence in `language` for an admin's log.
    ///
    /// # Errors
    /// [`MessageError`] if the catalogue lacks the message or an argument it uses.
    pub fn try_message(&self, language: Language) -> Result<String, MessageError> {
        format(language, &self.message_id(), &self.message_args(language)?)
    }

    fn message_args(&self, language: Language) -> Result<FluentArgs<'static>, MessageError> {
        let mut args = FluentArgs::new();
        let time = |secs: u64| language.time(secs);
        // Every variant, named: an event added later fails to compile here until listed.
        match self {
            EventKind::EnrollmentStarted { expires_at } => args.set("expires_at", time(*expires_at)),
            EventKind::EnrollmentConfirmed { replaced } => args.set("replaced", yes_no(*replaced)),
            EventKind::AuthenticatorRemoved { name, .. }
            | EventKind::SecurityKeyRemoved { name, .. }
            | EventKind::AuthenticatorRenamed { name, .. } => args.set("name", name.clone()),
            EventKind::SecurityKeyRegistered { name, discoverable, .. } => {
                args.set("name", name.clone());
                args.set("discoverable", yes_no(*discoverable));
            }
            EventKind::NoticeDisowned { event_id, revoked } => {
                args.set("event_id", event_id.to_string());
                args.set("revoked", joined(revoked));
                args.set("revoked_count", revoked.len());
            }
            EventKind::DisownRefused { refusal } | EventKind::EnrollmentRefused { refusal } => {
                args.set("refusal", refusal.clone());
            }
            EventKind::SecurityKeyCounterRegressed { authenticator, stored, presented, accepted } => {
                args.set("authenticator", authenticator.clone());
                args.set("stored", *stored);
                args.set("presented", *presented);
                args.set("accepted", yes_no(*accepted));
            }
            EventKind::EnrollmentRejected { reason } => args.set("reason", reason.as_str()),
            EventKind::CodeAccepted { method, drift } => {
                set_method(&mut args, language, *method)?;
                let drift = match drift {
                    Some(drift) if *drift != 0 => format!("{drift:+}"),
                    _ => "none".into(),
                };
                args.set("drift", drift);
            }
            EventKind::CodeRejected { method, reason, consecutive_failures } => {
                set_method(&mut args, language, *method)?;
                args.set("reason", reason.as_str());
                args.set("consecutive_failures", *consecutive_failures);
            }
            EventKind::Resynchronised { drift } => args.set("drift", format!("{drift:+}")),
            EventKind::LockoutStarted { until } => args.set("until", time(*until)),
            EventKind::SecondFactorDisabled { failures } => args.set("failures", *failures),
            EventKind::DeactivationRefused { reason } => args.set("reason", reason.as_str()),
            EventKind::ResetByAdmin { reason, cleared, mode } => {
                args.set("reason", reason.clone());
                args.set("cleared", joined(cleared.iter().map(|c| c.as_str())));
                args.set("mode", mode.as_str());
            }
            EventKind::RecoveryCodesGenerated { count } => args.set("count", *count),
            EventKind::RecoveryCodesLow { remaining }
            | EventKind::RecoveryCodesReplacementDue { remaining } => {
                args.set("remaining", *remaining);
            }
            EventKind::BackupCodeReserved { method, to, .. }
            | EventKind::BackupCodeSent { method, to, .. } => {
                set_method(&mut args, language, *method)?;
                args.set("to", to.clone());
            }
            EventKind::BackupCodeDiscarded { method } | EventKind::BackupCodeNotSent { method } => {
                set_method(&mut args, language, *method)?;
            }
            EventKind::BackupCodeLapsed { role } | EventKind::BackupDestinationRemoved { role } => {
                set_role(&mut args, language, *role)?;
            }
            EventKind::BackupDestinationAdded { role, to, .. }
            | EventKind::BackupDestinationConfirmed { role, to, .. } => {
                set_role(&mut args, language, *role)?;
                args.set("to", to.clone());
            }
            EventKind::DeviceRemembered { label, expires_at, .. } => {
                args.set("label", label.clone());
                args.set("expires_at", time(*expires_at));
            }
            EventKind::DevicesRevoked { device_ids, reason } => {
                args.set("count", device_ids.len());
                args.set("reason", reason.as_str());
            }
            EventKind::OrgSettingsChanged { org, old, new } => {
                let changes = old.changes_to(new);
                let mut parts = Vec::with_capacity(changes.len());
                for change in &changes {
                    let mut part = FluentArgs::new();
                    part.set("setting", change.setting);
                    part.set("from", change.from.clone());
                    part.set("to", change.to.clone());
                    parts.push(format(language, "setting-change", &part)?);
                }
                let separator = format(language, "setting-change-separator", &FluentArgs::new())?;
                args.set("org", org.clone());
                args.set("count", changes.len());
                args.set("changes", parts.join(&separator));
            }
            EventKind::OrgSettingsChangeRefused { org, reason } => {
                args.set("org", org.clone());
                args.set("reason", reason.clone());
            }
            EventKind::ResetRefused { reason } => args.set("reason", reason.clone()),
            EventKind::SignInRefused { reason } => args.set("reason", reason.as_str()),
            EventKind::RefusalsSummarised { refused, since } => {
                args.set("refused", *refused);
                args.set("since", time(*since));
            }
            EventKind::FutureDatedVoided { reading, voided } => {
                args.set("reading", time(*reading));
                args.set("voided", joined(voided.iter().map(|v| v.as_str())));
            }
            EventKind::AuthenticatorImported
            | EventKind::EnrollmentExpired
            | EventKind::LockoutEnded
            | EventKind::Deactivated
            | EventKind::RecoveryCodesExhausted
            | EventKind::DeviceAccepted { .. }
            | EventKind::PasswordChanged => {}
        }
        Ok(args)
    }
}

impl AuditEvent {
    /// The event as one line of an admin's log in `language`: when, whose account
    /// (and who acted, if someone else), from where, and what happened. Falls back to
    /// English, then to the event's message id.
    pub fn message(&self, language: Language) -> String {
        with_fallback(language, || self.kind.message_id(), |language| self.try_message(language))
    }

    /// The event as one line of an admin's log in `language`.
    ///
    /// # Errors
    /// [`MessageError`] if the catalogue lacks a message or an argument it uses.
    pub fn try_message(&self, language: Language) -> Result<String, MessageError> {
        let mut args = FluentArgs::new();
        args.set("at", language.time(self.at));
        args.set("user", self.user.as_str().to_owned());
        args.set("what", self.kind.try_message(language)?);
        let by = self.actor != self.user;
        if by {
            args.set("actor", self.actor.as_str().to_owned());
        }
        if let Some(address) = self.context.address {
            args.set("address", FluentValue::from(address.to_string()));
        }
        let id = match (by, self.context.address.is_some()) {
            (false, false) => "event-line",
            (true, false) => "event-line-by",
            (false, true) => "event-line-from",
            (true, true) => "event-line-by-from",
        };
        format(language, id, &args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Level, OrgSettings};
    use crate::vocabulary::{
        Cleared, EnrollmentRejection, Purpose, Reason, RejectionReason, RequestContext, ResetMode,
        Revocation, SessionEnd, UserId, Voided,
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
            EventKind::NoticeDisowned {
                event_id: 4711,
                revoked: vec!["recovery_codes".into(), "5be0".into()],
            },
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
                method: Method::Sms,
                role: Role::Backup,
                to: "•••678".into(),
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
            EventKind::DevicesRevoked {
                device_ids: vec!["d1".into(), "d2".into()],
                reason: Revocation::Reset,
            },
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
            EventKind::SignInRefused { reason: RejectionReason::PolicyRefused },
            EventKind::RefusalsSummarised { refused: 12, since: 1_751_360_000 },
            EventKind::RefusalsSummarised { refused: 1, since: 1_751_360_000 },
            EventKind::FutureDatedVoided {
                reading: 1_751_360_000,
                voided: vec![Voided::Code, Voided::Lockout],
            },
        ];
        for method in Method::ALL {
            all.push(EventKind::CodeAccepted { method: *method, drift: None });
            all.push(EventKind::BackupCodeNotSent { method: *method });
        }
        for role in Role::ALL {
            all.push(EventKind::BackupCodeLapsed { role: *role });
            all.push(EventKind::BackupDestinationRemoved { role: *role });
        }
        // Every variant, named without a wildcard: an event added later fails to
        // compile here until it is listed.
        let listed = |kind: &EventKind| match kind {
            EventKind::EnrollmentStarted { .. }
            | EventKind::EnrollmentConfirmed { .. }
            | EventKind::AuthenticatorImported
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
            | EventKind::DeviceRemembered { .. }
            | EventKind::DeviceAccepted { .. }
            | EventKind::DevicesRevoked { .. }
            | EventKind::OrgSettingsChanged { .. }
            | EventKind::OrgSettingsChangeRefused { .. }
            | EventKind::PasswordChanged
            | EventKind::ResetRefused { .. }
            | EventKind::SignInRefused { .. }
            | EventKind::RefusalsSummarised { .. }
            | EventKind::FutureDatedVoided { .. } => event_name(kind),
        };
        let names: std::collections::BTreeSet<&str> = all.iter().map(listed).collect();
        assert_eq!(names.len(), 44, "one sample of each event: {names:?}");
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
                .chain([
                    ("en", Language::English),
                    ("en-GB", Language::English),
                    (" en-US ", Language::English),
                ])
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
        assert!(!french_minute(u64::MAX).is_empty(), "the far future does not panic");
    }
}
