//! The service's failures: what the host logs (never shows), as opposed to the
//! [`Refusal`](crate::Refusal)s it shows to the user.

use thiserror::Error;

use crate::clock::ClockError;
use crate::flow::Failure;
use crate::otp::TimeError;
use crate::otp::uri::UriError;
use crate::seal::SealError;

/// Why a call to [`super::MfaService`] could not be carried out.
///
/// Every failure means nobody was let in and nothing was changed, with two exceptions
/// named at [`Error::Store`]: a store that cannot tell whether its write committed, and
/// a code whose send was reserved but whose fate (sent, or taken back) could not be
/// saved (the store, or the clock, failing while it was sent). None of the variants holds a secret or a code, so they are safe to log.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The host's store failed; nobody was let in. If the failure came after a write
    /// may have committed (a lost reply), the change and its audit events are either
    /// both stored or both absent, and the call is not retried.
    ///
    /// When sending an SMS or e-mail code, the send is first reserved in the record
    /// (audited as `backup_code_reserved`), then confirmed as sent or taken back. If
    /// the store fails after the reservation was saved (or the reservation's reply was
    /// lost), the reservation stays unconfirmed: its code never works, and
    /// [`SEND_DEADLINE`](crate::flow::destination::SEND_DEADLINE) after it was made it lapses
    /// at the record's next change: the send stops counting towards the limits, a
    /// destination it added is removed, and the trail says `backup_code_lapsed`. If
    /// the reply lost was that of the save confirming the send, the confirmation may
    /// have been stored: the message went, and its code works.
    #[error("the MFA store failed, so nobody was let in: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The record kept changing under concurrent updates.
    #[error("the user's MFA record kept changing during {attempts} attempts; nothing was changed, try again")]
    Contention {
        /// How many times the change was tried.
        attempts: u32,
    },
    /// The clock failed; nobody was let in and nothing was changed, but for a code's
    /// reservation saved before the clock failed while it was sent: that code never
    /// works, and lapses as after [`Error::Store`].
    #[error("the clock failed, so nobody was let in and nothing was changed: {0}")]
    Clock(#[from] ClockError),
    /// The secret sealer failed; nobody was let in and nothing was changed.
    #[error("the secret sealer failed, so nobody was let in and nothing was changed: {0}")]
    Sealer(#[from] SealError),
    /// The host's SMS or e-mail sender failed; the code was taken back and the send
    /// not counted (audited as `backup_code_not_sent`). If the store then fails while
    /// taking it back, the call returns [`Error::Store`] instead, and the reservation
    /// lapses as described there.
    #[error("the code could not be sent, so it was not issued: {0}")]
    Sender(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The operating system's random source failed; nothing was generated.
    #[error("the operating system's random number generator failed: nothing was generated or changed")]
    RandomSource,
    /// A secret of the configured length cannot be made (see `ServiceConfig::secret_len`).
    #[error("the service's settings are out of range: {0}")]
    Secret(crate::otp::SecretError),
    /// The clock's time cannot be turned into a TOTP time step.
    #[error(transparent)]
    Time(#[from] TimeError),
    /// The account name or issuer cannot go into an enrollment URI (a colon, say).
    #[error("the enrollment URI could not be built: {0}")]
    InvalidAccountName(#[from] UriError),
    /// The service's settings conflict with the policy (a TOTP period longer than the
    /// policy allows for new authenticators).
    #[error("the MFA service is misconfigured: {0}")]
    Misconfigured(String),
    /// The WebAuthn relying party failed (it could not make options, or read a
    /// ceremony's state); nobody was let in and nothing was registered.
    #[error(transparent)]
    RelyingParty(#[from] crate::relying_party::RelyingPartyError),
    /// The stored record was written by a newer or unknown version of this crate.
    #[error(
        "the stored MFA record has format {found}, but this version of mfa-kit reads format {supported}: upgrade mfa-kit"
    )]
    UnsupportedRecordFormat {
        /// The format found.
        found: u32,
        /// The format this version reads.
        supported: u32,
    },
    /// The store returned a record that belongs to another user.
    #[error("the store returned another user's record: check the store's keying")]
    WrongUserRecord,
    /// The host's permission check ([`super::permissions::Permissions`]) failed, so
    /// the admin's action was not carried out: nothing was changed, and nothing was
    /// audited as permitted.
    #[error("the permission check failed, so nothing was changed: {0}")]
    Permissions(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The name of a host's action given to
    /// [`MfaService::step_up_host_action`](super::MfaService::step_up_host_action) is not
    /// 1 to 64 printable characters without surrounding spaces; nothing was checked or
    /// audited.
    #[error("the host action's name must be 1 to 64 printable characters without surrounding spaces")]
    InvalidHostAction,
    /// [`MfaService::prune_audit`](super::MfaService::prune_audit) was asked to delete
    /// events the organisation must still keep: its presets require the trail to be
    /// kept for `retention` seconds, so only events before `earliest` may go. Nothing
    /// was deleted.
    #[error(
        "the audit trail must be kept for {} days under the organisation's rules: prune only events before {earliest} (asked: before {before}); nothing was deleted",
        .retention / 86_400
    )]
    RetentionRequired {
        /// How long the trail must be kept, in seconds.
        retention: u64,
        /// The latest `before` allowed now: events before it may be pruned.
        earliest: u64,
        /// The `before` asked for.
        before: u64,
    },
    /// No hashing key was given to the service, so recovery codes, out-of-band codes and
    /// remembered devices cannot be used.
    #[error("no hash key is configured: give one with MfaServiceBuilder::hash_key")]
    HashKeyMissing,
    /// An organisation's list, counts or evidence was asked for, or a reset or a
    /// settings change made in it, under the rules of another organisation: the
    /// context's organisation
    /// ([`SignInContext::in_org`](crate::policy::SignInContext::in_org)) is not the one
    /// asked for (or the list asked for is not of one organisation). Nothing was read
    /// or changed: make the context in the organisation acted on.
    #[error(
        "another organisation's list, report, reset or settings were asked for in organisation {context}: nothing was read or changed; make the context in the organisation acted on"
    )]
    OrgMismatch {
        /// The organisation asked for; `None`: a list of every organisation's records.
        asked: Option<crate::vocabulary::OrgId>,
        /// The organisation of the context.
        context: crate::vocabulary::OrgId,
    },
    /// An audit event could not be written into an export
    /// (`crate::flow::evidence::ExportFormat`, feature `export`); the chunk was not
    /// produced.
    #[cfg(feature = "export")]
    #[error(transparent)]
    Export(#[from] crate::flow::evidence::ExportError),
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Error {
        match failure {
            Failure::Time(error) => Error::Time(error),
            _ => Error::RandomSource,
        }
    }
}

impl From<crate::otp::SecretError> for Error {
    fn from(error: crate::otp::SecretError) -> Error {
        match error {
            crate::otp::SecretError::RandomSource => Error::RandomSource,
            other => Error::Secret(other),
        }
    }
}
