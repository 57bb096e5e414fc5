//! Remembered devices ([`crate::flow::device`]): remembering one, listing, revoking,
//! and what a password change ends.

use super::{Error, MfaService};
use crate::flow::device::Remembered;
use crate::flow::{self};
use crate::policy::SignInContext;
use crate::record::DeviceInfo;
use crate::seal::SecretSealer;
use crate::store::Store;
use crate::vocabulary::{Outcome, RequestContext, Revocation, UserId};

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// Remembers this device after a successful second factor: returns the token for
    /// the cookie. Its life is `lifetime` seconds, capped by the policy.
    ///
    /// # Errors
    /// [`Error::HashKeyMissing`], [`Error::RandomSource`], and infrastructure failures.
    pub async fn remember_device(
        &self,
        user: &UserId,
        label: &str,
        lifetime: u64,
        context: &SignInContext,
    ) -> Result<Outcome<Remembered>, Error> {
        let key = self.key()?;
        self.update(user, user, &context.request, |record, now| {
            Ok(flow::device::remember(record, key, label, lifetime, &self.env(now, context))?)
        })
        .await
    }

    /// The user's remembered devices that are still valid: not expired, and within the
    /// deployment's cap on remembered devices (a cap tightened since applies at once;
    /// an organisation's own cap applies to its sign-ins and to
    /// [`MfaService::status`]'s count).
    ///
    /// # Errors
    /// Infrastructure failures.
    pub async fn devices(&self, user: &UserId) -> Result<Vec<DeviceInfo>, Error> {
        let now = self.now()?;
        let (_, record) = self.load(user).await?;
        let context = SignInContext::default();
        self.settle(user, now, &record, &context).await?;
        Ok(flow::device::list_within_cap(&record, &self.env(now, &context)))
    }

    /// Revokes one remembered device (by the user or an admin); `true` if it existed.
    ///
    /// # Errors
    /// Infrastructure failures.
    pub async fn revoke_device(
        &self,
        user: &UserId,
        device_id: &str,
        actor: &UserId,
        request: &RequestContext,
    ) -> Result<bool, Error> {
        let outcome = self
            .update(user, actor, request, |record, _| Ok(flow::device::revoke(record, device_id)))
            .await?;
        Ok(outcome.unwrap_or(false))
    }

    /// Revokes every remembered device of the user; returns how many.
    ///
    /// # Errors
    /// Infrastructure failures.
    pub async fn revoke_all_devices(
        &self,
        user: &UserId,
        actor: &UserId,
        reason: Revocation,
        request: &RequestContext,
    ) -> Result<usize, Error> {
        let outcome = self
            .update(user, actor, request, |record, _| Ok(flow::device::revoke_all(record, reason)))
            .await?;
        Ok(outcome.unwrap_or(0))
    }

    /// The host tells the service the user's password changed: every remembered device
    /// is revoked and the account's generation moves, so every other session of the
    /// user ends ([`crate::flow::session`]); the session that changed the password
    /// takes the new generation ([`MfaService::generation`],
    /// [`crate::flow::session::adopt`]). Returns how many devices were revoked.
    ///
    /// # Errors
    /// Infrastructure failures.
    pub async fn password_changed(&self, user: &UserId, request: &RequestContext) -> Result<usize, Error> {
        let outcome =
            self.update(user, user, request, |record, _| Ok(flow::device::password_changed(record))).await?;
        Ok(outcome.unwrap_or(0))
    }
}
