//! Setting up an authenticator app ([`crate::flow::enrollment`]): the enrollment
//! screen, confirming it, importing a key from elsewhere, and re-sealing secrets.

use std::fmt;

use zeroize::Zeroizing;

use super::{Error, MfaService, Which};
use crate::event::Events;
use crate::flow::{self, Step, enrollment::Confirmed};
use crate::otp::Secret;
use crate::otp::uri::KeyUri;
use crate::policy::SignInContext;
use crate::seal::SecretSealer;
use crate::store::Store;
use crate::vocabulary::{Outcome, Refusal, RequestContext, UserId};

/// What the enrollment screen shows. Holds the secret: show it to this user only.
/// `Debug` leaves the secret out.
#[non_exhaustive]
pub struct EnrollmentStart {
    /// The otpauth:// URI for the QR code.
    pub uri: Zeroizing<String>,
    /// The secret in groups of four, for typing by hand.
    pub secret_grouped: Zeroizing<String>,
    /// When the enrollment expires unless confirmed.
    pub expires_at: u64,
}

impl fmt::Debug for EnrollmentStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollmentStart").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

#[cfg(feature = "qr")]
impl EnrollmentStart {
    /// The QR code of [`EnrollmentStart::uri`] as SVG, for the enrollment screen: it
    /// holds exactly that text.
    ///
    /// # Errors
    /// [`crate::otp::uri::UriError::TooLongForQr`] for a URI too long to encode.
    pub fn qr_svg(&self) -> Result<Zeroizing<String>, crate::otp::uri::UriError> {
        crate::otp::qr::svg_of_text(&self.uri)
    }
}

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// Shows the enrollment screen: the enrollment in progress for `account_name` if
    /// there is one still open (a page reload shows the same QR code and key, and
    /// writes nothing), otherwise a new one ([`MfaService::restart_enrollment`]). Once
    /// confirmed, the new authenticator app replaces the user's other apps (a new phone;
    /// security keys stay); the old ones stay active until then. A user who has MFA needs a fresh proof.
    ///
    /// # Errors
    /// [`Error::InvalidAccountName`] for an account name with a colon, [`Error::Sealer`],
    /// [`Error::RandomSource`], [`Error::Misconfigured`] for new authenticators' parameters
    /// a phone cannot be given (a period past the organisation's cap, an epoch T0 other
    /// than 0), and the other infrastructure failures.
    pub async fn start_enrollment(
        &self,
        user: &UserId,
        account_name: &str,
        context: &SignInContext,
    ) -> Result<Outcome<EnrollmentStart>, Error> {
        self.show_enrollment(user, account_name, None, context).await
    }

    /// Shows the screen for adding another authenticator app named `name` (a backup
    /// phone, a desktop app) beside the user's others: the same enrollment again on a
    /// page reload, otherwise a new one. Confirmed with
    /// [`MfaService::confirm_enrollment`]. Needs a fresh proof from a user who has
    /// MFA; refused for an invalid name and beyond
    /// [`crate::record::MAX_AUTHENTICATORS`].
    ///
    /// # Errors
    /// As [`MfaService::start_enrollment`].
    pub async fn add_authenticator(
        &self,
        user: &UserId,
        name: &str,
        account_name: &str,
        context: &SignInContext,
    ) -> Result<Outcome<EnrollmentStart>, Error> {
        self.show_enrollment(user, account_name, Some(name), context).await
    }

    async fn show_enrollment(
        &self,
        user: &UserId,
        account_name: &str,
        adding: Option<&str>,
        context: &SignInContext,
    ) -> Result<Outcome<EnrollmentStart>, Error> {
        // Screens opened at once (two tabs, a double click) show the one enrollment:
        // a start that finds one opened meanwhile shows that one instead.
        for _ in 0..self.attempts() {
            let now = self.now()?;
            let (_, record) = self.load(user).await?;
            self.settle(user, now, &record, context).await?;
            let pending =
                match flow::enrollment::resume(&record, account_name, adding, &self.env(now, context)) {
                    Ok(pending) => pending,
                    Err(refusal) => {
                        let _audited: Outcome<()> = self
                            .update(user, user, &context.request, |record, now| {
                                Ok(flow::enrollment::refused_start(
                                    record,
                                    refusal.clone(),
                                    &self.env(now, context),
                                ))
                            })
                            .await?;
                        return Ok(Err(refusal));
                    }
                };
            let Some(pending) = pending else {
                match self.begin_enrollment(user, account_name, adding, context, true).await? {
                    Some(started) => return Ok(started),
                    None => continue,
                }
            };
            let secret = self.sealer.open(user, pending.sealed_secret()).await?;
            let uri =
                KeyUri::totp(&self.config.issuer, account_name, secret.clone(), *pending.params())?.to_uri();
            return Ok(Ok(EnrollmentStart {
                uri,
                secret_grouped: secret.to_base32_grouped(),
                expires_at: pending.expires_at(),
            }));
        }
        Err(Error::Contention { attempts: self.attempts() })
    }

    /// Starts setting up an authenticator app with a new secret, sealed into a pending
    /// enrollment that expires, replacing any enrollment in progress; once confirmed it
    /// replaces the user's other authenticators. Refused during a lockout, from an
    /// address off the allowlist, after [`flow::enrollment::MAX_STARTS_PER_HOUR`]
    /// starts within an hour, and without a fresh proof from a user who has MFA.
    ///
    /// # Errors
    /// As [`MfaService::start_enrollment`].
    pub async fn restart_enrollment(
        &self,
        user: &UserId,
        account_name: &str,
        context: &SignInContext,
    ) -> Result<Outcome<EnrollmentStart>, Error> {
        let started = self.begin_enrollment(user, account_name, None, context, false).await?;
        Ok(started.unwrap_or(Err(Refusal::NoPendingEnrollment)))
    }

    /// Opens a new enrollment; with `unless_open`, nothing (`None`) when the record
    /// holds one for `account_name` still open when the change is made (another
    /// request opened it meanwhile: show that one).
    async fn begin_enrollment(
        &self,
        user: &UserId,
        account_name: &str,
        adding: Option<&str>,
        context: &SignInContext,
        unless_open: bool,
    ) -> Result<Option<Outcome<EnrollmentStart>>, Error> {
        // The organisation's settings were checked by the public call.
        let params = self.config.totp_params;
        if params.t0() != 0 {
            return Err(Error::Misconfigured(format!(
                "new authenticators count from T0 = {}, which their QR code cannot carry: use T0 = 0",
                params.t0()
            )));
        }
        if let Some(max) = self.policy.max_totp_period(context).filter(|max| params.period() > *max) {
            return Err(Error::Misconfigured(format!(
                "new authenticators have a period of {} s, but the policy allows at most {max} s",
                params.period()
            )));
        }
        let secret = Secret::generate_len(self.config.secret_len)?;
        let uri = KeyUri::totp(&self.config.issuer, account_name, secret.clone(), params)?.to_uri();
        let sealed = self.sealer.seal(user, &secret).await?;
        let started = self
            .update(user, user, &context.request, |record, now| {
                let env = self.env(now, context);
                if unless_open
                    && matches!(flow::enrollment::resume(record, account_name, adding, &env), Ok(Some(_)))
                {
                    return Ok(Step { outcome: Ok(None), events: Events::new(), changed: false });
                }
                let step = match adding {
                    None => flow::enrollment::start(record, sealed.clone(), params, account_name, &env),
                    Some(name) => {
                        flow::enrollment::add(record, sealed.clone(), params, account_name, name, &env)
                    }
                };
                Ok(Step { outcome: step.outcome.map(Some), events: step.events, changed: step.changed })
            })
            .await?;
        Ok(match started {
            Ok(None) => None,
            Ok(Some(started)) => Some(Ok(EnrollmentStart {
                uri,
                secret_grouped: secret.to_base32_grouped(),
                expires_at: started.expires_at,
            })),
            Err(refusal) => Some(Err(refusal)),
        })
    }

    /// Confirms the pending enrollment with codes from the app: two consecutive codes,
    /// or one if so configured. Only then does the new authenticator replace an old one.
    ///
    /// # Errors
    /// Infrastructure failures; without an enrollment in progress the outcome is
    /// [`Refusal::NoPendingEnrollment`].
    pub async fn confirm_enrollment(
        &self,
        user: &UserId,
        codes: &[&str],
        context: &SignInContext,
    ) -> Result<Outcome<Confirmed>, Error> {
        self.update_with_secret(
            user,
            context,
            Which::Pending,
            Refusal::NoPendingEnrollment,
            |record, totps, now| match totps.first() {
                Some(opened) => {
                    Ok(flow::enrollment::confirm(record, &opened.totp, codes, &self.env(now, context))?)
                }
                None => Ok(Step {
                    outcome: Err(Refusal::NoPendingEnrollment),
                    events: Events::new(),
                    changed: false,
                }),
            },
        )
        .await
    }

    /// Imports an authenticator from another system, for a migration: `key` is the
    /// otpauth:// URI of a TOTP credential or its secret in base32 (then with the
    /// default parameters), read by [`flow::enrollment::parse_imported_key`]. The secret
    /// must be at least 128 bits. The user's next code
    /// sets the replay floor. Audited as `AuthenticatorImported`.
    ///
    /// # Errors
    /// [`Error::Sealer`] and infrastructure failures; a key that cannot be used is
    /// [`Refusal::InvalidKey`].
    pub async fn import_authenticator(
        &self,
        user: &UserId,
        key: &str,
        context: &SignInContext,
    ) -> Result<Outcome<()>, Error> {
        let (secret, params) = match flow::enrollment::parse_imported_key(key) {
            Ok(parsed) => parsed,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let sealed = self.sealer.seal(user, &secret).await?;
        let imported = self
            .update(user, user, &context.request, |record, now| {
                Ok(flow::enrollment::import(record, sealed.clone(), params, &self.env(now, context))?)
            })
            .await;
        self.opened.forget(user);
        imported
    }

    /// Re-seals the user's secrets with the sealer's current key, for key rotation: run
    /// it over every user after adding a new key, then retire the old key once no
    /// record names it. Returns whether anything was re-sealed. The service opens and
    /// seals each secret again; [`flow::enrollment::reseal`] puts them in place and
    /// audits `SecretsResealed`.
    ///
    /// # Errors
    /// [`Error::Sealer`] if a secret does not open (it stays as it was), and
    /// infrastructure failures.
    pub async fn reseal(&self, user: &UserId) -> Result<bool, Error> {
        // Each secret is opened and sealed again once per call, kept across retries: a
        // retry calls the sealer only for a secret the earlier attempts did not hold.
        let mut resealed: Vec<(crate::seal::SealedSecret, crate::seal::SealedSecret)> = Vec::new();
        for _ in 0..self.attempts() {
            let mut attempt = self.begin(user).await?;
            for held in flow::enrollment::sealed_secrets(&attempt.record) {
                if resealed.iter().all(|(old, _)| *old != held) {
                    let fresh = self.sealer.seal(user, &self.sealer.open(user, &held).await?).await?;
                    resealed.push((held, fresh));
                }
            }
            let step = flow::enrollment::reseal(&mut attempt.record, &resealed);
            if let Some(outcome) = self.commit(attempt, user, &RequestContext::default(), step).await? {
                return Ok(outcome.unwrap_or(false));
            }
        }
        Err(Error::Contention { attempts: self.attempts() })
    }
}
