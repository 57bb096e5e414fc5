//! The authenticator app: enrollment, sign-in codes, resynchronisation, deactivation
//! and re-sealing.

use zeroize::Zeroizing;

use super::{MfaService, Transition, facts, revoke_all};
use crate::audit::{EventKind, Method, RequestContext};
use crate::device::Revocation;
use crate::enrollment::{self, EnrollmentOutcome};
use crate::error::{Error, TimeError};
use crate::policy::SignInContext;
use crate::proof::{self, CodeOutcome};
use crate::record::{UserId, UserRecord};
use crate::store::Store;
use crate::{KeyUri, Secret, Totp};

/// What the enrollment screen shows.
#[derive(Debug)]
pub struct EnrollmentStart {
    /// The otpauth:// URI for the QR code. Holds the secret: show it to this user only.
    pub uri: Zeroizing<String>,
    /// The secret in groups of four, for typing by hand.
    pub secret_grouped: Zeroizing<String>,
    /// When the enrollment expires unless confirmed.
    pub expires_at: u64,
}

#[cfg(feature = "qr")]
impl EnrollmentStart {
    /// The QR code of [`EnrollmentStart::uri`] as SVG, for the enrollment screen.
    ///
    /// # Errors
    /// [`crate::UriError::TooLongForQr`] for a URI too long to encode.
    pub fn qr_svg(&self) -> Result<Zeroizing<String>, crate::UriError> {
        crate::qr::svg(&KeyUri::parse(&self.uri)?)
    }
}

/// The outcome of a deactivation request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeactivationOutcome {
    /// MFA is off for the user.
    Deactivated,
    /// A rule forbids deactivation (for example a jurisdiction rule).
    Forbidden(crate::policy::Reason),
    /// The code did not prove the factor; nothing was deactivated.
    NotProven(CodeOutcome),
}

impl<S: Store> MfaService<S> {
    /// Checks a code from the user's authenticator app: accepted at most once (on any
    /// app server), wrong codes and replays counted towards the lockout.
    ///
    /// # Errors
    /// [`Error::NotEnrolled`] if the user has no authenticator; infrastructure errors
    /// as described on [`Error`].
    pub async fn verify_code(
        &self,
        user: &UserId,
        input: &str,
        context: &SignInContext,
    ) -> Result<CodeOutcome, Error> {
        let lockout = self.policy.lockout(context);
        let rules = self.config.drift;
        self.update(user, user, &context.request, |record, now| {
            let mut events = Vec::new();
            let outcome =
                self.prove_with_app(user, record, context, now, &mut events, |record, totp, events| {
                    proof::prove_totp(record, totp, input, now, &rules, lockout, events)
                })?;
            Ok(Transition { outcome, events })
        })
        .await
    }

    /// Every proof with the authenticator app goes through here: refused unevaluated
    /// when the policy refuses the request (an address off the allowlist), otherwise
    /// checked against the record with the credential's secret opened.
    fn prove_with_app(
        &self,
        user: &UserId,
        record: &mut UserRecord,
        context: &SignInContext,
        now: u64,
        events: &mut Vec<EventKind>,
        prove: impl FnOnce(&mut UserRecord, &Totp, &mut Vec<EventKind>) -> Result<CodeOutcome, TimeError>,
    ) -> Result<CodeOutcome, Error> {
        if let Some(refused) = self.screen(record, context, now, Method::Totp) {
            events.extend(refused.events);
            return Ok(refused.outcome);
        }
        let totp = self.open_credential(user, record.totp.as_ref())?;
        Ok(prove(record, &totp, events)?)
    }

    /// Re-learns the drift of a user's phone clock from two consecutive codes, when it
    /// has drifted beyond the learned window. Counts as a sign-in proof.
    ///
    /// # Errors
    /// As [`MfaService::verify_code`].
    pub async fn resynchronise(
        &self,
        user: &UserId,
        first: &str,
        second: &str,
        context: &SignInContext,
    ) -> Result<CodeOutcome, Error> {
        let lockout = self.policy.lockout(context);
        let rules = self.config.drift;
        self.update(user, user, &context.request, |record, now| {
            let mut events = Vec::new();
            let outcome =
                self.prove_with_app(user, record, context, now, &mut events, |record, totp, events| {
                    proof::resynchronise(record, totp, [first, second], now, &rules, lockout, events)
                })?;
            Ok(Transition { outcome, events })
        })
        .await
    }

    /// Starts (or restarts) setting up an authenticator app: a new secret, sealed into a
    /// pending enrollment that expires. An active authenticator stays active until the
    /// new one is confirmed.
    ///
    /// # Errors
    /// [`Error::LockedOut`] during a lockout, [`Error::Uri`] for an account name with a
    /// colon, [`Error::Secret`] if the random source fails, and infrastructure errors.
    pub async fn start_enrollment(
        &self,
        user: &UserId,
        account_name: &str,
        context: &SignInContext,
    ) -> Result<EnrollmentStart, Error> {
        let lifetime = self.policy.enrollment_lifetime(context);
        let params = self.config.totp_params;
        self.update(user, user, &context.request, |record, now| {
            let mut events = Vec::new();
            proof::lift_expired_lock(&mut record.failures, now, &mut events);
            if let Some(until) = record.failures.locked_until {
                return Err(Error::LockedOut { until });
            }
            let secret = Secret::generate_len(self.config.secret_len)?;
            let uri = KeyUri::totp(&self.config.issuer, account_name, secret.clone(), params)?.to_uri();
            let sealed = self.sealer.seal(user, &secret)?;
            enrollment::begin(record, sealed, params, now, lifetime);
            let expires_at = now.saturating_add(lifetime);
            events.push(EventKind::EnrollmentStarted { expires_at });
            let outcome = EnrollmentStart { uri, secret_grouped: secret.to_base32_grouped(), expires_at };
            Ok(Transition { outcome, events })
        })
        .await
    }

    /// Confirms the pending enrollment with codes from the app: two consecutive codes,
    /// or one if so configured. Only then does the new authenticator replace an old one.
    ///
    /// # Errors
    /// [`Error::NoPendingEnrollment`], [`Error::LockedOut`], and infrastructure errors.
    pub async fn confirm_enrollment(
        &self,
        user: &UserId,
        codes: &[&str],
        context: &SignInContext,
    ) -> Result<EnrollmentOutcome, Error> {
        let lockout = self.policy.lockout(context);
        let rules = self.config.drift;
        let mode = self.config.confirmation;
        self.update(user, user, &context.request, |record, now| {
            let mut events = Vec::new();
            if record.pending_enrollment.is_none() {
                return Err(Error::NoPendingEnrollment);
            }
            if enrollment::expire(record, now, &mut events) {
                return Ok(Transition { outcome: EnrollmentOutcome::Expired, events });
            }
            proof::lift_expired_lock(&mut record.failures, now, &mut events);
            if let Some(until) = record.failures.locked_until {
                return Err(Error::LockedOut { until });
            }
            let pending = record.pending_enrollment.as_ref().ok_or(Error::NoPendingEnrollment)?;
            let totp = Totp::new(&self.sealer.open(user, &pending.secret)?, pending.params);
            let outcome = enrollment::confirm(record, &totp, codes, mode, now, &rules, lockout, &mut events)?;
            if matches!(outcome, EnrollmentOutcome::Confirmed { .. }) {
                revoke_all(record, Revocation::NewAuthenticator, &mut events);
            }
            Ok(Transition { outcome, events })
        })
        .await
    }

    /// The user turns MFA off: needs a current code and `confirmed` (the "yes, turn it
    /// off" of the screen), and is refused where a rule forbids it.
    ///
    /// # Errors
    /// [`Error::ConfirmationRequired`] without the confirmation, [`Error::NotEnrolled`],
    /// and infrastructure errors.
    pub async fn deactivate(
        &self,
        user: &UserId,
        code: &str,
        confirmed: bool,
        context: &SignInContext,
    ) -> Result<DeactivationOutcome, Error> {
        if !confirmed {
            return Err(Error::ConfirmationRequired);
        }
        let lockout = self.policy.lockout(context);
        let rules = self.config.drift;
        self.update(user, user, &context.request, |record, now| {
            let mut events = Vec::new();
            if let Err(reason) = self.policy.may_deactivate(context, &facts(record, now)) {
                events.push(EventKind::DeactivationRefused { reason });
                return Ok(Transition { outcome: DeactivationOutcome::Forbidden(reason), events });
            }
            let proof =
                self.prove_with_app(user, record, context, now, &mut events, |record, totp, events| {
                    proof::prove_totp(record, totp, code, now, &rules, lockout, events)
                })?;
            if !proof.is_accepted() {
                return Ok(Transition { outcome: DeactivationOutcome::NotProven(proof), events });
            }
            record.totp = None;
            record.pending_enrollment = None;
            record.recovery = None;
            record.oob = Default::default();
            revoke_all(record, Revocation::Deactivated, &mut events);
            events.push(EventKind::Deactivated);
            Ok(Transition { outcome: DeactivationOutcome::Deactivated, events })
        })
        .await
    }

    /// Re-seals the user's secrets with the sealer's current key, for key rotation: run
    /// it over every user after adding a new key, then retire the old key once no
    /// record names it. Returns whether anything was re-sealed.
    ///
    /// # Errors
    /// [`Error::Sealer`] if a secret does not open (it stays as it was), and
    /// infrastructure errors.
    pub async fn reseal(&self, user: &UserId) -> Result<bool, Error> {
        self.update(user, user, &RequestContext::default(), |record, _| {
            let mut changed = false;
            let sealed = record.totp.as_mut().map(|c| &mut c.secret).into_iter();
            let pending = record.pending_enrollment.as_mut().map(|p| &mut p.secret).into_iter();
            for secret in sealed.chain(pending) {
                let fresh = self.sealer.seal(user, &self.sealer.open(user, secret)?)?;
                changed |= fresh.key_id != secret.key_id;
                *secret = fresh;
            }
            Ok(Transition { outcome: changed, events: Vec::new() })
        })
        .await
    }
}
