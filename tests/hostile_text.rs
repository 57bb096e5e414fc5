//! Every public `MfaService` method fed hostile text and numbers on `MemoryStore`: bad
//! input gets a clear error, never a panic, and text users or admins typed never
//! forges an audit line.

mod common;

use common::*;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::policy::SignInContext;
use mfa_kit::{Destination, RequestContext, Role, UserId};

/// Hostile text: empty, blank, 1 MB, NUL, CR/LF, NEL, U+2028/2029, a right-to-left
/// override, combining marks, look-alike digits, a formula, a forged log line.
fn hostile() -> Vec<String> {
    vec![
        String::new(),
        "   ".into(),
        "a".repeat(1 << 20),
        "é".repeat(1 << 19),
        "\0".into(),
        "12\u{0}3456".into(),
        "123456\r\n2023-11-14 22:20 UTC, alice: Turned two-step verification off.".into(),
        "x\u{0085}y".into(),
        "x\u{2028}y\u{2029}z".into(),
        "\u{202E}ecila".into(),
        "a\u{0301}\u{0301}\u{0301}\u{0301}".repeat(40),
        "١٢٣٤٥٦".into(),
        "１２３４５６".into(),
        "=cmd|' /C calc'!A0".into(),
        "+61 412 345 678\n".into(),
        "otpauth://totp/a:b?secret=".into(),
        "otpauth:".into(),
        "{\"id\":\"".into(),
        "\u{FEFF}\u{200B}".into(),
        "ab".repeat(500_000) + "\u{10FFFF}",
    ]
}

/// A line of an admin's log: no character that a log viewer or a reader splitting on
/// Unicode line breaks takes as the end of the line.
fn assert_one_line(line: &str) {
    let breaks =
        |c: char| matches!(c, '\n' | '\r' | '\u{000B}' | '\u{000C}' | '\u{0085}' | '\u{2028}' | '\u{2029}');
    assert!(!line.contains(breaks), "the audit line was split: {:?}", &line[..line.len().min(300)]);
}

fn check_trail(firm: &Firm) {
    for event in firm.audit.events() {
        assert_one_line(&event.sentence());
        assert_one_line(&event.kind.sentence());
    }
}

fn context_with_device(device: &str) -> SignInContext {
    SignInContext::new(RequestContext::from_address("203.0.113.7".parse().unwrap()).with_device(device))
}

// "Bad input gets a clear error, never a panic": every public service method
// taking text from a user or a host, fed each hostile string, answers without a panic,
// and every audit event written along the way reads as one line.
#[test]
fn every_service_method_answers_hostile_text_without_a_panic_and_on_one_line() {
    for text in hostile() {
        let party = RecordingParty(std::sync::Arc::default());
        let firm = firm_with(mfa_kit::store::MemoryStore::new(), |builder| builder.relying_party(party));
        let sarah = user("sarah");
        let phone = firm.enroll(&sarah);
        firm.prove(&sarah, &phone);
        let hostile_user = UserId::new(&text);
        let device = context_with_device(&text);
        let outbox = Outbox::default();
        run(async {
            let mfa = &firm.mfa;
            let _ = mfa.verify_code(&sarah, &text, &device).await;
            let _ = mfa.resynchronise(&sarah, &text, &text, &device).await;
            let _ = mfa.rename_authenticator(&sarah, &text, &text, &device).await;
            if let Some(id) = mfa.authenticators(&sarah).await.unwrap().first().map(|a| a.id.to_string()) {
                let _ = mfa.rename_authenticator(&sarah, &id, &text, &device).await;
            }
            let _ = mfa.remove_authenticator(&sarah, &text, &device).await;
            let _ = mfa.add_authenticator(&sarah, &text, &text, &device).await;
            let _ = mfa.import_authenticator(&sarah, &text, &device).await;
            let _ = mfa.redeem_recovery_code(&sarah, &text, &device).await;
            let _ = mfa.remember_device(&sarah, &text, u64::MAX, &device).await;
            let _ = mfa.revoke_device(&sarah, &text, &hostile_user, &device.request).await;
            let _ = mfa.disown(&sarah, &text, &device).await;
            let _ = mfa.disown(&hostile_user, &text, &device).await;
            for destination in [
                Destination::sms(&text),
                Destination::sms_in(&text, &text),
                Destination::sms_in("0412 345 678", &text),
                Destination::email(&text),
            ]
            .into_iter()
            .flatten()
            {
                let _ = mfa.add_destination(&sarah, destination, Role::Backup, &outbox, &device).await;
            }
            let _ = mfa.confirm_destination(&sarah, &text, &device).await;
            let _ = mfa.verify_sign_in_code(&sarah, &text, &device).await;
            let _ = mfa.start_security_key_registration(&sarah, &text, &text, &text, &device).await;
            let _ = mfa.finish_security_key_registration(&sarah, &text, &device).await;
            let _ = mfa.finish_security_key_registration(&sarah, "1", &device).await;
            let _ = mfa.start_security_key(&sarah, &device).await;
            let _ = mfa.verify_security_key(&sarah, &text, &device).await;
            let _ = mfa.step_up_host_action(&sarah, &text, &device).await;
            let _ = mfa.org_settings(&text).await;
            let _ = mfa.reset(reset_of(&hostile_user, &sarah, &text), &permitted(), &office()).await;
            let _ = mfa.deactivate(&sarah, &text, true, &device).await;
            // The same as a user whose id is the hostile text.
            let _ = mfa.start_enrollment(&hostile_user, &text, &device).await;
            let _ = mfa.restart_enrollment(&hostile_user, &text, &device).await;
            let _ = mfa.confirm_enrollment(&hostile_user, &[&text, &text], &device).await;
            let _ = mfa.sign_in_decision(&hostile_user, &device).await;
            let _ = mfa.status(&hostile_user, &device).await;
            let _ = mfa.devices(&hostile_user).await;
            let _ = mfa.password_changed(&hostile_user, &device.request).await;
            let _ = mfa.sign_out(&hostile_user, &device).await;
        });
        check_trail(&firm);
    }
}

// times at the limits. A device remembered for `u64::MAX` seconds, a prune
// before `u64::MAX`, a trail exported over all time, and a disown token for an event at
// `u64::MAX` answer without a panic (an overflow panics in a debug build).
#[test]
fn times_and_ids_at_their_limits_answer_without_a_panic() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    firm.prove(&sarah, &phone);
    run(async {
        let mfa = &firm.mfa;
        let _ = mfa.remember_device(&sarah, "Firefox", u64::MAX, &office()).await;
        let _ = mfa.remember_device(&sarah, "Firefox", 0, &office()).await;
        let _ = mfa.prune_audit(u64::MAX, &sarah, &office()).await;
        let _ = mfa.prune_audit(0, &sarah, &office()).await;
        for (id, at) in [(i64::MIN, 0), (i64::MAX, u64::MAX), (-1, u64::MAX)] {
            if let Ok(token) = mfa.disown_token(&sarah, id, at, &EventKind::Deactivated) {
                let _ = mfa.disown(&sarah, token.as_str(), &office()).await;
            }
        }
        #[cfg(feature = "export")]
        for format in
            [mfa_kit::flow::evidence::ExportFormat::Csv, mfa_kit::flow::evidence::ExportFormat::JsonLines]
        {
            for (from, until) in [(0, u64::MAX), (u64::MAX, 0), (u64::MAX, u64::MAX)] {
                let mut export = mfa.export_trail("\u{202E}\n", from, until, format);
                while let Ok(Some(_)) = export.next_chunk().await {}
            }
        }
    });
    for at in [0, u64::MAX] {
        firm.clock.set(at);
        let _ = run(firm.mfa.verify_code(&sarah, &phone.code_or_zero(), &office()));
        let _ = run(firm.mfa.sign_in_decision(&sarah, &office()));
        let _ = run(firm.mfa.devices(&sarah));
    }
    check_trail(&firm);
}

trait CodeOrZero {
    fn code_or_zero(&self) -> String;
}
impl CodeOrZero for Phone {
    fn code_or_zero(&self) -> String {
        use mfa_kit::clock::Clock;
        self.clock
            .now()
            .ok()
            .and_then(|now| self.totp.generate(now).ok())
            .map_or("000000".into(), |c| c.to_string())
    }
}

/// The characters `HostAction::new` refuses because they "would make the audit trail
/// read otherwise than it is" (src/vocabulary/action.rs:85-89, `invisible` at :112).
fn reorders(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

fn sentence_of(firm: &Firm, pick: impl Fn(&AuditEvent) -> bool) -> String {
    firm.audit.events().into_iter().find(|e| pick(e)).expect("audited").sentence()
}

/// A bidirectional override (or another invisible formatting character) typed into a
/// user id, an authenticator's name, a device label or an admin's reset reason is
/// escaped in `AuditEvent::sentence`, as a host action's name holding one is refused:
/// it would make the rest of the log line read backwards.
#[test]
fn a_bidirectional_override_typed_by_a_user_or_an_admin_does_not_reach_the_audit_line() {
    let firm = firm();
    // A user id chosen by a user.
    let mallory = user("mallory\u{202E}ffo noitacifirev pets-owt denruT :ecila");
    let started = run(firm.mfa.start_enrollment(&mallory, "mallory", &office())).unwrap();
    assert!(started.is_ok(), "{started:?}");
    let line = sentence_of(&firm, |e| e.user == mallory);
    // An authenticator's name chosen by a user.
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    firm.prove(&sarah, &phone);
    let id = run(firm.mfa.authenticators(&sarah)).unwrap()[0].id.to_string();
    let renamed = run(firm.mfa.rename_authenticator(&sarah, &id, "phone\u{202E}", &office())).unwrap();
    assert!(matches!(renamed, Ok(true)), "{renamed:?}");
    let rename = sentence_of(&firm, |e| matches!(e.kind, EventKind::AuthenticatorRenamed { .. }));
    // A reset reason typed by an admin.
    let partner = user("partner");
    let partner_phone = firm.enroll(&partner);
    firm.prove(&partner, &partner_phone);
    let reset =
        run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone\u{202E}"), &permitted(), &office()));
    assert!(matches!(reset, Ok(Ok(_))), "{reset:?}");
    let reset = sentence_of(&firm, |e| matches!(e.kind, EventKind::ResetByAdmin { .. }));
    // A device label the host takes from the user agent.
    let partner_code = partner_phone.code_or_zero();
    let _ = run(firm.mfa.verify_code(&partner, &partner_code, &office()));
    let remembered = run(firm.mfa.remember_device(&partner, "Firefox\u{202E}", 3_600, &office())).unwrap();
    assert!(remembered.is_ok(), "{remembered:?}");
    let device = sentence_of(&firm, |e| matches!(e.kind, EventKind::DeviceRemembered { .. }));
    // A user type's name an admin typed into the organisation's settings form.
    let settings = mfa_kit::policy::OrgSettings::builder()
        .level("staff\u{202E}", mfa_kit::policy::Level::Mandatory)
        .build()
        .expect("the builder checks no user-type name");
    let kind =
        EventKind::OrgSettingsChanged { org: FIRM.into(), old: Box::default(), new: Box::new(settings) };
    let carried: Vec<(&str, String)> = [
        ("user type", kind.sentence()),
        ("user id", line),
        ("authenticator name", rename),
        ("reset reason", reset),
        ("device label", device),
    ]
    .into_iter()
    .filter(|(_, line)| line.contains(reorders))
    .collect();
    assert!(carried.is_empty(), "a bidirectional override reached the audit line: {carried:#?}");
}

/// The translated line escapes it too (Fluent's isolation marks are off, so the
/// escaping is what keeps the line readable).
#[cfg(feature = "messages")]
#[test]
fn a_bidirectional_override_in_a_reset_reason_does_not_reach_the_translated_audit_line() {
    use mfa_kit::messages::Language;
    let firm = firm();
    let (partner, sarah) = (user("partner"), user("sarah"));
    let partner_phone = firm.enroll(&partner);
    firm.enroll(&sarah);
    firm.prove(&partner, &partner_phone);
    let reset =
        run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone\u{202E}"), &permitted(), &office()));
    assert!(matches!(reset, Ok(Ok(_))), "{reset:?}");
    let event =
        firm.audit.events().into_iter().find(|e| matches!(e.kind, EventKind::ResetByAdmin { .. })).unwrap();
    for language in [Language::English, Language::French] {
        let line = event.message(language);
        assert!(
            !line.contains(reorders),
            "{language:?}: a bidirectional override reached the line: {line:?}"
        );
    }
}

// `RecordQuery::limit` and `AuditQuery::limit` are "from 1 to MAX_PAGE (0 reads
// as 1, more as MAX_PAGE)" (src/store/listing.rs:48 and :154): on `MemoryStore`, a
// limit of 0 gives one row, `u32::MAX` no more than `MAX_PAGE`, and an empty or
// reversed time range or a hostile prefix gives an empty page, not a panic.
#[test]
fn query_limits_at_zero_and_u32_max_read_as_documented() {
    use mfa_kit::store::{AuditQuery, ListRecords, MAX_PAGE, ReadAudit, RecordQuery};
    let firm = firm();
    for n in 0..3 {
        firm.enroll(&user(&format!("user{n}")));
    }
    let store = firm.mfa.store();
    run(async {
        let one = store.list_records(&RecordQuery::prefix("", 0)).await.unwrap();
        assert_eq!(one.records.len(), 1);
        assert!(one.next.is_some());
        let all = store.list_records(&RecordQuery::prefix("", u32::MAX)).await.unwrap();
        assert!((3..=MAX_PAGE as usize).contains(&all.records.len()), "{}", all.records.len());
        let none = store.list_records(&RecordQuery::prefix("a".repeat(1 << 20), u32::MAX)).await.unwrap();
        assert!(none.records.is_empty());
        let hostile = store
            .list_records(&RecordQuery::prefix("\0", 1).after(Some(UserId::new("\u{10FFFF}"))))
            .await
            .unwrap();
        assert!(hostile.records.is_empty());
        let one = store.read_audit(&AuditQuery::range(0, u64::MAX, 0)).await.unwrap();
        assert_eq!(one.events.len(), 1);
        assert!(one.next.is_some());
        let many = store.read_audit(&AuditQuery::range(0, u64::MAX, u32::MAX)).await.unwrap();
        assert!(many.events.len() > 1 && many.events.len() <= MAX_PAGE as usize);
        for (from, until) in [(u64::MAX, 0), (u64::MAX, u64::MAX), (5, 5)] {
            let empty = store.read_audit(&AuditQuery::range(from, until, u32::MAX)).await.unwrap();
            assert!(empty.events.is_empty() && empty.next.is_none(), "{from}..{until}");
        }
        let page = firm.mfa.status_page(&RecordQuery::prefix("\u{202E}\n", u32::MAX), &office()).await;
        assert!(page.is_ok(), "{page:?}");
    });
}

// "Bad input gets a clear error, never a panic" for the organisation settings a
// host builds from an admin's form: numbers at 0 and at the u32/u64 limits either build
// or are refused with a one-line sentence naming the setting, and settings that build
// drive enrollment, wrong codes (a lockout of u64::MAX seconds), a remembered device and
// the session check through the service without an overflow panic.
#[test]
fn settings_at_their_numeric_limits_build_or_are_refused_without_a_panic() {
    use mfa_kit::LockoutRule;
    use mfa_kit::policy::OrgSettings;
    use std::sync::Arc;
    let mut lockouts = Vec::new();
    for (max_failures, lock_seconds, max_lock_seconds, hard_limit) in [
        (0, 0, 0, 0),
        (1, u64::MAX, u64::MAX, u32::MAX),
        (u32::MAX, u64::MAX, 0, u32::MAX),
        (1, 1, u64::MAX, 1),
        (1, u64::MAX, u64::MAX, 100),
        (5, u64::MAX, 1, 10_000),
        (1, u64::MAX - 1, u64::MAX, 2),
    ] {
        let mut rule = LockoutRule::DEFAULT;
        rule.max_failures = max_failures;
        rule.lock_seconds = lock_seconds;
        rule.max_lock_seconds = max_lock_seconds;
        rule.hard_limit = hard_limit;
        lockouts.push(rule);
    }
    let mut built = Vec::new();
    let mut candidates: Vec<_> =
        lockouts.into_iter().map(|rule| OrgSettings::builder().lockout(rule)).collect();
    for value in [0, 1, u64::MAX] {
        candidates.extend([
            OrgSettings::builder().enrollment_lifetime(value),
            OrgSettings::builder().remember_device_max(value),
            OrgSettings::builder().fresh_proof_window(value),
            OrgSettings::builder().session_lifetime(value),
            OrgSettings::builder().session_idle_timeout(value),
            OrgSettings::builder().grace_until(Some(value)),
            OrgSettings::builder().max_totp_period(Some(value)),
            OrgSettings::builder().session_lifetime(u64::MAX).session_idle_timeout(value),
        ]);
    }
    for builder in candidates {
        match builder.build() {
            Ok(settings) => built.push(settings),
            Err(error) => {
                let text = error.to_string();
                assert!(!text.trim().is_empty() && !text.contains('\n'), "{text:?}");
            }
        }
    }
    assert!(!built.is_empty());
    let mut locked = 0;
    for settings in built {
        let firm = firm();
        let sarah = user("sarah");
        let context = office().with_org(Arc::new(settings.clone()));
        run(async {
            let mfa = &firm.mfa;
            if let Ok(Ok(start)) = mfa.start_enrollment(&sarah, "sarah", &context).await {
                let phone = Phone::scan(&start.uri, &firm.clock);
                let first = phone.code();
                firm.clock.advance(30);
                let second = phone.code();
                let _ = mfa.confirm_enrollment(&sarah, &[&first, &second], &context).await;
                firm.clock.advance(30);
                for _ in 0..12 {
                    let _ = mfa.verify_code(&sarah, &phone.wrong_code(), &context).await;
                }
                let _ = mfa.verify_code(&sarah, &phone.code(), &context).await;
                let _ = mfa.remember_device(&sarah, "Firefox", u64::MAX, &context).await;
                let _ = mfa.sign_in_decision(&sarah, &context).await;
                let _ = mfa.check_session(&sarah, &context).await;
                let _ = mfa.step_up_host_action(&sarah, "approve_pay_run", &context).await;
                firm.clock.advance(u64::MAX / 2);
                let _ = mfa.sign_in_decision(&sarah, &context).await;
                let _ = mfa.check_session(&sarah, &context).await;
            }
        });
        check_trail(&firm);
        locked += usize::from(
            firm.audit.events().iter().any(|e| matches!(e.kind, EventKind::LockoutStarted { .. })),
        );
    }
    assert!(locked > 0, "no settings drove a lockout");
}

/// An account name that would make the Key URI longer than `MAX_URI_LEN` (what
/// `KeyUri::parse` reads; no QR code holds it) is refused as `InvalidAccountName`
/// before anything is stored.
#[test]
fn an_account_name_too_long_for_a_key_uri_is_refused_before_anything_is_stored() {
    use mfa_kit::otp::uri::{KeyUri, MAX_URI_LEN};
    let firm = firm();
    let sarah = user("sarah");
    let account = "a".repeat(1 << 20);
    let before = run(firm.mfa.record(&sarah)).unwrap();
    let started = run(firm.mfa.start_enrollment(&sarah, &account, &office()));
    if let Ok(Ok(start)) = &started {
        let stored = serde_json::to_string(&run(firm.mfa.record(&sarah)).unwrap()).unwrap().len();
        panic!(
            "a 1 MB account name was accepted: a URI of {} bytes (KeyUri::parse reads {MAX_URI_LEN}: {:?}), \
             a stored record of {stored} bytes, {} audit event(s)",
            start.uri.len(),
            KeyUri::parse(&start.uri).err(),
            firm.audit.events().len()
        );
    }
    assert!(started.is_err(), "{started:?}");
    assert_eq!(run(firm.mfa.record(&sarah)).unwrap(), before);
}

/// A relying party that remembers the longest response it was asked to check.
struct RecordingParty(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl RecordingParty {
    fn saw(&self, response: &str) {
        self.0.fetch_max(response.len(), std::sync::atomic::Ordering::SeqCst);
    }
}

impl mfa_kit::relying_party::RelyingParty for RecordingParty {
    fn start_registration(
        &self,
        _: &mfa_kit::relying_party::RegistrationUser<'_>,
        _: &[mfa_kit::record::SecurityKey],
    ) -> Result<mfa_kit::relying_party::CeremonyOptions, mfa_kit::relying_party::RelyingPartyError> {
        Ok(mfa_kit::relying_party::CeremonyOptions::new("{}".into(), "registration".into()))
    }

    fn finish_registration(
        &self,
        _: &str,
        response: &str,
    ) -> Result<
        Result<mfa_kit::flow::security_key::NewKey, mfa_kit::flow::security_key::CeremonyError>,
        mfa_kit::relying_party::RelyingPartyError,
    > {
        self.saw(response);
        Ok(if response == "1" {
            Ok(mfa_kit::flow::security_key::NewKey {
                credential_id: mfa_kit::record::CredentialId::new(vec![1; 32]),
                public_key: "{\"kty\":2}".into(),
                counter: 1,
                user_verified: true,
                backup_eligible: false,
                backup_state: false,
                discoverable: true,
            })
        } else {
            Err(mfa_kit::flow::security_key::CeremonyError::Malformed)
        })
    }

    fn start_authentication(
        &self,
        _: &[mfa_kit::record::SecurityKey],
    ) -> Result<mfa_kit::relying_party::CeremonyOptions, mfa_kit::relying_party::RelyingPartyError> {
        Ok(mfa_kit::relying_party::CeremonyOptions::new("{}".into(), "authentication".into()))
    }

    fn finish_authentication(
        &self,
        _: &str,
        response: &str,
        _: &[mfa_kit::record::SecurityKey],
    ) -> Result<
        Result<mfa_kit::flow::security_key::Assertion, mfa_kit::flow::security_key::CeremonyError>,
        mfa_kit::relying_party::RelyingPartyError,
    > {
        self.saw(response);
        Ok(Err(mfa_kit::flow::security_key::CeremonyError::Malformed))
    }
}

// "a security key's response longer than MAX_RESPONSE is answered as
// CeremonyError::Malformed without asking the relying party" (src/flow/mod.rs:36-38,
// as the service does: src/service/security_key.rs:172): a 1 MB response to a
// registration and to a sign-in is refused and never reaches the relying party.
#[test]
fn a_security_key_response_past_max_response_never_reaches_the_relying_party() {
    use mfa_kit::relying_party::MAX_RESPONSE;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let longest = std::sync::Arc::new(AtomicUsize::new(0));
    let party = RecordingParty(longest.clone());
    let firm = firm_with(mfa_kit::store::MemoryStore::new(), |builder| builder.relying_party(party));
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    firm.prove(&sarah, &phone);
    let huge = "{".repeat(MAX_RESPONSE + 1);
    run(async {
        let mfa = &firm.mfa;
        let started = mfa.start_security_key_registration(&sarah, "Key", "sarah", "Sarah", &office()).await;
        assert!(matches!(started, Ok(Ok(_))), "{started:?}");
        let finished = mfa.finish_security_key_registration(&sarah, &huge, &office()).await;
        assert!(matches!(finished, Ok(Err(_))), "{finished:?}");
        assert_eq!(longest.load(Ordering::SeqCst), 0, "the relying party was asked about the long response");
        // A short one is asked about: the party is in use.
        let started = mfa.start_security_key_registration(&sarah, "Key", "sarah", "Sarah", &office()).await;
        assert!(matches!(started, Ok(Ok(_))), "{started:?}");
        let finished = mfa.finish_security_key_registration(&sarah, "1", &office()).await;
        assert!(matches!(finished, Ok(Ok(_))), "{finished:?}");
        assert_eq!(longest.load(Ordering::SeqCst), 1);
        let started = mfa.start_security_key(&sarah, &office()).await;
        assert!(matches!(started, Ok(Ok(_))), "{started:?}");
        let verified = mfa.verify_security_key(&sarah, &huge, &office()).await;
        assert!(matches!(verified, Ok(Err(_))), "{verified:?}");
        assert_eq!(longest.load(Ordering::SeqCst), 1, "the relying party was asked about the long response");
    });
    check_trail(&firm);
}
