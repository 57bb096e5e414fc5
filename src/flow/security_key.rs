//! Security keys and passkeys (WebAuthn): registering one as an authenticator, and
//! proving the second factor with it (R25 and on; NIST SP 800-63B-4 §2.2.2, §3.1.7).
//!
//! The cryptography is the relying party's ([`crate::relying_party::RelyingParty`],
//! `mfa-kit-webauthn`): it makes the options the browser signs and checks the signed
//! response against the ceremony's state and the registered public key. The rules are
//! here, on the record, as for every factor:
//!
//! - a ceremony's state (its challenge) is kept in the record with its expiry, so it can
//!   be finished on any app server, and finishing it clears it: the conditional save
//!   lets one signed response be accepted at most once;
//! - registering a key is adding a factor: it needs a fresh proof from a user who has
//!   MFA, at the start and at the finish, within [`MAX_AUTHENTICATORS`];
//! - a failed assertion counts towards the lockout and the hard limit like a wrong
//!   code; a response that is not a WebAuthn response at all does not (it cannot
//!   match, as input that is not a code cannot);
//! - the signature counter must move forward whenever either side has one (WebAuthn
//!   Level 3 §7.2 step 22); a counter that goes back is audited as a possibly cloned
//!   key and refused, or let through and flagged where the rules say so
//!   ([`CounterRule`]).

use thiserror::Error;

use super::enrollment::Confirmed;
use super::{Draft, Env, Failure, Proven, Step, run_in, try_run_in};
use crate::event::EventKind;
use crate::record::{
    CEREMONY_LIFETIME, Ceremony, CeremonyKind, CredentialId, FailureState, MAX_AUTHENTICATORS,
    MAX_CEREMONY_STATE, MAX_CREDENTIAL_ID, MAX_PUBLIC_KEY, SecurityKey, UserHandle, UserRecord,
    authenticator_name, window_holds,
};
use crate::vocabulary::{EnrollmentRejection, Method, Outcome, Refusal, RejectionReason, SensitiveAction};

/// A credential the relying party accepted at the end of a registration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "stores and relying parties outside this crate build it (mfa-kit-sqlx, mfa-kit-webauthn, hosts' own)"
)]
pub struct NewKey {
    /// The id the authenticator gave the credential (1 to [`MAX_CREDENTIAL_ID`] bytes;
    /// another length is refused as malformed).
    pub credential_id: CredentialId,
    /// The credential's public key, in the relying party's encoding (at most
    /// [`MAX_PUBLIC_KEY`] bytes).
    pub public_key: String,
    /// The signature counter the registration carried.
    pub counter: u32,
    /// Whether the authenticator verified the user.
    pub user_verified: bool,
    /// Whether the credential may be synced to other devices.
    pub backup_eligible: bool,
    /// Whether it was synced.
    pub backup_state: bool,
    /// Whether it is a discoverable credential (a passkey).
    pub discoverable: bool,
}

/// An assertion whose signature the relying party verified against one of the user's
/// keys, for this ceremony's challenge and this site's origin.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "stores and relying parties outside this crate build it (mfa-kit-sqlx, mfa-kit-webauthn, hosts' own)"
)]
pub struct Assertion {
    /// The credential that signed.
    pub credential_id: CredentialId,
    /// The signature counter it carried.
    pub counter: u32,
    /// Whether the authenticator verified the user.
    pub user_verified: bool,
    /// Whether the credential may be synced to other devices, as it says now.
    pub backup_eligible: bool,
    /// Whether it was synced, as it says now.
    pub backup_state: bool,
}

/// Why the relying party did not accept the browser's response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// Not a WebAuthn response at all (not JSON, fields missing, truncated data): it
    /// cannot be a guess, and is not counted as one.
    #[error("the browser's response is not a WebAuthn response")]
    Malformed,
    /// Signed for another origin or relying-party id (a look-alike site).
    #[error("the response was made for another site")]
    WrongOrigin,
    /// It answers another challenge, or another kind of ceremony.
    #[error("the response answers another request")]
    WrongChallenge,
    /// Signed by a credential not registered to the user.
    #[error("the response is signed by a key not registered to this account")]
    UnknownCredential,
    /// The signature (or the attestation) does not verify.
    #[error("the response's signature does not verify")]
    BadSignature,
    /// The authenticator did not verify the user where that is required.
    #[error("the security key did not verify the user")]
    UserNotVerified,
}

impl CeremonyError {
    /// The audit event's reason for it.
    fn reason(self) -> RejectionReason {
        match self {
            CeremonyError::Malformed => RejectionReason::Malformed,
            CeremonyError::WrongOrigin => RejectionReason::WrongOrigin,
            CeremonyError::WrongChallenge => RejectionReason::WrongChallenge,
            CeremonyError::UnknownCredential => RejectionReason::UnknownCredential,
            CeremonyError::BadSignature => RejectionReason::BadSignature,
            CeremonyError::UserNotVerified => RejectionReason::UserNotVerified,
        }
    }
}

/// What to do when a key's signature counter goes backwards (or stays put where it
/// counts): two copies of the key may exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CounterRule {
    /// Refuse the proof, count it as a failure and audit it (the default).
    #[default]
    Refuse,
    /// Accept the proof, and audit it for review (for fleets whose keys are known to
    /// reset their counters); the record keeps the higher counter.
    Flag,
}

/// A ceremony was started: the options go to the browser, which must answer before
/// `expires_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CeremonyStarted {
    /// When the ceremony lapses unless finished.
    pub expires_at: u64,
}

/// The handle the user's authenticators will know them by: the record's, or a fresh
/// random one for a user registering their first key (kept by
/// [`start_registration`]).
///
/// # Errors
/// [`Failure::RandomSource`] when the operating system's random source fails.
pub fn user_handle(record: &UserRecord) -> Result<UserHandle, Failure> {
    if let Some(handle) = record.rare.user_handle {
        return Ok(handle);
    }
    let mut bytes = [0u8; 16];
    crate::otp::random::fill(&mut bytes)?;
    Ok(UserHandle(bytes))
}

/// Opens the registration of a new security key or passkey, to be called `name`, with
/// the relying party's `state` for the options it made for `handle` (from
/// [`user_handle`]). Replaces any ceremony in progress. Refused for a name that is
/// blank, longer than [`MAX_AUTHENTICATOR_NAME`](crate::record::MAX_AUTHENTICATOR_NAME)
/// characters or holds a control character, at [`MAX_AUTHENTICATORS`], during a lockout,
/// from an address off the allowlist, and, for a user who has MFA, without a fresh
/// second-factor proof ([`super::step_up`]); a refusal is audited as
/// `enrollment_refused`.
pub fn start_registration(
    record: &mut UserRecord,
    name: &str,
    handle: UserHandle,
    state: String,
    env: &Env<'_>,
) -> Step<CeremonyStarted> {
    run_in(record, env, |draft| {
        open_registration(draft, name, handle, state, env)
            .map_err(|refusal| refuse_registration(draft, refusal, env))
    })
}

fn open_registration(
    draft: &mut Draft<'_>,
    name: &str,
    handle: UserHandle,
    state: String,
    env: &Env<'_>,
) -> Outcome<CeremonyStarted> {
    let Some(name) = authenticator_name(name) else { return Err(Refusal::InvalidName) };
    if let Some(refused) = may_add(draft, env, env.now) {
        return Err(refused);
    }
    if state.len() > MAX_CEREMONY_STATE {
        return Err(Refusal::Malformed);
    }
    let expires_at = env.now.saturating_add(CEREMONY_LIFETIME);
    let record = draft.edit();
    record.rare.edit().user_handle.get_or_insert(handle);
    record.rare.edit().ceremony = Some(Box::new(Ceremony {
        kind: CeremonyKind::Registration { name },
        state: state.into(),
        started_at: env.now,
        expires_at,
    }));
    Ok(CeremonyStarted { expires_at })
}

/// Whether the user may add a key now: the organisation allows keys as a factor, and
/// the address, the lock, the count and a fresh proof, as adding an authenticator app
/// needs. The proof is judged at `fresh_at` (the
/// ceremony's start, when finishing one: a slow browser dialog does not spend the
/// proof's window, and a session that was not fresh then cannot finish it).
fn may_add(draft: &mut Draft<'_>, env: &Env<'_>, fresh_at: u64) -> Option<Refusal> {
    if let Some(refused) = draft.refuse_ended_session(env) {
        return Some(refused);
    }
    if let Some(refused) = draft.refuse_address(env) {
        return Some(refused);
    }
    // A key the organisation does not count would end a reset's required enrollment
    // without giving the user MFA.
    if !env.policy.method_allowed(env.context, Method::SecurityKey) {
        return Some(Refusal::MethodNotAllowed);
    }
    if let Some(refused) = draft.locked(env.now) {
        return Some(refused);
    }
    if draft.get().authenticator_count() >= MAX_AUTHENTICATORS {
        return Some(Refusal::TooManyAuthenticators);
    }
    let then = Env { now: fresh_at.min(env.now), ..*env };
    super::step_up::require(draft, SensitiveAction::AddAuthenticator, &then)
}

/// The ceremony of `kind` in progress, if it holds at `now`; an expired one is cleared
/// (and refused as [`Refusal::CeremonyExpired`]).
fn take_ceremony(draft: &mut Draft<'_>, registration: bool, env: &Env<'_>) -> Result<Ceremony, Refusal> {
    let of_kind = |ceremony: &&Ceremony| ceremony.is_registration() == registration;
    let Some(ceremony) = draft.get().rare.ceremony.as_deref().filter(of_kind).cloned() else {
        return Err(Refusal::NoCeremonyPending);
    };
    // Single use: whatever the answer, this challenge is spent.
    draft.edit().rare.edit().ceremony = None;
    if !window_holds(ceremony.started_at, ceremony.expires_at, CEREMONY_LIFETIME, env.now) {
        return Err(Refusal::CeremonyExpired);
    }
    Ok(ceremony)
}

/// Finishes a registration with what the relying party made of the browser's
/// response (`answer`, checked against [`Ceremony::state`]): the key becomes one of
/// the user's authenticators. The ceremony is spent whatever the answer. Needs the same
/// fresh proof as the start (a session that could not have started it cannot finish
/// one another session started). A rejected response is audited as
/// `enrollment_rejected`, a refusal (that fresh proof missing, a key already
/// registered, ...) as `enrollment_refused`, a lapsed ceremony as
/// `enrollment_expired`; none is counted towards the lockout (registering proves
/// nothing about the account).
///
/// # Errors
/// [`Failure::RandomSource`] if the operating system's random source fails (for the
/// key's id).
pub fn finish_registration(
    record: &mut UserRecord,
    answer: Result<NewKey, CeremonyError>,
    env: &Env<'_>,
) -> Result<Step<Confirmed>, Failure> {
    try_run_in(record, env, |draft| {
        // Spent first, whatever follows: a response is answered at most once.
        let ceremony = match take_ceremony(draft, true, env) {
            Ok(ceremony) => ceremony,
            Err(Refusal::CeremonyExpired) => {
                // Audited once: the lapsed ceremony is cleared now.
                draft.emit(EventKind::EnrollmentExpired);
                return Ok(Err(Refusal::CeremonyExpired));
            }
            Err(refusal) => return Ok(Err(refusal)),
        };
        if let Some(ended) = draft.refuse_ended_session(env) {
            return Ok(Err(ended));
        }
        let CeremonyKind::Registration { name } = ceremony.kind else {
            return Ok(Err(Refusal::NoCeremonyPending));
        };
        if let Some(refused) = may_add(draft, env, ceremony.started_at) {
            return Ok(Err(refuse_registration(draft, refused, env)));
        }
        let key = match answer {
            // What the record can hold and read back: a relying party outside this crate
            // may answer with more.
            Ok(key)
                if key.public_key.len() <= MAX_PUBLIC_KEY
                    && (1..=MAX_CREDENTIAL_ID).contains(&key.credential_id.as_bytes().len()) =>
            {
                key
            }
            Ok(_) => return Ok(Err(reject_registration(draft, CeremonyError::Malformed, env))),
            Err(error) => return Ok(Err(reject_registration(draft, error, env))),
        };
        let record = draft.get();
        if record.rare.security_keys.iter().any(|k| k.credential_id == key.credential_id) {
            return Ok(Err(refuse_registration(draft, Refusal::KeyAlreadyRegistered, env)));
        }
        let id = super::enrollment::new_id()?;
        draft.protection_changed();
        let record = draft.edit();
        record.rare.edit().security_keys.push(SecurityKey {
            id: id.clone().into(),
            name: name.clone().into(),
            credential_id: key.credential_id,
            public_key: key.public_key.into(),
            counter: key.counter,
            user_verified: key.user_verified,
            backup_eligible: key.backup_eligible,
            backup_state: key.backup_state,
            discoverable: key.discoverable,
            created_at: env.now,
            last_used_at: None,
        });
        record.failures = FailureState::default();
        // The signed registration proves the user holds the key: the next set-up step
        // needs no second sign-in.
        record.note_proof(Method::SecurityKey, env.now);
        record.must_enroll = false;
        draft.emit(EventKind::SecurityKeyRegistered {
            authenticator: id,
            name,
            discoverable: key.discoverable,
            user_verified: key.user_verified,
        });
        Ok(Ok(Confirmed { replaced: false, at: env.now }))
    })
}

/// A registration refused before or after the ceremony (not the key's own response):
/// audited as `enrollment_refused`, within the bound on refused attempts.
fn refuse_registration(draft: &mut Draft<'_>, refusal: Refusal, env: &Env<'_>) -> Refusal {
    draft.emit_refused(EventKind::EnrollmentRefused { refusal: refusal.code().to_string() }, env.now);
    refusal
}

fn reject_registration(draft: &mut Draft<'_>, error: CeremonyError, env: &Env<'_>) -> Refusal {
    let reason = if error == CeremonyError::Malformed {
        EnrollmentRejection::Malformed
    } else {
        EnrollmentRejection::KeyRejected
    };
    draft.emit_refused(EventKind::EnrollmentRejected { reason }, env.now);
    // Registering counts no failure.
    if error == CeremonyError::Malformed { Refusal::KeyResponseMalformed } else { Refusal::KeyNotRegistered }
}

/// What every security-key proof starts with: the policy screen, a key to prove
/// with, the lock check.
fn begin(draft: &mut Draft<'_>, env: &Env<'_>) -> Option<Refusal> {
    if let Some(refused) = draft.screen(env, Method::SecurityKey) {
        return Some(refused);
    }
    if !env.policy.method_allowed(env.context, Method::SecurityKey) {
        return Some(Refusal::MethodNotAllowed);
    }
    if draft.get().rare.security_keys.is_empty() {
        return Some(Refusal::NotEnrolled);
    }
    draft.refuse_if_locked(Method::SecurityKey, env.now)
}

/// Opens an authentication with the user's keys (at sign-in or before a sensitive
/// action), with the relying party's `state` for the options it made from
/// [`UserRecord::security_keys`]. Replaces any ceremony in progress. Refused from an
/// ended session, an address off the allowlist, during a lockout, where the policy
/// does not allow security keys, and for a user with no key.
pub fn start_authentication(record: &mut UserRecord, state: String, env: &Env<'_>) -> Step<CeremonyStarted> {
    run_in(record, env, |draft| {
        if let Some(refused) = begin(draft, env) {
            return Err(refused);
        }
        if state.len() > MAX_CEREMONY_STATE {
            return Err(Refusal::Malformed);
        }
        let expires_at = env.now.saturating_add(CEREMONY_LIFETIME);
        draft.edit().rare.edit().ceremony = Some(Box::new(Ceremony {
            kind: CeremonyKind::Authentication,
            state: state.into(),
            started_at: env.now,
            expires_at,
        }));
        Ok(CeremonyStarted { expires_at })
    })
}

/// Proves the second factor with what the relying party made of the browser's signed
/// response (`answer`, checked against [`Ceremony::state`] and the user's keys). The
/// ceremony is spent whatever the answer, so a response is accepted at most once. A
/// rejected or unknown-key response counts towards the lockout and the hard limit; a
/// counter that went backwards is audited (`security_key_counter_regressed`) and, under
/// [`CounterRule::Refuse`] (the rules' [`super::Rules::counter`]), refused and counted. On success the key's counter, backup
/// flags and last use are updated in the same change.
pub fn finish_authentication(
    record: &mut UserRecord,
    answer: Result<Assertion, CeremonyError>,
    env: &Env<'_>,
) -> Step<Proven> {
    run_in(record, env, |draft| {
        // Spent first, whatever follows: a response is answered at most once.
        spend_ceremony(draft, env)?;
        if let Some(refused) = begin(draft, env) {
            return Err(refused);
        }
        let lockout = Draft::lockout(env);
        let assertion = match answer {
            Ok(assertion) => assertion,
            Err(CeremonyError::Malformed) => {
                // Not counted, as input that is not a code is not.
                draft.malformed(Method::SecurityKey, env.now);
                return Err(Refusal::KeyResponseMalformed);
            }
            Err(error) => {
                return Err(rejected(draft.count_failure(
                    Method::SecurityKey,
                    error.reason(),
                    env.now,
                    lockout,
                )));
            }
        };
        let found = draft
            .get()
            .rare
            .security_keys
            .iter()
            .position(|key| key.credential_id == assertion.credential_id);
        let Some(index) = found else {
            let reason = RejectionReason::UnknownCredential;
            return Err(rejected(draft.count_failure(Method::SecurityKey, reason, env.now, lockout)));
        };
        if !counter_accepted(draft, index, assertion.counter, env) {
            let reason = RejectionReason::CounterRegressed;
            return Err(rejected(draft.count_failure(Method::SecurityKey, reason, env.now, lockout)));
        }
        if let Some(key) = draft.edit().rare.edit().security_keys.get_mut(index) {
            key.counter = key.counter.max(assertion.counter);
            key.backup_eligible = assertion.backup_eligible;
            key.backup_state = assertion.backup_state;
            key.last_used_at = Some(env.now);
        }
        Ok(draft.succeed(Method::SecurityKey, env.now, None))
    })
}

/// Spends the pending authentication ceremony; without one (or after it expired) the
/// attempt is refused and audited, not counted.
fn spend_ceremony(draft: &mut Draft<'_>, env: &Env<'_>) -> Result<(), Refusal> {
    let consecutive_failures = draft.get().failures.consecutive;
    take_ceremony(draft, false, env).map(drop).map_err(|refusal| {
        let reason = if refusal == Refusal::CeremonyExpired {
            RejectionReason::Expired
        } else {
            RejectionReason::NoCodePending
        };
        let event = EventKind::CodeRejected { method: Method::SecurityKey, reason, consecutive_failures };
        draft.emit_refused(event, env.now);
        refusal
    })
}

/// Whether the key at `index` may go on with the signature counter it `presented`: a
/// counter that did not move forward (both zero means the key keeps none) is audited,
/// and accepted only under [`CounterRule::Flag`].
fn counter_accepted(draft: &mut Draft<'_>, index: usize, presented: u32, env: &Env<'_>) -> bool {
    let key = &draft.get().rare.security_keys[index];
    let stored = key.counter;
    if !((presented > 0 || stored > 0) && presented <= stored) {
        return true;
    }
    let accepted = env.rules.counter == CounterRule::Flag;
    let authenticator = key.id().to_string();
    draft.emit(EventKind::SecurityKeyCounterRegressed { authenticator, stored, presented, accepted });
    accepted
}

/// A counted failure, in a security key's words.
fn rejected(refusal: Refusal) -> Refusal {
    match refusal {
        Refusal::WrongCode { attempts_left } | Refusal::CodeReused { attempts_left } => {
            Refusal::KeyRejected { attempts_left }
        }
        other => other,
    }
}

/// Whether a phishing-resistant factor is what this request must prove with: the
/// policy requires one for this user and the user has one. Codes (app, SMS, e-mail)
/// are then refused at sign-in and step-up; recovery codes stay, the way back for a
/// user who lost their key.
pub(crate) fn phishing_resistant_required(record: &UserRecord, env: &Env<'_>) -> bool {
    env.policy.phishing_resistant_required(env.context)
        && record.has_phishing_resistant_allowing(|method| env.policy.method_allowed(env.context, method))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Rules;
    use crate::policy::{SignInContext, StandardPolicy};
    use crate::vocabulary::UserId;

    const NOW: u64 = 1_700_000_000;

    fn key(id: u8) -> NewKey {
        NewKey {
            credential_id: CredentialId::new(vec![id; 16]),
            public_key: "{\"kty\":\"EC\"}".into(),
            counter: 5,
            user_verified: true,
            backup_eligible: false,
            backup_state: false,
            discoverable: false,
        }
    }

    fn assertion(id: u8, counter: u32) -> Assertion {
        Assertion {
            credential_id: CredentialId::new(vec![id; 16]),
            counter,
            user_verified: true,
            backup_eligible: false,
            backup_state: false,
        }
    }

    fn registered() -> UserRecord {
        let (policy, context, rules) = (StandardPolicy::new(), SignInContext::default(), Rules::default());
        let env = Env::new(NOW, &policy, &context, &rules);
        let mut record = UserRecord::new(UserId::new("u"));
        let handle = user_handle(&record).unwrap();
        let started = start_registration(&mut record, "YubiKey", handle, "state".into(), &env);
        assert!(started.outcome.is_ok());
        let done = finish_registration(&mut record, Ok(key(1)), &env).unwrap();
        assert!(done.outcome.is_ok() && done.changed);
        assert_eq!(record.security_keys().len(), 1);
        assert!(record.has_mfa());
        record
    }

    #[test]
    fn an_assertion_is_accepted_once_and_moves_the_counter() {
        let (policy, context, rules) = (StandardPolicy::new(), SignInContext::default(), Rules::default());
        let env = Env::new(NOW + 60, &policy, &context, &rules);
        let mut record = registered();
        assert!(start_authentication(&mut record, "s".into(), &env).outcome.is_ok());
        let proof = finish_authentication(&mut record, Ok(assertion(1, 6)), &env);
        assert_eq!(proof.outcome.map(|p| p.method), Ok(Method::SecurityKey));
        assert_eq!(record.security_keys()[0].counter(), 6);
        // The same answer again: the challenge is spent.
        let again = finish_authentication(&mut record, Ok(assertion(1, 7)), &env);
        assert_eq!(again.outcome, Err(Refusal::NoCeremonyPending));
    }

    #[test]
    fn a_counter_that_goes_back_is_refused_and_counted_or_flagged() {
        let (policy, context, rules) = (StandardPolicy::new(), SignInContext::default(), Rules::default());
        let env = Env::new(NOW + 60, &policy, &context, &rules);
        let mut record = registered();
        let _ = start_authentication(&mut record, "s".into(), &env);
        let refused = finish_authentication(&mut record, Ok(assertion(1, 5)), &env);
        assert!(matches!(refused.outcome, Err(Refusal::KeyRejected { .. })));
        assert_eq!(record.failures().consecutive(), 1);
        assert!(refused.events.iter().any(|e| matches!(
            e,
            EventKind::SecurityKeyCounterRegressed { stored: 5, presented: 5, accepted: false, .. }
        )));
        let _ = start_authentication(&mut record, "s".into(), &env);
        let rules = Rules::default().with_counter(CounterRule::Flag);
        let env = Env::new(NOW + 60, &policy, &context, &rules);
        let flagged = finish_authentication(&mut record, Ok(assertion(1, 2)), &env);
        assert!(flagged.outcome.is_ok());
        assert_eq!(record.security_keys()[0].counter(), 5, "the higher counter is kept");
    }

    #[test]
    fn an_expired_or_missing_ceremony_changes_no_count() {
        let (policy, context, rules) = (StandardPolicy::new(), SignInContext::default(), Rules::default());
        let mut record = registered();
        let env = Env::new(NOW + 60, &policy, &context, &rules);
        let _ = start_authentication(&mut record, "s".into(), &env);
        let late = Env::new(NOW + 60 + CEREMONY_LIFETIME, &policy, &context, &rules);
        let expired = finish_authentication(&mut record, Ok(assertion(1, 9)), &late);
        assert_eq!(expired.outcome, Err(Refusal::CeremonyExpired));
        assert!(record.ceremony().is_none());
        assert_eq!(record.failures().consecutive(), 0);
        let none = finish_authentication(&mut record, Ok(assertion(1, 9)), &late);
        assert_eq!(none.outcome, Err(Refusal::NoCeremonyPending));
    }

    #[test]
    fn a_rejected_response_counts_and_a_malformed_one_does_not() {
        let (policy, context, rules) = (StandardPolicy::new(), SignInContext::default(), Rules::default());
        let env = Env::new(NOW + 60, &policy, &context, &rules);
        let mut record = registered();
        let _ = start_authentication(&mut record, "s".into(), &env);
        let bad = finish_authentication(&mut record, Err(CeremonyError::WrongOrigin), &env);
        assert!(matches!(bad.outcome, Err(Refusal::KeyRejected { .. })));
        assert_eq!(record.failures().consecutive(), 1);
        let _ = start_authentication(&mut record, "s".into(), &env);
        let junk = finish_authentication(&mut record, Err(CeremonyError::Malformed), &env);
        assert_eq!(junk.outcome, Err(Refusal::KeyResponseMalformed));
        assert_eq!(record.failures().consecutive(), 1);
        let _ = start_authentication(&mut record, "s".into(), &env);
        let stranger = finish_authentication(&mut record, Ok(assertion(9, 50)), &env);
        assert!(matches!(stranger.outcome, Err(Refusal::KeyRejected { .. })));
        assert_eq!(record.failures().consecutive(), 2);
    }

    #[test]
    fn the_same_key_is_not_registered_twice_and_the_ceremony_kind_must_match() {
        let (policy, context, rules) = (StandardPolicy::new(), SignInContext::default(), Rules::default());
        let env = Env::new(NOW + 10, &policy, &context, &rules);
        let mut record = registered();
        // An authentication's state does not finish a registration.
        let _ = start_authentication(&mut record, "s".into(), &env);
        let wrong = finish_registration(&mut record, Ok(key(2)), &env).unwrap();
        assert_eq!(wrong.outcome, Err(Refusal::NoCeremonyPending));
        let handle = user_handle(&record).unwrap();
        assert_eq!(Some(&handle), record.user_handle());
        let _ = start_registration(&mut record, "Spare", handle, "s".into(), &env);
        let twice = finish_registration(&mut record, Ok(key(1)), &env).unwrap();
        assert_eq!(twice.outcome, Err(Refusal::KeyAlreadyRegistered));
        assert_eq!(record.security_keys().len(), 1);
    }
}
