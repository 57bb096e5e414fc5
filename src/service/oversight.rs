//! Oversight: admin reset, organisation settings changes, the status list.

use std::future::Future;

use super::commit::audit_events;
use super::evidence::same_org;
use super::permissions::{AdminAction, PermissionRequest, Permissions};
use super::{Error, MfaService, store_error};
use crate::flow::oversight::{ResetRequest, SettingsChange, UserStatus};
use crate::flow::{self, Step};
use crate::policy::{OrgSettings, SignInContext};
use crate::seal::SecretSealer;
use crate::store::{OrgSettingsStore, SaveOutcome, Store};
use crate::vocabulary::{Cleared, OrgId, Outcome, RequestContext, UserId};

/// The host's answer to `request`, asked once per call; a failed check fails the call
/// closed.
async fn ask(permissions: &impl Permissions, request: PermissionRequest<'_>) -> Result<bool, Error> {
    permissions.permits(&request).await.map_err(|error| Error::Permissions(Box::new(error)))
}

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// An admin or principal user resets a user's MFA (the user lost the phone, or is
    /// locked out): with [`ResetMode::RequireEnrollment`](crate::ResetMode) (the
    /// default of [`ResetRequest::new`]) the user must enroll again; with
    /// [`ResetMode::TurnOff`](crate::ResetMode) MFA is off and the user signs in
    /// without it, which is refused where the policy forbids turning MFA off for the
    /// user (see [`flow::oversight::reset`]).
    ///
    /// `permissions` is asked first whether `reset.actor` may reset `reset.target`
    /// with this mode in `reset.org` ([`AdminAction::Reset`]); if it says no, the reset
    /// is refused with [`Refusal::NotPermitted`](crate::Refusal::NotPermitted) and
    /// audited as `reset_refused`. The service also refuses a reset without a reason,
    /// self-resets and actors without MFA of their own or without a second factor
    /// proved within the step-up window, and audits the actor, the reason and the
    /// mode. `context` is the actor's own request: its session and user type judge the
    /// actor's proof, as [`MfaService::step_up`] with
    /// [`SensitiveAction::ResetUser`](crate::SensitiveAction::ResetUser) does (an admin
    /// who must prove with a security key resets nobody on an app code), and its
    /// organisation's settings set the window. Where levels differ by user type, give
    /// the target's with [`ResetRequest::for_user_type`]: `TurnOff` is checked against
    /// it (without it, against the context's).
    ///
    /// ```
    /// use mfa_kit::flow::oversight::ResetRequest;
    /// use mfa_kit::prelude::*;
    /// use mfa_kit::danger::PlaintextSealer;
    /// use mfa_kit::service::permissions::{self, AdminAction};
    ///
    /// # pollster::block_on(async {
    /// let mfa = MfaService::builder("Acme Payroll", MemoryStore::new(), PlaintextSealer).build();
    /// let (tom, sarah) = (UserId::new("tom"), UserId::new("sarah"));
    /// // The host's roles: only the partner resets, and only in the firm's organisation.
    /// let partners = permissions::from_sync_fn(|request| {
    ///     request.actor.as_str() == "partner"
    ///         && request.org == "smith-co"
    ///         && matches!(request.action, AdminAction::Reset { .. })
    /// });
    /// let by_tom = ResetRequest::new("smith-co", &tom, &sarah, "lost phone");
    /// let refused = mfa.reset(by_tom, &partners, &SignInContext::default()).await?;
    /// assert_eq!(refused, Err(Refusal::NotPermitted));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// The reset is judged under the rules of the organisation it is made in: a
    /// `context` made in another organisation is [`Error::OrgMismatch`] (nothing is
    /// asked, changed or audited). A reset the host does not permit leaves the
    /// target's record as it is; only the refusal is audited, under `reset.org`.
    ///
    /// # Errors
    /// [`Error::Permissions`] when the permission check fails (nothing is changed or
    /// audited as reset); [`Error::OrgMismatch`]; infrastructure failures.
    pub async fn reset(
        &self,
        reset: ResetRequest<'_>,
        permissions: &impl Permissions,
        context: &SignInContext,
    ) -> Result<Outcome<Vec<Cleared>>, Error> {
        let ResetRequest { org, actor, target, reason, mode, user_type } = reset;
        let filed = OrgId::new(org);
        same_org(Some(&filed), context)?;
        let now = self.now()?;
        let action = AdminAction::Reset { target, mode };
        let permitted = ask(permissions, PermissionRequest::new(actor, org, action)).await?;
        let (_, actor_record) = self.load(actor).await?;
        self.settle(actor, now, &actor_record, context).await?;
        // Filed under the organisation the reset is made in.
        let request = RequestContext { org: Some(filed), ..context.request.clone() };
        let reset = self
            .update(target, actor, &request, |record, now| {
                let env = self.env(now, context);
                Ok(flow::oversight::reset_of_type(
                    record,
                    &actor_record,
                    reason,
                    mode,
                    user_type,
                    permitted,
                    &env,
                ))
            })
            .await;
        self.opened.forget(target);
        reset
    }

    /// Changes an organisation's MFA settings kept by the host itself (levels,
    /// enforcement, grace deadline, allowlist, limits): a privileged action. The host's
    /// permission check must allow the actor ([`AdminAction::ChangeOrgSettings`] in
    /// `change.org`; a failed check is [`Error::Permissions`], and nothing is saved or
    /// audited), the actor must have proved a second factor
    /// within the step-up window and the new settings must be valid; then `save` stores
    /// them (the host's settings table), and only once it returned `Ok` is the change
    /// audited, with the old and new settings. A refusal is audited too. Returns the
    /// settings saved. `context` is the actor's request.
    ///
    /// The host's save and the audit write are two writes, so this call cannot make
    /// them one. What it guarantees:
    /// - a refused change calls no `save`;
    /// - if `save` fails, nothing is audited as changed and the call returns
    ///   [`Error::Store`] (a `save` whose own reply was lost may still have written the
    ///   settings: then they changed unaudited);
    /// - if `save` succeeds and the audit write fails, the settings **are changed** and
    ///   the event may be missing, and the call returns [`Error::Store`]: read the
    ///   settings back before telling the admin nothing changed.
    ///
    /// For one atomic write, keep the settings in the store
    /// ([`OrgSettingsStore`], implemented by [`crate::store::MemoryStore`] and
    /// mfa-kit-sqlx's stores) and call [`MfaService::change_stored_org_settings`], or
    /// call [`flow::oversight::change_org_settings`] and write the settings and its
    /// events in one transaction of your own.
    ///
    /// # Errors
    /// [`Error::Store`] if `save` or the audit write fails, [`Error::Clock`],
    /// [`Error::Permissions`], [`Error::OrgMismatch`] when `context` is made in another
    /// organisation than `change.org` (whose step-up window and rules would judge it;
    /// nothing is asked, saved or audited).
    pub async fn change_org_settings<F, E>(
        &self,
        change: SettingsChange<'_>,
        permissions: &impl Permissions,
        context: &SignInContext,
        save: impl FnOnce(OrgSettings) -> F,
    ) -> Result<Outcome<OrgSettings>, Error>
    where
        F: Future<Output = Result<(), E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let actor = change.actor.clone();
        let filed = OrgId::new(change.org);
        same_org(Some(&filed), context)?;
        let now = self.now()?;
        let asked = PermissionRequest::new(&actor, change.org, AdminAction::ChangeOrgSettings);
        let permitted = ask(permissions, asked).await?;
        let (_, actor_record) = self.load(&actor).await?;
        self.settle(&actor, now, &actor_record, context).await?;
        let env = self.env(now, context);
        let Step { outcome, events, .. } =
            flow::oversight::change_org_settings(change, &actor_record, permitted, &env);
        if let Ok(settings) = &outcome {
            save(settings.clone()).await.map_err(store_error)?;
        }
        self.store_events(&actor, &actor, now, &context.request, Some(&filed), events).await?;
        Ok(outcome)
    }

    /// The admin list's row for one user, under the organisation's rules in
    /// `context`: "has MFA" counts only the methods the organisation allows as factors
    /// (a user whose only factor is an e-mail address has none under the NIST preset).
    ///
    /// # Errors
    /// Infrastructure failures.
    pub async fn status(&self, user: &UserId, context: &SignInContext) -> Result<UserStatus, Error> {
        let now = self.now()?;
        let (_, record) = self.load(user).await?;
        Ok(UserStatus::under(&record, &self.env(now, context)))
    }

    /// The admin list: one row per user, in the order given, under the organisation's
    /// rules in `context` (see [`MfaService::status`]), but not its sign-in route: an
    /// admin who signed in through single sign-on does not make every user exempt (as
    /// [`MfaService::status_page`]). A record that cannot be read (a store error, a
    /// record of an unknown format) gives an error in its own row; the other rows are
    /// still listed.
    pub async fn status_list<'a>(
        &self,
        users: impl IntoIterator<Item = &'a UserId>,
        context: &SignInContext,
    ) -> Vec<(UserId, Result<UserStatus, Error>)> {
        let listed = crate::flow::oversight::list_context(context);
        let mut rows = Vec::new();
        for user in users {
            rows.push((user.clone(), self.status(user, &listed).await));
        }
        rows
    }
}

impl<S: OrgSettingsStore, K: SecretSealer> MfaService<S, K> {
    /// The MFA settings of organisation `org` kept in the store
    /// ([`OrgSettingsStore`]): what a host passes in each of its users' sign-in
    /// contexts ([`SignInContext::with_org`]). An organisation whose settings were
    /// never changed through [`MfaService::change_stored_org_settings`] has
    /// `OrgSettings::default()`, the settings that call starts from.
    ///
    /// # Errors
    /// [`Error::Store`], also for stored settings out of range (written around the
    /// service), which fail to read ([`OrgSettings`] is checked as it is read).
    pub async fn org_settings(&self, org: &str) -> Result<OrgSettings, Error> {
        let stored = self.store.load_org_settings(org).await.map_err(store_error)?;
        let settings = stored.map(|stored| stored.settings).unwrap_or_default();
        Ok(settings)
    }

    /// Changes the MFA settings of organisation `org` kept in the store, the settings
    /// and the event that records the change in one atomic write. `change` makes the
    /// new settings from those in force (`OrgSettings::default()` for an organisation
    /// whose settings were never stored); it is called again with the newer settings
    /// if another change was saved meanwhile, so two admins' changes both apply and
    /// neither is lost (`|_| new.clone()` replaces the settings whole).
    ///
    /// The same rules as [`MfaService::change_org_settings`]: the host's permission
    /// check must allow `actor` (asked once, before the first try; a failed check is
    /// [`Error::Permissions`]), who must have proved a second factor within the
    /// step-up window (`context` is the actor's request), and the new settings must be
    /// valid; a refusal changes nothing and is audited. The `org_settings_changed`
    /// event holds the settings it replaced as stored, and is stored if and only if
    /// the change is: when the call returns [`Error::Store`] the change may or may not
    /// have been made (a reply lost after the commit), but never one without the
    /// other. Read the settings back ([`MfaService::org_settings`]) to know which.
    ///
    /// # Errors
    /// [`Error::Store`] (not retried), [`Error::Clock`], [`Error::Contention`] when
    /// other changes kept winning for `max_attempts` tries, [`Error::Permissions`],
    /// [`Error::OrgMismatch`] when `context` is made in another organisation than
    /// `org` (nothing is asked, saved or audited).
    pub async fn change_stored_org_settings(
        &self,
        org: &str,
        actor: &UserId,
        permissions: &impl Permissions,
        context: &SignInContext,
        mut change: impl FnMut(&OrgSettings) -> OrgSettings,
    ) -> Result<Outcome<OrgSettings>, Error> {
        let filed = OrgId::new(org);
        same_org(Some(&filed), context)?;
        let now = self.now()?;
        let permitted =
            ask(permissions, PermissionRequest::new(actor, org, AdminAction::ChangeOrgSettings)).await?;
        let (_, actor_record) = self.load(actor).await?;
        self.settle(actor, now, &actor_record, context).await?;
        let env = self.env(now, context);
        for _ in 0..self.attempts() {
            let stored = self.store.load_org_settings(org).await.map_err(store_error)?;
            let (expected, current) = match stored {
                Some(stored) => (Some(stored.version), stored.settings),
                None => (None, OrgSettings::default()),
            };
            let new = change(&current);
            let asked = SettingsChange::new(org, actor, &current, new);
            let Step { outcome, events, .. } =
                flow::oversight::change_org_settings(asked, &actor_record, permitted, &env);
            let settings = match outcome {
                Ok(settings) => settings,
                Err(refusal) => {
                    self.store_events(actor, actor, now, &context.request, Some(&filed), events).await?;
                    return Ok(Err(refusal));
                }
            };
            let events = audit_events(actor, actor, now, &context.request, Some(&filed), events);
            let feed = self.feed(&events);
            let saved = self
                .store
                .save_org_settings(org, settings.clone(), expected, events)
                .await
                .map_err(store_error)?;
            if let SaveOutcome::Saved(_) = saved {
                self.publish(feed);
                return Ok(Ok(settings));
            }
        }
        Err(Error::Contention { attempts: self.attempts() })
    }
}
