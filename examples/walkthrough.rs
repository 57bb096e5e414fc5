//! A walk through mfa-kit at a small accounting firm, on the in-memory store.
//!
//! Run: `cargo run --example walkthrough`
//!
//! Sarah, a bookkeeper at Smith & Co, sets up her authenticator app, signs in, has a
//! replayed code refused, gets locked out by someone guessing codes, is reset by a
//! partner (who confirms it is them with a code first), and enrolls again. She saves
//! recovery codes, loses her phone, signs in with one, sets up a new phone and a second
//! authenticator kept in the office safe; Ann, the payroll officer, signs in with a code
//! sent by e-mail and must prove a second factor again before changing the firm's bank
//! details; Sarah's laptop is remembered for 30 days. The partner makes MFA mandatory
//! for practitioners and lowers it again; an Australian firm linked to Xero runs under
//! the ATO preset; and the partner looks at the firm's MFA status list and audit log.
//! Users are told at once, by e-mail, of what concerns their account's security (a
//! factor added or removed, a lockout, a reset, a recovery code used): the audit sink
//! prints those e-mails, as the SMS and e-mail sender prints its codes. The phones are
//! simulated: they compute the codes an authenticator app would.

use std::sync::Arc;

use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::{AuditSink, MemoryAuditLog, SecurityNotice};
use mfa_kit::flow::destination::CodeMessage;
use mfa_kit::flow::oversight::{ResetRequest, SettingsChange};
use mfa_kit::policy::{Jurisdiction, Level, Policy};
use mfa_kit::prelude::*;
use mfa_kit::record::DeviceToken;
use mfa_kit::service::permissions;

type Demo = Result<(), Box<dyn std::error::Error>>;

fn main() -> Demo {
    pollster::block_on(walkthrough())
}

async fn walkthrough() -> Demo {
    // 1 July 2025, 09:00:00 UTC.
    let clock = ManualClock::new(1_751_360_400);
    let audit = Arc::new(MemoryAuditLog::new());
    // In production the hash key comes from your secret manager, shared by all servers.
    let mfa = MfaService::builder("Smith & Co", MemoryStore::new(), PlaintextSealer)
        .clock(clock.clone())
        .audit(NotifyingLog(audit.clone()))
        .hash_key(HashKey::generate()?)
        .build();
    let (sarah, partner) = (UserId::new("sarah"), UserId::new("partner"));
    let office = SignInContext::new(
        RequestContext::from_address("203.0.113.7".parse()?).with_device("Firefox on Windows"),
    );
    let elsewhere = SignInContext::new(RequestContext::from_address("198.51.100.23".parse()?));

    heading("The partner sets up MFA first");
    let partner_phone = enroll(&mfa, &clock, &partner, &office, false).await?;

    heading("Sarah sets up her authenticator app");
    let phone = enroll(&mfa, &clock, &sarah, &office, true).await?;

    heading("Sarah signs in the next morning");
    clock.advance(24 * 3600);
    say(&clock, "Sarah's password is correct.");
    let decision = mfa.sign_in_decision(&sarah, &office).await?;
    say(&clock, &format!("mfa-kit decides: {}", describe(&decision)));
    let code = phone.code(&clock)?;
    say(&clock, &format!("Sarah types {code} from her app."));
    let outcome = mfa.verify_code(&sarah, &code, &office).await?;
    say(&clock, &format!("Result: {}", describe_code(&outcome)));

    heading("Someone who saw that code tries it again");
    let outcome = mfa.verify_code(&sarah, &code, &elsewhere).await?;
    say(&clock, &format!("Replaying {code} from another address: {}", describe_code(&outcome)));

    heading("Someone who knows Sarah's password guesses codes");
    clock.advance(120);
    for guess in ["000000", "123456", "111111", "654321", "999999"] {
        let outcome = mfa.verify_code(&sarah, guess, &elsewhere).await?;
        say(&clock, &format!("Guess {guess}: {}", describe_code(&outcome)));
    }
    let code = phone.code(&clock)?;
    let outcome = mfa.verify_code(&sarah, &code, &office).await?;
    say(&clock, &format!("Sarah, with the right code {code}: {}", describe_code(&outcome)));

    heading("Sarah calls the partner, who resets her MFA");
    let outcome = mfa.verify_code(&partner, &partner_phone.code(&clock)?, &office).await?;
    say(&clock, &format!("The partner confirms it is them with a code first: {}", describe_code(&outcome)));
    // The firm's roles, as its own database would answer them: the partner administers
    // smith-co; nobody else may reset or change settings.
    let only_partner =
        permissions::from_sync_fn(|request| request.actor.as_str() == "partner" && request.org == "smith-co");
    let reason = "locked out by password guessing; verified by phone call";
    let by_partner =
        ResetRequest::new("smith-co", &partner, &sarah, reason).with_mode(ResetMode::RequireEnrollment);
    let cleared = mfa.reset(by_partner, &only_partner, &office).await??;
    say(&clock, &format!("The partner's reset cleared: {cleared:?}"));
    let decision = mfa.sign_in_decision(&sarah, &office).await?;
    say(&clock, &format!("Sarah's next sign-in: {}", describe(&decision)));
    say(&clock, "Sarah changes her password and enrolls again.");
    let phone = enroll(&mfa, &clock, &sarah, &office, false).await?;
    clock.advance(30);
    let outcome = mfa.verify_code(&sarah, &phone.code(&clock)?, &office).await?;
    say(&clock, &format!("Sarah signs in with the new entry: {}", describe_code(&outcome)));

    heading("Sarah saves recovery codes, then loses her phone");
    let codes = mfa.generate_recovery_codes(&sarah, &office).await??;
    let shown: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    say(&clock, &format!("Shown once: {}", shown.join("  ")));
    clock.advance(3 * 3600);
    say(&clock, "Sarah's phone is left on the train.");
    let decision = mfa.sign_in_decision(&sarah, &office).await?;
    say(&clock, &format!("She signs in on her laptop: {}", describe(&decision)));
    let typed = codes.first().ok_or("a code")?.as_str().to_lowercase().replace('-', " ");
    let outcome = mfa.redeem_recovery_code(&sarah, &typed, &office).await?;
    say(&clock, &format!("She types the first recovery code as \"{typed}\": {}", describe_code(&outcome)));
    let outcome = mfa.redeem_recovery_code(&sarah, &typed, &elsewhere).await?;
    say(&clock, &format!("The same code again: {}", describe_code(&outcome)));
    say(
        &clock,
        &format!(
            "Recovery codes left: {:?}",
            mfa.status(&sarah, &SignInContext::default()).await?.recovery_codes_left
        ),
    );

    heading("Sarah sets up a new phone, and a second authenticator kept in the office safe");
    say(&clock, "The recovery code was a fresh proof, so she may replace her authenticator now.");
    let phone = enroll(&mfa, &clock, &sarah, &office, false).await?;
    let start =
        mfa.add_authenticator(&sarah, "Backup phone in the safe", "sarah@smith.example", &office).await??;
    let key = KeyUri::parse(&start.uri)?;
    let safe_phone = Phone(Totp::new(key.secret(), key.totp_params().ok_or("a TOTP URI")?));
    let first = safe_phone.code(&clock)?;
    clock.advance(30);
    let confirmed = mfa.confirm_enrollment(&sarah, &[&first, &safe_phone.code(&clock)?], &office).await?;
    let verdict = if confirmed.is_ok() { "added beside her phone." } else { "not added." };
    say(&clock, &format!("She scans a second QR code with the backup phone and types two codes: {verdict}"));
    let names: Vec<String> = mfa.authenticators(&sarah).await?.into_iter().map(|a| a.name).collect();
    say(&clock, &format!("Her authenticators: {}", names.join(", ")));
    clock.advance(30);
    let outcome = mfa.verify_code(&sarah, &safe_phone.code(&clock)?, &elsewhere).await?;
    say(&clock, &format!("A code from the backup phone signs her in too: {}", describe_code(&outcome)));

    heading("Ann, the payroll officer, signs in with a code sent by e-mail");
    let ann = UserId::new("ann");
    let printer = PrintingSender;
    let ann_phone = enroll(&mfa, &clock, &ann, &office, false).await?;
    let email = Destination::email("Ann@Smith.example")?;
    mfa.add_destination(&ann, email, Role::Backup, &printer, &office).await??;
    let outcome = mfa.confirm_destination(&ann, &printer.last()?, &office).await?;
    let verdict = if outcome.is_ok() { "confirmed.".to_string() } else { describe_code(&outcome) };
    say(&clock, &format!("Ann confirms her backup e-mail address with the code: {verdict}"));
    clock.advance(86_400);
    let sent = mfa.send_sign_in_code(&ann, Role::Backup, &printer, &office).await??;
    say(&clock, &format!("Ann forgot her phone at home and asks for a code by e-mail: sent to {}", sent.to));
    let outcome = mfa.verify_sign_in_code(&ann, &printer.last()?, &office).await?;
    say(&clock, &format!("She types it: {}", describe_code(&outcome)));

    heading("Ann changes the firm's bank details: a fresh proof first");
    clock.advance(2 * 3600);
    say(&clock, "Two hours later, still signed in, Ann opens the bank details page.");
    let answer = mfa.step_up(&ann, SensitiveAction::Host, &office).await?;
    say(&clock, &format!("mfa-kit: {}", describe_step_up(&answer)));
    let outcome = mfa.verify_code(&ann, &ann_phone.code(&clock)?, &office).await?;
    say(&clock, &format!("Back at her desk, she types a code from her phone: {}", describe_code(&outcome)));
    let answer = mfa.step_up(&ann, SensitiveAction::Host, &office).await?;
    say(&clock, &format!("mfa-kit: {}", describe_step_up(&answer)));
    if answer.may_proceed() {
        say(&clock, "The host saves the new bank details.");
    }

    heading("Sarah ticks \"don't ask again on this device for 30 days\"");
    let outcome = mfa.verify_code(&sarah, &phone.code(&clock)?, &office).await?;
    say(&clock, &format!("Sarah signs in with a code from her new phone: {}", describe_code(&outcome)));
    let remembered = mfa.remember_device(&sarah, "Sarah's laptop", 30 * 86_400, &office).await??;
    let (token, device) = (remembered.token, remembered.info);
    say(
        &clock,
        &format!(
            "Remembered \"{}\" until {}; the browser keeps the token in a cookie.",
            device.label,
            date(device.expires_at)
        ),
    );
    clock.advance(86_400);
    let with_cookie = office.clone().with_device_token(DeviceToken::from_cookie(token.as_str()));
    let decision = mfa.sign_in_decision(&sarah, &with_cookie).await?;
    say(&clock, &format!("Next day on the laptop: {}", describe(&decision)));
    let revoked = mfa.password_changed(&sarah, &office.request).await?;
    say(&clock, &format!("Sarah changes her password: {revoked} remembered device(s) revoked."));
    let decision = mfa.sign_in_decision(&sarah, &with_cookie).await?;
    say(&clock, &format!("On the laptop again: {}", describe(&decision)));

    heading("The partner makes MFA mandatory for practitioners, then lowers it again");
    let tom = UserId::new("tom");
    let as_practitioner = |settings: &OrgSettings| {
        office.clone().with_user_type("practitioner").with_org(Arc::new(settings.clone()))
    };
    let current = OrgSettings::default();
    let wanted = current.clone().with_level("practitioner", Level::Mandatory);
    // The firm's settings table (the host's); each change is saved there, then audited.
    let settings_table = std::sync::Mutex::new(Vec::new());
    let save = |settings: OrgSettings| {
        settings_table.lock().map(|mut table| table.push(settings)).ok();
        std::future::ready(Ok::<(), std::convert::Infallible>(()))
    };
    let by_tom = SettingsChange::new("smith-co", &tom, &current, wanted.clone());
    match mfa.change_org_settings(by_tom, &only_partner, &office, save).await? {
        Err(refusal) => say(&clock, &format!("Tom tries to change the levels himself: {refusal}")),
        Ok(_) => say(&clock, "Tom changed the levels (this should not happen)."),
    }
    clock.advance(30);
    let outcome = mfa.verify_code(&partner, &partner_phone.code(&clock)?, &office).await?;
    say(&clock, &format!("The partner confirms it is them with a code: {}", describe_code(&outcome)));
    let by_partner = SettingsChange::new("smith-co", &partner, &current, wanted);
    let mandatory = mfa.change_org_settings(by_partner, &only_partner, &office, save).await??;
    say(&clock, "The partner sets practitioners to \"mandatory\".");
    let decision = mfa.sign_in_decision(&tom, &as_practitioner(&mandatory)).await?;
    say(&clock, &format!("Tom, a practitioner without MFA, signs in: {}", describe(&decision)));
    let lower = mandatory.clone().with_level("practitioner", Level::UponRequest);
    let by_partner = SettingsChange::new("smith-co", &partner, &mandatory, lower);
    let lowered = mfa.change_org_settings(by_partner, &only_partner, &office, save).await??;
    say(&clock, "The partner lowers practitioners to \"upon request\".");
    let decision = mfa.sign_in_decision(&tom, &as_practitioner(&lowered)).await?;
    say(&clock, &format!("Tom signs in: {}", describe(&decision)));
    let decision = mfa.sign_in_decision(&sarah, &as_practitioner(&lowered)).await?;
    say(
        &clock,
        &format!(
            "Sarah, who set MFA up, signs in: {} (lowering a level never removes MFA)",
            describe(&decision)
        ),
    );

    heading("An Australian firm linked to Xero, under the ATO preset");
    let ato_policy = StandardPolicy::ato_tax_data();
    let harbour = MfaService::builder("Harbour Tax", MemoryStore::new(), PlaintextSealer)
        .clock(clock.clone())
        .audit(audit.clone())
        .policy(ato_policy.clone())
        .build();
    let lax = OrgSettings::builder().allow_self_deactivation(true).build()?;
    let sydney = SignInContext::new(RequestContext::from_address("192.0.2.44".parse()?))
        .with_org(Arc::new(lax))
        .with_jurisdiction(Jurisdiction::country("AU").with_xero());
    let mia = UserId::new("mia");
    let decision = harbour.sign_in_decision(&mia, &sydney).await?;
    say(&clock, &format!("Mia, without MFA, signs in: {}", describe(&decision)));
    say(
        &clock,
        &format!(
            "The firm asked for 30-day remembered devices and self-deactivation; in force: {} hours, lockout after {} wrong codes.",
            ato_policy.remember_device_max(&sydney) / 3600,
            ato_policy.lockout(&sydney).max_failures
        ),
    );
    let mia_phone = enroll(&harbour, &clock, &mia, &sydney, false).await?;
    clock.advance(30);
    let outcome = harbour.deactivate(&mia, &mia_phone.code(&clock)?, true, &sydney).await?;
    let verdict = match outcome {
        Err(Refusal::Forbidden(reason)) => format!("refused ({reason:?}): {}", Refusal::Forbidden(reason)),
        other => format!("{other:?}"),
    };
    say(&clock, &format!("Mia tries to turn MFA off with a valid code: {verdict}"));

    heading("The partner looks at the firm's MFA status list");
    println!("  {:<8} {:<4} {:<22} {:<22} locked", "user", "mfa", "since", "last used");
    for (_, row) in mfa.status_list([&partner, &sarah, &tom], &SignInContext::default()).await {
        let row = row?;
        println!(
            "  {:<8} {:<4} {:<22} {:<22} {}",
            row.user.as_str(),
            if row.has_mfa() { "yes" } else { "NO" },
            row.enrolled_since.map(date).unwrap_or_else(|| "-".into()),
            row.last_used.map(date).unwrap_or_else(|| "-".into()),
            row.locked_until.map(date).unwrap_or_else(|| "no".into()),
        );
    }

    heading("The audit log (what the host keeps for 12 months)");
    // The store wrote each event with the change it describes; the sink got a copy.
    assert_eq!(mfa.store().events().len() + harbour.store().events().len(), audit.events().len());
    for event in audit.events() {
        println!("  {}", audit_line(&event));
    }
    Ok(())
}

/// The host's audit sink: keeps every event (here in memory) and e-mails the user at
/// once about those that concern their account's security (here it prints the e-mail).
struct NotifyingLog(Arc<MemoryAuditLog>);

impl AuditSink for NotifyingLog {
    fn record(&self, event: AuditEvent) {
        if let Some(notice) = event.kind.security_notice() {
            let what = match notice {
                SecurityNotice::FactorAdded => "a way to sign in was added to your account",
                SecurityNotice::FactorRemoved => "a way to sign in was removed from your account",
                SecurityNotice::RecoveryCodesRegenerated => "new recovery codes replaced your old ones",
                SecurityNotice::RecoveryCodesRunningLow => "you have few recovery codes left",
                SecurityNotice::ResetByAdmin => "an administrator reset your two-step verification",
                SecurityNotice::LockedOut => "too many wrong codes locked your account",
                SecurityNotice::DeviceRemembered => "a device will no longer be asked for a code",
                SecurityNotice::SignedInWithRecoveryCode => {
                    "someone signed in with one of your recovery codes"
                }
                _ => "something changed in your account's security",
            };
            println!(
                "      (security e-mail to {}: \"{what}. Not you? Call your administrator.\")",
                event.user
            );
        }
        self.0.record(event);
    }
}

/// An e-mail "provider" that prints the message instead of sending it, and remembers
/// the last code so the story can type it.
#[derive(Default)]
struct PrintingSender;

thread_local! {
    static LAST_CODE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

impl PrintingSender {
    fn last(&self) -> Result<String, Box<dyn std::error::Error>> {
        Ok(LAST_CODE.with(|last| last.borrow().clone()).ok_or("no code was sent")?)
    }
}

impl CodeSender for PrintingSender {
    type Error = std::convert::Infallible;

    async fn send(&self, to: &Destination, message: &CodeMessage) -> Result<(), Self::Error> {
        println!(
            "      (e-mail to {}: \"Your Smith & Co code is {}. It expires at {}.\")",
            to.address(),
            message.code(),
            date(message.expires_at())
        );
        LAST_CODE.with(|last| *last.borrow_mut() = Some(message.code().to_string()));
        Ok(())
    }
}

/// The authenticator app on a phone: it scanned the QR code.
struct Phone(Totp);

impl Phone {
    fn code(&self, clock: &ManualClock) -> Result<String, Box<dyn std::error::Error>> {
        Ok(self.0.generate(clock.now()?)?.to_string())
    }
}

async fn enroll(
    mfa: &MfaService<MemoryStore, PlaintextSealer>,
    clock: &ManualClock,
    user: &UserId,
    context: &SignInContext,
    show: bool,
) -> Result<Phone, Box<dyn std::error::Error>> {
    let start = mfa.start_enrollment(user, &format!("{user}@smith.example"), context).await??;
    if show {
        say(clock, "The screen shows a QR code of this URI:");
        println!("      {}", start.uri.as_str());
        say(clock, &format!("and, for typing by hand, the key {}", start.secret_grouped.as_str()));
    }
    let key = KeyUri::parse(&start.uri)?;
    let phone = Phone(Totp::new(key.secret(), key.totp_params().ok_or("a TOTP URI")?));
    let first = phone.code(clock)?;
    clock.advance(30);
    let second = phone.code(clock)?;
    let outcome = mfa.confirm_enrollment(user, &[&first, &second], context).await?;
    let verdict = match outcome {
        Ok(confirmed) if !confirmed.replaced => "MFA is on.".to_string(),
        Ok(_) => "MFA is on; the old app entry no longer works.".into(),
        Err(refusal) => format!("not confirmed: {refusal}"),
    };
    say(clock, &format!("{user} types two consecutive codes, {first} and {second}: {verdict}"));
    Ok(phone)
}

fn describe_step_up(answer: &StepUp) -> String {
    match answer {
        StepUp::Proceed { proof: Some(proof) } => {
            format!("go ahead: a second factor ({:?}) was proved at {}", proof.method, date(proof.at))
        }
        StepUp::Prove { methods, window } => {
            format!("ask for a second factor first ({methods:?}), valid for {} minutes", window / 60)
        }
        StepUp::EnrollFirst => "set up a second factor first".into(),
        other => format!("{other:?}"),
    }
}

fn describe(decision: &Outcome<Decision>) -> String {
    match decision {
        Ok(Decision::Allow { reason }) => format!("let in ({reason:?})"),
        Ok(Decision::Challenge { methods, reason, needs_backup, .. }) => {
            let backup = if *needs_backup { ", then ask them to set up a backup method" } else { "" };
            format!("ask for a code, methods {methods:?} ({reason:?}){backup}")
        }
        Ok(Decision::SuggestEnrollment { reason, .. }) => format!("suggest setting up MFA ({reason:?})"),
        Ok(Decision::RequireEnrollment { reason }) => format!("require setting up MFA ({reason:?})"),
        Ok(other) => format!("{other:?}"),
        Err(Refusal::LockedOut { until }) => {
            format!("refuse until {}: {}", date(*until), Refusal::LockedOut { until: *until })
        }
        Err(refusal) => format!("refuse: {refusal}"),
    }
}

/// What the sign-in screen says: the refusals' own sentences, shown as they are.
fn describe_code(outcome: &Outcome<Proven>) -> String {
    match outcome {
        Ok(Proven { method: Method::Totp, drift, .. }) => {
            format!("accepted (clock drift {} steps): signed in.", drift.unwrap_or(0))
        }
        Ok(Proven { method, .. }) => format!("accepted ({method:?}): signed in."),
        Err(Refusal::LockedOut { until }) => {
            format!(
                "refused, locked out until {}: \"{}\"",
                date(*until),
                Refusal::LockedOut { until: *until }
            )
        }
        Err(refusal) => format!("refused: \"{refusal}\""),
    }
}

fn audit_line(event: &AuditEvent) -> String {
    let address = event.context.address.map(|a| a.to_string()).unwrap_or_else(|| "-".into());
    let actor = if event.actor == event.user { String::new() } else { format!(" by {}", event.actor) };
    // The event's own sentence, as an admin's log shows it.
    format!(
        "{}  {:<8} {:?}  (from {}{})  {}",
        date(event.at),
        event.user.as_str(),
        event.outcome,
        address,
        actor,
        event.kind.sentence()
    )
}

fn heading(text: &str) {
    println!("\n== {text}");
}

fn say(clock: &ManualClock, text: &str) {
    let now = clock.now().map(date).unwrap_or_default();
    println!("  [{now}] {text}");
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC` (the civil-from-days algorithm).
fn date(unix: u64) -> String {
    let (days, seconds) = (unix / 86_400, unix % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}
