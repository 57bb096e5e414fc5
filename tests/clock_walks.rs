//! One wrong clock reading must not be written into the record and kept. Random walks
//! of the true time, with wild readings mixed in (days ahead, days behind, the epoch,
//! the latest time the service accepts, for one operation or a few), drive the
//! transitions; at every true reading the invariants of the record's rule for time must
//! hold (see `record`'s docs). Every window a walk writes (a code, a device, a proof, an
//! enrollment, a lockout) is tracked; once a later reading shows it starts in the
//! future, it must never be honoured, also after real time (leaping days) passes it.

use mfa_kit::danger::PlaintextSealer;
use mfa_kit::flow::step_up::StepUp;
use mfa_kit::flow::{self, Env, Rules};
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::otp::{Secret, Totp, TotpParams};
use mfa_kit::policy::{SignInContext, StandardPolicy};
use mfa_kit::record::{DeviceToken, UserRecord};
use mfa_kit::service::MAX_PLAUSIBLE_TIME;
use mfa_kit::{Destination, Purpose, Role};
use mfa_kit::{Method, Refusal, SensitiveAction, UserId};

/// How far behind a time the record holds a clock may read and still be trusted with
/// it (the record's clock skew, 5 minutes).
const CLOCK_SKEW: u64 = 300;
use proptest::prelude::*;

const T0: u64 = 1_700_000_000;
/// The ATO preset caps remembered devices at 12 hours.
const DEVICE_CAP: u64 = 12 * 3600;
const SMS_LIFETIME: u64 = 600;
const LOCK_CAP: u64 = 86_400;

#[derive(Clone, Debug)]
enum Op {
    /// The true time moves on.
    Tick(u64),
    /// The true time leaps on (days), so that real time passes windows written by a
    /// clock that ran ahead.
    Leap(u64),
    /// The next `1 + n` operations read a wrong clock.
    Wild(Wild, u8),
    Guess,
    /// A right code: of the true time, or (`true`) of the reading, as from a phone
    /// whose clock is as wrong as the server's.
    Right(bool),
    /// A code sent, and (`true`) the send confirmed; `false`: the confirmation is lost.
    Send(bool),
    EnterSms,
    Remember,
    CheckDevice,
    StepUp,
    StartEnrollment,
    ConfirmEnrollment,
}

#[derive(Clone, Copy, Debug)]
enum Wild {
    Ahead(u64),
    Behind(u64),
    Epoch,
    Latest,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..4_000).prop_map(Op::Tick),
        1 => (3_600u64..3 * 86_400).prop_map(Op::Leap),
        2 => ((1u64..3 * 86_400), 0u8..4).prop_map(|(d, n)| Op::Wild(Wild::Ahead(d), n)),
        1 => ((1u64..40 * 86_400), 0u8..2).prop_map(|(d, n)| Op::Wild(Wild::Ahead(d), n)),
        1 => ((1u64..40 * 86_400), 0u8..2).prop_map(|(d, n)| Op::Wild(Wild::Behind(d), n)),
        1 => Just(Op::Wild(Wild::Epoch, 0)),
        1 => Just(Op::Wild(Wild::Latest, 0)),
        4 => Just(Op::Guess),
        2 => any::<bool>().prop_map(Op::Right),
        2 => prop_oneof![3 => Just(Op::Send(true)), 1 => Just(Op::Send(false))],
        2 => Just(Op::EnterSms),
        1 => Just(Op::Remember),
        2 => Just(Op::CheckDevice),
        1 => Just(Op::StepUp),
        1 => Just(Op::StartEnrollment),
        1 => Just(Op::ConfirmEnrollment),
    ]
}

/// A window the walk wrote: the reading it starts at, and whether a later reading the
/// record was shown proved it future-dated (more than `CLOCK_SKEW` before its start).
#[derive(Clone, Copy, Debug)]
struct Written {
    start: u64,
    exposed: bool,
}

impl Written {
    fn at(start: u64) -> Written {
        Written { start, exposed: false }
    }

    fn see(&mut self, reading: u64) {
        self.exposed |= self.start > reading.saturating_add(CLOCK_SKEW);
    }
}

/// What the walks did, summed over every walk.
#[derive(Debug, Default)]
struct Stats {
    steps: u64,
    /// Windows written at a reading ahead of the true time by more than `CLOCK_SKEW`.
    written_ahead: u64,
    /// Of them, proved future-dated by a later reading.
    exposed: u64,
    /// Uses tried of exposed windows at a true reading past their start.
    revisits: u64,
    /// Right codes at a right clock, all of which must be accepted.
    right_accepted: u64,
}

struct World {
    record: UserRecord,
    phone: Totp,
    key: HashKey,
    policy: StandardPolicy,
    context: SignInContext,
    rules: Rules,
    /// Codes reserved: the code, its window, whether its send was confirmed.
    sms: Vec<(String, Written, bool)>,
    /// Devices remembered: the token and its window.
    devices: Vec<(DeviceToken, Written)>,
    /// The last proof written of each method.
    proofs: Vec<(Method, Written)>,
    /// The enrollment started last, with its phone.
    pending: Option<(Totp, Written)>,
    /// The lockout started last.
    lockout: Option<Written>,
    secrets: u64,
    accepted_steps: Vec<u64>,
}

impl World {
    fn new() -> World {
        let user = UserId::new("sarah");
        let mut record = UserRecord::new(user.clone());
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        let phone = Totp::new(&secret, TotpParams::DEFAULT);
        let policy = StandardPolicy::ato_tax_data();
        let (context, rules) = (SignInContext::default(), Rules::DEFAULT);
        let key = HashKey::from_bytes(&[9; 32]).unwrap();
        let env = Env::new(T0, &policy, &context, &rules);
        let sealed = PlaintextSealer.seal(&user, &secret).unwrap();
        flow::enrollment::start(&mut record, sealed, TotpParams::DEFAULT, "sarah", &env).outcome.unwrap();
        let codes = [phone.generate(T0 - 30).unwrap().to_string(), phone.generate(T0).unwrap().to_string()];
        let codes = [codes[0].as_str(), codes[1].as_str()];
        flow::enrollment::confirm(&mut record, &phone, &codes, &env).unwrap().outcome.unwrap();
        let email = Destination::email("sarah@smith.example").unwrap();
        let sent = flow::destination::reserve(&mut record, &key, Role::Backup, Some(email), &env)
            .unwrap()
            .outcome
            .unwrap();
        assert!(flow::destination::confirm_sent(&mut record, &key, &sent).changed);
        flow::destination::redeem(&mut record, &key, sent.message.code(), Purpose::ConfirmDestination, &env)
            .outcome
            .unwrap();
        let accepted_steps = vec![record.totp().unwrap().last_accepted_step().unwrap()];
        World {
            record,
            phone,
            key,
            policy,
            context,
            rules,
            sms: Vec::new(),
            devices: Vec::new(),
            proofs: vec![(Method::Totp, Written::at(T0)), (Method::Email, Written::at(T0))],
            pending: None,
            lockout: None,
            secrets: 0,
            accepted_steps,
        }
    }

    fn env(&self, reading: u64) -> Env<'_> {
        Env::new(reading, &self.policy, &self.context, &self.rules)
    }

    /// A code no step near `reading` produces.
    fn wrong_code(&self, reading: u64) -> String {
        let near: Vec<String> = (0..=40u64)
            .map(|i| reading.saturating_add(i * 30).saturating_sub(600))
            .map(|t| self.phone.generate(t).unwrap().to_string())
            .collect();
        (0..1_000_000u32).map(|n| format!("{n:06}")).find(|c| !near.contains(c)).unwrap()
    }

    /// Every window the walk wrote, to mark what a reading exposes.
    fn written(&mut self) -> impl Iterator<Item = &mut Written> {
        let sms = self.sms.iter_mut().map(|(_, w, _)| w);
        let devices = self.devices.iter_mut().map(|(_, w)| w);
        let proofs = self.proofs.iter_mut().map(|(_, w)| w);
        sms.chain(devices)
            .chain(proofs)
            .chain(self.pending.as_mut().map(|(_, w)| w))
            .chain(self.lockout.as_mut())
    }

    fn proved(&mut self, method: Method, written: Written) {
        self.proofs.retain(|(m, _)| *m != method);
        self.proofs.push((method, written));
    }

    /// What a check that only reads leaves for the driver to save (as the service does).
    fn settle(&mut self, reading: u64) {
        let mut record = self.record.clone();
        let _ = flow::clock::settle(&mut record, &self.env(reading));
        self.record = record;
    }
}

/// Counts a use of `written` at the true time `now` past its start, if a reading has
/// exposed it: the case the rule for time is about.
fn revisit(stats: &mut Stats, written: &Written, now: u64, truthful: bool) {
    if truthful && written.exposed && written.start <= now {
        stats.revisits += 1;
    }
}

/// Runs one operation at `reading` (the true time `now`), checking what must hold.
fn apply(world: &mut World, op: &Op, reading: u64, now: u64, stats: &mut Stats) -> Result<(), TestCaseError> {
    let truthful = reading == now;
    if matches!(op, Op::Tick(_) | Op::Leap(_) | Op::Wild(..)) {
        return Ok(());
    }
    stats.steps += 1;
    // Every other operation shows the record this reading, and keeps what it proves.
    for written in world.written() {
        let was = written.exposed;
        written.see(reading);
        if written.exposed && !was {
            stats.exposed += 1;
        }
    }
    let locked_before = world.record.failures().locked_until();
    let ahead = reading > now.saturating_add(CLOCK_SKEW);
    let wrote = |stats: &mut Stats| {
        if ahead {
            stats.written_ahead += 1;
        }
        Written::at(reading)
    };
    match op {
        Op::Tick(_) | Op::Leap(_) | Op::Wild(..) => {}
        Op::Guess => {
            let code = world.wrong_code(reading);
            let mut record = world.record.clone();
            let step = flow::authenticator::verify(&mut record, &[&world.phone], &code, &world.env(reading))
                .unwrap();
            prop_assert!(step.outcome.is_err());
            world.record = record;
        }
        Op::Right(at_reading) => {
            let code = world.phone.generate(if *at_reading { reading } else { now }).unwrap().to_string();
            let disabled = world.record.failures().disabled_at().is_some();
            // Liveness beside safety: at a right clock, the current code of a user who
            // is not locked out, for a step not accepted before, is accepted.
            let floor = world.record.totp().and_then(|c| c.last_accepted_step());
            let current = world.phone.step_at(now).unwrap();
            let open = !disabled && !world.record.failures().is_locked(now);
            let due = reading == now && !*at_reading && open && floor.is_none_or(|f| current > f);
            let mut record = world.record.clone();
            let step = flow::authenticator::verify(&mut record, &[&world.phone], &code, &world.env(reading))
                .unwrap();
            if disabled {
                prop_assert_eq!(&step.outcome, &Err(Refusal::Disabled));
            }
            if due && world.record.totp().is_some() {
                prop_assert!(
                    step.outcome.is_ok(),
                    "a right code at a right clock was refused: {:?}",
                    step.outcome
                );
                stats.right_accepted += 1;
            }
            if step.outcome.is_ok() {
                let accepted = record.totp().unwrap().last_accepted_step().unwrap();
                prop_assert!(!world.accepted_steps.contains(&accepted), "step {} accepted twice", accepted);
                world.accepted_steps.push(accepted);
                let written = wrote(stats);
                world.proved(Method::Totp, written);
            }
            world.record = record;
        }
        Op::Send(confirmed) => {
            let mut record = world.record.clone();
            let step =
                flow::destination::reserve(&mut record, &world.key, Role::Backup, None, &world.env(reading))
                    .unwrap();
            match step.outcome {
                Ok(reservation) => {
                    if *confirmed {
                        let _ = flow::destination::confirm_sent(&mut record, &world.key, &reservation);
                    }
                    let written = wrote(stats);
                    world.sms.push((reservation.message.code().to_string(), written, *confirmed));
                }
                Err(Refusal::RateLimited { retry_at }) if truthful => {
                    prop_assert!(retry_at <= now + 3_600 + CLOCK_SKEW, "sends blocked until {}", retry_at);
                }
                Err(_) => {}
            }
            world.record = record;
        }
        Op::EnterSms => {
            let Some((code, written, confirmed)) = world.sms.last().cloned() else {
                world.settle(reading); // what any transition at this reading does first
                return Ok(());
            };
            revisit(stats, &written, now, truthful);
            let mut record = world.record.clone();
            let step = flow::destination::redeem(
                &mut record,
                &world.key,
                &code,
                Purpose::SignIn,
                &world.env(reading),
            );
            if step.outcome.is_ok() {
                prop_assert!(confirmed, "a code whose send was never confirmed was taken");
                prop_assert!(!written.exposed, "a code from a clock that ran ahead was taken: {:?}", written);
                if truthful {
                    let issued = written.start;
                    prop_assert!(
                        issued <= now + CLOCK_SKEW && now < issued + SMS_LIFETIME,
                        "code of {} taken at {}",
                        issued,
                        now
                    );
                }
                let written = wrote(stats);
                world.proved(Method::Email, written);
            }
            world.record = record;
        }
        Op::Remember => {
            let fresh =
                flow::step_up::check(&world.record, SensitiveAction::RememberDevice, &world.env(reading));
            let mut record = world.record.clone();
            let step =
                flow::device::remember(&mut record, &world.key, "laptop", 30 * 86_400, &world.env(reading))
                    .unwrap();
            if let Ok(remembered) = step.outcome {
                let StepUp::Proceed { proof: Some(proof) } = fresh else {
                    return Err(TestCaseError::fail(format!("remembered without a fresh proof: {fresh:?}")));
                };
                let used = world.proofs.iter().find(|(m, _)| *m == proof.method).map(|(_, w)| *w);
                prop_assert!(used.is_some_and(|w| !w.exposed), "an exposed proof let a device be remembered");
                let written = wrote(stats);
                world.devices.push((remembered.token, written));
            }
            world.record = record;
        }
        Op::CheckDevice => {
            let env = world.env(reading);
            for (token, written) in &world.devices {
                let found = flow::device::recognise(&world.record, &world.key, token, &env).is_some();
                revisit(stats, written, now, truthful);
                prop_assert!(!(found && written.exposed), "an exposed device was honoured: {:?}", written);
                if found && truthful {
                    let created = written.start;
                    prop_assert!(
                        created <= now + CLOCK_SKEW && now < created + DEVICE_CAP,
                        "device of {} at {}",
                        created,
                        now
                    );
                }
            }
            world.settle(reading);
        }
        Op::StepUp => {
            for (_, written) in &world.proofs {
                revisit(stats, written, now, truthful);
            }
            let answer = flow::step_up::check(&world.record, SensitiveAction::Host, &world.env(reading));
            if let StepUp::Proceed { proof: Some(proof) } = answer {
                let used = world.proofs.iter().find(|(m, _)| *m == proof.method).map(|(_, w)| *w);
                prop_assert!(used.is_some_and(|w| !w.exposed), "step-up proceeded on an exposed proof");
            }
            world.settle(reading);
        }
        Op::StartEnrollment => {
            world.secrets += 1;
            let secret = Secret::from_bytes(format!("{:020}", world.secrets).as_bytes()).unwrap();
            let sealed = PlaintextSealer.seal(world.record.user(), &secret).unwrap();
            let mut record = world.record.clone();
            let step = flow::enrollment::start(
                &mut record,
                sealed,
                TotpParams::DEFAULT,
                "sarah",
                &world.env(reading),
            );
            if step.outcome.is_ok() {
                let written = wrote(stats);
                world.pending = Some((Totp::new(&secret, TotpParams::DEFAULT), written));
            }
            world.record = record;
        }
        Op::ConfirmEnrollment => {
            let Some((phone, written)) = world.pending.take() else {
                world.settle(reading); // what any transition at this reading does first
                return Ok(());
            };
            revisit(stats, &written, now, truthful);
            let codes = [
                phone.generate(now.saturating_sub(30)).unwrap().to_string(),
                phone.generate(now).unwrap().to_string(),
            ];
            let codes = [codes[0].as_str(), codes[1].as_str()];
            let mut record = world.record.clone();
            let step = flow::enrollment::confirm(&mut record, &phone, &codes, &world.env(reading)).unwrap();
            if step.outcome.is_ok() {
                prop_assert!(!written.exposed, "an exposed enrollment was confirmed: {:?}", written);
                world.accepted_steps = vec![record.totp().unwrap().last_accepted_step().unwrap()];
                world.phone = phone;
                let written = wrote(stats);
                world.proved(Method::Totp, written);
            } else {
                world.pending = Some((phone, written));
            }
            world.record = record;
        }
    }
    // The lockout: a new one is this reading's; an exposed one was voided.
    let locked = world.record.failures().locked_until();
    if locked.is_some() && locked != locked_before {
        world.lockout = Some(wrote(stats));
    } else if let Some(lockout) = world.lockout {
        revisit(stats, &lockout, now, truthful);
        prop_assert!(!(lockout.exposed && locked.is_some()), "an exposed lockout is kept: {:?}", lockout);
    }
    if truthful {
        // A lockout seen at a true reading ends within the longest lockout.
        if world.record.failures().is_locked(now) {
            let until = world.record.failures().locked_until().unwrap();
            prop_assert!(until <= now + CLOCK_SKEW + LOCK_CAP, "locked until {} at {}", until, now);
        }
        prop_assert!(world.record.failures().consecutive() <= 100);
    }
    let json = serde_json::to_string(&world.record).unwrap();
    prop_assert_eq!(&serde_json::from_str::<UserRecord>(&json).unwrap(), &world.record);
    Ok(())
}

/// One walk: the operations, then real time carried past every window written and
/// each one tried again.
fn walk(ops: &[Op], stats: &mut Stats) -> Result<(), TestCaseError> {
    let mut world = World::new();
    let mut now = T0 + 30;
    let mut wild: Option<(Wild, u8)> = None;
    for op in ops {
        match op {
            Op::Tick(seconds) | Op::Leap(seconds) => now += seconds,
            Op::Wild(kind, more) => wild = Some((*kind, *more)),
            _ => {}
        }
        let reading = match wild.filter(|_| !matches!(op, Op::Wild(..) | Op::Tick(_) | Op::Leap(_))) {
            Some((kind, more)) => {
                wild = more.checked_sub(1).map(|more| (kind, more));
                match kind {
                    Wild::Ahead(d) => now + d,
                    Wild::Behind(d) => now.saturating_sub(d),
                    Wild::Epoch => 0,
                    Wild::Latest => MAX_PLAUSIBLE_TIME,
                }
            }
            None => now,
        };
        apply(&mut world, op, reading, now, stats)?;
    }
    // Real time passes every window written, and each is tried again at a true reading.
    let latest = world.written().map(|w| w.start).filter(|s| *s < MAX_PLAUSIBLE_TIME).max().unwrap_or(now);
    now = now.max(latest + 1);
    for op in [Op::CheckDevice, Op::EnterSms, Op::StepUp, Op::ConfirmEnrollment, Op::Guess] {
        apply(&mut world, &op, now, now, stats)?;
    }
    Ok(())
}

const CASES: u32 = 100;
const OPS: usize = 200;

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    /// 100 walks of 200 operations (time moves in about a third of them) and 5 revisits.
    #[test]
    fn a_wrong_clock_reading_is_never_kept_and_its_windows_never_become_valid(
        ops in proptest::collection::vec(op(), OPS)
    ) {
        walk(&ops, &mut Stats::default())?;
    }
}

/// The same walks from a fixed seed, counted: they take at least 10,000 steps, and real
/// time passes windows that readings exposed, which are then tried again.
#[test]
fn the_walks_revisit_windows_written_ahead_after_real_time_passes_them() {
    let config = ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(
        config,
        proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let stats = std::cell::RefCell::new(Stats::default());
    runner.run(&proptest::collection::vec(op(), OPS), |ops| walk(&ops, &mut stats.borrow_mut())).unwrap();
    let stats = stats.into_inner();
    println!("{stats:?}");
    assert!(stats.steps >= 10_000, "{stats:?}");
    assert!(stats.written_ahead > 0 && stats.exposed > 0 && stats.revisits > 0, "{stats:?}");
    assert!(stats.right_accepted > 100, "right codes at right clocks were checked: {stats:?}");
}
