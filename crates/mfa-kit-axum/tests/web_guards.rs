//! Web-session promises beside `web.rs`'s: session fixation, failure paths (session
//! store, service, clock), the CSRF middleware's body handling (size limit, JSON,
//! multipart), the pending stages after the second factor, and the device cookie's
//! lifetime.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Router, middleware};
use http_body_util::BodyExt;
use mfa_kit::UserId;
use mfa_kit::clock::{Clock, ClockError, ManualClock};
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::flow::Proven;
use mfa_kit::flow::session::SessionVerdict;
use mfa_kit::policy::{Decision, OrgSettings, SignInContext};
use mfa_kit::prelude::*;
use mfa_kit_axum::{
    Accounts, AddingSecurityKey, CsrfToken, MAX_FORM_BYTES, MfaSession, MfaWeb, OrgSource, SecondFactorDue,
    SignedIn, UNAVAILABLE, UserOrg, WebError, csrf_protect, require_signed_in,
};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

mod common;
use common::Browser;

const NOW: u64 = 1_751_360_400;
const ORIGIN: &str = "https://app.example";

type Service = MfaService<MemoryStore, PlaintextSealer>;

/// A clock that can be made to fail.
#[derive(Clone)]
struct FlakyClock {
    time: ManualClock,
    down: Arc<AtomicBool>,
}

impl Clock for FlakyClock {
    fn now(&self) -> Result<u64, ClockError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ClockError("the clock is unreadable".into()));
        }
        self.time.now()
    }
}

/// The service as the guard sees it, which can be made to fail like its store.
struct FlakyAccounts {
    mfa: Arc<Service>,
    down: Arc<AtomicBool>,
}

type AccountFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, mfa_kit::service::Error>> + Send + 'a>>;

impl Accounts for FlakyAccounts {
    fn check_session<'a>(
        &'a self,
        user: &'a UserId,
        context: &'a SignInContext,
    ) -> AccountFuture<'a, SessionVerdict> {
        Box::pin(async move {
            if self.down.load(Ordering::SeqCst) {
                return Err(mfa_kit::service::Error::HashKeyMissing);
            }
            self.mfa.check_session(user, context).await
        })
    }

    fn generation<'a>(&'a self, user: &'a UserId) -> AccountFuture<'a, u64> {
        Box::pin(async move {
            if self.down.load(Ordering::SeqCst) {
                return Err(mfa_kit::service::Error::HashKeyMissing);
            }
            self.mfa.generation(user).await
        })
    }

    fn sign_out<'a>(&'a self, user: &'a UserId, context: &'a SignInContext) -> AccountFuture<'a, bool> {
        Box::pin(async move {
            if self.down.load(Ordering::SeqCst) {
                return Err(mfa_kit::service::Error::HashKeyMissing);
            }
            self.mfa.sign_out(user, context).await
        })
    }
}

/// A session store that can be made to fail.
#[derive(Clone, Debug)]
struct FlakyStore {
    inner: tower_sessions::MemoryStore,
    down: Arc<AtomicBool>,
}

impl FlakyStore {
    fn check(&self) -> session_store::Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(session_store::Error::Backend("the session store is unreachable".into()));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl SessionStore for FlakyStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.check()?;
        self.inner.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.check()?;
        self.inner.save(record).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.check()?;
        self.inner.load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.check()?;
        self.inner.delete(id).await
    }
}

struct Orgs;

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl OrgSource for Orgs {
    type Error = Never;

    async fn org_for(&self, _user: &UserId) -> Result<UserOrg, Never> {
        Ok(UserOrg::new(Arc::new(OrgSettings::default())).in_org("acme"))
    }
}

#[derive(Clone)]
struct App {
    web: MfaWeb,
    mfa: Arc<Service>,
    clock: FlakyClock,
    sessions_down: Arc<AtomicBool>,
    service_down: Arc<AtomicBool>,
}

impl FromRef<App> for MfaWeb {
    fn from_ref(app: &App) -> MfaWeb {
        app.web.clone()
    }
}

fn decision(name: &str) -> Decision {
    let challenge = |key: bool, backup: bool| Decision::Challenge {
        methods: vec![Method::Totp],
        reason: Reason::Enrolled,
        needs_backup: backup,
        backup_blocking: backup,
        restricted: vec![],
        offer_security_key: key,
        security_key_blocking: key,
    };
    match name {
        "allow" => Decision::Allow { reason: Reason::NotRequired },
        "challenge" => challenge(false, false),
        "challenge-key" => challenge(true, false),
        "challenge-backup" => challenge(false, true),
        "require" => Decision::RequireEnrollment { reason: Reason::OrgEnforced },
        _ => Decision::SuggestEnrollment { reason: Reason::LevelSuggested, deadline: None },
    }
}

async fn password(
    State(app): State<App>,
    session: MfaSession,
    axum::extract::Path((user, name)): axum::extract::Path<(String, String)>,
) -> Result<Response, WebError> {
    let next = session.password_verified(UserId::new(&user), &decision(&name)).await?;
    Ok(next.path(&app.web, "/home").to_string().into_response())
}

/// A second factor the host checked itself.
async fn code(State(app): State<App>, due: SecondFactorDue, session: MfaSession) -> Result<String, WebError> {
    let proof = Proven {
        method: Method::Totp,
        drift: Some(0),
        at: app.clock.time.now().unwrap(),
        phishing_resistant: false,
    };
    let state = session.second_factor_proven(&proof).await?;
    Ok(match state {
        Some(state) => format!("{} {:?}", due.user, state.stage()),
        None => "none".into(),
    })
}

/// Echoes what reached the handler: its content type and its body.
async fn echo(request: axum::extract::Request) -> String {
    let kind = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes: Bytes = request.into_body().collect().await.unwrap().to_bytes();
    format!("{kind} {} {}", bytes.len(), String::from_utf8_lossy(&bytes[..bytes.len().min(40)]))
}

fn app() -> (Router, App) {
    let clock = FlakyClock { time: ManualClock::new(NOW), down: Arc::new(AtomicBool::new(false)) };
    let mfa = Arc::new(
        MfaService::builder("Test", MemoryStore::new(), PlaintextSealer)
            .clock(clock.clone())
            .hash_key(HashKey::generate().unwrap())
            .build(),
    );
    let service_down = Arc::new(AtomicBool::new(false));
    let accounts = FlakyAccounts { mfa: mfa.clone(), down: service_down.clone() };
    let web = MfaWeb::builder(Orgs, accounts).public_origin(ORIGIN).clock(clock.clone()).build().unwrap();
    let sessions_down = Arc::new(AtomicBool::new(false));
    let store = FlakyStore { inner: tower_sessions::MemoryStore::default(), down: sessions_down.clone() };
    let app = App { web: web.clone(), mfa, clock, sessions_down, service_down };
    let protected = Router::new()
        .route("/protected", get(|user: SignedIn| async move { format!("hello {}", user.user) }))
        .route_layer(middleware::from_fn_with_state(web.clone(), require_signed_in));
    let router = Router::new()
        .merge(protected)
        .route("/token", get(|token: CsrfToken| async move { token.as_str().to_string() }))
        .route("/password/{user}/{decision}", post(password))
        .route("/code", post(code))
        .route("/due", get(|due: SecondFactorDue| async move { format!("due {}", due.user) }))
        .route("/key-page", get(|who: AddingSecurityKey| async move { format!("add a key, {}", who.user) }))
        .route("/echo", any(echo))
        .route(
            "/sign-out",
            post(|session: MfaSession| async move { session.sign_out().await.map(|()| "signed out") }),
        )
        .layer(middleware::from_fn_with_state(web, csrf_protect))
        .layer(tower_sessions::SessionManagerLayer::new(store).with_secure(false))
        .with_state(app.clone());
    (router, app)
}

// ---- session fixation ----

/// `MfaSession`: "Every change of stage gives the session a new id (against session
/// fixation)". A session id an attacker planted before the password (and whose CSRF
/// token they read) is worth nothing after it, and neither is the pending one after the
/// second factor. (Passes: guards the rotation end to end.)
#[tokio::test]
async fn a_session_id_known_before_a_stage_change_is_worth_nothing_after_it() {
    let (router, _) = app();
    let mut attacker = Browser::new(&router);
    let planted_token = attacker.get("/token").await.1;
    let planted = attacker.cookies.clone();
    let mut victim = Browser::new(&router);
    victim.cookies = planted.clone();
    assert_eq!(victim.post_form("/password/alice/challenge", "").await.1, "/sign-in/code");
    assert_ne!(victim.cookies, planted, "the id changed at the password");
    assert_eq!(attacker.get("/due").await.2.as_deref(), Some("/sign-in"), "the planted id has no user");
    let pending = victim.cookies.clone();
    let (_, body, _) = victim.post_form("/code", "").await;
    assert_eq!(body, "alice SignedIn");
    assert_eq!(victim.get("/protected").await.1, "hello alice");

    let mut holder = Browser::new(&router);
    holder.cookies = pending;
    assert_eq!(holder.get("/protected").await.2.as_deref(), Some("/sign-in"), "the pending id is dead");
    holder.cookies = planted;
    assert_eq!(holder.get("/protected").await.2.as_deref(), Some("/sign-in"), "the planted id is dead");
    // The planted session's token does not work on the victim's session either.
    let form = Request::post("/echo").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    assert_eq!(victim.send(form, format!("csrf_token={planted_token}")).await.0, StatusCode::FORBIDDEN);
}

/// A browser that signs in as another user: the session is the new user's only, under a
/// new id, and the previous user's id is dead. (Passes.)
#[tokio::test]
async fn signing_in_as_another_user_leaves_nothing_of_the_first() {
    let (router, _) = app();
    let mut browser = Browser::new(&router);
    assert_eq!(browser.post_form("/password/alice/allow", "").await.1, "/home");
    let alices = browser.cookies.clone();
    assert_eq!(browser.post_form("/password/bob/challenge", "").await.1, "/sign-in/code");
    assert_eq!(browser.get("/protected").await.2.as_deref(), Some("/sign-in/code"), "bob's code is due");
    assert_eq!(browser.get("/due").await.1, "due bob");
    let mut holder = Browser::new(&router);
    holder.cookies = alices;
    assert_eq!(holder.get("/protected").await.2.as_deref(), Some("/sign-in"));
}

// ---- failure paths ----

/// README: "a [`WebError`] is logged and answered with a generic `503`, letting nobody
/// in". The session store unreachable: guarded pages, forms and the password step are
/// refused with 503. (Passes.)
#[tokio::test]
async fn the_session_store_down_lets_nobody_in() {
    let (router, app) = app();
    let mut browser = Browser::new(&router);
    assert_eq!(browser.post_form("/password/alice/allow", "").await.1, "/home");
    let token = browser.get("/token").await.1;
    app.sessions_down.store(true, Ordering::SeqCst);
    let (status, body, _) = browser.get("/protected").await;
    assert_eq!((status, body.as_str()), (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE));
    let form = Request::post("/echo").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let (status, body, _) = browser.send(form, format!("csrf_token={token}")).await;
    assert!(status.is_server_error() && !body.contains("csrf_token"), "{status} {body}");
    // A browser whose session the store holds cannot sign in while it is down.
    let mut other = Browser::new(&router);
    app.sessions_down.store(false, Ordering::SeqCst);
    let other_token = other.get("/token").await.1;
    app.sessions_down.store(true, Ordering::SeqCst);
    let by_header = Request::post("/password/mallory/allow").header(CsrfToken::HEADER, other_token);
    assert_eq!(other.send(by_header, "").await.0, StatusCode::SERVICE_UNAVAILABLE);
    app.sessions_down.store(false, Ordering::SeqCst);
    assert_eq!(other.get("/protected").await.2.as_deref(), Some("/sign-in"));
    assert_eq!(browser.get("/protected").await.1, "hello alice", "nothing was lost");
}

/// The MFA service failing (its store): a guarded request is answered 503, and a
/// password step whose generation cannot be read signs nobody in. (Passes.)
#[tokio::test]
async fn the_service_down_lets_nobody_in() {
    let (router, app) = app();
    let mut signed_in = Browser::new(&router);
    assert_eq!(signed_in.post_form("/password/alice/allow", "").await.1, "/home");
    let mut pending = Browser::new(&router);
    assert_eq!(pending.post_form("/password/bob/challenge", "").await.1, "/sign-in/code");
    let mut fresh = Browser::new(&router);
    fresh.get("/token").await;
    app.service_down.store(true, Ordering::SeqCst);
    let (status, body, _) = signed_in.get("/protected").await;
    assert_eq!((status, body.as_str()), (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE));
    assert_eq!(pending.get("/due").await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(pending.post_form("/code", "").await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(fresh.post_form("/password/carol/allow", "").await.0, StatusCode::SERVICE_UNAVAILABLE);
    app.service_down.store(false, Ordering::SeqCst);
    assert_eq!(fresh.get("/protected").await.2.as_deref(), Some("/sign-in"), "carol was not signed in");
    assert_eq!(pending.get("/protected").await.2.as_deref(), Some("/sign-in/code"), "bob still pending");
}

/// The clock failing: no guarded request, no second factor, no password step and no
/// device cookie goes through. (Passes.)
#[tokio::test]
async fn a_failing_clock_lets_nobody_in() {
    let (router, app) = app();
    let mut signed_in = Browser::new(&router);
    assert_eq!(signed_in.post_form("/password/alice/allow", "").await.1, "/home");
    let mut pending = Browser::new(&router);
    assert_eq!(pending.post_form("/password/bob/challenge", "").await.1, "/sign-in/code");
    let mut fresh = Browser::new(&router);
    fresh.get("/token").await;
    let alice = UserId::new("alice");
    let context = SignInContext::default();
    app.clock.down.store(true, Ordering::SeqCst);
    let (status, body, _) = signed_in.get("/protected").await;
    assert_eq!((status, body.as_str()), (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE));
    assert_eq!(pending.get("/due").await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(pending.post_form("/code", "").await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(fresh.post_form("/password/carol/allow", "").await.0, StatusCode::SERVICE_UNAVAILABLE);
    app.clock.down.store(false, Ordering::SeqCst);
    assert_eq!(fresh.get("/protected").await.2.as_deref(), Some("/sign-in"), "carol was not signed in");
    assert_eq!(pending.get("/protected").await.2.as_deref(), Some("/sign-in/code"), "bob still pending");
    // The device cookie needs the clock too.
    let remembered = remembered_device(&app, &alice, 86_400).await;
    let _ = context;
    app.clock.down.store(true, Ordering::SeqCst);
    assert!(matches!(app.web.remember_cookie(&remembered), Err(WebError::Clock(_))));
    app.clock.down.store(false, Ordering::SeqCst);
}

/// Enrolls `user` through the service, proves a code and remembers a device.
async fn remembered_device(app: &App, user: &UserId, lifetime: u64) -> mfa_kit::flow::device::Remembered {
    let here = SignInContext::default();
    let start = app.mfa.start_enrollment(user, "u@example.com", &here).await.unwrap().unwrap();
    let key = KeyUri::parse(&start.uri).unwrap();
    let phone = Totp::new(key.secret(), key.totp_params().unwrap());
    let now = app.clock.time.now().unwrap();
    let (first, second) =
        (phone.generate(now - 30).unwrap().to_string(), phone.generate(now).unwrap().to_string());
    app.mfa.confirm_enrollment(user, &[&first, &second], &here).await.unwrap().unwrap();
    app.clock.time.advance(30);
    let code = phone.generate(app.clock.time.now().unwrap()).unwrap().to_string();
    app.mfa.verify_code(user, &code, &here).await.unwrap().unwrap();
    app.mfa.remember_device(user, "laptop", lifetime, &here).await.unwrap().unwrap()
}

// ---- the device cookie ----

/// `remember_cookie`: "its `Max-Age` is that expiry less the service's clock now, so
/// both agree": a cookie written 100 seconds after the service remembered the device
/// lives 100 seconds less; one for an expiry already past is a deletion. (Passes.)
#[tokio::test]
async fn the_device_cookie_ends_when_the_service_says_even_when_written_later() {
    let (_, app) = app();
    let alice = UserId::new("alice");
    let remembered = remembered_device(&app, &alice, 86_400).await;
    let expires = remembered.info.expires_at;
    app.clock.time.advance(100);
    let cookie = app.web.remember_cookie(&remembered).unwrap();
    let text = cookie.header_value().to_str().unwrap().to_string();
    let max_age = format!("Max-Age={}", expires - app.clock.time.now().unwrap());
    assert!(text.split("; ").any(|a| a == max_age), "{text} (want {max_age})");
    assert!(text.starts_with(&format!("mfa_device={};", remembered.token.as_str())));
    app.clock.time.set(expires + 1);
    let text = app.web.remember_cookie(&remembered).unwrap().header_value().to_str().unwrap().to_string();
    assert!(text.contains("Max-Age=0"), "{text}");
}

// ---- CSRF body handling ----

/// `csrf_protect`: "The form body is read (up to [`MAX_FORM_BYTES`]) and handed on
/// unchanged"; `MAX_FORM_BYTES`: "The largest form body csrf_protect reads: 1 MiB". A
/// form of exactly that size with its token passes, whole; one byte more is `413`.
/// (Passes.)
#[tokio::test]
async fn a_form_of_the_largest_size_passes_whole_and_a_larger_one_is_413() {
    let (router, _) = app();
    let mut browser = Browser::new(&router);
    let token = browser.get("/token").await.1;
    let head = format!("csrf_token={token}&pad=");
    let body = format!("{head}{}", "a".repeat(MAX_FORM_BYTES - head.len()));
    assert_eq!(body.len(), MAX_FORM_BYTES);
    let form = || Request::post("/echo").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let (status, echoed, _) = browser.send(form(), body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{echoed}");
    assert!(echoed.starts_with(&format!("application/x-www-form-urlencoded {MAX_FORM_BYTES} csrf_token=")));
    let (status, _, _) = browser.send(form(), format!("{body}a")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// A script's JSON request with the token in the header passes with its body intact; the
/// token inside a JSON body or a multipart form (not a URL-encoded form) is not read, so
/// those are refused; multipart with the header passes. (Passes.)
#[tokio::test]
async fn json_and_multipart_requests_need_the_token_in_the_header() {
    let (router, _) = app();
    let mut browser = Browser::new(&router);
    let token = browser.get("/token").await.1;
    let json = format!(r#"{{"csrf_token":"{token}"}}"#);
    let post = |kind: &str| Request::post("/echo").header(header::CONTENT_TYPE, kind);
    let (status, body, _) = browser.send(post("application/json"), json.clone()).await;
    assert_eq!((status, body.as_str()), (StatusCode::FORBIDDEN, mfa_kit_axum::CSRF_REFUSED));
    let with_header = post("application/json").header(CsrfToken::HEADER, &token);
    let (status, body, _) = browser.send(with_header, json.clone()).await;
    assert_eq!((status, body), (StatusCode::OK, format!("application/json {} {}", json.len(), &json[..40])));
    let multipart =
        format!("--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--b--\r\n");
    let kind = "multipart/form-data; boundary=b";
    assert_eq!(browser.send(post(kind), multipart.clone()).await.0, StatusCode::FORBIDDEN);
    let with_header = post(kind).header(CsrfToken::HEADER, &token);
    assert_eq!(browser.send(with_header, multipart).await.0, StatusCode::OK);
    // A body that says it is a form but is not one: no token read from it.
    let bad = post("application/x-www-form-urlencoded");
    assert_eq!(browser.send(bad, vec![0xffu8, b'=', 0xfe]).await.0, StatusCode::FORBIDDEN);
}

// ---- the stages after the second factor ----

/// `Stage::SecurityKey` after the second factor: a new id and a new token (a change of
/// stage), held at the key page, and forgotten after the pending lifetime like any
/// pending stage. (Passes.)
#[tokio::test]
async fn the_security_key_stage_is_a_stage_change_and_a_pending_one() {
    let (router, app) = app();
    let mut browser = Browser::new(&router);
    assert_eq!(browser.post_form("/password/kim/challenge-key", "").await.1, "/sign-in/code");
    let (pending_ids, pending_token) = (browser.cookies.clone(), browser.get("/token").await.1);
    assert_eq!(browser.post_form("/code", "").await.1, "kim SecurityKey");
    assert_ne!(browser.cookies, pending_ids);
    assert_ne!(browser.get("/token").await.1, pending_token);
    assert_eq!(browser.get("/protected").await.2.as_deref(), Some("/mfa/security-key"));
    assert_eq!(browser.get("/key-page").await.1, "add a key, kim");
    app.clock.time.advance(600);
    assert_eq!(browser.get("/key-page").await.2.as_deref(), Some("/sign-in"));
    assert_eq!(browser.get("/protected").await.2.as_deref(), Some("/sign-in"));
}
