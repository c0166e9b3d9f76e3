//! The OpenID Connect discovery document (`/.well-known/openid-configuration`, hydra-reference
//! §3.12), computed once from the configuration and served pre-serialised. It advertises what
//! this server really supports (compatibility.md): PKCE `S256` only; no request objects, no
//! `claims` parameter, so those say `false`; front- and back-channel logout with `sid` are
//! served (`consent::logout`).

use crate::config::Config;
use serde::Serialize;
use url::Url;

/// `wellKnown`, in Hydra's field order.
#[derive(Debug, Serialize)]
pub struct WellKnown {
    pub issuer: String,
    pub authorization_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub subject_types_supported: Vec<String>,
    pub response_types_supported: Vec<&'static str>,
    pub claims_supported: Vec<String>,
    pub grant_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub userinfo_endpoint: String,
    pub scopes_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub userinfo_signing_alg_values_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    /// Request objects (`request`, `request_uri`) are not supported yet (Hydra: true).
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub require_request_uri_registration: bool,
    pub claims_parameter_supported: bool,
    pub revocation_endpoint: String,
    /// Front-/Back-Channel Logout 1.0 §3 / §2.1: both channels, with `iss` and `sid`.
    pub backchannel_logout_supported: bool,
    pub backchannel_logout_session_supported: bool,
    pub frontchannel_logout_supported: bool,
    pub frontchannel_logout_session_supported: bool,
    pub end_session_endpoint: String,
    /// Omitted while request objects are unsupported (Hydra: `["RS256","none"]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub request_object_signing_alg_values_supported: Vec<&'static str>,
    /// compatibility.md: only S256 (Hydra advertised `plain` and refused it).
    pub code_challenge_methods_supported: Vec<&'static str>,
}

fn join(base: &Url, path: &str) -> String {
    base.join(path)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("{base}{path}"))
}

/// A `webfinger.oidc_discovery.*_url` override, or the derived URL when unset or empty.
fn url_or(value: &Option<String>, derived: impl FnOnce() -> String) -> String {
    value
        .clone()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(derived)
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
    // Hydra's effective subject types: the configured ones, `public` when none is left.
    let mut subject_types = config.oidc.subject_identifiers.supported_types.clone();
    if subject_types.is_empty() {
        subject_types.push("public".to_string());
    }
    WellKnown {
        issuer: urls.issuer.to_string(),
        authorization_endpoint: url_or(&d.auth_url, || join(&urls.public, "oauth2/auth")),
        registration_endpoint: d.client_registration_url.clone().filter(|v| !v.is_empty()),
        token_endpoint: url_or(&d.token_url, || join(&urls.public, "oauth2/token")),
        // Hydra derives the JWKS URL from the issuer, not the public URL.
        jwks_uri: url_or(&d.jwks_url, || join(&urls.issuer, ".well-known/jwks.json")),
        subject_types_supported: subject_types,
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
        grant_types_supported: vec![
            "authorization_code",
            "implicit",
            "client_credentials",
            "refresh_token",
        ],
        response_modes_supported: vec!["query", "fragment", "form_post"],
        userinfo_endpoint: url_or(&d.userinfo_url, || join(&urls.public, "userinfo")),
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
        userinfo_signing_alg_values_supported: vec!["none", "RS256"],
        id_token_signing_alg_values_supported: vec!["RS256"],
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        require_request_uri_registration: true,
        claims_parameter_supported: false,
        revocation_endpoint: join(&urls.issuer, "oauth2/revoke"),
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
        frontchannel_logout_supported: true,
        frontchannel_logout_session_supported: true,
        end_session_endpoint: join(&urls.issuer, "oauth2/sessions/logout"),
        request_object_signing_alg_values_supported: Vec::new(),
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
        assert_eq!(d.userinfo_endpoint, "https://auth.example/base/userinfo");
        assert_eq!(
            d.end_session_endpoint,
            "https://auth.example/base/oauth2/sessions/logout"
        );
    }

    #[test]
    fn public_url_and_overrides() {
        let mut c = Config::for_tests("https://auth.example/");
        c.urls.public = Url::parse("https://public.example/p/").unwrap();
        let d = document(&c);
        // The browser- and RP-facing endpoints follow urls.self.public; the rest the issuer.
        assert_eq!(
            d.authorization_endpoint,
            "https://public.example/p/oauth2/auth"
        );
        assert_eq!(d.token_endpoint, "https://public.example/p/oauth2/token");
        assert_eq!(d.userinfo_endpoint, "https://public.example/p/userinfo");
        assert_eq!(d.jwks_uri, "https://auth.example/.well-known/jwks.json");
        assert_eq!(d.revocation_endpoint, "https://auth.example/oauth2/revoke");
        assert_eq!(d.registration_endpoint, None);

        let o = &mut c.webfinger.oidc_discovery;
        o.auth_url = Some("https://a.example/auth".into());
        o.token_url = Some("https://a.example/token".into());
        o.jwks_url = Some("https://a.example/jwks".into());
        o.userinfo_url = Some("https://a.example/me".into());
        o.client_registration_url = Some("https://a.example/register".into());
        o.supported_claims = vec!["email".into(), "sub".into(), "email".into()];
        c.oidc.subject_identifiers.supported_types = vec![];
        let d = document(&c);
        assert_eq!(d.authorization_endpoint, "https://a.example/auth");
        assert_eq!(d.token_endpoint, "https://a.example/token");
        assert_eq!(d.jwks_uri, "https://a.example/jwks");
        assert_eq!(d.userinfo_endpoint, "https://a.example/me");
        assert_eq!(
            d.registration_endpoint.as_deref(),
            Some("https://a.example/register")
        );
        assert_eq!(d.claims_supported, ["sub", "email"]);
        assert_eq!(d.subject_types_supported, ["public"]);
    }
}
