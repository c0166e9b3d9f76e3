//! `TokenStore` on both backends. Lists are JSON text; times are UTC `TIMESTAMP`s.

use super::{map_err, Db};
use crate::error::StoreError;
use crate::token::store::{TokenKind, TokenRecord, TokenStore};
use chrono::{NaiveDateTime, TimeZone, Utc};

fn table(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Access => "hydra_oauth2_access",
        TokenKind::Refresh => "hydra_oauth2_refresh",
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    signature: String,
    request_id: String,
    requested_at: NaiveDateTime,
    client_id: String,
    scope: String,
    granted_scope: String,
    subject: String,
    active: bool,
    requested_audience: String,
    granted_audience: String,
    session_data: String,
    expires_at: Option<NaiveDateTime>,
    challenge_id: Option<String>,
}

const COLUMNS: &str =
    "signature, request_id, requested_at, client_id, scope, granted_scope, subject, active, \
    requested_audience, granted_audience, session_data, expires_at, challenge_id";

fn list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

impl From<TokenRow> for TokenRecord {
    fn from(r: TokenRow) -> TokenRecord {
        TokenRecord {
            signature: r.signature,
            request_id: r.request_id,
            requested_at: Utc.from_utc_datetime(&r.requested_at),
            client_id: r.client_id,
            requested_scope: list(&r.scope),
            granted_scope: list(&r.granted_scope),
            subject: r.subject,
            active: r.active,
            requested_audience: list(&r.requested_audience),
            granted_audience: list(&r.granted_audience),
            session_data: r.session_data,
            expires_at: r.expires_at.map(|t| Utc.from_utc_datetime(&t)),
            challenge_id: r.challenge_id,
        }
    }
}

impl TokenStore for Db {
    async fn insert_token(&self, kind: TokenKind, t: &TokenRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {} ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            table(kind)
        );
        crate::on_pool!(self, |pool| sqlx::query(&sql)
            .bind(&t.signature)
            .bind(&t.request_id)
            .bind(t.requested_at.naive_utc())
            .bind(&t.client_id)
            .bind(json(&t.requested_scope))
            .bind(json(&t.granted_scope))
            .bind(&t.subject)
            .bind(t.active)
            .bind(json(&t.requested_audience))
            .bind(json(&t.granted_audience))
            .bind(&t.session_data)
            .bind(t.expires_at.map(|e| e.naive_utc()))
            .bind(&t.challenge_id)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(map_err)
    }

    async fn get_token(&self, kind: TokenKind, signature: &str) -> Result<TokenRecord, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM {} WHERE signature = $1", table(kind));
        let row: TokenRow = crate::on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(signature)
            .fetch_one(pool)
            .await)
        .map_err(map_err)?;
        Ok(row.into())
    }
}
