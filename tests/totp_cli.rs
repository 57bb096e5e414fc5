//! The `totp` example against the command-line contract in the README ("The `totp` command").

#[path = "support/totp_command.rs"]
mod totp_command;

use std::process::{Command, Output};

use totp_command::{totp, totp_binary};

use mfa_kit::otp::{Algorithm, Digits, Hotp, Secret, Totp, TotpParams};
use proptest::prelude::*;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

#[test]
fn code_prints_the_code_alone_with_leading_zeros() {
    let out = totp(&["code", "--secret", RFC_SECRET, "--digits", "8", "--time", "1111111109"]);
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), "07081804\n"));
    let out = totp(&[
        "code",
        "--secret",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA",
        "--algorithm",
        "sha256",
        "--digits",
        "8",
        "--time",
        "20000000000",
    ]);
    assert_eq!(stdout(&out), "77737706\n");
}

#[test]
fn hotp_prints_the_rfc4226_codes() {
    let out = totp(&["hotp", "--secret", "gezd gnbv gy3t qojq gezd gnbv gy3t qojq", "--counter", "7"]);
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), "162583\n"));
}

#[test]
fn verify_prints_the_drift_or_rejected() {
    // At time 60 the current step is 2; the RFC 4226 codes of counters 1, 2, 3.
    for (code, drift) in [("287082", "-1\n"), ("359152", "0\n"), ("969429", "1\n")] {
        let out = totp(&["verify", "--secret", RFC_SECRET, "--code", code, "--time", "60"]);
        assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), drift), "{code}");
    }
    let out = totp(&["verify", "--secret", RFC_SECRET, "--code", "338314", "--time", "60"]);
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(1), "rejected\n"));
    let out = totp(&["verify", "--secret", RFC_SECRET, "--code", "338314", "--time", "60", "--window", "2"]);
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), "2\n"));
}

#[test]
fn uri_make_prints_the_uri_and_generates_a_secret_when_none_is_given() {
    let out =
        totp(&["uri", "make", "--issuer", "Acme Co", "--account", "a@b.c", "--secret", "jbswy3dpehpk3pxp="]);
    assert_eq!(stdout(&out), "otpauth://totp/Acme%20Co:a%40b.c?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Co\n");
    let out = totp(&["uri", "make", "--issuer", "Acme", "--account", "a", "--digits", "8"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("otpauth://totp/Acme:a?secret=") && text.ends_with("&digits=8\n"), "{text}");
    // 160 bits is 32 base32 characters.
    let secret = text.split("secret=").nth(1).unwrap().split('&').next().unwrap();
    assert_eq!(secret.len(), 32);
}

#[test]
fn uri_parse_prints_one_json_object() {
    let out = totp(&[
        "uri",
        "parse",
        "otpauth://totp/ACME%20Co:john?secret=jbswy3dpehpk3pxp&algorithm=sha256&period=60",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"type": "totp", "issuer": "ACME Co", "account": "john", "secret": "JBSWY3DPEHPK3PXP",
            "algorithm": "SHA256", "digits": 6, "period": 60, "counter": null})
    );
    let out = totp(&["uri", "parse", "otpauth://hotp/john?secret=JBSWY3DPEHPK3PXP&counter=5"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (json["type"].as_str(), json["counter"].as_u64(), json["issuer"].is_null()),
        (Some("hotp"), Some(5), true)
    );
}

#[test]
fn uri_parse_reads_an_account_with_a_colon_as_pyotp_writes_it() {
    // pyotp: TOTP("JBSWY3DPEHPK3PXP").provisioning_uri("alice:smith", issuer_name="ACME Co")
    let out = totp(&[
        "uri",
        "parse",
        "otpauth://totp/ACME%20Co:alice%3Asmith?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((json["issuer"].as_str(), json["account"].as_str()), (Some("ACME Co"), Some("alice:smith")));
    // Without the issuer parameter to anchor the label, the colon is ambiguous.
    let out = totp(&["uri", "parse", "otpauth://totp/x:alice%3Asmith?secret=JBSWY3DPEHPK3PXP"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("colon"));
    // And `uri make` still refuses to write one.
    let out = totp(&["uri", "make", "--issuer", "ACME", "--account", "alice:smith"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("colon"));
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_problem() {
    let cases: &[(&[&str], &str)] = &[
        (&["code", "--secret", "JBSW1111"], "base32"),
        (&["code", "--secret", "JBSWY3DP", "--algorithm", "md5"], "algorithm"),
        (&["code", "--secret", "JBSWY3DP", "--digits", "9"], "digits"),
        (&["code", "--secret", "JBSWY3DP", "--digits", "5"], "digits"),
        (&["code", "--secret", "JBSWY3DP", "--period", "0"], "period"),
        (&["hotp", "--secret", "JBSWY3DP"], "--counter"),
        (&["verify", "--secret", "JBSWY3DP", "--code", "12x456"], "digits"),
        (&["uri", "parse", "otpauth://totp/a?secret=JBSWY3DP&digits=12"], "digits"),
        (&["uri", "parse", "http://example.com"], "otpauth"),
        (&["uri", "make", "--issuer", "A:B", "--account", "c"], "colon"),
        (&["code", "--secret", "JBSWY3DP", "--time", "soon"], "--time"),
        (&["code", "--secret", "JBSWY3DP", "--bogus", "1"], "unknown option"),
        (&[], "usage"),
    ];
    for (args, needle) in cases {
        let out = totp(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// No input makes it panic: every run ends with 0, 1 or 2, and 2 says why in one line.
    #[test]
    fn no_input_makes_it_panic(
        command in prop_oneof![Just("code"), Just("hotp"), Just("verify"), Just("uri")],
        args in proptest::collection::vec(
            prop_oneof![
                Just("--secret".to_string()), Just("--digits".to_string()), Just("--period".to_string()),
                Just("--time".to_string()), Just("--code".to_string()), Just("--window".to_string()),
                Just("--counter".to_string()), Just("--algorithm".to_string()), Just("parse".to_string()),
                Just("make".to_string()), "[ -~]{0,12}", "[0-9]{1,25}",
            ],
            0..8,
        ),
    ) {
        let mut all = vec![command];
        all.extend(args.iter().map(String::as_str));
        let out = totp(&all);
        let code = out.status.code();
        prop_assert!(matches!(code, Some(0..=2)), "{:?} -> {:?}", all, code);
        if code == Some(2) {
            prop_assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
        }
    }
}

/// An argument that is not even UTF-8 is bad input like any other: exit 2 and one line.
#[test]
fn an_argument_that_is_not_utf8_is_bad_input() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let cases: [Vec<OsString>; 2] = [
        vec!["code".into(), "--secret".into(), OsString::from_vec(vec![0xff, 0xfe])],
        vec![
            "uri".into(),
            "parse".into(),
            OsString::from_vec(b"otpauth://totp/A:b?secret=GEZD\xff".to_vec()),
        ],
    ];
    for args in cases {
        let out = Command::new(totp_binary()).args(&args).output().expect("run the totp example");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("not valid UTF-8"), "{args:?}: {err}");
    }
}

/// A reader that closed its end before the code was written (`totp code … | true`) is
/// not a crash: the exit status still says what happened, and nothing panics.
#[test]
fn a_closed_output_is_not_a_panic() {
    use std::process::Stdio;
    for _ in 0..20 {
        let mut child = Command::new(totp_binary())
            .args(["code", "--secret", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "--time", "59"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the totp example");
        drop(child.stdout.take()); // the reader goes away at once
        let out = child.wait_with_output().expect("wait for it");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(err.is_empty(), "{err}");
    }
}

fn out(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn err(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// RFC 6238 appendix B seeds, in base32.
const SEED20: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const SEED32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA";
const SEED64: &str =
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA";

/// Asserts the contract's bad-input shape: exit 2, nothing on stdout, one line on
/// stderr that mentions `needle`.
fn assert_bad_input(args: &[&str], needle: &str) {
    let o = totp(args);
    let e = err(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
    assert!(o.stdout.is_empty(), "{args:?}: stdout {:?}", out(&o));
    assert_eq!(e.lines().count(), 1, "{args:?}: {e}");
    assert!(!e.contains("panicked"), "{args:?}: {e}");
    assert!(e.to_lowercase().contains(needle), "{args:?}: {e:?} should name {needle:?}");
}

// DESIGN.md §3 "totp hotp --secret B32 --counter N [--algorithm ..] [--digits N]"
// and "`code` and `hotp` print the code alone on one line". tests/totp_cli.rs runs
// `hotp` only with SHA-1 and 6 digits; TOTP is HOTP of the step (RFC 6238 §4), so the
// RFC 6238 vectors at T = 59 (step 1) and T = 1111111109 (step 37037036) are the HOTP
// codes of those counters with the other hashes and lengths.
#[test]
fn hotp_honours_algorithm_and_digits() {
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        (SEED32, "sha256", "8", "1", "46119246"),
        (SEED64, "SHA512", "8", "1", "90693936"),
        (SEED32, "sha256", "6", "37037036", "084774"),
        (SEED64, "sha512", "7", "37037036", "5091201"),
        (SEED20, "sha1", "7", "37037036", "7081804"),
    ];
    for (secret, algorithm, digits, counter, expected) in cases {
        let o = totp(&[
            "hotp",
            "--secret",
            secret,
            "--counter",
            counter,
            "--algorithm",
            algorithm,
            "--digits",
            digits,
        ]);
        assert_eq!(
            (o.status.code(), out(&o)),
            (Some(0), format!("{expected}\n")),
            "{algorithm} {digits} {counter}"
        );
        assert!(o.stderr.is_empty());
    }
}

// DESIGN.md §3 `totp verify ... [--algorithm ..] [--digits N] [--period S]` and
// "`verify` exits 0 and prints the matched drift in steps". tests/totp_cli.rs verifies
// only SHA-1, 6 digits, 30 s.
#[test]
fn verify_honours_algorithm_digits_and_period() {
    // RFC 6238: SHA-256, 8 digits at 1111111109 (step 37037036 of 30 s).
    let base = ["verify", "--secret", SEED32, "--algorithm", "sha256", "--digits", "8"];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        totp(&args)
    };
    let o = with(&["--code", "68084774", "--time", "1111111109"]);
    assert_eq!((o.status.code(), out(&o)), (Some(0), "0\n".to_string()));
    // One step later it is the previous code.
    let o = with(&["--code", "68084774", "--time", "1111111139"]);
    assert_eq!((o.status.code(), out(&o)), (Some(0), "-1\n".to_string()));
    // With a 60 s period, step 37037036 is the current step at 2222222160.
    let o = with(&["--code", "68084774", "--time", "2222222160", "--period", "60"]);
    assert_eq!((o.status.code(), out(&o)), (Some(0), "0\n".to_string()));
    // Same code, same time, other hash: rejected, on stdout, exit 1.
    let o =
        totp(&["verify", "--secret", SEED32, "--digits", "8", "--code", "68084774", "--time", "1111111109"]);
    assert_eq!((o.status.code(), out(&o)), (Some(1), "rejected\n".to_string()));
    assert!(o.stderr.is_empty());
    // A window of 0 takes only the current step: the previous code is rejected.
    let o = with(&["--code", "68084774", "--time", "1111111139", "--window", "0"]);
    assert_eq!((o.status.code(), out(&o)), (Some(1), "rejected\n".to_string()));
}

// DESIGN.md §3 "Base32 input is accepted in upper or lower case, with or without
// padding and spaces", for every command that takes --secret (code, hotp, verify,
// uri make), with a secret whose base32 needs padding (10 bytes is 16 characters; 11
// bytes is 18 characters plus 6 `=`).
#[test]
fn every_command_reads_base32_in_any_spelling() {
    let secret = Secret::from_bytes(b"hello world").unwrap(); // 11 bytes
    let plain = secret.to_base32().to_string();
    assert_eq!(plain.len(), 18);
    let padded = format!("{plain}======");
    let spellings = [
        plain.clone(),
        plain.to_lowercase(),
        padded.clone(),
        padded.to_lowercase(),
        secret.to_base32_grouped().to_lowercase(),
        format!("{} ======", secret.to_base32_grouped().as_str()),
    ];
    let expected_code = Totp::new(&secret, TotpParams::DEFAULT).generate(1_234_567_890).unwrap().to_string();
    let expected_hotp = Hotp::new(&secret, Algorithm::Sha1, Digits::SIX).generate(9).to_string();
    for spelling in &spellings {
        let o = totp(&["code", "--secret", spelling, "--time", "1234567890"]);
        assert_eq!((o.status.code(), out(&o)), (Some(0), format!("{expected_code}\n")), "code {spelling:?}");
        let o = totp(&["hotp", "--secret", spelling, "--counter", "9"]);
        assert_eq!((o.status.code(), out(&o)), (Some(0), format!("{expected_hotp}\n")), "hotp {spelling:?}");
        let o = totp(&["verify", "--secret", spelling, "--code", &expected_code, "--time", "1234567890"]);
        assert_eq!((o.status.code(), out(&o)), (Some(0), "0\n".to_string()), "verify {spelling:?}");
        let o = totp(&["uri", "make", "--issuer", "I", "--account", "a", "--secret", spelling]);
        assert_eq!(
            (o.status.code(), out(&o)),
            (Some(0), format!("otpauth://totp/I:a?secret={plain}&issuer=I\n")),
            "uri make {spelling:?}"
        );
    }
}

// DESIGN.md §3 `uri make ... [--algorithm ..] [--digits N] [--period S]` and
// "`uri parse` prints one JSON object with keys type, issuer, account, secret (base32,
// no padding), algorithm (SHA1, SHA256, SHA512), digits, period, counter (null for
// TOTP)": what `uri make` writes with every option, `uri parse` reads back whole.
#[test]
fn uri_make_then_uri_parse_round_trips_every_option() {
    for (algorithm, name, digits, period) in
        [("sha256", "SHA256", "7", "45"), ("sha512", "SHA512", "8", "60"), ("sha1", "SHA1", "6", "30")]
    {
        let o = totp(&[
            "uri",
            "make",
            "--issuer",
            "Big & Co",
            "--account",
            "a b@c.d",
            "--secret",
            "mzxw6===",
            "--algorithm",
            algorithm,
            "--digits",
            digits,
            "--period",
            period,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        let uri = out(&o);
        assert!(
            uri.starts_with("otpauth://totp/Big%20%26%20Co:a%20b%40c.d?secret=MZXW6&issuer=Big%20%26%20Co"),
            "{uri}"
        );
        assert_eq!(uri.lines().count(), 1);
        let o = totp(&["uri", "parse", uri.trim_end()]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        let json: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "totp", "issuer": "Big & Co", "account": "a b@c.d", "secret": "MZXW6",
                "algorithm": name, "digits": digits.parse::<u8>().unwrap(), "period": period.parse::<u64>().unwrap(),
                "counter": null}),
            "{uri}"
        );
    }
}

// DESIGN.md §3 `uri parse` keys for an HOTP URI (type hotp, its counter, its
// digits and algorithm) and "secret (base32, no padding)" for a padded, lower-case,
// percent-encoded secret.
#[test]
fn uri_parse_prints_an_hotp_uri_with_its_counter_and_an_unpadded_secret() {
    let o = totp(&[
        "uri",
        "parse",
        "otpauth://hotp/Acme:bob?secret=mzxw6%3D%3D%3D&issuer=Acme&algorithm=sha512&digits=8&counter=18446744073709551615",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let json: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(json["type"], "hotp");
    assert_eq!(json["issuer"], "Acme");
    assert_eq!(json["account"], "bob");
    assert_eq!(json["secret"], "MZXW6");
    assert_eq!(json["algorithm"], "SHA512");
    assert_eq!(json["digits"], 8);
    assert_eq!(json["counter"], serde_json::json!(u64::MAX));
    assert_eq!(out(&o).lines().count(), 1);
}

// DESIGN.md §3 "Any bad input (bad base32, unknown algorithm, digits outside
// 6..=8, period 0, malformed URI): exit 2 with a one-line error on stderr naming what
// was wrong. Never a panic." tests/totp_cli.rs checks these for `code` (and one each
// for verify and uri parse); here the same kinds of bad input for the other commands.
#[test]
fn bad_input_to_every_command_exits_2_naming_the_problem() {
    let cases: &[(&[&str], &str)] = &[
        (&["hotp", "--secret", "JBSW1111", "--counter", "1"], "base32"),
        (&["hotp", "--secret", SEED20, "--counter", "1", "--algorithm", "sha384"], "algorithm"),
        (&["hotp", "--secret", SEED20, "--counter", "1", "--digits", "10"], "digits"),
        (&["hotp", "--secret", SEED20, "--counter", "-1"], "--counter"),
        (&["verify", "--secret", "JBSW1111", "--code", "123456"], "base32"),
        (&["verify", "--secret", SEED20, "--code", "123456", "--algorithm", "md5"], "algorithm"),
        (&["verify", "--secret", SEED20, "--code", "123456", "--digits", "5"], "digits"),
        (&["verify", "--secret", SEED20, "--code", "123456", "--period", "0"], "period"),
        (&["verify", "--secret", SEED20, "--code", "123456", "--window", "256"], "--window"),
        (&["verify", "--secret", SEED20], "--code"),
        (&["uri", "make", "--issuer", "I", "--account", "a", "--secret", "JBSW1111"], "base32"),
        (&["uri", "make", "--issuer", "I", "--account", "a", "--algorithm", "sha3"], "algorithm"),
        (&["uri", "make", "--issuer", "I", "--account", "a", "--digits", "9"], "digits"),
        (&["uri", "make", "--issuer", "I", "--account", "a", "--period", "0"], "period"),
        (&["uri", "make", "--issuer", "I"], "--account"),
        (&["uri", "make", "--issuer", "I", "--account", ""], "account"),
        (&["uri", "parse", "otpauth://totp/a?secret=JBSW1111"], "base32"),
        (&["uri", "parse", "otpauth://totp/a?secret=JBSWY3DP&algorithm=md5"], "algorithm"),
        (&["uri", "parse", "otpauth://totp/a?secret=JBSWY3DP&period=0"], "period"),
        (&["uri", "parse", "otpauth://totp/a?issuer=x"], "secret"),
        (&["uri", "parse", "otpauth://hotp/a?secret=JBSWY3DP"], "counter"),
        (&["uri", "parse", "otpauth://totp/Evil:a?secret=JBSWY3DP&issuer=Bank"], "issuer"),
        (&["uri", "parse"], "one uri"),
        (&["uri", "parse", "otpauth://totp/a?secret=JBSWY3DP", "extra"], "one uri"),
    ];
    for (args, needle) in cases {
        assert_bad_input(args, needle);
    }
}

// DESIGN.md §3 "Never a panic", at the ends of the number ranges the options
// take (u64 times, counters and periods), which the random inputs of
// tests/totp_cli.rs reach only by chance.
#[test]
fn extreme_numbers_are_not_a_panic() {
    let max = u64::MAX.to_string();
    for args in [
        vec!["code", "--secret", SEED20, "--time", &max],
        vec!["code", "--secret", SEED20, "--time", "0", "--period", &max],
        vec!["code", "--secret", SEED20, "--time", &max, "--period", "1"],
        vec!["hotp", "--secret", SEED20, "--counter", &max],
        vec![
            "verify", "--secret", SEED20, "--code", "000000", "--time", &max, "--window", "255", "--period",
            "1",
        ],
        vec!["verify", "--secret", SEED20, "--code", "000000", "--time", "0", "--window", "255"],
        vec!["uri", "make", "--issuer", "I", "--account", "a", "--period", &max],
    ] {
        let o = totp(&args);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{args:?}: {:?} {}", o.status, err(&o));
        assert!(!err(&o).contains("panicked"), "{args:?}: {}", err(&o));
        assert_eq!(out(&o).lines().count(), 1, "{args:?}");
    }
}
