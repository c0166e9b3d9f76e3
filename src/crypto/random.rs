//! Randomness, always from the operating system's CSPRNG.

use rand::distr::{Distribution, Uniform};
use rand::rngs::OsRng;
use rand::TryRngCore;

/// The alphabet of generated client secrets (Hydra's `[a-zA-Z0-9_-.~]`).
const SECRET_ALPHABET: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~";

/// Length of a generated client secret, as Hydra.
pub const CLIENT_SECRET_LENGTH: usize = 26;

/// `len` characters drawn uniformly from `alphabet`.
pub fn string_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = OsRng.unwrap_err();
    let Ok(pick) = Uniform::new(0, alphabet.len()) else {
        return String::new();
    };
    (0..len)
        .map(|_| char::from(alphabet[pick.sample(&mut rng)]))
        .collect()
}

/// Fills `dest` from the OS CSPRNG. A failing OS RNG is unrecoverable.
pub fn fill(dest: &mut [u8]) {
    rand::RngCore::fill_bytes(&mut OsRng.unwrap_err(), dest);
}

/// A new client secret: 26 characters, about 160 bits.
pub fn client_secret() -> String {
    string_from(SECRET_ALPHABET, CLIENT_SECRET_LENGTH)
}

/// A random UUID v4, as Hydra generates ids.
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secrets_are_26_chars_of_the_alphabet_and_differ() {
        let a = client_secret();
        let b = client_secret();
        assert_eq!(a.len(), 26);
        assert!(a.bytes().all(|c| SECRET_ALPHABET.contains(&c)));
        assert_ne!(a, b);
    }
}
