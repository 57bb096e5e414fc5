//! The decision after the password step (R8): let in, ask for a code, suggest or
//! require enrollment, or refuse, with a remembered device skipping the code (R19).

use super::{Env, Step, run_in};
use crate::event::EventKind;
use crate::keyed_hash::HashKey;
use crate::policy::Decision;
use crate::record::UserRecord;
use crate::vocabulary::{Reason, Refusal, RejectionReason};

/// What the host does after the user's password was accepted. A remembered-device
/// token in the context turns a challenge into an allow (audited); without a hash key
/// devices are not checked, and where the organisation requires a phishing-resistant
/// factor of a user who has one ([`crate::policy::Policy::phishing_resistant_required`]),
/// no device skips the key (a device's token is a bearer cookie, not a proof bound to
/// the site). A refusal (an address off the allowlist, a lockout, a
/// disabled second factor, an account frozen by a "this wasn't me" link and left with no
/// factor, [`Refusal::AccountFrozen`]) is audited as `sign_in_refused`, within the record's bound
/// on refused attempts ([`crate::record::RefusalTally`]): the only change this makes to
/// the record.
pub fn decide(record: &mut UserRecord, key: Option<&HashKey>, env: &Env<'_>) -> Step<Decision> {
    run_in(record, env, |draft| {
        let facts = super::facts(draft.get(), env);
        let decision = match env.policy.decide(env.context, &facts, env.now) {
            Ok(decision) => decision,
            Err(refusal) => {
                let reason = match refusal {
                    Refusal::LockedOut { .. } => RejectionReason::LockedOut,
                    Refusal::Disabled => RejectionReason::Disabled,
                    _ => RejectionReason::PolicyRefused,
                };
                draft.emit_refused(EventKind::SignInRefused { reason }, env.now);
                return Err(refusal);
            }
        };
        // A frozen account ("this wasn't me") left without a factor would let the
        // password alone in (allowed, or asked to set MFA up, which the freeze refuses),
        // and whoever set the factor up may know the password: nobody signs in until an
        // admin's reset. Single sign-on is the provider's to judge.
        let without_proof = !matches!(decision, Decision::Challenge { .. });
        if without_proof && decision.reason() != Reason::SingleSignOn && draft.get().rare.frozen.is_some() {
            draft.emit_refused(EventKind::SignInRefused { reason: RejectionReason::PolicyRefused }, env.now);
            return Err(Refusal::AccountFrozen);
        }
        // A remembered device stands for the proof, not for what must follow it: a
        // security key or a backup the organisation requires before going on. Nor for a
        // proof that must resist phishing: the device's token is a bearer cookie, and it
        // may have been remembered after a code, before the organisation required keys.
        let phishing_resistant = super::security_key::phishing_resistant_required(draft.get(), env);
        let remembered = match (&decision, &env.context.device_token, key) {
            (
                Decision::Challenge { security_key_blocking: false, backup_blocking: false, .. },
                Some(token),
                Some(key),
            ) if !phishing_resistant => {
                super::device::recognise(draft.get(), key, token, env).map(|device| device.id.clone())
            }
            _ => None,
        };
        Ok(match remembered {
            Some(device_id) => {
                draft.emit(EventKind::DeviceAccepted { device_id });
                Decision::Allow { reason: Reason::RememberedDevice }
            }
            None => decision,
        })
    })
}
