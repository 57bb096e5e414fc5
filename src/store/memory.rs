//! The embedded default store: records and their audit trail in memory, shared between
//! threads.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Mutex;

use super::{SaveOutcome, Store, Version, Versioned};
use crate::event::AuditEvent;
use crate::record::UserRecord;
use crate::vocabulary::UserId;

/// An in-memory [`Store`], safe to share between threads: records with their versions,
/// and every audit event saved with them. Everything is lost when it is dropped: for
/// tests, demos and single-process tools.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    records: HashMap<UserId, (Version, UserRecord)>,
    events: Vec<AuditEvent>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Every user with a record, sorted.
    pub fn users(&self) -> Vec<UserId> {
        let mut users: Vec<UserId> = self.lock().records.keys().cloned().collect();
        users.sort();
        users
    }

    /// Every audit event stored so far, oldest first.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.lock().events.clone()
    }

    /// The audit events about `user`, oldest first.
    pub fn events_for(&self, user: &UserId) -> Vec<AuditEvent> {
        self.lock().events.iter().filter(|e| &e.user == user).cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-written change: the record
        // is inserted and the events appended after everything that could fail.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for MemoryStore {
    type Error = Infallible;

    async fn load(&self, user: &UserId) -> Result<Option<Versioned>, Infallible> {
        Ok(self
            .lock()
            .records
            .get(user)
            .map(|(version, record)| Versioned { version: *version, record: record.clone() }))
    }

    async fn save(
        &self,
        record: &UserRecord,
        expected: Option<Version>,
        events: &[AuditEvent],
    ) -> Result<SaveOutcome, Infallible> {
        let mut inner = self.lock();
        let current = inner.records.get(record.user()).map(|(version, _)| *version);
        if current != expected {
            return Ok(SaveOutcome::Conflict);
        }
        let next = Version(current.map_or(1, |Version(v)| v.saturating_add(1)));
        inner.records.insert(record.user().clone(), (next, record.clone()));
        inner.events.extend_from_slice(events);
        Ok(SaveOutcome::Saved(next))
    }

    async fn append_events(&self, events: &[AuditEvent]) -> Result<(), Infallible> {
        self.lock().events.extend_from_slice(events);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_only_at_the_expected_version() {
        let store = MemoryStore::new();
        let alice = UserId::new("alice");
        let record = UserRecord::new(alice.clone());
        pollster::block_on(async {
            assert_eq!(store.load(&alice).await, Ok(None));
            assert_eq!(store.save(&record, Some(Version(1)), &[]).await, Ok(SaveOutcome::Conflict));
            assert_eq!(store.save(&record, None, &[]).await, Ok(SaveOutcome::Saved(Version(1))));
            assert_eq!(store.save(&record, None, &[]).await, Ok(SaveOutcome::Conflict));
            assert_eq!(store.save(&record, Some(Version(1)), &[]).await, Ok(SaveOutcome::Saved(Version(2))));
            assert_eq!(store.save(&record, Some(Version(1)), &[]).await, Ok(SaveOutcome::Conflict));
            let loaded = store.load(&alice).await.unwrap().unwrap();
            assert_eq!((loaded.version, loaded.record), (Version(2), record));
        });
        assert_eq!(store.users(), vec![alice]);
    }
}
