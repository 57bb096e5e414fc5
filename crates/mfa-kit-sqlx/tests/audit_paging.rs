//! The audit trail's promises (`mfa_kit::store::listing`: `ReadAudit`,
//! `AuditQuery`, `AuditCursor`, `AuditPage`, `PruneAudit`), checked on `MemoryStore`,
//! `PostgresStore` and `SqliteStore` with the same data.
#![cfg(all(feature = "postgres", feature = "sqlite"))]

mod common;

use std::fmt::Debug;

use common::*;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::store::{AuditCursor, AuditQuery, MAX_PAGE, MemoryStore, PruneAudit, ReadAudit, Store};
use mfa_kit::{OrgId, RequestContext, UserId};

trait All: Store + ReadAudit + PruneAudit {}
impl<T: Store + ReadAudit + PruneAudit> All for T {}

/// An event of `user` at `at`, filed under `org`, told apart by `mark`.
fn ev(user: &str, at: u64, org: Option<&str>, mark: u32) -> AuditEvent {
    let mut context = RequestContext::default().with_device(format!("device {mark}"));
    if let Some(org) = org {
        context = context.in_org(org);
    }
    let user = UserId::new(user);
    AuditEvent::new(&user, &user, at, &context, EventKind::RecoveryCodesLow { remaining: mark as usize })
}

fn mark(e: &AuditEvent) -> u32 {
    match e.kind {
        EventKind::RecoveryCodesLow { remaining } => u32::try_from(remaining).unwrap_or(u32::MAX),
        _ => u32::MAX,
    }
}

/// Every page of `query`, followed with the cursor: per page, the (mark, at, id) read.
async fn pages<S: ReadAudit>(s: &S, query: AuditQuery) -> Vec<Vec<(u32, u64, i64)>>
where
    S::Error: Debug,
{
    let mut q = query;
    let mut out = Vec::new();
    for _ in 0..500 {
        let p = s.read_audit(&q).await.unwrap();
        let last = p.events.last().map(mfa_kit::store::StoredEvent::cursor);
        assert!(p.next.is_none() || p.next == last, "the next cursor is not the page's last event");
        out.push(p.events.iter().map(|e| (mark(&e.event), e.event.at, e.id)).collect());
        match p.next {
            Some(c) => q = q.after(Some(c)),
            None => return out,
        }
    }
    panic!("paging does not end")
}

/// Runs `$scenario(store, name)` on the three stores, each on tables of its own.
macro_rules! on_all {
    ($scenario:ident) => {
        block_on(async {
            $scenario(&MemoryStore::new(), "memory").await;
            let pg = fresh_postgres_store().await;
            $scenario(&*pg, "postgres").await;
            drop_postgres_store(pg).await;
            let lite = fresh_sqlite_store().await;
            $scenario(&*lite, "sqlite").await;
            drop_sqlite_store(lite).await;
        })
    };
}

// ---- A cursor past every storable time ----

// `AuditQuery::after` (src/store/listing.rs): "Start after this event"; `AuditCursor`:
// "the time and id of the last event already read"; `ReadAudit`: events "in order of
// `(at, id)`". A cursor at a time past the largest a column holds (i64::MAX) is after
// every stored event (`stores_agree.rs` reads one as "start after everything"): the
// databases must not clamp it to i64::MAX and hand back the events stored there.
async fn cursor_past_the_largest_time<S: All>(s: &S, name: &str) -> Vec<String>
where
    S::Error: Debug,
{
    let last = i64::MAX as u64;
    s.append_events(vec![ev("u", last - 1, None, 1), ev("u", last, None, 2)]).await.unwrap();
    let mut wrong = Vec::new();
    for cursor_at in [last + 1, u64::MAX] {
        let q = AuditQuery::range(0, u64::MAX, 10).after(Some(AuditCursor { at: cursor_at, id: 0 }));
        let read: Vec<(u32, u64)> =
            s.read_audit(&q).await.unwrap().events.iter().map(|e| (mark(&e.event), e.event.at)).collect();
        if !read.is_empty() {
            wrong.push(format!("{name}: after (at {cursor_at}, id 0) read (mark, at) {read:?}"));
        }
    }
    wrong
}

#[test]
fn a_cursor_past_the_largest_stored_time_reads_no_event_before_it() {
    let wrong = block_on(async {
        let mut wrong = cursor_past_the_largest_time(&MemoryStore::new(), "memory").await;
        let pg = fresh_postgres_store().await;
        wrong.extend(cursor_past_the_largest_time(&*pg, "postgres").await);
        drop_postgres_store(pg).await;
        let lite = fresh_sqlite_store().await;
        wrong.extend(cursor_past_the_largest_time(&*lite, "sqlite").await);
        drop_sqlite_store(lite).await;
        wrong
    });
    assert!(wrong.is_empty(), "pages after a cursor hold events that come before it: {wrong:#?}");
}

// ---- Paging and pruning ----

// Many events in the same second, of several users and two organisations
// interleaved, paged with every page length: each event once, in `(at, id)` order, the
// organisation's only; on the databases in the order of storing.
async fn same_second_interleaved<S: All>(s: &S, name: &str)
where
    S::Error: Debug,
{
    let mut n = 0;
    let mut stored = Vec::new();
    for round in 0..12u64 {
        for u in ["a", "b", "c", "d", "e"] {
            n += 1;
            let org = if n % 2 == 0 { "o" } else { "p" };
            s.append_events(vec![ev(u, 100 + round / 4, Some(org), n)]).await.unwrap();
            stored.push((n, org, u));
        }
    }
    for limit in [0, 1, 2, 3, 7, 59, 60, 61, 5000] {
        for (label, query, want) in [
            ("everyone", AuditQuery::range(100, 103, limit), stored.iter().map(|x| x.0).collect::<Vec<_>>()),
            (
                "org o",
                AuditQuery::org("o", 100, 103, limit),
                stored.iter().filter(|x| x.1 == "o").map(|x| x.0).collect(),
            ),
            (
                "user c",
                AuditQuery::user(UserId::new("c"), 100, 103, limit),
                stored.iter().filter(|x| x.2 == "c").map(|x| x.0).collect(),
            ),
        ] {
            let read = pages(s, query.clone()).await;
            let page_len = query.page_len();
            assert!(read.iter().all(|p| p.len() <= page_len), "{name} {label} L{limit}: a page too long");
            let flat: Vec<(u32, u64, i64)> = read.concat();
            let order: Vec<(u64, i64)> = flat.iter().map(|x| (x.1, x.2)).collect();
            assert!(order.windows(2).all(|w| w[0] < w[1]), "{name} {label} L{limit}: not in (at, id) order");
            let mut marks: Vec<u32> = flat.iter().map(|x| x.0).collect();
            if name != "memory" {
                assert_eq!(marks, want, "{name} {label} L{limit}: not in the order of storing");
            }
            marks.sort_unstable();
            let mut want = want;
            want.sort_unstable();
            assert_eq!(marks, want, "{name} {label} L{limit}: each event once");
        }
    }
}

#[test]
fn same_second_events_of_interleaved_users_and_orgs_page_each_once() {
    on_all!(same_second_interleaved);
}

// A page never holds more than MAX_PAGE events, whatever the limit asked, and the
// cursor reads the rest once.
async fn over_max_page<S: All>(s: &S, name: &str)
where
    S::Error: Debug,
{
    let events: Vec<AuditEvent> = (0..1005).map(|n| ev("u", 10 + u64::from(n) / 7, None, n)).collect();
    s.append_events(events).await.unwrap();
    for limit in [MAX_PAGE, MAX_PAGE + 1, u32::MAX] {
        let read = pages(s, AuditQuery::range(0, u64::MAX, limit)).await;
        let lens: Vec<usize> = read.iter().map(Vec::len).collect();
        assert_eq!(lens, [1000, 5], "{name} L{limit}: page lengths");
        let marks: Vec<u32> = read.concat().iter().map(|x| x.0).collect();
        assert_eq!(marks, (0..1005).collect::<Vec<_>>(), "{name} L{limit}: each event once, in order");
    }
}

#[test]
fn pages_hold_at_most_max_page_events() {
    on_all!(over_max_page);
}

// Events appended between two page reads: later ones (a later second, or the same
// second of the same user) are read on the next pages, none twice.
async fn appended_between_pages<S: All>(s: &S, name: &str)
where
    S::Error: Debug,
{
    for n in 0..4 {
        s.append_events(vec![ev("u", 100, Some("o"), n)]).await.unwrap();
    }
    let q = AuditQuery::org("o", 0, 1000, 2);
    let first = s.read_audit(&q).await.unwrap();
    s.append_events(vec![
        ev("u", 100, Some("o"), 10),
        ev("u", 99, Some("o"), 11),
        ev("u", 101, Some("o"), 12),
    ])
    .await
    .unwrap();
    let rest: Vec<u32> = pages(s, q.after(first.next)).await.concat().iter().map(|x| x.0).collect();
    let first: Vec<u32> = first.events.iter().map(|e| mark(&e.event)).collect();
    assert_eq!((first, rest), (vec![0, 1], vec![2, 3, 10, 12]), "{name}");
}

#[test]
fn events_appended_between_page_reads_are_read_once() {
    on_all!(appended_between_pages);
}

// Pruning the oldest events of one second deletes them in storing order, reports
// how many, keeps the cut-off's second and other organisations.
async fn prune_same_second<S: All>(s: &S, name: &str)
where
    S::Error: Debug,
{
    for n in 0..5 {
        s.append_events(vec![ev("u", 50, Some("o"), n)]).await.unwrap();
    }
    s.append_events(vec![ev("u", 49, Some("o"), 9), ev("u", 51, Some("o"), 7), ev("u", 10, Some("q"), 8)])
        .await
        .unwrap();
    let o = OrgId::new("o");
    let deleted = s.delete_audit_before(Some(&o), 51, 3).await.unwrap();
    let left: Vec<u32> =
        pages(s, AuditQuery::range(0, 1000, 100)).await.concat().iter().map(|x| x.0).collect();
    assert_eq!((deleted, left), (3, vec![8, 2, 3, 4, 7]), "{name}: the oldest three of o");
    let deleted = s.delete_audit_before(Some(&o), 51, 3).await.unwrap();
    let left: Vec<u32> =
        pages(s, AuditQuery::range(0, 1000, 100)).await.concat().iter().map(|x| x.0).collect();
    assert_eq!((deleted, left), (3, vec![8, 7]), "{name}: then the rest before 51");
}

#[test]
fn pruning_within_one_second_goes_in_storing_order() {
    on_all!(prune_same_second);
}
