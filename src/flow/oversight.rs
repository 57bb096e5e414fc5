//! Oversight: an admin's reset (R21), a change of who must use MFA (R22) and the status
//! list (R23).

use serde::{Deserialize, Serialize};

use super::step_up::StepUp;
use super::{Draft, Env, Step, run_in};
use crate::event::{EventKind, Events};
use crate::policy::{Decision, OrgSettings, UserFacts};
use crate::record::UserRecord;
use crate::vocabulary::{Cleared, Method, Refusal, ResetMode, Revocation, SensitiveAction, UserId};

/// An admin or principal user resets the record's user's MFA (the user lost the
/// phone, or is locked out): every factor, enrollment, lockout, recovery code,
/// destination and device is cleared, and every session of the user ends. `mode` says
/// what the user is left with (R21):
/// - [`ResetMode::RequireEnrollment`]: the user must enroll again at the next sign-in,
///   whatever the level (seed 004; a disabled second factor is enabled again this way);
/// - [`ResetMode::TurnOff`]: MFA is off and the user signs in without it until they
///   set it up again themselves (seed 001). Refused (and audited) where the policy
///   forbids turning MFA off for the user ([`crate::policy::Policy::may_turn_off`]:
///   the user's level, not the organisation's switch that keeps users from turning it
///   off themselves), judged with `env.context`'s user type: where levels differ by
///   user type, call [`reset_of_type`] with the user's own.
///
/// `env.context` is the admin's own request: its session and user type judge the
/// admin's fresh proof, as [`super::step_up::check`] does for the admin before the
/// reset (an admin who must prove with a security key resets nobody on an app code).
///
/// `actor` is the admin's own record; `permitted` is the host's answer to "may this
/// actor reset this user's MFA, with this mode, in this organisation?" (the service
/// asks its [`crate::service::permissions::Permissions`]). Refused (and audited as
/// `reset_refused`) when not permitted, without a reason, for a self-reset, when the
/// actor has no MFA of their own, while the actor's own second factor is locked out or
/// disabled ([`Refusal::LockedOut`], [`Refusal::Disabled`]), and when the actor has not
/// proved a second factor within the policy's step-up window ([`super::step_up`]).
/// The `reset_by_admin` event
/// records the mode and the reason, trimmed and cut at [`MAX_REASON_CHARS`] characters
/// (an ellipsis marks the cut: the trail holds every reset, and one pasted page must not
/// swell it). `env.context` must be made in the organisation the reset is for
/// (its rules judge the reset): a driver refuses any other before asking, as the
/// service does ([`crate::service::Error::OrgMismatch`]).
pub fn reset(
    record: &mut UserRecord,
    actor: &UserRecord,
    reason: &str,
    mode: ResetMode,
    permitted: bool,
    env: &Env<'_>,
) -> Step<Vec<Cleared>> {
    reset_of_type(record, actor, reason, mode, None, permitted, env)
}

/// As [`reset`], with the target's `user_type` (the host's name for it, as
/// [`crate::policy::SignInContext::with_user_type`] takes): [`ResetMode::TurnOff`] is
/// judged at that type's level, while the admin is still judged with `env.context`,
/// the admin's own request. `None` judges both with `env.context`, as [`reset`] does.
pub fn reset_of_type(
    record: &mut UserRecord,
    actor: &UserRecord,
    reason: &str,
    mode: ResetMode,
    user_type: Option<&str>,
    permitted: bool,
    env: &Env<'_>,
) -> Step<Vec<Cleared>> {
    // A reset the host does not permit leaves the target's record as it is (not even
    // its clock rule or its refusal summary runs): the actor may have no business with
    // it, and a change would file it under the actor's organisation.
    if !permitted {
        return super::run(record, |draft| {
            draft.emit(EventKind::ResetRefused { reason: Refusal::NotPermitted.to_string() });
            Err(Refusal::NotPermitted)
        });
    }
    let target_context = user_type.map(|user_type| env.context.clone().with_user_type(user_type));
    let target = Env { context: target_context.as_ref().unwrap_or(env.context), ..*env };
    run_in(record, env, |draft| {
        let refusal = reset_refusal(draft.get(), actor, reason, mode, env, &target);
        if let Some(refusal) = refusal {
            draft.emit(EventKind::ResetRefused { reason: refusal.to_string() });
            return Err(refusal);
        }
        // A lockout that expired unnoticed is ended first, so each one started is ended
        // once in the trail.
        draft.lift_expired_lock(env.now);
        let locked = draft.get().failures.is_locked(env.now);
        let mut cleared = clear_factors(draft);
        if locked {
            draft.emit(EventKind::LockoutEnded);
        }
        if super::device::revoke_every(draft, Revocation::Reset) > 0 {
            cleared.push(Cleared::RememberedDevices);
        }
        // Either the user sets MFA up again at the next sign-in, whatever the level, or
        // MFA is off until they set it up themselves; in both modes every session of
        // the user ends (the reset may be the answer to a stolen cookie).
        draft.edit().must_enroll = match mode {
            ResetMode::RequireEnrollment => true,
            ResetMode::TurnOff => false,
        };
        draft.protection_changed();
        draft.emit(EventKind::ResetByAdmin { reason: kept_reason(reason), cleared: cleared.clone(), mode });
        Ok(cleared)
    })
}

/// The most characters of an admin's reason for a reset the audit event keeps.
pub const MAX_REASON_CHARS: usize = 500;

/// The reason as the trail keeps it: trimmed, and cut at [`MAX_REASON_CHARS`]
/// characters with an ellipsis after the cut.
fn kept_reason(reason: &str) -> String {
    let reason = reason.trim();
    match reason.char_indices().nth(MAX_REASON_CHARS) {
        None => reason.to_string(),
        Some((cut, _)) => format!("{}…", reason[..cut].trim_end()),
    }
}

/// Why this reset of `record`'s user by `actor` is refused, if it is: in the order an
/// admin would fix them (permission, a reason, someone else, the actor's own fresh
/// proof, the mode). The actor is judged in `env` (the admin's request), the mode in
/// `target` (the same, made for the target's user type).
fn reset_refusal(
    record: &UserRecord,
    actor: &UserRecord,
    reason: &str,
    mode: ResetMode,
    env: &Env<'_>,
    target: &Env<'_>,
) -> Option<Refusal> {
    if reason.trim().is_empty() {
        Some(Refusal::ReasonRequired)
    } else if record.user == actor.user {
        Some(Refusal::SelfReset)
    } else if let Some(refusal) = actor_refusal(actor, SensitiveAction::ResetUser, env) {
        Some(refusal)
    } else {
        mode_refusal(record, mode, target)
    }
}

/// Clears every factor and the lockout, and says which of them there were.
fn clear_factors(draft: &mut Draft<'_>) -> Vec<Cleared> {
    let before = draft.get();
    let had = [
        (!before.authenticators.is_empty(), Cleared::Authenticator),
        (before.pending_enrollment.is_some(), Cleared::PendingEnrollment),
        (before.failures != Default::default(), Cleared::Lockout),
        (before.recovery.is_some(), Cleared::RecoveryCodes),
        (!before.oob.is_empty(), Cleared::BackupDestinations),
        (!before.rare.security_keys.is_empty() || before.rare.ceremony.is_some(), Cleared::SecurityKeys),
        (before.rare.frozen.is_some(), Cleared::Freeze),
    ];
    let cleared: Vec<Cleared> = had.iter().filter(|(present, _)| *present).map(|(_, what)| *what).collect();
    if !cleared.is_empty() {
        let record = draft.edit();
        record.authenticators.clear();
        record.pending_enrollment = None;
        record.failures = Default::default();
        record.recovery = None;
        record.oob.clear_keeping_send_times();
        record.rare.edit().security_keys.clear();
        record.rare.edit().ceremony = None;
        record.rare.edit().frozen = None;
    }
    cleared
}

/// Why the reset's `mode` is refused for the record's user: turning MFA off where the
/// policy forbids it.
fn mode_refusal(record: &UserRecord, mode: ResetMode, env: &Env<'_>) -> Option<Refusal> {
    match mode {
        ResetMode::TurnOff => {
            let facts = super::facts(record, env);
            env.policy.may_turn_off(env.context, &facts).err().map(Refusal::Forbidden)
        }
        ResetMode::RequireEnrollment => None,
    }
}

/// An admin's reset of a user's MFA, as asked: by `actor`, of `target`, in
/// organisation `org` (the host's id, which the permission check is asked about),
/// with the admin's `reason` and the `mode` the user is left with
/// ([`ResetMode::RequireEnrollment`] unless [`ResetRequest::with_mode`] says otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResetRequest<'a> {
    /// The host's id of the organisation.
    pub org: &'a str,
    /// The admin who resets.
    pub actor: &'a UserId,
    /// The user whose MFA is reset.
    pub target: &'a UserId,
    /// Why, in the admin's words (required, for the audit trail).
    pub reason: &'a str,
    /// What the user is left with.
    pub mode: ResetMode,
    /// The target's user type, which [`ResetMode::TurnOff`] is judged at
    /// ([`ResetRequest::for_user_type`]); `None`: the request context's.
    pub user_type: Option<&'a str>,
}

impl<'a> ResetRequest<'a> {
    /// `actor` asks to reset `target`'s MFA in `org` because of `reason`; the user must
    /// set MFA up again ([`ResetMode::RequireEnrollment`]).
    pub fn new(org: &'a str, actor: &'a UserId, target: &'a UserId, reason: &'a str) -> ResetRequest<'a> {
        ResetRequest { org, actor, target, reason, mode: ResetMode::RequireEnrollment, user_type: None }
    }

    /// The same reset, leaving the user with `mode`.
    #[must_use]
    pub fn with_mode(mut self, mode: ResetMode) -> ResetRequest<'a> {
        self.mode = mode;
        self
    }

    /// The same reset of a user of `user_type` (the host's name for it): where levels
    /// differ by user type, [`ResetMode::TurnOff`] is judged at the target's, while the
    /// request context stays the admin's own.
    #[must_use]
    pub fn for_user_type(mut self, user_type: &'a str) -> ResetRequest<'a> {
        self.user_type = Some(user_type);
        self
    }
}

/// A change of an organisation's MFA settings that an actor asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SettingsChange<'a> {
    /// The host's id of the organisation.
    pub org: &'a str,
    /// Who asks for the change.
    pub actor: &'a UserId,
    /// The settings in force now.
    pub current: &'a OrgSettings,
    /// The settings asked for.
    pub new: OrgSettings,
}

impl<'a> SettingsChange<'a> {
    /// `actor` asks to change `org`'s settings from `current` to `new`.
    pub fn new(
        org: &'a str,
        actor: &'a UserId,
        current: &'a OrgSettings,
        new: OrgSettings,
    ) -> SettingsChange<'a> {
        SettingsChange { org, actor, current, new }
    }
}

/// Why an admin's `action` is refused because of the admin's own second factor: none
/// set up, disabled by the hard limit or locked out (a proof made before that does not
/// carry a privileged action through it), or none proved within the step-up window.
fn actor_refusal(actor: &UserRecord, action: SensitiveAction, env: &Env<'_>) -> Option<Refusal> {
    // Step-up answers a locked-out or disabled factor too (`StepUp::Locked`).
    match super::step_up::check(actor, action, env) {
        StepUp::EnrollFirst => Some(Refusal::ActorWithoutMfa),
        other => other.refusal(),
    }
}

/// Changes an organisation's MFA settings: a privileged action (R22). `permitted` is
/// the host's answer to "may this actor change them?"; `actor` is the actor's own
/// record, who must have MFA, not locked out or disabled, and have proved it within
/// the policy's step-up window ([`super::step_up`]). Returns the validated settings with the event that records
/// the change (old and new settings), or the refusal with the event that records it.
/// The host saves the settings and the event together (in one transaction, where it
/// can); the event's user and actor are both the actor. `env.context` must be made in
/// `change.org` (its step-up window and rules judge the change): a driver refuses any
/// other before asking, as the service does ([`crate::service::Error::OrgMismatch`]).
pub fn change_org_settings(
    change: SettingsChange<'_>,
    actor: &UserRecord,
    permitted: bool,
    env: &Env<'_>,
) -> Step<OrgSettings> {
    let refusal = if !permitted || actor.user != *change.actor {
        Some(Refusal::NotPermitted)
    } else {
        actor_refusal(actor, SensitiveAction::ChangeOrgSettings, env)
    };
    let SettingsChange { org, current, new, .. } = change;
    let (outcome, kind) = match refusal {
        Some(refusal) => {
            let kind =
                EventKind::OrgSettingsChangeRefused { org: org.to_string(), reason: refusal.to_string() };
            (Err(refusal), kind)
        }
        None => {
            let kind = EventKind::OrgSettingsChanged {
                org: org.to_string(),
                old: Box::new(current.clone()),
                new: Box::new(new.clone()),
            };
            (Ok(new), kind)
        }
    };
    Step { outcome, events: Events::from(kind), changed: false }
}

/// One row of the admin's MFA status list (R23). Holds no secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserStatus {
    /// The user.
    pub user: UserId,
    /// Whether the user has MFA: an authenticator or a confirmed primary destination
    /// (backup methods alone are not MFA).
    pub mfa: bool,
    /// The second factors set up, strongest first, backups included.
    pub methods: Vec<Method>,
    /// Since when the user has MFA: when the oldest factor the organisation counts was
    /// set up (an authenticator app or security key, or the primary phone number or
    /// e-mail address confirmed).
    pub enrolled_since: Option<u64>,
    /// How many authenticator apps the user has.
    pub authenticators: usize,
    /// When the user last proved a second factor, by any method.
    pub last_used: Option<u64>,
    /// Which method that was.
    pub last_method: Option<Method>,
    /// Unused recovery codes, if a set was generated.
    pub recovery_codes_left: Option<usize>,
    /// Remembered devices still valid (for a row made under an organisation's rules,
    /// [`UserStatus::under`], within its cap on remembered devices).
    pub remembered_devices: usize,
    /// When the current lockout ends, if locked now.
    pub locked_until: Option<u64>,
    /// Whether an enrollment is in progress.
    pub enrollment_pending: bool,
    /// Whether the account's MFA changes are frozen after a "this wasn't me" link
    /// ([`crate::flow::disown`]), until an admin's reset.
    #[serde(default)]
    pub frozen: bool,
    /// Where the user stands against the organisation's rules; `None` in a row made
    /// without a policy ([`UserStatus::of`]), set by [`UserStatus::under`] and the
    /// service's status list.
    #[serde(default)]
    pub compliance: Option<Compliance>,
}

/// Where a user stands against the organisation's MFA rules, for the admin's list and
/// its dashboard ([`ComplianceCounts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Compliance {
    /// MFA is set up (with a method the organisation allows).
    SetUp,
    /// MFA is required and not set up: blocked at the next sign-in, or, with a
    /// `deadline`, prompted until then and blocked after it.
    Required {
        /// The grace deadline, if one runs.
        deadline: Option<u64>,
    },
    /// MFA is suggested (prompted at sign-in, may be dismissed) and not set up.
    Suggested,
    /// MFA is not asked of the user, and not set up.
    NotRequired,
    /// The user signs in through single sign-on, whose provider does MFA.
    Exempt,
    /// Locked out after wrong codes, until then.
    Locked {
        /// When the lockout ends.
        until: u64,
    },
    /// The second factor is disabled by the hard limit until an admin's reset.
    Disabled,
}

/// The state in words for an admin's list: `set up`, `required`, `suggested`, `not
/// required`, `exempt`, `locked until 2026-07-01 09:30 UTC`, `disabled`.
impl core::fmt::Display for Compliance {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Compliance::Locked { until } => {
                // The first whole minute at or after the end: a time cut to the minute is too early.
                let until = crate::vocabulary::utc::minute_after(*until);
                write!(f, "locked until {}", crate::vocabulary::utc::utc_minute(until))
            }
            other => f.write_str(&other.as_str().replace('_', " ")),
        }
    }
}

impl Compliance {
    /// The state's stable id: `set_up`, `required`, `suggested`, `not_required`,
    /// `exempt`, `locked`, `disabled`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Compliance::SetUp => "set_up",
            Compliance::Required { .. } => "required",
            Compliance::Suggested => "suggested",
            Compliance::NotRequired => "not_required",
            Compliance::Exempt => "exempt",
            Compliance::Locked { .. } => "locked",
            Compliance::Disabled => "disabled",
        }
    }

    /// Where `record`'s user stands under the policy and context of `env` (the user's
    /// type, organisation and jurisdiction; the request's address is not judged). A
    /// user locked out, or disabled, with no factor the organisation counts stands
    /// where a user without MFA does (required, suggested, not required): the lockout
    /// guards factors that no longer count.
    pub fn of(record: &UserRecord, env: &Env<'_>) -> Compliance {
        let mut facts = super::facts(record, env);
        // The list is not a sign-in: an allowlist says nothing about the user.
        let mut context = env.context.clone();
        if let Some(org) = context.org.as_deref().filter(|org| !org.allowed_networks.is_empty()) {
            let open = OrgSettings { allowed_networks: Vec::new(), ..org.clone() };
            context.org = Some(std::sync::Arc::new(open));
        }
        let mut decided = env.policy.decide(&context, &facts, env.now);
        // An allowlist the policy keeps as its defaults (no settings in the context):
        // judged again on the settings in force, without it.
        if decided == Err(Refusal::AddressNotAllowed)
            && context.org.is_none()
            && let Some(in_force) = env.policy.settings_in_force(&context)
        {
            let open = OrgSettings { allowed_networks: Vec::new(), ..in_force };
            context.org = Some(std::sync::Arc::new(open));
            decided = env.policy.decide(&context, &facts, env.now);
        }
        if matches!(decided, Err(Refusal::LockedOut { .. } | Refusal::Disabled)) && !facts.enrolled {
            (facts.locked_until, facts.disabled) = (None, false);
            decided = env.policy.decide(&context, &facts, env.now);
        }
        match decided {
            Ok(Decision::Challenge { .. }) => Compliance::SetUp,
            Ok(Decision::Allow { reason: crate::vocabulary::Reason::SingleSignOn }) => Compliance::Exempt,
            Ok(Decision::Allow { .. }) => Compliance::NotRequired,
            Ok(Decision::RequireEnrollment { .. }) => Compliance::Required { deadline: None },
            Ok(Decision::SuggestEnrollment { deadline: Some(deadline), .. }) => {
                Compliance::Required { deadline: Some(deadline) }
            }
            Ok(Decision::SuggestEnrollment { deadline: None, .. }) => Compliance::Suggested,
            Err(Refusal::LockedOut { until }) => Compliance::Locked { until },
            Err(Refusal::Disabled) => Compliance::Disabled,
            Err(_) if facts.enrolled => Compliance::SetUp,
            Err(_) => Compliance::NotRequired,
        }
    }
}

/// The context a list of many users is judged in: `context`'s organisation, user type
/// and jurisdiction, not its sign-in route. One context cannot say how each user signs
/// in, and an admin who signed in through single sign-on would otherwise make every
/// user exempt; [`UserStatus::under`] for one user judges the route it is given.
pub(crate) fn list_context(context: &crate::policy::SignInContext) -> crate::policy::SignInContext {
    context.clone().with_sso(false)
}

/// How many users are in each [`Compliance`] state: the dashboard over a status list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ComplianceCounts {
    /// MFA set up.
    pub set_up: usize,
    /// Required and not set up, blocked now.
    pub required: usize,
    /// Required and not set up, within a grace deadline.
    pub required_with_deadline: usize,
    /// Suggested and not set up.
    pub suggested: usize,
    /// Not asked and not set up.
    pub not_required: usize,
    /// Single sign-on.
    pub exempt: usize,
    /// Locked out now.
    pub locked: usize,
    /// Disabled by the hard limit.
    pub disabled: usize,
}

impl ComplianceCounts {
    /// The counts over the rows that carry a state.
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a UserStatus>) -> ComplianceCounts {
        let mut counts = ComplianceCounts::default();
        for state in rows.into_iter().filter_map(|row| row.compliance) {
            let slot = match state {
                Compliance::SetUp => &mut counts.set_up,
                Compliance::Required { deadline: None } => &mut counts.required,
                Compliance::Required { deadline: Some(_) } => &mut counts.required_with_deadline,
                Compliance::Suggested => &mut counts.suggested,
                Compliance::NotRequired => &mut counts.not_required,
                Compliance::Exempt => &mut counts.exempt,
                Compliance::Locked { .. } => &mut counts.locked,
                Compliance::Disabled => &mut counts.disabled,
            };
            *slot += 1;
        }
        counts
    }
}

impl UserStatus {
    /// The row for `record` at `now`, counting every method.
    pub fn of(record: &UserRecord, now: u64) -> UserStatus {
        UserStatus::of_allowing(record, now, |_| true)
    }

    /// The row for `record` at `now`, counting only the methods `allowed` as factors
    /// (the organisation's: see [`crate::policy::Policy::method_allowed`]).
    pub fn of_allowing(
        record: &UserRecord,
        now: u64,
        allowed: impl Fn(crate::vocabulary::Method) -> bool,
    ) -> UserStatus {
        use crate::vocabulary::{Method, Role};
        // Since the earliest factor the user still has that counts.
        let apps = record.authenticators.iter().filter(|_| allowed(Method::Totp));
        let keys = record.rare.security_keys.iter().filter(|_| allowed(Method::SecurityKey));
        let primary = record.oob.confirmed(Role::Primary).filter(|d| allowed(d.destination.method()));
        let enrolled_since = apps
            .map(crate::record::TotpCredential::created_at)
            .chain(keys.map(|key| key.created_at))
            .chain(primary.and_then(|d| d.confirmed_at))
            .min();
        let facts = UserFacts::of_allowing(record, now, allowed);
        UserStatus {
            user: record.user.clone(),
            mfa: facts.enrolled,
            methods: facts.methods,
            enrolled_since,
            authenticators: record.authenticators.len(),
            last_used: record.last_proof().map(|p| p.at),
            last_method: record.last_proof().map(|p| p.method),
            recovery_codes_left: record.recovery.as_ref().map(|r| r.remaining()),
            remembered_devices: record.devices.iter().filter(|d| super::device::holds(d, now)).count(),
            locked_until: facts.locked_until,
            enrollment_pending: record
                .pending_enrollment
                .as_ref()
                .is_some_and(|p| crate::record::window_holds(p.started_at, p.expires_at, u64::MAX, now)),
            compliance: None,
            frozen: record.rare.frozen.is_some(),
        }
    }

    /// The row for `record` under the policy and context of `env`: the methods the
    /// organisation allows, and where the user stands ([`Compliance`]).
    pub fn under(record: &UserRecord, env: &Env<'_>) -> UserStatus {
        let allowed = |method| env.policy.method_allowed(env.context, method);
        let mut row = UserStatus::of_allowing(record, env.now, allowed);
        row.compliance = Some(Compliance::of(record, env));
        // Under the organisation's cap on remembered devices, as a sign-in judges them.
        let cap = env.policy.remember_device_max(env.context);
        row.remembered_devices =
            record.devices.iter().filter(|d| super::device::lets_in(d, env.now, cap)).count();
        // Under the organisation's enrollment lifetime, as a confirmation judges it.
        let lifetime = env.policy.enrollment_lifetime(env.context);
        row.enrollment_pending = record
            .pending_enrollment
            .as_ref()
            .is_some_and(|p| crate::record::window_holds(p.started_at, p.expires_at, lifetime, env.now));
        row
    }

    /// The tick or red cross of the admin list: whether the user has MFA.
    pub fn has_mfa(&self) -> bool {
        self.mfa
    }
}
