//! Randomness from the operating system's CSPRNG, in the shapes Keyway needs.

use rand::rngs::OsRng;
use rand::{Rng, RngCore};

pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    OsRng.fill_bytes(&mut out);
    out
}

/// `len` characters drawn uniformly from `alphabet` (rejection-free via `gen_range`).
pub fn string_from(alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[OsRng.gen_range(0..alphabet.len())]))
        .collect()
}

/// Lowercase hex of `N` random bytes.
pub fn hex<const N: usize>() -> String {
    hex::encode(bytes::<N>())
}
