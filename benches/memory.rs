//! Memory per enrolled user in `MemoryStore`, at one million users: the bytes the heap
//! holds after storing them, divided by their number.
//!
//! Run: `cargo bench --bench memory`
#![allow(unsafe_code)] // A GlobalAlloc needs it; the library itself forbids unsafe code.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use mfa_kit::prelude::*;
use mfa_kit::record::UserRecord;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const USERS: usize = 1_000_000;

fn main() {
    // One enrolled record, as the service writes it, to copy for every user.
    let clock = ManualClock::new(1_700_000_000);
    let mfa = MfaService::builder("Bench", MemoryStore::new(), PlaintextSealer).clock(clock.clone()).build();
    let template = UserId::new("template");
    let context = SignInContext::default();
    let json = pollster::block_on(async {
        let start = mfa.start_enrollment(&template, "t", &context).await.unwrap().unwrap();
        let key = KeyUri::parse(&start.uri).unwrap();
        let phone = Totp::new(key.secret(), key.totp_params().unwrap());
        let first = phone.generate(1_700_000_000).unwrap().to_string();
        clock.advance(30);
        let second = phone.generate(1_700_000_030).unwrap().to_string();
        mfa.confirm_enrollment(&template, &[&first, &second], &context).await.unwrap().unwrap();
        serde_json::to_string(&mfa.record(&template).await.unwrap()).unwrap()
    });
    let store = MemoryStore::new();
    let before = LIVE.load(Ordering::Relaxed);
    for i in 0..USERS {
        let id = format!("user-{i:07}@firm-{:04}.example", i % 5000);
        let record: UserRecord =
            serde_json::from_str(&json.replace("\"template\"", &format!("\"{id}\""))).unwrap();
        let saved = pollster::block_on(store.save(&record, None, &[])).unwrap();
        assert!(matches!(saved, mfa_kit::store::SaveOutcome::Saved(_)));
    }
    let bytes = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "memory_per_user: {} bytes per enrolled user at {USERS} users (UserRecord is {} bytes inline; user ids of {} bytes)",
        bytes / USERS as isize,
        std::mem::size_of::<UserRecord>(),
        "user-0000000@firm-0000.example".len()
    );
}
