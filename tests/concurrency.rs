//! What must happen once happens once, however many app servers race (R3, R15).
//!
//! Each scenario runs 1000 times with its threads (32, or 8 services for the sends)
//! released together by a barrier, all sharing one in-memory store, as app servers
//! share a database.

mod common;

use std::sync::Barrier;
use std::thread;

use common::*;
use mfa_kit::RejectionReason;
use mfa_kit::event::EventKind;
use mfa_kit::flow::Proven;
use mfa_kit::{Destination, Method, Refusal, Role};

const ROUNDS: usize = 1000;
const THREADS: usize = 32;

#[test]
fn thirty_two_servers_receiving_the_same_valid_code_accept_it_exactly_once() {
    for round in 0..ROUNDS {
        let firm = firm();
        let sarah = user("sarah");
        let phone = firm.enroll(&sarah);
        let code = phone.code();
        let outcomes = race(THREADS, |_| {
            run(firm.mfa.verify_code(&sarah, &code, &office())).expect("no infrastructure error")
        });
        let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(accepted, 1, "round {round}: {outcomes:?}");
        // Every other server saw a replay, or the lockout the replays caused.
        assert!(outcomes.iter().all(|o| matches!(
            o,
            Ok(Proven { method: Method::Totp, .. })
                | Err(Refusal::CodeReused { .. })
                | Err(Refusal::LockedOut { .. })
        )));
        let audited =
            firm.events(&sarah).iter().filter(|k| matches!(k, EventKind::CodeAccepted { .. })).count();
        assert_eq!(audited, 1, "round {round}");
        let stored = firm
            .mfa
            .store()
            .events_for(&sarah)
            .iter()
            .filter(|e| matches!(e.kind, EventKind::CodeAccepted { .. }))
            .count();
        assert_eq!(stored, 1, "round {round}: the store's trail");
    }
}

#[test]
fn thirty_two_wrong_codes_at_once_evaluate_at_most_five_then_the_valid_code_is_refused() {
    for round in 0..ROUNDS {
        let firm = firm();
        let sarah = user("sarah");
        let phone = firm.enroll(&sarah);
        let wrong = phone.wrong_code();
        let outcomes = race(THREADS, |_| {
            run(firm.mfa.verify_code(&sarah, &wrong, &office())).expect("no infrastructure error")
        });
        let evaluated = outcomes.iter().filter(|o| matches!(o, Err(Refusal::WrongCode { .. }))).count();
        let locked = outcomes.iter().filter(|o| matches!(o, Err(Refusal::LockedOut { .. }))).count();
        // Four rejections and the fifth failure that started the lock; the rest never evaluated.
        assert_eq!((evaluated, locked), (4, THREADS - 4), "round {round}: {outcomes:?}");
        let counted = firm
            .events(&sarah)
            .iter()
            .filter(|k| matches!(k, EventKind::CodeRejected { reason: RejectionReason::Wrong, .. }))
            .count();
        assert_eq!(counted, 5, "round {round}");
        let stored = firm
            .mfa
            .store()
            .events_for(&sarah)
            .iter()
            .filter(|e| matches!(e.kind, EventKind::CodeRejected { reason: RejectionReason::Wrong, .. }))
            .count();
        assert_eq!(stored, 5, "round {round}: the store's trail");
        let valid = run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap();
        assert!(matches!(valid, Err(Refusal::LockedOut { .. })), "round {round}: {valid:?}");
    }
}

#[test]
fn thirty_two_servers_receiving_the_same_recovery_code_accept_it_exactly_once() {
    for round in 0..ROUNDS {
        let firm = firm();
        let sarah = user("sarah");
        firm.enroll(&sarah);
        let codes = run(firm.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
        let code = codes[round % codes.len()].as_str().to_string();
        let outcomes = race(THREADS, |_| {
            run(firm.mfa.redeem_recovery_code(&sarah, &code, &office())).expect("no infrastructure error")
        });
        let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(accepted, 1, "round {round}: {outcomes:?}");
        assert!(outcomes.iter().all(|o| matches!(
            o,
            Ok(Proven { method: Method::RecoveryCode, .. })
                | Err(Refusal::CodeReused { .. })
                | Err(Refusal::LockedOut { .. })
        )));
        let record = run(firm.mfa.record(&sarah)).unwrap();
        assert_eq!(record.recovery_codes().unwrap().remaining(), codes.len() - 1, "round {round}");
    }
}

#[test]
fn thirty_two_servers_receiving_the_same_emailed_code_accept_it_exactly_once() {
    for round in 0..ROUNDS {
        let firm = firm();
        let sarah = user("sarah");
        firm.enroll(&sarah);
        let outbox = Outbox::default();
        run(async {
            let email = Destination::email("sarah@smith.example").unwrap();
            firm.mfa.add_destination(&sarah, email, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
            firm.mfa.confirm_destination(&sarah, &outbox.last_code(), &office()).await.unwrap().unwrap();
            firm.clock.advance(60);
            firm.mfa.send_sign_in_code(&sarah, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        });
        let code = outbox.last_code();
        let outcomes = race(THREADS, |_| {
            run(firm.mfa.verify_sign_in_code(&sarah, &code, &office())).expect("no infrastructure error")
        });
        let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(accepted, 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Ok(Proven { method: Method::Email, .. }) | Err(Refusal::NoCodePending)))
        );
    }
}

/// Eight app servers, each with its own service over one shared store, asked at the
/// same moment to send a sign-in code: the limits (one a minute, five an hour) hold,
/// because a send is reserved in the record before the provider is called.
#[test]
fn eight_servers_sending_codes_at_once_never_exceed_the_send_limits() {
    const SERVERS: usize = 8;
    let key = mfa_kit::keyed_hash::HashKey::from_bytes(&[5; 32]).unwrap();
    for round in 0..ROUNDS {
        let store = std::sync::Arc::new(mfa_kit::store::MemoryStore::new());
        let clock = mfa_kit::clock::ManualClock::new(START);
        let services: Vec<_> = (0..SERVERS)
            .map(|_| {
                mfa_kit::service::MfaService::builder(
                    "Smith",
                    store.clone(),
                    mfa_kit::danger::PlaintextSealer,
                )
                .clock(clock.clone())
                .hash_key(key.clone())
                .build()
            })
            .collect();
        let ann = user("ann");
        let outbox = Outbox::default();
        let phone = Destination::sms("+61 412 345 678").unwrap();
        run(services[0].add_destination(&ann, phone, Role::Primary, &outbox, &office())).unwrap().unwrap();
        run(services[0].confirm_destination(&ann, &outbox.last_code(), &office())).unwrap().unwrap();
        let confirmations = outbox.count();
        // Six bursts a minute apart: the sixth is within the hour of the first.
        for burst in 0..6 {
            clock.advance(61);
            let barrier = Barrier::new(SERVERS);
            let outcomes: Vec<_> = thread::scope(|scope| {
                let handles: Vec<_> = services
                    .iter()
                    .map(|mfa| {
                        let (barrier, outbox, ann) = (&barrier, &outbox, &ann);
                        scope.spawn(move || {
                            barrier.wait();
                            run(mfa.send_sign_in_code(ann, Role::Primary, outbox, &office())).unwrap()
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let sent = outcomes.iter().filter(|o| o.is_ok()).count();
            let expected = usize::from(burst < 4); // the confirmation code counts as the first send
            assert_eq!(sent, expected, "round {round}, burst {burst}: {outcomes:?}");
            assert!(outcomes.iter().all(|o| matches!(o, Ok(_) | Err(Refusal::RateLimited { .. }))));
        }
        assert_eq!(outbox.count() - confirmations, 4, "round {round}");
    }
}
