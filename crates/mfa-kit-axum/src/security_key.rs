//! Security keys and passkeys between the page's script and the service
//! ([`crate::KeyOptions`], [`crate::KeyResponse`]).

use axum::body::to_bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mfa_kit::relying_party::MAX_RESPONSE;
use mfa_kit::service::SecurityKeyOptions;
use mfa_kit::{Outcome, Refusal};

use crate::response::{NoStore, status_for};

/// The answer to the page's script when it asks for a ceremony's options: the options
/// as `application/json` (an object with a `publicKey` member whose binary fields are
/// base64url strings), or the refusal as `{"error": sentence, "code": id}` with its
/// status ([`status_for`]; the sentence is written for the user, the id is
/// [`Refusal::code`]). Either way `Cache-Control: no-store`: the options carry this
/// ceremony's challenge.
///
/// Each ceremony is two requests from the page's script, both `POST` (each writes the
/// user's record) and both behind [`crate::csrf_protect`] (send the session's token in
/// the `X-CSRF-Token` header, or the form's `csrf_token` field):
///
/// 1. **options out**: the handler calls
///    [`MfaService::start_security_key_registration`] (adding a key: a fresh proof, as
///    adding an authenticator app needs) or [`MfaService::start_security_key`] (the
///    second factor at sign-in, or a step-up before a sensitive action) and answers
///    with [`KeyOptions`]: the options as JSON for `navigator.credentials.create()` or
///    `.get()`, never cached, or the refusal as JSON with its status;
/// 2. **the browser's response in**: the script posts the `PublicKeyCredential` as JSON
///    (binary fields base64url), as the body (`application/json`) or as the
///    [`KeyResponse::FIELD`] of a form; the handler takes it with the [`KeyResponse`]
///    extractor and gives it to [`MfaService::finish_security_key_registration`] (then
///    [`crate::MfaSession::security_key_registered`]) or
///    [`MfaService::verify_security_key`] (then
///    [`crate::MfaSession::second_factor_proven`] or
///    [`crate::MfaSession::step_up_proven`], as for a code).
///
/// The session stages are the usual ones: sign-in with a key is the second factor
/// ([`crate::SecondFactorDue`]), step-up and removal are for a signed-in user
/// ([`crate::SignedIn`]), and registering a key is for a signed-in user or one the
/// organisation holds at [`crate::Stage::SecurityKey`] until they register one
/// ([`crate::AddingSecurityKey`]).
///
/// [`MfaService::start_security_key_registration`]: mfa_kit::service::MfaService::start_security_key_registration
/// [`MfaService::start_security_key`]: mfa_kit::service::MfaService::start_security_key
/// [`MfaService::finish_security_key_registration`]: mfa_kit::service::MfaService::finish_security_key_registration
/// [`MfaService::verify_security_key`]: mfa_kit::service::MfaService::verify_security_key
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyOptions(pub Outcome<SecurityKeyOptions>);

impl IntoResponse for KeyOptions {
    fn into_response(self) -> Response {
        match self.0 {
            Ok(options) => NoStore(json(StatusCode::OK, options.options)).into_response(),
            Err(refusal) => NoStore(refusal_json(&refusal)).into_response(),
        }
    }
}

impl From<Outcome<SecurityKeyOptions>> for KeyOptions {
    fn from(outcome: Outcome<SecurityKeyOptions>) -> KeyOptions {
        KeyOptions(outcome)
    }
}

/// A refusal as JSON for a script: `{"error": sentence, "code": id}` with
/// [`status_for`]'s status.
fn refusal_json(refusal: &Refusal) -> Response {
    let body = serde_json::json!({ "error": refusal.to_string(), "code": refusal.code() });
    json(status_for(refusal), body.to_string())
}

fn json(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The browser's response to a ceremony: the JSON of the `PublicKeyCredential` that
/// `navigator.credentials.create()` or `.get()` gave, binary fields base64url, as the
/// request's body, or as the [`KeyResponse::FIELD`] field of a URL-encoded form (so a
/// plain form post, which the browser follows as a page, can carry it). Only read, not
/// judged: a response that is not JSON, or not a WebAuthn response, is the service's to
/// refuse ([`Refusal::KeyResponseMalformed`], not counted as a failure); an empty or
/// blank body, or a form without the field, is [`KeyResponseRejection::Missing`]
/// (`400`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyResponse(pub String);

impl KeyResponse {
    /// The form field that carries the response.
    pub const FIELD: &'static str = "response";

    /// The largest body read: room for the longest response the service takes
    /// ([`MAX_RESPONSE`]) URL-encoded in a form with a few other fields. A longer one is
    /// answered `413 Payload Too Large` ([`KeyResponseRejection::TooLarge`]).
    pub const MAX_BODY: usize = 3 * MAX_RESPONSE + 4096;

    /// The response, as the browser's JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a request carried no security key response to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyResponseRejection {
    /// The body is longer than [`KeyResponse::MAX_BODY`] (`413`).
    #[error("The security key's response is too large.")]
    TooLarge,
    /// A form without the [`KeyResponse::FIELD`] field, or a body that is empty, blank
    /// or not text (`400`).
    #[error("No security key response was sent. Try again.")]
    Missing,
}

impl IntoResponse for KeyResponseRejection {
    fn into_response(self) -> Response {
        let status = match self {
            KeyResponseRejection::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            KeyResponseRejection::Missing => StatusCode::BAD_REQUEST,
        };
        (status, self.to_string()).into_response()
    }
}

impl<S: Send + Sync> FromRequest<S> for KeyResponse {
    type Rejection = KeyResponseRejection;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let form = crate::csrf::is_form(request.headers());
        let bytes = to_bytes(request.into_body(), KeyResponse::MAX_BODY)
            .await
            .map_err(|_| KeyResponseRejection::TooLarge)?;
        let text = if form {
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .ok()
                .and_then(|fields| fields.into_iter().find(|(k, _)| k == KeyResponse::FIELD).map(|(_, v)| v))
        } else {
            String::from_utf8(bytes.to_vec()).ok()
        };
        match text {
            Some(text) if !text.trim().is_empty() => Ok(KeyResponse(text)),
            _ => Err(KeyResponseRejection::Missing),
        }
    }
}
