//! "This wasn't me": redeeming the link of a security notice ([`crate::flow::disown`]).

use super::{Error, MfaService};
use crate::event::EventKind;
use crate::flow::disown::{self, DisownToken, Disowned};
use crate::policy::SignInContext;
use crate::seal::SecretSealer;
use crate::store::Store;
use crate::vocabulary::{Outcome, UserId};

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// The token for the "this wasn't me" link of the notice of `user`'s stored event
    /// `event_id` (`event`, made at `at`): what [`crate::relay::Notice::disown_token`]
    /// makes, with the service's hash key.
    ///
    /// # Errors
    /// [`Error::HashKeyMissing`] without a hash key.
    pub fn disown_token(
        &self,
        user: &UserId,
        event_id: i64,
        at: u64,
        event: &EventKind,
    ) -> Result<DisownToken, Error> {
        Ok(disown::token(self.key()?, user, event_id, at, event))
    }

    /// Redeems the token of a security notice's "this wasn't me" link for `user` (the
    /// link's page, which needs no sign-in): freezes the account's MFA changes until an
    /// admin's reset, revokes what the notice was about where it can be told, revokes
    /// remembered devices and ends every session; audited as `notice_disowned`. A
    /// token that is not valid for the user, was used, or is older than
    /// [`disown::LINK_LIFETIME`] changes nothing and is refused as such. Make the
    /// link's token with [`crate::relay::Notice::disown_token`].
    ///
    /// # Errors
    /// [`Error::HashKeyMissing`] without a hash key, and infrastructure failures.
    pub async fn disown(
        &self,
        user: &UserId,
        token: &str,
        context: &SignInContext,
    ) -> Result<Outcome<Disowned>, Error> {
        let key = self.key()?;
        // The link's page needs no sign-in: a name with no record gets the same answer
        // as a wrong token, and nothing is written for it.
        if self.load(user).await?.0.is_none() {
            return Ok(Err(crate::vocabulary::Refusal::DisownLinkInvalid));
        }
        self.update(user, user, &context.request, |record, now| {
            Ok(disown::redeem(record, key, token, &self.env(now, context)))
        })
        .await
    }
}
