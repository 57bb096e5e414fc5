//! Implicit TLS against a real server: a maildev of this test's own, speaking TLS from
//! the first byte with a certificate made for the test. With the test's root
//! certificate trusted the notice arrives; without it the certificate is refused and
//! nothing is sent, the notice kept for retry.

mod support;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mfa_kit::clock::ManualClock;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::relay::NoticeRelay;
use mfa_kit::store::{MemoryStore, Store};
use mfa_kit::{RequestContext, UserId};
use mfa_kit_mail::{MailNotifier, Mailbox, Mailer, SmtpConfig, TlsMode, recipients_fn};
use support::{delivered_at, letterhead, mailbox, parse, unique};

const T0: u64 = 1_700_000_000;

/// A maildev with implicit TLS, ended when dropped.
struct TlsMaildev {
    child: Child,
    smtp: u16,
    api: u16,
    cert: Vec<u8>,
    dir: PathBuf,
}

impl Drop for TlsMaildev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn tls_maildev() -> TlsMaildev {
    let dir = std::env::temp_dir().join(unique("mfa-kit-mail-tls").replace('@', "-"));
    std::fs::create_dir_all(&dir).unwrap();
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost", "-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth", "-keyout", "key.pem", "-out", "cert.pem"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl makes the test's certificate (Debian package openssl)");
    assert!(made.success());
    let (smtp, api) = (free_port(), free_port());
    let child = Command::new("maildev")
        .args(["--ip", "127.0.0.1", "-s", &smtp.to_string(), "--web-ip", "127.0.0.1", "-w", &api.to_string()])
        .args(["--incoming-secure", "--incoming-cert", "cert.pem", "--incoming-key", "key.pem"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("maildev could not be started ({error}): run `.ci/services`, which installs it")
        });
    let cert = std::fs::read(dir.join("cert.pem")).unwrap();
    let server = TlsMaildev { child, smtp, api, cert, dir };
    let deadline = Instant::now() + Duration::from_secs(20);
    while [smtp, api].iter().any(|&port| TcpStream::connect(("127.0.0.1", port)).is_err()) {
        assert!(Instant::now() < deadline, "maildev with TLS did not start within 20 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    server
}

async fn store_with_a_notice(user: &UserId) -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    let event =
        AuditEvent::new(user, user, T0, &RequestContext::default(), EventKind::RecoveryCodesExhausted);
    store.append_events(vec![event]).await.unwrap();
    store
}

fn notifier(mailer: Mailer, to: &str) -> MailNotifier<impl mfa_kit_mail::Recipients + use<>> {
    let to: Vec<Mailbox> = vec![mailbox(to)];
    MailNotifier::new(
        mailer,
        recipients_fn(move |_: &UserId| {
            let to = to.clone();
            async move { Ok::<_, std::io::Error>(to) }
        }),
    )
}

#[tokio::test]
async fn implicit_tls_delivers_to_a_trusted_server_and_refuses_an_untrusted_one() {
    let server = tls_maildev();
    let user = UserId::new(unique("tls"));
    let inbox = unique("tls-inbox");
    let store = store_with_a_notice(&user).await;
    let clock = ManualClock::new(T0 + 1);
    let timeouts = (Duration::from_secs(5), Duration::from_secs(10));

    // The certificate's issuer is not trusted: TLS fails, nothing is sent, the notice
    // is kept.
    let untrusted =
        SmtpConfig::new("localhost", server.smtp, TlsMode::Implicit).timeouts(timeouts.0, timeouts.1);
    let relay = NoticeRelay::new(
        "email",
        store.clone(),
        notifier(Mailer::new(untrusted, letterhead()).unwrap(), &inbox),
        clock.clone(),
    );
    let batch = relay.run_once().await.unwrap();
    assert_eq!((batch.claimed, batch.failed), (1, 1));
    let failing = relay.failing(1).await.unwrap();
    assert!(failing[0].last_error.contains("could not be used"), "{}", failing[0].last_error);

    // With the test's root trusted, the notice arrives over TLS.
    clock.advance(relay.config().backoff(1));
    let trusted = SmtpConfig::new("localhost", server.smtp, TlsMode::Implicit)
        .timeouts(timeouts.0, timeouts.1)
        .root_certificate(server.cert.clone());
    let relay = NoticeRelay::new(
        "email",
        store.clone(),
        notifier(Mailer::new(trusted, letterhead()).unwrap(), &inbox),
        clock.clone(),
    );
    let batch = relay.run_once().await.unwrap();
    assert_eq!((batch.claimed, batch.delivered), (1, 1), "{:?}", relay.failing(1).await.unwrap());
    let raw = delivered_at(server.api, &inbox, 1);
    assert_eq!(raw.len(), 1);
    assert_eq!(parse(&raw[0]).subject(), Some("Your Smith & Co Accounting recovery codes are running out"));
}
