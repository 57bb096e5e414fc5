//! An organisation's admin and auditor views, read from stores that list records
//! ([`ListRecords`]) and read the trail back ([`ReadAudit`]): the status list page by
//! page with each user's compliance, the compliance counts, the compliance evidence
//! report (and, feature `export`, the trail exported for a period: `export.rs`).
//!
//! These calls only read: nothing is changed or audited. Who may see them is the
//! host's decision (its own admin and auditor roles).

use super::{Error, MfaService, store_error};
use crate::flow::Env;
use crate::flow::evidence::Evidence;
use crate::flow::oversight::{ComplianceCounts, UserStatus, list_context};
use crate::policy::SignInContext;
use crate::record::UserRecord;
use crate::seal::SecretSealer;
use crate::store::{AuditQuery, ListRecords, MAX_PAGE, ReadAudit, RecordQuery};
use crate::vocabulary::{Method, OrgId, UserId};

/// One page of a status list: the rows, and where the next page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusPage {
    /// One row per listed record, in ascending order of user id, each with its
    /// [`UserStatus::compliance`] set.
    pub rows: Vec<UserStatus>,
    /// Where the next page starts: pass it to [`RecordQuery::after`]; `None` after the
    /// last page.
    pub next: Option<UserId>,
}

/// A store whose answer breaks its trait's contract: a listed record outside the query,
/// or a page that does not move forward. Failing the call beats showing another
/// organisation's users or paging forever.
pub(super) fn broken_store(what: &str) -> Error {
    Error::Store(Box::from(format!("the store broke its listing contract: {what}")))
}

/// A context made in an organisation reads, and acts on, that organisation only.
pub(super) fn same_org(asked: Option<&OrgId>, context: &SignInContext) -> Result<(), Error> {
    match context.request.org.as_ref() {
        Some(in_context) if asked != Some(in_context) => {
            Err(Error::OrgMismatch { asked: asked.cloned(), context: in_context.clone() })
        }
        _ => Ok(()),
    }
}

/// A listed record this version can read: of the current format, and matching the query.
fn readable<'r>(record: &'r UserRecord, query: &RecordQuery) -> Result<&'r UserRecord, Error> {
    if record.format() != UserRecord::FORMAT {
        return Err(Error::UnsupportedRecordFormat { found: record.format(), supported: UserRecord::FORMAT });
    }
    if !query.matches(record) || query.after.as_ref().is_some_and(|after| record.user() <= after) {
        return Err(broken_store("a listed record is outside the query"));
    }
    Ok(record)
}

impl<S: ListRecords, K: SecretSealer> MfaService<S, K> {
    /// One page of the admin's status list: the records `query` lists (for an
    /// organisation, [`RecordQuery::org`]; [`RecordQuery::without_mfa`] for the red
    /// crosses only), each as a row under the rules of `context`: the organisation's
    /// settings ([`SignInContext::with_org`]) and jurisdiction, judged at the clock's
    /// time (see [`MfaService::status`]). Pass [`StatusPage::next`] to
    /// [`RecordQuery::after`] for the next page.
    ///
    /// A record that cannot be read fails the whole page rather than dropping its row,
    /// so no list or count silently leaves a user out.
    ///
    /// Every user is judged under the context's organisation, user type and
    /// jurisdiction, not its sign-in route ([`SignInContext::with_sso`]): one context
    /// cannot say how each user signs in, and an admin who signed in through single
    /// sign-on does not make every user exempt. (For one user,
    /// [`MfaService::status`] judges the route it is given.) The same holds for
    /// [`MfaService::compliance_counts`] and [`MfaService::evidence_report`].
    ///
    /// The red crosses are the users without MFA under the organisation's rules: where
    /// it does not count some method as a factor (codes by e-mail under the NIST
    /// preset), a user whose only factor is such a method is among them. The store
    /// knows only "has MFA" by every method, so such a page is judged here over the
    /// organisation's records read in order; it may then hold fewer rows than the
    /// limit while [`StatusPage::next`] is set.
    ///
    /// ```
    /// use mfa_kit::prelude::*;
    /// use mfa_kit::danger::PlaintextSealer;
    /// use mfa_kit::store::RecordQuery;
    ///
    /// # pollster::block_on(async {
    /// let mfa = MfaService::builder("Acme Payroll", MemoryStore::new(), PlaintextSealer).build();
    /// let acme = SignInContext::default().in_org("acme");
    /// let mut query = RecordQuery::org("acme", 50);
    /// loop {
    ///     let page = mfa.status_page(&query, &acme).await?;
    ///     for row in &page.rows {
    ///         println!("{}: {:?}", row.user, row.compliance);
    ///     }
    ///     let Some(next) = page.next else { break };
    ///     query = query.after(Some(next));
    /// }
    /// # Ok::<(), mfa_kit::service::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::Store`] (also for a store that lists a record outside the query),
    /// [`Error::Clock`], [`Error::UnsupportedRecordFormat`] for a record written by a
    /// newer version, and [`Error::OrgMismatch`] when
    /// the context is made in an organisation
    /// ([`SignInContext::in_org`]) and the query is not of that organisation (a list
    /// of every organisation's records needs a context made in none).
    pub async fn status_page(
        &self,
        query: &RecordQuery,
        context: &SignInContext,
    ) -> Result<StatusPage, Error> {
        same_org(query.org.as_ref(), context)?;
        let now = self.now()?;
        self.rows(query, &self.env(now, &list_context(context))).await
    }

    /// How many of organisation `org`'s users are in each compliance state under the
    /// rules of `context` (see [`MfaService::status_page`]), over every record filed
    /// under it, read in pages of [`MAX_PAGE`] and judged at one clock reading. Users
    /// who never had a record are not in the store, so not counted (the host's user
    /// table knows them).
    ///
    /// # Errors
    /// As [`MfaService::status_page`]: a record that cannot be read fails the count.
    pub async fn compliance_counts(
        &self,
        org: impl Into<OrgId>,
        context: &SignInContext,
    ) -> Result<ComplianceCounts, Error> {
        let org = org.into();
        same_org(Some(&org), context)?;
        let now = self.now()?;
        self.counts(org, &self.env(now, &list_context(context))).await
    }

    async fn counts(&self, org: OrgId, env: &Env<'_>) -> Result<ComplianceCounts, Error> {
        let mut query = RecordQuery::org(org, MAX_PAGE);
        let mut counts = ComplianceCounts::default();
        loop {
            let page = self.rows(&query, env).await?;
            counts += ComplianceCounts::of(&page.rows);
            let Some(next) = page.next else { return Ok(counts) };
            query = query.after(Some(next));
        }
    }

    async fn rows(&self, query: &RecordQuery, env: &Env<'_>) -> Result<StatusPage, Error> {
        let all_count = Method::ALL.iter().all(|method| env.policy.method_allowed(env.context, *method));
        if !query.without_mfa || all_count {
            return self.listed(query, env).await;
        }
        // The red crosses under the organisation's rules, judged here.
        let limit = query.page_len();
        let mut scan = RecordQuery { without_mfa: false, ..query.clone() };
        let mut rows = Vec::new();
        loop {
            let page = self.listed(&scan, env).await?;
            let mut examined = page.rows.into_iter().peekable();
            while let Some(row) = examined.next() {
                if row.mfa {
                    continue;
                }
                rows.push(row);
                if rows.len() == limit {
                    let more = examined.peek().is_some() || page.next.is_some();
                    let next = rows.last().filter(|_| more).map(|row| row.user.clone());
                    return Ok(StatusPage { rows, next });
                }
            }
            match page.next {
                Some(next) => scan = scan.after(Some(next)),
                None => return Ok(StatusPage { rows, next: None }),
            }
        }
    }

    /// The rows of the records the store lists for `query`, as it lists them.
    async fn listed(&self, query: &RecordQuery, env: &Env<'_>) -> Result<StatusPage, Error> {
        let page = self.store.list_records(query).await.map_err(store_error)?;
        let rows = page
            .records
            .iter()
            .map(|listed| readable(&listed.record, query).map(|record| UserStatus::under(record, env)))
            .collect::<Result<Vec<_>, Error>>()?;
        let forward = match (&page.next, rows.last()) {
            (Some(next), Some(last)) => *next == last.user,
            (Some(_), None) => false,
            (None, _) => true,
        };
        if !forward {
            return Err(broken_store("the next page does not start after this one"));
        }
        Ok(StatusPage { rows, next: page.next })
    }
}

impl<S: ListRecords + ReadAudit, K: SecretSealer> MfaService<S, K> {
    /// Organisation `org`'s compliance evidence ([`Evidence`]), as the ATO's
    /// Operational Security Framework asks a provider to show it: who must use MFA and
    /// who does ([`MfaService::compliance_counts`]), the rules in force for `context`
    /// (presets, lockout, remembered-device cap, step-up window, session limits), the
    /// fields of the audit trail, its oldest event kept for the organisation, and
    /// whether it reaches back 12 months. Serialise it as JSON, or write
    /// [`Evidence::to_csv`].
    ///
    /// # Errors
    /// As [`MfaService::compliance_counts`]; [`Error::Store`] if the trail cannot be
    /// read.
    pub async fn evidence_report(
        &self,
        org: impl Into<OrgId>,
        context: &SignInContext,
    ) -> Result<Evidence, Error> {
        let org = org.into();
        same_org(Some(&org), context)?;
        let now = self.now()?;
        let listed = list_context(context);
        let counts = self.counts(org.clone(), &self.env(now, &listed)).await?;
        let env = self.env(now, context);
        let first = AuditQuery::org(org.clone(), 0, now.saturating_add(1), 1);
        let page = self.store.read_audit(&first).await.map_err(store_error)?;
        let oldest = page.events.first().map(|stored| &stored.event).filter(|event| first.matches(event));
        Ok(Evidence::under(&env, org, counts, oldest))
    }
}
