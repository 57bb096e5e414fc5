//! The host's permission check for an admin's actions: who may reset whose MFA, and
//! who may change an organisation's MFA settings (R21, R22).
//!
//! A host keeps its permissions in its own database, so the check is asynchronous and
//! may fail. [`MfaService::reset`](super::MfaService::reset),
//! [`MfaService::change_org_settings`](super::MfaService::change_org_settings) and
//! [`MfaService::change_stored_org_settings`](super::MfaService::change_stored_org_settings)
//! ask it once per call, before anything is changed:
//! - `Ok(true)`: the service goes on with its own rules (the actor's own second factor,
//!   proved recently; a reason; no self-reset; valid settings);
//! - `Ok(false)`: refused with [`Refusal::NotPermitted`](crate::Refusal::NotPermitted),
//!   nothing is changed, and the refusal is audited (`reset_refused`,
//!   `org_settings_change_refused`);
//! - `Err(_)`: the call fails closed with [`Error::Permissions`](super::Error::Permissions):
//!   nothing is changed and nothing is audited as permitted.
//!
//! Answer what was asked, for this actor, this organisation and (for a reset) this
//! target: a check that answers `true` for everyone (`|_| true`) hands every signed-in
//! user the admin's powers. A host whose admins may reset only the users of their own
//! organisation checks that the target belongs to it.
//!
//! ```
//! use mfa_kit::UserId;
//! use mfa_kit::service::permissions::{self, AdminAction, Permissions, PermissionRequest};
//!
//! /// The host's table of who administers which organisation.
//! struct Admins {
//!     rows: Vec<(&'static str, &'static str)>, // (organisation, admin)
//!     members: Vec<(&'static str, &'static str)>, // (organisation, user)
//! }
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("the permissions table could not be read")]
//! struct TableDown;
//!
//! impl Permissions for Admins {
//!     type Error = TableDown;
//!
//!     async fn permits(&self, request: &PermissionRequest<'_>) -> Result<bool, TableDown> {
//!         let admin = self.rows.contains(&(request.org, request.actor.as_str()));
//!         let member = |user: &UserId| self.members.contains(&(request.org, user.as_str()));
//!         Ok(match request.action {
//!             AdminAction::ChangeOrgSettings => admin,
//!             AdminAction::Reset { target, .. } => admin && member(target),
//!             _ => false,
//!         })
//!     }
//! }
//!
//! // Or from closures: a synchronous answer, or a future (clone what it needs).
//! let only_partner = permissions::from_sync_fn(|request| request.actor.as_str() == "partner");
//! let looked_up = permissions::from_fn(|request| {
//!     let actor = request.actor.clone();
//!     async move { Ok::<bool, TableDown>(actor.as_str() == "partner") }
//! });
//! # let _ = (only_partner, looked_up);
//! ```
//!
//! The future must be `Send`, as the service's are (a web server runs them on any
//! thread); an `async fn` in an `impl` over `Send + Sync` data is.

use std::convert::Infallible;
use std::future::Future;

use crate::vocabulary::{ResetMode, UserId};

/// Which admin action a permission check is asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdminAction<'a> {
    /// Reset `target`'s MFA, leaving them with `mode`.
    Reset {
        /// The user whose MFA would be reset.
        target: &'a UserId,
        /// What the reset would leave them with.
        mode: ResetMode,
    },
    /// Change the organisation's MFA settings (levels, enforcement, limits).
    ChangeOrgSettings,
}

impl AdminAction<'_> {
    /// The action's stable id: `reset`, `change_org_settings`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AdminAction::Reset { .. } => "reset",
            AdminAction::ChangeOrgSettings => "change_org_settings",
        }
    }
}

/// What a permission check is asked: may `actor` do `action` in organisation `org`?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PermissionRequest<'a> {
    /// Who asks (the signed-in admin).
    pub actor: &'a UserId,
    /// The host's id of the organisation the action is in.
    pub org: &'a str,
    /// What the actor asks to do.
    pub action: AdminAction<'a>,
}

impl<'a> PermissionRequest<'a> {
    /// `actor` asks to do `action` in `org`.
    pub fn new(actor: &'a UserId, org: &'a str, action: AdminAction<'a>) -> PermissionRequest<'a> {
        PermissionRequest { actor, org, action }
    }

    /// The user the action is done to, for a reset.
    pub fn target(&self) -> Option<&'a UserId> {
        match self.action {
            AdminAction::Reset { target, .. } => Some(target),
            AdminAction::ChangeOrgSettings => None,
        }
    }
}

/// The host's answer to "may this actor do this admin action in this organisation?"
/// (see the [module documentation](self) for what the answers do). Implement it over
/// the host's database, or make one from a closure with [`from_fn`] or
/// [`from_sync_fn`].
pub trait Permissions: Send + Sync {
    /// Why the check could not be made (the permissions table could not be read).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Whether `request.actor` may do `request.action` in `request.org`: `Ok(false)` to
    /// refuse. An `Err` fails the call closed.
    ///
    /// # Errors
    /// When the answer cannot be known; the service then changes nothing.
    fn permits(
        &self,
        request: &PermissionRequest<'_>,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;
}

impl<P: Permissions + ?Sized> Permissions for &P {
    type Error = P::Error;

    fn permits(
        &self,
        request: &PermissionRequest<'_>,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        (**self).permits(request)
    }
}

impl<P: Permissions + ?Sized> Permissions for std::sync::Arc<P> {
    type Error = P::Error;

    fn permits(
        &self,
        request: &PermissionRequest<'_>,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        (**self).permits(request)
    }
}

/// A permission check made of a closure that returns a future; see [`from_fn`].
#[derive(Clone, Copy, Debug)]
pub struct PermissionFn<F>(F);

/// A permission check from a closure returning a future of `Result<bool, E>`. The
/// future cannot borrow the request: clone what it needs (the actor's id, the
/// organisation's) before the `async move` block.
///
/// ```
/// use mfa_kit::service::permissions;
///
/// # #[derive(Debug, thiserror::Error)] #[error("down")] struct DbError;
/// # async fn is_admin(_org: &str, _user: &str) -> Result<bool, DbError> { Ok(false) }
/// let admins = permissions::from_fn(|request| {
///     let (org, actor) = (request.org.to_owned(), request.actor.clone());
///     async move { is_admin(&org, actor.as_str()).await }
/// });
/// # let _ = admins;
/// ```
pub fn from_fn<F, Fut, E>(check: F) -> PermissionFn<F>
where
    F: Fn(&PermissionRequest<'_>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<bool, E>> + Send,
    E: std::error::Error + Send + Sync + 'static,
{
    PermissionFn(check)
}

impl<F, Fut, E> Permissions for PermissionFn<F>
where
    F: Fn(&PermissionRequest<'_>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<bool, E>> + Send,
    E: std::error::Error + Send + Sync + 'static,
{
    type Error = E;

    fn permits(
        &self,
        request: &PermissionRequest<'_>,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        (self.0)(request)
    }
}

/// A permission check that answers at once, without I/O; see [`from_sync_fn`].
#[derive(Clone, Copy, Debug)]
pub struct SyncPermissions<F>(F);

/// A permission check from a closure that answers at once (roles already in memory,
/// tests). It never fails.
///
/// ```
/// use mfa_kit::service::permissions::{self, AdminAction};
///
/// let support = ["support-2", "support-3"];
/// let levels_2_and_3 = permissions::from_sync_fn(move |request| match request.action {
///     AdminAction::ChangeOrgSettings => support.contains(&request.actor.as_str()),
///     _ => false,
/// });
/// # let _ = levels_2_and_3;
/// ```
pub fn from_sync_fn<F>(check: F) -> SyncPermissions<F>
where
    F: Fn(&PermissionRequest<'_>) -> bool + Send + Sync,
{
    SyncPermissions(check)
}

impl<F> Permissions for SyncPermissions<F>
where
    F: Fn(&PermissionRequest<'_>) -> bool + Send + Sync,
{
    type Error = Infallible;

    fn permits(
        &self,
        request: &PermissionRequest<'_>,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        std::future::ready(Ok((self.0)(request)))
    }
}
