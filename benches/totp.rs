//! TOTP generation and verification, mfa-kit against its peers and the HMAC floor.
//!
//! All functions use the same 20-byte secret, SHA-1, 6 digits, 30 s and time.
//! `verify_window1_worst` verifies the code of the newest step in a window of one step
//! behind and one ahead (the step the slowest peer checks last); `verify_window1_wrong`
//! verifies a code that matches no step. Each verify function takes the code as text,
//! as a host receives it.
//!
//! `hmac-floor` is the physical floor: HMAC-SHA1 straight from the SHA-1 compression
//! function with the key^ipad and key^opad states prepared once (RFC 2104 §4), two
//! compressions per code, plus truncation and comparison. `hmac-clone` is the common
//! idiom of cloning a keyed RustCrypto `Hmac` per code, for reference.
//!
//! Run: `cargo bench --bench totp`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{KeyInit, Mac};

const SECRET: &[u8; 20] = b"12345678901234567890";
const NOW: u64 = 1_700_000_000;
const STEP: u64 = 30;

/// HMAC-SHA1 of a counter from prepared inner and outer compression states.
struct Floor {
    inner: [u32; 5],
    outer: [u32; 5],
}

impl Floor {
    const IV: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];

    fn new(key: &[u8; 20]) -> Floor {
        let mut block = [0u8; 64];
        block[..20].copy_from_slice(key);
        let (mut inner, mut outer) = (Floor::IV, Floor::IV);
        let ipad = block.map(|b| b ^ 0x36);
        let opad = block.map(|b| b ^ 0x5c);
        sha1::block_api::compress(&mut inner, &[ipad]);
        sha1::block_api::compress(&mut outer, &[opad]);
        Floor { inner, outer }
    }

    fn code(&self, counter: u64) -> u32 {
        let mut block = [0u8; 64];
        block[..8].copy_from_slice(&counter.to_be_bytes());
        block[8] = 0x80;
        block[56..].copy_from_slice(&((64u64 + 8) * 8).to_be_bytes());
        let mut state = self.inner;
        sha1::block_api::compress(&mut state, &[block]);
        let mut block = [0u8; 64];
        for (chunk, word) in block.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        block[20] = 0x80;
        block[56..].copy_from_slice(&((64u64 + 20) * 8).to_be_bytes());
        let mut state = self.outer;
        sha1::block_api::compress(&mut state, &[block]);
        let mut digest = [0u8; 20];
        for (chunk, word) in digest.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        truncate(&digest)
    }
}

fn truncate(digest: &[u8]) -> u32 {
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let value =
        u32::from_be_bytes([digest[offset], digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    (value & 0x7fff_ffff) % 1_000_000
}

/// Checks all three steps of the window without an early exit, as mfa-kit does.
fn floor_verify(floor: &Floor, code: &str) -> bool {
    let Ok(wanted) = code.parse::<u32>() else { return false };
    let now = NOW / STEP;
    let mut found = false;
    for step in [now - 1, now, now + 1] {
        found |= floor.code(step) == wanted;
    }
    found
}

fn hmac_clone_code(keyed: &hmac::Hmac<sha1::Sha1>, counter: u64) -> u32 {
    let mut mac = keyed.clone();
    mac.update(&counter.to_be_bytes());
    truncate(&mac.finalize().into_bytes())
}

fn hmac_clone_verify(keyed: &hmac::Hmac<sha1::Sha1>, code: &str) -> bool {
    let Ok(wanted) = code.parse::<u32>() else { return false };
    let now = NOW / STEP;
    let mut found = false;
    for step in [now - 1, now, now + 1] {
        found |= hmac_clone_code(keyed, step) == wanted;
    }
    found
}

fn totp_lite_verify(code: &str) -> bool {
    let mut found = false;
    for time in [NOW - STEP, NOW, NOW + STEP] {
        found |= totp_lite::totp_custom::<totp_lite::Sha1>(STEP, 6, SECRET, time) == code;
    }
    found
}

fn libreauth_totp() -> libreauth::oath::TOTPBuilder {
    let mut builder = libreauth::oath::TOTPBuilder::new();
    builder.key(SECRET.as_ref()).timestamp(NOW as i64).tolerance(1);
    builder
}

fn benches(c: &mut Criterion) {
    let secret = mfa_kit::otp::Secret::from_bytes(SECRET).expect("20-byte secret");
    let ours = mfa_kit::otp::Totp::new(&secret, mfa_kit::otp::TotpParams::DEFAULT);
    let theirs = totp_rs::Builder::new().with_secret(SECRET.to_vec()).with_skew(1).build().expect("totp-rs");
    let floor = Floor::new(SECRET);
    let keyed = hmac::Hmac::<sha1::Sha1>::new_from_slice(SECRET).expect("any key length");

    let newest = ours.generate(NOW + STEP).expect("after T0").to_string();
    let wrong = {
        let valid: Vec<String> = [NOW - STEP, NOW, NOW + STEP]
            .iter()
            .map(|t| ours.generate(*t).expect("after T0").to_string())
            .collect();
        (0..1_000_000).map(|n| format!("{n:06}")).find(|c| !valid.contains(c)).expect("a wrong code")
    };

    let mut group = c.benchmark_group("generate");
    group.bench_function("mfa-kit", |b| b.iter(|| ours.generate(black_box(NOW))));
    group.bench_function("totp-rs", |b| b.iter(|| theirs.generate(black_box(NOW))));
    group.bench_function("totp-lite", |b| {
        b.iter(|| totp_lite::totp_custom::<totp_lite::Sha1>(STEP, 6, black_box(SECRET), black_box(NOW)))
    });
    group.bench_function("libreauth", |b| {
        b.iter(|| black_box(libreauth_totp()).finalize().map(|t| t.generate()))
    });
    group.bench_function("hmac-clone", |b| b.iter(|| hmac_clone_code(&keyed, black_box(NOW / STEP))));
    group.bench_function("hmac-floor", |b| b.iter(|| floor.code(black_box(NOW / STEP))));
    group.finish();

    for (name, code) in [("verify_window1_worst", &newest), ("verify_window1_wrong", &wrong)] {
        let expected = code == &newest;
        let window = mfa_kit::otp::Window::ONE;
        let ours_verify = |code: &str| {
            ours.parse_code(code)
                .ok()
                .and_then(|code| ours.verify(&code, NOW, window, None).ok())
                .is_some_and(|v| v.is_accepted())
        };
        // Every function must agree before it is timed.
        assert_eq!(ours_verify(code), expected);
        assert_eq!(theirs.check(code, NOW).is_some(), expected);
        assert_eq!(totp_lite_verify(code), expected);
        assert_eq!(libreauth_totp().finalize().expect("libreauth").is_valid(code), expected);
        assert_eq!(hmac_clone_verify(&keyed, code), expected);
        assert_eq!(floor_verify(&floor, code), expected);

        let mut group = c.benchmark_group(name);
        group.bench_function("mfa-kit", |b| b.iter(|| ours_verify(black_box(code))));
        group.bench_function("totp-rs", |b| b.iter(|| theirs.check(black_box(code), black_box(NOW))));
        group.bench_function("totp-lite", |b| b.iter(|| totp_lite_verify(black_box(code))));
        group.bench_function("libreauth", |b| {
            b.iter(|| libreauth_totp().finalize().map(|t| t.is_valid(black_box(code))))
        });
        group.bench_function("hmac-clone", |b| b.iter(|| hmac_clone_verify(&keyed, black_box(code))));
        group.bench_function("hmac-floor", |b| b.iter(|| floor_verify(&floor, black_box(code))));
        group.finish();
    }
}

criterion_group! {
    name = totp;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(4));
    targets = benches
}
criterion_main!(totp);
