//! Security keys and passkeys: the two WebAuthn ceremonies, each a start (options out
//! to the browser, the challenge kept in the record) and a finish (the browser's answer
//! in, checked by the relying party, judged by the record's rules).

use std::sync::Arc;

use super::{Error, MfaService};
use crate::flow::security_key::{self as rules, CeremonyError};
use crate::flow::{Proven, Step, enrollment::Confirmed};
use crate::policy::SignInContext;
use crate::record::UserRecord;
use crate::relying_party::{MAX_RESPONSE, RegistrationUser, RelyingParty, RelyingPartyError};
use crate::seal::SecretSealer;
use crate::store::Store;
use crate::vocabulary::{Outcome, UserId};

/// What the page passes to `navigator.credentials.create()` or `.get()`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecurityKeyOptions {
    /// The options, as JSON (an object with a `publicKey` member, binary fields in
    /// base64url).
    pub options: String,
    /// When the ceremony lapses unless the browser answers.
    pub expires_at: u64,
}

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    fn party(&self) -> Result<Arc<dyn RelyingParty>, Error> {
        self.relying_party.clone().ok_or_else(|| {
            Error::Misconfigured(
                "no WebAuthn relying party: give one with MfaServiceBuilder::relying_party".into(),
            )
        })
    }

    /// Starts registering a security key or passkey named `name` (for example
    /// "YubiKey", "This laptop") as one of the user's authenticators, listed on the key
    /// as `account_name` and shown as `display_name`. Needs a fresh proof from a user
    /// who has MFA, and a free place among [`crate::record::MAX_AUTHENTICATORS`].
    /// Finish with [`MfaService::finish_security_key_registration`] within
    /// [`crate::record::CEREMONY_LIFETIME`], on this or any other app server.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] without a relying party, [`Error::RelyingParty`], and
    /// the infrastructure failures.
    pub async fn start_security_key_registration(
        &self,
        user: &UserId,
        name: &str,
        account_name: &str,
        display_name: &str,
        context: &SignInContext,
    ) -> Result<Outcome<SecurityKeyOptions>, Error> {
        let party = self.party()?;
        self.update(user, user, &context.request, |record, now| {
            let handle = rules::user_handle(record)?;
            let subject = RegistrationUser::new(&handle, account_name, display_name);
            let made = party.start_registration(&subject, record.security_keys())?;
            let step = rules::start_registration(record, name, handle, made.state, &self.env(now, context));
            Ok(with_options(step, made.options))
        })
        .await
    }

    /// Finishes a registration with the browser's `response` (the JSON of the
    /// `PublicKeyCredential` that `navigator.credentials.create()` gave): the key
    /// becomes one of the user's authenticators, audited as `security_key_registered`
    /// (a security notice). The challenge is spent whatever the answer.
    ///
    /// # Errors
    /// As [`MfaService::start_security_key_registration`].
    pub async fn finish_security_key_registration(
        &self,
        user: &UserId,
        response: &str,
        context: &SignInContext,
    ) -> Result<Outcome<Confirmed>, Error> {
        let party = self.party()?;
        self.update(user, user, &context.request, |record, now| {
            let answer = answer(record, true, response, |state| party.finish_registration(state, response))?;
            Ok(rules::finish_registration(record, answer, &self.env(now, context))?)
        })
        .await
    }

    /// Starts a proof with one of the user's security keys, at sign-in (after the
    /// password) or before a sensitive action. Finish with
    /// [`MfaService::verify_security_key`].
    ///
    /// # Errors
    /// As [`MfaService::start_security_key_registration`]; a user without a key gets
    /// [`crate::Refusal::NotEnrolled`].
    pub async fn start_security_key(
        &self,
        user: &UserId,
        context: &SignInContext,
    ) -> Result<Outcome<SecurityKeyOptions>, Error> {
        let party = self.party()?;
        self.update(user, user, &context.request, |record, now| {
            let env = self.env(now, context);
            if record.security_keys().is_empty() {
                // Nothing to make options for: the transition refuses it as such.
                return Ok(with_options(
                    rules::start_authentication(record, String::new(), &env),
                    String::new(),
                ));
            }
            let made = party.start_authentication(record.security_keys())?;
            Ok(with_options(rules::start_authentication(record, made.state, &env), made.options))
        })
        .await
    }

    /// Checks the browser's signed `response` (the JSON of the `PublicKeyCredential`
    /// that `navigator.credentials.get()` gave) as the second factor: accepted at most
    /// once, on any app server; a rejected one counts towards the lockout (an answer to
    /// a request a later one replaced, in another tab, too: it answers the wrong
    /// challenge, and the later request is spent with it); a signature
    /// counter that went backwards is audited as a possibly cloned key and refused
    /// (see [`crate::flow::security_key`]). The proof is phishing-resistant
    /// ([`Proven::phishing_resistant`]).
    ///
    /// # Errors
    /// As [`MfaService::start_security_key_registration`].
    pub async fn verify_security_key(
        &self,
        user: &UserId,
        response: &str,
        context: &SignInContext,
    ) -> Result<Outcome<Proven>, Error> {
        let party = self.party()?;
        self.update(user, user, &context.request, |record, now| {
            let (keys, handle) = (record.security_keys(), record.user_handle());
            let answer = answer(record, false, response, |state| {
                party.finish_authentication_for(handle, state, response, keys)
            })?;
            Ok(rules::finish_authentication(record, answer, &self.env(now, context)))
        })
        .await
    }

    /// Renames one of the user's authenticators, an app or a security key, by its id;
    /// `Ok(false)` if the user has none with that id. Audited as
    /// `authenticator_renamed`.
    ///
    /// # Errors
    /// Infrastructure failures.
    pub async fn rename_authenticator(
        &self,
        user: &UserId,
        id: &str,
        name: &str,
        context: &SignInContext,
    ) -> Result<Outcome<bool>, Error> {
        self.update(user, user, &context.request, |record, now| {
            Ok(crate::flow::authenticator::rename(record, id, name, &self.env(now, context)))
        })
        .await
    }
}

/// What the relying party makes of `response` (with `check`) against the state of the
/// ceremony in progress, if it is of the kind asked: an answer too long to parse is
/// malformed, and with no such ceremony there is nothing to check against (the
/// transition refuses it as such).
fn answer<T>(
    record: &UserRecord,
    registration: bool,
    response: &str,
    check: impl FnOnce(&str) -> Result<Result<T, CeremonyError>, RelyingPartyError>,
) -> Result<Result<T, CeremonyError>, RelyingPartyError> {
    match record.ceremony().filter(|ceremony| ceremony.is_registration() == registration) {
        Some(_) if response.len() > MAX_RESPONSE => Ok(Err(CeremonyError::Malformed)),
        Some(ceremony) => check(ceremony.state()),
        None => Ok(Err(CeremonyError::WrongChallenge)),
    }
}

/// A started ceremony's step, with the options for the browser.
fn with_options(step: Step<rules::CeremonyStarted>, options: String) -> Step<SecurityKeyOptions> {
    Step {
        outcome: step.outcome.map(|started| SecurityKeyOptions { options, expires_at: started.expires_at }),
        events: step.events,
        changed: step.changed,
    }
}
