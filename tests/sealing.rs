//! Secrets at rest: sealed through the host's sealer, rotated to a new key by
//! re-sealing, and never opening for another user.

mod common;

use std::sync::Mutex;

use common::*;
use mfa_kit::Secret;
use mfa_kit::record::UserId;
use mfa_kit::seal::{SealError, SealedSecret, SecretSealer};
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
    fn seal(&self, user: &UserId, secret: &Secret) -> Result<SealedSecret, SealError> {
        let key_id = *self.current.lock().unwrap();
        let pad = RotatingSealer::pad(key_id, user, secret.len());
        let ciphertext = secret.expose_bytes().iter().zip(pad).map(|(a, b)| a ^ b).collect();
        Ok(SealedSecret { key_id: key_id.into(), ciphertext })
    }

    fn open(&self, user: &UserId, sealed: &SealedSecret) -> Result<Secret, SealError> {
        if !["key-2025", "key-2026"].contains(&sealed.key_id.as_str()) {
            return Err(SealError::UnknownKey { key_id: sealed.key_id.clone() });
        }
        let pad = RotatingSealer::pad(&sealed.key_id, user, sealed.ciphertext.len());
        let plain: Vec<u8> = sealed.ciphertext.iter().zip(pad).map(|(a, b)| a ^ b).collect();
        Secret::from_bytes(&plain).map_err(|_| SealError::Tampered)
    }
}

#[test]
fn resealing_rotates_the_key_and_the_authenticator_keeps_working() {
    let sealer = std::sync::Arc::new(RotatingSealer { current: Mutex::new("key-2025") });
    struct Shared(std::sync::Arc<RotatingSealer>);
    impl SecretSealer for Shared {
        fn seal(&self, user: &UserId, secret: &Secret) -> Result<SealedSecret, SealError> {
            self.0.seal(user, secret)
        }
        fn open(&self, user: &UserId, sealed: &SealedSecret) -> Result<Secret, SealError> {
            self.0.open(user, sealed)
        }
    }
    let clock = mfa_kit::clock::ManualClock::new(START);
    let mfa = mfa_kit::service::MfaService::builder("Smith", MemoryStore::new(), Shared(sealer.clone()))
        .clock(clock.clone())
        .build();
    let firm = Firm { mfa, clock, audit: std::sync::Arc::new(mfa_kit::audit::MemoryAuditLog::new()) };
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let key_id =
        |firm: &Firm| run(firm.mfa.record(&sarah)).unwrap().totp().unwrap().sealed_secret().key_id.clone();
    assert_eq!(key_id(&firm), "key-2025");

    *sealer.current.lock().unwrap() = "key-2026";
    assert!(run(firm.mfa.reseal(&sarah)).unwrap());
    assert_eq!(key_id(&firm), "key-2026");
    assert!(!run(firm.mfa.reseal(&sarah)).unwrap(), "nothing left to rotate");
    assert!(run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_accepted());
}

#[cfg(feature = "aead-sealer")]
#[test]
fn a_firm_rotates_its_sealing_key_and_nobody_notices() {
    use mfa_kit::seal::AeadSealer;

    let store = std::sync::Arc::new(MemoryStore::new());
    let clock = mfa_kit::clock::ManualClock::new(START);
    let service = |sealer: AeadSealer| {
        mfa_kit::service::MfaService::builder("Smith", store.clone(), sealer).clock(clock.clone()).build()
    };
    let audit = std::sync::Arc::new(mfa_kit::audit::MemoryAuditLog::new());
    let sarah = user("sarah");

    let before =
        Firm { mfa: service(AeadSealer::new("2025", [1; 32])), clock: clock.clone(), audit: audit.clone() };
    let phone = before.enroll(&sarah);
    let stored = run(before.mfa.record(&sarah)).unwrap();
    let sealed = stored.totp().unwrap().sealed_secret();
    assert_eq!(sealed.key_id, "2025");
    let secret = AeadSealer::new("2025", [1; 32]).open(&sarah, sealed).unwrap();
    assert!(!serde_json::to_string(&stored).unwrap().contains(&*secret.to_base32()), "sealed, not stored");

    // The new key seals; the old one is kept to open until everyone is re-sealed.
    let during = service(AeadSealer::new("2026", [2; 32]).with_retired_key("2025", [1; 32]));
    assert!(run(during.verify_code(&sarah, &phone.code(), &office())).unwrap().is_accepted());
    assert!(run(during.reseal(&sarah)).unwrap());
    assert_eq!(run(during.record(&sarah)).unwrap().totp().unwrap().sealed_secret().key_id, "2026");

    // The old key is gone; sign-in goes on.
    let after = service(AeadSealer::new("2026", [2; 32]));
    clock.advance(30);
    assert!(run(after.verify_code(&sarah, &phone.code(), &office())).unwrap().is_accepted());
    // A service that never had the new key fails closed, naming the key.
    let stale = service(AeadSealer::new("2025", [1; 32]));
    let result = run(stale.verify_code(&sarah, &phone.code(), &office()));
    assert!(
        matches!(result, Err(mfa_kit::Error::Sealer(SealError::UnknownKey { ref key_id })) if key_id == "2026")
    );
}
