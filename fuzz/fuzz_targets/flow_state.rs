//! The stateful target: random sequences of the pure transitions of `mfa_kit::flow`
//! on one record, with a clock the fuzzer moves forwards and backwards, driven the way
//! a host drives them (a failed transition's record is thrown away, secrets are opened
//! with the sealer before each proof). After every call it checks:
//!
//! - a TOTP step is accepted at most once per credential, and the replay floor never
//!   goes down;
//! - nothing is admitted on a refusal: no `CodeAccepted` event, no new last proof, no
//!   recovery code spent, no new floor, no destination confirmed, no device added;
//! - nothing is admitted during a lockout;
//! - recovery codes, out-of-band codes and device tokens are accepted only when they
//!   are the live ones, once; and the obviously right answer is accepted;
//! - a security key's assertion is accepted only against a live, unexpired
//!   authentication ceremony, at most once per ceremony, from a registered key whose
//!   counter moved forward (or where neither side counts);
//! - the record always serialises and reads back equal;
//! - `Step::changed == false` means the record really is unchanged.
#![no_main]

use std::collections::HashSet;
use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mfa_kit::LockoutRule;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::EventKind;
use mfa_kit::flow::enrollment::Confirmation;
use mfa_kit::flow::security_key::{self, Assertion, CeremonyError, NewKey};
use mfa_kit::flow::{self, Env, Failure, Rules, Step};
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::otp::{Secret, Totp, TotpParams};
use mfa_kit::policy::{OrgSettings, SignInContext, StandardPolicy};
use mfa_kit::record::{CEREMONY_LIFETIME, CeremonyKind, CredentialId};
use mfa_kit::record::{DeviceInfo, DeviceToken, UserRecord};
use mfa_kit::{Destination, Method, Purpose, Refusal, Role, UserId};
use mfa_kit_fuzz::{Pick, T0, assert_round_trip, hash_key, user};

#[derive(Debug, Arbitrary)]
struct Setup {
    max_failures: u8,
    lock_seconds: u16,
    one_code: bool,
    start: u32,
}

/// A code to type: the authenticator's code of a step near now, or any text.
#[derive(Debug, Clone, Arbitrary)]
enum Typed {
    Step(i8),
    Text(String),
}

#[derive(Debug, Arbitrary)]
enum Op {
    Forward(u16),
    Back(u16),
    Jump(u32),
    EnrollStart(u8),
    EnrollConfirm(Vec<Typed>),
    Verify(Typed),
    Resync(Typed, Typed),
    Deactivate(Typed, bool),
    RecoveryGenerate,
    RecoveryRedeem(Pick),
    OobAdd(bool, u8),
    OobSend(bool),
    OobRelease(u8),
    OobRedeem(Pick, bool),
    OobRemove(bool),
    Remember(u32),
    Recognise(Pick),
    Revoke(u8),
    RevokeAll,
    Reset { reason: bool, by_self: bool, actor_has_mfa: bool },
    Decide,
    KeyRegisterStart,
    KeyRegisterFinish { credential: u8, rejected: bool },
    KeyStart,
    KeyFinish { credential: u8, counter: u8, rejected: Option<u8> },
    KeyRemove(u8),
}

#[derive(Debug, Arbitrary)]
struct Input {
    setup: Setup,
    ops: Vec<Op>,
}

const SECRETS: [&[u8]; 3] =
    [b"12345678901234567890", b"abcdefghijklmnopqrst", b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09"];

fn role(backup: bool) -> Role {
    if backup { Role::Backup } else { Role::Primary }
}

fn destination(index: u8) -> Destination {
    match index % 3 {
        0 => Destination::sms("+61 412 345 678"),
        1 => Destination::sms("+64 21 555 0101"),
        _ => Destination::email("Alice@Example.com"),
    }
    .expect("valid destinations")
}

/// An out-of-band code reserved, and what became of it.
struct Sent {
    reservation: flow::destination::Reservation,
    code: String,
    purpose: Purpose,
    expires_at: u64,
    used: bool,
}

struct Device {
    token: DeviceToken,
    info: DeviceInfo,
    alive: bool,
}

struct Model {
    key: HashKey,
    policy: StandardPolicy,
    context: SignInContext,
    rules: Rules,
    now: u64,
    /// Bumped whenever the confirmed credential is replaced or removed.
    generation: u32,
    accepted: HashSet<(u32, u64)>,
    recovery: Vec<String>,
    recovery_used: HashSet<usize>,
    sent: Vec<Sent>,
    /// The index in `sent` of the one code that may still work.
    live: Option<usize>,
    devices: Vec<Device>,
}

impl Model {
    fn env(&self) -> Env<'_> {
        Env::new(self.now, &self.policy, &self.context, &self.rules)
    }

    fn open(record: &UserRecord, pending: bool) -> Option<Totp> {
        let (sealed, params) = if pending {
            let p = record.pending_enrollment()?;
            (p.sealed_secret(), *p.params())
        } else {
            let c = record.totp()?;
            (c.sealed_secret(), *c.params())
        };
        let secret = PlaintextSealer.open(record.user(), sealed).expect("our own sealed secrets open");
        Some(Totp::new(&secret, params))
    }

    fn typed(&self, totp: Option<&Totp>, typed: &Typed) -> String {
        match (typed, totp) {
            (Typed::Step(offset), Some(totp)) => {
                let now = totp.step_at(self.now).expect("t0 is 0");
                let step = now.saturating_add_signed(i64::from(*offset));
                totp.generate_at_step(step).to_string()
            }
            (Typed::Step(offset), None) => format!("{:06}", offset.unsigned_abs()),
            (Typed::Text(text), _) => text.clone(),
        }
    }
}

fn accepted_code(events: &[EventKind]) -> bool {
    events.iter().any(|e| matches!(e, EventKind::CodeAccepted { .. }))
}

/// The checks every refused or failed call must pass: nothing was admitted.
fn nothing_admitted(before: &UserRecord, after: &UserRecord, events: &[EventKind], what: &str) {
    assert!(!accepted_code(events), "{what}: refused, yet a code was accepted");
    // A proof the reading showed future-dated may be voided; none may be added.
    for method in [Method::Totp, Method::Sms, Method::Email, Method::RecoveryCode, Method::SecurityKey] {
        let (was, now) = (before.last_proved(method), after.last_proved(method));
        assert!(now == was || now.is_none(), "{what}: refused, yet a proof was recorded ({method:?})");
    }
    assert_eq!(
        after.totp().and_then(|c| c.last_accepted_step()),
        before.totp().and_then(|c| c.last_accepted_step()),
        "{what}: refused, yet the replay floor moved"
    );
    assert_eq!(
        after.totp().is_some(),
        before.totp().is_some(),
        "{what}: refused, yet the authenticator changed"
    );
    assert_eq!(
        after.recovery_codes().map(|r| r.remaining()),
        before.recovery_codes().map(|r| r.remaining()),
        "{what}: refused, yet a recovery code was spent"
    );
    let counters = |r: &UserRecord| r.security_keys().iter().map(|k| k.counter()).collect::<Vec<_>>();
    assert_eq!(counters(after), counters(before), "{what}: refused, yet a key's counter moved");
    assert!(
        after.security_keys().len() <= before.security_keys().len(),
        "{what}: refused, yet a security key was registered"
    );
    let confirmed =
        |r: &UserRecord| r.destination_state().destinations().iter().filter(|d| d.confirmed_at().is_some()).count();
    assert!(confirmed(after) <= confirmed(before), "{what}: refused, yet a destination was confirmed");
    assert!(after.devices().len() <= before.devices().len(), "{what}: refused, yet a device was remembered");
}

/// Runs one transition with the common checks; the step's outcome, or `None` after a
/// failure (whose record a driver throws away, as this does).
fn step<T>(
    record: &mut UserRecord,
    what: &str,
    run: impl FnOnce(&mut UserRecord) -> Result<Step<T>, Failure>,
) -> Option<(Result<T, Refusal>, Vec<EventKind>)> {
    let before = record.clone();
    match run(record) {
        Err(_) => {
            *record = before;
            None
        }
        Ok(step) => {
            if !step.changed {
                assert!(*record == before, "{what}: changed == false, yet the record changed");
            }
            if step.outcome.is_err() {
                nothing_admitted(&before, record, &step.events, what);
            }
            Some((step.outcome, step.events.into()))
        }
    }
}

fuzz_target!(|input: Input| {
    let setup = input.setup;
    let settings = OrgSettings::builder()
        .lockout(LockoutRule::new(
            u32::from(setup.max_failures % 6) + 1,
            u64::from(setup.lock_seconds % 1200) + 1,
        ))
        .build()
        .expect("valid settings");
    let rules =
        if setup.one_code { Rules::DEFAULT.with_confirmation(Confirmation::OneCode) } else { Rules::DEFAULT };
    let mut model = Model {
        key: hash_key(),
        policy: StandardPolicy::new(),
        context: SignInContext::default().with_org(Arc::new(settings)),
        rules,
        now: T0 + u64::from(setup.start),
        generation: 0,
        accepted: HashSet::new(),
        recovery: Vec::new(),
        recovery_used: HashSet::new(),
        sent: Vec::new(),
        live: None,
        devices: Vec::new(),
    };
    let mut record = UserRecord::new(user());

    for op in input.ops.into_iter().take(64) {
        let before = record.clone();
        let locked = before.failures().is_locked(model.now);
        let floor = before.totp().and_then(|c| c.last_accepted_step());
        let generation = model.generation;
        let mut proved = false;
        match op {
            Op::Forward(seconds) => model.now = model.now.saturating_add(u64::from(seconds)),
            Op::Back(seconds) => model.now = model.now.saturating_sub(u64::from(seconds)),
            Op::Jump(seconds) => model.now = model.now.saturating_add(u64::from(seconds)),
            Op::EnrollStart(which) => {
                let secret = Secret::from_bytes(SECRETS[usize::from(which) % 3]).expect("valid");
                let sealed = PlaintextSealer.seal(&user(), &secret).expect("plaintext sealing");
                let env = model.env();
                step(&mut record, "enroll start", |r| {
                    Ok(flow::enrollment::start(r, sealed, TotpParams::DEFAULT, "fuzz", &env))
                });
            }
            Op::EnrollConfirm(codes) => {
                let totp = Model::open(&record, true);
                let texts: Vec<String> =
                    codes.iter().take(3).map(|c| model.typed(totp.as_ref(), c)).collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                let Some(totp) = totp else {
                    let env = model.env();
                    let fixed =
                        Totp::new(&Secret::from_bytes(SECRETS[0]).expect("valid"), TotpParams::DEFAULT);
                    let result =
                        step(&mut record, "confirm", |r| flow::enrollment::confirm(r, &fixed, &refs, &env));
                    assert!(result.is_none_or(|(outcome, _)| outcome == Err(Refusal::NoPendingEnrollment)));
                    continue;
                };
                let env = model.env();
                if let Some((outcome, events)) =
                    step(&mut record, "confirm", |r| flow::enrollment::confirm(r, &totp, &refs, &env))
                {
                    if outcome.is_ok() {
                        assert!(!locked, "an enrollment was confirmed during a lockout");
                        assert!(events.iter().any(|e| matches!(e, EventKind::EnrollmentConfirmed { .. })));
                        let credential = record.totp().expect("confirmed, so enrolled");
                        model.generation += 1;
                        let step =
                            credential.last_accepted_step().expect("a confirmed credential has a floor");
                        model.accepted.insert((model.generation, step));
                        for device in &mut model.devices {
                            device.alive = false;
                        }
                    }
                }
            }
            Op::Verify(typed) => {
                let totp = Model::open(&record, false);
                let text = model.typed(totp.as_ref(), &typed);
                let totp = totp.unwrap_or_else(|| {
                    Totp::new(&Secret::from_bytes(SECRETS[0]).expect("valid"), TotpParams::DEFAULT)
                });
                let env = model.env();
                let result =
                    step(&mut record, "verify", |r| flow::authenticator::verify(r, &[&totp], &text, &env));
                if let Some((outcome, _)) = result {
                    if outcome.is_ok() {
                        proved = true;
                    } else if matches!(typed, Typed::Step(0)) && before.totp().is_some() && !locked {
                        let now_step = totp.step_at(model.now).expect("t0 is 0");
                        assert!(
                            floor.is_some_and(|f| now_step <= f),
                            "the current code, fresh and not locked out, was refused: {outcome:?}"
                        );
                    }
                }
            }
            Op::Resync(first, second) => {
                let totp = Model::open(&record, false);
                let (a, b) = (model.typed(totp.as_ref(), &first), model.typed(totp.as_ref(), &second));
                let totp = totp.unwrap_or_else(|| {
                    Totp::new(&Secret::from_bytes(SECRETS[0]).expect("valid"), TotpParams::DEFAULT)
                });
                let env = model.env();
                let result = step(&mut record, "resync", |r| {
                    flow::authenticator::resynchronise(r, &[&totp], [&a, &b], &env)
                });
                proved = result.is_some_and(|(outcome, _)| outcome.is_ok());
            }
            Op::Deactivate(typed, confirmed) => {
                let totp = Model::open(&record, false);
                let text = model.typed(totp.as_ref(), &typed);
                let totp = totp.unwrap_or_else(|| {
                    Totp::new(&Secret::from_bytes(SECRETS[0]).expect("valid"), TotpParams::DEFAULT)
                });
                let env = model.env();
                // What the code proves, on a copy: the step a deactivation accepts.
                let mut shadow = before.clone();
                let shadow_step = flow::authenticator::verify(&mut shadow, &[&totp], &text, &env)
                    .ok()
                    .filter(|s| s.outcome.is_ok())
                    .and_then(|_| shadow.totp().and_then(|c| c.last_accepted_step()));
                let result = step(&mut record, "deactivate", |r| {
                    flow::authenticator::deactivate(r, &[&totp], None, &text, confirmed, &env)
                });
                if let Some((Ok(()), _)) = result {
                    assert!(confirmed, "deactivated without the confirmation");
                    assert!(!locked, "deactivated during a lockout");
                    if before.authenticators().is_empty() {
                        // A user whose factors are security keys types no code: the
                        // key's own fresh proof is the one asked for.
                        assert!(!before.security_keys().is_empty(), "deactivated without a factor");
                    } else {
                        let step = shadow_step.expect("deactivated, so the code was right");
                        assert!(
                            model.accepted.insert((generation, step)),
                            "deactivate: step {step} accepted twice"
                        );
                    }
                    assert!(record.totp().is_none() && record.devices().is_empty());
                }
            }
            Op::RecoveryGenerate => {
                let env = model.env();
                let key = model.key.clone();
                let result =
                    step(&mut record, "recovery generate", |r| flow::recovery::generate(r, &key, &env));
                if let Some((Ok(codes), _)) = result {
                    model.recovery = codes.iter().map(|c| c.as_str().to_string()).collect();
                    model.recovery_used.clear();
                }
            }
            Op::RecoveryRedeem(pick) => {
                let (text, index) = match pick {
                    Pick::Given(i) if !model.recovery.is_empty() => {
                        let i = usize::from(i) % model.recovery.len();
                        (model.recovery[i].clone(), Some(i))
                    }
                    Pick::Given(_) => (String::new(), None),
                    Pick::Text(text) => (text, None),
                };
                let canonical = flow::recovery::test_suite::normalize(&text);
                let index = index.or_else(|| {
                    model
                        .recovery
                        .iter()
                        .position(|c| canonical.as_deref().is_some_and(|n| *n == c.replace('-', "")))
                });
                let live = index.is_some_and(|i| !model.recovery_used.contains(&i))
                    && before.recovery_codes().is_some();
                let env = model.env();
                let key = model.key.clone();
                let result = step(&mut record, "recovery redeem", |r| {
                    Ok(flow::recovery::redeem(r, &key, &text, &env))
                });
                if let Some((outcome, _)) = result {
                    match outcome {
                        Ok(_) => {
                            assert!(live, "a recovery code that is not live was accepted: {text:?}");
                            assert!(model.recovery_used.insert(index.expect("live")));
                            proved = true;
                        }
                        Err(refusal) => {
                            assert!(!live || locked, "a live recovery code was refused: {refusal:?}")
                        }
                    }
                }
            }
            Op::OobAdd(backup, which) => {
                let env = model.env();
                let key = model.key.clone();
                let result = step(&mut record, "oob add", |r| {
                    flow::destination::reserve(r, &key, role(backup), Some(destination(which)), &env)
                });
                if let Some((Ok(reservation), _)) = result {
                    // The sender took it.
                    step(&mut record, "oob sent", |r| Ok(flow::destination::confirm_sent(r, &key, &reservation)));
                    let code = reservation.message.code().to_string();
                    let (purpose, expires_at) =
                        (reservation.message.purpose(), reservation.message.expires_at());
                    assert_eq!(purpose, Purpose::ConfirmDestination);
                    model.sent.push(Sent { reservation, code, purpose, expires_at, used: false });
                    model.live = Some(model.sent.len() - 1);
                }
            }
            Op::OobSend(backup) => {
                let env = model.env();
                let key = model.key.clone();
                let result =
                    step(&mut record, "oob send", |r| flow::destination::reserve(r, &key, role(backup), None, &env));
                if let Some((Ok(reservation), _)) = result {
                    assert!(!locked, "a code was sent during a lockout");
                    step(&mut record, "oob sent", |r| Ok(flow::destination::confirm_sent(r, &key, &reservation)));
                    let code = reservation.message.code().to_string();
                    let (purpose, expires_at) =
                        (reservation.message.purpose(), reservation.message.expires_at());
                    assert_eq!(purpose, Purpose::SignIn);
                    model.sent.push(Sent { reservation, code, purpose, expires_at, used: false });
                    model.live = Some(model.sent.len() - 1);
                }
            }
            Op::OobRelease(which) => {
                if !model.sent.is_empty() {
                    let index = usize::from(which) % model.sent.len();
                    let key = model.key.clone();
                    let reservation = &model.sent[index].reservation;
                    step(&mut record, "oob release", |r| Ok(flow::destination::release(r, &key, reservation)));
                    if model.live == Some(index) {
                        model.live = None;
                    }
                    assert!(
                        model.live.is_some()
                            || record.destination_state().challenge().is_none()
                            || model.live != Some(index),
                    );
                }
            }
            Op::OobRedeem(pick, confirm) => {
                let purpose = if confirm { Purpose::ConfirmDestination } else { Purpose::SignIn };
                let (text, index) = match pick {
                    Pick::Given(i) if !model.sent.is_empty() => {
                        let i = usize::from(i) % model.sent.len();
                        (model.sent[i].code.clone(), Some(i))
                    }
                    Pick::Given(_) => (String::new(), None),
                    Pick::Text(text) => (text, None),
                };
                let env = model.env();
                let key = model.key.clone();
                let result =
                    step(&mut record, "oob redeem", |r| Ok(flow::destination::redeem(r, &key, &text, purpose, &env)));
                if let Some((Ok(proven), _)) = result {
                    let live = model.live.expect("a code was accepted with none live");
                    let sent = &mut model.sent[live];
                    assert!(
                        mfa_kit::otp::Code::parse(&text, mfa_kit::otp::Digits::SIX)
                            .is_ok_and(|c| c.to_string() == sent.code),
                        "{text:?} is not the live code, yet it was accepted (index {index:?})"
                    );
                    assert!(!sent.used, "an out-of-band code was accepted twice");
                    assert_eq!(sent.purpose, purpose, "a code was accepted for another purpose");
                    assert!(model.now < sent.expires_at, "an expired code was accepted");
                    assert!(!locked, "an out-of-band code was accepted during a lockout");
                    sent.used = true;
                    model.live = None;
                    proved = purpose == Purpose::SignIn;
                    assert!(matches!(proven.method, Method::Sms | Method::Email));
                }
            }
            Op::OobRemove(backup) => {
                let env = model.env();
                step(&mut record, "oob remove", |r| Ok(flow::destination::remove_destination(r, role(backup), &env)));
                if model.live.is_some() && record.destination_state().challenge().is_none() {
                    model.live = None;
                }
            }
            Op::Remember(lifetime) => {
                let env = model.env();
                let key = model.key.clone();
                let result = step(&mut record, "remember", |r| {
                    flow::device::remember(r, &key, "fuzzed device", u64::from(lifetime), &env)
                });
                if let Some((Ok(remembered), _)) = result {
                    model.devices.push(Device {
                        token: remembered.token,
                        info: remembered.info,
                        alive: true,
                    });
                }
            }
            Op::Recognise(pick) => {
                let (token, index) = match pick {
                    Pick::Given(i) if !model.devices.is_empty() => {
                        let i = usize::from(i) % model.devices.len();
                        (model.devices[i].token.clone(), Some(i))
                    }
                    Pick::Given(_) => (DeviceToken::from_cookie(""), None),
                    Pick::Text(text) => (DeviceToken::from_cookie(&text), None),
                };
                let index = index.or_else(|| model.devices.iter().position(|d| d.token == token));
                let env = model.env();
                let found = flow::device::recognise(&record, &model.key, &token, &env).map(DeviceInfo::from);
                let stored = index.and_then(|i| {
                    let id = &model.devices[i].info.id;
                    record.devices().iter().map(DeviceInfo::from).find(|d| d.id == *id)
                });
                match (&found, index) {
                    (Some(info), Some(i)) => {
                        let device = &model.devices[i];
                        assert!(device.alive, "a revoked device was recognised");
                        assert_eq!(info.id, device.info.id);
                        assert!(model.now < device.info.expires_at, "an expired device was recognised");
                    }
                    (Some(_), None) => panic!("a token never issued was recognised"),
                    (None, Some(i)) => {
                        // The rule for time: a device remembered more than the clock
                        // skew after now (the clock went back) is not trusted.
                        let info = &model.devices[i].info;
                        let good = model.devices[i].alive
                            && stored.is_some()
                            && info.created_at <= model.now + mfa_kit_fuzz::CLOCK_SKEW
                            && model.now < info.expires_at;
                        assert!(!good, "a live device was not recognised");
                    }
                    (None, None) => {}
                }
            }
            Op::Revoke(which) => {
                if !model.devices.is_empty() {
                    let index = usize::from(which) % model.devices.len();
                    let id = model.devices[index].info.id.clone();
                    step(&mut record, "revoke", |r| Ok(flow::device::revoke(r, &id)));
                    model.devices[index].alive = false;
                }
            }
            Op::RevokeAll => {
                step(&mut record, "revoke all", |r| {
                    Ok(flow::device::revoke_all(r, mfa_kit::Revocation::PasswordChanged))
                });
                model.devices.iter_mut().for_each(|d| d.alive = false);
            }
            Op::Reset { reason, by_self, actor_has_mfa } => {
                let actor = if by_self { user() } else { UserId::new("admin") };
                let reason = if reason { "lost phone" } else { "  " };
                let actor = mfa_kit_fuzz::admin(actor, model.now, actor_has_mfa);
                let env = model.env();
                let result = step(&mut record, "reset", |r| {
                    Ok(flow::oversight::reset(
                        r,
                        &actor,
                        reason,
                        mfa_kit::ResetMode::RequireEnrollment,
                        true,
                        &env,
                    ))
                });
                if let Some((Ok(_), _)) = result {
                    assert!(
                        record.totp().is_none()
                            && record.devices().is_empty()
                            && record.recovery_codes().is_none()
                    );
                    model.devices.iter_mut().for_each(|d| d.alive = false);
                    model.live = None;
                }
            }
            Op::Decide => {
                let env = model.env();
                let key = model.key.clone();
                step(&mut record, "decide", |r| Ok(flow::sign_in::decide(r, Some(&key), &env)));
            }
            Op::KeyRegisterStart => {
                let env = model.env();
                let handle = security_key::user_handle(&record).expect("the random source works");
                step(&mut record, "key registration start", |r| {
                    Ok(security_key::start_registration(r, "Fuzz key", handle, "state".into(), &env))
                });
            }
            Op::KeyRegisterFinish { credential, rejected } => {
                let answer = if rejected {
                    Err(CeremonyError::BadSignature)
                } else {
                    Ok(NewKey {
                        credential_id: CredentialId::new(vec![credential % 4; 16]),
                        public_key: "{}".into(),
                        counter: 0,
                        user_verified: true,
                        backup_eligible: false,
                        backup_state: false,
                        discoverable: credential % 2 == 0,
                    })
                };
                let open =
                    before.ceremony().is_some_and(|c| matches!(c.kind(), CeremonyKind::Registration { .. }));
                let env = model.env();
                let result = step(&mut record, "key registration finish", |r| {
                    security_key::finish_registration(r, answer, &env)
                });
                if let Some((Ok(_), _)) = result {
                    assert!(open && !rejected, "a key was registered without an open registration");
                    assert!(!locked, "a key was registered during a lockout");
                    assert_eq!(record.security_keys().len(), before.security_keys().len() + 1);
                    assert!(record.ceremony().is_none(), "the registration's challenge was not spent");
                }
            }
            Op::KeyStart => {
                let env = model.env();
                step(&mut record, "key start", |r| {
                    Ok(security_key::start_authentication(r, "state".into(), &env))
                });
            }
            Op::KeyFinish { credential, counter, rejected } => {
                let credential_id = CredentialId::new(vec![credential % 4; 16]);
                let answer = match rejected {
                    Some(0) => Err(CeremonyError::Malformed),
                    Some(1) => Err(CeremonyError::WrongOrigin),
                    Some(2) => Err(CeremonyError::WrongChallenge),
                    Some(_) | None => Ok(Assertion {
                        credential_id: credential_id.clone(),
                        counter: u32::from(counter),
                        user_verified: true,
                        backup_eligible: false,
                        backup_state: false,
                    }),
                };
                let live = before.ceremony().is_some_and(|c| {
                    *c.kind() == CeremonyKind::Authentication
                        && c.started_at() <= model.now + mfa_kit_fuzz::CLOCK_SKEW
                        && model.now < c.expires_at()
                        && c.expires_at() - c.started_at() <= CEREMONY_LIFETIME
                });
                let stored = before
                    .security_keys()
                    .iter()
                    .find(|k| *k.credential_id() == credential_id)
                    .map(|k| k.counter());
                let env = model.env();
                let result = step(&mut record, "key finish", |r| {
                    Ok(security_key::finish_authentication(r, answer.clone(), &env))
                });
                if let Some((outcome, _)) = result {
                    assert!(
                        record.ceremony().is_none_or(|c| *c.kind() != CeremonyKind::Authentication || !live),
                        "an answered challenge was not spent"
                    );
                    if let Ok(proven) = outcome {
                        assert!(proven.phishing_resistant);
                        assert!(live, "an assertion was accepted without a live challenge");
                        let (Ok(assertion), Some(stored)) = (&answer, stored) else {
                            panic!("accepted: a rejected answer or an unknown key")
                        };
                        assert!(
                            assertion.counter > stored || (assertion.counter == 0 && stored == 0),
                            "a counter that did not move forward was accepted ({stored} -> {})",
                            assertion.counter
                        );
                        proved = true;
                    }
                }
            }
            Op::KeyRemove(which) => {
                if !record.security_keys().is_empty() {
                    let id = record.security_keys()[usize::from(which) % record.security_keys().len()]
                        .id()
                        .to_string();
                    let env = model.env();
                    step(&mut record, "key remove", |r| Ok(flow::authenticator::remove(r, &id, &env)));
                }
            }
        }

        // The credential was replaced or removed: a new generation of steps.
        let replaced = match (before.totp(), record.totp()) {
            (Some(a), Some(b)) => a.sealed_secret() != b.sealed_secret() || a.created_at() != b.created_at(),
            (Some(_), None) => true,
            _ => false,
        };
        if replaced && model.generation == generation {
            model.generation += 1;
        }
        // A proof with the authenticator app: the step it accepted is new.
        let after_floor = record.totp().and_then(|c| c.last_accepted_step());
        if model.generation == generation {
            if let (Some(old), Some(new)) = (floor, after_floor) {
                assert!(new >= old, "the replay floor went down from {old} to {new}");
            }
            if after_floor != floor {
                let step = after_floor.expect("a floor set");
                assert!(model.accepted.insert((generation, step)), "step {step} was accepted twice");
            }
        }
        if proved {
            assert!(!locked, "a proof was accepted during a lockout");
            assert_ne!(record.last_proof(), None);
        }
        // The code a removed destination or a new reservation left behind is dead.
        if record.destination_state().challenge().is_none() {
            model.live = None;
        }
        assert_round_trip(&record);
    }
});
