//! The `totp` example against the command-line contract in the README ("The `totp` command").

use std::path::PathBuf;
use std::process::{Command, Output};

use proptest::prelude::*;

/// `cargo test` builds the examples next to the test binaries' folder.
fn totp_binary() -> PathBuf {
    let mut path = std::env::current_exe().expect("test binary path");
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    path.join("examples").join(format!("totp{}", std::env::consts::EXE_SUFFIX))
}

fn totp(args: &[&str]) -> Output {
    Command::new(totp_binary()).args(args).output().expect("run the totp example")
}

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
