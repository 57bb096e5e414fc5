//! Where the per-user records live: a small async trait the host implements.
//!
//! Every change to a record is a compare-and-swap: load the record with its version,
//! change it, save it only if the version is still the one loaded. Every real database
//! has this (`UPDATE … WHERE version = $n` in SQL, `WATCH`/`MULTI` in Redis, a condition
//! expression in DynamoDB), and it is what keeps replay prevention and lockout counting
//! exact when many app servers verify codes for the same user at the same moment.

#[cfg(feature = "test-suite")]
pub mod conformance;
mod listing;
mod memory;
mod notices;

use std::future::Future;

pub use listing::{
    AuditCursor, AuditPage, AuditQuery, ListRecords, MAX_PAGE, PruneAudit, ReadAudit, RecordPage,
    RecordQuery, StoredEvent,
};
pub use memory::MemoryStore;
pub use notices::{
    Claimed, ClaimedNotice, FailingNotice, MAX_ERROR_LEN, MAX_INTAKE, NoticeClaim, NoticeOutbox, NoticeStats,
    error_text,
};

use crate::event::AuditEvent;
use crate::policy::OrgSettings;
use crate::record::UserRecord;
use crate::vocabulary::UserId;

/// The version of a stored record, changed by every save.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::exhaustive_structs, reason = "a marker or a one-field newtype: there is nothing to add")]
pub struct Version(pub u64);

/// A record and the version it was loaded at.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "stores and relying parties outside this crate build it (mfa-kit-sqlx, mfa-kit-webauthn, hosts' own)"
)]
pub struct Versioned {
    /// The version to pass back to [`Store::save`].
    pub version: Version,
    /// The record.
    pub record: UserRecord,
}

/// What a conditional save did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a conflict means nothing was saved"]
#[allow(
    clippy::exhaustive_enums,
    reason = "the two sides of a yes-or-no answer; a third would change every caller's logic on purpose"
)]
pub enum SaveOutcome {
    /// Saved; the record now has this version.
    Saved(Version),
    /// The record changed since it was loaded (or appeared, or vanished): nothing was
    /// saved. The service loads it again and retries.
    Conflict,
}

/// The host's storage of per-user records and of the audit trail.
///
/// # Contract
/// - `load` returns the record last saved for the user with its version, or `None` if
///   none was ever saved.
/// - `save` takes the record: the service has no use for it afterwards, so a store
///   that keeps records in memory keeps it as it is, without a copy.
/// - `save(record, Some(v), events)` writes only if the stored version is still `v`, and
///   `save(record, None, events)` only if no record exists. The check, the write of the
///   record and the append of `events` are one atomic step (one transaction, the
///   transactional-outbox pattern): either the record and every event are stored, or
///   nothing is. Otherwise it returns [`SaveOutcome::Conflict`] and changes nothing.
/// - A successful save gives the record a version it never had before.
/// - `append_events` stores events that describe no change to a record (a refused
///   sign-in, a refused reset, a settings change), all of them or none.
/// - An `Err` means the store failed; the service then lets nobody in and reports the
///   error. It must not mean "conflict". A store that cannot tell whether a write
///   committed (the reply was lost) returns `Err`: the service does not retry it.
/// - `change_in_place` is for a store that keeps records in this process, as
///   [`MemoryStore`] does; any other leaves it out (it answers `None`). A store that
///   offers it runs the change on the stored record under the lock that guards it, and
///   keeps what the change answers ([`InPlace`]) in the same step: the record as the
///   change left it (with a new version if it changed) and the events appended, so no
///   other call sees the record between the change and its events.
///
/// Methods take `&self` and return `Send` futures, so a store is shared between tasks
/// and threads; the library needs no async runtime.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use mfa_kit::event::AuditEvent;
/// use mfa_kit::UserId;
/// use mfa_kit::record::UserRecord;
/// use mfa_kit::store::{SaveOutcome, Store, Version, Versioned};
///
/// /// A store over a map; a database would do the same with `WHERE version = $n` and
/// /// the audit rows inserted in the same transaction.
/// #[derive(Default)]
/// struct MapStore(Mutex<(HashMap<UserId, (u64, String)>, Vec<String>)>);
///
/// impl Store for MapStore {
///     type Error = serde_json::Error;
///
///     async fn load(&self, user: &UserId) -> Result<Option<Versioned>, Self::Error> {
///         let db = self.0.lock().unwrap();
///         let Some((version, json)) = db.0.get(user) else { return Ok(None) };
///         Ok(Some(Versioned { version: Version(*version), record: serde_json::from_str(json)? }))
///     }
///
///     async fn save(
///         &self,
///         record: UserRecord,
///         expected: Option<Version>,
///         events: Vec<AuditEvent>,
///     ) -> Result<SaveOutcome, Self::Error> {
///         // Serialise everything first, so a failure writes nothing.
///         let json = serde_json::to_string(&record)?;
///         let rows = events.iter().map(serde_json::to_string).collect::<Result<Vec<_>, _>>()?;
///         let mut db = self.0.lock().unwrap();
///         let current = db.0.get(record.user()).map(|(version, _)| Version(*version));
///         if current != expected {
///             return Ok(SaveOutcome::Conflict);
///         }
///         let next = current.map_or(1, |v| v.0 + 1);
///         db.0.insert(record.user().clone(), (next, json));
///         db.1.extend(rows);
///         Ok(SaveOutcome::Saved(Version(next)))
///     }
///
///     async fn append_events(&self, events: Vec<AuditEvent>) -> Result<(), Self::Error> {
///         let rows = events.iter().map(serde_json::to_string).collect::<Result<Vec<_>, _>>()?;
///         self.0.lock().unwrap().1.extend(rows);
///         Ok(())
///     }
/// }
/// ```
pub trait Store: Send + Sync {
    /// The store's own error; reported inside [`crate::service::Error::Store`].
    type Error: std::error::Error + Send + Sync + 'static;

    /// Loads a user's record with its version.
    fn load(&self, user: &UserId) -> impl Future<Output = Result<Option<Versioned>, Self::Error>> + Send;

    /// Saves the record and appends `events`, in one atomic step, if the stored version
    /// is still `expected` (`None`: no record yet).
    fn save(
        &self,
        record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> impl Future<Output = Result<SaveOutcome, Self::Error>> + Send;

    /// Appends events that describe no change to a record.
    fn append_events(&self, events: Vec<AuditEvent>) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Runs `change` on `user`'s stored record where the store keeps it, under the
    /// store's own lock, and keeps what it answers ([`InPlace`]) in the same step: one
    /// look-up, no copy of the record out and back. For a store that keeps records in
    /// this process; `None` (the default) where the store cannot, or has no record of
    /// `user`: the caller loads and saves instead. `change` runs synchronously while
    /// the lock is held, and must leave the record as it found it unless it keeps it
    /// changed ([`InPlace::changed`]).
    fn change_in_place<R>(
        &self,
        user: &UserId,
        change: impl FnOnce(&mut UserRecord) -> (R, InPlace),
    ) -> Option<R> {
        let _ = (user, change);
        None
    }
}

/// What [`Store::change_in_place`] keeps of a change, besides the record as the change
/// left it.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct InPlace {
    /// The record changed: it gets a version it never had before.
    pub changed: bool,
    /// The events to append, in order (about the record's user, as the service's are;
    /// a store keeps an event about another user in that user's trail).
    pub events: Vec<AuditEvent>,
}

impl InPlace {
    /// Keeps the record (changed or not) and appends `events`.
    pub fn keep(changed: bool, events: Vec<AuditEvent>) -> InPlace {
        InPlace { changed, events }
    }
}

/// A shared store is a store: several services (say, one per sealing key during a
/// rotation) can work on the same records.
impl<T: Store + ?Sized> Store for std::sync::Arc<T> {
    type Error = T::Error;

    fn load(&self, user: &UserId) -> impl Future<Output = Result<Option<Versioned>, Self::Error>> + Send {
        (**self).load(user)
    }

    fn save(
        &self,
        record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> impl Future<Output = Result<SaveOutcome, Self::Error>> + Send {
        (**self).save(record, expected, events)
    }

    fn append_events(&self, events: Vec<AuditEvent>) -> impl Future<Output = Result<(), Self::Error>> + Send {
        (**self).append_events(events)
    }

    fn change_in_place<R>(
        &self,
        user: &UserId,
        change: impl FnOnce(&mut UserRecord) -> (R, InPlace),
    ) -> Option<R> {
        (**self).change_in_place(user, change)
    }
}

/// An organisation's settings and the version they were loaded at.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "stores and relying parties outside this crate build it (mfa-kit-sqlx, mfa-kit-webauthn, hosts' own)"
)]
pub struct VersionedSettings {
    /// The version to pass back to [`OrgSettingsStore::save_org_settings`].
    pub version: Version,
    /// The settings.
    pub settings: OrgSettings,
}

/// A store that also keeps organisations' MFA settings, so that a change of settings
/// and the event that records it are one atomic write, as a record change and its
/// events are. Optional: a host that keeps settings in its own tables implements only
/// [`Store`] and writes the settings itself (see
/// [`crate::service::MfaService::change_org_settings`]).
///
/// # Contract
/// The same as [`Store`]'s for records, with the organisation's id (the host's, compared
/// exactly) in place of the user:
/// - `load_org_settings` returns the settings last saved for the organisation with
///   their version, or `None` if none were ever saved.
/// - `save_org_settings(org, settings, Some(v), events)` writes only if the stored
///   version is still `v`, and with `None` only if the organisation has no settings
///   yet. The check, the write of the settings and the append of `events` are one
///   atomic step: either the settings and every event are stored, or nothing is.
///   Otherwise it returns [`SaveOutcome::Conflict`] and changes nothing.
/// - A successful save gives the settings a version they never had before.
/// - An `Err` means the store failed, never a conflict; a store that cannot tell
///   whether the write committed (the reply was lost) returns `Err`, and the service
///   does not retry it.
///
/// The conformance suite's `run_org_settings` (feature `test-suite`) checks it.
pub trait OrgSettingsStore: Store {
    /// Loads an organisation's settings with their version.
    fn load_org_settings(
        &self,
        org: &str,
    ) -> impl Future<Output = Result<Option<VersionedSettings>, Self::Error>> + Send;

    /// Saves an organisation's settings and appends `events`, in one atomic step, if the
    /// stored version is still `expected` (`None`: no settings yet).
    fn save_org_settings(
        &self,
        org: &str,
        settings: OrgSettings,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> impl Future<Output = Result<SaveOutcome, Self::Error>> + Send;
}

impl<T: OrgSettingsStore + ?Sized> OrgSettingsStore for std::sync::Arc<T> {
    fn load_org_settings(
        &self,
        org: &str,
    ) -> impl Future<Output = Result<Option<VersionedSettings>, Self::Error>> + Send {
        (**self).load_org_settings(org)
    }

    fn save_org_settings(
        &self,
        org: &str,
        settings: OrgSettings,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> impl Future<Output = Result<SaveOutcome, Self::Error>> + Send {
        (**self).save_org_settings(org, settings, expected, events)
    }
}
