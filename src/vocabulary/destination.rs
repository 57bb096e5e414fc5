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

    /// An e-mail address, trimmed and in lower case.
    ///
    /// # Errors
    /// [`DestinationError::InvalidEmail`].
    pub fn email(address: &str) -> Result<Destination, DestinationError> {
        let address = address.trim().to_lowercase();
        let valid = match address.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && address.len() <= 254
                    && !address.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
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
                Some((local, domain)) => format!("{}•••@{domain}", local.chars().next().unwrap_or('•')),
                None => "•••".into(),
            },
        }
    }
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
    fn email_addresses_are_lower_cased_and_checked() {
        assert_eq!(Destination::email(" Sarah@Smith.Example ").unwrap().address(), "sarah@smith.example");
        for bad in
            ["", "sarah", "@smith.example", "sarah@", "sarah@example", "sa rah@x.com", "a@b@c.com", "a@.com"]
        {
            assert_eq!(Destination::email(bad), Err(DestinationError::InvalidEmail), "{bad}");
        }
    }

    #[test]
    fn masked_forms_hide_most_of_the_address() {
        assert_eq!(Destination::sms("+61412345678").unwrap().masked(), "•••••••••678");
        assert_eq!(Destination::email("sarah@smith.example").unwrap().masked(), "s•••@smith.example");
        assert!(!format!("{:?}", Destination::sms("+61412345678").unwrap()).contains("412345"));
    }
}
