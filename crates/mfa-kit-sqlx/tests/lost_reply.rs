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
use mfa_kit::otp::Totp;
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::policy::SignInContext;
use mfa_kit::record::UserRecord;
use mfa_kit::service::{Error, MfaService};
use mfa_kit::store::{AuditQuery, ReadAudit, SaveOutcome, Store, Version, Versioned};
use mfa_kit_sqlx::PostgresStore;

/// Commits every save, then (when told to) loses the reply: of every save, or of the
/// save with the number `lose_save` (counted by `saves`).
struct LosesReplies {
    inner: PostgresStore,
    lose: AtomicBool,
    saves: AtomicU32,
    lose_save: AtomicU32,
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
        let save = self.saves.fetch_add(1, Ordering::SeqCst);
        let outcome = self.inner.save(record, expected, events).await?;
        let lose = self.lose.load(Ordering::SeqCst) || save == self.lose_save.load(Ordering::SeqCst);
        if lose { Err(LostOr::Lost) } else { Ok(outcome) }
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
    let store = LosesReplies {
        inner: inner.clone(),
        lose: AtomicBool::new(false),
        saves: AtomicU32::new(0),
        lose_save: AtomicU32::new(u32::MAX),
    };
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

/// An SMS and e-mail provider that keeps the last code, and can be made to fail.
#[derive(Default)]
struct Provider {
    last: std::sync::Mutex<Option<String>>,
    down: AtomicBool,
}

#[derive(Debug, thiserror::Error)]
#[error("the e-mail provider returned 503")]
struct ProviderDown;

impl mfa_kit::notify::CodeSender for Provider {
    type Error = ProviderDown;

    async fn send(
        &self,
        _: &mfa_kit::Destination,
        message: &mfa_kit::flow::destination::CodeMessage,
    ) -> Result<(), ProviderDown> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ProviderDown);
        }
        *self.last.lock().unwrap() = Some(message.code().to_string());
        Ok(())
    }
}

fn names(kinds: &[EventKind]) -> Vec<String> {
    kinds.iter().map(|k| serde_json::to_value(k).unwrap()["kind"].as_str().unwrap().to_string()).collect()
}

/// Each call that sends a code (adding a destination, a sign-in code), with the reply
/// lost of the save of the reservation, or of the save of its fate (sent, or taken back
/// after the provider failed): the trail says what happened, and no code works that
/// the record does not know was sent; a reservation left unconfirmed lapses, uncounted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reply_on_any_save_of_a_send_leaves_the_trail_true_and_no_unconfirmed_code_live() {
    use mfa_kit::flow::destination::SEND_DEADLINE;
    use mfa_kit::{Destination, Refusal, Role};
    let tables = unique_tables("lost_send");
    let inner = PostgresStore::with_tables(postgres_pool(4).await, tables.clone());
    inner.migrate().await.unwrap();
    let store = LosesReplies {
        inner: inner.clone(),
        lose: AtomicBool::new(false),
        saves: AtomicU32::new(0),
        lose_save: AtomicU32::new(u32::MAX),
    };
    let clock = ManualClock::new(1_700_000_000);
    let mfa = MfaService::builder("Lost Replies", store, PlaintextSealer)
        .clock(clock.clone())
        .hash_key(mfa_kit::keyed_hash::HashKey::generate().unwrap())
        .build();
    let here = SignInContext::default();
    let provider = Provider::default();
    let email = || Destination::email("ann@smith.example").unwrap();
    let mut case = 0;
    for sign_in in [false, true] {
        for (lost, down) in [(0, false), (1, false), (0, true), (1, true)] {
            case += 1;
            let ann = UserId::new(format!("ann-{case}"));
            clock.advance(3600);
            let t = mfa_kit::clock::Clock::now(&clock).unwrap();
            let start = mfa.start_enrollment(&ann, "ann", &here).await.unwrap().unwrap();
            let key = KeyUri::parse(&start.uri).unwrap();
            let phone = Totp::new(key.secret(), key.totp_params().unwrap());
            let (first, second) = (phone.generate(t).unwrap().to_string(), phone.generate(t + 30).unwrap());
            clock.advance(30);
            mfa.confirm_enrollment(&ann, &[&first, &second.to_string()], &here).await.unwrap().unwrap();
            if sign_in {
                mfa.add_destination(&ann, email(), Role::Backup, &provider, &here).await.unwrap().unwrap();
                let code = provider.last.lock().unwrap().clone().unwrap();
                mfa.confirm_destination(&ann, &code, &here).await.unwrap().unwrap();
                clock.advance(60);
            }
            let before = inner.load(&ann).await.unwrap().unwrap().record;
            let from = kinds(&inner, &ann).await.len();
            *provider.last.lock().unwrap() = None;
            provider.down.store(down, Ordering::SeqCst);
            let saves = mfa.store().saves.load(Ordering::SeqCst);
            mfa.store().lose_save.store(saves + lost, Ordering::SeqCst);
            let outcome = if sign_in {
                mfa.send_sign_in_code(&ann, Role::Backup, &provider, &here).await
            } else {
                mfa.add_destination(&ann, email(), Role::Backup, &provider, &here).await
            };
            mfa.store().lose_save.store(u32::MAX, Ordering::SeqCst);
            provider.down.store(false, Ordering::SeqCst);
            let at = format!("sign-in code {sign_in}, save {lost} lost, provider down {down}");
            assert!(matches!(outcome, Err(Error::Store(_))), "{at}: {outcome:?}");
            let trail = names(&kinds(&inner, &ann).await[from..]);
            let added: &[&str] = if sign_in { &[] } else { &["backup_destination_added"] };
            let expected: Vec<&str> = match (lost, down) {
                // The reservation's reply was lost: nothing was sent.
                (0, _) => [added, &["backup_code_reserved"]].concat(),
                (_, false) => [added, &["backup_code_reserved", "backup_code_sent"]].concat(),
                (_, true) => {
                    let removed: &[&str] = if sign_in { &[] } else { &["backup_destination_withdrawn"] };
                    [added, &["backup_code_reserved", "backup_code_not_sent"], removed].concat()
                }
            };
            assert_eq!(trail, expected, "{at}");
            let sent = provider.last.lock().unwrap().clone();
            assert_eq!(sent.is_some(), lost == 1 && !down, "{at}: sent only after a saved reservation");
            let purpose_code = |code: &str| {
                let code = code.to_string();
                let (mfa, ann, here) = (&mfa, &ann, &here);
                async move {
                    if sign_in {
                        mfa.verify_sign_in_code(ann, &code, here).await.unwrap()
                    } else {
                        mfa.confirm_destination(ann, &code, here).await.unwrap()
                    }
                }
            };
            if let Some(code) = sent {
                // Saved as sent before the reply was lost: the code works.
                assert!(purpose_code(&code).await.is_ok(), "{at}");
                continue;
            }
            // Nothing live: once the deadline passes the next change lets it lapse.
            clock.advance(SEND_DEADLINE);
            assert_eq!(purpose_code("000000").await, Err(Refusal::NoCodePending), "{at}");
            let after = inner.load(&ann).await.unwrap().unwrap().record;
            let (oob, was) = (after.destination_state(), before.destination_state());
            assert!(oob.challenge().is_none(), "{at}");
            assert_eq!(oob.sent_at(), was.sent_at(), "{at}: the send does not count");
            assert_eq!(oob.destinations(), was.destinations(), "{at}: no destination was left");
            if lost == 0 {
                let lapsed = names(&kinds(&inner, &ann).await[from..]);
                assert!(lapsed.contains(&"backup_code_lapsed".to_string()), "{at}: {lapsed:?}");
            }
        }
    }
    drop_tables(inner.pool(), &tables).await;
}
