//! Recovery codes ([`crate::flow::recovery`]): a new set, and redeeming one.

use super::{Error, MfaService};
use crate::flow::recovery::RecoveryCode;
use crate::flow::{self, Proven};
use crate::policy::SignInContext;
use crate::seal::SecretSealer;
use crate::store::Store;
use crate::vocabulary::{Outcome, UserId};

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// A new set of recovery codes, replacing any older set; show them once. The user
    /// needs MFA first.
    ///
    /// # Errors
    /// [`Error::HashKeyMissing`], [`Error::RandomSource`], and infrastructure failures.
    pub async fn generate_recovery_codes(
        &self,
        user: &UserId,
        context: &SignInContext,
    ) -> Result<Outcome<Vec<RecoveryCode>>, Error> {
        let key = self.key()?;
        self.update(user, user, &context.request, |record, now| {
            Ok(flow::recovery::generate(record, key, &self.env(now, context))?)
        })
        .await
    }

    /// Signs in with a recovery code instead of the app: each code works once.
    ///
    /// # Errors
    /// [`Error::HashKeyMissing`] and infrastructure failures.
    pub async fn redeem_recovery_code(
        &self,
        user: &UserId,
        input: &str,
        context: &SignInContext,
    ) -> Result<Outcome<Proven>, Error> {
        let key = self.key()?;
        self.update(user, user, &context.request, |record, now| {
            Ok(flow::recovery::redeem(record, key, input, &self.env(now, context)))
        })
        .await
    }
}
