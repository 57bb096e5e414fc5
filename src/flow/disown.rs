//! "This wasn't me": the link in a security notice, and what redeeming it does.
//!
//! Each notice ([`crate::event::SecurityNotice`]) can carry a link with a token made
//! from the notice's stored event: its id, its time, what it was about, and a keyed
//! hash of all three with the user's id under the deployment's hash key
//! ([`crate::keyed_hash::HashKey`]). Nothing is stored when the token is made, so every
//! delivery of one notice carries the same link, and a relay on any server can make it.
//!
//! Redeeming it ([`redeem`]) within [`LINK_LIFETIME`] of the event, once:
//! - freezes the account's MFA changes: every change of how the account is protected
//!   (a factor added, replaced or removed, new recovery codes, a remembered device,
//!   turning MFA off) and every host action behind step-up is refused with
//!   [`Refusal::AccountFrozen`] until an admin resets the user's MFA; signing in with
//!   the factors that remain still works, and where none remains (the notice was about
//!   the only one), signing in is refused with [`Refusal::AccountFrozen`] too: the
//!   password alone, which whoever set the factor up may know, lets nobody in;
//! - revokes what the notice was about where that can be told: the security key or
//!   authenticator app set up at that moment, the phone number or address confirmed
//!   then, the recovery codes generated then (an attacker holds them), the device
//!   remembered then;
//! - revokes every remembered device and ends every session (the account's generation
//!   moves);
//! - is audited as `notice_disowned`.
//!
//! A token that is not one, whose hash does not match, that was used, or that is past
//! its lifetime changes nothing and says which.

use std::fmt;

use zeroize::Zeroizing;

use super::{Draft, Env, Step, run_in};
use crate::event::EventKind;
use crate::keyed_hash::HashKey;
use crate::record::{CLOCK_SKEW, Frozen, UserRecord};
use crate::vocabulary::{Refusal, Revocation, Role, UserId};

/// How long a notice's link works after the event: 7 days.
pub const LINK_LIFETIME: u64 = 7 * 86_400;

/// How many redeemed links the record remembers, to refuse them again: 32, those of
/// the newest events. Once that many are remembered, a link of an event older than
/// all of them (a user's events are numbered in order) is refused as used too: it may
/// have been one of those forgotten, and a used link must never work again within its
/// lifetime.
pub const REMEMBERED_LINKS: usize = 32;

/// What a notice was about, as far as redeeming its link can undo it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Subject {
    /// The security key with this id.
    Key(String),
    /// The authenticator app set up at the event's time.
    App,
    /// The destination of this role confirmed at the event's time.
    Destination(Role),
    /// The recovery codes generated at the event's time.
    RecoveryCodes,
    /// The remembered device with this id.
    Device(String),
    /// Nothing that can be undone (a removal, a reset, a lockout).
    Nothing,
}

impl Subject {
    fn of(event: &EventKind) -> Subject {
        match event {
            EventKind::SecurityKeyRegistered { authenticator, .. } => Subject::Key(authenticator.clone()),
            EventKind::EnrollmentConfirmed { .. } | EventKind::AuthenticatorImported => Subject::App,
            EventKind::BackupDestinationConfirmed { role, .. } => Subject::Destination(*role),
            EventKind::RecoveryCodesGenerated { .. } => Subject::RecoveryCodes,
            EventKind::DeviceRemembered { device_id, .. } => Subject::Device(device_id.clone()),
            _ => Subject::Nothing,
        }
    }

    fn encode(&self) -> String {
        match self {
            Subject::Key(id) => format!("k{id}"),
            Subject::App => "a".into(),
            Subject::Destination(Role::Primary) => "p".into(),
            Subject::Destination(Role::Backup) => "b".into(),
            Subject::RecoveryCodes => "r".into(),
            Subject::Device(id) => format!("d{id}"),
            Subject::Nothing => "n".into(),
        }
    }

    fn decode(text: &str) -> Option<Subject> {
        let hex_id =
            |id: &str| (id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_string());
        Some(match text.split_at_checked(1)? {
            ("k", id) => Subject::Key(hex_id(id)?),
            ("a", "") => Subject::App,
            ("p", "") => Subject::Destination(Role::Primary),
            ("b", "") => Subject::Destination(Role::Backup),
            ("r", "") => Subject::RecoveryCodes,
            ("d", id) => Subject::Device(hex_id(id)?),
            ("n", "") => Subject::Nothing,
            _ => return None,
        })
    }
}

/// The token of a notice's "this wasn't me" link: put it in the link (it is
/// URL-safe), show it to nobody else. `Debug` leaves it out; tokens compare in
/// constant time; it is wiped on drop.
#[derive(Clone)]
pub struct DisownToken(Zeroizing<String>);

impl PartialEq for DisownToken {
    fn eq(&self, other: &DisownToken) -> bool {
        crate::otp::ct::bytes_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for DisownToken {}

impl DisownToken {
    /// The token's text, for the link.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DisownToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DisownToken(..)")
    }
}

/// The MAC that makes a link valid: a credential, wiped when dropped.
fn mac(key: &HashKey, user: &UserId, event_id: i64, at: u64, subject: &str) -> Zeroizing<String> {
    let digest = key.hash("disown", user, &[&event_id.to_be_bytes(), &at.to_be_bytes(), subject.as_bytes()]);
    digest.to_base32_wiped()
}

/// The token of the link in the notice of `user`'s stored event `event_id`, of kind
/// `event`, made at `at` ([`crate::relay::Notice`] holds all four).
pub fn token(key: &HashKey, user: &UserId, event_id: i64, at: u64, event: &EventKind) -> DisownToken {
    let subject = Subject::of(event).encode();
    let mac = mac(key, user, event_id, at, &subject);
    let head = format!("{event_id}.{at}.{subject}.");
    // Made at its final size: a buffer that grew would leave the MAC freed unwiped.
    let mut text = Zeroizing::new(String::with_capacity(head.len() + mac.len()));
    text.push_str(&head);
    text.push_str(&mac);
    DisownToken(text)
}

/// What redeeming a link did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Disowned {
    /// The stored event the link was about.
    pub event_id: i64,
    /// What was revoked besides the remembered devices and sessions: an authenticator's
    /// or security key's id, `"primary_destination"`, `"backup_destination"`,
    /// `"recovery_codes"`, or a device's id; empty when nothing could be told.
    pub revoked: Vec<String>,
}

/// Redeems the token of a notice's link (`text`, as the link carried it) for `record`'s
/// user: see the module's docs. The user is known from the link's context (the host's
/// route), and the token binds it: a token made for another user does not match. A
/// driver refuses a link for a user without a stored record (there is nothing to
/// protect) as [`Refusal::DisownLinkInvalid`] without running this, as the service does.
pub fn redeem(record: &mut UserRecord, key: &HashKey, text: &str, env: &Env<'_>) -> Step<Disowned> {
    run_in(record, env, |draft| {
        let parsed = parse(text);
        let Some((event_id, at, subject_text, given)) = parsed else {
            return Err(refuse(draft, Refusal::DisownLinkInvalid, env));
        };
        let expected = mac(key, draft.get().user(), event_id, at, subject_text);
        let matches = crate::otp::ct::bytes_eq(expected.as_bytes(), given.as_bytes());
        let subject = Subject::decode(subject_text).filter(|_| matches);
        let Some(subject) = subject else { return Err(refuse(draft, Refusal::DisownLinkInvalid, env)) };
        let used = &draft.get().rare.disowned;
        let forgotten = used.len() >= REMEMBERED_LINKS && used.iter().all(|kept| event_id < *kept);
        if used.contains(&event_id) || forgotten {
            return Err(refuse(draft, Refusal::DisownLinkUsed, env));
        }
        let live = at <= env.now.saturating_add(CLOCK_SKEW) && env.now < at.saturating_add(LINK_LIFETIME);
        if !live {
            return Err(refuse(draft, Refusal::DisownLinkExpired, env));
        }
        let revoked = undo(draft, &subject, at);
        let record = draft.edit();
        // The links of the oldest events are the ones forgotten, whatever order the
        // links were followed in: every link forgotten is then older than every link
        // remembered, which is what the check above takes a forgotten one to be.
        let disowned = &mut record.rare.edit().disowned;
        disowned.push(event_id);
        disowned.sort_unstable();
        let excess = disowned.len().saturating_sub(REMEMBERED_LINKS);
        disowned.drain(..excess);
        record.rare.edit().frozen.get_or_insert(Frozen { since: env.now, event_id });
        record.rare.edit().ceremony = None;
        record.pending_enrollment = None;
        super::device::revoke_every(draft, Revocation::Disowned);
        draft.protection_changed();
        draft.emit(EventKind::NoticeDisowned { event_id, revoked: revoked.clone() });
        Ok(Disowned { event_id, revoked })
    })
}

/// The token's parts: event id, time, subject, hash.
fn parse(text: &str) -> Option<(i64, u64, &str, &str)> {
    let mut parts = text.trim().splitn(4, '.');
    let event_id = parts.next()?.parse().ok()?;
    let at = parts.next()?.parse().ok()?;
    let subject = parts.next()?;
    let mac = parts.next()?;
    Some((event_id, at, subject, mac))
}

fn refuse(draft: &mut Draft<'_>, refusal: Refusal, env: &Env<'_>) -> Refusal {
    draft.emit_refused(EventKind::DisownRefused { refusal: refusal.code().to_string() }, env.now);
    refusal
}

/// Removes what the event added, if it is still there and was added at `at`.
fn undo(draft: &mut Draft<'_>, subject: &Subject, at: u64) -> Vec<String> {
    let record = draft.get();
    let mut revoked = Vec::new();
    match subject {
        Subject::Key(id) => {
            if let Some((index, _)) = record.security_key(id) {
                draft.edit().rare.edit().security_keys.remove(index);
                revoked.push(id.clone());
            }
        }
        Subject::App => {
            let made_then: Vec<String> = record
                .authenticators
                .iter()
                .filter(|a| a.created_at() == at)
                .map(|a| a.id().to_string())
                .collect();
            if !made_then.is_empty() {
                let kept: Vec<_> =
                    record.authenticators.iter().filter(|a| a.created_at() != at).cloned().collect();
                draft.edit().authenticators = kept.into();
                revoked.extend(made_then);
            }
        }
        Subject::Destination(role) => {
            if record.oob.confirmed(*role).is_some_and(|d| d.confirmed_at == Some(at)) {
                let oob = &mut draft.edit().oob;
                oob.destinations.retain(|d| d.role != *role);
                if oob.challenge.as_ref().is_some_and(|c| c.role == *role) {
                    oob.challenge = None;
                }
                revoked.push(format!("{role}_destination"));
            }
        }
        Subject::RecoveryCodes => {
            if record.recovery.as_ref().is_some_and(|codes| codes.generated_at == at) {
                draft.edit().recovery = None;
                revoked.push("recovery_codes".into());
            }
        }
        Subject::Device(id) => {
            if record.devices.iter().any(|d| d.id == *id) {
                revoked.push(id.clone());
            }
        }
        Subject::Nothing => {}
    }
    revoked
}

/// The refusal of a change to the account's protection while it is frozen.
pub(crate) fn refuse_frozen(record: &UserRecord) -> Option<Refusal> {
    record.rare.frozen.is_some().then_some(Refusal::AccountFrozen)
}
