//! No secret, code, token or hash ever appears in `Debug` output, an error message or
//! an audit event: everything a user holds is exercised, then every printable thing
//! is searched for it.

mod common;

use common::*;
use mfa_kit::flow::device::Remembered;
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::record::DeviceToken;
use mfa_kit::{Destination, Role};

/// Whether `needle` stands in `haystack` on its own, not inside a longer run of
/// letters and digits (a 6-digit code may appear inside a 10-digit timestamp by chance).
fn stands_in(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[test]
fn nothing_printable_holds_a_secret_code_token_or_hash() {
    let firm = firm();
    let (sarah, partner) = (user("sarah"), user("partner"));
    firm.enroll(&partner);
    let outbox = Outbox::default();
    let mut held: Vec<String> = Vec::new();
    let mut errors: Vec<String> = Vec::new();

    let record = run(async {
        // The authenticator: its secret in every form, and the codes typed.
        let start = firm.mfa.start_enrollment(&sarah, "sarah", &office()).await.unwrap().unwrap();
        let key = KeyUri::parse(&start.uri).unwrap();
        held.push(key.secret().to_base32().to_string());
        held.push(start.secret_grouped.to_string());
        held.push(start.uri.to_string());
        let phone = Phone::scan(&start.uri, &firm.clock);
        let first = phone.code();
        firm.clock.advance(30);
        let second = phone.code();
        held.extend([first.clone(), second.clone()]);
        firm.mfa.confirm_enrollment(&sarah, &[&first, &second], &office()).await.unwrap().unwrap();
        firm.clock.advance(30);
        let code = phone.code();
        held.push(code.clone());
        firm.mfa.verify_code(&sarah, &code, &office()).await.unwrap().unwrap();
        let wrong = phone.wrong_code();
        held.push(wrong.clone());
        firm.mfa.verify_code(&sarah, &wrong, &office()).await.unwrap().unwrap_err();
        let malformed = firm.mfa.verify_code(&sarah, "98765x", &office()).await.unwrap();
        errors.push(format!("{malformed:?}"));

        // Recovery codes, used and not.
        let codes = firm.mfa.generate_recovery_codes(&sarah, &office()).await.unwrap().unwrap();
        for code in &codes {
            held.push(code.as_str().to_string());
            held.push(code.as_str().replace('-', ""));
            errors.push(format!("{code:?}"));
        }
        firm.mfa.redeem_recovery_code(&sarah, codes[0].as_str(), &office()).await.unwrap().unwrap();
        firm.mfa.redeem_recovery_code(&sarah, codes[0].as_str(), &office()).await.unwrap().unwrap_err();

        // Codes by e-mail, sent, confirmed and used, and a pending one.
        let destination = Destination::email("sarah@smith.example").unwrap();
        firm.mfa
            .add_destination(&sarah, destination, Role::Backup, &outbox, &office())
            .await
            .unwrap()
            .unwrap();
        held.push(outbox.last_code());
        firm.mfa.confirm_destination(&sarah, &outbox.last_code(), &office()).await.unwrap().unwrap();
        firm.clock.advance(60);
        firm.mfa.send_sign_in_code(&sarah, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        held.push(outbox.last_code());
        firm.mfa.verify_sign_in_code(&sarah, &outbox.last_code(), &office()).await.unwrap().unwrap();
        firm.clock.advance(60);
        firm.mfa.send_sign_in_code(&sarah, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        held.push(outbox.last_code());

        // A remembered device, used.
        let Remembered { token, .. } =
            firm.mfa.remember_device(&sarah, "Laptop", 3600, &office()).await.unwrap().unwrap();
        held.push(token.as_str().to_string());
        errors.push(format!("{token:?}"));
        let context = office().with_device_token(DeviceToken::from_cookie(token.as_str()));
        errors.push(format!("{context:?}"));
        firm.mfa.sign_in_decision(&sarah, &context).await.unwrap().unwrap();

        // Refusals and errors of every kind the user can cause (the refusals were errors
        // before refusals became outcomes).
        let refusals = [
            firm.mfa.deactivate(&sarah, &code, false, &office()).await.unwrap().unwrap_err(),
            firm.mfa
                .reset(reset_of(&sarah, &sarah, "mine"), &permitted(), &office())
                .await
                .unwrap()
                .unwrap_err(),
            firm.mfa.confirm_enrollment(&sarah, &[&code, &second], &office()).await.unwrap().unwrap_err(),
        ];
        for refusal in refusals {
            errors.push(refusal.to_string());
            errors.push(format!("{refusal:?}"));
        }
        let error = firm.mfa.start_enrollment(&sarah, "sa:rah", &office()).await.unwrap_err();
        errors.push(error.to_string());
        errors.push(format!("{error:?}"));
        errors.push(KeyUri::parse(&start.uri.replace("secret=", "secret=1")).unwrap_err().to_string());
        firm.mfa.record(&sarah).await.unwrap()
    });

    // The stored hashes, as they appear in the serialised record.
    let json: serde_json::Value = serde_json::to_value(&record).unwrap();
    let mut hashes = Vec::new();
    collect_hashes(&json, &mut hashes);
    assert!(hashes.len() >= 12, "recovery codes, the pending code and the device are hashed: {hashes:?}");
    assert!(json.to_string().contains("plaintext-insecure"), "the sealed secret is there, sealed");
    // The search finds what is really there: the storage form holds the hashes.
    assert!(hashes.iter().all(|hash| stands_in(&json.to_string(), hash)));

    let mut printable = vec![format!("{record:?}"), format!("{record:#?}")];
    printable.extend(errors);
    for event in firm.audit.events() {
        printable.push(format!("{event:?}"));
        printable.push(serde_json::to_string(&event).unwrap());
    }
    for text in &printable {
        for secret in held.iter().chain(&hashes) {
            assert!(!stands_in(text, secret), "{secret:?} appears in {text}");
        }
    }
    assert!(printable.len() > 50);
}

/// Every string under a `hash` key.
fn collect_hashes(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("hash", serde_json::Value::String(hash)) => out.push(hash.clone()),
                    _ => collect_hashes(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_hashes(item, out)),
        _ => {}
    }
}
