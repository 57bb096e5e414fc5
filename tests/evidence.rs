//! An auditor visits two firms on one service. Acme Payroll, an Australian tax-data
//! firm, runs under the ATO preset with a grace deadline: of its five staff, three set
//! up MFA, one has only started (and has until the deadline), and one locked herself
//! out from a device whose label is hostile text. Globex, elsewhere, runs without a
//! preset. The admin pages through Acme's status list, the dashboard counts each state,
//! the evidence report shows the ATO's figures (in JSON and CSV), and Acme's trail for
//! a period is exported in CSV and JSON Lines, page by page, safe to open in Excel.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::flow::oversight::{Compliance, ComplianceCounts};
use mfa_kit::policy::{OrgSettings, Preset, SignInContext};
use mfa_kit::service::Error;
use mfa_kit::store::{MAX_PAGE, RecordQuery, Store};
use mfa_kit::{RequestContext, UserId};

const DAY: u64 = 86_400;
/// Acme's grace deadline for setting MFA up.
const DEADLINE: u64 = START + 30 * DAY;
/// When the staff set MFA up, after the imported history.
const SET_UP_AT: u64 = START + 3 * DAY;
/// Events of Acme's history loaded into the store before the staff's set-up: more
/// than two pages.
const HISTORY: u64 = 2_500;
/// What a user typed as a device name, or what a browser sent as its user agent.
const HOSTILE: &str = "=cmd|' /C calc'!A0, \"quoted\"\nsecond line";

fn acme() -> SignInContext {
    let settings = OrgSettings::builder()
        .presets(vec![Preset::AtoOperationalSecurity])
        .grace_until(Some(DEADLINE))
        .build()
        .unwrap();
    SignInContext::new(
        RequestContext::from_address("203.0.113.7".parse().unwrap()).with_device("Firefox on Windows"),
    )
    .in_org("acme")
    .with_org(Arc::new(settings))
}

fn acme_from_hostile_device() -> SignInContext {
    let mut context = acme();
    context.request.device = Some(HOSTILE.to_string());
    context
}

fn globex() -> SignInContext {
    office().in_org("globex").with_org(Arc::new(OrgSettings::default()))
}

/// Only starts setting MFA up: the record exists, filed under the organisation.
fn start_only(firm: &Firm, who: &UserId, context: &SignInContext) {
    run(firm.mfa.start_enrollment(who, &format!("{who}@example.com"), context)).unwrap().unwrap();
}

/// One event of the history loaded into the store (a migration from an older system).
fn history_event(org: &str, user: &str, at: u64) -> AuditEvent {
    let context = RequestContext::from_address("198.51.100.1".parse().unwrap()).in_org(org);
    AuditEvent::new(
        &UserId::new(user),
        &UserId::new(user),
        at,
        &context,
        EventKind::EnrollmentStarted { expires_at: at + 600 },
    )
}

/// The two firms. Returns the firm and Acme's history loaded into the store.
fn two_firms() -> (Firm, Vec<AuditEvent>) {
    let firm = firm();
    // A history: Acme's events a minute apart, Globex's between them.
    let acme_history: Vec<AuditEvent> =
        (0..HISTORY).map(|i| history_event("acme", "acme/ann", START + i * 60)).collect();
    let globex_history: Vec<AuditEvent> =
        (0..HISTORY / 2).map(|i| history_event("globex", "globex/gus", START + i * 120 + 30)).collect();
    let mut all = [acme_history.clone(), globex_history].concat();
    all.sort_by_key(|event| event.at);
    run(firm.mfa.store().append_events(all)).unwrap();

    firm.clock.set(SET_UP_AT);
    for name in ["acme/ann", "acme/bob", "acme/cat"] {
        enroll_in(&firm, &user(name), &acme());
    }
    start_only(&firm, &user("acme/dan"), &acme());
    let eve = user("acme/eve");
    let phone = enroll_in(&firm, &eve, &acme());
    for _ in 0..5 {
        let refused =
            run(firm.mfa.verify_code(&eve, &phone.wrong_code(), &acme_from_hostile_device())).unwrap();
        assert!(refused.is_err());
    }
    enroll_in(&firm, &user("globex/gus"), &globex());
    start_only(&firm, &user("globex/hal"), &globex());
    (firm, acme_history)
}

#[test]
fn the_admin_pages_through_acmes_status_list_and_sees_only_acmes_staff() {
    let (firm, _) = two_firms();
    let mut query = RecordQuery::org("acme", 2);
    let mut pages = Vec::new();
    loop {
        let page = run(firm.mfa.status_page(&query, &acme())).unwrap();
        pages.push(
            page.rows.iter().map(|row| (row.user.to_string(), row.compliance.unwrap())).collect::<Vec<_>>(),
        );
        let Some(next) = page.next else { break };
        query = query.after(Some(next));
    }
    let names =
        |page: &Vec<(String, Compliance)>| page.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>();
    assert_eq!(pages.len(), 3);
    assert_eq!(names(&pages[0]), ["acme/ann", "acme/bob"]);
    assert_eq!(names(&pages[1]), ["acme/cat", "acme/dan"]);
    assert_eq!(names(&pages[2]), ["acme/eve"]);
    let states: Vec<Compliance> = pages.concat().into_iter().map(|(_, state)| state).collect();
    assert_eq!(states[..3], [Compliance::SetUp; 3]);
    assert_eq!(states[3], Compliance::Required { deadline: Some(DEADLINE) });
    assert!(matches!(states[4], Compliance::Locked { until } if until > SET_UP_AT));

    // The red crosses only: Dan.
    let without = run(firm.mfa.status_page(&RecordQuery::org("acme", 10).without_mfa(), &acme())).unwrap();
    assert_eq!(without.rows.iter().map(|row| row.user.to_string()).collect::<Vec<_>>(), ["acme/dan"]);
    assert_eq!(without.next, None);

    // Globex's list under Globex's rules: MFA is not asked of Hal.
    let globex_page = run(firm.mfa.status_page(&RecordQuery::org("globex", 10), &globex())).unwrap();
    let globex_states: Vec<_> = globex_page.rows.iter().map(|row| row.compliance.unwrap()).collect();
    assert_eq!(globex_states, [Compliance::SetUp, Compliance::NotRequired]);
}

#[test]
fn one_organisations_list_is_never_read_under_anothers_rules() {
    let (firm, _) = two_firms();
    let mixed = run(firm.mfa.status_page(&RecordQuery::org("globex", 10), &acme()));
    assert!(matches!(mixed, Err(Error::OrgMismatch { .. })), "{mixed:?}");
    let counts = run(firm.mfa.compliance_counts("globex", &acme()));
    assert!(matches!(counts, Err(Error::OrgMismatch { .. })), "{counts:?}");
    let report = run(firm.mfa.evidence_report("acme", &globex()));
    assert!(matches!(report, Err(Error::OrgMismatch { .. })), "{report:?}");
    // Nor every organisation's records under Acme's rules.
    let everyone = run(firm.mfa.status_page(&RecordQuery::prefix("", 10), &acme()));
    assert!(matches!(everyone, Err(Error::OrgMismatch { asked: None, .. })), "{everyone:?}");
}

#[test]
fn the_dashboard_counts_each_state_over_every_page() {
    let (firm, _) = two_firms();
    let counts = run(firm.mfa.compliance_counts("acme", &acme())).unwrap();
    let mut expected = ComplianceCounts::default();
    (expected.set_up, expected.required_with_deadline, expected.locked) = (3, 1, 1);
    assert_eq!(counts, expected);
    let globex_counts = run(firm.mfa.compliance_counts("globex", &globex())).unwrap();
    let mut expected = ComplianceCounts::default();
    (expected.set_up, expected.not_required) = (1, 1);
    assert_eq!(globex_counts, expected);
    let nobody = run(firm.mfa.compliance_counts("initech", &office())).unwrap();
    assert_eq!(nobody, ComplianceCounts::default());
}

#[test]
fn a_firm_larger_than_a_page_is_counted_whole() {
    let firm = firm();
    let users = MAX_PAGE as usize + 7;
    // A big practice: everyone has started setting MFA up, nobody has finished.
    for i in 0..users {
        start_only(&firm, &user(&format!("acme/{i:05}")), &acme());
    }
    let counts = run(firm.mfa.compliance_counts("acme", &acme())).unwrap();
    assert_eq!(counts.required_with_deadline, users);
}

#[test]
fn the_evidence_report_shows_the_ato_figures_for_acme_in_json_and_csv() {
    let (firm, _) = two_firms();
    let report = run(firm.mfa.evidence_report("acme", &acme())).unwrap();
    assert_eq!(report.org.as_str(), "acme");
    assert_eq!((report.users.total, report.users.with_mfa, report.users.required_without_mfa), (5, 4, 1));
    assert_eq!(report.users.counts.locked, 1);
    assert_eq!(report.presets, [Preset::AtoOperationalSecurity]);
    assert_eq!(report.mfa_mandatory_for_all, Some(true));
    assert_eq!((report.lockout.max_failures, report.lockout.hard_limit), (5, 100));
    assert!(report.remember_device_max < DAY, "the ATO asks for less than 24 hours");
    assert_eq!(report.remember_device_max, Preset::REMEMBER_CAP);
    assert_eq!(report.fresh_proof_window, 300);
    assert_eq!((report.session_lifetime, report.session_idle_timeout), (12 * 3600, 3600));
    assert_eq!(
        report.audit.fields,
        ["user", "actor", "time", "outcome", "kind", "address", "device", "organisation"]
    );
    assert_eq!(report.audit.oldest_event, Some(START));
    assert!(!report.audit.retention_covered, "three days of trail are not twelve months");

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["org"], "acme");
    assert_eq!(json["users"]["total"], 5);
    assert_eq!(json["users"]["counts"]["required_with_deadline"], 1);
    assert_eq!(json["presets"], serde_json::json!(["ato_operational_security"]));
    assert_eq!(json["lockout"]["max_failures"], 5);
    assert_eq!(json["remember_device_max"], 43_200);
    assert_eq!(json["audit"]["oldest_event"], START);
    assert_eq!(json["audit"]["retention_covered"], false);

    let csv = parse_csv(&report.to_csv());
    assert_eq!(csv[0], ["section", "item", "value"]);
    let value = |section: &str, item: &str| {
        let row = csv.iter().find(|row| row[0] == section && row[1] == item);
        row.unwrap_or_else(|| panic!("no {section},{item}"))[2].clone()
    };
    assert_eq!(value("users", "total"), "5");
    assert_eq!(value("users", "with_mfa"), "4");
    assert_eq!(value("compliance", "locked"), "1");
    assert_eq!(value("policy", "presets"), "ato_operational_security");
    assert_eq!(value("lockout", "max_failures"), "5");
    assert_eq!(value("lockout", "lock_seconds"), "900");
    assert_eq!(value("remembered_devices", "max_seconds"), "43200");
    assert_eq!(value("step_up", "fresh_proof_window_seconds"), "300");
    assert_eq!(value("session", "lifetime_seconds"), "43200");
    assert_eq!(value("audit", "oldest_event"), "2023-11-14T22:13:20Z");
    assert_eq!(value("audit", "retention_covered"), "false");
    assert!(csv.iter().all(|row| row.len() == 3));

    // Globex: no preset, the defaults.
    let globex = run(firm.mfa.evidence_report("globex", &globex())).unwrap();
    assert!(globex.presets.is_empty());
    assert_eq!(globex.mfa_mandatory_for_all, Some(false));
    assert_eq!(globex.remember_device_max, OrgSettings::DEFAULT_REMEMBER_DEVICE_MAX);
    assert_eq!((globex.users.total, globex.users.with_mfa), (2, 1));
}

#[test]
fn twelve_months_are_covered_once_the_trail_reaches_back_a_calendar_year() {
    let (firm, _) = two_firms();
    // 2024 is a leap year: 365 days after the first event is one day short of a year.
    firm.clock.set(START + 365 * DAY);
    let short = run(firm.mfa.evidence_report("acme", &acme())).unwrap();
    assert!(!short.audit.retention_covered);
    assert_eq!(short.audit.required_from, START - DAY);
    firm.clock.set(START + 366 * DAY);
    let year = run(firm.mfa.evidence_report("acme", &acme())).unwrap();
    assert_eq!(year.audit.required_from, START);
    assert!(year.audit.retention_covered);
    // A year on, Eve's lockout has ended and Dan's grace deadline has passed.
    assert_eq!((year.users.counts.set_up, year.users.counts.required), (4, 1));
    // Globex's own trail starts 30 s later, so it is still short of a year.
    let globex = run(firm.mfa.evidence_report("globex", &globex())).unwrap();
    assert_eq!(globex.audit.oldest_event, Some(START + 30));
    assert!(!globex.audit.retention_covered);
}

/// The trail exported for auditors (feature `export`).
#[cfg(feature = "export")]
mod export {
    use super::*;
    use mfa_kit::flow::evidence::{ExportFormat, TRAIL_CSV_COLUMNS};

    /// Every chunk of an export, in order.
    fn chunks(firm: &Firm, from: u64, until: u64, format: ExportFormat) -> Vec<String> {
        let mut export = firm.mfa.export_trail("acme", from, until, format);
        let mut chunks = Vec::new();
        while let Some(chunk) = run(export.next_chunk()).unwrap() {
            chunks.push(chunk);
        }
        assert_eq!(run(export.next_chunk()).unwrap(), None, "an export ends once");
        chunks
    }

    /// What Acme's trail holds in `from..until`, in order.
    fn acme_trail(firm: &Firm, history: &[AuditEvent], from: u64, until: u64) -> Vec<AuditEvent> {
        let served = firm.audit.events();
        history
            .iter()
            .chain(&served)
            .filter(|event| event.org().map(|org| org.as_str()) == Some("acme"))
            .filter(|event| from <= event.at && event.at < until)
            .cloned()
            .collect()
    }

    #[test]
    fn acmes_trail_for_a_period_exports_as_csv_page_by_page_safe_for_excel() {
        let (firm, history) = two_firms();
        let (from, until) = (START + 100 * 60, SET_UP_AT + DAY);
        let expected = acme_trail(&firm, &history, from, until);
        assert!(expected.len() > 2 * MAX_PAGE as usize, "{}", expected.len());
        assert!(expected.iter().any(|event| event.context.device.as_deref() == Some(HOSTILE)));

        let chunks = chunks(&firm, from, until, ExportFormat::Csv);
        assert_eq!(chunks.len(), expected.len().div_ceil(MAX_PAGE as usize), "one chunk per page");
        assert_eq!(parse_csv(&chunks[0]).len(), 1 + MAX_PAGE as usize, "the header, then a full page");
        let rows = parse_csv(&chunks.concat());
        assert_eq!(rows[0], TRAIL_CSV_COLUMNS);
        let rows = &rows[1..];
        assert_eq!(rows.len(), expected.len());
        let mut exported = Vec::new();
        for row in rows {
            assert_eq!(row.len(), TRAIL_CSV_COLUMNS.len());
            let event: AuditEvent = serde_json::from_str(&row[10]).unwrap();
            assert_eq!(row[2], event.user.as_str());
            assert_eq!(row[8], "acme");
            assert_eq!(row[9], event.kind.sentence());
            for cell in row {
                assert!(!cell.starts_with(['=', '+', '-', '@']), "a formula cell: {cell:?}");
            }
            exported.push((row[0].parse::<i64>().unwrap(), event));
        }
        assert_same_trail(&exported, expected);
        assert_eq!(
            rows[0][1], "2023-11-14T23:53:20Z",
            "the first event of the period (START + 100 minutes), in RFC 3339 UTC"
        );

        // The hostile label is kept, as text: quoted, with a leading quote mark.
        let hostile: Vec<_> = rows.iter().filter(|row| row[7].contains("cmd|")).collect();
        assert_eq!(hostile.len(), 6, "five wrong codes and the lockout");
        assert!(hostile.iter().all(|row| row[7] == format!("'{HOSTILE}")));
        assert!(
            hostile.iter().all(|row| row[5] == "code_rejected" || row[5] == "lockout_started"),
            "{:?}",
            hostile[0]
        );
        assert!(chunks.concat().lines().all(|line| !line.starts_with('=')));
    }

    #[test]
    fn acmes_trail_for_a_period_exports_as_json_lines_with_the_same_events() {
        let (firm, history) = two_firms();
        let (from, until) = (START + 100 * 60, SET_UP_AT + DAY);
        let expected = acme_trail(&firm, &history, from, until);

        let chunks = chunks(&firm, from, until, ExportFormat::JsonLines);
        assert_eq!(chunks.len(), expected.len().div_ceil(MAX_PAGE as usize));
        let text = chunks.concat();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), expected.len(), "one line per event: the device's line break is escaped");
        let exported: Vec<(i64, AuditEvent)> = lines
            .iter()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                (value["id"].as_i64().unwrap(), serde_json::from_value(value["event"].clone()).unwrap())
            })
            .collect();
        assert_same_trail(&exported, expected);
        assert!(text.contains("=cmd|' /C calc'!A0, \\\"quoted\\\"\\nsecond line"));

        // A period without events: nothing for JSON Lines, the header alone for CSV.
        assert!(chunks_of_empty(&firm, ExportFormat::JsonLines).is_empty());
        assert_eq!(chunks_of_empty(&firm, ExportFormat::Csv), [ExportFormat::Csv.header()]);
    }

    fn chunks_of_empty(firm: &Firm, format: ExportFormat) -> Vec<String> {
        chunks(firm, START - DAY, START, format)
    }

    #[test]
    fn nothing_secret_reaches_an_export() {
        let (firm, _) = two_firms();
        let text = chunks(&firm, 0, u64::MAX, ExportFormat::JsonLines).concat();
        for word in ["secret", "sealed", "otpauth", "hash"] {
            assert!(!text.to_lowercase().contains(word), "{word} in the export");
        }
    }

    /// The export holds exactly the expected events, each once, in the store's order: by
    /// time, then by the store's id (events at the same second may be stored in any order
    /// across users).
    fn assert_same_trail(exported: &[(i64, AuditEvent)], expected: Vec<AuditEvent>) {
        let order: Vec<(u64, i64)> = exported.iter().map(|(id, event)| (event.at, *id)).collect();
        assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "in order of time and id, each once");
        let key = |event: &AuditEvent| (event.at, serde_json::to_string(event).unwrap());
        let mut got: Vec<_> = exported.iter().map(|(_, event)| key(event)).collect();
        let mut want: Vec<_> = expected.iter().map(key).collect();
        got.sort();
        want.sort();
        assert_eq!(got.len(), want.len());
        assert!(got == want, "the export holds other events than Acme's in the period");
    }
}

#[test]
fn the_report_asks_what_the_ato_pruning_keeps_a_day_more_in_a_year_without_29_february() {
    let (firm, _) = two_firms();
    // A year after 2025-03-01 holds no 29 February: 12 calendar months are 365 days,
    // and the ATO preset keeps (and prunes after) 366.
    let march_2026 = 1_772_323_200; // 2026-03-01T00:00:00Z
    firm.clock.set(march_2026);
    let acme = run(firm.mfa.evidence_report("acme", &acme())).unwrap();
    assert_eq!(acme.audit.retention_kept, 366 * DAY);
    assert_eq!(
        acme.audit.required_from,
        march_2026 - 366 * DAY,
        "what the pruning keeps, a day before 2025-03-01"
    );
    let csv = parse_csv(&acme.to_csv());
    let kept = csv.iter().find(|row| row[0] == "audit" && row[1] == "retention_kept_seconds").unwrap();
    assert_eq!(kept[2], (366 * DAY).to_string());
    // Globex has no preset: nothing is kept by rule, and 12 calendar months are asked.
    let globex = run(firm.mfa.evidence_report("globex", &globex())).unwrap();
    assert_eq!(globex.audit.retention_kept, 0);
    assert_eq!(globex.audit.required_from, march_2026 - 365 * DAY, "2025-03-01");
}
