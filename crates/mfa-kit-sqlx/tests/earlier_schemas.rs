//! Databases made by earlier releases
//! of this crate, with rows as those releases wrote them, upgrade with `migrate()` and
//! read through the store with nothing lost.
//!
//! The schemas are the ones in git history: 836e2ef (the first: records and audit
//! only, format 1 records, no organisation settings, no notice outbox) and 0472f5f (the
//! last before organisations: settings table and notice outbox, no `org` columns). The
//! rows are the shapes those releases' serialisers wrote (the record format 1 as pinned
//! in tests/record_format.rs at bdb2281, the audit row as `EventRow::new` wrote it
//! then: `kind` taken from the event's JSON).
#![cfg(all(feature = "postgres", feature = "sqlite"))]

mod common;

use common::*;
use mfa_kit::UserId;
use mfa_kit::policy::OrgSettings;
use mfa_kit::record::UserRecord;
use mfa_kit::store::{
    AuditQuery, ListRecords, NoticeClaim, NoticeOutbox, OrgSettingsStore, ReadAudit, RecordQuery, Store,
};
use mfa_kit_sqlx::{PostgresStore, SqliteStore};

/// A format 1 record as the first release wrote it, with a lockout running, a used
/// recovery code, a learned drift, a remembered device and a confirmed backup phone.
const FORMAT_1_RECORD: &str = r#"{"format":1,"user":"sarah","totp":{"secret":{"key_id":"plaintext-insecure","ciphertext":"AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"},"params":{"algorithm":"SHA1","digits":6,"period":30,"t0":0},"created_at":1700000030,"last_used_at":1700000060,"last_accepted_step":56666668,"drift":-1},"pending_enrollment":null,"failures":{"consecutive":5,"locked_until":1700001000},"recovery":{"generated_at":1700000090,"entries":[{"hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","used_at":null},{"hash":"BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","used_at":1700000095}]},"oob":{"destinations":[{"destination":{"kind":"sms","address":"+61412345678"},"role":"backup","added_at":1700000100,"confirmed_at":1700000160}],"challenge":null,"sent_at":[1700000200]},"devices":[{"id":"0123456789abcdef","label":"Firefox on Windows","hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","created_at":1700000300,"expires_at":1700043500}],"last_proof":{"at":1700000095,"method":"recovery_code"}}"#;

/// Two audit rows as the first release stored them: (kind column, event JSON).
const FIRST_RELEASE_EVENTS: [(&str, &str); 2] = [
    (
        "code_rejected",
        r#"{"user":"sarah","actor":"sarah","at":1700000100,"outcome":"failure","kind":{"kind":"code_rejected","method":"totp","reason":"wrong","consecutive_failures":5},"context":{"address":"192.0.2.1","device":"Firefox on Windows"}}"#,
    ),
    (
        "lockout_started",
        r#"{"user":"sarah","actor":"sarah","at":1700000100,"outcome":"failure","kind":{"kind":"lockout_started","until":1700001000},"context":{"address":"192.0.2.1","device":null}}"#,
    ),
];

/// Organisation settings as the release of 522d3a1 (the settings table's first) wrote
/// them: no principal_backup, SSO, security-key or preset settings yet.
const SETTINGS_522D3A1: &str = r#"{"levels":{"practitioner":"mandatory"},"default_level":"suggested","enforce_for_all":false,"grace_until":1767139200,"allowed_networks":["203.0.113.0/24"],"lockout":{"max_failures":3,"lock_seconds":600,"max_lock_seconds":7200,"hard_limit":30},"enrollment_lifetime":900,"remember_device_max":604800,"backup_required_for_principals":true,"allow_self_deactivation":false,"allow_email_codes":false,"allow_sms_codes":true,"max_totp_period":60,"fresh_proof_window":120,"session_lifetime":28800,"session_idle_timeout":1800,"recovery_code_ends_sessions":true}"#;

const AT: u64 = 1_700_000_500;

/// What the format 1 record must still say after the upgrade.
fn assert_format_1_record_kept(record: &UserRecord) {
    assert_eq!(record.format(), UserRecord::FORMAT);
    assert_eq!(record.user().as_str(), "sarah");
    let totp = record.totp().expect("the authenticator app is kept");
    assert_eq!(totp.drift(), -1, "the learned drift is kept");
    assert_eq!(totp.last_accepted_step(), Some(56_666_668), "the last accepted step is kept (replay guard)");
    assert_eq!(record.failures().consecutive(), 5);
    assert_eq!(record.failures().locked_until(), Some(1_700_001_000));
    assert!(record.failures().is_locked(AT), "the lockout running when the row was written still runs");
    let recovery = record.recovery_codes().expect("the recovery codes are kept");
    assert_eq!((recovery.remaining(), recovery.used()), (1, 1), "the used recovery code stays used");
    assert_eq!(record.last_proved(mfa_kit::Method::RecoveryCode), Some(1_700_000_095));
    let json = serde_json::to_value(record).unwrap();
    assert_eq!(json["devices"][0]["expires_at"], 1_700_043_500, "the device's expiry is kept");
    assert_eq!(json["oob"]["destinations"][0]["confirmed_at"], 1_700_000_160);
    assert!(record.has_mfa() && record.has_backup());
}

fn assert_first_release_events_kept(events: &[mfa_kit::event::AuditEvent]) {
    assert_eq!(events.len(), 2, "{events:?}");
    for ((_, json), event) in FIRST_RELEASE_EVENTS.iter().zip(events) {
        let expected: mfa_kit::event::AuditEvent = serde_json::from_str(json).unwrap();
        assert_eq!(event, &expected);
        assert_eq!(event.org(), None);
    }
}

/// The notice relay, run for the first time on the upgraded database, reads the rows the
/// first release wrote: the lockout's notice is queued (the rejected code has none).
async fn assert_first_release_notices_relayed<S: NoticeOutbox>(store: &S)
where
    S::Error: std::fmt::Debug,
{
    let claim = NoticeClaim { now: AT, lease_until: AT + 60, limit: 10, token: 7 };
    let claimed =
        store.claim_notices("email", &claim).await.expect("the relay claims on the upgraded database");
    let notices: Vec<_> = claimed.notices.iter().map(|n| (n.notice, n.event.event.at)).collect();
    assert_eq!(notices, [(mfa_kit::event::SecurityNotice::LockedOut, 1_700_000_100)]);
}

fn assert_settings_522d3a1_kept(settings: &OrgSettings) {
    let stored: serde_json::Value = serde_json::from_str(SETTINGS_522D3A1).unwrap();
    let now = serde_json::to_value(settings).unwrap();
    for (name, value) in stored.as_object().unwrap() {
        assert_eq!(&now[name], value, "setting {name} kept");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tables_of_the_first_release_upgrade_keeping_a_format_1_record_and_its_events() {
    let pool = postgres_pool(4).await;
    let tables = unique_tables("first_release");
    let (records, audit) = (tables.records().to_string(), tables.audit().to_string());
    let bare = audit.rsplit('.').next().unwrap().to_string();
    for statement in [
        // 836e2ef: crates/mfa-kit-sqlx/src/postgres.rs, Sql::new's migrate.
        format!(
            "CREATE TABLE IF NOT EXISTS {records} (user_id TEXT COLLATE \"C\" PRIMARY KEY, \
             version BIGINT NOT NULL CHECK (version > 0), format INTEGER NOT NULL, has_mfa BOOLEAN NOT NULL, \
             record TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {audit} (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
             user_id TEXT COLLATE \"C\" NOT NULL, actor TEXT NOT NULL, at BIGINT NOT NULL, outcome TEXT NOT NULL, \
             kind TEXT NOT NULL, address TEXT, device TEXT, event TEXT NOT NULL)"
        ),
        format!("CREATE INDEX IF NOT EXISTS {bare}_user_at ON {audit} (user_id, at, id)"),
        format!("CREATE INDEX IF NOT EXISTS {bare}_at ON {audit} (at, id)"),
    ] {
        sqlx::query(&statement).execute(&pool).await.unwrap();
    }
    sqlx::query(&format!(
        "INSERT INTO {records} (user_id, version, format, has_mfa, record) VALUES ('sarah', 7, 1, true, $1)"
    ))
    .bind(FORMAT_1_RECORD)
    .execute(&pool)
    .await
    .unwrap();
    for (kind, json) in FIRST_RELEASE_EVENTS {
        sqlx::query(&format!(
            "INSERT INTO {audit} (user_id, actor, at, outcome, kind, address, device, event) \
             VALUES ('sarah', 'sarah', 1700000100, 'failure', $1, '192.0.2.1', NULL, $2)"
        ))
        .bind(kind)
        .bind(json)
        .execute(&pool)
        .await
        .unwrap();
    }

    let store = PostgresStore::with_tables(pool, tables.clone());
    store.migrate().await.expect("migrate upgrades the first release's tables");
    let sarah = UserId::new("sarah");
    let loaded = store.load(&sarah).await.unwrap().expect("the format 1 row reads");
    assert_eq!(loaded.version.0, 7, "the row's version is kept");
    assert_format_1_record_kept(&loaded.record);
    let trail = store.read_audit(&AuditQuery::user(sarah.clone(), 0, i64::MAX as u64, 10)).await.unwrap();
    assert_first_release_events_kept(&trail.events.into_iter().map(|e| e.event).collect::<Vec<_>>());
    assert_eq!(store.list_records(&RecordQuery::prefix("", 10)).await.unwrap().records.len(), 1);
    assert!(store.load_org_settings("acme").await.unwrap().is_none(), "the settings table exists now");
    assert_first_release_notices_relayed(&store).await;
    drop_tables(store.pool(), &tables).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_settings_stored_before_organisations_read_after_the_upgrade() {
    let pool = postgres_pool(4).await;
    let tables = unique_tables("settings_0472");
    let (records, audit, settings) =
        (tables.records().to_string(), tables.audit().to_string(), tables.org_settings().to_string());
    for statement in [
        // 0472f5f: the last schema before organisations (records, audit, settings; the
        // outbox comes from notices.rs and is made by today's migrate as it was then).
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
        format!(
            "CREATE TABLE {settings} (org TEXT COLLATE \"C\" PRIMARY KEY, version BIGINT NOT NULL CHECK (version > 0), \
             settings TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        ),
    ] {
        sqlx::query(&statement).execute(&pool).await.unwrap();
    }
    sqlx::query(&format!("INSERT INTO {settings} (org, version, settings) VALUES ('acme', 3, $1)"))
        .bind(SETTINGS_522D3A1)
        .execute(&pool)
        .await
        .unwrap();
    let store = PostgresStore::with_tables(pool, tables.clone());
    store.migrate().await.expect("migrate upgrades the tables");
    let stored = store.load_org_settings("acme").await.unwrap().expect("the settings row reads");
    assert_eq!(stored.version.0, 3);
    assert_settings_522d3a1_kept(&stored.settings);
    drop_tables(store.pool(), &tables).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_file_of_the_first_release_upgrades_keeping_a_format_1_record_and_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("first.db");
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        for statement in [
            // 836e2ef: crates/mfa-kit-sqlx/src/sqlite.rs.
            "CREATE TABLE IF NOT EXISTS mfa_records (user_id TEXT NOT NULL PRIMARY KEY, version INTEGER NOT NULL \
             CHECK (version > 0), format INTEGER NOT NULL, has_mfa INTEGER NOT NULL, record TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS mfa_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, \
             actor TEXT NOT NULL, at INTEGER NOT NULL, outcome TEXT NOT NULL, kind TEXT NOT NULL, address TEXT, \
             device TEXT, event TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS mfa_audit_user_at ON mfa_audit (user_id, at, id)",
            "CREATE INDEX IF NOT EXISTS mfa_audit_at ON mfa_audit (at, id)",
            // 522d3a1: the settings table.
            "CREATE TABLE IF NOT EXISTS mfa_org_settings (org TEXT NOT NULL PRIMARY KEY, version INTEGER NOT NULL \
             CHECK (version > 0), settings TEXT NOT NULL)",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        sqlx::query("INSERT INTO mfa_records (user_id, version, format, has_mfa, record) VALUES ('sarah', 7, 1, 1, ?1)")
            .bind(FORMAT_1_RECORD)
            .execute(&pool)
            .await
            .unwrap();
        for (kind, json) in FIRST_RELEASE_EVENTS {
            sqlx::query(
                "INSERT INTO mfa_audit (user_id, actor, at, outcome, kind, address, device, event) \
                 VALUES ('sarah', 'sarah', 1700000100, 'failure', ?1, '192.0.2.1', NULL, ?2)",
            )
            .bind(kind)
            .bind(json)
            .execute(&pool)
            .await
            .unwrap();
        }
        sqlx::query("INSERT INTO mfa_org_settings (org, version, settings) VALUES ('acme', 3, ?1)")
            .bind(SETTINGS_522D3A1)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let store = SqliteStore::open(&path).await.expect("opening upgrades the old file");
    store.migrate().await.expect("and migrating again changes nothing");
    let sarah = UserId::new("sarah");
    let loaded = store.load(&sarah).await.unwrap().expect("the format 1 row reads");
    assert_eq!(loaded.version.0, 7);
    assert_format_1_record_kept(&loaded.record);
    let trail = store.read_audit(&AuditQuery::user(sarah.clone(), 0, i64::MAX as u64, 10)).await.unwrap();
    assert_first_release_events_kept(&trail.events.into_iter().map(|e| e.event).collect::<Vec<_>>());
    let stored = store.load_org_settings("acme").await.unwrap().expect("the settings row reads");
    assert_eq!(stored.version.0, 3);
    assert_settings_522d3a1_kept(&stored.settings);
    assert_first_release_notices_relayed(&store).await;
}
