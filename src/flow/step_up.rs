//! Step-up: a fresh second-factor proof before a sensitive action.
//!
//! A signed-in session is not enough to change how an account is protected, or to
//! change what a payroll product pays out: the user proves a second factor again, and
//! the action goes ahead only within the policy's window after that proof
//! ([`crate::policy::Policy::fresh_proof_window`], 5 minutes by default, capped by the
//! ATO and NIST presets). The crate checks this itself before each of its sensitive
//! changes (a new or replaced authenticator, a destination added or removed, new
//! recovery codes, a remembered device, an admin's reset or settings change); the host
//! asks [`host_action`] before its own, naming it, so that the trail says which of its
//! actions a proof allowed (or [`check`] with [`SensitiveAction::Host`], which audits
//! nothing).
//!
//! Which proof counts: with a session in the context
//! ([`crate::policy::SignInContext::with_session`], which `mfa-kit-axum` sets on every
//! context it hands out), only that session's own proof
//! ([`crate::policy::SessionFacts::proved_at`]): a code typed in another browser does
//! not make this one fresh, and a session that never proved a second factor (let in by
//! a remembered device) is never fresh. A session that has ended because the account's
//! protection changed ([`super::session`]) may do nothing at all, and no session may
//! while the user's second factor is locked out or disabled ([`StepUp::Locked`]). Only
//! a context without a session (a host without sessions) falls back on the most recent
//! proof in the user's record, from any session.
//!
//! A user with no second factor yet may set up the first one without a proof: there is
//! nothing to prove with, and the sign-in decision already asks for enrollment where
//! the policy requires it.

use super::{Draft, Env};
use crate::event::{EventKind, Events};
use crate::record::{LastProof, UserRecord};
use crate::vocabulary::{HostAction, Method, Refusal, SensitiveAction, SessionEnd};

/// What to do before a sensitive action.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepUp {
    /// Go ahead: a second factor was proved recently enough (`proof`), or the action
    /// sets up the user's first factor and needs none (`proof` is `None`).
    Proceed {
        /// The proof that makes the action fresh, if one was needed.
        proof: Option<LastProof>,
    },
    /// Ask for a second factor first, with one of `methods`, then retry the action
    /// within `window` seconds.
    Prove {
        /// The methods the user can prove with and the policy allows, strongest first.
        methods: Vec<Method>,
        /// How long the proof counts as fresh, in seconds.
        window: u64,
    },
    /// The user has no second factor to prove with: set one up first.
    EnrollFirst,
    /// The session asking has ended (the account's protection changed since it began):
    /// sign it out; nothing may be done from it.
    SignInAgain(SessionEnd),
    /// The account's MFA changes are frozen after a "this wasn't me" link
    /// ([`super::disown`]): nothing sensitive may be done until an admin's reset.
    Frozen,
    /// The user's second factor is locked out after wrong codes, or disabled by the
    /// hard limit ([`Refusal::LockedOut`], [`Refusal::Disabled`]): a proof made before
    /// does not carry a sensitive action through it (as it does not carry an admin's
    /// reset); wait for the lockout's end, or an admin's reset.
    Locked(Refusal),
}

impl StepUp {
    /// Whether the action may go ahead now.
    pub fn may_proceed(&self) -> bool {
        matches!(self, StepUp::Proceed { .. })
    }

    /// The refusal of an action that may not go ahead now, if it may not.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            StepUp::Proceed { .. } => None,
            StepUp::Prove { .. } => Some(Refusal::FreshProofRequired),
            StepUp::EnrollFirst => Some(Refusal::NotEnrolled),
            StepUp::SignInAgain(ended) => Some(Refusal::SessionEnded(*ended)),
            StepUp::Frozen => Some(Refusal::AccountFrozen),
            StepUp::Locked(refusal) => Some(refusal.clone()),
        }
    }
}

/// Whether the record's user may do `action` now, or what to ask for first. For an
/// admin's action ([`SensitiveAction::ResetUser`], [`SensitiveAction::ChangeOrgSettings`])
/// `record` is the actor's record. Changes nothing.
pub fn check(record: &UserRecord, action: SensitiveAction, env: &Env<'_>) -> StepUp {
    if let Some(ended) = super::session::stale(record, env.context) {
        return StepUp::SignInAgain(ended);
    }
    if super::disown::refuse_frozen(record).is_some() {
        return StepUp::Frozen;
    }
    if let Some(locked) = record.failures.refusal_at(env.now) {
        return StepUp::Locked(locked);
    }
    if !super::has_mfa(record, env) {
        return if action.adds_a_factor() { StepUp::Proceed { proof: None } } else { StepUp::EnrollFirst };
    }
    let window = env.policy.fresh_proof_window(env.context);
    // Only a proof with a method the organisation allows counts (an e-mailed code does
    // not where e-mailed codes are refused), and, for a user who must prove with a
    // phishing-resistant factor and has one, only such a proof (or a recovery code's).
    let keys_only = super::security_key::phishing_resistant_required(record, env);
    let allowed = |method: Method| {
        env.policy.method_allowed(env.context, method)
            && (!keys_only || method.is_phishing_resistant() || method == Method::RecoveryCode)
    };
    let fresh = match env.context.session.map(|session| session.proved_at) {
        // A session that never proved a factor is never fresh.
        Some(None) => None,
        // The session's own proof, which the record must know of. It keeps the latest
        // proof of each method, so the session's method is one whose latest proof is
        // at or after the session's (proved again since, maybe, by another session):
        // the proof counts only if every such method is allowed, as the weakest of
        // them (another session's method is not credited to this one).
        Some(Some(at)) => {
            let methods = record.methods_proved_since(at);
            let method = methods.iter().copied().max_by_key(|method| weakness(*method));
            method.filter(|_| methods.iter().all(|method| allowed(*method))).and_then(|method| {
                UserRecord::proof_holds(at, env.now, window).then_some(LastProof { at, method })
            })
        }
        None => record.proved_within_allowing(env.now, window, allowed),
    };
    match fresh {
        Some(proof) => StepUp::Proceed { proof: Some(proof) },
        None => {
            let mut methods = record.methods();
            methods.retain(|method| allowed(*method));
            StepUp::Prove { methods, window }
        }
    }
}

/// How weak a proof of `method` is, in the order of [`UserRecord::methods`] (strongest
/// first): a security key, an authenticator app, a code by SMS, by e-mail, a recovery
/// code.
fn weakness(method: Method) -> u8 {
    match method {
        Method::SecurityKey => 0,
        Method::Totp => 1,
        Method::Sms => 2,
        Method::Email => 3,
        Method::RecoveryCode => 4,
    }
}

/// Whether the record's user may do the host's own sensitive `action` now, as
/// [`check`] with [`SensitiveAction::Host`], with what to audit: `host_action_allowed`
/// (with the action's name) when it may proceed, `host_action_refused` when the session
/// has ended, the account's changes are frozen or its second factor is locked out or
/// disabled, nothing when the answer only asks for a proof first ([`StepUp::Prove`],
/// [`StepUp::EnrollFirst`]). Changes nothing: the driver appends the events
/// ([`crate::store::Store::append_events`]).
pub fn host_action(record: &UserRecord, action: &HostAction, env: &Env<'_>) -> (StepUp, Events) {
    let answer = check(record, SensitiveAction::Host, env);
    let action = action.as_str().to_string();
    let event = match &answer {
        StepUp::Proceed { .. } => Some(EventKind::HostActionAllowed { action }),
        StepUp::SignInAgain(_) | StepUp::Frozen | StepUp::Locked(_) => {
            let refusal = answer.refusal().map(|refusal| refusal.code().to_string()).unwrap_or_default();
            Some(EventKind::HostActionRefused { action, refusal })
        }
        StepUp::Prove { .. } | StepUp::EnrollFirst => None,
    };
    (answer, event.map(Events::from).unwrap_or_default())
}

/// The refusal of a transition's sensitive `action` without a fresh proof, if any.
pub(crate) fn require(draft: &Draft<'_>, action: SensitiveAction, env: &Env<'_>) -> Option<Refusal> {
    check(draft.get(), action, env).refusal()
}
