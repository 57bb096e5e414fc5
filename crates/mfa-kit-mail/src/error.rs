//! What can go wrong sending mail. No variant holds a code, a password or a message
//! body: the texts are stored with failing notices and shown to operators.

use std::time::Duration;

use thiserror::Error;

/// Why a message was not handed over to the SMTP server.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MailError {
    /// The configuration cannot work (a bad host name for TLS, an unreadable root
    /// certificate, an address that is not one).
    #[error("the mail configuration is not usable: {0}")]
    Config(String),
    /// The server answered with an error: `permanent` for a 5xx reply (the same
    /// message will be refused again), transient for 4xx.
    #[error("the mail server refused the message ({}{code}): {detail}", if *.permanent { "permanent, " } else { "transient, " })]
    Refused {
        /// The SMTP reply code, such as 554.
        code: u16,
        /// Whether it was a 5xx reply.
        permanent: bool,
        /// The server's words, shortened, with anything that could be the code removed.
        detail: String,
    },
    /// The server could not be reached, the connection broke, TLS could not be set up
    /// (including a server that does not offer the STARTTLS that [`TlsMode::StartTls`]
    /// requires), or the server's reply could not be read.
    ///
    /// [`TlsMode::StartTls`]: crate::TlsMode::StartTls
    #[error("the mail server could not be used: {0}")]
    Connection(String),
    /// The server did not finish taking the message within the configured time.
    #[error("the mail server did not take the message within {0:?}")]
    Timeout(Duration),
    /// A code was to be sent to a destination that is not an e-mail address (an SMS
    /// destination given to the e-mail sender).
    #[error("the destination is not an e-mail address; this sender only sends e-mail")]
    NotEmail,
    /// An address could not be used as a mailbox.
    #[error("not a usable e-mail address")]
    BadAddress,
    /// The host's [`Recipients`](crate::Recipients) gave no address for the user.
    #[error("no e-mail address is known for the user")]
    NoRecipient,
    /// The host's [`Recipients`](crate::Recipients) failed.
    #[error("looking up the user's e-mail addresses failed: {0}")]
    Lookup(String),
    /// The message could not be put together.
    #[error("the message could not be built: {0}")]
    Build(String),
}

impl MailError {
    /// Whether sending the same message again later may succeed (a timeout, a broken
    /// connection, a 4xx reply); `false` for a permanent refusal or a configuration
    /// that cannot work.
    pub fn is_transient(&self) -> bool {
        match self {
            MailError::Refused { permanent, .. } => !permanent,
            MailError::Connection(_) | MailError::Timeout(_) | MailError::Lookup(_) => true,
            _ => false,
        }
    }

    /// From lettre's SMTP error; `secrets` (the code being sent, the forms of the
    /// password) are removed from any text the server sent back.
    pub(crate) fn from_smtp(error: &lettre::transport::smtp::Error, secrets: &[&str]) -> MailError {
        if let Some(code) = error.status() {
            // lettre's own text repeats the code; the server's words are its source.
            let words = std::error::Error::source(error).map(chain).unwrap_or_default();
            let detail = sanitise(words.trim(), secrets);
            MailError::Refused { code: u16::from(code), permanent: error.is_permanent(), detail }
        } else {
            MailError::Connection(sanitise(&chain(error), secrets))
        }
    }
}

/// The error and its sources, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = inner.source();
    }
    text
}

/// One line of at most 300 characters, without control characters, with each of
/// `secrets`, what follows `AUTH` and its mechanism (a server that quotes the sign-in
/// back), and every web address replaced by `[redacted]`: a server (or its spam
/// filter) that quotes the message back may quote a notice's "this wasn't me" link,
/// whose token must not reach the operators' error texts, nor may the password.
pub(crate) fn sanitise(text: &str, secrets: &[&str]) -> String {
    let mut text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, "[redacted]");
    }
    text = without_auth_responses(&text);
    text = without_web_addresses(&text);
    if text.chars().count() > 300 {
        text = text.chars().take(300).collect::<String>() + "…";
    }
    text
}

/// `text` with the word after each `AUTH` and its mechanism (`AUTH PLAIN <token>`)
/// replaced by `[redacted]`: the token a server quotes back holds the password.
fn without_auth_responses(text: &str) -> String {
    let mut words: Vec<&str> = text.split(' ').collect();
    for at in 0..words.len() {
        if words[at].eq_ignore_ascii_case("auth") {
            // The mechanism, then the first non-empty word after it.
            let after = words.iter().skip(at + 1).position(|w| !w.is_empty()).map(|p| at + 1 + p);
            let token =
                after.and_then(|m| words.iter().skip(m + 1).position(|w| !w.is_empty()).map(|p| m + 1 + p));
            if let Some(token) = token {
                words[token] = "[redacted]";
            }
        }
    }
    words.join(" ")
}

/// `text` with each `http://` or `https://` address (to the next space, quote or
/// angle bracket) replaced by `[redacted]`.
fn without_web_addresses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let found =
            ["https://", "http://"].iter().filter_map(|scheme| rest.to_ascii_lowercase().find(scheme)).min();
        let Some(start) = found else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..start]);
        out.push_str("[redacted]");
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_addresses_are_redacted_from_server_text() {
        let text = sanitise(
            "554 5.7.1 URL <https://app.example/wasnt-me?token=1.2.r.SECRET> is on a block list, see HTTP://rbl.example/x",
            &[],
        );
        assert_eq!(text, "554 5.7.1 URL <[redacted]> is on a block list, see [redacted]");
        assert!(!text.contains("SECRET"));
        assert_eq!(sanitise("no address here", &[]), "no address here");
    }

    #[test]
    fn server_text_is_one_short_line_without_the_code() {
        let text = sanitise("554 5.7.1 rejected: 123456\r\nbody 123456", &["123456"]);
        assert_eq!(text, "554 5.7.1 rejected: [redacted]  body [redacted]");
        assert!(sanitise(&"x".repeat(1000), &[]).chars().count() <= 301);
    }

    #[test]
    fn a_quoted_sign_in_exchange_is_redacted() {
        let text = sanitise("535 5.7.8 Authentication failed: AUTH PLAIN AG1mYS1raXQAaHVudGVy", &[]);
        assert_eq!(text, "535 5.7.8 Authentication failed: AUTH PLAIN [redacted]");
        assert_eq!(sanitise("auth login  c2VjcmV0 more", &[]), "auth login  [redacted] more");
        assert_eq!(sanitise("530 5.7.0 AUTH required", &[]), "530 5.7.0 AUTH required");
        assert_eq!(sanitise("password hunter2 was wrong", &["hunter2"]), "password [redacted] was wrong");
    }

    #[test]
    fn refusals_say_whether_trying_again_may_help() {
        let refused = MailError::Refused { code: 554, permanent: true, detail: "no".into() };
        assert_eq!(refused.to_string(), "the mail server refused the message (permanent, 554): no");
        assert!(!refused.is_transient());
        assert!(MailError::Timeout(Duration::from_secs(1)).is_transient());
    }
}
