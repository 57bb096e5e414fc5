//! Memory per enrolled user in `MemoryStore`, at one million users: the bytes the heap
//! holds after storing them, divided by their number.
//!
//! Run: `cargo bench --bench memory`
#[path = "../tests/support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::Counting;
use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::prelude::*;
use mfa_kit::record::UserRecord;

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
    let before = counting_alloc::live_bytes();
    for i in 0..USERS {
        let id = format!("user-{i:07}@firm-{:04}.example", i % 5000);
        let record: UserRecord =
            serde_json::from_str(&json.replace("\"template\"", &format!("\"{id}\""))).unwrap();
        let saved = pollster::block_on(store.save(record.clone(), None, vec![])).unwrap();
        assert!(matches!(saved, mfa_kit::store::SaveOutcome::Saved(_)));
    }
    let bytes = counting_alloc::live_bytes() - before;
    println!(
        "memory_per_user: {} bytes per enrolled user at {USERS} users (UserRecord is {} bytes inline; user ids of {} bytes)",
        bytes / USERS as isize,
        std::mem::size_of::<UserRecord>(),
        "user-0000000@firm-0000.example".len()
    );
}
