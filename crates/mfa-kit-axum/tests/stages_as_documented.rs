//! A host developer's reading of mfa-kit-axum's documentation (README.md and the
//! rustdoc of the public items), checked one promise at a time through a router built
//! with the crate's pieces over the real service, driven in-process.
//!
//! Each test quotes the sentence it checks (file:line at the time of writing).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router, middleware};
use mfa_kit::clock::{Clock, ManualClock};
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::AuditEvent;
use mfa_kit::flow::enrollment::Confirmed;
use mfa_kit::flow::oversight::ResetRequest;
use mfa_kit::policy::{BackupRule, Decision, OrgSettings, SignInContext};
use mfa_kit::prelude::*;
use mfa_kit::record::UserRecord;
use mfa_kit::service::permissions;
use mfa_kit::store::{InPlace, SaveOutcome, Store, Version, Versioned};
use mfa_kit_axum::{
    CSRF_REFUSED, Client, CsrfToken, Enrolling, KeyOptions, MfaSession, MfaWeb, OrgSource, Paths, Refused,
    SecondFactorDue, SignedIn, UserOrg, WebError, csrf_protect, require_signed_in,
};

mod common;
use common::Browser;

const NOW: u64 = 1_751_360_400;
const ORIGIN: &str = "https://app.example";
/// A second configured public origin.
const OTHER_ORIGIN: &str = "https://www.app.example:8443";
/// The peer address `common::Browser` sends from.
const PEER: &str = "198.51.100.9:50000";

type Service = MfaService<Counting, PlaintextSealer>;

/// The in-memory store, counting how often a user's record is read (loaded, or
/// changed where it is kept).
#[derive(Default)]
struct Counting {
    inner: MemoryStore,
    reads: Arc<AtomicUsize>,
}

impl Store for Counting {
    type Error = <MemoryStore as Store>::Error;

    async fn load(&self, user: &UserId) -> Result<Option<Versioned>, Self::Error> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(user).await
    }

    async fn save(
        &self,
        record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> Result<SaveOutcome, Self::Error> {
        self.inner.save(record, expected, events).await
    }

    async fn append_events(&self, events: Vec<AuditEvent>) -> Result<(), Self::Error> {
        self.inner.append_events(events).await
    }

    fn change_in_place<R>(
        &self,
        user: &UserId,
        change: impl FnOnce(&mut UserRecord) -> (R, InPlace),
    ) -> Option<R> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.change_in_place(user, change)
    }
}

#[derive(Clone)]
struct App {
    web: MfaWeb,
    mfa: Arc<Service>,
    clock: ManualClock,
    reads: Arc<AtomicUsize>,
}

impl FromRef<App> for MfaWeb {
    fn from_ref(app: &App) -> MfaWeb {
        app.web.clone()
    }
}

/// One organisation ("acme"); its users are "staff", and "boss" is a principal.
#[derive(Clone, Default)]
struct Orgs(Arc<Mutex<OrgSettings>>);

impl OrgSource for Orgs {
    type Error = std::convert::Infallible;

    async fn org_for(&self, user: &UserId) -> Result<UserOrg, Self::Error> {
        let settings = Arc::new(self.0.lock().unwrap().clone());
        let org = UserOrg::new(settings).in_org("acme").with_user_type("staff");
        Ok(if user.as_str() == "boss" { org.as_principal() } else { org })
    }
}

#[derive(Default)]
struct Setup {
    settings: OrgSettings,
    paths: Option<Paths>,
    pending_lifetime: Option<u64>,
}

fn app(setup: Setup) -> (Router, App) {
    let clock = ManualClock::new(NOW);
    let store = Counting::default();
    let reads = store.reads.clone();
    let mfa = Arc::new(
        MfaService::builder("Test", store, PlaintextSealer)
            .clock(clock.clone())
            .hash_key(HashKey::generate().unwrap())
            .build(),
    );
    let mut builder = MfaWeb::builder(Orgs(Arc::new(Mutex::new(setup.settings))), mfa.clone())
        .public_origin(ORIGIN)
        .public_origin(OTHER_ORIGIN)
        .clock(clock.clone());
    if let Some(paths) = setup.paths {
        builder = builder.paths(paths);
    }
    if let Some(seconds) = setup.pending_lifetime {
        builder = builder.pending_lifetime(seconds);
    }
    let web = builder.build().unwrap();
    let app = App { web: web.clone(), mfa, clock, reads };
    let protected = Router::new()
        .route("/protected", get(|user: SignedIn| async move { format!("hello {}", user.user) }))
        .route("/recovery-codes", post(recovery_codes))
        .route_layer(middleware::from_fn_with_state(web.clone(), require_signed_in));
    let router = Router::new()
        .merge(protected)
        .route("/token", get(|token: CsrfToken| async move { token.as_str().to_string() }))
        .route("/password/{user}", post(password))
        .route("/password-as/{user}/{decision}", post(password_as))
        .route("/code", post(code))
        .route("/due", get(|due: SecondFactorDue| async move { format!("due {}", due.user) }))
        .route("/enroll/start", post(start_enrollment))
        .route("/enroll/confirm", post(confirm_enrollment))
        .route("/enrolled", post(enrolled))
        .route("/key-options/refused", get(|| async { KeyOptions(Err(Refusal::CeremonyExpired)) }))
        .route(
            "/sign-out",
            post(|session: MfaSession| async move { session.sign_out().await.map(|()| "signed out") }),
        )
        .layer(middleware::from_fn_with_state(web, csrf_protect))
        .layer(
            tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default())
                .with_secure(false),
        )
        .with_state(app.clone());
    (router, app)
}

/// The password step with the service's own decision: answers where to go next.
async fn password(
    State(app): State<App>,
    session: MfaSession,
    client: Client,
    axum::extract::Path(user): axum::extract::Path<String>,
) -> Result<Response, WebError> {
    let user = UserId::new(&user);
    let context = app.web.password_step_context(&user, &client).await?;
    match app.mfa.sign_in_decision(&user, &context).await? {
        Ok(decision) => {
            let next = session.password_verified(user, &decision).await?;
            Ok(next.path(&app.web, "/home").to_string().into_response())
        }
        Err(refusal) => Ok(Refused(refusal).into_response()),
    }
}

/// The password step with a decision the test names.
async fn password_as(
    State(app): State<App>,
    session: MfaSession,
    axum::extract::Path((user, name)): axum::extract::Path<(String, String)>,
) -> Result<String, WebError> {
    let decision = match name.as_str() {
        "suggest" => Decision::SuggestEnrollment { reason: Reason::OrgEnforced, deadline: None },
        other => panic!("no decision {other}"),
    };
    let next = session.password_verified(UserId::new(user), &decision).await?;
    Ok(next.path(&app.web, "/home").to_string())
}

#[derive(serde::Deserialize)]
struct CodeForm {
    code: String,
}

async fn code(
    State(app): State<App>,
    due: SecondFactorDue,
    session: MfaSession,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    match app.mfa.verify_code(&due.user, &form.code, &due.context).await? {
        Ok(proof) => {
            let state = session.second_factor_proven(&proof).await?;
            Ok(state.map_or("none".into(), |s| s.landing(&app.web, "/home").to_string()).into_response())
        }
        Err(refusal) => Ok(Refused(refusal).into_response()),
    }
}

async fn start_enrollment(State(app): State<App>, who: Enrolling) -> Result<Response, WebError> {
    Ok(match app.mfa.start_enrollment(&who.user, "u@example.com", &who.context).await? {
        Ok(start) => start.uri.to_string().into_response(),
        Err(refusal) => Refused(refusal).into_response(),
    })
}

#[derive(serde::Deserialize)]
struct Codes {
    first: String,
    second: String,
}

/// Confirms a real enrollment and moves the session on: answers where it landed.
async fn confirm_enrollment(
    State(app): State<App>,
    who: Enrolling,
    session: MfaSession,
    Form(codes): Form<Codes>,
) -> Result<Response, WebError> {
    match app.mfa.confirm_enrollment(&who.user, &[&codes.first, &codes.second], &who.context).await? {
        Ok(confirmed) => Ok(match session.enrollment_confirmed(&confirmed).await? {
            Some(state) => state.landing(&app.web, "/home").to_string().into_response(),
            None => "none".into_response(),
        }),
        Err(refusal) => Ok(Refused(refusal).into_response()),
    }
}

/// Marks the session enrolled after a confirmation the host made itself.
async fn enrolled(State(app): State<App>, _who: Enrolling, session: MfaSession) -> Result<String, WebError> {
    let confirmed = Confirmed { replaced: false, at: app.clock.now().unwrap() };
    let state = session.enrollment_confirmed(&confirmed).await?;
    Ok(format!("{:?}", state.map(|s| s.stage())))
}

async fn recovery_codes(
    State(app): State<App>,
    user: SignedIn,
    session: MfaSession,
) -> Result<Response, WebError> {
    match app.mfa.generate_recovery_codes(&user.user, &user.context).await? {
        Ok(codes) => {
            let kept = session.account_changed().await?;
            Ok(format!("{} codes, kept {kept}", codes.len()).into_response())
        }
        Err(refusal) => Ok(Refused(refusal).into_response()),
    }
}

/// Enrolls `user` through the service directly; returns the authenticator app.
async fn enroll(app: &App, user: &str) -> Totp {
    let user = UserId::new(user);
    let here = SignInContext::default();
    let start = app.mfa.start_enrollment(&user, "u@example.com", &here).await.unwrap().unwrap();
    let key = KeyUri::parse(&start.uri).unwrap();
    let phone = Totp::new(key.secret(), key.totp_params().unwrap());
    let now = app.clock.now().unwrap();
    let (first, second) =
        (phone.generate(now - 30).unwrap().to_string(), phone.generate(now).unwrap().to_string());
    app.mfa.confirm_enrollment(&user, &[&first, &second], &here).await.unwrap().unwrap();
    app.clock.advance(30);
    phone
}

fn code_now(app: &App, phone: &Totp) -> String {
    phone.generate(app.clock.now().unwrap()).unwrap().to_string()
}

async fn sign_in(browser: &mut Browser, app: &App, user: &str, phone: &Totp) {
    let second_factor = app.web.paths().second_factor.clone();
    assert_eq!(browser.post_form(&format!("/password/{user}"), "").await.1, second_factor);
    let landed = browser.post_form("/code", &format!("code={}", code_now(app, phone))).await;
    assert_eq!(landed.1, "/home", "{landed:?}");
    app.clock.advance(30);
}

/// Enrolls from a session at the must-enroll stage, as a browser would: answers where
/// the session landed.
async fn enroll_in_browser(browser: &mut Browser, app: &App) -> String {
    let (status, uri, _) = browser.post_form("/enroll/start", "").await;
    assert_eq!(status, StatusCode::OK, "{uri}");
    let key = KeyUri::parse(&uri).unwrap();
    let phone = Totp::new(key.secret(), key.totp_params().unwrap());
    app.clock.advance(30);
    let now = app.clock.now().unwrap();
    let (first, second) = (phone.generate(now - 30).unwrap(), phone.generate(now).unwrap());
    let (status, landing, _) =
        browser.post_form("/enroll/confirm", &format!("first={first}&second={second}")).await;
    assert_eq!(status, StatusCode::OK, "{landing}");
    landing
}

/// The decision the service gives `user` signing in from the browser's own address.
async fn decision_from_the_browser(app: &App, user: &str) -> Decision {
    let client = Client::from_parts(&app.web, &HeaderMap::new(), Some(PEER.parse::<SocketAddr>().unwrap()));
    let user = UserId::new(user);
    let context = app.web.password_step_context(&user, &client).await.unwrap();
    app.mfa.sign_in_decision(&user, &context).await.unwrap().expect("a decision")
}

fn allowlisted(builder: mfa_kit::policy::OrgSettingsBuilder) -> OrgSettings {
    // The browser's own network is allowed: nothing here is refused for its address.
    builder.allowed_networks(vec!["198.51.100.0/24".parse().unwrap()]).build().unwrap()
}

/// The session cookie tower-sessions writes (`id`), as the browser holds it.
fn session_id(browser: &Browser) -> Option<String> {
    browser.cookies.get("id").cloned()
}

// ---------------------------------------------------------------------------------
// What the organisation requires after enrolling, behind an address allowlist
// ---------------------------------------------------------------------------------

/// src/state.rs:348-352 (`MfaSession::enrollment_confirmed`): "A session that had to
/// enroll first goes on to [`Stage::SecurityKey`] or [`Stage::Backup`] where the
/// organisation requires a key or a backup before going on (the service's sign-in
/// decision, asked now through [`crate::Accounts::decision`])"; README.md:61-62: "A user
/// the organisation requires a key of is held at [`Stage::SecurityKey`] after the second
/// factor (or after enrolling, for a user who had to enroll first)".
///
/// The organisation also limits sign-in to its office network, which the browser is
/// in: the decision asked after the enrollment is asked from the request's own address
/// (asked from none, the allowlist refused it, and the refusal read as "nothing
/// required", which let the session in without the key).
#[tokio::test]
async fn an_enrolling_session_in_an_allowlisted_org_is_held_for_the_required_security_key() {
    let settings = allowlisted(
        OrgSettings::default()
            .to_builder()
            .enforce_for_all(true)
            .phishing_resistant_for(vec!["staff".into()]),
    );
    let (router, app) = app(Setup { settings, ..Setup::default() });
    let mut browser = Browser::new(&router);
    assert_eq!(browser.post_form("/password/erin", "").await.1, "/mfa/enroll", "must enroll first");
    let landing = enroll_in_browser(&mut browser, &app).await;

    // The organisation does require a key of her, from where she is.
    let Decision::Challenge { security_key_blocking, .. } = decision_from_the_browser(&app, "erin").await
    else {
        panic!("a challenge once enrolled")
    };
    assert!(security_key_blocking, "the policy requires a key of staff");

    let (status, _, location) = browser.get("/protected").await;
    assert_eq!(
        (landing.as_str(), status, location.as_deref()),
        ("/mfa/security-key", StatusCode::SEE_OTHER, Some("/mfa/security-key")),
        "the enrolling session skipped the security-key stage because the decision was asked without \
         the request's address"
    );
}

/// src/state.rs:348-352 (as above) and `Stage::Backup` (src/state.rs:44-47): "the
/// organisation requires a backup phone number or e-mail address before going on (a
/// principal user, seed 004): every other page sends the browser to
/// [`crate::Paths::backup`] until one is added". A principal of an organisation with an
/// address allowlist who must enroll first is held at the backup stage.
#[tokio::test]
async fn an_enrolling_principal_in_an_allowlisted_org_is_held_for_the_required_backup() {
    let settings = allowlisted(
        OrgSettings::default()
            .to_builder()
            .enforce_for_all(true)
            .principal_backup(BackupRule::RequireDestination),
    );
    let (router, app) = app(Setup { settings, ..Setup::default() });
    let mut browser = Browser::new(&router);
    assert_eq!(browser.post_form("/password/boss", "").await.1, "/mfa/enroll", "must enroll first");
    let landing = enroll_in_browser(&mut browser, &app).await;

    let Decision::Challenge { backup_blocking, .. } = decision_from_the_browser(&app, "boss").await else {
        panic!("a challenge once enrolled")
    };
    assert!(backup_blocking, "the policy requires a backup of a principal");

    let (status, _, location) = browser.get("/protected").await;
    assert_eq!(
        (landing.as_str(), status, location.as_deref()),
        ("/mfa/backup", StatusCode::SEE_OTHER, Some("/mfa/backup")),
        "the enrolling principal skipped the backup stage because the decision was asked without the \
         request's address"
    );
}

// ---------------------------------------------------------------------------------
// CSRF token renewal
// ---------------------------------------------------------------------------------

/// `csrf_protect`: "The token is replaced at every change of a session's stage
/// (password checked, second factor proved, enrollment confirmed by a session that had
/// to enroll first, sign-out) ...; a signed-in session that proves again or adds a
/// factor keeps its token (its other tabs' forms still post)." A session let in with
/// the suggestion to set up MFA that then confirms an enrollment keeps its token; one
/// that had to enroll gets a new one.
#[tokio::test]
async fn the_csrf_token_is_replaced_when_the_stage_changes_not_when_a_signed_in_session_enrolls() {
    let (router, _app) = app(Setup::default());
    let mut browser = Browser::new(&router);
    assert_eq!(browser.post_form("/password-as/alice/suggest", "").await.1, "/mfa/enroll");
    let before = browser.token().await;
    assert_eq!(browser.post_form("/enrolled", "").await.1, "Some(SignedIn)");
    assert_eq!(browser.token().await, before, "a signed-in session keeps its token");
}

/// src/state.rs:392-397 (`MfaSession::account_changed`): "This session just changed how
/// the account is protected (removed an authenticator, generated recovery codes, ...):
/// every other session of the user ends at its next request, and this one keeps going
/// under the account's new generation, with a new session id (a copy of its old cookie
/// ends with the others)."
#[tokio::test]
async fn new_recovery_codes_end_the_other_sessions_and_renew_the_changers_id() {
    let (router, app) = app(Setup::default());
    let phone = enroll(&app, "alice").await;
    let (mut changer, mut other) = (Browser::new(&router), Browser::new(&router));
    sign_in(&mut changer, &app, "alice", &phone).await;
    sign_in(&mut other, &app, "alice", &phone).await;
    let mut copy = Browser::new(&router);
    copy.cookies = changer.cookies.clone();
    let id_before = session_id(&changer);

    let (status, body, _) = changer.post_form("/recovery-codes", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.ends_with("codes, kept true"), "{body}");
    assert_ne!(session_id(&changer), id_before, "a new session id");
    assert_eq!(changer.get("/protected").await.1, "hello alice", "the changer goes on");

    let (status, _, location) = other.get("/protected").await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/sign-in?ended=account_changed"))
    );
    let (status, _, location) = copy.get("/protected").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "a copy of the old cookie is not let in");
    assert!(location.is_some_and(|l| l.starts_with("/sign-in")));
}

/// src/extract.rs:57-59 (`GuardRejection::Ended`): "The session has ended (...) and was
/// signed out: to the password page, with `?ended=` and the reason's id"; the redirect is
/// `303 See Other` (src/extract.rs:42). A password page configured with a query of
/// its own keeps it; the session cookie is cleared; an admin reset ends a session
/// "whatever its stage" (README.md:19-21), the pending one too.
#[tokio::test]
async fn an_ended_session_goes_to_a_configured_sign_in_path_with_its_query_kept() {
    let paths = Paths::new("/login?from=app", "/login/code", "/mfa/enroll");
    let (router, app) = app(Setup { paths: Some(paths), ..Setup::default() });
    let (admin, alice) = (UserId::new("admin"), UserId::new("alice"));
    let admin_phone = enroll(&app, "admin").await;
    let phone = enroll(&app, "alice").await;
    let mut signed_in = Browser::new(&router);
    sign_in(&mut signed_in, &app, "alice", &phone).await;
    let mut pending = Browser::new(&router);
    assert_eq!(pending.post_form("/password/alice", "").await.1, "/login/code");

    let proof = app.mfa.verify_code(&admin, &code_now(&app, &admin_phone), &SignInContext::default()).await;
    assert!(proof.unwrap().is_ok());
    let reset = ResetRequest::new("demo", &admin, &alice, "lost phone");
    app.mfa
        .reset(reset, &permissions::from_sync_fn(|_| true), &SignInContext::default())
        .await
        .unwrap()
        .unwrap();

    let ended = Some("/login?from=app&ended=account_changed");
    let (status, _, location) = signed_in.get("/protected").await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, ended));
    assert!(signed_in.set_cookies.iter().any(|c| c.starts_with("id=") && c.contains("Max-Age=0")));
    assert!(session_id(&signed_in).is_none());
    let (status, _, location) = pending.get("/due").await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, ended));
}

/// src/config.rs:311-313 (`MfaWebBuilder::pending_lifetime`): "How long, in seconds, a
/// password-checked session waits for its second factor or enrollment before the
/// password must be entered again"; src/state.rs:227-228 (`MfaSession::state`): "A
/// pending stage older than the pending lifetime is forgotten." Forgotten, not ended:
/// to the password page without `?ended=`.
#[tokio::test]
async fn the_configured_pending_lifetime_is_the_one_kept() {
    let (router, app) = app(Setup { pending_lifetime: Some(120), ..Setup::default() });
    enroll(&app, "alice").await;
    let mut browser = Browser::new(&router);
    assert_eq!(browser.post_form("/password/alice", "").await.1, "/sign-in/code");
    app.clock.advance(119);
    assert_eq!(browser.get("/due").await.1, "due alice");
    app.clock.advance(1);
    let (status, _, location) = browser.get("/due").await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/sign-in")));
}

/// src/csrf.rs:91-96 and README.md:48-52: a non-`GET` request passes "only with the
/// session's token ..., with no `Origin` but a configured public origin, and not marked
/// cross-site by the browser. Others get `403 Forbidden` with [`CSRF_REFUSED`]";
/// `public_origin`: "call it again for each further origin".
#[tokio::test]
async fn each_configured_origin_passes_and_anything_else_is_refused_with_the_sentence() {
    let (router, _app) = app(Setup::default());
    let mut browser = Browser::new(&router);
    let token = browser.token().await;
    let form = |extra: &[(&str, &str)]| {
        let mut request = Request::post("/password-as/alice/suggest")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        request
    };
    let mut body = format!("csrf_token={token}");
    for origin in [ORIGIN, OTHER_ORIGIN, "HTTPS://WWW.APP.EXAMPLE:8443"] {
        let (status, text, _) = browser.send(form(&[("origin", origin)]), body).await;
        assert_eq!((status, text.as_str()), (StatusCode::OK, "/mfa/enroll"), "{origin}");
        // The password step renewed the token: read it again.
        body = format!("csrf_token={}", browser.token().await);
    }
    let token = browser.token().await;
    let body = format!("csrf_token={token}");
    for extra in [
        vec![("origin", "https://www.app.example")],
        vec![("origin", "http://app.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("origin", ORIGIN), ("sec-fetch-site", "cross-site")],
    ] {
        let (status, text, _) = browser.send(form(&extra), body.clone()).await;
        assert_eq!((status, text.as_str()), (StatusCode::FORBIDDEN, CSRF_REFUSED), "{extra:?}");
    }
    // The same token still works from the page itself.
    let (status, _, _) = browser.send(form(&[("sec-fetch-site", "same-origin")]), body).await;
    assert_eq!(status, StatusCode::OK);
}

/// src/security_key.rs:14-18 (`KeyOptions`): "the refusal as `{"error": sentence,
/// "code": id}` with its status ([`status_for`] ...). Either way `Cache-Control:
/// no-store`"; as `application/json`.
#[tokio::test]
async fn a_key_options_refusal_is_json_with_its_status_and_never_cached() {
    let (router, _app) = app(Setup::default());
    let mut browser = Browser::new(&router);
    let request = browser.request(Request::get("/key-options/refused"), axum::body::Body::empty());
    let response = tower::ServiceExt::oneshot(router.clone(), request).await.unwrap();
    let headers = response.headers().clone();
    let (status, body, _) = browser.read(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers.get(header::CONTENT_TYPE).unwrap(), "application/json");
    assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"], Refusal::CeremonyExpired.to_string());
    assert_eq!(json["code"], Refusal::CeremonyExpired.code());
}

/// src/state.rs:444-446 (`MfaSession::sign_out`): "the session and everything in it is
/// deleted"; src/csrf.rs:116-118: the token is replaced at sign-out. From the pending
/// stage too: a copy of the cookie reaches no stage, and the old token is refused.
#[tokio::test]
async fn signing_out_from_the_pending_stage_leaves_nothing_behind() {
    let (router, app) = app(Setup::default());
    enroll(&app, "alice").await;
    let mut browser = Browser::new(&router);
    assert_eq!(browser.post_form("/password/alice", "").await.1, "/sign-in/code");
    let old_token = browser.token().await;
    let mut copy = Browser::new(&router);
    copy.cookies = browser.cookies.clone();
    assert_eq!(browser.post_form("/sign-out", "").await.1, "signed out");
    assert!(session_id(&browser).is_none(), "the session cookie is cleared");

    let (status, _, location) = copy.get("/due").await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/sign-in")));
    let form = Request::post("/code").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let (status, _, _) = copy.send(form, format!("code=123456&csrf_token={old_token}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the token of the signed-out session is worth nothing");
}

/// README.md:38-39: "Every check asks the service, so each guarded request reads the
/// user's record once." A request behind `require_signed_in` whose handler takes
/// `SignedIn` (README.md:34-35; src/middleware.rs:12-13: "Handlers behind it can take
/// [`SignedIn`] without a second session read"), signed in or at a pending stage.
#[tokio::test]
async fn each_guarded_request_reads_the_users_record_once() {
    let (router, app) = app(Setup::default());
    let phone = enroll(&app, "alice").await;
    let mut browser = Browser::new(&router);
    assert_eq!(browser.post_form("/password/alice", "").await.1, "/sign-in/code");
    let before = app.reads.load(Ordering::SeqCst);
    let (status, _, location) = browser.get("/protected").await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/sign-in/code")));
    assert_eq!(app.reads.load(Ordering::SeqCst) - before, 1, "a pending session's guarded request");
    browser.post_form("/code", &format!("code={}", code_now(&app, &phone))).await;
    for _ in 0..3 {
        app.clock.advance(61); // the guard also writes the session's last activity
        let before = app.reads.load(Ordering::SeqCst);
        assert_eq!(browser.get("/protected").await.1, "hello alice");
        assert_eq!(app.reads.load(Ordering::SeqCst) - before, 1, "a signed-in session's guarded request");
    }
}

/// src/config.rs:311-313 (`MfaWebBuilder::pending_lifetime`): "How long, in seconds, a
/// password-checked session waits for its second factor or enrollment before the
/// password must be entered again (default 600)"; README.md:21-22: the guard signs out
/// "any **signed-in** session past the organisation's absolute lifetime or inactivity
/// limit".
///
/// In an organisation with a short inactivity limit (two minutes, which its settings
/// allow), a session waiting for its second factor (an e-mailed code held up by a
/// greylisting server, say) is kept for the pending lifetime, not signed out as
/// "inactive" after two minutes: the signed-in limits judge signed-in sessions.
#[tokio::test]
async fn a_pending_session_waits_the_pending_lifetime_not_the_orgs_inactivity_limit() {
    let settings =
        OrgSettings::default().to_builder().session_lifetime(3600).session_idle_timeout(120).build().unwrap();
    let (router, app) = app(Setup { settings, ..Setup::default() });
    enroll(&app, "alice").await;
    let mut browser = Browser::new(&router);
    assert_eq!(browser.post_form("/password/alice", "").await.1, "/sign-in/code");
    app.clock.advance(300); // well within the pending lifetime of 600 s
    let (status, body, location) = browser.get("/due").await;
    assert_eq!(
        (status, body.as_str(), location.as_deref()),
        (StatusCode::OK, "due alice", None),
        "the session waiting for its second factor was ended before the pending lifetime"
    );
}
