//! After the password: the sign-in decision ([`crate::flow::sign_in`]) and whether a
//! session may go on ([`crate::flow::session`]).

use super::{Error, MfaService};
use crate::flow::session::SessionVerdict;
use crate::policy::{Decision, SignInContext};
use crate::seal::SecretSealer;
use crate::store::Store;
use crate::vocabulary::{Outcome, UserId};

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// After the password step: what to do next, or why the user may not sign in.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::Clock`]; never a decision that lets the user in.
    pub async fn sign_in_decision(
        &self,
        user: &UserId,
        context: &SignInContext,
    ) -> Result<Outcome<Decision>, Error> {
        let key = self.hash_key.as_ref();
        self.update(user, user, &context.request, |record, now| {
            Ok(crate::flow::sign_in::decide(record, key, &self.env(now, context)))
        })
        .await
    }

    /// Whether a host's session of `user` may go on, or why it has ended
    /// ([`crate::flow::session`]): the account's generation moved since the session
    /// began, or the session passed the policy's lifetime or inactivity limit for this
    /// context. `context` must carry the session ([`SignInContext::with_session`]); a
    /// context without one is judged as a session that ended with the account's change
    /// (fail closed). Changes nothing.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::Clock`]: the session must not go on.
    pub async fn check_session(
        &self,
        user: &UserId,
        context: &SignInContext,
    ) -> Result<SessionVerdict, Error> {
        let now = self.now()?;
        let Some(session) = context.session.as_ref() else {
            return Ok(SessionVerdict::Ended(crate::vocabulary::SessionEnd::AccountChanged));
        };
        let (_, record) = self.load(user).await?;
        let limits = self.policy.session_limits(context);
        Ok(crate::flow::session::judge(&record, session, limits, now))
    }

    /// Signs the context's session out for good ([`crate::flow::session::sign_out`]):
    /// the record remembers it, so a copy of the session a request still running saves
    /// again after the host deleted it is refused at its next request
    /// ([`crate::SessionEnd::SignedOut`]). Call it, then delete the host's session.
    /// `true` if the session was remembered now; a context without a session, or a
    /// session without a tag ([`crate::policy::SessionFacts::tagged`]), changes nothing.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::Clock`]: the sign-out was not remembered (or, the
    /// store's reply lost, it may have been); delete the host's session all the same.
    pub async fn sign_out(&self, user: &UserId, context: &SignInContext) -> Result<bool, Error> {
        let Some(session) = context.session.filter(|session| session.tag.is_some()) else {
            return Ok(false);
        };
        let limits = self.policy.session_limits(context);
        let outcome = self
            .update(user, user, &context.request, |record, _| {
                Ok(crate::flow::session::sign_out(record, &session, limits))
            })
            .await?;
        Ok(outcome.unwrap_or(false))
    }

    /// The account's generation ([`UserRecord::generation`](crate::record::UserRecord::generation)): what a new session keeps
    /// when the password is checked (read it before the sign-in decision), and what the
    /// session that made a change takes afterwards ([`crate::flow::session::adopt`]).
    ///
    /// # Errors
    /// [`Error::Store`].
    pub async fn generation(&self, user: &UserId) -> Result<u64, Error> {
        Ok(self.load(user).await?.1.generation())
    }
}
