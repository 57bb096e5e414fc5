//! What is refused, and what it counts for: replays, other sites, other challenges and
//! ceremonies, late answers, answers that are not WebAuthn responses, cloned keys, and
//! the lockout.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use mfa_kit::event::EventKind;
use mfa_kit::record::CEREMONY_LIFETIME;
use mfa_kit::relying_party::MAX_RESPONSE;
use mfa_kit::{EnrollmentRejection, RejectionReason};
use mfa_kit::{Method, Refusal, UserId};
use serde_json::{Value, json};

/// A firm where `who` has registered `browser`'s key, an hour ago.
fn registered(who: &UserId, browser: &mut Browser) -> Firm {
    let firm = firm();
    firm.register(who, "YubiKey", browser);
    firm.clock.advance(3600);
    firm
}

fn verify(firm: &Firm, who: &UserId, response: &str) -> Result<mfa_kit::flow::Proven, Refusal> {
    run(firm.mfa.verify_security_key(who, response, &office())).unwrap()
}

fn failures(firm: &Firm, who: &UserId) -> u32 {
    firm.record(who).failures().consecutive()
}

fn rejected_for(firm: &Firm, who: &UserId, reason: RejectionReason) -> usize {
    firm.events(who)
        .iter()
        .filter(|e| matches!(e, EventKind::CodeRejected { method: Method::SecurityKey, reason: r, .. } if *r == reason))
        .count()
}

fn challenge_of(options: &str) -> String {
    let options: Value = serde_json::from_str(options).unwrap();
    options["publicKey"]["challenge"].as_str().unwrap().to_string()
}

#[test]
fn a_signed_assertion_is_accepted_once() {
    let ann = user("ann");
    let mut browser = Browser::new();
    let firm = registered(&ann, &mut browser);
    let options = firm.start_proof(&ann);
    let response = browser.get(&options);
    assert!(verify(&firm, &ann, &response).is_ok());
    // The same answer again: the challenge is spent.
    assert_eq!(verify(&firm, &ann, &response), Err(Refusal::NoCeremonyPending));
    assert_eq!(failures(&firm, &ann), 0);
    // Replayed into the next ceremony: it answers another challenge, and counts.
    firm.start_proof(&ann);
    assert!(matches!(verify(&firm, &ann, &response), Err(Refusal::KeyRejected { attempts_left: 4 })));
    assert_eq!(rejected_for(&firm, &ann, RejectionReason::WrongChallenge), 1);
    assert_eq!(failures(&firm, &ann), 1);
}

#[test]
fn an_assertion_made_for_another_site_is_rejected_and_counted() {
    let ann = user("ann");
    let mut browser = Browser::new();
    let firm = registered(&ann, &mut browser);

    // A look-alike origin relaying the site's options: the authenticator signs (the
    // relying-party id is a suffix of its domain), the origin gives it away.
    let options = firm.start_proof(&ann);
    browser.origin = "https://login.localhost".parse().unwrap();
    let response = browser.get(&options);
    assert!(matches!(verify(&firm, &ann, &response), Err(Refusal::KeyRejected { .. })));
    browser.origin = ORIGIN.parse().unwrap();

    // The right origin, signed for another relying-party id.
    let options = firm.start_proof(&ann);
    let response = browser.get_crafted(&options, "evil.localhost", |_| {});
    assert!(matches!(verify(&firm, &ann, &response), Err(Refusal::KeyRejected { .. })));

    // A phishing site that rewrote the relying-party id to its own.
    let options = firm.start_proof(&ann);
    browser.origin = "https://evil.example".parse().unwrap();
    let response = browser.get_crafted(&options, "evil.example", |_| {});
    assert!(matches!(verify(&firm, &ann, &response), Err(Refusal::KeyRejected { .. })));

    browser.origin = ORIGIN.parse().unwrap();

    // The site's own origin, but in a frame of another site (webauthn-rs itself checks
    // this at registration only).
    let options = firm.start_proof(&ann);
    let response =
        browser.get_crafted(&options, RP_ID, |client_data| client_data["crossOrigin"] = json!(true));
    assert!(matches!(verify(&firm, &ann, &response), Err(Refusal::KeyRejected { .. })));
    let options = firm.start_proof(&ann);
    let response = browser
        .get_crafted(&options, RP_ID, |client_data| client_data["topOrigin"] = json!("https://evil.example"));
    // The fifth failure in a row: the lockout.
    assert!(matches!(verify(&firm, &ann, &response), Err(Refusal::LockedOut { .. })));

    assert_eq!(rejected_for(&firm, &ann, RejectionReason::WrongOrigin), 5);
    assert_eq!(failures(&firm, &ann), 5);
    assert!(firm.record(&ann).security_keys()[0].last_used_at().is_none(), "never proved with");
}

#[test]
fn an_assertion_over_another_users_challenge_proves_nothing() {
    let (ann, bob) = (user("ann"), user("bob"));
    let (mut anns, mut bobs) = (Browser::new(), Browser::new());
    let firm = registered(&ann, &mut anns);
    firm.register(&bob, "YubiKey", &mut bobs);
    firm.clock.advance(3600);

    firm.start_proof(&ann);
    let bob_options = firm.start_proof(&bob);
    // Bob's key answering Bob's challenge, handed in as Ann's answer: not her key.
    let bobs_answer = bobs.get(&bob_options);
    assert!(matches!(verify(&firm, &ann, &bobs_answer), Err(Refusal::KeyRejected { .. })));
    assert_eq!(rejected_for(&firm, &ann, RejectionReason::UnknownCredential), 1);
    // Bob's own ceremony was not touched by it.
    assert!(verify(&firm, &bob, &bobs_answer).is_ok());

    // Ann's key signing over Bob's challenge: not the challenge of Ann's ceremony.
    let firm_ann_options = firm.start_proof(&ann);
    let bob_options = firm.start_proof(&bob);
    let signed = anns.get_crafted(&firm_ann_options, RP_ID, |client_data| {
        client_data["challenge"] = json!(challenge_of(&bob_options));
    });
    assert!(matches!(verify(&firm, &ann, &signed), Err(Refusal::KeyRejected { .. })));
    assert_eq!(rejected_for(&firm, &ann, RejectionReason::WrongChallenge), 1);
    // Nor does it prove anything for Bob, whose key it is not.
    assert!(matches!(verify(&firm, &bob, &signed), Err(Refusal::KeyRejected { .. })));
    assert_eq!(rejected_for(&firm, &bob, RejectionReason::UnknownCredential), 1);
    assert_eq!(failures(&firm, &ann), 2);
    assert!(firm.record(&ann).security_keys()[0].last_used_at().is_none(), "never proved");
}

#[test]
fn another_users_registration_registers_nothing() {
    let (ann, bob) = (user("ann"), user("bob"));
    let firm = firm();
    let mut browser = Browser::new();
    firm.start_registration(&ann, "YubiKey");
    let bob_options = firm.start_registration(&bob, "YubiKey");
    let bobs_answer = browser.create(&bob_options);
    let refused = run(firm.mfa.finish_security_key_registration(&ann, &bobs_answer, &office())).unwrap();
    assert_eq!(refused, Err(Refusal::KeyNotRegistered));
    assert!(firm.record(&ann).security_keys().is_empty());
    assert!(!firm.record(&ann).has_mfa());
    assert!(
        firm.events(&ann)
            .iter()
            .any(|e| matches!(e, EventKind::EnrollmentRejected { reason: EnrollmentRejection::KeyRejected }))
    );
    // Ann's ceremony is spent; Bob's is still there and takes his answer.
    let again = run(firm.mfa.finish_security_key_registration(&ann, &bobs_answer, &office())).unwrap();
    assert_eq!(again, Err(Refusal::NoCeremonyPending));
    assert!(run(firm.mfa.finish_security_key_registration(&bob, &bobs_answer, &office())).unwrap().is_ok());
}

#[test]
fn a_registration_and_an_authentication_do_not_answer_each_other() {
    let ann = user("ann");
    let mut browser = Browser::new();
    let firm = registered(&ann, &mut browser);
    firm.prove_with_key(&ann, &mut browser);

    // An assertion over the challenge of a registration in progress (signed with
    // options of the right shape for the authenticator, the challenge replaced).
    let auth_options = firm.start_proof(&ann);
    let registration = firm.start_registration(&ann, "Spare");
    let signed = browser.get_crafted(&auth_options, RP_ID, |client_data| {
        client_data["challenge"] = json!(challenge_of(&registration));
    });
    assert_eq!(
        verify(&firm, &ann, &signed),
        Err(Refusal::NoCeremonyPending),
        "a registration is in progress"
    );
    // Handed to the registration: not a registration response at all.
    let refused = run(firm.mfa.finish_security_key_registration(&ann, &signed, &office())).unwrap();
    assert_eq!(refused, Err(Refusal::KeyResponseMalformed));
    assert_eq!(firm.record(&ann).security_keys().len(), 1, "nothing registered");

    // A registration response handed in as an assertion.
    let registration = firm.start_registration(&ann, "Spare");
    let created = Browser::new().create(&registration);
    firm.start_proof(&ann);
    assert_eq!(verify(&firm, &ann, &created), Err(Refusal::KeyResponseMalformed));
    // An assertion whose client data says it was made by create(): another kind of
    // ceremony, over the right challenge.
    let options = firm.start_proof(&ann);
    let signed =
        browser.get_crafted(&options, RP_ID, |client_data| client_data["type"] = json!("webauthn.create"));
    assert!(matches!(verify(&firm, &ann, &signed), Err(Refusal::KeyRejected { .. })));
    assert_eq!(rejected_for(&firm, &ann, RejectionReason::WrongChallenge), 1);
    assert_eq!(firm.record(&ann).security_keys().len(), 1, "nothing registered");
}

#[test]
fn a_late_answer_is_refused_and_not_counted() {
    let ann = user("ann");
    let mut browser = Browser::new();
    let firm = registered(&ann, &mut browser);
    let options = firm.start_proof(&ann);
    firm.clock.advance(CEREMONY_LIFETIME + 1);
    assert_eq!(verify(&firm, &ann, &browser.get(&options)), Err(Refusal::CeremonyExpired));
    assert_eq!(failures(&firm, &ann), 0);
    assert_eq!(rejected_for(&firm, &ann, RejectionReason::Expired), 1);
    assert!(firm.record(&ann).ceremony().is_none(), "cleared");

    // A registration too.
    let bob = user("bob");
    let options = firm.start_registration(&bob, "YubiKey");
    firm.clock.advance(CEREMONY_LIFETIME + 1);
    let late =
        run(firm.mfa.finish_security_key_registration(&bob, &Browser::new().create(&options), &office()))
            .unwrap();
    assert_eq!(late, Err(Refusal::CeremonyExpired));
    assert!(firm.record(&bob).security_keys().is_empty());
}

fn client_data(response: &str) -> Value {
    let response: Value = serde_json::from_str(response).unwrap();
    let bytes = URL_SAFE_NO_PAD.decode(response["response"]["clientDataJSON"].as_str().unwrap()).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn with_client_data_bytes(response: &str, bytes: &[u8]) -> String {
    edit_json(response, |r| r["response"]["clientDataJSON"] = json!(URL_SAFE_NO_PAD.encode(bytes)))
}

#[test]
fn an_answer_that_is_not_a_webauthn_response_is_malformed_and_not_counted() {
    let ann = user("ann");
    let mut browser = Browser::new();
    let firm = registered(&ann, &mut browser);
    let options = firm.start_proof(&ann);
    let good = browser.get(&options);
    let client_data_bytes = serde_json::to_vec(&client_data(&good)).unwrap();
    let mut without_challenge = client_data(&good);
    without_challenge.as_object_mut().unwrap().remove("challenge");
    let mut wrong_type = client_data(&good);
    wrong_type["challenge"] = json!(17);

    let malformed = [
        String::new(),
        "not json".to_string(),
        good[..good.len() / 2].to_string(),
        "{}".to_string(),
        "[]".to_string(),
        "null".to_string(),
        edit_json(&good, |r| r["type"] = json!("password")),
        edit_json(&good, |r| r["response"]["clientDataJSON"] = json!("!!not base64!!")),
        with_client_data_bytes(&good, &client_data_bytes[..client_data_bytes.len() / 2]),
        with_client_data_bytes(&good, &serde_json::to_vec(&without_challenge).unwrap()),
        with_client_data_bytes(&good, &serde_json::to_vec(&wrong_type).unwrap()),
        edit_json(&good, |r| r["response"]["authenticatorData"] = json!(URL_SAFE_NO_PAD.encode([0u8; 10]))),
        edit_json(&good, |r| {
            r["response"].as_object_mut().unwrap().remove("signature").map(drop).unwrap_or(())
        }),
        edit_json(&good, |r| r["response"]["userHandle"] = json!(["not", "bytes"])),
        format!("{}{}", good, " ".repeat(MAX_RESPONSE)),
    ];
    for response in &malformed {
        firm.start_proof(&ann);
        let refused = verify(&firm, &ann, response);
        assert_eq!(refused, Err(Refusal::KeyResponseMalformed), "{}", &response[..response.len().min(200)]);
    }
    assert_eq!(failures(&firm, &ann), 0, "none of them counts");
    firm.prove_with_key(&ann, &mut browser);
    // Audited one by one up to the record's bound, the rest summarised at the success.
    let summarised: u64 = firm
        .events(&ann)
        .iter()
        .map(|e| if let EventKind::RefusalsSummarised { refused, .. } = e { u64::from(*refused) } else { 0 })
        .sum();
    let audited = rejected_for(&firm, &ann, RejectionReason::Malformed) as u64;
    assert!(audited > 0);
    assert_eq!(audited + summarised, malformed.len() as u64);

    // The same for a registration (in a new interval of the audit's bound).
    firm.clock.advance(3600);
    firm.prove_with_key(&ann, &mut browser);
    let options = firm.start_registration(&ann, "Spare");
    let created = Browser::new().create(&options);
    let refused =
        run(firm.mfa.finish_security_key_registration(&ann, &created[..created.len() - 9], &office()))
            .unwrap();
    assert_eq!(refused, Err(Refusal::KeyResponseMalformed));
    assert!(
        firm.events(&ann)
            .iter()
            .any(|e| matches!(e, EventKind::EnrollmentRejected { reason: EnrollmentRejection::Malformed }))
    );
    assert_eq!(firm.record(&ann).security_keys().len(), 1);
}

#[test]
fn a_signature_that_does_not_verify_is_rejected_and_counted() {
    let ann = user("ann");
    let mut browser = Browser::new();
    let firm = registered(&ann, &mut browser);
    // Client data changed after signing (a browser that lies about the origin).
    let options = firm.start_proof(&ann);
    let good = browser.get(&options);
    let mut data = client_data(&good);
    data["extra"] = json!("appended after signing");
    let altered = with_client_data_bytes(&good, &serde_json::to_vec(&data).unwrap());
    assert!(matches!(verify(&firm, &ann, &altered), Err(Refusal::KeyRejected { .. })));
    // A signature of another key (a second authenticator answering with Ann's id).
    let options = firm.start_proof(&ann);
    let good = browser.get(&options);
    let mut other = Browser::new();
    let foreign = {
        let firm2 = firm_with(party());
        firm2.register(&ann, "Other", &mut other);
        let foreign = other.get(&firm2.start_proof(&ann));
        let foreign: Value = serde_json::from_str(&foreign).unwrap();
        edit_json(&good, |r| r["response"]["signature"] = foreign["response"]["signature"].clone())
    };
    assert!(matches!(verify(&firm, &ann, &foreign), Err(Refusal::KeyRejected { .. })));
    assert_eq!(rejected_for(&firm, &ann, RejectionReason::BadSignature), 2);
    assert_eq!(failures(&firm, &ann), 2);
}

#[test]
fn a_counter_that_goes_back_is_refused_and_audited_as_a_possibly_cloned_key() {
    let cat = user("cat");
    let mut original = Browser::token();
    let firm = registered(&cat, &mut original);
    // A copy of the key made now, with the same private key and counter.
    let mut copy = original.clone_token();
    firm.prove_with_key(&cat, &mut original);
    firm.clock.advance(60);
    firm.prove_with_key(&cat, &mut original);
    let key_id = firm.record(&cat).security_keys()[0].id().to_string();
    assert_eq!(firm.record(&cat).security_keys()[0].counter(), 2);

    // The copy signs with counter 1: a valid signature, but a counter that went back.
    firm.clock.advance(60);
    let options = firm.start_proof(&cat);
    let response = copy.get(&options);
    assert!(matches!(verify(&firm, &cat, &response), Err(Refusal::KeyRejected { .. })));
    assert!(firm.events(&cat).iter().any(|e| matches!(
        e,
        EventKind::SecurityKeyCounterRegressed { authenticator, stored: 2, presented: 1, accepted: false }
            if *authenticator == key_id
    )));
    assert_eq!(rejected_for(&firm, &cat, RejectionReason::CounterRegressed), 1);
    assert_eq!(failures(&firm, &cat), 1);
    assert_eq!(firm.record(&cat).security_keys()[0].counter(), 2, "the record keeps the higher counter");

    // The original goes on.
    firm.clock.advance(60);
    firm.prove_with_key(&cat, &mut original);
    assert_eq!(firm.record(&cat).security_keys()[0].counter(), 3);
}

#[test]
fn repeated_bad_assertions_lock_the_user_out_until_the_lockout_ends() {
    let dan = user("dan");
    let mut browser = Browser::new();
    let firm = registered(&dan, &mut browser);
    let mut last = None;
    for _ in 0..5 {
        let options = firm.start_proof(&dan);
        let response = browser.get_crafted(&options, RP_ID, |client_data| {
            client_data["origin"] = json!("https://evil.localhost");
        });
        last = Some(verify(&firm, &dan, &response));
    }
    let until = match last {
        Some(Err(Refusal::LockedOut { until })) => until,
        other => panic!("expected a lockout, got {other:?}"),
    };
    // Even a good key is refused now, from the start.
    assert!(matches!(
        run(firm.mfa.start_security_key(&dan, &office())).unwrap(),
        Err(Refusal::LockedOut { .. })
    ));
    firm.clock.set(until + 1);
    firm.prove_with_key(&dan, &mut browser);
    assert_eq!(failures(&firm, &dan), 0);
}

/// WebAuthn Level 3 §7.2, step 6: a response that names its user must name the one
/// signing in. The handle is not signed, so a response from Ann's own key that names
/// Bob's account is a confused or forged one.
#[test]
fn an_assertion_that_names_another_user_is_rejected_and_counted() {
    let (ann, bob) = (user("ann"), user("bob"));
    let mut browser = Browser::new();
    let firm = registered(&ann, &mut browser);
    firm.register(&bob, "Bob's key", &mut Browser::new());
    let (ann_handle, bob_handle) =
        (*firm.record(&ann).user_handle().unwrap(), *firm.record(&bob).user_handle().unwrap());
    assert_ne!(ann_handle, bob_handle);
    let naming =
        |response: &str, handle: Value| edit_json(response, |r| r["response"]["userHandle"] = handle);

    // The soft passkey keeps no user (a non-discoverable credential) and sends none:
    // the handle is written in, as a passkey that keeps its user would send it.
    let good = browser.get(&firm.start_proof(&ann));
    let as_bob = naming(&good, json!(URL_SAFE_NO_PAD.encode(bob_handle.as_bytes())));
    assert!(matches!(verify(&firm, &ann, &as_bob), Err(Refusal::KeyRejected { attempts_left: 4 })));
    let unknown = naming(&browser.get(&firm.start_proof(&ann)), json!(URL_SAFE_NO_PAD.encode([9u8; 16])));
    assert!(matches!(verify(&firm, &ann, &unknown), Err(Refusal::KeyRejected { attempts_left: 3 })));
    // A prefix of the right handle is another handle.
    let prefix = naming(
        &browser.get(&firm.start_proof(&ann)),
        json!(URL_SAFE_NO_PAD.encode(&ann_handle.as_bytes()[..8])),
    );
    assert!(matches!(verify(&firm, &ann, &prefix), Err(Refusal::KeyRejected { attempts_left: 2 })));
    assert_eq!(rejected_for(&firm, &ann, RejectionReason::UnknownCredential), 3);
    assert_eq!(failures(&firm, &ann), 3);

    // Its own handle, none (a security key that keeps no user), or an empty one.
    let own = json!(URL_SAFE_NO_PAD.encode(ann_handle.as_bytes()));
    for handle in [own, Value::Null, json!("")] {
        let response = naming(&browser.get(&firm.start_proof(&ann)), handle.clone());
        assert!(verify(&firm, &ann, &response).is_ok(), "userHandle {handle}");
    }
    let mut absent = browser.get(&firm.start_proof(&ann));
    absent = edit_json(&absent, |r| {
        r["response"].as_object_mut().unwrap().remove("userHandle");
    });
    assert!(verify(&firm, &ann, &absent).is_ok(), "no userHandle at all");
    assert_eq!(failures(&firm, &ann), 0);
}
