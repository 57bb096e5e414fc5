//! HMAC with the key's inner and outer states prepared once (RFC 2104 §4).
//!
//! An HOTP message is an 8-byte counter, so each code costs exactly two runs of the
//! hash's compression function: one for the inner hash, one for the outer. Preparing
//! `H(K ^ ipad)` and `H(K ^ opad)` once per secret, and padding the two final blocks by
//! hand, is the least work HMAC can be computed with; it is what makes verification
//! over a drift window cheap and allocation-free.
//!
//! The result is checked against the RustCrypto `hmac` crate for every algorithm and
//! key length by a property test below, and against the RFC vectors in `hotp` and `totp`.

use zeroize::Zeroize;

use super::algorithm::Algorithm;

/// The largest digest of the supported hashes (SHA-512), in bytes.
pub(crate) const MAX_DIGEST: usize = 64;

/// One Merkle-Damgård hash, seen through its compression function.
pub(crate) trait CompressionFunction {
    /// The chaining state (the hash's working words).
    type State: Copy + Zeroize;
    /// One message block.
    type Block: AsRef<[u8]> + AsMut<[u8]> + Zeroize;
    /// The initial chaining value of FIPS 180-4.
    const IV: Self::State;
    /// The digest length in bytes.
    const DIGEST_LEN: usize;
    /// How many bytes the message length takes at the end of the last block.
    const LENGTH_FIELD: usize;

    fn zero_block() -> Self::Block;
    fn compress(state: &mut Self::State, block: &Self::Block);
    /// Writes the state's words big-endian, the first `DIGEST_LEN` bytes.
    fn write_digest(state: &Self::State, out: &mut [u8]);
}

#[derive(Clone)]
pub(crate) struct Sha1Fn;
#[derive(Clone)]
pub(crate) struct Sha256Fn;
#[derive(Clone)]
pub(crate) struct Sha512Fn;

impl CompressionFunction for Sha1Fn {
    type State = [u32; 5];
    type Block = [u8; 64];
    const IV: Self::State = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
    const DIGEST_LEN: usize = 20;
    const LENGTH_FIELD: usize = 8;

    fn zero_block() -> Self::Block {
        [0; 64]
    }
    fn compress(state: &mut Self::State, block: &Self::Block) {
        sha1::block_api::compress(state, core::slice::from_ref(block));
    }
    fn write_digest(state: &Self::State, out: &mut [u8]) {
        for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }
}

impl CompressionFunction for Sha256Fn {
    type State = [u32; 8];
    type Block = [u8; 64];
    const IV: Self::State = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    const DIGEST_LEN: usize = 32;
    const LENGTH_FIELD: usize = 8;

    fn zero_block() -> Self::Block {
        [0; 64]
    }
    fn compress(state: &mut Self::State, block: &Self::Block) {
        sha2::block_api::compress256(state, core::slice::from_ref(block));
    }
    fn write_digest(state: &Self::State, out: &mut [u8]) {
        for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }
}

impl CompressionFunction for Sha512Fn {
    type State = [u64; 8];
    type Block = [u8; 128];
    const IV: Self::State = [
        0x6a09_e667_f3bc_c908,
        0xbb67_ae85_84ca_a73b,
        0x3c6e_f372_fe94_f82b,
        0xa54f_f53a_5f1d_36f1,
        0x510e_527f_ade6_82d1,
        0x9b05_688c_2b3e_6c1f,
        0x1f83_d9ab_fb41_bd6b,
        0x5be0_cd19_137e_2179,
    ];
    const DIGEST_LEN: usize = 64;
    const LENGTH_FIELD: usize = 16;

    fn zero_block() -> Self::Block {
        [0; 128]
    }
    fn compress(state: &mut Self::State, block: &Self::Block) {
        sha2::block_api::compress512(state, core::slice::from_ref(block));
    }
    fn write_digest(state: &Self::State, out: &mut [u8]) {
        for (chunk, word) in out.chunks_exact_mut(8).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }
}

/// Hashes a whole short message (at most a few blocks) from the IV; used only to
/// shorten keys longer than the block size, as RFC 2104 asks.
fn hash_key<H: CompressionFunction>(key: &[u8], out: &mut [u8; MAX_DIGEST]) {
    let mut state = H::IV;
    let mut block = H::zero_block();
    let block_len = block.as_ref().len();
    let mut chunks = key.chunks_exact(block_len);
    for chunk in &mut chunks {
        block.as_mut().copy_from_slice(chunk);
        H::compress(&mut state, &block);
    }
    let rest = chunks.remainder();
    let bits = (key.len() as u128).saturating_mul(8);
    block.zeroize();
    block.as_mut()[..rest.len()].copy_from_slice(rest);
    block.as_mut()[rest.len()] = 0x80;
    if rest.len() + 1 + H::LENGTH_FIELD > block_len {
        H::compress(&mut state, &block);
        block.zeroize();
    }
    write_length::<H>(block.as_mut(), bits);
    H::compress(&mut state, &block);
    H::write_digest(&state, &mut out[..H::DIGEST_LEN]);
    block.zeroize();
    state.zeroize();
}

/// Writes a message length in bits, big-endian, into the last bytes of a block.
fn write_length<H: CompressionFunction>(block: &mut [u8], bits: u128) {
    let end = block.len();
    let bytes = bits.to_be_bytes();
    block[end - H::LENGTH_FIELD..].copy_from_slice(&bytes[16 - H::LENGTH_FIELD..]);
}

/// The prepared inner and outer states of one key for one hash.
#[derive(Clone)]
pub(crate) struct Prepared<H: CompressionFunction> {
    inner: H::State,
    outer: H::State,
}

impl<H: CompressionFunction> Prepared<H> {
    fn new(key: &[u8]) -> Self {
        let mut padded = H::zero_block();
        let block_len = padded.as_ref().len();
        if key.len() > block_len {
            let mut digest = [0u8; MAX_DIGEST];
            hash_key::<H>(key, &mut digest);
            padded.as_mut()[..H::DIGEST_LEN].copy_from_slice(&digest[..H::DIGEST_LEN]);
            digest.zeroize();
        } else {
            padded.as_mut()[..key.len()].copy_from_slice(key);
        }
        let mut inner = H::IV;
        let mut outer = H::IV;
        padded.as_mut().iter_mut().for_each(|b| *b ^= 0x36);
        H::compress(&mut inner, &padded);
        padded.as_mut().iter_mut().for_each(|b| *b ^= 0x36 ^ 0x5c);
        H::compress(&mut outer, &padded);
        padded.zeroize();
        Prepared { inner, outer }
    }

    /// HMAC of the 8-byte big-endian counter: two compressions, no allocation.
    fn mac_counter(&self, counter: u64, out: &mut [u8; MAX_DIGEST]) {
        let mut block = H::zero_block();
        let block_len = block.as_ref().len() as u128;
        block.as_mut()[..8].copy_from_slice(&counter.to_be_bytes());
        block.as_mut()[8] = 0x80;
        write_length::<H>(block.as_mut(), (block_len + 8) * 8);
        let mut state = self.inner;
        H::compress(&mut state, &block);

        let mut outer_block = H::zero_block();
        H::write_digest(&state, &mut outer_block.as_mut()[..H::DIGEST_LEN]);
        outer_block.as_mut()[H::DIGEST_LEN] = 0x80;
        write_length::<H>(outer_block.as_mut(), (block_len + H::DIGEST_LEN as u128) * 8);
        state = self.outer;
        H::compress(&mut state, &outer_block);
        H::write_digest(&state, &mut out[..H::DIGEST_LEN]);
    }
}

impl<H: CompressionFunction> Drop for Prepared<H> {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

/// A secret's HMAC key, prepared once, for whichever algorithm the credential uses.
#[derive(Clone)]
pub(crate) enum KeyedHmac {
    Sha1(Prepared<Sha1Fn>),
    Sha256(Prepared<Sha256Fn>),
    Sha512(Prepared<Sha512Fn>),
}

impl KeyedHmac {
    pub(crate) fn new(algorithm: Algorithm, key: &[u8]) -> Self {
        match algorithm {
            Algorithm::Sha1 => KeyedHmac::Sha1(Prepared::new(key)),
            Algorithm::Sha256 => KeyedHmac::Sha256(Prepared::new(key)),
            Algorithm::Sha512 => KeyedHmac::Sha512(Prepared::new(key)),
        }
    }

    /// Writes HMAC(key, counter) into `digest` and returns its length.
    fn mac(&self, counter: u64, digest: &mut [u8; MAX_DIGEST]) -> usize {
        match self {
            KeyedHmac::Sha1(p) => {
                p.mac_counter(counter, digest);
                Sha1Fn::DIGEST_LEN
            }
            KeyedHmac::Sha256(p) => {
                p.mac_counter(counter, digest);
                Sha256Fn::DIGEST_LEN
            }
            KeyedHmac::Sha512(p) => {
                p.mac_counter(counter, digest);
                Sha512Fn::DIGEST_LEN
            }
        }
    }

    /// The RFC 4226 §5.3 dynamic truncation of HMAC(key, counter): a 31-bit number.
    pub(crate) fn truncated(&self, counter: u64) -> u32 {
        let mut digest = [0u8; MAX_DIGEST];
        let len = self.mac(counter, &mut digest);
        let offset = usize::from(digest[len - 1] & 0x0f);
        let bytes = [digest[offset], digest[offset + 1], digest[offset + 2], digest[offset + 3]];
        u32::from_be_bytes(bytes) & 0x7fff_ffff
    }

    /// The full HMAC tag of the counter, for tests against a reference HMAC.
    #[cfg(test)]
    fn tag(&self, counter: u64) -> alloc::vec::Vec<u8> {
        let mut digest = [0u8; MAX_DIGEST];
        let len = self.mac(counter, &mut digest);
        digest[..len].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{KeyInit, Mac};
    use proptest::prelude::*;

    fn reference(algorithm: Algorithm, key: &[u8], counter: u64) -> alloc::vec::Vec<u8> {
        let message = counter.to_be_bytes();
        match algorithm {
            Algorithm::Sha1 => {
                let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
                mac.update(&message);
                mac.finalize().into_bytes().to_vec()
            }
            Algorithm::Sha256 => {
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
                mac.update(&message);
                mac.finalize().into_bytes().to_vec()
            }
            Algorithm::Sha512 => {
                let mut mac = hmac::Hmac::<sha2::Sha512>::new_from_slice(key).unwrap();
                mac.update(&message);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn any_algorithm() -> impl Strategy<Value = Algorithm> {
        prop_oneof![Just(Algorithm::Sha1), Just(Algorithm::Sha256), Just(Algorithm::Sha512)]
    }

    proptest! {
        /// Keys shorter than, equal to and longer than the block (which are hashed
        /// first), across block boundaries of the key hash itself.
        #[test]
        fn matches_the_reference_hmac(
            algorithm in any_algorithm(),
            key in proptest::collection::vec(any::<u8>(), 0..300),
            counter in any::<u64>(),
        ) {
            let prepared = KeyedHmac::new(algorithm, &key);
            prop_assert_eq!(prepared.tag(counter), reference(algorithm, &key, counter));
        }
    }

    #[test]
    fn matches_the_reference_at_every_key_length_around_the_block_size() {
        for algorithm in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            for len in 0..=2 * algorithm.block_len() + 1 {
                let key: alloc::vec::Vec<u8> = (0..len).map(|i| i as u8).collect();
                let prepared = KeyedHmac::new(algorithm, &key);
                assert_eq!(prepared.tag(7), reference(algorithm, &key, 7), "{algorithm} {len}");
            }
        }
    }
}
