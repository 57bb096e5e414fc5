//! Proving the second factor with the authenticator app, re-learning its clock, and
//! turning MFA off (R2, R3, R15, R20).
//!
//! Here live the replay floor, drift learning and resynchronisation (RFC 6238 §5.2 and
//! §6). A user may have several authenticators, each with its own floor and drift;
//! `totps` are their secrets opened by the host's sealer, in the order of
//! [`UserRecord::authenticators`]; a driver that reloads the record after a conflict
//! must open them again if the sealed secrets changed.

use std::borrow::Borrow;

use super::step_up::StepUp;
use super::{Draft, Env, Failure, Proven, Step, run_in, try_run_in};
use crate::event::EventKind;
use crate::keyed_hash::HashKey;
use crate::otp::{Totp, Verification, Window};
use crate::record::UserRecord;
use crate::vocabulary::{Method, Refusal, RejectionReason, Revocation, Role, SensitiveAction};

/// How far the verify window reaches, and how it follows a drifting clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "hosts build it with `..Default::default()` or its constructors, which keep working as fields are added"
)]
pub struct DriftRules {
    /// The window around the server's current step, always checked.
    pub base: Window,
    /// How far single accepted codes may move the window's centre, in steps.
    pub max_learned: u8,
    /// How far a resynchronisation with two consecutive codes looks, in steps.
    pub resync_range: u8,
}

impl DriftRules {
    /// One step either way, learning up to 2 steps, resync within 10 (5 minutes).
    pub const DEFAULT: DriftRules = DriftRules { base: Window::ONE, max_learned: 2, resync_range: 10 };

    /// The window around the current step for a credential with a learned `drift`:
    /// the base window, and the base window around the drifted step.
    fn window_for(&self, drift: i64) -> Window {
        let behind = i64::from(self.base.behind).max(i64::from(self.base.behind).saturating_sub(drift));
        let ahead = i64::from(self.base.ahead).max(i64::from(self.base.ahead).saturating_add(drift));
        Window::new(clamp_u8(behind), clamp_u8(ahead))
    }

    /// The drift to remember after a code matched at `matched`: it follows the code,
    /// but never further out than `max_learned` or the drift it had.
    pub(crate) fn learn(&self, old: i64, matched: i64) -> i64 {
        let bound = i64::from(self.max_learned).max(old.saturating_abs());
        matched.clamp(-bound, bound)
    }
}

impl Default for DriftRules {
    fn default() -> Self {
        DriftRules::DEFAULT
    }
}

fn clamp_u8(value: i64) -> u8 {
    u8::try_from(value.clamp(0, 255)).unwrap_or(u8::MAX)
}

/// What every authenticator proof starts with: the policy screen, the lock check, and
/// a credential to check against.
fn begin(draft: &mut Draft<'_>, env: &Env<'_>) -> Option<Refusal> {
    if let Some(refused) = draft.screen(env, Method::Totp) {
        return Some(refused);
    }
    if !env.policy.method_allowed(env.context, Method::Totp) {
        return Some(Refusal::MethodNotAllowed);
    }
    if draft.get().authenticators.is_empty() {
        return Some(Refusal::NotEnrolled);
    }
    draft.refuse_if_locked(Method::Totp, env.now)
}

/// Accepts the code of `step` from the authenticator at `index`: its new replay floor,
/// its drift, and a success.
fn accept(draft: &mut Draft<'_>, index: usize, step: u64, drift: i64, learned: i64, now: u64) -> Proven {
    if let Some(credential) = draft.edit().authenticators.get_mut(index) {
        credential.last_accepted_step = Some(step);
        credential.last_used_at = Some(now);
        credential.drift = learned;
    }
    draft.succeed(Method::Totp, now, Some(drift))
}

/// What checking one code against each authenticator found.
enum Found {
    Accepted {
        index: usize,
        step: u64,
        drift: i64,
        learned: i64,
    },
    /// The code just accepted from one of them, again.
    Repeated,
    Replayed,
    Wrong,
    /// Not a code for any of them.
    Malformed,
}

fn find<T: Borrow<Totp>>(
    record: &UserRecord,
    totps: &[T],
    input: &str,
    env: &Env<'_>,
) -> Result<Found, Failure> {
    let rules = &env.rules.drift;
    let mut found = Found::Malformed;
    for (index, (credential, totp)) in record.authenticators.iter().zip(totps).enumerate() {
        let totp = totp.borrow();
        let Ok(code) = totp.parse_code(input) else { continue };
        let (floor, drift) = (credential.last_accepted_step, credential.drift);
        let this = match totp.verify(&code, env.now, rules.window_for(drift), floor)? {
            Verification::Accepted(hit) => {
                let learned = rules.learn(drift, hit.drift);
                return Ok(Found::Accepted { index, step: hit.step, drift: hit.drift, learned });
            }
            // A double click, two tabs, a retrying proxy: a replay, but not a guess.
            Verification::Replayed(hit) if Some(hit.step) == floor => Found::Repeated,
            Verification::Replayed(_) => Found::Replayed,
            Verification::Wrong => Found::Wrong,
        };
        // Keep the most telling finding: a repeat over a replay over a wrong code.
        found = match (found, this) {
            (Found::Repeated, _) | (_, Found::Repeated) => Found::Repeated,
            (Found::Replayed, _) | (_, Found::Replayed) => Found::Replayed,
            _ => Found::Wrong,
        };
    }
    Ok(found)
}

fn verify_in<T: Borrow<Totp>>(
    draft: &mut Draft<'_>,
    totps: &[T],
    input: &str,
    env: &Env<'_>,
) -> Result<Result<Proven, Refusal>, Failure> {
    if let Some(refused) = begin(draft, env) {
        return Ok(Err(refused));
    }
    let lockout = Draft::lockout(env);
    Ok(match find(draft.get(), totps, input, env)? {
        Found::Accepted { index, step, drift, learned } => {
            Ok(accept(draft, index, step, drift, learned, env.now))
        }
        Found::Repeated => Err(draft.repeated(Method::Totp, lockout, env.now)),
        Found::Replayed => {
            Err(draft.count_failure(Method::Totp, RejectionReason::Replayed, env.now, lockout))
        }
        Found::Wrong => Err(draft.count_failure(Method::Totp, RejectionReason::Wrong, env.now, lockout)),
        Found::Malformed => Err(draft.malformed(Method::Totp, env.now)),
    })
}

/// Verifies a code typed from one of the user's authenticator apps: `totps` are the
/// secrets of [`UserRecord::authenticators`], opened, in the same order. Accepted at
/// most once (each authenticator has its own replay floor), in a window that follows
/// that phone's learned drift; wrong codes and codes older than the last accepted one
/// count towards the lockout, while input that is not a code, and the last accepted
/// code again (a double submit, two tabs, a retrying proxy), do not.
///
/// # Errors
/// [`Failure::Time`] when `env.now` is before the credential's epoch.
pub fn verify<T: Borrow<Totp>>(
    record: &mut UserRecord,
    totps: &[T],
    input: &str,
    env: &Env<'_>,
) -> Result<Step<Proven>, Failure> {
    try_run_in(record, env, |draft| verify_in(draft, totps, input, env))
}

/// Re-learns the drift of a clock that has moved past the learned bound, from two
/// consecutive codes anywhere within the rules' resync range of now, for whichever of
/// the user's authenticators (`totps`, as in [`verify`]) they come from. Succeeds as a
/// sign-in proof; failures count towards the lockout.
///
/// # Errors
/// [`Failure::Time`] when `env.now` is before the credential's epoch.
pub fn resynchronise<T: Borrow<Totp>>(
    record: &mut UserRecord,
    totps: &[T],
    [first, second]: [&str; 2],
    env: &Env<'_>,
) -> Result<Step<Proven>, Failure> {
    try_run_in(record, env, |draft| {
        if let Some(refused) = begin(draft, env) {
            return Ok(Err(refused));
        }
        let (mut parsed_any, mut repeated, mut replayed) = (false, false, false);
        let mut matched = None;
        for (index, (credential, totp)) in draft.get().authenticators.iter().zip(totps).enumerate() {
            let totp = totp.borrow();
            let (Ok(first), Ok(second)) = (totp.parse_code(first), totp.parse_code(second)) else { continue };
            parsed_any = true;
            let floor = credential.last_accepted_step;
            let now_step = totp.step_at(env.now)?;
            let range = Window::symmetric(env.rules.drift.resync_range);
            // The step of the pair's second code, if the two are consecutive codes above
            // `floor`.
            let pair = |floor| {
                totp.verify_around_step(&first, now_step, range, floor)
                    .accepted()
                    .and_then(|found| found.step.checked_add(1))
                    .filter(|next| {
                        totp.verify_around_step(&second, *next, Window::EXACT, floor).is_accepted()
                    })
            };
            if let Some(step) = pair(floor) {
                matched = Some((index, step, now_step));
                break;
            }
            // The pair just accepted, sent again (a double click, a retrying proxy), is not
            // counted; an older pair replayed is, as an older code is in `verify`.
            match floor.zip(pair(None)) {
                Some((floor, step)) if step == floor => repeated = true,
                Some((floor, step)) if step < floor => replayed = true,
                _ => {}
            }
        }
        if !parsed_any {
            return Ok(Err(draft.malformed(Method::Totp, env.now)));
        }
        let Some((index, step, now_step)) = matched else {
            let lockout = Draft::lockout(env);
            if repeated {
                return Ok(Err(draft.repeated(Method::Totp, lockout, env.now)));
            }
            let reason = if replayed { RejectionReason::Replayed } else { RejectionReason::Wrong };
            return Ok(Err(draft.count_failure(Method::Totp, reason, env.now, lockout)));
        };
        let drift = i64::try_from(i128::from(step) - i128::from(now_step)).unwrap_or(0);
        draft.emit(EventKind::Resynchronised { drift });
        Ok(Ok(accept(draft, index, step, drift, drift, env.now)))
    })
}

/// Whether the record holds a security key's proof fresh enough for turning MFA off:
/// within the step-up window, and, in a session, the session's own, judged as step-up
/// judges it (the weakest method proved at or after it must be a security key, so a
/// recovery code used since does not pass); the refusal if not (or the step-up's own,
/// for a session that ended or a frozen account).
fn fresh_key_proof(record: &UserRecord, env: &Env<'_>) -> Result<(), Refusal> {
    let in_session = env.context.session.is_some();
    match super::step_up::check(record, SensitiveAction::RemoveAuthenticator, env) {
        StepUp::Proceed { proof: Some(proof) } if in_session => {
            return (proof.method == Method::SecurityKey).then_some(()).ok_or(Refusal::FreshProofRequired);
        }
        StepUp::Proceed { .. } | StepUp::Prove { .. } if !in_session => {}
        StepUp::Proceed { .. } | StepUp::Prove { .. } => return Err(Refusal::FreshProofRequired),
        other => return Err(other.refusal().unwrap_or(Refusal::FreshProofRequired)),
    }
    let window = env.policy.fresh_proof_window(env.context);
    let at =
        record.proofs.get(Method::SecurityKey).filter(|at| UserRecord::proof_holds(*at, env.now, window));
    at.map(drop).ok_or(Refusal::FreshProofRequired)
}

/// The user turns MFA off (R20): the one way to end up without MFA, for every kind of
/// user. Needs `confirmed` (the "yes, turn it off" of the screen) and a current code,
/// and is refused (and audited) where a rule forbids it (R12). The current code is:
/// - for a user with an authenticator app, a code from any of them (`totps`, as in
///   [`verify`]);
/// - for a user whose only factors are security keys, or who must prove with a key
///   (the policy requires a phishing-resistant factor and the user has one, whatever
///   else they hold), no code: a security-key proof made within the step-up window
///   ([`super::step_up`]) by this session, and not while the user is locked out;
/// - for a user without one whose factor is a primary SMS or e-mail destination, the
///   sign-in code sent to that destination ([`super::destination::reserve`] with
///   [`Role::Primary`], then sent), checked as [`super::destination::redeem`] checks a sign-in
///   code (expiry, attempts per code, lockout) under the deployment's hash `key`
///   (`None`: codes were never sent, and none is pending).
///
/// A primary destination of a method the organisation does not count (an e-mail
/// address under the NIST preset) is passed over for the user's security keys.
///
/// Refused from an address the organisation does not allow (audited as a code
/// refused by the policy, `code_rejected`), and on a frozen account.
///
/// Clears every authenticator and security key, any enrollment, recovery codes, SMS and e-mail
/// destinations and remembered devices, and ends the user's other sessions. A user with
/// neither factor is refused as [`Refusal::NotEnrolled`].
///
/// # Errors
/// [`Failure::Time`] when `env.now` is before the credential's epoch.
pub fn deactivate<T: Borrow<Totp>>(
    record: &mut UserRecord,
    totps: &[T],
    key: Option<&HashKey>,
    code: &str,
    confirmed: bool,
    env: &Env<'_>,
) -> Result<Step<()>, Failure> {
    try_run_in(record, env, |draft| {
        if !confirmed {
            return Ok(Err(Refusal::ConfirmationRequired));
        }
        if let Some(frozen) = super::disown::refuse_frozen(draft.get()) {
            return Ok(Err(frozen));
        }
        let record = draft.get();
        // A primary destination the organisation does not count (an e-mail address
        // under the NIST preset) proves nothing beside a security key, which does.
        let has_keys = !record.rare.security_keys.is_empty();
        // Where the user must prove with a key, the key is the proof whatever else
        // they hold: a code would be refused.
        let key_only = super::security_key::phishing_resistant_required(record, env);
        let by_app = !record.authenticators.is_empty() && !key_only;
        let primary = record.oob.confirmed(Role::Primary).map(|d| d.destination.method());
        let by_destination = record.authenticators.is_empty()
            && !key_only
            && primary.is_some_and(|method| !has_keys || env.policy.method_allowed(env.context, method));
        let by_key = !by_app && !by_destination && has_keys;
        let method = match primary {
            _ if by_app => Method::Totp,
            Some(method) if by_destination => method,
            _ => Method::SecurityKey,
        };
        let enrolled = by_app || by_destination || by_key;
        // Audited as a code refused by the policy, as a sign-in code from there is.
        if let Some(refused) = Draft::refuse_off_allowlist(env) {
            if enrolled {
                let consecutive_failures = draft.get().failures.consecutive;
                let reason = RejectionReason::PolicyRefused;
                draft.emit_refused(EventKind::CodeRejected { method, reason, consecutive_failures }, env.now);
            }
            return Ok(Err(refused));
        }
        if !enrolled {
            return Ok(Err(Refusal::NotEnrolled));
        }
        if let Some(refused) = draft.refuse_deactivation(env) {
            return Ok(Err(refused));
        }
        let proved = if by_key {
            // No code to type: the security key's own proof, made within the step-up
            // window by this session, and not while locked out (as a code is not).
            // A recovery code's proof, fresh as it may be, is not the key's.
            match draft.refuse_if_locked(Method::SecurityKey, env.now) {
                Some(locked) => Err(locked),
                None => fresh_key_proof(draft.get(), env),
            }
        } else if by_destination {
            match key {
                Some(key) => super::destination::redeem_primary_sign_in_code(draft, key, code, env).map(drop),
                None => Err(Refusal::NoCodePending),
            }
        } else {
            verify_in(draft, totps, code, env)?.map(drop)
        };
        if let Err(refused) = proved {
            return Ok(Err(refused));
        }
        draft.protection_changed();
        let record = draft.edit();
        record.authenticators.clear();
        record.rare.edit().security_keys.clear();
        record.rare.edit().ceremony = None;
        record.pending_enrollment = None;
        record.recovery = None;
        record.oob.clear_keeping_send_times();
        super::device::revoke_every(draft, Revocation::Deactivated);
        draft.emit(EventKind::Deactivated);
        Ok(Ok(()))
    })
}

/// Removes one of the user's authenticators (a phone that was lost or replaced, a
/// security key), by its id; `Ok(false)` if there is none with that id. Needs a second
/// factor proved within the policy's step-up window ([`super::step_up`]), from an
/// address the organisation allows. The user's last factor (the only one the
/// organisation counts, of apps, keys and the confirmed primary destination: an e-mail
/// address under the NIST preset does not count) is not removed: that is turning MFA
/// off, which takes
/// [`deactivate`] with a current code and the confirmation, so it is refused as
/// [`Refusal::LastFactor`], or, where the policy forbids turning MFA off at all, as
/// that rule ([`Refusal::Forbidden`], audited as `deactivation_refused`), so the user
/// is not sent to a dead end. Remembered devices stay.
pub fn remove(record: &mut UserRecord, id: &str, env: &Env<'_>) -> Step<bool> {
    run_in(record, env, |draft| {
        let app = draft.get().authenticator(id).map(|(index, _)| index);
        let key = draft.get().security_key(id).map(|(index, _)| index);
        if app.is_none() && key.is_none() {
            return Ok(false);
        }
        if let Some(refused) = Draft::refuse_off_allowlist(env) {
            return Err(refused);
        }
        let method = if app.is_some() { Method::Totp } else { Method::SecurityKey };
        if super::is_last_factor(draft.get(), method, env) {
            return Err(draft.refuse_deactivation(env).unwrap_or(Refusal::LastFactor));
        }
        if let Some(refused) = super::step_up::require(draft, SensitiveAction::RemoveAuthenticator, env) {
            return Err(refused);
        }
        if let Some(index) = app {
            // `index` was found above in this same record, so the removal always finds it.
            let Some(removed) = draft.edit().authenticators.remove(index) else { return Ok(false) };
            draft.emit(EventKind::AuthenticatorRemoved {
                authenticator: removed.id().to_string(),
                name: removed.name().to_string(),
            });
        } else if let Some(index) = key {
            let removed = draft.edit().rare.edit().security_keys.remove(index);
            draft.emit(EventKind::SecurityKeyRemoved {
                authenticator: removed.id().to_string(),
                name: removed.name().to_string(),
            });
        }
        draft.protection_changed();
        Ok(true)
    })
}

/// Renames one of the user's authenticators (an app or a security key), by its id;
/// `Ok(false)` if there is none with that id. Refused for a name that is blank, longer than
/// [`MAX_AUTHENTICATOR_NAME`](crate::record::MAX_AUTHENTICATOR_NAME) characters or holds
/// a control character, and from a session that has
/// ended. Audited as `authenticator_renamed`; not a change of how the account is
/// protected, so no session ends.
pub fn rename(record: &mut UserRecord, id: &str, name: &str, env: &Env<'_>) -> Step<bool> {
    run_in(record, env, |draft| {
        if let Some(ended) = draft.refuse_ended_session(env) {
            return Err(ended);
        }
        let Some(name) = crate::record::authenticator_name(name) else { return Err(Refusal::InvalidName) };
        let app = draft.get().authenticator(id).map(|(index, _)| index);
        let key = draft.get().security_key(id).map(|(index, _)| index);
        if app.is_none() && key.is_none() {
            return Ok(false);
        }
        let record = draft.edit();
        match (app, key) {
            (Some(index), _) => match record.authenticators.get_mut(index) {
                Some(credential) => credential.rename(&name),
                None => return Ok(false),
            },
            (None, Some(index)) => record.rare.edit().security_keys[index].name = name.clone().into(),
            (None, None) => return Ok(false),
        }
        draft.emit(EventKind::AuthenticatorRenamed { authenticator: id.to_string(), name });
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_follows_the_drift_and_keeps_the_base() {
        let rules = DriftRules::DEFAULT;
        assert_eq!(rules.window_for(0), Window::new(1, 1));
        assert_eq!(rules.window_for(2), Window::new(1, 3));
        assert_eq!(rules.window_for(-2), Window::new(3, 1));
        assert_eq!(rules.window_for(-1000), Window::new(255, 1));
        // A stored drift at the ends of i64 (a damaged record) saturates instead of
        // overflowing (found with the record_json fuzz target too).
        assert_eq!(rules.window_for(i64::MIN), Window::new(255, 1));
        assert_eq!(rules.window_for(i64::MAX), Window::new(1, 255));
    }

    #[test]
    fn learned_drift_is_bounded() {
        let rules = DriftRules::DEFAULT;
        assert_eq!(rules.learn(0, 1), 1);
        assert_eq!(rules.learn(2, 3), 2);
        assert_eq!(rules.learn(-2, -3), -2);
        // A resynchronised drift of 6 may be kept or shrink, never grow.
        assert_eq!(rules.learn(6, 7), 6);
        assert_eq!(rules.learn(6, 5), 5);
        assert_eq!(rules.learn(i64::MIN, 0), 0);
        assert_eq!(rules.learn(i64::MIN, i64::MIN), -i64::MAX);
    }
}
