//! The storage contract for clients. Implemented in `store/clients.rs`; the contract suite in
//! `tests/it/client_store.rs` runs it on both backends.

use super::Client;
use crate::error::StoreError;
use std::future::Future;

pub trait ClientStore {
    /// Stores a new client. `Conflict` when its id exists.
    fn insert_client(&self, client: &Client)
        -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The client with this id as stored now, or `NotFound`.
    fn get_client(&self, id: &str) -> impl Future<Output = Result<Client, StoreError>> + Send;
    /// The client with this id as read at most a couple of seconds ago (by this process, or
    /// now), or `NotFound`. Writes through this process are seen at once; writes through
    /// another instance within that bound. For steps whose outcome a later step re-checks
    /// against the stored row (see `TokenStore::insert_access_token_if_client`).
    fn get_client_cached(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Client, StoreError>> + Send;
    /// Reads client `id` as stored now into this process's copy; true when the copy held
    /// before (however old) was another version of the row, or the row is gone. False when no
    /// copy was held or it was current.
    fn refresh_client(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Replaces every field of an existing client except `created_at`. `NotFound` when absent.
    fn update_client(&self, client: &Client)
        -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes a client and, by cascade, everything issued to it. `NotFound` when absent.
    fn delete_client(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A page of clients ordered by id, and the total number of clients.
    fn list_clients(
        &self,
        limit: i64,
        offset: i64,
    ) -> impl Future<Output = Result<(Vec<Client>, i64), StoreError>> + Send;
}
