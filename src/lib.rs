#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

extern crate alloc;

mod ct;
pub mod error;
pub mod otp;
pub mod uri;

pub use error::{CodeError, ParamError, SecretError, TimeError};
pub use otp::{Algorithm, Code, Digits, Hotp, Secret, StepMatch, Totp, TotpParams, Verification, Window};
pub use uri::{KeyUri, OtpKind, UriError};
