//! Codes sent by SMS or e-mail through the host's sender (R17, R18).
//!
//! The transitions issue a random numeric code, keep only a keyed hash of it bound to
//! its purpose and destination, with an expiry (10 minutes), keep only the latest code
//! valid, limit attempts per code (5) and sends (one a minute, 5 an hour), and accept
//! it once. A destination counts as a method only once confirmed with such a code, and
//! a backup destination must differ from the primary one.
//!
//! Sending is three steps around the host's [`crate::notify::CodeSender`], so that the
//! limits hold however many app servers send at once and the trail says what happened:
//! [`reserve`] records the send in the record (saved conditionally, like every change;
//! audited as reserved) and gives the message; the driver sends it; then
//! [`confirm_sent`] marks it sent, or, if the sender failed, [`release`] takes it back.
//! A reserved code works only once its send is confirmed. A reservation whose fate
//! never reaches the record (a lost reply, a store failing after the send) lapses
//! [`SEND_DEADLINE`] after it was made: at the next transition with a clock reading
//! the code is dropped, the send no longer counts, a destination it added is removed,
//! and the trail says it lapsed. (The sender's own late answer is not one: a send
//! confirmed after the deadline, with nothing in between, makes the code work, since
//! the message did go.)

use std::fmt;

use zeroize::Zeroizing;

use super::{Draft, Env, Failure, Proven, Step, run, run_in, try_run_in};
use crate::event::EventKind;
use crate::keyed_hash::{Digest, HashKey};
use crate::otp::{Code, Digits};
use crate::record::{Challenge, DestinationState, RegisteredDestination, UserRecord};
use crate::vocabulary::{Destination, Purpose, Refusal, RejectionReason, Role, SensitiveAction, UserId};

const PURPOSE: &str = "mfa-kit out-of-band code v1";

/// Limits on out-of-band codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "hosts build it with `..Default::default()` or its constructors, which keep working as fields are added"
)]
pub struct SendLimits {
    /// How long a code is valid, in seconds (10 minutes, seed 004).
    pub lifetime: u64,
    /// Wrong tries before a code is discarded.
    pub max_attempts: u32,
    /// Seconds between two sends.
    pub min_interval: u64,
    /// Sends within an hour.
    pub max_per_hour: usize,
    /// Digits in a code.
    pub digits: Digits,
}

impl SendLimits {
    /// 10 minutes, 5 tries, one send a minute and 5 an hour, 6 digits.
    pub const DEFAULT: SendLimits =
        SendLimits { lifetime: 600, max_attempts: 5, min_interval: 60, max_per_hour: 5, digits: Digits::SIX };
}

impl Default for SendLimits {
    fn default() -> Self {
        SendLimits::DEFAULT
    }
}

/// What the sender delivers: the code and what it is for. `Debug` hides the code.
pub struct CodeMessage {
    code: Zeroizing<String>,
    purpose: Purpose,
    expires_at: u64,
}

impl CodeMessage {
    /// The code to put in the SMS or e-mail.
    pub fn code(&self) -> &str {
        &self.code
    }
    /// What the code is for, so the message can say so.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }
    /// When the code stops working.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

impl fmt::Debug for CodeMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeMessage")
            .field("purpose", &self.purpose)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A code reserved in the record and ready to send: where to, and the message. The
/// driver hands both to the sender, and gives the reservation back to [`release`] if
/// sending fails.
#[non_exhaustive]
pub struct Reservation {
    /// Where the code goes.
    pub destination: Destination,
    /// What to send.
    pub message: CodeMessage,
    /// Whether the reservation also added the destination (so a release removes it).
    pub added: bool,
    reserved_at: u64,
}

/// Leaves the code out: only the masked destination and the expiry are shown.
impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("destination", &self.destination)
            .field("expires_at", &self.message.expires_at)
            .field("added", &self.added)
            .finish_non_exhaustive()
    }
}

impl Reservation {
    /// What the sign-in screen says: the destination, masked, and the code's expiry.
    pub fn sent(&self) -> Sent {
        Sent { to: self.destination.masked(), expires_at: self.message.expires_at }
    }
}

/// A code was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// The destination, masked, for the screen ("we sent a code to •••678").
    pub to: String,
    /// When the code expires.
    pub expires_at: u64,
}

/// How long a reserved code waits for its send to be confirmed before it lapses, in
/// seconds (5 minutes: far longer than a sender should take).
pub const SEND_DEADLINE: u64 = 300;

/// Whether the record holds a reservation that lapsed unconfirmed by `now`.
pub(crate) fn lapsed(record: &UserRecord, now: u64) -> bool {
    record.oob.challenge.as_ref().and_then(|c| c.send_by).is_some_and(|by| now >= by)
}

/// Lets a reservation whose send was never confirmed lapse (see the module's docs).
pub(crate) fn lapse(draft: &mut Draft<'_>, now: u64) {
    if !lapsed(draft.get(), now) {
        return;
    }
    let oob = &mut draft.edit().oob;
    let Some(challenge) = oob.challenge.take() else { return };
    if let Some(index) = challenge.issued_at.and_then(|at| oob.sent_at.iter().rposition(|sent| *sent == at)) {
        oob.sent_at.remove(index);
    }
    let role = challenge.role;
    let before = oob.destinations.len();
    if challenge.purpose == Purpose::ConfirmDestination {
        oob.destinations.retain(|d| d.role != role || d.confirmed_at.is_some());
    }
    let removed = oob.destinations.len() != before;
    draft.emit(EventKind::BackupCodeLapsed { role });
    if removed {
        draft.emit(EventKind::BackupDestinationWithdrawn { role });
    }
}

/// Whether the record's one valid code is the reservation's.
fn holds(record: &UserRecord, key: &HashKey, reservation: &Reservation) -> bool {
    let message = &reservation.message;
    let digest = hash(key, &record.user, message.purpose, &reservation.destination, &message.code);
    record.oob.challenge.as_ref().is_some_and(|c| c.hash.matches(&digest))
}

/// Whether a send at `sent` counts at `now`: within the last hour, and not written by
/// a clock that ran ahead.
fn counts(sent: u64, now: u64) -> bool {
    now < sent.saturating_add(3600) && sent <= now.saturating_add(crate::record::CLOCK_SKEW)
}

/// Checks the resend limits; the time a send is next allowed if not now.
/// Both limits are judged: the time given is when a send is allowed by each of them.
fn rate_limit(state: &DestinationState, now: u64, limits: &SendLimits) -> Option<u64> {
    let mut recent: Vec<u64> = state.sent_at.iter().copied().filter(|sent| counts(*sent, now)).collect();
    recent.sort_unstable();
    let interval_ends =
        recent.last().map(|last| last.saturating_add(limits.min_interval)).filter(|end| now < *end);
    // With `n` sends in the hour and `max` allowed, the next is allowed once the oldest
    // `n - max + 1` of them are an hour old.
    let hour_ends = recent
        .len()
        .checked_sub(limits.max_per_hour.max(1))
        .and_then(|over| recent.get(over))
        .map(|sent| sent.saturating_add(3600));
    interval_ends.into_iter().chain(hour_ends).max()
}

fn hash(key: &HashKey, user: &UserId, purpose: Purpose, destination: &Destination, code: &str) -> Digest {
    let purpose = match purpose {
        Purpose::SignIn => b"sign-in".as_slice(),
        Purpose::ConfirmDestination => b"confirm".as_slice(),
    };
    let kind = match destination {
        Destination::Sms(_) => b"sms".as_slice(),
        Destination::Email(_) => b"email".as_slice(),
    };
    key.hash(PURPOSE, user, &[purpose, kind, destination.address().as_bytes(), code.as_bytes()])
}

/// Reserves a code: a sign-in code for the user's confirmed destination of `role`
/// ([`reserve_sign_in_code`]), or with `adding`, that destination registered
/// unconfirmed and its confirmation code ([`reserve_confirmation_code`]).
///
/// # Errors
/// [`Failure::RandomSource`] if the operating system's random source fails.
pub fn reserve(
    record: &mut UserRecord,
    key: &HashKey,
    role: Role,
    adding: Option<Destination>,
    env: &Env<'_>,
) -> Result<Step<Reservation>, Failure> {
    match adding {
        Some(destination) => reserve_confirmation_code(record, key, role, destination, env),
        None => reserve_sign_in_code(record, key, role, env),
    }
}

/// Reserves a sign-in code for the user's confirmed destination of `role`: checks the
/// lockout, the policy screen and the resend limits, draws a code, makes it the one
/// valid code and counts the send. Any code sent before stops working. Save the record
/// before sending the reservation's message, then save [`confirm_sent`] (or [`release`]
/// if the sender failed): until its send is confirmed the code does not work, and
/// [`SEND_DEADLINE`] after the reservation it lapses.
///
/// # Errors
/// [`Failure::RandomSource`] if the operating system's random source fails.
pub fn reserve_sign_in_code(
    record: &mut UserRecord,
    key: &HashKey,
    role: Role,
    env: &Env<'_>,
) -> Result<Step<Reservation>, Failure> {
    try_run_in(record, env, |draft| {
        if let Some(refused) = draft.locked(env.now) {
            return Ok(Err(refused));
        }
        let Some(registered) = draft.get().oob.confirmed(role) else {
            return Ok(Err(Refusal::NoDestination(role)));
        };
        let target = registered.destination.clone();
        if let Some(refused) = draft.screen(env, target.method()) {
            return Ok(Err(refused));
        }
        if !env.policy.method_allowed(env.context, target.method()) {
            return Ok(Err(Refusal::MethodNotAllowed));
        }
        let issued = issue(draft, key, role, Purpose::SignIn, &target, env)?;
        Ok(issued
            .map(|(code, expires_at)| reserved(draft, target, Purpose::SignIn, code, expires_at, env.now)))
    })
}

/// Registers `destination` as the user's unconfirmed destination of `role` (replacing
/// an unconfirmed one of that role) and reserves its confirmation code, as
/// [`reserve_sign_in_code`] reserves a sign-in code. Adding a destination is a
/// sensitive action (a fresh second-factor proof, unless it is the first factor), from
/// an allowed address; a backup must reach another phone or mailbox than the primary.
///
/// # Errors
/// [`Failure::RandomSource`] if the operating system's random source fails.
pub fn reserve_confirmation_code(
    record: &mut UserRecord,
    key: &HashKey,
    role: Role,
    destination: Destination,
    env: &Env<'_>,
) -> Result<Step<Reservation>, Failure> {
    try_run_in(record, env, |draft| {
        let now = env.now;
        if let Some(refused) = draft
            .locked(now)
            .or_else(|| draft.refuse_address(env))
            .or_else(|| super::step_up::require(draft, SensitiveAction::AddDestination, env))
        {
            return Ok(Err(refused));
        }
        // A national number (from a host's own deserialising) is stored in E.164 form
        // where the organisation's country says how.
        let country = env.context.jurisdiction.country.as_deref();
        let target = destination.in_country(country);
        if !env.policy.method_allowed(env.context, target.method()) {
            return Ok(Err(Refusal::MethodNotAllowed));
        }
        // A backup must reach another phone or mailbox than the primary, in whichever
        // order they are added.
        let other = match role {
            Role::Primary => Role::Backup,
            Role::Backup => Role::Primary,
        };
        if draft.get().oob.confirmed(other).is_some_and(|d| d.destination.same_as(&target, country)) {
            return Ok(Err(Refusal::SameAsPrimary));
        }
        let (code, expires_at) = match issue(draft, key, role, Purpose::ConfirmDestination, &target, env)? {
            Ok(issued) => issued,
            Err(refused) => return Ok(Err(refused)),
        };
        let oob = &mut draft.edit().oob;
        oob.destinations.retain(|d| d.role != role || d.confirmed_at.is_some());
        oob.destinations.push(RegisteredDestination {
            destination: target.clone(),
            role,
            added_at: now,
            confirmed_at: None,
        });
        draft.emit(EventKind::BackupDestinationAdded { method: target.method(), role, to: target.masked() });
        let mut reservation = reserved(draft, target, Purpose::ConfirmDestination, code, expires_at, now);
        reservation.added = true;
        Ok(Ok(reservation))
    })
}

/// The code-issuing step both reservations share: refused while the resend limit
/// holds; otherwise draws a code for `purpose` to `target`, makes it the one valid
/// code (unsent: see [`SEND_DEADLINE`]) and counts the send. Gives the code and its
/// expiry.
fn issue(
    draft: &mut Draft<'_>,
    key: &HashKey,
    role: Role,
    purpose: Purpose,
    target: &Destination,
    env: &Env<'_>,
) -> Result<Result<(Zeroizing<String>, u64), Refusal>, Failure> {
    let (now, limits) = (env.now, &env.rules.send_limits);
    if let Some(retry_at) = rate_limit(&draft.get().oob, now, limits) {
        return Ok(Err(Refusal::RateLimited { retry_at }));
    }
    let value = crate::otp::random::below_u32(limits.digits.modulus())?;
    let code = Zeroizing::new(Code::new(value, limits.digits).to_string());
    let digest = hash(key, &draft.get().user, purpose, target, &code);
    let expires_at = now.saturating_add(limits.lifetime);
    let oob = &mut draft.edit().oob;
    let kept = crate::record::kept_for_limit(oob.sent_at.iter().copied(), limits.max_per_hour, |sent| {
        counts(sent, now)
    });
    oob.sent_at = kept.chain([now]).collect();
    oob.challenge = Some(Box::new(Challenge {
        purpose,
        role,
        hash: digest,
        expires_at,
        attempts: 0,
        issued_at: Some(now),
        send_by: Some(now.saturating_add(SEND_DEADLINE)),
    }));
    Ok(Ok((code, expires_at)))
}

/// The reservation of an issued code, audited as reserved.
fn reserved(
    draft: &mut Draft<'_>,
    target: Destination,
    purpose: Purpose,
    code: Zeroizing<String>,
    expires_at: u64,
    now: u64,
) -> Reservation {
    draft.emit(EventKind::BackupCodeReserved { method: target.method(), purpose, to: target.masked() });
    let message = CodeMessage { code, purpose, expires_at };
    Reservation { destination: target, message, added: false, reserved_at: now }
}

/// Records that the sender accepted the reservation's message: the code works from
/// now until its expiry, and the trail says it was sent. A reservation replaced by a
/// newer code, or lapsed, meanwhile stays gone (the trail still says the message went).
/// A confirmation later than [`SEND_DEADLINE`] finds the reservation lapsed only if a
/// transition with a clock reading ran in between; otherwise the code works (the
/// message did go).
pub fn confirm_sent(record: &mut UserRecord, key: &HashKey, reservation: &Reservation) -> Step<()> {
    run(record, |draft| {
        let unconfirmed = draft.get().oob.challenge.as_ref().is_some_and(|c| c.send_by.is_some());
        if unconfirmed
            && holds(draft.get(), key, reservation)
            && let Some(challenge) = draft.edit().oob.challenge.as_mut()
        {
            challenge.send_by = None;
        }
        let destination = &reservation.destination;
        draft.emit(EventKind::BackupCodeSent {
            method: destination.method(),
            purpose: reservation.message.purpose,
            to: destination.masked(),
        });
        Ok(())
    })
}

/// Takes back a reservation whose message could not be sent: the code stops working,
/// the send is not counted, and a destination the reservation added is removed. If the
/// record cannot be saved, the reservation, never confirmed, lapses instead.
pub fn release(record: &mut UserRecord, key: &HashKey, reservation: &Reservation) -> Step<()> {
    run(record, |draft| {
        let method = reservation.destination.method();
        let challenge = draft.get().oob.challenge.as_ref().filter(|_| holds(draft.get(), key, reservation));
        let Some(challenge) = challenge else {
            // Replaced by a newer code (taken back or used since, maybe), or lapsed,
            // meanwhile: no code of ours is left. The send did not happen, so it stops
            // counting if it still does (a lapse took it back already), and a
            // destination it added, still unconfirmed, goes, unless a newer code is on
            // its way to confirm it.
            let record = draft.get();
            let confirming = record.oob.challenge.as_ref().is_some_and(|newer| {
                newer.purpose == Purpose::ConfirmDestination
                    && record
                        .oob
                        .find(newer.role, false)
                        .is_some_and(|d| d.destination == reservation.destination)
            });
            let added = reservation.added && !confirming;
            let withdrawn = record
                .oob
                .destinations
                .iter()
                .find(|d| added && d.confirmed_at.is_none() && d.destination == reservation.destination)
                .map(|d| d.role);
            let sent_at = reservation.reserved_at;
            let counted = record.oob.sent_at.iter().rposition(|sent| *sent == sent_at);
            if counted.is_some() || withdrawn.is_some() {
                let oob = &mut draft.edit().oob;
                if let Some(index) = counted {
                    oob.sent_at.remove(index);
                }
                if let Some(role) = withdrawn {
                    oob.destinations.retain(|d| d.role != role || d.confirmed_at.is_some());
                }
            }
            draft.emit(EventKind::BackupCodeNotSent { method });
            if let Some(role) = withdrawn {
                draft.emit(EventKind::BackupDestinationWithdrawn { role });
            }
            return Ok(());
        };
        let (role, sent_at) = (challenge.role, reservation.reserved_at);
        let oob = &mut draft.edit().oob;
        oob.challenge = None;
        if let Some(index) = oob.sent_at.iter().rposition(|sent| *sent == sent_at) {
            oob.sent_at.remove(index);
        }
        let before = oob.destinations.len();
        if reservation.added {
            oob.destinations.retain(|d| d.role != role || d.confirmed_at.is_some());
        }
        let removed = oob.destinations.len() != before;
        draft.emit(EventKind::BackupCodeNotSent { method });
        if removed {
            draft.emit(EventKind::BackupDestinationWithdrawn { role });
        }
        Ok(())
    })
}

/// Checks a typed code for `purpose`: a sign-in code ([`redeem_sign_in_code`]) or a
/// destination's confirmation code ([`redeem_confirmation_code`]).
pub fn redeem(
    record: &mut UserRecord,
    key: &HashKey,
    input: &str,
    purpose: Purpose,
    env: &Env<'_>,
) -> Step<Proven> {
    match purpose {
        Purpose::SignIn => redeem_sign_in_code(record, key, input, env),
        Purpose::ConfirmDestination => redeem_confirmation_code(record, key, input, env),
    }
}

/// Checks a typed sign-in code; on success the code is spent and the user has proved
/// the destination's method. Wrong codes count towards the code's attempt limit and
/// the user's lockout.
pub fn redeem_sign_in_code(
    record: &mut UserRecord,
    key: &HashKey,
    input: &str,
    env: &Env<'_>,
) -> Step<Proven> {
    run_in(record, env, |draft| sign_in_code_in(draft, key, input, env))
}

/// Checks a typed confirmation code; on success the code is spent and the destination
/// becomes a method (replacing an older one of its role), and the code counts as a
/// proof of it. Wrong codes count as [`redeem_sign_in_code`]'s do. Adding a factor to
/// a user who has one needs this session's fresh proof now, as sending the code did
/// ([`super::step_up`]), one that counts under today's rules: refused as
/// [`Refusal::FreshProofRequired`] with the code left pending.
pub fn redeem_confirmation_code(
    record: &mut UserRecord,
    key: &HashKey,
    input: &str,
    env: &Env<'_>,
) -> Step<Proven> {
    run_in(record, env, |draft| {
        // A new factor: not on a frozen account, nor from off the allowlist.
        if let Some(refused) = super::disown::refuse_frozen(draft.get()).or_else(|| draft.refuse_address(env))
        {
            return Err(refused);
        }
        let (role, issued_at, expires_at) = pending(draft, Purpose::ConfirmDestination, env)?;
        // A new factor needs this session's fresh proof at the confirmation too, not
        // only when the code was sent, under the organisation's rules as they are now
        // (a key where the user must prove with one), as confirming an app does. The
        // code stays pending: proved again, the user types it again.
        if let Some(refused) = super::step_up::require(draft, SensitiveAction::AddDestination, env) {
            return Err(refused);
        }
        // The destination being confirmed: registered, not yet confirmed (or confirmed).
        let Some(destination) = draft.get().oob.find(role, false).map(|d| d.destination.clone()) else {
            draft.edit().oob.challenge = None;
            return Err(Refusal::NoCodePending);
        };
        let typed =
            Typed { purpose: Purpose::ConfirmDestination, destination: &destination, issued_at, expires_at };
        spend(draft, key, input, &typed, env)?;
        let (now, method) = (env.now, destination.method());
        draft.protection_changed();
        let record = draft.edit();
        // A proof, as a sign-in is: the count of wrong codes and of the lockouts they
        // caused start again together (each lockout comes after `max_failures` more).
        record.failures = crate::record::FailureState::default();
        // The code proves the user holds the destination: a proof, as a confirmed
        // authenticator is, so the next set-up step needs no second sign-in.
        record.note_proof(method, now);
        if role == Role::Primary {
            record.must_enroll = false;
        }
        record.oob.destinations.retain(|d| d.role != role || d.confirmed_at.is_none());
        if let Some(confirmed) = record.oob.destinations.iter_mut().find(|d| d.role == role) {
            confirmed.confirmed_at = Some(now);
        }
        draft.emit(EventKind::BackupDestinationConfirmed { method, role, to: destination.masked() });
        Ok(Proven { method, drift: None, at: now, phishing_resistant: false })
    })
}

/// Checks `input` against the sign-in code sent to the user's primary destination, as
/// [`redeem_sign_in_code`] does: the proof [`super::authenticator::deactivate`] asks of
/// a user whose factor is that destination. A code sent to the backup destination does
/// not count.
pub(crate) fn redeem_primary_sign_in_code(
    draft: &mut Draft<'_>,
    key: &HashKey,
    input: &str,
    env: &Env<'_>,
) -> Result<Proven, Refusal> {
    let to_primary = draft.get().oob.challenge.as_ref().is_some_and(|c| c.role == Role::Primary);
    if !to_primary {
        return Err(Refusal::NoCodePending);
    }
    sign_in_code_in(draft, key, input, env)
}

fn sign_in_code_in(
    draft: &mut Draft<'_>,
    key: &HashKey,
    input: &str,
    env: &Env<'_>,
) -> Result<Proven, Refusal> {
    let (role, issued_at, expires_at) = pending(draft, Purpose::SignIn, env)?;
    // A sign-in code proves only a confirmed destination.
    let Some(destination) = draft.get().oob.find(role, true).map(|d| d.destination.clone()) else {
        draft.edit().oob.challenge = None;
        return Err(Refusal::NoCodePending);
    };
    if let Some(refused) = draft.screen(env, destination.method()) {
        return Err(refused);
    }
    let typed = Typed { purpose: Purpose::SignIn, destination: &destination, issued_at, expires_at };
    spend(draft, key, input, &typed, env)?;
    Ok(draft.succeed(destination.method(), env.now, None))
}

/// The code waiting for `purpose` whose send was confirmed (a reserved code whose send
/// is not confirmed does not work yet): its role, when it was issued, when it expires.
fn pending(draft: &Draft<'_>, purpose: Purpose, env: &Env<'_>) -> Result<(Role, u64, u64), Refusal> {
    let pending = draft.get().oob.challenge.as_ref().filter(|c| c.purpose == purpose && c.send_by.is_none());
    pending
        .map(|c| {
            (
                c.role,
                c.issued_at.unwrap_or(c.expires_at.saturating_sub(env.rules.send_limits.lifetime)),
                c.expires_at,
            )
        })
        .ok_or(Refusal::NoCodePending)
}

/// What a typed code is checked against.
struct Typed<'a> {
    purpose: Purpose,
    destination: &'a Destination,
    issued_at: u64,
    expires_at: u64,
}

/// The check both redemptions share: refused from an ended session, for a method the
/// organisation does not allow, while locked, after the code expired (which discards
/// it), for input that is not a code; a wrong code counts an attempt (discarding the
/// code at the limit) and a failure towards the lockout. A right code is spent.
fn spend(
    draft: &mut Draft<'_>,
    key: &HashKey,
    input: &str,
    typed: &Typed<'_>,
    env: &Env<'_>,
) -> Result<(), Refusal> {
    let now = env.now;
    let method = typed.destination.method();
    if let Some(ended) = draft.refuse_ended_session(env) {
        return Err(ended);
    }
    if !env.policy.method_allowed(env.context, method) {
        return Err(Refusal::MethodNotAllowed);
    }
    if let Some(refused) = draft.refuse_if_locked(method, now) {
        return Err(refused);
    }
    if !crate::record::window_holds(typed.issued_at, typed.expires_at, env.rules.send_limits.lifetime, now) {
        draft.edit().oob.challenge = None;
        let consecutive_failures = draft.get().failures.consecutive;
        draft.emit(EventKind::CodeRejected {
            method,
            reason: RejectionReason::Expired,
            consecutive_failures,
        });
        return Err(Refusal::CodeExpired);
    }
    let code = match Code::parse(input, env.rules.send_limits.digits) {
        Ok(code) => Zeroizing::new(code.to_string()),
        Err(_) => return Err(draft.malformed(method, now)),
    };
    let digest = hash(key, &draft.get().user, typed.purpose, typed.destination, &code);
    let matches = draft.get().oob.challenge.as_ref().is_some_and(|c| c.hash.matches(&digest));
    if !matches {
        let max_attempts = env.rules.send_limits.max_attempts;
        if let Some(challenge) = draft.edit().oob.challenge.as_mut() {
            challenge.attempts = challenge.attempts.saturating_add(1);
            if challenge.attempts >= max_attempts {
                draft.edit().oob.challenge = None;
                draft.emit(EventKind::BackupCodeDiscarded { method });
            }
        }
        return Err(draft.count_failure(method, RejectionReason::Wrong, now, Draft::lockout(env)));
    }
    draft.edit().oob.challenge = None;
    Ok(())
}

/// Removes the destination of `role` and any code sent to it; `true` if there was one.
/// A confirmed one needs a fresh second-factor proof ([`super::step_up`]) and an address
/// the organisation allows. The user's last factor (the confirmed primary destination
/// of a user with no other factor the organisation counts) is not removed: that is
/// turning MFA off, which takes
/// [`super::authenticator::deactivate`] with a current code and the confirmation, so it
/// is refused as [`Refusal::LastFactor`], or as the rule that forbids turning MFA off
/// where one does ([`Refusal::Forbidden`], audited).
pub fn remove_destination(record: &mut UserRecord, role: Role, env: &Env<'_>) -> Step<bool> {
    run_in(record, env, |draft| {
        let oob = &draft.get().oob;
        let present = oob.destinations.iter().any(|d| d.role == role);
        let pending = oob.challenge.as_ref().is_some_and(|c| c.role == role);
        if present && let Some(refused) = Draft::refuse_off_allowlist(env) {
            return Err(refused);
        }
        // The confirmed primary destination may be the last factor the organisation
        // counts.
        let primary = oob.confirmed(Role::Primary).filter(|_| role == Role::Primary);
        if primary.is_some_and(|d| super::is_last_factor(draft.get(), d.destination.method(), env)) {
            return Err(draft.refuse_deactivation(env).unwrap_or(Refusal::LastFactor));
        }
        // A destination never confirmed (a typo being taken back) protects nothing yet.
        let confirmed = draft.get().oob.confirmed(role).is_some();
        if confirmed
            && let Some(refused) = super::step_up::require(draft, SensitiveAction::RemoveDestination, env)
        {
            return Err(refused);
        }
        if present || pending {
            let oob = &mut draft.edit().oob;
            oob.destinations.retain(|d| d.role != role);
            if pending {
                oob.challenge = None;
            }
        }
        // A destination never confirmed was never a factor: taken back, not removed.
        if present && confirmed {
            draft.emit(EventKind::BackupDestinationRemoved { role });
        } else if present {
            draft.emit(EventKind::BackupDestinationWithdrawn { role });
        }
        if confirmed {
            draft.protection_changed();
        }
        Ok(present)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resends_are_limited_to_one_a_minute_and_five_an_hour() {
        let mut state = DestinationState::default();
        let limits = SendLimits::DEFAULT;
        let mut now = 10_000;
        for sent in 1..=5 {
            assert_eq!(rate_limit(&state, now, &limits), None);
            state.sent_at.push(now);
            // The time named is when both limits allow a send: after the fifth, the hour's.
            let allowed = if sent < 5 { now + 60 } else { 10_000 + 3600 };
            assert_eq!(rate_limit(&state, now + 59, &limits), Some(allowed));
            now += 60;
        }
        assert_eq!(rate_limit(&state, now, &limits), Some(10_000 + 3600));
        assert_eq!(rate_limit(&state, 10_000 + 3600, &limits), None);
    }
}
