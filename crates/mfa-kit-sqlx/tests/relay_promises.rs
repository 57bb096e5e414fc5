//! The notice relay's and the outbox's promises (R28; `src/relay.rs`,
//! `src/store/notices.rs`) on MemoryStore, PostgreSQL and SQLite: events pruned before
//! a relay read them are not "missed"; a claim that read the trail's last event is
//! caught up; a claim handed back untried counts; a relay with a batch beyond a page
//! does not idle between full pages; one sequence of claims, retries and stats gives
//! the same answers on every store; a notice that always fails is retried on schedule
//! and holds up nothing.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use mfa_kit::RequestContext;
use mfa_kit::UserId;
use mfa_kit::clock::ManualClock;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::relay::{Notice, NoticeRelay, Notifier, RelayConfig};
use mfa_kit::store::{MAX_INTAKE, MemoryStore, NoticeClaim, NoticeOutbox, PruneAudit, Store};
use mfa_kit_sqlx::{PostgresStore, SqliteStore};

const T0: u64 = 1_700_000_000;

/// PostgreSQL reads the trail only below the cluster's oldest open transaction: one
/// PostgreSQL check at a time.
static POSTGRES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn postgres(label: &str) -> PostgresStore {
    let store = PostgresStore::with_tables(postgres_pool(8).await, unique_tables(label));
    store.migrate().await.expect("migrate");
    store
}

async fn sqlite(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("mfa.db")).await.expect("open")
}

fn context() -> RequestContext {
    RequestContext::from_address("198.51.100.4".parse().unwrap()).with_device("Edge").in_org("acme")
}

fn notice(user: &UserId, at: u64) -> AuditEvent {
    AuditEvent::new(user, user, at, &context(), EventKind::RecoveryCodesGenerated { count: 10 })
}

fn routine(user: &UserId, at: u64) -> AuditEvent {
    AuditEvent::new(user, user, at, &context(), EventKind::LockoutEnded)
}

/// Claims at `now` until the relay is caught up (PostgreSQL may hold reading back for
/// a moment); the notices claimed.
async fn claim_all<S: NoticeOutbox>(s: &S, relay: &str, now: u64, token: u64) -> Vec<i64> {
    let mut ids = Vec::new();
    for _ in 0..200 {
        let claim = NoticeClaim { now, lease_until: now + 60, limit: 1000, token };
        let claimed = s.claim_notices(relay, &claim).await.unwrap();
        ids.extend(claimed.notices.iter().map(|n| n.event.id));
        if claimed.caught_up && claimed.notices.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    ids
}

// ---------------------------------------------------------------------------------
// NoticeStats::missed: "Events that left the trail before this relay read them (a
// bounded in-memory trail that overflowed) ... Always 0 on a store that keeps its
// trail; events deleted by prune_audit before a relay read them are not counted here"
// (src/store/notices.rs). The same prune before the first claim, on the three stores.
// ---------------------------------------------------------------------------------

async fn missed_after_prune<S: NoticeOutbox + PruneAudit>(s: &S) -> u64 {
    let user = UserId::new("pruned-user");
    let acme = mfa_kit::OrgId::new("acme");
    // Three old notices, pruned before any relay read them; then a new one.
    s.append_events((0..3).map(|n| notice(&user, T0 + n)).collect()).await.unwrap();
    assert_eq!(s.delete_audit_before(Some(&acme), T0 + 100, 100).await.unwrap(), 3);
    s.append_events(vec![notice(&user, T0 + 200)]).await.unwrap();
    let claimed = claim_all(s, "email", T0 + 300, 1).await;
    assert_eq!(claimed.len(), 1, "the notice stored after the prune is relayed");
    s.notice_stats("email").await.unwrap().missed
}

#[tokio::test]
async fn notice_stats_missed_does_not_count_pruned_events_on_any_store() {
    // An unbounded in-memory trail: it keeps every event (nothing is ever dropped).
    let memory = MemoryStore::with_audit_capacity(usize::MAX);
    let dir = tempfile::tempdir().unwrap();
    let lite = sqlite(&dir).await;
    let _turn = POSTGRES.lock().await;
    let pg = postgres("rr_missed").await;
    let got =
        (missed_after_prune(&memory).await, missed_after_prune(&pg).await, missed_after_prune(&lite).await);
    drop_tables(pg.pool(), pg.tables()).await;
    assert_eq!(memory.dropped_events(), 0, "the unbounded trail dropped nothing");
    assert_eq!(
        got,
        (0, 0, 0),
        "NoticeStats::missed (memory, postgres, sqlite) after a prune of unread events: \
         the docs say pruned events are not counted and a store that keeps its trail says 0"
    );
}

// ---------------------------------------------------------------------------------
// Claimed::caught_up: "Whether the relay's cursor reached the end of the trail as
// committed when the claim read it: `false` when committed events are still to be
// read, because the claim read its most (MAX_INTAKE), ..." (src/store/notices.rs).
// ---------------------------------------------------------------------------------

async fn caught_up_after_exactly_max_intake<S: NoticeOutbox>(s: &S) -> (usize, bool) {
    let user = UserId::new("intake-user");
    let events: Vec<_> = (0..MAX_INTAKE).map(|n| routine(&user, T0 + u64::from(n))).collect();
    for chunk in events.chunks(100) {
        s.append_events(chunk.to_vec()).await.unwrap();
    }
    let mut last = (0, false);
    for _ in 0..200 {
        let claim = NoticeClaim { now: T0 + 5000, lease_until: T0 + 5060, limit: 10, token: 3 };
        let claimed = s.claim_notices("email", &claim).await.unwrap();
        last = (claimed.read, claimed.caught_up);
        if claimed.read > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    last
}

#[tokio::test]
async fn a_claim_that_read_the_last_event_of_the_trail_is_caught_up_on_every_store() {
    let memory = MemoryStore::with_audit_capacity(usize::MAX);
    let dir = tempfile::tempdir().unwrap();
    let lite = sqlite(&dir).await;
    let _turn = POSTGRES.lock().await;
    let pg = postgres("rr_caught").await;
    let got = (
        caught_up_after_exactly_max_intake(&memory).await,
        caught_up_after_exactly_max_intake(&pg).await,
        caught_up_after_exactly_max_intake(&lite).await,
    );
    drop_tables(pg.pool(), pg.tables()).await;
    let n = MAX_INTAKE as usize;
    assert_eq!(
        got,
        ((n, true), (n, true), (n, true)),
        "(read, caught_up) of memory, postgres, sqlite when the claim read exactly the rest of the trail"
    );
}

// ---------------------------------------------------------------------------------
// The relay (core behaviour, on MemoryStore).
// ---------------------------------------------------------------------------------

/// Fails every delivery; records the attempt numbers handed over; the first delivery
/// advances the clock by `slow` seconds.
struct Failing {
    clock: ManualClock,
    slow: u64,
    attempts: Mutex<Vec<(i64, u32)>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the provider is down")]
struct Down;

impl Notifier for Failing {
    type Error = Down;

    async fn notify(&self, notice: &Notice) -> Result<(), Down> {
        let mut attempts = self.attempts.lock().unwrap();
        if attempts.is_empty() {
            self.clock.advance(self.slow);
        }
        attempts.push((notice.id, notice.attempt));
        Err(Down)
    }
}

/// `Notice::attempt`: "Which claim of this notice this is: 1 for the first. A claim
/// counts whether or not its delivery was tried (a batch whose lease ended first ...)";
/// `FailingNotice::attempts` likewise; the backoff follows them. A notice the relay
/// skipped because its lease ran out (the delivery before it was slow) is claimed again
/// as attempt 2, and when that delivery fails the wait is the second backoff step.
#[tokio::test]
async fn a_notice_handed_back_for_an_ended_lease_counts_its_claim() {
    let store = Arc::new(MemoryStore::new());
    let user = UserId::new("lease-user");
    store.append_events(vec![notice(&user, T0), notice(&user, T0 + 1)]).await.unwrap();
    let clock = ManualClock::new(T0 + 10);
    let notifier = Arc::new(Failing { clock: clock.clone(), slow: 400, attempts: Mutex::new(Vec::new()) });
    let config = RelayConfig { lease: 300, first_retry: 30, max_retry: 3600, ..RelayConfig::default() };
    let relay = NoticeRelay::new("email", store.clone(), notifier.clone(), clock.clone()).with_config(config);
    let batch = relay.run_once().await.unwrap();
    assert_eq!((batch.claimed, batch.failed, batch.lease_ended), (2, 1, 1), "{batch:?}");
    // The second notice's lease has ended: the next run takes it, for its first delivery
    // (its second claim).
    let batch = relay.run_once().await.unwrap();
    assert_eq!((batch.claimed, batch.failed), (1, 1), "{batch:?}");
    let attempts = notifier.attempts.lock().unwrap().clone();
    let second = attempts[1];
    let failing = relay.failing(10).await.unwrap();
    let listed = failing.iter().find(|f| f.event.id == second.0).unwrap();
    assert_eq!(
        (second.1, listed.attempts, listed.next_attempt_at - mfa_kit::clock::Clock::now(&clock).unwrap()),
        (2, 2, 60),
        "(Notice::attempt of its first delivery, FailingNotice::attempts, wait before the next)"
    );
}

/// Delivers every notice.
#[derive(Default)]
struct Counting(AtomicUsize);

impl Notifier for Counting {
    type Error = Down;

    async fn notify(&self, _: &Notice) -> Result<(), Down> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// `NoticeRelay::run`: "Runs batches until `stop` is set: at once after a full batch or
/// while the trail is being read through, after RelayConfig::idle ... otherwise";
/// `NoticeClaim::limit`: "more than MAX_PAGE [reads] as that". A relay configured with a
/// batch beyond the store's page gets full pages and must not idle between them while
/// notices are due.
#[tokio::test]
async fn run_does_not_idle_after_a_full_page_when_the_batch_is_beyond_max_page() {
    let store = Arc::new(MemoryStore::with_audit_capacity(usize::MAX));
    let user = UserId::new("backlog-user");
    let total = 2500u64;
    let events: Vec<_> = (0..total).map(|n| notice(&user, T0 + n)).collect();
    store.append_events(events).await.unwrap();
    // Read the whole trail into the queue first (three claims of one notice each, with a
    // lease that has ended by the relay's time), so what is left is due notices only.
    for token in 0..3 {
        let claim = NoticeClaim { now: T0, lease_until: T0 + 1, limit: 1, token };
        store.claim_notices("email", &claim).await.unwrap();
    }
    let clock = ManualClock::new(T0 + 10_000);
    let counting = Arc::new(Counting::default());
    let config = RelayConfig { batch: 5000, ..RelayConfig::default() };
    let relay = NoticeRelay::new("email", store.clone(), counting.clone(), clock).with_config(config);
    let stop = AtomicBool::new(false);
    let idles = AtomicUsize::new(0);
    let delivered_at_first_idle = AtomicUsize::new(usize::MAX);
    relay
        .run(
            &stop,
            |_| {
                if idles.fetch_add(1, Ordering::SeqCst) == 0 {
                    delivered_at_first_idle.store(counting.0.load(Ordering::SeqCst), Ordering::SeqCst);
                }
                stop.store(true, Ordering::SeqCst);
                std::future::ready(())
            },
            |e| panic!("{e}"),
        )
        .await;
    assert_eq!(
        delivered_at_first_idle.load(Ordering::SeqCst),
        total as usize,
        "notices delivered before the relay first waited `idle` (the rest were due)"
    );
}

// ---------------------------------------------------------------------------------
// One sequence of claims, failures and acknowledgements on the
// three stores gives the same answers.
// ---------------------------------------------------------------------------------

async fn sequence<S: NoticeOutbox + mfa_kit::store::ReadAudit>(s: &S) -> Vec<String> {
    let mut out = Vec::new();
    let user = UserId::new("seq-user");
    s.append_events((0..4).map(|n| notice(&user, T0 + n)).collect()).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..200 {
        let c = NoticeClaim { now: T0 + 10, lease_until: T0 + 20, limit: 2, token: 11 };
        let got = s.claim_notices("Email", &c).await.unwrap();
        ids.extend(got.notices.iter().map(|n| (n.event.id, n.attempt)));
        if !got.notices.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let first = ids[0].0;
    // Ids as ranks among the user's four notices (MemoryStore numbers by shard).
    let all = mfa_kit::store::ReadAudit::read_audit(
        s,
        &mfa_kit::store::AuditQuery::user(user.clone(), 0, u64::MAX, 100),
    )
    .await
    .unwrap()
    .events
    .iter()
    .map(|e| e.id)
    .collect::<Vec<_>>();
    let rel = |id: i64| all.iter().position(|x| *x == id).map_or(-1, |p| p as i64);
    out.push(format!("claim1 {:?}", ids.iter().map(|(i, a)| (rel(*i), *a)).collect::<Vec<_>>()));
    // Another name, same trail.
    let other = claim_all(s, "email", T0 + 10, 12).await;
    out.push(format!("other name {}", other.len()));
    // A stale token, the right one; an ack of one; a retry after the ack.
    out.push(format!("stale {}", s.retry_notice("Email", first, 99, T0 + 50, "x").await.unwrap()));
    out.push(format!("retry {}", s.retry_notice("Email", first, 11, T0 + 50, "boom é").await.unwrap()));
    out.push(format!("retry again {}", s.retry_notice("Email", first, 11, T0 + 60, "again").await.unwrap()));
    s.ack_notice("Email", ids[1].0).await.unwrap();
    out.push(format!("retry acked {}", s.retry_notice("Email", ids[1].0, 11, T0 + 60, "y").await.unwrap()));
    // A zero-length lease: due again at once.
    let c = NoticeClaim { now: T0 + 15, lease_until: T0 + 15, limit: 10, token: 13 };
    let got = s.claim_notices("Email", &c).await.unwrap();
    out.push(format!(
        "claim2 {:?}",
        got.notices.iter().map(|n| (rel(n.event.id), n.attempt)).collect::<Vec<_>>()
    ));
    let c = NoticeClaim { now: T0 + 15, lease_until: T0 + 30, limit: 10, token: 14 };
    let got = s.claim_notices("Email", &c).await.unwrap();
    out.push(format!(
        "claim3 {:?}",
        got.notices.iter().map(|n| (rel(n.event.id), n.attempt)).collect::<Vec<_>>()
    ));
    // The lease of claim 3 ends at T0+30; the retried one is due at T0+50.
    let c = NoticeClaim { now: T0 + 60, lease_until: T0 + 90, limit: 10, token: 15 };
    let got = s.claim_notices("Email", &c).await.unwrap();
    out.push(format!(
        "claim4 {:?}",
        got.notices.iter().map(|n| (rel(n.event.id), n.attempt)).collect::<Vec<_>>()
    ));
    let stats = s.notice_stats("Email").await.unwrap();
    out.push(format!(
        "stats {:?}",
        (stats.pending, stats.failing, stats.most_attempts, stats.oldest_at, stats.missed)
    ));
    let failing = s.failing_notices("Email", 0).await.unwrap();
    out.push(format!(
        "failing {:?}",
        failing
            .iter()
            .map(|f| (rel(f.event.id), f.attempts, f.next_attempt_at, f.last_error.clone()))
            .collect::<Vec<_>>()
    ));
    out.push(format!("unknown {:?}", s.notice_stats("EMAIL").await.unwrap()));
    out
}

#[tokio::test]
async fn one_sequence_gives_the_same_answers_on_every_store() {
    let memory = MemoryStore::with_audit_capacity(usize::MAX);
    let dir = tempfile::tempdir().unwrap();
    let lite = sqlite(&dir).await;
    let _turn = POSTGRES.lock().await;
    let pg = postgres("rr_seq").await;
    let (m, p, l) = (sequence(&memory).await, sequence(&pg).await, sequence(&lite).await);
    drop_tables(pg.pool(), pg.tables()).await;
    eprintln!("memory {m:#?}\npostgres {p:#?}\nsqlite {l:#?}");
    assert_eq!(m, p, "memory vs postgres");
    assert_eq!(m, l, "memory vs sqlite");
}

// ---------------------------------------------------------------------------------
// A notice that always fails does not hold up the ones behind it, is
// retried on the documented schedule (first_retry, doubling, capped at max_retry) and
// never dropped, on every store ("Never dropped. A failed delivery is rescheduled with
// exponential backoff ... Only delivery removes a notice", src/relay.rs).
// ---------------------------------------------------------------------------------

/// Fails every delivery of the notices of `poison`; records (event id, attempt, time).
struct Poisoned {
    poison: UserId,
    clock: ManualClock,
    seen: Mutex<Vec<(UserId, u32, u64)>>,
}

impl Notifier for Poisoned {
    type Error = Down;

    async fn notify(&self, notice: &Notice) -> Result<(), Down> {
        let now = mfa_kit::clock::Clock::now(&self.clock).unwrap();
        self.seen.lock().unwrap().push((notice.user.clone(), notice.attempt, now));
        if notice.user == self.poison { Err(Down) } else { Ok(()) }
    }
}

async fn poisoned_head<S: NoticeOutbox + Send + Sync + 'static>(s: Arc<S>) -> (Vec<u64>, usize, u64, u64) {
    let poison = UserId::new("poison-user");
    s.append_events(vec![notice(&poison, T0)]).await.unwrap();
    let others: Vec<_> = (0..3).map(|n| UserId::new(format!("fine-user-{n}"))).collect();
    s.append_events(others.iter().map(|u| notice(u, T0 + 1)).collect()).await.unwrap();
    let clock = ManualClock::new(T0 + 10);
    let notifier =
        Arc::new(Poisoned { poison: poison.clone(), clock: clock.clone(), seen: Mutex::new(Vec::new()) });
    let config = RelayConfig { batch: 1, first_retry: 30, max_retry: 100, ..RelayConfig::default() };
    let relay = NoticeRelay::new("email", s.clone(), notifier.clone(), clock.clone()).with_config(config);
    // Second by second for ten minutes of the relay's time.
    for _ in 0..600 {
        for _ in 0..5 {
            let batch = relay.run_once().await.unwrap();
            if batch.claimed == 0 && batch.caught_up {
                break;
            }
        }
        clock.advance(1);
    }
    let seen = notifier.seen.lock().unwrap().clone();
    let poison_times: Vec<u64> =
        seen.iter().filter(|(u, ..)| *u == poison).map(|(.., t)| t - (T0 + 10)).collect();
    let delivered_others = seen.iter().filter(|(u, ..)| *u != poison).count();
    let stats = relay.stats().await.unwrap();
    (poison_times, delivered_others, stats.pending, stats.failing)
}

#[tokio::test]
async fn a_notice_that_always_fails_is_retried_on_schedule_and_blocks_nothing_on_every_store() {
    let memory = Arc::new(MemoryStore::with_audit_capacity(usize::MAX));
    let dir = tempfile::tempdir().unwrap();
    let lite = Arc::new(sqlite(&dir).await);
    let _turn = POSTGRES.lock().await;
    let pg = Arc::new(postgres("rr_poison").await);
    let got = [poisoned_head(memory).await, poisoned_head(pg.clone()).await, poisoned_head(lite).await];
    drop_tables(pg.pool(), pg.tables()).await;
    // Tried at 0, then after waits of 30, 60, 100 (the cap), 100, ...
    let expected: Vec<u64> = vec![0, 30, 90, 190, 290, 390, 490, 590];
    for (store, (times, others, pending, failing)) in ["memory", "postgres", "sqlite"].iter().zip(got) {
        assert_eq!(others, 3, "{store}: the notices behind the failing one were each delivered once");
        assert_eq!(times, expected, "{store}: the failing notice's delivery times");
        assert_eq!((pending, failing), (1, 1), "{store}: the failing notice stays, counted");
    }
}
