//! "This wasn't me": Sarah's account gets new recovery codes she did not ask for; the
//! notice reaches her, she follows its link, and the codes are gone, her other sessions
//! end and nothing about her MFA can change until her admin resets it.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::event::{EventKind, SecurityNotice};
use mfa_kit::flow::disown::LINK_LIFETIME;
use mfa_kit::{Cleared, Refusal};

#[test]
fn the_link_in_a_notice_revokes_what_it_was_about_freezes_changes_and_works_once() {
    let (shop, store) = shop();
    let inbox = Arc::new(Inbox::default());
    let sarah = user("sarah");
    let phone = shop.enroll(&sarah);
    shop.prove(&sarah, &phone);
    // Someone in her session makes new recovery codes (and would keep them).
    run(shop.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
    let [notice] =
        delivered(&shop, &store, &inbox, SecurityNotice::RecoveryCodesRegenerated).try_into().unwrap();
    let key = mfa_kit::keyed_hash::HashKey::generate().unwrap();
    let foreign = notice.disown_token(&key);
    let token = link(&shop, &notice);
    assert_eq!(token, link(&shop, &notice), "every delivery carries the same link");

    // A token of another deployment's key, an altered one, and one for another user:
    // nothing changes.
    let generation = run(shop.mfa.generation(&sarah)).unwrap();
    assert_eq!(
        run(shop.mfa.disown(&sarah, foreign.as_str(), &office())).unwrap(),
        Err(Refusal::DisownLinkInvalid)
    );
    let altered = token.replacen('.', "1.", 1);
    assert_eq!(run(shop.mfa.disown(&sarah, &altered, &office())).unwrap(), Err(Refusal::DisownLinkInvalid));
    assert_eq!(
        run(shop.mfa.disown(&user("tom"), &token, &office())).unwrap(),
        Err(Refusal::DisownLinkInvalid)
    );
    assert_eq!(
        run(shop.mfa.disown(&sarah, "not a token", &office())).unwrap(),
        Err(Refusal::DisownLinkInvalid)
    );
    let record = load(&shop, &sarah);
    assert!(record.frozen().is_none() && record.recovery_codes().is_some());
    assert_eq!(record.generation(), generation);

    // Sarah follows the link.
    shop.clock.advance(3600);
    let disowned = run(shop.mfa.disown(&sarah, &token, &office())).unwrap().unwrap();
    assert_eq!(
        (disowned.event_id, disowned.revoked.as_slice()),
        (notice.id, &["recovery_codes".to_string()][..])
    );
    let record = load(&shop, &sarah);
    assert!(record.recovery_codes().is_none(), "the codes someone else holds no longer work");
    assert!(record.frozen().is_some());
    assert!(record.generation() > generation, "every session ends");
    assert!(shop.events(&sarah).iter().any(|e| matches!(e, EventKind::NoticeDisowned { .. })));

    // Once only.
    assert_eq!(run(shop.mfa.disown(&sarah, &token, &office())).unwrap(), Err(Refusal::DisownLinkUsed));

    // Frozen: no change to her MFA, no host action behind step-up; she still signs in.
    shop.prove(&sarah, &phone);
    let context = office();
    assert_eq!(run(shop.mfa.generate_recovery_codes(&sarah, &context)).unwrap(), Err(Refusal::AccountFrozen));
    assert_eq!(
        run(shop.mfa.add_authenticator(&sarah, "Spare", "sarah", &context)).unwrap().err(),
        Some(Refusal::AccountFrozen)
    );
    assert_eq!(
        run(shop.mfa.deactivate(&sarah, &phone.code(), true, &context)).unwrap(),
        Err(Refusal::AccountFrozen)
    );
    let check = run(shop.mfa.step_up(&sarah, mfa_kit::SensitiveAction::Host, &context)).unwrap();
    assert_eq!(check.refusal(), Some(Refusal::AccountFrozen));

    // Her admin resets her MFA after talking to her: the freeze is lifted.
    let admin = user("admin");
    let admin_phone = shop.enroll(&admin);
    shop.prove(&admin, &admin_phone);
    let cleared = run(shop.mfa.reset(
        reset_of(&admin, &sarah, "she reported codes she did not make"),
        &permitted(),
        &office(),
    ))
    .unwrap()
    .unwrap();
    assert!(cleared.contains(&Cleared::Freeze));
    assert!(load(&shop, &sarah).frozen().is_none());
}

#[test]
fn a_link_past_its_lifetime_changes_nothing() {
    let (shop, store) = shop();
    let inbox = Arc::new(Inbox::default());
    let ann = user("ann");
    let phone = shop.enroll(&ann);
    let [notice] = delivered(&shop, &store, &inbox, SecurityNotice::FactorAdded).try_into().unwrap();
    shop.clock.advance(LINK_LIFETIME + 60);
    shop.prove(&ann, &phone);
    let token = link(&shop, &notice);
    assert_eq!(run(shop.mfa.disown(&ann, &token, &office())).unwrap(), Err(Refusal::DisownLinkExpired));
    let record = load(&shop, &ann);
    assert!(record.frozen().is_none() && record.authenticators().len() == 1);
}

#[test]
fn the_link_of_a_new_authenticator_removes_that_authenticator_and_keeps_the_old_one() {
    let (shop, store) = shop();
    let inbox = Arc::new(Inbox::default());
    let kim = user("kim");
    let phone = shop.enroll(&kim);
    shop.clock.advance(60);
    shop.prove(&kim, &phone);
    // An "Attacker phone" added beside hers.
    let start = run(shop.mfa.add_authenticator(&kim, "Attacker phone", "kim", &office())).unwrap().unwrap();
    let attacker = Phone::scan(&start.uri, &shop.clock);
    let first = attacker.code();
    shop.clock.advance(30);
    run(shop.mfa.confirm_enrollment(&kim, &[&first, &attacker.code()], &office())).unwrap().unwrap();
    assert_eq!(load(&shop, &kim).authenticators().len(), 2);
    let notices = delivered(&shop, &store, &inbox, SecurityNotice::FactorAdded);
    let notice = notices.last().unwrap();
    let disowned = run(shop.mfa.disown(&kim, &link(&shop, notice), &office())).unwrap().unwrap();
    let record = load(&shop, &kim);
    assert_eq!(record.authenticators().len(), 1);
    assert_eq!(record.authenticators()[0].name(), "Authenticator app", "her own app stays");
    assert_eq!(disowned.revoked.len(), 1);
}

/// The token the deployment's relay would put in the notice's link.
fn load(shop: &Shop, who: &mfa_kit::UserId) -> mfa_kit::record::UserRecord {
    run(shop.mfa.record(who)).unwrap()
}
