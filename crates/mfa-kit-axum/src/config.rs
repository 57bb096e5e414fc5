//! The integration's settings and shared state.

use std::sync::Arc;

use axum::http::HeaderName;
use mfa_kit::clock::{Clock, SystemClock};

use crate::accounts::Accounts;
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

/// An origin the application is served from, as a browser writes it in the `Origin`
/// header: `https://app.example.com`, `http://127.0.0.1:3000`. Scheme and host are
/// compared in lower case, and a default port (443, 80) is the same as none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicOrigin {
    secure: bool,
    normalised: String,
}

impl PublicOrigin {
    /// Parses `https://host[:port]` or `http://host[:port]` (no path, no user).
    ///
    /// # Errors
    /// [`ConfigError::InvalidOrigin`].
    pub fn parse(origin: &str) -> Result<PublicOrigin, ConfigError> {
        let invalid = || ConfigError::InvalidOrigin(origin.to_string());
        let trimmed = origin.trim().trim_end_matches('/');
        let (scheme, rest) = trimmed.split_once("://").ok_or_else(invalid)?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => ":443",
            "http" => ":80",
            _ => return Err(invalid()),
        };
        let host = rest.to_ascii_lowercase();
        let bad = |c: char| c.is_whitespace() || c.is_control() || "/?#@\\".contains(c);
        if host.is_empty() || host.chars().any(bad) {
            return Err(invalid());
        }
        let host = host.strip_suffix(default_port).unwrap_or(&host).to_string();
        // A host, and a port (if any) that is a number from 1 to 65535.
        let (name, port) = match host.rsplit_once(':').filter(|_| !host.ends_with(']')) {
            Some((name, port)) => (name, Some(port)),
            None => (host.as_str(), None),
        };
        let port_ok = port
            .is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0) && p.bytes().all(|b| b.is_ascii_digit()));
        if name.is_empty() || !port_ok {
            return Err(invalid());
        }
        Ok(PublicOrigin { secure: scheme == "https", normalised: format!("{scheme}://{host}") })
    }

    /// Whether the origin is served over HTTPS.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The origin in its compared form.
    pub fn as_str(&self) -> &str {
        &self.normalised
    }

    /// The origin's host, without scheme and port (`app.example.com`, `localhost`,
    /// `[::1]`): the WebAuthn relying-party id of a site served from this origin.
    pub fn host(&self) -> &str {
        let rest = self.normalised.split_once("://").map_or("", |(_, rest)| rest);
        match rest.rsplit_once(':') {
            Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => rest,
        }
    }

    /// Whether an `Origin` header names this origin.
    pub(crate) fn matches(&self, header: &str) -> bool {
        PublicOrigin::parse(header).is_ok_and(|sent| sent == *self)
    }
}

/// The integration was configured in a way that cannot work safely.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No public origin was configured: the forgery check has nothing to compare a
    /// browser's `Origin` with. Call [`MfaWebBuilder::public_origin`].
    #[error("no public origin is configured: call MfaWebBuilder::public_origin(\"https://your.app\")")]
    NoPublicOrigin,
    /// A public origin is not `https://host[:port]` or `http://host[:port]`.
    #[error("{0:?} is not an origin: write it as https://host or https://host:port, with no path")]
    InvalidOrigin(String),
    /// The device cookie's name is not a cookie name (an RFC 6265 token): it is empty,
    /// or holds a space, a control character, a non-ASCII character or one of
    /// `()<>@,;:\"/[]?={}`.
    #[error(
        "{0:?} is not a cookie name: use ASCII letters, digits and !#$%&'*+-.^_`|~ only, as in mfa_device"
    )]
    InvalidCookieName(String),
}

/// Whether `name` is an RFC 6265 cookie name (an HTTP token).
fn is_cookie_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
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
    /// The page where a user adds the backup phone number or e-mail address the
    /// organisation requires before going on.
    pub backup: String,
    /// The page where a user registers the security key or passkey the organisation
    /// requires before going on ([`crate::Stage::SecurityKey`]).
    pub security_key: String,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            sign_in: "/sign-in".into(),
            second_factor: "/sign-in/code".into(),
            enroll: "/mfa/enroll".into(),
            backup: "/mfa/backup".into(),
            security_key: "/mfa/security-key".into(),
        }
    }
}

impl Paths {
    /// The three paths (the backup and security-key pages keep their defaults).
    pub fn new(
        sign_in: impl Into<String>,
        second_factor: impl Into<String>,
        enroll: impl Into<String>,
    ) -> Paths {
        Paths {
            sign_in: sign_in.into(),
            second_factor: second_factor.into(),
            enroll: enroll.into(),
            backup: Paths::default().backup,
            security_key: Paths::default().security_key,
        }
    }

    /// The same paths with another backup page (default `/mfa/backup`).
    #[must_use]
    pub fn with_backup(mut self, backup: impl Into<String>) -> Paths {
        self.backup = backup.into();
        self
    }

    /// The same paths with another security-key page (default `/mfa/security-key`).
    #[must_use]
    pub fn with_security_key(mut self, security_key: impl Into<String>) -> Paths {
        self.security_key = security_key.into();
        self
    }
}

pub(crate) struct Settings {
    pub(crate) client_address: ClientAddress,
    pub(crate) origins: Vec<PublicOrigin>,
    pub(crate) device_cookie: String,
    pub(crate) pending_lifetime: u64,
    pub(crate) paths: Paths,
}

/// What the extractors, the guard and the cookie helpers share: the settings, the
/// host's [`OrgSource`], the MFA service (as [`Accounts`]) and the clock. Cheap to
/// clone; give it to the router state and implement [`axum::extract::FromRef`] for it.
#[derive(Clone)]
pub struct MfaWeb {
    pub(crate) settings: Arc<Settings>,
    pub(crate) orgs: Arc<dyn ErasedOrgSource>,
    pub(crate) accounts: Arc<dyn Accounts>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MfaWeb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaWeb")
            .field("client_address", &self.settings.client_address)
            .field("origins", &self.settings.origins)
            .field("paths", &self.settings.paths)
            .finish_non_exhaustive()
    }
}

impl MfaWeb {
    /// Starts building the shared state over the host's source of organisation settings
    /// and the MFA service (an `Arc<MfaService<_, _>>`, which the guard asks at every
    /// request whether the session may go on). Give it the application's public origin
    /// before building ([`MfaWebBuilder::public_origin`]).
    pub fn builder(orgs: impl OrgSource, accounts: impl Accounts) -> MfaWebBuilder {
        MfaWebBuilder {
            settings: Settings {
                client_address: ClientAddress::Peer,
                origins: Vec::new(),
                device_cookie: "mfa_device".into(),
                pending_lifetime: 600,
                paths: Paths::default(),
            },
            orgs: Arc::new(orgs),
            accounts: Arc::new(accounts),
            clock: Arc::new(SystemClock),
            invalid: None,
        }
    }

    /// The public origins a browser's `Origin` header may name.
    pub fn public_origins(&self) -> &[PublicOrigin] {
        &self.settings.origins
    }

    /// Whether cookies are `Secure`: when the first public origin is HTTPS.
    pub(crate) fn secure_cookies(&self) -> bool {
        self.settings.origins.first().is_none_or(PublicOrigin::is_secure)
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
    accounts: Arc<dyn Accounts>,
    clock: Arc<dyn Clock>,
    invalid: Option<ConfigError>,
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

    /// An origin the application is served from, as browsers write it in the `Origin`
    /// header (`https://app.example.com`); call it again for each further origin. The
    /// forgery check ([`crate::csrf_protect`]) refuses a request whose `Origin` names
    /// none of them, whatever the `Host` header says (HTTP/2 sends none, and proxies
    /// rewrite it). The device cookie is `Secure` unless the first origin is plain
    /// `http://` (a development server).
    #[must_use]
    pub fn public_origin(mut self, origin: &str) -> Self {
        match PublicOrigin::parse(origin) {
            Ok(origin) => self.settings.origins.push(origin),
            Err(error) => self.invalid = self.invalid.or(Some(error)),
        }
        self
    }

    /// The remembered-device cookie's name (default `mfa_device`): a cookie name (an
    /// RFC 6265 token), or [`MfaWebBuilder::build`] answers
    /// [`ConfigError::InvalidCookieName`]. A `__Host-` or `__Secure-` name (recommended
    /// in production: no sibling subdomain can set it) is always written `Secure`, as
    /// browsers require, whatever the first origin's scheme.
    #[must_use]
    pub fn device_cookie_name(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        if is_cookie_name(&name) {
            self.settings.device_cookie = name;
        } else {
            self.invalid = self.invalid.or(Some(ConfigError::InvalidCookieName(name)));
        }
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
    ///
    /// # Errors
    /// [`ConfigError::NoPublicOrigin`] without a public origin,
    /// [`ConfigError::InvalidOrigin`] for one that is not an origin,
    /// [`ConfigError::InvalidCookieName`] for a device cookie name that is not one.
    pub fn build(self) -> Result<MfaWeb, ConfigError> {
        if let Some(error) = self.invalid {
            return Err(error);
        }
        if self.settings.origins.is_empty() {
            return Err(ConfigError::NoPublicOrigin);
        }
        Ok(MfaWeb {
            settings: Arc::new(self.settings),
            orgs: self.orgs,
            accounts: self.accounts,
            clock: self.clock,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_in_lower_case_with_default_ports_dropped() {
        let origin = PublicOrigin::parse("https://App.Example.com/").unwrap();
        assert_eq!(origin.as_str(), "https://app.example.com");
        assert!(origin.matches("https://app.example.com:443") && origin.matches("HTTPS://APP.EXAMPLE.COM"));
        assert!(!origin.matches("http://app.example.com") && !origin.matches("https://app.example.com.evil"));
        assert!(!origin.matches("null") && !origin.matches("https://evil.example"));
        let dev = PublicOrigin::parse("http://127.0.0.1:3000").unwrap();
        assert!(!dev.is_secure() && dev.matches("http://127.0.0.1:3000") && !dev.matches("http://127.0.0.1"));
        assert_eq!((origin.host(), dev.host()), ("app.example.com", "127.0.0.1"));
        assert_eq!(PublicOrigin::parse("http://[::1]:8080").unwrap().host(), "[::1]");
        assert_eq!(PublicOrigin::parse("http://[::1]").unwrap().host(), "[::1]");
        for bad in ["", "app.example.com", "ftp://x", "https://", "https://a/b", "https://u@a", "https://a b"]
        {
            assert!(PublicOrigin::parse(bad).is_err(), "{bad}");
        }
    }
}
