//! The SMTP password is wiped from memory when the configuration holding it is dropped
//! ("Secrets: newtypes, redacted `Debug`, zeroized on drop"). (The copy a `Mailer`
//! hands to lettre is not: lettre's `Credentials` offers no way; `SmtpConfig::credentials`
//! says so.) This test binary's global allocator is the core's
//! `tests/support/freed_memory.rs`: it keeps a copy of what a watching thread frees.
#![allow(unsafe_code)] // A GlobalAlloc needs it; the library itself forbids unsafe code.

#[path = "../../../tests/support/freed_memory.rs"]
mod freed_memory;

use freed_memory::{lock, watch};
use mfa_kit_mail::{SmtpConfig, TlsMode};

const PASSWORD: &str = "hunter2-review-smtp-password";

/// Dropping the configuration wipes the password before its memory is freed.
#[test]
fn smtp_password_is_zeroized_on_drop() {
    let _lock = lock();
    let config = SmtpConfig::new("smtp.example", 587, TlsMode::StartTls).credentials("mailer", PASSWORD);
    let ((), freed) = watch(|| drop(config));
    assert!(!freed.holds(PASSWORD.as_bytes()), "the SMTP password was freed unwiped");
}

/// The harness sees an unwiped `String` freed, so the test above is no artefact of it.
#[test]
fn the_watching_allocator_sees_unwiped_frees() {
    let _lock = lock();
    let needle = b"QX7W-needle-not-a-secret";
    let ((), freed) = watch(|| drop(String::from_utf8(needle.to_vec()).unwrap()));
    assert!(freed.holds(needle));
}
