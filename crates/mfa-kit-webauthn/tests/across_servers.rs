//! Security keys and passkeys across app servers and sessions (R32, R33 and the rules
//! they touch: R15, R20, R24, R25, R26, R31): an answer accepted once whichever server
//! gets it, a lost reply, a ceremony finished on another server, turning MFA off on the
//! session's own key proof, refused registrations audited, hostile registrations, the
//! hard limit, two last factors removed at once.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use mfa_kit::clock::ManualClock;
use mfa_kit::event::AuditEvent;
use mfa_kit::flow::Proven;
use mfa_kit::flow::step_up::StepUp;
use mfa_kit::record::UserRecord;
use mfa_kit::store::{MemoryStore, SaveOutcome, Store, Version, Versioned};
use mfa_kit::{Refusal, SensitiveAction, UserId};
use serde_cbor_2::Value as Cbor;
use serde_json::json;

// ---------------------------------------------------------------------------------
// A store shared by two app servers, with a hook run when a save is asked for (to let
// the other server act in between) and a reply that can be lost after the commit.
// ---------------------------------------------------------------------------------

#[derive(Debug)]
struct LostReply;

impl std::fmt::Display for LostReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the store committed but its reply was lost")
    }
}

impl std::error::Error for LostReply {}

type Hook = Box<dyn FnOnce() + Send>;

struct Hooked {
    inner: Arc<MemoryStore>,
    before_save: Mutex<Option<Hook>>,
    lose_next_reply: AtomicBool,
}

impl Hooked {
    fn new(inner: Arc<MemoryStore>) -> Hooked {
        Hooked { inner, before_save: Mutex::new(None), lose_next_reply: AtomicBool::new(false) }
    }
}

impl Store for Hooked {
    type Error = LostReply;

    fn load(
        &self,
        user: &UserId,
    ) -> impl std::future::Future<Output = Result<Option<Versioned>, Self::Error>> + Send {
        let fut = self.inner.load(user);
        async move { Ok(fut.await.unwrap_or_else(|never| match never {})) }
    }

    fn save(
        &self,
        record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> impl std::future::Future<Output = Result<SaveOutcome, Self::Error>> + Send {
        let hook = self.before_save.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        let lose = self.lose_next_reply.swap(false, Ordering::SeqCst);
        let fut = self.inner.save(record, expected, events);
        async move {
            let outcome = fut.await.unwrap_or_else(|never| match never {});
            if lose { Err(LostReply) } else { Ok(outcome) }
        }
    }

    fn append_events(
        &self,
        events: Vec<AuditEvent>,
    ) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send {
        let fut = self.inner.append_events(events);
        async move {
            fut.await.unwrap_or_else(|never| match never {});
            Ok(())
        }
    }
}

/// The hook, the first server (through it) and the second.
type TwoServers = (Arc<Hooked>, Firm<Arc<Hooked>>, Arc<Firm<Arc<MemoryStore>>>);

/// Two app servers on one store and one clock: the first through `Hooked`.
fn two_servers() -> TwoServers {
    let shared = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(START);
    let hooked = Arc::new(Hooked::new(shared.clone()));
    let one = firm_on(hooked.clone(), party(), clock.clone());
    let two = Arc::new(firm_on(shared, party(), clock));
    (hooked, one, two)
}

// ---------------------------------------------------------------------------------
// R32: "one signed assertion is accepted at most once", across app servers.
// ---------------------------------------------------------------------------------

/// R32 (docs/requirements.md): "a ceremony started on one app server finishes on
/// any other and one signed assertion is accepted at most once". The same assertion is
/// handed to two servers at the same moment: the second server commits while the first
/// is saving.
#[test]
fn an_assertion_is_accepted_at_most_once_across_servers() {
    let (hooked, one, two) = two_servers();
    let ann = user("ann");
    let mut browser = Browser::new();
    two.register(&ann, "YubiKey", &mut browser);
    one.clock.advance(3600);

    // Started on server one, answered to both.
    let options = one.start_proof(&ann);
    let response = browser.get(&options);
    let seen_by_two: Arc<Mutex<Option<Result<Proven, Refusal>>>> = Arc::default();
    {
        let (two, response, seen) = (two.clone(), response.clone(), seen_by_two.clone());
        let ann = ann.clone();
        *hooked.before_save.lock().unwrap() = Some(Box::new(move || {
            let outcome = run(two.mfa.verify_security_key(&ann, &response, &office())).unwrap();
            *seen.lock().unwrap() = Some(outcome);
        }));
    }
    let by_one = run(one.mfa.verify_security_key(&ann, &response, &office())).unwrap();
    let by_two = seen_by_two.lock().unwrap().take().expect("server two answered in between");
    let accepted = [by_one.is_ok(), by_two.is_ok()].iter().filter(|ok| **ok).count();
    assert_eq!(accepted, 1, "accepted {accepted} times: server one {by_one:?}, server two {by_two:?}");
    assert_eq!(one.record(&ann).failures().consecutive(), 0, "a spent challenge is not a guess");
}

/// DESIGN.md: "Fail closed: if the store ... fails, nobody is let in and nothing is
/// lost"; R32: an assertion is accepted at most once. The save that accepts an assertion
/// commits but its reply is lost: the host hears an error, and the same assertion handed
/// in again is not accepted a second time; the record holds the one proof.
#[test]
fn an_assertion_whose_accepting_save_lost_its_reply_is_not_accepted_again() {
    let (hooked, one, _two) = two_servers();
    let ann = user("ann");
    let mut browser = Browser::new();
    one.register(&ann, "YubiKey", &mut browser);
    one.clock.advance(3600);
    let options = one.start_proof(&ann);
    let response = browser.get(&options);
    hooked.lose_next_reply.store(true, Ordering::SeqCst);
    let lost = run(one.mfa.verify_security_key(&ann, &response, &office()));
    assert!(lost.is_err(), "the host must hear the store failed, not a proof: {lost:?}");
    let again = run(one.mfa.verify_security_key(&ann, &response, &office())).unwrap();
    assert_eq!(again, Err(Refusal::NoCeremonyPending));
    let record = one.record(&ann);
    assert!(record.ceremony().is_none());
    assert_eq!(record.security_keys()[0].last_used_at(), Some(START + 3600));
    assert_eq!(record.failures().consecutive(), 0);
}

/// R32: a registration started on one app server finishes on the other, once.
#[test]
fn a_registration_started_on_one_server_finishes_on_the_other_once() {
    let (_hooked, one, two) = two_servers();
    let ann = user("ann");
    let options = one.start_registration(&ann, "YubiKey");
    let created = Browser::new().create(&options);
    let done = run(two.mfa.finish_security_key_registration(&ann, &created, &office())).unwrap();
    assert!(done.is_ok(), "{done:?}");
    let again = run(one.mfa.finish_security_key_registration(&ann, &created, &office())).unwrap();
    assert_eq!(again, Err(Refusal::NoCeremonyPending));
    assert_eq!(one.record(&ann).security_keys().len(), 1);
}

// ---------------------------------------------------------------------------------
// R20 / R25 / R31: turning MFA off with a key, judged on this session's own proof.
// ---------------------------------------------------------------------------------

/// `flow::authenticator::deactivate` (src/flow/authenticator.rs): "for a user
/// whose only factors are security keys, no code: a security-key proof made within the
/// step-up window (super::step_up) by this session". R31: "step-up judges the session's
/// own proof". Session A proves with the key; session B (another browser) proves with
/// the same key a little later; session A, still within the window on its own proof
/// (step-up says Proceed for it), turns MFA off.
#[test]
fn a_key_only_user_turns_mfa_off_on_this_sessions_fresh_key_proof_after_another_session_used_the_key() {
    let firm = firm();
    let ann = user("ann");
    let mut browser = Browser::new();
    firm.register(&ann, "YubiKey", &mut browser);
    firm.clock.advance(3600);

    let in_a = firm.prove_with_key(&ann, &mut browser);
    let session_a = firm.session_proved_at(&ann, in_a.at);
    firm.clock.advance(30);
    // Another browser of Ann's signs in with the same key.
    let in_b = firm.prove_with_key(&ann, &mut browser);
    assert!(in_b.at > in_a.at);
    firm.clock.advance(30);

    // Step-up credits session A's own proof (R25, R31)...
    let step = run(firm.mfa.step_up(&ann, SensitiveAction::RemoveAuthenticator, &session_a)).unwrap();
    assert!(matches!(step, StepUp::Proceed { .. }), "{step:?}");
    // ... and so should turning MFA off with the key.
    let off = run(firm.mfa.deactivate(&ann, "", true, &session_a)).unwrap();
    assert_eq!(
        off,
        Ok(()),
        "session A proved with the key {}s ago, within the window, yet turning MFA off was refused",
        60
    );
    assert!(firm.record(&ann).security_keys().is_empty());
}

// ---------------------------------------------------------------------------------
// Hostile registrations.
// ---------------------------------------------------------------------------------

fn attestation(created: &str) -> std::collections::BTreeMap<Cbor, Cbor> {
    let value: serde_json::Value = serde_json::from_str(created).unwrap();
    let bytes = URL_SAFE_NO_PAD.decode(value["response"]["attestationObject"].as_str().unwrap()).unwrap();
    match serde_cbor_2::from_slice::<Cbor>(&bytes).unwrap() {
        Cbor::Map(map) => map,
        other => panic!("not a map: {other:?}"),
    }
}

fn with_attestation(created: &str, map: std::collections::BTreeMap<Cbor, Cbor>) -> String {
    let bytes = serde_cbor_2::to_vec(&Cbor::Map(map)).unwrap();
    edit_json(created, |r| r["response"]["attestationObject"] = json!(URL_SAFE_NO_PAD.encode(bytes)))
}

fn text(s: &str) -> Cbor {
    Cbor::Text(s.to_string())
}

fn cbor_map(entries: Vec<(Cbor, Cbor)>) -> Cbor {
    Cbor::Map(entries.into_iter().collect())
}

/// The authenticator data of a registration with its public key replaced by `key`.
fn auth_data_with_key(auth_data: &[u8], key: &Cbor) -> Vec<u8> {
    let id_len = usize::from(u16::from_be_bytes([auth_data[53], auth_data[54]]));
    let mut out = auth_data[..55 + id_len].to_vec();
    out.extend(serde_cbor_2::to_vec(key).unwrap());
    out
}

/// crates/mfa-kit-webauthn/README.md: "No input panics". Registrations whose
/// attestation statement or public key a hostile browser wrote: none panics, none
/// registers an unusable key.
#[test]
fn no_hostile_registration_panics_or_registers_a_key() {
    let firm = firm();
    let junk_cert = Cbor::Bytes(vec![0x30, 0x82, 0xff, 0xff, 0x01]);
    let statements = [
        cbor_map(vec![]),
        cbor_map(vec![(text("alg"), Cbor::Integer(-7)), (text("sig"), Cbor::Bytes(vec![]))]),
        cbor_map(vec![
            (text("alg"), Cbor::Integer(-7)),
            (text("sig"), Cbor::Bytes(vec![0xff; 8])),
            (text("x5c"), Cbor::Array(vec![junk_cert.clone()])),
        ]),
        cbor_map(vec![
            (text("ver"), text("2.0")),
            (text("alg"), Cbor::Integer(-257)),
            (text("sig"), Cbor::Bytes(vec![0xff; 8])),
            (text("x5c"), Cbor::Array(vec![junk_cert.clone()])),
            (text("certInfo"), Cbor::Bytes(vec![0xff; 12])),
            (text("pubArea"), Cbor::Bytes(vec![0x00, 0x01, 0xff, 0xff, 0xff, 0xff])),
        ]),
        cbor_map(vec![
            (text("ver"), text("2.0")),
            (text("alg"), Cbor::Integer(-7)),
            (text("sig"), Cbor::Bytes(vec![])),
            (text("x5c"), Cbor::Array(vec![])),
            (text("certInfo"), Cbor::Bytes(vec![])),
            (text("pubArea"), Cbor::Bytes(vec![])),
        ]),
        cbor_map(vec![(text("ver"), text("1")), (text("response"), Cbor::Bytes(b"a.b.c".to_vec()))]),
        cbor_map(vec![(text("x5c"), Cbor::Array(vec![Cbor::Bytes(vec![])]))]),
    ];
    let formats = ["packed", "tpm", "android-key", "android-safetynet", "apple", "fido-u2f", "bogus"];
    let keys = [
        // EC2 with empty coordinates; P-521 declared as ES256; RSA with empty and tiny
        // moduli; an Ed25519 key (not offered); a key type that does not exist.
        cbor_map(vec![
            (Cbor::Integer(1), Cbor::Integer(2)),
            (Cbor::Integer(3), Cbor::Integer(-7)),
            (Cbor::Integer(-1), Cbor::Integer(1)),
            (Cbor::Integer(-2), Cbor::Bytes(vec![])),
            (Cbor::Integer(-3), Cbor::Bytes(vec![])),
        ]),
        cbor_map(vec![
            (Cbor::Integer(1), Cbor::Integer(2)),
            (Cbor::Integer(3), Cbor::Integer(-7)),
            (Cbor::Integer(-1), Cbor::Integer(3)),
            (Cbor::Integer(-2), Cbor::Bytes(vec![1; 66])),
            (Cbor::Integer(-3), Cbor::Bytes(vec![2; 66])),
        ]),
        cbor_map(vec![
            (Cbor::Integer(1), Cbor::Integer(3)),
            (Cbor::Integer(3), Cbor::Integer(-257)),
            (Cbor::Integer(-1), Cbor::Bytes(vec![])),
            (Cbor::Integer(-2), Cbor::Bytes(vec![])),
        ]),
        cbor_map(vec![
            (Cbor::Integer(1), Cbor::Integer(3)),
            (Cbor::Integer(3), Cbor::Integer(-257)),
            (Cbor::Integer(-1), Cbor::Bytes(vec![1])),
            (Cbor::Integer(-2), Cbor::Bytes(vec![1, 0, 1])),
        ]),
        cbor_map(vec![
            (Cbor::Integer(1), Cbor::Integer(1)),
            (Cbor::Integer(3), Cbor::Integer(-8)),
            (Cbor::Integer(-1), Cbor::Integer(6)),
            (Cbor::Integer(-2), Cbor::Bytes(vec![9; 32])),
        ]),
        cbor_map(vec![(Cbor::Integer(1), Cbor::Integer(99)), (Cbor::Integer(3), Cbor::Integer(-7))]),
        Cbor::Array(vec![]),
    ];

    let mut n = 0;
    let mut panicked = Vec::new();
    let mut registered = Vec::new();
    let mut attempt = |label: String, edit: &dyn Fn(&str) -> String| {
        n += 1;
        let who = user(&format!("hostile{n}"));
        let options = firm.start_registration(&who, "Key");
        let created = Browser::new().create(&options);
        let hostile = edit(&created);
        match catch_unwind(AssertUnwindSafe(|| {
            run(firm.mfa.finish_security_key_registration(&who, &hostile, &office()))
        })) {
            Err(_) => panicked.push(label),
            Ok(Ok(Ok(_))) => registered.push(label),
            Ok(outcome) => println!("{label}: {outcome:?}"),
        }
    };
    for format in formats {
        for (i, statement) in statements.iter().enumerate() {
            attempt(format!("fmt {format}, statement {i}"), &|created| {
                let mut map = attestation(created);
                map.insert(text("fmt"), text(format));
                map.insert(text("attStmt"), statement.clone());
                with_attestation(created, map)
            });
        }
    }
    for (i, key) in keys.iter().enumerate() {
        attempt(format!("fmt none, key {i}"), &|created| {
            let mut map = attestation(created);
            let Some(Cbor::Bytes(auth)) = map.get(&text("authData")).cloned() else { panic!("authData") };
            map.insert(text("fmt"), text("none"));
            map.insert(text("attStmt"), cbor_map(vec![]));
            map.insert(text("authData"), Cbor::Bytes(auth_data_with_key(&auth, key)));
            with_attestation(created, map)
        });
    }
    // A credential id length beyond the data, and attested data cut short.
    attempt("credential id length 0xffff".into(), &|created| {
        let mut map = attestation(created);
        let Some(Cbor::Bytes(mut auth)) = map.get(&text("authData")).cloned() else { panic!("authData") };
        auth[53] = 0xff;
        auth[54] = 0xff;
        map.insert(text("authData"), Cbor::Bytes(auth));
        with_attestation(created, map)
    });
    attempt("attested data cut after the aaguid".into(), &|created| {
        let mut map = attestation(created);
        let Some(Cbor::Bytes(auth)) = map.get(&text("authData")).cloned() else { panic!("authData") };
        map.insert(text("authData"), Cbor::Bytes(auth[..54].to_vec()));
        with_attestation(created, map)
    });
    assert!(panicked.is_empty(), "hostile registrations panicked: {panicked:?}");
    assert!(registered.is_empty(), "hostile registrations registered a key: {registered:?}");
}

// ---------------------------------------------------------------------------------
// R32 / R15: failed assertions count towards the lockout and the hard limit.
// ---------------------------------------------------------------------------------

/// R32: "Failed assertions count towards the lockout and the hard limit"; R15.
/// A replayed assertion, handed in again and again across lockouts, ends in the hard
/// limit (the second factor disabled); the key's own valid answer is refused after it.
#[test]
fn failed_assertions_reach_the_hard_limit_across_lockouts() {
    let firm = firm();
    let ann = user("ann");
    let mut browser = Browser::new();
    firm.register(&ann, "YubiKey", &mut browser);
    firm.clock.advance(3600);
    let old = browser.get(&firm.start_proof(&ann));
    assert!(run(firm.mfa.verify_security_key(&ann, &old, &office())).unwrap().is_ok());

    let mut disabled = false;
    for _ in 0..300 {
        firm.clock.advance(1);
        let started = run(firm.mfa.start_security_key(&ann, &office())).unwrap();
        match started {
            Ok(_) => {}
            Err(Refusal::LockedOut { until }) => {
                firm.clock.set(until);
                continue;
            }
            Err(Refusal::Disabled) => {
                disabled = true;
                break;
            }
            Err(other) => panic!("unexpected refusal at the start: {other:?}"),
        }
        match run(firm.mfa.verify_security_key(&ann, &old, &office())).unwrap() {
            Err(Refusal::Disabled) => {
                disabled = true;
                break;
            }
            Err(_) => {}
            Ok(proof) => panic!("a replayed assertion proved the factor: {proof:?}"),
        }
    }
    assert!(disabled, "the hard limit was never reached");
    assert!(firm.record(&ann).failures().consecutive() >= 100);
    let refused = run(firm.mfa.start_security_key(&ann, &office())).unwrap();
    assert_eq!(refused.map(drop), Err(Refusal::Disabled));
}

// ---------------------------------------------------------------------------------
// R26 / R20: the last factor is never removed one by one, also by two servers at once.
// ---------------------------------------------------------------------------------

/// R26: "the last factor is never removed one by one". Ann has a key and an
/// authenticator app; server one removes the app while server two removes the key (in
/// between server one's load and save): one removal goes through, the other is refused
/// as the last factor, and Ann keeps a factor.
#[test]
fn two_servers_removing_the_two_last_factors_at_once_leave_one() {
    let (hooked, one, two) = two_servers();
    let ann = user("ann");
    let phone = one.enroll_app(&ann);
    one.prove_with_app(&ann, &phone);
    let mut browser = Browser::new();
    one.register(&ann, "YubiKey", &mut browser);
    one.prove_with_key(&ann, &mut browser);
    let record = one.record(&ann);
    let app = record.authenticators()[0].id().to_string();
    let key = record.security_keys()[0].id().to_string();

    let seen_by_two: Arc<Mutex<Option<Result<bool, Refusal>>>> = Arc::default();
    {
        let (two, seen, ann, key) = (two.clone(), seen_by_two.clone(), ann.clone(), key.clone());
        *hooked.before_save.lock().unwrap() = Some(Box::new(move || {
            let outcome = run(two.mfa.remove_authenticator(&ann, &key, &office())).unwrap();
            *seen.lock().unwrap() = Some(outcome);
        }));
    }
    let by_one = run(one.mfa.remove_authenticator(&ann, &app, &office())).unwrap();
    let by_two = seen_by_two.lock().unwrap().take().expect("server two answered in between");
    let record = one.record(&ann);
    assert!(record.has_mfa(), "both removed: server one {by_one:?}, server two {by_two:?}");
    assert_eq!(
        [by_one.clone(), by_two.clone()].iter().filter(|o| **o == Ok(true)).count(),
        1,
        "server one {by_one:?}, server two {by_two:?}"
    );
}

// ---------------------------------------------------------------------------------
// R24: every enrollment failure is audited; a registration refused at its finish.
// ---------------------------------------------------------------------------------

mod flow_level {
    use mfa_kit::flow::security_key::{self, NewKey};
    use mfa_kit::flow::{Env, Rules};
    use mfa_kit::policy::{SignInContext, StandardPolicy};
    use mfa_kit::record::{CEREMONY_LIFETIME, CredentialId, UserRecord};
    use mfa_kit::{Refusal, UserId};

    const T0: u64 = 1_700_000_000;

    fn key(id: u8) -> NewKey {
        NewKey {
            credential_id: CredentialId::new(vec![id; 32]),
            public_key: "{\"kty\":2}".into(),
            counter: 1,
            user_verified: true,
            backup_eligible: false,
            backup_state: false,
            discoverable: true,
        }
    }

    /// R24: "Audit events for every enrollment, sign-in proof, failure, lockout, ...":
    /// as a TOTP confirmation that comes too late (`enrollment_expired`) and a refused
    /// registration start (`enrollment_refused`), a security-key registration refused
    /// at its finish, because its ceremony lapsed or because the key is already the
    /// user's, is audited.
    #[test]
    fn a_registration_refused_at_its_finish_is_audited() {
        let (policy, context, rules) = (StandardPolicy::new(), SignInContext::default(), Rules::default());
        let env = |now| Env::new(now, &policy, &context, &rules);
        let mut record = UserRecord::new(UserId::new("ann"));
        let handle = security_key::user_handle(&record).unwrap();

        // Lapsed: finished at the ceremony's expiry.
        let started = security_key::start_registration(&mut record, "YubiKey", handle, "s".into(), &env(T0));
        assert!(started.outcome.is_ok());
        let late =
            security_key::finish_registration(&mut record, Ok(key(1)), &env(T0 + CEREMONY_LIFETIME)).unwrap();
        assert_eq!(late.outcome, Err(Refusal::CeremonyExpired));
        let late_events = late.events.len();

        // Registered, then the same credential again.
        let _ = security_key::start_registration(&mut record, "YubiKey", handle, "s".into(), &env(T0 + 400));
        let done = security_key::finish_registration(&mut record, Ok(key(1)), &env(T0 + 405)).unwrap();
        assert!(done.outcome.is_ok());
        let _ = security_key::start_registration(&mut record, "Again", handle, "s".into(), &env(T0 + 410));
        let twice = security_key::finish_registration(&mut record, Ok(key(1)), &env(T0 + 415)).unwrap();
        assert_eq!(twice.outcome, Err(Refusal::KeyAlreadyRegistered));
        let twice_events = twice.events.len();

        assert!(
            late_events > 0 && twice_events > 0,
            "no audit event: a lapsed registration emitted {late_events} events, a key registered \
             twice {twice_events}"
        );
    }
}
