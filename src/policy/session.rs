//! Sessions: what a host keeps of one signed-in session, and how long one may last.
//!
//! The rules that judge a session against the account ([`crate::flow::session`]) read
//! these; the limits come from the policy ([`super::Policy::session_limits`]), per
//! organisation ([`super::OrgSettingsBuilder::session_lifetime`],
//! [`super::OrgSettingsBuilder::session_idle_timeout`]) and capped by the presets.

/// What the host keeps of one session of a user, set when the password was checked and
/// carried with every request ([`super::SignInContext::with_session`]).
///
/// With a session in the context, step-up judges this session's own proof
/// ([`SessionFacts::proved_at`]), and every proof and change is refused with
/// [`crate::Refusal::SessionEnded`] once the account's generation
/// ([`crate::record::UserRecord::generation`]) has moved past the session's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionFacts {
    /// The account's generation when the session began, or after the session's own
    /// change of the account's protection.
    pub generation: u64,
    /// When the password was checked (the start of the absolute lifetime).
    pub signed_in_at: u64,
    /// When the session last made a request (the start of the inactivity limit).
    pub active_at: u64,
    /// When this session last proved a second factor; `None` if it never did (let in
    /// by a remembered device, or a policy that asked for no code): such a session is
    /// never fresh for a sensitive action.
    pub proved_at: Option<u64>,
    /// A random number the host gave the session when it began
    /// ([`SessionFacts::tagged`]), by which signing it out
    /// ([`crate::flow::session::sign_out`]) is remembered in the record: a copy of the
    /// session saved again afterwards is refused as [`crate::SessionEnd::SignedOut`].
    /// `None` (0 is none too): a session without one, which ends only by its limits.
    pub tag: Option<u64>,
}

impl SessionFacts {
    /// A session that began at `signed_in_at` under the account's `generation`, has
    /// proved nothing yet, and was last active when it began.
    pub fn new(generation: u64, signed_in_at: u64) -> SessionFacts {
        SessionFacts { generation, signed_in_at, active_at: signed_in_at, proved_at: None, tag: None }
    }

    /// The same session, with the tag signing it out is remembered by (draw it at
    /// random when the session begins, and keep it with the session).
    #[must_use]
    pub fn tagged(mut self, tag: u64) -> SessionFacts {
        self.tag = (tag != 0).then_some(tag);
        self
    }

    /// The same session under the account's `generation` (after a change the session
    /// made itself: [`crate::flow::session::adopt`]).
    #[must_use]
    pub fn with_generation(mut self, generation: u64) -> SessionFacts {
        self.generation = generation;
        self
    }

    /// The same session, last active at `at`.
    #[must_use]
    pub fn active_at(mut self, at: u64) -> SessionFacts {
        self.active_at = at;
        self
    }

    /// The same session, having proved a second factor at `at`.
    #[must_use]
    pub fn proved_at(mut self, at: u64) -> SessionFacts {
        self.proved_at = Some(at);
        self
    }
}

/// How long a signed-in session may last before the user signs in again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionLimits {
    /// The longest a session lasts from the password, in seconds, however active.
    pub lifetime: u64,
    /// The longest a session may go without a request, in seconds.
    pub idle_timeout: u64,
}

impl SessionLimits {
    /// The defaults: 24 hours overall, 2 hours of inactivity.
    pub const DEFAULT: SessionLimits = SessionLimits { lifetime: 24 * 3600, idle_timeout: 2 * 3600 };

    /// Limits of `lifetime` and `idle_timeout` seconds.
    pub fn new(lifetime: u64, idle_timeout: u64) -> SessionLimits {
        SessionLimits { lifetime, idle_timeout }
    }
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits::DEFAULT
    }
}
