//! E-mailed codes: the [`CodeSender`] over SMTP.

use lettre::message::Mailbox;
use mfa_kit::Destination;
use mfa_kit::flow::destination::CodeMessage;
use mfa_kit::notify::CodeSender;

use crate::error::MailError;
use crate::mailer::Mailer;
use crate::render::render_code;

/// Sends sign-in codes and destination confirmations by e-mail, through a [`Mailer`].
///
/// `Ok` means the SMTP server accepted the message (replied 250 to its body). Any
/// failure (refused, unreachable, too slow: [`SmtpConfig::send_timeout`]) is an `Err`,
/// and the service takes the code back ([`mfa_kit::service::Error::Sender`]). An SMS
/// destination is refused with [`MailError::NotEmail`]. Errors never hold the code.
///
/// Each message has a fresh random `Message-ID`: a resent code is a new code.
///
/// [`SmtpConfig::send_timeout`]: crate::SmtpConfig::send_timeout
#[derive(Clone, Debug)]
pub struct MailCodeSender {
    mailer: Mailer,
}

impl MailCodeSender {
    /// A sender through `mailer`.
    pub fn new(mailer: Mailer) -> MailCodeSender {
        MailCodeSender { mailer }
    }

    /// The mailer.
    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }
}

/// A random `Message-ID` in `domain`.
fn random_message_id(domain: &str) -> Result<String, MailError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| MailError::Build("the random source failed".into()))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("<mfa-code-{hex}@{domain}>"))
}

impl CodeSender for MailCodeSender {
    type Error = MailError;

    async fn send(&self, to: &Destination, message: &CodeMessage) -> Result<(), MailError> {
        let Destination::Email(address) = to else { return Err(MailError::NotEmail) };
        let address = address.parse().map_err(|_| MailError::BadAddress)?;
        let rendered = render_code(to, message, self.mailer.letterhead());
        let id = random_message_id(&self.mailer.letterhead().domain)?;
        self.mailer.send(&[Mailbox::new(None, address)], id, rendered, Some(message.code())).await
    }
}
