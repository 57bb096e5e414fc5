//! The operating system's random source, failing closed.

use rand::TryRng;

use crate::SecretError;

/// Fills `bytes` from the operating system's CSPRNG.
pub(crate) fn fill(bytes: &mut [u8]) -> Result<(), SecretError> {
    rand::rngs::SysRng.try_fill_bytes(bytes).map_err(|_| SecretError::RandomSource)
}

/// A uniformly random index below `bound` (at most 256), by rejection sampling.
pub(crate) fn below(bound: u8) -> Result<u8, SecretError> {
    let limit = 256 - (256 % u16::from(bound.max(1)));
    loop {
        let mut byte = [0u8; 1];
        fill(&mut byte)?;
        if u16::from(byte[0]) < limit {
            return Ok(byte[0] % bound.max(1));
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
        let mut seen = [false; 31];
        for _ in 0..5_000 {
            let n = below(31).unwrap();
            seen[usize::from(n)] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(below(1).unwrap(), 0);
    }
}
