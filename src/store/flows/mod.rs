//! `ConsentStore` on both backends: authentication sessions, login and consent requests with
//! their answers, forced subject identifiers (hydra-reference §8.4). Lists, contexts and
//! errors are JSON text (`rows.rs`); times are UTC `TIMESTAMP`s. A spent verifier is
//! `was_used = TRUE` on the handled row, claimed by one conditional `UPDATE`, so of concurrent
//! spends exactly one wins.

mod rows;

use super::{map_err, Db};
use crate::consent::model::{
    AuthSession, ConsentRequest, HandledConsent, HandledLogin, LoginRequest,
};
use crate::consent::store::ConsentStore;
use crate::error::StoreError;

use rows::{
    context_json, count, error_json, json, map_json, oidc_json, params, SessionRow,
    CONSENT_COLUMNS, HANDLED_CONSENT_COLUMNS, HANDLED_LOGIN_COLUMNS, LOGIN_COLUMNS,
};

const SESSION: &str = "hydra_oauth2_authentication_session";
const LOGIN: &str = "hydra_oauth2_authentication_request";
const LOGIN_HANDLED: &str = "hydra_oauth2_authentication_request_handled";
const CONSENT: &str = "hydra_oauth2_consent_request";
const CONSENT_HANDLED: &str = "hydra_oauth2_consent_request_handled";
const OBFUSCATED: &str = "hydra_oauth2_obfuscated_authentication_session";

/// Like [`map_err`], and a missing referenced row (request, client, session) is `NotFound`.
fn map_fk(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => map_err(err),
    }
}

/// `UPDATE <handled> SET was_used = TRUE` for the request holding verifier `$1`, only while
/// unspent; `RETURNING` the challenge to the one caller that flipped it.
fn spend_sql(request: &str, handled: &str) -> String {
    format!(
        "UPDATE {handled} SET was_used = TRUE WHERE was_used = FALSE AND challenge = \
         (SELECT challenge FROM {request} WHERE verifier = $1) RETURNING challenge"
    )
}

/// Why a verifier could not be spent: `Some(true)` spent, `Some(false)` answered but unspent
/// (answered after our attempt), `None` unknown verifier or unanswered request.
fn spend_state_sql(request: &str, handled: &str) -> String {
    format!(
        "SELECT h.was_used FROM {request} r LEFT JOIN {handled} h ON h.challenge = r.challenge \
         WHERE r.verifier = $1"
    )
}

impl Db {
    /// Spends `verifier` on the request table `request`; returns the challenge it answered.
    async fn spend_verifier(
        &self,
        request: &str,
        handled: &str,
        verifier: &str,
    ) -> Result<String, StoreError> {
        let spend = spend_sql(request, handled);
        let state = spend_state_sql(request, handled);
        // Two rounds: an answer that lands between our UPDATE and the look-up is spent on
        // the second; after that an unspent answer is reported as missing.
        for _ in 0..2 {
            let won: Option<String> = crate::on_pool!(self, |pool| sqlx::query_scalar(&spend)
                .bind(verifier)
                .fetch_optional(pool)
                .await)
            .map_err(map_err)?;
            if let Some(challenge) = won {
                return Ok(challenge);
            }
            let used: Option<Option<bool>> =
                crate::on_pool!(self, |pool| sqlx::query_scalar(&state)
                    .bind(verifier)
                    .fetch_optional(pool)
                    .await)
                .map_err(map_err)?;
            match used.flatten() {
                None => return Err(StoreError::NotFound),
                Some(true) => return Err(StoreError::Conflict),
                Some(false) => continue,
            }
        }
        Err(StoreError::NotFound)
    }
}

impl ConsentStore for Db {
    async fn insert_auth_session(&self, s: &AuthSession) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {SESSION} (id, authenticated_at, subject, remember, expires_at) \
             VALUES ($1, $2, $3, $4, $5)"
        );
        crate::on_pool!(self, |pool| sqlx::query(&sql)
            .bind(s.id.as_str())
            .bind(s.authenticated_at.map(|t| t.naive_utc()))
            .bind(s.subject.as_str())
            .bind(s.remember)
            .bind(s.expires_at.map(|t| t.naive_utc()))
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(map_err)
    }

    async fn get_auth_session(&self, id: &str) -> Result<AuthSession, StoreError> {
        let sql = format!(
            "SELECT id, authenticated_at, subject, remember, expires_at FROM {SESSION} WHERE id = $1"
        );
        let row: SessionRow = crate::on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_one(pool)
            .await)
        .map_err(map_err)?;
        Ok(row.into())
    }

    async fn update_auth_session(&self, s: &AuthSession) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE {SESSION} SET authenticated_at = $2, subject = $3, remember = $4, \
             expires_at = $5 WHERE id = $1"
        );
        let updated = crate::on_pool!(self, |pool| sqlx::query(&sql)
            .bind(s.id.as_str())
            .bind(s.authenticated_at.map(|t| t.naive_utc()))
            .bind(s.subject.as_str())
            .bind(s.remember)
            .bind(s.expires_at.map(|t| t.naive_utc()))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(map_err)?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_auth_session(&self, id: &str) -> Result<(), StoreError> {
        let sql = format!("DELETE FROM {SESSION} WHERE id = $1");
        crate::on_pool!(self, |pool| sqlx::query(&sql)
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(map_err)
    }

    async fn insert_login_request(&self, r: &LoginRequest) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {LOGIN} ({LOGIN_COLUMNS}) VALUES ({})",
            params(count(LOGIN_COLUMNS))
        );
        // No session is NULL: the column is a foreign key.
        let session = Some(r.session_id.as_str()).filter(|s| !s.is_empty());
        crate::on_pool!(self, |pool| sqlx::query(&sql)
            .bind(r.challenge.as_str())
            .bind(r.verifier.as_str())
            .bind(r.csrf.as_str())
            .bind(json(&r.requested_scope))
            .bind(json(&r.requested_audience))
            .bind(r.subject.as_str())
            .bind(r.request_url.as_str())
            .bind(r.skip)
            .bind(r.client_id.as_str())
            .bind(r.requested_at.naive_utc())
            .bind(r.authenticated_at.map(|t| t.naive_utc()))
            .bind(oidc_json(&r.oidc_context))
            .bind(session)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(map_fk)
    }

    async fn get_login_request(
        &self,
        challenge: &str,
    ) -> Result<(LoginRequest, Option<HandledLogin>), StoreError> {
        let request = self.fetch_login(challenge).await?;
        let handled = self.fetch_handled_login(challenge).await?;
        Ok((request, handled))
    }

    async fn handle_login_request(&self, h: &HandledLogin) -> Result<(), StoreError> {
        // A second answer hits the primary key (Conflict); an unknown request the foreign key.
        let sql = format!(
            "INSERT INTO {LOGIN_HANDLED} ({HANDLED_LOGIN_COLUMNS}) VALUES ({})",
            params(count(HANDLED_LOGIN_COLUMNS))
        );
        crate::on_pool!(self, |pool| sqlx::query(&sql)
            .bind(h.challenge.as_str())
            .bind(h.subject.as_str())
            .bind(h.remember)
            .bind(h.remember_for)
            .bind(error_json(&h.error))
            .bind(h.acr.as_str())
            .bind(h.requested_at.naive_utc())
            .bind(h.authenticated_at.map(|t| t.naive_utc()))
            .bind(h.was_used)
            .bind(h.forced_subject_identifier.as_str())
            .bind(context_json(&h.context))
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(map_fk)
    }

    async fn use_login_verifier(
        &self,
        verifier: &str,
    ) -> Result<(LoginRequest, HandledLogin), StoreError> {
        let challenge = self.spend_verifier(LOGIN, LOGIN_HANDLED, verifier).await?;
        // Once spent, an answer is never rewritten: these reads see the state we claimed.
        let request = self.fetch_login(&challenge).await?;
        let handled = self
            .fetch_handled_login(&challenge)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((request, handled))
    }

    async fn insert_consent_request(&self, r: &ConsentRequest) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {CONSENT} ({CONSENT_COLUMNS}) VALUES ({})",
            params(count(CONSENT_COLUMNS))
        );
        crate::on_pool!(self, |pool| sqlx::query(&sql)
            .bind(r.challenge.as_str())
            .bind(r.verifier.as_str())
            .bind(r.csrf.as_str())
            .bind(r.client_id.as_str())
            .bind(r.subject.as_str())
            .bind(r.request_url.as_str())
            .bind(r.skip)
            .bind(json(&r.requested_scope))
            .bind(json(&r.requested_audience))
            .bind(r.authenticated_at.map(|t| t.naive_utc()))
            .bind(r.requested_at.naive_utc())
            .bind(oidc_json(&r.oidc_context))
            .bind(r.forced_subject_identifier.as_str())
            .bind(r.login_session_id.as_deref())
            .bind(r.login_challenge.as_deref())
            .bind(r.acr.as_str())
            .bind(context_json(&r.context))
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(map_fk)
    }

    async fn get_consent_request(
        &self,
        challenge: &str,
    ) -> Result<(ConsentRequest, Option<HandledConsent>), StoreError> {
        let request = self.fetch_consent(challenge).await?;
        let handled = self.fetch_handled_consent(challenge).await?;
        Ok((request, handled))
    }

    async fn handle_consent_request(&self, h: &HandledConsent) -> Result<(), StoreError> {
        // The upsert's WHERE keeps a spent answer: tokens were issued from it.
        let sql = format!(
            "INSERT INTO {CONSENT_HANDLED} ({HANDLED_CONSENT_COLUMNS}) VALUES ({}) \
             ON CONFLICT (challenge) DO UPDATE SET granted_scope = excluded.granted_scope, \
             granted_at_audience = excluded.granted_at_audience, remember = excluded.remember, \
             remember_for = excluded.remember_for, error = excluded.error, \
             requested_at = excluded.requested_at, authenticated_at = excluded.authenticated_at, \
             session_access_token = excluded.session_access_token, \
             session_id_token = excluded.session_id_token, was_used = excluded.was_used, \
             handled_at = excluded.handled_at \
             WHERE {CONSENT_HANDLED}.was_used = FALSE",
            params(count(HANDLED_CONSENT_COLUMNS))
        );
        let written = crate::on_pool!(self, |pool| sqlx::query(&sql)
            .bind(h.challenge.as_str())
            .bind(json(&h.granted_scope))
            .bind(json(&h.granted_audience))
            .bind(h.remember)
            .bind(h.remember_for)
            .bind(error_json(&h.error))
            .bind(h.requested_at.naive_utc())
            .bind(h.authenticated_at.map(|t| t.naive_utc()))
            .bind(map_json(&h.session_access_token))
            .bind(map_json(&h.session_id_token))
            .bind(h.was_used)
            .bind(h.handled_at.map(|t| t.naive_utc()))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(map_fk)?;
        if written == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    async fn use_consent_verifier(
        &self,
        verifier: &str,
    ) -> Result<(ConsentRequest, HandledConsent), StoreError> {
        let challenge = self
            .spend_verifier(CONSENT, CONSENT_HANDLED, verifier)
            .await?;
        let request = self.fetch_consent(&challenge).await?;
        let handled = self
            .fetch_handled_consent(&challenge)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((request, handled))
    }

    async fn find_remembered_consent(
        &self,
        subject: &str,
        client_id: &str,
    ) -> Result<Option<(ConsentRequest, HandledConsent)>, StoreError> {
        // Hydra 1.10.3 (persistence/sql/persister_consent.go, findValidConsentSessions): the
        // newest remembered, accepted, non-skipped answer; used or not. NULL handled_at sorts
        // last on both backends (their NULL orders differ).
        let sql = format!(
            "SELECT r.challenge FROM {CONSENT} r JOIN {CONSENT_HANDLED} h \
             ON h.challenge = r.challenge \
             WHERE r.subject = $1 AND r.client_id = $2 AND r.skip = FALSE \
             AND h.remember = TRUE AND h.error = '{{}}' \
             ORDER BY h.requested_at DESC, \
             CASE WHEN h.handled_at IS NULL THEN 1 ELSE 0 END, h.handled_at DESC, \
             r.challenge DESC LIMIT 1"
        );
        let found: Option<String> = crate::on_pool!(self, |pool| sqlx::query_scalar(&sql)
            .bind(subject)
            .bind(client_id)
            .fetch_optional(pool)
            .await)
        .map_err(map_err)?;
        let Some(challenge) = found else {
            return Ok(None);
        };
        match self.get_consent_request(&challenge).await {
            Ok((request, Some(handled))) => Ok(Some((request, handled))),
            // Flushed or revoked since the look-up: nothing is remembered any more.
            Ok((_, None)) | Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn get_forced_subject(
        &self,
        subject: &str,
        client_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let sql = format!(
            "SELECT subject_obfuscated FROM {OBFUSCATED} WHERE subject = $1 AND client_id = $2"
        );
        crate::on_pool!(self, |pool| sqlx::query_scalar(&sql)
            .bind(subject)
            .bind(client_id)
            .fetch_optional(pool)
            .await)
        .map_err(map_err)
    }

    async fn set_forced_subject(
        &self,
        subject: &str,
        client_id: &str,
        obfuscated: &str,
    ) -> Result<(), StoreError> {
        // Another subject holding `obfuscated` trips the (client_id, subject_obfuscated)
        // unique index: Conflict.
        let sql = format!(
            "INSERT INTO {OBFUSCATED} (subject, client_id, subject_obfuscated) VALUES ($1, $2, $3) \
             ON CONFLICT (subject, client_id) DO UPDATE \
             SET subject_obfuscated = excluded.subject_obfuscated"
        );
        crate::on_pool!(self, |pool| sqlx::query(&sql)
            .bind(subject)
            .bind(client_id)
            .bind(obfuscated)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(map_fk)
    }
}
