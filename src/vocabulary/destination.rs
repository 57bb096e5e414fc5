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
}

/// Where an out-of-band code goes: a phone number or an e-mail address, normalised.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "address", rename_all = "snake_case")]
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
}

impl Destination {
    /// A phone number, normalised: `+61 (412) 345-678` becomes `+61412345678`.
    ///
    /// # Errors
    /// [`DestinationError::InvalidPhone`].
    pub fn sms(number: &str) -> Result<Destination, DestinationError> {
        let number = number.trim();
        let (plus, rest) = match number.strip_prefix('+') {
            Some(rest) => ("+", rest),
            None => ("", number),
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
        Ok(Destination::Sms(digits))
    }

    /// A phone number given as it is written in `country` (ISO 3166-1 alpha-2), in
    /// E.164 form: `0412 345 678` in `AU` becomes `+61412345678`. A number that starts
    /// with `+` keeps its own country code; a country this crate does not know leaves a
    /// national number as [`Destination::sms`] does.
    ///
    /// # Errors
    /// [`DestinationError::InvalidPhone`].
    pub fn sms_in(number: &str, country: &str) -> Result<Destination, DestinationError> {
        let parsed = Destination::sms(number)?;
        Ok(match parsed.e164(Some(country)) {
            Some(international) => Destination::Sms(international),
            None => parsed,
        })
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
    pub fn same_as(&self, other: &Destination, country: Option<&str>) -> bool {
        if self == other {
            return true;
        }
        match (self.e164(country), other.e164(country)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
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

    /// A masked form for screens and audit logs: `•••••••678`, `s•••@example.com`.
    pub fn masked(&self) -> String {
        match self {
            Destination::Sms(number) => {
                let shown = number.len().saturating_sub(3);
                format!("{}{}", "•".repeat(shown), number.get(shown..).unwrap_or_default())
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

/// The international calling codes of the countries mfa-kit's users are in; a
/// national number of another country is compared as written.
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
pub enum Role {
    /// The primary method (when the user signs in with SMS rather than an app).
    Primary,
    /// The backup method, for when the primary is lost (seed 004).
    Backup,
}

/// What a code is for; a code for one purpose is never accepted for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Signing in.
    SignIn,
    /// Confirming a new destination.
    ConfirmDestination,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_compared_after_normalising() {
        let a = Destination::sms("+61 412 345 678").unwrap();
        let b = Destination::sms("+61-412-345-678").unwrap();
        let c = Destination::sms(" +61 (412) 345.678 ").unwrap();
        assert_eq!((&a, &b), (&c, &c));
        assert_eq!(a.address(), "+61412345678");
        assert_ne!(a, Destination::sms("0412 345 678").unwrap());
        for bad in ["", "12345", "+61 412 345 678 999 12", "call me", "+61 412-ABC", "++61412345678"] {
            assert_eq!(Destination::sms(bad), Err(DestinationError::InvalidPhone), "{bad}");
        }
    }

    #[test]
    fn national_and_international_forms_of_one_phone_are_the_same_phone() {
        let national = Destination::sms("0412 345 678").unwrap();
        let international = Destination::sms("+61 412 345 678").unwrap();
        assert!(national.same_as(&international, Some("AU")));
        assert!(international.same_as(&national, Some("au")));
        assert!(!national.same_as(&international, Some("NZ")));
        assert!(!national.same_as(&international, None));
        assert_eq!(Destination::sms_in("0412 345 678", "AU").unwrap(), international);
        assert_eq!(Destination::sms_in("(415) 555-0100", "US").unwrap().address(), "+14155550100");
        assert_eq!(Destination::sms_in("1 415 555 0100", "US").unwrap().address(), "+14155550100");
        assert_eq!(Destination::sms_in("0412 345 678", "XX").unwrap(), national);
        let email = Destination::email("a@b.example").unwrap();
        assert!(!email.same_as(&national, Some("AU")) && email.same_as(&email.clone(), None));
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
    fn masked_forms_hide_most_of_the_address() {
        assert_eq!(Destination::sms("+61412345678").unwrap().masked(), "•••••••••678");
        assert_eq!(Destination::email("sarah@smith.example").unwrap().masked(), "s•••@s•••.example");
        assert_eq!(Destination::email("a@mail.smith.co.uk").unwrap().masked(), "a•••@m•••.uk");
        assert!(!format!("{:?}", Destination::sms("+61412345678").unwrap()).contains("412345"));
    }
}
