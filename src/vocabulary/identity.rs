//! Who a request is about and where it came from.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The host's identifier of a user (any string: a UUID, a database id, an e-mail).
///
/// Cloning shares the text rather than copying it: a user id goes into every audit
/// event and every copy of the record.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct UserId(Arc<str>);

impl UserId {
    /// Wraps the host's identifier.
    pub fn new(id: impl Into<String>) -> UserId {
        UserId(Arc::from(id.into()))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Which of `shards` locked parts of an in-memory table this user's entries go to
    /// (FNV-1a of the id: cheap, and even enough to spread users over a few locks).
    pub(crate) fn shard(&self, shards: usize) -> usize {
        let hash = self.0.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        usize::try_from(hash % shards.max(1) as u64).unwrap_or(0)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for UserId {
    fn from(id: &str) -> UserId {
        UserId::new(id)
    }
}

impl From<String> for UserId {
    fn from(id: String) -> UserId {
        UserId(Arc::from(id))
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> String {
        id.0.to_string()
    }
}

/// What the host knows of the request: where it came from and on what device.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestContext {
    /// The client's address.
    pub address: Option<IpAddr>,
    /// A label for the device or user agent, as the host chooses to describe it.
    pub device: Option<String>,
}

impl RequestContext {
    /// A context with the client's address.
    pub fn from_address(address: IpAddr) -> RequestContext {
        RequestContext { address: Some(address), device: None }
    }

    /// The same context with a device label.
    #[must_use]
    pub fn with_device(mut self, device: impl Into<String>) -> RequestContext {
        self.device = Some(device.into());
        self
    }
}
