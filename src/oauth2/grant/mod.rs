//! One file per grant type, each validating its request and then issuing through the engine.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use crate::client::Client;
use crate::error::Error;
use crate::jwk::KeyStore;
use crate::oauth2::id_token::{self, IssuedWith};
use crate::oauth2::{Ctx, TokenResponse};
use crate::token::{IdTokenClaims, Issued};
use chrono::{DateTime, Utc};

/// The token response of a grant that issued `access` (and `refresh`): an ID token for
/// `id_claims` is signed alongside it (`at_hash` over the access token), `expires_in` counts
/// from `now`.
pub async fn respond<S: KeyStore + Sync>(
    ctx: &Ctx<'_, S>,
    client_id: &str,
    granted_scope: &[String],
    id_claims: Option<&IdTokenClaims>,
    access: Issued,
    refresh: Option<Issued>,
    now: DateTime<Utc>,
) -> Result<TokenResponse, Error> {
    let id_token = match id_claims {
        Some(claims) => Some(
            id_token::id_token(
                ctx.keys,
                ctx.store,
                ctx.config,
                claims,
                client_id,
                IssuedWith {
                    access_token: Some(&access.token),
                    code: None,
                },
                now,
            )
            .await?,
        ),
        None => None,
    };
    Ok(TokenResponse {
        expires_in: access
            .expires_at
            .map(|e| (e - now).num_seconds().max(0))
            .unwrap_or(0),
        access_token: access.token,
        id_token,
        refresh_token: refresh.map(|r| r.token),
        scope: granted_scope.join(" "),
        token_type: "bearer",
    })
}

/// RFC 6749 §5.2 `unauthorized_client`: the client must be registered for the grant type.
pub fn require_grant_type(client: &Client, grant_type: &str) -> Result<(), Error> {
    if client
        .data
        .effective_grant_types()
        .iter()
        .any(|g| g == grant_type)
    {
        Ok(())
    } else {
        Err(Error::unauthorized_client().hint(format!(
            "The client is not allowed to request a token using grant type '{grant_type}'."
        )))
    }
}
