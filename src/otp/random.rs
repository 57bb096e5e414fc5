//! The operating system's random source, failing closed.

use rand::TryRng;

use zeroize::Zeroizing;

use crate::otp::SecretError;

/// Fills `bytes` from the operating system's CSPRNG.
pub(crate) fn fill(bytes: &mut [u8]) -> Result<(), SecretError> {
    rand::rngs::SysRng.try_fill_bytes(bytes).map_err(|_| SecretError::RandomSource)
}

/// Random bytes from the operating system's CSPRNG, fetched a block at a time, for
/// drawing many small numbers (the characters of a set of recovery codes) with a few
/// system calls rather than one each. Each byte is wiped as it is used, and the rest of
/// the block when it is dropped.
pub(crate) struct Draws {
    block: Zeroizing<[u8; Draws::BLOCK]>,
    next: usize,
}

impl Draws {
    const BLOCK: usize = 64;

    /// No bytes fetched yet.
    pub(crate) fn new() -> Draws {
        Draws { block: Zeroizing::new([0; Draws::BLOCK]), next: Draws::BLOCK }
    }

    fn byte(&mut self) -> Result<u8, SecretError> {
        if self.next == Draws::BLOCK {
            fill(&mut *self.block)?;
            self.next = 0;
        }
        let byte = std::mem::take(&mut self.block[self.next]);
        self.next += 1;
        Ok(byte)
    }

    /// A uniformly random number below `bound` (1 to 255), by rejection sampling.
    pub(crate) fn below(&mut self, bound: u8) -> Result<u8, SecretError> {
        let bound = bound.max(1);
        let limit = 256 - (256 % u16::from(bound));
        loop {
            let byte = self.byte()?;
            if u16::from(byte) < limit {
                return Ok(byte % bound);
            }
        }
    }
}

/// A uniformly random number below `bound`, by rejection sampling.
pub(crate) fn below_u32(bound: u32) -> Result<u32, SecretError> {
    let bound = bound.max(1);
    let limit = u32::MAX - (u32::MAX % bound);
    loop {
        let mut bytes = [0u8; 4];
        fill(&mut bytes)?;
        let n = u32::from_be_bytes(bytes);
        if n < limit {
            return Ok(n % bound);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_below_and_covers_the_range() {
        let mut draws = Draws::new();
        let mut counts = [0u32; 31];
        for _ in 0..31_000 {
            counts[usize::from(draws.below(31).unwrap())] += 1;
        }
        // Every value, each near its 1,000 (six standard deviations is about 190).
        assert!(counts.iter().all(|n| (800..1200).contains(n)), "{counts:?}");
        assert_eq!(draws.below(1).unwrap(), 0);
    }
}
