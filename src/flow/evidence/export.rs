//! The audit trail exported for an auditor (feature `export`): CSV and JSON Lines.

use serde::Serialize;
use thiserror::Error;

use super::csv_line;
use crate::event::{AuditEvent, AuditOutcome};
use crate::vocabulary::utc::utc_rfc3339;

/// An audit event could not be rendered for an export.
#[derive(Debug, Error)]
#[error("an audit event could not be written as JSON: {0}")]
pub struct ExportError(String);

/// How an audit trail is exported for an auditor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExportFormat {
    /// CSV (RFC 4180, CRLF line ends) with a header row of [`TRAIL_CSV_COLUMNS`]:
    /// the event's store id, its time (RFC 3339 UTC), user, actor, outcome, kind,
    /// address, device, organisation, a sentence saying what happened, and the whole
    /// event as JSON. Cells are guarded against formulas ([`csv_cell`](super::csv_cell)).
    Csv,
    /// JSON Lines: one object `{"id":…,"event":{…}}` per line, the event as the
    /// store keeps it. NEL (U+0085) and the line separators U+2028 and U+2029 (valid
    /// in JSON text, but line breaks to some readers, Python's `splitlines` among them)
    /// are written as `\u0085`, `\u2028` and `\u2029`, so every reader sees one event
    /// per line.
    JsonLines,
}

/// The columns of a CSV trail export.
pub const TRAIL_CSV_COLUMNS: &[&str] =
    &["id", "at", "user", "actor", "outcome", "kind", "address", "device", "org", "sentence", "event"];

impl ExportFormat {
    /// The media type to serve the export with.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::JsonLines => "application/jsonl",
        }
    }

    /// The file name extension (`csv`, `jsonl`).
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::JsonLines => "jsonl",
        }
    }

    /// What the export starts with: the CSV header row; nothing for JSON Lines.
    pub fn header(self) -> &'static str {
        match self {
            ExportFormat::Csv => "id,at,user,actor,outcome,kind,address,device,org,sentence,event\r\n",
            ExportFormat::JsonLines => "",
        }
    }

    /// One event, with the id the store gave it, as one line of the export (ending in
    /// a line break).
    ///
    /// # Errors
    /// [`ExportError`] if the event cannot be written as JSON.
    pub fn render(self, id: i64, event: &AuditEvent) -> Result<String, ExportError> {
        match self {
            ExportFormat::Csv => csv_event(id, event),
            ExportFormat::JsonLines => {
                #[derive(Serialize)]
                struct Line<'a> {
                    id: i64,
                    event: &'a AuditEvent,
                }
                let mut line = serde_json::to_string(&Line { id, event }).map_err(json_error)?;
                // They can only stand inside a string, where the escapes mean the same.
                if line.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
                    line = line
                        .replace('\u{85}', "\\u0085")
                        .replace('\u{2028}', "\\u2028")
                        .replace('\u{2029}', "\\u2029");
                }
                line.push('\n');
                Ok(line)
            }
        }
    }
}

fn json_error(error: serde_json::Error) -> ExportError {
    ExportError(error.to_string())
}

/// One event as a CSV line of [`TRAIL_CSV_COLUMNS`].
fn csv_event(id: i64, event: &AuditEvent) -> Result<String, ExportError> {
    let json = serde_json::to_string(event).map_err(json_error)?;
    let kind = event.kind.name();
    let context = &event.context;
    let cells = [
        id.to_string(),
        utc_rfc3339(event.at),
        event.user.to_string(),
        event.actor.to_string(),
        match event.outcome {
            AuditOutcome::Success => "success",
            AuditOutcome::Failure => "failure",
        }
        .to_string(),
        kind.to_string(),
        context.address.map(|address| address.to_string()).unwrap_or_default(),
        context.device.clone().unwrap_or_default(),
        event.org().map(ToString::to_string).unwrap_or_default(),
        event.kind.sentence(),
        json,
    ];
    let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
    Ok(csv_line(&cells))
}
