//! Registering a security key or passkey and signing in with it, end to end through
//! the service on the in-memory store, with software authenticators that sign for real.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use mfa_kit::EnrollmentRejection;
use mfa_kit::event::EventKind;
use mfa_kit::flow::Proven;
use mfa_kit::policy::Decision;
use mfa_kit::{Method, Refusal};
use mfa_kit_webauthn::UserVerification;
use serde_json::{Value, json};

fn public_key(options: &str) -> Value {
    let options: Value = serde_json::from_str(options).unwrap();
    options["publicKey"].clone()
}

fn offered_methods(firm: &Firm, who: &mfa_kit::UserId) -> Vec<Method> {
    match run(firm.mfa.sign_in_decision(who, &office())).unwrap() {
        Ok(Decision::Challenge { methods, .. }) => methods,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

#[test]
fn a_first_key_is_registered_without_a_proof_and_then_proves_the_second_factor() {
    let firm = firm();
    let ann = user("ann");
    let mut browser = Browser::new();

    let options = firm.start_registration(&ann, "YubiKey");
    let creation = public_key(&options);
    assert_eq!(creation["rp"]["id"], "localhost");
    assert_eq!(creation["rp"]["name"], "Smith & Co Accounting");
    assert_eq!(creation["user"]["name"], "ann@smith.example");
    assert_eq!(creation["attestation"], "none");
    assert_eq!(creation["authenticatorSelection"]["userVerification"], "preferred");
    assert_eq!(creation["authenticatorSelection"]["residentKey"], "preferred");
    assert_eq!(creation["authenticatorSelection"]["requireResidentKey"], false);
    assert_eq!(creation["extensions"], json!({ "credProps": true }));
    assert_eq!(creation["timeout"], 240_000);
    assert_eq!(
        creation["pubKeyCredParams"],
        json!([
            { "type": "public-key", "alg": -7 },
            { "type": "public-key", "alg": -35 },
            { "type": "public-key", "alg": -257 },
        ])
    );
    assert!(creation.get("excludeCredentials").is_none_or(Value::is_null), "nothing to exclude yet");
    let user_id = URL_SAFE_NO_PAD.decode(creation["user"]["id"].as_str().unwrap()).unwrap();

    let response = browser.create(&options);
    let done = run(firm.mfa.finish_security_key_registration(&ann, &response, &office())).unwrap();
    assert!(done.is_ok(), "{done:?}");

    let record = firm.record(&ann);
    assert!(record.has_mfa());
    assert_eq!(
        record.user_handle().unwrap().as_bytes().as_slice(),
        user_id.as_slice(),
        "the handle the key knows"
    );
    let key = &record.security_keys()[0];
    assert_eq!(key.name(), "YubiKey");
    assert_eq!(key.counter(), 0);
    assert!(!key.user_verified(), "user verification was preferred and the key did none");
    assert!(!key.discoverable() && !key.backup_eligible() && !key.backup_state());
    let stored: Value = serde_json::from_str(key.public_key()).unwrap();
    assert_eq!(stored["v"], 1);
    assert_eq!(stored["alg"], -7);
    assert_eq!(stored["kty"], "EC2");
    assert_eq!(stored["crv"], "P-256");
    assert_eq!(URL_SAFE_NO_PAD.decode(stored["x"].as_str().unwrap()).unwrap().len(), 32);
    assert_eq!(stored["uv"], "preferred");
    assert_eq!(stored["fmt"], "packed");
    assert!(
        firm.events(&ann).iter().any(|event| matches!(
            event,
            EventKind::SecurityKeyRegistered { name, discoverable: false, user_verified: false, .. } if name == "YubiKey"
        )),
        "{:?}",
        firm.events(&ann)
    );

    // The next sign-in: the key is offered first, and proves the second factor.
    firm.clock.advance(3600);
    assert_eq!(offered_methods(&firm, &ann), vec![Method::SecurityKey]);
    let options = firm.start_proof(&ann);
    let request = public_key(&options);
    assert_eq!(request["rpId"], "localhost");
    assert_eq!(request["userVerification"], "preferred");
    assert_eq!(request["allowCredentials"][0]["id"], URL_SAFE_NO_PAD.encode(key.credential_id().as_bytes()));
    let response = browser.get(&options);
    let proven = run(firm.mfa.verify_security_key(&ann, &response, &office())).unwrap();
    assert!(
        matches!(proven, Ok(Proven { method: Method::SecurityKey, phishing_resistant: true, drift: None, at })
            if at == START + 3600),
        "{proven:?}"
    );
    let record = firm.record(&ann);
    assert_eq!(record.security_keys()[0].counter(), 1, "the authenticator's counter, as it signed");
    assert_eq!(record.security_keys()[0].last_used_at(), Some(START + 3600));
    assert!(record.ceremony().is_none(), "the challenge is spent");
    assert!(
        firm.events(&ann)
            .iter()
            .any(|e| matches!(e, EventKind::CodeAccepted { method: Method::SecurityKey, .. }))
    );
}

#[test]
fn a_key_for_a_user_with_an_app_needs_a_fresh_proof_at_the_start_and_at_the_finish() {
    let firm = firm();
    let bob = user("bob");
    let phone = firm.enroll_app(&bob);
    let mut browser = Browser::token();

    firm.clock.advance(3600);
    let refused =
        run(firm.mfa.start_security_key_registration(&bob, "Token", "bob@smith.example", "Bob", &office()))
            .unwrap();
    assert_eq!(refused, Err(Refusal::FreshProofRequired));
    assert!(
        firm.events(&bob).iter().any(
            |e| matches!(e, EventKind::EnrollmentRefused { refusal } if refusal == "fresh_proof_required")
        )
    );

    // Proved 200 s before the start, answered 200 s after it: the proof is judged at
    // the ceremony's start, so a slow browser dialog does not run it out.
    firm.prove_with_app(&bob, &phone);
    firm.clock.advance(200);
    let options = firm.start_registration(&bob, "Token");
    firm.clock.advance(200);
    let slow =
        run(firm.mfa.finish_security_key_registration(&bob, &browser.create(&options), &office())).unwrap();
    assert!(slow.is_ok(), "{slow:?}");
    let record = firm.record(&bob);
    assert_eq!(record.security_keys().len(), 1);
    assert_eq!(
        serde_json::from_str::<Value>(record.security_keys()[0].public_key()).unwrap()["transports"],
        json!(["internal"])
    );

    firm.clock.advance(3600);
    assert_eq!(offered_methods(&firm, &bob), vec![Method::SecurityKey, Method::Totp], "the key first");
    let proven = firm.prove_with_key(&bob, &mut browser);
    assert!(proven.phishing_resistant);

    // A third authenticator's options exclude the key already registered.
    let options = firm.start_registration(&bob, "Spare");
    let excluded = &public_key(&options)["excludeCredentials"];
    assert_eq!(
        excluded[0]["id"],
        URL_SAFE_NO_PAD.encode(record.security_keys()[0].credential_id().as_bytes())
    );
    assert_eq!(excluded[0]["transports"], json!(["internal"]));
}

#[test]
fn a_passkey_the_browser_says_is_discoverable_is_kept_as_one_and_signs_in() {
    let firm = firm();
    let cat = user("cat");
    let mut browser = Browser::new();
    let options = firm.start_registration(&cat, "This laptop");
    let response = edit_json(&browser.create(&options), |credential| {
        credential["clientExtensionResults"] = json!({ "credProps": { "rk": true } });
        credential["authenticatorAttachment"] = json!("platform");
    });
    assert!(run(firm.mfa.finish_security_key_registration(&cat, &response, &office())).unwrap().is_ok());
    assert!(firm.record(&cat).security_keys()[0].discoverable());
    assert!(
        firm.events(&cat)
            .iter()
            .any(|e| matches!(e, EventKind::SecurityKeyRegistered { discoverable: true, .. }))
    );
    firm.clock.advance(3600);
    firm.prove_with_key(&cat, &mut browser);
}

#[test]
fn without_passkeys_a_resident_key_is_discouraged() {
    let firm = firm_with(party().passkeys(false).user_verification(UserVerification::Discouraged));
    let options = firm.start_registration(&user("dan"), "YubiKey");
    let selection = &public_key(&options)["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "discouraged");
    assert_eq!(selection["userVerification"], "discouraged");
    let mut browser = Browser::new();
    let response = browser.create(&options);
    assert!(
        run(firm.mfa.finish_security_key_registration(&user("dan"), &response, &office())).unwrap().is_ok()
    );
    firm.clock.advance(3600);
    let options = firm.start_proof(&user("dan"));
    assert_eq!(public_key(&options)["userVerification"], "discouraged");
    let proven = run(firm.mfa.verify_security_key(&user("dan"), &browser.get(&options), &office())).unwrap();
    assert!(proven.is_ok(), "{proven:?}");
}

#[test]
fn where_user_verification_is_required_a_key_that_does_not_verify_is_refused() {
    let firm = firm_with(party().user_verification(UserVerification::Required));
    let eve = user("eve");
    let mut browser = Browser::new();

    // An authenticator that skips verification (told it was discouraged) does not
    // register.
    let options = firm.start_registration(&eve, "YubiKey");
    assert_eq!(public_key(&options)["authenticatorSelection"]["userVerification"], "required");
    let lax = edit_json(&options, |o| {
        o["publicKey"]["authenticatorSelection"]["userVerification"] = json!("discouraged")
    });
    let refused =
        run(firm.mfa.finish_security_key_registration(&eve, &browser.create(&lax), &office())).unwrap();
    assert_eq!(refused, Err(Refusal::KeyNotRegistered));
    assert!(firm.record(&eve).security_keys().is_empty());
    assert!(
        firm.events(&eve)
            .iter()
            .any(|e| matches!(e, EventKind::EnrollmentRejected { reason: EnrollmentRejection::KeyRejected }))
    );

    firm.register(&eve, "YubiKey", &mut browser);
    assert!(firm.record(&eve).security_keys()[0].user_verified());
    firm.clock.advance(3600);
    firm.prove_with_key(&eve, &mut browser);

    // The same key, but this time it skips verification: refused and counted.
    firm.clock.advance(60);
    let options = firm.start_proof(&eve);
    let lax = edit_json(&options, |o| o["publicKey"]["userVerification"] = json!("discouraged"));
    let refused = run(firm.mfa.verify_security_key(&eve, &browser.get(&lax), &office())).unwrap();
    assert!(matches!(refused, Err(Refusal::KeyRejected { .. })), "{refused:?}");
    assert_eq!(firm.record(&eve).failures().consecutive(), 1);
    assert!(firm.events(&eve).iter().any(|e| matches!(
        e,
        EventKind::CodeRejected { reason: mfa_kit::RejectionReason::UserNotVerified, .. }
    )));
}

#[test]
fn a_key_that_verified_the_user_at_registration_must_keep_doing_so_under_preferred() {
    let firm = firm();
    let fay = user("fay");
    let mut browser = Browser::new();
    // This authenticator verifies the user at registration (told it was required).
    let options = firm.start_registration(&fay, "YubiKey");
    let strict = edit_json(&options, |o| {
        o["publicKey"]["authenticatorSelection"]["userVerification"] = json!("required")
    });
    assert!(
        run(firm.mfa.finish_security_key_registration(&fay, &browser.create(&strict), &office()))
            .unwrap()
            .is_ok()
    );
    assert!(firm.record(&fay).security_keys()[0].user_verified());
    firm.clock.advance(3600);
    let options = firm.start_proof(&fay);
    let refused = run(firm.mfa.verify_security_key(&fay, &browser.get(&options), &office())).unwrap();
    assert!(matches!(refused, Err(Refusal::KeyRejected { .. })), "{refused:?}");
    let options = firm.start_proof(&fay);
    let strict = edit_json(&options, |o| o["publicKey"]["userVerification"] = json!("required"));
    let proven = run(firm.mfa.verify_security_key(&fay, &browser.get(&strict), &office())).unwrap();
    assert!(proven.is_ok(), "{proven:?}");
}
