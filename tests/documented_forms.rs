//! What the docs promise, checked where a review found the code did otherwise: the
//! device list under a clock that ran ahead, the shown forms of a masked address and a
//! recovery code, the values the event table lists, the time a lockout's sentence
//! shows, and a security-key ceremony spent whatever the answer.

mod common;

use common::*;
use mfa_kit::Refusal;
use mfa_kit::event::EventKind;

/// The record's rule for time: "Checks that only read (the sign-in decision, step-up,
/// showing an enrollment again, the device list) refuse such windows" (windows that
/// start more than the clock skew after the reading). `MfaService::devices`: "The
/// user's remembered devices that are still valid."
#[test]
fn the_device_list_does_not_show_a_device_remembered_by_a_clock_that_ran_ahead() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    // The server's clock runs a day ahead while the laptop is remembered for 48 hours.
    firm.clock.advance(86_400);
    firm.prove(&sarah, &phone);
    let remembered = run(firm.mfa.remember_device(&sarah, "Laptop", 48 * 3600, &office())).unwrap();
    assert!(remembered.is_ok(), "{remembered:?}");
    // The clock is put right: the device's window starts a day from now.
    firm.clock.set(START + 3600);
    let listed = run(firm.mfa.devices(&sarah)).unwrap();
    assert!(listed.is_empty(), "a device dated a day ahead is listed as valid: {listed:?}");
}

/// `Destination::masked`: "A masked form for screens and audit logs: `•••678`,
/// `s•••@e•••.com`", and README's "Sent (to •••678, expiry)".
#[test]
fn a_masked_destination_reads_as_documented() {
    let sarah = mfa_kit::Destination::email("sarah@example.com").unwrap();
    assert_eq!(sarah.masked(), "s•••@e•••.com");
    let phone = mfa_kit::Destination::sms("+61412345678").unwrap();
    assert_eq!(phone.masked(), "•••678");
    // The mask does not tell the number's length.
    assert_eq!(mfa_kit::Destination::sms("+1 202 555 0678").unwrap().masked(), "•••678");
}

/// `RecoveryCode`: "One recovery code in its shown form (`7KQMR-Z4DX9-AB3CD`: fifteen
/// symbols in groups of five)."
#[test]
fn a_recovery_code_is_shown_in_the_form_its_type_documents() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let codes = run(firm.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
    let shown = codes[0].as_str();
    let groups: Vec<usize> = shown.split('-').map(str::len).collect();
    assert_eq!(groups, [5, 5, 5], "shown as {shown}");
}

/// The event table: `reset_by_admin` ... "`cleared`: list of `authenticator`,
/// `pending_enrollment`, `lockout`, `recovery_codes`, `backup_destinations`,
/// `remembered_devices`, `security_keys`, `freeze`".
#[test]
fn a_reset_audits_only_the_documented_cleared_values() {
    let firm = firm();
    let (sarah, partner) = (user("sarah"), user("partner"));
    firm.enroll(&sarah);
    let partner_phone = firm.enroll(&partner);
    // Sarah follows a "this wasn't me" link: her account is frozen.
    let now = START + 1000;
    firm.clock.set(now);
    let token = firm.mfa.disown_token(&sarah, 1, now, &EventKind::LockoutEnded).unwrap();
    let disowned = run(firm.mfa.disown(&sarah, token.as_str(), &office())).unwrap();
    assert!(disowned.is_ok(), "{disowned:?}");
    firm.prove(&partner, &partner_phone);
    let reset = run(firm.mfa.reset(reset_of(&partner, &sarah, "reported"), &permitted(), &office())).unwrap();
    assert!(reset.is_ok(), "{reset:?}");
    let documented = [
        "authenticator",
        "pending_enrollment",
        "lockout",
        "recovery_codes",
        "backup_destinations",
        "remembered_devices",
        "security_keys",
        "freeze",
    ];
    let stored = firm.mfa.store().events_for(&sarah);
    let event = stored.iter().find(|e| matches!(e.kind, EventKind::ResetByAdmin { .. })).unwrap();
    let json: serde_json::Value = serde_json::to_value(&event.kind).unwrap();
    for value in json["cleared"].as_array().unwrap() {
        assert!(
            documented.contains(&value.as_str().unwrap()),
            "undocumented cleared value {value} in {json}"
        );
    }
}

/// `LockedOut`'s sentence, "Too many wrong codes. Try again after {until}.", shown as
/// it is: the minute it names is never before the lockout's end, so a try made after
/// it is not refused as locked.
#[test]
fn a_try_after_the_time_the_lockout_sentence_shows_is_not_refused_as_locked() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    firm.clock.advance(25); // the lockout's end falls within a minute, not on it
    let mut refusal = None;
    for _ in 0..5 {
        refusal =
            Some(run(firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office())).unwrap().unwrap_err());
    }
    let Some(Refusal::LockedOut { until }) = refusal else { panic!("{refusal:?}") };
    assert_ne!(until % 60, 0, "the test needs an end within a minute");
    let shown = Refusal::LockedOut { until }.to_string();
    // One second after the minute the sentence names: the first whole minute after
    // the end.
    let named = until.div_ceil(60) * 60;
    assert!(!Refusal::LockedOut { until: until - until % 60 }.to_string().eq(&shown), "{shown}");
    firm.clock.set(named + 1);
    let again = run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap();
    assert!(!matches!(again, Err(Refusal::LockedOut { .. })), "told \"{shown}\", then refused: {again:?}");
}

/// `flow::security_key::finish_authentication`: "The ceremony is spent
/// whatever the answer, so a response is accepted at most once." An answer refused
/// before the ceremony is looked at (here: from a session that has ended) leaves it
/// pending, to be answered again.
#[test]
fn a_security_key_ceremony_is_spent_whatever_the_answer() {
    use mfa_kit::flow::security_key::{self, Assertion, NewKey};
    use mfa_kit::flow::{Env, Rules};
    use mfa_kit::policy::{SessionFacts, SignInContext, StandardPolicy};
    use mfa_kit::record::{CredentialId, UserRecord};

    let (policy, rules) = (StandardPolicy::new(), Rules::default());
    let context = SignInContext::default();
    let mut record = UserRecord::new(user("kim"));
    let env = Env::new(START, &policy, &context, &rules);
    let handle = security_key::user_handle(&record).unwrap();
    let started =
        security_key::start_registration(&mut record, "YubiKey", handle, "registration".into(), &env);
    assert!(started.outcome.is_ok(), "{:?}", started.outcome);
    let key = NewKey {
        credential_id: CredentialId::new(vec![7; 32]),
        public_key: "{}".into(),
        counter: 1,
        user_verified: true,
        backup_eligible: false,
        backup_state: false,
        discoverable: false,
    };
    let registered = security_key::finish_registration(&mut record, Ok(key), &env).unwrap();
    assert!(registered.outcome.is_ok(), "{:?}", registered.outcome);

    let env = Env::new(START + 60, &policy, &context, &rules);
    let started = security_key::start_authentication(&mut record, "authentication".into(), &env);
    assert!(started.outcome.is_ok(), "{:?}", started.outcome);
    // The answer comes from a session of an older generation.
    let ended = SignInContext::default().with_session(SessionFacts::new(record.generation() + 7, START));
    let env = Env::new(START + 70, &policy, &ended, &rules);
    let answer = Assertion {
        credential_id: CredentialId::new(vec![7; 32]),
        counter: 2,
        user_verified: true,
        backup_eligible: false,
        backup_state: false,
    };
    let step = security_key::finish_authentication(&mut record, Ok(answer), &env);
    assert!(matches!(step.outcome, Err(Refusal::SessionEnded(_))), "{:?}", step.outcome);
    assert!(record.ceremony().is_none(), "the ceremony is still pending: {:?}", record.ceremony());
}
