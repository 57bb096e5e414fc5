//! The store conformance suite (feature `test-suite`): checks that a [`Store`] keeps the
//! contract the service relies on, so any host's own store can prove it.
//!
//! Each check is an async function that panics with a message naming what was wrong,
//! as a test does. They need no async runtime of their own: call them from the
//! runtime the store needs (`#[tokio::test]` for sqlx stores, `pollster::block_on` for
//! a store that does no I/O). The racing-writers check spawns its writers through a
//! [`Spawner`]: [`ThreadSpawner`] runs each on an OS thread; a tokio host passes a
//! spawner over `tokio::spawn`.
//!
//! Every check uses user ids of its own (`conformance-<process>-<time>-<n>/…`), so the
//! checks run in parallel and on a database left dirty by an earlier run.
//!
//! ```
//! use std::sync::Arc;
//! use mfa_kit::store::MemoryStore;
//! use mfa_kit::store::conformance::{self, ThreadSpawner};
//!
//! pollster::block_on(conformance::run(Arc::new(MemoryStore::new()), &ThreadSpawner));
//! ```
//!
//! # Panics
//! Every check panics when the store breaks the contract, as a failing test does: that
//! is its purpose, so the crate's no-panic lints are lifted in this module only.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::listing::{AuditQuery, ListRecords, PruneAudit, ReadAudit, RecordQuery};
use super::notices::{ClaimedNotice, MAX_ERROR_LEN, NoticeClaim, NoticeOutbox};
use super::{OrgSettingsStore, SaveOutcome, Store, Version, VersionedSettings};
// The shared vocabulary, in one place.
use crate::event::{AuditEvent, AuditOutcome, EventKind, SecurityNotice};
use crate::policy::{Level, OrgSettings};
use crate::record::{TotpCredential, UserRecord};
use crate::vocabulary::{Method, RejectionReason, RequestContext};
use crate::vocabulary::{OrgId, UserId};

/// How many writers race in [`one_winner_among_racing_writers`].
pub const RACING_WRITERS: usize = 32;

/// Runs every check that needs a working store: all but [`errors_are_not_conflicts`],
/// which needs a failing one.
pub async fn run<S, P>(store: Arc<S>, spawner: &P)
where
    S: ListRecords + ReadAudit + PruneAudit + 'static,
    P: Spawner,
{
    create_only_conflicts(&*store).await;
    stale_versions_conflict(&*store).await;
    versions_are_never_reused(&*store).await;
    events_are_stored_with_their_record(&*store).await;
    security_keys_are_kept_exactly(&*store).await;
    one_winner_among_racing_writers(store.clone(), spawner).await;
    only_the_winners_events_are_kept(store.clone(), spawner).await;
    listing_and_paging(&*store).await;
    audit_reading_and_paging(&*store).await;
    organisations_are_kept_apart(&*store).await;
    old_events_are_pruned_by_organisation(&*store).await;
}

/// Writes the suite as tests, one `#[test]` per check, so a failing store learns which
/// check it failed (as tower-sessions' store tests do). Put each use in a module of its
/// own; the tests take the checks' names.
///
/// - `records`: the checks of [`run`] (a [`ListRecords`] + [`ReadAudit`] +
///   [`PruneAudit`] store);
/// - `org_settings`: those of [`run_org_settings`];
/// - `notice_outbox`: those of [`run_notice_outbox`].
///
/// `store` is an expression giving a future of an `Arc` of the store, evaluated afresh
/// for each test; `block_on` a function that runs a future to its end (the store's
/// runtime: `pollster::block_on`, or one that builds a tokio runtime); `spawner` the
/// [`Spawner`] of the racing checks; `finish`, optional, an async function given the
/// store after the check (to drop its tables).
///
/// ```
/// mod memory_store {
///     use std::sync::Arc;
///     use mfa_kit::store::MemoryStore;
///     use mfa_kit::store::conformance::ThreadSpawner;
///
///     mfa_kit::store_conformance_tests!(records;
///         store: async { Arc::new(MemoryStore::new()) },
///         block_on: pollster::block_on,
///         spawner: ThreadSpawner,
///     );
/// }
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    (records; store: $store:expr, block_on: $block_on:path, spawner: $spawner:expr $(, finish: $finish:path)? $(,)?) => {
        $crate::store_conformance_tests!(@each $store, $block_on, [$($finish)?];
            create_only_conflicts, stale_versions_conflict, versions_are_never_reused,
            events_are_stored_with_their_record, security_keys_are_kept_exactly, listing_and_paging,
            audit_reading_and_paging, organisations_are_kept_apart, old_events_are_pruned_by_organisation);
        $crate::store_conformance_tests!(@raced $store, $block_on, $spawner, [$($finish)?];
            one_winner_among_racing_writers);
        $crate::store_conformance_tests!(@raced $store, $block_on, $spawner, [$($finish)?];
            only_the_winners_events_are_kept);
    };
    (org_settings; store: $store:expr, block_on: $block_on:path, spawner: $spawner:expr $(, finish: $finish:path)? $(,)?) => {
        $crate::store_conformance_tests!(@each $store, $block_on, [$($finish)?];
            org_settings_are_saved_only_at_their_version, org_settings_are_stored_with_their_events);
        $crate::store_conformance_tests!(@raced $store, $block_on, $spawner, [$($finish)?];
            one_winner_among_racing_settings_writers);
    };
    (notice_outbox; store: $store:expr, block_on: $block_on:path, spawner: $spawner:expr $(, finish: $finish:path)? $(,)?) => {
        $crate::store_conformance_tests!(@each $store, $block_on, [$($finish)?];
            notices_are_queued_from_the_trail_once_and_in_order, claimed_notices_are_leased_until_the_lease_ends,
            failed_notices_wait_and_stay_visible_until_delivered);
        $crate::store_conformance_tests!(@raced $store, $block_on, $spawner, [$($finish)?];
            each_notice_is_claimed_once_among_racing_relays);
    };
    (@each $store:expr, $block_on:path, $finish:tt; $($check:ident),+ $(,)?) => {
        $(
            #[test]
            fn $check() {
                $block_on(async {
                    let store = $store.await;
                    $crate::store::conformance::$check(&*store).await;
                    $crate::store_conformance_tests!(@finish store $finish);
                });
            }
        )+
    };
    (@raced $store:expr, $block_on:path, $spawner:expr, $finish:tt; $check:ident) => {
        #[test]
        fn $check() {
            $block_on(async {
                let store = $store.await;
                $crate::store::conformance::$check(store.clone(), &$spawner).await;
                $crate::store_conformance_tests!(@finish store $finish);
            });
        }
    };
    (@finish $store:ident []) => {
        drop($store);
    };
    (@finish $store:ident [$finish:path]) => {
        $finish($store).await;
    };
}

/// Runs every check of an [`OrgSettingsStore`] that needs a working store: all but
/// [`org_settings_errors_are_not_conflicts`]. Run it besides [`run`].
pub async fn run_org_settings<S, P>(store: Arc<S>, spawner: &P)
where
    S: OrgSettingsStore + ReadAudit + 'static,
    P: Spawner,
{
    org_settings_are_saved_only_at_their_version(&*store).await;
    org_settings_are_stored_with_their_events(&*store).await;
    one_winner_among_racing_settings_writers(store, spawner).await;
}

/// Runs every check of a [`NoticeOutbox`]. Run it besides [`run`].
pub async fn run_notice_outbox<S, P>(store: Arc<S>, spawner: &P)
where
    S: NoticeOutbox + 'static,
    P: Spawner,
{
    notices_are_queued_from_the_trail_once_and_in_order(&*store).await;
    claimed_notices_are_leased_until_the_lease_ends(&*store).await;
    failed_notices_wait_and_stay_visible_until_delivered(&*store).await;
    each_notice_is_claimed_once_among_racing_relays(store, spawner).await;
}

/// A relay's first claim reads the whole trail, also what was stored before the relay
/// existed; only events with a [`SecurityNotice`] are queued, each once, oldest first,
/// with attempt 1 and the event as stored; a second relay name has its own cursor.
pub async fn notices_are_queued_from_the_trail_once_and_in_order<S: NoticeOutbox>(store: &S) {
    let user = fresh("notices");
    let mut stored = Vec::new();
    for mark in 0..6 {
        stored.push(notice_event(&user, 1_700_000_000 + u64::from(mark), mark));
        stored.push(event(&user, 1_700_000_000 + u64::from(mark), mark));
    }
    let Saved(_) = saved(store.save(record(&user, 1), None, stored[..4].to_vec()).await) else {
        panic!("creating a new record was refused")
    };
    ok(store.append_events(stored[4..].to_vec()).await);
    let relay = fresh("relay").as_str().to_string();
    let claimed = drain(store, &relay, &user, 100, 200).await;
    let expected: Vec<AuditEvent> =
        stored.iter().filter(|e| e.kind.security_notice().is_some()).cloned().collect();
    let got: Vec<AuditEvent> = claimed.iter().map(|c| c.event.event.clone()).collect();
    assert_eq!(got, expected, "the relay must get every notice event, in order, as stored, and nothing else");
    assert!(claimed.windows(2).all(|w| w[0].event.id < w[1].event.id), "notices come oldest id first");
    assert!(claimed.iter().all(|c| c.attempt == 1 && c.notice == SecurityNotice::RecoveryCodesRegenerated));
    for c in &claimed {
        ok(store.ack_notice(&relay, c.event.id).await);
    }
    assert!(drain(store, &relay, &user, 300, 400).await.is_empty(), "delivered notices came back");
    ok(store.append_events(vec![notice_event(&user, 1_700_000_100, 9)]).await);
    let later = drain(store, &relay, &user, 500, 600).await;
    assert_eq!(later.len(), 1, "a notice stored after the cursor moved must be read once");
    let other = fresh("relay-other").as_str().to_string();
    assert_eq!(drain(store, &other, &user, 500, 600).await.len(), 7, "another relay name has its own cursor");
    let stats = ok(store.notice_stats(&other).await);
    assert_eq!((stats.pending, stats.failing, stats.most_attempts), (7, 0, 1), "{stats:?}");
}

/// A claimed notice is not claimed again before its lease ends, and is claimed again
/// (attempt 2) once it has: a relay that died with it does not lose it.
pub async fn claimed_notices_are_leased_until_the_lease_ends<S: NoticeOutbox>(store: &S) {
    let user = fresh("lease");
    ok(store.append_events(vec![notice_event(&user, 1_700_000_000, 1)]).await);
    let relay = fresh("relay").as_str().to_string();
    let first = drain(store, &relay, &user, 1000, 1060).await;
    assert_eq!(first.len(), 1, "the notice was not claimed");
    assert!(
        drain(store, &relay, &user, 1059, 2000).await.is_empty(),
        "a notice was claimed twice under a lease"
    );
    let again = drain(store, &relay, &user, 1060, 2000).await;
    assert_eq!(again.len(), 1, "a notice whose lease ended was not claimed again");
    assert_eq!((again[0].event.id, again[0].attempt), (first[0].event.id, 2));
    let stats = ok(store.notice_stats(&relay).await);
    assert_eq!((stats.pending, stats.most_attempts, stats.oldest_at), (1, 2, Some(1_700_000_000)));
}

/// A failed delivery reported under the claim's token makes the notice wait until its
/// retry time, with its error and attempts visible; a stale token changes nothing; only
/// an acknowledgement removes it.
pub async fn failed_notices_wait_and_stay_visible_until_delivered<S: NoticeOutbox>(store: &S) {
    let user = fresh("failing-notice");
    ok(store.append_events(vec![notice_event(&user, 1_700_000_000, 1)]).await);
    let relay = fresh("relay").as_str().to_string();
    let claim = NoticeClaim { now: 1000, lease_until: 1060, limit: 1000, token: 41 };
    let mut claimed = ours(store, &relay, ok(store.claim_notices(&relay, &claim).await).notices, &user).await;
    claimed.extend(drain(store, &relay, &user, 1000, 1060).await);
    assert_eq!(claimed.len(), 1, "the notice was not claimed once");
    let id = claimed[0].event.id;
    assert!(
        !ok(store.retry_notice(&relay, id, 40, 1030, "stale").await),
        "a stale token rescheduled a notice"
    );
    let long = "\u{e9}".repeat(MAX_ERROR_LEN);
    assert!(ok(store.retry_notice(&relay, id, 41, 1030, &long).await), "the claim's token was refused");
    assert!(drain(store, &relay, &user, 1029, 2000).await.is_empty(), "a notice was retried before its time");
    let stats = ok(store.notice_stats(&relay).await);
    assert_eq!((stats.pending, stats.failing, stats.most_attempts), (1, 1, 1), "{stats:?}");
    let failing = ok(store.failing_notices(&relay, 10).await);
    assert_eq!(failing.len(), 1, "the failing notice is not listed");
    assert_eq!((failing[0].event.id, failing[0].attempts, failing[0].next_attempt_at), (id, 1, 1030));
    assert_eq!(failing[0].last_error, super::notices::error_text(&long), "the error was not kept, cut");
    let again = drain(store, &relay, &user, 1030, 2000).await;
    assert_eq!(again.len(), 1, "a failed notice was not retried at its time");
    ok(store.ack_notice(&relay, id).await);
    ok(store.ack_notice(&relay, id).await);
    let stats = ok(store.notice_stats(&relay).await);
    assert_eq!((stats.pending, stats.failing), (0, 0), "a delivered notice stayed: {stats:?}");
    assert!(ok(store.failing_notices(&relay, 10).await).is_empty());
}

/// How many claimers race in [`each_notice_is_claimed_once_among_racing_relays`].
pub const RACING_RELAYS: usize = 4;

/// [`RACING_RELAYS`] relays of one name claim and acknowledge while notices are being
/// appended: every notice is claimed exactly once.
pub async fn each_notice_is_claimed_once_among_racing_relays<S, P>(store: Arc<S>, spawner: &P)
where
    S: NoticeOutbox + 'static,
    P: Spawner,
{
    const NOTICES: u32 = 400;
    let user = fresh("racing-relays");
    let relay = fresh("relay").as_str().to_string();
    let done = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (store, user, done) = (store.clone(), user.clone(), done.clone());
        spawner.spawn(async move {
            for mark in 0..NOTICES {
                ok(store.append_events(vec![notice_event(&user, 1_700_000_000, mark)]).await);
                if mark % 16 == 0 {
                    YieldNow(false).await;
                }
            }
            done.store(1, Ordering::SeqCst);
        })
    };
    let mut joins = Vec::new();
    for n in 0..RACING_RELAYS {
        let (store, user, relay, done) = (store.clone(), user.clone(), relay.clone(), done.clone());
        joins.push(spawner.spawn(async move {
            let mut got = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst) == 1;
                let token = ((n as u64) << 32) | got.len() as u64;
                let claim = NoticeClaim { now: 1000, lease_until: u64::MAX >> 2, limit: 7, token };
                let claimed = ok(store.claim_notices(&relay, &claim).await);
                let empty = claimed.notices.is_empty() && claimed.caught_up;
                if claimed.read == 0 && !claimed.caught_up {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                for c in ours(&*store, &relay, claimed.notices, &user).await {
                    ok(store.ack_notice(&relay, c.event.id).await);
                    got.push(c.event.id);
                }
                if empty && finished {
                    return got;
                }
                YieldNow(false).await;
            }
        }));
    }
    writer.await;
    let mut all = Vec::new();
    for join in joins {
        all.extend(join.await);
    }
    let claimed = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(claimed, all.len(), "{} notices were claimed twice by live relays", claimed - all.len());
    assert_eq!(all.len(), NOTICES as usize, "notices were lost among racing relays");
}

/// Claims until the relay is caught up and nothing more is due at `now`; returns the
/// notices about `user`.
async fn drain<S: NoticeOutbox>(
    store: &S,
    relay: &str,
    user: &UserId,
    now: u64,
    lease_until: u64,
) -> Vec<ClaimedNotice> {
    let mut all = Vec::new();
    let started = std::time::Instant::now();
    loop {
        assert!(started.elapsed().as_secs() < 60, "the relay did not catch up in a minute");
        let claim = NoticeClaim { now, lease_until, limit: 1000, token: fresh_number() };
        let claimed = ok(store.claim_notices(relay, &claim).await);
        let done = claimed.caught_up && claimed.notices.is_empty();
        if claimed.read == 0 && !claimed.caught_up {
            // Held back (another claim reading, a transaction still open): wait a little.
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        all.extend(ours(store, relay, claimed.notices, user).await);
        if done {
            break;
        }
    }
    all
}

/// The claimed notices about `user`; those of other checks sharing the store are
/// acknowledged, so the relay's counts are the check's own.
async fn ours<S: NoticeOutbox>(
    store: &S,
    relay: &str,
    claimed: Vec<ClaimedNotice>,
    user: &UserId,
) -> Vec<ClaimedNotice> {
    let mut mine = Vec::new();
    for c in claimed {
        if &c.event.event.user == user {
            mine.push(c);
        } else {
            ok(store.ack_notice(relay, c.event.id).await);
        }
    }
    mine
}

/// An event that is a security notice, told apart by `mark`.
fn notice_event(user: &UserId, at: u64, mark: u32) -> AuditEvent {
    let context =
        RequestContext::from_address(std::net::IpAddr::from([203, 0, 113, 9])).with_device("Safari");
    AuditEvent::new(user, user, at, &context, EventKind::RecoveryCodesGenerated { count: mark as usize })
}

/// An organisation's settings are created once, saved only at the version loaded, each
/// save giving a version never given before; a conflict changes nothing; each
/// organisation (its id compared exactly) has its own settings.
pub async fn org_settings_are_saved_only_at_their_version<S: OrgSettingsStore>(store: &S) {
    let org = fresh("org").as_str().to_string();
    assert_eq!(ok(store.load_org_settings(&org).await), None, "an organisation never saved has no settings");
    let Saved(v1) = saved(store.save_org_settings(&org, settings(1), None, vec![]).await) else {
        panic!("creating new settings was refused")
    };
    assert_eq!(
        ok(store.save_org_settings(&org, settings(2), None, vec![]).await),
        SaveOutcome::Conflict,
        "creating settings that exist must be a conflict"
    );
    assert_eq!(
        stored_settings(store, &org).await,
        Some((v1, settings(1))),
        "a conflicting create changed them"
    );
    let mut seen = vec![v1];
    let mut current = v1;
    for mark in 2..12 {
        let Saved(next) = saved(store.save_org_settings(&org, settings(mark), Some(current), vec![]).await)
        else {
            panic!("a settings save at the current version was refused")
        };
        assert!(!seen.contains(&next), "settings version {next:?} was given twice");
        seen.push(next);
        current = next;
    }
    for stale in &seen[..seen.len() - 1] {
        assert_eq!(
            ok(store.save_org_settings(&org, settings(99), Some(*stale), vec![]).await),
            SaveOutcome::Conflict,
            "an old settings version {stale:?} was accepted again"
        );
    }
    assert_eq!(
        stored_settings(store, &org).await,
        Some((current, settings(11))),
        "a stale save changed them"
    );

    let ghost = format!("{org}-missing");
    assert_eq!(
        ok(store.save_org_settings(&ghost, settings(1), Some(v1), vec![]).await),
        SaveOutcome::Conflict,
        "updating settings that do not exist must be a conflict"
    );
    assert_eq!(ok(store.load_org_settings(&ghost).await), None, "a conflicting update created settings");
    for other in [org.to_uppercase(), format!("{org} "), format!("{org}%")] {
        assert_eq!(
            ok(store.load_org_settings(&other).await),
            None,
            "{other:?} read another organisation's settings"
        );
    }
}

/// The events of a settings save are stored with it, all of them in order, or not at
/// all when the save is a conflict.
pub async fn org_settings_are_stored_with_their_events<S: OrgSettingsStore + ReadAudit>(store: &S) {
    let (org, admin) = (fresh("org-events").as_str().to_string(), fresh("org-admin"));
    let events = vec![settings_event(&admin, &org, 0, 1), event(&admin, 1_700_000_001, 7)];
    let Saved(v1) = saved(store.save_org_settings(&org, settings(1), None, events.clone()).await) else {
        panic!("create refused")
    };
    assert_eq!(
        trail(store, &admin).await,
        events,
        "the events of a settings save are not all there, or not as given"
    );
    let lost = vec![settings_event(&admin, &org, 1, 2)];
    assert_eq!(
        ok(store.save_org_settings(&org, settings(2), None, lost.clone()).await),
        SaveOutcome::Conflict
    );
    let stale = Some(Version(v1.0 ^ 1));
    assert_eq!(ok(store.save_org_settings(&org, settings(2), stale, lost).await), SaveOutcome::Conflict);
    assert_eq!(trail(store, &admin).await, events, "a conflicting settings save stored its events");
    assert_eq!(stored_settings(store, &org).await, Some((v1, settings(1))));
}

/// [`RACING_WRITERS`] admins save an organisation's settings at once, five rounds, first
/// creating them and then updating them from the same version: exactly one wins each
/// race, the others see a conflict (never an error), the stored settings are the
/// winner's, and the trail holds the winner's event and no loser's.
pub async fn one_winner_among_racing_settings_writers<S, P>(store: Arc<S>, spawner: &P)
where
    S: OrgSettingsStore + ReadAudit + 'static,
    P: Spawner,
{
    for round in 0..5 {
        let org = fresh("org-race").as_str().to_string();
        let mut expected = None;
        for (step, from) in [(0, 0), (1, 1000)] {
            let ready = Arc::new(AtomicUsize::new(0));
            let mut joins = Vec::new();
            let admins: Vec<UserId> = (0..RACING_WRITERS).map(|n| fresh(&format!("org-racer-{n}"))).collect();
            for (writer, admin) in admins.iter().enumerate() {
                let (store, ready, org, admin) = (store.clone(), ready.clone(), org.clone(), admin.clone());
                let mark = 2000 + step * 100 + writer as u32;
                joins.push(spawner.spawn(async move {
                    ready.fetch_add(1, Ordering::SeqCst);
                    while ready.load(Ordering::SeqCst) < RACING_WRITERS {
                        YieldNow(false).await;
                    }
                    let events = vec![settings_event(&admin, &org, from, mark)];
                    store
                        .save_org_settings(&org, settings(mark), expected, events)
                        .await
                        .map_err(|e| e.to_string())
                }));
            }
            let mut outcomes = Vec::new();
            for join in joins {
                outcomes.push(join.await);
            }
            if let Some(error) = outcomes.iter().find_map(|o| o.as_ref().err()) {
                panic!("round {round}: a racing settings writer got an error instead of a conflict: {error}");
            }
            let winners: Vec<(usize, Version)> = outcomes
                .iter()
                .enumerate()
                .filter_map(|(n, o)| match o {
                    Ok(Saved(v)) => Some((n, *v)),
                    _ => None,
                })
                .collect();
            assert_eq!(winners.len(), 1, "round {round}: {} settings writers won", winners.len());
            let (n, version) = winners[0];
            let mark = 2000 + step * 100 + n as u32;
            assert_eq!(
                stored_settings(&*store, &org).await,
                Some((version, settings(mark))),
                "round {round}: the stored settings are not the winner's"
            );
            for (writer, admin) in admins.iter().enumerate() {
                let kept = trail(&*store, admin).await;
                let wanted = if writer == n { vec![settings_event(admin, &org, from, mark)] } else { vec![] };
                assert_eq!(kept, wanted, "round {round}: writer {writer}'s events are wrong (winner {n})");
            }
            assert_ne!(Some(version), expected, "round {round}: the update kept the version");
            expected = Some(version);
        }
    }
}

/// A store that fails reports the failure of a settings load or save as an error, never
/// as a conflict or as settings never saved. Pass a store whose database is unreachable
/// or has no tables.
pub async fn org_settings_errors_are_not_conflicts<S: OrgSettingsStore>(failing: &S) {
    let org = fresh("org-failing").as_str().to_string();
    assert!(
        failing.load_org_settings(&org).await.is_err(),
        "a failing settings load must be an error, not none"
    );
    let outcome = failing.save_org_settings(&org, settings(1), None, vec![]).await;
    assert!(outcome.is_err(), "a failing settings create must be an error, got {outcome:?}");
    let outcome = failing.save_org_settings(&org, settings(1), Some(Version(1)), vec![]).await;
    assert!(outcome.is_err(), "a failing settings update must be an error, got {outcome:?}");
}

/// A record exists once: creating it again is a conflict that changes nothing.
pub async fn create_only_conflicts<S: Store>(store: &S) {
    let user = fresh("create");
    assert_eq!(ok(store.load(&user).await), None, "a user never saved has no record");
    let first = record(&user, 1);
    let Saved(version) = saved(store.save(first.clone(), None, vec![]).await) else {
        panic!("creating a new record was refused");
    };
    assert_eq!(
        ok(store.save(record(&user, 2), None, vec![]).await),
        SaveOutcome::Conflict,
        "creating a record that exists must be a conflict"
    );
    let loaded = ok(store.load(&user).await).expect("the created record loads");
    assert_eq!((loaded.version, loaded.record), (version, first), "a conflicting create changed the record");

    let ghost = fresh("update-missing");
    assert_eq!(
        ok(store.save(record(&ghost, 1), Some(version), vec![]).await),
        SaveOutcome::Conflict,
        "updating a record that does not exist must be a conflict"
    );
    assert_eq!(ok(store.load(&ghost).await), None, "a conflicting update created a record");
}

/// A save at a version that is no longer the stored one is a conflict that changes
/// nothing.
pub async fn stale_versions_conflict<S: Store>(store: &S) {
    let user = fresh("stale");
    let Saved(v1) = saved(store.save(record(&user, 1), None, vec![]).await) else { panic!("create refused") };
    let second = record(&user, 2);
    let Saved(v2) = saved(store.save(second.clone(), Some(v1), vec![]).await) else {
        panic!("a save at the current version was refused")
    };
    assert_ne!(v1, v2, "a save must change the version");
    assert_eq!(
        ok(store.save(record(&user, 3), Some(v1), vec![]).await),
        SaveOutcome::Conflict,
        "a save at a stale version must be a conflict"
    );
    let loaded = ok(store.load(&user).await).expect("the record loads");
    assert_eq!((loaded.version, loaded.record), (v2, second), "a stale save changed the record");
}

/// A record with security keys (every byte value in a credential id, the largest
/// counter, a long public key), a user handle and a ceremony in progress loads exactly
/// as saved, and a signature counter moved by a later save is the one that loads.
pub async fn security_keys_are_kept_exactly<S: Store>(store: &S) {
    use crate::record::{Ceremony, CeremonyKind, CredentialId, SecurityKey, UserHandle};
    let user = fresh("keys");
    let mut first = UserRecord::new(user.clone());
    let key = |id: &str, credential: Vec<u8>, counter: u32, discoverable: bool| SecurityKey {
        id: id.into(),
        name: "Conformance key \u{1F511}".into(),
        credential_id: CredentialId::new(credential),
        public_key: format!("{{\"cose\":\"{}\"}}", "A".repeat(2000)).into(),
        counter,
        user_verified: true,
        backup_eligible: discoverable,
        backup_state: false,
        discoverable,
        created_at: 1_700_000_000,
        last_used_at: Some(1_700_000_060),
    };
    first.rare.edit().security_keys.push(key("00000000000000d1", (0..=255).collect(), u32::MAX - 1, false));
    first.rare.edit().security_keys.push(key("00000000000000d2", vec![7; 1023], 0, true));
    first.rare.edit().user_handle = Some(UserHandle([0xAB; 16]));
    first.rare.edit().ceremony = Some(Box::new(Ceremony {
        kind: CeremonyKind::Registration { name: "Spare key".into() },
        state: "{\"challenge\":\"conformance\"}".into(),
        started_at: 1_700_000_100,
        expires_at: 1_700_000_400,
    }));
    let Saved(v1) = saved(store.save(first.clone(), None, vec![]).await) else { panic!("create refused") };
    let loaded = ok(store.load(&user).await).expect("the record loads");
    assert_eq!(loaded.record, first, "a record with security keys changed in the store");
    let mut second = first;
    second.rare.edit().security_keys[0].counter = u32::MAX;
    second.rare.edit().ceremony = None;
    let Saved(_) = saved(store.save(second.clone(), Some(v1), vec![]).await) else {
        panic!("a save at the current version was refused")
    };
    let loaded = ok(store.load(&user).await).expect("the record loads");
    assert_eq!(loaded.record, second, "a key's counter or a spent ceremony was not kept");
}

/// Every successful save gives the record a version it never had, so a writer holding
/// an old version can never overwrite a newer record.
pub async fn versions_are_never_reused<S: Store>(store: &S) {
    let user = fresh("versions");
    let mut seen = Vec::new();
    let mut current = None;
    for mark in 0..20 {
        let Saved(version) = saved(store.save(record(&user, mark), current, vec![]).await) else {
            panic!("save {mark} at the current version was refused")
        };
        assert!(!seen.contains(&version), "version {version:?} was given twice");
        seen.push(version);
        current = Some(version);
    }
    for stale in &seen[..seen.len() - 1] {
        assert_eq!(
            ok(store.save(record(&user, 99), Some(*stale), vec![]).await),
            SaveOutcome::Conflict,
            "an old version {stale:?} was accepted again"
        );
    }
    let loaded = ok(store.load(&user).await).expect("the record loads");
    assert_eq!((Some(loaded.version), loaded.record), (current, record(&user, 19)));
}

/// The events of a save are stored with it, all of them in order, or not at all when the
/// save is a conflict; `append_events` stores events without a record.
pub async fn events_are_stored_with_their_record<S: ReadAudit>(store: &S) {
    let user = fresh("events");
    let events: Vec<AuditEvent> = (0..3).map(|n| event(&user, 1_700_000_000 + n, n as u32)).collect();
    let Saved(v1) = saved(store.save(record(&user, 1), None, events.to_vec()).await) else {
        panic!("create refused")
    };
    assert_eq!(trail(store, &user).await, events, "the events of a save are not all there, or not as given");

    let lost = [event(&user, 1_700_000_010, 10)];
    assert_eq!(ok(store.save(record(&user, 2), None, lost.to_vec()).await), SaveOutcome::Conflict);
    assert_eq!(
        ok(store.save(record(&user, 2), Some(Version(v1.0 ^ 1)), lost.to_vec()).await),
        SaveOutcome::Conflict
    );
    assert_eq!(trail(store, &user).await, events, "a conflicting save stored its events");

    let refused = [event(&user, 1_700_000_020, 20), event(&user, 1_700_000_020, 21)];
    ok(store.append_events(refused.to_vec()).await);
    let all: Vec<AuditEvent> = events.iter().chain(&refused).cloned().collect();
    assert_eq!(trail(store, &user).await, all, "appended events are not all there, or not as given");
    assert_eq!(ok(store.load(&user).await).map(|v| v.version), Some(v1), "appending changed the record");
}

/// [`RACING_WRITERS`] writers save the same record at once, five rounds, first creating
/// it and then updating it from the same version: exactly one wins each race, the others
/// see a conflict (never an error), and the stored record is the winner's.
pub async fn one_winner_among_racing_writers<S, P>(store: Arc<S>, spawner: &P)
where
    S: Store + 'static,
    P: Spawner,
{
    for round in 0..5 {
        let user = fresh("race");
        let create = race(&store, spawner, &user, None).await;
        let v1 = winner(&store, &user, &create, round).await;
        let update = race(&store, spawner, &user, Some(v1)).await;
        let v2 = winner(&store, &user, &update, round).await;
        assert_ne!(v2, v1, "round {round}: the update kept the version");
    }
}

/// The same races, read back from the trail: a save that lost leaves none of its events
/// behind, so the trail holds exactly the winner's event of each race (the record and
/// its events are one atomic step; a trail that kept a loser's events would claim a
/// change that was never made, a code accepted twice).
pub async fn only_the_winners_events_are_kept<S, P>(store: Arc<S>, spawner: &P)
where
    S: ReadAudit + 'static,
    P: Spawner,
{
    for round in 0..3 {
        let user = fresh("race-trail");
        let create = race(&store, spawner, &user, None).await;
        let first = winner(&store, &user, &create, round).await;
        let update = race(&store, spawner, &user, Some(first)).await;
        winner(&store, &user, &update, round).await;
        let winners: Vec<AuditEvent> = [&create, &update]
            .iter()
            .map(|outcomes| {
                let n = outcomes.iter().position(|o| matches!(o, Ok(Saved(_)))).expect("a winner");
                event(&user, 1_700_000_000, 1000 + n as u32)
            })
            .collect();
        let kept = trail(&*store, &user).await;
        assert_eq!(
            kept.len(),
            2,
            "round {round}: the trail kept {} events for two winning saves (a losing save's events stayed)",
            kept.len()
        );
        assert_eq!(kept, winners, "round {round}: the trail does not hold exactly the winners' events");
    }
}

/// A store that fails reports the failure as an error, never as a conflict (which would
/// make the service retry on a broken store) nor as a missing record (which would make
/// it start a user afresh). Pass a store whose database is unreachable or has no tables.
pub async fn errors_are_not_conflicts<S: Store>(failing: &S) {
    let user = fresh("failing");
    assert!(failing.load(&user).await.is_err(), "a failing load must be an error, not an empty record");
    let outcome = failing.save(record(&user, 1), None, vec![event(&user, 1_700_000_000, 1)]).await;
    assert!(outcome.is_err(), "a failing create must be an error, got {outcome:?}");
    let outcome = failing.save(record(&user, 1), Some(Version(1)), vec![]).await;
    assert!(outcome.is_err(), "a failing update must be an error, got {outcome:?}");
    assert!(
        failing.append_events(vec![event(&user, 1_700_000_000, 1)]).await.is_err(),
        "a failing append must be an error"
    );
}

/// Listing by prefix, in user-id order, page by page with the cursor, and the
/// "without MFA" filter.
pub async fn listing_and_paging<S: ListRecords>(store: &S) {
    // The prefix holds LIKE wildcards, which must match only themselves.
    let prefix = fresh("list_%").as_str().to_string();
    // Names chosen so that byte order differs from length order and from case-folding.
    let names = ["B", "a", "a0", "ab", "b", "z", "\u{e9}"];
    for (n, name) in names.iter().enumerate() {
        let user = UserId::new(format!("{prefix}/{name}"));
        let mut r = record(&user, n as u32);
        if n % 2 == 0 {
            r.authenticators = vec![credential()].into();
        }
        let _ = saved(store.save(r.clone(), None, vec![]).await);
    }
    // Neighbours that a careless prefix match would take in.
    for neighbour in [format!("{prefix}x"), format!("{}/a", prefix.replace("_%", "Ab"))] {
        let _ = saved(store.save(record(&UserId::new(neighbour), 0), None, vec![]).await);
    }
    let mut expected: Vec<String> = names.iter().map(|n| format!("{prefix}/{n}")).collect();
    expected.sort();

    let mut listed = Vec::new();
    let mut query = RecordQuery::prefix(format!("{prefix}/"), 3);
    let mut pages = 0;
    loop {
        let page = ok(store.list_records(&query).await);
        pages += 1;
        assert!(page.records.len() <= 3, "a page is longer than asked");
        for versioned in &page.records {
            let loaded = ok(store.load(versioned.record.user()).await).expect("a listed record loads");
            assert_eq!(&loaded, versioned, "a listed record differs from the stored one");
            listed.push(versioned.record.user().as_str().to_string());
        }
        match page.next {
            Some(next) => {
                assert_eq!(
                    Some(&next),
                    page.records.last().map(|v| v.record.user()),
                    "cursor is not the last row"
                );
                query = query.after(Some(next));
            }
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(listed, expected, "listing by prefix, page by page");
    assert_eq!(pages, 3, "7 records in pages of 3");

    let page = ok(store.list_records(&RecordQuery::prefix(format!("{prefix}/"), 100).without_mfa()).await);
    let without: Vec<&str> = page.records.iter().map(|v| v.record.user().as_str()).collect();
    let expected_without: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(n, _)| n % 2 == 1)
        .map(|(_, name)| format!("{prefix}/{name}"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(without, expected_without, "the without-MFA filter");
    assert_eq!(page.next, None, "a short last page has no next cursor");
}

/// The audit trail read per user and per time range, page by page.
pub async fn audit_reading_and_paging<S: ReadAudit>(store: &S) {
    let alice = fresh("audit-a");
    let bob = fresh("audit-b");
    // Out of time order on purpose: reading orders by time.
    let times = [50, 10, 30, 20, 40, 60, 10];
    // A time of this run's own, so everyone's events in one second are only bob's.
    let base = 1_800_000_000 + (fresh_number() % 1_000_000) * 100;
    for (n, t) in times.iter().enumerate() {
        let who = if n % 3 == 2 { &bob } else { &alice };
        ok(store.append_events(vec![event(who, base + t, n as u32)]).await);
    }
    let mut read = Vec::new();
    let mut query = AuditQuery::user(alice.clone(), base + 10, base + 60, 2);
    for _ in 0..10 {
        let page = ok(store.read_audit(&query).await);
        assert!(page.events.len() <= 2);
        read.extend(page.events.iter().map(|e| e.event.clone()));
        match page.next {
            Some(next) => query = query.after(Some(next)),
            None => break,
        }
    }
    let at: Vec<u64> = read.iter().map(|e| e.at - base).collect();
    assert_eq!(at, [10, 10, 20, 40, 50], "alice's events in 10..60, by time, each once");
    assert!(read.iter().all(|e| e.user == alice), "another user's event in alice's trail");
    let failures: Vec<u32> = read.iter().map(mark_of).collect();
    assert_eq!(failures, [1, 6, 3, 4, 0], "events of the same time keep their storing order");

    let page = ok(store.read_audit(&AuditQuery::range(base + 30, base + 31, 100)).await);
    let everyone: Vec<&UserId> = page.events.iter().map(|e| &e.event.user).collect();
    assert_eq!(everyone, [&bob], "everyone's events in one second");
}

/// One organisation's part of [`organisations_are_kept_apart`]: its listing (page by
/// page and without MFA) is `expected`, its trail in `base..base + 100` holds exactly
/// the events marked `marks`, all filed under it.
async fn one_organisation_apart<S: ListRecords + ReadAudit>(
    store: &S,
    org: &OrgId,
    expected: &[String],
    marks: &[u32],
    base: u64,
) {
    let mut listed = Vec::new();
    let mut query = RecordQuery::org(org.clone(), 2);
    for _ in 0..10 {
        let page = ok(store.list_records(&query).await);
        assert!(page.records.len() <= 2, "a page is longer than asked");
        listed.extend(page.records.iter().map(|v| v.record.user().as_str().to_string()));
        assert!(page.records.iter().all(|v| v.record.org() == Some(org)), "another organisation's record");
        match page.next {
            Some(next) => query = query.after(Some(next)),
            None => break,
        }
    }
    assert_eq!(listed, expected, "organisation {org}'s records, page by page");
    let without = ok(store.list_records(&RecordQuery::org(org.clone(), 100).without_mfa()).await);
    let without: Vec<String> = without.records.iter().map(|v| v.record.user().as_str().to_string()).collect();
    let expected_without: Vec<String> = expected
        .iter()
        .filter(|u| u.rsplit('-').next().and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n % 2 == 1))
        .cloned()
        .collect();
    assert_eq!(without, expected_without, "organisation {org}'s users without MFA");

    let mut trail = Vec::new();
    let mut query = AuditQuery::org(org.clone(), base, base + 100, 2);
    for _ in 0..10 {
        let page = ok(store.read_audit(&query).await);
        trail.extend(page.events.iter().map(|e| e.event.clone()));
        match page.next {
            Some(next) => query = query.after(Some(next)),
            None => break,
        }
    }
    assert!(trail.iter().all(|e| e.org() == Some(org)), "another organisation's event in {org}'s trail");
    let read_marks: Vec<u32> = trail.iter().map(mark_of).collect();
    assert_eq!(read_marks, marks, "organisation {org}'s trail, by time");
}

/// Records and events filed under organisations: each organisation's listing (with and
/// without the "without MFA" filter, page by page) and trail hold its own and no other's;
/// a record moved to another organisation is listed there only; the organisation of a
/// record and of an event reads back as written.
pub async fn organisations_are_kept_apart<S: ListRecords + ReadAudit>(store: &S) {
    let tag = fresh("org");
    let (acme, globex) = (OrgId::new(format!("{tag}/acme")), OrgId::new(format!("{tag}/globex")));
    let base = 1_850_000_000 + (fresh_number() % 1_000_000) * 100;
    let mut expected: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for n in 0..7u32 {
        let org = if n % 3 == 0 { &globex } else { &acme };
        let user = UserId::new(format!("{tag}/user-{n}"));
        let mut r = record(&user, n);
        r.set_org(org.clone());
        if n % 2 == 0 {
            r.authenticators = vec![credential()].into();
        }
        let mut e = event(&user, base + u64::from(n), n);
        e.context.org = Some(org.clone());
        let _ = saved(store.save(r, None, vec![e]).await);
        expected[usize::from(org == &globex)].push(user.as_str().to_string());
        let loaded = ok(store.load(&user).await).expect("a saved record loads");
        assert_eq!(loaded.record.org(), Some(org), "a record's organisation reads back as written");
    }
    // One of acme's users moves to globex with a change made there.
    let moved = UserId::new(format!("{tag}/user-1"));
    let current = ok(store.load(&moved).await).expect("saved above");
    let mut r = current.record.clone();
    r.set_org(globex.clone());
    let _ = saved(store.save(r, Some(current.version), vec![]).await);
    expected[0].retain(|u| u != moved.as_str());
    expected[1].push(moved.as_str().to_string());
    // A record and an event of no organisation are in neither.
    let loner = UserId::new(format!("{tag}/user-loner"));
    let _ = saved(store.save(record(&loner, 9), None, vec![event(&loner, base + 3, 9)]).await);

    let [mut in_acme, mut in_globex] = expected;
    in_acme.sort();
    in_globex.sort();
    let (acme_marks, globex_marks): (Vec<u32>, Vec<u32>) = (0..7).partition(|n| n % 3 != 0);
    one_organisation_apart(store, &acme, &in_acme, &acme_marks, base).await;
    one_organisation_apart(store, &globex, &in_globex, &globex_marks, base).await;
    let one = AuditQuery {
        user: Some(UserId::new(format!("{tag}/user-3"))),
        ..AuditQuery::org(globex, base, base + 100, 10)
    };
    let page = ok(store.read_audit(&one).await);
    assert_eq!(
        page.events.iter().map(|e| mark_of(&e.event)).collect::<Vec<_>>(),
        [3],
        "one user's events in one organisation"
    );
    let one = AuditQuery {
        user: Some(UserId::new(format!("{tag}/user-3"))),
        ..AuditQuery::org(acme, base, base + 100, 10)
    };
    assert!(
        ok(store.read_audit(&one).await).events.is_empty(),
        "a user's events filed under another organisation"
    );
}

/// Pruning deletes the oldest events of one organisation (or of none) before a time,
/// at most the number asked per call, and nothing else.
pub async fn old_events_are_pruned_by_organisation<S: PruneAudit + ReadAudit>(store: &S) {
    let tag = fresh("prune");
    let (acme, globex) = (OrgId::new(format!("{tag}/acme")), OrgId::new(format!("{tag}/globex")));
    let user = UserId::new(format!("{tag}/user"));
    let base = 1_860_000_000 + (fresh_number() % 1_000_000) * 100;
    for n in 0..6u32 {
        for org in [Some(&acme), Some(&globex)] {
            let mut e = event(&user, base + u64::from(n), n);
            e.context.org = org.cloned();
            ok(store.append_events(vec![e]).await);
        }
    }
    let marks = |org: &OrgId| {
        let query = AuditQuery::org(org.clone(), base, base + 100, 100);
        async move {
            ok(store.read_audit(&query).await).events.iter().map(|e| mark_of(&e.event)).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ok(store.delete_audit_before(Some(&acme), base + 4, 3).await),
        3,
        "a batch is as long as asked"
    );
    assert_eq!(marks(&acme).await, [3, 4, 5], "the oldest go first");
    assert_eq!(
        ok(store.delete_audit_before(Some(&acme), base + 4, 3).await),
        1,
        "then what is left before the time"
    );
    assert_eq!(ok(store.delete_audit_before(Some(&acme), base + 4, 3).await), 0);
    assert_eq!(marks(&acme).await, [4, 5], "events from the time on are kept");
    assert_eq!(marks(&globex).await, [0, 1, 2, 3, 4, 5], "another organisation's events are untouched");
    let mine = ok(store.read_audit(&AuditQuery::user(user.clone(), base, base + 100, 100)).await);
    assert_eq!(mine.events.len(), 8, "and pruning one organisation touches no event of another");
}

/// Spawns a task to run beside the caller and gives a future of its output.
///
/// [`ThreadSpawner`] runs tasks on OS threads; a tokio host implements it over
/// `tokio::spawn` (the sqlx stores need their runtime).
pub trait Spawner: Send + Sync {
    /// Starts `task` and returns a future of its output. A task that panics makes the
    /// returned future panic.
    fn spawn<F>(&self, task: F) -> impl Future<Output = F::Output> + Send
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

/// Runs each task on its own OS thread, driven by `pollster`: for stores that need no
/// async runtime, such as [`super::MemoryStore`].
#[derive(Clone, Copy, Debug, Default)]
#[allow(clippy::exhaustive_structs, reason = "a marker or a one-field newtype: there is nothing to add")]
pub struct ThreadSpawner;

impl Spawner for ThreadSpawner {
    fn spawn<F>(&self, task: F) -> impl Future<Output = F::Output> + Send
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let slot = Arc::new(Mutex::new(Slot { output: None, finished: false, waker: None }));
        let filler = Filler(slot.clone());
        std::thread::spawn(move || {
            let output = pollster::block_on(task);
            filler.0.lock().unwrap_or_else(|p| p.into_inner()).output = Some(output);
            drop(filler);
        });
        Joined(slot)
    }
}

struct Slot<T> {
    output: Option<T>,
    finished: bool,
    waker: Option<Waker>,
}

/// Marks the slot finished when the thread ends, normally or by a panic.
struct Filler<T>(Arc<Mutex<Slot<T>>>);

impl<T> Drop for Filler<T> {
    fn drop(&mut self) {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        slot.finished = true;
        if let Some(waker) = slot.waker.take() {
            waker.wake();
        }
    }
}

struct Joined<T>(Arc<Mutex<Slot<T>>>);

impl<T> Future for Joined<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !slot.finished {
            slot.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        match slot.output.take() {
            Some(output) => Poll::Ready(output),
            None => panic!("a spawned task panicked"),
        }
    }
}

/// Yields once to the executor.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Every writer saves its own record (marked with its index) at `expected`, released
/// together once all have started; returns each writer's outcome, as text for errors.
async fn race<S: Store + 'static, P: Spawner>(
    store: &Arc<S>,
    spawner: &P,
    user: &UserId,
    expected: Option<Version>,
) -> Vec<Result<SaveOutcome, String>> {
    let ready = Arc::new(AtomicUsize::new(0));
    let mut joins = Vec::new();
    for writer in 0..RACING_WRITERS {
        let (store, ready, user) = (store.clone(), ready.clone(), user.clone());
        joins.push(spawner.spawn(async move {
            ready.fetch_add(1, Ordering::SeqCst);
            while ready.load(Ordering::SeqCst) < RACING_WRITERS {
                YieldNow(false).await;
            }
            let mine = record(&user, 1000 + writer as u32);
            let events = [event(&user, 1_700_000_000, 1000 + writer as u32)];
            store.save(mine.clone(), expected, events.to_vec()).await.map_err(|e| e.to_string())
        }));
    }
    let mut outcomes = Vec::new();
    for join in joins {
        outcomes.push(join.await);
    }
    outcomes
}

/// Checks one race had exactly one winner whose record is stored; returns its version.
async fn winner<S: Store>(
    store: &S,
    user: &UserId,
    outcomes: &[Result<SaveOutcome, String>],
    round: usize,
) -> Version {
    if let Some(error) = outcomes.iter().find_map(|o| o.as_ref().err()) {
        panic!("round {round}: a racing writer got an error instead of a conflict: {error}");
    }
    let winners: Vec<(usize, Version)> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(n, o)| match o {
            Ok(SaveOutcome::Saved(v)) => Some((n, *v)),
            _ => None,
        })
        .collect();
    assert_eq!(winners.len(), 1, "round {round}: {} of {RACING_WRITERS} racing writers won", winners.len());
    let (n, version) = winners[0];
    let loaded = ok(store.load(user).await).expect("the raced record loads");
    assert_eq!(
        (loaded.version, loaded.record),
        (version, record(user, 1000 + n as u32)),
        "round {round}: the stored record is not the winner's"
    );
    version
}

use SaveOutcome::Saved;

pub(crate) fn ok<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("the store failed: {e}"))
}

fn saved<E: std::fmt::Display>(result: Result<SaveOutcome, E>) -> SaveOutcome {
    let outcome = ok(result);
    assert!(matches!(outcome, Saved(_)), "a save that should succeed was a conflict");
    outcome
}

async fn trail<S: ReadAudit>(store: &S, user: &UserId) -> Vec<AuditEvent> {
    let page = ok(store.read_audit(&AuditQuery::user(user.clone(), 0, u64::MAX >> 1, 1000)).await);
    page.events.into_iter().map(|e| e.event).collect()
}

/// A unique user id, so checks never meet another run's rows.
pub(crate) fn fresh(label: &str) -> UserId {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    UserId::new(format!("conformance-{}-{}-{n}/{label}", std::process::id(), fresh_number()))
}

/// Nanoseconds since the epoch: differs between runs.
pub(crate) fn fresh_number() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// A record told apart from others of the same user by its failure count.
fn record(user: &UserId, mark: u32) -> UserRecord {
    let mut record = UserRecord::new(user.clone());
    record.failures.consecutive = mark;
    record
}

fn credential() -> TotpCredential {
    let secret = crate::seal::SealedSecret::new("conformance", vec![1, 2, 3]);
    let (id, name) = ("00000000000000c1".to_string(), "Conformance phone".into());
    TotpCredential::new(id, name, secret, crate::otp::TotpParams::DEFAULT, 1_700_000_000)
}

/// An event with every field set, told apart by `mark`.
fn event(user: &UserId, at: u64, mark: u32) -> AuditEvent {
    let context = RequestContext::from_address(std::net::IpAddr::from([203, 0, 113, 7]))
        .with_device("Firefox on Windows \u{2014} \u{e9}t\u{e9}");
    AuditEvent {
        user: user.clone(),
        actor: user.clone(),
        at,
        outcome: AuditOutcome::Failure,
        kind: EventKind::CodeRejected {
            method: Method::Totp,
            reason: RejectionReason::Wrong,
            consecutive_failures: mark,
        },
        context,
    }
}

/// Settings told apart by `mark`, with every kind of field set to something other than
/// its default, so a store that loses or rewrites a field is caught.
fn settings(mark: u32) -> OrgSettings {
    let mut settings = OrgSettings::default()
        .with_level("practitioner", Level::Mandatory)
        .with_level("client \u{e9}t\u{e9} \"quoted\"", Level::Suggested);
    settings.enforce_for_all = mark % 2 == 1;
    settings.grace_until = Some(1_700_000_000 + u64::from(mark));
    settings.allowed_networks =
        vec!["203.0.113.0/24".parse().expect("a network"), "2001:db8::/32".parse().expect("a network")];
    settings.max_totp_period = Some(60);
    settings.enrollment_lifetime = 600 + u64::from(mark);
    settings
}

async fn stored_settings<S: OrgSettingsStore>(store: &S, org: &str) -> Option<(Version, OrgSettings)> {
    ok(store.load_org_settings(org).await).map(|VersionedSettings { version, settings }| (version, settings))
}

/// The event of `admin` changing `org`'s settings from `settings(from)` to `settings(to)`.
fn settings_event(admin: &UserId, org: &str, from: u32, to: u32) -> AuditEvent {
    let kind = EventKind::OrgSettingsChanged {
        org: org.to_string(),
        old: Box::new(settings(from)),
        new: Box::new(settings(to)),
    };
    AuditEvent::new(admin, admin, 1_700_000_000, &RequestContext::default(), kind)
}

fn mark_of(event: &AuditEvent) -> u32 {
    match event.kind {
        EventKind::CodeRejected { consecutive_failures, .. } => consecutive_failures,
        _ => u32::MAX,
    }
}
