//! The verify path allocates nothing: proved with a counting global allocator.
//!
//! This file holds a single test so that no other test allocates while it counts.
#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::Counting;
use mfa_kit::otp::{Algorithm, Code, Digits, Hotp, Secret, Totp, TotpParams, Window};

#[global_allocator]
static GLOBAL: Counting = Counting;

use counting_alloc::allocations_during;

#[test]
fn parsing_and_verifying_a_code_allocates_nothing() {
    let now = 1_700_000_000;
    let totps: Vec<Totp> =
        [(Algorithm::Sha1, 20), (Algorithm::Sha256, 32), (Algorithm::Sha512, 64), (Algorithm::Sha1, 100)]
            .into_iter()
            .map(|(algorithm, len)| {
                let secret = Secret::from_bytes(&vec![7; len]).unwrap();
                Totp::new(&secret, TotpParams::DEFAULT.with_algorithm(algorithm))
            })
            .collect();
    let hotp = Hotp::new(&Secret::from_bytes(&[9; 20]).unwrap(), Algorithm::Sha1, Digits::SIX);
    let inputs: Vec<String> = totps
        .iter()
        .map(|t| t.generate(now + 30).unwrap().to_string())
        .chain(["000 000".to_string(), "12a456".to_string()])
        .collect();

    let mut accepted = 0;
    let count = allocations_during(|| {
        for totp in &totps {
            for input in &inputs {
                if let Ok(code) = totp.parse_code(input) {
                    accepted +=
                        usize::from(totp.verify(&code, now, Window::ONE, Some(0)).unwrap().is_accepted());
                    accepted += usize::from(
                        totp.verify(&code, now, Window::symmetric(10), None).unwrap().is_accepted(),
                    );
                }
            }
            std::hint::black_box(totp.generate(now).unwrap());
        }
        let code = Code::parse("123456", Digits::SIX).unwrap();
        std::hint::black_box(hotp.verify(&code, 0, 50));
    });
    assert_eq!(count, 0, "the verify path allocated {count} times");
    // Each credential accepted its own code, in both windows.
    assert_eq!(accepted, 2 * totps.len());

    // The counter itself works: building a secret allocates.
    assert!(allocations_during(|| drop(std::hint::black_box(Secret::from_bytes(&[1; 20]).unwrap()))) > 0);
}
