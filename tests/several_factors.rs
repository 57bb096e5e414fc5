//! Managing several factors at their edges (R20's last-factor rule, R26, R27, R32's
//! listing, renaming and removal): each app's own floor and drift, names, removal one
//! by one, the cap, a removed app on a warm cache, resuming at the restart limit.

mod common;

use common::*;
use mfa_kit::event::{EventKind, SecurityNotice};
use mfa_kit::flow::{self};
use mfa_kit::policy::{SignInContext, StandardPolicy};
use mfa_kit::record::{MAX_AUTHENTICATOR_NAME, MAX_AUTHENTICATORS};
use mfa_kit::service::MfaService;
use mfa_kit::store::MemoryStore;
use mfa_kit::{Destination, Method, Refusal, Role, UserId};

#[path = "support/flow_world.rs"]
mod flow_world;

use flow_world::TrustingParty;

fn keyed_firm() -> Firm {
    firm_with(MemoryStore::new(), |builder| builder.relying_party(TrustingParty))
}

/// Adds an authenticator app named `name` beside `who`'s others; returns its phone, a
/// step after the confirmation.
fn add_app(firm: &Firm, who: &UserId, name: &str) -> Phone {
    run(async {
        let start = firm.mfa.add_authenticator(who, name, "acct@smith.example", &office()).await.unwrap();
        let phone = Phone::scan(&start.unwrap().uri, &firm.clock);
        let first = phone.code();
        firm.clock.advance(30);
        let confirmed = firm.mfa.confirm_enrollment(who, &[&first, &phone.code()], &office()).await.unwrap();
        assert_eq!(confirmed.map(|c| c.replaced), Ok(false));
        firm.clock.advance(30);
        phone
    })
}

/// Registers the security key `[id; 32]` named `name` for `who`.
fn add_key(firm: &Firm, who: &UserId, name: &str, id: u8) -> mfa_kit::Outcome<()> {
    run(async {
        let started = firm
            .mfa
            .start_security_key_registration(who, name, "acct@smith.example", "Acct", &office())
            .await
            .unwrap();
        started?;
        firm.mfa.finish_security_key_registration(who, &id.to_string(), &office()).await.unwrap().map(drop)
    })
}

/// Proves the second factor with the key `[id; 32]`, its counter at `counter`.
fn prove_key(firm: &Firm, who: &UserId, id: u8, counter: u32) {
    run(async {
        firm.clock.advance(30);
        firm.mfa.start_security_key(who, &office()).await.unwrap().unwrap();
        let proved = firm.mfa.verify_security_key(who, &format!("{id}:{counter}"), &office()).await.unwrap();
        assert!(proved.is_ok(), "{proved:?}");
    });
}

fn notices(firm: &Firm, who: &UserId) -> Vec<SecurityNotice> {
    firm.events(who).iter().filter_map(EventKind::security_notice).collect()
}

/// `MfaService::authenticators`: security keys first, then apps, each oldest first.
#[test]
fn the_list_shows_keys_first_then_apps_each_oldest_first() {
    let firm = keyed_firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.clock.advance(86_400);
    firm.prove(&ann, &phone);
    add_key(&firm, &ann, "YubiKey", 1).unwrap();
    firm.clock.advance(60);
    firm.prove(&ann, &phone);
    add_key(&firm, &ann, "Spare key", 2).unwrap();
    let listed = run(firm.mfa.authenticators(&ann)).unwrap();
    let order: Vec<(Method, &str)> = listed.iter().map(|a| (a.method, a.name.as_str())).collect();
    assert_eq!(order.len(), 3);
    assert_eq!((order[0], order[1]), ((Method::SecurityKey, "YubiKey"), (Method::SecurityKey, "Spare key")));
    assert_eq!(order[2].0, Method::Totp, "the day-old app after the keys");
}

/// `start_enrollment`: once confirmed, the new app replaces the user's other apps (a new
/// phone); security keys stay.
#[test]
fn a_replacement_app_replaces_the_other_apps_and_keeps_the_keys() {
    let firm = keyed_firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    add_key(&firm, &ann, "YubiKey", 1).unwrap();
    firm.prove(&ann, &phone);
    let _new_phone = firm.enroll(&ann);
    let listed = run(firm.mfa.authenticators(&ann)).unwrap();
    let kinds: Vec<Method> = listed.iter().map(|a| a.method).collect();
    assert_eq!(kinds, [Method::SecurityKey, Method::Totp], "the key stays beside the one new app");
    assert!(
        run(firm.mfa.verify_code(&ann, &phone.code(), &office())).unwrap().is_err(),
        "the old app is gone"
    );
}

// R26 "each with its own replay floor, drift and last use"; flow::authenticator
// verify "in a window that follows that phone's learned drift". Drift learned from one
// app's codes widens that app's window only: the other app's code two steps ahead is
// still refused, while the first app's is accepted.
#[test]
fn drift_is_learned_per_authenticator() {
    let firm = firm();
    let ann = user("ann");
    let mut fast = firm.enroll(&ann);
    let mut other = add_app(&firm, &ann, "Desktop app");
    fast.skew = 30;
    firm.clock.advance(30);
    assert!(run(firm.mfa.verify_code(&ann, &fast.code(), &office())).unwrap().is_ok());
    let record = run(firm.mfa.record(&ann)).unwrap();
    let drifts: Vec<i64> = record.authenticators().iter().map(|a| a.drift()).collect();
    assert_eq!(drifts, [1, 0], "only the app whose code came a step ahead learned a drift");

    // Two steps ahead: inside the fast phone's learned window, outside the other's.
    fast.skew = 60;
    other.skew = 60;
    firm.clock.advance(30);
    let refused = run(firm.mfa.verify_code(&ann, &other.code(), &office())).unwrap();
    assert!(matches!(refused, Err(Refusal::WrongCode { .. })), "{refused:?}");
    firm.clock.advance(30);
    assert!(run(firm.mfa.verify_code(&ann, &fast.code(), &office())).unwrap().is_ok());
}

// R26 "each with its own replay floor". A code accepted from one app a step
// ahead (its floor moves to the next step) does not spend the current step of the
// other app: the other's code of the current step is accepted once.
#[test]
fn a_code_accepted_a_step_ahead_on_one_app_does_not_raise_the_floor_of_another() {
    let firm = firm();
    let ann = user("ann");
    let mut ahead = firm.enroll(&ann);
    let other = add_app(&firm, &ann, "Backup phone");
    ahead.skew = 30;
    firm.clock.advance(30);
    assert!(run(firm.mfa.verify_code(&ann, &ahead.code(), &office())).unwrap().is_ok());
    let code = other.code();
    assert!(run(firm.mfa.verify_code(&ann, &code, &office())).unwrap().is_ok());
    let again = run(firm.mfa.verify_code(&ann, &code, &office())).unwrap();
    assert!(matches!(again, Err(Refusal::CodeReused { .. })), "{again:?}");
    let record = run(firm.mfa.record(&ann)).unwrap();
    let floors: Vec<Option<u64>> = record.authenticators().iter().map(|a| a.last_accepted_step()).collect();
    assert_eq!(floors[0], floors[1].map(|s| s + 1), "each app keeps its own floor: {floors:?}");
}

// flow::authenticator::rename: "Refused for a name that is blank, longer than
// MAX_AUTHENTICATOR_NAME characters or holds a control character"; "Ok(false) if
// there is none with that id"; "Audited as authenticator_renamed; not a change of how
// the account is protected, so no session ends". Apps and keys alike (README:
// "rename ... (apps and keys alike)"), at the length edge, and with another user's id.
#[test]
fn renaming_holds_its_rules_at_the_edges_and_only_for_the_users_own_ids() {
    let firm = keyed_firm();
    let (ann, bob) = (user("ann"), user("bob"));
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    add_key(&firm, &ann, "YubiKey", 1).unwrap();
    firm.enroll(&bob);
    let listed = run(firm.mfa.authenticators(&ann)).unwrap();
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    let longest = "é".repeat(MAX_AUTHENTICATOR_NAME);
    for info in &listed {
        for bad in ["", " \t ", "a\u{7f}b", "line\nbreak", "nul\0", &"x".repeat(MAX_AUTHENTICATOR_NAME + 1)] {
            let refused = run(firm.mfa.rename_authenticator(&ann, &info.id, bad, &office())).unwrap();
            assert_eq!(refused, Err(Refusal::InvalidName), "{bad:?} for {:?}", info.method);
        }
        let padded = format!("  {longest}  ");
        let renamed = run(firm.mfa.rename_authenticator(&ann, &info.id, &padded, &office())).unwrap();
        assert_eq!(renamed, Ok(true), "{} characters, trimmed, fit", MAX_AUTHENTICATOR_NAME);
    }
    let after = run(firm.mfa.authenticators(&ann)).unwrap();
    assert!(after.iter().all(|a| a.name == longest));
    let ids =
        |list: &[mfa_kit::record::AuthenticatorInfo]| list.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&after), ids(&listed), "renaming keeps the ids");
    assert_eq!(run(firm.mfa.generation(&ann)).unwrap(), generation, "no session ends");
    let renamed_events =
        firm.events(&ann).into_iter().filter(|e| matches!(e, EventKind::AuthenticatorRenamed { .. })).count();
    assert_eq!(renamed_events, 2);

    // Bob's app is not Ann's: her rename of its id finds nothing and changes nothing.
    let bobs = run(firm.mfa.authenticators(&bob)).unwrap()[0].clone();
    assert_eq!(run(firm.mfa.rename_authenticator(&ann, &bobs.id, "Mine now", &office())).unwrap(), Ok(false));
    assert_eq!(run(firm.mfa.authenticators(&bob)).unwrap()[0].name, bobs.name);
    // Nor does her removal of it.
    firm.prove(&ann, &phone);
    assert_eq!(run(firm.mfa.remove_authenticator(&ann, &bobs.id, &office())).unwrap(), Ok(false));
    assert_eq!(run(firm.mfa.authenticators(&bob)).unwrap().len(), 1);
}

// R20/R26 "the last factor is never removed one by one"; remove_authenticator:
// "Removing the last factor the organisation counts is refused ... as
// Refusal::LastFactor"; remove_destination: "Removing the last factor follows the
// rules of deactivation". With an app, a key and a primary phone, any two go one by
// one (each audited with its own event and a factor-removed notice), in either order,
// and the third is refused, whichever kind it is.
#[test]
fn apps_keys_and_a_primary_phone_go_one_by_one_until_the_last() {
    #[derive(Clone, Copy, Debug)]
    enum Factor {
        App,
        Key,
        Primary,
    }
    let orders = [
        [Factor::App, Factor::Key, Factor::Primary],
        [Factor::Primary, Factor::App, Factor::Key],
        [Factor::Key, Factor::Primary, Factor::App],
    ];
    for order in orders {
        let firm = keyed_firm();
        let ann = user("ann");
        let outbox = Outbox::default();
        let phone = firm.enroll(&ann);
        firm.prove(&ann, &phone);
        add_key(&firm, &ann, "YubiKey", 1).unwrap();
        run(async {
            firm.mfa
                .add_destination(&ann, phone_number(), Role::Primary, &outbox, &office())
                .await
                .unwrap()
                .unwrap();
            firm.mfa.confirm_destination(&ann, &outbox.last_code(), &office()).await.unwrap().unwrap();
        });
        let ids = run(firm.mfa.authenticators(&ann)).unwrap();
        let id_of = |method| ids.iter().find(|a| a.method == method).unwrap().id.clone();
        let (app_id, key_id) = (id_of(Method::Totp), id_of(Method::SecurityKey));
        let remove = |factor: Factor| {
            run(async {
                match factor {
                    Factor::App => firm.mfa.remove_authenticator(&ann, &app_id, &office()).await.unwrap(),
                    Factor::Key => firm.mfa.remove_authenticator(&ann, &key_id, &office()).await.unwrap(),
                    Factor::Primary => {
                        firm.mfa.remove_destination(&ann, Role::Primary, &office()).await.unwrap()
                    }
                }
            })
        };
        let mut counter = 1;
        for (n, factor) in order.iter().enumerate() {
            // A fresh proof with a factor that is still there.
            match order[2] {
                Factor::Key => {
                    counter += 1;
                    prove_key(&firm, &ann, 1, counter);
                }
                Factor::Primary => run(async {
                    firm.clock.advance(120);
                    firm.mfa
                        .send_sign_in_code(&ann, Role::Primary, &outbox, &office())
                        .await
                        .unwrap()
                        .unwrap();
                    let proved =
                        firm.mfa.verify_sign_in_code(&ann, &outbox.last_code(), &office()).await.unwrap();
                    assert!(proved.is_ok(), "{proved:?}");
                }),
                Factor::App => firm.prove(&ann, &phone),
            }
            let before = notices(&firm, &ann).len();
            let outcome = remove(*factor);
            if n < 2 {
                assert_eq!(outcome, Ok(true), "{order:?}: removing {factor:?}");
                let new = &notices(&firm, &ann)[before..];
                assert_eq!(new, [SecurityNotice::FactorRemoved], "{order:?}: {factor:?}");
            } else {
                assert_eq!(outcome, Err(Refusal::LastFactor), "{order:?}: the last, {factor:?}");
                assert!(run(firm.mfa.status(&ann, &office())).unwrap().has_mfa());
            }
        }
        let events = firm.events(&ann);
        let removed = events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    EventKind::AuthenticatorRemoved { .. }
                        | EventKind::SecurityKeyRemoved { .. }
                        | EventKind::BackupDestinationRemoved { role: Role::Primary }
                )
            })
            .count();
        assert_eq!(removed, 2, "{order:?}: {events:?}");
    }
}

fn phone_number() -> Destination {
    Destination::sms("+61 412 345 678").unwrap()
}

// is_last_factor / remove: "The user's last factor (the only one the
// organisation counts, of apps, keys and the confirmed primary destination: an e-mail
// address under the NIST preset does not count) is not removed". A key beside an
// e-mail address under the NIST preset is the last factor (the every_factor test
// checks the app); the e-mail address itself is no factor there and goes.
#[test]
fn under_the_nist_preset_a_key_beside_an_e_mail_address_is_the_last_factor() {
    use flow_world::{T0, World, new_key, signed};
    use mfa_kit::flow::security_key;
    use mfa_kit::record::UserRecord;
    let hash = mfa_kit::keyed_hash::HashKey::from_bytes(&[9; 32]).unwrap();
    let before = World::new(StandardPolicy::new(), SignInContext::default());
    let mut record = UserRecord::new(UserId::new("kay"));
    let handle = security_key::user_handle(&record).unwrap();
    security_key::start_registration(&mut record, "YubiKey", handle, "state".into(), &before.env(T0))
        .outcome
        .unwrap();
    security_key::finish_registration(&mut record, Ok(new_key(1)), &before.env(T0 + 5))
        .unwrap()
        .outcome
        .unwrap();
    let email = Destination::email("kay@smith.example").unwrap();
    let reserved =
        flow::destination::reserve(&mut record, &hash, Role::Primary, Some(email), &before.env(T0 + 20))
            .unwrap()
            .outcome
            .unwrap();
    let _ = flow::destination::confirm_sent(&mut record, &hash, &reserved);
    let code = reserved.message.code().to_string();
    flow::destination::redeem(
        &mut record,
        &hash,
        &code,
        mfa_kit::Purpose::ConfirmDestination,
        &before.env(T0 + 30),
    )
    .outcome
    .unwrap();

    let nist = World::new(StandardPolicy::nist_aal2(), SignInContext::default());
    let now = T0 + 3600;
    security_key::start_authentication(&mut record, "state".into(), &nist.env(now)).outcome.unwrap();
    security_key::finish_authentication(&mut record, Ok(signed(1, 5)), &nist.env(now + 5)).outcome.unwrap();
    let key_id = record.security_keys()[0].id().to_string();
    let removed = flow::authenticator::remove(&mut record, &key_id, &nist.env(now + 10));
    assert_eq!(removed.outcome, Err(Refusal::LastFactor));
    assert_eq!(record.security_keys().len(), 1);
    let email_gone = flow::destination::remove_destination(&mut record, Role::Primary, &nist.env(now + 20));
    assert_eq!(email_gone.outcome, Ok(true), "an uncounted factor is never the last one");
    assert_eq!(record.security_keys().len(), 1);
}

// MAX_AUTHENTICATORS "The most authenticators one user may have, apps and
// security keys together"; add_authenticator "refused ... beyond MAX_AUTHENTICATORS";
// start_security_key_registration "a free place among MAX_AUTHENTICATORS". Through
// the service: exactly the limit of apps and keys, then neither kind; a removal frees
// a place. Every id differs and stays what it was through the changes.
#[test]
fn exactly_max_authenticators_apps_and_keys_then_neither_and_ids_stay_unique_and_stable() {
    let firm = keyed_firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    add_app(&firm, &ann, "Desktop app");
    let mut key = 0u8;
    while run(firm.mfa.authenticators(&ann)).unwrap().len() < MAX_AUTHENTICATORS {
        firm.prove(&ann, &phone);
        key += 1;
        add_key(&firm, &ann, &format!("Key {key}"), key).unwrap();
    }
    let full = run(firm.mfa.authenticators(&ann)).unwrap();
    let mut ids: Vec<&str> = full.iter().map(|a| a.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), MAX_AUTHENTICATORS, "ids are unique: {full:?}");

    firm.prove(&ann, &phone);
    assert_eq!(add_key(&firm, &ann, "One too many", 99), Err(Refusal::TooManyAuthenticators));
    let app = run(firm.mfa.add_authenticator(&ann, "One too many", "acct@smith.example", &office())).unwrap();
    assert_eq!(app.unwrap_err(), Refusal::TooManyAuthenticators);
    let names = |list: &[mfa_kit::record::AuthenticatorInfo]| {
        list.iter().map(|a| (a.id.clone(), a.name.clone())).collect::<Vec<_>>()
    };
    assert_eq!(names(&run(firm.mfa.authenticators(&ann)).unwrap()), names(&full), "nothing changed");

    // Removing the desktop app frees one place; a key takes it.
    let desktop = full.iter().find(|a| a.name == "Desktop app").unwrap().id.clone();
    assert_eq!(run(firm.mfa.remove_authenticator(&ann, &desktop, &office())).unwrap(), Ok(true));
    assert_eq!(add_key(&firm, &ann, "Spare", 50), Ok(()));
    let after = run(firm.mfa.authenticators(&ann)).unwrap();
    assert_eq!(after.len(), MAX_AUTHENTICATORS);
    for kept in full.iter().filter(|a| a.id != desktop) {
        assert!(after.iter().any(|a| a.id == kept.id && a.name == kept.name), "{kept:?} kept its id");
    }
    assert!(!after.iter().any(|a| a.id == desktop), "a removed id is not reused");
}

// remove_authenticator: a removed app's codes stop working at once, on every
// app server. Two services share a store; the first has the user's secrets opened in
// its cache ("kept between calls while the record still holds the same sealed
// secrets"), the second removes the lost phone: the first refuses the lost phone's
// next code and accepts the one left.
#[test]
fn a_code_of_an_app_removed_on_another_server_is_refused_from_the_first_servers_cache() {
    let store = std::sync::Arc::new(MemoryStore::new());
    let one = firm_with(std::sync::Arc::clone(&store), |b| b);
    let two = MfaService::builder(
        "Smith & Co Accounting",
        std::sync::Arc::clone(&store),
        mfa_kit::danger::PlaintextSealer,
    )
    .clock(one.clock.clone())
    .build();
    let ann = user("ann");
    let lost = one.enroll(&ann);
    let kept = run(async {
        let start = one.mfa.add_authenticator(&ann, "Backup", "ann", &office()).await.unwrap().unwrap();
        let phone = Phone::scan(&start.uri, &one.clock);
        let first = phone.code();
        one.clock.advance(30);
        one.mfa.confirm_enrollment(&ann, &[&first, &phone.code()], &office()).await.unwrap().unwrap();
        one.clock.advance(30);
        phone
    });
    // Server one opens both secrets (and caches them).
    one.prove(&ann, &lost);
    let lost_id = run(one.mfa.authenticators(&ann)).unwrap()[0].id.clone();
    assert_eq!(run(two.remove_authenticator(&ann, &lost_id, &office())).unwrap(), Ok(true));
    one.clock.advance(30);
    let refused = run(one.mfa.verify_code(&ann, &lost.code(), &office())).unwrap();
    assert!(matches!(refused, Err(Refusal::WrongCode { .. })), "{refused:?}");
    one.clock.advance(30);
    assert!(run(one.mfa.verify_code(&ann, &kept.code(), &office())).unwrap().is_ok());
}

// R27 "a page reload shows the same QR code and key rather than a new secret,
// and restarts are limited per hour"; MAX_STARTS_PER_HOUR "a page reload resumes the
// enrollment in progress instead, so only deliberate restarts count". At the limit a
// reload still shows the same key, until the enrollment's expiry: the second before
// it, the same key; at it (`EnrollmentStart::expires_at`, "When the enrollment
// expires"), no longer that key (a new one would be a start: refused at the limit).
#[test]
fn at_the_restart_limit_a_reload_still_shows_the_same_key_until_the_expiry() {
    let firm = firm();
    let raj = user("raj");
    run(async {
        let mut last = firm.mfa.start_enrollment(&raj, "raj", &office()).await.unwrap().unwrap();
        for _ in 1..mfa_kit::flow::enrollment::MAX_STARTS_PER_HOUR {
            firm.clock.advance(5);
            last = firm.mfa.restart_enrollment(&raj, "raj", &office()).await.unwrap().unwrap();
        }
        let limited = firm.mfa.restart_enrollment(&raj, "raj", &office()).await.unwrap();
        assert!(matches!(limited, Err(Refusal::RateLimited { .. })), "{limited:?}");
        firm.clock.set(last.expires_at - 1);
        let reload = firm.mfa.start_enrollment(&raj, "raj", &office()).await.unwrap().unwrap();
        assert_eq!(*reload.secret_grouped, *last.secret_grouped);
        assert_eq!(reload.expires_at, last.expires_at);
        firm.clock.set(last.expires_at);
        let at_expiry = firm.mfa.start_enrollment(&raj, "raj", &office()).await.unwrap();
        assert!(
            matches!(at_expiry, Err(Refusal::RateLimited { .. })),
            "{:?}",
            at_expiry.map(|s| s.expires_at)
        );
    });
}

// README "lost my phone -> MfaService::redeem_recovery_code ... Proven";
// start_enrollment "A user who has MFA needs a fresh proof"; "the old ones stay active
// until then". A user whose only app is lost (a day after the last proof) cannot open
// the replacement screen, a recovery code opens it; the lost app keeps working until
// the new one is confirmed, then not; the change is audited as a replacement with a
// factor-added notice.
#[test]
fn replacing_the_only_app_after_losing_it_takes_a_recovery_code() {
    let firm = firm();
    let ann = user("ann");
    let lost = firm.enroll(&ann);
    firm.prove(&ann, &lost);
    let codes = run(firm.mfa.generate_recovery_codes(&ann, &office())).unwrap().unwrap();
    firm.clock.advance(86_400);
    let stale = run(firm.mfa.start_enrollment(&ann, "ann", &office())).unwrap();
    assert_eq!(stale.unwrap_err(), Refusal::FreshProofRequired);
    let code = codes[0].as_str().to_string();
    assert!(run(firm.mfa.redeem_recovery_code(&ann, &code, &office())).unwrap().is_ok());
    let start = run(firm.mfa.start_enrollment(&ann, "ann", &office())).unwrap().unwrap();
    let new = Phone::scan(&start.uri, &firm.clock);
    // Found again before confirming: still works.
    firm.clock.advance(30);
    assert!(run(firm.mfa.verify_code(&ann, &lost.code(), &office())).unwrap().is_ok());
    let first = new.code();
    firm.clock.advance(30);
    let confirmed =
        run(firm.mfa.confirm_enrollment(&ann, &[&first, &new.code()], &office())).unwrap().unwrap();
    assert!(confirmed.replaced);
    firm.clock.advance(30);
    assert!(run(firm.mfa.verify_code(&ann, &lost.code(), &office())).unwrap().is_err());
    assert!(firm.events(&ann).contains(&EventKind::EnrollmentConfirmed { replaced: true }));
    assert_eq!(notices(&firm, &ann).last(), Some(&SecurityNotice::FactorAdded));
}

/// `remove_authenticator`: audited as `authenticator_removed` for an app and
/// `security_key_removed` for a key.
#[test]
fn removing_a_key_through_remove_authenticator_is_audited_as_a_key_removed() {
    let firm = keyed_firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    add_key(&firm, &ann, "YubiKey", 1).unwrap();
    firm.prove(&ann, &phone);
    let key_id = run(firm.mfa.authenticators(&ann)).unwrap()[0].id.clone();
    assert_eq!(run(firm.mfa.remove_authenticator(&ann, &key_id, &office())).unwrap(), Ok(true));
    let names: Vec<&str> =
        firm.events(&ann).iter().map(EventKind::name).filter(|n| n.ends_with("_removed")).collect();
    assert_eq!(names, ["security_key_removed"]);
}

// R26 "each with its own ... drift"; flow::authenticator::resynchronise
// "Re-learns the drift ... for whichever of the user's authenticators they come
// from". A resynchronisation with one app's two codes moves that app's drift only.
#[test]
fn resynchronising_one_app_leaves_the_others_drift() {
    let firm = firm();
    let ann = user("ann");
    let mut steady = firm.enroll(&ann);
    let mut fast = add_app(&firm, &ann, "Old tablet");
    fast.skew = 150;
    let first = fast.code();
    firm.clock.advance(30);
    let second = fast.code();
    let resynced = run(firm.mfa.resynchronise(&ann, &first, &second, &office())).unwrap();
    assert!(resynced.is_ok(), "{resynced:?}");
    let record = run(firm.mfa.record(&ann)).unwrap();
    let drifts: Vec<i64> = record.authenticators().iter().map(|a| a.drift()).collect();
    assert_eq!(drifts, [0, 5]);
    // The steady phone's window did not move: its code five steps ahead is refused,
    // the tablet's is accepted.
    steady.skew = 150;
    firm.clock.advance(30);
    let refused = run(firm.mfa.verify_code(&ann, &steady.code(), &office())).unwrap();
    assert!(matches!(refused, Err(Refusal::WrongCode { .. })), "{refused:?}");
    firm.clock.advance(30);
    assert!(run(firm.mfa.verify_code(&ann, &fast.code(), &office())).unwrap().is_ok());
}

// R32 "security keys and passkeys ... as named authenticators beside apps ...
// removed one by one"; flow::security_key::finish_authentication: "On success the
// key's counter, backup flags and last use are updated", a counter that goes back is
// refused. Each key keeps its own counter and last use; a removed key's assertion is
// refused at once, even for a ceremony started before the removal.
#[test]
fn each_key_keeps_its_own_counter_and_last_use_and_a_removed_keys_assertion_is_refused() {
    let firm = keyed_firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    add_key(&firm, &ann, "Blue", 1).unwrap();
    firm.prove(&ann, &phone);
    add_key(&firm, &ann, "Red", 2).unwrap();
    prove_key(&firm, &ann, 1, 50);
    // Red's counter is its own: 3 is forward for Red though behind Blue's 50.
    prove_key(&firm, &ann, 2, 3);
    let listed = run(firm.mfa.authenticators(&ann)).unwrap();
    let used: Vec<(&str, Option<u64>)> = listed.iter().map(|a| (a.name.as_str(), a.last_used_at)).collect();
    assert!(used[0].1.is_some() && used[1].1.is_some() && used[0].1 < used[1].1, "{used:?}");

    // A ceremony opened, Red removed meanwhile (with Blue's fresh proof), Red answers.
    prove_key(&firm, &ann, 1, 51);
    let red = listed.iter().find(|a| a.name == "Red").unwrap().id.clone();
    run(async {
        firm.mfa.start_security_key(&ann, &office()).await.unwrap().unwrap();
        assert_eq!(firm.mfa.remove_authenticator(&ann, &red, &office()).await.unwrap(), Ok(true));
        let refused = firm.mfa.verify_security_key(&ann, "2:4", &office()).await.unwrap();
        assert!(refused.is_err(), "a removed key's assertion: {refused:?}");
    });
}

// flow::authenticator::rename: refused "from a session that has ended". A
// session from before a factor was added (R31) renames nothing.
#[test]
fn a_session_ended_by_a_change_renames_nothing() {
    let firm = firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    let generation = run(firm.mfa.generation(&ann)).unwrap();
    let old_session = office().with_session(mfa_kit::policy::SessionFacts::new(generation, START + 60));
    firm.prove(&ann, &phone);
    add_app(&firm, &ann, "Desktop app");
    let id = run(firm.mfa.authenticators(&ann)).unwrap()[0].id.clone();
    let refused = run(firm.mfa.rename_authenticator(&ann, &id, "Hijacked", &old_session)).unwrap();
    assert!(matches!(refused, Err(Refusal::SessionEnded(_))), "{refused:?}");
    assert_eq!(run(firm.mfa.authenticators(&ann)).unwrap()[0].name, "Authenticator app");
}

// R26 "the last factor is never removed one by one". Two requests at once (two
// tabs, two app servers) each remove one of a user's two factors, an app and a key:
// one goes, the other is refused as the last factor; the user keeps MFA.
#[test]
fn two_removals_at_once_never_remove_both_of_the_last_two_factors() {
    for round in 0..10 {
        let firm = keyed_firm();
        let ann = user("ann");
        let phone = firm.enroll(&ann);
        firm.prove(&ann, &phone);
        add_key(&firm, &ann, "YubiKey", 1).unwrap();
        firm.prove(&ann, &phone);
        let ids: Vec<String> =
            run(firm.mfa.authenticators(&ann)).unwrap().into_iter().map(|a| a.id).collect();
        let outcomes = race(2, |i| run(firm.mfa.remove_authenticator(&ann, &ids[i], &office())).unwrap());
        let removed = outcomes.iter().filter(|o| **o == Ok(true)).count();
        assert_eq!(removed, 1, "round {round}: {outcomes:?}");
        assert!(outcomes.contains(&Err(Refusal::LastFactor)), "round {round}: {outcomes:?}");
        assert!(run(firm.mfa.status(&ann, &office())).unwrap().has_mfa());
        assert_eq!(run(firm.mfa.authenticators(&ann)).unwrap().len(), 1);
    }
}

// flow::security_key::start_registration: "Refused for a name that is blank,
// longer than MAX_AUTHENTICATOR_NAME characters or holds a control character ...; a
// refusal is audited as `enrollment_refused`." Through the service, at the edge; no
// ceremony is opened by a refused start, and a 64-character name registers.
#[test]
fn a_security_key_name_is_held_to_the_rules_of_an_apps() {
    let firm = keyed_firm();
    let ann = user("ann");
    let phone = firm.enroll(&ann);
    firm.prove(&ann, &phone);
    for bad in ["", "   ", "bell\u{7}", "tab\tkey", &"k".repeat(MAX_AUTHENTICATOR_NAME + 1)] {
        let before = firm.events(&ann).len();
        let refused =
            run(firm.mfa.start_security_key_registration(&ann, bad, "ann", "Ann", &office())).unwrap();
        assert_eq!(refused.map(drop), Err(Refusal::InvalidName), "{bad:?}");
        let events = firm.events(&ann);
        assert!(
            events[before..].iter().any(|e| matches!(e, EventKind::EnrollmentRefused { .. })),
            "{bad:?}: {:?}",
            &events[before..]
        );
        assert!(run(firm.mfa.record(&ann)).unwrap().ceremony().is_none(), "{bad:?}");
    }
    let longest = format!(" {} ", "k".repeat(MAX_AUTHENTICATOR_NAME));
    assert_eq!(add_key(&firm, &ann, &longest, 1), Ok(()));
    assert_eq!(run(firm.mfa.authenticators(&ann)).unwrap()[0].name, longest.trim());
}
