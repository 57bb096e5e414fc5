//! The relay with the mail notifier when the SMTP server refuses or never answers: the
//! notice stays queued, failing and visible, and is delivered once a working server
//! takes it; nothing is lost. A user without an address fails visibly (or is skipped
//! when the host says so).

mod support;

use std::sync::Arc;
use std::time::Duration;

use mfa_kit::clock::ManualClock;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::relay::NoticeRelay;
use mfa_kit::store::{MemoryStore, Store};
use mfa_kit::{RequestContext, UserId};
use mfa_kit_mail::{MailNotifier, Mailbox, Mailer, NoAddress, Recipients, TlsMode, recipients_fn};
use support::{
    DOMAIN, Misbehaviour, Scripted, count_to, delivered_to, mailbox, mailer, mailer_to, parse, unique,
};

const T0: u64 = 1_700_000_000;

fn to(address: &str) -> impl Recipients + use<> {
    let found: Vec<Mailbox> = vec![mailbox(address)];
    recipients_fn(move |_: &UserId| {
        let found = found.clone();
        async move { Ok::<_, std::io::Error>(found) }
    })
}

fn notifier(mailer: Mailer, address: &str) -> MailNotifier<impl Recipients + use<>> {
    MailNotifier::new(mailer, to(address))
}

async fn store_with_a_notice(user: &UserId) -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    let context =
        RequestContext::from_address("198.51.100.4".parse().unwrap()).with_device("Safari on iPhone");
    let event = AuditEvent::new(user, user, T0, &context, EventKind::RecoveryCodesGenerated { count: 10 });
    store.append_events(vec![event]).await.unwrap();
    store
}

#[tokio::test]
async fn a_refusing_then_silent_server_keeps_the_notice_for_retry_until_a_working_one_takes_it() {
    support::require_server();
    let user = UserId::new(unique("ann"));
    let inbox = unique("ann-inbox");
    let store = store_with_a_notice(&user).await;
    let clock = ManualClock::new(T0 + 10);

    // A server that refuses: the delivery fails, the notice stays, failing, with the
    // server's words for operators.
    let refusing = Scripted::start(Misbehaviour::RefuseGreeting);
    let relay = NoticeRelay::new(
        "email",
        store.clone(),
        notifier(mailer_to(refusing.port, TlsMode::None, Duration::from_secs(2)), &inbox),
        clock.clone(),
    );
    let batch = relay.run_once().await.unwrap();
    assert_eq!((batch.claimed, batch.delivered, batch.failed), (1, 0, 1));
    let stats = relay.stats().await.unwrap();
    assert_eq!((stats.pending, stats.failing, stats.most_attempts), (1, 1, 1));
    let failing = relay.failing(10).await.unwrap();
    assert_eq!(failing.len(), 1);
    assert!(
        failing[0].last_error.contains("refused the message (permanent, 554)"),
        "{}",
        failing[0].last_error
    );
    assert_eq!(failing[0].next_attempt_at, T0 + 10 + relay.config().backoff(1));
    // Not tried again before its backoff.
    assert_eq!(relay.run_once().await.unwrap().claimed, 0);

    // A server that never answers: the send gives up after its timeout, the notice
    // stays for a third try.
    clock.advance(relay.config().backoff(1));
    let silent = Scripted::start(Misbehaviour::Silent);
    let relay = NoticeRelay::new(
        "email",
        store.clone(),
        notifier(mailer_to(silent.port, TlsMode::None, Duration::from_secs(1)), &inbox),
        clock.clone(),
    );
    let started = std::time::Instant::now();
    let batch = relay.run_once().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!((batch.claimed, batch.failed), (1, 1));
    let failing = relay.failing(10).await.unwrap();
    assert_eq!(failing[0].attempts, 2);
    assert!(
        failing[0].last_error.contains("did not take the message within 1s"),
        "{}",
        failing[0].last_error
    );
    assert_eq!(count_to(&inbox), 0, "nothing arrived");

    // The real server: delivered once, the queue empty.
    clock.advance(relay.config().backoff(2));
    let relay = NoticeRelay::new("email", store.clone(), notifier(mailer(), &inbox), clock.clone());
    let batch = relay.run_once().await.unwrap();
    assert_eq!((batch.claimed, batch.delivered, batch.failed), (1, 1, 0));
    let stats = relay.stats().await.unwrap();
    assert_eq!((stats.pending, stats.failing), (0, 0));
    let raw = delivered_to(&inbox, 1);
    assert_eq!(raw.len(), 1);
    let message = parse(&raw[0]);
    assert_eq!(message.subject(), Some("New recovery codes for your Smith & Co Accounting account"));
    assert_eq!(message.message_id(), Some(format!("mfa-notice-{}@{DOMAIN}", failing[0].event.id).as_str()));
    let text = message.body_text(0).unwrap().to_string();
    assert!(text.contains("198.51.100.4") && text.contains("Safari on iPhone"), "{text}");
    // Nothing more to send.
    clock.advance(3600);
    assert_eq!(relay.run_once().await.unwrap().claimed, 0);
    assert_eq!(count_to(&inbox), 1);
}

#[tokio::test]
async fn a_user_without_an_address_fails_visibly_unless_the_host_says_skip() {
    support::require_server();
    let user = UserId::new(unique("nobody"));
    let nowhere = recipients_fn(|_: &UserId| async { Ok::<Vec<Mailbox>, std::io::Error>(Vec::new()) });
    let store = store_with_a_notice(&user).await;
    let clock = ManualClock::new(T0 + 10);
    let relay = NoticeRelay::new("email", store.clone(), MailNotifier::new(mailer(), nowhere), clock.clone());
    assert_eq!(relay.run_once().await.unwrap().failed, 1);
    let failing = relay.failing(10).await.unwrap();
    assert_eq!(failing[0].last_error, "no e-mail address is known for the user");

    let broken = recipients_fn(|_: &UserId| async {
        Err::<Vec<Mailbox>, _>(std::io::Error::other("accounts database down"))
    });
    clock.advance(relay.config().backoff(1));
    let relay = NoticeRelay::new("email", store.clone(), MailNotifier::new(mailer(), broken), clock.clone());
    assert_eq!(relay.run_once().await.unwrap().failed, 1);
    let failing = relay.failing(10).await.unwrap();
    assert!(failing[0].last_error.contains("accounts database down"), "{}", failing[0].last_error);

    let skip = MailNotifier::new(mailer(), nowhere).when_no_address(NoAddress::Skip);
    clock.advance(relay.config().backoff(2));
    let relay = NoticeRelay::new("email", store.clone(), skip, clock.clone());
    assert_eq!(relay.run_once().await.unwrap().delivered, 1);
    assert_eq!(relay.stats().await.unwrap().pending, 0);
}

/// A notice's "this wasn't me" link carries a token that freezes the account and undoes
/// the change (`Notice::disown_token`): a secret. The relay stores the notifier's error
/// text with a failing notice and shows it to operators ("it must not hold secrets");
/// mfa-kit-mail says the text "never holds a code, a password or a body". A spam filter
/// that refuses the message naming the link it blocked must not put the token there.
#[tokio::test]
async fn a_refusal_citing_the_notices_link_never_puts_its_token_in_the_stored_error() {
    let user = UserId::new(unique("lou"));
    let store = store_with_a_notice(&user).await;
    let key = mfa_kit::keyed_hash::HashKey::generate().unwrap();
    let tokens = Arc::new(std::sync::Mutex::new(Vec::new()));
    let made = tokens.clone();
    let filter = Scripted::start(Misbehaviour::RefuseBodyCitingLink);
    let notifier = notifier(mailer_to(filter.port, TlsMode::None, Duration::from_secs(5)), "lou@example.com")
        .with_disown_link(move |notice| {
            let token = notice.disown_token(&key).as_str().to_string();
            made.lock().unwrap().push(token.clone());
            Some(format!("https://app.example/wasnt-me?user={}&token={token}", notice.user))
        });
    let relay = NoticeRelay::new("email", store, notifier, ManualClock::new(T0 + 10));
    let batch = relay.run_once().await.unwrap();
    assert_eq!((batch.claimed, batch.delivered, batch.failed), (1, 0, 1));
    let token = tokens.lock().unwrap()[0].clone();
    let failing = relay.failing(10).await.unwrap();
    let error = &failing[0].last_error;
    assert!(error.contains("554"), "{error}");
    assert!(!error.contains(&token), "the disown token is stored with the failing notice: {error}");
}
