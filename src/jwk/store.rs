//! The storage contract for JSON Web Keys. Key material is sealed before it reaches the store
//! (`crypto::aead`), so the store only ever sees ciphertext. Implemented in `store/keys.rs`.

use crate::error::StoreError;
use chrono::{DateTime, Utc};
use std::future::Future;

/// One stored key: its id, the sealed JWK JSON and when it was written.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey {
    pub kid: String,
    pub keydata: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .finish()
    }
}

pub trait KeyStore {
    /// Adds keys to a set. `Conflict` when a kid exists in the set; then nothing is written.
    fn insert_keys(
        &self,
        set: &str,
        keys: &[SealedKey],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every key of a set, newest first (empty when the set does not exist).
    fn get_key_set(
        &self,
        set: &str,
    ) -> impl Future<Output = Result<Vec<SealedKey>, StoreError>> + Send;
    /// One key, or `NotFound`.
    fn get_key(
        &self,
        set: &str,
        kid: &str,
    ) -> impl Future<Output = Result<SealedKey, StoreError>> + Send;
    /// Replaces the whole set with `keys`, atomically.
    fn replace_key_set(
        &self,
        set: &str,
        keys: &[SealedKey],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces (or adds) one key, atomically.
    fn replace_key(
        &self,
        set: &str,
        key: &SealedKey,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes a set; succeeds when it did not exist.
    fn delete_key_set(&self, set: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes one key; succeeds when it did not exist.
    fn delete_key(
        &self,
        set: &str,
        kid: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes `keys` as the set only if the set has no key yet; true when this call wrote them.
    /// Race-free: when several processes call it at once on one database, exactly one set results.
    fn create_key_set_if_absent(
        &self,
        set: &str,
        keys: &[SealedKey],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
