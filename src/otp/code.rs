//! A one-time code, as generated or as typed by a user.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::params::Digits;
use crate::otp::CodeError;

/// A one-time code of 6 to 8 digits.
///
/// Read a typed code with [`Code::parse`]; show a generated one with `Display`, which
/// keeps leading zeros. `Debug` never shows the digits, so codes stay out of logs.
///
/// ```
/// use mfa_kit::otp::{Code, Digits};
///
/// let code = Code::parse(" 012 345 ", Digits::SIX)?;
/// assert_eq!(code.to_string(), "012345");
/// assert_eq!(format!("{code:?}"), "Code { digits: 6, .. }");
/// # Ok::<(), mfa_kit::otp::CodeError>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Code {
    value: u32,
    #[zeroize(skip)]
    digits: Digits,
}

impl Code {
    pub(crate) fn new(value: u32, digits: Digits) -> Code {
        Code { value, digits }
    }

    /// Reads a code typed by a user: ASCII digits, with any spaces before, between or
    /// after them (`"123 456"`). Anything else, other scripts' digits included, is
    /// refused. Nothing is allocated.
    ///
    /// # Errors
    /// [`CodeError::Empty`] when no digit was typed, [`CodeError::InvalidCharacter`]
    /// for any character that is neither an ASCII digit nor white space, and
    /// [`CodeError::WrongLength`] when the number of digits is not `digits`.
    pub fn parse(input: &str, digits: Digits) -> Result<Code, CodeError> {
        let mut value: u32 = 0;
        let mut found: usize = 0;
        for (index, c) in input.chars().enumerate() {
            match c {
                '0'..='9' => {
                    if found < usize::from(digits.get()) {
                        value = value * 10 + (c as u32 - '0' as u32);
                    }
                    found += 1;
                }
                // Any white space: a code copied from a page or a message may hold a
                // no-break or thin space.
                c if c.is_whitespace() => {}
                _ => {
                    value.zeroize();
                    return Err(CodeError::InvalidCharacter { position: index + 1 });
                }
            }
        }
        if found != usize::from(digits.get()) {
            value.zeroize();
            return Err(if found == 0 {
                CodeError::Empty
            } else {
                CodeError::WrongLength { expected: digits.get(), found }
            });
        }
        Ok(Code { value, digits })
    }

    /// The number of digits.
    pub fn digits(&self) -> Digits {
        self.digits
    }

    pub(crate) fn value(&self) -> u32 {
        self.value
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0width$}", self.value, width = usize::from(self.digits.get()))
    }
}

/// Constant-time: the comparison takes as long whichever digits differ.
impl PartialEq for Code {
    fn eq(&self, other: &Self) -> bool {
        crate::otp::ct::eq_mask_u32(self.value, other.value) != 0 && self.digits == other.digits
    }
}

impl Eq for Code {}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Code").field("digits", &self.digits.get()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_anywhere_are_ignored() {
        for input in ["123456", "123 456", " 123456 ", "1 2 3 4 5 6", "123456\n"] {
            assert_eq!(Code::parse(input, Digits::SIX).map(|c| c.value()), Ok(123_456), "{input:?}");
        }
    }

    #[test]
    fn leading_zeros_are_kept() {
        let code = Code::parse("000042", Digits::SIX).unwrap();
        assert_eq!(code.to_string(), "000042");
        assert_eq!(Code::parse("00000042", Digits::EIGHT).unwrap().to_string(), "00000042");
    }

    #[test]
    fn other_characters_are_refused_with_their_position() {
        assert_eq!(Code::parse("12a456", Digits::SIX), Err(CodeError::InvalidCharacter { position: 3 }));
        assert_eq!(Code::parse("123-456", Digits::SIX), Err(CodeError::InvalidCharacter { position: 4 }));
        // Arabic-Indic and full-width digits are digits, but not ours.
        assert_eq!(Code::parse("١٢٣٤٥٦", Digits::SIX), Err(CodeError::InvalidCharacter { position: 1 }));
        assert_eq!(
            Code::parse("１２３４５６", Digits::SIX),
            Err(CodeError::InvalidCharacter { position: 1 })
        );
        assert_eq!(Code::parse("+12345", Digits::SIX), Err(CodeError::InvalidCharacter { position: 1 }));
    }

    #[test]
    fn wrong_length_and_empty_are_their_own_errors() {
        assert_eq!(Code::parse("", Digits::SIX), Err(CodeError::Empty));
        assert_eq!(Code::parse("   ", Digits::SIX), Err(CodeError::Empty));
        assert_eq!(Code::parse("12345", Digits::SIX), Err(CodeError::WrongLength { expected: 6, found: 5 }));
        assert_eq!(
            Code::parse("12345678901234567890", Digits::SIX),
            Err(CodeError::WrongLength { expected: 6, found: 20 })
        );
    }

    #[test]
    fn errors_never_hold_the_code() {
        let error = Code::parse("98765x", Digits::SIX).unwrap_err().to_string();
        assert!(!error.contains("98765"), "{error}");
        let error = Code::parse("9876543", Digits::SIX).unwrap_err().to_string();
        assert!(!error.contains("9876543"), "{error}");
    }
}
