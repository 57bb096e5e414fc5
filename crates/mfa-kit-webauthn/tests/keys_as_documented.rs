//! The security-key documentation, read as a host developer reads it, checked with the
//! real relying party and software authenticators: each test quotes the sentence it
//! checks (file:line at the time of writing).

mod common;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use mfa_kit::event::{EventKind, MemoryAuditLog};
use mfa_kit::flow::Rules;
use mfa_kit::flow::security_key::{CeremonyError, CounterRule};
use mfa_kit::record::CEREMONY_LIFETIME;
use mfa_kit::relying_party::{MAX_RESPONSE, RelyingParty};
use mfa_kit::service::{MfaService, SecurityKeyOptions, ServiceConfig};
use mfa_kit::store::MemoryStore;
use mfa_kit::{Method, Refusal, RejectionReason, UserId};
use mfa_kit_webauthn::UserVerification;
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

fn challenge_of(options: &str) -> String {
    let options: Value = serde_json::from_str(options).unwrap();
    options["publicKey"]["challenge"].as_str().unwrap().to_string()
}

/// Pads a JSON response with trailing spaces (still the same JSON) to `len` bytes.
fn padded(response: &str, len: usize) -> String {
    assert!(response.len() <= len);
    format!("{response}{}", " ".repeat(len - response.len()))
}

/// `Refusal::NoCeremonyPending`: "... or a request of the other kind replaced it ...
/// An answer to a sign-in request that a second one replaced (another tab) answers the
/// wrong challenge: [`Refusal::KeyRejected`], counted as a replayed code is", and
/// `verify_security_key`: "the later request is spent with it".
#[test]
fn an_answer_to_a_replaced_sign_in_request_is_rejected_and_counted() {
    let ann = user("ann");
    let mut browser = Browser::new();
    let firm = registered(&ann, &mut browser);
    let first = firm.start_proof(&ann);
    let second = firm.start_proof(&ann);
    let refused = verify(&firm, &ann, &browser.get(&first));
    assert!(matches!(refused, Err(Refusal::KeyRejected { .. })), "{refused:?}");
    assert_eq!(firm.record(&ann).failures().consecutive(), 1);
    let spent = verify(&firm, &ann, &browser.get(&second));
    assert_eq!(spent, Err(Refusal::NoCeremonyPending), "the second request was spent");
}

/// mfa-kit-axum's `KeyResponse`: "a response that is not JSON, or not a WebAuthn
/// response, is the service's to refuse ([`Refusal::KeyResponseMalformed`], not counted
/// as a failure)".
#[test]
fn a_response_that_is_not_json_is_refused_as_malformed_and_not_counted() {
    let ann = user("ann");
    let mut browser = Browser::new();
    let firm = registered(&ann, &mut browser);
    firm.start_proof(&ann);
    let refused = verify(&firm, &ann, "this is not JSON");
    assert_eq!(firm.record(&ann).failures().consecutive(), 0);
    assert_eq!(refused, Err(Refusal::KeyResponseMalformed));
}

/// src/flow/security_key.rs:125-127, `CounterRule::Flag`: "Accept the proof, and audit
/// it for review (for fleets whose keys are known to reset their counters); the record
/// keeps the higher counter." R32 (docs/requirements.md:133-135): a counter that goes
/// backwards is "refused (or, by rule, flagged) and audited as a possibly cloned key".
/// Through the service, with a real cloned key.
#[test]
fn under_the_flag_rule_a_cloned_keys_proof_is_accepted_audited_and_the_higher_counter_kept() {
    let clock = mfa_kit::clock::ManualClock::new(START);
    let audit = Arc::new(MemoryAuditLog::new());
    let rules = Rules::default().with_counter(CounterRule::Flag);
    let mfa =
        MfaService::builder("Smith & Co Accounting", MemoryStore::new(), mfa_kit::danger::PlaintextSealer)
            .config(ServiceConfig::new("Smith & Co Accounting").with_rules(rules))
            .clock(clock.clone())
            .audit(audit.clone())
            .hash_key(mfa_kit::keyed_hash::HashKey::generate().unwrap())
            .relying_party(party().build().unwrap())
            .build();
    let firm = Firm { mfa, clock, audit };
    let cat = user("cat");
    let mut original = Browser::token();
    firm.register(&cat, "YubiKey", &mut original);
    firm.clock.advance(3600);
    let mut copy = original.clone_token();
    firm.prove_with_key(&cat, &mut original);
    firm.clock.advance(60);
    firm.prove_with_key(&cat, &mut original);
    assert_eq!(firm.record(&cat).security_keys()[0].counter(), 2);
    let key_id = firm.record(&cat).security_keys()[0].id().to_string();

    firm.clock.advance(60);
    let proven = firm.prove_with_key(&cat, &mut copy);
    assert!(proven.phishing_resistant);
    assert!(firm.events(&cat).iter().any(|e| matches!(
        e,
        EventKind::SecurityKeyCounterRegressed { authenticator, stored: 2, presented: 1, accepted: true }
            if *authenticator == key_id
    )));
    let record = firm.record(&cat);
    assert_eq!(record.security_keys()[0].counter(), 2, "the record keeps the higher counter");
    assert_eq!(record.failures().consecutive(), 0, "accepted, not counted");
    assert_eq!(record.security_keys()[0].last_used_at(), Some(now(&firm)));
}

/// The firm's clock now.
fn now(firm: &Firm) -> u64 {
    use mfa_kit::clock::Clock;
    firm.clock.now().unwrap()
}

/// src/relying_party.rs:20-22, `MAX_RESPONSE`: "The longest browser response the
/// service hands to a relying party: 64 KiB [...]. A longer one is refused as malformed
/// without being parsed." A response of exactly `MAX_RESPONSE` bytes is still handed
/// over and accepted (one byte more is refused: tests/hostile_text.rs and refusals.rs
/// cover that side), for a sign-in and for a registration.
#[test]
fn a_response_of_exactly_max_response_bytes_is_checked_and_accepted() {
    let ann = user("ann");
    let mut browser = Browser::new();
    let firm = registered(&ann, &mut browser);
    let options = firm.start_proof(&ann);
    let answer = padded(&browser.get(&options), MAX_RESPONSE);
    assert_eq!(answer.len(), MAX_RESPONSE);
    assert!(verify(&firm, &ann, &answer).is_ok());

    let options = firm.start_registration(&ann, "Spare");
    let created = padded(&Browser::new().create(&options), MAX_RESPONSE);
    let done = run(firm.mfa.finish_security_key_registration(&ann, &created, &office())).unwrap();
    assert!(done.is_ok(), "{done:?}");
    assert_eq!(firm.record(&ann).security_keys().len(), 2);

    // One byte more: malformed, not counted, and the request is spent.
    let options = firm.start_proof(&ann);
    let answer = browser.get(&options);
    let refused = verify(&firm, &ann, &padded(&answer, MAX_RESPONSE + 1));
    assert_eq!(refused, Err(Refusal::KeyResponseMalformed));
    assert_eq!(verify(&firm, &ann, &answer), Err(Refusal::NoCeremonyPending), "spent whatever the answer");
    assert_eq!(firm.record(&ann).failures().consecutive(), 0);
}

/// src/service/security_key.rs:24-25, `SecurityKeyOptions::expires_at`: "When the
/// ceremony lapses unless the browser answers."; src/record/security_key.rs:15-17,
/// `CEREMONY_LIFETIME`: "How long a registration or an authentication may take [...]:
/// 5 minutes". The options say start + `CEREMONY_LIFETIME`; an answer a second before is
/// accepted, one at that second is refused as expired, audited once
/// (`enrollment_expired` for a registration, src/flow/security_key.rs:249-251), not
/// counted.
#[test]
fn a_ceremony_lapses_at_the_expiry_its_options_give() {
    let ann = user("ann");
    let mut browser = Browser::new();
    let firm = registered(&ann, &mut browser);
    let at = now(&firm);
    let started: SecurityKeyOptions = run(firm.mfa.start_security_key(&ann, &office())).unwrap().unwrap();
    assert_eq!(started.expires_at, at + CEREMONY_LIFETIME);
    firm.clock.set(started.expires_at - 1);
    assert!(verify(&firm, &ann, &browser.get(&started.options)).is_ok());

    let at = now(&firm);
    let started: SecurityKeyOptions = run(firm.mfa.start_security_key(&ann, &office())).unwrap().unwrap();
    assert_eq!(started.expires_at, at + CEREMONY_LIFETIME);
    firm.clock.set(started.expires_at);
    assert_eq!(verify(&firm, &ann, &browser.get(&started.options)), Err(Refusal::CeremonyExpired));
    assert_eq!(firm.record(&ann).failures().consecutive(), 0);

    // A registration: a fresh proof first (Ann has MFA).
    firm.clock.advance(60);
    firm.prove_with_key(&ann, &mut browser);
    let at = now(&firm);
    let started =
        run(firm.mfa.start_security_key_registration(&ann, "Spare", "ann@smith.example", "Ann", &office()))
            .unwrap()
            .unwrap();
    assert_eq!(started.expires_at, at + CEREMONY_LIFETIME);
    firm.clock.set(started.expires_at);
    let created = Browser::new().create(&started.options);
    let late = run(firm.mfa.finish_security_key_registration(&ann, &created, &office())).unwrap();
    assert_eq!(late, Err(Refusal::CeremonyExpired));
    let again = run(firm.mfa.finish_security_key_registration(&ann, &created, &office())).unwrap();
    assert_eq!(again, Err(Refusal::NoCeremonyPending));
    let expired = firm.events(&ann).iter().filter(|e| matches!(e, EventKind::EnrollmentExpired)).count();
    assert_eq!(expired, 1, "audited once");
    assert_eq!(firm.record(&ann).security_keys().len(), 1);
    assert_eq!(firm.record(&ann).failures().consecutive(), 0);
}

/// src/flow/security_key.rs:155-162 and 362-366: a start "Replaces any ceremony in
/// progress" (only a start that opens one: a refused start leaves the one in progress,
/// and is "audited as `enrollment_refused`", :161-162); src/flow/security_key.rs:155:
/// the key is "to be called `name`", the name its start was given.
#[test]
fn one_ceremony_at_a_time_the_latest_start_wins_and_a_refused_start_changes_nothing() {
    let ann = user("ann");
    let mut browser = Browser::new();
    let firm = registered(&ann, &mut browser);
    firm.prove_with_key(&ann, &mut browser);

    // A sign-in request, then a registration refused for its name: the sign-in stays.
    let options = firm.start_proof(&ann);
    let refused =
        run(firm.mfa.start_security_key_registration(&ann, " ", "ann@smith.example", "Ann", &office()))
            .unwrap();
    assert_eq!(refused, Err(Refusal::InvalidName));
    assert!(
        firm.events(&ann)
            .iter()
            .any(|e| matches!(e, EventKind::EnrollmentRefused { refusal } if refusal == "invalid_name"))
    );
    assert!(verify(&firm, &ann, &browser.get(&options)).is_ok());

    // A registration replaced by a sign-in request: its answer finds nothing waiting.
    let registration = firm.start_registration(&ann, "Spare");
    let sign_in = firm.start_proof(&ann);
    let created = Browser::new().create(&registration);
    let orphan = run(firm.mfa.finish_security_key_registration(&ann, &created, &office())).unwrap();
    assert_eq!(orphan, Err(Refusal::NoCeremonyPending));
    assert!(verify(&firm, &ann, &browser.get(&sign_in)).is_ok(), "the sign-in request is still open");

    // Two registrations: the second's name and challenge are the ones kept.
    let first = firm.start_registration(&ann, "First");
    let second = firm.start_registration(&ann, "Second");
    assert_ne!(challenge_of(&first), challenge_of(&second));
    let mut spare = Browser::new();
    let created = spare.create(&second);
    assert!(run(firm.mfa.finish_security_key_registration(&ann, &created, &office())).unwrap().is_ok());
    let names: Vec<String> = firm.record(&ann).security_keys().iter().map(|k| k.name().to_string()).collect();
    assert_eq!(names, ["YubiKey", "Second"]);
}

/// src/relying_party.rs:130-136, `finish_authentication_for`: "a response that names
/// its user (`userHandle`, which passkeys send) must name this one [...]. One that names
/// another user, or any user where `handle` is `None`, is refused as
/// [`CeremonyError::UnknownCredential`] [...]. An empty handle names nobody." On the
/// relying party itself (the service always has a handle for a user with a key).
#[test]
fn a_named_response_for_a_user_without_a_handle_is_an_unknown_credential() {
    let ann = user("ann");
    let mut browser = Browser::new();
    let firm = registered(&ann, &mut browser);
    let record = firm.record(&ann);
    let keys = record.security_keys();
    let handle = *record.user_handle().unwrap();
    let party = party().build().unwrap();
    let naming = |handle: Value, browser: &mut Browser| {
        let made = party.start_authentication(keys).unwrap();
        let response = browser.get(&made.options);
        (made.state, edit_json(&response, |r| r["response"]["userHandle"] = handle))
    };

    let (state, named) = naming(json!(URL_SAFE_NO_PAD.encode(handle.as_bytes())), &mut browser);
    let answer = party.finish_authentication_for(None, &state, &named, keys).unwrap();
    assert_eq!(
        answer.map(drop),
        Err(CeremonyError::UnknownCredential),
        "handle None: any named user is another"
    );

    let (state, empty) = naming(json!(""), &mut browser);
    assert!(
        party.finish_authentication_for(None, &state, &empty, keys).unwrap().is_ok(),
        "empty names nobody"
    );

    let (state, named) = naming(json!(URL_SAFE_NO_PAD.encode(handle.as_bytes())), &mut browser);
    assert!(party.finish_authentication_for(Some(&handle), &state, &named, keys).unwrap().is_ok());
}

/// crates/mfa-kit-webauthn/src/lib.rs:105-107: "A state that cannot be read is a
/// [`RelyingPartyError`]. No error text holds a challenge or key material."
/// src/relying_party.rs:71, `RelyingPartyError`: "Holds no challenge or key
/// material." And `CeremonyOptions`' Debug leaves the state out.
#[test]
fn no_relying_party_error_or_debug_text_holds_the_challenge_or_the_key() {
    let ann = user("ann");
    let mut browser = Browser::new();
    let firm = registered(&ann, &mut browser);
    let record = firm.record(&ann);
    let keys = record.security_keys();
    let party = party().build().unwrap();
    let made = party.start_authentication(keys).unwrap();
    let challenge = challenge_of(&made.options);
    let state: Value = serde_json::from_str(&made.state).unwrap();
    assert!(format!("{made:?}").find(&made.state).is_none(), "Debug leaves the state out");

    let mut unknown_version = state.clone();
    unknown_version["v"] = json!(2);
    let mut broken = made.state.clone();
    broken.truncate(made.state.len() / 2);
    let mut wrong_shape = state.clone();
    wrong_shape["authentication"]["challenge"] = json!([challenge.clone()]);
    let response = browser.get(&made.options);
    let x = serde_json::from_str::<Value>(keys[0].public_key()).unwrap()["x"].as_str().unwrap().to_string();
    for bad in [unknown_version.to_string(), broken, wrong_shape.to_string()] {
        let error = party.finish_authentication(&bad, &response, keys).unwrap_err();
        let (text, debug) = (error.to_string(), format!("{error:?}"));
        for secret in [challenge.as_str(), x.as_str()] {
            assert!(!text.contains(secret) && !debug.contains(secret), "{text} / {debug}");
        }
        let error = party.finish_registration(&bad, &response).unwrap_err();
        assert!(!error.to_string().contains(&challenge) && !format!("{error:?}").contains(&challenge));
    }
}

/// crates/mfa-kit-webauthn/src/lib.rs:47-48: "No attestation is asked for [...] its
/// certificate chain is not kept"; lib.rs:79: `transports` is "left out when there are
/// none"; R32 (docs/requirements.md:129-130): "the record keeps public-key material and
/// counters only". A soft token's registration carries an attestation certificate chain
/// (x5c); the stored key has only the documented members.
#[test]
fn the_record_keeps_the_documented_key_members_and_no_certificate_chain() {
    let firm = firm();
    let ben = user("ben");
    let mut token = Browser::token();
    let options = firm.start_registration(&ben, "Token");
    let created = edit_json(&token.create(&options), |r| {
        r["response"].as_object_mut().unwrap().remove("transports");
    });
    let done = run(firm.mfa.finish_security_key_registration(&ben, &created, &office())).unwrap();
    assert!(done.is_ok(), "{done:?}");
    let record = firm.record(&ben);
    let stored: Value = serde_json::from_str(record.security_keys()[0].public_key()).unwrap();
    let members: Vec<&str> = stored.as_object().unwrap().keys().map(String::as_str).collect();
    for member in &members {
        assert!(["v", "alg", "kty", "crv", "x", "y", "n", "e", "uv", "fmt"].contains(member), "{member}");
    }
    assert!(!members.contains(&"transports"), "left out when there are none");
    assert!(record.ceremony().is_none(), "no challenge kept after the finish");
    let debug = format!("{record:?}");
    assert!(!debug.contains("x5c") && !debug.contains("attStmt"), "{debug}");
    firm.clock.advance(3600);
    firm.prove_with_key(&ben, &mut token);
}

/// crates/mfa-kit-webauthn/src/lib.rs:142-144, `UserVerification::Discouraged`: "Not
/// asked for: the touch (user presence) is enough. A key registered with user
/// verification under [`UserVerification::Preferred`] keeps needing it." The site moves
/// from the default to `Discouraged`: Fay's key, registered with verification, is still
/// refused without it; Gus's key, registered without, signs in on a touch.
#[test]
fn a_key_registered_with_verification_keeps_needing_it_when_the_site_discourages_it() {
    let store = Arc::new(MemoryStore::new());
    let clock = mfa_kit::clock::ManualClock::new(START);
    let before = firm_on(store.clone(), party(), clock.clone());
    let (fay, gus) = (user("fay"), user("gus"));
    let mut fays = Browser::new();
    let options = before.start_registration(&fay, "YubiKey");
    let strict = edit_json(&options, |o| {
        o["publicKey"]["authenticatorSelection"]["userVerification"] = json!("required")
    });
    let created = fays.create(&strict);
    assert!(run(before.mfa.finish_security_key_registration(&fay, &created, &office())).unwrap().is_ok());
    assert!(before.record(&fay).security_keys()[0].user_verified());
    let mut guss = Browser::new();
    before.register(&gus, "YubiKey", &mut guss);
    assert!(!before.record(&gus).security_keys()[0].user_verified());

    let after = firm_on(store, party().user_verification(UserVerification::Discouraged), clock);
    after.clock.advance(3600);
    let options = after.start_proof(&fay);
    let refused = run(after.mfa.verify_security_key(&fay, &fays.get(&options), &office())).unwrap();
    assert!(matches!(refused, Err(Refusal::KeyRejected { .. })), "{refused:?}");
    assert!(after.events(&fay).iter().any(|e| matches!(
        e,
        EventKind::CodeRejected { method: Method::SecurityKey, reason: RejectionReason::UserNotVerified, .. }
    )));
    after.prove_with_key(&gus, &mut guss);
}

/// src/service/security_key.rs:92-93, `start_security_key`: "a user without a key gets
/// [`crate::Refusal::NotEnrolled`]"; src/flow/security_key.rs:445-446: a finish
/// "without one [a pending ceremony] (or after it expired) the attempt is refused and
/// audited, not counted".
#[test]
fn no_key_no_request_and_no_pending_request_are_refused_without_counting() {
    let firm = firm();
    let joe = user("joe");
    let phone = firm.enroll_app(&joe);
    let refused = run(firm.mfa.start_security_key(&joe, &office())).unwrap();
    assert_eq!(refused, Err(Refusal::NotEnrolled));

    let ann = user("ann");
    let mut browser = Browser::new();
    firm.register(&ann, "YubiKey", &mut browser);
    firm.clock.advance(3600);
    let answer = browser.get(&firm.start_proof(&ann));
    assert!(verify(&firm, &ann, &answer).is_ok());
    assert_eq!(verify(&firm, &ann, &answer), Err(Refusal::NoCeremonyPending));
    assert_eq!(firm.record(&ann).failures().consecutive(), 0);
    assert!(firm.events(&ann).iter().any(|e| matches!(
        e,
        EventKind::CodeRejected { method: Method::SecurityKey, reason: RejectionReason::NoCodePending, .. }
    )));
    drop(phone);
}

/// crates/mfa-kit-webauthn/src/lib.rs:38-40: "As in webauthn-rs, a key registered with
/// user verification under `preferred`, or registered under `required`, must verify the
/// user at every later authentication." The site moves from `Required` to the default:
/// Hal's key, registered under `required`, is still refused when it skips verification,
/// and proves the second factor when it verifies.
#[test]
fn a_key_registered_under_required_keeps_needing_verification_under_preferred() {
    let store = Arc::new(MemoryStore::new());
    let clock = mfa_kit::clock::ManualClock::new(START);
    let before = firm_on(store.clone(), party().user_verification(UserVerification::Required), clock.clone());
    let hal = user("hal");
    let mut browser = Browser::new();
    before.register(&hal, "YubiKey", &mut browser);
    let stored: Value = serde_json::from_str(before.record(&hal).security_keys()[0].public_key()).unwrap();
    assert_eq!(stored["uv"], "required");

    let after = firm_on(store, party(), clock);
    after.clock.advance(3600);
    let options = after.start_proof(&hal);
    let lax = edit_json(&options, |o| o["publicKey"]["userVerification"] = json!("discouraged"));
    let refused = run(after.mfa.verify_security_key(&hal, &browser.get(&lax), &office())).unwrap();
    assert!(matches!(refused, Err(Refusal::KeyRejected { .. })), "{refused:?}");
    let options = after.start_proof(&hal);
    let strict = edit_json(&options, |o| o["publicKey"]["userVerification"] = json!("required"));
    assert!(run(after.mfa.verify_security_key(&hal, &browser.get(&strict), &office())).unwrap().is_ok());
}

/// crates/mfa-kit-webauthn/src/lib.rs:36-37: "[`UserVerification::Required`] refuses
/// keys that cannot verify the user ([`CeremonyError::UserNotVerified`])"; the
/// README's "missing user presence or user verification `UserNotVerified`"
/// (crates/mfa-kit-webauthn/README.md:39-40). At registration, on the relying party
/// itself (the service turns it into `KeyNotRegistered`, which tests/sign_in.rs checks).
#[test]
fn a_registration_without_the_required_verification_is_user_not_verified() {
    use mfa_kit::record::UserHandle;
    use mfa_kit::relying_party::RegistrationUser;
    let firm = firm_with(party().user_verification(UserVerification::Required));
    let ivy = user("ivy");
    // A handle, as the record makes one.
    firm.start_registration(&ivy, "First");
    let handle: UserHandle = *firm.record(&ivy).user_handle().unwrap();
    let party = party().user_verification(UserVerification::Required).build().unwrap();
    let made =
        party.start_registration(&RegistrationUser::new(&handle, "ivy@smith.example", "Ivy"), &[]).unwrap();
    let lax = edit_json(&made.options, |o| {
        o["publicKey"]["authenticatorSelection"]["userVerification"] = json!("discouraged")
    });
    let created = Browser::new().create(&lax);
    let answer = party.finish_registration(&made.state, &created).unwrap();
    assert_eq!(answer.map(drop), Err(CeremonyError::UserNotVerified));
}
