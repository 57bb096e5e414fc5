//! Shared by the database tests: the real servers, unique table names, a tokio spawner.
#![allow(dead_code)] // Each test file uses a different part.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use mfa_kit::event::{AuditEvent, AuditOutcome, EventKind};
use mfa_kit::store::conformance::Spawner;
use mfa_kit::store::{AuditQuery, ReadAudit};
use mfa_kit::{RequestContext, UserId};
use mfa_kit_sqlx::TableNames;

/// The PostgreSQL URL of the tests: `MFA_KIT_POSTGRES_URL`, or the local server.
pub fn postgres_url() -> String {
    std::env::var("MFA_KIT_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A pool on the test database; fails the test, saying how to start the server, if it
/// is not there.
#[cfg(feature = "postgres")]
pub async fn postgres_pool(max_connections: u32) -> sqlx::PgPool {
    let url = postgres_url();
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(30))
        .connect(&url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {url} ({e}). Start it with \
                 `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
                 (or run .ci/services), or point MFA_KIT_POSTGRES_URL at a server."
            )
        })
}

/// Table names no other test or run uses.
pub fn unique_tables(label: &str) -> TableNames {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000_000);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let stem = format!("t_{label}_{}_{nanos}_{n}", std::process::id());
    TableNames::custom(&format!("{stem}_r"), &format!("{stem}_a"))
        .and_then(|names| names.with_org_settings(&format!("{stem}_s")))
        .expect("valid names")
}

/// Drops a test's tables (PostgreSQL).
#[cfg(feature = "postgres")]
pub async fn drop_tables(pool: &sqlx::PgPool, tables: &TableNames) {
    let (relays, queue) = (tables.notice_relays(), tables.notice_queue());
    for table in [tables.records(), tables.audit(), tables.org_settings(), &relays, &queue] {
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}")).execute(pool).await.expect("drop table");
    }
}

/// Spawns the conformance suite's racing writers on the tokio runtime.
#[derive(Clone, Copy, Debug)]
pub struct Tokio;

impl Spawner for Tokio {
    fn spawn<F>(&self, task: F) -> impl Future<Output = F::Output> + Send
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = tokio::spawn(task);
        async move { handle.await.expect("a spawned task panicked") }
    }
}

/// Runs a future on a fresh multi-threaded tokio runtime: the `block_on` of the
/// conformance tests' macro.
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// A PostgreSQL store on tables of its own, migrated: one per conformance test.
#[cfg(feature = "postgres")]
pub async fn fresh_postgres_store() -> std::sync::Arc<mfa_kit_sqlx::PostgresStore> {
    let store = mfa_kit_sqlx::PostgresStore::with_tables(postgres_pool(12).await, unique_tables("conf"));
    store.migrate().await.expect("migrate");
    std::sync::Arc::new(store)
}

/// Drops a conformance test's PostgreSQL tables.
#[cfg(feature = "postgres")]
pub async fn drop_postgres_store(store: std::sync::Arc<mfa_kit_sqlx::PostgresStore>) {
    drop_tables(store.pool(), store.tables()).await;
}

/// A SQLite store on a database file of its own in WAL mode: one per conformance test.
#[cfg(feature = "sqlite")]
pub async fn fresh_sqlite_store() -> std::sync::Arc<mfa_kit_sqlx::SqliteStore> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("mfa-kit-conformance-{}-{n}.db", std::process::id()));
    remove_sqlite_files(&path);
    std::sync::Arc::new(mfa_kit_sqlx::SqliteStore::open(&path).await.expect("open the database file"))
}

/// Closes a conformance test's SQLite store and deletes its files.
#[cfg(feature = "sqlite")]
pub async fn drop_sqlite_store(store: std::sync::Arc<mfa_kit_sqlx::SqliteStore>) {
    let path: Option<std::path::PathBuf> =
        store.pool().connect_options().get_filename().to_str().map(std::path::PathBuf::from);
    store.pool().close().await;
    if let Some(path) = path {
        remove_sqlite_files(&path);
    }
}

#[cfg(feature = "sqlite")]
fn remove_sqlite_files(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Every one of the store's listing statements (prefix given or not, organisation or
/// not, only without MFA or not, cursor or not) lists what [`RecordQuery::matches`]
/// says, in user id order: records of two organisations and of none, with and without
/// MFA, under two prefixes, made through the service.
pub async fn every_listing_case<S>(store: S)
where
    S: mfa_kit::store::ListRecords + Clone + Send + Sync + 'static,
    S::Error: std::fmt::Debug,
{
    use mfa_kit::UserId;
    use mfa_kit::clock::ManualClock;
    use mfa_kit::danger::PlaintextSealer;
    use mfa_kit::otp::Totp;
    use mfa_kit::otp::uri::KeyUri;
    use mfa_kit::policy::SignInContext;
    use mfa_kit::service::MfaService;
    use mfa_kit::store::RecordQuery;

    let at = 1_700_000_000;
    let clock = ManualClock::new(at);
    let mfa = MfaService::builder("Listing", store.clone(), PlaintextSealer).clock(clock.clone()).build();
    let mut n = 0;
    for prefix in ["p/", "q/"] {
        for org in [Some("org-a"), Some("org-b"), None] {
            for enrolled in [true, false, true] {
                n += 1;
                let user = UserId::new(format!("{prefix}{n:02}"));
                let context =
                    org.map_or_else(SignInContext::default, |org| SignInContext::default().in_org(org));
                clock.set(at);
                let start = mfa.start_enrollment(&user, user.as_str(), &context).await.unwrap().unwrap();
                if enrolled {
                    let key = KeyUri::parse(&start.uri).unwrap();
                    let phone = Totp::new(key.secret(), key.totp_params().unwrap());
                    let codes = [
                        phone.generate(at).unwrap().to_string(),
                        phone.generate(at + 30).unwrap().to_string(),
                    ];
                    clock.set(at + 30);
                    mfa.confirm_enrollment(&user, &[&codes[0], &codes[1]], &context).await.unwrap().unwrap();
                }
            }
        }
    }
    let all = store.list_records(&RecordQuery::prefix("", 1000)).await.unwrap().records;
    assert_eq!(all.len(), n);
    for case in 0..16 {
        let mut query = RecordQuery::prefix(if case & 8 != 0 { "q/" } else { "" }, 2);
        if case & 4 != 0 {
            query.org = Some("org-a".into());
        }
        query.without_mfa = case & 2 != 0;
        if case & 1 != 0 {
            query.after = Some(UserId::new("p/02"));
        }
        let expected: Vec<&str> = all
            .iter()
            .map(|v| &v.record)
            .filter(|r| query.matches(r) && query.after.as_ref().is_none_or(|after| r.user() > after))
            .map(|r| r.user().as_str())
            .collect();
        assert!(!expected.is_empty(), "case {case}: {query:?} lists nothing here");
        let mut listed = Vec::new();
        loop {
            let page = store.list_records(&query).await.unwrap();
            assert!(page.records.len() <= 2, "case {case}: {query:?}");
            listed.extend(page.records.iter().map(|v| v.record.user().as_str().to_string()));
            let Some(next) = page.next else { break };
            query = query.after(Some(next));
        }
        assert_eq!(listed, expected, "case {case}");
    }
}

/// The error of a store wrapper that commits a save and then loses its reply: the
/// reply `Lost` (the connection closed after `COMMIT`), or the real store's error.
#[derive(Debug, thiserror::Error)]
pub enum LostOr {
    #[error("the connection closed before the reply to COMMIT arrived")]
    Lost,
    #[error(transparent)]
    Store(#[from] mfa_kit_sqlx::Error),
}

/// A successful `lockout_ended` event of `user` at `at`, from `address` on `device`.
pub fn lockout_ended(address: &str, user: &UserId, at: u64, device: &str) -> AuditEvent {
    let context = RequestContext::from_address(address.parse().unwrap()).with_device(device);
    let event = AuditEvent::new(user, user, at, &context, EventKind::LockoutEnded);
    assert_eq!(event.outcome, AuditOutcome::Success);
    event
}

/// The first 1000 events of `user`'s audit trail in `store`, oldest first.
pub async fn trail(store: &impl ReadAudit, user: &UserId) -> Vec<AuditEvent> {
    let page = store.read_audit(&AuditQuery::user(user.clone(), 0, i64::MAX as u64, 1000)).await.unwrap();
    page.events.into_iter().map(|e| e.event).collect()
}
