//! Stored records and events of earlier formats still read: every serialised form that
//! tests/record_format.rs and tests/event_format.rs pinned at some commit of the history
//! and pin no longer, read by today's crate with every value kept.
//!
//! The forms are each `PINNED*` constant of every earlier version of those two files
//! (`git show <commit>:tests/record_format.rs`); the current files keep the latest form
//! of each format only.

mod common;
#[path = "support/earlier_forms.rs"]
mod earlier_forms;

use common::*;
use earlier_forms::as_format_1;
use mfa_kit::Refusal;
use mfa_kit::clock::Clock;
use mfa_kit::event::EventKind;
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::record::UserRecord;
use mfa_kit::store::{MemoryStore, Store};
use serde_json::Value;

/// Every leaf (path, value) of `value` that is not empty (null, false, 0, [] or {}).
fn leaves(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                leaves(v, format!("{path}/{k}"), out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                leaves(v, format!("{path}/{i}"), out);
            }
        }
        Value::Null | Value::Bool(false) => {}
        Value::Number(n) if n.as_u64() == Some(0) => {}
        Value::Object(_) | Value::Array(_) => {}
        other => out.push((path, other.clone())),
    }
}

/// The paths of `old` whose value `new` does not hold at the same path, but for the
/// moves format 1 makes (`totp` into `authenticators/0`, `last_proof` into `proofs`)
/// and the format number.
fn lost(old: &Value, new: &Value) -> Vec<String> {
    let mut found = Vec::new();
    leaves(old, String::new(), &mut found);
    found
        .into_iter()
        .filter(|(path, value)| {
            if path == "/format" {
                return false;
            }
            let moved = if let Some(rest) = path.strip_prefix("/totp/") {
                format!("/authenticators/0/{rest}")
            } else if path == "/last_proof/at" {
                let method = old["last_proof"]["method"].as_str().unwrap();
                return new["proofs"][method] != *value;
            } else if path == "/last_proof/method" {
                return false;
            } else {
                path.clone()
            };
            new.pointer(&moved) != Some(value)
        })
        .map(|(path, value)| format!("{path} = {value}"))
        .collect()
}
/// The record format 1 as written after the lockout history (c34b1bb): its pending enrollment has no `account` or `starts`.
const RECORD_C34B1BB: &str = r#"{"devices":[{"created_at":1700000300,"expires_at":1700043500,"hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","id":"0123456789abcdef","label":"Firefox on Windows"}],"failures":{"consecutive":3,"disabled_at":null,"locked_at":null,"locked_until":null,"lockouts":0},"format":1,"last_proof":{"at":1700000095,"method":"recovery_code"},"must_enroll":false,"oob":{"challenge":{"attempts":1,"expires_at":1700000800,"hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","issued_at":null,"purpose":"sign_in","role":"backup"},"destinations":[{"added_at":1700000100,"confirmed_at":1700000160,"destination":{"address":"+61412345678","kind":"sms"},"role":"backup"}],"sent_at":[1700000200]},"pending_enrollment":{"expires_at":1700000700,"failed_attempts":2,"params":{"algorithm":"SHA256","digits":8,"period":60,"t0":0},"secret":{"ciphertext":"AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA","key_id":"plaintext-insecure"},"started_at":1700000100},"recovery":{"entries":[{"hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","used_at":null},{"hash":"BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","used_at":1700000095}],"generated_at":1700000090},"totp":{"created_at":1700000030,"drift":-1,"last_accepted_step":56666668,"last_used_at":1700000060,"params":{"algorithm":"SHA1","digits":6,"period":30,"t0":0},"secret":{"ciphertext":"AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA","key_id":"plaintext-insecure"}},"user":"sarah"}"#;
/// The record format 1 as written when the backup methods came (b5ad364): no `last_proof`, no `must_enroll`, no lockout history.
const RECORD_B5AD364: &str = r#"{"devices":[{"created_at":1700000300,"expires_at":1700043500,"hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","id":"0123456789abcdef","label":"Firefox on Windows"}],"failures":{"consecutive":3,"locked_until":null},"format":1,"oob":{"challenge":{"attempts":1,"expires_at":1700000800,"hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","purpose":"sign_in","role":"backup"},"destinations":[{"added_at":1700000100,"confirmed_at":1700000160,"destination":{"address":"+61412345678","kind":"sms"},"role":"backup"}],"sent_at":[1700000200]},"pending_enrollment":{"expires_at":1700000700,"failed_attempts":2,"params":{"algorithm":"SHA256","digits":8,"period":60,"t0":0},"secret":{"ciphertext":"AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA","key_id":"plaintext-insecure"},"started_at":1700000100},"recovery":{"entries":[{"hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","used_at":null},{"hash":"BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","used_at":1700000095}],"generated_at":1700000090},"totp":{"created_at":1700000030,"drift":-1,"last_accepted_step":56666668,"last_used_at":1700000060,"params":{"algorithm":"SHA1","digits":6,"period":30,"t0":0},"secret":{"ciphertext":"AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA","key_id":"plaintext-insecure"}},"user":"sarah"}"#;
/// The record format 4 as first pinned (5f8df7a): security keys, no freeze and no disowned links.
const RECORD_5F8DF7A: &str = r#"{"authenticators":[{"created_at":1700000030,"drift":-1,"id":"000000006553f11e","last_accepted_step":56666668,"last_used_at":1700000060,"name":"Authenticator app","params":{"algorithm":"SHA1","digits":6,"period":30,"t0":0},"secret":{"ciphertext":"AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA","key_id":"plaintext-insecure"}},{"created_at":1700000120,"drift":0,"id":"9f3c2a7be1d04c55","last_accepted_step":56666671,"last_used_at":null,"name":"Backup phone","params":{"algorithm":"SHA1","digits":6,"period":30,"t0":0},"secret":{"ciphertext":"AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA","key_id":"plaintext-insecure"}}],"ceremony":{"expires_at":1700000570,"kind":"authentication","started_at":1700000270,"state":"{\"challenge\":\"…\"}"},"devices":[{"created_at":1700000300,"expires_at":1700043500,"hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","id":"0123456789abcdef","label":"Firefox on Windows"}],"failures":{"consecutive":3,"disabled_at":null,"locked_at":null,"locked_until":null,"lockouts":0},"format":4,"generation":4,"must_enroll":false,"oob":{"challenge":{"attempts":1,"expires_at":1700000800,"hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","issued_at":null,"purpose":"sign_in","role":"backup"},"destinations":[{"added_at":1700000100,"confirmed_at":1700000160,"destination":{"address":"+61412345678","kind":"sms"},"role":"backup"}],"sent_at":[1700000200]},"pending_enrollment":{"account":null,"adding":"Desktop app","expires_at":1700000700,"failed_attempts":2,"params":{"algorithm":"SHA256","digits":8,"period":60,"t0":0},"secret":{"ciphertext":"AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA","key_id":"plaintext-insecure"},"started_at":1700000100,"starts":[]},"proofs":{"recovery_code":1700000095,"security_key":1700000260,"totp":1700000060},"recovery":{"entries":[{"hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","used_at":null},{"hash":"BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","used_at":1700000095}],"generated_at":1700000090},"refusals":{"logged":10,"since":1700000300,"unlogged":25},"security_keys":[{"backup_eligible":false,"backup_state":false,"counter":17,"created_at":1700000200,"credential_id":"AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPQ","discoverable":true,"id":"5be0c3a1d2e4f607","last_used_at":1700000260,"name":"YubiKey","public_key":"{\"type_\":\"ES256\",\"key\":\"…\"}","user_verified":true}],"user":"sarah","user_handle":"VKVKVKVKVKVKVKVKVKVKVKVKVI"}"#;
/// Settings changes as pinned at earlier commits (first: 57d0b62, before the lockout
/// history; the others before sessions had limits, before principal_backup, and so on).
const SETTINGS_CHANGES_PINNED_BEFORE: [&str; 5] = [
    r#"{"kind":"org_settings_changed","org":"smith-co","old":{"levels":{},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900,"max_lock_seconds":86400,"hard_limit":100},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"allow_self_deactivation":true,"allow_email_codes":true,"allow_sms_codes":true,"max_totp_period":null,"fresh_proof_window":300,"session_lifetime":86400,"session_idle_timeout":7200,"recovery_code_ends_sessions":false},"new":{"levels":{"practitioner":"mandatory"},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900,"max_lock_seconds":86400,"hard_limit":100},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"allow_self_deactivation":true,"allow_email_codes":true,"allow_sms_codes":true,"max_totp_period":null,"fresh_proof_window":300,"session_lifetime":86400,"session_idle_timeout":7200,"recovery_code_ends_sessions":false}}"#,
    r#"{"kind":"org_settings_changed","org":"smith-co","old":{"levels":{},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900,"max_lock_seconds":86400,"hard_limit":100},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"allow_self_deactivation":true,"allow_email_codes":true,"allow_sms_codes":true,"max_totp_period":null},"new":{"levels":{"practitioner":"mandatory"},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900,"max_lock_seconds":86400,"hard_limit":100},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"allow_self_deactivation":true,"allow_email_codes":true,"allow_sms_codes":true,"max_totp_period":null}}"#,
    r#"{"kind":"org_settings_changed","org":"smith-co","old":{"levels":{},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900,"max_lock_seconds":86400,"hard_limit":100},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"principal_backup":"advisory","allow_self_deactivation":true,"allow_email_codes":true,"allow_sms_codes":true,"max_totp_period":null,"fresh_proof_window":300,"session_lifetime":86400,"session_idle_timeout":7200,"sso_without_mfa":[],"recovery_code_ends_sessions":false,"allow_security_keys":true,"phishing_resistant_for":[],"offer_phishing_resistant":false},"new":{"levels":{"practitioner":"mandatory"},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900,"max_lock_seconds":86400,"hard_limit":100},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"principal_backup":"advisory","allow_self_deactivation":true,"allow_email_codes":true,"allow_sms_codes":true,"max_totp_period":null,"fresh_proof_window":300,"session_lifetime":86400,"session_idle_timeout":7200,"sso_without_mfa":[],"recovery_code_ends_sessions":false,"allow_security_keys":true,"phishing_resistant_for":[],"offer_phishing_resistant":false}}"#,
    r#"{"kind":"org_settings_changed","org":"smith-co","old":{"levels":{},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900,"max_lock_seconds":86400,"hard_limit":100},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"principal_backup":"advisory","allow_self_deactivation":true,"allow_email_codes":true,"allow_sms_codes":true,"max_totp_period":null,"fresh_proof_window":300,"session_lifetime":86400,"session_idle_timeout":7200,"sso_without_mfa":[],"recovery_code_ends_sessions":false},"new":{"levels":{"practitioner":"mandatory"},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900,"max_lock_seconds":86400,"hard_limit":100},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"principal_backup":"advisory","allow_self_deactivation":true,"allow_email_codes":true,"allow_sms_codes":true,"max_totp_period":null,"fresh_proof_window":300,"session_lifetime":86400,"session_idle_timeout":7200,"sso_without_mfa":[],"recovery_code_ends_sessions":false}}"#,
    r#"{"kind":"org_settings_changed","org":"smith-co","old":{"levels":{},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"allow_self_deactivation":true},"new":{"levels":{"practitioner":"mandatory"},"default_level":"upon_request","enforce_for_all":false,"grace_until":null,"allowed_networks":[],"lockout":{"max_failures":5,"lock_seconds":900},"enrollment_lifetime":600,"remember_device_max":2592000,"backup_required_for_principals":true,"allow_self_deactivation":true}}"#,
];

#[test]
fn every_record_form_pinned_in_history_reads_with_every_value_kept() {
    for (commit, json) in
        [("c34b1bb", RECORD_C34B1BB), ("b5ad364", RECORD_B5AD364), ("5f8df7a", RECORD_5F8DF7A)]
    {
        let record: UserRecord =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("the record pinned at {commit} reads: {e}"));
        assert_eq!(record.format(), UserRecord::FORMAT, "{commit}");
        let old: Value = serde_json::from_str(json).unwrap();
        let new = serde_json::to_value(&record).unwrap();
        assert_eq!(lost(&old, &new), Vec::<String>::new(), "values of the record pinned at {commit} lost");
        let again: UserRecord = serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap();
        assert_eq!(again, record, "{commit}: written back, it reads the same");
    }
}

#[test]
fn the_pending_enrollment_of_a_record_written_before_it_kept_its_starts_still_reads() {
    let record: UserRecord = serde_json::from_str(RECORD_C34B1BB).unwrap();
    let pending = record.pending_enrollment().expect("the enrollment in progress is kept");
    assert_eq!(
        (pending.started_at(), pending.expires_at(), pending.account()),
        (1_700_000_100, 1_700_000_700, None)
    );
    assert_eq!(pending.params().digits().get(), 8);
    assert_eq!(pending.adding(), None, "a format 1 enrollment replaces");
}

/// The first release's record kept a lockout as `{ "consecutive", "locked_until" }`
/// only: a lockout running when the row was written must still run after the upgrade.
#[test]
fn a_lockout_running_in_a_record_of_the_first_release_still_runs() {
    let json = RECORD_B5AD364.replace(
        r#""failures":{"consecutive":3,"locked_until":null}"#,
        r#""failures":{"consecutive":5,"locked_until":1700001000}"#,
    );
    let record: UserRecord = serde_json::from_str(&json).unwrap();
    let failures = record.failures();
    assert_eq!((failures.consecutive(), failures.locked_until()), (5, Some(1_700_001_000)));
    assert!(failures.is_locked(1_700_000_500), "the running lockout holds");
    assert!(failures.is_locked(1_700_000_999));
    assert!(!failures.is_locked(1_700_001_000), "and ends when it did");
    assert!(matches!(
        failures.refusal_at(1_700_000_500),
        Some(mfa_kit::Refusal::LockedOut { until: 1_700_001_000 })
    ));
}

#[test]
fn every_settings_change_event_pinned_in_history_reads_with_every_setting_kept() {
    for (n, json) in SETTINGS_CHANGES_PINNED_BEFORE.iter().enumerate() {
        let kind: EventKind =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("settings change form {n} reads: {e}"));
        let EventKind::OrgSettingsChanged { .. } = &kind else { panic!("{kind:?}") };
        let old: Value = serde_json::from_str(json).unwrap();
        let new = serde_json::to_value(&kind).unwrap();
        assert_eq!(lost(&old, &new), Vec::<String>::new(), "settings change form {n}");
    }
}

/// A live record, written back in the first release's form and read by today's service
/// (same hash key): the recovery code used stays used, the others redeem, and the TOTP
/// code accepted last is refused as a replay (the replay floor is kept).
#[test]
fn a_live_record_written_in_the_first_releases_form_keeps_working_through_the_service() {
    let key = [7u8; 32];
    let before = firm_with(MemoryStore::new(), |b| b.hash_key(HashKey::from_bytes(&key).unwrap()));
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
        let format_1 = as_format_1(serde_json::to_value(&live).unwrap());
        let old: UserRecord =
            serde_json::from_value(format_1.clone()).expect("the first release's form reads");
        assert_eq!(old.totp().unwrap().last_accepted_step(), live.totp().unwrap().last_accepted_step());

        let store = MemoryStore::new();
        let saved = store.save(old, None, Vec::new()).await.unwrap();
        assert!(matches!(saved, mfa_kit::store::SaveOutcome::Saved(_)), "{saved:?}");
        let after = firm_with(store, |b| b.hash_key(HashKey::from_bytes(&key).unwrap()));
        after.clock.set(before.clock.now().unwrap());
        let replay = after.mfa.verify_code(&sarah, &last_code, &office()).await.unwrap();
        assert!(matches!(replay, Err(Refusal::CodeReused { .. })), "the last code again: {replay:?}");
        let used = after.mfa.redeem_recovery_code(&sarah, codes[0].as_str(), &office()).await.unwrap();
        assert!(matches!(used, Err(Refusal::CodeReused { .. })), "the used recovery code: {used:?}");
        after.clock.advance(30);
        let unused = after.mfa.redeem_recovery_code(&sarah, codes[1].as_str(), &office()).await.unwrap();
        assert!(unused.is_ok(), "an unused recovery code: {unused:?}");
        after.clock.advance(30);
        before.clock.set(after.clock.now().unwrap()); // the phone's clock
        let fresh = after.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap();
        assert!(fresh.is_ok(), "the app's next code: {fresh:?}");
        let record = after.mfa.record(&sarah).await.unwrap();
        assert_eq!(record.format(), UserRecord::FORMAT);
        assert_eq!(record.recovery_codes().unwrap().remaining(), 8);
    });
}
