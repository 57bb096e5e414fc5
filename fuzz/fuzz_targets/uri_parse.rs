//! `KeyUri::parse` on any text: never panics, and whatever parses writes back to a
//! URI that parses to the same key. An account with a colon is read only when an
//! issuer anchors the label, so it always comes with one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_kit::otp::uri::{KeyUri, OtpKind};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(uri) = KeyUri::parse(text) else { return };
    assert!(!uri.account().is_empty());
    assert!(uri.issuer().is_none_or(|issuer| !issuer.is_empty()));
    assert!(!uri.account().contains(':') || uri.issuer().is_some(), "{text:?}");
    assert!(!uri.secret().is_empty() && uri.secret().len() <= mfa_kit::otp::Secret::MAX_LEN);
    assert_eq!(uri.totp_params().is_some(), matches!(uri.kind(), OtpKind::Totp { .. }));
    let written = uri.to_uri();
    // A parsed URI is at most MAX_URI_LEN long; writing it back may grow it (percent
    // escapes, parameters written in full), so only a URI that fits is re-read.
    if written.len() > mfa_kit::otp::uri::MAX_URI_LEN {
        return;
    }
    match KeyUri::parse(&written) {
        Ok(again) => assert!(again == uri, "{text:?} reads back as another key from {:?}", written.as_str()),
        Err(error) => {
            panic!("{text:?} parsed, but its written form {:?} does not: {error}", written.as_str())
        }
    }
});
