//! Audit events: who did what, when, with what outcome, from where.
//!
//! The service emits an [`AuditEvent`] for every enrollment step, proof, failure,
//! lockout, reset, deactivation and policy change, after the change it describes has
//! been saved. The host stores them (the ATO asks for 12 months) through an
//! [`AuditSink`]. Events never hold a secret, a code or a hash.

use std::net::IpAddr;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::record::UserId;

/// What the host knows of the request: where it came from and on what device.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    /// The client's address.
    pub address: Option<IpAddr>,
    /// A label for the device or user agent, as the host chooses to describe it.
    pub device: Option<String>,
}

impl RequestContext {
    /// A context with the client's address.
    pub fn from_address(address: IpAddr) -> RequestContext {
        RequestContext { address: Some(address), device: None }
    }

    /// The same context with a device label.
    #[must_use]
    pub fn with_device(mut self, device: impl Into<String>) -> RequestContext {
        self.device = Some(device.into());
        self
    }
}

/// Whether the audited action succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// The action succeeded.
    Success,
    /// The action was refused or failed.
    Failure,
}

/// Why a code was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectionReason {
    /// The code matches no step in the window.
    Wrong,
    /// The code was used before (at or below the last accepted step).
    Replayed,
    /// The input was not a code (letters, wrong length).
    Malformed,
    /// The recovery code was used before.
    AlreadyUsed,
    /// The out-of-band code expired.
    Expired,
    /// No out-of-band code is waiting to be entered (none sent, spent or discarded).
    NoCodePending,
    /// The user is locked out; the code was not evaluated.
    LockedOut,
    /// The policy refuses this sign-in (for example the address is not allowed); the
    /// code was not evaluated.
    PolicyRefused,
}

/// Which factor proved the user's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Method {
    /// A code from an authenticator app (TOTP).
    Totp,
    /// A one-time code sent by SMS.
    Sms,
    /// A one-time code sent by e-mail.
    Email,
    /// A single-use recovery code.
    RecoveryCode,
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
    /// A confirmation code was refused.
    EnrollmentRejected {
        /// Why.
        reason: EnrollmentRejection,
    },
    /// A pending enrollment expired before it was confirmed.
    EnrollmentExpired,
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
    /// The user deactivated MFA.
    Deactivated,
    /// A deactivation was refused by a rule.
    DeactivationRefused {
        /// The rule that forbids it.
        reason: crate::policy::Reason,
    },
    /// An admin or principal reset the user's MFA.
    ResetByAdmin {
        /// The reason the admin gave.
        reason: String,
        /// What was cleared.
        cleared: Vec<crate::service::Cleared>,
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
    /// An out-of-band code was sent.
    BackupCodeSent {
        /// SMS or e-mail.
        method: Method,
        /// What the code is for.
        purpose: crate::oob::Purpose,
        /// The destination, masked.
        to: String,
    },
    /// An out-of-band code was discarded after too many wrong tries.
    BackupCodeDiscarded {
        /// SMS or e-mail.
        method: Method,
    },
    /// A destination was added and awaits confirmation.
    BackupDestinationAdded {
        /// SMS or e-mail.
        method: Method,
        /// Primary or backup.
        role: crate::oob::Role,
        /// The destination, masked.
        to: String,
    },
    /// A destination was confirmed and is now a method.
    BackupDestinationConfirmed {
        /// SMS or e-mail.
        method: Method,
        /// Primary or backup.
        role: crate::oob::Role,
        /// The destination, masked.
        to: String,
    },
    /// A destination was removed.
    BackupDestinationRemoved {
        /// Primary or backup.
        role: crate::oob::Role,
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
        reason: crate::device::Revocation,
    },
    /// An organisation's MFA settings were changed (R22). `user` and `actor` of the
    /// event are both the admin who changed them.
    OrgSettingsChanged {
        /// The host's id of the organisation.
        org: String,
        /// The settings before.
        old: Box<crate::policy::OrgSettings>,
        /// The settings after.
        new: Box<crate::policy::OrgSettings>,
    },
    /// A change of an organisation's MFA settings was refused.
    OrgSettingsChangeRefused {
        /// The host's id of the organisation.
        org: String,
        /// Why, in words safe to log.
        reason: String,
    },
    /// An admin reset was refused.
    ResetRefused {
        /// Why, in words safe to log.
        reason: String,
    },
}

/// Why a confirmation code was refused during enrollment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EnrollmentRejection {
    /// A code matches no step near now.
    WrongCode,
    /// The same code was typed twice: two consecutive codes are needed.
    SameCodeTwice,
    /// Both codes are valid but not from consecutive time steps.
    NotConsecutive,
    /// The input was not a code.
    Malformed,
    /// Two codes are required but one was given.
    TwoCodesRequired,
    /// Too many wrong confirmations: the enrollment was discarded.
    TooManyAttempts,
}

/// One audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// Receives audit events; implemented by the host to store them.
///
/// Events arrive after the change they describe was saved. `record` must not block for
/// long or fail the caller: queue the event and ship it, as a log pipeline would.
pub trait AuditSink: Send + Sync {
    /// Takes one event.
    fn record(&self, event: AuditEvent);
}

/// Drops every event. For hosts that audit elsewhere, and for benchmarks.
#[derive(Clone, Copy, Debug, Default)]
pub struct DiscardAudit;

impl AuditSink for DiscardAudit {
    fn record(&self, _event: AuditEvent) {}
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

impl EventKind {
    /// Whether the event records a success or a failure.
    pub fn outcome(&self) -> AuditOutcome {
        match self {
            EventKind::EnrollmentStarted { .. }
            | EventKind::EnrollmentConfirmed { .. }
            | EventKind::CodeAccepted { .. }
            | EventKind::Resynchronised { .. }
            | EventKind::LockoutEnded
            | EventKind::Deactivated
            | EventKind::ResetByAdmin { .. }
            | EventKind::OrgSettingsChanged { .. }
            | EventKind::RecoveryCodesGenerated { .. }
            | EventKind::RecoveryCodesLow { .. }
            | EventKind::RecoveryCodesExhausted
            | EventKind::BackupCodeSent { .. }
            | EventKind::BackupDestinationAdded { .. }
            | EventKind::BackupDestinationConfirmed { .. }
            | EventKind::BackupDestinationRemoved { .. }
            | EventKind::DeviceRemembered { .. }
            | EventKind::DeviceAccepted { .. }
            | EventKind::DevicesRevoked { .. } => AuditOutcome::Success,
            EventKind::EnrollmentRejected { .. }
            | EventKind::EnrollmentExpired
            | EventKind::CodeRejected { .. }
            | EventKind::LockoutStarted { .. }
            | EventKind::DeactivationRefused { .. }
            | EventKind::ResetRefused { .. }
            | EventKind::OrgSettingsChangeRefused { .. }
            | EventKind::BackupCodeDiscarded { .. } => AuditOutcome::Failure,
        }
    }
}
