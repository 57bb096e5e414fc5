//! Rules that hold for every kind of factor (apps, security keys, phone numbers and
//! e-mail addresses) and under the organisation's own choice of factors: the
//! allowlist, the freeze, the lockout, the last factor, the clock's rule for time, the
//! audit trail and the notices. Each test quotes the promise it checks; a review found
//! each of them broken for one kind of factor.

mod common;

use mfa_kit::event::EventKind;
use mfa_kit::flow::security_key::{self};
use mfa_kit::flow::step_up::{self, StepUp};
use mfa_kit::flow::{self};
use mfa_kit::otp::{Secret, Totp};
use mfa_kit::policy::{SignInContext, StandardPolicy};
use mfa_kit::record::UserRecord;
use mfa_kit::{Method, SensitiveAction, UserId};

#[path = "support/flow_world.rs"]
mod flow_world;

use flow_world::{T0, World, add_app, new_key, signed, with_app};

fn register(record: &mut UserRecord, world: &World, id: u8, now: u64) {
    let handle = security_key::user_handle(record).unwrap();
    let started =
        security_key::start_registration(record, "YubiKey", handle, "state".into(), &world.env(now));
    started.outcome.unwrap();
    let finished = security_key::finish_registration(record, Ok(new_key(id)), &world.env(now + 5)).unwrap();
    finished.outcome.unwrap();
}

/// record/mod.rs "# Time": a window written by a clock that ran ahead "is voided, not
/// merely refused: every transition with a reading first ... forgets such proof
/// times", "So a window written ahead never becomes valid when real time reaches its
/// start, once any reading before that has been shown to the record."
///
/// A security-key proof made under a clock that ran ahead is voided by the next
/// transition with a right reading, as any other proof is; when real time reaches it,
/// it does not make a step-up fresh.
#[test]
fn a_security_key_proof_written_by_a_clock_that_ran_ahead_is_voided_like_any_other_proof() {
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let (mut record, _phone) = with_app(&world, "tom");
    register(&mut record, &world, 1, T0 + 60);

    // The server's clock jumps a day ahead for one request: a key proof is written then.
    let ahead = T0 + 86_400;
    security_key::start_authentication(&mut record, "state".into(), &world.env(ahead)).outcome.unwrap();
    let proof = security_key::finish_authentication(&mut record, Ok(signed(1, 5)), &world.env(ahead + 1));
    assert!(proof.outcome.is_ok(), "{:?}", proof.outcome);

    // The clock is right again; a transition with a right reading settles the record.
    let right = T0 + 600;
    assert!(
        flow::clock::needs_settling(&record, &world.env(right)),
        "the future-dated security-key proof is a window the right reading exposes"
    );
    let settled = flow::clock::settle(&mut record, &world.env(right));
    assert!(
        settled.events.iter().any(|e| matches!(e, EventKind::FutureDatedVoided { .. })),
        "voiding audited: {:?}",
        settled.events
    );
    assert_eq!(record.last_proved(Method::SecurityKey), None, "the future-dated proof time is forgotten");

    // Real time reaches the proof: it must not make a sensitive action fresh.
    let answer = step_up::check(&record, SensitiveAction::Host, &world.env(ahead + 2));
    assert!(!matches!(answer, StepUp::Proceed { .. }), "{answer:?}");
}

/// Adds and confirms `destination` as the user's destination of `role` at `now`.
fn add_destination(
    record: &mut UserRecord,
    world: &World,
    key: &mfa_kit::keyed_hash::HashKey,
    role: mfa_kit::Role,
    destination: mfa_kit::Destination,
    now: u64,
) {
    let reserved = flow::destination::reserve(record, key, role, Some(destination), &world.env(now)).unwrap();
    let reservation = reserved.outcome.expect("reserved");
    let _ = flow::destination::confirm_sent(record, key, &reservation);
    let code = reservation.message.code().to_string();
    let confirmed = flow::destination::redeem(
        record,
        key,
        &code,
        mfa_kit::Purpose::ConfirmDestination,
        &world.env(now + 10),
    );
    confirmed.outcome.expect("confirmed");
}

/// R20: "This is the one way to end up without MFA, for every kind of user ...;
/// removing the last factor is refused." requirements.md §3.1.3 / NIST preset: "under
/// the NIST preset e-mailed codes are no factor (decision, step-up, "has MFA", status
/// list)".
///
/// Under the NIST preset, a user whose factors are an authenticator app and an e-mail
/// address has one factor. Removing the app would leave no factor the organisation
/// counts: it is turning MFA off, refused as a removal.
#[test]
fn under_the_nist_preset_removing_the_app_of_a_user_whose_other_factor_is_e_mail_is_refused() {
    let key = mfa_kit::keyed_hash::HashKey::from_bytes(&[9; 32]).unwrap();
    let before = World::new(StandardPolicy::new(), SignInContext::default());
    let (mut record, phone) = with_app(&before, "ann");
    // The e-mail address was added while the firm still allowed e-mailed codes.
    let email = mfa_kit::Destination::email("ann@smith.example").unwrap();
    add_destination(&mut record, &before, &key, mfa_kit::Role::Primary, email, T0 + 60);

    // The firm moves to the NIST preset: e-mail is no factor any more.
    let nist = World::new(StandardPolicy::nist_aal2(), SignInContext::default());
    let now = T0 + 3600;
    let code = phone.generate(now).unwrap().to_string();
    let proof = flow::authenticator::verify(&mut record, &[&phone], &code, &nist.env(now)).unwrap();
    assert!(proof.outcome.is_ok(), "{:?}", proof.outcome);
    assert!(record.has_mfa_allowing(|m| m != Method::Email));

    let id = record.authenticators()[0].id().to_string();
    let removed = flow::authenticator::remove(&mut record, &id, &nist.env(now + 10));
    assert!(
        matches!(removed.outcome, Err(mfa_kit::Refusal::LastFactor | mfa_kit::Refusal::Forbidden(_))),
        "removing the only factor the organisation counts must be refused, got {:?}; has MFA now: {}",
        removed.outcome,
        record.has_mfa_allowing(|m| m != Method::Email),
    );
}

/// R20/R26: only the *last* factor is kept from removal ("removing the last factor is
/// refused"; R32: security keys are "named authenticators beside apps"). A user whose
/// factors are a security key and a primary phone number may remove the phone: the key
/// remains.
#[test]
fn a_user_with_a_security_key_may_remove_the_primary_phone() {
    let key = mfa_kit::keyed_hash::HashKey::from_bytes(&[9; 32]).unwrap();
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let mut record = UserRecord::new(UserId::new("bea"));
    let phone = mfa_kit::Destination::sms("+61 412 345 678").unwrap();
    add_destination(&mut record, &world, &key, mfa_kit::Role::Primary, phone, T0);
    // The SMS code just confirmed is a fresh proof: a key may be added.
    register(&mut record, &world, 7, T0 + 20);
    assert_eq!(record.security_keys().len(), 1);
    assert!(record.authenticators().is_empty());

    // A fresh proof with the key, then remove the phone.
    security_key::start_authentication(&mut record, "state".into(), &world.env(T0 + 100)).outcome.unwrap();
    let proof = security_key::finish_authentication(&mut record, Ok(signed(7, 5)), &world.env(T0 + 101));
    assert!(proof.outcome.is_ok(), "{:?}", proof.outcome);
    let removed =
        flow::destination::remove_destination(&mut record, mfa_kit::Role::Primary, &world.env(T0 + 110));
    assert_eq!(removed.outcome, Ok(true), "the security key remains a factor");
}

/// NIST preset (policy/settings.rs): "TOTP periods of at most 2 minutes for new
/// authenticators (§3.1.4.1)"; `Policy::max_totp_period`: "The longest TOTP period new
/// authenticators may have". An imported authenticator (R29) is a new authenticator:
/// one with a 5-minute period is refused under the preset.
#[test]
fn under_the_nist_preset_an_imported_key_with_a_five_minute_period_is_refused() {
    let firm = common::firm_with_policy(StandardPolicy::nist_aal2());
    let ann = common::user("ann");
    let secret = Secret::generate().unwrap();
    let uri =
        format!("otpauth://totp/Acme:ann?secret={}&issuer=Acme&period=300", secret.to_base32().as_str());
    let imported = common::run(firm.mfa.import_authenticator(&ann, &uri, &common::office()));
    let record = common::run(firm.mfa.record(&ann)).unwrap();
    let periods: Vec<u64> = record.authenticators().iter().map(|a| a.params().period()).collect();
    assert!(
        !matches!(imported, Ok(Ok(()))) && periods.is_empty(),
        "a 300-second authenticator was installed under the NIST preset: {imported:?}, periods {periods:?}"
    );
}

/// R23: "A status list for admins: who has MFA, which methods, since when, last used".
/// A user whose MFA is a security key (or a phone number) has MFA since it was set up.
#[test]
fn the_status_row_of_a_user_with_mfa_says_since_when() {
    let key = mfa_kit::keyed_hash::HashKey::from_bytes(&[9; 32]).unwrap();
    let world = World::new(StandardPolicy::new(), SignInContext::default());

    let mut with_key = UserRecord::new(UserId::new("kim"));
    register(&mut with_key, &world, 3, T0);
    let row = mfa_kit::flow::oversight::UserStatus::under(&with_key, &world.env(T0 + 60));
    assert!(row.mfa);
    assert_eq!(row.enrolled_since, Some(T0 + 5), "security key user: {row:?}");

    let mut with_phone = UserRecord::new(UserId::new("lou"));
    let phone = mfa_kit::Destination::sms("+61 412 345 678").unwrap();
    add_destination(&mut with_phone, &world, &key, mfa_kit::Role::Primary, phone, T0);
    let row = mfa_kit::flow::oversight::UserStatus::under(&with_phone, &world.env(T0 + 60));
    assert!(row.mfa);
    assert!(row.enrolled_since.is_some(), "SMS user: {row:?}");
}

/// flow/disown.rs: redeeming a notice's link "freezes the account's MFA changes: every
/// change of how the account is protected (a factor added, replaced or removed, ...) is
/// refused with `Refusal::AccountFrozen` until an admin resets the user's MFA".
///
/// A phone number whose confirmation code was reserved before the freeze is not
/// confirmed after it (here by a host without sessions, where nothing else stops the
/// request).
#[test]
fn a_destination_cannot_be_confirmed_while_the_account_is_frozen() {
    let key = mfa_kit::keyed_hash::HashKey::from_bytes(&[9; 32]).unwrap();
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let (mut record, _phone) = with_app(&world, "eve");

    // Someone with a fresh proof starts adding a backup phone.
    let theirs = mfa_kit::Destination::sms("+61 499 999 999").unwrap();
    let reserved = flow::destination::reserve(
        &mut record,
        &key,
        mfa_kit::Role::Backup,
        Some(theirs),
        &world.env(T0 + 60),
    )
    .unwrap();
    let reservation = reserved.outcome.expect("reserved");
    let _ = flow::destination::confirm_sent(&mut record, &key, &reservation);

    // The user follows a notice's "this wasn't me" link: the account is frozen.
    let notice = EventKind::LockoutStarted { until: T0 + 400 };
    let token = flow::disown::token(&key, record.user(), 41, T0 + 50, &notice);
    let disowned = flow::disown::redeem(&mut record, &key, token.as_str(), &world.env(T0 + 70));
    assert!(disowned.outcome.is_ok(), "{:?}", disowned.outcome);
    assert!(record.frozen().is_some());

    // The code reserved before the freeze is typed.
    let code = reservation.message.code().to_string();
    let confirmed = flow::destination::redeem(
        &mut record,
        &key,
        &code,
        mfa_kit::Purpose::ConfirmDestination,
        &world.env(T0 + 80),
    );
    assert_eq!(
        confirmed.outcome.as_ref().err(),
        Some(&mfa_kit::Refusal::AccountFrozen),
        "a factor was added to a frozen account: {:?}, backup now {:?}",
        confirmed.outcome,
        record.destination_state().confirmed(mfa_kit::Role::Backup).map(|d| d.destination().masked()),
    );
}

fn from(address: &str, settings: &std::sync::Arc<mfa_kit::policy::OrgSettings>) -> SignInContext {
    SignInContext::new(mfa_kit::RequestContext::from_address(address.parse().unwrap()))
        .with_org(settings.clone())
}

/// Requests from the office (203.0.113.0/24, the organisation's allowlist) and from
/// elsewhere.
fn office_and_elsewhere() -> (World, World) {
    use mfa_kit::policy::{IpNetwork, OrgSettings};
    let office_net = IpNetwork::new("203.0.113.0".parse().unwrap(), 24).unwrap();
    let settings =
        std::sync::Arc::new(OrgSettings::builder().allowed_networks(vec![office_net]).build().unwrap());
    let office = World::new(StandardPolicy::new(), from("203.0.113.7", &settings));
    let elsewhere = World::new(StandardPolicy::new(), from("198.51.100.9", &settings));
    (office, elsewhere)
}

/// R14 and flow/draft.rs `refuse_address`: "Refuses setting up or changing a factor from
/// an address the organisation does not allow (the allowlist covers set-up, not only
/// proofs)". Confirming a new phone number from outside the allowlist is refused, as
/// confirming an enrollment is.
#[test]
fn a_new_phone_is_not_confirmed_from_an_address_off_the_allowlist() {
    let key = mfa_kit::keyed_hash::HashKey::from_bytes(&[9; 32]).unwrap();
    let (office, elsewhere) = office_and_elsewhere();

    let mut record = UserRecord::new(UserId::new("ida"));
    let phone = mfa_kit::Destination::sms("+61 412 345 678").unwrap();
    let reserved =
        flow::destination::reserve(&mut record, &key, mfa_kit::Role::Primary, Some(phone), &office.env(T0))
            .unwrap();
    let reservation = reserved.outcome.expect("reserved from the office");
    let _ = flow::destination::confirm_sent(&mut record, &key, &reservation);

    let code = reservation.message.code().to_string();
    let confirmed = flow::destination::redeem(
        &mut record,
        &key,
        &code,
        mfa_kit::Purpose::ConfirmDestination,
        &elsewhere.env(T0 + 10),
    );
    assert_eq!(
        confirmed.outcome.as_ref().err(),
        Some(&mfa_kit::Refusal::AddressNotAllowed),
        "confirmed from off the allowlist: {:?}",
        confirmed.outcome
    );
}

/// DESIGN "audit": the trail "never misses a committed change"; R24 audit events for
/// every change. Beyond `MAX_DEVICES` the oldest device stops working: the trail says
/// it was revoked.
#[test]
fn a_remembered_device_dropped_beyond_the_cap_is_audited_as_revoked() {
    let key = mfa_kit::keyed_hash::HashKey::from_bytes(&[9; 32]).unwrap();
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let (mut record, _phone) = with_app(&world, "una");
    let mut first_id = None;
    let mut last_events = Vec::new();
    for i in 0..=mfa_kit::record::MAX_DEVICES as u64 {
        let step =
            flow::device::remember(&mut record, &key, "laptop", 86_400, &world.env(T0 + 40 + i)).unwrap();
        let remembered = step.outcome.expect("remembered");
        first_id.get_or_insert(remembered.info.id.clone());
        last_events = step.events.to_vec();
    }
    let first_id = first_id.unwrap();
    let listed = flow::device::list(&record, T0 + 100);
    assert!(listed.iter().all(|d| d.id != first_id), "the oldest device was dropped");
    let audited = last_events
        .iter()
        .any(|e| matches!(e, EventKind::DevicesRevoked { device_ids, .. } if device_ids.contains(&first_id)));
    assert!(audited, "the dropped device is not in the trail: {last_events:?}");
}

/// R28: "the user is told at once of a factor added or removed". A phone number that
/// was never confirmed is no factor (`UserRecord::has_mfa`, "A destination counts as a
/// method only once confirmed"): when the SMS gateway fails while adding it, the
/// number is taken back (`backup_destination_withdrawn`) and the user is not told a
/// factor was removed from their account.
#[test]
fn a_failed_send_to_a_new_phone_does_not_tell_the_user_a_factor_was_removed() {
    let firm = common::firm();
    let ann = common::user("ann");
    let _phone = firm.enroll(&ann);
    let outbox = common::Outbox::default();
    outbox.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let number = mfa_kit::Destination::sms("+61 412 345 678").unwrap();
    let added = common::run(firm.mfa.add_destination(
        &ann,
        number,
        mfa_kit::Role::Backup,
        &outbox,
        &common::office(),
    ));
    assert!(matches!(added, Err(mfa_kit::service::Error::Sender(_))), "{added:?}");
    let notices: Vec<_> =
        firm.events(&ann).into_iter().filter_map(|e| e.security_notice().map(|n| (n, e))).collect();
    assert!(
        !notices.iter().any(|(n, _)| *n == mfa_kit::event::SecurityNotice::FactorRemoved),
        "a factor-removed notice for a phone that never was a factor: {notices:?}"
    );
}

/// `UserRecord::authenticator_count`: "How many authenticators the user has, apps and
/// keys together (at most `MAX_AUTHENTICATORS`)"; `flow::enrollment::add`: refused "when
/// the user has `MAX_AUTHENTICATORS` already": apps and keys count together.
#[test]
fn apps_and_keys_together_stay_within_max_authenticators() {
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let (mut record, _phone) = with_app(&world, "max");
    register(&mut record, &world, 1, T0 + 60);
    let mut now = T0 + 180;
    for i in 0..3 {
        add_app(&mut record, &world, &format!("app {i}"), now).expect("within the limit");
        now += 90;
    }
    assert_eq!(record.authenticator_count(), mfa_kit::record::MAX_AUTHENTICATORS);
    let sixth = add_app(&mut record, &world, "one too many", now);
    assert!(
        record.authenticator_count() <= mfa_kit::record::MAX_AUTHENTICATORS,
        "{} authenticators ({} apps, {} keys); adding the sixth: {sixth:?}",
        record.authenticator_count(),
        record.authenticators().len(),
        record.security_keys().len(),
    );
}

/// `record::RefusalTally`: refused attempts beyond the interval's share "are counted
/// here and audited as one `RefusalsSummarised` event with the next audited event of
/// the user after the interval (or the next success)". After the interval, a wrong
/// code is audited, and the summary comes with it.
#[test]
fn the_refusal_summary_comes_with_the_next_audited_event_after_the_interval() {
    use mfa_kit::record::RefusalTally;
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let (mut record, phone) = with_app(&world, "ray");
    let t = T0 + 1_000;
    for _ in 0..RefusalTally::LOGGED_PER_INTERVAL + 3 {
        let step = flow::authenticator::verify(&mut record, &[&phone], "not a code", &world.env(t)).unwrap();
        assert_eq!(step.outcome, Err(mfa_kit::Refusal::Malformed));
    }
    assert_eq!(record.refusal_tally().unlogged(), 3);

    // After the interval: a wrong code, which is audited.
    let later = t + RefusalTally::INTERVAL + 60;
    let wrong = (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| {
            (-3i64..=3)
                .all(|k| phone.generate(later.checked_add_signed(k * 30).unwrap()).unwrap().to_string() != *c)
        })
        .unwrap();
    let step = flow::authenticator::verify(&mut record, &[&phone], &wrong, &world.env(later)).unwrap();
    assert!(matches!(step.outcome, Err(mfa_kit::Refusal::WrongCode { .. })), "{:?}", step.outcome);
    assert!(
        step.events.iter().any(|e| matches!(e, EventKind::RefusalsSummarised { refused: 3, .. })),
        "the audited wrong code came without the summary of 3 refused attempts: {:?}",
        step.events
    );
}

/// requirements.md, NIST SP 800-63B-4 §3.1.3: "under the NIST preset e-mailed codes are
/// no factor (decision, step-up, "has MFA", status list)"; `RecordQuery::without_mfa`:
/// "the red crosses of the status list". Under an organisation's NIST preset a user
/// whose only factor is an e-mail address has no MFA (their row says so), and the red
/// crosses page lists them.
#[test]
fn under_the_nist_preset_an_e_mail_only_user_is_among_the_red_crosses() {
    use mfa_kit::policy::{OrgSettings, Preset};
    use mfa_kit::store::RecordQuery;
    let firm = common::firm();
    let ann = common::user("ann");
    let here = common::office().in_org("acme");
    let outbox = common::Outbox::default();
    let email = mfa_kit::Destination::email("ann@smith.example").unwrap();
    let sent = common::run(firm.mfa.add_destination(&ann, email, mfa_kit::Role::Primary, &outbox, &here));
    assert!(matches!(sent, Ok(Ok(_))), "{sent:?}");
    let confirmed = common::run(firm.mfa.confirm_destination(&ann, &outbox.last_code(), &here));
    assert!(matches!(confirmed, Ok(Ok(_))), "{confirmed:?}");

    // The firm now runs under the NIST preset.
    let nist = std::sync::Arc::new(OrgSettings::builder().presets(vec![Preset::NistAal2]).build().unwrap());
    let admin = common::office().in_org("acme").with_org(nist);
    let row = common::run(firm.mfa.status(&ann, &admin)).unwrap();
    assert!(!row.mfa, "the row says no MFA under the preset");
    let page =
        common::run(firm.mfa.status_page(&RecordQuery::org("acme", 50).without_mfa(), &admin)).unwrap();
    assert!(
        page.rows.iter().any(|r| r.user == ann),
        "the red crosses leave out a user without MFA: {:?}",
        page.rows
    );
}

/// R14 and flow/draft.rs `refuse_address`: "Refuses setting up or changing a factor from
/// an address the organisation does not allow (the allowlist covers set-up, not only
/// proofs)". Removing an authenticator from outside the allowlist is refused, as adding
/// one is.
#[test]
fn an_app_is_not_removed_from_an_address_off_the_allowlist() {
    let (office, elsewhere) = office_and_elsewhere();

    // Two apps, enrolled and proved at the office.
    let (mut record, _phone) = with_app(&office, "joe");
    add_app(&mut record, &office, "desk", T0 + 120).expect("second app");
    let id = record.authenticators()[0].id().to_string();
    let removed = flow::authenticator::remove(&mut record, &id, &elsewhere.env(T0 + 130));
    assert_eq!(
        removed.outcome,
        Err(mfa_kit::Refusal::AddressNotAllowed),
        "an app removed from off the allowlist"
    );
}

/// As above, for turning MFA off: a user whose factors are security keys (so
/// `deactivate` asks for no code, only the step-up) does not turn MFA off from outside
/// the allowlist.
#[test]
fn mfa_is_not_turned_off_by_a_key_user_from_an_address_off_the_allowlist() {
    let (office, elsewhere) = office_and_elsewhere();
    // A user whose factors are two security keys, proved at the office.
    let mut keys = UserRecord::new(UserId::new("kay"));
    register(&mut keys, &office, 1, T0);
    register(&mut keys, &office, 2, T0 + 20);
    let off =
        flow::authenticator::deactivate::<Totp>(&mut keys, &[], None, "", true, &elsewhere.env(T0 + 40))
            .unwrap();
    assert_eq!(
        off.outcome,
        Err(mfa_kit::Refusal::AddressNotAllowed),
        "MFA turned off from off the allowlist"
    );
}

/// flow/authenticator.rs `deactivate` is refused for every other kind of user while
/// locked out or disabled (its code is checked as a proof is, lock first); README:
/// "a lockout ... refuse". A user whose factors are security keys does not turn MFA
/// off while locked out either.
#[test]
fn a_key_user_locked_out_cannot_turn_mfa_off() {
    let world = World::new(StandardPolicy::new(), SignInContext::default());
    let mut record = UserRecord::new(UserId::new("kay"));
    register(&mut record, &world, 1, T0);
    register(&mut record, &world, 2, T0 + 20);
    // Someone else fails with unknown keys until the account locks.
    let mut now = T0 + 40;
    loop {
        security_key::start_authentication(&mut record, "s".into(), &world.env(now)).outcome.unwrap();
        let step = security_key::finish_authentication(&mut record, Ok(signed(9, 1)), &world.env(now + 1));
        now += 2;
        if matches!(step.outcome, Err(mfa_kit::Refusal::LockedOut { .. })) {
            break;
        }
    }
    assert!(record.failures().locked_until().is_some_and(|until| until > now));
    let off =
        flow::authenticator::deactivate::<Totp>(&mut record, &[], None, "", true, &world.env(now)).unwrap();
    assert!(
        matches!(off.outcome, Err(mfa_kit::Refusal::LockedOut { .. })),
        "MFA turned off during a lockout: {:?}",
        off.outcome
    );
}

/// R21: after an admin's reset "the user must enroll again"; `ResetMode::RequireEnrollment`:
/// "the user must enroll again at the next sign-in, whatever the level". R30: an
/// organisation decides which methods are factors (`allow_security_keys`: "Whether
/// security keys and passkeys (WebAuthn) may be used as a factor").
///
/// In an organisation that does not allow security keys, registering one is refused,
/// so it cannot end the reset's required enrollment and let the user, who has no factor
/// the organisation counts, in without MFA.
#[test]
fn a_security_key_the_organisation_does_not_allow_does_not_end_a_required_enrollment() {
    use mfa_kit::policy::{Decision, OrgSettings};
    let settings = std::sync::Arc::new(OrgSettings::builder().allow_security_keys(false).build().unwrap());
    let world = World::new(StandardPolicy::new(), SignInContext::default().with_org(settings));
    let (admin, _) = with_app(&world, "partner");
    let (mut record, _) = with_app(&world, "sam");

    let reset = flow::oversight::reset(
        &mut record,
        &admin,
        "lost phone",
        mfa_kit::ResetMode::RequireEnrollment,
        true,
        &world.env(T0 + 60),
    );
    assert!(reset.outcome.is_ok(), "{:?}", reset.outcome);
    let before = flow::sign_in::decide(&mut record, None, &world.env(T0 + 90)).outcome.unwrap();
    assert!(matches!(before, Decision::RequireEnrollment { .. }), "{before:?}");

    // The user registers a security key, which the organisation does not count.
    let handle = security_key::user_handle(&record).unwrap();
    let started =
        security_key::start_registration(&mut record, "key", handle, "s".into(), &world.env(T0 + 100));
    let finished = started.outcome.and_then(|_| {
        security_key::finish_registration(&mut record, Ok(new_key(4)), &world.env(T0 + 105))
            .unwrap()
            .outcome
            .map(drop)
    });
    let after = flow::sign_in::decide(&mut record, None, &world.env(T0 + 120)).outcome.unwrap();
    assert!(
        matches!(after, Decision::RequireEnrollment { .. }),
        "registering a disallowed key ({finished:?}) ended the required enrollment: {after:?}"
    );
}
