//! The authenticator apps' state: the confirmed credentials (a user may have several:
//! a phone, a backup phone, a desktop app) and an enrollment in progress.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::otp::TotpParams;
use crate::seal::SealedSecret;
use crate::vocabulary::Method;

/// The most authenticators one user may have, apps and security keys together: each
/// app is another secret every code is checked against, each key another credential.
pub const MAX_AUTHENTICATORS: usize = 5;

/// The name of an authenticator the user did not name (the first one, a replacement,
/// an import, or one read from a format 1 record).
pub const DEFAULT_AUTHENTICATOR_NAME: &str = "Authenticator app";

/// [`DEFAULT_AUTHENTICATOR_NAME`] as shared text: the many authenticators that carry
/// it share one copy.
pub(crate) fn default_name() -> Arc<str> {
    static NAME: std::sync::LazyLock<Arc<str>> =
        std::sync::LazyLock::new(|| Arc::from(DEFAULT_AUTHENTICATOR_NAME));
    Arc::clone(&NAME)
}

/// The longest name an authenticator may have, in characters.
pub const MAX_AUTHENTICATOR_NAME: usize = 64;

/// A confirmed authenticator-app credential, one of the user's authenticators, with its
/// own replay floor, drift and last use.
///
/// What was fixed when it was set up (id, name, sealed secret, parameters) is shared
/// between copies of the record, so copying a record (out of a store's memory, for a
/// retried change) copies only what a sign-in changes.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "StoredCredential")]
pub struct TotpCredential {
    setup: Arc<Setup>,
    pub(crate) last_used_at: Option<u64>,
    /// The replay floor: no step at or below it is accepted again (RFC 6238 §5.2).
    pub(crate) last_accepted_step: Option<u64>,
    /// The learned clock drift of the user's device, in steps (RFC 6238 §6).
    pub(crate) drift: i64,
}

/// What is fixed when an authenticator is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Setup {
    /// A random id, unique among the user's authenticators (16 hex digits).
    id: Box<str>,
    /// What the user called it ("Work phone"); shared text, so the default name is one
    /// copy however many authenticators carry it.
    name: Arc<str>,
    secret: SealedSecret,
    params: TotpParams,
    created_at: u64,
}

/// The serialised form: every field at one level.
#[derive(Serialize)]
struct WrittenCredential<'a> {
    id: &'a str,
    name: &'a str,
    secret: &'a SealedSecret,
    params: &'a TotpParams,
    created_at: u64,
    last_used_at: Option<u64>,
    last_accepted_step: Option<u64>,
    drift: i64,
}

impl Serialize for TotpCredential {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let setup = &*self.setup;
        WrittenCredential {
            id: &setup.id,
            name: &setup.name,
            secret: &setup.secret,
            params: &setup.params,
            created_at: setup.created_at,
            last_used_at: self.last_used_at,
            last_accepted_step: self.last_accepted_step,
            drift: self.drift,
        }
        .serialize(serializer)
    }
}

/// The serialised form as read, from either format.
#[derive(Deserialize)]
struct StoredCredential {
    /// Absent in format 1.
    #[serde(default)]
    id: String,
    /// Absent in format 1.
    #[serde(default, with = "shared_text")]
    name: Arc<str>,
    secret: SealedSecret,
    params: TotpParams,
    created_at: u64,
    last_used_at: Option<u64>,
    last_accepted_step: Option<u64>,
    drift: i64,
}

impl From<StoredCredential> for TotpCredential {
    fn from(stored: StoredCredential) -> TotpCredential {
        // A format 1 credential has neither id nor name: its id comes from its creation
        // time, so that every read of the same record gives the same id.
        let id = match stored.id {
            id if id.is_empty() => format!("{:016x}", stored.created_at),
            id => id,
        };
        let name = if stored.name.is_empty() { default_name() } else { stored.name };
        let mut credential = TotpCredential::new(id, name, stored.secret, stored.params, stored.created_at);
        credential.last_used_at = stored.last_used_at;
        credential.last_accepted_step = stored.last_accepted_step;
        credential.drift = stored.drift;
        credential
    }
}

impl fmt::Debug for TotpCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpCredential")
            .field("id", &self.setup.id)
            .field("name", &self.setup.name)
            .field("secret", &self.setup.secret)
            .field("params", &self.setup.params)
            .field("created_at", &self.setup.created_at)
            .field("last_used_at", &self.last_used_at)
            .field("last_accepted_step", &self.last_accepted_step)
            .field("drift", &self.drift)
            .finish()
    }
}

impl TotpCredential {
    /// A credential set up at `created_at`, never used yet.
    pub(crate) fn new(
        id: String,
        name: Arc<str>,
        secret: SealedSecret,
        params: TotpParams,
        created_at: u64,
    ) -> TotpCredential {
        let setup = Setup { id: id.into(), name, secret, params, created_at };
        TotpCredential { setup: Arc::new(setup), last_used_at: None, last_accepted_step: None, drift: 0 }
    }

    /// Its id, unique among the user's authenticators: what a screen passes back to
    /// remove it.
    pub fn id(&self) -> &str {
        &self.setup.id
    }

    /// The name the user gave it.
    pub fn name(&self) -> &str {
        &self.setup.name
    }

    /// What a list of the user's authenticators shows of it (nothing secret).
    pub fn info(&self) -> AuthenticatorInfo {
        AuthenticatorInfo {
            id: self.id().to_string(),
            name: self.name().to_string(),
            method: Method::Totp,
            created_at: self.created_at(),
            last_used_at: self.last_used_at,
        }
    }

    /// The sealed secret, with the id of the key that sealed it (for key rotation).
    pub fn sealed_secret(&self) -> &SealedSecret {
        &self.setup.secret
    }

    /// Gives it another name (this copy's alone).
    pub(crate) fn rename(&mut self, name: &str) {
        Arc::make_mut(&mut self.setup).name = Arc::from(name);
    }

    /// The sealed secret, to re-seal it under another key (this copy's alone).
    pub(crate) fn sealed_secret_mut(&mut self) -> &mut SealedSecret {
        &mut Arc::make_mut(&mut self.setup).secret
    }

    /// The TOTP parameters.
    pub fn params(&self) -> &TotpParams {
        &self.setup.params
    }

    /// When the credential was confirmed.
    pub fn created_at(&self) -> u64 {
        self.setup.created_at
    }

    /// When a code of it was last accepted.
    pub fn last_used_at(&self) -> Option<u64> {
        self.last_used_at
    }

    /// The last accepted time step; codes of it and earlier steps are refused.
    pub fn last_accepted_step(&self) -> Option<u64> {
        self.last_accepted_step
    }

    /// The learned drift of the user's clock, in time steps.
    pub fn drift(&self) -> i64 {
        self.drift
    }
}

/// One authenticator as the user's list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuthenticatorInfo {
    /// Its id, to remove it by.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What kind of authenticator it is: [`Method::Totp`] (an app) or
    /// [`Method::SecurityKey`] (a security key or passkey).
    pub method: Method,
    /// When it was set up.
    pub created_at: u64,
    /// When it last proved the second factor (a code accepted, a key's signature).
    pub last_used_at: Option<u64>,
}

/// Checks and tidies a name the user gave an authenticator: trimmed, 1 to
/// [`MAX_AUTHENTICATOR_NAME`] characters, no control characters.
pub(crate) fn authenticator_name(name: &str) -> Option<String> {
    let name = name.trim();
    let fits = (1..=MAX_AUTHENTICATOR_NAME).contains(&name.chars().count());
    (fits && !name.chars().any(char::is_control)).then(|| name.to_string())
}

/// An enrollment that was started and not yet confirmed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEnrollment {
    pub(crate) secret: SealedSecret,
    pub(crate) params: TotpParams,
    pub(crate) started_at: u64,
    pub(crate) expires_at: u64,
    pub(crate) failed_attempts: u32,
    /// The account name the URI was built for, so the same QR code can be shown again.
    #[serde(default)]
    pub(crate) account: Option<String>,
    /// Read from records written before the restart limit's history moved to the
    /// record (`enrollment_starts`), and moved there as it is read; written empty.
    #[serde(default)]
    pub(crate) starts: Vec<u64>,
    /// The name of the authenticator being added beside the others; `None` when it
    /// replaces them.
    #[serde(default)]
    pub(crate) adding: Option<String>,
}

impl PendingEnrollment {
    /// The sealed secret of the authenticator being set up.
    pub fn sealed_secret(&self) -> &SealedSecret {
        &self.secret
    }

    /// Its TOTP parameters.
    pub fn params(&self) -> &TotpParams {
        &self.params
    }

    /// The account name the enrollment's URI was built for.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// When it was started.
    pub fn started_at(&self) -> u64 {
        self.started_at
    }

    /// When it expires unless confirmed.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// The name of the authenticator being added beside the others, or `None` when
    /// the new one will replace them.
    pub fn adding(&self) -> Option<&str> {
        self.adding.as_deref()
    }
}

/// Reading shared text, written as a plain string.
mod shared_text {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<str>, D::Error> {
        let text = String::deserialize(deserializer)?;
        // The default name is shared, however many records read it.
        Ok(if text == super::DEFAULT_AUTHENTICATOR_NAME { super::default_name() } else { Arc::from(text) })
    }
}
