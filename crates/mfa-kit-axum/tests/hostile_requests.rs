//! The web layer under hostile requests: malformed forms, token tricks, content-type
//! tricks, odd methods, garbage cookies and headers, and requests made at one stage of
//! signing in to the routes of another; and no stage skipped by enrolling first. The
//! router is driven in-process.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRef, State};
use axum::http::{Method as HttpMethod, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Form, Router, middleware};
use mfa_kit::clock::{Clock, ManualClock};
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::flow::Proven;
use mfa_kit::flow::enrollment::Confirmed;
use mfa_kit::policy::{Decision, OrgSettings};
use mfa_kit::prelude::*;
use mfa_kit_axum::{
    AddingBackup, AddingSecurityKey, Client, CsrfToken, Enrolling, KeyResponse, MfaSession, MfaWeb,
    OrgSource, ReaderLanguage, SecondFactorDue, SignedIn, UserOrg, WebError, csrf_protect, require_signed_in,
};
use tower::ServiceExt;

mod common;
use common::Browser;

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

/// One organisation; its users are "staff", and "boss" is a principal.
struct OneOrg(Arc<OrgSettings>);

impl OrgSource for OneOrg {
    type Error = std::convert::Infallible;

    async fn org_for(&self, user: &UserId) -> Result<UserOrg, Self::Error> {
        let org = UserOrg::new(self.0.clone()).in_org("acme").with_user_type("staff");
        Ok(if user.as_str() == "boss" { org.as_principal() } else { org })
    }
}

fn decision(name: &str) -> Decision {
    let challenge = |backup_blocking: bool, security_key_blocking: bool| Decision::Challenge {
        methods: vec![Method::Totp],
        reason: Reason::Enrolled,
        needs_backup: backup_blocking,
        backup_blocking,
        restricted: vec![],
        offer_security_key: security_key_blocking,
        security_key_blocking,
    };
    match name {
        "allow" => Decision::Allow { reason: Reason::NotRequired },
        "challenge" => challenge(false, false),
        "challenge-backup" => challenge(true, false),
        "challenge-key" => challenge(false, true),
        "require" => Decision::RequireEnrollment { reason: Reason::OrgEnforced },
        other => panic!("no decision {other}"),
    }
}

/// `ask`: the service's own decision.
async fn password(
    State(app): State<App>,
    session: MfaSession,
    client: Client,
    axum::extract::Path((user, name)): axum::extract::Path<(String, String)>,
) -> Result<String, WebError> {
    let user = UserId::new(user);
    let decision = if name == "ask" {
        let context = app.web.password_step_context(&user, &client).await?;
        app.mfa.sign_in_decision(&user, &context).await?.expect("a decision")
    } else {
        decision(&name)
    };
    let next = session.password_verified(user, &decision).await?;
    Ok(if name == "ask" { next.path(&app.web, "/home").to_string() } else { "password ok".into() })
}

/// Starts a real enrollment: answers the key's URI (as a page would show the QR code).
async fn real_start(State(app): State<App>, who: Enrolling) -> Result<String, WebError> {
    Ok(app
        .mfa
        .start_enrollment(&who.user, "u@example.com", &who.context)
        .await?
        .expect("started")
        .uri
        .to_string())
}

#[derive(serde::Deserialize)]
struct Codes {
    first: String,
    second: String,
}

/// Confirms a real enrollment, then moves the session on: answers where it landed.
async fn real_confirm(
    State(app): State<App>,
    who: Enrolling,
    session: MfaSession,
    Form(codes): Form<Codes>,
) -> Result<String, WebError> {
    let confirmed = app
        .mfa
        .confirm_enrollment(&who.user, &[&codes.first, &codes.second], &who.context)
        .await?
        .expect("confirmed");
    let state = session.enrollment_confirmed(&confirmed).await?.expect("moved on");
    Ok(state.landing(&app.web, "/home").to_string())
}

fn proof(app: &App) -> Proven {
    Proven { method: Method::Totp, drift: Some(0), at: app.clock.now().unwrap(), phishing_resistant: false }
}

fn confirmed(app: &App) -> Confirmed {
    Confirmed { replaced: false, at: app.clock.now().unwrap() }
}

#[derive(serde::Deserialize)]
struct CodeForm {
    code: String,
}

/// "good" stands for a code the service accepted.
async fn code(
    State(app): State<App>,
    _due: SecondFactorDue,
    session: MfaSession,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    if form.code != "good" {
        return Ok((StatusCode::UNAUTHORIZED, "wrong code").into_response());
    }
    Ok(match session.second_factor_proven(&proof(&app)).await? {
        Some(state) => format!("{:?}", state.stage()).into_response(),
        None => "none".into_response(),
    })
}

fn app() -> (Router, App) {
    app_with(OrgSettings::default())
}

fn app_with(settings: OrgSettings) -> (Router, App) {
    let clock = ManualClock::new(NOW);
    let mfa: Arc<Service> = Arc::new(
        MfaService::builder("Test", MemoryStore::new(), PlaintextSealer)
            .clock(clock.clone())
            .hash_key(HashKey::generate().unwrap())
            .build(),
    );
    let web = MfaWeb::builder(OneOrg(Arc::new(settings)), mfa.clone())
        .public_origin(ORIGIN)
        .clock(clock.clone())
        .build()
        .unwrap();
    let app = App { web: web.clone(), mfa, clock };
    let protected = Router::new()
        .route("/protected", get(|user: SignedIn| async move { format!("hello {}", user.user) }))
        .route("/act", any(|user: SignedIn| async move { format!("acted for {}", user.user) }))
        .route_layer(middleware::from_fn_with_state(web.clone(), require_signed_in));
    let router = Router::new()
        .merge(protected)
        .route("/token", get(|token: CsrfToken| async move { token.as_str().to_string() }))
        .route("/password/{user}/{decision}", post(password))
        .route("/code", post(code))
        .route("/enroll/real/start", post(real_start))
        .route("/enroll/real/confirm", post(real_confirm))
        .route("/due", get(|due: SecondFactorDue| async move { format!("due {}", due.user) }))
        .route("/enroll", get(|e: Enrolling| async move { format!("enrolling {}", e.user) }))
        .route(
            "/enrolled",
            post(|State(app): State<App>, _e: Enrolling, session: MfaSession| async move {
                let state = session.enrollment_confirmed(&confirmed(&app)).await?;
                Ok::<_, WebError>(format!("{:?}", state.map(|s| s.stage())))
            }),
        )
        .route("/backup", get(|who: AddingBackup| async move { format!("backup {}", who.user) }))
        .route(
            "/backup/added",
            post(|_who: AddingBackup, session: MfaSession| async move {
                let state = session.backup_added().await?;
                Ok::<_, WebError>(format!("{:?}", state.map(|s| s.stage())))
            }),
        )
        .route("/key", get(|who: AddingSecurityKey| async move { format!("key {}", who.user) }))
        .route(
            "/key/register",
            post(
                |State(app): State<App>,
                 _who: AddingSecurityKey,
                 session: MfaSession,
                 response: KeyResponse| async move {
                    let _ = response;
                    let state = session.security_key_registered(&confirmed(&app)).await?;
                    Ok::<_, WebError>(format!("{:?}", state.map(|s| s.stage())))
                },
            ),
        )
        .route(
            "/lang",
            get(|ReaderLanguage(language): ReaderLanguage| async move { format!("{language:?}") }),
        )
        .route("/client", get(|client: Client| async move { format!("{}", client.device_token.is_some()) }))
        .route("/echo", post(|body: String| async move { format!("{} bytes", body.len()) }))
        .layer(middleware::from_fn_with_state(web, csrf_protect))
        .layer(
            tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default())
                .with_secure(false),
        )
        .with_state(app.clone());
    (router, app)
}

/// A browser whose session is at the stage the decision `name` leads to (`"signed-in"`
/// passes the code too).
async fn at_stage(router: &Router, name: &str) -> Browser {
    let mut browser = Browser::new(router);
    let decision = if name == "signed-in" { "challenge" } else { name };
    assert_eq!(browser.post_form(&format!("/password/alice/{decision}"), "").await.1, "password ok");
    if name == "signed-in" {
        assert_eq!(browser.post_form("/code", "code=good").await.1, "SignedIn");
    }
    browser
}

fn form() -> axum::http::request::Builder {
    Request::post("/act").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
}

// ---- CSRF: token tricks ----

/// a token of another session, a wrong header token with the right form token,
/// and a right token only in the second of two fields are all refused.
#[tokio::test]
async fn a_forged_or_misplaced_csrf_token_is_refused_and_reaches_no_handler() {
    let (router, _) = app();
    let mut alice = at_stage(&router, "signed-in").await;
    let mut mallory = at_stage(&router, "signed-in").await;
    let mallorys = mallory.token().await;
    let right = alice.token().await;

    let (status, body, _) = alice.send(form(), format!("csrf_token={mallorys}")).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::FORBIDDEN, mfa_kit_axum::CSRF_REFUSED),
        "another session's token"
    );

    let request = form().header(CsrfToken::HEADER, &mallorys);
    let (status, _, _) = alice.send(request, format!("csrf_token={right}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a wrong header token is not rescued by the form's");

    let (status, _, _) = alice.send(form(), format!("csrf_token={mallorys}&csrf_token={right}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only the first field counts");

    let (status, _, _) = alice.send(form(), format!("csrf_token={}", right.to_uppercase())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the token is compared exactly");

    let (status, _, _) = alice.send(form(), format!("csrf_token={right}%00")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a suffix makes it another token");

    let (status, body, _) = alice.send(form(), format!("csrf_token={right}")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "acted for alice"), "the right one passes");
}

/// whatever the method, a request to a guarded route without the token is refused
/// before the guard or the handler runs.
#[tokio::test]
async fn every_method_but_get_and_head_on_a_guarded_route_needs_the_token() {
    let (router, _) = app();
    let mut alice = at_stage(&router, "signed-in").await;
    for method in ["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"] {
        let request =
            Request::builder().method(HttpMethod::from_bytes(method.as_bytes()).unwrap()).uri("/act");
        let (status, body, _) = alice.send(request, Body::empty()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method}: {body}");
    }
}

// ---- CSRF: malformed bodies and content types ----

/// malformed forms are never a server error, and carry the token through (or
/// are refused) without reaching the handler unchecked. (JSON and multipart bodies are
/// `web_guards.rs`'s.)
#[tokio::test]
async fn malformed_forms_and_content_type_tricks_are_client_errors_or_pass_with_the_token() {
    let (router, _) = app();
    let mut alice = at_stage(&router, "signed-in").await;
    let token = alice.token().await;
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/x-www-form-urlencoded", b"code=%ZZ%&%%&=&&csrf_token=".to_vec()),
        ("application/x-www-form-urlencoded", [b"code=\xff\xfe&csrf_token=".as_slice(), b"x"].concat()),
        ("application/x-www-form-urlencoded", br#"{"csrf_token": "x"}"#.to_vec()),
        ("text/plain", format!("csrf_token={token}").into_bytes()),
        ("application/x-www-form-urlencoded", Vec::new()),
    ];
    for (content_type, body) in bodies {
        let request = Request::post("/act").header(header::CONTENT_TYPE, content_type);
        let (status, text, _) = alice.send(request, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{content_type} {:?}: {text}",
            String::from_utf8_lossy(&body)
        );
    }
    // Charset parameters, upper case and stray bytes around the token are forms still.
    for content_type in [
        "application/x-www-form-urlencoded; charset=UTF-8",
        "APPLICATION/X-WWW-FORM-URLENCODED",
        "  application/x-www-form-urlencoded  ",
    ] {
        let request = Request::post("/act").header(header::CONTENT_TYPE, content_type);
        let body = [b"junk=\xff%ZZ&csrf_token=".as_slice(), token.as_bytes(), b"&x=%"].concat();
        let (status, text, _) = alice.send(request, body).await;
        assert_eq!((status, text.as_str()), (StatusCode::OK, "acted for alice"), "{content_type}");
    }
}

/// a form larger than the limit is `413` and says so; the same body with the
/// token in the header is handed on whole.
#[tokio::test]
async fn a_huge_form_field_is_413_and_a_huge_body_with_the_header_token_is_handed_on() {
    let (router, _) = app();
    let mut alice = at_stage(&router, "signed-in").await;
    let token = alice.token().await;
    let huge = format!("code={}&csrf_token={token}", "9".repeat(mfa_kit_axum::MAX_FORM_BYTES));
    let request = Request::post("/echo").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let (status, body, _) = alice.send(request, huge.clone()).await;
    assert_eq!((status, body.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."));
    let request = Request::post("/echo")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(CsrfToken::HEADER, &token);
    let (status, body, _) = alice.send(request, huge.clone()).await;
    assert_eq!((status, body), (StatusCode::OK, format!("{} bytes", huge.len())));
}

// ---- cookies and headers ----

/// garbage, oversize and duplicated device cookies and a huge or malformed
/// `Accept-Language` neither fail the request nor sign anyone in.
#[tokio::test]
async fn garbage_cookies_and_headers_are_harmless() {
    let (router, _) = app();
    let alice = at_stage(&router, "signed-in").await;
    let session = alice.cookie_header();
    let huge = "A".repeat(64 * 1024);
    for cookie in [
        format!("{session}; mfa_device=\"\"\"; mfa_device=%ZZ"),
        format!("{session}; mfa_device={huge}"),
        format!("mfa_device=x; {session}; mfa_device=y; ===; ;;"),
    ] {
        let request = Request::get("/protected").header(header::COOKIE, &cookie);
        let response = router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{}", &cookie[..cookie.len().min(200)]);
    }
    let request = Request::get("/client").header(header::COOKIE, b"mfa_device=\xff\xfe\t junk ".as_slice());
    let response = router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // A session id that is not one, or is another's made up: a new visitor, not signed in.
    let mut stranger = Browser::new(&router);
    stranger.cookies.insert("id".into(), "not-a-session".into());
    assert_eq!(stranger.get("/protected").await.2.as_deref(), Some("/sign-in"));
    stranger.cookies.insert("id".into(), "A".repeat(8 * 1024));
    assert_eq!(stranger.get("/protected").await.2.as_deref(), Some("/sign-in"));

    let languages = [
        "fr;q=0.5,".repeat(20_000),
        "fr;q=NaN, en;q=inf, *;q=-1".into(),
        ";;;,,,=q=;q=;".into(),
        "é".into(),
        "fr;q=1e39".into(),
    ];
    for language in languages {
        let request = Request::get("/lang").header(header::ACCEPT_LANGUAGE, language.as_bytes());
        let response = router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{}", &language[..language.len().min(40)]);
    }
}

// ---- stages ----

/// at every stage but signed in, each route of another stage sends the browser
/// to the page it must pass first; no handler of another stage runs.
#[tokio::test]
async fn each_stage_reaches_only_its_own_routes() {
    let (router, _) = app();
    // (decision, the page it must pass first, the GET routes it may see)
    let stages = [
        ("challenge", "/sign-in/code", &["/due"][..]),
        ("require", "/mfa/enroll", &["/enroll"][..]),
        ("challenge-backup", "/mfa/backup", &[][..]),
        ("challenge-key", "/mfa/security-key", &[][..]),
    ];
    let gets = ["/protected", "/due", "/enroll", "/backup", "/key"];
    for (name, first, own) in stages {
        let mut browser = at_stage(&router, name).await;
        if name.starts_with("challenge-") {
            // Past the code, held at the backup or security-key stage.
            let stage = browser.post_form("/code", "code=good").await.1;
            assert!(stage == "Backup" || stage == "SecurityKey", "{name}: {stage}");
        }
        for path in gets {
            let (status, body, location) = browser.get(path).await;
            let own = own.contains(&path)
                || (name == "challenge-backup" && path == "/backup")
                || (name == "challenge-key" && path == "/key");
            if own {
                assert_eq!(status, StatusCode::OK, "{name} {path}: {body}");
            } else {
                assert_eq!(
                    (status, location.as_deref()),
                    (StatusCode::SEE_OTHER, Some(first)),
                    "{name} {path}: {body}"
                );
            }
        }
        // POSTs of the other stages, with a good token: none runs.
        for (path, fields) in [
            ("/act", ""),
            ("/code", "code=good"),
            ("/enrolled", ""),
            ("/backup/added", ""),
            ("/key/register", "response=%7B%7D"),
        ] {
            let own = matches!(
                (name, path),
                ("challenge", "/code")
                    | ("require", "/enrolled")
                    | ("challenge-backup", "/backup/added")
                    | ("challenge-key", "/key/register")
            );
            if own {
                continue;
            }
            let (status, body, location) = browser.post_form(path, fields).await;
            assert_eq!(
                (status, location.as_deref()),
                (StatusCode::SEE_OTHER, Some(first)),
                "{name} POST {path}: {body}"
            );
        }
    }
}

/// a browser that never passed the password step reaches no stage.
#[tokio::test]
async fn a_new_visitor_with_a_token_reaches_no_stage() {
    let (router, _) = app();
    let mut visitor = Browser::new(&router);
    for path in ["/act", "/code", "/enrolled", "/backup/added", "/key/register"] {
        let (status, _, location) = visitor.post_form(path, "code=good&response=x").await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/sign-in")), "{path}");
    }
}

/// at the security-key stage, a form without the key's response is a `400` that
/// says so, and the session stays held.
#[tokio::test]
async fn a_security_key_form_without_a_response_says_so_and_holds_the_session() {
    let (router, _) = app();
    let mut browser = at_stage(&router, "challenge-key").await;
    assert_eq!(browser.post_form("/code", "code=good").await.1, "SecurityKey");
    for fields in ["", "response=", "response=%20%20", "responses=%7B%7D"] {
        let (status, body, _) = browser.post_form("/key/register", fields).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::BAD_REQUEST, "No security key response was sent. Try again."),
            "{fields}"
        );
    }
    assert_eq!(browser.get("/protected").await.2.as_deref(), Some("/mfa/security-key"));
}

// ---- What the organisation requires after enrolling ----

/// Enrolls `user` through the web routes from a session at the must-enroll stage, as a
/// browser would: scans the key, types two codes. Answers where the session landed.
async fn enroll_in_browser(browser: &mut Browser, app: &App) -> String {
    let (status, uri, _) = browser.post_form("/enroll/real/start", "").await;
    assert_eq!(status, StatusCode::OK, "{uri}");
    let key = KeyUri::parse(&uri).unwrap();
    let phone = Totp::new(key.secret(), key.totp_params().unwrap());
    app.clock.advance(30);
    let now = app.clock.now().unwrap();
    let (first, second) = (phone.generate(now - 30).unwrap(), phone.generate(now).unwrap());
    let (status, landing, _) =
        browser.post_form("/enroll/real/confirm", &format!("first={first}&second={second}")).await;
    assert_eq!(status, StatusCode::OK, "{landing}");
    app.clock.advance(30);
    landing
}

/// README: "A user the organisation requires a key of is held at [`Stage::SecurityKey`]
/// after the second factor, and sent to [`Paths::security_key`] until they register one".
/// A user who must enroll first proves their new authenticator at confirmation, and is
/// then held at the security-key stage too, as their next sign-in would be.
#[tokio::test]
async fn a_required_security_key_is_not_skipped_by_enrolling_first() {
    let settings = OrgSettings::default()
        .to_builder()
        .enforce_for_all(true)
        .phishing_resistant_for(vec!["staff".into()])
        .build()
        .unwrap();
    let (router, app) = app_with(settings);
    let mut browser = Browser::new(&router);
    assert_eq!(browser.post_form("/password/erin/ask", "").await.1, "/mfa/enroll", "must enroll first");
    let landing = enroll_in_browser(&mut browser, &app).await;

    // The same user signing in again now is held until a key is registered...
    let mut again = Browser::new(&router);
    assert_eq!(again.post_form("/password/erin/ask", "").await.1, "/sign-in/code");
    assert_eq!(again.post_form("/code", "code=good").await.1, "SecurityKey");
    assert_eq!(again.get("/protected").await.2.as_deref(), Some("/mfa/security-key"));

    // ...but the session that enrolled was let in without one.
    let (status, body, location) = browser.get("/protected").await;
    assert_eq!(
        (landing.as_str(), status, location.as_deref()),
        ("/mfa/security-key", StatusCode::SEE_OTHER, Some("/mfa/security-key")),
        "the enrolling session skipped the security-key stage: {body}"
    );
}

/// `Stage::Backup`: "the organisation requires a backup phone number or e-mail address
/// before going on (a principal user, seed 004): every other page sends the browser to
/// [`crate::Paths::backup`] until one is added". A principal who must enroll first is
/// held at the backup stage after confirming, not signed in without it.
#[tokio::test]
async fn a_required_backup_is_not_skipped_by_enrolling_first() {
    use mfa_kit::policy::BackupRule;
    let settings = OrgSettings::default()
        .to_builder()
        .enforce_for_all(true)
        .principal_backup(BackupRule::RequireDestination)
        .build()
        .unwrap();
    let (router, app) = app_with(settings);
    let mut browser = Browser::new(&router);
    assert_eq!(browser.post_form("/password/boss/ask", "").await.1, "/mfa/enroll", "must enroll first");
    let landing = enroll_in_browser(&mut browser, &app).await;

    let mut again = Browser::new(&router);
    assert_eq!(again.post_form("/password/boss/ask", "").await.1, "/sign-in/code");
    assert_eq!(again.post_form("/code", "code=good").await.1, "Backup");
    assert_eq!(again.get("/protected").await.2.as_deref(), Some("/mfa/backup"));

    let (status, body, location) = browser.get("/protected").await;
    assert_eq!(
        (landing.as_str(), status, location.as_deref()),
        ("/mfa/backup", StatusCode::SEE_OTHER, Some("/mfa/backup")),
        "the enrolling session skipped the backup stage: {body}"
    );
}
