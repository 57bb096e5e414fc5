//! Oversight: admin reset, organisation settings changes, the status list.

use std::future::Future;

use super::{Error, MfaService, store_error};
use crate::flow::oversight::{SettingsChange, UserStatus};
use crate::flow::{self, Step};
use crate::policy::{OrgSettings, SignInContext};
use crate::seal::SecretSealer;
use crate::store::Store;
use crate::vocabulary::{Cleared, Outcome, UserId};

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

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// An admin or principal user resets a user's MFA (the user lost the phone): the
    /// user must enroll again. The host calls this only for actors allowed to; the
    /// service also refuses self-resets and actors without MFA of their own or without
    /// a second factor proved within the step-up window, and audits the actor and the
    /// reason. `context` is the actor's request (its organisation's settings set the
    /// window).
    ///
    /// # Errors
    /// Infrastructure failures.
    pub async fn reset(
        &self,
        target: &UserId,
        actor: &UserId,
        reason: &str,
        context: &SignInContext,
    ) -> Result<Outcome<Vec<Cleared>>, Error> {
        self.check(context)?;
        let now = self.now()?;
        let (_, actor_record) = self.load(actor).await?;
        self.settle(actor, now, &actor_record, context).await?;
        let reset = self
            .update(target, actor, &context.request, |record, now| {
                Ok(flow::oversight::reset(record, &actor_record, reason, &self.env(now, context)))
            })
            .await;
        self.opened.forget(target);
        reset
    }

    /// Changes an organisation's MFA settings (levels, enforcement, grace deadline,
    /// allowlist, limits): a privileged action. The host's permission check must allow
    /// the actor, the actor must have proved a second factor within the step-up window
    /// and the new settings must be valid; then `save` stores them (the host's settings
    /// table), and only once it succeeded is the change audited, with the old and new
    /// settings. A refusal is audited too. Returns the settings saved. `context` is the
    /// actor's request.
    ///
    /// A host that can write its settings and the audit rows in one transaction can
    /// call [`flow::oversight::change_org_settings`] instead and store both itself.
    ///
    /// # Errors
    /// [`Error::Store`] if `save` or the audit write fails, [`Error::Clock`].
    pub async fn change_org_settings<F, E>(
        &self,
        change: SettingsChange<'_>,
        permissions: &impl PermissionCheck,
        context: &SignInContext,
        save: impl FnOnce(OrgSettings) -> F,
    ) -> Result<Outcome<OrgSettings>, Error>
    where
        F: Future<Output = Result<(), E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        self.check(context)?;
        let now = self.now()?;
        let actor = change.actor.clone();
        let (_, actor_record) = self.load(&actor).await?;
        self.settle(&actor, now, &actor_record, context).await?;
        let permitted = permissions.may_change_mfa_settings(&actor, change.org);
        let env = self.env(now, context);
        let Step { outcome, events, .. } =
            flow::oversight::change_org_settings(change, &actor_record, permitted, &env);
        if let Ok(settings) = &outcome {
            save(settings.clone()).await.map_err(store_error)?;
        }
        self.store_events(&actor, &actor, now, &context.request, events).await?;
        Ok(outcome)
    }

    /// The admin list's row for one user.
    ///
    /// # Errors
    /// Infrastructure failures.
    pub async fn status(&self, user: &UserId) -> Result<UserStatus, Error> {
        let now = self.now()?;
        let (_, record) = self.load(user).await?;
        Ok(UserStatus::of(&record, now))
    }

    /// The admin list: one row per user, in the order given. A record that cannot be
    /// read (a store error, a record of an unknown format) gives an error in its own
    /// row; the other rows are still listed.
    pub async fn status_list<'a>(
        &self,
        users: impl IntoIterator<Item = &'a UserId>,
    ) -> Vec<(UserId, Result<UserStatus, Error>)> {
        let mut rows = Vec::new();
        for user in users {
            rows.push((user.clone(), self.status(user).await));
        }
        rows
    }
}
