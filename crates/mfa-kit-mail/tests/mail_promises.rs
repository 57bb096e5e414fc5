//! What the e-mailed notices say and to whom they go, with hostile names and labels,
//! a server that quotes the sign-in back, and the running-low notice at its edge.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mfa_kit::Refusal;
use mfa_kit::clock::ManualClock;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::relay::{Notice, NoticeRelay, Notifier};
use mfa_kit::store::{MemoryStore, Store};
use mfa_kit::{RequestContext, UserId};
use mfa_kit_mail::{
    Letterhead, MailNotifier, Mailbox, Mailer, SmtpConfig, TlsMode, recipients_fn, render_notice,
};
use support::{DOMAIN, addresses, count_to, delivered_to, letterhead, parse, require_server, unique};

/// 2023-11-14 22:13:20 UTC: not on a whole minute.
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
    let context = RequestContext::from_address("203.0.113.7".parse().unwrap());
    store.append_events(vec![AuditEvent::new(user, user, at, &context, kind)]).await.unwrap();
    let keep = Arc::new(Keep::default());
    NoticeRelay::new("email", store, keep.clone(), ManualClock::new(at + 1)).run_once().await.unwrap();
    let notices = keep.0.lock().unwrap().clone();
    notices.into_iter().next().expect("the event is a notice")
}

/// The lockout notice names the first whole minute at or after the lockout's end, as
/// the refusal the user then gets does ("Try again after ..."): a time cut to the
/// minute would be one at which the account is still locked.
#[tokio::test]
async fn the_lockout_notice_never_names_a_time_before_the_lockout_ends() {
    let user = UserId::new("tom");
    let until = T0 + 900; // 22:28:20
    let notice = notice_of(&user, EventKind::LockoutStarted { until }, T0).await;
    let rendered = render_notice(&notice, &letterhead());
    let refusal = Refusal::LockedOut { until }.to_string();
    assert!(refusal.contains("2023-11-14 22:29 UTC"), "{refusal}");
    let flat = rendered.text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("locked until 2023-11-14 22:29 UTC"),
        "the e-mail and the refusal disagree on when the lockout ends ({refusal}): {flat}"
    );
}

/// A label or device name with a Unicode line or paragraph separator (U+2028, U+2029;
/// a device label is typically a User-Agent, which anyone can write) stays on its one
/// line: text after it cannot read as a line of the mail's own.
#[tokio::test]
async fn a_label_or_device_with_a_unicode_line_separator_stays_on_one_line() {
    let user = UserId::new("kim");
    let store = Arc::new(MemoryStore::new());
    let context = RequestContext::from_address("203.0.113.7".parse().unwrap())
        .with_device("Firefox\u{2029}When:   2001-01-01 00:00 UTC");
    let label = "Work laptop\u{2028}This was you: nothing to do.\u{2028}".to_string();
    let kind = EventKind::DeviceRemembered { device_id: "d1".into(), label, expires_at: T0 + 86_400 };
    store.append_events(vec![AuditEvent::new(&user, &user, T0, &context, kind)]).await.unwrap();
    let keep = Arc::new(Keep::default());
    NoticeRelay::new("email", store, keep.clone(), ManualClock::new(T0 + 1)).run_once().await.unwrap();
    let notice = keep.0.lock().unwrap()[0].clone();
    let rendered = render_notice(&notice, &letterhead());
    for line in rendered.text.lines() {
        assert!(!line.contains(['\u{2028}', '\u{2029}']), "a line break inside a line: {line:?}");
    }
}

/// the running-low notice at the edge of `flow::recovery::LOW_WATERMARK` ("At
/// or below this many unused codes the user is warned", src/flow/recovery.rs:45): the
/// count it states is the event's, in the singular for the last code (crates/
/// mfa-kit-mail/tests/notices.rs covers 2 left and none left only), under the same
/// subject.
#[tokio::test]
async fn the_running_low_notice_states_the_count_at_the_watermark_and_below() {
    use mfa_kit::flow::recovery::LOW_WATERMARK;
    let user = UserId::new("lee");
    let subject = "Your Smith & Co Accounting recovery codes are running out";
    for (remaining, says) in [
        (LOW_WATERMARK, format!("Only {LOW_WATERMARK} unused recovery codes are left on your account.")),
        (1, "Only 1 unused recovery code is left on your account.".to_string()),
    ] {
        let notice = notice_of(&user, EventKind::RecoveryCodesLow { remaining }, T0).await;
        let rendered = render_notice(&notice, &letterhead());
        assert_eq!(rendered.subject, subject);
        assert!(rendered.text.contains(&says), "{remaining}: {}", rendered.text);
    }
}

/// A notifier to the real server that sends each user's notices to the mailbox
/// `mailboxes` gives for them.
fn notifier_with(
    letterhead: Letterhead,
    mailboxes: Vec<(UserId, Mailbox)>,
) -> MailNotifier<impl mfa_kit_mail::Recipients + use<>> {
    require_server();
    let config = SmtpConfig::new("127.0.0.1", 1025, TlsMode::None)
        .timeouts(Duration::from_secs(2), Duration::from_secs(10));
    let mailer = Mailer::new(config, letterhead).unwrap();
    MailNotifier::new(
        mailer,
        recipients_fn(move |who: &UserId| {
            let found: Vec<Mailbox> =
                mailboxes.iter().filter(|(user, _)| user == who).map(|(_, m)| m.clone()).collect();
            async move { Ok::<_, std::io::Error>(found) }
        }),
    )
}

fn smith() -> Mailbox {
    "Smith & Co Security <security@smith.example>".parse().unwrap()
}

/// A recipient whose display name holds a line break (a name the user typed into the
/// host's profile) is sent to with the name on one line; it was a panic inside lettre
/// that every later relay batch repeated, so no notice behind it was delivered.
#[tokio::test]
async fn a_recipient_name_with_a_line_break_is_an_error_not_a_panic_and_blocks_no_other_notice() {
    let (eve, bob) = (UserId::new(unique("eve")), UserId::new(unique("bob")));
    let (eve_inbox, bob_inbox, victim) = (unique("eve-inbox"), unique("bob-inbox"), unique("victim"));
    let name = format!("Eve\r\nBcc: {victim}");
    let notifier = notifier_with(
        letterhead(),
        vec![
            (eve.clone(), Mailbox::new(Some(name), eve_inbox.parse().unwrap())),
            (bob.clone(), Mailbox::new(Some("Bob".into()), bob_inbox.parse().unwrap())),
        ],
    );
    let store = Arc::new(MemoryStore::new());
    let context = RequestContext::default();
    store
        .append_events(vec![
            AuditEvent::new(&eve, &eve, T0, &context, EventKind::Deactivated),
            AuditEvent::new(&bob, &bob, T0 + 1, &context, EventKind::Deactivated),
        ])
        .await
        .unwrap();
    let relay = Arc::new(NoticeRelay::new("email", store, notifier, ManualClock::new(T0 + 10)));
    let running = relay.clone();
    let outcome =
        tokio::spawn(async move { running.run_once().await.map(|batch| format!("{batch:?}")) }).await;
    assert!(outcome.as_ref().is_ok_and(|batch| batch.is_ok()), "the relay's batch did not end: {outcome:?}");
    assert_eq!(delivered_to(&bob_inbox, 1).len(), 1, "Bob's notice waits behind Eve's");
    assert_eq!(count_to(&victim), 0);
}

/// the letterhead's site name (in every subject, the HTML title and the bodies)
/// and a recipient's display name with markup forge no header and no HTML: the
/// message reaches the one address, with no `Bcc` or other injected header, nothing
/// reaches the would-be victim, and the HTML body escapes the site's markup (the
/// crate's README: "everything from the event is escaped in the HTML").
#[tokio::test]
async fn a_site_name_with_line_breaks_and_names_with_markup_forge_no_header() {
    let user = UserId::new(unique("eve"));
    let (inbox, victim) = (unique("eve-inbox"), unique("victim"));
    let site = format!("Smith <i>&</i> Co\r\nBcc: {victim}\r\nX-Site-Forged: yes");
    let name = "Eve <b>\"Admin\"</b> & 'Co'".to_string();
    let notifier = notifier_with(
        Letterhead::new(site, smith(), DOMAIN),
        vec![(user.clone(), Mailbox::new(Some(name.clone()), inbox.parse().unwrap()))],
    );
    let store = Arc::new(MemoryStore::new());
    let event = AuditEvent::new(&user, &user, T0, &RequestContext::default(), EventKind::Deactivated);
    store.append_events(vec![event]).await.unwrap();
    let relay = NoticeRelay::new("email", store, notifier, ManualClock::new(T0 + 1));
    let batch = relay.run_once().await.unwrap();
    assert_eq!((batch.claimed, batch.delivered), (1, 1), "{batch:?} {:?}", relay.failing(5).await.unwrap());
    let [raw] = delivered_to(&inbox, 1).try_into().unwrap();
    let message = parse(&raw);
    assert_eq!(addresses(message.to()), vec![inbox.clone()]);
    assert_eq!(message.to().unwrap().first().unwrap().name(), Some(name.as_str()));
    assert!(message.bcc().is_none() && message.header("Bcc").is_none(), "a Bcc was forged");
    assert!(message.header("X-Site-Forged").is_none(), "a header was forged");
    let subject = message.subject().unwrap_or_default();
    assert!(subject.contains("Two-step verification was turned off"), "{subject}");
    let html = message.body_html(0).unwrap().to_string();
    assert!(!html.contains("<i>") && html.contains("&lt;i&gt;"), "{html}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count_to(&victim), 0, "a forged recipient got the notice");
}

/// A server on loopback that offers `AUTH` and refuses it with 535, quoting the
/// client's `AUTH` line back (as servers quote a command they refuse).
fn server_echoing_auth() -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                let mut say = |line: &str| {
                    let _ = writer.write_all(format!("{line}\r\n").as_bytes());
                };
                say("220 mail.example ESMTP");
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    let command = line.trim_end().to_string();
                    match command.split(' ').next().unwrap_or("").to_ascii_uppercase().as_str() {
                        "EHLO" => {
                            say("250-mail.example");
                            say("250 AUTH PLAIN LOGIN");
                        }
                        "AUTH" => say(&format!("535 5.7.8 Authentication failed: {command}")),
                        "QUIT" => {
                            say("221 bye");
                            return;
                        }
                        _ => say("250 OK"),
                    }
                    line.clear();
                }
            });
        }
    });
    port
}

/// The stored error of a failing notice never holds the SMTP password, also when the
/// server quotes the refused `AUTH PLAIN` exchange (the password in base64) back.
#[tokio::test]
async fn a_server_quoting_the_auth_exchange_never_puts_the_password_in_the_stored_error() {
    let port = server_echoing_auth();
    let config = SmtpConfig::new("127.0.0.1", port, TlsMode::None)
        .credentials("mfa-kit", "hunter2-secret")
        .timeouts(Duration::from_secs(2), Duration::from_secs(5));
    let mailer = Mailer::new(config, letterhead()).unwrap();
    let inbox: Mailbox = format!("ann@{DOMAIN}").parse().unwrap();
    let notifier = MailNotifier::new(
        mailer,
        recipients_fn(move |_: &UserId| {
            let inbox = inbox.clone();
            async move { Ok::<_, std::io::Error>(vec![inbox]) }
        }),
    );
    let user = UserId::new("ann");
    let store = Arc::new(MemoryStore::new());
    let event = AuditEvent::new(&user, &user, T0, &RequestContext::default(), EventKind::Deactivated);
    store.append_events(vec![event]).await.unwrap();
    let relay = NoticeRelay::new("email", store, notifier, ManualClock::new(T0 + 1));
    assert_eq!(relay.run_once().await.unwrap().failed, 1);
    let failing = relay.failing(1).await.unwrap();
    let error = &failing[0].last_error;
    assert!(error.contains("535"), "{error}");
    // base64 of "\0mfa-kit\0hunter2-secret", what AUTH PLAIN sends.
    let plain = "AG1mYS1raXQAaHVudGVyMi1zZWNyZXQ=";
    assert!(
        !error.contains(plain) && !error.contains("hunter2"),
        "the password is in the stored error: {error}"
    );
}
