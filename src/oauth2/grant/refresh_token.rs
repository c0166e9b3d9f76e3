//! The refresh token grant (RFC 6749 §6, hydra-reference §5.6): rotation on every use; a
//! spent token presented again revokes its whole grant; scope may narrow, never widen.

use super::require_grant_type;
use crate::client::Client;
use crate::error::Error;
use crate::jwk::KeyStore;
use crate::oauth2::id_token;
use crate::oauth2::{scope, Ctx, TokenRequest, TokenResponse};
use crate::token::{Grant, IdTokenClaims, TokenKind, TokenStore};
use chrono::{DateTime, SubsecRound, Utc};

pub async fn handle<S: TokenStore + KeyStore + Sync>(
    ctx: &Ctx<'_, S>,
    client: &Client,
    req: &TokenRequest,
    now: DateTime<Utc>,
) -> Result<TokenResponse, Error> {
    require_grant_type(client, "refresh_token")?;
    let token = req.required("refresh_token")?;
    let unknown = || Error::invalid_grant().hint("The refresh token is malformed or not valid.");
    let (_, old) = ctx
        .engine
        .lookup(ctx.store, token, &[TokenKind::Refresh])
        .await?
        .ok_or_else(unknown)?;
    // RFC 6749 §6: the refresh token must have been issued to the authenticated client.
    if old.client_id != client.data.client_id {
        return Err(Error::invalid_grant().hint("The OAuth 2.0 Client ID from this request does not match the ID during the initial token issuance."));
    }
    if !old.active {
        // RFC 9700 §4.14.2: reuse of a rotated refresh token means it leaked; revoke the grant.
        ctx.store.revoke_grant(&old.request_id).await?;
        return Err(Error::token_inactive().hint(
            "The refresh token was already used; every token of its grant has been revoked.",
        ));
    }
    if old.expires_at.is_some_and(|e| e <= now) {
        return Err(Error::invalid_grant().hint("The refresh token expired."));
    }
    if !old
        .granted_scope
        .iter()
        .any(|s| s == "offline" || s == "offline_access")
    {
        return Err(Error::scope_not_granted().hint("The OAuth 2.0 Client was not granted scope offline_access and may thus not perform the 'refresh_token' authorization grant."));
    }
    let allowed = client.data.scopes();
    let requested = req.list("scope");
    let granted = if requested.is_empty() {
        old.granted_scope.clone()
    } else {
        requested
    };
    for s in &granted {
        // RFC 6749 §6: the requested scope "MUST NOT include any scope not originally granted".
        if !old.granted_scope.contains(s) {
            return Err(
                Error::invalid_scope().hint(format!("The scope '{s}' was not granted originally."))
            );
        }
        if !scope::matches(ctx.config.strategies.scope, &allowed, s) {
            return Err(Error::invalid_scope().hint(format!(
                "The OAuth 2.0 Client is no longer allowed to request scope '{s}'."
            )));
        }
    }
    for a in &old.granted_audience {
        if !scope::audience_allowed(&client.data.audience, a) {
            return Err(Error::invalid_request().hint(format!(
                "The audience '{a}' is no longer whitelisted by the OAuth 2.0 Client."
            )));
        }
    }
    let session = ctx.engine.session(&old)?;
    let grant = Grant {
        request_id: old.request_id.clone(),
        requested_at: now.trunc_subsecs(0),
        client_id: old.client_id.clone(),
        subject: old.subject.clone(),
        requested_scope: old.requested_scope.clone(),
        granted_scope: granted,
        requested_audience: old.requested_audience.clone(),
        granted_audience: old.granted_audience.clone(),
        ext: session.ext,
        id_token: session.id_token,
        obfuscated_subject: session.obfuscated_subject,
        challenge_id: old.challenge_id.clone(),
    };
    // OIDC Core §12.2: a refreshed ID token keeps the grant's claims (`sub`, `auth_time`,
    // `acr`, `sid`, custom ones) with a new `iat`, `exp`, `jti` and `at_hash`; the nonce
    // belonged to the authorization request and is not repeated.
    let id_claims = grant
        .id_token
        .as_ref()
        .filter(|_| grant.granted_scope.iter().any(|s| s == "openid"))
        .map(|c| IdTokenClaims {
            nonce: String::new(),
            ..c.clone()
        });
    if let Some(claims) = &id_claims {
        id_token::check(claims, now)?;
    }
    let Some((access, refresh)) = ctx
        .engine
        .rotate(ctx.store, &old.signature, &grant, now)
        .await?
    else {
        // Another request spent this token a moment ago: fail this one, revoke nothing.
        return Err(Error::invalid_request()
            .hint("The refresh token is being used by a concurrent request."));
    };
    super::respond(
        ctx,
        &grant.client_id,
        &grant.granted_scope,
        id_claims.as_ref(),
        access,
        Some(refresh),
        now,
    )
    .await
}
