//! Sessions bound to the account: when a host's session of a user has ended.
//!
//! A host keeps, in each session, what [`SessionFacts`] holds: the account's
//! generation when the session began ([`UserRecord::generation`]), when the password
//! was checked, when the session was last active and when it last proved a second
//! factor. At every request it asks [`judge`] (the service's
//! [`crate::service::MfaService::check_session`] does, and `mfa-kit-axum`'s guard calls
//! that), and signs the session out when it has ended:
//!
//! - **The account changed.** The generation moves on every change of how the account
//!   is protected: an admin reset, an authenticator, destination or set of recovery
//!   codes added, replaced or removed, MFA turned off, the host's
//!   [`crate::service::MfaService::password_changed`], and a sign-in with a recovery
//!   code where the policy says so
//!   ([`crate::policy::Policy::recovery_code_ends_other_sessions`]). Every session from
//!   an older generation has ended, whatever its stage (second factor pending,
//!   enrolling, signed in), except the session that made the change: after its own
//!   successful change it takes the new generation ([`adopt`]). The same check runs
//!   inside every proof and sensitive change, so a session that ended between the
//!   host's check and its call still changes nothing
//!   ([`crate::Refusal::SessionEnded`]).
//! - **The session is too old** ([`SessionLimits::lifetime`], counted from the
//!   password) **or was inactive too long** ([`SessionLimits::idle_timeout`]): the
//!   policy's limits, per organisation and capped by the presets (NIST SP 800-63B-4
//!   §2.2.3 at AAL2: 24 hours, 1 hour of inactivity).
//! - **The clock reads a time before the session began**, by more than
//!   the clock skew (5 minutes): its age cannot be judged, so it is not trusted.
//! - **The session was signed out** ([`sign_out`]): a session store saves whole
//!   sessions, the last write winning, so a request of the session still running when
//!   it was signed out can save it again. A session with a tag
//!   ([`SessionFacts::tagged`]) is remembered in the record as signed out until it
//!   could not have lasted anyway, and such a copy is refused.
//!
//! ```
//! use mfa_kit::flow::session::{self, SessionVerdict};
//! use mfa_kit::policy::{SessionFacts, SessionLimits};
//! use mfa_kit::record::UserRecord;
//! use mfa_kit::UserId;
//! use mfa_kit::SessionEnd;
//!
//! let record = UserRecord::new(UserId::new("alice"));
//! let limits = SessionLimits::new(24 * 3600, 3600);
//! let session = SessionFacts::new(record.generation(), 1_700_000_000);
//! assert_eq!(session::judge(&record, &session, limits, 1_700_000_600), SessionVerdict::Continue);
//! let idle = session::judge(&record, &session, limits, 1_700_000_000 + 3600);
//! assert_eq!(idle, SessionVerdict::Ended(SessionEnd::Inactive));
//! ```

use super::Step;
use crate::policy::{SessionFacts, SessionLimits, SignInContext};
use crate::record::rare::EndedSession;
use crate::record::{CLOCK_SKEW, UserRecord};
use crate::vocabulary::SessionEnd;

/// How many signed-out sessions a record remembers at most: to make room, those that
/// end soonest (the ones that could not have lasted first) are forgotten.
pub const REMEMBERED_SIGN_OUTS: usize = 64;

/// How long a signed-out session is remembered at least, from its sign-in: the longest
/// session lifetime an organisation may set (30 days).
const LONGEST_SESSION: u64 = 30 * 86_400;

/// Whether a session may go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionVerdict {
    /// The session may go on.
    Continue,
    /// The session has ended: sign it out and ask for the password again.
    Ended(SessionEnd),
}

impl SessionVerdict {
    /// Whether the session may go on.
    pub fn may_continue(self) -> bool {
        self == SessionVerdict::Continue
    }
}

/// Whether `session` of the record's user may go on at `now` under `limits`.
pub fn judge(record: &UserRecord, session: &SessionFacts, limits: SessionLimits, now: u64) -> SessionVerdict {
    if session.generation != record.generation() {
        return SessionVerdict::Ended(SessionEnd::AccountChanged);
    }
    if signed_out(record, session) {
        return SessionVerdict::Ended(SessionEnd::SignedOut);
    }
    if now.saturating_add(CLOCK_SKEW) < session.signed_in_at {
        return SessionVerdict::Ended(SessionEnd::ClockBehind);
    }
    if now.saturating_sub(session.signed_in_at) >= limits.lifetime {
        return SessionVerdict::Ended(SessionEnd::LifetimeReached);
    }
    // A last activity the clock has not reached yet counts as now: the session's
    // start, checked above, bounds how wrong it can be.
    if now.saturating_sub(session.active_at) >= limits.idle_timeout {
        return SessionVerdict::Ended(SessionEnd::Inactive);
    }
    SessionVerdict::Continue
}

/// The generation a session takes after a change it made itself succeeded: `current`
/// (the record's generation read after the change) when the change moved it by exactly
/// one step from the session's, since a change moves it once; `None` when it moved
/// further, because another change was made meanwhile, and the session must end.
/// A generation that did not move is kept.
pub fn adopt(session_generation: u64, current: u64) -> Option<u64> {
    (current == session_generation || current == session_generation.saturating_add(1)).then_some(current)
}

/// Why the context's session may no longer prove or change anything for the record's
/// user, if it may not: its generation is not the record's. Contexts without a session
/// (hosts without sessions) are never refused here.
pub(crate) fn stale(record: &UserRecord, context: &SignInContext) -> Option<SessionEnd> {
    let session = context.session.as_ref()?;
    if session.generation != record.generation() {
        return Some(SessionEnd::AccountChanged);
    }
    signed_out(record, session).then_some(SessionEnd::SignedOut)
}

/// Whether `session` was signed out ([`sign_out`]).
fn signed_out(record: &UserRecord, session: &SessionFacts) -> bool {
    session.tag.is_some_and(|tag| record.rare.ended_sessions.iter().any(|ended| ended.tag == tag))
}

/// Signs `session` out for good: the record remembers it (by its
/// [`SessionFacts::tag`]) until it could not have lasted anyway under `limits` (and
/// at least the longest lifetime an organisation may set), so a copy of the session
/// saved again after the host deleted it ends at its next request
/// ([`SessionEnd::SignedOut`]). At most [`REMEMBERED_SIGN_OUTS`] are kept: beyond
/// that, of the others, those that end soonest are forgotten (those that have passed
/// their time first); the session signed out now is always remembered. The reading of `now` forgets none: one reading far ahead would forget
/// sessions still running. `true` if the session was
/// remembered now; a session without a tag changes nothing (`false`). Not audited:
/// how the account is protected does not change.
pub fn sign_out(record: &mut UserRecord, session: &SessionFacts, limits: SessionLimits) -> Step<bool> {
    super::run(record, |draft| {
        let Some(tag) = session.tag else { return Ok(false) };
        let until = session.signed_in_at.saturating_add(limits.lifetime.max(LONGEST_SESSION));
        if draft.get().rare.ended_sessions.iter().any(|e| e.tag == tag) {
            return Ok(false);
        }
        let ended = &mut draft.edit().rare.edit().ended_sessions;
        // Room is made among the others: the session signed out now is remembered.
        if ended.len() >= REMEMBERED_SIGN_OUTS {
            ended.sort_by_key(|e| e.until);
            let excess = ended.len() + 1 - REMEMBERED_SIGN_OUTS;
            ended.drain(..excess);
        }
        ended.push(EndedSession { tag, until });
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::UserId;

    const T: u64 = 1_700_000_000;

    fn record_at(generation: u64) -> UserRecord {
        let mut record = UserRecord::new(UserId::new("a"));
        record.generation = generation;
        record
    }

    #[test]
    fn a_signed_out_session_stays_ended_and_is_forgotten_once_it_could_not_last() {
        let limits = SessionLimits::DEFAULT;
        let mut record = record_at(3);
        let session = SessionFacts::new(3, T).tagged(42);
        let other = SessionFacts::new(3, T).tagged(43);
        let step = sign_out(&mut record, &session, limits);
        assert_eq!((step.outcome, step.changed), (Ok(true), true));
        assert!(step.events.is_empty(), "how the account is protected did not change");
        assert_eq!(judge(&record, &session, limits, T + 11), SessionVerdict::Ended(SessionEnd::SignedOut));
        let context = SignInContext::default().with_session(session);
        assert_eq!(stale(&record, &context), Some(SessionEnd::SignedOut));
        assert_eq!(
            judge(&record, &other, limits, T + 11),
            SessionVerdict::Continue,
            "another session goes on"
        );
        // Signing out again changes nothing; a session without a tag cannot be remembered.
        assert!(!sign_out(&mut record, &session, limits).changed);
        let untagged = SessionFacts::new(3, T);
        assert_eq!(sign_out(&mut record, &untagged, limits).outcome, Ok(false));
        assert_eq!(SessionFacts::new(3, T).tagged(0).tag, None, "0 is no tag");
        // Once the session could not have lasted (30 days at least), it is the first
        // forgotten when room is needed; a reading of now alone forgets nothing.
        let month = 30 * 86_400;
        let later = SessionFacts::new(3, T + month).tagged(43);
        assert!(sign_out(&mut record, &later, limits).changed);
        assert_eq!(record.rare.ended_sessions.len(), 2);
        for tag in 100..(100 + REMEMBERED_SIGN_OUTS as u64 - 1) {
            let newer = SessionFacts::new(3, T + month).tagged(tag);
            assert!(sign_out(&mut record, &newer, limits).changed);
        }
        let ended = &record.rare.ended_sessions;
        assert_eq!(ended.len(), REMEMBERED_SIGN_OUTS);
        assert!(ended.iter().all(|e| e.tag != 42), "the one that could not have lasted went first");
        assert!(ended.iter().any(|e| e.tag == 43));
    }

    #[test]
    fn at_most_the_latest_sign_outs_are_remembered() {
        let limits = SessionLimits::DEFAULT;
        let mut record = record_at(0);
        for tag in 1..=(REMEMBERED_SIGN_OUTS as u64 + 5) {
            assert!(sign_out(&mut record, &SessionFacts::new(0, T).tagged(tag), limits).changed);
        }
        let ended = &record.rare.ended_sessions;
        assert_eq!(ended.len(), REMEMBERED_SIGN_OUTS);
        assert_eq!(ended[0].tag, 6, "the oldest were forgotten first");
        // The record keeps them through its stored form.
        let json = serde_json::to_string(&record).unwrap();
        assert!(json.contains("\"ended_sessions\""));
        let read: UserRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(read, record);
        let none = serde_json::to_string(&record_at(0)).unwrap();
        assert!(!none.contains("ended_sessions"), "absent when empty, as records were written before");
    }

    #[test]
    fn a_session_of_an_older_or_unknown_generation_has_ended() {
        let limits = SessionLimits::DEFAULT;
        let session = SessionFacts::new(3, T);
        assert_eq!(judge(&record_at(3), &session, limits, T + 1), SessionVerdict::Continue);
        for generation in [4, 9, 2, 0] {
            let verdict = judge(&record_at(generation), &session, limits, T + 1);
            assert_eq!(verdict, SessionVerdict::Ended(SessionEnd::AccountChanged), "{generation}");
        }
    }

    #[test]
    fn lifetime_and_inactivity_end_a_session_at_their_limits() {
        let limits = SessionLimits::new(1000, 100);
        let record = record_at(0);
        let session = SessionFacts::new(0, T).active_at(T + 950);
        assert!(judge(&record, &session, limits, T + 999).may_continue());
        assert_eq!(
            judge(&record, &session, limits, T + 1000),
            SessionVerdict::Ended(SessionEnd::LifetimeReached)
        );
        let quiet = SessionFacts::new(0, T);
        assert!(judge(&record, &quiet, limits, T + 99).may_continue());
        assert_eq!(judge(&record, &quiet, limits, T + 100), SessionVerdict::Ended(SessionEnd::Inactive));
    }

    #[test]
    fn a_clock_far_behind_the_session_start_ends_it() {
        let record = record_at(0);
        let session = SessionFacts::new(0, T);
        assert!(judge(&record, &session, SessionLimits::DEFAULT, T - CLOCK_SKEW).may_continue());
        let verdict = judge(&record, &session, SessionLimits::DEFAULT, T - CLOCK_SKEW - 1);
        assert_eq!(verdict, SessionVerdict::Ended(SessionEnd::ClockBehind));
    }

    #[test]
    fn a_session_adopts_only_its_own_one_step_change() {
        assert_eq!(adopt(4, 4), Some(4));
        assert_eq!(adopt(4, 5), Some(5));
        assert_eq!(adopt(4, 6), None);
        assert_eq!(adopt(4, 3), None);
    }
}
