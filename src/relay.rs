//! The notice relay: tells users of what happened to their account (NIST SP 800-63B-4
//! §4.1.2.1, §4.2, §4.6) through a channel the host chooses, from the stored trail.
//!
//! The events that deserve a notice ([`EventKind::security_notice`]) are saved with the
//! record change they describe, in one atomic step. A [`NoticeRelay`] reads them back
//! from the store ([`NoticeOutbox`]), hands each to the host's [`Notifier`], and
//! tells the store it was delivered only after the notifier returned `Ok`:
//!
//! - **At least once.** A notice leaves the store's queue only when its delivery is
//!   acknowledged. If the relay's process dies between the notifier's `Ok` and the
//!   acknowledgement, or the acknowledgement's reply is lost, the notice is delivered
//!   again once its lease has expired. [`Notice::id`] (the event's id in the store) is
//!   the idempotency key a notifier passes to its provider to drop such repeats.
//! - **Shared work.** Relays of the same name on several app servers lease notices
//!   from the store: while none crashes and each delivery ends within the lease
//!   ([`RelayConfig::lease`]), no notice is handed to two notifiers. A relay does not
//!   start a delivery once the lease it holds has ended.
//! - **Never dropped.** A failed delivery is rescheduled with exponential backoff
//!   ([`RelayConfig::first_retry`], doubling up to [`RelayConfig::max_retry`]), its
//!   attempts counted and its error kept: [`NoticeRelay::stats`] and
//!   [`NoticeRelay::failing`] show operators what keeps failing. Only delivery removes a
//!   notice.
//!
//! The relay holds no rules: which events are notices is
//! [`EventKind::security_notice`]'s answer, what to write and to whom is the
//! notifier's.
//!
//! ```
//! use std::sync::Arc;
//! use mfa_kit::clock::ManualClock;
//! use mfa_kit::relay::{Notice, NoticeRelay, Notifier};
//! use mfa_kit::store::MemoryStore;
//!
//! /// Sends each notice by e-mail; the provider drops a repeated idempotency key.
//! struct Mailer;
//!
//! impl Notifier for Mailer {
//!     type Error = std::io::Error;
//!
//!     async fn notify(&self, notice: &Notice) -> Result<(), Self::Error> {
//!         let _key = notice.id; // the provider's idempotency key
//!         let _about = (&notice.user, notice.kind, notice.at, &notice.context.address);
//!         Ok(())
//!     }
//! }
//!
//! let store = Arc::new(MemoryStore::new());
//! let relay = NoticeRelay::new("email", store, Mailer, ManualClock::new(1_700_000_000));
//! let batch = pollster::block_on(relay.run_once()).expect("the store works");
//! assert_eq!(batch.claimed, 0);
//! ```
//!
//! [`EventKind::security_notice`]: crate::event::EventKind::security_notice

use std::future::Future;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use thiserror::Error;

use crate::clock::{Clock, ClockError};
use crate::event::{AuditEvent, EventKind, SecurityNotice};
use crate::store::{ClaimedNotice, FailingNotice, NoticeClaim, NoticeOutbox, NoticeStats};
use crate::vocabulary::{RequestContext, UserId};

/// What the user is to be told, handed to a [`Notifier`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notice {
    /// The event's id in the store: the same for every delivery of this notice, so a
    /// notifier's provider can drop repeats by it (an idempotency key). Unique within
    /// one store's trail.
    pub id: i64,
    /// Whose account it happened to.
    pub user: UserId,
    /// Who acted: the user, or an admin.
    pub actor: UserId,
    /// What the user is to be told.
    pub kind: SecurityNotice,
    /// The event itself, for details (which method, how many codes are left).
    pub event: EventKind,
    /// When it happened (seconds since the Unix epoch).
    pub at: u64,
    /// Where from: the address and device, as the event recorded them.
    pub context: RequestContext,
    /// Which claim of this notice this is: 1 for the first. A claim counts whether or
    /// not its delivery was tried (a batch whose lease ended first, a clock that failed,
    /// hands the rest back counted), so the backoff may start one step later.
    pub attempt: u32,
}

impl Notice {
    /// The token of this notice's "this wasn't me" link, under the deployment's hash
    /// key: the same for every delivery of the notice. Redeemed with
    /// [`crate::service::MfaService::disown`]; see [`crate::flow::disown`].
    pub fn disown_token(&self, key: &crate::keyed_hash::HashKey) -> crate::flow::disown::DisownToken {
        crate::flow::disown::token(key, &self.user, self.id, self.at, &self.event)
    }

    fn of(claimed: ClaimedNotice) -> Notice {
        let ClaimedNotice { event, notice, attempt } = claimed;
        let AuditEvent { user, actor, at, kind, context, .. } = event.event;
        Notice { id: event.id, user, actor, kind: notice, event: kind, at, context, attempt }
    }
}

/// Delivers security notices to users (e-mail, a message outside the session);
/// implemented by the host.
///
/// # Contract
/// `Ok` means the notice was handed over for good (the provider accepted it); the relay
/// then removes it from the queue. An `Err` makes the relay try again later. A notice
/// may be handed over more than once (after a crash, a lost reply, or a delivery that
/// outlasted its lease): pass [`Notice::id`] to the provider as the idempotency key,
/// or keep the ids sent.
pub trait Notifier: Send + Sync {
    /// The channel's error. Its text is stored with the notice and shown to operators:
    /// it must not hold secrets.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Delivers `notice`.
    fn notify(&self, notice: &Notice) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

impl<T: Notifier + ?Sized> Notifier for std::sync::Arc<T> {
    type Error = T::Error;

    fn notify(&self, notice: &Notice) -> impl Future<Output = Result<(), Self::Error>> + Send {
        (**self).notify(notice)
    }
}

/// How a relay paces itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "hosts build it with `..Default::default()` or its constructors, which keep working as fields are added"
)]
pub struct RelayConfig {
    /// The most notices claimed at a time.
    pub batch: u32,
    /// How long (seconds) a claim holds its notices: longer than a batch of deliveries
    /// takes, or another relay may deliver them again.
    pub lease: u64,
    /// The wait (seconds) before the second attempt; each further wait is twice the
    /// one before.
    pub first_retry: u64,
    /// The longest wait between attempts (seconds).
    pub max_retry: u64,
    /// How long [`NoticeRelay::run`] waits when nothing was due.
    pub idle: Duration,
}

impl Default for RelayConfig {
    /// 50 a batch, a 5-minute lease, retries after 30 s, 1 min, 2 min ... up to 6 hours,
    /// polling every second when idle.
    fn default() -> RelayConfig {
        RelayConfig {
            batch: 50,
            lease: 300,
            first_retry: 30,
            max_retry: 6 * 3600,
            idle: Duration::from_secs(1),
        }
    }
}

impl RelayConfig {
    /// The wait after failed attempt number `attempt` (1 for the first).
    pub fn backoff(&self, attempt: u32) -> u64 {
        let doublings = attempt.saturating_sub(1).min(63);
        self.first_retry.saturating_mul(1u64 << doublings).min(self.max_retry)
    }
}

/// What a notice handed back because the relay's clock failed is kept with.
const CLOCK_FAILED: &str = "the relay's clock failed before delivering it";

/// What went wrong in a relay. A notifier's failure is not one: it is kept with the
/// notice ([`NoticeRelay::failing`]).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RelayError<E: std::error::Error + 'static> {
    /// The store failed; the notices stay queued.
    #[error("the notice store failed")]
    Store(#[source] E),
    /// The clock failed: before the claim, nothing was claimed; during a batch, the
    /// notices not yet delivered were handed back, due at once.
    #[error(transparent)]
    Clock(#[from] ClockError),
}

/// What one [`NoticeRelay::run_once`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a plain value the crate and hosts build and read whole; a new field is a deliberate breaking change"
)]
pub struct Batch {
    /// Notices claimed.
    pub claimed: usize,
    /// Delivered and acknowledged.
    pub delivered: usize,
    /// Whose delivery failed, rescheduled.
    pub failed: usize,
    /// Not tried because the lease had ended; another claim will take them.
    pub lease_ended: usize,
    /// Events of the trail read (most are not notices).
    pub read: usize,
    /// Whether the store's cursor reached the end of the trail: if not, more notices
    /// may be waiting.
    pub caught_up: bool,
}

/// Reads security notices from the store and hands them to a [`Notifier`]: see the
/// [module documentation](self).
#[derive(Debug)]
pub struct NoticeRelay<S, N, C> {
    name: String,
    store: S,
    notifier: N,
    clock: C,
    config: RelayConfig,
    claims: AtomicU64,
}

impl<S: NoticeOutbox, N: Notifier, C: Clock> NoticeRelay<S, N, C> {
    /// A relay called `name` (its cursor and queue in the store; relays of one name
    /// share the work) with the default [`RelayConfig`].
    pub fn new(name: impl Into<String>, store: S, notifier: N, clock: C) -> NoticeRelay<S, N, C> {
        NoticeRelay {
            name: name.into(),
            store,
            notifier,
            clock,
            config: RelayConfig::default(),
            claims: 0.into(),
        }
    }

    /// The same relay with another configuration.
    #[must_use]
    pub fn with_config(mut self, config: RelayConfig) -> NoticeRelay<S, N, C> {
        self.config = config;
        self
    }

    /// The relay's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The relay's configuration.
    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    /// A token no other claim has, with overwhelming likelihood.
    fn token(&self) -> u64 {
        let n = self.claims.fetch_add(1, Ordering::Relaxed);
        std::collections::hash_map::RandomState::new().hash_one((n, std::process::id()))
    }

    /// One batch: claims due notices, delivers each, acknowledges the delivered ones
    /// and reschedules the failed ones with backoff.
    ///
    /// # Errors
    /// [`RelayError::Clock`] when the clock fails: before the claim nothing is claimed;
    /// during the batch the notices not yet delivered are handed back, due at once
    /// (kept with the error "the relay's clock failed before delivering it", their
    /// attempt counted), so another run takes them without waiting for their lease.
    /// [`RelayError::Store`] when a claim, acknowledgement or rescheduling fails. The notices concerned stay queued
    /// and are claimed again once their lease ends (a delivered one is then delivered
    /// again).
    pub async fn run_once(&self) -> Result<Batch, RelayError<S::Error>> {
        let now = self.clock.now()?;
        let claim = NoticeClaim {
            now,
            lease_until: now.saturating_add(self.config.lease.max(1)),
            limit: self.config.batch,
            token: self.token(),
        };
        let claimed = self.store.claim_notices(&self.name, &claim).await.map_err(RelayError::Store)?;
        let mut batch = Batch {
            claimed: claimed.notices.len(),
            read: claimed.read,
            caught_up: claimed.caught_up,
            ..Batch::default()
        };
        let mut notices = claimed.notices.into_iter();
        while let Some(claimed) = notices.next() {
            let now = match self.clock.now() {
                Ok(now) => now,
                Err(error) => {
                    for unsent in std::iter::once(claimed).chain(notices) {
                        // At worst (the store failing too) the lease ends and the notice
                        // is claimed again: nothing is lost either way.
                        let _ = self
                            .store
                            .retry_notice(&self.name, unsent.event.id, claim.token, claim.now, CLOCK_FAILED)
                            .await;
                    }
                    return Err(RelayError::Clock(error));
                }
            };
            if now >= claim.lease_until {
                batch.lease_ended += 1;
                continue;
            }
            let notice = Notice::of(claimed);
            match self.notifier.notify(&notice).await {
                Ok(()) => {
                    self.store.ack_notice(&self.name, notice.id).await.map_err(RelayError::Store)?;
                    batch.delivered += 1;
                }
                Err(error) => {
                    // The error is kept whatever the clock says now: a clock failing
                    // here dates the retry from the reading before the delivery.
                    let later = self.clock.now().map_or(now, |later| later.max(now));
                    let retry_at = later.saturating_add(self.config.backoff(notice.attempt));
                    let text = error.to_string();
                    self.store
                        .retry_notice(&self.name, notice.id, claim.token, retry_at, &text)
                        .await
                        .map_err(RelayError::Store)?;
                    batch.failed += 1;
                }
            }
        }
        Ok(batch)
    }

    /// Runs batches until `stop` is set: at once after a full batch or while the trail
    /// is being read through, after
    /// [`RelayConfig::idle`] (waited with `sleep`, the host runtime's timer) otherwise.
    /// A failing store or clock is reported to `on_error` and tried again after the
    /// idle wait: the relay keeps going. `stop` is checked between batches.
    pub async fn run<F, W>(
        &self,
        stop: &AtomicBool,
        sleep: F,
        mut on_error: impl FnMut(&RelayError<S::Error>),
    ) where
        F: Fn(Duration) -> W,
        W: Future<Output = ()>,
    {
        while !stop.load(Ordering::Acquire) {
            match self.run_once().await {
                Ok(batch)
                    // Full: as many as one claim takes (a batch above `MAX_PAGE` reads as it).
                    if batch.claimed >= self.config.batch.clamp(1, crate::store::MAX_PAGE) as usize
                        || (batch.read > 0 && !batch.caught_up) =>
                {
                    continue;
                }
                Ok(_) => {}
                Err(error) => on_error(&error),
            }
            if stop.load(Ordering::Acquire) {
                break;
            }
            sleep(self.config.idle).await;
        }
    }

    /// How the relay's queue stands: pending and failing notices, the most attempts.
    ///
    /// # Errors
    /// [`RelayError::Store`].
    pub async fn stats(&self) -> Result<NoticeStats, RelayError<S::Error>> {
        self.store.notice_stats(&self.name).await.map_err(RelayError::Store)
    }

    /// Up to `limit` notices whose last delivery failed, most attempts first, with
    /// their last error (`limit` from 1 to the store's page: 0 reads as 1, as every
    /// limit of the crate does).
    ///
    /// # Errors
    /// [`RelayError::Store`].
    pub async fn failing(&self, limit: u32) -> Result<Vec<FailingNotice>, RelayError<S::Error>> {
        self.store.failing_notices(&self.name, limit).await.map_err(RelayError::Store)
    }
}
