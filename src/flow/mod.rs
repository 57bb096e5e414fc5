//! Pure transitions on the per-user record: enrollment, proofs, backup methods,
//! devices, deactivation and reset.
//!
//! Each transition is `(record, input, env) -> Step`: it changes the [`UserRecord`] in
//! place and returns a [`Step`] with the [`Outcome`] for the user, the events to audit
//! ([`crate::event::EventKind`]s) and whether the record changed. No transition does
//! I/O: the time, the policy and the sign-in context come in an [`Env`], an opened TOTP
//! secret comes in as a [`crate::otp::Totp`], and the hash key as a
//! [`crate::keyed_hash::HashKey`].
//!
//! A driver does the I/O around them. [`crate::service::MfaService`] is one; a host
//! that prefers to drive them itself does what it does:
//!
//! 1. read the clock, refusing a reading past
//!    [`MAX_PLAUSIBLE_TIME`](crate::service::MAX_PLAUSIBLE_TIME) as a failed clock (a
//!    transition trusts `Env::now`, and a wild reading would become the record's
//!    replay floor);
//! 2. load the record and its version (or start from [`UserRecord::new`]);
//! 3. open the sealed secrets the transition needs: the user's authenticators, none if
//!    there are none (the transition judges a user without one); for a confirmation,
//!    the enrollment in progress, and, with none in progress, answer
//!    [`refuse_without_secret`]`(Refusal::NoPendingEnrollment, env)` instead of running
//!    it;
//! 4. run the transition;
//! 5. if [`Step::changed`], file the record under the request's organisation, if it
//!    has one ([`UserRecord::set_org`]), and save it only if its version is unchanged,
//!    with the step's events wrapped as [`crate::event::AuditEvent`]s in the same
//!    transaction; otherwise store just the events. On a version conflict, start again
//!    at 1.
//!
//! Around some transitions the driver checks its input first, as the service does:
//! an admin's reset or settings change asked from a context made in another
//! organisation is refused before anything is asked ([`oversight::reset`],
//! [`oversight::change_org_settings`]); a "this wasn't me" link for a user without a
//! stored record is refused as [`Refusal::DisownLinkInvalid`] ([`disown::redeem`]);
//! a security key's response longer than
//! [`MAX_RESPONSE`](crate::relying_party::MAX_RESPONSE) is answered as
//! [`CeremonyError::Malformed`](security_key::CeremonyError::Malformed) without asking
//! the relying party, and a shorter one is checked with
//! [`RelyingParty::finish_authentication_for`](crate::relying_party::RelyingParty::finish_authentication_for)
//! and the record's [`UserRecord::user_handle`], so that a response naming another
//! user is refused.
//!
//! ```
//! use mfa_kit::flow::{self, Env, Rules};
//! use mfa_kit::policy::{SignInContext, StandardPolicy};
//! use mfa_kit::record::UserRecord;
//! use mfa_kit::UserId;
//! use mfa_kit::otp::{Secret, Totp, TotpParams};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (policy, context, rules) = (StandardPolicy::new(), SignInContext::default(), Rules::default());
//! let mut record = UserRecord::new(UserId::new("alice"));
//! let secret = Secret::generate()?;
//! let sealed = mfa_kit::danger::PlaintextSealer.seal(record.user(), &secret)?; // your KMS here
//! let phone = Totp::new(&secret, TotpParams::DEFAULT);
//!
//! let env = Env::new(1_700_000_000, &policy, &context, &rules);
//! let started = flow::enrollment::start(&mut record, sealed, TotpParams::DEFAULT, "alice", &env);
//! assert!(started.changed && started.outcome.is_ok());
//!
//! let first = phone.generate(1_700_000_000)?.to_string();
//! let second = phone.generate(1_700_000_030)?.to_string();
//! let env = Env::new(1_700_000_030, &policy, &context, &rules);
//! let confirmed = flow::enrollment::confirm(&mut record, &phone, &[&first, &second], &env)?;
//! assert!(confirmed.outcome.is_ok());
//! // Save `record` with `confirmed.events`, then sign in later:
//! let env = Env::new(1_700_000_060, &policy, &context, &rules);
//! let code = phone.generate(1_700_000_060)?.to_string();
//! let proof = flow::authenticator::verify(&mut record, &[&phone], &code, &env)?;
//! assert!(proof.outcome.is_ok() && proof.changed);
//! # Ok(())
//! # }
//! ```

pub mod authenticator;
pub mod clock;
pub mod destination;
pub mod device;
pub mod disown;
mod draft;
pub mod enrollment;
pub mod evidence;
pub mod oversight;
pub mod recovery;
pub mod security_key;
pub mod session;
pub mod sign_in;
pub mod step_up;

use thiserror::Error;

pub(crate) use draft::Draft;

use crate::event::Events;
use crate::otp::{SecretError, TimeError};
use crate::policy::{Policy, SignInContext};
use crate::record::UserRecord;
use crate::vocabulary::{Method, Outcome, Refusal};

/// What a transition did: the outcome for the user, the events to audit, and whether
/// the record changed (and so must be saved).
#[derive(Debug)]
#[must_use = "a changed record must be saved with the step's events"]
#[allow(
    clippy::exhaustive_structs,
    reason = "a plain value the crate and hosts build and read whole; a new field is a deliberate breaking change"
)]
pub struct Step<T> {
    /// The result for the user, or why it was refused.
    pub outcome: Outcome<T>,
    /// What to audit, in order; saved together with the record change.
    pub events: Events,
    /// Whether the record was changed; if not, there is nothing to save but the events.
    pub changed: bool,
}

/// A second factor proved by a transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a plain value the crate and hosts build and read whole; a new field is a deliberate breaking change"
)]
pub struct Proven {
    /// The factor used.
    pub method: Method,
    /// The code's clock drift in time steps (authenticator app only).
    pub drift: Option<i64>,
    /// When it was proved (the time of the transition): what a host keeps as its
    /// session's proof ([`crate::policy::SessionFacts::proved_at`]), the same time the
    /// record keeps, so step-up compares the two exactly.
    pub at: u64,
    /// Whether the proof resists phishing ([`Method::is_phishing_resistant`]): a
    /// security key's or passkey's signature, bound to the site's origin.
    pub phishing_resistant: bool,
}

/// A transition could not run: nothing for the user to fix, something for the host to
/// log. The record may be half-changed and must not be saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Failure {
    /// The time cannot be turned into a TOTP time step (a clock before the credential's
    /// epoch).
    #[error(transparent)]
    Time(#[from] TimeError),
    /// The operating system's random source failed; no code or token was made.
    #[error("the operating system's random number generator failed: nothing was generated")]
    RandomSource,
}

impl From<SecretError> for Failure {
    fn from(_: SecretError) -> Failure {
        // The only secret error a transition can meet is the random source failing.
        Failure::RandomSource
    }
}

/// The deployment's settings of the transitions that are not policy (the policy may
/// differ per organisation; these do not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rules {
    /// The verify window and how it follows a drifting clock.
    pub drift: authenticator::DriftRules,
    /// Two codes (default) or one to confirm an enrollment.
    pub confirmation: enrollment::Confirmation,
    /// Limits on SMS and e-mail codes.
    pub send_limits: destination::SendLimits,
    /// How many recovery codes a set holds: from 1 to [`recovery::MAX_COUNT`] (a count
    /// outside is taken as the nearest).
    pub recovery_codes: usize,
    /// What a security key's counter going backwards does.
    pub counter: security_key::CounterRule,
}

impl Rules {
    /// One step of drift either way, two-code confirmation, 10-minute SMS and e-mail
    /// codes, 10 recovery codes, security keys whose counter goes back refused.
    pub const DEFAULT: Rules = Rules {
        drift: authenticator::DriftRules::DEFAULT,
        confirmation: enrollment::Confirmation::TwoCodes,
        send_limits: destination::SendLimits::DEFAULT,
        recovery_codes: recovery::DEFAULT_COUNT,
        counter: security_key::CounterRule::Refuse,
    };

    /// The same rules with another confirmation mode.
    #[must_use]
    pub fn with_confirmation(mut self, confirmation: enrollment::Confirmation) -> Rules {
        self.confirmation = confirmation;
        self
    }

    /// The same rules with other drift rules.
    #[must_use]
    pub fn with_drift(mut self, drift: authenticator::DriftRules) -> Rules {
        self.drift = drift;
        self
    }

    /// The same rules with other SMS and e-mail limits.
    #[must_use]
    pub fn with_send_limits(mut self, limits: destination::SendLimits) -> Rules {
        self.send_limits = limits;
        self
    }

    /// The same rules with another answer to a security key's counter going backwards.
    #[must_use]
    pub fn with_counter(mut self, counter: security_key::CounterRule) -> Rules {
        self.counter = counter;
        self
    }

    /// The same rules with another recovery-code count, from 1 to
    /// [`recovery::MAX_COUNT`] (a count outside is taken as the nearest).
    #[must_use]
    pub fn with_recovery_codes(mut self, count: usize) -> Rules {
        self.recovery_codes = count.clamp(1, recovery::MAX_COUNT);
        self
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules::DEFAULT
    }
}

/// Everything a transition needs besides the record and the user's input: the time,
/// the policy with the sign-in context it judges, and the deployment's rules.
#[derive(Clone, Copy)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a plain value the crate and hosts build and read whole; a new field is a deliberate breaking change"
)]
pub struct Env<'a> {
    /// The time of the request, in seconds since the Unix epoch.
    pub now: u64,
    /// Who must use MFA, the lockout rule, the device cap.
    pub policy: &'a dyn Policy,
    /// What the host knows of this request.
    pub context: &'a SignInContext,
    /// The deployment's rules.
    pub rules: &'a Rules,
}

impl<'a> Env<'a> {
    /// The environment of one request.
    pub fn new(now: u64, policy: &'a dyn Policy, context: &'a SignInContext, rules: &'a Rules) -> Env<'a> {
        Env { now, policy, context, rules }
    }
}

/// The answer to a request that needs a secret the record does not hold (no
/// authenticator, no enrollment in progress): `missing`, unless the request itself is
/// refused (an address off the organisation's allowlist), which then hears only that
/// and learns nothing of the user's set-up.
pub fn refuse_without_secret(missing: Refusal, env: &Env<'_>) -> Refusal {
    env.policy.refuse_request(env.context, env.now).unwrap_or(missing)
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("now", &self.now)
            .field("context", self.context)
            .field("rules", self.rules)
            .finish_non_exhaustive()
    }
}

/// Whether the record's user has MFA under this request's policy: only the methods the
/// organisation allows as factors count ([`UserRecord::has_mfa_allowing`]).
pub(crate) fn has_mfa(record: &UserRecord, env: &Env<'_>) -> bool {
    record.has_mfa_allowing(|method| env.policy.method_allowed(env.context, method))
}

/// What the record says of its user under this request's policy
/// ([`crate::policy::UserFacts::of_allowing`]).
pub(crate) fn facts(record: &UserRecord, env: &Env<'_>) -> crate::policy::UserFacts {
    crate::policy::UserFacts::of_allowing(record, env.now, |method| {
        env.policy.method_allowed(env.context, method)
    })
}

/// How many of the user's factors the organisation counts
/// ([`UserRecord::has_mfa_allowing`]): each authenticator app and security key, and the
/// confirmed primary destination, of the methods it allows.
pub(crate) fn counted_factors(record: &UserRecord, env: &Env<'_>) -> usize {
    let allowed = |method| env.policy.method_allowed(env.context, method);
    let apps = if allowed(Method::Totp) { record.authenticators.len() } else { 0 };
    let keys = if allowed(Method::SecurityKey) { record.rare.security_keys.len() } else { 0 };
    let primary = record
        .oob
        .confirmed(crate::vocabulary::Role::Primary)
        .is_some_and(|d| allowed(d.destination.method()));
    apps + keys + usize::from(primary)
}

/// Whether removing one factor of `method` would leave the user without any factor
/// the organisation counts: that is turning MFA off, not a removal. A factor the
/// organisation does not count (an e-mail address under the NIST preset) is never the
/// last one.
pub(crate) fn is_last_factor(record: &UserRecord, method: Method, env: &Env<'_>) -> bool {
    env.policy.method_allowed(env.context, method) && counted_factors(record, env) == 1
}

/// Runs a transition body on a draft of `record` and turns it into a [`Step`].
pub(crate) fn run<T>(record: &mut UserRecord, body: impl FnOnce(&mut Draft<'_>) -> Outcome<T>) -> Step<T> {
    let mut draft = Draft::new(record);
    let outcome = body(&mut draft);
    draft.finish(outcome)
}

/// As [`run`], for a transition with a clock reading: the record's rule for time is
/// applied first ([`clock`]).
pub(crate) fn run_in<T>(
    record: &mut UserRecord,
    env: &Env<'_>,
    body: impl FnOnce(&mut Draft<'_>) -> Outcome<T>,
) -> Step<T> {
    let mut draft = Draft::new(record);
    clock::settle_in(&mut draft, env);
    let outcome = body(&mut draft);
    draft.summarise_refusals_after_interval(env.now);
    draft.finish(outcome)
}

/// As [`run_in`], for a body that can fail.
pub(crate) fn try_run_in<T>(
    record: &mut UserRecord,
    env: &Env<'_>,
    body: impl FnOnce(&mut Draft<'_>) -> Result<Outcome<T>, Failure>,
) -> Result<Step<T>, Failure> {
    let mut draft = Draft::new(record);
    clock::settle_in(&mut draft, env);
    let outcome = body(&mut draft)?;
    draft.summarise_refusals_after_interval(env.now);
    Ok(draft.finish(outcome))
}
