//! `ConsentStore` on both backends: authentication sessions, login and consent requests with
//! their answers, forced subject identifiers (hydra-reference §8.4). Lists, contexts and
//! errors are JSON text (`rows.rs`); times are UTC `TIMESTAMP`s. A request is always read
//! with its answer in one `SELECT ... LEFT JOIN`. A spent verifier is `was_used = TRUE` on the
//! handled row, claimed by one conditional `UPDATE`, so of concurrent spends exactly one wins.

mod rows;

use super::{column_count, json, map_err, placeholders, Db, DbPool};
use crate::consent::model::{
    AuthSession, ConsentRequest, HandledConsent, HandledLogin, LoginRequest,
};
use crate::consent::store::ConsentStore;
use crate::error::StoreError;

use rows::{
    context_json, error_json, joined_columns, joined_select, map_json, oidc_json, ConsentJoinRow,
    Decoded, HandledConsentRow, HandledLoginRow, Joined, LoginJoinRow, SessionRow, CONSENT_COLUMNS,
    HANDLED_CONSENT_COLUMNS, HANDLED_LOGIN_COLUMNS, LOGIN_COLUMNS,
};
use std::sync::LazyLock;

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

static SESSION_INSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO {SESSION} (id, authenticated_at, subject, remember, expires_at) \
         VALUES ($1, $2, $3, $4, $5)"
    )
});
/// PostgreSQL: a new session (`$1…$5`) and its first login request (`$6…`) in one statement,
/// one round trip and one commit (SQLite has no data-modifying CTEs; a statement costs it no
/// round trip). A failure of either inserts neither.
static SESSION_AND_LOGIN_INSERT_PG: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH s AS ({}) INSERT INTO {LOGIN} ({LOGIN_COLUMNS}) VALUES ({})",
        *SESSION_INSERT,
        placeholders(6, column_count(LOGIN_COLUMNS))
    )
});

/// Binds an [`AuthSession`] to [`SESSION_INSERT`].
macro_rules! bind_session {
    ($query:expr, $s:expr) => {
        $query
            .bind($s.id.as_str())
            .bind($s.authenticated_at.map(|t| t.naive_utc()))
            .bind($s.subject.as_str())
            .bind($s.remember)
            .bind($s.expires_at.map(|t| t.naive_utc()))
    };
}

/// The statements on one kind of request (login or consent) and its answers, built once.
struct RequestSql {
    /// A new request, its columns in order.
    insert: String,
    /// An answer, its columns in order.
    answer: String,
    /// The request and its answer (`h_*`, NULL while unanswered) by challenge `$1`.
    by_challenge: String,
    /// The same by verifier `$1`.
    by_verifier: String,
    /// [`spend_sql`]: claim the answer to challenge `$1`.
    spend: String,
    /// [`spend_joined_sql`]: PostgreSQL's one-statement spend of verifier `$1`.
    spend_pg: String,
}

impl RequestSql {
    /// `on_conflict`: what a second answer to the same request does (appended to the insert).
    fn new(
        request: &str,
        request_columns: &str,
        handled: &str,
        handled_columns: &str,
        on_conflict: &str,
    ) -> Self {
        let insert = |table: &str, columns: &str| {
            format!(
                "INSERT INTO {table} ({columns}) VALUES ({})",
                placeholders(1, column_count(columns))
            )
        };
        let joined = joined_select(
            request,
            request_columns,
            "LEFT JOIN",
            handled,
            handled_columns,
        );
        RequestSql {
            insert: insert(request, request_columns),
            answer: format!("{} {on_conflict}", insert(handled, handled_columns)),
            by_challenge: format!("{joined} WHERE r.challenge = $1"),
            by_verifier: format!("{joined} WHERE r.verifier = $1"),
            spend: spend_sql(handled, handled_columns),
            spend_pg: spend_joined_sql(request, request_columns, handled, handled_columns),
        }
    }
}

/// A second login answer hits the primary key (Conflict); an unknown request the foreign key.
static LOGIN_SQL: LazyLock<RequestSql> = LazyLock::new(|| {
    RequestSql::new(
        LOGIN,
        LOGIN_COLUMNS,
        LOGIN_HANDLED,
        HANDLED_LOGIN_COLUMNS,
        "",
    )
});
/// A consent answer replaces an earlier one until it is spent (the upsert's `WHERE` keeps a
/// spent answer: tokens were issued from it).
static CONSENT_SQL: LazyLock<RequestSql> = LazyLock::new(|| {
    RequestSql::new(
        CONSENT,
        CONSENT_COLUMNS,
        CONSENT_HANDLED,
        HANDLED_CONSENT_COLUMNS,
        &format!(
            "ON CONFLICT (challenge) DO UPDATE SET granted_scope = excluded.granted_scope, \
             granted_at_audience = excluded.granted_at_audience, remember = excluded.remember, \
             remember_for = excluded.remember_for, error = excluded.error, \
             requested_at = excluded.requested_at, authenticated_at = excluded.authenticated_at, \
             session_access_token = excluded.session_access_token, \
             session_id_token = excluded.session_id_token, was_used = excluded.was_used, \
             handled_at = excluded.handled_at \
             WHERE {CONSENT_HANDLED}.was_used = FALSE"
        ),
    )
});

/// Hydra 1.10.3 (persistence/sql/persister_consent.go, findValidConsentSessions): the newest
/// remembered, accepted, non-skipped answer of `$1` at client `$2`, used or not, with its
/// request. NULL handled_at sorts last on both backends (their NULL orders differ).
static REMEMBERED_CONSENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} WHERE r.subject = $1 AND r.client_id = $2 AND r.skip = FALSE \
         AND h.remember = TRUE AND h.error = '{{}}' \
         ORDER BY h.requested_at DESC, \
         CASE WHEN h.handled_at IS NULL THEN 1 ELSE 0 END, h.handled_at DESC, \
         r.challenge DESC LIMIT 1",
        joined_select(
            CONSENT,
            CONSENT_COLUMNS,
            "JOIN",
            CONSENT_HANDLED,
            HANDLED_CONSENT_COLUMNS
        )
    )
});

/// `UPDATE <handled> SET was_used = TRUE` for challenge `$1`, only while unspent; `RETURNING`
/// the answer as spent to the one caller that flipped it (an unspent consent answer may still
/// be replaced, so the answer is taken from the spend, not from an earlier read).
fn spend_sql(handled: &str, columns: &str) -> String {
    format!(
        "UPDATE {handled} SET was_used = TRUE WHERE challenge = $1 AND was_used = FALSE \
         RETURNING {columns}"
    )
}

/// PostgreSQL: the spend of verifier `$1` in one statement, `RETURNING` the request and its
/// answer as spent (the joined row of [`joined_select`]). SQLite's `RETURNING` cannot name the
/// joined table; there a second statement costs no round trip anyway.
fn spend_joined_sql(
    request: &str,
    request_columns: &str,
    handled: &str,
    handled_columns: &str,
) -> String {
    format!(
        "UPDATE {handled} h SET was_used = TRUE FROM {request} r \
         WHERE r.verifier = $1 AND h.challenge = r.challenge AND h.was_used = FALSE \
         RETURNING {}",
        joined_columns(request_columns, handled_columns)
    )
}

impl Db {
    /// The request `$1` selects (by challenge or verifier) with its answer, if any.
    async fn fetch_joined<J: Joined>(&self, sql: &str, key: &str) -> Result<Option<J>, StoreError> {
        crate::on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(key)
            .fetch_optional(pool)
            .await)
        .map_err(map_err)
    }

    /// Spends `verifier`: on PostgreSQL first in one statement (`spend_pg`); else, or to learn
    /// why that did not spend, reads its request with the answer (`by_verifier`), then claims
    /// the answer (`spend`), on one connection. Two statements when it wins, one for an unknown,
    /// unanswered or spent verifier. Returns the request and the answer as spent.
    async fn spend_verifier<J: Joined, H: Decoded + Into<J::Handled>>(
        &self,
        sql: &RequestSql,
        verifier: &str,
    ) -> Result<(J::Request, J::Handled), StoreError> {
        let postgres = matches!(self.pool, DbPool::Postgres(_));
        crate::on_pool!(self, |conn| async {
            if postgres {
                let won: Option<J> = sqlx::query_as(&sql.spend_pg)
                    .bind(verifier)
                    .fetch_optional(&mut *conn)
                    .await?;
                // The update returns a row only together with its answer.
                if let Some((request, Some(handled))) = won.map(J::into_parts) {
                    return Ok(Ok((request, handled)));
                }
                // Not spent by this call: the rounds below say why (or spend an answer that
                // arrived in between).
            }
            // Two rounds: a spend lost to a concurrent one reads the state again (spent:
            // Conflict; the answer deleted meanwhile: NotFound).
            for _ in 0..2 {
                let joined: Option<J> = sqlx::query_as(&sql.by_verifier)
                    .bind(verifier)
                    .fetch_optional(&mut *conn)
                    .await?;
                let Some(joined) = joined else {
                    return Ok(Err(StoreError::NotFound));
                };
                match joined.was_used() {
                    None => return Ok(Err(StoreError::NotFound)),
                    Some(true) => return Ok(Err(StoreError::Conflict)),
                    Some(false) => {}
                }
                let won: Option<H> = sqlx::query_as(&sql.spend)
                    .bind(joined.challenge())
                    .fetch_optional(&mut *conn)
                    .await?;
                if let Some(handled) = won {
                    return Ok(Ok((joined.into_parts().0, handled.into())));
                }
            }
            Ok::<_, sqlx::Error>(Err(StoreError::NotFound))
        }
        .await)
        .map_err(map_err)?
    }
}

impl ConsentStore for Db {
    async fn insert_auth_session(&self, s: &AuthSession) -> Result<(), StoreError> {
        crate::on_pool!(self, |pool| bind_session!(sqlx::query(&SESSION_INSERT), s)
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
        self.insert_login_request_with_session(None, r).await
    }

    async fn insert_login_request_with_session(
        &self,
        session: Option<&AuthSession>,
        r: &LoginRequest,
    ) -> Result<(), StoreError> {
        // No session is NULL: the column is a foreign key.
        let session_id = Some(r.session_id.as_str()).filter(|s| !s.is_empty());
        // A session has no foreign key: map_fk only adds NotFound for the request's.
        let postgres = matches!(self.pool, DbPool::Postgres(_));
        crate::on_pool!(self, |conn| async {
            let query = match session {
                Some(s) if postgres => bind_session!(sqlx::query(&SESSION_AND_LOGIN_INSERT_PG), s),
                Some(s) => {
                    bind_session!(sqlx::query(&SESSION_INSERT), s)
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(&LOGIN_SQL.insert)
                }
                None => sqlx::query(&LOGIN_SQL.insert),
            };
            query
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
                .bind(session_id)
                .execute(&mut *conn)
                .await
                .map(|_| ())
        }
        .await)
        .map_err(map_fk)
    }

    async fn get_login_request(
        &self,
        challenge: &str,
    ) -> Result<(LoginRequest, Option<HandledLogin>), StoreError> {
        self.fetch_joined::<LoginJoinRow>(&LOGIN_SQL.by_challenge, challenge)
            .await?
            .map(Joined::into_parts)
            .ok_or(StoreError::NotFound)
    }

    async fn handle_login_request(&self, h: &HandledLogin) -> Result<(), StoreError> {
        crate::on_pool!(self, |pool| sqlx::query(&LOGIN_SQL.answer)
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
        self.spend_verifier::<LoginJoinRow, HandledLoginRow>(&LOGIN_SQL, verifier)
            .await
    }

    async fn insert_consent_request(&self, r: &ConsentRequest) -> Result<(), StoreError> {
        crate::on_pool!(self, |pool| sqlx::query(&CONSENT_SQL.insert)
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
        self.fetch_joined::<ConsentJoinRow>(&CONSENT_SQL.by_challenge, challenge)
            .await?
            .map(Joined::into_parts)
            .ok_or(StoreError::NotFound)
    }

    async fn handle_consent_request(&self, h: &HandledConsent) -> Result<(), StoreError> {
        // No row written: the answer was spent (see `CONSENT_SQL`).
        let written = crate::on_pool!(self, |pool| sqlx::query(&CONSENT_SQL.answer)
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
        self.spend_verifier::<ConsentJoinRow, HandledConsentRow>(&CONSENT_SQL, verifier)
            .await
    }

    async fn find_remembered_consent(
        &self,
        subject: &str,
        client_id: &str,
    ) -> Result<Option<(ConsentRequest, HandledConsent)>, StoreError> {
        let found: Option<ConsentJoinRow> =
            crate::on_pool!(self, |pool| sqlx::query_as(&REMEMBERED_CONSENT)
                .bind(subject)
                .bind(client_id)
                .fetch_optional(pool)
                .await)
            .map_err(map_err)?;
        // An inner join: the answer is always there.
        Ok(found
            .map(Joined::into_parts)
            .and_then(|(request, handled)| Some((request, handled?))))
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
