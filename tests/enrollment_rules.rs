//! Setting up an authenticator app as the docs promise (R4-R7, R26, R27, R29;
//! `flow::enrollment`, `service::enrollment`, `otp::uri`, `otp::qr`): the pair of
//! codes, resumes and restarts, imports, names, the QR code and the status row.

mod common;

use common::*;
use mfa_kit::Refusal;
use mfa_kit::flow::enrollment::Confirmed;
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::otp::{Secret, TotpParams};

/// The code the phone shows at `at`.
fn code_at(phone: &Phone, at: u64) -> String {
    phone.totp.generate(at).unwrap().to_string()
}

#[test]
fn two_codes_in_the_wrong_order_are_not_consecutive() {
    let firm = firm();
    let tom = user("tom");
    run(async {
        let start = firm.mfa.start_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        let phone = Phone::scan(&start.uri, &firm.clock);
        firm.clock.advance(30);
        let (a, b) = (code_at(&phone, START), code_at(&phone, START + 30));
        let out = firm.mfa.confirm_enrollment(&tom, &[&b, &a], &office()).await.unwrap();
        assert_eq!(out, Err(Refusal::NotConsecutive));
    });
}

#[test]
fn a_consecutive_pair_far_from_now_is_refused() {
    let firm = firm();
    let tom = user("tom");
    run(async {
        let start = firm.mfa.start_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        let phone = Phone::scan(&start.uri, &firm.clock);
        firm.clock.advance(30 * 4);
        let now = START + 120;
        // Steps now-3, now-2: old.
        let out = firm
            .mfa
            .confirm_enrollment(&tom, &[&code_at(&phone, now - 90), &code_at(&phone, now - 60)], &office())
            .await
            .unwrap();
        assert!(out.is_err(), "{out:?}");
        // Steps now+1, now+2: ahead.
        let out = firm
            .mfa
            .confirm_enrollment(&tom, &[&code_at(&phone, now + 30), &code_at(&phone, now + 60)], &office())
            .await
            .unwrap();
        assert!(out.is_err(), "{out:?}");
    });
}

#[test]
fn a_pair_typed_across_a_step_boundary_and_sent_a_step_later_confirms_and_neither_code_signs_in() {
    let firm = firm();
    let tom = user("tom");
    run(async {
        let start = firm.mfa.start_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        let phone = Phone::scan(&start.uri, &firm.clock);
        // Codes of steps s and s+1, sent in step s+2.
        // `START` is 20 s into its step: the next step begins at `START + 10`.
        let boundary = START + 10;
        firm.clock.set(boundary - 1);
        let first = phone.code();
        firm.clock.set(boundary);
        let second = phone.code();
        firm.clock.set(boundary + 30);
        let out = firm.mfa.confirm_enrollment(&tom, &[&first, &second], &office()).await.unwrap();
        assert!(matches!(out, Ok(Confirmed { .. })), "{out:?}");
        // Neither confirming code signs in.
        firm.clock.set(boundary + 31);
        let again = firm.mfa.verify_code(&tom, &first, &office()).await.unwrap();
        assert!(again.is_err(), "{again:?}");
        let again = firm.mfa.verify_code(&tom, &second, &office()).await.unwrap();
        assert!(again.is_err(), "{again:?}");
    });
}

#[test]
fn a_pair_whose_second_code_is_a_step_ahead_of_the_server_confirms() {
    let firm = firm();
    let tom = user("tom");
    run(async {
        let start = firm.mfa.start_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        let phone = Phone::scan(&start.uri, &firm.clock);
        let first = code_at(&phone, START);
        let second = code_at(&phone, START + 30);
        // Server still in step START.
        let out = firm.mfa.confirm_enrollment(&tom, &[&first, &second], &office()).await.unwrap();
        assert!(matches!(out, Ok(Confirmed { .. })), "{out:?}");
    });
}

#[test]
fn a_restarted_enrollments_old_secret_does_not_confirm() {
    let firm = firm();
    let tom = user("tom");
    run(async {
        let old = firm.mfa.start_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        let old_phone = Phone::scan(&old.uri, &firm.clock);
        firm.clock.advance(30);
        let new = firm.mfa.restart_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        assert_ne!(*new.uri, *old.uri);
        let first = old_phone.code();
        firm.clock.advance(30);
        let second = old_phone.code();
        let out = firm.mfa.confirm_enrollment(&tom, &[&first, &second], &office()).await.unwrap();
        assert!(out.is_err(), "{out:?}");
    });
}

#[test]
fn page_reloads_do_not_count_towards_the_hourly_restart_limit() {
    let firm = firm();
    let tom = user("tom");
    run(async {
        let first = firm.mfa.start_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        for _ in 0..10 {
            firm.clock.advance(5);
            let again = firm.mfa.start_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
            assert_eq!(*again.uri, *first.uri);
        }
        for n in 1..mfa_kit::flow::enrollment::MAX_STARTS_PER_HOUR {
            let out = firm.mfa.restart_enrollment(&tom, "tom", &office()).await.unwrap();
            assert!(out.is_ok(), "restart {n}: {out:?}");
        }
    });
}

#[test]
fn a_reload_after_a_restart_shows_the_restarted_enrollment() {
    let firm = firm();
    let tom = user("tom");
    run(async {
        let _first = firm.mfa.start_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        let restarted = firm.mfa.restart_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        let reload = firm.mfa.start_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        assert_eq!(*reload.uri, *restarted.uri);
        assert_eq!(*reload.secret_grouped, *restarted.secret_grouped);
        assert_eq!(reload.expires_at, restarted.expires_at);
    });
}

#[test]
fn a_reload_after_expiry_shows_a_new_secret_not_the_expired_one() {
    let firm = firm();
    let tom = user("tom");
    run(async {
        let first = firm.mfa.start_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        firm.clock.set(first.expires_at);
        let reload = firm.mfa.start_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        assert_ne!(*reload.uri, *first.uri);
        assert!(reload.expires_at > first.expires_at);
    });
}

#[test]
fn the_restart_limit_holds_when_the_clock_steps_back_within_the_skew() {
    let firm = firm();
    let tom = user("tom");
    run(async {
        firm.clock.set(START + 200);
        for _ in 0..mfa_kit::flow::enrollment::MAX_STARTS_PER_HOUR {
            firm.mfa.restart_enrollment(&tom, "tom", &office()).await.unwrap().unwrap();
        }
        firm.clock.set(START + 100);
        let out = firm.mfa.restart_enrollment(&tom, "tom", &office()).await.unwrap();
        assert!(matches!(out, Err(Refusal::RateLimited { .. })), "{out:?}");
    });
}

#[test]
fn an_import_with_bad_parameters_hotp_or_under_128_bits_is_refused_and_installs_nothing() {
    let firm = firm();
    let secret = Secret::generate().unwrap();
    let b32 = secret.to_base32();
    run(async {
        for (i, bad) in [
            format!("otpauth://totp/x?secret={}&digits=9", b32.as_str()),
            format!("otpauth://totp/x?secret={}&digits=5", b32.as_str()),
            format!("otpauth://totp/x?secret={}&period=0", b32.as_str()),
            format!("otpauth://totp/x?secret={}&algorithm=MD5", b32.as_str()),
            format!("otpauth://totp/x?secret={}&digits=abc", b32.as_str()),
            format!("otpauth://hotp/x?secret={}&counter=1", b32.as_str()),
            format!("otpauth://HOTP/x?secret={}&counter=1", b32.as_str()),
            format!("otpauth://totp/x?secret={}", Secret::from_bytes(&[1; 15]).unwrap().to_base32().as_str()),
            Secret::from_bytes(&[1; 15]).unwrap().to_base32_grouped().to_string(),
            format!("otpauth://foo/x?secret={}", b32.as_str()),
        ]
        .iter()
        .enumerate()
        {
            let who = user(&format!("u{i}"));
            let out = firm.mfa.import_authenticator(&who, bad, &office()).await.unwrap();
            assert_eq!(out, Err(Refusal::InvalidKey), "{bad}");
            assert!(firm.mfa.record(&who).await.unwrap().authenticators().is_empty(), "{bad}");
        }
    });
}

#[test]
fn an_imported_authenticators_first_codes_by_resynchronisation_set_the_replay_floor() {
    let firm = firm();
    let ann = user("ann");
    let secret = Secret::generate().unwrap();
    let uri = KeyUri::totp("Old", "ann", secret, TotpParams::DEFAULT).unwrap().to_uri();
    run(async {
        firm.mfa.import_authenticator(&ann, &uri, &office()).await.unwrap().unwrap();
        let phone = Phone::scan(&uri, &firm.clock);
        firm.clock.advance(60);
        let now = START + 60;
        let (a, b) = (code_at(&phone, now - 30), code_at(&phone, now));
        let out = firm.mfa.resynchronise(&ann, &a, &b, &office()).await.unwrap();
        assert!(out.is_ok(), "{out:?}");
        let floor = firm.mfa.record(&ann).await.unwrap().totp().unwrap().last_accepted_step();
        assert_eq!(floor, Some(now / 30));
        let again = firm.mfa.verify_code(&ann, &b, &office()).await.unwrap();
        assert!(again.is_err(), "{again:?}");
    });
}

#[test]
fn authenticator_names_with_control_characters_blank_or_over_64_characters_are_refused() {
    let firm = firm();
    let sarah = user("sarah");
    let _phone = firm.enroll(&sarah);
    run(async {
        let account = "sarah@smith.example";
        for bad in ["\u{7}bell", "nel\u{85}x", "line\nbreak", "\u{0}", " \t ", &"é".repeat(65)] {
            let refused = firm.mfa.add_authenticator(&sarah, bad, account, &office()).await.unwrap();
            assert_eq!(refused.unwrap_err(), Refusal::InvalidName, "{bad:?}");
        }
        let ok = firm.mfa.add_authenticator(&sarah, &"é".repeat(64), account, &office()).await.unwrap();
        assert!(ok.is_ok(), "{ok:?}");
    });
}

#[cfg(feature = "qr")]
/// Rasterises the SVG the way a browser would (as `otp::qr`'s own test does).
fn rasterise(svg: &str) -> (usize, usize, Vec<bool>) {
    let attribute = |name: &str| -> usize {
        let start = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        svg[start..].split('"').next().unwrap().parse().unwrap()
    };
    let (width, height) = (attribute("width"), attribute("height"));
    let mut dark = vec![false; width * height];
    let path = svg.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
    for rect in path.split('M').filter(|r| !r.is_empty()) {
        let numbers: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().unwrap())
            .collect();
        let [left, top, w, h, ..] = numbers[..] else { panic!("bad rect {rect}") };
        for y in top..top + h {
            for x in left..left + w {
                dark[y * width + x] = true;
            }
        }
    }
    (width, height, dark)
}

#[cfg(feature = "qr")]
fn decode(svg: &str) -> String {
    let (width, height, dark) = rasterise(svg);
    let mut image = rqrr::PreparedImage::prepare_from_bitmap(width, height, |x, y| dark[y * width + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

/// `EnrollmentStart::qr_svg` (src/service/enrollment.rs): "The QR code of
/// [`EnrollmentStart::uri`] as SVG, for the enrollment screen: it holds exactly that
/// text" (R5: "otpauth:// Key URI for the QR code"), for every account the service
/// accepts, one with spaces after the label's colon too (which a reader drops); a blank
/// account is no account and is refused when the enrollment starts.
#[cfg(feature = "qr")]
#[test]
fn the_qr_code_encodes_exactly_the_enrollment_uri_for_every_account_the_service_accepts() {
    let firm = firm();
    let mut wrong = Vec::new();
    run(async {
        for (who, account) in [("a", "sarah@smith.example"), ("b", " sarah")] {
            let start = firm.mfa.start_enrollment(&user(who), account, &office()).await.unwrap().unwrap();
            match start.qr_svg() {
                Ok(svg) => {
                    let decoded = decode(&svg);
                    if decoded != *start.uri {
                        wrong.push(format!(
                            "{account:?}: the QR code holds {decoded} but uri is {}",
                            *start.uri
                        ));
                    }
                }
                Err(error) => wrong.push(format!("{account:?}: no QR code for {}: {error:?}", *start.uri)),
            }
        }
        let blank = firm.mfa.start_enrollment(&user("c"), "   ", &office()).await;
        assert!(
            matches!(
                blank,
                Err(mfa_kit::service::Error::InvalidAccountName(mfa_kit::otp::uri::UriError::MissingAccount))
            ),
            "a blank account is refused: {blank:?}"
        );
    });
    assert!(wrong.is_empty(), "the QR code is not the enrollment URI:\n{}", wrong.join("\n"));
}

/// R7: "A pending enrollment expires";
/// `record` module, "Time": every lifetime, an enrollment's included, "holds only while
/// ... the window is no longer than the rules allow now; a tightened rule ... applies at
/// once". `flow::enrollment::resume` and `confirm` hold to it (an enrollment longer than
/// the organisation's enrollment lifetime is over), but `UserStatus::enrollment_pending`
/// ("Whether an enrollment is in progress") compares `now < expires_at` only, so the
/// status row still reports an enrollment in progress that cannot be shown or confirmed.
#[test]
fn the_status_row_reports_no_enrollment_in_progress_once_the_lifetime_rule_has_ended_it() {
    use mfa_kit::flow::{self, Env, Rules};
    use mfa_kit::policy::{OrgSettings, SignInContext, StandardPolicy};
    let (context, rules) = (SignInContext::default(), Rules::default());
    let long = StandardPolicy::new();
    let short =
        StandardPolicy::new().with_defaults(OrgSettings::builder().enrollment_lifetime(120).build().unwrap());
    let secret = Secret::generate().unwrap();
    let sealed = mfa_kit::danger::PlaintextSealer.seal(&user("sarah"), &secret).unwrap();
    let mut record = mfa_kit::record::UserRecord::new(user("sarah"));
    let started = flow::enrollment::start(
        &mut record,
        sealed,
        TotpParams::DEFAULT,
        "sarah",
        &Env::new(START, &long, &context, &rules),
    );
    assert!(started.outcome.is_ok());
    // The organisation shortens the enrollment lifetime to 2 minutes; 5 minutes later:
    let env = Env::new(START + 300, &short, &context, &rules);
    assert_eq!(flow::enrollment::resume(&record, "sarah", None, &env), Ok(None), "resume: over");
    let phone = mfa_kit::otp::Totp::new(&secret, TotpParams::DEFAULT);
    let codes =
        [phone.generate(START + 270).unwrap().to_string(), phone.generate(START + 300).unwrap().to_string()];
    let confirmed =
        flow::enrollment::confirm(&mut record.clone(), &phone, &[&codes[0], &codes[1]], &env).unwrap();
    assert_eq!(confirmed.outcome, Err(Refusal::EnrollmentExpired), "confirm: over");
    let row = flow::oversight::UserStatus::under(&record, &env);
    assert!(
        !row.enrollment_pending,
        "the status row says an enrollment is in progress (started {START}, lifetime now 120 s, \
         read at {}), while resume finds none and confirm would answer EnrollmentExpired",
        START + 300
    );
}

#[test]
fn an_imported_uri_keeps_its_algorithm_digits_and_period() {
    let firm = firm();
    let ann = user("ann");
    let params = TotpParams::DEFAULT
        .with_algorithm(mfa_kit::otp::Algorithm::Sha512)
        .with_digits(8)
        .unwrap()
        .with_period(60)
        .unwrap();
    let uri = KeyUri::totp("Old", "ann", Secret::generate().unwrap(), params).unwrap().to_uri();
    run(async {
        firm.mfa.import_authenticator(&ann, &uri, &office()).await.unwrap().unwrap();
        assert_eq!(*firm.mfa.record(&ann).await.unwrap().totp().unwrap().params(), params);
        let phone = Phone::scan(&uri, &firm.clock);
        let code = phone.code();
        assert_eq!(code.len(), 8);
        assert!(firm.mfa.verify_code(&ann, &code, &office()).await.unwrap().is_ok());
        assert!(firm.mfa.verify_code(&ann, &code, &office()).await.unwrap().is_err());
    });
}
