//! Security notices by e-mail: the relay's [`Notifier`] over SMTP.

use std::future::Future;

use lettre::message::Mailbox;
use mfa_kit::record::UserRecord;
use mfa_kit::relay::{Notice, Notifier};
use mfa_kit::{Destination, UserId};

use crate::error::MailError;
use crate::mailer::Mailer;
use crate::render::render_notice_with_link;

/// The e-mail addresses a user's notices go to; implemented by the host.
///
/// Recommended: the host's own account e-mail for the user, plus the confirmed e-mail
/// destinations of the user's record ([`account_and_record`]), so a notice reaches
/// the user in more than one way (NIST SP 800-63B-4 §4.6) and an attacker who changed
/// one of them is still seen by the other. Return `Err` if the lookup failed (the
/// notice is retried), an empty list if the user has no address (see [`NoAddress`]).
pub trait Recipients: Send + Sync {
    /// The lookup's error; its text is kept with a failing notice, so it must hold no
    /// secret.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The addresses of `user`.
    fn addresses(&self, user: &UserId) -> impl Future<Output = Result<Vec<Mailbox>, Self::Error>> + Send;
}

impl<T: Recipients + ?Sized> Recipients for std::sync::Arc<T> {
    type Error = T::Error;

    fn addresses(&self, user: &UserId) -> impl Future<Output = Result<Vec<Mailbox>, Self::Error>> + Send {
        (**self).addresses(user)
    }
}

/// [`Recipients`] from a closure: see [`recipients_fn`].
#[derive(Clone, Copy, Debug)]
pub struct FnRecipients<F>(F);

/// [`Recipients`] from a closure that takes the user and returns a future of the
/// addresses; the future cannot borrow the user, so clone it:
///
/// ```
/// use mfa_kit::UserId;
/// use mfa_kit_mail::{Mailbox, recipients_fn};
///
/// let recipients = recipients_fn(|user: &UserId| {
///     let user = user.clone();
///     async move {
///         let account: Mailbox = format!("{user}@smith.example").parse().map_err(std::io::Error::other)?;
///         Ok::<_, std::io::Error>(vec![account])
///     }
/// });
/// # let _ = recipients;
/// ```
pub fn recipients_fn<F, Fut, E>(lookup: F) -> FnRecipients<F>
where
    F: Fn(&UserId) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Vec<Mailbox>, E>> + Send,
    E: std::error::Error + Send + Sync + 'static,
{
    FnRecipients(lookup)
}

impl<F, Fut, E> Recipients for FnRecipients<F>
where
    F: Fn(&UserId) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Vec<Mailbox>, E>> + Send,
    E: std::error::Error + Send + Sync + 'static,
{
    type Error = E;

    fn addresses(&self, user: &UserId) -> impl Future<Output = Result<Vec<Mailbox>, E>> + Send {
        (self.0)(user)
    }
}

/// The confirmed e-mail destinations of `record` (primary first), as mailboxes. An
/// unconfirmed destination is left out: whoever added it has not shown they hold it.
pub fn record_addresses(record: &UserRecord) -> Vec<Mailbox> {
    let mut confirmed: Vec<_> =
        record.destination_state().destinations().iter().filter(|d| d.confirmed_at().is_some()).collect();
    confirmed.sort_by_key(|d| d.role() != mfa_kit::Role::Primary);
    confirmed
        .into_iter()
        .filter_map(|d| match d.destination() {
            Destination::Email(address) => address.parse().ok().map(|address| Mailbox::new(None, address)),
            Destination::Sms(_) => None,
        })
        .collect()
}

/// The recommended recipients: the host's account e-mail for the user (if any), then
/// the record's confirmed e-mail destinations ([`record_addresses`]), each address once
/// (compared without regard to case).
pub fn account_and_record(account: Option<Mailbox>, record: Option<&UserRecord>) -> Vec<Mailbox> {
    let mut all: Vec<Mailbox> = Vec::new();
    for mailbox in account.into_iter().chain(record.map(record_addresses).unwrap_or_default()) {
        let text = |m: &Mailbox| -> String { m.email.to_string() };
        let same = |m: &Mailbox| text(m).eq_ignore_ascii_case(&text(&mailbox));
        if !all.iter().any(same) {
            all.push(mailbox);
        }
    }
    all
}

/// The `Message-ID` of the notice with event id `id`, in `domain`:
/// `<mfa-notice-42@smith.example>`. Every delivery of one notice has the same one, so a
/// notice sent twice (the relay delivers at least once) is recognisably one message,
/// and mail software that drops repeated ids drops it.
pub fn notice_message_id(id: i64, domain: &str) -> String {
    format!("<mfa-notice-{id}@{domain}>")
}

/// What to do with a notice for a user whom [`Recipients`] gives no address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoAddress {
    /// Fail it ([`MailError::NoRecipient`]): the relay keeps it, retries it with
    /// backoff and lists it among the failing notices, so an operator sees it.
    #[default]
    Retry,
    /// Count it delivered: for hosts where users may have no e-mail at all and notices
    /// also go out another way.
    Skip,
}

/// Sends each security notice by e-mail to the addresses [`Recipients`] gives, through
/// a [`Mailer`]: one message to all of them, with plain-text and HTML bodies
/// ([`render_notice`](crate::render_notice)) and the `Message-ID` [`notice_message_id`].
///
/// `Ok` only once the SMTP server accepted the message; a refusal, a failed connection
/// or a server slower than the send timeout is an `Err`, and the relay tries again with
/// backoff (the error's text, kept with the notice, never holds a secret). A permanent
/// refusal of a message to several addresses (the server refusing one of them: a
/// mailbox closed, a domain gone) is followed by one message to each address alone, so
/// one dead address does not keep the notice from the others for ever: `Ok` once at
/// least one address took it and every other was refused for good; otherwise the
/// first error (a transient one, if any, so the relay tries again).
#[derive(Clone)]
pub struct MailNotifier<R> {
    mailer: Mailer,
    recipients: R,
    no_address: NoAddress,
    /// Makes each notice's "this wasn't me" link, if the host gives a way to.
    disown_link: Option<DisownLink>,
}

/// Makes the "this wasn't me" link of a notice: the host's page, with the notice's
/// token ([`mfa_kit::relay::Notice::disown_token`]) and whatever names the user there.
type DisownLink = std::sync::Arc<dyn Fn(&Notice) -> Option<String> + Send + Sync>;

impl<R: std::fmt::Debug> std::fmt::Debug for MailNotifier<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailNotifier")
            .field("mailer", &self.mailer)
            .field("recipients", &self.recipients)
            .field("no_address", &self.no_address)
            .field("disown_link", &self.disown_link.is_some())
            .finish()
    }
}

impl<R: Recipients> MailNotifier<R> {
    /// A notifier sending through `mailer` to the addresses `recipients` gives.
    pub fn new(mailer: Mailer, recipients: R) -> MailNotifier<R> {
        MailNotifier { mailer, recipients, no_address: NoAddress::default(), disown_link: None }
    }

    /// The same notifier treating users without an address as `no_address` says.
    #[must_use]
    pub fn when_no_address(mut self, no_address: NoAddress) -> MailNotifier<R> {
        self.no_address = no_address;
        self
    }

    /// The same notifier putting a "this wasn't me" link in every notice, made by
    /// `link` (for example `https://app.example/wasnt-me?user={id}&token={token}`
    /// with the token from [`mfa_kit::relay::Notice::disown_token`] under the service's
    /// hash key); a notice for which it gives `None` goes without.
    #[must_use]
    pub fn with_disown_link(
        mut self,
        link: impl Fn(&Notice) -> Option<String> + Send + Sync + 'static,
    ) -> MailNotifier<R> {
        self.disown_link = Some(std::sync::Arc::new(link));
        self
    }

    /// The mailer.
    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }
}

impl<R: Recipients> Notifier for MailNotifier<R> {
    type Error = MailError;

    async fn notify(&self, notice: &Notice) -> Result<(), MailError> {
        let to = self
            .recipients
            .addresses(&notice.user)
            .await
            .map_err(|error| MailError::Lookup(crate::error::sanitise(&error.to_string(), &[])))?;
        if to.is_empty() {
            return match self.no_address {
                NoAddress::Retry => Err(MailError::NoRecipient),
                NoAddress::Skip => Ok(()),
            };
        }
        let letterhead = self.mailer.letterhead();
        let link = self.disown_link.as_ref().and_then(|make| make(notice));
        let rendered = render_notice_with_link(notice, letterhead, link.as_deref());
        // A server that quotes the message back must not put the link's token into the
        // error text the relay stores (web addresses are redacted too, however quoted).
        let message_id = notice_message_id(notice.id, &letterhead.domain);
        let together = self.mailer.send(&to, message_id.clone(), rendered.clone(), link.as_deref()).await;
        match together {
            Err(MailError::Refused { permanent: true, .. }) if to.len() > 1 => {
                self.send_each_alone(&to, &message_id, &rendered, link.as_deref()).await
            }
            other => other,
        }
    }
}

impl<R: Recipients> MailNotifier<R> {
    /// The notice to each address alone, after the server refused the message to all
    /// of them for good: `Ok` if one address took it and each other was refused for
    /// good; otherwise a transient error if there was one (worth trying again), else
    /// the first.
    async fn send_each_alone(
        &self,
        to: &[Mailbox],
        message_id: &str,
        rendered: &crate::Rendered,
        link: Option<&str>,
    ) -> Result<(), MailError> {
        let (mut delivered, mut transient, mut first) = (false, None, None);
        for mailbox in to {
            let sent = self
                .mailer
                .send(std::slice::from_ref(mailbox), message_id.to_owned(), rendered.clone(), link)
                .await;
            match sent {
                Ok(()) => delivered = true,
                Err(error) if error.is_transient() => transient = transient.or(Some(error)),
                Err(error) => first = first.or(Some(error)),
            }
        }
        match (transient, first) {
            (Some(error), _) => Err(error),
            (None, _) if delivered => Ok(()),
            (None, Some(error)) => Err(error),
            (None, None) => Err(MailError::NoRecipient),
        }
    }
}
