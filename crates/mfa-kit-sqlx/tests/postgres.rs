//! The PostgreSQL store on the real server: the conformance suite and what is
//! particular to PostgreSQL.
#![cfg(feature = "postgres")]

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
use mfa_kit_sqlx::{Error, PostgresStore};

async fn store(label: &str) -> PostgresStore {
    let store = PostgresStore::with_tables(postgres_pool(40).await, unique_tables(label));
    store.migrate().await.expect("migrate");
    store
}

/// A successful `lockout_ended` event of `user` at `at`, from 2001:db8::7 on `device`.
fn event(user: &UserId, at: u64, device: &str) -> AuditEvent {
    lockout_ended("2001:db8::7", user, at, device)
}

/// The conformance suite, one test per check, each on tables of its own.
mod conformance_records {
    use super::common::{Tokio, block_on, drop_postgres_store, fresh_postgres_store};

    mfa_kit::store_conformance_tests!(records;
        store: fresh_postgres_store(),
        block_on: block_on,
        spawner: Tokio,
        finish: drop_postgres_store,
    );
}

mod conformance_org_settings {
    use super::common::{Tokio, block_on, drop_postgres_store, fresh_postgres_store};

    mfa_kit::store_conformance_tests!(org_settings;
        store: fresh_postgres_store(),
        block_on: block_on,
        spawner: Tokio,
        finish: drop_postgres_store,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_without_its_tables_reports_errors_not_conflicts() {
    let store = PostgresStore::with_tables(postgres_pool(2).await, unique_tables("none"));
    conformance::errors_are_not_conflicts(&store).await;
    conformance::org_settings_errors_are_not_conflicts(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pool_reports_errors_not_conflicts() {
    let store = store("closed").await;
    let tables = store.tables().clone();
    store.pool().close().await;
    conformance::errors_are_not_conflicts(&store).await;
    conformance::org_settings_errors_are_not_conflicts(&store).await;
    drop_tables(&postgres_pool(1).await, &tables).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_id_with_nul_is_refused_before_any_write() {
    let store = store("nul").await;
    let bad = UserId::new("alice\0admin");
    let saved = store.save(UserRecord::new(bad.clone()), None, vec![]).await;
    assert!(matches!(saved, Err(Error::NulInUserId)), "{saved:?}");
    assert!(saved.unwrap_err().to_string().contains("NUL"));
    let good = UserId::new("bob");
    let saved = store.save(UserRecord::new(good.clone()), None, vec![event(&bad, 1, "x")]).await;
    assert!(matches!(saved, Err(Error::NulInUserId)), "an event's user id is checked too: {saved:?}");
    assert_eq!(store.load(&good).await.unwrap(), None, "nothing was written");
    assert!(matches!(store.load(&bad).await, Err(Error::NulInUserId)));
    // A NUL in a device label is kept exactly in the event, and replaced in the column.
    let saved = store.save(UserRecord::new(good.clone()), None, vec![event(&good, 1, "Fire\0fox")]).await;
    assert_eq!(saved.unwrap(), SaveOutcome::Saved(Version(1)));
    assert_eq!(trail(&store, &good).await, [event(&good, 1, "Fire\0fox")]);
    drop_tables(store.pool(), store.tables()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_beyond_i64_is_a_conflict_and_an_event_time_beyond_it_is_refused() {
    let store = store("range").await;
    let user = UserId::new("carol");
    let record = UserRecord::new(user.clone());
    // No row can be at such a version: the save conflicts, as any stale version does.
    assert_eq!(
        store.save(record.clone(), Some(Version(u64::MAX)), vec![]).await.unwrap(),
        SaveOutcome::Conflict
    );
    assert!(matches!(
        store.save(record.clone(), None, vec![event(&user, u64::MAX, "x")]).await,
        Err(Error::OutOfRange { .. })
    ));
    assert_eq!(store.load(&user).await.unwrap(), None);
    drop_tables(store.pool(), store.tables()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_insert_that_fails_rolls_back_the_record_change() {
    let store = store("atomic").await;
    let audit = store.tables().audit().to_string();
    for statement in [
        format!(
            "CREATE FUNCTION {audit}_boom() RETURNS trigger AS $$ BEGIN \
             IF NEW.device = 'explode' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
        ),
        format!("CREATE TRIGGER boom BEFORE INSERT ON {audit} FOR EACH ROW EXECUTE FUNCTION {audit}_boom()"),
    ] {
        sqlx::query(&statement).execute(store.pool()).await.unwrap();
    }
    let user = UserId::new("dave");
    let Ok(SaveOutcome::Saved(v1)) =
        store.save(UserRecord::new(user.clone()), None, vec![event(&user, 1, "ok")]).await
    else {
        panic!("create")
    };
    let events = [event(&user, 2, "ok"), event(&user, 3, "explode")];
    assert!(store.save(UserRecord::new(user.clone()), Some(v1), events.to_vec()).await.is_err());
    assert_eq!(store.load(&user).await.unwrap().unwrap().version, v1, "the record change was rolled back");
    // A single event is bound as scalars, not arrays: the same statement otherwise.
    let one = vec![event(&user, 3, "explode")];
    assert!(store.save(UserRecord::new(user.clone()), Some(v1), one).await.is_err());
    assert_eq!(store.load(&user).await.unwrap().unwrap().version, v1, "the one-event change was rolled back");
    assert_eq!(trail(&store, &user).await, [event(&user, 1, "ok")], "no event of the failed save is kept");
    let other = UserId::new("erin");
    assert!(store.save(UserRecord::new(other.clone()), None, events.to_vec()).await.is_err());
    assert_eq!(store.load(&other).await.unwrap(), None, "the failed create was rolled back");
    sqlx::query(&format!("DROP FUNCTION {audit}_boom CASCADE")).execute(store.pool()).await.unwrap();
    drop_tables(store.pool(), store.tables()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_deletes_only_older_events_and_migrate_is_safe_to_race() {
    let store = store("prune").await;
    let racing: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.migrate().await })
        })
        .collect();
    for migrate in racing {
        migrate.await.unwrap().expect("migrate again, concurrently");
    }
    let user = UserId::new("frank");
    let events: Vec<AuditEvent> = (1..=5).map(|at| event(&user, at * 100, "x")).collect();
    store.append_events(events.to_vec()).await.unwrap();
    assert_eq!(store.delete_audit_before(None, 300, 1000).await.unwrap(), 2);
    assert_eq!(trail(&store, &user).await, events[2..]);
    drop_tables(store.pool(), store.tables()).await;
}

/// Tables made by the release before organisations (no `org` columns, no indexes on
/// them) upgrade in place: `migrate()` adds them, a record written before reads and is
/// listed under no organisation, and a change made in one files it there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_upgrades_tables_made_before_organisations() {
    let pool = postgres_pool(4).await;
    let tables = unique_tables("upgrade");
    let (records, audit) = (tables.records(), tables.audit());
    for statement in [
        format!(
            "CREATE TABLE {records} (user_id TEXT COLLATE \"C\" PRIMARY KEY, version BIGINT NOT NULL CHECK (version > 0), \
             format INTEGER NOT NULL, has_mfa BOOLEAN NOT NULL, record TEXT NOT NULL, \
             updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        ),
        format!(
            "CREATE TABLE {audit} (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id TEXT COLLATE \"C\" NOT NULL, \
             actor TEXT NOT NULL, at BIGINT NOT NULL, outcome TEXT NOT NULL, kind TEXT NOT NULL, address TEXT, \
             device TEXT, event TEXT NOT NULL)"
        ),
    ] {
        sqlx::query(&statement).execute(&pool).await.unwrap();
    }
    let old = UserId::new("written-before");
    let json =
        serde_json::to_string(&UserRecord::new(old.clone())).unwrap().replace("\"format\":5", "\"format\":4");
    sqlx::query(&format!(
        "INSERT INTO {records} (user_id, version, format, has_mfa, record) VALUES ($1, 1, 4, false, $2)"
    ))
    .bind(old.as_str())
    .bind(json)
    .execute(&pool)
    .await
    .unwrap();

    let store = PostgresStore::with_tables(pool, tables);
    store.migrate().await.expect("migrate upgrades the old tables");
    store.migrate().await.expect("and runs again");
    let loaded = store.load(&old).await.unwrap().expect("the old record reads");
    assert_eq!(loaded.record.org(), None);
    assert_eq!(store.list_records(&RecordQuery::prefix("", 10)).await.unwrap().records.len(), 1);
    assert!(store.list_records(&RecordQuery::org("acme", 10)).await.unwrap().records.is_empty());

    let service =
        mfa_kit::service::MfaService::builder("Upgrade", store.clone(), mfa_kit::danger::PlaintextSealer)
            .build();
    let context = mfa_kit::policy::SignInContext::new(RequestContext::default()).in_org("acme");
    let started = service.start_enrollment(&old, "old@example.com", &context).await.unwrap();
    assert!(started.is_ok());
    let listed = store.list_records(&RecordQuery::org("acme", 10)).await.unwrap();
    assert_eq!(listed.records.iter().map(|v| v.record.user().clone()).collect::<Vec<_>>(), [old]);
    let trail = store.read_audit(&AuditQuery::org("acme", 0, i64::MAX as u64, 10)).await.unwrap();
    assert_eq!(trail.events.len(), 1, "the enrollment's event is filed under acme");
    drop_tables(store.pool(), store.tables()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_organisations_on_one_service_on_postgres_are_kept_apart() {
    let store = Arc::new(store("tenancy").await);
    mfa_kit::service::conformance::two_organisations_on_one_service(store.clone()).await;
    drop_tables(store.pool(), store.tables()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listing_statement_lists_what_the_query_matches() {
    let store = store("listing").await;
    every_listing_case(store.clone()).await;
    drop_tables(store.pool(), store.tables()).await;
}
