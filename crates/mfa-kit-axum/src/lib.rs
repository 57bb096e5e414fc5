#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod client;
mod config;
mod cookie;
pub mod csrf;
mod org;
mod response;
mod session;

pub use client::{Client, device_label};
pub use config::{ClientAddress, CookieSecurity, MfaWeb, MfaWebBuilder, Paths};
pub use cookie::DeviceCookie;
pub use csrf::{CsrfToken, csrf_protect};
pub use org::{OrgSource, UserOrg};
pub use response::UNAVAILABLE;
pub use response::{Refused, WebError, status_for};
pub use session::{
    AuthState, Enrolling, GuardRejection, MfaSession, MfaUser, Next, SecondFactorDue, SignedIn, Stage,
    require_signed_in,
};
