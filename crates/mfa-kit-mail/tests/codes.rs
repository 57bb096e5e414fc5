//! E-mailed codes through a real SMTP server: a destination confirmation and a sign-in
//! code sent by the service with `MailCodeSender` arrive, are read back from the
//! delivered message and verify; a server that refuses or never answers makes the
//! service fail closed (`Error::Sender`): no code is issued, and the trail says so.

mod support;

use std::sync::Arc;
use std::time::Duration;

use mail_parser::MimeHeaders;
use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::{EventKind, MemoryAuditLog};
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::policy::SignInContext;
use mfa_kit::service::{Error, MfaService};
use mfa_kit::store::MemoryStore;
use mfa_kit::{Destination, Method, Purpose, RequestContext, Role, UserId};
use mfa_kit_mail::{MailCodeSender, MailError, Mailbox, TlsMode, account_and_record, record_addresses};
use support::{DOMAIN, Misbehaviour, Scripted, addresses, delivered_to, mailer, mailer_to, parse, unique};

/// 2023-11-14 22:13:20 UTC.
const START: u64 = 1_700_000_000;

struct Firm {
    mfa: MfaService<MemoryStore, PlaintextSealer>,
    audit: Arc<MemoryAuditLog>,
    clock: ManualClock,
}

fn firm() -> Firm {
    let audit = Arc::new(MemoryAuditLog::new());
    let clock = ManualClock::new(START);
    let mfa = MfaService::builder("Smith & Co Accounting", MemoryStore::new(), PlaintextSealer)
        .clock(clock.clone())
        .audit(audit.clone())
        .hash_key(HashKey::generate().unwrap())
        .build();
    Firm { mfa, audit, clock }
}

fn office() -> SignInContext {
    SignInContext::new(
        RequestContext::from_address("203.0.113.7".parse().unwrap()).with_device("Firefox on Windows"),
    )
}

/// The code in a delivered code message, after checking the message's form: the code
/// is in both bodies, never in the subject.
fn code_in(raw: &[u8], to: &str, subject: &str) -> String {
    let message = parse(raw);
    assert_eq!(message.subject(), Some(subject));
    assert_eq!(addresses(message.to()), vec![to.to_string()]);
    assert_eq!(addresses(message.from()), vec!["security@smith.example".to_string()]);
    let id = message.message_id().expect("a Message-ID");
    assert!(id.starts_with("mfa-code-") && id.ends_with(&format!("@{DOMAIN}")), "{id}");
    assert!(message.date().is_some());
    let content_type = message.content_type().expect("a content type");
    assert_eq!((content_type.ctype(), content_type.subtype()), ("multipart", Some("alternative")));
    let text = message.body_text(0).expect("a plain-text body").to_string();
    let html = message.body_html(0).expect("an HTML body").to_string();
    let code = text
        .lines()
        .find_map(|line| line.strip_prefix("    ").filter(|c| c.chars().all(|c| c.is_ascii_digit())))
        .expect("the code on its own indented line")
        .to_string();
    assert!(code.len() >= 6, "{code}");
    assert!(html.contains(&format!("<strong>{code}</strong>")), "{html}");
    assert!(!subject.contains(&code));
    code
}

#[tokio::test]
async fn an_emailed_confirmation_and_sign_in_code_arrive_and_verify() {
    let firm = firm();
    let sender = MailCodeSender::new(mailer());
    let ann = UserId::new(unique("ann"));
    let address = unique("ann-inbox");
    let destination = Destination::email(&address).unwrap();

    // Adding the address sends it a confirmation code.
    let sent = firm.mfa.add_destination(&ann, destination.clone(), Role::Primary, &sender, &office()).await;
    let sent = sent.expect("the server took it").expect("the policy allows it");
    assert_eq!(sent.to, destination.masked());
    let raw = delivered_to(&address, 1);
    assert_eq!(raw.len(), 1);
    let confirmation = code_in(&raw[0], &address, "Confirm your e-mail address for Smith & Co Accounting");
    let text = parse(&raw[0]).body_text(0).unwrap().to_string();
    assert!(text.contains(&destination.masked()) && text.contains("2023-11-14 22:2"), "{text}");
    let confirmed = firm.mfa.confirm_destination(&ann, &confirmation, &office()).await.unwrap();
    assert!(confirmed.is_ok(), "{confirmed:?}");

    // A sign-in code by e-mail, a minute later (the least time between sends).
    firm.clock.advance(60);
    let sent = firm.mfa.send_sign_in_code(&ann, Role::Primary, &sender, &office()).await.unwrap();
    assert!(sent.is_ok(), "{sent:?}");
    let raw = delivered_to(&address, 2);
    assert_eq!(raw.len(), 2);
    let code = code_in(&raw[1], &address, "Your Smith & Co Accounting sign-in code");
    let text = parse(&raw[1]).body_text(0).unwrap().to_string();
    assert!(text.contains("finish signing in") && text.contains("change it now"), "{text}");
    let proven = firm.mfa.verify_sign_in_code(&ann, &code, &office()).await.unwrap();
    assert!(proven.is_ok(), "{proven:?}");
    // Once only.
    let again = firm.mfa.verify_sign_in_code(&ann, &code, &office()).await.unwrap();
    assert!(again.is_err(), "{again:?}");
    let kinds = firm.audit.kinds_for(&ann);
    assert!(kinds.contains(&EventKind::BackupCodeSent {
        method: Method::Email,
        purpose: Purpose::SignIn,
        to: destination.masked()
    }));
}

/// Adds a confirmed e-mail destination through the real server; returns its address.
async fn with_email(firm: &Firm, who: &UserId) -> String {
    let address = unique("inbox");
    let sender = MailCodeSender::new(mailer());
    let destination = Destination::email(&address).unwrap();
    firm.mfa.add_destination(who, destination, Role::Primary, &sender, &office()).await.unwrap().unwrap();
    let raw = delivered_to(&address, 1);
    let code = code_in(&raw[0], &address, "Confirm your e-mail address for Smith & Co Accounting");
    assert!(firm.mfa.confirm_destination(who, &code, &office()).await.unwrap().is_ok());
    firm.clock.advance(60);
    address
}

/// Sends a sign-in code through a misbehaving server: the service fails closed.
async fn fails_closed(misbehaviour: Misbehaviour, tls: TlsMode) -> (Scripted, String) {
    let firm = firm();
    let bob = UserId::new(unique("bob"));
    let address = with_email(&firm, &bob).await;
    let server = Scripted::start(misbehaviour);
    let sender = MailCodeSender::new(mailer_to(server.port, tls, Duration::from_secs(2)));
    let before = firm.mfa.record(&bob).await.unwrap();
    assert!(before.destination_state().challenge().is_none(), "the confirmation code was used");

    let started = std::time::Instant::now();
    let failed = firm.mfa.send_sign_in_code(&bob, Role::Primary, &sender, &office()).await;
    assert!(started.elapsed() < Duration::from_secs(8), "gave up within the send timeout");
    let Err(Error::Sender(error)) = failed else { panic!("fails closed with Error::Sender: {failed:?}") };
    let text = error.to_string();
    eprintln!("{misbehaviour:?}: {text}");

    // No code was issued: none is pending, the send is not counted, the trail says so.
    let after = firm.mfa.record(&bob).await.unwrap();
    assert!(after.destination_state().challenge().is_none(), "no code is valid");
    let kinds = firm.audit.kinds_for(&bob);
    assert_eq!(
        kinds[kinds.len() - 2..],
        [
            EventKind::BackupCodeReserved {
                method: Method::Email,
                purpose: Purpose::SignIn,
                to: Destination::email(&address).unwrap().masked()
            },
            EventKind::BackupCodeNotSent { method: Method::Email },
        ]
    );
    // Nothing reached the mailbox but the confirmation.
    assert_eq!(support::count_to(&address), 1);
    assert_eq!(after.failures().consecutive(), 0);
    // The failed send did not count: through the real server a code goes out at once.
    let sender = MailCodeSender::new(mailer());
    let sent = firm.mfa.send_sign_in_code(&bob, Role::Primary, &sender, &office()).await.unwrap();
    assert!(sent.is_ok(), "{sent:?}");
    assert_eq!(delivered_to(&address, 2).len(), 2);
    (server, text)
}

#[tokio::test]
async fn a_server_that_refuses_the_greeting_makes_the_service_fail_closed() {
    let (server, text) = fails_closed(Misbehaviour::RefuseGreeting, TlsMode::None).await;
    assert!(text.contains("554"), "{text}");
    assert!(server.connections() >= 1);
}

#[tokio::test]
async fn a_server_that_refuses_the_recipient_makes_the_service_fail_closed() {
    let (server, text) = fails_closed(Misbehaviour::RefuseRecipient, TlsMode::None).await;
    assert!(text.contains("550") && text.contains("permanent"), "{text}");
    assert!(server.heard().iter().any(|line| line.starts_with("RCPT TO:")));
    assert!(!server.heard().iter().any(|line| line.starts_with("DATA")), "no body was sent");
}

#[tokio::test]
async fn a_server_that_never_answers_makes_the_service_fail_closed_after_the_timeout() {
    let (_server, text) = fails_closed(Misbehaviour::Silent, TlsMode::None).await;
    assert!(text.contains("did not take the message within 2s"), "{text}");
}

#[tokio::test]
async fn a_refusal_that_echoes_the_message_never_puts_the_code_in_the_error() {
    let (server, text) = fails_closed(Misbehaviour::RefuseBodyEchoing, TlsMode::None).await;
    let data = server.heard().into_iter().find(|line| line.starts_with("DATA ")).expect("the body was sent");
    let code = data
        .lines()
        .find_map(|line| {
            line.strip_prefix("    ").filter(|c| c.len() >= 6 && c.chars().all(|c| c.is_ascii_digit()))
        })
        .expect("the code in the plain-text part");
    assert!(text.contains("554") && text.contains("[redacted]"), "{text}");
    assert!(!text.contains(code), "the error holds no code: {text}");
}

#[tokio::test]
async fn starttls_required_sends_nothing_to_a_server_that_does_not_offer_it() {
    let (server, text) = fails_closed(Misbehaviour::NoStartTls, TlsMode::StartTls).await;
    assert!(text.contains("could not be used"), "{text}");
    let heard = server.heard();
    assert!(heard.iter().all(|line| !line.starts_with("MAIL") && !line.starts_with("AUTH")), "{heard:?}");
}

#[tokio::test]
async fn an_sms_destination_is_refused_by_the_email_sender() {
    // Through the service, an SMS destination given this sender fails closed too.
    let firm = firm();
    let carol = UserId::new(unique("carol"));
    let sender = MailCodeSender::new(mailer());
    let phone = Destination::sms("+61 412 345 678").unwrap();
    let failed = firm.mfa.add_destination(&carol, phone, Role::Primary, &sender, &office()).await;
    let Err(Error::Sender(error)) = failed else { panic!("{failed:?}") };
    assert!(error.to_string().contains("not an e-mail address"), "{error}");
    assert!(firm.mfa.record(&carol).await.unwrap().destination_state().destinations().is_empty());
    assert!(matches!(error.downcast_ref::<MailError>(), Some(MailError::NotEmail)), "{error:?}");
}

#[tokio::test]
async fn notices_go_to_the_account_address_and_the_records_confirmed_email_destinations() {
    let firm = firm();
    let dan = UserId::new(unique("dan"));
    let confirmed = with_email(&firm, &dan).await;
    // An unconfirmed backup address is not a recipient.
    let unconfirmed = Destination::email(&unique("unconfirmed")).unwrap();
    let sender = MailCodeSender::new(mailer());
    firm.mfa.add_destination(&dan, unconfirmed, Role::Backup, &sender, &office()).await.unwrap().unwrap();
    let record = firm.mfa.record(&dan).await.unwrap();
    assert_eq!(record.destination_state().destinations().len(), 2);
    let from_record: Vec<String> = record_addresses(&record).iter().map(|m| m.email.to_string()).collect();
    assert_eq!(from_record, vec![confirmed.clone()]);
    // The account's own address first; the same address twice (any case) only once.
    let account: Mailbox = "Dan <dan@smith.example>".parse().unwrap();
    let both = account_and_record(Some(account.clone()), Some(&record));
    assert_eq!(both, vec![account.clone(), confirmed.parse().unwrap()]);
    let same: Mailbox = confirmed.to_uppercase().parse().unwrap();
    assert_eq!(account_and_record(Some(same.clone()), Some(&record)), vec![same]);
    assert_eq!(account_and_record(None, None), Vec::<Mailbox>::new());
}
