//! The storage contract for issued tokens (tables `hydra_oauth2_access` / `_refresh`) and
//! authorization codes (`hydra_oauth2_code`).
//! Implemented in `store/tokens.rs`.

use crate::error::StoreError;
use chrono::{DateTime, Utc};
use std::future::Future;

/// A client row as it was read: its id and revision (a random number every write of the row
/// replaces).
#[derive(Debug, Clone, Copy)]
pub struct ClientVersion<'a> {
    pub id: &'a str,
    pub revision: i64,
}

/// Which table a token lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

/// One stored token: the HMAC signature (never the token), its grant and its session.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub signature: String,
    /// The grant's id, shared by every token issued from it.
    pub request_id: String,
    pub requested_at: DateTime<Utc>,
    pub client_id: String,
    pub requested_scope: Vec<String>,
    pub granted_scope: Vec<String>,
    pub subject: String,
    pub active: bool,
    pub requested_audience: Vec<String>,
    pub granted_audience: Vec<String>,
    /// Session JSON, sealed when `oauth2.session.encrypt_at_rest`.
    pub session_data: String,
    /// `None`: never expires.
    pub expires_at: Option<DateTime<Utc>>,
    pub challenge_id: Option<String>,
}

pub trait TokenStore {
    /// Stores a new token. `Conflict` if the signature exists.
    fn insert_token(
        &self,
        kind: TokenKind,
        token: &TokenRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Stores a new access token only if `client`'s stored row is still the one given (same
    /// revision: not changed or deleted since it was read); false when it is not, and nothing
    /// was stored. One statement (shared with concurrent calls): what lets the token endpoint
    /// trust a cached client row without reading it again.
    fn insert_access_token_if_client(
        &self,
        token: TokenRecord,
        client: &ClientVersion<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The token stored under `signature`, or `NotFound`.
    fn get_token(
        &self,
        kind: TokenKind,
        signature: &str,
    ) -> impl Future<Output = Result<TokenRecord, StoreError>> + Send;
    /// Spends the active refresh token `old` and stores `access` and `refresh` in its place, in
    /// one transaction: the grant's access tokens are deleted, `old` is deactivated. False (and
    /// nothing written) when `old` was no longer active: another request spent it first.
    fn rotate_refresh(
        &self,
        old: &str,
        access: &TokenRecord,
        refresh: &TokenRecord,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Stores a new authorization code (`hydra_oauth2_code`). `Conflict` if the signature exists.
    fn insert_code(
        &self,
        code: &TokenRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The code stored under `signature`, active or spent, or `NotFound`.
    fn get_code(
        &self,
        signature: &str,
    ) -> impl Future<Output = Result<TokenRecord, StoreError>> + Send;
    /// Spends the active code `signature` and stores the tokens issued for it, in one
    /// transaction. False (and nothing written) when the code was no longer active: of
    /// concurrent exchanges of one code exactly one wins.
    fn exchange_code(
        &self,
        signature: &str,
        access: &TokenRecord,
        refresh: Option<&TokenRecord>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Spends the active code `signature` without issuing anything. False when it was spent.
    fn spend_code(&self, signature: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Revokes a whole grant: deletes its access tokens, deactivates its refresh tokens.
    fn revoke_grant(&self, request_id: &str)
        -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes every access and refresh token of a client.
    fn delete_client_tokens(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes access tokens requested before `access_before` and refresh tokens requested
    /// before `refresh_before` (`None`: refresh tokens never expire, keep them).
    fn flush_tokens(
        &self,
        access_before: DateTime<Utc>,
        refresh_before: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
