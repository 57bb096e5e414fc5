//! Phone numbers and e-mail addresses ([`crate::flow::destination`]): adding and confirming
//! one, sending and checking sign-in codes, removing one.

use super::{Error, MfaService};
use crate::flow::destination::Sent;
use crate::flow::{self, Proven};
use crate::notify::CodeSender;
use crate::policy::SignInContext;
use crate::seal::SecretSealer;
use crate::store::Store;
use crate::vocabulary::{Destination, Outcome, Purpose, Role, UserId};

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// Adds an SMS or e-mail destination and sends it a confirmation code; it becomes a
    /// method once [`MfaService::confirm_destination`] accepts the code. A backup must
    /// differ from the primary destination.
    ///
    /// # Errors
    /// [`Error::Sender`] (the code was taken back), [`Error::HashKeyMissing`], and
    /// infrastructure failures.
    pub async fn add_destination(
        &self,
        user: &UserId,
        destination: Destination,
        role: Role,
        sender: &impl CodeSender,
        context: &SignInContext,
    ) -> Result<Outcome<Sent>, Error> {
        self.send_code(user, role, Some(destination), sender, context).await
    }

    /// Confirms a new destination with the code sent to it.
    ///
    /// # Errors
    /// [`Error::HashKeyMissing`] and infrastructure failures.
    pub async fn confirm_destination(
        &self,
        user: &UserId,
        code: &str,
        context: &SignInContext,
    ) -> Result<Outcome<Proven>, Error> {
        self.redeem_destination_code(user, code, Purpose::ConfirmDestination, context).await
    }

    /// Sends a sign-in code to the user's confirmed destination of `role`; any code
    /// sent before stops working.
    ///
    /// # Errors
    /// [`Error::Sender`] (the code was taken back), [`Error::HashKeyMissing`], and
    /// infrastructure failures.
    pub async fn send_sign_in_code(
        &self,
        user: &UserId,
        role: Role,
        sender: &impl CodeSender,
        context: &SignInContext,
    ) -> Result<Outcome<Sent>, Error> {
        self.send_code(user, role, None, sender, context).await
    }

    /// Checks a sign-in code sent by SMS or e-mail: valid 10 minutes, 5 tries, once.
    ///
    /// # Errors
    /// [`Error::HashKeyMissing`] and infrastructure failures.
    pub async fn verify_sign_in_code(
        &self,
        user: &UserId,
        code: &str,
        context: &SignInContext,
    ) -> Result<Outcome<Proven>, Error> {
        self.redeem_destination_code(user, code, Purpose::SignIn, context).await
    }

    /// Removes the destination of `role` (and any code sent to it); `true` if there was
    /// one. Removing the last factor follows the rules of deactivation (see
    /// [`flow::destination::remove_destination`]).
    ///
    /// # Errors
    /// Infrastructure failures.
    pub async fn remove_destination(
        &self,
        user: &UserId,
        role: Role,
        context: &SignInContext,
    ) -> Result<Outcome<bool>, Error> {
        self.update(user, user, &context.request, |record, now| {
            Ok(flow::destination::remove_destination(record, role, &self.env(now, context)))
        })
        .await
    }

    async fn redeem_destination_code(
        &self,
        user: &UserId,
        code: &str,
        purpose: Purpose,
        context: &SignInContext,
    ) -> Result<Outcome<Proven>, Error> {
        let key = self.key()?;
        self.update(user, user, &context.request, |record, now| {
            Ok(flow::destination::redeem(record, key, code, purpose, &self.env(now, context)))
        })
        .await
    }

    /// Reserves the send in the record (saved like any change, so the limits hold
    /// across app servers), sends it, then records it sent, or takes the reservation
    /// back if the sender fails.
    async fn send_code(
        &self,
        user: &UserId,
        role: Role,
        adding: Option<Destination>,
        sender: &impl CodeSender,
        context: &SignInContext,
    ) -> Result<Outcome<Sent>, Error> {
        let key = self.key()?;
        let reserved = self
            .update(user, user, &context.request, |record, now| {
                Ok(flow::destination::reserve(record, key, role, adding.clone(), &self.env(now, context))?)
            })
            .await?;
        let reservation = match reserved {
            Ok(reservation) => reservation,
            Err(refusal) => return Ok(Err(refusal)),
        };
        match sender.send(&reservation.destination, &reservation.message).await {
            Ok(()) => {
                // Never refused; if the store fails here, the code never works and
                // lapses (see `flow::destination::SEND_DEADLINE`).
                let _confirmed: Outcome<()> = self
                    .update(user, user, &context.request, |record, _| {
                        Ok(flow::destination::confirm_sent(record, key, &reservation))
                    })
                    .await?;
                Ok(Ok(reservation.sent()))
            }
            Err(error) => {
                // A release is never refused; only a failing store stops it, and then
                // the reservation, never confirmed, lapses.
                let _released: Outcome<()> = self
                    .update(user, user, &context.request, |record, _| {
                        Ok(flow::destination::release(record, key, &reservation))
                    })
                    .await?;
                Err(Error::Sender(Box::new(error)))
            }
        }
    }
}
