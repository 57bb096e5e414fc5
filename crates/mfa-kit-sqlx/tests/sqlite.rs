//! The SQLite store on database files in WAL mode: the conformance suite and what is
//! particular to SQLite.
#![cfg(feature = "sqlite")]

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::RequestContext;
use mfa_kit::UserId;
use mfa_kit::event::AuditEvent;
use mfa_kit::record::UserRecord;
use mfa_kit::store::conformance;
use mfa_kit::store::{
    AuditQuery, ListRecords, PruneAudit, ReadAudit, RecordQuery, SaveOutcome, Store, Version,
};
use mfa_kit_sqlx::SqliteStore;

/// A successful `lockout_ended` event of `user` at `at`, from 192.0.2.1 on `device`.
fn event(user: &UserId, at: u64, device: &str) -> AuditEvent {
    lockout_ended("192.0.2.1", user, at, device)
}

/// The conformance suite, one test per check, each on a database file of its own.
mod conformance_records {
    use super::common::{Tokio, block_on, drop_sqlite_store, fresh_sqlite_store};

    mfa_kit::store_conformance_tests!(records;
        store: fresh_sqlite_store(),
        block_on: block_on,
        spawner: Tokio,
        finish: drop_sqlite_store,
    );
}

mod conformance_org_settings {
    use super::common::{Tokio, block_on, drop_sqlite_store, fresh_sqlite_store};

    mfa_kit::store_conformance_tests!(org_settings;
        store: fresh_sqlite_store(),
        block_on: block_on,
        spawner: Tokio,
        finish: drop_sqlite_store,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_file_opens_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("mfa.db")).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(store.pool()).await.unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_table_names_pass_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let opened = SqliteStore::open(dir.path().join("mfa.db")).await.unwrap();
    let store = Arc::new(SqliteStore::with_tables(opened.pool().clone(), unique_tables("sq")));
    store.migrate().await.unwrap();
    conformance::run(store.clone(), &Tokio).await;
    conformance::run_org_settings(store, &Tokio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_without_its_tables_reports_errors_not_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let opened = SqliteStore::open(dir.path().join("mfa.db")).await.unwrap();
    let store = SqliteStore::with_tables(opened.pool().clone(), unique_tables("none"));
    conformance::errors_are_not_conflicts(&store).await;
    conformance::org_settings_errors_are_not_conflicts(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_and_events_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mfa.db");
    let user = UserId::new("grace");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        let saved = store.save(UserRecord::new(user.clone()), None, vec![event(&user, 7, "x")]).await;
        assert_eq!(saved.unwrap(), SaveOutcome::Saved(Version(1)));
        store.pool().close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let loaded = store.load(&user).await.unwrap().expect("the record survived");
    assert_eq!((loaded.version, loaded.record), (Version(1), UserRecord::new(user.clone())));
    assert_eq!(trail(&store, &user).await, [event(&user, 7, "x")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_insert_that_fails_rolls_back_the_record_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("mfa.db")).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER boom BEFORE INSERT ON mfa_audit WHEN NEW.device = 'explode' \
         BEGIN SELECT RAISE(ABORT, 'boom'); END",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let user = UserId::new("dave");
    let Ok(SaveOutcome::Saved(v1)) =
        store.save(UserRecord::new(user.clone()), None, vec![event(&user, 1, "ok")]).await
    else {
        panic!("create")
    };
    let events = [event(&user, 2, "ok"), event(&user, 3, "explode")];
    assert!(store.save(UserRecord::new(user.clone()), Some(v1), events.to_vec()).await.is_err());
    assert_eq!(store.load(&user).await.unwrap().unwrap().version, v1, "the record change was rolled back");
    assert_eq!(trail(&store, &user).await, [event(&user, 1, "ok")], "no event of the failed save is kept");
    assert_eq!(store.delete_audit_before(None, 2, 100).await.unwrap(), 1);
}

/// A database file made by the release before organisations (no `org` columns, no
/// indexes on them) upgrades in place: opening it adds them, a record written before
/// reads and is listed under no organisation, and a change made in one files it there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_upgrades_a_database_made_before_organisations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let old = UserId::new("written-before");
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        for statement in [
            "CREATE TABLE mfa_records (user_id TEXT NOT NULL PRIMARY KEY, version INTEGER NOT NULL CHECK (version > 0), \
             format INTEGER NOT NULL, has_mfa INTEGER NOT NULL, record TEXT NOT NULL)",
            "CREATE TABLE mfa_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, actor TEXT NOT NULL, \
             at INTEGER NOT NULL, outcome TEXT NOT NULL, kind TEXT NOT NULL, address TEXT, device TEXT, event TEXT NOT NULL)",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        let json = serde_json::to_string(&UserRecord::new(old.clone()))
            .unwrap()
            .replace("\"format\":5", "\"format\":4");
        sqlx::query(
            "INSERT INTO mfa_records (user_id, version, format, has_mfa, record) VALUES (?1, 1, 4, 0, ?2)",
        )
        .bind(old.as_str())
        .bind(json)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let store = SqliteStore::open(&path).await.expect("opening upgrades the old tables");
    store.migrate().await.expect("and migrating again changes nothing");
    let loaded = store.load(&old).await.unwrap().expect("the old record reads");
    assert_eq!(loaded.record.org(), None);
    assert_eq!(store.list_records(&RecordQuery::prefix("", 10)).await.unwrap().records.len(), 1);
    assert!(store.list_records(&RecordQuery::org("acme", 10)).await.unwrap().records.is_empty());

    let service =
        mfa_kit::service::MfaService::builder("Upgrade", store.clone(), mfa_kit::danger::PlaintextSealer)
            .build();
    let context = mfa_kit::policy::SignInContext::new(RequestContext::default()).in_org("acme");
    assert!(service.start_enrollment(&old, "old@example.com", &context).await.unwrap().is_ok());
    let listed = store.list_records(&RecordQuery::org("acme", 10)).await.unwrap();
    assert_eq!(listed.records.iter().map(|v| v.record.user().clone()).collect::<Vec<_>>(), [old]);
    let trail = store.read_audit(&AuditQuery::org("acme", 0, i64::MAX as u64, 10)).await.unwrap();
    assert_eq!(trail.events.len(), 1, "the enrollment's event is filed under acme");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_organisations_on_one_service_on_sqlite_are_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("mfa.db")).await.unwrap());
    mfa_kit::service::conformance::two_organisations_on_one_service(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listing_statement_lists_what_the_query_matches() {
    let dir = tempfile::tempdir().unwrap();
    every_listing_case(SqliteStore::open(dir.path().join("mfa.db")).await.unwrap()).await;
}

/// README: "Several processes on one machine may share the file", and `open` upgrades
/// a file made by an earlier release in place. App servers of the new release start
/// together on the old file: each must open it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_servers_starting_together_all_open_and_upgrade_an_old_database_file() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            for statement in [
                "PRAGMA journal_mode = WAL",
                "CREATE TABLE mfa_records (user_id TEXT NOT NULL PRIMARY KEY, version INTEGER NOT NULL CHECK (version > 0), \
                 format INTEGER NOT NULL, has_mfa INTEGER NOT NULL, record TEXT NOT NULL)",
                "CREATE TABLE mfa_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, actor TEXT NOT NULL, \
                 at INTEGER NOT NULL, outcome TEXT NOT NULL, kind TEXT NOT NULL, address TEXT, device TEXT, event TEXT NOT NULL)",
            ] {
                sqlx::query(statement).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        let opens: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                tokio::spawn(
                    async move { SqliteStore::open(&path).await.map(|_| ()).map_err(|e| e.to_string()) },
                )
            })
            .collect();
        for open in opens {
            let opened = open.await.unwrap();
            assert!(opened.is_ok(), "round {round}: {opened:?}");
        }
    }
}

/// `RecordQuery::prefix` lists the users whose id starts with the prefix, as
/// `MemoryStore` does: a prefix holding a NUL character (which SQLite keeps in text) too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_prefix_holding_nul_lists_the_ids_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("mfa.db")).await.unwrap();
    let memory = mfa_kit::store::MemoryStore::new();
    for id in ["a", "a\0", "a\0b", "a\0c", "ab", "b\0"] {
        assert_eq!(
            sqlite.save(UserRecord::new(UserId::new(id)), None, vec![]).await.unwrap(),
            SaveOutcome::Saved(Version(1))
        );
        assert!(matches!(
            memory.save(UserRecord::new(UserId::new(id)), None, vec![]).await,
            Ok(SaveOutcome::Saved(_))
        ));
    }
    for prefix in ["a\0", "a\0b", "\0", "a"] {
        let query = RecordQuery::prefix(prefix, 100);
        let ids = |page: mfa_kit::store::RecordPage| {
            page.records.iter().map(|v| v.record.user().as_str().to_owned()).collect::<Vec<_>>()
        };
        let listed = ids(sqlite.list_records(&query).await.unwrap());
        let expected = ids(memory.list_records(&query).await.unwrap());
        assert!(expected.iter().all(|id| id.starts_with(prefix)), "{expected:?}");
        assert_eq!(listed, expected, "prefix {prefix:?}");
    }
}
