//! One notice relay process of the relay crash test (`tests/relay_crash.rs`); not for
//! hosts.
//!
//! It opens a `PostgresStore` on the given tables (already migrated) and runs a
//! `NoticeRelay` on the system clock until its standard input is closed (then it ends
//! after the batch in hand and exits with success) or it is killed. Its notifier
//! records every delivery outside the relay's store before it returns `Ok`: it waits
//! half of the delivery time (the provider at work), appends the line
//! `event_id attempt\n` to the deliveries file in one write (the file is opened with
//! `O_APPEND`, so processes sharing it do not mix their lines) and syncs it, then waits
//! the other half (the provider's reply on its way) and returns. A kill after the line
//! was written and before the relay's acknowledgement committed makes a repeat, never a
//! loss.
//!
//! Usage: `mfa-kit-sqlx-test-relay URL RECORDS AUDIT RELAY DELIVERIES DELIVERY_MS
//! LEASE_S BATCH`.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mfa_kit::clock::SystemClock;
use mfa_kit::relay::{Notice, NoticeRelay, Notifier, RelayConfig};
use mfa_kit_sqlx::{PostgresStore, TableNames};

/// Set when standard input is closed: the relay stops after the batch in hand.
static STOP: AtomicBool = AtomicBool::new(false);

/// Records each delivery in a file, durably, before it reports it delivered.
#[derive(Debug)]
struct FileNotifier {
    file: Mutex<File>,
    delivery: Duration,
}

impl Notifier for FileNotifier {
    type Error = std::io::Error;

    async fn notify(&self, notice: &Notice) -> Result<(), std::io::Error> {
        tokio::time::sleep(self.delivery / 2).await;
        {
            let mut file = self.file.lock().map_err(|_| std::io::Error::other("poisoned"))?;
            file.write_all(format!("{} {}\n", notice.id, notice.attempt).as_bytes())?;
            file.sync_data()?;
        }
        tokio::time::sleep(self.delivery / 2).await;
        Ok(())
    }
}

struct Args {
    url: String,
    tables: TableNames,
    relay: String,
    deliveries: PathBuf,
    delivery: Duration,
    config: RelayConfig,
}

fn args() -> Result<Args, String> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 8 {
        return Err("usage: URL RECORDS AUDIT RELAY DELIVERIES DELIVERY_MS LEASE_S BATCH".into());
    }
    let number = |s: &str| s.parse::<u64>().map_err(|e| format!("{s}: {e}"));
    let batch = u32::try_from(number(&a[7])?).map_err(|e| e.to_string())?;
    Ok(Args {
        url: a[0].clone(),
        tables: TableNames::custom(&a[1], &a[2]).map_err(|e| e.to_string())?,
        relay: a[3].clone(),
        deliveries: PathBuf::from(&a[4]),
        delivery: Duration::from_millis(number(&a[5])?),
        config: RelayConfig {
            batch,
            lease: number(&a[6])?,
            idle: Duration::from_millis(20),
            ..RelayConfig::default()
        },
    })
}

async fn main_result() -> Result<(), String> {
    let args = args()?;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&args.deliveries)
        .map_err(|e| format!("{}: {e}", args.deliveries.display()))?;
    let pool =
        sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(&args.url).await.map_err(|e| {
            format!("PostgreSQL at the --url given (not repeated: it may hold a password): {e}")
        })?;
    let store = PostgresStore::with_tables(pool, args.tables);
    let notifier = FileNotifier { file: Mutex::new(file), delivery: args.delivery };
    let relay = NoticeRelay::new(args.relay, store, notifier, SystemClock).with_config(args.config);
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        STOP.store(true, Ordering::Release);
    });
    relay
        .run(&STOP, tokio::time::sleep, |e| eprintln!("relay: {e}: {:?}", std::error::Error::source(e)))
        .await;
    Ok(())
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
