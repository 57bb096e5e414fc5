//! An organisation's audit trail exported for an auditor, page by page (feature
//! `export`).

use super::evidence::broken_store;
use super::{Error, MfaService, store_error};
use crate::flow::evidence::ExportFormat;
use crate::seal::SecretSealer;
use crate::store::{AuditQuery, MAX_PAGE, ReadAudit};
use crate::vocabulary::OrgId;

impl<S: ReadAudit, K: SecretSealer> MfaService<S, K> {
    /// Organisation `org`'s audit trail from `from` (inclusive) to `until` (exclusive),
    /// in seconds since the Unix epoch, for an auditor: an export read and rendered one
    /// page of [`MAX_PAGE`] events at a time ([`TrailExport::next_chunk`]), so a year's
    /// trail streams to the response without being held in memory. Nothing is read
    /// until the first chunk is asked for.
    ///
    /// Export a period that has ended, a minute or more before the export starts: the
    /// pages are read one after another while users go on signing in, and an event of
    /// the period's last moments stored while the export runs (a transaction slower to
    /// commit than the one after it, or on `MemoryStore` an event given a smaller id in
    /// another shard) may fall before a page already read, and be missed.
    ///
    /// ```
    /// use mfa_kit::prelude::*;
    /// use mfa_kit::danger::PlaintextSealer;
    /// use mfa_kit::flow::evidence::ExportFormat;
    ///
    /// # pollster::block_on(async {
    /// let mfa = MfaService::builder("Acme Payroll", MemoryStore::new(), PlaintextSealer).build();
    /// let mut export = mfa.export_trail("acme", 0, 1_800_000_000, ExportFormat::Csv);
    /// let mut file = String::new();
    /// while let Some(chunk) = export.next_chunk().await? {
    ///     file.push_str(&chunk); // or write it to the response body
    /// }
    /// assert!(file.starts_with("id,at,user,actor,outcome,kind,"));
    /// # Ok::<(), mfa_kit::service::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn export_trail(
        &self,
        org: impl Into<OrgId>,
        from: u64,
        until: u64,
        format: ExportFormat,
    ) -> TrailExport<'_, S> {
        TrailExport {
            store: &self.store,
            query: AuditQuery::org(org, from, until, MAX_PAGE),
            format,
            started: false,
            finished: false,
        }
    }
}

/// An organisation's audit trail for a period, exported page by page; made by
/// [`MfaService::export_trail`].
pub struct TrailExport<'a, S> {
    store: &'a S,
    query: AuditQuery,
    format: ExportFormat,
    started: bool,
    finished: bool,
}

impl<S> std::fmt::Debug for TrailExport<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrailExport")
            .field("query", &self.query)
            .field("format", &self.format)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<S: ReadAudit> TrailExport<'_, S> {
    /// The next piece of the export: one page of events (up to [`MAX_PAGE`]) rendered
    /// in the export's format, the first piece starting with the format's header (so
    /// a CSV export of an empty period is its header alone); `None` once everything
    /// was given. Events come in order of time, then of the store's ids: a database's
    /// follow the order of storing; `MemoryStore`'s, kept per shard, do for one user's
    /// events but not always for different users' events of the same second
    /// ([`crate::store::StoredEvent::id`]).
    ///
    /// A failed call gives nothing and moves nothing: calling again asks for the same
    /// page.
    ///
    /// # Errors
    /// [`Error::Store`] if the trail cannot be read (or the store answers outside the
    /// query, or pages without moving forward); [`Error::Export`] if an event cannot
    /// be written as JSON.
    pub async fn next_chunk(&mut self) -> Result<Option<String>, Error> {
        while !self.finished {
            let page = self.store.read_audit(&self.query).await.map_err(store_error)?;
            let mut chunk = String::new();
            if !self.started {
                chunk.push_str(self.format.header());
            }
            for stored in &page.events {
                let after = self.query.after.is_none_or(|after| stored.cursor() > after);
                if !self.query.matches(&stored.event) || !after {
                    return Err(broken_store("an audit event read is outside the query"));
                }
                chunk.push_str(&self.format.render(stored.id, &stored.event)?);
            }
            let last = page.events.last().map(crate::store::StoredEvent::cursor);
            match page.next {
                Some(next) if Some(next) == last => self.query.after = Some(next),
                Some(_) => return Err(broken_store("the next audit page does not start after this one")),
                None => self.finished = true,
            }
            self.started = true;
            if !chunk.is_empty() {
                return Ok(Some(chunk));
            }
        }
        Ok(None)
    }

    /// The export's format.
    pub fn format(&self) -> ExportFormat {
        self.format
    }
}
