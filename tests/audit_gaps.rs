//! Every decision is in the trail: refused sign-in decisions, refused enrollment
//! starts, and refused attempts beyond the bound summarised with their count.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::Refusal;
use mfa_kit::RejectionReason;
use mfa_kit::event::EventKind;
use mfa_kit::policy::OrgSettings;
use mfa_kit::record::RefusalTally;

fn refused_sign_ins(kinds: &[EventKind]) -> Vec<RejectionReason> {
    kinds
        .iter()
        .filter_map(|kind| match kind {
            EventKind::SignInRefused { reason } => Some(*reason),
            _ => None,
        })
        .collect()
}

#[test]
fn a_sign_in_decision_refused_for_the_address_a_lockout_or_a_disabled_factor_is_audited() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    run(async {
        let office_only =
            OrgSettings::builder().allowed_networks(vec!["192.0.2.0/24".parse().unwrap()]).build().unwrap();
        let cafe = office().with_org(Arc::new(office_only));
        let refused = firm.mfa.sign_in_decision(&sarah, &cafe).await.unwrap();
        assert_eq!(refused, Err(Refusal::AddressNotAllowed));
        for _ in 0..5 {
            let _wrong = firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office()).await.unwrap();
        }
        let locked = firm.mfa.sign_in_decision(&sarah, &office()).await.unwrap();
        assert!(matches!(locked, Err(Refusal::LockedOut { .. })), "{locked:?}");
    });
    let stored = firm.mfa.store().events_for(&sarah);
    let kinds: Vec<EventKind> = stored.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(refused_sign_ins(&kinds), [RejectionReason::PolicyRefused, RejectionReason::LockedOut]);
    let refusal = stored.iter().find(|e| matches!(e.kind, EventKind::SignInRefused { .. })).unwrap();
    assert_eq!(refusal.context, office().request, "with the address it came from");
    assert_eq!(refusal.outcome, mfa_kit::event::AuditOutcome::Failure);
}

#[test]
fn a_disabled_second_factor_refuses_the_sign_in_decision_in_the_trail() {
    use mfa_kit::LockoutRule;
    use mfa_kit::policy::StandardPolicy;
    let strict = OrgSettings::builder().lockout(LockoutRule::new(2, 1).with_hard_limit(2)).build().unwrap();
    let firm = firm_with_policy(StandardPolicy::new().with_defaults(strict));
    let tom = user("tom");
    let phone = firm.enroll(&tom);
    run(async {
        for _ in 0..2 {
            let _wrong = firm.mfa.verify_code(&tom, &phone.wrong_code(), &office()).await.unwrap();
        }
        assert_eq!(firm.mfa.sign_in_decision(&tom, &office()).await.unwrap(), Err(Refusal::Disabled));
    });
    assert_eq!(refused_sign_ins(&firm.events(&tom)), [RejectionReason::Disabled]);
}

#[test]
fn refused_sign_in_decisions_from_one_password_holder_write_a_bounded_number_of_rows() {
    let firm = firm();
    let sarah = user("sarah");
    firm.enroll(&sarah);
    let office_only =
        OrgSettings::builder().allowed_networks(vec!["192.0.2.0/24".parse().unwrap()]).build().unwrap();
    let cafe = office().with_org(Arc::new(office_only));
    let before = firm.mfa.store().events_for(&sarah).len();
    run(async {
        for _ in 0..200 {
            assert_eq!(
                firm.mfa.sign_in_decision(&sarah, &cafe).await.unwrap(),
                Err(Refusal::AddressNotAllowed)
            );
        }
    });
    let written = firm.mfa.store().events_for(&sarah).len() - before;
    assert_eq!(written, RefusalTally::LOGGED_PER_INTERVAL as usize);
    let record = run(firm.mfa.record(&sarah)).unwrap();
    assert_eq!(record.refusal_tally().unlogged(), 200 - RefusalTally::LOGGED_PER_INTERVAL);
    // The next refusal after the interval brings the count into the trail.
    firm.clock.advance(RefusalTally::INTERVAL);
    assert_eq!(run(firm.mfa.sign_in_decision(&sarah, &cafe)).unwrap(), Err(Refusal::AddressNotAllowed));
    let kinds = firm.events(&sarah);
    assert!(kinds.contains(&EventKind::RefusalsSummarised {
        refused: 200 - RefusalTally::LOGGED_PER_INTERVAL,
        since: record.refusal_tally().since(),
    }));
}

#[test]
fn a_refused_enrollment_start_or_restart_is_audited_with_its_reason() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    firm.clock.advance(3600);
    run(async {
        // No fresh proof: a new phone is refused, on the start and the restart.
        let started = firm.mfa.start_enrollment(&sarah, "sarah", &office()).await.unwrap();
        assert_eq!(started.err(), Some(Refusal::FreshProofRequired));
        let restarted = firm.mfa.restart_enrollment(&sarah, "sarah", &office()).await.unwrap();
        assert_eq!(restarted.err(), Some(Refusal::FreshProofRequired));
        // Locked out: refused too.
        for _ in 0..5 {
            let _wrong = firm.mfa.verify_code(&sarah, &phone.wrong_code(), &office()).await.unwrap();
        }
        let locked = firm.mfa.add_authenticator(&sarah, "Desk", "sarah", &office()).await.unwrap();
        assert!(matches!(locked, Err(Refusal::LockedOut { .. })), "{locked:?}");
    });
    let refusals: Vec<String> = firm
        .events(&sarah)
        .into_iter()
        .filter_map(|kind| match kind {
            EventKind::EnrollmentRefused { refusal } => Some(refusal),
            _ => None,
        })
        .collect();
    assert_eq!(refusals, ["fresh_proof_required", "fresh_proof_required", "locked_out"]);
}
