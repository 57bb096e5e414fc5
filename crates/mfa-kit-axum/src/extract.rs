//! The extractors: [`MfaSession`] for the sign-in pages, the guard [`SignedIn`] that
//! keeps protected routes shut until the second factor is done, and [`MfaUser`] through
//! the per-stage extractors ([`SecondFactorDue`], [`AddingBackup`],
//! [`AddingSecurityKey`], [`Enrolling`]).
//!
//! Every context handed to a handler carries the session
//! ([`mfa_kit::policy::SignInContext::with_session`]), so step-up judges this session's
//! own proof, never one made in another browser.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use mfa_kit::flow::session::SessionVerdict;
use mfa_kit::policy::SignInContext;
use mfa_kit::{SessionEnd, UserId};
use tower_sessions::Session;

use crate::client::Client;
use crate::config::MfaWeb;
use crate::response::WebError;
use crate::state::{ACTIVITY_GRANULARITY, AuthState, KEY, MfaSession, Stage};

async fn session_of(parts: &mut Parts) -> Result<Session, GuardRejection> {
    parts.extensions.get::<Session>().cloned().ok_or(GuardRejection::NoSessionLayer)
}

impl<S> FromRequestParts<S> for MfaSession
where
    MfaWeb: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = GuardRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let web = MfaWeb::from_ref(state);
        let client = client_of(parts, &web);
        Ok(MfaSession::new(session_of(parts).await?, web).with_client(client))
    }
}

/// Why the guard refused a request, answered with a redirect (`303 See Other`) to the
/// page that comes next.
#[derive(Debug)]
#[non_exhaustive]
pub enum GuardRejection {
    /// Nobody is signed in: to the password page.
    SignIn(String),
    /// The second factor is pending: to its prompt.
    SecondFactor(String),
    /// Enrollment is required first: to the enrollment page.
    Enroll(String),
    /// A backup phone number or e-mail address is required first: to its page.
    Backup(String),
    /// A security key or passkey must be registered first: to its page.
    SecurityKey(String),
    /// The session has ended (the account changed, or a limit passed) and was signed
    /// out: to the password page, with `?ended=` and the reason's id.
    Ended(String, SessionEnd),
    /// The session or the organisation source failed (`503`).
    Failed(WebError),
    /// The `SessionManagerLayer` is missing from the router (`500`).
    NoSessionLayer,
}

impl IntoResponse for GuardRejection {
    fn into_response(self) -> Response {
        match self {
            GuardRejection::SignIn(to)
            | GuardRejection::SecondFactor(to)
            | GuardRejection::Enroll(to)
            | GuardRejection::Backup(to)
            | GuardRejection::SecurityKey(to) => Redirect::to(&to).into_response(),
            GuardRejection::Ended(to, ended) => {
                let separator = if to.contains('?') { '&' } else { '?' };
                Redirect::to(&format!("{to}{separator}ended={}", ended.as_str())).into_response()
            }
            GuardRejection::Failed(error) => error.into_response(),
            GuardRejection::NoSessionLayer => {
                tracing::error!("mfa-kit-axum needs tower-sessions' SessionManagerLayer on the router");
                (StatusCode::INTERNAL_SERVER_ERROR, crate::response::UNAVAILABLE).into_response()
            }
        }
    }
}

impl From<WebError> for GuardRejection {
    fn from(error: WebError) -> GuardRejection {
        GuardRejection::Failed(error)
    }
}

/// A session admitted by the guard: its state, the request's client, and the context
/// for the service with the session in it.
struct Admitted {
    state: AuthState,
    client: Client,
    context: SignInContext,
}

/// The state in a request's session, checked against the account (generation,
/// sign-out; lifetime and inactivity once signed in), or where to send the browser
/// instead. A session that has ended is signed out here.
async fn admit(parts: &mut Parts, web: &MfaWeb, allowed: &[Stage]) -> Result<Admitted, GuardRejection> {
    // Only read and signed out here: the client, read once below, goes to the context.
    let session = MfaSession::new(session_of(parts).await?, web.clone());
    let paths = &web.settings.paths;
    let Some(mut state) = session.state().await? else {
        return Err(GuardRejection::SignIn(paths.sign_in.clone()));
    };
    let client = client_of(parts, web);
    let context = web.password_step_context(&state.user, &client).await?.with_session(state.facts());
    match web.accounts.check_session(&state.user, &context).await.map_err(WebError::from)? {
        SessionVerdict::Continue => {}
        // A session not yet signed in waits the pending lifetime (`MfaSession::state`
        // forgets it after that), not the signed-in session's limits.
        SessionVerdict::Ended(SessionEnd::Inactive | SessionEnd::LifetimeReached)
            if state.stage != Stage::SignedIn => {}
        verdict => {
            let ended = match verdict {
                SessionVerdict::Ended(ended) => ended,
                _ => SessionEnd::AccountChanged,
            };
            tracing::info!(reason = ended.as_str(), "MFA session ended; signing it out");
            session.discard().await?;
            return Err(GuardRejection::Ended(paths.sign_in.clone(), ended));
        }
    }
    if !allowed.contains(&state.stage) {
        return Err(match state.stage {
            Stage::SecondFactor => GuardRejection::SecondFactor(paths.second_factor.clone()),
            Stage::Enrollment => GuardRejection::Enroll(paths.enroll.clone()),
            Stage::Backup => GuardRejection::Backup(paths.backup.clone()),
            Stage::SecurityKey => GuardRejection::SecurityKey(paths.security_key.clone()),
            Stage::SignedIn => GuardRejection::SignIn(paths.sign_in.clone()),
        });
    }
    let now = web.now()?;
    if now.saturating_sub(state.active_at) >= ACTIVITY_GRANULARITY {
        state.active_at = now;
        session.session().insert(KEY, state.clone()).await.map_err(WebError::from)?;
    }
    let context = context.with_session(state.facts());
    Ok(Admitted { state, client, context })
}

fn client_of(parts: &Parts, web: &MfaWeb) -> Client {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    Client::from_parts(web, &parts.headers, peer)
}

/// The guard: a fully signed-in user (password and, where due, second factor or
/// enrollment). Any other request is redirected to the page it must pass first.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SignedIn {
    /// The user.
    pub user: UserId,
    /// The session's state.
    pub state: AuthState,
    /// The request's client.
    pub client: Client,
    /// The context to pass to the service, with this session in it: step-up judges
    /// this session's own proof.
    pub context: SignInContext,
}

impl<S> FromRequestParts<S> for SignedIn
where
    MfaWeb: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = GuardRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(signed_in) = parts.extensions.get::<SignedIn>() {
            return Ok(signed_in.clone());
        }
        let web = MfaWeb::from_ref(state);
        let Admitted { state, client, context } = admit(parts, &web, &[Stage::SignedIn]).await?;
        Ok(SignedIn { user: state.user.clone(), state, client, context })
    }
}

/// A user whose password was checked, at an allowed stage, with the complete
/// [`SignInContext`] for the service: the client's address and device, the
/// remembered-device cookie, the organisation's settings from the host's
/// [`crate::OrgSource`], and this session ([`AuthState::facts`]), so step-up judges
/// this session's own proof. Taken through [`SecondFactorDue`] and [`Enrolling`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MfaUser {
    /// The user.
    pub user: UserId,
    /// The session's state.
    pub state: AuthState,
    /// The request's client.
    pub client: Client,
    /// The context to pass to the service.
    pub context: SignInContext,
}

impl MfaUser {
    async fn extract(parts: &mut Parts, web: &MfaWeb, allowed: &[Stage]) -> Result<MfaUser, GuardRejection> {
        let Admitted { state, client, context } = admit(parts, web, allowed).await?;
        Ok(MfaUser { user: state.user.clone(), state, client, context })
    }
}

macro_rules! stage_extractor {
    ($(#[$doc:meta])* $name:ident, $($stage:expr),+) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name(pub MfaUser);

        impl<S> FromRequestParts<S> for $name
        where
            MfaWeb: FromRef<S>,
            S: Send + Sync,
        {
            type Rejection = GuardRejection;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
                Ok($name(MfaUser::extract(parts, &MfaWeb::from_ref(state), &[$($stage),+]).await?))
            }
        }

        impl std::ops::Deref for $name {
            type Target = MfaUser;
            fn deref(&self) -> &MfaUser {
                &self.0
            }
        }
    };
}

stage_extractor!(
    /// For the second-factor pages: a user whose password was checked and whose
    /// second factor is due. Anyone else is redirected.
    SecondFactorDue,
    Stage::SecondFactor
);

stage_extractor!(
    /// For the backup page: a user who must add a backup phone number or e-mail address
    /// before going on ([`Stage::Backup`]), or who is fully signed in.
    AddingBackup,
    Stage::Backup,
    Stage::SignedIn
);

stage_extractor!(
    /// For the pages that register a security key or passkey: a user who must register
    /// one before going on ([`Stage::SecurityKey`]), or who is fully signed in.
    AddingSecurityKey,
    Stage::SecurityKey,
    Stage::SignedIn
);

stage_extractor!(
    /// For the enrollment pages: a user who must enroll, or who is fully signed in.
    /// A user whose second factor is still due is sent to its prompt, so a password
    /// alone never sets up (or replaces) an authenticator.
    Enrolling,
    Stage::Enrollment,
    Stage::SignedIn
);

impl MfaWeb {
    /// The context for the password step only, where no session has a user yet: the
    /// organisation's settings from the host's source and the request's client, but no
    /// session, so step-up would judge the user's latest proof from any session. Every
    /// later request takes its context from an extractor ([`SignedIn::context`],
    /// [`MfaUser::context`]), which carries the session.
    ///
    /// # Errors
    /// [`WebError::OrgSource`].
    pub async fn password_step_context(
        &self,
        user: &UserId,
        client: &Client,
    ) -> Result<SignInContext, WebError> {
        let org = self.orgs.org_for(user).await.map_err(WebError::OrgSource)?;
        let mut context = SignInContext::new(client.request.clone()).with_jurisdiction(org.jurisdiction);
        if let Some(settings) = org.settings {
            context = context.with_org(settings);
        }
        if let Some(id) = org.org {
            context = context.in_org(id);
        }
        if let Some(user_type) = org.user_type {
            context = context.with_user_type(user_type);
        }
        if org.principal {
            context = context.as_principal();
        }
        if let Some(token) = &client.device_token {
            context = context.with_device_token(token.clone());
        }
        Ok(context)
    }
}
