//! Optional reading traits a store can implement beside [`Store`]: a paged listing of
//! records for the admin status list, and the audit trail read back per user and per
//! time range.
//!
//! The service never needs them: they are for the host's admin screens and its
//! retention jobs. A practice with thousands of staff lists its users one page at a time
//! instead of loading one record per row; turn each listed record into a status row with
//! [`crate::flow::oversight::UserStatus::of`].
//!
//! Both listings are keyset-paged: a page says where the next one starts
//! ([`RecordPage::next`], [`AuditPage::next`]); pass it back as `after`. A cursor stays
//! valid while rows are added or changed, so paging never shows a row twice.

use std::future::Future;

use super::{Store, Versioned};
use crate::event::AuditEvent;
use crate::vocabulary::{OrgId, UserId};

/// The most rows a page holds, whatever the query asks for.
pub const MAX_PAGE: u32 = 1000;

/// Which records to list: those of one organisation, or whose user id starts with
/// `prefix`, or both, in ascending order of user id (compared byte by byte, as Rust
/// compares strings).
///
/// A record is listed under the organisation of the latest change made within one
/// ([`UserRecord::org`](crate::record::UserRecord::org)); a host whose users belong to
/// several organisations keeps the membership in its own tables and loads the few
/// records it needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "hosts build it with `..Default::default()` or its constructors, which keep working as fields are added"
)]
pub struct RecordQuery {
    /// Only records of this organisation; `None`: of any (and of none).
    pub org: Option<OrgId>,
    /// Only user ids that start with this; empty: every record.
    pub prefix: String,
    /// Only users without a primary second factor
    /// ([`UserRecord::has_mfa`](crate::record::UserRecord::has_mfa) false): the red
    /// crosses of the status list. Users who never had a record are not in the store
    /// at all; the host's own user table knows them.
    pub without_mfa: bool,
    /// Start after this user id: the [`RecordPage::next`] of the previous page.
    pub after: Option<UserId>,
    /// Rows per page, from 1 to [`MAX_PAGE`] (0 reads as 1, more as [`MAX_PAGE`]).
    pub limit: u32,
}

impl RecordQuery {
    /// The first page of records whose user id starts with `prefix`, `limit` rows long.
    pub fn prefix(prefix: impl Into<String>, limit: u32) -> RecordQuery {
        RecordQuery { org: None, prefix: prefix.into(), without_mfa: false, after: None, limit }
    }

    /// The first page of organisation `org`'s records, `limit` rows long.
    pub fn org(org: impl Into<OrgId>, limit: u32) -> RecordQuery {
        RecordQuery { org: Some(org.into()), prefix: String::new(), without_mfa: false, after: None, limit }
    }

    /// Whether `record` is one the query lists (leaving the cursor aside).
    pub fn matches(&self, record: &crate::record::UserRecord) -> bool {
        record.user().as_str().starts_with(&self.prefix)
            && self.org.as_ref().is_none_or(|org| record.org() == Some(org))
            && !(self.without_mfa && record.has_mfa())
    }

    /// The same query restricted to users without MFA.
    #[must_use]
    pub fn without_mfa(mut self) -> RecordQuery {
        self.without_mfa = true;
        self
    }

    /// The same query, starting after `cursor`.
    #[must_use]
    pub fn after(mut self, cursor: Option<UserId>) -> RecordQuery {
        self.after = cursor;
        self
    }

    /// The page length the query stands for: `limit` within 1..=[`MAX_PAGE`].
    pub fn page_len(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE) as usize
    }
}

/// One page of records.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "stores and relying parties outside this crate build it (mfa-kit-sqlx, mfa-kit-webauthn, hosts' own)"
)]
pub struct RecordPage {
    /// The records, in ascending order of user id, with their versions.
    pub records: Vec<Versioned>,
    /// Where the next page starts, or `None` if this was the last.
    pub next: Option<UserId>,
}

/// A paged listing of stored records, for the admin status list (R23).
///
/// # Contract
/// - Records come in ascending byte order of user id, only those matching the query,
///   each with the version it has at the time of reading.
/// - A page holds [`RecordQuery::page_len`] records unless it is the last; `next` is
///   `Some` exactly when more matching records may follow, and then it is the user id of
///   the page's last record.
/// - Listing changes nothing and takes no lock a save would wait on for long.
pub trait ListRecords: Store {
    /// One page of records matching `query`.
    fn list_records(
        &self,
        query: &RecordQuery,
    ) -> impl Future<Output = Result<RecordPage, Self::Error>> + Send;
}

/// Where an audit page starts: the time and id of the last event already read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(
    clippy::exhaustive_structs,
    reason = "stores and relying parties outside this crate build it (mfa-kit-sqlx, mfa-kit-webauthn, hosts' own)"
)]
pub struct AuditCursor {
    /// The event's time.
    pub at: u64,
    /// The event's id in the store.
    pub id: i64,
}

/// Which audit events to read: those with `from <= at < until`, optionally of one user
/// or of one organisation, in order of time and then of id ([`StoredEvent::id`]): one
/// user's events, and one save's, in the order they were stored; different users'
/// events of the same second in an order that stays the same from read to read (a
/// database's follows the order of storing; [`crate::store::MemoryStore`]'s need not).
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "hosts build it with `..Default::default()` or its constructors, which keep working as fields are added"
)]
pub struct AuditQuery {
    /// Only events about this user; `None`: everyone's.
    pub user: Option<UserId>,
    /// Only events filed under this organisation ([`AuditEvent::org`]); `None`: any.
    pub org: Option<OrgId>,
    /// The earliest time, inclusive (seconds since the Unix epoch).
    pub from: u64,
    /// The end of the range, exclusive.
    pub until: u64,
    /// Start after this event: the [`AuditPage::next`] of the previous page.
    pub after: Option<AuditCursor>,
    /// Events per page, from 1 to [`MAX_PAGE`] (0 reads as 1, more as [`MAX_PAGE`]).
    pub limit: u32,
}

impl AuditQuery {
    /// The first page of one user's events in `from..until`.
    pub fn user(user: UserId, from: u64, until: u64, limit: u32) -> AuditQuery {
        AuditQuery { user: Some(user), org: None, from, until, after: None, limit }
    }

    /// The first page of everyone's events in `from..until`.
    pub fn range(from: u64, until: u64, limit: u32) -> AuditQuery {
        AuditQuery { user: None, org: None, from, until, after: None, limit }
    }

    /// The first page of the events filed under organisation `org` in `from..until`.
    pub fn org(org: impl Into<OrgId>, from: u64, until: u64, limit: u32) -> AuditQuery {
        AuditQuery { user: None, org: Some(org.into()), from, until, after: None, limit }
    }

    /// Whether `event` is one the query reads (leaving the cursor aside).
    pub fn matches(&self, event: &AuditEvent) -> bool {
        self.from <= event.at
            && event.at < self.until
            && self.user.as_ref().is_none_or(|user| &event.user == user)
            && self.org.as_ref().is_none_or(|org| event.org() == Some(org))
    }

    /// The same query, starting after `cursor`.
    #[must_use]
    pub fn after(mut self, cursor: Option<AuditCursor>) -> AuditQuery {
        self.after = cursor;
        self
    }

    /// The page length the query stands for: `limit` within 1..=[`MAX_PAGE`].
    pub fn page_len(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE) as usize
    }
}

/// An audit event as stored, with the id the store gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "stores and relying parties outside this crate build it (mfa-kit-sqlx, mfa-kit-webauthn, hosts' own)"
)]
pub struct StoredEvent {
    /// The store's id of the event: unique, and larger for an event about the same user
    /// stored later. (Of different users' events, a database's ids may follow the order
    /// of storing; [`crate::store::MemoryStore`]'s, kept apart per shard, need not.)
    pub id: i64,
    /// The event.
    pub event: AuditEvent,
}

impl StoredEvent {
    /// The cursor that starts a page after this event.
    pub fn cursor(&self) -> AuditCursor {
        AuditCursor { at: self.event.at, id: self.id }
    }
}

/// One page of audit events.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "stores and relying parties outside this crate build it (mfa-kit-sqlx, mfa-kit-webauthn, hosts' own)"
)]
pub struct AuditPage {
    /// The events, ordered by time and then by id.
    pub events: Vec<StoredEvent>,
    /// Where the next page starts, or `None` if this was the last.
    pub next: Option<AuditCursor>,
}

/// Reading the audit trail back, per user and per time range, for the 12 months of
/// retention the ATO asks for.
///
/// # Contract
/// - Every event stored by [`Store::save`] or [`Store::append_events`] is readable,
///   field for field as it was given, in order of `(at, id)`; events of one save keep
///   their order.
/// - A page holds [`AuditQuery::page_len`] events unless it is the last; `next` is `Some`
///   exactly when more may follow, and then it is the cursor of the page's last event.
/// - Reading changes nothing. Pruning old events is the host's job, with its own
///   retention rule (see the store's documentation for the statement).
pub trait ReadAudit: Store {
    /// One page of the events matching `query`.
    fn read_audit(&self, query: &AuditQuery) -> impl Future<Output = Result<AuditPage, Self::Error>> + Send;
}

/// Deleting old audit events, for the retention job.
///
/// Call it through [`MfaService::prune_audit`](crate::service::MfaService::prune_audit),
/// which refuses to delete events younger than the retention the organisation's
/// presets require (12 months under the ATO's framework) and deletes in batches; this
/// method checks no retention.
///
/// # Contract
/// - Deletes up to `limit` events filed under `org` (`None`: events filed under no
///   organisation) with `at < before`, the oldest first, and returns how many it
///   deleted; fewer than `limit` means none such are left.
/// - Deletes no other event, and each call is short enough not to hold up saves for
///   long (one statement over at most `limit` rows).
pub trait PruneAudit: Store {
    /// Deletes up to `limit` of the oldest events of `org` before `before`.
    fn delete_audit_before(
        &self,
        org: Option<&OrgId>,
        before: u64,
        limit: u32,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;
}

impl<T: ListRecords + ?Sized> ListRecords for std::sync::Arc<T> {
    fn list_records(
        &self,
        query: &RecordQuery,
    ) -> impl Future<Output = Result<RecordPage, Self::Error>> + Send {
        (**self).list_records(query)
    }
}

impl<T: ReadAudit + ?Sized> ReadAudit for std::sync::Arc<T> {
    fn read_audit(&self, query: &AuditQuery) -> impl Future<Output = Result<AuditPage, Self::Error>> + Send {
        (**self).read_audit(query)
    }
}

impl<T: PruneAudit + ?Sized> PruneAudit for std::sync::Arc<T> {
    fn delete_audit_before(
        &self,
        org: Option<&OrgId>,
        before: u64,
        limit: u32,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send {
        (**self).delete_audit_before(org, before, limit)
    }
}

/// Cuts a sorted list of matches into a page of `len` and the cursor of the next one.
fn page<T, C>(mut items: Vec<T>, len: usize, cursor: impl Fn(&T) -> C) -> (Vec<T>, Option<C>) {
    let more = items.len() > len;
    items.truncate(len);
    let next = if more { items.last().map(cursor) } else { None };
    (items, next)
}

impl ListRecords for super::MemoryStore {
    async fn list_records(&self, query: &RecordQuery) -> Result<RecordPage, Self::Error> {
        let len = query.page_len();
        let mut records = Vec::new();
        for user in self.users() {
            if !user.as_str().starts_with(&query.prefix) || query.after.as_ref().is_some_and(|a| &user <= a) {
                continue;
            }
            let Some(versioned) = self.load(&user).await? else { continue };
            if !query.matches(&versioned.record) {
                continue;
            }
            records.push(versioned);
            if records.len() > len {
                break;
            }
        }
        let (records, next) = page(records, len, |v| v.record.user().clone());
        Ok(RecordPage { records, next })
    }
}

impl PruneAudit for super::MemoryStore {
    async fn delete_audit_before(
        &self,
        org: Option<&OrgId>,
        before: u64,
        limit: u32,
    ) -> Result<u64, Self::Error> {
        Ok(self.delete_events(|event| event.at < before && event.org() == org, limit as usize) as u64)
    }
}

impl ReadAudit for super::MemoryStore {
    async fn read_audit(&self, query: &AuditQuery) -> Result<AuditPage, Self::Error> {
        let mut events: Vec<StoredEvent> = self
            .numbered_events()
            .into_iter()
            .map(|(id, event)| StoredEvent { id: super::MemoryStore::event_id(id), event })
            .filter(|e| query.matches(&e.event))
            .filter(|e| query.after.is_none_or(|after| e.cursor() > after))
            .collect();
        events.sort_by_key(StoredEvent::cursor);
        let (events, next) = page(events, query.page_len(), StoredEvent::cursor);
        Ok(AuditPage { events, next })
    }
}
