//! Phone numbers and e-mail addresses as users type them (`Destination::sms`,
//! `Destination::sms_in`, `Destination::email`): never panic, normalise idempotently to
//! the international form, compare symmetrically, and mask without panicking on any
//! address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_kit::Destination;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(sms) = Destination::sms(text) {
        let address = sms.address();
        let digits = address.trim_start_matches('+');
        assert!(
            (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()),
            "{address:?}"
        );
        assert!(address.starts_with('+'), "a national number was accepted without a country: {address:?}");
        assert_eq!(Destination::sms(address).as_ref(), Ok(&sms));
        let masked = sms.masked();
        assert!(masked.ends_with(&address[address.len() - 3..]));
        assert!(!masked.contains(&address[..address.len() - 3]) || address.len() <= 3);
    }
    if let Ok(sms) = Destination::sms_in(text, "AU") {
        assert!(sms.address().starts_with('+'), "{text:?}");
        assert_eq!(Destination::sms(sms.address()).as_ref(), Ok(&sms));
        if let Ok(international) = Destination::sms(text) {
            assert_eq!(international, sms, "a number with its country code keeps it");
        }
        let national = Destination::sms_in(text, "XX");
        assert!(national.is_err() || national.as_ref() == Destination::sms(text).as_ref());
    }
    if let Ok(email) = Destination::email(text) {
        let address = email.address();
        assert_eq!(Destination::email(address).as_ref(), Ok(&email), "{text:?}");
        let _ = email.masked();
    }
});
