#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod accounts;
mod client;
mod config;
mod cookie;
pub mod csrf;
#[cfg(feature = "messages")]
mod language;
mod org;
mod response;
pub mod security_key;
mod session;

pub use accounts::Accounts;
pub use client::{Client, device_label};
pub use config::{ClientAddress, ConfigError, MfaWeb, MfaWebBuilder, Paths, PublicOrigin};
pub use cookie::DeviceCookie;
pub use csrf::{CsrfToken, csrf_protect};
#[cfg(feature = "messages")]
pub use language::ReaderLanguage;
pub use org::{OrgSource, UserOrg};
pub use response::UNAVAILABLE;
pub use response::{NoStore, Refused, WebError, no_store, status_for};
pub use security_key::{KeyOptions, KeyResponse};
pub use session::{
    ACTIVITY_GRANULARITY, AddingBackup, AddingSecurityKey, AuthState, Enrolling, GuardRejection, MfaSession,
    MfaUser, Next, SecondFactorDue, SignedIn, Stage, require_signed_in,
};
