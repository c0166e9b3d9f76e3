//! Opaque tokens in Hydra's exact format (hydra-reference §5.1, fosite's HMAC strategy):
//! `b64url(32 random bytes) "." b64url(HMAC-SHA-512/256(SHA-256(secret), random bytes))`,
//! 87 characters, no prefix. Only the signature half is stored; the random half exists only
//! in the token the client holds. Every `secrets.system` entry verifies (rotation).

use crate::crypto::random;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512_256};
use subtle::ConstantTimeEq;

/// Random bytes per token (fosite's default entropy).
pub const TOKEN_ENTROPY: usize = 32;

type HmacSha512_256 = Hmac<Sha512_256>;

/// Why a string is not one of our tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token signature does not match")]
    SignatureMismatch,
}

/// The HMAC keys: SHA-256 of each `secrets.system` entry, the first one signs.
#[derive(Clone)]
pub struct HmacKeys {
    keys: Vec<[u8; 32]>,
}

impl std::fmt::Debug for HmacKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HmacKeys({} keys, [redacted])", self.keys.len())
    }
}

/// A freshly minted token and the signature under which it is stored.
pub struct Minted {
    pub token: String,
    pub signature: String,
}

impl HmacKeys {
    /// Keys from the secrets, in order; `None` when there is none.
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Option<HmacKeys> {
        let keys: Vec<[u8; 32]> = secrets
            .iter()
            .map(|s| Sha256::digest(s.as_ref().as_bytes()).into())
            .collect();
        (!keys.is_empty()).then_some(HmacKeys { keys })
    }

    fn mac(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
        // HMAC accepts keys of any length; a 32-byte key cannot fail.
        let Ok(mut mac) = <HmacSha512_256 as Mac>::new_from_slice(key) else {
            unreachable!("HMAC takes keys of any length")
        };
        mac.update(msg);
        mac.finalize().into_bytes().into()
    }

    /// A new token, signed with the first secret.
    pub fn mint(&self) -> Minted {
        let mut msg = [0u8; TOKEN_ENTROPY];
        random::fill(&mut msg);
        let sig = Self::mac(&self.keys[0], &msg);
        let signature = B64.encode(sig);
        Minted {
            token: format!("{}.{}", B64.encode(msg), signature),
            signature,
        }
    }

    /// The stored signature of `token` after checking its HMAC against every secret.
    pub fn signature(&self, token: &str) -> Result<String, TokenError> {
        let (msg, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
        if msg.is_empty() || sig.is_empty() || sig.contains('.') {
            return Err(TokenError::Malformed);
        }
        let msg = B64.decode(msg).map_err(|_| TokenError::Malformed)?;
        let given = B64.decode(sig).map_err(|_| TokenError::Malformed)?;
        for key in &self.keys {
            if bool::from(Self::mac(key, &msg).ct_eq(&given)) {
                return Ok(sig.to_string());
            }
        }
        Err(TokenError::SignatureMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_hydras_shape_and_verify() {
        let keys = HmacKeys::new(&["a-system-secret-of-some-length"]).unwrap();
        let minted = keys.mint();
        assert_eq!(minted.token.len(), 87);
        let (msg, sig) = minted.token.split_once('.').unwrap();
        assert_eq!((msg.len(), sig.len()), (43, 43));
        assert_eq!(keys.signature(&minted.token), Ok(minted.signature));
        assert_ne!(keys.mint().token, minted.token);
    }

    #[test]
    fn matches_hydras_construction() {
        // HMAC-SHA-512/256 keyed with SHA-256(secret), computed independently.
        let secret = "some-secret-for-a-fixed-vector";
        let msg = [7u8; 32];
        let key = Sha256::digest(secret.as_bytes());
        let mut mac = <HmacSha512_256 as Mac>::new_from_slice(&key).unwrap();
        mac.update(&msg);
        let token = format!(
            "{}.{}",
            B64.encode(msg),
            B64.encode(mac.finalize().into_bytes())
        );
        assert!(HmacKeys::new(&[secret]).unwrap().signature(&token).is_ok());
    }

    #[test]
    fn rotated_secrets_still_verify_and_others_do_not() {
        let old = HmacKeys::new(&["the-old-secret-0123456789"]).unwrap();
        let token = old.mint().token;
        let rotated =
            HmacKeys::new(&["the-new-secret-0123456789", "the-old-secret-0123456789"]).unwrap();
        assert!(rotated.signature(&token).is_ok());
        let other = HmacKeys::new(&["someone-elses-secret-0123"]).unwrap();
        assert_eq!(other.signature(&token), Err(TokenError::SignatureMismatch));
    }

    #[test]
    fn garbage_is_malformed() {
        let keys = HmacKeys::new(&["a-system-secret-of-some-length"]).unwrap();
        for bad in [
            "",
            ".",
            "abc",
            "a.",
            ".b",
            "a.b.c",
            "!!!.???",
            "eyJhbGciOiJIUzI1NiJ9.e30.sig",
        ] {
            assert!(keys.signature(bad).is_err(), "{bad}");
        }
    }
}
