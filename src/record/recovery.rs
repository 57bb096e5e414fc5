//! Recovery codes as stored: keyed hashes and when each was used.

use serde::{Deserialize, Serialize};

use crate::keyed_hash::Digest;

/// One stored code: its keyed hash and when it was used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryEntry {
    pub(crate) hash: Digest,
    pub(crate) used_at: Option<u64>,
}

/// The stored set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    pub(crate) generated_at: u64,
    pub(crate) entries: Vec<RecoveryEntry>,
    /// Set when a code was redeemed under a policy that asks for a new set after any
    /// use ([`crate::policy::Policy::replace_recovery_codes_after_use`]); written only
    /// when set, so records without it read as not due.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) replacement_due: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl RecoveryCodes {
    /// When the set was generated.
    pub fn generated_at(&self) -> u64 {
        self.generated_at
    }

    /// How many codes are still unused.
    pub fn remaining(&self) -> usize {
        self.entries.iter().filter(|e| e.used_at.is_none()).count()
    }

    /// How many codes of the set have been used.
    pub fn used(&self) -> usize {
        self.entries.len() - self.remaining()
    }

    /// Whether the user should be prompted to replace this set: a code of it was
    /// redeemed under a policy that asks for a new set after any use (the NIST preset,
    /// SP 800-63B-4 §4.2). It stays due until a new set is generated, so the host can
    /// show the prompt on the next page as well as right after the redemption.
    pub fn replacement_due(&self) -> bool {
        self.replacement_due
    }
}
