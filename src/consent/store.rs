//! The storage contract for login/consent state (hydra-reference §8.4). Implemented in
//! `store/flows/`, tested on both backends by `tests/it/flow_store.rs`.

use super::model::{AuthSession, ConsentRequest, HandledConsent, HandledLogin, LoginRequest};
use crate::error::StoreError;
use std::future::Future;

pub trait ConsentStore {
    // --- authentication sessions -------------------------------------------------------------

    /// Stores a new session. `Conflict` if the id exists.
    fn insert_auth_session(
        &self,
        session: &AuthSession,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The session `id`, or `NotFound`.
    fn get_auth_session(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<AuthSession, StoreError>> + Send;
    /// Overwrites subject, authenticated_at, remember and expires_at of session `session.id`
    /// (`NotFound` if it is gone).
    fn update_auth_session(
        &self,
        session: &AuthSession,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes session `id` (cascades to its login requests); missing is not an error.
    fn delete_auth_session(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    // --- login requests ----------------------------------------------------------------------

    /// Stores a new login request. `Conflict` on a duplicate challenge or verifier.
    fn insert_login_request(
        &self,
        request: &LoginRequest,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// [`Self::insert_auth_session`] of `session` (the stub a new login opens; `None` when the
    /// request reuses a remembered session), then [`Self::insert_login_request`]: one
    /// statement on PostgreSQL (both rows or neither), two on one connection on SQLite (a stub
    /// whose request failed is left to expire).
    fn insert_login_request_with_session(
        &self,
        session: Option<&AuthSession>,
        request: &LoginRequest,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The login request `challenge` and its answer, if any; `NotFound`.
    fn get_login_request(
        &self,
        challenge: &str,
    ) -> impl Future<Output = Result<(LoginRequest, Option<HandledLogin>), StoreError>> + Send;
    /// Records the login UI's answer. `Conflict` if the request was already answered;
    /// `NotFound` if the request does not exist.
    fn handle_login_request(
        &self,
        handled: &HandledLogin,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Spends the login verifier atomically (exactly one caller wins) and returns the request
    /// and its answer. `NotFound`: unknown verifier or unanswered request; `Conflict`: spent.
    fn use_login_verifier(
        &self,
        verifier: &str,
    ) -> impl Future<Output = Result<(LoginRequest, HandledLogin), StoreError>> + Send;

    // --- consent requests --------------------------------------------------------------------

    /// Stores a new consent request. `Conflict` on a duplicate challenge or verifier.
    fn insert_consent_request(
        &self,
        request: &ConsentRequest,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The consent request `challenge` and its answer, if any; `NotFound`.
    fn get_consent_request(
        &self,
        challenge: &str,
    ) -> impl Future<Output = Result<(ConsentRequest, Option<HandledConsent>), StoreError>> + Send;
    /// Records (or, until its verifier is spent, replaces) the consent UI's answer.
    /// `Conflict` once the verifier was spent; `NotFound` if the request does not exist.
    fn handle_consent_request(
        &self,
        handled: &HandledConsent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Spends the consent verifier atomically and returns the request and its answer.
    /// `NotFound`: unknown verifier or unanswered request; `Conflict`: spent.
    fn use_consent_verifier(
        &self,
        verifier: &str,
    ) -> impl Future<Output = Result<(ConsentRequest, HandledConsent), StoreError>> + Send;
    /// The most recent remembered, accepted, non-skipped consent of `subject` for `client_id`
    /// (hydra-reference §4.5 step 3), whatever its age; `None` if there is none.
    fn find_remembered_consent(
        &self,
        subject: &str,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<(ConsentRequest, HandledConsent)>, StoreError>> + Send;

    // --- forced subject identifiers ----------------------------------------------------------

    /// The forced pairwise identifier of `subject` at `client_id`, if one was set.
    fn get_forced_subject(
        &self,
        subject: &str,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Sets (or replaces) the forced identifier of `subject` at `client_id`. `Conflict` if
    /// another subject already uses `obfuscated` at that client.
    fn set_forced_subject(
        &self,
        subject: &str,
        client_id: &str,
        obfuscated: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
