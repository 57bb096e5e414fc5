//! `verify_code` on PostgreSQL against the floor of the same work done by hand on the
//! same pool: one `SELECT` of the record plus one conditional `UPDATE` of it.
//!
//! Each task has its own user, clock and phone and signs in with the next step's code
//! every iteration, so every call is an accepted code: a load, the TOTP check and one
//! conditional save carrying the `CodeAccepted` audit row. Prints p50 and p99 per call
//! at 1 and 16 concurrent tasks; criterion then measures the single-task mean.
//!
//! Needs the PostgreSQL of the tests (`MFA_KIT_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`).

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use mfa_kit::UserId;
use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::policy::SignInContext;
use mfa_kit::service::MfaService;
use mfa_kit::{KeyUri, Totp};
use mfa_kit_sqlx::{PostgresStore, TableNames};
use sqlx::PgPool;

const START: u64 = 1_700_000_000;

struct Signer {
    mfa: MfaService<PostgresStore, PlaintextSealer>,
    clock: ManualClock,
    phone: Totp,
    user: UserId,
    now: u64,
}

impl Signer {
    async fn new(store: PostgresStore, name: &str) -> Signer {
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
        Signer { mfa, clock, phone, user, now: START + 30 }
    }

    /// One accepted sign-in code, a step after the last.
    async fn verify(&mut self) {
        self.now += 30;
        self.clock.set(self.now);
        let code = self.phone.generate(self.now).unwrap().to_string();
        let outcome = self.mfa.verify_code(&self.user, &code, &SignInContext::default()).await.unwrap();
        assert!(outcome.is_ok(), "{outcome:?}");
    }
}

/// The floor: the same load and conditional save, written by hand.
async fn floor(pool: &PgPool, tables: &TableNames, user: &str) {
    let (version, record): (i64, String) =
        sqlx::query_as(&format!("SELECT version, record FROM {} WHERE user_id = $1", tables.records()))
            .bind(user)
            .fetch_one(pool)
            .await
            .unwrap();
    let updated = sqlx::query(&format!(
        "UPDATE {} SET record = $2, version = version + 1 WHERE user_id = $1 AND version = $3",
        tables.records()
    ))
    .bind(user)
    .bind(record)
    .bind(version)
    .execute(pool)
    .await
    .unwrap();
    assert_eq!(updated.rows_affected(), 1);
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn measure<F, Fut>(tasks: usize, make: F) -> (Duration, Duration)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Vec<Duration>> + Send + 'static,
{
    let handles: Vec<_> = (0..tasks).map(|t| tokio::spawn(make(t))).collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all.sort();
    (percentile(&all, 0.5), percentile(&all, 0.99))
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let url = std::env::var("MFA_KIT_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        % 1_000_000_000;
    let tables = TableNames::custom(&format!("bench_{nanos}_r"), &format!("bench_{nanos}_a")).unwrap();
    let (store, pool) = rt.block_on(async {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(16)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}; start it with .ci/services"));
        let store = PostgresStore::with_tables(pool.clone(), tables.clone());
        store.migrate().await.unwrap();
        (store, pool)
    });
    let per_task = |tasks: usize| if tasks == 1 { 2000 } else { 300 };

    println!("\nverify_code on PostgreSQL vs the floor (one SELECT + one conditional UPDATE), same pool:");
    println!(
        "{:>6} {:>14} {:>14} {:>14} {:>14} {:>8} {:>8}",
        "tasks", "verify p50", "floor p50", "verify p99", "floor p99", "p50 x", "p99 x"
    );
    for tasks in [1usize, 16] {
        let n = per_task(tasks);
        let (vp50, vp99) = rt.block_on(measure(tasks, |t| {
            let store = store.clone();
            async move {
                let mut signer = Signer::new(store, &format!("verify-{tasks}-{t}")).await;
                for _ in 0..50 {
                    signer.verify().await;
                }
                let mut times = Vec::with_capacity(n);
                for _ in 0..n {
                    let began = Instant::now();
                    signer.verify().await;
                    times.push(began.elapsed());
                }
                times
            }
        }));
        let (fp50, fp99) = rt.block_on(measure(tasks, |t| {
            let (store, pool, tables) = (store.clone(), pool.clone(), tables.clone());
            async move {
                let name = format!("floor-{tasks}-{t}");
                drop(Signer::new(store, &name).await);
                for _ in 0..50 {
                    floor(&pool, &tables, &name).await;
                }
                let mut times = Vec::with_capacity(n);
                for _ in 0..n {
                    let began = Instant::now();
                    floor(&pool, &tables, &name).await;
                    times.push(began.elapsed());
                }
                times
            }
        }));
        println!(
            "{tasks:>6} {:>14?} {:>14?} {:>14?} {:>14?} {:>8.2} {:>8.2}",
            vp50,
            fp50,
            vp99,
            fp99,
            vp50.as_secs_f64() / fp50.as_secs_f64(),
            vp99.as_secs_f64() / fp99.as_secs_f64()
        );
    }

    let mut signer = rt.block_on(Signer::new(store.clone(), "criterion"));
    let mut group = c.benchmark_group("postgres");
    group.measurement_time(Duration::from_secs(3)).sample_size(20);
    group.bench_function("verify_code", |b| b.iter(|| rt.block_on(signer.verify())));
    group.bench_function("floor", |b| b.iter(|| rt.block_on(floor(&pool, &tables, "criterion"))));
    group.finish();
    rt.block_on(async {
        for table in [tables.records(), tables.audit()] {
            sqlx::query(&format!("DROP TABLE IF EXISTS {table}")).execute(&pool).await.unwrap();
        }
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
