//! The SQLite store.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mfa_kit::store::{ListRecords, OrgSettingsStore, ReadAudit, Store};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::common::{
    AuditEvent, AuditPage, AuditQuery, Error, EventRow, OrgSettings, RecordPage, RecordQuery, RecordRow,
    SaveOutcome, TableNames, UserId, UserRecord, Version, Versioned, VersionedSettings, audit_bounds,
    audit_page, judged, record_after, record_page, settings_json, stored_event, to_i64, version_to_i64,
    versioned, versioned_settings,
};

/// A [`Store`] on SQLite, over a pool: for single-server hosts, tools and demos, and
/// for several processes on one machine sharing a database file in WAL mode.
///
/// A save is one transaction: `INSERT … ON CONFLICT (user_id) DO NOTHING` (create) or
/// `UPDATE … WHERE user_id = ? AND version = ?` (update), judged by the rows affected,
/// then the audit rows; a conflict rolls back. Organisations' settings
/// ([`OrgSettingsStore`]) are saved the same way, in their own table, with their events. [`SqliteStore::open`] sets WAL mode,
/// `synchronous = FULL` and a busy timeout, so concurrent writers wait their turn
/// instead of failing.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    sql: Arc<Sql>,
}

#[derive(Debug)]
struct Sql {
    tables: TableNames,
    load: String,
    create: String,
    update: String,
    load_settings: String,
    create_settings: String,
    update_settings: String,
    append: String,
    list: String,
    read_user: String,
    read_all: String,
    prune: String,
    migrate: Vec<String>,
}

impl Sql {
    fn new(tables: TableNames) -> Sql {
        let (records, audit, bare) = (tables.records(), tables.audit(), tables.audit_bare());
        let settings = tables.org_settings();
        Sql {
            load: format!("SELECT version, record FROM {records} WHERE user_id = ?1"),
            create: format!(
                "INSERT INTO {records} (user_id, format, has_mfa, record, version) VALUES (?1, ?2, ?3, ?4, 1) \
                 ON CONFLICT (user_id) DO NOTHING RETURNING version"
            ),
            update: format!(
                "UPDATE {records} SET format = ?2, has_mfa = ?3, record = ?4, version = version + 1 \
                 WHERE user_id = ?1 AND version = ?5 RETURNING version"
            ),
            load_settings: format!("SELECT version, settings FROM {settings} WHERE org = ?1"),
            create_settings: format!(
                "INSERT INTO {settings} (org, settings, version) VALUES (?1, ?2, 1) \
                 ON CONFLICT (org) DO NOTHING RETURNING version"
            ),
            update_settings: format!(
                "UPDATE {settings} SET settings = ?2, version = version + 1 \
                 WHERE org = ?1 AND version = ?3 RETURNING version"
            ),
            append: format!(
                "INSERT INTO {audit} (user_id, actor, at, outcome, kind, address, device, event) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ),
            list: format!(
                "SELECT version, record FROM {records} WHERE user_id >= ?1 \
                 AND substr(user_id, 1, length(?1)) = ?1 AND (?2 IS NULL OR user_id > ?2) \
                 AND (NOT ?3 OR NOT has_mfa) ORDER BY user_id LIMIT ?4"
            ),
            read_user: format!(
                "SELECT id, event FROM {audit} WHERE user_id = ?1 AND at >= ?2 AND at < ?3 \
                 AND (at, id) > (?4, ?5) ORDER BY at, id LIMIT ?6"
            ),
            read_all: format!(
                "SELECT id, event FROM {audit} WHERE at >= ?1 AND at < ?2 \
                 AND (at, id) > (?3, ?4) ORDER BY at, id LIMIT ?5"
            ),
            prune: format!("DELETE FROM {audit} WHERE at < ?1"),
            migrate: vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {records} (\
                     user_id TEXT NOT NULL PRIMARY KEY, \
                     version INTEGER NOT NULL CHECK (version > 0), \
                     format INTEGER NOT NULL, \
                     has_mfa INTEGER NOT NULL, \
                     record TEXT NOT NULL)"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {audit} (\
                     id INTEGER PRIMARY KEY AUTOINCREMENT, \
                     user_id TEXT NOT NULL, \
                     actor TEXT NOT NULL, \
                     at INTEGER NOT NULL, \
                     outcome TEXT NOT NULL, \
                     kind TEXT NOT NULL, \
                     address TEXT, \
                     device TEXT, \
                     event TEXT NOT NULL)"
                ),
                // SQLite names the index with the schema and the table without it.
                format!("CREATE INDEX IF NOT EXISTS {audit}_user_at ON {bare} (user_id, at, id)"),
                format!("CREATE INDEX IF NOT EXISTS {audit}_at ON {bare} (at, id)"),
                format!(
                    "CREATE TABLE IF NOT EXISTS {settings} (\
                     org TEXT NOT NULL PRIMARY KEY, \
                     version INTEGER NOT NULL CHECK (version > 0), \
                     settings TEXT NOT NULL)"
                ),
            ]
            .into_iter()
            .chain(crate::notices::sqlite_migrate(&tables))
            .collect(),
            tables,
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` in WAL mode, with
    /// `synchronous = FULL` and a 30-second busy timeout, and a pool of up to 8
    /// connections; then creates the default tables. For other settings build the pool
    /// yourself and use [`SqliteStore::with_tables`].
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteStore, Error> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        let store = SqliteStore::new(pool);
        store.migrate().await?;
        Ok(store)
    }

    /// A store over `pool` with the default table names (`mfa_records`, `mfa_audit`).
    pub fn new(pool: SqlitePool) -> SqliteStore {
        SqliteStore::with_tables(pool, TableNames::default())
    }

    /// A store over `pool` with the given table names.
    pub fn with_tables(pool: SqlitePool, tables: TableNames) -> SqliteStore {
        SqliteStore { pool, sql: Arc::new(Sql::new(tables)) }
    }

    /// The pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The table names.
    pub fn tables(&self) -> &TableNames {
        &self.sql.tables
    }

    /// Creates the tables and indexes if they do not exist (after an upgrade, the ones
    /// the new version added), in one transaction.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn migrate(&self) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        for statement in &self.sql.migrate {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes audit events older than `before` (seconds since the Unix epoch); returns
    /// how many. Run it daily with `now - 12 months`.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::OutOfRange`].
    pub async fn prune_audit_before(&self, before: u64) -> Result<u64, Error> {
        let before = to_i64("time", before)?;
        Ok(sqlx::query(&self.sql.prune).bind(before).execute(&self.pool).await?.rows_affected())
    }

    async fn insert_events(
        &self,
        conn: &mut sqlx::SqliteConnection,
        events: Vec<EventRow>,
    ) -> Result<(), Error> {
        for row in events {
            sqlx::query(&self.sql.append)
                .bind(row.user)
                .bind(row.actor)
                .bind(row.at)
                .bind(row.outcome)
                .bind(row.kind)
                .bind(row.address)
                .bind(row.device)
                .bind(row.event)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    type Error = Error;

    async fn load(&self, user: &UserId) -> Result<Option<Versioned>, Error> {
        let row: Option<(i64, String)> =
            sqlx::query_as(&self.sql.load).bind(user.as_str()).fetch_optional(&self.pool).await?;
        row.map(|(version, json)| versioned(version, &json)).transpose()
    }

    async fn save(
        &self,
        record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> Result<SaveOutcome, Error> {
        let events = EventRow::all(&events)?;
        let row = RecordRow::new(&record)?;
        let expected = expected.map(version_to_i64).transpose()?;
        let sql = if expected.is_some() { &self.sql.update } else { &self.sql.create };
        let mut tx = self.pool.begin().await?;
        let mut query = sqlx::query_scalar::<_, i64>(sql)
            .bind(row.user)
            .bind(row.format)
            .bind(row.has_mfa)
            .bind(row.json);
        if let Some(expected) = expected {
            query = query.bind(expected);
        }
        let saved = query.fetch_optional(&mut *tx).await?;
        if saved.is_none() {
            tx.rollback().await?;
            return Ok(SaveOutcome::Conflict);
        }
        self.insert_events(&mut tx, events).await?;
        tx.commit().await?;
        judged(saved)
    }

    async fn append_events(&self, events: Vec<AuditEvent>) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        let events = EventRow::all(&events)?;
        let mut tx = self.pool.begin().await?;
        self.insert_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl OrgSettingsStore for SqliteStore {
    async fn load_org_settings(&self, org: &str) -> Result<Option<VersionedSettings>, Error> {
        let row: Option<(i64, String)> =
            sqlx::query_as(&self.sql.load_settings).bind(org).fetch_optional(&self.pool).await?;
        row.map(|(version, json)| versioned_settings(version, &json)).transpose()
    }

    async fn save_org_settings(
        &self,
        org: &str,
        settings: OrgSettings,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> Result<SaveOutcome, Error> {
        let events = EventRow::all(&events)?;
        let json = settings_json(&settings)?;
        let expected = expected.map(version_to_i64).transpose()?;
        let sql = if expected.is_some() { &self.sql.update_settings } else { &self.sql.create_settings };
        let mut tx = self.pool.begin().await?;
        let mut query = sqlx::query_scalar::<_, i64>(sql).bind(org).bind(json);
        if let Some(expected) = expected {
            query = query.bind(expected);
        }
        let saved = query.fetch_optional(&mut *tx).await?;
        if saved.is_none() {
            tx.rollback().await?;
            return Ok(SaveOutcome::Conflict);
        }
        self.insert_events(&mut tx, events).await?;
        tx.commit().await?;
        judged(saved)
    }
}

impl ListRecords for SqliteStore {
    async fn list_records(&self, query: &RecordQuery) -> Result<RecordPage, Error> {
        let len = query.page_len();
        let rows: Vec<(i64, String)> = sqlx::query_as(&self.sql.list)
            .bind(&query.prefix)
            .bind(record_after(query))
            .bind(query.without_mfa)
            .bind(len as i64 + 1)
            .fetch_all(&self.pool)
            .await?;
        let records = rows.iter().map(|(v, json)| versioned(*v, json)).collect::<Result<_, _>>()?;
        Ok(record_page(records, len))
    }
}

impl ReadAudit for SqliteStore {
    async fn read_audit(&self, query: &AuditQuery) -> Result<AuditPage, Error> {
        let len = query.page_len();
        let Some((from, until, after)) = audit_bounds(query) else {
            return Ok(AuditPage { events: Vec::new(), next: None });
        };
        let (after_at, after_id) = match after {
            Some(c) => (to_i64("time", c.at)?, c.id),
            None => (from, i64::MIN),
        };
        let query = match &query.user {
            Some(user) => sqlx::query_as(&self.sql.read_user).bind(user.as_str()),
            None => sqlx::query_as(&self.sql.read_all),
        };
        let rows: Vec<(i64, String)> = query
            .bind(from)
            .bind(until)
            .bind(after_at)
            .bind(after_id)
            .bind(len as i64 + 1)
            .fetch_all(&self.pool)
            .await?;
        let events = rows.iter().map(|(id, json)| stored_event(*id, json)).collect::<Result<_, _>>()?;
        Ok(audit_page(events, len))
    }
}
