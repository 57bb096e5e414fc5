//! The record's rule for time at every transition: before a transition with a clock
//! reading does anything else, it voids the windows that reading proves were written
//! by a clock that ran ahead ([`UserRecord::future_dated`]), so they never become
//! valid when real time reaches them, and lets a reserved code whose send was never
//! confirmed lapse ([`super::destination::SEND_DEADLINE`]). Both are record changes, saved with
//! the transition's, and audited ([`EventKind::FutureDatedVoided`],
//! [`EventKind::BackupCodeLapsed`]).
//!
//! Checks that only read ([`super::sign_in::decide`], [`super::step_up::check`],
//! [`super::device::recognise`], [`super::enrollment::resume`]) refuse such windows but
//! cannot void them; a driver runs [`settle`] when [`needs_settling`] says a reading
//! exposed one (the service does, on every such check), so that the check's reading is
//! not forgotten.

use super::{Draft, Env, Step, run_in};
use crate::event::EventKind;
use crate::record::UserRecord;

/// Voids what `env.now` proves future-dated and lets lapsed reservations go; changes
/// nothing else. Save the record if [`Step::changed`].
pub fn settle(record: &mut UserRecord, env: &Env<'_>) -> Step<()> {
    run_in(record, env, |_| Ok(()))
}

/// Whether [`settle`] would change the record at `env.now`. Allocates nothing.
pub fn needs_settling(record: &UserRecord, env: &Env<'_>) -> bool {
    record.future_dated(env.now, env.rules.send_limits.lifetime).next().is_some()
        || super::destination::lapsed(record, env.now)
}

/// What every transition with a reading does first.
pub(crate) fn settle_in(draft: &mut Draft<'_>, env: &Env<'_>) {
    let (now, lifetime) = (env.now, env.rules.send_limits.lifetime);
    if draft.get().future_dated(now, lifetime).next().is_some() {
        let voided = draft.edit().void_future_dated(now, lifetime);
        draft.emit(EventKind::FutureDatedVoided { reading: now, voided });
    }
    super::destination::lapse(draft, now);
}
