#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]
// Every public struct and enum says whether hosts may rely on its shape: new ones are
// `#[non_exhaustive]` unless an `allow` says why they are whole (as rustls does).
#![warn(clippy::exhaustive_structs, clippy::exhaustive_enums)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

extern crate alloc;

// The one-time-password core: no I/O, no clock, no allocation on the verify path;
// builds without std.
pub mod otp;

// The words every layer shares.
#[cfg(feature = "std")]
mod cache_line;
#[cfg(feature = "std")]
mod few;
#[cfg(feature = "std")]
mod vocabulary;

// What the record is made of: hashes of what users hold, sealed secrets.
#[cfg(feature = "std")]
pub mod danger;
#[cfg(feature = "std")]
pub mod keyed_hash;
#[cfg(feature = "std")]
pub mod seal;

// The per-user record, the policy that reads it, the events that describe its changes.
#[cfg(feature = "std")]
pub mod event;
#[cfg(feature = "std")]
pub mod policy;
#[cfg(feature = "std")]
pub mod record;

// Refusals and events in the user's language, from Fluent catalogues.
#[cfg(feature = "messages")]
pub mod messages;

// Pure transitions on the record.
#[cfg(feature = "std")]
pub mod flow;

// What a proof is worth to other systems (OIDC claims, HMRC's fraud-prevention header).
#[cfg(feature = "std")]
pub mod assurance;

// The ports a host implements: storage, time, delivery of codes.
#[cfg(feature = "std")]
pub mod clock;
#[cfg(feature = "std")]
pub mod notify;
#[cfg(feature = "std")]
pub mod relying_party;
#[cfg(feature = "std")]
pub mod store;

// The drivers on top: the service, and the relay that sends security notices.
#[cfg(feature = "std")]
pub mod relay;
#[cfg(feature = "std")]
pub mod service;

#[cfg(feature = "std")]
pub mod prelude;

/// The requirements R1 to R33 that the documentation refers to, and the sources
/// ("seed 000" to "seed 004") they come from. The same text is `docs/requirements.md`.
#[doc = include_str!("../docs/requirements.md")]
pub mod requirements {}

// The shared vocabulary, at the root and nowhere else: one path per item.
#[cfg(feature = "std")]
pub use vocabulary::{
    Cleared, Destination, DestinationError, EnrollmentRejection, HostAction, InvalidHostAction, LockoutRule,
    Method, OrgId, Outcome, Purpose, Reason, Refusal, RejectionReason, RequestContext, ResetMode, Revocation,
    Role, SensitiveAction, SessionEnd, UnknownId, UserId, Voided, utc,
};
