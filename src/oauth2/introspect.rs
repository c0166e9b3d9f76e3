//! Token introspection (RFC 7662, hydra-reference §2.7): the `oAuth2TokenIntrospection` shape
//! for an active access or refresh token; anything else is exactly `{"active": false}`.

use crate::config::Config;
use crate::error::Error;
use crate::oauth2::scope;
use crate::token::{TokenEngine, TokenKind, TokenStore};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

/// `oAuth2TokenIntrospection`.
#[derive(Debug, Serialize, PartialEq)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The pairwise `sub` of the grant's ID tokens, when it differs from `sub`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub obfuscated_subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_use: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext: Option<Map<String, Value>>,
}

impl Introspection {
    pub fn inactive() -> Introspection {
        Introspection {
            active: false,
            scope: None,
            client_id: None,
            sub: None,
            obfuscated_subject: None,
            exp: None,
            iat: None,
            nbf: None,
            aud: None,
            iss: None,
            token_type: None,
            token_use: None,
            ext: None,
        }
    }
}

/// Introspects `token`; `required_scope` (space-separated) must all be granted, else inactive.
pub async fn introspect(
    store: &impl TokenStore,
    engine: &TokenEngine,
    config: &Config,
    token: &str,
    required_scope: &str,
    now: DateTime<Utc>,
) -> Result<Introspection, Error> {
    let order = [TokenKind::Access, TokenKind::Refresh];
    let Some(active) = engine.find_active(store, token, &order, now).await? else {
        return Ok(Introspection::inactive());
    };
    let r = &active.record;
    let granted = scope::split(&[required_scope.to_string()])
        .iter()
        .all(|s| scope::matches(config.strategies.scope, &r.granted_scope, s));
    if !granted {
        return Ok(Introspection::inactive());
    }
    let lifetimes = engine.lifetimes();
    let fallback = match active.kind {
        TokenKind::Access => Some(lifetimes.access_token),
        TokenKind::Refresh => lifetimes.refresh_token,
    };
    let exp = r
        .expires_at
        .or_else(|| fallback.map(|d| crate::clock::later(r.requested_at, d)))
        .map(|e| e.timestamp());
    let iat = r.requested_at.timestamp();
    Ok(Introspection {
        active: true,
        scope: Some(r.granted_scope.join(" ")).filter(|s| !s.is_empty()),
        client_id: Some(r.client_id.clone()),
        sub: Some(r.subject.clone()),
        // Hydra 1.10.3 (oauth2/handler.go): the client's subject identifier when it is not
        // the real one. Sessions stored before it was kept apart have it in the ID-token claims.
        obfuscated_subject: active
            .session
            .obfuscated_subject
            .clone()
            .or_else(|| active.session.id_token.as_ref().map(|c| c.subject.clone()))
            .filter(|s| !s.is_empty() && *s != r.subject),
        exp: Some(exp.unwrap_or(0)),
        iat: Some(iat),
        nbf: Some(iat),
        aud: Some(r.granted_audience.clone()),
        iss: Some(config.urls.issuer.to_string()),
        token_type: Some("Bearer"),
        token_use: Some(match active.kind {
            TokenKind::Access => "access_token",
            TokenKind::Refresh => "refresh_token",
        }),
        ext: Some(active.session.ext.clone()).filter(|e| !e.is_empty()),
    })
}
