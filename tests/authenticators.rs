//! Stories of several authenticator apps: a bookkeeper keeps a backup phone in the
//! office safe and a desktop app, each with its own codes, listed and removed one by
//! one.

mod common;

use common::*;
use mfa_kit::event::EventKind;
use mfa_kit::policy::StandardPolicy;
use mfa_kit::record::MAX_AUTHENTICATORS;
use mfa_kit::{Refusal, UserId};

/// Adds an authenticator named `name` for `who` and returns its phone.
fn add(firm: &Firm, who: &UserId, name: &str) -> Phone {
    run(async {
        let start = firm.mfa.add_authenticator(who, name, "sarah@smith.example", &office()).await.unwrap();
        let phone = Phone::scan(&start.unwrap().uri, &firm.clock);
        let first = phone.code();
        firm.clock.advance(30);
        let confirmed = firm.mfa.confirm_enrollment(who, &[&first, &phone.code()], &office()).await.unwrap();
        assert_eq!(confirmed.map(|c| c.replaced), Ok(false), "added, not replaced");
        firm.clock.advance(30);
        phone
    })
}

#[test]
fn a_backup_phone_added_beside_the_first_signs_in_with_its_own_codes() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let backup = add(&firm, &sarah, "  Backup phone in the safe ");
    run(async {
        let listed = firm.mfa.authenticators(&sarah).await.unwrap();
        let names: Vec<&str> = listed.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["Authenticator app", "Backup phone in the safe"]);
        assert_ne!(listed[0].id, listed[1].id);

        // Either phone signs her in.
        assert!(firm.mfa.verify_code(&sarah, &backup.code(), &office()).await.unwrap().is_ok());
        firm.clock.advance(30);
        assert!(firm.mfa.verify_code(&sarah, &phone.code(), &office()).await.unwrap().is_ok());
        let listed = firm.mfa.authenticators(&sarah).await.unwrap();
        assert!(listed.iter().all(|a| a.last_used_at.is_some()), "each has its own last use");
        assert_eq!(firm.mfa.status(&sarah, &office()).await.unwrap().authenticators, 2);
    });
}

#[test]
fn each_authenticator_has_its_own_replay_floor() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    let backup = add(&firm, &sarah, "Backup phone");
    run(async {
        let code = phone.code();
        assert!(firm.mfa.verify_code(&sarah, &code, &office()).await.unwrap().is_ok());
        // The same code again is a replay, whichever authenticator it might match.
        let again = firm.mfa.verify_code(&sarah, &code, &office()).await.unwrap();
        assert!(matches!(again, Err(Refusal::CodeReused { .. })), "{again:?}");
        // The backup phone's code of the same step was never used: it is accepted once.
        let other = backup.code();
        assert_ne!(other, code);
        assert!(firm.mfa.verify_code(&sarah, &other, &office()).await.unwrap().is_ok());
        assert!(firm.mfa.verify_code(&sarah, &other, &office()).await.unwrap().is_err());
    });
}

#[test]
fn a_lost_phone_is_removed_on_its_own_and_its_codes_stop_working() {
    let firm = firm();
    let sarah = user("sarah");
    let lost = firm.enroll(&sarah);
    let backup = add(&firm, &sarah, "Backup phone");
    run(async {
        let lost_id = firm.mfa.authenticators(&sarah).await.unwrap()[0].id.clone();
        // A day later, removing it needs a fresh proof: the backup phone gives one.
        firm.clock.advance(86_400);
        let stale = firm.mfa.remove_authenticator(&sarah, &lost_id, &office()).await.unwrap();
        assert_eq!(stale, Err(Refusal::FreshProofRequired));
        assert!(firm.mfa.verify_code(&sarah, &backup.code(), &office()).await.unwrap().is_ok());
        assert_eq!(firm.mfa.remove_authenticator(&sarah, &lost_id, &office()).await.unwrap(), Ok(true));
        assert_eq!(firm.mfa.remove_authenticator(&sarah, &lost_id, &office()).await.unwrap(), Ok(false));

        let left = firm.mfa.authenticators(&sarah).await.unwrap();
        assert_eq!(left.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["Backup phone"]);
        firm.clock.advance(30);
        let from_lost = firm.mfa.verify_code(&sarah, &lost.code(), &office()).await.unwrap();
        assert!(matches!(from_lost, Err(Refusal::WrongCode { .. })), "{from_lost:?}");
        firm.clock.advance(30);
        assert!(firm.mfa.verify_code(&sarah, &backup.code(), &office()).await.unwrap().is_ok());
    });
    let removed = firm.events(&sarah).into_iter().find_map(|e| match e {
        EventKind::AuthenticatorRemoved { name, .. } => Some(name),
        _ => None,
    });
    assert_eq!(removed.as_deref(), Some("Authenticator app"));
}

#[test]
fn the_last_authenticator_is_not_removed_but_turned_off_with_a_code_and_a_confirmation() {
    let firm = firm_with_policy(StandardPolicy::ato_tax_data());
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    run(async {
        let id = firm.mfa.authenticators(&sarah).await.unwrap()[0].id.clone();
        // Where MFA may not be turned off, removing the last factor says so (rather than
        // pointing to a turning-off that is refused too).
        let refused = firm.mfa.remove_authenticator(&sarah, &id, &office()).await.unwrap();
        assert!(matches!(refused, Err(Refusal::Forbidden(_))), "{refused:?}");
        let refused = firm.mfa.deactivate(&sarah, &phone.code(), true, &office()).await.unwrap();
        assert!(matches!(refused, Err(Refusal::Forbidden(_))), "{refused:?}");
        assert_eq!(firm.mfa.authenticators(&sarah).await.unwrap().len(), 1);
    });
    // Where it may, removing the last one is still refused, and turning MFA off with a
    // current code and the confirmation leaves the user without MFA.
    let firm = firm_with_policy(StandardPolicy::new());
    let phone = firm.enroll(&sarah);
    firm.prove(&sarah, &phone);
    run(async {
        let id = firm.mfa.authenticators(&sarah).await.unwrap()[0].id.clone();
        assert_eq!(
            firm.mfa.remove_authenticator(&sarah, &id, &office()).await.unwrap(),
            Err(Refusal::LastFactor)
        );
        assert!(firm.mfa.status(&sarah, &office()).await.unwrap().has_mfa());
        firm.clock.advance(30);
        assert_eq!(firm.mfa.deactivate(&sarah, &phone.code(), true, &office()).await.unwrap(), Ok(()));
        assert!(!firm.mfa.status(&sarah, &office()).await.unwrap().has_mfa());
    });
}

#[test]
fn setting_up_a_new_phone_in_place_of_the_old_ones_replaces_every_authenticator() {
    let firm = firm();
    let sarah = user("sarah");
    let old = firm.enroll(&sarah);
    let backup = add(&firm, &sarah, "Backup phone");
    firm.prove(&sarah, &backup);
    let new = firm.enroll(&sarah);
    run(async {
        let listed = firm.mfa.authenticators(&sarah).await.unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert!(firm.mfa.verify_code(&sarah, &new.code(), &office()).await.unwrap().is_ok());
        firm.clock.advance(30);
        for gone in [&old, &backup] {
            assert!(firm.mfa.verify_code(&sarah, &gone.code(), &office()).await.unwrap().is_err());
        }
    });
    assert!(firm.events(&sarah).contains(&EventKind::EnrollmentConfirmed { replaced: true }));
}

#[test]
fn reloading_the_add_page_shows_the_same_key_and_a_bad_name_or_one_too_many_is_refused() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    run(async {
        let account = "sarah@smith.example";
        let first =
            firm.mfa.add_authenticator(&sarah, "Desktop app", account, &office()).await.unwrap().unwrap();
        let again =
            firm.mfa.add_authenticator(&sarah, "Desktop app", account, &office()).await.unwrap().unwrap();
        assert_eq!(*first.uri, *again.uri, "a reload shows the same secret");
        // The replacement screen is another enrollment: it does not show this one.
        let replace = firm.mfa.start_enrollment(&sarah, account, &office()).await.unwrap().unwrap();
        assert_ne!(*replace.uri, *first.uri);

        for bad in ["", "   ", "tab\tin name", &"x".repeat(65)] {
            let refused = firm.mfa.add_authenticator(&sarah, bad, account, &office()).await.unwrap();
            assert_eq!(refused.unwrap_err(), Refusal::InvalidName, "{bad:?}");
        }
    });
    // Three enrollments were started this hour; the restart limit would refuse the
    // fourth phone's, so the phones are added an hour later.
    firm.clock.advance(3600);
    firm.prove(&sarah, &phone);
    for n in 1..MAX_AUTHENTICATORS {
        add(&firm, &sarah, &format!("Phone {n}"));
    }
    let refused = run(firm.mfa.add_authenticator(&sarah, "One too many", "sarah@smith.example", &office()));
    assert_eq!(refused.unwrap().unwrap_err(), Refusal::TooManyAuthenticators);
}
