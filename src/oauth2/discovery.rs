//! The OpenID Connect discovery document (`/.well-known/openid-configuration`, hydra-reference
//! §3.12), computed once from the configuration. It advertises what this server serves now:
//! the token, revocation and JWKS endpoints; the authorization endpoint's details arrive with
//! the authorize flow.

use crate::config::Config;
use serde::Serialize;
use url::Url;

/// `wellKnown`, the fields this server can already stand behind.
#[derive(Debug, Serialize)]
pub struct WellKnown {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    pub revocation_endpoint: String,
    pub subject_types_supported: Vec<String>,
    pub response_types_supported: Vec<&'static str>,
    pub claims_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub require_request_uri_registration: bool,
    pub claims_parameter_supported: bool,
    /// compatibility.md: only S256 (Hydra advertised `plain` and refused it).
    pub code_challenge_methods_supported: Vec<&'static str>,
}

fn join(base: &Url, path: &str) -> String {
    base.join(path)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("{base}{path}"))
}

fn dedup(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The document for `config`.
pub fn document(config: &Config) -> WellKnown {
    let urls = &config.urls;
    let d = &config.webfinger.oidc_discovery;
    WellKnown {
        issuer: urls.issuer.to_string(),
        authorization_endpoint: d
            .auth_url
            .clone()
            .unwrap_or_else(|| join(&urls.public, "oauth2/auth")),
        token_endpoint: d
            .token_url
            .clone()
            .unwrap_or_else(|| join(&urls.public, "oauth2/token")),
        // Hydra derives the JWKS URL from the issuer, not the public URL.
        jwks_uri: d
            .jwks_url
            .clone()
            .unwrap_or_else(|| join(&urls.issuer, ".well-known/jwks.json")),
        registration_endpoint: d.client_registration_url.clone(),
        revocation_endpoint: join(&urls.issuer, "oauth2/revoke"),
        subject_types_supported: config.oidc.subject_identifiers.supported_types.clone(),
        response_types_supported: vec![
            "code",
            "code id_token",
            "id_token",
            "token id_token",
            "token",
            "token id_token code",
        ],
        claims_supported: dedup(
            std::iter::once("sub".to_string()).chain(d.supported_claims.iter().cloned()),
        ),
        scopes_supported: dedup(
            ["offline_access", "offline", "openid"]
                .map(String::from)
                .into_iter()
                .chain(d.supported_scope.iter().cloned()),
        ),
        token_endpoint_auth_methods_supported: vec![
            "client_secret_post",
            "client_secret_basic",
            "private_key_jwt",
            "none",
        ],
        id_token_signing_alg_values_supported: vec!["RS256"],
        grant_types_supported: vec![
            "authorization_code",
            "implicit",
            "client_credentials",
            "refresh_token",
        ],
        response_modes_supported: vec!["query", "fragment"],
        request_parameter_supported: true,
        request_uri_parameter_supported: true,
        require_request_uri_registration: true,
        claims_parameter_supported: false,
        code_challenge_methods_supported: vec!["S256"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_hydras_derivation() {
        let mut c = Config::for_tests("https://auth.example/base");
        c.webfinger.oidc_discovery.supported_scope = vec!["email".into(), "openid".into()];
        let d = document(&c);
        assert_eq!(d.issuer, "https://auth.example/base/");
        assert_eq!(d.token_endpoint, "https://auth.example/base/oauth2/token");
        assert_eq!(
            d.jwks_uri,
            "https://auth.example/base/.well-known/jwks.json"
        );
        assert_eq!(
            d.revocation_endpoint,
            "https://auth.example/base/oauth2/revoke"
        );
        assert_eq!(
            d.scopes_supported,
            ["offline_access", "offline", "openid", "email"]
        );
        assert_eq!(d.code_challenge_methods_supported, ["S256"]);
    }
}
