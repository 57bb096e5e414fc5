//! The TOTP core's documented rules at their edges (R1-R5, R29): the RFC vectors at
//! every length, typed codes, the replay floor ahead of now, secret lengths, grouping,
//! redaction, Key URIs as other tools write them, ties between steps, and imports at
//! the 128-bit boundary. Each test's comment names the rule it holds to.

mod common;

use common::*;
use mfa_kit::Refusal;
use mfa_kit::event::EventKind;
use mfa_kit::otp::uri::{KeyUri, OtpKind, UriError};
use mfa_kit::otp::{
    Algorithm, Code, CodeError, Digits, Hotp, Secret, StepMatch, Totp, TotpParams, Verification, Window,
};

// R1 "6 to 8 digits" over RFC 6238 appendix B. The unit tests check the
// 8-digit vectors only; a 6- or 7-digit code is the same truncated value modulo 10^6 or
// 10^7 (RFC 4226 §5.3), so it is the last 6 or 7 digits of the 8-digit vector, for each
// hash, and `Hotp` of the step gives the same code as `Totp` at the time (TOTP over HOTP).
#[test]
fn rfc6238_vectors_at_six_and_seven_digits_and_totp_is_hotp_of_the_step() {
    let rows: [(u64, [&str; 3]); 6] = [
        (59, ["94287082", "46119246", "90693936"]),
        (1_111_111_109, ["07081804", "68084774", "25091201"]),
        (1_111_111_111, ["14050471", "67062674", "99943326"]),
        (1_234_567_890, ["89005924", "91819424", "93441116"]),
        (2_000_000_000, ["69279037", "90698825", "38618901"]),
        (20_000_000_000, ["65353130", "77737706", "47863826"]),
    ];
    let seeds: [(&[u8], Algorithm); 3] = [
        (b"12345678901234567890", Algorithm::Sha1),
        (b"12345678901234567890123456789012", Algorithm::Sha256),
        (b"1234567890123456789012345678901234567890123456789012345678901234", Algorithm::Sha512),
    ];
    for (time, codes) in rows {
        for ((seed, algorithm), eight) in seeds.iter().zip(codes) {
            let secret = Secret::from_bytes(seed).unwrap();
            for digits in [6u64, 7, 8] {
                let params = TotpParams::DEFAULT.with_algorithm(*algorithm).with_digits(digits).unwrap();
                let totp = Totp::new(&secret, params);
                let expected = &eight[8 - digits as usize..];
                let code = totp.generate(time).unwrap();
                assert_eq!(code.to_string(), expected, "{algorithm} {digits} digits at {time}");
                let hotp = Hotp::new(&secret, *algorithm, params.digits());
                assert_eq!(hotp.generate(time / 30).to_string(), expected, "HOTP {algorithm} {digits}");
                let typed = totp.parse_code(expected).unwrap();
                assert_eq!(
                    totp.verify(&typed, time, Window::EXACT, None).unwrap(),
                    Verification::Accepted(StepMatch { step: time / 30, drift: 0 })
                );
                assert_eq!(hotp.verify(&typed, time / 30, 0), Some(time / 30));
            }
        }
    }
}

// `Code::parse`: "any character that is neither an ASCII digit nor white space" is
// refused, so every white space is let through: the no-break (U+00A0) and thin
// (U+2009) spaces of a code copied from a page or a phone's notification, the
// ideographic space (U+3000) of a CJK keyboard, form feed and vertical tab.
#[test]
fn code_parse_accepts_any_white_space_as_documented() {
    for input in ["123\u{a0}456", "123\u{2009}456", "123\u{3000}456", "123\u{c}456", "\u{b}123456"] {
        assert_eq!(
            Code::parse(input, Digits::SIX).map(|c| c.to_string()),
            Ok("123456".to_string()),
            "{input:?}: white space is neither to be refused nor counted"
        );
    }
}

// src/otp/error.rs:67 "The 1-based position of the first offending character":
// counted in characters, not bytes, whatever comes before it; and a code longer than
// the credential's is `WrongLength` with the count typed.
#[test]
fn code_errors_count_characters_and_hold_no_digits() {
    assert_eq!(Code::parse("é12345", Digits::SIX).unwrap_err(), CodeError::InvalidCharacter { position: 1 });
    assert_eq!(Code::parse("1é2345", Digits::SIX).unwrap_err(), CodeError::InvalidCharacter { position: 2 });
    assert_eq!(Code::parse("12é345", Digits::SIX).unwrap_err(), CodeError::InvalidCharacter { position: 3 });
    assert_eq!(Code::parse("😀😀x", Digits::SIX).unwrap_err(), CodeError::InvalidCharacter { position: 1 });
    assert_eq!(
        Code::parse("12345678", Digits::SEVEN).unwrap_err(),
        CodeError::WrongLength { expected: 7, found: 8 }
    );
}

// R3 "a step at or before the last accepted step is rejected", with the floor
// ahead of the current step (a code accepted on a clock that was ahead, then the clock
// fixed): every code in the window is then at or below the floor, so a right code is
// `Replayed`, never `Accepted`, and `Replayed` names the step it matched.
#[test]
fn a_floor_ahead_of_now_refuses_every_step_up_to_it() {
    let totp = Totp::new(&Secret::from_bytes(&[9; 20]).unwrap(), TotpParams::DEFAULT);
    let now = 1_000_000u64;
    for offset in -3i64..=3 {
        let step = now.checked_add_signed(offset).unwrap();
        let code = totp.generate_at_step(step);
        let verdict = totp.verify_around_step(&code, now, Window::symmetric(3), Some(now + 3));
        // The key has no two equal codes among these seven steps, so the match is
        // the code's own step.
        assert_eq!(verdict, Verification::Replayed(StepMatch { step, drift: offset }), "{offset}");
    }
    // The step after the floor is fresh again.
    let fresh = totp.generate_at_step(now + 4);
    assert_eq!(
        totp.verify_around_step(&fresh, now, Window::new(0, 4), Some(now + 3)),
        Verification::Accepted(StepMatch { step: now + 4, drift: 4 })
    );
}

// R4 "160 bits by default (RFC 4226 section 4)" and src/otp/secret.rs:36-37
// "MIN_GENERATED_LEN ... RFC 4226 §4 asks for 128 bits": every length from 0 to the
// minimum is raised, each byte length above it is kept exactly, `MAX_LEN` itself is
// allowed, and a generated secret's grouped form types back to the same key.
#[test]
fn generated_secret_lengths() {
    for len in 0..=Secret::MIN_GENERATED_LEN {
        assert_eq!(Secret::generate_len(len).unwrap().bit_len(), 128, "{len}");
    }
    for len in [17, 20, 32, 64, Secret::MAX_LEN] {
        assert_eq!(Secret::generate_len(len).unwrap().len(), len);
    }
    assert!(Secret::generate_len(Secret::MAX_LEN + 1).is_err());
    let secret = Secret::generate().unwrap();
    assert_eq!(secret.bit_len(), 160);
    let grouped = secret.to_base32_grouped();
    assert_eq!(grouped.split(' ').map(str::len).collect::<Vec<_>>(), vec![4; 8]);
    assert_eq!(Secret::from_base32(&grouped.to_lowercase()).unwrap(), secret);
}

// R5 "the secret as base32 in groups of four for typing by hand": when the
// base32 length is not a multiple of four (128 bits is 26 characters), the groups are
// of four from the start and only the last is shorter; no trailing space.
#[test]
fn grouping_of_a_length_not_a_multiple_of_four() {
    let secret = Secret::from_bytes(&[0xAB; 16]).unwrap();
    let grouped = secret.to_base32_grouped();
    let sizes: Vec<usize> = grouped.split(' ').map(str::len).collect();
    assert_eq!(sizes, vec![4, 4, 4, 4, 4, 4, 2], "{}", grouped.as_str());
    assert!(!grouped.ends_with(' '));
    assert_eq!(grouped.replace(' ', ""), *secret.to_base32());
}

// R4 "never printed by Debug", through the types that hold a secret or a code:
// `Totp`, `Hotp`, `KeyUri`, `Code` and `Verification`.
#[test]
fn debug_of_everything_holding_a_secret_is_redacted() {
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    let b32 = secret.to_base32().to_string();
    let totp = Totp::new(&secret, TotpParams::DEFAULT);
    let hotp = Hotp::new(&secret, Algorithm::Sha1, Digits::SIX);
    let uri = KeyUri::totp("I", "a", secret.clone(), TotpParams::DEFAULT).unwrap();
    let code = hotp.generate(0); // 755224
    let shown = format!("{secret:?} {totp:?} {hotp:?} {uri:?} {code:?} {secret:#?} {uri:#?} {totp:#?}");
    for leak in [&b32[..8], "12345678", "755224", "49, 50", "0x31"] {
        assert!(!shown.contains(leak), "{leak} in {shown}");
    }
}

// ---------------------------------------------------------------------------------
// otpauth:// URIs
// ---------------------------------------------------------------------------------

const JB: &str = "JBSWY3DPEHPK3PXP";

// src/otp/uri.rs:10 "Label parts are percent-encoded with %20 for spaces, never +" and
// every byte outside RFC 3986's unreserved set escaped (uri.rs:491), for characters
// that break a URI or a query if written plain.
#[test]
fn issuer_and_account_are_percent_encoded() {
    let uri = KeyUri::totp("A&B=C?D#E/F%G", "x y+z@ü", Secret::from_base32(JB).unwrap(), TotpParams::DEFAULT)
        .unwrap();
    assert_eq!(
        *uri.to_uri(),
        format!(
            "otpauth://totp/A%26B%3DC%3FD%23E%2FF%25G:x%20y%2Bz%40%C3%BC?secret={JB}&issuer=A%26B%3DC%3FD%23E%2FF%25G"
        )
    );
}

// src/otp/uri.rs:299-300 "parameters this crate does not use (such as image) are
// ignored", including ones the crate has no decoding for (a broken `%` in an unused
// value) and ones that repeat; and the parameter names in any case.
#[test]
fn unknown_parameters_are_ignored_even_repeated_or_oddly_encoded() {
    let text = format!(
        "otpauth://totp/Acme:alice?image=https%3A%2F%2Fx&SECRET={JB}&color=%ZZ&color=1&Issuer=Acme&lock=true&Digits=7"
    );
    let uri = KeyUri::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!((uri.issuer(), uri.account(), uri.digits()), (Some("Acme"), "alice", Digits::SEVEN));
}

// R5 "Parsing of such URIs too": an HOTP URI brings its counter and its
// parameters, and a `period` in an HOTP URI (or `counter` in a TOTP one) does not
// change the kind.
#[test]
fn hotp_and_totp_uris_keep_their_own_parameter() {
    let h = KeyUri::parse(&format!(
        "otpauth://hotp/A:b?secret={JB}&counter=0&period=60&digits=8&algorithm=SHA256"
    ))
    .unwrap();
    assert_eq!(
        (h.kind(), h.digits(), h.algorithm(), h.totp_params()),
        (OtpKind::Hotp { counter: 0 }, Digits::EIGHT, Algorithm::Sha256, None)
    );
    assert!(h.to_uri().ends_with("&counter=0"), "{}", h.to_uri().as_str());
    let t = KeyUri::parse(&format!("otpauth://totp/A:b?secret={JB}&counter=5&period=60")).unwrap();
    assert_eq!(t.kind(), OtpKind::Totp { period: 60 });
    assert!(!t.to_uri().contains("counter"));
}

// `KeyUri::parse` reads what real tools write (R5, R29): wstrange's GoogleAuth for Java
// builds its URI with Apache's `URIBuilder`, which writes a space in the label as `%20`
// and in the form-encoded query as `+`. Both name the issuer `ACME Co`, as the apps
// read them; this was refused as `IssuerMismatch`, and so was an import of such a key.
#[test]
fn a_plus_for_a_space_in_the_issuer_parameter_is_the_same_issuer() {
    let text = format!("otpauth://totp/ACME%20Co:john%40example.com?secret={JB}&issuer=ACME+Co");
    let uri = KeyUri::parse(&text);
    assert_eq!(uri.as_ref().map(|u| u.issuer()).ok(), Some(Some("ACME Co")), "{uri:?}");
}

// "An empty `issuer` means none": an empty `issuer=` beside a label with an issuer is
// not a second issuer that differs (it was refused as `IssuerMismatch`).
#[test]
fn an_empty_issuer_parameter_is_no_issuer() {
    let without = KeyUri::parse(&format!("otpauth://totp/Acme:alice?secret={JB}")).unwrap();
    assert_eq!(without.issuer(), Some("Acme"));
    let blank = KeyUri::parse(&format!("otpauth://totp/Acme:alice?secret={JB}&issuer="));
    assert_eq!(
        blank.as_ref().map(|u| (u.issuer(), u.account())).ok(),
        Some((Some("Acme"), "alice")),
        "{blank:?}"
    );
}

// src/otp/totp.rs:133-134 "Where several fresh steps match (a 1-in-10^digits
// coincidence), the one nearest the current step wins, the earlier on a tie", and a
// replay reports its own step: two steps at the same distance either side of now with
// the same code (found by search) are resolved to the earlier, and with the earlier at
// or below the floor, to the later one, which is fresh.
#[test]
fn a_tie_between_two_fresh_steps_goes_to_the_earlier() {
    use std::collections::HashMap;
    let totp = Totp::new(&Secret::from_bytes(b"tie-breaker key!").unwrap(), TotpParams::DEFAULT);
    let codes: Vec<String> = (0..40_000u64).map(|s| totp.generate_at_step(s).to_string()).collect();
    let mut seen: HashMap<&str, Vec<u64>> = HashMap::new();
    let mut tie = None;
    'search: for (step, code) in codes.iter().enumerate() {
        let step = step as u64;
        for &earlier in seen.get(code.as_str()).into_iter().flatten() {
            let gap = step - earlier;
            if gap.is_multiple_of(2) && gap / 2 <= 255 && gap >= 2 {
                let (mid, reach) = (earlier + gap / 2, gap / 2);
                // No nearer step may share the code.
                let nearer = (earlier + 1..step).any(|s| codes[s as usize] == *code);
                if !nearer {
                    tie = Some((earlier, mid, step, reach));
                    break 'search;
                }
            }
        }
        seen.entry(code.as_str()).or_default().push(step);
    }
    let (earlier, now, later, reach) = tie.expect("a tie among 40 000 six-digit codes");
    let code = totp.generate_at_step(earlier);
    let window = Window::symmetric(reach as u8);
    let d = reach as i64;
    assert_eq!(
        totp.verify_around_step(&code, now, window, None),
        Verification::Accepted(StepMatch { step: earlier, drift: -d })
    );
    assert_eq!(
        totp.verify_around_step(&code, now, window, Some(earlier)),
        Verification::Accepted(StepMatch { step: later, drift: d })
    );
    assert_eq!(
        totp.verify_around_step(&code, now, window, Some(later)),
        Verification::Replayed(StepMatch { step: earlier, drift: -d })
    );
}

// R5 parsing, for values the unit tests in src/otp/uri.rs do not try: a signed
// or empty number is `NotANumber` (uri.rs:65 "A numeric parameter is not a
// number"), an algorithm with a hyphen after SHA is read (src/otp/algorithm.rs:68-69 "with or
// without a hyphen after SHA (sha-256)"), R1 "any period" up to u64::MAX, and a secret
// of spaces alone is refused.
#[test]
fn parameter_edge_values() {
    let parse = |q: &str| KeyUri::parse(&format!("otpauth://totp/A:b?secret={JB}&{q}"));
    assert_eq!(parse("digits=+8").unwrap_err(), UriError::NotANumber { parameter: "digits" });
    assert_eq!(parse("digits=").unwrap_err(), UriError::NotANumber { parameter: "digits" });
    assert_eq!(parse("counter=1&period=").unwrap_err(), UriError::NotANumber { parameter: "period" });
    assert_eq!(parse("algorithm=sha-512").unwrap().algorithm(), Algorithm::Sha512);
    assert_eq!(parse("period=1").unwrap().kind(), OtpKind::Totp { period: 1 });
    assert_eq!(parse("period=18446744073709551615").unwrap().kind(), OtpKind::Totp { period: u64::MAX });
    assert_eq!(
        KeyUri::parse("otpauth://totp/A:b?secret=%20%20").unwrap_err(),
        UriError::InvalidSecret(mfa_kit::otp::SecretError::Empty)
    );
}

// ---------------------------------------------------------------------------------
// Import (R29)
// ---------------------------------------------------------------------------------

// R29 "at least 128 bits" at the boundary, through the service: 120 bits (15
// bytes, the longest key short of 128 bits base32 can carry) is refused in both forms
// (base32 and URI) and installs nothing; exactly 128 bits is accepted in either
// form, padded, grouped and lower case, and audited as `AuthenticatorImported`.
#[test]
fn import_takes_128_bits_and_refuses_120() {
    let firm = firm();
    let short = Secret::from_bytes(&[0x5A; 15]).unwrap();
    let exact = Secret::from_bytes(&[0x5A; 16]).unwrap();
    run(async {
        let short_uri = KeyUri::totp("Old", "ann", short.clone(), TotpParams::DEFAULT).unwrap().to_uri();
        for key in
            [short.to_base32().to_string(), short.to_base32_grouped().to_lowercase(), short_uri.to_string()]
        {
            let refused = firm.mfa.import_authenticator(&user("ann"), &key, &office()).await.unwrap();
            assert_eq!(refused, Err(Refusal::InvalidKey), "{key}");
        }
        assert!(firm.mfa.record(&user("ann")).await.unwrap().totp().is_none());

        let padded_lower = format!("{}======", exact.to_base32().to_lowercase());
        let exact_uri = KeyUri::totp("Old", "bob", exact.clone(), TotpParams::DEFAULT).unwrap().to_uri();
        for (who, key) in [
            ("bob", padded_lower),
            ("cat", exact.to_base32_grouped().to_string()),
            ("dan", exact_uri.to_string()),
        ] {
            let who = user(who);
            assert_eq!(firm.mfa.import_authenticator(&who, &key, &office()).await.unwrap(), Ok(()), "{key}");
            assert_eq!(firm.events(&who), vec![EventKind::AuthenticatorImported], "{key}");
            assert_eq!(firm.mfa.record(&who).await.unwrap().totp().unwrap().last_accepted_step(), None);
        }
    });
}

// R29 "the first code sets the replay floor" with a code from the step before
// (drift -1): once it is accepted, that step and every earlier one are refused, the
// current step is still accepted once, and an imported URI's own parameters (SHA-256,
// 8 digits, 60 s) are the ones codes are checked with.
#[test]
fn the_first_code_after_an_import_sets_the_floor_at_its_own_step() {
    let firm = firm();
    let secret = Secret::from_bytes(&[0x42; 32]).unwrap();
    let params = TotpParams::DEFAULT
        .with_algorithm(Algorithm::Sha256)
        .with_digits(8)
        .unwrap()
        .with_period(60)
        .unwrap();
    let uri = KeyUri::totp("Old", "eve", secret.clone(), params).unwrap().to_uri();
    let eve = user("eve");
    let phone = Totp::new(&secret, params);
    run(async {
        let imported = firm.mfa.import_authenticator(&eve, &uri, &office()).await.unwrap();
        assert_eq!(imported, Ok(()));
        use mfa_kit::clock::Clock;
        let now = firm.clock.now().unwrap();
        let previous = phone.generate(now - 60).unwrap().to_string();
        let current = phone.generate(now).unwrap().to_string();
        let proven = firm.mfa.verify_code(&eve, &previous, &office()).await.unwrap().expect("first code");
        assert_eq!(proven.drift, Some(-1));
        let step = firm.mfa.record(&eve).await.unwrap().totp().unwrap().last_accepted_step();
        assert_eq!(step, Some(now / 60 - 1));
        assert!(firm.mfa.verify_code(&eve, &previous, &office()).await.unwrap().is_err());
        assert!(firm.mfa.verify_code(&eve, &current, &office()).await.unwrap().is_ok());
        assert!(firm.mfa.verify_code(&eve, &current, &office()).await.unwrap().is_err());
    });
}
