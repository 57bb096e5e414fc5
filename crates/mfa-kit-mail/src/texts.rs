//! What each message says, in one place: per security notice kind its subject, the
//! sentence saying what happened (with the event's details) and what to do if it was
//! not the user; the texts of e-mailed codes. Plain words only: the renderer escapes
//! everything for HTML.

use mfa_kit::event::{EventKind, SecurityNotice};
use mfa_kit::relay::Notice;
use mfa_kit::{Method, Purpose, ResetMode, Role};

use crate::render::utc_minute;

/// The words of one message.
pub(crate) struct Wording {
    pub(crate) subject: String,
    /// What happened, with the event's details.
    pub(crate) what: String,
    /// What to do if it was not the user.
    pub(crate) advice: String,
}

/// A string from the event (a name, a label, an admin's reason), on one line and at
/// most 120 characters.
fn quoted(text: &str) -> String {
    format!("\u{201c}{}\u{201d}", crate::render::one_line(text))
}

fn role(role: Role) -> &'static str {
    match role {
        Role::Primary => "main",
        Role::Backup => "backup",
    }
}

fn channel(method: Method) -> &'static str {
    match method {
        Method::Sms => "phone number",
        _ => "e-mail address",
    }
}

/// The wording of `notice` for an account with `site`.
pub(crate) fn notice(notice: &Notice, site: &str) -> Wording {
    let event = &notice.event;
    let (subject, what, advice) = match notice.kind {
        SecurityNotice::FactorAdded => {
            let what = match event {
                EventKind::EnrollmentConfirmed { replaced: false } => {
                    "An authenticator app was set up for two-step verification on your account.".to_string()
                }
                EventKind::EnrollmentConfirmed { replaced: true } => {
                    "A new authenticator app was set up on your account, replacing the old one.".to_string()
                }
                EventKind::AuthenticatorImported => {
                    "An authenticator was moved to your account from another system.".to_string()
                }
                EventKind::SecurityKeyRegistered { name, discoverable, .. } => {
                    let kind = if *discoverable { "passkey" } else { "security key" };
                    format!("The {kind} {} was registered as a way to sign in to your account.", quoted(name))
                }
                EventKind::BackupDestinationConfirmed { method, role: r, to } => format!(
                    "{to} was confirmed as the {} {} that receives your sign-in codes.",
                    role(*r),
                    channel(*method)
                ),
                other => other.sentence(),
            };
            (
                format!("A sign-in method was added to your {site} account"),
                what,
                "If this was not you, someone else may now be able to sign in as you: change your \
                 password and remove the method in your security settings now."
                    .to_string(),
            )
        }
        SecurityNotice::FactorRemoved => {
            let (subject, what) = match event {
                EventKind::Deactivated => (
                    format!("Two-step verification was turned off for your {site} account"),
                    "Two-step verification was turned off: signing in to your account now needs only \
                     your password."
                        .to_string(),
                ),
                EventKind::AuthenticatorRemoved { name, .. } => (
                    format!("A sign-in method was removed from your {site} account"),
                    format!("The authenticator {} was removed from your account.", quoted(name)),
                ),
                EventKind::SecurityKeyRemoved { name, .. } => (
                    format!("A sign-in method was removed from your {site} account"),
                    format!("The security key {} was removed from your account.", quoted(name)),
                ),
                EventKind::BackupDestinationRemoved { role: r } => (
                    format!("A sign-in method was removed from your {site} account"),
                    format!(
                        "Your {} phone number or e-mail address for sign-in codes was removed from your account.",
                        role(*r)
                    ),
                ),
                other => (format!("A sign-in method was removed from your {site} account"), other.sentence()),
            };
            (
                subject,
                what,
                "If this was not you, change your password and set up two-step verification again now."
                    .to_string(),
            )
        }
        SecurityNotice::RecoveryCodesRegenerated => {
            let what = match event {
                EventKind::RecoveryCodesGenerated { count: 1 } => {
                    "1 new recovery code was generated for your account; the old ones no longer work."
                        .to_string()
                }
                EventKind::RecoveryCodesGenerated { count } => {
                    format!(
                        "{count} new recovery codes were generated for your account; the old ones no longer work."
                    )
                }
                other => other.sentence(),
            };
            (
                format!("New recovery codes for your {site} account"),
                what,
                "If this was not you, someone may hold your new codes: generate another set and change \
                 your password now."
                    .to_string(),
            )
        }
        SecurityNotice::RecoveryCodesRunningLow => {
            let what = match event {
                EventKind::RecoveryCodesLow { remaining: 1 } => {
                    "Only 1 unused recovery code is left on your account.".to_string()
                }
                EventKind::RecoveryCodesLow { remaining } => {
                    format!("Only {remaining} unused recovery codes are left on your account.")
                }
                EventKind::RecoveryCodesExhausted => {
                    "Every recovery code of your account has been used.".to_string()
                }
                other => other.sentence(),
            };
            (
                format!("Your {site} recovery codes are running out"),
                what,
                "Generate a new set in your security settings, so you can still sign in if you lose your \
                 phone. If you did not use them, someone else may have: change your password now."
                    .to_string(),
            )
        }
        SecurityNotice::ResetByAdmin => {
            let what = match event {
                EventKind::ResetByAdmin { reason, mode, .. } => {
                    let after = match mode {
                        ResetMode::TurnOff => "Two-step verification is now off for your account.",
                        _ => "You will set up two-step verification again when you next sign in.",
                    };
                    format!(
                        "An administrator reset two-step verification on your account, giving the reason {}. {after}",
                        quoted(reason)
                    )
                }
                other => other.sentence(),
            };
            (
                format!("An administrator reset two-step verification on your {site} account"),
                what,
                "If you did not ask for this, contact us at once.".to_string(),
            )
        }
        SecurityNotice::LockedOut => {
            let what = match event {
                EventKind::LockoutStarted { until } => format!(
                    "Too many wrong codes were entered after your password: signing in to your account is \
                     locked until {}.",
                    // The first whole minute at or after the end: a time cut to the
                    // minute would be too early, as the refusal's own text says.
                    utc_minute(mfa_kit::utc::minute_after(*until))
                ),
                EventKind::SecondFactorDisabled { failures } => format!(
                    "After {failures} wrong codes without a success, signing in to your account with a \
                     code was blocked until an administrator resets it."
                ),
                other => other.sentence(),
            };
            (
                format!("Your {site} account was locked after wrong codes"),
                what,
                "Someone may know your password: if this was not you, change your password now.".to_string(),
            )
        }
        SecurityNotice::DeviceRemembered => {
            let what = match event {
                EventKind::DeviceRemembered { label, expires_at, .. } => format!(
                    "The device {} was remembered and will not be asked for a code until {}.",
                    quoted(label),
                    utc_minute(*expires_at)
                ),
                other => other.sentence(),
            };
            (
                format!("A device will skip two-step verification on your {site} account"),
                what,
                "If this was not you, forget all remembered devices in your security settings and change \
                 your password now."
                    .to_string(),
            )
        }
        SecurityNotice::SignedInWithRecoveryCode => (
            format!("Your {site} account was signed in to with a recovery code"),
            "Someone signed in to your account with a recovery code instead of the usual second step."
                .to_string(),
            "If this was not you, change your password and generate new recovery codes now.".to_string(),
        ),
        _ => (
            format!("Security notice for your {site} account"),
            event.sentence(),
            "If this was not you, change your password now.".to_string(),
        ),
    };
    Wording { subject, what, advice }
}

/// The wording of an e-mailed code for `purpose`, sent to `masked`, until `expires`.
pub(crate) fn code(purpose: Purpose, site: &str, masked: &str, expires: &str) -> Wording {
    match purpose {
        Purpose::SignIn => Wording {
            subject: format!("Your {site} sign-in code"),
            what: format!(
                "Enter this code to finish signing in to {site}, or to confirm a change you asked for \
                 there (such as turning two-step verification off). It works once, until {expires}. \
                 Do not share it: we never ask for it by phone or e-mail."
            ),
            advice: "If you did not just sign in or ask for a code, someone may know your password: change it now."
                .into(),
        },
        Purpose::ConfirmDestination => Wording {
            subject: format!("Confirm your e-mail address for {site}"),
            what: format!(
                "Enter this code to confirm {masked} as an address that receives your {site} sign-in \
                 codes. It works once, until {expires}."
            ),
            advice: "If you did not add this address, ignore this message: nothing changes unless the \
                     code is entered."
                .into(),
        },
    }
}
