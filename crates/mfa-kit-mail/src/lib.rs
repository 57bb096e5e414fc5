//! E-mail for [mfa-kit](mfa_kit) through a real SMTP server, on [lettre]:
//!
//! - [`MailNotifier`], a [`Notifier`](mfa_kit::relay::Notifier) for the notice relay:
//!   each security notice becomes one message with a plain-text and an HTML body
//!   (`multipart/alternative`), saying what happened, when (UTC), from which address
//!   and device, and what to do if it was not the user. Its `Message-ID` follows from
//!   the notice's event id ([`notice_message_id`]), so a notice delivered twice (the
//!   relay delivers at least once) is recognisably the same message.
//! - [`MailCodeSender`], a [`CodeSender`](mfa_kit::notify::CodeSender) for sign-in codes
//!   and destination confirmations sent by e-mail. A server that refuses, fails or does
//!   not answer within the configured time makes it return `Err`, so the service fails
//!   closed ([`mfa_kit::service::Error::Sender`]: the code is taken back).
//!
//! Both share one [`Mailer`]: the SMTP server ([`SmtpConfig`]: host, port, [`TlsMode`],
//! credentials, timeouts) and what the messages say about the sender ([`Letterhead`]:
//! the site's name, the `From` mailbox, the `Message-ID` domain, where to get help).
//!
//! # Who a notice goes to
//!
//! A notice is about a user; the host decides the addresses, through [`Recipients`].
//! NIST SP 800-63B-4 asks that a subscriber can be reached in more than one way, so the
//! recommended list is the host's own account e-mail for the user **and** the
//! confirmed e-mail destinations of the user's record ([`record_addresses`],
//! [`account_and_record`]). A record's phone destinations cannot take e-mail: a host
//! that wants notices by SMS as well runs a second relay (another relay name) with an
//! SMS notifier. An unconfirmed destination is never used: whoever added it has not
//! shown they hold it.
//!
//! ```no_run
//! use std::sync::Arc;
//! use mfa_kit::clock::SystemClock;
//! use mfa_kit::relay::NoticeRelay;
//! use mfa_kit::store::MemoryStore;
//! use mfa_kit_mail::{Letterhead, Mailbox, MailNotifier, Mailer, SmtpConfig, TlsMode, recipients_fn};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let smtp = SmtpConfig::new("smtp.smith.example", 587, TlsMode::StartTls)
//!     .credentials("mfa-kit", "the password from the vault");
//! let from: Mailbox = "Smith & Co Security <security@smith.example>".parse()?;
//! let letterhead = Letterhead::new("Smith & Co Accounting", from, "smith.example")
//!     .help("If this was not you, call us on 1300 000 000 or reply to this message.");
//! let mailer = Mailer::new(smtp, letterhead)?;
//! let notifier = MailNotifier::new(
//!     mailer.clone(),
//!     recipients_fn(|user: &mfa_kit::UserId| {
//!         let user = user.clone();
//!         async move {
//!             // Look the user up in the host's accounts and load the record.
//!             let account: Mailbox = format!("{user}@smith.example").parse().map_err(std::io::Error::other)?;
//!             Ok::<_, std::io::Error>(vec![account])
//!         }
//!     }),
//! );
//! let store = Arc::new(MemoryStore::new());
//! let relay = NoticeRelay::new("email", store, notifier, SystemClock);
//! relay.run_once().await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod error;
mod mailer;
mod notifier;
mod render;
mod sender;
mod texts;

pub use error::MailError;
pub use lettre::Address;
pub use lettre::message::Mailbox;
pub use mailer::{Letterhead, Mailer, SmtpConfig, TlsMode};
pub use notifier::{
    FnRecipients, MailNotifier, NoAddress, Recipients, account_and_record, notice_message_id, recipients_fn,
    record_addresses,
};
pub use render::{Rendered, render_code, render_notice, render_notice_with_link};
pub use sender::MailCodeSender;
