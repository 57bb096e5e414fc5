//! One wrong clock reading must not be written into the record and kept. Random walks
//! of the true time, with wild readings mixed in (days ahead, days behind, the epoch,
//! the latest time the service accepts), drive the transitions; at every true reading
//! the invariants of the record's rule for time must hold (see `record`'s docs).

use mfa_kit::danger::PlaintextSealer;
use mfa_kit::flow::{self, Env, Rules};
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::policy::{SignInContext, StandardPolicy};
use mfa_kit::record::{CLOCK_SKEW, DeviceToken, UserRecord};
use mfa_kit::service::MAX_PLAUSIBLE_TIME;
use mfa_kit::vocabulary::{Destination, Purpose, Role};
use mfa_kit::{Refusal, Secret, Totp, TotpParams, UserId};
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
    /// The next operation reads a wrong clock.
    Wild(Wild),
    Guess,
    Right,
    Send,
    EnterSms,
    Remember,
    CheckDevice,
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
        1 => (1u64..40 * 86_400).prop_map(|d| Op::Wild(Wild::Ahead(d))),
        1 => (1u64..40 * 86_400).prop_map(|d| Op::Wild(Wild::Behind(d))),
        1 => Just(Op::Wild(Wild::Epoch)),
        1 => Just(Op::Wild(Wild::Latest)),
        4 => Just(Op::Guess),
        2 => Just(Op::Right),
        2 => Just(Op::Send),
        2 => Just(Op::EnterSms),
        1 => Just(Op::Remember),
        2 => Just(Op::CheckDevice),
    ]
}

struct World {
    record: UserRecord,
    phone: Totp,
    key: HashKey,
    policy: StandardPolicy,
    context: SignInContext,
    rules: Rules,
    /// The last code sent, and the reading it was issued at.
    sms: Option<(String, u64)>,
    /// The device token, and the reading it was remembered at.
    device: Option<(DeviceToken, u64)>,
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
        let sent =
            flow::oob::reserve(&mut record, &key, Role::Backup, Some(email), &env).unwrap().outcome.unwrap();
        flow::oob::redeem(&mut record, &key, sent.message.code(), Purpose::ConfirmDestination, &env)
            .outcome
            .unwrap();
        let accepted_steps = vec![record.totp().unwrap().last_accepted_step().unwrap()];
        World { record, phone, key, policy, context, rules, sms: None, device: None, accepted_steps }
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
}

/// Runs one operation at `reading` (the true time `now`), checking what must hold when
/// the reading is true.
fn apply(world: &mut World, op: &Op, reading: u64, now: u64) -> Result<(), TestCaseError> {
    let truthful = reading == now;
    match op {
        Op::Tick(_) | Op::Wild(_) => {}
        Op::Guess => {
            let code = world.wrong_code(reading);
            let mut record = world.record.clone();
            let step = flow::authenticator::verify(&mut record, &[&world.phone], &code, &world.env(reading))
                .unwrap();
            prop_assert!(step.outcome.is_err());
            world.record = record;
        }
        Op::Right => {
            let code = world.phone.generate(now).unwrap().to_string();
            let disabled = world.record.failures().disabled_at().is_some();
            let mut record = world.record.clone();
            let step = flow::authenticator::verify(&mut record, &[&world.phone], &code, &world.env(reading))
                .unwrap();
            if disabled {
                prop_assert_eq!(&step.outcome, &Err(Refusal::Disabled));
            }
            if step.outcome.is_ok() {
                let accepted = record.totp().unwrap().last_accepted_step().unwrap();
                prop_assert!(!world.accepted_steps.contains(&accepted), "step {} accepted twice", accepted);
                world.accepted_steps.push(accepted);
            }
            world.record = record;
        }
        Op::Send => {
            let mut record = world.record.clone();
            let step =
                flow::oob::reserve(&mut record, &world.key, Role::Backup, None, &world.env(reading)).unwrap();
            match step.outcome {
                Ok(reservation) => world.sms = Some((reservation.message.code().to_string(), reading)),
                Err(Refusal::RateLimited { retry_at }) if truthful => {
                    prop_assert!(retry_at <= now + 3_600 + CLOCK_SKEW, "sends blocked until {}", retry_at);
                }
                Err(_) => {}
            }
            world.record = record;
        }
        Op::EnterSms => {
            let Some((code, issued)) = world.sms.clone() else { return Ok(()) };
            let mut record = world.record.clone();
            let step =
                flow::oob::redeem(&mut record, &world.key, &code, Purpose::SignIn, &world.env(reading));
            if step.outcome.is_ok() && truthful {
                prop_assert!(
                    issued <= now + CLOCK_SKEW && now < issued + SMS_LIFETIME,
                    "code of {} taken at {}",
                    issued,
                    now
                );
            }
            world.record = record;
        }
        Op::Remember => {
            let mut record = world.record.clone();
            let step =
                flow::device::remember(&mut record, &world.key, "laptop", 30 * 86_400, &world.env(reading))
                    .unwrap();
            if let Ok(remembered) = step.outcome {
                world.device = Some((remembered.token, reading));
            }
            world.record = record;
        }
        Op::CheckDevice => {
            let Some((token, created)) = world.device.clone() else { return Ok(()) };
            let env = world.env(reading);
            let found = flow::device::recognise(&world.record, &world.key, &token, &env).is_some();
            if found && truthful {
                prop_assert!(
                    created <= now + CLOCK_SKEW && now < created + DEVICE_CAP,
                    "device of {} at {}",
                    created,
                    now
                );
            }
        }
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 80, ..ProptestConfig::default() })]

    /// 80 walks of 130 steps: 10,400 steps in all.
    #[test]
    fn a_wrong_clock_reading_is_never_kept(ops in proptest::collection::vec(op(), 130)) {
        let mut world = World::new();
        let mut now = T0 + 30;
        let mut wild = None;
        for op in &ops {
            match op {
                Op::Tick(seconds) => now += seconds,
                Op::Wild(kind) => wild = Some(*kind),
                _ => {}
            }
            let reading = match wild.take_if(|_| !matches!(op, Op::Wild(_))) {
                Some(Wild::Ahead(d)) => now + d,
                Some(Wild::Behind(d)) => now.saturating_sub(d),
                Some(Wild::Epoch) => 0,
                Some(Wild::Latest) => MAX_PLAUSIBLE_TIME,
                None => now,
            };
            apply(&mut world, op, reading, now)?;
        }
    }
}
