//! `verify_code` against a fair floor, on `PostgresStore` and `SqliteStore` (issue 26).
//!
//! A: `MfaService::verify_code` through the store. B, the floor: the same durable work
//! written by hand on the same pool and tables (so the same indexes):
//!
//! 1. the same `SELECT version, record … WHERE user_id = $1` (the record's JSON text
//!    is fetched, not parsed);
//! 2. the code checked with the core's `Totp::parse_code` and `Totp::verify` on the
//!    same secret, prepared once as the service's secret cache holds it, with the
//!    replay floor kept in the task's memory (the floor does not read it from the
//!    record);
//! 3. one conditional write: on PostgreSQL the store's statement shape, a
//!    data-modifying `WITH saved AS (UPDATE … WHERE user_id = $1 AND version = $n
//!    RETURNING version)` whose second part inserts the audit row when `saved` has a
//!    row, with the row's columns bound as scalars; on SQLite the store's transaction,
//!    the same `UPDATE … RETURNING version` then the `INSERT` of the audit row.
//!
//! The floor writes back the record text it read (same size as the service's new
//! record) and an audit row whose columns and JSON are those of the `code_accepted`
//! row the service wrote for the same user, with the time advanced: it serialises
//! nothing. What A spends beyond B is the library: parsing the record, the policy and
//! flow, serialising the new record and the event, binding the events as arrays.
//!
//! Each task has its own user, used by both A and B, and signs in one step later on
//! every call, so every code is accepted and no two tasks conflict. At 1, 4, 16 and 64
//! concurrent tasks, rounds of A and B alternate (A B A B …) in one process after a
//! warm-up round of each; p50 and p99 are over every call of the variant's rounds,
//! throughput is calls over the rounds' wall time.
//!
//! ```text
//! cargo bench -p mfa-kit-sqlx --all-features --bench verify_code [-- --db postgres|sqlite|both --rounds 20 --tasks 1,4,16,64]
//! ```
//!
//! Needs the PostgreSQL of the tests (`MFA_KIT_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; `.ci/services` starts it). SQLite runs on
//! a temporary file opened by `SqliteStore::open` (WAL, `synchronous = FULL`).

use std::time::{Duration, Instant};

use mfa_kit::UserId;
use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::otp::{Totp, Window};
use mfa_kit::policy::SignInContext;
use mfa_kit::service::MfaService;
use mfa_kit::store::Store;
use mfa_kit_sqlx::{PostgresStore, SqliteStore, TableNames};
use sqlx::{PgPool, SqlitePool};

const START: u64 = 1_700_000_000;
const PG_POOL: u32 = 16;

/// One task's user: the service that signs it in, and what the floor needs.
struct Signer<S: Store> {
    mfa: MfaService<S, PlaintextSealer>,
    clock: ManualClock,
    phone: Totp,
    user: UserId,
    now: u64,
    last_step: Option<u64>,
    row: FloorRow,
}

/// The columns the floor writes besides the record text: those of the service's last
/// `code_accepted` audit row for the user.
#[derive(Default)]
struct FloorRow {
    format: i32,
    has_mfa: bool,
    actor: String,
    outcome: String,
    kind: String,
    address: Option<String>,
    device: Option<String>,
    event: String,
}

impl<S: Store + Clone + Send + Sync + 'static> Signer<S> {
    async fn new(store: S, name: &str) -> Signer<S> {
        let clock = ManualClock::new(START);
        let mfa = MfaService::builder("Bench", store, PlaintextSealer).clock(clock.clone()).build();
        let (user, here) = (UserId::new(name), SignInContext::default());
        let start = mfa.start_enrollment(&user, name, &here).await.unwrap().unwrap();
        let key = KeyUri::parse(&start.uri).unwrap();
        let phone = Totp::new(key.secret(), key.totp_params().unwrap());
        let (a, b) =
            (phone.generate(START).unwrap().to_string(), phone.generate(START + 30).unwrap().to_string());
        clock.set(START + 30);
        mfa.confirm_enrollment(&user, &[&a, &b], &here).await.unwrap().unwrap();
        let last_step = Some(phone.step_at(START + 30).unwrap());
        let mut signer =
            Signer { mfa, clock, phone, user, now: START + 30, last_step, row: FloorRow::default() };
        // One sign-in, so the record and the audit row are those of a sign-in.
        signer.verify().await;
        signer
    }

    /// A: one accepted sign-in code through the service, a step after the last.
    async fn verify(&mut self) {
        self.now += 30;
        self.clock.set(self.now);
        let code = self.phone.generate(self.now).unwrap().to_string();
        let outcome = self.mfa.verify_code(&self.user, &code, &SignInContext::default()).await.unwrap();
        assert!(outcome.is_ok(), "{outcome:?}");
        self.last_step = Some(self.phone.step_at(self.now).unwrap());
    }

    /// The floor's decision: the same code, checked on the same prepared secret.
    fn check(&mut self) -> i64 {
        self.now += 30;
        let code = self.phone.generate(self.now).unwrap().to_string();
        let typed = self.phone.parse_code(&code).unwrap();
        let found = self.phone.verify(&typed, self.now, Window::ONE, self.last_step).unwrap();
        self.last_step = Some(found.accepted().expect("the floor's code is accepted").step);
        i64::try_from(self.now).unwrap()
    }
}

/// The floor's statements, on the store's tables.
struct FloorSql {
    load: String,
    save: String,
    /// PostgreSQL: the audit row's columns bound as one-element arrays.
    arrays: bool,
    /// SQLite: the audit row's `INSERT`, in the save's transaction.
    insert: String,
    /// Set-up: the record's other columns, and the user's last audit row.
    columns: String,
    last_event: String,
}

impl FloorSql {
    /// `arrays`: the audit row bound as the store binds its events, eight one-element
    /// arrays through `UNNEST … WITH ORDINALITY … ORDER BY` (`--floor-arrays`, to tell
    /// the statement's cost from the rest).
    fn postgres(t: &TableNames, arrays: bool) -> FloorSql {
        let (records, audit) = (t.records(), t.audit());
        let select = if arrays {
            "SELECT u, a, t, o, k, ad, d, ev FROM UNNEST(ARRAY[$1]::text[], $6::text[], $7::bigint[], $8::text[], \
             $9::text[], $10::text[], $11::text[], $12::text[]) WITH ORDINALITY AS e(u, a, t, o, k, ad, d, ev, n) \
             WHERE EXISTS (SELECT 1 FROM saved) ORDER BY n"
        } else {
            "SELECT $1, $6, $7, $8, $9, $10, $11, $12 WHERE EXISTS (SELECT 1 FROM saved)"
        };
        FloorSql {
            load: format!("SELECT version, record FROM {records} WHERE user_id = $1"),
            save: format!(
                "WITH saved AS (UPDATE {records} SET format = $2, has_mfa = $3, record = $4, \
                 version = version + 1, updated_at = now() WHERE user_id = $1 AND version = $5 RETURNING version), \
                 events AS (INSERT INTO {audit} (user_id, actor, at, outcome, kind, address, device, event) \
                 {select}) SELECT version FROM saved"
            ),
            arrays,
            insert: String::new(),
            columns: format!("SELECT format, has_mfa FROM {records} WHERE user_id = $1"),
            last_event: format!(
                "SELECT actor, outcome, kind, address, device, event FROM {audit} \
                 WHERE user_id = $1 ORDER BY id DESC LIMIT 1"
            ),
        }
    }

    fn sqlite(t: &TableNames) -> FloorSql {
        let (records, audit) = (t.records(), t.audit());
        FloorSql {
            load: format!("SELECT version, record FROM {records} WHERE user_id = ?1"),
            save: format!(
                "UPDATE {records} SET format = ?2, has_mfa = ?3, record = ?4, version = version + 1 \
                 WHERE user_id = ?1 AND version = ?5 RETURNING version"
            ),
            arrays: false,
            insert: format!(
                "INSERT INTO {audit} (user_id, actor, at, outcome, kind, address, device, event) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ),
            columns: format!("SELECT format, has_mfa FROM {records} WHERE user_id = ?1"),
            last_event: format!(
                "SELECT actor, outcome, kind, address, device, event FROM {audit} \
                 WHERE user_id = ?1 ORDER BY id DESC LIMIT 1"
            ),
        }
    }
}

/// B on PostgreSQL: one `SELECT`, the check, one data-modifying statement.
async fn floor_pg(pool: &PgPool, sql: &FloorSql, s: &mut Signer<PostgresStore>) {
    let (version, record): (i64, String) =
        sqlx::query_as(&sql.load).bind(s.user.as_str()).fetch_one(pool).await.unwrap();
    let at = s.check();
    let r = &s.row;
    let query = sqlx::query_scalar(&sql.save)
        .bind(s.user.as_str())
        .bind(r.format)
        .bind(r.has_mfa)
        .bind(record)
        .bind(version);
    let query = if sql.arrays {
        query
            .bind([&r.actor])
            .bind([at])
            .bind([&r.outcome])
            .bind([&r.kind])
            .bind([&r.address])
            .bind([&r.device])
            .bind([&r.event])
    } else {
        query
            .bind(&r.actor)
            .bind(at)
            .bind(&r.outcome)
            .bind(&r.kind)
            .bind(&r.address)
            .bind(&r.device)
            .bind(&r.event)
    };
    let saved: Option<i64> = query.fetch_optional(pool).await.unwrap();
    assert_eq!(saved, Some(version + 1));
}

/// B on SQLite: one `SELECT`, the check, then the store's transaction by hand.
async fn floor_lite(pool: &SqlitePool, sql: &FloorSql, s: &mut Signer<SqliteStore>) {
    let (version, record): (i64, String) =
        sqlx::query_as(&sql.load).bind(s.user.as_str()).fetch_one(pool).await.unwrap();
    let at = s.check();
    let r = &s.row;
    let mut tx = pool.begin().await.unwrap();
    let saved: Option<i64> = sqlx::query_scalar(&sql.save)
        .bind(s.user.as_str())
        .bind(r.format)
        .bind(r.has_mfa)
        .bind(record)
        .bind(version)
        .fetch_optional(&mut *tx)
        .await
        .unwrap();
    assert_eq!(saved, Some(version + 1));
    sqlx::query(&sql.insert)
        .bind(s.user.as_str())
        .bind(&r.actor)
        .bind(at)
        .bind(&r.outcome)
        .bind(&r.kind)
        .bind(&r.address)
        .bind(&r.device)
        .bind(&r.event)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Nanoseconds on a CPU so far (`/proc/…/schedstat`): this process's threads', and
/// every `postgres` process's (the server's backends, walwriter, …; another client's
/// work there counts too, so on a shared machine it is a rough figure).
fn cpu_ns() -> (u64, u64) {
    fn on_cpu(path: std::path::PathBuf) -> u64 {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0)
    }
    let own = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .map(|t| on_cpu(t.path().join("schedstat")))
        .sum();
    let mut server = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.starts_with("postgres") {
            server += on_cpu(entry.path().join("schedstat"));
        }
    }
    (own, server)
}

/// One variant's calls over its rounds.
#[derive(Default)]
struct Samples {
    times: Vec<Duration>,
    wall: Duration,
    round_p50: Vec<Duration>,
    /// CPU nanoseconds of this process and of the server during the rounds.
    client: u64,
    server: u64,
}

impl Samples {
    fn add(&mut self, mut round: Vec<Duration>, wall: Duration, cpu: ((u64, u64), (u64, u64))) {
        round.sort();
        self.round_p50.push(percentile(&round, 0.5));
        self.times.extend(round);
        self.wall += wall;
        self.client += cpu.1.0 - cpu.0.0;
        self.server += cpu.1.1 - cpu.0.1;
    }

    /// Microseconds of CPU per call: (this process, the server).
    fn cpu_per_call(&self) -> (f64, f64) {
        let n = self.times.len() as f64;
        (self.client as f64 / 1e3 / n, self.server as f64 / 1e3 / n)
    }

    fn summary(&mut self) -> (Duration, Duration, f64) {
        self.times.sort();
        let rate = self.times.len() as f64 / self.wall.as_secs_f64();
        (percentile(&self.times, 0.5), percentile(&self.times, 0.99), rate)
    }
}

/// Which of the two a round runs.
#[derive(Clone, Copy)]
enum Variant {
    Service,
    Floor,
}

/// Runs `calls` calls of `variant` on every signer at once; gives the signers back with
/// each call's time, and the round's wall time.
async fn round<S, F>(
    signers: Vec<Signer<S>>,
    calls: usize,
    variant: Variant,
    floor: F,
    skip: bool,
) -> (Vec<Signer<S>>, Vec<Duration>, Duration)
where
    S: Store + Clone + Send + Sync + 'static,
    F: AsyncFloor<S>,
{
    let calls = if skip { 1 } else { calls };
    let began = Instant::now();
    let handles: Vec<_> = signers
        .into_iter()
        .map(|mut s| {
            let floor = floor.clone();
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(calls);
                for _ in 0..calls {
                    let t = Instant::now();
                    match variant {
                        Variant::Service => s.verify().await,
                        Variant::Floor => floor.run(&mut s).await,
                    }
                    times.push(t.elapsed());
                }
                (s, times)
            })
        })
        .collect();
    let (mut back, mut all) = (Vec::new(), Vec::new());
    for h in handles {
        let (s, times) = h.await.unwrap();
        back.push(s);
        all.extend(times);
    }
    (back, all, began.elapsed())
}

/// The floor of one backend, cloned into each task.
trait AsyncFloor<S: Store>: Clone + Send + Sync + 'static {
    fn run(&self, s: &mut Signer<S>) -> impl std::future::Future<Output = ()> + Send;
}

#[derive(Clone)]
struct PgFloor(PgPool, std::sync::Arc<FloorSql>);

impl AsyncFloor<PostgresStore> for PgFloor {
    async fn run(&self, s: &mut Signer<PostgresStore>) {
        floor_pg(&self.0, &self.1, s).await
    }
}

#[derive(Clone)]
struct LiteFloor(SqlitePool, std::sync::Arc<FloorSql>);

impl AsyncFloor<SqliteStore> for LiteFloor {
    async fn run(&self, s: &mut Signer<SqliteStore>) {
        floor_lite(&self.0, &self.1, s).await
    }
}

struct Args {
    postgres: bool,
    sqlite: bool,
    rounds: usize,
    tasks: Vec<usize>,
    /// For profiling one side (`--only service|floor`): the other side's rounds are
    /// skipped and the ratios mean nothing.
    only: Option<String>,
    /// `--floor-arrays`: see [`FloorSql::postgres`].
    floor_arrays: bool,
}

fn args() -> Args {
    let mut a = Args {
        postgres: true,
        sqlite: true,
        rounds: 20,
        tasks: vec![1, 4, 16, 64],
        only: None,
        floor_arrays: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--db" => match it.next().as_deref() {
                Some("postgres") => a.sqlite = false,
                Some("sqlite") => a.postgres = false,
                Some("both") => {}
                other => panic!("--db postgres|sqlite|both, not {other:?}"),
            },
            "--rounds" => a.rounds = it.next().and_then(|n| n.parse().ok()).expect("--rounds N"),
            "--tasks" => {
                a.tasks = it
                    .next()
                    .expect("--tasks 1,4,16,64")
                    .split(',')
                    .map(|n| n.parse().expect("--tasks 1,4,16,64"))
                    .collect();
            }
            "--only" => a.only = it.next(),
            "--floor-arrays" => a.floor_arrays = true,
            _ => {} // `cargo bench` passes --bench, and filters.
        }
    }
    a
}

/// Calls per task per round: short rounds, so that A and B alternate often on a
/// machine whose speed drifts (50 calls at 1 task, 25 each at 4, 8 each at 16 and
/// beyond).
fn calls_per_task(tasks: usize) -> usize {
    match tasks {
        1 => 50,
        2..=4 => 25,
        _ => 8,
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Runs every level for one backend and prints its table.
async fn run_backend<S, F>(db: &str, label: &str, store: S, floor: F, fill: impl AsyncFill<S>, a: &Args)
where
    S: Store + Clone + Send + Sync + 'static,
    F: AsyncFloor<S>,
{
    println!(
        "\n{label}: verify_code (A) vs the floor (B), {} rounds A B A B … per level, load {}",
        a.rounds,
        load_average()
    );
    println!(
        "{:>5} {:>11} {:>11} {:>6} {:>11} {:>11} {:>6} {:>9} {:>9} {:>6} {:>17}",
        "tasks", "A p50", "B p50", "x", "A p99", "B p99", "x", "A call/s", "B call/s", "x", "pairs' p50 x"
    );
    for &tasks in &a.tasks {
        let mut signers = Vec::new();
        for t in 0..tasks {
            let mut s = Signer::new(store.clone(), &format!("{db}-{tasks}-{t}")).await;
            fill.fill(&mut s).await;
            signers.push(s);
        }
        if tasks == a.tasks[0] {
            let (record, event) = fill.sizes(&signers[0]).await;
            println!("{:>5} (record JSON {record} bytes, audit event JSON {event} bytes)", "");
        }
        let calls = calls_per_task(tasks);
        let (skip_a, skip_b) = (a.only.as_deref() == Some("floor"), a.only.as_deref() == Some("service"));
        // Warm-up: a round of each, not counted.
        (signers, _, _) = round(signers, calls, Variant::Service, floor.clone(), skip_a).await;
        (signers, _, _) = round(signers, calls, Variant::Floor, floor.clone(), skip_b).await;
        let (mut va, mut vb) = (Samples::default(), Samples::default());
        for _ in 0..a.rounds {
            let before = cpu_ns();
            let (s, times, wall) = round(signers, calls, Variant::Service, floor.clone(), skip_a).await;
            let between = cpu_ns();
            va.add(times, wall, (before, between));
            let (s, times, wall) = round(s, calls, Variant::Floor, floor.clone(), skip_b).await;
            vb.add(times, wall, (between, cpu_ns()));
            signers = s;
        }
        let mut pair: Vec<f64> =
            va.round_p50.iter().zip(&vb.round_p50).map(|(x, y)| x.as_secs_f64() / y.as_secs_f64()).collect();
        pair.sort_by(f64::total_cmp);
        let ((ap50, ap99, arate), (bp50, bp99, brate)) = (va.summary(), vb.summary());
        let r = |x: Duration, y: Duration| x.as_secs_f64() / y.as_secs_f64();
        println!(
            "{tasks:>5} {:>11} {:>11} {:>6.3} {:>11} {:>11} {:>6.3} {:>9.0} {:>9.0} {:>6.3} {:>17}",
            ms(ap50),
            ms(bp50),
            r(ap50, bp50),
            ms(ap99),
            ms(bp99),
            r(ap99, bp99),
            arate,
            brate,
            arate / brate,
            format!("{:.2} ({:.2}..{:.2})", pair[pair.len() / 2], pair[0], pair[pair.len() - 1]),
        );
        let ((ac, asv), (bc, bsv)) = (va.cpu_per_call(), vb.cpu_per_call());
        println!(
            "{:>5} CPU per call: A {ac:.0} µs here, {asv:.0} µs in postgres processes; B {bc:.0} µs here, {bsv:.0} µs in postgres processes",
            ""
        );
        println!(
            "RESULT {db} tasks={tasks} calls={} a_p50_us={:.1} b_p50_us={:.1} a_p99_us={:.1} b_p99_us={:.1} a_rate={arate:.1} b_rate={brate:.1} a_cpu_us={ac:.1} b_cpu_us={bc:.1} a_server_us={asv:.1} b_server_us={bsv:.1}",
            va.times.len(),
            ap50.as_secs_f64() * 1e6,
            bp50.as_secs_f64() * 1e6,
            ap99.as_secs_f64() * 1e6,
            bp99.as_secs_f64() * 1e6,
        );
    }
    println!(
        "(x: A over B for the times, A's calls per second over B's for throughput; pairs' p50 x: the median \
         (min..max) over the round pairs of A's round p50 over B's; load after: {})",
        load_average()
    );
}

/// Reads, once per user, the columns the floor writes besides the record.
trait AsyncFill<S: Store> {
    fn fill(&self, s: &mut Signer<S>) -> impl std::future::Future<Output = ()>;
    /// The user's record's and last event's JSON lengths.
    fn sizes(&self, s: &Signer<S>) -> impl std::future::Future<Output = (usize, usize)>;
}

type EventColumns = (String, String, String, Option<String>, Option<String>, String);

macro_rules! fill {
    ($floor:ty, $store:ty) => {
        impl AsyncFill<$store> for $floor {
            async fn fill(&self, s: &mut Signer<$store>) {
                let (pool, sql) = (&self.0, &self.1);
                (s.row.format, s.row.has_mfa) =
                    sqlx::query_as(&sql.columns).bind(s.user.as_str()).fetch_one(pool).await.unwrap();
                let r: EventColumns =
                    sqlx::query_as(&sql.last_event).bind(s.user.as_str()).fetch_one(pool).await.unwrap();
                (s.row.actor, s.row.outcome, s.row.kind, s.row.address, s.row.device, s.row.event) = r;
                assert_eq!(s.row.kind, "code_accepted");
            }

            async fn sizes(&self, s: &Signer<$store>) -> (usize, usize) {
                let (_, record): (i64, String) =
                    sqlx::query_as(&self.1.load).bind(s.user.as_str()).fetch_one(&self.0).await.unwrap();
                (record.len(), s.row.event.len())
            }
        }
    };
}

fill!(PgFloor, PostgresStore);
fill!(LiteFloor, SqliteStore);

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    if a.postgres {
        let url = std::env::var("MFA_KIT_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
            % 1_000_000_000;
        let tables = TableNames::custom(&format!("bench_{nanos}_r"), &format!("bench_{nanos}_a"))
            .unwrap()
            .with_org_settings(&format!("bench_{nanos}_o"))
            .unwrap();
        rt.block_on(async {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(PG_POOL)
                .connect(&url)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}; start it with .ci/services"));
            let store = PostgresStore::with_tables(pool.clone(), tables.clone());
            store.migrate().await.unwrap();
            let floor =
                PgFloor(pool.clone(), std::sync::Arc::new(FloorSql::postgres(&tables, a.floor_arrays)));
            let label = format!("PostgreSQL (pool of {PG_POOL})");
            run_backend("postgres", &label, store, floor.clone(), floor, &a).await;
            for table in [tables.records(), tables.audit(), tables.org_settings()] {
                sqlx::query(&format!("DROP TABLE IF EXISTS {table}")).execute(&pool).await.unwrap();
            }
        });
    }
    if a.sqlite {
        let dir = tempfile::tempdir().unwrap();
        rt.block_on(async {
            let store = SqliteStore::open(dir.path().join("bench.db")).await.unwrap();
            let floor =
                LiteFloor(store.pool().clone(), std::sync::Arc::new(FloorSql::sqlite(store.tables())));
            let label = "SQLite (SqliteStore::open: WAL, synchronous FULL, pool of 8)";
            run_backend("sqlite", label, store, floor.clone(), floor, &a).await;
        });
    }
}
