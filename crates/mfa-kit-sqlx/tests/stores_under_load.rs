//! The SQL stores against the store traits' contracts (`Store`, `ListRecords`,
//! `PruneAudit`, `NoticeOutbox`) and the crate's README, under load: what the
//! conformance suite does not reach (migrate beside running saves, pruning
//! from two jobs at once, paging while saves go on, two SQLite pools on one file, a
//! stale token after a lease moved on, stats after pruning).
#![cfg(all(feature = "postgres", feature = "sqlite"))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::record::UserRecord;
use mfa_kit::store::{
    AuditQuery, ListRecords, NoticeClaim, NoticeOutbox, PruneAudit, ReadAudit, RecordQuery, SaveOutcome,
    Store,
};
use mfa_kit::{OrgId, RequestContext, UserId};
use mfa_kit_sqlx::{PostgresStore, SqliteStore};

fn notice_event(user: &UserId, at: u64, count: usize) -> AuditEvent {
    let context = RequestContext::from_address(std::net::IpAddr::from([203, 0, 113, 9]));
    AuditEvent::new(user, user, at, &context, EventKind::RecoveryCodesGenerated { count })
}

fn org_event(user: &UserId, at: u64, org: &OrgId, count: usize) -> AuditEvent {
    let context = RequestContext::from_address(std::net::IpAddr::from([203, 0, 113, 9])).in_org(org.clone());
    AuditEvent::new(user, user, at, &context, EventKind::RecoveryCodesGenerated { count })
}

async fn sqlite_store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("mfa.db")).await.expect("open")
}

// ---------------------------------------------------------------------------------
// migrate while app servers write (README: "at start-up; safe from many processes at
// once"; a new server starts while the others are signing users in).

/// App servers keep saving records with their events (records table, then audit
/// table, in one statement) while a newly started server runs `migrate` on the
/// already-migrated tables: neither a save nor the migrate may fail (`migrate` takes
/// the tables in the order a save does, so the two cannot deadlock).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_migrate_beside_running_saves_fails_neither() {
    let pool = common::postgres_pool(16).await;
    let tables = common::unique_tables("rev_mig");
    let store = Arc::new(PostgresStore::with_tables(pool.clone(), tables.clone()));
    store.migrate().await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8 {
        let (store, stop) = (store.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            let mut n = 0u32;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let user = UserId::new(format!("w{w}/{n}"));
                let events =
                    vec![notice_event(&user, 1_700_000_000, 1), notice_event(&user, 1_700_000_000, 2)];
                match store.save(UserRecord::new(user.clone()), None, events).await {
                    Ok(SaveOutcome::Saved(_)) => {}
                    Ok(SaveOutcome::Conflict) => errors.push("a fresh user's create conflicted".to_string()),
                    Err(e) => errors.push(format!("save: {e}")),
                }
            }
            errors
        }));
    }
    let mut migrate_errors = Vec::new();
    for _ in 0..40 {
        let fresh = PostgresStore::with_tables(pool.clone(), tables.clone());
        if let Err(e) = fresh.migrate().await {
            migrate_errors.push(format!("migrate: {e}"));
        }
    }
    stop.store(true, Ordering::SeqCst);
    let mut errors = migrate_errors;
    for w in writers {
        errors.extend(w.await.unwrap());
    }
    common::drop_tables(&pool, &tables).await;
    errors.dedup();
    assert!(errors.is_empty(), "migrate beside running saves failed: {errors:?}");
}

// ---------------------------------------------------------------------------------
// PruneAudit: "returns how many it deleted; fewer than `limit` means none such are
// left" (the service's prune loop stops on it).

async fn fill_org(store: &impl Store<Error = mfa_kit_sqlx::Error>, org: &OrgId, n: usize, at: u64) {
    let user = UserId::new(format!("{org}/u"));
    for chunk in 0..n / 500 {
        let events = (0..500).map(|i| org_event(&user, at + (i % 7) as u64, org, chunk * 500 + i)).collect();
        store.append_events(events).await.unwrap();
    }
}

async fn left_before(
    store: &impl ReadAudit<Error = mfa_kit_sqlx::Error>,
    org: &OrgId,
    from: u64,
    before: u64,
) -> usize {
    let mut query = AuditQuery::org(org.clone(), from, before, 1000);
    let mut count = 0;
    loop {
        let page = store.read_audit(&query).await.unwrap();
        count += page.events.len();
        let Some(next) = page.next else { break };
        query = query.after(Some(next));
    }
    count
}

/// Two retention jobs (say, two app servers' daily timers) prune one organisation at
/// the same moment: a batch shorter than `limit` must mean that nothing the call would
/// delete is left (each skips the rows the other is deleting).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_short_prune_batch_means_none_left_even_beside_another_pruner() {
    let pool = common::postgres_pool(8).await;
    let tables = common::unique_tables("rev_prune");
    let store = Arc::new(PostgresStore::with_tables(pool.clone(), tables.clone()));
    store.migrate().await.unwrap();
    let org = OrgId::new("acme");
    let at = 1_600_000_000;
    let mut failures = Vec::new();
    for round in 0..5 {
        fill_org(&*store, &org, 6000, at).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let prune = |store: Arc<PostgresStore>, barrier: Arc<tokio::sync::Barrier>, org: OrgId| {
            tokio::spawn(async move {
                barrier.wait().await;
                store.delete_audit_before(Some(&org), at + 100, 2000).await.unwrap()
            })
        };
        let a = prune(store.clone(), barrier.clone(), org.clone());
        let b = prune(store.clone(), barrier.clone(), org.clone());
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let left = left_before(&*store, &org, 0, at + 100).await;
        for got in [a, b] {
            if got < 2000 && left > 0 {
                failures.push(format!("round {round}: a batch deleted {got} < 2000 while {left} were left"));
            }
        }
        // Empty the organisation for the next round.
        while store.delete_audit_before(Some(&org), at + 100, 5000).await.unwrap() > 0 {}
    }
    common::drop_tables(&pool, &tables).await;
    assert!(failures.is_empty(), "{failures:?}");
}

/// The same two jobs on SQLite (one writer at a time): guard.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_a_short_prune_batch_means_none_left_even_beside_another_pruner() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(sqlite_store(&dir).await);
    let org = OrgId::new("acme");
    let at = 1_600_000_000;
    for round in 0..3 {
        fill_org(&*store, &org, 6000, at).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let mut joins = Vec::new();
        for _ in 0..2 {
            let (store, barrier, org) = (store.clone(), barrier.clone(), org.clone());
            joins.push(tokio::spawn(async move {
                barrier.wait().await;
                store.delete_audit_before(Some(&org), at + 100, 2000).await.unwrap()
            }));
        }
        let got: Vec<u64> = vec![joins.remove(0).await.unwrap(), joins.remove(0).await.unwrap()];
        let left = left_before(&*store, &org, 0, at + 100).await;
        assert!(got.iter().all(|&g| g == 2000 || left == 0), "round {round}: {got:?} with {left} left");
        while store.delete_audit_before(Some(&org), at + 100, 5000).await.unwrap() > 0 {}
    }
}

// ---------------------------------------------------------------------------------
// ListRecords: keyset paging while records are created and updated between pages.

async fn paging_while_saving<S: ListRecords<Error = mfa_kit_sqlx::Error>>(store: &S) {
    for n in (0..40).step_by(2) {
        let user = UserId::new(format!("pg/{n:03}"));
        let _ = store.save(UserRecord::new(user), None, Vec::new()).await.unwrap();
    }
    let mut query = RecordQuery::prefix("pg/", 3).without_mfa();
    let mut seen: Vec<String> = Vec::new();
    let mut step = 0;
    loop {
        let page = store.list_records(&query).await.unwrap();
        seen.extend(page.records.iter().map(|v| v.record.user().as_str().to_string()));
        // Between pages: create users on both sides of the cursor and update listed and
        // unlisted ones.
        step += 1;
        for n in [step * 2 - 1, 39 - step * 2 + 2] {
            let user = UserId::new(format!("pg/{n:03}"));
            let _ = store.save(UserRecord::new(user), None, Vec::new()).await.unwrap();
        }
        for user in seen.iter().take(2).chain(std::iter::once(&"pg/038".to_string())) {
            let user = UserId::new(user.clone());
            if let Some(v) = store.load(&user).await.unwrap() {
                let _ = store.save(v.record, Some(v.version), Vec::new()).await.unwrap();
            }
        }
        let Some(next) = page.next else { break };
        query = query.after(Some(next));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "paging repeated a record or left byte order");
    for n in (0..40).step_by(2) {
        assert!(seen.contains(&format!("pg/{n:03}")), "pg/{n:03}, stored before paging began, was skipped");
    }
}

/// no record is shown twice or out of order, none stored before paging began is
/// skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_records_while_saving_neither_repeats_nor_skips() {
    let pg = common::fresh_postgres_store().await;
    paging_while_saving(&*pg).await;
    common::drop_postgres_store(pg).await;
    let dir = tempfile::tempdir().unwrap();
    paging_while_saving(&sqlite_store(&dir).await).await;
}

// ---------------------------------------------------------------------------------
// NoticeOutbox: a stale token after the lease moved to another claim; stats after the
// trail was pruned.

async fn stale_token_after_reclaim<S: NoticeOutbox<Error = mfa_kit_sqlx::Error> + PruneAudit>(store: &S) {
    let user = UserId::new("stale-token");
    store.append_events(vec![notice_event(&user, 1_700_000_000, 1)]).await.unwrap();
    let relay = "email";
    let first = store
        .claim_notices(relay, &NoticeClaim { now: 1000, lease_until: 1060, limit: 10, token: 7 })
        .await
        .unwrap();
    assert_eq!(first.notices.len(), 1);
    let id = first.notices[0].event.id;
    // The first relay stalls; its lease ends and another claim takes the notice.
    let second = store
        .claim_notices(relay, &NoticeClaim { now: 1060, lease_until: 1120, limit: 10, token: 8 })
        .await
        .unwrap();
    assert_eq!(second.notices.len(), 1);
    assert_eq!(second.notices[0].attempt, 2);
    assert!(!store.retry_notice(relay, id, 7, 5000, "late failure").await.unwrap(), "a stale token applied");
    let third = store
        .claim_notices(relay, &NoticeClaim { now: 1061, lease_until: 1200, limit: 10, token: 9 })
        .await
        .unwrap();
    assert!(third.notices.is_empty(), "the live lease was broken by a stale token");
    assert!(store.retry_notice(relay, id, 8, 1100, "smtp 451").await.unwrap());
    assert!(!store.retry_notice(relay, id, 8, 1100, "twice").await.unwrap(), "a retry applied twice");
    // Pruning the trail leaves the queue and its stats as they were.
    let before = store.notice_stats(relay).await.unwrap();
    assert_eq!(
        (before.pending, before.failing, before.most_attempts, before.oldest_at),
        (1, 1, 2, Some(1_700_000_000))
    );
    let deleted = store.delete_audit_before(None, 1_800_000_000, 1000).await.unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(store.notice_stats(relay).await.unwrap(), before, "pruning the trail changed the stats");
    let again = store
        .claim_notices(relay, &NoticeClaim { now: 1100, lease_until: 1200, limit: 10, token: 10 })
        .await
        .unwrap();
    assert_eq!(again.notices.len(), 1, "a queued notice was lost to pruning");
    assert_eq!((again.notices[0].event.id, again.notices[0].attempt), (id, 3));
    store.ack_notice(relay, id).await.unwrap();
    let after = store.notice_stats(relay).await.unwrap();
    assert_eq!((after.pending, after.failing, after.missed), (0, 0, 0));
}

/// a stale token changes nothing once the lease moved on; the queue and its
/// stats survive pruning the trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_tokens_and_pruning_leave_the_queue_alone() {
    let pg = common::fresh_postgres_store().await;
    stale_token_after_reclaim(&*pg).await;
    common::drop_postgres_store(pg).await;
    let dir = tempfile::tempdir().unwrap();
    stale_token_after_reclaim(&sqlite_store(&dir).await).await;
}

// ---------------------------------------------------------------------------------
// SQLite: two processes (two pools) writing one file: busy is waited out, never an
// error, and conflicts are only conflicts.

/// two pools on one WAL file, each with four tasks saving the same users at their
/// versions and claiming notices: every save is `Saved` or `Conflict`, no `Err`, and
/// the winners' saves number exactly the versions reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_two_pools_on_one_file_wait_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let a = Arc::new(sqlite_store(&dir).await);
    let b = Arc::new(sqlite_store(&dir).await);
    let users: Vec<UserId> = (0..4).map(|n| UserId::new(format!("busy/{n}"))).collect();
    let mut joins = Vec::new();
    for t in 0..8 {
        let store = if t % 2 == 0 { a.clone() } else { b.clone() };
        let users = users.clone();
        joins.push(tokio::spawn(async move {
            let mut saved = vec![0u64; users.len()];
            let mut errors = Vec::new();
            for round in 0..60 {
                let i = (round + t) % users.len();
                let user = &users[i];
                let loaded = match store.load(user).await {
                    Ok(v) => v,
                    Err(e) => {
                        errors.push(format!("load: {e}"));
                        continue;
                    }
                };
                let (record, version) = match loaded {
                    Some(v) => (v.record, Some(v.version)),
                    None => (UserRecord::new(user.clone()), None),
                };
                match store.save(record, version, vec![notice_event(user, 1_700_000_000, round)]).await {
                    Ok(SaveOutcome::Saved(_)) => saved[i] += 1,
                    Ok(SaveOutcome::Conflict) => {}
                    Err(e) => errors.push(format!("save: {e}")),
                }
                if round % 10 == 0 {
                    let claim = NoticeClaim { now: 1, lease_until: 2, limit: 5, token: t as u64 };
                    if let Err(e) = store.claim_notices("sms", &claim).await {
                        errors.push(format!("claim: {e}"));
                    }
                }
            }
            (saved, errors)
        }));
    }
    let mut total = vec![0u64; users.len()];
    let mut errors = Vec::new();
    for j in joins {
        let (saved, e) = j.await.unwrap();
        for (t, s) in total.iter_mut().zip(saved) {
            *t += s;
        }
        errors.extend(e);
    }
    assert!(errors.is_empty(), "{errors:?}");
    for (user, saves) in users.iter().zip(total) {
        let version = a.load(user).await.unwrap().unwrap().version.0;
        assert_eq!(version, saves, "{user}: versions and successful saves disagree");
        let trail = a.read_audit(&AuditQuery::user(user.clone(), 0, u64::MAX, 1000)).await.unwrap();
        assert_eq!(trail.events.len() as u64, saves, "{user}: events of saves that did not win were kept");
    }
}

// ---------------------------------------------------------------------------------
// README: "On PostgreSQL each save is one statement (a data-modifying `WITH`), so it
// costs one round trip", with the pool the README's example builds
// (`sqlx::PgPool::connect(url)`, sqlx's defaults).

/// A TCP proxy in front of PostgreSQL that logs round trips: each time the client
/// speaks after the server did (or first), the first byte of what it sends (the
/// message type: `S` a lone Sync, which is sqlx's ping; `B` a prepared statement's Bind).
type TurnLog = Arc<std::sync::Mutex<Vec<u8>>>;

async fn counting_proxy() -> (String, TurnLog) {
    use std::sync::atomic::AtomicU8;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let turns: TurnLog = Arc::default();
    let counter = turns.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else { return };
            let server = tokio::net::TcpStream::connect("127.0.0.1:5432").await.unwrap();
            client.set_nodelay(true).unwrap();
            server.set_nodelay(true).unwrap();
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let last = Arc::new(AtomicU8::new(0)); // 0 none, 1 client, 2 server
            let (turns, last2) = (counter.clone(), last.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                loop {
                    let n = match cr.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if last2.swap(1, Ordering::SeqCst) != 1 {
                        turns.lock().unwrap().push(buf[0]);
                    }
                    if sw.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                loop {
                    let n = match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    last.store(2, Ordering::SeqCst);
                    if cw.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("postgres://postgres@127.0.0.1:{port}/test"), turns)
}

async fn round_trips_of_ten_saves(pool: sqlx::PgPool, turns: &TurnLog) -> usize {
    let tables = common::unique_tables("rev_rt");
    let store = PostgresStore::with_tables(pool.clone(), tables.clone());
    store.migrate().await.unwrap();
    let user = UserId::new("round-trips");
    // Warm up: the statements are prepared on the connection.
    let SaveOutcome::Saved(mut version) =
        store.save(UserRecord::new(user.clone()), None, vec![notice_event(&user, 1, 1)]).await.unwrap()
    else {
        panic!("create")
    };
    for _ in 0..2 {
        let v = store.load(&user).await.unwrap().unwrap();
        let SaveOutcome::Saved(next) =
            store.save(v.record, Some(version), vec![notice_event(&user, 2, 2)]).await.unwrap()
        else {
            panic!("update")
        };
        version = next;
    }
    let record = store.load(&user).await.unwrap().unwrap().record;
    let mut spent = 0;
    for n in 0..10 {
        // The pool's ping on release of the previous save is done: the connection is idle.
        while pool.num_idle() == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let start = turns.lock().unwrap().len();
        let SaveOutcome::Saved(next) =
            store.save(record.clone(), Some(version), vec![notice_event(&user, 3, n)]).await.unwrap()
        else {
            panic!("update")
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // Round trips up to and including the save's statement (its Bind); the pool's
        // ping on release comes after the answer and is not counted.
        let log = turns.lock().unwrap()[start..].to_vec();
        let statement = log.iter().position(|&m| m == b'B').expect("the save's statement");
        spent += statement + 1;
        version = next;
    }
    common::drop_tables(&pool, &tables).await;
    spent
}

/// README: a save is one statement, one round trip, "and sqlx's ping of an idle
/// connection before handing it out, unless the pool is built with
/// `test_before_acquire(false)`". (sqlx's ping on release runs after the answer, off
/// the save's path, and is not counted.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_save_costs_one_round_trip_and_the_pools_ping() {
    let (url, turns) = counting_proxy().await;
    let lean = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect(&url)
        .await
        .unwrap();
    let lean_trips = round_trips_of_ten_saves(lean, &turns).await;
    assert_eq!(
        lean_trips, 10,
        "the proxy counts one round trip per save without the pool's ping ({lean_trips})"
    );
    // sqlx's defaults, as `PgPool::connect` has them, but one connection, so that no
    // save lands on a connection where its statement is not prepared yet.
    let readme = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    let readme_trips = round_trips_of_ten_saves(readme, &turns).await;
    assert_eq!(readme_trips, 20, "ten saves, each after the pool's ping, took {readme_trips} round trips");
}

// ---------------------------------------------------------------------------------
// Table names: README "any plain `table` or `schema.table` works"; `TableNames`
// refuses names that are the same (`Error::SameTableNames`), but the outbox's two
// tables are named from the audit table's (`<audit>_relays`, `<audit>_notices`).

/// Records named `<audit>_notices` (or `<audit>_relays`) would stand in for the notice
/// outbox's own tables (`CREATE TABLE IF NOT EXISTS` skips them) and every claim would
/// fail: `TableNames` refuses such names up front, as it refuses two tables of one name.
#[test]
fn names_the_notice_outbox_takes_are_refused() {
    for taken in ["mfa_audit_notices", "mfa_audit_relays", "MFA_AUDIT_NOTICES"] {
        let named = mfa_kit_sqlx::TableNames::custom(taken, "mfa_audit");
        assert!(matches!(named, Err(mfa_kit_sqlx::Error::SameTableNames)), "{taken}: {named:?}");
        let settings =
            mfa_kit_sqlx::TableNames::custom("mfa_records", "mfa_audit").unwrap().with_org_settings(taken);
        assert!(matches!(settings, Err(mfa_kit_sqlx::Error::SameTableNames)), "{taken}: {settings:?}");
    }
    assert!(mfa_kit_sqlx::TableNames::custom("mfa_records", "mfa_audit").is_ok());
}

// ---------------------------------------------------------------------------------
// SQLite: migrate from a newly started process while another writes.

/// a second pool runs `migrate` (through `open`) again and again while the first
/// saves: nothing fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_migrate_beside_running_saves_fails_neither() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(sqlite_store(&dir).await);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            let mut errors = Vec::new();
            let mut n = 0u32;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let user = UserId::new(format!("m/{n}"));
                let events = vec![notice_event(&user, 1, 1), notice_event(&user, 1, 2)];
                if let Err(e) = store.save(UserRecord::new(user), None, events).await {
                    errors.push(format!("save: {e}"));
                }
            }
            errors
        })
    };
    let mut errors = Vec::new();
    for _ in 0..20 {
        match SqliteStore::open(dir.path().join("mfa.db")).await {
            Ok(other) => {
                if let Err(e) = other.migrate().await {
                    errors.push(format!("migrate: {e}"));
                }
                other.pool().close().await;
            }
            Err(e) => errors.push(format!("open: {e}")),
        }
    }
    stop.store(true, Ordering::SeqCst);
    errors.extend(writer.await.unwrap());
    assert!(errors.is_empty(), "{errors:?}");
}

// ---------------------------------------------------------------------------------
// ReadAudit: paging while events are appended between pages.

async fn audit_paging_while_appending<S: ReadAudit<Error = mfa_kit_sqlx::Error>>(store: &S) {
    let user = UserId::new("audit-paging");
    let at = 1_700_000_000;
    for n in 0..12 {
        store.append_events(vec![notice_event(&user, at + n % 3, n as usize)]).await.unwrap();
    }
    let mut query = AuditQuery::user(user.clone(), at, at + 10, 4);
    let mut seen = Vec::new();
    let mut extra = 100;
    loop {
        let page = store.read_audit(&query).await.unwrap();
        seen.extend(page.events.iter().map(|e| (e.event.at, e.id)));
        // Between pages: events at the same seconds (before and after the cursor).
        for second in 0..3 {
            extra += 1;
            store.append_events(vec![notice_event(&user, at + second, extra)]).await.unwrap();
        }
        let Some(next) = page.next else { break };
        query = query.after(Some(next));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "an audit page repeated an event or left (at, id) order");
    assert!(seen.len() >= 12, "events stored before paging began were skipped");
}

/// appending between audit pages repeats nothing and skips nothing stored before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_paging_while_appending_neither_repeats_nor_skips() {
    let pg = common::fresh_postgres_store().await;
    audit_paging_while_appending(&*pg).await;
    common::drop_postgres_store(pg).await;
    let dir = tempfile::tempdir().unwrap();
    audit_paging_while_appending(&sqlite_store(&dir).await).await;
}
