//! A firm on the in-memory store with a WebAuthn relying party for
//! `http://localhost:3000`, a clock the tests control, and browsers whose
//! authenticators are webauthn-authenticator-rs's software keys: they make real key
//! pairs and real signatures.
#![allow(dead_code)] // Each test file uses a different part of the harness.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_kit::clock::{Clock, ManualClock};
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::{EventKind, MemoryAuditLog};
use mfa_kit::flow::Proven;
use mfa_kit::otp::Totp;
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::policy::{SessionFacts, SignInContext};
use mfa_kit::record::UserRecord;
use mfa_kit::service::MfaService;
use mfa_kit::store::{MemoryStore, Store};
use mfa_kit::{Method, RequestContext, UserId};
use mfa_kit_webauthn::{WebauthnParty, WebauthnPartyBuilder};
use serde_json::{Value, json};
use webauthn_authenticator_rs::AuthenticatorBackendHashedClientData;
use webauthn_authenticator_rs::prelude::{Url, WebauthnAuthenticator};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::softtoken::SoftToken;
use webauthn_rs_core::proto::{CreationChallengeResponse, RequestChallengeResponse};

/// 2023-11-14 22:13:20 UTC.
pub const START: u64 = 1_700_000_000;
pub const RP_ID: &str = "localhost";
pub const ORIGIN: &str = "http://localhost:3000";

pub struct Firm<S: Store = MemoryStore> {
    pub mfa: MfaService<S, PlaintextSealer>,
    pub clock: ManualClock,
    pub audit: Arc<MemoryAuditLog>,
}

/// The site's relying party as the tests configure it by default.
pub fn party() -> WebauthnPartyBuilder {
    WebauthnParty::builder(RP_ID, ORIGIN).rp_name("Smith & Co Accounting")
}

pub fn firm() -> Firm {
    firm_with(party())
}

pub fn firm_with(party: WebauthnPartyBuilder) -> Firm {
    firm_on(MemoryStore::new(), party, ManualClock::new(START))
}

pub fn firm_on<S: Store>(store: S, party: WebauthnPartyBuilder, clock: ManualClock) -> Firm<S> {
    let audit = Arc::new(MemoryAuditLog::new());
    let mfa = MfaService::builder("Smith & Co Accounting", store, PlaintextSealer)
        .clock(clock.clone())
        .audit(audit.clone())
        .hash_key(mfa_kit::keyed_hash::HashKey::generate().unwrap())
        .relying_party(party.build().expect("a valid relying party"))
        .build();
    Firm { mfa, clock, audit }
}

pub fn office() -> SignInContext {
    SignInContext::new(
        RequestContext::from_address("203.0.113.7".parse().unwrap()).with_device("Firefox on Windows"),
    )
}

pub fn user(name: &str) -> UserId {
    UserId::new(name)
}

/// Runs a future to completion on this thread.
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    pollster::block_on(future)
}

/// A software authenticator.
pub enum Soft {
    /// webauthn-authenticator-rs's soft passkey ("packed" self attestation).
    Passkey(SoftPasskey),
    /// Its soft token ("packed" attestation with a certificate chain); it can be
    /// copied, private keys and counter included, which makes a cloned key.
    Token(Box<SoftToken>),
}

/// A browser with one authenticator, on one origin.
pub struct Browser {
    pub origin: Url,
    pub key: Soft,
}

impl Browser {
    /// A browser on the site with a soft passkey that verifies the user when asked to.
    pub fn new() -> Browser {
        Browser::with(Soft::Passkey(SoftPasskey::new(true)))
    }

    /// A browser on the site with a soft token.
    pub fn token() -> Browser {
        Browser::with(Soft::Token(Box::new(SoftToken::new(true).expect("a soft token").0)))
    }

    pub fn with(key: Soft) -> Browser {
        Browser { origin: Url::parse(ORIGIN).unwrap(), key }
    }

    /// The same browser on another origin (a look-alike site relaying the options).
    pub fn on(mut self, origin: &str) -> Browser {
        self.origin = Url::parse(origin).unwrap();
        self
    }

    /// A second authenticator holding the same private keys and the same counter as
    /// this one's soft token: a cloned key.
    pub fn clone_token(&self) -> Browser {
        let Soft::Token(token) = &self.key else { panic!("only a soft token can be copied") };
        let copy = SoftToken::from_cbor(&token.to_cbor().unwrap()).unwrap();
        Browser { origin: self.origin.clone(), key: Soft::Token(Box::new(copy)) }
    }

    /// `navigator.credentials.create(options)` and `credential.toJSON()`.
    pub fn create(&mut self, options: &str) -> String {
        let options: CreationChallengeResponse = serde_json::from_str(options).expect("creation options");
        let credential = match &mut self.key {
            Soft::Passkey(key) => key.do_registration(self.origin.clone(), options),
            Soft::Token(key) => key.do_registration(self.origin.clone(), options),
        }
        .expect("the authenticator registers");
        to_browser_json(serde_json::to_value(credential).unwrap())
    }

    /// `navigator.credentials.get(options)` and `credential.toJSON()`.
    pub fn get(&mut self, options: &str) -> String {
        let options: RequestChallengeResponse = serde_json::from_str(options).expect("request options");
        let credential = match &mut self.key {
            Soft::Passkey(key) => key.do_authentication(self.origin.clone(), options),
            Soft::Token(key) => key.do_authentication(self.origin.clone(), options),
        }
        .expect("the authenticator signs");
        to_browser_json(serde_json::to_value(credential).unwrap())
    }

    /// An assertion the authenticator signs over client data the test writes (as a
    /// browser that lies would): `edit` gets the client data a browser would make for
    /// these options and may change it; `rp_id` is what the authenticator is told the
    /// site is.
    pub fn get_crafted(&mut self, options: &str, rp_id: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut options: RequestChallengeResponse = serde_json::from_str(options).expect("request options");
        let mut client_data = json!({
            "type": "webauthn.get",
            "challenge": URL_SAFE_NO_PAD.encode(&options.public_key.challenge),
            "origin": self.origin.origin().ascii_serialization(),
            "crossOrigin": false,
        });
        edit(&mut client_data);
        let client_data = serde_json::to_vec(&client_data).unwrap();
        let hash = webauthn_rs_core::crypto::compute_sha256(&client_data).to_vec();
        options.public_key.rp_id = rp_id.to_string();
        let backend: &mut dyn AuthenticatorBackendHashedClientData = match &mut self.key {
            Soft::Passkey(key) => key,
            Soft::Token(key) => key.as_mut(),
        };
        let mut credential =
            backend.perform_auth(hash, options.public_key, 60_000).expect("the authenticator signs");
        credential.response.client_data_json = client_data;
        to_browser_json(serde_json::to_value(credential).unwrap())
    }
}

/// The JSON a browser's `PublicKeyCredential.toJSON()` gives, from webauthn-rs's
/// serialisation of the same credential: `clientExtensionResults` rather than
/// `extensions`, the attachment, the response's extra members.
pub fn to_browser_json(mut credential: Value) -> String {
    let object = credential.as_object_mut().unwrap();
    let extensions = object.remove("extensions").unwrap_or_else(|| json!({}));
    object.insert("clientExtensionResults".into(), extensions);
    object.insert("authenticatorAttachment".into(), json!("cross-platform"));
    let response = object.get_mut("response").unwrap().as_object_mut().unwrap();
    if response.contains_key("attestationObject") {
        response.insert("publicKeyAlgorithm".into(), json!(-7));
        if response.get("transports").is_none_or(Value::is_null) {
            response.insert("transports".into(), json!(["usb"]));
        }
    }
    credential.to_string()
}

/// Edits a response's JSON.
pub fn edit_json(response: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(response).unwrap();
    edit(&mut value);
    value.to_string()
}

/// The authenticator app on a user's phone.
pub struct Phone {
    pub totp: Totp,
    pub clock: ManualClock,
}

impl Phone {
    pub fn code(&self) -> String {
        self.totp.generate(self.clock.now().unwrap()).unwrap().to_string()
    }
}

impl<S: Store> Firm<S> {
    pub fn record(&self, who: &UserId) -> UserRecord {
        run(self.mfa.record(who)).unwrap()
    }

    pub fn events(&self, who: &UserId) -> Vec<EventKind> {
        self.audit.kinds_for(who)
    }

    /// Enrolls an authenticator app with two consecutive codes.
    pub fn enroll_app(&self, who: &UserId) -> Phone {
        run(async {
            let start = self
                .mfa
                .start_enrollment(who, &format!("{who}@smith.example"), &office())
                .await
                .unwrap()
                .unwrap();
            let key = KeyUri::parse(&start.uri).unwrap();
            let phone = Phone {
                totp: Totp::new(key.secret(), key.totp_params().unwrap()),
                clock: self.clock.clone(),
            };
            let first = phone.code();
            self.clock.advance(30);
            let second = phone.code();
            let outcome = self.mfa.confirm_enrollment(who, &[&first, &second], &office()).await.unwrap();
            assert!(outcome.is_ok(), "{outcome:?}");
            self.clock.advance(30);
            phone
        })
    }

    /// Proves the second factor with the app, a step later.
    pub fn prove_with_app(&self, who: &UserId, phone: &Phone) {
        self.clock.advance(30);
        let outcome = run(self.mfa.verify_code(who, &phone.code(), &office())).unwrap();
        assert!(outcome.is_ok(), "{outcome:?}");
    }

    /// The options of a new registration, which must be allowed.
    pub fn start_registration(&self, who: &UserId, name: &str) -> String {
        let started = run(self.mfa.start_security_key_registration(
            who,
            name,
            &format!("{who}@smith.example"),
            who.as_str(),
            &office(),
        ))
        .unwrap();
        started.expect("the registration may start").options
    }

    /// Registers `browser`'s authenticator for `who` as `name`.
    pub fn register(&self, who: &UserId, name: &str, browser: &mut Browser) {
        let options = self.start_registration(who, name);
        let response = browser.create(&options);
        let done = run(self.mfa.finish_security_key_registration(who, &response, &office())).unwrap();
        assert!(done.is_ok(), "{done:?}");
    }

    /// The options of a new authentication, which must be allowed.
    pub fn start_proof(&self, who: &UserId) -> String {
        run(self.mfa.start_security_key(who, &office())).unwrap().expect("a proof may start").options
    }

    /// Proves the second factor with `browser`'s key; the proof.
    pub fn prove_with_key(&self, who: &UserId, browser: &mut Browser) -> Proven {
        let options = self.start_proof(who);
        let response = browser.get(&options);
        let proven = run(self.mfa.verify_security_key(who, &response, &office())).unwrap();
        let proven = proven.expect("the key proves the second factor");
        assert_eq!(proven.method, Method::SecurityKey);
        proven
    }

    /// A context whose session proved a second factor at `at`.
    pub fn session_proved_at(&self, who: &UserId, at: u64) -> SignInContext {
        let generation = run(self.mfa.generation(who)).unwrap();
        office().with_session(SessionFacts::new(generation, at).proved_at(at))
    }
}
