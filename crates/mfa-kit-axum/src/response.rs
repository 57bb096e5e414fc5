//! Refusals and failures as HTTP responses.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mfa_kit::Refusal;
use mfa_kit::clock::ClockError;

/// The message shown for every failure: it says nothing of the cause.
pub const UNAVAILABLE: &str = "Sign-in is unavailable right now. Try again shortly.";

/// A failure of the infrastructure behind a request: the MFA service (store, clock,
/// sealer, sender), the session store, or the host's [`crate::OrgSource`].
///
/// As a response it is logged (with `tracing`, at error level) and answered with a
/// generic `503 Service Unavailable`: nobody is let in and the cause is not shown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// The MFA service failed.
    #[error(transparent)]
    Service(#[from] mfa_kit::service::Error),
    /// The session store failed.
    #[error("the session store failed: {0}")]
    Session(#[from] tower_sessions::session::Error),
    /// The host's organisation source failed.
    #[error("the organisation settings could not be read: {0}")]
    OrgSource(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The clock failed.
    #[error(transparent)]
    Clock(#[from] ClockError),
    /// The operating system's random source failed.
    #[error("the operating system's random number generator failed")]
    RandomSource,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "MFA request failed; nobody was let in");
        (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE).into_response()
    }
}

/// The status code for a refusal: `429 Too Many Requests` for a lockout or a send
/// limit, `403 Forbidden` where no other answer would be accepted (address, permission,
/// a rule, a method the organisation does not allow, a second factor disabled until an
/// admin resets it, a code where the organisation requires a security key), `409 Conflict` for a
/// change the account's state does not allow (a security key registered already, an
/// authenticator app already set up, the most authenticators a user may have, the last
/// factor, a backup phone that is the primary, no destination of that role),
/// `422 Unprocessable Entity` for settings out of range, a missing reason or
/// confirmation, a name or an imported key that cannot be used, `410 Gone` for a "this wasn't me" link used or
/// expired and `400 Bad Request` for one that is not valid, `401 Unauthorized` for every
/// code or security-key response that was not accepted (and a security-key request that
/// lapsed or was never made, or a session that ended).
pub fn status_for(refusal: &Refusal) -> StatusCode {
    match refusal {
        Refusal::PhishingResistantRequired => StatusCode::FORBIDDEN,
        Refusal::KeyAlreadyRegistered
        | Refusal::AlreadyEnrolled
        | Refusal::TooManyAuthenticators
        | Refusal::LastFactor
        | Refusal::SameAsPrimary
        | Refusal::NoDestination(_) => StatusCode::CONFLICT,
        Refusal::LockedOut { .. } | Refusal::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Refusal::AddressNotAllowed
        | Refusal::NotPermitted
        | Refusal::Forbidden(_)
        | Refusal::SelfReset
        | Refusal::ActorWithoutMfa
        | Refusal::RememberDisabled
        | Refusal::MethodNotAllowed
        | Refusal::Disabled
        | Refusal::AccountFrozen => StatusCode::FORBIDDEN,
        Refusal::DisownLinkUsed | Refusal::DisownLinkExpired => StatusCode::GONE,
        Refusal::DisownLinkInvalid => StatusCode::BAD_REQUEST,
        Refusal::SessionEnded(_) => StatusCode::UNAUTHORIZED,
        Refusal::InvalidSettings(_)
        | Refusal::ReasonRequired
        | Refusal::ConfirmationRequired
        | Refusal::InvalidName
        | Refusal::InvalidKey => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::UNAUTHORIZED,
    }
}

/// A refusal as a plain-text response: [`status_for`] and the refusal's own sentence,
/// written for the user. Pages that re-render a form use [`status_for`] and the
/// `Display` text themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused(pub Refusal);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (status_for(&self.0), self.0.to_string()).into_response()
    }
}

impl From<Refusal> for Refused {
    fn from(refusal: Refusal) -> Refused {
        Refused(refusal)
    }
}

/// A response that must not be kept by the browser or any cache: a page showing a
/// secret (an enrollment key or QR code, new recovery codes). Adds
/// `Cache-Control: no-store` (and `Pragma: no-cache` for old caches) to whatever it
/// wraps: `NoStore(Html(page))`, and the headers of [`protective_headers`] (no other
/// site may frame the page). For whole routers, use the [`no_store`] middleware.
/// Its `Debug` does not show what it wraps (the page holds a secret).
#[derive(Clone)]
pub struct NoStore<T>(pub T);

impl<T> std::fmt::Debug for NoStore<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoStore(..)")
    }
}

impl<T: IntoResponse> IntoResponse for NoStore<T> {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        mark_no_store(&mut response);
        response
    }
}

/// Middleware marking every response of a router `Cache-Control: no-store`, with the
/// headers of [`protective_headers`]:
/// `.route_layer(axum::middleware::from_fn(no_store))` on the routes that show secrets
/// or account pages.
pub async fn no_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    mark_no_store(&mut response);
    response
}

/// Middleware adding to every response of a router the headers a page of sign-in and
/// account security needs, whatever it shows:
///
/// - `X-Content-Type-Options: nosniff`: the browser reads a response only as the type
///   it declares (text a user typed is never run as a script);
/// - `X-Frame-Options: DENY` and `Content-Security-Policy: frame-ancestors 'none'`: no
///   other site can show the page in a frame and trick the user into clicking
///   "confirm", "remove" or "reset" on it (clickjacking);
/// - `Referrer-Policy: same-origin`: a link to another site does not tell it the
///   page's address (a reset or "this wasn't me" link's token stays here). The host's
///   own pages still get the referrer, and forms still send their origin, which
///   [`crate::csrf_protect`] checks.
///
/// A header the handler (or the host, inside this layer) set is kept: a host that
/// frames its own pages sets `X-Frame-Options: SAMEORIGIN` and its own
/// `Content-Security-Policy`, and this adds no second policy beside it. Put it on the
/// whole router: `.layer(axum::middleware::from_fn(protective_headers))`.
pub async fn protective_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    mark_protected(&mut response);
    response
}

fn mark_no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    mark_protected(response);
}

fn mark_protected(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    for (name, value) in [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
}
