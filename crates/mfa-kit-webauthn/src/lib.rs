//! Security keys and passkeys (WebAuthn) for [mfa-kit](mfa_kit): a
//! [`RelyingParty`] on [webauthn-rs](webauthn_rs_core), so that the core depends on no
//! WebAuthn library.
//!
//! ```no_run
//! use mfa_kit::danger::PlaintextSealer;
//! use mfa_kit::service::MfaService;
//! use mfa_kit::store::MemoryStore;
//! use mfa_kit_webauthn::{UserVerification, WebauthnParty};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let party = WebauthnParty::builder("example.com", "https://app.example.com")
//!     .rp_name("Smith & Co")
//!     .user_verification(UserVerification::Preferred)
//!     .build()?;
//! let service = MfaService::builder("Smith & Co", MemoryStore::new(), PlaintextSealer)
//!     .relying_party(party)
//!     .build();
//! # let _ = service;
//! # Ok(())
//! # }
//! ```
//!
//! The service then offers `start_security_key_registration` /
//! `finish_security_key_registration` to add a key, and `start_security_key` /
//! `verify_security_key` to prove the second factor with one. The options they return
//! are the argument of `navigator.credentials.create()` / `.get()` as JSON (binary
//! fields in base64url; the page decodes them, or hands them to
//! `PublicKeyCredential.parseCreationOptionsFromJSON`), and the browser's answer is the
//! credential as JSON (`credential.toJSON()`, binary fields in base64url).
//!
//! # What is asked of the authenticator
//!
//! - **User verification** (a PIN or a biometric on the key) is *preferred* by default:
//!   asked for where the authenticator can do it, not required, since the password
//!   was the first factor. [`UserVerification::Required`] refuses keys that cannot
//!   verify the user ([`CeremonyError::UserNotVerified`]); [`UserVerification::Discouraged`]
//!   asks for presence only. As in webauthn-rs, a key registered with user
//!   verification under `preferred`, or registered under `required`, must verify the
//!   user at every later authentication.
//! - **Discoverable credentials** (passkeys, resident keys) are *preferred* by default
//!   ([`WebauthnPartyBuilder::passkeys`]): a platform authenticator or phone makes a
//!   passkey, a security key may make a non-discoverable credential; both are accepted
//!   and work as the second factor. Whether the browser says it made a discoverable
//!   one (the unsigned `credProps` extension) is kept as
//!   [`SecurityKey::discoverable`](mfa_kit::record::SecurityKey::discoverable).
//! - No attestation is asked for: any authenticator is accepted, its attestation
//!   signature (if any) is checked, its certificate chain is not kept.
//! - Algorithms: ES256, ES384 and RS256 (webauthn-rs's secure set).
//! - A credential that becomes eligible for backup (a key synced by its platform) is
//!   accepted, and the record keeps the new flags; one that stops being eligible is
//!   refused.
//!
//! # The signature counter
//!
//! webauthn-rs is never asked to judge the counter: the credential it checks a
//! signature with is rebuilt with a counter of 0, so any counter passes, and
//! [`Assertion::counter`] is the authenticator's as it is. mfa-kit's rules judge it
//! ([`mfa_kit::flow::security_key`]): one that did not move forward is audited as
//! `security_key_counter_regressed` and refused (or flagged, by the host's rules).
//!
//! # What the record keeps
//!
//! [`NewKey::public_key`] (and so
//! [`SecurityKey::public_key`](mfa_kit::record::SecurityKey::public_key)) is a JSON
//! object of this crate's own, version 1, with binary values in unpadded base64url:
//!
//! ```json
//! {"v":1,"alg":-7,"kty":"EC2","crv":"P-256","x":"…","y":"…","uv":"preferred","fmt":"packed","transports":["usb","nfc"]}
//! ```
//!
//! | member | meaning |
//! | --- | --- |
//! | `v` | the encoding's version: 1 |
//! | `alg` | the COSE algorithm: -7 ES256, -35 ES384, -257 RS256 |
//! | `kty` | the COSE key type: `EC2` (with `crv` `P-256`, `P-384` or `P-521`, and `x`, `y`), `OKP` (with `crv` `Ed25519` or `Ed448`, and `x`) or `RSA` (with `n` and `e`) |
//! | `uv` | the user-verification policy the key was registered under (`required`, `preferred`, `discouraged`), enforced at authentication as above |
//! | `fmt` | the attestation statement's format (`packed`, `fido-u2f`, `tpm`, `apple`, `android-key`, `none`); informational |
//! | `transports` | the transports the browser reported, handed back to it as hints; left out when there are none |
//!
//! The credential id, counter, user verification at registration, backup flags and
//! discoverability are the record's own fields, not repeated here. The attestation
//! certificate chain is not kept. An authentication rebuilds webauthn-rs's
//! `Credential` from this object and those fields.
//!
//! The ceremony's state ([`CeremonyOptions::state`]) is webauthn-rs's
//! `RegistrationState` or `AuthenticationState` as JSON, wrapped as
//! `{"v":1,"registration":{…}}` or `{"v":1,"authentication":{…}}`. An
//! authentication's state lists no credentials: the finish checks the response
//! against the user's keys as the record holds them then.
//!
//! # Errors
//!
//! A response that does not parse (not JSON, not the shape of a `PublicKeyCredential`,
//! base64, CBOR or client data that does not decode, or truncated) is
//! [`CeremonyError::Malformed`], which mfa-kit does not count towards the lockout. A
//! response made for another origin or relying-party id, or in a frame of another
//! origin (`crossOrigin`, `topOrigin`: refused at authentication too, where webauthn-rs
//! 0.6 checks it at registration only), is [`CeremonyError::WrongOrigin`]; for another challenge or another kind of ceremony,
//! [`CeremonyError::WrongChallenge`]; by a credential not among the user's keys, or
//! (through [`RelyingParty::finish_authentication_for`], which the service calls) with
//! a `userHandle` naming another account (WebAuthn Level 3 §7.2 step 6),
//! [`CeremonyError::UnknownCredential`]; without the user's presence or the user
//! verification needed, [`CeremonyError::UserNotVerified`]; any other refusal (a signature or attestation
//! that does not verify, an unsupported key) [`CeremonyError::BadSignature`]. A state
//! that cannot be read is a [`RelyingPartyError`]. No error text holds a challenge or
//! key material.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod errors;
mod key;

use std::time::Duration;

use mfa_kit::flow::security_key::{Assertion, CeremonyError, NewKey};
use mfa_kit::record::{CEREMONY_LIFETIME, CredentialId, MAX_CREDENTIAL_ID, SecurityKey, UserHandle};
use mfa_kit::relying_party::{CeremonyOptions, RegistrationUser, RelyingParty, RelyingPartyError};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use url::Url;
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AuthenticationState, COSEAlgorithm, CollectedClientData, ExtnState,
    PublicKeyCredential, PublicKeyCredentialDescriptor, RegisterPublicKeyCredential, RegistrationState,
    RequestRegistrationExtensions, ResidentKeyRequirement, UserVerificationPolicy,
};

/// Whether the authenticator is asked to verify the user (a PIN or a biometric on the
/// key) on top of their touch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserVerification {
    /// Asked for where the authenticator can, not required (the default: the password
    /// was the first factor).
    #[default]
    Preferred,
    /// Required: an authenticator that does not verify the user is refused
    /// ([`CeremonyError::UserNotVerified`]).
    Required,
    /// Not asked for: the touch (user presence) is enough. A key registered with user
    /// verification under [`UserVerification::Preferred`] keeps needing it.
    Discouraged,
}

impl UserVerification {
    fn policy(self) -> UserVerificationPolicy {
        match self {
            UserVerification::Preferred => UserVerificationPolicy::Preferred,
            UserVerification::Required => UserVerificationPolicy::Required,
            UserVerification::Discouraged => UserVerificationPolicy::Discouraged_DO_NOT_USE,
        }
    }
}

/// Why a [`WebauthnParty`] cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The relying-party id is not a domain name in its canonical form (lower case,
    /// no port, no scheme), such as `example.com` or `localhost`.
    #[error("the relying party id {0:?} is not a domain name such as example.com")]
    RpId(String),
    /// The origin is not an origin: a scheme, a domain name and an optional port, such
    /// as `https://app.example.com` or `http://localhost:3000`.
    #[error("{0:?} is not an origin such as https://app.example.com")]
    Origin(String),
    /// The origin is plain `http://` on a host other than `localhost`: browsers offer
    /// WebAuthn on secure origins only.
    #[error("the origin {0:?} must be https:// (http:// only for localhost)")]
    InsecureOrigin(String),
    /// The origin's host is neither the relying-party id nor a subdomain of it.
    #[error("the origin {origin:?} is not on the relying party id {rp_id:?} or a subdomain of it")]
    OriginOutsideRpId {
        /// The origin.
        origin: String,
        /// The relying-party id.
        rp_id: String,
    },
    /// The relying party's name is empty.
    #[error("the relying party name is empty")]
    RpName,
}

/// Builds a [`WebauthnParty`]: from [`WebauthnParty::builder`].
#[derive(Clone, Debug)]
pub struct WebauthnPartyBuilder {
    rp_id: String,
    origin: String,
    rp_name: Option<String>,
    user_verification: UserVerification,
    passkeys: bool,
    allow_any_port: bool,
}

impl WebauthnPartyBuilder {
    /// The name the browser shows for the site (by default the relying-party id). It
    /// may change later without affecting registered keys.
    #[must_use]
    pub fn rp_name(mut self, name: &str) -> Self {
        self.rp_name = Some(name.to_string());
        self
    }

    /// Whether the authenticator is asked to verify the user: preferred by default.
    #[must_use]
    pub fn user_verification(mut self, uv: UserVerification) -> Self {
        self.user_verification = uv;
        self
    }

    /// Whether a registration asks for a discoverable credential (a passkey, "resident
    /// key"): `true` (the default) asks for one as *preferred*, `false` discourages
    /// one. Never required: a security key that makes a non-discoverable credential is
    /// accepted either way, and both kinds work as the second factor.
    #[must_use]
    pub fn passkeys(mut self, discoverable: bool) -> Self {
        self.passkeys = discoverable;
        self
    }

    /// Whether a response from the origin's host on any port is accepted (for tests on
    /// loopback, where the port is random). Off by default.
    #[must_use]
    pub fn allow_any_port(mut self, yes: bool) -> Self {
        self.allow_any_port = yes;
        self
    }

    /// The relying party.
    ///
    /// # Errors
    /// [`BuildError`] for a relying-party id that is not a domain name, an origin that
    /// is not one, is not secure (`http://` other than on `localhost`) or is not on the
    /// relying-party id, or an empty name.
    pub fn build(self) -> Result<WebauthnParty, BuildError> {
        let rp_id = self.rp_id;
        match url::Host::parse(&rp_id) {
            Ok(url::Host::Domain(domain)) if domain == rp_id && !rp_id.ends_with('.') => {}
            _ => return Err(BuildError::RpId(rp_id)),
        }
        let origin = Url::parse(&self.origin).map_err(|_| BuildError::Origin(self.origin.clone()))?;
        let is_origin = matches!(origin.scheme(), "https" | "http")
            && origin.username().is_empty()
            && origin.password().is_none()
            && origin.path() == "/"
            && origin.query().is_none()
            && origin.fragment().is_none();
        let Some(host) = origin.domain().filter(|_| is_origin) else {
            return Err(BuildError::Origin(self.origin));
        };
        if origin.scheme() == "http" && host != "localhost" {
            return Err(BuildError::InsecureOrigin(self.origin));
        }
        let on_rp_id =
            host == rp_id || host.strip_suffix(rp_id.as_str()).is_some_and(|sub| sub.ends_with('.'));
        if !on_rp_id {
            return Err(BuildError::OriginOutsideRpId { origin: self.origin, rp_id });
        }
        let rp_name = self.rp_name.unwrap_or_else(|| rp_id.clone());
        if rp_name.trim().is_empty() {
            return Err(BuildError::RpName);
        }
        let core = WebauthnCore::new_unsafe_experts_only(
            &rp_name,
            &rp_id,
            vec![origin],
            browser_timeout(),
            Some(false),
            Some(self.allow_any_port),
        );
        Ok(WebauthnParty { core, user_verification: self.user_verification, passkeys: self.passkeys })
    }
}

/// How long the browser is told it may take: a minute less than the ceremony's
/// lifetime in the record, so that an answer given in time reaches the server in time.
fn browser_timeout() -> Duration {
    Duration::from_secs(CEREMONY_LIFETIME.saturating_sub(60).max(30))
}

/// The WebAuthn relying party of one site, on webauthn-rs: give it to the service with
/// `MfaServiceBuilder::relying_party`. Cheap to clone; holds no secret.
#[derive(Clone, Debug)]
pub struct WebauthnParty {
    core: WebauthnCore,
    user_verification: UserVerification,
    passkeys: bool,
}

impl WebauthnParty {
    /// A builder for the relying party `rp_id` (the site's domain, which every key is
    /// bound to and which cannot change without losing them, such as `example.com`)
    /// serving pages from `origin` (such as `https://app.example.com`, or
    /// `http://localhost:3000` in development).
    pub fn builder(rp_id: &str, origin: &str) -> WebauthnPartyBuilder {
        WebauthnPartyBuilder {
            rp_id: rp_id.to_string(),
            origin: origin.to_string(),
            rp_name: None,
            user_verification: UserVerification::default(),
            passkeys: true,
            allow_any_port: false,
        }
    }
}

/// The version of the state this crate writes.
const STATE_VERSION: u8 = 1;

#[derive(Serialize, Deserialize)]
struct RegistrationDoc {
    v: u8,
    registration: RegistrationState,
}

#[derive(Serialize, Deserialize)]
struct AuthenticationDoc {
    v: u8,
    authentication: AuthenticationState,
}

fn failed(what: &str) -> RelyingPartyError {
    RelyingPartyError(what.to_string())
}

/// A state this crate wrote, of the version it writes. No serde message is kept: it
/// could quote the state, and so the challenge.
fn read_state<T: for<'de> Deserialize<'de>>(
    state: &str,
    version: impl Fn(&T) -> u8,
) -> Result<T, RelyingPartyError> {
    let doc: T =
        serde_json::from_str(state).map_err(|_| failed("the WebAuthn ceremony state cannot be read"))?;
    if version(&doc) != STATE_VERSION {
        return Err(failed("the WebAuthn ceremony state is of an unknown version"));
    }
    Ok(doc)
}

fn to_json<T: Serialize>(value: &T) -> Result<String, RelyingPartyError> {
    serde_json::to_string(value).map_err(|_| failed("the WebAuthn ceremony could not be written as JSON"))
}

impl RelyingParty for WebauthnParty {
    fn start_registration(
        &self,
        user: &RegistrationUser<'_>,
        registered: &[SecurityKey],
    ) -> Result<CeremonyOptions, RelyingPartyError> {
        if user.name.trim().is_empty() {
            return Err(failed("a WebAuthn registration needs the account's name"));
        }
        let display_name = if user.display_name.trim().is_empty() { user.name } else { user.display_name };
        let builder = self
            .core
            .new_challenge_register_builder(user.handle.as_bytes(), user.name, display_name)
            .map_err(|_| failed("the WebAuthn registration options could not be made"))?
            .attestation(AttestationConveyancePreference::None)
            .credential_algorithms(COSEAlgorithm::secure_algs())
            .user_verification_policy(self.user_verification.policy())
            // Never required (a security key without room for one still registers),
            // asked for below as preferred.
            .require_resident_key(false)
            .authenticator_attachment(None)
            .reject_synchronised_authenticators(false)
            // Not in the state: the record refuses a key it already holds
            // (`KeyAlreadyRegistered`); the browser is told below.
            .exclude_credentials(None)
            // Only whether the browser made a discoverable credential (`credProps`).
            .extensions(Some(RequestRegistrationExtensions {
                cred_protect: None,
                uvm: None,
                cred_props: Some(true),
                min_pin_length: None,
                hmac_create_secret: None,
            }));
        let (mut options, state) = self
            .core
            .generate_challenge_register(builder)
            .map_err(|_| failed("the WebAuthn registration options could not be made"))?;
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(if self.passkeys {
                ResidentKeyRequirement::Preferred
            } else {
                ResidentKeyRequirement::Discouraged
            });
        }
        if !registered.is_empty() {
            options.public_key.exclude_credentials = Some(
                registered
                    .iter()
                    .map(|key| PublicKeyCredentialDescriptor {
                        type_: "public-key".to_string(),
                        id: key.credential_id().as_bytes().to_vec(),
                        transports: key::credential(key).ok().and_then(|credential| credential.transports),
                    })
                    .collect(),
            );
        }
        let state = to_json(&RegistrationDoc { v: STATE_VERSION, registration: state })?;
        Ok(CeremonyOptions::new(to_json(&options)?, state))
    }

    fn finish_registration(
        &self,
        state: &str,
        response: &str,
    ) -> Result<Result<NewKey, CeremonyError>, RelyingPartyError> {
        let doc: RegistrationDoc = read_state(state, |doc: &RegistrationDoc| doc.v)?;
        let Ok(response) = serde_json::from_str::<RegisterPublicKeyCredential>(response) else {
            return Ok(Err(CeremonyError::Malformed));
        };
        let client_data = client_data(&response.response.client_data_json);
        let Some(client_data) = client_data.filter(|_| response.type_ == "public-key") else {
            return Ok(Err(CeremonyError::Malformed));
        };
        if cross_origin(&client_data) {
            return Ok(Err(CeremonyError::WrongOrigin));
        }
        let credential = match self.core.register_credential(&response, &doc.registration, None) {
            Ok(credential) => credential,
            Err(error) => return Ok(Err(errors::ceremony_error(&error))),
        };
        if credential.cred_id.is_empty() || credential.cred_id.len() > MAX_CREDENTIAL_ID {
            return Ok(Err(CeremonyError::Malformed));
        }
        let Some(public_key) = key::encode(&credential) else {
            return Err(failed("the new key could not be written as JSON"));
        };
        let discoverable = match &credential.extensions.cred_props {
            ExtnState::Set(props) | ExtnState::Unsigned(props) | ExtnState::Unsolicited(props) => {
                props.rk == Some(true)
            }
            ExtnState::NotRequested | ExtnState::Ignored => false,
        };
        Ok(Ok(NewKey {
            credential_id: CredentialId::new(credential.cred_id),
            public_key,
            counter: credential.counter,
            user_verified: credential.user_verified,
            backup_eligible: credential.backup_eligible,
            backup_state: credential.backup_state,
            discoverable,
        }))
    }

    fn start_authentication(&self, keys: &[SecurityKey]) -> Result<CeremonyOptions, RelyingPartyError> {
        // A key whose stored form cannot be read is left out, so the others still work.
        let credentials: Vec<_> = keys.iter().filter_map(|key| key::credential(key).ok()).collect();
        if credentials.is_empty() {
            return Err(failed("none of the user's security keys can be read"));
        }
        let builder = self
            .core
            .new_challenge_authenticate_builder(credentials, Some(self.user_verification.policy()))
            .map_err(|_| failed("the WebAuthn authentication options could not be made"))?
            .allow_backup_eligible_upgrade(true);
        let (options, mut state) = self
            .core
            .generate_challenge_authenticate(builder)
            .map_err(|_| failed("the WebAuthn authentication options could not be made"))?;
        // The finish checks against the record's keys as they are then.
        state.set_allowed_credentials(Vec::new());
        let state = to_json(&AuthenticationDoc { v: STATE_VERSION, authentication: state })?;
        Ok(CeremonyOptions::new(to_json(&options)?, state))
    }

    /// Checks the assertion without its user handle: for a caller that knows no
    /// user, as the trait allows. The service calls
    /// [`RelyingParty::finish_authentication_for`], which compares it.
    fn finish_authentication(
        &self,
        state: &str,
        response: &str,
        keys: &[SecurityKey],
    ) -> Result<Result<Assertion, CeremonyError>, RelyingPartyError> {
        self.finish(Owner::NotChecked, state, response, keys)
    }

    fn finish_authentication_for(
        &self,
        handle: Option<&UserHandle>,
        state: &str,
        response: &str,
        keys: &[SecurityKey],
    ) -> Result<Result<Assertion, CeremonyError>, RelyingPartyError> {
        self.finish(Owner::Handle(handle), state, response, keys)
    }
}

/// Whose credential an assertion must be, as its user handle says.
#[derive(Clone, Copy)]
enum Owner<'a> {
    /// The caller knows no user: the handle is not compared.
    NotChecked,
    /// The user known by this handle (`None`: a user with no handle, whom no handle
    /// names).
    Handle(Option<&'a UserHandle>),
}

impl Owner<'_> {
    /// Whether a response naming `named` (its `userHandle`, if any) may be this
    /// owner's: an absent or empty handle names nobody (WebAuthn Level 3 §7.2, step 6:
    /// checked only when present).
    fn admits(self, named: Option<&[u8]>) -> bool {
        match (self, named.filter(|named| !named.is_empty())) {
            (Owner::NotChecked, _) | (_, None) => true,
            (Owner::Handle(handle), Some(named)) => handle.is_some_and(|handle| handle.as_bytes() == named),
        }
    }
}

impl WebauthnParty {
    /// [`RelyingParty::finish_authentication`], with the credential's owner checked
    /// as `owner` says.
    fn finish(
        &self,
        owner: Owner<'_>,
        state: &str,
        response: &str,
        keys: &[SecurityKey],
    ) -> Result<Result<Assertion, CeremonyError>, RelyingPartyError> {
        let doc: AuthenticationDoc = read_state(state, |doc: &AuthenticationDoc| doc.v)?;
        let Ok(response) = serde_json::from_str::<PublicKeyCredential>(response) else {
            return Ok(Err(CeremonyError::Malformed));
        };
        // Parsed before the credential is looked up, so that a response that does not
        // parse is malformed whatever credential it names.
        let client_data = client_data(&response.response.client_data_json);
        let Some(client_data) = client_data.filter(|_| response.type_ == "public-key") else {
            return Ok(Err(CeremonyError::Malformed));
        };
        if response.response.authenticator_data.len() < AUTHENTICATOR_DATA_MIN {
            return Ok(Err(CeremonyError::Malformed));
        }
        let Some(key) = keys.iter().find(|key| key.credential_id().as_bytes() == response.raw_id.as_slice())
        else {
            return Ok(Err(CeremonyError::UnknownCredential));
        };
        // The key is the user's, but the response says it belongs to another account
        // (the handle is not signed, so this is a confused or forged response).
        if !owner.admits(response.get_user_unique_id()) {
            return Ok(Err(CeremonyError::UnknownCredential));
        }
        if cross_origin(&client_data) {
            return Ok(Err(CeremonyError::WrongOrigin));
        }
        let mut credential = key::credential(key)
            .map_err(|_| failed("the security key's stored public key cannot be read"))?;
        // A key that became eligible for backup since it was registered (its platform
        // now syncs it) is judged as eligible: webauthn-rs's upgrade covers a key
        // eligible but not yet backed up, and would refuse one already synced.
        let flags = response.response.authenticator_data.get(FLAGS_AT).copied().unwrap_or(0);
        if flags & FLAG_BACKUP_ELIGIBLE != 0 {
            credential.backup_eligible = true;
        }
        match self.core.authenticate_single_credential(&response, &doc.authentication, &credential) {
            Ok(result) => Ok(Ok(Assertion {
                credential_id: key.credential_id().clone(),
                counter: result.counter(),
                user_verified: result.user_verified(),
                backup_eligible: result.backup_eligible(),
                backup_state: result.backup_state(),
            })),
            Err(error) => Ok(Err(errors::ceremony_error(&error))),
        }
    }
}

/// The fixed part of authenticator data: the relying-party id hash, the flags and the
/// counter.
const AUTHENTICATOR_DATA_MIN: usize = 32 + 1 + 4;

/// Where the flags byte sits in authenticator data (after the RP id's hash).
const FLAGS_AT: usize = 32;

/// The authenticator data's "backup eligible" flag (BE).
const FLAG_BACKUP_ELIGIBLE: u8 = 0x08;

/// The client data, if it is client data at all.
fn client_data(bytes: &[u8]) -> Option<CollectedClientData> {
    serde_json::from_slice(bytes).ok()
}

/// Whether the browser says the ceremony ran in a frame of another origin than the
/// page's top (`crossOrigin`, or a `topOrigin`): refused as another site's. webauthn-rs
/// 0.6 refuses it at registration only; a site's sign-in is never framed by another.
fn cross_origin(client_data: &CollectedClientData) -> bool {
    client_data.cross_origin == Some(true) || client_data.unknown_keys.contains_key("topOrigin")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_accepts_sites_and_refuses_what_is_not_one() {
        assert!(WebauthnParty::builder("localhost", "http://localhost:3000").build().is_ok());
        assert!(WebauthnParty::builder("example.com", "https://app.example.com").build().is_ok());
        assert!(WebauthnParty::builder("example.com", "https://example.com/").build().is_ok());
        assert!(matches!(
            WebauthnParty::builder("Example.com", "https://example.com").build(),
            Err(BuildError::RpId(_))
        ));
        assert!(matches!(
            WebauthnParty::builder("", "https://example.com").build(),
            Err(BuildError::RpId(_))
        ));
        assert!(matches!(
            WebauthnParty::builder("127.0.0.1", "http://127.0.0.1:3000").build(),
            Err(BuildError::RpId(_))
        ));
        assert!(matches!(
            WebauthnParty::builder("example.com", "https://example.com/login").build(),
            Err(BuildError::Origin(_))
        ));
        assert!(matches!(
            WebauthnParty::builder("example.com", "example.com").build(),
            Err(BuildError::Origin(_))
        ));
        assert!(matches!(
            WebauthnParty::builder("example.com", "http://example.com").build(),
            Err(BuildError::InsecureOrigin(_))
        ));
        assert!(matches!(
            WebauthnParty::builder("example.com", "https://badexample.com").build(),
            Err(BuildError::OriginOutsideRpId { .. })
        ));
        assert!(matches!(
            WebauthnParty::builder("app.example.com", "https://example.com").build(),
            Err(BuildError::OriginOutsideRpId { .. })
        ));
        assert_eq!(
            WebauthnParty::builder("example.com", "https://example.com").rp_name(" ").build().err(),
            Some(BuildError::RpName)
        );
    }

    #[test]
    fn a_state_that_is_not_this_crates_is_a_relying_party_error() {
        let party = WebauthnParty::builder("localhost", "http://localhost:3000").build().unwrap();
        for state in ["", "{}", "null", "{\"v\":2,\"registration\":{}}", "\u{0}"] {
            assert!(party.finish_registration(state, "{}").is_err(), "{state:?}");
            assert!(party.finish_authentication(state, "{}", &[]).is_err(), "{state:?}");
        }
    }
}
