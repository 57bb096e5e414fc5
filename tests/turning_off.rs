//! Stories of ending up without MFA (R20, R21; seeds 001 and 004): an admin turns a
//! locked-out user's MFA off where the level allows it, or makes them set it up again;
//! an SMS-only user turns it off the same way as everyone else, with a current code and
//! a confirmation; and removing the last factor is not a way around that.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::event::{AuditOutcome, EventKind};
use mfa_kit::policy::{Decision, Level, OrgSettings};
use mfa_kit::{Cleared, Destination, Reason, Refusal, ResetMode, Role, UserId};

/// Locks `who` out with wrong codes from `phone`.
fn lock_out(firm: &Firm, who: &UserId, phone: &Phone) {
    run(async {
        for _ in 0..5 {
            let _refused = firm.mfa.verify_code(who, &phone.wrong_code(), &office()).await.unwrap();
        }
        let refused = firm.mfa.verify_code(who, &phone.code(), &office()).await.unwrap();
        assert!(matches!(refused, Err(Refusal::LockedOut { .. })), "{refused:?}");
    });
}

/// The `reset_by_admin` events of `who`, as (actor, mode).
fn resets(firm: &Firm, who: &UserId) -> Vec<(UserId, ResetMode)> {
    let events = firm.audit.events().into_iter().filter(|e| e.user == *who);
    events
        .filter_map(|e| match e.kind {
            EventKind::ResetByAdmin { mode, .. } => Some((e.actor, mode)),
            _ => None,
        })
        .collect()
}

/// Adds and confirms `destination` as `who`'s primary destination for codes.
fn add_primary(firm: &Firm, who: &UserId, destination: Destination, outbox: &Outbox) {
    run(async {
        firm.mfa.add_destination(who, destination, Role::Primary, outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(who, &outbox.last_code(), &office()).await.unwrap().unwrap();
        assert!(firm.mfa.status(who, &office()).await.unwrap().has_mfa());
    });
}

#[test]
fn an_admin_turns_a_locked_out_users_mfa_off_where_the_level_allows_and_the_user_signs_in_without_it() {
    let firm = firm();
    let (sarah, partner) = (user("sarah"), user("partner"));
    let phone = firm.enroll(&sarah);
    let partner_phone = firm.enroll(&partner);
    lock_out(&firm, &sarah, &phone);
    firm.prove(&partner, &partner_phone);
    run(async {
        let generation = firm.mfa.generation(&sarah).await.unwrap();
        let cleared = firm
            .mfa
            .reset(
                reset_of(&partner, &sarah, "locked out; identity checked by call")
                    .with_mode(ResetMode::TurnOff),
                &permitted(),
                &office(),
            )
            .await
            .unwrap();
        assert_eq!(cleared, Ok(vec![Cleared::Authenticator, Cleared::Lockout]));
        assert!(firm.mfa.generation(&sarah).await.unwrap() > generation, "her other sessions end");

        // "Now, the user can access the system without multi-factor authentication."
        let status = firm.mfa.status(&sarah, &office()).await.unwrap();
        assert!(!status.has_mfa() && status.locked_until.is_none());
        let decision = firm.mfa.sign_in_decision(&sarah, &office()).await.unwrap();
        assert!(matches!(decision, Ok(Decision::Allow { .. })), "{decision:?}");
        assert_eq!(resets(&firm, &sarah), [(partner.clone(), ResetMode::TurnOff)]);
    });
    // "They should then re-enable it themselves."
    let new_phone = firm.enroll(&sarah);
    firm.prove(&sarah, &new_phone);
    assert!(run(firm.mfa.status(&sarah, &office())).unwrap().has_mfa());
}

#[test]
fn turning_mfa_off_by_reset_is_refused_where_mfa_is_mandatory() {
    let firm = firm();
    let (sarah, partner) = (user("sarah"), user("partner"));
    let phone = firm.enroll(&sarah);
    let partner_phone = firm.enroll(&partner);
    lock_out(&firm, &sarah, &phone);
    firm.prove(&partner, &partner_phone);
    // Practitioners must use MFA; the admin's request carries Sarah's user type.
    let settings = OrgSettings::default().with_level("practitioner", Level::Mandatory);
    let for_sarah = office().with_org(Arc::new(settings)).with_user_type("practitioner");
    run(async {
        let refused = firm
            .mfa
            .reset(
                reset_of(&partner, &sarah, "locked out").with_mode(ResetMode::TurnOff),
                &permitted(),
                &for_sarah,
            )
            .await
            .unwrap();
        assert_eq!(refused, Err(Refusal::Forbidden(Reason::LevelMandatory)));
        let status = firm.mfa.status(&sarah, &office()).await.unwrap();
        assert!(status.has_mfa() && status.locked_until.is_some(), "nothing was cleared");
        let refusal = firm.audit.events().into_iter().rev().find(|e| e.user == sarah).unwrap();
        assert!(matches!(refusal.kind, EventKind::ResetRefused { .. }), "{:?}", refusal.kind);
        assert_eq!((refusal.actor, refusal.outcome), (partner.clone(), AuditOutcome::Failure));

        // Requiring her to set it up again is still open to the admin.
        let reset = firm.mfa.reset(reset_of(&partner, &sarah, "locked out"), &permitted(), &for_sarah).await;
        assert!(reset.unwrap().is_ok());
        assert_eq!(resets(&firm, &sarah), [(partner.clone(), ResetMode::RequireEnrollment)]);
    });
}

#[test]
fn a_reset_requiring_re_enrollment_is_audited_with_its_mode() {
    let firm = firm();
    let (sarah, partner) = (user("sarah"), user("partner"));
    let phone = firm.enroll(&sarah);
    let partner_phone = firm.enroll(&partner);
    lock_out(&firm, &sarah, &phone);
    firm.prove(&partner, &partner_phone);
    run(async {
        let reset = firm.mfa.reset(reset_of(&partner, &sarah, "lost phone"), &permitted(), &office()).await;
        assert!(reset.unwrap().is_ok());
        assert_eq!(resets(&firm, &sarah), [(partner.clone(), ResetMode::RequireEnrollment)]);
        let stored = firm.audit.events().into_iter().rev().find(|e| e.user == sarah).unwrap();
        let json = serde_json::to_string(&stored.kind).unwrap();
        assert!(json.contains(r#""mode":"require_enrollment""#), "{json}");
        // Seed 004: she must set MFA up again at her next sign-in, whatever the level.
        assert_eq!(
            firm.mfa.sign_in_decision(&sarah, &office()).await.unwrap(),
            Ok(Decision::RequireEnrollment { reason: Reason::ResetByAdmin })
        );
    });
}

#[test]
fn an_sms_only_user_deactivates_with_a_sent_code_and_a_confirmation() {
    let firm = firm();
    let mia = user("mia");
    let outbox = Outbox::default();
    add_primary(&firm, &mia, Destination::sms("+61412345678").unwrap(), &outbox);
    run(async {
        // No code sent yet: nothing to check against.
        firm.clock.advance(60);
        assert_eq!(
            firm.mfa.deactivate(&mia, "123456", true, &office()).await.unwrap(),
            Err(Refusal::NoCodePending)
        );
        firm.mfa.send_sign_in_code(&mia, Role::Primary, &outbox, &office()).await.unwrap().unwrap();
        let code = outbox.last_code();
        // The confirmation is needed, as for everyone.
        assert_eq!(
            firm.mfa.deactivate(&mia, &code, false, &office()).await.unwrap(),
            Err(Refusal::ConfirmationRequired)
        );
        // A wrong code counts as a wrong sign-in code does.
        let wrong = if code == "000000" { "111111" } else { "000000" };
        assert_eq!(
            firm.mfa.deactivate(&mia, wrong, true, &office()).await.unwrap(),
            Err(Refusal::WrongCode { attempts_left: 4 })
        );
        assert!(firm.mfa.status(&mia, &office()).await.unwrap().has_mfa());

        let generation = firm.mfa.generation(&mia).await.unwrap();
        assert_eq!(firm.mfa.deactivate(&mia, &code, true, &office()).await.unwrap(), Ok(()));
        assert!(!firm.mfa.status(&mia, &office()).await.unwrap().has_mfa());
        assert!(firm.mfa.generation(&mia).await.unwrap() > generation, "her other sessions end");
        assert!(firm.events(&mia).contains(&EventKind::Deactivated));
        // The code was spent with it.
        assert_eq!(
            firm.mfa.deactivate(&mia, &code, true, &office()).await.unwrap(),
            Err(Refusal::NotEnrolled)
        );
    });
}

#[test]
fn a_code_sent_to_the_backup_destination_does_not_turn_mfa_off() {
    let firm = firm();
    let raj = user("raj");
    let outbox = Outbox::default();
    add_primary(&firm, &raj, Destination::email("raj@smith.example").unwrap(), &outbox);
    run(async {
        firm.clock.advance(60);
        let backup = Destination::sms("+61412345678").unwrap();
        firm.mfa.add_destination(&raj, backup, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&raj, &outbox.last_code(), &office()).await.unwrap().unwrap();
        firm.clock.advance(60);
        firm.mfa.send_sign_in_code(&raj, Role::Backup, &outbox, &office()).await.unwrap().unwrap();
        assert_eq!(
            firm.mfa.deactivate(&raj, &outbox.last_code(), true, &office()).await.unwrap(),
            Err(Refusal::NoCodePending)
        );
        assert!(firm.mfa.status(&raj, &office()).await.unwrap().has_mfa());
    });
}

#[test]
fn removing_the_last_factor_is_refused_and_points_to_deactivation() {
    let firm = firm();
    let (raj, tom) = (user("raj"), user("tom"));
    let outbox = Outbox::default();
    add_primary(&firm, &raj, Destination::email("raj@smith.example").unwrap(), &outbox);
    let tom_phone = firm.enroll(&tom);
    firm.prove(&tom, &tom_phone);
    run(async {
        // An e-mail-only user, with a fresh proof.
        let refused = firm.mfa.remove_destination(&raj, Role::Primary, &office()).await.unwrap();
        assert_eq!(refused, Err(Refusal::LastFactor));
        let sentence = Refusal::LastFactor.to_string();
        assert!(sentence.contains("turn it off"), "{sentence}");
        assert_eq!(Refusal::LastFactor.code(), "last_factor");
        assert!(firm.mfa.status(&raj, &office()).await.unwrap().has_mfa());

        // A user whose only factor is an authenticator app.
        let id = firm.mfa.authenticators(&tom).await.unwrap()[0].id.clone();
        let refused = firm.mfa.remove_authenticator(&tom, &id, &office()).await.unwrap();
        assert_eq!(refused, Err(Refusal::LastFactor));
        assert!(firm.mfa.status(&tom, &office()).await.unwrap().has_mfa());

        // A factor that is not the last still goes: Tom's app, once he has a phone number
        // for codes; then the phone number is his last factor.
        let sms = Destination::sms("+61412345679").unwrap();
        firm.mfa.add_destination(&tom, sms, Role::Primary, &outbox, &office()).await.unwrap().unwrap();
        firm.mfa.confirm_destination(&tom, &outbox.last_code(), &office()).await.unwrap().unwrap();
        assert_eq!(firm.mfa.remove_authenticator(&tom, &id, &office()).await.unwrap(), Ok(true));
        assert_eq!(
            firm.mfa.remove_destination(&tom, Role::Primary, &office()).await.unwrap(),
            Err(Refusal::LastFactor)
        );
        assert!(firm.mfa.status(&tom, &office()).await.unwrap().has_mfa());
    });
}

/// R21: "where the user's level allows it, the admin turns the user's MFA off";
/// `OrgSettingsBuilder::allow_self_deactivation` is about users turning their own MFA
/// off. A firm that keeps users from doing it themselves, where MFA is optional for
/// bookkeepers: Sarah cannot turn hers off, but the partner can turn it off for her
/// after she lost her phone; where MFA is mandatory for her type, the partner cannot,
/// and under the ATO preset (which forbids turning it off) neither can.
#[test]
fn an_admin_turns_mfa_off_where_the_level_allows_it_even_if_users_may_not_do_it_themselves() {
    use mfa_kit::policy::{Jurisdiction, Preset};
    let firm = firm();
    let (sarah, tom, kim, partner) = (user("sarah"), user("tom"), user("kim"), user("partner"));
    let phone = firm.enroll(&sarah);
    firm.enroll(&tom);
    firm.enroll(&kim);
    let partner_phone = firm.enroll(&partner);
    let no_self_service = OrgSettings::builder().allow_self_deactivation(false);
    let firm_rules = Arc::new(no_self_service.clone().build().unwrap());
    let for_bookkeeper = office().with_org(firm_rules.clone()).with_user_type("bookkeeper");
    run(async {
        // Sarah herself may not.
        firm.clock.advance(30);
        let code = phone.code();
        let own = firm.mfa.deactivate(&sarah, &code, true, &for_bookkeeper).await.unwrap();
        assert_eq!(own, Err(Refusal::Forbidden(Reason::DeactivationDisabled)));

        // The partner may, for her: her level (upon request) allows going without MFA.
        firm.prove(&partner, &partner_phone);
        let reset = reset_of(&partner, &sarah, "lost phone").with_mode(ResetMode::TurnOff);
        let cleared = firm.mfa.reset(reset, &permitted(), &for_bookkeeper).await.unwrap();
        assert!(cleared.is_ok(), "{cleared:?}");
        assert!(!firm.mfa.status(&sarah, &office()).await.unwrap().has_mfa());
        assert_eq!(resets(&firm, &sarah), [(partner.clone(), ResetMode::TurnOff)]);

        // Not where MFA is mandatory for the user's type.
        let mandatory = no_self_service.clone().level("practitioner", Level::Mandatory).build().unwrap();
        let for_practitioner = office().with_org(Arc::new(mandatory)).with_user_type("practitioner");
        let reset = reset_of(&partner, &tom, "lost phone").with_mode(ResetMode::TurnOff);
        let refused = firm.mfa.reset(reset, &permitted(), &for_practitioner).await.unwrap();
        assert_eq!(refused, Err(Refusal::Forbidden(Reason::LevelMandatory)));

        // Nor under the ATO preset, whose rules keep MFA on.
        let ato = no_self_service.presets(vec![Preset::AtoOperationalSecurity]).build().unwrap();
        let under_ato = office()
            .with_org(Arc::new(ato))
            .with_jurisdiction(Jurisdiction::country("AU"))
            .with_user_type("bookkeeper");
        let reset = reset_of(&partner, &kim, "lost phone").with_mode(ResetMode::TurnOff);
        let refused = firm.mfa.reset(reset, &permitted(), &under_ato).await.unwrap();
        assert!(matches!(refused, Err(Refusal::Forbidden(_))), "{refused:?}");
        assert!(firm.mfa.status(&tom, &office()).await.unwrap().has_mfa());
        assert!(firm.mfa.status(&kim, &office()).await.unwrap().has_mfa());
    });
}
