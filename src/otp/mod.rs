//! One-time-password arithmetic: HOTP (RFC 4226) and TOTP (RFC 6238).
//!
//! Pure functions of a secret, a counter or a time, and the parameters: no I/O, no
//! clock (the time is an argument), and no allocation on the verify path.

mod algorithm;
mod code;
pub(crate) mod ct;
mod error;
mod hotp;
mod keyed;
mod params;
#[cfg(feature = "qr")]
pub mod qr;
#[cfg(feature = "std")]
pub(crate) mod random;
mod secret;
#[cfg(feature = "std")]
pub(crate) use secret::base32_wiped;
mod totp;
pub mod uri;

pub use algorithm::Algorithm;
pub use code::Code;
pub use error::{CodeError, ParamError, SecretError, TimeError};
pub use hotp::Hotp;
pub use params::{Digits, TotpParams, Window};
pub use secret::Secret;
pub use totp::{StepMatch, Totp, Verification};
