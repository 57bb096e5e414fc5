//! The words every layer shares: who ([`UserId`], [`RequestContext`]), with what
//! ([`Method`], [`Destination`], [`Role`], [`Purpose`]), under which rule
//! ([`Reason`], [`LockoutRule`]) and why something was refused ([`Refusal`],
//! [`RejectionReason`]).
//!
//! This module sits just above the one-time-password core and imports nothing of the
//! layers above it (record, policy, events, transitions, service), so each of them can
//! use these types without importing another.

#[macro_use]
mod ids;
mod action;
mod destination;
mod identity;
mod reason;
mod refusal;
mod session;
pub mod utc;

pub(crate) use action::invisible;
pub use action::{HostAction, InvalidHostAction, SensitiveAction};
pub use destination::{Destination, DestinationError, Method, Purpose, Role};
pub(crate) use identity::UserIdHash;
pub use identity::{OrgId, RequestContext, UserId};
pub use ids::UnknownId;
pub(crate) use ids::stable_ids;
pub use reason::{
    Cleared, EnrollmentRejection, LockoutRule, Reason, RejectionReason, ResetMode, Revocation, Voided,
};
pub use refusal::{Outcome, Refusal};
pub use session::SessionEnd;
