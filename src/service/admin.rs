//! Oversight: admin reset, organisation settings changes, the status list.

use super::{MfaService, Transition, facts, revoke_all};
use crate::audit::{EventKind, Method, RequestContext};
use crate::device::Revocation;
use crate::error::Error;
use crate::policy::OrgSettings;
use crate::record::{UserId, UserRecord};
use crate::store::Store;

/// What an admin reset cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Cleared {
    /// The authenticator app credential.
    Authenticator,
    /// An enrollment in progress.
    PendingEnrollment,
    /// A lockout or failure count.
    Lockout,
    /// The recovery codes.
    RecoveryCodes,
    /// SMS and e-mail destinations and any code sent to them.
    BackupDestinations,
    /// Remembered devices.
    RememberedDevices,
}

/// One row of the admin's MFA status list (R23). Holds no secret.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserStatus {
    /// The user.
    pub user: UserId,
    /// The second factors set up, strongest first; empty means no MFA.
    pub methods: Vec<Method>,
    /// When the authenticator was set up.
    pub enrolled_since: Option<u64>,
    /// When the user last proved a second factor, by any method.
    pub last_used: Option<u64>,
    /// Which method that was.
    pub last_method: Option<Method>,
    /// Unused recovery codes, if a set was generated.
    pub recovery_codes_left: Option<usize>,
    /// Remembered devices still valid.
    pub remembered_devices: usize,
    /// When the current lockout ends, if locked now.
    pub locked_until: Option<u64>,
    /// Whether an enrollment is in progress.
    pub enrollment_pending: bool,
}

impl UserStatus {
    /// The tick or red cross of the admin list: whether the user has MFA.
    pub fn has_mfa(&self) -> bool {
        !self.methods.is_empty()
    }

    /// The row of a stored record at `now`, for hosts that list records a page at a
    /// time ([`crate::store::ListRecords`]) instead of loading one per row.
    pub fn from_record(record: &UserRecord, now: u64) -> UserStatus {
        status_of(record, now)
    }
}

/// The host's answer to "may this user change who must use MFA?" (R22: in seed 003 only
/// support levels 2 and 3 may). Any `Fn(&UserId, &str) -> bool` over (actor, org) is one.
pub trait PermissionCheck {
    /// Whether `actor` may change the MFA settings of organisation `org`.
    fn may_change_mfa_settings(&self, actor: &UserId, org: &str) -> bool;
}

impl<F: Fn(&UserId, &str) -> bool> PermissionCheck for F {
    fn may_change_mfa_settings(&self, actor: &UserId, org: &str) -> bool {
        self(actor, org)
    }
}

impl<S: Store> MfaService<S> {
    /// An admin or principal user resets a user's MFA (the user lost the phone): the
    /// user must enroll again. The host calls this only for actors allowed to; the
    /// service also refuses actors without MFA of their own and self-resets, and audits
    /// the actor and the reason.
    ///
    /// # Errors
    /// [`Error::ReasonRequired`], [`Error::SelfReset`], [`Error::ActorWithoutMfa`], and
    /// infrastructure errors.
    pub async fn reset(
        &self,
        target: &UserId,
        actor: &UserId,
        reason: &str,
        request: &RequestContext,
    ) -> Result<Vec<Cleared>, Error> {
        let refusal = if reason.trim().is_empty() {
            Some(Error::ReasonRequired)
        } else if target == actor {
            Some(Error::SelfReset)
        } else if !self.load(actor).await?.1.has_mfa() {
            Some(Error::ActorWithoutMfa)
        } else {
            None
        };
        if let Some(error) = refusal {
            let now = self.clock.now()?;
            let kind = EventKind::ResetRefused { reason: error.to_string() };
            self.emit(target, actor, now, request, vec![kind]).await?;
            return Err(error);
        }
        self.update(target, actor, request, |record, now| {
            let mut cleared = Vec::new();
            let mut events = Vec::new();
            if record.totp.take().is_some() {
                cleared.push(Cleared::Authenticator);
            }
            if record.pending_enrollment.take().is_some() {
                cleared.push(Cleared::PendingEnrollment);
            }
            if record.failures != Default::default() {
                if record.failures.is_locked(now) {
                    events.push(EventKind::LockoutEnded);
                }
                record.failures = Default::default();
                cleared.push(Cleared::Lockout);
            }
            if record.recovery.take().is_some() {
                cleared.push(Cleared::RecoveryCodes);
            }
            if !record.oob.is_empty() {
                record.oob = Default::default();
                cleared.push(Cleared::BackupDestinations);
            }
            if revoke_all(record, Revocation::Reset, &mut events) > 0 {
                cleared.push(Cleared::RememberedDevices);
            }
            events.push(EventKind::ResetByAdmin {
                reason: reason.trim().to_string(),
                cleared: cleared.clone(),
            });
            Ok(Transition { outcome: cleared, events })
        })
        .await
    }

    /// Changes an organisation's MFA settings (levels, enforcement, grace deadline,
    /// allowlist, limits): a privileged action. The host's permission check must allow
    /// the actor, the new settings must be valid, and the change is audited with the
    /// old and new settings. Returns the settings for the host to save.
    ///
    /// # Errors
    /// [`Error::NotPermitted`] (audited as refused), [`Error::InvalidSettings`],
    /// [`Error::Clock`].
    pub async fn change_org_settings(
        &self,
        org: &str,
        actor: &UserId,
        current: &OrgSettings,
        new: OrgSettings,
        permissions: &impl PermissionCheck,
        request: &RequestContext,
    ) -> Result<OrgSettings, Error> {
        let now = self.clock.now()?;
        let refusal = if !permissions.may_change_mfa_settings(actor, org) {
            Some(Error::NotPermitted)
        } else {
            new.validate().err().map(Error::InvalidSettings)
        };
        if let Some(error) = refusal {
            let kind =
                EventKind::OrgSettingsChangeRefused { org: org.to_string(), reason: error.to_string() };
            self.emit(actor, actor, now, request, vec![kind]).await?;
            return Err(error);
        }
        let kind = EventKind::OrgSettingsChanged {
            org: org.to_string(),
            old: Box::new(current.clone()),
            new: Box::new(new.clone()),
        };
        self.emit(actor, actor, now, request, vec![kind]).await?;
        Ok(new)
    }

    /// The admin list's row for one user.
    ///
    /// # Errors
    /// Infrastructure errors.
    pub async fn status(&self, user: &UserId) -> Result<UserStatus, Error> {
        let now = self.clock.now()?;
        let (_, record) = self.load(user).await?;
        Ok(status_of(&record, now))
    }

    /// The admin list: one row per user, in the order given.
    ///
    /// # Errors
    /// Infrastructure errors; the first one stops the list.
    pub async fn status_list<'a>(
        &self,
        users: impl IntoIterator<Item = &'a UserId>,
    ) -> Result<Vec<UserStatus>, Error> {
        let mut rows = Vec::new();
        for user in users {
            rows.push(self.status(user).await?);
        }
        Ok(rows)
    }
}

fn status_of(record: &UserRecord, now: u64) -> UserStatus {
    let facts = facts(record, now);
    UserStatus {
        user: record.user.clone(),
        methods: facts.methods,
        enrolled_since: record.totp.as_ref().map(|c| c.created_at),
        last_used: record.last_proof.map(|p| p.at),
        last_method: record.last_proof.map(|p| p.method),
        recovery_codes_left: record.recovery.as_ref().map(|r| r.remaining()),
        remembered_devices: record.devices.iter().filter(|d| now < d.expires_at).count(),
        locked_until: facts.locked_until,
        enrollment_pending: record.pending_enrollment.as_ref().is_some_and(|p| now < p.expires_at),
    }
}
