//! The audit trail's retention: pruning old events, never those the organisation's
//! rules still keep.

use super::{Error, MfaService, store_error};
use crate::event::{EventKind, Events};
use crate::policy::SignInContext;
use crate::seal::SecretSealer;
use crate::store::{PruneAudit, Store};
use crate::vocabulary::UserId;

/// How many events one delete statement of [`MfaService::prune_audit`] removes: small
/// enough that a sign-in's save never waits long behind it.
pub const PRUNE_BATCH: u32 = 5_000;

impl<S: PruneAudit + Store, K: SecretSealer> MfaService<S, K> {
    /// Deletes the audit events filed under the context's organisation
    /// ([`SignInContext::in_org`]; a context in none: the events filed under no
    /// organisation) that happened before `before`, in batches of [`PRUNE_BATCH`];
    /// returns how many were deleted. Run it daily from the retention job, once per
    /// organisation, with that organisation's context (its settings and jurisdiction
    /// decide its presets) and the job's own account as `actor`.
    ///
    /// Refuses, deleting nothing, when `before` falls within the retention the
    /// organisation's presets require ([`crate::policy::Policy::audit_retention`]: 12
    /// months under the ATO's framework): events younger than that are never pruned.
    ///
    /// A pruning that deleted anything is itself audited, after the deletion, under
    /// the organisation: `audit_pruned` with `before` and the count, by `actor`
    /// ([`EventKind::AuditPruned`]). A store that fails part way leaves the batches
    /// already deleted deleted, and the event of those is still written if the store
    /// takes it. The event is a separate write after the deletion: if the store
    /// refuses it, the call fails although the events were deleted, and the trail
    /// lacks that one note (a run again deletes nothing more and writes no event).
    ///
    /// The security notices are read from the same trail ([`crate::relay`]): an event a
    /// notice relay has not read yet is deleted like any other, and its notice is never
    /// sent. Keep `before` well behind the relays (a retention job that prunes what is
    /// months old does), and check [`crate::relay::NoticeRelay::stats`] first if a
    /// relay may have been stopped for that long.
    ///
    /// # Errors
    /// [`Error::RetentionRequired`] when `before` is too recent; [`Error::Clock`];
    /// [`Error::Store`] (batches deleted before the
    /// failure stay deleted: run it again).
    pub async fn prune_audit(
        &self,
        before: u64,
        actor: &UserId,
        context: &SignInContext,
    ) -> Result<u64, Error> {
        let now = self.now()?;
        let retention = self.policy.audit_retention(context);
        let earliest = now.saturating_sub(retention);
        if retention > 0 && before > earliest {
            return Err(Error::RetentionRequired { retention, earliest, before });
        }
        let org = context.request.org.as_ref();
        let mut deleted = 0;
        let failed = loop {
            match self.store.delete_audit_before(org, before, PRUNE_BATCH).await {
                Ok(batch) => {
                    deleted += batch;
                    if batch < u64::from(PRUNE_BATCH) {
                        break None;
                    }
                }
                Err(error) => break Some(store_error(error)),
            }
        };
        if deleted > 0 {
            let events = Events::from(vec![EventKind::AuditPruned { before, deleted }]);
            let audited = self.store_events(actor, actor, now, &context.request, org, events).await;
            if let (None, Err(error)) = (&failed, audited) {
                return Err(error);
            }
        }
        match failed {
            Some(error) => Err(error),
            None => Ok(deleted),
        }
    }
}
