//! What the web layer puts on the wire — cookies, headers, status codes, client
//! addresses, session ids — driven in-process through a router built with the crate's
//! pieces, over the real service.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRef, Query, State};
use axum::http::{HeaderName, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router, middleware};
use mfa_kit::clock::{Clock, ManualClock};
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::MemoryAuditLog;
use mfa_kit::policy::{OrgSettings, SignInContext};
use mfa_kit::prelude::*;
use mfa_kit_axum::{
    Client, ClientAddress, CsrfToken, MfaSession, MfaWeb, NoStore, OrgSource, Refused, SecondFactorDue,
    SignedIn, UserOrg, WebError, csrf_protect, no_store, protective_headers, require_signed_in,
};
use tower::ServiceExt;

mod common;
use common::read_response;

const NOW: u64 = 1_751_360_400;
const PEER: &str = "198.51.100.9:50000";

type Service = MfaService<MemoryStore, PlaintextSealer>;

#[derive(Clone)]
struct App {
    web: MfaWeb,
    mfa: Arc<Service>,
    clock: ManualClock,
    audit: Arc<MemoryAuditLog>,
}

impl FromRef<App> for MfaWeb {
    fn from_ref(app: &App) -> MfaWeb {
        app.web.clone()
    }
}

#[derive(Clone, Default)]
struct Orgs(Arc<Mutex<OrgSettings>>);

impl OrgSource for Orgs {
    type Error = std::convert::Infallible;

    async fn org_for(&self, _user: &UserId) -> Result<UserOrg, Self::Error> {
        Ok(UserOrg::new(Arc::new(self.0.lock().unwrap().clone())).in_org("acme"))
    }
}

struct Setup {
    origin: &'static str,
    address: ClientAddress,
    device_cookie: Option<&'static str>,
    settings: OrgSettings,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            origin: "https://app.example",
            address: ClientAddress::Peer,
            device_cookie: None,
            settings: OrgSettings::default(),
        }
    }
}

fn app(setup: Setup) -> (Router, App) {
    let clock = ManualClock::new(NOW);
    let audit = Arc::new(MemoryAuditLog::new());
    let mfa = Arc::new(
        MfaService::builder("Test", MemoryStore::new(), PlaintextSealer)
            .clock(clock.clone())
            .hash_key(HashKey::generate().unwrap())
            .audit(audit.clone())
            .build(),
    );
    let orgs = Orgs(Arc::new(Mutex::new(setup.settings)));
    let mut builder = MfaWeb::builder(orgs, mfa.clone())
        .public_origin(setup.origin)
        .client_address(setup.address)
        .clock(clock.clone());
    if let Some(name) = setup.device_cookie {
        builder = builder.device_cookie_name(name);
    }
    let web = builder.build().unwrap();
    let app = App { web: web.clone(), mfa, clock, audit };
    let protected = Router::new()
        .route("/protected", get(|user: SignedIn| async move { format!("hello {}", user.user) }))
        .route("/password-changed", post(password_changed))
        .route("/remember-device", post(remember_device))
        .route_layer(middleware::from_fn_with_state(web.clone(), require_signed_in));
    let secrets = Router::new()
        .route("/secrets", get(|| async { ([(header::CACHE_CONTROL, "public, max-age=3600")], "ABCD-EFGH") }))
        .route("/secrets/failing", get(|| async { WebError::RandomSource }))
        .route_layer(middleware::from_fn(no_store));
    let router = Router::new()
        .merge(protected)
        .merge(secrets)
        .route(
            "/secret-page",
            get(|| async { NoStore(([(header::CACHE_CONTROL, "max-age=600")], "otpauth://")) }),
        )
        .route("/token", get(|token: CsrfToken| async move { token.as_str().to_string() }))
        .route(
            "/client",
            get(|client: Client| async move {
                format!("{:?} {}", client.request.address, client.device_token.is_some())
            }),
        )
        .route("/password/{user}", post(password))
        .route("/code", post(code))
        .route("/refusal/{which}", get(refusal))
        .route("/forget", post(|State(app): State<App>| async move { (app.web.forget_cookie(), "") }))
        .route(
            "/own-policy",
            get(|| async {
                (
                    [
                        (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
                        (header::CONTENT_SECURITY_POLICY, "default-src 'self'; frame-ancestors 'self'"),
                    ],
                    "framed by the host's own pages",
                )
            }),
        )
        .route(
            "/sign-out",
            post(|session: MfaSession| async move { session.sign_out().await.map(|()| "signed out") }),
        )
        .layer(middleware::from_fn_with_state(web, csrf_protect))
        .layer(middleware::from_fn(protective_headers))
        // The session layer as the README's example writes it (tower-sessions' defaults).
        .layer(tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default()))
        .with_state(app.clone());
    (router, app)
}

/// The password step: the service's own decision, or its refusal.
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
            session.second_factor_proven(&proof).await?;
            Ok(format!("welcome {}", due.user).into_response())
        }
        Err(refusal) => Ok(Refused(refusal).into_response()),
    }
}

async fn password_changed(
    State(app): State<App>,
    user: SignedIn,
    session: MfaSession,
) -> Result<String, WebError> {
    app.mfa.password_changed(&user.user, &user.client.request).await?;
    Ok(format!("kept {}", session.account_changed().await?))
}

#[derive(serde::Deserialize)]
struct Lifetime {
    seconds: u64,
}

async fn remember_device(
    State(app): State<App>,
    user: SignedIn,
    Query(lifetime): Query<Lifetime>,
) -> Result<Response, WebError> {
    Ok(match app.mfa.remember_device(&user.user, "laptop", lifetime.seconds, &user.context).await? {
        Ok(remembered) => {
            let left = remembered.info.expires_at - app.clock.now().unwrap();
            (app.web.remember_cookie(&remembered)?, format!("remembered {left}")).into_response()
        }
        Err(refusal) => Refused(refusal).into_response(),
    })
}

async fn refusal(axum::extract::Path(which): axum::extract::Path<String>) -> Response {
    let refusal = match which.as_str() {
        "wrong" => Refusal::WrongCode { attempts_left: 2 },
        "name" => Refusal::InvalidName,
        "last" => Refusal::LastFactor,
        "too-many" => Refusal::TooManyAuthenticators,
        "already" => Refusal::AlreadyEnrolled,
        _ => Refusal::SameAsPrimary,
    };
    Refused(refusal).into_response()
}

/// A browser: keeps cookies, sends its peer address; keeps the last response's headers.
struct Browser {
    router: Router,
    cookies: std::collections::BTreeMap<String, String>,
    set_cookies: Vec<String>,
    headers: axum::http::HeaderMap,
}

impl Browser {
    fn new(router: &Router) -> Browser {
        Browser {
            router: router.clone(),
            cookies: Default::default(),
            set_cookies: Vec::new(),
            headers: Default::default(),
        }
    }

    async fn send(&mut self, request: axum::http::request::Builder, body: &str) -> (StatusCode, String) {
        let mut request = request.header(header::HOST, "app.example");
        if !self.cookies.is_empty() {
            let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header(header::COOKIE, cookie.join("; "));
        }
        let mut request = request.body(Body::from(body.to_string())).unwrap();
        request.extensions_mut().insert(ConnectInfo(PEER.parse::<SocketAddr>().unwrap()));
        let response = self.router.clone().oneshot(request).await.unwrap();
        self.headers = response.headers().clone();
        let (status, body, _) = read_response(response, &mut self.cookies, &mut self.set_cookies).await;
        (status, body)
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        self.send(Request::get(path), "").await
    }

    async fn location(&mut self, path: &str) -> Option<String> {
        self.get(path).await;
        self.headers.get(header::LOCATION).map(|v| v.to_str().unwrap().to_string())
    }

    async fn post_with(&mut self, path: &str, fields: &str, extra: &[(&str, &str)]) -> (StatusCode, String) {
        let token = self.get("/token").await.1;
        let body = if fields.is_empty() {
            format!("csrf_token={token}")
        } else {
            format!("{fields}&csrf_token={token}")
        };
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        self.send(request, &body).await
    }

    async fn post(&mut self, path: &str, fields: &str) -> (StatusCode, String) {
        self.post_with(path, fields, &[]).await
    }

    fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies.iter().find(|c| c.starts_with(&format!("{name}="))).cloned()
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

async fn sign_in(browser: &mut Browser, app: &App, user: &str, phone: &Totp) {
    assert_eq!(browser.post(&format!("/password/{user}"), "").await.1, "/sign-in/code");
    let code = phone.generate(app.clock.now().unwrap()).unwrap().to_string();
    assert_eq!(browser.post("/code", &format!("code={code}")).await.1, format!("welcome {user}"));
}

fn attribute(cookie: &str, name: &str) -> Option<String> {
    cookie.split("; ").skip(1).find_map(|a| {
        let (key, value) = a.split_once('=').unwrap_or((a, ""));
        key.eq_ignore_ascii_case(name).then(|| value.to_string())
    })
}

// ---------------------------------------------------------------------------------
// Session ids
// ---------------------------------------------------------------------------------

/// A change of the account this session makes (a new password, say: what a user does
/// who fears their session was taken) gives the session a new id (OWASP: renew the
/// session id after any privilege change), so a copy of its cookie taken before the
/// change ends with the other sessions; so do a proof and a step-up.
#[tokio::test]
async fn a_password_change_gives_the_session_a_new_id_so_a_copied_cookie_dies_with_it() {
    let (router, app) = app(Setup::default());
    let phone = enroll(&app, "alice").await;
    let mut alice = Browser::new(&router);
    sign_in(&mut alice, &app, "alice", &phone).await;
    // Someone copies the signed-in session's cookie.
    let mut thief = Browser::new(&router);
    thief.cookies = alice.cookies.clone();
    assert_eq!(thief.get("/protected").await.1, "hello alice");

    assert_eq!(alice.post("/password-changed", "").await.1, "kept true");
    assert_eq!(alice.get("/protected").await.1, "hello alice", "the changing session goes on");
    let (status, body) = thief.get("/protected").await;
    assert_ne!(
        (status, body.as_str()),
        (StatusCode::OK, "hello alice"),
        "the session id from before the password change still signs in after it"
    );
}

/// `MfaSession::sign_out` (state.rs:438-458) "the session and everything in it
/// is deleted", and the guard signs out an ended session (extract.rs:101-121,
/// README.md:17-28): on the wire the session cookie is cleared (`Max-Age=0`), and the
/// old id is dead when replayed.
#[tokio::test]
async fn sign_out_and_an_ended_session_clear_the_session_cookie() {
    let (router, app) = app(Setup::default());
    let phone = enroll(&app, "alice").await;
    let mut browser = Browser::new(&router);
    sign_in(&mut browser, &app, "alice", &phone).await;
    let before = browser.cookies.clone();
    assert_eq!(browser.post("/sign-out", "").await.1, "signed out");
    let cleared = browser.set_cookie("id").expect("sign-out sets no cookie");
    assert_eq!(attribute(&cleared, "Max-Age").as_deref(), Some("0"), "{cleared}");
    let mut replay = Browser::new(&router);
    replay.cookies = before;
    assert_eq!(replay.location("/protected").await.as_deref(), Some("/sign-in"));

    // Ended by the account's change: the guard's redirect clears the cookie too.
    app.clock.advance(30);
    let mut other = Browser::new(&router);
    sign_in(&mut other, &app, "alice", &phone).await;
    app.mfa.password_changed(&UserId::new("alice"), &RequestContext::default()).await.unwrap();
    assert_eq!(other.location("/protected").await.as_deref(), Some("/sign-in?ended=account_changed"));
    let cleared = other.set_cookie("id").expect("the ended session's response sets no cookie");
    assert_eq!(attribute(&cleared, "Max-Age").as_deref(), Some("0"), "{cleared}");
}

// ---------------------------------------------------------------------------------
// The remembered-device cookie
// ---------------------------------------------------------------------------------

/// README.md:39-42 and cookie.rs:41-45: the cookie lives "until the service's
/// expiry of it". Asked for a year under an organisation that caps remembered devices
/// at three days (`remember_device_max`), the cookie's `Max-Age` is the capped three
/// days, not the year asked for; its other attributes are as documented.
#[tokio::test]
async fn the_device_cookie_lives_for_the_capped_lifetime_not_the_one_asked_for() {
    let settings = OrgSettings::default().to_builder().remember_device_max(3 * 86_400).build().unwrap();
    let (router, app) = app(Setup { settings, ..Setup::default() });
    let phone = enroll(&app, "alice").await;
    let mut browser = Browser::new(&router);
    sign_in(&mut browser, &app, "alice", &phone).await;
    let (status, body) = browser.post("/remember-device?seconds=31536000", "").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "remembered 259200"));
    let cookie = browser.set_cookie("mfa_device").unwrap();
    assert_eq!(attribute(&cookie, "Max-Age").as_deref(), Some("259200"), "{cookie}");
    for flag in ["HttpOnly", "Secure"] {
        assert!(attribute(&cookie, flag).is_some(), "{flag} missing: {cookie}");
    }
    assert_eq!(attribute(&cookie, "SameSite").as_deref(), Some("Lax"));
    assert_eq!(attribute(&cookie, "Path").as_deref(), Some("/"));
    assert!(attribute(&cookie, "Domain").is_none(), "a host-only cookie: {cookie}");
}

/// config.rs:295-306 `device_cookie_name`: the configured name is the one
/// written (set and cleared) and the only one read (client.rs:49-50, 76-88): a
/// cookie under the default name is not taken for the device token.
#[tokio::test]
async fn the_configured_device_cookie_name_is_the_one_written_and_read() {
    let (router, app) = app(Setup { device_cookie: Some("acme_device"), ..Setup::default() });
    let phone = enroll(&app, "alice").await;
    let mut browser = Browser::new(&router);
    sign_in(&mut browser, &app, "alice", &phone).await;
    assert_eq!(browser.post("/remember-device?seconds=86400", "").await.0, StatusCode::OK);
    assert!(browser.set_cookie("acme_device").is_some(), "{:?}", browser.set_cookies);
    assert!(browser.set_cookie("mfa_device").is_none(), "{:?}", browser.set_cookies);
    assert_eq!(browser.get("/client").await.1, "Some(198.51.100.9) true");
    browser.post("/forget", "").await;
    let cleared = browser.set_cookie("acme_device").unwrap();
    assert_eq!(attribute(&cleared, "Max-Age").as_deref(), Some("0"));

    let mut other = Browser::new(&router);
    other.cookies.insert("mfa_device".into(), "TOKEN".into());
    assert_eq!(other.get("/client").await.1, "Some(198.51.100.9) false", "the default name is not read");
}

/// A `__Host-` (or `__Secure-`) device cookie name is always written `Secure`, as
/// browsers require (RFC 6265bis §4.1.3), whatever the first origin's scheme:
/// otherwise "don't ask again on this device" would never stick.
#[tokio::test]
async fn a_host_prefixed_device_cookie_is_never_written_without_secure() {
    let (router, _) = app(Setup {
        origin: "http://127.0.0.1:8080",
        device_cookie: Some("__Host-mfa_device"),
        ..Setup::default()
    });
    let mut browser = Browser::new(&router);
    browser.post("/forget", "").await;
    let cookie = browser.set_cookie("__Host-mfa_device").unwrap();
    assert!(
        attribute(&cookie, "Secure").is_some(),
        "a __Host- cookie without Secure, which every browser drops: {cookie}"
    );
}

// ---------------------------------------------------------------------------------
// Client addresses
// ---------------------------------------------------------------------------------

fn allowlist(network: &str) -> OrgSettings {
    OrgSettings::default().to_builder().allowed_networks(vec![network.parse().unwrap()]).build().unwrap()
}

/// config.rs:14-18 (`ClientAddress::Peer`: "forwarding headers are ignored,
/// since any client can send them"). Through the password step and an organisation's
/// address allowlist (not just the `/client` echo web.rs checks): a client outside the
/// allowlist that claims an allowed address in `X-Forwarded-For` / `X-Real-IP` is
/// refused 403, and the audit log holds the TCP peer, never the claimed address.
#[tokio::test]
async fn a_spoofed_forwarding_header_neither_passes_the_allowlist_nor_reaches_the_audit_log() {
    let (router, app) = app(Setup { settings: allowlist("203.0.113.0/24"), ..Setup::default() });
    enroll(&app, "alice").await;
    let mut browser = Browser::new(&router);
    let spoof = [("x-forwarded-for", "203.0.113.7"), ("x-real-ip", "203.0.113.7")];
    let (status, body) = browser.post_with("/password/alice", "", &spoof).await;
    assert_eq!((status, body), (StatusCode::FORBIDDEN, Refusal::AddressNotAllowed.to_string()));
    let events = app.audit.events();
    let spoofed: IpAddr = "203.0.113.7".parse().unwrap();
    let peer: IpAddr = "198.51.100.9".parse().unwrap();
    assert!(events.iter().all(|e| e.context.address != Some(spoofed)), "{events:?}");
    assert!(
        events.iter().any(|e| e.context.address == Some(peer)),
        "the refusal is audited from the peer: {events:?}"
    );
}

/// config.rs:19-24 (`TrustedHeader`: "The right-most address in this header ...
/// the one the host's own reverse proxy added"). Behind the proxy, a client that
/// prepends an allowed address to `X-Forwarded-For` does not pass the allowlist; the
/// address the proxy appended is the one judged and audited. A request without the
/// header "has no known address (and an organisation's allowlist then refuses it)".
#[tokio::test]
async fn behind_a_trusted_proxy_only_the_address_it_appended_counts() {
    let proxy = ClientAddress::TrustedHeader(HeaderName::from_static("x-forwarded-for"));
    let (router, app) =
        app(Setup { address: proxy, settings: allowlist("203.0.113.0/24"), ..Setup::default() });
    enroll(&app, "alice").await;
    let mut browser = Browser::new(&router);
    let prepended = [("x-forwarded-for", "203.0.113.7, 192.0.2.44")];
    let (status, _) = browser.post_with("/password/alice", "", &prepended).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the client's own entry is not the proxy's");
    let claimed: IpAddr = "203.0.113.7".parse().unwrap();
    let appended: IpAddr = "192.0.2.44".parse().unwrap();
    let events = app.audit.events();
    assert!(events.iter().all(|e| e.context.address != Some(claimed)), "{events:?}");
    assert!(events.iter().any(|e| e.context.address == Some(appended)), "{events:?}");

    let (status, _) = browser.post("/password/alice", "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no header: no known address, refused");
    let (_, next) = browser.post_with("/password/alice", "", &[("x-forwarded-for", "203.0.113.7")]).await;
    assert_eq!(next, "/sign-in/code", "the proxy's own allowed address passes");
}

// ---------------------------------------------------------------------------------
// Status codes
// ---------------------------------------------------------------------------------

/// `status_for`: `401` only for a code or security-key response not accepted (or a
/// lapsed or missing key request, an ended session); a name out of range is `422`,
/// a change the account's state does not allow (the last factor, too many
/// authenticators, an app already set up, a backup equal to the primary) `409`.
#[tokio::test]
async fn refusals_that_are_no_failed_credential_are_not_answered_401() {
    let (router, _) = app(Setup::default());
    let mut browser = Browser::new(&router);
    let mut unauthorized = Vec::new();
    for which in ["name", "last", "too-many", "already", "same"] {
        let (status, body) = browser.get(&format!("/refusal/{which}")).await;
        if status == StatusCode::UNAUTHORIZED {
            unauthorized.push(format!("{which}: {body}"));
        }
    }
    assert!(unauthorized.is_empty(), "answered 401 Unauthorized: {unauthorized:#?}");
}

// ---------------------------------------------------------------------------------
// Caching of secrets
// ---------------------------------------------------------------------------------

/// response.rs:95-101 (`NoStore`: "Adds `Cache-Control: no-store` (and
/// `Pragma: no-cache` for old caches) to whatever it wraps") and response.rs:118-121
/// (the `no_store` middleware: "marking every response of a router"), README.md:63-65.
/// Neither the `Pragma` header nor the middleware is checked elsewhere: a handler's own
/// caching header is replaced, not kept beside, and an error answer on such a route is
/// marked too.
#[tokio::test]
async fn no_store_and_its_middleware_replace_any_caching_header_and_add_pragma() {
    let (router, _) = app(Setup::default());
    let mut browser = Browser::new(&router);
    for path in ["/secret-page", "/secrets", "/secrets/failing"] {
        browser.get(path).await;
        let values: Vec<_> = browser.headers.get_all(header::CACHE_CONTROL).iter().collect();
        assert_eq!(values, ["no-store"], "{path}");
        assert_eq!(
            browser.headers.get(header::PRAGMA).map(|v| v.to_str().unwrap()),
            Some("no-cache"),
            "{path}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Framing and sniffing
// ---------------------------------------------------------------------------------

/// The value of header `name` in the last response, if it was sent exactly once.
fn only(browser: &Browser, name: HeaderName) -> Option<&str> {
    let values: Vec<_> = browser.headers.get_all(&name).iter().collect();
    assert!(values.len() <= 1, "{name} sent {} times", values.len());
    values.first().map(|value| value.to_str().unwrap())
}

/// With `protective_headers` on the router, as the README puts it, no other site may
/// frame any page (clickjacking a "confirm" or "remove" button), a response is read
/// only as its declared type, and other sites are not told the page's address: on a
/// plain page, a page with a secret, a failure, and a request the CSRF check refused.
#[tokio::test]
async fn no_page_can_be_framed_by_another_site_or_sniffed() {
    let (router, _) = app(Setup::default());
    let mut browser = Browser::new(&router);
    let (refused, _) = browser.post_with("/code", "code=123456", &[("origin", "https://evil.example")]).await;
    assert_eq!(refused, StatusCode::FORBIDDEN, "a cross-site form is refused");
    assert_protected(&browser, "the CSRF refusal");
    for path in ["/token", "/secret-page", "/secrets/failing", "/protected"] {
        browser.get(path).await;
        assert_protected(&browser, path);
    }
}

fn assert_protected(browser: &Browser, what: &str) {
    assert_eq!(only(browser, header::X_FRAME_OPTIONS), Some("DENY"), "{what}");
    assert_eq!(only(browser, header::CONTENT_SECURITY_POLICY), Some("frame-ancestors 'none'"), "{what}");
    assert_eq!(only(browser, header::X_CONTENT_TYPE_OPTIONS), Some("nosniff"), "{what}");
    assert_eq!(only(browser, header::REFERRER_POLICY), Some("same-origin"), "{what}");
}

/// A host that frames its own pages says so itself: its `X-Frame-Options` and its own
/// content security policy are kept, and no second policy is added beside it.
#[tokio::test]
async fn a_hosts_own_framing_rules_are_kept() {
    let (router, _) = app(Setup::default());
    let mut browser = Browser::new(&router);
    browser.get("/own-policy").await;
    assert_eq!(only(&browser, header::X_FRAME_OPTIONS), Some("SAMEORIGIN"));
    assert_eq!(
        only(&browser, header::CONTENT_SECURITY_POLICY),
        Some("default-src 'self'; frame-ancestors 'self'")
    );
    assert_eq!(only(&browser, header::X_CONTENT_TYPE_OPTIONS), Some("nosniff"));
}

/// `NoStore` alone, without the router's middleware, adds the framing rules too: a page
/// showing a secret is never framed, whatever the host's router does.
#[tokio::test]
async fn a_page_with_a_secret_is_never_framed() {
    let response = NoStore("otpauth://totp/…").into_response();
    assert_eq!(response.headers().get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
    assert_eq!(response.headers().get(header::CONTENT_SECURITY_POLICY).unwrap(), "frame-ancestors 'none'");
    assert_eq!(response.headers().get(header::CACHE_CONTROL).unwrap(), "no-store");
}
