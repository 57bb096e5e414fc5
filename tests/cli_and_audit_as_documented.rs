//! A review of two documented contracts, read as an outside user reads them:
//! the `totp` example's command line (`/work/shared/DESIGN.md` §3, README "The `totp`
//! command") and the audit trail with the auditor's evidence (R23, R24 of
//! `docs/requirements.md`; `src/event.rs`, `src/flow/evidence.rs`,
//! `src/flow/evidence/export.rs`, the service's `export_trail`, `evidence_report`,
//! `status_list`, `compliance_counts`, `prune_audit`).
//!
//! Each test quotes the sentence it checks (file:line at the time of writing).

mod common;

#[path = "support/totp_command.rs"]
mod totp_command;

use std::process::Output;

use std::sync::Arc;
use totp_command::totp;

use common::*;
use mfa_kit::event::{AuditEvent, AuditOutcome, EventKind};
use mfa_kit::otp::Secret;
use mfa_kit::policy::{OrgSettings, Preset, SignInContext};
use mfa_kit::store::{AuditQuery, ReadAudit, Store};
use mfa_kit::{Method, RejectionReason, RequestContext, UserId};

// ---------------------------------------------------------------------------------
// The `totp` command line
// ---------------------------------------------------------------------------------

fn out(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn err(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The RFC 6238 Appendix B seeds, base32: 20, 32 and 64 bytes of "1234567890…".
fn rfc6238_seed(algorithm: &str) -> String {
    let len = match algorithm {
        "sha1" => 20,
        "sha256" => 32,
        _ => 64,
    };
    let bytes: Vec<u8> = b"1234567890".iter().copied().cycle().take(len).collect();
    Secret::from_bytes(&bytes).unwrap().to_base32().to_string()
}

// DESIGN.md:127 `totp code --secret B32 [--algorithm sha1|sha256|sha512] [--digits N]
// [--period S] [--time UNIX]` and DESIGN.md:133 "`code` and `hotp` print the code alone
// on one line (leading zeros kept)"; DESIGN.md:134 "`verify` exits 0 and prints the
// matched drift": the whole RFC 6238 Appendix B table (every time, every algorithm,
// 8 digits), each code also verified at its own time with drift 0. tests/totp_cli.rs
// checks single entries only.
#[test]
fn the_whole_rfc6238_table_for_every_algorithm() {
    let table: [(&str, [&str; 3]); 6] = [
        ("59", ["94287082", "46119246", "90693936"]),
        ("1111111109", ["07081804", "68084774", "25091201"]),
        ("1111111111", ["14050471", "67062674", "99943326"]),
        ("1234567890", ["89005924", "91819424", "93441116"]),
        ("2000000000", ["69279037", "90698825", "38618901"]),
        ("20000000000", ["65353130", "77737706", "47863826"]),
    ];
    for (time, codes) in table {
        for (algorithm, code) in ["sha1", "sha256", "sha512"].into_iter().zip(codes) {
            let seed = rfc6238_seed(algorithm);
            let base = ["--secret", seed.as_str(), "--algorithm", algorithm, "--digits", "8", "--time", time];
            let mut args = vec!["code"];
            args.extend_from_slice(&base);
            let o = totp(&args);
            assert_eq!((o.status.code(), out(&o)), (Some(0), format!("{code}\n")), "{args:?}: {}", err(&o));
            let mut args = vec!["verify", "--code", code];
            args.extend_from_slice(&base);
            let o = totp(&args);
            assert_eq!((o.status.code(), out(&o)), (Some(0), "0\n".to_string()), "{args:?}: {}", err(&o));
        }
    }
}

// DESIGN.md:128 `totp hotp --secret B32 --counter N` and DESIGN.md:133 (the code alone
// on one line): RFC 4226 Appendix D, all ten counters (tests/totp_cli.rs checks one).
#[test]
fn the_whole_rfc4226_table() {
    let seed = rfc6238_seed("sha1");
    let codes =
        ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
    for (counter, code) in codes.iter().enumerate() {
        let counter = counter.to_string();
        let o = totp(&["hotp", "--secret", &seed, "--counter", &counter]);
        assert_eq!((o.status.code(), out(&o)), (Some(0), format!("{code}\n")), "counter {counter}");
    }
}

// DESIGN.md:142 "Base32 input is accepted in upper or lower case, with or without
// padding and spaces" and DESIGN.md:137 "`uri parse` prints one JSON object with keys
// … `secret` (base32, no padding)": the secret inside a URI read in lower case,
// padded (raw or percent-encoded `=`), with a space, always printed upper case without
// padding.
#[test]
fn uri_parse_reads_the_secret_in_any_spelling_and_prints_it_unpadded() {
    for (uri, secret) in [
        ("otpauth://totp/a?secret=jbswy3dpehpk3pxp", "JBSWY3DPEHPK3PXP"),
        ("otpauth://totp/a?secret=MZXW6===", "MZXW6"),
        ("otpauth://totp/a?secret=mzxw6%3D%3D%3D", "MZXW6"),
        ("otpauth://totp/a?secret=JBSW%20Y3DP", "JBSWY3DP"),
    ] {
        let o = totp(&["uri", "parse", uri]);
        assert_eq!(o.status.code(), Some(0), "{uri}: {}", err(&o));
        assert_eq!(out(&o).lines().count(), 1, "{uri}");
        let json: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
        assert_eq!(json["secret"], secret, "{uri}");
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["account", "algorithm", "counter", "digits", "issuer", "period", "secret", "type"],
            "exactly the documented keys"
        );
    }
}

// DESIGN.md:140 "Any bad input (…, digits outside 6..=8, …, malformed URI): exit 2 with
// a one-line error on stderr naming what was wrong": digits out of range inside a URI,
// on both sides, and a broken percent-encoding (tests/totp_cli.rs has `digits=12` only).
#[test]
fn uri_parse_refuses_digits_outside_six_to_eight_and_broken_escapes() {
    for (uri, needle) in [
        ("otpauth://totp/a?secret=JBSWY3DP&digits=5", "digits"),
        ("otpauth://totp/a?secret=JBSWY3DP&digits=9", "digits"),
        ("otpauth://totp/a%ZZ?secret=JBSWY3DP", "percent"),
        ("otpauth://totp/a?secret=JBSWY3DP&period=abc", "period"),
    ] {
        let o = totp(&["uri", "parse", uri]);
        assert_eq!(o.status.code(), Some(2), "{uri}");
        assert!(o.stdout.is_empty(), "{uri}");
        assert_eq!(err(&o).lines().count(), 1, "{uri}: {}", err(&o));
        assert!(err(&o).contains(needle), "{uri}: {}", err(&o));
    }
}

// DESIGN.md:130 `totp uri make --issuer I --account A …` (the issuer is a required
// argument) and DESIGN.md:136-138 (`uri make` prints the URI; `uri parse` prints
// `issuer`): a blank issuer is bad input (exit 2, one line naming it), as a blank
// account is, not dropped from the URI without a word.
#[test]
fn uri_make_with_an_empty_issuer_is_bad_input_like_an_empty_account() {
    let o = totp(&["uri", "make", "--issuer", "", "--account", "a", "--secret", "JBSWY3DP"]);
    assert_eq!((o.status.code(), out(&o)), (Some(2), String::new()), "an empty --issuer: {:?}", out(&o));
    assert!(err(&o).contains("issuer"), "{}", err(&o));
}

// ---------------------------------------------------------------------------------
// The audit trail, its export and the evidence report
// ---------------------------------------------------------------------------------

fn event_in(org: Option<&str>, who: &str, at: u64, kind: EventKind) -> AuditEvent {
    let mut context = RequestContext::from_address("198.51.100.1".parse().unwrap()).with_device("Edge");
    if let Some(org) = org {
        context = context.in_org(org);
    }
    AuditEvent::new(&UserId::new(who), &UserId::new(who), at, &context, kind)
}

fn wrong(at: u64, org: Option<&str>, who: &str) -> AuditEvent {
    event_in(
        org,
        who,
        at,
        EventKind::CodeRejected {
            method: Method::Totp,
            reason: RejectionReason::Wrong,
            consecutive_failures: 1,
        },
    )
}

#[cfg(feature = "export")]
fn export_all(
    firm: &Firm,
    org: &str,
    from: u64,
    until: u64,
    format: mfa_kit::flow::evidence::ExportFormat,
) -> String {
    let mut export = firm.mfa.export_trail(org, from, until, format);
    let mut file = String::new();
    while let Some(chunk) = run(export.next_chunk()).unwrap() {
        file.push_str(&chunk);
    }
    file
}

// src/service/export.rs:12 "Organisation `org`'s audit trail from `from` (inclusive) to
// `until` (exclusive)"; src/flow/evidence/export.rs:20-22 the CSV columns ("the event's
// store id, its time (RFC 3339 UTC), user, actor, outcome, kind, address, device,
// organisation, a sentence …, and the whole event as JSON") and :25 "JSON Lines: one
// object {"id":…,"event":{…}} per line": events one second either side of the period
// are left out, the two formats give the same ids, and each CSV cell is the documented
// field of the event.
#[cfg(feature = "export")]
#[test]
fn an_export_holds_from_inclusive_to_until_exclusive_with_the_same_ids_in_both_formats() {
    use mfa_kit::flow::evidence::{ExportFormat, TRAIL_CSV_COLUMNS};
    let firm = firm();
    let (from, until) = (START, START + 100);
    let history = vec![
        wrong(from - 1, Some("acme"), "acme/before"),
        wrong(from, Some("acme"), "acme/first"),
        wrong(until - 1, Some("acme"), "acme/last"),
        wrong(until, Some("acme"), "acme/after"),
        wrong(from + 1, Some("globex"), "globex/gus"),
        wrong(from + 2, None, "nobody"),
    ];
    run(firm.mfa.store().append_events(history.clone())).unwrap();

    let rows = parse_csv(&export_all(&firm, "acme", from, until, ExportFormat::Csv));
    assert_eq!(rows[0], TRAIL_CSV_COLUMNS);
    let users: Vec<&str> = rows[1..].iter().map(|row| row[2].as_str()).collect();
    assert_eq!(users, ["acme/first", "acme/last"]);
    let first = &rows[1];
    assert_eq!(first[1], "2023-11-14T22:13:20Z", "RFC 3339 UTC");
    assert_eq!(
        (first[3].as_str(), first[4].as_str(), first[5].as_str()),
        ("acme/first", "failure", "code_rejected")
    );
    assert_eq!((first[6].as_str(), first[7].as_str(), first[8].as_str()), ("198.51.100.1", "Edge", "acme"));
    assert_eq!(first[9], history[1].kind.sentence());
    assert_eq!(serde_json::from_str::<AuditEvent>(&first[10]).unwrap(), history[1]);

    let jsonl = export_all(&firm, "acme", from, until, ExportFormat::JsonLines);
    let lines: Vec<serde_json::Value> =
        jsonl.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    for (line, row) in lines.iter().zip(&rows[1..]) {
        assert_eq!(line.as_object().unwrap().len(), 2, "{{\"id\",\"event\"}} only: {line}");
        assert_eq!(line["id"].as_i64().unwrap().to_string(), row[0], "the same store id in both formats");
        assert_eq!(line["event"]["user"], row[2].as_str());
    }

    // An empty period: CSV is its header alone; JSON Lines is nothing at all.
    let empty = export_all(&firm, "acme", until + 10, until + 20, ExportFormat::Csv);
    assert_eq!(empty, ExportFormat::Csv.header());
    assert_eq!(export_all(&firm, "acme", until + 10, until + 20, ExportFormat::JsonLines), "");
}

// src/vocabulary/identity.rs:266-268 (`RequestContext::org`) "`None`: … the request is
// not made in one (a background job); its events are then filed under the
// organisation of the user's record", and src/event.rs `AuditEvent::org` "its
// request's, or for a request made in none, that of the user's record": a sign-in made
// in no organisation by a user set up in Acme lands in Acme's export and evidence.
#[cfg(feature = "export")]
#[test]
fn a_request_made_in_no_organisation_is_filed_under_the_users_record() {
    use mfa_kit::flow::evidence::ExportFormat;
    let firm = firm();
    let acme = office().in_org("acme").with_org(Arc::new(OrgSettings::default()));
    let ann = user("acme/ann");
    let phone = enroll_in(&firm, &ann, &acme);
    firm.clock.advance(30);
    let outcome = run(firm.mfa.verify_code(&ann, &phone.code(), &office())).unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");

    let served = firm.audit.events();
    let accepted = served.iter().find(|e| matches!(e.kind, EventKind::CodeAccepted { .. })).unwrap();
    assert_eq!(accepted.org().map(|org| org.as_str()), Some("acme"));
    let rows = parse_csv(&export_all(&firm, "acme", 0, u64::MAX, ExportFormat::Csv));
    assert!(rows.iter().any(|row| row[5] == "code_accepted" && row[8] == "acme"), "{rows:?}");
}

// src/flow/evidence.rs:78-85 (`AuditCoverage`): "`oldest_event`: When the oldest event
// kept for the organisation happened, if any is kept", "`retention_covered` … `false`
// for a younger organisation too … and for one with no event at all"; :151-152
// `to_csv` "times in RFC 3339 UTC": an organisation with records but no event yet
// (events filed elsewhere only) has no oldest event, is not covered, and its CSV leaves
// `oldest_event` empty while `required_from` is a full RFC 3339 time.
#[test]
fn an_organisation_without_a_trail_is_reported_as_not_covered() {
    let firm = firm();
    run(firm.mfa.store().append_events(vec![wrong(START - 400 * 86_400, Some("globex"), "globex/gus")]))
        .unwrap();
    let settings = OrgSettings::builder().presets(vec![Preset::AtoOperationalSecurity]).build().unwrap();
    let acme = office().in_org("acme").with_org(Arc::new(settings));
    let report = run(firm.mfa.evidence_report("acme", &acme)).unwrap();
    assert_eq!(report.audit.oldest_event, None);
    assert!(!report.audit.retention_covered);
    assert_eq!(report.audit.retention_kept, Preset::TWELVE_MONTHS);
    assert_eq!(report.audit.required_from, START - Preset::TWELVE_MONTHS.max(365 * 86_400));
    let csv = parse_csv(&report.to_csv());
    let value = |item: &str| csv.iter().find(|row| row[0] == "audit" && row[1] == item).unwrap()[2].clone();
    assert_eq!(value("oldest_event"), "");
    assert_eq!(value("retention_covered"), "false");
    assert_eq!(value("required_from").len(), "2022-11-13T22:13:20Z".len());
    assert!(value("required_from").ends_with('Z'));
}

// src/service/retention.rs:14-16 "Deletes the audit events filed under the context's
// organisation (… a context in none: the events filed under no organisation)" and
// :26-28 "A pruning that deleted anything is itself audited, after the deletion, under
// the organisation": a job run in no organisation leaves every organisation's trail
// alone, and a run that deletes nothing writes no event.
#[test]
fn pruning_in_no_organisation_touches_only_events_filed_under_none() {
    let firm = firm();
    let old = START - 1000;
    run(firm.mfa.store().append_events(vec![
        wrong(old, Some("acme"), "acme/ann"),
        wrong(old, None, "nobody"),
        wrong(old + 1, None, "nobody"),
    ]))
    .unwrap();
    let job = user("retention-job");
    let none = SignInContext::default();
    assert_eq!(run(firm.mfa.prune_audit(START - 10, &job, &none)).unwrap(), 2);
    let acme = run(firm.mfa.store().read_audit(&AuditQuery::org("acme", 0, u64::MAX, 10))).unwrap();
    assert_eq!(acme.events.len(), 1, "Acme's event stays");
    let everyone = run(firm.mfa.store().read_audit(&AuditQuery::range(0, u64::MAX, 10))).unwrap();
    let pruned: Vec<&AuditEvent> = everyone
        .events
        .iter()
        .map(|s| &s.event)
        .filter(|e| matches!(e.kind, EventKind::AuditPruned { .. }))
        .collect();
    assert_eq!(pruned.len(), 1);
    assert_eq!(pruned[0].kind, EventKind::AuditPruned { before: START - 10, deleted: 2 });
    assert_eq!((pruned[0].outcome, pruned[0].org()), (AuditOutcome::Success, None));

    // Nothing left to delete: no second event.
    assert_eq!(run(firm.mfa.prune_audit(START - 10, &job, &none)).unwrap(), 0);
    let everyone = run(firm.mfa.store().read_audit(&AuditQuery::range(0, u64::MAX, 10))).unwrap();
    assert_eq!(
        everyone.events.iter().filter(|s| matches!(s.event.kind, EventKind::AuditPruned { .. })).count(),
        1
    );
}

// README.md:158 "admin user list -> MfaService::status_list(users, context) who has MFA
// (under the org's allowed methods), since when, last used, locked" and R23
// (docs/requirements.md:89) "who has MFA, which methods, since when, last used": a row
// after a set-up and a sign-in names the method, the set-up time and the sign-in.
#[test]
fn the_status_list_row_says_which_method_since_when_and_last_used() {
    let firm = firm();
    let sarah = user("sarah");
    let enrolled_at = START + 30; // confirmed on the second code, a step after the start
    let phone = firm.enroll(&sarah);
    firm.prove(&sarah, &phone);
    let signed_in_at = START + 90; // a step after the phone's next code
    let rows = run(firm.mfa.status_list([&sarah, &user("nobody")], &office()));
    let row = rows[0].1.as_ref().unwrap();
    assert!(row.mfa);
    assert_eq!(row.methods, [Method::Totp]);
    assert_eq!(row.enrolled_since, Some(enrolled_at));
    assert_eq!((row.last_used, row.last_method), (Some(signed_in_at), Some(Method::Totp)));
    assert_eq!(row.locked_until, None);
    let nobody = rows[1].1.as_ref().unwrap();
    assert!(!nobody.mfa && nobody.methods.is_empty() && nobody.enrolled_since.is_none());
}

// src/event.rs:82-83 "`outcome` is `success` or `failure`; `context.address` is an IP
// address or null, `context.device` the host's label or null; times are seconds since
// the Unix epoch": an event from a request with neither writes both as null (the
// pinned example in tests/event_format.rs has both set).
#[test]
fn an_event_without_address_or_device_writes_them_as_null() {
    let event = AuditEvent::new(
        &user("sarah"),
        &user("admin"),
        START,
        &RequestContext::default(),
        EventKind::LockoutEnded,
    );
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["context"], serde_json::json!({"address": null, "device": null}));
    assert_eq!((json["outcome"].as_str(), json["at"].as_u64()), (Some("success"), Some(START)));
    assert_eq!(json["kind"], serde_json::json!({"kind": "lockout_ended"}));
    assert_eq!(event.sentence(), "2023-11-14 22:13 UTC, sarah (by admin): The lockout ended.");
}
