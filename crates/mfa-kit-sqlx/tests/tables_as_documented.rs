//! A host developer's review of mfa-kit-sqlx from its documentation alone (the crate's
//! README and rustdoc, and the store traits' docs in `src/store/`): each concrete
//! promise checked on PostgreSQL and on SQLite.
//!
//! Each test quotes the sentence it checks (file:line at the time of writing).
//!
//! PostgreSQL tests work on tables of their own (`unique_tables`) or in a schema of
//! their own (a pool whose `search_path` is that schema), and drop them afterwards;
//! they fail (never skip) when the server is not reachable.
#![cfg(all(feature = "postgres", feature = "sqlite"))]

mod common;

use std::fmt::Debug;
use std::str::FromStr;

use common::*;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::policy::{Level, OrgSettings};
use mfa_kit::record::UserRecord;
use mfa_kit::store::{
    AuditQuery, ListRecords, MAX_PAGE, OrgSettingsStore, PruneAudit, ReadAudit, RecordQuery, SaveOutcome,
    Store, Version,
};
use mfa_kit::{OrgId, RequestContext, UserId};
use mfa_kit_sqlx::{Error, PostgresStore, SqliteStore, TableNames};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

trait All: Store<Error = Error> + ListRecords + ReadAudit + PruneAudit + OrgSettingsStore {}
impl<T: Store<Error = Error> + ListRecords + ReadAudit + PruneAudit + OrgSettingsStore> All for T {}

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

/// A schema no other test or run uses, and a pool whose unqualified table names land in
/// it (`search_path`), so default and unusual table names collide with nobody.
struct PgSchema {
    admin: sqlx::PgPool,
    name: String,
    pool: sqlx::PgPool,
}

impl PgSchema {
    async fn new(label: &str) -> PgSchema {
        let admin = postgres_pool(2).await;
        let name = unique_tables(label).records().trim_end_matches("_r").to_string();
        sqlx::query(&format!("CREATE SCHEMA {name}")).execute(&admin).await.expect("create a schema");
        let options = PgConnectOptions::from_str(&postgres_url())
            .expect("a URL")
            .options([("search_path", name.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect_with(options)
            .await
            .expect("PostgreSQL was reachable a moment ago");
        PgSchema { admin, name, pool }
    }

    async fn drop(self) {
        self.pool.close().await;
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
            .execute(&self.admin)
            .await
            .expect("drop the schema");
    }
}

/// A PostgreSQL store on tables of its own, migrated.
async fn pg(label: &str) -> PostgresStore {
    let store = PostgresStore::with_tables(postgres_pool(4).await, unique_tables(label));
    store.migrate().await.expect("migrate");
    store
}

async fn pg_drop(store: PostgresStore) {
    drop_tables(store.pool(), store.tables()).await;
}

/// A pool on a fresh SQLite file in `dir`, without any table (the store is built on it
/// with `with_tables`, as a host with its own pool settings does).
async fn sqlite_pool(dir: &tempfile::TempDir) -> sqlx::SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("review.db"))
        .create_if_missing(true)
        .busy_timeout(std::time::Duration::from_secs(30));
    SqlitePoolOptions::new().max_connections(4).connect_with(options).await.expect("open a SQLite file")
}

/// A SQLite store on a file of its own, opened as the README says.
async fn lite(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("mfa.db")).await.expect("open")
}

/// `len` letters and digits that do not compress (xorshift).
fn random_text(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(ALPHABET[(x % ALPHABET.len() as u64) as usize])
        })
        .collect()
}

/// An event of `user` at `at`, filed under `org`, on `device`.
fn ev(user: &str, at: u64, org: Option<&str>, device: &str) -> AuditEvent {
    let mut context = RequestContext::from_address("192.0.2.7".parse().unwrap()).with_device(device);
    if let Some(org) = org {
        context = context.in_org(org);
    }
    let user = UserId::new(user);
    AuditEvent::new(&user, &user, at, &context, EventKind::LockoutEnded)
}

fn record_in(user: &str, org: Option<&str>) -> UserRecord {
    let mut record = UserRecord::new(UserId::new(user));
    if let Some(org) = org {
        record.set_org(OrgId::from(org));
    }
    record
}

fn listed(page: &mfa_kit::store::RecordPage) -> Vec<String> {
    page.records.iter().map(|v| v.record.user().as_str().to_string()).collect()
}

/// Every page of `query`, with the cursor: the user ids, and the length of each page.
async fn all_pages<S: ListRecords>(s: &S, mut query: RecordQuery) -> (Vec<String>, Vec<usize>)
where
    S::Error: Debug,
{
    let (mut ids, mut lens) = (Vec::new(), Vec::new());
    for _ in 0..10_000 {
        let page = s.list_records(&query).await.unwrap();
        lens.push(page.records.len());
        ids.extend(listed(&page));
        match page.next {
            Some(next) => query = query.after(Some(next)),
            None => return (ids, lens),
        }
    }
    panic!("paging does not end")
}

/// The whole trail of `query`, page by page: (user, at, device) of each event.
async fn all_events<S: ReadAudit>(s: &S, mut query: AuditQuery) -> Vec<(String, u64, Option<String>)>
where
    S::Error: Debug,
{
    let mut out = Vec::new();
    for _ in 0..10_000 {
        let page = s.read_audit(&query).await.unwrap();
        out.extend(
            page.events
                .iter()
                .map(|e| (e.event.user.as_str().to_string(), e.event.at, e.event.context.device.clone())),
        );
        match page.next {
            Some(next) => query = query.after(Some(next)),
            None => return out,
        }
    }
    panic!("paging does not end")
}

/// What `migrate` and a first save, read and settings save answer on a store over
/// `tables`: `None` when all worked.
async fn try_use<S: All>(store: &S, migrated: Result<(), Error>) -> Option<String> {
    if let Err(e) = migrated {
        return Some(format!("migrate: {e}"));
    }
    let user = UserId::new("alice");
    let saved = store.save(UserRecord::new(user.clone()), None, vec![ev("alice", 5, None, "d")]).await;
    if !matches!(saved, Ok(SaveOutcome::Saved(Version(1)))) {
        return Some(format!("save: {saved:?}"));
    }
    match store.load(&user).await {
        Ok(Some(v)) if v.version == Version(1) => {}
        other => return Some(format!("load: {other:?}")),
    }
    match store.read_audit(&AuditQuery::user(user, 0, 10, 10)).await {
        Ok(page) if page.events.len() == 1 => {}
        other => return Some(format!("read_audit: {other:?}")),
    }
    let settings = store.save_org_settings("acme", OrgSettings::default(), None, vec![]).await;
    if !matches!(settings, Ok(SaveOutcome::Saved(Version(1)))) {
        return Some(format!("save_org_settings: {settings:?}"));
    }
    None
}

/// SQL keywords as table names (a host naming its tables after its own vocabulary:
/// `order`, `group`, `user`) are refused when the names are made, as
/// `Error::InvalidTableName` says ("or a part of it is a word SQL reserves"), rather
/// than failing in `migrate` with a syntax error; names that merely contain one work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_keywords_are_refused_as_table_names_and_names_containing_them_work() {
    for (records, audit) in
        [("order", "mfa_audit"), ("mfa_records", "group"), ("user", "mfa_audit"), ("auth.order", "a")]
    {
        let refused = TableNames::custom(records, audit);
        assert!(matches!(refused, Err(Error::InvalidTableName(_))), "({records}, {audit}): {refused:?}");
    }
    assert!(matches!(TableNames::new().with_org_settings("Select"), Err(Error::InvalidTableName(_))));

    let names = TableNames::custom("orders", "user_audit").unwrap();
    let schema = PgSchema::new("kw").await;
    let store = PostgresStore::with_tables(schema.pool.clone(), names.clone());
    let used = try_use(&store, store.migrate().await).await;
    schema.drop().await;
    assert_eq!(used, None, "postgres");
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::with_tables(sqlite_pool(&dir).await, names);
    assert_eq!(try_use(&store, store.migrate().await).await, None, "sqlite");
    store.pool().close().await;
}

/// A table may not take the name of an index `migrate` makes for another
/// (`Error::SameTableNames`: "... and so do the indexes `migrate` makes, named after
/// their table"): such names are refused when made, not left to fail in `migrate` or
/// to leave an index out.
#[test]
fn table_names_that_take_an_index_name_are_refused() {
    for (records, audit) in [("r", "r_org"), ("a_at", "a"), ("a_tx", "a"), ("s.r", "s.r_org_without_mfa")] {
        let refused = TableNames::custom(records, audit);
        assert!(matches!(refused, Err(Error::SameTableNames)), "({records}, {audit}): {refused:?}");
    }
    let settings = TableNames::custom("r", "a").unwrap().with_org_settings("r_without_mfa");
    assert!(matches!(settings, Err(Error::SameTableNames)), "{settings:?}");
    assert!(TableNames::custom("r", "a").unwrap().with_org_settings("r_settings").is_ok());
}

/// The README's own example, on a database where its schema (`auth`) was never made:
/// `migrate` "Creates the tables and indexes if they do not exist ..., and the schemas
/// the table names name".
///
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_example_migrates_schema_qualified_tables_on_a_fresh_database() {
    let admin = postgres_pool(2).await;
    let schema = unique_tables("auth").records().trim_end_matches("_r").to_string();
    let names = TableNames::custom(&format!("{schema}.mfa_records"), &format!("{schema}.mfa_audit")).unwrap();
    let store = PostgresStore::with_tables(admin.clone(), names);
    let migrated = store.migrate().await;
    let used = try_use(&store, migrated).await;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&admin).await.unwrap();
    assert_eq!(used, None, "the README's schema.table example on a database without that schema");
}

// ---------------------------------------------------------------------------------
// migrate and the tables the README describes
// ---------------------------------------------------------------------------------

/// README "Tables" (crates/mfa-kit-sqlx/README.md:38-60) and `migrate`'s docs: on an
/// empty database the default names make `mfa_records`, `mfa_audit`,
/// `mfa_org_settings`, `mfa_audit_relays`, `mfa_audit_notices` with the columns and
/// indexes listed (PostgreSQL: `user_id` and `org` `COLLATE "C"`); `migrate` twice
/// changes nothing and keeps the rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_on_an_empty_database_makes_the_documented_tables_and_runs_twice() {
    // PostgreSQL, default names, in a schema of its own.
    let schema = PgSchema::new("dflt").await;
    let store = PostgresStore::new(schema.pool.clone());
    assert_eq!(store.tables(), &TableNames::new());
    assert_eq!(
        (store.tables().records(), store.tables().audit(), store.tables().org_settings()),
        ("mfa_records", "mfa_audit", "mfa_org_settings")
    );
    assert_eq!(
        (store.tables().notice_relays(), store.tables().notice_queue()),
        ("mfa_audit_relays".to_string(), "mfa_audit_notices".to_string())
    );
    assert_eq!(try_use(&store, store.migrate().await).await, None);
    store.migrate().await.expect("migrate again");
    assert_eq!(store.load(&UserId::new("alice")).await.unwrap().unwrap().version, Version(1), "rows kept");
    let columns: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, collation_name::text FROM information_schema.columns \
         WHERE table_schema = $1 ORDER BY table_name, column_name",
    )
    .bind(&schema.name)
    .fetch_all(&schema.admin)
    .await
    .unwrap();
    let has = |table: &str, column: &str| columns.iter().find(|(t, c, _)| t == table && c == column);
    for (table, column) in [
        ("mfa_records", "user_id"),
        ("mfa_records", "version"),
        ("mfa_records", "format"),
        ("mfa_records", "has_mfa"),
        ("mfa_records", "record"),
        ("mfa_records", "org"),
        ("mfa_org_settings", "org"),
        ("mfa_org_settings", "version"),
        ("mfa_org_settings", "settings"),
        ("mfa_audit", "id"),
        ("mfa_audit", "user_id"),
        ("mfa_audit", "actor"),
        ("mfa_audit", "at"),
        ("mfa_audit", "outcome"),
        ("mfa_audit", "kind"),
        ("mfa_audit", "address"),
        ("mfa_audit", "device"),
        ("mfa_audit", "event"),
        ("mfa_audit", "org"),
        ("mfa_audit", "tx"),
    ] {
        assert!(has(table, column).is_some(), "PostgreSQL {table}.{column} is missing: {columns:?}");
    }
    for (table, column) in [("mfa_records", "user_id"), ("mfa_org_settings", "org")] {
        assert_eq!(has(table, column).unwrap().2.as_deref(), Some("C"), "{table}.{column} COLLATE \"C\"");
    }
    let relays: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 \
         AND table_name IN ('mfa_audit_relays', 'mfa_audit_notices')",
    )
    .bind(&schema.name)
    .fetch_one(&schema.admin)
    .await
    .unwrap();
    assert_eq!(relays, 2, "the notice relays' tables");
    let indexes: Vec<String> = sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE schemaname = $1")
        .bind(&schema.name)
        .fetch_all(&schema.admin)
        .await
        .unwrap();
    for wanted in [
        "(org, user_id)",
        "(org, user_id) WHERE (NOT has_mfa)",
        "(user_id) WHERE (NOT has_mfa)",
        "(user_id, at, id)",
        "(at, id)",
        "(org, at, id) WHERE (org IS NOT NULL)",
    ] {
        assert!(indexes.iter().any(|d| d.ends_with(wanted)), "PostgreSQL index {wanted}: {indexes:#?}");
    }
    schema.drop().await;

    // SQLite: `open` makes the default tables; `migrate` again keeps the rows.
    let dir = tempfile::tempdir().unwrap();
    let store = lite(&dir).await;
    assert_eq!(try_use(&store, Ok(())).await, None);
    store.migrate().await.expect("migrate again");
    store.migrate().await.expect("and again");
    assert_eq!(store.load(&UserId::new("alice")).await.unwrap().unwrap().version, Version(1), "rows kept");
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(store.pool())
            .await
            .unwrap();
    for table in ["mfa_audit", "mfa_audit_notices", "mfa_audit_relays", "mfa_org_settings", "mfa_records"] {
        assert!(tables.iter().any(|t| t == table), "SQLite table {table}: {tables:?}");
    }
    let indexes: Vec<String> =
        sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
            .fetch_all(store.pool())
            .await
            .unwrap();
    for wanted in [
        "(org, user_id)",
        "(org, user_id) WHERE NOT has_mfa",
        "(user_id) WHERE NOT has_mfa",
        "(user_id, at, id)",
        "(at, id)",
        "(org, at, id) WHERE org IS NOT NULL",
    ] {
        assert!(indexes.iter().any(|d| d.ends_with(wanted)), "SQLite index {wanted}: {indexes:#?}");
    }
    store.pool().close().await;
}

/// `TableNames::custom`/`with_org_settings` docs (src/common.rs:122-132, :65-66): plain
/// identifiers of at most 48 characters, optionally after one `schema.`; anything else
/// is `InvalidTableName`. And the longest valid names work on both databases (their
/// index and outbox names grow past PostgreSQL's 63-byte identifiers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_name_rules_and_the_longest_names_work() {
    let n48 = "x".repeat(48);
    assert!(TableNames::custom(&n48, "a").is_ok());
    for bad in [
        "x".repeat(49),
        String::new(),
        "1abc".into(),
        "a-b".into(),
        "a.b.c".into(),
        ".a".into(),
        "a.".into(),
        "t\u{e9}".into(),
        "a b".into(),
        "\"q\"".into(),
        "a;DROP TABLE b".into(),
        format!("s.{}", "x".repeat(49)),
    ] {
        assert!(
            matches!(TableNames::custom(&bad, "a"), Err(Error::InvalidTableName(n)) if n == bad),
            "{bad:?}"
        );
        assert!(matches!(TableNames::custom("r", &bad), Err(Error::InvalidTableName(_))), "{bad:?}");
        assert!(
            matches!(TableNames::new().with_org_settings(&bad), Err(Error::InvalidTableName(_))),
            "{bad:?}"
        );
    }
    assert!(matches!(TableNames::custom("r", "R"), Err(Error::SameTableNames)));

    // The longest names, on both databases.
    let stem = unique_tables("long").records().trim_end_matches("_r").to_string();
    let long = |c: char| format!("{stem}_{}", c.to_string().repeat(47 - stem.len()));
    let names = TableNames::custom(&long('r'), &long('a')).unwrap().with_org_settings(&long('s')).unwrap();
    assert_eq!(names.records().len(), 48);
    let pool = postgres_pool(2).await;
    let store = PostgresStore::with_tables(pool, names.clone());
    let used = try_use(&store, store.migrate().await).await;
    store.migrate().await.expect("migrate again");
    pg_drop(store).await;
    assert_eq!(used, None, "postgres, 48-character names");
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::with_tables(sqlite_pool(&dir).await, names);
    assert_eq!(try_use(&store, store.migrate().await).await, None, "sqlite, 48-character names");
    // SQLite's schema of the file itself: `main.table`.
    let names = TableNames::custom("main.r", "main.a").unwrap();
    assert_eq!(names.org_settings(), "main.mfa_org_settings");
    let store = SqliteStore::with_tables(store.pool().clone(), names);
    assert_eq!(try_use(&store, store.migrate().await).await, None, "sqlite, main.table names");
    store.migrate().await.expect("migrate again");
    store.pool().close().await;
}

// ---------------------------------------------------------------------------------
// Guards: versions, unknown keys, pages
// ---------------------------------------------------------------------------------

/// README:41 "`version` (`BIGINT`, from 1, one more per save)"; README:48-49 "an
/// organisation without a row has no stored settings"; `Store` contract (src/store/
/// mod.rs:68-69) "`load` returns … `None` if none was ever saved"; an unknown user or
/// organisation lists, reads and prunes nothing (`RecordPage::next`/`AuditPage::next`:
/// "`None` if this was the last").
async fn versions_and_unknowns<S: All>(s: &S, name: &str) {
    let user = UserId::new("v");
    let mut expected = None;
    for n in 1..=5u64 {
        let saved = s.save(UserRecord::new(user.clone()), expected, vec![]).await.unwrap();
        assert_eq!(saved, SaveOutcome::Saved(Version(n)), "{name}: record version {n}");
        expected = Some(Version(n));
    }
    let mut expected = None;
    for n in 1..=3u64 {
        let saved = s.save_org_settings("org-v", OrgSettings::default(), expected, vec![]).await.unwrap();
        assert_eq!(saved, SaveOutcome::Saved(Version(n)), "{name}: settings version {n}");
        expected = Some(Version(n));
    }
    assert_eq!(s.load(&UserId::new("nobody")).await.unwrap(), None, "{name}");
    assert_eq!(s.load(&UserId::new("V")).await.unwrap(), None, "{name}: ids compared exactly");
    assert_eq!(s.load_org_settings("nowhere").await.unwrap(), None, "{name}");
    assert_eq!(s.load_org_settings("ORG-V").await.unwrap(), None, "{name}: org ids compared exactly");
    assert_eq!(s.load_org_settings("").await.unwrap(), None, "{name}");
    // An update of a record or settings that were never saved is a conflict.
    let conflict = s.save(UserRecord::new(UserId::new("nobody")), Some(Version(1)), vec![]).await.unwrap();
    assert_eq!(conflict, SaveOutcome::Conflict, "{name}");
    let conflict = s.save_org_settings("nowhere", OrgSettings::default(), Some(Version(1)), vec![]).await;
    assert_eq!(conflict.unwrap(), SaveOutcome::Conflict, "{name}");
    assert_eq!(s.load(&UserId::new("nobody")).await.unwrap(), None, "{name}: a conflict changes nothing");

    let page = s.list_records(&RecordQuery::org("nowhere", 10)).await.unwrap();
    assert!(page.records.is_empty() && page.next.is_none(), "{name}: {page:?}");
    let page = s.list_records(&RecordQuery::prefix("zzz", 10)).await.unwrap();
    assert!(page.records.is_empty() && page.next.is_none(), "{name}: {page:?}");
    let page = s.read_audit(&AuditQuery::user(UserId::new("nobody"), 0, u64::MAX, 10)).await.unwrap();
    assert!(page.events.is_empty() && page.next.is_none(), "{name}: {page:?}");
    let page = s.read_audit(&AuditQuery::org("nowhere", 0, u64::MAX, 10)).await.unwrap();
    assert!(page.events.is_empty() && page.next.is_none(), "{name}: {page:?}");
    assert_eq!(
        s.delete_audit_before(Some(&OrgId::from("nowhere")), u64::MAX, 10).await.unwrap(),
        0,
        "{name}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_count_from_one_and_unknown_users_and_orgs_answer_nothing() {
    let store = pg("vers").await;
    versions_and_unknowns(&store, "postgres").await;
    pg_drop(store).await;
    let dir = tempfile::tempdir().unwrap();
    versions_and_unknowns(&lite(&dir).await, "sqlite").await;
}

/// `RecordQuery::limit` / `AuditQuery::limit` (src/store/listing.rs:48, :154): "Rows per
/// page, from 1 to MAX_PAGE (0 reads as 1, more as MAX_PAGE)"; `ListRecords` contract
/// (listing.rs:108-110): "A page holds page_len records unless it is the last; `next` is
/// `Some` exactly when more matching records may follow, and then it is the user id of
/// the page's last record"; a page that ends exactly at the last record has no `next`
/// here (the stores read one row more); a cursor at the last record reads nothing.
async fn page_lengths<S: All>(s: &S, name: &str) {
    let n = MAX_PAGE as usize + 1;
    let events: Vec<AuditEvent> =
        (0..n).map(|i| ev(&format!("u{i:05}"), 100 + (i as u64 % 7), None, "d")).collect();
    for i in 0..n {
        let saved = s.save(UserRecord::new(UserId::new(format!("u{i:05}"))), None, vec![]).await.unwrap();
        assert!(matches!(saved, SaveOutcome::Saved(_)), "{name}");
    }
    s.append_events(events).await.unwrap();

    let page = s.list_records(&RecordQuery::prefix("u", 0)).await.unwrap();
    assert_eq!(
        (listed(&page), page.next.clone()),
        (vec!["u00000".to_string()], Some(UserId::new("u00000"))),
        "{name}: limit 0"
    );
    for limit in [MAX_PAGE + 1, u32::MAX] {
        let page = s.list_records(&RecordQuery::prefix("u", limit)).await.unwrap();
        assert_eq!(page.records.len(), MAX_PAGE as usize, "{name}: limit {limit}");
        assert_eq!(page.next, Some(UserId::new(format!("u{:05}", MAX_PAGE - 1))), "{name}");
    }
    // Exactly a page: no next. A cursor at the last: nothing.
    let page = s.list_records(&RecordQuery::prefix("u0000", 10)).await.unwrap();
    assert_eq!((page.records.len(), page.next.clone()), (10, None), "{name}: exactly one full page");
    let page =
        s.list_records(&RecordQuery::prefix("u", 5).after(Some(UserId::new(format!("u{:05}", n - 1))))).await;
    let page = page.unwrap();
    assert!(page.records.is_empty() && page.next.is_none(), "{name}: after the last");
    // A cursor that is no stored id starts after where it would sort.
    let page =
        s.list_records(&RecordQuery::prefix("u", 2).after(Some(UserId::new("u00004x")))).await.unwrap();
    assert_eq!(listed(&page), ["u00005", "u00006"], "{name}: a cursor between ids");
    let (ids, lens) = all_pages(s, RecordQuery::prefix("u", 300)).await;
    assert_eq!(ids.len(), n, "{name}");
    assert_eq!(lens, [300, 300, 300, 101], "{name}");

    let page = s.read_audit(&AuditQuery::range(0, 1000, 0)).await.unwrap();
    assert_eq!(page.events.len(), 1, "{name}: audit limit 0");
    assert_eq!(page.next, page.events.last().map(mfa_kit::store::StoredEvent::cursor), "{name}");
    let page = s.read_audit(&AuditQuery::range(0, 1000, u32::MAX)).await.unwrap();
    assert_eq!(page.events.len(), MAX_PAGE as usize, "{name}: audit limit u32::MAX");
    assert!(page.next.is_some(), "{name}");
    let page = s.read_audit(&AuditQuery::range(100, 101, 1000)).await.unwrap();
    assert_eq!(page.next, None, "{name}: an audit page that ends at the last event");
    // An empty or reversed range reads nothing.
    for (from, until) in [(105, 105), (106, 100), (0, 0), (0, 100)] {
        let page = s.read_audit(&AuditQuery::range(from, until, 10)).await.unwrap();
        assert!(page.events.is_empty() && page.next.is_none(), "{name}: {from}..{until}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_lengths_are_capped_and_cursors_end_at_the_boundaries() {
    let store = pg("pages").await;
    page_lengths(&store, "postgres").await;
    pg_drop(store).await;
    let dir = tempfile::tempdir().unwrap();
    page_lengths(&lite(&dir).await, "sqlite").await;
}

// ---------------------------------------------------------------------------------
// Guards: hostile identifiers
// ---------------------------------------------------------------------------------

/// `RecordQuery` (src/store/listing.rs:23-25): "in ascending order of user id (compared
/// byte by byte, as Rust compares strings)"; "Only user ids that start with this"
/// (a prefix is text, not a LIKE pattern); README:40-41 "PostgreSQL `COLLATE "C"`, so
/// listing order is byte order". Ids with quotes, SQL, wildcards, case, accents, emoji,
/// and a 10,000-byte id that compresses (the crate docs, src/postgres.rs:27-31, put the
/// limit at ids that do not).
async fn hostile_ids<S: All>(s: &S, name: &str, long: &str) {
    let mut ids: Vec<String> = [
        "h/'; DROP TABLE mfa_records; --",
        "h/\"quoted\"",
        "h/%",
        "h/_",
        "h/a_b",
        "h/aXb",
        "h/a%b",
        "h/\\",
        "h/Z",
        "h/a",
        "h/\u{e9}",
        "h/e\u{301}",
        "h/\u{1F600}",
        "h/\u{FFFF}",
        "h/ ",
        "h/\t\r\n",
        "h/",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    ids.push(long.to_string());
    for id in &ids {
        let user = UserId::new(id.clone());
        let saved = s.save(UserRecord::new(user.clone()), None, vec![ev(id, 7, Some(id), id)]).await;
        assert!(matches!(saved, Ok(SaveOutcome::Saved(Version(1)))), "{name}: {id:?}: {saved:?}");
        let loaded = s.load(&user).await.unwrap().unwrap();
        assert_eq!(loaded.record.user(), &user, "{name}");
        let trail = s.read_audit(&AuditQuery::user(user.clone(), 0, 100, 10)).await.unwrap();
        assert_eq!(trail.events.len(), 1, "{name}: {id:?}");
        assert_eq!(trail.events[0].event.context.device.as_deref(), Some(id.as_str()), "{name}");
        let trail = s.read_audit(&AuditQuery::org(id.clone(), 0, 100, 10)).await.unwrap();
        assert_eq!(trail.events.len(), 1, "{name}: org {id:?}");
    }
    let mut sorted = ids.clone();
    sorted.sort();
    let (all, _) = all_pages(s, RecordQuery::prefix("h/", 3)).await;
    assert_eq!(all, sorted, "{name}: byte order");
    for (prefix, wanted) in [
        ("h/a_", vec!["h/a_b"]),
        ("h/a%", vec!["h/a%b"]),
        ("h/%", vec!["h/%"]),
        ("h/_", vec!["h/_"]),
        ("h/\\", vec!["h/\\"]),
        ("h/A", vec![]),
        ("h/e", vec!["h/e\u{301}"]),
    ] {
        let (got, _) = all_pages(s, RecordQuery::prefix(prefix, 2)).await;
        assert_eq!(got, wanted, "{name}: prefix {prefix:?}");
    }
    assert_eq!(s.delete_audit_before(Some(&OrgId::from("h/%")), 100, 10).await.unwrap(), 1, "{name}");
    assert_eq!(s.delete_audit_before(Some(&OrgId::from("h/_")), 100, 10).await.unwrap(), 1, "{name}");
    assert_eq!(
        s.read_audit(&AuditQuery::range(0, 100, 100)).await.unwrap().events.len(),
        ids.len() - 2,
        "{name}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_user_and_org_ids_round_trip_in_byte_order() {
    let store = pg("hostile").await;
    hostile_ids(&store, "postgres", &format!("h/long{}", "a".repeat(10_000))).await;
    pg_drop(store).await;
    let dir = tempfile::tempdir().unwrap();
    // SQLite has no index size limit: an id of 200,000 bytes that does not compress.
    let long = random_text(200_000);
    hostile_ids(&lite(&dir).await, "sqlite", &format!("h/{long}")).await;
}

/// src/common.rs:37-44 and README:66-68: a user id or an organisation id holding a NUL
/// character is refused on PostgreSQL (`NulInUserId`, `NulInOrgId`) and "Nothing was
/// written"; SQLite keeps such ids exactly (an org id with a NUL is not its prefix).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_in_organisation_ids_is_refused_on_postgres_and_kept_exactly_on_sqlite() {
    let store = pg("nulorg").await;
    let bad = "acme\0evil";
    let user = UserId::new("n");
    let saved = store.save(record_in("n", Some(bad)), None, vec![]).await;
    assert!(matches!(saved, Err(Error::NulInOrgId)), "{saved:?}");
    let saved = store.save(record_in("n", None), None, vec![ev("n", 1, Some(bad), "d")]).await;
    assert!(matches!(saved, Err(Error::NulInOrgId)), "an event's organisation: {saved:?}");
    assert!(matches!(store.append_events(vec![ev("n", 1, Some(bad), "d")]).await, Err(Error::NulInOrgId)));
    assert!(matches!(
        store.save_org_settings(bad, OrgSettings::default(), None, vec![]).await,
        Err(Error::NulInOrgId)
    ));
    let saved =
        store.save_org_settings("acme", OrgSettings::default(), None, vec![ev("n", 1, Some(bad), "d")]).await;
    assert!(matches!(saved, Err(Error::NulInOrgId)), "{saved:?}");
    assert!(matches!(store.load_org_settings(bad).await, Err(Error::NulInOrgId)));
    assert!(matches!(store.list_records(&RecordQuery::org(bad, 10)).await, Err(Error::NulInOrgId)));
    assert!(matches!(store.read_audit(&AuditQuery::org(bad, 0, 10, 10)).await, Err(Error::NulInOrgId)));
    assert!(matches!(
        store.delete_audit_before(Some(&OrgId::from(bad)), 10, 10).await,
        Err(Error::NulInOrgId)
    ));
    for e in [Error::NulInOrgId, Error::NulInUserId] {
        assert!(e.to_string().contains("nothing was written"), "{e}");
    }
    assert_eq!(store.load(&user).await.unwrap(), None, "nothing was written");
    assert_eq!(store.load_org_settings("acme").await.unwrap(), None, "nothing was written");
    assert!(store.read_audit(&AuditQuery::range(0, 10, 10)).await.unwrap().events.is_empty());
    pg_drop(store).await;

    let dir = tempfile::tempdir().unwrap();
    let store = lite(&dir).await;
    assert!(matches!(
        store.save(record_in("n", Some(bad)), None, vec![ev("n", 1, Some(bad), "d")]).await,
        Ok(SaveOutcome::Saved(_))
    ));
    assert!(matches!(
        store.save_org_settings(bad, OrgSettings::default(), None, vec![]).await,
        Ok(SaveOutcome::Saved(_))
    ));
    assert_eq!(store.load_org_settings("acme").await.unwrap(), None, "a NUL does not end the id");
    assert!(store.load_org_settings(bad).await.unwrap().is_some());
    assert!(store.list_records(&RecordQuery::org("acme", 10)).await.unwrap().records.is_empty());
    assert_eq!(store.list_records(&RecordQuery::org(bad, 10)).await.unwrap().records.len(), 1);
    assert!(store.read_audit(&AuditQuery::org("acme", 0, 10, 10)).await.unwrap().events.is_empty());
    assert_eq!(store.read_audit(&AuditQuery::org(bad, 0, 10, 10)).await.unwrap().events.len(), 1);
    assert_eq!(store.delete_audit_before(Some(&OrgId::from("acme")), 10, 10).await.unwrap(), 0);
    assert_eq!(store.delete_audit_before(Some(&OrgId::from(bad)), 10, 10).await.unwrap(), 1);
}

/// src/postgres.rs:27-31: "A user id of more than about 2,700 bytes that does not
/// compress is more than PostgreSQL's B-tree index of the records' key holds: the save
/// fails with the database's error and nothing is written"; src/common.rs:14 "Messages
/// never hold a record, a code or a secret" (Display and Debug of that error).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_long_user_id_on_postgres_fails_writing_nothing_and_the_error_holds_no_record() {
    let store = pg("longid").await;
    let long = random_text(3_000);
    let user = UserId::new(long.clone());
    let record = UserRecord::new(user.clone());
    let json = serde_json::to_string(&record).unwrap();
    let saved = store.save(record, None, vec![ev(&long, 1, None, "device-SECRET-4711")]).await;
    let Err(error) = saved else { panic!("a 3,000-byte id that does not compress was saved: {saved:?}") };
    assert!(matches!(error, Error::Database(_)), "{error:?}");
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains(&json), "the error holds the record: {text}");
        assert!(!text.contains("SECRET-4711"), "the error holds an event: {text}");
    }
    assert_eq!(store.load(&user).await.unwrap(), None, "nothing was written");
    let trail = store.read_audit(&AuditQuery::range(0, 10, 10)).await.unwrap();
    assert!(trail.events.is_empty(), "no event of the failed save: {trail:?}");
    pg_drop(store).await;
}

// ---------------------------------------------------------------------------------
// Guards: atomicity of settings on SQLite, pruning through the service
// ---------------------------------------------------------------------------------

/// `OrgSettingsStore` contract (src/store/mod.rs:254-256): "The check, the write of the
/// settings and the append of `events` are one atomic step: either the settings and
/// every event are stored, or nothing is" — on SQLite, whose settings save had only a
/// conflict test (the PostgreSQL one is in tests/org_settings.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_settings_and_their_events_are_written_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let store = lite(&dir).await;
    sqlx::query(
        "CREATE TRIGGER boom BEFORE INSERT ON mfa_audit WHEN NEW.device = 'explode' \
         BEGIN SELECT RAISE(ABORT, 'boom'); END",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let settings = OrgSettings::default().with_level("staff", Level::Mandatory);
    let failed = store
        .save_org_settings(
            "acme",
            settings.clone(),
            None,
            vec![ev("a", 1, Some("acme"), "ok"), ev("a", 2, Some("acme"), "explode")],
        )
        .await;
    assert!(matches!(failed, Err(Error::Database(_))), "{failed:?}");
    assert_eq!(store.load_org_settings("acme").await.unwrap(), None, "the settings were rolled back");
    assert!(
        store.read_audit(&AuditQuery::range(0, 10, 10)).await.unwrap().events.is_empty(),
        "and the events"
    );
    let saved =
        store.save_org_settings("acme", settings.clone(), None, vec![ev("a", 1, Some("acme"), "ok")]).await;
    assert_eq!(saved.unwrap(), SaveOutcome::Saved(Version(1)));
    let failed = store
        .save_org_settings(
            "acme",
            OrgSettings::default(),
            Some(Version(1)),
            vec![ev("a", 3, Some("acme"), "explode")],
        )
        .await;
    assert!(failed.is_err());
    let stored = store.load_org_settings("acme").await.unwrap().unwrap();
    assert_eq!((stored.version, stored.settings), (Version(1), settings), "the update was rolled back");
    assert_eq!(store.read_audit(&AuditQuery::range(0, 10, 10)).await.unwrap().events.len(), 1);
}

/// README:70-95 and `MfaService::prune_audit` (src/service/retention.rs:16-33): it
/// deletes an organisation's events before the bound "in batches of PRUNE_BATCH (5,000)
/// events, oldest first", returns how many, keeps the bound's second, other
/// organisations' events and those of none, and "A pruning that deleted anything is
/// itself audited, after the deletion, under the organisation: `audit_pruned` with
/// `before` and the count, by `actor`"; a run again deletes nothing and writes no
/// event.
async fn prune_through_the_service<S: All + Clone + 'static>(s: S, name: &str) {
    use mfa_kit::policy::SignInContext;
    let before = 1_000;
    let mut events: Vec<AuditEvent> =
        (0..10_001u64).map(|i| ev(&format!("p{}", i % 13), 1 + i % 998, Some("acme"), "d")).collect();
    events.push(ev("kept", before, Some("acme"), "at the bound"));
    events.push(ev("kept", 1, Some("acme-2"), "other org"));
    events.push(ev("kept", 1, None, "no org"));
    s.append_events(events).await.unwrap();
    let mfa =
        mfa_kit::service::MfaService::builder("Prune", s.clone(), mfa_kit::danger::PlaintextSealer).build();
    let job = UserId::new("retention-job");
    let acme = SignInContext::default().in_org("acme");
    assert_eq!(mfa.prune_audit(before, &job, &acme).await.unwrap(), 10_001, "{name}");
    let left = all_events(&s, AuditQuery::range(0, u64::MAX, 1000)).await;
    let kept: Vec<_> =
        left.iter().filter(|(u, _, _)| u == "kept").map(|(_, at, d)| (*at, d.clone())).collect();
    assert_eq!(
        kept,
        [
            (1, Some("other org".to_string())),
            (1, Some("no org".to_string())),
            (before, Some("at the bound".to_string()))
        ],
        "{name}"
    );
    let acme_trail = s.read_audit(&AuditQuery::org("acme", 0, u64::MAX, 1000)).await.unwrap();
    let pruned: Vec<_> = acme_trail
        .events
        .iter()
        .filter_map(|e| match &e.event.kind {
            EventKind::AuditPruned { before: b, deleted } => Some((*b, *deleted, e.event.actor.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(pruned, [(before, 10_001, job.clone())], "{name}: the prune is audited under the org");
    assert_eq!(mfa.prune_audit(before, &job, &acme).await.unwrap(), 0, "{name}: again");
    assert_eq!(
        s.read_audit(&AuditQuery::org("acme", 0, u64::MAX, 1000)).await.unwrap().events.len(),
        2,
        "{name}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_through_the_service_keeps_and_audits_as_documented() {
    let store = pg("prune").await;
    prune_through_the_service(store.clone(), "postgres").await;
    pg_drop(store).await;
    let dir = tempfile::tempdir().unwrap();
    prune_through_the_service(lite(&dir).await, "sqlite").await;
}

/// `AuditQuery` (src/store/listing.rs:133-134): "optionally of one user or of one
/// organisation": both at once read the user's events filed under that organisation;
/// events of one save keep their order (`ReadAudit`, listing.rs:235-236).
async fn user_and_org<S: All>(s: &S, name: &str) {
    let events = vec![
        ev("u", 5, Some("acme"), "1"),
        ev("u", 5, Some("other"), "2"),
        ev("w", 5, Some("acme"), "3"),
        ev("u", 5, None, "4"),
        ev("u", 5, Some("acme"), "5"),
    ];
    let saved = s.save(record_in("u", Some("acme")), None, events).await.unwrap();
    assert_eq!(saved, SaveOutcome::Saved(Version(1)), "{name}");
    let query = AuditQuery {
        user: Some(UserId::new("u")),
        org: Some("acme".into()),
        from: 0,
        until: 10,
        after: None,
        limit: 1,
    };
    let read = all_events(s, query).await;
    let devices: Vec<_> = read.iter().map(|(_, _, d)| d.clone().unwrap()).collect();
    assert_eq!(devices, ["1", "5"], "{name}");
    let devices: Vec<_> =
        all_events(s, AuditQuery::range(0, 10, 2)).await.into_iter().map(|(_, _, d)| d.unwrap()).collect();
    assert_eq!(devices, ["1", "2", "3", "4", "5"], "{name}: one save's events in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_read_by_user_and_organisation_together() {
    let store = pg("userorg").await;
    user_and_org(&store, "postgres").await;
    pg_drop(store).await;
    let dir = tempfile::tempdir().unwrap();
    user_and_org(&lite(&dir).await, "sqlite").await;
}

/// src/common.rs:14 (`Error`): "Messages never hold a record, a code or a secret";
/// `Error::Json` (:22-23): "A stored record … could not be read back": a record row
/// that is not a record (say, edited by hand) loads as `Error::Json`, never as `None`
/// or a conflict, and neither its Display nor its Debug repeats what the row holds.
async fn save_plain<S: All>(s: &S, user: &str) {
    let saved = s.save(UserRecord::new(UserId::new(user)), None, vec![]).await;
    assert!(matches!(saved, Ok(SaveOutcome::Saved(_))), "{saved:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_stored_record_is_a_json_error_that_repeats_nothing_of_it() {
    let secret = "JBSWY3DPEHPK3PXP-SECRET";
    let row = format!("{{\"user\":\"corrupt\",\"secret\":\"{secret}\",\"format\":\"{secret}\"}}");
    let check = |name: &str, loaded: Result<Option<mfa_kit::store::Versioned>, Error>| {
        let Err(error) = loaded else { panic!("{name}: a corrupt row loaded: {loaded:?}") };
        assert!(matches!(error, Error::Json { what: "record", .. }), "{name}: {error:?}");
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains("SECRET"), "{name}: the error repeats the row: {text}");
        }
    };
    let store = pg("corrupt").await;
    save_plain(&store, "corrupt").await;
    sqlx::query(&format!("UPDATE {} SET record = $1", store.tables().records()))
        .bind(&row)
        .execute(store.pool())
        .await
        .unwrap();
    check("postgres", store.load(&UserId::new("corrupt")).await);
    let listed = store.list_records(&RecordQuery::prefix("", 10)).await;
    assert!(matches!(listed, Err(Error::Json { .. })), "{listed:?}");
    pg_drop(store).await;

    let dir = tempfile::tempdir().unwrap();
    let store = lite(&dir).await;
    save_plain(&store, "corrupt").await;
    sqlx::query("UPDATE mfa_records SET record = ?1").bind(&row).execute(store.pool()).await.unwrap();
    check("sqlite", store.load(&UserId::new("corrupt")).await);
    let listed = store.list_records(&RecordQuery::prefix("", 10)).await;
    assert!(matches!(listed, Err(Error::Json { .. })), "{listed:?}");
}

/// README:34-36 and `SqliteStore::open` (src/sqlite.rs:166-168): "in WAL mode, with
/// `synchronous = FULL` and a 30-second busy timeout, and a pool of up to 8
/// connections".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_open_sets_what_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let store = lite(&dir).await;
    assert_eq!(store.pool().options().get_max_connections(), 8);
    let mut conn = store.pool().acquire().await.unwrap();
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *conn).await.unwrap();
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut *conn).await.unwrap();
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(&mut *conn).await.unwrap();
    assert_eq!((journal.as_str(), synchronous, busy), ("wal", 2, 30_000));
}
