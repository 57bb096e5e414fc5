//! The SQLite store.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mfa_kit::store::{ListRecords, OrgSettingsStore, PruneAudit, ReadAudit, Store};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::common::{
    AuditEvent, AuditPage, AuditQuery, Error, EventRow, OrgId, OrgSettings, RecordPage, RecordQuery,
    RecordRow, SaveOutcome, TableNames, UserId, UserRecord, Version, Versioned, VersionedSettings,
    audit_bounds, audit_page, judged, last_second_before, list_case, list_prefix, list_statements, read_case,
    read_statements, record_after, record_page, settings_json, stored_event, time_column, version_to_i64,
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
    /// Listing statements by (prefix given, organisation given, only without MFA, cursor
    /// given).
    list: [String; 16],
    /// Audit reading statements by (user given, organisation given).
    read: [String; 4],
    /// Pruning statements: of no organisation, of one.
    prune: [String; 2],
    migrate: Vec<String>,
    /// Statements run after `migrate`'s tables exist and before its indexes: the
    /// columns added since the first release, each with the table it goes to.
    add_columns: Vec<(String, &'static str, String)>,
    indexes: Vec<String>,
}

impl Sql {
    fn new(tables: TableNames) -> Sql {
        let (records, audit, bare) = (tables.records(), tables.audit(), tables.audit_bare());
        let records_bare = tables.records_bare();
        let records_index = |name: &str| match records.split_once('.') {
            Some((schema, _)) => format!("{schema}.{records_bare}_{name}"),
            None => format!("{records_bare}_{name}"),
        };
        let settings = tables.org_settings();
        Sql {
            load: format!("SELECT version, record FROM {records} WHERE user_id = ?1"),
            create: format!(
                "INSERT INTO {records} (user_id, format, has_mfa, record, org, version) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 1) ON CONFLICT (user_id) DO NOTHING RETURNING version"
            ),
            update: format!(
                "UPDATE {records} SET format = ?2, has_mfa = ?3, record = ?4, org = ?5, version = version + 1 \
                 WHERE user_id = ?1 AND version = ?6 RETURNING version"
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
                "INSERT INTO {audit} (user_id, actor, at, outcome, kind, address, device, event, org) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ),
            // Compared as bytes: SQLite's `length` of text stops at a NUL character.
            list: list_statements(records, '?', |p| {
                format!("substr(CAST(user_id AS BLOB), 1, length(CAST({p} AS BLOB))) = CAST({p} AS BLOB)")
            }),
            read: read_statements(audit, '?'),
            prune: [
                format!(
                    "DELETE FROM {audit} WHERE id IN (SELECT id FROM {audit} WHERE org IS NULL AND at <= ?1 ORDER BY at, id LIMIT ?2)"
                ),
                format!(
                    "DELETE FROM {audit} WHERE id IN (SELECT id FROM {audit} WHERE org = ?3 AND at <= ?1 ORDER BY at, id LIMIT ?2)"
                ),
            ],
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
            // Organisations (added after the first release: tables made before get the
            // columns; rows written before have none).
            add_columns: vec![
                (records.to_string(), "org", format!("ALTER TABLE {records} ADD COLUMN org TEXT")),
                (audit.to_string(), "org", format!("ALTER TABLE {audit} ADD COLUMN org TEXT")),
            ],
            indexes: vec![
                format!(
                    "CREATE INDEX IF NOT EXISTS {} ON {records_bare} (org, user_id)",
                    records_index("org")
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {} ON {records_bare} (org, user_id) WHERE NOT has_mfa",
                    records_index("org_without_mfa")
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {} ON {records_bare} (user_id) WHERE NOT has_mfa",
                    records_index("without_mfa")
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {audit}_org_at ON {bare} (org, at, id) WHERE org IS NOT NULL"
                ),
            ],
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
    /// the new version added), in one transaction that takes SQLite's write lock from
    /// its start (`BEGIN IMMEDIATE`): app servers opening an older file at the same time
    /// wait their turn (up to the busy timeout) instead of failing when a read would
    /// have to become a write.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn migrate(&self) -> Result<(), Error> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for statement in &self.sql.migrate {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        for (table, column, statement) in &self.sql.add_columns {
            let (schema, table) = table.split_once('.').unwrap_or(("main", table));
            let has: i64 =
                sqlx::query_scalar("SELECT count(*) FROM pragma_table_info(?1, ?2) WHERE name = ?3")
                    .bind(table)
                    .bind(schema)
                    .bind(column)
                    .fetch_one(&mut *tx)
                    .await?;
            if has == 0 {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
        }
        for statement in &self.sql.indexes {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
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
                .bind(row.org)
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
        // A version no stored row can have: nothing is at it, a conflict.
        let Ok(expected) = expected.map(version_to_i64).transpose() else {
            return Ok(SaveOutcome::Conflict);
        };
        let sql = if expected.is_some() { &self.sql.update } else { &self.sql.create };
        let mut tx = self.pool.begin().await?;
        let mut query = sqlx::query_scalar::<_, i64>(sql)
            .bind(row.user)
            .bind(row.format)
            .bind(row.has_mfa)
            .bind(row.json)
            .bind(row.org);
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
        // A version no stored row can have: nothing is at it, a conflict.
        let Ok(expected) = expected.map(version_to_i64).transpose() else {
            return Ok(SaveOutcome::Conflict);
        };
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
        let after = record_after(query);
        let org = query.org.as_ref().map(|org| org.as_str());
        let mut statement = sqlx::query_as(&self.sql.list[list_case(query)]).bind(len as i64 + 1);
        for value in after.into_iter().chain(org).chain(list_prefix(query)) {
            statement = statement.bind(value);
        }
        let rows: Vec<(i64, String)> = statement.fetch_all(&self.pool).await?;
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
            Some(c) => (time_column(c.at), c.id),
            None => (from, i64::MIN),
        };
        let user = query.user.as_ref().map(UserId::as_str);
        let org = query.org.as_ref().map(|org| org.as_str());
        let sql = &self.sql.read[read_case(query)];
        let mut statement =
            sqlx::query_as(sql).bind(from).bind(until).bind(after_at).bind(after_id).bind(len as i64 + 1);
        for value in user.into_iter().chain(org) {
            statement = statement.bind(value);
        }
        let rows: Vec<(i64, String)> = statement.fetch_all(&self.pool).await?;
        let events = rows.iter().map(|(id, json)| stored_event(*id, json)).collect::<Result<_, _>>()?;
        Ok(audit_page(events, len))
    }
}

impl PruneAudit for SqliteStore {
    async fn delete_audit_before(&self, org: Option<&OrgId>, before: u64, limit: u32) -> Result<u64, Error> {
        let Some(last) = last_second_before(before) else { return Ok(0) };
        let statement =
            sqlx::query(&self.sql.prune[usize::from(org.is_some())]).bind(last).bind(i64::from(limit));
        let statement = match org {
            Some(org) => statement.bind(org.as_str()),
            None => statement,
        };
        Ok(statement.execute(&self.pool).await?.rows_affected())
    }
}
