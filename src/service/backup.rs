//! Backup methods: recovery codes, codes by SMS or e-mail, remembered devices.

use super::{MfaService, Transition, revoke_all};
use crate::audit::{EventKind, Method, RequestContext};
use crate::device::{self, DeviceInfo, DeviceToken, Revocation};
use crate::error::Error;
use crate::oob::{self, CodeSender, Destination, Purpose, Role, SendOutcome};
use crate::policy::SignInContext;
use crate::proof::{self, CodeOutcome};
use crate::record::UserId;
use crate::recovery::{self, RecoveryCode};
use crate::store::{SaveOutcome, Store};

impl<S: Store> MfaService<S> {
    /// A new set of recovery codes, replacing any older set; show them once. The user
    /// needs MFA first.
    ///
    /// # Errors
    /// [`Error::NotEnrolled`], [`Error::HashKeyMissing`], [`Error::Secret`] if the random
    /// source fails, and infrastructure errors.
    pub async fn generate_recovery_codes(
        &self,
        user: &UserId,
        context: &SignInContext,
    ) -> Result<Vec<RecoveryCode>, Error> {
        let key = self.key()?;
        let count = self.config.recovery_codes;
        self.update(user, user, &context.request, |record, now| {
            if !record.has_mfa() {
                return Err(Error::NotEnrolled);
            }
            let (shown, stored) = recovery::generate(key, user, count, now)?;
            record.recovery = Some(stored);
            let events = vec![EventKind::RecoveryCodesGenerated { count: shown.len() }];
            Ok(Transition { outcome: shown, events })
        })
        .await
    }

    /// Signs in with a recovery code instead of the app: each code works once.
    ///
    /// # Errors
    /// [`Error::HashKeyMissing`] and infrastructure errors.
    pub async fn redeem_recovery_code(
        &self,
        user: &UserId,
        input: &str,
        context: &SignInContext,
    ) -> Result<CodeOutcome, Error> {
        let key = self.key()?;
        let lockout = self.policy.lockout(context);
        self.update(user, user, &context.request, |record, now| {
            if let Some(refused) = self.screen(record, context, now, Method::RecoveryCode) {
                return Ok(refused);
            }
            let mut events = Vec::new();
            let outcome = recovery::redeem(record, key, input, now, lockout, &mut events);
            Ok(Transition { outcome, events })
        })
        .await
    }

    /// Adds an SMS or e-mail destination and sends it a confirmation code; it becomes a
    /// method once [`MfaService::confirm_destination`] accepts the code. A backup must
    /// differ from the primary destination.
    ///
    /// # Errors
    /// [`Error::SameAsPrimary`], [`Error::Sender`] (nothing changed), [`Error::LockedOut`],
    /// [`Error::HashKeyMissing`], and infrastructure errors.
    pub async fn add_destination(
        &self,
        user: &UserId,
        destination: Destination,
        role: Role,
        sender: &impl CodeSender,
        context: &SignInContext,
    ) -> Result<SendOutcome, Error> {
        let added = EventKind::BackupDestinationAdded {
            method: destination.method(),
            role,
            to: destination.masked(),
        };
        self.send_code(user, role, Purpose::ConfirmDestination, Some((destination, added)), sender, context)
            .await
    }

    /// Confirms a new destination with the code sent to it.
    ///
    /// # Errors
    /// [`Error::HashKeyMissing`] and infrastructure errors.
    pub async fn confirm_destination(
        &self,
        user: &UserId,
        code: &str,
        context: &SignInContext,
    ) -> Result<CodeOutcome, Error> {
        self.redeem_oob(user, code, Purpose::ConfirmDestination, context).await
    }

    /// Sends a sign-in code to the user's confirmed destination of `role`; any code
    /// sent before stops working.
    ///
    /// # Errors
    /// [`Error::NoDestination`], [`Error::Sender`] (nothing changed), [`Error::LockedOut`],
    /// [`Error::HashKeyMissing`], and infrastructure errors.
    pub async fn send_sign_in_code(
        &self,
        user: &UserId,
        role: Role,
        sender: &impl CodeSender,
        context: &SignInContext,
    ) -> Result<SendOutcome, Error> {
        self.send_code(user, role, Purpose::SignIn, None, sender, context).await
    }

    /// Checks a sign-in code sent by SMS or e-mail: valid 10 minutes, 5 tries, once.
    ///
    /// # Errors
    /// [`Error::HashKeyMissing`] and infrastructure errors.
    pub async fn verify_sign_in_code(
        &self,
        user: &UserId,
        code: &str,
        context: &SignInContext,
    ) -> Result<CodeOutcome, Error> {
        self.redeem_oob(user, code, Purpose::SignIn, context).await
    }

    /// Removes the destination of `role` (and any code sent to it); true if there was one.
    ///
    /// # Errors
    /// Infrastructure errors.
    pub async fn remove_destination(
        &self,
        user: &UserId,
        role: Role,
        context: &SignInContext,
    ) -> Result<bool, Error> {
        self.update(user, user, &context.request, |record, _| {
            let before = record.oob.destinations.len();
            record.oob.destinations.retain(|d| d.role != role);
            let removed = record.oob.destinations.len() != before;
            if record.oob.challenge.as_ref().is_some_and(|c| c.role == role) {
                record.oob.challenge = None;
            }
            let events = if removed { vec![EventKind::BackupDestinationRemoved { role }] } else { vec![] };
            Ok(Transition { outcome: removed, events })
        })
        .await
    }

    /// Remembers this device after a successful second factor: returns the token for
    /// the cookie. Its life is `lifetime` seconds, capped by the policy.
    ///
    /// # Errors
    /// [`Error::RememberDisabled`] when the policy's cap is 0, [`Error::NotEnrolled`],
    /// [`Error::HashKeyMissing`], and infrastructure errors.
    pub async fn remember_device(
        &self,
        user: &UserId,
        label: &str,
        lifetime: u64,
        context: &SignInContext,
    ) -> Result<(DeviceToken, DeviceInfo), Error> {
        let key = self.key()?;
        let cap = self.policy.remember_device_max(context);
        if cap == 0 {
            return Err(Error::RememberDisabled);
        }
        self.update(user, user, &context.request, |record, now| {
            if !record.has_mfa() {
                return Err(Error::NotEnrolled);
            }
            let (token, remembered) = device::issue(key, user, label, now, lifetime.min(cap))?;
            let info = DeviceInfo::from(&remembered);
            record.devices.retain(|d| now < d.expires_at);
            record.devices.push(remembered);
            let excess = record.devices.len().saturating_sub(device::MAX_DEVICES);
            record.devices.drain(..excess);
            let event = EventKind::DeviceRemembered {
                device_id: info.id.clone(),
                label: info.label.clone(),
                expires_at: info.expires_at,
            };
            Ok(Transition { outcome: (token, info), events: vec![event] })
        })
        .await
    }

    /// The user's remembered devices that are still valid.
    ///
    /// # Errors
    /// Infrastructure errors.
    pub async fn devices(&self, user: &UserId) -> Result<Vec<DeviceInfo>, Error> {
        let now = self.clock.now()?;
        let (_, record) = self.load(user).await?;
        Ok(record.devices.iter().filter(|d| now < d.expires_at).map(DeviceInfo::from).collect())
    }

    /// Revokes one remembered device (by the user or an admin); true if it existed.
    ///
    /// # Errors
    /// Infrastructure errors.
    pub async fn revoke_device(
        &self,
        user: &UserId,
        device_id: &str,
        actor: &UserId,
        request: &RequestContext,
    ) -> Result<bool, Error> {
        self.update(user, actor, request, |record, _| {
            let before = record.devices.len();
            record.devices.retain(|d| d.id != device_id);
            let revoked = record.devices.len() != before;
            let events = if revoked {
                vec![EventKind::DevicesRevoked {
                    device_ids: vec![device_id.to_string()],
                    reason: Revocation::Requested,
                }]
            } else {
                vec![]
            };
            Ok(Transition { outcome: revoked, events })
        })
        .await
    }

    /// Revokes every remembered device of the user; returns how many.
    ///
    /// # Errors
    /// Infrastructure errors.
    pub async fn revoke_all_devices(
        &self,
        user: &UserId,
        actor: &UserId,
        reason: Revocation,
        request: &RequestContext,
    ) -> Result<usize, Error> {
        self.update(user, actor, request, |record, _| {
            let mut events = Vec::new();
            let count = revoke_all(record, reason, &mut events);
            Ok(Transition { outcome: count, events })
        })
        .await
    }

    /// The host tells the service the user's password changed: every remembered device
    /// is revoked. Returns how many.
    ///
    /// # Errors
    /// Infrastructure errors.
    pub async fn password_changed(&self, user: &UserId, request: &RequestContext) -> Result<usize, Error> {
        self.revoke_all_devices(user, user, Revocation::PasswordChanged, request).await
    }

    async fn redeem_oob(
        &self,
        user: &UserId,
        code: &str,
        purpose: Purpose,
        context: &SignInContext,
    ) -> Result<CodeOutcome, Error> {
        let key = self.key()?;
        let lockout = self.policy.lockout(context);
        let limits = self.config.oob;
        self.update(user, user, &context.request, |record, now| {
            if purpose == Purpose::SignIn
                && let Some(refused) = self.screen(record, context, now, oob_method(record))
            {
                return Ok(refused);
            }
            let mut events = Vec::new();
            let outcome = oob::redeem(record, key, code, purpose, now, &limits, lockout, &mut events);
            Ok(Transition { outcome, events })
        })
        .await
    }

    /// Issues a code, sends it once, then saves it (re-applied on a conflict, never
    /// sent twice). A failing sender changes nothing.
    async fn send_code(
        &self,
        user: &UserId,
        role: Role,
        purpose: Purpose,
        adding: Option<(Destination, EventKind)>,
        sender: &impl CodeSender,
        context: &SignInContext,
    ) -> Result<SendOutcome, Error> {
        let key = self.key()?;
        let limits = self.config.oob;
        let mut sent: Option<oob::Prepared> = None;
        for _ in 0..self.attempts() {
            let now = self.clock.now()?;
            let (version, before) = self.load(user).await?;
            let mut record = before.clone();
            let mut events = Vec::new();
            proof::lift_expired_lock(&mut record.failures, now, &mut events);
            if let Some(until) = record.failures.locked_until {
                return Err(Error::LockedOut { until });
            }
            if purpose == Purpose::SignIn
                && let Some(Transition { outcome: CodeOutcome::Refused(reason), events }) = self.screen(
                    &record,
                    context,
                    now,
                    record.oob.confirmed(role).map_or(Method::Sms, |d| d.destination.method()),
                )
            {
                self.emit(user, user, now, &context.request, events).await?;
                return Ok(SendOutcome::Refused(reason));
            }
            if let Some((destination, added)) = &adding {
                let primary = record.oob.confirmed(Role::Primary);
                if role == Role::Backup && primary.is_some_and(|p| &p.destination == destination) {
                    return Err(Error::SameAsPrimary);
                }
                record.oob.destinations.retain(|d| d.role != role || d.confirmed_at.is_some());
                record.oob.destinations.push(oob::RegisteredDestination {
                    destination: destination.clone(),
                    role,
                    added_at: now,
                    confirmed_at: None,
                });
                events.push(added.clone());
            }
            let prepared = match sent.take() {
                Some(prepared) => prepared,
                None => {
                    if let Some(retry_at) = oob::rate_limit(&mut record.oob, now, &limits) {
                        return Ok(SendOutcome::RateLimited { retry_at });
                    }
                    let destination = record
                        .oob
                        .find(role, purpose == Purpose::SignIn)
                        .map(|d| d.destination.clone())
                        .ok_or(Error::NoDestination(match role {
                            Role::Primary => "primary",
                            Role::Backup => "backup",
                        }))?;
                    let prepared = oob::prepare(key, user, &destination, role, purpose, now, &limits)?;
                    sender
                        .send(&prepared.destination, &prepared.message)
                        .await
                        .map_err(|e| Error::Sender(Box::new(e)))?;
                    prepared
                }
            };
            oob::record_sent(&mut record.oob, prepared.challenge.clone(), now);
            events.push(EventKind::BackupCodeSent {
                method: prepared.destination.method(),
                purpose,
                to: prepared.destination.masked(),
            });
            let outcome = SendOutcome::Sent {
                to: prepared.destination.masked(),
                expires_at: prepared.challenge.expires_at,
            };
            let events = super::audit_events(user, user, now, &context.request, events);
            if self.save(&record, version, &events).await? == SaveOutcome::Conflict {
                sent = Some(prepared);
                continue;
            }
            self.publish(events);
            return Ok(outcome);
        }
        Err(Error::Contention { attempts: self.attempts() })
    }
}

/// The method of the out-of-band code waiting to be entered (SMS when none is).
fn oob_method(record: &crate::record::UserRecord) -> Method {
    let pending = record.oob.challenge.as_ref().map(|c| c.role);
    record
        .oob
        .destinations
        .iter()
        .find(|d| Some(d.role) == pending)
        .map_or(Method::Sms, |d| d.destination.method())
}
