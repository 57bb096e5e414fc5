//! The audit trail's promises on `MemoryStore` (`src/store/memory.rs`,
//! `src/store/listing.rs`): each user's events in the order they were stored, the
//! events of one save in their order, and `events_for` holding every event about a user.

use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::policy::OrgSettings;
use mfa_kit::record::UserRecord;
use mfa_kit::store::{AuditQuery, MemoryStore, OrgSettingsStore, ReadAudit, Store};
use mfa_kit::{RequestContext, UserId};

/// The shard `MemoryStore` files a user's events in: FNV-1a of the id's bytes, modulo
/// its 16 shards ("the same in every process", `UserId`'s docs).
fn shard(id: &str) -> u64 {
    let hash = id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    hash % 16
}

/// Two user ids whose events a `MemoryStore` keeps in different shards, the first in
/// the higher one.
fn two_users_in_shards_high_then_low() -> (UserId, UserId) {
    for n in 0..1000 {
        let (high, low) = (format!("admin-{n}"), format!("staff-{n}"));
        if shard(&high) > shard(&low) {
            return (UserId::new(high), UserId::new(low));
        }
    }
    unreachable!("some pair falls in two shards")
}

fn event(user: &UserId, actor: &UserId, at: u64, mark: usize) -> AuditEvent {
    AuditEvent::new(
        user,
        actor,
        at,
        &RequestContext::default(),
        EventKind::RecoveryCodesLow { remaining: mark },
    )
}

fn mark(event: &AuditEvent) -> usize {
    match event.kind {
        EventKind::RecoveryCodesLow { remaining } => remaining,
        _ => usize::MAX,
    }
}

// `ReadAudit` (src/store/listing.rs): "in order of `(at, id)`; events of one save keep
// their order". `OrgSettingsStore::save_org_settings` (src/store/mod.rs): "The check,
// the write of the settings and the append of `events` are one atomic step".
#[test]
fn the_events_of_one_settings_save_read_back_in_their_order() {
    let store = MemoryStore::new();
    // An admin's change recorded with two events of one second, about two users whose
    // events the store keeps in different shards.
    let (first, second) = two_users_in_shards_high_then_low();
    let events = vec![event(&first, &first, 1_700_000_000, 1), event(&second, &first, 1_700_000_000, 2)];
    let saved = pollster::block_on(store.save_org_settings("acme", OrgSettings::default(), None, events));
    assert!(saved.is_ok());
    let page = pollster::block_on(store.read_audit(&AuditQuery::range(0, u64::MAX, 10))).unwrap();
    let marks: Vec<usize> = page.events.iter().map(|e| mark(&e.event)).collect();
    assert_eq!(
        marks,
        [1, 2],
        "the events of one save read back out of their order (ids {:?})",
        page.events.iter().map(|e| e.id).collect::<Vec<_>>()
    );
}

// `StoredEvent::id` (src/store/listing.rs): "unique, and larger for an event about the
// same user stored later"; `MemoryStore` (src/store/memory.rs): "event ids ... increase
// with each user's events, and the trail reads in order of time and then id ... (events
// of one user in the order they were stored ...)".
#[test]
fn a_users_events_read_back_in_the_order_they_were_stored_whichever_save_carried_them() {
    let store = MemoryStore::new();
    let (admin, staff) = two_users_in_shards_high_then_low();
    // An admin's save (of the admin's own record) carries an event about a staff member,
    // then the staff member's own event follows in the same second.
    pollster::block_on(async {
        let saved =
            store.save(UserRecord::new(admin.clone()), None, vec![event(&staff, &admin, 1_700_000_000, 1)]);
        assert!(saved.await.is_ok());
        store.append_events(vec![event(&staff, &staff, 1_700_000_000, 2)]).await.unwrap();
    });
    let page =
        pollster::block_on(store.read_audit(&AuditQuery::user(staff.clone(), 0, u64::MAX, 10))).unwrap();
    let read: Vec<(usize, i64)> = page.events.iter().map(|e| (mark(&e.event), e.id)).collect();
    assert_eq!(
        read.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
        [1, 2],
        "the staff member's events read back out of storing order; (mark, id): {read:?}"
    );
}

// `MemoryStore::events_for` (src/store/memory.rs): "The audit events about `user`,
// oldest first."
#[test]
fn events_for_holds_every_event_about_the_user() {
    let store = MemoryStore::new();
    let (admin, staff) = two_users_in_shards_high_then_low();
    pollster::block_on(async {
        let saved =
            store.save(UserRecord::new(admin.clone()), None, vec![event(&staff, &admin, 1_700_000_000, 1)]);
        assert!(saved.await.is_ok());
    });
    assert_eq!(store.events().len(), 1, "the event is in the trail");
    assert_eq!(
        store.events_for(&staff).iter().map(mark).collect::<Vec<_>>(),
        [1],
        "events_for misses an event about the user stored with another user's record"
    );
}

// `MemoryStore::with_audit_capacity` (src/store/memory.rs): "An empty store that keeps
// at least `capacity` audit events: the newest `capacity / 16` of each shard or more";
// `MemoryStore`: "each of the 16 shards keeps its newest
// `DEFAULT_AUDIT_CAPACITY / 16` events ..., dropping the oldest". Pruning one
// organisation thins the trail; the next appends must not drop another organisation's
// events that are among the newest the store promised to keep.
#[test]
fn pruning_one_organisation_does_not_make_the_bounded_trail_drop_anothers_newest_events() {
    use mfa_kit::OrgId;
    use mfa_kit::store::PruneAudit;

    let per_shard = 512;
    let store = MemoryStore::with_audit_capacity(16 * per_shard);
    // One user, so one shard: 256 events of "keep", then 250 of "gone" (old times) with
    // 6 of "keep", then 256 of "keep".
    let user = UserId::new("sarah");
    let filed = |at: u64, org: &str, n: usize| {
        let context = RequestContext::default().in_org(org);
        AuditEvent::new(&user, &user, at, &context, EventKind::RecoveryCodesLow { remaining: n })
    };
    let mut events = Vec::new();
    events.extend((0..256).map(|n| filed(10_000 + n as u64, "keep", n)));
    events.extend((0..250).map(|n| filed(100 + n as u64, "gone", 1_000 + n)));
    events.extend((0..6).map(|n| filed(20_000 + n as u64, "keep", 2_000 + n)));
    events.extend((0..256).map(|n| filed(30_000 + n as u64, "keep", 3_000 + n)));
    pollster::block_on(async {
        for event in events {
            store.append_events(vec![event]).await.unwrap();
        }
        let pruned = store.delete_audit_before(Some(&OrgId::new("gone")), 1_000, 1_000).await.unwrap();
        assert_eq!(pruned, 250);
        assert_eq!(
            (store.events().len(), store.dropped_events()),
            (518, 0),
            "518 events of keep, none dropped"
        );
        // One more event of "keep".
        store.append_events(vec![filed(40_000, "keep", 4_000)]).await.unwrap();
    });
    let kept = store.events().len();
    assert!(
        kept >= per_shard,
        "the shard keeps {kept} events of its 519 (dropped {}), fewer than the newest {per_shard} promised",
        store.dropped_events()
    );
}
