//! Plain-text and HTML bodies from the wording in [`crate::texts`].

use std::fmt::Write as _;

use mfa_kit::Destination;
use mfa_kit::flow::destination::CodeMessage;
use mfa_kit::relay::Notice;

use crate::mailer::Letterhead;
use crate::texts::{self, Wording};

/// A message's subject and its two bodies. The bodies of a code hold the code: do not
/// log them.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rendered {
    /// The subject line (never holds a code).
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, everything from the event escaped.
    pub html: String,
}

/// Shows the subject only: the bodies may hold a code.
impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered").field("subject", &self.subject).finish_non_exhaustive()
    }
}

// Times in mfa-kit's own wording (`2025-07-01 09:15 UTC`), so a message and the audit
// page say the same.
pub(crate) use mfa_kit::utc::utc_minute;

/// `text` with `& < > " '` escaped, for HTML text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` with every control character and the Unicode line and paragraph separators
/// (U+2028, U+2029) as spaces: what the host or a user wrote cannot start a line of
/// its own in a message, nor a header.
pub(crate) fn flattened(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') { ' ' } else { c })
        .collect()
}

/// One line of at most 120 characters, from something the host or user wrote.
pub(crate) fn one_line(text: &str) -> String {
    let line = flattened(text);
    if line.chars().count() > 120 { line.chars().take(120).collect::<String>() + "…" } else { line }
}

/// Assembles both bodies: `lead` (what happened), an optional code shown large, the
/// facts as label–value rows, the advice, the letterhead's help and link, a footer.
struct Body<'a> {
    letterhead: &'a Letterhead,
    wording: Wording,
    /// The notice's "this wasn't me" link, if the host gives one.
    disown: Option<&'a str>,
    code: Option<&'a str>,
    facts: Vec<(&'static str, String)>,
    footer: String,
}

impl Body<'_> {
    fn render(self) -> Rendered {
        let Body { letterhead, wording, disown, code, facts, footer } = self;
        let mut text = String::new();
        let _ = writeln!(text, "{}\n", wording.what);
        if let Some(code) = code {
            let _ = writeln!(text, "    {code}\n");
        }
        for (label, value) in &facts {
            let _ = writeln!(text, "{:<8}{value}", format!("{label}:"));
        }
        if !facts.is_empty() {
            text.push('\n');
        }
        let _ = writeln!(text, "{}", wording.advice);
        if let Some(link) = disown {
            let _ = writeln!(
                text,
                "\nThis wasn't me: {link}\n(it freezes changes to your sign-in and undoes this one where it can)\n"
            );
        }
        let _ = writeln!(text, "{}", letterhead.help);
        if let Some(url) = &letterhead.security_url {
            let _ = writeln!(text, "\nYour security settings: {url}");
        }
        let _ = write!(text, "\n-- \n{footer}\n");

        let mut html = String::new();
        let _ = write!(
            html,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n\
             <body style=\"font-family: sans-serif; line-height: 1.4\">\n<p>{}</p>\n",
            escape(&wording.subject),
            escape(&wording.what)
        );
        if let Some(code) = code {
            let _ = writeln!(
                html,
                "<p style=\"font-size: 2em; font-family: monospace; letter-spacing: 0.2em\"><strong>{}</strong></p>",
                escape(code)
            );
        }
        if !facts.is_empty() {
            html.push_str("<table>\n");
            for (label, value) in &facts {
                let _ = writeln!(
                    html,
                    "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
                    escape(label),
                    escape(value)
                );
            }
            html.push_str("</table>\n");
        }
        let _ = writeln!(
            html,
            "<p><strong>{}</strong></p>\n<p>{}</p>",
            escape(&wording.advice),
            escape(&letterhead.help)
        );
        if let Some(link) = disown {
            let _ = writeln!(
                html,
                "<p><a href=\"{}\">This wasn't me</a>: it freezes changes to your sign-in and undoes this one where it can.</p>",
                escape(link)
            );
        }
        if let Some(url) = &letterhead.security_url {
            let _ = writeln!(html, "<p><a href=\"{0}\">Your security settings</a></p>", escape(url));
        }
        let _ = write!(
            html,
            "<hr>\n<p style=\"color: #666; font-size: 0.9em\">{}</p>\n</body>\n</html>\n",
            escape(&footer)
        );
        Rendered { subject: wording.subject, text, html }
    }
}

/// The message for `notice`: what happened, when (UTC), from which address and
/// device, by whom if not the user, and what to do if it was not them. Everything
/// from the event is escaped in the HTML body; destinations appear only masked, as
/// the event holds them.
pub fn render_notice(notice: &Notice, letterhead: &Letterhead) -> Rendered {
    render_notice_with_link(notice, letterhead, None)
}

/// As [`render_notice`], with the notice's "this wasn't me" link (`disown`, the host's
/// page with [`mfa_kit::relay::Notice::disown_token`] in it) in both bodies.
pub fn render_notice_with_link(notice: &Notice, letterhead: &Letterhead, disown: Option<&str>) -> Rendered {
    let wording = texts::notice(notice, &letterhead.site);
    let mut facts = vec![
        ("When", utc_minute(notice.at)),
        ("From", notice.context.address.map_or_else(|| "not recorded".into(), |address| address.to_string())),
        ("Device", notice.context.device.as_deref().map_or_else(|| "not recorded".into(), one_line)),
    ];
    if notice.actor != notice.user {
        facts.push(("By", "an administrator, not you".into()));
    }
    let footer = format!(
        "{}: a security notice, sent to the e-mail addresses on your account. Reference: notice {}.",
        letterhead.site, notice.id
    );
    Body { letterhead, wording, disown, code: None, facts, footer }.render()
}

/// The message carrying an e-mailed code: the code, what it is for, until when it
/// works, and what to do if the user did not ask for it.
pub fn render_code(to: &Destination, message: &CodeMessage, letterhead: &Letterhead) -> Rendered {
    let expires = utc_minute(message.expires_at());
    let wording = texts::code(message.purpose(), &letterhead.site, &to.masked(), &expires);
    let footer =
        format!("{}: sent because a code was asked for at sign-in or in your settings.", letterhead.site);
    Body { letterhead, wording, disown: None, code: Some(message.code()), facts: Vec::new(), footer }.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_minutes() {
        assert_eq!(utc_minute(1_751_361_300), "2025-07-01 09:15 UTC");
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(951_782_400), "2000-02-29 00:00 UTC");
        let _ = utc_minute(u64::MAX); // no panic
    }

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
    }
}
