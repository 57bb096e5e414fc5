//! A host developer's review of the core's documentation: organisation settings and
//! presets (`src/policy/`), the OTP core (`src/otp/`), and the flow modules' promises
//! (`src/flow/`). Each test quotes the sentence it checks (file:line at the time of
//! writing).

mod common;
#[path = "support/flow_world.rs"]
mod flow_world;

use std::sync::Arc;

use mfa_kit::event::EventKind;
use mfa_kit::flow::recovery;
use mfa_kit::flow::session::{self, SessionVerdict};
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::otp::uri::{KeyUri, OtpKind};
use mfa_kit::otp::{
    Algorithm, Code, CodeError, Digits, Hotp, Secret, Totp, TotpParams, Verification, Window,
};
use mfa_kit::policy::{
    Decision, Jurisdiction, Level, OrgSettings, Policy, Preset, SessionFacts, SessionLimits, SignInContext,
    StandardPolicy, UserFacts,
};
use mfa_kit::record::UserRecord;
use mfa_kit::{
    LockoutRule, Method, Outcome, Reason, Refusal, RejectionReason, RequestContext, SessionEnd, UserId,
};

use flow_world::{T0, World, with_app};

const HOUR: u64 = 3600;

fn context_at(address: &str) -> SignInContext {
    SignInContext::new(RequestContext::from_address(address.parse().unwrap()))
}

// =================================================================================
// src/policy/: OrgSettings and its builder
// =================================================================================

// `OrgSettings::session_idle_timeout`: "default 2 hours (or the session lifetime, if
// that is shorter). The settings keep one number: 2 hours beside a shorter lifetime is
// taken as the default and becomes the lifetime when built or read, and stays so when
// the lifetime grows later (set the limit again then)."
#[test]
fn the_default_inactivity_limit_follows_a_shorter_lifetime_down_and_stays() {
    let short = OrgSettings::builder().session_lifetime(HOUR).build().unwrap();
    assert_eq!(short.session_idle_timeout(), HOUR, "the default follows a shorter lifetime down");
    let day = short.to_builder().session_lifetime(24 * HOUR).build().unwrap();
    assert_eq!(day.session_idle_timeout(), HOUR, "the settled limit stays");
    let again = day.to_builder().session_idle_timeout(2 * HOUR).build().unwrap();
    assert_eq!(again.session_idle_timeout(), 2 * HOUR, "set again, it is 2 hours");
    // The same through storage.
    let stored: OrgSettings = serde_json::from_str(&serde_json::to_string(&short).unwrap()).unwrap();
    assert_eq!(stored, short);
}

// The same sentence: 2 hours exactly beside a 30-minute lifetime is the default and
// follows the lifetime down; any other limit past the lifetime is refused
// (`OrgSettingsBuilder::build`: "[`SettingsError`], saying which setting is out of
// range").
#[test]
fn two_hours_beside_a_shorter_lifetime_is_the_default_and_other_limits_past_it_are_refused() {
    let other = OrgSettings::builder().session_lifetime(1800).session_idle_timeout(7199).build();
    assert!(other.unwrap_err().as_str().contains("inactivity limit"));
    let two_hours = OrgSettings::builder().session_lifetime(1800).session_idle_timeout(2 * HOUR).build();
    assert_eq!(two_hours.unwrap().session_idle_timeout(), 1800);
}

// src/policy/settings.rs:196-197 ("0 turns remembered devices off") and
// src/policy/settings.rs:466: the ATO preset caps devices "below 24 hours".
// src/policy/settings.rs:569-571: "Every setting ends up at least as strict as it was".
#[test]
fn tightening_is_idempotent_keeps_devices_off_and_reads_back_through_the_check() {
    let off = OrgSettings::builder().remember_device_max(0).build().unwrap();
    for preset in [Preset::AtoOperationalSecurity, Preset::NistAal2] {
        let once = preset.tighten(&off);
        assert_eq!(once.remember_device_max(), 0, "{preset:?} turns no devices back on");
        assert_eq!(preset.tighten(&once), once, "{preset:?} tightens once");
        let stored = serde_json::to_string(&once).unwrap();
        assert_eq!(serde_json::from_str::<OrgSettings>(&stored).unwrap(), once, "{preset:?}");
    }
    let loose = OrgSettings::builder()
        .session_lifetime(30 * 86_400)
        .session_idle_timeout(30 * 86_400)
        .fresh_proof_window(3600)
        .lockout(LockoutRule::new(100, 1).with_hard_limit(10_000))
        .build()
        .unwrap();
    for preset in [Preset::AtoOperationalSecurity, Preset::NistAal2] {
        let tight = preset.tighten(&loose);
        let cap = preset.session_cap();
        assert_eq!(
            (tight.session_lifetime(), tight.session_idle_timeout()),
            (cap.lifetime, cap.idle_timeout)
        );
        assert_eq!(tight.fresh_proof_window(), preset.fresh_proof_cap());
        assert_eq!(tight.remember_device_max(), Preset::REMEMBER_CAP);
        assert!(tight.lockout().hard_limit >= tight.lockout().max_failures);
        assert!(tight.recovery_code_ends_sessions());
    }
}

// src/policy/settings.rs:551-552 ("5 minutes (ATO), 15 minutes (NIST AAL2)"),
// :560-561 ("12 hours and 1 hour (ATO), 24 hours and 1 hour (NIST AAL2)"),
// :535-537 (audit retention: "12 months ... under the ATO's framework; NIST SP 800-63B
// sets no retention of its own (0)"), :526-527 (titles), :546-549 (REMEMBER_CAP 12 h).
#[test]
fn the_presets_figures_are_as_documented() {
    let (ato, nist) = (Preset::AtoOperationalSecurity, Preset::NistAal2);
    assert_eq!((ato.fresh_proof_cap(), nist.fresh_proof_cap()), (300, 900));
    assert_eq!(ato.session_cap(), SessionLimits::new(12 * HOUR, HOUR));
    assert_eq!(nist.session_cap(), SessionLimits::new(24 * HOUR, HOUR));
    assert_eq!((ato.audit_retention(), nist.audit_retention()), (366 * 86_400, 0));
    assert_eq!(Preset::TWELVE_MONTHS, 366 * 86_400);
    assert_eq!(Preset::REMEMBER_CAP, 12 * HOUR);
    assert_eq!(ato.title(), "ATO Operational Security Framework");
    assert_eq!(nist.title(), "NIST SP 800-63B-4 AAL2");
    // StandardPolicy::audit_retention: "The longest retention of the presets in force".
    let both = StandardPolicy::nist_aal2().with_preset(Preset::AtoOperationalSecurity);
    assert_eq!(both.audit_retention(&SignInContext::default()), Preset::TWELVE_MONTHS);
    assert_eq!(StandardPolicy::nist_aal2().audit_retention(&SignInContext::default()), 0);
}

// src/policy/session.rs:86: "The defaults: 24 hours overall, 2 hours of inactivity."
// src/policy/settings.rs:219-224 (OrgSettings defaults 24 h and 2 h) and
// src/policy/mod.rs:34-36 (DEFAULT_FRESH_PROOF_WINDOW 5 minutes),
// src/policy/mod.rs:31-32 (DEFAULT_ENROLLMENT_LIFETIME 10 minutes),
// src/policy/settings.rs:338-340 (DEFAULT_REMEMBER_DEVICE_MAX 30 days).
#[test]
fn setting_defaults_match_their_constants_and_the_policy_answers_them() {
    assert_eq!(SessionLimits::DEFAULT, SessionLimits::new(24 * HOUR, 2 * HOUR));
    assert_eq!(SessionLimits::default(), SessionLimits::DEFAULT);
    let settings = OrgSettings::default();
    assert_eq!((settings.session_lifetime(), settings.session_idle_timeout()), (24 * HOUR, 2 * HOUR));
    assert_eq!(settings.fresh_proof_window(), mfa_kit::policy::DEFAULT_FRESH_PROOF_WINDOW);
    assert_eq!(mfa_kit::policy::DEFAULT_FRESH_PROOF_WINDOW, 300);
    assert_eq!(settings.enrollment_lifetime(), 600);
    assert_eq!(settings.remember_device_max(), 30 * 86_400);
    assert_eq!(settings.lockout(), LockoutRule::DEFAULT);
    assert_eq!(settings.default_level(), Level::UponRequest);
    assert!(settings.backup_required_for_principals() && settings.allow_self_deactivation());
    assert!(settings.allow_email_codes() && settings.allow_sms_codes() && settings.allow_security_keys());
    assert!(!settings.recovery_code_ends_sessions() && !settings.offer_phishing_resistant());
    assert_eq!(settings.max_totp_period(), None);
    assert!(settings.presets().is_empty() && settings.allowed_networks().is_empty());
    let policy = StandardPolicy::new();
    let context = SignInContext::default();
    assert_eq!(policy.session_limits(&context), SessionLimits::DEFAULT);
    assert_eq!(policy.fresh_proof_window(&context), 300);
    assert_eq!(policy.enrollment_lifetime(&context), 600);
    assert_eq!(policy.remember_device_max(&context), 30 * 86_400);
}

// =================================================================================
// src/policy/mod.rs: the Policy trait's documented defaults
// =================================================================================

/// A host's own policy that answers only what it must, to read the trait's defaults.
struct Minimal;

impl Policy for Minimal {
    fn decide(&self, context: &SignInContext, _user: &UserFacts, _now: u64) -> Outcome<Decision> {
        if context.request.address.is_none() {
            return Err(Refusal::AddressNotAllowed);
        }
        Ok(Decision::Allow { reason: Reason::NotRequired })
    }
    fn lockout(&self, _context: &SignInContext) -> LockoutRule {
        LockoutRule::DEFAULT
    }
    fn enrollment_lifetime(&self, _context: &SignInContext) -> u64 {
        600
    }
    fn may_deactivate(&self, context: &SignInContext, _user: &UserFacts) -> Result<(), Reason> {
        if context.principal { Err(Reason::DeactivationDisabled) } else { Ok(()) }
    }
    fn remember_device_max(&self, _context: &SignInContext) -> u64 {
        0
    }
    fn backup_required(&self, _context: &SignInContext) -> bool {
        false
    }
}

// src/policy/mod.rs:283-286 (refuse_request: "The default asks `decide` about a user
// with no facts"), :305-309 (may_turn_off: "Default: as [`Policy::may_deactivate`]"),
// :322-324 (method_allowed: "All are allowed unless a policy says otherwise"),
// :330-333 ("None must unless a policy says so"), :339, :345-346 (default 300),
// :352-354 ("Default: 0"), :360-361 (SessionLimits::DEFAULT), :367-370 ("Default:
// never"), :376-377 ("Default `false`"), :383-384 ("Default `false`"), :390-392
// ("Default: none"), :398-400 ("Default `None`").
#[test]
fn the_policy_traits_defaults_are_as_documented() {
    let policy = Minimal;
    let anywhere = context_at("198.51.100.1");
    let nowhere = SignInContext::default();
    assert_eq!(policy.refuse_request(&anywhere, T0), None);
    assert_eq!(policy.refuse_request(&nowhere, T0), Some(Refusal::AddressNotAllowed));
    let facts = UserFacts::default();
    assert_eq!(policy.may_turn_off(&anywhere, &facts), Ok(()));
    assert_eq!(
        policy.may_turn_off(&anywhere.clone().as_principal(), &facts),
        Err(Reason::DeactivationDisabled)
    );
    for method in [Method::Totp, Method::Sms, Method::Email, Method::RecoveryCode, Method::SecurityKey] {
        assert!(policy.method_allowed(&anywhere, method), "{method:?}");
    }
    assert!(!policy.phishing_resistant_required(&anywhere));
    assert_eq!(policy.max_totp_period(&anywhere), None);
    assert_eq!(policy.fresh_proof_window(&anywhere), mfa_kit::policy::DEFAULT_FRESH_PROOF_WINDOW);
    assert_eq!(policy.audit_retention(&anywhere), 0);
    assert_eq!(policy.session_limits(&anywhere), SessionLimits::DEFAULT);
    assert_eq!(policy.mfa_unavailable(&anywhere.clone().with_sso(true)), None);
    assert!(!policy.recovery_code_ends_other_sessions(&anywhere));
    assert!(!policy.replace_recovery_codes_after_use(&anywhere));
    assert!(policy.presets_in_force(&anywhere).is_empty());
    assert_eq!(policy.settings_in_force(&anywhere), None);
}

// =================================================================================
// src/policy/standard.rs: the decision table, row by row where order matters
// =================================================================================

fn firm_ctx(settings: OrgSettings) -> SignInContext {
    context_at("203.0.113.7").with_org(Arc::new(settings))
}

fn enrolled() -> UserFacts {
    UserFacts::new(vec![Method::Totp, Method::RecoveryCode], None)
}

// src/policy/standard.rs:12 ("After the password, in this order (the first rule
// that applies decides)") with rows 1, 2, 3 and 3a (:16-19): the allowlist comes before
// single sign-on, and single sign-on before a disabled factor, a lockout and a reset.
#[test]
fn rows_one_to_three_a_apply_in_their_order() {
    let policy = StandardPolicy::new();
    let listed =
        OrgSettings::builder().allowed_networks(vec!["10.0.0.0/8".parse().unwrap()]).build().unwrap();
    let sso_off_list = firm_ctx(listed).with_sso(true);
    assert_eq!(policy.decide(&sso_off_list, &enrolled(), T0), Err(Refusal::AddressNotAllowed));

    let sso = firm_ctx(OrgSettings::default()).with_sso(true);
    let mut stuck = enrolled();
    stuck.disabled = true;
    stuck.locked_until = Some(T0 + 60);
    stuck.must_enroll = true;
    assert_eq!(policy.decide(&sso, &stuck, T0), Ok(Decision::Allow { reason: Reason::SingleSignOn }));

    let plain = firm_ctx(OrgSettings::default());
    assert_eq!(policy.decide(&plain, &stuck, T0), Err(Refusal::Disabled));
    stuck.disabled = false;
    assert_eq!(policy.decide(&plain, &stuck, T0), Err(Refusal::LockedOut { until: T0 + 60 }));
    // A lockout ends at its `until`: then row 3a decides.
    assert_eq!(
        policy.decide(&plain, &stuck, T0 + 60),
        Ok(Decision::RequireEnrollment { reason: Reason::ResetByAdmin })
    );
}

// src/policy/standard.rs:21-26: rows 5 to 10, and :28-29: "Where rules 5-8 both apply, a
// requirement beats a suggestion, and mandatory beats the jurisdiction rule."
#[test]
fn rows_five_to_ten_and_their_tie_breaks() {
    let policy = StandardPolicy::new();
    let deadline = T0 + 86_400;
    let nobody = UserFacts::default();
    let au = Jurisdiction::country("AU").with_xero();
    let mandatory =
        OrgSettings::builder().level("staff", Level::Mandatory).grace_until(Some(deadline)).build().unwrap();
    // Row 5 before the deadline, with the jurisdiction rule too: mandatory's reason.
    let both = firm_ctx(mandatory.clone()).with_user_type("staff").with_jurisdiction(au.clone());
    assert_eq!(
        policy.decide(&both, &nobody, T0),
        Ok(Decision::SuggestEnrollment { reason: Reason::LevelMandatory, deadline: Some(deadline) })
    );
    // Row 6 at the deadline.
    assert_eq!(
        policy.decide(&both, &nobody, deadline),
        Ok(Decision::RequireEnrollment { reason: Reason::LevelMandatory })
    );
    // Rows 7 and 8 for a user type without a level.
    let other = firm_ctx(mandatory).with_user_type("client").with_jurisdiction(au);
    assert_eq!(
        policy.decide(&other, &nobody, T0),
        Ok(Decision::SuggestEnrollment { reason: Reason::JurisdictionRule, deadline: Some(deadline) })
    );
    assert_eq!(
        policy.decide(&other, &nobody, deadline),
        Ok(Decision::RequireEnrollment { reason: Reason::JurisdictionRule })
    );
    // Row 9 and row 10; the org switch's reason (row 5) is its own.
    let suggested = firm_ctx(OrgSettings::builder().default_level(Level::Suggested).build().unwrap());
    assert_eq!(
        policy.decide(&suggested, &nobody, T0),
        Ok(Decision::SuggestEnrollment { reason: Reason::LevelSuggested, deadline: None })
    );
    let upon = firm_ctx(OrgSettings::default());
    assert_eq!(policy.decide(&upon, &nobody, T0), Ok(Decision::Allow { reason: Reason::NotRequired }));
    let switch = firm_ctx(OrgSettings::builder().enforce_for_all(true).build().unwrap());
    assert_eq!(
        policy.decide(&switch, &nobody, T0),
        Ok(Decision::RequireEnrollment { reason: Reason::OrgEnforced })
    );
}

// src/policy/mod.rs:157: `UserFacts::new` - "Facts of a user with these methods
// and lock (a recovery code counts as a backup)"; :144-145 "backup methods alone are
// not MFA".
#[test]
fn user_facts_new_counts_recovery_codes_as_backup_not_as_mfa() {
    let codes_only = UserFacts::new(vec![Method::RecoveryCode], None);
    assert!(codes_only.has_backup && !codes_only.has_mfa());
    let app = UserFacts::new(vec![Method::Totp], None);
    assert!(!app.has_backup && app.has_mfa());
    // Row 4 needs MFA: recovery codes alone are asked to enroll where it is mandatory.
    let switch = firm_ctx(OrgSettings::builder().enforce_for_all(true).build().unwrap());
    assert_eq!(
        StandardPolicy::new().decide(&switch, &codes_only, T0),
        Ok(Decision::RequireEnrollment { reason: Reason::OrgEnforced })
    );
}

// =================================================================================
// src/otp/: the OTP core
// =================================================================================

// src/otp/code.rs:35-37: "Reads a code typed by a user: ASCII digits, with any spaces
// before, between or after them ... Anything else, other scripts' digits included, is
// refused." src/otp/error.rs:67: InvalidCharacter's position is "The 1-based
// position of the first offending character."
#[test]
fn code_parse_positions_count_characters_and_length_counts_digits() {
    assert_eq!(Code::parse("é12345", Digits::SIX), Err(CodeError::InvalidCharacter { position: 1 }));
    assert_eq!(Code::parse("12 é345", Digits::SIX), Err(CodeError::InvalidCharacter { position: 4 }));
    assert_eq!(Code::parse("1234567", Digits::SEVEN).map(|c| c.to_string()), Ok("1234567".into()));
    assert_eq!(Code::parse("0000 0001", Digits::EIGHT).map(|c| c.to_string()), Ok("00000001".into()));
    assert_eq!(Code::parse("123 45", Digits::EIGHT), Err(CodeError::WrongLength { expected: 8, found: 5 }));
    // Two codes of the same digits but different lengths are different codes.
    assert_ne!(Code::parse("012345", Digits::SIX).unwrap(), Code::parse("0012345", Digits::SEVEN).unwrap());
}

// src/otp/error.rs:3-4: "Every error says what was wrong and what to do about it, and
// none of them ever carries a secret or a code".
#[test]
fn otp_error_texts_are_as_written() {
    use mfa_kit::otp::{ParamError, SecretError, TimeError};
    assert_eq!(ParamError::UnknownAlgorithm.to_string(), "unknown algorithm: use SHA1, SHA256 or SHA512");
    assert_eq!(
        ParamError::DigitsOutOfRange { digits: 9 }.to_string(),
        "9 digits is out of range: codes have 6, 7 or 8 digits"
    );
    assert_eq!(
        TimeError::BeforeEpoch { time: 5, t0: 10 }.to_string(),
        "the time 5 is before the TOTP epoch T0 = 10: check the clock"
    );
    assert_eq!(
        SecretError::TooLong { max: 256 }.to_string(),
        "the secret is longer than 256 bytes: give the key your authenticator or the other system shows, of at most 256 bytes"
    );
    assert_eq!(
        CodeError::WrongLength { expected: 6, found: 5 }.to_string(),
        "the code has 5 digits but 6 are expected"
    );
}

// src/otp/totp.rs:95-98: `step_at` - "The time step of `unix_time`: `(unix_time - T0) /
// period`" and "[`TimeError::BeforeEpoch`] for a time before T0"; RFC 6238 §4 with T0
// other than 0.
#[test]
fn a_later_epoch_shifts_every_step() {
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    let plain = Totp::new(&secret, TotpParams::DEFAULT);
    let later = Totp::new(&secret, TotpParams::DEFAULT.with_t0(1_000).with_period(60).unwrap());
    assert_eq!(later.step_at(1_000 + 59), Ok(0));
    assert_eq!(later.step_at(1_000 + 60), Ok(1));
    assert_eq!(later.generate(1_000 + 60 * 7).unwrap(), plain.generate_at_step(7));
    assert!(later.step_at(999).is_err());
    let code = later.generate(1_000 + 60 * 7).unwrap();
    assert!(later.verify(&code, 1_000 + 60 * 8, Window::ONE, Some(6)).unwrap().is_accepted());
    assert!(matches!(
        later.verify(&code, 1_000 + 60 * 8, Window::ONE, Some(7)),
        Ok(Verification::Replayed(_))
    ));
    assert_eq!(later.verify(&code, 1_000 + 60 * 9, Window::ONE, None), Ok(Verification::Wrong));
}

// src/otp/hotp.rs:57-59: `Hotp::verify` - "returns the counter it matched. Store
// `matched + 1` as the next counter so the code cannot be used again."
#[test]
fn hotp_look_ahead_and_the_next_counter() {
    let hotp = Hotp::new(&Secret::from_bytes(b"12345678901234567890").unwrap(), Algorithm::Sha1, Digits::SIX);
    // RFC 4226 appendix D, counter 5.
    let code = hotp.parse_code("254676").unwrap();
    let matched = hotp.verify(&code, 2, 3).unwrap();
    assert_eq!(matched, 5);
    assert_eq!(hotp.verify(&code, matched + 1, 10), None);
}

// src/otp/uri.rs:3-12: "The format is the one Google Authenticator defined and
// Microsoft Authenticator, Authy and 1Password read ... Parsing accepts what real apps
// and libraries write". The URIs other tools write, beyond those in src/otp/uri.rs.
/// A URI another tool writes, and its issuer, account, algorithm, digits and kind.
type Written = (&'static str, Option<&'static str>, &'static str, Algorithm, u8, OtpKind);

#[test]
fn key_uris_as_other_tools_write_them() {
    let secret = Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
    let cases: &[Written] = &[
        // Google's Key URI format page, every parameter explicit.
        (
            "otpauth://totp/ACME%20Co:john.doe@email.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30",
            Some("ACME Co"),
            "john.doe@email.com",
            Algorithm::Sha1,
            6,
            OtpKind::Totp { period: 30 },
        ),
        // Aegis and KeePassXC: parameters first, secret in the middle, issuer last.
        (
            "otpauth://totp/Example:alice?period=60&digits=8&algorithm=SHA256&secret=JBSWY3DPEHPK3PXP&issuer=Example",
            Some("Example"),
            "alice",
            Algorithm::Sha256,
            8,
            OtpKind::Totp { period: 60 },
        ),
        // An issuer only as a parameter, a trailing `&`, upper-case parameter names.
        (
            "otpauth://totp/alice%40example.com?SECRET=jbswy3dpehpk3pxp&Issuer=GitHub&",
            Some("GitHub"),
            "alice@example.com",
            Algorithm::Sha1,
            6,
            OtpKind::Totp { period: 30 },
        ),
        // HOTP with the counter first (FreeOTP).
        (
            "otpauth://hotp/ACME:bob?counter=10&secret=JBSWY3DPEHPK3PXP&issuer=ACME&digits=7&algorithm=SHA512",
            Some("ACME"),
            "bob",
            Algorithm::Sha512,
            7,
            OtpKind::Hotp { counter: 10 },
        ),
        // An empty issuer parameter: the label's issuer is taken (uri.rs:323-324).
        (
            "otpauth://totp/ACME:carol?secret=JBSWY3DPEHPK3PXP&issuer=",
            Some("ACME"),
            "carol",
            Algorithm::Sha1,
            6,
            OtpKind::Totp { period: 30 },
        ),
    ];
    for (text, issuer, account, algorithm, digits, kind) in cases {
        let uri = KeyUri::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(uri.issuer(), *issuer, "{text}");
        assert_eq!(uri.account(), *account, "{text}");
        assert_eq!((uri.algorithm(), uri.digits().get(), uri.kind()), (*algorithm, *digits, *kind), "{text}");
        assert_eq!(uri.secret(), &secret, "{text}");
        assert_eq!(KeyUri::parse(&uri.to_uri()).as_ref(), Ok(&uri), "{text}");
        let shown = format!("{uri:?} {uri:#?}");
        assert!(!shown.contains("JBSWY3DP") && !shown.to_uppercase().contains("JBSWY3DP"), "{shown}");
    }
}

// `KeyUri::totp`: "[`UriError::EpochNotZero`] if `params` count from an epoch T0 other
// than 0, which the format cannot carry" (an app scanning the URI counts from 0).
#[test]
fn a_key_uri_for_an_epoch_it_cannot_carry_is_refused() {
    let secret = Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
    let params = TotpParams::DEFAULT.with_t0(1_000);
    assert_eq!(KeyUri::totp("ACME", "alice", secret, params), Err(mfa_kit::otp::uri::UriError::EpochNotZero));
}

// src/otp/secret.rs:14-15: "It is never printed: `Debug` shows only its length, there
// is no `Display`"; src/otp/totp.rs / hotp.rs: the Debug forms show parameters only.
#[test]
fn no_debug_form_of_the_otp_core_shows_the_key_or_a_code() {
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    let totp = Totp::new(&secret, TotpParams::DEFAULT);
    let hotp = Hotp::new(&secret, Algorithm::Sha1, Digits::SIX);
    let code = hotp.generate(0);
    let shown = format!("{secret:?} {totp:?} {totp:#?} {hotp:?} {hotp:#?} {code:?} {code:#?}");
    for leak in ["GEZDGNBV", "12345678901234567890", "49, 50", "755224", "0x31"] {
        assert!(!shown.contains(leak), "{leak} in {shown}");
    }
    assert_eq!(format!("{code:?}"), "Code { digits: 6, .. }");
}

// =================================================================================
// src/flow/: recovery codes, sessions
// =================================================================================

// src/flow/recovery.rs:6-7: "A code is accepted with or without separators and in any
// letter case, once; a second try says \"already used\"."
#[test]
fn a_recovery_code_typed_in_lower_case_without_separators_works_once_then_already_used() {
    let world = World::new(StandardPolicy::new(), context_at("203.0.113.7"));
    let (mut record, _phone) = with_app(&world, "ann");
    let key = HashKey::generate().unwrap();
    let step = recovery::generate(&mut record, &key, &world.env(T0 + 40)).unwrap();
    let codes = step.outcome.unwrap();
    assert_eq!(codes.len(), recovery::DEFAULT_COUNT);
    let typed = codes[0].as_str().replace('-', "").to_lowercase();
    let used = recovery::redeem(&mut record, &key, &format!("  {typed}\n"), &world.env(T0 + 50));
    assert!(used.outcome.is_ok(), "{:?}", used.outcome);
    let again = recovery::redeem(&mut record, &key, codes[0].as_str(), &world.env(T0 + 60));
    assert!(again.outcome.is_err());
    assert!(
        again.events.iter().any(|e| matches!(
            e,
            EventKind::CodeRejected {
                method: Method::RecoveryCode,
                reason: RejectionReason::AlreadyUsed,
                ..
            }
        )),
        "{:?}",
        again.events.as_slice()
    );
    // Separators of each accepted kind, mixed.
    let mixed: String = codes[1]
        .as_str()
        .replace('-', "")
        .chars()
        .enumerate()
        .flat_map(|(i, c)| if i % 3 == 2 { vec![c, ['_', '.', ' ', '\t', '-'][i % 5]] } else { vec![c] })
        .collect();
    assert!(recovery::redeem(&mut record, &key, &mixed, &world.env(T0 + 70)).outcome.is_ok(), "{mixed:?}");
}

// src/flow/mod.rs:170-171 and :216-217: the count is "from 1 to [`recovery::MAX_COUNT`]
// (a count outside is taken as the nearest)".
#[test]
fn a_recovery_code_count_outside_its_range_is_taken_as_the_nearest() {
    use mfa_kit::flow::Rules;
    assert_eq!(Rules::default().with_recovery_codes(0).recovery_codes, 1);
    assert_eq!(Rules::default().with_recovery_codes(1_000).recovery_codes, recovery::MAX_COUNT);
    assert_eq!(recovery::MAX_COUNT, 100);
    let mut world = World::new(StandardPolicy::new(), context_at("203.0.113.7"));
    world.rules.recovery_codes = 0;
    let (mut record, _phone) = with_app(&world, "bob");
    let key = HashKey::generate().unwrap();
    let codes = recovery::generate(&mut record, &key, &world.env(T0 + 40)).unwrap().outcome.unwrap();
    assert_eq!(codes.len(), 1, "a field set to 0 by hand is taken as 1 too");
}

// src/flow/session.rs:26-27: "The clock reads a time before the session began, by more
// than the clock skew (5 minutes)"; :22-23 (lifetime "counted from the password") and
// the idle limit; src/flow/session.rs:102-106 (`adopt`).
#[test]
fn session_judgement_at_its_exact_edges_and_adopt() {
    let record = UserRecord::new(UserId::new("ann"));
    let limits = SessionLimits::new(8 * HOUR, HOUR);
    let start = T0;
    let session = SessionFacts::new(record.generation(), start);
    let judge = |session: &SessionFacts, now: u64| session::judge(&record, session, limits, now);
    assert_eq!(judge(&session, start - 300), SessionVerdict::Continue, "5 minutes behind is skew");
    assert_eq!(judge(&session, start - 301), SessionVerdict::Ended(SessionEnd::ClockBehind));
    assert_eq!(judge(&session, start + HOUR - 1), SessionVerdict::Continue);
    assert_eq!(judge(&session, start + HOUR), SessionVerdict::Ended(SessionEnd::Inactive));
    let busy = session.active_at(start + 8 * HOUR - 10);
    assert_eq!(judge(&busy, start + 8 * HOUR - 1), SessionVerdict::Continue);
    assert_eq!(judge(&busy, start + 8 * HOUR), SessionVerdict::Ended(SessionEnd::LifetimeReached));
    let older = SessionFacts::new(record.generation() + 1, start);
    assert_eq!(judge(&older, start), SessionVerdict::Ended(SessionEnd::AccountChanged));
    assert_eq!(session::adopt(4, 4), Some(4));
    assert_eq!(session::adopt(4, 5), Some(5));
    assert_eq!(session::adopt(4, 6), None);
    assert_eq!(session::adopt(4, 3), None);
}

// src/flow/device.rs:38-43: "Beyond [`MAX_DEVICES`] expired devices are dropped first
// (they let nobody in ...), then the oldest is revoked (audited as `devices_revoked`,
// reason `superseded`)."
#[test]
fn over_the_device_cap_an_expired_device_goes_first_unaudited_then_the_oldest() {
    use mfa_kit::Revocation;
    use mfa_kit::flow::device;
    use mfa_kit::record::MAX_DEVICES;
    let world = World::new(StandardPolicy::new(), context_at("203.0.113.7"));
    let (mut record, _phone) = with_app(&world, "ann");
    let key = HashKey::generate().unwrap();
    let mut ids = Vec::new();
    // The second device remembered lives ten seconds; every other one a day.
    for i in 0..MAX_DEVICES as u64 {
        let lifetime = if i == 1 { 10 } else { 86_400 };
        let step =
            device::remember(&mut record, &key, &format!("d{i}"), lifetime, &world.env(T0 + 31 + i)).unwrap();
        ids.push(step.outcome.unwrap().info.id);
    }
    let now = T0 + 100;
    let step = device::remember(&mut record, &key, "new", 86_400, &world.env(now)).unwrap();
    assert!(step.outcome.is_ok());
    assert!(
        !step.events.iter().any(|e| matches!(e, EventKind::DevicesRevoked { .. })),
        "an expired device makes room unaudited: {:?}",
        step.events.as_slice()
    );
    let listed: Vec<String> = device::list(&record, now).into_iter().map(|d| d.id).collect();
    assert_eq!(listed.len(), MAX_DEVICES);
    assert!(listed.contains(&ids[0]) && !listed.contains(&ids[1]));
    // Full of good devices: the oldest is revoked, and audited so.
    let step = device::remember(&mut record, &key, "newer", 86_400, &world.env(now + 1)).unwrap();
    assert!(step.outcome.is_ok());
    assert!(step.events.iter().any(|e| matches!(
        e,
        EventKind::DevicesRevoked { device_ids, reason: Revocation::Superseded } if device_ids == &vec![ids[0].clone()]
    )));
    assert_eq!(device::list(&record, now + 1).len(), MAX_DEVICES);
}

// src/flow/device.rs:6-9: "A reset, a deactivation, an authenticator app set up in
// place of the user's own ... or a password change revokes every device; an app, a key
// or a destination added beside the ones the user has (with a fresh proof) does not."
#[test]
fn an_app_added_beside_keeps_devices_and_a_password_change_revokes_them_all() {
    use mfa_kit::flow::device;
    let world = World::new(StandardPolicy::new(), context_at("203.0.113.7"));
    let (mut record, _phone) = with_app(&world, "ann");
    let key = HashKey::generate().unwrap();
    for i in 0..2 {
        let step =
            device::remember(&mut record, &key, &format!("d{i}"), 86_400, &world.env(T0 + 40 + i)).unwrap();
        assert!(step.outcome.is_ok());
    }
    flow_world::add_app(&mut record, &world, "desk", T0 + 120).expect("an app beside the first");
    assert_eq!(device::list(&record, T0 + 130).len(), 2, "an app added beside revokes nothing");
    let generation = record.generation();
    let changed = device::password_changed(&mut record);
    assert_eq!((changed.outcome, changed.changed), (Ok(2), true));
    assert!(device::list(&record, T0 + 140).is_empty());
    assert_eq!(record.generation(), generation + 1);
}

// `OrgSettings::allow_security_keys`: "Settings that turn them off while listing types
// in [`OrgSettingsBuilder::phishing_resistant_for`] do not build": a listed user could
// never register the key they must use, and the rule would mean nothing.
#[test]
fn a_phishing_resistant_rule_with_keys_turned_off_does_not_build() {
    let built = OrgSettings::builder()
        .phishing_resistant_for(vec!["admin".into()])
        .allow_security_keys(false)
        .build();
    let refused = built.unwrap_err();
    assert!(refused.as_str().contains("phishing_resistant_for"), "{refused}");
    assert!(refused.as_str().contains("allow_security_keys"), "{refused}");
    // Either alone builds; such settings stored by an earlier version still read.
    let stored = r#"{"allow_security_keys":false,"phishing_resistant_for":["admin"]}"#;
    assert_eq!(serde_json::from_str::<OrgSettings>(stored).unwrap().phishing_resistant_for(), ["admin"]);
    assert!(OrgSettings::builder().allow_security_keys(false).build().is_ok());
    assert!(OrgSettings::builder().phishing_resistant_for(vec!["admin".into()]).build().is_ok());
}

// `ServiceConfig::totp_params`: "T0 must stay 0 (a Key URI cannot carry another, and
// enrollment is refused as [`crate::service::Error::Misconfigured`])": the QR code would
// describe another credential than the one the service verifies, and the phone that
// scanned it could never confirm.
#[test]
fn an_enrollment_under_an_epoch_the_qr_code_cannot_carry_is_refused() {
    use common::{office, run, user};
    let mut config = mfa_kit::service::ServiceConfig::new("Smith & Co Accounting");
    config.totp_params = TotpParams::DEFAULT.with_t0(1_000);
    let firm = common::firm_with_config(config);
    let ann = user("ann");
    let started = run(firm.mfa.start_enrollment(&ann, "ann@smith.example", &office()));
    assert!(matches!(started, Err(mfa_kit::service::Error::Misconfigured(_))), "{started:?}");
    assert!(firm.mfa.store().events_for(&ann).is_empty(), "nothing written");
}

// src/flow/mod.rs:178-179: `Rules::DEFAULT` - "One step of drift either way, two-code
// confirmation, 10-minute SMS and e-mail codes, 10 recovery codes, security keys whose
// counter goes back refused."
#[test]
fn the_default_rules_are_as_documented() {
    use mfa_kit::flow::Rules;
    let rules = Rules::DEFAULT;
    assert_eq!(rules, Rules::default());
    assert_eq!(rules.drift.base, Window::ONE);
    assert_eq!(rules.confirmation, mfa_kit::flow::enrollment::Confirmation::TwoCodes);
    assert_eq!(rules.send_limits.lifetime, 600);
    assert_eq!(rules.recovery_codes, 10);
    assert_eq!(rules.counter, mfa_kit::flow::security_key::CounterRule::Refuse);
}

// src/flow/mod.rs:256-259 (`refuse_without_secret`): "`missing`, unless the request
// itself is refused (an address off the organisation's allowlist), which then hears
// only that and learns nothing of the user's set-up"; the host's step 3 at
// src/flow/mod.rs:19-23.
#[test]
fn a_request_without_its_secret_hears_only_the_allowlist_when_off_it() {
    let listed =
        OrgSettings::builder().allowed_networks(vec!["203.0.113.0/24".parse().unwrap()]).build().unwrap();
    let inside = World::new(StandardPolicy::new(), firm_ctx(listed.clone()));
    let outside = World::new(StandardPolicy::new(), context_at("198.51.100.9").with_org(Arc::new(listed)));
    let missing = Refusal::NoPendingEnrollment;
    assert_eq!(mfa_kit::flow::refuse_without_secret(missing.clone(), &inside.env(T0)), missing);
    assert_eq!(mfa_kit::flow::refuse_without_secret(missing, &outside.env(T0)), Refusal::AddressNotAllowed);
}
