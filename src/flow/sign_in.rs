//! The decision after the password step (R8): let in, ask for a code, suggest or
//! require enrollment, or refuse, with a remembered device skipping the code (R19).

use super::{Env, Step};
use crate::event::{EventKind, Events};
use crate::keyed_hash::HashKey;
use crate::policy::{Decision, UserFacts};
use crate::record::UserRecord;
use crate::vocabulary::Reason;

/// What the host does after the user's password was accepted. A remembered-device
/// token in the context turns a challenge into an allow (audited); without a hash key
/// devices are not checked. Reads the record and never changes it.
pub fn decide(record: &UserRecord, key: Option<&HashKey>, env: &Env<'_>) -> Step<Decision> {
    let mut events = Events::new();
    let outcome = env.policy.decide(env.context, &UserFacts::of(record, env.now), env.now).map(|decision| {
        let remembered = match (&decision, &env.context.device_token, key) {
            (Decision::Challenge { .. }, Some(token), Some(key)) => {
                super::device::recognise(record, key, token, env)
            }
            _ => None,
        };
        match remembered {
            Some(device) => {
                events.push(EventKind::DeviceAccepted { device_id: device.id.clone() });
                Decision::Allow { reason: Reason::RememberedDevice }
            }
            None => decision,
        }
    });
    Step { outcome, events, changed: false }
}
