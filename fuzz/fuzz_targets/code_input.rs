//! A typed code (`Code::parse`, `Totp::parse_code`) on any text: never panics, reads
//! exactly the promised digits, and a code is checked by `Totp::verify` without
//! panicking at any time and window.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mfa_kit::otp::{Code, Digits, Secret, Totp, TotpParams, Window};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    digits: u8,
    period: u64,
    t0: u64,
    now: u64,
    behind: u8,
    ahead: u8,
    floor: Option<u64>,
    typed: &'a str,
}

fuzz_target!(|input: Input<'_>| {
    let digits = Digits::new(u64::from(6 + input.digits % 3)).expect("6 to 8");
    let Ok(code) = Code::parse(input.typed, digits) else { return };
    let shown = code.to_string();
    assert_eq!(shown.len(), usize::from(digits.get()), "{:?}", input.typed);
    let typed_digits: String = input.typed.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(shown, typed_digits, "{:?}", input.typed);
    assert_eq!(Code::parse(&shown, digits).map(|c| c.to_string()), Ok(shown.clone()));
    assert!(!format!("{code:?}").contains(&shown));

    let Ok(params) = TotpParams::DEFAULT.with_digits(u64::from(digits.get())) else { return };
    let Ok(params) = params.with_period(input.period.max(1)) else { return };
    let secret = Secret::from_bytes(b"12345678901234567890").expect("valid");
    let totp = Totp::new(&secret, params.with_t0(input.t0));
    let parsed = totp.parse_code(input.typed).expect("same digits as Code::parse");
    assert_eq!(parsed.to_string(), shown);
    let window = Window::new(input.behind, input.ahead);
    match totp.verify(&parsed, input.now, window, input.floor) {
        Err(_) => assert!(input.now < input.t0),
        Ok(verification) => {
            let step = totp.step_at(input.now).expect("after t0");
            if let Some(found) = verification.accepted() {
                assert!(input.floor.is_none_or(|floor| found.step > floor));
                assert_eq!(totp.generate_at_step(found.step).to_string(), shown);
                assert_eq!(i128::from(found.step) - i128::from(step), i128::from(found.drift));
                assert!(found.drift >= -i64::from(input.behind) && found.drift <= i64::from(input.ahead));
            }
        }
    }
});
