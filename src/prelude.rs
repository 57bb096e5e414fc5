//! What a host's handlers need in scope: `use mfa_kit::prelude::*;`. Nothing dangerous
//! (no [`crate::danger`] item, no settable clock) and no bare `Error`: the service's is
//! [`crate::service::Error`].

pub use crate::clock::{Clock, SystemClock};
pub use crate::event::{AuditEvent, EventKind};
pub use crate::flow::Proven;
pub use crate::flow::step_up::StepUp;
pub use crate::keyed_hash::HashKey;
pub use crate::notify::CodeSender;
pub use crate::otp::uri::KeyUri;
pub use crate::otp::{Secret, Totp, TotpParams};
pub use crate::policy::{Decision, OrgSettings, SignInContext, StandardPolicy};
pub use crate::service::MfaService;
pub use crate::store::{MemoryStore, Store};
pub use crate::vocabulary::{
    Destination, Method, OrgId, Outcome, Reason, Refusal, RequestContext, ResetMode, Role, SensitiveAction,
    UserId,
};
