//! The authenticator app once set up ([`crate::flow::authenticator`]): sign-in codes,
//! resynchronisation, the list of authenticators, removing one, and turning MFA off.

use super::{Error, MfaService, Which};
use crate::flow::{self, Proven};
use crate::policy::SignInContext;
use crate::record::AuthenticatorInfo;
use crate::seal::SecretSealer;
use crate::store::Store;
use crate::vocabulary::{Outcome, Refusal, UserId};

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// Checks a code from the user's authenticator app: accepted at most once (on any
    /// app server), wrong codes and codes older than the last accepted one counted
    /// towards the lockout; the last accepted code again (a double submit) is refused
    /// as reused without counting.
    ///
    /// # Errors
    /// Infrastructure failures, as described on [`Error`]; a user without an
    /// authenticator gets [`Refusal::NotEnrolled`].
    pub async fn verify_code(
        &self,
        user: &UserId,
        input: &str,
        context: &SignInContext,
    ) -> Result<Outcome<Proven>, Error> {
        self.update_with_secret(
            user,
            context,
            Which::CredentialsIfAny,
            Refusal::NotEnrolled,
            |record, totps, now| {
                Ok(flow::authenticator::verify(record, totps, input, &self.env(now, context))?)
            },
        )
        .await
    }

    /// Re-learns the drift of a user's phone clock from two consecutive codes, when it
    /// has drifted beyond the learned window. Counts as a sign-in proof.
    ///
    /// # Errors
    /// As [`MfaService::verify_code`].
    pub async fn resynchronise(
        &self,
        user: &UserId,
        first: &str,
        second: &str,
        context: &SignInContext,
    ) -> Result<Outcome<Proven>, Error> {
        self.update_with_secret(
            user,
            context,
            Which::CredentialsIfAny,
            Refusal::NotEnrolled,
            |record, totps, now| {
                Ok(flow::authenticator::resynchronise(
                    record,
                    totps,
                    [first, second],
                    &self.env(now, context),
                )?)
            },
        )
        .await
    }

    /// The user's authenticators as their list shows them: security keys first, then
    /// authenticator apps, each oldest first ([`crate::record::UserRecord::authenticator_list`]).
    ///
    /// # Errors
    /// Infrastructure failures.
    pub async fn authenticators(&self, user: &UserId) -> Result<Vec<AuthenticatorInfo>, Error> {
        let (_, record) = self.load(user).await?;
        Ok(record.authenticator_list())
    }

    /// Removes one of the user's authenticators by its id (a lost phone, an old
    /// desktop app); `Ok(false)` if the user has none with that id. Needs a fresh
    /// proof. Removing the last factor the organisation counts is refused: as
    /// [`crate::Refusal::LastFactor`] (turning MFA off takes
    /// [`MfaService::deactivate`], with a code and the confirmation), or as the rule
    /// where the policy forbids turning MFA off ([`crate::Refusal::Forbidden`]). Audited as
    /// `authenticator_removed` for an app and `security_key_removed` for a key.
    ///
    /// # Errors
    /// Infrastructure failures.
    pub async fn remove_authenticator(
        &self,
        user: &UserId,
        id: &str,
        context: &SignInContext,
    ) -> Result<Outcome<bool>, Error> {
        let removed = self
            .update(user, user, &context.request, |record, now| {
                Ok(flow::authenticator::remove(record, id, &self.env(now, context)))
            })
            .await;
        self.opened.forget(user);
        removed
    }

    /// The user turns MFA off: the one way to end up without MFA, for every kind of
    /// user. Needs `confirmed` (the "yes, turn it off" of the screen) and a current
    /// code, and is refused where a rule forbids it. The current code comes from an
    /// authenticator app, or, for a user without one whose factor is a phone number or
    /// e-mail address, is the sign-in code sent to it first
    /// ([`MfaService::send_sign_in_code`] with [`crate::vocabulary::Role::Primary`]),
    /// checked as [`MfaService::verify_sign_in_code`] checks it (see
    /// [`flow::authenticator::deactivate`]).
    ///
    /// # Errors
    /// [`Error::HashKeyMissing`] for a user whose factor is a destination when no hash
    /// key is configured, and infrastructure failures.
    pub async fn deactivate(
        &self,
        user: &UserId,
        code: &str,
        confirmed: bool,
        context: &SignInContext,
    ) -> Result<Outcome<()>, Error> {
        let key = self.key().ok();
        self.update_with_secret(
            user,
            context,
            Which::CredentialsIfAny,
            Refusal::NotEnrolled,
            |record, totps, now| {
                if key.is_none() && totps.is_empty() && !record.oob.destinations.is_empty() {
                    return Err(Error::HashKeyMissing);
                }
                let env = self.env(now, context);
                Ok(flow::authenticator::deactivate(record, totps, key, code, confirmed, &env)?)
            },
        )
        .await
    }
}
