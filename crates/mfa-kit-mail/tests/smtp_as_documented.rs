//! A host developer's reading of mfa-kit-mail's documentation (README.md and the rustdoc
//! of the public items), checked against scripted SMTP servers on loopback: transient
//! and permanent refusals, the two timeouts, one message to several addresses.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mfa_kit::clock::ManualClock;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::relay::{Notice, NoticeRelay, Notifier};
use mfa_kit::store::{MemoryStore, Store};
use mfa_kit::{RequestContext, UserId};
use mfa_kit_mail::{
    MailError, MailNotifier, Mailbox, Mailer, SmtpConfig, TlsMode, notice_message_id, recipients_fn,
};
use support::{
    BodyReply, DOMAIN, Script, Scripted, addresses, letterhead, mailbox, mailer_timed, mailer_to, parse,
};

/// 2023-11-14 22:13:20 UTC.
const T0: u64 = 1_700_000_000;

/// Keeps the notices a relay hands over.
#[derive(Default)]
struct Keep(Mutex<Vec<Notice>>);

impl Notifier for Keep {
    type Error = std::convert::Infallible;

    async fn notify(&self, notice: &Notice) -> Result<(), Self::Error> {
        self.0.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

/// The notice the relay hands over for `kind`, which happened to `user` at `at`.
async fn notice_of(user: &UserId, kind: EventKind, at: u64) -> Notice {
    let store = Arc::new(MemoryStore::new());
    let context =
        RequestContext::from_address("203.0.113.7".parse().unwrap()).with_device("Firefox on Windows");
    store.append_events(vec![AuditEvent::new(user, user, at, &context, kind)]).await.unwrap();
    let keep = Arc::new(Keep::default());
    NoticeRelay::new("email", store, keep.clone(), ManualClock::new(at + 1)).run_once().await.unwrap();
    let notices = keep.0.lock().unwrap().clone();
    notices.into_iter().next().expect("the event is a notice")
}

fn to(list: &[&str]) -> impl mfa_kit_mail::Recipients + use<> {
    let list: Vec<Mailbox> = list.iter().map(|a| mailbox(a)).collect();
    recipients_fn(move |_: &UserId| {
        let found = list.clone();
        async move { Ok::<_, std::io::Error>(found) }
    })
}

async fn recovery_notice() -> Notice {
    notice_of(&UserId::new("pat"), EventKind::RecoveryCodesGenerated { count: 10 }, T0).await
}

/// src/error.rs:16-18 (`MailError::Refused`): "`permanent` for a 5xx reply (the same
/// message will be refused again), transient for 4xx"; `MailError::is_transient`:
/// "Whether sending the same message again later may succeed (... a 4xx reply)"; the
/// README: the relay "keeps the notice, retries it with backoff". A greylisting server's
/// `451` to the body is a transient refusal, and its text says so.
#[tokio::test]
async fn a_4xx_reply_to_the_body_is_a_transient_refusal() {
    let server = Scripted::start(Script {
        body_reply: BodyReply::Says("451 4.7.1 greylisted, try again in 5 minutes"),
        ..Script::taking()
    });
    let notifier = MailNotifier::new(
        mailer_to(server.port, TlsMode::None, Duration::from_secs(5)),
        to(&["pat@smith.example"]),
    );
    let failed = notifier.notify(&recovery_notice().await).await;
    let Err(error) = failed else { panic!("a 451 is no acceptance: {failed:?}") };
    assert!(
        matches!(&error, MailError::Refused { code: 451, permanent: false, detail } if detail.contains("greylisted")),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert!(error.to_string().contains("transient, 451"), "{error}");
}

/// `MailError::Connection`: "The server could not be reached"; `is_transient`: "a
/// broken connection" may succeed later. Nothing listening on the port: a transient
/// connection error, at once.
#[tokio::test]
async fn a_server_that_cannot_be_reached_is_a_transient_connection_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let notifier =
        MailNotifier::new(mailer_to(port, TlsMode::None, Duration::from_secs(5)), to(&["pat@smith.example"]));
    let started = Instant::now();
    let failed = notifier.notify(&recovery_notice().await).await;
    assert!(matches!(failed, Err(MailError::Connection(_))), "{failed:?}");
    assert!(failed.unwrap_err().is_transient());
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// README.md "TLS and timeouts": "`send_timeout` bounds handing over one message in
/// all, so a server that accepts the connection and then never answers fails the send
/// after it"; `MailError::Timeout`: "The server did not finish taking the message
/// within the configured time". A server that takes everything but answers the body
/// too late fails with the send timeout (not the connect timeout) in its text.
#[tokio::test]
async fn a_reply_to_the_body_later_than_the_send_timeout_fails_with_that_timeout() {
    let server = Scripted::start(Script { body_delay: Duration::from_secs(4), ..Script::taking() });
    let mailer = mailer_timed(server.port, TlsMode::None, Duration::from_secs(7), Duration::from_secs(1));
    let notifier = MailNotifier::new(mailer, to(&["pat@smith.example"]));
    let started = Instant::now();
    let failed = notifier.notify(&recovery_notice().await).await;
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    let Err(error) = failed else { panic!("too late is no acceptance: {failed:?}") };
    assert!(matches!(error, MailError::Timeout(limit) if limit == Duration::from_secs(1)), "{error:?}");
    assert!(error.is_transient());
    assert!(error.to_string().contains("within 1s"), "{error}");
}

/// `Letterhead::from`: "The `From` mailbox (and the envelope sender)";
/// `Letterhead::reply_to`; `MailNotifier`: "one message to all of them" with the
/// `Message-ID` [`notice_message_id`]; README: "The notice goes to all of them in one
/// message (they are the same person's)". On the wire: one connection, the envelope
/// sender, one `RCPT` per address, one body whose headers name every address.
#[tokio::test]
async fn a_notice_to_two_addresses_is_one_message_from_the_letterheads_sender() {
    let server = Scripted::start(Script::taking());
    let config = SmtpConfig::new("127.0.0.1", server.port, TlsMode::None)
        .timeouts(Duration::from_secs(2), Duration::from_secs(5));
    let head = letterhead().reply_to(mailbox("Help Desk <help@smith.example>"));
    let mailer = Mailer::new(config, head).unwrap();
    let notifier = MailNotifier::new(mailer, to(&["pat@smith.example", "Pat <pat@home.example>"]));
    let notice = recovery_notice().await;
    notifier.notify(&notice).await.unwrap();

    let heard = server.heard();
    assert_eq!(server.connections(), 1, "{heard:?}");
    assert!(heard.iter().any(|l| l == "MAIL FROM:<security@smith.example>"), "{heard:?}");
    let rcpts: Vec<&String> = heard.iter().filter(|l| l.starts_with("RCPT TO:")).collect();
    assert_eq!(rcpts, ["RCPT TO:<pat@smith.example>", "RCPT TO:<pat@home.example>"], "{heard:?}");
    let bodies = server.bodies();
    assert_eq!(bodies.len(), 1);
    let message = parse(bodies[0].as_bytes());
    assert_eq!(addresses(message.to()), ["pat@smith.example", "pat@home.example"]);
    assert_eq!(addresses(message.reply_to()), ["help@smith.example"]);
    assert_eq!(addresses(message.from()), ["security@smith.example"]);
    let id = notice_message_id(notice.id, DOMAIN);
    assert_eq!(message.message_id().map(|m| format!("<{m}>")), Some(id));
    assert!(message.cc().is_none() && message.bcc().is_none());
}

/// README.md "TLS and timeouts": "`connect_timeout` bounds connecting";
/// `SmtpConfig::connect_timeout`: "How long the TCP connection may take to open";
/// `MailError::is_transient`: "a timeout" may succeed later. A server whose backlog is
/// full never completes the handshake (its SYNs are dropped): the send fails after the
/// connect timeout, well before the send timeout.
#[tokio::test]
async fn a_connection_that_never_opens_fails_after_the_connect_timeout() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let port = listener.local_addr().unwrap().port();
    // Fill the accept queue (never accepted): further handshakes are not completed.
    let mut held = Vec::new();
    for _ in 0..8 {
        let attempt = tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(("127.0.0.1", port)),
        )
        .await;
        match attempt {
            Ok(Ok(stream)) => held.push(stream),
            _ => break,
        }
    }
    let mailer = mailer_timed(port, TlsMode::None, Duration::from_secs(1), Duration::from_secs(20));
    let notifier = MailNotifier::new(mailer, to(&["pat@smith.example"]));
    let started = Instant::now();
    let failed = notifier.notify(&recovery_notice().await).await;
    let took = started.elapsed();
    drop((held, listener));
    let Err(error) = failed else { panic!("a connection never opened is no delivery: {failed:?}") };
    assert!(took < Duration::from_secs(5), "gave up after {took:?}, not the 1 s connect timeout: {error}");
    assert!(error.is_transient(), "{error:?}");
    assert!(matches!(error, MailError::Timeout(limit) if limit == Duration::from_secs(1)), "{error:?}");
}
