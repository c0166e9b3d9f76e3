//! The storage contract for issued tokens (tables `hydra_oauth2_access` / `_refresh`).
//! Implemented in `store/tokens.rs`.

use crate::error::StoreError;
use chrono::{DateTime, Utc};
use std::future::Future;

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
    /// The token stored under `signature`, or `NotFound`.
    fn get_token(
        &self,
        kind: TokenKind,
        signature: &str,
    ) -> impl Future<Output = Result<TokenRecord, StoreError>> + Send;
}
