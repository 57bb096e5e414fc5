//! The promises of `Mailer`, `SmtpConfig` and `MailCodeSender`, against SMTP servers
//! scripted on loopback ports:
//!
//! - `MailCodeSender` (src/sender.rs): "`Ok` means the SMTP server accepted the message
//!   (replied 250 to its body). Any failure (refused, unreachable, too slow) is an
//!   `Err`"; the README: "`Ok` means the server accepted the message (250 after its
//!   body). Anything else is an `Err`"; the core `CodeSender` contract: an `Err` makes
//!   the service take the send back.
//! - `SmtpConfig::connect_timeout` (the TCP connect) and `send_timeout`: "How long
//!   handing over one message may take in all, from connecting to the server's answer
//!   after the body".
//! - `TlsMode::StartTls`: "a server that does not offer it gets nothing (no
//!   credentials, no message)".
//! - The README: "One connection per message"; `SmtpConfig::hello_name`: "by default
//!   the letterhead's domain"; `Letterhead::reply_to`; a code's random `Message-ID`.
//! - `render_code`: the code, what it is for and until when, in both bodies, the HTML
//!   escaped, the subject without the code.

mod support;

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mail_parser::MessageParser;
use mfa_kit::Destination;
use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::flow::destination::CodeMessage;
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::notify::CodeSender;
use mfa_kit::policy::SignInContext;
use mfa_kit::service::{Error, MfaService};
use mfa_kit::store::MemoryStore;
use mfa_kit::{RequestContext, Role, UserId};
use mfa_kit_mail::{
    Letterhead, MailCodeSender, MailError, Mailer, Rendered, SmtpConfig, TlsMode, render_code,
};
use support::{BodyReply, DOMAIN, Misbehaviour, Script, Scripted, letterhead, mailer_timed};

/// 2023-11-14 22:13:20 UTC.
const START: u64 = 1_700_000_000;

fn service() -> MfaService<MemoryStore, PlaintextSealer> {
    MfaService::builder("Smith & Co Accounting", MemoryStore::new(), PlaintextSealer)
        .clock(ManualClock::new(START))
        .hash_key(HashKey::generate().unwrap())
        .build()
}

fn office() -> SignInContext {
    SignInContext::new(
        RequestContext::from_address("203.0.113.7".parse().unwrap()).with_device("Firefox on Windows"),
    )
}

/// The code in a body the server heard (its own indented line in the text part).
fn code_in(body: &str) -> Option<String> {
    body.lines()
        .find_map(|l| {
            l.strip_prefix("    ").filter(|c| c.len() >= 6 && c.chars().all(|c| c.is_ascii_digit()))
        })
        .map(str::to_string)
}

/// The server answers the body with a 3xx reply, which is not acceptance ("`Ok` means
/// the server accepted the message (250 after its body). Anything else is an `Err`").
/// (lettre counts every 2xx and 3xx reply as positive; the mailer takes 2xx only.)
#[tokio::test]
async fn a_3xx_reply_to_the_body_is_not_acceptance() {
    let server =
        Scripted::start(Script { body_reply: BodyReply::Says("354 4.3.0 go ahead"), ..Script::taking() });
    let sender = MailCodeSender::new(mailer_timed(
        server.port,
        TlsMode::None,
        Duration::from_secs(2),
        Duration::from_secs(5),
    ));
    let mfa = service();
    let bo = UserId::new("bo");
    let destination = Destination::email("bo@mail-test.example").unwrap();

    let added = mfa.add_destination(&bo, destination, Role::Primary, &sender, &office()).await;

    assert_eq!(server.bodies().len(), 1, "the body was sent");
    assert!(
        matches!(added, Err(Error::Sender(_))),
        "the server answered the body with 354, not 250: the send must fail closed, got {added:?}"
    );
    assert!(mfa.record(&bo).await.unwrap().destination_state().destinations().is_empty());
}

/// `connect_timeout` bounds the TCP connect; a TLS handshake the server never
/// answers is bounded by the send timeout: the send fails closed, the code taken back.
#[tokio::test]
async fn an_unanswered_implicit_tls_handshake_fails_closed() {
    let server = Scripted::start(Misbehaviour::Silent);
    let config = SmtpConfig::new("localhost", server.port, TlsMode::Implicit)
        .timeouts(Duration::from_secs(1), Duration::from_secs(2));
    let sender = MailCodeSender::new(Mailer::new(config, letterhead()).unwrap());
    let mfa = service();
    let cy = UserId::new("cy");
    let destination = Destination::email("cy@mail-test.example").unwrap();

    let added = mfa.add_destination(&cy, destination, Role::Primary, &sender, &office()).await;

    assert!(matches!(added, Err(Error::Sender(_))), "fails closed: {added:?}");
    assert!(server.connections() >= 1, "the TCP connection was made");
    assert!(mfa.record(&cy).await.unwrap().destination_state().destinations().is_empty());
}

/// A server that reads the body and closes the connection without replying has not
/// accepted the message: the service fails closed, the code is taken back.
#[tokio::test]
async fn a_server_that_closes_after_the_body_without_a_reply_fails_closed() {
    let server = Scripted::start(Script { body_reply: BodyReply::Close, ..Script::taking() });
    let sender = MailCodeSender::new(mailer_timed(
        server.port,
        TlsMode::None,
        Duration::from_secs(2),
        Duration::from_secs(5),
    ));
    let mfa = service();
    let di = UserId::new("di");
    let destination = Destination::email("di@mail-test.example").unwrap();

    let added = mfa.add_destination(&di, destination, Role::Primary, &sender, &office()).await;

    let bodies = server.bodies();
    assert_eq!(bodies.len(), 1);
    let Err(Error::Sender(error)) = added else { panic!("fails closed: {added:?}") };
    let code = code_in(&bodies[0]).expect("the code in the body");
    assert!(!error.to_string().contains(&code), "{error}");
    assert!(matches!(error.downcast_ref::<MailError>(), Some(MailError::Connection(_))), "{error:?}");
    assert!(mfa.record(&di).await.unwrap().destination_state().destinations().is_empty());
}

/// A server slow to answer the body (a content filter at work), slower than the connect
/// timeout but within the send timeout, gets the message sent: the connect timeout
/// does not bound each reply.
#[tokio::test]
async fn a_slow_reply_to_the_body_within_the_send_timeout_is_ok() {
    let server = Scripted::start(Script { body_delay: Duration::from_millis(2500), ..Script::taking() });
    let sender = MailCodeSender::new(mailer_timed(
        server.port,
        TlsMode::None,
        Duration::from_secs(1),
        Duration::from_secs(8),
    ));
    let mfa = service();
    let ed = UserId::new("ed");
    let destination = Destination::email("ed@mail-test.example").unwrap();

    let added = mfa.add_destination(&ed, destination, Role::Primary, &sender, &office()).await;
    assert!(matches!(added, Ok(Ok(_))), "{added:?}");
}

/// A server that answers the body with 250 has taken the message, whatever it does
/// with `QUIT` afterwards: one that never answers `QUIT` gets the send counted as sent
/// (the user has the code), not failed when the send timeout runs out.
#[tokio::test]
async fn a_server_that_never_answers_quit_after_taking_the_message_has_it_sent() {
    let server = Scripted::start(Script { answers_quit: false, ..Script::taking() });
    let sender = MailCodeSender::new(mailer_timed(
        server.port,
        TlsMode::None,
        Duration::from_secs(2),
        Duration::from_secs(4),
    ));
    let mfa = service();
    let fe = UserId::new("fe");
    let destination = Destination::email("fe@mail-test.example").unwrap();

    let added = mfa.add_destination(&fe, destination, Role::Primary, &sender, &office()).await;

    // Waiting for the answer to QUIT within the send timeout would end in a timeout.
    assert!(matches!(added, Ok(Ok(_))), "the server took the message (250): {added:?}");
    assert!(
        server.heard().iter().any(|line| line == "QUIT"),
        "the mailer said goodbye: {:?}",
        server.heard()
    );
    let bodies = server.bodies();
    let code = code_in(&bodies[0]).expect("the code in the body");
    let confirmed = mfa.confirm_destination(&fe, &code, &office()).await;
    assert!(matches!(confirmed, Ok(Ok(_))), "the code the user received works: {confirmed:?}");
}

/// STARTTLS required, credentials configured, a server offering AUTH but not STARTTLS:
/// neither the credentials nor the message is sent.
#[tokio::test]
async fn starttls_required_sends_no_credentials_to_a_server_without_starttls() {
    let server = Scripted::start(Script { offer_auth: true, ..Script::taking() });
    let config = SmtpConfig::new("127.0.0.1", server.port, TlsMode::StartTls)
        .credentials("mfa-kit", "hunter2-secret")
        .timeouts(Duration::from_secs(2), Duration::from_secs(5));
    let sender = MailCodeSender::new(Mailer::new(config, letterhead()).unwrap());
    let mfa = service();
    let flo = UserId::new("flo");
    let destination = Destination::email("flo@mail-test.example").unwrap();

    let added = mfa.add_destination(&flo, destination, Role::Primary, &sender, &office()).await;

    let Err(Error::Sender(error)) = added else { panic!("fails closed: {added:?}") };
    assert!(!error.to_string().contains("hunter2"), "{error}");
    let heard = server.heard();
    assert!(heard.iter().any(|l| l.starts_with("EHLO")), "{heard:?}");
    assert!(
        heard.iter().all(|l| !l.starts_with("AUTH") && !l.starts_with("MAIL") && !l.starts_with("DATA")),
        "{heard:?}"
    );
}

/// One connection per message; `EHLO` with the letterhead's domain; `From`, `Reply-To`
/// and the envelope sender from the letterhead; a fresh random `Message-ID` in the
/// letterhead's domain for each code; a `Date` of the sending time.
#[tokio::test]
async fn each_code_message_has_its_own_connection_headers_and_random_message_id() {
    let server = Scripted::start(Script::taking());
    let head = letterhead().reply_to("Help desk <help@smith.example>".parse().unwrap());
    let config = SmtpConfig::new("127.0.0.1", server.port, TlsMode::None)
        .timeouts(Duration::from_secs(2), Duration::from_secs(5));
    let sender = MailCodeSender::new(Mailer::new(config, head).unwrap());
    let mfa = service();
    for name in ["gus", "hal"] {
        let destination = Destination::email(&format!("{name}@mail-test.example")).unwrap();
        let added =
            mfa.add_destination(&UserId::new(name), destination, Role::Primary, &sender, &office()).await;
        assert!(matches!(added, Ok(Ok(_))), "{added:?}");
    }
    assert_eq!(server.connections(), 2, "one connection per message");
    let heard = server.heard();
    assert_eq!(heard.iter().filter(|l| **l == format!("EHLO {DOMAIN}")).count(), 2, "{heard:?}");
    assert_eq!(
        heard.iter().filter(|l| l.starts_with("MAIL FROM:<security@smith.example>")).count(),
        2,
        "{heard:?}"
    );
    assert_eq!(heard.iter().filter(|l| *l == "QUIT").count(), 2, "{heard:?}");

    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut ids = Vec::new();
    for body in server.bodies() {
        let message = MessageParser::default().parse(body.as_bytes()).expect("a message");
        let reply_to = support::addresses(message.reply_to());
        assert_eq!(reply_to, vec!["help@smith.example".to_string()]);
        assert_eq!(support::addresses(message.from()), vec!["security@smith.example".to_string()]);
        let id = message.message_id().expect("a Message-ID").to_string();
        let hex =
            id.strip_prefix("mfa-code-").and_then(|r| r.strip_suffix(&format!("@{DOMAIN}"))).expect(&id);
        assert!(hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        ids.push(id);
        let date = message.date().expect("a Date").to_timestamp();
        assert!((date - now).abs() < 300, "{date} vs {now}");
    }
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
}

/// Renders, without sending, what the sender is given.
struct Rendering {
    letterhead: Letterhead,
    seen: Mutex<Vec<(Rendered, String, u64, String)>>,
}

impl CodeSender for Rendering {
    type Error = MailError;

    async fn send(&self, to: &Destination, message: &CodeMessage) -> Result<(), MailError> {
        let rendered = render_code(to, message, &self.letterhead);
        self.seen.lock().unwrap().push((
            rendered,
            message.code().to_string(),
            message.expires_at(),
            to.masked(),
        ));
        Ok(())
    }
}

/// A code's message says the code, what it is for and until when, in both bodies; the
/// HTML escapes the site's name; the subject never holds the code.
#[tokio::test]
async fn a_code_message_says_the_code_its_purpose_and_expiry_in_both_bodies() {
    let sender = Rendering { letterhead: letterhead(), seen: Mutex::new(Vec::new()) };
    let mfa = service();
    let ivy = UserId::new("ivy");
    let destination = Destination::email("ivy@mail-test.example").unwrap();
    mfa.add_destination(&ivy, destination, Role::Primary, &sender, &office()).await.unwrap().unwrap();
    let seen = sender.seen.lock().unwrap().clone();
    let (rendered, code, expires_at, masked) = &seen[0];
    assert_eq!(*expires_at, START + 600);
    let until = "2023-11-14 22:23 UTC";
    assert!(!rendered.subject.contains(code.as_str()));
    for body in [&rendered.text, &rendered.html] {
        assert!(body.contains(code.as_str()), "{body}");
        assert!(body.contains(until), "{body}");
        assert!(body.contains("to confirm") && body.contains(masked.as_str()), "{body}");
    }
    assert!(rendered.html.contains("Smith &amp; Co Accounting"), "{}", rendered.html);
    assert!(!rendered.html.contains("Smith & Co"), "{}", rendered.html);
    assert!(!format!("{rendered:?}").contains(code.as_str()));
}
