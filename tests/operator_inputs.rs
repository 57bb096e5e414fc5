//! What an operator can get wrong, each answered with its documented error: a clock
//! past 2100, a short hash key, an unreadable record in the status list, and key URIs
//! too long to write back or to draw.

mod common;

use common::*;
use mfa_kit::service::Error;

#[test]
fn a_clock_reading_past_2100_is_a_clock_failure_and_nothing_is_written() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let before = run(firm.mfa.record(&sarah)).unwrap();
    let events = firm.mfa.store().events().len();
    let guess = phone.wrong_code();
    firm.clock.set(u64::MAX);
    for result in [
        run(firm.mfa.verify_code(&sarah, &guess, &office())).map(|_| ()),
        run(firm.mfa.sign_in_decision(&sarah, &office())).map(|_| ()),
        run(firm.mfa.start_enrollment(&sarah, "sarah", &office())).map(|_| ()),
    ] {
        assert!(matches!(result, Err(Error::Clock(_))), "{result:?}");
    }
    assert_eq!(run(firm.mfa.record(&sarah)).unwrap(), before);
    assert_eq!(firm.mfa.store().events().len(), events);
}

#[test]
fn a_short_hash_key_says_the_minimum_length() {
    let error = mfa_kit::keyed_hash::HashKey::from_bytes(&[1; 16]).unwrap_err();
    assert_eq!(error.to_string(), "the key is 16 bytes long but must be at least 32 bytes");
}

#[test]
fn the_status_list_reports_an_unreadable_record_in_its_own_row() {
    use mfa_kit::store::Store;
    let firm = firm();
    let (sarah, broken) = (user("sarah"), user("broken"));
    firm.enroll(&sarah);
    // A record of a format this version does not read.
    let mut future: serde_json::Value =
        serde_json::to_value(mfa_kit::record::UserRecord::new(broken.clone())).unwrap();
    future["format"] = 99.into();
    let record: mfa_kit::record::UserRecord = serde_json::from_value(future).unwrap();
    let _saved = run(firm.mfa.store().save(record.clone(), None, vec![])).unwrap();
    let rows = run(firm.mfa.status_list([&sarah, &broken], &office()));
    assert!(rows[0].1.as_ref().is_ok_and(|row| row.has_mfa()));
    assert!(matches!(rows[1].1, Err(Error::UnsupportedRecordFormat { found: 99, .. })));
}

#[test]
fn a_uri_that_parses_writes_back_within_the_parsers_own_limit() {
    use mfa_kit::otp::uri::{KeyUri, UriError};
    // Raw characters that the writer percent-encodes at three times their length.
    let account = "é".repeat(1_500);
    let text = format!("otpauth://totp/Smith:{account}?secret=JBSWY3DPEHPK3PXP");
    assert!(text.len() <= mfa_kit::otp::uri::MAX_URI_LEN);
    assert_eq!(KeyUri::parse(&text).err(), Some(UriError::TooLong { max: mfa_kit::otp::uri::MAX_URI_LEN }));
    // A shorter one still reads, and writes back within the limit.
    let short = format!("otpauth://totp/Smith:{}?secret=JBSWY3DPEHPK3PXP", "é".repeat(100));
    let parsed = KeyUri::parse(&short).unwrap();
    assert!(parsed.to_uri().len() <= mfa_kit::otp::uri::MAX_URI_LEN);
    assert_eq!(KeyUri::parse(&parsed.to_uri()).unwrap(), parsed);
}

#[cfg(feature = "qr")]
#[test]
fn the_qr_code_of_a_uri_too_long_for_one_is_its_documented_error() {
    use mfa_kit::otp::uri::{KeyUri, UriError};
    use mfa_kit::otp::{Secret, TotpParams};
    let long =
        KeyUri::totp("Smith", &"a".repeat(3_000), Secret::generate().unwrap(), TotpParams::DEFAULT).unwrap();
    assert_eq!(mfa_kit::otp::qr::svg(&long).err(), Some(UriError::TooLongForQr));
}
