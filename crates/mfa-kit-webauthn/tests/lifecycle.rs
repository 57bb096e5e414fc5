//! A key's life beyond signing in: removal, the record going through storage, and the
//! relying party's own contract (the counter is reported, never judged).

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use mfa_kit::RejectionReason;
use mfa_kit::clock::ManualClock;
use mfa_kit::event::EventKind;
use mfa_kit::flow::security_key::CeremonyError;
use mfa_kit::record::UserRecord;
use mfa_kit::relying_party::RegistrationUser;
use mfa_kit::relying_party::RelyingParty;
use mfa_kit::store::{MemoryStore, SaveOutcome, Store};
use mfa_kit::{Method, Refusal};
use serde_json::json;

#[test]
fn removing_a_key_needs_a_fresh_proof_and_its_assertions_then_count_as_unknown() {
    let firm = firm();
    let ann = user("ann");
    let (mut first, mut second) = (Browser::new(), Browser::new());
    firm.register(&ann, "YubiKey", &mut first);
    firm.register(&ann, "Spare", &mut second);
    let record = firm.record(&ann);
    assert_eq!(record.security_keys().len(), 2);
    let spare = record.security_keys()[1].clone();
    assert_eq!(spare.name(), "Spare");

    firm.clock.advance(3600);
    let stale = run(firm.mfa.remove_authenticator(&ann, spare.id(), &office())).unwrap();
    assert_eq!(stale, Err(Refusal::FreshProofRequired));
    // A session whose own proof is an hour old is not fresh either.
    let old_session = firm.session_proved_at(&ann, START);
    let stale = run(firm.mfa.remove_authenticator(&ann, spare.id(), &old_session)).unwrap();
    assert_eq!(stale, Err(Refusal::FreshProofRequired));
    assert_eq!(firm.record(&ann).security_keys().len(), 2);

    let proof = firm.prove_with_key(&ann, &mut first);
    let session = firm.session_proved_at(&ann, proof.at);
    assert_eq!(run(firm.mfa.remove_authenticator(&ann, spare.id(), &session)).unwrap(), Ok(true));
    let record = firm.record(&ann);
    assert_eq!(record.security_keys().len(), 1);
    assert_eq!(record.security_keys()[0].name(), "YubiKey");
    assert!(firm.events(&ann).iter().any(
        |e| matches!(e, EventKind::SecurityKeyRemoved { authenticator, name } if authenticator == spare.id() && name == "Spare")
    ));

    // The removed key is no longer offered, and its answer is a key not the user's.
    firm.clock.advance(60);
    let options = firm.start_proof(&ann);
    let offered: serde_json::Value = serde_json::from_str(&options).unwrap();
    assert_eq!(offered["publicKey"]["allowCredentials"].as_array().unwrap().len(), 1);
    let for_spare = edit_json(&options, |o| {
        o["publicKey"]["allowCredentials"] =
            json!([{ "type": "public-key", "id": URL_SAFE_NO_PAD.encode(spare.credential_id().as_bytes()) }]);
    });
    let refused = run(firm.mfa.verify_security_key(&ann, &second.get(&for_spare), &office())).unwrap();
    assert!(matches!(refused, Err(Refusal::KeyRejected { .. })), "{refused:?}");
    assert!(firm.events(&ann).iter().any(|e| matches!(
        e,
        EventKind::CodeRejected {
            method: Method::SecurityKey,
            reason: RejectionReason::UnknownCredential,
            ..
        }
    )));
}

#[test]
fn a_record_that_went_through_json_keeps_its_key_usable() {
    let firm = firm();
    let bob = user("bob");
    let mut browser = Browser::token();
    firm.register(&bob, "YubiKey", &mut browser);
    firm.clock.advance(3600);
    firm.prove_with_key(&bob, &mut browser);
    let record = firm.record(&bob);

    let json = serde_json::to_string(&record).unwrap();
    let back: UserRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, record);
    assert_eq!(back.security_keys()[0].public_key(), record.security_keys()[0].public_key());

    // Another service, on another store that holds the record read back.
    let store = MemoryStore::new();
    assert!(matches!(run(store.save(back, None, Vec::new())).unwrap(), SaveOutcome::Saved(_)));
    let elsewhere = firm_on(store, party(), ManualClock::new(START + 7200));
    let proven = elsewhere.prove_with_key(&bob, &mut browser);
    assert!(proven.phishing_resistant);
    assert_eq!(elsewhere.record(&bob).security_keys()[0].counter(), 2);
}

/// The relying party on its own: keys as the record holds them, and a signature counter
/// it reports without judging.
#[test]
fn the_relying_party_reports_the_counter_as_it_is_and_leaves_judging_it_to_the_record() {
    let firm = firm();
    let cat = user("cat");
    let mut original = Browser::token();
    firm.register(&cat, "YubiKey", &mut original);
    let mut copy = original.clone_token();
    for _ in 0..3 {
        firm.clock.advance(60);
        firm.prove_with_key(&cat, &mut original);
    }
    let keys = firm.record(&cat).security_keys().to_vec();
    assert_eq!(keys[0].counter(), 3);

    let party = party().build().unwrap();
    let started = party.start_authentication(&keys).unwrap();
    assert!(
        !started.state.contains(&URL_SAFE_NO_PAD.encode(keys[0].credential_id().as_bytes())),
        "no keys in the state"
    );
    // The copy is behind: it signs with counter 1, which webauthn-rs would call a
    // possible compromise. The relying party verifies the signature and reports 1.
    let response = copy.get(&started.options);
    let assertion = party.finish_authentication(&started.state, &response, &keys).unwrap().unwrap();
    assert_eq!(assertion.counter, 1);
    assert_eq!(&assertion.credential_id, keys[0].credential_id());
    // The same counter again (an authenticator that keeps none would send 0 each time).
    let started = party.start_authentication(&keys).unwrap();
    let mut stuck = original.clone_token();
    let response = stuck.get(&started.options);
    assert_eq!(party.finish_authentication(&started.state, &response, &keys).unwrap().unwrap().counter, 4);
    let started = party.start_authentication(&keys).unwrap();
    let mut stuck_again = original.clone_token();
    let response = stuck_again.get(&started.options);
    assert_eq!(party.finish_authentication(&started.state, &response, &keys).unwrap().unwrap().counter, 4);

    // A key not among those given is unknown; a state of the other ceremony cannot be
    // read.
    let started = party.start_authentication(&keys).unwrap();
    let response = original.get(&started.options);
    assert_eq!(
        party.finish_authentication(&started.state, &response, &[]).unwrap(),
        Err(CeremonyError::UnknownCredential)
    );
    assert!(party.finish_registration(&started.state, &response).is_err());
    let handle = *firm.record(&cat).user_handle().unwrap();
    let registering =
        party.start_registration(&RegistrationUser::new(&handle, "cat@smith.example", ""), &keys).unwrap();
    assert!(party.finish_authentication(&registering.state, &response, &keys).is_err());
    let error = party.finish_authentication(&registering.state, &response, &keys).unwrap_err();
    let challenge =
        serde_json::from_str::<serde_json::Value>(&registering.options).unwrap()["publicKey"]["challenge"]
            .as_str()
            .unwrap()
            .to_string();
    assert!(!error.to_string().contains(&challenge), "no challenge in error text");
    assert!(
        party.start_registration(&RegistrationUser::new(&handle, " ", "Cat"), &keys).is_err(),
        "a name is needed"
    );
}

#[test]
fn a_stored_key_that_cannot_be_read_is_left_out_and_the_others_still_work() {
    let firm = firm();
    let dan = user("dan");
    let (mut first, mut second) = (Browser::new(), Browser::new());
    firm.register(&dan, "YubiKey", &mut first);
    firm.register(&dan, "Spare", &mut second);
    let record = firm.record(&dan);
    // The first key's stored public key damaged (as a bad migration might).
    let mut value = serde_json::to_value(&record).unwrap();
    let keys = value.pointer_mut("/security_keys").expect("the record's keys");
    keys[0]["public_key"] = json!("{\"v\":1,\"kty\":\"EC2\"}");
    let damaged: UserRecord = serde_json::from_value(value).unwrap();

    let party = party().build().unwrap();
    let started = party.start_authentication(damaged.security_keys()).unwrap();
    let offered: serde_json::Value = serde_json::from_str(&started.options).unwrap();
    assert_eq!(offered["publicKey"]["allowCredentials"].as_array().unwrap().len(), 1);
    let response = second.get(&started.options);
    assert!(party.finish_authentication(&started.state, &response, damaged.security_keys()).unwrap().is_ok());
    // An answer from the damaged key cannot be checked at all.
    let for_first = edit_json(&started.options, |o| {
        o["publicKey"]["allowCredentials"] = json!([{ "type": "public-key",
            "id": URL_SAFE_NO_PAD.encode(damaged.security_keys()[0].credential_id().as_bytes()) }]);
    });
    let response = first.get(&for_first);
    assert!(party.finish_authentication(&started.state, &response, damaged.security_keys()).is_err());
    // With only the damaged key there is nothing to offer.
    assert!(party.start_authentication(&damaged.security_keys()[..1]).is_err());
}
