//! "Stored records and events of earlier formats must still read": forms written by
//! earlier commits, fed to today's crate through its public API, read and keep their
//! meaning through the service.

mod common;
#[path = "support/earlier_forms.rs"]
mod earlier_forms;

use common::*;
use earlier_forms::{as_format, as_format_1};
use mfa_kit::Refusal;
use mfa_kit::clock::Clock;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::flow::device::Remembered;
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::policy::{Decision, OrgSettings};
use mfa_kit::record::UserRecord;
use mfa_kit::store::{MemoryStore, SaveOutcome, Store};
use mfa_kit::{Reason, Role};
use serde_json::json;

const DAY: u64 = 86_400;
const KEY: [u8; 32] = [7u8; 32];

/// A firm whose hash key is `KEY`, so a record made by one reads under another.
fn keyed_firm(store: MemoryStore) -> Firm {
    firm_with(store, |b| b.hash_key(HashKey::from_bytes(&KEY).unwrap()))
}

/// Saves the earlier form into a new MemoryStore (as a host's migrated row) and
/// returns a keyed firm over it, its clock at `now`.
fn firm_over(old: UserRecord, now: u64) -> Firm {
    let store = MemoryStore::new();
    let saved = run(store.save(old, None, Vec::new())).unwrap();
    assert!(matches!(saved, SaveOutcome::Saved(_)), "{saved:?}");
    let firm = keyed_firm(store);
    firm.clock.set(now);
    firm
}

// ---------------------------------------------------------------------------------
// Forms whose meaning needed a rule of their own to keep.
// ---------------------------------------------------------------------------------

/// A settings change as written from c34b1bb (lockouts double up to
/// `max_lock_seconds`) to 81d3c71^: the admin set `max_lock_seconds` to 0, which
/// c34b1bb's `LockoutRule::lock_duration` read as "no growth: every lockout lasts
/// `lock_seconds`" (`.min(max_lock_seconds.max(lock_seconds))`), and whose validate()
/// did not refuse. The fields are those of the settings change pinned before
/// `fresh_proof_window` (tests/earlier_formats.rs SETTINGS_CHANGES_PINNED_BEFORE[1]).
/// Refused on reading since 81d3c71 (and with it the audit event holding it), it now
/// reads as it meant: no growth.
const SETTINGS_NO_GROWTH_C34B1BB: &str = r#"{"levels":{},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900,"max_lock_seconds":0,"hard_limit":100},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"allow_self_deactivation":true,"allow_email_codes":true,"allow_sms_codes":true,"max_totp_period":null}"#;

#[test]
fn a_settings_change_stored_with_a_longest_lockout_of_0_still_reads() {
    let old = SETTINGS_NO_GROWTH_C34B1BB.replace(r#""max_lock_seconds":0"#, r#""max_lock_seconds":86400"#);
    let event = format!(
        r#"{{"user":"admin","actor":"admin","at":1700000060,"outcome":"success","kind":{{"kind":"org_settings_changed","org":"smith-co","old":{old},"new":{SETTINGS_NO_GROWTH_C34B1BB}}},"context":{{"address":"203.0.113.7","device":null}}}}"#
    );
    let read: Result<AuditEvent, _> = serde_json::from_str(&event);
    assert!(read.is_ok(), "the audit event stored at c34b1bb..81d3c71^ no longer reads: {:?}", read.err());
    let settings: Result<OrgSettings, _> = serde_json::from_str(SETTINGS_NO_GROWTH_C34B1BB);
    let settings =
        settings.unwrap_or_else(|e| panic!("the organisation's stored settings no longer read: {e}"));
    assert_eq!(settings.lockout().lock_seconds, 900);
}

/// The first release (b5ad364, and fd5e90e) locked for `lock_seconds` from the lockout,
/// with any length above 0 (settings.rs validate() at b5ad364 checks only
/// `lock_seconds == 0`), and stored `{ "consecutive", "locked_until" }` only: it refused
/// every code until `locked_until` (service.rs at b5ad364, line 439). Read today,
/// a lockout of more than a week (+ 5 minutes) is taken to have started
/// `locked_until - MAX_LOCK_SECONDS` (src/record/mod.rs `FailureState::is_locked`,
/// src/record/time.rs `lock_start`), a start in the future, so it was voided as
/// future-dated and the right code signed in at once. Such a lockout (the record kept
/// no start) now runs until its end, as it did then.
#[test]
fn a_lockout_of_more_than_a_week_from_the_first_release_still_runs() {
    let before = keyed_firm(MemoryStore::new());
    let sarah = user("sarah");
    let phone = before.enroll(&sarah);
    let locked_at = before.clock.now().unwrap();
    let live = run(before.mfa.record(&sarah)).unwrap();
    let mut old = as_format_1(serde_json::to_value(&live).unwrap());
    // LockoutRule { max_failures: 5, lock_seconds: 8 days }: the fifth wrong code.
    old["failures"] = json!({ "consecutive": 5, "locked_until": locked_at + 8 * DAY });
    let record: UserRecord = serde_json::from_value(old).expect("the first release's form reads");

    let an_hour_later = locked_at + 3600;
    let holds = record.failures().is_locked(an_hour_later);
    let after = firm_over(record, an_hour_later);
    before.clock.set(an_hour_later); // the phone's clock
    let right_code = run(after.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap();
    let voided: Vec<_> = after
        .events(&sarah)
        .into_iter()
        .filter(|kind| matches!(kind, EventKind::FutureDatedVoided { .. }))
        .collect();
    assert!(
        holds && matches!(right_code, Err(Refusal::LockedOut { .. })),
        "an eight-day lockout of the first release, an hour in: is_locked = {holds}, the right code: \
         {right_code:?}, voided: {voided:?}"
    );
}

/// Organisation settings as stored before lockouts grew (5e5c1d0 to c34b1bb^; the
/// settings change pinned at 57d0b62, tests/earlier_formats.rs
/// SETTINGS_CHANGES_PINNED_BEFORE[4]), with a lockout of two days: then every lockout
/// lasted `lock_seconds` (proof.rs at b5ad364, line 114: `until = now + lock_seconds`),
/// and c34b1bb kept a first lockout of `lock_seconds` however short `max_lock_seconds`
/// (`.min(max_lock_seconds.max(lock_seconds))`). Read today, the missing
/// `max_lock_seconds` takes its default (a day, src/vocabulary/reason.rs
/// `default_max_lock_seconds`) and `LockoutRule::lock_duration` capped every lockout at
/// it: the stored two-day lockout locked for one day. A stored rule without
/// `max_lock_seconds` now reads as no growth, every lockout lasting `lock_seconds`.
const SETTINGS_5E5C1D0_TWO_DAY_LOCKOUT: &str = r#"{"levels":{},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":172800},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"allow_self_deactivation":true}"#;

#[test]
fn settings_stored_before_lockouts_grew_keep_their_lockout_length() {
    let settings: OrgSettings = serde_json::from_str(SETTINGS_5E5C1D0_TWO_DAY_LOCKOUT).unwrap();
    assert_eq!(settings.lockout().lock_seconds, 2 * DAY, "the stored value is kept");
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let in_org = office().with_org(std::sync::Arc::new(settings));
    let now = firm.clock.now().unwrap();
    for _ in 0..5 {
        let wrong = run(firm.mfa.verify_code(&sarah, &phone.wrong_code(), &in_org)).unwrap();
        assert!(wrong.is_err(), "{wrong:?}");
    }
    let right = run(firm.mfa.verify_code(&sarah, &phone.code(), &in_org)).unwrap();
    assert_eq!(
        right.err(),
        Some(Refusal::LockedOut { until: now + 2 * DAY }),
        "the organisation's stored two-day lockout (until = {}); one day would be {}",
        now + 2 * DAY,
        now + DAY
    );
}

// ---------------------------------------------------------------------------------
// Earlier forms no other test takes through the service.
// ---------------------------------------------------------------------------------

// live records rewritten as formats 2, 3 and 4 (record_format.rs and
// earlier_formats.rs read those forms with serde only; only format 1 goes through the
// service) keep the replay floor, the used recovery code, the unused ones, the app's
// next code, and are written back as the current format.
#[test]
fn live_records_of_formats_2_3_and_4_keep_working_through_the_service() {
    for n in [2, 3, 4] {
        let before = keyed_firm(MemoryStore::new());
        let sarah = user("sarah");
        let phone = before.enroll(&sarah);
        run(async {
            let codes = before.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().unwrap();
            before.clock.advance(30);
            before.mfa.redeem_recovery_code(&sarah, codes[0].as_str(), &office()).await.unwrap().unwrap();
            before.clock.advance(30);
            let last_code = phone.code();
            before.mfa.verify_code(&sarah, &last_code, &office()).await.unwrap().unwrap();
            let live = before.mfa.record(&sarah).await.unwrap();
            let old: UserRecord = serde_json::from_value(as_format(n, serde_json::to_value(&live).unwrap()))
                .unwrap_or_else(|e| panic!("format {n} reads: {e}"));
            assert_eq!(old.authenticators(), live.authenticators(), "format {n}");

            let after = firm_over(old, before.clock.now().unwrap());
            let replay = after.mfa.verify_code(&sarah, &last_code, &office()).await.unwrap();
            assert!(
                matches!(replay, Err(Refusal::CodeReused { .. })),
                "format {n}, the last code: {replay:?}"
            );
            let used = after.mfa.redeem_recovery_code(&sarah, codes[0].as_str(), &office()).await.unwrap();
            assert!(matches!(used, Err(Refusal::CodeReused { .. })), "format {n}, used code: {used:?}");
            after.clock.advance(30);
            let unused = after.mfa.redeem_recovery_code(&sarah, codes[1].as_str(), &office()).await.unwrap();
            assert!(unused.is_ok(), "format {n}, an unused recovery code: {unused:?}");
            after.clock.advance(30);
            before.clock.set(after.clock.now().unwrap());
            let fresh = after.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap();
            assert!(fresh.is_ok(), "format {n}, the app's next code: {fresh:?}");
            let record = after.mfa.record(&sarah).await.unwrap();
            assert_eq!(record.format(), UserRecord::FORMAT, "format {n} written back");
            assert_eq!(record.recovery_codes().unwrap().remaining(), 8, "format {n}");
        });
    }
}

// a lockout running in a record of each earlier format (format 1 as
// `{ consecutive, locked_until }`, formats 2 to 4 with `locked_at`) refuses the right
// code through the service until it ends, and the code works after it
// (earlier_formats.rs checks format 1's FailureState only, not the service).
#[test]
fn a_lockout_running_in_a_record_of_each_earlier_format_still_runs_through_the_service() {
    for n in [1, 2, 3, 4] {
        let before = keyed_firm(MemoryStore::new());
        let sarah = user("sarah");
        let phone = before.enroll(&sarah);
        let now = before.clock.now().unwrap();
        let live = run(before.mfa.record(&sarah)).unwrap();
        let mut old = serde_json::to_value(&live).unwrap();
        old["failures"] = json!({
            "consecutive": 5, "locked_until": now + 900, "locked_at": now, "lockouts": 1, "disabled_at": null
        });
        let old = if n == 1 { as_format_1(old) } else { as_format(n, old) };
        let record: UserRecord = serde_json::from_value(old).unwrap();
        let after = firm_over(record, now + 60);
        before.clock.set(now + 60);
        let locked = run(after.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap();
        assert!(
            matches!(locked, Err(Refusal::LockedOut { until }) if until == now + 900),
            "format {n}: {locked:?}"
        );
        after.clock.set(now + 900 + 30);
        before.clock.set(now + 900 + 30);
        let free = run(after.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap();
        assert!(free.is_ok(), "format {n}, after the lockout: {free:?}");
        let record = run(after.mfa.record(&sarah)).unwrap();
        assert_eq!((record.format(), record.failures().consecutive()), (UserRecord::FORMAT, 0), "format {n}");
    }
}

// a sign-in code sent to the backup phone, stored as the first release stored
// it (b5ad364: no `issued_at`, no `send_by`), still verifies through the service after
// the upgrade; the destination and its role are kept.
#[test]
fn a_sign_in_code_pending_in_the_first_releases_form_still_verifies() {
    let before = keyed_firm(MemoryStore::new());
    let sarah = user("sarah");
    let outbox = with_backup_phone(&before, &sarah);
    run(before.mfa.send_sign_in_code(&sarah, Role::Backup, &outbox, &office())).unwrap().unwrap();
    let code = outbox.last_code();
    before.clock.advance(60);
    let live = run(before.mfa.record(&sarah)).unwrap();
    let old = as_format_1(serde_json::to_value(&live).unwrap());
    assert!(old["oob"]["challenge"].is_object() && old["oob"]["challenge"].get("issued_at").is_none());
    let record: UserRecord = serde_json::from_value(old).expect("the first release's form reads");
    let challenge = record.destination_state().challenge().expect("the code pending is kept");
    assert_eq!(
        (challenge.role(), challenge.issued_at(), challenge.awaiting_send()),
        (Role::Backup, None, None)
    );

    let after = firm_over(record, before.clock.now().unwrap());
    let proved = run(after.mfa.verify_sign_in_code(&sarah, &code, &office())).unwrap();
    assert!(proved.is_ok(), "the code sent before the upgrade: {proved:?}");
    let again = run(after.mfa.verify_sign_in_code(&sarah, &code, &office())).unwrap();
    assert!(again.is_err(), "and only once: {again:?}");
    let record = run(after.mfa.record(&sarah)).unwrap();
    assert_eq!(record.format(), UserRecord::FORMAT);
    let confirmed: Vec<_> = record
        .destination_state()
        .destinations()
        .iter()
        .filter(|d| d.confirmed_at().is_some())
        .map(|d| d.role())
        .collect();
    assert_eq!(confirmed, [Role::Backup]);
}

// a remembered device stored in the first release's form still lets its cookie
// skip the second factor after the upgrade (same hash key), and a revocation of the
// upgraded record still ends it.
#[test]
fn a_remembered_device_of_the_first_releases_form_still_lets_its_cookie_in() {
    let before = keyed_firm(MemoryStore::new());
    let sarah = user("sarah");
    before.enroll(&sarah);
    let Remembered { token, .. } =
        run(before.mfa.remember_device(&sarah, "Laptop", 30 * DAY, &office())).unwrap().unwrap();
    before.clock.advance(DAY);
    let live = run(before.mfa.record(&sarah)).unwrap();
    let record: UserRecord =
        serde_json::from_value(as_format_1(serde_json::to_value(&live).unwrap())).unwrap();
    let after = firm_over(record, before.clock.now().unwrap());
    let with_cookie = office().with_device_token(token);
    assert_eq!(
        run(after.mfa.sign_in_decision(&sarah, &with_cookie)).unwrap(),
        Ok(Decision::Allow { reason: Reason::RememberedDevice })
    );
}

// an enrollment in progress stored as the first release stored it (b5ad364: no
// `account`, `starts` or `adding`; earlier_formats.rs reads c34b1bb's with serde only)
// is confirmed through the service after the upgrade with the codes of the secret the
// phone scanned before it, and the app then signs in.
#[test]
fn an_enrollment_in_progress_in_the_first_releases_form_is_confirmed_after_the_upgrade() {
    let before = keyed_firm(MemoryStore::new());
    let tom = user("tom");
    let start = run(before.mfa.start_enrollment(&tom, "tom@smith.example", &office())).unwrap().unwrap();
    let phone = Phone::scan(&start.uri, &before.clock);
    before.clock.advance(60);
    let live = run(before.mfa.record(&tom)).unwrap();
    let old = as_format_1(serde_json::to_value(&live).unwrap());
    assert!(old.get("totp").is_none() && old["pending_enrollment"].get("adding").is_none());
    let record: UserRecord = serde_json::from_value(old).expect("the first release's form reads");
    assert!(record.pending_enrollment().is_some());

    let after = firm_over(record, before.clock.now().unwrap());
    let first = phone.code();
    after.clock.advance(30);
    before.clock.advance(30);
    let second = phone.code();
    let confirmed = run(after.mfa.confirm_enrollment(&tom, &[&first, &second], &office())).unwrap();
    assert!(confirmed.is_ok(), "the enrollment begun before the upgrade: {confirmed:?}");
    after.clock.advance(30);
    before.clock.advance(30);
    let signed_in = run(after.mfa.verify_code(&tom, &phone.code(), &office())).unwrap();
    assert!(signed_in.is_ok(), "{signed_in:?}");
    let record = run(after.mfa.record(&tom)).unwrap();
    assert_eq!((record.format(), record.authenticators().len()), (UserRecord::FORMAT, 1));
}

// src/record/legacy.rs: "A record of a later format than this crate knows keeps
// its number, so the service refuses it rather than write it back in a form that loses
// data." Only the status list's row checks this through the service
// (tests/operator_inputs.rs); here a sign-in, a sign-in decision, a status and the
// record itself are refused with `UnsupportedRecordFormat`, and nothing is saved over it.
#[test]
fn a_record_of_a_newer_format_is_refused_at_sign_in_and_left_as_stored() {
    use mfa_kit::service::Error;
    let before = keyed_firm(MemoryStore::new());
    let sarah = user("sarah");
    let phone = before.enroll(&sarah);
    let mut newer = serde_json::to_value(run(before.mfa.record(&sarah)).unwrap()).unwrap();
    newer["format"] = json!(UserRecord::FORMAT + 1);
    newer["a_field_of_the_next_format"] = json!({ "kept": true });
    let record: UserRecord = serde_json::from_value(newer).unwrap();
    let after = firm_over(record, before.clock.now().unwrap());
    let stored_version = run(after.mfa.store().load(&sarah)).unwrap().unwrap().version;
    let refused = |result: Result<(), Error>, what: &str| {
        assert!(
            matches!(result, Err(Error::UnsupportedRecordFormat { found, supported })
                if found == UserRecord::FORMAT + 1 && supported == UserRecord::FORMAT),
            "{what}: {result:?}"
        );
    };
    refused(run(after.mfa.verify_code(&sarah, &phone.code(), &office())).map(drop), "verify_code");
    refused(run(after.mfa.sign_in_decision(&sarah, &office())).map(drop), "sign_in_decision");
    refused(run(after.mfa.status(&sarah, &office())).map(drop), "status");
    refused(run(after.mfa.record(&sarah)).map(drop), "record");
    let stored = run(after.mfa.store().load(&sarah)).unwrap().unwrap();
    assert_eq!((stored.version, stored.record.format()), (stored_version, UserRecord::FORMAT + 1));
}

// a freeze stored in format 4 (0545063 added `frozen` and `disowned` without a
// format bump; record_format.rs reads them with serde only) still freezes MFA changes
// (here, a new set of recovery codes) through the service after the upgrade, and is
// written back in the current format.
#[test]
fn a_freeze_stored_in_format_4_still_holds_through_the_service() {
    let before = keyed_firm(MemoryStore::new());
    let sarah = user("sarah");
    before.enroll(&sarah);
    let now = before.clock.now().unwrap();
    let mut old = as_format(4, serde_json::to_value(run(before.mfa.record(&sarah)).unwrap()).unwrap());
    old["frozen"] = json!({ "since": now, "event_id": 4711 });
    old["disowned"] = json!([4711]);
    let record: UserRecord = serde_json::from_value(old).unwrap();
    assert_eq!(record.frozen().map(|f| (f.since, f.event_id)), Some((now, 4711)));
    let after = firm_over(record, now + 60);
    let refused = run(after.mfa.generate_recovery_codes(&sarah, &office())).unwrap();
    assert!(matches!(refused, Err(Refusal::AccountFrozen)), "{:?}", refused.map(|codes| codes.len()));
    let record = run(after.mfa.record(&sarah)).unwrap();
    assert_eq!((record.format(), record.frozen().is_some()), (UserRecord::FORMAT, true));
}
