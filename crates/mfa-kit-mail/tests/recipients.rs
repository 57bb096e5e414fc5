//! Who a notice reaches when one of the user's addresses is refused.
//!
//! `Recipients` (src/notifier.rs): the recommended list is the host's account e-mail
//! and the record's confirmed e-mail destinations, "so a notice reaches the user in
//! more than one way (NIST SP 800-63B-4 §4.6) and an attacker who changed one of them
//! is still seen by the other"; the README: "The notice goes to all of them in one
//! message".

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mfa_kit::clock::ManualClock;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::relay::NoticeRelay;
use mfa_kit::store::{MemoryStore, Store};
use mfa_kit::{RequestContext, UserId};
use mfa_kit_mail::{MailNotifier, Mailbox, TlsMode, recipients_fn};
use support::{Recipients, Script, Scripted, mailbox, mailer_to};

const T0: u64 = 1_700_000_000;

/// An SMTP server on loopback that takes every recipient but `refused` (550 5.1.1, as
/// a server that checks recipients does for an address that no longer exists) and
/// every message. Keeps the recipients it accepted for each message it took.
fn server_refusing(refused: &'static str) -> (u16, Arc<Mutex<Vec<Vec<String>>>>) {
    let server = Scripted::start(Script { recipients: Recipients::Refuses(refused), ..Script::taking() });
    (server.port, server.taken)
}

/// Pat's notices go to her account address and to the backup address confirmed on her
/// record, which now bounces (an attacker's domain taken down, or a mailbox closed).
/// The server refuses only that recipient. The notice still reaches her account
/// address, and counts as delivered: retrying cannot reach the dead address.
#[tokio::test]
async fn one_refused_address_does_not_keep_the_notice_from_the_others() {
    let pat = UserId::new("pat");
    let store = Arc::new(MemoryStore::new());
    let context = RequestContext::from_address("198.51.100.4".parse().unwrap()).with_device("Safari");
    let event = AuditEvent::new(&pat, &pat, T0, &context, EventKind::RecoveryCodesGenerated { count: 10 });
    store.append_events(vec![event]).await.unwrap();

    let (port, taken) = server_refusing("gone@attacker.example");
    let addresses: Vec<Mailbox> = vec![mailbox("pat@smith.example"), mailbox("gone@attacker.example")];
    let recipients = recipients_fn(move |_: &UserId| {
        let found = addresses.clone();
        async move { Ok::<_, std::io::Error>(found) }
    });
    let notifier = MailNotifier::new(mailer_to(port, TlsMode::None, Duration::from_secs(5)), recipients);
    let clock = ManualClock::new(T0 + 10);
    let relay = NoticeRelay::new("email", store, notifier, clock.clone());
    for attempt in 1..=3 {
        let _ = relay.run_once().await.unwrap();
        clock.advance(relay.config().backoff(attempt));
    }
    let taken = taken.lock().unwrap().clone();
    assert!(
        taken.iter().any(|rcpts| rcpts.iter().any(|r| r.contains("pat@smith.example"))),
        "after 3 attempts the account address never got the notice: messages taken {taken:?}, \
         failing {:?}",
        relay
            .failing(10)
            .await
            .unwrap()
            .iter()
            .map(|f| (f.attempts, f.last_error.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(taken.len(), 1, "delivered once, not retried: {taken:?}");
    assert!(relay.failing(10).await.unwrap().is_empty(), "the notice counts as delivered");
}

/// When every address is refused for good, the notice is not delivered: it stays
/// failing, with the server's refusal kept, for an operator to see.
#[tokio::test]
async fn a_notice_every_address_refuses_stays_failing() {
    let sam = UserId::new("sam");
    let store = Arc::new(MemoryStore::new());
    let event = AuditEvent::new(
        &sam,
        &sam,
        T0,
        &RequestContext::default(),
        EventKind::RecoveryCodesGenerated { count: 10 },
    );
    store.append_events(vec![event]).await.unwrap();
    let (port, taken) = server_refusing("@gone.example");
    let addresses: Vec<Mailbox> = vec![mailbox("sam@gone.example"), mailbox("backup@gone.example")];
    let recipients = recipients_fn(move |_: &UserId| {
        let found = addresses.clone();
        async move { Ok::<_, std::io::Error>(found) }
    });
    let notifier = MailNotifier::new(mailer_to(port, TlsMode::None, Duration::from_secs(5)), recipients);
    let relay = NoticeRelay::new("email", store, notifier, ManualClock::new(T0 + 10));
    let _ = relay.run_once().await.unwrap();
    assert!(taken.lock().unwrap().is_empty());
    let failing = relay.failing(10).await.unwrap();
    assert_eq!(failing.len(), 1, "{failing:?}");
    assert!(failing[0].last_error.contains("550"), "{:?}", failing[0].last_error);
}
