//! What an auditor gets (R24, the ATO's 12-month log), with hostile text and at the
//! edges: the trail export, the evidence report and its counts, reading the trail page
//! by page, pruning and the event sentences.

mod common;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::*;
use mfa_kit::OrgId;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::flow::oversight::Compliance;
use mfa_kit::policy::{OrgSettings, Preset};
use mfa_kit::record::UserRecord;
use mfa_kit::service::Error;
use mfa_kit::store::{
    AuditPage, AuditQuery, MAX_PAGE, MemoryStore, PruneAudit, ReadAudit, SaveOutcome, Store, Version,
    Versioned,
};
use mfa_kit::{RequestContext, ResetMode, UserId};

const DAY: u64 = 86_400;

fn event_in(org: Option<&str>, who: &str, at: u64, device: &str, kind: EventKind) -> AuditEvent {
    let mut context = RequestContext::from_address("198.51.100.1".parse().unwrap()).with_device(device);
    if let Some(org) = org {
        context = context.in_org(org);
    }
    AuditEvent::new(&UserId::new(who), &UserId::new(who), at, &context, kind)
}

fn plain(org: Option<&str>, who: &str, at: u64, device: &str) -> AuditEvent {
    event_in(org, who, at, device, EventKind::LockoutEnded)
}

/// All of organisation `org`'s trail in `from..until` read page by page with the
/// store's cursor.
fn read_all<S: ReadAudit>(store: &S, org: &str, from: u64, until: u64, limit: u32) -> Vec<AuditEvent> {
    let mut query = AuditQuery::org(org, from, until, limit);
    let mut all = Vec::new();
    loop {
        let page = run(store.read_audit(&query)).unwrap();
        all.extend(page.events.into_iter().map(|stored| stored.event));
        let Some(next) = page.next else { return all };
        query = query.after(Some(next));
    }
}

/// `MemoryStore::with_audit_capacity`: the bound is per shard, and one user's events
/// are in that user's shard, so one user's events beyond about `capacity / 16` (and up
/// to 256 more) push out their own oldest; every event is either kept, newest first,
/// or counted as dropped.
#[test]
fn one_users_events_beyond_a_shards_share_push_out_their_own_oldest_and_are_counted() {
    let store = MemoryStore::with_audit_capacity(4096);
    let history: Vec<AuditEvent> =
        (0..2_000u64).map(|i| plain(Some("acme"), "acme/busy", START + i, &format!("d{i}"))).collect();
    run(store.append_events(history)).unwrap();
    let kept = read_all(&store, "acme", 0, u64::MAX, MAX_PAGE);
    assert!((256..=4096 / 16 + 256).contains(&kept.len()), "{} kept", kept.len());
    assert_eq!(kept.len() as u64 + store.dropped_events(), 2_000, "every event kept or counted");
    let newest: Vec<u64> = kept.iter().map(|event| event.at).collect();
    let expected: Vec<u64> = (START + 2_000 - kept.len() as u64..START + 2_000).collect();
    assert_eq!(newest, expected, "the newest are kept, in order");
}

/// Text a user or an admin typed, as hostile as it gets: a formula, quotes, a comma,
/// CR LF, U+2028, U+2029, NEL and a tab.
const REASON: &str = "=HYPERLINK(\"http://evil.example\",\"ok\"),\r\n2026-01-01 00:00 UTC, root: forged\u{2028}x\u{2029}y\u{85}z\tw";

// `flow::evidence::ExportFormat::Csv` ("Cells are guarded against formulas"),
// `csv_cell` ("with a `'` in front when it starts with `=`, `+`, `-`, `@`…"),
// `ExportFormat::JsonLines` ("one object … per line, the event as the store keeps it")
// and `EventKind::sentence` ("on one line (text a user or an admin typed has its line
// breaks written as escapes)"), for an admin's reset reason, an organisation id, a user
// id and a device label, none of which the existing export tests put in the
// organisation column, the sentence column or the JSON cell.
#[cfg(feature = "export")]
#[test]
fn an_admins_hostile_reset_reason_and_organisation_id_stay_text_in_both_exports() {
    use mfa_kit::flow::evidence::{ExportFormat, TRAIL_CSV_COLUMNS};
    let firm = firm();
    let org = "+acme,\"x\"\u{2028}";
    let reset = EventKind::ResetByAdmin {
        reason: REASON.to_string(),
        cleared: vec![mfa_kit::Cleared::Authenticator, mfa_kit::Cleared::Lockout],
        mode: ResetMode::TurnOff,
    };
    let events = vec![
        event_in(Some(org), "@admin\u{2028}", START, "-1\u{2028}\r\n=2", reset),
        event_in(
            Some(org),
            "=bob",
            START + 1,
            "\t=cmd",
            EventKind::DeviceRemembered {
                device_id: "d1".into(),
                label: REASON.to_string(),
                expires_at: START + DAY,
            },
        ),
    ];
    run(firm.mfa.store().append_events(events.clone())).unwrap();

    let mut export = firm.mfa.export_trail(org, START, START + 2, ExportFormat::Csv);
    let mut csv = String::new();
    while let Some(chunk) = run(export.next_chunk()).unwrap() {
        csv.push_str(&chunk);
    }
    let rows = parse_csv(&csv);
    assert_eq!(rows[0], TRAIL_CSV_COLUMNS);
    assert_eq!(rows.len(), 3, "{csv:?}");
    for (row, event) in rows[1..].iter().zip(&events) {
        assert_eq!(row.len(), TRAIL_CSV_COLUMNS.len());
        assert_eq!(row[8], format!("'{org}"), "the organisation, defused");
        for cell in row {
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r', '\n']), "{cell:?}");
        }
        let sentence = &row[9];
        assert!(!sentence.contains(['\r', '\n', '\u{2028}', '\u{2029}', '\u{85}', '\t']), "{sentence:?}");
        assert_eq!(sentence, &event.kind.sentence());
        let back: AuditEvent = serde_json::from_str(&row[10]).unwrap();
        assert_eq!(&back, event, "the JSON cell holds the event exactly");
    }

    let mut export = firm.mfa.export_trail(org, START, START + 2, ExportFormat::JsonLines);
    let mut jsonl = String::new();
    while let Some(chunk) = run(export.next_chunk()).unwrap() {
        jsonl.push_str(&chunk);
    }
    let lines: Vec<&str> = jsonl.split_terminator('\n').collect();
    assert_eq!(lines.len(), events.len(), "one line per event: {jsonl:?}");
    // Also for a reader that breaks lines at U+2028 and U+2029 as well (Python's
    // `splitlines`): they are written as escapes.
    assert_eq!(
        jsonl.lines().flat_map(|line| line.split(['\u{2028}', '\u{2029}', '\u{85}'])).count(),
        events.len()
    );
    for (line, event) in lines.iter().zip(&events) {
        assert!(!line.contains('\r'));
        assert!(line.contains("\\u2028") && line.contains("\\u2029"), "written as escapes: {line}");
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let back: AuditEvent = serde_json::from_value(value["event"].clone()).unwrap();
        assert_eq!(&back, event);
    }
}

// `AuditEvent::sentence` ("The event as one line of an admin's log") with
// `one_line` (src/event.rs: "control characters (line breaks among them) and the
// Unicode line and paragraph separators are written as escapes … so text a user or an
// admin typed (a user id, a reset reason …) can neither end an admin's log line nor
// forge the next one"): no test puts U+2028, U+2029 or NEL in a user id or a reason.
#[test]
fn a_user_id_or_reason_with_unicode_line_breaks_stays_on_one_log_line() {
    let reset = EventKind::ResetByAdmin {
        reason: REASON.to_string(),
        cleared: Vec::new(),
        mode: ResetMode::default(),
    };
    let context = RequestContext::from_address("203.0.113.7".parse().unwrap());
    let event = AuditEvent::new(
        &UserId::new("sarah\u{2028}2026-01-01 00:00 UTC, root"),
        &UserId::new("admin\u{2029}\u{85}x"),
        START,
        &context,
        reset,
    );
    for line in [event.sentence(), event.kind.sentence()] {
        assert!(!line.contains(|c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')), "{line:?}");
        assert!(line.contains("\\u{2028}"), "written as an escape: {line:?}");
    }
}

// `AuditQuery::org` ("the events filed under organisation `org`"), the export
// ("Organisation `org`'s audit trail") and `evidence_report` ("its oldest event kept
// for the organisation") take exactly that id: not a case variant, a trailing space,
// a NUL-extended id, nor events filed under no organisation.
#[cfg(feature = "export")]
#[test]
fn an_organisations_export_and_report_hold_only_events_filed_under_exactly_it() {
    use mfa_kit::flow::evidence::ExportFormat;
    let firm = firm();
    let mut history = Vec::new();
    for (i, org) in [Some("ACME"), Some("acme "), Some("acme\0"), Some(" acme"), None].into_iter().enumerate()
    {
        history.push(plain(org, "acme/ann", START - 10 + i as u64, "other"));
    }
    history.push(plain(Some("acme"), "acme/ann", START, "mine"));
    run(firm.mfa.store().append_events(history)).unwrap();
    let mut export = firm.mfa.export_trail("acme", 0, u64::MAX, ExportFormat::JsonLines);
    let mut text = String::new();
    while let Some(chunk) = run(export.next_chunk()).unwrap() {
        text.push_str(&chunk);
    }
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("\"mine\""));
    let context = office().in_org("acme").with_org(Arc::new(OrgSettings::default()));
    let report = run(firm.mfa.evidence_report("acme", &context)).unwrap();
    assert_eq!(report.audit.oldest_event, Some(START));
}

/// A store whose audit reads fail while `failing` is set, or which answers with
/// another organisation's event while `outside` is set.
struct Flaky {
    inner: MemoryStore,
    failing: AtomicBool,
    outside: AtomicBool,
    /// How many prune batches succeed before the next fails.
    prunes_left: AtomicUsize,
}

impl PruneAudit for Flaky {
    async fn delete_audit_before(&self, org: Option<&OrgId>, before: u64, limit: u32) -> Result<u64, Down> {
        if self.prunes_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_err() {
            return Err(Down);
        }
        Ok(self.inner.delete_audit_before(org, before, limit).await?)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the database is down")]
struct Down;

impl From<Infallible> for Down {
    fn from(never: Infallible) -> Down {
        match never {}
    }
}

impl Store for Flaky {
    type Error = Down;

    async fn load(&self, user: &UserId) -> Result<Option<Versioned>, Down> {
        Ok(self.inner.load(user).await?)
    }

    async fn save(
        &self,
        record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> Result<SaveOutcome, Down> {
        Ok(self.inner.save(record, expected, events).await?)
    }

    async fn append_events(&self, events: Vec<AuditEvent>) -> Result<(), Down> {
        Ok(self.inner.append_events(events).await?)
    }
}

impl ReadAudit for Flaky {
    async fn read_audit(&self, query: &AuditQuery) -> Result<AuditPage, Down> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Down);
        }
        let mut page = self.inner.read_audit(query).await?;
        if self.outside.load(Ordering::SeqCst) {
            let other = AuditQuery { org: Some("globex".into()), ..query.clone() };
            let foreign = self.inner.read_audit(&other).await?;
            if let (Some(first), Some(slot)) = (foreign.events.first(), page.events.first_mut()) {
                slot.event = first.event.clone();
            }
        }
        Ok(page)
    }
}

fn flaky_firm(events: usize) -> Firm<Flaky> {
    let store = Flaky {
        inner: MemoryStore::with_audit_capacity(usize::MAX),
        failing: AtomicBool::new(false),
        outside: AtomicBool::new(false),
        prunes_left: AtomicUsize::new(usize::MAX),
    };
    let firm = firm_with(store, |builder| builder);
    let history: Vec<AuditEvent> = (0..events)
        .map(|i| plain(Some("acme"), &format!("acme/u{}", i % 7), START + i as u64, &format!("d{i}")))
        .chain((0..10).map(|i| plain(Some("globex"), "globex/g", START + i, "foreign")))
        .collect();
    run(firm.mfa.store().append_events(history)).unwrap();
    firm
}

// `TrailExport::next_chunk`: "A failed call gives nothing and moves nothing:
// calling again asks for the same page."
#[cfg(feature = "export")]
#[test]
fn a_failed_page_read_moves_nothing_and_the_export_resumes_where_it_was() {
    use mfa_kit::flow::evidence::ExportFormat;
    let total = 2 * MAX_PAGE as usize + 17;
    let firm = flaky_firm(total);
    let mut export = firm.mfa.export_trail("acme", 0, u64::MAX, ExportFormat::Csv);
    let mut csv = run(export.next_chunk()).unwrap().unwrap();
    firm.mfa.store().failing.store(true, Ordering::SeqCst);
    assert!(matches!(run(export.next_chunk()), Err(Error::Store(_))));
    assert!(matches!(run(export.next_chunk()), Err(Error::Store(_))));
    firm.mfa.store().failing.store(false, Ordering::SeqCst);
    while let Some(chunk) = run(export.next_chunk()).unwrap() {
        assert!(!chunk.starts_with("id,"), "the header once");
        csv.push_str(&chunk);
    }
    let rows = parse_csv(&csv);
    let devices: Vec<&str> = rows[1..].iter().map(|row| row[7].as_str()).collect();
    let expected: Vec<String> = (0..total).map(|i| format!("d{i}")).collect();
    assert_eq!(devices, expected, "every event once, in order, after the failures");
}

// `TrailExport::next_chunk`: "[`Error::Store`] if … the store answers outside
// the query": a store handing back another organisation's event fails the export
// rather than giving it to Acme's auditor.
#[cfg(feature = "export")]
#[test]
fn a_store_answering_with_another_organisations_event_fails_the_export() {
    use mfa_kit::flow::evidence::ExportFormat;
    let firm = flaky_firm(5);
    firm.mfa.store().outside.store(true, Ordering::SeqCst);
    let mut export = firm.mfa.export_trail("acme", 0, u64::MAX, ExportFormat::JsonLines);
    let first = run(export.next_chunk());
    assert!(matches!(first, Err(Error::Store(_))), "{first:?}");
}

// `MfaService::prune_audit` ("Refuses … when `before` falls within the
// retention the organisation's presets require … events younger than that are never
// pruned"; deletes events "that happened before `before`"), and `AuditCoverage`
// ("`required_from`: … `retention_kept` before it where that reaches further back …
// so the report asks what the pruning keeps"; "`retention_covered`: the oldest event
// kept is at or before `required_from`"): pruned exactly at the boundary, the event
// at the boundary second stays, the one a second older goes, another organisation's
// goes nowhere, and the report made at that moment says the 12 months are covered.
// The existing retention tests have no event at the boundary second.
#[test]
fn pruned_exactly_at_the_ato_boundary_the_event_at_it_stays_and_the_report_counts_it() {
    let firm = firm();
    // 2026-03-01: the 12 calendar months before hold no 29 February (365 days), the
    // ATO preset keeps 366 days.
    let now = 1_772_323_200;
    firm.clock.set(now);
    let edge = now - Preset::TWELVE_MONTHS;
    let settings = OrgSettings::builder().presets(vec![Preset::AtoOperationalSecurity]).build().unwrap();
    let acme = office().in_org("acme").with_org(Arc::new(settings));
    let history = vec![
        plain(Some("acme"), "acme/ann", edge - 1, "older"),
        plain(Some("acme"), "acme/bob", edge, "at the edge"),
        plain(Some("acme"), "acme/cat", edge + 1, "younger"),
        plain(Some("globex"), "globex/gus", edge - 1, "globex older"),
    ];
    run(firm.mfa.store().append_events(history)).unwrap();
    let job = user("retention-job");

    let refused = run(firm.mfa.prune_audit(edge + 1, &job, &acme));
    assert!(matches!(refused, Err(Error::RetentionRequired { .. })), "{refused:?}");
    assert_eq!(run(firm.mfa.prune_audit(edge, &job, &acme)).unwrap(), 1);

    let acme_left: Vec<String> = read_all(firm.mfa.store(), "acme", 0, u64::MAX, 2)
        .into_iter()
        .filter(|event| !matches!(event.kind, EventKind::AuditPruned { .. }))
        .map(|event| event.context.device.unwrap())
        .collect();
    assert_eq!(acme_left, ["at the edge", "younger"]);
    assert_eq!(read_all(firm.mfa.store(), "globex", 0, u64::MAX, 2).len(), 1);

    let report = run(firm.mfa.evidence_report("acme", &acme)).unwrap();
    assert_eq!(report.audit.required_from, edge);
    assert_eq!(report.audit.oldest_event, Some(edge));
    assert!(report.audit.retention_covered, "what the pruning keeps covers what the report asks");
}

// `Compliance::Locked` ("Locked out after wrong codes, until then"),
// `ComplianceCounts::locked` ("Locked out now") and `UserCoverage::with_mfa` ("set up,
// locked out or disabled"): a second before the lockout's end the user counts as
// locked, at its end as set up; with MFA both times.
#[test]
fn a_lockout_counts_as_locked_until_its_last_second_and_as_set_up_at_its_end() {
    let firm = firm();
    let acme = office().in_org("acme").with_org(Arc::new(OrgSettings::default()));
    let eve = user("acme/eve");
    let phone = enroll_in(&firm, &eve, &acme);
    let mut until = None;
    for _ in 0..20 {
        let _ = run(firm.mfa.verify_code(&eve, &phone.wrong_code(), &acme)).unwrap();
        until = firm.audit.events().iter().find_map(|event| match event.kind {
            EventKind::LockoutStarted { until } => Some(until),
            _ => None,
        });
        if until.is_some() {
            break;
        }
    }
    let until = until.expect("a lockout");
    firm.clock.set(until - 1);
    let report = run(firm.mfa.evidence_report("acme", &acme)).unwrap();
    let counts = report.users.counts;
    assert_eq!((counts.locked, counts.set_up, report.users.with_mfa), (1, 0, 1));
    let status = run(firm.mfa.status(&eve, &acme)).unwrap();
    assert!(matches!(status.compliance, Some(Compliance::Locked { until: u }) if u == until), "{status:?}");
    firm.clock.set(until);
    let report = run(firm.mfa.evidence_report("acme", &acme)).unwrap();
    let counts = report.users.counts;
    assert_eq!((counts.locked, counts.set_up, report.users.with_mfa), (0, 1, 1));
}

// `MfaService::prune_audit`: "A store that fails part way leaves the batches
// already deleted deleted, and the event of those is still written if the store takes
// it", and "# Errors … [`Error::Store`] (batches deleted before the failure stay
// deleted: run it again)": the first batch of `PRUNE_BATCH` goes, the second fails, the
// call fails, the trail says 5,000 were pruned by the job, and a run again prunes the
// rest and says so.
#[test]
fn a_prune_failing_after_one_batch_still_audits_the_batch_deleted() {
    use mfa_kit::service::PRUNE_BATCH;
    let batch = PRUNE_BATCH as usize;
    let firm = flaky_firm(batch + 300);
    firm.clock.set(START + 400 * DAY);
    let acme = office().in_org("acme").with_org(Arc::new(OrgSettings::default()));
    let job = user("retention-job");
    firm.mfa.store().prunes_left.store(1, Ordering::SeqCst);
    let failed = run(firm.mfa.prune_audit(START + 100 * DAY, &job, &acme));
    assert!(matches!(failed, Err(Error::Store(_))), "{failed:?}");
    let trail = read_all(firm.mfa.store(), "acme", 0, u64::MAX, MAX_PAGE);
    let pruned: Vec<(String, u64)> = trail
        .iter()
        .filter_map(|event| match event.kind {
            EventKind::AuditPruned { deleted, .. } => Some((event.actor.as_str().to_string(), deleted)),
            _ => None,
        })
        .collect();
    assert_eq!(pruned, [("retention-job".to_string(), PRUNE_BATCH as u64)]);
    assert_eq!(trail.len(), 300 + 1, "the batch stays deleted");
    firm.mfa.store().prunes_left.store(usize::MAX, Ordering::SeqCst);
    assert_eq!(run(firm.mfa.prune_audit(START + 100 * DAY, &job, &acme)).unwrap(), 300);
    let left = read_all(firm.mfa.store(), "acme", 0, u64::MAX, MAX_PAGE);
    let kinds: Vec<&str> = left.iter().map(|event| event.kind.name()).collect();
    assert_eq!(kinds, ["audit_pruned", "audit_pruned"], "the two prunings' own events are left");
}

/// `EventKind::AuditPruned`: "`deleted` events that happened before `before` were
/// deleted". Pruned before 22:13:30, an event of 22:13:10 goes, and the sentence (in
/// both catalogues too) names 22:13:30: a minute cut down would say that nothing of
/// 22:13 was deleted.
#[test]
fn the_prunings_sentence_names_the_second_before_which_events_were_deleted() {
    let firm = firm();
    let minute = START - 20; // 2023-11-14 22:13:00 UTC
    run(firm.mfa.store().append_events(vec![plain(Some("acme"), "acme/ann", minute + 10, "deleted")]))
        .unwrap();
    firm.clock.set(START + 400 * DAY);
    let acme = office().in_org("acme").with_org(Arc::new(OrgSettings::default()));
    assert_eq!(run(firm.mfa.prune_audit(minute + 30, &user("retention-job"), &acme)).unwrap(), 1);
    let pruned = read_all(firm.mfa.store(), "acme", 0, u64::MAX, MAX_PAGE);
    let sentence = pruned[0].kind.sentence();
    assert_eq!(sentence, "Deleted 1 audit event from before 2023-11-14 22:13:30 UTC.");
    #[cfg(feature = "messages")]
    {
        let french = pruned[0].kind.message(mfa_kit::messages::Language::French);
        assert!(french.contains("22\u{a0}h\u{a0}13\u{a0}min\u{a0}30\u{a0}s UTC"), "{french}");
    }
}

/// `EventKind::DeviceRemembered`: "`expires_at`: When it stops being remembered": a
/// device remembered until 22:13:30 reads so, not "until 22:13" (a time at which it
/// still skips the second factor for 30 seconds).
#[test]
fn a_remembered_devices_sentence_names_the_second_it_stops_being_remembered() {
    let kind = EventKind::DeviceRemembered {
        device_id: "d1".into(),
        label: "laptop".into(),
        expires_at: START + 10,
    };
    let sentence = kind.sentence();
    assert_eq!(sentence, "Remembered the device \"laptop\" until 2023-11-14 22:13:30 UTC.");
}
