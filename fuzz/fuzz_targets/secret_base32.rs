//! `Secret::from_base32` on any text: never panics, a secret read is 1 to MAX_LEN
//! bytes, and its plain and grouped base32 forms read back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_kit::otp::Secret;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(secret) = Secret::from_base32(text) else { return };
    assert!(!secret.is_empty() && secret.len() <= Secret::MAX_LEN);
    assert_eq!(secret.bit_len(), secret.len() * 8);
    assert_eq!(Secret::from_base32(&secret.to_base32()).as_ref(), Ok(&secret));
    assert_eq!(Secret::from_base32(&secret.to_base32_grouped()).as_ref(), Ok(&secret));
    assert_eq!(Secret::from_base32(&secret.to_base32().to_ascii_lowercase()).as_ref(), Ok(&secret));
    assert!(!format!("{secret:?}").contains(secret.to_base32().as_str()));
});
