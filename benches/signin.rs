//! Sign-in verifications through the service against the in-memory store, beside the
//! bare core verification of the same code in the same run.
//!
//! - `sign_in_verify`: `core-verify` (parse and verify a code), the service on a record
//!   with only an authenticator (plaintext sealer), and the service on a full record
//!   (recovery codes, a backup destination, a remembered device) with the AEAD sealer
//!   (feature `aead-sealer`).
//! - `sign_in_threads`: the same total of service verifications for distinct users, on
//!   one thread and on two, to see how the store scales.
//!
//! Each iteration uses the next time step's code, since an accepted code is never
//! accepted again.
//!
//! Run: `cargo bench --bench signin --all-features`, then
//! `scripts/bench-table.py --base core-verify sign_in_verify`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::otp::Window;
use mfa_kit::prelude::*;
use mfa_kit::seal::SecretSealer;
use mfa_kit::store::Store;

#[macro_use]
#[path = "support/ready.rs"]
mod ready;

const T0: u64 = 1_700_000_000;

/// Enrolls `user` and returns the phone's authenticator.
fn enroll<S: Store, K: SecretSealer>(mfa: &MfaService<S, K>, clock: &ManualClock, user: &UserId) -> Totp {
    let context = SignInContext::default();
    pollster::block_on(async {
        let now = clock.now().expect("clock");
        let start =
            mfa.start_enrollment(user, user.as_str(), &context).await.expect("no error").expect("starts");
        let key = KeyUri::parse(&start.uri).expect("valid URI");
        let phone = Totp::new(key.secret(), key.totp_params().expect("TOTP"));
        let first = phone.generate(now).expect("after T0").to_string();
        let second = phone.generate(now + 30).expect("after T0").to_string();
        clock.set(now + 30);
        mfa.confirm_enrollment(user, &[&first, &second], &context)
            .await
            .expect("no error")
            .expect("confirms");
        clock.set(now);
        phone
    })
}

/// A full record: recovery codes, a confirmed backup e-mail address and a device.
#[cfg(feature = "aead-sealer")]
fn fill<S: Store, K: SecretSealer>(mfa: &MfaService<S, K>, user: &UserId) {
    #[derive(Default)]
    struct Inbox(std::sync::Mutex<String>);
    impl CodeSender for Inbox {
        type Error = std::convert::Infallible;
        async fn send(
            &self,
            _: &Destination,
            message: &mfa_kit::flow::destination::CodeMessage,
        ) -> Result<(), Self::Error> {
            *self.0.lock().expect("not poisoned") = message.code().to_string();
            Ok(())
        }
    }
    let (context, inbox) = (SignInContext::default(), Inbox::default());
    pollster::block_on(async {
        mfa.generate_recovery_codes(user, &context).await.expect("no error").expect("generated");
        let email = Destination::email("sarah@smith.example").expect("an address");
        mfa.add_destination(user, email, Role::Backup, &inbox, &context)
            .await
            .expect("no error")
            .expect("sent");
        let code = inbox.0.lock().expect("not poisoned").clone();
        mfa.confirm_destination(user, &code, &context).await.expect("no error").expect("confirmed");
        mfa.remember_device(user, "laptop", 3600, &context).await.expect("no error").expect("remembered");
    });
}

fn service<K: SecretSealer>(sealer: K, clock: &ManualClock) -> MfaService<MemoryStore, K> {
    MfaService::builder("Bench", MemoryStore::new(), sealer)
        .clock(clock.clone())
        .hash_key(HashKey::from_bytes(&[7; 32]).expect("a key"))
        .build()
}

fn verify<S: Store, K: SecretSealer>(
    mfa: &MfaService<S, K>,
    clock: &ManualClock,
    user: &UserId,
    time: u64,
    code: &str,
) {
    clock.set(time);
    let context = SignInContext::default();
    let outcome = ready!(mfa.verify_code(user, code, &context)).expect("no error");
    assert!(outcome.is_ok(), "{outcome:?}");
}

fn single(c: &mut Criterion) {
    let clock = ManualClock::new(T0);
    let plain = service(PlaintextSealer, &clock);
    let user = UserId::new("sarah");
    let phone = enroll(&plain, &clock, &user);
    #[cfg(feature = "aead-sealer")]
    let full = {
        let full = service(mfa_kit::seal::AeadSealer::new("2026-11", [3; 32]), &clock);
        let phone = enroll(&full, &clock, &user);
        fill(&full, &user);
        (full, phone)
    };
    // Setups run in batches ahead of the routines, so each code carries its own time.
    let mut time = T0 + 60;
    let mut next = move |phone: &Totp| {
        time += 30;
        (time, phone.generate(time).expect("after T0").to_string())
    };

    // The host's id for the user, as it comes from a session: equal to the record's,
    // but not the same text in memory.
    let user = UserId::new(user.as_str());
    let mut group = c.benchmark_group("sign_in_verify");
    group.bench_function("core-verify", |b| {
        b.iter_batched(
            || next(&phone),
            |(time, code)| {
                clock.set(time);
                let parsed = phone.parse_code(black_box(&code)).expect("six digits");
                assert!(phone.verify(&parsed, time, Window::ONE, None).expect("after T0").is_accepted());
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("service, authenticator only", |b| {
        b.iter_batched(
            || next(&phone),
            |(time, code)| verify(&plain, &clock, &user, time, &code),
            BatchSize::SmallInput,
        )
    });
    #[cfg(feature = "aead-sealer")]
    group.bench_function("service, full record, AEAD sealer", |b| {
        let (full, phone) = &full;
        b.iter_batched(
            || next(phone),
            |(time, code)| verify(full, &clock, &user, time, &code),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

thread_local! {
    /// Each app-server thread's own clock reading.
    static NOW: std::cell::Cell<u64> = const { std::cell::Cell::new(T0) };
}

/// A clock each thread sets for itself, so threads verifying for different users each
/// move through their own time steps.
#[derive(Clone, Copy, Debug)]
struct ThreadClock;

impl Clock for ThreadClock {
    fn now(&self) -> Result<u64, mfa_kit::clock::ClockError> {
        Ok(NOW.with(std::cell::Cell::get))
    }
}

/// `per_thread` verifications for each user, each user on its own thread.
fn run_threads(
    mfa: &MfaService<MemoryStore, PlaintextSealer>,
    phones: &[(UserId, Totp)],
    start: u64,
    per_thread: u64,
) -> Duration {
    let began = Instant::now();
    std::thread::scope(|scope| {
        for (user, phone) in phones {
            scope.spawn(move || {
                let context = SignInContext::default();
                for i in 0..per_thread {
                    let time = start + 30 * (i + 1);
                    NOW.with(|now| now.set(time));
                    let code = phone.generate(time).expect("after T0").to_string();
                    let outcome = ready!(mfa.verify_code(user, &code, &context));
                    assert!(outcome.expect("no error").is_ok());
                }
            });
        }
    });
    began.elapsed()
}

fn threads(c: &mut Criterion) {
    let clock = ManualClock::new(T0);
    let mfa = MfaService::builder("Bench", MemoryStore::new(), PlaintextSealer).clock(ThreadClock).build();
    let phones: Vec<(UserId, Totp)> = (0..2)
        .map(|i| {
            let user = UserId::new(format!("user-{i}"));
            let enrolling = service(PlaintextSealer, &clock);
            let phone = enroll(&enrolling, &clock, &user);
            let record = pollster::block_on(enrolling.record(&user)).expect("stored");
            let saved = pollster::block_on(mfa.store().save(record.clone(), None, vec![])).expect("saved");
            assert!(matches!(saved, mfa_kit::store::SaveOutcome::Saved(_)));
            // Verified under the host's own copy of the id, as in `single`.
            (UserId::new(user.as_str()), phone)
        })
        .collect();
    let mut start = T0 + 60;
    let mut group = c.benchmark_group("sign_in_threads");
    for (name, count) in [("1 thread, 2 users in turn", 1usize), ("2 threads, 1 user each", 2)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                // The same work either way: `iterations` verifications for each of 2 users.
                let elapsed = if count == 2 {
                    run_threads(&mfa, &phones, start, iterations)
                } else {
                    run_threads(&mfa, &phones[..1], start, iterations)
                        + run_threads(&mfa, &phones[1..], start, iterations)
                };
                start += 30 * (iterations + 1);
                elapsed
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = signin;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = single, threads
}
criterion_main!(signin);
