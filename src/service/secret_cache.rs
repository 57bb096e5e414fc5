//! Authenticator secrets opened by the sealer, kept between calls so a sign-in asks
//! the sealer (a KMS round trip) and prepares the HMAC key once per credential.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Error, MfaService};
use crate::cache_line::CacheLine;
use crate::otp::{Totp, TotpParams};
use crate::record::TotpCredential;
use crate::seal::{SealedSecret, SecretSealer};
use crate::store::Store;
use crate::vocabulary::{UserId, UserIdHash};

/// An authenticator's secret opened by the sealer, with the sealed form it was opened
/// from. The key material is shared (`Arc`), so a call borrows it without copying or
/// wiping it.
#[derive(Clone)]
pub(super) struct OpenedSecret {
    pub(super) sealed: SealedSecret,
    pub(super) totp: Arc<Totp>,
}

impl std::borrow::Borrow<Totp> for OpenedSecret {
    fn borrow(&self) -> &Totp {
        &self.totp
    }
}

/// Opened authenticators by user, in the order of the record's authenticators.
type Opened = HashMap<UserId, Arc<[OpenedSecret]>, UserIdHash>;

/// Authenticator secrets opened by the sealer, kept between calls while the record
/// still holds the same sealed secrets; sharded so app-server threads working for
/// different users do not wait for each other.
pub(super) struct SecretCache {
    shards: Vec<CacheLine<Mutex<Opened>>>,
    per_shard: usize,
}

impl SecretCache {
    const SHARDS: usize = 16;

    pub(super) fn new(capacity: usize) -> SecretCache {
        let per_shard = capacity.div_ceil(SecretCache::SHARDS);
        SecretCache { shards: (0..SecretCache::SHARDS).map(|_| CacheLine::default()).collect(), per_shard }
    }

    fn shard(&self, user: &UserId) -> std::sync::MutexGuard<'_, Opened> {
        let index = user.shard(SecretCache::SHARDS);
        // A panic while holding the lock leaves at worst a stale entry, which is only
        // used while it matches the record's sealed secret.
        self.shards[index].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The opened secrets of `credentials`, if the cache holds every one of them.
    pub(super) fn get(&self, user: &UserId, credentials: &[TotpCredential]) -> Option<Arc<[OpenedSecret]>> {
        let shard = self.shard(user);
        let opened = shard.get(user)?;
        let same = opened.len() == credentials.len()
            && opened.iter().zip(credentials).all(|(was, now)| was.sealed == *now.sealed_secret());
        same.then(|| Arc::clone(opened))
    }

    /// The opened secret of `sealed`, if the cache holds it among the user's.
    pub(super) fn find(&self, user: &UserId, sealed: &SealedSecret) -> Option<Arc<Totp>> {
        let shard = self.shard(user);
        shard.get(user)?.iter().find(|was| was.sealed == *sealed).map(|was| Arc::clone(&was.totp))
    }

    pub(super) fn forget(&self, user: &UserId) {
        self.shard(user).remove(user);
    }

    pub(super) fn put(&self, user: &UserId, opened: &Arc<[OpenedSecret]>) {
        if self.per_shard == 0 {
            return;
        }
        let mut shard = self.shard(user);
        if shard.len() >= self.per_shard && !shard.contains_key(user) {
            let evicted = shard.keys().next().cloned();
            if let Some(evicted) = evicted {
                shard.remove(&evicted);
            }
        }
        shard.insert(user.clone(), Arc::clone(opened));
    }
}

impl<S: Store, K: SecretSealer> MfaService<S, K> {
    /// The user's authenticators, opened, when the cache does not hold them all: each
    /// from the cache if it holds that one, otherwise from the sealer; then cached.
    pub(super) async fn open_authenticators(
        &self,
        user: &UserId,
        credentials: &[TotpCredential],
        kept: &mut Option<Arc<[OpenedSecret]>>,
    ) -> Result<Arc<[OpenedSecret]>, Error> {
        let mut opened = Vec::with_capacity(credentials.len());
        for credential in credentials {
            let sealed = credential.sealed_secret();
            // The cache, then what an earlier attempt of this call opened (the cache
            // may keep nothing), then the sealer.
            let earlier =
                || kept.as_ref()?.iter().find(|was| was.sealed == *sealed).map(|was| Arc::clone(&was.totp));
            let totp = match self.opened.find(user, sealed).or_else(earlier) {
                Some(totp) => totp,
                None => Arc::new(Totp::new(&self.sealer.open(user, sealed).await?, *credential.params())),
            };
            opened.push(OpenedSecret { sealed: sealed.clone(), totp });
        }
        let opened: Arc<[OpenedSecret]> = opened.into();
        self.opened.put(user, &opened);
        *kept = Some(Arc::clone(&opened));
        Ok(opened)
    }

    /// A pending enrollment's secret, opened once per call (kept across its retries).
    pub(super) async fn open_pending(
        &self,
        user: &UserId,
        sealed: &SealedSecret,
        params: TotpParams,
        kept: &mut Option<Arc<[OpenedSecret]>>,
    ) -> Result<Arc<[OpenedSecret]>, Error> {
        if let Some(opened) = kept.as_ref().filter(|opened| opened.iter().all(|was| was.sealed == *sealed)) {
            return Ok(Arc::clone(opened));
        }
        let totp = Arc::new(Totp::new(&self.sealer.open(user, sealed).await?, params));
        let opened: Arc<[OpenedSecret]> = Arc::new([OpenedSecret { sealed: sealed.clone(), totp }]);
        *kept = Some(Arc::clone(&opened));
        Ok(opened)
    }
}
