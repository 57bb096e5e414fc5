//! One app server of the many-servers test (`tests/many_servers.rs`); not for hosts.
//!
//! It builds its own `MfaService` over the shared database and, round after round, waits
//! until every server has reached the round (a file each in a shared directory), then
//! sends the round's codes: the valid authenticator code, two wrong codes, the
//! recovery code, the SMS code, one request to send an SMS code, and the round's signed
//! security-key assertion (the same one from every server). It prints one line per
//! round with what it saw:
//!
//! `round totp_accepted wrong_rejected locked_out recovery_accepted sms_accepted sent
//! rate_limited sender_calls errors key_accepted`
//!
//! Usage: `mfa-kit-sqlx-test-server BACKEND URL RECORDS AUDIT WORKER WORKERS SYNC_DIR
//! PLAN HASH_KEY_HEX` where BACKEND is `postgres` or `sqlite` and PLAN has one line per
//! round: `round totp wrong recovery sms assertion` (tab-separated; the assertion is
//! the browser's JSON for the relying party of [`RP_ID`] and [`ORIGIN`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::flow::destination::CodeMessage;
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::notify::CodeSender;
use mfa_kit::policy::SignInContext;
use mfa_kit::service::{Error, MfaService};
use mfa_kit::store::Store;
use mfa_kit::{Destination, Refusal, Role, UserId};
use mfa_kit_sqlx::{PostgresStore, SqliteStore, TableNames};

/// The moment every round is played at (the test's plan is made for it).
pub const ROUND_TIME: u64 = 1_700_000_000 + 600;
/// The relying party's id the test's keys are registered for.
pub const RP_ID: &str = "localhost";
/// The site's origin the test's keys sign for.
pub const ORIGIN: &str = "http://localhost:3000";

/// Counts the SMS messages this server really hands to the provider.
#[derive(Debug, Default)]
struct CountingSender(AtomicU32);

impl CodeSender for CountingSender {
    type Error = std::convert::Infallible;

    async fn send(&self, _to: &Destination, _message: &CodeMessage) -> Result<(), Self::Error> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

struct Args {
    backend: String,
    url: String,
    tables: TableNames,
    worker: usize,
    workers: usize,
    sync: PathBuf,
    plan: Vec<Vec<String>>,
    key: HashKey,
}

fn args() -> Result<Args, String> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 9 {
        return Err("usage: BACKEND URL RECORDS AUDIT WORKER WORKERS SYNC_DIR PLAN HASH_KEY_HEX".into());
    }
    let number = |s: &str| s.parse::<usize>().map_err(|e| format!("{s}: {e}"));
    let plan = std::fs::read_to_string(&a[7]).map_err(|e| format!("plan {}: {e}", a[7]))?;
    let key_bytes: Vec<u8> = (0..a[8].len() / 2)
        .map(|i| u8::from_str_radix(&a[8][2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("hash key: {e}"))?;
    Ok(Args {
        backend: a[0].clone(),
        url: a[1].clone(),
        tables: TableNames::custom(&a[2], &a[3]).map_err(|e| e.to_string())?,
        worker: number(&a[4])?,
        workers: number(&a[5])?,
        sync: PathBuf::from(&a[6]),
        plan: plan.lines().map(|l| l.split('\t').map(str::to_string).collect()).collect(),
        key: HashKey::from_bytes(&key_bytes).map_err(|e| e.to_string())?,
    })
}

/// Marks this server as arrived at `round` and waits for all the others.
async fn barrier(sync: &Path, round: usize, worker: usize, workers: usize) -> Result<(), String> {
    std::fs::write(sync.join(format!("r{round}-w{worker}")), b"").map_err(|e| e.to_string())?;
    let all: Vec<PathBuf> = (0..workers).map(|w| sync.join(format!("r{round}-w{w}"))).collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !all.iter().all(|p| p.exists()) {
        if std::time::Instant::now() > deadline {
            return Err(format!("round {round}: the other servers did not arrive within 60 s"));
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    Ok(())
}

async fn serve<S: Store>(store: S, args: Args) -> Result<(), String> {
    let party = mfa_kit_webauthn::WebauthnParty::builder(RP_ID, ORIGIN).build().map_err(|e| e.to_string())?;
    let mfa = MfaService::builder("Many Servers", store, PlaintextSealer)
        .clock(ManualClock::new(ROUND_TIME))
        .hash_key(args.key)
        .relying_party(party)
        .build();
    let here = SignInContext::default();
    let sender = CountingSender::default();
    for line in &args.plan {
        let [round, totp, wrong, recovery, sms, assertion] = line.as_slice() else {
            return Err(format!("bad plan line {line:?}"));
        };
        let r: usize = round.parse().map_err(|e| format!("{round}: {e}"))?;
        let user = |name: &str| UserId::new(format!("r{r}/{name}"));
        let mut counts = [0u32; 11];
        let error = |e: Error, counts: &mut [u32; 11]| {
            eprintln!("server {} round {r}: {e}", args.worker);
            counts[9] += 1;
        };
        barrier(&args.sync, r, args.worker, args.workers).await?;
        let calls_before = sender.0.load(Ordering::SeqCst);
        match mfa.verify_code(&user("totp"), totp, &here).await {
            Ok(o) if o.is_ok() => counts[0] += 1,
            Ok(_) => {}
            Err(e) => error(e, &mut counts),
        }
        for _ in 0..2 {
            match mfa.verify_code(&user("wrong"), wrong, &here).await {
                Ok(Err(Refusal::WrongCode { .. })) => counts[1] += 1,
                Ok(Err(Refusal::LockedOut { .. })) => counts[2] += 1,
                Ok(other) => return Err(format!("round {r}: a wrong code gave {other:?}")),
                Err(e) => error(e, &mut counts),
            }
        }
        match mfa.redeem_recovery_code(&user("recovery"), recovery, &here).await {
            Ok(o) if o.is_ok() => counts[3] += 1,
            Ok(_) => {}
            Err(e) => error(e, &mut counts),
        }
        match mfa.verify_sign_in_code(&user("sms"), sms, &here).await {
            Ok(o) if o.is_ok() => counts[4] += 1,
            Ok(_) => {}
            Err(e) => error(e, &mut counts),
        }
        match mfa.send_sign_in_code(&user("send"), Role::Primary, &sender, &here).await {
            Ok(Ok(_sent)) => counts[5] += 1,
            Ok(Err(Refusal::RateLimited { .. })) => counts[6] += 1,
            Ok(other) => return Err(format!("round {r}: a send gave {other:?}")),
            Err(e) => error(e, &mut counts),
        }
        match mfa.verify_security_key(&user("key"), assertion, &here).await {
            Ok(Ok(proven)) if proven.phishing_resistant => counts[10] += 1,
            Ok(Ok(other)) => return Err(format!("round {r}: a key's proof gave {other:?}")),
            Ok(Err(Refusal::NoCeremonyPending)) => {}
            Ok(other) => return Err(format!("round {r}: a replayed assertion gave {other:?}")),
            Err(e) => error(e, &mut counts),
        }
        counts[7] = sender.0.load(Ordering::SeqCst) - calls_before;
        let counts: Vec<String> = counts.iter().map(u32::to_string).collect();
        println!("{r} {}", counts.join(" "));
    }
    Ok(())
}

async fn main_result() -> Result<(), String> {
    let args = args()?;
    match args.backend.as_str() {
        "postgres" => {
            let pool =
                sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(&args.url).await.map_err(
                    |e| format!("PostgreSQL at the --url given (not repeated: it may hold a password): {e}"),
                )?;
            serve(PostgresStore::with_tables(pool, args.tables.clone()), args).await
        }
        "sqlite" => {
            let opened = SqliteStore::open(&args.url).await.map_err(|e| e.to_string())?;
            let store = SqliteStore::with_tables(opened.pool().clone(), args.tables.clone());
            serve(store, args).await
        }
        other => Err(format!("unknown backend {other:?}")),
    }
}

fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(main_result()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
