//! Security keys and passkeys in the core (`flow::security_key`,
//! `record::security_key`, `relying_party`). Each test quotes the promise it checks.

use mfa_kit::event::EventKind;
use mfa_kit::flow::security_key::{self, NewKey};
use mfa_kit::flow::{self};
use mfa_kit::policy::{SignInContext, StandardPolicy};
use mfa_kit::record::{CEREMONY_LIFETIME, CredentialId, MAX_AUTHENTICATORS, MAX_CREDENTIAL_ID, UserRecord};
use mfa_kit::{Refusal, UserId};

#[path = "support/flow_world.rs"]
mod flow_world;

use flow_world::{T0, World, add_app, new_key};

/// Starts a registration named `name` at `now`.
fn start(record: &mut UserRecord, world: &World, name: &str, now: u64) -> mfa_kit::Outcome<()> {
    let handle = security_key::user_handle(record).unwrap();
    security_key::start_registration(record, name, handle, "state".into(), &world.env(now)).outcome.map(drop)
}

/// A new key whose credential id is `bytes`.
fn key_with_id(bytes: Vec<u8>) -> NewKey {
    NewKey { credential_id: CredentialId::new(bytes), ..new_key(1) }
}

/// Whether the record, written as JSON (as `mfa-kit-sqlx` stores it), reads back.
fn reads_back(record: &UserRecord) -> Result<(), String> {
    let written = serde_json::to_string(record).map_err(|e| e.to_string())?;
    serde_json::from_str::<UserRecord>(&written).map(drop).map_err(|e| e.to_string())
}

/// `record::MAX_CREDENTIAL_ID`: "The longest credential id WebAuthn allows, in bytes";
/// the record's reader refuses a longer one ("a credential id is 1 to 1023 bytes").
/// `flow::security_key::NewKey` is built by "stores and relying parties outside this
/// crate ... hosts' own", and `finish_registration` checks `MAX_PUBLIC_KEY` and
/// `MAX_CREDENTIAL_ID` of it: a 1024-byte credential id is not registered, so the
/// record still reads back.
#[test]
fn a_credential_id_longer_than_max_credential_id_is_not_registered() {
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let mut record = UserRecord::new(UserId::new("long"));
    start(&mut record, &world, "YubiKey", T0).unwrap();
    let done = security_key::finish_registration(
        &mut record,
        Ok(key_with_id(vec![7; MAX_CREDENTIAL_ID + 1])),
        &world.env(T0 + 5),
    )
    .unwrap();
    let read = reads_back(&record);
    assert!(
        done.outcome.is_err() && record.security_keys().is_empty(),
        "a {}-byte credential id was registered: {:?}; the record then reads back: {read:?}",
        MAX_CREDENTIAL_ID + 1,
        done.outcome,
    );
    assert_eq!(read, Ok(()));
}

/// As above, for an empty credential id (the reader's "1 to 1023 bytes"): not
/// registered, and the record still reads back.
#[test]
fn an_empty_credential_id_is_not_registered() {
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let mut record = UserRecord::new(UserId::new("empty"));
    start(&mut record, &world, "YubiKey", T0).unwrap();
    let done =
        security_key::finish_registration(&mut record, Ok(key_with_id(Vec::new())), &world.env(T0 + 5))
            .unwrap();
    let read = reads_back(&record);
    assert!(
        done.outcome.is_err() && record.security_keys().is_empty(),
        "an empty credential id was registered: {:?}; the record then reads back: {read:?}",
        done.outcome,
    );
    assert_eq!(read, Ok(()));
}

/// The longest credential id WebAuthn allows is registered and the
/// record reads back with it.
#[test]
fn a_credential_id_of_max_credential_id_bytes_is_registered_and_reads_back() {
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let mut record = UserRecord::new(UserId::new("longest"));
    start(&mut record, &world, "YubiKey", T0).unwrap();
    let done = security_key::finish_registration(
        &mut record,
        Ok(key_with_id(vec![7; MAX_CREDENTIAL_ID])),
        &world.env(T0 + 5),
    )
    .unwrap();
    assert!(done.outcome.is_ok(), "{:?}", done.outcome);
    assert_eq!(reads_back(&record), Ok(()));
}

/// `flow::security_key`: a ceremony's state is "kept in the record with
/// its expiry" and "finishing it clears it"; registering a key is "within
/// `MAX_AUTHENTICATORS`" at the start and at the finish. A registration answered after
/// `CEREMONY_LIFETIME` is refused and cleared, adds nothing and counts nothing; one
/// answered twice adds one key; one whose start found a free place but whose finish
/// finds none (apps added meanwhile) adds nothing.
#[test]
fn a_registration_lapses_answers_once_and_is_held_to_the_limit_at_the_finish() {
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let mut record = UserRecord::new(UserId::new("reg"));

    start(&mut record, &world, "Late", T0).unwrap();
    let late =
        security_key::finish_registration(&mut record, Ok(new_key(1)), &world.env(T0 + CEREMONY_LIFETIME))
            .unwrap();
    assert_eq!(late.outcome, Err(Refusal::CeremonyExpired));
    assert!(record.ceremony().is_none() && record.security_keys().is_empty());
    assert_eq!(record.failures().consecutive(), 0);

    let now = T0 + 1000;
    start(&mut record, &world, "First", now).unwrap();
    let first = security_key::finish_registration(&mut record, Ok(new_key(1)), &world.env(now + 1)).unwrap();
    assert!(first.outcome.is_ok());
    assert!(
        first
            .events
            .iter()
            .any(|e| matches!(e, EventKind::SecurityKeyRegistered { name, .. } if name == "First"))
    );
    let again = security_key::finish_registration(&mut record, Ok(new_key(2)), &world.env(now + 2)).unwrap();
    assert_eq!(again.outcome, Err(Refusal::NoCeremonyPending));
    assert_eq!(record.security_keys().len(), 1);

    // One place left; a key registration starts, then apps take the place.
    let mut at = now + 100;
    for i in 0..MAX_AUTHENTICATORS - 2 {
        add_app(&mut record, &world, &format!("app {i}"), at).unwrap();
        at += 60;
    }
    assert_eq!(record.authenticator_count(), MAX_AUTHENTICATORS - 1);
    start(&mut record, &world, "Spare", at).unwrap();
    add_app(&mut record, &world, "last app", at + 30).unwrap();
    let over = security_key::finish_registration(&mut record, Ok(new_key(3)), &world.env(at + 40)).unwrap();
    assert_eq!(over.outcome, Err(Refusal::TooManyAuthenticators));
    assert_eq!(record.authenticator_count(), MAX_AUTHENTICATORS);
}

/// `OrgSettings::phishing_resistant_for`: once a user of a listed type
/// has a key, "app, SMS and e-mail codes are refused for them at sign-in and step-up";
/// registering another key needs a fresh proof (`flow::security_key`: "a fresh proof
/// from a user who has MFA, at the start and at the finish"). A fresh app proof (the
/// codes that confirmed an app added with the key's proof) does not let such a user
/// add a key once the key's own proof has aged out; the same record under a policy that
/// does not require keys may.
#[test]
fn a_code_proof_does_not_add_a_key_for_a_user_who_must_prove_with_one() {
    let settings =
        mfa_kit::policy::OrgSettings::builder().phishing_resistant_for(vec!["admin".into()]).build().unwrap();
    let context = SignInContext::default().with_user_type("admin").with_org(std::sync::Arc::new(settings));
    let world = World::new(StandardPolicy::new(), context);
    let plain = World::new(StandardPolicy::new(), SignInContext::default());
    let mut record = UserRecord::new(UserId::new("root"));
    // The first factor is a key (no proof needed); its registration is a proof at T0 + 5.
    start(&mut record, &world, "YubiKey", T0).unwrap();
    security_key::finish_registration(&mut record, Ok(new_key(1)), &world.env(T0 + 5))
        .unwrap()
        .outcome
        .unwrap();
    // An app added with that proof; its codes are a TOTP proof at T0 + 60.
    add_app(&mut record, &world, "phone", T0 + 60).unwrap();
    let window = mfa_kit::policy::DEFAULT_FRESH_PROOF_WINDOW;
    let now = T0 + 5 + window + 10;
    assert!(now < T0 + 60 + window, "the app's proof is still fresh");
    let mut elsewhere = record.clone();
    assert_eq!(
        start(&mut elsewhere, &plain, "Spare", now),
        Ok(()),
        "without the rule, the app's proof is enough"
    );
    assert_eq!(start(&mut record, &world, "Spare", now), Err(Refusal::FreshProofRequired));
}

/// record/mod.rs "# Time": "Every lifetime is stored with its start and its end ...";
/// "A window whose start is more than `CLOCK_SKEW` after a reading the record is shown
/// ... was written by a clock that ran ahead ... and it is voided, not merely refused
/// ... So a window written ahead never becomes valid when real time reaches its start,
/// once any reading before that has been shown to the record." A security-key
/// ceremony is such a window (`started_at`, `expires_at`, `CEREMONY_LIFETIME`): an
/// authentication started under a clock a day ahead is voided by a transition with the
/// right reading, and when real time reaches it the answer proves nothing.
#[test]
fn an_authentication_started_by_a_clock_that_ran_ahead_does_not_become_valid_when_real_time_reaches_it() {
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let mut record = UserRecord::new(UserId::new("ahead"));
    start(&mut record, &world, "YubiKey", T0).unwrap();
    security_key::finish_registration(&mut record, Ok(new_key(1)), &world.env(T0 + 5))
        .unwrap()
        .outcome
        .unwrap();

    // One request's clock is a day ahead: an authentication is started then.
    let ahead = T0 + 86_400;
    security_key::start_authentication(&mut record, "state".into(), &world.env(ahead)).outcome.unwrap();

    // The clock is right again; a transition with the right reading settles the record.
    let right = T0 + 600;
    let needs = flow::clock::needs_settling(&record, &world.env(right));
    let settled = flow::clock::settle(&mut record, &world.env(right));
    let kept = record.ceremony().is_some();

    // Real time reaches the ceremony's start: its answer must not prove anything.
    let late =
        security_key::finish_authentication(&mut record, Ok(flow_world::signed(1, 9)), &world.env(ahead + 1));
    assert!(
        late.outcome.is_err(),
        "a ceremony written a day ahead, kept by the settle at the right reading (needs_settling: {needs}, \
         settle changed the record: {}, ceremony kept: {kept}), proved the factor when real time reached it: {:?}",
        settled.changed,
        late.outcome,
    );
}

/// As above, for a registration: one started under a clock a day ahead, by a user
/// without MFA, is voided by the right reading, and registers no key when real time
/// reaches it.
#[test]
fn a_registration_started_by_a_clock_that_ran_ahead_does_not_become_valid_when_real_time_reaches_it() {
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let mut record = UserRecord::new(UserId::new("ahead"));
    let ahead = T0 + 86_400;
    start(&mut record, &world, "YubiKey", ahead).unwrap();
    let right = T0 + 600;
    let _ = flow::clock::settle(&mut record, &world.env(right));
    let kept = record.ceremony().is_some();
    let late = security_key::finish_registration(&mut record, Ok(new_key(1)), &world.env(ahead + 5)).unwrap();
    assert!(
        late.outcome.is_err() && record.security_keys().is_empty(),
        "a registration written a day ahead (ceremony kept after the right reading: {kept}) registered a key when \
         real time reached it: {:?}",
        late.outcome,
    );
}
