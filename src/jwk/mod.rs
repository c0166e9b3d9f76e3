//! JSON Web Keys: key sets sealed at rest, the admin operations of `/keys`, the start-up key
//! sets, the public JWKS and the signing keys the token engine uses. Keys are held decrypted
//! in memory per set and refreshed on local writes and after a short TTL (another instance
//! may have changed them); Hydra re-reads and decrypts on every signature, we do not.
//! May import: `crypto`, `error`.

pub mod jws;
pub mod key;
pub mod store;

pub use key::{JsonWebKey, JsonWebKeySet};
pub use store::{KeyStore, SealedKey};

use crate::crypto::aead::Aead;
use crate::error::Error;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use jws::SigningKey;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The key set that signs ID tokens (and userinfo and logout tokens).
pub const ID_TOKEN_SET: &str = "hydra.openid.id-token";
/// The key set that signs JWT access tokens.
pub const ACCESS_TOKEN_SET: &str = "hydra.jwt.access-token";
/// How long a cached set is trusted before it is read again.
const CACHE_TTL: Duration = Duration::from_secs(5);

/// `POST /keys/{set}` body (`jsonWebKeySetGeneratorRequest`).
#[derive(Debug, Clone, Deserialize)]
pub struct GeneratorRequest {
    pub alg: String,
    #[serde(default)]
    pub kid: String,
    #[serde(default, rename = "use")]
    pub use_: String,
}

struct CachedSet {
    keys: Vec<JsonWebKey>,
    signer: Option<Arc<SigningKey>>,
    read_at: Instant,
}

/// The serialized public JWKS and the cached sets it was built from.
type JwksBody = (Vec<Arc<CachedSet>>, Bytes);

/// Key sets: sealing, caching and signing. One per process, shared by both routers.
pub struct KeyManager {
    aead: Aead,
    rsa_bits: u32,
    cache: RwLock<HashMap<String, Arc<CachedSet>>>,
    /// The last `/.well-known/jwks.json` body: rebuilt only when one of its sets was re-read.
    jwks: RwLock<Option<JwksBody>>,
}

fn sealing_failed(e: impl std::fmt::Display) -> Error {
    Error::server_error().debug(e)
}

/// Hydra's own not-found for a key set (hydra-reference §1.3), typo included.
fn set_not_found() -> Error {
    Error::new("Not Found", "Unable to located the requested resource", 404)
}

impl KeyManager {
    pub fn new(aead: Aead, rsa_bits: u32) -> KeyManager {
        KeyManager {
            aead,
            rsa_bits,
            cache: RwLock::new(HashMap::new()),
            jwks: RwLock::new(None),
        }
    }

    fn seal(&self, key: &JsonWebKey, now: DateTime<Utc>) -> Result<SealedKey, Error> {
        let json = serde_json::to_vec(key).map_err(sealing_failed)?;
        let keydata = self.aead.seal(&json).map_err(sealing_failed)?;
        let kid = key.kid.clone().unwrap_or_default();
        Ok(SealedKey {
            kid,
            keydata,
            created_at: now,
        })
    }

    fn open(&self, sealed: &SealedKey) -> Result<JsonWebKey, Error> {
        let json = self.aead.open(&sealed.keydata).map_err(|e| {
            Error::server_error().debug(format!(
                "key {} cannot be decrypted with secrets.system: {e}",
                sealed.kid
            ))
        })?;
        serde_json::from_slice(&json).map_err(sealing_failed)
    }

    fn forget(&self, set: &str) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(set);
        }
    }

    /// The decrypted keys of `set`, newest first, from the cache when fresh.
    async fn cached(&self, store: &impl KeyStore, set: &str) -> Result<Arc<CachedSet>, Error> {
        if let Some(hit) = self.cache.read().ok().and_then(|c| c.get(set).cloned()) {
            if hit.read_at.elapsed() < CACHE_TTL {
                return Ok(hit);
            }
        }
        let sealed = store.get_key_set(set).await?;
        let keys = sealed
            .iter()
            .map(|k| self.open(k))
            .collect::<Result<Vec<_>, _>>()?;
        // The newest private key that can sign (a set may also hold encryption keys).
        let signer = keys
            .iter()
            .filter(|k| key::is_private(k) && k.kty.as_deref() != Some("oct"))
            .find_map(|k| SigningKey::from_jwk(k).ok())
            .map(Arc::new);
        let entry = Arc::new(CachedSet {
            keys,
            signer,
            read_at: Instant::now(),
        });
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(set.to_string(), entry.clone());
        }
        Ok(entry)
    }

    /// [`KeyManager::cached`] for each of `sets`, in order.
    async fn cached_sets(
        &self,
        store: &impl KeyStore,
        sets: &[String],
    ) -> Result<Vec<Arc<CachedSet>>, Error> {
        let mut cached = Vec::with_capacity(sets.len());
        for set in sets {
            cached.push(self.cached(store, set).await?);
        }
        Ok(cached)
    }

    /// `POST /keys/{set}`: generates a key (pair) and adds it to the set.
    pub async fn generate(
        &self,
        store: &impl KeyStore,
        set: &str,
        req: &GeneratorRequest,
        now: DateTime<Utc>,
    ) -> Result<JsonWebKeySet, Error> {
        let keys = self.generate_keys(req).await?;
        let sealed = keys
            .iter()
            .map(|k| self.seal(k, now))
            .collect::<Result<Vec<_>, _>>()?;
        store.insert_keys(set, &sealed).await?;
        self.forget(set);
        Ok(JsonWebKeySet { keys })
    }

    /// Key generation is CPU-heavy (RSA): it runs on the blocking pool.
    async fn generate_keys(&self, req: &GeneratorRequest) -> Result<Vec<JsonWebKey>, Error> {
        let (req, bits) = (req.clone(), self.rsa_bits);
        tokio::task::spawn_blocking(move || key::generate(&req.alg, &req.kid, &req.use_, bits))
            .await
            .map_err(sealing_failed)?
    }

    /// `GET /keys/{set}`: every key of the set, private members included (admin only).
    pub async fn get_set(&self, store: &impl KeyStore, set: &str) -> Result<JsonWebKeySet, Error> {
        let cached = self.cached(store, set).await?;
        if cached.keys.is_empty() {
            return Err(set_not_found());
        }
        Ok(JsonWebKeySet {
            keys: cached.keys.clone(),
        })
    }

    /// `GET /keys/{set}/{kid}`: a set holding that one key.
    pub async fn get_key(
        &self,
        store: &impl KeyStore,
        set: &str,
        kid: &str,
    ) -> Result<JsonWebKeySet, Error> {
        let sealed = store.get_key(set, kid).await?;
        Ok(JsonWebKeySet {
            keys: vec![self.open(&sealed)?],
        })
    }

    /// `PUT /keys/{set}`: replaces the set with the given keys (each checked, each with a kid).
    pub async fn put_set(
        &self,
        store: &impl KeyStore,
        set: &str,
        body: JsonWebKeySet,
        now: DateTime<Utc>,
    ) -> Result<JsonWebKeySet, Error> {
        let mut seen = std::collections::HashSet::new();
        for k in &body.keys {
            key::check(k)?;
            let kid = k.kid.as_deref().unwrap_or_default();
            if kid.is_empty() {
                return Err(Error::invalid_request().hint("Every key of the set must have a kid."));
            }
            if !seen.insert(kid.to_string()) {
                return Err(Error::invalid_request()
                    .hint(format!("The kid \"{kid}\" appears twice in the set.")));
            }
        }
        // Read back newest first: the body's first key gets the latest timestamp.
        let sealed = body
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| self.seal(k, now - chrono::Duration::microseconds(i as i64)))
            .collect::<Result<Vec<_>, _>>()?;
        store.replace_key_set(set, &sealed).await?;
        self.forget(set);
        Ok(body)
    }

    /// `PUT /keys/{set}/{kid}`: replaces one key. The path's kid wins (Hydra used the body's).
    pub async fn put_key(
        &self,
        store: &impl KeyStore,
        set: &str,
        kid: &str,
        mut body: JsonWebKey,
        now: DateTime<Utc>,
    ) -> Result<JsonWebKey, Error> {
        body.kid = Some(kid.to_string());
        key::check(&body)?;
        store.replace_key(set, &self.seal(&body, now)?).await?;
        self.forget(set);
        Ok(body)
    }

    /// `DELETE /keys/{set}`.
    pub async fn delete_set(&self, store: &impl KeyStore, set: &str) -> Result<(), Error> {
        store.delete_key_set(set).await?;
        self.forget(set);
        Ok(())
    }

    /// `DELETE /keys/{set}/{kid}`.
    pub async fn delete_key(
        &self,
        store: &impl KeyStore,
        set: &str,
        kid: &str,
    ) -> Result<(), Error> {
        store.delete_key(set, kid).await?;
        self.forget(set);
        Ok(())
    }

    /// Creates `set` with one RS256 key pair unless it has keys; several processes starting
    /// at once on one database end up with exactly one set. Then checks that every key of the
    /// set opens with `secrets.system`.
    pub async fn ensure_set(
        &self,
        store: &impl KeyStore,
        set: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        if store.get_key_set(set).await?.is_empty() {
            let req = GeneratorRequest {
                alg: "RS256".into(),
                kid: String::new(),
                use_: "sig".into(),
            };
            let keys = self.generate_keys(&req).await?;
            let sealed = keys
                .iter()
                .map(|k| self.seal(k, now))
                .collect::<Result<Vec<_>, _>>()?;
            store.create_key_set_if_absent(set, &sealed).await?;
        }
        self.forget(set);
        self.cached(store, set).await.map(|_| ())
    }

    /// The newest private key of `set`, ready to sign.
    pub async fn signer(&self, store: &impl KeyStore, set: &str) -> Result<Arc<SigningKey>, Error> {
        self.cached(store, set)
            .await?
            .signer
            .clone()
            .ok_or_else(|| {
                Error::server_error().debug(format!("key set {set} has no private signing key"))
            })
    }

    /// The public halves of the keys of `sets`: what `/.well-known/jwks.json` publishes.
    pub async fn public_keys(
        &self,
        store: &impl KeyStore,
        sets: &[String],
    ) -> Result<JsonWebKeySet, Error> {
        Ok(public_set(&self.cached_sets(store, sets).await?))
    }

    /// [`KeyManager::public_keys`] serialized, rebuilt only when a set was re-read.
    pub async fn public_keys_json(
        &self,
        store: &impl KeyStore,
        sets: &[String],
    ) -> Result<Bytes, Error> {
        let cached = self.cached_sets(store, sets).await?;
        let same = |built: &[Arc<CachedSet>]| {
            built.len() == cached.len() && built.iter().zip(&cached).all(|(a, b)| Arc::ptr_eq(a, b))
        };
        if let Some((built, body)) = self.jwks.read().ok().as_deref().and_then(Option::as_ref) {
            if same(built) {
                return Ok(body.clone());
            }
        }
        let body = Bytes::from(serde_json::to_vec(&public_set(&cached)).map_err(sealing_failed)?);
        if let Ok(mut memo) = self.jwks.write() {
            *memo = Some((cached, body.clone()));
        }
        Ok(body)
    }
}

/// The public halves of the keys of `sets`, each kid once.
fn public_set(sets: &[Arc<CachedSet>]) -> JsonWebKeySet {
    let mut keys: Vec<JsonWebKey> = Vec::new();
    for cached in sets {
        for k in &cached.keys {
            // A generated pair publishes its `public:` half; skip the `private:` twin.
            let kid = k.kid.as_deref().unwrap_or_default();
            let twin = kid
                .strip_prefix("private:")
                .map(|id| format!("public:{id}"));
            if twin.is_some_and(|t| {
                cached
                    .keys
                    .iter()
                    .any(|o| o.kid.as_deref() == Some(t.as_str()))
            }) {
                continue;
            }
            if let Some(public) = key::public_part(k) {
                if !keys.iter().any(|existing| existing.kid == public.kid) {
                    keys.push(public);
                }
            }
        }
    }
    JsonWebKeySet { keys }
}
