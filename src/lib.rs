#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod ct;
pub mod error;
pub mod otp;


pub use error::{CodeError, ParamError, SecretError, TimeError};
pub use otp::{Algorithm, Code, Digits, Hotp, Secret, StepMatch, Totp, TotpParams, Verification, Window};

