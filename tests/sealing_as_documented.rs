//! A review of the documented promises about secrets at rest and keys: the sealer
//! contract, the secret cache, key rotation (`MfaService::reseal`), `HashKey`,
//! `PlaintextSealer` and the service's defaults. Each test quotes the sentence it
//! checks (file:line at the time of writing).

mod common;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use common::*;
use mfa_kit::UserId;
use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::AuditEvent;
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::otp::{Secret, SecretError, TotpParams};
use mfa_kit::record::UserRecord;
use mfa_kit::seal::{SealError, SealedSecret, SecretSealer};
use mfa_kit::service::{Error, MfaService, ServiceConfig};
use mfa_kit::store::{MemoryStore, SaveOutcome, Store, Version, Versioned};

/// A sealer over [`PlaintextSealer`] that seals under a key id the test chooses, counts
/// its calls, and can be made to fail.
#[derive(Clone)]
struct Counting {
    key_id: Arc<Mutex<&'static str>>,
    opens: Arc<AtomicUsize>,
    seals: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
}

impl Counting {
    fn new() -> Counting {
        Counting {
            key_id: Arc::new(Mutex::new("key-1")),
            opens: Arc::default(),
            seals: Arc::default(),
            down: Arc::default(),
        }
    }

    fn calls(&self) -> usize {
        self.opens.load(SeqCst) + self.seals.load(SeqCst)
    }
}

impl SecretSealer for Counting {
    async fn seal(&self, user: &UserId, secret: &Secret) -> Result<SealedSecret, SealError> {
        self.seals.fetch_add(1, SeqCst);
        if self.down.load(SeqCst) {
            return Err(SealError::Unavailable("the KMS did not answer".into()));
        }
        let plain = PlaintextSealer.seal(user, secret)?;
        Ok(SealedSecret::new(*self.key_id.lock().unwrap(), plain.ciphertext()))
    }

    async fn open(&self, user: &UserId, sealed: &SealedSecret) -> Result<Secret, SealError> {
        self.opens.fetch_add(1, SeqCst);
        if self.down.load(SeqCst) {
            return Err(SealError::Unavailable("the KMS did not answer".into()));
        }
        PlaintextSealer.open(user, &SealedSecret::new(PlaintextSealer::KEY_ID, sealed.ciphertext()))
    }
}

/// The memory store, with a number of saves that report a conflict (another server
/// changed the record meanwhile) before saves work again.
#[derive(Default)]
struct Conflicting {
    inner: MemoryStore,
    conflicts: AtomicUsize,
}

impl Store for Conflicting {
    type Error = <MemoryStore as Store>::Error;

    async fn load(&self, user: &UserId) -> Result<Option<Versioned>, Self::Error> {
        self.inner.load(user).await
    }

    async fn save(
        &self,
        record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> Result<SaveOutcome, Self::Error> {
        if self.conflicts.load(SeqCst) > 0 {
            self.conflicts.fetch_sub(1, SeqCst);
            return Ok(SaveOutcome::Conflict);
        }
        self.inner.save(record, expected, events).await
    }

    async fn append_events(&self, events: Vec<AuditEvent>) -> Result<(), Self::Error> {
        self.inner.append_events(events).await
    }
}

fn service<S: Store>(store: S, sealer: Counting, cache: usize) -> (MfaService<S, Counting>, ManualClock) {
    let clock = ManualClock::new(START);
    let mut config = ServiceConfig::new("Smith");
    config.secret_cache = cache;
    let mfa = MfaService::builder("Smith", store, sealer)
        .clock(clock.clone())
        .hash_key(HashKey::generate().unwrap())
        .config(config)
        .build();
    (mfa, clock)
}

// ---------------------------------------------------------------------------------
// Broken promises
// ---------------------------------------------------------------------------------

// src/seal/mod.rs:117-119: "The service opens a credential's secret once per call,
// before its retry loop, and seals a new secret before the record is changed: no
// sealer call is made while a change is retried."
// `MfaService::reseal` (src/service/enrollment.rs:278-291) opens and seals every secret
// again inside its retry loop, so each conflict costs another KMS round trip per secret.
#[test]
fn reseal_makes_no_sealer_call_while_its_change_is_retried() {
    let sealer = Counting::new();
    let (mfa, clock) = service(Conflicting::default(), sealer.clone(), 10_000);
    let sarah = user("sarah");
    enroll_on(&mfa, &clock, &sarah);
    *sealer.key_id.lock().unwrap() = "key-2";

    // Without a conflict: one open and one seal for the one authenticator.
    let (other, other_clock) = service(Conflicting::default(), sealer.clone(), 10_000);
    let tom = user("tom");
    *sealer.key_id.lock().unwrap() = "key-1";
    enroll_on(&other, &other_clock, &tom);
    *sealer.key_id.lock().unwrap() = "key-2";
    let before = sealer.calls();
    assert!(run(other.reseal(&tom)).unwrap());
    let plain = sealer.calls() - before;
    assert_eq!(plain, 2, "one open and one seal");

    // One conflict at the save: the change is retried, the sealer must not be asked again.
    mfa.store().conflicts.store(1, SeqCst);
    let before = sealer.calls();
    assert!(run(mfa.reseal(&sarah)).unwrap());
    assert_eq!(mfa.store().conflicts.load(SeqCst), 0, "the conflict was met");
    assert_eq!(
        sealer.calls() - before,
        plain,
        "sealer calls made while reseal's change was retried after a conflict"
    );
}

// src/seal/mod.rs:117-119: "The service opens a credential's secret once per call,
// before its retry loop, ... no sealer call is made while a change is retried."
// src/service/builder.rs:35-36: "0 keeps none: every call opens the secret again."
// With `secret_cache: 0`, a sign-in retried after a conflict opens the secret in every
// attempt (src/service/commit.rs:223-227: the open is inside the loop).
#[test]
fn a_retried_sign_in_opens_the_secret_once_even_without_a_cache() {
    let sealer = Counting::new();
    let (mfa, clock) = service(Conflicting::default(), sealer.clone(), 0);
    let sarah = user("sarah");
    let phone = enroll_on(&mfa, &clock, &sarah);
    mfa.store().conflicts.store(1, SeqCst);
    let before = sealer.opens.load(SeqCst);
    assert!(run(mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
    assert_eq!(mfa.store().conflicts.load(SeqCst), 0, "the conflict was met");
    assert_eq!(
        sealer.opens.load(SeqCst) - before,
        1,
        "the secret opened once per call, not once per attempt"
    );
}

// `ServiceConfig::secret_cache`: "About how many users' opened authenticator secrets
// the service keeps ... (kept in 16 parts, so rounded up to a multiple of 16)": a cache
// of 1 keeps at most 16 users' secrets, so of 20 users signing in again, at least 4
// open their secret again.
#[test]
fn a_secret_cache_of_one_is_rounded_up_to_sixteen_users() {
    let sealer = Counting::new();
    let (mfa, clock) = service(MemoryStore::new(), sealer.clone(), 1);
    let users: Vec<UserId> = (0..20).map(|n| user(&format!("user-{n}"))).collect();
    let phones: Vec<Phone> = users.iter().map(|who| enroll_on(&mfa, &clock, who)).collect();
    clock.advance(30);
    for (who, phone) in users.iter().zip(&phones) {
        assert!(run(mfa.verify_code(who, &phone.code(), &office())).unwrap().is_ok());
    }
    clock.advance(30);
    let before = sealer.opens.load(SeqCst);
    for (who, phone) in users.iter().zip(&phones) {
        assert!(run(mfa.verify_code(who, &phone.code(), &office())).unwrap().is_ok());
    }
    let reopened = sealer.opens.load(SeqCst) - before;
    assert!(
        reopened >= users.len() - 16,
        "only {reopened} of {} sign-ins opened the secret again",
        users.len()
    );
}

// `ServiceConfig::secret_cache`: "A cached secret is used without asking the sealer: a
// sealer that is down ... does not stop users whose secrets are cached ... Set 0 where
// the KMS must be able to cut sign-ins off at once." Both halves.
#[test]
fn a_cached_secret_signs_in_without_the_sealer_and_a_cache_of_0_cuts_it_off() {
    let sealer = Counting::new();
    let (mfa, clock) = service(MemoryStore::new(), sealer.clone(), 10_000);
    let sarah = user("sarah");
    let phone = enroll_on(&mfa, &clock, &sarah);
    assert!(run(mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
    clock.advance(30);
    sealer.down.store(true, SeqCst);
    assert!(
        run(mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok(),
        "cached: no sealer asked"
    );

    let sealer = Counting::new();
    let (mfa, clock) = service(MemoryStore::new(), sealer.clone(), 0);
    let phone = enroll_on(&mfa, &clock, &sarah);
    assert!(run(mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
    clock.advance(30);
    sealer.down.store(true, SeqCst);
    let result = run(mfa.verify_code(&sarah, &phone.code(), &office()));
    assert!(matches!(result, Err(Error::Sealer(_))), "no cache: the KMS decides: {result:?}");
}

// src/keyed_hash.rs:32-38: "The shortest key accepted: 256 bits." / "[`SecretError::TooLong`]
// above 256 bytes; [`SecretError::TooShort`] below 32 bytes." src/keyed_hash.rs:91-93: Debug.
#[test]
fn hash_key_lengths_and_debug() {
    assert_eq!(HashKey::MIN_LEN, 32);
    assert!(matches!(HashKey::from_bytes(&[1; 31]), Err(SecretError::TooShort { min: 32, found: 31 })));
    assert!(matches!(HashKey::from_bytes(&[]), Err(SecretError::TooShort { min: 32, found: 0 })));
    assert!(HashKey::from_bytes(&[1; 32]).is_ok());
    assert!(HashKey::from_bytes(&[1; 256]).is_ok());
    assert!(matches!(HashKey::from_bytes(&[1; 257]), Err(SecretError::TooLong { max: 256 })));
    let key = HashKey::from_bytes(&[0xAB; 32]).unwrap();
    assert_eq!(format!("{key:?}"), "HashKey(..)");
    assert_eq!(format!("{:?}", HashKey::generate().unwrap()), "HashKey(..)");
}

// src/keyed_hash.rs:19-20: "All app servers must share it; losing it invalidates every
// recovery code ..." (and two generated keys differ).
#[test]
fn recovery_codes_redeem_only_under_the_key_that_hashed_them() {
    let store = Arc::new(MemoryStore::new());
    let issuing = firm_with(store.clone(), |builder| builder);
    let sarah = user("sarah");
    let phone = issuing.enroll(&sarah);
    issuing.prove(&sarah, &phone);
    let codes = run(issuing.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
    // Another server with another (generated) key on the same store.
    let other = firm_with(store.clone(), |builder| builder);
    other.clock.set(mfa_kit::clock::Clock::now(&issuing.clock).unwrap());
    let refused = run(other.mfa.redeem_recovery_code(&sarah, codes[0].as_str(), &office())).unwrap();
    assert!(refused.is_err(), "{refused:?}");
    // A server sharing the key redeems it.
    let shared = run(issuing.mfa.redeem_recovery_code(&sarah, codes[1].as_str(), &office())).unwrap();
    assert!(shared.is_ok(), "{shared:?}");
}

// src/service/builder.rs:21-35 and 43-52: the documented defaults of `ServiceConfig::new`;
// builder.rs:99 "(default: [`ServiceConfig::new`] with the issuer given to the builder)".
#[test]
fn service_config_defaults_and_the_builders_issuer() {
    let config = ServiceConfig::new("Smith");
    assert_eq!(config.issuer, "Smith");
    assert_eq!(config.totp_params, TotpParams::DEFAULT);
    assert_eq!(config.secret_len, 20);
    assert_eq!(config.secret_len, Secret::DEFAULT_LEN);
    assert_eq!(config.secret_cache, 10_000);
    assert_eq!(config.rules, mfa_kit::flow::Rules::DEFAULT);
    let mfa = MfaService::builder("Builder's issuer", MemoryStore::new(), PlaintextSealer).build();
    assert_eq!(mfa.config(), &ServiceConfig::new("Builder's issuer"));
    let start = run(mfa.start_enrollment(&user("ann"), "ann@x", &office())).unwrap().unwrap();
    assert!(start.uri.contains("issuer=Builder"), "{}", start.uri.as_str());
}

// src/seal/mod.rs:60 "stored as unpadded base32 in the serialised record", :66 "The
// serialised form: `{ "key_id": "…", "ciphertext": "<base32>" }`"; Debug shows no bytes.
#[test]
fn sealed_secret_serialised_form_and_debug() {
    let sealed = SealedSecret::new("kms-1", vec![1u8, 2, 3]);
    let json = serde_json::to_string(&sealed).unwrap();
    assert_eq!(json, r#"{"key_id":"kms-1","ciphertext":"AEBAG"}"#);
    let back: SealedSecret = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sealed);
    assert!(serde_json::from_str::<SealedSecret>(r#"{"key_id":"k","ciphertext":"not base32!"}"#).is_err());
    assert_eq!(format!("{sealed:?}"), r#"SealedSecret { key_id: "kms-1", ciphertext_len: 3 }"#);
}

// src/danger.rs:7-11: "A sealer that stores secrets **in the clear** ... the user id is
// written beside the secret and checked on opening"; :18 the key id.
#[test]
fn plaintext_sealer_keeps_the_secret_in_the_clear_under_its_key_id() {
    assert_eq!(PlaintextSealer::KEY_ID, "plaintext-insecure");
    let secret = Secret::from_bytes(b"ABCDEFGHIJKLMNOPQRST").unwrap();
    let sealed = PlaintextSealer.seal(&user("alice"), &secret).unwrap();
    assert_eq!(sealed.key_id(), PlaintextSealer::KEY_ID);
    assert!(sealed.ciphertext().windows(20).any(|w| w == b"ABCDEFGHIJKLMNOPQRST"));
    assert!(sealed.ciphertext().windows(5).any(|w| w == b"alice"));
    // A prefix of the user id is not the user.
    assert_eq!(PlaintextSealer.open(&user("alic"), &sealed), Err(SealError::Tampered));
}

// src/service/enrollment.rs:276-277: "[`Error::Sealer`] if a secret does not open (it
// stays as it was)"; src/seal/aead.rs:22-24 the rotation, old key dropped too early.
#[cfg(feature = "aead-sealer")]
#[test]
fn reseal_without_the_old_key_fails_closed_and_changes_nothing() {
    use mfa_kit::seal::AeadSealer;
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(START);
    let build =
        |sealer: AeadSealer| MfaService::builder("Smith", store.clone(), sealer).clock(clock.clone()).build();
    let sarah = user("sarah");
    let old = build(AeadSealer::new("2025", [1; 32]));
    enroll_on(&old, &clock, &sarah);
    run(old.start_enrollment(&sarah, "sarah@smith.example", &office())).unwrap().unwrap();
    let record = run(old.record(&sarah)).unwrap();
    let events = store.events().len();
    let new = build(AeadSealer::new("2026", [2; 32]));
    let result = run(new.reseal(&sarah));
    assert!(
        matches!(result, Err(Error::Sealer(SealError::UnknownKey { ref key_id })) if key_id == "2025"),
        "{result:?}"
    );
    assert_eq!(run(new.record(&sarah)).unwrap(), record);
    assert_eq!(store.events().len(), events);
    // With the old key retired, both the authenticator's and the pending secret move.
    let rotating = build(AeadSealer::new("2026", [2; 32]).with_retired_key("2025", [1; 32]));
    assert!(run(rotating.reseal(&sarah)).unwrap());
    let keys: Vec<String> = mfa_kit::flow::enrollment::sealed_secrets(&run(rotating.record(&sarah)).unwrap())
        .iter()
        .map(|sealed| sealed.key_id().to_string())
        .collect();
    assert_eq!(keys, ["2026", "2026"]);
}

// src/service/enrollment.rs:269-271: "Re-seals the user's secrets with the sealer's current
// key ... Returns whether anything was re-sealed." A user with no record has nothing.
#[test]
fn reseal_of_a_user_without_secrets_is_no_change() {
    let sealer = Counting::new();
    let (mfa, _clock) = service(MemoryStore::new(), sealer.clone(), 10_000);
    assert!(!run(mfa.reseal(&user("nobody"))).unwrap());
    assert_eq!(sealer.calls(), 0);
    assert!(mfa.store().events().is_empty());
}
