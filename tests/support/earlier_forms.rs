//! A record of today's form written back as an earlier format wrote the same state, for
//! the tests that read earlier forms through today's crate.
#![allow(dead_code)] // Each test file uses a different part.

use serde_json::{Value, json};

/// `record` (today's form) as the first release wrote the same state: format 1, one authenticator in `totp` without id or name,
/// one `last_proof`, a lockout as `{ consecutive, locked_until }`, a code without
/// `issued_at` or `send_by`, and none of the fields added since.
pub fn as_format_1(mut record: Value) -> Value {
    let map = record.as_object_mut().unwrap();
    for added in [
        "org",
        "security_keys",
        "user_handle",
        "ceremony",
        "enrollment_starts",
        "generation",
        "refusals",
        "frozen",
        "disowned",
        "ended_sessions",
        "must_enroll",
    ] {
        map.remove(added);
    }
    map.insert("format".into(), json!(1));
    let mut authenticators = map.remove("authenticators").unwrap_or(json!([]));
    if let Some(first) = authenticators.get_mut(0) {
        let mut totp = first.take();
        totp.as_object_mut().unwrap().retain(|k, _| k != "id" && k != "name");
        map.insert("totp".into(), totp);
    }
    if let Some(pending) = map.get_mut("pending_enrollment").and_then(Value::as_object_mut) {
        for added in ["account", "starts", "adding"] {
            pending.remove(added);
        }
    }
    let proofs = map.remove("proofs").unwrap_or(json!({}));
    if let Some((method, at)) = proofs.as_object().unwrap().iter().max_by_key(|(_, at)| at.as_u64()) {
        map.insert("last_proof".into(), json!({ "at": at, "method": method }));
    }
    let failures = map["failures"].clone();
    map.insert(
        "failures".into(),
        json!({ "consecutive": failures["consecutive"], "locked_until": failures["locked_until"] }),
    );
    if let Some(recovery) = map.get_mut("recovery").and_then(Value::as_object_mut) {
        recovery.remove("replacement_due");
    }
    if let Some(challenge) =
        map.get_mut("oob").and_then(|o| o.get_mut("challenge")).and_then(Value::as_object_mut)
    {
        challenge.remove("issued_at");
        challenge.remove("send_by");
    }
    record
}

/// `record` (today's form) as format `n` (2, 3 or 4) wrote it: the fields of
/// PINNED_FORMAT_2/3/4 in tests/record_format.rs (8c8129a, b95ca6b, 5f8df7a).
pub fn as_format(n: u64, mut record: Value) -> Value {
    let map = record.as_object_mut().unwrap();
    map.insert("format".into(), json!(n));
    let mut added = vec!["org", "ended_sessions"];
    if n <= 3 {
        added.extend(["security_keys", "user_handle", "ceremony", "frozen", "disowned"]);
    }
    if n <= 2 {
        added.extend(["generation", "refusals", "enrollment_starts"]);
        if let Some(recovery) = map.get_mut("recovery").and_then(Value::as_object_mut) {
            recovery.remove("replacement_due");
        }
    }
    for field in added {
        map.remove(field);
    }
    record
}
