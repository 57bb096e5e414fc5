//! Many app servers on one database: 8 OS processes, each with its own `MfaService`
//! over the same PostgreSQL database (and then the same SQLite file in WAL mode), are
//! released together round after round and send the same codes at once.
//!
//! Over 200 rounds, each with fresh users, it checks: the valid authenticator code is
//! accepted exactly once; a storm of 16 wrong codes is counted exactly to the lockout
//! limit (5) and no further; the recovery code and the SMS code are each accepted once;
//! and sends of SMS codes stay within the limits (one a minute): exactly one SMS per
//! round, because the service reserves a send in the record with a conditional save
//! before it calls the sender; and one signed security-key assertion (a real
//! signature from a software authenticator), replayed to all 8 servers at the same
//! moment, is accepted by exactly one: the save that accepts it spends the challenge.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use common::*;
use mfa_kit::RejectionReason;
use mfa_kit::UserId;
use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::EventKind;
use mfa_kit::flow::destination::CodeMessage;
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::notify::CodeSender;
use mfa_kit::otp::Totp;
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::policy::SignInContext;
use mfa_kit::service::MfaService;
use mfa_kit::store::{AuditQuery, ReadAudit, Store};
use mfa_kit::{Destination, Role};
use mfa_kit_sqlx::{PostgresStore, SqliteStore, TableNames};
use webauthn_authenticator_rs::prelude::WebauthnAuthenticator;

const SERVERS: usize = 8;
const ROUNDS: usize = 200;
const START: u64 = 1_700_000_000;
/// The moment the servers play every round at (`ROUND_TIME` of the server binary).
const ROUND_TIME: u64 = START + 600;
/// The relying party the servers use (`RP_ID` and `ORIGIN` of the server binary).
const RP_ID: &str = "localhost";
const ORIGIN: &str = "http://localhost:3000";

/// The two tests take turns: 16 processes at once would only measure the scheduler.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Keeps the last code sent to each address.
#[derive(Default)]
struct Outbox(Mutex<HashMap<String, String>>);

impl CodeSender for Outbox {
    type Error = std::convert::Infallible;

    async fn send(&self, to: &Destination, message: &CodeMessage) -> Result<(), Self::Error> {
        self.0.lock().unwrap().insert(to.address().to_string(), message.code().to_string());
        Ok(())
    }
}

impl Outbox {
    fn code(&self, to: &Destination) -> String {
        self.0.lock().unwrap()[to.address()].clone()
    }
}

fn user(round: usize, name: &str) -> UserId {
    UserId::new(format!("r{round}/{name}"))
}

fn phone(round: usize, name: &str) -> Destination {
    let n = ["recovery", "sms", "send"].iter().position(|n| *n == name).unwrap();
    Destination::sms(&format!("+614{:02}{:06}", n, round)).unwrap()
}

/// The service of the parent process (the servers build the same one).
type Service<S> = MfaService<S, PlaintextSealer>;

/// Runs `step` for every round, 16 at a time.
async fn each_round<S, F, Fut, T>(mfa: &Arc<Service<S>>, step: F) -> Vec<T>
where
    S: Store + 'static,
    F: Fn(Arc<Service<S>>, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut out = Vec::new();
    for chunk in (0..ROUNDS).collect::<Vec<_>>().chunks(16) {
        let handles: Vec<_> = chunk.iter().map(|&r| tokio::spawn(step(mfa.clone(), r))).collect();
        for handle in handles {
            out.push(handle.await.expect("setup task"));
        }
    }
    out
}

/// Sets up every round's users and returns the plan the servers play.
async fn prepare<S: Store + 'static>(mfa: &Arc<Service<S>>, clock: &ManualClock) -> (String, Vec<usize>) {
    let outbox = Arc::new(Outbox::default());
    clock.set(START);
    let uris = each_round(mfa, |mfa, r| {
        let outbox = outbox.clone();
        async move {
            let here = SignInContext::default();
            let mut uris = Vec::new();
            for name in ["totp", "wrong"] {
                let start = mfa.start_enrollment(&user(r, name), "staff", &here).await.unwrap().unwrap();
                uris.push(start.uri.to_string());
            }
            for name in ["recovery", "sms", "send"] {
                mfa.add_destination(&user(r, name), phone(r, name), Role::Primary, &*outbox, &here)
                    .await
                    .unwrap()
                    .unwrap();
            }
            uris
        }
    })
    .await;
    let phones: Vec<Vec<Totp>> = uris
        .iter()
        .map(|u| {
            u.iter()
                .map(|uri| {
                    let key = KeyUri::parse(uri).unwrap();
                    Totp::new(key.secret(), key.totp_params().unwrap())
                })
                .collect()
        })
        .collect();
    clock.set(START + 30);
    let phones = Arc::new(phones);
    each_round(mfa, |mfa, r| {
        let (outbox, phones) = (outbox.clone(), phones.clone());
        async move {
            let here = SignInContext::default();
            for (i, name) in ["totp", "wrong"].iter().enumerate() {
                let first = phones[r][i].generate(START).unwrap().to_string();
                let second = phones[r][i].generate(START + 30).unwrap().to_string();
                mfa.confirm_enrollment(&user(r, name), &[&first, &second], &here).await.unwrap().unwrap();
            }
            for name in ["recovery", "sms", "send"] {
                let code = outbox.code(&phone(r, name));
                assert!(mfa.confirm_destination(&user(r, name), &code, &here).await.unwrap().is_ok());
            }
        }
    })
    .await;
    clock.set(START + 300);
    let recovery = each_round(mfa, |mfa, r| {
        let outbox = outbox.clone();
        async move {
            let here = SignInContext::default();
            let codes = mfa.generate_recovery_codes(&user(r, "recovery"), &here).await.unwrap().unwrap();
            mfa.send_sign_in_code(&user(r, "sms"), Role::Primary, &*outbox, &here).await.unwrap().unwrap();
            (codes[r % codes.len()].as_str().to_string(), codes.len())
        }
    })
    .await;
    // Each round's user registers a security key (a software authenticator making a
    // real key pair) and asks to sign in with it; the signed answer is the plan's.
    clock.set(START + 400);
    let assertions = each_round(mfa, |mfa, r| async move {
        let here = SignInContext::default();
        let who = user(r, "key");
        let origin = webauthn_authenticator_rs::prelude::Url::parse(ORIGIN).unwrap();
        let mut key = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true);
        let options =
            mfa.start_security_key_registration(&who, "Key", "staff", "Staff", &here).await.unwrap().unwrap();
        let options: webauthn_rs_core::proto::CreationChallengeResponse =
            serde_json::from_str(&options.options).unwrap();
        let created = key.do_registration(origin.clone(), options).unwrap();
        let created = serde_json::to_string(&created).unwrap();
        mfa.finish_security_key_registration(&who, &created, &here).await.unwrap().unwrap();
        let options = mfa.start_security_key(&who, &here).await.unwrap().unwrap();
        let options: webauthn_rs_core::proto::RequestChallengeResponse =
            serde_json::from_str(&options.options).unwrap();
        let signed = key.do_authentication(origin, options).unwrap();
        serde_json::to_string(&signed).unwrap()
    })
    .await;
    let mut plan = String::new();
    for r in 0..ROUNDS {
        let totp = &phones[r][0];
        let valid = totp.generate(ROUND_TIME).unwrap().to_string();
        let near: Vec<String> = (-20i64..=20)
            .map(|k| phones[r][1].generate(ROUND_TIME.saturating_add_signed(k * 30)).unwrap().to_string())
            .collect();
        let wrong = (0..1_000_000u32).map(|n| format!("{n:06}")).find(|c| !near.contains(c)).unwrap();
        let sms = outbox.code(&phone(r, "sms"));
        assert!(!assertions[r].contains(['\t', '\n']), "an assertion fits on one plan line");
        plan.push_str(&format!("{r}\t{valid}\t{wrong}\t{}\t{sms}\t{}\n", recovery[r].0, assertions[r]));
    }
    (plan, recovery.iter().map(|(_, n)| *n).collect())
}

/// One store of the backend, as the parent and the servers open it.
trait Backend: Store + ReadAudit + Clone + 'static {
    fn name() -> &'static str;
}

impl Backend for PostgresStore {
    fn name() -> &'static str {
        "postgres"
    }
}

impl Backend for SqliteStore {
    fn name() -> &'static str {
        "sqlite"
    }
}

async fn kinds<S: ReadAudit>(store: &S, user: &UserId) -> Vec<EventKind> {
    kinds_at(store, user, None).await
}

/// The kinds of the user's events, only those at `at` if given.
async fn kinds_at<S: ReadAudit>(store: &S, user: &UserId, at: Option<u64>) -> Vec<EventKind> {
    let page = store.read_audit(&AuditQuery::user(user.clone(), 0, i64::MAX as u64, 1000)).await.unwrap();
    page.events.into_iter().filter(|e| at.is_none_or(|at| e.event.at == at)).map(|e| e.event.kind).collect()
}

async fn many_servers<S: Backend>(store: S, url: &str, tables: &TableNames) {
    let key_bytes: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
    let clock = ManualClock::new(START);
    let party = mfa_kit_webauthn::WebauthnParty::builder(RP_ID, ORIGIN).build().unwrap();
    let mfa = Arc::new(
        MfaService::builder("Many Servers", store.clone(), PlaintextSealer)
            .clock(clock.clone())
            .hash_key(HashKey::from_bytes(&key_bytes).unwrap())
            .relying_party(party)
            .build(),
    );
    let began = Instant::now();
    let (plan, recovery_counts) = prepare(&mfa, &clock).await;
    let prepared = began.elapsed();
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.tsv");
    std::fs::File::create(&plan_path).unwrap().write_all(plan.as_bytes()).unwrap();
    let sync = dir.path().join("sync");
    std::fs::create_dir(&sync).unwrap();
    let key_hex: String = key_bytes.iter().map(|b| format!("{b:02x}")).collect();

    let raced = Instant::now();
    let servers: Vec<_> = (0..SERVERS)
        .map(|w| {
            std::process::Command::new(env!("CARGO_BIN_EXE_mfa-kit-sqlx-test-server"))
                .args([S::name(), url, tables.records(), tables.audit()])
                .args([w.to_string(), SERVERS.to_string()])
                .arg(&sync)
                .arg(&plan_path)
                .arg(&key_hex)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start a server process")
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        servers.into_iter().map(|s| s.wait_with_output().expect("server output")).collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let raced = raced.elapsed();

    // rounds[r][column] summed over the servers.
    let mut rounds = vec![[0u32; 11]; ROUNDS];
    for (w, output) in outputs.iter().enumerate() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success() && stderr.is_empty(), "server {w} failed: {stderr}");
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let numbers: Vec<u32> = line.split(' ').map(|n| n.parse().unwrap()).collect();
            for (sum, n) in rounds[numbers[0] as usize].iter_mut().zip(&numbers[1..]) {
                *sum += n;
            }
        }
    }
    let mut sends = 0;
    let keys: u32 = rounds.iter().map(|round| round[10]).sum();
    // Rounds where more than one SMS went out at one moment: (round, sender calls,
    // sends recorded in the audit trail, sends recorded in the record at that moment).
    let mut over_limit: Vec<(usize, u32, usize, usize)> = Vec::new();
    for (r, [totp, wrong, locked, recovery, sms, sent, limited, calls, errors, _, key]) in
        rounds.iter().enumerate()
    {
        let at = format!("{} round {r}", S::name());
        assert_eq!(*errors, 0, "{at}: infrastructure errors");
        assert_eq!(*totp, 1, "{at}: the valid code was accepted {totp} times");
        assert_eq!(wrong + locked, 2 * SERVERS as u32, "{at}: every wrong code got an answer");
        assert_eq!(*recovery, 1, "{at}: the recovery code was accepted {recovery} times");
        assert_eq!(*sms, 1, "{at}: the SMS code was accepted {sms} times");
        assert_eq!(*key, 1, "{at}: the replayed security-key assertion was accepted {key} times");
        let key_proofs = kinds(&store, &user(r, "key"))
            .await
            .iter()
            .filter(|k| matches!(k, EventKind::CodeAccepted { method: mfa_kit::Method::SecurityKey, .. }))
            .count();
        assert_eq!(key_proofs, 1, "{at}: security-key proofs in the trail");
        assert_eq!(sent + limited, SERVERS as u32, "{at}: every send got an answer");
        assert!(*sent >= 1, "{at}: no server could send an SMS");
        assert_eq!(calls, sent, "{at}: every SMS handed to the provider is reported as sent");
        let audited = kinds_at(&store, &user(r, "send"), Some(ROUND_TIME))
            .await
            .iter()
            .filter(|k| matches!(k, EventKind::BackupCodeSent { .. }))
            .count();
        let record = mfa.record(&user(r, "send")).await.unwrap();
        let recorded = record.destination_state().sent_at().iter().filter(|t| **t == ROUND_TIME).count();
        if *calls != 1 || audited != 1 || recorded != 1 {
            over_limit.push((r, *calls, audited, recorded));
        }
        sends += calls;

        let wrong_kinds = kinds(&store, &user(r, "wrong")).await;
        let counted = wrong_kinds
            .iter()
            .filter(|k| matches!(k, EventKind::CodeRejected { reason: RejectionReason::Wrong, .. }))
            .count();
        let lockouts = wrong_kinds.iter().filter(|k| matches!(k, EventKind::LockoutStarted { .. })).count();
        assert_eq!((counted, lockouts), (5, 1), "{at}: wrong codes counted, lockouts started");
        let accepted = kinds(&store, &user(r, "totp")).await;
        assert_eq!(
            accepted.iter().filter(|k| matches!(k, EventKind::CodeAccepted { .. })).count(),
            2 - 1,
            "{at}"
        );
        let record = mfa.record(&user(r, "recovery")).await.unwrap();
        assert_eq!(record.recovery_codes().unwrap().remaining(), recovery_counts[r] - 1, "{at}");
    }
    println!(
        "{}: {SERVERS} processes x {ROUNDS} rounds, {} requests, in {:.1} s (setup {:.1} s); \
         {sends} SMS sent in {ROUNDS} rounds, {} rounds sent more than one at one moment; \
         {keys} of {ROUNDS} security-key assertions accepted, each replayed to {SERVERS} servers at once",
        S::name(),
        ROUNDS * SERVERS * 7,
        raced.as_secs_f64(),
        prepared.as_secs_f64(),
        over_limit.len(),
    );
    // The service reserves a send in the record (a conditional save) before it calls
    // the sender, so of the servers that ask at one moment exactly one sends: the
    // others find the reservation and are rate limited (one send a minute).
    assert!(
        over_limit.is_empty(),
        "{}: rounds without exactly one SMS at one moment (round, sender calls, audited, recorded): \
         {over_limit:?}",
        S::name()
    );
    assert_eq!(sends, ROUNDS as u32, "{}: one SMS per round", S::name());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_servers_on_one_postgres_database() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let tables = unique_tables("many");
    let store = PostgresStore::with_tables(postgres_pool(16).await, tables.clone());
    store.migrate().await.unwrap();
    many_servers(store.clone(), &postgres_url(), &tables).await;
    drop_tables(store.pool(), &tables).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_servers_on_one_sqlite_file_in_wal_mode() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mfa.db");
    let tables = unique_tables("many");
    let opened = SqliteStore::open(&path).await.unwrap();
    let store = SqliteStore::with_tables(opened.pool().clone(), tables.clone());
    store.migrate().await.unwrap();
    many_servers(store, path.to_str().unwrap(), &tables).await;
}
