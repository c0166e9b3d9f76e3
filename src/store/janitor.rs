//! `JanitorStore` on both backends: stale login and consent requests.

use super::{map_err, Db};
use crate::error::StoreError;
use crate::token::janitor::JanitorStore;
use chrono::{DateTime, Utc};

/// Requests of `{table}` requested before `$1` without a successful `{table}_handled` row.
/// The handled rows of deleted requests cascade (`ON DELETE CASCADE`).
fn delete_sql(table: &str) -> String {
    format!(
        "DELETE FROM {table} WHERE requested_at < $1 AND NOT EXISTS (\
         SELECT 1 FROM {table}_handled h WHERE h.challenge = {table}.challenge \
         AND (h.error = '{{}}' OR h.error = ''))"
    )
}

impl JanitorStore for Db {
    async fn delete_stale_requests(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let before = before.naive_utc();
        let login = delete_sql("hydra_oauth2_authentication_request");
        let consent = delete_sql("hydra_oauth2_consent_request");
        crate::on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let mut deleted = 0;
            for sql in [&consent, &login] {
                deleted += sqlx::query(sql)
                    .bind(before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(deleted)
        }
        .await)
        .map_err(map_err)
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        crate::on_pool!(self, |pool| sqlx::query(
            "DELETE FROM hydra_oauth2_authentication_session WHERE expires_at < $1"
        )
        .bind(now.naive_utc())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(map_err)
    }
}
