//! Cross-site request forgery protection: a per-session token in every form, checked
//! on every request that changes something.
//!
//! Put [`csrf_protect`] on the router (inside the session layer) and write
//! [`CsrfToken::FIELD`] with the session's [`CsrfToken`] into every form:
//!
//! ```text
//! <input type="hidden" name="csrf_token" value="{token}">
//! ```
//!
//! Scripts may send the token in the `X-CSRF-Token` header instead. A request with
//! an `Origin` header naming another host is refused as well.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::TryRng;
use tower_sessions::Session;

use crate::response::WebError;
use crate::session::GuardRejection;

const KEY: &str = "mfa_kit_axum.csrf";

/// The largest form body [`csrf_protect`] reads: 1 MiB.
pub const MAX_FORM_BYTES: usize = 1 << 20;

/// What a refused request is told.
pub const REFUSED: &str =
    "This form has expired or was sent from another site. Go back, reload the page and try again.";

/// The session's anti-forgery token, created on first use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsrfToken(String);

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
            return Ok(CsrfToken(token));
        }
        let mut bytes = [0u8; 32];
        rand::rngs::SysRng.try_fill_bytes(&mut bytes).map_err(|_| WebError::RandomSource)?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        session.insert(KEY, &token).await?;
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

/// The middleware: lets safe methods (`GET`, `HEAD`, `OPTIONS`, `TRACE`) through, and
/// any other request only with the session's token in the `X-CSRF-Token` header or in
/// the `csrf_token` field of a URL-encoded form, and without a foreign `Origin`.
/// Others get `403 Forbidden` with [`REFUSED`]. The form body is read (up to
/// [`MAX_FORM_BYTES`]) and handed on unchanged.
pub async fn csrf_protect(session: Session, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE) {
        return next.run(request).await;
    }
    if foreign_origin(request.headers()) {
        return refuse();
    }
    let expected = match session.get::<String>(KEY).await {
        Ok(Some(token)) => token,
        Ok(None) => return refuse(),
        Err(error) => return WebError::from(error).into_response(),
    };
    let header_token =
        request.headers().get(CsrfToken::HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (parts, body) = request.into_parts();
    let (sent, body) = match header_token {
        Some(token) => (Some(token), body),
        None if is_form(&parts.headers) => {
            let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
                return (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response();
            };
            let sent = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .ok()
                .and_then(|fields| fields.into_iter().find(|(k, _)| k == CsrfToken::FIELD).map(|(_, v)| v));
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
    (StatusCode::FORBIDDEN, REFUSED).into_response()
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

/// An `Origin` that is not this request's own host (`null` included).
fn foreign_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, rest)| rest.trim_end_matches('/'));
    origin_host.is_none_or(|origin_host| !origin_host.eq_ignore_ascii_case(host))
}

/// Compares in time independent of where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
