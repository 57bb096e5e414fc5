//! What a proof is worth after the sign-in, in the words other systems read: the
//! RFC 8176 authentication method references (`amr`) and an authentication context
//! class (`acr`) for the host's OpenID Connect tokens, and the value of HMRC's
//! `Gov-Client-Multi-Factor` fraud-prevention header for Making Tax Digital calls.
//!
//! ```
//! use mfa_kit::assurance::{self, HmrcFactor};
//! use mfa_kit::Method;
//!
//! // An ID token after a password and an authenticator-app code.
//! assert_eq!(assurance::amr_after_password(Method::Totp), ["pwd", "otp", "mfa"]);
//! assert_eq!(assurance::nist_acr(Method::Totp), Some(assurance::ACR_NIST_AAL2));
//!
//! // The header HMRC asks for, with the factor's own reference hashed.
//! let factor = HmrcFactor::new(Method::Totp, 1_700_000_060, "authenticator 000000006553f11e");
//! let header = assurance::hmrc_multi_factor(&[factor]);
//! assert!(header.starts_with("type=TOTP&timestamp=2023-11-14T22%3A14Z&unique-reference="));
//! ```

use sha2::{Digest, Sha256};

use crate::flow::Proven;
use crate::vocabulary::Method;
use crate::vocabulary::utc::civil;

/// The RFC 8176 `amr` values of a second factor: `otp` for every one-time code (an
/// authenticator app's, an SMS or e-mail code, a single-use recovery code), `sms`
/// beside it for a code sent by SMS, and `hwk` (proof of possession of a
/// hardware-secured key) for a security key or passkey. The password is the host's: see
/// [`amr_after_password`].
pub fn amr(method: Method) -> &'static [&'static str] {
    match method {
        Method::Sms => &["otp", "sms"],
        Method::Totp | Method::Email | Method::RecoveryCode => &["otp"],
        Method::SecurityKey => &["hwk"],
    }
}

/// The `amr` claim of a sign-in with a password and then `method`: `pwd`, the
/// method's values, and `mfa` (RFC 8176 §2).
pub fn amr_after_password(method: Method) -> Vec<&'static str> {
    let mut values = vec!["pwd"];
    values.extend_from_slice(amr(method));
    values.push("mfa");
    values
}

/// The `acr` value for NIST authenticator assurance level 2, as US federal identity
/// providers write it.
pub const ACR_NIST_AAL2: &str = "http://idmanagement.gov/ns/assurance/aal/2";

/// The NIST SP 800-63B-4 `acr` a password followed by `method` reaches, if any: AAL2 for
/// an authenticator app, an SMS code (a restricted authenticator, §3.2.9) and a saved
/// recovery code (a look-up secret) and a security key or passkey (a phishing-resistant
/// cryptographic authenticator, §3.1.6 and §3.1.7; AAL3 asks more of the key than a
/// WebAuthn assertion shows, so AAL2 is all that is claimed); none for a code by
/// e-mail, which §3.1.3 does not accept as an out-of-band authenticator.
pub fn nist_acr(method: Method) -> Option<&'static str> {
    match method {
        Method::Totp | Method::Sms | Method::RecoveryCode | Method::SecurityKey => Some(ACR_NIST_AAL2),
        Method::Email => None,
    }
}

/// One factor of HMRC's `Gov-Client-Multi-Factor` header: its type, when it was proved
/// and a reference unique to the factor, hashed. A reference that is personal data (a
/// phone number, an e-mail address) goes through [`HmrcFactor::keyed`]: a plain hash of
/// a phone number is found again by hashing every number of a country, a keyed one is
/// not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HmrcFactor {
    kind: &'static str,
    at: u64,
    reference: String,
}

impl HmrcFactor {
    /// The factor `method`, proved at `at`, whose own identifier is `reference`, one
    /// that is no personal data (the authenticator's or security key's id, the
    /// recovery code set's creation): kept only as its SHA-256, in hex. For a reference
    /// that is personal data (a destination), use [`HmrcFactor::keyed`].
    pub fn new(method: Method, at: u64, reference: &str) -> HmrcFactor {
        HmrcFactor::with_digest(method, at, Sha256::digest(reference.as_bytes()).into())
    }

    /// The factor `method`, proved at `at`, whose own identifier is `reference`, kept
    /// only as its HMAC-SHA-256 under the deployment's hash `key`, in hex: the header
    /// names the factor the same way every time without revealing it, even where the
    /// reference is personal data (the phone number or e-mail address of an SMS or
    /// e-mail code), which a plain hash would not hide.
    pub fn keyed(method: Method, at: u64, reference: &str, key: &crate::keyed_hash::HashKey) -> HmrcFactor {
        HmrcFactor::with_digest(
            method,
            at,
            key.tag("mfa-kit hmrc unique-reference v1", &[reference.as_bytes()]),
        )
    }

    /// The factor a sign-in proved, with its reference (no personal data: see
    /// [`HmrcFactor::new`]).
    pub fn of(proof: &Proven, reference: &str) -> HmrcFactor {
        HmrcFactor::new(proof.method, proof.at, reference)
    }

    fn with_digest(method: Method, at: u64, digest: [u8; 32]) -> HmrcFactor {
        let kind = match method {
            Method::Totp => "TOTP",
            Method::Sms | Method::Email => "AUTH_CODE",
            Method::RecoveryCode | Method::SecurityKey => "OTHER",
        };
        let reference = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        HmrcFactor { kind, at, reference }
    }

    /// `type=TOTP&timestamp=2023-11-14T22%3A14Z&unique-reference=...`: one factor. The
    /// format has a four-digit year: a time past 9999 (a broken clock) is written as
    /// `9999-12-31T23:59Z`.
    pub fn to_header_part(&self) -> String {
        const LAST_MINUTE_OF_9999: u64 = 253_402_300_799;
        let (year, month, day, hour, minute, _) = civil(self.at.min(LAST_MINUTE_OF_9999));
        format!(
            "type={}&timestamp={year:04}-{month:02}-{day:02}T{hour:02}%3A{minute:02}Z&unique-reference={}",
            self.kind, self.reference
        )
    }
}

/// The value of the `Gov-Client-Multi-Factor` header for the factors a session proved,
/// comma-separated, as HMRC's fraud-prevention specification lays it out; empty when
/// there were none (send the header empty only where the specification allows).
pub fn hmrc_multi_factor(factors: &[HmrcFactor]) -> String {
    factors.iter().map(HmrcFactor::to_header_part).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_has_its_amr_acr_and_hmrc_type() {
        let expected = [
            (Method::Totp, vec!["pwd", "otp", "mfa"], Some(ACR_NIST_AAL2), "TOTP"),
            (Method::Sms, vec!["pwd", "otp", "sms", "mfa"], Some(ACR_NIST_AAL2), "AUTH_CODE"),
            (Method::Email, vec!["pwd", "otp", "mfa"], None, "AUTH_CODE"),
            (Method::RecoveryCode, vec!["pwd", "otp", "mfa"], Some(ACR_NIST_AAL2), "OTHER"),
        ];
        for (method, amr, acr, kind) in expected {
            assert_eq!(amr_after_password(method), amr, "{method:?}");
            assert_eq!(nist_acr(method), acr, "{method:?}");
            let part = HmrcFactor::new(method, 0, "x").to_header_part();
            assert!(part.starts_with(&format!("type={kind}&timestamp=1970-01-01T00%3A00Z&")), "{part}");
        }
    }

    #[test]
    fn the_hmrc_header_hashes_the_reference_and_lists_factors_with_commas() {
        let proof = Proven { method: Method::Sms, drift: None, at: 1_700_000_000, phishing_resistant: false };
        let key = crate::keyed_hash::HashKey::from_bytes(&[9; 32]).unwrap();
        let sms = HmrcFactor::keyed(proof.method, proof.at, "+61412345678", &key);
        let part = sms.to_header_part();
        assert!(!part.contains("61412345678"), "no personal data: {part}");
        let plain = HmrcFactor::of(&proof, "+61412345678").to_header_part();
        assert_ne!(part, plain, "keyed, not the plain hash anyone can compute");
        assert_eq!(part, HmrcFactor::keyed(Method::Sms, proof.at, "+61412345678", &key).to_header_part());
        let reference = part.rsplit('=').next().unwrap();
        assert_eq!(reference.len(), 64);
        assert!(reference.chars().all(|c| c.is_ascii_hexdigit()));
        let both = hmrc_multi_factor(&[HmrcFactor::new(Method::Totp, 1_700_000_060, "a"), sms]);
        assert_eq!(both.matches("type=").count(), 2);
        assert!(both.contains("Z&unique-reference=") && both.contains(",type=AUTH_CODE&"));
        assert_eq!(hmrc_multi_factor(&[]), "");
    }
}
