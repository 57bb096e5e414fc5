//! Removing and replacing factors: what the AU/NZ rule keeps, what needs a fresh
//! proof, a backup phone that must differ, and enrolling again after a reset
//! (requirements R15, R18, R21).

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::event::EventKind;
use mfa_kit::flow::destination::Sent;
use mfa_kit::policy::{Decision, Jurisdiction, OrgSettings};
use mfa_kit::{Destination, Reason, Refusal, Role};

#[test]
fn a_user_whose_only_factor_is_sms_cannot_turn_it_off_under_the_au_nz_rule() {
    let firm = firm();
    let mia = user("mia");
    let sydney = office().with_jurisdiction(Jurisdiction::country("AU").with_xero());
    let outbox = Outbox::default();
    run(async {
        let phone = Destination::sms_in("0412 345 678", "AU").unwrap();
        firm.mfa.add_destination(&mia, phone, Role::Primary, &outbox, &sydney).await.unwrap().unwrap();
        assert!(firm.mfa.confirm_destination(&mia, &outbox.last_code(), &sydney).await.unwrap().is_ok());
        assert!(firm.mfa.status(&mia, &office()).await.unwrap().has_mfa());
        let removed = firm.mfa.remove_destination(&mia, Role::Primary, &sydney).await.unwrap();
        assert_eq!(removed, Err(Refusal::Forbidden(Reason::JurisdictionRule)), "the rule, not a dead end");
        firm.clock.advance(60);
        firm.mfa.send_sign_in_code(&mia, Role::Primary, &outbox, &sydney).await.unwrap().unwrap();
        let turned_off = firm.mfa.deactivate(&mia, &outbox.last_code(), true, &sydney).await.unwrap();
        assert_eq!(turned_off, Err(Refusal::Forbidden(Reason::JurisdictionRule)));
        assert!(firm.mfa.status(&mia, &office()).await.unwrap().has_mfa());
        assert!(
            firm.events(&mia).contains(&EventKind::DeactivationRefused { reason: Reason::JurisdictionRule })
        );
    });
}

#[test]
fn removing_the_primary_destination_beside_an_authenticator_needs_a_fresh_proof() {
    let firm = firm();
    let raj = user("raj");
    let outbox = Outbox::default();
    let app = firm.enroll(&raj);
    run(async {
        let email = Destination::email("raj@smith.example").unwrap();
        firm.mfa.add_destination(&raj, email, Role::Primary, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&raj, &outbox.last_code(), &office()).await.unwrap().unwrap();
        firm.clock.advance(3600);
        let stale = firm.mfa.remove_destination(&raj, Role::Primary, &office()).await.unwrap();
        assert_eq!(stale, Err(Refusal::FreshProofRequired));
    });
    firm.prove(&raj, &app);
    run(async {
        assert_eq!(firm.mfa.remove_destination(&raj, Role::Primary, &office()).await.unwrap(), Ok(true));
        assert!(firm.mfa.status(&raj, &office()).await.unwrap().has_mfa(), "the authenticator app is left");
    });
}

#[test]
fn a_backup_phone_must_differ_from_the_primary_in_either_order_and_either_format() {
    let sydney = office().with_jurisdiction(Jurisdiction::country("AU"));
    for (first, second) in [(Role::Primary, Role::Backup), (Role::Backup, Role::Primary)] {
        let firm = firm();
        let mia = user("mia");
        let outbox = Outbox::default();
        run(async {
            let national = Destination::sms_in("0412 345 678", "AU").unwrap();
            firm.mfa.add_destination(&mia, national, first, &outbox, &sydney).await.unwrap().unwrap();
            firm.mfa.confirm_destination(&mia, &outbox.last_code(), &sydney).await.unwrap().unwrap();
            firm.clock.advance(60);
            let international = Destination::sms("+61 412 345 678").unwrap();
            let refused =
                firm.mfa.add_destination(&mia, international, second, &outbox, &sydney).await.unwrap();
            assert_eq!(refused, Err(Refusal::SameAsPrimary), "{first:?} then {second:?}");
            let other = Destination::sms("+61 499 999 999").unwrap();
            let added = firm.mfa.add_destination(&mia, other, second, &outbox, &sydney).await.unwrap();
            assert!(matches!(added, Ok(Sent { .. })));
        });
    }
}

#[test]
fn after_an_admin_reset_the_user_must_enroll_again_whatever_the_level() {
    let firm = firm();
    let (sarah, partner) = (user("sarah"), user("partner"));
    firm.enroll(&sarah);
    firm.enroll(&partner);
    let upon_request = office().with_org(Arc::new(OrgSettings::default()));
    run(firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &office())).unwrap().unwrap();
    assert_eq!(
        run(firm.mfa.sign_in_decision(&sarah, &upon_request)).unwrap(),
        Ok(Decision::RequireEnrollment { reason: Reason::ResetByAdmin })
    );
    firm.enroll(&sarah);
    assert!(matches!(
        run(firm.mfa.sign_in_decision(&sarah, &upon_request)).unwrap(),
        Ok(Decision::Challenge { reason: Reason::Enrolled, .. })
    ));
}
