//! The outbox of security notices: the store's side of the notice relay
//! ([`crate::relay::NoticeRelay`]).
//!
//! Audit events are stored in the same atomic step as the record change they describe;
//! those of them the user must be told of ([`EventKind::security_notice`]) are the
//! outbox. A relay has a name (one per channel: `"email"`, `"sms"`), and for each name
//! the store keeps, in its own tables:
//!
//! - a cursor in the audit trail: every event after it is still to be read;
//! - a queue of the notices read but not yet delivered, each with its attempts, when it
//!   may next be tried, the lease of the relay trying it, and the last error.
//!
//! [`NoticeOutbox::claim_notices`] moves the cursor over the newly committed events and
//! queues their notices in one transaction, then leases the due ones to the caller.
//! Delivery ends with [`NoticeOutbox::ack_notice`] (the notice leaves the queue) or
//! [`NoticeOutbox::retry_notice`] (it is tried again later). A relay that dies with a
//! lease leaves the notice in the queue, and once the lease has expired another relay
//! claims it: at least once. Leases keep two live relays from claiming the same notice.
//!
//! [`EventKind::security_notice`]: crate::event::EventKind::security_notice

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::future::Future;

use super::listing::StoredEvent;
use super::memory::ShardRead;
use super::{MemoryStore, Store};
use crate::event::SecurityNotice;

/// The most events one claim reads from the trail after the cursor (the rest are read
/// by the next claims).
pub const MAX_INTAKE: u32 = 1000;

/// The longest error text kept with a notice, in bytes; longer texts are cut at a
/// character boundary.
pub const MAX_ERROR_LEN: usize = 500;

/// What a relay asks of [`NoticeOutbox::claim_notices`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "stores and relying parties outside this crate build it (mfa-kit-sqlx, mfa-kit-webauthn, hosts' own)"
)]
pub struct NoticeClaim {
    /// The relay's time (seconds since the Unix epoch): notices due at or before it
    /// whose lease (if any) ended at or before it can be claimed.
    pub now: u64,
    /// When the lease of the claimed notices ends.
    pub lease_until: u64,
    /// The most notices to claim (0 reads as 1, more than [`super::MAX_PAGE`] as that).
    pub limit: u32,
    /// The claim's token, chosen at random by the relay: only this claim can report a
    /// failed delivery of the notices it got ([`NoticeOutbox::retry_notice`]).
    pub token: u64,
}

impl NoticeClaim {
    /// The number of notices the claim stands for: `limit` within 1..=`MAX_PAGE`.
    pub fn len(&self) -> usize {
        self.limit.clamp(1, super::MAX_PAGE) as usize
    }

    /// Never: a claim asks for at least one notice.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// A security notice leased to a relay for delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "stores and relying parties outside this crate build it (mfa-kit-sqlx, mfa-kit-webauthn, hosts' own)"
)]
pub struct ClaimedNotice {
    /// The event, with its id in the store: the idempotency key of the notice.
    pub event: StoredEvent,
    /// What the user is to be told.
    pub notice: SecurityNotice,
    /// Which claim of this notice this is: 1 for the first (see
    /// [`crate::relay::Notice::attempt`]).
    pub attempt: u32,
}

/// What a claim got.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "stores and relying parties outside this crate build it (mfa-kit-sqlx, mfa-kit-webauthn, hosts' own)"
)]
pub struct Claimed {
    /// The notices leased to the claim, oldest event id first.
    pub notices: Vec<ClaimedNotice>,
    /// How many events of the trail the claim read (and moved the cursor over).
    pub read: usize,
    /// Whether the relay's cursor reached the end of the trail as committed when the
    /// claim read it: `false` when committed events are still to be read, because the
    /// claim read its most ([`MAX_INTAKE`]), or another claim of the relay was reading,
    /// or (PostgreSQL) a transaction still open holds reading back.
    pub caught_up: bool,
}

/// A notice whose deliveries failed, for operators.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "stores and relying parties outside this crate build it (mfa-kit-sqlx, mfa-kit-webauthn, hosts' own)"
)]
pub struct FailingNotice {
    /// The event, with its id in the store.
    pub event: StoredEvent,
    /// What the user is to be told.
    pub notice: SecurityNotice,
    /// How many times it was claimed for delivery: the deliveries tried, and claims
    /// handed back untried (a lease that ended first, a clock that failed).
    pub attempts: u32,
    /// When it may next be tried (seconds since the Unix epoch).
    pub next_attempt_at: u64,
    /// The error of the last failed delivery, as the relay reported it.
    pub last_error: String,
}

/// How a relay's queue stands, for operators and alerts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "stores and relying parties outside this crate build it (mfa-kit-sqlx, mfa-kit-webauthn, hosts' own)"
)]
pub struct NoticeStats {
    /// Notices read from the trail and not yet delivered.
    pub pending: u64,
    /// Of those, the ones whose last delivery failed.
    pub failing: u64,
    /// The most attempts any pending notice has had.
    pub most_attempts: u32,
    /// The time of the oldest pending notice's event.
    pub oldest_at: Option<u64>,
    /// Events that left the trail before this relay read them (a bounded in-memory
    /// trail that overflowed): some may have been notices, which were never queued.
    /// Always 0 on a store that keeps its trail; events deleted by
    /// [`crate::service::MfaService::prune_audit`] before a relay read them are not
    /// counted here (prune only what the relays are long past). On a
    /// [`crate::store::MemoryStore`] it is an upper bound: the ids the relay's cursor
    /// passes over up to the newest id its shard dropped for room, which in that range
    /// also takes in events pruned before the drop and ids a save spanning shards left
    /// unused.
    pub missed: u64,
}

/// The store's side of the notice relay: a durable cursor per relay name in the audit
/// trail, and a queue of notices with leases.
///
/// # Contract
/// - `claim_notices(relay, claim)` first reads events committed after the relay's
///   cursor, in the trail's commit order, up to [`MAX_INTAKE`] of them; queues those
///   with a [`SecurityNotice`] (attempts 0, due at once) and moves the cursor past the
///   events read, in one atomic step. Every event a save or an append committed is read
///   exactly once per relay name, also those stored before the relay first ran; an
///   event that commits after a later-numbered one is not passed over. A store may skip
///   this step when another claim of the same relay is doing it at that moment.
///   [`Claimed::caught_up`] says whether the cursor reached the end of the trail.
/// - It then leases to the caller up to [`NoticeClaim::len`] queued notices that are
///   due (`next attempt <= now`) and not leased (`lease end <= now`), oldest event id
///   first: each gets one more attempt, the lease end `lease_until` and the claim's
///   token. Two claims never get the same notice unless the lease of the first has
///   ended by the `now` of the second.
/// - `ack_notice` removes the notice from the relay's queue: it was delivered. Removing
///   one already gone is not an error.
/// - `retry_notice` applies only while the notice is still leased under `token`: its
///   lease ends, it is due again at `retry_at`, and `error` is kept as its last error
///   (cut to [`MAX_ERROR_LEN`] bytes). Returns whether it applied.
/// - Nothing leaves a queue but by `ack_notice`: a notice that keeps failing stays,
///   counted in [`NoticeStats`] and listed by `failing_notices`.
/// - Relay names are compared exactly; each has its own cursor and queue.
/// - An `Err` means the store failed; a claim that failed leased nothing (or, if its
///   reply was lost, leases that expire).
///
/// The conformance suite's `run_notice_outbox` (feature `test-suite`) checks it.
pub trait NoticeOutbox: Store {
    /// Queues the notices committed since the relay's cursor, then leases due ones.
    fn claim_notices(
        &self,
        relay: &str,
        claim: &NoticeClaim,
    ) -> impl Future<Output = Result<Claimed, Self::Error>> + Send;

    /// Removes a delivered notice from the relay's queue.
    fn ack_notice(&self, relay: &str, event_id: i64) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Reschedules a notice whose delivery failed, if it is still leased under `token`.
    fn retry_notice(
        &self,
        relay: &str,
        event_id: i64,
        token: u64,
        retry_at: u64,
        error: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// How the relay's queue stands.
    fn notice_stats(&self, relay: &str) -> impl Future<Output = Result<NoticeStats, Self::Error>> + Send;

    /// Up to `limit` queued notices whose last delivery failed, most attempts first
    /// (`limit` from 1 to [`MAX_PAGE`](super::MAX_PAGE): 0 reads as 1).
    fn failing_notices(
        &self,
        relay: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<FailingNotice>, Self::Error>> + Send;
}

impl<T: NoticeOutbox + ?Sized> NoticeOutbox for std::sync::Arc<T> {
    fn claim_notices(
        &self,
        relay: &str,
        claim: &NoticeClaim,
    ) -> impl Future<Output = Result<Claimed, Self::Error>> + Send {
        (**self).claim_notices(relay, claim)
    }

    fn ack_notice(&self, relay: &str, event_id: i64) -> impl Future<Output = Result<(), Self::Error>> + Send {
        (**self).ack_notice(relay, event_id)
    }

    fn retry_notice(
        &self,
        relay: &str,
        event_id: i64,
        token: u64,
        retry_at: u64,
        error: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        (**self).retry_notice(relay, event_id, token, retry_at, error)
    }

    fn notice_stats(&self, relay: &str) -> impl Future<Output = Result<NoticeStats, Self::Error>> + Send {
        (**self).notice_stats(relay)
    }

    fn failing_notices(
        &self,
        relay: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<FailingNotice>, Self::Error>> + Send {
        (**self).failing_notices(relay, limit)
    }
}

/// `error` cut to at most [`MAX_ERROR_LEN`] bytes, at a character boundary.
pub fn error_text(error: &str) -> &str {
    if error.len() <= MAX_ERROR_LEN {
        return error;
    }
    let mut end = MAX_ERROR_LEN;
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    &error[..end]
}

/// The relays of a [`MemoryStore`]: a cursor per shard and a queue, per relay name.
#[derive(Debug, Default)]
pub(crate) struct MemoryRelays(HashMap<String, MemoryRelay>);

#[derive(Debug, Default)]
struct MemoryRelay {
    /// The raw id of the last event read, per shard.
    cursors: Vec<Option<u64>>,
    queue: BTreeMap<i64, Queued>,
    missed: u64,
}

#[derive(Debug)]
struct Queued {
    event: StoredEvent,
    notice: SecurityNotice,
    attempts: u32,
    next_at: u64,
    lease_until: u64,
    token: u64,
    last_error: Option<String>,
}

impl MemoryStore {
    fn relays(&self) -> std::sync::MutexGuard<'_, MemoryRelays> {
        // Every change below is made after everything that could fail.
        self.notice_relays().lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Each shard's events are read in the order they were appended (their ids grow with
/// it) after the relay's cursor for that shard, under the relays' lock (taken before
/// any shard's, as nothing takes them the other way round). The shards' events are
/// taken smallest id first across the shards: each shard numbers its own, so this is
/// the commit order within a shard and within one save, and between shards an order
/// in which a busy shard never holds back another's older events. A bounded trail that
/// dropped events the relay had not read counts them in [`NoticeStats::missed`].
impl NoticeOutbox for MemoryStore {
    fn claim_notices(
        &self,
        relay: &str,
        claim: &NoticeClaim,
    ) -> impl Future<Output = Result<Claimed, Infallible>> + Send {
        let mut relays = self.relays();
        let state = relays.0.entry(relay.to_string()).or_default();
        let shards = self.shard_count();
        state.cursors.resize(shards, None);
        // Each shard's newer events, up to the whole intake each; then the intake's worth
        // of them, smallest id first across the shards, so a busy shard does not hold
        // back a quiet one's older events.
        let reads: Vec<ShardRead> = (0..shards)
            .map(|shard| self.shard_events_after(shard, state.cursors[shard], MAX_INTAKE as usize))
            .collect();
        let mut taken = vec![0usize; shards];
        let mut read = 0;
        while read < MAX_INTAKE as usize {
            let next = (0..shards)
                .filter_map(|shard| reads[shard].events.get(taken[shard]).map(|(raw, _)| (*raw, shard)))
                .min();
            let Some((_, shard)) = next else { break };
            taken[shard] += 1;
            read += 1;
        }
        let mut left_behind = false;
        for (shard, read) in reads.into_iter().enumerate() {
            let after = state.cursors[shard];
            left_behind |= read.more || taken[shard] < read.events.len();
            if taken[shard] == 0 {
                continue;
            }
            // Ids the cursor skips were dropped, or pruned: only those the shard dropped
            // to keep within its capacity are missed (pruning is the operator's choice).
            let expected = after.map_or(shard as u64, |a| a.saturating_add(shards as u64));
            if let (Some((first, _)), Some(dropped)) = (read.events.first(), read.dropped_through)
                && dropped >= expected
            {
                let last_missed = dropped.min(first.saturating_sub(shards as u64));
                if last_missed >= expected {
                    let count = (last_missed - expected) / shards as u64 + 1;
                    state.missed = state.missed.saturating_add(count);
                }
            }
            for (raw, event) in read.events.into_iter().take(taken[shard]) {
                state.cursors[shard] = Some(raw);
                let Some(notice) = event.kind.security_notice() else { continue };
                let event = StoredEvent { id: MemoryStore::event_id(raw), event };
                let queued = Queued {
                    event,
                    notice,
                    attempts: 0,
                    next_at: 0,
                    lease_until: 0,
                    token: 0,
                    last_error: None,
                };
                state.queue.insert(queued.event.id, queued);
            }
        }
        let mut claimed = Vec::new();
        for queued in state.queue.values_mut() {
            if claimed.len() == claim.len() {
                break;
            }
            if queued.next_at > claim.now || queued.lease_until > claim.now {
                continue;
            }
            queued.attempts = queued.attempts.saturating_add(1);
            queued.lease_until = claim.lease_until;
            queued.token = claim.token;
            claimed.push(ClaimedNotice {
                event: queued.event.clone(),
                notice: queued.notice,
                attempt: queued.attempts,
            });
        }
        std::future::ready(Ok(Claimed { notices: claimed, read, caught_up: !left_behind }))
    }

    fn ack_notice(&self, relay: &str, event_id: i64) -> impl Future<Output = Result<(), Infallible>> + Send {
        if let Some(state) = self.relays().0.get_mut(relay) {
            state.queue.remove(&event_id);
        }
        std::future::ready(Ok(()))
    }

    fn retry_notice(
        &self,
        relay: &str,
        event_id: i64,
        token: u64,
        retry_at: u64,
        error: &str,
    ) -> impl Future<Output = Result<bool, Infallible>> + Send {
        let mut relays = self.relays();
        let queued = relays.0.get_mut(relay).and_then(|state| state.queue.get_mut(&event_id));
        let applied = match queued {
            Some(queued) if queued.token == token && queued.lease_until > 0 => {
                queued.lease_until = 0;
                queued.next_at = retry_at;
                queued.last_error = Some(error_text(error).to_string());
                true
            }
            _ => false,
        };
        std::future::ready(Ok(applied))
    }

    fn notice_stats(&self, relay: &str) -> impl Future<Output = Result<NoticeStats, Infallible>> + Send {
        let relays = self.relays();
        let stats = relays.0.get(relay).map_or_else(NoticeStats::default, |state| NoticeStats {
            pending: state.queue.len() as u64,
            failing: state.queue.values().filter(|q| q.last_error.is_some()).count() as u64,
            most_attempts: state.queue.values().map(|q| q.attempts).max().unwrap_or(0),
            oldest_at: state.queue.values().map(|q| q.event.event.at).min(),
            missed: state.missed,
        });
        std::future::ready(Ok(stats))
    }

    fn failing_notices(
        &self,
        relay: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<FailingNotice>, Infallible>> + Send {
        let relays = self.relays();
        let mut failing: Vec<FailingNotice> = relays
            .0
            .get(relay)
            .map(|state| {
                state
                    .queue
                    .values()
                    .filter_map(|q| {
                        Some(FailingNotice {
                            event: q.event.clone(),
                            notice: q.notice,
                            attempts: q.attempts,
                            next_attempt_at: q.next_at,
                            last_error: q.last_error.clone()?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        failing.sort_by_key(|f| (std::cmp::Reverse(f.attempts), f.event.id));
        failing.truncate(limit.clamp(1, super::MAX_PAGE) as usize);
        std::future::ready(Ok(failing))
    }
}
