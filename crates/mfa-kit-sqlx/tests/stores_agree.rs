//! The same calls against `MemoryStore`, `PostgresStore` and `SqliteStore`, whose
//! results the store traits' docs say must be the same: listing, reading, pruning and
//! settings agree, and times or versions past what a database column holds are not
//! store failures.
#![cfg(all(feature = "postgres", feature = "sqlite"))]

mod common;

use std::fmt::Debug;

use common::*;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::policy::{Level, OrgSettings};
use mfa_kit::record::UserRecord;
use mfa_kit::store::{
    AuditQuery, ListRecords, MemoryStore, OrgSettingsStore, PruneAudit, ReadAudit, RecordQuery, Store,
    Version,
};
use mfa_kit::{OrgId, RequestContext, UserId};

trait All: Store + ListRecords + ReadAudit + PruneAudit + OrgSettingsStore {}
impl<T: Store + ListRecords + ReadAudit + PruneAudit + OrgSettingsStore> All for T {}

fn show<T: Debug, E: Debug>(r: Result<T, E>) -> String {
    match r {
        Ok(v) => format!("Ok({v:?})"),
        Err(e) => format!("Err({e:?})"),
    }
}

fn ev(user: &str, at: u64, org: Option<&str>) -> AuditEvent {
    let mut context = RequestContext::from_address("2001:db8::7".parse().unwrap()).with_device("dev\u{e9}");
    if let Some(org) = org {
        context = context.in_org(org);
    }
    let user = UserId::new(user);
    AuditEvent::new(&user, &user, at, &context, EventKind::LockoutEnded)
}

/// Runs `$scenario` on the three stores and asserts the three results are equal.
macro_rules! same_on_all {
    ($scenario:ident) => {
        block_on(async {
            let memory = $scenario(&MemoryStore::new()).await;
            let pg = fresh_postgres_store().await;
            let postgres = $scenario(&*pg).await;
            drop_postgres_store(pg).await;
            let lite = fresh_sqlite_store().await;
            let sqlite = $scenario(&*lite).await;
            drop_sqlite_store(lite).await;
            assert_eq!(
                (&postgres, &sqlite),
                (&memory, &memory),
                "(postgres, sqlite) differ from memory, left; memory's, right"
            );
        })
    };
}

// `PruneAudit`: "Deletes up to `limit` events filed under `org` ... with `at < before`".
// Any `before` is valid; u64::MAX means "everything".
async fn prune_before_u64_max<S: All>(s: &S) -> String
where
    S::Error: Debug,
{
    let _ = s.append_events(vec![ev("u", 1, None), ev("u", 2, None), ev("u", 3, Some("o"))]).await;
    let deleted = show(s.delete_audit_before(None, u64::MAX, 10).await);
    let left = s
        .read_audit(&AuditQuery::range(0, i64::MAX as u64, 10))
        .await
        .map(|p| p.events.iter().map(|e| e.event.at).collect::<Vec<_>>());
    format!("deleted {deleted}; left {}", show(left))
}

#[test]
fn pruning_before_u64_max_deletes_every_older_event() {
    same_on_all!(prune_before_u64_max);
}

// `AuditQuery`: events with `from <= at < until`; `PruneAudit`: `at < before`. The
// largest time a column holds (i64::MAX) is below u64::MAX, so a range or a prune up
// to u64::MAX takes in an event stored at i64::MAX; one up to i64::MAX does not; an end
// of 0 takes in nothing.
async fn ends_at_the_largest_times<S: All>(s: &S) -> String
where
    S::Error: Debug,
{
    let last = i64::MAX as u64;
    let _ = s.append_events(vec![ev("u", 0, None), ev("u", last - 1, None), ev("u", last, None)]).await;
    let times = |end: u64| async move {
        show(
            s.read_audit(&AuditQuery::range(0, end, 10))
                .await
                .map(|p| p.events.iter().map(|e| e.event.at).collect::<Vec<_>>()),
        )
    };
    let read = [times(0).await, times(last).await, times(u64::MAX).await];
    let pruned = [
        show(s.delete_audit_before(None, 0, 10).await),
        show(s.delete_audit_before(None, last, 10).await),
        show(s.delete_audit_before(None, u64::MAX, 10).await),
    ];
    format!("read up to 0, i64::MAX, u64::MAX: {read:?}; pruned before the same: {pruned:?}")
}

#[test]
fn ranges_and_prunes_up_to_u64_max_take_in_the_largest_stored_time() {
    same_on_all!(ends_at_the_largest_times);
}

// `Store::save`: "`save(record, Some(v), events)` writes only if the stored version is
// still `v` ... Otherwise it returns `SaveOutcome::Conflict`"; "An `Err` ... must not
// mean 'conflict'". Same for `OrgSettingsStore::save_org_settings`.
async fn version_past_i64_max<S: All>(s: &S) -> String
where
    S::Error: Debug,
{
    let user = UserId::new("v");
    let big = Some(Version(i64::MAX as u64 + 1));
    let absent = show(s.save(UserRecord::new(user.clone()), big, vec![]).await);
    let _ = s.save(UserRecord::new(user.clone()), None, vec![]).await;
    let present = show(s.save(UserRecord::new(user.clone()), big, vec![]).await);
    let settings = show(s.save_org_settings("o", OrgSettings::default(), big, vec![]).await);
    format!("absent {absent}; present {present}; settings {settings}")
}

#[test]
fn a_version_no_record_has_is_a_conflict() {
    same_on_all!(version_past_i64_max);
}

// Listing, paging, audit reading, pruning, settings versions
// and the events' round trip, compared across the three stores.
async fn equal_scenario<S: All>(s: &S) -> Vec<String>
where
    S::Error: Debug,
{
    let mut out = Vec::new();
    let ids = [
        "",
        "%",
        "_",
        "a",
        "A",
        "a%b",
        "a_b",
        "aXb",
        "a\\b",
        "ab",
        "a b",
        "é",
        "e\u{301}",
        "日本",
        "日本語",
        "\u{10ffff}",
        "zz",
        "z'z",
        "z\"z",
    ];
    for id in ids {
        out.push(show(s.save(UserRecord::new(UserId::new(id)), None, vec![]).await));
    }
    let long = "L".repeat(2000);
    out.push(show(s.save(UserRecord::new(UserId::new(&long)), None, vec![]).await));
    let names = |p: &mfa_kit::store::RecordPage| {
        p.records
            .iter()
            .map(|v| v.record.user().as_str().chars().take(12).collect::<String>())
            .collect::<Vec<_>>()
    };
    for prefix in ["", "a", "a%", "a_", "%", "_", "é", "e", "日", "\u{10ffff}", "z'", "nope", "a\\"] {
        for limit in [0, 1, 3, 5000] {
            let mut q = RecordQuery::prefix(prefix, limit);
            let mut pages = Vec::new();
            for _ in 0..40 {
                let p = s.list_records(&q).await.unwrap();
                pages.push((
                    names(&p),
                    p.next.as_ref().map(|n| n.as_str().chars().take(12).collect::<String>()),
                ));
                match p.next {
                    Some(n) => q = q.after(Some(n)),
                    None => break,
                }
            }
            out.push(format!("prefix {prefix:?} limit {limit}: {pages:?}"));
        }
        for after in ["", "a", "a0", "zz", "\u{10ffff}", "\u{10ffff}\u{10ffff}"] {
            let q = RecordQuery::prefix(prefix, 100).after(Some(UserId::new(after)));
            out.push(format!(
                "prefix {prefix:?} after {after:?}: {:?}",
                names(&s.list_records(&q).await.unwrap())
            ));
        }
    }
    // Audit.
    let times = [0, 5, 6, 7, 10, 11, i64::MAX as u64 - 1];
    for (n, t) in times.iter().enumerate() {
        let org = match n % 3 {
            0 => None,
            1 => Some("o1"),
            _ => Some("O1"),
        };
        let user = ["a", "b", "%"][n % 3];
        s.append_events(vec![ev(user, *t, org)]).await.unwrap();
    }
    let many: Vec<AuditEvent> =
        (0..5).map(|n| ev("multi", 8, if n % 2 == 0 { Some("o1") } else { None })).collect();
    let _ = s.save(UserRecord::new(UserId::new("multi")), None, many).await.unwrap();
    let read_all = |q: AuditQuery| {
        let s = &s;
        async move {
            let mut q = q;
            let mut pages = Vec::new();
            for _ in 0..40 {
                let p = s.read_audit(&q).await.unwrap();
                pages.push((
                    p.events
                        .iter()
                        .map(|e| {
                            (
                                e.event.user.as_str().to_string(),
                                e.event.at,
                                e.event.org().map(|o| o.as_str().to_string()),
                            )
                        })
                        .collect::<Vec<_>>(),
                    p.next.map(|c| c.at),
                ));
                match p.next {
                    Some(c) => q = q.after(Some(c)),
                    None => break,
                }
            }
            format!("{pages:?}")
        }
    };
    for (from, until) in [
        (0, 5),
        (5, 5),
        (5, 6),
        (8, 9),
        (0, 11),
        (0, i64::MAX as u64),
        (6, 5),
        (i64::MAX as u64 - 1, i64::MAX as u64),
    ] {
        for limit in [0, 2, 5000] {
            out.push(format!(
                "range {from}..{until} limit {limit}: {}",
                read_all(AuditQuery::range(from, until, limit)).await
            ));
            out.push(format!(
                "user a {from}..{until}: {}",
                read_all(AuditQuery::user(UserId::new("a"), from, until, limit)).await
            ));
            out.push(format!(
                "org o1 {from}..{until}: {}",
                read_all(AuditQuery::org("o1", from, until, limit)).await
            ));
            let both =
                AuditQuery { user: Some(UserId::new("multi")), ..AuditQuery::org("o1", from, until, limit) };
            out.push(format!("multi in o1 {from}..{until}: {}", read_all(both).await));
        }
    }
    // Round trip of every field.
    let full = {
        let mut e = ev("round\u{1f600}", 42, Some("Org \u{e9} \"q\""));
        e.context.device = Some("dev\0with nul and \u{2014}".into());
        e.actor = UserId::new("admin");
        e
    };
    let settings_kind = EventKind::OrgSettingsChanged {
        org: "Org".into(),
        old: Box::new(OrgSettings::default()),
        new: Box::new(OrgSettings::default().with_level("x \u{e9}", Level::Mandatory)),
    };
    let other = AuditEvent::new(
        &UserId::new("round\u{1f600}"),
        &UserId::new("admin"),
        42,
        &RequestContext::default(),
        settings_kind,
    );
    s.append_events(vec![full.clone(), other.clone()]).await.unwrap();
    let back: Vec<AuditEvent> = s
        .read_audit(&AuditQuery::user(UserId::new("round\u{1f600}"), 42, 43, 10))
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.event)
        .collect();
    out.push(format!("round trip exact: {}", back == vec![full, other]));
    // Pruning.
    for (org, before, limit) in [
        (Some("o1"), 5, 1),
        (Some("o1"), 6, 0),
        (Some("o1"), 6, 100),
        (None, 5, 1),
        (None, 11, 2),
        (Some("O1"), 100, 100),
        (Some("nope"), 100, 100),
    ] {
        let org = org.map(OrgId::new);
        let n = s.delete_audit_before(org.as_ref(), before, limit).await.unwrap();
        out.push(format!(
            "prune {org:?} <{before} x{limit}: {n}; left {}",
            read_all(AuditQuery::range(0, i64::MAX as u64, 5000)).await
        ));
    }
    // Settings versions.
    for org in ["Acme", "acme", "", "é", "%"] {
        out.push(format!("load {org:?}: {:?}", s.load_org_settings(org).await.unwrap()));
        let st = OrgSettings::default().with_level("t", Level::Suggested);
        out.push(show(s.save_org_settings(org, st.clone(), Some(Version(1)), vec![]).await));
        out.push(show(s.save_org_settings(org, st.clone(), None, vec![]).await));
        out.push(show(s.save_org_settings(org, st.clone(), None, vec![]).await));
        out.push(show(
            s.save_org_settings(org, OrgSettings::default(), Some(Version(1)), vec![ev("adm", 3, Some(org))])
                .await,
        ));
        out.push(show(s.save_org_settings(org, st.clone(), Some(Version(1)), vec![]).await));
        out.push(show(s.save_org_settings(org, st.clone(), Some(Version(3)), vec![]).await));
        out.push(format!("load {org:?}: {:?}", s.load_org_settings(org).await.unwrap()));
    }
    out
}

#[test]
fn listing_reading_pruning_and_settings_agree() {
    block_on(async {
        let memory = equal_scenario(&MemoryStore::new()).await;
        let pg = fresh_postgres_store().await;
        let postgres = equal_scenario(&*pg).await;
        drop_postgres_store(pg).await;
        let lite = fresh_sqlite_store().await;
        let sqlite = equal_scenario(&*lite).await;
        drop_sqlite_store(lite).await;
        for (name, other) in [("postgres", &postgres), ("sqlite", &sqlite)] {
            for (n, (m, o)) in memory.iter().zip(other.iter()).enumerate() {
                assert_eq!(o, m, "{name} (left) differs from memory (right) at step {n}");
            }
            assert_eq!(other.len(), memory.len(), "{name}");
        }
    });
}

// `NoticeOutbox::retry_notice`: "`error` is kept as its last error (cut to
// `MAX_ERROR_LEN` bytes)"; `MAX_ERROR_LEN`: "The longest error text kept with a notice,
// in bytes". PostgreSQL cuts first, then replaces each NUL (1 byte) by U+FFFD (3 bytes).
async fn nul_error_len<S: mfa_kit::store::NoticeOutbox>(s: &S) -> String
where
    S::Error: Debug,
{
    use mfa_kit::store::NoticeClaim;
    let u = UserId::new("notice-user");
    let kind = EventKind::RecoveryCodesGenerated { count: 1 };
    s.append_events(vec![AuditEvent::new(&u, &u, 1_700_000_000, &RequestContext::default(), kind)])
        .await
        .unwrap();
    let claim = NoticeClaim { now: 1000, lease_until: 1060, limit: 10, token: 41 };
    let mut notices = Vec::new();
    for _ in 0..200 {
        notices.extend(s.claim_notices("email", &claim).await.unwrap().notices);
        if !notices.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let id = notices.first().expect("the notice is claimed").event.id;
    let error = format!("{}\0\0\0", "x".repeat(498));
    assert!(s.retry_notice("email", id, 41, 1030, &error).await.unwrap());
    let failing = s.failing_notices("email", 10).await.unwrap();
    let kept = &failing[0].last_error;
    // Each store keeps the text its column can hold (PostgreSQL replaces NUL, three
    // bytes a character), and every one within the limit.
    let within = kept.len() <= mfa_kit::store::MAX_ERROR_LEN && kept.starts_with(&"x".repeat(498));
    format!("kept within {} bytes: {within}", mfa_kit::store::MAX_ERROR_LEN)
}

#[test]
fn a_notice_error_with_nul_is_kept_within_max_error_len() {
    same_on_all!(nul_error_len);
}

// Times past what the columns hold elsewhere: a cursor past i64::MAX ("start after
// everything") and a retry time of u64::MAX ("not before the end of time") are valid
// inputs the docs describe no error for.
async fn times_past_i64_max<S: All + mfa_kit::store::NoticeOutbox>(s: &S) -> String
where
    S::Error: Debug,
{
    use mfa_kit::store::{AuditCursor, NoticeClaim};
    let u = UserId::new("late-user");
    let kind = EventKind::RecoveryCodesGenerated { count: 1 };
    s.append_events(vec![AuditEvent::new(&u, &u, 1_700_000_000, &RequestContext::default(), kind)])
        .await
        .unwrap();
    let after_all = AuditQuery::range(0, u64::MAX, 10).after(Some(AuditCursor { at: u64::MAX, id: 0 }));
    let read = s.read_audit(&after_all).await.map(|p| p.events.len());
    let claim = NoticeClaim { now: 1000, lease_until: 1060, limit: 10, token: 7 };
    let mut notices = Vec::new();
    for _ in 0..200 {
        notices.extend(s.claim_notices("late", &claim).await.unwrap().notices);
        if !notices.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let id = notices.first().expect("the notice is claimed").event.id;
    let retried = s.retry_notice("late", id, 7, u64::MAX, "mailbox gone").await;
    format!("read after u64::MAX {}; retry at u64::MAX {}", show(read), show(retried))
}

#[test]
fn times_past_i64_max_are_not_store_failures() {
    same_on_all!(times_past_i64_max);
}
