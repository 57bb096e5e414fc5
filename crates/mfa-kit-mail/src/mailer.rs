//! The SMTP server and the sender's details, shared by the notifier and the code sender.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use lettre::Message;
use lettre::address::Envelope;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::{Response, Severity};
use zeroize::Zeroizing;

use crate::error::MailError;
use crate::render::Rendered;

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsMode {
    /// No TLS at all: only for a server on loopback or in development (maildev,
    /// MailHog, a local postfix). Codes would cross the network in clear text.
    None,
    /// Plain TCP upgraded with STARTTLS, which is required: a server that does not
    /// offer it gets nothing (no credentials, no message), so a downgrade by an
    /// attacker on the path fails closed. Usually port 587.
    StartTls,
    /// TLS from the first byte ("implicit TLS", SMTPS). Usually port 465.
    Implicit,
}

/// A password that `Debug` does not print, wiped from memory when dropped.
#[derive(Clone)]
struct Password(zeroize::Zeroizing<String>);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// Where and how to reach the SMTP server.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SmtpConfig {
    /// The server's host name (checked against its certificate under TLS) or address.
    pub host: String,
    /// The port: 587 for STARTTLS, 465 for implicit TLS, 25 or 1025 for a local relay.
    pub port: u16,
    /// How the connection is protected.
    pub tls: TlsMode,
    /// How long the TCP connection may take to open. Default 10 s. (A TLS handshake,
    /// implicit or after STARTTLS, is bounded by `send_timeout` only: lettre times the
    /// TCP connect alone.)
    pub connect_timeout: Duration,
    /// How long handing over one message may take in all, from connecting to the
    /// server's answer after the body: a server that stops answering makes the send
    /// fail after this. Default 30 s. (The answer to `QUIT` that follows is waited
    /// for at most a second more and changes nothing: the answer to the body decides.)
    pub send_timeout: Duration,
    /// The name given in `EHLO`; by default the letterhead's domain.
    pub hello_name: Option<String>,
    username: Option<String>,
    password: Option<Password>,
    roots: Vec<Vec<u8>>,
}

impl SmtpConfig {
    /// The server at `host:port`, protected as `tls` says, without credentials, with
    /// the default timeouts.
    pub fn new(host: impl Into<String>, port: u16, tls: TlsMode) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port,
            tls,
            connect_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(30),
            hello_name: None,
            username: None,
            password: None,
            roots: Vec::new(),
        }
    }

    /// Signs in to the server (SMTP AUTH, PLAIN or LOGIN). Under [`TlsMode::None`]
    /// the password would cross in clear text: use TLS for anything but loopback.
    /// The configuration wipes its copy of the password when dropped; the copy a
    /// [`Mailer`] hands to lettre, kept while the mailer lives, is not wiped (lettre's
    /// `Credentials` does not offer it).
    #[must_use]
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> SmtpConfig {
        self.username = Some(username.into());
        self.password = Some(Password(zeroize::Zeroizing::new(password.into())));
        self
    }

    /// Both timeouts at once: connecting, and handing over one message in all.
    #[must_use]
    pub fn timeouts(mut self, connect: Duration, send: Duration) -> SmtpConfig {
        self.connect_timeout = connect;
        self.send_timeout = send;
        self
    }

    /// Trusts this root certificate (PEM) beside the built-in web roots, for a server
    /// whose certificate a private authority signed.
    #[must_use]
    pub fn root_certificate(mut self, pem: impl Into<Vec<u8>>) -> SmtpConfig {
        self.roots.push(pem.into());
        self
    }

    fn tls_parameters(&self) -> Result<TlsParameters, MailError> {
        let mut builder = TlsParameters::builder(self.host.clone());
        for pem in &self.roots {
            let not_pem = || MailError::Config("a root certificate is not a PEM certificate".into());
            if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                return Err(not_pem());
            }
            let certificate = Certificate::from_pem(pem).map_err(|_| not_pem())?;
            builder = builder.add_root_certificate(certificate);
        }
        builder.build_rustls().map_err(|error| MailError::Config(error.to_string()))
    }
}

/// What the messages say about who sends them.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Letterhead {
    /// The site or product the account is with, as users know it: "Smith & Co
    /// Accounting". Named in subjects and bodies.
    pub site: String,
    /// The `From` mailbox (and the envelope sender).
    pub from: Mailbox,
    /// An optional `Reply-To`, such as the support desk.
    pub reply_to: Option<Mailbox>,
    /// The domain of the `Message-ID`s: `<mfa-notice-42@smith.example>`.
    pub domain: String,
    /// What to do if it was not the user, in the site's words: whom to contact, how.
    /// Ends every notice.
    pub help: String,
    /// Where the user manages their sign-in methods, linked from the HTML body and
    /// given in the text.
    pub security_url: Option<String>,
}

impl Letterhead {
    /// The letterhead of `site`, sending from `from`, with `Message-ID`s in `domain`
    /// and a general help text.
    pub fn new(site: impl Into<String>, from: Mailbox, domain: impl Into<String>) -> Letterhead {
        Letterhead {
            site: site.into(),
            from,
            reply_to: None,
            domain: domain.into(),
            help: "If this was not you, change your password at once and contact support: someone \
                   may know your password."
                .into(),
            security_url: None,
        }
    }

    /// The same letterhead with another help text.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Letterhead {
        self.help = help.into();
        self
    }

    /// The same letterhead with a link to the user's security settings.
    #[must_use]
    pub fn security_url(mut self, url: impl Into<String>) -> Letterhead {
        self.security_url = Some(url.into());
        self
    }

    /// The same letterhead with a `Reply-To`.
    #[must_use]
    pub fn reply_to(mut self, mailbox: Mailbox) -> Letterhead {
        self.reply_to = Some(mailbox);
        self
    }
}

/// An SMTP transport and a letterhead; cheap to clone (the clones share both).
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    config: SmtpConfig,
    letterhead: Letterhead,
    /// The TLS settings, built once: `None` under [`TlsMode::None`].
    tls: Option<TlsParameters>,
    hello: ClientId,
    credentials: Option<Credentials>,
    /// The password as a server could quote it back: as it is, and base64-encoded as
    /// `AUTH PLAIN` and `AUTH LOGIN` send it. Kept out of every error's text.
    hidden: Vec<Zeroizing<String>>,
}

/// The longest wait for the server's answer to `QUIT` once it has answered the body:
/// the message is handed over (or refused) by then, whatever that answer, so a server
/// that never answers it costs a send this long and nothing else.
const QUIT_WAIT: Duration = Duration::from_secs(1);

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("config", &self.inner.config)
            .field("letterhead", &self.inner.letterhead)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer sending through `config`'s server as `letterhead` says. Connects only
    /// when a message is sent (one connection per message). Needs a Tokio runtime with
    /// its timer when sending.
    ///
    /// # Errors
    /// [`MailError::Config`] when TLS cannot be set up for the host (a root certificate
    /// that is not PEM, a host name that is not one).
    pub fn new(config: SmtpConfig, letterhead: Letterhead) -> Result<Mailer, MailError> {
        let tls = match config.tls {
            TlsMode::None => None,
            TlsMode::StartTls | TlsMode::Implicit => Some(config.tls_parameters()?),
        };
        let hello = ClientId::Domain(config.hello_name.clone().unwrap_or_else(|| letterhead.domain.clone()));
        let (credentials, hidden) = match (&config.username, &config.password) {
            // lettre's copy, kept while the mailer lives, is not wiped when dropped.
            (Some(username), Some(password)) => (
                Some(Credentials::new(username.clone(), password.0.to_string())),
                password_forms(username, &password.0),
            ),
            _ => (None, Vec::new()),
        };
        Ok(Mailer { inner: Arc::new(Inner { config, letterhead, tls, hello, credentials, hidden }) })
    }

    /// The letterhead.
    pub fn letterhead(&self) -> &Letterhead {
        &self.inner.letterhead
    }

    /// The server's configuration.
    pub fn config(&self) -> &SmtpConfig {
        &self.inner.config
    }

    /// Sends `rendered` to `to` with the `Message-ID` `message_id` (with its angle
    /// brackets), within the send timeout. `secret`, if any, is kept out of errors.
    pub(crate) async fn send(
        &self,
        to: &[Mailbox],
        message_id: String,
        rendered: Rendered,
        secret: Option<&str>,
    ) -> Result<(), MailError> {
        if to.is_empty() {
            return Err(MailError::NoRecipient);
        }
        let hidden: Vec<&str> =
            secret.into_iter().chain(self.inner.hidden.iter().map(|form| form.as_str())).collect();
        let letterhead = &self.inner.letterhead;
        let mut builder = Message::builder()
            .from(header_safe(&letterhead.from))
            .subject(rendered.subject)
            .message_id(Some(message_id))
            .date_now();
        if let Some(reply_to) = &letterhead.reply_to {
            builder = builder.reply_to(header_safe(reply_to));
        }
        for mailbox in to {
            builder = builder.to(header_safe(mailbox));
        }
        let body = MultiPart::alternative()
            .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(rendered.text))
            .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(rendered.html));
        let message = builder.multipart(body).map_err(|error| MailError::Build(error.to_string()))?;
        let (envelope, raw) = (message.envelope().clone(), message.formatted());
        let limit = self.inner.config.send_timeout;
        let (response, mut connection) =
            match tokio::time::timeout(limit, self.hand_over(&envelope, &raw)).await {
                Err(_elapsed) => return Err(MailError::Timeout(limit)),
                Ok(Err(error)) if error.is_timeout() => {
                    return Err(MailError::Timeout(self.inner.config.connect_timeout));
                }
                Ok(Err(error)) => return Err(MailError::from_smtp(&error, &hidden)),
                Ok(Ok(handed)) => handed,
            };
        // The server has answered the body: what it said decides. Its answer to `QUIT`
        // changes nothing, so it is waited for briefly, then the connection is closed.
        let _ = tokio::time::timeout(QUIT_WAIT, connection.quit()).await;
        drop(connection);
        // lettre takes any positive reply; only a 2xx after the body is acceptance.
        if response.code().severity == Severity::PositiveCompletion {
            Ok(())
        } else {
            Err(MailError::Refused {
                code: u16::from(response.code()),
                permanent: false,
                detail: crate::error::sanitise(response.first_line().unwrap_or_default(), &hidden),
            })
        }
    }

    /// One connection: connect (TLS from the first byte, or STARTTLS, which is then
    /// required), sign in if there are credentials, and hand over the message. The
    /// server's answer to the body, with the connection still open.
    async fn hand_over(
        &self,
        envelope: &Envelope,
        raw: &[u8],
    ) -> Result<(Response, AsyncSmtpConnection), lettre::transport::smtp::Error> {
        let inner = &self.inner;
        let config = &inner.config;
        let implicit = inner.tls.clone().filter(|_| config.tls == TlsMode::Implicit);
        let server = (config.host.as_str(), config.port);
        let mut connection = AsyncSmtpConnection::connect_tokio1(
            server,
            Some(config.connect_timeout),
            &inner.hello,
            implicit,
            None,
        )
        .await?;
        if let (TlsMode::StartTls, Some(tls)) = (config.tls, &inner.tls) {
            // Refused by a server that does not offer it: nothing more is sent.
            connection.starttls(tls.clone(), &inner.hello).await?;
        }
        if let Some(credentials) = &inner.credentials {
            connection.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        let response = connection.send(envelope, raw).await?;
        Ok((response, connection))
    }
}

/// The password as a server could quote it back: as it is, and base64-encoded as
/// `AUTH PLAIN` (`\0user\0password`) and `AUTH LOGIN` (the password alone) send it.
fn password_forms(username: &str, password: &str) -> Vec<Zeroizing<String>> {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    // Sized before it is written, so no copy of the password is left behind unwiped
    // (the encoder, too, writes into a buffer of the final size).
    let mut plain = Zeroizing::new(Vec::with_capacity(username.len() + password.len() + 2));
    for part in [b"\0", username.as_bytes(), b"\0", password.as_bytes()] {
        plain.extend_from_slice(part);
    }
    vec![
        Zeroizing::new(password.to_string()),
        Zeroizing::new(engine.encode(plain.as_slice())),
        Zeroizing::new(engine.encode(password.as_bytes())),
    ]
}

/// `mailbox` with its display name on one line: a name the host or a user wrote (a
/// profile's name with a line break) would otherwise make the message impossible to
/// write, which lettre answers with a panic, not an error.
fn header_safe(mailbox: &Mailbox) -> Mailbox {
    let name = mailbox.name.as_deref().map(crate::render::flattened);
    Mailbox::new(name, mailbox.email.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_never_printed() {
        let config =
            SmtpConfig::new("smtp.example", 587, TlsMode::StartTls).credentials("user", "hunter2-secret");
        let letterhead = Letterhead::new("Site", "a@b.example".parse().unwrap(), "b.example");
        let mailer = Mailer::new(config.clone(), letterhead).unwrap();
        for printed in [format!("{config:?}"), format!("{mailer:?}")] {
            assert!(!printed.contains("hunter2") && printed.contains("user"), "{printed}");
        }
    }

    #[test]
    fn a_root_certificate_that_is_not_pem_is_a_configuration_error() {
        let config = SmtpConfig::new("smtp.example", 465, TlsMode::Implicit).root_certificate("not pem");
        let letterhead = Letterhead::new("Site", "a@b.example".parse().unwrap(), "b.example");
        assert!(matches!(Mailer::new(config, letterhead), Err(MailError::Config(_))));
    }
}
