//! The per-user record: all of one user's MFA state, in one serde value.
//!
//! The host stores the record as it likes (a JSON column, a document, a blob) together
//! with a version number, through the [`Store`](crate::store::Store) trait. Its
//! serialised form is versioned by [`UserRecord::FORMAT`]; a test pins it, so any change
//! to it is deliberate and noted in the changelog.
//!
//! Secrets inside are sealed ([`crate::seal::SealedSecret`]); recovery codes, out-of-band codes and
//! device tokens are there only as keyed hashes. Nothing else in it is secret, but the
//! record is still the user's security state and deserves the care of a password hash.
//!
//! # Serialised form (format 5)
//!
//! As JSON (any serde format works); times are seconds since the Unix epoch, sealed
//! secrets and hashes are unpadded base32, and sections a user does not use are `null`
//! or empty:
//!
//! ```json
//! {
//!   "format": 5,
//!   "user": "sarah",
//!   "org": "acme" (absent for a record never changed within an organisation),
//!   "authenticators": [{
//!     "id": "000000006553f11e", "name": "Authenticator app",
//!     "secret": { "key_id": "2026-11", "ciphertext": "…" },
//!     "params": { "algorithm": "SHA1", "digits": 6, "period": 30, "t0": 0 },
//!     "created_at": 1700000030, "last_used_at": 1700000060,
//!     "last_accepted_step": 56666668, "drift": -1
//!   }],
//!   "security_keys": [{ (absent when there are none)
//!     "id": "5be0c3a1d2e4f607", "name": "YubiKey",
//!     "credential_id": "…" (base32 of the authenticator's credential id),
//!     "public_key": "…" (the relying party's encoding of the public key; mfa-kit-webauthn:
//!                        the COSE key as JSON), "counter": 17,
//!     "user_verified": true, "backup_eligible": false, "backup_state": false,
//!     "discoverable": true, "created_at": 1700000200, "last_used_at": 1700000260
//!   }],
//!   "user_handle": "…" (base32 of 16 random bytes; absent until a key is registered),
//!   "ceremony": { (absent when none is in progress)
//!     "kind": "registration", "name": "YubiKey" (or "kind": "authentication"),
//!     "state": "…" (the relying party's state: the challenge, the keys allowed),
//!     "started_at": 1700000200, "expires_at": 1700000500 },
//!   "pending_enrollment": null,
//!   (an enrollment: { "secret": {…}, "params": {…}, "started_at": 1700000100,
//!                     "expires_at": 1700000700, "failed_attempts": 0,
//!                     "account": "sarah@smith.example", "starts": [],
//!                     "adding": "Backup phone" (or null: it replaces the others) })
//!   "enrollment_starts": [1700000100], (absent when empty)
//!   "failures": { "consecutive": 0, "locked_until": null, "locked_at": null, "lockouts": 0, "disabled_at": null },
//!   "recovery": { "generated_at": 1700000090, "entries": [{ "hash": "…", "used_at": null }] },
//!   (and "replacement_due": true in it, only once a code was used under a policy that
//!    asks for a new set after use)
//!   "oob": {
//!     "destinations": [{ "destination": { "kind": "sms", "address": "+61412345678" },
//!                        "role": "backup", "added_at": 1700000100, "confirmed_at": 1700000160 }],
//!     "challenge": null, "sent_at": []
//!     (a challenge: { "purpose": "sign_in", "role": "backup", "hash": "…",
//!                     "expires_at": 1700000760, "attempts": 0, "issued_at": 1700000160,
//!                     "send_by": 1700000460 (only while its send is unconfirmed) })
//!   },
//!   "devices": [{ "id": "0123456789abcdef", "label": "Firefox on Windows", "hash": "…",
//!                 "created_at": 1700000300, "expires_at": 1700043500 }],
//!   "proofs": { "totp": 1700000060, "recovery_code": 1700000095, "security_key": 1700000260 },
//!   "must_enroll": false,
//!   "generation": 4,
//!   "refusals": { "since": 1700000300, "logged": 10, "unlogged": 25 },
//!   "frozen": { "since": 1700000900, "event_id": 4711 } (absent unless frozen),
//!   "disowned": [4711] (absent when empty: the events whose "this wasn't me" links
//!                       were redeemed),
//!   "ended_sessions": [{ "tag": 81985529216486895, "until": 1702592000 }] (absent when
//!                       empty: sessions signed out that could still be alive)
//! }
//! ```
//!
//! `tests/record_format.rs` pins this form; a change to it bumps [`UserRecord::FORMAT`].
//! Fields added later read as empty from older records. Format 1 records (one
//! authenticator in `"totp"`, one `"last_proof": { "at", "method" }`) still read: the
//! authenticator gets the default name and an id made from its creation time. Format 2
//! records (no `"generation"`, no `"refusals"`) read as generation 0 with nothing
//! tallied. Format 3 records (no security keys) read with none, and format 4 records
//! (no organisation) with none. All are written back as format 5.
//!
//! A security key's entry holds public material only: the credential id, the public
//! key, the signature counter and the flags the authenticator reported. The private key
//! never leaves the authenticator, so a copy of the record lets nobody sign in with
//! the key.
//!
//! # Time
//!
//! One wrong clock reading (an NTP step, a resumed VM, a misconfigured server) must
//! not be written into the record and kept. So:
//!
//! - Every lifetime is stored with its start and its end (a lockout, an SMS code, an
//!   enrollment, a security key's ceremony, a remembered device, a proof for step-up),
//!   and holds only while the
//!   reading is before the end, not before the start less `CLOCK_SKEW` (5 minutes), and while
//!   the window is no longer than the rules allow now; a tightened
//!   rule (a shorter device cap, a shorter step-up window) applies at once. A lockout
//!   is the exception: it runs the length it was given when it began (at most
//!   [`MAX_LOCK_SECONDS`]), since shortening the lockout rule must not free someone
//!   guessing codes. A lockout of a record of the first release, which kept only its
//!   end, runs until that end (however long the rule of the day made it).
//! - A window whose start is more than `CLOCK_SKEW` after a reading the record is
//!   shown ([`from_the_future`]) was written by a clock that ran ahead (or the reading
//!   is behind: either way it grants nothing), and it is voided, not merely refused:
//!   every transition with a reading first deletes such devices and codes, forgets
//!   such proof times, drops such an enrollment or key ceremony, lifts such a lockout
//!   (its failures still count) and stops counting such sends and enrollment starts, audited as
//!   `future_dated_voided` ([`crate::flow::clock`]). Checks that only read (the sign-in
//!   decision, step-up, showing an enrollment again, the device list) refuse such
//!   windows, and the service then saves the voiding
//!   ([`crate::flow::clock::settle`]). So a window written ahead never becomes valid
//!   when real time reaches its start, once any reading before that has been shown
//!   to the record. What no reading exposed in time cannot be told from a true
//!   window: one written ahead and untouched until real time reaches it holds from
//!   then on.
//! - Failures count from the last success, not from the end of a lockout, so a reading
//!   that runs ahead and ends a lockout early gives no fresh allowance of guesses
//!   towards the hard limit (see [`crate::vocabulary::LockoutRule`]).
//! - Send times and enrollment starts older than an hour do not count towards the
//!   resend and restart limits, and are dropped at the next send or start, but for
//!   the newest as many as the limit allows, kept whatever the reading says (one
//!   reading far ahead forgets none of the hour's). Expired remembered devices are
//!   dropped only when a new one passes [`MAX_DEVICES`], for the same reason. The
//!   enrollment starts are the record's (`enrollment_starts`), so dropping a pending
//!   enrollment does not forget them.
//! - A code reserved but whose send was never confirmed does not work, and lapses
//!   [`crate::flow::destination::SEND_DEADLINE`] after it was reserved (uncounted, audited).
//! - The service refuses readings past the year 2100 as a clock failure
//!   (`service::Error::Clock`), so `u64::MAX` is never written.
//! - A reading behind the truth is caught only where the record holds a later time: a
//!   code, device or enrollment is refused when the reading is before its own start
//!   less `CLOCK_SKEW`.

mod authenticator;
mod destination;
mod device;
mod legacy;
pub(crate) mod rare;
mod recovery;
mod security_key;
mod time;

use serde::{Deserialize, Serialize};

pub(crate) use authenticator::authenticator_name;
pub(crate) use authenticator::default_name;
pub use authenticator::{
    AuthenticatorInfo, DEFAULT_AUTHENTICATOR_NAME, MAX_AUTHENTICATOR_NAME, MAX_AUTHENTICATORS,
    PendingEnrollment, TotpCredential,
};
pub use destination::{Challenge, DestinationState, RegisteredDestination};
pub use device::{DeviceInfo, DeviceToken, MAX_DEVICES, RememberedDevice};
pub use recovery::{RecoveryCodes, RecoveryEntry};
pub use security_key::{
    CEREMONY_LIFETIME, Ceremony, CeremonyKind, CredentialId, MAX_CEREMONY_STATE, MAX_CREDENTIAL_ID,
    MAX_PUBLIC_KEY, SecurityKey, UserHandle,
};
pub use time::from_the_future;
pub(crate) use time::kept_for_limit;

use self::rare::Rare;
use crate::few::Few;
use crate::vocabulary::{Method, OrgId, Refusal, Role, UserId};

/// A time that may be unset, in eight bytes where an `Option<u64>` takes sixteen (the
/// record is held for every user, and copied on every call): `u64::MAX`, which no
/// clock reading the service accepts comes near, stands for none. Serialised as an
/// `Option<u64>`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp(u64);

impl Stamp {
    /// No time.
    pub(crate) const NONE: Stamp = Stamp(u64::MAX);

    /// The time `at` (the last second before the sentinel at most).
    pub(crate) fn at(at: u64) -> Stamp {
        Stamp(at.min(u64::MAX - 1))
    }

    /// The time, if set.
    pub(crate) fn get(self) -> Option<u64> {
        Some(self.0).filter(|at| *at != u64::MAX)
    }
}

impl Default for Stamp {
    fn default() -> Stamp {
        Stamp::NONE
    }
}

impl std::fmt::Debug for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Stamp, D::Error> {
        Ok(Option::<u64>::deserialize(deserializer)?.map_or(Stamp::NONE, Stamp::at))
    }
}

/// Failed proofs since the last success, and the lockouts they caused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureState {
    pub(crate) consecutive: u32,
    pub(crate) locked_until: Stamp,
    #[serde(default)]
    pub(crate) locked_at: Stamp,
    #[serde(default)]
    pub(crate) lockouts: u32,
    #[serde(default)]
    pub(crate) disabled_at: Stamp,
}

impl FailureState {
    /// Failed proofs since the last success (a lockout's end does not reset them).
    pub fn consecutive(&self) -> u32 {
        self.consecutive
    }

    /// The end of the current lockout; `None` once it has been lifted (at the first
    /// request after its end, or by a success or a reset) or when none ran.
    pub fn locked_until(&self) -> Option<u64> {
        self.locked_until.get()
    }

    /// Lockouts since the last success; each lasts twice as long as the one before.
    pub fn lockouts(&self) -> u32 {
        self.lockouts
    }

    /// When the hard limit disabled the second factor, until an admin reset.
    pub fn disabled_at(&self) -> Option<u64> {
        self.disabled_at.get()
    }

    /// Whether a lockout runs at `now`, under the record's rule for time: a lockout
    /// written by a clock that ran ahead (starting more than the clock skew (5 minutes) after
    /// `now`) does not hold once the clock is right. A lockout of a record that did not
    /// keep its start (the first release's) runs until its end, as it did then.
    pub fn is_locked(&self, now: u64) -> bool {
        let Some(until) = self.locked_until.get() else { return false };
        let started = self.locked_at.get().unwrap_or(0);
        started <= now.saturating_add(CLOCK_SKEW) && now < until
    }

    /// Why a request is refused at `now` because of past failures, if it is: the
    /// factor disabled by the hard limit, or a lockout still running.
    pub fn refusal_at(&self, now: u64) -> Option<Refusal> {
        if self.disabled_at.get().is_some() {
            return Some(Refusal::Disabled);
        }
        self.lock_at(now).map(|until| Refusal::LockedOut { until })
    }

    /// The end of the lockout running at `now`, if one is.
    pub(crate) fn lock_at(&self, now: u64) -> Option<u64> {
        self.locked_until.get().filter(|_| self.is_locked(now))
    }
}

/// How far a clock reading may be behind a time the record holds and still be trusted
/// with it: 5 minutes, the skew of well-run servers, and no more.
pub(crate) const CLOCK_SKEW: u64 = 300;

/// The longest any lockout lasts, whatever the rule says: one week.
pub const MAX_LOCK_SECONDS: u64 = 7 * 86_400;

/// Whether the time window `[start, end)` holds at `now` under the record's rule for
/// time: `now` is before the end, not before the start less [`CLOCK_SKEW`], and the
/// window is no longer than `max_len`. A window written by a clock that ran ahead, or
/// one longer than the rules allow, grants nothing.
pub(crate) fn window_holds(start: u64, end: u64, max_len: u64, now: u64) -> bool {
    start <= now.saturating_add(CLOCK_SKEW) && now < end && end.saturating_sub(start) <= max_len
}

/// Refused attempts that changed no count (input that is not a code, a code tried
/// during a lockout, a replay, an address off the allowlist), tallied so one user's
/// refused requests write a bounded number of audit events: the first
/// [`RefusalTally::LOGGED_PER_INTERVAL`] of each [`RefusalTally::INTERVAL`] are audited
/// one by one, the rest are counted here and audited as one
/// [`crate::event::EventKind::RefusalsSummarised`] event with the next audited
/// event of the user after the interval (or the next success), so the trail keeps the
/// exact count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalTally {
    pub(crate) since: u64,
    pub(crate) logged: u32,
    pub(crate) unlogged: u32,
}

impl RefusalTally {
    /// The length of one interval: 15 minutes.
    pub const INTERVAL: u64 = 900;
    /// How many refused attempts of one interval are audited one by one: 10.
    pub const LOGGED_PER_INTERVAL: u32 = 10;

    /// When the current interval began.
    pub fn since(&self) -> u64 {
        self.since
    }

    /// Refused attempts counted but not yet audited.
    pub fn unlogged(&self) -> u32 {
        self.unlogged
    }
}

/// The freeze a security notice's "this wasn't me" link put on the account's MFA
/// changes ([`crate::flow::disown`]); lifted by an admin's reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a plain value the crate and hosts build and read whole; a new field is a deliberate breaking change"
)]
pub struct Frozen {
    /// When the link was followed.
    pub since: u64,
    /// The stored event whose notice it was.
    pub event_id: i64,
}

/// The last successful second-factor proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a plain value the crate and hosts build and read whole; a new field is a deliberate breaking change"
)]
pub struct LastProof {
    /// When.
    pub at: u64,
    /// With which method.
    pub method: Method,
}

/// When each method was last proved: one [`Stamp`] a method, kept in the record without
/// an allocation of its own. Serialised as [`ProofTimes`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ProofTimes", into = "ProofTimes")]
pub(crate) struct Proofs([Stamp; 5]);

/// The serialised form of [`Proofs`]: a time for each method proved.
#[derive(Clone, Copy, Default, Serialize, Deserialize)]
struct ProofTimes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    totp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recovery_code: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    security_key: Option<u64>,
}

impl Proofs {
    /// The methods in the order of the slots.
    const METHODS: [Method; 5] =
        [Method::Totp, Method::Sms, Method::Email, Method::RecoveryCode, Method::SecurityKey];

    fn slot(method: Method) -> usize {
        match method {
            Method::Totp => 0,
            Method::Sms => 1,
            Method::Email => 2,
            Method::RecoveryCode => 3,
            Method::SecurityKey => 4,
        }
    }

    pub(crate) fn get(self, method: Method) -> Option<u64> {
        self.0[Proofs::slot(method)].get()
    }

    pub(crate) fn set(&mut self, method: Method, at: u64) {
        self.0[Proofs::slot(method)] = Stamp::at(at);
    }

    /// As if `method` had never been proved.
    pub(crate) fn forget(&mut self, method: Method) {
        self.0[Proofs::slot(method)] = Stamp::NONE;
    }

    fn all(self) -> impl Iterator<Item = LastProof> {
        [Method::SecurityKey, Method::Totp, Method::Sms, Method::Email, Method::RecoveryCode]
            .into_iter()
            .filter_map(move |method| self.get(method).map(|at| LastProof { at, method }))
    }
}

impl From<ProofTimes> for Proofs {
    fn from(times: ProofTimes) -> Proofs {
        let mut proofs = Proofs::default();
        let read = [times.totp, times.sms, times.email, times.recovery_code, times.security_key];
        for (method, at) in Proofs::METHODS.into_iter().zip(read) {
            if let Some(at) = at {
                proofs.set(method, at);
            }
        }
        proofs
    }
}

impl From<Proofs> for ProofTimes {
    fn from(proofs: Proofs) -> ProofTimes {
        let [totp, sms, email, recovery_code, security_key] =
            Proofs::METHODS.map(|method| proofs.get(method));
        ProofTimes { totp, sms, email, recovery_code, security_key }
    }
}

/// All of one user's MFA state.
///
/// Serialised field by field as the module's docs show (the parts few users have are
/// kept behind one pointer and written as fields of their own); earlier formats read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "legacy::Stored")]
pub struct UserRecord {
    pub(crate) format: u32,
    pub(crate) user: UserId,
    /// The organisation of the latest change made within one; see [`UserRecord::org`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) org: Option<OrgId>,
    pub(crate) authenticators: Few<TotpCredential>,
    /// Security keys, a freeze: what few users have, behind one pointer.
    pub(crate) rare: Rare,
    /// Boxed: rarely there, and the record is moved on every call.
    pub(crate) pending_enrollment: Option<Box<PendingEnrollment>>,
    /// When enrollments were started within the last hour, for the restart limit:
    /// kept beside the pending enrollment, so dropping that does not forget them.
    pub(crate) enrollment_starts: Few<u64>,
    pub(crate) failures: FailureState,
    /// Boxed: a set of codes holds its own list anyway, and many users have none.
    pub(crate) recovery: Option<Box<RecoveryCodes>>,
    pub(crate) oob: DestinationState,
    pub(crate) devices: Vec<RememberedDevice>,
    /// The last successful proof of each method.
    pub(crate) proofs: Proofs,
    pub(crate) must_enroll: bool,
    /// Moves on every change of how the account is protected; see
    /// [`UserRecord::generation`].
    pub(crate) generation: u64,
    /// Refused attempts not audited one by one.
    pub(crate) refusals: RefusalTally,
}

/// The fields in the order of the module's docs; the rarely held ones (security keys,
/// a freeze) and the organisation only when there is something in them, as records
/// were written before.
impl Serialize for UserRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let rare = &self.rare;
        let optional = [
            self.org.is_some(),
            !rare.security_keys.is_empty(),
            rare.user_handle.is_some(),
            rare.ceremony.is_some(),
            !self.enrollment_starts.is_empty(),
            rare.frozen.is_some(),
            !rare.disowned.is_empty(),
            !rare.ended_sessions.is_empty(),
        ];
        let fields = 12 + optional.iter().filter(|present| **present).count();
        let mut out = serializer.serialize_struct("UserRecord", fields)?;
        out.serialize_field("format", &self.format)?;
        out.serialize_field("user", &self.user)?;
        field_if(&mut out, "org", &self.org, optional[0])?;
        out.serialize_field("authenticators", &self.authenticators)?;
        field_if(&mut out, "security_keys", &rare.security_keys, optional[1])?;
        field_if(&mut out, "user_handle", &rare.user_handle, optional[2])?;
        field_if(&mut out, "ceremony", &rare.ceremony, optional[3])?;
        out.serialize_field("pending_enrollment", &self.pending_enrollment)?;
        field_if(&mut out, "enrollment_starts", &self.enrollment_starts, optional[4])?;
        out.serialize_field("failures", &self.failures)?;
        out.serialize_field("recovery", &self.recovery)?;
        out.serialize_field("oob", &self.oob)?;
        out.serialize_field("devices", &self.devices)?;
        out.serialize_field("proofs", &self.proofs)?;
        out.serialize_field("must_enroll", &self.must_enroll)?;
        out.serialize_field("generation", &self.generation)?;
        out.serialize_field("refusals", &self.refusals)?;
        field_if(&mut out, "frozen", &rare.frozen, optional[5])?;
        field_if(&mut out, "disowned", &rare.disowned, optional[6])?;
        field_if(&mut out, "ended_sessions", &rare.ended_sessions, optional[7])?;
        out.end()
    }
}

/// Writes field `name` if `present`, otherwise tells the format it was skipped.
fn field_if<S: serde::ser::SerializeStruct, T: Serialize + ?Sized>(
    out: &mut S,
    name: &'static str,
    value: &T,
    present: bool,
) -> Result<(), S::Error> {
    if present { out.serialize_field(name, value) } else { out.skip_field(name) }
}

impl UserRecord {
    /// The version of the serialised form this crate writes. Records of formats 1 (one
    /// authenticator, one last proof) and 2 (no generation) are read too, and written
    /// back as this format.
    pub const FORMAT: u32 = 5;

    /// The record of a user with no MFA state yet.
    pub fn new(user: UserId) -> UserRecord {
        UserRecord {
            format: UserRecord::FORMAT,
            user,
            org: None,
            authenticators: Few::new(),
            rare: Rare::default(),
            pending_enrollment: None,
            enrollment_starts: Few::new(),
            failures: FailureState::default(),
            recovery: None,
            oob: DestinationState::default(),
            devices: Vec::new(),
            proofs: Proofs::default(),
            must_enroll: false,
            generation: 0,
            refusals: RefusalTally::default(),
        }
    }

    /// The serialised form's version.
    pub fn format(&self) -> u32 {
        self.format
    }

    /// Whose record it is.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The organisation the record is listed under: that of the latest change made by
    /// a request within an organisation ([`RequestContext::org`](crate::vocabulary::RequestContext::org)).
    /// `None` for a record no such request changed (records written before organisations
    /// were kept, or by a host without them). A user who works in several organisations
    /// is listed under the latest; such a host keeps memberships in its own tables and
    /// reads each organisation's trail, which files every event under the organisation
    /// of its request.
    pub fn org(&self) -> Option<&OrgId> {
        self.org.as_ref()
    }

    /// Files the record under `org` (see [`UserRecord::org`]): done by the driver when a
    /// request within an organisation changes the record (see [`crate::flow`]).
    pub fn set_org(&mut self, org: OrgId) {
        self.org = Some(org);
    }

    /// The user's authenticator apps, oldest first.
    pub fn authenticators(&self) -> &[TotpCredential] {
        &self.authenticators
    }

    /// The user's security keys and passkeys, oldest first.
    pub fn security_keys(&self) -> &[SecurityKey] {
        &self.rare.security_keys
    }

    /// The security key with `id`, and its place in [`UserRecord::security_keys`].
    pub fn security_key(&self, id: &str) -> Option<(usize, &SecurityKey)> {
        self.rare.security_keys.iter().enumerate().find(|(_, key)| key.id() == id)
    }

    /// The handle the user's authenticators know them by, once a key was registered.
    pub fn user_handle(&self) -> Option<&UserHandle> {
        self.rare.user_handle.as_ref()
    }

    /// The WebAuthn ceremony in progress, if any.
    pub fn ceremony(&self) -> Option<&Ceremony> {
        self.rare.ceremony.as_deref()
    }

    /// Every authenticator of the user as a list shows it: security keys first, then
    /// authenticator apps, each oldest first.
    pub fn authenticator_list(&self) -> Vec<AuthenticatorInfo> {
        let keys = self.rare.security_keys.iter().map(|key| AuthenticatorInfo {
            id: key.id().to_string(),
            name: key.name().to_string(),
            method: Method::SecurityKey,
            created_at: key.created_at(),
            last_used_at: key.last_used_at(),
        });
        keys.chain(self.authenticators.iter().map(TotpCredential::info)).collect()
    }

    /// How many authenticators the user has, apps and keys together (at most
    /// [`MAX_AUTHENTICATORS`]).
    pub fn authenticator_count(&self) -> usize {
        self.authenticators.len() + self.rare.security_keys.len()
    }

    /// The user's first (oldest) authenticator app, if any; see
    /// [`UserRecord::authenticators`] for all of them.
    pub fn totp(&self) -> Option<&TotpCredential> {
        self.authenticators.first()
    }

    /// The enrollment in progress, if any.
    pub fn pending_enrollment(&self) -> Option<&PendingEnrollment> {
        self.pending_enrollment.as_deref()
    }

    /// Failures and lockout.
    pub fn failures(&self) -> &FailureState {
        &self.failures
    }

    /// The recovery codes, if generated.
    pub fn recovery_codes(&self) -> Option<&RecoveryCodes> {
        self.recovery.as_deref()
    }

    /// SMS and e-mail destinations and the pending code.
    pub fn destination_state(&self) -> &DestinationState {
        &self.oob
    }

    /// The last successful second-factor proof, by any method.
    pub fn last_proof(&self) -> Option<LastProof> {
        self.proofs.all().max_by_key(|proof| proof.at)
    }

    /// When `method` was last proved, if it ever was.
    pub fn last_proved(&self, method: Method) -> Option<u64> {
        self.proofs.get(method)
    }

    /// Records a successful proof with `method` at `at`, unless one of that method is
    /// already recorded later: a server whose clock lags must not move it back, or a
    /// session's own proof of that method, made in between, would no longer be found
    /// at or after its time (step-up would judge it by another browser's method).
    pub(crate) fn note_proof(&mut self, method: Method, at: u64) {
        let latest = self.proofs.get(method).map_or(at, |recorded| recorded.max(at));
        self.proofs.set(method, latest);
    }

    /// The last second-factor proof, if it was made within `window` seconds of `now`
    /// (step-up: see [`crate::flow::step_up`]). A proof dated more than
    /// the clock skew (5 minutes) after `now` (written by a clock that ran ahead) does not count.
    pub fn proved_within(&self, now: u64, window: u64) -> Option<LastProof> {
        self.proofs
            .all()
            .filter(|proof| UserRecord::proof_holds(proof.at, now, window))
            .max_by_key(|proof| proof.at)
    }

    /// Whether a proof made at `at` is still fresh at `now` for a `window` of seconds,
    /// under the record's rule for time.
    pub(crate) fn proof_holds(at: u64, now: u64, window: u64) -> bool {
        at <= now.saturating_add(CLOCK_SKEW) && now < at.saturating_add(window)
    }

    /// The methods whose last proof was made at or after `at`: the methods a proof made
    /// at `at` may have used (the record keeps each method's latest proof only).
    pub(crate) fn methods_proved_since(&self, at: u64) -> Vec<Method> {
        self.proofs.all().filter(|proof| proof.at >= at).map(|proof| proof.method).collect()
    }

    /// Remembered devices, expired ones included (they let nobody in; they are dropped
    /// when a new device passes [`MAX_DEVICES`]).
    pub fn devices(&self) -> &[RememberedDevice] {
        &self.devices
    }

    /// The second factors the user can prove with now, strongest first: the
    /// security key, the authenticator app, confirmed SMS and e-mail destinations,
    /// unused recovery codes.
    pub fn methods(&self) -> Vec<Method> {
        let mut methods = Vec::new();
        if !self.rare.security_keys.is_empty() {
            methods.push(Method::SecurityKey);
        }
        if !self.authenticators.is_empty() {
            methods.push(Method::Totp);
        }
        // SMS before e-mail, whichever destination was added first.
        for method in [Method::Sms, Method::Email] {
            if self.oob.methods().any(|held| held == method) {
                methods.push(method);
            }
        }
        if self.recovery.as_ref().is_some_and(|r| r.remaining() > 0) {
            methods.push(Method::RecoveryCode);
        }
        methods
    }

    /// The account's generation: a number that moves on every change of how the
    /// account is protected (an admin reset; an authenticator, destination or set of
    /// recovery codes added, replaced or removed; MFA turned off; the password changed;
    /// a recovery code used, where the policy says so). A host keeps in each session
    /// the generation it began under ([`crate::policy::SessionFacts`]); a session from
    /// an older generation has ended ([`crate::flow::session`]), except the one that
    /// made the change, which takes the new generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the account's MFA changes are frozen, and since when (see
    /// [`crate::flow::disown`]).
    pub fn frozen(&self) -> Option<&Frozen> {
        self.rare.frozen.as_ref()
    }

    /// Refused attempts counted but not yet audited one by one (see [`RefusalTally`]).
    pub fn refusal_tally(&self) -> &RefusalTally {
        &self.refusals
    }

    /// Whether an admin reset the user's MFA and the user has not set it up again: the
    /// next sign-in requires enrollment, whatever the level.
    pub fn must_enroll(&self) -> bool {
        self.must_enroll
    }

    /// Whether the user has a phishing-resistant factor (a security key or passkey)
    /// the policy allows.
    pub(crate) fn has_phishing_resistant_allowing(&self, allowed: impl Fn(Method) -> bool) -> bool {
        !self.rare.security_keys.is_empty() && allowed(Method::SecurityKey)
    }

    /// The authenticator app with `id`, and its place in [`UserRecord::authenticators`].
    pub fn authenticator(&self, id: &str) -> Option<(usize, &TotpCredential)> {
        self.authenticators.iter().enumerate().find(|(_, a)| a.id() == id)
    }

    /// Whether the user has MFA: a security key, an authenticator app or a confirmed primary SMS or
    /// e-mail destination. Backup methods alone (a backup destination, recovery codes)
    /// are not MFA. The policy, the status list and every call use this one meaning.
    pub fn has_mfa(&self) -> bool {
        self.has_mfa_allowing(|_| true)
    }

    /// Whether the user has MFA counting only the methods `allowed` (an organisation
    /// that refuses codes by e-mail, as the NIST preset does, does not count a user
    /// whose only factor is an e-mail address as having MFA).
    pub fn has_mfa_allowing(&self, allowed: impl Fn(Method) -> bool) -> bool {
        (!self.rare.security_keys.is_empty() && allowed(Method::SecurityKey))
            || (!self.authenticators.is_empty() && allowed(Method::Totp))
            || self.oob.confirmed(Role::Primary).is_some_and(|d| allowed(d.destination.method()))
    }

    /// Whether the user has a backup method counting only the methods `allowed`.
    pub(crate) fn has_backup_allowing(&self, allowed: impl Fn(Method) -> bool) -> bool {
        self.oob.confirmed(Role::Backup).is_some_and(|d| allowed(d.destination.method()))
            || self.recovery.as_ref().is_some_and(|r| r.remaining() > 0)
    }

    /// The latest proof made within `window` seconds of `now` with a method
    /// `allowed` (see [`UserRecord::proved_within`]).
    pub(crate) fn proved_within_allowing(
        &self,
        now: u64,
        window: u64,
        allowed: impl Fn(Method) -> bool,
    ) -> Option<LastProof> {
        self.proofs
            .all()
            .filter(|proof| allowed(proof.method) && UserRecord::proof_holds(proof.at, now, window))
            .max_by_key(|proof| proof.at)
    }

    /// Whether the user has a backup method: a confirmed backup destination or unused
    /// recovery codes.
    pub fn has_backup(&self) -> bool {
        self.has_backup_allowing(|_| true)
    }
}
