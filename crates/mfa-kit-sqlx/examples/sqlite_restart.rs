//! mfa-kit on SQLite from a file: run it twice and see the record survive the restart.
//!
//! ```sh
//! cargo run -p mfa-kit-sqlx --features sqlite --example sqlite_restart -- /tmp/mfa-demo.db
//! cargo run -p mfa-kit-sqlx --features sqlite --example sqlite_restart -- /tmp/mfa-demo.db
//! ```
//!
//! The first run enrolls alice with two codes from a simulated phone and signs her in;
//! every later run (30 s apart: a code is accepted once) finds her record, signs her in
//! with the next code, and shows the audit trail growing.

use mfa_kit::UserId;
use mfa_kit::clock::SystemClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::otp::{Totp, TotpParams};
use mfa_kit::policy::SignInContext;
use mfa_kit::service::MfaService;
use mfa_kit::store::{AuditQuery, ReadAudit};
use mfa_kit_sqlx::SqliteStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "mfa-demo.db".into());
    let store = SqliteStore::open(&path).await?;
    // A demo only: the plaintext sealer stores the secret unencrypted, which lets this
    // program play the phone on later runs. Use seal::AeadSealer in production.
    let mfa = MfaService::builder("Demo", store.clone(), PlaintextSealer).clock(SystemClock).build();
    let (alice, here) = (UserId::new("alice"), SignInContext::default());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();

    let record = mfa.record(&alice).await?;
    let phone = match record.totp() {
        Some(credential) => {
            println!("{path}: found alice's authenticator, enrolled at {}", credential.created_at());
            Totp::new(&PlaintextSealer.open(&alice, credential.sealed_secret())?, *credential.params())
        }
        None => {
            println!("{path}: no record for alice yet: enrolling");
            let start = mfa.start_enrollment(&alice, "alice@example.com", &here).await??;
            let key = mfa_kit::otp::uri::KeyUri::parse(&start.uri)?;
            let phone = Totp::new(key.secret(), TotpParams::DEFAULT);
            // Two consecutive codes: the current step's and the previous one's.
            let (earlier, current) =
                (phone.generate(now - 30)?.to_string(), phone.generate(now)?.to_string());
            println!("confirm: {:?}", mfa.confirm_enrollment(&alice, &[&earlier, &current], &here).await?);
            phone
        }
    };
    // The next step's code (a step of drift is allowed). Wait 30 s between runs: a
    // code is accepted once.
    let code = phone.generate(now + 30)?.to_string();
    println!("sign in: {:?}", mfa.verify_code(&alice, &code, &here).await?);
    let trail = store.read_audit(&AuditQuery::user(alice.clone(), 0, i64::MAX as u64, 100)).await?;
    println!("alice's audit trail now holds {} events", trail.events.len());
    Ok(())
}
