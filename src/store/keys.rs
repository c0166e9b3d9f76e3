//! `KeyStore` on both backends: table `hydra_jwk`, one row per key, `keydata` sealed.

use super::{map_err, Db};
use crate::error::StoreError;
use crate::jwk::store::{KeyStore, SealedKey};
use chrono::{NaiveDateTime, TimeZone, Utc};

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    keydata: String,
    created_at: NaiveDateTime,
}

impl From<KeyRow> for SealedKey {
    fn from(r: KeyRow) -> SealedKey {
        SealedKey {
            kid: r.kid,
            keydata: r.keydata,
            created_at: Utc.from_utc_datetime(&r.created_at),
        }
    }
}

const INSERT: &str =
    "INSERT INTO hydra_jwk (sid, kid, version, keydata, created_at) VALUES ($1, $2, 0, $3, $4)";
const COUNT: &str = "SELECT COUNT(*) FROM hydra_jwk WHERE sid = $1";
const DELETE_SET: &str = "DELETE FROM hydra_jwk WHERE sid = $1";
const DELETE_KEY: &str = "DELETE FROM hydra_jwk WHERE sid = $1 AND kid = $2";
/// Serialization failures (SQLSTATE 40001) are retried this often before giving up.
const RETRIES: usize = 5;

/// Runs `$body` with `$conn` bound to a transaction's connection and `$ty` to the backend's
/// sqlx database type, then commits. PostgreSQL/CockroachDB run it SERIALIZABLE; SQLite takes
/// the write lock first (IMMEDIATE).
macro_rules! in_tx {
    ($db:expr, |$conn:ident, $ty:ident| $body:expr) => {
        super::in_tx!($db, |tx, $ty| {
            if <$ty as sqlx::Database>::NAME == "PostgreSQL" {
                sqlx::query("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
            let $conn: &mut <$ty as sqlx::Database>::Connection = &mut tx;
            let out = $body;
            tx.commit().await.map_err(map_err)?;
            out
        })
    };
}

async fn insert_all<DB>(
    conn: &mut DB::Connection,
    set: &str,
    keys: &[SealedKey],
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> NaiveDateTime: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for key in keys {
        sqlx::query::<DB>(INSERT)
            .bind(set)
            .bind(key.kid.as_str())
            .bind(key.keydata.as_str())
            .bind(key.created_at.naive_utc())
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

/// True for a serialization failure a retry may resolve.
fn is_retryable(err: &StoreError) -> bool {
    match err {
        StoreError::Backend(e) => e
            .downcast_ref::<sqlx::Error>()
            .and_then(|e| e.as_database_error())
            .and_then(|d| d.code())
            .is_some_and(|code| code == "40001" || code == "40P01"),
        _ => false,
    }
}

impl KeyStore for Db {
    async fn insert_keys(&self, set: &str, keys: &[SealedKey]) -> Result<(), StoreError> {
        in_tx!(self, |conn, DB| insert_all::<DB>(conn, set, keys).await?);
        Ok(())
    }

    async fn get_key_set(&self, set: &str) -> Result<Vec<SealedKey>, StoreError> {
        let sql = "SELECT kid, keydata, created_at FROM hydra_jwk WHERE sid = $1 ORDER BY created_at DESC, kid DESC";
        let rows: Vec<KeyRow> = crate::on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(set)
            .fetch_all(pool)
            .await)
        .map_err(map_err)?;
        Ok(rows.into_iter().map(SealedKey::from).collect())
    }

    async fn get_key(&self, set: &str, kid: &str) -> Result<SealedKey, StoreError> {
        let sql = "SELECT kid, keydata, created_at FROM hydra_jwk WHERE sid = $1 AND kid = $2";
        let row: KeyRow = crate::on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(set)
            .bind(kid)
            .fetch_one(pool)
            .await)
        .map_err(map_err)?;
        Ok(row.into())
    }

    async fn replace_key_set(&self, set: &str, keys: &[SealedKey]) -> Result<(), StoreError> {
        in_tx!(self, |conn, DB| {
            sqlx::query(DELETE_SET)
                .bind(set)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
            insert_all::<DB>(conn, set, keys).await?
        });
        Ok(())
    }

    async fn replace_key(&self, set: &str, key: &SealedKey) -> Result<(), StoreError> {
        in_tx!(self, |conn, DB| {
            sqlx::query(DELETE_KEY)
                .bind(set)
                .bind(key.kid.as_str())
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
            insert_all::<DB>(conn, set, std::slice::from_ref(key)).await?
        });
        Ok(())
    }

    async fn delete_key_set(&self, set: &str) -> Result<(), StoreError> {
        crate::on_pool!(self, |pool| sqlx::query(DELETE_SET)
            .bind(set)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(map_err)
    }

    async fn delete_key(&self, set: &str, kid: &str) -> Result<(), StoreError> {
        crate::on_pool!(self, |pool| sqlx::query(DELETE_KEY)
            .bind(set)
            .bind(kid)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(map_err)
    }

    async fn create_key_set_if_absent(
        &self,
        set: &str,
        keys: &[SealedKey],
    ) -> Result<bool, StoreError> {
        let mut attempt = 0;
        loop {
            let result: Result<bool, StoreError> = async {
                Ok(in_tx!(self, |conn, DB| {
                    let existing: i64 = sqlx::query_scalar(COUNT)
                        .bind(set)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(map_err)?;
                    if existing > 0 {
                        false
                    } else {
                        insert_all::<DB>(conn, set, keys).await?;
                        true
                    }
                }))
            }
            .await;
            match result {
                Err(e) if is_retryable(&e) && attempt < RETRIES => attempt += 1,
                Err(StoreError::Conflict) => return Ok(false),
                other => return other,
            }
        }
    }
}
