//! `JtiStore` on both backends: table `hydra_oauth2_jti_blacklist` (hydra-reference §8.6).

use super::{map_err, Db};
use crate::error::StoreError;
use crate::oauth2::client_assertion::JtiStore;
use chrono::{DateTime, Utc};

const PURGE: &str = "DELETE FROM hydra_oauth2_jti_blacklist WHERE expires_at < $1";
const INSERT: &str =
    "INSERT INTO hydra_oauth2_jti_blacklist (signature, expires_at) VALUES ($1, $2)";

impl JtiStore for Db {
    async fn spend_jti(
        &self,
        signature: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // Hydra purges expired rows on every insert too (hydra-reference §8.6).
        crate::on_pool!(self, |pool| sqlx::query(PURGE)
            .bind(now.naive_utc())
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(map_err)?;
        // The primary key makes the insert the claim: of concurrent spends of one jti exactly
        // one succeeds, the others get a unique violation (`Conflict`).
        crate::on_pool!(self, |pool| sqlx::query(INSERT)
            .bind(signature)
            .bind(expires_at.naive_utc())
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(map_err)
    }
}
