//! Remembered devices: "don't ask again on this device for N days" (R19).
//!
//! The host keeps an opaque random token in a cookie; the record keeps only its keyed
//! hash with a label and an expiry. Presenting the token skips the second factor until
//! it expires, is revoked, or outlives the policy's current cap (so tightening the cap,
//! as the ATO preset does, takes effect at once). A reset, a deactivation, a new
//! authenticator or a password change revokes every device.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::SecretError;
use crate::keyed_hash::{Digest, HashKey};
use crate::record::UserId;

const PURPOSE: &str = "mfa-kit remembered device v1";

/// The most devices remembered per user; the oldest is dropped beyond it.
pub const MAX_DEVICES: usize = 20;

/// The opaque token for the device's cookie. `Debug` does not show it.
#[derive(Clone)]
pub struct DeviceToken(Zeroizing<String>);

impl DeviceToken {
    /// Wraps the token read back from the cookie.
    pub fn from_cookie(value: &str) -> DeviceToken {
        DeviceToken(Zeroizing::new(value.trim().to_string()))
    }

    /// The value to store in the cookie (`HttpOnly`, `Secure`, `SameSite=Lax` or stricter).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Constant-time, like every comparison of what a user holds.
impl PartialEq for DeviceToken {
    fn eq(&self, other: &Self) -> bool {
        crate::ct::bytes_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for DeviceToken {}

impl fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceToken(..)")
    }
}

/// A remembered device as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedDevice {
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) hash: Digest,
    pub(crate) created_at: u64,
    pub(crate) expires_at: u64,
}

/// A remembered device as the user and admins see it: no token, no hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// The id to revoke it by.
    pub id: String,
    /// The label given when it was remembered ("Firefox on Windows").
    pub label: String,
    /// When it was remembered.
    pub created_at: u64,
    /// When it stops being remembered.
    pub expires_at: u64,
}

impl From<&RememberedDevice> for DeviceInfo {
    fn from(device: &RememberedDevice) -> DeviceInfo {
        DeviceInfo {
            id: device.id.clone(),
            label: device.label.clone(),
            created_at: device.created_at,
            expires_at: device.expires_at,
        }
    }
}

/// Why devices were revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Revocation {
    /// The user or an admin revoked it.
    Requested,
    /// The user's password changed.
    PasswordChanged,
    /// MFA was reset by an admin.
    Reset,
    /// MFA was deactivated.
    Deactivated,
    /// A new authenticator was set up.
    NewAuthenticator,
}

/// A new token and its stored form.
pub(crate) fn issue(
    key: &HashKey,
    user: &UserId,
    label: &str,
    now: u64,
    lifetime: u64,
) -> Result<(DeviceToken, RememberedDevice), SecretError> {
    let mut raw = Zeroizing::new([0u8; 32]);
    crate::random::fill(raw.as_mut())?;
    let token = DeviceToken(Zeroizing::new(base32::encode(
        base32::Alphabet::Rfc4648 { padding: false },
        raw.as_ref(),
    )));
    let mut id = [0u8; 8];
    crate::random::fill(&mut id)?;
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let hash = key.hash(PURPOSE, user, &[token.as_str().as_bytes()]);
    let label: String = label.chars().filter(|c| !c.is_control()).take(100).collect();
    let device =
        RememberedDevice { id, label, hash, created_at: now, expires_at: now.saturating_add(lifetime) };
    Ok((token, device))
}

/// The device a token belongs to, if it is still good at `now` under a cap of `cap`
/// seconds; every stored device is compared, with no early exit.
pub(crate) fn find<'a>(
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
    found.filter(|d| now < d.expires_at && now < d.created_at.saturating_add(cap))
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
