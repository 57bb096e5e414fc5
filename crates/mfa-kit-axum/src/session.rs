//! "Password done, second factor pending", kept in the server-side session, and the
//! guard that keeps protected routes shut until the second factor is done.
//!
//! Every session is bound to the account ([`mfa_kit::flow::session`]): it keeps the
//! account's generation from when the password was checked, and at every request the
//! guard asks the service whether it may go on. A session from before a change of how
//! the account is protected (an admin reset, a factor added, replaced or removed, a
//! password change) is signed out at its next request, whatever its stage, unless it
//! made the change itself and said so ([`MfaSession::account_changed`],
//! [`MfaSession::enrollment_confirmed`]). So is a signed-in session past the policy's
//! absolute lifetime or inactivity limit. Every context handed to a handler carries the
//! session ([`mfa_kit::policy::SignInContext::with_session`]), so step-up judges this
//! session's own proof, never one made in another browser.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use mfa_kit::flow::Proven;
use mfa_kit::flow::enrollment::Confirmed;
use mfa_kit::flow::session::{SessionVerdict, adopt};
use mfa_kit::policy::{Decision, SessionFacts, SignInContext};
use mfa_kit::{Method, SessionEnd, UserId};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::client::Client;
use crate::config::MfaWeb;
use crate::csrf::CsrfToken;
use crate::response::WebError;

const KEY: &str = "mfa_kit_axum.auth";

/// How stale a session's recorded last activity may get before a request writes it
/// again: one minute, so a busy session is not written at every request. The
/// inactivity limit is enforced to within this.
pub const ACTIVITY_GRANULARITY: u64 = 60;

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
    /// The second factor was proved, but the organisation requires a backup phone
    /// number or e-mail address before going on (a principal user, seed 004): every
    /// other page sends the browser to [`crate::Paths::backup`] until one is added.
    Backup,
    /// The second factor was proved, but the organisation requires a security key or
    /// passkey of this user and they have none yet ([`Decision::Challenge`]'s
    /// `security_key_blocking`): every other page sends the browser to
    /// [`crate::Paths::security_key`] until one is registered
    /// ([`MfaSession::security_key_registered`]).
    SecurityKey,
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
    /// When this session last proved a second factor (the proof's own time).
    #[serde(default)]
    proved_at: Option<u64>,
    /// The backup is required before going on ([`Decision::Challenge`]'s
    /// `backup_blocking`).
    #[serde(default)]
    backup_blocking: bool,
    /// A security key must be registered before going on ([`Decision::Challenge`]'s
    /// `security_key_blocking`).
    #[serde(default)]
    security_key_blocking: bool,
    /// The account's generation the session belongs to. Sessions stored before it was
    /// kept read as 0, and end at their next request if the account has moved on.
    #[serde(default)]
    generation: u64,
    /// When the password was checked.
    #[serde(default)]
    signed_in_at: u64,
    /// When the session last made a request (to within [`ACTIVITY_GRANULARITY`]).
    #[serde(default)]
    active_at: u64,
}

impl AuthState {
    /// When this session last proved a second factor, if it did: `None` for a
    /// session let in by a remembered device or a policy that asked for no code.
    pub fn proved_at(&self) -> Option<u64> {
        self.proved_at
    }

    /// What the service needs to know of this session
    /// ([`SignInContext::with_session`]): its generation, start, last activity and own
    /// proof. The extractors put it into every context they hand out.
    pub fn facts(&self) -> SessionFacts {
        let facts = SessionFacts::new(self.generation, self.signed_in_at).active_at(self.active_at);
        match self.proved_at {
            Some(at) => facts.proved_at(at),
            None => facts,
        }
    }

    /// Where to send the browser once this state is reached: the backup page at
    /// [`Stage::Backup`], the security-key page at [`Stage::SecurityKey`], `home`
    /// otherwise.
    pub fn landing<'a>(&self, web: &'a MfaWeb, home: &'a str) -> &'a str {
        match self.stage {
            Stage::Backup => &web.settings.paths.backup,
            Stage::SecurityKey => &web.settings.paths.security_key,
            _ => home,
        }
    }

    /// The account's generation this session belongs to.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// When the password was checked.
    pub fn signed_in_at(&self) -> u64 {
        self.signed_in_at
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

    /// The organisation requires this user to register a security key or passkey
    /// before going on, and they have not yet ([`Stage::SecurityKey`] after the
    /// second factor).
    pub fn security_key_blocking(&self) -> bool {
        self.security_key_blocking
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
    /// records the stage the decision calls for, with the account's generation, and
    /// says where to go. The session gets a new id and a new CSRF token.
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Clock`], [`WebError::Service`] (the
    /// generation could not be read: nobody is let in).
    pub async fn password_verified(&self, user: UserId, decision: &Decision) -> Result<Next, WebError> {
        let (mut backup_blocking, mut security_key_blocking) = (false, false);
        let (stage, next, methods, suggested, needs_backup) = match decision {
            Decision::Allow { .. } => (Stage::SignedIn, Next::SignedIn, Vec::new(), false, false),
            Decision::Challenge {
                methods,
                needs_backup,
                backup_blocking: blocking,
                security_key_blocking: key_blocking,
                ..
            } => {
                backup_blocking = *blocking;
                security_key_blocking = *key_blocking;
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
        let generation = self.web.accounts.generation(&user).await?;
        let since = self.web.now()?;
        let state = AuthState {
            user,
            stage,
            since,
            methods,
            enrollment_suggested: suggested,
            needs_backup,
            proved_at: None,
            backup_blocking,
            security_key_blocking,
            generation,
            signed_in_at: since,
            active_at: since,
        };
        self.session.cycle_id().await?;
        self.session.insert(KEY, state).await?;
        CsrfToken::renew(&self.session).await?;
        Ok(next)
    }

    /// The service accepted the second factor (`proof`: a code, a recovery code or a
    /// security key's signed response): the session is signed in, with the proof's time
    /// as its own, or, where the organisation requires a security key or a backup before
    /// going on, at [`Stage::SecurityKey`] or [`Stage::Backup`] ([`AuthState::landing`]
    /// says where to go). `None`
    /// if no second factor was pending (nothing changes), or if the account changed
    /// meanwhile (the session is signed out).
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Service`].
    pub async fn second_factor_proven(&self, proof: &Proven) -> Result<Option<AuthState>, WebError> {
        // A recovery code may end the user's other sessions (the policy says): this
        // session made that change and keeps going.
        let changed = proof.method == Method::RecoveryCode;
        self.advance(&[Stage::SecondFactor], proof.at, changed).await
    }

    /// The user added and confirmed the backup phone number or e-mail address the
    /// organisation requires ([`Stage::Backup`]): the session is signed in, and keeps
    /// the account's new generation (confirming a destination moves it). `None` if the
    /// session was at neither stage, or another change came in between (signed out).
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Service`].
    pub async fn backup_added(&self) -> Result<Option<AuthState>, WebError> {
        let Some(mut state) =
            self.state().await?.filter(|s| matches!(s.stage, Stage::Backup | Stage::SignedIn))
        else {
            return Ok(None);
        };
        if !self.adopt_own_change(&mut state).await? {
            return Ok(None);
        }
        let was = state.stage;
        state.stage = Stage::SignedIn;
        state.needs_backup = false;
        state.backup_blocking = false;
        self.save_from(was, &state).await?;
        Ok(Some(state))
    }

    /// The service confirmed an enrollment this session started (`confirmed`): the
    /// session is signed in, no longer prompted to enroll, fresh from the confirmation,
    /// and keeps the account's new generation (it made the change; every other session
    /// of the user ends). `None` if the session was not enrolling or signed in, or if
    /// another change of the account came in between (the session is signed out).
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Service`].
    pub async fn enrollment_confirmed(&self, confirmed: &Confirmed) -> Result<Option<AuthState>, WebError> {
        self.advance(&[Stage::Enrollment, Stage::SignedIn], confirmed.at, true).await
    }

    /// The service accepted a second factor asked for before a sensitive action
    /// (step-up) in this signed-in session: the session is fresh from the proof's time.
    /// `None` if the session is not signed in.
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Service`].
    pub async fn step_up_proven(&self, proof: &Proven) -> Result<Option<AuthState>, WebError> {
        let changed = proof.method == Method::RecoveryCode;
        self.advance(&[Stage::SignedIn], proof.at, changed).await
    }

    /// This session just changed how the account is protected (removed an
    /// authenticator, generated recovery codes, added or removed a destination, changed
    /// the password with [`mfa_kit::service::MfaService::password_changed`]): every
    /// other session of the user ends at its next request, and this one keeps going
    /// under the account's new generation. `false` if another change came in between,
    /// in which case this session is signed out too.
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Service`].
    pub async fn account_changed(&self) -> Result<bool, WebError> {
        let Some(mut state) = self.state().await? else { return Ok(false) };
        if !self.adopt_own_change(&mut state).await? {
            return Ok(false);
        }
        self.session.insert(KEY, state).await?;
        Ok(true)
    }

    /// The service registered a security key or passkey this session started
    /// ([`mfa_kit::service::MfaService::finish_security_key_registration`] gave
    /// `confirmed`): a session held at [`Stage::SecurityKey`] goes on (to
    /// [`Stage::Backup`] if the organisation also requires a backup, signed in
    /// otherwise), and the session is fresh from the registration (the signed
    /// registration proves the user holds the key, as the service notes). It keeps the
    /// account's new generation: every other session of the user ends. `None` if the
    /// session was at neither stage, or another change came in between (signed out).
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Service`].
    pub async fn security_key_registered(
        &self,
        confirmed: &Confirmed,
    ) -> Result<Option<AuthState>, WebError> {
        self.advance(&[Stage::SecurityKey, Stage::SignedIn], confirmed.at, true).await
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

    /// Moves the session to signed in after a proof made at `proved_at`; after a change
    /// of the account made by this session (`changed`), takes its new generation.
    async fn advance(
        &self,
        from: &[Stage],
        proved_at: u64,
        changed: bool,
    ) -> Result<Option<AuthState>, WebError> {
        let Some(mut state) = self.state().await?.filter(|s| from.contains(&s.stage)) else {
            return Ok(None);
        };
        if changed && !self.adopt_own_change(&mut state).await? {
            return Ok(None);
        }
        let was = state.stage;
        state.stage = match was {
            Stage::SecondFactor if state.security_key_blocking => Stage::SecurityKey,
            Stage::SecondFactor | Stage::SecurityKey if state.backup_blocking => Stage::Backup,
            _ => Stage::SignedIn,
        };
        if was == Stage::SecurityKey {
            state.security_key_blocking = false;
        }
        state.since = proved_at;
        state.proved_at = Some(proved_at);
        state.active_at = state.active_at.max(proved_at);
        state.enrollment_suggested = false;
        self.save_from(was, &state).await?;
        Ok(Some(state))
    }

    /// After a change of the account this session made: takes the account's new
    /// generation into `state` ([`adopt`]), or signs the session out and says `false`
    /// when another change came in between.
    async fn adopt_own_change(&self, state: &mut AuthState) -> Result<bool, WebError> {
        let current = self.web.accounts.generation(&state.user).await?;
        match adopt(state.generation, current) {
            Some(generation) => {
                state.generation = generation;
                Ok(true)
            }
            None => {
                self.sign_out().await?;
                Ok(false)
            }
        }
    }

    /// Saves `state`, reached from stage `was`: a change of stage gives the session a
    /// new id and a new CSRF token.
    async fn save_from(&self, was: Stage, state: &AuthState) -> Result<(), WebError> {
        let moved = was != state.stage;
        if moved {
            self.session.cycle_id().await?;
        }
        self.session.insert(KEY, state).await?;
        if moved {
            CsrfToken::renew(&self.session).await?;
        }
        Ok(())
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
/// lifetime, inactivity), or where to send the browser instead. A session that has
/// ended is signed out here.
async fn admit(parts: &mut Parts, web: &MfaWeb, allowed: &[Stage]) -> Result<Admitted, GuardRejection> {
    let session = MfaSession::new(session_of(parts).await?, web.clone());
    let paths = &web.settings.paths;
    let Some(mut state) = session.state().await? else {
        return Err(GuardRejection::SignIn(paths.sign_in.clone()));
    };
    let client = client_of(parts, web);
    let context = web.password_step_context(&state.user, &client).await?.with_session(state.facts());
    match web.accounts.check_session(&state.user, &context).await.map_err(WebError::from)? {
        SessionVerdict::Continue => {}
        verdict => {
            let ended = match verdict {
                SessionVerdict::Ended(ended) => ended,
                _ => SessionEnd::AccountChanged,
            };
            tracing::info!(reason = ended.as_str(), "MFA session ended; signing it out");
            session.sign_out().await?;
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
        session.session.insert(KEY, state.clone()).await.map_err(WebError::from)?;
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
