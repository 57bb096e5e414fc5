//! The security notices (R28) and their "this wasn't me" links, end to end:
//! the service writes the event, the relay hands the notice over, the link is
//! redeemed through the service.

mod common;

use std::sync::Arc;

use common::*;
use mfa_kit::Refusal;
use mfa_kit::event::SecurityNotice;
use mfa_kit::flow::disown::REMEMBERED_LINKS;

/// `flow::disown`: "a used link must never work again within its lifetime". The
/// record remembers the last `REMEMBERED_LINKS` redeemed links and refuses a link
/// older than all of them as used. Sarah gets 33 notices of new recovery codes in a
/// few seconds; she follows the newest link first, then the 32 older ones. The newest
/// link must not work a second time: the record keeps the links of the newest events,
/// not the ones redeemed last.
#[test]
fn a_used_link_is_refused_again_whatever_order_the_links_were_followed_in() {
    let (shop, store) = shop();
    let inbox = Arc::new(Inbox::default());
    let sarah = user("sarah");
    let phone = shop.enroll(&sarah);
    shop.prove(&sarah, &phone);
    for _ in 0..=REMEMBERED_LINKS {
        run(shop.mfa.generate_recovery_codes(&sarah, &office())).unwrap().unwrap();
        shop.clock.advance(1);
    }
    let notices = delivered(&shop, &store, &inbox, SecurityNotice::RecoveryCodesRegenerated);
    assert_eq!(notices.len(), REMEMBERED_LINKS + 1);
    let (newest, older) = notices.split_last().unwrap();

    shop.clock.advance(60);
    run(shop.mfa.disown(&sarah, &link(&shop, newest), &office())).unwrap().unwrap();
    for notice in older {
        run(shop.mfa.disown(&sarah, &link(&shop, notice), &office())).unwrap().unwrap();
    }
    assert_eq!(
        run(shop.mfa.disown(&sarah, &link(&shop, newest), &office())).unwrap().map(|d| d.event_id),
        Err(Refusal::DisownLinkUsed),
        "the newest link, followed first, works a second time"
    );
}

/// The link of an older set of recovery codes, followed after a newer
/// set replaced it, freezes the account but leaves the newer set (the one the user
/// made) alone: only what the notice was about is revoked.
#[test]
fn the_link_of_superseded_recovery_codes_leaves_the_newer_set() {
    let (shop, store) = shop();
    let inbox = Arc::new(Inbox::default());
    let ann = user("ann");
    let phone = shop.enroll(&ann);
    shop.prove(&ann, &phone);
    run(shop.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    shop.clock.advance(60);
    run(shop.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    let notices = delivered(&shop, &store, &inbox, SecurityNotice::RecoveryCodesRegenerated);
    let [older, _newer] = notices.try_into().unwrap();
    let generated = run(shop.mfa.record(&ann)).unwrap().recovery_codes().unwrap().generated_at();
    let disowned = run(shop.mfa.disown(&ann, &link(&shop, &older), &office())).unwrap().unwrap();
    assert!(disowned.revoked.is_empty(), "{disowned:?}");
    let record = run(shop.mfa.record(&ann)).unwrap();
    assert!(record.frozen().is_some());
    assert_eq!(record.recovery_codes().map(|codes| codes.generated_at()), Some(generated));
}

/// Wrong codes that lock the user out give one `LockedOut` notice
/// through the relay, to that user, with the lockout's end; a second relay run does
/// not hand it over again.
#[test]
fn a_lockout_from_wrong_codes_is_relayed_once() {
    let (shop, store) = shop();
    let inbox = Arc::new(Inbox::default());
    let tom = user("tom");
    let phone = shop.enroll(&tom);
    let mut locked = false;
    for _ in 0..20 {
        let outcome = run(shop.mfa.verify_code(&tom, &phone.wrong_code(), &office())).unwrap();
        if matches!(outcome, Err(Refusal::LockedOut { .. })) {
            locked = true;
            break;
        }
    }
    assert!(locked, "wrong codes lock the user out");
    let notices = delivered(&shop, &store, &inbox, SecurityNotice::LockedOut);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].user, tom);
    assert!(matches!(notices[0].event, mfa_kit::event::EventKind::LockoutStarted { .. }));
    assert_eq!(delivered(&shop, &store, &inbox, SecurityNotice::LockedOut).len(), 1, "delivered once");
}
