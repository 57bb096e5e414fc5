//! `mfa_kit::assurance` against its rustdoc, RFC 8176 and HMRC's
//! `Gov-Client-Multi-Factor` fraud-prevention header.

use mfa_kit::Method;
use mfa_kit::assurance::{self, ACR_NIST_AAL2, HmrcFactor};
use mfa_kit::flow::Proven;
use sha2::{Digest, Sha256};

const ALL: [Method; 5] =
    [Method::Totp, Method::Sms, Method::Email, Method::RecoveryCode, Method::SecurityKey];

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

// rustdoc of `amr` / `nist_acr` / `HmrcFactor::new`: a security key or passkey is
// `hwk`, reaches AAL2 ("AAL2 is all that is claimed") and is HMRC type OTHER. The unit
// test's table lists every method but this one.
#[test]
fn security_key_amr_acr_and_hmrc_type() {
    assert_eq!(assurance::amr(Method::SecurityKey), ["hwk"]);
    assert_eq!(assurance::amr_after_password(Method::SecurityKey), ["pwd", "hwk", "mfa"]);
    assert_eq!(assurance::nist_acr(Method::SecurityKey), Some(ACR_NIST_AAL2));
    let part = HmrcFactor::new(Method::SecurityKey, 0, "cred-id").to_header_part();
    assert!(part.starts_with("type=OTHER&"), "{part}");
}

// every `amr` value is registered in the IANA "Authentication Method Reference
// Values" registry (RFC 8176 §2), and `mfa` appears exactly once, last.
#[test]
fn every_amr_value_is_in_the_rfc8176_registry() {
    const REGISTRY: [&str; 19] = [
        "face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pop", "pwd", "rba",
        "retina", "sc", "sms", "swk", "tel", "user",
    ];
    for method in ALL {
        let values = assurance::amr_after_password(method);
        for v in &values {
            assert!(REGISTRY.contains(v), "{method:?}: {v} is not an RFC 8176 value");
        }
        assert_eq!(values.first(), Some(&"pwd"));
        assert_eq!(values.iter().filter(|v| **v == "mfa").count(), 1, "{method:?}");
        assert_eq!(values.last(), Some(&"mfa"));
    }
}

// HMRC's timestamp is UTC `yyyy-MM-ddThh:mmZ` with the colon percent-encoded; the
// minute is the one the proof fell in (seconds dropped, not rounded), across minute, day,
// leap-day and year edges.
#[test]
fn hmrc_timestamp_at_minute_day_and_year_edges() {
    let cases = [
        (1_700_000_039, "2023-11-14T22%3A13Z"), // 22:13:59
        (1_700_000_040, "2023-11-14T22%3A14Z"), // 22:14:00
        (951_868_799, "2000-02-29T23%3A59Z"),   // leap day, last second
        (951_868_800, "2000-03-01T00%3A00Z"),
        (1_767_225_599, "2025-12-31T23%3A59Z"),
        (1_767_225_600, "2026-01-01T00%3A00Z"),
        (4_107_542_400, "2100-03-01T00%3A00Z"), // 2100 is not a leap year
        (253_402_300_799, "9999-12-31T23%3A59Z"),
    ];
    for (at, stamp) in cases {
        let part = HmrcFactor::new(Method::Totp, at, "r").to_header_part();
        assert_eq!(part, format!("type=TOTP&timestamp={stamp}&unique-reference={}", sha256_hex("r")), "{at}");
    }
}

// HMRC's timestamp is `yyyy-MM-ddThh:mmZ`: past 9999-12-31 (a broken clock) the
// year stays four digits, the last minute of 9999.
#[test]
fn hmrc_timestamp_year_has_four_digits_for_far_dates() {
    for at in [253_402_300_800_u64, u64::MAX] {
        let part = HmrcFactor::new(Method::Totp, at, "r").to_header_part();
        let stamp = part.split('&').nth(1).unwrap().strip_prefix("timestamp=").unwrap();
        assert_eq!(stamp, "9999-12-31T23%3A59Z", "at={at}");
    }
}

// "a reference unique to the factor, hashed ... kept only as its SHA-256, in hex":
// whatever the reference holds (HMRC's separators `&`, `=`, `,`, `%`, spaces, non-ASCII),
// each factor is exactly three percent-safe key=value pairs, the list splits on commas into
// one part per factor, and the reference is the SHA-256 of the given string.
#[test]
fn hmrc_header_structure_survives_any_reference() {
    let refs = ["a&b=c,d", "50% off", "ünïcode ✓", "", "type=TOTP&timestamp=x"];
    let factors: Vec<_> = refs.iter().zip(ALL).map(|(r, m)| HmrcFactor::new(m, 1_700_000_000, r)).collect();
    let header = assurance::hmrc_multi_factor(&factors);
    let parts: Vec<_> = header.split(',').collect();
    assert_eq!(parts.len(), refs.len(), "{header}");
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~%".contains(c);
    for (part, r) in parts.iter().zip(refs) {
        let pairs: Vec<_> = part.split('&').collect();
        assert_eq!(pairs.len(), 3, "{part}");
        let keys: Vec<_> = pairs.iter().map(|p| p.split_once('=').unwrap().0).collect();
        assert_eq!(keys, ["type", "timestamp", "unique-reference"]);
        for p in &pairs {
            let (_, v) = p.split_once('=').unwrap();
            assert!(v.chars().all(unreserved), "value not percent-encoded: {p}");
        }
        assert_eq!(pairs[2], format!("unique-reference={}", sha256_hex(r)));
    }
    assert_eq!(header, factors.iter().map(HmrcFactor::to_header_part).collect::<Vec<_>>().join(","));
}

// "The factor a sign-in proved": `of` takes the proof's method and time.
#[test]
fn hmrc_factor_of_a_proof_uses_its_method_and_time() {
    let proof =
        Proven { method: Method::SecurityKey, drift: None, at: 1_700_000_060, phishing_resistant: true };
    assert_eq!(HmrcFactor::of(&proof, "k"), HmrcFactor::new(Method::SecurityKey, 1_700_000_060, "k"));
}

// nothing but the hash of the reference reaches the header or the Debug output.
#[test]
fn no_reference_or_code_in_header_or_debug() {
    let secret_ref = "device-token-Zq7xY2kP9mW4";
    let f = HmrcFactor::new(Method::RecoveryCode, 1_700_000_000, secret_ref);
    let header = assurance::hmrc_multi_factor(std::slice::from_ref(&f));
    let debug = format!("{f:?}");
    for shown in [&header, &debug] {
        assert!(!shown.contains(secret_ref) && !shown.contains("Zq7xY2kP9mW4"), "{shown}");
    }
}

// `HmrcFactor::keyed`: a reference that is personal data (a phone number) is kept as
// its HMAC under the deployment's key, which no one without the key can match by
// hashing candidate numbers; a plain hash (`HmrcFactor::new`, for references that are
// no personal data) can be matched so, here in 10^4 guesses.
#[test]
fn hmrc_reference_of_a_phone_number_cannot_be_recovered_when_keyed() {
    let key = mfa_kit::keyed_hash::HashKey::from_bytes(&[5; 32]).unwrap();
    let guess = |header: String| {
        let hashed = header.rsplit('=').next().unwrap().to_owned();
        (0..10_000).map(|n| format!("+6141234{n:04}")).find(|guess| sha256_hex(guess) == hashed)
    };
    let keyed = HmrcFactor::keyed(Method::Sms, 1_700_000_000, "+61412345678", &key);
    assert_eq!(guess(assurance::hmrc_multi_factor(&[keyed])), None, "the header hides the phone number");
    let plain = HmrcFactor::new(Method::Sms, 1_700_000_000, "+61412345678");
    assert_eq!(guess(assurance::hmrc_multi_factor(&[plain])).as_deref(), Some("+61412345678"));
}
