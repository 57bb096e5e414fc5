//! Edges of three rules: a sign-out past the number of sign-outs remembered, the
//! security key's proof that turns MFA off, and the documented event format's values.

use mfa_kit::UserId;
use mfa_kit::flow::session::{REMEMBERED_SIGN_OUTS, SessionVerdict, judge, sign_out};
use mfa_kit::policy::{SessionFacts, SessionLimits};
use mfa_kit::record::UserRecord;

const T: u64 = 1_700_000_000;

/// `sign_out` answers `true` ("remembered now"): the session it signed out is
/// remembered even when it ends soonest of those remembered, so a copy of it is not
/// let in again; room is made among the others.
#[test]
fn a_session_signed_out_beyond_the_cap_is_remembered_when_sign_out_says_so() {
    let limits = SessionLimits::DEFAULT;
    let mut record = UserRecord::new(UserId::new("ann"));
    let generation = record.generation();
    // Sessions signed in an hour ago, signed out: all still running.
    for tag in 1..=(REMEMBERED_SIGN_OUTS as u64) {
        let session = SessionFacts::new(generation, T - 3600).tagged(tag);
        assert_eq!(sign_out(&mut record, &session, limits).outcome, Ok(true));
    }
    // A session signed in two hours ago, still running, is signed out now.
    let mut older = SessionFacts::new(generation, T - 7200).tagged(999);
    older.active_at = T;
    assert_eq!(judge(&record, &older, limits, T), SessionVerdict::Continue);
    let step = sign_out(&mut record, &older, limits);
    assert_eq!(step.outcome, Ok(true), "sign_out says the session was remembered now");
    assert_eq!(
        judge(&record, &older, limits, T + 1),
        SessionVerdict::Ended(mfa_kit::SessionEnd::SignedOut),
        "the session just signed out is let in again"
    );
}

#[path = "support/flow_world.rs"]
mod flow_world;

/// `flow::authenticator::deactivate` for a user whose only factors are security keys
/// takes "a security-key proof made within the step-up window". For a host without
/// sessions, such a proof made a minute ago is taken though a recovery code was
/// redeemed after it (the key's own proof is judged, not the latest proof).
#[test]
fn a_key_proof_within_the_window_turns_mfa_off_though_a_recovery_code_came_after_it() {
    use flow_world::{T0, World, key_only_user, signed};
    use mfa_kit::flow::{self, recovery, security_key};
    use mfa_kit::keyed_hash::HashKey;
    use mfa_kit::otp::Totp;
    use mfa_kit::policy::{SignInContext, StandardPolicy};

    let world = World::new(StandardPolicy::new(), SignInContext::default());
    assert!(world.context.session.is_none(), "a host without sessions");
    let key = HashKey::from_bytes(&[7; 32]).unwrap();
    let (mut record, codes) = key_only_user(&world, &key);

    // An hour later the user proves with the key, then (another tab) a recovery code.
    let later = T0 + 3_600;
    security_key::start_authentication(&mut record, "state".into(), &world.env(later)).outcome.unwrap();
    let proved = security_key::finish_authentication(&mut record, Ok(signed(1, 2)), &world.env(later + 5));
    assert!(proved.outcome.is_ok(), "{:?}", proved.outcome);
    let redeemed = recovery::redeem(&mut record, &key, codes[0].as_str(), &world.env(later + 10));
    assert!(redeemed.outcome.is_ok(), "{:?}", redeemed.outcome);

    // 15 seconds after the key's proof: well within the step-up window.
    let off = flow::authenticator::deactivate::<Totp>(
        &mut record,
        &[],
        Some(&key),
        "",
        true,
        &world.env(later + 20),
    )
    .unwrap();
    assert_eq!(off.outcome, Ok(()), "the key's proof within the window is refused");
}

/// The event format's documented table (the `mfa_kit::event` module docs) lists what
/// `future_dated_voided`'s `voided` may hold: every `Voided` value, `key_ceremony`
/// among them.
#[test]
fn the_documented_event_format_lists_every_voided_item() {
    let docs = include_str!("../src/event.rs");
    let row = docs
        .lines()
        .find(|line| line.starts_with("//! | `future_dated_voided`"))
        .expect("the future_dated_voided row of the event table");
    for voided in mfa_kit::Voided::ALL {
        let id = format!("`{}`", voided.as_str());
        assert!(row.contains(&id), "{id} missing from the documented event format: {row}");
    }
}
