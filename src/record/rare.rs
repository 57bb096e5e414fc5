//! The parts of a record few users have, kept behind one pointer.

use std::ops::Deref;

use serde::{Deserialize, Serialize};

use super::{Ceremony, Frozen, SecurityKey, UserHandle};

/// A session of the user that was signed out, remembered until it could not have
/// lasted anyway, so that a copy of it saved again afterwards signs nobody in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EndedSession {
    /// The session's tag ([`crate::policy::SessionFacts::tag`]).
    pub(crate) tag: u64,
    /// When it would have ended at the latest: forgotten from then on.
    pub(crate) until: u64,
}

/// What most users' records never hold: security keys with their handle and the
/// ceremony in progress, a freeze and the "this wasn't me" links redeemed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RareParts {
    /// The user's security keys and passkeys, oldest first.
    pub(crate) security_keys: Vec<SecurityKey>,
    /// The handle the user's authenticators know them by; made at the first
    /// registration of a security key.
    pub(crate) user_handle: Option<UserHandle>,
    /// The WebAuthn ceremony in progress.
    pub(crate) ceremony: Option<Box<Ceremony>>,
    /// Set while the account's MFA changes are frozen ("this wasn't me").
    pub(crate) frozen: Option<Frozen>,
    /// The events whose "this wasn't me" links were redeemed (the latest
    /// [`crate::flow::disown::REMEMBERED_LINKS`]).
    pub(crate) disowned: Vec<i64>,
    /// The sessions signed out that could still be alive (the latest
    /// [`crate::flow::session::REMEMBERED_SIGN_OUTS`]).
    pub(crate) ended_sessions: Vec<EndedSession>,
}

/// What a record without any of the rare parts reads.
static NONE: RareParts = RareParts {
    security_keys: Vec::new(),
    user_handle: None,
    ceremony: None,
    frozen: None,
    disowned: Vec::new(),
    ended_sessions: Vec::new(),
};

/// [`RareParts`] behind one pointer, made when first written, so an ordinary user's
/// record is smaller to keep (a million users in memory) and to copy (every call moves
/// it). Reads see empty parts when none were written ([`Deref`]); changes go through
/// [`Rare::edit`]. Equal by content: no parts and empty parts are the same.
#[derive(Clone, Default)]
pub(crate) struct Rare(Option<Box<RareParts>>);

impl Rare {
    /// The parts, made empty if there were none, to change.
    pub(crate) fn edit(&mut self) -> &mut RareParts {
        self.0.get_or_insert_with(Box::default)
    }

    /// Lets go of the parts if they are all empty.
    pub(crate) fn tidy(&mut self) {
        if self.0.as_deref().is_some_and(|parts| *parts == NONE) {
            self.0 = None;
        }
    }

    /// Holds `parts`, or nothing if they are all empty.
    pub(crate) fn of(parts: RareParts) -> Rare {
        if parts == NONE { Rare(None) } else { Rare(Some(Box::new(parts))) }
    }
}

impl Deref for Rare {
    type Target = RareParts;

    fn deref(&self) -> &RareParts {
        self.0.as_deref().unwrap_or(&NONE)
    }
}

impl PartialEq for Rare {
    fn eq(&self, other: &Rare) -> bool {
        **self == **other
    }
}

impl Eq for Rare {}

impl std::fmt::Debug for Rare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_parts_read_as_empty_parts_and_equal_them() {
        let mut written = Rare::default();
        assert!(written.security_keys.is_empty() && written.frozen.is_none());
        written.edit().disowned.push(7);
        assert_ne!(written, Rare::default());
        written.edit().disowned.clear();
        assert_eq!(written, Rare::default(), "empty parts equal none");
        assert!(written.0.is_some());
        written.tidy();
        assert!(written.0.is_none(), "tidied away");
        assert!(Rare::of(RareParts::default()).0.is_none(), "empty parts are not kept");
    }
}
