//! Reading the record: the current format, and format 1 (one authenticator in `totp`,
//! one `last_proof`), which is turned into the current form as it is read.

use serde::Deserialize;

use super::rare::{Rare, RareParts};
use super::{
    DestinationState, FailureState, LastProof, PendingEnrollment, Proofs, RecoveryCodes, RememberedDevice,
    TotpCredential, UserRecord,
};
use crate::vocabulary::UserId;

/// Every field either format may hold.
#[derive(Deserialize)]
pub(super) struct Stored {
    format: u32,
    user: UserId,
    /// Format 5 on.
    #[serde(default)]
    org: Option<crate::vocabulary::OrgId>,
    #[serde(default)]
    authenticators: Vec<TotpCredential>,
    /// Format 4 on.
    #[serde(default)]
    security_keys: Vec<super::SecurityKey>,
    #[serde(default)]
    user_handle: Option<super::UserHandle>,
    #[serde(default)]
    ceremony: Option<super::Ceremony>,
    /// Format 1: the one authenticator.
    #[serde(default)]
    totp: Option<TotpCredential>,
    #[serde(default)]
    pending_enrollment: Option<PendingEnrollment>,
    #[serde(default)]
    enrollment_starts: Vec<u64>,
    #[serde(default)]
    failures: FailureState,
    #[serde(default)]
    recovery: Option<RecoveryCodes>,
    #[serde(default)]
    oob: DestinationState,
    #[serde(default)]
    devices: Vec<RememberedDevice>,
    #[serde(default)]
    proofs: Proofs,
    /// Format 1: the last proof, of any method.
    #[serde(default)]
    last_proof: Option<LastProof>,
    #[serde(default)]
    must_enroll: bool,
    /// Format 3 on; older records read as generation 0.
    #[serde(default)]
    generation: u64,
    #[serde(default)]
    refusals: super::RefusalTally,
    #[serde(default)]
    frozen: Option<super::Frozen>,
    #[serde(default)]
    disowned: Vec<i64>,
    #[serde(default)]
    ended_sessions: Vec<super::rare::EndedSession>,
}

impl From<Stored> for UserRecord {
    fn from(stored: Stored) -> UserRecord {
        // A format 1 credential gets its id and name as it is read.
        let mut authenticators = stored.authenticators;
        authenticators.extend(stored.totp);
        let mut proofs = stored.proofs;
        if let Some(last) = stored.last_proof
            && proofs.get(last.method).is_none()
        {
            proofs.set(last.method, last.at);
        }
        // A record of a later format than this crate knows keeps its number, so the
        // service refuses it rather than write it back in a form that loses data.
        let format = if matches!(stored.format, 1..=4) { UserRecord::FORMAT } else { stored.format };
        // Starts a pending enrollment held (as records before `enrollment_starts` kept
        // them) still count towards the restart limit, from the record.
        let mut pending_enrollment = stored.pending_enrollment;
        let mut enrollment_starts = stored.enrollment_starts;
        enrollment_starts.extend(pending_enrollment.iter_mut().flat_map(|p| std::mem::take(&mut p.starts)));
        UserRecord {
            format,
            user: stored.user,
            org: stored.org,
            authenticators: authenticators.into(),
            rare: Rare::of(RareParts {
                security_keys: stored.security_keys,
                user_handle: stored.user_handle,
                ceremony: stored.ceremony.map(Box::new),
                frozen: stored.frozen,
                disowned: stored.disowned,
                ended_sessions: stored.ended_sessions,
            }),
            pending_enrollment: pending_enrollment.map(Box::new),
            enrollment_starts: enrollment_starts.into(),
            failures: stored.failures,
            recovery: stored.recovery.map(Box::new),
            oob: stored.oob,
            devices: stored.devices,
            proofs,
            must_enroll: stored.must_enroll,
            generation: stored.generation,
            refusals: stored.refusals,
        }
    }
}
