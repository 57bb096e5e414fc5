//! NIST SP 800-63B-4 where it differs from revision 3: e-mail is not an out-of-band
//! authenticator (§3.1.3), and step-up counts only the methods an organisation allows.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::flow::step_up::StepUp;
use mfa_kit::policy::{Decision, OrgSettings, Preset, SignInContext};
use mfa_kit::{Destination, Method, Reason, Refusal, Role, SensitiveAction, UserId};

/// An organisation that refuses e-mailed codes as a factor, as the NIST preset does.
fn no_email(mandatory: bool) -> SignInContext {
    let settings =
        Preset::NistAal2.tighten(&OrgSettings::builder().enforce_for_all(mandatory).build().unwrap());
    assert!(!settings.allow_email_codes(), "the NIST preset refuses e-mailed codes");
    office().with_org(Arc::new(settings))
}

/// A user whose only factor is an e-mail address, confirmed while the organisation
/// still allowed e-mailed codes.
fn email_only(firm: &Firm, who: &UserId) -> Outbox {
    let outbox = Outbox::default();
    run(async {
        let email = Destination::email("raj@smith.example").unwrap();
        firm.mfa.add_destination(who, email, Role::Primary, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(who, &outbox.last_code(), &office()).await.unwrap().unwrap();
    });
    firm.clock.advance(60);
    outbox
}

#[test]
fn an_emailed_code_does_not_make_step_up_proceed_where_the_organisation_refuses_emailed_codes() {
    let firm = firm();
    let ann = user("ann");
    firm.enroll(&ann);
    let outbox = Outbox::default();
    run(async {
        let email = Destination::email("ann@smith.example").unwrap();
        firm.mfa.add_destination(&ann, email, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office()).await.unwrap().unwrap();
    });
    firm.clock.advance(600);
    run(async {
        firm.mfa.send_sign_in_code(&ann, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        let proven = firm.mfa.verify_sign_in_code(&ann, &outbox.last_code(), &office()).await.unwrap();
        assert!(matches!(proven, Ok(ref p) if p.method == Method::Email), "{proven:?}");
        // Where e-mailed codes count, the proof makes the session fresh...
        assert!(firm.mfa.step_up(&ann, SensitiveAction::Host, &office()).await.unwrap().may_proceed());
        // ...where they do not, it does not, and only the app is offered.
        let answer = firm.mfa.step_up(&ann, SensitiveAction::Host, &no_email(false)).await.unwrap();
        assert!(
            matches!(answer, StepUp::Prove { ref methods, .. } if methods == &[Method::Totp]),
            "{answer:?}"
        );
        let generate = firm.mfa.generate_recovery_codes(&ann, &no_email(false)).await.unwrap();
        assert_eq!(generate.err(), Some(Refusal::FreshProofRequired));
    });
}

#[test]
fn a_user_whose_only_factor_is_email_has_no_mfa_where_emailed_codes_are_refused() {
    let firm = firm();
    let raj = user("raj");
    let _outbox = email_only(&firm, &raj);
    run(async {
        // Under the organisation's old rules, the address is his factor.
        let decision = firm.mfa.sign_in_decision(&raj, &office()).await.unwrap();
        assert!(matches!(decision, Ok(Decision::Challenge { .. })), "{decision:?}");
        // Where e-mail is no factor and MFA is mandatory, he must set up a real one.
        let decision = firm.mfa.sign_in_decision(&raj, &no_email(true)).await.unwrap();
        assert!(matches!(decision, Ok(Decision::RequireEnrollment { .. })), "{decision:?}");
        // Where MFA is his choice, he signs in without a second factor: he has none.
        let decision = firm.mfa.sign_in_decision(&raj, &no_email(false)).await.unwrap();
        assert_eq!(decision, Ok(Decision::Allow { reason: Reason::NotRequired }));
        // Step-up has nothing to prove with; the first real factor needs no proof.
        let host = firm.mfa.step_up(&raj, SensitiveAction::Host, &no_email(true)).await.unwrap();
        assert_eq!(host, StepUp::EnrollFirst);
        let add = firm.mfa.step_up(&raj, SensitiveAction::AddAuthenticator, &no_email(true)).await.unwrap();
        assert_eq!(add, StepUp::Proceed { proof: None });
        // Nor does the address count for remembering a device or recovery codes.
        let codes = firm.mfa.generate_recovery_codes(&raj, &no_email(true)).await.unwrap();
        assert_eq!(codes.err(), Some(Refusal::NotEnrolled));
        let device = firm.mfa.remember_device(&raj, "laptop", 3600, &no_email(true)).await.unwrap();
        assert_eq!(device.err(), Some(Refusal::NotEnrolled));
    });
    // The admin's list shows the red cross where e-mail is no factor.
    assert!(run(firm.mfa.status(&raj, &office())).unwrap().has_mfa());
    assert!(!run(firm.mfa.status(&raj, &no_email(true))).unwrap().has_mfa());
    let record = run(firm.mfa.record(&raj)).unwrap();
    assert!(record.has_mfa(), "by every method");
    assert!(!record.has_mfa_allowing(|m| m != Method::Email), "by the methods the organisation allows");
}

/// A user whose factor is a phone (SMS), confirmed; the gateway that sent the codes.
fn sms_only(firm: &Firm, who: &UserId) -> Outbox {
    let outbox = Outbox::default();
    run(async {
        let phone = Destination::sms("+61 412 345 678").unwrap();
        firm.mfa.add_destination(who, phone, Role::Primary, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(who, &outbox.last_code(), &office()).await.unwrap().unwrap();
    });
    firm.clock.advance(120);
    outbox
}

#[test]
fn where_sms_is_offered_the_decision_asks_for_the_risk_notice_and_an_unrestricted_alternative() {
    let firm = firm();
    let (raj, ann) = (user("raj"), user("ann"));
    sms_only(&firm, &raj);
    firm.enroll(&ann);
    run(async {
        let decision = firm.mfa.sign_in_decision(&raj, &office()).await.unwrap();
        let Ok(Decision::Challenge { methods, restricted, .. }) = decision else { panic!("{decision:?}") };
        assert_eq!((methods, restricted), (vec![Method::Sms], vec![Method::Sms]), "SMS alone: offer an app");
        let decision = firm.mfa.sign_in_decision(&ann, &office()).await.unwrap();
        let Ok(Decision::Challenge { restricted, .. }) = decision else { panic!("{decision:?}") };
        assert!(restricted.is_empty(), "an authenticator app is not restricted");
    });
    assert!(Method::Sms.is_restricted() && !Method::Totp.is_restricted() && !Method::Email.is_restricted());
}

#[test]
fn changing_the_phone_number_binds_a_new_authenticator_with_a_fresh_proof_and_a_notice() {
    use mfa_kit::event::{EventKind, SecurityNotice};
    let firm = firm();
    let raj = user("raj");
    let outbox = sms_only(&firm, &raj);
    firm.clock.advance(3600);
    let generation = run(firm.mfa.generation(&raj)).unwrap();
    run(async {
        let new_phone = Destination::sms("+61 498 765 432").unwrap();
        let stale =
            firm.mfa.add_destination(&raj, new_phone.clone(), Role::Primary, &outbox, &office()).await;
        assert_eq!(stale.unwrap().err(), Some(Refusal::FreshProofRequired), "no fresh proof, no new number");
        // He proves the old number, then moves to the new one.
        firm.mfa.send_sign_in_code(&raj, Role::Primary, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.verify_sign_in_code(&raj, &outbox.last_code(), &office()).await.unwrap().unwrap();
        firm.clock.advance(60);
        firm.mfa.add_destination(&raj, new_phone, Role::Primary, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&raj, &outbox.last_code(), &office()).await.unwrap().unwrap();
    });
    let confirmed = firm
        .events(&raj)
        .into_iter()
        .rfind(|kind| matches!(kind, EventKind::BackupDestinationConfirmed { .. }))
        .unwrap();
    assert_eq!(confirmed.security_notice(), Some(SecurityNotice::FactorAdded), "the user is told");
    assert_eq!(run(firm.mfa.generation(&raj)).unwrap(), generation + 1, "other sessions end");
    let record = run(firm.mfa.record(&raj)).unwrap();
    let primary = record.destination_state().confirmed(Role::Primary).unwrap();
    assert_eq!(primary.destination().address(), "+61498765432");
}

#[test]
fn sending_a_new_code_never_resets_the_failure_count() {
    let firm = firm();
    let raj = user("raj");
    let outbox = sms_only(&firm, &raj);
    run(async {
        firm.mfa.send_sign_in_code(&raj, Role::Primary, &outbox, &office()).await.unwrap().unwrap();
        for _ in 0..3 {
            let wrong = firm.mfa.verify_sign_in_code(&raj, "000000", &office()).await.unwrap();
            assert!(matches!(wrong, Err(Refusal::WrongCode { .. })), "{wrong:?}");
        }
        firm.clock.advance(61);
        firm.mfa.send_sign_in_code(&raj, Role::Primary, &outbox, &office()).await.unwrap().unwrap();
        let fourth = firm.mfa.verify_sign_in_code(&raj, "000000", &office()).await.unwrap();
        assert_eq!(fourth, Err(Refusal::WrongCode { attempts_left: 1 }), "the count goes on across codes");
        let fifth = firm.mfa.verify_sign_in_code(&raj, "000000", &office()).await.unwrap();
        assert!(matches!(fifth, Err(Refusal::LockedOut { .. })), "{fifth:?}");
    });
    assert_eq!(run(firm.mfa.record(&raj)).unwrap().failures().consecutive(), 5);
}
