//! Remembered devices: "don't ask again on this device for N days" (R19).
//!
//! The host keeps an opaque random token in a cookie; the record keeps only its keyed
//! hash with a label and an expiry. Presenting the token skips the second factor until
//! it expires, is revoked, or outlives the policy's current cap (so tightening the cap,
//! as the ATO preset does, takes effect at once). A reset, a deactivation, an
//! authenticator app set up in place of the user's own (a lost phone: replaced, or set
//! up again after a reset) or a password change revokes every device; an app, a key or a
//! destination added beside the ones the user has (with a fresh proof) does not.

use zeroize::Zeroizing;

use super::{Draft, Env, Failure, Step, run, try_run_in};
use crate::event::EventKind;
use crate::keyed_hash::HashKey;
use crate::otp::SecretError;
use crate::record::{DeviceInfo, DeviceToken, MAX_DEVICES, RememberedDevice, UserRecord};
use crate::vocabulary::{Refusal, Revocation, SensitiveAction, UserId};

const PURPOSE: &str = "mfa-kit remembered device v1";

/// A device was remembered: the token for its cookie, and what the user sees of it.
#[non_exhaustive]
pub struct Remembered {
    /// The value for the cookie (`HttpOnly`, `Secure`, `SameSite=Lax` or stricter).
    pub token: DeviceToken,
    /// The device as listed to the user.
    pub info: DeviceInfo,
}

/// Leaves the token out.
impl std::fmt::Debug for Remembered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remembered").field("info", &self.info).finish_non_exhaustive()
    }
}

/// Remembers this device after a successful second factor (proved within the
/// policy's step-up window, [`super::step_up`]): a new token whose life is
/// `lifetime` seconds, capped by the policy. Beyond [`MAX_DEVICES`] expired devices
/// are dropped first (they let nobody in; not by the reading alone before that, so one
/// reading far ahead deletes none still good), then the oldest is revoked (audited as
/// `devices_revoked`, reason `superseded`).
///
/// # Errors
/// [`Failure::RandomSource`] if the operating system's random source fails.
pub fn remember(
    record: &mut UserRecord,
    key: &HashKey,
    label: &str,
    lifetime: u64,
    env: &Env<'_>,
) -> Result<Step<Remembered>, Failure> {
    try_run_in(record, env, |draft| {
        let cap = env.policy.remember_device_max(env.context);
        if cap == 0 {
            return Ok(Err(Refusal::RememberDisabled));
        }
        if let Some(refused) = draft.refuse_address(env) {
            return Ok(Err(refused));
        }
        // Step-up refuses a frozen account, a locked factor and a user with no MFA
        // (`NotEnrolled`), in that order, before it asks for a fresh proof.
        if let Some(refused) = super::step_up::require(draft, SensitiveAction::RememberDevice, env) {
            return Ok(Err(refused));
        }
        let now = env.now;
        let (token, device) = issue(key, &draft.get().user, label, now, lifetime.min(cap))?;
        let info = DeviceInfo::from(&device);
        let devices = &mut draft.edit().devices;
        devices.push(device);
        // Over the cap, expired devices go first (unaudited: they let nobody in), then
        // the oldest. None goes by the reading alone: one far ahead must not delete
        // devices still good once the clock is right.
        let mut expired = devices.len().saturating_sub(MAX_DEVICES);
        devices.retain(|d| {
            let goes = expired > 0 && d.expires_at <= now;
            expired -= usize::from(goes);
            !goes
        });
        let excess = devices.len().saturating_sub(MAX_DEVICES);
        let dropped: Vec<String> = devices.drain(..excess).map(|d| d.id).collect();
        draft.emit(EventKind::DeviceRemembered {
            device_id: info.id.clone(),
            label: info.label.clone(),
            expires_at: info.expires_at,
        });
        // The oldest device no longer skips the second factor: revoked, and audited so.
        if !dropped.is_empty() {
            draft.emit(EventKind::DevicesRevoked { device_ids: dropped, reason: Revocation::Superseded });
        }
        Ok(Ok(Remembered { token, info }))
    })
}

/// The remembered device `token` belongs to, if it is still good now under the
/// policy's cap. Changes nothing.
pub fn recognise<'r>(
    record: &'r UserRecord,
    key: &HashKey,
    token: &DeviceToken,
    env: &Env<'_>,
) -> Option<&'r RememberedDevice> {
    let cap = env.policy.remember_device_max(env.context);
    find(&record.devices, key, &record.user, token, env.now, cap)
}

/// The devices still remembered at `now`: not expired, and not written by a clock
/// that ran ahead (the record's rule for time: such a device is voided at the next
/// change).
pub fn list(record: &UserRecord, now: u64) -> Vec<DeviceInfo> {
    record.devices.iter().filter(|d| holds(d, now)).map(DeviceInfo::from).collect()
}

/// The devices that would let the user in now under the policy and context of `env`:
/// as [`list`], and not older than the policy's current cap (a cap tightened since a
/// device was remembered applies at once, as [`recognise`] judges its token).
pub fn list_within_cap(record: &UserRecord, env: &Env<'_>) -> Vec<DeviceInfo> {
    let cap = env.policy.remember_device_max(env.context);
    record.devices.iter().filter(|d| lets_in(d, env.now, cap)).map(DeviceInfo::from).collect()
}

/// Whether `device` lets its user in at `now` under a cap of `cap` seconds: its window
/// holds under the record's rule for time (which includes [`holds`]) and is within
/// the cap.
pub(crate) fn lets_in(device: &RememberedDevice, now: u64, cap: u64) -> bool {
    crate::record::window_holds(device.created_at, device.expires_at, cap, now)
        && now < device.created_at.saturating_add(cap)
}

/// Whether the remembered `device` is still good at `now` by its own dates.
pub(crate) fn holds(device: &RememberedDevice, now: u64) -> bool {
    now < device.expires_at && !crate::record::from_the_future(device.created_at, now)
}

/// Revokes one remembered device (by the user or an admin); `true` if it existed.
pub fn revoke(record: &mut UserRecord, device_id: &str) -> Step<bool> {
    run(record, |draft| {
        if !draft.get().devices.iter().any(|d| d.id == device_id) {
            return Ok(false);
        }
        draft.edit().devices.retain(|d| d.id != device_id);
        draft.emit(EventKind::DevicesRevoked {
            device_ids: vec![device_id.to_string()],
            reason: Revocation::Requested,
        });
        Ok(true)
    })
}

/// The host changed the user's password: every remembered device is revoked and the
/// account's generation moves, which ends the user's other sessions
/// ([`super::session`]). Returns how many devices there were.
pub fn password_changed(record: &mut UserRecord) -> Step<usize> {
    run(record, |draft| {
        draft.protection_changed();
        draft.emit(EventKind::PasswordChanged);
        Ok(revoke_every(draft, Revocation::PasswordChanged))
    })
}

/// Revokes every remembered device, for `reason`; returns how many there were.
pub fn revoke_all(record: &mut UserRecord, reason: Revocation) -> Step<usize> {
    run(record, |draft| Ok(revoke_every(draft, reason)))
}

/// Revokes every remembered device, with an event if there were any.
pub(crate) fn revoke_every(draft: &mut Draft<'_>, reason: Revocation) -> usize {
    if draft.get().devices.is_empty() {
        return 0;
    }
    let device_ids: Vec<String> = draft.edit().devices.drain(..).map(|d| d.id).collect();
    let count = device_ids.len();
    draft.emit(EventKind::DevicesRevoked { device_ids, reason });
    count
}

/// A new token and its stored form.
fn issue(
    key: &HashKey,
    user: &UserId,
    label: &str,
    now: u64,
    lifetime: u64,
) -> Result<(DeviceToken, RememberedDevice), SecretError> {
    let mut raw = Zeroizing::new([0u8; 32]);
    crate::otp::random::fill(raw.as_mut())?;
    let token = DeviceToken::issued(crate::otp::base32_wiped(raw.as_ref()));
    let mut id = [0u8; 8];
    crate::otp::random::fill(&mut id)?;
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let hash = key.hash(PURPOSE, user, &[token.as_str().as_bytes()]);
    let label: String = label.chars().filter(|c| !c.is_control()).take(100).collect();
    let device =
        RememberedDevice { id, label, hash, created_at: now, expires_at: now.saturating_add(lifetime) };
    Ok((token, device))
}

/// The device a token belongs to, if it is still good at `now` under a cap of `cap`
/// seconds; every stored device is compared, with no early exit.
fn find<'a>(
    devices: &'a [RememberedDevice],
    key: &HashKey,
    user: &UserId,
    token: &DeviceToken,
    now: u64,
    cap: u64,
) -> Option<&'a RememberedDevice> {
    let hash = key.hash(PURPOSE, user, &[token.as_str().as_bytes()]);
    let mut found = None;
    for device in devices {
        if device.hash.matches(&hash) && found.is_none() {
            found = Some(device);
        }
    }
    found.filter(|d| lets_in(d, now, cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_found_until_it_expires_or_outlives_the_cap() {
        let key = HashKey::from_bytes(&[3; 32]).unwrap();
        let user = UserId::new("sarah");
        let (token, device) = issue(&key, &user, "Firefox\n on Windows", 1_000, 3_600).unwrap();
        assert_eq!(device.label, "Firefox on Windows");
        assert_eq!(token.as_str().len(), 52);
        let devices = vec![device];
        assert!(find(&devices, &key, &user, &token, 1_000, u64::MAX).is_some());
        assert!(find(&devices, &key, &user, &token, 4_599, u64::MAX).is_some());
        assert!(find(&devices, &key, &user, &token, 4_600, u64::MAX).is_none());
        assert!(
            find(&devices, &key, &user, &token, 2_000, 1_000).is_none(),
            "a tightened cap applies at once"
        );
        assert!(find(&devices, &key, &UserId::new("mallory"), &token, 1_000, u64::MAX).is_none());
        assert!(find(&devices, &key, &user, &DeviceToken::from_cookie("forged"), 1_000, u64::MAX).is_none());
        assert_eq!(format!("{token:?}"), "DeviceToken(..)");
    }
}
