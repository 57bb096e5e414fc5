//! The integration through a router, one request at a time (tower's `oneshot`), with a
//! small cookie jar standing in for the browser.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRef, State};
use axum::http::{HeaderName, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use http_body_util::BodyExt;
use mfa_kit::clock::ManualClock;
use mfa_kit::flow::device::Remembered;
use mfa_kit::policy::{Decision, OrgSettings};
use mfa_kit::prelude::*;
use mfa_kit_axum::{
    Client, ClientAddress, CookieSecurity, CsrfToken, Enrolling, MfaSession, MfaWeb, OrgSource, Refused,
    SecondFactorDue, SignedIn, UserOrg, WebError, csrf_protect, require_signed_in, status_for,
};
use tower::ServiceExt;

const NOW: u64 = 1_751_360_400;

type Service = MfaService<MemoryStore, PlaintextSealer>;

#[derive(Clone)]
struct App {
    web: MfaWeb,
    mfa: Arc<Service>,
    clock: ManualClock,
}

impl FromRef<App> for MfaWeb {
    fn from_ref(app: &App) -> MfaWeb {
        app.web.clone()
    }
}

/// One organisation whose settings the test changes; "broken" fails like a database.
#[derive(Clone, Default)]
struct Orgs(Arc<Mutex<(OrgSettings, bool)>>);

#[derive(Debug, thiserror::Error)]
#[error("the organisations table is unreachable")]
struct OrgsDown;

impl OrgSource for Orgs {
    type Error = OrgsDown;

    async fn org_for(&self, _user: &UserId) -> Result<UserOrg, OrgsDown> {
        let (settings, broken) = self.0.lock().unwrap().clone();
        if broken {
            return Err(OrgsDown);
        }
        Ok(UserOrg::new(Arc::new(settings)).with_user_type("staff"))
    }
}

fn app(address: ClientAddress, cookies: CookieSecurity, orgs: Orgs) -> (Router, App) {
    let clock = ManualClock::new(NOW);
    let web =
        MfaWeb::builder(orgs).client_address(address).cookie_security(cookies).clock(clock.clone()).build();
    let mfa = MfaService::builder("Test", MemoryStore::new(), PlaintextSealer)
        .clock(clock.clone())
        .hash_key(HashKey::generate().unwrap())
        .build();
    let app = App { web: web.clone(), mfa: Arc::new(mfa), clock };
    let protected = Router::new()
        .route("/protected", get(|user: SignedIn| async move { format!("hello {}", user.user) }))
        .route_layer(middleware::from_fn_with_state(web, require_signed_in));
    let router = Router::new()
        .merge(protected)
        .route("/client", get(client))
        .route("/token", get(|token: CsrfToken| async move { token.as_str().to_string() }))
        .route("/password/{user}/{decision}", post(password))
        .route("/code", post(code))
        .route("/enroll", get(|e: Enrolling| async move { format!("enrolling {}", e.user) }))
        .route("/enrolled", post(enrolled))
        .route("/remember", post(remember))
        .route(
            "/forget",
            post(
                |State(app): State<App>, client: Client| async move { (app.web.forget_cookie(&client), "") },
            ),
        )
        .route("/context", get(context))
        .route("/refusal/{which}", get(refusal))
        .route("/failure", get(|| async { WebError::from(mfa_kit::service::Error::HashKeyMissing) }))
        .layer(middleware::from_fn(csrf_protect))
        .layer(
            tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default())
                .with_secure(false),
        )
        .with_state(app.clone());
    (router, app)
}

async fn client(client: Client) -> String {
    format!("{:?} {:?} {}", client.request.address, client.request.device, client.device_token.is_some())
}

async fn password(
    State(app): State<App>,
    session: MfaSession,
    axum::extract::Path((user, decision)): axum::extract::Path<(String, String)>,
) -> Result<String, WebError> {
    let decision = match decision.as_str() {
        "allow" => Decision::Allow { reason: Reason::NotRequired },
        "challenge" => {
            Decision::Challenge { methods: vec![Method::Totp], reason: Reason::Enrolled, needs_backup: false }
        }
        "require" => Decision::RequireEnrollment { reason: Reason::OrgEnforced },
        "ask" => {
            let context = app
                .web
                .sign_in_context(
                    &UserId::new(&user),
                    &Client::from_parts(&app.web, &Default::default(), None),
                )
                .await?;
            app.mfa
                .sign_in_decision(&UserId::new(&user), &context)
                .await?
                .map_err(|_| mfa_kit::service::Error::HashKeyMissing)?
        }
        _ => Decision::SuggestEnrollment { reason: Reason::LevelSuggested, deadline: None },
    };
    let next = session.password_verified(UserId::new(user), &decision).await?;
    Ok(next.path(&app.web, "/home").to_string())
}

/// Accepts "good" as the second factor.
async fn code(due: SecondFactorDue, session: MfaSession, body: String) -> Result<Response, WebError> {
    if body.contains("code=good") {
        session.second_factor_proven().await?;
        return Ok(format!("welcome {}", due.user).into_response());
    }
    Ok(Refused(Refusal::WrongCode { attempts_left: 4 }).into_response())
}

async fn enrolled(_e: Enrolling, session: MfaSession) -> Result<&'static str, WebError> {
    session.enrollment_confirmed().await?;
    Ok("enrolled")
}

/// Enrolls the signed-in user and remembers the device for a week.
async fn remember(State(app): State<App>, user: SignedIn) -> Result<Response, WebError> {
    let context = app.web.sign_in_context(&user.user, &user.client).await?;
    let start = app.mfa.start_enrollment(&user.user, "u@example.com", &context).await?.unwrap();
    let key = KeyUri::parse(&start.uri).unwrap();
    let phone = Totp::new(key.secret(), key.totp_params().unwrap());
    let first = phone.generate(NOW - 30).unwrap().to_string();
    let second = phone.generate(NOW).unwrap().to_string();
    app.mfa.confirm_enrollment(&user.user, &[&first, &second], &context).await?.unwrap();
    app.clock.advance(100);
    let remembered: Remembered =
        app.mfa.remember_device(&user.user, "laptop", 7 * 86_400, &context).await?.unwrap();
    Ok((app.web.remember_cookie(&user.client, &remembered)?, "remembered").into_response())
}

async fn context(due: SecondFactorDue) -> String {
    let org = due.context.org.as_ref().map(|o| o.lockout.max_failures);
    format!("{} {:?} {:?} {}", due.user, org, due.context.user_type, due.context.device_token.is_some())
}

async fn refusal(axum::extract::Path(which): axum::extract::Path<String>) -> Response {
    let refusal = match which.as_str() {
        "locked" => Refusal::LockedOut { until: NOW + 900 },
        "wrong" => Refusal::WrongCode { attempts_left: 2 },
        "address" => Refusal::AddressNotAllowed,
        _ => Refusal::RateLimited { retry_at: NOW + 60 },
    };
    Refused(refusal).into_response()
}

/// A browser: keeps cookies, sends a host and a peer address.
struct Browser {
    router: Router,
    host: String,
    cookies: BTreeMap<String, String>,
    set_cookies: Vec<String>,
}

impl Browser {
    fn new(router: &Router, host: &str) -> Browser {
        Browser {
            router: router.clone(),
            host: host.into(),
            cookies: BTreeMap::new(),
            set_cookies: Vec::new(),
        }
    }

    async fn send(
        &mut self,
        request: axum::http::request::Builder,
        body: &str,
    ) -> (StatusCode, String, Option<String>) {
        let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut request = request.header(header::HOST, &self.host);
        if !cookie.is_empty() {
            request = request.header(header::COOKIE, cookie.join("; "));
        }
        let mut request = request.body(Body::from(body.to_string())).unwrap();
        let peer: SocketAddr = "198.51.100.9:50000".parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let location = response.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
        self.set_cookies.clear();
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap().to_string();
            let (pair, attributes) = text.split_once(';').unwrap_or((&text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
            self.set_cookies.push(text);
        }
        let body =
            String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        (status, body, location)
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String, Option<String>) {
        self.send(Request::get(path), "").await
    }

    /// A form POST carrying the session's CSRF token.
    async fn post(&mut self, path: &str, fields: &str) -> (StatusCode, String, Option<String>) {
        let token = self.get("/token").await.1;
        let body = if fields.is_empty() {
            format!("csrf_token={token}")
        } else {
            format!("{fields}&csrf_token={token}")
        };
        self.send(
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            &body,
        )
        .await
    }
}

fn default_app() -> (Router, App) {
    app(ClientAddress::Peer, CookieSecurity::Always, Orgs::default())
}

#[tokio::test]
async fn the_client_address_is_the_peer_unless_a_proxy_header_is_configured() {
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
    let (router, _) = default_app();
    let mut browser = Browser::new(&router, "app.example");
    let request =
        Request::get("/client").header("x-forwarded-for", "203.0.113.7").header(header::USER_AGENT, ua);
    let (_, body, _) = browser.send(request, "").await;
    assert_eq!(
        body, r#"Some(198.51.100.9) Some("Firefox on Windows") false"#,
        "a forwarding header is not trusted by default"
    );

    let proxy = ClientAddress::TrustedHeader(HeaderName::from_static("x-forwarded-for"));
    let (router, _) = app(proxy, CookieSecurity::Always, Orgs::default());
    let mut browser = Browser::new(&router, "app.example");
    let request = Request::get("/client").header("x-forwarded-for", "192.0.2.1, 203.0.113.7");
    let (_, body, _) = browser.send(request, "").await;
    assert_eq!(body, "Some(203.0.113.7) None false", "the right-most entry is the one the proxy added");
    let (_, body, _) = browser.get("/client").await;
    assert_eq!(body, "None None false", "behind a proxy, a request without its header has no known address");
}

#[tokio::test]
async fn protected_routes_wait_for_the_second_factor() {
    let (router, _) = default_app();
    let mut browser = Browser::new(&router, "app.example");
    assert_eq!(browser.get("/protected").await.2.as_deref(), Some("/sign-in"));

    let (status, next, _) = browser.post("/password/alice/challenge", "").await;
    assert_eq!((status, next.as_str()), (StatusCode::OK, "/sign-in/code"));
    let (status, _, location) = browser.get("/protected").await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/sign-in/code")));
    assert_eq!(
        browser.get("/enroll").await.2.as_deref(),
        Some("/sign-in/code"),
        "a password alone never enrolls"
    );
    let session_before = browser.cookies.get("id").cloned();

    let (status, body, _) = browser.post("/code", "code=bad").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, "That code is not right. Check it and try again (4 tries left).")
    );
    assert_eq!(browser.get("/protected").await.2.as_deref(), Some("/sign-in/code"));

    let (status, body, _) = browser.post("/code", "code=good").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "welcome alice"));
    assert_ne!(
        browser.cookies.get("id"),
        session_before.as_ref(),
        "the session id changes when the stage does"
    );
    assert_eq!(browser.get("/protected").await.1, "hello alice");
    assert_eq!(browser.get("/code").await.0, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        browser.post("/code", "code=good").await.2.as_deref(),
        Some("/sign-in"),
        "nothing is pending any more"
    );
}

#[tokio::test]
async fn required_enrollment_blocks_until_confirmed_and_allow_signs_in_at_once() {
    let (router, _) = default_app();
    let mut browser = Browser::new(&router, "app.example");
    assert_eq!(browser.post("/password/bob/require", "").await.1, "/mfa/enroll");
    assert_eq!(browser.get("/protected").await.2.as_deref(), Some("/mfa/enroll"));
    assert_eq!(browser.post("/code", "code=good").await.2.as_deref(), Some("/mfa/enroll"));
    assert_eq!(browser.get("/enroll").await.1, "enrolling bob");
    assert_eq!(browser.post("/enrolled", "").await.1, "enrolled");
    assert_eq!(browser.get("/protected").await.1, "hello bob");

    let mut other = Browser::new(&router, "app.example");
    assert_eq!(other.post("/password/carol/allow", "").await.1, "/home");
    assert_eq!(other.get("/protected").await.1, "hello carol");
    let mut suggested = Browser::new(&router, "app.example");
    assert_eq!(suggested.post("/password/dan/suggest", "").await.1, "/mfa/enroll");
    assert_eq!(suggested.get("/protected").await.1, "hello dan", "a suggestion does not block");
}

#[tokio::test]
async fn a_pending_second_factor_expires() {
    let (router, app) = default_app();
    let mut browser = Browser::new(&router, "app.example");
    browser.post("/password/alice/challenge", "").await;
    app.clock.advance(599);
    assert_eq!(browser.get("/protected").await.2.as_deref(), Some("/sign-in/code"));
    app.clock.advance(1);
    assert_eq!(browser.get("/protected").await.2.as_deref(), Some("/sign-in"));
    assert_eq!(browser.post("/code", "code=good").await.2.as_deref(), Some("/sign-in"));
}

#[tokio::test]
async fn the_sign_in_context_carries_the_org_settings_and_the_device_cookie() {
    let orgs = Orgs::default();
    orgs.0.lock().unwrap().0.lockout.max_failures = 3;
    let (router, _) = app(ClientAddress::Peer, CookieSecurity::Always, orgs.clone());
    let mut browser = Browser::new(&router, "app.example");
    browser.cookies.insert("mfa_device".into(), "TOKEN".into());
    browser.post("/password/alice/challenge", "").await;
    assert_eq!(browser.get("/context").await.1, r#"alice Some(3) Some("staff") true"#);

    orgs.0.lock().unwrap().1 = true;
    let (status, body, _) = browser.get("/context").await;
    assert_eq!((status, body.as_str()), (StatusCode::SERVICE_UNAVAILABLE, mfa_kit_axum::UNAVAILABLE));
}

#[tokio::test]
async fn the_device_cookie_is_http_only_secure_lax_and_lives_as_long_as_the_service_says() {
    let (router, _) = default_app();
    let mut browser = Browser::new(&router, "app.example");
    browser.post("/password/alice/allow", "").await;
    let (status, body, _) = browser.post("/remember", "").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "remembered"));
    let cookie = browser.set_cookies.iter().find(|c| c.starts_with("mfa_device=")).unwrap().clone();
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(cookie.split("; ").any(|a| a == attribute), "{attribute} missing from {cookie}");
    }
    let token = browser.cookies["mfa_device"].clone();
    assert!(token.len() >= 20);
    browser.post("/forget", "").await;
    let cleared = browser.set_cookies.iter().find(|c| c.starts_with("mfa_device=")).unwrap();
    assert!(
        cleared.starts_with("mfa_device=;") && cleared.contains("Max-Age=0") && cleared.contains("HttpOnly"),
        "{cleared}"
    );
    assert!(!browser.cookies.contains_key("mfa_device"));
}

#[tokio::test]
async fn the_secure_attribute_is_dropped_only_on_localhost_when_asked() {
    let (router, _) = app(ClientAddress::Peer, CookieSecurity::ExceptOnLocalhost, Orgs::default());
    for (host, secure) in [("127.0.0.1:8080", false), ("localhost:3000", false), ("app.example", true)] {
        let mut browser = Browser::new(&router, host);
        browser.post("/password/alice/allow", "").await;
        browser.post("/forget", "").await;
        let cookie = browser.set_cookies.iter().find(|c| c.starts_with("mfa_device=")).unwrap();
        assert_eq!(cookie.contains("Secure"), secure, "{host}: {cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    }
}

#[tokio::test]
async fn forms_without_the_session_token_are_refused() {
    let (router, _) = default_app();
    let mut browser = Browser::new(&router, "app.example");
    let form = || {
        Request::post("/password/alice/allow")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
    };
    let (status, body, _) = browser.send(form(), "").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::FORBIDDEN, mfa_kit_axum::csrf::REFUSED),
        "no session token yet"
    );
    let token = browser.get("/token").await.1;
    assert_eq!(token.len(), 64);
    assert_eq!(browser.get("/token").await.1, token, "one token per session");
    assert_eq!(browser.send(form(), "csrf_token=0000").await.0, StatusCode::FORBIDDEN, "a wrong token");
    assert_eq!(browser.send(form(), "").await.0, StatusCode::FORBIDDEN, "no token");
    let foreign = form().header(header::ORIGIN, "https://evil.example");
    assert_eq!(
        browser.send(foreign, &format!("csrf_token={token}")).await.0,
        StatusCode::FORBIDDEN,
        "another site"
    );
    let same = form().header(header::ORIGIN, "https://app.example");
    assert_eq!(browser.send(same, &format!("csrf_token={token}")).await.1, "/home");
    let mut other = Browser::new(&router, "app.example");
    other.get("/token").await;
    assert_eq!(
        other.send(form(), &format!("csrf_token={token}")).await.0,
        StatusCode::FORBIDDEN,
        "another session's token"
    );
    let by_header = Request::post("/password/bob/allow").header("x-csrf-token", other.get("/token").await.1);
    assert_eq!(other.send(by_header, "").await.1, "/home");
}

#[tokio::test]
async fn refusals_show_their_sentence_and_failures_say_nothing() {
    let (router, _) = default_app();
    let mut browser = Browser::new(&router, "app.example");
    let (status, body, _) = browser.get("/refusal/locked").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "Too many wrong codes. Try again after the lockout ends.")
    );
    assert_eq!(browser.get("/refusal/rate").await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(browser.get("/refusal/wrong").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.get("/refusal/address").await.0, StatusCode::FORBIDDEN);
    let (status, body, _) = browser.get("/failure").await;
    assert_eq!((status, body.as_str()), (StatusCode::SERVICE_UNAVAILABLE, mfa_kit_axum::UNAVAILABLE));
    assert!(!body.contains("hash key"));
    assert_eq!(status_for(&Refusal::CodeReused { attempts_left: 3 }), StatusCode::UNAUTHORIZED);
    assert_eq!(status_for(&Refusal::InvalidSettings("x".into())), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_real_decision_from_the_service_drives_the_session() {
    let orgs = Orgs::default();
    orgs.0.lock().unwrap().0.enforce_for_all = true;
    let (router, _) = app(ClientAddress::Peer, CookieSecurity::Always, orgs);
    let mut browser = Browser::new(&router, "app.example");
    assert_eq!(
        browser.post("/password/erin/ask", "").await.1,
        "/mfa/enroll",
        "mandatory for all: enroll first"
    );
    assert_eq!(browser.get("/protected").await.2.as_deref(), Some("/mfa/enroll"));
}
