//! Review of lockouts and the hard limit (R15), step-up (R25) and sessions (R31), as
//! a host developer reading only the documentation would check them. Each test quotes
//! the sentence it checks (file:line at the time of writing).

mod common;

use common::*;
use mfa_kit::LockoutRule;
use mfa_kit::event::EventKind;
use mfa_kit::flow::step_up::StepUp;
use mfa_kit::policy::{OrgSettings, SessionFacts, StandardPolicy};
use mfa_kit::service::Error;
use mfa_kit::{Method, Refusal, SensitiveAction};

fn firm_with_rule(rule: LockoutRule) -> Firm {
    firm_with_policy(
        StandardPolicy::new().with_defaults(OrgSettings::builder().lockout(rule).build().unwrap()),
    )
}

fn wrong(firm: &Firm, who: &mfa_kit::UserId, phone: &Phone) -> Refusal {
    run(firm.mfa.verify_code(who, &phone.wrong_code(), &office())).unwrap().unwrap_err()
}

// ---------------------------------------------------------------------------------
// R15: lockouts and the hard limit
// ---------------------------------------------------------------------------------

// `LockoutRule::new`: "The same rule with `max_failures` wrong codes per lockout and
// `lock_seconds` for the first one (the longest lockout is then the default's day, or
// `lock_seconds` if that is longer)": a first lockout of two days lasts two days.
#[test]
fn lockout_rule_new_gives_the_first_lockout_its_lock_seconds() {
    let two_days = 2 * 86_400;
    assert_eq!(LockoutRule::new(5, two_days).max_lock_seconds, two_days);
    assert_eq!(LockoutRule::new(5, 60).max_lock_seconds, LockoutRule::DEFAULT.max_lock_seconds);
    let firm = firm_with_rule(LockoutRule::new(5, two_days));
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let now = START + 60;
    let refusals: Vec<Refusal> = (0..5).map(|_| wrong(&firm, &ann, &phone)).collect();
    assert_eq!(refusals[4], Refusal::LockedOut { until: now + two_days }, "{refusals:?}");
}

// `FailureState::locked_until`: "The end of the current lockout; `None` once it has been
// lifted (at the first request after its end, or by a success or a reset)", while the
// failures since the last success and the lockouts they caused are kept.
#[test]
fn locked_until_is_the_current_lockouts_end_and_the_history_stays() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let until = START + 60 + 900;
    for _ in 0..5 {
        wrong(&firm, &ann, &phone);
    }
    assert_eq!(run(firm.mfa.record(&ann)).unwrap().failures().locked_until(), Some(until));
    firm.clock.set(until);
    // One more wrong code after the lockout: a failure, not a success.
    assert_eq!(wrong(&firm, &ann, &phone), Refusal::WrongCode { attempts_left: 4 });
    let failures = *run(firm.mfa.record(&ann)).unwrap().failures();
    assert_eq!(
        (failures.consecutive(), failures.lockouts()),
        (6, 1),
        "the history since the last success is kept"
    );
    assert_eq!(failures.locked_until(), None, "the lockout was lifted");
}

// `StepUp::Locked`: "The user's second factor is locked out after wrong codes, or
// disabled by the hard limit: a proof made before does not carry a sensitive action
// through it". A session that proved a code a minute before someone else (another
// browser holding the password) ran the factor into the hard limit may do nothing
// sensitive: step-up and the host's action are refused (the host action audited as
// refused), and so are new recovery codes.
#[test]
fn a_second_factor_disabled_by_the_hard_limit_makes_no_step_up_fresh() {
    let firm = firm_with_rule(LockoutRule::new(5, 60).with_hard_limit(5));
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let proved = START + 90;
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    let session = office().with_session(SessionFacts::new(generation, proved - 30).proved_at(proved));
    firm.clock.advance(30);
    let refusals: Vec<Refusal> = (0..5).map(|_| wrong(&firm, &ann, &phone)).collect();
    assert_eq!(refusals[4], Refusal::Disabled);
    let answer = run(firm.mfa.step_up(&ann, SensitiveAction::Host, &session)).unwrap();
    assert_eq!(answer, StepUp::Locked(Refusal::Disabled));
    let host = run(firm.mfa.step_up_host_action(&ann, "change_bank_details", &session)).unwrap();
    assert!(!host.may_proceed(), "{host:?}");
    assert!(
        firm.events(&ann).iter().any(|kind| matches!(kind, EventKind::HostActionRefused { .. })),
        "the refused host action is audited"
    );
    let codes = run(firm.mfa.generate_recovery_codes(&ann, &session)).unwrap();
    assert_eq!(codes.err(), Some(Refusal::Disabled));
}

// The same for a running lockout: refused until its end; after it, the session's proof
// counts again while its window runs.
#[test]
fn a_running_lockout_makes_no_step_up_fresh_until_it_ends() {
    let firm = firm_with_rule(LockoutRule::new(5, 60));
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let proved = START + 90;
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    let session = office().with_session(SessionFacts::new(generation, proved - 30).proved_at(proved));
    let refusals: Vec<Refusal> = (0..5).map(|_| wrong(&firm, &ann, &phone)).collect();
    let Refusal::LockedOut { until } = refusals[4] else { panic!("{refusals:?}") };
    let answer = run(firm.mfa.step_up(&ann, SensitiveAction::RememberDevice, &session)).unwrap();
    assert_eq!(answer, StepUp::Locked(Refusal::LockedOut { until }));
    firm.clock.set(until);
    let answer = run(firm.mfa.step_up(&ann, SensitiveAction::RememberDevice, &session)).unwrap();
    assert!(answer.may_proceed(), "after the lockout, within the proof's window: {answer:?}");
}

// src/vocabulary/reason.rs:194-196 "each lockout twice as long as the one before (up to
// `max_lock_seconds`)" and :224-226 "The longest a lockout lasts, however often it
// repeats, in seconds".
#[test]
fn lockouts_double_up_to_max_lock_seconds_and_stay_there() {
    let rule = LockoutRule { max_failures: 2, lock_seconds: 100, max_lock_seconds: 250, hard_limit: 100 };
    let firm = firm_with_rule(rule);
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let mut lengths = Vec::new();
    for _ in 0..4 {
        let now = firm.clock.now_for_test();
        assert_eq!(wrong(&firm, &ann, &phone), Refusal::WrongCode { attempts_left: 1 });
        let Refusal::LockedOut { until } = wrong(&firm, &ann, &phone) else { panic!("no lockout") };
        lengths.push(until - now);
        // During the lockout even the right code is refused, and counts nothing.
        let right = run(firm.mfa.verify_code(&ann, &phone.code(), &office())).unwrap();
        assert_eq!(right, Err(Refusal::LockedOut { until }));
        firm.clock.set(until);
    }
    assert_eq!(lengths, [100, 200, 250, 250]);
    let lockouts = firm.events(&ann).iter().filter(|k| matches!(k, EventKind::LockoutStarted { .. })).count();
    assert_eq!(lockouts, 4, "each lockout is audited when it starts");
}

// src/vocabulary/reason.rs:199-201: "A stored rule without `max_lock_seconds` (written
// before lockouts grew) ... reads with `max_lock_seconds` equal to `lock_seconds`", and
// a rule without `hard_limit` reads with the default's (100).
#[test]
fn a_stored_rule_of_an_earlier_version_reads_as_documented() {
    let read: LockoutRule = serde_json::from_str(r#"{"max_failures":3,"lock_seconds":600}"#).unwrap();
    assert_eq!(
        read,
        LockoutRule { max_failures: 3, lock_seconds: 600, max_lock_seconds: 600, hard_limit: 100 }
    );
}

// src/vocabulary/reason.rs:198-199: "So a password holder guessing codes gets a few
// dozen tries a day, not hundreds." (under the default rule)
#[test]
fn the_default_rule_allows_a_few_dozen_guesses_in_a_day() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let day_ends = firm.clock.now_for_test() + 86_400;
    let mut guesses = 0;
    while firm.clock.now_for_test() < day_ends {
        guesses += 1;
        match wrong(&firm, &ann, &phone) {
            Refusal::LockedOut { until } => firm.clock.set(until),
            Refusal::WrongCode { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert!((20..=40).contains(&guesses), "{guesses} guesses in the first day");
}

// ---------------------------------------------------------------------------------
// R25: step-up
// ---------------------------------------------------------------------------------

// src/flow/step_up.rs:42-43: "Ask for a second factor first, with one of `methods`,
// then retry the action within `window` seconds."; README: "proved within the last 5
// minutes". The session's own proof counts up to the window's last second, and no
// further.
#[test]
fn a_sessions_proof_counts_for_exactly_the_window() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let proved = START + 90;
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    let session = office().with_session(SessionFacts::new(generation, proved).proved_at(proved));
    firm.clock.set(proved + 299);
    match run(firm.mfa.step_up(&ann, SensitiveAction::Host, &session)).unwrap() {
        StepUp::Proceed { proof: Some(proof) } => {
            assert_eq!((proof.at, proof.method), (proved, Method::Totp))
        }
        other => panic!("{other:?}"),
    }
    firm.clock.set(proved + 300);
    let answer = run(firm.mfa.step_up(&ann, SensitiveAction::Host, &session)).unwrap();
    assert_eq!(answer, StepUp::Prove { methods: vec![Method::Totp], window: 300 });
    assert_eq!(answer.refusal(), Some(Refusal::FreshProofRequired));
}

// src/service/step_up.rs:84-86: "[`Error::InvalidHostAction`] for a name that is not 1
// to 64 printable characters without surrounding spaces ([`HostAction::new`]; nothing
// is read or audited)".
#[test]
fn host_action_names_at_and_past_the_limits() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let events = firm.mfa.store().events().len();
    let longest = "a".repeat(64);
    for bad in [String::new(), "a".repeat(65), " pay".into(), "pay\t".into(), "pay\u{202e}run".into()] {
        let result = run(firm.mfa.step_up_host_action(&ann, &bad, &office()));
        assert!(matches!(result, Err(Error::InvalidHostAction)), "{bad:?}: {result:?}");
    }
    assert_eq!(firm.mfa.store().events().len(), events, "nothing audited for a refused name");
    for good in [longest.as_str(), "Lohnlauf_freigeben_ä"] {
        let answer = run(firm.mfa.step_up_host_action(&ann, good, &office())).unwrap();
        assert!(answer.may_proceed(), "{good:?}");
        assert!(firm.events(&ann).contains(&EventKind::HostActionAllowed { action: good.to_string() }));
    }
}

// ---------------------------------------------------------------------------------
// R31: sessions
// ---------------------------------------------------------------------------------

// src/service/device.rs:82-86: "every remembered device is revoked and the account's
// generation moves, so every other session of the user ends ...; the session that
// changed the password takes the new generation". A step-up from the other session is
// refused as ended, and the changing session adopts the new generation and goes on.
#[test]
fn password_changed_ends_the_other_sessions_and_the_changing_one_adopts() {
    use mfa_kit::SessionEnd;
    use mfa_kit::flow::session::{SessionVerdict, adopt};
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    let now = START + 90;
    let before = run(firm.mfa.generation(&ann)).unwrap();
    let mine = SessionFacts::new(before, now).proved_at(now).tagged(1);
    let other = office().with_session(SessionFacts::new(before, now).proved_at(now).tagged(2));
    assert_eq!(run(firm.mfa.password_changed(&ann, &office().request)).unwrap(), 0);
    let after = run(firm.mfa.generation(&ann)).unwrap();
    assert_eq!(adopt(before, after), Some(after), "a password change moves the generation once");
    let mine = office().with_session(mine.with_generation(after));
    assert_eq!(run(firm.mfa.check_session(&ann, &mine)).unwrap(), SessionVerdict::Continue);
    assert_eq!(
        run(firm.mfa.check_session(&ann, &other)).unwrap(),
        SessionVerdict::Ended(SessionEnd::AccountChanged)
    );
    let from_other = run(firm.mfa.step_up_host_action(&ann, "change_bank_details", &other)).unwrap();
    assert_eq!(from_other, StepUp::SignInAgain(SessionEnd::AccountChanged));
    assert!(firm.events(&ann).contains(&EventKind::HostActionRefused {
        action: "change_bank_details".into(),
        refusal: Refusal::SessionEnded(SessionEnd::AccountChanged).code().to_string(),
    }));
    assert!(run(firm.mfa.step_up(&ann, SensitiveAction::Host, &mine)).unwrap().may_proceed());
}

/// The manual clock's reading, for tests.
trait NowForTest {
    fn now_for_test(&self) -> u64;
}

impl NowForTest for mfa_kit::clock::ManualClock {
    fn now_for_test(&self) -> u64 {
        mfa_kit::clock::Clock::now(self).unwrap()
    }
}
