//! The integration's settings and shared state.

use std::sync::Arc;

use axum::http::HeaderName;
use mfa_kit::clock::{Clock, SystemClock};

use crate::org::{ErasedOrgSource, OrgSource};

/// Where the client's address comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAddress {
    /// The peer of the TCP connection (serve with
    /// `into_make_service_with_connect_info::<SocketAddr>()`); forwarding headers are
    /// ignored, since any client can send them.
    #[default]
    Peer,
    /// The right-most address in this header (`X-Forwarded-For`, `X-Real-IP`): the one
    /// the host's own reverse proxy added. Configure it only when every request passes
    /// through that proxy; a request without the header has no known address (and an
    /// organisation's allowlist then refuses it).
    TrustedHeader(HeaderName),
}

/// Whether the remembered-device cookie carries the `Secure` attribute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieSecurity {
    /// Always `Secure` (production).
    #[default]
    Always,
    /// `Secure`, except when the request's host is `localhost` or a loopback address:
    /// for development over plain HTTP. Any other host still gets `Secure`.
    ExceptOnLocalhost,
}

/// Where the guard sends a browser that is not (fully) signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Paths {
    /// The password page.
    pub sign_in: String,
    /// The second-factor prompt.
    pub second_factor: String,
    /// The authenticator enrollment page.
    pub enroll: String,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            sign_in: "/sign-in".into(),
            second_factor: "/sign-in/code".into(),
            enroll: "/mfa/enroll".into(),
        }
    }
}

impl Paths {
    /// The three paths.
    pub fn new(
        sign_in: impl Into<String>,
        second_factor: impl Into<String>,
        enroll: impl Into<String>,
    ) -> Paths {
        Paths { sign_in: sign_in.into(), second_factor: second_factor.into(), enroll: enroll.into() }
    }
}

pub(crate) struct Settings {
    pub(crate) client_address: ClientAddress,
    pub(crate) cookies: CookieSecurity,
    pub(crate) device_cookie: String,
    pub(crate) pending_lifetime: u64,
    pub(crate) paths: Paths,
}

/// What the extractors, the guard and the cookie helpers share: the settings, the
/// host's [`OrgSource`] and the clock. Cheap to clone; give it to the router state and
/// implement [`axum::extract::FromRef`] for it.
#[derive(Clone)]
pub struct MfaWeb {
    pub(crate) settings: Arc<Settings>,
    pub(crate) orgs: Arc<dyn ErasedOrgSource>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MfaWeb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaWeb")
            .field("client_address", &self.settings.client_address)
            .field("cookies", &self.settings.cookies)
            .field("paths", &self.settings.paths)
            .finish_non_exhaustive()
    }
}

impl MfaWeb {
    /// Starts building the shared state over the host's source of organisation settings.
    pub fn builder(orgs: impl OrgSource) -> MfaWebBuilder {
        MfaWebBuilder {
            settings: Settings {
                client_address: ClientAddress::Peer,
                cookies: CookieSecurity::Always,
                device_cookie: "mfa_device".into(),
                pending_lifetime: 600,
                paths: Paths::default(),
            },
            orgs: Arc::new(orgs),
            clock: Arc::new(SystemClock),
        }
    }

    /// The guard's redirect targets.
    pub fn paths(&self) -> &Paths {
        &self.settings.paths
    }

    /// The name of the remembered-device cookie.
    pub fn device_cookie_name(&self) -> &str {
        &self.settings.device_cookie
    }

    pub(crate) fn now(&self) -> Result<u64, crate::WebError> {
        Ok(self.clock.now()?)
    }
}

/// Builds an [`MfaWeb`]; see [`MfaWeb::builder`].
pub struct MfaWebBuilder {
    settings: Settings,
    orgs: Arc<dyn ErasedOrgSource>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MfaWebBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaWebBuilder").finish_non_exhaustive()
    }
}

impl MfaWebBuilder {
    /// Where the client's address comes from (default: the TCP peer).
    #[must_use]
    pub fn client_address(mut self, source: ClientAddress) -> Self {
        self.settings.client_address = source;
        self
    }

    /// Whether the device cookie is `Secure` (default: always).
    #[must_use]
    pub fn cookie_security(mut self, security: CookieSecurity) -> Self {
        self.settings.cookies = security;
        self
    }

    /// The remembered-device cookie's name (default `mfa_device`).
    #[must_use]
    pub fn device_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.settings.device_cookie = name.into();
        self
    }

    /// How long, in seconds, a password-checked session waits for its second factor or
    /// enrollment before the password must be entered again (default 600).
    #[must_use]
    pub fn pending_lifetime(mut self, seconds: u64) -> Self {
        self.settings.pending_lifetime = seconds;
        self
    }

    /// The guard's redirect targets (default `/sign-in`, `/sign-in/code`, `/mfa/enroll`).
    #[must_use]
    pub fn paths(mut self, paths: Paths) -> Self {
        self.settings.paths = paths;
        self
    }

    /// The clock: give the same one as the `MfaService`'s, so cookie lifetimes match
    /// the service's expiries (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The shared state.
    pub fn build(self) -> MfaWeb {
        MfaWeb { settings: Arc::new(self.settings), orgs: self.orgs, clock: self.clock }
    }
}
