//! The security notices (R28) and what users are told: which events reach the notice
//! relay, for whom, and what the message catalogues promise of themselves.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use mfa_kit::event::{EventKind, SecurityNotice};
use mfa_kit::relay::{Notice, NoticeRelay, Notifier};
use mfa_kit::service::permissions;
use mfa_kit::{Refusal, Role, UserId};

/// R28 (docs/requirements.md:112-114): "the user is told at once of a factor
/// added or removed, recovery codes regenerated or running low, an admin's reset, a
/// lockout, a new remembered device and a sign-in with a recovery code". Driven
/// through the service for one user beside an admin and a bystander, the relay hands
/// over exactly one notice per such change, to the user whose account it is (with the
/// admin as actor for the reset only); a wrong code, the user's and the admin's own
/// sign-ins, the admin's refused reset of someone else and the bystander's events tell
/// nobody else anything. No notice carries a code, a recovery code or a device token
/// (src/event.rs:9, "Events never hold a secret, a code or a hash"). A second relay run
/// hands nothing over again.
#[test]
fn r28_each_change_is_told_once_to_its_own_user_and_nothing_else_is() {
    let (shop, store) = shop();
    let (sarah, partner, bob) = (user("sarah"), user("partner"), user("bob"));
    let phone = shop.enroll(&sarah);
    let partner_phone = shop.enroll(&partner);
    let bob_phone = shop.enroll(&bob);
    let outbox = Outbox::default();
    let mut secrets: Vec<String> = Vec::new();

    // A wrong code, then a good one: routine, no notice.
    let wrong = run(shop.mfa.verify_code(&sarah, &phone.wrong_code(), &office())).unwrap();
    assert!(matches!(wrong, Err(Refusal::WrongCode { .. })), "{wrong:?}");
    shop.prove(&sarah, &phone);
    let codes = run(shop.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
    secrets.extend(codes.iter().map(|c| c.as_str().to_string()));
    secrets.extend(codes.iter().map(|c| c.as_str().replace('-', "")));
    run(shop.mfa.add_destination(&sarah, phone_number(), Role::Backup, &outbox, &office())).unwrap().unwrap();
    secrets.push(outbox.last_code());
    run(shop.mfa.confirm_destination(&sarah, &outbox.last_code(), &office())).unwrap().unwrap();
    let remembered =
        run(shop.mfa.remember_device(&sarah, "Work laptop", 30 * 86_400, &office())).unwrap().unwrap();
    secrets.push(remembered.token.as_str().to_string());
    assert!(run(shop.mfa.remove_destination(&sarah, Role::Backup, &office())).unwrap().unwrap());
    shop.clock.advance(60);
    run(shop.mfa.redeem_recovery_code(&sarah, codes[0].as_str(), &office())).unwrap().unwrap();
    shop.clock.advance(60);
    let mut locked = false;
    for _ in 0..20 {
        if let Err(Refusal::LockedOut { .. }) =
            run(shop.mfa.verify_code(&sarah, &phone.wrong_code(), &office())).unwrap()
        {
            locked = true;
            break;
        }
    }
    assert!(locked);

    // Bob, proved, tries to reset the partner without permission: refused, no notice.
    shop.prove(&bob, &bob_phone);
    let denied = permissions::from_sync_fn(|_| false);
    let refused = run(shop.mfa.reset(reset_of(&bob, &partner, "curious"), &denied, &office())).unwrap();
    assert_eq!(refused.err(), Some(Refusal::NotPermitted));
    // The partner proves a code and resets Sarah.
    shop.prove(&partner, &partner_phone);
    run(shop.mfa.reset(reset_of(&partner, &sarah, "locked out"), &permitted(), &office())).unwrap().unwrap();

    let inbox = Arc::new(Inbox::default());
    let relay = NoticeRelay::new("email", store.clone(), inbox.clone(), shop.clock.clone());
    while run(relay.run_once()).unwrap().claimed > 0 {}
    let notices = inbox.0.lock().unwrap().clone();
    let mut by_user: BTreeMap<String, Vec<(SecurityNotice, &'static str, bool)>> = BTreeMap::new();
    for notice in &notices {
        by_user.entry(notice.user.to_string()).or_default().push((
            notice.kind,
            notice.event.name(),
            notice.actor != notice.user,
        ));
        let shown = format!("{notice:?} {}", serde_json::to_string(&notice.event).unwrap());
        for secret in &secrets {
            assert!(!shown.contains(secret.as_str()), "a secret in a notice: {shown}");
        }
    }
    use SecurityNotice::*;
    assert_eq!(
        by_user.get("sarah").cloned().unwrap_or_default(),
        vec![
            (FactorAdded, "enrollment_confirmed", false),
            (RecoveryCodesRegenerated, "recovery_codes_generated", false),
            (FactorAdded, "backup_destination_confirmed", false),
            (DeviceRemembered, "device_remembered", false),
            (FactorRemoved, "backup_destination_removed", false),
            (SignedInWithRecoveryCode, "code_accepted", false),
            (LockedOut, "lockout_started", false),
            (ResetByAdmin, "reset_by_admin", true),
        ]
    );
    for other in [&partner, &bob] {
        assert_eq!(
            by_user.get(other.as_str()).cloned().unwrap_or_default(),
            vec![(FactorAdded, "enrollment_confirmed", false)],
            "{other}: only their own enrollment"
        );
    }
    assert_eq!(by_user.len(), 3, "{by_user:?}");
    let reset = notices.iter().find(|n| n.kind == ResetByAdmin).unwrap();
    assert_eq!((&reset.user, &reset.actor), (&sarah, &partner));
    // Nothing is handed over twice.
    assert_eq!(run(relay.run_once()).unwrap().claimed, 0);
    assert_eq!(inbox.0.lock().unwrap().len(), notices.len());
}

fn phone_number() -> mfa_kit::Destination {
    mfa_kit::Destination::sms("+61 412 345 678").unwrap()
}

/// A notifier whose provider is down until told otherwise.
#[derive(Default)]
struct Flaky {
    down: std::sync::atomic::AtomicBool,
    delivered: std::sync::Mutex<Vec<Notice>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the provider is down")]
struct Down;

impl Notifier for Flaky {
    type Error = Down;

    async fn notify(&self, notice: &Notice) -> Result<(), Down> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Down);
        }
        self.delivered.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

/// src/relay.rs:18-22, "Never dropped. A failed delivery is rescheduled ...
/// Only delivery removes a notice", and src/store/notices.rs:172, "Nothing leaves a
/// queue but by `ack_notice`". A notice that keeps failing is still delivered, whole,
/// after the audit trail it came from was pruned past its event.
#[test]
fn a_failing_notice_survives_the_pruning_of_its_event_and_is_delivered_whole() {
    use mfa_kit::event::AuditEvent;
    use mfa_kit::store::{MemoryStore, PruneAudit, Store};
    use mfa_kit::{OrgId, RequestContext};
    const T0: u64 = 1_700_000_000;
    let store = Arc::new(MemoryStore::new());
    let alice = UserId::new("alice");
    let context = RequestContext::default().in_org("smith-co").with_device("Firefox");
    let event =
        AuditEvent::new(&alice, &alice, T0, &context, EventKind::RecoveryCodesGenerated { count: 10 });
    run(store.append_events(vec![event])).unwrap();
    let clock = mfa_kit::clock::ManualClock::new(T0 + 10);
    let flaky = Arc::new(Flaky::default());
    flaky.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let relay = NoticeRelay::new("email", store.clone(), flaky.clone(), clock.clone());
    assert_eq!(run(relay.run_once()).unwrap().failed, 1);
    let pruned = run(store.delete_audit_before(Some(&OrgId::new("smith-co")), T0 + 1, 100)).unwrap();
    assert_eq!(pruned, 1, "the event left the trail");
    assert_eq!(run(relay.stats()).unwrap().pending, 1, "the notice did not");
    flaky.down.store(false, std::sync::atomic::Ordering::SeqCst);
    clock.advance(relay.config().backoff(1));
    assert_eq!(run(relay.run_once()).unwrap().delivered, 1);
    let delivered = flaky.delivered.lock().unwrap().clone();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].event, EventKind::RecoveryCodesGenerated { count: 10 });
    assert_eq!((delivered[0].at, delivered[0].attempt), (T0, 2));
    assert_eq!(delivered[0].context.device.as_deref(), Some("Firefox"));
    assert_eq!(run(relay.stats()).unwrap().pending, 0);
}

/// `fr.ftl`'s header: the same ids and the same arguments as `en.ftl`, but for a
/// method written at the start of a sentence (`$method_start`) in one language and
/// within it (`$method`) in another, where each puts it (both are always set).
#[cfg(feature = "messages")]
#[test]
fn every_message_takes_the_same_arguments_in_every_catalogue() {
    use std::collections::BTreeSet;
    /// Each message's id and the `$variables` its value and variants use (comment lines
    /// skipped).
    fn arguments(source: &str) -> BTreeMap<String, BTreeSet<String>> {
        let mut all: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in source.lines() {
            if line.trim_start().starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let starts = line.chars().next().is_some_and(|c| c.is_ascii_lowercase());
            if starts && let Some((id, _)) = line.split_once(" =") {
                current = Some(id.trim().to_string());
                all.entry(id.trim().to_string()).or_default();
            }
            let Some(id) = &current else { continue };
            let mut rest = line;
            while let Some(at) = rest.find('$') {
                rest = &rest[at + 1..];
                let name: String =
                    rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                // `$method_start` is `$method` at the start of a sentence.
                let name = name.strip_suffix("_start").map(str::to_string).unwrap_or(name);
                all.get_mut(id).unwrap().insert(name);
            }
        }
        all
    }
    let english = arguments(include_str!("../src/messages/en.ftl"));
    let french = arguments(include_str!("../src/messages/fr.ftl"));
    assert!(english.len() > 100 && english.keys().eq(french.keys()));
    let differing: Vec<_> = english
        .iter()
        .filter(|(id, args)| french.get(*id) != Some(args))
        .map(|(id, args)| format!("{id}: en {args:?}, fr {:?}", french[id]))
        .collect();
    assert!(differing.is_empty(), "messages whose arguments differ: {differing:?}");
}

/// A clock whose first `fails` readings fail.
struct FailsFirst {
    inner: mfa_kit::clock::ManualClock,
    fails: std::sync::atomic::AtomicUsize,
}

impl mfa_kit::clock::Clock for FailsFirst {
    fn now(&self) -> Result<u64, mfa_kit::clock::ClockError> {
        use std::sync::atomic::Ordering;
        if self.fails.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            return Err(mfa_kit::clock::ClockError("the time source failed".into()));
        }
        self.inner.now()
    }
}

/// src/relay.rs:334-338, `NoticeRelay::run`: "at once after a full batch ...
/// after `RelayConfig::idle` (waited with `sleep` ...) otherwise. A failing store or
/// clock is reported to `on_error` and tried again after the idle wait: the relay keeps
/// going." A clock that fails once is reported once and waited out; the three notices
/// then go out in full batches of one without a wait between them; the relay waits
/// again only when nothing is due. (The only other test of `run` panics on any error.)
#[test]
fn the_running_relay_reports_a_failing_clock_keeps_going_and_waits_only_when_idle() {
    use mfa_kit::event::AuditEvent;
    use mfa_kit::relay::RelayConfig;
    use mfa_kit::store::{MemoryStore, Store};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    const T0: u64 = 1_700_000_000;
    let store = Arc::new(MemoryStore::new());
    let events: Vec<AuditEvent> = ["ann", "ben", "cat"]
        .iter()
        .map(|name| {
            let who = UserId::new(*name);
            AuditEvent::new(&who, &who, T0, &Default::default(), EventKind::Deactivated)
        })
        .collect();
    run(store.append_events(events)).unwrap();
    let clock = FailsFirst { inner: mfa_kit::clock::ManualClock::new(T0 + 1), fails: AtomicUsize::new(1) };
    let inbox = Arc::new(Inbox::default());
    let config =
        RelayConfig { batch: 1, idle: std::time::Duration::from_millis(1), ..RelayConfig::default() };
    let relay = NoticeRelay::new("email", store, inbox.clone(), clock).with_config(config);
    let (stop, sleeps, errors) = (AtomicBool::new(false), AtomicUsize::new(0), AtomicUsize::new(0));
    let sleep = |_| {
        let slept = sleeps.fetch_add(1, Ordering::SeqCst) + 1;
        if inbox.0.lock().unwrap().len() == 3 || slept > 20 {
            stop.store(true, Ordering::Release);
        }
        async {}
    };
    run(relay.run(&stop, sleep, |error| {
        assert!(matches!(error, mfa_kit::relay::RelayError::Clock(_)), "{error}");
        errors.fetch_add(1, Ordering::SeqCst);
    }));
    assert_eq!(errors.load(Ordering::SeqCst), 1, "the failing clock was reported once");
    assert_eq!(inbox.0.lock().unwrap().len(), 3, "the relay kept going");
    assert_eq!(
        sleeps.load(Ordering::SeqCst),
        2,
        "one wait after the error, one when idle, none between full batches"
    );
}
