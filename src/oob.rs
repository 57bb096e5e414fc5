//! Out-of-band codes: a one-time code sent by SMS or e-mail through the host (R17, R18).
//!
//! The host implements [`CodeSender`]. The library issues a random numeric code, keeps
//! only a keyed hash of it bound to its purpose and destination, with an expiry (10
//! minutes), keeps only the latest code valid, limits attempts per code (5) and sends
//! (one a minute, 5 an hour), and accepts it once. A destination counts as a method
//! only once confirmed with such a code, and a backup destination must differ from the
//! primary one (phone numbers compared after normalising their formatting).

use std::fmt;
use std::future::Future;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::SecretError;
use crate::audit::{EventKind, Method, RejectionReason};
use crate::keyed_hash::{Digest, HashKey};
use crate::policy::LockoutRule;
use crate::proof::{self, CodeOutcome};
use crate::record::{UserId, UserRecord};
use crate::{Code, Digits};

const PURPOSE: &str = "mfa-kit out-of-band code v1";

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

/// A registered destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredDestination {
    pub(crate) destination: Destination,
    pub(crate) role: Role,
    pub(crate) added_at: u64,
    pub(crate) confirmed_at: Option<u64>,
}

impl RegisteredDestination {
    /// The destination.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }
    /// Primary or backup.
    pub fn role(&self) -> Role {
        self.role
    }
    /// When it was confirmed; unconfirmed destinations are not a method yet.
    pub fn confirmed_at(&self) -> Option<u64> {
        self.confirmed_at
    }
}

/// The one code currently valid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub(crate) purpose: Purpose,
    pub(crate) role: Role,
    pub(crate) hash: Digest,
    pub(crate) expires_at: u64,
    pub(crate) attempts: u32,
}

/// A user's out-of-band state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OobState {
    pub(crate) destinations: Vec<RegisteredDestination>,
    pub(crate) challenge: Option<Challenge>,
    /// When codes were sent within the last hour, for the resend limits.
    pub(crate) sent_at: Vec<u64>,
}

impl OobState {
    /// The registered destinations, confirmed or not.
    pub fn destinations(&self) -> &[RegisteredDestination] {
        &self.destinations
    }

    /// The confirmed destination of a role.
    pub fn confirmed(&self, role: Role) -> Option<&RegisteredDestination> {
        self.find(role, true)
    }

    /// The destination of a role that is (or is not yet) confirmed.
    pub(crate) fn find(&self, role: Role, confirmed: bool) -> Option<&RegisteredDestination> {
        self.destinations.iter().find(|d| d.role == role && d.confirmed_at.is_some() == confirmed)
    }

    /// The methods the confirmed destinations provide.
    pub fn methods(&self) -> impl Iterator<Item = Method> + '_ {
        self.destinations.iter().filter(|d| d.confirmed_at.is_some()).map(|d| d.destination.method())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.destinations.is_empty() && self.challenge.is_none()
    }
}

/// Limits on out-of-band codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OobLimits {
    /// How long a code is valid, in seconds (10 minutes, seed 004).
    pub lifetime: u64,
    /// Wrong tries before a code is discarded.
    pub max_attempts: u32,
    /// Seconds between two sends.
    pub min_interval: u64,
    /// Sends within an hour.
    pub max_per_hour: usize,
    /// Digits in a code.
    pub digits: Digits,
}

impl OobLimits {
    /// 10 minutes, 5 tries, one send a minute and 5 an hour, 6 digits.
    pub const DEFAULT: OobLimits =
        OobLimits { lifetime: 600, max_attempts: 5, min_interval: 60, max_per_hour: 5, digits: Digits::SIX };
}

impl Default for OobLimits {
    fn default() -> Self {
        OobLimits::DEFAULT
    }
}

/// What the sender delivers: the code and what it is for. `Debug` hides the code.
pub struct OobMessage {
    code: Zeroizing<String>,
    purpose: Purpose,
    expires_at: u64,
}

impl OobMessage {
    /// The code to put in the SMS or e-mail.
    pub fn code(&self) -> &str {
        &self.code
    }
    /// What the code is for, so the message can say so.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }
    /// When the code stops working.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

impl fmt::Debug for OobMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OobMessage")
            .field("purpose", &self.purpose)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Delivers codes by SMS or e-mail; implemented by the host over its provider.
///
/// # Contract
/// `Ok` means the provider accepted the message. An `Err` makes the service change
/// nothing: no code becomes valid and no send is counted.
pub trait CodeSender: Send + Sync {
    /// The provider's error, reported inside [`crate::Error::Sender`].
    type Error: std::error::Error + Send + Sync + 'static;

    /// Sends `message` to `to`.
    fn send(
        &self,
        to: &Destination,
        message: &OobMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// The outcome of asking for a code to be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendOutcome {
    /// Sent; the code works until `expires_at`.
    Sent {
        /// The destination, masked, for the screen ("we sent a code to •••678").
        to: String,
        /// When the code expires.
        expires_at: u64,
    },
    /// Too many sends: try again at `retry_at`.
    RateLimited {
        /// When a send will be allowed.
        retry_at: u64,
    },
    /// The policy refuses this sign-in (for example the address is not allowed);
    /// nothing was sent.
    Refused(crate::policy::Reason),
}

/// A code ready to send, and the state to save once it is sent.
pub(crate) struct Prepared {
    pub(crate) destination: Destination,
    pub(crate) message: OobMessage,
    pub(crate) challenge: Challenge,
}

/// Checks the resend limits; the time a send is next allowed if not now.
pub(crate) fn rate_limit(state: &mut OobState, now: u64, limits: &OobLimits) -> Option<u64> {
    state.sent_at.retain(|sent| now < sent.saturating_add(3600));
    if let Some(last) =
        state.sent_at.iter().max().filter(|last| now < last.saturating_add(limits.min_interval))
    {
        return Some(last.saturating_add(limits.min_interval));
    }
    if state.sent_at.len() >= limits.max_per_hour {
        return state.sent_at.iter().min().map(|oldest| oldest.saturating_add(3600));
    }
    None
}

/// Issues a fresh code for `destination`.
pub(crate) fn prepare(
    key: &HashKey,
    user: &UserId,
    destination: &Destination,
    role: Role,
    purpose: Purpose,
    now: u64,
    limits: &OobLimits,
) -> Result<Prepared, SecretError> {
    let value = crate::random::below_u32(limits.digits.modulus())?;
    let code = Zeroizing::new(Code::new(value, limits.digits).to_string());
    let hash = hash(key, user, purpose, destination, &code);
    let expires_at = now.saturating_add(limits.lifetime);
    Ok(Prepared {
        destination: destination.clone(),
        message: OobMessage { code, purpose, expires_at },
        challenge: Challenge { purpose, role, hash, expires_at, attempts: 0 },
    })
}

/// Makes a sent code the one valid code, and counts the send.
pub(crate) fn record_sent(state: &mut OobState, challenge: Challenge, now: u64) {
    state.challenge = Some(challenge);
    state.sent_at.push(now);
}

fn hash(key: &HashKey, user: &UserId, purpose: Purpose, destination: &Destination, code: &str) -> Digest {
    let purpose = match purpose {
        Purpose::SignIn => b"sign-in".as_slice(),
        Purpose::ConfirmDestination => b"confirm".as_slice(),
    };
    let kind = match destination {
        Destination::Sms(_) => b"sms".as_slice(),
        Destination::Email(_) => b"email".as_slice(),
    };
    key.hash(PURPOSE, user, &[purpose, kind, destination.address().as_bytes(), code.as_bytes()])
}

#[allow(clippy::too_many_arguments)] // A pure transition: everything it depends on is an argument.
/// Checks a typed out-of-band code for `purpose`; on success the code is spent and,
/// when confirming, the destination becomes a method (replacing an older one of its
/// role). Wrong codes count towards the code's attempt limit and the user's lockout.
pub(crate) fn redeem(
    record: &mut UserRecord,
    key: &HashKey,
    input: &str,
    purpose: Purpose,
    now: u64,
    limits: &OobLimits,
    lockout: LockoutRule,
    events: &mut Vec<EventKind>,
) -> CodeOutcome {
    let pending = record.oob.challenge.as_ref().filter(|c| c.purpose == purpose);
    let Some((role, expires_at)) = pending.map(|c| (c.role, c.expires_at)) else {
        return CodeOutcome::Rejected { reason: RejectionReason::NoCodePending, attempts_left: 0 };
    };
    let Some(destination) = record.oob.find(role, purpose == Purpose::SignIn).map(|d| d.destination.clone())
    else {
        record.oob.challenge = None;
        return CodeOutcome::Rejected { reason: RejectionReason::NoCodePending, attempts_left: 0 };
    };
    let method = destination.method();
    if let Some(refused) = proof::refuse_if_locked(&mut record.failures, method, now, events) {
        return refused;
    }
    if now >= expires_at {
        record.oob.challenge = None;
        events.push(EventKind::CodeRejected {
            method,
            reason: RejectionReason::Expired,
            consecutive_failures: record.failures.consecutive,
        });
        return CodeOutcome::Rejected { reason: RejectionReason::Expired, attempts_left: 0 };
    }
    let code = match Code::parse(input, limits.digits) {
        Ok(code) => Zeroizing::new(code.to_string()),
        Err(error) => return proof::malformed(&record.failures, method, error, events),
    };
    let typed = hash(key, &record.user, purpose, &destination, &code);
    let Some(challenge) = record.oob.challenge.as_mut() else {
        return CodeOutcome::Rejected { reason: RejectionReason::NoCodePending, attempts_left: 0 };
    };
    if !challenge.hash.matches(&typed) {
        challenge.attempts = challenge.attempts.saturating_add(1);
        if challenge.attempts >= limits.max_attempts {
            record.oob.challenge = None;
            events.push(EventKind::BackupCodeDiscarded { method });
        }
        return proof::count_failure(
            &mut record.failures,
            method,
            RejectionReason::Wrong,
            now,
            lockout,
            events,
        );
    }
    record.oob.challenge = None;
    if purpose == Purpose::SignIn {
        return proof::succeed(&mut record.failures, &mut record.last_proof, method, now, None, events);
    }
    record.failures.consecutive = 0;
    record.oob.destinations.retain(|d| d.role != role || d.confirmed_at.is_none());
    if let Some(confirmed) = record.oob.destinations.iter_mut().find(|d| d.role == role) {
        confirmed.confirmed_at = Some(now);
    }
    events.push(EventKind::BackupDestinationConfirmed { method, role, to: destination.masked() });
    CodeOutcome::Accepted { method, drift: None }
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

    #[test]
    fn resends_are_limited_to_one_a_minute_and_five_an_hour() {
        let mut state = OobState::default();
        let limits = OobLimits::DEFAULT;
        let mut now = 10_000;
        for _ in 0..5 {
            assert_eq!(rate_limit(&mut state, now, &limits), None);
            state.sent_at.push(now);
            assert_eq!(rate_limit(&mut state, now + 59, &limits), Some(now + 60));
            now += 60;
        }
        assert_eq!(rate_limit(&mut state, now, &limits), Some(10_000 + 3600));
        assert_eq!(rate_limit(&mut state, 10_000 + 3600, &limits), None);
    }
}
