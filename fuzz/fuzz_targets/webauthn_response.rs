//! Everything `mfa-kit-webauthn` parses from the browser, and the states it reads back
//! from the record, fed to a `WebauthnParty` for `http://localhost:3000`:
//!
//! - any text as the registration or the authentication response, against states the
//!   party made (a challenge the fuzzer cannot know) and a key registered through the
//!   record's own transitions;
//! - any text as either state, with a response that is right for the real one;
//! - responses assembled from fuzzed parts (client data by field or as raw bytes,
//!   authenticator data by field or raw, CBOR attestation objects with chosen formats,
//!   statements and COSE keys, signatures, credential ids), encoded as a browser
//!   encodes them so that every parser inside webauthn-rs is reached;
//! - assertions the registered soft key really signs, over fuzzed client data and
//!   relying-party id, optionally tampered with after signing.
//!
//! It checks that nothing panics and that nothing is accepted that should not be:
//!
//! - an assertion whose signature the fuzzer wrote, or that was altered after signing,
//!   is never accepted;
//! - a really signed assertion is accepted exactly when it is a `webauthn.get` for the
//!   ceremony's challenge, from the site's origin, for its relying-party id, not in a
//!   frame of another origin; its counter and user verification are reported as signed;
//! - a registration is accepted only when it is a `webauthn.create` for the ceremony's
//!   challenge, from the site's origin, for its relying-party id, with user presence,
//!   with the "none" format (the fuzzer cannot sign an attestation), and then the new
//!   key is what the response carried (id, counter, flags) and is usable: the record
//!   registers it and the party can start an authentication with it;
//! - a state that is not one the party wrote is a `RelyingPartyError`, never accepted
//!   with a response made for another state.
#![no_main]

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};

use arbitrary::Arbitrary;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use mfa_kit::flow::security_key::{self as keys, CeremonyError, NewKey};
use mfa_kit::record::{SecurityKey, UserRecord};
use mfa_kit::relying_party::{CeremonyOptions, RegistrationUser, RelyingParty};
use mfa_kit_fuzz::{Deployment, T0, user};
use mfa_kit_webauthn::WebauthnParty;
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};
use webauthn_authenticator_rs::AuthenticatorBackendHashedClientData;
use webauthn_authenticator_rs::prelude::{Url, WebauthnAuthenticator};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_core::crypto::compute_sha256;
use webauthn_rs_core::proto::{CreationChallengeResponse, RequestChallengeResponse};

const RP_ID: &str = "localhost";
const ORIGIN: &str = "http://localhost:3000";

struct Fixture {
    party: WebauthnParty,
    /// The user's one key, registered through the record's transitions.
    keys: Vec<SecurityKey>,
    /// Its public key's coordinates, for attestation objects that reuse a real point.
    key_xy: (Vec<u8>, Vec<u8>),
    authenticator: Mutex<SoftPasskey>,
    registration: CeremonyOptions,
    registration_challenge: Vec<u8>,
    authentication: CeremonyOptions,
    authentication_options: RequestChallengeResponse,
    /// Right answers to the two ceremonies, for the state modes.
    valid_registration: String,
    valid_assertion: String,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(value: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(value.as_str().expect("a base64url string")).expect("base64url")
}

/// The new key as the record keeps it, through the record's own transitions; `None` if
/// the record refuses it.
fn register(party: &WebauthnParty, key: NewKey) -> Option<Vec<SecurityKey>> {
    let deployment = Deployment::standard();
    let env = deployment.env(T0);
    let mut record = UserRecord::new(user());
    let handle = keys::user_handle(&record).expect("random source");
    let user_handle = handle;
    let options = party
        .start_registration(&RegistrationUser::new(&user_handle, "alice@example.com", "Alice"), &[])
        .expect("registration options");
    keys::start_registration(&mut record, "Key", handle, options.state, &env).outcome.ok()?;
    keys::finish_registration(&mut record, Ok(key), &env).expect("random source").outcome.ok()?;
    Some(record.security_keys().to_vec())
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let party = WebauthnParty::builder(RP_ID, ORIGIN).build().expect("a valid relying party");
    let origin = Url::parse(ORIGIN).expect("an origin");
    let mut authenticator = SoftPasskey::new(true);
    let handle = keys::user_handle(&UserRecord::new(user())).expect("random source");
    let subject = RegistrationUser::new(&handle, "alice@example.com", "Alice");

    // The registered key.
    let made = party.start_registration(&subject, &[]).expect("registration options");
    let options: CreationChallengeResponse = serde_json::from_str(&made.options).expect("creation options");
    let response = authenticator.do_registration(origin.clone(), options).expect("the soft key registers");
    let response = serde_json::to_string(&response).expect("JSON");
    let key = party.finish_registration(&made.state, &response).expect("a state").expect("a right answer");
    let keys = register(&party, key).expect("the record registers the key");
    let stored: Value = serde_json::from_str(keys[0].public_key()).expect("the key's JSON");
    let key_xy = (unb64(&stored["x"]), unb64(&stored["y"]));

    // A registration in progress, and a right answer to it (by a second soft key).
    let registration = party.start_registration(&subject, &keys).expect("registration options");
    let options: CreationChallengeResponse =
        serde_json::from_str(&registration.options).expect("creation options");
    let registration_challenge = options.public_key.challenge.clone();
    let valid_registration =
        SoftPasskey::new(true).do_registration(origin.clone(), options).expect("registers");
    let valid_registration = serde_json::to_string(&valid_registration).expect("JSON");
    assert!(matches!(party.finish_registration(&registration.state, &valid_registration), Ok(Ok(_))));

    // An authentication in progress, and a right answer to it.
    let authentication = party.start_authentication(&keys).expect("authentication options");
    let authentication_options: RequestChallengeResponse =
        serde_json::from_str(&authentication.options).expect("request options");
    let valid_assertion =
        authenticator.do_authentication(origin, authentication_options.clone()).expect("the soft key signs");
    let valid_assertion = serde_json::to_string(&valid_assertion).expect("JSON");
    assert!(matches!(party.finish_authentication(&authentication.state, &valid_assertion, &keys), Ok(Ok(_))));

    Fixture {
        party,
        keys,
        key_xy,
        authenticator: Mutex::new(authenticator),
        registration,
        registration_challenge,
        authentication,
        authentication_options,
        valid_registration,
        valid_assertion,
    }
});

#[derive(Debug, Arbitrary)]
enum Kind {
    Get,
    Create,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum ChallengePick {
    /// The ceremony's own challenge.
    Right,
    Bytes(Vec<u8>),
    /// Any JSON string (mostly not base64url).
    Text(String),
}

#[derive(Debug, Arbitrary)]
enum OriginPick {
    Site,
    SiteWithSlash,
    OtherPort,
    Https,
    Subdomain,
    Text(String),
}

impl OriginPick {
    fn text(&self) -> String {
        match self {
            OriginPick::Site => ORIGIN.to_string(),
            OriginPick::SiteWithSlash => format!("{ORIGIN}/"),
            OriginPick::OtherPort => "http://localhost:3001".to_string(),
            OriginPick::Https => "https://localhost:3000".to_string(),
            OriginPick::Subdomain => "http://evil.localhost:3000".to_string(),
            OriginPick::Text(text) => text.clone(),
        }
    }

    /// Whether the origin is the site's (as an origin: scheme, host and port).
    fn is_site(&self) -> bool {
        let site = Url::parse(ORIGIN).expect("an origin").origin();
        Url::parse(&self.text()).is_ok_and(|url| url.origin() == site)
    }
}

#[derive(Debug, Arbitrary)]
struct ClientDataParts {
    kind: Kind,
    challenge: ChallengePick,
    origin: OriginPick,
    cross_origin: Option<bool>,
    extra: Option<(String, String)>,
    /// Raw bytes instead of the JSON above.
    raw: Option<Vec<u8>>,
}

/// Whether a part is right for the ceremony, wrong, or cannot be told without
/// repeating webauthn-rs's parsing (text that may decode to the right bytes, a member
/// that overwrites a checked one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Right,
    Wrong,
    Unknown,
}

impl Verdict {
    fn and(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Wrong, _) | (_, Verdict::Wrong) => Verdict::Wrong,
            (Verdict::Right, Verdict::Right) => Verdict::Right,
            _ => Verdict::Unknown,
        }
    }

    fn of(right: bool) -> Verdict {
        if right { Verdict::Right } else { Verdict::Wrong }
    }
}

/// Whether `text` is `bytes` in some base64 (webauthn-rs's decoder may be lenient).
fn decodes_to(text: &str, bytes: &[u8]) -> bool {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
    [&URL_SAFE_NO_PAD, &URL_SAFE, &STANDARD, &STANDARD_NO_PAD]
        .iter()
        .any(|engine| engine.decode(text).is_ok_and(|decoded| decoded == bytes))
}

impl ClientDataParts {
    fn kind_text(&self) -> String {
        match &self.kind {
            Kind::Get => "webauthn.get".to_string(),
            Kind::Create => "webauthn.create".to_string(),
            Kind::Other(text) => text.clone(),
        }
    }

    fn bytes(&self, challenge: &[u8]) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let challenge = match &self.challenge {
            ChallengePick::Right => b64(challenge),
            ChallengePick::Bytes(bytes) => b64(bytes),
            ChallengePick::Text(text) => text.clone(),
        };
        let mut data =
            json!({ "type": self.kind_text(), "challenge": challenge, "origin": self.origin.text() });
        if let Some(cross_origin) = self.cross_origin {
            data["crossOrigin"] = json!(cross_origin);
        }
        if let Some((name, value)) = &self.extra {
            data[name.as_str()] = json!(value);
        }
        serde_json::to_vec(&data).expect("JSON")
    }

    /// Whether it is right for a ceremony of this kind (`get`: webauthn.get, else
    /// webauthn.create) with this challenge.
    fn verdict(&self, get: bool, challenge: &[u8]) -> Verdict {
        if self.raw.is_some() {
            return Verdict::Unknown;
        }
        let kind = Verdict::of(self.kind_text() == if get { "webauthn.get" } else { "webauthn.create" });
        let challenge = match &self.challenge {
            ChallengePick::Right => Verdict::Right,
            ChallengePick::Bytes(bytes) => Verdict::of(bytes == challenge),
            ChallengePick::Text(text) if decodes_to(text, challenge) => Verdict::Unknown,
            ChallengePick::Text(_) => Verdict::Wrong,
        };
        let origin = Verdict::of(self.origin.is_site());
        let cross_origin = Verdict::of(self.cross_origin != Some(true));
        // A member that overwrites a checked one, or one webauthn-rs reads itself.
        let known = ["type", "challenge", "origin", "crossOrigin", "tokenBinding"];
        let extra = match &self.extra {
            // Made in a frame of another origin: refused.
            Some((name, _)) if name == "topOrigin" => Verdict::Wrong,
            Some((name, _)) if known.contains(&name.as_str()) => Verdict::Unknown,
            _ => Verdict::Right,
        };
        kind.and(challenge).and(origin).and(cross_origin).and(extra)
    }
}

#[derive(Debug, Arbitrary)]
enum RpPick {
    Right,
    Other(String),
}

impl RpPick {
    fn text(&self) -> &str {
        match self {
            RpPick::Right => RP_ID,
            RpPick::Other(text) => text,
        }
    }

    fn is_right(&self) -> bool {
        self.text() == RP_ID
    }
}

#[derive(Debug, Arbitrary)]
enum CredPick {
    Registered,
    Other(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
enum AuthData {
    Raw(Vec<u8>),
    Fields { rp: RpPick, flags: u8, counter: u32, rest: Vec<u8> },
}

impl AuthData {
    fn bytes(&self) -> Vec<u8> {
        match self {
            AuthData::Raw(bytes) => bytes.clone(),
            AuthData::Fields { rp, flags, counter, rest } => {
                let mut bytes = compute_sha256(rp.text().as_bytes()).to_vec();
                bytes.push(*flags);
                bytes.extend(counter.to_be_bytes());
                bytes.extend(rest);
                bytes
            }
        }
    }
}

#[derive(Debug, Arbitrary)]
struct AssertionParts {
    credential: CredPick,
    client_data: ClientDataParts,
    authenticator_data: AuthData,
    signature: Vec<u8>,
    user_handle: Option<Vec<u8>>,
}

#[derive(Debug, Arbitrary)]
enum CoseKey {
    /// The registered key's point.
    Real,
    Ec2 {
        alg: i16,
        crv: i8,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    Okp {
        alg: i16,
        crv: i8,
        x: Vec<u8>,
    },
    Rsa {
        alg: i16,
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Raw(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
enum Format {
    None,
    Packed,
    FidoU2f,
    Tpm,
    Apple,
    AndroidKey,
    Text(String),
}

#[derive(Debug, Arbitrary)]
enum Statement {
    Empty,
    /// `alg` and `sig` (and optionally an `x5c` of one certificate), as "packed" has.
    Signature {
        alg: i16,
        sig: Vec<u8>,
        x5c: Option<Vec<u8>>,
    },
    /// Raw bytes spliced in as the statement (CBOR-decoded if they decode).
    Raw(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
struct RegistrationAuthData {
    rp: RpPick,
    flags: u8,
    counter: u32,
    aaguid: [u8; 16],
    credential_id: Vec<u8>,
    key: CoseKey,
    extensions: Option<Vec<u8>>,
}

#[derive(Debug, Arbitrary)]
enum AttestationObject {
    Raw(Vec<u8>),
    Fields { format: Format, statement: Statement, auth_data: RegistrationAuthData },
}

#[derive(Debug, Arbitrary)]
struct AttestationParts {
    client_data: ClientDataParts,
    attestation_object: AttestationObject,
    raw_id: Vec<u8>,
    transports: Option<Vec<String>>,
    resident_key: Option<bool>,
}

#[derive(Debug, Arbitrary)]
enum Field {
    ClientData,
    AuthenticatorData,
    Signature,
    RawId,
}

#[derive(Debug, Arbitrary)]
struct SignedParts {
    client_data: ClientDataParts,
    rp: RpPick,
    verify_user: bool,
    /// A byte changed after signing: which field, where, and by what (non-zero).
    tamper: Option<(Field, u16, u8)>,
}

#[derive(Debug, Arbitrary)]
enum Input {
    RegistrationResponse(String),
    AuthenticationResponse(String),
    RegistrationState(String),
    AuthenticationState(String),
    Assertion(AssertionParts),
    Attestation(AttestationParts),
    Signed(SignedParts),
}

fn int(value: i64) -> Cbor {
    Cbor::Integer(i128::from(value))
}

fn text(value: &str) -> Cbor {
    Cbor::Text(value.to_string())
}

fn cose_key(key: &CoseKey, fixture: &Fixture) -> Vec<u8> {
    let map = |entries: Vec<(Cbor, Cbor)>| {
        serde_cbor_2::to_vec(&Cbor::Map(entries.into_iter().collect::<BTreeMap<_, _>>())).expect("CBOR")
    };
    match key {
        CoseKey::Real => map(vec![
            (int(1), int(2)),
            (int(3), int(-7)),
            (int(-1), int(1)),
            (int(-2), Cbor::Bytes(fixture.key_xy.0.clone())),
            (int(-3), Cbor::Bytes(fixture.key_xy.1.clone())),
        ]),
        CoseKey::Ec2 { alg, crv, x, y } => map(vec![
            (int(1), int(2)),
            (int(3), int(i64::from(*alg))),
            (int(-1), int(i64::from(*crv))),
            (int(-2), Cbor::Bytes(x.clone())),
            (int(-3), Cbor::Bytes(y.clone())),
        ]),
        CoseKey::Okp { alg, crv, x } => map(vec![
            (int(1), int(1)),
            (int(3), int(i64::from(*alg))),
            (int(-1), int(i64::from(*crv))),
            (int(-2), Cbor::Bytes(x.clone())),
        ]),
        CoseKey::Rsa { alg, n, e } => map(vec![
            (int(1), int(3)),
            (int(3), int(i64::from(*alg))),
            (int(-1), Cbor::Bytes(n.clone())),
            (int(-2), Cbor::Bytes(e.clone())),
        ]),
        CoseKey::Raw(bytes) => bytes.clone(),
    }
}

impl RegistrationAuthData {
    fn bytes(&self, fixture: &Fixture) -> Vec<u8> {
        let mut bytes = compute_sha256(self.rp.text().as_bytes()).to_vec();
        bytes.push(self.flags);
        bytes.extend(self.counter.to_be_bytes());
        bytes.extend(self.aaguid);
        let id_len = u16::try_from(self.credential_id.len()).unwrap_or(u16::MAX);
        bytes.extend(id_len.to_be_bytes());
        bytes.extend(&self.credential_id);
        bytes.extend(cose_key(&self.key, fixture));
        if let Some(extensions) = &self.extensions {
            bytes.extend(extensions);
        }
        bytes
    }
}

impl AttestationObject {
    fn bytes(&self, fixture: &Fixture) -> Vec<u8> {
        let (format, statement, auth_data) = match self {
            AttestationObject::Raw(bytes) => return bytes.clone(),
            AttestationObject::Fields { format, statement, auth_data } => (format, statement, auth_data),
        };
        let format = match format {
            Format::None => "none",
            Format::Packed => "packed",
            Format::FidoU2f => "fido-u2f",
            Format::Tpm => "tpm",
            Format::Apple => "apple",
            Format::AndroidKey => "android-key",
            Format::Text(text) => text,
        };
        let statement = match statement {
            Statement::Empty => Cbor::Map(BTreeMap::new()),
            Statement::Signature { alg, sig, x5c } => {
                let mut entries = BTreeMap::new();
                entries.insert(text("alg"), int(i64::from(*alg)));
                entries.insert(text("sig"), Cbor::Bytes(sig.clone()));
                if let Some(certificate) = x5c {
                    entries.insert(text("x5c"), Cbor::Array(vec![Cbor::Bytes(certificate.clone())]));
                }
                Cbor::Map(entries)
            }
            Statement::Raw(bytes) => serde_cbor_2::from_slice(bytes).unwrap_or(Cbor::Bytes(bytes.clone())),
        };
        let mut object = BTreeMap::new();
        object.insert(text("fmt"), text(format));
        object.insert(text("attStmt"), statement);
        object.insert(text("authData"), Cbor::Bytes(auth_data.bytes(fixture)));
        serde_cbor_2::to_vec(&Cbor::Map(object)).expect("CBOR")
    }

    fn format_is_none(&self) -> bool {
        matches!(self, AttestationObject::Fields { format: Format::None, .. })
            || matches!(self, AttestationObject::Fields { format: Format::Text(text), .. } if text == "none")
    }
}

fn attestation(parts: &AttestationParts, fixture: &Fixture) {
    let client_data = parts.client_data.bytes(&fixture.registration_challenge);
    let mut response = json!({
        "id": b64(&parts.raw_id),
        "rawId": b64(&parts.raw_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(&client_data),
            "attestationObject": b64(&parts.attestation_object.bytes(fixture)),
        },
        "clientExtensionResults": {},
    });
    if let Some(transports) = &parts.transports {
        response["response"]["transports"] = json!(transports);
    }
    if let Some(resident_key) = parts.resident_key {
        response["clientExtensionResults"] = json!({ "credProps": { "rk": resident_key } });
    }
    let answer = fixture
        .party
        .finish_registration(&fixture.registration.state, &response.to_string())
        .expect("the party's own state reads");
    let Ok(key) = answer else { return };
    // Accepted: it must be right, and be what it carried.
    let AttestationObject::Fields { auth_data, .. } = &parts.attestation_object else {
        panic!("raw attestation object bytes were accepted: {parts:?}")
    };
    let verdict = parts.client_data.verdict(false, &fixture.registration_challenge);
    assert_ne!(verdict, Verdict::Wrong, "registration accepted with wrong client data: {parts:?}");
    assert!(auth_data.rp.is_right(), "registration accepted for another RP id: {parts:?}");
    assert!(auth_data.flags & 0x01 != 0, "registration accepted without user presence");
    assert!(
        parts.attestation_object.format_is_none(),
        "an attestation the fuzzer cannot sign was accepted: {parts:?}"
    );
    assert_eq!(key.credential_id.as_bytes(), auth_data.credential_id.as_slice());
    assert!(!auth_data.credential_id.is_empty() && auth_data.credential_id.len() <= 1023);
    assert_eq!(key.counter, auth_data.counter);
    assert_eq!(key.user_verified, auth_data.flags & 0x04 != 0);
    assert_eq!(key.backup_eligible, auth_data.flags & 0x08 != 0);
    assert_eq!(key.backup_state, auth_data.flags & 0x10 != 0);
    assert!(key.backup_eligible || !key.backup_state);
    assert_eq!(key.discoverable, parts.resident_key == Some(true));
    // The record takes it (unless its encoding is over the record's bound), and the
    // party can use it.
    let long = key.public_key.len() > mfa_kit::record::MAX_PUBLIC_KEY;
    let Some(registered) = register(&fixture.party, key) else {
        assert!(long, "the record refused a key the party accepted: {parts:?}");
        return;
    };
    assert!(fixture.party.start_authentication(&registered).is_ok(), "an accepted key cannot be used");
}

fn assertion(parts: &AssertionParts, fixture: &Fixture) {
    let raw_id = match &parts.credential {
        CredPick::Registered => fixture.keys[0].credential_id().as_bytes().to_vec(),
        CredPick::Other(bytes) => bytes.clone(),
    };
    let challenge = &fixture.authentication_options.public_key.challenge;
    let mut response = json!({
        "id": b64(&raw_id),
        "rawId": b64(&raw_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(&parts.client_data.bytes(challenge)),
            "authenticatorData": b64(&parts.authenticator_data.bytes()),
            "signature": b64(&parts.signature),
        },
        "clientExtensionResults": {},
    });
    if let Some(handle) = &parts.user_handle {
        response["response"]["userHandle"] = json!(b64(handle));
    }
    let answer = fixture
        .party
        .finish_authentication(&fixture.authentication.state, &response.to_string(), &fixture.keys)
        .expect("the party's own state reads");
    assert!(answer.is_err(), "an assertion the fuzzer signed was accepted: {parts:?}");
}

fn signed(parts: &SignedParts, fixture: &Fixture) {
    let mut options = fixture.authentication_options.public_key.clone();
    let client_data = parts.client_data.bytes(&options.challenge);
    options.rp_id = parts.rp.text().to_string();
    options.user_verification = if parts.verify_user {
        webauthn_rs_core::proto::UserVerificationPolicy::Required
    } else {
        webauthn_rs_core::proto::UserVerificationPolicy::Preferred
    };
    let hash = compute_sha256(&client_data).to_vec();
    let mut authenticator = fixture.authenticator.lock().expect("one thread");
    let Ok(mut credential) = authenticator.perform_auth(hash, options, 60_000) else { return };
    drop(authenticator);
    credential.response.client_data_json = client_data;
    let signed_counter = u32::from_be_bytes(
        credential.response.authenticator_data[33..37].try_into().expect("authenticator data of 37 bytes"),
    );
    let mut tampered = false;
    if let Some((field, at, by)) = &parts.tamper {
        let bytes = match field {
            Field::ClientData => &mut credential.response.client_data_json,
            Field::AuthenticatorData => &mut credential.response.authenticator_data,
            Field::Signature => &mut credential.response.signature,
            Field::RawId => &mut credential.raw_id,
        };
        if *by != 0 && !bytes.is_empty() {
            let at = usize::from(*at) % bytes.len();
            bytes[at] ^= by;
            tampered = true;
        }
    }
    let response = serde_json::to_string(&credential).expect("JSON");
    let answer = fixture
        .party
        .finish_authentication(&fixture.authentication.state, &response, &fixture.keys)
        .expect("the party's own state reads");
    let verdict = parts.client_data.verdict(true, &fixture.authentication_options.public_key.challenge);
    let verdict = verdict.and(Verdict::of(parts.rp.is_right()));
    match answer {
        Ok(assertion) => {
            assert!(!tampered, "an assertion altered after signing was accepted: {parts:?}");
            assert_ne!(verdict, Verdict::Wrong, "a wrong assertion was accepted: {parts:?}");
            assert_eq!(assertion.counter, signed_counter, "the counter is reported as signed");
            assert_eq!(assertion.user_verified, parts.verify_user);
            assert_eq!(&assertion.credential_id, fixture.keys[0].credential_id());
        }
        Err(error) => {
            assert!(
                tampered || verdict != Verdict::Right,
                "a right assertion was refused ({error:?}): {parts:?}"
            );
            if !tampered && parts.client_data.raw.is_none() && parts.rp.is_right() {
                // Refused for what the client data says, never for its signature.
                assert_ne!(error, CeremonyError::BadSignature, "{parts:?}");
            }
        }
    }
}

/// Whether `state` holds, under `ceremony`, a challenge that is `challenge` in some
/// base64: the only way a response made for the real state can be right for it.
fn holds_challenge(state: &str, ceremony: &str, challenge: &[u8]) -> bool {
    serde_json::from_str::<Value>(state)
        .ok()
        .and_then(|state| state[ceremony]["challenge"].as_str().map(|text| decodes_to(text, challenge)))
        .unwrap_or(false)
}

fuzz_target!(|input: Input| {
    let fixture = &*FIXTURE;
    match input {
        Input::RegistrationResponse(text) => {
            let answer = fixture.party.finish_registration(&fixture.registration.state, &text);
            assert!(matches!(answer, Ok(Err(_))), "any text is refused as a registration: {answer:?}");
        }
        Input::AuthenticationResponse(text) => {
            let answer =
                fixture.party.finish_authentication(&fixture.authentication.state, &text, &fixture.keys);
            assert!(matches!(answer, Ok(Err(_))), "any text is refused as an assertion: {answer:?}");
        }
        Input::RegistrationState(state) => {
            let answer = fixture.party.finish_registration(&state, &fixture.valid_registration);
            if matches!(answer, Ok(Ok(_))) {
                assert!(
                    holds_challenge(&state, "registration", &fixture.registration_challenge),
                    "a registration was accepted against another state: {state:?}"
                );
            }
            let _ = fixture.party.finish_authentication(&state, &fixture.valid_assertion, &fixture.keys);
        }
        Input::AuthenticationState(state) => {
            let answer = fixture.party.finish_authentication(&state, &fixture.valid_assertion, &fixture.keys);
            if matches!(answer, Ok(Ok(_))) {
                let challenge = &fixture.authentication_options.public_key.challenge;
                assert!(
                    holds_challenge(&state, "authentication", challenge),
                    "an assertion was accepted against another state: {state:?}"
                );
            }
            let _ = fixture.party.finish_registration(&state, &fixture.valid_registration);
        }
        Input::Assertion(parts) => assertion(&parts, fixture),
        Input::Attestation(parts) => attestation(&parts, fixture),
        Input::Signed(parts) => signed(&parts, fixture),
    }
});
