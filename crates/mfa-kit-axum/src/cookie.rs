//! The remembered-device cookie.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponseParts, ResponseParts};
use mfa_kit::flow::device::Remembered;
use tower_sessions::cookie::{Cookie, SameSite};

use crate::config::MfaWeb;
use crate::response::WebError;

/// A `Set-Cookie` header for the remembered-device cookie: `HttpOnly`, `Secure` (unless
/// the first public origin is plain `http://`, see
/// [`crate::MfaWebBuilder::public_origin`]), `SameSite=Lax`, `Path=/`. Return it as part of a response:
/// `(cookie, Redirect::to("/"))`. `Debug` does not show the token.
#[derive(Clone)]
pub struct DeviceCookie(HeaderValue);

impl std::fmt::Debug for DeviceCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceCookie(..)")
    }
}

impl DeviceCookie {
    /// The header's value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }
}

impl IntoResponseParts for DeviceCookie {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        res.headers_mut().append(header::SET_COOKIE, self.0);
        Ok(res)
    }
}

impl MfaWeb {
    /// The cookie for a device the service just remembered, living until the
    /// service's expiry of it (its `Max-Age` is that expiry less the service's clock
    /// now, so both agree).
    ///
    /// # Errors
    /// [`WebError::Clock`].
    pub fn remember_cookie(&self, remembered: &Remembered) -> Result<DeviceCookie, WebError> {
        let now = self.now()?;
        let max_age = remembered.info.expires_at.saturating_sub(now);
        Ok(self.device_cookie(remembered.token.as_str(), max_age))
    }

    /// A cookie that makes the browser forget the remembered device (on sign-out
    /// with "forget this device", after a revocation).
    pub fn forget_cookie(&self) -> DeviceCookie {
        self.device_cookie("", 0)
    }

    fn device_cookie(&self, value: &str, max_age: u64) -> DeviceCookie {
        // A `__Host-` or `__Secure-` name is taken by browsers only with `Secure`
        // (RFC 6265bis §4.1.3), which they allow on `http://localhost` too.
        let name = &self.settings.device_cookie;
        let prefixed = name.starts_with("__Host-") || name.starts_with("__Secure-");
        let secure = self.secure_cookies() || prefixed;
        let seconds = i64::try_from(max_age).unwrap_or(i64::MAX);
        let cookie = Cookie::build((self.settings.device_cookie.clone(), value.to_string()))
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .path("/")
            .max_age(tower_sessions::cookie::time::Duration::seconds(seconds))
            .build();
        // A token is base32 or hex and the name is the host's: always a valid header.
        let value = HeaderValue::from_str(&cookie.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("mfa_device=; Max-Age=0; Path=/; HttpOnly; Secure"));
        DeviceCookie(value)
    }
}
