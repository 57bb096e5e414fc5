//! What an auditor gets from the database stores (R24): an organisation's
//! trail read page by page and pruned holds exactly that organisation's events, field
//! for field as they were given, whatever text they hold.
#![cfg(all(feature = "postgres", feature = "sqlite"))]

mod common;
#[path = "../../../tests/support/csv.rs"]
mod csv;

use std::fmt::Debug;

use common::*;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::store::{AuditQuery, MemoryStore, PruneAudit, ReadAudit, Store};
use mfa_kit::{Cleared, OrgId, RequestContext, ResetMode, UserId};

trait All: Store + ReadAudit + PruneAudit {}
impl<T: Store + ReadAudit + PruneAudit> All for T {}

/// What an admin typed as a reset reason: a formula, quotes, commas, CR LF, U+2028,
/// U+2029, a tab and a NUL.
const REASON: &str = "=HYPERLINK(\"http://x\",\"y\"),\r\nforged\u{2028}a\u{2029}b\tc\0d";

fn hostile(org: &str, at: u64, mark: usize) -> AuditEvent {
    let context = RequestContext::from_address("2001:db8::1".parse().unwrap())
        .with_device(format!("=Fire\0fox, \"x\"\r\n\u{2028}{mark}"))
        .in_org(org);
    let kind = EventKind::ResetByAdmin {
        reason: format!("{REASON}{mark}"),
        cleared: vec![Cleared::Authenticator],
        mode: ResetMode::TurnOff,
    };
    AuditEvent::new(&UserId::new("@sarah\u{2028}"), &UserId::new("-admin, \"x\""), at, &context, kind)
}

/// Organisation `org`'s events in `from..until`, read in pages of 2 with the cursor.
async fn trail<S: ReadAudit>(s: &S, org: &str, from: u64, until: u64) -> Vec<AuditEvent>
where
    S::Error: Debug,
{
    let mut query = AuditQuery::org(org, from, until, 2);
    let mut all = Vec::new();
    loop {
        let page = s.read_audit(&query).await.unwrap();
        all.extend(page.events.into_iter().map(|stored| stored.event));
        let Some(next) = page.next else { return all };
        query = query.after(Some(next));
    }
}

/// Look-alike organisation ids: another case, a trailing space, a decomposed accent
/// beside a composed one, a LIKE wildcard.
const OTHERS: [&str; 5] = ["ACME", "acme ", "acme\u{301}", "acm_", "acme%"];

async fn lookalikes<S: All>(s: &S, name: &str) -> Vec<String>
where
    S::Error: Debug,
{
    let mut wrong = Vec::new();
    let base = 1_800_000_000;
    let mine: Vec<AuditEvent> = (0..5).map(|i| hostile("acme", base + i as u64, i)).collect();
    let accented: Vec<AuditEvent> = (0..2).map(|i| hostile("acm\u{e9}", base + i as u64, 10 + i)).collect();
    let mut all = mine.clone();
    for (i, org) in OTHERS.iter().enumerate() {
        all.push(hostile(org, base + i as u64, 20 + i));
    }
    all.extend(accented.clone());
    s.append_events(all).await.unwrap();

    let read = trail(s, "acme", base, base + 10).await;
    if read != mine {
        wrong.push(format!("{name}: acme's trail read back {} events, not its 5 exactly", read.len()));
    }
    let read = trail(s, "acm\u{e9}", base, base + 10).await;
    if read != accented {
        wrong.push(format!("{name}: the composed accent's trail read back {} events, not its 2", read.len()));
    }
    // The period's bounds: from inclusive, until exclusive.
    let read = trail(s, "acme", base + 1, base + 4).await;
    if read != mine[1..4] {
        wrong.push(format!("{name}: acme's trail of [base+1, base+4) read back {} events", read.len()));
    }
    // Pruning acme before its fourth event: its first three go, nobody else's.
    let deleted = s.delete_audit_before(Some(&OrgId::new("acme")), base + 3, 100).await.unwrap();
    let left = trail(s, "acme", 0, u64::MAX).await;
    if deleted != 3 || left != mine[3..] {
        wrong.push(format!("{name}: pruning acme before base+3 deleted {deleted}, left {}", left.len()));
    }
    for org in OTHERS {
        let left = trail(s, org, 0, u64::MAX).await;
        if left.len() != 1 {
            wrong.push(format!("{name}: {org:?} kept {} events after acme's pruning", left.len()));
        }
    }
    wrong
}

// `AuditQuery::org` (src/store/listing.rs: "Only events filed under this
// organisation"), `PruneAudit::delete_audit_before` ("Deletes up to `limit` events
// filed under `org` … Deletes no other event") and `ReadAudit` ("readable, field for
// field as it was given"), on all three stores, with look-alike organisation ids and
// hostile text (a reset reason and device with a NUL, CR LF, U+2028, quotes, a
// formula) that the existing tests do not combine.
#[test]
fn look_alike_organisations_and_hostile_text_are_read_and_pruned_exactly() {
    let wrong = block_on(async {
        let mut wrong = lookalikes(&MemoryStore::new(), "memory").await;
        let pg = fresh_postgres_store().await;
        wrong.extend(lookalikes(&*pg, "postgres").await);
        drop_postgres_store(pg).await;
        let lite = fresh_sqlite_store().await;
        wrong.extend(lookalikes(&*lite, "sqlite").await);
        drop_sqlite_store(lite).await;
        wrong
    });
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Organisation `org`'s trail exported through the service over `store`, in both
/// formats, each row or line read back as the event it holds; what went wrong.
async fn exported<S: All>(store: S, name: &str) -> Vec<String>
where
    S::Error: Debug,
{
    use mfa_kit::danger::PlaintextSealer;
    use mfa_kit::flow::evidence::{ExportFormat, TRAIL_CSV_COLUMNS};
    use mfa_kit::service::MfaService;

    let mfa = MfaService::builder("Audit", store, PlaintextSealer).build();
    let base = 1_900_000_000;
    let mine: Vec<AuditEvent> = (0..5).map(|i| hostile("acme", base + i as u64, i)).collect();
    let mut all = mine.clone();
    all.extend(OTHERS.iter().enumerate().map(|(i, org)| hostile(org, base + i as u64, 20 + i)));
    mfa.store().append_events(all).await.unwrap();

    let mut wrong = Vec::new();
    for format in [ExportFormat::Csv, ExportFormat::JsonLines] {
        let mut export = mfa.export_trail("acme", base, base + 10, format);
        let mut text = String::new();
        while let Some(chunk) = export.next_chunk().await.unwrap() {
            text.push_str(&chunk);
        }
        let events: Vec<AuditEvent> = match format {
            ExportFormat::Csv => {
                let rows = csv::parse_csv(&text);
                if rows.first().is_none_or(|header| header != TRAIL_CSV_COLUMNS) {
                    wrong.push(format!("{name}: the CSV header is not TRAIL_CSV_COLUMNS"));
                }
                rows.iter().skip(1).map(|row| serde_json::from_str(&row[10]).unwrap()).collect()
            }
            _ => text
                .lines()
                .map(|line| {
                    let value: serde_json::Value = serde_json::from_str(line).unwrap();
                    serde_json::from_value(value["event"].clone()).unwrap()
                })
                .collect(),
        };
        if events != mine {
            wrong.push(format!(
                "{name}: the {format:?} export held {} events, not acme's 5 exactly",
                events.len()
            ));
        }
    }
    wrong
}

// `MfaService::export_trail` (feature `export`) over the database stores: "an
// organisation's audit trail for a period, exported page by page", as CSV and JSON
// Lines, holds exactly that organisation's events, each as it was given, with hostile
// text and look-alike organisations beside it (the export was tested on `MemoryStore`
// alone).
#[test]
fn an_organisations_export_from_each_store_holds_exactly_its_events() {
    let wrong = block_on(async {
        let mut wrong = exported(MemoryStore::new(), "memory").await;
        let pg = fresh_postgres_store().await;
        wrong.extend(exported(pg.clone(), "postgres").await);
        drop_postgres_store(pg).await;
        let lite = fresh_sqlite_store().await;
        wrong.extend(exported(lite.clone(), "sqlite").await);
        drop_sqlite_store(lite).await;
        wrong
    });
    assert!(wrong.is_empty(), "{wrong:#?}");
}
