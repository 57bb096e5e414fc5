//! The shared secret of a TOTP or HOTP credential.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::otp::SecretError;
use crate::otp::ct;

/// The shared key of a credential.
///
/// It is never printed: `Debug` shows only its length, there is no `Display`, and the
/// bytes are wiped from memory when it is dropped. Two secrets compare in constant time.
/// The base32 forms for the QR code or for typing by hand come from explicit methods
/// ([`Secret::to_base32`], [`Secret::to_base32_grouped`]).
///
/// ```
/// use mfa_kit::otp::Secret;
///
/// let imported = Secret::from_base32("jbsw y3dp ehpk 3pxp")?;
/// assert_eq!(imported.bit_len(), 80);
/// assert_eq!(*imported.to_base32_grouped(), "JBSW Y3DP EHPK 3PXP");
/// assert_eq!(format!("{imported:?}"), "Secret { bits: 80, .. }");
/// # Ok::<(), mfa_kit::otp::SecretError>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret {
    bytes: Vec<u8>,
}

impl Secret {
    /// The length of a generated secret: 160 bits, as RFC 4226 §4 recommends.
    pub const DEFAULT_LEN: usize = 20;
    /// The shortest secret [`Secret::generate_len`] makes: RFC 4226 §4 asks for 128 bits.
    pub const MIN_GENERATED_LEN: usize = 16;
    /// The longest secret accepted, in bytes.
    pub const MAX_LEN: usize = 256;

    /// A new 160-bit secret from the operating system's random source.
    ///
    /// # Errors
    /// [`SecretError::RandomSource`] if the operating system cannot provide randomness;
    /// nothing is made in that case.
    #[cfg(feature = "std")]
    pub fn generate() -> Result<Secret, SecretError> {
        Secret::generate_len(Secret::DEFAULT_LEN)
    }

    /// A new secret of `len` bytes from the operating system's random source.
    ///
    /// # Errors
    /// [`SecretError::TooLong`] above [`Secret::MAX_LEN`];
    /// [`SecretError::RandomSource`] if the random source fails. Lengths below
    /// [`Secret::MIN_GENERATED_LEN`] are raised to it.
    #[cfg(feature = "std")]
    pub fn generate_len(len: usize) -> Result<Secret, SecretError> {
        if len > Secret::MAX_LEN {
            return Err(SecretError::TooLong { max: Secret::MAX_LEN });
        }
        let mut bytes = alloc::vec![0u8; len.max(Secret::MIN_GENERATED_LEN)];
        crate::otp::random::fill(&mut bytes)?;
        Ok(Secret { bytes })
    }

    /// A secret from raw bytes (at least 1, at most [`Secret::MAX_LEN`]).
    ///
    /// # Errors
    /// [`SecretError::Empty`] or [`SecretError::TooLong`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Secret, SecretError> {
        check_len(bytes.len())?;
        Ok(Secret { bytes: bytes.to_vec() })
    }

    /// A secret from base32 text as apps and admins write it: upper or lower case,
    /// padded or not, with spaces or hyphens between groups.
    ///
    /// # Errors
    /// [`SecretError::InvalidBase32`] for any other character, padding in the middle,
    /// or a length no base32 encoding has; [`SecretError::Empty`] and
    /// [`SecretError::TooLong`] as for [`Secret::from_bytes`].
    pub fn from_base32(text: &str) -> Result<Secret, SecretError> {
        let mut compact = Zeroizing::new(String::with_capacity(text.len()));
        for c in text.chars().filter(|c| !matches!(c, ' ' | '-' | '\t')) {
            compact.push(c.to_ascii_uppercase());
        }
        let unpadded = compact.trim_end_matches('=');
        if !unpadded.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)) {
            return Err(SecretError::InvalidBase32);
        }
        // Lengths 1, 3 and 6 (mod 8) are not whole bytes in any base32 encoding.
        if matches!(unpadded.len() % 8, 1 | 3 | 6) {
            return Err(SecretError::InvalidBase32);
        }
        let bytes = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, unpadded)
            .ok_or(SecretError::InvalidBase32)?;
        let secret = Secret { bytes };
        check_len(secret.bytes.len())?;
        Ok(secret)
    }

    /// The secret as unpadded upper-case base32, as in an otpauth:// URI.
    pub fn to_base32(&self) -> Zeroizing<String> {
        base32_wiped(&self.bytes)
    }

    /// The base32 form in groups of four separated by spaces, for typing by hand
    /// ("can't scan the code? enter this key").
    pub fn to_base32_grouped(&self) -> Zeroizing<String> {
        let plain = self.to_base32();
        let mut grouped = Zeroizing::new(String::with_capacity(plain.len() + plain.len() / 4));
        for (i, c) in plain.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                grouped.push(' ');
            }
            grouped.push(c);
        }
        grouped
    }

    /// The raw key. Handle with care: never log it or send it anywhere but a sealer.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a secret holds at least one byte.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The length in bits, so a policy can refuse short imported secrets.
    pub fn bit_len(&self) -> usize {
        self.bytes.len() * 8
    }
}

/// `bytes` as unpadded upper-case base32 (RFC 4648), written into a buffer made at its
/// final size and wiped when dropped: a buffer that grew on the way would leave part of
/// a secret in memory freed without being wiped.
pub(crate) fn base32_wiped(bytes: &[u8]) -> Zeroizing<String> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Zeroizing::new(String::with_capacity((bytes.len() * 8).div_ceil(5)));
    // Bits not yet written, the newest lowest: fewer than 5 between bytes.
    let (mut pending, mut count) = (0u16, 0u32);
    for &byte in bytes {
        pending = (pending << 8) | u16::from(byte);
        count += 8;
        while count >= 5 {
            count -= 5;
            out.push(char::from(ALPHABET[usize::from((pending >> count) & 31)]));
        }
        pending &= (1 << count) - 1;
    }
    if count > 0 {
        out.push(char::from(ALPHABET[usize::from((pending << (5 - count)) & 31)]));
    }
    pending.zeroize();
    out
}

fn check_len(len: usize) -> Result<(), SecretError> {
    match len {
        0 => Err(SecretError::Empty),
        n if n > Secret::MAX_LEN => Err(SecretError::TooLong { max: Secret::MAX_LEN }),
        _ => Ok(()),
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret").field("bits", &self.bit_len()).finish_non_exhaustive()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        ct::bytes_eq(&self.bytes, &other.bytes)
    }
}

impl Eq for Secret {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn base32_accepts_case_padding_spaces_and_hyphens() {
        let expected = Secret::from_bytes(b"12345678901234567890").unwrap();
        for text in [
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
            "gezd-gnbv-gy3t-qojq-gezd-gnbv-gy3t-qojq",
        ] {
            assert_eq!(Secret::from_base32(text), Ok(expected.clone()), "{text}");
        }
        let padded = Secret::from_base32("MZXW6===").unwrap();
        assert_eq!(padded.expose_bytes(), b"foo");
        assert_eq!(Secret::from_base32("MZXW6").unwrap().expose_bytes(), b"foo");
    }

    #[test]
    fn bad_base32_is_refused() {
        for text in ["GEZ1", "GEZD!", "MZ=XW6", "A", "ABC", "ABCDEF", "ÄBCD"] {
            assert_eq!(Secret::from_base32(text), Err(SecretError::InvalidBase32), "{text}");
        }
        assert_eq!(Secret::from_base32(""), Err(SecretError::Empty));
        assert_eq!(Secret::from_base32(" == "), Err(SecretError::Empty));
    }

    #[test]
    fn length_limits() {
        assert_eq!(Secret::from_bytes(&[]), Err(SecretError::Empty));
        assert_eq!(Secret::from_bytes(&[0; 1]).map(|s| s.bit_len()), Ok(8));
        assert_eq!(Secret::from_bytes(&[0; 257]), Err(SecretError::TooLong { max: 256 }));
    }

    #[test]
    fn generated_secrets_are_160_bits_and_distinct() {
        let a = Secret::generate().unwrap();
        let b = Secret::generate().unwrap();
        assert_eq!(a.bit_len(), 160);
        assert_ne!(a, b);
        assert_eq!(Secret::generate_len(32).unwrap().len(), 32);
        assert_eq!(Secret::generate_len(4).unwrap().len(), Secret::MIN_GENERATED_LEN);
        assert_eq!(Secret::generate_len(1000), Err(SecretError::TooLong { max: 256 }));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        let shown = format!("{secret:?} {secret:#?}");
        assert!(!shown.contains("GEZD") && !shown.contains("49") && !shown.contains("12345"));
        assert!(shown.contains("160"));
    }

    #[test]
    fn grouped_form_has_groups_of_four() {
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        assert_eq!(*secret.to_base32_grouped(), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
    }

    proptest! {
        #[test]
        fn base32_round_trips(bytes in proptest::collection::vec(any::<u8>(), 1..100)) {
            let secret = Secret::from_bytes(&bytes).unwrap();
            let plain = Secret::from_base32(&secret.to_base32()).unwrap();
            prop_assert_eq!(plain.expose_bytes(), &bytes[..]);
            let grouped = Secret::from_base32(&secret.to_base32_grouped().to_lowercase()).unwrap();
            prop_assert_eq!(grouped.expose_bytes(), &bytes[..]);
        }

        #[test]
        fn the_wiped_encoding_is_rfc_4648_at_its_final_size(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let wiped = base32_wiped(&bytes);
            prop_assert_eq!(wiped.as_str(), base32::encode(base32::Alphabet::Rfc4648 { padding: false }, &bytes));
            prop_assert_eq!(wiped.len(), (bytes.len() * 8).div_ceil(5));
        }
    }
}
