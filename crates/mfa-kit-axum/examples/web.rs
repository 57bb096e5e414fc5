//! A small web application with two-step verification, on mfa-kit and mfa-kit-axum.
//!
//! Run: `cargo run -p mfa-kit-axum --example web [-- --port N] [--db FILE]` and open
//! the address it prints (it listens on 127.0.0.1 only; port 0 picks a free one). The
//! host's accounts, the organisations' settings, the MFA records, the audit trail and
//! the hash key of recovery codes and remembered devices are all kept in the SQLite
//! file FILE (`mfa_kit_sqlx::SqliteStore` and three small tables of the example's own),
//! so a restart on the same file keeps everyone's sign-in. Without `--db`, a new file in
//! the temporary directory.
//!
//! One service serves two organisations: Harbour Books, a UK firm, and Smith & Co, an
//! Australian one keeping its books here, which `StandardPolicy::with_ato_for_tax_data`
//! puts under the ATO preset (no policy of the example's own). Each account belongs to
//! the organisation chosen at sign-up; the first account of each is its administrator.
//! Every request's context is filed under the user's organisation (`UserOrg::in_org`),
//! so each administrator's status list, dashboard counts and audit trail
//! (`AuditQuery::org`) hold their organisation's users and events only. `MFA_PRESET`
//! chooses the compliance preset on top of every organisation's settings: `nist`
//! (default), `ato` or `none`. The audit log is written in the browser's language
//! (English or French, from `Accept-Language`). `PUBLIC_ORIGIN` is the
//! origin browsers use (default `http://localhost:PORT`, which browsers treat as a
//! secure context, so WebAuthn works there; `http://127.0.0.1:PORT` is accepted too,
//! without security keys); behind an HTTPS proxy, give `https://your.host`, and the
//! cookies become `Secure`. The WebAuthn relying-party id is the origin's host
//! (`localhost` by default).
//!
//! Sign up with a password (the first account is the administrator), set up an
//! authenticator app from the QR code or the grouped key, confirm two codes, keep the
//! recovery codes shown once, and sign in with a code, a recovery code, or a device
//! remembered by "don't ask again on this device". From the account page, add a security
//! key or passkey ("Add a security key"), then use it at sign-in and on the "Confirm
//! it's you" page instead of a code ("Use your security key"); keys are listed with the
//! authenticator apps, and can be renamed and removed. The pages' small script
//! (`examples/security-key.js`, served at `/security-key.js`) passes the server's
//! options to `navigator.credentials` and posts the browser's answer back. The
//! administrator sees who in the organisation has MFA and where each stands against its
//! rules, resets a user, changes the organisation's settings and reads its audit log.
//! Sensitive actions (a reset, a settings change, a new or removed authenticator app,
//! new recovery codes, a password change) first ask for a fresh code on a "Confirm
//! it's you" page (step-up), unless this session entered one within the
//! organisation's window; a remembered device is no such proof, and neither is a code
//! entered in another browser.
//!
//! Sessions follow the account: a reset, a new or removed authenticator, new recovery
//! codes or a password change signs out every other session of the user at its next
//! request (the one that made the change goes on), and so do the policy's lifetime and
//! inactivity limits; the sign-in page then says why. Sessions live in a store that
//! deletes them after an hour without a request, at most two passwords are hashed at
//! once (Argon2 takes 19 MiB each), and pages that show a secret are marked
//! `Cache-Control: no-store`.
//!
//! Security notices: every change a user must hear of (a sign-in method added or
//! removed, new recovery codes, a remembered device, a lockout, an admin's reset) is
//! read from the audit trail by a notice relay (`mfa_kit::relay::NoticeRelay`) running
//! in this process, and rendered with mfa-kit-mail's `render_notice`, as its SMTP
//! notifier would send it. No SMTP server is needed: the messages are kept in memory and
//! shown at `/dev/mailbox?user=NAME`, the demo's stand-in for the user's inbox (linked
//! from the account page), each with its "This wasn't me" link. The link's page
//! (`/wasnt-me`) says what confirming does; its button revokes what the notice was
//! about, signs every session of the account out and freezes its two-step verification
//! until an administrator resets it.
//!
//! Demo shortcuts, not for production: secrets are stored unsealed (`PlaintextSealer`);
//! the hash key lies in the same database as the hashes it protects (keep it in a
//! secret manager instead); sessions are kept in this process's memory (one server);
//! plain HTTP on localhost; the mailbox page shows anyone's notices to anyone, and
//! forgets them at a restart (the relay has delivered them: they are not sent again).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRef, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router, middleware};
use mfa_kit::SessionEnd;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::flow::disown::Disowned;
use mfa_kit::flow::oversight::{ComplianceCounts, ResetRequest, SettingsChange, UserStatus};
use mfa_kit::policy::{Jurisdiction, Level, Preset};
use mfa_kit::prelude::*;
use mfa_kit::relay::{Notice, NoticeRelay, Notifier};
use mfa_kit::service::permissions::{PermissionRequest, Permissions};
use mfa_kit::store::{AuditQuery, ReadAudit};
use mfa_kit::utc::utc_minute;
use mfa_kit_axum::{
    AddingSecurityKey, Client, CsrfToken, Enrolling, KeyOptions, KeyResponse, MfaSession, MfaWeb, NoStore,
    OrgSource, PublicOrigin, ReaderLanguage, SecondFactorDue, SignedIn, Stage, UserOrg, WebError, status_for,
};
use mfa_kit_mail::{Letterhead, notice_message_id, render_notice};
use mfa_kit_sqlx::SqliteStore;
use serde::Deserialize;
use sqlx::SqlitePool;
use tokio::sync::Semaphore;
use tower_sessions::cookie::time::{Duration, OffsetDateTime};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions::{Expiry, SessionManagerLayer};

type Mfa = MfaService<SqliteStore, PlaintextSealer>;
type Page = Result<Response, WebError>;

/// How many passwords are hashed at once. Argon2id with the default parameters takes
/// 19 MiB and most of a core for each; unbounded, 48 sign-ins at once took 963 MiB.
const CONCURRENT_HASHES: usize = 2;

/// A session not used for this long is deleted (the NIST preset's inactivity limit).
const SESSION_IDLE: Duration = Duration::hours(1);

/// How often expired sessions are purged from the store.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

// ---- the host's own tables ----

/// An organisation the demo serves: its id (events and records are filed under it),
/// its name, and its country.
struct Org {
    id: &'static str,
    name: &'static str,
    country: &'static str,
}

/// The demo's organisations; the sign-up form offers the first by default.
const ORGS: [Org; 2] = [
    Org { id: "harbour", name: "Harbour Books Ltd (UK)", country: "GB" },
    Org { id: "smith-co", name: "Smith & Co (Australia)", country: "AU" },
];

/// The host's own tables, in the same SQLite file as the MFA records: accounts with
/// password hashes and organisations, each organisation's MFA settings, and the hash
/// key. Accounts and settings are read once at start and kept in memory; every change
/// is written through.
struct Db {
    pool: SqlitePool,
    accounts: Mutex<BTreeMap<String, Account>>,
    settings: Mutex<HashMap<String, Arc<OrgSettings>>>,
}

#[derive(Clone)]
struct Account {
    password_hash: String,
    admin: bool,
    org: &'static Org,
}

impl Db {
    async fn open(pool: SqlitePool) -> Result<Db, sqlx::Error> {
        for table in [
            "CREATE TABLE IF NOT EXISTS demo_accounts (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, admin INTEGER NOT NULL, org TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS demo_org_settings (org TEXT PRIMARY KEY, settings TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS demo_keys (name TEXT PRIMARY KEY, key BLOB NOT NULL)",
        ] {
            sqlx::query(table).execute(&pool).await?;
        }
        let rows: Vec<(String, String, bool, String)> =
            sqlx::query_as("SELECT name, password_hash, admin, org FROM demo_accounts")
                .fetch_all(&pool)
                .await?;
        let accounts = rows
            .into_iter()
            .filter_map(|(name, password_hash, admin, org)| {
                Some((name, Account { password_hash, admin, org: ORGS.iter().find(|o| o.id == org)? }))
            })
            .collect();
        let stored: Vec<(String, String)> =
            sqlx::query_as("SELECT org, settings FROM demo_org_settings").fetch_all(&pool).await?;
        let settings = stored
            .into_iter()
            .filter_map(|(org, json)| Some((org, Arc::new(serde_json::from_str(&json).ok()?))));
        Ok(Db { pool, accounts: Mutex::new(accounts), settings: Mutex::new(settings.collect()) })
    }

    /// The key for recovery codes, SMS codes and device tokens: made once, kept, and
    /// the same after a restart (with another key every remembered device and recovery
    /// code would stop working).
    async fn hash_key(&self) -> Result<HashKey, Box<dyn std::error::Error>> {
        let mut fresh = [0u8; 32];
        OsRng.try_fill_bytes(&mut fresh)?;
        // Another process starting on the same file at the same moment keeps the first.
        sqlx::query("INSERT OR IGNORE INTO demo_keys (name, key) VALUES ('hash_key', ?)")
            .bind(&fresh[..])
            .execute(&self.pool)
            .await?;
        let (key,): (Vec<u8>,) =
            sqlx::query_as("SELECT key FROM demo_keys WHERE name = 'hash_key'").fetch_one(&self.pool).await?;
        Ok(HashKey::from_bytes(&key)?)
    }

    fn account(&self, name: &str) -> Option<Account> {
        self.accounts.lock().unwrap().get(name).cloned()
    }

    /// The organisation's settings as its administrator saved them.
    fn settings(&self, org: &Org) -> Arc<OrgSettings> {
        self.settings.lock().unwrap().get(org.id).cloned().unwrap_or_default()
    }

    /// The organisation's members, the host's own list: it knows those who never set
    /// anything up, of whom the MFA store has no record.
    fn members(&self, org: &Org) -> Vec<UserId> {
        let accounts = self.accounts.lock().unwrap();
        accounts.iter().filter(|(_, a)| a.org.id == org.id).map(|(name, _)| UserId::new(name)).collect()
    }
}

/// Who may reset a user's MFA or change the settings: an administrator of the
/// organisation the action is in, read from the database at each admin action (a
/// host's permissions live in its database, so the check is asynchronous; if the query
/// fails, the service changes nothing and the page shows an error).
impl Permissions for Db {
    type Error = sqlx::Error;

    async fn permits(&self, request: &PermissionRequest<'_>) -> Result<bool, sqlx::Error> {
        let admin: Option<(bool,)> =
            sqlx::query_as("SELECT admin FROM demo_accounts WHERE name = ? AND org = ?")
                .bind(request.actor.as_str())
                .bind(request.org)
                .fetch_optional(&self.pool)
                .await?;
        Ok(admin.is_some_and(|(admin,)| admin))
    }
}

impl Db {
    /// A new account in `org`, its administrator if it is the first; `None` if the name
    /// is taken.
    async fn create(&self, name: &str, hash: &str, org: &'static Org) -> Result<Option<Account>, WebError> {
        let inserted: Option<(bool,)> = sqlx::query_as(
            "INSERT INTO demo_accounts (name, password_hash, admin, org)
             SELECT ?1, ?2, NOT EXISTS (SELECT 1 FROM demo_accounts WHERE org = ?3), ?3 WHERE true
             ON CONFLICT (name) DO NOTHING RETURNING admin",
        )
        .bind(name)
        .bind(hash)
        .bind(org.id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_failed)?;
        let Some((admin,)) = inserted else { return Ok(None) };
        let account = Account { password_hash: hash.to_string(), admin, org };
        self.accounts.lock().unwrap().insert(name.to_string(), account.clone());
        Ok(Some(account))
    }

    async fn set_password(&self, name: &str, password_hash: &str) -> Result<(), WebError> {
        sqlx::query("UPDATE demo_accounts SET password_hash = ? WHERE name = ?")
            .bind(password_hash)
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(db_failed)?;
        if let Some(account) = self.accounts.lock().unwrap().get_mut(name) {
            account.password_hash = password_hash.to_string();
        }
        Ok(())
    }

    async fn save_settings(&self, org: &Org, settings: OrgSettings) -> Result<(), sqlx::Error> {
        let json = serde_json::to_string(&settings).unwrap_or_default();
        sqlx::query("INSERT INTO demo_org_settings (org, settings) VALUES (?, ?) ON CONFLICT (org) DO UPDATE SET settings = excluded.settings")
            .bind(org.id)
            .bind(json)
            .execute(&self.pool)
            .await?;
        self.settings.lock().unwrap().insert(org.id.to_string(), Arc::new(settings));
        Ok(())
    }
}

fn db_failed(error: impl std::error::Error + Send + Sync + 'static) -> WebError {
    WebError::Service(mfa_kit::service::Error::Store(Box::new(error)))
}

/// The organisation every sign-in context carries: its id (each event is filed under
/// it), its settings and its jurisdiction (which chooses the ATO preset or not).
struct Orgs(Arc<Db>);

impl OrgSource for Orgs {
    type Error = std::convert::Infallible;

    async fn org_for(&self, user: &UserId) -> Result<UserOrg, Self::Error> {
        let Some(account) = self.0.account(user.as_str()) else { return Ok(UserOrg::default()) };
        let org = account.org;
        Ok(UserOrg::new(self.0.settings(org))
            .in_org(org.id)
            // Both keep their books here: accounting is configured, which in Australia
            // puts the organisation under the ATO preset (`with_ato_for_tax_data`).
            .with_jurisdiction(Jurisdiction::country(org.country).with_accounting())
            .with_user_type(if account.admin { "admin" } else { "staff" }))
    }
}

// ---- sessions: in memory, deleted once expired ----

/// tower-sessions' `MemoryStore` keeps every session it was given until the process
/// ends, and every visit to a page with a form makes one (its CSRF token). This one is
/// the same map, purged of expired sessions every minute ([`ExpiredDeletion`]).
#[derive(Clone, Debug, Default)]
struct Sessions(Arc<tokio::sync::Mutex<HashMap<Id, Record>>>);

#[async_trait::async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut sessions = self.0.lock().await;
        while sessions.contains_key(&record.id) {
            record.id = Id::default();
        }
        sessions.insert(record.id, record.clone());
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.0.lock().await.insert(record.id, record.clone());
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = OffsetDateTime::now_utc();
        Ok(self.0.lock().await.get(id).filter(|r| r.expiry_date > now).cloned())
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0.lock().await.remove(id);
        Ok(())
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let now = OffsetDateTime::now_utc();
        self.0.lock().await.retain(|_, r| r.expiry_date > now);
        Ok(())
    }
}

// ---- security notices: the relay, and the demo's mailbox ----

/// How many messages the demo's mailbox keeps per user (the oldest go first).
const MAILBOX_SIZE: usize = 50;

/// One security notice as the user would receive it by e-mail.
#[derive(Clone)]
struct Mail {
    /// The notice's id: the same for every delivery of it (the relay delivers at least
    /// once), so a repeat replaces nothing.
    id: i64,
    message_id: String,
    at: u64,
    subject: String,
    text: String,
    /// The notice's "This wasn't me" link.
    wasnt_me: String,
}

/// The demo's stand-in for its users' e-mail inboxes: the messages the relay "sent",
/// by user, in this process's memory. A real deployment sends them by e-mail
/// (`mfa_kit_mail::MailNotifier` through an SMTP server) and has no such page.
#[derive(Clone, Default)]
struct Mailboxes(Arc<Mutex<HashMap<String, Vec<Mail>>>>);

impl Mailboxes {
    fn deliver(&self, user: &UserId, mail: Mail) {
        let mut boxes = self.0.lock().unwrap();
        let inbox = boxes.entry(user.as_str().to_string()).or_default();
        if inbox.iter().any(|m| m.id == mail.id) {
            return;
        }
        inbox.push(mail);
        let excess = inbox.len().saturating_sub(MAILBOX_SIZE);
        inbox.drain(..excess);
    }

    /// `user`'s messages, newest first.
    fn of(&self, user: &str) -> Vec<Mail> {
        let boxes = self.0.lock().unwrap();
        let mut mails = boxes.get(user).cloned().unwrap_or_default();
        mails.sort_by_key(|mail| std::cmp::Reverse(mail.id));
        mails
    }
}

/// The notice relay's notifier: renders each notice with mfa-kit-mail, exactly as
/// its `MailNotifier` would send it, with the notice's "This wasn't me" link (made
/// with the deployment's hash key), and puts it in the demo's mailbox.
struct DemoMail {
    letterhead: Letterhead,
    key: HashKey,
    origin: String,
    mailboxes: Mailboxes,
}

impl Notifier for DemoMail {
    type Error = std::convert::Infallible;

    async fn notify(&self, notice: &Notice) -> Result<(), Self::Error> {
        let rendered = render_notice(notice, &self.letterhead);
        let token = notice.disown_token(&self.key);
        let query = serde_urlencoded::to_string([("user", notice.user.as_str()), ("token", token.as_str())])
            .unwrap_or_default();
        let mail = Mail {
            id: notice.id,
            message_id: notice_message_id(notice.id, &self.letterhead.domain),
            at: notice.at,
            subject: rendered.subject.clone(),
            text: rendered.text.clone(),
            wasnt_me: format!("{}/wasnt-me?{query}", self.origin),
        };
        self.mailboxes.deliver(&notice.user, mail);
        Ok(())
    }
}

type Relay = NoticeRelay<SqliteStore, DemoMail, SystemClock>;

// ---- the application ----

#[derive(Clone)]
struct App {
    mfa: Arc<Mfa>,
    web: MfaWeb,
    db: Arc<Db>,
    policy: StandardPolicy,
    hashing: Arc<Semaphore>,
    /// Whether security keys and passkeys work here: a WebAuthn relying party was made
    /// for the public origin.
    keys: bool,
    /// The notice relay, which the mailbox page also runs once before showing it.
    relay: Arc<Relay>,
    mailboxes: Mailboxes,
}

impl FromRef<App> for MfaWeb {
    fn from_ref(app: &App) -> MfaWeb {
        app.web.clone()
    }
}

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match arg("--port") {
        Some(port) => port.parse()?,
        None => 3000,
    };
    // The preset chosen for everyone, and the ATO's for Australian and New Zealand
    // organisations keeping tax data here (Smith & Co).
    let policy = match std::env::var("MFA_PRESET").as_deref() {
        Ok("none") => StandardPolicy::new(),
        Ok("ato") => StandardPolicy::ato_tax_data(),
        _ => StandardPolicy::nist_aal2(),
    }
    .with_ato_for_tax_data();
    // Everything lasting lives in SQLite (WAL), in the file given with `--db`, or a
    // fresh one for this run.
    let path = match arg("--db") {
        Some(path) => std::path::PathBuf::from(path),
        None => std::env::temp_dir().join(format!("mfa-kit-web-{}.sqlite", std::process::id())),
    };
    let store = SqliteStore::open(&path).await?;
    let db = Arc::new(Db::open(store.pool().clone()).await?);
    let hash_key = db.hash_key().await?;
    println!("accounts, MFA records, audit trail and hash key in {}", path.display());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    // Browsers treat http://localhost as a secure context, where WebAuthn works; the
    // address itself (http://127.0.0.1:PORT) is accepted too, without security keys.
    let loopback = format!("http://localhost:{}", address.port());
    let origin = std::env::var("PUBLIC_ORIGIN").unwrap_or_else(|_| loopback.clone());
    let mailboxes = Mailboxes::default();
    let from = "mfa-kit demo security <security@demo.example>".parse()?;
    let letterhead = Letterhead::new("mfa-kit demo", from, "demo.example")
        .help(
            "Or use the \u{201c}This wasn't me\u{201d} link that comes with this message: it undoes the change, \
             signs everyone out of your account and freezes its sign-in settings until your administrator has \
             checked them.",
        )
        .security_url(format!("{origin}/"));
    let notifier =
        DemoMail { letterhead, key: hash_key.clone(), origin: origin.clone(), mailboxes: mailboxes.clone() };
    // The relay polls the trail every second (`RelayConfig::default`); the mailbox page
    // also runs a batch before it shows anything, so a change is there at once unless
    // the background run holds it at that moment (then within its second).
    let relay = Arc::new(NoticeRelay::new("demo-mailbox", store.clone(), notifier, SystemClock));
    let running = relay.clone();
    tokio::spawn(async move {
        let stop = AtomicBool::new(false);
        running.run(&stop, tokio::time::sleep, |error| eprintln!("the notice relay failed: {error}")).await;
    });
    let mut service =
        MfaService::builder("mfa-kit demo", store, PlaintextSealer).policy(policy.clone()).hash_key(hash_key);
    let party = relying_party(&origin);
    let keys = party.is_some();
    if let Some(party) = party {
        service = service.relying_party(party);
    }
    let mfa = Arc::new(service.build());
    let mut web = MfaWeb::builder(Orgs(db.clone()), mfa.clone()).public_origin(&origin);
    if origin == loopback {
        web = web.public_origin(&format!("http://{address}"));
    }
    let web = web.build()?;
    let app = App {
        mfa,
        web: web.clone(),
        db,
        policy,
        hashing: Arc::new(Semaphore::new(CONCURRENT_HASHES)),
        keys,
        relay,
        mailboxes,
    };

    let signed_in = Router::new()
        .route("/", get(home))
        .route("/step-up", get(step_up_page).post(submit_step_up))
        .route("/step-up/recovery", get(step_up_recovery_page).post(submit_step_up_recovery))
        .route("/mfa/authenticators/remove", post(remove_authenticator))
        .route("/mfa/authenticators/rename", post(rename_authenticator))
        .route("/step-up/key/options", post(step_up_key_options))
        .route("/step-up/key", post(submit_step_up_key))
        .route("/mfa/recovery-codes", post(new_recovery_codes))
        .route("/account/password", get(password_page).post(change_password))
        .route("/admin", get(admin))
        .route("/admin/reset", post(reset))
        .route("/admin/settings", post(change_settings))
        .route("/admin/audit", get(audit))
        .route_layer(middleware::from_fn_with_state(web.clone(), mfa_kit_axum::require_signed_in));
    let sessions = Sessions::default();
    let purged = sessions.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PURGE_EVERY);
        loop {
            every.tick().await;
            if let Err(error) = purged.delete_expired().await {
                eprintln!("purging expired sessions failed: {error}");
            }
        }
    });
    let sessions = SessionManagerLayer::new(sessions)
        .with_secure(web.public_origins().first().is_none_or(|o| o.is_secure()))
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE));
    let router = Router::new()
        .merge(signed_in)
        .route("/sign-up", get(sign_up_page).post(sign_up))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-in/code", get(code_page).post(submit_code))
        .route("/sign-in/recovery", get(recovery_page).post(submit_recovery))
        .route("/sign-in/key/options", post(sign_in_key_options))
        .route("/sign-in/key", post(submit_sign_in_key))
        .route(KEY_PAGE, get(security_key_page).post(add_security_key))
        .route("/mfa/security-key/options", post(security_key_options))
        .route("/security-key.js", get(security_key_script))
        .route("/mfa/enroll", get(enroll_page).post(confirm_enrollment))
        .route("/mfa/enroll/start", post(start_enrollment))
        .route("/mfa/later", post(later))
        .route("/sign-out", post(sign_out))
        .route("/dev/mailbox", get(mailbox))
        .route("/wasnt-me", get(wasnt_me_page).post(wasnt_me))
        .layer(middleware::from_fn_with_state(web, mfa_kit_axum::csrf_protect))
        .layer(middleware::from_fn(mfa_kit_axum::protective_headers))
        .layer(sessions)
        .with_state(app);

    println!("mfa-kit web example listening on {address}: open {origin}/");
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}

/// The page script for security keys and passkeys (`examples/security-key.js`).
const SECURITY_KEY_SCRIPT: &str = include_str!("security-key.js");

async fn security_key_script() -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SECURITY_KEY_SCRIPT)
}

/// The WebAuthn relying party for security keys and passkeys, for the public origin:
/// its host is the relying-party id (`localhost` by default). `None`, with a warning,
/// where none can be made (an IP address is no relying-party id): the example then
/// runs without security keys.
fn relying_party(origin: &str) -> Option<mfa_kit_webauthn::WebauthnParty> {
    let rp_id = PublicOrigin::parse(origin).map(|origin| origin.host().to_string()).unwrap_or_default();
    match mfa_kit_webauthn::WebauthnParty::builder(&rp_id, origin).rp_name("mfa-kit demo").build() {
        Ok(party) => Some(party),
        Err(error) => {
            eprintln!("security keys are off: no WebAuthn relying party for {origin}: {error}");
            None
        }
    }
}

// ---- passwords ----

/// Hashes or checks a password on the blocking pool, at most [`CONCURRENT_HASHES`] at
/// once; the others wait their turn.
async fn argon2<T: Send + 'static>(app: &App, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _permit = app.hashing.acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

async fn hash_password(app: &App, password: String) -> Result<String, WebError> {
    argon2(app, move || {
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
            .map(|h| h.to_string())
    })
    .await
    .and_then(Result::ok)
    .ok_or(WebError::RandomSource)
}

/// Whether `password` is `name`'s; as long for an unknown name as for a known one.
async fn password_matches(app: &App, name: &str, password: String) -> bool {
    let stored = app.db.account(name).map(|a| a.password_hash);
    argon2(app, move || {
        let hash = stored.unwrap_or_else(|| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g".into()
        });
        PasswordHash::new(&hash)
            .is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

// ---- sign-up and password ----

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
    /// At sign-up: the organisation's id.
    org: Option<String>,
}

#[derive(Deserialize)]
struct Ended {
    ended: Option<SessionEnd>,
}

async fn sign_up_page(csrf: CsrfToken) -> Html<String> {
    password_form(&csrf, "Create an account", "/sign-up", "")
}

/// The sign-in page; after the guard signed a session out, with the reason.
async fn sign_in_page(csrf: CsrfToken, Query(q): Query<Ended>) -> Html<String> {
    password_form(&csrf, "Sign in", "/sign-in", q.ended.map_or("", SessionEnd::sentence))
}

fn password_form(csrf: &CsrfToken, title: &str, action: &str, message: &str) -> Html<String> {
    let (other, orgs) = if action == "/sign-up" {
        let orgs = ORGS.iter().map(|o| format!(r#"<option value="{}">{}</option>"#, o.id, escape(o.name)));
        (r#"Have an account? <a href="/sign-in">Sign in</a>"#, orgs.collect())
    } else {
        (r#"New here? <a href="/sign-up">Create an account</a>"#, String::new())
    };
    let orgs = if orgs.is_empty() {
        orgs
    } else {
        format!(r#"<label>Organisation <select name="org">{orgs}</select></label>"#)
    };
    page(
        title,
        &format!(
            r#"{}<form method="post" action="{action}">{}
<label>User name <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" required minlength="8"></label>
{orgs}<button>{title}</button></form><p>{other}</p>"#,
            notice(message),
            hidden(csrf)
        ),
    )
}

async fn sign_up(
    State(app): State<App>,
    csrf: CsrfToken,
    session: MfaSession,
    client: Client,
    Form(form): Form<Credentials>,
) -> Page {
    let name = form.username.trim().to_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 40
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let org = form.org.as_deref().and_then(|id| ORGS.iter().find(|o| o.id == id));
    let (true, Some(org)) = (valid && form.password.len() >= 8, org) else {
        let text = "Choose a user name of letters, digits, dots or dashes, a password of at least 8 characters, and your organisation.";
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            password_form(&csrf, "Create an account", "/sign-up", text),
        )
            .into_response());
    };
    let hash = hash_password(&app, form.password).await?;
    if app.db.create(&name, &hash, org).await?.is_none() {
        let text = "That user name is taken.";
        return Ok((StatusCode::CONFLICT, password_form(&csrf, "Create an account", "/sign-up", text))
            .into_response());
    }
    after_password(&app, &session, &client, UserId::new(name), &csrf).await
}

async fn sign_in(
    State(app): State<App>,
    csrf: CsrfToken,
    session: MfaSession,
    client: Client,
    Form(form): Form<Credentials>,
) -> Page {
    let name = form.username.trim().to_lowercase();
    if !password_matches(&app, &name, form.password).await {
        let text = "That user name and password do not match.";
        return Ok(
            (StatusCode::UNAUTHORIZED, password_form(&csrf, "Sign in", "/sign-in", text)).into_response()
        );
    }
    after_password(&app, &session, &client, UserId::new(name), &csrf).await
}

/// The password was right: the service decides what comes next.
async fn after_password(
    app: &App,
    session: &MfaSession,
    client: &Client,
    user: UserId,
    csrf: &CsrfToken,
) -> Page {
    let context = app.web.password_step_context(&user, client).await?;
    match app.mfa.sign_in_decision(&user, &context).await? {
        Ok(decision) => {
            let next = session.password_verified(user, &decision).await?;
            Ok(Redirect::to(next.path(&app.web, "/")).into_response())
        }
        Err(refusal) => {
            Ok((status_for(&refusal), password_form(csrf, "Sign in", "/sign-in", &refusal.to_string()))
                .into_response())
        }
    }
}

async fn sign_out(session: MfaSession) -> Result<Redirect, WebError> {
    session.sign_out().await?;
    Ok(Redirect::to("/sign-in"))
}

/// Where a session goes that another change of the account signed out meanwhile.
fn ended() -> Response {
    Redirect::to(&format!("/sign-in?ended={}", SessionEnd::AccountChanged.as_str())).into_response()
}

// ---- the second factor ----

#[derive(Deserialize)]
struct CodeForm {
    code: String,
    remember: Option<String>,
}

async fn code_page(State(app): State<App>, due: SecondFactorDue, csrf: CsrfToken) -> Html<String> {
    code_form(&csrf, false, offers_key(&app, due.state.methods()), "")
}

async fn recovery_page(State(app): State<App>, due: SecondFactorDue, csrf: CsrfToken) -> Html<String> {
    code_form(&csrf, true, offers_key(&app, due.state.methods()), "")
}

/// Whether to offer "Use your security key": the user has one, and keys work here.
fn offers_key(app: &App, methods: &[Method]) -> bool {
    app.keys && methods.contains(&Method::SecurityKey)
}

/// A form the page script drives (`security-key.js`): on submit it fetches the options
/// from `options`, asks the browser's authenticator, and posts the response to
/// `action`. `step_up`: where to go when the options ask for a fresh proof first.
fn key_form(
    csrf: &CsrfToken,
    id: &str,
    mode: &str,
    options: &str,
    action: &str,
    step_up: &str,
    inner: &str,
) -> String {
    format!(
        r#"<form method="post" action="{action}" id="{id}" data-security-key="{mode}" data-options="{options}" data-step-up="{step_up}">{}<input type="hidden" name="response" value="">{inner}</form>"#,
        hidden(csrf),
        action = escape(action),
        options = escape(options),
        step_up = escape(step_up),
    )
}

const SCRIPT_TAG: &str = r#"<script src="/security-key.js" defer></script>"#;

/// "Use your security key", over the code form at sign-in and at step-up.
fn use_key_form(csrf: &CsrfToken, options: &str, action: &str) -> String {
    let inner = r#"<p>Use the security key or passkey you added to your account.</p><button>Use your security key</button>"#;
    format!(
        r#"<section class="key">{}</section><p class="or">Or enter a code instead:</p>{SCRIPT_TAG}"#,
        key_form(csrf, "use-key", "authenticate", options, action, "", inner)
    )
}

fn code_form(csrf: &CsrfToken, recovery: bool, key: bool, message: &str) -> Html<String> {
    let (title, action, label, other) = if recovery {
        (
            "Use a recovery code",
            "/sign-in/recovery",
            "Recovery code",
            r#"<a href="/sign-in/code">Use the authenticator app instead</a>"#,
        )
    } else {
        (
            "Two-step verification",
            "/sign-in/code",
            "Code from your authenticator app",
            r#"<a href="/sign-in/recovery">Use a recovery code</a>"#,
        )
    };
    let key = if key { use_key_form(csrf, "/sign-in/key/options", "/sign-in/key") } else { String::new() };
    page(
        title,
        &format!(
            r#"{}{key}<form method="post" action="{action}" id="code">{}
<label>{label} <input name="code" autocomplete="one-time-code" autofocus required></label>
<label class="check"><input type="checkbox" name="remember" value="1"> Don't ask again on this device</label>
<button>Verify</button></form><p>{other}</p>"#,
            notice(message),
            hidden(csrf)
        ),
    )
}

/// The options for signing in with a security key (JSON for the page script).
async fn sign_in_key_options(State(app): State<App>, due: SecondFactorDue) -> Result<KeyOptions, WebError> {
    Ok(KeyOptions(app.mfa.start_security_key(&due.user, &due.context).await?))
}

/// The key's signed response, as the second factor.
async fn submit_sign_in_key(
    State(app): State<App>,
    due: SecondFactorDue,
    session: MfaSession,
    csrf: CsrfToken,
    response: KeyResponse,
) -> Page {
    let outcome = app.mfa.verify_security_key(&due.user, response.as_str(), &due.context).await?;
    second_factor(&app, &due, &session, &csrf, outcome, false, Method::SecurityKey).await
}

async fn submit_code(
    State(app): State<App>,
    due: SecondFactorDue,
    session: MfaSession,
    csrf: CsrfToken,
    Form(form): Form<CodeForm>,
) -> Page {
    let outcome = app.mfa.verify_code(&due.user, &form.code, &due.context).await?;
    second_factor(&app, &due, &session, &csrf, outcome, form.remember.is_some(), Method::Totp).await
}

async fn submit_recovery(
    State(app): State<App>,
    due: SecondFactorDue,
    session: MfaSession,
    csrf: CsrfToken,
    Form(form): Form<CodeForm>,
) -> Page {
    let outcome = app.mfa.redeem_recovery_code(&due.user, &form.code, &due.context).await?;
    second_factor(&app, &due, &session, &csrf, outcome, form.remember.is_some(), Method::RecoveryCode).await
}

async fn second_factor(
    app: &App,
    due: &SecondFactorDue,
    session: &MfaSession,
    csrf: &CsrfToken,
    outcome: Outcome<Proven>,
    remember: bool,
    via: Method,
) -> Page {
    let proven = match outcome {
        Ok(proven) => proven,
        Err(refusal) => {
            let key = offers_key(app, due.state.methods());
            let text = refusal.to_string();
            let recovery = via == Method::RecoveryCode;
            return Ok((status_for(&refusal), code_form(csrf, recovery, key, &text)).into_response());
        }
    };
    let Some(state) = session.second_factor_proven(&proven).await? else { return Ok(ended()) };
    // Signed in, or held where the organisation requires a security key or a backup.
    let landing = state.landing(&app.web, "/").to_string();
    if !remember || state.stage() != Stage::SignedIn {
        return Ok(Redirect::to(&landing).into_response());
    }
    // The session as it is now: signed in, with its own proof.
    let context = due.context.clone().with_session(state.facts());
    let label = due.client.request.device.clone().unwrap_or_else(|| "this browser".into());
    match app
        .mfa
        .remember_device(&due.user, &label, OrgSettings::DEFAULT_REMEMBER_DEVICE_MAX, &context)
        .await?
    {
        Ok(remembered) => Ok((app.web.remember_cookie(&remembered)?, Redirect::to("/")).into_response()),
        Err(refusal) => Ok(message_page("Signed in", &format!("Signed in, but {refusal}")).into_response()),
    }
}

// ---- enrollment ----

#[derive(Deserialize)]
struct Confirm {
    first: String,
    second: String,
}

fn account_name(user: &UserId) -> String {
    format!("{user}@demo.example")
}

/// The enrollment page. Showing it writes nothing: it shows the enrollment in
/// progress (the same QR code and key as before), or a button that starts one
/// ([`start_enrollment`]). A user who has MFA and is setting up a new phone first
/// confirms it's them, in this session.
async fn enroll_page(State(app): State<App>, who: Enrolling, csrf: CsrfToken) -> Page {
    if who.state.stage() == Stage::SignedIn
        && let Some(confirm) =
            confirm_first(&app, &who.user, SensitiveAction::ReplaceAuthenticator, &who.context, "/mfa/enroll")
                .await?
    {
        return Ok(confirm);
    }
    let account = account_name(&who.user);
    let record = app.mfa.record(&who.user).await?;
    let now = SystemClock.now()?;
    let open = record.pending_enrollment().is_some_and(|pending| {
        pending.account() == Some(account.as_str())
            && pending.adding().is_none()
            && now < pending.expires_at()
    });
    if !open {
        return Ok(start_page(&who, &csrf, record.has_mfa()).into_response());
    }
    // The enrollment in progress, as the service shows it again: nothing is written.
    let start = match app.mfa.start_enrollment(&who.user, &account, &who.context).await? {
        Ok(start) => start,
        Err(Refusal::FreshProofRequired) if who.state.stage() == Stage::SignedIn => {
            return Ok(to_step_up("/mfa/enroll"));
        }
        Err(refusal) => return Ok(refused_page("Set up two-step verification", &refusal)),
    };
    let svg = start.qr_svg().map_err(|e| WebError::Service(e.into()))?;
    let svg = svg.trim_start_matches(|c| c != '>').trim_start_matches('>').trim_start();
    let body = format!(
        r#"<ol><li>Scan this QR code with your authenticator app:<div id="qr">{svg}</div>
<details><summary>Can't scan it?</summary>Enter this key by hand: <code id="key">{key}</code>
<br>or open <code id="uri">{uri}</code></details></li>
<li>Enter the code the app shows, wait for the next one, and enter that too.</li></ol>
{form}{later}"#,
        key = escape(&start.secret_grouped),
        uri = escape(&start.uri),
        form = confirm_form(&csrf),
        later = later_form(&who, &csrf),
    );
    // The key is a secret: no cache may keep the page.
    Ok(NoStore(page("Set up two-step verification", &body)).into_response())
}

fn start_page(who: &Enrolling, csrf: &CsrfToken, has_mfa: bool) -> Html<String> {
    let (intro, button) = if has_mfa {
        (
            "Set up a new phone: scan a new QR code with it and confirm two codes. It then replaces your authenticator app, which works until then.",
            "Set up a new phone",
        )
    } else {
        (
            "Two-step verification asks for a code from an authenticator app on your phone when you sign in, so that a password alone is not enough.",
            "Show the QR code",
        )
    };
    page(
        "Set up two-step verification",
        &format!(
            r#"<p>{intro}</p><form method="post" action="/mfa/enroll/start" id="start">{}<button>{button}</button></form>{}"#,
            hidden(csrf),
            later_form(who, csrf)
        ),
    )
}

fn later_form(who: &Enrolling, csrf: &CsrfToken) -> String {
    if who.state.enrollment_suggested() {
        format!(
            r#"<form method="post" action="/mfa/later">{}<button class="link">Not now</button></form>"#,
            hidden(csrf)
        )
    } else {
        String::new()
    }
}

/// Starts an enrollment with a new secret (replacing one in progress), then shows it
/// on the enrollment page.
async fn start_enrollment(State(app): State<App>, who: Enrolling) -> Page {
    let signed_in = who.state.stage() == Stage::SignedIn;
    if signed_in
        && let Some(confirm) =
            confirm_first(&app, &who.user, SensitiveAction::ReplaceAuthenticator, &who.context, "/mfa/enroll")
                .await?
    {
        return Ok(confirm);
    }
    match app.mfa.restart_enrollment(&who.user, &account_name(&who.user), &who.context).await? {
        Ok(_) => Ok(Redirect::to("/mfa/enroll").into_response()),
        Err(Refusal::FreshProofRequired) if signed_in => Ok(to_step_up("/mfa/enroll")),
        Err(refusal) => Ok(refused_page("Set up two-step verification", &refusal)),
    }
}

fn confirm_form(csrf: &CsrfToken) -> String {
    format!(
        r#"<form method="post" action="/mfa/enroll">{}
<label>First code <input name="first" inputmode="numeric" autocomplete="off" required></label>
<label>Next code <input name="second" inputmode="numeric" autocomplete="off" required></label>
<button>Turn on two-step verification</button></form>"#,
        hidden(csrf)
    )
}

async fn confirm_enrollment(
    State(app): State<App>,
    who: Enrolling,
    session: MfaSession,
    csrf: CsrfToken,
    Form(form): Form<Confirm>,
) -> Page {
    // Codes from the new phone prove the new phone, not the user: replacing an
    // authenticator takes a fresh proof of this session, as starting it did.
    if who.state.stage() == Stage::SignedIn
        && let Some(confirm) =
            confirm_first(&app, &who.user, SensitiveAction::ReplaceAuthenticator, &who.context, "/mfa/enroll")
                .await?
    {
        return Ok(confirm);
    }
    let confirmed = match app
        .mfa
        .confirm_enrollment(&who.user, &[&form.first, &form.second], &who.context)
        .await?
    {
        Ok(confirmed) => confirmed,
        Err(refusal) => {
            let body = format!(
                r#"{}{}<form method="post" action="/mfa/enroll/start">{}<button class="link">Start again with a new QR code</button></form>"#,
                notice(&refusal.to_string()),
                confirm_form(&csrf),
                hidden(&csrf)
            );
            return Ok((status_for(&refusal), page("Set up two-step verification", &body)).into_response());
        }
    };
    // Signed in, under the account's new generation: every other session of the user
    // ends at its next request.
    let Some(state) = session.enrollment_confirmed(&confirmed).await? else { return Ok(ended()) };
    let context = who.context.clone().with_session(state.facts());
    let codes = match app.mfa.generate_recovery_codes(&who.user, &context).await? {
        Ok(codes) => {
            if !session.account_changed().await? {
                return Ok(ended());
            }
            codes
        }
        Err(refusal) => return Ok(refused_page("Two-step verification is on", &refusal)),
    };
    let intro = r#"<p class="ok">Two-step verification is on.</p>"#;
    Ok(NoStore(recovery_codes_page(intro, codes.iter().map(|c| c.as_str()))).into_response())
}

fn recovery_codes_page<'a>(intro: &str, codes: impl Iterator<Item = &'a str>) -> Html<String> {
    let codes: String = codes.map(|c| format!(r#"<li class="code">{}</li>"#, escape(c))).collect();
    let body = format!(
        r#"{intro}<p>Keep these recovery codes somewhere safe. Each works once, if you lose your phone. <strong>They are shown only now.</strong></p>
<ul id="recovery-codes">{codes}</ul><p><a class="button" href="/">I have saved them</a></p>"#
    );
    page("Your recovery codes", &body)
}

async fn later(session: MfaSession) -> Result<Redirect, WebError> {
    session.dismiss_suggestion().await?;
    Ok(Redirect::to("/"))
}

// ---- signed in ----

#[derive(Deserialize)]
struct HomeQuery {
    key: Option<String>,
}

async fn home(State(app): State<App>, user: SignedIn, csrf: CsrfToken, Query(q): Query<HomeQuery>) -> Page {
    // Back from registering a security key (a redirect, so a reload posts nothing again).
    let message = match q.key.as_deref() {
        Some("added") => "Your security key was added. Your other sessions were signed out.",
        _ => "",
    };
    home_page(&app, &user, &csrf, message).await
}

const ADMIN_LINKS: &str =
    r#"<p><a href="/admin">Administration</a> · <a href="/admin/audit">Audit log</a></p>"#;
const NEW_PHONE: &str =
    r#"<p><a href="/mfa/enroll">Set up a new phone</a> (replaces your authenticator apps)</p>"#;
const ADD_KEY: &str = r#"<p id="keys"><a class="button" href="/mfa/security-key">Add a security key</a> or a passkey: sign in with a touch instead of a code, and no look-alike site can use it.</p>"#;

async fn home_page(app: &App, user: &SignedIn, csrf: &CsrfToken, message: &str) -> Page {
    let status = app.mfa.status(&user.user, &user.context).await?;
    let mfa = if status.has_mfa() {
        format!(
            r#"<p class="ok">Two-step verification is on ({} recovery codes left).</p>
<form method="post" action="/mfa/recovery-codes" id="new-recovery-codes">{}<button>Get new recovery codes</button></form>"#,
            status.recovery_codes_left.unwrap_or(0),
            hidden(csrf)
        )
    } else {
        r#"<p class="warn">Two-step verification is off. <a href="/mfa/enroll">Set it up</a></p>"#.into()
    };
    let account = app.db.account(user.user.as_str());
    let admin = if account.as_ref().is_some_and(|a| a.admin) { ADMIN_LINKS } else { "" };
    let org = account.map_or("", |a| a.org.name);
    let authenticators = app.mfa.authenticators(&user.user).await?;
    let apps: String = authenticators.iter().map(|a| {
        format!(
            r#"<tr data-kind="{kind_id}"><td>{name}</td><td>{kind}</td><td>{added}</td><td>{used}</td><td><details class="rename"><summary>Rename</summary><form method="post" action="/mfa/authenticators/rename" class="inline">{h}<input type="hidden" name="id" value="{id}"><input name="name" value="{name}" aria-label="New name" required maxlength="64" size="14"><button>Save</button></form></details></td><td><form method="post" action="/mfa/authenticators/remove" class="inline">{h}<input type="hidden" name="id" value="{id}"><button>Remove</button></form></td></tr>"#,
            name = escape(&a.name),
            kind_id = if a.method == Method::SecurityKey { "security-key" } else { "app" },
            kind = if a.method == Method::SecurityKey { "Security key or passkey" } else { "App on a phone" },
            added = utc_minute(a.created_at),
            used = a.last_used_at.map(utc_minute).unwrap_or_default(),
            h = hidden(csrf),
            id = escape(&a.id),
        )
    }).collect();
    let apps = if apps.is_empty() {
        String::new()
    } else {
        let phone = if authenticators.iter().any(|a| a.method == Method::Totp) { NEW_PHONE } else { "" };
        format!(
            r#"<h2>Your authenticators</h2><table id="authenticators"><tr><th>Name</th><th>Kind</th><th>Added</th><th>Last used</th><th></th><th></th></tr>{apps}</table>
{phone}"#
        )
    };
    // A security key or passkey: signs in without typing a code, and cannot be phished.
    let keys = if app.keys && status.has_mfa() { ADD_KEY } else { "" };
    // After "This wasn't me": nothing about the account's protection may change.
    let frozen = if status.frozen {
        format!(r#"<p class="notice" id="frozen">{}</p>"#, escape(&Refusal::AccountFrozen.to_string()))
    } else {
        String::new()
    };
    let mailbox = format!(
        r#"<p><a href="/dev/mailbox?{}" id="mailbox-link">Your security messages</a> (the demo's stand-in for your e-mail)</p>"#,
        escape(&serde_urlencoded::to_string([("user", user.user.as_str())]).unwrap_or_default())
    );
    let body = format!(
        r#"{}{frozen}<p id="who">Signed in as <strong>{}</strong> of {}.</p>{mfa}{apps}{keys}<p><a href="/account/password">Change your password</a></p>{mailbox}{admin}<form method="post" action="/sign-out">{}<button>Sign out</button></form>"#,
        notice(message),
        escape(user.user.as_str()),
        escape(org),
        hidden(csrf)
    );
    Ok(page("Home", &body).into_response())
}

#[derive(Deserialize)]
struct RemoveForm {
    id: String,
}

async fn remove_authenticator(
    State(app): State<App>,
    user: SignedIn,
    session: MfaSession,
    csrf: CsrfToken,
    Form(form): Form<RemoveForm>,
) -> Page {
    if let Some(confirm) =
        confirm_first(&app, &user.user, SensitiveAction::RemoveAuthenticator, &user.context, "/").await?
    {
        return Ok(confirm);
    }
    let kind = match app.mfa.authenticators(&user.user).await?.iter().find(|a| a.id == form.id) {
        Some(a) if a.method == Method::SecurityKey => "security key",
        _ => "authenticator app",
    };
    let message = match app.mfa.remove_authenticator(&user.user, &form.id, &user.context).await? {
        Ok(true) => {
            if !session.account_changed().await? {
                return Ok(ended());
            }
            format!("The {kind} was removed. Your other sessions were signed out.")
        }
        Ok(false) => format!("That {kind} was already removed."),
        Err(Refusal::FreshProofRequired) => return Ok(to_step_up("/")),
        Err(refusal) => refusal.to_string(),
    };
    home_page(&app, &user, &csrf, &message).await
}

#[derive(Deserialize)]
struct RenameForm {
    id: String,
    name: String,
}

/// Renames an app or a key (not a change of how the account is protected: no step-up).
async fn rename_authenticator(
    State(app): State<App>,
    user: SignedIn,
    csrf: CsrfToken,
    Form(form): Form<RenameForm>,
) -> Page {
    let message = match app.mfa.rename_authenticator(&user.user, &form.id, &form.name, &user.context).await? {
        Ok(true) => "The name was changed.".to_string(),
        Ok(false) => "That authenticator was removed meanwhile.".to_string(),
        Err(refusal) => refusal.to_string(),
    };
    home_page(&app, &user, &csrf, &message).await
}

// ---- security keys and passkeys ----

#[derive(Deserialize)]
struct KeyName {
    #[serde(default)]
    name: String,
}

const KEY_PAGE: &str = "/mfa/security-key";

/// "Add a security key": after a fresh proof (in this session) for a signed-in user,
/// at once for one the organisation holds here until they add one.
async fn security_key_page(State(app): State<App>, who: AddingSecurityKey, csrf: CsrfToken) -> Page {
    if who.state.stage() == Stage::SignedIn
        && let Some(confirm) =
            confirm_first(&app, &who.user, SensitiveAction::AddAuthenticator, &who.context, KEY_PAGE).await?
    {
        return Ok(confirm);
    }
    Ok(add_key_form(&app, &who, &csrf, "").into_response())
}

fn add_key_form(app: &App, who: &AddingSecurityKey, csrf: &CsrfToken, message: &str) -> Html<String> {
    let title = "Add a security key";
    if !app.keys {
        let text = "Security keys and passkeys are not available on this server (see PUBLIC_ORIGIN).";
        return page(title, &format!("{}<p><a href=\"/\">Home</a></p>", notice(text)));
    }
    let held = who.state.stage() == Stage::SecurityKey;
    let intro = if held {
        "Your organisation requires a security key or passkey for your account. Add one to continue: from then on you sign in with it instead of a code."
    } else {
        "A security key (a USB or NFC key such as a YubiKey) or a passkey (kept by this device, or by your phone or password manager) signs you in with a touch or your fingerprint. It only works on this site, so a look-alike page cannot use it."
    };
    let inner = r#"<label>Name <input name="name" value="Security key" required maxlength="64" autocomplete="off"></label>
<button>Add a security key</button>"#;
    let step_up = format!("/step-up?{}", next_query(KEY_PAGE));
    let form = key_form(csrf, "add-key", "register", "/mfa/security-key/options", KEY_PAGE, &step_up, inner);
    let cancel = if held {
        r#"<form method="post" action="/sign-out">"#.to_string()
            + &hidden(csrf)
            + r#"<button class="link">Sign out</button></form>"#
    } else {
        r#"<p><a href="/">Cancel</a></p>"#.to_string()
    };
    page(
        title,
        &format!(
            r#"{}<p>{intro}</p>{form}<p class="hint">Your browser will ask you to insert and touch the key, or to confirm with this device.</p>{cancel}{SCRIPT_TAG}"#,
            notice(message)
        ),
    )
}

/// The options to register a key (JSON for the page script).
async fn security_key_options(
    State(app): State<App>,
    who: AddingSecurityKey,
    Form(form): Form<KeyName>,
) -> Result<KeyOptions, WebError> {
    let account = account_name(&who.user);
    let outcome = app
        .mfa
        .start_security_key_registration(&who.user, &form.name, &account, who.user.as_str(), &who.context)
        .await?;
    Ok(KeyOptions(outcome))
}

/// The new key's signed registration: listed with the authenticators, and every other
/// session of the user ends.
async fn add_security_key(
    State(app): State<App>,
    who: AddingSecurityKey,
    session: MfaSession,
    csrf: CsrfToken,
    response: KeyResponse,
) -> Page {
    match app.mfa.finish_security_key_registration(&who.user, response.as_str(), &who.context).await? {
        Ok(confirmed) => {
            let Some(state) = session.security_key_registered(&confirmed).await? else { return Ok(ended()) };
            Ok(Redirect::to(state.landing(&app.web, "/?key=added")).into_response())
        }
        Err(Refusal::FreshProofRequired) => Ok(to_step_up(KEY_PAGE)),
        Err(refusal) => {
            let text = refusal.to_string();
            Ok((status_for(&refusal), add_key_form(&app, &who, &csrf, &text)).into_response())
        }
    }
}

/// A new set of recovery codes in place of the old, after a fresh proof.
async fn new_recovery_codes(State(app): State<App>, user: SignedIn, session: MfaSession) -> Page {
    if let Some(confirm) =
        confirm_first(&app, &user.user, SensitiveAction::RegenerateRecoveryCodes, &user.context, "/").await?
    {
        return Ok(confirm);
    }
    match app.mfa.generate_recovery_codes(&user.user, &user.context).await? {
        Ok(codes) => {
            if !session.account_changed().await? {
                return Ok(ended());
            }
            let intro = r#"<p class="ok">Your old recovery codes no longer work.</p>"#;
            Ok(NoStore(recovery_codes_page(intro, codes.iter().map(|c| c.as_str()))).into_response())
        }
        Err(Refusal::FreshProofRequired) => Ok(to_step_up("/")),
        Err(refusal) => Ok(refused_page("Recovery codes", &refusal)),
    }
}

// ---- the password ----

#[derive(Deserialize)]
struct PasswordChange {
    current: String,
    new: String,
}

/// The password page: a code first (in this session, recently), then the current and
/// the new password.
async fn password_page(State(app): State<App>, user: SignedIn, csrf: CsrfToken) -> Page {
    if let Some(confirm) =
        confirm_first(&app, &user.user, SensitiveAction::Host, &user.context, "/account/password").await?
    {
        return Ok(confirm);
    }
    Ok(password_change_form(&csrf, "").into_response())
}

fn password_change_form(csrf: &CsrfToken, message: &str) -> Html<String> {
    page(
        "Change your password",
        &format!(
            r#"{}<p>Every other session of your account will be signed out, and remembered devices forgotten.</p><form method="post" action="/account/password">{}
<label>Current password <input name="current" type="password" autocomplete="current-password" required></label>
<label>New password <input name="new" type="password" autocomplete="new-password" required minlength="8"></label>
<button>Change password</button></form><p><a href="/">Cancel</a></p>"#,
            notice(message),
            hidden(csrf)
        ),
    )
}

async fn change_password(
    State(app): State<App>,
    user: SignedIn,
    session: MfaSession,
    csrf: CsrfToken,
    Form(form): Form<PasswordChange>,
) -> Page {
    if let Some(confirm) =
        confirm_first(&app, &user.user, SensitiveAction::Host, &user.context, "/account/password").await?
    {
        return Ok(confirm);
    }
    if form.new.len() < 8 {
        let text = "Choose a new password of at least 8 characters.";
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, password_change_form(&csrf, text)).into_response());
    }
    if !password_matches(&app, user.user.as_str(), form.current).await {
        let text = "That is not your current password.";
        return Ok((StatusCode::UNAUTHORIZED, password_change_form(&csrf, text)).into_response());
    }
    // Checked again right before the change, so that the trail names it.
    if let Some(confirm) =
        confirm_host_action(&app, &user.user, "change_password", &user.context, "/account/password").await?
    {
        return Ok(confirm);
    }
    let hash = hash_password(&app, form.new).await?;
    app.db.set_password(user.user.as_str(), &hash).await?;
    // Every remembered device is forgotten and every other session ends; this one
    // takes the account's new generation and goes on.
    app.mfa.password_changed(&user.user, &user.context.request).await?;
    if !session.account_changed().await? {
        return Ok(ended());
    }
    let text =
        "Your password was changed. Your other sessions were signed out and remembered devices forgotten.";
    Ok((app.web.forget_cookie(), home_page(&app, &user, &csrf, text).await?).into_response())
}

// ---- step-up: a fresh code before a sensitive action ----

/// Before a sensitive action: `None` to go ahead (a code was entered recently enough,
/// or none is needed), otherwise the way to the "Confirm it's you" page, which comes
/// back to `back` (the page the action's form is on). Asking first, rather than
/// trying the action, keeps refused resets and settings changes out of the audit log.
async fn confirm_first(
    app: &App,
    user: &UserId,
    action: SensitiveAction,
    context: &SignInContext,
    back: &str,
) -> Result<Option<Response>, WebError> {
    Ok(step_up_answer(app.mfa.step_up(user, action, context).await?, back))
}

/// Right before one of this application's own sensitive actions, named for the audit
/// trail (`change_password`): as [`confirm_first`], and a go-ahead is audited as
/// `host_action_allowed` under that name.
async fn confirm_host_action(
    app: &App,
    user: &UserId,
    name: &str,
    context: &SignInContext,
    back: &str,
) -> Result<Option<Response>, WebError> {
    Ok(step_up_answer(app.mfa.step_up_host_action(user, name, context).await?, back))
}

fn step_up_answer(answer: StepUp, back: &str) -> Option<Response> {
    match answer {
        StepUp::Prove { .. } => Some(to_step_up(back)),
        // After "This wasn't me", until an admin's reset: the host's own sensitive
        // actions (a new password) are refused like the service's.
        StepUp::Frozen => Some(refused_page("Changes are frozen", &Refusal::AccountFrozen)),
        // Locked out by wrong codes (or disabled): nothing sensitive until it ends.
        StepUp::Locked(refusal) => Some(refused_page("Your two-step verification is locked", &refusal)),
        // Go ahead, or let the action give its own refusal (an admin without MFA).
        _ => None,
    }
}

fn to_step_up(back: &str) -> Response {
    Redirect::to(&format!("/step-up?{}", next_query(back))).into_response()
}

fn next_query(back: &str) -> String {
    serde_urlencoded::to_string([("next", back_to(Some(back)))]).unwrap_or_default()
}

/// Where to return after the step-up: a path on this site, or home. Printable ASCII
/// only (always a valid `Location`), never `//host` or `/\host`, which browsers
/// read as another site.
fn back_to(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            path
        }
        _ => "/",
    }
}

#[derive(Deserialize)]
struct Back {
    next: Option<String>,
}

#[derive(Deserialize)]
struct StepUpForm {
    code: String,
    next: String,
}

async fn step_up_page(
    State(app): State<App>,
    user: SignedIn,
    csrf: CsrfToken,
    Query(q): Query<Back>,
) -> Page {
    step_up_form(&app, &user, &csrf, back_to(q.next.as_deref()), false, "").await
}

async fn step_up_recovery_page(
    State(app): State<App>,
    user: SignedIn,
    csrf: CsrfToken,
    Query(q): Query<Back>,
) -> Page {
    step_up_form(&app, &user, &csrf, back_to(q.next.as_deref()), true, "").await
}

/// The "Confirm it's you" page, or straight back to `next` when a code was entered
/// recently enough.
async fn step_up_form(
    app: &App,
    user: &SignedIn,
    csrf: &CsrfToken,
    next: &str,
    recovery: bool,
    message: &str,
) -> Page {
    let title = "Confirm it's you";
    let (methods, window) = match app.mfa.step_up(&user.user, SensitiveAction::Host, &user.context).await? {
        StepUp::Prove { methods, window } => (methods, window),
        StepUp::EnrollFirst => {
            return Ok(message_page(title, &Refusal::NotEnrolled.to_string()).into_response());
        }
        _ => return Ok(Redirect::to(next).into_response()),
    };
    let key = if offers_key(app, &methods) {
        let action = format!("/step-up/key?{}", next_query(next));
        use_key_form(csrf, "/step-up/key/options", &action)
    } else {
        String::new()
    };
    let (action, label, other, other_text) = if recovery {
        ("/step-up/recovery", "Recovery code", Method::Totp, "Use the authenticator app instead")
    } else {
        ("/step-up", "Code from your authenticator app", Method::RecoveryCode, "Use a recovery code")
    };
    let query = escape(&next_query(next));
    let other = if methods.contains(&other) {
        let path = if recovery { "/step-up" } else { "/step-up/recovery" };
        format!(r#"<a href="{path}?{query}">{other_text}</a> · "#)
    } else {
        String::new()
    };
    let body = format!(
        r#"{}<p>For your security, confirm it's you before changing how accounts are protected. You will return to where you were, and will not be asked again for {}.</p>
{key}<form method="post" action="{action}" id="code">{}<input type="hidden" name="next" value="{}">
<label>{label} <input name="code" autocomplete="one-time-code" autofocus required></label>
<button>Confirm</button></form><p>{other}<a href="{}">Cancel</a></p>"#,
        notice(message),
        span(window),
        hidden(csrf),
        escape(next),
        escape(next),
    );
    Ok(page(title, &body).into_response())
}

async fn submit_step_up(
    State(app): State<App>,
    user: SignedIn,
    session: MfaSession,
    csrf: CsrfToken,
    Form(form): Form<StepUpForm>,
) -> Page {
    let outcome = app.mfa.verify_code(&user.user, &form.code, &user.context).await?;
    stepped_up(&app, &user, &session, &csrf, &form.next, outcome, Method::Totp).await
}

async fn submit_step_up_recovery(
    State(app): State<App>,
    user: SignedIn,
    session: MfaSession,
    csrf: CsrfToken,
    Form(form): Form<StepUpForm>,
) -> Page {
    let outcome = app.mfa.redeem_recovery_code(&user.user, &form.code, &user.context).await?;
    stepped_up(&app, &user, &session, &csrf, &form.next, outcome, Method::RecoveryCode).await
}

/// The options for a step-up with a security key (JSON for the page script).
async fn step_up_key_options(State(app): State<App>, user: SignedIn) -> Result<KeyOptions, WebError> {
    Ok(KeyOptions(app.mfa.start_security_key(&user.user, &user.context).await?))
}

/// The key's signed response, before a sensitive action; back to `next` after.
async fn submit_step_up_key(
    State(app): State<App>,
    user: SignedIn,
    session: MfaSession,
    csrf: CsrfToken,
    Query(q): Query<Back>,
    response: KeyResponse,
) -> Page {
    let outcome = app.mfa.verify_security_key(&user.user, response.as_str(), &user.context).await?;
    stepped_up(&app, &user, &session, &csrf, back_to(q.next.as_deref()), outcome, Method::SecurityKey).await
}

async fn stepped_up(
    app: &App,
    user: &SignedIn,
    session: &MfaSession,
    csrf: &CsrfToken,
    next: &str,
    outcome: Outcome<Proven>,
    via: Method,
) -> Page {
    let next = back_to(Some(next));
    match outcome {
        Ok(proven) => {
            // This session is fresh from now; other sessions of the user are not.
            if session.step_up_proven(&proven).await?.is_none() {
                return Ok(ended());
            }
            Ok(Redirect::to(next).into_response())
        }
        Err(refusal) => {
            let recovery = via == Method::RecoveryCode;
            let text = refusal.to_string();
            let mut response = step_up_form(app, user, csrf, next, recovery, &text).await?;
            // The form again with the refusal; a redirect (proved meanwhile) stays one.
            if response.status() == StatusCode::OK {
                *response.status_mut() = status_for(&refusal);
            }
            Ok(response)
        }
    }
}

/// The organisation `user` administers, if any.
fn administered(app: &App, user: &SignedIn) -> Option<&'static Org> {
    app.db.account(user.user.as_str()).filter(|account| account.admin).map(|account| account.org)
}

fn admins_only() -> Page {
    let text = "Only administrators can see this page.";
    Ok((StatusCode::FORBIDDEN, message_page("Administration", text)).into_response())
}

async fn admin(State(app): State<App>, user: SignedIn, csrf: CsrfToken) -> Page {
    admin_page(&app, &user, &csrf, "").await
}

/// The organisation's status list: a row per member, under the organisation's rules in
/// `context`. The members come from the host's own table, which also knows those who
/// never set anything up (the MFA store has no record of them to list).
async fn status_rows(app: &App, org: &Org, context: &SignInContext) -> Result<Vec<UserStatus>, WebError> {
    let members = app.db.members(org);
    app.mfa.status_list(&members, context).await.into_iter().map(|(_, row)| Ok(row?)).collect()
}

/// A stable id (`upon_request`) in words.
fn words(id: impl ToString) -> String {
    id.to_string().replace('_', " ")
}

async fn admin_page(app: &App, user: &SignedIn, csrf: &CsrfToken, message: &str) -> Page {
    let Some(org) = administered(app, user) else { return admins_only() };
    // The settings as they are now (the request's context was built before a change
    // this request may have saved).
    let configured = app.db.settings(org);
    let context = user.context.clone().with_org(configured.clone());
    let statuses = status_rows(app, org, &context).await?;
    let mut rows = String::new();
    for row in &statuses {
        let name = escape(row.user.as_str());
        rows += &format!(
            r#"<tr><td>{name}</td><td class="{c}">{mark}</td><td data-compliance="{state}">{compliance}</td><td>{methods}</td><td>{since}</td><td>{used}</td>
<td><form method="post" action="/admin/reset" class="inline">{h}<input type="hidden" name="user" value="{name}"><input name="reason" placeholder="Reason" required><button>Reset</button></form></td></tr>"#,
            c = if row.has_mfa() { "ok" } else { "bad" },
            mark = if row.has_mfa() { "✔" } else { "✘" },
            state = row.compliance.map_or("", |c| c.as_str()),
            compliance = row.compliance.map(|c| c.to_string()).unwrap_or_default(),
            methods = row.methods.iter().map(words).collect::<Vec<_>>().join(", "),
            since = row.enrolled_since.map(utc_minute).unwrap_or_default(),
            used = row.last_used.map(utc_minute).unwrap_or_default(),
            h = hidden(csrf),
        );
    }
    // The dashboard: how many members stand where.
    let n = ComplianceCounts::of(&statuses);
    let counts: String = [
        ("set_up", "set up", n.set_up),
        ("required", "required, not set up", n.required + n.required_with_deadline),
        ("suggested", "suggested", n.suggested),
        ("not_required", "not required", n.not_required),
        ("exempt", "single sign-on", n.exempt),
        ("locked", "locked out", n.locked),
        ("disabled", "disabled", n.disabled),
    ]
    .map(|(id, label, n)| format!(r#"<li data-state="{id}"><strong>{n}</strong> {label}</li>"#))
    .concat();
    let (c, f) = (&configured, app.policy.effective(&context));
    let selected = |l: &Level| if *l == c.default_level() { " selected" } else { "" };
    let levels =
        Level::ALL.iter().map(|l| format!(r#"<option value="{l}"{}>{}</option>"#, selected(l), words(l)));
    let presets: Vec<&str> = app.policy.presets_for(&context).into_iter().map(Preset::title).collect();
    let body = format!(
        r#"{}<p id="org"><strong>{org}</strong></p><h2>Who has two-step verification</h2><ul id="counts">{counts}</ul>
<table id="status"><tr><th>User</th><th>MFA</th><th>Standing</th><th>Methods</th><th>Since</th><th>Last used</th><th>Reset</th></tr>{rows}</table>
<h2>Organisation settings</h2><form method="post" action="/admin/settings">{h}
<label>Level for everyone <select name="level">{}</select></label>
<label class="check"><input type="checkbox" name="enforce" value="1"{enforced}> Make two-step verification mandatory for every user</label>
<label>Lock out after <input name="max_failures" type="number" min="1" max="100" value="{failures}"> wrong codes</label>
<label>Remember devices for <input name="remember_days" type="number" min="0" max="400" value="{days}"> days</label>
<label>Ask for a code again before sensitive changes after <input name="confirm_after" type="number" min="30" max="3600" value="{confirm}"> seconds</label>
<button>Save settings</button></form>
<h3>In force under the presets: {presets}</h3><table id="in-force"><tr><th>Setting</th><th>Configured</th><th>In force</th></tr>
<tr><td>Mandatory for everyone</td><td>{}</td><td>{}</td></tr>
<tr><td>Lockout after</td><td>{}</td><td>{}</td></tr>
<tr><td>Remember devices</td><td>{}</td><td>{}</td></tr>
<tr><td>Users may turn MFA off</td><td>{}</td><td>{}</td></tr>
<tr><td>Code again before sensitive changes after</td><td>{}</td><td>{}</td></tr></table>
<p><a href="/admin/audit">Audit log</a> · <a href="/">Home</a></p>"#,
        notice(message),
        levels.collect::<String>(),
        c.enforce_for_all(),
        f.enforce_for_all(),
        c.lockout().max_failures,
        f.lockout().max_failures,
        span(c.remember_device_max()),
        span(f.remember_device_max()),
        c.allow_self_deactivation(),
        f.allow_self_deactivation(),
        span(c.fresh_proof_window()),
        span(f.fresh_proof_window()),
        org = escape(org.name),
        h = hidden(csrf),
        enforced = if c.enforce_for_all() { " checked" } else { "" },
        failures = c.lockout().max_failures,
        days = c.remember_device_max() / 86_400,
        confirm = c.fresh_proof_window(),
        presets = if presets.is_empty() { "none".to_string() } else { presets.join(", ") },
    );
    Ok(page("Administration", &body).into_response())
}

#[derive(Deserialize)]
struct ResetForm {
    user: String,
    reason: String,
}

async fn reset(State(app): State<App>, user: SignedIn, csrf: CsrfToken, Form(form): Form<ResetForm>) -> Page {
    let Some(org) = administered(&app, &user) else { return admins_only() };
    // Only a member of the organisation can be reset: the service would take any name.
    let name = form.user.trim().to_lowercase();
    if app.db.account(&name).is_none_or(|a| a.org.id != org.id) {
        let message = format!("There is no user called {name} at {}.", org.name);
        return Ok((StatusCode::NOT_FOUND, admin_page(&app, &user, &csrf, &message).await?).into_response());
    }
    let target = UserId::new(name.as_str());
    if let Some(confirm) =
        confirm_first(&app, &user.user, SensitiveAction::ResetUser, &user.context, "/admin").await?
    {
        return Ok(confirm);
    }
    let reset = ResetRequest::new(org.id, &user.user, &target, &form.reason);
    let message = match app.mfa.reset(reset, &app.db, &user.context).await? {
        Ok(cleared) => format!(
            "Two-step verification of {} was reset (cleared: {}). They must set it up again.",
            form.user,
            cleared.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
        ),
        Err(Refusal::FreshProofRequired) => return Ok(to_step_up("/admin")),
        Err(refusal) => refusal.to_string(),
    };
    admin_page(&app, &user, &csrf, &message).await
}

#[derive(Deserialize)]
struct SettingsForm {
    level: String,
    enforce: Option<String>,
    max_failures: u32,
    remember_days: u64,
    confirm_after: u64,
}

/// Changes the settings of the user's organisation (the service refuses, and audits,
/// anyone but its administrator).
async fn change_settings(
    State(app): State<App>,
    user: SignedIn,
    csrf: CsrfToken,
    Form(form): Form<SettingsForm>,
) -> Page {
    let Some(account) = app.db.account(user.user.as_str()) else { return Ok(ended()) };
    let current = app.db.settings(account.org);
    let level: Level = match form.level.parse() {
        Ok(level) => level,
        Err(unknown) => {
            let page = admin_page(&app, &user, &csrf, &unknown.to_string()).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut lockout = current.lockout();
    lockout.max_failures = form.max_failures;
    let wanted = current
        .to_builder()
        .default_level(level)
        .enforce_for_all(form.enforce.is_some())
        .lockout(lockout)
        .remember_device_max(form.remember_days.saturating_mul(86_400))
        .fresh_proof_window(form.confirm_after)
        .build();
    // Settings out of range never reach the service: they do not build.
    let wanted = match wanted {
        Ok(wanted) => wanted,
        Err(invalid) => return admin_page(&app, &user, &csrf, &Refusal::from(invalid).to_string()).await,
    };
    let change = SettingsChange::new(account.org.id, &user.user, &current, wanted);
    let save = |settings: OrgSettings| app.db.save_settings(account.org, settings);
    // Who may change the settings comes first, as in the service: a code is asked of
    // administrators only.
    if account.admin
        && let Some(confirm) =
            confirm_first(&app, &user.user, SensitiveAction::ChangeOrgSettings, &user.context, "/admin")
                .await?
    {
        return Ok(confirm);
    }
    let message = match app.mfa.change_org_settings(change, &app.db, &user.context, save).await? {
        Ok(_) => "The settings were saved.".to_string(),
        Err(Refusal::FreshProofRequired) => return Ok(to_step_up("/admin")),
        Err(refusal) => refusal.to_string(),
    };
    admin_page(&app, &user, &csrf, &message).await
}

/// The organisation's audit log, each event as one sentence in the reader's language.
async fn audit(State(app): State<App>, user: SignedIn, ReaderLanguage(language): ReaderLanguage) -> Page {
    let Some(org) = administered(&app, &user) else { return admins_only() };
    // The organisation's last 12 months, newest first, as the ATO asks them kept.
    let now = SystemClock.now()?;
    let query = AuditQuery::org(org.id, now.saturating_sub(Preset::TWELVE_MONTHS), now + 1, 500);
    let trail = app.mfa.store().read_audit(&query).await.map_err(db_failed)?;
    // Each event with its stable kind id, for filters and scripts.
    let mut rows = String::new();
    for event in trail.events.iter().rev().map(|stored| &stored.event) {
        let (kind, line) = (event.kind.name(), escape(&event.message(language)));
        rows += &format!(r#"<li class="{:?}" data-kind="{kind}">{line}</li>"#, event.outcome);
    }
    let body = format!(
        r#"<p id="org">{}: the last 12 months, newest first.</p><ol id="audit">{rows}</ol><p><a href="/admin">Administration</a></p>"#,
        escape(org.name)
    );
    Ok(page("Audit log", &body).into_response())
}

// ---- the demo's mailbox and the "This wasn't me" link ----

#[derive(Deserialize)]
struct MailboxQuery {
    user: Option<String>,
}

/// The demo's stand-in for a user's e-mail inbox: the security notices the relay
/// rendered for them, newest first, each with its "This wasn't me" link. Open to
/// anyone, like the rest of the demo's shortcuts: a real deployment sends these
/// messages by e-mail and has no such page.
async fn mailbox(State(app): State<App>, Query(q): Query<MailboxQuery>) -> Page {
    // Deliver what is due now, so a change made a moment ago is here.
    if let Err(error) = app.relay.run_once().await {
        eprintln!("the notice relay failed: {error}");
    }
    let user = q.user.as_deref().map(|u| u.trim().to_lowercase()).unwrap_or_default();
    let chooser = format!(
        r#"<form method="get" action="/dev/mailbox" class="inline"><label>Whose messages <input name="user" value="{}" required></label><button>Show</button></form>"#,
        escape(&user)
    );
    let intro = r#"<p class="demo" id="demo-label"><strong>Demo only.</strong> This page stands in for the user's e-mail inbox: a real deployment sends these security notices by e-mail. They are rendered by mfa-kit-mail as its SMTP notifier would send them, and kept in this server's memory. Each message's "This wasn't me" link is shown below it.</p>"#;
    let mails = if user.is_empty() { Vec::new() } else { app.mailboxes.of(&user) };
    let list: String = mails
        .iter()
        .map(|mail| {
            format!(
                r#"<article class="mail" data-id="{id}"><dl><dt>From</dt><dd>mfa-kit demo security &lt;security@demo.example&gt;</dd><dt>To</dt><dd>{to}</dd><dt>Date</dt><dd>{date}</dd><dt>Subject</dt><dd class="subject">{subject}</dd><dt>Message-ID</dt><dd><code>{message_id}</code></dd></dl>
<pre class="mail-text">{text}</pre><p class="wasnt-me">Not you? <a href="{link}">This wasn't me</a></p></article>"#,
                id = mail.id,
                to = escape(&user),
                date = utc_minute(mail.at),
                subject = escape(&mail.subject),
                message_id = escape(&mail.message_id),
                text = escape(&mail.text),
                link = escape(&mail.wasnt_me),
            )
        })
        .collect();
    let list = match (user.is_empty(), list.is_empty()) {
        (true, _) => String::new(),
        (false, true) => format!("<p>No messages for {}.</p>", escape(&user)),
        (false, false) => format!(r#"<section id="mailbox">{list}</section>"#),
    };
    // The messages hold links that act on the account: no cache may keep them.
    Ok(NoStore(page("Mailbox (demo)", &format!("{intro}{chooser}{list}"))).into_response())
}

#[derive(Deserialize)]
struct LinkForm {
    user: Option<String>,
    token: Option<String>,
}

/// The page of a notice's "This wasn't me" link: what confirming does, and the button.
/// Showing it changes nothing (mail scanners and link previews open links); only the
/// button's POST, with the session's CSRF token like every form here, acts.
async fn wasnt_me_page(csrf: CsrfToken, Query(q): Query<LinkForm>) -> Response {
    let title = "This wasn't me";
    let (Some(user), Some(token)) = (q.user, q.token) else {
        return refused_page(title, &Refusal::DisownLinkInvalid);
    };
    let body = format!(
        r#"<p>You are telling us that a change to the account <strong>{user}</strong>, reported in a security message, was not made by you. When you confirm:</p>
<ul id="what-happens"><li>what the message was about is undone where it still can be: a sign-in method added then is removed, recovery codes made then stop working;</li>
<li>every session of the account is signed out, and remembered devices are forgotten;</li>
<li>changes to the account's two-step verification are frozen until your administrator resets it: nobody, you included, can add or remove a sign-in method, get new recovery codes or change the password. You can still sign in with the methods that remain.</li></ul>
<form method="post" action="/wasnt-me" id="wasnt-me">{h}<input type="hidden" name="user" value="{user}"><input type="hidden" name="token" value="{token}"><button>Yes, this wasn't me: secure my account</button></form>
<p><a href="/">It was me: do nothing</a></p>"#,
        user = escape(&user),
        token = escape(&token),
        h = hidden(&csrf),
    );
    NoStore(page(title, &body)).into_response()
}

/// Redeems the link: freezes the account's MFA changes, revokes what the notice was
/// about, signs every session out; or says why the link does nothing.
async fn wasnt_me(State(app): State<App>, client: Client, Form(form): Form<LinkForm>) -> Page {
    let title = "This wasn't me";
    let user = form.user.as_deref().map(|u| u.trim().to_lowercase()).unwrap_or_default();
    let token = form.token.unwrap_or_default();
    // Only a user of this application: the service would write a refusal for any name.
    if app.db.account(&user).is_none() {
        return Ok(refused_page(title, &Refusal::DisownLinkInvalid));
    }
    let user = UserId::new(user.as_str());
    // The names of what may be revoked, to say it in the user's words.
    let before = app.mfa.authenticators(&user).await?;
    let context = app.web.password_step_context(&user, &client).await?;
    match app.mfa.disown(&user, &token, &context).await? {
        Ok(disowned) => Ok(disowned_page(&disowned, &before).into_response()),
        Err(refusal) => Ok(refused_page(title, &refusal)),
    }
}

/// What redeeming the link did, in the user's words.
fn disowned_page(disowned: &Disowned, before: &[mfa_kit::record::AuthenticatorInfo]) -> Html<String> {
    let revoked: String = disowned
        .revoked
        .iter()
        .map(|what| {
            let text = match what.as_str() {
                "recovery_codes" => "The recovery codes made then: they no longer work.".to_string(),
                "primary_destination" => {
                    "The main phone number or e-mail address for sign-in codes confirmed then.".to_string()
                }
                "backup_destination" => {
                    "The backup phone number or e-mail address for sign-in codes confirmed then.".to_string()
                }
                id => match before.iter().find(|a| a.id == id) {
                    Some(a) if a.method == Method::SecurityKey => {
                        format!("The security key \u{201c}{}\u{201d} added then.", a.name)
                    }
                    Some(a) => format!("The authenticator app \u{201c}{}\u{201d} set up then.", a.name),
                    None => "The device remembered then.".to_string(),
                },
            };
            format!("<li>{}</li>", escape(&text))
        })
        .collect();
    let revoked = if revoked.is_empty() {
        "<p>What the message was about could not be undone: it was gone already, or was not something that can be taken back.</p>".to_string()
    } else {
        format!(r#"<p>Removed from the account:</p><ul id="revoked">{revoked}</ul>"#)
    };
    let body = format!(
        r#"<p class="ok" id="outcome">Done: your account is secured.</p>{revoked}
<p id="signed-out">Every session of the account was signed out, and remembered devices were forgotten.</p>
<p class="warn" id="frozen">Changes to your two-step verification are now frozen until your administrator resets it: nobody can add or remove a sign-in method, get new recovery codes or change the password. You can still sign in with the methods that remain.</p>
<p>Tell your administrator what happened, so they can check the account and reset it.</p><p><a href="/sign-in">Sign in</a></p>"#
    );
    page("Your account is frozen", &body)
}

// ---- HTML ----

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title} · mfa-kit demo</title><style>
body{{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2433}}
h1{{font-size:1.6rem}} label{{display:block;margin:.6rem 0}} input,select{{font:inherit;padding:.3rem;margin-left:.3rem}}
button,.button{{font:inherit;padding:.4rem 1rem;background:#2457c5;color:#fff;border:0;border-radius:4px;text-decoration:none;cursor:pointer}}
button.link{{background:none;color:#2457c5;padding:0}} .inline{{display:flex;gap:.3rem;margin:0}} .inline button{{padding:.2rem .6rem}}
table{{border-collapse:collapse;margin:1rem 0;font-size:.9rem}} td,th{{border:1px solid #ccd;padding:.3rem .5rem;text-align:left}}
.ok,.Success{{color:#16703a}} .bad,.Failure,.warn{{color:#b3261e}} .notice{{background:#fdecea;border-left:4px solid #b3261e;padding:.5rem 1rem}}
#qr svg{{width:220px;height:220px}} section.key{{border:1px solid #ccd;border-radius:6px;padding:0 1rem 1rem;margin:1rem 0;max-width:36rem}}
details.rename summary{{color:#2457c5;cursor:pointer}} details.rename[open] summary{{margin-bottom:.3rem}} .code{{font-family:monospace;font-size:1.1rem}} code{{word-break:break-all}}
#counts{{display:flex;flex-wrap:wrap;gap:.4rem 1.4rem;list-style:none;padding:0}} #audit li{{margin:.25rem 0}}
.demo{{background:#fff8e1;border-left:4px solid #c98a00;padding:.5rem 1rem}} article.mail{{border:1px solid #ccd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}}
article.mail dl{{display:grid;grid-template-columns:7rem 1fr;margin:.3rem 0;font-size:.9rem}} article.mail dt{{color:#556}} article.mail dd{{margin:0}} .subject{{font-weight:600}}
pre.mail-text{{white-space:pre-wrap;font:.95rem/1.45 ui-monospace,monospace;background:#f6f7f9;padding:.7rem;border-radius:4px}} .wasnt-me a{{font-weight:600;color:#b3261e}}
</style></head><body><h1>{title}</h1>{body}</body></html>"#
    ))
}

fn message_page(title: &str, message: &str) -> Html<String> {
    page(title, &format!(r#"{}<p><a href="/">Continue</a></p>"#, notice(message)))
}

/// A refusal on a page of its own, with its status.
fn refused_page(title: &str, refusal: &Refusal) -> Response {
    (status_for(refusal), message_page(title, &refusal.to_string())).into_response()
}

fn notice(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(r#"<p class="notice" role="alert">{}</p>"#, escape(message))
    }
}

fn hidden(csrf: &CsrfToken) -> String {
    format!(r#"<input type="hidden" name="{}" value="{}">"#, CsrfToken::FIELD, csrf.as_str())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A number of seconds, in the largest unit that divides it evenly.
fn span(seconds: u64) -> String {
    let units = [(86_400, "day"), (3600, "hour"), (60, "minute")];
    let (size, unit) =
        units.into_iter().find(|(size, _)| seconds.is_multiple_of(*size)).unwrap_or((1, "second"));
    let n = seconds / size;
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}
