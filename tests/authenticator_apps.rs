//! Setting up and managing authenticator apps (R6, R7, R26, R27, R29, R30):
//! each test quotes the promise it checks.

use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::EventKind;
use mfa_kit::flow::{self, security_key};
use mfa_kit::otp::{Secret, Totp, TotpParams};
use mfa_kit::policy::{Decision, Policy, SignInContext, StandardPolicy, UserFacts};
use mfa_kit::record::{MAX_AUTHENTICATORS, UserRecord};
use mfa_kit::{LockoutRule, Method, Outcome, Reason, Refusal, UserId};

#[path = "support/flow_world.rs"]
mod flow_world;

use flow_world::{T0, World, new_key, with_app};

fn world() -> World {
    World::new(StandardPolicy::new(), SignInContext::default())
}

/// Registers the security key `[id; 32]` named `name`, started at `now`, finished at
/// `now + 5`.
fn register(record: &mut UserRecord, world: &World, id: u8, now: u64) {
    let handle = security_key::user_handle(record).unwrap();
    let name = format!("Key {id}");
    let started = security_key::start_registration(record, &name, handle, "state".into(), &world.env(now));
    started.outcome.expect("registration started");
    let finished = security_key::finish_registration(record, Ok(new_key(id)), &world.env(now + 5)).unwrap();
    finished.outcome.expect("registration finished");
}

/// `UserRecord::authenticator_count`: "How many authenticators the user has, apps and
/// keys together (at most `MAX_AUTHENTICATORS`)". `flow::enrollment::import` is
/// "Refused when the user already has an authenticator": a user with
/// `MAX_AUTHENTICATORS` security keys imports no app beside them.
#[test]
fn an_import_beside_security_keys_stays_within_max_authenticators() {
    let world = world();
    let mut record = UserRecord::new(UserId::new("kim"));
    let mut now = T0;
    for id in 1..=MAX_AUTHENTICATORS {
        register(&mut record, &world, u8::try_from(id).unwrap(), now);
        now += 10;
    }
    assert_eq!(record.authenticator_count(), MAX_AUTHENTICATORS);

    // A fresh proof (the last registration, seconds ago) and a 160-bit key.
    let (secret, params) =
        flow::enrollment::parse_imported_key(&Secret::generate().unwrap().to_base32()).unwrap();
    let sealed = PlaintextSealer.seal(record.user(), &secret).unwrap();
    let imported = flow::enrollment::import(&mut record, sealed, params, &world.env(now)).unwrap();
    assert!(
        record.authenticator_count() <= MAX_AUTHENTICATORS,
        "{} authenticators ({} apps, {} keys) after the import: {:?}",
        record.authenticator_count(),
        record.authenticators().len(),
        record.security_keys().len(),
        imported.outcome,
    );
}

/// NIST preset: "TOTP periods of at most 2 minutes for new authenticators (§3.1.4.1)";
/// `Policy::max_totp_period`: "The longest TOTP period new authenticators may have".
/// `flow::enrollment::start` (the public transition a sync host drives) holds to it as
/// `import` does: no 5-minute authenticator is installed under the preset.
#[test]
fn a_started_enrollment_does_not_install_a_period_above_the_organisations_cap() {
    let world = World::new(StandardPolicy::nist_aal2(), SignInContext::default());
    let mut record = UserRecord::new(UserId::new("ann"));
    let secret = Secret::generate().unwrap();
    let sealed = PlaintextSealer.seal(record.user(), &secret).unwrap();
    let params = TotpParams::DEFAULT.with_period(300).unwrap();
    let phone = Totp::new(&secret, params);
    let started = flow::enrollment::start(&mut record, sealed, params, "ann", &world.env(T0));
    if started.outcome.is_ok() {
        let codes = [phone.generate(T0).unwrap().to_string(), phone.generate(T0 + 300).unwrap().to_string()];
        let confirmed =
            flow::enrollment::confirm(&mut record, &phone, &[&codes[0], &codes[1]], &world.env(T0 + 300))
                .unwrap();
        let periods: Vec<u64> = record.authenticators().iter().map(|a| a.params().period()).collect();
        assert!(
            periods.iter().all(|p| *p <= 120),
            "a {periods:?}-second authenticator was installed under the NIST preset (start: {:?}, confirm: {:?})",
            started.outcome,
            confirmed.outcome,
        );
    }
}

/// A host's policy that follows the standard one but does not allow authenticator
/// apps (`Policy::method_allowed`: "Whether this sign-in may use `method`").
struct NoApps(StandardPolicy);

impl Policy for NoApps {
    fn decide(&self, context: &SignInContext, user: &UserFacts, now: u64) -> Outcome<Decision> {
        self.0.decide(context, user, now)
    }
    fn refuse_request(&self, context: &SignInContext, now: u64) -> Option<Refusal> {
        self.0.refuse_request(context, now)
    }
    fn lockout(&self, context: &SignInContext) -> LockoutRule {
        self.0.lockout(context)
    }
    fn enrollment_lifetime(&self, context: &SignInContext) -> u64 {
        self.0.enrollment_lifetime(context)
    }
    fn may_deactivate(&self, context: &SignInContext, user: &UserFacts) -> Result<(), Reason> {
        self.0.may_deactivate(context, user)
    }
    fn remember_device_max(&self, context: &SignInContext) -> u64 {
        self.0.remember_device_max(context)
    }
    fn backup_required(&self, context: &SignInContext) -> bool {
        self.0.backup_required(context)
    }
    fn method_allowed(&self, _context: &SignInContext, method: Method) -> bool {
        method != Method::Totp
    }
}

/// `Policy::method_allowed`: "Whether this sign-in may use `method`"; R30 "Allowed
/// methods per organisation". A security key the organisation does not allow is
/// refused at registration and at sign-in (`Refusal::MethodNotAllowed`), as are codes
/// to a destination of a refused method; so is an authenticator app: its enrollment
/// does not open and a code from it is not accepted as a sign-in proof.
#[test]
fn an_authenticator_app_the_organisation_does_not_allow_is_neither_set_up_nor_accepted() {
    // Set up while apps were allowed.
    let allowed = world();
    let (mut record, phone) = with_app(&allowed, "lee");

    let refusing = World::new(NoApps(StandardPolicy::new()), SignInContext::default());
    let now = T0 + 120;
    let code = phone.generate(now).unwrap().to_string();
    let verified = flow::authenticator::verify(&mut record, &[&phone], &code, &refusing.env(now)).unwrap();

    let mut fresh = UserRecord::new(UserId::new("max"));
    let secret = Secret::generate().unwrap();
    let sealed = PlaintextSealer.seal(fresh.user(), &secret).unwrap();
    let started = flow::enrollment::start(&mut fresh, sealed, TotpParams::DEFAULT, "max", &refusing.env(now));
    assert_eq!(
        (verified.outcome.map(drop), started.outcome.map(drop)),
        (Err(Refusal::MethodNotAllowed), Err(Refusal::MethodNotAllowed)),
        "(a code of a refused method, an enrollment of a refused method)"
    );
}

/// `UserRecord::authenticator_count`: "(at most `MAX_AUTHENTICATORS`)"; the confirmed
/// replacement (`flow::enrollment::start`) replaces only the apps, so a user with
/// `MAX_AUTHENTICATORS` security keys cannot set up an app beside them.
#[test]
fn a_replacement_app_beside_security_keys_stays_within_max_authenticators() {
    let world = world();
    let mut record = UserRecord::new(UserId::new("kim"));
    let mut now = T0;
    for id in 1..=MAX_AUTHENTICATORS {
        register(&mut record, &world, u8::try_from(id).unwrap(), now);
        now += 10;
    }
    let secret = Secret::generate().unwrap();
    let sealed = PlaintextSealer.seal(record.user(), &secret).unwrap();
    let phone = Totp::new(&secret, TotpParams::DEFAULT);
    let started = flow::enrollment::start(&mut record, sealed, TotpParams::DEFAULT, "kim", &world.env(now));
    let confirmed = match started.outcome {
        Ok(_) => {
            let codes =
                [phone.generate(now).unwrap().to_string(), phone.generate(now + 30).unwrap().to_string()];
            let step =
                flow::enrollment::confirm(&mut record, &phone, &[&codes[0], &codes[1]], &world.env(now + 30))
                    .unwrap();
            step.outcome.map(drop)
        }
        Err(refused) => Err(refused),
    };
    assert!(
        record.authenticator_count() <= MAX_AUTHENTICATORS,
        "{} authenticators ({} apps, {} keys) after the app was set up: {confirmed:?}",
        record.authenticator_count(),
        record.authenticators().len(),
        record.security_keys().len(),
    );
}

/// `flow::authenticator::resynchronise`: "failures count towards the lockout"; its
/// code exempts only "The pair just accepted, sent again (a double click, a retrying
/// proxy)", as `verify` exempts only a code of the step just accepted
/// (`Draft::repeated`: "a replay of the code that was just accepted ... not counted as
/// a guess") and counts older replays. An older pair replayed to `resynchronise` is
/// counted too.
#[test]
fn an_older_pair_replayed_to_resynchronise_counts_towards_the_lockout() {
    let world = world();
    let (mut record, phone) = with_app(&world, "ray");
    // Resynchronise at T0 + 300 with the codes of T0 + 270 and T0 + 300.
    let now = T0 + 300;
    let pair = [phone.generate(now - 30).unwrap().to_string(), phone.generate(now).unwrap().to_string()];
    let resync =
        flow::authenticator::resynchronise(&mut record, &[&phone], [&pair[0], &pair[1]], &world.env(now))
            .unwrap();
    assert!(resync.outcome.is_ok(), "{:?}", resync.outcome);
    // A later sign-in moves the floor past the pair.
    let later = now + 90;
    let code = phone.generate(later).unwrap().to_string();
    let signed_in = flow::authenticator::verify(&mut record, &[&phone], &code, &world.env(later)).unwrap();
    assert!(signed_in.outcome.is_ok(), "{:?}", signed_in.outcome);
    let floor = record.authenticators()[0].last_accepted_step().unwrap();

    // An older single code replayed to verify counts (for comparison).
    let old = phone.generate(later - 30).unwrap().to_string();
    let before = record.failures().consecutive();
    let replayed = flow::authenticator::verify(&mut record, &[&phone], &old, &world.env(later + 5)).unwrap();
    assert!(replayed.outcome.is_err());
    assert_eq!(record.failures().consecutive(), before + 1, "an older code replayed counts");

    // The older pair, not the one just accepted, replayed to resynchronise.
    let before = record.failures().consecutive();
    let replayed = flow::authenticator::resynchronise(
        &mut record,
        &[&phone],
        [&pair[0], &pair[1]],
        &world.env(later + 10),
    )
    .unwrap();
    assert!(replayed.outcome.is_err(), "{:?}", replayed.outcome);
    assert!(floor > (now / 30), "the pair is older than the floor");
    assert_eq!(
        record.failures().consecutive(),
        before + 1,
        "an older pair replayed is a failure, not the pair just accepted: {:?}, events {:?}",
        replayed.outcome,
        replayed.events.as_slice(),
    );
}

/// The confirmation's second code sets the new authenticator's replay
/// floor, so that code typed again at sign-in is refused as a replay and audited.
#[test]
fn the_confirmation_sets_the_replay_floor_of_the_new_authenticator() {
    let world = world();
    let (mut record, phone) = with_app(&world, "pat");
    // The confirmation's second code (of T0 + 30) again.
    let code = phone.generate(T0 + 30).unwrap().to_string();
    let again = flow::authenticator::verify(&mut record, &[&phone], &code, &world.env(T0 + 40)).unwrap();
    assert!(matches!(again.outcome, Err(Refusal::CodeReused { .. })), "{:?}", again.outcome);
    assert!(again.events.iter().any(|e| matches!(e, EventKind::CodeRejected { .. })));
}
