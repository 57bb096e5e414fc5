//! otpauth:// Key URIs: what the QR code on an enrollment screen holds.
//!
//! The format is the one Google Authenticator defined and Microsoft Authenticator,
//! Authy and 1Password read:
//! `otpauth://totp/Issuer:account?secret=BASE32&issuer=Issuer[&algorithm=..][&digits=..][&period=..]`.
//!
//! Building writes the shortest URI every app reads the same way (so the QR code stays
//! small): `secret` first, as unpadded upper-case base32, the `issuer` parameter always
//! when there is an issuer, and the algorithm, digits and period only when they are not
//! the defaults. Label parts are percent-encoded with `%20` for spaces, never `+`.
//!
//! Parsing accepts what real apps and libraries write and refuses the rest with a
//! specific [`UriError`].

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write as _};

use thiserror::Error;
use zeroize::Zeroizing;

use crate::otp::{Algorithm, Digits, Secret, TotpParams};
use crate::otp::{ParamError, SecretError};

/// The longest URI [`KeyUri::parse`] reads, in bytes.
pub const MAX_URI_LEN: usize = 4096;

/// What is wrong with a Key URI, or with the parts given to build one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UriError {
    /// The URI is longer than [`MAX_URI_LEN`].
    #[error("the URI is longer than {max} bytes")]
    TooLong {
        /// The longest URI accepted.
        max: usize,
    },
    /// The URI does not start with `otpauth://`.
    #[error("not an otpauth:// URI")]
    NotOtpauth,
    /// The type is neither `totp` nor `hotp`.
    #[error("unsupported OTP type: only totp and hotp are supported")]
    UnsupportedType,
    /// The label (`issuer:account` after the type) is missing or has no account.
    #[error("the URI has no account name in its label")]
    MissingAccount,
    /// An issuer or account to build a URI with contains a colon, which the format
    /// uses to separate them; or a parsed URI's account contains one and the label does
    /// not start with the `issuer` parameter and a colon, so where the issuer ends is
    /// ambiguous (see [`KeyUri::parse`]).
    #[error("the {part} contains a colon, which the Key URI format does not allow")]
    ColonInLabel {
        /// `issuer` or `account`.
        part: &'static str,
    },
    /// The URI has no `secret` parameter.
    #[error("the URI has no secret parameter")]
    MissingSecret,
    /// The `secret` parameter is not a usable base32 secret.
    #[error("the secret parameter is invalid: {0}")]
    InvalidSecret(SecretError),
    /// A parameter is out of range (algorithm, digits or period).
    #[error(transparent)]
    Param(ParamError),
    /// A numeric parameter is not a number.
    #[error("the {parameter} parameter is not a whole number")]
    NotANumber {
        /// The parameter's name.
        parameter: &'static str,
    },
    /// An `hotp` URI has no `counter` parameter.
    #[error("an hotp URI needs a counter parameter")]
    MissingCounter,
    /// A parameter appears twice.
    #[error("the {parameter} parameter appears more than once")]
    DuplicateParameter {
        /// The parameter's name.
        parameter: &'static str,
    },
    /// A query part has no `=`.
    #[error("a query parameter has no value (expected name=value)")]
    MalformedParameter,
    /// A `%` is not followed by two hex digits, or the decoded bytes are not UTF-8.
    #[error("broken percent-encoding: % must be followed by two hex digits forming UTF-8")]
    InvalidPercentEncoding,
    /// The issuer in the label differs from the `issuer` parameter.
    #[error("the issuer in the label differs from the issuer parameter")]
    IssuerMismatch,
    /// The URI is too long for a QR code: shorten the issuer or the account name.
    #[error("the URI is too long for a QR code: shorten the issuer or the account name")]
    TooLongForQr,
    /// The parameters count time steps from an epoch T0 other than 0, which the Key
    /// URI format cannot carry: an app reading it would count from 0 and never match.
    #[error("a Key URI cannot carry an epoch T0 other than 0: apps count from the Unix epoch, so use T0 = 0")]
    EpochNotZero,
}

impl From<ParamError> for UriError {
    fn from(error: ParamError) -> Self {
        UriError::Param(error)
    }
}

/// Time-based or counter-based, with the parameter that only that kind has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(
    clippy::exhaustive_enums,
    reason = "fixed by the standard it names: a new variant would be a new standard"
)]
pub enum OtpKind {
    /// TOTP, with its time step in seconds.
    Totp {
        /// The time step in seconds (at least 1).
        period: u64,
    },
    /// HOTP, with the counter of the next code.
    Hotp {
        /// The counter the app starts from.
        counter: u64,
    },
}

/// A parsed or to-be-built otpauth:// Key URI.
///
/// ```
/// use mfa_kit::otp::{Secret, TotpParams};
/// use mfa_kit::otp::uri::KeyUri;
///
/// let secret = Secret::from_base32("JBSWY3DPEHPK3PXP")?;
/// let uri = KeyUri::totp("Acme Payroll", "alice@example.com", secret, TotpParams::DEFAULT)?;
/// assert_eq!(
///     *uri.to_uri(),
///     "otpauth://totp/Acme%20Payroll:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Payroll"
/// );
/// let parsed = KeyUri::parse(&uri.to_uri())?;
/// assert_eq!(parsed.issuer(), Some("Acme Payroll"));
/// assert_eq!(parsed.totp_params(), Some(TotpParams::DEFAULT));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct KeyUri {
    kind: OtpKind,
    issuer: Option<String>,
    account: String,
    secret: Secret,
    algorithm: Algorithm,
    digits: Digits,
}

impl KeyUri {
    /// A TOTP Key URI. An empty `issuer` means none (apps then show only the account).
    ///
    /// # Errors
    /// [`UriError::ColonInLabel`] if the issuer or account contains a colon;
    /// [`UriError::MissingAccount`] if the account is empty; [`UriError::TooLong`] if
    /// the URI would be longer than [`MAX_URI_LEN`] (what [`KeyUri::parse`] reads, and
    /// far more than a QR code holds), with room left for any algorithm and digits;
    /// [`UriError::EpochNotZero`] if `params` count from an epoch T0 other than 0,
    /// which the format cannot carry.
    pub fn totp(issuer: &str, account: &str, secret: Secret, params: TotpParams) -> Result<KeyUri, UriError> {
        if params.t0() != 0 {
            return Err(UriError::EpochNotZero);
        }
        let (issuer, account) = checked_label(issuer, account)?;
        KeyUri {
            kind: OtpKind::Totp { period: params.period() },
            issuer,
            account,
            secret,
            algorithm: params.algorithm(),
            digits: params.digits(),
        }
        .within_limit()
    }

    /// `self` if its URI, with the longest algorithm and digits parameters, is within
    /// [`MAX_URI_LEN`].
    fn within_limit(self) -> Result<KeyUri, UriError> {
        /// `&algorithm=SHA512` and `&digits=8`, which a default URI leaves out.
        const LONGEST_OPTIONS: usize = 26;
        let (head, tail) = self.around_secret();
        let secret = (self.secret.len() * 8).div_ceil(5);
        if head.len() + secret + tail.len() + LONGEST_OPTIONS > MAX_URI_LEN {
            return Err(UriError::TooLong { max: MAX_URI_LEN });
        }
        Ok(self)
    }

    /// An HOTP Key URI with SHA-1 and 6 digits; change them with
    /// [`KeyUri::with_algorithm`] and [`KeyUri::with_digits`].
    ///
    /// # Errors
    /// As [`KeyUri::totp`].
    pub fn hotp(issuer: &str, account: &str, secret: Secret, counter: u64) -> Result<KeyUri, UriError> {
        let (issuer, account) = checked_label(issuer, account)?;
        KeyUri {
            kind: OtpKind::Hotp { counter },
            issuer,
            account,
            secret,
            algorithm: Algorithm::Sha1,
            digits: Digits::SIX,
        }
        .within_limit()
    }

    /// The same URI with another hash function.
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> KeyUri {
        self.algorithm = algorithm;
        self
    }

    /// The same URI with another code length.
    #[must_use]
    pub fn with_digits(mut self, digits: Digits) -> KeyUri {
        self.digits = digits;
        self
    }

    /// TOTP or HOTP, with the period or the counter.
    pub fn kind(&self) -> OtpKind {
        self.kind
    }

    /// The issuer (the service's name), if any.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The account name (usually the user's e-mail address).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The shared secret.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The hash function.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The code length.
    pub fn digits(&self) -> Digits {
        self.digits
    }

    /// The TOTP parameters (with T0 = 0, which the format cannot express), or `None`
    /// for an HOTP URI.
    pub fn totp_params(&self) -> Option<TotpParams> {
        match self.kind {
            OtpKind::Totp { period } => Some(
                TotpParams::DEFAULT
                    .with_algorithm(self.algorithm)
                    .with_digits(u64::from(self.digits.get()))
                    .and_then(|p| p.with_period(period))
                    .ok()?,
            ),
            OtpKind::Hotp { .. } => None,
        }
    }

    /// The URI text. It holds the secret, so it is wiped from memory when dropped:
    /// hand it to the QR renderer and nowhere else.
    pub fn to_uri(&self) -> Zeroizing<String> {
        // What comes before and after the secret is written first, so the buffer that
        // takes the secret is made at its final size: one that grew would leave a copy
        // of the secret in memory freed without being wiped.
        let (head, tail) = self.around_secret();
        let secret = self.secret.to_base32();
        let mut out = Zeroizing::new(String::with_capacity(head.len() + secret.len() + tail.len()));
        out.push_str(&head);
        out.push_str(&secret);
        out.push_str(&tail);
        out
    }

    /// The URI's text before its secret and after it (neither holds it).
    fn around_secret(&self) -> (String, String) {
        let (mut head, mut tail) = (String::new(), String::new());
        // Writing to a String never fails, so the fmt::Results below are always Ok.
        let _ = self.write_head(&mut head);
        let _ = self.write_tail(&mut tail);
        (head, tail)
    }

    /// The URI up to its secret: `otpauth://totp/Issuer:account?secret=`.
    fn write_head(&self, out: &mut String) -> fmt::Result {
        let kind = match self.kind {
            OtpKind::Totp { .. } => "totp",
            OtpKind::Hotp { .. } => "hotp",
        };
        write!(out, "otpauth://{kind}/")?;
        if let Some(issuer) = &self.issuer {
            percent_encode(issuer, out);
            out.push(':');
        }
        percent_encode(&self.account, out);
        out.push_str("?secret=");
        Ok(())
    }

    /// The URI's parameters after its secret.
    fn write_tail(&self, out: &mut String) -> fmt::Result {
        if let Some(issuer) = &self.issuer {
            out.push_str("&issuer=");
            percent_encode(issuer, out);
        }
        if self.algorithm != Algorithm::Sha1 {
            write!(out, "&algorithm={}", self.algorithm.uri_name())?;
        }
        if self.digits != Digits::SIX {
            write!(out, "&digits={}", self.digits.get())?;
        }
        match self.kind {
            OtpKind::Totp { period } if period != TotpParams::DEFAULT.period() => {
                write!(out, "&period={period}")
            }
            OtpKind::Totp { .. } => Ok(()),
            OtpKind::Hotp { counter } => write!(out, "&counter={counter}"),
        }
    }

    /// Reads a Key URI as apps and libraries write it.
    ///
    /// Accepted: the scheme and type in any case; `issuer:account` with a plain colon,
    /// or with `%3A` where there is no plain one, and spaces after it; parameters in
    /// any order, algorithm names in any case, padding and lower case in the secret;
    /// parameters this crate does not use (such as `image`) are ignored. An empty
    /// `issuer` parameter names none (the label's issuer, if any, is taken). A `+` in
    /// the `issuer` parameter is itself (RFC 3986), except where the label's issuer is
    /// the parameter with spaces for its `+`s: form-encoding writers such as Java's
    /// `URIBuilder` write `otpauth://totp/ACME%20Co:john?…&issuer=ACME+Co`, which reads
    /// as issuer `ACME Co`, as the apps read it.
    ///
    /// # Colons in the account
    ///
    /// An account may contain a colon only when the label says unambiguously where the
    /// issuer ends: the label (percent-decoded) starts with the `issuer` parameter and a
    /// colon, and the rest is the account. pyotp writes the account `alice:smith` of
    /// the issuer `ACME Co` as
    /// `otpauth://totp/ACME%20Co:alice%3Asmith?secret=..&issuer=ACME%20Co`, which reads
    /// as issuer `ACME Co` and account `alice:smith`. Without an `issuer` parameter, or
    /// when the label does not start with it, a colon in what would be the account is
    /// refused with [`UriError::ColonInLabel`]: `otpauth://totp/x:y:z` could be issuer
    /// `x` and account `y:z` or issuer `x:y` and account `z`. A label with no plain
    /// colon and no `issuer` parameter, such as `alice%3Asmith`, reads as issuer
    /// `alice` and account `smith`, as the Key URI format defines and Google
    /// Authenticator shows it. Building ([`KeyUri::totp`], [`KeyUri::hotp`]) still
    /// refuses a colon in the account or the issuer; a parsed account with a colon is
    /// written back as `%3A` after the issuer, with the `issuer` parameter, so it reads
    /// back the same.
    ///
    /// # Errors
    /// A specific [`UriError`] for each way the URI can be wrong.
    pub fn parse(uri: &str) -> Result<KeyUri, UriError> {
        if uri.len() > MAX_URI_LEN {
            return Err(UriError::TooLong { max: MAX_URI_LEN });
        }
        const SCHEME: &str = "otpauth://";
        let rest = match uri.get(..SCHEME.len()) {
            Some(scheme) if scheme.eq_ignore_ascii_case(SCHEME) => &uri[SCHEME.len()..],
            _ => return Err(UriError::NotOtpauth),
        };
        let (kind, rest) = rest.split_once('/').unwrap_or((rest, ""));
        let kind_name = kind.split('?').next().unwrap_or_default();
        let is_totp = if kind_name.eq_ignore_ascii_case("totp") {
            true
        } else if kind_name.eq_ignore_ascii_case("hotp") {
            false
        } else {
            return Err(UriError::UnsupportedType);
        };
        let (label, query) = rest.split_once('?').unwrap_or((rest, ""));
        let params = Query::parse(query)?;
        // An empty `issuer` parameter names none.
        let param = params.issuer.filter(|issuer| !issuer.is_empty());
        let (label_issuer, account, param) = read_label(label, param)?;

        let issuer = match (label_issuer, param) {
            (Some(from_label), Some(from_param)) if from_label != from_param => {
                return Err(UriError::IssuerMismatch);
            }
            (from_label, from_param) => from_param.or(from_label).filter(|i| !i.is_empty()),
        };
        let secret_text = params.secret.ok_or(UriError::MissingSecret)?;
        let secret = Secret::from_base32(&secret_text).map_err(UriError::InvalidSecret)?;
        let algorithm = match params.algorithm {
            Some(name) => name.parse::<Algorithm>()?,
            None => Algorithm::Sha1,
        };
        let digits = match params.digits {
            Some(text) => Digits::new(parse_number(&text, "digits")?)?,
            None => Digits::SIX,
        };
        let kind = if is_totp {
            let period = match params.period {
                Some(text) => TotpParams::DEFAULT.with_period(parse_number(&text, "period")?)?.period(),
                None => TotpParams::DEFAULT.period(),
            };
            OtpKind::Totp { period }
        } else {
            let text = params.counter.ok_or(UriError::MissingCounter)?;
            OtpKind::Hotp { counter: parse_number(&text, "counter")? }
        };
        let key = KeyUri { kind, issuer, account, secret, algorithm, digits };
        // What was accepted must also be written back within the limit (a label of
        // characters that are encoded longer could otherwise outgrow it).
        if key.to_uri().len() > MAX_URI_LEN {
            return Err(UriError::TooLong { max: MAX_URI_LEN });
        }
        Ok(key)
    }
}

impl fmt::Debug for KeyUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyUri")
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("account", &self.account)
            .field("secret", &self.secret)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits.get())
            .finish()
    }
}

fn checked_label(issuer: &str, account: &str) -> Result<(Option<String>, String), UriError> {
    if issuer.contains(':') {
        return Err(UriError::ColonInLabel { part: "issuer" });
    }
    if account.contains(':') {
        return Err(UriError::ColonInLabel { part: "account" });
    }
    // Blank is no account: a reader drops the spaces after the label's colon.
    if account.trim_start_matches(' ').is_empty() {
        return Err(UriError::MissingAccount);
    }
    Ok(((!issuer.is_empty()).then(|| issuer.into()), account.into()))
}

/// The label's issuer and account, with the `issuer` parameter as it is read. A `+` in
/// the parameter is itself to RFC 3986 but a space to form-encoding writers (Java's
/// `URIBuilder` writes `issuer=ACME+Co` beside the label `ACME%20Co:john`) and to the
/// apps that read them: where the label's issuer is the parameter's with spaces for
/// its `+`s, that reading is taken. Otherwise the parameter is taken as it is.
fn read_label(
    raw: &str,
    param: Option<String>,
) -> Result<(Option<String>, String, Option<String>), UriError> {
    let (label_issuer, account) = parse_label(raw, param.as_deref())?;
    if let Some(param) = param.as_deref()
        && param.contains('+')
        && label_issuer.as_deref() != Some(param)
    {
        let spaced = param.replace('+', " ");
        let (spaced_issuer, spaced_account) = parse_label(raw, Some(&spaced))?;
        if spaced_issuer.as_deref() == Some(spaced.as_str()) {
            return Ok((spaced_issuer, spaced_account, Some(spaced)));
        }
    }
    Ok((label_issuer, account, param))
}

/// Splits `issuer:account`. When the `issuer` parameter is given and the decoded label
/// starts with it and a colon, the issuer is that and the rest is the account, which may
/// then contain colons (pyotp's `Issuer:alice%3Asmith`). Otherwise the label splits at
/// a plain colon, or at an encoded one if there is none, and the account may not
/// contain a colon.
fn parse_label(raw: &str, issuer_param: Option<&str>) -> Result<(Option<String>, String), UriError> {
    if let Some(issuer) = issuer_param.filter(|issuer| !issuer.is_empty()) {
        let decoded = percent_decode(raw)?;
        if let Some(account) = decoded.strip_prefix(issuer).and_then(|rest| rest.strip_prefix(':')) {
            let account = account.trim_start_matches(' ');
            if account.is_empty() {
                return Err(UriError::MissingAccount);
            }
            return Ok((Some(issuer.into()), account.into()));
        }
    }
    let (issuer, account) = match raw.split_once(':') {
        Some((issuer, account)) => (Some(percent_decode(issuer)?), percent_decode(account)?),
        None => {
            let decoded = percent_decode(raw)?;
            match decoded.split_once(':') {
                Some((issuer, account)) => (Some(issuer.into()), account.into()),
                None => (None, decoded),
            }
        }
    };
    let account = account.trim_start_matches(' ');
    if account.is_empty() {
        return Err(UriError::MissingAccount);
    }
    // Without an issuer prefix to anchor it, an account with a colon is ambiguous
    // (`x:y:z`), and could not be written back to read the same.
    if account.contains(':') {
        return Err(UriError::ColonInLabel { part: "account" });
    }
    Ok((issuer, account.into()))
}

/// The parameters this crate reads, each at most once, percent-decoded.
#[derive(Default)]
struct Query {
    secret: Option<Zeroizing<String>>,
    issuer: Option<String>,
    algorithm: Option<String>,
    digits: Option<String>,
    period: Option<String>,
    counter: Option<String>,
}

impl Query {
    fn parse(query: &str) -> Result<Query, UriError> {
        let mut found = Query::default();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').ok_or(UriError::MalformedParameter)?;
            let (parameter, slot) = match name.to_ascii_lowercase().as_str() {
                "secret" => {
                    let decoded = Zeroizing::new(percent_decode(value)?);
                    if found.secret.replace(decoded).is_some() {
                        return Err(UriError::DuplicateParameter { parameter: "secret" });
                    }
                    continue;
                }
                "issuer" => ("issuer", &mut found.issuer),
                "algorithm" => ("algorithm", &mut found.algorithm),
                "digits" => ("digits", &mut found.digits),
                "period" => ("period", &mut found.period),
                "counter" => ("counter", &mut found.counter),
                _ => continue,
            };
            if slot.replace(percent_decode(value)?).is_some() {
                return Err(UriError::DuplicateParameter { parameter });
            }
        }
        Ok(found)
    }
}

fn parse_number(text: &str, parameter: &'static str) -> Result<u64, UriError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UriError::NotANumber { parameter });
    }
    text.parse().map_err(|_| UriError::NotANumber { parameter })
}

/// Writes `text` with every byte outside RFC 3986's unreserved set as `%XX`.
fn percent_encode(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

fn percent_decode(text: &str) -> Result<String, UriError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let high = bytes.get(i + 1).and_then(|b| char::from(*b).to_digit(16));
            let low = bytes.get(i + 2).and_then(|b| char::from(*b).to_digit(16));
            let (Some(high), Some(low)) = (high, low) else {
                return Err(UriError::InvalidPercentEncoding);
            };
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UriError::InvalidPercentEncoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use proptest::prelude::*;

    const SECRET: &str = "JBSWY3DPEHPK3PXP";

    fn secret() -> Secret {
        Secret::from_base32(SECRET).unwrap()
    }

    #[test]
    fn builds_the_shortest_uri_for_defaults() {
        let uri = KeyUri::totp("ACME Co", "john.doe@email.com", secret(), TotpParams::DEFAULT).unwrap();
        assert_eq!(
            *uri.to_uri(),
            "otpauth://totp/ACME%20Co:john.doe%40email.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co"
        );
    }

    #[test]
    fn writes_only_parameters_that_differ_from_the_defaults() {
        let params = TotpParams::DEFAULT
            .with_algorithm(Algorithm::Sha512)
            .with_digits(8)
            .unwrap()
            .with_period(60)
            .unwrap();
        let uri = KeyUri::totp("", "alice", secret(), params).unwrap();
        assert_eq!(
            *uri.to_uri(),
            "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&algorithm=SHA512&digits=8&period=60"
        );
        let hotp = KeyUri::hotp("X", "bob", secret(), 7).unwrap().with_digits(Digits::SEVEN);
        assert_eq!(
            *hotp.to_uri(),
            "otpauth://hotp/X:bob?secret=JBSWY3DPEHPK3PXP&issuer=X&digits=7&counter=7"
        );
    }

    #[test]
    fn spaces_are_percent_20_never_plus() {
        let uri = KeyUri::totp("Big Co", "a b+c", secret(), TotpParams::DEFAULT).unwrap();
        let text = uri.to_uri();
        assert!(text.contains("Big%20Co:a%20b%2Bc"), "{}", text.as_str());
        assert!(!text.contains('+'));
    }

    #[test]
    fn colons_in_the_label_are_refused_when_building() {
        let err = KeyUri::totp("A:B", "alice", secret(), TotpParams::DEFAULT).unwrap_err();
        assert_eq!(err, UriError::ColonInLabel { part: "issuer" });
        let err = KeyUri::totp("A", "ali:ce", secret(), TotpParams::DEFAULT).unwrap_err();
        assert_eq!(err, UriError::ColonInLabel { part: "account" });
        assert_eq!(
            KeyUri::totp("A", "", secret(), TotpParams::DEFAULT).unwrap_err(),
            UriError::MissingAccount
        );
    }

    #[test]
    fn parses_what_real_apps_write() {
        let cases = [
            "otpauth://totp/ACME%20Co:john@example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co",
            "otpauth://totp/ACME%20Co%3Ajohn%40example.com?issuer=ACME%20Co&secret=jbswy3dpehpk3pxp",
            "otpauth://totp/ACME%20Co:%20john@example.com?secret=JBSWY3DPEHPK3PXP",
            "OTPAUTH://TOTP/ACME%20Co: john@example.com?secret=JBSWY3DPEHPK3PXP===&algorithm=sha1",
            "otpauth://totp/john@example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&image=https%3A%2F%2Fx",
        ];
        for text in cases {
            let uri = KeyUri::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(uri.issuer(), Some("ACME Co"), "{text}");
            assert_eq!(uri.account(), "john@example.com", "{text}");
            assert_eq!(uri.secret(), &secret(), "{text}");
            assert_eq!(uri.totp_params(), Some(TotpParams::DEFAULT), "{text}");
        }
    }

    #[test]
    fn parses_every_parameter() {
        let uri =
            KeyUri::parse("otpauth://totp/A:b?period=45&digits=8&algorithm=Sha256&secret=JBSWY3DPEHPK3PXP")
                .unwrap();
        assert_eq!(uri.kind(), OtpKind::Totp { period: 45 });
        assert_eq!(uri.algorithm(), Algorithm::Sha256);
        assert_eq!(uri.digits(), Digits::EIGHT);
        let hotp = KeyUri::parse("otpauth://hotp/A:b?secret=JBSWY3DPEHPK3PXP&counter=42").unwrap();
        assert_eq!(hotp.kind(), OtpKind::Hotp { counter: 42 });
        assert_eq!(hotp.totp_params(), None);
    }

    #[test]
    fn refuses_each_bad_input_with_its_own_error() {
        let long = format!("otpauth://totp/a?secret={}", "A".repeat(MAX_URI_LEN));
        let cases: &[(&str, UriError)] = &[
            (&long, UriError::TooLong { max: MAX_URI_LEN }),
            ("otpauth://totp/::?secret=AAAA", UriError::ColonInLabel { part: "account" }),
            ("https://totp/a?secret=JBSWY3DP", UriError::NotOtpauth),
            ("otpauth:/totp/a?secret=JBSWY3DP", UriError::NotOtpauth),
            ("otpauth://motp/a?secret=JBSWY3DP", UriError::UnsupportedType),
            ("otpauth://totp?secret=JBSWY3DP", UriError::MissingAccount),
            ("otpauth://totp/Issuer:?secret=JBSWY3DP", UriError::MissingAccount),
            ("otpauth://totp/a?issuer=x", UriError::MissingSecret),
            ("otpauth://totp/a?secret=", UriError::InvalidSecret(SecretError::Empty)),
            ("otpauth://totp/a?secret=JBSW1", UriError::InvalidSecret(SecretError::InvalidBase32)),
            (
                "otpauth://totp/a?secret=JBSWY3DP&digits=9",
                UriError::Param(ParamError::DigitsOutOfRange { digits: 9 }),
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DP&digits=5",
                UriError::Param(ParamError::DigitsOutOfRange { digits: 5 }),
            ),
            ("otpauth://totp/a?secret=JBSWY3DP&digits=six", UriError::NotANumber { parameter: "digits" }),
            ("otpauth://totp/a?secret=JBSWY3DP&period=0", UriError::Param(ParamError::PeriodZero)),
            ("otpauth://totp/a?secret=JBSWY3DP&period=-30", UriError::NotANumber { parameter: "period" }),
            (
                "otpauth://totp/a?secret=JBSWY3DP&period=99999999999999999999",
                UriError::NotANumber { parameter: "period" },
            ),
            ("otpauth://totp/a?secret=JBSWY3DP&algorithm=MD5", UriError::Param(ParamError::UnknownAlgorithm)),
            ("otpauth://hotp/a?secret=JBSWY3DP", UriError::MissingCounter),
            ("otpauth://hotp/a?secret=JBSWY3DP&counter=x", UriError::NotANumber { parameter: "counter" }),
            (
                "otpauth://totp/a?secret=JBSWY3DP&secret=JBSWY3DP",
                UriError::DuplicateParameter { parameter: "secret" },
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DP&digits=6&digits=6",
                UriError::DuplicateParameter { parameter: "digits" },
            ),
            ("otpauth://totp/a?secret=JBSWY3DP&issuer", UriError::MalformedParameter),
            ("otpauth://totp/a%2?secret=JBSWY3DP", UriError::InvalidPercentEncoding),
            ("otpauth://totp/a%ZZ?secret=JBSWY3DP", UriError::InvalidPercentEncoding),
            ("otpauth://totp/a%FF?secret=JBSWY3DP", UriError::InvalidPercentEncoding),
            ("otpauth://totp/a?secret=JBSWY3DP&issuer=%", UriError::InvalidPercentEncoding),
            ("otpauth://totp/Evil:a?secret=JBSWY3DP&issuer=Bank", UriError::IssuerMismatch),
            // Found by the uri_parse fuzz target: read as account "x:y" with no issuer,
            // this wrote back as `x%3Ay`, which reads as issuer "x" and account "y".
            ("otpauth://totp/:x:y?secret=JBSWY3DP", UriError::ColonInLabel { part: "account" }),
            ("otpauth://totp/%3Ax%3Ay?secret=JBSWY3DP", UriError::ColonInLabel { part: "account" }),
        ];
        for (text, expected) in cases {
            assert_eq!(KeyUri::parse(text).as_ref().err(), Some(expected), "{text}");
        }
    }

    /// What pyotp 2.9's `build_uri` writes (`quote(issuer) + ":" + quote(name)`, then
    /// `urlencode` with `+` turned into `%20`) for accounts whose name has a colon.
    #[test]
    fn reads_an_account_with_an_encoded_colon_as_pyotp_writes_it() {
        let cases: &[(&str, &str, &str, OtpKind)] = &[
            (
                "otpauth://totp/ACME%20Co:alice%3Asmith?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co",
                "ACME Co",
                "alice:smith",
                OtpKind::Totp { period: 30 },
            ),
            (
                "otpauth://totp/ACME%20Co:alice%3Asmith%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60",
                "ACME Co",
                "alice:smith@example.com",
                OtpKind::Totp { period: 60 },
            ),
            (
                "otpauth://hotp/ACME%20Co:alice%3Asmith?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&counter=0",
                "ACME Co",
                "alice:smith",
                OtpKind::Hotp { counter: 0 },
            ),
            // pyotp does not refuse a colon in the issuer either: `quote` encodes it in
            // the label and `urlencode` in the parameter.
            (
                "otpauth://totp/A%3AB:alice%3Asmith?secret=JBSWY3DPEHPK3PXP&issuer=A%3AB",
                "A:B",
                "alice:smith",
                OtpKind::Totp { period: 30 },
            ),
            // The same label with the colon written plain or both encoded: the issuer
            // parameter still says where the issuer ends.
            (
                "otpauth://totp/ACME%20Co%3Aalice%3Asmith?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co",
                "ACME Co",
                "alice:smith",
                OtpKind::Totp { period: 30 },
            ),
            (
                "otpauth://totp/ACME:%20alice:smith?issuer=ACME&secret=JBSWY3DPEHPK3PXP",
                "ACME",
                "alice:smith",
                OtpKind::Totp { period: 30 },
            ),
        ];
        for (text, issuer, account, kind) in cases {
            let uri = KeyUri::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((uri.issuer(), uri.account(), uri.kind()), (Some(*issuer), *account, *kind), "{text}");
            assert_eq!(uri.secret(), &secret(), "{text}");
            assert_eq!(KeyUri::parse(&uri.to_uri()).as_ref(), Ok(&uri), "{text}");
        }
    }

    #[test]
    fn an_account_with_a_colon_writes_back_exactly_as_pyotp_wrote_it() {
        let pyotp = "otpauth://totp/ACME%20Co:alice%3Asmith?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co";
        assert_eq!(*KeyUri::parse(pyotp).unwrap().to_uri(), pyotp);
    }

    #[test]
    fn a_colon_in_the_account_is_refused_when_the_label_is_ambiguous() {
        let cases: &[(&str, UriError)] = &[
            // No issuer parameter: `x:y:z` could be `x` and `y:z` or `x:y` and `z`.
            ("otpauth://totp/x:y:z?secret=JBSWY3DP", UriError::ColonInLabel { part: "account" }),
            ("otpauth://totp/ACME:alice%3Asmith?secret=JBSWY3DP", UriError::ColonInLabel { part: "account" }),
            ("otpauth://totp/:x:y?secret=JBSWY3DP&issuer=", UriError::ColonInLabel { part: "account" }),
            // An issuer parameter the label does not start with anchors nothing.
            (
                "otpauth://totp/Other:alice%3Asmith?secret=JBSWY3DP&issuer=ACME",
                UriError::ColonInLabel { part: "account" },
            ),
            ("otpauth://totp/Evil:alice?secret=JBSWY3DP&issuer=ACME", UriError::IssuerMismatch),
            ("otpauth://totp/ACME%3A?secret=JBSWY3DP&issuer=ACME", UriError::MissingAccount),
            ("otpauth://totp/ACME:%20?secret=JBSWY3DP&issuer=ACME", UriError::MissingAccount),
        ];
        for (text, expected) in cases {
            assert_eq!(KeyUri::parse(text).as_ref().err(), Some(expected), "{text}");
        }
        // With neither a plain colon nor an issuer parameter, the encoded colon is the
        // label's separator, as the Key URI format defines: pyotp's URI for an account
        // `alice:smith` without an issuer reads as issuer `alice`, account `smith`.
        let uri = KeyUri::parse("otpauth://totp/alice%3Asmith?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!((uri.issuer(), uri.account()), (Some("alice"), "smith"));
    }

    #[test]
    fn debug_and_errors_never_show_the_secret() {
        let uri = KeyUri::parse("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert!(!format!("{uri:?}").contains(SECRET));
        let error = KeyUri::parse("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PX1").unwrap_err();
        assert!(!format!("{error} {error:?}").contains("JBSWY3DP"));
    }

    /// Issuers and accounts from arbitrary Unicode, with the characters URIs treat
    /// specially over-represented. An account cannot start with a space: parsers
    /// (this one included) drop spaces after the colon, as apps write `Issuer: account`.
    fn label_text(min: usize) -> impl Strategy<Value = String> {
        let special = prop_oneof![
            Just(' '),
            Just('@'),
            Just('&'),
            Just('%'),
            Just('#'),
            Just('+'),
            Just('='),
            Just('?'),
            Just('/'),
            Just('😀'),
            Just('é'),
            Just('中')
        ];
        let any_char = any::<char>().prop_filter("no colon", |c| *c != ':');
        proptest::collection::vec(prop_oneof![special, any_char], min..12)
            .prop_map(|chars| chars.into_iter().collect::<String>())
    }

    proptest! {
        #[test]
        fn build_then_parse_gives_back_everything(
            issuer in label_text(0),
            account in label_text(1).prop_filter("no leading space", |a| !a.starts_with(' ')),
            key in proptest::collection::vec(any::<u8>(), 1..64),
            algorithm in prop_oneof![Just(Algorithm::Sha1), Just(Algorithm::Sha256), Just(Algorithm::Sha512)],
            digits in 6u64..=8,
            period in 1u64..100_000,
            counter in proptest::option::of(any::<u64>()),
        ) {
            let secret = Secret::from_bytes(&key).unwrap();
            let params = TotpParams::DEFAULT.with_algorithm(algorithm).with_digits(digits).unwrap().with_period(period).unwrap();
            let built = match counter {
                None => KeyUri::totp(&issuer, &account, secret, params).unwrap(),
                Some(counter) => KeyUri::hotp(&issuer, &account, secret, counter)
                    .unwrap()
                    .with_algorithm(algorithm)
                    .with_digits(params.digits()),
            };
            let text = built.to_uri();
            prop_assert!(!text.contains('+') && !text.contains(' ') && !text.contains('#'));
            let parsed = KeyUri::parse(&text).unwrap();
            prop_assert_eq!(&parsed, &built);
            prop_assert_eq!(parsed.issuer(), (!issuer.is_empty()).then_some(issuer.as_str()));
            prop_assert_eq!(parsed.account(), account.as_str());
        }

        /// Any issuer and any account, colons included, written as pyotp writes them,
        /// reads back as that issuer and that account.
        #[test]
        fn an_issuer_prefixed_label_reads_back_any_account(
            issuer in label_text(1).prop_filter("no leading space", |i| !i.starts_with(' ')),
            issuer_colons in proptest::collection::vec(0usize..12, 0..2),
            account in label_text(1).prop_filter("no leading space", |a| !a.starts_with(' ')),
            account_colons in proptest::collection::vec(0usize..12, 0..3),
        ) {
            let with_colons = |text: &str, at: &[usize]| {
                let mut chars: Vec<char> = text.chars().collect();
                for &i in at {
                    chars.insert(i.min(chars.len()), ':');
                }
                chars.into_iter().collect::<String>()
            };
            let issuer = with_colons(&issuer, &issuer_colons);
            let account = with_colons(&account, &account_colons);
            let (mut label_issuer, mut label_account, mut param) = (String::new(), String::new(), String::new());
            percent_encode(&issuer, &mut label_issuer);
            percent_encode(&account, &mut label_account);
            percent_encode(&issuer, &mut param);
            let text = format!("otpauth://totp/{label_issuer}:{label_account}?secret={SECRET}&issuer={param}");
            let uri = KeyUri::parse(&text).unwrap();
            prop_assert_eq!(uri.issuer(), Some(issuer.as_str()));
            prop_assert_eq!(uri.account(), account.as_str());
            prop_assert_eq!(KeyUri::parse(&uri.to_uri()), Ok(uri));
        }

        #[test]
        /// Whatever parses, builds back to a URI that parses to the same thing.
        fn anything_parsed_builds_back_the_same(
            text in "otpauth://(totp|hotp|TOTP|x)/(ab?:|%3A|[a-zA-Z0-9%: ]){0,12}\\?(secret=[A-Za-z2-7=]{0,12}&)?((issuer|digits|period|counter|algorithm|image)=(ab?|[a-zA-Z0-9%: ]{0,6})&?){0,4}"
        ) {
            if let Ok(uri) = KeyUri::parse(&text) {
                prop_assert_eq!(KeyUri::parse(&uri.to_uri()), Ok(uri));
            }
        }
    }
}
