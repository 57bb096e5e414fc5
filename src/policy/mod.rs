//! Who must use MFA, and what happens after the password step.
//!
//! A [`Policy`] turns what the host knows of a sign-in ([`SignInContext`]) and what the
//! record says of the user ([`UserFacts`]) into a [`Decision`]: let in, ask for a second
//! factor, suggest or require enrollment, or refuse. Every decision carries a
//! machine-readable [`Reason`] so the host can show the right message.
//!
//! [`StandardPolicy`] implements the rules R9-R15, R18, R19 and R20 of `docs/requirements.md` from an
//! organisation's [`OrgSettings`] (passed in with each sign-in) and the optional
//! compliance [`Preset`]s; hosts with other rules implement [`Policy`] themselves.
//! Changing an organisation's settings is a privileged, audited action:
//! [`crate::flow::oversight::change_org_settings`] (R22).

mod network;
mod session;
mod settings;
mod standard;

use std::sync::Arc;

use crate::record::{DeviceToken, UserRecord};
use crate::vocabulary::{LockoutRule, Method, Outcome, Reason, RequestContext};

pub use network::{IpNetwork, NetworkError};
pub use session::{SessionFacts, SessionLimits};
pub use settings::{
    BackupRule, Jurisdiction, Level, OrgSettings, OrgSettingsBuilder, Preset, SettingChange, SettingsError,
};
pub use standard::StandardPolicy;

/// How long a started enrollment stays open: 10 minutes (seed 004).
pub const DEFAULT_ENROLLMENT_LIFETIME: u64 = 600;

/// How recently a second factor must have been proved before a sensitive action
/// ([`crate::vocabulary::SensitiveAction`]): 5 minutes.
pub const DEFAULT_FRESH_PROOF_WINDOW: u64 = 300;

/// What the host knows of this sign-in, beyond the password it has checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignInContext {
    /// The client's address and device, for the allowlist and the audit log.
    pub request: RequestContext,
    /// The host's type of user (for example `practitioner`, `client_admin`).
    pub user_type: Option<String>,
    /// Whether the user is a principal (owner or partner) of the organisation.
    pub principal: bool,
    /// Whether the user signed in through single sign-on, whose provider does MFA.
    pub via_sso: bool,
    /// The organisation's settings, as its admin saved them; `None` uses the policy's
    /// defaults.
    pub org: Option<Arc<OrgSettings>>,
    /// Where the organisation is and what it is connected to.
    pub jurisdiction: Jurisdiction,
    /// The remembered-device token from the browser's cookie, if any.
    pub device_token: Option<DeviceToken>,
    /// The session this request comes from, if the host has sessions (a web host
    /// always does: `mfa-kit-axum` sets it on every context it hands out). With it,
    /// step-up judges this session's own proof, so a code typed in one browser does not
    /// make another session of the same user fresh, and a session from before a change
    /// of the account's protection can prove and change nothing.
    ///
    /// `None` is for hosts without sessions (a command-line tool, a single-request
    /// API): step-up then judges the most recent proof in the user's record, from any
    /// session, which is unsafe wherever one user can have several sessions.
    pub session: Option<SessionFacts>,
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

    /// The same context for a principal user.
    #[must_use]
    pub fn as_principal(mut self) -> SignInContext {
        self.principal = true;
        self
    }

    /// The same context, marked as a single sign-on.
    #[must_use]
    pub fn with_sso(mut self, via_sso: bool) -> SignInContext {
        self.via_sso = via_sso;
        self
    }

    /// The same context for a request made in organisation `org` (see
    /// [`RequestContext::org`]): its events are filed under it. Pair it with the
    /// organisation's settings ([`SignInContext::with_org`]).
    #[must_use]
    pub fn in_org(mut self, org: impl Into<crate::vocabulary::OrgId>) -> SignInContext {
        self.request.org = Some(org.into());
        self
    }

    /// The same context with the organisation's settings.
    #[must_use]
    pub fn with_org(mut self, settings: Arc<OrgSettings>) -> SignInContext {
        self.org = Some(settings);
        self
    }

    /// The same context with the remembered-device token read from the cookie.
    #[must_use]
    pub fn with_device_token(mut self, token: DeviceToken) -> SignInContext {
        self.device_token = Some(token);
        self
    }

    /// The same context for a request of this session (see [`SignInContext::session`]).
    #[must_use]
    pub fn with_session(mut self, session: SessionFacts) -> SignInContext {
        self.session = Some(session);
        self
    }

    /// The same context with the organisation's jurisdiction.
    #[must_use]
    pub fn with_jurisdiction(mut self, jurisdiction: Jurisdiction) -> SignInContext {
        self.jurisdiction = jurisdiction;
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
    /// Whether the user has a backup method (a backup destination or recovery codes).
    pub has_backup: bool,
    /// Whether the user has MFA: an authenticator or a confirmed primary destination
    /// ([`UserRecord::has_mfa`]); backup methods alone are not MFA.
    pub enrolled: bool,
    /// Whether an admin reset the user's MFA and the user has not set it up again.
    pub must_enroll: bool,
    /// Whether too many failures disabled the second factor until an admin reset.
    pub disabled: bool,
    /// Whether the user has a confirmed backup phone number or e-mail address (of a
    /// method that counts), the backup [`BackupRule::RequireDestination`] asks for.
    pub has_backup_destination: bool,
}

impl UserFacts {
    /// Facts of a user with these methods and lock (a recovery code counts as a backup).
    pub fn new(methods: Vec<Method>, locked_until: Option<u64>) -> UserFacts {
        let has_backup = methods.contains(&Method::RecoveryCode);
        let enrolled = methods.iter().any(|m| *m != Method::RecoveryCode);
        UserFacts {
            methods,
            locked_until,
            has_backup,
            enrolled,
            must_enroll: false,
            disabled: false,
            has_backup_destination: false,
        }
    }

    /// What `record` says at `now`: the methods set up, a running lockout, a backup.
    pub fn of(record: &UserRecord, now: u64) -> UserFacts {
        UserFacts::of_allowing(record, now, |_| true)
    }

    /// What `record` says at `now` counting only the methods `allowed` as factors: a
    /// user whose only factor is a method the organisation refuses (codes by e-mail
    /// under the NIST preset) is not enrolled, and a backup of such a method is none.
    pub fn of_allowing(record: &UserRecord, now: u64, allowed: impl Fn(Method) -> bool) -> UserFacts {
        UserFacts {
            methods: record.methods(),
            locked_until: record.failures().lock_at(now),
            has_backup: record.has_backup_allowing(&allowed),
            enrolled: record.has_mfa_allowing(&allowed),
            must_enroll: record.must_enroll(),
            disabled: record.failures().disabled_at().is_some(),
            has_backup_destination: record
                .destination_state()
                .confirmed(crate::vocabulary::Role::Backup)
                .is_some_and(|backup| allowed(backup.destination().method())),
        }
    }

    /// Whether the user has MFA (see [`UserFacts::enrolled`]).
    pub fn has_mfa(&self) -> bool {
        self.enrolled
    }
}

/// What the host should do after the password step, when it is not refused (a
/// lockout or an address off the allowlist is a [`crate::Refusal`]).
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
        /// After the proof, ask the user to set up a backup method: the policy requires
        /// one (principal users, seed 004) and the user has none that counts.
        needs_backup: bool,
        /// The backup is required before going on, not only suggested: send the user
        /// to add a backup phone number or e-mail address right after the proof (the
        /// organisation's [`OrgSettingsBuilder::principal_backup`] is
        /// [`BackupRule::RequireDestination`]).
        backup_blocking: bool,
        /// The offered methods that are restricted authenticators (NIST SP 800-63B-4
        /// §3.2.9: codes by SMS): where one is offered, tell the user the risk (a
        /// number can be taken over, messages intercepted) and offer an unrestricted
        /// alternative (an authenticator app, a security key), which the user should
        /// set up if `methods` holds nothing else.
        restricted: Vec<Method>,
        /// After the proof, offer the user to register a security key or passkey: they
        /// have none, and the organisation offers a phishing-resistant option (NIST
        /// SP 800-63B-4 §2.2.2, the NIST preset) or requires one of them.
        offer_security_key: bool,
        /// Registering a security key is required before going on, not only offered:
        /// the organisation requires a phishing-resistant factor of this user
        /// ([`OrgSettingsBuilder::phishing_resistant_for`]) and they have none yet. Once they
        /// have one, `methods` offers it (and recovery codes) alone.
        security_key_blocking: bool,
    },
    /// Let the user in, but prompt them to set up MFA first; they may dismiss it.
    SuggestEnrollment {
        /// Why.
        reason: Reason,
        /// When the prompt becomes a requirement (the grace deadline), if it will.
        deadline: Option<u64>,
    },
    /// Block the user until MFA is set up.
    RequireEnrollment {
        /// Why.
        reason: Reason,
    },
}

impl Decision {
    /// The rule that decided.
    pub fn reason(&self) -> Reason {
        match self {
            Decision::Allow { reason }
            | Decision::Challenge { reason, .. }
            | Decision::SuggestEnrollment { reason, .. }
            | Decision::RequireEnrollment { reason } => *reason,
        }
    }
}

/// The rules of a deployment. [`StandardPolicy`] is the configurable standard;
/// implement this trait to replace it entirely.
///
/// Its methods are asked while a change is made to a user's record: on a store that
/// changes records in place ([`crate::store::Store::change_in_place`], as `MemoryStore`
/// does), under the lock that guards the record. They answer from what they are given
/// and what the policy holds: they must not call the service or the store back (the
/// lock is not taken twice), nor wait on I/O.
pub trait Policy: Send + Sync {
    /// What to do after the password step, or why the user may not sign in at all
    /// ([`crate::Refusal::AddressNotAllowed`], [`crate::Refusal::LockedOut`]).
    ///
    /// # Errors
    /// The [`crate::Refusal`] when the sign-in is refused.
    fn decide(&self, context: &SignInContext, user: &UserFacts, now: u64) -> Outcome<Decision>;

    /// Why this request is refused whoever the user is (an address off the allowlist),
    /// if it is. Checked before every proof and set-up; it must agree with
    /// [`Policy::decide`], whose refusal of the same request it is. The default asks
    /// `decide` about a user with no facts.
    fn refuse_request(&self, context: &SignInContext, now: u64) -> Option<crate::vocabulary::Refusal> {
        self.decide(context, &UserFacts::default(), now)
            .err()
            .filter(|refusal| *refusal == crate::vocabulary::Refusal::AddressNotAllowed)
    }

    /// The lockout rule for this sign-in.
    fn lockout(&self, context: &SignInContext) -> LockoutRule;

    /// How long a started enrollment stays open, in seconds.
    fn enrollment_lifetime(&self, context: &SignInContext) -> u64;

    /// Whether the user may turn their own MFA off; `Err` names the rule that forbids it.
    ///
    /// # Errors
    /// The [`Reason`] deactivation is forbidden.
    fn may_deactivate(&self, context: &SignInContext, user: &UserFacts) -> Result<(), Reason>;

    /// Whether an admin may turn the user's MFA off ([`crate::ResetMode::TurnOff`]):
    /// where the user's level allows going without it (R21). `Err` names the rule that
    /// forbids it. Default: as [`Policy::may_deactivate`]; the standard policy lets an
    /// admin do it where only the organisation's own switch keeps users from turning
    /// it off themselves ([`OrgSettingsBuilder::allow_self_deactivation`]).
    ///
    /// # Errors
    /// The [`Reason`] turning MFA off is forbidden.
    fn may_turn_off(&self, context: &SignInContext, user: &UserFacts) -> Result<(), Reason> {
        self.may_deactivate(context, user)
    }

    /// The longest a remembered device may skip the second factor, in seconds (0: never).
    fn remember_device_max(&self, context: &SignInContext) -> u64;

    /// Whether this user must have a backup method besides the authenticator app.
    fn backup_required(&self, context: &SignInContext) -> bool;

    /// Whether this sign-in may use `method` (an organisation may refuse codes by
    /// e-mail or SMS). All are allowed unless a policy says otherwise.
    fn method_allowed(&self, context: &SignInContext, method: Method) -> bool {
        let _ = (context, method);
        true
    }

    /// Whether this user must prove with a phishing-resistant factor (a security key
    /// or passkey) once they have one: codes are then refused at sign-in and step-up,
    /// and a user without one is sent to register one after their next proof
    /// ([`Decision::Challenge`]'s `security_key_blocking`). None must unless a policy says so.
    fn phishing_resistant_required(&self, context: &SignInContext) -> bool {
        let _ = context;
        false
    }

    /// The longest TOTP period new authenticators may have, in seconds, if limited.
    fn max_totp_period(&self, context: &SignInContext) -> Option<u64> {
        let _ = context;
        None
    }

    /// How recently a second factor must have been proved before a sensitive action,
    /// in seconds (default [`DEFAULT_FRESH_PROOF_WINDOW`]).
    fn fresh_proof_window(&self, context: &SignInContext) -> u64 {
        let _ = context;
        DEFAULT_FRESH_PROOF_WINDOW
    }

    /// How long the organisation's audit trail must be kept, in seconds: events
    /// younger than this are never pruned ([`crate::service::MfaService::prune_audit`]).
    /// Default: 0, no retention rule.
    fn audit_retention(&self, context: &SignInContext) -> u64 {
        let _ = context;
        0
    }

    /// How long a signed-in session may last, overall and without activity (default
    /// [`SessionLimits::DEFAULT`]).
    fn session_limits(&self, context: &SignInContext) -> SessionLimits {
        let _ = context;
        SessionLimits::DEFAULT
    }

    /// Why the user may not set up MFA at all, if they may not: a user signing in
    /// through single sign-on where the organisation says MFA belongs to its SSO
    /// provider (seed 003: "if the accounting firm uses an SSO connection, MFA cannot
    /// be activated"). Default: never.
    fn mfa_unavailable(&self, context: &SignInContext) -> Option<Reason> {
        let _ = context;
        None
    }

    /// Whether signing in with a recovery code ends the user's other sessions (as a
    /// change of how the account is protected does). Default `false`.
    fn recovery_code_ends_other_sessions(&self, context: &SignInContext) -> bool {
        let _ = context;
        false
    }

    /// Whether the user is prompted to replace the whole set of recovery codes once any
    /// code of it has been used (NIST SP 800-63B-4 §4.2). Default `false`.
    fn replace_recovery_codes_after_use(&self, context: &SignInContext) -> bool {
        let _ = context;
        false
    }

    /// The compliance presets in force for this context, for an organisation's
    /// evidence report ([`crate::flow::evidence`]). Default: none (a host's own policy
    /// that follows a preset's rules may name it here).
    fn presets_in_force(&self, context: &SignInContext) -> Vec<Preset> {
        let _ = context;
        Vec::new()
    }

    /// The organisation settings in force for this context, presets applied, if the
    /// policy is made of them (for the evidence report). Default `None`: a host's own
    /// policy need not keep its rules as [`OrgSettings`].
    fn settings_in_force(&self, context: &SignInContext) -> Option<OrgSettings> {
        let _ = context;
        None
    }
}

impl<T: Policy + ?Sized> Policy for Arc<T> {
    fn decide(&self, context: &SignInContext, user: &UserFacts, now: u64) -> Outcome<Decision> {
        (**self).decide(context, user, now)
    }
    fn audit_retention(&self, context: &SignInContext) -> u64 {
        (**self).audit_retention(context)
    }
    fn refuse_request(&self, context: &SignInContext, now: u64) -> Option<crate::vocabulary::Refusal> {
        (**self).refuse_request(context, now)
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
    fn may_turn_off(&self, context: &SignInContext, user: &UserFacts) -> Result<(), Reason> {
        (**self).may_turn_off(context, user)
    }
    fn remember_device_max(&self, context: &SignInContext) -> u64 {
        (**self).remember_device_max(context)
    }
    fn backup_required(&self, context: &SignInContext) -> bool {
        (**self).backup_required(context)
    }
    fn method_allowed(&self, context: &SignInContext, method: Method) -> bool {
        (**self).method_allowed(context, method)
    }
    fn max_totp_period(&self, context: &SignInContext) -> Option<u64> {
        (**self).max_totp_period(context)
    }
    fn phishing_resistant_required(&self, context: &SignInContext) -> bool {
        (**self).phishing_resistant_required(context)
    }
    fn fresh_proof_window(&self, context: &SignInContext) -> u64 {
        (**self).fresh_proof_window(context)
    }
    fn session_limits(&self, context: &SignInContext) -> SessionLimits {
        (**self).session_limits(context)
    }
    fn recovery_code_ends_other_sessions(&self, context: &SignInContext) -> bool {
        (**self).recovery_code_ends_other_sessions(context)
    }
    fn mfa_unavailable(&self, context: &SignInContext) -> Option<Reason> {
        (**self).mfa_unavailable(context)
    }
    fn replace_recovery_codes_after_use(&self, context: &SignInContext) -> bool {
        (**self).replace_recovery_codes_after_use(context)
    }
    fn presets_in_force(&self, context: &SignInContext) -> Vec<Preset> {
        (**self).presets_in_force(context)
    }
    fn settings_in_force(&self, context: &SignInContext) -> Option<OrgSettings> {
        (**self).settings_in_force(context)
    }
}
