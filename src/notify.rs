//! Sending codes by SMS or e-mail: the port the host implements over its provider.

use std::future::Future;

use crate::flow::destination::CodeMessage;
use crate::vocabulary::Destination;

/// Delivers codes by SMS or e-mail; implemented by the host over its provider.
///
/// # Contract
/// `Ok` means the provider accepted the message. An `Err` makes the service take the
/// send back: the code does not become valid and the send is not counted.
///
/// ```
/// use std::sync::Mutex;
/// use mfa_kit::Destination;
/// use mfa_kit::flow::destination::CodeMessage;
/// use mfa_kit::notify::CodeSender;
///
/// /// Writes messages to the host's outbox table; a worker hands them to the provider.
/// #[derive(Default)]
/// struct Outbox(Mutex<Vec<(String, String)>>);
///
/// impl CodeSender for Outbox {
///     type Error = std::convert::Infallible;
///
///     async fn send(&self, to: &Destination, message: &CodeMessage) -> Result<(), Self::Error> {
///         let text = format!("Your sign-in code is {}. It expires in 10 minutes.", message.code());
///         self.0.lock().unwrap().push((to.address().to_string(), text));
///         Ok(())
///     }
/// }
/// ```
pub trait CodeSender: Send + Sync {
    /// The provider's error, reported inside `service::Error::Sender`.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Sends `message` to `to`.
    fn send(
        &self,
        to: &Destination,
        message: &CodeMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

impl<T: CodeSender + ?Sized> CodeSender for std::sync::Arc<T> {
    type Error = T::Error;

    fn send(
        &self,
        to: &Destination,
        message: &CodeMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        (**self).send(to, message)
    }
}
