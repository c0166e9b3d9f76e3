//! `ConsentSessionStore` on both backends (hydra-reference §2.6): the granted consents of a
//! subject, and their revocation with every token issued under them.

use super::{map_err, Db};
use crate::consent::sessions::{ConsentSessionStore, GrantedConsent};
use crate::error::StoreError;
use chrono::{NaiveDateTime, TimeZone, Utc};

/// Accepted (`error = '{}'`, as both we and Hydra store an acceptance), not skipped, verifier
/// spent. NULL `handled_at` sorts last on both backends (their NULL orders differ).
const GRANTED: &str = "SELECT r.challenge, h.requested_at, h.remember_for \
    FROM hydra_oauth2_consent_request r \
    JOIN hydra_oauth2_consent_request_handled h ON h.challenge = r.challenge \
    WHERE r.subject = $1 AND r.skip = FALSE AND h.was_used = TRUE AND h.error = '{}' \
    ORDER BY h.requested_at DESC, CASE WHEN h.handled_at IS NULL THEN 1 ELSE 0 END, \
    h.handled_at DESC, r.challenge DESC";

/// The consent requests a revocation selects: `$1` subject, `$2` client when filtered.
fn selected(by_client: bool) -> String {
    let client = if by_client { " AND client_id = $2" } else { "" };
    format!("SELECT challenge FROM hydra_oauth2_consent_request WHERE subject = $1{client}")
}

/// The revocation, in order: tokens recorded under a selected challenge (by `request_id`, so
/// rows without `challenge_id` go too), then the consent requests. Deleting a request cascades
/// to its answer and, through `challenge_id`, to every token, code, OIDC and PKCE row.
fn revocation(by_client: bool) -> [String; 4] {
    let sel = selected(by_client);
    let client = if by_client { " AND client_id = $2" } else { "" };
    [
        format!("DELETE FROM hydra_oauth2_access WHERE request_id IN ({sel})"),
        format!("DELETE FROM hydra_oauth2_refresh WHERE request_id IN ({sel})"),
        format!("DELETE FROM hydra_oauth2_code WHERE request_id IN ({sel})"),
        format!("DELETE FROM hydra_oauth2_consent_request WHERE subject = $1{client}"),
    ]
}

#[derive(sqlx::FromRow)]
struct GrantedRow {
    challenge: String,
    requested_at: NaiveDateTime,
    remember_for: i64,
}

impl ConsentSessionStore for Db {
    async fn list_granted_consents(
        &self,
        subject: &str,
    ) -> Result<Vec<GrantedConsent>, StoreError> {
        let rows: Vec<GrantedRow> = crate::on_pool!(self, |pool| sqlx::query_as(GRANTED)
            .bind(subject)
            .fetch_all(pool)
            .await)
        .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|r| GrantedConsent {
                challenge: r.challenge,
                requested_at: Utc.from_utc_datetime(&r.requested_at),
                remember_for: r.remember_for,
            })
            .collect())
    }

    async fn revoke_consents(
        &self,
        subject: &str,
        client_id: Option<&str>,
    ) -> Result<u64, StoreError> {
        let statements = revocation(client_id.is_some());
        crate::on_pool!(self, |pool| async {
            // The first statement writes, so SQLite takes its write lock up front.
            let mut tx = pool.begin().await?;
            let mut deleted = 0;
            for sql in &statements {
                let mut q = sqlx::query(sql).bind(subject);
                if let Some(client) = client_id {
                    q = q.bind(client);
                }
                deleted = q.execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            // The last statement's count: the consent requests.
            Ok::<u64, sqlx::Error>(deleted)
        }
        .await)
        .map_err(map_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_binds_the_client_only_when_filtering() {
        let all = revocation(false);
        assert!(all.iter().all(|s| s.contains("$1") && !s.contains("$2")));
        let one = revocation(true);
        assert!(one.iter().all(|s| s.contains("client_id = $2")));
        assert!(one[3].starts_with("DELETE FROM hydra_oauth2_consent_request "));
    }
}
