//! The request context: the client's address, its device and its device cookie.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use mfa_kit::RequestContext;
use mfa_kit::record::DeviceToken;

use crate::config::{ClientAddress, MfaWeb};

/// What a request says about its client: address and device label for the policy and
/// the audit log, and the remembered-device cookie.
///
/// The address is the TCP peer's, or, only when configured with
/// [`ClientAddress::TrustedHeader`], the one the host's own proxy wrote in that header.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Client {
    /// The address and device label.
    pub request: RequestContext,
    /// The remembered-device token from the cookie, if any.
    pub device_token: Option<DeviceToken>,
}

impl Client {
    /// Reads the client from request headers and the connection's peer address.
    pub fn from_parts(web: &MfaWeb, headers: &HeaderMap, peer: Option<SocketAddr>) -> Client {
        let address = match &web.settings.client_address {
            ClientAddress::Peer => peer.map(|p| p.ip()),
            // The right-most entry of the last line: the one the host's own proxy
            // added. A last line that cannot be read leaves the address unknown (an
            // earlier line is the client's own words).
            ClientAddress::TrustedHeader(name) => headers
                .get_all(name)
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next_back())
                .and_then(parse_address),
        };
        let device = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(device_label);
        let mut request = address.map(RequestContext::from_address).unwrap_or_default();
        if let Some(device) = device {
            request = request.with_device(device);
        }
        let device_token =
            cookie_value(headers, &web.settings.device_cookie).map(|v| DeviceToken::from_cookie(&v));
        Client { request, device_token }
    }
}

impl<S> FromRequestParts<S> for Client
where
    MfaWeb: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let web = MfaWeb::from_ref(state);
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        Ok(Client::from_parts(&web, &parts.headers, peer))
    }
}

/// An address as a proxy writes it: `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]:443`
/// or `203.0.113.7:51000`.
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>().ok().or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The value of the first cookie called `name`.
pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"').to_string())
        .filter(|value| !value.is_empty())
}

/// A short label for a user agent, for the audit log and the list of remembered
/// devices: `Firefox on Windows`, `Chrome on Linux`; the first 80 printable characters
/// of anything else.
pub fn device_label(user_agent: &str) -> String {
    let has = |needle: &str| user_agent.contains(needle);
    let browser = if has("Edg/") {
        Some("Edge")
    } else if has("OPR/") {
        Some("Opera")
    } else if has("Firefox/") {
        Some("Firefox")
    } else if has("Chrome/") || has("Chromium/") {
        Some("Chrome")
    } else if has("Safari/") {
        Some("Safari")
    } else {
        None
    };
    let system = if has("Windows") {
        Some("Windows")
    } else if has("Android") {
        Some("Android")
    } else if has("iPhone") || has("iPad") {
        Some("iOS")
    } else if has("Mac OS X") {
        Some("macOS")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Linux") {
        Some("Linux")
    } else {
        None
    };
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        _ => user_agent.chars().filter(|c| !c.is_control()).take(80).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_common_browsers() {
        let firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(device_label(firefox), "Firefox on Windows");
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36";
        assert_eq!(device_label(chrome), "Chrome on Linux");
        assert_eq!(device_label("curl/8.0"), "curl/8.0");
    }

    #[test]
    fn addresses_as_proxies_write_them() {
        assert_eq!(parse_address(" 203.0.113.7"), Some([203, 0, 113, 7].into()));
        assert_eq!(parse_address("203.0.113.7:51000"), Some([203, 0, 113, 7].into()));
        assert!(parse_address("[2001:db8::1]:443").is_some_and(|a| a.is_ipv6()));
        assert_eq!(parse_address("unknown"), None);
    }
}
