//! The HMAC hash functions of RFC 6238.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::otp::ParamError;

/// The hash function behind the HMAC of HOTP and TOTP.
///
/// [`Algorithm::Sha1`] is the default because Google Authenticator, Microsoft
/// Authenticator and Authy honour nothing else (R1 in `docs/requirements.md`): choose another only
/// when you know every user's app supports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[allow(
    clippy::exhaustive_enums,
    reason = "fixed by the standard it names: a new variant would be a new standard"
)]
pub enum Algorithm {
    /// HMAC-SHA-1 (RFC 4226), the default and the only one every app supports.
    #[default]
    Sha1,
    /// HMAC-SHA-256 (RFC 6238).
    Sha256,
    /// HMAC-SHA-512 (RFC 6238).
    Sha512,
}

impl Algorithm {
    /// The name used in otpauth:// URIs: `SHA1`, `SHA256` or `SHA512`.
    pub const fn uri_name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// The HMAC block size in bytes; a longer key is hashed first (RFC 2104).
    pub const fn block_len(self) -> usize {
        match self {
            Algorithm::Sha1 | Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// The digest length in bytes, which is also the natural secret length (RFC 4226 §4).
    pub const fn digest_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.uri_name())
    }
}

impl FromStr for Algorithm {
    type Err = ParamError;

    /// Parses `SHA1`, `SHA256` or `SHA512` in any letter case, with or without a
    /// hyphen after `SHA` (`sha-256`).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let prefix = name.get(..3).filter(|prefix| prefix.eq_ignore_ascii_case("SHA"));
        let Some(rest) = prefix.and_then(|_| name.get(3..)) else { return Err(ParamError::UnknownAlgorithm) };
        match rest.strip_prefix('-').unwrap_or(rest) {
            "1" => Ok(Algorithm::Sha1),
            "256" => Ok(Algorithm::Sha256),
            "512" => Ok(Algorithm::Sha512),
            _ => Err(ParamError::UnknownAlgorithm),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_and_block_lengths_are_those_of_the_hash() {
        use hmac::{KeyInit, Mac};
        let tag = |algorithm: Algorithm| match algorithm {
            Algorithm::Sha1 => {
                hmac::Hmac::<sha1::Sha1>::new_from_slice(b"k").unwrap().finalize().into_bytes().len()
            }
            Algorithm::Sha256 => {
                hmac::Hmac::<sha2::Sha256>::new_from_slice(b"k").unwrap().finalize().into_bytes().len()
            }
            Algorithm::Sha512 => {
                hmac::Hmac::<sha2::Sha512>::new_from_slice(b"k").unwrap().finalize().into_bytes().len()
            }
        };
        for algorithm in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            assert_eq!(algorithm.digest_len(), tag(algorithm), "{algorithm}");
        }
        assert_eq!(Algorithm::Sha512.block_len(), 128);
    }

    #[test]
    fn parses_names_in_any_case_with_or_without_hyphen() {
        for (text, expected) in [
            ("SHA1", Algorithm::Sha1),
            ("sha1", Algorithm::Sha1),
            ("Sha-1", Algorithm::Sha1),
            ("sha256", Algorithm::Sha256),
            ("SHA-256", Algorithm::Sha256),
            ("sha512", Algorithm::Sha512),
        ] {
            assert_eq!(text.parse::<Algorithm>(), Ok(expected), "{text}");
        }
    }

    #[test]
    fn refuses_unknown_names() {
        for text in [
            "", "md5", "sha384", "sha1024", "SHA3-256", "sha 1", "S-HA256", "SHA25-6", "SHA--1", "-SHA1",
            "SHA1-",
        ] {
            assert_eq!(text.parse::<Algorithm>(), Err(ParamError::UnknownAlgorithm), "{text}");
        }
    }

    #[test]
    fn uri_name_round_trips() {
        for algorithm in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            assert_eq!(algorithm.uri_name().parse::<Algorithm>(), Ok(algorithm));
        }
    }
}
