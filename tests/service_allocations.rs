//! A sign-in verification through the service allocates little: counted with a
//! counting global allocator over many calls (issue: at most 6 a call).
//!
//! This file holds a single test so that no other test allocates while it counts.
#![allow(unsafe_code)] // A GlobalAlloc needs it; the library itself forbids unsafe code.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use mfa_kit::event::DiscardAudit;
use mfa_kit::prelude::*;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn a_service_verification_allocates_at_most_six_times() {
    let clock = ManualClock::new(1_700_000_000);
    let mfa = MfaService::builder("Bench", MemoryStore::new(), PlaintextSealer)
        .clock(clock.clone())
        .audit(DiscardAudit)
        .build();
    let user = UserId::new("sarah");
    let context = SignInContext::default();
    let phone = pollster::block_on(async {
        let start = mfa.start_enrollment(&user, "sarah", &context).await.unwrap().unwrap();
        let key = KeyUri::parse(&start.uri).unwrap();
        let phone = Totp::new(key.secret(), key.totp_params().unwrap());
        let first = phone.generate(1_700_000_000).unwrap().to_string();
        clock.advance(30);
        let second = phone.generate(1_700_000_030).unwrap().to_string();
        mfa.confirm_enrollment(&user, &[&first, &second], &context).await.unwrap().unwrap();
        phone
    });
    const CALLS: u64 = 200;
    let codes: Vec<String> =
        (1..=CALLS).map(|i| phone.generate(1_700_000_030 + 30 * i).unwrap().to_string()).collect();
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for (i, code) in codes.iter().enumerate() {
        clock.set(1_700_000_030 + 30 * (i as u64 + 1));
        let outcome = pollster::block_on(mfa.verify_code(&user, code, &context)).unwrap();
        assert!(outcome.is_ok());
    }
    let per_call = (ALLOCATIONS.load(Ordering::SeqCst) - before) as f64 / CALLS as f64;
    println!("allocations per verify_code: {per_call:.2}");
    assert!(per_call <= 6.0, "{per_call} allocations per call");
}
