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
}
