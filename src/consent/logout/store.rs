//! The storage contract for logout (hydra-reference §8.5, §4.7): logout requests with their
//! single-use verifier, and the end of authentication sessions together with the clients
//! that must hear about it. Implemented in `store/logout.rs`, tested on both backends by
//! `tests/it/logout.rs`.

use super::LogoutRequest;
use crate::error::StoreError;
use chrono::{DateTime, Utc};
use std::future::Future;

/// A client that took part in an authentication session (it holds an accepted consent given
/// in it), so it must be told when the session ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClient {
    pub sid: String,
    pub client_id: String,
}

pub trait LogoutStore {
    /// Stores a new logout request. `Conflict` on a duplicate challenge or verifier;
    /// `NotFound` when its client does not exist.
    fn insert_logout_request(
        &self,
        request: &LogoutRequest,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The logout request `challenge` whatever its state; `NotFound`.
    fn get_logout_request(
        &self,
        challenge: &str,
    ) -> impl Future<Output = Result<LogoutRequest, StoreError>> + Send;
    /// Marks the request accepted and returns it. Accepting again is harmless (same
    /// verifier). `NotFound` when the request does not exist or was rejected.
    fn accept_logout_request(
        &self,
        challenge: &str,
    ) -> impl Future<Output = Result<LogoutRequest, StoreError>> + Send;
    /// Marks the request rejected (and no longer accepted) unless its verifier was spent.
    /// `NotFound` when there was nothing to reject.
    fn reject_logout_request(
        &self,
        challenge: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Spends the verifier of an accepted, unrejected request atomically: of concurrent
    /// callers exactly one gets the request. `NotFound` for everyone else, and for unknown,
    /// unaccepted, rejected or spent verifiers.
    fn use_logout_verifier(
        &self,
        verifier: &str,
    ) -> impl Future<Output = Result<LogoutRequest, StoreError>> + Send;
    /// In one transaction: the clients with an accepted consent given in session `sid` to
    /// `subject` (sorted by id), then deletes the session (missing is not an error).
    fn end_session(
        &self,
        sid: &str,
        subject: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// In one transaction: the participating clients of every session of `subject` (sorted
    /// by sid, then client), then deletes all of the subject's sessions.
    fn end_subject_sessions(
        &self,
        subject: &str,
    ) -> impl Future<Output = Result<Vec<SessionClient>, StoreError>> + Send;
    /// Deletes logout requests created before `before`; returns how many.
    fn flush_logout_requests(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
