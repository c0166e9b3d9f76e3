//! Token revocation (RFC 7009, hydra-reference §2.2) and the admin token operations
//! (`DELETE /oauth2/tokens`, `POST /oauth2/flush`, §2.7).

use crate::client::Client;
use crate::clock;
use crate::error::Error;
use crate::token::{TokenEngine, TokenKind, TokenStore};
use chrono::{DateTime, Utc};

/// Revokes the grant of `token` for `client`. Unknown tokens succeed (RFC 7009 §2.2); another
/// client's token is refused and nothing is revoked (RFC 7009 §2.1; Hydra ignored it); a
/// storage failure is 503 (§2.2.1), never a silent 200.
pub async fn revoke(
    store: &impl TokenStore,
    engine: &TokenEngine,
    client: &Client,
    token: &str,
    hint: Option<&str>,
) -> Result<(), Error> {
    let order = match hint {
        Some("access_token") => [TokenKind::Access, TokenKind::Refresh],
        _ => [TokenKind::Refresh, TokenKind::Access],
    };
    let unavailable = |e: Error| Error::temporarily_unavailable().debug(e);
    let Some((_, record)) = engine
        .lookup(store, token, &order)
        .await
        .map_err(unavailable)?
    else {
        return Ok(());
    };
    if record.client_id != client.data.client_id {
        return Err(Error::unauthorized_client()
            .hint("The token was not issued to the authenticated client."));
    }
    store
        .revoke_grant(&record.request_id)
        .await
        .map_err(|e| unavailable(e.into()))
}

/// `POST /oauth2/flush`: deletes tokens past their lifespan and requested before `not_after`.
pub async fn flush(
    store: &impl TokenStore,
    engine: &TokenEngine,
    not_after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let lifetimes = engine.lifetimes();
    let before = |ttl: std::time::Duration| clock::earlier(now, ttl).min(not_after);
    store
        .flush_tokens(
            before(lifetimes.access_token),
            lifetimes.refresh_token.map(before),
        )
        .await?;
    Ok(())
}
