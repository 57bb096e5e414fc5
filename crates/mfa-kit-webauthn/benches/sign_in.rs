//! What a security-key sign-in costs through the service on the in-memory store, beside
//! an authenticator-app sign-in in the same run.
//!
//! - `totp`: `MfaService::verify_code` with the next time step's code.
//! - `security_key`: `MfaService::start_security_key` and `verify_security_key` with a
//!   real ES256 signature from webauthn-authenticator-rs's software passkey; the time
//!   the software authenticator takes to sign (the user's device, not the server) is
//!   left out of the measurement.
//! - `security_key_verify`: `verify_security_key` alone (the options were made and
//!   signed outside the measurement).
//! - `authenticator_sign`: the software passkey signing alone, for scale.
//!
//! The four functions run one after the other in one group of one run; compare them
//! only within a run, and run it more than once on a machine whose speed drifts. Run:
//! `cargo bench -p mfa-kit-webauthn --bench sign_in`, then
//! `scripts/bench-table.py --base totp security_key_sign_in`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use mfa_kit::UserId;
use mfa_kit::clock::{Clock, ManualClock};
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::otp::Totp;
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::policy::SignInContext;
use mfa_kit::service::MfaService;
use mfa_kit::store::MemoryStore;
use mfa_kit_webauthn::WebauthnParty;
use webauthn_authenticator_rs::prelude::{Url, WebauthnAuthenticator};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_core::proto::{CreationChallengeResponse, RequestChallengeResponse};

const T0: u64 = 1_700_000_000;
const ORIGIN: &str = "http://localhost:3000";

type Service = MfaService<MemoryStore, PlaintextSealer>;

fn service(clock: &ManualClock) -> Service {
    let party = WebauthnParty::builder("localhost", ORIGIN).build().expect("a relying party");
    MfaService::builder("Bench", MemoryStore::new(), PlaintextSealer)
        .clock(clock.clone())
        .relying_party(party)
        .build()
}

fn enroll_app(mfa: &Service, clock: &ManualClock, user: &UserId) -> Totp {
    let here = SignInContext::default();
    pollster::block_on(async {
        let now = clock.now().expect("clock");
        let start = mfa.start_enrollment(user, "bench", &here).await.expect("no error").expect("starts");
        let key = KeyUri::parse(&start.uri).expect("valid URI");
        let phone = Totp::new(key.secret(), key.totp_params().expect("TOTP"));
        let first = phone.generate(now).expect("after T0").to_string();
        let second = phone.generate(now + 30).expect("after T0").to_string();
        clock.set(now + 30);
        mfa.confirm_enrollment(user, &[&first, &second], &here).await.expect("no error").expect("confirms");
        phone
    })
}

fn register_key(mfa: &Service, user: &UserId, key: &mut SoftPasskey) {
    let here = SignInContext::default();
    pollster::block_on(async {
        let options = mfa
            .start_security_key_registration(user, "Bench key", "bench", "Bench", &here)
            .await
            .expect("no error")
            .expect("starts");
        let options: CreationChallengeResponse = serde_json::from_str(&options.options).expect("options");
        let created = key.do_registration(Url::parse(ORIGIN).expect("origin"), options).expect("registers");
        let created = serde_json::to_string(&created).expect("JSON");
        mfa.finish_security_key_registration(user, &created, &here)
            .await
            .expect("no error")
            .expect("registered");
    });
}

/// Starts a proof with the key (timed) and signs it (not timed): the answer and the
/// time the start took.
fn start_and_sign(mfa: &Service, user: &UserId, key: &mut SoftPasskey) -> (String, Duration) {
    let here = SignInContext::default();
    let began = Instant::now();
    let options = pollster::block_on(mfa.start_security_key(user, &here)).expect("no error").expect("starts");
    let started = began.elapsed();
    let options: RequestChallengeResponse = serde_json::from_str(&options.options).expect("options");
    let signed = key.do_authentication(Url::parse(ORIGIN).expect("origin"), options).expect("signs");
    (serde_json::to_string(&signed).expect("JSON"), started)
}

fn sign_in(c: &mut Criterion) {
    let clock = ManualClock::new(T0);
    let mfa = service(&clock);
    let here = SignInContext::default();
    let (app_user, key_user) = (UserId::new("app"), UserId::new("key"));
    let phone = enroll_app(&mfa, &clock, &app_user);
    let mut key = SoftPasskey::new(true);
    register_key(&mfa, &key_user, &mut key);

    let mut group = c.benchmark_group("security_key_sign_in");
    group.bench_function("totp", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                clock.advance(30);
                let code = phone.generate(clock.now().expect("clock")).expect("after T0").to_string();
                let began = Instant::now();
                let proof = pollster::block_on(mfa.verify_code(&app_user, &code, &here));
                spent += began.elapsed();
                assert!(black_box(proof).expect("no error").is_ok());
            }
            spent
        });
    });
    group.bench_function("security_key", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                clock.advance(1);
                let (answer, started) = start_and_sign(&mfa, &key_user, &mut key);
                let began = Instant::now();
                let proof = pollster::block_on(mfa.verify_security_key(&key_user, &answer, &here));
                spent += started + began.elapsed();
                assert!(black_box(proof).expect("no error").is_ok());
            }
            spent
        });
    });
    group.bench_function("security_key_verify", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                clock.advance(1);
                let (answer, _) = start_and_sign(&mfa, &key_user, &mut key);
                let began = Instant::now();
                let proof = pollster::block_on(mfa.verify_security_key(&key_user, &answer, &here));
                spent += began.elapsed();
                assert!(black_box(proof).expect("no error").is_ok());
            }
            spent
        });
    });
    group.bench_function("authenticator_sign", |b| {
        let options =
            pollster::block_on(mfa.start_security_key(&key_user, &here)).expect("no error").expect("starts");
        let options: RequestChallengeResponse = serde_json::from_str(&options.options).expect("options");
        let origin = Url::parse(ORIGIN).expect("origin");
        b.iter(|| black_box(key.do_authentication(origin.clone(), options.clone()).expect("signs")));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    targets = sign_in
}
criterion_main!(benches);
