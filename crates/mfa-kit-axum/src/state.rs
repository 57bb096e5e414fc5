//! The session's sign-in state: how far it has come ([`Stage`]), what it holds
//! ([`AuthState`]), and [`MfaSession`], through which the sign-in pages read and change it.
//!
//! Every session is bound to the account ([`mfa_kit::flow::session`]): it keeps the
//! account's generation from when the password was checked, and at every request the
//! guard ([`crate::SignedIn`], [`crate::require_signed_in`]) asks the service whether it
//! may go on. A session from before a change of how the account is protected (an admin
//! reset, a factor added, replaced or removed, a password change) is signed out at its
//! next request, whatever its stage, unless it made the change itself and said so
//! ([`MfaSession::account_changed`], [`MfaSession::enrollment_confirmed`]). So is a
//! signed-in session past the policy's absolute lifetime or inactivity limit.

use mfa_kit::flow::Proven;
use mfa_kit::flow::enrollment::Confirmed;
use mfa_kit::flow::session::adopt;
use mfa_kit::policy::{Decision, SessionFacts};
use mfa_kit::{Method, UserId};
use rand::TryRng;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::client::Client;
use crate::config::MfaWeb;
use crate::csrf::CsrfToken;
use crate::response::WebError;

pub(crate) const KEY: &str = "mfa_kit_axum.auth";

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
    pub(crate) user: UserId,
    pub(crate) stage: Stage,
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
    pub(crate) active_at: u64,
    /// The session's random tag, by which the account remembers it signed out
    /// ([`SessionFacts::tagged`]); 0 in sessions stored before it was kept.
    #[serde(default)]
    tag: u64,
}

impl AuthState {
    /// When this session last proved a second factor, if it did: `None` for a
    /// session let in by a remembered device or a policy that asked for no code.
    pub fn proved_at(&self) -> Option<u64> {
        self.proved_at
    }

    /// What the service needs to know of this session
    /// ([`SignInContext::with_session`](mfa_kit::policy::SignInContext::with_session)): its generation, start, last activity and own
    /// proof. The extractors put it into every context they hand out.
    pub fn facts(&self) -> SessionFacts {
        let facts =
            SessionFacts::new(self.generation, self.signed_in_at).active_at(self.active_at).tagged(self.tag);
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
/// Every change of stage, every proof (a step-up too) and every change of the account
/// the session makes gives the session a new id (against session fixation, and so a
/// copied cookie does not outlive the change its user made because of it).
/// `Debug` does not show the session (its id is the user's sign-in).
#[derive(Clone)]
pub struct MfaSession {
    session: Session,
    web: MfaWeb,
    /// The request's client, which the sign-in decision asked after an enrollment is
    /// made for (its address, for an organisation's allowlist).
    client: Option<Client>,
}

impl std::fmt::Debug for MfaSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaSession").field("web", &self.web).finish_non_exhaustive()
    }
}

impl MfaSession {
    /// Wraps a tower-sessions session. The extractor also gives it the request's
    /// client ([`MfaSession::with_client`]); one made here without it asks the
    /// service's decision after an enrollment as from no address.
    pub fn new(session: Session, web: MfaWeb) -> MfaSession {
        MfaSession { session, web, client: None }
    }

    /// The same session, for a request from `client` (its address and device): what
    /// the organisation requires after an enrollment
    /// ([`MfaSession::enrollment_confirmed`]) is asked for that request, as the next
    /// sign-in's decision would be (an organisation's allowlist refuses a decision
    /// asked from no address).
    #[must_use]
    pub fn with_client(mut self, client: Client) -> MfaSession {
        self.client = Some(client);
        self
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
    /// says where to go. The session gets a new id and a new CSRF token. The generation
    /// is read here, after the decision: a change of protection that lands between
    /// the two (an admin reset in those milliseconds) is taken as before the session,
    /// so call this right after the decision.
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
        let mut tag = [0u8; 8];
        rand::rngs::SysRng.try_fill_bytes(&mut tag).map_err(|_| WebError::RandomSource)?;
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
            tag: u64::from_le_bytes(tag).max(1),
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
        // session made that change and keeps going. (Where the policy does not, a
        // change landing in between is taken as this session's own: one step only.)
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
    /// of the user ends). A session that had to enroll first goes on to
    /// [`Stage::SecurityKey`] or [`Stage::Backup`] where the organisation requires a key
    /// or a backup before going on (the service's sign-in decision, asked now through
    /// [`crate::Accounts::decision`]), as after a second factor ([`AuthState::landing`]
    /// says where to go). `None` if the session was not enrolling or signed in, or if
    /// another change of the account came in between (the session is signed out).
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Service`].
    pub async fn enrollment_confirmed(&self, confirmed: &Confirmed) -> Result<Option<AuthState>, WebError> {
        // A session that had to enroll first goes on to what the organisation requires
        // next (a security key, a backup), as the next sign-in's decision would say.
        let required = match self.state().await? {
            Some(state) if state.stage == Stage::Enrollment => self.required_next(&state.user).await?,
            _ => None,
        };
        self.advance_to(&[Stage::Enrollment, Stage::SignedIn], confirmed.at, true, required).await
    }

    /// What the organisation requires of `user` before going on, as the sign-in
    /// decision says now: `(security key, backup)`; `None` if it says nothing of it.
    async fn required_next(&self, user: &UserId) -> Result<Option<(bool, bool)>, WebError> {
        // The request's own address (an organisation's allowlist refuses a decision
        // asked from none); not its remembered device, which skips nothing here.
        let request = self.client.as_ref().map(|client| client.request.clone()).unwrap_or_default();
        let client = Client { request, device_token: None };
        let context = self.web.password_step_context(user, &client).await?;
        Ok(match self.web.accounts.decision(user, &context).await? {
            Some(Decision::Challenge { security_key_blocking, backup_blocking, .. }) => {
                Some((security_key_blocking, backup_blocking))
            }
            _ => None,
        })
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
    /// under the account's new generation, with a new session id (a copy of its old
    /// cookie ends with the others). `false` if another change came in between,
    /// in which case this session is signed out too.
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::Service`].
    pub async fn account_changed(&self) -> Result<bool, WebError> {
        let Some(mut state) = self.state().await? else { return Ok(false) };
        if !self.adopt_own_change(&mut state).await? {
            return Ok(false);
        }
        // A new id: a copy of this session's cookie (the reason for a new password, say)
        // does not go on with it.
        self.session.cycle_id().await?;
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

    /// Signs out: the account remembers this session as signed out
    /// ([`mfa_kit::service::MfaService::sign_out`]), then the session and everything in
    /// it is deleted. Remembering it matters because tower-sessions saves a whole
    /// session when a request that changed it answers, the last write winning: a
    /// guarded request of the same session still running at this moment (whose guard
    /// wrote the session's last activity) saves its copy again when it answers, and
    /// that copy is refused at its next request ([`mfa_kit::SessionEnd::SignedOut`]).
    ///
    /// # Errors
    /// [`WebError::Session`]; [`WebError::Service`] when the account could not
    /// remember the sign-out (the session is deleted all the same).
    pub async fn sign_out(&self) -> Result<(), WebError> {
        let remembered = match self.state().await? {
            Some(state) => {
                let context = mfa_kit::policy::SignInContext::default().with_session(state.facts());
                self.web.accounts.sign_out(&state.user, &context).await.map(drop)
            }
            None => Ok(()),
        };
        self.session.flush().await?;
        Ok(remembered?)
    }

    /// Deletes a session that has ended already (by the account's change, its limits
    /// or a sign-out): nothing for the account to remember.
    pub(crate) async fn discard(&self) -> Result<(), WebError> {
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
        self.advance_to(from, proved_at, changed, None).await
    }

    /// As [`MfaSession::advance`], with what the organisation requires next after an
    /// enrollment (`(security key, backup)`), if known.
    async fn advance_to(
        &self,
        from: &[Stage],
        proved_at: u64,
        changed: bool,
        required: Option<(bool, bool)>,
    ) -> Result<Option<AuthState>, WebError> {
        let Some(mut state) = self.state().await?.filter(|s| from.contains(&s.stage)) else {
            return Ok(None);
        };
        if changed && !self.adopt_own_change(&mut state).await? {
            return Ok(None);
        }
        // A proof changes nothing of how the account is protected: a generation that
        // moved meanwhile is another's change (an admin reset), which ends this session.
        if !changed && self.web.accounts.generation(&state.user).await? != state.generation {
            self.discard().await?;
            return Ok(None);
        }
        let was = state.stage;
        if let (Stage::Enrollment, Some((security_key, backup))) = (was, required) {
            (state.security_key_blocking, state.backup_blocking) = (security_key, backup);
        }
        state.stage = match was {
            Stage::SecondFactor | Stage::Enrollment if state.security_key_blocking => Stage::SecurityKey,
            Stage::SecondFactor | Stage::SecurityKey | Stage::Enrollment if state.backup_blocking => {
                Stage::Backup
            }
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
                self.discard().await?;
                Ok(false)
            }
        }
    }

    /// Saves `state`, reached from stage `was` by a proof or a change of the account:
    /// the session gets a new id (a copy of the old cookie, taken before, is worth
    /// nothing after it), and a change of stage a new CSRF token too.
    async fn save_from(&self, was: Stage, state: &AuthState) -> Result<(), WebError> {
        let moved = was != state.stage;
        self.session.cycle_id().await?;
        self.session.insert(KEY, state).await?;
        if moved {
            CsrfToken::renew(&self.session).await?;
        }
        Ok(())
    }
}
