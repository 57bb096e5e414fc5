//! Secrets at rest: sealed through the host's sealer, rotated to a new key by
//! re-sealing, and never opening for another user.

mod common;

use std::sync::Mutex;

use common::*;
use mfa_kit::UserId;
use mfa_kit::clock::ManualClock;
use mfa_kit::event::{AuditOutcome, EventKind, MemoryAuditLog};
use mfa_kit::otp::Secret;
use mfa_kit::seal::{SealError, SealedSecret, SecretSealer};
use mfa_kit::service::MfaService;
use mfa_kit::store::MemoryStore;

/// A sealer with two keys, sealing with whichever is current (an XOR "cipher" keyed by
/// the key id and bound to the user: enough to tell keys apart in a test).
struct RotatingSealer {
    current: Mutex<&'static str>,
}

impl RotatingSealer {
    fn pad(key_id: &str, user: &UserId, len: usize) -> Vec<u8> {
        key_id.bytes().chain(user.as_str().bytes()).cycle().take(len).collect()
    }
}

impl SecretSealer for RotatingSealer {
    async fn seal(&self, user: &UserId, secret: &Secret) -> Result<SealedSecret, SealError> {
        let key_id = *self.current.lock().unwrap();
        let pad = RotatingSealer::pad(key_id, user, secret.len());
        let ciphertext: Vec<u8> = secret.expose_bytes().iter().zip(pad).map(|(a, b)| a ^ b).collect();
        Ok(SealedSecret::new(key_id, ciphertext))
    }

    async fn open(&self, user: &UserId, sealed: &SealedSecret) -> Result<Secret, SealError> {
        if !["key-2025", "key-2026"].contains(&sealed.key_id()) {
            return Err(SealError::UnknownKey { key_id: sealed.key_id().into() });
        }
        let pad = RotatingSealer::pad(sealed.key_id(), user, sealed.ciphertext().len());
        let plain: Vec<u8> = sealed.ciphertext().iter().zip(pad).map(|(a, b)| a ^ b).collect();
        Secret::from_bytes(&plain).map_err(|_| SealError::Tampered)
    }
}

#[test]
fn resealing_rotates_the_key_and_the_authenticator_keeps_working() {
    let sealer = std::sync::Arc::new(RotatingSealer { current: Mutex::new("key-2025") });
    struct Shared(std::sync::Arc<RotatingSealer>);
    impl SecretSealer for Shared {
        async fn seal(&self, user: &UserId, secret: &Secret) -> Result<SealedSecret, SealError> {
            self.0.seal(user, secret).await
        }
        async fn open(&self, user: &UserId, sealed: &SealedSecret) -> Result<Secret, SealError> {
            self.0.open(user, sealed).await
        }
    }
    let clock = ManualClock::new(START);
    let audit = std::sync::Arc::new(MemoryAuditLog::new());
    let mfa = MfaService::builder("Smith", MemoryStore::new(), Shared(sealer.clone()))
        .clock(clock.clone())
        .audit(audit.clone())
        .build();
    let sarah = user("sarah");
    let phone = enroll_on(&mfa, &clock, &sarah);
    // A replacement set up on a new phone, not yet confirmed: its secret is sealed too.
    let started = run(mfa.start_enrollment(&sarah, "sarah@smith.example", &office())).unwrap();
    assert!(started.is_ok(), "{started:?}");
    let key_ids = |mfa: &MfaService<MemoryStore, Shared>| {
        let record = run(mfa.record(&sarah)).unwrap();
        let pending = record.pending_enrollment().map(|pending| pending.sealed_secret().key_id().to_string());
        (record.totp().unwrap().sealed_secret().key_id().to_string(), pending)
    };
    assert_eq!(key_ids(&mfa), ("key-2025".into(), Some("key-2025".into())));
    let resealed = || {
        audit
            .kinds_for(&sarah)
            .into_iter()
            .filter(|kind| matches!(kind, EventKind::SecretsResealed { .. }))
            .collect::<Vec<_>>()
    };
    assert_eq!(resealed(), [], "nothing re-sealed yet");
    assert!(!run(mfa.reseal(&sarah)).unwrap(), "sealed under the current key already");
    assert_eq!(resealed(), [], "no change, no event");

    *sealer.current.lock().unwrap() = "key-2026";
    assert!(run(mfa.reseal(&sarah)).unwrap());
    assert_eq!(key_ids(&mfa), ("key-2026".into(), Some("key-2026".into())));
    assert_eq!(resealed(), [EventKind::SecretsResealed { count: 2, key_id: "key-2026".into() }]);
    let event = audit.events().into_iter().find(|event| event.kind.name() == "secrets_resealed").unwrap();
    assert_eq!((&event.user, &event.actor, event.outcome), (&sarah, &sarah, AuditOutcome::Success));
    assert_eq!(event.kind.security_notice(), None, "not news for the user");
    assert!(!run(mfa.reseal(&sarah)).unwrap(), "nothing left to rotate");
    assert_eq!(resealed().len(), 1, "no event for a run that changed nothing");
    assert!(run(mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
}

#[cfg(feature = "aead-sealer")]
#[test]
fn a_firm_rotates_its_sealing_key_and_nobody_notices() {
    use mfa_kit::seal::AeadSealer;

    let store = std::sync::Arc::new(MemoryStore::new());
    let clock = ManualClock::new(START);
    let service =
        |sealer: AeadSealer| MfaService::builder("Smith", store.clone(), sealer).clock(clock.clone()).build();
    let sarah = user("sarah");

    let before = service(AeadSealer::new("2025", [1; 32]));
    let phone = enroll_on(&before, &clock, &sarah);
    let stored = run(before.record(&sarah)).unwrap();
    let sealed = stored.totp().unwrap().sealed_secret();
    assert_eq!(sealed.key_id(), "2025");
    let secret = AeadSealer::new("2025", [1; 32]).open(&sarah, sealed).unwrap();
    assert!(!serde_json::to_string(&stored).unwrap().contains(&*secret.to_base32()), "sealed, not stored");

    // The new key seals; the old one is kept to open until everyone is re-sealed.
    let during = service(AeadSealer::new("2026", [2; 32]).with_retired_key("2025", [1; 32]));
    assert!(run(during.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
    assert!(run(during.reseal(&sarah)).unwrap());
    assert_eq!(run(during.record(&sarah)).unwrap().totp().unwrap().sealed_secret().key_id(), "2026");

    // The old key is gone; sign-in goes on.
    let after = service(AeadSealer::new("2026", [2; 32]));
    clock.advance(30);
    assert!(run(after.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
    // A service that never had the new key fails closed, naming the key.
    let stale = service(AeadSealer::new("2025", [1; 32]));
    let result = run(stale.verify_code(&sarah, &phone.code(), &office()));
    assert!(
        matches!(result, Err(mfa_kit::service::Error::Sealer(SealError::UnknownKey { ref key_id })) if key_id == "2026"),
        "{result:?}"
    );
}
