//! "Password done, second factor pending", kept in the server-side session, and the
//! guard that keeps protected routes shut until the second factor is done.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use mfa_kit::policy::{Decision, SignInContext};
use mfa_kit::{Method, UserId};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::client::Client;
use crate::config::MfaWeb;
use crate::response::WebError;

const KEY: &str = "mfa_kit_axum.auth";

/// How far a session has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Stage {
    /// The password was right; a second factor is due.
    SecondFactor,
    /// The password was right; the user must set up MFA before going on.
    Enrollment,
    /// Fully signed in.
    SignedIn,
}

/// The session's sign-in state. Lives only in the server-side session store; the
/// browser holds nothing but the session id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthState {
    user: UserId,
    stage: Stage,
    since: u64,
    methods: Vec<Method>,
    enrollment_suggested: bool,
    needs_backup: bool,
    /// When this session last proved a second factor (the service's clock).
    #[serde(default)]
    proved_at: Option<u64>,
}

impl AuthState {
    /// When this session last proved a second factor, if it did: `None` for a
    /// session let in by a remembered device or a policy that asked for no code.
    pub fn proved_at(&self) -> Option<u64> {
        self.proved_at
    }

    /// `context` for this session's sensitive actions: step-up judges this session's
    /// own proof ([`SignInContext::with_session_proof`]), so a code typed in another
    /// browser does not make this one fresh. A session that never proved a second
    /// factor is never fresh.
    pub fn step_up_context(&self, context: SignInContext) -> SignInContext {
        context.with_session_proof(self.proved_at.unwrap_or(0))
    }

    /// The user whose password was checked.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// How far the session has come.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// When the stage was reached (the service's clock).
    pub fn since(&self) -> u64 {
        self.since
    }

    /// The second factors the user may prove with (at [`Stage::SecondFactor`]).
    pub fn methods(&self) -> &[Method] {
        &self.methods
    }

    /// The policy suggests setting up MFA (dismissible).
    pub fn enrollment_suggested(&self) -> bool {
        self.enrollment_suggested
    }

    /// The policy asks the user to add a backup method after signing in.
    pub fn needs_backup(&self) -> bool {
        self.needs_backup
    }
}

/// Where to send the browser after the password step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Next {
    /// Signed in: on to the application.
    SignedIn,
    /// To the second-factor prompt.
    SecondFactor,
    /// To enrollment: `required` blocks everything else until it is done; otherwise
    /// the user is signed in and may dismiss it.
    Enroll {
        /// Whether enrollment is required.
        required: bool,
    },
}

impl Next {
    /// The path to redirect to: one of [`crate::Paths`], or `home` when signed in.
    pub fn path<'a>(&self, web: &'a MfaWeb, home: &'a str) -> &'a str {
        match self {
            Next::SignedIn => home,
            Next::SecondFactor => &web.settings.paths.second_factor,
            Next::Enroll { .. } => &web.settings.paths.enroll,
        }
    }
}

/// The session's MFA state, read and changed by the sign-in pages.
///
/// Every change of stage gives the session a new id (against session fixation).
#[derive(Clone, Debug)]
pub struct MfaSession {
    session: Session,
    web: MfaWeb,
}

impl MfaSession {
    /// Wraps a tower-sessions session.
    pub fn new(session: Session, web: MfaWeb) -> MfaSession {
        MfaSession { session, web }
    }

    /// The underlying session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The state, if a password was checked in this session. A pending stage older
    /// than the pending lifetime is forgotten.
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Clock`].
    pub async fn state(&self) -> Result<Option<AuthState>, WebError> {
        let Some(state) = self.session.get::<AuthState>(KEY).await? else { return Ok(None) };
        if state.stage != Stage::SignedIn {
            let now = self.web.now()?;
            if now.saturating_sub(state.since) >= self.web.settings.pending_lifetime || now < state.since {
                self.session.remove_value(KEY).await?;
                return Ok(None);
            }
        }
        Ok(Some(state))
    }

    /// The host checked `user`'s password and asked the service for its decision:
    /// records the stage the decision calls for and says where to go.
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Clock`].
    pub async fn password_verified(&self, user: UserId, decision: &Decision) -> Result<Next, WebError> {
        let (stage, next, methods, suggested, needs_backup) = match decision {
            Decision::Allow { .. } => (Stage::SignedIn, Next::SignedIn, Vec::new(), false, false),
            Decision::Challenge { methods, needs_backup, .. } => {
                (Stage::SecondFactor, Next::SecondFactor, methods.clone(), false, *needs_backup)
            }
            Decision::SuggestEnrollment { .. } => {
                (Stage::SignedIn, Next::Enroll { required: false }, Vec::new(), true, false)
            }
            Decision::RequireEnrollment { .. } => {
                (Stage::Enrollment, Next::Enroll { required: true }, Vec::new(), false, false)
            }
            // A decision this version does not know lets nobody in.
            _ => return Ok(Next::SecondFactor),
        };
        let since = self.web.now()?;
        let state = AuthState {
            user,
            stage,
            since,
            methods,
            enrollment_suggested: suggested,
            needs_backup,
            proved_at: None,
        };
        self.session.cycle_id().await?;
        self.session.insert(KEY, state).await?;
        Ok(next)
    }

    /// The service accepted the second factor: the session is signed in. `None` if no
    /// second factor was pending (nothing changes).
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Clock`].
    pub async fn second_factor_proven(&self) -> Result<Option<AuthState>, WebError> {
        self.advance(&[Stage::SecondFactor]).await
    }

    /// The service confirmed an enrollment: the session is signed in and no longer
    /// prompted to enroll. `None` if the session was not enrolling or signed in.
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Clock`].
    pub async fn enrollment_confirmed(&self) -> Result<Option<AuthState>, WebError> {
        self.advance(&[Stage::Enrollment, Stage::SignedIn]).await
    }

    /// The service accepted a second factor asked for before a sensitive action
    /// (step-up) in this signed-in session: the session is fresh from now. `None` if
    /// the session is not signed in.
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Clock`].
    pub async fn step_up_proven(&self) -> Result<Option<AuthState>, WebError> {
        self.advance(&[Stage::SignedIn]).await
    }

    /// The user dismissed the suggestion to set up MFA.
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Clock`].
    pub async fn dismiss_suggestion(&self) -> Result<(), WebError> {
        if let Some(mut state) = self.state().await?.filter(|s| s.stage == Stage::SignedIn) {
            state.enrollment_suggested = false;
            self.session.insert(KEY, state).await?;
        }
        Ok(())
    }

    /// Signs out: the session and everything in it is deleted.
    ///
    /// # Errors
    /// [`WebError::Session`].
    pub async fn sign_out(&self) -> Result<(), WebError> {
        Ok(self.session.flush().await?)
    }

    async fn advance(&self, from: &[Stage]) -> Result<Option<AuthState>, WebError> {
        let Some(mut state) = self.state().await?.filter(|s| from.contains(&s.stage)) else {
            return Ok(None);
        };
        let was = state.stage;
        let now = self.web.now()?;
        state.stage = Stage::SignedIn;
        state.since = now;
        state.proved_at = Some(now);
        state.enrollment_suggested = false;
        if was != Stage::SignedIn {
            self.session.cycle_id().await?;
        }
        self.session.insert(KEY, state.clone()).await?;
        Ok(Some(state))
    }
}

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
        Ok(MfaSession::new(session_of(parts).await?, MfaWeb::from_ref(state)))
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
    /// The session or the organisation source failed (`503`).
    Failed(WebError),
    /// The `SessionManagerLayer` is missing from the router (`500`).
    NoSessionLayer,
}

impl IntoResponse for GuardRejection {
    fn into_response(self) -> Response {
        match self {
            GuardRejection::SignIn(to) | GuardRejection::SecondFactor(to) | GuardRejection::Enroll(to) => {
                Redirect::to(&to).into_response()
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

/// The state in a request's session, or where to send the browser instead.
async fn state_in(parts: &mut Parts, web: &MfaWeb, allowed: &[Stage]) -> Result<AuthState, GuardRejection> {
    let session = MfaSession::new(session_of(parts).await?, web.clone());
    let paths = &web.settings.paths;
    match session.state().await? {
        Some(state) if allowed.contains(&state.stage) => Ok(state),
        None => Err(GuardRejection::SignIn(paths.sign_in.clone())),
        Some(state) => Err(match state.stage {
            Stage::SecondFactor => GuardRejection::SecondFactor(paths.second_factor.clone()),
            Stage::Enrollment => GuardRejection::Enroll(paths.enroll.clone()),
            Stage::SignedIn => GuardRejection::SignIn(paths.sign_in.clone()),
        }),
    }
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
        let state = state_in(parts, &web, &[Stage::SignedIn]).await?;
        Ok(SignedIn { user: state.user.clone(), state, client: client_of(parts, &web) })
    }
}

/// Middleware form of the guard, for a whole router:
/// `.route_layer(axum::middleware::from_fn_with_state(web.clone(), require_signed_in))`.
/// Handlers behind it can take [`SignedIn`] without a second session read.
pub async fn require_signed_in(
    State(web): State<MfaWeb>,
    request: Request,
    next: middleware::Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    match <SignedIn as FromRequestParts<MfaWeb>>::from_request_parts(&mut parts, &web).await {
        Ok(signed_in) => {
            parts.extensions.insert(signed_in);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(rejection) => rejection.into_response(),
    }
}

/// A user whose password was checked, at an allowed stage, with the complete
/// [`SignInContext`] for the service: the client's address and device, the
/// remembered-device cookie, and the organisation's settings from the host's
/// [`crate::OrgSource`]. Taken through [`SecondFactorDue`] and [`Enrolling`].
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
        let state = state_in(parts, web, allowed).await?;
        let client = client_of(parts, web);
        let context = web.sign_in_context(&state.user, &client).await?;
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
    /// For the enrollment pages: a user who must enroll, or who is fully signed in.
    /// A user whose second factor is still due is sent to its prompt, so a password
    /// alone never sets up (or replaces) an authenticator.
    Enrolling,
    Stage::Enrollment,
    Stage::SignedIn
);

impl MfaWeb {
    /// The context of a signed-in user's sensitive action: [`MfaWeb::sign_in_context`]
    /// with this session's own last proof ([`AuthState::step_up_context`]).
    ///
    /// # Errors
    /// As [`MfaWeb::sign_in_context`].
    pub async fn signed_in_context(&self, signed_in: &SignedIn) -> Result<SignInContext, WebError> {
        let context = self.sign_in_context(&signed_in.user, &signed_in.client).await?;
        Ok(signed_in.state.step_up_context(context))
    }

    /// The complete sign-in context for `user` on this request, with the
    /// organisation's settings from the host's source: for the password step, where
    /// the session has no user yet.
    ///
    /// # Errors
    /// [`WebError::OrgSource`].
    pub async fn sign_in_context(&self, user: &UserId, client: &Client) -> Result<SignInContext, WebError> {
        let org = self.orgs.org_for(user).await.map_err(WebError::OrgSource)?;
        let mut context = SignInContext::new(client.request.clone()).with_jurisdiction(org.jurisdiction);
        if let Some(settings) = org.settings {
            context = context.with_org(settings);
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
