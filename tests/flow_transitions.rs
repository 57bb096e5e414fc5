//! Direct, synchronous tests of the public transitions in `flow::{enrollment,
//! oversight, step_up, sign_in}` (issue 27): no service, no store, no async. Each test
//! builds a record, runs one transition with an `Env`, and checks the outcome, the
//! events (their kinds, exactly), `changed`, and the record after.

use std::net::IpAddr;
use std::sync::Arc;

use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::EventKind;
use mfa_kit::flow::enrollment::{self, Confirmation, Confirmed, MAX_STARTS_PER_HOUR};
use mfa_kit::flow::oversight::{self, SettingsChange};
use mfa_kit::flow::step_up::{self, StepUp};
use mfa_kit::flow::{self, Env, Rules, sign_in};
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::otp::{Secret, Totp, TotpParams};
use mfa_kit::policy::{
    Decision, IpNetwork, Jurisdiction, Level, OrgSettings, SessionFacts, SignInContext, StandardPolicy,
};
use mfa_kit::record::{DeviceToken, LastProof, MAX_AUTHENTICATORS, RefusalTally, UserRecord};
use mfa_kit::seal::SealedSecret;
use mfa_kit::{
    Cleared, EnrollmentRejection, HostAction, Method, Reason, Refusal, RejectionReason, RequestContext,
    ResetMode, Revocation, SensitiveAction, SessionEnd, UserId,
};

/// A time whose TOTP step starts 20 seconds earlier: `T0` and `T0 + 30` are in
/// consecutive steps.
const T0: u64 = 1_700_000_000;
/// The default enrollment lifetime and step-up window.
const LIFETIME: u64 = 600;
const WINDOW: u64 = 300;

/// The policy, context and rules of one request.
struct World {
    policy: StandardPolicy,
    context: SignInContext,
    rules: Rules,
}

impl World {
    fn new() -> World {
        World { policy: StandardPolicy::new(), context: SignInContext::default(), rules: Rules::DEFAULT }
    }

    fn with_context(context: SignInContext) -> World {
        World { context, ..World::new() }
    }

    fn with_rules(rules: Rules) -> World {
        World { rules, ..World::new() }
    }

    fn env(&self, now: u64) -> Env<'_> {
        Env::new(now, &self.policy, &self.context, &self.rules)
    }
}

/// A request from 192.0.2.1 in an organisation that only allows 10.0.0.0/8.
fn off_the_allowlist() -> World {
    let settings = OrgSettings::builder()
        .allowed_networks(vec![IpNetwork::new("10.0.0.0".parse().unwrap(), 8).unwrap()])
        .build()
        .unwrap();
    let address: IpAddr = "192.0.2.1".parse().unwrap();
    World::with_context(
        SignInContext::new(RequestContext::from_address(address)).with_org(Arc::new(settings)),
    )
}

/// A request from a session that began before the account's protection last changed.
fn ended_session(record: &UserRecord) -> World {
    let session = SessionFacts::new(record.generation() + 1, T0).proved_at(T0);
    World::with_context(SignInContext::default().with_session(session))
}

fn key() -> HashKey {
    HashKey::from_bytes(&[7; 32]).unwrap()
}

fn secret(seed: u8) -> Secret {
    Secret::from_bytes(&[seed; 20]).unwrap()
}

/// The app holding the secret made from `seed`.
fn phone(seed: u8) -> Totp {
    Totp::new(&secret(seed), TotpParams::DEFAULT)
}

/// The secret of `seed` sealed for the user `name`, as the host's KMS would.
fn sealed(name: &str, seed: u8) -> SealedSecret {
    PlaintextSealer.seal(&UserId::new(name), &secret(seed)).unwrap()
}

fn code(totp: &Totp, at: u64) -> String {
    totp.generate(at).unwrap().to_string()
}

/// A code from an app with another secret: wrong for every phone used here.
fn wrong(at: u64) -> String {
    code(&phone(99), at)
}

fn new_user(name: &str) -> UserRecord {
    UserRecord::new(UserId::new(name))
}

/// A user who set up the app of `seed` at `T0` and confirmed it at `T0 + 30` (which is
/// also a second-factor proof at `T0 + 30`).
fn enrolled(name: &str, seed: u8) -> (UserRecord, Totp) {
    let world = World::new();
    let mut record = new_user(name);
    let started =
        enrollment::start(&mut record, sealed(name, seed), TotpParams::DEFAULT, name, &world.env(T0));
    assert!(started.outcome.is_ok());
    let totp = phone(seed);
    let codes = [code(&totp, T0), code(&totp, T0 + 30)];
    let confirmed =
        enrollment::confirm(&mut record, &totp, &[&codes[0], &codes[1]], &world.env(T0 + 30)).unwrap();
    assert!(confirmed.outcome.is_ok());
    (record, totp)
}

/// When the proof made by [`enrolled`] is no longer fresh.
const STALE: u64 = T0 + 30 + WINDOW + 1;

/// Locks the user out with five wrong codes at `at`; returns when the lockout ends.
fn lock_out(record: &mut UserRecord, totp: &Totp, at: u64) -> u64 {
    let world = World::new();
    let mut last = None;
    for _ in 0..5 {
        last =
            Some(flow::authenticator::verify(record, &[totp], &wrong(at), &world.env(at)).unwrap().outcome);
    }
    match last {
        Some(Err(Refusal::LockedOut { until })) => until,
        other => panic!("not locked out: {other:?}"),
    }
}

/// Freezes the account with a notice's "this wasn't me" link.
fn freeze(record: &mut UserRecord, at: u64) {
    let token = flow::disown::token(&key(), record.user(), 1, at, &EventKind::LockoutEnded);
    let step = flow::disown::redeem(record, &key(), token.as_str(), &World::new().env(at));
    assert!(step.outcome.is_ok() && record.frozen().is_some());
}

/// Remembers this device for a day; returns the token for the cookie and the device's id.
fn remember(record: &mut UserRecord, at: u64) -> (DeviceToken, String) {
    let remembered = flow::device::remember(record, &key(), "laptop", 86_400, &World::new().env(at))
        .unwrap()
        .outcome
        .unwrap();
    (remembered.token, remembered.info.id)
}

fn refused(refusal: &Refusal) -> EventKind {
    EventKind::EnrollmentRefused { refusal: refusal.code().to_string() }
}

// --- enrollment::start --------------------------------------------------------------

#[test]
fn starting_an_enrollment_opens_it_for_the_policys_lifetime_and_audits_it() {
    let world = World::new();
    let mut record = new_user("sarah");
    let step =
        enrollment::start(&mut record, sealed("sarah", 1), TotpParams::DEFAULT, "sarah", &world.env(T0));
    assert_eq!(step.outcome.map(|started| started.expires_at), Ok(T0 + LIFETIME));
    assert_eq!(step.events.as_slice(), [EventKind::EnrollmentStarted { expires_at: T0 + LIFETIME }]);
    assert!(step.changed);
    let pending = record.pending_enrollment().expect("an enrollment is pending");
    assert_eq!((pending.account(), pending.adding(), pending.started_at()), (Some("sarah"), None, T0));
    assert!(record.authenticators().is_empty(), "nothing is installed before the confirmation");
}

#[test]
fn starting_an_enrollment_from_an_address_off_the_allowlist_is_refused_and_audited() {
    let world = off_the_allowlist();
    let mut record = new_user("sarah");
    let step =
        enrollment::start(&mut record, sealed("sarah", 1), TotpParams::DEFAULT, "sarah", &world.env(T0));
    assert_eq!(step.outcome.map(|_| ()), Err(Refusal::AddressNotAllowed));
    assert_eq!(step.events.as_slice(), [refused(&Refusal::AddressNotAllowed)]);
    assert!(record.pending_enrollment().is_none());
}

#[test]
fn replacing_an_authenticator_without_a_fresh_proof_is_refused_and_keeps_the_old_one() {
    let (mut record, _) = enrolled("sarah", 1);
    let before = record.authenticators().to_vec();
    let world = World::new();
    let step =
        enrollment::start(&mut record, sealed("sarah", 2), TotpParams::DEFAULT, "sarah", &world.env(STALE));
    assert_eq!(step.outcome.map(|_| ()), Err(Refusal::FreshProofRequired));
    assert_eq!(step.events.as_slice(), [refused(&Refusal::FreshProofRequired)]);
    assert!(record.pending_enrollment().is_none());
    assert_eq!(record.authenticators(), before);
}

#[test]
fn starting_an_enrollment_during_a_lockout_is_refused() {
    let (mut record, totp) = enrolled("sarah", 1);
    let until = lock_out(&mut record, &totp, T0 + 60);
    let step = enrollment::start(
        &mut record,
        sealed("sarah", 2),
        TotpParams::DEFAULT,
        "sarah",
        &World::new().env(T0 + 90),
    );
    assert_eq!(step.outcome.map(|_| ()), Err(Refusal::LockedOut { until }));
    assert_eq!(step.events.as_slice(), [refused(&Refusal::LockedOut { until })]);
    assert!(record.pending_enrollment().is_none());
}

#[test]
fn starting_an_enrollment_on_a_frozen_account_is_refused() {
    let mut record = new_user("sarah");
    freeze(&mut record, T0);
    let step = enrollment::start(
        &mut record,
        sealed("sarah", 1),
        TotpParams::DEFAULT,
        "sarah",
        &World::new().env(T0 + 10),
    );
    assert_eq!(step.outcome.map(|_| ()), Err(Refusal::AccountFrozen));
    assert_eq!(step.events.as_slice(), [refused(&Refusal::AccountFrozen)]);
    assert!(record.pending_enrollment().is_none());
}

#[test]
fn starting_an_enrollment_from_an_ended_session_is_refused() {
    let mut record = new_user("sarah");
    let world = ended_session(&record);
    let step =
        enrollment::start(&mut record, sealed("sarah", 1), TotpParams::DEFAULT, "sarah", &world.env(T0));
    let ended = Refusal::SessionEnded(SessionEnd::AccountChanged);
    assert_eq!(step.outcome.map(|_| ()), Err(ended.clone()));
    assert_eq!(step.events.as_slice(), [refused(&ended)]);
    assert!(record.pending_enrollment().is_none());
}

#[test]
fn a_start_beyond_the_hourly_limit_is_rate_limited_until_the_oldest_start_is_an_hour_old() {
    let world = World::new();
    let mut record = new_user("sarah");
    for i in 0..MAX_STARTS_PER_HOUR as u64 {
        let step = enrollment::start(
            &mut record,
            sealed("sarah", 1),
            TotpParams::DEFAULT,
            "sarah",
            &world.env(T0 + i * 60),
        );
        assert!(step.outcome.is_ok(), "start {i}");
    }
    let pending = record.pending_enrollment().cloned();
    let late = T0 + 3599;
    let step =
        enrollment::start(&mut record, sealed("sarah", 1), TotpParams::DEFAULT, "sarah", &world.env(late));
    let limited = Refusal::RateLimited { retry_at: T0 + 3600 };
    assert_eq!(step.outcome.map(|_| ()), Err(limited.clone()));
    assert_eq!(step.events.as_slice(), [refused(&limited)]);
    assert_eq!(record.pending_enrollment().cloned(), pending, "the last enrollment stays as it was");
}

// --- enrollment::refused_start ------------------------------------------------------

#[test]
fn auditing_a_start_that_resume_refused_writes_enrollment_refused_and_nothing_else() {
    let (mut record, _) = enrolled("sarah", 1);
    let before = record.clone();
    let step = enrollment::refused_start(&mut record, Refusal::FreshProofRequired, &World::new().env(STALE));
    assert_eq!(step.outcome, Err(Refusal::FreshProofRequired));
    assert_eq!(step.events.as_slice(), [refused(&Refusal::FreshProofRequired)]);
    // Only the bound on refused attempts moved.
    assert_eq!(record.authenticators(), before.authenticators());
    assert_eq!(record.pending_enrollment(), before.pending_enrollment());
    assert_eq!(record.generation(), before.generation());
}

#[test]
fn refused_starts_beyond_the_intervals_share_are_counted_in_the_record_not_audited() {
    let mut record = new_user("sarah");
    let world = World::new();
    for _ in 0..RefusalTally::LOGGED_PER_INTERVAL {
        let step = enrollment::refused_start(&mut record, Refusal::FreshProofRequired, &world.env(T0));
        assert_eq!(step.events.len(), 1);
    }
    let step = enrollment::refused_start(&mut record, Refusal::FreshProofRequired, &world.env(T0 + 1));
    assert_eq!(step.outcome, Err(Refusal::FreshProofRequired));
    assert!(step.events.is_empty(), "{:?}", step.events);
    assert!(step.changed);
    assert_eq!(record.refusal_tally().unlogged(), 1);
}

// --- enrollment::add ----------------------------------------------------------------

#[test]
fn adding_an_authenticator_opens_an_enrollment_that_installs_it_beside_the_first() {
    let (mut record, first) = enrolled("sarah", 1);
    let world = World::new();
    let step = enrollment::add(
        &mut record,
        sealed("sarah", 2),
        TotpParams::DEFAULT,
        "sarah",
        "Backup phone",
        &world.env(T0 + 60),
    );
    assert_eq!(step.outcome.map(|started| started.expires_at), Ok(T0 + 60 + LIFETIME));
    assert_eq!(step.events.as_slice(), [EventKind::EnrollmentStarted { expires_at: T0 + 60 + LIFETIME }]);
    assert!(step.changed);
    assert_eq!(record.pending_enrollment().and_then(|p| p.adding()), Some("Backup phone"));

    let second = phone(2);
    let codes = [code(&second, T0 + 60), code(&second, T0 + 90)];
    let step =
        enrollment::confirm(&mut record, &second, &[&codes[0], &codes[1]], &world.env(T0 + 90)).unwrap();
    assert_eq!(step.outcome, Ok(Confirmed { replaced: false, at: T0 + 90 }));
    assert_eq!(step.events.as_slice(), [EventKind::EnrollmentConfirmed { replaced: false }]);
    let names: Vec<_> = record.authenticators().iter().map(|a| a.name().to_string()).collect();
    assert_eq!(names.len(), 2);
    assert_eq!(names[1], "Backup phone");
    assert!(
        flow::authenticator::verify(&mut record, &[&first], &code(&first, T0 + 120), &world.env(T0 + 120))
            .unwrap()
            .outcome
            .is_ok()
    );
}

#[test]
fn adding_an_authenticator_with_an_unacceptable_name_is_refused_and_audited() {
    let (mut record, _) = enrolled("sarah", 1);
    let step = enrollment::add(
        &mut record,
        sealed("sarah", 2),
        TotpParams::DEFAULT,
        "sarah",
        "   ",
        &World::new().env(T0 + 60),
    );
    assert_eq!(step.outcome.map(|_| ()), Err(Refusal::InvalidName));
    assert_eq!(step.events.as_slice(), [refused(&Refusal::InvalidName)]);
    assert!(record.pending_enrollment().is_none());
}

#[test]
fn adding_an_authenticator_beyond_the_maximum_is_refused() {
    let (mut record, first) = enrolled("sarah", 1);
    let world = World::new();
    // One more per hour (the hourly limit on starts), each after a fresh proof.
    for seed in 2..=MAX_AUTHENTICATORS as u8 {
        let at = T0 + u64::from(seed) * 3600;
        let proof =
            flow::authenticator::verify(&mut record, &[&first], &code(&first, at), &world.env(at)).unwrap();
        assert!(proof.outcome.is_ok());
        let name = format!("phone {seed}");
        let step = enrollment::add(
            &mut record,
            sealed("sarah", seed),
            TotpParams::DEFAULT,
            "sarah",
            &name,
            &world.env(at),
        );
        assert!(step.outcome.is_ok());
        let totp = phone(seed);
        let codes = [code(&totp, at), code(&totp, at + 30)];
        let step =
            enrollment::confirm(&mut record, &totp, &[&codes[0], &codes[1]], &world.env(at + 30)).unwrap();
        assert!(step.outcome.is_ok());
    }
    assert_eq!(record.authenticators().len(), MAX_AUTHENTICATORS);
    let at = T0 + 100 * 3600;
    let proof =
        flow::authenticator::verify(&mut record, &[&first], &code(&first, at), &world.env(at)).unwrap();
    assert!(proof.outcome.is_ok());
    let step = enrollment::add(
        &mut record,
        sealed("sarah", 50),
        TotpParams::DEFAULT,
        "sarah",
        "one more",
        &world.env(at),
    );
    assert_eq!(step.outcome.map(|_| ()), Err(Refusal::TooManyAuthenticators));
    assert_eq!(step.events.as_slice(), [refused(&Refusal::TooManyAuthenticators)]);
    assert!(record.pending_enrollment().is_none());
}

#[test]
fn adding_an_authenticator_without_a_fresh_proof_is_refused() {
    let (mut record, _) = enrolled("sarah", 1);
    let step = enrollment::add(
        &mut record,
        sealed("sarah", 2),
        TotpParams::DEFAULT,
        "sarah",
        "Backup phone",
        &World::new().env(STALE),
    );
    assert_eq!(step.outcome.map(|_| ()), Err(Refusal::FreshProofRequired));
    assert_eq!(step.events.as_slice(), [refused(&Refusal::FreshProofRequired)]);
    assert!(record.pending_enrollment().is_none());
}

// --- enrollment::import -------------------------------------------------------------

#[test]
fn importing_an_authenticator_installs_it_without_codes_and_audits_it() {
    let mut record = new_user("sarah");
    let world = World::new();
    let step =
        enrollment::import(&mut record, sealed("sarah", 1), TotpParams::DEFAULT, &world.env(T0)).unwrap();
    assert_eq!(step.outcome, Ok(()));
    assert_eq!(step.events.as_slice(), [EventKind::AuthenticatorImported]);
    assert!(step.changed);
    assert_eq!(record.authenticators().len(), 1);
    assert_eq!(record.authenticators()[0].last_accepted_step(), None, "the first code sets the replay floor");
    assert_eq!(record.generation(), 1, "the account's protection changed");
    let totp = phone(1);
    let proof =
        flow::authenticator::verify(&mut record, &[&totp], &code(&totp, T0 + 30), &world.env(T0 + 30));
    assert!(proof.unwrap().outcome.is_ok());
}

#[test]
fn importing_for_a_user_who_has_an_authenticator_is_refused_and_changes_nothing() {
    let (mut record, _) = enrolled("sarah", 1);
    let before = record.clone();
    let step =
        enrollment::import(&mut record, sealed("sarah", 2), TotpParams::DEFAULT, &World::new().env(T0 + 60))
            .unwrap();
    assert_eq!(step.outcome, Err(Refusal::AlreadyEnrolled));
    assert!(step.events.is_empty());
    assert!(!step.changed);
    assert_eq!(record, before);
}

#[test]
fn importing_from_an_address_off_the_allowlist_is_refused_and_changes_nothing() {
    let mut record = new_user("sarah");
    let before = record.clone();
    let world = off_the_allowlist();
    let step =
        enrollment::import(&mut record, sealed("sarah", 1), TotpParams::DEFAULT, &world.env(T0)).unwrap();
    assert_eq!(step.outcome, Err(Refusal::AddressNotAllowed));
    assert!(step.events.is_empty() && !step.changed);
    assert_eq!(record, before);
}

#[test]
fn importing_during_a_lockout_is_refused_before_anything_else_is_judged() {
    let (mut record, totp) = enrolled("sarah", 1);
    let until = lock_out(&mut record, &totp, T0 + 60);
    let before = record.clone();
    let step =
        enrollment::import(&mut record, sealed("sarah", 2), TotpParams::DEFAULT, &World::new().env(T0 + 90))
            .unwrap();
    assert_eq!(step.outcome, Err(Refusal::LockedOut { until }));
    assert!(step.events.is_empty() && !step.changed);
    assert_eq!(record, before);
}

// --- enrollment::resume -------------------------------------------------------------

#[test]
fn resuming_shows_the_open_enrollment_for_the_same_account_and_purpose_only() {
    let world = World::new();
    let mut record = new_user("sarah");
    let step =
        enrollment::start(&mut record, sealed("sarah", 1), TotpParams::DEFAULT, "sarah", &world.env(T0));
    assert!(step.outcome.is_ok());
    let before = record.clone();
    let env = world.env(T0 + 60);
    assert_eq!(enrollment::resume(&record, "sarah", None, &env), Ok(record.pending_enrollment()));
    assert!(enrollment::resume(&record, "sarah", None, &env).unwrap().is_some());
    assert_eq!(enrollment::resume(&record, "someone else", None, &env), Ok(None));
    assert_eq!(enrollment::resume(&record, "sarah", Some("Backup phone"), &env), Ok(None));
    assert_eq!(record, before, "resuming changes nothing");
}

#[test]
fn resuming_an_enrollment_past_its_lifetime_finds_none() {
    let world = World::new();
    let mut record = new_user("sarah");
    let step =
        enrollment::start(&mut record, sealed("sarah", 1), TotpParams::DEFAULT, "sarah", &world.env(T0));
    assert!(step.outcome.is_ok());
    assert_eq!(enrollment::resume(&record, "sarah", None, &world.env(T0 + LIFETIME)), Ok(None));
}

#[test]
fn resuming_without_a_fresh_proof_is_refused_so_a_stale_session_cannot_read_the_key() {
    let (mut record, _) = enrolled("sarah", 1);
    let world = World::new();
    let step =
        enrollment::start(&mut record, sealed("sarah", 2), TotpParams::DEFAULT, "sarah", &world.env(T0 + 60));
    assert!(step.outcome.is_ok());
    assert!(enrollment::resume(&record, "sarah", None, &world.env(T0 + 90)).unwrap().is_some());
    assert_eq!(
        enrollment::resume(&record, "sarah", None, &world.env(STALE)),
        Err(Refusal::FreshProofRequired)
    );
}

#[test]
fn resuming_from_an_address_off_the_allowlist_or_during_a_lockout_is_refused() {
    let (mut record, totp) = enrolled("sarah", 1);
    let env_world = off_the_allowlist();
    assert_eq!(
        enrollment::resume(&record, "sarah", None, &env_world.env(T0 + 60)),
        Err(Refusal::AddressNotAllowed)
    );
    let until = lock_out(&mut record, &totp, T0 + 60);
    assert_eq!(
        enrollment::resume(&record, "sarah", None, &World::new().env(T0 + 90)),
        Err(Refusal::LockedOut { until })
    );
}

// --- enrollment::confirm ------------------------------------------------------------

#[test]
fn confirming_an_enrollment_with_two_consecutive_codes_installs_the_authenticator_and_audits_it() {
    let world = World::new();
    let mut record = new_user("sarah");
    let step =
        enrollment::start(&mut record, sealed("sarah", 1), TotpParams::DEFAULT, "sarah", &world.env(T0));
    assert!(step.outcome.is_ok());
    let totp = phone(1);
    let codes = [code(&totp, T0), code(&totp, T0 + 30)];
    let step = enrollment::confirm(&mut record, &totp, &[&codes[0], &codes[1]], &world.env(T0 + 30)).unwrap();
    assert_eq!(step.outcome, Ok(Confirmed { replaced: false, at: T0 + 30 }));
    assert_eq!(step.events.as_slice(), [EventKind::EnrollmentConfirmed { replaced: false }]);
    assert!(step.changed);
    assert!(record.pending_enrollment().is_none());
    assert_eq!(record.authenticators().len(), 1);
    assert!(record.authenticators()[0].last_accepted_step().is_some(), "the codes set the replay floor");
    assert_eq!(record.last_proof(), Some(LastProof { at: T0 + 30, method: Method::Totp }));
    assert_eq!(record.generation(), 1);
    // The second code cannot be replayed to sign in.
    let replay = flow::authenticator::verify(&mut record, &[&totp], &codes[1], &world.env(T0 + 40)).unwrap();
    assert!(matches!(replay.outcome, Err(Refusal::CodeReused { .. })));
}

#[test]
fn confirming_with_one_code_is_enough_where_the_rules_ask_for_one() {
    let world = World::with_rules(Rules::DEFAULT.with_confirmation(Confirmation::OneCode));
    let mut record = new_user("sarah");
    let step =
        enrollment::start(&mut record, sealed("sarah", 1), TotpParams::DEFAULT, "sarah", &world.env(T0));
    assert!(step.outcome.is_ok());
    let totp = phone(1);
    let step =
        enrollment::confirm(&mut record, &totp, &[&code(&totp, T0 + 30)], &world.env(T0 + 30)).unwrap();
    assert_eq!(step.outcome, Ok(Confirmed { replaced: false, at: T0 + 30 }));
    assert_eq!(step.events.as_slice(), [EventKind::EnrollmentConfirmed { replaced: false }]);
    assert_eq!(record.authenticators().len(), 1);
}

#[test]
fn confirming_a_replacement_replaces_the_old_app_and_revokes_remembered_devices() {
    let (mut record, _) = enrolled("sarah", 1);
    let old_id = record.authenticators()[0].id().to_string();
    let (_, device_id) = remember(&mut record, T0 + 40);
    let world = World::new();
    let step =
        enrollment::start(&mut record, sealed("sarah", 2), TotpParams::DEFAULT, "sarah", &world.env(T0 + 60));
    assert!(step.outcome.is_ok());
    let new = phone(2);
    let codes = [code(&new, T0 + 60), code(&new, T0 + 90)];
    let step = enrollment::confirm(&mut record, &new, &[&codes[0], &codes[1]], &world.env(T0 + 90)).unwrap();
    assert_eq!(step.outcome, Ok(Confirmed { replaced: true, at: T0 + 90 }));
    assert_eq!(
        step.events.as_slice(),
        [
            EventKind::EnrollmentConfirmed { replaced: true },
            EventKind::DevicesRevoked { device_ids: vec![device_id], reason: Revocation::NewAuthenticator },
        ]
    );
    assert_eq!(record.authenticators().len(), 1);
    assert_ne!(record.authenticators()[0].id(), old_id);
    assert!(record.devices().is_empty());
    // The credential holds the new phone's secret, not the old one's.
    let installed = record.authenticators()[0].sealed_secret().ciphertext();
    assert_eq!(installed, sealed("sarah", 2).ciphertext());
    assert_ne!(installed, sealed("sarah", 1).ciphertext());
}

/// A user with an enrollment started at `T0` (no MFA yet).
fn pending(name: &str) -> UserRecord {
    let mut record = new_user(name);
    let step =
        enrollment::start(&mut record, sealed(name, 1), TotpParams::DEFAULT, name, &World::new().env(T0));
    assert!(step.outcome.is_ok());
    record
}

#[test]
fn confirming_with_one_code_where_two_are_required_is_refused_without_counting_it() {
    let mut record = pending("sarah");
    let totp = phone(1);
    let world = World::new();
    let step =
        enrollment::confirm(&mut record, &totp, &[&code(&totp, T0 + 30)], &world.env(T0 + 30)).unwrap();
    assert_eq!(step.outcome, Err(Refusal::TwoCodesRequired));
    assert_eq!(
        step.events.as_slice(),
        [EventKind::EnrollmentRejected { reason: EnrollmentRejection::TwoCodesRequired }]
    );
    assert!(record.pending_enrollment().is_some() && record.authenticators().is_empty());
    // Not counted: the next wrong pair still has all but one attempt left.
    let step =
        enrollment::confirm(&mut record, &totp, &[&wrong(T0), &wrong(T0 + 30)], &world.env(T0 + 30)).unwrap();
    assert_eq!(step.outcome, Err(Refusal::WrongCode { attempts_left: 4 }));
}

#[test]
fn confirming_with_a_wrong_code_is_counted_against_the_enrollment_and_audited() {
    let mut record = pending("sarah");
    let totp = phone(1);
    let step = enrollment::confirm(
        &mut record,
        &totp,
        &[&code(&totp, T0), &wrong(T0 + 30)],
        &World::new().env(T0 + 30),
    )
    .unwrap();
    assert_eq!(step.outcome, Err(Refusal::WrongCode { attempts_left: 4 }));
    assert_eq!(
        step.events.as_slice(),
        [EventKind::EnrollmentRejected { reason: EnrollmentRejection::WrongCode }]
    );
    assert!(step.changed);
    assert!(record.pending_enrollment().is_some() && record.authenticators().is_empty());
}

#[test]
fn confirming_with_the_same_code_twice_or_codes_not_consecutive_is_refused() {
    let mut record = pending("sarah");
    let totp = phone(1);
    let world = World::new();
    let same = code(&totp, T0 + 30);
    let step = enrollment::confirm(&mut record, &totp, &[&same, &same], &world.env(T0 + 30)).unwrap();
    assert_eq!(step.outcome, Err(Refusal::SameCodeTwice));
    assert_eq!(
        step.events.as_slice(),
        [EventKind::EnrollmentRejected { reason: EnrollmentRejection::SameCodeTwice }]
    );
    // Two steps apart, both inside the wider window.
    let (first, second) = (code(&totp, T0 - 30), code(&totp, T0 + 30));
    let step = enrollment::confirm(&mut record, &totp, &[&first, &second], &world.env(T0 + 30)).unwrap();
    assert_eq!(step.outcome, Err(Refusal::NotConsecutive));
    assert_eq!(
        step.events.as_slice(),
        [EventKind::EnrollmentRejected { reason: EnrollmentRejection::NotConsecutive }]
    );
    assert!(record.pending_enrollment().is_some() && record.authenticators().is_empty());
}

#[test]
fn confirming_with_input_that_is_not_a_code_is_refused_without_counting_it() {
    let mut record = pending("sarah");
    let totp = phone(1);
    let step =
        enrollment::confirm(&mut record, &totp, &["abcdef", "12"], &World::new().env(T0 + 30)).unwrap();
    assert_eq!(step.outcome, Err(Refusal::Malformed));
    assert_eq!(
        step.events.as_slice(),
        [EventKind::EnrollmentRejected { reason: EnrollmentRejection::Malformed }]
    );
    assert!(record.pending_enrollment().is_some());
}

#[test]
fn the_wrong_confirmation_that_reaches_the_lockout_rule_discards_the_enrollment() {
    let mut record = pending("sarah");
    let totp = phone(1);
    let world = World::new();
    for left in (1..5).rev() {
        let step =
            enrollment::confirm(&mut record, &totp, &[&wrong(T0), &wrong(T0 + 30)], &world.env(T0 + 30))
                .unwrap();
        assert_eq!(step.outcome, Err(Refusal::WrongCode { attempts_left: left }));
    }
    let step =
        enrollment::confirm(&mut record, &totp, &[&wrong(T0), &wrong(T0 + 30)], &world.env(T0 + 30)).unwrap();
    assert_eq!(step.outcome, Err(Refusal::EnrollmentDiscarded));
    assert_eq!(
        step.events.as_slice(),
        [EventKind::EnrollmentRejected { reason: EnrollmentRejection::TooManyAttempts }]
    );
    assert!(record.pending_enrollment().is_none());
    assert!(record.authenticators().is_empty());
}

#[test]
fn confirming_an_expired_enrollment_discards_it_and_audits_the_expiry() {
    let mut record = pending("sarah");
    let totp = phone(1);
    let late = T0 + LIFETIME + 30;
    let codes = [code(&totp, late - 30), code(&totp, late)];
    let step =
        enrollment::confirm(&mut record, &totp, &[&codes[0], &codes[1]], &World::new().env(late)).unwrap();
    assert_eq!(step.outcome, Err(Refusal::EnrollmentExpired));
    assert_eq!(step.events.as_slice(), [EventKind::EnrollmentExpired]);
    assert!(step.changed);
    assert!(record.pending_enrollment().is_none() && record.authenticators().is_empty());
}

#[test]
fn confirming_with_no_enrollment_pending_is_refused_and_changes_nothing() {
    let (mut record, totp) = enrolled("sarah", 1);
    let before = record.clone();
    let codes = [code(&totp, T0 + 60), code(&totp, T0 + 90)];
    let step =
        enrollment::confirm(&mut record, &totp, &[&codes[0], &codes[1]], &World::new().env(T0 + 90)).unwrap();
    assert_eq!(step.outcome, Err(Refusal::NoPendingEnrollment));
    assert!(step.events.is_empty() && !step.changed);
    assert_eq!(record, before);
}

#[test]
fn confirming_from_an_ended_session_is_refused_and_leaves_the_enrollment_pending() {
    let mut record = pending("sarah");
    let before = record.clone();
    let totp = phone(1);
    let world = ended_session(&record);
    let codes = [code(&totp, T0), code(&totp, T0 + 30)];
    let step = enrollment::confirm(&mut record, &totp, &[&codes[0], &codes[1]], &world.env(T0 + 30)).unwrap();
    assert_eq!(step.outcome, Err(Refusal::SessionEnded(SessionEnd::AccountChanged)));
    assert!(step.events.is_empty() && !step.changed);
    assert_eq!(record, before);
}

#[test]
fn confirming_a_replacement_without_a_fresh_proof_is_refused_and_keeps_the_old_app() {
    let (mut record, _) = enrolled("sarah", 1);
    let world = World::new();
    let step =
        enrollment::start(&mut record, sealed("sarah", 2), TotpParams::DEFAULT, "sarah", &world.env(T0 + 60));
    assert!(step.outcome.is_ok());
    let before = record.clone();
    let new = phone(2);
    let codes = [code(&new, STALE - 30), code(&new, STALE)];
    let step = enrollment::confirm(&mut record, &new, &[&codes[0], &codes[1]], &world.env(STALE)).unwrap();
    assert_eq!(step.outcome, Err(Refusal::FreshProofRequired));
    assert!(step.events.is_empty() && !step.changed);
    assert_eq!(record, before);
}

// --- oversight::reset ---------------------------------------------------------------

/// An admin with MFA who proved it at `T0 + 30`.
fn admin() -> UserRecord {
    enrolled("admin", 42).0
}

#[test]
fn an_admins_reset_clears_every_factor_ends_sessions_and_requires_enrollment() {
    let (mut record, _) = enrolled("sarah", 1);
    let (_, device_id) = remember(&mut record, T0 + 40);
    let generation = record.generation();
    let step = oversight::reset(
        &mut record,
        &admin(),
        " lost her phone ",
        ResetMode::RequireEnrollment,
        true,
        &World::new().env(T0 + 60),
    );
    assert_eq!(step.outcome, Ok(vec![Cleared::Authenticator, Cleared::RememberedDevices]));
    assert_eq!(
        step.events.as_slice(),
        [
            EventKind::DevicesRevoked { device_ids: vec![device_id], reason: Revocation::Reset },
            EventKind::ResetByAdmin {
                reason: "lost her phone".into(),
                cleared: vec![Cleared::Authenticator, Cleared::RememberedDevices],
                mode: ResetMode::RequireEnrollment,
            },
        ]
    );
    assert!(step.changed);
    assert!(record.authenticators().is_empty() && record.devices().is_empty());
    assert!(record.must_enroll());
    assert!(record.generation() > generation, "every session of the user ends");
}

#[test]
fn a_reset_of_a_locked_out_user_ends_the_lockout() {
    let (mut record, totp) = enrolled("sarah", 1);
    lock_out(&mut record, &totp, T0 + 40);
    let step = oversight::reset(
        &mut record,
        &admin(),
        "locked out",
        ResetMode::RequireEnrollment,
        true,
        &World::new().env(T0 + 60),
    );
    let cleared = vec![Cleared::Authenticator, Cleared::Lockout];
    assert_eq!(step.outcome, Ok(cleared.clone()));
    assert_eq!(
        step.events.as_slice(),
        [
            EventKind::LockoutEnded,
            EventKind::ResetByAdmin {
                reason: "locked out".into(),
                cleared,
                mode: ResetMode::RequireEnrollment
            },
        ]
    );
    assert!(!record.failures().is_locked(T0 + 60));
    assert_eq!(record.failures().consecutive(), 0);
}

#[test]
fn a_reset_that_turns_mfa_off_leaves_the_user_signing_in_without_it() {
    let (mut record, _) = enrolled("sarah", 1);
    let world = World::new();
    let step = oversight::reset(
        &mut record,
        &admin(),
        "left the firm",
        ResetMode::TurnOff,
        true,
        &world.env(T0 + 60),
    );
    assert_eq!(step.outcome, Ok(vec![Cleared::Authenticator]));
    assert_eq!(
        step.events.as_slice(),
        [EventKind::ResetByAdmin {
            reason: "left the firm".into(),
            cleared: vec![Cleared::Authenticator],
            mode: ResetMode::TurnOff,
        }]
    );
    assert!(!record.must_enroll() && record.authenticators().is_empty());
    let decision = sign_in::decide(&mut record, None, &world.env(T0 + 90));
    assert_eq!(decision.outcome, Ok(Decision::Allow { reason: Reason::NotRequired }));
}

/// Runs a reset expected to be refused: checks the refusal, its `reset_refused` event,
/// and that the record is as it was.
fn assert_reset_refused(
    record: &mut UserRecord,
    actor: &UserRecord,
    reason: &str,
    mode: ResetMode,
    permitted: bool,
    world: &World,
    expected: Refusal,
) {
    let before = record.clone();
    let step = oversight::reset(record, actor, reason, mode, permitted, &world.env(T0 + 60));
    assert_eq!(step.outcome, Err(expected.clone()));
    assert_eq!(step.events.as_slice(), [EventKind::ResetRefused { reason: expected.to_string() }]);
    assert!(!step.changed);
    assert_eq!(*record, before);
}

#[test]
fn a_reset_the_host_does_not_permit_is_refused_audited_and_changes_nothing() {
    let (mut record, _) = enrolled("sarah", 1);
    let world = World::new();
    assert_reset_refused(
        &mut record,
        &admin(),
        "lost",
        ResetMode::RequireEnrollment,
        false,
        &world,
        Refusal::NotPermitted,
    );
}

#[test]
fn a_reset_without_a_reason_is_refused() {
    let (mut record, _) = enrolled("sarah", 1);
    let world = World::new();
    assert_reset_refused(
        &mut record,
        &admin(),
        "  ",
        ResetMode::RequireEnrollment,
        true,
        &world,
        Refusal::ReasonRequired,
    );
}

#[test]
fn an_admin_cannot_reset_their_own_mfa() {
    let (mut record, _) = enrolled("sarah", 1);
    let actor = record.clone();
    let world = World::new();
    assert_reset_refused(
        &mut record,
        &actor,
        "lost",
        ResetMode::RequireEnrollment,
        true,
        &world,
        Refusal::SelfReset,
    );
}

#[test]
fn an_admin_without_mfa_of_their_own_cannot_reset_anyone() {
    let (mut record, _) = enrolled("sarah", 1);
    let world = World::new();
    let actor = new_user("admin");
    assert_reset_refused(
        &mut record,
        &actor,
        "lost",
        ResetMode::RequireEnrollment,
        true,
        &world,
        Refusal::ActorWithoutMfa,
    );
}

#[test]
fn an_admin_without_a_fresh_proof_cannot_reset_anyone() {
    let (mut record, _) = enrolled("sarah", 1);
    let world = World::new();
    let actor = admin();
    let before = record.clone();
    let step =
        oversight::reset(&mut record, &actor, "lost", ResetMode::RequireEnrollment, true, &world.env(STALE));
    assert_eq!(step.outcome, Err(Refusal::FreshProofRequired));
    assert_eq!(
        step.events.as_slice(),
        [EventKind::ResetRefused { reason: Refusal::FreshProofRequired.to_string() }]
    );
    assert_eq!(record, before);
}

#[test]
fn turning_mfa_off_by_reset_is_refused_where_the_policy_forbids_it() {
    let (mut record, _) = enrolled("sarah", 1);
    let world = World::with_context(
        SignInContext::default().with_jurisdiction(Jurisdiction::country("AU").with_xero()),
    );
    let forbidden = Refusal::Forbidden(Reason::JurisdictionRule);
    assert_reset_refused(&mut record, &admin(), "lost", ResetMode::TurnOff, true, &world, forbidden);
}

// --- oversight::change_org_settings -------------------------------------------------

fn stricter() -> OrgSettings {
    OrgSettings::default().with_level("practitioner", Level::Mandatory)
}

#[test]
fn a_permitted_admin_with_a_fresh_proof_changes_the_settings_and_the_change_is_audited() {
    let actor = admin();
    let current = OrgSettings::default();
    let change = SettingsChange::new("smith", actor.user(), &current, stricter());
    let step = oversight::change_org_settings(change, &actor, true, &World::new().env(T0 + 60));
    assert_eq!(step.outcome, Ok(stricter()));
    assert_eq!(
        step.events.as_slice(),
        [EventKind::OrgSettingsChanged {
            org: "smith".into(),
            old: Box::new(current),
            new: Box::new(stricter())
        }]
    );
    assert!(!step.changed, "the host saves the settings; no record changes");
}

#[test]
fn a_settings_change_the_host_does_not_permit_or_asked_for_someone_else_is_refused() {
    let actor = admin();
    let current = OrgSettings::default();
    let world = World::new();
    let not_permitted = EventKind::OrgSettingsChangeRefused {
        org: "smith".into(),
        reason: Refusal::NotPermitted.to_string(),
    };
    let change = SettingsChange::new("smith", actor.user(), &current, stricter());
    let step = oversight::change_org_settings(change, &actor, false, &world.env(T0 + 60));
    assert_eq!(step.outcome, Err(Refusal::NotPermitted));
    assert_eq!(step.events.as_slice(), std::slice::from_ref(&not_permitted));
    let someone_else = UserId::new("mallory");
    let change = SettingsChange::new("smith", &someone_else, &current, stricter());
    let step = oversight::change_org_settings(change, &actor, true, &world.env(T0 + 60));
    assert_eq!(step.outcome, Err(Refusal::NotPermitted));
    assert_eq!(step.events.as_slice(), [not_permitted]);
}

#[test]
fn a_settings_change_by_an_admin_without_mfa_or_without_a_fresh_proof_is_refused() {
    let current = OrgSettings::default();
    let world = World::new();
    let bare = new_user("admin");
    let change = SettingsChange::new("smith", bare.user(), &current, stricter());
    let step = oversight::change_org_settings(change, &bare, true, &world.env(T0 + 60));
    assert_eq!(step.outcome, Err(Refusal::ActorWithoutMfa));
    assert_eq!(
        step.events.as_slice(),
        [EventKind::OrgSettingsChangeRefused {
            org: "smith".into(),
            reason: Refusal::ActorWithoutMfa.to_string()
        }]
    );
    let actor = admin();
    let change = SettingsChange::new("smith", actor.user(), &current, stricter());
    let step = oversight::change_org_settings(change, &actor, true, &world.env(STALE));
    assert_eq!(step.outcome, Err(Refusal::FreshProofRequired));
}

#[test]
fn settings_out_of_range_do_not_build_and_the_refusal_names_the_reason() {
    // Settings are checked once, when built: an invalid change never reaches the
    // transition, and the host's form answers with the refusal.
    let invalid = OrgSettings::builder().fresh_proof_window(5).build().unwrap_err();
    assert!(invalid.as_str().contains("fresh"), "{invalid}");
    assert_eq!(Refusal::from(invalid.clone()), Refusal::InvalidSettings(invalid.to_string()));
}

// --- step_up::check -----------------------------------------------------------------

#[test]
fn a_user_without_mfa_may_set_up_a_first_factor_but_must_enroll_before_other_sensitive_actions() {
    let record = new_user("sarah");
    let world = World::new();
    let env = world.env(T0);
    assert_eq!(
        step_up::check(&record, SensitiveAction::AddAuthenticator, &env),
        StepUp::Proceed { proof: None }
    );
    assert_eq!(
        step_up::check(&record, SensitiveAction::ReplaceAuthenticator, &env),
        StepUp::Proceed { proof: None }
    );
    assert_eq!(step_up::check(&record, SensitiveAction::Host, &env), StepUp::EnrollFirst);
    assert_eq!(StepUp::EnrollFirst.refusal(), Some(Refusal::NotEnrolled));
}

#[test]
fn a_proof_within_the_window_lets_a_sensitive_action_proceed_and_an_older_one_asks_for_another() {
    let (record, _) = enrolled("sarah", 1);
    let world = World::new();
    let proof = LastProof { at: T0 + 30, method: Method::Totp };
    let fresh = step_up::check(&record, SensitiveAction::Host, &world.env(T0 + 30 + WINDOW - 1));
    assert_eq!(fresh, StepUp::Proceed { proof: Some(proof) });
    let stale = step_up::check(&record, SensitiveAction::Host, &world.env(STALE));
    assert_eq!(stale, StepUp::Prove { methods: vec![Method::Totp], window: WINDOW });
    assert_eq!(stale.refusal(), Some(Refusal::FreshProofRequired));
}

#[test]
fn only_the_sessions_own_proof_counts_and_an_ended_session_may_do_nothing() {
    let (record, _) = enrolled("sarah", 1);
    // A session let in without proving (a remembered device): never fresh.
    let unproved = World::with_context(
        SignInContext::default().with_session(SessionFacts::new(record.generation(), T0 + 40)),
    );
    let answer = step_up::check(&record, SensitiveAction::Host, &unproved.env(T0 + 60));
    assert!(matches!(answer, StepUp::Prove { .. }), "{answer:?}");
    let proved = World::with_context(
        SignInContext::default().with_session(SessionFacts::new(record.generation(), T0).proved_at(T0 + 30)),
    );
    assert!(step_up::check(&record, SensitiveAction::Host, &proved.env(T0 + 60)).may_proceed());
    let ended = ended_session(&record);
    let answer = step_up::check(&record, SensitiveAction::Host, &ended.env(T0 + 60));
    assert_eq!(answer, StepUp::SignInAgain(SessionEnd::AccountChanged));
    assert_eq!(answer.refusal(), Some(Refusal::SessionEnded(SessionEnd::AccountChanged)));
}

#[test]
fn nothing_sensitive_proceeds_on_a_frozen_account() {
    let (mut record, _) = enrolled("sarah", 1);
    freeze(&mut record, T0 + 40);
    let world = World::new();
    let env = world.env(T0 + 60);
    for action in [SensitiveAction::Host, SensitiveAction::AddAuthenticator, SensitiveAction::ResetUser] {
        assert_eq!(step_up::check(&record, action, &env), StepUp::Frozen, "{action:?}");
    }
    assert_eq!(StepUp::Frozen.refusal(), Some(Refusal::AccountFrozen));
}

// --- step_up::host_action -----------------------------------------------------------

#[test]
fn a_hosts_action_after_a_fresh_proof_is_allowed_and_audited_by_name() {
    let (record, _) = enrolled("sarah", 1);
    let action = HostAction::new("export_payroll").unwrap();
    let (answer, events) = step_up::host_action(&record, &action, &World::new().env(T0 + 60));
    assert!(answer.may_proceed());
    assert_eq!(events.as_slice(), [EventKind::HostActionAllowed { action: "export_payroll".into() }]);
}

#[test]
fn a_hosts_action_from_an_ended_session_or_a_frozen_account_is_refused_and_audited() {
    let (mut record, _) = enrolled("sarah", 1);
    let action = HostAction::new("export_payroll").unwrap();
    let (answer, events) = step_up::host_action(&record, &action, &ended_session(&record).env(T0 + 60));
    assert_eq!(answer, StepUp::SignInAgain(SessionEnd::AccountChanged));
    assert_eq!(
        events.as_slice(),
        [EventKind::HostActionRefused { action: "export_payroll".into(), refusal: "session_ended".into() }]
    );
    freeze(&mut record, T0 + 40);
    let (answer, events) = step_up::host_action(&record, &action, &World::new().env(T0 + 60));
    assert_eq!(answer, StepUp::Frozen);
    assert_eq!(
        events.as_slice(),
        [EventKind::HostActionRefused { action: "export_payroll".into(), refusal: "account_frozen".into() }]
    );
}

#[test]
fn a_hosts_action_that_only_needs_a_proof_first_is_not_audited() {
    let (record, _) = enrolled("sarah", 1);
    let action = HostAction::new("export_payroll").unwrap();
    let (answer, events) = step_up::host_action(&record, &action, &World::new().env(STALE));
    assert_eq!(answer, StepUp::Prove { methods: vec![Method::Totp], window: WINDOW });
    assert!(events.is_empty());
    let (answer, events) = step_up::host_action(&new_user("bob"), &action, &World::new().env(T0));
    assert_eq!(answer, StepUp::EnrollFirst);
    assert!(events.is_empty());
}

// --- sign_in::decide ----------------------------------------------------------------

#[test]
fn a_user_without_mfa_where_it_is_not_required_is_let_in_and_nothing_is_audited() {
    let mut record = new_user("sarah");
    let before = record.clone();
    let step = sign_in::decide(&mut record, Some(&key()), &World::new().env(T0));
    assert_eq!(step.outcome, Ok(Decision::Allow { reason: Reason::NotRequired }));
    assert!(step.events.is_empty() && !step.changed);
    assert_eq!(record, before);
}

#[test]
fn a_user_without_mfa_where_it_is_mandatory_must_enroll() {
    let mut record = new_user("sarah");
    let settings = Arc::new(OrgSettings::default().with_level("practitioner", Level::Mandatory));
    let world =
        World::with_context(SignInContext::default().with_user_type("practitioner").with_org(settings));
    let step = sign_in::decide(&mut record, None, &world.env(T0));
    assert_eq!(step.outcome, Ok(Decision::RequireEnrollment { reason: Reason::LevelMandatory }));
    assert!(step.events.is_empty() && !step.changed);
}

#[test]
fn an_enrolled_user_is_asked_for_a_code_and_nothing_is_audited() {
    let (mut record, _) = enrolled("sarah", 1);
    let before = record.clone();
    let step = sign_in::decide(&mut record, Some(&key()), &World::new().env(T0 + 60));
    match step.outcome {
        Ok(Decision::Challenge { methods, reason, .. }) => {
            assert_eq!((methods, reason), (vec![Method::Totp], Reason::Enrolled));
        }
        other => panic!("not a challenge: {other:?}"),
    }
    assert!(step.events.is_empty() && !step.changed);
    assert_eq!(record, before);
}

#[test]
fn a_remembered_device_turns_the_challenge_into_an_audited_allow_but_only_with_the_hash_key() {
    let (mut record, _) = enrolled("sarah", 1);
    let (token, device_id) = remember(&mut record, T0 + 40);
    let world = World::with_context(SignInContext::default().with_device_token(token));
    let step = sign_in::decide(&mut record, Some(&key()), &world.env(T0 + 60));
    assert_eq!(step.outcome, Ok(Decision::Allow { reason: Reason::RememberedDevice }));
    assert_eq!(step.events.as_slice(), [EventKind::DeviceAccepted { device_id }]);
    let step = sign_in::decide(&mut record, None, &world.env(T0 + 60));
    assert!(matches!(step.outcome, Ok(Decision::Challenge { .. })), "{:?}", step.outcome);
    assert!(step.events.is_empty());
}

#[test]
fn a_locked_out_user_is_refused_and_the_refusal_audited() {
    let (mut record, totp) = enrolled("sarah", 1);
    let until = lock_out(&mut record, &totp, T0 + 40);
    let before = record.clone();
    let step = sign_in::decide(&mut record, None, &World::new().env(T0 + 60));
    assert_eq!(step.outcome, Err(Refusal::LockedOut { until }));
    assert_eq!(step.events.as_slice(), [EventKind::SignInRefused { reason: RejectionReason::LockedOut }]);
    // Only the bound on refused attempts moves.
    assert!(step.changed);
    assert_eq!(record.failures(), before.failures());
    assert_eq!(record.authenticators(), before.authenticators());
}

#[test]
fn a_sign_in_from_an_address_off_the_allowlist_is_refused_and_audited() {
    let (mut record, _) = enrolled("sarah", 1);
    let step = sign_in::decide(&mut record, None, &off_the_allowlist().env(T0 + 60));
    assert_eq!(step.outcome, Err(Refusal::AddressNotAllowed));
    assert_eq!(step.events.as_slice(), [EventKind::SignInRefused { reason: RejectionReason::PolicyRefused }]);
}

#[test]
fn after_an_admins_reset_the_user_must_enroll_again() {
    let (mut record, _) = enrolled("sarah", 1);
    let world = World::new();
    let reset = oversight::reset(
        &mut record,
        &admin(),
        "lost",
        ResetMode::RequireEnrollment,
        true,
        &world.env(T0 + 60),
    );
    assert!(reset.outcome.is_ok());
    let step = sign_in::decide(&mut record, None, &world.env(T0 + 90));
    assert_eq!(step.outcome, Ok(Decision::RequireEnrollment { reason: Reason::ResetByAdmin }));
    assert!(step.events.is_empty());
}

#[test]
fn a_host_may_narrow_the_drift_window_to_the_current_step() {
    use mfa_kit::flow::authenticator::DriftRules;
    use mfa_kit::otp::Window;
    let exact = World::with_rules(Rules::DEFAULT.with_drift(DriftRules {
        base: Window::new(0, 0),
        max_learned: 0,
        resync_range: 10,
    }));
    let (mut record, totp) = enrolled("sarah", 1);
    let now = T0 + 300;
    // A code from the step before: within the default window, outside the narrowed one.
    let late = code(&totp, now - 30);
    let refused = flow::authenticator::verify(&mut record.clone(), &[&totp], &late, &exact.env(now)).unwrap();
    assert!(matches!(refused.outcome, Err(Refusal::WrongCode { .. })), "{:?}", refused.outcome);
    let accepted =
        flow::authenticator::verify(&mut record.clone(), &[&totp], &late, &World::new().env(now)).unwrap();
    assert!(accepted.outcome.is_ok());
    // The current step's code is accepted under both.
    let current = code(&totp, now);
    assert!(
        flow::authenticator::verify(&mut record, &[&totp], &current, &exact.env(now))
            .unwrap()
            .outcome
            .is_ok()
    );
}

#[test]
fn the_last_proof_counts_for_step_up_only_within_its_window() {
    let (record, _) = enrolled("sarah", 1);
    // Confirming the app at T0 + 30 was a proof.
    let proof = record.proved_within(T0 + 30 + WINDOW - 1, WINDOW).expect("still fresh");
    assert_eq!((proof.at, proof.method), (T0 + 30, Method::Totp));
    assert!(record.proved_within(T0 + 30 + WINDOW, WINDOW).is_none(), "the window's end is outside it");
    // A proof dated far after now (a clock that ran ahead) does not count.
    assert!(record.proved_within(T0 + 30 - 301 - 1, WINDOW).is_none());
}
