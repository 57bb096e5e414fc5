#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

extern crate alloc;

mod ct;
pub mod error;
pub mod otp;
pub mod uri;

#[cfg(feature = "std")]
pub mod audit;
#[cfg(feature = "std")]
pub mod clock;
#[cfg(feature = "std")]
pub mod danger;
#[cfg(feature = "std")]
pub mod device;
#[cfg(feature = "std")]
pub mod enrollment;
#[cfg(feature = "std")]
pub mod keyed_hash;
#[cfg(feature = "std")]
pub mod oob;
#[cfg(feature = "std")]
pub mod policy;
#[cfg(feature = "std")]
pub mod proof;
#[cfg(feature = "qr")]
pub mod qr;
#[cfg(feature = "std")]
mod random;
#[cfg(feature = "std")]
pub mod record;
#[cfg(feature = "std")]
pub mod recovery;
#[cfg(feature = "std")]
pub mod seal;
#[cfg(feature = "std")]
pub mod service;
#[cfg(feature = "std")]
pub mod store;

#[cfg(feature = "std")]
pub use error::Error;
pub use error::{CodeError, ParamError, SecretError, TimeError};
pub use otp::{Algorithm, Code, Digits, Hotp, Secret, StepMatch, Totp, TotpParams, Verification, Window};
pub use uri::{KeyUri, OtpKind, UriError};
