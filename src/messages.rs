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
//! [`OrgSettings`] it stores, and passes it to each call;
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
//! # Ok::<(), mfa_kit::UnknownId>(())
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
use crate::policy::OrgSettings;
use crate::vocabulary::utc::{civil, minute_after, utc_exact, utc_minute};
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

    /// The reader's language from an HTTP `Accept-Language` header's value: the
    /// supported language of the highest quality weight (`q`), the first listed among
    /// equals; English when none is supported or the header is absent or garbled.
    /// Weights of 0 ("not this one") are skipped.
    ///
    /// ```
    /// use mfa_kit::messages::Language;
    ///
    /// assert_eq!(Language::from_accept_language("de-CH, fr;q=0.8, en;q=0.5"), Language::French);
    /// assert_eq!(Language::from_accept_language("fr;q=0.2, en-GB"), Language::English);
    /// assert_eq!(Language::from_accept_language("fr;q=0"), Language::English);
    /// assert_eq!(Language::from_accept_language(""), Language::English);
    /// ```
    pub fn from_accept_language(header: &str) -> Language {
        let weighted = header.split(',').filter_map(|item| {
            let mut parts = item.split(';');
            let language = Language::from_tag(parts.next()?.trim()).ok()?;
            let q = parts
                // The weight's name is case-insensitive (RFC 9110 §12.4.2): `q=` or `Q=`.
                .find_map(|param| {
                    let param = param.trim();
                    param.get(..2).filter(|name| name.eq_ignore_ascii_case("q=")).map(|_| &param[2..])
                })
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok().filter(|q| q.is_finite()))?;
            (q > 0.0).then_some((language, q))
        });
        // The first of the highest weight: a later one wins only with a higher weight.
        weighted
            .fold(None, |best: Option<(Language, f32)>, (language, q)| match best {
                Some((_, best_q)) if best_q >= q => best,
                _ => Some((language, q)),
            })
            .map_or(Language::English, |(language, _)| language)
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
            Language::French => french_time(secs, false),
        }
    }

    /// `secs` as [`Language::time`] writes it when it is a whole minute, with its
    /// seconds otherwise: a time an audit sentence states as a fact.
    fn exact_time(self, secs: u64) -> String {
        match self {
            Language::English => utc_exact(secs),
            Language::French => french_time(secs, !secs.is_multiple_of(60)),
        }
    }
}

/// `secs` as `1er juillet 2025 à 9 h 30 UTC`, with no-break spaces inside the hour;
/// `with_seconds`, as `… à 9 h 30 min 15 s UTC`.
fn french_time(secs: u64, with_seconds: bool) -> String {
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
    let (year, month, day, hour, minute, second) = civil(secs);
    let month = usize::try_from(month.saturating_sub(1)).ok().and_then(|m| MONTHS.get(m)).unwrap_or(&"");
    let day = if day == 1 { "1er".to_string() } else { day.to_string() };
    let seconds = if with_seconds { format!("\u{a0}min\u{a0}{second:02}\u{a0}s") } else { String::new() };
    format!("{day} {month} {year} à {hour}\u{a0}h\u{a0}{minute:02}{seconds} UTC")
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
        // Every message is one line: an argument a user or an admin typed (a user id,
        // a reset reason) has its line breaks written as escapes.
        Ok(crate::event::one_line(text.into_owned()))
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
            // "Try again after": the minute shown is never before the time itself.
            Refusal::LockedOut { until } => args.set("until", language.time(minute_after(*until))),
            Refusal::RateLimited { retry_at } => args.set("retry_at", language.time(minute_after(*retry_at))),
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

/// How many settings differ from `old` in `new`, and the list of them in the words of
/// `language` (`lockout.max_failures from 5 to 3; ...`).
fn settings_changes(
    language: Language,
    old: &OrgSettings,
    new: &OrgSettings,
) -> Result<(usize, String), MessageError> {
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
    Ok((changes.len(), parts.join(&separator)))
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
        format!("event-{}", self.name())
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
            EventKind::EnrollmentStarted { expires_at } => {
                args.set("expires_at", language.exact_time(*expires_at))
            }
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
            EventKind::LockoutStarted { until } => args.set("until", time(minute_after(*until))),
            EventKind::SecondFactorDisabled { failures } => args.set("failures", *failures),
            EventKind::DeactivationRefused { reason } => args.set("reason", reason.as_str()),
            EventKind::ResetByAdmin { reason, cleared, mode } => {
                args.set("reason", reason.clone());
                args.set("cleared", joined(cleared.iter().map(|c| c.as_str())));
                args.set("mode", mode.as_str());
            }
            EventKind::RecoveryCodesGenerated { count } => args.set("count", *count),
            EventKind::SecretsResealed { count, key_id } => {
                args.set("count", *count);
                args.set("key_id", key_id.clone());
            }
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
            EventKind::BackupCodeLapsed { role }
            | EventKind::BackupDestinationRemoved { role }
            | EventKind::BackupDestinationWithdrawn { role } => {
                set_role(&mut args, language, *role)?;
            }
            EventKind::BackupDestinationAdded { role, to, .. }
            | EventKind::BackupDestinationConfirmed { role, to, .. } => {
                set_role(&mut args, language, *role)?;
                args.set("to", to.clone());
            }
            EventKind::DeviceRemembered { label, expires_at, .. } => {
                args.set("label", label.clone());
                args.set("expires_at", language.exact_time(*expires_at));
            }
            EventKind::DevicesRevoked { device_ids, reason } => {
                args.set("count", device_ids.len());
                args.set("reason", reason.as_str());
            }
            EventKind::OrgSettingsChanged { org, old, new } => {
                let (count, changes) = settings_changes(language, old, new)?;
                args.set("org", org.clone());
                args.set("count", count);
                args.set("changes", changes);
            }
            EventKind::OrgSettingsChangeRefused { org, reason } => {
                args.set("org", org.clone());
                args.set("reason", reason.clone());
            }
            EventKind::ResetRefused { reason } => args.set("reason", reason.clone()),
            EventKind::HostActionAllowed { action } => args.set("action", action.clone()),
            EventKind::HostActionRefused { action, refusal } => {
                args.set("action", action.clone());
                args.set("refusal", refusal.clone());
            }
            EventKind::SignInRefused { reason } => args.set("reason", reason.as_str()),
            EventKind::RefusalsSummarised { refused, since } => {
                args.set("refused", *refused);
                args.set("since", time(*since));
            }
            EventKind::AuditPruned { before, deleted } => {
                args.set("deleted", *deleted);
                args.set("before", language.exact_time(*before));
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
mod tests;
