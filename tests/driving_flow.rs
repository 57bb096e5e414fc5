//! A sync host that drives the `flow` transitions on a `UserRecord` as the flow module
//! says gets the same decisions, refusals and events as a host that calls
//! `MfaService`: each test runs one scenario both ways and asserts they agree.
//!
//! `tests/transitions.rs` compares the happy paths (enrollment, sign-in, replay,
//! recovery codes, an e-mailed code, a remembered device); `tests/flow_transitions.rs`
//! checks each transition alone. Neither is repeated here.

#[path = "support/flow_world.rs"]
mod flow_world;

use std::net::IpAddr;
use std::sync::Arc;

use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::{EventKind, Events};
use mfa_kit::flow::{self, Env, Rules};
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::otp::{Secret, Totp, TotpParams};
use mfa_kit::policy::{IpNetwork, OrgSettings, SessionFacts, SignInContext, StandardPolicy};
use mfa_kit::record::UserRecord;
use mfa_kit::seal::SealedSecret;
use mfa_kit::service::MfaService;
use mfa_kit::store::{MemoryStore, Store};
use mfa_kit::{OrgId, RequestContext, UserId};
use pollster::block_on;

/// A time whose TOTP step starts 20 seconds earlier: `T0` and `T0 + 30` are in
/// consecutive steps.
const T0: u64 = 1_700_000_000;

type Service = MfaService<MemoryStore, PlaintextSealer>;

fn key() -> HashKey {
    HashKey::from_bytes(&[7; 32]).unwrap()
}

fn phone(seed: u8) -> Totp {
    Totp::new(&Secret::from_bytes(&[seed; 20]).unwrap(), TotpParams::DEFAULT)
}

fn sealed(name: &str, seed: u8) -> SealedSecret {
    PlaintextSealer.seal(&UserId::new(name), &Secret::from_bytes(&[seed; 20]).unwrap()).unwrap()
}

fn code(totp: &Totp, at: u64) -> String {
    totp.generate(at).unwrap().to_string()
}

/// The service a host builds, at `now`, with the hash key.
fn service(now: u64) -> Service {
    MfaService::builder("Acme Payroll", MemoryStore::new(), PlaintextSealer)
        .clock(ManualClock::new(now))
        .hash_key(key())
        .build()
}

/// Puts a record the flow built into the service's store (a new user's first save).
fn store(mfa: &Service, record: UserRecord) {
    let saved = block_on(mfa.store().save(record, None, Vec::new())).unwrap();
    assert!(matches!(saved, mfa_kit::store::SaveOutcome::Saved(_)));
}

/// The environment of one request, under the standard policy and default rules.
fn env<'a>(now: u64, policy: &'a StandardPolicy, context: &'a SignInContext, rules: &'a Rules) -> Env<'a> {
    Env::new(now, policy, context, rules)
}

fn kinds(events: &Events) -> Vec<&'static str> {
    events.iter().map(EventKind::name).collect()
}

fn service_kinds(mfa: &Service, user: &UserId) -> Vec<&'static str> {
    mfa.store().events_for(user).iter().map(|event| event.kind.name()).collect()
}

/// A request from 192.0.2.1 in an organisation that only allows 10.0.0.0/8.
fn off_the_allowlist() -> SignInContext {
    let settings = OrgSettings::builder()
        .allowed_networks(vec![IpNetwork::new("10.0.0.0".parse().unwrap(), 8).unwrap()])
        .build()
        .unwrap();
    let address: IpAddr = "192.0.2.1".parse().unwrap();
    SignInContext::new(RequestContext::from_address(address)).with_org(Arc::new(settings))
}

/// A user who set up the app of `seed` at `T0` and confirmed it at `T0 + 30` (a
/// second-factor proof at `T0 + 30`), driven through `flow`.
fn enrolled(name: &str, seed: u8) -> (UserRecord, Totp) {
    let (policy, context, rules) = (StandardPolicy::new(), SignInContext::default(), Rules::DEFAULT);
    let mut record = UserRecord::new(UserId::new(name));
    let started = flow::enrollment::start(
        &mut record,
        sealed(name, seed),
        TotpParams::DEFAULT,
        name,
        &env(T0, &policy, &context, &rules),
    );
    assert!(started.outcome.is_ok());
    let totp = phone(seed);
    let codes = [code(&totp, T0), code(&totp, T0 + 30)];
    let confirmed = flow::enrollment::confirm(
        &mut record,
        &totp,
        &[&codes[0], &codes[1]],
        &env(T0 + 30, &policy, &context, &rules),
    )
    .unwrap();
    assert!(confirmed.outcome.is_ok());
    (record, totp)
}

// --- verify_code / resynchronise: a user without an authenticator app -------------

/// A session began while the user had an app; the user turned MFA off from another
/// session (the generation moved, the app is gone). The old session asks to prove a
/// code. `flow::authenticator::verify` (with no secrets to pass, `totps` empty)
/// refuses the ended session; the service never runs the transition for a record
/// without authenticators and answers `NotEnrolled` (`update_with_secret` with
/// `flow::refuse_without_secret`). The service runs the transition with no secrets,
/// as a driver does (the flow module's step 3).
#[test]
fn verify_code_without_an_app_from_an_ended_session_is_refused_as_the_flow_refuses_it() {
    let (policy, rules) = (StandardPolicy::new(), Rules::DEFAULT);
    let (mut record, totp) = enrolled("nora", 1);
    let old_session = SessionFacts::new(record.generation(), T0 + 30).proved_at(T0 + 30);
    let plain = SignInContext::default();
    let off = flow::authenticator::deactivate(
        &mut record,
        &[&totp],
        None,
        &code(&totp, T0 + 60),
        true,
        &env(T0 + 60, &policy, &plain, &rules),
    )
    .unwrap();
    assert!(off.outcome.is_ok() && record.authenticators().is_empty());
    let stale = SignInContext::default().with_session(old_session);
    let user = record.user().clone();

    let mfa = service(T0 + 90);
    store(&mfa, record.clone());
    let by_service = block_on(mfa.verify_code(&user, "123456", &stale)).unwrap();
    let resync_by_service = block_on(mfa.resynchronise(&user, "123456", "654321", &stale)).unwrap();

    let now_env = env(T0 + 90, &policy, &stale, &rules);
    let mut host = record.clone();
    let by_flow = flow::authenticator::verify(&mut host, &[] as &[Totp], "123456", &now_env).unwrap().outcome;
    let mut host = record;
    let resync_by_flow =
        flow::authenticator::resynchronise(&mut host, &[] as &[Totp], ["123456", "654321"], &now_env)
            .unwrap()
            .outcome;

    assert_eq!(
        (by_service, resync_by_service),
        (by_flow, resync_by_flow),
        "verify_code/resynchronise without an app from an ended session: the service answers \
         NotEnrolled without running the transition, flow::authenticator::{{verify, resynchronise}} \
         answer SessionEnded"
    );
}

/// From an address off the organisation's allowlist, a user without an app tries a
/// code. Both refuse with `AddressNotAllowed`, but only the transition audits the
/// attempt (`code_rejected`, reason `policy_refused`); the service refuses before the
/// transition runs and writes nothing.
#[test]
fn verify_code_without_an_app_off_the_allowlist_is_audited_as_the_flow_audits_it() {
    let (policy, rules) = (StandardPolicy::new(), Rules::DEFAULT);
    let context = off_the_allowlist();
    let user = UserId::new("omar");

    let mfa = service(T0);
    let by_service = block_on(mfa.verify_code(&user, "123456", &context)).unwrap();
    let service_events = service_kinds(&mfa, &user);

    let mut record = UserRecord::new(user);
    let step = flow::authenticator::verify(
        &mut record,
        &[] as &[Totp],
        "123456",
        &env(T0, &policy, &context, &rules),
    )
    .unwrap();

    assert_eq!(by_service, step.outcome, "both refuse the address");
    assert_eq!(
        service_events,
        kinds(&step.events),
        "verify_code without an app off the allowlist: the service audits nothing, \
         flow::authenticator::verify audits code_rejected"
    );
}

// --- confirm_enrollment: nothing pending ---------------------------------------------

/// From an address off the allowlist, a user with no enrollment in progress sends
/// confirmation codes. With no pending secret to open, a driver answers
/// `flow::refuse_without_secret(NoPendingEnrollment, env)` (the flow module's step 3),
/// as the service does: the address is refused and nothing is told of the set-up.
#[test]
fn confirm_enrollment_with_nothing_pending_off_the_allowlist_gets_the_drivers_refusal() {
    let (policy, rules) = (StandardPolicy::new(), Rules::DEFAULT);
    let context = off_the_allowlist();
    let user = UserId::new("pia");

    let mfa = service(T0);
    let by_service = block_on(mfa.confirm_enrollment(&user, &["123456", "654321"], &context)).unwrap();

    let record = UserRecord::new(user);
    assert!(record.pending_enrollment().is_none(), "nothing to open");
    let by_driver = flow::refuse_without_secret(
        mfa_kit::Refusal::NoPendingEnrollment,
        &env(T0, &policy, &context, &rules),
    );

    assert_eq!(by_service.map(|c| c.replaced), Err(by_driver.clone()));
    assert_eq!(by_driver, mfa_kit::Refusal::AddressNotAllowed);
}

// --- every change in an organisation: the record is filed under it ---------------------

/// A user starts an enrollment from a request made in organisation "smith-co". The
/// service files the changed record under the request's organisation, so
/// `RecordQuery::org` lists it; a host driving `flow::enrollment::start` does the same
/// with `UserRecord::set_org` (the flow module's step 5).
#[test]
fn a_change_made_in_an_organisation_files_the_record_as_the_flow_files_it() {
    let (policy, rules) = (StandardPolicy::new(), Rules::DEFAULT);
    let context = SignInContext::default().in_org("smith-co");
    let user = UserId::new("vera");

    let mfa = service(T0);
    let started = block_on(mfa.start_enrollment(&user, "vera", &context)).unwrap();
    assert!(started.is_ok());
    let by_service = block_on(mfa.record(&user)).unwrap();

    let mut record = UserRecord::new(user);
    let step = flow::enrollment::start(
        &mut record,
        sealed("vera", 5),
        TotpParams::DEFAULT,
        "vera",
        &env(T0, &policy, &context, &rules),
    );
    assert!(step.outcome.is_ok() && step.changed);
    if let Some(org) = &context.request.org {
        record.set_org(org.clone());
    }

    assert_eq!(by_service.org(), record.org());
    assert_eq!(by_service.org(), Some(&OrgId::new("smith-co")));
}

// --- an enrolled user off the allowlist ---------------------------------------------

/// An enrolled user off the allowlist gets the same refusal and the
/// same events from `verify_code` and `flow::authenticator::verify`.
#[test]
fn verify_code_of_an_enrolled_user_off_the_allowlist_agrees() {
    let (policy, rules) = (StandardPolicy::new(), Rules::DEFAULT);
    let context = off_the_allowlist();
    let (record, totp) = enrolled("uma", 4);
    let user = record.user().clone();

    let mfa = service(T0 + 60);
    store(&mfa, record.clone());
    let before = service_kinds(&mfa, &user).len();
    let by_service = block_on(mfa.verify_code(&user, &code(&totp, T0 + 60), &context)).unwrap();
    let service_events = service_kinds(&mfa, &user)[before..].to_vec();

    let mut host = record;
    let step = flow::authenticator::verify(
        &mut host,
        &[&totp],
        &code(&totp, T0 + 60),
        &env(T0 + 60, &policy, &context, &rules),
    )
    .unwrap();

    assert_eq!((by_service, service_events), (step.outcome, kinds(&step.events)));
}
