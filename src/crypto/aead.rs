//! Sealing data at rest with AES-256-GCM under `secrets.system`, byte-compatible with Hydra
//! 1.10.3 (`jwk/aead.go`, hydra-reference §8.7): the key is SHA-256 of the secret, a sealed
//! value is `nonce (12 bytes) || ciphertext || tag (16 bytes)` in the base64 URL alphabet with
//! padding, and opening tries every configured secret in order so that a rotation
//! (`secrets.system: [new, old]`) keeps old values readable. Used for JWKs (and later token
//! session blobs). May import: nothing from this crate.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use std::fmt;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Hydra writes Go's `base64.URLEncoding` (padded); reading also accepts unpadded input,
/// which costs nothing and spares an operator who trimmed the `=` by hand.
const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why sealing or opening failed. The messages name no key material and no plaintext.
#[derive(Debug, thiserror::Error)]
pub enum AeadError {
    #[error("secrets.system is empty: at least one secret is needed to seal data")]
    NoSecret,
    #[error("the sealed value is not valid base64url")]
    Encoding,
    #[error("the sealed value is too short to hold a nonce and a tag")]
    TooShort,
    #[error("the sealed value cannot be opened with any entry of secrets.system")]
    NoMatchingSecret,
    #[error("AES-256-GCM failed: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// AES-256-GCM keys derived from `secrets.system`; the first one seals, all of them open.
#[derive(Clone)]
pub struct Aead {
    /// Never empty: `new` refuses an empty list.
    keys: Vec<[u8; 32]>,
}

// Key material must not reach logs: only the number of secrets is shown.
impl fmt::Debug for Aead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aead")
            .field("secrets", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl Aead {
    /// Derives one key per secret, in order: `secrets[0]` seals, every entry opens.
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Result<Aead, AeadError> {
        if secrets.is_empty() {
            return Err(AeadError::NoSecret);
        }
        let keys = secrets
            .iter()
            .map(|s| openssl::sha::sha256(s.as_ref().as_bytes()))
            .collect();
        Ok(Aead { keys })
    }

    /// Seals `plaintext` under the first secret with a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, AeadError> {
        let key = self.keys.first().ok_or(AeadError::NoSecret)?;
        let mut nonce = [0u8; NONCE_LEN];
        openssl::rand::rand_bytes(&mut nonce)?;
        seal_with_nonce(key, &nonce, plaintext)
    }

    /// Opens a value sealed under any of the secrets, trying them in order.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, AeadError> {
        let raw = ENGINE
            .decode(sealed.trim())
            .map_err(|_| AeadError::Encoding)?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(AeadError::TooShort);
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        for key in &self.keys {
            // A wrong key fails the tag check; that is the expected outcome for every secret
            // but the one that sealed the value, so the error itself carries no information.
            if let Ok(plain) = decrypt_aead(
                Cipher::aes_256_gcm(),
                key,
                Some(nonce),
                &[],
                ciphertext,
                tag,
            ) {
                return Ok(plain);
            }
        }
        Err(AeadError::NoMatchingSecret)
    }
}

/// The sealing itself, with the nonce passed in so a test can reproduce a fixed vector.
fn seal_with_nonce(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    plaintext: &[u8],
) -> Result<String, AeadError> {
    let mut tag = [0u8; TAG_LEN];
    let ciphertext = encrypt_aead(
        Cipher::aes_256_gcm(),
        key,
        Some(nonce),
        &[],
        plaintext,
        &mut tag,
    )?;
    let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len() + TAG_LEN);
    out.extend_from_slice(nonce);
    out.extend_from_slice(&ciphertext);
    out.extend_from_slice(&tag);
    Ok(ENGINE.encode(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "portcullis-vector-secret-0123456";

    #[test]
    fn seal_then_open_round_trips() {
        let aead = Aead::new(&[SECRET]).unwrap();
        for plain in [&b""[..], b"x", b"{\"kty\":\"oct\"}", &[0u8; 4096][..]] {
            let sealed = aead.seal(plain).unwrap();
            assert_eq!(aead.open(&sealed).unwrap(), plain);
        }
    }

    #[test]
    fn sealing_twice_gives_different_values() {
        let aead = Aead::new(&[SECRET]).unwrap();
        assert_ne!(aead.seal(b"same").unwrap(), aead.seal(b"same").unwrap());
    }

    #[test]
    fn output_is_padded_base64url_of_nonce_ciphertext_tag() {
        let sealed = Aead::new(&[SECRET]).unwrap().seal(b"ab").unwrap();
        // 12 + 2 + 16 = 30 bytes -> 40 characters, no padding needed; 31 bytes needs one `=`.
        assert_eq!(sealed.len(), 40);
        let padded = Aead::new(&[SECRET]).unwrap().seal(b"abc").unwrap();
        assert!(padded.ends_with('='), "{padded}");
        assert!(!padded.contains('+') && !padded.contains('/'));
    }

    #[test]
    fn rotated_secrets_open_old_values_and_seal_with_the_new_one() {
        let old = Aead::new(&["old-secret-old-secret"]).unwrap();
        let sealed_old = old.seal(b"key material").unwrap();
        let rotated = Aead::new(&["new-secret-new-secret", "old-secret-old-secret"]).unwrap();
        assert_eq!(rotated.open(&sealed_old).unwrap(), b"key material");
        let sealed_new = rotated.seal(b"fresh").unwrap();
        let only_new = Aead::new(&["new-secret-new-secret"]).unwrap();
        assert_eq!(only_new.open(&sealed_new).unwrap(), b"fresh");
        assert!(matches!(
            old.open(&sealed_new),
            Err(AeadError::NoMatchingSecret)
        ));
    }

    #[test]
    fn wrong_secret_fails_cleanly() {
        let sealed = Aead::new(&[SECRET]).unwrap().seal(b"data").unwrap();
        let other = Aead::new(&["another-secret-entirely"]).unwrap();
        let err = other.open(&sealed).unwrap_err();
        assert!(matches!(err, AeadError::NoMatchingSecret));
        assert!(err.to_string().contains("secrets.system"));
    }

    #[test]
    fn damaged_input_fails_without_panicking() {
        let aead = Aead::new(&[SECRET]).unwrap();
        let sealed = aead.seal(b"some plaintext").unwrap();
        let mut bytes = ENGINE.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let flipped_tag = ENGINE.encode(&bytes);
        bytes[last] ^= 1;
        bytes[NONCE_LEN] ^= 0x80;
        let flipped_ciphertext = ENGINE.encode(&bytes);
        let cases: [(&str, &str); 8] = [
            ("empty", ""),
            ("not base64", "!!!!"),
            (
                "standard alphabet",
                "ab+/ab+/ab+/ab+/ab+/ab+/ab+/ab+/ab+/ab+/",
            ),
            ("short", "AAAAAAAAAAAAAAAAAAAA"),
            ("27 zero bytes", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            ("flipped tag", &flipped_tag),
            ("flipped ciphertext", &flipped_ciphertext),
            ("truncated", &sealed[..sealed.len() - 8]),
        ];
        for (name, input) in cases {
            assert!(aead.open(input).is_err(), "{name} opened");
        }
    }

    #[test]
    fn empty_secret_list_is_refused() {
        let none: [&str; 0] = [];
        assert!(matches!(Aead::new(&none), Err(AeadError::NoSecret)));
    }

    #[test]
    fn debug_shows_no_key_material() {
        let aead = Aead::new(&[SECRET, "second-secret-second"]).unwrap();
        let shown = format!("{aead:?}");
        assert_eq!(shown, "Aead { secrets: 2, .. }");
    }

    /// Computed independently (Python `cryptography` AESGCM, the same construction as Go's
    /// `gcm.Seal(nonce, nonce, p, nil)` + `base64.URLEncoding` in Hydra's `jwk/aead.go`).
    const HYDRA_VECTOR: &str = "AAECAwQFBgcICQoL4dPeWp4wt-jPTL-A_JX02B9f8wuopZbdeovd7PUH8ByNhirVD8eCvCCnf3Az6dXm5kpz7BVUFP9VCNo=";
    const VECTOR_PLAINTEXT: &[u8] = br#"{"kid":"vector","kty":"oct","k":"c2VjcmV0"}"#;

    #[test]
    fn a_value_sealed_by_hydras_scheme_opens() {
        let nonce: [u8; NONCE_LEN] = std::array::from_fn(|i| i as u8);
        let key = openssl::sha::sha256(SECRET.as_bytes());
        let ours = seal_with_nonce(&key, &nonce, VECTOR_PLAINTEXT).unwrap();
        assert_eq!(ours, HYDRA_VECTOR);
        let aead = Aead::new(&["some-newer-secret-value", SECRET]).unwrap();
        assert_eq!(aead.open(HYDRA_VECTOR).unwrap(), VECTOR_PLAINTEXT);
    }
}
