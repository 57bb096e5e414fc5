//! SMS and e-mail destinations, and the one code currently valid, as stored.

use serde::{Deserialize, Serialize};

use crate::keyed_hash::Digest;
use crate::vocabulary::{Destination, Method, Purpose, Role};

/// A registered destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredDestination {
    pub(crate) destination: Destination,
    pub(crate) role: Role,
    pub(crate) added_at: u64,
    pub(crate) confirmed_at: Option<u64>,
}

impl RegisteredDestination {
    /// The destination.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }
    /// Primary or backup.
    pub fn role(&self) -> Role {
        self.role
    }
    /// When it was confirmed; unconfirmed destinations are not a method yet.
    pub fn confirmed_at(&self) -> Option<u64> {
        self.confirmed_at
    }
}

/// The one code currently valid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub(crate) purpose: Purpose,
    pub(crate) role: Role,
    pub(crate) hash: Digest,
    pub(crate) expires_at: u64,
    pub(crate) attempts: u32,
    #[serde(default)]
    pub(crate) issued_at: Option<u64>,
    /// While the code is reserved and its send not yet confirmed: the time after which
    /// the reservation lapses. Such a code does not work (see
    /// [`crate::flow::destination::reserve`]). Absent once the send is confirmed, and in
    /// records written before reservations were confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) send_by: Option<u64>,
}

impl Challenge {
    /// What the code is for.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// The role of the destination it was sent to.
    pub fn role(&self) -> Role {
        self.role
    }

    /// When it stops working.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// Wrong tries so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// When it was issued (reserved), if the record knows.
    pub fn issued_at(&self) -> Option<u64> {
        self.issued_at
    }

    /// Whether its send is still unconfirmed: `Some(deadline)` for a reserved code
    /// that does not work yet and lapses at `deadline` unless the send is confirmed.
    pub fn awaiting_send(&self) -> Option<u64> {
        self.send_by
    }
}

/// A user's out-of-band state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationState {
    pub(crate) destinations: Vec<RegisteredDestination>,
    /// Boxed: rarely there, and the record is moved on every call.
    pub(crate) challenge: Option<Box<Challenge>>,
    /// When codes were sent within the last hour, for the resend limits.
    pub(crate) sent_at: Vec<u64>,
}

impl DestinationState {
    /// The one code currently valid, if any (its hash, never the code).
    pub fn challenge(&self) -> Option<&Challenge> {
        self.challenge.as_deref()
    }

    /// When codes were sent within the last hour, for the resend limits.
    pub fn sent_at(&self) -> &[u64] {
        &self.sent_at
    }

    /// Forgets every destination and the code in play; the send times stay, so the
    /// hourly send limit holds across turning MFA off and setting it up again (as the
    /// enrollment starts' times do).
    pub(crate) fn clear_keeping_send_times(&mut self) {
        self.destinations.clear();
        self.challenge = None;
    }

    /// The registered destinations, confirmed or not.
    pub fn destinations(&self) -> &[RegisteredDestination] {
        &self.destinations
    }

    /// The confirmed destination of a role.
    pub fn confirmed(&self, role: Role) -> Option<&RegisteredDestination> {
        self.find(role, true)
    }

    /// The destination of a role that is (or is not yet) confirmed.
    pub(crate) fn find(&self, role: Role, confirmed: bool) -> Option<&RegisteredDestination> {
        self.destinations.iter().find(|d| d.role == role && d.confirmed_at.is_some() == confirmed)
    }

    /// The methods the confirmed destinations provide.
    pub fn methods(&self) -> impl Iterator<Item = Method> + '_ {
        self.destinations.iter().filter(|d| d.confirmed_at.is_some()).map(|d| d.destination.method())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.destinations.is_empty() && self.challenge.is_none()
    }
}
