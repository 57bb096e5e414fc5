//! Why a session ended: the words shared by the session rules
//! ([`crate::flow::session`]), refusals and the web layer.

use serde::{Deserialize, Serialize};

/// Why a session of the user may no longer act for them and must sign in again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SessionEnd {
    /// How the account is protected changed after the session began (an admin reset,
    /// a factor added, replaced or removed, MFA turned off, the password changed), and
    /// the session did not make the change.
    AccountChanged,
    /// The session reached its absolute lifetime: reauthentication is due.
    LifetimeReached,
    /// The session was inactive for longer than the inactivity limit.
    Inactive,
    /// The clock reads a time before the session began (beyond the allowed skew): the
    /// session's age cannot be judged, so it is not trusted.
    ClockBehind,
    /// The session was signed out ([`crate::flow::session::sign_out`]): a copy of it
    /// saved again afterwards (a request still running at that moment) does not sign
    /// anyone in.
    SignedOut,
}

impl SessionEnd {
    /// A stable identifier, for logs and query strings: `account_changed`,
    /// `lifetime_reached`, `inactive`, `clock_behind`, `signed_out`.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionEnd::AccountChanged => "account_changed",
            SessionEnd::LifetimeReached => "lifetime_reached",
            SessionEnd::Inactive => "inactive",
            SessionEnd::ClockBehind => "clock_behind",
            SessionEnd::SignedOut => "signed_out",
        }
    }

    /// A sentence for the user on the sign-in page.
    pub fn sentence(self) -> &'static str {
        match self {
            SessionEnd::AccountChanged => {
                "Your account's sign-in settings changed, so you were signed out. Sign in again."
            }
            SessionEnd::LifetimeReached => {
                "For your security, sign in again: your session reached its time limit."
            }
            SessionEnd::Inactive => "You were signed out after a period of inactivity. Sign in again.",
            SessionEnd::ClockBehind => "Your session could not be checked. Sign in again.",
            SessionEnd::SignedOut => "You signed out. Sign in again.",
        }
    }
}

impl core::fmt::Display for SessionEnd {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}
