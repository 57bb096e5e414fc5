//! Building a service: its settings that are not policy, and the builder that puts
//! the host's store, sealer, clock, policy and relying party together.

use std::sync::Arc;

use super::MfaService;
use super::secret_cache::SecretCache;
use crate::clock::{Clock, SystemClock};
use crate::event::AuditSink;
use crate::flow::Rules;
use crate::keyed_hash::HashKey;
use crate::otp::{Secret, TotpParams};
use crate::policy::{Policy, StandardPolicy};
use crate::seal::SecretSealer;
use crate::store::Store;

/// Settings of the service that are not policy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// The name authenticator apps show beside the account (no colon).
    pub issuer: String,
    /// Parameters of new authenticators: SHA-1, 6 digits, 30 s unless you know every
    /// user's app supports more; T0 must stay 0 (a Key URI cannot carry another, and
    /// enrollment is refused as [`crate::service::Error::Misconfigured`]).
    pub totp_params: TotpParams,
    /// The length of new secrets in bytes (20: 160 bits, RFC 4226 §4).
    pub secret_len: usize,
    /// How many times a change is tried when the record changed meanwhile (0 reads
    /// as 1).
    pub max_attempts: u32,
    /// About how many users' opened authenticator secrets the service keeps in memory
    /// between calls (default 10,000; kept in 16 parts, so rounded up to a multiple of
    /// 16), so the sealer (a KMS round trip) and the HMAC key preparation run once per
    /// credential rather than once per code. An entry is used only while the record
    /// still holds the same sealed secret. 0 keeps none: every call opens the secret
    /// again (once per call, whatever its retries).
    ///
    /// A cached secret is used without asking the sealer: a sealer that is down, or a
    /// key revoked in the KMS, does not stop users whose secrets are cached until
    /// their record changes or the service is built again. Set 0 where the KMS must be
    /// able to cut sign-ins off at once.
    pub secret_cache: usize,
    /// The transitions' rules: drift window, confirmation, SMS and e-mail limits,
    /// recovery-code count.
    pub rules: Rules,
}

impl ServiceConfig {
    /// The defaults, with the issuer name apps will show.
    pub fn new(issuer: impl Into<String>) -> ServiceConfig {
        ServiceConfig {
            issuer: issuer.into(),
            totp_params: TotpParams::DEFAULT,
            secret_len: Secret::DEFAULT_LEN,
            max_attempts: 64,
            secret_cache: 10_000,
            rules: Rules::DEFAULT,
        }
    }

    /// The same settings with other transition rules.
    #[must_use]
    pub fn with_rules(mut self, rules: Rules) -> ServiceConfig {
        self.rules = rules;
        self
    }
}

/// Builds an [`MfaService`]; see [`MfaService::builder`]. It holds the service with
/// its defaults and replaces the parts it is given.
pub struct MfaServiceBuilder<S, K>(MfaService<S, K>);

impl<S: Store, K: SecretSealer> MfaServiceBuilder<S, K> {
    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.0.clock = Arc::new(clock);
        self
    }

    /// Where stored audit events are pushed too, as a feed (default: nowhere; the
    /// store keeps the trail either way, and without a sink the events go to the store
    /// without being copied).
    #[must_use]
    pub fn audit(mut self, audit: impl AuditSink + 'static) -> Self {
        self.0.audit = Some(Arc::new(audit));
        self
    }

    /// The policy (default: [`StandardPolicy::new`]).
    #[must_use]
    pub fn policy(mut self, policy: impl Policy + 'static) -> Self {
        self.0.policy = Arc::new(policy);
        self
    }

    /// The key for hashing recovery codes, out-of-band codes and device tokens; needed
    /// for those methods. Keep it outside the database and share it between servers.
    #[must_use]
    pub fn hash_key(mut self, key: HashKey) -> Self {
        self.0.hash_key = Some(key);
        self
    }

    /// The settings (default: [`ServiceConfig::new`] with the issuer given to the builder).
    #[must_use]
    pub fn config(mut self, config: ServiceConfig) -> Self {
        self.0.config = config;
        self
    }

    /// The WebAuthn relying party that registers and checks security keys and
    /// passkeys (`mfa_kit_webauthn::WebauthnParty`); without one, the security-key
    /// calls fail with [`Error::Misconfigured`](super::Error::Misconfigured).
    #[must_use]
    pub fn relying_party(mut self, party: impl crate::relying_party::RelyingParty + 'static) -> Self {
        self.0.relying_party = Some(Arc::new(party));
        self
    }

    /// The service.
    pub fn build(mut self) -> MfaService<S, K> {
        self.0.opened = SecretCache::new(self.0.config.secret_cache);
        self.0
    }
}

impl<S, K> std::fmt::Debug for MfaServiceBuilder<S, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MfaServiceBuilder").field(&self.0).finish()
    }
}

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// Starts building a service over the host's store and sealer, with the issuer name
    /// authenticator apps will show.
    pub fn builder(issuer: impl Into<String>, store: S, sealer: K) -> MfaServiceBuilder<S, K> {
        MfaServiceBuilder(MfaService {
            store,
            sealer,
            opened: SecretCache::new(0),
            hash_key: None,
            clock: Arc::new(SystemClock),
            audit: None,
            policy: Arc::new(StandardPolicy::new()),
            relying_party: None,
            config: ServiceConfig::new(issuer),
        })
    }
}
