//! The rules driven directly, without the service: a policy, a request's context and
//! the rules in a `World`; what a relying party reports of a security key; a user with
//! an authenticator app. Shared by the test files that drive `flow` transitions.
#![allow(dead_code)] // Each test file uses a different part.

use mfa_kit::UserId;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::flow::recovery::{self, RecoveryCode};
use mfa_kit::flow::security_key::{self, Assertion, CeremonyError, NewKey};
use mfa_kit::flow::{self, Env, Rules};
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::otp::{Secret, Totp, TotpParams};
use mfa_kit::policy::{Policy, SignInContext};
use mfa_kit::record::{CredentialId, SecurityKey, UserRecord};
use mfa_kit::relying_party::{CeremonyOptions, RegistrationUser, RelyingParty, RelyingPartyError};

/// A step boundary (divisible by 30).
pub const T0: u64 = 1_700_000_010 - 10;

/// The policy, context and rules of one request.
pub struct World {
    pub policy: Box<dyn Policy>,
    pub context: SignInContext,
    pub rules: Rules,
}

impl World {
    pub fn new(policy: impl Policy + 'static, context: SignInContext) -> World {
        World { policy: Box::new(policy), context, rules: Rules::default() }
    }

    pub fn env(&self, now: u64) -> Env<'_> {
        Env::new(now, self.policy.as_ref(), &self.context, &self.rules)
    }
}

/// A new security key with credential id `[id; 32]`, as a relying party reports it.
pub fn new_key(id: u8) -> NewKey {
    NewKey {
        credential_id: CredentialId::new(vec![id; 32]),
        public_key: "{\"kty\":2}".into(),
        counter: 1,
        user_verified: true,
        backup_eligible: false,
        backup_state: false,
        discoverable: true,
    }
}

/// A verified assertion of the key `[id; 32]` with signature counter `counter`.
pub fn signed(id: u8, counter: u32) -> Assertion {
    Assertion {
        credential_id: CredentialId::new(vec![id; 32]),
        counter,
        user_verified: true,
        backup_eligible: false,
        backup_state: false,
    }
}

/// A relying party that trusts the browser, for the service's ceremonies: a
/// registration's response is the key's id byte (`"7"`, as [`new_key`] makes it), an
/// assertion's is `"id:counter"` (as [`signed`] makes it).
pub struct TrustingParty;

impl RelyingParty for TrustingParty {
    fn start_registration(
        &self,
        _user: &RegistrationUser<'_>,
        _registered: &[SecurityKey],
    ) -> Result<CeremonyOptions, RelyingPartyError> {
        Ok(CeremonyOptions::new("{\"publicKey\":{}}".into(), "registration".into()))
    }

    fn finish_registration(
        &self,
        _state: &str,
        response: &str,
    ) -> Result<Result<NewKey, CeremonyError>, RelyingPartyError> {
        Ok(response.parse::<u8>().map(new_key).map_err(|_| CeremonyError::Malformed))
    }

    fn start_authentication(&self, _keys: &[SecurityKey]) -> Result<CeremonyOptions, RelyingPartyError> {
        Ok(CeremonyOptions::new("{\"publicKey\":{}}".into(), "authentication".into()))
    }

    fn finish_authentication(
        &self,
        _state: &str,
        response: &str,
        _keys: &[SecurityKey],
    ) -> Result<Result<Assertion, CeremonyError>, RelyingPartyError> {
        let Some((id, counter)) = response.split_once(':') else { return Ok(Err(CeremonyError::Malformed)) };
        let (Ok(id), Ok(counter)) = (id.parse::<u8>(), counter.parse::<u32>()) else {
            return Ok(Err(CeremonyError::Malformed));
        };
        Ok(Ok(signed(id, counter)))
    }
}

/// A user with an authenticator app, enrolled at `T0`..`T0 + 30`.
pub fn with_app(world: &World, name: &str) -> (UserRecord, Totp) {
    let mut record = UserRecord::new(UserId::new(name));
    let secret = Secret::generate().unwrap();
    let sealed = PlaintextSealer.seal(record.user(), &secret).unwrap();
    let phone = Totp::new(&secret, TotpParams::DEFAULT);
    let started = flow::enrollment::start(&mut record, sealed, TotpParams::DEFAULT, name, &world.env(T0));
    assert!(started.outcome.is_ok());
    let codes = [phone.generate(T0).unwrap().to_string(), phone.generate(T0 + 30).unwrap().to_string()];
    let confirmed =
        flow::enrollment::confirm(&mut record, &phone, &[&codes[0], &codes[1]], &world.env(T0 + 30));
    assert!(confirmed.unwrap().outcome.is_ok());
    (record, phone)
}

/// Adds an authenticator app named `name`: started at `now - 30`, confirmed at `now`.
pub fn add_app(record: &mut UserRecord, world: &World, name: &str, now: u64) -> mfa_kit::Outcome<()> {
    let secret = Secret::generate().unwrap();
    let sealed = PlaintextSealer.seal(record.user(), &secret).unwrap();
    let phone = Totp::new(&secret, TotpParams::DEFAULT);
    let started =
        flow::enrollment::add(record, sealed, TotpParams::DEFAULT, name, name, &world.env(now - 30));
    started.outcome?;
    let codes = [phone.generate(now - 30).unwrap().to_string(), phone.generate(now).unwrap().to_string()];
    let confirmed =
        flow::enrollment::confirm(record, &phone, &[&codes[0], &codes[1]], &world.env(now)).unwrap();
    confirmed.outcome.map(drop)
}

/// Kay, whose only factor is a security key: the key `[1; 32]` ("YubiKey") registered
/// at `T0`..`T0 + 5`, and recovery codes generated under `key` at `T0 + 10`.
pub fn key_only_user(world: &World, key: &HashKey) -> (UserRecord, Vec<RecoveryCode>) {
    let mut record = UserRecord::new(UserId::new("kay"));
    let handle = security_key::user_handle(&record).unwrap();
    let started =
        security_key::start_registration(&mut record, "YubiKey", handle, "state".into(), &world.env(T0));
    started.outcome.unwrap();
    security_key::finish_registration(&mut record, Ok(new_key(1)), &world.env(T0 + 5))
        .unwrap()
        .outcome
        .unwrap();
    let codes = recovery::generate(&mut record, key, &world.env(T0 + 10)).unwrap().outcome.unwrap();
    (record, codes)
}
