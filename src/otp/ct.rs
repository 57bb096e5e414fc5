//! Constant-time comparison helpers.
//!
//! Comparisons of secret material never exit early on the first differing byte, so
//! the time taken says nothing about how much of a guess was right.

use core::hint::black_box;

/// All ones when `a == b`, zero otherwise, computed without a branch.
#[inline]
pub(crate) fn eq_mask_u32(a: u32, b: u32) -> u64 {
    let diff = u64::from(black_box(a ^ b));
    // `diff | -diff` has its top bit set exactly when diff != 0.
    ((diff | diff.wrapping_neg()) >> 63).wrapping_sub(1)
}

/// Whether two byte strings are equal, in time that depends only on their lengths.
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | black_box(x ^ y));
    black_box(diff) == 0
}

/// Picks `if_set` where `mask` is all ones and `otherwise` where it is zero.
#[inline]
pub(crate) fn select_u64(mask: u64, if_set: u64, otherwise: u64) -> u64 {
    (if_set & mask) | (otherwise & !mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq_mask_is_all_ones_only_for_equal_values() {
        assert_eq!(eq_mask_u32(0, 0), u64::MAX);
        assert_eq!(eq_mask_u32(u32::MAX, u32::MAX), u64::MAX);
        assert_eq!(eq_mask_u32(1, 0), 0);
        assert_eq!(eq_mask_u32(0, 1 << 31), 0);
        assert_eq!(eq_mask_u32(123_456, 123_457), 0);
    }

    #[test]
    fn bytes_eq_compares_whole_strings() {
        assert!(bytes_eq(b"", b""));
        assert!(bytes_eq(b"abc", b"abc"));
        assert!(!bytes_eq(b"abc", b"abd"));
        assert!(!bytes_eq(b"abc", b"ab"));
    }

    #[test]
    fn select_takes_the_masked_side() {
        assert_eq!(select_u64(u64::MAX, 7, 9), 7);
        assert_eq!(select_u64(0, 7, 9), 9);
    }
}
