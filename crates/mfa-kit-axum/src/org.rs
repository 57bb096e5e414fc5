//! The host's source of organisation settings, asked for every sign-in context.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use mfa_kit::policy::{Jurisdiction, OrgSettings};
use mfa_kit::{OrgId, UserId};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the host knows of a user's organisation, for the policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserOrg {
    /// The organisation the user acts in: every event of their requests is filed under
    /// it, and their record is listed under it ([`mfa_kit::policy::SignInContext::in_org`]).
    /// `None`: no organisation (a host with one).
    pub org: Option<OrgId>,
    /// The organisation's MFA settings as its admin saved them (`None`: the policy's
    /// defaults).
    pub settings: Option<Arc<OrgSettings>>,
    /// Where the organisation is and what it is connected to.
    pub jurisdiction: Jurisdiction,
    /// The host's type of this user (`practitioner`, `client_admin`, ...).
    pub user_type: Option<String>,
    /// Whether the user is a principal (owner, partner) of the organisation.
    pub principal: bool,
}

impl UserOrg {
    /// A user of an organisation with these settings.
    pub fn new(settings: Arc<OrgSettings>) -> UserOrg {
        UserOrg { settings: Some(settings), ..UserOrg::default() }
    }

    /// The same, in organisation `org` (see [`UserOrg::org`]).
    #[must_use]
    pub fn in_org(mut self, org: impl Into<OrgId>) -> UserOrg {
        self.org = Some(org.into());
        self
    }

    /// The same, with the organisation's jurisdiction.
    #[must_use]
    pub fn with_jurisdiction(mut self, jurisdiction: Jurisdiction) -> UserOrg {
        self.jurisdiction = jurisdiction;
        self
    }

    /// The same, with the host's user type.
    #[must_use]
    pub fn with_user_type(mut self, user_type: impl Into<String>) -> UserOrg {
        self.user_type = Some(user_type.into());
        self
    }

    /// The same, for a principal user.
    #[must_use]
    pub fn as_principal(mut self) -> UserOrg {
        self.principal = true;
        self
    }
}

/// The host's answer to "which organisation settings apply to this user?". The
/// extractors ask it for every sign-in context they build, so no handler can pass the
/// service a context without them.
///
/// ```
/// use std::sync::Arc;
/// use mfa_kit::{OrgId, UserId};
/// use mfa_kit::policy::OrgSettings;
/// use mfa_kit_axum::{OrgSource, UserOrg};
///
/// /// One organisation for everybody, its settings kept in memory.
/// struct OneOrg(std::sync::RwLock<Arc<OrgSettings>>);
///
/// impl OrgSource for OneOrg {
///     type Error = std::convert::Infallible;
///
///     async fn org_for(&self, _user: &UserId) -> Result<UserOrg, Self::Error> {
///         let settings = self.0.read().map(|s| s.clone()).unwrap_or_default();
///         Ok(UserOrg::new(settings))
///     }
/// }
/// ```
pub trait OrgSource: Send + Sync + 'static {
    /// The source's failure; reported as [`crate::WebError::OrgSource`] (nobody is let in).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The organisation facts for `user`.
    fn org_for(&self, user: &UserId) -> impl Future<Output = Result<UserOrg, Self::Error>> + Send;
}

type OrgFuture<'a> = Pin<Box<dyn Future<Output = Result<UserOrg, BoxError>> + Send + 'a>>;

/// [`OrgSource`] behind a pointer.
pub(crate) trait ErasedOrgSource: Send + Sync {
    fn org_for<'a>(&'a self, user: &'a UserId) -> OrgFuture<'a>;
}

impl<T: OrgSource> ErasedOrgSource for T {
    fn org_for<'a>(&'a self, user: &'a UserId) -> OrgFuture<'a> {
        Box::pin(async move { OrgSource::org_for(self, user).await.map_err(|e| Box::new(e) as BoxError) })
    }
}
