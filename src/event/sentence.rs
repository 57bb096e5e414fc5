//! One sentence per audit event, for an admin's log: what happened, in words, with the
//! figures the event carries (a settings change lists what changed, from what to what).

use super::{AuditEvent, EventKind};
use crate::vocabulary::utc::{minute_after, utc_exact, utc_minute};
use crate::vocabulary::{Method, Role};

fn method_name(method: Method) -> &'static str {
    match method {
        Method::Totp => "an authenticator app code",
        Method::Sms => "a code by SMS",
        Method::Email => "a code by e-mail",
        Method::RecoveryCode => "a recovery code",
        Method::SecurityKey => "a security key",
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Primary => "primary",
        Role::Backup => "backup",
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

impl EventKind {
    /// What happened, as one English sentence for an admin's log, on one line (text a
    /// user or an admin typed has its line breaks written as escapes). Never holds a
    /// secret or a code (the event holds none).
    pub fn sentence(&self) -> String {
        super::one_line(self.words())
    }

    fn words(&self) -> String {
        match self {
            EventKind::EnrollmentStarted { expires_at } => {
                format!("Started setting up an authenticator app (open until {}).", utc_exact(*expires_at))
            }
            EventKind::EnrollmentConfirmed { replaced: true } => {
                "Set up a new authenticator app, replacing the old ones.".into()
            }
            EventKind::EnrollmentConfirmed { replaced: false } => "Set up an authenticator app.".into(),
            EventKind::AuthenticatorImported => "An authenticator was imported from another system.".into(),
            EventKind::SecretsResealed { count: 1, key_id } => {
                format!("Re-sealed 1 secret under the key \"{key_id}\".")
            }
            EventKind::SecretsResealed { count, key_id } => {
                format!("Re-sealed {count} secrets under the key \"{key_id}\".")
            }
            EventKind::AuthenticatorRemoved { name, .. } => format!("Removed the authenticator \"{name}\"."),
            EventKind::SecurityKeyRegistered { name, discoverable, .. } => {
                let what = if *discoverable { "passkey" } else { "security key" };
                format!("Registered the {what} \"{name}\".")
            }
            EventKind::SecurityKeyRemoved { name, .. } => format!("Removed the security key \"{name}\"."),
            EventKind::NoticeDisowned { event_id, revoked } if revoked.is_empty() => format!(
                "The user reported the change of event {event_id} as not theirs: MFA changes frozen, devices and sessions ended."
            ),
            EventKind::NoticeDisowned { event_id, revoked } => format!(
                "The user reported the change of event {event_id} as not theirs: revoked {}; MFA changes frozen, devices and sessions ended.",
                revoked.join(", ")
            ),
            EventKind::DisownRefused { refusal } => {
                format!("A \"this wasn't me\" link was refused ({refusal}).")
            }
            EventKind::AuthenticatorRenamed { name, .. } => {
                format!("Renamed an authenticator to \"{name}\".")
            }
            EventKind::SecurityKeyCounterRegressed { authenticator, stored, presented, accepted } => {
                let then = if *accepted { "accepted under the policy" } else { "refused" };
                format!(
                    "The security key {authenticator} presented signature counter {presented}, not above {stored}: it may be cloned ({then})."
                )
            }
            EventKind::EnrollmentRejected { reason } => {
                format!("An authenticator set-up code was refused ({reason}).")
            }
            EventKind::EnrollmentExpired => "An authenticator set-up expired before it was confirmed.".into(),
            EventKind::EnrollmentRefused { refusal } => {
                format!("Setting up an authenticator was refused ({refusal}).")
            }
            EventKind::CodeAccepted { method, drift: Some(drift) } if *drift != 0 => {
                format!("Signed in with {} (the app's clock {drift:+} steps off).", method_name(*method))
            }
            EventKind::CodeAccepted { method, .. } => format!("Signed in with {}.", method_name(*method)),
            EventKind::CodeRejected { method, reason, consecutive_failures } => format!(
                "Refused {} ({reason}); {consecutive_failures} failed in a row.",
                method_name(*method)
            ),
            EventKind::Resynchronised { drift } => {
                format!("The authenticator app was resynchronised ({drift:+} steps).")
            }
            EventKind::LockoutStarted { until } => {
                format!("Locked out after too many wrong codes, until {}.", utc_minute(minute_after(*until)))
            }
            EventKind::LockoutEnded => "The lockout ended.".into(),
            EventKind::SecondFactorDisabled { failures } => format!(
                "Two-step verification was blocked after {failures} failures without a success, until an admin resets it."
            ),
            EventKind::Deactivated => "Turned two-step verification off.".into(),
            EventKind::DeactivationRefused { reason } => {
                format!("Turning two-step verification off was refused ({reason}).")
            }
            EventKind::ResetByAdmin { reason, cleared, mode } => {
                let cleared: Vec<&str> = cleared.iter().map(|c| c.as_str()).collect();
                let after = match mode {
                    crate::vocabulary::ResetMode::TurnOff => "two-step verification is off",
                    _ => "the user sets it up again at the next sign-in",
                };
                format!(
                    "An admin reset two-step verification (\"{reason}\"); cleared: {}; {after}.",
                    cleared.join(", ")
                )
            }
            EventKind::RecoveryCodesGenerated { count: 1 } => "Generated 1 new recovery code.".into(),
            EventKind::RecoveryCodesGenerated { count } => format!("Generated {count} new recovery codes."),
            EventKind::RecoveryCodesLow { remaining: 1 } => "Only 1 recovery code is left.".into(),
            EventKind::RecoveryCodesLow { remaining } => format!("Only {remaining} recovery codes are left."),
            EventKind::RecoveryCodesExhausted => "Every recovery code has been used.".into(),
            EventKind::RecoveryCodesReplacementDue { remaining } => {
                format!("A recovery code was used; the set should be replaced ({remaining} left).")
            }
            EventKind::BackupCodeReserved { method, to, .. } => {
                format!("Prepared {} for {to}.", method_name(*method))
            }
            EventKind::BackupCodeSent { method, to, .. } => format!("Sent {} to {to}.", method_name(*method)),
            EventKind::BackupCodeDiscarded { method } => {
                format!("Discarded {} after too many wrong tries.", method_name(*method))
            }
            EventKind::BackupCodeNotSent { method } => {
                format!("{} could not be sent; it was taken back.", capitalise(method_name(*method)))
            }
            EventKind::BackupCodeLapsed { role } => {
                format!(
                    "A code for the {} destination lapsed: its sending was never confirmed.",
                    role_name(*role)
                )
            }
            EventKind::BackupDestinationAdded { role, to, .. } => {
                format!("Added {to} as the {} destination (to be confirmed).", role_name(*role))
            }
            EventKind::BackupDestinationConfirmed { role, to, .. } => {
                format!("Confirmed {to} as the {} destination.", role_name(*role))
            }
            EventKind::BackupDestinationRemoved { role } => {
                format!("Removed the {} destination.", role_name(*role))
            }
            EventKind::BackupDestinationWithdrawn { role } => {
                format!("Took back the {} destination, never confirmed.", role_name(*role))
            }
            EventKind::DeviceRemembered { label, expires_at, .. } => {
                format!("Remembered the device \"{label}\" until {}.", utc_exact(*expires_at))
            }
            EventKind::DeviceAccepted { .. } => "Signed in on a remembered device.".into(),
            EventKind::DevicesRevoked { device_ids, reason } => {
                format!("Forgot {} remembered device(s) ({reason}).", device_ids.len())
            }
            EventKind::OrgSettingsChanged { org, old, new } => {
                let changes: Vec<String> = old
                    .changes_to(new)
                    .into_iter()
                    .map(|change| format!("{} from {} to {}", change.setting, change.from, change.to))
                    .collect();
                if changes.is_empty() {
                    format!("The MFA settings of {org} were saved unchanged.")
                } else {
                    format!("Changed the MFA settings of {org}: {}.", changes.join("; "))
                }
            }
            EventKind::OrgSettingsChangeRefused { org, reason } => {
                format!("A change of the MFA settings of {org} was refused ({reason}).")
            }
            EventKind::PasswordChanged => "The password was changed; other sessions were ended.".into(),
            EventKind::ResetRefused { reason } => format!("A reset was refused ({reason})."),
            EventKind::HostActionAllowed { action } => {
                format!("Allowed \"{action}\" after a recent second-factor proof.")
            }
            EventKind::HostActionRefused { action, refusal } => format!("Refused \"{action}\" ({refusal})."),
            EventKind::SignInRefused { reason } => format!("A sign-in was refused ({reason})."),
            EventKind::RefusalsSummarised { refused, since } => {
                format!("{refused} more refused attempts since {}.", utc_minute(*since))
            }
            EventKind::AuditPruned { before, deleted } => {
                let events = if *deleted == 1 { "event" } else { "events" };
                format!("Deleted {deleted} audit {events} from before {}.", utc_exact(*before))
            }
            EventKind::FutureDatedVoided { reading, voided } => {
                let voided: Vec<&str> = voided.iter().map(|v| v.as_str()).collect();
                format!(
                    "Entries written by a clock that ran ahead were voided at {}: {}.",
                    utc_minute(*reading),
                    voided.join(", ")
                )
            }
        }
    }
}

impl AuditEvent {
    /// The event as one line of an admin's log: when, whose account (and who acted, if
    /// someone else), from where, and what happened.
    pub fn sentence(&self) -> String {
        let by = if self.actor == self.user { String::new() } else { format!(" (by {})", self.actor) };
        let from = self.context.address.map(|address| format!(" from {address}")).unwrap_or_default();
        super::one_line(format!("{}, {}{by}{from}: {}", utc_minute(self.at), self.user, self.kind.words()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Level, OrgSettings};
    use crate::vocabulary::{RequestContext, UserId};

    #[test]
    fn a_settings_change_says_what_changed_from_what_to_what() {
        let old = OrgSettings::default();
        let mut new = old.clone().with_level("practitioner", Level::Mandatory);
        new.lockout.max_failures = 3;
        let kind =
            EventKind::OrgSettingsChanged { org: "smith-co".into(), old: Box::new(old), new: Box::new(new) };
        assert_eq!(
            kind.sentence(),
            "Changed the MFA settings of smith-co: levels from none to practitioner: mandatory; \
             lockout.max_failures from 5 to 3."
        );
    }

    #[test]
    fn an_event_reads_as_one_line_with_when_who_and_where() {
        let context = RequestContext::from_address("203.0.113.7".parse().unwrap());
        let event = AuditEvent::new(
            &UserId::new("sarah"),
            &UserId::new("partner"),
            1_751_361_300,
            &context,
            EventKind::LockoutStarted { until: 1_751_362_200 },
        );
        assert_eq!(
            event.sentence(),
            "2025-07-01 09:15 UTC, sarah (by partner) from 203.0.113.7: \
             Locked out after too many wrong codes, until 2025-07-01 09:30 UTC."
        );
    }
}
