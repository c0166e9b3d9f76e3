//! `TokenStore` on both backends: access and refresh tokens, authorization codes. Lists are
//! JSON text; times are UTC `TIMESTAMP`s.

use super::{column_count, json, list, map_err, placeholders, Db, DbPool, Pool};
use crate::error::StoreError;
use crate::token::store::{ClientVersion, TokenKind, TokenRecord, TokenStore};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use sqlx::PgConnection;
use std::sync::{Arc, LazyLock};

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

/// The statements on one token table, built once (the token endpoint and introspection run
/// them on every request).
struct TableSql {
    insert: String,
    select: String,
}

impl TableSql {
    fn new(table: &str) -> TableSql {
        let values = placeholders(1, column_count(COLUMNS));
        TableSql {
            insert: format!("INSERT INTO {table} ({COLUMNS}) VALUES ({values})"),
            select: format!("SELECT {COLUMNS} FROM {table} WHERE signature = $1"),
        }
    }
}

static ACCESS_SQL: LazyLock<TableSql> = LazyLock::new(|| TableSql::new(table(TokenKind::Access)));
static REFRESH_SQL: LazyLock<TableSql> = LazyLock::new(|| TableSql::new(table(TokenKind::Refresh)));
static CODE_SQL: LazyLock<TableSql> = LazyLock::new(|| TableSql::new(CODE_TABLE));

fn sql(kind: TokenKind) -> &'static TableSql {
    match kind {
        TokenKind::Access => &ACCESS_SQL,
        TokenKind::Refresh => &REFRESH_SQL,
    }
}

/// PostgreSQL: the code exchange (`exchange_code`) as one statement (data-modifying CTEs;
/// SQLite has none), one round trip and one commit instead of five round trips: spend code
/// `$1` (`SET active = $2 … AND active = $3`), then insert the access token (`$4…$16`) and
/// the refresh token (`$17…$29`) only if the spend happened; returns how many access tokens
/// were stored (0: the code was not active). Concurrent exchanges of one code: the row lock
/// makes the second re-check `active` after the first commits, so exactly one stores tokens.
/// Index 0 without a refresh token, 1 with one.
static EXCHANGE_PG: LazyLock<[String; 2]> =
    LazyLock::new(|| [exchange_pg_sql(false), exchange_pg_sql(true)]);

fn exchange_pg_sql(with_refresh: bool) -> String {
    let n = column_count(COLUMNS);
    let refresh = if with_refresh {
        format!(
            ", refresh AS (INSERT INTO hydra_oauth2_refresh ({COLUMNS}) SELECT {} FROM spent \
             RETURNING signature)",
            placeholders(4 + n, n)
        )
    } else {
        String::new()
    };
    format!(
        "WITH spent AS ({SPEND_CODE}), \
         access AS (INSERT INTO hydra_oauth2_access ({COLUMNS}) SELECT {} FROM spent \
         RETURNING signature){refresh} \
         SELECT COUNT(*) FROM access",
        placeholders(4, n)
    )
}

const CODE_TABLE: &str = "hydra_oauth2_code";
/// The claim on a code: of concurrent spends exactly one sees the row active and gets it back.
const SPEND_CODE: &str =
    "UPDATE hydra_oauth2_code SET active = $2 WHERE signature = $1 AND active = $3 RETURNING signature";

/// Binds a record in `COLUMNS` order.
macro_rules! bind_token {
    ($query:expr, $t:expr) => {{
        let t: &TokenRecord = $t;
        $query
            .bind(t.signature.clone())
            .bind(t.request_id.clone())
            .bind(t.requested_at.naive_utc())
            .bind(t.client_id.clone())
            .bind(json(&t.requested_scope))
            .bind(json(&t.granted_scope))
            .bind(t.subject.clone())
            .bind(t.active)
            .bind(json(&t.requested_audience))
            .bind(json(&t.granted_audience))
            .bind(t.session_data.clone())
            .bind(t.expires_at.map(|e| e.naive_utc()))
            .bind(t.challenge_id.clone())
    }};
}

/// Inside a transaction `$tx`: stores the access token and, when `Some`, the refresh token
/// issued by a spend (refresh rotation, code exchange on SQLite).
macro_rules! insert_issued {
    ($tx:ident, $access:expr, $refresh:expr) => {{
        bind_token!(sqlx::query(&ACCESS_SQL.insert), $access)
            .execute(&mut *$tx)
            .await?;
        if let Some(refresh) = $refresh {
            bind_token!(sqlx::query(&REFRESH_SQL.insert), refresh)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

mod batch;

pub(crate) use batch::{Combiner, Inserts};
use batch::{Lookups, Pending};

/// PostgreSQL: the combined reads by signature of the access and the refresh token table.
#[derive(Clone)]
pub(crate) struct TokenLookups {
    access: Arc<Combiner<Lookups>>,
    refresh: Arc<Combiner<Lookups>>,
}

impl TokenLookups {
    pub(crate) fn new(pool: &Pool<PgConnection>, flushers: usize) -> TokenLookups {
        let lookups = |kind| Combiner::new(Lookups::new(pool.clone(), table(kind)), flushers);
        TokenLookups {
            access: lookups(TokenKind::Access),
            refresh: lookups(TokenKind::Refresh),
        }
    }

    fn of(&self, kind: TokenKind) -> &Arc<Combiner<Lookups>> {
        match kind {
            TokenKind::Access => &self.access,
            TokenKind::Refresh => &self.refresh,
        }
    }
}

const SPEND: &str = "UPDATE hydra_oauth2_refresh SET active = $2, first_used_at = $3 WHERE signature = $1 AND active = $4 RETURNING signature";
const DELETE_GRANT_ACCESS: &str = "DELETE FROM hydra_oauth2_access WHERE request_id = $1";
const DEACTIVATE_GRANT_REFRESH: &str =
    "UPDATE hydra_oauth2_refresh SET active = $2 WHERE request_id = $1";

impl TokenStore for Db {
    async fn insert_token(&self, kind: TokenKind, t: &TokenRecord) -> Result<(), StoreError> {
        crate::on_pool!(self, |pool| bind_token!(sqlx::query(&sql(kind).insert), t)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(map_err)
    }

    async fn insert_access_token_if_client(
        &self,
        t: TokenRecord,
        client: &ClientVersion<'_>,
    ) -> Result<bool, StoreError> {
        let inserted = self.access_inserts.submit(Pending::new(t, client)).await?;
        if !inserted {
            // Changed or deleted since it was read: the next read must see the row.
            self.forget_client(client.id);
        }
        Ok(inserted)
    }

    async fn get_token(&self, kind: TokenKind, signature: &str) -> Result<TokenRecord, StoreError> {
        if let Some(lookups) = &self.lookups {
            return lookups.of(kind).submit(signature.to_string()).await;
        }
        let row: TokenRow = crate::on_pool!(self, |pool| sqlx::query_as(&sql(kind).select)
            .bind(signature)
            .fetch_one(pool)
            .await)
        .map_err(map_err)?;
        Ok(row.into())
    }

    async fn rotate_refresh(
        &self,
        old: &str,
        access: &TokenRecord,
        refresh: &TokenRecord,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now = now.naive_utc();
        super::in_tx!(self, |tx, DB| {
            let done = async {
                // The conditional update is the claim: of concurrent rotations exactly one
                // sees the row active.
                let spent: Option<String> = sqlx::query_scalar(SPEND)
                    .bind(old)
                    .bind(false)
                    .bind(now)
                    .bind(true)
                    .fetch_optional(&mut *tx)
                    .await?;
                if spent.is_none() {
                    return Ok(false);
                }
                sqlx::query(DELETE_GRANT_ACCESS)
                    .bind(access.request_id.as_str())
                    .execute(&mut *tx)
                    .await?;
                insert_issued!(tx, access, Some(refresh));
                Ok::<bool, sqlx::Error>(true)
            }
            .await
            .map_err(map_err)?;
            super::commit_if(tx, done).await
        })
    }

    async fn insert_code(&self, code: &TokenRecord) -> Result<(), StoreError> {
        crate::on_pool!(self, |pool| bind_token!(
            sqlx::query(&CODE_SQL.insert),
            code
        )
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(map_err)
    }

    async fn get_code(&self, signature: &str) -> Result<TokenRecord, StoreError> {
        let row: TokenRow = crate::on_pool!(self, |pool| sqlx::query_as(&CODE_SQL.select)
            .bind(signature)
            .fetch_one(pool)
            .await)
        .map_err(map_err)?;
        Ok(row.into())
    }

    async fn exchange_code(
        &self,
        signature: &str,
        access: &TokenRecord,
        refresh: Option<&TokenRecord>,
    ) -> Result<bool, StoreError> {
        if let DbPool::Postgres(_) = &self.pool {
            let sql = &EXCHANGE_PG[usize::from(refresh.is_some())];
            let issued: i64 = crate::on_pool!(self, |conn| {
                let query = sqlx::query_scalar(sql)
                    .bind(signature)
                    .bind(false)
                    .bind(true);
                let query = bind_token!(query, access);
                match refresh {
                    Some(refresh) => bind_token!(query, refresh).fetch_one(conn).await,
                    None => query.fetch_one(conn).await,
                }
            })
            .map_err(map_err)?;
            return Ok(issued > 0);
        }
        // SQLite (the PostgreSQL form returned above): the same in a transaction.
        super::in_tx!(self, |tx, DB| {
            let done = async {
                let spent: Option<String> = sqlx::query_scalar(SPEND_CODE)
                    .bind(signature)
                    .bind(false)
                    .bind(true)
                    .fetch_optional(&mut *tx)
                    .await?;
                if spent.is_none() {
                    return Ok(false);
                }
                insert_issued!(tx, access, refresh);
                Ok::<bool, sqlx::Error>(true)
            }
            .await
            .map_err(map_err)?;
            super::commit_if(tx, done).await
        })
    }

    async fn spend_code(&self, signature: &str) -> Result<bool, StoreError> {
        let spent: Option<String> = crate::on_pool!(self, |pool| sqlx::query_scalar(SPEND_CODE)
            .bind(signature)
            .bind(false)
            .bind(true)
            .fetch_optional(pool)
            .await)
        .map_err(map_err)?;
        Ok(spent.is_some())
    }

    async fn revoke_grant(&self, request_id: &str) -> Result<(), StoreError> {
        crate::on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(DELETE_GRANT_ACCESS)
                .bind(request_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(DEACTIVATE_GRANT_REFRESH)
                .bind(request_id)
                .bind(false)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await)
        .map_err(map_err)
    }

    async fn delete_client_tokens(&self, client_id: &str) -> Result<(), StoreError> {
        crate::on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM hydra_oauth2_access WHERE client_id = $1")
                .bind(client_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM hydra_oauth2_refresh WHERE client_id = $1")
                .bind(client_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await)
        .map_err(map_err)
    }

    async fn flush_tokens(
        &self,
        access_before: DateTime<Utc>,
        refresh_before: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let access_before = access_before.naive_utc();
        crate::on_pool!(self, |pool| async {
            sqlx::query("DELETE FROM hydra_oauth2_access WHERE requested_at < $1")
                .bind(access_before)
                .execute(&mut *pool)
                .await?;
            if let Some(refresh_before) = refresh_before {
                sqlx::query("DELETE FROM hydra_oauth2_refresh WHERE requested_at < $1")
                    .bind(refresh_before.naive_utc())
                    .execute(pool)
                    .await?;
            }
            Ok::<(), sqlx::Error>(())
        }
        .await)
        .map_err(map_err)
    }
}
