//! Audit events: who did what, when, with what outcome, from where (R24).
//!
//! Every transition returns the [`EventKind`]s of what it did; a driver (the service,
//! or a host driving the transitions itself) wraps them into [`AuditEvent`]s and hands
//! them to the store's conditional save together with the record change they describe,
//! so both are written in one transaction or not at all (the transactional outbox).
//! Events that describe no record change (a refused sign-in, a refused reset, a
//! settings change) go to [`crate::store::Store::append_events`]. The host keeps them
//! (the ATO asks for 12 months). Events never hold a secret, a code or a hash.
//!
//! An [`AuditSink`] may also receive each event once it is stored, for push delivery
//! (a log pipeline, a security notification); the store stays the record of truth.
//!
//! # Serialised form
//!
//! An event serialises (with serde, here as JSON) to an object with the fields of
//! [`AuditEvent`]; `kind` is an object whose `kind` field names the event in
//! `snake_case` and whose other fields are the variant's, for example:
//!
//! ```json
//! {
//!   "user": "sarah", "actor": "sarah", "at": 1700000060, "outcome": "failure",
//!   "kind": { "kind": "code_rejected", "method": "totp", "reason": "wrong", "consecutive_failures": 1 },
//!   "context": { "address": "203.0.113.7", "device": "Firefox on Windows" }
//! }
//! ```
//!
//! Every variant of [`EventKind`] with its fields, as stored:
//!
//! | `kind` | fields |
//! |---|---|
//! | `enrollment_started` | `expires_at` |
//! | `security_key_registered` | `authenticator` (its id), `name`, `discoverable` (bool: a passkey), `user_verified` (bool) |
//! | `security_key_removed` | `authenticator`, `name` |
//! | `authenticator_renamed` | `authenticator`, `name` (the new one) |
//! | `security_key_counter_regressed` | `authenticator`; `stored` and `presented` (the signature counters); `accepted` (bool: whether the policy let the proof through) |
//! | `enrollment_confirmed` | `replaced` (bool) |
//! | `authenticator_imported` | |
//! | `secrets_resealed` | `count` (how many sealed secrets), `key_id` (the id of the host's key that seals them now) |
//! | `authenticator_removed` | `authenticator` (its id), `name` |
//! | `enrollment_rejected` | `reason`: `wrong_code`, `same_code_twice`, `not_consecutive`, `malformed`, `two_codes_required`, `too_many_attempts`, `key_rejected` (a security key's registration) |
//! | `enrollment_expired` | |
//! | `enrollment_refused` | `refusal` (the refusal's stable code: `fresh_proof_required`, `locked_out`, `address_not_allowed`, `rate_limited`, ...) |
//! | `code_accepted` | `method`: `totp`, `sms`, `email`, `recovery_code`, `security_key` (a security key's assertion: "used"); `drift` (steps or null) |
//! | `code_rejected` | `method`; `reason`: `wrong`, `replayed`, `malformed`, `already_used`, `expired`, `no_code_pending`, `locked_out`, `policy_refused`, `disabled`, and for security keys `wrong_origin`, `wrong_challenge`, `unknown_credential`, `bad_signature`, `user_not_verified`, `counter_regressed`; `consecutive_failures` |
//! | `resynchronised` | `drift` |
//! | `lockout_started` | `until` |
//! | `lockout_ended` | |
//! | `second_factor_disabled` | `failures` |
//! | `deactivated` | |
//! | `deactivation_refused` | `reason` (a policy reason in `snake_case`) |
//! | `reset_by_admin` | `reason` (the admin's words); `cleared`: list of `authenticator`, `pending_enrollment`, `lockout`, `recovery_codes`, `backup_destinations`, `remembered_devices`, `security_keys`, `freeze`; `mode`: `require_enrollment`, `turn_off` (absent in events stored before resets had modes: `require_enrollment`) |
//! | `recovery_codes_generated` | `count` |
//! | `recovery_codes_low` | `remaining` |
//! | `recovery_codes_exhausted` | |
//! | `recovery_codes_replacement_due` | `remaining` |
//! | `backup_code_reserved` | `method`; `purpose`: `sign_in`, `confirm_destination`; `to` (masked) |
//! | `backup_code_sent` | `method`; `purpose`; `to` (masked) |
//! | `backup_code_discarded` | `method` |
//! | `backup_code_not_sent` | `method` |
//! | `backup_code_lapsed` | `role` |
//! | `backup_destination_added` | `method`; `role`: `primary`, `backup`; `to` (masked) |
//! | `backup_destination_confirmed` | `method`; `role`; `to` (masked) |
//! | `backup_destination_removed` | `role` (a confirmed destination: a factor removed) |
//! | `backup_destination_withdrawn` | `role` (a destination never confirmed, taken back: its code could not be sent or lapsed, or the user removed it) |
//! | `device_remembered` | `device_id`, `label`, `expires_at` |
//! | `device_accepted` | `device_id` |
//! | `devices_revoked` | `device_ids`; `reason`: `requested`, `password_changed`, `reset`, `deactivated`, `new_authenticator`, `disowned`, `superseded` (the oldest, beyond the most a user keeps) |
//! | `org_settings_changed` | `org`; `old` and `new` (the organisation's settings as serialised) |
//! | `org_settings_change_refused` | `org`; `reason` (words safe to log) |
//! | `reset_refused` | `reason` (words safe to log) |
//! | `host_action_allowed` | `action` (the host's name of its action, as given to `MfaService::step_up_host_action`) |
//! | `host_action_refused` | `action`; `refusal`: `session_ended`, `account_frozen` |
//! | `password_changed` | |
//! | `notice_disowned` | `event_id` (the stored event whose notice's "this wasn't me" link was followed); `revoked` (list: ids, `primary_destination`, `backup_destination`, `recovery_codes`) |
//! | `disown_refused` | `refusal`: `disown_link_invalid`, `disown_link_used`, `disown_link_expired` |
//! | `sign_in_refused` | `reason`: `policy_refused` (address off the allowlist), `locked_out`, `disabled` |
//! | `refusals_summarised` | `refused` (how many), `since` (the interval's start) |
//! | `audit_pruned` | `before` (events before this time were deleted), `deleted` (how many) |
//! | `future_dated_voided` | `reading`; `voided`: list of `remembered_device`, `code`, `proof`, `pending_enrollment`, `lockout`, `send`, `enrollment_start`, `key_ceremony` |
//!
//! `outcome` is `success` or `failure`; `context.address` is an IP address or null,
//! `context.device` the host's label or null, `context.org` the organisation the event
//! is filed under (absent when none); times are seconds since the Unix epoch.
//! `tests/event_format.rs` pins this form.

mod sentence;

/// `text` as one line of a log: control characters (line breaks among them), the
/// Unicode line and paragraph separators and the invisible formatting characters
/// (bidirectional overrides and isolates, zero-width spaces) are written as escapes
/// (`\n`, `\u{2028}`, `\u{202e}`), so text a user or an admin typed (a user id, a reset
/// reason, a user type's name) can neither end an admin's log line, nor forge the
/// next one, nor make the rest of its own line read backwards.
pub(crate) fn one_line(text: String) -> String {
    let breaks =
        |c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || crate::vocabulary::invisible(c);
    if !text.contains(breaks) {
        return text;
    }
    let mut line = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if breaks(c) {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    line
}

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::few::Few;
use crate::policy::OrgSettings;
use crate::vocabulary::{
    Cleared, EnrollmentRejection, Method, Purpose, Reason, RejectionReason, RequestContext, ResetMode,
    Revocation, Role, UserId, Voided,
};

/// Whether the audited action succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(
    clippy::exhaustive_enums,
    reason = "the two sides of a yes-or-no answer; a third would change every caller's logic on purpose"
)]
pub enum AuditOutcome {
    /// The action succeeded.
    Success,
    /// The action was refused or failed.
    Failure,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// An authenticator enrollment began (or was restarted).
    EnrollmentStarted {
        /// When the pending enrollment expires.
        expires_at: u64,
    },
    /// The enrollment was confirmed and the authenticator is active.
    EnrollmentConfirmed {
        /// Whether an older authenticator was replaced.
        replaced: bool,
    },
    /// An authenticator's secret was imported from another system (a migration); its
    /// first accepted code sets the replay floor.
    AuthenticatorImported,
    /// The user's secrets were sealed again under another of the host's keys, for key
    /// rotation ([`crate::flow::enrollment::reseal`]): the same secrets, stored
    /// differently. Not a user notice.
    SecretsResealed {
        /// How many sealed secrets were replaced (authenticators' and a pending
        /// enrollment's).
        count: usize,
        /// The id of the key that seals them now (an id, not a key).
        key_id: String,
    },
    /// One of the user's authenticators was removed.
    AuthenticatorRemoved {
        /// Its id.
        authenticator: String,
        /// The name the user gave it.
        name: String,
    },
    /// A security key or passkey was registered as one of the user's authenticators.
    SecurityKeyRegistered {
        /// Its id among the user's authenticators.
        authenticator: String,
        /// The name the user gave it.
        name: String,
        /// Whether it is a discoverable credential (a passkey).
        discoverable: bool,
        /// Whether the authenticator verified the user (PIN or biometric).
        user_verified: bool,
    },
    /// The user followed a security notice's "this wasn't me" link: the account's MFA
    /// changes are frozen, what the notice was about revoked where it could be, devices
    /// and sessions ended.
    NoticeDisowned {
        /// The stored event whose notice it was.
        event_id: i64,
        /// What was revoked besides devices and sessions.
        revoked: Vec<String>,
    },
    /// A "this wasn't me" link was refused.
    DisownRefused {
        /// The refusal's stable code.
        refusal: String,
    },
    /// A security key or passkey was removed.
    SecurityKeyRemoved {
        /// Its id.
        authenticator: String,
        /// The name it had.
        name: String,
    },
    /// One of the user's authenticators (an app, a security key) was renamed.
    AuthenticatorRenamed {
        /// Its id.
        authenticator: String,
        /// Its new name.
        name: String,
    },
    /// A security key's signature counter did not move forward: two copies of the
    /// key may exist (a cloned key).
    SecurityKeyCounterRegressed {
        /// Its id.
        authenticator: String,
        /// The counter the record held.
        stored: u32,
        /// The counter the assertion carried.
        presented: u32,
        /// Whether the proof was accepted all the same (the policy flags rather than
        /// refuses).
        accepted: bool,
    },
    /// A confirmation code was refused.
    EnrollmentRejected {
        /// Why.
        reason: EnrollmentRejection,
    },
    /// A pending enrollment expired before it was confirmed.
    EnrollmentExpired,
    /// Starting (or restarting) an enrollment was refused: `refusal` is the refusal's
    /// stable code ([`crate::Refusal::code`]): `fresh_proof_required`, `locked_out`,
    /// `address_not_allowed`, `rate_limited`, `session_ended`, ...
    EnrollmentRefused {
        /// The refusal's code.
        refusal: String,
    },
    /// A second factor was accepted.
    CodeAccepted {
        /// The factor used.
        method: Method,
        /// The clock drift of the code in time steps (TOTP only).
        drift: Option<i64>,
    },
    /// A second factor was refused. After a correct password this can mean someone
    /// knows the user's password: the host may want to tell the user.
    CodeRejected {
        /// The factor tried.
        method: Method,
        /// Why it was refused.
        reason: RejectionReason,
        /// Consecutive failures so far.
        consecutive_failures: u32,
    },
    /// The authenticator's clock drift was re-learned from two consecutive codes.
    Resynchronised {
        /// The new drift in time steps.
        drift: i64,
    },
    /// Too many failures: the user is locked out.
    LockoutStarted {
        /// When the user may try again.
        until: u64,
    },
    /// A lockout ended (expired or cleared by a reset).
    LockoutEnded,
    /// Too many failures without a success: the second factor is disabled until an
    /// admin resets it.
    SecondFactorDisabled {
        /// Failures since the last success.
        failures: u32,
    },
    /// The user deactivated MFA.
    Deactivated,
    /// A deactivation was refused by a rule.
    DeactivationRefused {
        /// The rule that forbids it.
        reason: Reason,
    },
    /// An admin or principal reset the user's MFA.
    ResetByAdmin {
        /// The reason the admin gave.
        reason: String,
        /// What was cleared.
        cleared: Vec<Cleared>,
        /// What the reset left the user with: enroll again, or MFA off. Events stored
        /// before resets had modes read as [`ResetMode::RequireEnrollment`].
        #[serde(default)]
        mode: ResetMode,
    },
    /// A new set of recovery codes replaced any older set.
    RecoveryCodesGenerated {
        /// How many codes the set holds.
        count: usize,
    },
    /// Few unused recovery codes remain: the host may suggest generating new ones.
    RecoveryCodesLow {
        /// Unused codes left.
        remaining: usize,
    },
    /// Every recovery code has been used.
    RecoveryCodesExhausted,
    /// A recovery code was redeemed under a policy that asks for a new set after any
    /// use (the NIST preset, SP 800-63B-4 §4.2): the host prompts the user to generate
    /// a new set. [`crate::record::RecoveryCodes::replacement_due`] says the same until
    /// a new set is generated.
    RecoveryCodesReplacementDue {
        /// Unused codes left in the set.
        remaining: usize,
    },
    /// An out-of-band code was reserved in the record, to be sent: it works once its
    /// send is confirmed ([`EventKind::BackupCodeSent`]); otherwise it is taken back
    /// ([`EventKind::BackupCodeNotSent`]) or lapses ([`EventKind::BackupCodeLapsed`]).
    BackupCodeReserved {
        /// SMS or e-mail.
        method: Method,
        /// What the code is for.
        purpose: Purpose,
        /// The destination, masked.
        to: String,
    },
    /// The host's sender accepted an out-of-band code. (Trails written before
    /// `backup_code_reserved` existed have this event at the reservation, before the
    /// sender ran.)
    BackupCodeSent {
        /// SMS or e-mail.
        method: Method,
        /// What the code is for.
        purpose: Purpose,
        /// The destination, masked.
        to: String,
    },
    /// An out-of-band code was discarded after too many wrong tries.
    BackupCodeDiscarded {
        /// SMS or e-mail.
        method: Method,
    },
    /// The sender failed, and the reserved code was taken back: it never works and the
    /// send does not count.
    BackupCodeNotSent {
        /// SMS or e-mail.
        method: Method,
    },
    /// A reserved code whose send was never confirmed lapsed: it never worked, and the
    /// send no longer counts.
    BackupCodeLapsed {
        /// The role of the destination it was for.
        role: Role,
    },
    /// A destination was added and awaits confirmation.
    BackupDestinationAdded {
        /// SMS or e-mail.
        method: Method,
        /// Primary or backup.
        role: Role,
        /// The destination, masked.
        to: String,
    },
    /// A destination was confirmed and is now a method.
    BackupDestinationConfirmed {
        /// SMS or e-mail.
        method: Method,
        /// Primary or backup.
        role: Role,
        /// The destination, masked.
        to: String,
    },
    /// A confirmed destination was removed: a factor (or backup method) the user had.
    BackupDestinationRemoved {
        /// Primary or backup.
        role: Role,
    },
    /// A destination that was never confirmed was taken back (its confirmation code
    /// could not be sent, or lapsed, or the user removed it): it never was a factor,
    /// so the user is not told of it.
    BackupDestinationWithdrawn {
        /// Primary or backup.
        role: Role,
    },
    /// A device was remembered.
    DeviceRemembered {
        /// The device's id.
        device_id: String,
        /// Its label.
        label: String,
        /// When it stops being remembered.
        expires_at: u64,
    },
    /// A remembered device skipped the second factor.
    DeviceAccepted {
        /// The device's id.
        device_id: String,
    },
    /// Remembered devices were revoked.
    DevicesRevoked {
        /// The devices' ids.
        device_ids: Vec<String>,
        /// Why.
        reason: Revocation,
    },
    /// An organisation's MFA settings were changed (R22). `user` and `actor` of the
    /// event are both the admin who changed them.
    OrgSettingsChanged {
        /// The host's id of the organisation.
        org: String,
        /// The settings before.
        old: Box<OrgSettings>,
        /// The settings after.
        new: Box<OrgSettings>,
    },
    /// A change of an organisation's MFA settings was refused.
    OrgSettingsChangeRefused {
        /// The host's id of the organisation.
        org: String,
        /// Why, in words safe to log.
        reason: String,
    },
    /// The host changed the user's password: the account's other sessions end
    /// ([`crate::flow::session`]) and remembered devices are revoked (a
    /// `devices_revoked` event follows if there were any).
    PasswordChanged,
    /// An admin reset was refused.
    ResetRefused {
        /// Why, in words safe to log.
        reason: String,
    },
    /// A step-up allowed one of the host's own sensitive actions: the user had proved
    /// a second factor recently enough ([`crate::flow::step_up::host_action`]).
    HostActionAllowed {
        /// The host's name of the action ([`crate::vocabulary::HostAction`]).
        action: String,
    },
    /// A step-up refused one of the host's own sensitive actions because the session
    /// asking had ended or the account's MFA changes are frozen (not when it only asked
    /// for a fresh proof, nor when the user has no second factor yet).
    HostActionRefused {
        /// The host's name of the action.
        action: String,
        /// The refusal's stable code ([`crate::Refusal::code`]): `session_ended`,
        /// `account_frozen`.
        refusal: String,
    },
    /// The sign-in decision after the password refused the user: an address off the
    /// allowlist (`policy_refused`), a lockout (`locked_out`) or a disabled second
    /// factor (`disabled`).
    SignInRefused {
        /// Why.
        reason: RejectionReason,
    },
    /// More refused attempts than are audited one by one
    /// ([`crate::record::RefusalTally`]): `refused` more between `since` and this
    /// event's time, each of which changed no count (input that was not a code, codes
    /// tried during a lockout, replays, an address off the allowlist).
    RefusalsSummarised {
        /// How many attempts were refused and not audited one by one.
        refused: u32,
        /// When the interval they fell in began.
        since: u64,
    },
    /// A clock reading proved windows of the record were written by a clock that ran
    /// ahead (they start more than the clock skew (5 minutes) after it), and they
    /// were voided, so they never become valid (the record's rule for time).
    FutureDatedVoided {
        /// The reading.
        reading: u64,
        /// What was voided.
        voided: Vec<Voided>,
    },
    /// The audit trail of the organisation the event is filed under was pruned
    /// ([`crate::service::MfaService::prune_audit`]): `deleted` events that happened
    /// before `before` were deleted, by the actor (the retention job's account, or an
    /// admin). Written after the deletion, so the trail says it was pruned, when, by
    /// whom, and how far.
    AuditPruned {
        /// The time before which events were deleted.
        before: u64,
        /// How many were deleted.
        deleted: u64,
    },
}

/// The events one transition produced, in order. Most transitions produce one, which is
/// held inline: a sign-in does not allocate for its event before it becomes an
/// [`AuditEvent`]. Reads as a slice; collects from, and turns into, a `Vec`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Events(Few<EventKind>);

impl Events {
    /// No events.
    pub const fn new() -> Events {
        Events(Few::new())
    }

    /// Adds an event after the others.
    pub fn push(&mut self, kind: EventKind) {
        self.0.push(kind);
    }

    /// The events, in order.
    pub fn as_slice(&self) -> &[EventKind] {
        self.0.as_slice()
    }
}

impl std::ops::Deref for Events {
    type Target = [EventKind];

    fn deref(&self) -> &[EventKind] {
        self.as_slice()
    }
}

impl From<EventKind> for Events {
    fn from(kind: EventKind) -> Events {
        Events(Few::from(kind))
    }
}

impl From<Vec<EventKind>> for Events {
    fn from(all: Vec<EventKind>) -> Events {
        Events(Few::from(all))
    }
}

impl From<Events> for Vec<EventKind> {
    fn from(events: Events) -> Vec<EventKind> {
        events.into_iter().collect()
    }
}

impl FromIterator<EventKind> for Events {
    fn from_iter<I: IntoIterator<Item = EventKind>>(kinds: I) -> Events {
        Events(kinds.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a EventKind;
    type IntoIter = std::slice::Iter<'a, EventKind>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl IntoIterator for Events {
    type Item = EventKind;
    type IntoIter = EventsIntoIter;

    fn into_iter(self) -> EventsIntoIter {
        EventsIntoIter(self.0.into_iter())
    }
}

/// The events of an [`Events`], in order, by value.
#[derive(Debug)]
pub struct EventsIntoIter(crate::few::IntoIter<EventKind>);

impl Iterator for EventsIntoIter {
    type Item = EventKind;

    fn next(&mut self) -> Option<EventKind> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for EventsIntoIter {}

/// One audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditEvent {
    /// The user the event is about.
    pub user: UserId,
    /// Who acted: the user, or an admin.
    pub actor: UserId,
    /// When, in seconds since the Unix epoch.
    pub at: u64,
    /// Success or failure.
    pub outcome: AuditOutcome,
    /// What happened.
    pub kind: EventKind,
    /// Where from.
    pub context: RequestContext,
}

impl AuditEvent {
    /// The organisation the event is filed under: its request's
    /// ([`RequestContext::org`]), or for a request made in none, that of the user's
    /// record.
    pub fn org(&self) -> Option<&crate::vocabulary::OrgId> {
        self.context.org.as_ref()
    }

    /// The event of `kind` about `user`, done by `actor` at `at` from `context`; the
    /// outcome follows from the kind.
    pub fn new(
        user: &UserId,
        actor: &UserId,
        at: u64,
        context: &RequestContext,
        kind: EventKind,
    ) -> AuditEvent {
        AuditEvent {
            user: user.clone(),
            actor: actor.clone(),
            at,
            outcome: kind.outcome(),
            kind,
            context: context.clone(),
        }
    }
}

/// Receives audit events once they are stored, for push delivery (a log pipeline, a
/// security notification). The store's copy is the audit trail; this is a feed of it.
///
/// `record` must not block for long or fail the caller: queue the event and ship it.
pub trait AuditSink: Send + Sync {
    /// Takes one event.
    fn record(&self, event: AuditEvent);
}

/// Keeps events in memory, for tests and demos.
#[derive(Debug, Default)]
pub struct MemoryAuditLog {
    events: Mutex<Vec<AuditEvent>>,
}

impl MemoryAuditLog {
    /// An empty log.
    pub fn new() -> MemoryAuditLog {
        MemoryAuditLog::default()
    }

    /// A copy of every event so far, oldest first.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The kinds of the events about `user`, oldest first.
    pub fn kinds_for(&self, user: &UserId) -> Vec<EventKind> {
        self.events().into_iter().filter(|e| &e.user == user).map(|e| e.kind).collect()
    }
}

impl AuditSink for MemoryAuditLog {
    fn record(&self, event: AuditEvent) {
        self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(event);
    }
}

impl<T: AuditSink + ?Sized> AuditSink for std::sync::Arc<T> {
    fn record(&self, event: AuditEvent) {
        (**self).record(event);
    }
}

/// What a user should be told at once, by e-mail or a message outside the session, when
/// it happens to their account (NIST SP 800-63B rev 4 §4.6): the classes of
/// [`EventKind::security_notice`]. A host's [`AuditSink`] can send them as events are
/// stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SecurityNotice {
    /// A second factor was added (an authenticator, a phone number or an address).
    FactorAdded,
    /// A second factor was removed, or MFA turned off.
    FactorRemoved,
    /// New recovery codes replaced the old ones.
    RecoveryCodesRegenerated,
    /// Few or no unused recovery codes are left.
    RecoveryCodesRunningLow,
    /// An admin reset the user's MFA.
    ResetByAdmin,
    /// The user was locked out, or the second factor disabled, after wrong codes.
    LockedOut,
    /// A device was remembered and will not be asked for a code.
    DeviceRemembered,
    /// The user signed in with a recovery code.
    SignedInWithRecoveryCode,
}

impl EventKind {
    /// Whether the user should be told of this event at once, and as what; `None` for
    /// the routine ones (a code accepted, a code sent).
    pub fn security_notice(&self) -> Option<SecurityNotice> {
        Some(match self {
            EventKind::EnrollmentConfirmed { .. }
            | EventKind::AuthenticatorImported
            | EventKind::SecurityKeyRegistered { .. }
            | EventKind::BackupDestinationConfirmed { .. } => SecurityNotice::FactorAdded,
            EventKind::Deactivated
            | EventKind::AuthenticatorRemoved { .. }
            | EventKind::SecurityKeyRemoved { .. }
            | EventKind::BackupDestinationRemoved { .. } => SecurityNotice::FactorRemoved,
            EventKind::RecoveryCodesGenerated { .. } => SecurityNotice::RecoveryCodesRegenerated,
            EventKind::RecoveryCodesLow { .. } | EventKind::RecoveryCodesExhausted => {
                SecurityNotice::RecoveryCodesRunningLow
            }
            EventKind::ResetByAdmin { .. } => SecurityNotice::ResetByAdmin,
            EventKind::LockoutStarted { .. } | EventKind::SecondFactorDisabled { .. } => {
                SecurityNotice::LockedOut
            }
            EventKind::DeviceRemembered { .. } => SecurityNotice::DeviceRemembered,
            EventKind::CodeAccepted { method: Method::RecoveryCode, .. } => {
                SecurityNotice::SignedInWithRecoveryCode
            }
            _ => return None,
        })
    }

    /// The event's stable id: its serialised `kind` (`code_accepted`,
    /// `org_settings_changed`), for a host's own columns, filters and query strings.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::EnrollmentStarted { .. } => "enrollment_started",
            EventKind::EnrollmentConfirmed { .. } => "enrollment_confirmed",
            EventKind::AuthenticatorImported => "authenticator_imported",
            EventKind::SecretsResealed { .. } => "secrets_resealed",
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
            EventKind::BackupDestinationWithdrawn { .. } => "backup_destination_withdrawn",
            EventKind::DeviceRemembered { .. } => "device_remembered",
            EventKind::DeviceAccepted { .. } => "device_accepted",
            EventKind::DevicesRevoked { .. } => "devices_revoked",
            EventKind::OrgSettingsChanged { .. } => "org_settings_changed",
            EventKind::OrgSettingsChangeRefused { .. } => "org_settings_change_refused",
            EventKind::PasswordChanged => "password_changed",
            EventKind::ResetRefused { .. } => "reset_refused",
            EventKind::HostActionAllowed { .. } => "host_action_allowed",
            EventKind::HostActionRefused { .. } => "host_action_refused",
            EventKind::SignInRefused { .. } => "sign_in_refused",
            EventKind::RefusalsSummarised { .. } => "refusals_summarised",
            EventKind::FutureDatedVoided { .. } => "future_dated_voided",
            EventKind::AuditPruned { .. } => "audit_pruned",
        }
    }

    /// Whether the event records a success or a failure.
    pub fn outcome(&self) -> AuditOutcome {
        match self {
            EventKind::EnrollmentStarted { .. }
            | EventKind::EnrollmentConfirmed { .. }
            | EventKind::AuthenticatorImported
            | EventKind::SecretsResealed { .. }
            | EventKind::AuthenticatorRemoved { .. }
            | EventKind::SecurityKeyRegistered { .. }
            | EventKind::SecurityKeyRemoved { .. }
            | EventKind::NoticeDisowned { .. }
            | EventKind::AuthenticatorRenamed { .. }
            | EventKind::SecurityKeyCounterRegressed { accepted: true, .. }
            | EventKind::CodeAccepted { .. }
            | EventKind::Resynchronised { .. }
            | EventKind::LockoutEnded
            | EventKind::Deactivated
            | EventKind::ResetByAdmin { .. }
            | EventKind::OrgSettingsChanged { .. }
            | EventKind::RecoveryCodesGenerated { .. }
            | EventKind::RecoveryCodesLow { .. }
            | EventKind::RecoveryCodesExhausted
            | EventKind::RecoveryCodesReplacementDue { .. }
            | EventKind::BackupCodeReserved { .. }
            | EventKind::BackupCodeSent { .. }
            | EventKind::BackupDestinationAdded { .. }
            | EventKind::BackupDestinationConfirmed { .. }
            | EventKind::BackupDestinationRemoved { .. }
            | EventKind::BackupDestinationWithdrawn { .. }
            | EventKind::DeviceRemembered { .. }
            | EventKind::DeviceAccepted { .. }
            | EventKind::DevicesRevoked { .. }
            | EventKind::PasswordChanged
            | EventKind::HostActionAllowed { .. }
            | EventKind::AuditPruned { .. } => AuditOutcome::Success,
            EventKind::EnrollmentRejected { .. }
            | EventKind::DisownRefused { .. }
            | EventKind::SecurityKeyCounterRegressed { accepted: false, .. }
            | EventKind::EnrollmentExpired
            | EventKind::EnrollmentRefused { .. }
            | EventKind::CodeRejected { .. }
            | EventKind::LockoutStarted { .. }
            | EventKind::SecondFactorDisabled { .. }
            | EventKind::DeactivationRefused { .. }
            | EventKind::ResetRefused { .. }
            | EventKind::HostActionRefused { .. }
            | EventKind::OrgSettingsChangeRefused { .. }
            | EventKind::BackupCodeDiscarded { .. }
            | EventKind::SignInRefused { .. }
            | EventKind::RefusalsSummarised { .. }
            | EventKind::BackupCodeNotSent { .. }
            | EventKind::BackupCodeLapsed { .. }
            | EventKind::FutureDatedVoided { .. } => AuditOutcome::Failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(n: u64) -> Vec<EventKind> {
        (0..n).map(|until| EventKind::LockoutStarted { until }).collect()
    }

    #[test]
    fn events_keep_their_order_whether_held_inline_or_in_a_vec() {
        for n in 0..5 {
            let mut events = Events::new();
            kinds(n).into_iter().for_each(|kind| events.push(kind));
            assert_eq!(events.as_slice(), kinds(n).as_slice(), "{n} events, read as a slice");
            assert_eq!(events.len(), kinds(n).len());
            assert_eq!(events.iter().count(), kinds(n).len());
            let taken = events.clone().into_iter();
            assert_eq!(taken.len(), kinds(n).len(), "the iterator knows how many are left");
            assert_eq!(taken.collect::<Vec<_>>(), kinds(n), "{n} events, taken by value");
            assert_eq!(Vec::from(events.clone()), kinds(n));
            assert_eq!(kinds(n).into_iter().collect::<Events>().as_slice(), events.as_slice());
            assert_eq!(Events::from(kinds(n)).as_slice(), events.as_slice());
        }
        assert!(Events::default().is_empty());
        assert_eq!(Events::from(EventKind::LockoutEnded).as_slice(), [EventKind::LockoutEnded]);
    }
}
