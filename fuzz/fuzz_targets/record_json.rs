//! `UserRecord` from JSON, as a host's store hands it back: never panics; a record that
//! reads writes back and reads back equal; and every transition runs on it without
//! panicking, at the start of time, now and the end of time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::flow::{self, oversight::UserStatus};
use mfa_kit::otp::Totp;
use mfa_kit::policy::UserFacts;
use mfa_kit::record::{DeviceToken, UserRecord};
use mfa_kit::{Purpose, Revocation, Role, UserId};
use mfa_kit_fuzz::{Deployment, T0, assert_round_trip, hash_key, secret};

fuzz_target!(|data: &[u8]| {
    let Ok(record) = serde_json::from_slice::<UserRecord>(data) else { return };
    assert_round_trip(&record);
    let deployment = Deployment::standard();
    let key = hash_key();
    for now in [0, T0, u64::MAX] {
        let env = deployment.env(now);
        let status = UserStatus::of(&record, now);
        assert_eq!(status.has_mfa(), record.has_mfa());
        let _ = UserFacts::of(&record, now);
        let _ = flow::device::list(&record, now);
        let _ = flow::device::recognise(&record, &key, &DeviceToken::from_cookie("AAAA"), &env);

        // The secret the record holds if it opens, else a fixed one.
        let opened = record
            .totp()
            .map(|c| c.sealed_secret())
            .or(record.pending_enrollment().map(|p| p.sealed_secret()))
            .and_then(|sealed| PlaintextSealer.open(record.user(), sealed).ok())
            .unwrap_or_else(secret);
        let params = record
            .totp()
            .map(|c| *c.params())
            .or(record.pending_enrollment().map(|p| *p.params()))
            .unwrap_or_default();
        let totp = Totp::new(&opened, params);
        let right = totp.generate(now).map(|c| c.to_string()).unwrap_or_default();
        let next = totp
            .step_at(now)
            .map(|s| totp.generate_at_step(s.saturating_add(1)).to_string())
            .unwrap_or_default();

        // `Some(changed)` for a step; `None` for a transition that could not run
        // (`flow::Failure`), whose record "may be half-changed and must not be saved":
        // it only has to stay a record that reads back.
        let run = |change: &dyn Fn(&mut UserRecord) -> Option<bool>| {
            let mut copy = record.clone();
            if change(&mut copy) == Some(false) {
                assert!(copy == record, "changed == false, yet the record changed");
            }
            assert_round_trip(&copy);
        };
        run(&|r| Some(flow::sign_in::decide(r, Some(&key), &env).changed));
        run(&|r| flow::authenticator::verify(r, &[&totp], &right, &env).ok().map(|s| s.changed));
        run(&|r| flow::authenticator::verify(r, &[&totp], "000000", &env).ok().map(|s| s.changed));
        run(&|r| {
            flow::authenticator::resynchronise(r, &[&totp], [&right, &next], &env).ok().map(|s| s.changed)
        });
        run(&|r| {
            flow::authenticator::deactivate(r, &[&totp], Some(&key), &right, true, &env)
                .ok()
                .map(|s| s.changed)
        });
        run(&|r| flow::enrollment::confirm(r, &totp, &[&right, &next], &env).ok().map(|s| s.changed));
        run(&|r| Some(flow::recovery::redeem(r, &key, "2345-6789-ABCD", &env).changed));
        run(&|r| flow::recovery::generate(r, &key, &env).ok().map(|s| s.changed));
        run(&|r| Some(flow::destination::redeem(r, &key, "123456", Purpose::SignIn, &env).changed));
        run(&|r| Some(flow::destination::redeem(r, &key, "123456", Purpose::ConfirmDestination, &env).changed));
        run(&|r| flow::destination::reserve(r, &key, Role::Primary, None, &env).ok().map(|s| s.changed));
        run(&|r| flow::destination::reserve(r, &key, Role::Backup, None, &env).ok().map(|s| s.changed));
        run(&|r| Some(flow::destination::remove_destination(r, Role::Backup, &env).changed));
        run(&|r| flow::device::remember(r, &key, "fuzz", 3_600, &env).ok().map(|s| s.changed));
        run(&|r| Some(flow::device::revoke_all(r, Revocation::PasswordChanged).changed));
        let admin = mfa_kit_fuzz::admin(UserId::new("admin"), now, true);
        run(&|r| {
            Some(
                flow::oversight::reset(
                    r,
                    &admin,
                    "lost phone",
                    mfa_kit::ResetMode::RequireEnrollment,
                    true,
                    &env,
                )
                .changed,
            )
        });
        if let Some(first) = record.authenticators().first() {
            let id = first.id().to_string();
            run(&|r| Some(flow::authenticator::remove(r, &id, &env).changed));
        }
        if let Some(device) = record.devices().first() {
            let id = mfa_kit::record::DeviceInfo::from(device).id;
            run(&|r| Some(flow::device::revoke(r, &id).changed));
        }
    }
});
