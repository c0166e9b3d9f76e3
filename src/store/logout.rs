//! `LogoutStore` on both backends (hydra-reference §8.5): logout requests, whose verifier is
//! spent by one conditional `UPDATE ... RETURNING` (exactly one of concurrent callers wins),
//! and the end of authentication sessions, read and deleted in one transaction so the
//! clients to notify are those of the sessions actually deleted.

use super::{map_err, Db};
use crate::consent::logout::{LogoutRequest, LogoutStore, SessionClient};
use crate::error::StoreError;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

const LOGOUT: &str = "hydra_oauth2_logout_request";
const COLUMNS: &str = "challenge, verifier, subject, sid, client_id, request_url, redir_url, \
                       was_used, accepted, rejected, rp_initiated, requested_at";

/// Clients with an accepted consent given in a session to the session's subject. `$1` is
/// the condition's parameter; `{cond}` picks the sessions.
fn participants_sql(cond: &str) -> String {
    format!(
        "SELECT DISTINCT s.id, r.client_id FROM hydra_oauth2_authentication_session s \
         JOIN hydra_oauth2_consent_request r ON r.login_session_id = s.id AND r.subject = s.subject \
         JOIN hydra_oauth2_consent_request_handled h ON h.challenge = r.challenge \
         WHERE {cond} AND (h.error = '{{}}' OR h.error = '') ORDER BY s.id, r.client_id"
    )
}

#[derive(sqlx::FromRow)]
struct LogoutRow {
    challenge: String,
    verifier: String,
    subject: String,
    sid: String,
    client_id: Option<String>,
    request_url: String,
    redir_url: String,
    was_used: bool,
    accepted: bool,
    rejected: bool,
    rp_initiated: bool,
    requested_at: NaiveDateTime,
}

impl From<LogoutRow> for LogoutRequest {
    fn from(r: LogoutRow) -> Self {
        LogoutRequest {
            challenge: r.challenge,
            verifier: r.verifier,
            subject: r.subject,
            sid: r.sid,
            client_id: r.client_id,
            request_url: r.request_url,
            redir_url: r.redir_url,
            was_used: r.was_used,
            accepted: r.accepted,
            rejected: r.rejected,
            rp_initiated: r.rp_initiated,
            requested_at: Utc.from_utc_datetime(&r.requested_at),
        }
    }
}

/// Like [`map_err`], and a missing client (foreign key) is `NotFound`.
fn map_fk(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => map_err(err),
    }
}

impl Db {
    /// One logout request row by a condition on `$1`.
    async fn logout_row(&self, sql: &str, value: &str) -> Result<LogoutRequest, StoreError> {
        let row: LogoutRow = crate::on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(value)
            .fetch_one(pool)
            .await)
        .map_err(map_err)?;
        Ok(row.into())
    }

    /// The participants of the sessions `cond` selects (binding `args`), then deletes those
    /// sessions; one transaction.
    async fn end_sessions(
        &self,
        cond: &str,
        args: &[&str],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let select = participants_sql(cond);
        let delete = format!("DELETE FROM hydra_oauth2_authentication_session AS s WHERE {cond}");
        // Reads, then writes: the write lock is taken first (SQLite), so a concurrent writer
        // cannot turn the upgrade into a busy or locked error.
        super::in_tx!(self, |tx, DB| {
            let mut query = sqlx::query_as(&select);
            for arg in args {
                query = query.bind(*arg);
            }
            let rows: Vec<(String, String)> = query.fetch_all(&mut *tx).await.map_err(map_err)?;
            let mut query = sqlx::query(&delete);
            for arg in args {
                query = query.bind(*arg);
            }
            query.execute(&mut *tx).await.map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            Ok(rows)
        })
    }
}

impl LogoutStore for Db {
    async fn insert_logout_request(&self, r: &LogoutRequest) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {LOGOUT} ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        crate::on_pool!(self, |pool| sqlx::query(&sql)
            .bind(r.challenge.as_str())
            .bind(r.verifier.as_str())
            .bind(r.subject.as_str())
            .bind(r.sid.as_str())
            .bind(r.client_id.as_deref())
            .bind(r.request_url.as_str())
            .bind(r.redir_url.as_str())
            .bind(r.was_used)
            .bind(r.accepted)
            .bind(r.rejected)
            .bind(r.rp_initiated)
            .bind(r.requested_at.naive_utc())
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(map_fk)
    }

    async fn get_logout_request(&self, challenge: &str) -> Result<LogoutRequest, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM {LOGOUT} WHERE challenge = $1");
        self.logout_row(&sql, challenge).await
    }

    async fn accept_logout_request(&self, challenge: &str) -> Result<LogoutRequest, StoreError> {
        let sql = format!(
            "UPDATE {LOGOUT} SET accepted = TRUE WHERE challenge = $1 AND rejected = FALSE \
             RETURNING {COLUMNS}"
        );
        self.logout_row(&sql, challenge).await
    }

    async fn reject_logout_request(&self, challenge: &str) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE {LOGOUT} SET rejected = TRUE, accepted = FALSE \
             WHERE challenge = $1 AND was_used = FALSE"
        );
        let changed = crate::on_pool!(self, |pool| sqlx::query(&sql)
            .bind(challenge)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(map_err)?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn use_logout_verifier(&self, verifier: &str) -> Result<LogoutRequest, StoreError> {
        let sql = format!(
            "UPDATE {LOGOUT} SET was_used = TRUE WHERE verifier = $1 AND was_used = FALSE \
             AND accepted = TRUE AND rejected = FALSE RETURNING {COLUMNS}"
        );
        self.logout_row(&sql, verifier).await
    }

    async fn end_session(&self, sid: &str, subject: &str) -> Result<Vec<String>, StoreError> {
        let rows = self
            .end_sessions("s.id = $1 AND s.subject = $2", &[sid, subject])
            .await?;
        Ok(rows.into_iter().map(|(_, client)| client).collect())
    }

    async fn end_subject_sessions(&self, subject: &str) -> Result<Vec<SessionClient>, StoreError> {
        let rows = self.end_sessions("s.subject = $1", &[subject]).await?;
        Ok(rows
            .into_iter()
            .map(|(sid, client_id)| SessionClient { sid, client_id })
            .collect())
    }

    async fn flush_logout_requests(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let sql = format!("DELETE FROM {LOGOUT} WHERE requested_at < $1");
        crate::on_pool!(self, |pool| sqlx::query(&sql)
            .bind(before.naive_utc())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(map_err)
    }
}
