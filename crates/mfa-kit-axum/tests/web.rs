//! The integration through a router, one request at a time (tower's `oneshot`), with a
//! small cookie jar standing in for the browser, over the real service.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRef, State};
use axum::http::{HeaderName, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router, middleware};
use mfa_kit::clock::{Clock, ManualClock};
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::flow::Proven;
use mfa_kit::flow::device::Remembered;
use mfa_kit::flow::oversight::ResetRequest;
use mfa_kit::flow::security_key::{Assertion, CeremonyError, NewKey};
use mfa_kit::policy::SignInContext;
use mfa_kit::policy::{Decision, OrgSettings};
use mfa_kit::prelude::*;
use mfa_kit::record::RefusalTally;
use mfa_kit::record::{CredentialId, SecurityKey};
use mfa_kit::relying_party::{CeremonyOptions, RegistrationUser, RelyingParty, RelyingPartyError};
use mfa_kit::service::permissions;
use mfa_kit_axum::{
    AddingBackup, AddingSecurityKey, Client, ClientAddress, CsrfToken, Enrolling, KeyOptions, KeyResponse,
    MfaSession, MfaWeb, NoStore, OrgSource, Refused, SecondFactorDue, SignedIn, UserOrg, WebError,
    csrf_protect, require_signed_in, status_for,
};
use tower::ServiceExt;

mod common;
use common::read_response;

const NOW: u64 = 1_751_360_400;
const ORIGIN: &str = "https://app.example";

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

    async fn org_for(&self, user: &UserId) -> Result<UserOrg, OrgsDown> {
        let (settings, broken) = self.0.lock().unwrap().clone();
        if broken {
            return Err(OrgsDown);
        }
        let org = UserOrg::new(Arc::new(settings)).in_org("acme").with_user_type("staff");
        Ok(if user.as_str() == "boss" { org.as_principal() } else { org })
    }
}

fn app(address: ClientAddress, origin: &str, orgs: Orgs) -> (Router, App) {
    let clock = ManualClock::new(NOW);
    let mfa = Arc::new(
        MfaService::builder("Test", MemoryStore::new(), PlaintextSealer)
            .clock(clock.clone())
            .hash_key(HashKey::generate().unwrap())
            .relying_party(FakeParty::default())
            .build(),
    );
    let web = MfaWeb::builder(orgs, mfa.clone())
        .public_origin(origin)
        .client_address(address)
        .clock(clock.clone())
        .build()
        .unwrap();
    let app = App { web: web.clone(), mfa, clock };
    let protected = Router::new()
        .route("/protected", get(|user: SignedIn| async move { format!("hello {}", user.user) }))
        .route("/recovery-codes", post(recovery_codes))
        .route("/password-changed", post(password_changed))
        .route("/step-up", post(step_up))
        .route("/remember-device", post(remember_device))
        .route("/key/step-up/options", post(key_options))
        .route("/key/step-up", post(key_step_up))
        .route("/key/remove", post(remove_authenticator))
        .route_layer(middleware::from_fn_with_state(web.clone(), require_signed_in));
    let router = Router::new()
        .merge(protected)
        .route("/client", get(client))
        .route("/token", get(|token: CsrfToken| async move { token.as_str().to_string() }))
        .route("/password/{user}/{decision}", post(password))
        .route("/code", post(code))
        .route("/enroll", get(|e: Enrolling| async move { format!("enrolling {}", e.user) }))
        .route("/enroll/start", post(start_enrollment))
        .route("/enroll/confirm", post(confirm_enrollment))
        .route("/enrolled", post(enrolled))
        .route("/backup", get(|who: AddingBackup| async move { format!("add a backup, {}", who.user) }))
        .route("/backup/add", post(add_backup))
        .route("/backup/confirm", post(confirm_backup))
        .route("/remember", post(remember))
        .route("/key/sign-in/options", post(key_sign_in_options))
        .route("/key/sign-in", post(key_sign_in))
        .route("/key/register/options", post(key_register_options))
        .route("/key/register", post(key_register))
        .route("/forget", post(|State(app): State<App>| async move { (app.web.forget_cookie(), "") }))
        .route("/context", get(context))
        .route("/refusal/{which}", get(refusal))
        .route("/failure", get(|| async { WebError::from(mfa_kit::service::Error::HashKeyMissing) }))
        .route("/wasnt-me", post(wasnt_me))
        .route("/anything", axum::routing::any(|| async { "changed" }))
        .route("/slow", get(slow))
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

async fn client(client: Client) -> String {
    format!("{:?} {:?} {}", client.request.address, client.request.device, client.device_token.is_some())
}

async fn password(
    State(app): State<App>,
    session: MfaSession,
    client: Client,
    axum::extract::Path((user, decision)): axum::extract::Path<(String, String)>,
) -> Result<Response, WebError> {
    let user = UserId::new(&user);
    let decision = match decision.as_str() {
        "allow" => Decision::Allow { reason: Reason::NotRequired },
        "challenge" => Decision::Challenge {
            methods: vec![Method::Totp],
            reason: Reason::Enrolled,
            needs_backup: false,
            backup_blocking: false,
            restricted: vec![],
            offer_security_key: false,
            security_key_blocking: false,
        },
        "challenge-key" => Decision::Challenge {
            methods: vec![Method::Totp],
            reason: Reason::Enrolled,
            needs_backup: false,
            backup_blocking: false,
            restricted: vec![],
            offer_security_key: true,
            security_key_blocking: true,
        },
        "require" => Decision::RequireEnrollment { reason: Reason::OrgEnforced },
        "ask" => {
            let context = app.web.password_step_context(&user, &client).await?;
            match app.mfa.sign_in_decision(&user, &context).await? {
                Ok(decision) => decision,
                Err(refusal) => return Ok(Refused(refusal).into_response()),
            }
        }
        _ => Decision::SuggestEnrollment { reason: Reason::LevelSuggested, deadline: None },
    };
    let next = session.password_verified(user, &decision).await?;
    Ok(next.path(&app.web, "/home").to_string().into_response())
}

#[derive(serde::Deserialize)]
struct CodeForm {
    code: String,
}

/// "good" stands for a second factor the host checked itself; anything else goes to
/// the service.
async fn code(
    State(app): State<App>,
    due: SecondFactorDue,
    session: MfaSession,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let proof = if form.code == "good" {
        Proven {
            method: Method::Totp,
            drift: Some(0),
            at: app.clock.now().unwrap(),
            phishing_resistant: false,
        }
    } else {
        match app.mfa.verify_code(&due.user, &form.code, &due.context).await? {
            Ok(proof) => proof,
            Err(refusal) => return Ok(Refused(refusal).into_response()),
        }
    };
    let state = session.second_factor_proven(&proof).await?;
    if let Some(state) = state.filter(|state| state.stage() != mfa_kit_axum::Stage::SignedIn) {
        return Ok(format!("to {}", state.landing(&app.web, "/home")).into_response());
    }
    Ok(format!("welcome {}", due.user).into_response())
}

async fn step_up(
    State(app): State<App>,
    user: SignedIn,
    session: MfaSession,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    match app.mfa.verify_code(&user.user, &form.code, &user.context).await? {
        Ok(proof) => {
            session.step_up_proven(&proof).await?;
            Ok("fresh".into_response())
        }
        Err(refusal) => Ok(Refused(refusal).into_response()),
    }
}

/// Starts (or shows) an enrollment: the page shows the key.
async fn start_enrollment(State(app): State<App>, who: Enrolling) -> Result<Response, WebError> {
    Ok(match app.mfa.start_enrollment(&who.user, "u@example.com", &who.context).await? {
        Ok(start) => NoStore(start.uri.to_string()).into_response(),
        Err(refusal) => Refused(refusal).into_response(),
    })
}

#[derive(serde::Deserialize)]
struct Codes {
    first: String,
    second: String,
}

async fn confirm_enrollment(
    State(app): State<App>,
    who: Enrolling,
    session: MfaSession,
    Form(codes): Form<Codes>,
) -> Result<Response, WebError> {
    match app.mfa.confirm_enrollment(&who.user, &[&codes.first, &codes.second], &who.context).await? {
        Ok(confirmed) => {
            session.enrollment_confirmed(&confirmed).await?;
            Ok("enrolled".into_response())
        }
        Err(refusal) => Ok(Refused(refusal).into_response()),
    }
}

async fn recovery_codes(
    State(app): State<App>,
    user: SignedIn,
    session: MfaSession,
) -> Result<Response, WebError> {
    match app.mfa.generate_recovery_codes(&user.user, &user.context).await? {
        Ok(codes) => {
            session.account_changed().await?;
            Ok(NoStore(format!("{} codes", codes.len())).into_response())
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

/// Marks the session enrolled after a confirmation the host made itself.
async fn enrolled(
    State(app): State<App>,
    _e: Enrolling,
    session: MfaSession,
) -> Result<&'static str, WebError> {
    let confirmed = mfa_kit::flow::enrollment::Confirmed { replaced: false, at: app.clock.now().unwrap() };
    session.enrollment_confirmed(&confirmed).await?;
    Ok("enrolled")
}

/// Enrolls the signed-in user and remembers the device for a week.
async fn remember(State(app): State<App>, user: SignedIn, session: MfaSession) -> Result<Response, WebError> {
    let start = app.mfa.start_enrollment(&user.user, "u@example.com", &user.context).await?.unwrap();
    let key = KeyUri::parse(&start.uri).unwrap();
    let phone = Totp::new(key.secret(), key.totp_params().unwrap());
    let now = app.clock.now().unwrap();
    let first = phone.generate(now - 30).unwrap().to_string();
    let second = phone.generate(now).unwrap().to_string();
    let confirmed = app.mfa.confirm_enrollment(&user.user, &[&first, &second], &user.context).await?.unwrap();
    let state = session.enrollment_confirmed(&confirmed).await?.unwrap();
    app.clock.advance(100);
    let context = user.context.clone().with_session(state.facts());
    let remembered: Remembered =
        app.mfa.remember_device(&user.user, "laptop", 7 * 86_400, &context).await?.unwrap();
    Ok((app.web.remember_cookie(&remembered)?, "remembered").into_response())
}

/// The codes the test's SMS gateway "sent".
#[derive(Clone, Default)]
struct Gateway(Arc<Mutex<Vec<String>>>);

impl mfa_kit::notify::CodeSender for Gateway {
    type Error = std::convert::Infallible;

    async fn send(
        &self,
        _to: &Destination,
        message: &mfa_kit::flow::destination::CodeMessage,
    ) -> Result<(), Self::Error> {
        self.0.lock().unwrap().push(message.code().to_string());
        Ok(())
    }
}

static GATEWAY: std::sync::LazyLock<Gateway> = std::sync::LazyLock::new(Gateway::default);

async fn add_backup(State(app): State<App>, who: AddingBackup) -> Result<Response, WebError> {
    let phone = Destination::sms("+61 412 345 678").unwrap();
    Ok(match app.mfa.add_destination(&who.user, phone, Role::Backup, &*GATEWAY, &who.context).await? {
        Ok(_) => "sent".into_response(),
        Err(refusal) => Refused(refusal).into_response(),
    })
}

async fn confirm_backup(
    State(app): State<App>,
    who: AddingBackup,
    session: MfaSession,
) -> Result<Response, WebError> {
    let code = GATEWAY.0.lock().unwrap().last().cloned().unwrap_or_default();
    match app.mfa.confirm_destination(&who.user, &code, &who.context).await? {
        Ok(_) => {
            session.backup_added().await?;
            Ok("backup added".into_response())
        }
        Err(refusal) => Ok(Refused(refusal).into_response()),
    }
}

/// Remembers this device for a week (needs this session's fresh proof).
async fn remember_device(State(app): State<App>, user: SignedIn) -> Result<Response, WebError> {
    Ok(match app.mfa.remember_device(&user.user, "laptop", 7 * 86_400, &user.context).await? {
        Ok(remembered) => (app.web.remember_cookie(&remembered)?, "remembered").into_response(),
        Err(refusal) => Refused(refusal).into_response(),
    })
}

// ---- security keys: the routes a host writes with the crate's helpers ----

/// Options to register a key: a user held at the security-key stage, or signed in.
async fn key_register_options(
    State(app): State<App>,
    who: AddingSecurityKey,
) -> Result<KeyOptions, WebError> {
    let outcome = app
        .mfa
        .start_security_key_registration(&who.user, "YubiKey", "u@example.com", "U", &who.context)
        .await?;
    Ok(KeyOptions(outcome))
}

async fn key_register(
    State(app): State<App>,
    who: AddingSecurityKey,
    session: MfaSession,
    response: KeyResponse,
) -> Result<Response, WebError> {
    match app.mfa.finish_security_key_registration(&who.user, response.as_str(), &who.context).await? {
        Ok(confirmed) => Ok(match session.security_key_registered(&confirmed).await? {
            Some(_) => "registered".into_response(),
            None => "signed out".into_response(),
        }),
        Err(refusal) => Ok(Refused(refusal).into_response()),
    }
}

async fn key_sign_in_options(State(app): State<App>, due: SecondFactorDue) -> Result<KeyOptions, WebError> {
    Ok(KeyOptions(app.mfa.start_security_key(&due.user, &due.context).await?))
}

async fn key_sign_in(
    State(app): State<App>,
    due: SecondFactorDue,
    session: MfaSession,
    response: KeyResponse,
) -> Result<Response, WebError> {
    match app.mfa.verify_security_key(&due.user, response.as_str(), &due.context).await? {
        Ok(proof) => {
            session.second_factor_proven(&proof).await?;
            Ok(format!("welcome {}", due.user).into_response())
        }
        Err(refusal) => Ok(Refused(refusal).into_response()),
    }
}

async fn key_options(State(app): State<App>, user: SignedIn) -> Result<KeyOptions, WebError> {
    Ok(KeyOptions(app.mfa.start_security_key(&user.user, &user.context).await?))
}

async fn key_step_up(
    State(app): State<App>,
    user: SignedIn,
    session: MfaSession,
    response: KeyResponse,
) -> Result<Response, WebError> {
    match app.mfa.verify_security_key(&user.user, response.as_str(), &user.context).await? {
        Ok(proof) => {
            session.step_up_proven(&proof).await?;
            Ok("fresh".into_response())
        }
        Err(refusal) => Ok(Refused(refusal).into_response()),
    }
}

#[derive(serde::Deserialize)]
struct RemoveForm {
    id: String,
}

async fn remove_authenticator(
    State(app): State<App>,
    user: SignedIn,
    session: MfaSession,
    Form(form): Form<RemoveForm>,
) -> Result<Response, WebError> {
    match app.mfa.remove_authenticator(&user.user, &form.id, &user.context).await? {
        Ok(removed) => {
            Ok(format!("removed {removed}, kept {}", session.account_changed().await?).into_response())
        }
        Err(refusal) => Ok(Refused(refusal).into_response()),
    }
}

/// A relying party with no cryptography: its options carry a numbered challenge, and a
/// "response" is `{"id": credential, "challenge": n, "counter": c}`, accepted when the
/// challenge is the ceremony's. Anything that is not such JSON is malformed.
#[derive(Default)]
struct FakeParty(std::sync::atomic::AtomicU64);

#[derive(serde::Deserialize)]
struct FakeAnswer {
    id: String,
    challenge: u64,
    #[serde(default)]
    counter: u32,
}

impl FakeParty {
    fn options(&self, kind: &str) -> CeremonyOptions {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        CeremonyOptions::new(format!(r#"{{"publicKey":{{"challenge":"{kind}{n}"}}}}"#), n.to_string())
    }

    fn answer(state: &str, response: &str) -> Result<FakeAnswer, CeremonyError> {
        let answer: FakeAnswer = serde_json::from_str(response).map_err(|_| CeremonyError::Malformed)?;
        if answer.challenge.to_string() != state {
            return Err(CeremonyError::WrongChallenge);
        }
        Ok(answer)
    }
}

impl RelyingParty for FakeParty {
    fn start_registration(
        &self,
        _user: &RegistrationUser<'_>,
        _registered: &[SecurityKey],
    ) -> Result<CeremonyOptions, RelyingPartyError> {
        Ok(self.options("reg"))
    }

    fn finish_registration(
        &self,
        state: &str,
        response: &str,
    ) -> Result<Result<NewKey, CeremonyError>, RelyingPartyError> {
        Ok(FakeParty::answer(state, response).map(|answer| NewKey {
            credential_id: CredentialId::new(answer.id.into_bytes()),
            public_key: "fake".into(),
            counter: answer.counter,
            user_verified: true,
            backup_eligible: false,
            backup_state: false,
            discoverable: true,
        }))
    }

    fn start_authentication(&self, _keys: &[SecurityKey]) -> Result<CeremonyOptions, RelyingPartyError> {
        Ok(self.options("auth"))
    }

    fn finish_authentication(
        &self,
        state: &str,
        response: &str,
        keys: &[SecurityKey],
    ) -> Result<Result<Assertion, CeremonyError>, RelyingPartyError> {
        Ok(FakeParty::answer(state, response).and_then(|answer| {
            let id = CredentialId::new(answer.id.into_bytes());
            if !keys.iter().any(|key| *key.credential_id() == id) {
                return Err(CeremonyError::UnknownCredential);
            }
            Ok(Assertion {
                credential_id: id,
                counter: answer.counter,
                user_verified: true,
                backup_eligible: false,
                backup_state: false,
            })
        }))
    }
}

async fn context(due: SecondFactorDue) -> String {
    let org = due.context.org.as_ref().map(|o| o.lockout().max_failures);
    let (user, filed, kind) = (&due.user, &due.context.request.org, &due.context.user_type);
    format!("{user} {org:?} {kind:?} {} {filed:?}", due.context.device_token.is_some())
}

#[derive(serde::Deserialize)]
struct Link {
    user: String,
    token: String,
}

/// The page of a security notice's "this wasn't me" link: no sign-in, the session's
/// CSRF token.
async fn wasnt_me(
    State(app): State<App>,
    client: Client,
    Form(link): Form<Link>,
) -> Result<Response, WebError> {
    let user = UserId::new(&link.user);
    let context = app.web.password_step_context(&user, &client).await?;
    Ok(match app.mfa.disown(&user, &link.token, &context).await? {
        Ok(disowned) => {
            format!("disowned {}: {}", disowned.event_id, disowned.revoked.join(",")).into_response()
        }
        Err(refusal) => Refused(refusal).into_response(),
    })
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
    cache_control: Option<String>,
}

impl Browser {
    fn new(router: &Router, host: &str) -> Browser {
        Browser {
            router: router.clone(),
            host: host.into(),
            cookies: BTreeMap::new(),
            set_cookies: Vec::new(),
            cache_control: None,
        }
    }

    async fn send(
        &mut self,
        request: axum::http::request::Builder,
        body: &str,
    ) -> (StatusCode, String, Option<String>) {
        let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut request = request;
        if !self.host.is_empty() {
            request = request.header(header::HOST, &self.host);
        }
        if !cookie.is_empty() {
            request = request.header(header::COOKIE, cookie.join("; "));
        }
        let mut request = request.body(Body::from(body.to_string())).unwrap();
        let peer: SocketAddr = "198.51.100.9:50000".parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = self.router.clone().oneshot(request).await.unwrap();
        self.cache_control =
            response.headers().get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap().to_string());
        read_response(response, &mut self.cookies, &mut self.set_cookies).await
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

impl Browser {
    /// A script's POST of `body` as JSON, with the session's CSRF token in the header.
    async fn post_json(&mut self, path: &str, body: &str) -> (StatusCode, String, Option<String>) {
        let token = self.get("/token").await.1;
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(CsrfToken::HEADER, token);
        self.send(request, body).await
    }
}

fn default_app() -> (Router, App) {
    app(ClientAddress::Peer, ORIGIN, Orgs::default())
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
    let (router, _) = app(proxy, ORIGIN, Orgs::default());
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

    let (status, body, _) = browser.post("/code", "code=123456").await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, Refusal::NotEnrolled.to_string()));
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
async fn the_sign_in_context_carries_the_org_its_settings_and_the_device_cookie() {
    let orgs = Orgs::default();
    {
        let mut org = orgs.0.lock().unwrap();
        let lockout = mfa_kit::LockoutRule { max_failures: 3, ..org.0.lockout() };
        org.0 = org.0.to_builder().lockout(lockout).build().unwrap();
    }
    let (router, _) = app(ClientAddress::Peer, ORIGIN, orgs.clone());
    let mut browser = Browser::new(&router, "app.example");
    browser.cookies.insert("mfa_device".into(), "TOKEN".into());
    browser.post("/password/alice/challenge", "").await;
    // Every event of the user's requests is filed under the organisation.
    assert_eq!(browser.get("/context").await.1, r#"alice Some(3) Some("staff") true Some("acme")"#);

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
async fn the_secure_attribute_follows_the_configured_origin_not_the_host_header() {
    for (origin, secure) in [("http://127.0.0.1:8080", false), ("https://app.example", true)] {
        let (router, _) = app(ClientAddress::Peer, origin, Orgs::default());
        // An upstream proxy's "Host: 127.0.0.1" no longer drops Secure from the cookie.
        for host in ["127.0.0.1", "app.example", ""] {
            let mut browser = Browser::new(&router, host);
            browser.post("/password/alice/allow", "").await;
            browser.post("/forget", "").await;
            let cookie = browser.set_cookies.iter().find(|c| c.starts_with("mfa_device=")).unwrap();
            assert_eq!(cookie.contains("Secure"), secure, "{origin} {host}: {cookie}");
            assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        }
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
        (StatusCode::FORBIDDEN, mfa_kit_axum::CSRF_REFUSED),
        "no session token yet"
    );
    let token = browser.get("/token").await.1;
    assert_eq!(token.len(), 64);
    assert_eq!(browser.get("/token").await.1, token, "one token per session stage");
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
        (StatusCode::TOO_MANY_REQUESTS, "Too many wrong codes. Try again after 2025-07-01 09:15 UTC.")
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
    {
        let mut org = orgs.0.lock().unwrap();
        org.0 = org.0.to_builder().enforce_for_all(true).build().unwrap();
    }
    let (router, _) = app(ClientAddress::Peer, ORIGIN, orgs);
    let mut browser = Browser::new(&router, "app.example");
    assert_eq!(
        browser.post("/password/erin/ask", "").await.1,
        "/mfa/enroll",
        "mandatory for all: enroll first"
    );
    assert_eq!(browser.get("/protected").await.2.as_deref(), Some("/mfa/enroll"));
}

/// An authenticator app the test holds.
struct Phone(Totp);

impl Phone {
    fn code(&self, app: &App) -> String {
        self.0.generate(app.clock.now().unwrap()).unwrap().to_string()
    }

    fn code_at(&self, at: u64) -> String {
        self.0.generate(at).unwrap().to_string()
    }
}

/// Sets up `user`'s authenticator through the service (no session yet: a first factor).
async fn enroll(app: &App, user: &str) -> Phone {
    let user = UserId::new(user);
    let here = SignInContext::default();
    let start = app.mfa.start_enrollment(&user, "u@example.com", &here).await.unwrap().unwrap();
    let key = KeyUri::parse(&start.uri).unwrap();
    let phone = Phone(Totp::new(key.secret(), key.totp_params().unwrap()));
    let now = app.clock.now().unwrap();
    let (first, second) = (phone.code_at(now - 30), phone.code_at(now));
    app.mfa.confirm_enrollment(&user, &[&first, &second], &here).await.unwrap().unwrap();
    app.clock.advance(30);
    phone
}

/// Password, then a real code from `phone`: the browser is signed in.
async fn sign_in(browser: &mut Browser, app: &App, user: &str, phone: &Phone) {
    assert_eq!(browser.post(&format!("/password/{user}/ask"), "").await.1, "/sign-in/code");
    let (status, body, _) = browser.post("/code", &format!("code={}", phone.code(app))).await;
    assert_eq!((status, body), (StatusCode::OK, format!("welcome {user}")));
    app.clock.advance(30);
}

/// Where the browser is sent when it asks for a protected page.
async fn sent_to(browser: &mut Browser) -> Option<String> {
    browser.get("/protected").await.2
}

#[tokio::test]
async fn a_session_let_in_by_a_remembered_device_cannot_enroll_or_get_recovery_codes_after_the_user_proves_a_code_elsewhere()
 {
    let (router, app) = default_app();
    let phone = enroll(&app, "alice").await;
    let mut laptop = Browser::new(&router, "app.example");
    sign_in(&mut laptop, &app, "alice", &phone).await;
    assert_eq!(laptop.post("/remember-device", "").await.1, "remembered");
    // A stolen (or forgotten) device cookie lets another browser in without a code.
    let mut thief = Browser::new(&router, "app.example");
    thief.cookies.insert("mfa_device".into(), laptop.cookies["mfa_device"].clone());
    assert_eq!(thief.post("/password/alice/ask", "").await.1, "/home", "let in by the remembered device");
    assert_eq!(thief.get("/protected").await.1, "hello alice");

    // Alice proves a code in her own browser; the other session waits for that moment.
    assert_eq!(laptop.post("/step-up", &format!("code={}", phone.code(&app))).await.1, "fresh");
    let fresh = Refusal::FreshProofRequired.to_string();
    let (status, body, _) = thief.post("/enroll/start", "").await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, fresh.as_str()), "no new authenticator");
    let (status, body, _) = thief.post("/recovery-codes", "").await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, fresh.as_str()), "no new recovery codes");
    // Her own browser may: it just proved a code. Its pending enrollment cannot be
    // finished by the other session either, even with the right codes.
    let uri = laptop.post("/enroll/start", "").await.1;
    let key = KeyUri::parse(&uri).unwrap();
    let new_phone = Phone(Totp::new(key.secret(), key.totp_params().unwrap()));
    let now = app.clock.now().unwrap();
    let codes = format!("first={}&second={}", new_phone.code_at(now - 30), new_phone.code_at(now));
    let (status, body, _) = thief.post("/enroll/confirm", &codes).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, fresh.as_str()), "no confirmation");
    assert_eq!(app.mfa.record(&UserId::new("alice")).await.unwrap().authenticators().len(), 1);
    assert_eq!(laptop.post("/enroll/confirm", &codes).await.1, "enrolled");
}

#[tokio::test]
async fn a_password_only_session_parked_at_the_must_enroll_stage_cannot_replace_the_authenticator_enrolled_afterwards()
 {
    let (router, app) = default_app();
    let (admin, bob) = (UserId::new("admin"), UserId::new("bob"));
    let admin_phone = enroll(&app, "admin").await;
    enroll(&app, "bob").await;
    let proof =
        app.mfa.verify_code(&admin, &admin_phone.code(&app), &SignInContext::default()).await.unwrap();
    assert!(proof.is_ok());
    let reset = ResetRequest::new("demo", &admin, &bob, "lost phone");
    app.mfa
        .reset(reset, &permissions::from_sync_fn(|_| true), &SignInContext::default())
        .await
        .unwrap()
        .unwrap();

    // Someone with Bob's password parks a session at "set up MFA first".
    let mut parked = Browser::new(&router, "app.example");
    assert_eq!(parked.post("/password/bob/ask", "").await.1, "/mfa/enroll");
    // Bob signs in and sets up his new phone.
    let mut bobs = Browser::new(&router, "app.example");
    assert_eq!(bobs.post("/password/bob/ask", "").await.1, "/mfa/enroll");
    let uri = bobs.post("/enroll/start", "").await.1;
    let key = KeyUri::parse(&uri).unwrap();
    let phone = Phone(Totp::new(key.secret(), key.totp_params().unwrap()));
    let now = app.clock.now().unwrap();
    let codes = format!("first={}&second={}", phone.code_at(now - 30), phone.code_at(now));
    assert_eq!(bobs.post("/enroll/confirm", &codes).await.1, "enrolled");
    assert_eq!(bobs.get("/protected").await.1, "hello bob", "the session that enrolled goes on");
    let enrolled = app.mfa.record(&bob).await.unwrap().authenticators()[0].id().to_string();

    // The parked session is signed out, and cannot start or confirm anything.
    app.clock.advance(30);
    let (status, _, location) = parked.post("/enroll/start", "").await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/sign-in?ended=account_changed"))
    );
    assert_eq!(sent_to(&mut parked).await.as_deref(), Some("/sign-in"), "its session is gone");
    assert_eq!(app.mfa.record(&bob).await.unwrap().authenticators()[0].id(), enrolled);
}

#[tokio::test]
async fn after_an_admin_reset_a_factor_replacement_and_a_password_change_older_sessions_are_signed_out_and_the_changer_is_not()
 {
    let (router, app) = default_app();
    let (admin, alice) = (UserId::new("admin"), UserId::new("alice"));
    let admin_phone = enroll(&app, "admin").await;
    let phone = enroll(&app, "alice").await;
    let ended = Some("/sign-in?ended=account_changed");

    // An admin reset ends every session of the user, whatever its stage.
    let mut signed_in = Browser::new(&router, "app.example");
    sign_in(&mut signed_in, &app, "alice", &phone).await;
    let mut pending = Browser::new(&router, "app.example");
    assert_eq!(pending.post("/password/alice/ask", "").await.1, "/sign-in/code");
    let proof =
        app.mfa.verify_code(&admin, &admin_phone.code(&app), &SignInContext::default()).await.unwrap();
    assert!(proof.is_ok());
    let reset = ResetRequest::new("demo", &admin, &alice, "stolen cookie");
    app.mfa
        .reset(reset, &permissions::from_sync_fn(|_| true), &SignInContext::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent_to(&mut signed_in).await.as_deref(), ended);
    assert_eq!(sent_to(&mut pending).await.as_deref(), ended);
    assert_eq!(sent_to(&mut signed_in).await.as_deref(), Some("/sign-in"), "signed out for good");

    // A replaced authenticator ends the others; the session that replaced it goes on.
    let phone = enroll(&app, "alice").await;
    let (mut changer, mut other) =
        (Browser::new(&router, "app.example"), Browser::new(&router, "app.example"));
    sign_in(&mut changer, &app, "alice", &phone).await;
    sign_in(&mut other, &app, "alice", &phone).await;
    assert_eq!(changer.post("/step-up", &format!("code={}", phone.code(&app))).await.1, "fresh");
    let key = KeyUri::parse(&changer.post("/enroll/start", "").await.1).unwrap();
    let new_phone = Phone(Totp::new(key.secret(), key.totp_params().unwrap()));
    let now = app.clock.now().unwrap();
    let codes = format!("first={}&second={}", new_phone.code_at(now - 30), new_phone.code_at(now));
    assert_eq!(changer.post("/enroll/confirm", &codes).await.1, "enrolled");
    assert_eq!(changer.get("/protected").await.1, "hello alice");
    assert_eq!(sent_to(&mut other).await.as_deref(), ended);
    app.clock.advance(30);

    // A password change ends the others; the session that changed it goes on.
    let mut other = Browser::new(&router, "app.example");
    sign_in(&mut other, &app, "alice", &new_phone).await;
    assert_eq!(changer.post("/password-changed", "").await.1, "kept true");
    assert_eq!(changer.get("/protected").await.1, "hello alice");
    assert_eq!(sent_to(&mut other).await.as_deref(), ended);
}

#[tokio::test]
async fn a_session_past_the_absolute_lifetime_or_the_inactivity_limit_signs_in_again() {
    let orgs = Orgs::default();
    {
        let mut org = orgs.0.lock().unwrap();
        org.0 = org.0.to_builder().session_lifetime(3600).session_idle_timeout(900).build().unwrap();
    }
    let (router, app) = app(ClientAddress::Peer, ORIGIN, orgs);
    let phone = enroll(&app, "alice").await;
    let (mut busy, mut idle) = (Browser::new(&router, "app.example"), Browser::new(&router, "app.example"));
    sign_in(&mut busy, &app, "alice", &phone).await;
    sign_in(&mut idle, &app, "alice", &phone).await;
    let started = app.clock.now().unwrap() - 30;
    // Active every 10 minutes: inactivity never ends it, the lifetime does.
    while app.clock.now().unwrap() + 600 < started + 3600 {
        app.clock.advance(600);
        assert_eq!(busy.get("/protected").await.1, "hello alice");
    }
    assert_eq!(sent_to(&mut idle).await.as_deref(), Some("/sign-in?ended=inactive"));
    app.clock.set(started + 3600);
    assert_eq!(sent_to(&mut busy).await.as_deref(), Some("/sign-in?ended=lifetime_reached"));
    assert_eq!(sent_to(&mut busy).await.as_deref(), Some("/sign-in"));
}

#[tokio::test]
async fn the_csrf_token_differs_before_and_after_each_stage() {
    let (router, app) = default_app();
    let phone = enroll(&app, "alice").await;
    let mut browser = Browser::new(&router, "app.example");
    let before = browser.get("/token").await.1;
    assert_eq!(browser.post("/password/alice/ask", "").await.1, "/sign-in/code");
    let pending = browser.get("/token").await.1;
    assert_eq!(browser.post("/code", &format!("code={}", phone.code(&app))).await.1, "welcome alice");
    let signed_in = browser.get("/token").await.1;
    assert!(
        before != pending && pending != signed_in && before != signed_in,
        "{before} {pending} {signed_in}"
    );
    // The token of the stage before is refused.
    let form = Request::post("/protected").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    assert_eq!(browser.send(form, &format!("csrf_token={pending}")).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_post_over_http2_without_host_with_the_configured_origin_succeeds_and_a_foreign_one_is_refused() {
    let (router, _) = default_app();
    let mut browser = Browser::new(&router, "");
    let token = browser.get("/token").await.1;
    let form = |origin: &str| {
        Request::post("/password/alice/allow")
            .version(axum::http::Version::HTTP_2)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, origin)
    };
    let body = format!("csrf_token={token}");
    assert_eq!(browser.send(form("https://app.example"), &body).await.1, "/home", "the configured origin");
    let token = browser.get("/token").await.1;
    let body = format!("csrf_token={token}");
    for foreign in ["https://evil.example", "null", "http://app.example", "https://app.example.evil.example"]
    {
        assert_eq!(browser.send(form(foreign), &body).await.0, StatusCode::FORBIDDEN, "{foreign}");
    }
    let cross_site = form("https://app.example").header("sec-fetch-site", "cross-site");
    assert_eq!(browser.send(cross_site, &body).await.0, StatusCode::FORBIDDEN, "marked cross-site");
    assert!(MfaWeb::builder(Orgs::default(), app_service()).build().is_err(), "an origin is required");
}

fn app_service() -> Arc<Service> {
    Arc::new(MfaService::builder("Test", MemoryStore::new(), PlaintextSealer).build())
}

#[tokio::test]
async fn secret_bearing_responses_carry_no_store() {
    let (router, app) = default_app();
    let mut browser = Browser::new(&router, "app.example");
    assert_eq!(browser.post("/password/carol/require", "").await.1, "/mfa/enroll");
    let (status, uri, _) = browser.post("/enroll/start", "").await;
    assert!(status == StatusCode::OK && uri.starts_with("otpauth://"), "{status} {uri}");
    assert_eq!(browser.cache_control.as_deref(), Some("no-store"), "the enrollment key");
    let key = KeyUri::parse(&uri).unwrap();
    let phone = Phone(Totp::new(key.secret(), key.totp_params().unwrap()));
    let now = app.clock.now().unwrap();
    let codes = format!("first={}&second={}", phone.code_at(now - 30), phone.code_at(now));
    assert_eq!(browser.post("/enroll/confirm", &codes).await.1, "enrolled");
    let (status, body, _) = browser.post("/recovery-codes", "").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "10 codes"));
    assert_eq!(browser.cache_control.as_deref(), Some("no-store"), "recovery codes");
}

#[tokio::test]
async fn a_thousand_malformed_codes_from_one_session_write_a_bounded_number_of_audit_rows_and_the_trail_keeps_the_count()
 {
    let (router, app) = default_app();
    let phone = enroll(&app, "alice").await;
    let alice = UserId::new("alice");
    let mut browser = Browser::new(&router, "app.example");
    assert_eq!(browser.post("/password/alice/ask", "").await.1, "/sign-in/code");
    let before = app.mfa.store().events_for(&alice).len();
    let token = browser.get("/token").await.1;
    for _ in 0..1000 {
        let form = Request::post("/code").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        let (status, body, _) = browser.send(form, &format!("code=abc&csrf_token={token}")).await;
        assert_eq!((status, body), (StatusCode::UNAUTHORIZED, Refusal::Malformed.to_string()));
    }
    let written = app.mfa.store().events_for(&alice).len() - before;
    assert_eq!(written, RefusalTally::LOGGED_PER_INTERVAL as usize, "at most the bound, one by one");
    // The right code brings the summary with the exact count of the rest.
    let (status, body, _) = browser.post("/code", &format!("code={}", phone.code(&app))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "welcome alice"));
    let trail = app.mfa.store().events_for(&alice);
    let summarised: u32 = trail
        .iter()
        .filter_map(|e| match e.kind {
            mfa_kit::event::EventKind::RefusalsSummarised { refused, .. } => Some(refused),
            _ => None,
        })
        .sum();
    let one_by_one =
        trail.iter().filter(|e| matches!(e.kind, mfa_kit::event::EventKind::CodeRejected { .. })).count();
    assert_eq!(summarised as usize + one_by_one, 1000, "the trail says how many were refused");
    assert!(trail.len() - before <= RefusalTally::LOGGED_PER_INTERVAL as usize + 2);
}

#[tokio::test]
async fn a_principal_without_a_backup_destination_is_sent_to_add_one_before_going_on() {
    use mfa_kit::policy::BackupRule;
    let orgs = Orgs::default();
    {
        let mut org = orgs.0.lock().unwrap();
        org.0 = org.0.to_builder().principal_backup(BackupRule::RequireDestination).build().unwrap();
    }
    let (router, app) = app(ClientAddress::Peer, ORIGIN, orgs);
    let phone = enroll(&app, "boss").await;
    // Recovery codes do not count as the backup this organisation requires.
    let here = SignInContext::default();
    let boss = UserId::new("boss");
    app.mfa.verify_code(&boss, &phone.code(&app), &here).await.unwrap().unwrap();
    app.clock.advance(30);
    app.mfa.generate_recovery_codes(&boss, &here).await.unwrap().unwrap();

    let mut browser = Browser::new(&router, "app.example");
    assert_eq!(browser.post("/password/boss/ask", "").await.1, "/sign-in/code");
    let (status, body, _) = browser.post("/code", &format!("code={}", phone.code(&app))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "to /mfa/backup"));
    assert_eq!(
        sent_to(&mut browser).await.as_deref(),
        Some("/mfa/backup"),
        "blocked until a backup is added"
    );
    assert_eq!(browser.get("/backup").await.1, "add a backup, boss");
    assert_eq!(browser.post("/backup/add", "").await.1, "sent");
    assert_eq!(browser.post("/backup/confirm", "").await.1, "backup added");
    assert_eq!(browser.get("/protected").await.1, "hello boss", "on with a backup phone");

    // Staff (not principals) are not held up.
    enroll(&app, "staff").await;
    let decision = app
        .mfa
        .sign_in_decision(
            &UserId::new("staff"),
            &app.web
                .password_step_context(
                    &UserId::new("staff"),
                    &Client::from_parts(&app.web, &Default::default(), None),
                )
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(matches!(decision, Ok(Decision::Challenge { backup_blocking: false, .. })), "{decision:?}");
}

// ---- security keys ----

/// The challenge number in the fake relying party's options.
fn challenge(options: &str) -> u64 {
    let json: serde_json::Value = serde_json::from_str(options).unwrap();
    let text = json["publicKey"]["challenge"].as_str().unwrap();
    text.trim_start_matches(char::is_alphabetic).parse().unwrap()
}

/// The fake authenticator's answer to `options`, from credential `id` at `counter`.
fn answer(options: &str, id: &str, counter: u32) -> String {
    serde_json::json!({ "id": id, "challenge": challenge(options), "counter": counter }).to_string()
}

/// Registers key `id` from a session that is fresh.
async fn register_key(browser: &mut Browser, id: &str) {
    let (status, options, _) = browser.post_json("/key/register/options", "").await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let (status, body, _) = browser.post_json("/key/register", &answer(&options, id, 1)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "registered"));
}

#[tokio::test]
async fn registering_a_security_key_needs_the_session_token_a_fresh_proof_and_a_real_response() {
    let (router, app) = default_app();
    let phone = enroll(&app, "kim").await;
    let mut browser = Browser::new(&router, "app.example");
    sign_in(&mut browser, &app, "kim", &phone).await;

    // A script's POST without the session's token never reaches the service.
    let bare = Request::post("/key/register/options").header(header::CONTENT_TYPE, "application/json");
    let (status, body, _) = browser.send(bare, "").await;
    assert_eq!((status, body.as_str()), (StatusCode::FORBIDDEN, mfa_kit_axum::CSRF_REFUSED));

    // Minutes after the sign-in the proof is stale: the options are refused, as JSON.
    app.clock.advance(400);
    let (status, body, _) = browser.post_json("/key/register/options", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let refusal: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(refusal["code"], "fresh_proof_required");
    assert_eq!(refusal["error"], Refusal::FreshProofRequired.to_string());
    assert_eq!(browser.cache_control.as_deref(), Some("no-store"));

    // A code in this session: the options, never cached.
    let (_, fresh, _) = browser.post("/step-up", &format!("code={}", phone.code(&app))).await;
    assert_eq!(fresh, "fresh");
    let (status, options, _) = browser.post_json("/key/register/options", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(options.starts_with(r#"{"publicKey":"#), "{options}");
    assert_eq!(browser.cache_control.as_deref(), Some("no-store"));

    // Not JSON: the service's refusal, with its status; the challenge is spent.
    let (status, body, _) = browser.post_json("/key/register", "{not json").await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, Refusal::KeyResponseMalformed.to_string()));
    let (status, body, _) = browser.post_json("/key/register", &answer(&options, "key-1", 1)).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, Refusal::NoCeremonyPending.to_string()));
    assert!(
        app.mfa.authenticators(&UserId::new("kim")).await.unwrap().iter().all(|a| a.method == Method::Totp)
    );

    // Through a plain form post this time (the response in the form's field).
    let (_, options, _) = browser.post_json("/key/register/options", "").await;
    let field = serde_urlencoded::to_string([(KeyResponse::FIELD, answer(&options, "key-1", 1))]).unwrap();
    let (status, body, _) = browser.post("/key/register", &field).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "registered"));
    assert_eq!(browser.get("/protected").await.1, "hello kim", "the session that registered it goes on");
    let keys: Vec<_> = app
        .mfa
        .authenticators(&UserId::new("kim"))
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.method == Method::SecurityKey)
        .collect();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].name, "YubiKey");

    // The same key again is refused as such.
    let (_, options, _) = browser.post_json("/key/register/options", "").await;
    let (status, body, _) = browser.post_json("/key/register", &answer(&options, "key-1", 2)).await;
    assert_eq!((status, body), (StatusCode::CONFLICT, Refusal::KeyAlreadyRegistered.to_string()));

    // What the browser sends must fit; a form without the field is no response.
    let (status, _, _) = browser.post_json("/key/register", &"x".repeat(KeyResponse::MAX_BODY + 1)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _, _) = browser.post("/key/register", "other=1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_security_key_signs_in_and_steps_up_and_a_replayed_or_wound_back_response_is_refused() {
    let (router, app) = default_app();
    let phone = enroll(&app, "kim").await;
    let mut first = Browser::new(&router, "app.example");
    sign_in(&mut first, &app, "kim", &phone).await;
    register_key(&mut first, "key-1").await;
    app.clock.advance(30);

    // A new browser: the password, then the key instead of a code.
    let mut second = Browser::new(&router, "app.example");
    assert_eq!(second.post("/password/kim/ask", "").await.1, "/sign-in/code");
    let (status, options, _) = second.post_json("/key/sign-in/options", "").await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let signed = answer(&options, "key-1", 5);
    let (status, body, _) = second.post_json("/key/sign-in", &signed).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "welcome kim"));
    assert_eq!(second.get("/protected").await.1, "hello kim");

    // A third: the same signed response again answers nothing now; a stranger's key
    // and a counter that went back are refused and counted.
    let mut third = Browser::new(&router, "app.example");
    assert_eq!(third.post("/password/kim/ask", "").await.1, "/sign-in/code");
    let (status, body, _) = third.post_json("/key/sign-in", &signed).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, Refusal::NoCeremonyPending.to_string()));
    let (_, options, _) = third.post_json("/key/sign-in/options", "").await;
    let (status, body, _) = third.post_json("/key/sign-in", &signed).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a response to another challenge");
    assert!(body.starts_with("Your security key's response was not accepted"), "{body}");
    let _ = options;
    let (_, options, _) = third.post_json("/key/sign-in/options", "").await;
    let (status, body, _) = third.post_json("/key/sign-in", &answer(&options, "key-1", 3)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the counter went back: a copy of the key?");
    assert!(body.contains("(3 tries left"), "{body}");
    assert_eq!(sent_to(&mut third).await.as_deref(), Some("/sign-in/code"), "still not signed in");
    let (_, options, _) = third.post_json("/key/sign-in/options", "").await;
    let (status, body, _) = third.post_json("/key/sign-in", &answer(&options, "key-1", 6)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "welcome kim"));

    // Step-up with the key, in the second browser, once its proof is stale.
    app.clock.advance(400);
    let kim = UserId::new("kim");
    let key = app
        .mfa
        .authenticators(&kim)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.method == Method::SecurityKey)
        .unwrap();
    let (status, body, _) = second.post("/key/remove", &format!("id={}", key.id)).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, Refusal::FreshProofRequired.to_string()));
    let (_, options, _) = second.post_json("/key/step-up/options", "").await;
    let (status, body, _) = second.post_json("/key/step-up", &answer(&options, "key-1", 7)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "fresh"));

    // Removed from there: that session goes on, the others end.
    let (status, body, _) = second.post("/key/remove", &format!("id={}", key.id)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "removed true, kept true"));
    assert_eq!(second.get("/protected").await.1, "hello kim");
    assert_eq!(sent_to(&mut third).await.as_deref(), Some("/sign-in?ended=account_changed"));
    assert!(app.mfa.authenticators(&kim).await.unwrap().iter().all(|a| a.method == Method::Totp));
    assert_eq!(second.post("/password/kim/ask", "").await.1, "/sign-in/code");
    let (status, body, _) = second.post_json("/key/sign-in/options", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no key left to sign in with");
    let refusal: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(refusal["code"], "not_enrolled");
}

#[tokio::test]
async fn a_user_the_organisation_requires_a_key_of_is_held_until_they_register_one() {
    let (router, app) = default_app();
    let phone = enroll(&app, "lee").await;
    let mut browser = Browser::new(&router, "app.example");
    assert_eq!(browser.post("/password/lee/challenge-key", "").await.1, "/sign-in/code");
    let (status, body, _) = browser.post("/code", &format!("code={}", phone.code(&app))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "to /mfa/security-key"));
    assert_eq!(
        sent_to(&mut browser).await.as_deref(),
        Some("/mfa/security-key"),
        "held until a key is added"
    );
    let (status, _, to) = browser.post_json("/key/step-up/options", "").await;
    assert_eq!((status, to.as_deref()), (StatusCode::SEE_OTHER, Some("/mfa/security-key")));
    register_key(&mut browser, "key-9").await;
    assert_eq!(browser.get("/protected").await.1, "hello lee", "on with a key");
}

#[tokio::test]
async fn a_notice_link_with_an_altered_token_changes_nothing_and_the_true_one_freezes_the_account_once() {
    use mfa_kit::store::{AuditQuery, ReadAudit};

    let (router, app) = default_app();
    let phone = enroll(&app, "erin").await;
    let erin = UserId::new("erin");
    // The notice of her new authenticator app, and its link's token.
    let trail = app.mfa.store().read_audit(&AuditQuery::range(0, u64::MAX, 100)).await.unwrap();
    let added =
        trail.events.iter().find(|s| matches!(s.event.kind, EventKind::EnrollmentConfirmed { .. })).unwrap();
    let token = app.mfa.disown_token(&erin, added.id, added.event.at, &added.event.kind).unwrap();
    let token = token.as_str();
    let form =
        |user: &str, token: &str| serde_urlencoded::to_string([("user", user), ("token", token)]).unwrap();
    let mut browser = Browser::new(&router, "app.example");
    sign_in(&mut browser, &app, "erin", &phone).await;

    // Without the session's CSRF token, the service is not asked.
    let request =
        Request::post("/wasnt-me").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    assert_eq!(browser.send(request, &form("erin", token)).await.0, StatusCode::FORBIDDEN);

    // Altered tokens: the hash, the event, what it was about, another user's, no token.
    let (event_id, rest) = token.split_once('.').unwrap();
    let mut altered_hash = token.to_string();
    let last = altered_hash.pop().unwrap();
    altered_hash.push(if last == 'A' { 'B' } else { 'A' });
    let other_event = format!("{}.{rest}", event_id.parse::<i64>().unwrap() + 1);
    let other_subject = token.replacen(".a.", ".r.", 1);
    assert_ne!(other_subject, token, "an app's token names its subject");
    let invalid = Refusal::DisownLinkInvalid.to_string();
    for (user, altered) in [
        ("erin", altered_hash.as_str()),
        ("erin", other_event.as_str()),
        ("erin", other_subject.as_str()),
        ("erin", "not a token"),
        ("erin", ""),
        ("mallory", token),
    ] {
        let (status, body, _) = browser.post("/wasnt-me", &form(user, altered)).await;
        assert_eq!((status, body.as_str()), (StatusCode::BAD_REQUEST, invalid.as_str()), "{user} {altered}");
    }
    let record = app.mfa.record(&erin).await.unwrap();
    assert!(record.frozen().is_none(), "nothing frozen");
    assert_eq!(record.authenticators().len(), 1, "nothing revoked");
    assert_eq!(browser.get("/protected").await.1, "hello erin", "her session goes on");

    // The true link: the app set up then is revoked, the account frozen, her session ended.
    let app_id = record.authenticators()[0].id().to_string();
    let (status, body, _) = browser.post("/wasnt-me", &form("erin", token)).await;
    assert_eq!((status, body), (StatusCode::OK, format!("disowned {}: {app_id}", added.id)));
    let record = app.mfa.record(&erin).await.unwrap();
    assert!(record.frozen().is_some());
    assert!(record.authenticators().is_empty());
    assert_eq!(sent_to(&mut browser).await.as_deref(), Some("/sign-in?ended=account_changed"));

    // Once only.
    let mut again = Browser::new(&router, "app.example");
    let (status, body, _) = again.post("/wasnt-me", &form("erin", token)).await;
    let used = Refusal::DisownLinkUsed.to_string();
    assert_eq!((status, body.as_str()), (StatusCode::GONE, used.as_str()));
}

/// README: "[`csrf_protect`] checks a per-session [`CsrfToken`] on every request that
/// is not `GET`/`HEAD`". A route that takes any method (`axum::routing::any`) must not
/// run for an `OPTIONS` or `TRACE` request that carries no token.
#[tokio::test]
async fn every_method_but_get_and_head_needs_the_csrf_token() {
    let (router, _) = default_app();
    let mut browser = Browser::new(&router, "app.example");
    browser.get("/token").await;
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"] {
        let request = Request::builder().method(method).uri("/anything");
        let (status, body, _) = browser.send(request, "").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} without the token reached the handler: {body}");
    }
}

/// The remembered-device token is a bearer credential (it skips the second factor):
/// mfa-kit keeps it out of `Debug` (`DeviceToken`: "`Debug` does not show it";
/// `Remembered`: "Leaves the token out"). The cookie built from it must too, or a host
/// that logs its response parts with `?` writes the token into its logs.
#[tokio::test]
async fn the_device_cookie_does_not_print_its_token_in_debug() {
    let (_, app) = default_app();
    let phone = enroll(&app, "alice").await;
    let alice = UserId::new("alice");
    let proof = app.mfa.verify_code(&alice, &phone.code(&app), &SignInContext::default()).await.unwrap();
    assert!(proof.is_ok());
    let remembered: Remembered =
        app.mfa.remember_device(&alice, "laptop", 86_400, &SignInContext::default()).await.unwrap().unwrap();
    let token = remembered.token.as_str().to_string();
    assert!(!format!("{remembered:?}").contains(&token), "the core leaves it out");
    let cookie = app.web.remember_cookie(&remembered).unwrap();
    let printed = format!("{cookie:?}");
    assert!(!printed.contains(&token), "DeviceCookie's Debug prints the device token: {printed}");
}

/// `status_for`: "`429 Too Many Requests` for a lockout or a send limit, `403 Forbidden`
/// where no other answer would be accepted (address, permission, a rule, ...)", `401`
/// only "for every code or security-key response that was not accepted". A second
/// factor disabled after too many wrong codes is a lockout no code lifts, and a method
/// the organisation does not allow is refused by its rule: neither is a wrong code.
#[test]
fn a_disabled_second_factor_and_a_method_the_organisation_forbids_are_not_401() {
    let disabled = status_for(&Refusal::Disabled);
    assert!(
        disabled == StatusCode::TOO_MANY_REQUESTS || disabled == StatusCode::FORBIDDEN,
        "Disabled (locked until an admin reset) answered {disabled}"
    );
    assert_eq!(status_for(&Refusal::MethodNotAllowed), StatusCode::FORBIDDEN, "the organisation's rule");
}

/// A guarded page that takes its time: it says it has started, then waits to be let go.
static SLOW_STARTED: std::sync::LazyLock<tokio::sync::Notify> =
    std::sync::LazyLock::new(tokio::sync::Notify::new);
static SLOW_RELEASE: std::sync::LazyLock<tokio::sync::Notify> =
    std::sync::LazyLock::new(tokio::sync::Notify::new);

async fn slow(user: SignedIn) -> String {
    SLOW_STARTED.notify_one();
    SLOW_RELEASE.notified().await;
    format!("slow {}", user.user)
}

/// A page of the same session still loading when the user signs out (another tab, a
/// slow report) does not bring the session back: its guard wrote the session's
/// activity, and tower-sessions saves that copy when the page answers, after the
/// sign-out deleted it; the account remembers the sign-out, so the copy is refused.
#[tokio::test]
async fn a_page_still_loading_when_the_user_signs_out_does_not_bring_the_session_back() {
    let (router, app) = default_app();
    let mut browser = Browser::new(&router, "app.example");
    browser.post("/password/alice/allow", "").await;
    assert_eq!(browser.get("/protected").await.1, "hello alice");
    let cookies = browser.cookies.clone();
    // A minute later (the guard then writes the session's last activity), a slow page.
    app.clock.advance(mfa_kit_axum::ACTIVITY_GRANULARITY + 1);
    let cookie: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut request =
        Request::get("/slow").header(header::COOKIE, cookie.join("; ")).body(Body::empty()).unwrap();
    request.extensions_mut().insert(ConnectInfo("198.51.100.9:50000".parse::<SocketAddr>().unwrap()));
    let started = SLOW_STARTED.notified();
    let page = tokio::spawn(router.clone().oneshot(request));
    started.await;
    // Meanwhile, in another tab, the user signs out.
    assert_eq!(browser.post("/sign-out", "").await.1, "signed out");
    assert_eq!(sent_to(&mut browser).await.as_deref(), Some("/sign-in"), "signed out");
    SLOW_RELEASE.notify_one();
    let response = page.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The session id from before the sign-out must be worth nothing now.
    let mut holder = Browser::new(&router, "app.example");
    holder.cookies = cookies;
    let (status, body, location) = holder.get("/protected").await;
    assert_eq!(
        location.as_deref(),
        Some("/sign-in?ended=signed_out"),
        "the signed-out session is signed in again: {status} {body}"
    );
}

// ---- review-g ----

/// Proves the second factor (`totp` or `recovery`), then, before the session is told,
/// an admin resets the user (as a concurrent request would), then tells the session.
async fn race_with_a_reset(
    State(app): State<App>,
    due: SecondFactorDue,
    session: MfaSession,
    axum::extract::Path((kind, code, admin_code)): axum::extract::Path<(String, String, String)>,
) -> Result<String, WebError> {
    let outcome = if kind == "recovery" {
        app.mfa.redeem_recovery_code(&due.user, &code, &due.context).await?
    } else {
        app.mfa.verify_code(&due.user, &code, &due.context).await?
    };
    let proof = outcome.expect("the proof is accepted");
    let admin = UserId::new("admin");
    app.mfa.verify_code(&admin, &admin_code, &SignInContext::default()).await?.expect("admin proof");
    let reset = ResetRequest::new("demo", &admin, &due.user, "stolen cookie");
    app.mfa
        .reset(reset, &permissions::from_sync_fn(|_| true), &SignInContext::default())
        .await?
        .expect("reset");
    let state = session.second_factor_proven(&proof).await?;
    Ok(format!("{:?}", state.map(|s| s.stage())))
}

fn reset_router(app: &App) -> Router {
    Router::new()
        .route("/password/{user}/{decision}", post(password))
        .route("/race/{kind}/{code}/{admin_code}", post(race_with_a_reset))
        .route("/protected", get(|user: SignedIn| async move { format!("hello {}", user.user) }))
        .layer(
            tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default())
                .with_secure(false),
        )
        .with_state(app.clone())
}

/// `second_factor_proven`: "`None` ... if the account changed meanwhile (the session
/// is signed out)": an admin reset landing between the code's proof and the session
/// being told ends the session.
#[tokio::test]
async fn second_factor_proven_after_a_concurrent_reset_is_none() {
    let (_, app) = default_app();
    let admin_phone = enroll(&app, "admin").await;
    let phone = enroll(&app, "alice").await;
    let router = reset_router(&app);
    let mut browser = Browser::new(&router, "app.example");
    assert_eq!(browser.send(Request::post("/password/alice/ask"), "").await.1, "/sign-in/code");
    let path = format!("/race/totp/{}/{}", phone.code(&app), admin_phone.code(&app));
    let (status, body, _) = browser.send(Request::post(path), "").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "None"), "the account changed meanwhile");
}

/// `ClientAddress::TrustedHeader`: "The right-most address in this header ... the one
/// the host's own reverse proxy added". A last header line the proxy wrote (appending
/// to the client's own line) that is not visible ASCII leaves the address unknown: an
/// address the client wrote on an earlier line is never taken instead.
#[tokio::test]
async fn a_malformed_last_forwarding_line_does_not_hand_the_address_to_the_client() {
    let proxy = ClientAddress::TrustedHeader(HeaderName::from_static("x-forwarded-for"));
    let (router, _) = app(proxy, ORIGIN, Orgs::default());
    let mut browser = Browser::new(&router, "app.example");
    let request = Request::get("/client")
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-forwarded-for", axum::http::HeaderValue::from_bytes(b"\xff, 203.0.113.7").unwrap());
    let (_, body, _) = browser.send(request, "").await;
    assert!(
        body == "Some(203.0.113.7) None false" || body == "None None false",
        "the client's own 6.6.6.6 was taken: {body}"
    );
}

/// `PublicOrigin::parse`: "Parses `https://host[:port]`"; `ConfigError::InvalidOrigin`
/// for "a public origin [that] is not `https://host[:port]`": no host, or a port that
/// is not a number, is refused.
#[test]
fn an_origin_without_a_host_is_refused() {
    let accepted: Vec<String> = ["https://:443", "http://:80", "https://app.example:notaport"]
        .into_iter()
        .filter_map(|bad| {
            let built = MfaWeb::builder(Orgs::default(), app_service()).public_origin(bad).build();
            built.ok().map(|web| format!("{bad} -> {:?}", web.public_origins()[0].as_str()))
        })
        .collect();
    assert!(accepted.is_empty(), "accepted: {accepted:?}");
}
