//! The record's rule for time applied to what it holds: which windows a reading proves
//! were written by a clock that ran ahead, and voiding them (see "Time" in the module's
//! docs).

use super::{CLOCK_SKEW, Proofs, UserRecord};
use crate::vocabulary::{Method, Voided};

/// Whether a window starting at `start` is proved, at the reading `now`, to have been
/// written by a clock that ran ahead: it starts more than the clock skew (5 minutes) after `now`.
/// (Either that clock or this reading is wrong; the window grants nothing either way.)
pub fn from_the_future(start: u64, now: u64) -> bool {
    start > now.saturating_add(CLOCK_SKEW)
}

/// The times of a rate limit (sends, enrollment starts) to keep, oldest first: those
/// that still count at this reading, and, whatever the reading says, the newest `limit`
/// (one reading far ahead must not forget the hour's, and so hand out a fresh hour once
/// its own time is voided).
pub(crate) fn kept_for_limit(
    times: impl ExactSizeIterator<Item = u64>,
    limit: usize,
    counts: impl Fn(u64) -> bool,
) -> impl Iterator<Item = u64> {
    let newest = times.len().saturating_sub(limit);
    times.enumerate().filter(move |(place, at)| counts(*at) || *place >= newest).map(|(_, at)| at)
}

/// Every method whose last proof the record keeps.
const METHODS: [Method; 5] =
    [Method::Totp, Method::Sms, Method::Email, Method::RecoveryCode, Method::SecurityKey];

impl Proofs {
    fn future(self, now: u64) -> impl Iterator<Item = Method> {
        METHODS.into_iter().filter(move |method| self.get(*method).is_some_and(|at| from_the_future(at, now)))
    }
}

impl UserRecord {
    /// When enrollments were started within the last hour (older ones until the next
    /// start prunes them), for [`crate::flow::enrollment::MAX_STARTS_PER_HOUR`]. Kept
    /// in the record, not in the pending enrollment, so a discarded, expired or
    /// confirmed enrollment does not take its history with it.
    pub fn enrollment_starts(&self) -> &[u64] {
        &self.enrollment_starts
    }

    /// The start of the code's window: when it was issued, or (for a code from a
    /// record that did not keep that) its expiry less `lifetime`.
    fn code_start(&self, lifetime: u64) -> Option<u64> {
        let challenge = self.oob.challenge.as_deref()?;
        Some(challenge.issued_at.unwrap_or(challenge.expires_at.saturating_sub(lifetime)))
    }

    /// The start of the lockout, if there is one and the record kept it (the first
    /// release's did not: such a lockout is never taken as future-dated, and runs until
    /// its end, as it did then).
    fn lock_start(&self) -> Option<u64> {
        self.failures.locked_until.get()?;
        self.failures.locked_at.get()
    }

    /// The kinds of window the record holds that the reading `now` proves were written
    /// by a clock that ran ahead ([`from_the_future`]), in a fixed order; each kind
    /// once. `code_lifetime` dates a code whose issue time the record does not hold.
    /// A disabled second factor is not a window: it stays disabled whatever the clock.
    pub fn future_dated(&self, now: u64, code_lifetime: u64) -> impl Iterator<Item = Voided> + '_ {
        let future = move |start: Option<u64>| start.is_some_and(|start| from_the_future(start, now));
        [
            (self.devices.iter().any(|d| from_the_future(d.created_at, now)), Voided::RememberedDevice),
            (future(self.code_start(code_lifetime)), Voided::Code),
            (self.proofs.future(now).next().is_some(), Voided::Proof),
            (future(self.pending_enrollment.as_ref().map(|p| p.started_at)), Voided::PendingEnrollment),
            (future(self.lock_start()), Voided::Lockout),
            (self.oob.sent_at.iter().any(|at| from_the_future(*at, now)), Voided::Send),
            (self.enrollment_starts.iter().any(|at| from_the_future(*at, now)), Voided::EnrollmentStart),
            (future(self.rare.ceremony.as_ref().map(|c| c.started_at)), Voided::KeyCeremony),
        ]
        .into_iter()
        .filter_map(|(present, kind)| present.then_some(kind))
    }

    /// Voids every window [`UserRecord::future_dated`] names: such devices and the
    /// code are deleted, such proof times forgotten, the enrollment dropped, the
    /// lockout lifted (its failures still count), such sends and starts no longer
    /// counted, and the security key's ceremony dropped. Returns what was voided.
    pub(crate) fn void_future_dated(&mut self, now: u64, code_lifetime: u64) -> Vec<Voided> {
        let voided: Vec<Voided> = self.future_dated(now, code_lifetime).collect();
        for kind in &voided {
            match kind {
                Voided::RememberedDevice => self.devices.retain(|d| !from_the_future(d.created_at, now)),
                Voided::Code => self.oob.challenge = None,
                Voided::Proof => {
                    for method in self.proofs.future(now).collect::<Vec<_>>() {
                        self.proofs.forget(method);
                    }
                }
                Voided::PendingEnrollment => self.pending_enrollment = None,
                Voided::Lockout => {
                    self.failures.locked_until = super::Stamp::NONE;
                    self.failures.locked_at = super::Stamp::NONE;
                }
                Voided::Send => self.oob.sent_at.retain(|at| !from_the_future(*at, now)),
                Voided::EnrollmentStart => {
                    let kept = self.enrollment_starts.iter().copied().filter(|at| !from_the_future(*at, now));
                    self.enrollment_starts = kept.collect();
                }
                Voided::KeyCeremony => self.rare.edit().ceremony = None,
            }
        }
        voided
    }
}
