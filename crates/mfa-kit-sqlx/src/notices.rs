//! The notice outbox ([`NoticeOutbox`]) on PostgreSQL and SQLite: two tables beside the
//! audit table, `<audit>_relays` (a cursor per relay name) and `<audit>_notices` (the
//! queue of notices read and not yet delivered, with a copy of each event, so pruning
//! the trail does not lose a queued notice).

use mfa_kit::event::SecurityNotice;
use mfa_kit::store::{
    Claimed, ClaimedNotice, FailingNotice, MAX_INTAKE, NoticeClaim, NoticeOutbox, NoticeStats, error_text,
};

use crate::common::{Error, StoredEvent, TableNames, stored_event, stored_u64, time_column, to_i64};

/// A stored notice's class as text, and back.
fn notice_text(notice: SecurityNotice) -> Result<String, Error> {
    match serde_json::to_value(notice).map_err(Error::json("security notice"))? {
        serde_json::Value::String(text) => Ok(text),
        _ => Err(Error::CorruptRow { what: "security notice", value: 0 }),
    }
}

fn notice_of(text: &str) -> Result<SecurityNotice, Error> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(Error::json("security notice"))
}

/// The events read after the cursor that are notices: (event id, class, event JSON, time).
fn notices_among(rows: &[(i64, String)]) -> Result<Vec<(i64, String, String, i64)>, Error> {
    let mut notices = Vec::new();
    for (id, json) in rows {
        let StoredEvent { event, .. } = stored_event(*id, json)?;
        if let Some(notice) = event.kind.security_notice() {
            notices.push((*id, notice_text(notice)?, json.clone(), to_i64("event time", event.at)?));
        }
    }
    Ok(notices)
}

type QueueRow = (i64, String, String, i64);

fn claimed(rows: Vec<QueueRow>) -> Result<Vec<ClaimedNotice>, Error> {
    let mut notices = rows
        .into_iter()
        .map(|(id, notice, event, attempts)| {
            Ok(ClaimedNotice {
                event: stored_event(id, &event)?,
                notice: notice_of(&notice)?,
                attempt: u32::try_from(stored_u64("attempt count", attempts, 1)?).unwrap_or(u32::MAX),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    notices.sort_by_key(|n| n.event.id);
    Ok(notices)
}

type FailingRow = (i64, String, String, i64, i64, String);

fn failing(rows: Vec<FailingRow>) -> Result<Vec<FailingNotice>, Error> {
    rows.into_iter()
        .map(|(id, notice, event, attempts, next_at, last_error)| {
            Ok(FailingNotice {
                event: stored_event(id, &event)?,
                notice: notice_of(&notice)?,
                attempts: u32::try_from(stored_u64("attempt count", attempts, 0)?).unwrap_or(u32::MAX),
                next_attempt_at: stored_u64("retry time", next_at, 0)?,
                last_error,
            })
        })
        .collect()
}

type StatsRow = (i64, i64, Option<i64>, Option<i64>);

fn stats((pending, failing, most, oldest): StatsRow) -> Result<NoticeStats, Error> {
    Ok(NoticeStats {
        pending: stored_u64("count", pending, 0)?,
        failing: stored_u64("count", failing, 0)?,
        most_attempts: u32::try_from(stored_u64("attempt count", most.unwrap_or(0), 0)?).unwrap_or(u32::MAX),
        oldest_at: oldest.map(|at| stored_u64("event time", at, 0)).transpose()?,
        missed: 0,
    })
}

/// The claim's times and token as database values.
fn claim_values(claim: &NoticeClaim) -> Result<(i64, i64, i64, i64), Error> {
    Ok((
        to_i64("time", claim.now)?,
        to_i64("lease end", claim.lease_until)?,
        claim.len() as i64,
        i64::from_ne_bytes(claim.token.to_ne_bytes()),
    ))
}

fn token_value(token: u64) -> i64 {
    i64::from_ne_bytes(token.to_ne_bytes())
}

/// The statements both databases share, over the queue table `q`.
fn stats_sql(q: &str, p: &str) -> String {
    format!(
        "SELECT count(*), count(last_error), max(attempts), min(event_at) FROM {q} WHERE relay = {p}1",
        p = p
    )
}

fn failing_sql(q: &str, p: &str) -> String {
    format!(
        "SELECT event_id, notice, event, attempts, next_at, last_error FROM {q} \
         WHERE relay = {p}1 AND last_error IS NOT NULL ORDER BY attempts DESC, event_id LIMIT {p}2"
    )
}

fn ack_sql(q: &str, p: &str) -> String {
    format!("DELETE FROM {q} WHERE relay = {p}1 AND event_id = {p}2")
}

fn retry_sql(q: &str, p: &str) -> String {
    format!(
        "UPDATE {q} SET lease_until = 0, next_at = {p}4, last_error = {p}5 \
         WHERE relay = {p}1 AND event_id = {p}2 AND token = {p}3 AND lease_until > 0"
    )
}

impl TableNames {
    /// The table of the notice relays' cursors: the audit table's name with `_relays`.
    pub fn notice_relays(&self) -> String {
        format!("{}_relays", self.audit())
    }

    /// The table of the notice relays' queues: the audit table's name with `_notices`.
    pub fn notice_queue(&self) -> String {
        format!("{}_notices", self.audit())
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use crate::common::check_user_ids;
    use crate::postgres::PostgresStore;

    /// The statements `migrate` runs for the outbox, after the audit table's.
    ///
    /// The trail is read in the order of `(tx, id)`, `tx` being the writing
    /// transaction's id, and only below the oldest transaction still running
    /// (`pg_snapshot_xmin`): identity values are handed out before commit, so an event
    /// with a smaller id may commit after a larger one was read, but no transaction
    /// below that horizon can still commit. Rows written before the column existed
    /// have no `tx` and come first.
    pub(crate) fn migrate(tables: &TableNames) -> Vec<String> {
        let (audit, bare, relays, queue) =
            (tables.audit(), tables.audit_bare(), tables.notice_relays(), tables.notice_queue());
        vec![
            format!("ALTER TABLE {audit} ADD COLUMN IF NOT EXISTS tx BIGINT"),
            format!("ALTER TABLE {audit} ALTER COLUMN tx SET DEFAULT (pg_current_xact_id()::text::bigint)"),
            format!("CREATE INDEX IF NOT EXISTS {bare}_tx ON {audit} ((coalesce(tx, 0)), id)"),
            format!(
                "CREATE TABLE IF NOT EXISTS {relays} (\
                 relay TEXT COLLATE \"C\" PRIMARY KEY, \
                 cursor_tx BIGINT NOT NULL, \
                 cursor_id BIGINT NOT NULL)"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {queue} (\
                 relay TEXT COLLATE \"C\" NOT NULL, \
                 event_id BIGINT NOT NULL, \
                 notice TEXT NOT NULL, \
                 event TEXT NOT NULL, \
                 event_at BIGINT NOT NULL, \
                 attempts INTEGER NOT NULL, \
                 next_at BIGINT NOT NULL, \
                 lease_until BIGINT NOT NULL, \
                 token BIGINT NOT NULL, \
                 last_error TEXT, \
                 PRIMARY KEY (relay, event_id))"
            ),
        ]
    }

    type PgTransaction = sqlx::Transaction<'static, sqlx::Postgres>;

    impl PostgresStore {
        /// Reads the trail past the relay's cursor into its queue, if no other claim
        /// of the relay is reading it (its cursor row is locked `FOR UPDATE SKIP
        /// LOCKED`): how many events were read, and whether the relay is caught up.
        async fn take_in(&self, tx: &mut PgTransaction, relay: &str) -> Result<(usize, bool), Error> {
            let t = self.tables();
            let (audit, relays, queue) = (t.audit(), t.notice_relays(), t.notice_queue());
            sqlx::query(&format!(
                "INSERT INTO {relays} (relay, cursor_tx, cursor_id) VALUES ($1, -1, -1) ON CONFLICT (relay) DO NOTHING"
            ))
            .bind(relay)
            .execute(&mut **tx)
            .await?;
            let cursor: Option<(i64, i64)> = sqlx::query_as(&format!(
                "SELECT cursor_tx, cursor_id FROM {relays} WHERE relay = $1 FOR UPDATE SKIP LOCKED"
            ))
            .bind(relay)
            .fetch_optional(&mut **tx)
            .await?;
            // Another claim of this relay is reading the trail: it is not caught up
            // for this one to know.
            let Some((cursor_tx, cursor_id)) = cursor else {
                return Ok((0, false));
            };
            let rows: Vec<(i64, i64, String)> = sqlx::query_as(&format!(
                "SELECT coalesce(tx, 0), id, event FROM {audit} WHERE (coalesce(tx, 0), id) > ($1, $2) \
                 AND coalesce(tx, 0) < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
                 ORDER BY coalesce(tx, 0), id LIMIT $3"
            ))
            .bind(cursor_tx)
            .bind(cursor_id)
            .bind(i64::from(MAX_INTAKE))
            .fetch_all(&mut **tx)
            .await?;
            let read = rows.len();
            let (mut at_tx, mut at_id) = (cursor_tx, cursor_id);
            if let Some(&(last_tx, last_id, _)) = rows.last() {
                (at_tx, at_id) = (last_tx, last_id);
                let events: Vec<(i64, String)> = rows.into_iter().map(|(_, id, json)| (id, json)).collect();
                let notices = notices_among(&events)?;
                if !notices.is_empty() {
                    sqlx::query(&format!(
                        "INSERT INTO {queue} (relay, event_id, notice, event, event_at, attempts, next_at, \
                         lease_until, token) SELECT $1, i, n, e, a, 0, 0, 0, 0 FROM \
                         UNNEST($2::bigint[], $3::text[], $4::text[], $5::bigint[]) AS x(i, n, e, a) \
                         ON CONFLICT (relay, event_id) DO NOTHING"
                    ))
                    .bind(relay)
                    .bind(notices.iter().map(|n| n.0).collect::<Vec<_>>())
                    .bind(notices.iter().map(|n| n.1.clone()).collect::<Vec<_>>())
                    .bind(notices.iter().map(|n| n.2.clone()).collect::<Vec<_>>())
                    .bind(notices.iter().map(|n| n.3).collect::<Vec<_>>())
                    .execute(&mut **tx)
                    .await?;
                }
                sqlx::query(&format!("UPDATE {relays} SET cursor_tx = $2, cursor_id = $3 WHERE relay = $1"))
                    .bind(relay)
                    .bind(last_tx)
                    .bind(last_id)
                    .execute(&mut **tx)
                    .await?;
            }
            // Committed events past the cursor that the horizon held back (or the
            // intake's limit) mean more is to be read.
            let more: bool = sqlx::query_scalar(&format!(
                "SELECT EXISTS (SELECT 1 FROM {audit} WHERE (coalesce(tx, 0), id) > ($1, $2))"
            ))
            .bind(at_tx)
            .bind(at_id)
            .fetch_one(&mut **tx)
            .await?;
            Ok((read, !more))
        }
    }

    /// The cursor row of a relay is locked `FOR UPDATE SKIP LOCKED` while its claim
    /// reads the trail, so one claim at a time reads it and the others go straight to
    /// the queue, whose due rows are leased `FOR UPDATE SKIP LOCKED`: claims at the same
    /// moment get different notices. All in one transaction.
    impl NoticeOutbox for PostgresStore {
        async fn claim_notices(&self, relay: &str, claim: &NoticeClaim) -> Result<Claimed, Error> {
            check_user_ids([relay])?;
            let (now, lease_until, limit, token) = claim_values(claim)?;
            let queue = self.tables().notice_queue();
            let mut tx = self.pool().begin().await?;
            let (read, caught_up) = self.take_in(&mut tx, relay).await?;
            let rows: Vec<QueueRow> = sqlx::query_as(&format!(
                "WITH due AS (SELECT event_id FROM {queue} WHERE relay = $1 AND next_at <= $2 \
                 AND lease_until <= $2 ORDER BY event_id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 UPDATE {queue} q SET attempts = q.attempts + 1, lease_until = $4, token = $5 FROM due \
                 WHERE q.relay = $1 AND q.event_id = due.event_id \
                 RETURNING q.event_id, q.notice, q.event, q.attempts::bigint"
            ))
            .bind(relay)
            .bind(now)
            .bind(limit)
            .bind(lease_until)
            .bind(token)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Claimed { notices: claimed(rows)?, read, caught_up })
        }

        async fn ack_notice(&self, relay: &str, event_id: i64) -> Result<(), Error> {
            check_user_ids([relay])?;
            let sql = ack_sql(&self.tables().notice_queue(), "$");
            sqlx::query(&sql).bind(relay).bind(event_id).execute(self.pool()).await?;
            Ok(())
        }

        async fn retry_notice(
            &self,
            relay: &str,
            event_id: i64,
            token: u64,
            retry_at: u64,
            error: &str,
        ) -> Result<bool, Error> {
            check_user_ids([relay])?;
            let sql = retry_sql(&self.tables().notice_queue(), "$");
            // NULs replaced before the cut, so the text stays within `MAX_ERROR_LEN`.
            let text = error_text(&error.replace('\0', "\u{fffd}")).to_string();
            let done = sqlx::query(&sql)
                .bind(relay)
                .bind(event_id)
                .bind(token_value(token))
                .bind(time_column(retry_at))
                .bind(text)
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn notice_stats(&self, relay: &str) -> Result<NoticeStats, Error> {
            check_user_ids([relay])?;
            let sql = stats_sql(&self.tables().notice_queue(), "$")
                .replace("max(attempts)", "max(attempts)::bigint");
            stats(sqlx::query_as(&sql).bind(relay).fetch_one(self.pool()).await?)
        }

        async fn failing_notices(&self, relay: &str, limit: u32) -> Result<Vec<FailingNotice>, Error> {
            check_user_ids([relay])?;
            let sql =
                failing_sql(&self.tables().notice_queue(), "$").replace(", attempts,", ", attempts::bigint,");
            let len = i64::from(limit.clamp(1, mfa_kit::store::MAX_PAGE));
            failing(sqlx::query_as(&sql).bind(relay).bind(len).fetch_all(self.pool()).await?)
        }
    }
}

#[cfg(feature = "postgres")]
pub(crate) use postgres::migrate as postgres_migrate;

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use crate::sqlite::SqliteStore;

    /// The statements `migrate` runs for the outbox. SQLite has one writer at a time
    /// and hands out ids in that order, so the trail is read in the order of ids.
    pub(crate) fn migrate(tables: &TableNames) -> Vec<String> {
        let (relays, queue) = (tables.notice_relays(), tables.notice_queue());
        vec![
            format!(
                "CREATE TABLE IF NOT EXISTS {relays} (\
                 relay TEXT NOT NULL PRIMARY KEY, \
                 cursor_id INTEGER NOT NULL)"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {queue} (\
                 relay TEXT NOT NULL, \
                 event_id INTEGER NOT NULL, \
                 notice TEXT NOT NULL, \
                 event TEXT NOT NULL, \
                 event_at INTEGER NOT NULL, \
                 attempts INTEGER NOT NULL, \
                 next_at INTEGER NOT NULL, \
                 lease_until INTEGER NOT NULL, \
                 token INTEGER NOT NULL, \
                 last_error TEXT, \
                 PRIMARY KEY (relay, event_id))"
            ),
        ]
    }

    /// A claim is one write transaction whose first statement writes (so it holds
    /// SQLite's one write lock from the start, and claims take turns).
    impl NoticeOutbox for SqliteStore {
        async fn claim_notices(&self, relay: &str, claim: &NoticeClaim) -> Result<Claimed, Error> {
            let (now, lease_until, limit, token) = claim_values(claim)?;
            let t = self.tables();
            let (audit, relays, queue) = (t.audit(), t.notice_relays(), t.notice_queue());
            let mut tx = self.pool().begin().await?;
            sqlx::query(&format!(
                "INSERT INTO {relays} (relay, cursor_id) VALUES (?1, -1) \
                 ON CONFLICT (relay) DO UPDATE SET cursor_id = cursor_id"
            ))
            .bind(relay)
            .execute(&mut *tx)
            .await?;
            let cursor: i64 = sqlx::query_scalar(&format!("SELECT cursor_id FROM {relays} WHERE relay = ?1"))
                .bind(relay)
                .fetch_one(&mut *tx)
                .await?;
            // One more than is read: whether any is left behind.
            let mut rows: Vec<(i64, String)> =
                sqlx::query_as(&format!("SELECT id, event FROM {audit} WHERE id > ?1 ORDER BY id LIMIT ?2"))
                    .bind(cursor)
                    .bind(i64::from(MAX_INTAKE) + 1)
                    .fetch_all(&mut *tx)
                    .await?;
            let caught_up = rows.len() <= MAX_INTAKE as usize;
            rows.truncate(MAX_INTAKE as usize);
            let read = rows.len();
            if let Some((last, _)) = rows.last() {
                for (id, notice, event, at) in notices_among(&rows)? {
                    sqlx::query(&format!(
                        "INSERT INTO {queue} (relay, event_id, notice, event, event_at, attempts, next_at, \
                         lease_until, token) VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, 0, 0) \
                         ON CONFLICT (relay, event_id) DO NOTHING"
                    ))
                    .bind(relay)
                    .bind(id)
                    .bind(notice)
                    .bind(event)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(&format!("UPDATE {relays} SET cursor_id = ?2 WHERE relay = ?1"))
                    .bind(relay)
                    .bind(*last)
                    .execute(&mut *tx)
                    .await?;
            }
            let rows: Vec<QueueRow> = sqlx::query_as(&format!(
                "UPDATE {queue} SET attempts = attempts + 1, lease_until = ?4, token = ?5 \
                 WHERE relay = ?1 AND event_id IN (SELECT event_id FROM {queue} WHERE relay = ?1 \
                 AND next_at <= ?2 AND lease_until <= ?2 ORDER BY event_id LIMIT ?3) \
                 RETURNING event_id, notice, event, attempts"
            ))
            .bind(relay)
            .bind(now)
            .bind(limit)
            .bind(lease_until)
            .bind(token)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Claimed { notices: claimed(rows)?, read, caught_up })
        }

        async fn ack_notice(&self, relay: &str, event_id: i64) -> Result<(), Error> {
            let sql = ack_sql(&self.tables().notice_queue(), "?");
            sqlx::query(&sql).bind(relay).bind(event_id).execute(self.pool()).await?;
            Ok(())
        }

        async fn retry_notice(
            &self,
            relay: &str,
            event_id: i64,
            token: u64,
            retry_at: u64,
            error: &str,
        ) -> Result<bool, Error> {
            let sql = retry_sql(&self.tables().notice_queue(), "?");
            let done = sqlx::query(&sql)
                .bind(relay)
                .bind(event_id)
                .bind(token_value(token))
                .bind(time_column(retry_at))
                .bind(error_text(error))
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn notice_stats(&self, relay: &str) -> Result<NoticeStats, Error> {
            let sql = stats_sql(&self.tables().notice_queue(), "?");
            stats(sqlx::query_as(&sql).bind(relay).fetch_one(self.pool()).await?)
        }

        async fn failing_notices(&self, relay: &str, limit: u32) -> Result<Vec<FailingNotice>, Error> {
            let sql = failing_sql(&self.tables().notice_queue(), "?");
            let len = i64::from(limit.clamp(1, mfa_kit::store::MAX_PAGE));
            failing(sqlx::query_as(&sql).bind(relay).bind(len).fetch_all(self.pool()).await?)
        }
    }
}

#[cfg(feature = "sqlite")]
pub(crate) use sqlite::migrate as sqlite_migrate;
