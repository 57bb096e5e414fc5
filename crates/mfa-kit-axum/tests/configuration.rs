//! The integration's configuration refuses what cannot work: a device cookie name that
//! is not a cookie name.

use std::sync::Arc;

use mfa_kit::UserId;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::policy::OrgSettings;
use mfa_kit::service::MfaService;
use mfa_kit::store::MemoryStore;
use mfa_kit_axum::{MfaWeb, OrgSource, UserOrg};

struct Orgs;

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl OrgSource for Orgs {
    type Error = Never;

    async fn org_for(&self, _user: &UserId) -> Result<UserOrg, Never> {
        Ok(UserOrg::new(Arc::new(OrgSettings::default())))
    }
}

fn web_with_cookie_name(name: &str) -> Result<MfaWeb, mfa_kit_axum::ConfigError> {
    let mfa = Arc::new(MfaService::builder("Test", MemoryStore::new(), PlaintextSealer).build());
    MfaWeb::builder(Orgs, mfa).public_origin("https://app.example").device_cookie_name(name).build()
}

/// A device cookie name that cannot go in a header (a CR/LF, a DEL) would make every
/// device cookie fall back to a fixed value that never carries the token: `build`
/// refuses it.
#[test]
fn a_device_cookie_name_that_cannot_be_a_header_is_a_configuration_error() {
    for name in ["mfa\r\nSet-Cookie: admin=1", "mfa\u{7f}device", "", "mfa_d\u{e9}vice"] {
        let built = web_with_cookie_name(name);
        assert!(
            matches!(&built, Err(mfa_kit_axum::ConfigError::InvalidCookieName(given)) if given == name),
            "{name:?}: {built:?}"
        );
    }
}

/// A name with a cookie separator (`;`, `=`, a space) would add attributes of its own
/// or make a cookie the extractor never reads back: a cookie name is an RFC 6265
/// token, and `build` refuses the others; a token is taken and names the cookie.
#[test]
fn a_device_cookie_name_with_a_cookie_separator_is_a_configuration_error() {
    for name in ["mfa;Domain=example.net", "mfa=device", "mfa device", "mfa,device", "(mfa)"] {
        assert!(web_with_cookie_name(name).is_err(), "{name:?} was accepted as a cookie name");
    }
    let web = web_with_cookie_name("host_mfa-device.v2").expect("a token");
    let header = web.forget_cookie().header_value().to_str().expect("a header").to_owned();
    assert!(header.starts_with("host_mfa-device.v2="), "{header}");
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(axum::http::header::COOKIE, "host_mfa-device.v2=ABCDEFGH".parse().unwrap());
    let client = mfa_kit_axum::Client::from_parts(&web, &headers, None);
    assert!(client.device_token.is_some(), "the cookie is read back under its name");
}
