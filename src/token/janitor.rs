//! The storage contract of `portcullis janitor` beyond tokens (which it deletes through
//! [`TokenStore::flush_tokens`](super::TokenStore::flush_tokens)): login and consent requests
//! that were never successfully handled. Implemented in `store/janitor.rs`.

use crate::error::StoreError;
use chrono::{DateTime, Utc};
use std::future::Future;

pub trait JanitorStore {
    /// Deletes the login requests (`hydra_oauth2_authentication_request`) and consent requests
    /// (`hydra_oauth2_consent_request`) requested before `before` that were never
    /// successfully handled: no row in their `*_handled` table, or one whose `error` is set
    /// (not `'{}'` or empty: a rejection). Accepted requests stay, whether used or not; the
    /// handled rows of deleted requests go with them. One transaction; returns how many
    /// requests (login and consent together) were deleted. Hydra 1.10.3's
    /// `FlushInactiveLoginConsentRequests` (persistence/sql/persister_consent.go).
    fn delete_stale_requests(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Deletes the authentication sessions that expired before `now`
    /// (`ttl.authentication_session`); their login requests go with them. Returns how many.
    fn delete_expired_sessions(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
