//! What both stores share: the error type, table names, and the rows an audit event
//! becomes.

// The shared vocabulary of mfa-kit, imported in this one place.
pub(crate) use mfa_kit::event::{AuditEvent, AuditOutcome};
pub(crate) use mfa_kit::policy::OrgSettings;
pub(crate) use mfa_kit::record::UserRecord;
pub(crate) use mfa_kit::store::{
    AuditCursor, AuditPage, AuditQuery, RecordPage, RecordQuery, SaveOutcome, StoredEvent, Version,
    Versioned, VersionedSettings,
};
pub(crate) use mfa_kit::{OrgId, UserId};

/// What went wrong in a store. Messages never hold a record, a code or a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database failed or could not be reached. After a failed commit the write
    /// may or may not have been made (see the crate docs on lost replies).
    #[error("the database failed: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored record, event or organisation's settings could not be read back, or
    /// could not be written as JSON.
    #[error(
        "the stored {what} is not valid JSON of its type ({category:?} error at line {line}, column {column})"
    )]
    Json {
        /// A record, an audit event or organisation settings.
        what: &'static str,
        /// What kind of JSON error.
        category: serde_json::error::Category,
        /// Where in the text.
        line: usize,
        /// Where in the line.
        column: usize,
    },
    /// A user id (of a record, or the user or actor of an event) holds a NUL character,
    /// which a PostgreSQL text column cannot hold. Nothing was written.
    #[error("a user id contains a NUL character, which PostgreSQL text cannot hold; nothing was written")]
    NulInUserId,
    /// An organisation's id holds a NUL character, which a PostgreSQL text column
    /// cannot hold. Nothing was written.
    #[error(
        "an organisation id contains a NUL character, which PostgreSQL text cannot hold; nothing was written"
    )]
    NulInOrgId,
    /// A version or time does not fit the database's signed 64-bit column. Nothing was
    /// written.
    #[error("the {what} {value} does not fit a signed 64-bit column; nothing was written")]
    OutOfRange {
        /// A version or a time.
        what: &'static str,
        /// The value.
        value: u64,
    },
    /// A stored version or time is negative or zero where it cannot be: the row was
    /// not written by this crate.
    #[error("the stored {what} {value} is out of range: the row was not written by mfa-kit-sqlx")]
    CorruptRow {
        /// A version or a time.
        what: &'static str,
        /// The value found.
        value: i64,
    },
    /// A table name is not a plain SQL identifier (`[A-Za-z_][A-Za-z0-9_]*`, at most 48
    /// characters, optionally after one `schema.`), or a part of it is a word SQL
    /// reserves (`order`, `user`, `group`: a keyword of PostgreSQL or SQLite).
    #[error(
        "the table name {0:?} is not a plain SQL identifier (letters, digits and _, at most 48 characters, optionally schema.table, and no SQL keyword such as order or user)"
    )]
    InvalidTableName(String),
    /// Two of the table names are the same; the notice outbox's tables, named after the
    /// audit table (`<audit>_relays`, `<audit>_notices`), count too, and so do the
    /// indexes `migrate` makes, named after their table (`<records>_org`,
    /// `<records>_org_without_mfa`, `<records>_without_mfa`, `<audit>_user_at`,
    /// `<audit>_at`, `<audit>_org_at`, `<audit>_tx`).
    #[error(
        "the records, audit and organisation settings tables, the audit table's _relays and _notices tables, and the indexes named after the records and audit tables, must have different names"
    )]
    SameTableNames,
}

impl Error {
    pub(crate) fn json(what: &'static str) -> impl FnOnce(serde_json::Error) -> Error {
        move |e| Error::Json { what, category: e.classify(), line: e.line(), column: e.column() }
    }
}

/// The names of the tables a store uses: records, audit, and organisation settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableNames {
    records: String,
    audit: String,
    org_settings: String,
}

impl Default for TableNames {
    fn default() -> Self {
        TableNames {
            records: "mfa_records".into(),
            audit: "mfa_audit".into(),
            org_settings: TableNames::DEFAULT_ORG_SETTINGS.into(),
        }
    }
}

impl TableNames {
    const DEFAULT_ORG_SETTINGS: &str = "mfa_org_settings";

    /// The default names: `mfa_records`, `mfa_audit` and `mfa_org_settings`.
    pub fn new() -> TableNames {
        TableNames::default()
    }

    /// Custom names for the records and audit tables, each `table` or `schema.table` in
    /// plain identifiers. The organisation settings table is `mfa_org_settings`, in the
    /// records table's schema if it names one; [`TableNames::with_org_settings`] names
    /// it otherwise.
    ///
    /// # Errors
    /// [`Error::InvalidTableName`] for a name that is not a plain identifier (so no name
    /// can smuggle SQL) or is an SQL keyword (`order`, `user`), [`Error::SameTableNames`]
    /// for names that are the same, counting the tables and indexes named after them.
    pub fn custom(records: &str, audit: &str) -> Result<TableNames, Error> {
        let org_settings = match records.split_once('.') {
            Some((schema, _)) => format!("{schema}.{}", TableNames::DEFAULT_ORG_SETTINGS),
            None => TableNames::DEFAULT_ORG_SETTINGS.to_string(),
        };
        TableNames { records: records.to_string(), audit: audit.to_string(), org_settings }.checked()
    }

    /// The same names with another organisation settings table (`table` or
    /// `schema.table`).
    ///
    /// # Errors
    /// [`Error::InvalidTableName`], [`Error::SameTableNames`].
    pub fn with_org_settings(self, org_settings: &str) -> Result<TableNames, Error> {
        TableNames { org_settings: org_settings.to_string(), ..self }.checked()
    }

    fn checked(self) -> Result<TableNames, Error> {
        for name in [&self.records, &self.audit, &self.org_settings] {
            let mut parts = name.split('.');
            let valid = name.split('.').count() <= 2
                && parts.all(|part| {
                    let mut chars = part.chars();
                    part.len() <= 48
                        && chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && !is_keyword(part)
                });
            if !valid {
                return Err(Error::InvalidTableName(name.clone()));
            }
        }
        // The notice outbox's tables are named after the audit table (`_relays`,
        // `_notices`): no other table may take one of those names.
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        let (relays, queue) = (format!("{}_relays", self.audit), format!("{}_notices", self.audit));
        let all = [self.records.as_str(), self.audit.as_str(), self.org_settings.as_str(), &relays, &queue];
        let clash = all.iter().enumerate().any(|(i, a)| all[i + 1..].iter().any(|b| same(a, b)));
        // Nor may a table take the name of an index `migrate` makes (an index and a
        // table share one namespace in both databases): compared without the schema.
        let bare = |name: &str| bare_name(name).to_ascii_lowercase();
        let (records, audit) = (bare(&self.records), bare(&self.audit));
        let indexes: Vec<String> = ["_org", "_org_without_mfa", "_without_mfa"]
            .iter()
            .map(|suffix| format!("{records}{suffix}"))
            .chain(["_user_at", "_at", "_org_at", "_tx"].iter().map(|suffix| format!("{audit}{suffix}")))
            .collect();
        let on_an_index = all.iter().any(|table| indexes.contains(&bare(table)));
        if clash || on_an_index {
            return Err(Error::SameTableNames);
        }
        Ok(self)
    }

    /// The records table.
    pub fn records(&self) -> &str {
        &self.records
    }

    /// The audit table.
    pub fn audit(&self) -> &str {
        &self.audit
    }

    /// The organisation settings table.
    pub fn org_settings(&self) -> &str {
        &self.org_settings
    }

    /// The schemas the table names name (`schema.table`), each once.
    pub(crate) fn schemas(&self) -> Vec<&str> {
        let mut schemas: Vec<&str> = [&self.records, &self.audit, &self.org_settings]
            .into_iter()
            .filter_map(|name| name.split_once('.').map(|(schema, _)| schema))
            .collect();
        schemas.sort_unstable();
        schemas.dedup();
        schemas
    }

    /// The audit table's name without its schema, to name its indexes.
    pub(crate) fn audit_bare(&self) -> &str {
        bare_name(&self.audit)
    }

    /// The records table's name without its schema, to name its indexes.
    pub(crate) fn records_bare(&self) -> &str {
        bare_name(&self.records)
    }
}

/// A table name without its schema.
fn bare_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// An audit event as the columns of its row.
pub(crate) struct EventRow {
    pub(crate) user: String,
    pub(crate) actor: String,
    pub(crate) at: i64,
    pub(crate) outcome: &'static str,
    pub(crate) kind: String,
    pub(crate) address: Option<String>,
    /// The device label, NUL characters replaced (the `event` column keeps it exact).
    pub(crate) device: Option<String>,
    /// The whole event as JSON: what is read back.
    pub(crate) event: String,
    /// The organisation it is filed under.
    pub(crate) org: Option<String>,
}

impl EventRow {
    pub(crate) fn new(event: &AuditEvent) -> Result<EventRow, Error> {
        let json = serde_json::to_string(event).map_err(Error::json("audit event"))?;
        let kind = event.kind.name().to_string();
        Ok(EventRow {
            user: event.user.as_str().to_string(),
            actor: event.actor.as_str().to_string(),
            at: to_i64("event time", event.at)?,
            outcome: match event.outcome {
                AuditOutcome::Success => "success",
                AuditOutcome::Failure => "failure",
            },
            kind,
            address: event.context.address.map(|a| a.to_string()),
            device: event.context.device.as_ref().map(|d| d.replace('\0', "\u{fffd}")),
            event: json,
            org: event.org().map(|org| org.as_str().to_string()),
        })
    }

    pub(crate) fn all(events: &[AuditEvent]) -> Result<Vec<EventRow>, Error> {
        events.iter().map(EventRow::new).collect()
    }
}

/// A record as the columns of its row.
pub(crate) struct RecordRow {
    pub(crate) user: String,
    pub(crate) format: i32,
    pub(crate) has_mfa: bool,
    pub(crate) json: String,
    pub(crate) org: Option<String>,
}

impl RecordRow {
    pub(crate) fn new(record: &UserRecord) -> Result<RecordRow, Error> {
        Ok(RecordRow {
            user: record.user().as_str().to_string(),
            format: i32::try_from(record.format()).unwrap_or(i32::MAX),
            has_mfa: record.has_mfa(),
            json: serde_json::to_string(record).map_err(Error::json("record"))?,
            org: record.org().map(|org| org.as_str().to_string()),
        })
    }
}

pub(crate) fn to_i64(what: &'static str, value: u64) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| Error::OutOfRange { what, value })
}

pub(crate) fn version_to_i64(version: Version) -> Result<i64, Error> {
    to_i64("version", version.0)
}

/// A time as the columns hold it: one past the largest they can hold reads as that
/// largest (no stored event is dated after it), so a bound or a retry time of
/// `u64::MAX` is not a store failure.
pub(crate) fn time_column(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) fn stored_u64(what: &'static str, value: i64, min: i64) -> Result<u64, Error> {
    if value < min {
        return Err(Error::CorruptRow { what, value });
    }
    Ok(value as u64)
}

pub(crate) fn versioned(version: i64, json: &str) -> Result<Versioned, Error> {
    Ok(Versioned {
        version: Version(stored_u64("version", version, 1)?),
        record: serde_json::from_str(json).map_err(Error::json("record"))?,
    })
}

pub(crate) fn settings_json(settings: &OrgSettings) -> Result<String, Error> {
    serde_json::to_string(settings).map_err(Error::json("organisation settings"))
}

pub(crate) fn versioned_settings(version: i64, json: &str) -> Result<VersionedSettings, Error> {
    Ok(VersionedSettings {
        version: Version(stored_u64("version", version, 1)?),
        settings: serde_json::from_str(json).map_err(Error::json("organisation settings"))?,
    })
}

pub(crate) fn stored_event(id: i64, json: &str) -> Result<StoredEvent, Error> {
    Ok(StoredEvent { id, event: serde_json::from_str(json).map_err(Error::json("audit event"))? })
}

/// Cuts rows fetched one past the page length into a page and the next cursor.
pub(crate) fn record_page(mut records: Vec<Versioned>, len: usize) -> RecordPage {
    let more = records.len() > len;
    records.truncate(len);
    let next = if more { records.last().map(|v| v.record.user().clone()) } else { None };
    RecordPage { records, next }
}

/// Cuts events fetched one past the page length into a page and the next cursor.
pub(crate) fn audit_page(mut events: Vec<StoredEvent>, len: usize) -> AuditPage {
    let more = events.len() > len;
    events.truncate(len);
    let next = if more { events.last().map(StoredEvent::cursor) } else { None };
    AuditPage { events, next }
}

/// The query's time range as its first and last second, and its cursor, as signed
/// 64-bit values; `None` if the range is empty for the database (it starts past the
/// largest storable time, or ends at 0, or its cursor is past every storable time:
/// nothing stored comes after it).
pub(crate) fn audit_bounds(query: &AuditQuery) -> Option<(i64, i64, Option<AuditCursor>)> {
    let from = i64::try_from(query.from).ok()?;
    if query.after.is_some_and(|after| i64::try_from(after.at).is_err()) {
        return None;
    }
    Some((from, last_second_before(query.until)?, query.after))
}

/// The last second before `end`, as a time column holds it; `None` for an end of 0.
/// Bounds are compared inclusively (`at <= last`), so an end past the largest storable
/// time still takes in an event stored at that time (times past it are stored as it).
pub(crate) fn last_second_before(end: u64) -> Option<i64> {
    end.checked_sub(1).map(time_column)
}

/// The query's cursor as the user id to start after.
pub(crate) fn record_after(query: &RecordQuery) -> Option<&str> {
    query.after.as_ref().map(UserId::as_str)
}

/// The listing statements, indexed by [`list_case`]: records after the cursor, of an
/// organisation, only without MFA, of a user id prefix, each or not, with parameters
/// written `{mark}N`: the page length first, then the cursor, the organisation and the
/// user id prefix, as many as the case uses; `starts_with` writes the dialect's "user id
/// starts with this parameter". Written out per case, so that each is a range scan of
/// its index (`(org, user_id)`, the primary key, and the partial ones on `NOT
/// has_mfa`). Without a prefix the statement has no prefix condition at all: the
/// planner cannot estimate `starts_with`, takes it for a filter that keeps almost no
/// row, and on PostgreSQL then read and sorted all of an organisation's records for a
/// page of them (9 ms for a page of 100 at a million users, against 1 to 2 ms).
pub(crate) fn list_statements(
    records: &str,
    mark: char,
    starts_with: impl Fn(&str) -> String,
) -> [String; 16] {
    std::array::from_fn(|case| {
        let (prefix, org, without_mfa, after) = (case & 8 != 0, case & 4 != 0, case & 2 != 0, case & 1 != 0);
        let mut next = 1;
        let mut param = || {
            next += 1;
            format!("{mark}{next}")
        };
        let mut conditions = Vec::new();
        if after {
            conditions.push(format!("user_id > {}", param()));
        }
        if org {
            conditions.push(format!("org = {}", param()));
        }
        if without_mfa {
            conditions.push("NOT has_mfa".to_string());
        }
        if prefix {
            let p = param();
            conditions.push(format!("user_id >= {p}"));
            conditions.push(starts_with(&p));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {} ", conditions.join(" AND "))
        };
        format!("SELECT version, record FROM {records} {filter}ORDER BY user_id LIMIT {mark}1")
    })
}

/// Which of [`list_statements`] serves `query`.
pub(crate) fn list_case(query: &RecordQuery) -> usize {
    usize::from(!query.prefix.is_empty()) * 8
        + usize::from(query.org.is_some()) * 4
        + usize::from(query.without_mfa) * 2
        + usize::from(query.after.is_some())
}

/// The prefix to bind after the other parameters of [`list_statements`], if the query
/// has one.
pub(crate) fn list_prefix(query: &RecordQuery) -> Option<&str> {
    Some(query.prefix.as_str()).filter(|p| !p.is_empty())
}

/// The audit reading statements, indexed by [`read_case`], with parameters written
/// `{mark}N`: events with `1 <= at <= 2` after `(3, 4)`, `5` rows, of user `6` if one is
/// asked for, filed under organisation `6` (or `7`) if one is asked for.
pub(crate) fn read_statements(audit: &str, mark: char) -> [String; 4] {
    [(false, false), (false, true), (true, false), (true, true)].map(|(user, org)| {
        let user_filter = if user { format!("AND user_id = {mark}6 ") } else { String::new() };
        let org_filter = match (user, org) {
            (true, true) => format!("AND org = {mark}7 "),
            (false, true) => format!("AND org = {mark}6 "),
            _ => String::new(),
        };
        format!(
            "SELECT id, event FROM {audit} WHERE at >= {mark}1 AND at <= {mark}2 AND (at, id) > ({mark}3, {mark}4) \
             {user_filter}{org_filter}ORDER BY at, id LIMIT {mark}5"
        )
    })
}

/// Which of [`read_statements`] serves `query`.
pub(crate) fn read_case(query: &AuditQuery) -> usize {
    usize::from(query.user.is_some()) * 2 + usize::from(query.org.is_some())
}

/// Refuses user ids a PostgreSQL text column cannot hold.
#[cfg(feature = "postgres")]
pub(crate) fn check_user_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Result<(), Error> {
    if ids.into_iter().any(|id| id.contains('\0')) { Err(Error::NulInUserId) } else { Ok(()) }
}

/// Refuses organisation ids a PostgreSQL text column cannot hold.
#[cfg(feature = "postgres")]
pub(crate) fn check_org_id(org: &str) -> Result<(), Error> {
    if org.contains('\0') { Err(Error::NulInOrgId) } else { Ok(()) }
}

/// The outcome of a conditional write judged by the rows it returned.
pub(crate) fn judged(new_version: Option<i64>) -> Result<SaveOutcome, Error> {
    match new_version {
        Some(v) => Ok(SaveOutcome::Saved(Version(stored_u64("version", v, 1)?))),
        None => Ok(SaveOutcome::Conflict),
    }
}

/// Whether `word` is a keyword PostgreSQL reserves (its "reserved" and "reserved (can
/// be function or type)" keywords) or SQLite knows, which a table name cannot be
/// without quotes in one of them.
fn is_keyword(word: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "abort",
        "action",
        "add",
        "after",
        "all",
        "alter",
        "always",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "attach",
        "authorization",
        "autoincrement",
        "before",
        "begin",
        "between",
        "binary",
        "both",
        "by",
        "cascade",
        "case",
        "cast",
        "check",
        "collate",
        "collation",
        "column",
        "commit",
        "concurrently",
        "conflict",
        "constraint",
        "create",
        "cross",
        "current",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "database",
        "default",
        "deferrable",
        "deferred",
        "delete",
        "desc",
        "detach",
        "distinct",
        "do",
        "drop",
        "each",
        "else",
        "end",
        "escape",
        "except",
        "exclude",
        "exclusive",
        "exists",
        "explain",
        "fail",
        "false",
        "fetch",
        "filter",
        "first",
        "following",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "generated",
        "glob",
        "grant",
        "group",
        "groups",
        "having",
        "if",
        "ignore",
        "ilike",
        "immediate",
        "in",
        "index",
        "indexed",
        "initially",
        "inner",
        "insert",
        "instead",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "key",
        "last",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "match",
        "materialized",
        "natural",
        "no",
        "not",
        "nothing",
        "notnull",
        "null",
        "nulls",
        "of",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "others",
        "outer",
        "over",
        "overlaps",
        "partition",
        "placing",
        "plan",
        "pragma",
        "preceding",
        "primary",
        "query",
        "raise",
        "range",
        "recursive",
        "references",
        "regexp",
        "reindex",
        "release",
        "rename",
        "replace",
        "restrict",
        "returning",
        "right",
        "rollback",
        "row",
        "rows",
        "savepoint",
        "select",
        "session_user",
        "set",
        "similar",
        "some",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "temp",
        "temporary",
        "then",
        "ties",
        "to",
        "trailing",
        "transaction",
        "trigger",
        "true",
        "unbounded",
        "union",
        "unique",
        "update",
        "user",
        "using",
        "vacuum",
        "values",
        "variadic",
        "verbose",
        "view",
        "virtual",
        "when",
        "where",
        "window",
        "with",
        "without",
    ];
    KEYWORDS.contains(&word.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_table_sits_beside_the_records_unless_named() {
        assert_eq!(TableNames::new().org_settings(), "mfa_org_settings");
        let names = TableNames::custom("auth.mfa_records", "auth.mfa_audit").unwrap();
        assert_eq!(names.org_settings(), "auth.mfa_org_settings");
        assert_eq!(TableNames::custom("r", "a").unwrap().org_settings(), "mfa_org_settings");
        let named = names.clone().with_org_settings("auth.settings").unwrap();
        assert_eq!(
            (named.records(), named.audit(), named.org_settings()),
            ("auth.mfa_records", "auth.mfa_audit", "auth.settings")
        );
        assert!(matches!(names.clone().with_org_settings("AUTH.MFA_AUDIT"), Err(Error::SameTableNames)));
        assert!(matches!(names.with_org_settings("x; DROP TABLE y"), Err(Error::InvalidTableName(_))));
        assert!(matches!(TableNames::custom("mfa_org_settings", "a"), Err(Error::SameTableNames)));
    }
}
