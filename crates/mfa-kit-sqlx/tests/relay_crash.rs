//! The notice relay across real process deaths, on PostgreSQL (issue 25's crash
//! acceptance). The relay runs in separate OS processes (`src/bin/test_relay.rs`) whose
//! notifier appends each delivery to a file, synced, before it returns `Ok`.
//!
//! - A relay process is killed (SIGKILL) at random moments while 1,000 notices drain
//!   through it and restarted each time: every notice is delivered at least once, and
//!   there are no more repeats than kills: every repeat is of the notice a killed
//!   process had recorded last, its kill having fallen between the delivery and its
//!   acknowledgement. The kill delays come from a seeded generator; the seed is
//!   printed, and `MFA_KIT_CRASH_SEED` replays it.
//! - Four relay processes run side by side, without kills, while 1,000 notices (among
//!   2,000 events) are written: every notice is delivered exactly once.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use mfa_kit::RequestContext;
use mfa_kit::UserId;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::store::{NoticeOutbox, Store};
use mfa_kit_sqlx::{PostgresStore, TableNames};

const NOTICES: usize = 1000;
const RELAY: &str = "crash";
const T0: u64 = 1_700_000_000;

/// The two tests take turns: the relay reads the trail only below the cluster's oldest
/// open transaction, and five relay processes at once would only measure the scheduler.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// splitmix64: the kill delays, replayable from the printed seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

fn seed() -> u64 {
    match std::env::var("MFA_KIT_CRASH_SEED") {
        Ok(seed) => seed.parse().expect("MFA_KIT_CRASH_SEED is a number"),
        Err(_) => {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        }
    }
}

async fn fresh_store(label: &str) -> PostgresStore {
    let store = PostgresStore::with_tables(postgres_pool(8).await, unique_tables(label));
    store.migrate().await.expect("migrate");
    store
}

/// A security notice for user `n`.
fn notice(n: usize) -> AuditEvent {
    let user = UserId::new(format!("user-{n}"));
    let context = RequestContext::from_address("198.51.100.4".parse().unwrap()).with_device("Edge");
    AuditEvent::new(&user, &user, T0 + n as u64, &context, EventKind::RecoveryCodesGenerated { count: 10 })
}

/// An event that is not a notice.
fn routine(n: usize) -> AuditEvent {
    let user = UserId::new(format!("user-{n}"));
    AuditEvent::new(&user, &user, T0 + n as u64, &RequestContext::default(), EventKind::LockoutEnded)
}

/// The ids of the stored notices.
async fn notice_ids(store: &PostgresStore) -> HashSet<i64> {
    let audit = store.tables().audit();
    let sql = format!("SELECT id FROM {audit} WHERE kind = 'recovery_codes_generated'");
    sqlx::query_scalar(&sql).fetch_all(store.pool()).await.unwrap().into_iter().collect()
}

/// Whether the relay has read the whole trail and its queue is empty: nothing is left
/// to deliver, whether or not every notice was.
async fn drained(store: &PostgresStore) -> bool {
    let t = store.tables();
    let sql = format!(
        "SELECT NOT EXISTS (SELECT 1 FROM {queue} WHERE relay = $1) AND EXISTS (SELECT 1 FROM {relays} \
         WHERE relay = $1 AND (cursor_tx, cursor_id) >= (SELECT coalesce(tx, 0), id FROM {audit} \
         ORDER BY coalesce(tx, 0) DESC, id DESC LIMIT 1))",
        queue = t.notice_queue(),
        relays = t.notice_relays(),
        audit = t.audit(),
    );
    sqlx::query_scalar(&sql).bind(RELAY).fetch_one(store.pool()).await.unwrap()
}

/// Starts a relay process; it stops when its standard input is closed.
fn start_relay(tables: &TableNames, deliveries: &Path, delivery_ms: u64, lease: u64, batch: u32) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mfa-kit-sqlx-test-relay"))
        .args([&postgres_url(), tables.records(), tables.audit(), RELAY])
        .arg(deliveries)
        .args([delivery_ms.to_string(), lease.to_string(), batch.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a relay process")
}

/// Closes the relay's standard input and waits for it to end its batch and exit.
fn stop_relay(mut child: Child) -> Output {
    drop(child.stdin.take());
    child.wait_with_output().expect("the relay's exit")
}

/// The deliveries recorded in `path`: (event id, attempt), in order.
fn deliveries(path: &Path) -> Vec<(i64, u32)> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => panic!("{}: {e}", path.display()),
    };
    text.lines()
        .map(|line| {
            let (id, attempt) = line.split_once(' ').unwrap_or_else(|| panic!("a torn line {line:?}"));
            (id.parse().expect("an event id"), attempt.parse().expect("an attempt"))
        })
        .collect()
}

fn distinct(lines: &[(i64, u32)]) -> HashSet<i64> {
    lines.iter().map(|(id, _)| *id).collect()
}

/// Where the kills fell, told from the deliveries file afterwards.
#[derive(Debug, Default)]
struct Kills {
    /// Before the process recorded any delivery (starting up, connecting, first claim).
    before_delivering: usize,
    /// After its last recorded delivery and before the acknowledgement committed: that
    /// notice was delivered again.
    before_acknowledging: usize,
    /// After its last delivery was acknowledged: during a claim, a delivery not yet
    /// recorded, or an idle wait.
    elsewhere: usize,
}

impl Kills {
    fn total(&self) -> usize {
        self.before_delivering + self.before_acknowledging + self.elsewhere
    }
}

/// Checks that every repeated delivery is explained by a kill: the delivery before it
/// of the same notice was the last one a killed process recorded (a process delivers
/// and acknowledges one notice at a time, so it can leave only that one unacknowledged).
/// `killed` holds the end (in lines) of each killed process's deliveries. Returns where
/// the kills fell, and the repeats no kill explains (line numbers).
fn account(lines: &[(i64, u32)], killed: &[(usize, usize)]) -> (Kills, Vec<usize>) {
    let last_of_killed: HashSet<usize> =
        killed.iter().filter(|(from, to)| to > from).map(|(_, to)| to - 1).collect();
    let mut previous: HashMap<i64, usize> = HashMap::new();
    let mut repeated: HashSet<usize> = HashSet::new();
    let mut unexplained = Vec::new();
    for (i, (id, _)) in lines.iter().enumerate() {
        if let Some(j) = previous.insert(*id, i) {
            repeated.insert(j);
            if !last_of_killed.contains(&j) {
                unexplained.push(i);
            }
        }
    }
    let mut kills = Kills::default();
    for (from, to) in killed {
        if to == from {
            kills.before_delivering += 1;
        } else if repeated.contains(&(to - 1)) {
            kills.before_acknowledging += 1;
        } else {
            kills.elsewhere += 1;
        }
    }
    (kills, unexplained)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_at_random_loses_no_notice_and_repeats_at_most_one_per_kill() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let seed = seed();
    eprintln!("relay crash: seed {seed} (MFA_KIT_CRASH_SEED={seed} replays the kill delays)");
    let mut rng = Rng(seed);
    let store = fresh_store("relay_crash").await;
    for chunk in (0..NOTICES).collect::<Vec<_>>().chunks(100) {
        store.append_events(chunk.iter().map(|&n| notice(n)).collect()).await.expect("append");
    }
    let expected = notice_ids(&store).await;
    assert_eq!(expected.len(), NOTICES);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deliveries");
    // Deliveries of 10 ms, batches of 10, a lease of 2 s (1 to 2 s on the relay's
    // clock of whole seconds): a killed relay's notices are claimed again soon.
    let start = || start_relay(store.tables(), &file, 10, 2, 10);

    let began = Instant::now();
    let deadline = Duration::from_secs(100);
    let mut killed = Vec::new();
    let mut errors = Vec::new();
    let mut relay = start();
    let mut recorded_at_start = 0;
    let done = loop {
        tokio::time::sleep(Duration::from_millis(20 + rng.below(480))).await;
        if drained(&store).await {
            break true;
        }
        if began.elapsed() > deadline {
            break false;
        }
        relay.kill().expect("SIGKILL the relay");
        let output = relay.wait_with_output().expect("the killed relay's exit");
        errors.extend(String::from_utf8_lossy(&output.stderr).lines().map(str::to_string));
        let recorded = deliveries(&file).len();
        killed.push((recorded_at_start, recorded));
        recorded_at_start = recorded;
        relay = start();
    };
    let last = stop_relay(relay);
    let took = began.elapsed();
    errors.extend(String::from_utf8_lossy(&last.stderr).lines().map(str::to_string));

    let lines = deliveries(&file);
    let delivered = distinct(&lines);
    let stats = store.notice_stats(RELAY).await.unwrap();
    let duplicates = lines.len() - delivered.len();
    let (kills, unexplained) = account(&lines, &killed);
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for (id, _) in &lines {
        *counts.entry(*id).or_default() += 1;
    }
    let most = counts.values().max().copied().unwrap_or(0);
    eprintln!(
        "relay crash: {NOTICES} notices, {} kills ({} before the first delivery, {} between a recorded \
         delivery and its acknowledgement, {} elsewhere), {} deliveries, {duplicates} duplicates (at most \
         {most} deliveries of one notice), {:.1} s, seed {seed}; relay errors: {errors:?}",
        kills.total(),
        kills.before_delivering,
        kills.before_acknowledging,
        kills.elsewhere,
        lines.len(),
        took.as_secs_f64(),
    );
    assert!(last.status.success(), "the last relay failed: {:?}", last.status);
    assert!(done, "not drained within {deadline:?}: {} of {NOTICES} delivered, {stats:?}", delivered.len());
    assert!(delivered.is_subset(&expected), "deliveries of events that are not notices");
    let lost: Vec<_> = expected.difference(&delivered).collect();
    assert!(lost.is_empty(), "notices lost: {lost:?}");
    assert!(duplicates <= kills.total(), "{duplicates} duplicates after {} kills", kills.total());
    let unexplained: Vec<_> = unexplained.iter().map(|&i| lines[i]).collect();
    assert!(unexplained.is_empty(), "repeats no kill explains (event id, attempt): {unexplained:?}");
    assert_eq!((stats.pending, stats.failing), (0, 0), "{stats:?}");
    assert!(kills.total() >= 20, "only {} kills: the drain was too quick to test much", kills.total());
    drop_tables(store.pool(), store.tables()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_relay_processes_deliver_each_notice_exactly_once() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let store = fresh_store("relay_four").await;
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (0..4).map(|r| dir.path().join(format!("deliveries-{r}"))).collect();
    let began = Instant::now();
    // Deliveries of 2 ms, batches of 10, a lease of 30 s: far longer than a batch takes.
    let relays: Vec<Child> = files.iter().map(|file| start_relay(store.tables(), file, 2, 30, 10)).collect();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in (w..NOTICES).step_by(2) {
                    store.append_events(vec![notice(n), routine(n)]).await.expect("append");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let all = |files: &[PathBuf]| files.iter().flat_map(|f| deliveries(f)).collect::<Vec<_>>();
    while began.elapsed() < Duration::from_secs(90) {
        if drained(&store).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = began.elapsed();
    let outputs: Vec<Output> = relays.into_iter().map(stop_relay).collect();
    for (r, output) in outputs.iter().enumerate() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success() && stderr.is_empty(), "relay {r} failed: {stderr}");
    }

    let expected = notice_ids(&store).await;
    let lines = all(&files);
    let delivered = distinct(&lines);
    let shares: Vec<usize> = files.iter().map(|f| deliveries(f).len()).collect();
    eprintln!(
        "four relay processes: {NOTICES} notices among {} events, {} deliveries ({shares:?} by relay), \
         {:.1} s",
        2 * NOTICES,
        lines.len(),
        took.as_secs_f64()
    );
    assert_eq!(expected.len(), NOTICES);
    assert_eq!(delivered, expected, "notices lost or foreign");
    assert_eq!(lines.len(), NOTICES, "live relays delivered a notice twice");
    assert!(lines.iter().all(|(_, attempt)| *attempt == 1), "a notice needed a second attempt");
    assert_eq!(store.notice_stats(RELAY).await.unwrap().pending, 0);
    drop_tables(store.pool(), store.tables()).await;
}
