#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod accounts;
mod client;
mod config;
mod cookie;
mod csrf;
mod extract;
#[cfg(feature = "messages")]
mod language;
mod middleware;
mod org;
mod response;
mod security_key;
mod state;

pub use accounts::Accounts;
pub use client::{Client, device_label};
pub use config::{ClientAddress, ConfigError, MfaWeb, MfaWebBuilder, Paths, PublicOrigin};
pub use cookie::DeviceCookie;
pub use csrf::{CSRF_REFUSED, CsrfToken, MAX_FORM_BYTES, csrf_protect};
pub use extract::{
    AddingBackup, AddingSecurityKey, Enrolling, GuardRejection, MfaUser, SecondFactorDue, SignedIn,
};
#[cfg(feature = "messages")]
pub use language::ReaderLanguage;
pub use middleware::require_signed_in;
pub use org::{OrgSource, UserOrg};
pub use response::UNAVAILABLE;
pub use response::{NoStore, Refused, WebError, no_store, protective_headers, status_for};
pub use security_key::{KeyOptions, KeyResponse, KeyResponseRejection};
pub use state::{ACTIVITY_GRANULARITY, AuthState, MfaSession, Next, Stage};
