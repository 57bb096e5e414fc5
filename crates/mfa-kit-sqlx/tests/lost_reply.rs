//! Lost replies: the database committed a save but its reply never reached the app
//! server (the connection dropped after COMMIT). The store reports an error; the service
//! reports a store error, does not retry, and the change with its events is stored
//! exactly once: never turned into a counted replay or a second failure.
#![cfg(feature = "postgres")]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use common::*;
use mfa_kit::UserId;
use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::policy::SignInContext;
use mfa_kit::record::UserRecord;
use mfa_kit::service::{Error, MfaService};
use mfa_kit::store::{AuditQuery, ReadAudit, SaveOutcome, Store, Version, Versioned};
use mfa_kit::{KeyUri, Totp};
use mfa_kit_sqlx::PostgresStore;

/// Commits every save, then (when told to) loses the reply.
struct LosesReplies {
    inner: PostgresStore,
    lose: AtomicBool,
    saves: AtomicU32,
}

#[derive(Debug, thiserror::Error)]
enum LostOr {
    #[error("the connection closed before the reply to COMMIT arrived")]
    Lost,
    #[error(transparent)]
    Store(#[from] mfa_kit_sqlx::Error),
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
        self.saves.fetch_add(1, Ordering::SeqCst);
        let outcome = self.inner.save(record, expected, events).await?;
        if self.lose.load(Ordering::SeqCst) { Err(LostOr::Lost) } else { Ok(outcome) }
    }

    async fn append_events(&self, events: Vec<AuditEvent>) -> Result<(), LostOr> {
        Ok(self.inner.append_events(events).await?)
    }
}

async fn kinds(store: &PostgresStore, user: &UserId) -> Vec<EventKind> {
    let page = store.read_audit(&AuditQuery::user(user.clone(), 0, i64::MAX as u64, 100)).await.unwrap();
    page.events.into_iter().map(|e| e.event.kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reply_is_reported_once_and_never_turned_into_a_replay() {
    let tables = unique_tables("lost");
    let inner = PostgresStore::with_tables(postgres_pool(4).await, tables.clone());
    inner.migrate().await.unwrap();
    let store = LosesReplies { inner: inner.clone(), lose: AtomicBool::new(false), saves: AtomicU32::new(0) };
    let clock = ManualClock::new(1_700_000_000);
    let mfa = MfaService::builder("Lost Replies", store, PlaintextSealer).clock(clock.clone()).build();
    let (alice, here) = (UserId::new("alice"), SignInContext::default());

    let start = mfa.start_enrollment(&alice, "alice", &here).await.unwrap().unwrap();
    let key = KeyUri::parse(&start.uri).unwrap();
    let phone = Totp::new(key.secret(), key.totp_params().unwrap());
    let first = phone.generate(1_700_000_000).unwrap().to_string();
    clock.advance(30);
    let second = phone.generate(1_700_000_030).unwrap().to_string();
    mfa.confirm_enrollment(&alice, &[&first, &second], &here).await.unwrap().unwrap();
    clock.advance(30);

    // A valid code whose save commits but whose reply is lost.
    mfa.store().lose.store(true, Ordering::SeqCst);
    let saves = mfa.store().saves.load(Ordering::SeqCst);
    let code = phone.generate(1_700_000_060).unwrap().to_string();
    let outcome = mfa.verify_code(&alice, &code, &here).await;
    assert!(matches!(outcome, Err(Error::Store(_))), "reported as a store error: {outcome:?}");
    assert_eq!(mfa.store().saves.load(Ordering::SeqCst), saves + 1, "the service did not retry the save");
    let record = inner.load(&alice).await.unwrap().unwrap().record;
    assert_eq!(record.failures().consecutive(), 0, "no failure was counted");
    assert!(record.totp().unwrap().last_accepted_step().is_some(), "the committed change is there");
    let events = kinds(&inner, &alice).await;
    assert_eq!(events.iter().filter(|k| matches!(k, EventKind::CodeAccepted { .. })).count(), 1);
    assert!(!events.iter().any(|k| matches!(k, EventKind::CodeRejected { .. })), "no replay was recorded");

    // A wrong code whose reply is lost counts once, not twice.
    clock.advance(30);
    let outcome = mfa.verify_code(&alice, "000000", &here).await;
    assert!(matches!(outcome, Err(Error::Store(_))), "{outcome:?}");
    assert_eq!(mfa.store().saves.load(Ordering::SeqCst), saves + 2, "no retry");
    let record = inner.load(&alice).await.unwrap().unwrap().record;
    let rejected =
        kinds(&inner, &alice).await.into_iter().filter(|k| matches!(k, EventKind::CodeRejected { .. }));
    assert_eq!((record.failures().consecutive(), rejected.count()), (1, 1), "the failure counted once");

    // With replies arriving again, the next code works.
    mfa.store().lose.store(false, Ordering::SeqCst);
    clock.advance(30);
    let code = phone.generate(1_700_000_120).unwrap().to_string();
    assert!(mfa.verify_code(&alice, &code, &here).await.unwrap().is_ok());
    drop_tables(inner.pool(), &tables).await;
}
