//! The embedded default store: records and their audit trail in memory, shared between
//! threads.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Mutex;

use super::{InPlace, OrgSettingsStore, SaveOutcome, Store, Version, Versioned, VersionedSettings};
use crate::cache_line::CacheLine;
use crate::event::AuditEvent;
use crate::few::Few;
use crate::policy::OrgSettings;
use crate::record::UserRecord;
use crate::vocabulary::{UserId, UserIdHash};

/// An in-memory [`Store`], safe to share between threads: records with their versions,
/// and the audit events saved with them. Everything is lost when it is dropped: for
/// tests, demos and single-process tools.
///
/// The trail is bounded, so a long-running process does not grow without end: each of
/// the 16 shards keeps its newest [`MemoryStore::DEFAULT_AUDIT_CAPACITY`]` / 16` events
/// (about 16 MB each at most), dropping the oldest and counting them
/// ([`MemoryStore::dropped_events`]); [`MemoryStore::with_audit_capacity`] sets another
/// bound, or none. A trail that must be kept (the ATO asks for 12 months) belongs in a
/// database store.
///
/// Records are spread over 16 shards with a lock each, so threads serving different
/// users rarely wait for one another, and no counter is shared between them: each
/// event is kept in the shard of the user it is about, event ids are unique across the
/// store and increase with each user's events and within each save, and the trail
/// reads in order of time and then id, as [`super::ReadAudit`] promises (events of one
/// user, and of one save, in the order they were stored; of different users in the
/// same second, in an order that stays the same).
#[derive(Debug)]
pub struct MemoryStore {
    shards: Box<[CacheLine<Mutex<Shard>>]>,
    /// Organisations' settings with their versions ([`OrgSettingsStore`]).
    org_settings: Mutex<HashMap<String, (Version, OrgSettings)>>,
    /// The notice relays' cursors and queues ([`super::NoticeOutbox`]).
    notices: Mutex<super::notices::MemoryRelays>,
}

#[derive(Debug, Default)]
struct Shard {
    /// Records by their user id's hash, which each id carries: the id itself is kept
    /// once, in its record. Almost always one record a hash; two ids with the same 64-bit
    /// hash (vanishingly rare, but possible) share the list.
    records: HashMap<u64, Few<Stored>, UserIdHash>,
    /// Events with their ids.
    events: Trail,
    /// The id of the shard's next event: a count of its events times the number of
    /// shards, plus the shard's place, so ids are unique across shards and increase
    /// within each without a counter every thread writes to.
    next_id: u64,
}

/// A record with its version.
#[derive(Debug)]
struct Stored {
    version: Version,
    record: Box<UserRecord>,
}

impl Shard {
    /// The record of `user`, with its version.
    fn get(&self, user: &UserId) -> Option<&Stored> {
        self.records.get(&user.carried_hash())?.iter().find(|stored| stored.record.user() == user)
    }

    /// The record of `user`, with its version, to change.
    fn get_mut(&mut self, user: &UserId) -> Option<&mut Stored> {
        self.records.get_mut(&user.carried_hash())?.iter_mut().find(|stored| stored.record.user() == user)
    }

    /// Stores the record of a user who has none yet.
    fn insert(&mut self, stored: Stored) {
        self.records.entry(stored.record.user().carried_hash()).or_default().push(stored);
    }

    /// Appends `event` to the shard's trail with the shard's next id above `floor` (the
    /// id of the event before it in the same save, in another shard), so the events of
    /// one save read back in their order; returns its id. (An id passed over is never
    /// used: a relay reading the shard counts it as missed only if the shard dropped
    /// events for room past it.)
    fn append_above(&mut self, floor: Option<u64>, event: AuditEvent) -> u64 {
        let stride = MemoryStore::SHARDS as u64;
        let mut id = self.next_id;
        if let Some(floor) = floor.filter(|floor| *floor >= id) {
            id = id.saturating_add((floor - id) / stride * stride).saturating_add(stride);
        }
        self.next_id = id.saturating_add(stride);
        self.events.push((id, event));
        id
    }
}

/// The shards one write holds: the common case, one; or every shard its record and
/// events go to, locked in ascending order (as every write takes them), so that each
/// event is stored in its own user's shard and the save's events keep their order.
enum Held<'s> {
    One(std::sync::MutexGuard<'s, Shard>),
    Many(Vec<(usize, std::sync::MutexGuard<'s, Shard>)>),
}

impl Held<'_> {
    /// The shard of index `place`, which is held.
    fn shard(&mut self, place: usize) -> &mut Shard {
        match self {
            Held::One(shard) => shard,
            Held::Many(held) => match held.iter_mut().find(|(at, _)| *at == place) {
                Some((_, shard)) => shard,
                // Every shard a write touches is locked before it starts.
                None => unreachable!("shard {place} is not held"),
            },
        }
    }

    /// Appends `events`, each to its own user's shard, with ids in the order given.
    fn append(&mut self, events: Vec<AuditEvent>) {
        self.append_above(None, events);
    }

    /// As [`Held::append`], with ids above `floor` (the last id given to the events
    /// before them in the same change).
    fn append_above(&mut self, mut floor: Option<u64>, events: Vec<AuditEvent>) {
        for event in events {
            let shard = match self {
                // All in the one shard held: its ids increase as it goes.
                Held::One(shard) => &mut **shard,
                Held::Many(_) => self.shard(event.user.shard(MemoryStore::SHARDS)),
            };
            floor = Some(shard.append_above(floor, event));
        }
    }
}

/// An append-only list of events in chunks of fixed capacity: appending never moves
/// the events already stored (a single growing vector would copy the whole trail each
/// time it doubles). Beyond its capacity the oldest chunk is dropped and its memory
/// reused for the newest events.
#[derive(Debug, Default)]
struct Trail {
    chunks: std::collections::VecDeque<Vec<(u64, AuditEvent)>>,
    /// The most full chunks kept besides the one being filled; 0 for no limit.
    max_chunks: usize,
    dropped: u64,
    /// The newest id dropped to keep within the capacity (not by pruning).
    dropped_through: Option<u64>,
}

impl Trail {
    const CHUNK: usize = 256;

    fn push(&mut self, entry: (u64, AuditEvent)) {
        match self.chunks.back_mut() {
            Some(chunk) if chunk.len() < Trail::CHUNK => chunk.push(entry),
            _ => {
                let mut chunk = match self.chunks.len() {
                    full if self.max_chunks > 0 && full > self.max_chunks => {
                        let mut oldest = self.chunks.pop_front().unwrap_or_default();
                        self.dropped = self.dropped.saturating_add(oldest.len() as u64);
                        self.dropped_through = oldest.last().map(|(id, _)| *id).max(self.dropped_through);
                        oldest.clear();
                        oldest
                    }
                    _ => Vec::with_capacity(Trail::CHUNK),
                };
                chunk.push(entry);
                self.chunks.push_back(chunk);
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = &(u64, AuditEvent)> {
        self.chunks.iter().flatten()
    }

    /// Drops the events with the ids `chosen`; returns how many. The events left are
    /// packed into full chunks again (all but the last), so the bound, which counts
    /// chunks, keeps counting `CHUNK` events each: a chunk thinned by pruning and kept
    /// as it was would make the next drop take newer events than it should.
    fn delete(&mut self, chosen: &std::collections::HashSet<u64>) -> usize {
        let before: usize = self.chunks.iter().map(Vec::len).sum();
        if !self.chunks.iter().flatten().any(|(id, _)| chosen.contains(id)) {
            return 0;
        }
        let kept: Vec<(u64, AuditEvent)> = std::mem::take(&mut self.chunks)
            .into_iter()
            .flatten()
            .filter(|(id, _)| !chosen.contains(id))
            .collect();
        let deleted = before - kept.len();
        let mut kept = kept.into_iter().peekable();
        while kept.peek().is_some() {
            let mut chunk = Vec::with_capacity(Trail::CHUNK);
            chunk.extend(kept.by_ref().take(Trail::CHUNK));
            self.chunks.push_back(chunk);
        }
        deleted
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_audit_capacity(MemoryStore::DEFAULT_AUDIT_CAPACITY)
    }
}

impl MemoryStore {
    const SHARDS: usize = 16;

    /// How many audit events an in-memory store keeps by default: 1,048,576 (65,536 a
    /// shard).
    pub const DEFAULT_AUDIT_CAPACITY: usize = 1 << 20;

    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// An empty store that keeps up to about `capacity` audit events, spread over its
    /// 16 shards: the newest `capacity / 16` of each shard or more, since a shard keeps
    /// whole chunks of 256 events (its share rounded up to whole chunks, at least one,
    /// and the chunk being filled: a small capacity keeps up to 512 per shard). Each
    /// user's events are kept in that user's shard, so one user's events beyond about
    /// `capacity / 16` push out their own oldest (and other users' of the same shard):
    /// the bound is per shard, not for the whole store.
    /// `usize::MAX` keeps every event.
    pub fn with_audit_capacity(capacity: usize) -> MemoryStore {
        let per_shard = capacity / MemoryStore::SHARDS;
        let max_chunks = if capacity == usize::MAX { 0 } else { per_shard.div_ceil(Trail::CHUNK).max(1) };
        let shard = |place: usize| {
            let events = Trail { max_chunks, ..Trail::default() };
            CacheLine(Mutex::new(Shard { events, next_id: place as u64, ..Shard::default() }))
        };
        MemoryStore {
            shards: (0..MemoryStore::SHARDS).map(shard).collect(),
            org_settings: Mutex::default(),
            notices: Mutex::default(),
        }
    }

    /// How many audit events were dropped to keep the trail within its capacity.
    pub fn dropped_events(&self) -> u64 {
        self.shards.iter().map(|shard| lock(shard).events.dropped).sum()
    }

    /// Every user with a record, sorted.
    pub fn users(&self) -> Vec<UserId> {
        let mut users: Vec<UserId> = self
            .shards
            .iter()
            .flat_map(|shard| {
                let shard = lock(shard);
                shard.records.values().flatten().map(|s| s.record.user().clone()).collect::<Vec<_>>()
            })
            .collect();
        users.sort();
        users
    }

    /// Every audit event kept, with its id, in order of time and then id (the order
    /// of [`super::ReadAudit`]).
    pub(crate) fn numbered_events(&self) -> Vec<(u64, AuditEvent)> {
        let mut all: Vec<(u64, AuditEvent)> = self
            .shards
            .iter()
            .flat_map(|shard| lock(shard).events.iter().cloned().collect::<Vec<_>>())
            .collect();
        all.sort_by_key(|(id, event)| (event.at, *id));
        all
    }

    /// Deletes up to `limit` of the oldest events matching `doomed` (by time, across
    /// shards); returns how many.
    pub(crate) fn delete_events(&self, doomed: impl Fn(&AuditEvent) -> bool, limit: usize) -> usize {
        // The oldest `limit` matches, by (time, id), across shards.
        let mut matches: Vec<(u64, u64)> = self
            .shards
            .iter()
            .flat_map(|shard| {
                lock(shard)
                    .events
                    .iter()
                    .filter(|(_, e)| doomed(e))
                    .map(|(id, e)| (e.at, *id))
                    .collect::<Vec<_>>()
            })
            .collect();
        matches.sort_unstable();
        matches.truncate(limit);
        let chosen: std::collections::HashSet<u64> = matches.into_iter().map(|(_, id)| id).collect();
        self.shards.iter().map(|shard| lock(shard).events.delete(&chosen)).sum()
    }

    /// Every audit event kept, oldest first (in order of time and then id).
    pub fn events(&self) -> Vec<AuditEvent> {
        self.numbered_events().into_iter().map(|(_, event)| event).collect()
    }

    /// The audit events about `user`, oldest first.
    pub fn events_for(&self, user: &UserId) -> Vec<AuditEvent> {
        let shard = lock(self.shard_of(user));
        shard.events.iter().filter(|(_, e)| &e.user == user).map(|(_, e)| e.clone()).collect()
    }

    /// The notice relays' state.
    pub(crate) fn notice_relays(&self) -> &Mutex<super::notices::MemoryRelays> {
        self.refuse_reentry();
        &self.notices
    }

    /// How many shards the store has.
    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The id [`super::ReadAudit`] gives the event stored with the shard's id `raw`.
    pub(crate) fn event_id(raw: u64) -> i64 {
        i64::try_from(raw).unwrap_or(i64::MAX).saturating_add(1)
    }

    /// Up to `limit` events of shard `shard` with ids after `after`, in the order they
    /// were appended (which is the order of their ids), with their shard ids; whether
    /// more are left after them; and the newest id the shard dropped to keep within its
    /// capacity.
    pub(crate) fn shard_events_after(&self, shard: usize, after: Option<u64>, limit: usize) -> ShardRead {
        let shard = lock(&self.shards[shard]);
        let newer = |id: u64| after.is_none_or(|a| id > a);
        let chunks = &shard.events.chunks;
        // The first chunk holding a newer event; the chunks before hold only older ones.
        // Only the chunk being filled can be empty (pruning leaves it): it is the last,
        // so it counts as not older, or the search would skip newer chunks before it.
        let start = chunks.partition_point(|chunk| chunk.last().is_some_and(|(id, _)| !newer(*id)));
        let mut newer_events = chunks.iter().skip(start).flatten().filter(|(id, _)| newer(*id));
        let events: Vec<(u64, AuditEvent)> = newer_events.by_ref().take(limit).cloned().collect();
        let more = newer_events.next().is_some();
        ShardRead { events, more, dropped_through: shard.events.dropped_through }
    }

    fn shard_of(&self, user: &UserId) -> &CacheLine<Mutex<Shard>> {
        &self.shards[user.shard(MemoryStore::SHARDS)]
    }

    /// See [`Changing::refuse_reentry`]: for the locks beside the shards'.
    fn refuse_reentry(&self) {
        Changing::refuse_reentry(self.shards.as_ptr().addr());
    }
}

/// What a relay read of one shard ([`MemoryStore::shard_events_after`]).
pub(crate) struct ShardRead {
    /// The events, with their shard ids.
    pub(crate) events: Vec<(u64, AuditEvent)>,
    /// Whether newer events are left beyond the limit.
    pub(crate) more: bool,
    /// The newest id dropped to keep within the capacity, if any was.
    pub(crate) dropped_through: Option<u64>,
}

fn lock(shard: &CacheLine<Mutex<Shard>>) -> std::sync::MutexGuard<'_, Shard> {
    Changing::refuse_reentry(std::ptr::from_ref(shard).addr());
    // A panic while holding the lock cannot leave a half-written change: the record is
    // inserted and the events appended after everything that could fail.
    shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

thread_local! {
    /// The addresses of the shards of the store this thread is changing a record of in
    /// place ([`Store::change_in_place`]), if any.
    static CHANGING: std::cell::Cell<Option<(usize, usize)>> = const { std::cell::Cell::new(None) };
}

/// This thread is running a change in place of a store's record, until dropped (also
/// when the change panics).
struct Changing(Option<(usize, usize)>);

impl Changing {
    fn enter(store: &MemoryStore) -> Changing {
        let shards = store.shards.as_ptr_range();
        let range = (shards.start.addr(), shards.end.addr());
        Changing(CHANGING.with(|changing| changing.replace(Some(range))))
    }

    /// Panics if this thread is changing a record of the store whose shard (or, for
    /// the store's other locks, whose first shard) is at `address`: taking the lock
    /// would wait for ever on the lock the change holds.
    fn refuse_reentry(address: usize) {
        let inside =
            CHANGING.with(std::cell::Cell::get).is_some_and(|(start, end)| (start..end).contains(&address));
        assert!(
            !inside,
            "MemoryStore was called back while it changes a record in place: a Policy or \
             RelyingParty method called the service or the store, which would wait for ever \
             on the lock the change holds; answer from what the method is given instead"
        );
    }
}

impl Drop for Changing {
    fn drop(&mut self) {
        CHANGING.with(|changing| changing.set(self.0));
    }
}

/// Each call does its work when it is made, under a shard's lock that is never held
/// across an await; its future only hands over the result, so it is as small as the
/// result (a future that carried the record would be copied with it at every await).
impl Store for MemoryStore {
    type Error = Infallible;

    fn load(&self, user: &UserId) -> impl Future<Output = Result<Option<Versioned>, Infallible>> + Send {
        let shard = lock(self.shard_of(user));
        let loaded = shard.get(user).map(|s| Versioned { version: s.version, record: (*s.record).clone() });
        std::future::ready(Ok(loaded))
    }

    fn save(
        &self,
        record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> impl Future<Output = Result<SaveOutcome, Infallible>> + Send {
        std::future::ready(Ok(self.save_now(record, expected, events)))
    }

    fn append_events(&self, events: Vec<AuditEvent>) -> impl Future<Output = Result<(), Infallible>> + Send {
        if let Some(first) = events.first() {
            self.hold(&first.user, &events).1.append(events);
        }
        std::future::ready(Ok(()))
    }

    /// Under the lock of the user's shard, where the change's events about the user are
    /// kept too (an event about a user of another shard is kept in theirs right after,
    /// with a later id). A change that panics leaves the lock to the next call, which
    /// takes it all the same: the service's changes restore the record before panicking
    /// on. A change that calls this store back (a host's policy reading it) would wait
    /// for the lock it holds: the call panics instead, saying so.
    fn change_in_place<R>(
        &self,
        user: &UserId,
        change: impl FnOnce(&mut UserRecord) -> (R, InPlace),
    ) -> Option<R> {
        let place = user.shard(MemoryStore::SHARDS);
        let mut guard = lock(&self.shards[place]);
        let shard = &mut *guard;
        let stored = shard.get_mut(user)?;
        let (result, kept) = {
            let _changing = Changing::enter(self);
            change(&mut stored.record)
        };
        if kept.changed {
            stored.version = Version(stored.version.0.saturating_add(1));
        }
        // The events of the user's shard now, with the record; any about a user of
        // another shard right after, in that user's shard (its lock is not taken while
        // this one is held: every write takes shards in ascending order), with ids above.
        let (mut floor, mut elsewhere) = (None, Vec::new());
        for event in kept.events {
            if event.user == *user || event.user.shard(MemoryStore::SHARDS) == place {
                floor = Some(shard.append_above(floor, event));
            } else {
                elsewhere.push(event);
            }
        }
        drop(guard);
        if let Some(first) = elsewhere.first() {
            let (_, mut held) = self.hold(&first.user, &elsewhere);
            held.append_above(floor, elsewhere);
        }
        Some(result)
    }
}

/// Settings are kept under one lock, held while the change's events are appended (each
/// under its shard's lock, taken after it: nothing takes them the other way round), so
/// the settings and their events are stored together.
impl OrgSettingsStore for MemoryStore {
    fn load_org_settings(
        &self,
        org: &str,
    ) -> impl Future<Output = Result<Option<VersionedSettings>, Infallible>> + Send {
        self.refuse_reentry();
        let all = self.org_settings.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let loaded = all
            .get(org)
            .map(|(version, settings)| VersionedSettings { version: *version, settings: settings.clone() });
        std::future::ready(Ok(loaded))
    }

    fn save_org_settings(
        &self,
        org: &str,
        settings: OrgSettings,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> impl Future<Output = Result<SaveOutcome, Infallible>> + Send {
        // A panic while holding the lock cannot leave a half-written change: the
        // settings are written after the check, and nothing after them can fail.
        self.refuse_reentry();
        let mut all = self.org_settings.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let current = all.get(org).map(|(version, _)| *version);
        if current != expected {
            return std::future::ready(Ok(SaveOutcome::Conflict));
        }
        let next = Version(current.map_or(1, |v| v.0.saturating_add(1)));
        all.insert(org.to_string(), (next, settings));
        if let Some(first) = events.first() {
            self.hold(&first.user, &events).1.append(events);
        }
        drop(all);
        std::future::ready(Ok(SaveOutcome::Saved(next)))
    }
}

impl MemoryStore {
    /// [`Store::save`], done at once.
    fn save_now(
        &self,
        mut record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> SaveOutcome {
        // `record` ends up holding the record it replaced, dropped in place when this
        // returns, after the locks are released.
        let (home, mut held) = self.hold(record.user(), &events);
        let shard = held.shard(home);
        let next = match shard.get_mut(record.user()) {
            Some(stored) if Some(stored.version) != expected => return SaveOutcome::Conflict,
            None if expected.is_some() => return SaveOutcome::Conflict,
            Some(stored) => {
                stored.version = Version(stored.version.0.saturating_add(1));
                // In place: `record` now holds the one replaced.
                std::mem::swap(&mut *stored.record, &mut record);
                stored.version
            }
            None => {
                shard.insert(Stored { version: Version(1), record: Box::new(record) });
                held.append(events);
                return SaveOutcome::Saved(Version(1));
            }
        };
        held.append(events);
        drop(held);
        SaveOutcome::Saved(next)
    }

    /// Locks the shard of `home` and those of `events`' users: one lock when they are
    /// all in it (nearly always: the events are about `home`), else each of them once, in
    /// ascending order. Answers `home`'s shard with the locks.
    fn hold(&self, home: &UserId, events: &[AuditEvent]) -> (usize, Held<'_>) {
        let place = home.shard(MemoryStore::SHARDS);
        let elsewhere =
            |event: &AuditEvent| event.user != *home && event.user.shard(MemoryStore::SHARDS) != place;
        if !events.iter().any(elsewhere) {
            return (place, Held::One(lock(&self.shards[place])));
        }
        let mut places: Vec<usize> =
            events.iter().map(|event| event.user.shard(MemoryStore::SHARDS)).collect();
        places.push(place);
        places.sort_unstable();
        places.dedup();
        (place, Held::Many(places.into_iter().map(|at| (at, lock(&self.shards[at]))).collect()))
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
            assert_eq!(store.save(record.clone(), Some(Version(1)), vec![]).await, Ok(SaveOutcome::Conflict));
            assert_eq!(store.save(record.clone(), None, vec![]).await, Ok(SaveOutcome::Saved(Version(1))));
            assert_eq!(store.save(record.clone(), None, vec![]).await, Ok(SaveOutcome::Conflict));
            assert_eq!(
                store.save(record.clone(), Some(Version(1)), vec![]).await,
                Ok(SaveOutcome::Saved(Version(2)))
            );
            assert_eq!(store.save(record.clone(), Some(Version(1)), vec![]).await, Ok(SaveOutcome::Conflict));
            let loaded = store.load(&alice).await.unwrap().unwrap();
            assert_eq!((loaded.version, loaded.record), (Version(2), record));
        });
        assert_eq!(store.users(), vec![alice]);
    }

    #[test]
    fn users_whose_ids_share_a_hash_keep_their_own_records() {
        let stored =
            |name: &str| Stored { version: Version(1), record: Box::new(UserRecord::new(UserId::new(name))) };
        let (alice, bob, carol) = (UserId::new("alice"), UserId::new("bob"), UserId::new("carol"));
        // Three users filed under one hash, as ids whose hashes collide would be.
        let mut shard = Shard::default();
        shard.records.insert(alice.carried_hash(), Few::from(stored("alice")));
        let same = shard.records.get_mut(&alice.carried_hash()).expect("filed");
        same.push(stored("bob"));
        same.push(stored("carol"));
        assert!(shard.get(&bob).is_none(), "bob is looked up under his own hash, where there is nothing");
        let same = shard.records.get_mut(&alice.carried_hash()).expect("filed");
        for user in [&alice, &bob, &carol] {
            let found = same.iter_mut().find(|s| s.record.user() == user).expect("held");
            assert_eq!(found.record.user(), user);
            found.version = Version(7);
        }
        assert_eq!(shard.get(&alice).map(|s| s.version), Some(Version(7)), "alice found among the three");
        assert!(shard.get(&UserId::new("dave")).is_none());
    }

    #[test]
    fn the_trail_keeps_its_newest_events_within_its_capacity_and_counts_the_rest() {
        let store = MemoryStore::with_audit_capacity(16 * 256);
        let alice = UserId::new("alice");
        let event = |at| {
            let kind = crate::event::EventKind::LockoutEnded;
            AuditEvent::new(&alice, &alice, at, &crate::vocabulary::RequestContext::default(), kind)
        };
        pollster::block_on(async {
            for at in 0..1000 {
                store.append_events(vec![event(at)]).await.unwrap();
            }
        });
        let kept = store.events_for(&alice);
        assert_eq!(kept.len() as u64 + store.dropped_events(), 1000);
        assert!((256..=512).contains(&kept.len()), "one full chunk a shard and the one being filled");
        assert_eq!(
            kept.first().map(|e| e.at),
            Some(1000 - kept.len() as u64),
            "the newest are kept, in order"
        );
        assert_eq!(kept.last().map(|e| e.at), Some(999));
        let unbounded = MemoryStore::with_audit_capacity(usize::MAX);
        pollster::block_on(async {
            for at in 0..1000 {
                unbounded.append_events(vec![event(at)]).await.unwrap();
            }
        });
        assert_eq!((unbounded.events().len(), unbounded.dropped_events()), (1000, 0));
    }
}
