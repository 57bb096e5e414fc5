//! The WebAuthn relying party: the port through which the service has security keys and
//! passkeys registered and checked, implemented by `mfa-kit-webauthn` (on webauthn-rs)
//! so the core depends on no WebAuthn library, no OpenSSL and no CBOR parser.
//!
//! A relying party does the cryptography of the two ceremonies and nothing else: it
//! makes the options the browser passes to `navigator.credentials.create()` or
//! `.get()`, with a state to keep, and checks the browser's answer against that state
//! (challenge, origin, relying-party id, signature, user verification). What the state
//! is kept in, how long it holds, whether the answer was given before, what a failure
//! counts for and what a signature counter that went backwards means are the record's
//! rules ([`crate::flow::security_key`]), the same on every app server.
//!
//! Every method is synchronous: the work is a few signature checks, with no I/O.

use thiserror::Error;

use crate::flow::security_key::{Assertion, CeremonyError, NewKey};
use crate::record::{SecurityKey, UserHandle};

/// The longest browser response the service hands to a relying party: 64 KiB, far
/// above any real one (a registration with an attestation certificate chain is a few
/// KiB). A longer one is refused as malformed without being parsed.
pub const MAX_RESPONSE: usize = 64 * 1024;

/// The options of a ceremony for the browser, and the state to keep until it answers.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CeremonyOptions {
    /// The argument of `navigator.credentials.create()` or `.get()`, as JSON (an object
    /// with a `publicKey` member whose binary fields are base64url strings).
    pub options: String,
    /// What the relying party needs to check the answer: kept in the user's record.
    pub state: String,
}

impl CeremonyOptions {
    /// Options for the browser, and the state to keep.
    pub fn new(options: String, state: String) -> CeremonyOptions {
        CeremonyOptions { options, state }
    }
}

impl std::fmt::Debug for CeremonyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CeremonyOptions").field("options", &self.options).finish_non_exhaustive()
    }
}

/// Who a new credential is for, as the authenticator will show and store it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistrationUser<'a> {
    /// The random handle the user's authenticators know them by.
    pub handle: &'a UserHandle,
    /// The account's name on the key's list of accounts (an e-mail address, a user
    /// name).
    pub name: &'a str,
    /// The name to show with it (the person's name).
    pub display_name: &'a str,
}

impl<'a> RegistrationUser<'a> {
    /// The user known by `handle`, listed as `name`, shown as `display_name`.
    pub fn new(handle: &'a UserHandle, name: &'a str, display_name: &'a str) -> RegistrationUser<'a> {
        RegistrationUser { handle, name, display_name }
    }
}

/// The relying party itself failed (a state it cannot read, a library error): not the
/// browser's answer, which is a [`CeremonyError`]. Nobody is let in and nothing is
/// registered. Holds no challenge or key material.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("the WebAuthn relying party failed: {0}")]
#[allow(clippy::exhaustive_structs, reason = "a marker or a one-field newtype: there is nothing to add")]
pub struct RelyingPartyError(pub String);

/// Registers and checks security keys and passkeys for one site. `mfa-kit-webauthn`
/// implements it on webauthn-rs; give it to the service with
/// [`crate::service::MfaServiceBuilder::relying_party`].
///
/// As a [`crate::policy::Policy`], it is asked while the user's record is being changed
/// (on `MemoryStore`, under the lock that guards the record): it checks what it is
/// given, without calling the service or the store back.
pub trait RelyingParty: Send + Sync {
    /// The options to register a new credential for `user`, excluding the credentials
    /// already `registered` (so a key is not registered twice).
    ///
    /// # Errors
    /// [`RelyingPartyError`] when options cannot be made.
    fn start_registration(
        &self,
        user: &RegistrationUser<'_>,
        registered: &[SecurityKey],
    ) -> Result<CeremonyOptions, RelyingPartyError>;

    /// The credential the browser's `response` (the JSON of the `PublicKeyCredential`
    /// from `navigator.credentials.create()`) registers, checked against `state`; or
    /// why the response is not accepted.
    ///
    /// # Errors
    /// [`RelyingPartyError`] when the relying party cannot check it at all (a state it
    /// cannot read).
    fn finish_registration(
        &self,
        state: &str,
        response: &str,
    ) -> Result<Result<NewKey, CeremonyError>, RelyingPartyError>;

    /// The options to prove possession of one of `keys` (the user's, never empty).
    ///
    /// # Errors
    /// [`RelyingPartyError`] when options cannot be made.
    fn start_authentication(&self, keys: &[SecurityKey]) -> Result<CeremonyOptions, RelyingPartyError>;

    /// The assertion in the browser's `response` (the JSON of the
    /// `PublicKeyCredential` from `navigator.credentials.get()`), its signature checked
    /// with the matching one of `keys` against `state`; or why it is not accepted. The
    /// signature counter is reported as it is, never judged: the record's rules judge
    /// it.
    ///
    /// # Errors
    /// [`RelyingPartyError`] when the relying party cannot check it at all.
    fn finish_authentication(
        &self,
        state: &str,
        response: &str,
        keys: &[SecurityKey],
    ) -> Result<Result<Assertion, CeremonyError>, RelyingPartyError>;

    /// As [`RelyingParty::finish_authentication`], for the user whose authenticators
    /// know them by `handle` (the record's [`UserHandle`]; `None` for a user who never
    /// registered a key): a response that names its user (`userHandle`, which passkeys
    /// send) must name this one (WebAuthn Level 3 §7.2, step 6). One that names another
    /// user, or any user where `handle` is `None`, is refused as
    /// [`CeremonyError::UnknownCredential`]: the credential is claimed by an account
    /// that is not the one signing in. An empty handle names nobody. The service calls
    /// this method, never `finish_authentication` directly.
    ///
    /// The provided body cannot read the response's user handle, so it only calls
    /// `finish_authentication`: a relying party that can read it (mfa-kit-webauthn's
    /// does) implements this method as well.
    ///
    /// # Errors
    /// [`RelyingPartyError`] when the relying party cannot check it at all.
    fn finish_authentication_for(
        &self,
        handle: Option<&UserHandle>,
        state: &str,
        response: &str,
        keys: &[SecurityKey],
    ) -> Result<Result<Assertion, CeremonyError>, RelyingPartyError> {
        let _ = handle;
        self.finish_authentication(state, response, keys)
    }
}

impl<T: RelyingParty + ?Sized> RelyingParty for std::sync::Arc<T> {
    fn start_registration(
        &self,
        user: &RegistrationUser<'_>,
        registered: &[SecurityKey],
    ) -> Result<CeremonyOptions, RelyingPartyError> {
        (**self).start_registration(user, registered)
    }
    fn finish_registration(
        &self,
        state: &str,
        response: &str,
    ) -> Result<Result<NewKey, CeremonyError>, RelyingPartyError> {
        (**self).finish_registration(state, response)
    }
    fn start_authentication(&self, keys: &[SecurityKey]) -> Result<CeremonyOptions, RelyingPartyError> {
        (**self).start_authentication(keys)
    }
    fn finish_authentication(
        &self,
        state: &str,
        response: &str,
        keys: &[SecurityKey],
    ) -> Result<Result<Assertion, CeremonyError>, RelyingPartyError> {
        (**self).finish_authentication(state, response, keys)
    }
    fn finish_authentication_for(
        &self,
        handle: Option<&UserHandle>,
        state: &str,
        response: &str,
        keys: &[SecurityKey],
    ) -> Result<Result<Assertion, CeremonyError>, RelyingPartyError> {
        (**self).finish_authentication_for(handle, state, response, keys)
    }
}
