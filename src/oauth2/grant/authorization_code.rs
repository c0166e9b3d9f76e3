//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6,
//! hydra-reference §5.5, §5.7; fosite's `flow_authorize_code_token.go` shape): validate the
//! code and its binding, then spend it and issue in one transaction. A code is single use;
//! presenting it again revokes every token issued from it.

use super::require_grant_type;
use crate::client::Client;
use crate::error::Error;
use crate::jwk::KeyStore;
use crate::oauth2::id_token;
use crate::oauth2::{pkce, Ctx, TokenRequest, TokenResponse};
use crate::token::{CodeBinding, Grant, TokenRecord, TokenStore};
use chrono::{DateTime, SubsecRound, Utc};
use url::Url;

pub async fn handle<S: TokenStore + KeyStore + Sync>(
    ctx: &Ctx<'_, S>,
    client: &Client,
    req: &TokenRequest,
    now: DateTime<Utc>,
) -> Result<TokenResponse, Error> {
    require_grant_type(client, "authorization_code")?;
    let code = req.required("code")?;
    let record = ctx
        .engine
        .lookup_code(ctx.store, code)
        .await?
        .ok_or_else(|| {
            Error::invalid_grant().hint("The authorization code is malformed or not valid.")
        })?;
    if !record.active {
        return Err(reused(ctx, &record).await);
    }
    // RFC 6749 §4.1.2: "The authorization code MUST expire shortly after it is issued".
    if record.expires_at.is_some_and(|e| e <= now) {
        return Err(Error::invalid_grant().hint("The authorization code has expired."));
    }
    // RFC 6749 §4.1.3: "ensure that the authorization code was issued to the authenticated
    // confidential client, or if the client is public, ensure that the code was issued to
    // "client_id" in the request". Checked before spending: the rightful client can still
    // redeem it.
    if record.client_id != client.data.client_id {
        return Err(Error::invalid_grant().hint("The OAuth 2.0 Client ID from this request does not match the one from the authorize request."));
    }
    let session = ctx.engine.session(&record)?;
    let binding = session
        .code
        .ok_or_else(|| Error::server_error().debug("the stored code carries no code binding"))?;
    check_redirect_uri(client, &binding, req.one("redirect_uri")?)?;
    if let Err(e) = pkce::verify(&binding.code_challenge, req.one("code_verifier")?) {
        // fosite deletes the PKCE record before comparing, so one wrong verifier burns the
        // code: a verifier cannot be guessed against it (security-cases #50).
        ctx.engine.burn_code(ctx.store, &record.signature).await?;
        return Err(e);
    }
    let grant = Grant {
        request_id: record.request_id.clone(),
        requested_at: now.trunc_subsecs(0),
        client_id: record.client_id.clone(),
        subject: record.subject.clone(),
        requested_scope: record.requested_scope.clone(),
        granted_scope: record.granted_scope.clone(),
        requested_audience: record.requested_audience.clone(),
        granted_audience: record.granted_audience.clone(),
        ext: session.ext,
        id_token: session.id_token,
        obfuscated_subject: session.obfuscated_subject,
        challenge_id: record.challenge_id.clone(),
    };
    let openid = grant
        .id_token
        .as_ref()
        .filter(|_| grant.granted_scope.iter().any(|s| s == "openid"));
    if let Some(claims) = openid {
        // Refuse before the code is spent: a grant that cannot get its ID token gets nothing.
        id_token::check(claims, now)?;
    }
    let Some((access, refresh)) = ctx
        .engine
        .exchange_code(
            ctx.store,
            &record.signature,
            &grant,
            may_refresh(client, &grant),
            now,
        )
        .await?
    else {
        // Another request spent the code a moment ago: the code was used twice.
        return Err(reused(ctx, &record).await);
    };
    super::respond(
        ctx,
        &grant.client_id,
        &grant.granted_scope,
        openid,
        access,
        refresh,
        now,
    )
    .await
}

/// RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization
/// server MUST deny the request and SHOULD revoke (when possible) all tokens previously
/// issued based on that authorization code." Also for the losers of a concurrent exchange:
/// they presented a code that another request used.
async fn reused<S: TokenStore>(ctx: &Ctx<'_, S>, record: &TokenRecord) -> Error {
    if let Err(e) = ctx.store.revoke_grant(&record.request_id).await {
        return e.into();
    }
    Error::invalid_grant().hint(
        "The authorization code has already been used; every token issued from it has been revoked.",
    )
}

/// RFC 6749 §4.1.3: "ensure that the "redirect_uri" parameter is present if the
/// "redirect_uri" parameter was included in the initial authorization request [...], and if
/// included ensure that their values are identical." A code issued to the client's only
/// registered URI (none was given) accepts no parameter or that URI.
fn check_redirect_uri(
    client: &Client,
    binding: &CodeBinding,
    given: Option<&str>,
) -> Result<(), Error> {
    let given = given.filter(|g| !g.is_empty());
    let ok = match (&binding.redirect_uri, given) {
        (Some(bound), Some(given)) => same_uri(bound, given),
        (Some(_), None) => false,
        (None, None) => true,
        (None, Some(given)) => client.data.redirect_uris.iter().any(|r| same_uri(r, given)),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_grant().hint("The 'redirect_uri' parameter does not match the one used in the authorization request."))
    }
}

/// Identical strings, or the same URL once parsed: the authorization endpoint records the
/// parsed form (`https://app` becomes `https://app/`).
fn same_uri(a: &str, b: &str) -> bool {
    a == b || matches!((Url::parse(a), Url::parse(b)), (Ok(a), Ok(b)) if a == b)
}

/// hydra-reference §5.5: a refresh token only with `offline`/`offline_access` granted and
/// the `refresh_token` grant registered (fosite's `canIssueRefreshToken`).
fn may_refresh(client: &Client, grant: &Grant) -> bool {
    grant
        .granted_scope
        .iter()
        .any(|s| s == "offline" || s == "offline_access")
        && client
            .data
            .effective_grant_types()
            .iter()
            .any(|g| g == "refresh_token")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::OAuth2Client;

    fn client(redirect_uris: &[&str]) -> Client {
        let data: OAuth2Client = serde_json::from_value(serde_json::json!({
            "client_id": "app",
            "redirect_uris": redirect_uris,
        }))
        .unwrap();
        Client {
            data,
            secret_hash: String::new(),
            revision: 0,
        }
    }

    #[test]
    fn redirect_uri_binding_table() {
        let bound = |uri: &str| CodeBinding {
            redirect_uri: Some(uri.to_string()),
            code_challenge: String::new(),
        };
        let c = client(&["https://app.example/cb"]);
        let cases: Vec<(&str, CodeBinding, Option<&str>, bool)> = vec![
            (
                "bound, same",
                bound("https://app.example/cb"),
                Some("https://app.example/cb"),
                true,
            ),
            (
                "bound, parsed form",
                bound("https://app.example/"),
                Some("https://app.example"),
                true,
            ),
            (
                "bound, other",
                bound("https://app.example/cb"),
                Some("https://app.example/other"),
                false,
            ),
            (
                "bound, case differs",
                bound("https://app.example/cb"),
                Some("https://app.example/CB"),
                false,
            ),
            (
                "bound, missing",
                bound("https://app.example/cb"),
                None,
                false,
            ),
            (
                "bound, empty",
                bound("https://app.example/cb"),
                Some(""),
                false,
            ),
            ("unbound, missing", CodeBinding::default(), None, true),
            (
                "unbound, the registered one",
                CodeBinding::default(),
                Some("https://app.example/cb"),
                true,
            ),
            (
                "unbound, another",
                CodeBinding::default(),
                Some("https://evil.example/cb"),
                false,
            ),
        ];
        for (name, binding, given, ok) in cases {
            assert_eq!(
                check_redirect_uri(&c, &binding, given).is_ok(),
                ok,
                "{name}"
            );
        }
    }
}
