//! One full sign-in verification through the service, against the in-memory store,
//! beside the bare core verification of the same code in the same run.
//!
//! The service's call loads the record, opens the sealed secret (the plaintext sealer,
//! so no KMS cost is counted), prepares the key, verifies over the learned window,
//! records the accepted step and saves conditionally. Each iteration uses the next time
//! step's code, since an accepted code is never accepted again.
//!
//! Run: `cargo bench --bench signin`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use mfa_kit::Window;
use mfa_kit::event::DiscardAudit;
use mfa_kit::prelude::*;

fn benches(c: &mut Criterion) {
    let clock = ManualClock::new(1_700_000_000);
    let mfa = MfaService::builder("Bench", MemoryStore::new(), PlaintextSealer)
        .clock(clock.clone())
        .audit(DiscardAudit)
        .build();
    let user = UserId::new("sarah");
    let context = SignInContext::default();
    let phone = pollster::block_on(async {
        let start = mfa.start_enrollment(&user, "sarah", &context).await.expect("no error").expect("starts");
        let key = KeyUri::parse(&start.uri).expect("valid URI");
        let phone = Totp::new(key.secret(), key.totp_params().expect("TOTP"));
        let first = phone.generate(clock.now().expect("clock")).expect("after T0").to_string();
        clock.advance(30);
        let second = phone.generate(clock.now().expect("clock")).expect("after T0").to_string();
        let outcome = mfa.confirm_enrollment(&user, &[&first, &second], &context).await.expect("no error");
        assert!(outcome.is_ok());
        phone
    });
    // Setups run in batches ahead of the routines, so each code carries its own time.
    let mut time = clock.now().expect("clock");
    let generator = &phone;
    let mut next_code = move || {
        time += 30;
        (time, generator.generate(time).expect("after T0").to_string())
    };

    let mut group = c.benchmark_group("sign_in_verify");
    group.bench_function("mfa-kit service, memory store", |b| {
        b.iter_batched(
            &mut next_code,
            |(time, code)| {
                clock.set(time);
                let outcome = pollster::block_on(mfa.verify_code(&user, &code, &context)).expect("no error");
                assert!(outcome.is_ok());
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("core-verify", |b| {
        b.iter_batched(
            &mut next_code,
            |(time, code)| {
                clock.set(time);
                let parsed = phone.parse_code(black_box(&code)).expect("six digits");
                assert!(phone.verify(&parsed, time, Window::ONE, None).expect("after T0").is_accepted());
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = signin;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(signin);
