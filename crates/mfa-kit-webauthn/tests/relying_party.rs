//! The relying party's own choices, checked end to end with software authenticators:
//! the registration options, a state of another party, the browser's timeout, excluded
//! credentials, backup eligibility gained or lost, ports, attestation signatures, and
//! an assertion made without the user's presence.

mod common;

use common::*;
use mfa_kit::flow::security_key::CeremonyError;
use mfa_kit::record::{CEREMONY_LIFETIME, UserRecord};
use mfa_kit::relying_party::{RegistrationUser, RelyingParty};
use mfa_kit_webauthn::WebauthnParty;
use serde_json::Value;

fn public_key(options: &str) -> Value {
    serde_json::from_str::<Value>(options).unwrap()["publicKey"].clone()
}

#[test]
fn the_readmes_subdomain_origin_registers_and_signs_in() {
    let firm = firm_with(WebauthnParty::builder("example.com", "https://app.example.com").rp_name("Smith"));
    let dan = user("dan");
    let mut browser = Browser::new().on("https://app.example.com");
    firm.register(&dan, "YubiKey", &mut browser);
    firm.clock.advance(3600);
    firm.prove_with_key(&dan, &mut browser);
}

#[test]
fn a_registration_state_of_another_relying_party_is_wrong_origin() {
    let firm = firm();
    let dan = user("dan");
    firm.start_registration(&dan, "YubiKey");
    let handle = *firm.record(&dan).user_handle().unwrap();
    let a = party().build().unwrap();
    let b = WebauthnParty::builder("example.com", "https://example.com").build().unwrap();
    let started =
        a.start_registration(&RegistrationUser::new(&handle, "dan@smith.example", "Dan"), &[]).unwrap();
    let response = Browser::new().create(&started.options);
    assert_eq!(
        b.finish_registration(&started.state, &response).unwrap().err(),
        Some(CeremonyError::WrongOrigin)
    );
}

#[test]
fn the_browser_timeout_is_a_minute_less_than_the_ceremony() {
    let firm = firm();
    let dan = user("dan");
    let options = firm.start_registration(&dan, "YubiKey");
    assert_eq!(public_key(&options)["timeout"], (CEREMONY_LIFETIME - 60) * 1000);
    let mut browser = Browser::new();
    firm.register(&dan, "YubiKey", &mut browser);
    firm.clock.advance(3600);
    assert_eq!(public_key(&firm.start_proof(&dan))["timeout"], (CEREMONY_LIFETIME - 60) * 1000);
}

#[test]
fn excluded_credentials_carry_the_reported_transports() {
    let firm = firm();
    let dan = user("dan");
    let mut browser = Browser::new();
    firm.register(&dan, "YubiKey", &mut browser);
    let stored: Value = serde_json::from_str(firm.record(&dan).security_keys()[0].public_key()).unwrap();
    assert_eq!(stored["transports"], serde_json::json!(["usb"]), "{stored}");
    assert_eq!(stored["uv"], "preferred");
    let party = party().build().unwrap();
    let handle = *firm.record(&dan).user_handle().unwrap();
    let started = party
        .start_registration(
            &RegistrationUser::new(&handle, "dan@smith.example", " "),
            firm.record(&dan).security_keys(),
        )
        .unwrap();
    let pk = public_key(&started.options);
    assert_eq!(pk["excludeCredentials"][0]["transports"], serde_json::json!(["usb"]), "{pk}");
    assert_eq!(pk["user"]["displayName"], "dan@smith.example");
}

#[test]
fn a_key_that_stops_being_backup_eligible_is_refused() {
    let firm = firm();
    let dan = user("dan");
    let mut browser = Browser::new();
    firm.register(&dan, "YubiKey", &mut browser);
    let mut value = serde_json::to_value(firm.record(&dan)).unwrap();
    value.pointer_mut("/security_keys").unwrap()[0]["backup_eligible"] = Value::Bool(true);
    let eligible: UserRecord = serde_json::from_value(value).unwrap();
    assert!(eligible.security_keys()[0].backup_eligible());
    let party = party().build().unwrap();
    let started = party.start_authentication(eligible.security_keys()).unwrap();
    let response = browser.get(&started.options);
    let answer = party.finish_authentication(&started.state, &response, eligible.security_keys()).unwrap();
    assert!(answer.is_err(), "{answer:?}");
}

#[test]
fn any_port_accepts_the_hosts_other_ports_only_when_asked() {
    let dan = user("dan");
    let strict = firm();
    let options = strict.start_registration(&dan, "YubiKey");
    let response = Browser::new().on("http://localhost:4000").create(&options);
    let done = run(strict.mfa.finish_security_key_registration(&dan, &response, &office())).unwrap();
    assert!(done.is_err(), "{done:?}");
    let loose = firm_with(party().allow_any_port(true));
    let mut browser = Browser::new().on("http://localhost:4000");
    loose.register(&dan, "YubiKey", &mut browser);
}

#[test]
fn an_attestation_signature_that_does_not_verify_is_refused() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let party = party().build().unwrap();
    let firm = firm();
    let dan = user("dan");
    firm.start_registration(&dan, "YubiKey");
    let handle = *firm.record(&dan).user_handle().unwrap();
    for mut browser in [Browser::new(), Browser::token()] {
        let started = party
            .start_registration(&RegistrationUser::new(&handle, "dan@smith.example", "Dan"), &[])
            .unwrap();
        let response = browser.create(&started.options);
        let response = edit_json(&response, |v| {
            let data = URL_SAFE_NO_PAD.decode(v["response"]["clientDataJSON"].as_str().unwrap()).unwrap();
            let mut data: Value = serde_json::from_slice(&data).unwrap();
            data["extra"] = Value::Bool(true);
            v["response"]["clientDataJSON"] =
                Value::String(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data).unwrap()));
        });
        let answer = party.finish_registration(&started.state, &response).unwrap();
        assert_eq!(answer.err(), Some(CeremonyError::BadSignature));
    }
}

/// A firm where dan registered a soft token an hour ago, and an assertion for a new
/// proof signed with that token's own private key, with authenticator-data `flags`.
fn signed_with_flags(flags: u8) -> (Firm, mfa_kit::UserId, String) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use crypto_glue::ecdsa_p256::{EcdsaP256PrivateKey, EcdsaP256Signature, EcdsaP256SigningKey};
    use crypto_glue::traits::Signer;
    #[derive(serde::Deserialize)]
    struct Tokens {
        tokens: std::collections::HashMap<Vec<u8>, Vec<u8>>,
    }
    let firm = firm();
    let dan = user("dan");
    let mut browser = Browser::token();
    firm.register(&dan, "Laptop", &mut browser);
    firm.clock.advance(3600);
    let key = firm.record(&dan).security_keys()[0].clone();
    assert!(!key.backup_eligible() && !key.backup_state());
    let Soft::Token(token) = &browser.key else { unreachable!() };
    let tokens: Tokens = serde_cbor_2::from_slice(&token.to_cbor().unwrap()).unwrap();
    let der = &tokens.tokens[key.credential_id().as_bytes()];
    let signer = EcdsaP256SigningKey::from(&EcdsaP256PrivateKey::from_sec1_der(der).unwrap());
    let options = firm.start_proof(&dan);
    let challenge = public_key(&options)["challenge"].as_str().unwrap().to_string();
    let client_data = serde_json::to_vec(&serde_json::json!({
        "type": "webauthn.get", "challenge": challenge, "origin": ORIGIN, "crossOrigin": false,
    }))
    .unwrap();
    let mut auth_data = webauthn_rs_core::crypto::compute_sha256(RP_ID.as_bytes()).to_vec();
    auth_data.push(flags);
    auth_data.extend_from_slice(&100u32.to_be_bytes());
    let mut signed = auth_data.clone();
    signed.extend_from_slice(&webauthn_rs_core::crypto::compute_sha256(&client_data));
    let signature: EcdsaP256Signature = signer.try_sign(&signed).unwrap();
    let id = URL_SAFE_NO_PAD.encode(key.credential_id().as_bytes());
    let response = serde_json::json!({
        "id": id, "rawId": id, "type": "public-key", "clientExtensionResults": {},
        "response": {
            "authenticatorData": URL_SAFE_NO_PAD.encode(&auth_data),
            "clientDataJSON": URL_SAFE_NO_PAD.encode(&client_data),
            "signature": URL_SAFE_NO_PAD.encode(signature.to_der().as_bytes()),
            "userHandle": null,
        },
    })
    .to_string();
    (firm, dan, response)
}

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;

/// Control for the test below: the crafted assertion is accepted with BE=1, BS=0.
#[test]
fn a_key_that_becomes_eligible_but_not_synced_is_accepted() {
    let (firm, dan, response) = signed_with_flags(UP | UV | BE);
    let proven = run(firm.mfa.verify_security_key(&dan, &response, &office())).unwrap();
    assert!(proven.is_ok(), "{proven:?}");
    assert!(firm.record(&dan).security_keys()[0].backup_eligible());
}

/// The crate documentation's promise: "A credential that becomes eligible for backup (a
/// key synced by its platform) is accepted, and the record keeps the new flags". A key
/// its platform synced says BE=1 and BS=1.
#[test]
fn a_key_that_becomes_eligible_and_is_synced_is_accepted() {
    let (firm, dan, response) = signed_with_flags(UP | UV | BE | BS);
    let proven = run(firm.mfa.verify_security_key(&dan, &response, &office())).unwrap();
    assert!(
        proven.is_ok(),
        "a synced key (BE=1, BS=1) is refused: {proven:?}; {:?}",
        firm.events(&dan).last()
    );
    let key = firm.record(&dan).security_keys()[0].clone();
    assert!(key.backup_eligible() && key.backup_state());
}

/// The documentation: "without the user's presence or the user verification needed,
/// UserNotVerified". An assertion signed with UV=1 but without user presence (UP=0)
/// is refused, counted, and audited so.
#[test]
fn a_signed_assertion_without_presence_is_refused_as_the_user_not_verified() {
    let (firm, dan, response) = signed_with_flags(UV);
    let proven = run(firm.mfa.verify_security_key(&dan, &response, &office())).unwrap();
    assert!(proven.is_err());
    assert_eq!(
        firm.events(&dan).last(),
        Some(&mfa_kit::event::EventKind::CodeRejected {
            method: mfa_kit::Method::SecurityKey,
            reason: mfa_kit::RejectionReason::UserNotVerified,
            consecutive_failures: 1,
        })
    );
}
