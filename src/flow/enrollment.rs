//! Setting up an authenticator app: start, confirm with codes, expire, restart (R6, R7).
//!
//! A started enrollment holds a new sealed secret beside (never in place of) the active
//! credential; only a confirmation with codes from the app makes it the credential,
//! replacing the old one. That is what makes the lost-phone case safe: a half-done
//! set-up on a new phone never locks the user out of the old one.

use serde::{Deserialize, Serialize};

use super::{Draft, Env, Failure, Step, run_in, try_run_in};
use crate::event::EventKind;
use crate::otp::TimeError;
use crate::otp::uri::KeyUri;
use crate::otp::{Code, Secret, Totp, TotpParams, Window};
use crate::record::{
    FailureState, MAX_AUTHENTICATORS, PendingEnrollment, TotpCredential, UserRecord, authenticator_name,
};
use crate::seal::SealedSecret;
use crate::vocabulary::{EnrollmentRejection, Method, Outcome, Refusal, Revocation, SensitiveAction};

/// How many codes confirm an enrollment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(
    clippy::exhaustive_enums,
    reason = "the two sides of a yes-or-no answer; a third would change every caller's logic on purpose"
)]
pub enum Confirmation {
    /// Two consecutive codes (the default): proves the app's clock and the secret were
    /// both taken over correctly, as the ATO-connected products ask.
    #[default]
    TwoCodes,
    /// One code.
    OneCode,
}

/// An enrollment was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Started {
    /// When it expires unless confirmed.
    pub expires_at: u64,
}

/// An enrollment was confirmed: the new authenticator is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a plain value the crate and hosts build and read whole; a new field is a deliberate breaking change"
)]
pub struct Confirmed {
    /// Whether it replaced an older authenticator.
    pub replaced: bool,
    /// When it was confirmed: the codes prove the user holds the app, so this is also
    /// a second-factor proof, at the time the record keeps for it
    /// ([`crate::policy::SessionFacts::proved_at`]).
    pub at: u64,
}

/// How many enrollments a user may start within an hour: a page reload resumes the
/// enrollment in progress instead ([`resume`]), so only deliberate restarts count.
pub const MAX_STARTS_PER_HOUR: usize = 5;

/// Opens (or restarts) an enrollment with a freshly sealed secret for `account`, to
/// expire after the policy's enrollment lifetime; once confirmed, the new authenticator
/// app replaces all the user's other apps (a new phone in place of the old; security
/// keys stay). The active apps stay active until then. Refused during a lockout, from an address
/// off the allowlist, after [`MAX_STARTS_PER_HOUR`] starts within an hour, and, for a
/// user who has MFA, without a second factor proved within the policy's step-up window
/// ([`super::step_up`]). `params` longer than the organisation's period cap are
/// refused as [`Refusal::MethodNotAllowed`] (and audited); the service, whose `params`
/// are its own configuration, answers that case as
/// [`crate::service::Error::Misconfigured`] before sealing a secret.
pub fn start(
    record: &mut UserRecord,
    secret: SealedSecret,
    params: TotpParams,
    account: &str,
    env: &Env<'_>,
) -> Step<Started> {
    run_in(record, env, |draft| {
        let opened = open(draft, secret, params, account, None, env);
        audit_refusal(draft, opened, env)
    })
}

/// Audits a start that [`resume`] refused (it only reads): the same `enrollment_refused`
/// event a refused [`start`] writes, within the bound on refused attempts.
pub fn refused_start(record: &mut UserRecord, refusal: Refusal, env: &Env<'_>) -> Step<()> {
    run_in(record, env, |draft| audit_refusal(draft, Err(refusal), env))
}

/// Audits a refused start (within the bound on refused attempts): the trail records
/// every decision, an enrollment not opened included.
fn audit_refusal<T>(draft: &mut Draft<'_>, outcome: Outcome<T>, env: &Env<'_>) -> Outcome<T> {
    if let Err(refusal) = &outcome {
        draft.emit_refused(EventKind::EnrollmentRefused { refusal: refusal.code().to_string() }, env.now);
    }
    outcome
}

/// Why an authenticator app of `params` may not be set up for `record`'s user, if it
/// may not: the organisation does not allow apps, or not one of this period
/// ([`crate::policy::Policy::max_totp_period`]); or apps and keys together would pass
/// [`MAX_AUTHENTICATORS`] (`adding` one beside the others, or one in place of the
/// user's apps, beside their security keys).
fn app_refusal(record: &UserRecord, params: &TotpParams, adding: bool, env: &Env<'_>) -> Option<Refusal> {
    let period_capped = env.policy.max_totp_period(env.context).is_some_and(|max| params.period() > max);
    if !env.policy.method_allowed(env.context, Method::Totp) || period_capped {
        return Some(Refusal::MethodNotAllowed);
    }
    let kept = if adding { record.authenticator_count() } else { record.rare.security_keys.len() };
    (kept >= MAX_AUTHENTICATORS).then_some(Refusal::TooManyAuthenticators)
}

/// Opens an enrollment of another authenticator, named `name` (a backup phone, a
/// desktop app), to be added beside the user's others once confirmed. Refused as
/// [`start`] is, for a name that is blank, longer than
/// [`MAX_AUTHENTICATOR_NAME`](crate::record::MAX_AUTHENTICATOR_NAME) characters or holds a
/// control character, and when the user has [`MAX_AUTHENTICATORS`] already.
pub fn add(
    record: &mut UserRecord,
    secret: SealedSecret,
    params: TotpParams,
    account: &str,
    name: &str,
    env: &Env<'_>,
) -> Step<Started> {
    run_in(record, env, |draft| {
        let opened = match authenticator_name(name) {
            None => Err(Refusal::InvalidName),
            Some(_) if draft.get().authenticator_count() >= MAX_AUTHENTICATORS => {
                Err(Refusal::TooManyAuthenticators)
            }
            Some(name) => open(draft, secret, params, account, Some(name), env),
        };
        audit_refusal(draft, opened, env)
    })
}

fn open(
    draft: &mut Draft<'_>,
    secret: SealedSecret,
    params: TotpParams,
    account: &str,
    adding: Option<String>,
    env: &Env<'_>,
) -> Outcome<Started> {
    if let Some(refused) = draft.refuse_address(env) {
        return Err(refused);
    }
    if let Some(refused) = draft.locked(env.now) {
        return Err(refused);
    }
    if let Some(refused) = app_refusal(draft.get(), &params, adding.is_some(), env) {
        return Err(refused);
    }
    let action = if adding.is_some() {
        SensitiveAction::AddAuthenticator
    } else {
        SensitiveAction::ReplaceAuthenticator
    };
    if let Some(refused) = super::step_up::require(draft, action, env) {
        return Err(refused);
    }
    let now = env.now;
    // The history is the record's, not the pending enrollment's: discarding, expiring
    // or confirming an enrollment does not give a fresh allowance of starts.
    let recent_starts = || draft.get().enrollment_starts.iter().copied().filter(|t| recent(*t, now));
    if recent_starts().count() >= MAX_STARTS_PER_HOUR {
        let retry_at = recent_starts().min().map_or(now, |oldest| oldest.saturating_add(3600));
        return Err(Refusal::RateLimited { retry_at });
    }
    let lifetime = env.policy.enrollment_lifetime(env.context);
    let expires_at = now.saturating_add(lifetime);
    let record = draft.edit();
    let starts = record.enrollment_starts.iter().copied();
    let kept = crate::record::kept_for_limit(starts, MAX_STARTS_PER_HOUR, |t| recent(t, now));
    record.enrollment_starts = kept.chain([now]).collect();
    record.pending_enrollment = Some(Box::new(PendingEnrollment {
        secret,
        params,
        started_at: now,
        expires_at,
        failed_attempts: 0,
        account: Some(account.to_string()),
        starts: Vec::new(),
        adding,
    }));
    draft.emit(EventKind::EnrollmentStarted { expires_at });
    Ok(Started { expires_at })
}

/// The shortest secret an import accepts: 128 bits (RFC 4226 §4).
pub const MIN_IMPORTED_SECRET_BYTES: usize = 16;

/// Reads a key brought from another system for [`import`]: the `otpauth://totp/` URI
/// of a TOTP credential (its scheme in any case) with the parameters it names, or the
/// secret alone in base32 (upper or lower case, padded or not, grouped with spaces or
/// hyphens), then with [`TotpParams::DEFAULT`]. Whitespace around the key is ignored.
///
/// # Errors
/// [`Refusal::InvalidKey`] for a key that cannot be used: neither form, an HOTP URI,
/// parameters out of range, or a secret shorter than [`MIN_IMPORTED_SECRET_BYTES`].
pub fn parse_imported_key(key: &str) -> Result<(Secret, TotpParams), Refusal> {
    let key = key.trim();
    let parsed = if key.get(..8).is_some_and(|scheme| scheme.eq_ignore_ascii_case("otpauth:")) {
        KeyUri::parse(key).ok().and_then(|uri| Some((uri.secret().clone(), uri.totp_params()?)))
    } else {
        Secret::from_base32(key).ok().map(|secret| (secret, TotpParams::DEFAULT))
    };
    parsed.filter(|(secret, _)| secret.len() >= MIN_IMPORTED_SECRET_BYTES).ok_or(Refusal::InvalidKey)
}

/// Installs an authenticator whose secret comes from another system (a migration from
/// a home-made module or another library), sealed by the host, with no confirmation
/// codes: its first accepted code sets the replay floor. Refused when the user already
/// has an authenticator (a replacement is set up with codes), during a lockout, from an
/// address off the allowlist, and without a fresh proof from a user with MFA. The
/// secret is one [`parse_imported_key`] accepted (at least
/// [`MIN_IMPORTED_SECRET_BYTES`] long), sealed by the host.
///
/// # Errors
/// [`Failure::RandomSource`] if the operating system's random source fails (for the
/// authenticator's id).
pub fn import(
    record: &mut UserRecord,
    secret: SealedSecret,
    params: TotpParams,
    env: &Env<'_>,
) -> Result<Step<()>, Failure> {
    try_run_in(record, env, |draft| {
        if let Some(refused) = draft.refuse_address(env) {
            return Ok(Err(refused));
        }
        if let Some(refused) = draft.locked(env.now) {
            return Ok(Err(refused));
        }
        if !draft.get().authenticators.is_empty() {
            return Ok(Err(Refusal::AlreadyEnrolled));
        }
        // The organisation's rules for new authenticators hold for imported ones.
        if let Some(refused) = app_refusal(draft.get(), &params, false, env) {
            return Ok(Err(refused));
        }
        if let Some(refused) = super::step_up::require(draft, SensitiveAction::AddAuthenticator, env) {
            return Ok(Err(refused));
        }
        let id = new_id()?;
        draft.protection_changed();
        let record = draft.edit();
        let name = crate::record::default_name();
        record.authenticators.push(TotpCredential::new(id, name, secret, params, env.now));
        record.must_enroll = false;
        draft.emit(EventKind::AuthenticatorImported);
        Ok(Ok(()))
    })
}

/// The sealed secrets a record holds, for key rotation: each authenticator's, then the
/// pending enrollment's. The host opens and seals each again under its current key and
/// hands the pairs to [`reseal`].
pub fn sealed_secrets(record: &UserRecord) -> Vec<SealedSecret> {
    let authenticators = record.authenticators.iter().map(TotpCredential::sealed_secret);
    let pending = record.pending_enrollment.as_ref().map(|pending| pending.sealed_secret());
    authenticators.chain(pending).cloned().collect()
}

/// Puts secrets sealed again under another key in place of the ones they were sealed
/// from, for key rotation: `resealed` pairs a sealed secret read from the record (as
/// [`sealed_secrets`] lists them) with the same secret sealed again. A secret is
/// replaced only where the record still holds the one it was sealed from and the new
/// one names another key (sealing again under the same key is no change); the others
/// stay as they are, for a later run. Audited as `SecretsResealed` when any was
/// replaced. Returns whether any was. Needs no proof and settles no clock: it changes
/// how the secrets are stored, not what they are.
pub fn reseal(record: &mut UserRecord, resealed: &[(SealedSecret, SealedSecret)]) -> Step<bool> {
    let mut draft = Draft::new(record);
    let authenticators = draft.get().authenticators.len();
    let mut count = 0;
    let mut key_id = None;
    for (index, held) in sealed_secrets(draft.get()).iter().enumerate() {
        let Some((_, now)) = resealed.iter().find(|(was, now)| was == held && now.key_id() != held.key_id())
        else {
            continue;
        };
        // The slots are those `sealed_secrets` listed a moment ago: each is there.
        let record = draft.edit();
        let slot = if index < authenticators {
            record.authenticators.get_mut(index).map(TotpCredential::sealed_secret_mut)
        } else {
            record.pending_enrollment.as_deref_mut().map(|pending| &mut pending.secret)
        };
        let Some(slot) = slot else { continue };
        *slot = now.clone();
        key_id = Some(now.key_id().to_string());
        count += 1;
    }
    if let Some(key_id) = key_id {
        draft.emit(EventKind::SecretsResealed { count, key_id });
    }
    draft.finish(Ok(count > 0))
}

/// A new authenticator id: 64 random bits as 16 hex digits.
pub(crate) fn new_id() -> Result<String, Failure> {
    let mut bytes = [0u8; 8];
    crate::otp::random::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether a start at `at` counts at `now` towards the hourly limit.
fn recent(at: u64, now: u64) -> bool {
    now < at.saturating_add(3600) && at <= now.saturating_add(crate::record::CLOCK_SKEW)
}

/// The enrollment in progress for `account`, to show its QR code and key again (a page
/// reload must not create a new secret): `Ok(None)` when there is none still open for
/// that account and purpose (`adding`: the name of an authenticator being added, or
/// `None` for a replacement). Changes nothing.
///
/// Showing it again needs what starting it needed: a user who has MFA must have
/// proved a factor recently ([`super::step_up`]), so a stale session cannot read the
/// key of an enrollment a fresh session opened.
///
/// # Errors
/// The [`Refusal`] during a lockout, when the factor is disabled, from an address off
/// the allowlist, [`Refusal::Forbidden`] for a user who may not set up MFA here (a
/// single sign-on user whose provider does MFA: the key of an enrollment opened
/// before is not shown), and [`Refusal::FreshProofRequired`] without a fresh proof.
pub fn resume<'r>(
    record: &'r UserRecord,
    account: &str,
    adding: Option<&str>,
    env: &Env<'_>,
) -> Outcome<Option<&'r PendingEnrollment>> {
    if let Some(refused) = Draft::refuse_setting_up(env) {
        return Err(refused);
    }
    if let Some(refused) = record.failures.refusal_at(env.now) {
        return Err(refused);
    }
    let action = if adding.is_some() {
        SensitiveAction::AddAuthenticator
    } else {
        SensitiveAction::ReplaceAuthenticator
    };
    if let Some(refused) = super::step_up::check(record, action, env).refusal() {
        return Err(refused);
    }
    let lifetime = env.policy.enrollment_lifetime(env.context);
    let adding = adding.map(authenticator_name);
    Ok(record.pending_enrollment.as_deref().filter(|pending| {
        pending.account.as_deref() == Some(account)
            && adding
                .as_ref()
                .map_or(pending.adding.is_none(), |name| name.is_some() && *name == pending.adding)
            && crate::record::window_holds(pending.started_at, pending.expires_at, lifetime, env.now)
    }))
}

/// Confirms the pending enrollment with the codes typed from the app (two consecutive
/// codes, or one if the rules say so). `totp` is the pending secret, opened. On
/// success the new authenticator is added beside the others (an enrollment opened with
/// [`add`]) or replaces them (opened with [`start`]: remembered devices are then
/// revoked), and the failure count is cleared; wrong confirmations are counted against the
/// enrollment, which is discarded after the lockout rule's number of them. A user who
/// already has MFA confirms only with a fresh second-factor proof, as starting needed
/// ([`super::step_up`]), and a session that has ended confirms nothing.
///
/// # Errors
/// [`Failure::Time`] when `env.now` is before the credential's epoch.
pub fn confirm(
    record: &mut UserRecord,
    totp: &Totp,
    codes: &[&str],
    env: &Env<'_>,
) -> Result<Step<Confirmed>, Failure> {
    try_run_in(record, env, |draft| {
        let now = env.now;
        if let Some(ended) = draft.refuse_ended_session(env) {
            return Ok(Err(ended));
        }
        let Some(pending) = draft.get().pending_enrollment.as_ref() else {
            return Ok(Err(Refusal::NoPendingEnrollment));
        };
        let adding = pending.adding.is_some();
        let action =
            if adding { SensitiveAction::AddAuthenticator } else { SensitiveAction::ReplaceAuthenticator };
        let lifetime = env.policy.enrollment_lifetime(env.context);
        if !crate::record::window_holds(pending.started_at, pending.expires_at, lifetime, now) {
            draft.edit().pending_enrollment = None;
            draft.emit(EventKind::EnrollmentExpired);
            return Ok(Err(Refusal::EnrollmentExpired));
        }
        if let Some(refused) = draft.refuse_address(env) {
            return Ok(Err(refused));
        }
        if let Some(refused) = draft.locked(now) {
            return Ok(Err(refused));
        }
        // Replacing or adding to the user's factors needs this session's fresh proof at
        // the confirmation too, not only at the start: a session that could not have
        // started the enrollment cannot finish one another session started.
        if let Some(refused) = super::step_up::require(draft, action, env) {
            return Ok(Err(refused));
        }
        // The organisation's rules may have changed since the start, and a security key
        // registered since may have taken the last place.
        let params = *totp.params();
        if let Some(refused) = app_refusal(draft.get(), &params, adding, env) {
            return Ok(Err(refused));
        }
        let matched = match_codes(totp, codes, env.rules.confirmation, now, env.rules.drift.base)?;
        Ok(match matched {
            Ok((step, drift)) => Ok(install(draft, step, drift, env)?),
            Err(refusal) => Err(reject(draft, refusal, env)),
        })
    })
}

/// Makes the pending secret an authenticator: beside the others when it is being
/// added, in place of them otherwise (revoking remembered devices, as a new phone
/// should).
fn install(draft: &mut Draft<'_>, step: u64, drift: i64, env: &Env<'_>) -> Result<Confirmed, Failure> {
    let id = new_id()?;
    draft.protection_changed();
    let record = draft.edit();
    let Some(pending) = record.pending_enrollment.take().map(|boxed| *boxed) else {
        return Ok(Confirmed { replaced: false, at: env.now });
    };
    let adding = pending.adding.is_some();
    let replaced = !adding && !record.authenticators.is_empty();
    if !adding {
        record.authenticators.clear();
    }
    let name = pending.adding.map_or_else(crate::record::default_name, Into::into);
    let mut confirmed = TotpCredential::new(id, name, pending.secret, pending.params, env.now);
    confirmed.last_accepted_step = Some(step);
    confirmed.drift = env.rules.drift.learn(0, drift);
    record.authenticators.push(confirmed);
    record.failures = FailureState::default();
    // Codes from the new app prove the user holds it: the next set-up step (recovery
    // codes, a backup phone) needs no second sign-in.
    record.note_proof(Method::Totp, env.now);
    record.must_enroll = false;
    draft.emit(EventKind::EnrollmentConfirmed { replaced });
    if !adding {
        super::device::revoke_every(draft, Revocation::NewAuthenticator);
    }
    Ok(Confirmed { replaced, at: env.now })
}

/// Counts a wrong confirmation against the enrollment; discards it at the limit.
/// Input that is not a code (or one code where two are needed) is refused without
/// being counted, as in every proof.
fn reject(draft: &mut Draft<'_>, refusal: Refusal, env: &Env<'_>) -> Refusal {
    if matches!(refusal, Refusal::Malformed | Refusal::TwoCodesRequired) {
        let reason = if refusal == Refusal::Malformed {
            EnrollmentRejection::Malformed
        } else {
            EnrollmentRejection::TwoCodesRequired
        };
        draft.emit_refused(EventKind::EnrollmentRejected { reason }, env.now);
        return refusal;
    }
    let limit = Draft::lockout(env).max_failures.max(1);
    let record = draft.edit();
    let Some(pending) = record.pending_enrollment.as_mut() else { return Refusal::NoPendingEnrollment };
    pending.failed_attempts = pending.failed_attempts.saturating_add(1);
    let failed_attempts = pending.failed_attempts;
    if failed_attempts >= limit {
        record.pending_enrollment = None;
        draft.emit(EventKind::EnrollmentRejected { reason: EnrollmentRejection::TooManyAttempts });
        return Refusal::EnrollmentDiscarded;
    }
    let reason = match refusal {
        Refusal::SameCodeTwice => EnrollmentRejection::SameCodeTwice,
        Refusal::NotConsecutive => EnrollmentRejection::NotConsecutive,
        _ => EnrollmentRejection::WrongCode,
    };
    draft.emit(EventKind::EnrollmentRejected { reason });
    match refusal {
        Refusal::WrongCode { .. } => Refusal::WrongCode { attempts_left: limit - failed_attempts },
        other => other,
    }
}

/// Finds the step the codes prove: the last code's step and drift.
fn match_codes(
    totp: &Totp,
    codes: &[&str],
    mode: Confirmation,
    now: u64,
    base: Window,
) -> Result<Result<(u64, i64), Refusal>, TimeError> {
    let parse = |input: &str| totp.parse_code(input).map_err(|_| Refusal::Malformed);
    let (first, second) = match (mode, codes) {
        (_, [only]) if mode == Confirmation::OneCode => match parse(only) {
            Ok(code) => (code, None),
            Err(reason) => return Ok(Err(reason)),
        },
        (Confirmation::TwoCodes, [_]) => return Ok(Err(Refusal::TwoCodesRequired)),
        (_, [first, second]) => match (parse(first), parse(second)) {
            (Ok(first), Ok(second)) => (first, Some(second)),
            (Err(reason), _) | (_, Err(reason)) => return Ok(Err(reason)),
        },
        _ => return Ok(Err(Refusal::Malformed)),
    };
    let Some(second) = second else {
        return Ok(totp
            .verify(&first, now, base, None)?
            .accepted()
            .map(|found| (found.step, found.drift))
            .ok_or(Refusal::WrongCode { attempts_left: 0 }));
    };
    if first == second {
        return Ok(Err(Refusal::SameCodeTwice));
    }
    consecutive(totp, &first, &second, now, base)
}

/// Two codes of consecutive steps, the second inside the base window.
fn consecutive(
    totp: &Totp,
    first: &Code,
    second: &Code,
    now: u64,
    base: Window,
) -> Result<Result<(u64, i64), Refusal>, TimeError> {
    // The first code was typed a step before the second, so look one step further back.
    let wider = Window::new(base.behind.saturating_add(1), base.ahead);
    let second_alone = totp.verify(second, now, base, None)?.accepted();
    let Some(found_first) = totp.verify(first, now, wider, None)?.accepted() else {
        return Ok(Err(Refusal::WrongCode { attempts_left: 0 }));
    };
    Ok(match second_alone {
        Some(found) if Some(found.step) == found_first.step.checked_add(1) => Ok((found.step, found.drift)),
        Some(_) => Err(Refusal::NotConsecutive),
        None if totp.verify(second, now, wider, None)?.is_accepted() => Err(Refusal::NotConsecutive),
        None => Err(Refusal::WrongCode { attempts_left: 0 }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::{Algorithm, Digits};

    /// 160 bits, the RFC 6238 test secret ("12345678901234567890").
    const BASE32_160: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn an_otpauth_uri_brings_its_parameters() {
        let uri =
            format!("otpauth://totp/Example:alice?secret={BASE32_160}&algorithm=SHA256&digits=8&period=60");
        let (secret, params) = parse_imported_key(&uri).expect("a usable key");
        assert_eq!(secret.expose_bytes(), b"12345678901234567890");
        let expected = TotpParams::DEFAULT
            .with_algorithm(Algorithm::Sha256)
            .with_digits(8)
            .and_then(|p| p.with_period(60))
            .expect("valid parameters");
        assert_eq!(params, expected);
        assert_eq!(params.digits(), Digits::EIGHT);
    }

    #[test]
    fn a_base32_secret_takes_the_default_parameters() {
        let (secret, params) = parse_imported_key(BASE32_160).expect("a usable key");
        assert_eq!(secret.expose_bytes(), b"12345678901234567890");
        assert_eq!(params, TotpParams::DEFAULT);
        let (lower, _) = parse_imported_key(&BASE32_160.to_lowercase()).expect("lower case");
        assert_eq!(lower.expose_bytes(), secret.expose_bytes());
    }

    #[test]
    fn whitespace_around_and_within_the_key_is_ignored() {
        let grouped = " gezd gnbv gy3t qojq gezd gnbv gy3t qojq\n";
        let (secret, _) = parse_imported_key(grouped).expect("a usable key");
        assert_eq!(secret.expose_bytes(), b"12345678901234567890");
        let uri = format!("\t otpauth://totp/alice?secret={BASE32_160}\r\n");
        let (secret, params) = parse_imported_key(&uri).expect("a usable URI");
        assert_eq!(secret.expose_bytes(), b"12345678901234567890");
        assert_eq!(params, TotpParams::DEFAULT);
    }

    #[test]
    fn a_secret_under_128_bits_is_refused() {
        // 64 bits.
        assert_eq!(parse_imported_key("GEZDGNBVGY3TQ").err(), Some(Refusal::InvalidKey));
        assert_eq!(
            parse_imported_key("otpauth://totp/alice?secret=GEZDGNBVGY3TQ").err(),
            Some(Refusal::InvalidKey)
        );
        // 128 bits is enough.
        assert!(parse_imported_key("GEZDGNBVGY3TQOJQGEZDGNBVGY").is_ok());
    }

    #[test]
    fn garbage_is_refused() {
        for key in [
            "",
            "   ",
            "not a key!",
            "otpauth:",
            "otpauth://totp/alice",
            "https://example.com/?secret=GEZDGNBVGY3TQOJQ",
        ] {
            assert_eq!(parse_imported_key(key).err(), Some(Refusal::InvalidKey), "{key:?}");
        }
    }

    #[test]
    fn an_hotp_uri_is_refused() {
        let uri = format!("otpauth://hotp/alice?secret={BASE32_160}&counter=0");
        assert_eq!(parse_imported_key(&uri).err(), Some(Refusal::InvalidKey));
    }

    fn sealed(key_id: &str, ciphertext: &[u8]) -> SealedSecret {
        SealedSecret::new(key_id, ciphertext.to_vec())
    }

    /// A record with two authenticators, sealed under `old`.
    fn record() -> UserRecord {
        let mut record = UserRecord::new(crate::UserId::new("sarah"));
        for (id, ciphertext) in [("a1", b"one"), ("a2", b"two")] {
            let secret = sealed("old", ciphertext);
            record.authenticators.push(TotpCredential::new(
                id.into(),
                id.into(),
                secret,
                TotpParams::DEFAULT,
                1_000,
            ));
        }
        record
    }

    #[test]
    fn resealing_replaces_only_the_secrets_it_was_given_for() {
        let mut record = record();
        let generation = record.generation;
        assert_eq!(sealed_secrets(&record), [sealed("old", b"one"), sealed("old", b"two")]);
        // The second authenticator's secret changed since it was read: left alone.
        let resealed =
            [(sealed("old", b"one"), sealed("new", b"ONE")), (sealed("old", b"2"), sealed("new", b"TWO"))];
        let step = reseal(&mut record, &resealed);
        assert_eq!(step.outcome, Ok(true));
        assert!(step.changed);
        assert_eq!(step.events.as_slice(), [EventKind::SecretsResealed { count: 1, key_id: "new".into() }]);
        assert_eq!(sealed_secrets(&record), [sealed("new", b"ONE"), sealed("old", b"two")]);
        assert_eq!(record.generation, generation, "the same secrets: sessions go on");
    }

    #[test]
    fn resealing_under_the_same_key_changes_nothing() {
        let mut record = record();
        let same =
            [(sealed("old", b"one"), sealed("old", b"ONE")), (sealed("old", b"two"), sealed("old", b"TWO"))];
        for resealed in [&same[..], &[]] {
            let step = reseal(&mut record, resealed);
            assert_eq!(step.outcome, Ok(false));
            assert!(!step.changed);
            assert!(step.events.is_empty());
            assert_eq!(sealed_secrets(&record), [sealed("old", b"one"), sealed("old", b"two")]);
        }
    }

    #[test]
    fn the_scheme_is_read_in_any_case() {
        for scheme in ["OTPAUTH", "OtpAuth", "otpauth"] {
            let uri = format!("{scheme}://totp/alice?secret={BASE32_160}&digits=8");
            let (secret, params) = parse_imported_key(&uri).expect("a usable URI");
            assert_eq!(secret.expose_bytes(), b"12345678901234567890", "{scheme}");
            assert_eq!(params.digits(), Digits::EIGHT, "{scheme}");
        }
    }
}
