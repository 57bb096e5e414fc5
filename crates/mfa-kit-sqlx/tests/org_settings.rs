//! Organisation settings changed through the service on the real PostgreSQL server: the
//! settings row and its `org_settings_changed` event commit together or not at all (an
//! audit insert that fails, a reply lost after the commit), and app servers changing
//! the same organisation's settings at once each win at most once per version, with no
//! event without its change.
#![cfg(feature = "postgres")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use common::*;
use mfa_kit::UserId;
use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::otp::Totp;
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::policy::{Level, OrgSettings, SignInContext};
use mfa_kit::record::UserRecord;
use mfa_kit::service::{Error, MfaService};
use mfa_kit::store::{
    AuditQuery, OrgSettingsStore, ReadAudit, SaveOutcome, Store, Version, Versioned, VersionedSettings,
};
use mfa_kit_sqlx::PostgresStore;

const ORG: &str = "firm-42";
const START: u64 = 1_700_000_000;

/// Commits every settings save, then (when told to) loses its reply.
struct LosesReplies {
    inner: PostgresStore,
    lose: AtomicBool,
    settings_saves: AtomicU32,
}

impl Store for LosesReplies {
    type Error = LostOr;

    async fn load(&self, user: &UserId) -> Result<Option<Versioned>, LostOr> {
        Ok(self.inner.load(user).await?)
    }

    async fn save(
        &self,
        record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> Result<SaveOutcome, LostOr> {
        Ok(self.inner.save(record, expected, events).await?)
    }

    async fn append_events(&self, events: Vec<AuditEvent>) -> Result<(), LostOr> {
        Ok(self.inner.append_events(events).await?)
    }
}

impl OrgSettingsStore for LosesReplies {
    async fn load_org_settings(&self, org: &str) -> Result<Option<VersionedSettings>, LostOr> {
        Ok(self.inner.load_org_settings(org).await?)
    }

    async fn save_org_settings(
        &self,
        org: &str,
        settings: OrgSettings,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> Result<SaveOutcome, LostOr> {
        self.settings_saves.fetch_add(1, Ordering::SeqCst);
        let outcome = self.inner.save_org_settings(org, settings, expected, events).await?;
        if self.lose.load(Ordering::SeqCst) { Err(LostOr::Lost) } else { Ok(outcome) }
    }
}

/// A service over `store` whose admin `who` has MFA and has just proved it.
async fn service_with_admin<S: Store>(store: S, who: &UserId) -> MfaService<S, PlaintextSealer> {
    let clock = ManualClock::new(START);
    let mfa = MfaService::builder("Org Settings", store, PlaintextSealer).clock(clock.clone()).build();
    let here = SignInContext::default();
    let start = mfa.start_enrollment(who, "admin", &here).await.unwrap().unwrap();
    let key = KeyUri::parse(&start.uri).unwrap();
    let phone = Totp::new(key.secret(), key.totp_params().unwrap());
    let first = phone.generate(START).unwrap().to_string();
    clock.advance(30);
    let second = phone.generate(START + 30).unwrap().to_string();
    mfa.confirm_enrollment(who, &[&first, &second], &here).await.unwrap().unwrap();
    mfa
}

/// A host check that permits every admin action: what is tested is the store.
fn anyone() -> impl mfa_kit::service::permissions::Permissions {
    mfa_kit::service::permissions::from_sync_fn(|_| true)
}

/// The settings changes on the trail, in the order they were stored.
async fn changes(store: &PostgresStore) -> Vec<(OrgSettings, OrgSettings)> {
    let page = store.read_audit(&AuditQuery::range(0, i64::MAX as u64, 1000)).await.unwrap();
    page.events
        .into_iter()
        .filter_map(|e| match e.event.kind {
            EventKind::OrgSettingsChanged { org, old, new } if org == ORG => Some((*old, *new)),
            _ => None,
        })
        .collect()
}

fn mandatory_for(user_type: String) -> impl FnMut(&OrgSettings) -> OrgSettings {
    move |current: &OrgSettings| current.clone().with_level(user_type.clone(), Level::Mandatory)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_change_and_its_event_are_written_together_or_not_at_all() {
    let tables = unique_tables("orgatomic");
    let store = PostgresStore::with_tables(postgres_pool(4).await, tables.clone());
    store.migrate().await.unwrap();
    let audit = tables.audit().to_string();
    // The audit insert of a settings change fails inside the transaction.
    for statement in [
        format!(
            "CREATE FUNCTION {audit}_boom() RETURNS trigger AS $$ BEGIN \
             IF NEW.kind = 'org_settings_changed' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ \
             LANGUAGE plpgsql"
        ),
        format!("CREATE TRIGGER boom BEFORE INSERT ON {audit} FOR EACH ROW EXECUTE FUNCTION {audit}_boom()"),
    ] {
        sqlx::query(&statement).execute(store.pool()).await.unwrap();
    }
    let admin = UserId::new("support-level-2");
    let mfa = service_with_admin(store.clone(), &admin).await;
    let here = SignInContext::default();
    let failed =
        mfa.change_stored_org_settings(ORG, &admin, &anyone(), &here, mandatory_for("p".into())).await;
    assert!(matches!(failed, Err(Error::Store(_))), "{failed:?}");
    assert_eq!(store.load_org_settings(ORG).await.unwrap(), None, "the settings row was rolled back");
    assert_eq!(changes(&store).await, [], "no event without its change");

    sqlx::query(&format!("DROP FUNCTION {audit}_boom CASCADE")).execute(store.pool()).await.unwrap();
    let made = mfa.change_stored_org_settings(ORG, &admin, &anyone(), &here, mandatory_for("p".into())).await;
    let practitioners = OrgSettings::default().with_level("p", Level::Mandatory);
    assert_eq!(made.unwrap(), Ok(practitioners.clone()));
    assert_eq!(mfa.org_settings(ORG).await.unwrap(), practitioners);
    assert_eq!(changes(&store).await, [(OrgSettings::default(), practitioners)]);
    drop_tables(store.pool(), &tables).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reply_to_a_settings_change_is_reported_once_and_the_change_is_audited_once() {
    let tables = unique_tables("orglost");
    let inner = PostgresStore::with_tables(postgres_pool(4).await, tables.clone());
    inner.migrate().await.unwrap();
    let store =
        LosesReplies { inner: inner.clone(), lose: AtomicBool::new(true), settings_saves: AtomicU32::new(0) };
    let admin = UserId::new("support-level-2");
    let mfa = service_with_admin(store, &admin).await;
    let here = SignInContext::default();
    let lost = mfa.change_stored_org_settings(ORG, &admin, &anyone(), &here, mandatory_for("p".into())).await;
    assert!(matches!(lost, Err(Error::Store(_))), "{lost:?}");
    assert_eq!(mfa.store().settings_saves.load(Ordering::SeqCst), 1, "not retried");
    let practitioners = OrgSettings::default().with_level("p", Level::Mandatory);
    assert_eq!(mfa.org_settings(ORG).await.unwrap(), practitioners, "the committed change is there");
    assert_eq!(changes(&inner).await, [(OrgSettings::default(), practitioners.clone())], "audited once");

    mfa.store().lose.store(false, Ordering::SeqCst);
    let next = mfa.change_stored_org_settings(ORG, &admin, &anyone(), &here, mandatory_for("q".into())).await;
    let both = practitioners.clone().with_level("q", Level::Mandatory);
    assert_eq!(next.unwrap(), Ok(both.clone()));
    assert_eq!(
        changes(&inner).await,
        [(OrgSettings::default(), practitioners.clone()), (practitioners, both)]
    );
    drop_tables(inner.pool(), &tables).await;
}

/// Two app servers (two services, each with its own pool) change one organisation's
/// settings at once, many times: every change is made once, none is lost, and the
/// trail's events chain from the defaults to the stored settings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_app_servers_changing_settings_at_once_lose_no_change_and_audit_each_once() {
    const CHANGES: usize = 20;
    let tables = unique_tables("orgrace");
    let first = PostgresStore::with_tables(postgres_pool(4).await, tables.clone());
    first.migrate().await.unwrap();
    let second = PostgresStore::with_tables(postgres_pool(4).await, tables.clone());
    let (ann, bob) = (UserId::new("support-ann"), UserId::new("support-bob"));
    let servers = [
        Arc::new(service_with_admin(first.clone(), &ann).await),
        Arc::new(service_with_admin(second, &bob).await),
    ];
    let mut tasks = Vec::new();
    for (n, (mfa, admin)) in servers.iter().zip([ann, bob]).enumerate() {
        let mfa = mfa.clone();
        tasks.push(tokio::spawn(async move {
            let here = SignInContext::default();
            for round in 0..CHANGES {
                let change = mandatory_for(format!("type-{n}-{round}"));
                let made = mfa.change_stored_org_settings(ORG, &admin, &anyone(), &here, change).await;
                assert!(matches!(made, Ok(Ok(_))), "{made:?}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let stored = first.load_org_settings(ORG).await.unwrap().unwrap();
    assert_eq!(stored.settings.levels().len(), 2 * CHANGES, "every change made, none lost");
    assert_eq!(stored.version, Version(2 * CHANGES as u64), "one version per change");
    let chain = changes(&first).await;
    assert_eq!(chain.len(), 2 * CHANGES, "one event per change");
    let mut before = OrgSettings::default();
    for (old, new) in chain {
        assert_eq!(old, before, "an event's old settings are those its change replaced");
        before = new;
    }
    assert_eq!(before, stored.settings);
    drop_tables(first.pool(), &tables).await;
}
