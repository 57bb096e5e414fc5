//! Step-up before a sensitive action ([`crate::flow::step_up`]): the crate's own, and
//! the host's, audited under the host's name; and settling a record whose reading
//! proved windows of it future-dated ([`crate::flow::clock`]).

use super::{Error, MfaService};
use crate::flow;
use crate::flow::step_up::StepUp;
use crate::policy::SignInContext;
use crate::record::UserRecord;
use crate::seal::SecretSealer;
use crate::store::Store;
use crate::vocabulary::{HostAction, Outcome, SensitiveAction, UserId};

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// Before a sensitive action (the host's own, such as changing bank details, or one
    /// of the crate's): whether the user proved a second factor recently enough, or
    /// what to ask for first. The crate's own sensitive calls check this themselves and
    /// refuse with [`Refusal::FreshProofRequired`](crate::Refusal::FreshProofRequired); after a [`StepUp::Prove`], prove
    /// with [`MfaService::verify_code`] (or another method) and ask again.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::Clock`]; never an answer that lets the action through.
    pub async fn step_up(
        &self,
        user: &UserId,
        action: SensitiveAction,
        context: &SignInContext,
    ) -> Result<StepUp, Error> {
        let now = self.now()?;
        let (_, record) = self.load(user).await?;
        let answer = crate::flow::step_up::check(&record, action, &self.env(now, context));
        self.settle(user, now, &record, context).await?;
        Ok(answer)
    }

    /// After a check that only read `record` at `now`: if the reading proved windows of
    /// it future-dated (or a reserved code lapsed), saves [`crate::flow::clock::settle`]
    /// so the reading is not forgotten and those windows never become valid.
    pub(super) async fn settle(
        &self,
        user: &UserId,
        now: u64,
        record: &UserRecord,
        context: &SignInContext,
    ) -> Result<(), Error> {
        if !crate::flow::clock::needs_settling(record, &self.env(now, context)) {
            return Ok(());
        }
        let _settled: Outcome<()> = self
            .update(user, user, &context.request, |record, now| {
                Ok(crate::flow::clock::settle(record, &self.env(now, context)))
            })
            .await?;
        Ok(())
    }

    /// Before one of the host's own sensitive actions (changing bank details,
    /// approving a pay run), named `action` ("change_bank_details"): whether the user
    /// proved a second factor recently enough, or what to ask for first, as
    /// [`MfaService::step_up`] with [`SensitiveAction::Host`].
    /// Unlike that call, the answer is audited under the action's name:
    /// `host_action_allowed` when it may go ahead ([`StepUp::Proceed`]: do the action
    /// now), `host_action_refused` when the session has ended or the account's changes
    /// are frozen, and nothing when it asks for a proof first ([`StepUp::Prove`]) or the
    /// user has no second factor ([`StepUp::EnrollFirst`]). Call it once, right before
    /// doing the action, so that each allowed action is one event.
    ///
    /// ```
    /// use mfa_kit::prelude::*;
    /// use mfa_kit::danger::PlaintextSealer;
    ///
    /// # pollster::block_on(async {
    /// let mfa = MfaService::builder("Acme Payroll", MemoryStore::new(), PlaintextSealer).build();
    /// let ann = UserId::new("ann");
    /// let answer = mfa.step_up_host_action(&ann, "change_bank_details", &SignInContext::default()).await?;
    /// match answer {
    ///     StepUp::Proceed { .. } => { /* change the bank details now */ }
    ///     StepUp::Prove { .. } => { /* ask for a code, then ask again */ }
    ///     _ => { /* refuse: enroll first, sign in again, or frozen */ }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidHostAction`] for a name that is not 1 to 64 printable
    /// characters without surrounding spaces ([`HostAction::new`]; nothing is read or
    /// audited); [`Error::Store`] or [`Error::Clock`]: never an answer that lets the
    /// action through.
    pub async fn step_up_host_action(
        &self,
        user: &UserId,
        action: &str,
        context: &SignInContext,
    ) -> Result<StepUp, Error> {
        let action = HostAction::new(action).map_err(|_| Error::InvalidHostAction)?;
        let now = self.now()?;
        let (_, record) = self.load(user).await?;
        let (answer, events) = flow::step_up::host_action(&record, &action, &self.env(now, context));
        self.settle(user, now, &record, context).await?;
        let org = context.request.org.as_ref().or(record.org());
        self.store_events(user, user, now, &context.request, org, events).await?;
        Ok(answer)
    }
}
