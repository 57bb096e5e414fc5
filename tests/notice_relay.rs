//! The notice relay over the in-memory store: every security notice reaches the
//! host's notifier at least once, across crashes; live relays share the work without
//! repeats; failures are retried with backoff and stay visible.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mfa_kit::clock::ManualClock;
use mfa_kit::event::{AuditEvent, EventKind, SecurityNotice};
use mfa_kit::relay::{Notice, NoticeRelay, Notifier, RelayConfig};
use mfa_kit::store::{MemoryStore, NoticeClaim, NoticeOutbox, Store};
use mfa_kit::{Method, RejectionReason, RequestContext, UserId};

const T0: u64 = 1_700_000_000;

/// Counts deliveries per event id; fails for the users in `failing`.
#[derive(Default)]
struct Recorder {
    delivered: Mutex<HashMap<i64, (usize, Notice)>>,
    failing: Mutex<Vec<UserId>>,
    tries: AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
#[error("the mail provider refused the message (HTTP 503)")]
struct ProviderDown;

impl Notifier for Recorder {
    type Error = ProviderDown;

    async fn notify(&self, notice: &Notice) -> Result<(), ProviderDown> {
        self.tries.fetch_add(1, Ordering::SeqCst);
        if self.failing.lock().unwrap().contains(&notice.user) {
            return Err(ProviderDown);
        }
        let mut delivered = self.delivered.lock().unwrap();
        delivered.entry(notice.id).or_insert((0, notice.clone())).0 += 1;
        Ok(())
    }
}

impl Recorder {
    fn counts(&self) -> Vec<usize> {
        self.delivered.lock().unwrap().values().map(|(n, _)| *n).collect()
    }
}

fn notice(user: &UserId, at: u64) -> AuditEvent {
    let context = RequestContext::from_address("203.0.113.7".parse().unwrap()).with_device("Firefox");
    AuditEvent::new(user, user, at, &context, EventKind::EnrollmentConfirmed { replaced: false })
}

fn routine(user: &UserId, at: u64) -> AuditEvent {
    let kind = EventKind::CodeRejected {
        method: Method::Totp,
        reason: RejectionReason::Wrong,
        consecutive_failures: 1,
    };
    AuditEvent::new(user, user, at, &RequestContext::default(), kind)
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

#[test]
fn only_security_notices_reach_the_notifier_with_the_event_id_as_idempotency_key() {
    let store = Arc::new(MemoryStore::new());
    let alice = UserId::new("alice");
    block(store.append_events(vec![routine(&alice, T0), notice(&alice, T0 + 1), routine(&alice, T0 + 2)]))
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    let relay = NoticeRelay::new("email", store.clone(), recorder.clone(), ManualClock::new(T0 + 10));
    let batch = block(relay.run_once()).unwrap();
    assert_eq!((batch.claimed, batch.delivered, batch.failed, batch.caught_up), (1, 1, 0, true));
    let delivered = recorder.delivered.lock().unwrap();
    let (count, sent) = delivered.values().next().unwrap();
    assert_eq!(*count, 1);
    assert_eq!((sent.kind, sent.at, sent.attempt), (SecurityNotice::FactorAdded, T0 + 1, 1));
    assert_eq!(sent.user, alice);
    assert_eq!(sent.context.device.as_deref(), Some("Firefox"));
    assert_eq!(sent.event, EventKind::EnrollmentConfirmed { replaced: false });
    let ids = block(store.read_audit_ids());
    assert_eq!(sent.id, ids[1], "the notice's id is the stored event's id");
    assert_eq!(block(relay.stats()).unwrap().pending, 0);
}

trait Ids {
    async fn read_audit_ids(&self) -> Vec<i64>;
}

impl Ids for Arc<MemoryStore> {
    async fn read_audit_ids(&self) -> Vec<i64> {
        use mfa_kit::store::{AuditQuery, ReadAudit};
        let page = self.read_audit(&AuditQuery::range(0, u64::MAX >> 1, 1000)).await.unwrap();
        page.events.iter().map(|e| e.id).collect()
    }
}

#[test]
fn every_notice_is_delivered_at_least_once_across_a_relay_crash() {
    let store = Arc::new(MemoryStore::new());
    let users: Vec<UserId> = (0..20).map(|n| UserId::new(format!("user-{n}"))).collect();
    for (n, user) in users.iter().enumerate() {
        block(store.append_events(vec![notice(user, T0 + n as u64), routine(user, T0)])).unwrap();
    }
    let clock = ManualClock::new(T0 + 100);
    let config = RelayConfig { batch: 8, lease: 60, ..RelayConfig::default() };
    // The first relay claims a batch and dies before delivering or acknowledging it.
    let crashed = NoticeClaim { now: T0 + 100, lease_until: T0 + 160, limit: 8, token: 7 };
    let lost_with_the_crash = block(store.claim_notices("email", &crashed)).unwrap().notices;
    assert_eq!(lost_with_the_crash.len(), 8);
    // Its successor delivers the rest at once, and the crashed batch once its lease ends.
    let recorder = Arc::new(Recorder::default());
    let relay = NoticeRelay::new("email", store.clone(), recorder.clone(), clock.clone()).with_config(config);
    while block(relay.run_once()).unwrap().claimed > 0 {}
    assert_eq!(recorder.counts().len(), 12, "the notices not claimed by the crashed relay");
    assert_eq!(block(relay.stats()).unwrap().pending, 8, "the crashed batch waits for its lease");
    clock.advance(60);
    while block(relay.run_once()).unwrap().claimed > 0 {}
    assert_eq!(recorder.counts().len(), 20, "every notice was delivered");
    assert!(recorder.counts().iter().all(|&n| n == 1));
    let again: Vec<u32> = recorder
        .delivered
        .lock()
        .unwrap()
        .values()
        .filter(|(_, n)| lost_with_the_crash.iter().any(|c| c.event.id == n.id))
        .map(|(_, n)| n.attempt)
        .collect();
    assert_eq!(again, vec![2; 8], "the crashed batch is delivered as second attempts");
    assert_eq!(block(relay.stats()).unwrap().pending, 0);
}

#[test]
fn a_delivery_that_outlasts_its_lease_is_not_started() {
    let store = Arc::new(MemoryStore::new());
    let alice = UserId::new("alice");
    block(store.append_events(vec![notice(&alice, T0), notice(&alice, T0 + 1)])).unwrap();
    let clock = ManualClock::new(T0 + 100);
    /// Takes the whole lease on its first notice.
    struct Slow(ManualClock, AtomicUsize);
    impl Notifier for Slow {
        type Error = ProviderDown;
        async fn notify(&self, _: &Notice) -> Result<(), ProviderDown> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.advance(60);
            Ok(())
        }
    }
    let slow = Arc::new(Slow(clock.clone(), AtomicUsize::new(0)));
    let config = RelayConfig { lease: 60, ..RelayConfig::default() };
    let relay = NoticeRelay::new("email", store.clone(), slow.clone(), clock.clone()).with_config(config);
    let batch = block(relay.run_once()).unwrap();
    assert_eq!((batch.claimed, batch.delivered, batch.lease_ended), (2, 1, 1));
    assert_eq!(slow.1.load(Ordering::SeqCst), 1, "the second delivery was started after the lease ended");
    let batch = block(relay.run_once()).unwrap();
    assert_eq!((batch.claimed, batch.delivered), (1, 1), "the notice left behind is delivered next");
}

#[test]
fn four_relays_in_parallel_deliver_each_notice_exactly_once() {
    let store = Arc::new(MemoryStore::new());
    let recorder = Arc::new(Recorder::default());
    let clock = ManualClock::new(T0);
    let stop = Arc::new(AtomicBool::new(false));
    let config =
        RelayConfig { batch: 5, idle: std::time::Duration::from_millis(1), ..RelayConfig::default() };
    let relays: Vec<_> = (0..4)
        .map(|_| {
            let relay =
                NoticeRelay::new("email", store.clone(), recorder.clone(), clock.clone()).with_config(config);
            let stop = stop.clone();
            std::thread::spawn(move || {
                let sleep = |d| async move { std::thread::sleep(d) };
                block(relay.run(&stop, sleep, |e| panic!("{e}")));
            })
        })
        .collect();
    const NOTICES: usize = 2000;
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                for n in 0..NOTICES / 2 {
                    let user = UserId::new(format!("user-{w}-{}", n % 37));
                    block(store.append_events(vec![notice(&user, T0), routine(&user, T0)])).unwrap();
                }
            })
        })
        .collect();
    writers.into_iter().for_each(|w| w.join().unwrap());
    let started = std::time::Instant::now();
    while recorder.counts().len() < NOTICES && started.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    stop.store(true, Ordering::Release);
    relays.into_iter().for_each(|r| r.join().unwrap());
    let counts = recorder.counts();
    assert_eq!(counts.len(), NOTICES, "notices were lost");
    assert!(counts.iter().all(|&n| n == 1), "a notice was delivered twice by live relays");
    assert_eq!(recorder.tries.load(Ordering::SeqCst), NOTICES);
}

#[test]
fn a_failing_notice_is_retried_with_backoff_counted_and_visible_never_dropped() {
    let store = Arc::new(MemoryStore::new());
    let (alice, bob) = (UserId::new("alice"), UserId::new("bob"));
    block(store.append_events(vec![notice(&alice, T0), notice(&bob, T0)])).unwrap();
    let recorder = Arc::new(Recorder::default());
    recorder.failing.lock().unwrap().push(alice.clone());
    let clock = ManualClock::new(T0 + 100);
    let config = RelayConfig { first_retry: 30, max_retry: 100, ..RelayConfig::default() };
    let relay = NoticeRelay::new("email", store.clone(), recorder.clone(), clock.clone()).with_config(config);
    let batch = block(relay.run_once()).unwrap();
    assert_eq!((batch.delivered, batch.failed), (1, 1), "bob's notice does not wait behind alice's");
    // Waits of 30, 60, 100 (the cap), 100 seconds: nothing is tried early.
    for (attempt, wait) in [(1, 30), (2, 60), (3, 100), (4, 100)] {
        let failing = block(relay.failing(10)).unwrap();
        assert_eq!(failing.len(), 1);
        assert_eq!(failing[0].attempts, attempt);
        assert_eq!(failing[0].next_attempt_at, clock.now_for_test() + wait, "attempt {attempt}");
        assert_eq!(failing[0].last_error, "the mail provider refused the message (HTTP 503)");
        assert_eq!(failing[0].event.event.user, alice);
        clock.advance(wait - 1);
        assert_eq!(block(relay.run_once()).unwrap().claimed, 0, "tried before its time");
        clock.advance(1);
        assert_eq!(block(relay.run_once()).unwrap().failed, 1);
    }
    let stats = block(relay.stats()).unwrap();
    assert_eq!((stats.pending, stats.failing, stats.most_attempts, stats.oldest_at), (1, 1, 5, Some(T0)));
    // The provider recovers: the notice is delivered, once.
    recorder.failing.lock().unwrap().clear();
    clock.advance(100);
    assert_eq!(block(relay.run_once()).unwrap().delivered, 1);
    assert_eq!(recorder.counts(), vec![1, 1]);
    assert_eq!(block(relay.stats()).unwrap(), Default::default());
}

trait NowForTest {
    fn now_for_test(&self) -> u64;
}

impl NowForTest for ManualClock {
    fn now_for_test(&self) -> u64 {
        use mfa_kit::clock::Clock;
        self.now().unwrap()
    }
}

#[test]
fn relays_of_different_names_each_deliver_every_notice() {
    let store = Arc::new(MemoryStore::new());
    let alice = UserId::new("alice");
    block(store.append_events(vec![notice(&alice, T0)])).unwrap();
    let (mail, sms) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let clock = ManualClock::new(T0);
    block(NoticeRelay::new("email", store.clone(), mail.clone(), clock.clone()).run_once()).unwrap();
    block(NoticeRelay::new("sms", store.clone(), sms.clone(), clock.clone()).run_once()).unwrap();
    assert_eq!((mail.counts(), sms.counts()), (vec![1], vec![1]));
}

#[test]
fn notices_saved_with_a_record_change_are_relayed() {
    use mfa_kit::record::UserRecord;
    let store = Arc::new(MemoryStore::new());
    let alice = UserId::new("alice");
    let saved = block(store.save(UserRecord::new(alice.clone()), None, vec![notice(&alice, T0)])).unwrap();
    assert!(matches!(saved, mfa_kit::store::SaveOutcome::Saved(_)));
    let recorder = Arc::new(Recorder::default());
    block(NoticeRelay::new("email", store, recorder.clone(), ManualClock::new(T0)).run_once()).unwrap();
    assert_eq!(recorder.counts(), vec![1]);
}

/// A clock that answers its first `ok` readings, then fails.
struct FailsAfter {
    inner: ManualClock,
    ok: usize,
    calls: AtomicUsize,
}

impl mfa_kit::clock::Clock for FailsAfter {
    fn now(&self) -> Result<u64, mfa_kit::clock::ClockError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.ok {
            return Err(mfa_kit::clock::ClockError("the clock's source failed".into()));
        }
        self.inner.now()
    }
}

impl FailsAfter {
    fn new(inner: &ManualClock, ok: usize) -> FailsAfter {
        FailsAfter { inner: inner.clone(), ok, calls: AtomicUsize::new(0) }
    }
}

#[test]
fn a_clock_failing_during_a_batch_hands_the_undelivered_notices_back_at_once() {
    use mfa_kit::relay::RelayError;
    let store = Arc::new(MemoryStore::new());
    let alice = UserId::new("alice");
    block(store.append_events(vec![notice(&alice, T0), notice(&alice, T0 + 1)])).unwrap();
    let clock = ManualClock::new(T0 + 10);
    let recorder = Arc::new(Recorder::default());
    // The claim reads the clock; the first delivery's reading fails.
    let relay = NoticeRelay::new("email", store.clone(), recorder.clone(), FailsAfter::new(&clock, 1));
    let failed = block(relay.run_once());
    assert!(matches!(failed, Err(RelayError::Clock(_))), "{failed:?}");
    assert!(recorder.counts().is_empty(), "nothing delivered without a reading");
    // Both are due again at once, their last error saying why: a healthy run delivers
    // them without waiting for the lease.
    let failing = block(relay.failing(10)).unwrap();
    assert_eq!(failing.len(), 2);
    assert!(failing.iter().all(|f| f.last_error.contains("clock")), "{failing:?}");
    let healthy = NoticeRelay::new("email", store.clone(), recorder.clone(), clock.clone());
    let batch = block(healthy.run_once()).unwrap();
    assert_eq!((batch.claimed, batch.delivered), (2, 2));
    assert_eq!(recorder.counts(), [1, 1]);
}

#[test]
fn a_failed_delivery_keeps_its_error_even_when_the_clock_fails_at_the_retry() {
    let store = Arc::new(MemoryStore::new());
    let alice = UserId::new("alice");
    block(store.append_events(vec![notice(&alice, T0)])).unwrap();
    let clock = ManualClock::new(T0 + 10);
    let recorder = Arc::new(Recorder::default());
    recorder.failing.lock().unwrap().push(alice.clone());
    // Readings: the claim and the delivery's; the one for the retry fails.
    let relay = NoticeRelay::new("email", store.clone(), recorder.clone(), FailsAfter::new(&clock, 2));
    let batch = block(relay.run_once()).unwrap();
    assert_eq!(batch.failed, 1);
    let stats = block(relay.stats()).unwrap();
    assert_eq!((stats.pending, stats.failing), (1, 1), "{stats:?}");
    let failing = block(relay.failing(10)).unwrap();
    assert!(failing[0].last_error.contains("HTTP 503"), "{failing:?}");
    assert!(failing[0].next_attempt_at > T0 + 10, "retried with backoff from the last reading");
}

/// The in-memory trail keeps events in chunks: pruning may leave the newest chunk
/// empty, and the notices in the chunks before it must still be read.
#[test]
fn notices_before_a_pruned_newest_chunk_are_still_read() {
    use mfa_kit::store::PruneAudit;
    let store = Arc::new(MemoryStore::new());
    let alice = UserId::new("alice");
    let keep = RequestContext::default().in_org("keep");
    let gone = RequestContext::default().in_org("gone");
    // 256 notices fill one chunk of alice's shard; one old event of another
    // organisation starts the next, and is pruned.
    let kind = EventKind::EnrollmentConfirmed { replaced: false };
    let notices: Vec<AuditEvent> =
        (0..256).map(|i| AuditEvent::new(&alice, &alice, T0 + 100 + i, &keep, kind.clone())).collect();
    block(store.append_events(notices)).unwrap();
    block(store.append_events(vec![AuditEvent::new(&alice, &alice, T0, &gone, EventKind::LockoutEnded)]))
        .unwrap();
    let pruned = block(store.delete_audit_before(Some(&mfa_kit::OrgId::new("gone")), T0 + 1, 5_000)).unwrap();
    assert_eq!(pruned, 1);
    let recorder = Arc::new(Recorder::default());
    let relay = NoticeRelay::new("email", store.clone(), recorder.clone(), ManualClock::new(T0 + 1_000));
    let batch = block(relay.run_once()).unwrap();
    assert_eq!((batch.read, batch.claimed), (256, 50), "caught up: {}", batch.caught_up);
}
