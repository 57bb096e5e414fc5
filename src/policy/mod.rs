//! Who must use MFA, and what happens after the password step.
//!
//! A [`Policy`] turns what the host knows of a sign-in ([`SignInContext`]) and what the
//! record says of the user ([`UserFacts`]) into a [`Decision`]: let in, ask for a second
//! factor, suggest or require enrollment, or refuse. Every decision carries a
//! machine-readable [`Reason`] so the host can show the right message.
//!
//! [`DefaultPolicy`] asks enrolled users for a code and lets everyone else in. Lockout
//! limits and the enrollment lifetime are policy too, with the defaults of
//! [`LockoutRule::DEFAULT`] and [`DEFAULT_ENROLLMENT_LIFETIME`].

use serde::{Deserialize, Serialize};

use crate::audit::{Method, RequestContext};

/// How long a started enrollment stays open: 10 minutes.
pub const DEFAULT_ENROLLMENT_LIFETIME: u64 = 600;

/// What the host knows of this sign-in, beyond the password it has checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignInContext {
    /// The client's address and device, for audit (and allowlists).
    pub request: RequestContext,
    /// The host's type of user (for example `practitioner`, `client_admin`).
    pub user_type: Option<String>,
    /// Whether the user signed in through single sign-on, whose provider does MFA.
    pub via_sso: bool,
}

impl SignInContext {
    /// A context with the request's address and device.
    pub fn new(request: RequestContext) -> SignInContext {
        SignInContext { request, ..SignInContext::default() }
    }

    /// The same context with the host's user type.
    #[must_use]
    pub fn with_user_type(mut self, user_type: impl Into<String>) -> SignInContext {
        self.user_type = Some(user_type.into());
        self
    }

    /// The same context, marked as a single sign-on.
    #[must_use]
    pub fn with_sso(mut self, via_sso: bool) -> SignInContext {
        self.via_sso = via_sso;
        self
    }
}

/// What the record says of the user, as the policy needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserFacts {
    /// The second factors the user has set up, strongest first.
    pub methods: Vec<Method>,
    /// When the current lockout ends, if the user is locked out now.
    pub locked_until: Option<u64>,
}

impl UserFacts {
    /// Whether the user has any second factor.
    pub fn has_mfa(&self) -> bool {
        !self.methods.is_empty()
    }
}

/// Which rule decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// The user has MFA: they prove it at every sign-in, whatever the level.
    Enrolled,
    /// The user has no MFA and nothing asks for it.
    NotRequired,
    /// The user signed in through SSO; the identity provider handles MFA.
    SingleSignOn,
    /// The user is locked out after too many wrong codes.
    LockedOut,
}

/// What the host should do after the password step.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Let the user in.
    Allow {
        /// Why no second factor is needed.
        reason: Reason,
    },
    /// Ask for a second factor, offering these methods.
    Challenge {
        /// The methods the user can prove with, strongest first.
        methods: Vec<Method>,
        /// Why.
        reason: Reason,
    },
    /// Let the user in, but suggest setting up MFA first (the user may dismiss it).
    SuggestEnrollment {
        /// Why.
        reason: Reason,
        /// When the suggestion becomes a requirement, if it will.
        deadline: Option<u64>,
    },
    /// Block the user until MFA is set up.
    RequireEnrollment {
        /// Why.
        reason: Reason,
    },
    /// Do not let the user in.
    Refuse {
        /// Why.
        reason: Reason,
        /// When trying again may help (the end of a lockout).
        retry_at: Option<u64>,
    },
}

impl Decision {
    /// The rule that decided.
    pub fn reason(&self) -> Reason {
        match self {
            Decision::Allow { reason }
            | Decision::Challenge { reason, .. }
            | Decision::SuggestEnrollment { reason, .. }
            | Decision::RequireEnrollment { reason }
            | Decision::Refuse { reason, .. } => *reason,
        }
    }
}

/// How many wrong codes in a row lock a user out, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutRule {
    /// Consecutive failures that start a lockout (at least 1).
    pub max_failures: u32,
    /// How long a lockout lasts, in seconds.
    pub lock_seconds: u64,
}

impl LockoutRule {
    /// 5 failures, 15 minutes: the ATO's Operational Security Framework asks for a
    /// lockout after 5 failed attempts.
    pub const DEFAULT: LockoutRule = LockoutRule { max_failures: 5, lock_seconds: 900 };
}

impl Default for LockoutRule {
    fn default() -> Self {
        LockoutRule::DEFAULT
    }
}

/// The rules of a deployment. Implement it to replace the standard rules entirely.
pub trait Policy: Send + Sync {
    /// What to do after the password step.
    fn decide(&self, context: &SignInContext, user: &UserFacts, now: u64) -> Decision;

    /// The lockout rule for this sign-in.
    fn lockout(&self, context: &SignInContext) -> LockoutRule {
        let _ = context;
        LockoutRule::DEFAULT
    }

    /// How long a started enrollment stays open, in seconds.
    fn enrollment_lifetime(&self, context: &SignInContext) -> u64 {
        let _ = context;
        DEFAULT_ENROLLMENT_LIFETIME
    }

    /// Whether the user may deactivate their MFA; `Err` says which rule forbids it.
    ///
    /// # Errors
    /// The [`Reason`] deactivation is forbidden.
    fn may_deactivate(&self, context: &SignInContext, user: &UserFacts) -> Result<(), Reason> {
        let _ = (context, user);
        Ok(())
    }
}

/// Asks enrolled users for a code, refuses locked-out ones, lets everyone else in.
/// SSO sign-ins are never asked.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultPolicy;

impl Policy for DefaultPolicy {
    fn decide(&self, context: &SignInContext, user: &UserFacts, now: u64) -> Decision {
        if context.via_sso {
            return Decision::Allow { reason: Reason::SingleSignOn };
        }
        if let Some(until) = user.locked_until.filter(|until| now < *until) {
            return Decision::Refuse { reason: Reason::LockedOut, retry_at: Some(until) };
        }
        if user.has_mfa() {
            Decision::Challenge { methods: user.methods.clone(), reason: Reason::Enrolled }
        } else {
            Decision::Allow { reason: Reason::NotRequired }
        }
    }
}

impl<T: Policy + ?Sized> Policy for std::sync::Arc<T> {
    fn decide(&self, context: &SignInContext, user: &UserFacts, now: u64) -> Decision {
        (**self).decide(context, user, now)
    }
    fn lockout(&self, context: &SignInContext) -> LockoutRule {
        (**self).lockout(context)
    }
    fn enrollment_lifetime(&self, context: &SignInContext) -> u64 {
        (**self).enrollment_lifetime(context)
    }
    fn may_deactivate(&self, context: &SignInContext, user: &UserFacts) -> Result<(), Reason> {
        (**self).may_deactivate(context, user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_decisions() {
        let plain = SignInContext::default();
        let enrolled = UserFacts { methods: vec![Method::Totp], locked_until: None };
        let none = UserFacts::default();
        assert_eq!(
            DefaultPolicy.decide(&plain, &enrolled, 100),
            Decision::Challenge { methods: vec![Method::Totp], reason: Reason::Enrolled }
        );
        assert_eq!(DefaultPolicy.decide(&plain, &none, 100), Decision::Allow { reason: Reason::NotRequired });
        let locked = UserFacts { locked_until: Some(200), ..enrolled.clone() };
        assert_eq!(
            DefaultPolicy.decide(&plain, &locked, 100),
            Decision::Refuse { reason: Reason::LockedOut, retry_at: Some(200) }
        );
        assert_eq!(DefaultPolicy.decide(&plain, &locked, 200).reason(), Reason::Enrolled);
        let sso = SignInContext::default().with_sso(true);
        assert_eq!(DefaultPolicy.decide(&sso, &enrolled, 100).reason(), Reason::SingleSignOn);
    }
}
