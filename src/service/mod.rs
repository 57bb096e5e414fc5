//! The service: one driver of the transitions in [`crate::flow`], tying policy, store,
//! clock, sealer and audit together, one call a screen.
//!
//! Each call reads the clock, loads the user's record, runs one transition, and saves
//! the record only if nobody changed it meanwhile, with the transition's audit events
//! in the same atomic step; on a conflict it starts again (a bounded number of times).
//! So a code is accepted once however many app servers see it, every wrong code counts
//! exactly once towards the lockout, and the audit trail holds exactly the changes that
//! were made.
//!
//! Every call answers in two layers: `Err(`[`Error`]`)` when the infrastructure failed
//! (store, clock, sealer, sender: log it, show a generic error, let nobody in), and
//! otherwise an [`Outcome`](crate::Outcome): `Ok` with the result, or `Err(`[`Refusal`](crate::Refusal)`)` with a
//! sentence the user can be shown.

mod authenticator;
mod builder;
mod commit;
#[cfg(feature = "test-suite")]
pub mod conformance;
mod destination;
mod device;
mod disown;
mod enrollment;
mod error;
mod evidence;
#[cfg(feature = "export")]
mod export;
mod oversight;
pub mod permissions;
mod recovery;
mod retention;
mod secret_cache;
mod security_key;
mod sign_in;
mod step_up;

use std::sync::Arc;

pub use builder::{MfaServiceBuilder, ServiceConfig};
pub use enrollment::EnrollmentStart;
pub use error::Error;
pub use evidence::StatusPage;
#[cfg(feature = "export")]
pub use export::TrailExport;
pub use retention::PRUNE_BATCH;
pub use security_key::SecurityKeyOptions;

use self::commit::Which;
use self::secret_cache::SecretCache;
use crate::clock::Clock;
use crate::event::AuditSink;
use crate::flow::Env;
use crate::keyed_hash::HashKey;
use crate::policy::{Policy, SignInContext};
use crate::record::UserRecord;
use crate::seal::SecretSealer;
use crate::store::{Store, Version, Versioned};
use crate::vocabulary::UserId;

/// Multi-factor authentication for a host application, one call per screen.
///
/// ```
/// use mfa_kit::clock::ManualClock;
/// use mfa_kit::prelude::*;
/// use mfa_kit::danger::PlaintextSealer;
///
/// # pollster::block_on(async {
/// let clock = ManualClock::new(1_700_000_000);
/// let mfa = MfaService::builder("Acme Payroll", MemoryStore::new(), PlaintextSealer)
///     .clock(clock.clone())
///     .build();
/// let alice = UserId::new("alice");
/// let here = SignInContext::default();
///
/// // Enrollment: show the QR code, then take two consecutive codes from the app.
/// let start = mfa.start_enrollment(&alice, "alice@example.com", &here).await??;
/// let app = KeyUri::parse(&start.uri)?; // what the phone scanned
/// let phone = Totp::new(app.secret(), app.totp_params().unwrap());
/// let first = phone.generate(1_700_000_000)?.to_string();
/// clock.advance(30);
/// let second = phone.generate(1_700_000_030)?.to_string();
/// mfa.confirm_enrollment(&alice, &[&first, &second], &here).await??;
///
/// // Sign-in, after the password: ask for a code and check it.
/// clock.advance(30);
/// assert!(matches!(mfa.sign_in_decision(&alice, &here).await?, Ok(Decision::Challenge { .. })));
/// let code = phone.generate(1_700_000_060)?.to_string();
/// assert!(mfa.verify_code(&alice, &code, &here).await?.is_ok());
/// // The same code again is refused, with a sentence for the user.
/// let again = mfa.verify_code(&alice, &code, &here).await?;
/// assert!(matches!(again, Err(Refusal::CodeReused { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct MfaService<S, K> {
    store: S,
    sealer: K,
    opened: SecretCache,
    hash_key: Option<HashKey>,
    clock: Arc<dyn Clock>,
    /// Where stored events are pushed too, if anywhere.
    audit: Option<Arc<dyn AuditSink>>,
    policy: Arc<dyn Policy>,
    /// The WebAuthn relying party, if security keys are offered.
    relying_party: Option<Arc<dyn crate::relying_party::RelyingParty>>,
    config: ServiceConfig,
}

impl<S, K> std::fmt::Debug for MfaService<S, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaService").field("config", &self.config).finish_non_exhaustive()
    }
}

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// The settings.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The store (for hosts and tests that inspect it).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The user's record as stored, or a new empty one.
    ///
    /// # Errors
    /// [`Error::Store`], [`Error::UnsupportedRecordFormat`], [`Error::WrongUserRecord`].
    pub async fn record(&self, user: &UserId) -> Result<UserRecord, Error> {
        Ok(self.load(user).await?.1)
    }

    /// The clock's reading, refused past [`MAX_PLAUSIBLE_TIME`] so that a wild reading
    /// is never written into a record.
    fn now(&self) -> Result<u64, Error> {
        let now = self.clock.now()?;
        if now > MAX_PLAUSIBLE_TIME {
            return Err(Error::Clock(crate::clock::ClockError(format!(
                "the clock reads {now}, past the year 2100: refusing a time that would be kept"
            ))));
        }
        Ok(now)
    }

    fn env<'a>(&'a self, now: u64, context: &'a SignInContext) -> Env<'a> {
        Env::new(now, self.policy.as_ref(), context, &self.config.rules)
    }

    fn key(&self) -> Result<&HashKey, Error> {
        self.hash_key.as_ref().ok_or(Error::HashKeyMissing)
    }

    async fn load(&self, user: &UserId) -> Result<(Option<Version>, UserRecord), Error> {
        let loaded = self.store.load(user).await.map_err(store_error)?;
        checked(user, loaded)
    }
}

/// The record a store returned for `user`, checked: a record of a format this crate
/// does not know, or of another user, is refused; none is a new empty record.
fn checked(user: &UserId, loaded: Option<Versioned>) -> Result<(Option<Version>, UserRecord), Error> {
    let Some(Versioned { version, record }) = loaded else {
        return Ok((None, UserRecord::new(user.clone())));
    };
    match record_error(user, &record) {
        Some(error) => Err(error),
        None => Ok((Some(version), record)),
    }
}

/// Why `record`, stored under `user`, cannot be used: a format this version does not
/// read, or another user's record.
fn record_error(user: &UserId, record: &UserRecord) -> Option<Error> {
    if record.format() != UserRecord::FORMAT {
        return Some(Error::UnsupportedRecordFormat {
            found: record.format(),
            supported: UserRecord::FORMAT,
        });
    }
    (record.user() != user).then_some(Error::WrongUserRecord)
}

/// The latest clock reading the service accepts: 2100-01-01T00:00:00Z.
pub const MAX_PLAUSIBLE_TIME: u64 = 4_102_444_800;

fn store_error(error: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Store(Box::new(error))
}
