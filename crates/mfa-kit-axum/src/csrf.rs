//! Cross-site request forgery protection ([`crate::csrf_protect`], [`crate::CsrfToken`]).

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::TryRng;
use tower_sessions::Session;
use zeroize::{Zeroize, Zeroizing};

use crate::config::MfaWeb;
use crate::extract::GuardRejection;
use crate::response::WebError;

const KEY: &str = "mfa_kit_axum.csrf";

/// The largest form body [`csrf_protect`] reads: 1 MiB.
pub const MAX_FORM_BYTES: usize = 1 << 20;

/// What a refused request is told.
pub const CSRF_REFUSED: &str =
    "This form has expired or was sent from another site. Go back, reload the page and try again.";

/// The session's anti-forgery token, created on first use. `Debug` does not show it;
/// tokens compare in constant time; this copy is wiped on drop.
#[derive(Clone)]
pub struct CsrfToken(Zeroizing<String>);

impl PartialEq for CsrfToken {
    fn eq(&self, other: &CsrfToken) -> bool {
        same(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for CsrfToken {}

impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfToken(..)")
    }
}

impl CsrfToken {
    /// The form field that carries it.
    pub const FIELD: &'static str = "csrf_token";
    /// The header that may carry it instead.
    pub const HEADER: &'static str = "x-csrf-token";

    /// The token to write into forms.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The session's token, made (32 random bytes, hex) and stored if it has none.
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::RandomSource`].
    pub async fn of(session: &Session) -> Result<CsrfToken, WebError> {
        if let Some(token) = session.get::<String>(KEY).await? {
            return Ok(CsrfToken(Zeroizing::new(token)));
        }
        CsrfToken::renew(session).await
    }

    /// A new token for the session, replacing the one it had: called at every change
    /// of the session's stage, so a token seen before it is refused after.
    ///
    /// # Errors
    /// [`WebError::Session`], [`WebError::RandomSource`].
    pub(crate) async fn renew(session: &Session) -> Result<CsrfToken, WebError> {
        let mut bytes = [0u8; 32];
        rand::rngs::SysRng.try_fill_bytes(&mut bytes).map_err(|_| WebError::RandomSource)?;
        let token: Zeroizing<String> = Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect());
        bytes.zeroize();
        session.insert(KEY, &*token).await?;
        Ok(CsrfToken(token))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = GuardRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let session = parts.extensions.get::<Session>().cloned().ok_or(GuardRejection::NoSessionLayer)?;
        Ok(CsrfToken::of(&session).await?)
    }
}

/// The middleware: lets the methods a page is read with (`GET`, `HEAD`) through, and
/// any other request only with the session's token in the `X-CSRF-Token` header or in
/// the `csrf_token` field of a URL-encoded form, with no `Origin` but a configured
/// public origin, and not marked cross-site by the browser. Others get
/// `403 Forbidden` with [`CSRF_REFUSED`]. The form body is read (up to [`MAX_FORM_BYTES`])
/// and handed on unchanged.
///
/// Cross-site request forgery protection: a per-session token in every form, checked
/// on every request that changes something.
///
/// Put [`csrf_protect`] on the router (inside the session layer), with the shared
/// [`crate::MfaWeb`] as its state:
/// `.layer(axum::middleware::from_fn_with_state(web.clone(), csrf_protect))`, and write
/// [`CsrfToken::FIELD`] with the session's [`CsrfToken`] into every form:
///
/// ```text
/// <input type="hidden" name="csrf_token" value="{token}">
/// ```
///
/// Scripts may send the token in the `X-CSRF-Token` header instead. A request whose
/// `Origin` header names none of the configured public origins
/// ([`crate::MfaWebBuilder::public_origin`]), or that the browser marks as
/// cross-site (`Sec-Fetch-Site: cross-site`), is refused as well. The `Host` header
/// plays no part: HTTP/2 does not send it, and proxies rewrite it.
///
/// The token is replaced at every change of a session's stage (password checked,
/// second factor proved, enrollment confirmed by a session that had to enroll first,
/// sign-out), so a token read before signing in is worth nothing after; a signed-in
/// session that proves again or adds a factor keeps its token (its other tabs' forms
/// still post).
pub async fn csrf_protect(
    State(web): State<MfaWeb>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    // Only the methods a page is read with pass without the token: an `OPTIONS` or
    // `TRACE` reaching a route that takes any method is checked like a `POST`.
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    if foreign(&web, request.headers()) {
        return refuse();
    }
    let expected = match session.get::<String>(KEY).await {
        Ok(Some(token)) => zeroize::Zeroizing::new(token),
        Ok(None) => return refuse(),
        Err(error) => return WebError::from(error).into_response(),
    };
    let header_token =
        request.headers().get(CsrfToken::HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (parts, body) = request.into_parts();
    let header_token = header_token.map(zeroize::Zeroizing::new);
    let (sent, body) = match header_token {
        Some(token) => (Some(token), body),
        None if is_form(&parts.headers) => {
            let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
                return (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response();
            };
            let sent = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .ok()
                .and_then(|fields| fields.into_iter().find(|(k, _)| k == CsrfToken::FIELD).map(|(_, v)| v))
                .map(zeroize::Zeroizing::new);
            (sent, Body::from(bytes))
        }
        None => (None, body),
    };
    match sent {
        Some(sent) if same(sent.as_bytes(), expected.as_bytes()) => {
            next.run(Request::from_parts(parts, body)).await
        }
        _ => refuse(),
    }
}

fn refuse() -> Response {
    (StatusCode::FORBIDDEN, CSRF_REFUSED).into_response()
}

pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

/// A request from another site: an `Origin` that is none of the public origins (`null`
/// and unreadable ones included), or a browser's `Sec-Fetch-Site: cross-site`.
fn foreign(web: &MfaWeb, headers: &HeaderMap) -> bool {
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site.eq_ignore_ascii_case("cross-site"));
    let Some(origin) = headers.get(header::ORIGIN) else { return cross_site };
    let Ok(origin) = origin.to_str() else { return true };
    cross_site || !web.public_origins().iter().any(|public| public.matches(origin))
}

/// Compares in time independent of where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
