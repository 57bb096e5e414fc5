//! The compliance evidence an organisation hands its auditor: the evidence report, the
//! compliance counts, the status page and the trail export, against their rustdoc and
//! the README.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::flow::oversight::Compliance;
use mfa_kit::policy::{OrgSettings, SignInContext};
use mfa_kit::store::{MAX_PAGE, RecordQuery, Store};
use mfa_kit::{Destination, Refusal, RequestContext, Role, UserId};

/// Acme, where MFA is mandatory for everyone and codes by e-mail count as a factor.
fn acme_with_email() -> SignInContext {
    let settings = OrgSettings::builder().enforce_for_all(true).build().unwrap();
    office().in_org("acme").with_org(Arc::new(settings))
}

/// Acme after its admin stopped counting codes by e-mail as a factor (R30; what the
/// NIST preset does).
fn acme_without_email() -> SignInContext {
    let settings = OrgSettings::builder().enforce_for_all(true).allow_email_codes(false).build().unwrap();
    office().in_org("acme").with_org(Arc::new(settings))
}

/// `who` sets up an e-mail address as their only factor, in Acme while e-mail counts.
fn email_only(firm: &Firm, who: &UserId) -> Outbox {
    let outbox = Outbox::default();
    run(async {
        let email = Destination::email(&format!("{who}@acme.example").replace('/', ".")).unwrap();
        firm.mfa
            .add_destination(who, email, Role::Primary, &outbox, &acme_with_email())
            .await
            .unwrap()
            .unwrap();
        firm.mfa.confirm_destination(who, &outbox.last_code(), &acme_with_email()).await.unwrap().unwrap();
    });
    firm.clock.advance(60);
    outbox
}

/// `who` types five wrong e-mailed codes and is locked out.
fn lock_out_by_email(firm: &Firm, who: &UserId, outbox: &Outbox) {
    run(async {
        firm.mfa.send_sign_in_code(who, Role::Primary, outbox, &acme_with_email()).await.unwrap().unwrap();
        let wrong = if outbox.last_code() == "000000" { "111111" } else { "000000" };
        let mut locked = false;
        for _ in 0..5 {
            let outcome = firm.mfa.verify_sign_in_code(who, wrong, &acme_with_email()).await.unwrap();
            locked = matches!(outcome, Err(Refusal::LockedOut { .. }));
        }
        assert!(locked, "five wrong codes lock the user out");
    });
}

/// Every row of an organisation's status list, page by page.
fn status_rows(
    firm: &Firm,
    query: RecordQuery,
    context: &SignInContext,
) -> Vec<mfa_kit::flow::oversight::UserStatus> {
    let mut query = query;
    let mut rows = Vec::new();
    loop {
        let page = run(firm.mfa.status_page(&query, context)).unwrap();
        rows.extend(page.rows);
        let Some(next) = page.next else { return rows };
        query = query.after(Some(next));
    }
}

/// `UserCoverage::with_mfa` is "users with a second factor set up", and the status
/// page (same organisation, same rules, same moment) shows Raj without MFA: his only
/// factor is an e-mail address the organisation no longer counts, he is among the red
/// crosses (`without_mfa`), and MFA is mandatory. Locked out by wrong e-mailed codes,
/// he still stands where a user without MFA does: the report agrees with the page.
#[test]
fn a_locked_out_user_without_a_factor_the_org_counts_is_not_reported_as_having_mfa() {
    let firm = firm();
    let raj = user("acme/raj");
    let outbox = email_only(&firm, &raj);
    lock_out_by_email(&firm, &raj, &outbox);

    let rules = acme_without_email();
    let rows = status_rows(&firm, RecordQuery::org("acme", 10), &rules);
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].mfa, "the status page shows the red cross: e-mail is no factor here");
    let red = status_rows(&firm, RecordQuery::org("acme", 10).without_mfa(), &rules);
    assert_eq!(red.len(), 1, "Raj is among the users without MFA");

    let report = run(firm.mfa.evidence_report("acme", &rules)).unwrap();
    let ticks = rows.iter().filter(|row| row.mfa).count();
    assert_eq!(
        report.users.with_mfa, ticks,
        "the evidence counts {} user(s) with MFA where the status page shows {ticks} tick(s) ({:?})",
        report.users.with_mfa, report.users.counts
    );
    assert_eq!(report.users.required_without_mfa, 1, "MFA is mandatory and Raj has no factor that counts");
}

/// A status page, the compliance counts and the evidence report are read "under the
/// rules of `context`: the organisation's settings and jurisdiction"; the context a
/// host has for the admin's request is the admin's own. An admin who signed in through
/// single sign-on (`with_sso(true)`) does not make every listed user exempt: Ann, who
/// has an authenticator app, is set up and counted with MFA.
#[test]
fn an_admin_signed_in_through_sso_still_gets_the_users_with_mfa_counted() {
    let firm = firm();
    let ann = user("acme/ann");
    let start =
        run(firm.mfa.start_enrollment(&ann, "ann@acme.example", &acme_with_email())).unwrap().unwrap();
    let phone = Phone::scan(&start.uri, &firm.clock);
    let first = phone.code();
    firm.clock.advance(30);
    let second = phone.code();
    run(firm.mfa.confirm_enrollment(&ann, &[&first, &second], &acme_with_email())).unwrap().unwrap();

    let admin_via_sso = acme_with_email().with_sso(true);
    let rows = status_rows(&firm, RecordQuery::org("acme", 10), &admin_via_sso);
    assert!(rows[0].mfa, "Ann's row has the tick");
    assert_eq!(
        rows[0].compliance,
        Some(Compliance::SetUp),
        "Ann set MFA up; the admin's single sign-on says nothing about her"
    );
    let report = run(firm.mfa.evidence_report("acme", &admin_via_sso)).unwrap();
    assert_eq!(report.users.with_mfa, 1, "{:?}", report.users.counts);
}

/// A user who set MFA up in Acme and then changed something in Globex
/// (a new enrollment started there) is counted once, under Globex, where the record is
/// now filed; Acme's trail keeps the events made in Acme and Globex's those made there.
#[test]
fn a_user_who_moved_organisation_is_counted_once_under_the_new_one() {
    let firm = firm();
    let ann = user("ann");
    let start =
        run(firm.mfa.start_enrollment(&ann, "ann@acme.example", &acme_with_email())).unwrap().unwrap();
    let phone = Phone::scan(&start.uri, &firm.clock);
    let first = phone.code();
    firm.clock.advance(30);
    let second = phone.code();
    run(firm.mfa.confirm_enrollment(&ann, &[&first, &second], &acme_with_email())).unwrap().unwrap();
    firm.clock.advance(60);
    let globex = office().in_org("globex").with_org(Arc::new(OrgSettings::default()));
    run(firm.mfa.start_enrollment(&ann, "ann@globex.example", &globex)).unwrap().unwrap();

    let acme = run(firm.mfa.evidence_report("acme", &acme_with_email())).unwrap();
    let globex_report = run(firm.mfa.evidence_report("globex", &globex)).unwrap();
    assert_eq!(acme.users.total, 0);
    assert_eq!((globex_report.users.total, globex_report.users.with_mfa), (1, 1));
    assert_eq!(acme.audit.oldest_event, Some(START), "Acme's trail keeps Ann's set-up there");
    assert_eq!(globex_report.audit.oldest_event, Some(START + 90));
}

/// One event of a history loaded into the store.
fn event(org: &str, who: &str, at: u64, device: &str) -> AuditEvent {
    let context =
        RequestContext::from_address("198.51.100.1".parse().unwrap()).with_device(device).in_org(org);
    AuditEvent::new(&UserId::new(who), &UserId::new(who), at, &context, EventKind::LockoutEnded)
}

/// The evidence CSV of an organisation whose id a spreadsheet would
/// run as a formula keeps it as text.
#[test]
fn the_evidence_csv_defuses_a_formula_in_the_organisation_id() {
    let firm = firm();
    let org = "=HYPERLINK(\"http://x\",\"y\")";
    let context = office().in_org(org).with_org(Arc::new(OrgSettings::default()));
    let report = run(firm.mfa.evidence_report(org, &context)).unwrap();
    let rows = parse_csv(&report.to_csv());
    let id = rows.iter().find(|row| row[0] == "organisation" && row[1] == "id").unwrap();
    assert_eq!(id[2], format!("'{org}"));
    assert!(rows.iter().all(|row| row.len() == 3));
}

#[cfg(feature = "export")]
mod export {
    use super::*;
    use mfa_kit::flow::evidence::{ExportFormat, TRAIL_CSV_COLUMNS};

    fn chunks(firm: &Firm, org: &str, from: u64, until: u64, format: ExportFormat) -> Vec<String> {
        let mut export = firm.mfa.export_trail(org, from, until, format);
        let mut chunks = Vec::new();
        while let Some(chunk) = run(export.next_chunk()).unwrap() {
            chunks.push(chunk);
        }
        chunks
    }

    /// Many events in the same second straddle every page boundary,
    /// events sit on the range's first and last second and just outside it, and another
    /// organisation's events share the same seconds; each of Acme's events in the range
    /// is exported exactly once, in CSV and in JSON Lines, and nothing else is.
    #[test]
    fn events_of_one_second_across_page_boundaries_are_exported_exactly_once() {
        let firm = firm();
        let (from, until) = (START + 100, START + 200);
        let mut history = Vec::new();
        // 2,600 of Acme's events in one second, spread over many users (and so shards).
        for i in 0..2_600u64 {
            history.push(event("acme", &format!("acme/u{:03}", i % 37), from + 50, &format!("d{i}")));
        }
        for (at, tag) in [(from - 1, "before"), (from, "first"), (until - 1, "last"), (until, "after")] {
            for i in 0..3 {
                history.push(event("acme", &format!("acme/u{i:03}"), at, &format!("{tag}{i}")));
            }
        }
        for i in 0..500u64 {
            history.push(event("globex", &format!("globex/g{i:03}"), from + 50, &format!("g{i}")));
            history.push(event("acme-other", "acme/u001", from + 50, &format!("o{i}")));
        }
        run(firm.mfa.store().append_events(history)).unwrap();

        let mut expected: Vec<String> = (0..2_600).map(|i| format!("d{i}")).collect();
        expected.extend(["first", "last"].iter().flat_map(|tag| (0..3).map(move |i| format!("{tag}{i}"))));
        expected.sort();

        // CSV.
        let csv = chunks(&firm, "acme", from, until, ExportFormat::Csv);
        assert_eq!(csv.len(), 3, "2,606 events in pages of {MAX_PAGE}");
        let rows = parse_csv(&csv.concat());
        assert_eq!(rows[0], TRAIL_CSV_COLUMNS);
        let mut devices: Vec<String> = rows[1..].iter().map(|row| row[7].clone()).collect();
        assert!(rows[1..].iter().all(|row| row[8] == "acme"));
        let ids: Vec<i64> = rows[1..].iter().map(|row| row[0].parse().unwrap()).collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "no event twice");
        devices.sort();
        assert_eq!(devices, expected);
        assert_eq!(rows[1][1], "2023-11-14T22:15:00Z", "the first second of the range, RFC 3339 UTC");
        assert_eq!(rows.last().unwrap()[1], "2023-11-14T22:16:39Z", "the last second of the range");

        // JSON Lines.
        let text = chunks(&firm, "acme", from, until, ExportFormat::JsonLines).concat();
        let mut devices: Vec<String> = text
            .lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                value["event"]["context"]["device"].as_str().unwrap().to_string()
            })
            .collect();
        devices.sort();
        assert_eq!(devices, expected);
    }

    /// The devices of the events of a JSON Lines export, in its order.
    fn exported_devices(text: &str) -> Vec<String> {
        text.lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                value["event"]["context"]["device"].as_str().unwrap().to_string()
            })
            .collect()
    }

    /// `TrailExport::next_chunk`: "Events come in order of time": stored in another
    /// order (a late write, several users), they are exported by the second they
    /// happened in, one user's events of one second in the order they were stored.
    #[test]
    fn events_are_exported_in_order_of_time() {
        let firm = firm();
        let at = START + 50;
        for (user, second, device) in [
            ("acme/a", 2, "a-late"),
            ("acme/b", 0, "b-first"),
            ("acme/a", 1, "a-1"),
            ("acme/b", 1, "b-1"),
            ("acme/b", 1, "b-1-again"),
        ] {
            run(firm.mfa.store().append_events(vec![event("acme", user, at + second, device)])).unwrap();
        }
        let devices = exported_devices(&chunks(&firm, "acme", at, at + 3, ExportFormat::JsonLines).concat());
        assert_eq!(devices.first().map(String::as_str), Some("b-first"));
        assert_eq!(devices.last().map(String::as_str), Some("a-late"));
        let place = |device: &str| devices.iter().position(|d| d == device).unwrap();
        assert!(place("b-1") < place("b-1-again"), "{devices:?}");
        assert_eq!(devices.len(), 5);
    }

    /// User ids, actors and device labels that a spreadsheet would run
    /// (`=`, `+`, `-`, `@`, tab, carriage return) are exported as text, and commas,
    /// quotes and line breaks stay inside their cell.
    #[test]
    fn hostile_user_ids_and_devices_are_exported_as_text() {
        let firm = firm();
        let hostile = ["=1+1", "+SUM(A1)", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "a,b", "say \"hi\"", "x\ny"];
        let history: Vec<AuditEvent> =
            hostile.iter().enumerate().map(|(i, text)| event("acme", text, START + i as u64, text)).collect();
        run(firm.mfa.store().append_events(history)).unwrap();
        let text = chunks(&firm, "acme", 0, START + 100, ExportFormat::Csv).concat();
        let rows = parse_csv(&text);
        assert_eq!(rows.len(), 1 + hostile.len());
        for (row, text) in rows[1..].iter().zip(hostile) {
            assert_eq!(row.len(), TRAIL_CSV_COLUMNS.len());
            let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
            let shown = if risky { format!("'{text}") } else { text.to_string() };
            assert_eq!((&row[2], &row[3], &row[7]), (&shown, &shown, &shown));
            for cell in row {
                assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{cell:?}");
            }
        }
        // JSON Lines: one line per event, whatever the text.
        let lines = chunks(&firm, "acme", 0, START + 100, ExportFormat::JsonLines).concat();
        assert_eq!(lines.lines().count(), hostile.len());
    }

    /// A user's whole life (an app's secret and codes, a wrong code,
    /// e-mailed codes, recovery codes, a remembered device's token) leaves no secret and
    /// no code in either export nor in the evidence report.
    #[test]
    fn no_secret_or_code_reaches_an_export_or_the_report() {
        let firm = firm();
        let ann = user("acme/ann");
        let context = acme_with_email();
        let mut secrets: Vec<String> = Vec::new();
        let mut codes: Vec<String> = Vec::new();
        let start = run(firm.mfa.start_enrollment(&ann, "ann@acme.example", &context)).unwrap().unwrap();
        let secret = start.uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_string();
        secrets.push(secret);
        let phone = Phone::scan(&start.uri, &firm.clock);
        let first = phone.code();
        firm.clock.advance(30);
        let second = phone.code();
        codes.extend([first.clone(), second.clone()]);
        run(firm.mfa.confirm_enrollment(&ann, &[&first, &second], &context)).unwrap().unwrap();
        firm.clock.advance(60);
        let wrong = phone.wrong_code();
        codes.push(wrong.clone());
        assert!(run(firm.mfa.verify_code(&ann, &wrong, &context)).unwrap().is_err());
        let good = phone.code();
        codes.push(good.clone());
        run(firm.mfa.verify_code(&ann, &good, &context)).unwrap().unwrap();
        let recovery = run(firm.mfa.generate_recovery_codes(&ann, &context)).unwrap().unwrap();
        secrets.extend(recovery.iter().map(|code| code.as_str().to_string()));
        let device = run(firm.mfa.remember_device(&ann, "laptop", 3600, &context)).unwrap().unwrap();
        let outbox = Outbox::default();
        run(async {
            let email = Destination::email("ann@acme.example").unwrap();
            firm.mfa.add_destination(&ann, email, Role::Backup, &outbox, &context).await.unwrap().unwrap();
            codes.push(outbox.last_code());
            firm.mfa.confirm_destination(&ann, &outbox.last_code(), &context).await.unwrap().unwrap();
        });
        secrets.push(device.token.as_str().to_string());

        let mut texts = vec![
            chunks(&firm, "acme", 0, u64::MAX, ExportFormat::Csv).concat(),
            chunks(&firm, "acme", 0, u64::MAX, ExportFormat::JsonLines).concat(),
        ];
        let report = run(firm.mfa.evidence_report("acme", &context)).unwrap();
        texts.push(serde_json::to_string(&report).unwrap());
        texts.push(report.to_csv());
        assert!(texts[1].lines().count() >= 8, "{}", texts[1]);
        for text in &texts {
            for secret in &secrets {
                assert!(!text.contains(secret.as_str()), "a secret in an export: {secret}");
            }
            for code in &codes {
                // A code is six digits: look for it as a whole number, not inside a time.
                let found = text.match_indices(code.as_str()).any(|(at, _)| {
                    let before = text[..at].chars().next_back();
                    let after = text[at + code.len()..].chars().next();
                    !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
                });
                assert!(!found, "a code in an export: {code}");
            }
        }
    }
}
