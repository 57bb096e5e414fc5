//! Remembered devices as stored, and the token the browser keeps.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keyed_hash::Digest;

/// The most devices remembered per user; the oldest is dropped beyond it.
pub const MAX_DEVICES: usize = 20;

/// The opaque token for the device's cookie. `Debug` does not show it.
#[derive(Clone)]
pub struct DeviceToken(Zeroizing<String>);

impl DeviceToken {
    /// A token freshly drawn by the device transition.
    pub(crate) fn issued(value: Zeroizing<String>) -> DeviceToken {
        DeviceToken(value)
    }

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
        crate::otp::ct::bytes_eq(self.0.as_bytes(), other.0.as_bytes())
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
#[allow(
    clippy::exhaustive_structs,
    reason = "a plain value the crate and hosts build and read whole; a new field is a deliberate breaking change"
)]
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
