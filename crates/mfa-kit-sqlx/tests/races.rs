//! The service's "at most once" and exact counting on the SQL stores: 16 tokio tasks
//! racing for one user (one code accepted once, every wrong code counted once).
#![cfg(feature = "sqlite")]

use std::sync::Arc;

use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::otp::Totp;
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::policy::SignInContext;
use mfa_kit::service::MfaService;
use mfa_kit::{Refusal, UserId};
use mfa_kit_sqlx::SqliteStore;

const START: u64 = 1_700_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_tasks_on_sqlite_accept_one_code_once_and_count_wrong_codes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("mfa.db")).await.unwrap();
    race_on(store, "sqlite").await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_tasks_on_postgres_accept_one_code_once_and_count_wrong_codes_exactly() {
    let url = std::env::var("MFA_KIT_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(16)
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}; start it with .ci/services"));
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        % 1_000_000_000;
    let stem = format!("t_races_{}_{nanos}", std::process::id());
    let tables = mfa_kit_sqlx::TableNames::custom(&format!("{stem}_r"), &format!("{stem}_a")).unwrap();
    let store = mfa_kit_sqlx::PostgresStore::with_tables(pool.clone(), tables.clone());
    store.migrate().await.unwrap();
    race_on(store, "postgres").await;
    for table in [
        tables.records().to_string(),
        tables.audit().to_string(),
        tables.notice_relays(),
        tables.notice_queue(),
    ] {
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}")).execute(&pool).await.unwrap();
    }
}

async fn race_on<S: mfa_kit::store::Store + 'static>(store: S, label: &str) {
    let clock = ManualClock::new(START);
    let mfa = Arc::new(
        MfaService::builder("Smith", store, PlaintextSealer)
            .clock(clock.clone())
            .hash_key(mfa_kit::keyed_hash::HashKey::generate().unwrap())
            .build(),
    );
    let here = SignInContext::default();
    for round in 0..10 {
        let user = UserId::new(format!("u{round}"));
        let start = mfa.start_enrollment(&user, "u", &here).await.unwrap().unwrap();
        let key = KeyUri::parse(&start.uri).unwrap();
        let phone = Totp::new(key.secret(), key.totp_params().unwrap());
        let t = {
            use mfa_kit::clock::Clock;
            clock.now().unwrap()
        };
        let first = phone.generate(t).unwrap().to_string();
        clock.advance(30);
        let second = phone.generate(t + 30).unwrap().to_string();
        mfa.confirm_enrollment(&user, &[&first, &second], &here).await.unwrap().unwrap();
        clock.advance(30);
        let code = phone.generate(t + 60).unwrap().to_string();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (mfa, user, code, here) = (mfa.clone(), user.clone(), code.clone(), here.clone());
                tokio::spawn(async move { mfa.verify_code(&user, &code, &here).await })
            })
            .collect();
        let mut accepted = 0;
        for task in tasks {
            if task.await.unwrap().expect("no store error").is_ok() {
                accepted += 1;
            }
        }
        assert_eq!(accepted, 1, "{label} round {round}");
        // Three wrong codes at once: three failures.
        let wrong = (0..1_000_000u32)
            .map(|n| format!("{n:06}"))
            .find(|c| {
                (-3i64..=3)
                    .all(|s| phone.generate((t as i64 + 60 + s * 30) as u64).unwrap().to_string() != *c)
            })
            .unwrap();
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let (mfa, user, wrong, here) = (mfa.clone(), user.clone(), wrong.clone(), here.clone());
                tokio::spawn(async move { mfa.verify_code(&user, &wrong, &here).await })
            })
            .collect();
        for task in tasks {
            let outcome = task.await.unwrap().expect("no store error");
            assert!(matches!(outcome, Err(Refusal::WrongCode { .. })), "{label} round {round}: {outcome:?}");
        }
        let record = mfa.record(&user).await.unwrap();
        assert_eq!(record.failures().consecutive(), 3, "{label} round {round}");
        clock.advance(30);
    }
}
