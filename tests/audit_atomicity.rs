//! The audit trail holds exactly the changes that were made: the service hands a
//! change's events to the same conditional save as the record, so a store that writes
//! both in one transaction never keeps a change without its events, nor events of a
//! change it did not keep, even when the reply to a commit is lost.

mod common;

use std::collections::HashMap;
use std::sync::Mutex;

use common::*;
use mfa_kit::RejectionReason;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::record::UserRecord;
use mfa_kit::service::Error;
use mfa_kit::store::{SaveOutcome, Store, Version, Versioned};
use mfa_kit::{Method, Refusal, UserId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// The transaction commits, then the connection drops before the reply.
    LostReply,
    /// The record row is written, then the audit insert fails: the transaction rolls back.
    AuditInsertFails,
}

#[derive(Clone, Default)]
struct Tables {
    records: HashMap<UserId, (u64, UserRecord)>,
    audit: Vec<AuditEvent>,
}

/// A store with transactions, as a database gives them, that can be made to fail.
#[derive(Default)]
struct TransactionalStore {
    committed: Mutex<Tables>,
    fault: Mutex<Option<Fault>>,
}

#[derive(Debug, thiserror::Error)]
#[error("connection to the database was lost")]
struct ConnectionLost;

impl TransactionalStore {
    fn arm(&self, fault: Fault) {
        *self.fault.lock().unwrap() = Some(fault);
    }

    fn tables(&self) -> Tables {
        self.committed.lock().unwrap().clone()
    }
}

impl Store for TransactionalStore {
    type Error = ConnectionLost;

    async fn load(&self, user: &UserId) -> Result<Option<Versioned>, ConnectionLost> {
        let tables = self.committed.lock().unwrap();
        Ok(tables.records.get(user).map(|(v, r)| Versioned { version: Version(*v), record: r.clone() }))
    }

    async fn save(
        &self,
        record: UserRecord,
        expected: Option<Version>,
        events: Vec<AuditEvent>,
    ) -> Result<SaveOutcome, ConnectionLost> {
        let fault = self.fault.lock().unwrap().take();
        let mut committed = self.committed.lock().unwrap();
        // BEGIN
        let mut tx = committed.clone();
        let current = tx.records.get(record.user()).map(|(v, _)| Version(*v));
        if current != expected {
            return Ok(SaveOutcome::Conflict); // ROLLBACK
        }
        let next = current.map_or(1, |v| v.0 + 1);
        tx.records.insert(record.user().clone(), (next, record.clone()));
        if fault == Some(Fault::AuditInsertFails) {
            return Err(ConnectionLost); // ROLLBACK: the record row goes too.
        }
        tx.audit.extend(events);
        *committed = tx; // COMMIT
        if fault == Some(Fault::LostReply) {
            return Err(ConnectionLost);
        }
        Ok(SaveOutcome::Saved(Version(next)))
    }

    async fn append_events(&self, events: Vec<AuditEvent>) -> Result<(), ConnectionLost> {
        self.committed.lock().unwrap().audit.extend(events);
        Ok(())
    }
}

fn kinds_for(tables: &Tables, user: &UserId) -> Vec<EventKind> {
    tables.audit.iter().filter(|e| &e.user == user).map(|e| e.kind.clone()).collect()
}

#[test]
fn a_wrong_code_whose_commit_reply_is_lost_is_stored_with_its_event_and_counted_once() {
    let firm = firm_with(TransactionalStore::default(), |builder| builder);
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let store = firm.mfa.store();
    let before = store.tables();

    store.arm(Fault::LostReply);
    let lost = run(firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office()));
    assert!(matches!(lost, Err(Error::Store(_))), "{lost:?}");
    let after = store.tables();
    assert_eq!(after.records[&sarah].1.failures().consecutive(), 1, "committed once, not retried");
    let wrong = EventKind::CodeRejected {
        method: Method::Totp,
        reason: RejectionReason::Wrong,
        consecutive_failures: 1,
    };
    assert_eq!(kinds_for(&after, &sarah)[kinds_for(&before, &sarah).len()..], [wrong]);

    // The next wrong code is the second, not the third.
    let next = run(firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office())).unwrap();
    assert_eq!(next, Err(Refusal::WrongCode { attempts_left: 3 }));
}

#[test]
fn a_reset_whose_commit_reply_is_lost_is_in_the_trail_with_its_change() {
    let firm = firm_with(TransactionalStore::default(), |builder| builder);
    let (sarah, partner) = (user("sarah"), user("partner"));
    firm.enroll(&sarah);
    firm.enroll(&partner);
    let store = firm.mfa.store();

    store.arm(Fault::LostReply);
    let lost = run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &office()));
    assert!(matches!(lost, Err(Error::Store(_))));
    let tables = store.tables();
    assert!(!tables.records[&sarah].1.has_mfa(), "the reset committed");
    let reset_events: Vec<_> =
        tables.audit.iter().filter(|e| matches!(e.kind, EventKind::ResetByAdmin { .. })).collect();
    assert_eq!(reset_events.len(), 1, "and so did its audit event");
    assert_eq!(reset_events[0].actor, partner);
}

#[test]
fn a_change_whose_audit_insert_fails_leaves_neither_the_change_nor_any_event() {
    let firm = firm_with(TransactionalStore::default(), |builder| builder);
    let (sarah, partner) = (user("sarah"), user("partner"));
    let phone = firm.enroll(&sarah);
    firm.enroll(&partner);
    let store = firm.mfa.store();

    for attempt in 0..2 {
        let before = store.tables();
        store.arm(Fault::AuditInsertFails);
        let failed = if attempt == 0 {
            run(firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office())).map(|_| ())
        } else {
            run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &office())).map(|_| ())
        };
        assert!(matches!(failed, Err(Error::Store(_))));
        let after = store.tables();
        assert_eq!(after.records[&sarah], before.records[&sarah], "the record row was rolled back");
        assert_eq!(after.audit, before.audit, "no event of a change that was not made");
    }
    // Nothing was lost either: the user still signs in.
    assert!(run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().is_ok());
}
