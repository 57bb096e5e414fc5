//! The notice relay on PostgreSQL and SQLite: the outbox conformance checks, four relays
//! in parallel delivering each notice exactly once, delivery across a crash, events
//! stored before the relay existed, and (PostgreSQL) events committed out of id order.
#![cfg(all(feature = "postgres", feature = "sqlite"))]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use mfa_kit::RequestContext;
use mfa_kit::UserId;
use mfa_kit::clock::ManualClock;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::relay::{Notice, NoticeRelay, Notifier, RelayConfig};
use mfa_kit::store::conformance;
use mfa_kit::store::{NoticeClaim, NoticeOutbox, Store};
use mfa_kit_sqlx::{PostgresStore, SqliteStore};

const T0: u64 = 1_700_000_000;

/// The PostgreSQL tests of this file run one at a time: the relay reads the trail only
/// below the cluster's oldest open transaction (so no event committed out of order is
/// passed over), and a neighbouring test's transactions would hold its reads back.
static POSTGRES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    POSTGRES.lock().await
}

async fn postgres(label: &str) -> PostgresStore {
    let store = PostgresStore::with_tables(postgres_pool(20).await, unique_tables(label));
    store.migrate().await.expect("migrate");
    store
}

async fn sqlite(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("mfa.db")).await.expect("open")
}

fn notice(user: &UserId, n: u32) -> AuditEvent {
    let context = RequestContext::from_address("198.51.100.4".parse().unwrap()).with_device("Edge");
    AuditEvent::new(user, user, T0 + u64::from(n), &context, EventKind::RecoveryCodesGenerated { count: 10 })
}

fn routine(user: &UserId) -> AuditEvent {
    AuditEvent::new(user, user, T0, &RequestContext::default(), EventKind::LockoutEnded)
}

/// Counts deliveries per event id.
#[derive(Default)]
struct Recorder(Mutex<HashMap<i64, usize>>);

impl Notifier for Recorder {
    type Error = std::io::Error;

    async fn notify(&self, notice: &Notice) -> Result<(), std::io::Error> {
        *self.0.lock().unwrap().entry(notice.id).or_default() += 1;
        Ok(())
    }
}

impl Recorder {
    fn delivered(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn repeats(&self) -> usize {
        self.0.lock().unwrap().values().filter(|&&n| n > 1).count()
    }
}

/// Four relays of one name run on tokio tasks while two writers store `total` notices
/// (and as many routine events); returns the recorder and the time the drain took.
async fn four_relays<S>(store: Arc<S>, total: u32) -> (Arc<Recorder>, Duration)
where
    S: NoticeOutbox + 'static,
{
    let recorder = Arc::new(Recorder::default());
    let stop = Arc::new(AtomicBool::new(false));
    let config = RelayConfig { batch: 20, idle: Duration::from_millis(5), ..RelayConfig::default() };
    let started = std::time::Instant::now();
    let relays: Vec<_> = (0..4)
        .map(|_| {
            let relay = NoticeRelay::new("email", store.clone(), recorder.clone(), ManualClock::new(T0))
                .with_config(config);
            let stop = stop.clone();
            tokio::spawn(async move {
                relay.run(&stop, tokio::time::sleep, |e| panic!("relay failed: {e}")).await
            })
        })
        .collect();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 0..total / 2 {
                    let user = UserId::new(format!("user-{w}-{}", n % 50));
                    store.append_events(vec![notice(&user, n), routine(&user)]).await.expect("append");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    while recorder.delivered() < total as usize && started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = started.elapsed();
    stop.store(true, Ordering::Release);
    for relay in relays {
        relay.await.unwrap();
    }
    (recorder, took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_passes_the_notice_outbox_conformance_suite() {
    let _serial = one_at_a_time().await;
    let store = Arc::new(postgres("notice_conf").await);
    conformance::run_notice_outbox(store.clone(), &Tokio).await;
    drop_tables(store.pool(), store.tables()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_passes_the_notice_outbox_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run_notice_outbox(Arc::new(sqlite(&dir).await), &Tokio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_relays_in_parallel_deliver_each_notice_exactly_once_on_postgres() {
    let _serial = one_at_a_time().await;
    let store = Arc::new(postgres("notice_four").await);
    let (recorder, took) = four_relays(store.clone(), 1000).await;
    eprintln!("postgres: 1000 notices among 2000 events drained by 4 relays in {took:?}");
    assert_eq!(recorder.delivered(), 1000, "notices were lost");
    assert_eq!(recorder.repeats(), 0, "live relays delivered a notice twice");
    drop_tables(store.pool(), store.tables()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_relays_in_parallel_deliver_each_notice_exactly_once_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (recorder, took) = four_relays(Arc::new(sqlite(&dir).await), 1000).await;
    eprintln!("sqlite: 1000 notices among 2000 events drained by 4 relays in {took:?}");
    assert_eq!(recorder.delivered(), 1000, "notices were lost");
    assert_eq!(recorder.repeats(), 0, "live relays delivered a notice twice");
}

/// A relay claims a batch and dies; its successor delivers the batch once the lease
/// has ended, on a new pool (a new process would have one).
async fn crash_and_recover<S: NoticeOutbox + 'static>(store: Arc<S>, successor: Arc<S>) {
    let alice = UserId::new("alice");
    for n in 0..10 {
        store.append_events(vec![notice(&alice, n)]).await.unwrap();
    }
    let crashed = NoticeClaim { now: T0, lease_until: T0 + 60, limit: 4, token: 9 };
    assert_eq!(store.claim_notices("email", &crashed).await.unwrap().notices.len(), 4);
    drop(store);
    let recorder = Arc::new(Recorder::default());
    let clock = ManualClock::new(T0 + 1);
    let relay = NoticeRelay::new("email", successor, recorder.clone(), clock.clone());
    drain_until(&relay, &recorder, 6).await;
    assert_eq!(recorder.delivered(), 6, "the notices the crashed relay did not hold");
    clock.advance(60);
    drain_until(&relay, &recorder, 10).await;
    assert_eq!(recorder.delivered(), 10, "the crashed relay's notices were lost");
    assert_eq!(recorder.repeats(), 0);
    assert_eq!(relay.stats().await.unwrap().pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_notice_is_delivered_at_least_once_across_a_relay_crash_on_postgres() {
    let _serial = one_at_a_time().await;
    let store = postgres("notice_crash").await;
    let successor = PostgresStore::with_tables(postgres_pool(2).await, store.tables().clone());
    let tables = store.tables().clone();
    crash_and_recover(Arc::new(store), Arc::new(successor)).await;
    drop_tables(&postgres_pool(1).await, &tables).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_notice_is_delivered_at_least_once_across_a_relay_crash_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir).await;
    let successor = sqlite(&dir).await;
    crash_and_recover(Arc::new(store), Arc::new(successor)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stored_before_the_upgrade_are_relayed_on_postgres() {
    let _serial = one_at_a_time().await;
    let store = postgres("notice_upgrade").await;
    let alice = UserId::new("alice");
    store.append_events(vec![notice(&alice, 0), notice(&alice, 1)]).await.unwrap();
    // Rows written by a version without the outbox have no transaction id.
    let audit = store.tables().audit().to_string();
    sqlx::query(&format!("UPDATE {audit} SET tx = NULL")).execute(store.pool()).await.unwrap();
    store.append_events(vec![notice(&alice, 2)]).await.unwrap();
    store.migrate().await.expect("migrate runs again on an upgraded database");
    let recorder = Arc::new(Recorder::default());
    let relay = NoticeRelay::new("email", store.clone(), recorder.clone(), ManualClock::new(T0));
    drain_until(&relay, &recorder, 3).await;
    assert_eq!(recorder.delivered(), 3);
    drop_tables(store.pool(), store.tables()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_committed_after_a_later_numbered_one_is_not_passed_over_on_postgres() {
    let _serial = one_at_a_time().await;
    let store = postgres("notice_order").await;
    let alice = UserId::new("alice");
    let audit = store.tables().audit().to_string();
    // A transaction takes an id and stays open while a later one commits.
    let mut slow = store.pool().begin().await.unwrap();
    let row = mfa_kit_sqlx_row(&notice(&alice, 0));
    let early: i64 = sqlx::query_scalar(&format!(
        "INSERT INTO {audit} (user_id, actor, at, outcome, kind, event) VALUES ('alice', 'alice', $1, 'success', \
         'recovery_codes_generated', $2) RETURNING id"
    ))
    .bind(T0 as i64)
    .bind(row)
    .fetch_one(&mut *slow)
    .await
    .unwrap();
    store.append_events(vec![notice(&alice, 1)]).await.unwrap();
    let recorder = Arc::new(Recorder::default());
    let relay = NoticeRelay::new("email", store.clone(), recorder.clone(), ManualClock::new(T0));
    relay.run_once().await.unwrap();
    assert_eq!(recorder.delivered(), 0, "nothing is read past a transaction still open");
    slow.commit().await.unwrap();
    drain_until(&relay, &recorder, 2).await;
    assert_eq!(recorder.delivered(), 2, "the event committed late was passed over");
    assert!(recorder.0.lock().unwrap().contains_key(&early));
    drop_tables(store.pool(), store.tables()).await;
}

/// Runs the relay until `count` notices were delivered (on PostgreSQL, a transaction
/// open elsewhere in the cluster holds reading back for a moment), then a few batches
/// more, so a repeat would show; 30 seconds at most.
async fn drain_until<S: NoticeOutbox, C: mfa_kit::clock::Clock>(
    relay: &NoticeRelay<S, Arc<Recorder>, C>,
    recorder: &Recorder,
    count: usize,
) {
    let started = std::time::Instant::now();
    while recorder.delivered() < count && started.elapsed() < Duration::from_secs(30) {
        if relay.run_once().await.unwrap().claimed == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for _ in 0..3 {
        relay.run_once().await.unwrap();
    }
}

fn mfa_kit_sqlx_row(event: &AuditEvent) -> String {
    serde_json::to_string(event).unwrap()
}
