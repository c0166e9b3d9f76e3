//! Client secret hashing: new hashes are argon2id (PHC string `$argon2id$...`); hashes written
//! by Hydra (bcrypt `$2a$`/`$2b$`/`$2y$`) still verify, so clients imported from a Hydra
//! database keep their secrets. Both comparisons are constant-time. Hashing is deliberately
//! slow: callers run it on the blocking pool ([`Hasher::hash`] and [`Hasher::verify`] do).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// How new hashes are made (`oauth2.hashers.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// argon2id with memory (KiB), iterations, parallelism.
    Argon2id {
        memory: u32,
        iterations: u32,
        parallelism: u32,
    },
    /// bcrypt with this cost, as Hydra 1.10.3 hashes.
    Bcrypt { cost: u32 },
}

/// Why hashing failed (bad parameters; never the secret).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

#[derive(Debug, Clone, Copy)]
pub struct Hasher {
    scheme: Scheme,
}

impl Hasher {
    /// A hasher for `scheme`; refuses parameters the algorithm cannot use.
    pub fn new(scheme: Scheme) -> Result<Hasher, HashError> {
        let hasher = Hasher { scheme };
        if let Scheme::Bcrypt { cost } = scheme {
            if !(4..=31).contains(&cost) {
                return Err(HashError(format!("bcrypt cost {cost} is outside 4..=31")));
            }
        }
        hasher.argon2()?;
        Ok(hasher)
    }

    fn argon2(&self) -> Result<Argon2<'static>, HashError> {
        let (m, t, p) = match self.scheme {
            Scheme::Argon2id {
                memory,
                iterations,
                parallelism,
            } => (memory, iterations, parallelism),
            Scheme::Bcrypt { .. } => (
                Params::DEFAULT_M_COST,
                Params::DEFAULT_T_COST,
                Params::DEFAULT_P_COST,
            ),
        };
        let params = Params::new(m, t, p, None).map_err(|e| HashError(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// A hash of `secret` (argon2id PHC string or bcrypt), computed on the blocking pool.
    pub async fn hash(&self, secret: String) -> Result<String, HashError> {
        let this = *self;
        tokio::task::spawn_blocking(move || this.hash_now(&secret))
            .await
            .map_err(|e| HashError(e.to_string()))?
    }

    fn hash_now(&self, secret: &str) -> Result<String, HashError> {
        if let Scheme::Bcrypt { cost } = self.scheme {
            return bcrypt::hash(secret, cost).map_err(|e| HashError(e.to_string()));
        }
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        self.argon2()?
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    }

    /// Whether `secret` matches `hash` (argon2 or bcrypt), computed on the blocking pool.
    /// A malformed or empty hash never matches.
    pub async fn verify(&self, secret: String, hash: String) -> bool {
        tokio::task::spawn_blocking(move || verify_now(&secret, &hash))
            .await
            .unwrap_or(false)
    }
}

fn verify_now(secret: &str, hash: &str) -> bool {
    if hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$") {
        return bcrypt::verify(secret, hash).unwrap_or(false);
    }
    if hash.starts_with("$argon2") {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        // Verification uses the parameters recorded in the hash itself.
        return Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> Hasher {
        Hasher::new(Scheme::Argon2id {
            memory: 256,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn argon2id_round_trip() {
        let h = fast();
        let hash = h.hash("a-client-secret".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{hash}");
        assert!(h.verify("a-client-secret".into(), hash.clone()).await);
        assert!(!h.verify("a-client-secreT".into(), hash.clone()).await);
        assert!(!h.verify(String::new(), hash).await);
    }

    #[tokio::test]
    async fn hydra_bcrypt_hashes_verify() {
        // A hash as Hydra 1.10.3 stores it (bcrypt, cost 10).
        let hash = bcrypt::hash("hydra-secret", 4).unwrap();
        let hydra_style = hash.replacen("$2b$", "$2a$", 1);
        let h = fast();
        assert!(h.verify("hydra-secret".into(), hydra_style.clone()).await);
        assert!(!h.verify("other".into(), hydra_style).await);
    }

    #[tokio::test]
    async fn malformed_hashes_never_match() {
        let h = fast();
        for hash in ["", "plaintext", "$argon2id$broken", "$2a$10$short"] {
            assert!(!h.verify("plaintext".into(), hash.into()).await, "{hash}");
        }
    }

    #[tokio::test]
    async fn bcrypt_scheme_writes_hydra_compatible_hashes() {
        let h = Hasher::new(Scheme::Bcrypt { cost: 4 }).unwrap();
        let hash = h.hash("s3cret-value".into()).await.unwrap();
        assert!(hash.starts_with("$2b$04$"), "{hash}");
        assert!(h.verify("s3cret-value".into(), hash).await);
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(Hasher::new(Scheme::Argon2id {
            memory: 1,
            iterations: 0,
            parallelism: 1
        })
        .is_err());
        assert!(Hasher::new(Scheme::Bcrypt { cost: 3 }).is_err());
    }
}
