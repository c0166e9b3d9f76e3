//! The OAuth 2.0 protocol: client authentication, the token endpoint's grants, introspection.
//! Each grant lives in `grant/` (validate, then issue through the token engine).
//! May import: `client`, `consent`, `token`, `jwk`, `config`, `crypto`, `error`.

pub mod authorize;
pub mod client_assertion;
pub mod client_auth;
pub mod discovery;
pub mod grant;
pub mod id_token;
pub mod introspect;
pub mod pkce;
pub mod revoke;
pub mod scope;
pub mod userinfo;

use crate::client::ClientStore;
use crate::config::Config;
use crate::crypto::hasher::Hasher;
use crate::error::Error;
use crate::jwk::{KeyManager, KeyStore};
use crate::token::{TokenEngine, TokenStore};
use chrono::{DateTime, Utc};
use client_assertion::JtiStore;
use client_auth::{ClientAuthCache, ClientRead, Credentials, Endpoint};
use serde::Serialize;

/// What the protocol functions need, borrowed from the application state.
pub struct Ctx<'a, S> {
    pub store: &'a S,
    pub engine: &'a TokenEngine,
    /// Signs ID tokens.
    pub keys: &'a KeyManager,
    pub hasher: &'a Hasher,
    pub secrets: &'a ClientAuthCache,
    pub config: &'a Config,
    /// Outbound HTTP (clients' `jwks_uri`).
    pub http: &'a reqwest::Client,
}

/// Request parameters (a form or a query), repeated parameters kept.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pub params: Vec<(String, String)>,
}

/// A token request: the form of `POST /oauth2/token`.
pub type TokenRequest = Params;

impl Params {
    /// The single value of `name`; a repeated parameter is an error (RFC 6749 §3.2).
    pub fn one(&self, name: &str) -> Result<Option<&str>, Error> {
        let mut values = self
            .params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(Error::invalid_request()
                .hint(format!("The parameter '{name}' must not be repeated.")));
        }
        Ok(first)
    }

    /// The single non-empty value of `name`; missing or empty is `invalid_request`.
    pub fn required(&self, name: &str) -> Result<&str, Error> {
        self.one(name)?.filter(|v| !v.is_empty()).ok_or_else(|| {
            Error::invalid_request().hint(format!("The {name} parameter is missing."))
        })
    }

    /// Every value of `name`, each split on spaces (`scope`, `audience`).
    pub fn list(&self, name: &str) -> Vec<String> {
        let values: Vec<String> = self
            .params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect();
        scope::split(&values)
    }
}

/// `oauth2TokenResponse`.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    pub token_type: &'static str,
}

/// The client credentials grant, the hot path: the client is authenticated against its cached
/// row and the token is stored only if that row is still the stored one (one statement per
/// token). If it is not (a secret rotated, the client changed or deleted through another
/// instance), the copy is dropped and the request runs again on the stored row, so nothing is
/// ever issued on an out-of-date client. A refusal made on the copy (wrong secret, scope not
/// allowed, ...) stands only if the copy was the stored row; otherwise the request runs again
/// on the stored row, so a secret rotated or a scope granted through another instance works at
/// once too.
async fn client_credentials<S: ClientStore + TokenStore + KeyStore + JtiStore + Sync>(
    ctx: &Ctx<'_, S>,
    creds: &Credentials,
    req: &TokenRequest,
    now: DateTime<Utc>,
) -> Result<TokenResponse, Error> {
    let mut read = ClientRead::Cached;
    for _ in 0..3 {
        let attempt = async {
            let client = client_auth::authenticate(ctx, creds, Endpoint::Token, read, now).await?;
            grant::client_credentials::handle(ctx, &client, req, now).await
        };
        match attempt.await {
            Ok(Some(response)) => return Ok(response),
            // The row changed since the copy was read (the store dropped the copy).
            Ok(None) => read = ClientRead::Fresh,
            Err(refused) => {
                // A failure of the server (storage down, ...) is no verdict on the copy: it
                // stands as it is, without another trip to a database that just failed.
                let copy_was_stale = match (read, creds.cached_id()) {
                    (ClientRead::Cached, Some(id)) if refused.status < 500 => {
                        ctx.store.refresh_client(id).await?
                    }
                    _ => false,
                };
                if !copy_was_stale {
                    return Err(refused);
                }
                read = ClientRead::Fresh;
            }
        }
    }
    // Changed under us three times in a row.
    Err(Error::temporarily_unavailable()
        .hint("The OAuth 2.0 Client changed while the token was being issued; try again."))
}

/// `POST /oauth2/token`: authenticates the client, then runs the requested grant.
pub async fn token<S: ClientStore + TokenStore + KeyStore + JtiStore + Sync>(
    ctx: &Ctx<'_, S>,
    creds: &Credentials,
    req: &TokenRequest,
    now: DateTime<Utc>,
) -> Result<TokenResponse, Error> {
    let grant_type = req
        .one("grant_type")?
        .filter(|g| !g.is_empty())
        .ok_or_else(|| {
            Error::invalid_request().hint("The request is missing the 'grant_type' parameter.")
        })?;
    if grant_type == "client_credentials" {
        return client_credentials(ctx, creds, req, now).await;
    }
    let client =
        client_auth::authenticate(ctx, creds, Endpoint::Token, ClientRead::Fresh, now).await?;
    match grant_type {
        "authorization_code" => grant::authorization_code::handle(ctx, &client, req, now).await,
        "refresh_token" => grant::refresh_token::handle(ctx, &client, req, now).await,
        other => Err(Error::unsupported_grant_type()
            .hint(format!("The grant type '{other}' is not supported here."))),
    }
}
