//! Security notices through a real SMTP server: every kind of notice, driven by the
//! relay over the in-memory store, arrives as a well-formed message (parsed back:
//! From, To, Subject, Message-ID from the event id, Date, multipart/alternative with a
//! plain-text and an HTML body saying what happened, when, from where, on what device
//! and what to do, everything from the event escaped in the HTML).

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use mail_parser::{Message, MimeHeaders};
use mfa_kit::clock::ManualClock;
use mfa_kit::event::{AuditEvent, EventKind, SecurityNotice};
use mfa_kit::relay::{Notice, NoticeRelay, Notifier};
use mfa_kit::store::{MemoryStore, Store};
use mfa_kit::{Cleared, RejectionReason, ResetMode};
use mfa_kit::{Method, RequestContext, Role, UserId};
use mfa_kit_mail::{MailError, MailNotifier, Mailbox, notice_message_id, recipients_fn};
use support::{DOMAIN, addresses, delivered_to, mailbox, mailer, parse, unique};

/// 2023-11-14 22:13:20 UTC.
const T0: u64 = 1_700_000_000;
const DEVICE: &str = "Firefox <script>alert(1)</script> & \"Co\"";

/// Each event that is a notice, with the subject and a sentence its message must hold.
fn cases() -> Vec<(EventKind, SecurityNotice, &'static str, &'static str)> {
    let added = "A sign-in method was added to your Smith & Co Accounting account";
    let removed = "A sign-in method was removed from your Smith & Co Accounting account";
    vec![
        (
            EventKind::EnrollmentConfirmed { replaced: false },
            SecurityNotice::FactorAdded,
            added,
            "An authenticator app was set up for two-step verification on your account.",
        ),
        (
            EventKind::EnrollmentConfirmed { replaced: true },
            SecurityNotice::FactorAdded,
            added,
            "A new authenticator app was set up on your account, replacing the old one.",
        ),
        (
            EventKind::AuthenticatorImported,
            SecurityNotice::FactorAdded,
            added,
            "An authenticator was moved to your account from another system.",
        ),
        (
            EventKind::SecurityKeyRegistered {
                authenticator: "k1".into(),
                name: "YubiKey <5> & co".into(),
                discoverable: true,
                user_verified: true,
            },
            SecurityNotice::FactorAdded,
            added,
            "The passkey \u{201c}YubiKey <5> & co\u{201d} was registered as a way to sign in to your account.",
        ),
        (
            EventKind::BackupDestinationConfirmed {
                method: Method::Email,
                role: Role::Backup,
                to: "s•••@s•••.example".into(),
            },
            SecurityNotice::FactorAdded,
            added,
            "s•••@s•••.example was confirmed as the backup e-mail address that receives your sign-in codes.",
        ),
        (
            EventKind::Deactivated,
            SecurityNotice::FactorRemoved,
            "Two-step verification was turned off for your Smith & Co Accounting account",
            "Two-step verification was turned off: signing in to your account now needs only your password.",
        ),
        (
            EventKind::AuthenticatorRemoved { authenticator: "a1".into(), name: "Pixel 8".into() },
            SecurityNotice::FactorRemoved,
            removed,
            "The authenticator \u{201c}Pixel 8\u{201d} was removed from your account.",
        ),
        (
            EventKind::SecurityKeyRemoved { authenticator: "k2".into(), name: "Old key".into() },
            SecurityNotice::FactorRemoved,
            removed,
            "The security key \u{201c}Old key\u{201d} was removed from your account.",
        ),
        (
            EventKind::BackupDestinationRemoved { role: Role::Primary },
            SecurityNotice::FactorRemoved,
            removed,
            "Your main phone number or e-mail address for sign-in codes was removed from your account.",
        ),
        (
            EventKind::RecoveryCodesGenerated { count: 10 },
            SecurityNotice::RecoveryCodesRegenerated,
            "New recovery codes for your Smith & Co Accounting account",
            "10 new recovery codes were generated for your account; the old ones no longer work.",
        ),
        (
            EventKind::RecoveryCodesLow { remaining: 2 },
            SecurityNotice::RecoveryCodesRunningLow,
            "Your Smith & Co Accounting recovery codes are running out",
            "Only 2 unused recovery codes are left on your account.",
        ),
        (
            EventKind::RecoveryCodesExhausted,
            SecurityNotice::RecoveryCodesRunningLow,
            "Your Smith & Co Accounting recovery codes are running out",
            "Every recovery code of your account has been used.",
        ),
        (
            EventKind::ResetByAdmin {
                reason: "Lost phone <ticket 42>".into(),
                cleared: vec![Cleared::Authenticator],
                mode: ResetMode::RequireEnrollment,
            },
            SecurityNotice::ResetByAdmin,
            "An administrator reset two-step verification on your Smith & Co Accounting account",
            "An administrator reset two-step verification on your account, giving the reason \u{201c}Lost phone <ticket 42>\u{201d}. You will set up two-step verification again when you next sign in.",
        ),
        (
            // Ends at 22:28:20: the first whole minute after it is told.
            EventKind::LockoutStarted { until: T0 + 900 },
            SecurityNotice::LockedOut,
            "Your Smith & Co Accounting account was locked after wrong codes",
            "Too many wrong codes were entered after your password: signing in to your account is locked until 2023-11-14 22:29 UTC.",
        ),
        (
            EventKind::SecondFactorDisabled { failures: 20 },
            SecurityNotice::LockedOut,
            "Your Smith & Co Accounting account was locked after wrong codes",
            "After 20 wrong codes without a success, signing in to your account with a code was blocked until an administrator resets it.",
        ),
        (
            EventKind::DeviceRemembered {
                device_id: "d1".into(),
                label: "Work laptop".into(),
                expires_at: T0 + 30 * 86_400,
            },
            SecurityNotice::DeviceRemembered,
            "A device will skip two-step verification on your Smith & Co Accounting account",
            "The device \u{201c}Work laptop\u{201d} was remembered and will not be asked for a code until 2023-12-14 22:13 UTC.",
        ),
        (
            EventKind::CodeAccepted { method: Method::RecoveryCode, drift: None },
            SecurityNotice::SignedInWithRecoveryCode,
            "Your Smith & Co Accounting account was signed in to with a recovery code",
            "Someone signed in to your account with a recovery code instead of the usual second step.",
        ),
    ]
}

fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Keeps every notice it is handed, then hands it on.
struct Seen<N> {
    inner: N,
    notices: Mutex<Vec<Notice>>,
    /// Reports the first delivery as failed after it went out (a lost reply).
    lose_first_reply: AtomicBool,
}

impl<N> Seen<N> {
    fn new(inner: N) -> Seen<N> {
        Seen { inner, notices: Mutex::new(Vec::new()), lose_first_reply: AtomicBool::new(false) }
    }
}

impl<N: Notifier<Error = MailError>> Notifier for Seen<N> {
    type Error = MailError;

    async fn notify(&self, notice: &Notice) -> Result<(), MailError> {
        self.notices.lock().unwrap().push(notice.clone());
        self.inner.notify(notice).await?;
        if self.lose_first_reply.swap(false, Ordering::SeqCst) {
            return Err(MailError::Connection("the reply was lost".into()));
        }
        Ok(())
    }
}

/// A notifier to the real server sending `user`'s notices to `to`.
fn notifier_for(user: &UserId, to: Vec<String>) -> MailNotifier<impl mfa_kit_mail::Recipients> {
    let user = user.clone();
    let to: Vec<Mailbox> = to.iter().map(|a| mailbox(a)).collect();
    MailNotifier::new(
        mailer(),
        recipients_fn(move |who: &UserId| {
            let found = if *who == user { to.clone() } else { Vec::new() };
            async move { Ok::<_, std::io::Error>(found) }
        }),
    )
}

fn content_types(message: &Message<'_>) -> Vec<String> {
    message
        .parts
        .iter()
        .filter_map(|part| part.content_type())
        .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")))
        .collect()
}

#[tokio::test]
async fn every_notice_kind_arrives_as_a_well_formed_message() {
    let store = Arc::new(MemoryStore::new());
    let user = UserId::new(unique("sarah"));
    let admin = UserId::new("admin-7");
    let (account, backup) = (unique("sarah-account"), unique("sarah-backup"));
    let context = RequestContext::from_address("203.0.113.7".parse().unwrap()).with_device(DEVICE);
    let cases = cases();
    let mut events = Vec::new();
    for (n, (kind, notice, _, _)) in cases.iter().enumerate() {
        assert_eq!(kind.security_notice(), Some(*notice), "{kind:?}");
        let actor = if matches!(kind, EventKind::ResetByAdmin { .. }) { &admin } else { &user };
        events.push(AuditEvent::new(&user, actor, T0 + n as u64, &context, kind.clone()));
        // A routine event between the notices: it sends nothing.
        let routine = EventKind::CodeRejected {
            method: Method::Totp,
            reason: RejectionReason::Wrong,
            consecutive_failures: 1,
        };
        events.push(AuditEvent::new(&user, &user, T0 + n as u64, &context, routine));
    }
    store.append_events(events).await.unwrap();

    let notifier = Arc::new(Seen::new(notifier_for(&user, vec![account.clone(), backup.clone()])));
    let relay = NoticeRelay::new("email", store.clone(), notifier.clone(), ManualClock::new(T0 + 60));
    let batch = relay.run_once().await.unwrap();
    assert_eq!((batch.claimed, batch.delivered, batch.failed), (cases.len(), cases.len(), 0), "{batch:?}");
    assert_eq!(relay.stats().await.unwrap().pending, 0);

    let raw = delivered_to(&account, cases.len());
    assert_eq!(raw.len(), cases.len(), "one message per notice");
    assert_eq!(delivered_to(&backup, cases.len()).len(), cases.len(), "the second address has them too");
    let by_id: HashMap<String, &Vec<u8>> =
        raw.iter().map(|raw| (parse(raw).message_id().expect("a Message-ID").to_string(), raw)).collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;

    let notices = notifier.notices.lock().unwrap().clone();
    assert_eq!(notices.len(), cases.len());
    for (notice, (kind, class, subject, what)) in notices.iter().zip(&cases) {
        assert_eq!((&notice.event, notice.kind), (kind, *class));
        let id = notice_message_id(notice.id, DOMAIN);
        assert_eq!(id, format!("<mfa-notice-{}@{DOMAIN}>", notice.id));
        let raw = by_id.get(id.trim_matches(['<', '>'])).unwrap_or_else(|| panic!("{id} arrived"));
        let message = parse(raw);
        // Headers.
        assert_eq!(message.subject(), Some(*subject), "{kind:?}");
        assert_eq!(addresses(message.from()), vec!["security@smith.example".to_string()]);
        let from = message.from().unwrap().first().unwrap();
        assert_eq!(from.name(), Some("Smith & Co Security"));
        assert_eq!(addresses(message.to()), vec![account.clone(), backup.clone()]);
        let date = message.date().expect("a Date").to_timestamp();
        assert!((date - now).abs() < 300, "the Date is the sending time: {date} vs {now}");
        assert!(message.header("MIME-Version").is_some());
        // MIME structure: multipart/alternative of text/plain and text/html, in that order.
        assert_eq!(content_types(&message), ["multipart/alternative", "text/plain", "text/html"], "{kind:?}");
        let text = message.body_text(0).unwrap().to_string();
        let html = message.body_html(0).unwrap().to_string();
        // The plain-text body: what happened, when, where from, on what device, what to do.
        let text_flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text_flat.contains(what), "{kind:?}: {text}");
        let when = format!("When: {}", mfa_kit::utc::utc_minute(notice.at));
        assert!(text_flat.contains(&when), "{text}");
        assert!(text_flat.contains("From: 203.0.113.7"), "{text}");
        assert!(text.contains(DEVICE), "{text}");
        assert!(text_flat.contains("Call us on 1300 000 000 if you need help."), "{text}");
        assert!(text.contains("https://smith.example/settings/security?tab=mfa&x=1"), "{text}");
        assert!(text.contains(&format!("Reference: notice {}.", notice.id)), "{text}");
        let advice = ["if this was not you", "if you did not ask for this", "if you did not use them"];
        assert!(advice.iter().any(|a| text_flat.to_lowercase().contains(a)), "what to do: {text}");
        let by_admin = text_flat.contains("By: an administrator, not you");
        assert_eq!(by_admin, notice.actor != notice.user, "{text}");
        // The HTML body: the same, with everything from the event escaped.
        let html_flat = html.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(html_flat.contains(&html_escaped(what)), "{kind:?}: {html}");
        assert!(html.contains(&html_escaped(DEVICE)), "{html}");
        assert!(!html.contains("<script>") && !html.contains("<ticket") && !html.contains("<5>"), "{html}");
        assert!(html.contains("href=\"https://smith.example/settings/security?tab=mfa&amp;x=1\""), "{html}");
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"), "{html}");
        assert!(html.contains(&format!("<title>{}</title>", html_escaped(subject))), "{html}");
    }
}

#[tokio::test]
async fn a_notice_delivered_twice_keeps_its_message_id() {
    let store = Arc::new(MemoryStore::new());
    let user = UserId::new(unique("tom"));
    let inbox = unique("tom-inbox");
    let event = AuditEvent::new(&user, &user, T0, &RequestContext::default(), EventKind::Deactivated);
    store.append_events(vec![event]).await.unwrap();
    let notifier = Arc::new(Seen::new(notifier_for(&user, vec![inbox.clone()])));
    notifier.lose_first_reply.store(true, Ordering::SeqCst);
    let clock = ManualClock::new(T0 + 1);
    let relay = NoticeRelay::new("email", store.clone(), notifier.clone(), clock.clone());
    let first = relay.run_once().await.unwrap();
    assert_eq!((first.claimed, first.failed), (1, 1), "the reply was lost: the relay will try again");
    clock.advance(relay.config().backoff(1));
    let second = relay.run_once().await.unwrap();
    assert_eq!((second.claimed, second.delivered), (1, 1));
    let raw = delivered_to(&inbox, 2);
    assert_eq!(raw.len(), 2, "delivered twice (at least once)");
    let ids: Vec<String> = raw.iter().map(|r| parse(r).message_id().unwrap().to_string()).collect();
    let notices = notifier.notices.lock().unwrap().clone();
    assert_eq!((notices[0].id, notices[0].attempt, notices[1].attempt), (notices[1].id, 1, 2));
    let expected = format!("mfa-notice-{}@{DOMAIN}", notices[0].id);
    assert_eq!(ids, vec![expected.clone(), expected], "recognisably the same message");
    // Without an address or device, the message says they were not recorded.
    let text = parse(&raw[0]).body_text(0).unwrap().to_string();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("From: not recorded") && flat.contains("Device: not recorded"), "{text}");
}

#[tokio::test]
async fn hostile_event_text_stays_in_the_body_escaped_and_never_breaks_the_message() {
    let store = Arc::new(MemoryStore::new());
    let user = UserId::new(unique("eve"));
    let inbox = unique("eve-inbox");
    let device =
        format!("x\r\nBcc: victim@evil.example\r\n\r\n<img src=x onerror=alert(1)>\u{0}{}", "é".repeat(5000));
    let context = RequestContext::from_address("2001:db8::1".parse().unwrap()).with_device(device);
    let events = vec![
        AuditEvent::new(&user, &user, T0, &context, EventKind::LockoutStarted { until: u64::MAX }),
        AuditEvent::new(
            &user,
            &user,
            T0,
            &context,
            EventKind::DeviceRemembered {
                device_id: "d".into(),
                label: "\u{202e}<b>\"'&".into(),
                expires_at: 0,
            },
        ),
    ];
    store.append_events(events).await.unwrap();
    let relay =
        NoticeRelay::new("email", store, notifier_for(&user, vec![inbox.clone()]), ManualClock::new(T0 + 1));
    let batch = relay.run_once().await.unwrap();
    assert_eq!((batch.claimed, batch.delivered), (2, 2), "{batch:?}");
    for raw in delivered_to(&inbox, 2) {
        let message = parse(&raw);
        assert_eq!(addresses(message.to()), vec![inbox.clone()]);
        assert!(message.bcc().is_none() && message.header("Bcc").is_none(), "no header was injected");
        assert_eq!(content_types(&message), ["multipart/alternative", "text/plain", "text/html"]);
        let text = message.body_text(0).unwrap().to_string();
        let html = message.body_html(0).unwrap().to_string();
        assert!(text.contains("From:   2001:db8::1"), "{text}");
        assert!(!text.contains('\u{0}') && text.contains("Bcc: victim@evil.example"), "kept, on one line");
        assert!(text.contains('…') && text.len() < 5_000, "a device label is cut short: {}", text.len());
        assert!(!html.contains("<img") && !html.contains("<b>"), "{html}");
    }
}

#[tokio::test]
async fn a_notice_carries_its_this_wasnt_me_link_in_both_bodies() {
    let store = Arc::new(MemoryStore::new());
    let user = UserId::new(unique("kim"));
    let inbox = unique("kim-inbox");
    let key = mfa_kit::keyed_hash::HashKey::generate().unwrap();
    let context = RequestContext::from_address("203.0.113.9".parse().unwrap()).with_device("Chrome");
    let event = AuditEvent::new(&user, &user, T0, &context, EventKind::RecoveryCodesGenerated { count: 10 });
    store.append_events(vec![event]).await.unwrap();
    let links = Arc::new(std::sync::Mutex::new(Vec::new()));
    let made = links.clone();
    let notifier = notifier_for(&user, vec![inbox.clone()]).with_disown_link(move |notice| {
        let link = format!(
            "https://app.example/wasnt-me?user={}&token={}",
            notice.user,
            notice.disown_token(&key).as_str()
        );
        made.lock().unwrap().push(link.clone());
        Some(link)
    });
    let relay = NoticeRelay::new("email", store, notifier, ManualClock::new(T0 + 1));
    assert_eq!(relay.run_once().await.unwrap().delivered, 1);
    let [raw] = delivered_to(&inbox, 1).try_into().unwrap();
    let message = parse(&raw);
    let link = links.lock().unwrap()[0].clone();
    let text = message.body_text(0).unwrap().to_string();
    let html = message.body_html(0).unwrap().to_string();
    assert!(text.contains(&format!("This wasn't me: {link}")), "{text}");
    assert!(html.contains(&format!("<a href=\"{}\">This wasn't me</a>", html_escaped(&link))), "{html}");
}
