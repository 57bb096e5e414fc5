//! Organisation settings kept in the store: a change and its `org_settings_changed` event
//! are one conditional save, so the trail never misses a change that was made nor
//! claims one that was not, whatever fails; changes that meet are made again on the
//! newer settings, none lost. And what the host-saved variant, two writes, can leave.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use mfa_kit::LockoutRule;
use mfa_kit::Refusal;
use mfa_kit::UserId;
use mfa_kit::event::{AuditEvent, AuditOutcome, EventKind};
use mfa_kit::flow::oversight::SettingsChange;
use mfa_kit::policy::Level::{Mandatory, Suggested};
use mfa_kit::policy::OrgSettings;
use mfa_kit::record::UserRecord;
use mfa_kit::service::{Error, permissions};
use mfa_kit::store::{
    MemoryStore, OrgSettingsStore, SaveOutcome, Store, Version, Versioned, VersionedSettings,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// The settings save fails before anything is written (the transaction rolls back).
    WriteFails,
    /// The settings save commits, then the reply is lost.
    ReplyLost,
    /// Every append of events without a change fails.
    AppendFails,
}

#[derive(Debug, thiserror::Error)]
#[error("connection to the database was lost")]
struct ConnectionLost;

/// The in-memory store, with faults to arm, and another admin's change to slip in
/// between the service's load of the settings and its save.
#[derive(Default)]
struct Faulty {
    inner: MemoryStore,
    fault: Mutex<Option<Fault>>,
    settings_saves: AtomicU32,
    slip_in: Mutex<Option<OrgSettings>>,
}

impl Faulty {
    fn arm(&self, fault: Fault) {
        *self.fault.lock().unwrap() = Some(fault);
    }

    fn armed(&self) -> Option<Fault> {
        *self.fault.lock().unwrap()
    }
}

impl Store for Faulty {
    type Error = ConnectionLost;

    async fn load(&self, user: &UserId) -> Result<Option<Versioned>, ConnectionLost> {
        Ok(self.inner.load(user).await.unwrap())
    }

    async fn save(
        &self,
        record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> Result<SaveOutcome, ConnectionLost> {
        Ok(self.inner.save(record, expected, events).await.unwrap())
    }

    async fn append_events(&self, events: Vec<AuditEvent>) -> Result<(), ConnectionLost> {
        if self.armed() == Some(Fault::AppendFails) {
            return Err(ConnectionLost);
        }
        self.inner.append_events(events).await.unwrap();
        Ok(())
    }
}

impl OrgSettingsStore for Faulty {
    async fn load_org_settings(&self, org: &str) -> Result<Option<VersionedSettings>, ConnectionLost> {
        let loaded = self.inner.load_org_settings(org).await.unwrap();
        let slip_in = self.slip_in.lock().unwrap().take();
        if let Some(theirs) = slip_in {
            let expected = loaded.as_ref().map(|l| l.version);
            let saved = self.inner.save_org_settings(org, theirs, expected, vec![]).await.unwrap();
            assert!(matches!(saved, SaveOutcome::Saved(_)));
        }
        Ok(loaded)
    }

    async fn save_org_settings(
        &self,
        org: &str,
        settings: OrgSettings,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> Result<SaveOutcome, ConnectionLost> {
        self.settings_saves.fetch_add(1, Ordering::SeqCst);
        let fault = self.fault.lock().unwrap().take_if(|f| *f != Fault::AppendFails);
        if fault == Some(Fault::WriteFails) {
            return Err(ConnectionLost);
        }
        let outcome = self.inner.save_org_settings(org, settings, expected, events).await.unwrap();
        if fault == Some(Fault::ReplyLost) { Err(ConnectionLost) } else { Ok(outcome) }
    }
}

const ORG: &str = "firm-42";

/// A host check that permits every admin action: what is tested is the service's rules.
fn anyone() -> impl mfa_kit::service::permissions::Permissions {
    permitted()
}

fn changes(events: &[AuditEvent]) -> Vec<(OrgSettings, OrgSettings)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::OrgSettingsChanged { org, old, new } if org == ORG => {
                Some(((**old).clone(), (**new).clone()))
            }
            _ => None,
        })
        .collect()
}

fn mandatory_for(user_type: &str) -> impl FnMut(&OrgSettings) -> OrgSettings + use<> {
    let user_type = user_type.to_string();
    move |current: &OrgSettings| current.clone().with_level(user_type.clone(), Mandatory)
}

#[test]
fn a_settings_change_and_its_event_are_written_together_or_not_at_all() {
    let firm = firm_with(Faulty::default(), |builder| builder);
    let support = user("support-level-2");
    firm.enroll(&support);
    let store = firm.mfa.store();
    let sink_before = firm.audit.events().len();
    run(async {
        // The write fails: nothing changed, nothing audited as changed, and the
        // service does not try again on a failing store.
        store.arm(Fault::WriteFails);
        let failed = firm
            .mfa
            .change_stored_org_settings(ORG, &support, &anyone(), &office(), mandatory_for("practitioner"))
            .await;
        assert!(matches!(failed, Err(Error::Store(_))), "{failed:?}");
        assert_eq!(store.settings_saves.load(Ordering::SeqCst), 1, "not retried");
        assert_eq!(store.inner.load_org_settings(ORG).await.unwrap(), None, "nothing was written");
        assert_eq!(firm.mfa.org_settings(ORG).await.unwrap(), OrgSettings::default());
        assert_eq!(changes(&store.inner.events()), [], "no change audited");
        assert_eq!(firm.audit.events().len(), sink_before, "nothing pushed to the sink");

        // The write commits and its reply is lost: an error, not retried, and the
        // change is there with exactly one event.
        store.arm(Fault::ReplyLost);
        let lost = firm
            .mfa
            .change_stored_org_settings(ORG, &support, &anyone(), &office(), mandatory_for("practitioner"))
            .await;
        assert!(matches!(lost, Err(Error::Store(_))), "{lost:?}");
        assert_eq!(store.settings_saves.load(Ordering::SeqCst), 2, "not retried");
        let practitioners = OrgSettings::default().with_level("practitioner", Mandatory);
        assert_eq!(firm.mfa.org_settings(ORG).await.unwrap(), practitioners, "the committed change is there");
        assert_eq!(changes(&store.inner.events()), [(OrgSettings::default(), practitioners.clone())]);

        // With the store working again, the next change is made on the stored settings.
        let next = firm
            .mfa
            .change_stored_org_settings(ORG, &support, &anyone(), &office(), mandatory_for("partner"))
            .await;
        let both = practitioners.clone().with_level("partner", Mandatory);
        assert_eq!(next.unwrap(), Ok(both.clone()));
        assert_eq!(
            changes(&store.inner.events()),
            [(OrgSettings::default(), practitioners.clone()), (practitioners, both.clone())],
            "each event holds the settings it replaced"
        );
        assert_eq!(
            changes(&firm.audit.events()).last().map(|c| &c.1),
            Some(&both),
            "pushed to the sink once stored"
        );
    });
}

#[test]
fn stored_settings_are_read_back_per_organisation_and_start_from_the_defaults() {
    let firm = firm();
    let support = user("support-level-2");
    firm.enroll(&support);
    run(async {
        assert_eq!(firm.mfa.org_settings(ORG).await.unwrap(), OrgSettings::default());
        let new =
            OrgSettings::builder().enforce_for_all(true).grace_until(Some(START + 86_400)).build().unwrap();
        let replace = |_: &OrgSettings| new.clone();
        let changed = firm.mfa.change_stored_org_settings(ORG, &support, &anyone(), &office(), replace).await;
        assert_eq!(changed.unwrap(), Ok(new.clone()));
        assert_eq!(firm.mfa.org_settings(ORG).await.unwrap(), new);
        assert_eq!(
            firm.mfa.org_settings("firm-43").await.unwrap(),
            OrgSettings::default(),
            "another organisation"
        );
        let stored = firm.mfa.store().load_org_settings(ORG).await.unwrap().unwrap();
        assert_eq!(stored, VersionedSettings { version: Version(1), settings: new.clone() });
        let event = firm.mfa.store().events().pop().unwrap();
        assert_eq!(
            (event.user.as_str(), event.actor.as_str(), event.outcome),
            ("support-level-2", "support-level-2", AuditOutcome::Success)
        );
        assert_eq!(changes(&[event]), [(OrgSettings::default(), new)]);
    });
}

#[test]
fn a_refused_settings_change_changes_nothing_and_is_audited() {
    let firm = firm_with(Faulty::default(), |builder| builder);
    let (support, clerk) = (user("support-level-2"), user("clerk"));
    firm.enroll(&support);
    firm.enroll(&clerk);
    let only_support =
        permissions::from_sync_fn(|request| request.actor.as_str().starts_with("support-level-"));
    let store = firm.mfa.store();
    run(async {
        let refused = firm
            .mfa
            .change_stored_org_settings(ORG, &clerk, &only_support, &office(), mandatory_for("practitioner"))
            .await;
        assert_eq!(refused.unwrap(), Err(Refusal::NotPermitted));
        // Settings out of range do not build: no change can hand them to the service.
        assert!(OrgSettings::default().to_builder().lockout(LockoutRule::new(0, 60)).build().is_err());
        // Too long after the actor's last proof: a fresh one is needed first.
        firm.clock.advance(3600);
        let stale = firm
            .mfa
            .change_stored_org_settings(
                ORG,
                &support,
                &only_support,
                &office(),
                mandatory_for("practitioner"),
            )
            .await;
        assert!(matches!(stale.unwrap(), Err(Refusal::FreshProofRequired)));

        assert_eq!(store.settings_saves.load(Ordering::SeqCst), 0, "a refusal saves no settings");
        assert_eq!(store.inner.load_org_settings(ORG).await.unwrap(), None);
        let refusals: Vec<(String, AuditOutcome)> = store
            .inner
            .events()
            .into_iter()
            .filter(|e| matches!(&e.kind, EventKind::OrgSettingsChangeRefused { org, .. } if org == ORG))
            .map(|e| (e.actor.as_str().to_string(), e.outcome))
            .collect();
        assert_eq!(
            refusals,
            [("clerk".into(), AuditOutcome::Failure), ("support-level-2".into(), AuditOutcome::Failure)]
        );

        // A refusal whose audit write fails is reported as the store's error.
        store.arm(Fault::AppendFails);
        let failed = firm
            .mfa
            .change_stored_org_settings(ORG, &clerk, &only_support, &office(), mandatory_for("practitioner"))
            .await;
        assert!(matches!(failed, Err(Error::Store(_))), "{failed:?}");
        assert_eq!(store.inner.load_org_settings(ORG).await.unwrap(), None);
    });
}

#[test]
fn a_settings_change_that_meets_another_is_made_again_on_the_newer_settings() {
    let firm = firm_with(Faulty::default(), |builder| builder);
    let support = user("support-level-2");
    firm.enroll(&support);
    let store = firm.mfa.store();
    let theirs = OrgSettings::default().with_level("bookkeeper", Suggested);
    *store.slip_in.lock().unwrap() = Some(theirs.clone());
    let seen = Mutex::new(Vec::new());
    let change = |current: &OrgSettings| {
        seen.lock().unwrap().push(current.clone());
        current.clone().with_level("practitioner", Mandatory)
    };
    let changed =
        run(firm.mfa.change_stored_org_settings(ORG, &support, &anyone(), &office(), change)).unwrap();
    let both = theirs.clone().with_level("practitioner", Mandatory);
    assert_eq!(changed, Ok(both.clone()), "the other admin's change is kept");
    assert_eq!(
        *seen.lock().unwrap(),
        [OrgSettings::default(), theirs.clone()],
        "made again on the newer settings"
    );
    assert_eq!(store.settings_saves.load(Ordering::SeqCst), 2, "the first save met the other change");
    assert_eq!(changes(&store.inner.events()), [(theirs, both)], "one event, for the change that was made");
}

#[test]
fn concurrent_settings_changes_all_apply_and_each_event_records_the_settings_it_replaced() {
    const ADMINS: usize = 8;
    let firm = firm_with(Arc::new(MemoryStore::new()), |builder| builder);
    let admins: Vec<UserId> = (0..ADMINS).map(|n| user(&format!("support-level-{n}"))).collect();
    let phones: Vec<Phone> = admins.iter().map(|admin| firm.enroll(admin)).collect();
    // Each proves a factor again, so every proof is within the step-up window.
    for (admin, phone) in admins.iter().zip(&phones) {
        firm.prove(admin, phone);
    }
    std::thread::scope(|scope| {
        for (n, admin) in admins.iter().enumerate() {
            let mfa = &firm.mfa;
            scope.spawn(move || {
                for round in 0..5 {
                    let change = mandatory_for(&format!("type-{n}-{round}"));
                    let changed =
                        run(mfa.change_stored_org_settings(ORG, admin, &anyone(), &office(), change));
                    assert!(matches!(changed, Ok(Ok(_))), "{changed:?}");
                }
            });
        }
    });
    let last = run(firm.mfa.org_settings(ORG)).unwrap();
    assert_eq!(last.levels().len(), ADMINS * 5, "every change applied, none lost");
    let stored = run(firm.mfa.store().load_org_settings(ORG)).unwrap().unwrap();
    assert_eq!(stored.version, Version(ADMINS as u64 * 5), "one version per change");
    // The events chain from the defaults to the settings stored, each holding the
    // settings it replaced. (Each change adds one level, so the size of its old
    // settings is its place: the in-memory trail orders different users' events of one
    // second by shard, not by when they were stored.)
    let mut chain = changes(&firm.mfa.store().events());
    assert_eq!(chain.len(), ADMINS * 5, "one event per change");
    chain.sort_by_key(|(old, _)| old.levels().len());
    let mut before = OrgSettings::default();
    for (old, new) in chain {
        assert_eq!(old, before, "an event's old settings are those the change replaced");
        before = new;
    }
    assert_eq!(before, last);
}

#[test]
fn a_host_saved_settings_change_whose_audit_write_fails_is_reported_though_the_settings_changed() {
    // The closure-based call is two writes: this is the gap it documents.
    let firm = firm_with(Faulty::default(), |builder| builder);
    let support = user("support-level-2");
    firm.enroll(&support);
    let table = Mutex::new(Vec::new());
    let save = |settings: OrgSettings| {
        table.lock().unwrap().push(settings);
        std::future::ready(Ok::<(), std::convert::Infallible>(()))
    };
    firm.mfa.store().arm(Fault::AppendFails);
    let current = OrgSettings::default();
    let new = current.clone().with_level("practitioner", Mandatory);
    let change = SettingsChange::new(ORG, &support, &current, new.clone());
    let result = run(firm.mfa.change_org_settings(change, &anyone(), &office(), save));
    assert!(matches!(result, Err(Error::Store(_))), "{result:?}");
    assert_eq!(*table.lock().unwrap(), [new], "the host's save had already run");
    assert_eq!(changes(&firm.mfa.store().inner.events()), [], "and the change is not audited");
}
