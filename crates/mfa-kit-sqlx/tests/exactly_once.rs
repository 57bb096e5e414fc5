//! Rules that must hold exactly once when many app servers act at the same moment, on
//! the SQL stores: a code, a recovery code, an e-mailed code, an enrollment, a disown
//! link and a key's answer accepted once; wrong codes counted exactly to the lockout
//! and the hard limit; send limits kept; each notice delivered once by two relays.
//! Each test runs four `MfaService`s (one per app server, each with its own connection
//! pool: four `PgPool`s, or four `SqliteStore::open` pools on one WAL file) on one
//! database, releases their tasks together (tokio multi-thread runtime, a barrier), and
//! checks the outcomes, the record and the stored trail. Every scenario runs on
//! PostgreSQL and on SQLite. (`many_servers.rs` races one code of each kind across
//! servers; `races.rs` one service's tasks; the core's `concurrency.rs` and `races.rs`
//! the in-memory store.)
#![cfg(all(feature = "postgres", feature = "sqlite"))]

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use mfa_kit::clock::{Clock, ManualClock};
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::EventKind;
use mfa_kit::flow::destination::CodeMessage;
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::notify::CodeSender;
use mfa_kit::otp::Totp;
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::policy::{OrgSettings, SignInContext, StandardPolicy};
use mfa_kit::relay::{Notice, NoticeRelay, Notifier, RelayConfig};
use mfa_kit::service::MfaService;
use mfa_kit::store::{AuditQuery, NoticeOutbox, ReadAudit, Store};
use mfa_kit::{Destination, LockoutRule, Method, Refusal, RejectionReason, Role, UserId};
use mfa_kit_sqlx::{PostgresStore, SqliteStore, TableNames};

const START: u64 = 1_700_000_000;
const SERVERS: usize = 4;

type Service<S> = MfaService<S, PlaintextSealer>;

fn key() -> HashKey {
    HashKey::from_bytes(&[7; 32]).unwrap()
}

/// One service per app server, all on the same clock and hash key.
fn services<S: Store + 'static>(
    stores: Vec<S>,
    clock: &ManualClock,
    policy: Option<StandardPolicy>,
) -> Vec<Arc<Service<S>>> {
    stores
        .into_iter()
        .map(|store| {
            let mut builder = MfaService::builder("Smith & Co Accounting", store, PlaintextSealer)
                .clock(clock.clone())
                .hash_key(key());
            if let Some(policy) = policy.clone() {
                builder = builder.policy(policy);
            }
            Arc::new(builder.build())
        })
        .collect()
}

/// `n` tasks released together; task `i` runs on server `i % servers`.
async fn race<S, T, F, Fut>(servers: &[Arc<Service<S>>], n: usize, f: F) -> Vec<T>
where
    S: Store + 'static,
    T: Send + 'static,
    F: Fn(Arc<Service<S>>, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let fut = f(servers[i % servers.len()].clone(), i);
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                fut.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.expect("task panicked"));
    }
    out
}

async fn kinds<S: ReadAudit>(store: &S, user: &UserId) -> Vec<EventKind> {
    let page = store.read_audit(&AuditQuery::user(user.clone(), 0, i64::MAX as u64, 1000)).await.unwrap();
    page.events.into_iter().map(|e| e.event.kind).collect()
}

/// Enrolls `user` through `mfa` (two codes, the clock moved 30 s), returns the phone.
async fn enroll<S: Store>(mfa: &Service<S>, clock: &ManualClock, user: &UserId) -> Totp {
    let here = SignInContext::default();
    let start = mfa.start_enrollment(user, "staff", &here).await.unwrap().unwrap();
    let key = KeyUri::parse(&start.uri).unwrap();
    let phone = Totp::new(key.secret(), key.totp_params().unwrap());
    let t = clock.now().unwrap();
    let first = phone.generate(t).unwrap().to_string();
    clock.advance(30);
    let second = phone.generate(t + 30).unwrap().to_string();
    mfa.confirm_enrollment(user, &[&first, &second], &here).await.unwrap().unwrap();
    clock.advance(30);
    phone
}

fn wrong_code(phone: &Totp, at: u64) -> String {
    let near: Vec<String> = (-40i64..=40)
        .map(|k| phone.generate(at.saturating_add_signed(k * 30)).unwrap().to_string())
        .collect();
    (0..1_000_000u32).map(|n| format!("{n:06}")).find(|c| !near.contains(c)).unwrap()
}

/// Keeps the last code sent to each address, and counts sends.
#[derive(Default)]
struct Outbox(Mutex<(HashMap<String, String>, usize)>);

impl CodeSender for Outbox {
    type Error = std::convert::Infallible;

    async fn send(&self, to: &Destination, message: &CodeMessage) -> Result<(), Self::Error> {
        let mut o = self.0.lock().unwrap();
        o.0.insert(to.address().to_string(), message.code().to_string());
        o.1 += 1;
        Ok(())
    }
}

impl Outbox {
    fn code(&self, to: &Destination) -> String {
        self.0.lock().unwrap().0[to.address()].clone()
    }
    fn count(&self) -> usize {
        self.0.lock().unwrap().1
    }
}

// ---------------------------------------------------------------------------------
// Backends: one store (one pool) per server on one database.

struct Pg {
    pool: sqlx::PgPool,
    tables: TableNames,
}

async fn postgres_stores(label: &str, n: usize) -> (Vec<PostgresStore>, Pg) {
    let tables = common::unique_tables(label);
    let mut stores = Vec::new();
    for _ in 0..n {
        let store = PostgresStore::with_tables(common::postgres_pool(8).await, tables.clone());
        store.migrate().await.unwrap();
        stores.push(store);
    }
    let pool = stores[0].pool().clone();
    (stores, Pg { pool, tables })
}

impl Pg {
    async fn drop(self) {
        common::drop_tables(&self.pool, &self.tables).await;
    }
}

async fn sqlite_stores(dir: &tempfile::TempDir, n: usize) -> Vec<SqliteStore> {
    let path = dir.path().join("mfa.db");
    let mut stores = Vec::new();
    for _ in 0..n {
        stores.push(SqliteStore::open(&path).await.unwrap());
    }
    stores
}

/// A test on PostgreSQL and one on SQLite for each scenario.
macro_rules! on_both {
    ($scenario:ident, $pg:ident, $sqlite:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $pg() {
            let (stores, pg) = postgres_stores(stringify!($scenario), SERVERS).await;
            $scenario(stores, "postgres").await;
            pg.drop().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $sqlite() {
            let dir = tempfile::tempdir().unwrap();
            let stores = sqlite_stores(&dir, SERVERS).await;
            $scenario(stores, "sqlite").await;
        }
    };
}

// ---------------------------------------------------------------------------------
// R15: N concurrent wrong codes count N failures, each lockout starts once, and the
// hard limit is not overshot.

/// 5 wrong codes lock for 1 s; the 12th wrong code without a success disables.
fn strict_policy() -> StandardPolicy {
    let rule = LockoutRule::new(5, 1).with_hard_limit(12);
    StandardPolicy::new().with_defaults(OrgSettings::builder().lockout(rule).build().unwrap())
}

async fn lockout_exact<S: Store + ReadAudit + Clone + 'static>(stores: Vec<S>, label: &str) {
    let reader = stores[0].clone();
    let clock = ManualClock::new(START);
    let mfa = services(stores, &clock, Some(strict_policy()));
    for round in 0..3 {
        let user = UserId::new(format!("lock{round}"));
        let phone = enroll(&mfa[0], &clock, &user).await;
        let mut expected_after = [5u32, 10, 12];
        for (burst, expected) in expected_after.iter_mut().enumerate() {
            let wrong = wrong_code(&phone, clock.now().unwrap());
            let outcomes = race(&mfa, 32, |mfa, _| {
                let (user, wrong) = (user.clone(), wrong.clone());
                async move { mfa.verify_code(&user, &wrong, &SignInContext::default()).await }
            })
            .await;
            let errors: Vec<_> =
                outcomes.iter().filter_map(|o| o.as_ref().err()).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{label} round {round} burst {burst}: errors {errors:?}");
            let record = mfa[0].record(&user).await.unwrap();
            assert_eq!(
                record.failures().consecutive(),
                *expected,
                "{label} round {round} burst {burst}: 32 wrong codes at once"
            );
            clock.advance(2); // the 1-second lock is over
        }
        let kinds = kinds(&reader, &user).await;
        let wrong = kinds
            .iter()
            .filter(|k| matches!(k, EventKind::CodeRejected { reason: RejectionReason::Wrong, .. }))
            .count();
        let locks = kinds.iter().filter(|k| matches!(k, EventKind::LockoutStarted { .. })).count();
        let ended = kinds.iter().filter(|k| matches!(k, EventKind::LockoutEnded)).count();
        let disabled = kinds.iter().filter(|k| matches!(k, EventKind::SecondFactorDisabled { .. })).count();
        assert_eq!(
            (wrong, locks, ended, disabled),
            (12, 2, 2, 1),
            "{label} round {round}: (wrong codes counted, lockouts, lockouts ended, disabled) in the trail"
        );
    }
}

on_both!(
    lockout_exact,
    postgres_thirty_two_wrong_codes_per_burst_count_exactly_to_the_hard_limit,
    sqlite_thirty_two_wrong_codes_per_burst_count_exactly_to_the_hard_limit
);

// ---------------------------------------------------------------------------------
// R16 and R17 across services: one recovery code, one e-mailed code, each accepted
// once, with exactly one acceptance in the trail.

async fn codes_once<S: Store + ReadAudit + Clone + 'static>(stores: Vec<S>, label: &str) {
    let reader = stores[0].clone();
    let clock = ManualClock::new(START);
    let mfa = services(stores, &clock, None);
    let here = SignInContext::default();
    for round in 0..10 {
        let user = UserId::new(format!("codes{round}"));
        enroll(&mfa[0], &clock, &user).await;
        let codes = mfa[0].generate_recovery_codes(&user, &here).await.unwrap().unwrap();
        let code = codes[round % codes.len()].as_str().to_string();
        let outcomes = race(&mfa, 16, |mfa, _| {
            let (user, code) = (user.clone(), code.clone());
            async move { mfa.redeem_recovery_code(&user, &code, &SignInContext::default()).await.unwrap() }
        })
        .await;
        let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(accepted, 1, "{label} round {round}: recovery code {outcomes:?}");
        let record = mfa[0].record(&user).await.unwrap();
        assert_eq!(record.recovery_codes().unwrap().remaining(), codes.len() - 1, "{label} round {round}");

        // The replays locked `user` out: the e-mailed code is raced for another user.
        let recovery_user = user;
        let user = UserId::new(format!("email{round}"));
        enroll(&mfa[0], &clock, &user).await;
        let outbox = Outbox::default();
        let email = Destination::email(&format!("codes{round}@example.com")).unwrap();
        clock.advance(61);
        mfa[0].add_destination(&user, email.clone(), Role::Backup, &outbox, &here).await.unwrap().unwrap();
        mfa[0].confirm_destination(&user, &outbox.code(&email), &here).await.unwrap().unwrap();
        clock.advance(61);
        mfa[1].send_sign_in_code(&user, Role::Backup, &outbox, &here).await.unwrap().unwrap();
        let code = outbox.code(&email);
        let outcomes = race(&mfa, 16, |mfa, _| {
            let (user, code) = (user.clone(), code.clone());
            async move { mfa.verify_sign_in_code(&user, &code, &SignInContext::default()).await.unwrap() }
        })
        .await;
        let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(accepted, 1, "{label} round {round}: e-mailed code {outcomes:?}");
        let by_recovery = kinds(&reader, &recovery_user)
            .await
            .iter()
            .filter(|k| matches!(k, EventKind::CodeAccepted { method: Method::RecoveryCode, .. }))
            .count();
        let by_email = kinds(&reader, &user)
            .await
            .iter()
            .filter(|k| matches!(k, EventKind::CodeAccepted { method: Method::Email, .. }))
            .count();
        assert_eq!((by_recovery, by_email), (1, 1), "{label} round {round}: acceptances in the trail");
        clock.advance(30);
    }
}

on_both!(
    codes_once,
    postgres_recovery_and_emailed_codes_are_accepted_once_across_servers,
    sqlite_recovery_and_emailed_codes_are_accepted_once_across_servers
);

// ---------------------------------------------------------------------------------
// R6: a pending enrollment confirmed by 8 servers at once makes one authenticator,
// one `enrollment_confirmed` event.

async fn confirm_once<S: Store + ReadAudit + Clone + 'static>(stores: Vec<S>, label: &str) {
    let reader = stores[0].clone();
    let clock = ManualClock::new(START);
    let mfa = services(stores, &clock, None);
    for round in 0..10 {
        let user = UserId::new(format!("confirm{round}"));
        let start =
            mfa[0].start_enrollment(&user, "staff", &SignInContext::default()).await.unwrap().unwrap();
        let key = KeyUri::parse(&start.uri).unwrap();
        let phone = Totp::new(key.secret(), key.totp_params().unwrap());
        let t = clock.now().unwrap();
        let codes = [phone.generate(t).unwrap().to_string(), phone.generate(t + 30).unwrap().to_string()];
        clock.advance(30);
        let outcomes = race(&mfa, 8, |mfa, _| {
            let (user, codes) = (user.clone(), codes.clone());
            async move {
                mfa.confirm_enrollment(&user, &[&codes[0], &codes[1]], &SignInContext::default())
                    .await
                    .unwrap()
            }
        })
        .await;
        let confirmed = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(confirmed, 1, "{label} round {round}: {outcomes:?}");
        let authenticators = mfa[0].authenticators(&user).await.unwrap().len();
        let events = kinds(&reader, &user)
            .await
            .iter()
            .filter(|k| matches!(k, EventKind::EnrollmentConfirmed { .. }))
            .count();
        assert_eq!((authenticators, events), (1, 1), "{label} round {round}: authenticators, events");
        clock.advance(30);
    }
}

on_both!(
    confirm_once,
    postgres_a_pending_enrollment_confirmed_by_eight_servers_at_once_is_confirmed_once,
    sqlite_a_pending_enrollment_confirmed_by_eight_servers_at_once_is_confirmed_once
);

// ---------------------------------------------------------------------------------
// R17: sends at once from every server keep one a minute and five an hour.

async fn send_limits<S: Store + ReadAudit + Clone + 'static>(stores: Vec<S>, label: &str) {
    let reader = stores[0].clone();
    let clock = ManualClock::new(START);
    let mfa = services(stores, &clock, None);
    let here = SignInContext::default();
    for round in 0..3 {
        let user = UserId::new(format!("send{round}"));
        let outbox = Arc::new(Outbox::default());
        let phone = Destination::sms(&format!("+61 412 345 67{round}")).unwrap();
        mfa[0].add_destination(&user, phone.clone(), Role::Primary, &*outbox, &here).await.unwrap().unwrap();
        mfa[0].confirm_destination(&user, &outbox.code(&phone), &here).await.unwrap().unwrap();
        for burst in 0..6 {
            clock.advance(61);
            let outcomes = race(&mfa, 16, |mfa, _| {
                let (user, outbox) = (user.clone(), outbox.clone());
                async move {
                    mfa.send_sign_in_code(&user, Role::Primary, &*outbox, &SignInContext::default())
                        .await
                        .unwrap()
                }
            })
            .await;
            let sent = outcomes.iter().filter(|o| o.is_ok()).count();
            assert_eq!(sent, usize::from(burst < 4), "{label} round {round} burst {burst}: {outcomes:?}");
        }
        assert_eq!(outbox.count(), 5, "{label} round {round}: the confirmation and four sign-in codes");
        let sent = kinds(&reader, &user)
            .await
            .iter()
            .filter(|k| matches!(k, EventKind::BackupCodeSent { .. }))
            .count();
        assert_eq!(sent, 5, "{label} round {round}: backup_code_sent events");
        clock.advance(3600);
    }
}

on_both!(
    send_limits,
    postgres_sends_at_once_from_every_server_keep_one_a_minute_and_five_an_hour,
    sqlite_sends_at_once_from_every_server_keep_one_a_minute_and_five_an_hour
);

// ---------------------------------------------------------------------------------
// Notices: relays of one name on two app servers deliver each notice once while
// deliveries end within the lease; a "this wasn't me" link works once.

#[derive(Clone, Default)]
struct Inbox(Arc<Mutex<Vec<Notice>>>);

impl Notifier for Inbox {
    type Error = std::convert::Infallible;

    async fn notify(&self, notice: &Notice) -> Result<(), Self::Error> {
        // A delivery that takes a moment (a provider's round trip).
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        self.0.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

// Two relays: built on enrollments confirmed while the relays run (see below).
async fn two_relays<S: Store + NoticeOutbox + ReadAudit + Clone + Send + Sync + 'static>(
    stores: Vec<S>,
    label: &str,
) where
    S::Error: std::fmt::Debug,
{
    let clock = ManualClock::new(START);
    let mfa = services(stores.clone(), &clock, None);
    let here = SignInContext::default();
    const USERS: usize = 60;
    let mut phones = Vec::new();
    for i in 0..USERS {
        let user = UserId::new(format!("notice{i}"));
        let start = mfa[i % SERVERS].start_enrollment(&user, "staff", &here).await.unwrap().unwrap();
        let key = KeyUri::parse(&start.uri).unwrap();
        phones.push((user, Totp::new(key.secret(), key.totp_params().unwrap())));
    }
    let t = clock.now().unwrap();
    clock.advance(30);
    let inbox = Inbox::default();
    let config = RelayConfig { batch: 3, ..RelayConfig::default() };
    let relays: Vec<_> = stores
        .iter()
        .take(2)
        .map(|s| {
            Arc::new(NoticeRelay::new("email", s.clone(), inbox.clone(), clock.clone()).with_config(config))
        })
        .collect();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = relays
        .iter()
        .map(|relay| {
            let (relay, stop) = (relay.clone(), stop.clone());
            tokio::spawn(async move {
                loop {
                    let done = stop.load(std::sync::atomic::Ordering::SeqCst);
                    let batch = relay.run_once().await.unwrap();
                    if done && batch.claimed == 0 && batch.caught_up {
                        break;
                    }
                    if batch.claimed == 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    }
                }
            })
        })
        .collect();
    let phones = Arc::new(phones);
    race(&mfa, USERS, |mfa, i| {
        let phones = phones.clone();
        async move {
            let (user, phone) = &phones[i];
            let codes = [phone.generate(t).unwrap().to_string(), phone.generate(t + 30).unwrap().to_string()];
            mfa.confirm_enrollment(user, &[&codes[0], &codes[1]], &SignInContext::default())
                .await
                .unwrap()
                .unwrap();
        }
    })
    .await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    let delivered = inbox.0.lock().unwrap().clone();
    let mut per_id: HashMap<i64, usize> = HashMap::new();
    for n in &delivered {
        *per_id.entry(n.id).or_default() += 1;
    }
    let twice: Vec<_> = per_id.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "{label}: notices delivered more than once (id, times): {twice:?}");
    assert_eq!(per_id.len(), USERS, "{label}: every factor_added notice delivered");
}

on_both!(
    two_relays,
    postgres_two_relays_on_one_outbox_deliver_each_notice_once,
    sqlite_two_relays_on_one_outbox_deliver_each_notice_once
);

async fn disown_once<S: Store + NoticeOutbox + ReadAudit + Clone + Send + Sync + 'static>(
    stores: Vec<S>,
    label: &str,
) where
    S::Error: std::fmt::Debug,
{
    let reader = stores[0].clone();
    let clock = ManualClock::new(START);
    let mfa = services(stores.clone(), &clock, None);
    let inbox = Inbox::default();
    let relay = NoticeRelay::new("email", stores[0].clone(), inbox.clone(), clock.clone());
    for round in 0..10 {
        let user = UserId::new(format!("disown{round}"));
        enroll(&mfa[0], &clock, &user).await;
        // On PostgreSQL a claim reads only below the oldest running transaction (other
        // tests' too): claim until the notice is there.
        let mut notice = None;
        for _ in 0..1000 {
            relay.run_once().await.unwrap();
            notice = inbox.0.lock().unwrap().iter().rev().find(|n| n.user == user).cloned();
            if notice.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let notice = notice.expect("a notice");
        let token = notice.disown_token(&key()).as_str().to_string();
        let outcomes = race(&mfa, 8, |mfa, _| {
            let (user, token) = (user.clone(), token.clone());
            async move { mfa.disown(&user, &token, &SignInContext::default()).await.unwrap() }
        })
        .await;
        let ok = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(ok, 1, "{label} round {round}: {outcomes:?}");
        assert!(
            outcomes.iter().all(|o| o.is_ok() || matches!(o, Err(Refusal::DisownLinkUsed))),
            "{label} round {round}: {outcomes:?}"
        );
        let events = kinds(&reader, &user)
            .await
            .iter()
            .filter(|k| matches!(k, EventKind::NoticeDisowned { .. }))
            .count();
        assert_eq!(events, 1, "{label} round {round}: notice_disowned events");
        clock.advance(60);
    }
}

on_both!(
    disown_once,
    postgres_a_disown_link_clicked_on_eight_servers_at_once_works_once,
    sqlite_a_disown_link_clicked_on_eight_servers_at_once_works_once
);

// ---------------------------------------------------------------------------------
// Probes: more counts under races.

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<mfa_kit::event::AuditEvent>>>);

impl mfa_kit::event::AuditSink for Sink {
    fn record(&self, event: mfa_kit::event::AuditEvent) {
        self.0.lock().unwrap().push(event);
    }
}

fn policy_with(rule: LockoutRule) -> StandardPolicy {
    StandardPolicy::new().with_defaults(OrgSettings::builder().lockout(rule).build().unwrap())
}

/// R15 "N concurrent wrong codes count N failures": a lockout rule of 40 (hard limit
/// 40) and two bursts of 32 wrong codes from four servers: 32 counted, then 8 more and
/// the second factor disabled once. The services' audit sinks (events pushed after
/// their save) hold exactly what the store holds.
async fn wrong_codes_counted<S: Store + ReadAudit + Clone + 'static>(stores: Vec<S>, label: &str) {
    let reader = stores[0].clone();
    let clock = ManualClock::new(START);
    let sink = Sink::default();
    let mfa: Vec<_> = stores
        .into_iter()
        .map(|store| {
            Arc::new(
                MfaService::builder("Smith & Co Accounting", store, PlaintextSealer)
                    .clock(clock.clone())
                    .hash_key(key())
                    .policy(policy_with(LockoutRule::new(40, 900).with_hard_limit(40)))
                    .audit(sink.clone())
                    .build(),
            )
        })
        .collect();
    for round in 0..3 {
        let user = UserId::new(format!("many{round}"));
        let phone = enroll(&mfa[0], &clock, &user).await;
        for (burst, expected) in [32u32, 40].into_iter().enumerate() {
            let wrong = wrong_code(&phone, clock.now().unwrap());
            let outcomes = race(&mfa, 32, |mfa, _| {
                let (user, wrong) = (user.clone(), wrong.clone());
                async move { mfa.verify_code(&user, &wrong, &SignInContext::default()).await.unwrap() }
            })
            .await;
            let record = mfa[0].record(&user).await.unwrap();
            assert_eq!(
                record.failures().consecutive(),
                expected,
                "{label} round {round} burst {burst}: {outcomes:?}"
            );
        }
        let stored = kinds(&reader, &user).await;
        let wrong = stored
            .iter()
            .filter(|k| matches!(k, EventKind::CodeRejected { reason: RejectionReason::Wrong, .. }))
            .count();
        let disabled = stored.iter().filter(|k| matches!(k, EventKind::SecondFactorDisabled { .. })).count();
        assert_eq!((wrong, disabled), (40, 1), "{label} round {round}: wrong codes counted, disabled");
        let mut pushed: Vec<String> = sink
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.user == user)
            .map(|e| serde_json::to_string(&e.kind).unwrap())
            .collect();
        let mut kept: Vec<String> = stored.iter().map(|k| serde_json::to_string(k).unwrap()).collect();
        pushed.sort();
        kept.sort();
        assert_eq!(pushed, kept, "{label} round {round}: the audit sink's events are the stored events");
    }
}

on_both!(
    wrong_codes_counted,
    postgres_thirty_two_concurrent_wrong_codes_count_thirty_two_failures,
    sqlite_thirty_two_concurrent_wrong_codes_count_thirty_two_failures
);

/// R17 "limited ... attempts" and R15: 32 wrong SMS codes at once from four servers:
/// five failures counted, one lockout, the code discarded, and the right code then
/// refused.
async fn wrong_sms_codes<S: Store + ReadAudit + Clone + 'static>(stores: Vec<S>, label: &str) {
    let reader = stores[0].clone();
    let clock = ManualClock::new(START);
    let mfa = services(stores, &clock, None);
    let here = SignInContext::default();
    for round in 0..5 {
        let user = UserId::new(format!("wrongsms{round}"));
        let outbox = Outbox::default();
        let phone = Destination::sms(&format!("+61 412 345 68{round}")).unwrap();
        mfa[0].add_destination(&user, phone.clone(), Role::Primary, &outbox, &here).await.unwrap().unwrap();
        mfa[0].confirm_destination(&user, &outbox.code(&phone), &here).await.unwrap().unwrap();
        clock.advance(61);
        mfa[0].send_sign_in_code(&user, Role::Primary, &outbox, &here).await.unwrap().unwrap();
        let right = outbox.code(&phone);
        let wrong = if right == "000000" { "000001".to_string() } else { "000000".to_string() };
        let outcomes = race(&mfa, 32, |mfa, _| {
            let (user, wrong) = (user.clone(), wrong.clone());
            async move { mfa.verify_sign_in_code(&user, &wrong, &SignInContext::default()).await.unwrap() }
        })
        .await;
        let record = mfa[0].record(&user).await.unwrap();
        let stored = kinds(&reader, &user).await;
        let counted = stored
            .iter()
            .filter(|k| matches!(k, EventKind::CodeRejected { reason: RejectionReason::Wrong, .. }))
            .count();
        let locks = stored.iter().filter(|k| matches!(k, EventKind::LockoutStarted { .. })).count();
        assert_eq!(
            (record.failures().consecutive(), counted, locks),
            (5, 5, 1),
            "{label} round {round}: (failures, wrong codes audited, lockouts) {outcomes:?}"
        );
        let after = mfa[1].verify_sign_in_code(&user, &right, &here).await.unwrap();
        assert!(after.is_err(), "{label} round {round}: the right code after the storm: {after:?}");
        clock.advance(3600);
    }
}

on_both!(
    wrong_sms_codes,
    postgres_thirty_two_wrong_sms_codes_at_once_count_five_and_lock_once,
    sqlite_thirty_two_wrong_sms_codes_at_once_count_five_and_lock_once
);

/// R3 per authenticator, R26 "each with its own replay floor": a user with two
/// authenticator apps; the current code of each reaches four servers at once: each
/// is accepted exactly once.
async fn two_apps<S: Store + ReadAudit + Clone + 'static>(stores: Vec<S>, label: &str) {
    let clock = ManualClock::new(START);
    let mfa = services(stores, &clock, None);
    let here = SignInContext::default();
    for round in 0..10 {
        let user = UserId::new(format!("twoapps{round}"));
        let first = enroll(&mfa[0], &clock, &user).await;
        let now = clock.now().unwrap();
        mfa[0].verify_code(&user, &first.generate(now).unwrap().to_string(), &here).await.unwrap().unwrap();
        let start = mfa[0].add_authenticator(&user, "Backup phone", "staff", &here).await.unwrap().unwrap();
        let key = KeyUri::parse(&start.uri).unwrap();
        let second = Totp::new(key.secret(), key.totp_params().unwrap());
        let t = clock.now().unwrap();
        let c1 = second.generate(t).unwrap().to_string();
        clock.advance(30);
        let c2 = second.generate(t + 30).unwrap().to_string();
        mfa[0].confirm_enrollment(&user, &[&c1, &c2], &here).await.unwrap().unwrap();
        assert_eq!(mfa[0].authenticators(&user).await.unwrap().len(), 2, "{label} round {round}");
        clock.advance(30);
        let now = clock.now().unwrap();
        let a = first.generate(now).unwrap().to_string();
        let b = second.generate(now).unwrap().to_string();
        if a == b {
            continue;
        }
        let outcomes = race(&mfa, 8, |mfa, i| {
            let (user, code) = (user.clone(), if i % 2 == 0 { a.clone() } else { b.clone() });
            async move { (i % 2, mfa.verify_code(&user, &code, &SignInContext::default()).await.unwrap()) }
        })
        .await;
        let accepted = |app| outcomes.iter().filter(|(x, o)| *x == app && o.is_ok()).count();
        assert_eq!((accepted(0), accepted(1)), (1, 1), "{label} round {round}: {outcomes:?}");
        clock.advance(30);
    }
}

on_both!(
    two_apps,
    postgres_the_codes_of_two_apps_at_once_are_each_accepted_once,
    sqlite_the_codes_of_two_apps_at_once_are_each_accepted_once
);

/// R19: eight devices remembered at once (eight browsers after one proof) are eight
/// devices, each audited once, each token letting in.
async fn devices_at_once<S: Store + ReadAudit + Clone + 'static>(stores: Vec<S>, label: &str) {
    let reader = stores[0].clone();
    let clock = ManualClock::new(START);
    let mfa = services(stores, &clock, None);
    let here = SignInContext::default();
    for round in 0..5 {
        let user = UserId::new(format!("devices{round}"));
        let phone = enroll(&mfa[0], &clock, &user).await;
        let now = clock.now().unwrap();
        mfa[0].verify_code(&user, &phone.generate(now).unwrap().to_string(), &here).await.unwrap().unwrap();
        let outcomes = race(&mfa, 8, |mfa, i| {
            let user = user.clone();
            async move {
                mfa.remember_device(&user, &format!("Browser {i}"), 86_400, &SignInContext::default())
                    .await
                    .unwrap()
                    .map(|r| r.token.as_str().to_string())
            }
        })
        .await;
        assert!(outcomes.iter().all(|o| o.is_ok()), "{label} round {round}: {outcomes:?}");
        let devices = mfa[0].devices(&user).await.unwrap().len();
        let events = kinds(&reader, &user)
            .await
            .iter()
            .filter(|k| matches!(k, EventKind::DeviceRemembered { .. }))
            .count();
        assert_eq!((devices, events), (8, 8), "{label} round {round}: devices, device_remembered events");
        clock.advance(60);
    }
}

on_both!(
    devices_at_once,
    postgres_eight_devices_remembered_at_once_are_eight_devices,
    sqlite_eight_devices_remembered_at_once_are_eight_devices
);

/// R32 "registered with a fresh proof ... the challenge ... is spent by the save that
/// accepts its answer": one registration response (a software authenticator's real key
/// pair) sent to eight servers at once registers one key, audited once; then one
/// signed assertion sent to eight servers at once is accepted once.
async fn key_registration_once<S: Store + ReadAudit + Clone + 'static>(stores: Vec<S>, label: &str) {
    use webauthn_authenticator_rs::prelude::WebauthnAuthenticator;
    const ORIGIN: &str = "http://localhost:3000";
    let reader = stores[0].clone();
    let clock = ManualClock::new(START);
    let mfa: Vec<_> = stores
        .into_iter()
        .map(|store| {
            let party = mfa_kit_webauthn::WebauthnParty::builder("localhost", ORIGIN).build().unwrap();
            Arc::new(
                MfaService::builder("Smith & Co Accounting", store, PlaintextSealer)
                    .clock(clock.clone())
                    .hash_key(key())
                    .relying_party(party)
                    .build(),
            )
        })
        .collect();
    let here = SignInContext::default();
    for round in 0..5 {
        let who = UserId::new(format!("key{round}"));
        let origin = webauthn_authenticator_rs::prelude::Url::parse(ORIGIN).unwrap();
        let mut key = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true);
        let options = mfa[0]
            .start_security_key_registration(&who, "Key", "staff", "Staff", &here)
            .await
            .unwrap()
            .unwrap();
        let options: webauthn_rs_core::proto::CreationChallengeResponse =
            serde_json::from_str(&options.options).unwrap();
        let created = serde_json::to_string(&key.do_registration(origin.clone(), options).unwrap()).unwrap();
        let outcomes = race(&mfa, 8, |mfa, _| {
            let (who, created) = (who.clone(), created.clone());
            async move {
                mfa.finish_security_key_registration(&who, &created, &SignInContext::default()).await.unwrap()
            }
        })
        .await;
        let ok = outcomes.iter().filter(|o| o.is_ok()).count();
        let keys = mfa[0].record(&who).await.unwrap().security_keys().len();
        let events = kinds(&reader, &who)
            .await
            .iter()
            .filter(|k| matches!(k, EventKind::SecurityKeyRegistered { .. }))
            .count();
        assert_eq!((ok, keys, events), (1, 1, 1), "{label} round {round}: {outcomes:?}");
        clock.advance(30);
        let options = mfa[1].start_security_key(&who, &here).await.unwrap().unwrap();
        let options: webauthn_rs_core::proto::RequestChallengeResponse =
            serde_json::from_str(&options.options).unwrap();
        let signed = serde_json::to_string(&key.do_authentication(origin, options).unwrap()).unwrap();
        let outcomes = race(&mfa, 8, |mfa, _| {
            let (who, signed) = (who.clone(), signed.clone());
            async move { mfa.verify_security_key(&who, &signed, &SignInContext::default()).await.unwrap() }
        })
        .await;
        let ok = outcomes.iter().filter(|o| o.is_ok()).count();
        let accepted = kinds(&reader, &who)
            .await
            .iter()
            .filter(|k| matches!(k, EventKind::CodeAccepted { method: Method::SecurityKey, .. }))
            .count();
        assert_eq!((ok, accepted), (1, 1), "{label} round {round}: {outcomes:?}");
        clock.advance(30);
    }
}

on_both!(
    key_registration_once,
    postgres_one_key_registration_response_sent_to_eight_servers_registers_one_key,
    sqlite_one_key_registration_response_sent_to_eight_servers_registers_one_key
);

/// The create path (`INSERT … ON CONFLICT DO NOTHING` with the events) under a race:
/// a user with no record yet opens the enrollment screen on eight servers at once
/// (`start_enrollment`: "a page reload shows the same QR code and key") and, another
/// user, adds a phone on eight servers at once (one send a minute): one enrollment
/// started and one code sent, each audited once.
async fn first_record<S: Store + ReadAudit + Clone + 'static>(stores: Vec<S>, label: &str) {
    let reader = stores[0].clone();
    let clock = ManualClock::new(START);
    let mfa = services(stores, &clock, None);
    for round in 0..10 {
        let user = UserId::new(format!("fresh{round}"));
        let starts = race(&mfa, 8, |mfa, _| {
            let user = user.clone();
            async move {
                mfa.start_enrollment(&user, "staff", &SignInContext::default())
                    .await
                    .unwrap()
                    .unwrap()
                    .uri
                    .to_string()
            }
        })
        .await;
        let mut uris = starts.clone();
        uris.sort();
        uris.dedup();
        let started = kinds(&reader, &user)
            .await
            .iter()
            .filter(|k| matches!(k, EventKind::EnrollmentStarted { .. }))
            .count();
        assert_eq!(
            (uris.len(), started),
            (1, 1),
            "{label} round {round}: QR codes shown, enrollment_started events"
        );

        let user = UserId::new(format!("freshphone{round}"));
        let outbox = Arc::new(Outbox::default());
        let phone = Destination::sms(&format!("+61 412 345 69{round}")).unwrap();
        let outcomes = race(&mfa, 8, |mfa, _| {
            let (user, outbox, phone) = (user.clone(), outbox.clone(), phone.clone());
            async move {
                mfa.add_destination(&user, phone, Role::Primary, &*outbox, &SignInContext::default())
                    .await
                    .unwrap()
            }
        })
        .await;
        let sent = outcomes.iter().filter(|o| o.is_ok()).count();
        let stored = kinds(&reader, &user).await;
        let added = stored.iter().filter(|k| matches!(k, EventKind::BackupDestinationAdded { .. })).count();
        assert_eq!((sent, outbox.count(), added), (1, 1, 1), "{label} round {round}: {outcomes:?}");
        clock.advance(60);
    }
}

on_both!(
    first_record,
    postgres_a_users_first_record_made_on_eight_servers_at_once_is_made_once,
    sqlite_a_users_first_record_made_on_eight_servers_at_once_is_made_once
);

/// Disown links: "A token that is not valid for the user, was used, or is older than
/// LINK_LIFETIME changes nothing and is refused as such"; the record remembers the
/// newest 32 and refuses older ones as used. 40 different links of one user (40
/// remembered devices) followed at once on four servers: each that worked is audited
/// once, and followed again at once, none works.
async fn many_links<S: Store + NoticeOutbox + ReadAudit + Clone + Send + Sync + 'static>(
    stores: Vec<S>,
    label: &str,
) where
    S::Error: std::fmt::Debug,
{
    let reader = stores[0].clone();
    let clock = ManualClock::new(START);
    let mfa = services(stores.clone(), &clock, None);
    let here = SignInContext::default();
    let inbox = Inbox::default();
    let relay = NoticeRelay::new("email", stores[0].clone(), inbox.clone(), clock.clone());
    let user = UserId::new("links");
    let phone = enroll(&mfa[0], &clock, &user).await;
    let now = clock.now().unwrap();
    mfa[0].verify_code(&user, &phone.generate(now).unwrap().to_string(), &here).await.unwrap().unwrap();
    for i in 0..40 {
        mfa[i % SERVERS]
            .remember_device(&user, &format!("Browser {i}"), 86_400, &here)
            .await
            .unwrap()
            .unwrap();
    }
    let tokens = loop {
        relay.run_once().await.unwrap();
        let tokens: Vec<String> = inbox
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|n| n.user == user && matches!(n.event, EventKind::DeviceRemembered { .. }))
            .map(|n| n.disown_token(&key()).as_str().to_string())
            .collect();
        if tokens.len() == 40 {
            break tokens;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    let tokens = Arc::new(tokens);
    let first = race(&mfa, 40, |mfa, i| {
        let (user, tokens) = (user.clone(), tokens.clone());
        async move { mfa.disown(&user, &tokens[i], &SignInContext::default()).await.unwrap() }
    })
    .await;
    let worked = first.iter().filter(|o| o.is_ok()).count();
    let audited =
        kinds(&reader, &user).await.iter().filter(|k| matches!(k, EventKind::NoticeDisowned { .. })).count();
    assert_eq!(audited, worked, "{label}: notice_disowned events for the links that worked");
    assert!(
        first.iter().all(|o| o.is_ok() || matches!(o, Err(Refusal::DisownLinkUsed))),
        "{label}: {first:?}"
    );
    let again = race(&mfa, 40, |mfa, i| {
        let (user, tokens) = (user.clone(), tokens.clone());
        async move { mfa.disown(&user, &tokens[i], &SignInContext::default()).await.unwrap() }
    })
    .await;
    let reused: Vec<usize> = (0..40).filter(|i| first[*i].is_ok() && again[*i].is_ok()).collect();
    assert!(
        reused.is_empty(),
        "{label}: links that worked twice: {reused:?} ({worked} worked the first time)"
    );
}

on_both!(
    many_links,
    postgres_forty_disown_links_followed_at_once_each_work_at_most_once,
    sqlite_forty_disown_links_followed_at_once_each_work_at_most_once
);

/// R17 "limited ... attempts" on its own (a lockout rule of 40, so the user is not
/// locked first): 32 wrong SMS codes at once on four servers discard the code after
/// its 5th wrong try, once; the other tries find no code and count nothing. Then 16
/// wrong app codes and 16 wrong recovery codes at once count 32 more failures, one
/// each.
async fn code_attempts<S: Store + ReadAudit + Clone + 'static>(stores: Vec<S>, label: &str) {
    let reader = stores[0].clone();
    let clock = ManualClock::new(START);
    let mfa = services(stores, &clock, Some(policy_with(LockoutRule::new(40, 900).with_hard_limit(100))));
    let here = SignInContext::default();
    for round in 0..5 {
        let user = UserId::new(format!("attempts{round}"));
        let app = enroll(&mfa[0], &clock, &user).await;
        let now = clock.now().unwrap();
        mfa[0].verify_code(&user, &app.generate(now).unwrap().to_string(), &here).await.unwrap().unwrap();
        mfa[0].generate_recovery_codes(&user, &here).await.unwrap().unwrap();
        let outbox = Outbox::default();
        let phone = Destination::sms(&format!("+61 412 345 70{round}")).unwrap();
        mfa[0].add_destination(&user, phone.clone(), Role::Backup, &outbox, &here).await.unwrap().unwrap();
        mfa[0].confirm_destination(&user, &outbox.code(&phone), &here).await.unwrap().unwrap();
        clock.advance(61);
        mfa[0].send_sign_in_code(&user, Role::Backup, &outbox, &here).await.unwrap().unwrap();
        let right = outbox.code(&phone);
        let wrong = if right == "000000" { "000001".to_string() } else { "000000".to_string() };
        let outcomes = race(&mfa, 32, |mfa, _| {
            let (user, wrong) = (user.clone(), wrong.clone());
            async move { mfa.verify_sign_in_code(&user, &wrong, &SignInContext::default()).await.unwrap() }
        })
        .await;
        let record = mfa[0].record(&user).await.unwrap();
        let stored = kinds(&reader, &user).await;
        let discarded = stored.iter().filter(|k| matches!(k, EventKind::BackupCodeDiscarded { .. })).count();
        assert_eq!(
            (record.failures().consecutive(), discarded),
            (5, 1),
            "{label} round {round}: (failures, codes discarded) {outcomes:?}"
        );
        let wrong_app = wrong_code(&app, clock.now().unwrap());
        let outcomes = race(&mfa, 32, |mfa, i| {
            let (user, wrong_app) = (user.clone(), wrong_app.clone());
            async move {
                let here = SignInContext::default();
                if i % 2 == 0 {
                    mfa.verify_code(&user, &wrong_app, &here).await.unwrap()
                } else {
                    mfa.redeem_recovery_code(&user, "ABCDE-FGHJK-MNPQR", &here).await.unwrap()
                }
            }
        })
        .await;
        let record = mfa[0].record(&user).await.unwrap();
        assert_eq!(record.failures().consecutive(), 37, "{label} round {round}: {outcomes:?}");
        clock.advance(3600);
    }
}

on_both!(
    code_attempts,
    postgres_wrong_sms_codes_at_once_discard_the_code_once_and_mixed_wrong_codes_count_each,
    sqlite_wrong_sms_codes_at_once_discard_the_code_once_and_mixed_wrong_codes_count_each
);

/// R24 with the bound on refused attempts (`Draft::emit_refused`: "audited one by one
/// up to the interval's share, counted in the record after that, and summarised in one
/// event when a new interval begins"): 32 codes at once on four servers for a locked
/// user are 32 refusals in the trail, counting the summary's `refused`.
async fn refusals_summed<S: Store + ReadAudit + Clone + 'static>(stores: Vec<S>, label: &str) {
    let reader = stores[0].clone();
    let clock = ManualClock::new(START);
    let mfa = services(stores, &clock, Some(policy_with(LockoutRule::new(1, 86_400))));
    let here = SignInContext::default();
    for round in 0..5 {
        let user = UserId::new(format!("refusals{round}"));
        let app = enroll(&mfa[0], &clock, &user).await;
        let wrong = wrong_code(&app, clock.now().unwrap());
        let locked = mfa[0].verify_code(&user, &wrong, &here).await.unwrap();
        assert!(matches!(locked, Err(Refusal::LockedOut { .. })), "{label}: {locked:?}");
        let outcomes = race(&mfa, 32, |mfa, _| {
            let (user, wrong) = (user.clone(), wrong.clone());
            async move { mfa.verify_code(&user, &wrong, &SignInContext::default()).await.unwrap() }
        })
        .await;
        assert!(
            outcomes.iter().all(|o| matches!(o, Err(Refusal::LockedOut { .. }))),
            "{label}: {outcomes:?}"
        );
        // A new interval: the next refusal summarises the ones not audited one by one.
        clock.advance(901);
        let _ = mfa[1].verify_code(&user, &wrong, &here).await.unwrap();
        let stored = kinds(&reader, &user).await;
        let one_by_one = stored
            .iter()
            .filter(|k| matches!(k, EventKind::CodeRejected { reason: RejectionReason::LockedOut, .. }))
            .count() as u32;
        let summarised: u32 = stored
            .iter()
            .map(|k| match k {
                EventKind::RefusalsSummarised { refused, .. } => *refused,
                _ => 0,
            })
            .sum();
        // The 32 of the race and the one after the interval.
        assert_eq!(
            one_by_one + summarised,
            33,
            "{label} round {round}: {one_by_one} audited, {summarised} summarised"
        );
        clock.advance(86_400);
    }
}

on_both!(
    refusals_summed,
    postgres_thirty_two_refusals_at_once_are_thirty_two_in_the_trail,
    sqlite_thirty_two_refusals_at_once_are_thirty_two_in_the_trail
);
