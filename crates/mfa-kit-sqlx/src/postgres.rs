//! The PostgreSQL store.

use std::sync::Arc;

use mfa_kit::store::{ListRecords, OrgSettingsStore, PruneAudit, ReadAudit, Store};
use sqlx::PgPool;

use crate::common::{
    AuditEvent, AuditPage, AuditQuery, Error, EventRow, OrgId, OrgSettings, RecordPage, RecordQuery,
    RecordRow, SaveOutcome, TableNames, UserId, UserRecord, Version, Versioned, VersionedSettings,
    audit_bounds, audit_page, check_org_id, check_user_ids, judged, last_second_before, list_case,
    list_prefix, list_statements, read_case, read_statements, record_after, record_page, settings_json,
    stored_event, time_column, version_to_i64, versioned, versioned_settings,
};

/// A [`Store`] on PostgreSQL (or a PostgreSQL-compatible database), over a pool.
///
/// - A create is one `INSERT … ON CONFLICT (user_id) DO NOTHING`; an update is one
///   `UPDATE … WHERE user_id = $1 AND version = $2`. Each is judged by the rows it
///   affected (none: [`SaveOutcome::Conflict`]) and carries the audit rows in the same
///   statement (a data-modifying `WITH`), so the record and its events commit together
///   in one round trip, or not at all.
/// - Organisations' settings ([`OrgSettingsStore`]) are saved the same way, in their
///   own table, with their events.
/// - Versions are `BIGINT`, starting at 1 and growing by one per save.
/// - User ids holding a NUL character are refused before any write
///   ([`Error::NulInUserId`]). A user id of more than about 2,700 bytes that does not
///   compress is more than PostgreSQL's B-tree index of the records' key holds: the
///   save fails with the database's error and nothing is written (no sign-in goes on
///   without its record). Hosts' ids (numbers, UUIDs, e-mail addresses) are far below.
///
/// Call [`PostgresStore::migrate`] once at start-up; it is safe from many processes at
/// once.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    sql: Arc<Sql>,
}

#[derive(Debug)]
struct Sql {
    tables: TableNames,
    load: String,
    create: String,
    update: String,
    /// `create` and `update` for exactly one event (a sign-in's), its columns bound as
    /// scalars: PostgreSQL decodes and unnests no arrays.
    create_one: String,
    update_one: String,
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
}

/// Inserts the events bound as nine arrays from parameter `$first` on, in their order,
/// when `condition` holds.
fn insert_events(audit: &str, first: usize, condition: &str) -> String {
    let p: Vec<String> = (first..first + 9).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO {audit} (user_id, actor, at, outcome, kind, address, device, event, org) \
         SELECT u, a, t, o, k, ad, d, ev, og FROM UNNEST({}::text[], {}::text[], {}::bigint[], {}::text[], \
         {}::text[], {}::text[], {}::text[], {}::text[], {}::text[]) \
         WITH ORDINALITY AS e(u, a, t, o, k, ad, d, ev, og, n) {condition} ORDER BY n",
        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]
    )
}

/// Inserts the one event bound as nine scalars from parameter `$first` on, when
/// `condition` holds.
fn insert_event(audit: &str, first: usize, condition: &str) -> String {
    let p: Vec<String> = (first..first + 9).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO {audit} (user_id, actor, at, outcome, kind, address, device, event, org) \
         SELECT {}::text, {}::text, {}::bigint, {}::text, {}::text, {}::text, {}::text, {}::text, {}::text \
         {condition}",
        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]
    )
}

impl Sql {
    fn new(tables: TableNames) -> Sql {
        let (records, audit, bare) = (tables.records(), tables.audit(), tables.audit_bare());
        let records_bare = tables.records_bare();
        let settings = tables.org_settings();
        let saved_events = |first| insert_events(audit, first, "WHERE EXISTS (SELECT 1 FROM saved)");
        let saved_event = |first| insert_event(audit, first, "WHERE EXISTS (SELECT 1 FROM saved)");
        let create = |events: String| {
            format!(
                "WITH saved AS (INSERT INTO {records} (user_id, format, has_mfa, record, org, version) \
                 VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT (user_id) DO NOTHING RETURNING version), \
                 events AS ({events}) SELECT version FROM saved"
            )
        };
        let update = |events: String| {
            format!(
                "WITH saved AS (UPDATE {records} SET format = $2, has_mfa = $3, record = $4, org = $5, \
                 version = version + 1, updated_at = now() WHERE user_id = $1 AND version = $6 RETURNING version), \
                 events AS ({events}) SELECT version FROM saved"
            )
        };
        Sql {
            load: format!("SELECT version, record FROM {records} WHERE user_id = $1"),
            create: create(saved_events(6)),
            update: update(saved_events(7)),
            create_one: create(saved_event(6)),
            update_one: update(saved_event(7)),
            load_settings: format!("SELECT version, settings FROM {settings} WHERE org = $1"),
            create_settings: format!(
                "WITH saved AS (INSERT INTO {settings} (org, settings, version) VALUES ($1, $2, 1) \
                 ON CONFLICT (org) DO NOTHING RETURNING version), events AS ({}) SELECT version FROM saved",
                saved_events(3)
            ),
            update_settings: format!(
                "WITH saved AS (UPDATE {settings} SET settings = $2, version = version + 1, updated_at = now() \
                 WHERE org = $1 AND version = $3 RETURNING version), events AS ({}) SELECT version FROM saved",
                saved_events(4)
            ),
            append: format!(
                "WITH appended AS ({} RETURNING 1) SELECT count(*) FROM appended",
                insert_events(audit, 1, "")
            ),
            list: list_statements(records, '$', |p| format!("left(user_id, char_length({p})) = {p}")),
            read: read_statements(audit, '$'),
            // Rows another pruner is deleting are skipped, not waited for: two pruners
            // at once each delete full batches while any are left, so a short batch
            // still means none are left (`PruneAudit`).
            prune: [
                format!("DELETE FROM {audit} WHERE id IN (SELECT id FROM {audit} WHERE org IS NULL AND at <= $1 ORDER BY at, id LIMIT $2 FOR UPDATE SKIP LOCKED)"),
                format!("DELETE FROM {audit} WHERE id IN (SELECT id FROM {audit} WHERE org = $3 AND at <= $1 ORDER BY at, id LIMIT $2 FOR UPDATE SKIP LOCKED)"),
            ],
            // The schemas the tables name, if any, first.
            migrate: tables
                .schemas()
                .into_iter()
                .map(|schema| format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .chain([
                // The records table's statements first, then the audit table's, as a save
                // takes its locks (records, then audit): a migrate beside running saves
                // cannot deadlock with them.
                format!(
                    "CREATE TABLE IF NOT EXISTS {records} (\
                     user_id TEXT COLLATE \"C\" PRIMARY KEY, \
                     version BIGINT NOT NULL CHECK (version > 0), \
                     format INTEGER NOT NULL, \
                     has_mfa BOOLEAN NOT NULL, \
                     record TEXT NOT NULL, \
                     updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                ),
                // Organisations (added after the first release: tables made before get
                // the columns here; rows written before have none).
                format!("ALTER TABLE {records} ADD COLUMN IF NOT EXISTS org TEXT COLLATE \"C\""),
                format!("CREATE INDEX IF NOT EXISTS {records_bare}_org ON {records} (org, user_id)"),
                format!(
                    "CREATE INDEX IF NOT EXISTS {records_bare}_org_without_mfa ON {records} (org, user_id) \
                     WHERE NOT has_mfa"
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {records_bare}_without_mfa ON {records} (user_id) WHERE NOT has_mfa"
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {audit} (\
                     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
                     user_id TEXT COLLATE \"C\" NOT NULL, \
                     actor TEXT NOT NULL, \
                     at BIGINT NOT NULL, \
                     outcome TEXT NOT NULL, \
                     kind TEXT NOT NULL, \
                     address TEXT, \
                     device TEXT, \
                     event TEXT NOT NULL)"
                ),
                format!("CREATE INDEX IF NOT EXISTS {bare}_user_at ON {audit} (user_id, at, id)"),
                format!("CREATE INDEX IF NOT EXISTS {bare}_at ON {audit} (at, id)"),
                format!("ALTER TABLE {audit} ADD COLUMN IF NOT EXISTS org TEXT COLLATE \"C\""),
                format!("CREATE INDEX IF NOT EXISTS {bare}_org_at ON {audit} (org, at, id) WHERE org IS NOT NULL"),
                format!(
                    "CREATE TABLE IF NOT EXISTS {settings} (\
                     org TEXT COLLATE \"C\" PRIMARY KEY, \
                     version BIGINT NOT NULL CHECK (version > 0), \
                     settings TEXT NOT NULL, \
                     updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                ),
            ])
            .chain(crate::notices::postgres_migrate(&tables))
            .collect(),
            tables,
        }
    }
}

impl PostgresStore {
    /// A store over `pool` with the default table names (`mfa_records`, `mfa_audit`).
    pub fn new(pool: PgPool) -> PostgresStore {
        PostgresStore::with_tables(pool, TableNames::default())
    }

    /// A store over `pool` with the given table names.
    pub fn with_tables(pool: PgPool, tables: TableNames) -> PostgresStore {
        PostgresStore { pool, sql: Arc::new(Sql::new(tables)) }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The table names.
    pub fn tables(&self) -> &TableNames {
        &self.sql.tables
    }

    /// Creates the tables and indexes if they do not exist (after an upgrade, the ones
    /// the new version added), and the schemas the table names name. Many processes may
    /// call it at once: a transaction-scoped advisory lock makes them take turns.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn migrate(&self) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('mfa-kit-sqlx migrate'))")
            .execute(&mut *tx)
            .await?;
        for statement in &self.sql.migrate {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// One column of every event, to bind as an array.
fn columns(rows: Vec<EventRow>) -> EventColumns {
    let mut c = EventColumns {
        user: Vec::with_capacity(rows.len()),
        actor: Vec::with_capacity(rows.len()),
        at: Vec::with_capacity(rows.len()),
        outcome: Vec::with_capacity(rows.len()),
        kind: Vec::with_capacity(rows.len()),
        address: Vec::with_capacity(rows.len()),
        device: Vec::with_capacity(rows.len()),
        event: Vec::with_capacity(rows.len()),
        org: Vec::with_capacity(rows.len()),
    };
    for r in rows {
        c.user.push(r.user);
        c.actor.push(r.actor);
        c.at.push(r.at);
        c.outcome.push(r.outcome.to_string());
        c.kind.push(r.kind);
        c.address.push(r.address);
        c.device.push(r.device);
        c.event.push(r.event);
        c.org.push(r.org);
    }
    c
}

/// A save's events, bound as one scalar per column when there is exactly one (the
/// `…_one` statements), otherwise as arrays.
enum SaveEvents {
    One(EventRow),
    Many(EventColumns),
}

impl SaveEvents {
    fn new(rows: Vec<EventRow>) -> SaveEvents {
        match <[EventRow; 1]>::try_from(rows) {
            Ok([one]) => SaveEvents::One(one),
            Err(rows) => SaveEvents::Many(columns(rows)),
        }
    }

    fn bind<'q>(
        self,
        query: sqlx::query::QueryScalar<'q, sqlx::Postgres, i64, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Postgres, i64, sqlx::postgres::PgArguments> {
        match self {
            SaveEvents::One(r) => query
                .bind(r.user)
                .bind(r.actor)
                .bind(r.at)
                .bind(r.outcome)
                .bind(r.kind)
                .bind(r.address)
                .bind(r.device)
                .bind(r.event)
                .bind(r.org),
            SaveEvents::Many(columns) => columns.bind(query),
        }
    }
}

struct EventColumns {
    user: Vec<String>,
    actor: Vec<String>,
    at: Vec<i64>,
    outcome: Vec<String>,
    kind: Vec<String>,
    address: Vec<Option<String>>,
    device: Vec<Option<String>>,
    event: Vec<String>,
    org: Vec<Option<String>>,
}

impl EventColumns {
    fn bind<'q>(
        self,
        query: sqlx::query::QueryScalar<'q, sqlx::Postgres, i64, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Postgres, i64, sqlx::postgres::PgArguments> {
        query
            .bind(self.user)
            .bind(self.actor)
            .bind(self.at)
            .bind(self.outcome)
            .bind(self.kind)
            .bind(self.address)
            .bind(self.device)
            .bind(self.event)
            .bind(self.org)
    }
}

fn checked_rows(events: &[AuditEvent]) -> Result<Vec<EventRow>, Error> {
    check_user_ids(events.iter().flat_map(|e| [e.user.as_str(), e.actor.as_str()]))?;
    events.iter().filter_map(AuditEvent::org).try_for_each(|org| check_org_id(org.as_str()))?;
    EventRow::all(events)
}

fn checked_events(events: &[AuditEvent]) -> Result<EventColumns, Error> {
    Ok(columns(checked_rows(events)?))
}

impl Store for PostgresStore {
    type Error = Error;

    async fn load(&self, user: &UserId) -> Result<Option<Versioned>, Error> {
        check_user_ids([user.as_str()])?;
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
        check_user_ids([record.user().as_str()])?;
        record.org().map(|org| check_org_id(org.as_str())).transpose()?;
        let events = SaveEvents::new(checked_rows(&events)?);
        let row = RecordRow::new(&record)?;
        // A version no stored row can have: nothing is at it, a conflict.
        let Ok(expected) = expected.map(version_to_i64).transpose() else {
            return Ok(SaveOutcome::Conflict);
        };
        let sql = match (&events, expected.is_some()) {
            (SaveEvents::One(_), true) => &self.sql.update_one,
            (SaveEvents::One(_), false) => &self.sql.create_one,
            (SaveEvents::Many(_), true) => &self.sql.update,
            (SaveEvents::Many(_), false) => &self.sql.create,
        };
        let mut query = sqlx::query_scalar::<_, i64>(sql)
            .bind(row.user)
            .bind(row.format)
            .bind(row.has_mfa)
            .bind(row.json)
            .bind(row.org);
        if let Some(expected) = expected {
            query = query.bind(expected);
        }
        judged(events.bind(query).fetch_optional(&self.pool).await?)
    }

    async fn append_events(&self, events: Vec<AuditEvent>) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        let events = checked_events(&events)?;
        events.bind(sqlx::query_scalar::<_, i64>(&self.sql.append)).fetch_one(&self.pool).await?;
        Ok(())
    }
}

impl OrgSettingsStore for PostgresStore {
    async fn load_org_settings(&self, org: &str) -> Result<Option<VersionedSettings>, Error> {
        check_org_id(org)?;
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
        check_org_id(org)?;
        let events = checked_events(&events)?;
        let json = settings_json(&settings)?;
        // A version no stored row can have: nothing is at it, a conflict.
        let Ok(expected) = expected.map(version_to_i64).transpose() else {
            return Ok(SaveOutcome::Conflict);
        };
        let sql = if expected.is_some() { &self.sql.update_settings } else { &self.sql.create_settings };
        let mut query = sqlx::query_scalar::<_, i64>(sql).bind(org).bind(json);
        if let Some(expected) = expected {
            query = query.bind(expected);
        }
        judged(events.bind(query).fetch_optional(&self.pool).await?)
    }
}

impl ListRecords for PostgresStore {
    async fn list_records(&self, query: &RecordQuery) -> Result<RecordPage, Error> {
        check_user_ids([query.prefix.as_str()].into_iter().chain(record_after(query)))?;
        query.org.as_ref().map(|org| check_org_id(org.as_str())).transpose()?;
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

impl ReadAudit for PostgresStore {
    async fn read_audit(&self, query: &AuditQuery) -> Result<AuditPage, Error> {
        let len = query.page_len();
        let Some((from, until, after)) = audit_bounds(query) else {
            return Ok(AuditPage { events: Vec::new(), next: None });
        };
        let user = query.user.as_ref().map(UserId::as_str);
        let org = query.org.as_ref().map(|org| org.as_str());
        check_user_ids(user)?;
        org.map(check_org_id).transpose()?;
        // No cursor: start before every event of the range.
        let (after_at, after_id) = match after {
            Some(c) => (time_column(c.at), c.id),
            None => (from, i64::MIN),
        };
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

impl PruneAudit for PostgresStore {
    async fn delete_audit_before(&self, org: Option<&OrgId>, before: u64, limit: u32) -> Result<u64, Error> {
        org.map(|org| check_org_id(org.as_str())).transpose()?;
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
