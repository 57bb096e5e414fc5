//! Second factors and where out-of-band codes go.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A second factor: what proved (or failed to prove) the user's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Method {
    /// A code from an authenticator app (TOTP).
    Totp,
    /// A one-time code sent by SMS.
    Sms,
    /// A one-time code sent by e-mail.
    Email,
    /// A single-use recovery code.
    RecoveryCode,
    /// A security key or passkey (WebAuthn): a signature over a fresh challenge, bound
    /// to the site's origin, so a fake sign-in page cannot relay it.
    SecurityKey,
}

impl Method {
    /// Whether the method is a restricted authenticator under NIST SP 800-63B-4
    /// §3.2.9: codes by SMS (the number can be ported or taken over, the message
    /// intercepted). A verifier that offers one tells the user the risk and offers an
    /// unrestricted alternative ([`crate::policy::Decision::Challenge`]'s `restricted`).
    pub fn is_restricted(self) -> bool {
        self == Method::Sms
    }

    /// Whether a proof with the method resists phishing (NIST SP 800-63B-4 §3.2.5):
    /// only a security key or passkey, whose signature covers the origin the browser
    /// saw, so a look-alike page gets nothing it can replay. Codes typed by the user
    /// (app, SMS, e-mail, recovery) can all be relayed in real time.
    pub fn is_phishing_resistant(self) -> bool {
        self == Method::SecurityKey
    }
}

/// Where an out-of-band code goes: a phone number or an e-mail address, normalised.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "address", rename_all = "snake_case")]
#[allow(
    clippy::exhaustive_enums,
    reason = "a plain value the crate and hosts build and read whole; a new field is a deliberate breaking change"
)]
pub enum Destination {
    /// A phone number for SMS, as `+` and digits.
    Sms(String),
    /// An e-mail address, in lower case.
    Email(String),
}

/// A phone number or e-mail address that cannot receive codes.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// Not a phone number: 7 to 15 digits, optionally with a leading `+`, separated
    /// by spaces, hyphens, dots or parentheses.
    #[error("not a phone number: give 7 to 15 digits, such as +61 412 345 678")]
    InvalidPhone,
    /// Not an e-mail address.
    #[error("not an e-mail address: give one such as name@example.com")]
    InvalidEmail,
    /// A phone number without its country code, where no known country says which it
    /// is: it could not be compared with the same phone written internationally.
    #[error(
        "the phone number has no country code: give it in international form, starting with + and the country code, such as +61 412 345 678"
    )]
    NeedsCountryCode,
}

impl Destination {
    /// A phone number in international form, normalised: `+61 (412) 345-678` becomes
    /// `+61412345678`, and so does `+61 (0)412 345 678` (the trunk prefix in brackets
    /// is not dialled after the country code). A number without `+` and its country code is refused: which
    /// phone `0412 345 678` is depends on the country, so it could not be told apart
    /// from, or matched with, the same phone written internationally (a backup phone
    /// must differ from the primary, R18). Use [`Destination::sms_in`] with the
    /// organisation's country to accept national numbers.
    ///
    /// # Errors
    /// [`DestinationError::InvalidPhone`] if it is not a phone number;
    /// [`DestinationError::NeedsCountryCode`] if it has no `+` and country code, or a
    /// `+` before a national number (`+0412 345 678`: no country code begins with 0).
    pub fn sms(number: &str) -> Result<Destination, DestinationError> {
        let parsed = Destination::phone(number)?;
        if parsed.address().starts_with('+') { Ok(parsed) } else { Err(DestinationError::NeedsCountryCode) }
    }

    /// A phone number given as it is written in `country` (ISO 3166-1 alpha-2), in
    /// E.164 form: `0412 345 678` in `AU` becomes `+61412345678`. A number that starts
    /// with `+` keeps its own country code.
    ///
    /// # Errors
    /// [`DestinationError::InvalidPhone`] if it is not a phone number;
    /// [`DestinationError::NeedsCountryCode`] for a national number when `country` is
    /// not one this crate knows the calling code of (`AU`, `NZ`, `GB`, `IE`, `US`, `CA`,
    /// `SG`, `ZA`, `IN`, `DE`, `FR`, `NL`), and for a number dialled with an
    /// international access code (`0061 412 345 678`, `0011 61 …`, `011 …` in `US`
    /// and `CA`): no national number starts so, and the international form with `+`
    /// says which country is meant.
    pub fn sms_in(number: &str, country: &str) -> Result<Destination, DestinationError> {
        let parsed = Destination::phone(number)?;
        // `0061 412 345 678`, `011 44 20 …`: dialled with the international access code
        // of some country, which no national number starts with; reading it as national
        // would make another phone's number, so it is asked for with its `+`.
        let digits = parsed.address();
        if digits.starts_with("00") || (digits.starts_with("011") && calling_code(country) == Some("1")) {
            return Err(DestinationError::NeedsCountryCode);
        }
        let international = parsed.e164(Some(country)).ok_or(DestinationError::NeedsCountryCode)?;
        // The country code may take a national number past E.164's 15 digits.
        Destination::phone(&international)
    }

    /// Digits, with the leading `+` if written, between 7 and 15 of them.
    fn phone(number: &str) -> Result<Destination, DestinationError> {
        let number = number.trim();
        let (plus, rest) = match number.strip_prefix('+') {
            Some(rest) => ("+", rest),
            None => ("", number),
        };
        // `+61 (0)412 345 678`, `+44 (0)20 7946 0000`: the trunk prefix in brackets is
        // dialled only within the country, never after the country code.
        let without_trunk;
        let rest = if plus.is_empty() {
            rest
        } else {
            without_trunk = rest.replacen("(0)", "", 1);
            &without_trunk
        };
        let mut digits = String::from(plus);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(DestinationError::InvalidPhone),
            }
        }
        let count = digits.len() - plus.len();
        if !(7..=15).contains(&count) {
            return Err(DestinationError::InvalidPhone);
        }
        // No country code begins with 0: `+0412 345 678` is a national number with a
        // `+` put before it.
        if !plus.is_empty() && digits[plus.len()..].starts_with('0') {
            return Err(DestinationError::NeedsCountryCode);
        }
        Ok(Destination::Sms(digits))
    }

    /// The same destination, a national phone number put in E.164 form when `country`
    /// is known; otherwise unchanged. Only records written before national numbers were
    /// refused (or destinations deserialised by the host) hold national numbers.
    pub(crate) fn in_country(&self, country: Option<&str>) -> Destination {
        match self.e164(country) {
            Some(international) => Destination::Sms(international),
            None => self.clone(),
        }
    }

    /// The phone number in E.164 form, reading a national number as written in
    /// `country`; `None` for an e-mail address or a national number of no known country.
    fn e164(&self, country: Option<&str>) -> Option<String> {
        let Destination::Sms(number) = self else { return None };
        if number.starts_with('+') {
            return Some(number.clone());
        }
        let code = calling_code(country?)?;
        let national = if code == "1" {
            number.strip_prefix('1').filter(|rest| rest.len() == 10).unwrap_or(number)
        } else {
            number.strip_prefix('0').unwrap_or(number)
        };
        Some(format!("+{code}{national}"))
    }

    /// Whether two destinations reach the same phone or mailbox, reading national
    /// phone numbers as written in `country` (`0412 345 678` and `+61 412 345 678` are
    /// the same phone in `AU`).
    ///
    /// A national number of no known country (kept from a record written before
    /// [`Destination::sms`] refused them) cannot be read exactly, so it counts as the
    /// same phone as any number it could be: one whose digits end with its digits after
    /// the trunk prefix (`0412 345 678` and `+61 412 345 678`, but also `+64 412 345
    /// 678`). A backup phone that only might be the primary is refused rather than let
    /// through by a difference of format.
    pub fn same_as(&self, other: &Destination, country: Option<&str>) -> bool {
        if self == other {
            return true;
        }
        match (self, other) {
            (Destination::Sms(_), Destination::Sms(_)) => {}
            _ => return false,
        }
        match (self.e164(country), other.e164(country)) {
            (Some(a), Some(b)) => a == b,
            (Some(international), None) => may_be(&international, other.address()),
            (None, Some(international)) => may_be(&international, self.address()),
            (None, None) => subscriber(self.address()) == subscriber(other.address()),
        }
    }

    /// An e-mail address, trimmed and in lower case: one mailbox, as every mailer reads
    /// it. The part before the `@` is a dot-atom of letters, digits and
    /// ``!#$%&*+-/=?^_`{|}~`` (no quotes, no `'`, no leading, trailing or double dots,
    /// at most 64 characters); the domain is at least two labels of letters, digits and
    /// inner hyphens (internationalised names in their `xn--` form). Anything a mailer
    /// could read as several addresses, a display name or a route (`<>"',;` or spaces)
    /// is refused.
    ///
    /// # Errors
    /// [`DestinationError::InvalidEmail`].
    pub fn email(address: &str) -> Result<Destination, DestinationError> {
        let address = address.trim().to_ascii_lowercase();
        let valid = address.len() <= 254
            && address
                .split_once('@')
                .is_some_and(|(local, domain)| valid_local(local) && valid_domain(domain));
        if valid { Ok(Destination::Email(address)) } else { Err(DestinationError::InvalidEmail) }
    }

    /// The method this destination provides.
    pub fn method(&self) -> Method {
        match self {
            Destination::Sms(_) => Method::Sms,
            Destination::Email(_) => Method::Email,
        }
    }

    /// The address, normalised (what the sender delivers to).
    pub fn address(&self) -> &str {
        match self {
            Destination::Sms(address) | Destination::Email(address) => address,
        }
    }

    /// A masked form for screens and audit logs: `•••678`, `s•••@e•••.com`. A number
    /// shows its last three digits after three dots whatever its length, which the
    /// mask does not tell.
    pub fn masked(&self) -> String {
        match self {
            Destination::Sms(number) => {
                let shown = number.len().saturating_sub(3);
                format!("•••{}", number.get(shown..).unwrap_or_default())
            }
            Destination::Email(address) => match address.split_once('@') {
                Some((local, domain)) => {
                    let first = |text: &str| text.chars().next().unwrap_or('•');
                    let top = domain.rsplit_once('.').map_or("", |(_, top)| top);
                    format!("{}•••@{}•••.{top}", first(local), first(domain))
                }
                None => "•••".into(),
            },
        }
    }
}

/// A dot-atom local part (RFC 5322 §3.2.3) without the characters mailers and
/// templates mistake for syntax (`'`).
fn valid_local(local: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "!#$%&*+-/=?^_`{|}~.".contains(c);
    (1..=64).contains(&local.len())
        && local.chars().all(allowed)
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

/// A domain name of at least two labels, each 1 to 63 letters, digits and inner
/// hyphens, the last not all digits (not an address literal).
fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels.last().is_some_and(|top| !top.chars().all(|c| c.is_ascii_digit()))
}

/// A national number without its trunk prefix (the leading `0`s of `0412 345 678`).
fn subscriber(national: &str) -> &str {
    national.trim_start_matches('0')
}

/// Whether the E.164 number `international` could be the national number `national`
/// of some country: its digits end with the national number's after the trunk prefix.
fn may_be(international: &str, national: &str) -> bool {
    international.trim_start_matches('+').ends_with(subscriber(national))
}

/// The international calling codes of the countries mfa-kit's users are in; a
/// national number of another country cannot be put in E.164 form.
fn calling_code(country: &str) -> Option<&'static str> {
    const CODES: &[(&str, &str)] = &[
        ("AU", "61"),
        ("NZ", "64"),
        ("GB", "44"),
        ("IE", "353"),
        ("US", "1"),
        ("CA", "1"),
        ("SG", "65"),
        ("ZA", "27"),
        ("IN", "91"),
        ("DE", "49"),
        ("FR", "33"),
        ("NL", "31"),
    ];
    CODES.iter().find(|(iso, _)| iso.eq_ignore_ascii_case(country.trim())).map(|(_, code)| *code)
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}({})", self.method(), self.masked())
    }
}

/// Whether a destination is the user's primary out-of-band method or the backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(
    clippy::exhaustive_enums,
    reason = "the two sides of a yes-or-no answer; a third would change every caller's logic on purpose"
)]
pub enum Role {
    /// The primary method (when the user signs in with SMS rather than an app).
    Primary,
    /// The backup method, for when the primary is lost (seed 004).
    Backup,
}

/// What a code is for; a code for one purpose is never accepted for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(
    clippy::exhaustive_enums,
    reason = "the two sides of a yes-or-no answer; a third would change every caller's logic on purpose"
)]
pub enum Purpose {
    /// Signing in.
    SignIn,
    /// Confirming a new destination.
    ConfirmDestination,
}

super::stable_ids!("method", Method {
    Totp => "totp",
    Sms => "sms",
    Email => "email",
    RecoveryCode => "recovery_code",
    SecurityKey => "security_key",
});

super::stable_ids!("role", Role {
    Primary => "primary",
    Backup => "backup",
});

super::stable_ids!("purpose", Purpose {
    SignIn => "sign_in",
    ConfirmDestination => "confirm_destination",
});

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phone_numbers_are_compared_after_normalising() {
        let a = Destination::sms("+61 412 345 678").unwrap();
        let b = Destination::sms("+61-412-345-678").unwrap();
        let c = Destination::sms(" +61 (412) 345.678 ").unwrap();
        assert_eq!((&a, &b), (&c, &c));
        assert_eq!(a.address(), "+61412345678");
        for bad in ["", "12345", "+61 412 345 678 999 12", "call me", "+61 412-ABC", "++61412345678"] {
            assert_eq!(Destination::sms(bad), Err(DestinationError::InvalidPhone), "{bad}");
        }
    }

    /// A national number as records written before national numbers were refused hold it.
    fn stored(address: &str) -> Destination {
        serde_json::from_value(serde_json::json!({"kind": "sms", "address": address})).unwrap()
    }

    #[test]
    fn national_and_international_forms_of_one_phone_are_the_same_phone() {
        let national = stored("0412345678");
        let international = Destination::sms("+61 412 345 678").unwrap();
        assert!(national.same_as(&international, Some("AU")));
        assert!(international.same_as(&national, Some("au")));
        assert!(!national.same_as(&international, Some("NZ")));
        assert_eq!(Destination::sms_in("0412 345 678", "AU").unwrap(), international);
        assert_eq!(Destination::sms_in("+61 412 345 678", "NZ").unwrap(), international);
        assert_eq!(Destination::sms_in("(415) 555-0100", "US").unwrap().address(), "+14155550100");
        assert_eq!(Destination::sms_in("1 415 555 0100", "US").unwrap().address(), "+14155550100");
        let email = Destination::email("a@b.example").unwrap();
        assert!(!email.same_as(&national, Some("AU")) && email.same_as(&email.clone(), None));
    }

    #[test]
    fn a_national_number_without_a_known_country_is_refused_with_a_hint_to_write_it_internationally() {
        assert_eq!(Destination::sms("0412 345 678"), Err(DestinationError::NeedsCountryCode));
        assert_eq!(Destination::sms_in("0412 345 678", "XX"), Err(DestinationError::NeedsCountryCode));
        assert_eq!(Destination::sms_in("0412 345 678", ""), Err(DestinationError::NeedsCountryCode));
        assert_eq!(Destination::sms_in("call me", "AU"), Err(DestinationError::InvalidPhone));
        // Dialled with an international access code: asked for with its `+`, never
        // read as a national number (`+61061412345678` is another phone).
        for (number, country) in [
            ("0061 412 345 678", "AU"),
            ("0011 61 412 345 678", "AU"),
            ("011 44 20 7946 0000", "US"),
            ("00 64 21 123 4567", "NZ"),
        ] {
            assert_eq!(
                Destination::sms_in(number, country),
                Err(DestinationError::NeedsCountryCode),
                "{number}"
            );
        }
        // The trunk prefix in brackets after a country code is not dialled.
        assert_eq!(Destination::sms("+61 (0)412 345 678").unwrap().address(), "+61412345678");
        assert_eq!(Destination::sms("+44 (0)20 7946 0000").unwrap().address(), "+442079460000");
        let message = DestinationError::NeedsCountryCode.to_string();
        assert!(message.contains("international form") && message.contains("+61 412 345 678"), "{message}");
    }

    #[test]
    fn a_stored_national_number_of_no_known_country_counts_as_every_phone_it_could_be() {
        let national = stored("0412345678");
        for country in [None, Some("XX")] {
            assert!(national.same_as(&Destination::sms("+61 412 345 678").unwrap(), country));
            assert!(Destination::sms("+64 412 345 678").unwrap().same_as(&national, country));
            assert!(national.same_as(&stored("412345678"), country));
            assert!(!national.same_as(&Destination::sms("+61 412 345 679").unwrap(), country));
            assert!(!national.same_as(&stored("0412345679"), country));
        }
        // The old record still reads, and `in_country` brings it to E.164 where it can.
        assert_eq!(national.address(), "0412345678");
        assert_eq!(national.in_country(Some("AU")).address(), "+61412345678");
        assert_eq!(national.in_country(None), national);
    }

    proptest! {
        /// Whatever `sms` accepts is in international form, and any national number
        /// with the country that reads it matches its international form, with that
        /// country, an unknown one or none.
        #[test]
        fn a_phone_is_the_same_phone_whichever_form_it_is_written_in(
            typed in "[+]?[0-9 ().-]{0,20}",
            subscriber in "[1-9][0-9]{8}",
            country in proptest::option::of(prop_oneof![Just("AU"), Just("XX")]),
        ) {
            if let Ok(sms) = Destination::sms(&typed) {
                prop_assert!(sms.address().starts_with('+'));
            }
            let national = stored(&format!("0{subscriber}"));
            let international = Destination::sms(&format!("+61 {subscriber}")).unwrap();
            prop_assert!(national.same_as(&international, country));
            prop_assert!(international.same_as(&national, country));
            prop_assert_eq!(Destination::sms_in(&format!("0{subscriber}"), "AU").unwrap(), international);
        }
    }

    #[test]
    fn email_addresses_are_lower_cased_and_checked() {
        assert_eq!(Destination::email(" Sarah@Smith.Example ").unwrap().address(), "sarah@smith.example");
        for bad in
            ["", "sarah", "@smith.example", "sarah@", "sarah@example", "sa rah@x.com", "a@b@c.com", "a@.com"]
        {
            assert_eq!(Destination::email(bad), Err(DestinationError::InvalidEmail), "{bad}");
        }
    }

    #[test]
    fn an_email_destination_is_one_mailbox_a_mailer_cannot_read_as_more() {
        for good in ["sarah@smith.example", "s.ok@x.com", "a+tag@mail.b-c.co.uk", "x@xn--bcher-kva.example"] {
            assert!(Destination::email(good).is_ok(), "{good}");
        }
        for bad in [
            "a<b@x.com",
            "a>b@x.com",
            "\"a\"@x.com",
            "o'brien@x.com",
            "a,b@x.com",
            "a;b@x.com",
            "a@x.com,b@y.com",
            "Sarah <sarah@x.com>",
            "a@x.com;b@y.com",
            ".a@x.com",
            "a.@x.com",
            "a..b@x.com",
            "a@-x.com",
            "a@x-.com",
            "a@x..com",
            "a@1.2.3.4",
            "a@[127.0.0.1]",
            "a@x.com\r\nBcc: c@y.com",
            "ü@x.com",
            "a@bücher.example",
        ] {
            assert_eq!(Destination::email(bad), Err(DestinationError::InvalidEmail), "{bad}");
        }
    }

    #[test]
    fn a_national_number_that_its_country_code_makes_too_long_is_refused() {
        // 15 national digits after the trunk 0, plus 61: 16 digits, past E.164's 15.
        assert_eq!(Destination::sms_in("0123456789012345", "AU"), Err(DestinationError::InvalidPhone));
        assert!(Destination::sms_in("0412 345 678", "AU").is_ok());
    }

    #[test]
    fn masked_forms_hide_most_of_the_address() {
        assert_eq!(Destination::sms("+61412345678").unwrap().masked(), "•••678");
        assert_eq!(Destination::email("sarah@smith.example").unwrap().masked(), "s•••@s•••.example");
        assert_eq!(Destination::email("a@mail.smith.co.uk").unwrap().masked(), "a•••@m•••.uk");
        assert!(!format!("{:?}", Destination::sms("+61412345678").unwrap()).contains("412345"));
    }
}
