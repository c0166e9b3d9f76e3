//! The client credentials grant (RFC 6749 §4.4, hydra-reference §5.5): a confidential client
//! obtains an access token for itself; no refresh token, no ID token.

use super::require_grant_type;
use crate::client::Client;
use crate::error::Error;
use crate::jwk::KeyStore;
use crate::oauth2::{scope, Ctx, TokenRequest, TokenResponse};
use crate::token::{ClientVersion, Grant, TokenStore};
use chrono::{DateTime, Utc};

/// `None` when `client` is no longer the stored row (nothing was issued; see
/// `TokenStore::insert_access_token_if_client`).
pub async fn handle<S: TokenStore + KeyStore + Sync>(
    ctx: &Ctx<'_, S>,
    client: &Client,
    req: &TokenRequest,
    now: DateTime<Utc>,
) -> Result<Option<TokenResponse>, Error> {
    require_grant_type(client, "client_credentials")?;
    // RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential clients."
    if client.data.is_public() {
        return Err(Error::invalid_grant().hint(
            "The client is public and thus not allowed to use grant type client_credentials.",
        ));
    }
    let allowed = client.data.scopes();
    let mut requested = req.list("scope");
    for s in &requested {
        if !scope::matches(ctx.config.strategies.scope, &allowed, s) {
            return Err(Error::invalid_scope().hint(format!(
                "The OAuth 2.0 Client is not allowed to request scope '{s}'."
            )));
        }
    }
    if requested.is_empty()
        && ctx
            .config
            .oauth2
            .client_credentials
            .default_grant_allowed_scope
    {
        requested = allowed;
    }
    let audience = req.list("audience");
    for a in &audience {
        if !scope::audience_allowed(&client.data.audience, a) {
            return Err(Error::invalid_request().hint(format!(
                "Requested audience '{a}' has not been whitelisted by the OAuth 2.0 Client."
            )));
        }
    }
    let id = &client.data.client_id;
    let mut grant = Grant::new(id, id, now);
    grant.requested_scope = requested.clone();
    grant.granted_scope = requested;
    grant.requested_audience = audience.clone();
    grant.granted_audience = audience;
    let version = ClientVersion {
        id,
        revision: client.revision,
    };
    let Some(issued) = ctx
        .engine
        .issue_access_token_if_client(ctx.store, &grant, now, &version)
        .await?
    else {
        return Ok(None);
    };
    let expires_in = issued
        .expires_at
        .map(|e| (e - now).num_seconds().max(0))
        .unwrap_or(0);
    Ok(Some(TokenResponse {
        access_token: issued.token,
        expires_in,
        id_token: None,
        refresh_token: None,
        scope: grant.granted_scope.join(" "),
        token_type: "bearer",
    }))
}
