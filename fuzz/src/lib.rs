//! What the fuzz targets share: a fixed hash key, the policy and rules of a default
//! deployment, and records set up through the public transitions the way a driver
//! would (enrolled authenticator, recovery codes, a confirmed SMS destination with a
//! code pending, a remembered device), with the secrets the fuzzer needs to make
//! right answers.

use mfa_kit::danger::PlaintextSealer;
use mfa_kit::flow::{self, Env, Rules};
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::otp::{Secret, Totp, TotpParams};
use mfa_kit::policy::{SignInContext, StandardPolicy};
use mfa_kit::record::{DeviceToken, UserRecord};
use mfa_kit::{Destination, Purpose, Role, UserId};

/// How far behind a time the record holds a clock may read and still be trusted with
/// it: the record's clock skew (5 minutes), internal to mfa-kit, which the models here
/// follow.
pub const CLOCK_SKEW: u64 = 300;

/// One of the codes or tokens the user was given (by its index among them), or any
/// text: how a stateful target lets the fuzzer choose between a right answer and
/// anything at all.
#[derive(Debug, arbitrary::Arbitrary)]
pub enum Pick {
    /// The given thing at this index (modulo how many there are).
    Given(u8),
    /// Any text.
    Text(String),
}

/// The time every fixture is made at.
pub const T0: u64 = 1_700_000_000;

/// The user of every fixture.
pub fn user() -> UserId {
    UserId::new("alice")
}

/// A fixed hash key (fuzzing needs no secrecy, only determinism).
pub fn hash_key() -> HashKey {
    HashKey::from_bytes(&[7; 32]).expect("32 bytes is a valid hash key")
}

/// A fixed authenticator secret.
pub fn secret() -> Secret {
    Secret::from_bytes(b"12345678901234567890").expect("20 bytes is a valid secret")
}

/// The pieces of an `Env` that outlive it.
pub struct Deployment {
    pub policy: StandardPolicy,
    pub context: SignInContext,
    pub rules: Rules,
}

impl Deployment {
    pub fn standard() -> Deployment {
        Deployment { policy: StandardPolicy::new(), context: SignInContext::default(), rules: Rules::DEFAULT }
    }

    pub fn env(&self, now: u64) -> Env<'_> {
        Env::new(now, &self.policy, &self.context, &self.rules)
    }
}

/// A user with everything set up, and what they hold.
pub struct Fixture {
    pub record: UserRecord,
    pub totp: Totp,
    pub recovery_codes: Vec<String>,
    pub oob_code: String,
    pub device_token: DeviceToken,
    /// When the fixture was last changed.
    pub now: u64,
}

fn ok<T>(step: flow::Step<T>, what: &str) -> T {
    match step.outcome {
        Ok(value) => value,
        Err(refusal) => panic!("fixture: {what} refused: {refusal}"),
    }
}

/// Enrolled with [`secret`], recovery codes generated, an SMS primary destination
/// confirmed, a sign-in code pending for it, and a device remembered.
pub fn fixture() -> Fixture {
    let deployment = Deployment::standard();
    let key = hash_key();
    let mut record = UserRecord::new(user());
    let secret = secret();
    let totp = Totp::new(&secret, TotpParams::DEFAULT);
    let sealed = PlaintextSealer.seal(&user(), &secret).expect("plaintext sealing cannot fail");

    let mut now = T0;
    ok(
        flow::enrollment::start(&mut record, sealed, TotpParams::DEFAULT, "fuzz", &deployment.env(now)),
        "start",
    );
    let first = totp.generate(now).expect("after T0").to_string();
    now += 30;
    let second = totp.generate(now).expect("after T0").to_string();
    let confirm = flow::enrollment::confirm(&mut record, &totp, &[&first, &second], &deployment.env(now))
        .expect("confirm runs");
    ok(confirm, "confirm");

    let codes = flow::recovery::generate(&mut record, &key, &deployment.env(now)).expect("random source");
    let recovery_codes = ok(codes, "recovery codes").iter().map(|c| c.as_str().to_string()).collect();

    let phone = Destination::sms("+61 412 345 678").expect("a valid number");
    let reserved = flow::destination::reserve(&mut record, &key, Role::Primary, Some(phone), &deployment.env(now))
        .expect("random source");
    let reservation = ok(reserved, "reserve destination");
    let confirm_code = reservation.message.code().to_string();
    // The sender took it: the code works from now on.
    let _sent = flow::destination::confirm_sent(&mut record, &key, &reservation);
    now += 10;
    ok(
        flow::destination::redeem(
            &mut record,
            &key,
            &confirm_code,
            Purpose::ConfirmDestination,
            &deployment.env(now),
        ),
        "confirm destination",
    );

    let remembered =
        flow::device::remember(&mut record, &key, "Firefox on Linux", 3_600, &deployment.env(now))
            .expect("random source");
    let device_token = ok(remembered, "remember").token;

    now += 60;
    let reserved = flow::destination::reserve(&mut record, &key, Role::Primary, None, &deployment.env(now))
        .expect("random source");
    let reservation = ok(reserved, "reserve sign-in code");
    let oob_code = reservation.message.code().to_string();
    let _sent = flow::destination::confirm_sent(&mut record, &key, &reservation);

    Fixture { record, totp, recovery_codes, oob_code, device_token, now }
}

/// Serialises and reads back `record`, and panics unless it comes back equal.
pub fn assert_round_trip(record: &UserRecord) {
    let text = serde_json::to_string(record).expect("a record always serialises");
    let back: UserRecord = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("a serialised record does not read back: {error}\n{text}"));
    assert_eq!(&back, record, "a record reads back different\n{text}");
}

/// An admin's own record: with `has_mfa`, an authenticator confirmed at `now` (so a
/// fresh proof at `now`); without, or where `now` allows no enrollment (a time the
/// fuzzer chose, too early or too late for TOTP), an empty record.
pub fn admin(id: UserId, now: u64, has_mfa: bool) -> UserRecord {
    let empty = UserRecord::new(id.clone());
    if !has_mfa || now < 30 {
        return empty;
    }
    let deployment = Deployment::standard();
    let mut record = empty.clone();
    let secret = secret();
    let totp = Totp::new(&secret, TotpParams::DEFAULT);
    let sealed = PlaintextSealer.seal(&id, &secret).expect("plaintext sealing cannot fail");
    let start =
        flow::enrollment::start(&mut record, sealed, TotpParams::DEFAULT, "admin", &deployment.env(now - 30));
    let (Ok(first), Ok(second)) = (totp.generate(now - 30), totp.generate(now)) else { return empty };
    let (first, second) = (first.to_string(), second.to_string());
    let confirmed = flow::enrollment::confirm(&mut record, &totp, &[&first, &second], &deployment.env(now));
    match (start.outcome, confirmed.map(|step| step.outcome)) {
        (Ok(_), Ok(Ok(_))) => record,
        _ => empty,
    }
}
