//! A fixed amount of sign-in work for `valgrind --tool=callgrind`, which counts
//! instructions (the same count whatever else the machine is doing):
//! `instructions MODE CALLS` verifies CALLS fresh codes with the core (`core`), the
//! service on an authenticator-only record (`service`), or the service on a full
//! record with the AEAD sealer (`full`, feature `aead-sealer`); `generate` only makes
//! the codes (what the phone does, subtracted from the others); `MODE 0` is the set-up
//! alone, to subtract. `scripts/instructions.sh` runs all and prints ratios.

use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::otp::Window;
use mfa_kit::prelude::*;
use mfa_kit::seal::SecretSealer;

#[macro_use]
#[path = "support/ready.rs"]
mod ready;

const T0: u64 = 1_700_000_000;

fn enroll<K: SecretSealer>(sealer: K, clock: &ManualClock, full: bool) -> (MfaService<MemoryStore, K>, Totp) {
    let mfa = MfaService::builder("Bench", MemoryStore::new(), sealer)
        .clock(clock.clone())
        .hash_key(HashKey::from_bytes(&[7; 32]).expect("a key"))
        .build();
    let (user, context) = (UserId::new("sarah"), SignInContext::default());
    let phone = pollster::block_on(async {
        let start = mfa.start_enrollment(&user, "sarah", &context).await.expect("ok").expect("starts");
        let key = KeyUri::parse(&start.uri).expect("valid URI");
        let phone = Totp::new(key.secret(), key.totp_params().expect("TOTP"));
        let first = phone.generate(T0).expect("after T0").to_string();
        clock.set(T0 + 30);
        let second = phone.generate(T0 + 30).expect("after T0").to_string();
        mfa.confirm_enrollment(&user, &[&first, &second], &context).await.expect("ok").expect("confirms");
        if full {
            mfa.generate_recovery_codes(&user, &context).await.expect("ok").expect("generated");
            mfa.remember_device(&user, "laptop", 3600, &context).await.expect("ok").expect("remembered");
        }
        phone
    });
    (mfa, phone)
}

fn run<K: SecretSealer>(mfa: &MfaService<MemoryStore, K>, clock: &ManualClock, phone: &Totp, calls: u64) {
    // The host's own id for the user, as it comes from a session: not the record's.
    let (user, context) = (UserId::new("sarah"), SignInContext::default());
    for i in 0..calls {
        let time = T0 + 60 + 30 * i;
        clock.set(time);
        let code = phone.generate(time).expect("after T0").to_string();
        let outcome = ready!(mfa.verify_code(&user, &code, &context)).expect("no error");
        assert!(outcome.is_ok());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let mode = args.first().map_or("core", String::as_str);
    let calls: u64 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    let clock = ManualClock::new(T0);
    match mode {
        "generate" => {
            let (_, phone) = enroll(PlaintextSealer, &clock, false);
            for i in 0..calls {
                let time = T0 + 60 + 30 * i;
                std::hint::black_box(phone.generate(time).expect("after T0").to_string());
            }
        }
        "core" => {
            let (_, phone) = enroll(PlaintextSealer, &clock, false);
            for i in 0..calls {
                let time = T0 + 60 + 30 * i;
                let code = phone.generate(time).expect("after T0").to_string();
                let parsed = phone.parse_code(std::hint::black_box(&code)).expect("six digits");
                assert!(phone.verify(&parsed, time, Window::ONE, None).expect("after T0").is_accepted());
            }
        }
        "service" => {
            let (mfa, phone) = enroll(PlaintextSealer, &clock, false);
            run(&mfa, &clock, &phone, calls);
        }
        #[cfg(feature = "aead-sealer")]
        "full" => {
            let (mfa, phone) = enroll(mfa_kit::seal::AeadSealer::new("2026-11", [3; 32]), &clock, true);
            run(&mfa, &clock, &phone, calls);
        }
        other => eprintln!("unknown mode {other}: core, service or full"),
    }
}
