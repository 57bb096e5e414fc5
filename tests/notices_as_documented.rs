//! A host developer's review of the security notices as documented: the relay, the
//! store's outbox, which events make a notice, the "this wasn't me" link and the
//! messages. Each test quotes the sentence it checks.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use mfa_kit::clock::{Clock, ManualClock};
use mfa_kit::event::{AuditEvent, EventKind, SecurityNotice};
use mfa_kit::messages::Language;
use mfa_kit::relay::{Notice, NoticeRelay, Notifier, RelayConfig};
use mfa_kit::store::{MAX_ERROR_LEN, MemoryStore, NoticeClaim, NoticeOutbox, Store};
use mfa_kit::{Method, RejectionReason, RequestContext, UserId};

const T0: u64 = 1_700_000_000;

fn added(user: &UserId, at: u64) -> AuditEvent {
    AuditEvent::new(
        user,
        user,
        at,
        &RequestContext::default(),
        EventKind::EnrollmentConfirmed { replaced: false },
    )
}

fn routine(user: &UserId, at: u64) -> AuditEvent {
    let kind = EventKind::CodeRejected {
        method: Method::Totp,
        reason: RejectionReason::Wrong,
        consecutive_failures: 1,
    };
    AuditEvent::new(user, user, at, &RequestContext::default(), kind)
}

/// The shard of the in-memory store a user's events go to (FNV-1a of the id, 16 shards,
/// as `MemoryStore`'s docs describe its layout).
fn shard_of(name: &str) -> u64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    hash % 16
}

/// A user whose events go to shard `shard`.
fn user_in_shard(shard: u64) -> UserId {
    let name = (0..).map(|n| format!("user-{n}")).find(|name| shard_of(name) == shard).unwrap();
    UserId::new(name)
}

/// Keeps every notice; fails while `down` is set; can move the clock while delivering.
#[derive(Default)]
struct Desk {
    got: Mutex<Vec<Notice>>,
    down: std::sync::atomic::AtomicBool,
    tries: AtomicUsize,
    slow: Mutex<Option<(ManualClock, u64)>>,
}

#[derive(Debug, thiserror::Error)]
#[error("provider down")]
struct Down;

impl Notifier for Desk {
    type Error = Down;

    async fn notify(&self, notice: &Notice) -> Result<(), Down> {
        self.tries.fetch_add(1, Ordering::SeqCst);
        if let Some((clock, secs)) = &*self.slow.lock().unwrap() {
            clock.advance(*secs);
        }
        if self.down.load(Ordering::SeqCst) {
            return Err(Down);
        }
        self.got.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

/// Fails with a long text of multi-byte characters.
struct Verbose;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Long(String);

impl Notifier for Verbose {
    type Error = Long;

    async fn notify(&self, _: &Notice) -> Result<(), Long> {
        Err(Long("€".repeat(400)))
    }
}

// src/store/notices.rs:160-163 (the `NoticeOutbox` contract): "`claim_notices(relay,
// claim)` first reads events committed after the relay's cursor, in the trail's commit
// order, up to [`MAX_INTAKE`] of them ... Every event a save or an append committed is
// read exactly once per relay name"; src/relay.rs:18 "**Never dropped.**".
//
// `MemoryStore` takes its shards' events smallest id first across the shards: a notice
// committed first in a later shard is read while an earlier shard keeps adding 1000
// newer events before each claim (it was passed over for ever when the shards were read
// in shard order).
#[test]
fn a_notice_in_a_later_shard_is_not_starved_by_a_busy_earlier_shard() {
    let store = Arc::new(MemoryStore::new());
    let (busy, quiet) = (user_in_shard(0), user_in_shard(15));
    // The quiet user's notice is committed first.
    run(store.append_events(vec![added(&quiet, T0)])).unwrap();
    let desk = Arc::new(Desk::default());
    let relay = NoticeRelay::new("email", store.clone(), desk.clone(), ManualClock::new(T0 + 10));
    for round in 0..5 {
        // Another 1000 routine events of a busy user in an earlier shard, then a run.
        let events = (0..1000).map(|n| routine(&busy, T0 + 1 + n)).collect();
        run(store.append_events(events)).unwrap();
        let batch = run(relay.run_once()).unwrap();
        assert_eq!(batch.read, 1000, "round {round}");
    }
    assert_eq!(
        desk.got.lock().unwrap().len(),
        1,
        "the notice committed before 5000 routine events was never read by 5 claims of 1000"
    );
}

// src/relay.rs:149-150: "50 a batch, a 5-minute lease, retries after 30 s, 1 min, 2 min
// ... up to 6 hours, polling every second when idle."
#[test]
fn the_default_config_and_its_backoff_are_as_documented() {
    let config = RelayConfig::default();
    assert_eq!((config.batch, config.lease, config.idle), (50, 300, std::time::Duration::from_secs(1)));
    let waits: Vec<u64> = (1..=12).map(|attempt| config.backoff(attempt)).collect();
    assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600]);
    assert_eq!(config.backoff(u32::MAX), 6 * 3600, "no overflow at any attempt");
}

// src/store/notices.rs:53 "The most notices to claim (0 reads as 1 ...)"; :165-168 "leases
// ... due (`next attempt <= now`) and not leased (`lease end <= now`) ... Two claims
// never get the same notice unless the lease of the first has ended by the `now` of the
// second."
#[test]
fn a_claim_of_0_takes_one_and_a_lease_holds_until_its_end_exactly() {
    let store = MemoryStore::new();
    let alice = UserId::new("alice");
    run(store.append_events(vec![added(&alice, T0), added(&alice, T0 + 1)])).unwrap();
    let first = NoticeClaim { now: T0 + 10, lease_until: T0 + 70, limit: 0, token: 1 };
    let got = run(store.claim_notices("email", &first)).unwrap();
    assert_eq!(got.notices.len(), 1, "a limit of 0 reads as 1");
    assert_eq!(got.notices[0].event.event.at, T0, "oldest first");
    let before_end = NoticeClaim { now: T0 + 69, lease_until: T0 + 200, limit: 10, token: 2 };
    let second = run(store.claim_notices("email", &before_end)).unwrap();
    assert_eq!(second.notices.len(), 1, "only the notice not leased");
    assert_eq!(second.notices[0].event.event.at, T0 + 1);
    let at_end = NoticeClaim { now: T0 + 70, lease_until: T0 + 200, limit: 10, token: 3 };
    let third = run(store.claim_notices("email", &at_end)).unwrap();
    assert_eq!(third.notices.len(), 1, "the first lease ended at its end");
    assert_eq!((third.notices[0].event.event.at, third.notices[0].attempt), (T0, 2));
}

// src/store/notices.rs:171-173: "`retry_notice` applies only while the notice is still
// leased under `token` ... Returns whether it applied."; :169-170 "`ack_notice` ...
// Removing one already gone is not an error."
#[test]
fn only_the_claim_holding_a_notice_can_reschedule_it() {
    let store = MemoryStore::new();
    let alice = UserId::new("alice");
    run(store.append_events(vec![added(&alice, T0)])).unwrap();
    let first = NoticeClaim { now: T0, lease_until: T0 + 10, limit: 5, token: 11 };
    let id = run(store.claim_notices("email", &first)).unwrap().notices[0].event.id;
    // The lease ends; another claim takes it over.
    let second = NoticeClaim { now: T0 + 10, lease_until: T0 + 20, limit: 5, token: 22 };
    assert_eq!(run(store.claim_notices("email", &second)).unwrap().notices.len(), 1);
    assert!(!run(store.retry_notice("email", id, 11, T0 + 999, "late")).unwrap(), "the old claim's token");
    assert!(run(store.retry_notice("email", id, 22, T0 + 50, "down")).unwrap());
    assert!(!run(store.retry_notice("email", id, 22, T0 + 60, "again")).unwrap(), "no longer leased");
    let failing = run(store.failing_notices("email", 10)).unwrap();
    assert_eq!((failing[0].next_attempt_at, failing[0].last_error.as_str()), (T0 + 50, "down"));
    run(store.ack_notice("email", id)).unwrap();
    run(store.ack_notice("email", id)).unwrap();
    run(store.ack_notice("nobody", 12345)).unwrap();
    assert_eq!(run(store.notice_stats("email")).unwrap().pending, 0);
}

// src/relay.rs:107-108: "Its text is stored with the notice and shown to operators";
// src/store/notices.rs:34-35: "The longest error text kept with a notice, in bytes;
// longer texts are cut at a character boundary."
#[test]
fn a_long_error_is_kept_cut_at_a_character_boundary() {
    let store = Arc::new(MemoryStore::new());
    run(store.append_events(vec![added(&UserId::new("alice"), T0)])).unwrap();
    let relay = NoticeRelay::new("email", store.clone(), Verbose, ManualClock::new(T0));
    assert_eq!(run(relay.run_once()).unwrap().failed, 1);
    let failing = run(relay.failing(1)).unwrap();
    // 500 is not a boundary of 3-byte characters: 498 bytes, 166 characters.
    assert_eq!(failing[0].last_error, "€".repeat(MAX_ERROR_LEN / 3));
}

// src/store/notices.rs:176: "Relay names are compared exactly; each has its own cursor
// and queue."
#[test]
fn relay_names_are_compared_exactly() {
    let store = Arc::new(MemoryStore::new());
    run(store.append_events(vec![added(&UserId::new("alice"), T0)])).unwrap();
    let clock = ManualClock::new(T0);
    for name in ["email", "Email", "email ", "e-mail"] {
        let desk = Arc::new(Desk::default());
        let relay = NoticeRelay::new(name, store.clone(), desk.clone(), clock.clone());
        run(relay.run_once()).unwrap();
        assert_eq!(desk.got.lock().unwrap().len(), 1, "{name:?} has its own queue");
        assert_eq!(relay.name(), name);
    }
}

// src/relay.rs:373-375: "Up to `limit` notices whose last delivery failed, most attempts
// first, with their last error (`limit` from 1 to the store's page: 0 reads as 1"; and
// the stats: src/store/notices.rs:124-131.
#[test]
fn failing_lists_the_most_attempts_first_and_0_reads_as_1() {
    let store = Arc::new(MemoryStore::new());
    let (alice, bob) = (UserId::new("alice"), UserId::new("bob"));
    run(store.append_events(vec![added(&alice, T0)])).unwrap();
    let clock = ManualClock::new(T0 + 100);
    let desk = Arc::new(Desk::default());
    desk.down.store(true, Ordering::SeqCst);
    let config = RelayConfig { first_retry: 10, max_retry: 10, ..RelayConfig::default() };
    let relay = NoticeRelay::new("email", store.clone(), desk.clone(), clock.clone()).with_config(config);
    run(relay.run_once()).unwrap();
    clock.advance(10);
    run(relay.run_once()).unwrap();
    // Bob's notice, newer, fails once.
    run(store.append_events(vec![added(&bob, T0 + 1)])).unwrap();
    clock.advance(10);
    run(relay.run_once()).unwrap();
    let failing = run(relay.failing(10)).unwrap();
    let order: Vec<(&UserId, u32)> = failing.iter().map(|f| (&f.event.event.user, f.attempts)).collect();
    assert_eq!(order, [(&alice, 3), (&bob, 1)]);
    assert_eq!(run(relay.failing(0)).unwrap().len(), 1, "0 reads as 1");
    let stats = run(relay.stats()).unwrap();
    assert_eq!((stats.pending, stats.failing, stats.most_attempts, stats.oldest_at), (2, 2, 3, Some(T0)));
}

// src/relay.rs:84-87: "A claim counts whether or not its delivery was tried (a batch whose
// lease ended first ... hands the rest back counted)"; src/relay.rs:192 (`Batch::
// lease_ended`) "Not tried because the lease had ended; another claim will take them."
#[test]
fn a_notice_left_untried_at_the_lease_end_is_taken_by_the_next_claim_counted() {
    let store = Arc::new(MemoryStore::new());
    let alice = UserId::new("alice");
    run(store.append_events(vec![added(&alice, T0), added(&alice, T0 + 1)])).unwrap();
    let clock = ManualClock::new(T0 + 100);
    let desk = Arc::new(Desk::default());
    *desk.slow.lock().unwrap() = Some((clock.clone(), 60));
    let config = RelayConfig { lease: 60, ..RelayConfig::default() };
    let relay = NoticeRelay::new("email", store.clone(), desk.clone(), clock.clone()).with_config(config);
    let batch = run(relay.run_once()).unwrap();
    assert_eq!((batch.claimed, batch.delivered, batch.lease_ended), (2, 1, 1));
    *desk.slow.lock().unwrap() = None;
    let batch = run(relay.run_once()).unwrap();
    assert_eq!((batch.claimed, batch.delivered), (1, 1), "taken again at once, the lease having ended");
    let got = desk.got.lock().unwrap();
    assert_eq!(got.iter().map(|n| (n.at, n.attempt)).collect::<Vec<_>>(), [(T0, 1), (T0 + 1, 2)]);
}

// src/relay.rs:10-13: "the notice is delivered again once its lease has expired.
// [`Notice::id`] ... is the idempotency key"; src/relay.rs:93-94 (`disown_token`): "the
// same for every delivery of the notice."
#[test]
fn a_redelivered_notice_keeps_its_id_and_its_link() {
    let store = Arc::new(MemoryStore::new());
    run(store.append_events(vec![added(&UserId::new("alice"), T0)])).unwrap();
    let clock = ManualClock::new(T0 + 100);
    let desk = Arc::new(Desk::default());
    desk.down.store(true, Ordering::SeqCst);
    let relay = NoticeRelay::new("email", store.clone(), desk.clone(), clock.clone());
    run(relay.run_once()).unwrap();
    // A crashed relay's claim, then a normal delivery after its lease.
    desk.down.store(false, Ordering::SeqCst);
    clock.advance(30);
    let crashed =
        NoticeClaim { now: clock.now().unwrap(), lease_until: clock.now().unwrap() + 5, limit: 1, token: 9 };
    let lost = run(store.claim_notices("email", &crashed)).unwrap().notices;
    assert_eq!(lost[0].attempt, 2);
    clock.advance(5);
    assert_eq!(run(relay.run_once()).unwrap().delivered, 1);
    let key = mfa_kit::keyed_hash::HashKey::generate().unwrap();
    let got = desk.got.lock().unwrap();
    assert_eq!((got[0].id, got[0].attempt), (lost[0].event.id, 3));
    let rebuilt = mfa_kit::flow::disown::token(&key, &got[0].user, got[0].id, got[0].at, &got[0].event);
    assert_eq!(got[0].disown_token(&key), rebuilt);
    assert_eq!(run(relay.stats()).unwrap(), Default::default());
}

// src/event.rs:669-686 and R28 (docs/requirements.md:112-114): which events are notices.
#[test]
fn which_events_make_a_notice() {
    let cases = [
        (EventKind::AuthenticatorImported, Some(SecurityNotice::FactorAdded)),
        (EventKind::EnrollmentConfirmed { replaced: true }, Some(SecurityNotice::FactorAdded)),
        (EventKind::Deactivated, Some(SecurityNotice::FactorRemoved)),
        (EventKind::RecoveryCodesGenerated { count: 10 }, Some(SecurityNotice::RecoveryCodesRegenerated)),
        (EventKind::RecoveryCodesLow { remaining: 2 }, Some(SecurityNotice::RecoveryCodesRunningLow)),
        (EventKind::RecoveryCodesExhausted, Some(SecurityNotice::RecoveryCodesRunningLow)),
        (EventKind::LockoutStarted { until: T0 }, Some(SecurityNotice::LockedOut)),
        (EventKind::SecondFactorDisabled { failures: 10 }, Some(SecurityNotice::LockedOut)),
        (
            EventKind::CodeAccepted { method: Method::RecoveryCode, drift: None },
            Some(SecurityNotice::SignedInWithRecoveryCode),
        ),
        (EventKind::CodeAccepted { method: Method::Totp, drift: None }, None),
        (EventKind::LockoutEnded, None),
        (EventKind::EnrollmentExpired, None),
        (EventKind::PasswordChanged, None),
    ];
    for (event, notice) in cases {
        assert_eq!(event.security_notice(), notice, "{event:?}");
    }
}

// src/store/notices.rs:132-135 (`NoticeStats::missed`): "Events that left the trail before
// this relay read them (a bounded in-memory trail that overflowed) ... On a
// [`crate::store::MemoryStore`] it is an upper bound".
#[test]
fn a_bounded_trail_that_overflowed_counts_what_the_relay_missed() {
    let store = Arc::new(MemoryStore::with_audit_capacity(16));
    let alice = UserId::new("alice");
    let events: Vec<AuditEvent> = (0..2000).map(|n| added(&alice, T0 + n)).collect();
    run(store.append_events(events)).unwrap();
    let dropped = store.dropped_events();
    assert!(dropped > 0);
    let desk = Arc::new(Desk::default());
    let relay = NoticeRelay::new("email", store.clone(), desk.clone(), ManualClock::new(T0 + 5000));
    while run(relay.run_once()).unwrap().claimed > 0 {}
    let stats = run(relay.stats()).unwrap();
    assert!(stats.missed >= dropped, "missed {} of {dropped} dropped", stats.missed);
    assert_eq!(desk.got.lock().unwrap().len() as u64 + dropped, 2000);
}

// src/service/disown.rs:45-46: "a name with no record gets the same answer as a wrong
// token, and nothing is written for it."
#[test]
fn a_link_for_a_user_without_a_record_is_invalid_and_writes_nothing() {
    let (shop, store) = shop();
    let ghost = user("ghost");
    let token = shop.mfa.disown_token(&ghost, 1, shop.clock.now().unwrap(), &EventKind::Deactivated).unwrap();
    let answer = run(shop.mfa.disown(&ghost, token.as_str(), &office())).unwrap();
    assert_eq!(answer, Err(mfa_kit::Refusal::DisownLinkInvalid));
    assert!(run(store.load(&ghost)).unwrap().is_none(), "no record was written");
    let desk = Arc::new(Desk::default());
    let relay = NoticeRelay::new("email", store.clone(), desk.clone(), shop.clock.clone());
    assert_eq!(run(relay.run_once()).unwrap().read, 0, "no event was written");
}

// src/flow/disown.rs:13-16: "where none remains (the notice was about the only one),
// signing in is refused with [`Refusal::AccountFrozen`] too".
#[test]
fn disowning_the_only_factor_refuses_sign_in_as_frozen() {
    let (shop, store) = shop();
    let inbox = Arc::new(Inbox::default());
    let sam = user("sam");
    shop.enroll(&sam);
    let [notice] = delivered(&shop, &store, &inbox, SecurityNotice::FactorAdded).try_into().unwrap();
    let token = link(&shop, &notice);
    let disowned = run(shop.mfa.disown(&sam, &token, &office())).unwrap().unwrap();
    assert_eq!(disowned.event_id, notice.id);
    assert_eq!(disowned.revoked.len(), 1, "the app set up then: {:?}", disowned.revoked);
    assert_eq!(
        run(shop.mfa.sign_in_decision(&sam, &office())).unwrap(),
        Err(mfa_kit::Refusal::AccountFrozen)
    );
}

// src/messages.rs:69-75: "The language of a BCP 47 tag (`fr`, `fr-CA`, `en-GB`, `EN_us`)
// ... [`UnknownId`] for a tag that is not well formed or names a language with no
// catalogue"; :99-102 (`from_accept_language`).
#[test]
fn tags_and_headers_choose_a_language_as_documented() {
    assert_eq!(Language::from_tag("EN_us"), Ok(Language::English));
    assert_eq!(Language::from_tag(" fr "), Ok(Language::French));
    for bad in ["", "fr-", "f", "français", "pt-BR", "*"] {
        assert!(Language::from_tag(bad).is_err(), "{bad:?}");
    }
    assert_eq!(Language::first_supported(["de", "*", "en-GB", "fr"]), Some(Language::English));
    assert_eq!(Language::first_supported([]), None);
    assert_eq!(Language::from_accept_language("de, FR;Q=0.7, en;q=0.5"), Language::French);
    assert_eq!(Language::from_accept_language("fr;q=nonsense, en;q=0.1"), Language::English);
    assert_eq!(Language::from_accept_language("en;q=0, fr;q=0"), Language::English);
    assert_eq!(Language::from_accept_language("de-CH, *;q=0.5"), Language::English);
}

// src/flow/disown.rs:17-19: "revokes what the notice was about where that can be told:
// ... the phone number or address confirmed then"; :154-156 (`Disowned::revoked`):
// "`\"primary_destination\"`, `\"backup_destination\"`".
#[test]
fn disowning_a_confirmed_backup_phone_removes_it() {
    let (shop, store) = shop();
    let inbox = Arc::new(Inbox::default());
    let ann = user("ann");
    let _outbox = with_backup_phone(&shop, &ann);
    let notices = delivered(&shop, &store, &inbox, SecurityNotice::FactorAdded);
    let phone_notice =
        notices.iter().find(|n| matches!(n.event, EventKind::BackupDestinationConfirmed { .. })).unwrap();
    let token = link(&shop, phone_notice);
    let disowned = run(shop.mfa.disown(&ann, &token, &office())).unwrap().unwrap();
    assert_eq!(disowned.revoked, ["backup_destination"]);
    let record = run(shop.mfa.record(&ann)).unwrap();
    assert!(record.destination_state().confirmed(mfa_kit::Role::Backup).is_none(), "the phone is gone");
}
