//! Secrets and codes are wiped from memory, not only hidden from print ("Secrets:
//! newtypes, redacted `Debug`, zeroized on drop"), and errors never repeat them. A
//! secret that is copied into a heap buffer which is then freed without being wiped
//! stays readable in freed memory (a core dump, a heap read, swap). `tests/no_secrets.rs`
//! checks what is printed; these tests check what is left behind in memory.
//!
//! How: this test binary's global allocator (`tests/support/freed_memory.rs`) keeps a
//! copy of what a watching thread frees; after a library call the copy is searched for
//! the secret the call returned.
#![allow(unsafe_code)] // A GlobalAlloc needs it; the library itself forbids unsafe code.

mod common;
#[path = "support/freed_memory.rs"]
mod freed_memory;

use std::sync::{Arc, Mutex};

use common::*;
use freed_memory::{lock, watch};
use mfa_kit::event::EventKind;
use mfa_kit::flow::destination::CodeMessage;
use mfa_kit::flow::device::Remembered;
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::otp::{Secret, TotpParams};
use mfa_kit::seal::AeadSealer;
use mfa_kit::service::MfaService;
use mfa_kit::store::MemoryStore;
use mfa_kit::{Destination, Role};
use zeroize::Zeroizing;

// ---------------------------------------------------------------------------------------
// A firm whose sealer really seals, so no stored or serialised record holds a secret
// in the clear (the plaintext sealer of the other tests would).

struct Sealed {
    mfa: MfaService<MemoryStore, AeadSealer>,
    clock: mfa_kit::clock::ManualClock,
    key: HashKey,
}

fn sealed_firm() -> Sealed {
    let clock = mfa_kit::clock::ManualClock::new(START);
    let key = HashKey::from_bytes(&[0x5a; 32]).unwrap();
    let mfa =
        MfaService::builder("Smith & Co Accounting", MemoryStore::new(), AeadSealer::new("k1", [7; 32]))
            .clock(clock.clone())
            .hash_key(key.clone())
            .build();
    Sealed { mfa, clock, key }
}

impl Sealed {
    fn enroll(&self, who: &mfa_kit::UserId) -> Phone {
        run(async {
            let start =
                self.mfa.start_enrollment(who, "sarah@smith.example", &office()).await.unwrap().unwrap();
            let phone = Phone::scan(&start.uri, &self.clock);
            let first = Zeroizing::new(phone.code());
            self.clock.advance(30);
            let second = Zeroizing::new(phone.code());
            self.mfa.confirm_enrollment(who, &[&first, &second], &office()).await.unwrap().unwrap();
            self.clock.advance(30);
            phone
        })
    }
}

/// A provider that keeps the last code in a wiped buffer.
#[derive(Default)]
struct Provider(Mutex<Option<Zeroizing<String>>>);

impl mfa_kit::notify::CodeSender for Provider {
    type Error = std::convert::Infallible;

    async fn send(&self, _to: &Destination, message: &CodeMessage) -> Result<(), Self::Error> {
        let mut copy = Zeroizing::new(String::with_capacity(16));
        copy.push_str(message.code());
        *self.0.lock().unwrap() = Some(copy);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// What the library makes: each buffer that takes a secret is made at its final size.

/// `KeyUri::to_uri` leaves no copy of the secret in freed memory, however long the
/// URI (here the service's own issuer and an ordinary e-mail address, past 128 bytes).
#[test]
fn key_uri_secret_is_not_left_in_freed_memory() {
    let _lock = lock();
    let secret = Secret::from_bytes(b"\x8f\x13review-secret-420\xee").unwrap();
    let needle = secret.to_base32();
    let key =
        KeyUri::totp("Smith & Co Accounting", "sarah@smith.example", secret.clone(), TotpParams::DEFAULT)
            .unwrap();
    let (uri, freed) = watch(|| key.to_uri());
    assert!(uri.contains(needle.as_str()));
    assert!(
        !freed.holds(needle.as_bytes()),
        "the base32 secret was freed unwiped while the {}-byte URI was written",
        uri.len()
    );
}

/// The same through the service: starting an enrollment leaves no copy of the new
/// user's secret in freed memory.
#[test]
fn enrollment_start_leaves_no_copy_of_the_secret_in_freed_memory() {
    let _lock = lock();
    let firm = sealed_firm();
    let sarah = user("sarah");
    let (start, freed) =
        watch(|| run(firm.mfa.start_enrollment(&sarah, "sarah@smith.example", &office())).unwrap().unwrap());
    let secret = KeyUri::parse(&start.uri).unwrap().secret().to_base32();
    assert!(!freed.holds(secret.as_bytes()), "start_enrollment freed the secret unwiped");
}

/// A "this wasn't me" token is `event.at.subject.mac`; the MAC is what makes it
/// valid: making a token leaves no copy of it in freed memory.
#[test]
fn disown_token_mac_is_not_left_in_freed_memory() {
    let _lock = lock();
    let key = HashKey::from_bytes(&[0x5a; 32]).unwrap();
    let sarah = user("sarah");
    let event = EventKind::RecoveryCodesGenerated { count: 10 };
    let (token, freed) = watch(|| mfa_kit::flow::disown::token(&key, &sarah, 4711, START, &event));
    let mac = token.as_str().rsplit('.').next().unwrap().as_bytes().to_vec();
    assert_eq!(mac.len(), 52, "base32 of an HMAC-SHA-256");
    assert!(!freed.holds(&mac), "the token's MAC was freed unwiped when the token was made");
}

/// Redeeming a link computes the expected MAC (a valid token's secret part for that
/// event) and wipes it.
#[test]
fn disown_redeem_leaves_no_copy_of_the_valid_mac_in_freed_memory() {
    let _lock = lock();
    let firm = sealed_firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let event = EventKind::RecoveryCodesGenerated { count: 10 };
    // An event id that is no notice of hers: the MAC checks out, nothing else does.
    let token = mfa_kit::flow::disown::token(&firm.key, &sarah, 999_999, START, &event);
    let mac: Zeroizing<Vec<u8>> =
        Zeroizing::new(token.as_str().rsplit('.').next().unwrap().as_bytes().to_vec());
    let (_outcome, freed) = watch(|| run(firm.mfa.disown(&sarah, token.as_str(), &office())).unwrap());
    assert!(!freed.holds(&mac), "redeeming a link freed the expected MAC unwiped");
}

/// A remembered device's token is the base32 of 32 random bytes: encoding it leaves
/// no part of it in freed memory (an encoder whose buffer grows would).
#[test]
fn device_token_is_not_left_in_freed_memory() {
    let _lock = lock();
    let firm = sealed_firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let code = Zeroizing::new(phone.code());
    run(firm.mfa.verify_code(&sarah, &code, &office())).unwrap().unwrap();
    let (remembered, freed): (Remembered, _) =
        watch(|| run(firm.mfa.remember_device(&sarah, "Laptop", 3600, &office())).unwrap().unwrap());
    let token = remembered.token.as_str().as_bytes();
    assert_eq!(token.len(), 52);
    assert!(!freed.holds(&token[..40]), "40 of the device token's 52 characters were freed unwiped");
}

/// `Secret::to_base32` (and so `to_base32_grouped`, `KeyUri::to_uri`, the enrollment
/// screen) leaves no part of the secret in freed memory (an encoder that reserved 25
/// bytes for the 32 characters of a 160-bit secret would free the first 25 unwiped).
#[test]
fn secret_base32_form_is_not_left_in_freed_memory() {
    let _lock = lock();
    let secret = Secret::from_bytes(b"\x8f\x13review-secret-420\xee").unwrap();
    let (plain, freed) = watch(|| secret.to_base32());
    assert_eq!(plain.len(), 32);
    assert!(!freed.holds(&plain.as_bytes()[..25]), "25 of the 32 base32 characters were freed unwiped");
}

/// Errors "never contain a secret or a code". The `totp` command (examples/totp.rs,
/// documented in the README) never echoes an argument that may be a secret or a code:
/// one given without its `--secret` / `--code` flag, or after a flag missing its value.
/// Needs the example built, as `tests/totp_cli.rs` does (`cargo test` builds it; or
/// `cargo build --example totp`).
#[test]
fn totp_command_errors_do_not_echo_a_secret_or_code() {
    let mut binary = std::env::current_exe().expect("test binary path");
    binary.pop();
    if binary.ends_with("deps") {
        binary.pop();
    }
    let binary = binary.join("examples").join(format!("totp{}", std::env::consts::EXE_SUFFIX));
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    for args in [
        &["code", secret][..],
        &["verify", "--secret", secret, "123456", "--code"][..],
        &["code", "--secret", secret, "--time", "--digits", "123456"][..],
    ] {
        let out = std::process::Command::new(&binary).args(args).output().expect("run the totp example");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            !stderr.contains(secret) && !stderr.contains("123456"),
            "the error echoes a secret or a code: {}",
            stderr.trim()
        );
    }
}

// ---------------------------------------------------------------------------------------
// What passes through: recovery codes and sent codes.

/// New recovery codes leave no plaintext copy in freed memory.
#[test]
fn recovery_codes_are_not_left_in_freed_memory() {
    let _lock = lock();
    let firm = sealed_firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let (codes, freed) = watch(|| run(firm.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap());
    for code in &codes {
        let canonical = Zeroizing::new(code.as_str().replace('-', ""));
        assert!(!freed.holds(code.as_str().as_bytes()) && !freed.holds(canonical.as_bytes()));
    }
}

/// A code sent by e-mail leaves no copy in freed memory (the provider's own
/// copy is wiped).
#[test]
fn destination_code_is_not_left_in_freed_memory() {
    let _lock = lock();
    let firm = sealed_firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let provider = Provider::default();
    let destination = Destination::email("sarah@smith.example").unwrap();
    let (_, freed) = watch(|| {
        run(firm.mfa.add_destination(&sarah, destination, Role::Backup, &provider, &office()))
            .unwrap()
            .unwrap()
    });
    let code = provider.0.lock().unwrap().clone().unwrap();
    assert!(!freed.holds(code.as_bytes()));
}

/// The allocator itself: a plain `String` holding a value is seen when freed, and a
/// `Zeroizing` one is not, so the findings above are not artefacts of the harness.
#[test]
fn the_watching_allocator_sees_unwiped_frees_only() {
    let _lock = lock();
    let needle = b"QX7W-needle-not-a-secret";
    let ((), freed) = watch(|| drop(String::from_utf8(needle.to_vec()).unwrap()));
    assert!(freed.holds(needle));
    let ((), freed) = watch(|| drop(Zeroizing::new(String::from_utf8(needle.to_vec()).unwrap())));
    assert!(!freed.holds(needle));
    let _ = Arc::new(());
}
