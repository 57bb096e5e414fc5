//! The account side of a session: the service that says whether a session of a user
//! may go on, and which generation of the account a session belongs to.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use mfa_kit::UserId;
use mfa_kit::flow::session::SessionVerdict;
use mfa_kit::policy::{Decision, SignInContext};
use mfa_kit::seal::SecretSealer;
use mfa_kit::service::{Error, MfaService};
use mfa_kit::store::Store;

type AccountFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// What the guard asks of the MFA service at every request: whether the session may
/// go on ([`MfaService::check_session`]), and the account's generation
/// ([`MfaService::generation`]) for a new session or after the session's own change;
/// and what signing out tells it ([`MfaService::sign_out`]).
/// Implemented for [`MfaService`]; give [`crate::MfaWeb::builder`] the service itself.
pub trait Accounts: Send + Sync + 'static {
    /// As [`MfaService::check_session`].
    fn check_session<'a>(
        &'a self,
        user: &'a UserId,
        context: &'a SignInContext,
    ) -> AccountFuture<'a, SessionVerdict>;

    /// As [`MfaService::generation`].
    fn generation<'a>(&'a self, user: &'a UserId) -> AccountFuture<'a, u64>;

    /// As [`MfaService::sign_out`].
    fn sign_out<'a>(&'a self, user: &'a UserId, context: &'a SignInContext) -> AccountFuture<'a, bool>;

    /// The sign-in decision for `user` now ([`MfaService::sign_in_decision`]), asked
    /// after a session enrolled, for what the organisation requires before going on (a
    /// security key, a backup). `None` when there is no decision to tell (a refusal).
    /// The default says `None`: an implementation that cannot ask lets a session that
    /// enrolled go on as before, and its next sign-in is held as the decision says.
    fn decision<'a>(
        &'a self,
        user: &'a UserId,
        context: &'a SignInContext,
    ) -> AccountFuture<'a, Option<Decision>> {
        let _ = (user, context);
        Box::pin(async { Ok(None) })
    }
}

impl<S, K> Accounts for MfaService<S, K>
where
    S: Store + 'static,
    K: SecretSealer + 'static,
{
    fn check_session<'a>(
        &'a self,
        user: &'a UserId,
        context: &'a SignInContext,
    ) -> AccountFuture<'a, SessionVerdict> {
        Box::pin(MfaService::check_session(self, user, context))
    }

    fn generation<'a>(&'a self, user: &'a UserId) -> AccountFuture<'a, u64> {
        Box::pin(MfaService::generation(self, user))
    }

    fn sign_out<'a>(&'a self, user: &'a UserId, context: &'a SignInContext) -> AccountFuture<'a, bool> {
        Box::pin(MfaService::sign_out(self, user, context))
    }

    fn decision<'a>(
        &'a self,
        user: &'a UserId,
        context: &'a SignInContext,
    ) -> AccountFuture<'a, Option<Decision>> {
        Box::pin(async move { Ok(MfaService::sign_in_decision(self, user, context).await?.ok()) })
    }
}

impl<T: Accounts + ?Sized> Accounts for Arc<T> {
    fn check_session<'a>(
        &'a self,
        user: &'a UserId,
        context: &'a SignInContext,
    ) -> AccountFuture<'a, SessionVerdict> {
        (**self).check_session(user, context)
    }

    fn generation<'a>(&'a self, user: &'a UserId) -> AccountFuture<'a, u64> {
        (**self).generation(user)
    }

    fn sign_out<'a>(&'a self, user: &'a UserId, context: &'a SignInContext) -> AccountFuture<'a, bool> {
        (**self).sign_out(user, context)
    }

    fn decision<'a>(
        &'a self,
        user: &'a UserId,
        context: &'a SignInContext,
    ) -> AccountFuture<'a, Option<Decision>> {
        (**self).decision(user, context)
    }
}
